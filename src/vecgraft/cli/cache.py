"""`vecgraft cache`: list the load cache's entries, clear them, prune it to a size."""

from __future__ import annotations

import argparse
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from vecgraft.cli._options import add_enum_argument

if TYPE_CHECKING:
    from vecgraft.io.cache_admin import CacheEntry, Failure

DESCRIPTION = (
    "See and empty the load cache: the memory-mapped copy `load` keeps of each text or binary "
    "vector file it parsed (several GB for a large file). Removing an entry is safe while "
    "other processes load: a load that has it open keeps reading it, the next one parses "
    "the file again. $VECGRAFT_CACHE_MAX_SIZE (e.g. 20G) prunes after each new entry. "
    "The jieba segmentation cache ($XDG_CACHE_HOME/vecgraft/segments/) is neither listed nor "
    "pruned: remove that folder to clear it."
)
EPILOG = """examples:
  vecgraft cache list
  vecgraft cache clear glove.6B.300d.txt      # that file's entries (every vocab=/limit=)
  vecgraft cache clear --all
  vecgraft cache prune --max-size 5G          # least recently used go first
  vecgraft cache list --cache-dir /scratch/vgc
"""


class CacheAction(StrEnum):
    """What `vecgraft cache` does."""

    LIST = "list"
    CLEAR = "clear"
    PRUNE = "prune"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """ACTION, SOURCE..., --all, --max-size, --cache-dir."""
    add_enum_argument(
        parser,
        "action",
        enum=CacheAction,
        help="list: each entry's source, format, size and last use (most recent first); "
        "clear: remove the entries of SOURCE files, or all with --all; prune: remove the "
        "least recently used until the cache fits --max-size",
    )
    parser.add_argument(
        "sources",
        nargs="*",
        metavar="SOURCE",
        help="clear: vector files whose entries to remove (as loaded; they need not exist)",
    )
    parser.set_defaults(_late_positionals="sources")  # `clear --all foo` reaches the checks
    parser.add_argument("--all", action="store_true", help="clear: remove every entry")
    parser.add_argument(
        "--max-size",
        metavar="SIZE",
        help="prune: the size to shrink the cache to, e.g. 5G, 500M, 0 (binary units)",
    )
    parser.add_argument(
        "--cache-dir", type=Path, help="cache folder (default $XDG_CACHE_HOME/vecgraft)"
    )


def _entries(n: int) -> str:
    """`1 entry`, `3 entries`."""
    return f"{n} entry" if n == 1 else f"{n} entries"


def _line(entry: CacheEntry) -> str:
    """One entry as a table row: size, last use, format, source (and what bounded it)."""
    from vecgraft.io.cache_admin import human_size

    used = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.last_used))
    source = entry.source or f"(unreadable entry {entry.path.name})"
    bounded = f"  [{entry.subset}]" if entry.subset else ""
    return f"{human_size(entry.size):>8}  {used}  {entry.format or '?':<12}  {source}{bounded}"


def _check_combination(args: argparse.Namespace) -> None:
    """Each action's own arguments only: `prune SOURCE` or `clear --max-size` is a slip."""
    from vecgraft.errors import ConfigError

    if args.action != CacheAction.CLEAR and (args.sources or args.all):
        raise ConfigError(f"`cache {args.action}` takes no SOURCE or --all (`cache clear` does)")
    if args.action != CacheAction.PRUNE and args.max_size is not None:
        raise ConfigError(f"`cache {args.action}` takes no --max-size (`cache prune` does)")
    if args.action == CacheAction.CLEAR and bool(args.sources) == args.all:
        raise ConfigError("`cache clear` takes SOURCE files or --all (one of the two)")
    if args.action == CacheAction.PRUNE and args.max_size is None:
        raise ConfigError("`cache prune` needs --max-size SIZE (e.g. 5G, 500M)")


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
    """Do the action and print the entries it lists or removed, then the total."""
    from vecgraft.io import cache_admin

    _check_combination(args)
    folder = cache_admin.cache_folder(args.cache_dir)
    cache_admin.check_folder(folder)
    if args.action == CacheAction.LIST:
        entries = cache_admin.list_entries(folder)
        for entry in entries:
            print(_line(entry))
        total = sum(e.size for e in entries)
        print(f"{_entries(len(entries))}, {cache_admin.human_size(total)} in {folder}")
        return 0
    failed: list[cache_admin.Failure] = []
    if args.action == CacheAction.CLEAR:
        sources = None if args.all else args.sources
        removed = cache_admin.clear_entries(folder, sources, failed=failed)
    else:
        removed = cache_admin.prune_entries(folder, _max_bytes(args.max_size), failed=failed)
    for entry in removed:
        print(f"removed {_line(entry).lstrip()}")
    if args.action == CacheAction.CLEAR and not args.all:
        _say_unmatched(args.sources, [*removed, *(entry for entry, _ in failed)], folder)
    gone = cache_admin.human_size(sum(e.size for e in removed))
    left = cache_admin.human_size(sum(e.size for e in cache_admin.list_entries(folder)))
    print(f"removed {_entries(len(removed))} ({gone}); {left} left in {folder}")
    if failed:
        _refuse_failures(failed)
    return 0


def _say_unmatched(sources: list[str], touched: list[CacheEntry], folder: Path) -> None:
    """Name each SOURCE no entry was found of, with the path it was resolved to.

    Why: "removed 0 entries" did not say whether the name was wrong (another folder, a
    typo); finding nothing to clear is not an error (exit 0), as an empty `list` is not.
    """
    from vecgraft.io.cache_admin import caches, source_path

    for source in sources:
        resolved = source_path(source)
        if not any(caches(entry, resolved) for entry in touched):
            print(f"no entries of {source} (resolved: {resolved}) in {folder}")


def _refuse_failures(failed: list[Failure]) -> None:
    """Fail the command naming each entry the system would not remove, and why."""
    from vecgraft.errors import VecgraftError

    what = "; ".join(f"{entry.path} ({reason})" for entry, reason in failed)
    raise VecgraftError(f"could not remove {_entries(len(failed))}: {what}")
