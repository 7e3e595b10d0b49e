"""`vecgraft info`: a vector file's format, size, sample rows and vocabulary coverage."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from vecgraft._util.console import ljust, printable
from vecgraft.cli._vectors_args import add_load_arguments, load_from_args, read_word_list
from vecgraft.vectors import Vectors

DESCRIPTION = "Show a vector file's format, size, sample rows and vocabulary coverage."
EPILOG = """examples:
  vecgraft info glove.6B.50d.txt
  vecgraft info cc.en.300.bin --vocab runs/bbc/best/vocab.json
  vecgraft info cc.en.300.bin --vocab emb/       # a build (or run) folder: its vocab.json
  vecgraft info GoogleNews-vectors-negative300.bin.gz --rows 3
"""

# --vocab reports coverage; it does not load fewer rows as load(vocab=) does
OPTION_FLAGS = {"vocab": None}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """FILE, --vocab, --rows and the shared load options."""
    parser.add_argument("file", type=Path, help="vector file or folder")
    parser.add_argument(
        "--vocab",
        type=Path,
        help="vocab.json, a file of one word or 'word count' per line, or a folder holding "
        "a vocab.json (a build output; a run folder's best/): report its coverage",
    )
    parser.add_argument("--rows", type=int, default=5, help="sample rows to show (default 5)")
    add_load_arguments(parser)


def _row(word: str, vec: np.ndarray, width: int = 6) -> str:
    values = " ".join(f"{x: .4f}" for x in vec[:width])
    more = " ..." if vec.shape[0] > width else ""
    return f"  {ljust(printable(word[:24]), 24)} {values}{more}"


def _coverage(vectors: Vectors, words: list[str], counts: dict[str, int]) -> list[str]:
    exact = [w for w in words if w in vectors]
    folded = {w.casefold() for w in vectors.words} if len(exact) < len(words) else set()
    loose = [w for w in words if w in vectors or w.casefold() in folded]
    n = max(len(words), 1)
    lines = [
        f"  types:    {len(exact)}/{len(words)} exact ({100 * len(exact) / n:.1f}%), "
        f"{len(loose)}/{len(words)} with case folding ({100 * len(loose) / n:.1f}%)"
    ]
    total = sum(counts.values())
    if total:
        hit = sum(counts.get(w, 0) for w in exact)
        lines.append(f"  tokens:   {hit}/{total} exact ({100 * hit / total:.1f}%)")
    if vectors.has_subwords:
        lines.append("  subwords: every word gets a vector from character n-grams")
    missing = [w for w in sorted(words, key=lambda w: -counts.get(w, 0)) if w not in vectors][:10]
    if missing:
        lines.append(f"  missing:  {', '.join(printable(w) for w in missing)}")
    return lines


def run(args: argparse.Namespace) -> int:
    """Load the file and print the summary."""
    # a bad --vocab is reported before the vector file is read, not after
    listed = read_word_list(args.vocab) if args.vocab is not None else None
    vectors = load_from_args(args, args.file)
    meta = vectors.metadata
    print(f"file:     {args.file}")
    print(f"format:   {meta.get('format', 'unknown')}{'' if args.format else ' (detected)'}")
    print(f"rows:     {len(vectors)}")
    print(f"dim:      {vectors.dim}")
    if vectors.subword is not None:
        cfg: dict[str, object] = getattr(vectors.subword, "config", dict)()
        detail = ", ".join(f"{k} {v}" for k, v in cfg.items() if k != "kind")
        print(f"subwords: yes ({detail})" if detail else "subwords: yes")
    for key in ("header_count", "duplicates", "skipped_rows", "unicode_replacements"):
        if meta.get(key) is not None:  # a GloVe file has no header: no "header count: None"
            print(f"{key.replace('_', ' ')}: {meta[key]}")
    if meta.get("unicode_errors"):  # the text readers' name for the same count
        print(f"unicode replacements: {meta['unicode_errors']}")
    if meta.get("stray_boms"):  # BOMs starting later lines (files joined with `cat`), dropped
        print(f"stray BOMs dropped: {meta['stray_boms']}")
    if "cache" in meta:
        if meta["cache"]:
            print(f"cache:    {meta['cache']}")
        else:
            print(f"cache:    not written ({meta.get('cache_error') or 'unknown reason'})")
    if args.rows > 0 and len(vectors):
        print("sample:")
        for i in range(min(args.rows, len(vectors))):
            print(_row(vectors.words[i], np.asarray(vectors.matrix[i])))
    if listed is not None:
        words, counts = listed
        print(f"coverage of {args.vocab} ({len(words)} words):")
        for line in _coverage(vectors, words, counts):
            print(line)
    return 0
