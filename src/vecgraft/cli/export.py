"""`vecgraft export`: vectors, a built embedding or a fine-tuned model for other tools."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vecgraft.cli._options import output_path
from vecgraft.cli._vectors_args import add_load_arguments, load_options, trust_flag_errors

DESCRIPTION = (
    "Export SOURCE (a vector file, a `vecgraft build` folder or a fine-tuning run folder) as a\n"
    "model2vec / sentence-transformers static model, TensorBoard projector files, or word2vec\n"
    "text/binary for gensim."
)
EPILOG = """examples:
  vecgraft export runs/cnn --to model2vec --out cnn-static/
  vecgraft export emb/ --to projector --out projector/      # metadata.tsv has the rule per row
  vecgraft export glove.6B.50d.txt --to model2vec --out glove-static/ --lower
  vecgraft export emb/ --to word2vec-bin --out emb.bin
  vecgraft export emb/ --to word2vec --out emb.vec --overwrite   # replace an existing file
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """SOURCE, --to, --out, the tokenizer options for model2vec and the load options."""
    from vecgraft.cli._options import add_no_progress_argument
    from vecgraft.cli._text_args import add_tokenizer_argument
    from vecgraft.evaluate.export import ExportTarget

    parser.add_argument(
        "source", type=Path, help="vector file, `vecgraft build` folder or fine-tuning run folder"
    )
    parser.add_argument(
        "--to", required=True, choices=[t.value for t in ExportTarget], help="what to write"
    )
    parser.add_argument(
        "--out",
        required=True,
        type=output_path("export", "a file or folder", Path),
        help="file to write (word2vec, word2vec-bin), or folder: new, empty or an earlier "
        "export of the same kind, which is replaced whole (model2vec, projector)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="word2vec, word2vec-bin: replace --out if it exists (default: refuse)",
    )
    group = parser.add_argument_group("model2vec")
    add_tokenizer_argument(
        group, help="tokenizer to export (default: the one recorded with SOURCE, else regex)"
    )
    group.add_argument(
        "--lower",
        action="store_true",
        help="lowercase (with --tokenizer, or for a vector file; a build or run folder, "
        "and vectors from vecgraft pretrain, record their own tokenizer)",
    )
    group.add_argument("--normalize", action="store_true", help="L2-normalise sentence embeddings")
    add_no_progress_argument(parser)
    add_load_arguments(parser)


def _refuse_existing(args: argparse.Namespace) -> None:
    """Stop before reading anything when a file --out exists and --overwrite was not given.

    `vecgraft convert` refuses so; export replaced any file named as --out without a word
    (a typo'd vector file, the source itself). A folder --out is checked by the folder
    writers (an earlier export of the same kind is replaced whole, anything else refused).
    """
    from vecgraft.errors import ConfigError
    from vecgraft.evaluate.export import ExportTarget

    out: Path = args.out.expanduser()
    folders = (ExportTarget.MODEL2VEC, ExportTarget.PROJECTOR)
    if args.overwrite or args.to in folders or out.is_dir():
        return  # a folder is refused by the writer, which says so
    if not (out.exists() or out.is_symlink()):
        return
    same = args.source.exists() and out.resolve() == args.source.expanduser().resolve()
    what = "is the source file" if same else "exists"
    raise ConfigError(f"{out}: {what}; pass --overwrite to replace it, or choose another --out")


def run(args: argparse.Namespace) -> int:
    """Resolve SOURCE, export, print what was written.

    A run folder is held (`read_lock`, shared, as `evaluate` holds it) from reading its
    checkpoint to writing --out: one that a run is writing is refused at once, and a
    `finetune --overwrite` or `--resume` into it meanwhile fails at once. Unheld, export
    read whatever checkpoint was there mid-run (set aside, or half replaced), and its jieba
    dictionary is read again while --out is written.
    """
    from vecgraft.evaluate.export import held_folder
    from vecgraft.finetune.rundir import read_lock

    _refuse_existing(args)
    with read_lock(held_folder(args.source.expanduser())):
        return _export(args)


def _export(args: argparse.Namespace) -> int:
    """`run`'s work, SOURCE's folder held."""
    from vecgraft.cli._text_args import single_tokenizer
    from vecgraft.errors import ConfigError
    from vecgraft.evaluate.export import SourceKind, export, held_read_source
    from vecgraft.text.tokenize import Tokenizer

    # before SOURCE is read (a large file takes a while)
    kind = single_tokenizer(args, "an export", "were given: the exported model cuts texts with one")
    with trust_flag_errors():
        source = held_read_source(args.source, load_options=load_options(args))
    given = [flag for flag, value in (("--limit", args.limit), ("--format", args.format)) if value]
    if given and source.kind is not SourceKind.VECTORS:  # else all rows went out unasked
        raise ConfigError(
            f"{args.source} is a {source.kind.value} folder, exported whole; drop "
            f"{' and '.join(given)} (they read a vector file)"
        )
    tokenizer = None
    if kind is not None or (args.lower and source.tokenizer is None):
        tokenizer = Tokenizer(kind or "regex", lower=args.lower)
    elif args.lower:
        print(
            "note: --lower ignored: SOURCE records its tokenizer (pass --tokenizer to replace it)",
            file=sys.stderr,
        )
    result = export(
        source, to=args.to, out=args.out, tokenizer=tokenizer, normalize=args.normalize,
        progress=args.progress,
    )  # fmt: skip
    print(f"wrote {result.rows:,} x {result.dim} to {result.path} ({result.target.value})")
    for note in result.notes:  # on stderr, as build's and pretrain's notes
        print(f"note: {note}", file=sys.stderr)
    return 0
