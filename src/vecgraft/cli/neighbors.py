"""`vecgraft neighbors`: nearest words by cosine similarity."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from vecgraft._util.console import ljust, printable, width
from vecgraft.cli._vectors_args import add_load_arguments, load_from_args
from vecgraft.errors import VecgraftError
from vecgraft.vectors import Vectors

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


def _case_hint(vectors: Vectors, missing: list[str], most: int = 3) -> str:
    """"; found as 'King'" when a missing word is in the vectors with other letter case.

    Lookups are exact (GloVe is lowercase, word2vec and fastText keep case), so `King`
    against GloVe is missing although `king` is there; saying so beats a bare "not in".
    """
    wanted = {w.casefold(): w for w in missing}
    found: dict[str, list[str]] = {}
    for w in vectors.words:
        key = w.casefold()
        if key in wanted and len(found.setdefault(key, [])) < most:
            found[key].append(w)
    if not found:
        return ""
    shown = "; ".join(
        f"{printable(wanted[key])} is there as {', '.join(repr(printable(v)) for v in variants)}"
        for key, variants in found.items()
    )
    return f" ({shown}: lookups are case-sensitive)"


def _spelling_hint(vectors: Vectors, missing: list[str], most: int = 3) -> str:
    """" ('kingg': did you mean 'king', 'kings'?)" for missing words the vectors spell close.

    Only words with the same first letter (any case) and a length within two characters are
    compared (difflib over all 400k words of GloVe would take seconds); the file's order
    (most frequent first, in GloVe and word2vec files) breaks ties.
    """
    import difflib

    shown = []
    for word in missing:
        if not word:
            continue
        first, size = word[0].casefold(), len(word)
        pool = [w for w in vectors.words
                if w and abs(len(w) - size) <= 2 and w[0].casefold() == first]  # fmt: skip
        close = difflib.get_close_matches(word, pool, n=most, cutoff=0.75)
        if close:
            names = ", ".join(repr(printable(w)) for w in close)
            shown.append(f"{printable(word)!r}: did you mean {names}?")
    return f" ({'; '.join(shown)})" if shown else ""


def _hint(vectors: Vectors, missing: list[str]) -> str:
    """Say where missing words are: in another letter case, else spelled close."""
    case = _case_hint(vectors, missing)
    return case or _spelling_hint(vectors, missing)


def run(args: argparse.Namespace) -> int:
    """Print a ranked table per query word."""
    if args.k < 1:
        raise VecgraftError(f"-k must be at least 1, got {args.k}")
    vectors = load_from_args(args, args.file)
    missing = [w for w in args.words if w not in vectors and vectors.get(w) is None]
    if len(missing) == len(args.words):
        raise VecgraftError(
            f"{', '.join(map(repr, missing))}: not in {args.file} ({len(vectors)} words, "
            f"no subwords){_hint(vectors, missing)}"
        )
    for n, word in enumerate(args.words):  # the others' tables, not an error for one word
        if n:
            print()
        if word in missing:
            print(f"{printable(word)} (not in the vectors){_hint(vectors, [word])}")
            continue
        near = vectors.most_similar(word, args.k)
        note = "" if word in vectors else " (unseen: built from subwords)"
        if not near and not np.asarray(vectors[word]).any():
            note = " (a zero vector: no direction, so no neighbours)"
        print(f"{printable(word)}{note}")
        # one column width for the table, counted in terminal cells (CJK characters are 2)
        shown = [printable(other) for other, _ in near]
        column = max([24, *(width(s) for s in shown)])
        for rank, (other, (_, score)) in enumerate(zip(shown, near), 1):
            print(f"  {rank:>3}  {ljust(other, column)} {score:.4f}")
    return 1 if missing else 0
