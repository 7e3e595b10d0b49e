"""The cross-platform file lock, on Linux and on a simulated Windows (tests/windows_helpers)."""

from __future__ import annotations

import os
import threading
import time

import pytest

from vecgraft._util.filelock import LockBusyError, file_lock, lock_fd, unlock_fd
from windows_helpers import windows  # noqa: F401  (a fixture)


def _hold_then_release(fd: int, after: float) -> threading.Thread:
    def release() -> None:
        time.sleep(after)
        unlock_fd(fd)

    thread = threading.Thread(target=release)
    thread.start()
    return thread


@pytest.mark.parametrize("system", ["posix", "windows"])
def test_a_second_holder_is_refused_without_blocking_and_waits_with_it(
    system, tmp_path, request
):
    if system == "windows":
        request.getfixturevalue("windows")
    path = tmp_path / "lock"
    first = os.open(path, os.O_RDWR | os.O_CREAT)
    second = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        lock_fd(first)
        with pytest.raises(LockBusyError):
            lock_fd(second, blocking=False)
        # msvcrt's own blocking mode gives up after ten seconds: this one waits on
        thread = _hold_then_release(first, 0.3)
        start = time.monotonic()
        lock_fd(second)
        assert time.monotonic() - start >= 0.25
        thread.join()
        unlock_fd(second)
    finally:
        os.close(first)
        os.close(second)


def test_on_windows_the_blocking_lock_retries_the_non_blocking_one(windows, tmp_path):  # noqa: F811
    with file_lock(tmp_path / "lock"):
        pass
    assert windows.calls == [windows.LK_NBLCK, windows.LK_UNLCK]
    assert windows.held == {}


def test_shared_locks_coexist_on_posix(tmp_path):
    path = tmp_path / "lock"
    first = os.open(path, os.O_RDWR | os.O_CREAT)
    second = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        lock_fd(first, shared=True)
        lock_fd(second, shared=True, blocking=False)
    finally:
        os.close(first)
        os.close(second)


def test_a_link_at_the_lock_file_is_refused_not_followed(tmp_path):
    """`open(path, "a+")` made or appended to the target of a link planted in a run folder."""
    from vecgraft._util.atomic import LinkRefusedError

    victim = tmp_path / "victim"
    lock = tmp_path / "study.lock"
    lock.symlink_to(victim)
    with pytest.raises(LinkRefusedError, match=r"lock file through the link .*study\.lock"):
        file_lock(lock).__enter__()
    assert not victim.exists()


def test_a_lock_file_that_cannot_be_wrapped_closes_its_descriptor(tmp_path, monkeypatch):
    # the raw descriptor from os.open leaked when open(fd, "a+") raised
    from vecgraft._util import filelock

    seen: list[int] = []

    def failing_open(fd: int, mode: str):
        seen.append(fd)
        raise OSError("no file object")

    monkeypatch.setattr(filelock, "open", failing_open, raising=False)
    with pytest.raises(OSError, match="no file object"), file_lock(tmp_path / "lock"):
        pass
    with pytest.raises(OSError):  # EBADF: closed
        os.fstat(seen[0])
