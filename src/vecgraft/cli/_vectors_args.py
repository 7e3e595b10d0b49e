"""Options shared by the subcommands that read a vector file (info, convert, neighbors)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vecgraft.errors import VocabError
from vecgraft.vectors import Vectors


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    """--format, --limit, --trust, --no-cache, --cache-dir, --unicode-errors, --skip-bad-rows."""
    from vecgraft._util.policies import UnicodeErrors
    from vecgraft.cli._options import add_enum_argument, param_default
    from vecgraft.io import FORMATS, load

    group = parser.add_argument_group("reading the vector file")
    group.add_argument(
        "--format",
        choices=list(FORMATS),
        metavar="FORMAT",
        help=f"skip detection, read as this format: {', '.join(FORMATS)}",
    )
    group.add_argument("--limit", type=int, help="read only the first N rows")
    group.add_argument(
        "--trust", action="store_true", help="allow gensim pickles (they can run code)"
    )
    group.add_argument(
        "--no-cache", action="store_true", help="do not read or write the load cache"
    )
    group.add_argument(
        "--cache-dir", type=Path, help="cache folder (default $XDG_CACHE_HOME/vecgraft)"
    )
    add_enum_argument(
        group,
        "--unicode-errors",
        enum=UnicodeErrors,
        default=param_default(load, "unicode_errors"),
        help="what to do with words that are not valid UTF-8",
    )
    group.add_argument(
        "--skip-bad-rows", action="store_true", help="drop bad rows instead of failing"
    )
    group.add_argument("--allow-nonfinite", action="store_true", help="keep rows holding NaN/Inf")


def load_from_args(
    args: argparse.Namespace, path: Path | str, vocab: list[str] | None = None
) -> Vectors:
    """`vecgraft.load` with the options parsed by `add_load_arguments`."""
    from vecgraft.io import load

    return load(
        path,
        format=args.format,
        vocab=vocab,
        limit=args.limit,
        cache=not args.no_cache,
        cache_dir=args.cache_dir,
        unicode_errors=args.unicode_errors,
        bad_rows="skip" if args.skip_bad_rows else "error",
        allow_nonfinite=args.allow_nonfinite,
        trust=args.trust,
    )


def read_word_list(path: Path) -> tuple[list[str], dict[str, int]]:
    """Words (and counts, when known) from a vecgraft vocab.json or a one-word-per-line file.

    Special tokens of a vocab.json (<pad>, <unk>) are left out: no vector file has them.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise VocabError(f"{path}: cannot read vocabulary file ({exc})") from exc
    if path.suffix == ".json":
        from vecgraft.text.vocab import Vocab

        try:
            vocab = Vocab.from_dict(json.loads(text), source=str(path))
        except json.JSONDecodeError as exc:
            raise VocabError(f"{path}: not valid JSON ({exc})") from exc
        specials = set(vocab.specials)
        words = [t for t in vocab.tokens if t not in specials]
        return words, {w: vocab.count(w) for w in words}
    words = [line.strip() for line in text.splitlines()]
    return [w for w in dict.fromkeys(words) if w], {}
