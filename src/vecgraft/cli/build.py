"""`vecgraft build`: corpus vocabulary + vector file -> saved embedding folder and coverage."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from vecgraft.cli._options import output_path

DESCRIPTION = """\
Build the embedding matrix for a corpus vocabulary from pretrained vectors.

Tokenizes the corpus, builds its vocabulary, reads only the vector rows that can match it,
aligns them (exact -> case-folded -> normalized -> subword -> initialised), prints the
coverage table and writes OUT/embedding.safetensors, OUT/vocab.json and OUT/report.json
(load them with vecgraft.nn.load_embedding).

Unmatched words are initialised per --oov from the statistics of the matched rows: normal
(per-dimension mean and std), uniform (same mean and variance), zeros, or mean. The padding
row is zero and <unk> is the mean of the matched rows."""

EPILOG = """\
examples:
  vecgraft build --corpus data/train.csv --column text --vectors glove.6B.100d.txt --out emb/
  vecgraft build --corpus bbc/ --vectors glove.txt --out emb/ --lower --stopwords en \\
      --min-freq 2 --max-size 50000 --oov uniform --seed 1
  vecgraft build --corpus zh.txt --tokenizer jieba --vectors cc.zh.300.vec --out emb/ --dim 100"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `vecgraft build` (added in this order so `--help` stays as it was)."""
    from vecgraft.cli._text_args import add_text_arguments
    from vecgraft.cli._vectors_args import add_load_arguments

    _add_io_arguments(parser)
    _add_vocab_arguments(parser)
    _add_alignment_arguments(parser)
    _add_corpus_arguments(parser)
    add_load_arguments(parser)
    add_text_arguments(parser.add_argument_group("reading the corpus"))


def _add_io_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the corpus and the vectors come from and where the result goes."""
    from vecgraft.cli._options import add_no_progress_argument

    parser.add_argument(
        "--corpus",
        nargs="+",
        required=True,
        metavar="PATH",
        help="text files, folders, globs (.txt/.csv/.tsv/.jsonl, compressed ok)",
    )
    parser.add_argument(
        "--vectors",
        required=True,
        metavar="FILE",
        help="a vector file or folder that vecgraft.load reads",
    )
    parser.add_argument(
        "--out", required=True, metavar="DIR", type=output_path("build"), help="folder to write"
    )
    add_no_progress_argument(parser)


def _add_vocab_arguments(parser: argparse.ArgumentParser) -> None:
    """How the corpus vocabulary is tokenized and pruned (build_vocab's defaults)."""
    from vecgraft.cli._options import add_enum_argument, param_default, positive_int
    from vecgraft.cli._text_args import (
        USER_DICT_RUN_NOTE,
        add_normalization_arguments,
        add_tokenizer_argument,
        add_user_dict_argument,
    )
    from vecgraft.text.tokenize import Tokenizer
    from vecgraft.text.vocab_build import build_vocab
    from vecgraft.text.zh import ZhMode

    add_tokenizer_argument(
        parser,
        help="how text is split into words (default: the one in the vectors' metadata.json, "
        f"else jieba on a Chinese corpus, else {param_default(Tokenizer, 'kind')})",
    )
    parser.add_argument("--lower", action="store_true", help="lowercase before tokenizing")
    parser.add_argument("--stopwords", metavar="en|zh|FILE", help="drop these stopwords")
    add_normalization_arguments(parser)
    add_enum_argument(
        parser,
        "--zh-mode",
        enum=ZhMode,
        help="Chinese tokens of the jieba tokenizer: words, characters or both (default: "
        f"the vectors' metadata.json, else {param_default(Tokenizer, 'zh_mode')})",
    )
    add_user_dict_argument(parser, note=USER_DICT_RUN_NOTE)
    parser.add_argument(
        "--min-freq",
        "--min-count",  # the spelling pretrain (and gensim) use
        dest="min_freq",
        type=positive_int,
        default=param_default(build_vocab, "min_freq"),
        metavar="N",
        help="drop words seen fewer than N times",
    )
    parser.add_argument(
        "--max-size",
        "--max-vocab",  # the spelling pretrain uses
        dest="max_size",
        type=positive_int,
        metavar="N",
        help="keep at most N words besides the specials",
    )


def _add_alignment_arguments(parser: argparse.ArgumentParser) -> None:
    """How unmatched rows are filled and the output shaped (align's defaults)."""
    from vecgraft.align import InitStrategy, UnkStrategy, align
    from vecgraft.cli._options import add_enum_argument, param_default, positive_int

    add_enum_argument(
        parser,
        "--oov",
        enum=InitStrategy,
        default=param_default(align, "init"),
        help="how unmatched words are initialised",
    )
    add_enum_argument(
        parser,
        "--unk",
        enum=UnkStrategy,
        default=param_default(align, "unk"),
        help="how the <unk> row is filled (mean: of the matched rows)",
    )
    parser.add_argument(
        "--dim",
        type=positive_int,
        metavar="N",
        help="output dimension; smaller than the vectors' applies PCA",
    )
    parser.add_argument(
        "--seed", type=int, default=param_default(align, "seed"), help="seed of the OOV init"
    )


def _add_corpus_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the text sits in the corpus files, and how much of the report to print."""
    from vecgraft.cli._options import add_enum_argument, param_default
    from vecgraft.text.corpus import OnePer, iter_texts

    parser.add_argument(
        "--text-column",  # the spelling finetune/evaluate use
        "--column",
        dest="column",
        default=param_default(iter_texts, "column"),
        help="CSV/TSV column or JSONL field holding the text",
    )
    add_enum_argument(
        parser,
        "--one-per",
        enum=OnePer,
        default=param_default(iter_texts, "one_per"),
        help="a document is a line or a whole file (plain text)",
    )
    parser.add_argument(
        "--missing",
        type=int,
        default=10,
        metavar="N",
        help="how many of the most frequent missing words to print",
    )


def run(args: argparse.Namespace) -> int:
    """Build, align, print the coverage table, save."""
    from vecgraft.cli._text_args import note_read, text_options
    from vecgraft.cli._vectors_args import load_from_args
    from vecgraft.finetune.families import chinese_form_hints
    from vecgraft.nn.embedding import (
        EMBEDDING_FILE,
        REPORT_FILE,
        VOCAB_FILE,
        alignment_report,
        pretrained_embedding,
        save_embedding,
    )
    from vecgraft.text import iter_texts

    tokenizer = _tokenizer(args)
    texts = iter_texts(args.corpus, column=args.column, one_per=args.one_per, **text_options(args))
    vocab = _vocab(args, texts, tokenizer)
    note_read(texts.stats)
    for line in vocab.metadata.get("unsegmented", []):  # judged before --min-freq pruned
        print(f"warning: {line}", file=sys.stderr)  # Chinese, Thai ... read as whole clauses
    # The vocabulary-filtered path: only rows that can match (exactly or case-folded) are read.
    vectors = load_from_args(args, args.vectors, vocab=vocab.tokens)
    for line in chinese_form_hints(vocab, vectors):  # traditional or full-width text, as finetune
        print(f"warning: {line}", file=sys.stderr)
    embedding = pretrained_embedding(
        vocab, vectors, init=args.oov, unk=args.unk, dim=args.dim, seed=args.seed
    )
    report = alignment_report(embedding)
    _note_earlier_build(Path(args.out))  # once the flags, corpus and vectors passed
    out = save_embedding(
        Path(args.out),
        embedding,
        vocab,
        metadata={
            "command": "build",
            "vectors": str(args.vectors),
            "corpus": [str(p) for p in args.corpus],
            "column": args.column,
            "tokenizer": tokenizer.config,
            "min_freq": args.min_freq,
            "max_size": args.max_size,
        },
    )
    print(f"vocabulary: {len(vocab):,} tokens from {', '.join(args.corpus)}")
    print(f"vectors:    {len(vectors):,} candidate rows of dim {vectors.dim} from {args.vectors}")
    if report is not None:
        print(report.format_table(missing=args.missing))
    print(
        f"wrote {out}/{EMBEDDING_FILE}, {VOCAB_FILE}, {REPORT_FILE} "
        f"({len(vocab):,} x {embedding.embedding_dim})"
    )
    return 0


def _note_earlier_build(out: Path) -> None:
    """Say that --out holds an earlier build this run replaces (as pretrain says of its own).

    A rerun into the same folder is how scripts refresh it, so it is not refused; it was
    silent, and a typo'd --out replaced another build unnoticed. Said once the run's
    checks passed (a refused run replaces nothing), as pretrain says it after its lock check.
    """
    from vecgraft.nn.embedding import EMBEDDING_FILE, REPORT_FILE, VOCAB_FILE

    held = [name for name in (EMBEDDING_FILE, VOCAB_FILE, REPORT_FILE)
            if (out / name).is_file()]  # fmt: skip
    if held:
        print(f"note: {out} holds an earlier build; this run replaces its {', '.join(held)}",
              file=sys.stderr)  # fmt: skip


def _vocab(args: argparse.Namespace, texts: Any, tokenizer: Any) -> Any:
    """build_vocab over --corpus; an empty corpus's error names the paths read.

    Why: `build --corpus emptydir` said "empty corpus: 0 texts gave no tokens", not which
    folder (build_vocab sees texts, not paths).
    """
    from vecgraft.errors import EmptyCorpusError
    from vecgraft.text.vocab_build import _build_vocab

    try:
        return _build_vocab(  # no warning: `_build` prints metadata["unsegmented"]
            texts, tokenizer, min_freq=args.min_freq, max_size=args.max_size,
            progress=args.progress,
        )  # fmt: skip
    except EmptyCorpusError as exc:
        raise EmptyCorpusError(f"--corpus {' '.join(map(str, args.corpus))}: {exc}") from None


def _tokenizer(args: argparse.Namespace) -> Any:
    """The corpus tokenizer: the flags, and what they leave unset from the vectors' metadata.

    The rules are finetune's (`resolve_text_options`), so a vocabulary built here is cut as
    the vectors were trained and as `finetune` would cut it: build ignored the metadata.json
    of jieba-pretrained vectors and split Chinese with regex (whole clauses: 5 % of word
    types covered), or segmented without their user dictionary or half-width setting.
    Case stays the `--lower` flag's: the alignment matches case-folded words anyway.
    """
    from vecgraft.cli._text_args import normalization_options, single_tokenizer
    from vecgraft.finetune.config import FinetuneConfig
    from vecgraft.finetune.text_settings import (
        USER_DICT_JIEBA_NOTE,
        left_to_texts,
        resolve_text_options,
    )
    from vecgraft.text import Tokenizer

    given = normalization_options(args)
    config = FinetuneConfig(
        vectors=str(args.vectors),
        tokenizer=single_tokenizer(
            args, "a vocabulary", "were given: build cuts the corpus with one and records it "
            "in metadata.json, which finetune cuts texts with",
        ),
        zh_mode=args.zh_mode,
        lower=args.lower,
        halfwidth=given["halfwidth"] or None,  # None: the vectors' setting
        simplified=given["simplified"] or None,
        # absolute: the folder records it for `export`, which may run from elsewhere
        user_dict=None if args.user_dict is None else str(Path(args.user_dict).absolute()),
        stopwords=args.stopwords,
    )
    if left_to_texts(config, None):
        if config.user_dict is not None:  # jieba, said as finetune says it (it was silent)
            _say(USER_DICT_JIEBA_NOTE)
            config = config.replace(tokenizer="jieba")
        elif _corpus_is_chinese(args):
            config = config.replace(tokenizer="jieba")
    settings, lower = resolve_text_options(config, None, _say)
    if given["nfkc"]:
        settings["nfkc"] = True
    if given["digits"] is not None:
        settings["digits"] = given["digits"]
    return Tokenizer(**settings, lower=lower, stopwords=args.stopwords)


def _corpus_is_chinese(args: argparse.Namespace) -> bool:
    """Whether the corpus is Chinese and jieba segments it (said), as finetune chooses.

    Why: without --tokenizer the regex rule cut Chinese reviews into whole clauses (300
    reviews: a vocabulary of 1,961 one-off tokens) and build warned, then built it anyway.
    Judged on the corpus's first texts (`chinese_sample`), read in a pass of their own.
    """
    from vecgraft.cli._text_args import text_options
    from vecgraft.text import iter_texts
    from vecgraft.text.unspaced import (
        chinese_sample,
        chinese_why,
        chinese_word_share,
        jieba_for_chinese,
    )

    texts = iter_texts(args.corpus, column=args.column, one_per=args.one_per, **text_options(args))
    sample = chinese_sample(texts)
    words = chinese_word_share(sample)  # None: not Chinese (`texts_are_chinese`)
    if words is None:
        return False
    why = chinese_why(sample, "the corpus is Chinese", "the corpus's texts", words)
    return jieba_for_chinese(why, _say)


def _say(line: str) -> None:
    """A line of the tokenizer's resolution, on stderr beside build's other notes."""
    print(line, file=sys.stderr)
