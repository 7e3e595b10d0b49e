"""Run-folder locks on a simulated Windows (no fcntl, a fake msvcrt: tests/windows_helpers).

Windows cannot open a folder to lock it; without fcntl the folder went unlocked, silently.
"""

from __future__ import annotations

import sys
import tempfile
import warnings

import pytest

import vecgraft._util.folderlock as folderlock
from vecgraft.errors import ConfigError
from vecgraft.finetune.rundir import check_free, read_lock, run_lock
from windows_helpers import windows  # noqa: F401  (a fixture)


@pytest.fixture
def temp(tmp_path, monkeypatch):
    """The temp folder the lock files go to, this test's own."""
    folder = tmp_path / "temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_a_run_holds_the_folder_against_runs_and_readers(windows, temp, tmp_path):  # noqa: F811
    out = tmp_path / "run"
    with run_lock(out):
        with pytest.raises(ConfigError, match=f"{out}: another run is writing"):
            check_free(out)
        with pytest.raises(ConfigError, match=f"{out}: another run is writing"), run_lock(out):
            pass
        with pytest.raises(ConfigError, match=f"{out}: a run is writing"), read_lock(out):
            pass
        assert list(out.iterdir()) == []  # the lock file is not in the run folder
        assert len(list((temp / "vecgraft-locks").iterdir())) == 1
    assert windows.held == {}
    check_free(out)
    out.mkdir()
    with read_lock(out), read_lock(out):  # readers hold nothing
        assert windows.held == {}


def test_readers_make_no_lock_file_and_do_not_keep_a_run_out(windows, temp, tmp_path):  # noqa: F811
    out = tmp_path / "run"
    out.mkdir()
    with read_lock(out):
        assert not (temp / "vecgraft-locks").exists()
        # msvcrt has no shared locks: a run started while a reader reads is not stopped
        with run_lock(out):
            pass


def test_without_any_lock_it_warns_once_and_goes_on(tmp_path, monkeypatch, temp):
    monkeypatch.setitem(sys.modules, "fcntl", None)
    monkeypatch.setitem(sys.modules, "msvcrt", None)
    monkeypatch.setattr(folderlock, "_WARNED_UNLOCKED", [])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with run_lock(tmp_path / "a"), run_lock(tmp_path / "a"):
            pass
    assert [str(w.message) for w in caught] == [
        f"{tmp_path / 'a'}: run folders cannot be locked here ([Errno 38] no file locks on "
        "this system (neither fcntl nor msvcrt)); two commands writing one folder at once "
        "are not stopped"
    ]
