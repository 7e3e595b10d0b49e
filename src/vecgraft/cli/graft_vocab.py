"""`vecgraft graft-vocab`: add corpus words to a transformer's vocabulary, with good first rows."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from vecgraft.cli._options import output_path, positive_int
from vecgraft.errors import ConfigError

DESCRIPTION = """\
Add new tokens to a local Hugging Face checkpoint (safetensors, no remote code) and give each
a first embedding row. WordPiece (BERT family), byte-level BPE (GPT-2, RoBERTa) and
SentencePiece-style tokenizers are read as the model reads text; byte-level BPE's new tokens
take in the space before them, as its "Ġ" tokens do, and decode without it (fine for
classification and word vectors, not for generating text; the report says so). On
SentencePiece-style tokenizers the report says how a new token reads mid-sentence (after a
"▁" token of its own, or decoding without its space); a layout that would match it at the
start of a text only (LLaMA-2's "▁"-prepending normalizer) is refused. The words
are the corpus words that the checkpoint's tokenizer splits into the most pieces
(count x (pieces - 1 + [UNK] pieces)), or a list.
Corpus words are read as the checkpoint's tokenizer reads them (its normalizer and
pre-tokenizer: BERT lowercases an uncased model's text and splits "blunkett's" into
blunkett ' s), plus compounds that an added token matches whole before that split (words
joined by single hyphens, apostrophes or periods: e-mail, wi-fi, blunkett's; not 's alone),
each counted where it fires beside the better picks, so every pick is one token exactly as
often as counted; --tokenizer finds the words of scripts written without spaces (Chinese,
Japanese, Thai), which BERT cuts into single characters (use jieba and/or char for Chinese).

rules for the new rows (--init):
  subwords  mean of the rows of the word's old pieces (default)
  mean      mean of all old rows (Hugging Face's default; a baseline)
  vectors   FOCUS: a sparsemax-weighted combination of the rows of the word's nearest
            neighbours in static vectors (--vectors) among the tokens both vocabularies share;
            words the static vectors lack fall back to subwords

OUT_DIR is a Hugging Face folder (model.safetensors, tokenizer, config) with
graft_report.json: the rule, pieces and neighbours of each new token, and tokens per text
and [UNK] share on the corpus before and after."""

EPILOG = """\
examples:
  vecgraft graft-vocab models/minilm --corpus train.csv --add-tokens 500 --out minilm-500
  vecgraft graft-vocab models/minilm --corpus zh_train.csv --tokenizer jieba --tokenizer char \\
      --add-tokens 2000 --init vectors --vectors runs/zh-vectors --out minilm-zh
  vecgraft graft-vocab models/bert --corpus notes.txt --add-tokens terms.txt --init mean \\
      --out bert-terms"""

# error hints name `iter_texts`'s keyword `column`; this command's flag for it (dest
# text_column) is --text-column
OPTION_FLAGS = {"column": "--text-column"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `vecgraft graft-vocab`; defaults are `graft_vocab`'s."""
    from vecgraft.cli._options import add_enum_argument, param_default
    from vecgraft.text.tokenize import TokenizerKind
    from vecgraft.transformer.graft import GraftInit, Weighting, graft_vocab

    def default(name: str) -> Any:
        return param_default(graft_vocab, name)

    parser.add_argument("model_dir", metavar="DIR", help="local checkpoint folder")
    parser.add_argument(
        "--corpus", nargs="+", metavar="FILE",
        help="texts to pick words from and to measure on (txt/csv/tsv/jsonl, folders, globs)",
    )  # fmt: skip
    parser.add_argument(
        "--text-column", default=default("column"), help="CSV/TSV/JSONL text column"
    )
    add_enum_argument(
        parser, "--tokenizer", enum=TokenizerKind, action="append",
        help="how words of unspaced scripts (Chinese, Japanese, Thai) are found (default: "
        "regex; other words are the model tokenizer's own); repeat to pool several "
        "(e.g. --tokenizer jieba --tokenizer char)",
    )  # fmt: skip
    from vecgraft.cli._text_args import add_user_dict_argument

    add_user_dict_argument(parser, note="; used by the jieba one of the --tokenizer flags")
    parser.add_argument(
        "--add-tokens", required=True, metavar="N|FILE",
        help="number of corpus words to add, or a file with one token per line",
    )  # fmt: skip
    parser.add_argument(
        "--min-count", type=int, default=default("min_count"), metavar="N",
        help="never pick words seen fewer times (a word seen once rarely earns a row)",
    )  # fmt: skip
    add_enum_argument(
        parser, "--init", enum=GraftInit, default=default("init"), help="how new rows are filled"
    )
    parser.add_argument("--vectors", metavar="V", help="static vectors for --init vectors")
    from vecgraft.cli._vectors_args import add_vectors_encoding_argument

    add_vectors_encoding_argument(parser)
    parser.add_argument(
        "-k", "--k", dest="k", type=positive_int, default=default("k"),
        help="neighbours per token (vectors; -k as neighbors and intrinsic spell it)",
    )
    add_enum_argument(
        parser, "--weighting", enum=Weighting, default=default("weighting"),
        help="how neighbour similarities become weights",
    )  # fmt: skip
    parser.add_argument(
        "--temperature", type=float, default=default("temperature"), help="softmax temperature"
    )
    parser.add_argument(
        "--out", required=True, metavar="OUT_DIR", type=output_path("graft-vocab"),
        help="output folder: new, empty or an earlier graft's (it is replaced whole)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Graft, write the folder, print the report table."""
    from vecgraft._util.graft_options import check_graft_vectors, parse_add_tokens
    from vecgraft.cli._vectors_args import check_codec
    from vecgraft.transformer.graft import (
        check_graft_out,
        graft_vectors_arg,
        graft_vocab,
        save_grafted,
    )
    from vecgraft.transformer.graft_words import graft_text_tokenizers

    add = parse_add_tokens(args.add_tokens)  # "-3" was looked for as a token-list file
    if isinstance(add, int) and not args.corpus:
        raise ConfigError("--add-tokens N needs --corpus FILES to pick the words from")
    check_graft_vectors(args.init, args.vectors)
    if args.vectors_encoding is not None:
        if not args.vectors:
            raise ConfigError("--vectors-encoding is only used with --vectors V")
        check_codec(args.vectors_encoding)
    if args.temperature <= 0:
        raise ConfigError(f"--temperature must be positive, got {args.temperature}")
    text_tokenizer = graft_text_tokenizers(args.tokenizer or ["regex"], args.user_dict)
    out, model = Path(args.out).resolve(), Path(args.model_dir).resolve()
    if out == model or model in out.parents:  # it wrote a copy inside an installed package
        raise ConfigError(f"--out {args.out}: inside the checkpoint folder {args.model_dir}; "
                          "write the grafted copy elsewhere")  # fmt: skip
    check_graft_out(args.out)
    start = time.perf_counter()
    result = graft_vocab(
        args.model_dir,
        args.corpus,
        add_tokens=add,
        text_tokenizer=text_tokenizer,
        column=args.text_column,
        init=args.init,
        vectors=graft_vectors_arg(args.vectors, args.vectors_encoding),
        k=args.k,
        weighting=args.weighting,
        temperature=args.temperature,
        min_count=args.min_count,
    )
    out = save_grafted(result, args.out)
    print(result.report.format_table())
    added = len(result.report.new_tokens)
    fewer = result.report.shortfall(add)  # "40 tokens added" of 50 asked said not why
    print(f"{added} tokens added{fewer}, {time.perf_counter() - start:.1f}s -> {out}")
    return 0
