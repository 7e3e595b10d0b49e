"""Seeing and emptying the jieba segmentation cache (`segment.SegmentCache`).

An entry is one configuration's folder, `<cache>/<32-hex key>/` (`config.json`, the SQLite
file `segments.sqlite`, old-layout `.tsv` shards): its size is its files' bytes and its last
use their latest mtime (a reader marks the file used when it opens it). Entries are
`io.cache_admin.CacheEntry`s of format `segments`, so that `vecgraft cache` lists, clears and
prunes them with the load cache's entries.

Removing an entry is safe while other processes segment: it waits (up to `_LOCK_WAIT`
seconds) for an exclusive lock on the SQLite file, so no writer is halfway through a
transaction, then renames the folder away (one atomic step) and deletes it. A reader that
has the file open keeps reading it (the data stays until it closes it), one about to open
it finds none (a miss: it segments again) and the next write makes the folder anew.

Example:
    >>> import tempfile
    >>> segment_entries(Path(tempfile.mkdtemp()))
    []
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from vecgraft.io.cache_admin import CacheEntry, Failure
from vecgraft.text.segment import DB_NAME

__all__ = ["FORMAT", "clear_segment_entries", "remove_segment_entry", "segment_entries"]

FORMAT = "segments"  # the format column of a segmentation cache's row in `vecgraft cache list`
_KEY = re.compile(r"^[0-9a-f]{32}$")
_LOCK_WAIT = 5.0  # seconds a removal waits for a writer's transaction to end


def segment_entries(folder: Path) -> list[CacheEntry]:
    """The configurations cached in `folder`, most recently used first ([] if it is missing)."""
    entries = []
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for path in Path(folder).iterdir():
            if _KEY.match(path.name) and path.is_dir():
                entry = _describe(path)
                if entry is not None:
                    entries.append(entry)
    return sorted(entries, key=lambda e: (-e.last_used, e.path.name))


def _describe(path: Path) -> CacheEntry | None:
    """A configuration folder as a CacheEntry; None when it vanished meanwhile."""
    size, last_used = 0, None
    try:
        for file in path.iterdir():
            with contextlib.suppress(FileNotFoundError):
                st = file.stat()
                size += st.st_size
                last_used = max(last_used or st.st_mtime, st.st_mtime)
        if last_used is None:
            last_used = path.stat().st_mtime
    except (FileNotFoundError, NotADirectoryError):
        return None
    return CacheEntry(path, _configuration(path), FORMAT, size, last_used, path.name)


def _configuration(path: Path) -> str | None:
    """What the folder's `config.json` says was segmented how; None when it is unreadable."""
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(config, dict) or not isinstance(config.get("backend"), str):
        return None
    version = config.get("version")
    parts = [f"{config['backend']} {version}" if isinstance(version, str) else config["backend"]]
    parts.append("HMM" if config.get("hmm") else "no HMM")
    digest = config.get("user_dict")
    parts.append(f"user dictionary {digest[:8]}" if isinstance(digest, str) else "no user dict")
    return "jieba segmentations: " + ", ".join(parts)


def remove_segment_entry(entry: CacheEntry, failed: list[Failure] | None = None) -> bool:
    """Whether `entry`'s folder was removed now; a refusal is added to `failed`.

    Gone already: neither. A writer holding the file past `_LOCK_WAIT`: refused, "in use".
    """
    trash = entry.path.with_name(f".{entry.path.name}.removing-{os.getpid()}")
    try:
        with _write_locked(entry.path / DB_NAME):
            os.rename(entry.path, trash)
    except (OSError, sqlite3.Error) as exc:
        if not entry.path.exists():  # another process removed it meanwhile
            return False
        return _refused(entry, _reason(exc), failed)
    shutil.rmtree(trash, ignore_errors=True)  # renamed away: no process finds it by name
    return True


def _refused(entry: CacheEntry, reason: str, failed: list[Failure] | None) -> bool:
    if failed is not None:
        failed.append((entry, reason))
    return False


def _reason(exc: OSError | sqlite3.Error) -> str:
    """Why a removal was refused, as `could not remove` names it."""
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    if "locked" in str(exc) or "busy" in str(exc):
        return "in use: another process is writing it"
    return str(exc)


@contextlib.contextmanager
def _write_locked(file: Path) -> Iterator[None]:
    """Hold SQLite's exclusive lock on `file` (if it exists): no transaction runs meanwhile."""
    if not file.is_file():
        yield
        return
    uri = f"{file.resolve().as_uri()}?mode=rw"  # rw: never creates a missing file
    db = sqlite3.connect(uri, uri=True, timeout=_LOCK_WAIT, isolation_level=None)
    try:
        db.execute("BEGIN EXCLUSIVE")
        yield
        db.execute("ROLLBACK")
    finally:
        db.close()


def clear_segment_entries(folder: Path, *, failed: list[Failure] | None = None) -> list[CacheEntry]:
    """Remove every configuration cached in `folder`; the removed ones."""
    return [e for e in segment_entries(folder) if remove_segment_entry(e, failed)]
