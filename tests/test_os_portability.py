"""vecgraft off Linux: no Unix-only module at import, no signal to ask after a pid, a memory guard.

vecgraft has only run on Linux, but it is pip-installed on Windows and macOS. Windows has no
`resource` or `fcntl`: the tests here take them away (`sys.modules[name] = None` makes their
import fail as it does there) and fake the Windows API calls, so they run on Linux.
"""

from __future__ import annotations

import ctypes
import os
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.subprocess_helpers import fresh_python

from vecgraft._util import processes
from vecgraft._util.atomic import dead_writers_temp, remove_stale_temps
from vecgraft.errors import ResourceError
from vecgraft.io import _limits
from vecgraft.io.base import LoadOptions

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


@pytest.fixture(autouse=True)
def _fresh_kernel32() -> Any:
    """`kernel32()` is cached; each test here loads its own fake WinDLL."""
    clear = getattr(processes.kernel32, "cache_clear", lambda: None)
    clear()
    yield
    clear()


class _Function:
    """A kernel32 function: callable, with the argtypes/restype `kernel32()` sets on it."""

    def __init__(self, call: Callable[..., Any]) -> None:
        self.call = call

    def __call__(self, *args: Any) -> Any:
        return self.call(*args)


class _FakeKernel32:
    """kernel32 on a machine whose processes are `exit_codes` (259: still running).

    OpenProcess of any other pid fails with `errors[pid]` (87, invalid parameter: no such
    process), as Windows' does.
    """

    def __init__(self, exit_codes: dict[int, int], errors: dict[int, int]) -> None:
        self.exit_codes, self.errors = exit_codes, errors
        self.last_error = 0
        self.opened: list[tuple[int, bool, int]] = []
        self.closed: list[int] = []
        self.OpenProcess = _Function(self._open)
        self.GetExitCodeProcess = _Function(self._exit_code)
        self.CloseHandle = _Function(self.closed.append)

    def _open(self, access: int, inherit: bool, pid: int) -> int | None:
        self.opened.append((access, inherit, pid))
        if pid in self.exit_codes:
            return 1000 + pid
        self.last_error = self.errors.get(pid, 87)
        return None  # a NULL handle, as restype c_void_p gives it

    def _exit_code(self, handle: int, code: Any) -> int:
        code._obj.value = self.exit_codes[handle - 1000]
        return 1


@pytest.fixture
def windows(monkeypatch) -> _FakeKernel32:
    """pid_alive's Windows way, with a fake kernel32; any os.kill fails the test."""
    fake = _FakeKernel32({101: 259, 102: 0}, {103: 5})

    def no_kill(pid: int, sig: int) -> None:
        raise AssertionError(f"os.kill({pid}, {sig}) on Windows sends a Ctrl-C")

    monkeypatch.setattr(processes, "_ON_WINDOWS", True)
    monkeypatch.setattr(ctypes, "WinDLL", lambda name, **kw: fake, raising=False)
    monkeypatch.setattr(ctypes, "get_last_error", lambda: fake.last_error, raising=False)
    monkeypatch.setattr(os, "kill", no_kill)
    return fake


def test_windows_asks_after_a_pid_with_openprocess_never_os_kill(windows) -> None:
    """Running, exited, another user's (access denied), none: only the first and third run."""
    assert [processes.pid_alive(pid) for pid in (101, 102, 103, 104)] == [True, False, True, False]
    assert windows.opened == [(0x1000, False, pid) for pid in (101, 102, 103, 104)]
    assert windows.closed == [1101, 1102]  # every handle opened is closed


def test_windows_loads_kernel32_once(monkeypatch, windows) -> None:
    """Every pid asked after uses the same kernel32: WinDLL is built once, not per call."""
    built: list[str] = []

    def win_dll(name: str, **kw: Any) -> _FakeKernel32:
        built.append(name)
        return windows

    monkeypatch.setattr(ctypes, "WinDLL", win_dll, raising=False)
    assert [processes.pid_alive(pid) for pid in (101, 102, 101)] == [True, False, True]
    assert built == ["kernel32"]


def test_windows_removes_temps_of_exited_writers_only(tmp_path, windows) -> None:
    """remove_stale_temps and dead_writers_temp go the Windows way too (no Ctrl-C sent)."""
    running, exited = tmp_path / ".v.bin.101.tmp", tmp_path / ".v.bin.102.tmp"
    running.write_text("x")
    exited.write_text("x")
    assert (dead_writers_temp(running), dead_writers_temp(exited)) == (None, "v.bin")
    remove_stale_temps(tmp_path / "v.bin")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".v.bin.101.tmp"]


def test_windows_tells_a_worker_its_ended_parent_by_asking_not_by_getppid(
    monkeypatch, windows
) -> None:
    """Windows keeps an ended parent's id as getppid(): the watcher asks the process."""
    from vecgraft._util.signals import parent_runs

    monkeypatch.setattr(os, "getppid", lambda: 102)  # 102 exited; its id stays the ppid
    assert parent_runs(102) is False
    monkeypatch.setattr(os, "getppid", lambda: 101)
    assert parent_runs(101) is True
    assert parent_runs(555) is False  # another parent id: this one was adopted elsewhere


def test_posix_tells_an_ended_parent_by_the_changed_parent_id(monkeypatch) -> None:
    from vecgraft._util.signals import parent_runs

    monkeypatch.setattr(processes, "_ON_WINDOWS", False)
    monkeypatch.setattr(processes, "pid_alive", lambda pid: pytest.fail("asked on POSIX"))
    assert parent_runs(os.getppid()) is True
    assert parent_runs(os.getppid() + 1) is False


def test_posix_asks_with_signal_zero(monkeypatch) -> None:
    """Off Windows nothing changed: os.kill(pid, 0), and kernel32 is never loaded."""
    calls: list[tuple[int, int]] = []
    real_kill = os.kill

    def kill(pid: int, sig: int) -> None:
        calls.append((pid, sig))
        real_kill(pid, sig)

    monkeypatch.setattr(processes, "_ON_WINDOWS", False)
    monkeypatch.setattr(os, "kill", kill)
    monkeypatch.setattr(processes, "kernel32", lambda: pytest.fail("kernel32 loaded"))
    assert (processes.pid_alive(os.getpid()), processes.pid_alive(999_999_999)) == (True, False)
    assert calls == [(os.getpid(), 0), (999_999_999, 0)]


_GIB = 1 << 30


@pytest.fixture
def no_linux(monkeypatch, tmp_path) -> None:
    """A machine with neither /proc/meminfo, SC_AVPHYS_PAGES, psutil, kernel32 nor RLIMIT_AS.

    Each test then gives back the one source its OS has.
    """
    monkeypatch.setattr(_limits, "_MEMINFO", tmp_path / "no-meminfo")
    monkeypatch.setitem(sys.modules, "psutil", None)
    monkeypatch.setitem(sys.modules, "resource", None)
    monkeypatch.delattr(ctypes, "WinDLL", raising=False)
    monkeypatch.delattr(os, "sysconf")  # Windows has none; macOS's is set by its test


def test_psutil_gives_the_free_memory_where_proc_does_not(monkeypatch, no_linux) -> None:
    fake = types.SimpleNamespace(virtual_memory=lambda: types.SimpleNamespace(available=3 * _GIB))
    monkeypatch.setitem(sys.modules, "psutil", fake)
    assert _limits.available_memory() == 3 * _GIB


def test_windows_reads_globalmemorystatusex(monkeypatch, no_linux) -> None:
    """Without psutil, ullAvailPhys of a MEMORYSTATUSEX whose dwLength the caller set (64)."""

    def status(ref: Any) -> int:
        assert ref._obj.dwLength == 64
        ref._obj.ullAvailPhys = 5 * _GIB
        return 1

    kernel32 = _FakeKernel32({}, {})
    kernel32.GlobalMemoryStatusEx = _Function(status)  # type: ignore[attr-defined]
    monkeypatch.setattr(ctypes, "WinDLL", lambda name, **kw: kernel32, raising=False)
    assert _limits.available_memory() == 5 * _GIB
    with pytest.raises(ResourceError, match=r"only 2\.5 GiB can be spared"):  # the guard is on
        _limits.check_fits(10_000_000, 300, LoadOptions(), "big.txt", "the header's rows")


def test_macos_without_psutil_bounds_by_physical_memory(monkeypatch, no_linux) -> None:
    """macOS has no SC_AVPHYS_PAGES (sysconf raises ValueError): all memory, a looser bound."""
    values = {"SC_PHYS_PAGES": 2 * _GIB // 4096, "SC_PAGE_SIZE": 4096}

    def sysconf(name: str) -> int:
        if name not in values:
            raise ValueError("unrecognized configuration name")
        return values[name]

    monkeypatch.setattr(os, "sysconf", sysconf, raising=False)
    assert _limits.available_memory() == 2 * _GIB


def test_no_source_leaves_the_guard_off(no_linux) -> None:
    assert (_limits.available_memory(), _limits.memory_budget(LoadOptions())) == (None, None)


def test_linux_reads_memavailable_first_as_before(monkeypatch) -> None:
    """/proc/meminfo answers; psutil is not asked (what Linux did is what it does)."""
    monkeypatch.setitem(sys.modules, "psutil", types.SimpleNamespace(virtual_memory=pytest.fail))
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    expected = int(meminfo["MemAvailable"].split()[0]) * 1024
    room = _limits._address_space_room()
    got = _limits.available_memory()
    assert got is not None
    # MemAvailable moves between the two reads: equal to it within a few MiB, or the cap
    assert got == room or abs(got - expected) < 64 << 20
