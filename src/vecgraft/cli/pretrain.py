"""`vecgraft pretrain`: train word2vec, fastText or GloVe vectors on a corpus."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vecgraft._util.console import byte_size
from vecgraft.cli._options import output_path

DESCRIPTION = (
    "Pretrain word vectors on a corpus (files, folders, globs, compressed files, CSV 'text' "
    "columns) with gensim's word2vec/fastText or vecgraft's PyTorch GloVe. Writes "
    "vectors.safetensors (read by `vecgraft.load(DIR)`), vectors.txt, vectors.bin, "
    "vocab.json and metadata.json to --out (fastText also model.bin: the subword n-gram "
    "table, which vectors.safetensors links rather than copies)."
)
EPILOG = """examples:
  vecgraft pretrain --method word2vec --corpus news/ --out w2v --dim 100 --sg 1 --lower
  vecgraft pretrain --method fasttext --corpus 'data/*.txt.gz' --out ft --min-n 3 --max-n 6
  vecgraft pretrain --method glove --corpus corpus.txt --out glove --window 10 --epochs 25
  vecgraft pretrain --method word2vec --corpus zh.txt --tokenizer jieba --stopwords zh --out zh
"""


# keyword -> flag where the names differ: errors say `--max-memory-mb must be >= 1, got 0`
# (the MB typed), not `max_memory` (bytes, a keyword no flag has)
OPTION_FLAGS = {"max_memory": "--max-memory-mb"}

def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags; names and defaults are PretrainConfig's (gensim's, and glove.c's for GloVe).

    The groups are added in this order so `--help` and abbreviation matching stay as they were.
    """
    _add_run_arguments(parser)
    _add_text_group(parser)
    _add_word2vec_group(parser)
    _add_glove_group(parser)
    _add_output_arguments(parser)


def _default(name: str) -> object:
    """PretrainConfig's default for NAME, so the CLI can never drift from the library."""
    from vecgraft.cli._options import field_default
    from vecgraft.pretrain.config import PretrainConfig

    return field_default(PretrainConfig, name)


def _add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """What to train, on what, and the knobs every method shares."""
    from vecgraft.cli._options import add_enum_argument, per_method, positive_int
    from vecgraft.pretrain.config import DEFAULT_EPOCHS, DEFAULT_WINDOW, Method

    add_enum_argument(parser, "--method", enum=Method, required=True, help="what to train")
    parser.add_argument(
        "--corpus", required=True, nargs="+", metavar="PATH", help="files, folders or globs"
    )
    parser.add_argument(
        "--out", required=True, metavar="DIR", type=output_path("pretrain"), help="output folder"
    )
    parser.add_argument("--dim", type=positive_int, default=_default("dim"), help="vector size")
    parser.add_argument(
        "--window",
        type=positive_int,
        default=None,
        help=f"max distance word-context (default: {per_method(DEFAULT_WINDOW)})",
    )
    parser.add_argument(
        "--min-count",
        "--min-freq",  # the spelling build/finetune use
        dest="min_count",
        type=positive_int,
        default=_default("min_count"),
        help="ignore rarer words",
    )
    parser.add_argument(
        "--epochs",
        type=positive_int,
        default=None,
        help=f"passes over the corpus (default: {per_method(DEFAULT_EPOCHS)})",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=_default("workers"),
        help="CPU threads; by default the cores this process may use (default: %(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=_default("seed"),
        help="same seed + --workers 1: same vectors (on CPU)",
    )
    parser.add_argument(
        "--max-vocab",
        "--max-size",  # the spelling build uses
        dest="max_vocab",
        type=positive_int,
        default=_default("max_vocab"),
        help="keep the N most frequent words (GloVe: exactly N; word2vec/fastText: gensim's "
        "max_final_vocab, which raises the minimum count past the Nth word's, so words tied "
        "with it go too and fewer than N may remain)",
    )


def _add_text_group(parser: argparse.ArgumentParser) -> None:
    """Tokenization and corpus-reading flags, recorded in the output's metadata."""
    from vecgraft.cli._options import add_enum_argument, param_default
    from vecgraft.cli._text_args import (
        add_normalization_arguments,
        add_text_arguments,
        add_tokenizer_argument,
        add_user_dict_argument,
    )
    from vecgraft.text.corpus import OnePer
    from vecgraft.text.tokenize import Tokenizer
    from vecgraft.text.zh import ZhMode

    text = parser.add_argument_group("tokenization (as in vecgraft.text; recorded in metadata)")
    add_tokenizer_argument(
        text,
        help="how text is split into words (default: jieba on a Chinese corpus or with "
        f"--user-dict, else {param_default(Tokenizer, 'kind')})",
    )
    add_enum_argument(
        text,
        "--zh-mode",
        enum=ZhMode,
        default=None,
        help="Chinese tokens of the jieba tokenizer: words, characters or both (a word, then "
        "its characters: vectors for both, which finetune then reads from metadata.json); "
        "default: word2vec takes word+char on a corpus of fewer than 100,000 words, else "
        "word; the other methods word",
    )
    add_user_dict_argument(
        text,
        note=" (a jieba dictionary: without --tokenizer it means jieba); recorded in "
        "metadata.json, which finetune follows",
    )
    text.add_argument("--lower", action="store_true", help="lowercase")
    add_normalization_arguments(text)
    text.add_argument(
        "--stopwords", default=None, metavar="en|zh|FILE",
        help="en, zh or a file (one word per line)",
    )  # fmt: skip
    add_enum_argument(
        text,
        "--one-per",
        enum=OnePer,
        default=_default("one_per"),
        help="a document is a line or a whole file",
    )
    text.add_argument(
        "--text-column",  # the spelling finetune/evaluate use
        "--column",
        dest="column",
        default=_default("column"),
        help="text column of CSV/TSV/JSONL files",
    )
    add_text_arguments(text)


def _add_word2vec_group(parser: argparse.ArgumentParser) -> None:
    """Flags of gensim's word2vec/fastText, plus the learning rate every method shares."""
    from vecgraft.cli._options import per_method
    from vecgraft.pretrain.config import DEFAULT_LEARNING_RATE

    w2v = parser.add_argument_group("word2vec / fasttext (gensim)")
    w2v.add_argument(
        "--sg", type=int, choices=[0, 1], default=_default("sg"), help="1: skip-gram, 0: CBOW"
    )
    w2v.add_argument(
        "--hs", type=int, choices=[0, 1], default=_default("hs"), help="1: hierarchical softmax"
    )
    w2v.add_argument(
        "--negative", type=int, default=_default("negative"), help="negative samples (0: none)"
    )
    w2v.add_argument(
        "--sample", type=float, default=_default("sample"), help="down-sampling of frequent words"
    )
    parser.add_argument(
        "--learning-rate",
        "--lr",
        "--alpha",  # gensim's name for it, kept: the flag always meant the learning rate
        dest="learning_rate",
        action=_LearningRateAction,
        type=float,
        default=None,
        help=(
            "initial learning rate, all methods (default: "
            f"{per_method(DEFAULT_LEARNING_RATE)}); --alpha is gensim's name for it"
        ),
    )
    w2v.add_argument(
        "--min-alpha", type=float, default=_default("min_alpha"), help="final learning rate"
    )
    w2v.add_argument(
        "--min-n", type=int, default=_default("min_n"), help="shortest character n-gram"
    )
    w2v.add_argument(
        "--max-n", type=int, default=_default("max_n"), help="longest character n-gram"
    )
    w2v.add_argument(
        "--bucket", type=int, default=_default("bucket"), help="n-gram hash buckets (fastText)"
    )


class _LearningRateAction(argparse.Action):
    """Store the learning rate and the spelling used: `--alpha` means another thing to glove.c."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, values)
        namespace.learning_rate_flag = option_string


def alpha_warning(args: argparse.Namespace) -> str | None:
    """The warning for `--method glove --alpha X`: glove.c's -alpha is the weighting exponent."""
    if args.method != "glove" or getattr(args, "learning_rate_flag", None) != "--alpha":
        return None
    return (
        "warning: --alpha sets GloVe's learning rate (as --learning-rate); glove.c's -alpha is "
        "the weighting exponent, which is --power here"
    )


def _method_flag(field: str) -> str:
    """The flag of `PretrainConfig` field `field` (`max_memory`: `--max-memory-mb`)."""
    return OPTION_FLAGS.get(field, "--" + field.replace("_", "-"))


def _dest(field: str) -> str:
    """The argparse dest of `field`'s flag."""
    return _method_flag(field).removeprefix("--").replace("-", "_")


def unused_flags_warning(args: argparse.Namespace, defaults: dict[str, object]) -> str | None:
    """The warning for flags `--method` never reads (`--method word2vec --x-max 100`).

    Why: gensim's methods train on the CPU and never read GloVe's flags (nor GloVe
    gensim's); a `--device cuda` or `--bucket` that silently did nothing reads as a
    setting the vectors were trained with. A flag left at its default is not said. Each
    flag names the methods that read it (`--min-n` is fastText's alone, `--sg` both gensim's).
    """
    from vecgraft.pretrain.config import METHOD_FIELDS

    unused = [
        f"{_method_flag(field)} ({', '.join(m.value for m in methods)})"
        for field, methods in METHOD_FIELDS.items()
        if args.method not in methods
        and getattr(args, _dest(field), None) != defaults.get(_dest(field))
    ]
    if not unused:
        return None
    return f"warning: --method {args.method} does not use {', '.join(unused)}: ignored"


def _add_glove_group(parser: argparse.ArgumentParser) -> None:
    """Flags of the PyTorch GloVe trainer (glove.c's defaults)."""
    glove = parser.add_argument_group("glove")
    glove.add_argument(
        "--x-max",
        type=float,
        default=_default("x_max"),
        help="weighting cut-off (100 suits billion-token corpora)",
    )
    glove.add_argument(
        "--power", type=float, default=_default("power"), help="weighting exponent (alpha)"
    )
    glove.add_argument(
        "--batch-size", type=int, default=_default("batch_size"), help="entries per AdaGrad step"
    )
    glove.add_argument(
        "--max-memory-mb",
        type=int,
        default=int(_default("max_memory")) // 2**20,  # type: ignore[call-overload]
        help="co-occurrence table size before spilling to disk",
    )
    glove.add_argument("--device", default=None, help="cpu, cuda (default: cuda if available)")


def _add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """Caching and progress-display switches."""
    parser.add_argument(
        "--no-token-cache",
        action="store_true",
        help="re-tokenize the corpus on every pass instead of caching tokens in a temp file",
    )
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress output (default: a bar on a terminal; otherwise a line per epoch, "
        "and one every 30 s while the corpus is first read)",
    )


def _flag_defaults() -> dict[str, object]:
    """Each method-specific flag's default (`METHOD_FIELDS`), by its argparse dest."""
    from vecgraft.pretrain.config import METHOD_FIELDS

    parser = argparse.ArgumentParser()
    _add_word2vec_group(parser)
    _add_glove_group(parser)
    return {_dest(field): parser.get_default(_dest(field)) for field in METHOD_FIELDS}


def _require_extra(method: str) -> None:
    """Fail on a missing gensim first: fasttext printed its n-gram table plan, then failed."""
    from vecgraft.pretrain.config import Method
    from vecgraft.pretrain.gensim_models import require_gensim

    if Method(method) is not Method.GLOVE:
        require_gensim()


class _Stderr(logging.Handler):
    """A log record's message printed on the stderr of the moment (tests swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        print(record.getMessage(), file=sys.stderr)


@contextlib.contextmanager
def _choices_said() -> Iterator[None]:
    """The library's INFO lines (the tokenizer a Chinese corpus gets) on stderr as logged.

    Why: the CLI printed the choice from metadata.json once `pretrain` returned, after
    every epoch; it is made before training, and said then, as finetune says it.
    """
    logger = logging.getLogger("vecgraft.pretrain.api")
    handler = _Stderr(logging.INFO)
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # said once, not again by a handler of the caller's
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def run(args: argparse.Namespace) -> int:
    """Build the config and tokenizer, pretrain, print the summary."""
    from vecgraft.cli._options import param_default
    from vecgraft.cli._text_args import normalization_options, note_read, single_tokenizer
    from vecgraft.pretrain import PretrainConfig, pretrain
    from vecgraft.text import Tokenizer

    _require_extra(args.method)
    kind = single_tokenizer(
        args, "pretraining", "were given: the vectors are trained on the words of one, "
        "recorded in metadata.json, which finetune cuts texts with",
    )
    if kind is None and args.user_dict is not None:
        # a jieba dictionary means jieba, as finetune, build and compare take it (it was
        # refused as "only used by the jieba tokenizer, not regex", a kind never named)
        from vecgraft.finetune.text_settings import USER_DICT_JIEBA_NOTE

        kind = "jieba"
        print(USER_DICT_JIEBA_NOTE, file=sys.stderr)
    made = Tokenizer(
        kind or param_default(Tokenizer, "kind"),
        lower=args.lower,
        **normalization_options(args),
        stopwords=args.stopwords,
        # unnamed: checked once the kind is chosen (jieba on a Chinese corpus takes it)
        zh_mode=(args.zh_mode if kind is not None else None) or param_default(Tokenizer, "zh_mode"),
        # absolute: metadata.json records it for finetune, which may run from elsewhere
        user_dict=None if args.user_dict is None else Path(args.user_dict).absolute(),
    )
    tokenizer: Tokenizer | dict[str, Any] = made
    if kind is None or (args.zh_mode is None and made.kind.value == "jieba"):
        # unnamed: jieba on a Chinese corpus, else regex; word2vec chooses jieba's zh_mode
        unset = {"kind"} if kind is None else set()
        unset |= {"zh_mode"} if args.zh_mode is None else set()
        tokenizer = {k: v for k, v in made.config.items() if k not in unset}
        if args.zh_mode is not None:
            tokenizer["zh_mode"] = args.zh_mode
    for warning in (alpha_warning(args), unused_flags_warning(args, _flag_defaults())):
        if warning:
            print(warning, file=sys.stderr)
    config = PretrainConfig(
        method=args.method,
        corpus=args.corpus,
        out=args.out,
        dim=args.dim,
        window=args.window,
        min_count=args.min_count,
        epochs=args.epochs,
        workers=args.workers,
        seed=args.seed,
        tokenizer=tokenizer,
        one_per=args.one_per,
        column=args.column,
        encoding=args.encoding,
        errors=args.errors,
        bad_rows=args.bad_rows,
        sg=args.sg,
        hs=args.hs,
        negative=args.negative,
        sample=args.sample,
        learning_rate=args.learning_rate,
        min_alpha=args.min_alpha,
        min_n=args.min_n,
        max_n=args.max_n,
        bucket=args.bucket,
        x_max=args.x_max,
        power=args.power,
        max_vocab=args.max_vocab,
        max_memory=args.max_memory_mb * 2**20,
        batch_size=args.batch_size,
        device=args.device,
        cache_tokens=not args.no_token_cache,
        progress=False if args.no_progress else None,
    )
    if args.stopwords is not None:  # what a built-in list keeps (negations) is not obvious
        from vecgraft.text.stopwords import describe_stopwords

        print(f"stopwords: {describe_stopwords(args.stopwords)}", file=sys.stderr)
    if config.ngram_table_bytes and not args.no_progress:  # said before it is allocated
        print(
            f"fasttext: n-gram table {config.bucket:,} buckets x {config.dim} dims = "
            f"{byte_size(config.ngram_table_bytes, si=True)}, held in memory while training and "
            f"written to {Path(config.out) / 'model.bin'} (the output: about that plus the "
            "word vectors); --bucket sets it",
            file=sys.stderr,
        )
    from vecgraft.finetune.rundir import check_free
    from vecgraft.pretrain.outputs import holds_output

    check_free(config.out)  # another run writing --out: its lock's error, not the note below
    if holds_output(Path(config.out)):  # a rerun replaces its vectors, as intended: said
        print(f"note: {config.out} holds earlier pretrained vectors; this run replaces them "
              "once all its files are written (they stay until then)", file=sys.stderr)  # fmt: skip
    with _choices_said():  # the library prints nothing of its choice; it logs it
        result = pretrain(config)
    note_read(result.metadata.get("text_read"))
    print(result.summary())
    return 0
