"""A simulated Windows for tests: no `fcntl`, and a fake `msvcrt` with byte-range locks.

Only simulated: the fake follows the documented `msvcrt.locking` rules (a lock covers
bytes from the file position; a locked range cannot be locked again, even through the same
descriptor; `LK_NBLCK` fails with EACCES at once; `LK_LOCK` gives up, here at once, with
EDEADLOCK), not a real Windows kernel.
"""

from __future__ import annotations

import errno
import os
import sys
import threading
import types

import pytest


class FakeMsvcrt(types.ModuleType):
    LK_UNLCK, LK_LOCK, LK_NBLCK, LK_RLCK, LK_NBRLCK = 0, 1, 2, 3, 4

    def __init__(self) -> None:
        super().__init__("msvcrt")
        self.held: dict[tuple[int, int, int], int] = {}  # (dev, inode, byte) -> holder fd
        self.calls: list[int] = []
        self._guard = threading.Lock()

    def locking(self, fd: int, mode: int, nbytes: int) -> None:
        self.calls.append(mode)
        st, pos = os.fstat(fd), os.lseek(fd, 0, os.SEEK_CUR)
        keys = [(st.st_dev, st.st_ino, pos + i) for i in range(nbytes)]
        with self._guard:
            if mode == self.LK_UNLCK:
                if any(self.held.get(k) != fd for k in keys):
                    raise PermissionError(errno.EACCES, "Permission denied")
                for k in keys:
                    del self.held[k]
                return
            if any(k in self.held for k in keys):
                if mode in (self.LK_LOCK, self.LK_RLCK):  # after its ten tries
                    raise OSError(errno.EDEADLK, "Resource deadlock avoided")
                raise PermissionError(errno.EACCES, "Permission denied")
            for k in keys:
                self.held[k] = fd


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch) -> FakeMsvcrt:
    """No `fcntl` to import, and the fake `msvcrt`."""
    fake = FakeMsvcrt()
    monkeypatch.setitem(sys.modules, "fcntl", None)  # `import fcntl` raises ImportError
    monkeypatch.setitem(sys.modules, "msvcrt", fake)
    return fake
