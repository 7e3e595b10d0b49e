"""Suite-wide test settings.

Every test gets its own vector cache folder: vecgraft caches each text/binary load under
$XDG_CACHE_HOME/vecgraft, and a test run must never write into the real home cache. Module-
and session-scoped fixtures are set up before a function's own, so the whole session first
gets a cache of its own too: a module fixture that fine-tunes wrote into the real cache and,
with $VECGRAFT_CACHE_MAX_SIZE set, pruned the user's entries.
"""

from __future__ import annotations

import os

import pytest

# tqdm copies $TQDM_* into its defaults when imported: TQDM_DISABLE=1 in a developer's shell
# silenced the bars the progress tests look at. Removed before anything imports tqdm.
for _name in [name for name in os.environ if name.startswith("TQDM_")]:
    del os.environ[_name]


def _isolate(monkeypatch: pytest.MonkeyPatch, folder: os.PathLike[str]) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", os.fspath(folder))
    # a developer's shell may set these; the tests that want them set them
    monkeypatch.delenv("VECGRAFT_CACHE_MAX_SIZE", raising=False)
    monkeypatch.delenv("VECGRAFT_SEGMENT_CACHE", raising=False)


@pytest.fixture(scope="session", autouse=True)
def _isolated_session_cache(tmp_path_factory: pytest.TempPathFactory):
    with pytest.MonkeyPatch.context() as mp:
        _isolate(mp, tmp_path_factory.mktemp("xdg-session"))
        yield


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    _isolate(monkeypatch, tmp_path_factory.mktemp("xdg-cache"))
