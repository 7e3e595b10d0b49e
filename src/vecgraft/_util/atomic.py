"""Atomic writes: a temp file (or folder) beside the target, then a rename.

A crash leaves either the old file or the new one, never half of one. Files come out with
the permissions an ordinary `open()` would give them under the caller's umask (0644 under
umask 022), so a folder vecgraft writes is readable by whoever may read the user's files —
some writers (safetensors) create 0600 files, which `apply_umask` corrects.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

__all__ = [
    "apply_umask",
    "atomic_directory",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "check_replaceable",
    "current_umask",
    "folder_or_old_twin",
    "make_folder",
    "old_twin",
    "remove_stale_temps",
]


def current_umask() -> int:
    """The process umask, read without changing it where /proc allows (threads stay safe)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # no /proc: the classic set-and-restore
    os.umask(mask)
    return mask


def apply_umask(path: str | os.PathLike[str]) -> None:
    """Give `path` (a file, or a folder and all below it) the modes `open()`/`mkdir()` would."""
    mask = current_umask()
    root = Path(path)
    targets = [root, *root.rglob("*")] if root.is_dir() else [root]
    for p in targets:
        base = 0o777 if p.is_dir() else 0o666
        os.chmod(p, base & ~mask)


_TEMP_RE = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.tmp$")


def _temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temps(path: Path) -> None:
    """Remove temp files/folders for `path` left by writers that were killed (dead pids)."""
    with contextlib.suppress(OSError):
        for p in path.parent.glob(f".{path.name}.*.tmp"):
            m = _TEMP_RE.match(p.name)
            if m is None or m["name"] != path.name or _pid_alive(int(m["pid"])):
                continue
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)


@contextlib.contextmanager
def _errors_name(path: Path, tmp: Path) -> Iterator[None]:
    """OSErrors about the temp file `tmp` name `path`, the file the user asked for.

    `--metrics-out runs/` read "error: .runs.4242.tmp: Is a directory", and an unwritable
    folder named a file the user never heard of.
    """
    try:
        yield
    except OSError as exc:
        if exc.filename is None or Path(exc.filename) != tmp:
            raise
        raise OSError(exc.errno, exc.strerror, os.fspath(path)) from None


def make_folder(path: str | os.PathLike[str]) -> Path:
    """Create folder `path` (and its parents); a file in the way is named as such.

    `mkdir` says "File exists" when `--out` names a file, as if the folder were there.
    """
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise NotADirectoryError(errno.ENOTDIR, "is a file, not a folder", exc.filename) from None
    return folder


def _make_parent(path: Path) -> None:
    make_folder(path.parent)


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], object]) -> None:
    """Call `write` on a temp file beside `path`, then rename it over `path`."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", os.fspath(path))
    _make_parent(path)
    remove_stale_temps(path)
    tmp = _temp_path(path)
    try:
        with _errors_name(path, tmp):
            with open(tmp, "wb") as fh:
                write(fh)
                fh.flush()
                os.fsync(fh.fileno())
            apply_umask(tmp)
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def check_replaceable(path: str | os.PathLike[str], markers: Sequence[str]) -> Path:
    """`path` as a folder an output of one kind may replace whole: new, empty, or earlier.

    An earlier output holds every file of `markers`. Anything else at `path` (a file, a
    project folder, a home directory) would be deleted by the replacing rename, so it is
    refused: NotADirectoryError for a file, FileExistsError for a folder of other files.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> check_replaceable(folder / "new", ["a.json"]) == folder / "new"
    True
    >>> _ = (folder / "notes.txt").write_text("mine")
    >>> try:
    ...     check_replaceable(folder, ["a.json"])
    ... except FileExistsError as exc:
    ...     print(exc.strerror.split(",")[0])
    holds files but no a.json
    """
    final = Path(path)
    if final.exists() and not final.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "exists and is not a folder", str(final))
    if final.is_dir() and any(final.iterdir()):
        missing = [m for m in markers if not (final / m).is_file()]
        if missing:
            raise FileExistsError(
                errno.EEXIST,
                f"holds files but no {missing[0]}, so it is not an earlier output of "
                "this kind; writing replaces the whole folder: choose a new or empty one",
                str(final),
            )
    return final


def old_twin(path: str | os.PathLike[str]) -> Path:
    """`.<name>.old` beside `path`: where `atomic_directory` keeps the old folder meanwhile."""
    final = Path(path)
    return final.with_name(f".{final.name}.old")


def folder_or_old_twin(path: str | os.PathLike[str]) -> Path | None:
    """Folder `path`, else its `old_twin` (a crash between the two renames), else None."""
    for folder in (Path(path), old_twin(path)):
        if folder.is_dir():
            return folder
    return None


@contextlib.contextmanager
def atomic_directory(
    path: str | os.PathLike[str], *, replaces: Sequence[str] | None = None
) -> Iterator[Path]:
    """Yield a temp folder beside `path`; on success it replaces `path` in one rename.

    An existing empty folder (the current one, `.`, say) is kept and the files are moved
    into it instead: renamed away, it would leave the user's shell in a deleted folder.

    A crash leaves the old folder (or, between the two renames, its `old_twin`, which
    `folder_or_old_twin` falls back to) — never a half-written one.
    Whatever the caller wrote inside gets umask-normal permissions before the rename.
    With `replaces` (file names an earlier output of this kind holds), a user-named `path`
    that is a file or a folder of other files is refused first (`check_replaceable`).
    """
    # the folder itself: a link to one is written through (a rename put a folder in the
    # link's place), and `.` has a name (it was "PosixPath('.') has an empty name")
    path = os.path.realpath(path)
    final = Path(path) if replaces is None else check_replaceable(path, replaces)
    _make_parent(final)
    remove_stale_temps(final)
    tmp = _temp_path(final)
    old = old_twin(final)
    shutil.rmtree(tmp, ignore_errors=True)
    with _errors_name(final, tmp):
        tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    apply_umask(tmp)
    if final.is_dir() and not any(final.iterdir()):  # e.g. `.`: the folder stays, files move in
        for child in sorted(tmp.iterdir()):
            os.replace(child, final / child.name)
        tmp.rmdir()
        return
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` atomically (see `atomic_write`)."""
    atomic_write(Path(path), lambda fh: fh.write(data))


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` as UTF-8 to `path` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def finite_json(data: Any) -> Any:
    """`data` with every NaN or infinite float replaced by None (JSON's null).

    Why: Python writes NaN as a bare `NaN`, which is not JSON: jq, JavaScript and strict
    parsers refuse the whole file over one undefined Pearson r.
    """
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: finite_json(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite_json(v) for v in data]
    return data


def atomic_write_json(
    path: str | os.PathLike[str],
    data: Any,
    *,
    indent: int = 2,
    ensure_ascii: bool = False,
    sort_keys: bool = False,
    default: Callable[[Any], Any] | None = None,
    finite: bool = False,
) -> None:
    """Write `data` as human-readable JSON to `path` atomically.

    `finite=True` writes NaN and infinities as null (`finite_json`): for result files that
    other tools read (metrics, evaluations, comparisons). Records vecgraft reads back as
    numbers (a trainer state's -inf best score) keep Python's spelling.
    """
    if finite:
        data = finite_json(data)
    text = json.dumps(
        data,
        indent=indent,
        ensure_ascii=ensure_ascii,
        sort_keys=sort_keys,
        default=default,
        allow_nan=not finite,
    )
    atomic_write_text(path, text)
