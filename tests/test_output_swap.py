"""An output replacing an earlier one is all-or-nothing, wherever its writing stops.

Each test stops the writer at every rename of the swap in turn.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from vecgraft._util.atomic import atomic_directory, folder_or_old_twin


class Killed(BaseException):
    """A stop from which nothing more runs (SIGKILL, a power cut): every later rename fails."""


def _stop_at(monkeypatch, k: int, exc: type[BaseException]) -> list[int]:
    """Make the `k`-th os.replace/os.rename raise `exc` (`Killed`: that one and all later)."""
    calls = [0]
    real = {"replace": os.replace, "rename": os.rename}

    def wrap(name: str):
        def call(*args, **kwargs):
            calls[0] += 1
            if calls[0] == k or (exc is Killed and calls[0] > k):
                raise exc
            return real[name](*args, **kwargs)

        return call

    monkeypatch.setattr(os, "replace", wrap("replace"))
    monkeypatch.setattr(os, "rename", wrap("rename"))
    return calls


def _contents(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


def _stopped(monkeypatch, k: int, exc: type[BaseException], write) -> tuple[bool, bool]:
    """Run `write` stopped at its `k`-th rename: (was it stopped, had it a k-th rename)."""
    with monkeypatch.context() as mp:
        calls = _stop_at(mp, k, exc)
        try:
            write()
        except (KeyboardInterrupt, Killed):
            return True, True
    return False, calls[0] >= k


# -- atomic_directory: the folder swapped whole ----------------------------------------------
@pytest.mark.parametrize("exc", [KeyboardInterrupt, Killed])
def test_atomic_directory_stopped_at_any_rename_keeps_a_whole_folder(tmp_path, monkeypatch, exc):
    final = tmp_path / "model"
    old, new = {"a.json": "old", "b.bin": "old"}, {"a.json": "new", "c.bin": "new"}

    def write(files):
        with atomic_directory(final, replaces=["a.json"]) as tmp:
            for name, text in files.items():
                (tmp / name).write_text(text)

    stops = 0
    for k in itertools.count(1):
        write(old)
        stopped, reached = _stopped(monkeypatch, k, exc, lambda: write(new))
        stops += stopped
        # the old folder (put back), or the new one; killed between the renames: its twin
        assert _contents(folder_or_old_twin(final) or final) in (old, new)
        if exc is KeyboardInterrupt:
            assert final.is_dir()
        write(new)  # the rerun: never refused
        assert _contents(final) == new
        assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
        if not reached:
            break
    assert stops >= 2  # both renames of the swap were stopped at


def test_atomic_directory_into_an_empty_folder_stopped_leaves_it_empty(tmp_path, monkeypatch):
    final = tmp_path / "here"
    final.mkdir()

    def write():
        with atomic_directory(final) as tmp:
            (tmp / "a.json").write_text("1")
            (tmp / "b.json").write_text("2")

    for k in itertools.count(1):
        stopped, reached = _stopped(monkeypatch, k, KeyboardInterrupt, write)
        assert _contents(final) == ({} if stopped else {"a.json": "1", "b.json": "2"})
        for p in final.iterdir():
            p.unlink()
        if not reached:
            break
