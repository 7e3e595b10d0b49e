"""`vecgraft cache`: list, clear and prune the load cache and the jieba segmentation cache."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from vecgraft.cli._options import add_enum_argument

if TYPE_CHECKING:
    from vecgraft.io.cache_admin import CacheEntry, Failure

DESCRIPTION = (
    "See and empty what vecgraft caches. The load cache (--kind vectors): the memory-mapped "
    "copy `load` keeps of each text or binary vector file it parsed (several GB for a large "
    "file). The jieba segmentation cache (--kind segments, rows of format `segments`): the "
    "segmented texts of each segmenter configuration (backend and version, HMM, user "
    "dictionary), one folder each in $VECGRAFT_SEGMENT_CACHE, else "
    "$XDG_CACHE_HOME/vecgraft/segments/. Both are seen by default; with --cache-dir, which "
    "names a load cache folder, only that folder is, unless --kind says otherwise. prune "
    "caps both together. Removing an entry is safe while other processes load or segment: "
    "one that has it open keeps reading it, the next one parses or segments again; a "
    "folder holding files the cache never writes is left as it is: list marks it, clear "
    "--all and prune skip it (prune counts it in no budget) and say how many they left. "
    "$VECGRAFT_CACHE_MAX_SIZE (e.g. 20G) prunes the load cache after each new entry."
)
EPILOG = """examples:
  vecgraft cache list                         # load cache entries, then segmentation caches
  vecgraft cache clear glove.6B.300d.txt      # that file's entries (every vocab=/limit=)
  vecgraft cache clear --all                  # both caches (--kind segments: jieba's only)
  vecgraft cache prune --max-size 5G          # least recently used go first, of both
  vecgraft cache list --kind segments
  vecgraft cache list --cache-dir /scratch/vgc
"""


class CacheAction(StrEnum):
    """What `vecgraft cache` does."""

    LIST = "list"
    CLEAR = "clear"
    PRUNE = "prune"


class CacheKind(StrEnum):
    """Which of vecgraft's caches `vecgraft cache` sees."""

    ALL = "all"
    VECTORS = "vectors"
    SEGMENTS = "segments"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """ACTION, SOURCE..., --all, --max-size, --kind, --cache-dir."""
    add_enum_argument(
        parser,
        "action",
        enum=CacheAction,
        help="list: each entry's source, format, size and last use (most recent first); "
        "clear: remove the entries of SOURCE files, or all with --all; prune: remove the "
        "least recently used until the caches together fit --max-size",
    )
    parser.add_argument(
        "sources",
        nargs="*",
        metavar="SOURCE",
        help="clear: vector files whose entries to remove (as loaded; they need not exist)",
    )
    parser.set_defaults(_late_positionals="sources")  # `clear --all foo` reaches the checks
    parser.add_argument("--all", action="store_true", help="clear: remove every entry")
    add_enum_argument(
        parser,
        "--kind",
        enum=CacheKind,
        help="vectors: the load cache; segments: the jieba segmentation cache; all: both "
        "(the default; vectors with --cache-dir)",
    )
    parser.add_argument(
        "--max-size",
        metavar="SIZE",
        help="prune: the size to shrink the caches --kind picks to, together, e.g. 5G, 500M, "
        "0 (binary units)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        help="load cache folder (default $XDG_CACHE_HOME/vecgraft); the segmentation "
        "cache's is $VECGRAFT_SEGMENT_CACHE",
    )


def _entries(n: int) -> str:
    """`1 entry`, `3 entries`."""
    return f"{n} entry" if n == 1 else f"{n} entries"


def _line(entry: CacheEntry) -> str:
    """One entry as a table row: size, last use, format, source (and what bounded it)."""
    from vecgraft.io.cache_admin import human_size

    used = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.last_used))
    what = "leftover" if entry.leftover else "unreadable entry"
    source = entry.source or f"({what} {entry.path.name})"
    bounded = f"  [{entry.subset}]" if entry.subset else ""
    # said before `clear` refuses it: a folder holding the user's files is left alone
    if entry.foreign:
        bounded += f"  [left alone by clear and prune: {entry.foreign}]"
    return f"{human_size(entry.size):>8}  {used}  {entry.format or '?':<12}  {source}{bounded}"


def _check_combination(args: argparse.Namespace) -> None:
    """Each action's own arguments only: `prune SOURCE` or `clear --max-size` is a slip.

    Usage errors (exit status 2, with the usage), as argparse's own are: they were 1.
    """
    from vecgraft.cli._options import UsageError

    if args.action != CacheAction.CLEAR and (args.sources or args.all):
        raise UsageError(f"`cache {args.action}` takes no SOURCE or --all (`cache clear` does)")
    if args.action != CacheAction.PRUNE and args.max_size is not None:
        raise UsageError(f"`cache {args.action}` takes no --max-size (`cache prune` does)")
    if args.action == CacheAction.CLEAR and bool(args.sources) == args.all:
        raise UsageError("`cache clear` takes SOURCE files or --all (one of the two)")
    if args.action == CacheAction.PRUNE and args.max_size is None:
        raise UsageError("`cache prune` needs --max-size SIZE (e.g. 5G, 500M)")
    if args.sources and args.kind == CacheKind.SEGMENTS:
        raise UsageError(
            "`cache clear --kind segments` takes --all, not SOURCE files (a SOURCE is a "
            "vector file; segmentation caches are per segmenter configuration)"
        )
    if args.cache_dir is not None and args.kind == CacheKind.SEGMENTS:
        raise UsageError(
            f"`cache {args.action} --kind segments` takes no --cache-dir (it names a load "
            "cache folder); set VECGRAFT_SEGMENT_CACHE to the segmentation cache's folder"
        )


def _max_bytes(text: str) -> int:
    """--max-size in bytes; a bad SIZE names the flag and the forms it takes."""
    from vecgraft._util.options import parse_size
    from vecgraft.errors import OptionError

    try:
        return parse_size(text)
    except ValueError:
        rule = "a size: bytes or a number with K, M, G, T (e.g. 500M, 5G)"
        raise OptionError.out_of_range("max_size", rule, repr(text)) from None


def run(args: argparse.Namespace) -> int:
    """Do the action on each cache `--kind` picks; print the entries it lists or removed."""
    _check_combination(args)
    caches = _caches(args)
    if args.action == CacheAction.LIST:
        for cache in caches:
            for entry in cache.entries:
                print(_line(entry))
            print(f"{cache.count(len(cache.entries))}, {_size(cache.entries)} in {cache.folder}")
        return 0
    failed: list[Failure] = []
    wanted = _wanted(args)
    removed = _remove(args, caches, wanted, failed)
    after = [cache.listed() for cache in caches]  # what each holds now
    held = sum(e.size for entries in after for e in entries)
    over = args.action == CacheAction.CLEAR or held > _max_bytes(args.max_size)
    for cache, now in zip(caches, after):
        mine = {e.path for e in cache.entries}
        gone = [e for e in removed if e.path in mine]
        for entry in gone:
            print(f"removed {_line(entry).lstrip()}")
        if args.action == CacheAction.CLEAR and not args.all and cache.kind == CacheKind.VECTORS:
            _say_unmatched(args.sources, wanted, [*gone, *(e for e, _ in failed)], cache.folder)
        left = _size(now)
        print(f"removed {cache.count(len(gone))} ({_size(gone)}); {left} left in {cache.folder}")
        if wanted is None and over:  # prune: only where they keep the caches over its SIZE
            _say_left_alone(cache)
    if failed:
        _refuse_failures(failed)
    return 0


@dataclass(frozen=True)
class _Cache:
    """One of vecgraft's caches as `vecgraft cache` handles it: where, what, how removed."""

    kind: CacheKind
    folder: Path
    entries: list[CacheEntry]  # as listed when the command began
    listed: Callable[[], list[CacheEntry]]
    remove: Callable[[CacheEntry, list[Failure] | None], bool]
    count: Callable[[int], str]  # "3 entries", "1 segmentation cache"


def _caches(args: argparse.Namespace) -> list[_Cache]:
    """The caches `--kind` picks (default: both; the load cache alone with --cache-dir).

    A segmentation cache with no entries is left out unless asked for by name, so the
    output of a machine that never segmented Chinese is the load cache's alone, as before;
    so is it for `clear SOURCE`, whose SOURCEs are vector files.
    """
    kind = args.kind or (CacheKind.VECTORS if args.cache_dir is not None else CacheKind.ALL)
    caches = []
    if kind in (CacheKind.ALL, CacheKind.VECTORS):
        caches.append(_load_cache(args.cache_dir))
    if kind == CacheKind.SEGMENTS or (kind == CacheKind.ALL and not args.sources):
        segments = _segment_cache(named=kind == CacheKind.SEGMENTS)
        if segments is not None and (segments.entries or kind == CacheKind.SEGMENTS):
            caches.append(segments)
    return caches


def _load_cache(cache_dir: Path | None) -> _Cache:
    from vecgraft.io import cache_admin

    folder = cache_admin.cache_folder(cache_dir)
    cache_admin.check_folder(folder)
    cache_admin.warn_if_shared(folder)
    return _Cache(
        CacheKind.VECTORS,
        folder,
        cache_admin.list_entries(folder),
        lambda: cache_admin.list_entries(folder),
        cache_admin.remove_entry,
        _entries,
    )


def _segment_cache(*, named: bool) -> _Cache | None:
    """The jieba segmentation cache; None when it is off (an error where `named`)."""
    import os

    from vecgraft.errors import ConfigError
    from vecgraft.io.cache_admin import check_folder
    from vecgraft.text import segment_admin
    from vecgraft.text.segment import default_segment_cache_dir

    folder = default_segment_cache_dir()
    if folder is None:
        if not named:
            return None
        value = os.environ.get("VECGRAFT_SEGMENT_CACHE")
        raise ConfigError(
            f"`--kind segments`: the segmentation cache is off ($VECGRAFT_SEGMENT_CACHE="
            f"{value!r}); set it to the cache folder to manage, or unset it for the default"
        )
    check_folder(folder)
    return _Cache(
        CacheKind.SEGMENTS,
        folder,
        segment_admin.segment_entries(folder),
        lambda: segment_admin.segment_entries(folder),
        segment_admin.remove_segment_entry,
        _segment_caches,
    )


def _wanted(args: argparse.Namespace) -> list[Path] | None:
    """`clear SOURCE...`: each SOURCE resolved once, for clearing and for saying what was not.

    None where every entry goes (`--all`) or nothing is cleared (`list`, `prune`).
    """
    from vecgraft.io.cache_admin import source_path

    if args.action != CacheAction.CLEAR or args.all:
        return None
    return [source_path(s) for s in args.sources]


def _remove(
    args: argparse.Namespace,
    caches: list[_Cache],
    wanted: list[Path] | None,
    failed: list[Failure],
) -> list[CacheEntry]:
    """The entries `clear` or `prune` removed, of all `caches` (prune: one budget for all).

    `clear` removes every entry, or with SOURCE files (`wanted`, resolved) the load
    cache's entries of them.
    """
    from vecgraft.io import cache_admin

    if args.action == CacheAction.PRUNE:
        owner = {e.path: cache for cache in caches for e in cache.entries}
        return cache_admin.prune_listed(
            [e for cache in caches for e in cache.entries],
            _max_bytes(args.max_size),
            remove=lambda entry, failed: owner[entry.path].remove(entry, failed),
            failed=failed,
        )
    return [
        entry
        for cache in caches
        for entry in cache_admin.clear_listed(
            cache.entries, wanted, remove=cache.remove, failed=failed
        )
    ]


def _size(entries: list[CacheEntry]) -> str:
    from vecgraft.io.cache_admin import human_size

    return human_size(sum(e.size for e in entries))


def _segment_caches(n: int) -> str:
    """`1 segmentation cache`, `3 segmentation caches`."""
    return f"{n} segmentation cache" if n == 1 else f"{n} segmentation caches"


def _say_unmatched(
    sources: list[str], wanted: list[Path] | None, touched: list[CacheEntry], folder: Path
) -> None:
    """Name each SOURCE no entry was found of, with the path it was resolved to (`wanted`).

    Why: "removed 0 entries" did not say whether the name was wrong (another folder, a
    typo); finding nothing to clear is not an error (exit 0), as an empty `list` is not.
    """
    from vecgraft.io.cache_admin import caches

    for source, resolved in zip(sources, wanted or ()):
        if not any(caches(entry, resolved) for entry in touched):
            print(f"no entries of {source} (resolved: {resolved}) in {folder}")


def _say_left_alone(cache: _Cache) -> None:
    """One note for the foreign folders `clear --all` or `prune` left (none: no note)."""
    import sys

    alone = [e for e in cache.entries if e.foreign]
    if alone:
        what, hold = ("folder", "it holds") if len(alone) == 1 else ("folders", "they hold")
        print(
            f"note: left {len(alone)} foreign {what} alone in {cache.folder} ({hold} what "
            "the cache never writes; `cache list` says what)",
            file=sys.stderr,
        )


def _refuse_failures(failed: list[Failure]) -> None:
    """Fail the command naming each entry the system would not remove, and why."""
    from vecgraft.errors import VecgraftError

    what = "; ".join(f"{entry.path} ({reason})" for entry, reason in failed)
    raise VecgraftError(f"could not remove {_entries(len(failed))}: {what}")
