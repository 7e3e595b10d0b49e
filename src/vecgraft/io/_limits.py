"""Resource limits of a load: longest line, largest matrix, what memory allows.

A hostile or careless file must end in a clear error before it costs the machine: a line is
at most `max_line_bytes` long (derived from the dimension), and a matrix is only allocated
when it fits the memory this process may still use (`MemAvailable`, and `RLIMIT_AS` when set).
Off Linux the free memory comes from psutil, Windows' `GlobalMemoryStatusEx`, or (macOS with
neither) the machine's physical memory; `resource` is imported only where it exists.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vecgraft._util.console import byte_size
from vecgraft._util.processes import kernel32
from vecgraft.errors import AnyOf, FormatError, Hint, Opt, ResourceError
from vecgraft.io.base import LoadOptions
from vecgraft.vectors import MAX_DIM

WORD_BYTES = 1 << 16
"""Bytes a word may take in a text row (words longer than this are not words)."""
FLOAT_BYTES = 32
"""Bytes a value may take in a text row: the longest float repr is 24 characters plus space."""
ROW_OVERHEAD = 80
"""Bytes a loaded row costs beside its floats (its Python string and list slot), estimated."""


def max_line_bytes(dim: int, options: LoadOptions) -> int:
    """The longest text line accepted for rows of `dim` values (the option wins when set)."""
    if options.max_line_bytes is not None:
        return options.max_line_bytes
    return WORD_BYTES + FLOAT_BYTES * max(dim, 1)


def check_dim(dim: int, path: Any, where: str = "header") -> None:
    """Refuse a dimension no vector file has (it would make later allocations absurd)."""
    if not 0 < dim <= MAX_DIM:
        raise FormatError(f"{where} dimension {dim} is not in 1..{MAX_DIM}", path=path)


_MEMINFO = Path("/proc/meminfo")


def _meminfo_available() -> int | None:
    """MemAvailable from /proc/meminfo (Linux); None elsewhere."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in _MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return None


def _sysconf_available() -> int | None:
    """Free physical pages times the page size; None where sysconf lacks them (macOS, Windows)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return None


def _psutil_available() -> int | None:
    """The available memory psutil reports, where it is installed (it knows every OS)."""
    try:
        import psutil
    except ImportError:
        return None
    with contextlib.suppress(Exception):  # psutil raises its own errors where it cannot read
        return int(psutil.virtual_memory().available)
    return None


class _MemoryStatusEx(ctypes.Structure):
    """Windows' MEMORYSTATUSEX, which GlobalMemoryStatusEx fills (64 bytes: DWORD is 32 bits)."""

    _fields_ = [
        ("dwLength", ctypes.c_uint32),
        ("dwMemoryLoad", ctypes.c_uint32),
        ("ullTotalPhys", ctypes.c_ulonglong),
        ("ullAvailPhys", ctypes.c_ulonglong),
        ("ullTotalPageFile", ctypes.c_ulonglong),
        ("ullAvailPageFile", ctypes.c_ulonglong),
        ("ullTotalVirtual", ctypes.c_ulonglong),
        ("ullAvailVirtual", ctypes.c_ulonglong),
        ("ullAvailExtendedVirtual", ctypes.c_ulonglong),
    ]


def _windows_available() -> int | None:
    """`ullAvailPhys` of GlobalMemoryStatusEx on Windows; None elsewhere or when it fails."""
    with contextlib.suppress(AttributeError, OSError):  # no WinDLL: not Windows
        status = _MemoryStatusEx()
        status.dwLength = ctypes.sizeof(_MemoryStatusEx)
        if kernel32().GlobalMemoryStatusEx(ctypes.byref(status)):
            return int(status.ullAvailPhys)
    return None


def _physical_memory() -> int | None:
    """All physical memory (sysconf; macOS has no free-page count): an upper bound on free."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return None


_FREE_MEMORY_SOURCES: tuple[Callable[[], int | None], ...] = (
    _meminfo_available,
    _sysconf_available,
    _psutil_available,
    _windows_available,
    _physical_memory,
)
"""Where free memory is read, best first: Linux answers with the first, as it always did."""


def _address_space_room() -> int | None:
    """Bytes RLIMIT_AS (`ulimit -v`) still leaves this process; None if unlimited or unknown."""
    try:
        import resource  # POSIX only: Windows has none, and vecgraft must import there
    except ImportError:
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    used = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        used = int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    return max(soft - used, 0)


def available_memory() -> int | None:
    """Bytes this process may still allocate: free memory, capped by RLIMIT_AS; None if unknown.

    Free memory is MemAvailable on Linux, psutil's or GlobalMemoryStatusEx's elsewhere; on
    macOS without psutil it is all physical memory, a looser bound than what is free.
    """
    avail: int | None = None
    for source in _FREE_MEMORY_SOURCES:
        avail = source()
        if avail is not None:
            break
    room = _address_space_room()
    if room is not None:
        avail = room if avail is None else min(avail, room)
    return avail


def memory_budget(options: LoadOptions) -> int | None:
    """Bytes a load may allocate for its rows: `max_memory` when given, else half of what is free.

    Half, because a load can briefly hold its matrix twice (dropping duplicate words, a
    dtype conversion) besides the parser's own buffers.
    """
    if options.max_memory is not None:
        return options.max_memory or None  # 0 turns the guard off
    free = available_memory()
    return None if free is None else free // 2


# rendered with the flags the command has: `neighbors` has no --vocab, and `info --vocab`
# reports coverage instead of loading fewer rows (its OPTION_FLAGS says so)
_FEWER_ROWS = AnyOf(Opt("vocab", "", "FILE"), Opt("limit", "", "N"))
FEWER_ROWS_HINT = Hint("; load fewer rows with {}", _FEWER_ROWS)
FITS_HINT = Hint(
    "; load fewer rows with {}, or set {} if you know better",
    _FEWER_ROWS,
    Opt("max_memory", "", "SIZE"),
)


def out_of_memory(path: Any) -> ResourceError:
    """The error for a MemoryError the estimates did not foresee (the last line of defence)."""
    return ResourceError(f"{path}: ran out of memory while loading", hint=FEWER_ROWS_HINT)


def check_fits(
    rows: int, dim: int, options: LoadOptions, path: Any, what: str, budget: int | None = None
) -> None:
    """Raise ResourceError when `rows` x `dim` float32 rows cannot fit the memory budget."""
    if budget is None:
        budget = memory_budget(options)
    need = rows * (4 * dim + ROW_OVERHEAD)
    if budget is None or need <= budget:
        return
    if options.max_memory:
        allowed = f"max_memory= (--max-memory) allows {byte_size(budget)}"
    else:
        spare = byte_size(budget)
        allowed = f"only {spare} can be spared (half of the memory free to this process)"
    raise ResourceError(
        f"{path}: {what} needs about {byte_size(need)} ({rows} rows x {dim} float32 values) but "
        f"{allowed}",
        hint=FITS_HINT,
    )


def check_header_claim(
    path: Path, header_count: int, dim: int, options: LoadOptions, mem_budget: int | None
) -> None:
    """Refuse a load that cannot fit before parsing it.

    A header may lie, but a row takes at least 2 bytes per value, so the file's size bounds
    the claim (a compressed file's rows are checked as they arrive instead).
    """
    claimed = min(header_count, path.stat().st_size // (2 * dim + 2) + 1)
    if options.limit is not None:
        claimed = min(claimed, options.limit)
    check_fits(claimed, dim, options, path, f"the header's {claimed} rows", mem_budget)


def row_guard(
    dim: int, options: LoadOptions, path: Path, mem_budget: int | None
) -> Callable[[int], None]:
    """The check RowSink runs before it grows, so a huge file fails before memory runs out."""

    def guard(rows: int) -> None:  # rows: estimated from the file's size, or with headroom
        check_fits(rows, dim, options, path, f"reading about {rows} rows", mem_budget)

    return guard
