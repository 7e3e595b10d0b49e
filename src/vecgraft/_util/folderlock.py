"""Folder locks: one command writes an output or run folder at a time, readers apart.

Why: two `compare` (or `pretrain`, `finetune`) commands into one folder both ran, each
rewriting what the other wrote. A lock here is a non-blocking `flock` on the folder itself
(a lock file standing for it on Windows), which the kernel drops with the process, so a
killed command leaves no stale lock. `finetune.rundir.run_lock` adds a run folder's rules
for links; `compare` and `pretrain` hold their --out with `out_lock`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

from vecgraft._util.filelock import LockBusyError, lock_fd, unlock_fd
from vecgraft.errors import ConfigError, Hint, Opt

__all__ = ["FolderBusyError", "check_free", "out_lock", "read_lock", "writer_holds"]


@contextlib.contextmanager
def out_lock(path: str | os.PathLike[str], *, make: bool = True) -> Iterator[None]:
    """Hold output folder `path` while a command writes it; a second command into it fails.

    Why: two `compare` (or `pretrain`) runs into one --out both ran: the second took over
    the first's cells and rewrote compare.json with its own rows alone, and of two
    pretrain runs the one that ended last replaced the other's vectors unsaid. The lock
    of `run_lock` (a non-blocking `flock` on the folder, which the kernel drops with the
    process: a killed run leaves no stale lock), without a run folder's rules for links.
    A missing folder is made here and removed on the way out if left empty; a folder that
    cannot be made, or a file in the way, is left to the caller's own checks (unlocked).
    Without `make` nothing is made: a command that only rewrites files of a folder already
    there (`compare --report-only`) holds it if it exists, and goes on unlocked if not.
    """
    folder = Path(path)
    made = _make_folder(folder) if make else []
    release = _lock_folder(folder)
    try:
        yield
    finally:
        for empty in made:  # deepest first; while locked, so no new run has it meanwhile
            try:
                empty.rmdir()
            except OSError:
                break
        if release is not None:
            release()


def check_free(path: str | os.PathLike[str]) -> None:
    """Fail now, as `run_lock` would, when another command holds the folder `path`.

    Why: a run did its other checks before it took the lock, so a second `finetune` into a
    running run's folder said "already holds a run; use --resume ... --overwrite" (or, with
    `--resume`, that its flags differ from the run's), advice that then hit the lock. The
    lock is taken and dropped at once (`run_lock` takes it for the run); nothing is made.
    Under torchrun only rank 0 writes the folder, so the other ranks check nothing (rank 0
    holds it by then).
    """
    if os.environ.get("RANK", "0").strip() not in ("", "0"):
        return
    release = _lock_folder(Path(path))
    if release is not None:
        release()


def writer_holds(path: str | os.PathLike[str]) -> bool:
    """Whether a command writing folder `path` (`out_lock`, `run_lock`) holds its lock now.

    Why: a folder a `pretrain` still trains into is empty until its output moves in, and a
    reader said "run it again" of it. A shared lock is taken and dropped at once: only a
    writer's lock refuses it. Nothing is made; a missing folder is held by none.
    """
    try:
        release = _lock_folder(Path(path), shared=True)
    except FolderBusyError:
        return True
    if release is not None:
        release()
    return False


@contextlib.contextmanager
def read_lock(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold the run folder `path` while a command reads it; fails at once while a run writes it.

    Why: `vecgraft evaluate` of a folder that a run (`finetune`, `tune`'s final/, an
    ensemble) was writing read whatever files were there at the time, a model set aside by
    `--overwrite` or half replaced, and wrote its eval-*.json into the new run's manifest;
    `predict` and `export` read such a model too.
    A shared `flock`: several readers at once, while a run started into the folder
    meanwhile fails at once (`run_lock` says the folder is being read). Nothing is made:
    a missing folder, as one without flock, is read unlocked (the reader says what is
    missing). On Windows (no shared locks) a reader only checks that no run holds the
    folder, then reads unlocked: a run started meanwhile is not kept out.
    """
    release = _lock_folder(Path(path), shared=True)
    try:
        yield
    finally:
        if release is not None:
            release()


def _make_folder(folder: Path) -> list[Path]:
    """Make `folder` and its missing parents; the ones made, deepest first ([] on failure).

    A folder that cannot be made is left to `claim`, whose error says why.
    """
    missing = []
    for step in (folder, *folder.parents):
        if os.path.lexists(step):
            break
        missing.append(step)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return []
    return missing


def _lock_folder(folder: Path, *, shared: bool = False) -> Callable[[], None] | None:
    """Take `folder`'s lock; what releases it, or None where none can be taken.

    Exclusive for a run writing the folder, `shared` for a command reading it. On POSIX a
    flock on the folder itself: a folder removed and made again between the open and the
    lock is opened again, so the lock held is always the one on the folder at `folder` now.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX
        return _windows_lock(folder, shared)
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    for _attempt in range(3):
        try:
            fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except OSError:
            return None  # not a folder: `check_new` (a reader: its own checks) says so
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise _busy(folder, shared) from None
        except OSError:
            os.close(fd)
            return None  # no flock on this file system
        if _same_folder(fd, folder):
            return functools.partial(os.close, fd)  # closing releases the flock
        os.close(fd)
    return None


def _windows_lock(folder: Path, shared: bool) -> Callable[[], None] | None:
    """`_lock_folder` where a folder cannot be opened to lock (Windows): a lock file.

    The file stands for the folder's real path in the temp folder, so the run folder
    gets no file the manifest rules would see. `msvcrt` has no shared locks, so a reader
    (`shared`) takes the lock only to see that no run holds it and reads unlocked, and
    a reader never makes the file. Paths reaching one folder by other names (a subst
    drive, a share) or users with other temp folders are not kept apart. Where no lock
    can be taken it warns once and goes on unlocked, as before.
    """
    if not folder.is_dir():
        return None  # not a folder: `check_new` (a reader: its own checks) says so
    path = _lock_file_of(folder)
    try:
        if not shared:
            path.parent.mkdir(exist_ok=True)
        fd = os.open(path, os.O_RDWR | (0 if shared else os.O_CREAT))
    except OSError as exc:
        if not (shared and isinstance(exc, FileNotFoundError)):  # else: never held
            _warn_unlocked(folder, exc)
        return None
    try:
        lock_fd(fd, blocking=False)
    except LockBusyError:
        os.close(fd)
        raise _busy(folder, shared) from None
    except OSError as exc:
        os.close(fd)
        _warn_unlocked(folder, exc)
        return None
    if shared:
        _release_lock_file(fd)
        return None
    return functools.partial(_release_lock_file, fd)


def _lock_file_of(folder: Path) -> Path:
    """The lock file standing for `folder` on Windows: named by a hash of its real path."""
    real = os.path.normcase(os.path.realpath(folder))
    digest = hashlib.sha256(real.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return Path(tempfile.gettempdir()) / "vecgraft-locks" / f"{digest}.lock"


def _release_lock_file(fd: int) -> None:
    """Release `_windows_lock`'s lock; the file stays (unlinking it races a waiting run)."""
    try:
        unlock_fd(fd)
    finally:
        os.close(fd)


_WARNED_UNLOCKED: list[bool] = []


def _warn_unlocked(folder: Path, exc: OSError) -> None:
    """Say once per process that run folders go unlocked here, and why."""
    if _WARNED_UNLOCKED:
        return
    _WARNED_UNLOCKED.append(True)
    warnings.warn(
        f"{folder}: run folders cannot be locked here ({exc}); two commands writing one "
        "folder at once are not stopped",
        stacklevel=3,
    )


class FolderBusyError(ConfigError):
    """Another command holds the folder's lock: one writing it, or (for a writer) readers.

    Its own class so that a command running many (`compare`'s cells) can advise waiting
    for the other command, not fixing its inputs.
    """


def _busy(folder: Path, shared: bool) -> FolderBusyError:
    """The error of a lock on `folder` that another holds: a run writing it, or readers."""
    if shared:
        return FolderBusyError(
            f"{folder}: a run is writing this folder (it holds its lock); wait for it to "
            "end: until then its model is not whole"
        )
    if _only_readers(folder):
        return FolderBusyError(
            f"{folder}: another command is reading this folder (`vecgraft evaluate`, "
            "`predict` or `export` holds its lock)",
            hint=Hint("; wait for it to end, or choose another {}", Opt("out", "...", "DIR")),
        )
    return FolderBusyError(
        f"{folder}: another run is writing this folder (it holds its lock)",
        hint=Hint("; wait for it to end, or choose another {}", Opt("out", "...", "DIR")),
    )


def _only_readers(folder: Path) -> bool:
    """Whether the lock on `folder` is held shared only (a shared lock is granted now).

    On Windows readers hold no lock: a held one is a run's.
    """
    try:
        import fcntl
    except ImportError:
        return False

    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        os.close(fd)  # releases the probe's lock
    return True


def _same_folder(fd: int, folder: Path) -> bool:
    """Whether descriptor `fd` is the folder at `folder` now (same device and inode)."""
    try:
        held, now = os.fstat(fd), os.stat(folder)
    except OSError:
        return False
    return (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino)
