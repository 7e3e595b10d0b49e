"""vecgraft off Linux: no Unix-only module at import, no signal to ask after a pid, a memory guard.

vecgraft has only run on Linux, but it is pip-installed on Windows and macOS. Windows has no
`resource` or `fcntl`: the tests here take them away (`sys.modules[name] = None` makes their
import fail as it does there) and fake the Windows API calls, so they run on Linux.
"""

from __future__ import annotations

from tests.subprocess_helpers import fresh_python

# every module of the package, imported where `resource` and `fcntl` cannot be; then a load
_IMPORT_ALL_WITHOUT_UNIX = """
import sys
sys.modules["resource"] = sys.modules["fcntl"] = None
import importlib, pkgutil, tempfile
from pathlib import Path
import vecgraft
names = [m.name for m in pkgutil.walk_packages(vecgraft.__path__, "vecgraft.", onerror=print)]
for name in names:
    if name != "vecgraft.__main__":  # runs the CLI when imported
        try:
            importlib.import_module(name)
        except Exception as exc:
            print("failed:", name, type(exc).__name__)
print("modules", len(names) > 100)
with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "v.txt"
    path.write_text("cat 1.0 2.0\\ndog 3.0 4.0\\n", encoding="utf-8")
    try:
        vectors = vecgraft.load(path, format="glove", cache=False)
        print("loaded", len(vectors), vectors.dim, *vectors["dog"].tolist())
    except Exception as exc:
        print("load failed:", type(exc).__name__)
"""


def test_every_module_imports_and_loads_without_resource_and_fcntl() -> None:
    """Windows has neither: `import resource` at module level made every load fail there."""
    assert fresh_python(_IMPORT_ALL_WITHOUT_UNIX) == [
        "modules", "True", "loaded", "2", "2", "3.0", "4.0",
    ]  # fmt: skip
