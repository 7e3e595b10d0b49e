"""File locks between processes: `fcntl.flock` on POSIX, `msvcrt.locking` on Windows.

Why: `vecgraft tune` took its workers' lock with `import fcntl` alone, so on Windows it
failed even with `--jobs 1`. Both kinds lock an open file, and the system drops the lock
with the process, so a killed process leaves none behind.

On Windows a lock is always exclusive (`msvcrt` has no shared locks) and covers the
file's first byte, which may lie past its end; `msvcrt.LK_LOCK` gives up after ten tries a
second apart, so a blocking lock here retries `LK_NBLCK` until it is granted.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Iterator
from types import ModuleType

from vecgraft._util.atomic import refuse_link

__all__ = ["LockBusyError", "file_lock", "lock_fd", "unlock_fd"]

_RETRY_S = 0.05


class LockBusyError(BlockingIOError):
    """A non-blocking lock that another process (or descriptor) holds."""


def _fcntl() -> ModuleType | None:
    """The `fcntl` module, or None where there is none (Windows)."""
    try:
        import fcntl
    except ImportError:
        return None
    return fcntl


def _msvcrt() -> ModuleType | None:
    """The `msvcrt` module, or None where there is none (POSIX)."""
    try:
        import msvcrt
    except ImportError:
        return None
    return msvcrt


def lock_fd(fd: int, *, shared: bool = False, blocking: bool = True) -> None:
    """Lock the open file `fd`; `LockBusyError` when not `blocking` and another holds it.

    `shared` is a POSIX read lock; on Windows every lock is exclusive. `OSError` where
    neither kind exists or the file system refuses locks.
    """
    fcntl = _fcntl()
    if fcntl is not None:
        mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        try:
            fcntl.flock(fd, mode if blocking else mode | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise LockBusyError(*exc.args) from None
        return
    msvcrt = _msvcrt()
    if msvcrt is None:
        raise OSError(errno.ENOSYS, "no file locks on this system (neither fcntl nor msvcrt)")
    while True:
        os.lseek(fd, 0, os.SEEK_SET)  # msvcrt locks from the file position on
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EDEADLK):  # EDEADLK: Windows EDEADLOCK
                raise
            if not blocking:
                raise LockBusyError(errno.EAGAIN, "the file is locked by another") from None
        time.sleep(_RETRY_S)


def unlock_fd(fd: int) -> None:
    """Release the lock `lock_fd` took on `fd`."""
    fcntl = _fcntl()
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return
    msvcrt = _msvcrt()
    if msvcrt is not None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


@contextlib.contextmanager
def file_lock(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive lock on the file `path` (made if missing), waiting for it.

    A link at `path` is refused, not opened: opening made or appended to its target.
    """
    refuse_link(path, "lock file")  # where O_NOFOLLOW is missing (Windows), and to name it
    flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # planted since the check
            refuse_link(path, "lock file")
        raise
    try:
        fh = open(fd, "a+")  # noqa: SIM115  (a `with` below owns it)
    except BaseException:  # the descriptor is ours until a file object owns it
        os.close(fd)
        raise
    with fh:
        lock_fd(fh.fileno())
        try:
            yield
        finally:
            unlock_fd(fh.fileno())
