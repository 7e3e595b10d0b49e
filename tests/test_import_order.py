"""The stage order is the architecture: each stage imports only from the stages before it.

Every `import` in `src/vecgraft` is checked, at module level and inside functions (a
function-level import hides a dependency, it does not remove it), including those under
`if TYPE_CHECKING:`. Nothing inside the library may import the `vecgraft` front door.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "vecgraft"

# Stage rank by the first dotted component below `vecgraft`. Equal ranks may import each
# other (a stage's own modules); a higher rank may import a lower one, never the reverse.
STAGES: dict[str, int] = {
    "errors": 0,
    "_util": 0,
    "vectors": 1,
    "io": 1,
    "text": 2,
    "align": 3,
    "_align_match": 3,
    "_align_fill": 3,
    "nn": 4,
    "transformer": 5,
    "pretrain": 6,
    "finetune": 7,
    "evaluate": 8,
    "cli": 9,
    "__main__": 9,
}
# The deprecated `vecgraft.io.transformer` shim resolves names from `vecgraft.transformer`
# at attribute access (importlib, by name), so it has no static import to check.


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) for every import statement in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            if target == "vecgraft":  # `from vecgraft import io` names submodules
                found.extend((node.lineno, f"vecgraft.{a.name}") for a in node.names)
    return found


def _stage(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "vecgraft":
        return None
    if len(parts) == 1:
        return 10  # the front door
    return STAGES.get(parts[1])


def _violations() -> list[str]:
    bad: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        importer = _module_name(path)
        if importer == "vecgraft":
            continue
        own = _stage(importer)
        assert own is not None, f"{importer} is in no stage: add it to STAGES"
        for line, target in _imports(path):
            rank = _stage(target)
            if rank is None:
                continue
            where = f"{path.relative_to(SRC.parent)}:{line}"
            if rank == 10:
                bad.append(f"{where}: imports the `vecgraft` front door")
            elif rank > own:
                bad.append(f"{where}: {importer} (stage {own}) imports {target} (stage {rank})")
    return bad


def test_every_import_follows_the_stage_order() -> None:
    assert _violations() == []


def test_every_module_belongs_to_a_stage() -> None:
    tops = {p.name.removesuffix(".py") for p in SRC.iterdir() if p.suffix == ".py" or p.is_dir()}
    tops -= {"__init__", "__pycache__", "data", "py.typed"}
    assert tops <= set(STAGES), tops - set(STAGES)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("from vecgraft.finetune.run import finetune\n", "imports vecgraft.finetune.run"),
        ("def f():\n    from vecgraft.cli import main\n", "imports vecgraft.cli"),
        ("def f():\n    import vecgraft\n", "front door"),
        ("from vecgraft import load\n", "front door"),
        ("from ..finetune import run\n", "imports vecgraft.finetune"),
    ],
)
def test_the_checker_catches_upward_imports(tmp_path, monkeypatch, source, message) -> None:
    # A fake `vecgraft/text/bad.py` inside a copy of the tree's shape must be reported.
    fake = tmp_path / "vecgraft"
    (fake / "text").mkdir(parents=True)
    (fake / "text" / "bad.py").write_text(source)
    globals_ = globals()
    monkeypatch.setitem(globals_, "SRC", fake)
    found = _violations()
    assert len(found) == 1 and message in found[0], found
