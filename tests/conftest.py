"""Suite-wide test settings.

Every test gets its own vector cache folder: vecgraft caches each text/binary load under
$XDG_CACHE_HOME/vecgraft, and a test run must never write into the real home cache.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    # a developer's shell may set these; the tests that want them set them
    monkeypatch.delenv("VECGRAFT_CACHE_MAX_SIZE", raising=False)
    monkeypatch.delenv("VECGRAFT_SEGMENT_CACHE", raising=False)
