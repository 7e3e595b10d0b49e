"""Seeing and emptying the load cache (`io.cache`): list, clear, prune least recently used.

An entry is a `<name>-<path hash>-<key>.safetensors` file in the cache folder, or a
`.rows.npz` beside it (`io.cache_rows`: the rows a `vocab=` load keeps of a whole entry); its
size is its bytes on disk and its last use the file's mtime, which each hit sets.

Removing an entry is an unlink, which is safe against loads running meanwhile: a load that
has the entry open keeps its memory map (the data stays until the map closes), one about to
open it finds it gone and parses the source again, and a writer's half-written temp file
(`.<entry>.<pid>.w<random>.tmp`, renamed into place when whole) is never an entry. Files whose names
are not entry names are never touched, so a `--cache-dir` naming the wrong folder removes
nothing of the user's.

An entry written by an older cache version (`CACHE_VERSION`) is read by no load: `list` marks
it `stale: written by cache version N` and `prune` removes it first, as an orphan rows file.

An entry earlier versions named after a symlink's path (before sources were resolved to
their real file) is never read again: where the real file has an entry of its own, `list`
marks it `stale (duplicate of ...)` and `prune` removes it first, as an orphan rows file.

The temp file of a fill whose process was killed (`kill -9`, the OOM killer: nearly the
whole entry's size) is listed as a leftover of an interrupted fill, once its process is
gone (as the next load decides, `atomic.remove_stale_temps`); `clear` and `prune` remove it
(prune first, as an orphan).

Example:
    >>> import tempfile
    >>> list_entries(Path(tempfile.mkdtemp()))
    []
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import stat
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from vecgraft._util.atomic import dead_writers_temp
from vecgraft._util.jsonfile import special_kind
from vecgraft.errors import FormatError
from vecgraft.io.cache_rows import READ_ERRORS, read_rows_info
from vecgraft.io.cache_rows import SUFFIX as ROWS_SUFFIX
from vecgraft.io.native import read_native_meta_and_damage

__all__ = [
    "MAX_SIZE_ENV",
    "CacheEntry",
    "Failure",
    "cache_folder",
    "caches",
    "check_folder",
    "clear_entries",
    "clear_listed",
    "human_size",
    "list_entries",
    "path_tag",
    "prune_entries",
    "prune_listed",
    "removable",
    "remove_entry",
    "shared_folder",
    "source_path",
    "warn_if_shared",
]

# the load cache's format, in every entry's key (`io.cache.options_key`) and header
# ("version"): 2: the matrix is checksummed too; 3: fastText rows in gensim's exact sums;
# 4: text files: a lone CR ends a line, two rows joined on a line are refused;
# 5: a `vocab=` load no longer skips rows with invalid UTF-8 words unchecked, and keeps
# rows stored decomposed (NFD) that alignment now compares in NFC; 6: entries record it,
# so that `list` marks those of an older version stale (no load reads them) and `prune`
# removes them; 7: text files: a BOM starting a later line is dropped (not read into the
# word), a row whose word and first value a non-ASCII space or a tab joins is refused
CACHE_VERSION = 7
_FIRST_RECORDED = 6  # the first cache version whose entries record it
# bytes (or "5G", "500M") the cache may hold: checked after each new entry is written
MAX_SIZE_ENV = "VECGRAFT_CACHE_MAX_SIZE"
_ENTRY = re.compile(r"^.+-(?P<tag>[0-9a-f]{8})-[0-9a-f]{24}\.(safetensors|rows\.npz)$")


@dataclass(frozen=True)
class CacheEntry:
    """One cache file: what it holds (source, format, subset) and its size and last use."""

    path: Path
    source: str | None  # None: the entry is unreadable (a broken entry)
    format: str | None
    size: int
    last_used: float  # seconds since the epoch (the file's mtime)
    subset: str | None = None  # "vocab of N words", "limit N": a bounded load's entry
    orphan: bool = False  # a rows file whose whole entry is gone: it can never be used
    # read by no load: named after a symlink by an earlier version (the real file has one),
    # or written by an older cache version (its key holds that version)
    stale: bool = False
    # why `clear` and `prune` leave it: it holds what the cache never writes (a segmentation
    # cache's folder with the user's files); None: removable
    foreign: str | None = None
    # the temp file of a fill whose process was killed: never an entry, only its bytes
    leftover: bool = False
    # truncated or overlong (its size is not its header's): the next load replaces it
    damaged: bool = False

    @property
    def path_tag(self) -> str:
        """The hash of the source's real path (symlinks resolved) that the entry's name holds."""
        m = _ENTRY.match(dead_writers_temp(self.path) or self.path.name)
        return m["tag"] if m else ""


def path_tag(path: Path) -> str:
    """The 8-hex hash of `path` (absolute, symlinks resolved) that its entries' names hold."""
    return hashlib.sha256(str(path).encode("utf-8", "surrogatepass")).hexdigest()[:8]


def human_size(size: int) -> str:
    """`size` bytes as 512B, 1.5K, 20.3M, 4.0G (binary units, as --max-size reads them)."""
    value = float(size)
    for unit in ("B", "K", "M", "G"):
        if value < 1024:
            return f"{int(value)}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}T"


def cache_folder(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """`cache_dir` (a `~` expanded), else `$XDG_CACHE_HOME/vecgraft`, else `~/.cache/vecgraft`."""
    if cache_dir is not None:
        # expanded: "~/vgc" made a folder named "~" in the working directory
        return Path(cache_dir).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vecgraft"


def check_folder(directory: Path) -> None:
    """Refuse a `directory` that exists but is not a folder, as a load's write says it.

    Why: `vecgraft cache list --cache-dir FILE` said "0 entries" where a load warns the
    folder "is a file, not a folder"; a missing folder is an empty cache, not an error.
    """
    try:
        mode = os.stat(directory).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return
    if not stat.S_ISDIR(mode):
        kind = special_kind(mode)
        what = f"is {kind}, not a folder" if kind else "is a file, not a folder"
        raise NotADirectoryError(errno.ENOTDIR, what, os.fspath(directory))


# the folders `warn_if_shared` has warned about (once each per process)
_SHARED_WARNED: set[str] = set()


def shared_folder(directory: Path) -> bool:
    """Whether others may write into `directory`: group/other writable and not sticky."""
    try:
        mode = os.stat(directory).st_mode
    except OSError:
        return False
    return bool(mode & 0o022) and not mode & stat.S_ISVTX


def warn_if_shared(directory: Path) -> None:
    """Warn once that a cache folder others may write into is trusted like the vector files.

    Why: an entry loads as the vectors it names, and a link planted at an entry's name
    was written through; writes now replace such links, but the entries read stay theirs.
    """
    key = os.path.realpath(directory)
    if key in _SHARED_WARNED or not shared_folder(directory):
        return
    _SHARED_WARNED.add(key)
    warnings.warn(
        f"the vecgraft cache folder {directory} is writable by other users (mode "
        f"{stat.S_IMODE(os.stat(directory).st_mode):o}, not sticky): whoever may write there "
        "decides what later loads return; use a folder only you can write "
        "(chmod go-w, or another --cache-dir)",
        stacklevel=2,
    )


def list_entries(directory: Path) -> list[CacheEntry]:
    """The entries in `directory`, most recently used first ([] for a missing folder)."""
    entries = []
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for path in Path(directory).iterdir():
            try:  # one removed meanwhile (`cache clear` elsewhere) ended the whole listing
                entry = _describe_any(path)
            except (FileNotFoundError, NotADirectoryError):
                continue
            if entry is not None:
                entries.append(entry)
    entries = [_mark_stale(e, entries) for e in entries]
    return sorted(entries, key=lambda e: (-e.last_used, e.path.name))


def _describe_any(path: Path) -> CacheEntry | None:
    """`path` as an entry or a killed fill's leftover; None for any other file."""
    if _ENTRY.match(path.name) and path.is_file():
        return _describe(path)
    if path.name.endswith(".tmp") and path.is_file():
        return _describe_leftover(path)
    return None


def _mark_stale(entry: CacheEntry, entries: list[CacheEntry]) -> CacheEntry:
    """`entry`, marked stale where it duplicates another entry under a symlink's name.

    Earlier versions named an entry after the path a load was given; a symlink's entry
    (its name's hash and stored path those of the link) is read by no load now, which
    resolves the link. It is marked only when its stored absolute path still resolves
    elsewhere and the real file has an entry of its own: anything else stays as it is.
    """
    stored = entry.source
    if entry.stale or stored is None or not os.path.isabs(stored):
        return entry
    named = Path(stored)
    try:
        real = source_path(named)
    except (OSError, RuntimeError):  # a symlink loop
        return entry
    if real == named or entry.path_tag != path_tag(named):
        return entry
    twins = [e for e in entries if e is not entry and not e.stale and caches(e, real)]
    if not twins:
        return entry
    twin = min(twins, key=lambda e: (e.subset is not None, e.path.name))  # a whole entry
    note = f"stale (duplicate of {twin.path.name})"
    subset = f"{entry.subset}, {note}" if entry.subset else note
    return replace(entry, subset=subset, stale=True)


def _describe(path: Path) -> CacheEntry | None:
    """`path` as a CacheEntry; None when it vanished meanwhile (a concurrent removal)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    if path.name.endswith(ROWS_SUFFIX):
        return _describe_rows(path, st)
    try:
        meta, damage = read_native_meta_and_damage(path)  # the header only: a few KB
    except FileNotFoundError:  # removed meanwhile (`cache clear` elsewhere)
        return None
    except (FormatError, OSError):
        return CacheEntry(path, None, None, st.st_size, st.st_mtime)
    entry = _mapping(meta.get("cache"))
    fmt = _mapping(meta.get("metadata")).get("format")
    listed = _older_version(_entry(path, st, entry.get("source"), fmt, _subset(entry)), entry)
    if damage is None:
        return listed
    note = f"damaged, {damage}; the next load replaces it"
    subset = f"{listed.subset}, {note}" if listed.subset else note
    return replace(listed, subset=subset, damaged=True)


def _describe_leftover(path: Path) -> CacheEntry | None:
    """A killed fill's temp file of an entry, as a CacheEntry; None for any other file.

    Why: after a `kill -9` during a fill, a temp file the size of the entry stayed that
    `list` did not show ("0 entries, 0B") and `clear --all` and `prune` left.
    """
    name = dead_writers_temp(path)
    if name is None or not _ENTRY.match(name):
        return None
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    note = "leftover of an interrupted fill: its process is gone"
    return CacheEntry(path, None, None, st.st_size, st.st_mtime, note, leftover=True)


def _describe_rows(path: Path, st: os.stat_result) -> CacheEntry:
    """A rows file (`io.cache_rows`): the rows a `vocab=` load keeps of a whole entry."""
    try:
        info = read_rows_info(path)
    except READ_ERRORS:
        return CacheEntry(path, None, None, st.st_size, st.st_mtime)
    bounds = _subset(info)
    subset = f"rows of {bounds}" if bounds else "rows"
    whole = info.get("whole")
    orphan = isinstance(whole, str) and not _whole_entry(path, whole).exists()
    if orphan:
        subset += ", orphan: its whole entry is gone"
    listed = _entry(path, st, info.get("source"), info.get("format"), subset)
    return _older_version(replace(listed, orphan=orphan), info)


def _older_version(listed: CacheEntry, header: dict[str, Any]) -> CacheEntry:
    """`listed`, marked stale where its `header` says an older cache version wrote it.

    Why: after a version change no load reads the older entries (their keys hold the
    version), yet `list` showed them like live ones and `prune` kept them. Entries before
    version 6 record none. A newer version's entry (a newer vecgraft's) stays as it is.
    """
    version = header.get("version")
    if isinstance(version, int) and not isinstance(version, bool):
        if version >= CACHE_VERSION:
            return listed
        note = f"stale: written by cache version {version}"
    else:
        note = f"stale: written by a cache version before {_FIRST_RECORDED}"
    subset = f"{listed.subset}, {note}" if listed.subset else note
    return replace(listed, subset=subset, stale=True)


def _whole_entry(rows: Path, whole_key: str) -> Path:
    """The whole entry a rows file indexes: its name's `<stem>-<tag>-` with the whole key."""
    prefix = rows.name.removesuffix(ROWS_SUFFIX).rsplit("-", 1)[0]
    return rows.with_name(f"{prefix}-{whole_key[:24]}.safetensors")


def _entry(
    path: Path, st: os.stat_result, source: Any, fmt: Any, subset: str | None
) -> CacheEntry:
    """A CacheEntry from what a file's header says (a value of the wrong type: unknown)."""
    return CacheEntry(
        path,
        source if isinstance(source, str) else None,
        fmt if isinstance(fmt, str) else None,
        st.st_size,
        st.st_mtime,
        subset,
    )


def _mapping(value: object) -> dict[str, object]:
    """`value` where it is a JSON object, else {} (a header written by other code)."""
    return value if isinstance(value, dict) else {}


def _subset(entry: dict[str, object]) -> str | None:
    """What bounded the load an entry holds ("vocab of 120 words", "limit 1000"), else None."""
    parts = []
    if entry.get("vocab_words") is not None:
        n = entry["vocab_words"]
        parts.append(f"vocab of {n} word{'' if n == 1 else 's'}")
    if entry.get("limit") is not None:
        parts.append(f"limit {entry['limit']}")
    return ", ".join(parts) or None


# an entry the system refused to remove, and why ("Permission denied", "Read-only file system")
Failure = tuple[CacheEntry, str]


def remove_entry(entry: CacheEntry, failed: list[Failure] | None = None) -> bool:
    """Whether `entry` was removed now; a refusal is added to `failed` (gone already: neither).

    Windows refuses to delete a file another process has mapped: that entry stays.
    """
    try:
        entry.path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        if failed is not None:
            failed.append((entry, exc.strerror or str(exc)))
        return False
    return True


def stored_source(path: Path) -> str:
    r"""`path` as an entry stores it: the bytes of a name that is not UTF-8 shown as `\xNN`.

    Why: the entry's JSON (UTF-8) cannot hold the surrogates Python decodes such bytes to,
    and writing it failed the load itself ("surrogates not allowed"). The name's path hash
    (`path_tag`) still tells such a path from one holding a real backslash.
    """
    text = str(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(text).decode("utf-8", "backslashreplace")
    return text


def source_path(source: str | os.PathLike[str]) -> Path:
    """A SOURCE as `clear` matches it: `~` expanded, absolute, symlinks resolved."""
    return Path(source).expanduser().resolve()


def caches(entry: CacheEntry, source: Path) -> bool:
    """Whether `entry` caches `source`, an absolute path (whether or not it still exists).

    The name's path hash says so for every entry, even one whose source was deleted or
    that stored the path as the user typed it (relative); a stored absolute path must agree.
    """
    if entry.path_tag != path_tag(source):
        return False
    stored = entry.source
    return stored is None or not os.path.isabs(stored) or stored == stored_source(source)


def clear_entries(
    directory: Path,
    sources: Iterable[str | os.PathLike[str]] | None = None,
    *,
    failed: list[Failure] | None = None,
) -> list[CacheEntry]:
    """Remove every entry (`sources` None) or the entries of those source files; the removed.

    A source is named as `load` was given it (relative to the working folder, `~` allowed);
    one entry per option set (a `vocab=`, a `limit=` load) goes with it. An entry the system
    refuses to remove (a read-only folder) is added to `failed` and the others still go.
    """
    wanted = None if sources is None else [source_path(s) for s in sources]
    return clear_listed(list_entries(directory), wanted, failed=failed)


def clear_listed(
    entries: list[CacheEntry],
    wanted: list[Path] | None,
    *,
    remove: Callable[[CacheEntry, list[Failure] | None], bool] = remove_entry,
    failed: list[Failure] | None = None,
) -> list[CacheEntry]:
    """`clear_entries` of `entries`: all (`wanted` None) or those caching a `wanted` path.

    `wanted` are resolved already (`source_path`). Why apart: `vecgraft cache clear` clears
    the entries it listed, of each cache, each removed its cache's way, and it resolves each
    SOURCE once for the clearing and for naming the SOURCEs nothing was found of. All of
    them leaves a `foreign` entry alone (`list` marks it so); one named in `wanted` is
    tried, and `remove` refuses it.
    """
    if wanted is not None:
        entries = [e for e in entries if any(caches(e, s) for s in wanted)]
    else:
        entries = removable(entries)
    return [e for e in entries if remove(e, failed)]


def removable(entries: list[CacheEntry]) -> list[CacheEntry]:
    """`entries` less the `foreign` ones, which `clear --all` and `prune` leave alone.

    Why: `cache list` marked a folder holding the user's files "left alone by clear and
    prune", and both then tried it and failed the command ("could not remove 1 entry").
    """
    return [e for e in entries if e.foreign is None]


def prune_entries(
    directory: Path,
    max_bytes: int,
    *,
    keep: Path | None = None,
    failed: list[Failure] | None = None,
) -> list[CacheEntry]:
    """Remove least recently used entries until the folder's entries total `max_bytes` or less.

    `keep` (the entry just written) is never removed, even when it alone is larger; an entry
    the system refuses to remove is added to `failed` and the next one is tried. Orphan rows
    files (their whole entry was removed meanwhile) go first, whatever the size.
    Stale entries (a symlink's duplicate) go with them. Returns the removed entries, oldest
    first. Leftovers of interrupted fills and damaged entries go first too.
    """
    return prune_listed(list_entries(directory), max_bytes, keep=keep, failed=failed)


def prune_listed(
    entries: list[CacheEntry],
    max_bytes: int,
    *,
    remove: Callable[[CacheEntry, list[Failure] | None], bool] = remove_entry,
    keep: Path | None = None,
    failed: list[Failure] | None = None,
) -> list[CacheEntry]:
    """`prune_entries` of `entries` (of one cache or several), each removed by `remove`.

    Why apart: `vecgraft cache prune` caps the load and segmentation caches together, least
    recently used first across both, and a segmentation cache is removed otherwise.
    A `foreign` entry is neither removed nor counted: the user's, not the cache's.
    """
    entries = removable(entries)
    total = sum(e.size for e in entries)
    removed = []
    # least recently used first, after the orphans and stale duplicates
    recent_first = sorted(entries, key=lambda e: (-e.last_used, e.path.name))  # as listed
    ordered = sorted(reversed(recent_first), key=lambda e: not _useless(e))
    for entry in ordered:
        if total <= max_bytes and not _useless(entry):
            break
        if keep is not None and entry.path == keep:
            continue
        if remove(entry, failed):
            removed.append(entry)
            total -= entry.size
        elif not entry.path.exists():  # another process removed it meanwhile
            total -= entry.size
    return removed


def _useless(entry: CacheEntry) -> bool:
    """Whether no load can use `entry`: orphan, stale duplicate, leftover or damaged."""
    return entry.orphan or entry.stale or entry.leftover or entry.damaged
