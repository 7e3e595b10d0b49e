"""`vecgraft neighbors`: nearest words by cosine similarity."""

from __future__ import annotations

import argparse
from pathlib import Path

from vecgraft._util.console import ljust, printable, width
from vecgraft.cli._vectors_args import add_load_arguments, load_from_args
from vecgraft.errors import VecgraftError

DESCRIPTION = "Nearest neighbours of words by cosine similarity."
EPILOG = """examples:
  vecgraft neighbors glove.6B.50d.txt king
  vecgraft neighbors cc.en.300.bin vecgraftish -k 5     # fastText: unseen words work too
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """FILE, WORD..., -k and the shared load options."""
    parser.add_argument("file", type=Path, help="vector file or folder")
    parser.add_argument("words", nargs="+", metavar="WORD", help="query word(s)")
    parser.add_argument("-k", type=int, default=10, help="neighbours per word (default 10)")
    add_load_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Print a ranked table per query word."""
    if args.k < 1:
        raise VecgraftError(f"-k must be at least 1, got {args.k}")
    vectors = load_from_args(args, args.file)
    missing = [w for w in args.words if w not in vectors and vectors.get(w) is None]
    if len(missing) == len(args.words):
        raise VecgraftError(
            f"{', '.join(map(repr, missing))}: not in {args.file} ({len(vectors)} words, "
            "no subwords)"
        )
    for n, word in enumerate(args.words):  # the others' tables, not an error for one word
        if n:
            print()
        if word in missing:
            print(f"{printable(word)} (not in the vectors)")
            continue
        near = vectors.most_similar(word, args.k)
        note = "" if word in vectors else " (unseen: built from subwords)"
        print(f"{printable(word)}{note}")
        # one column width for the table, counted in terminal cells (CJK characters are 2)
        shown = [printable(other) for other, _ in near]
        column = max([24, *(width(s) for s in shown)])
        for rank, (other, (_, score)) in enumerate(zip(shown, near), 1):
            print(f"  {rank:>3}  {ljust(other, column)} {score:.4f}")
    return 1 if missing else 0
