"""`vecgraft convert`: rewrite a vector file in another format."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from vecgraft.cli._options import add_no_progress_argument
from vecgraft.cli._vectors_args import add_load_arguments, load_from_args, read_word_list

DESCRIPTION = "Convert a vector file to glove, word2vec (text), word2vec-bin or native."
EPILOG = """examples:
  vecgraft convert glove.6B.300d.txt glove300.safetensors --to native
  vecgraft convert GoogleNews-vectors-negative300.bin.gz gn.txt --to word2vec --limit 100000
  vecgraft convert wiki.en.vec wiki-bbc.bin --to word2vec-bin --vocab emb/vocab.json
  vecgraft convert glove.6B.300d.txt glove300.vec.gz --to word2vec   # .gz/.bz2/.xz compress
  vecgraft convert emb.vec emb.vec --to word2vec --overwrite   # replace an existing file
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """IN, OUT, --to, --vocab and the shared load options."""
    from vecgraft.io import WRITERS

    parser.add_argument("input", type=Path, help="vector file or folder to read")
    parser.add_argument(
        "output",
        help="file to write (atomically; missing parent folders are made, as export's and "
        "evaluate's outputs make theirs); --to native also takes a folder (FOLDER/ is made "
        "if missing) and writes FOLDER/vectors.safetensors",
    )
    parser.add_argument("--to", required=True, choices=list(WRITERS), help="output format")
    parser.add_argument(
        "--vocab",
        type=Path,
        help="keep only the rows of this vocab.json / word list's words (a folder: its "
        "vocab.json, or a run folder's best/vocab.json) and of their other-case forms (The, "
        "THE for the: what align's case-folded match can use)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace OUTPUT if it exists (default: refuse)"
    )
    parser.add_argument(
        "--allow-spaces",
        action="store_true",
        help="--to glove/word2vec: write words holding a space (GloVe 840B has some), which "
        "vecgraft reads back and gensim does not (default: refuse them)",
    )
    add_no_progress_argument(
        parser, help="no progress bar or lines while the file is read and written (default: a "
        "bar on a terminal, a line every few seconds of the write in a pipe or log file)",
    )  # fmt: skip
    add_load_arguments(parser)


def _target(args: argparse.Namespace) -> Path:
    """The file OUTPUT names: a native folder's vectors.safetensors; '-' is refused.

    OUTPUT '-' wrote a file named '-', and 'out/' a file named 'out' (a Path drops the
    slash): a folder is what the user meant.
    """
    from vecgraft.errors import ConfigError

    raw: str = args.output
    if raw == "-":
        raise ConfigError("OUTPUT '-': convert writes a file, not standard output; name a file")
    target = Path(raw).expanduser()
    folder = raw.endswith(("/", os.sep)) or target.is_dir()
    if folder and args.to != "native":
        raise ConfigError(f"{raw}: is a folder, not a file")
    return target / "vectors.safetensors" if folder else target


def _refuse_existing(args: argparse.Namespace) -> None:
    """Stop before reading anything when OUTPUT exists and --overwrite was not given.

    A typo in OUTPUT (the input's name, a file of another run) silently replaced a file that
    may be the only copy; a native save into a folder writes `<folder>/vectors.safetensors`.
    """
    from vecgraft.errors import ConfigError

    target = _target(args)
    if args.overwrite or not (target.exists() or target.is_symlink()) or target.is_dir():
        return  # a folder is refused by the writer, which says so
    same = args.input.exists() and target.resolve() == args.input.expanduser().resolve()
    what = "is the input file" if same else "exists"
    raise ConfigError(f"{target}: {what}; pass --overwrite to replace it, or choose another OUTPUT")


def run(args: argparse.Namespace) -> int:
    """Load, optionally filter, save."""
    from vecgraft.io import save

    _refuse_existing(args)
    target = _target(args)
    vocab = read_word_list(args.vocab)[0] if args.vocab else None
    vectors = load_from_args(args, args.input, vocab=vocab)
    if target.parent == Path(args.output).expanduser():  # a native folder, made if missing
        target.parent.mkdir(parents=True, exist_ok=True)
    # rows kept by --allow-nonfinite are written as they were read
    save(vectors, target, format=args.to, allow_spaces=args.allow_spaces,
         allow_nonfinite=args.allow_nonfinite, progress=args.progress)  # fmt: skip
    print(f"wrote {len(vectors)} x {vectors.dim} vectors to {target} ({args.to})")
    if vectors.has_subwords and args.to != "native":
        print("note: subword n-grams are kept only by --to native")
    return 0
