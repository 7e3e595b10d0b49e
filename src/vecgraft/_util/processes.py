"""Whether a process runs, asked without signalling it, on POSIX and on Windows.

A temp file or folder named by its writer's pid is stale once that process is gone. POSIX
asks with `os.kill(pid, 0)`, which sends nothing. Windows must not: there `signal.CTRL_C_EVENT`
is 0, and CPython's `os.kill(pid, 0)` calls `GenerateConsoleCtrlEvent(CTRL_C_EVENT, pid)`,
a real Ctrl-C to every process on the console. It opens the process and reads its exit code.
"""

from __future__ import annotations

import ctypes
import functools
import os
from pathlib import Path
from typing import Any

__all__ = ["kernel32", "on_windows", "pid_alive", "process_start"]

_ON_WINDOWS = os.name == "nt"
"""Which way `pid_alive` asks (a switch, so tests can take the Windows way on Linux)."""
_PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
_ERROR_ACCESS_DENIED = 5
_STILL_ACTIVE = 259


@functools.cache
def kernel32() -> Any:
    """Windows' kernel32.dll with the signatures used here (handles are pointers, not ints).

    Loaded once: each WinDLL is a LoadLibrary and new function objects. Off Windows the
    AttributeError (no `ctypes.WinDLL`) is raised on every call; a failure is never cached.
    """
    dll = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    dll.OpenProcess.argtypes = [ctypes.c_uint32, ctypes.c_int, ctypes.c_uint32]
    dll.OpenProcess.restype = ctypes.c_void_p
    dll.GetExitCodeProcess.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint32)]
    dll.GetExitCodeProcess.restype = ctypes.c_int
    dll.CloseHandle.argtypes = [ctypes.c_void_p]
    dll.CloseHandle.restype = ctypes.c_int
    return dll


def _windows_pid_alive(pid: int) -> bool:
    """OpenProcess and GetExitCodeProcess: a process another user owns is denied, so it runs."""
    dll = kernel32()
    handle = dll.OpenProcess(_PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
    if not handle:
        return bool(ctypes.get_last_error() == _ERROR_ACCESS_DENIED)  # type: ignore[attr-defined]
    try:
        code = ctypes.c_uint32()
        if not dll.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True  # it exists but would not say: keep its files
        return code.value == _STILL_ACTIVE
    finally:
        dll.CloseHandle(handle)


def on_windows() -> bool:
    """Whether this process asks after processes the Windows way (`_ON_WINDOWS`)."""
    return _ON_WINDOWS


def pid_alive(pid: int) -> bool:
    """Whether process `pid` runs on this machine (one of another user counts as running)."""
    if _ON_WINDOWS:
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_start(pid: int) -> str | None:
    """When process `pid` started, as a string to compare (None: not known, or no such process).

    Why: a pid alone names another process once its own has ended and the number was
    reused; the start time tells them apart. Linux: the boot's id and the start tick in
    /proc/PID/stat; elsewhere psutil's creation time, where psutil is installed.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return _psutil_start(pid)
    fields = stat[stat.rfind(")") + 2 :].split()  # after "PID (name) ": field 3 on
    if len(fields) < 20:
        return None
    return f"{_boot_id()}:{fields[19]}"  # field 22, starttime (clock ticks after boot)


@functools.cache
def _boot_id() -> str:
    """The id of the boot (Linux): a start tick of an earlier boot is another process."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        return ""


def _psutil_start(pid: int) -> str | None:
    """The creation time psutil gives process `pid`, where it is installed and knows it."""
    try:
        import psutil
    except ImportError:
        return None
    try:
        return f"{psutil.Process(pid).create_time():.2f}"
    except (psutil.Error, OSError):  # no such process, access denied; the system's refusal
        return None
