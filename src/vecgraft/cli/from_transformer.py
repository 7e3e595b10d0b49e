"""`vecgraft from-transformer`: word vectors from a local transformer checkpoint."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vecgraft.cli._options import output_path
from vecgraft.errors import ConfigError, DataError

if TYPE_CHECKING:
    from vecgraft.text.vocab import Vocab

DESCRIPTION = """\
Make word vectors from a local transformer checkpoint (config.json + model.safetensors or a
weights-only pytorch_model.bin + tokenizer files): encoders (BERT, RoBERTa) and decoder-only
models (GPT-2, LLaMA-style) alike. Nothing is downloaded; no remote code runs. Without
--words or --vocab the words are the model's whole-word tokens, which a vocabulary shows by
its marks (WordPiece "##", byte-level BPE "Ġ", SentencePiece "▁"); one that marks none (a
BPE trained after a plain whitespace split) or only word ends (CLIP's and the original GPT's
"</w>": "ing</w>" ends a word without being one) needs the words given.

modes:
  input        pool the input-embedding rows of each word's subword tokens (instant)
  contextless  run the model on each word alone and pool its last hidden state
  corpus       average each word's contextual vectors over its occurrences in --corpus
               (words never seen fall back to contextless)

The output format follows the extension, as in vecgraft.save: .txt -> GloVe text,
.vec -> word2vec text, .bin -> word2vec binary (.gz/.bz2/.xz after them compresses),
anything else -> vecgraft's native file (one safetensors file, words and metadata
inside)."""

EPILOG = """\
examples:
  vecgraft from-transformer models/minilm --words words.txt --mode input --out minilm.txt
  vecgraft from-transformer models/minilm --vocab runs/build --mode contextless --pca 128 \\
      --sif --out minilm-vectors.safetensors
  vecgraft from-transformer models/minilm --vocab runs/build/vocab.json --mode corpus \\
      --corpus news.txt --device cuda --out minilm-news.safetensors"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `vecgraft from-transformer`."""
    from vecgraft.cli._text_args import add_text_arguments

    parser.add_argument("model_dir", help="local checkpoint folder")
    words = parser.add_mutually_exclusive_group()
    words.add_argument(
        "--words",
        metavar="FILE",
        help="words, one per line (default: the model's own whole-word tokens, where its "
        "vocabulary marks them)",
    )
    words.add_argument(
        "--vocab", metavar="DIR", help="a `vecgraft build` output folder or a vocab.json file"
    )
    from vecgraft.cli._options import add_enum_argument, add_no_progress_argument, param_default
    from vecgraft.transformer import from_transformer
    from vecgraft.transformer.encode import Mode, Pooling

    def default(name: str) -> object:
        return param_default(from_transformer, name)

    add_enum_argument(
        parser, "--mode", enum=Mode, default=default("mode"), help="how vectors are made"
    )
    parser.add_argument("--corpus", metavar="PATH", help="text file or folder (corpus mode)")
    add_enum_argument(
        parser,
        "--pooling",
        enum=Pooling,
        default=default("pooling"),
        help="how a word's subword vectors are combined",
    )
    parser.add_argument(
        "--layer", type=int, default=default("layer"), help="hidden state to read (-1: last)"
    )
    parser.add_argument(
        "--max-occurrences",
        type=int,
        default=default("max_occurrences"),
        metavar="N",
        help="contexts averaged per word (corpus mode)",
    )
    add_text_arguments(parser.add_argument_group("reading --corpus"), bad_rows=False)
    parser.add_argument(
        "--batch-size",
        type=int,
        default=default("batch_size"),
        metavar="N",
        help="texts per forward pass",
    )
    parser.add_argument("--device", default=None, help="torch device (default: cuda if present)")
    parser.add_argument("--pca", type=int, default=None, metavar="N", help="PCA to N dimensions")
    parser.add_argument("--sif", action="store_true", help="SIF re-weighting (Zipf or counts)")
    parser.add_argument(
        "--out", required=True, metavar="PATH",
        type=output_path("from-transformer", "a file or folder"), help="output file or folder",
    )
    add_no_progress_argument(parser)


def read_words(path: str) -> list[str]:
    """One word per line; blank lines skipped, surrounding whitespace stripped, no BOM."""
    from vecgraft.text.utf8 import read_utf8

    try:
        text = read_utf8(path, "word list")
    except FileNotFoundError as exc:
        raise DataError(f"{path}: no such word list") from exc
    return [w.strip() for w in text.splitlines() if w.strip()]


def dropped_note(meta: Mapping[str, Any]) -> str:
    """The summary's drop note: the count, then each reason's count and first words.

    "1740 dropped: 1738 spelled only with [UNK] (...), e.g. ...; 2 tokenised to no token
    at all, e.g. ..." Why: the count alone did not say which words went, or why.
    """
    reasons = []
    unknown, empty = int(meta.get("unknown_words") or 0), int(meta.get("no_token_words") or 0)
    if unknown:
        token = meta.get("unknown_token") or "the unknown token"
        reasons.append(
            f"{unknown} spelled only with {token} (characters the model's vocabulary "
            f"lacks){_examples(meta.get('unknown_examples'))}"
        )
    if empty:
        reasons.append(
            f"{empty} tokenised to no token at all{_examples(meta.get('no_token_examples'))}"
        )
    return f"{meta['dropped_words']} dropped" + (f": {'; '.join(reasons)}" if reasons else "")


def _examples(words: Any) -> str:
    return f", e.g. {', '.join(_shown(w) for w in words)}" if words else ""


def _shown(word: str) -> str:
    """`word` quoted; escaped where nothing of it would show (a lone combining accent)."""
    import unicodedata

    visible = any(unicodedata.category(c)[0] in "LNPS" for c in word)
    return repr(word) if visible else ascii(word)


def output_format(path: str) -> str:
    """Format for `path` (`vecgraft.io.format_for_path`): .txt glove, .bin word2vec-bin, ..."""
    from vecgraft.io import format_for_path

    return format_for_path(path) or "native"


def run(args: argparse.Namespace) -> int:
    """Make the vectors, write them, print a one-line summary."""
    from vecgraft.io import save
    from vecgraft.transformer import from_transformer

    words: Iterable[str] | Vocab | None
    from vecgraft.text.vocab import Vocab

    if args.words:
        words = read_words(args.words)
        if not words:
            raise DataError(f"{args.words}: no words in the word list (one per line)")
    elif args.vocab:
        vocab_path = Path(args.vocab)
        words = Vocab.load(vocab_path / "vocab.json" if vocab_path.is_dir() else vocab_path)
    else:
        words = None
    if args.mode == "corpus" and not args.corpus:
        raise ConfigError("--mode corpus needs --corpus PATH")
    start = time.perf_counter()
    vectors = from_transformer(
        args.model_dir,
        words,
        mode=args.mode,
        pooling=args.pooling,
        layer=args.layer,
        corpus=args.corpus,
        max_occurrences=args.max_occurrences,
        corpus_encoding=args.encoding,
        corpus_errors=args.errors,
        batch_size=args.batch_size,
        device=args.device,
        pca=args.pca,
        sif=args.sif,
        progress=args.progress,
    )
    meta = vectors.metadata
    if not len(vectors):  # an empty file that `vecgraft.load` refuses
        unknown, asked = int(meta.get("unknown_words") or 0), int(meta.get("dropped_words") or 0)
        why = f": {unknown} are spelled only with [UNK]" if unknown else ""
        raise DataError(f"none of the {asked} words has a vector{why}; nothing written")
    fmt = output_format(args.out)
    save(vectors, args.out, format=fmt)
    notes = [dropped_note(meta)] if meta.get("dropped_words") else []
    if meta.get("stack") == "encoder":
        notes.append("encoder-decoder: the encoder's hidden states")
    if "corpus_fallback" in meta:
        notes.append(f"{meta['corpus_fallback']} not in corpus -> contextless")
    extra = f" ({', '.join(notes)})" if notes else ""
    print(
        f"{len(vectors)} words x {vectors.dim} dims, mode {args.mode}{extra}, "
        f"{time.perf_counter() - start:.1f}s -> {args.out} ({fmt})"
    )
    if note := _tokenizer_note(meta, fmt):
        print(f"note: {note}")
    return 0


def _tokenizer_note(meta: Mapping[str, Any], fmt: str) -> str:
    """How to cut texts as the --vocab's words were, or "" (none recorded, or the default).

    Why: a vocabulary of jieba words + characters made vectors that `build --vectors`
    read with the default regex tokenizer (whole clauses, 4 % of word types covered).
    A native file keeps the tokenizer, which build, finetune, compare and tune follow
    (`vectors_metadata`); other formats keep none, so the flags must be passed.
    """
    from vecgraft.evaluate.export import tokenizer_flags

    flags = tokenizer_flags(meta.get("tokenizer"))
    if not flags:
        return ""
    said = f"the vocabulary's words were cut with {flags}"
    if fmt == "native":
        return f"{said}; kept in the file's metadata, which build, finetune, compare and tune read"
    return f"{said}; the {fmt} format keeps no tokenizer: pass them to build or finetune"
