"""Seeing and emptying the jieba segmentation cache (`segment.SegmentCache`).

An entry is one configuration's folder, `<cache>/<32-hex key>/` (`config.json`, the SQLite
file `segments.sqlite`, old-layout `.tsv` shards): its size is its files' bytes and its last
use their latest mtime (a reader marks the file used when it opens it). Entries are
`io.cache_admin.CacheEntry`s of format `segments`, so that `vecgraft cache` lists, clears and
prunes them with the load cache's entries. A 32-hex folder holding none of those files is
not an entry, and one holding anything else (a file the cache never writes, a subfolder) is
never removed: $VECGRAFT_SEGMENT_CACHE set to a folder of the user's own must cost no data.

Removing an entry is safe while other processes segment: it waits (up to `_LOCK_WAIT`
seconds) for an exclusive lock on the SQLite file, so no writer is halfway through a
transaction, then renames the folder away (one atomic step) and deletes it. A reader that
has the file open keeps reading it (the data stays until it closes it), one about to open
it finds none (a miss: it segments again) and the next write makes the folder anew. A
removal cut short between the rename and the deletion leaves `.<key>.removing-<pid>`: it is
listed as an orphan (once its process is gone, or it is a minute old) and removed first.

Example:
    >>> import tempfile
    >>> segment_entries(Path(tempfile.mkdtemp()))
    []
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from vecgraft._util.atomic import TEMP_TOKEN
from vecgraft._util.jsonfile import RECORD_LIMIT, read_json_file
from vecgraft._util.processes import pid_alive
from vecgraft.io.cache_admin import CacheEntry, Failure
from vecgraft.text.segment import DB_NAME

__all__ = ["FORMAT", "remove_segment_entry", "segment_entries"]

FORMAT = "segments"  # the format column of a segmentation cache's row in `vecgraft cache list`
_KEY = re.compile(r"^[0-9a-f]{32}$")
_LOCK_WAIT = 5.0  # seconds a removal waits for a writer's transaction to end
# what a configuration's folder may hold: the files `segment.SegmentCache` writes
_OWN_FILES = {"config.json", DB_NAME, *(DB_NAME + end for end in ("-wal", "-shm", "-journal"))}
# atomic_write's temp files
_OWN_TEMP = re.compile(rf"^\.(config\.json|.+\.tsv)\.[0-9]+{TEMP_TOKEN}\.tmp$")
_MARKS = ("config.json", DB_NAME)  # with a .tsv shard: what makes a folder an entry
# a removal's folder once renamed away, left when the process died before deleting it
_TRASH = re.compile(r"^\.(?P<key>[0-9a-f]{32})\.removing-(?P<pid>[0-9]+)$")
_TRASH_AGE = 60.0  # seconds after which a removal's leftover is deleted even if its pid runs
_LEFTOVER = "left over from an interrupted removal"  # a leftover's source column


def segment_entries(folder: Path) -> list[CacheEntry]:
    """The configurations cached in `folder`, most recently used first ([] if it is missing)."""
    entries = []
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for path in Path(folder).iterdir():
            entry = None
            if _KEY.match(path.name) and _looks_like_entry(path):
                entry = _describe(path)
            elif _is_leftover(path):
                entry = _describe(path, leftover=True)
            if entry is not None:
                entries.append(entry)
    return sorted(entries, key=lambda e: (-e.last_used, e.path.name))


def _looks_like_entry(path: Path) -> bool:
    """Whether `path` is a folder (not a link) holding a file only a configuration has."""
    with contextlib.suppress(OSError):
        if path.is_symlink() or not path.is_dir():
            return False
        return any((path / name).is_file() for name in _MARKS) or any(path.glob("*.tsv"))
    return False


def _is_leftover(path: Path) -> bool:
    """Whether `path` is a removal's renamed folder whose removal no longer runs.

    Its pid is gone, or (a pid reused, another machine's) it has not changed for a minute.
    """
    m = _TRASH.match(path.name)
    if m is None or path.is_symlink() or not path.is_dir():
        return False
    with contextlib.suppress(OSError):
        return not pid_alive(int(m["pid"])) or time.time() - path.stat().st_mtime > _TRASH_AGE
    return False


def _describe(path: Path, *, leftover: bool = False) -> CacheEntry | None:
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
    source = _LEFTOVER if leftover else _configuration(path)
    return CacheEntry(path, source, FORMAT, size, last_used, path.name, orphan=leftover,
                      foreign=_listed_foreign(path))  # fmt: skip


def _listed_foreign(path: Path) -> str | None:
    """`_foreign` for a listing: why `clear` would leave the folder; None: it would not.

    Why: `cache list` showed such a folder as any other, and `clear` then refused it.
    """
    try:
        return _foreign(path)
    except OSError:  # vanished or unreadable meanwhile: the removal says why, if it fails
        return None


def _configuration(path: Path) -> str | None:
    """What the folder's `config.json` says was segmented how; None when it is unreadable."""
    try:
        config = read_json_file(path / "config.json", limit=RECORD_LIMIT)
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
    A folder holding what the cache never writes: refused, and left as it is.
    """
    try:
        foreign = _foreign(entry.path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        return _refused(entry, _reason(exc), failed)
    if foreign is not None:
        return _refused(entry, f"{foreign}: left alone", failed)
    if _TRASH.match(entry.path.name):  # renamed away already: no process finds it by name
        shutil.rmtree(entry.path, ignore_errors=True)
        return not entry.path.exists() or _refused(entry, "could not delete it all", failed)
    trash = entry.path.with_name(f".{entry.path.name}.removing-{os.getpid()}")
    try:
        with _write_locked(entry.path / DB_NAME) as lock:
            if lock is not None and not _renames_open_files():
                # Windows renames no folder with an open file: unlock first. A writer that
                # begins in the instant between the two writes into the renamed folder (and
                # its entries are lost with it), which the lock otherwise rules out.
                lock.close()
            os.rename(entry.path, trash)
    except (OSError, sqlite3.Error) as exc:
        if not entry.path.exists():  # another process removed it meanwhile
            return False
        return _refused(entry, _reason(exc), failed)
    shutil.rmtree(trash, ignore_errors=True)  # renamed away: no process finds it by name
    return True


def _renames_open_files() -> bool:
    """Whether the system renames a folder holding a file a process has open (not Windows)."""
    return os.name != "nt"


def _foreign(path: Path) -> str | None:
    """Why `path` is not a configuration's folder to delete; None when it is one.

    It holds what the cache never writes (a subfolder, another file): the user's, not ours.
    """
    for child in sorted(path.iterdir()):
        if child.is_symlink() or child.is_dir():
            return f"holds {child.name}/, a folder no segmentation cache has"
        if not (child.name in _OWN_FILES or child.suffix == ".tsv" or _OWN_TEMP.match(child.name)):
            return f"holds {child.name}, a file no segmentation cache writes"
    return None


def _refused(entry: CacheEntry, reason: str, failed: list[Failure] | None) -> bool:
    if failed is not None:
        failed.append((entry, reason))
    return False


def _reason(exc: OSError | sqlite3.Error) -> str:
    """Why a removal was refused, as `could not remove` names it."""
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    if _busy(exc):  # the only sqlite3 error `_lock` passes on
        return "in use: another process is writing it"
    return str(exc)


@contextlib.contextmanager
def _write_locked(file: Path) -> Iterator[sqlite3.Connection | None]:
    """Hold SQLite's exclusive lock on `file` (if it exists): no transaction runs meanwhile.

    Yields the connection holding it (closing it ends the lock and rolls back), or None
    where no transaction can run in the file (missing, damaged, read-only): none to wait for.
    """
    db = _lock(file)
    try:
        yield db
    finally:
        if db is not None:
            db.close()


def _lock(file: Path) -> sqlite3.Connection | None:
    """A connection holding `file`'s exclusive lock; None where no transaction can run in it.

    Raises the sqlite3.Error of a writer holding the file past `_LOCK_WAIT` (busy, locked):
    any other (`file is not a database`, a read-only file) would refuse a writer too, and
    refusing the removal made a damaged cache impossible to remove.
    """
    if not file.is_file():
        return None
    db = None
    try:
        uri = f"{file.resolve().as_uri()}?mode=rw"  # rw: never creates a missing file
        db = sqlite3.connect(uri, uri=True, timeout=_LOCK_WAIT, isolation_level=None)
        db.execute("BEGIN EXCLUSIVE")
    except sqlite3.Error as exc:
        if db is not None:
            db.close()
        if _busy(exc):
            raise
        return None
    return db


def _busy(exc: sqlite3.Error) -> bool:
    """Whether `exc` says another connection holds the lock (SQLITE_BUSY or SQLITE_LOCKED)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return "locked" in str(exc) or "busy" in str(exc)
    return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
