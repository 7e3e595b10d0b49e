"""Word vectors from a local transformer checkpoint (BERT, RoBERTa, GPT-2, LLaMA-style ...).

Three modes (`Mode`): `input` pools the input-embedding rows of a word's subword tokens (no
forward pass, read straight from safetensors); `contextless` runs the model on the word alone
and pools its last hidden state; `corpus` averages the word's contextual vectors over its
occurrences in a corpus. Only local folders are read: nothing is downloaded and no remote code
runs. Byte-level BPE tokenizers (GPT-2, RoBERTa) see each word with a leading space, as it
appears mid-sentence.

Example:
    >>> vectors = from_transformer("models/minilm", ["cat", "dog"], mode="input")  # doctest: +SKIP
    >>> vectors.save("minilm-words")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vecgraft._util.options import parse_enum
from vecgraft.errors import ConfigError, FormatError, OptionError
from vecgraft.io.hf_checkpoint import Checkpoint, read_input_embeddings
from vecgraft.text.vocab import Vocab
from vecgraft.transformer.corpus import Corpus, corpus_sums
from vecgraft.transformer.encode import Encoder, Mode, Pooling, pool_rows, word_spans
from vecgraft.transformer.graft import (
    GraftInit,
    GraftResult,
    Weighting,
    graft_tokens,
    graft_vocab,
    save_grafted,
)
from vecgraft.transformer.graft_report import GraftReport
from vecgraft.transformer.new_tokens import init_new_token_rows
from vecgraft.transformer.postprocess import postprocess
from vecgraft.transformer.tokens import (
    encode_words,
    leading_space,
    load_tokenizer,
    spell,
    whole_word_tokens,
)
from vecgraft.vectors import Vectors

__all__ = [
    "GraftInit",
    "GraftReport",
    "GraftResult",
    "Mode",
    "Pooling",
    "TransformerOptions",
    "Weighting",
    "CLASSIFIER_VECTORS",
    "classifier_recipe",
    "classifier_vectors",
    "from_transformer",
    "graft_tokens",
    "graft_vocab",
    "init_new_token_rows",
    "postprocess",
    "save_grafted",
]


# how `finetune --vectors hf:FOLDER` (and compare's `hf:FOLDER`, no mode) derives a
# classifier's word vectors: chosen on held-out
# training data (benchmarks/defaults.md round 6: contextless beat the input embedding by 2.0
# points over MR/SST-2/TREC; round 12: PCA 64 tied PCA 256 in 40 % less time), the
# benchmark table's `minilm` column
CLASSIFIER_VECTORS: dict[str, Any] = {"mode": "contextless", "pca": 64, "sif": True}


def classifier_recipe() -> str:
    """`CLASSIFIER_VECTORS` in words, for the messages that name it.

    >>> classifier_recipe()
    'contextless, PCA 64, SIF'
    """
    parts = [str(CLASSIFIER_VECTORS["mode"])]
    if CLASSIFIER_VECTORS.get("pca"):
        parts.append(f"PCA {CLASSIFIER_VECTORS['pca']}")
    if CLASSIFIER_VECTORS.get("sif"):
        parts.append("SIF")
    return ", ".join(parts)


def classifier_vectors(
    model_dir: str | os.PathLike[str], words: Iterable[str], *, device: str | None = None
) -> Vectors:
    """`words`' vectors for a classifier, as `CLASSIFIER_VECTORS` says.

    The PCA keeps at most as many components as there are words (a tiny vocabulary cannot
    have 64).
    """
    options = {k: v for k, v in CLASSIFIER_VECTORS.items() if k not in ("pca", "sif")}
    raw = from_transformer(model_dir, list(words), device=device, **options)
    pca = min(int(CLASSIFIER_VECTORS["pca"]), len(raw), raw.dim)
    return postprocess(raw, pca=pca if pca >= 1 else None, sif=bool(CLASSIFIER_VECTORS["sif"]))


@dataclass(frozen=True)
class TransformerOptions:
    """Everything `from_transformer` can be asked, recorded in the vectors' metadata."""

    mode: Mode = Mode.INPUT
    pooling: Pooling = Pooling.MEAN
    layer: int = -1
    max_occurrences: int = 50
    batch_size: int = 64
    device: str | None = None
    dtype: str | None = None
    pca: int | None = None
    sif: bool = False
    sif_a: float = 1e-3
    progress: bool | None = None


def from_transformer(
    model_dir: str | os.PathLike[str],
    words: Iterable[str] | Vocab | None = None,
    *,
    mode: Mode | str = Mode.INPUT,
    pooling: Pooling | str = Pooling.MEAN,
    layer: int = -1,
    corpus: Corpus | None = None,
    max_occurrences: int = 50,
    corpus_encoding: str = "utf-8",
    corpus_errors: str = "strict",
    batch_size: int = 64,
    device: str | None = None,
    dtype: str | None = None,
    pca: int | None = None,
    sif: bool = False,
    sif_a: float = 1e-3,
    counts: Mapping[str, int] | None = None,
    progress: bool | None = None,
) -> Vectors:
    """Word vectors for `words` from the checkpoint in `model_dir`.

    Args:
        model_dir: a local folder with config.json, model.safetensors (or a weights-only
            pytorch_model.bin) and tokenizer files.
        words: the words (a list, a `Vocab`, any iterable); None takes the tokenizer's own
            whole-word tokens. Duplicates are dropped; words that tokenise to nothing are
            dropped and counted in `metadata["dropped_words"]`.
        mode: `input`, `contextless` or `corpus` (see `Mode`).
        pooling: `mean`, `first` or `sum` over the word's subword tokens.
        layer: hidden state read in `contextless`/`corpus` (-1 last, 0 embedding output).
            Of an encoder-decoder (T5, BART) these are its encoder's hidden states
            (`metadata["stack"] == "encoder"`).
        corpus: for `corpus` mode: a text file / folder of *.txt (one context per line) or an
            iterable of strings. Words never seen fall back to `contextless`.
        max_occurrences: cap on occurrences averaged per word in `corpus` mode.
        corpus_encoding: encoding of the corpus files (read by `vecgraft.text.iter_texts`).
        corpus_errors: undecodable bytes in the corpus: "strict" (an error naming file and
            line), "replace" or "ignore".
        batch_size: sequences per forward pass.
        device: torch device for forward passes (default: cuda when available).
        dtype: model dtype (default: bfloat16 on a GPU with native bf16, Ampere or
            newer; float32 on older GPUs and on CPU).
        pca: reduce to this many dimensions with PCA (off by default).
        sif: scale vectors by SIF weights a / (a + p(w)) (off by default); p from `counts`
            (or a `Vocab`'s counts) when given, else from Zipf's law on the word order.
        sif_a: the SIF constant `a`.
        counts: word frequencies for SIF.
        progress: None draws the forward pass's bar on a terminal or in a notebook and,
            where stderr is a file or pipe, a plain line every 30 s (so a short pass prints
            nothing); True always draws the bar, False is silent.

    Returns:
        `Vectors` (float32 [n_words, dim]) whose metadata records model, mode and options.

    Raises:
        FormatError: the folder is not a readable checkpoint (the message lists the tensors
            seen when the input embedding cannot be found).
        ConfigError: an invalid option.
    """
    opts = _options(
        mode, pooling, layer, max_occurrences, batch_size, device, dtype, pca, sif, sif_a, progress
    )
    if opts.mode is Mode.CORPUS and corpus is None:
        raise ConfigError("mode 'corpus' needs a corpus (a file, folder or list of texts)")
    checkpoint = Checkpoint.open(model_dir)
    reading = {"encoding": corpus_encoding, "errors": corpus_errors}
    kept, matrix, metadata = _raw_vectors(checkpoint, words, opts, corpus, reading)
    raw = Vectors(kept, matrix, source=checkpoint.path, metadata=metadata)
    return postprocess(
        raw, pca=opts.pca, sif=opts.sif, sif_a=opts.sif_a, counts=_sif_counts(words, counts)
    )


def _options(
    mode: Mode | str,
    pooling: Pooling | str,
    layer: int,
    max_occurrences: int,
    batch_size: int,
    device: str | None,
    dtype: str | None,
    pca: int | None,
    sif: bool,
    sif_a: float,
    progress: bool | None,
) -> TransformerOptions:
    """The options parsed and checked before the checkpoint is opened."""
    opts = TransformerOptions(
        mode=parse_enum(Mode, mode, "mode"),
        pooling=parse_enum(Pooling, pooling, "pooling"),
        layer=layer,
        max_occurrences=max_occurrences,
        batch_size=batch_size,
        device=device,
        dtype=dtype,
        pca=pca,
        sif=sif,
        sif_a=sif_a,
        progress=progress,
    )
    if opts.batch_size < 1:
        raise OptionError.out_of_range("batch_size", ">= 1", batch_size)
    # checked before the model runs, and as OptionErrors, so that the CLI names its flags
    if opts.mode is Mode.CORPUS and opts.max_occurrences < 1:
        raise OptionError.out_of_range("max_occurrences", ">= 1", max_occurrences)
    if opts.pca is not None and opts.pca < 1:
        raise OptionError.out_of_range("pca", ">= 1", pca, note="None: no PCA")
    return opts


def _sif_counts(
    words: Iterable[str] | Vocab | None, counts: Mapping[str, int] | None
) -> Mapping[str, int] | None:
    """The frequencies SIF uses: those given, else a `Vocab`'s own counts."""
    if counts is None and isinstance(words, Vocab):
        return words.counts or None
    return counts


def _raw_vectors(
    checkpoint: Checkpoint,
    words: Iterable[str] | Vocab | None,
    opts: TransformerOptions,
    corpus: Corpus | None,
    reading: dict[str, str],
) -> tuple[list[str], np.ndarray, dict[str, Any]]:
    """(kept words, matrix, metadata) by the chosen mode, before PCA and SIF."""
    tok = load_tokenizer(checkpoint.path)
    asked = _word_list(words, tok, checkpoint.path)
    word_list, texts, ids = _spellable(asked, tok)
    metadata: dict[str, Any] = {
        "source": "transformer",
        "model_dir": os.fspath(checkpoint.path),
        "model_type": checkpoint.model_type,
        "mode": opts.mode.value,
        "pooling": opts.pooling.value,
        "leading_space": leading_space(tok),
    }
    if opts.mode is Mode.INPUT:
        kept, matrix = _input_vectors(checkpoint, word_list, ids, opts.pooling)
    else:
        kept, matrix, extra = _model_vectors(
            checkpoint, tok, word_list, texts, opts, corpus, reading
        )
        metadata.update(extra)
    metadata["dropped_words"] = len(asked) - len(kept)
    metadata["unknown_words"] = len(asked) - len(word_list)
    metadata.update(_dropped_examples(asked, word_list, kept, tok))
    metadata["words"] = "model whole-word tokens" if words is None else "given"
    recorded = words.metadata.get("tokenizer") if isinstance(words, Vocab) else None
    if isinstance(recorded, Mapping) and recorded.get("kind"):
        # the vocabulary's words were cut so (jieba words + characters, ...): a native file
        # keeps it, so `export` and loaded-vector users cut texts as they were
        metadata["tokenizer"] = dict(recorded)
    return kept, matrix, metadata


# words of each drop reason named in metadata (and by `from-transformer`'s summary line)
DROPPED_EXAMPLES = 3


def _dropped_examples(
    asked: list[str], spellable: list[str], kept: list[str], tok: Any
) -> dict[str, Any]:
    """Why words were dropped: a count and the first few words per reason.

    Why: the summary said "1740 dropped" and no more; the reasons are words spelled only
    with the unknown token (characters the model's vocabulary lacks: emoji, rare CJK
    characters, other scripts) and words that tokenise to no token at all (whitespace,
    control or combining characters the tokenizer strips).
    """
    spelled, have = set(spellable), set(kept)
    unknown = [w for w in asked if w not in spelled]
    empty = [w for w in spellable if w not in have]
    return {
        "unknown_token": getattr(tok, "unk_token", None),
        "unknown_examples": unknown[:DROPPED_EXAMPLES],
        "no_token_words": len(empty),
        "no_token_examples": empty[:DROPPED_EXAMPLES],
    }


def _spellable(
    words: list[str], tok: Any
) -> tuple[list[str], list[str], list[list[int]]]:
    """`words` less those spelled with the unknown token only; their texts and token ids.

    Tokenised once here, for every mode. The dropped words' vectors would all be the `[UNK]`
    row (or its contextual twin): one vector shared by every Chinese word of an English
    checkpoint, counted as covered. Dropped, they are missing words, which the alignment
    reports and initialises as such.
    """
    texts = spell(words, tok)
    ids = encode_words(tok, texts)
    unk = getattr(tok, "unk_token_id", None)
    keep = [i for i, x in enumerate(ids) if unk is None or not x or any(t != unk for t in x)]
    if len(keep) == len(words):
        return words, texts, ids
    return [words[i] for i in keep], [texts[i] for i in keep], [ids[i] for i in keep]


def _word_list(words: Iterable[str] | Vocab | None, tok: Any, path: Path) -> list[str]:
    """The words to embed, deduplicated, specials dropped; None: the model's whole words."""
    if words is None:
        return whole_word_tokens(tok, path=path)
    if isinstance(words, Vocab):
        specials, tokens = set(words.specials), list(words.tokens)
    elif isinstance(words, str):
        raise ConfigError("words must be a list of words, not one string")
    else:
        specials, tokens = set(), list(words)
    out = [w for w in dict.fromkeys(tokens) if w not in specials]
    # the position, not the word: a None word would read as "nothing found"
    bad = next((i for i, w in enumerate(out) if not isinstance(w, str)), None)
    if bad is not None:
        word = out[bad]
        raise ConfigError(f"words must be strings, found {type(word).__name__} {word!r}")
    return out


def _input_vectors(
    checkpoint: Checkpoint, words: list[str], ids: list[list[int]], pooling: Pooling
) -> tuple[list[str], np.ndarray]:
    """`input` mode: pooled input-embedding rows of each word's `ids` (no model loaded)."""
    table = read_input_embeddings(checkpoint)
    top = max((max(x) for x in ids if x), default=-1)
    if top >= table.shape[0]:
        raise FormatError(
            f"the tokenizer produced id {top} but the embedding table has {table.shape[0]} rows",
            path=checkpoint.path,
        )
    keep = [i for i, x in enumerate(ids) if x]
    return [words[i] for i in keep], pool_rows(table, [ids[i] for i in keep], pooling)


def _model_vectors(
    checkpoint: Checkpoint,
    tok: Any,
    words: list[str],
    texts: list[str],
    opts: TransformerOptions,
    corpus: Corpus | None,
    reading: dict[str, str],
) -> tuple[list[str], np.ndarray, dict[str, Any]]:
    encoder = Encoder.load(
        checkpoint.path,
        pad_id=tok.pad_token_id if tok.pad_token_id is not None else 0,
        device=opts.device,
        dtype=opts.dtype,
        layer=opts.layer,
        pooling=opts.pooling,
        batch_size=opts.batch_size,
        progress=opts.progress,
    )
    extra: dict[str, Any] = {"layer": opts.layer, "dtype": encoder.dtype_name}
    if encoder.stack:  # an encoder-decoder's vectors are its encoder's hidden states
        extra["stack"] = encoder.stack
    rows = int(encoder.model.get_input_embeddings().weight.shape[0])
    dim = encoder.hidden_size  # ALBERT's input rows are narrower than its hidden states
    if len(tok) > rows:
        # any of its ids may reach the forward pass (specials, corpus contexts): an IndexError
        raise FormatError(
            f"the tokenizer has {len(tok)} tokens but the embedding table has {rows} rows",
            path=checkpoint.path,
        )
    matrix = np.zeros((len(words), dim), dtype=np.float32)
    todo = np.arange(len(words))
    if opts.mode is Mode.CORPUS and corpus is not None:
        sums, counts = corpus_sums(
            encoder,
            tok,
            words,
            corpus,
            max_occurrences=opts.max_occurrences,
            encoding=reading["encoding"],
            errors=reading["errors"],
        )
        seen = counts > 0
        if sums.shape[1]:
            matrix[seen] = (sums[seen] / counts[seen, None]).astype(np.float32)
        todo = np.flatnonzero(~seen)
        extra.update(
            max_occurrences=opts.max_occurrences,
            corpus=os.fspath(corpus) if isinstance(corpus, (str, os.PathLike)) else "<texts>",
            corpus_words=int(seen.sum()),
            corpus_fallback=len(todo),
            corpus_occurrences=int(counts.sum()),
        )
    items = word_spans(tok, [texts[i] for i in todo], max_length=encoder.usable_length(tok))
    ok = np.array([bool(spans) for _, spans in items], dtype=bool)
    pooled = encoder.pool([(ids, [spans]) for ids, spans in items if spans])
    if pooled:
        matrix[todo[ok]] = np.concatenate(pooled)
    keep = np.ones(len(words), dtype=bool)
    keep[todo[~ok]] = False
    return [w for w, k in zip(words, keep) if k], matrix[keep], extra
