"""Model families: the recipe's extension point for a new kind of classifier.

A family turns the training texts into a model and an encoder of texts (`setup`), and turns a
saved `model.json` back into an untrained model of the same shape (`rebuild`). The recipe
(`vecgraft.finetune.recipe`) asks the registry for the family of `config.model` and never
looks inside it, so a new family (a Hugging Face sequence classifier, a TF-IDF linear
baseline) is one class plus `register_family(family, ModelKind.X)`, not an edit of the
training pipeline. The vectors a run is given are `vecgraft.finetune.vectors_arg`'s, what
is recorded with them is read by `vecgraft.finetune.vectors_record`, and the tokenizer a
family builds is resolved by `vecgraft.finetune.text_settings`.

    >>> from vecgraft.nn.models import ModelKind
    >>> type(model_family(ModelKind.CNN)).__name__
    'EmbeddingFamily'
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from vecgraft._util.console import percent
from vecgraft._util.options import parse_enum
from vecgraft.errors import CheckpointError, ConfigError
from vecgraft.finetune.batching import EncodedData, encode_texts
from vecgraft.finetune.config import FinetuneConfig, Task
from vecgraft.finetune.text_settings import LOWERCASE_SAMPLE, run_tokenizer
from vecgraft.finetune.vectors_arg import (
    VectorFile,
    VectorsArg,
    config_vector_file,
    short_vectors_name,
    vectors_name,
)
from vecgraft.io._limits import available_memory
from vecgraft.nn.models import ModelKind
from vecgraft.nn.target import TargetScale, restore_scale, target_text
from vecgraft.text.vocab import Vocab
from vecgraft.vectors import Vectors

__all__ = [
    "EmbeddingFamily",
    "ModelFamily",
    "ModelInputs",
    "ModelSetup",
    "build_embedding",
    "check_family_settings",
    "clip_texts",
    "extend_vocab",
    "text_subword_coverage",
    "text_type_coverage",
    "length_cap",
    "memory_budget",
    "model_family",
    "model_meta",
    "register_family",
]


# keys of `model.config` that are not keyword options of build_model
_NOT_OPTIONS = ("kind", "num_classes", "embedding")
# with no --max-length, texts are cut to this many characters per allowed token before
# tokenizing, so a 50 MB text is never tokenized whole (a token is at least one character)
_CHARS_PER_TOKEN = 64
# rough 4-byte values per token, per embedding dimension, per example of one training step:
# embedding output, activations, gradients; an estimate, not a measurement
_ACTIVATIONS_PER_DIM = 32


def memory_budget() -> int:
    """Bytes one training batch may plan on: a quarter of the memory available now.

    `available_memory` (free memory, capped by `ulimit -v`, on Windows and macOS too: its
    own `sysconf` read saw none on Windows); 8 GiB when it cannot tell.
    """
    free = available_memory()
    return (8 << 30 if free is None else free) // 4


def length_cap(config: FinetuneConfig) -> int:
    """Tokens per text that one batch of `config.batch_size` can afford (at least 64)."""
    per_token = config.batch_size * 4 * max(config.embedding_dim, 64) * _ACTIVATIONS_PER_DIM
    return max(64, memory_budget() // per_token)


def clip_texts(texts: Sequence[str], max_tokens: int) -> list[str]:
    """Texts cut to `max_tokens * 64` characters (enough for `max_tokens` normal tokens)."""
    limit = max_tokens * _CHARS_PER_TOKEN
    return [t if len(t) <= limit else t[:limit] for t in texts]


def _ignore(_msg: str) -> None:
    return None


@dataclass
class ModelInputs:
    """What a family may use to build a model: settings and the training texts only.

    Attributes:
        config: the run's settings (`config.model` is the kind asked for).
        train_texts: training texts (vocabularies come from these, never from test data).
        num_classes: number of labels C (a regression: 1, its one output).
        vectors: vectors to use instead of loading `config.vectors` (see `finetune`).
        log: where progress lines go.
        train_targets: a regression's training numbers (None: a classification); families
            that can put their outputs on the targets' scale use them.
        labels: a classification's label names, by class id (None: unknown or regression).
        rules: the tokenizer rules of the checkpoint a resume continues (`saved_rules`);
            None: the run's own.
        user_dict_normalized: whether that checkpoint's tokenizer converts its jieba
            dictionary's words as the texts are (`saved_user_dict_normalized`); None: the
            run's own choice.
    """

    config: FinetuneConfig
    train_texts: list[str]
    num_classes: int
    vectors: VectorsArg = None
    log: Callable[[str], None] = field(default=_ignore)
    train_targets: list[float] | None = None
    labels: list[str] | None = None
    rules: int | None = None
    user_dict_normalized: bool | None = None


@dataclass
class ModelSetup:
    """A family's model and how to feed it.

    Attributes:
        model: `forward(ids [B, T], lengths [B]) -> logits [B, C]`, with its input embedding
            as `model.embedding` (the trainer freezes it and gives it its own learning rate).
        vocab: token ids of `encode` (saved with every checkpoint).
        meta: what `rebuild` needs to recreate the model (saved as `model.json`).
        encode: `encode(texts, label_ids)` -> EncodedData for the trainer.
        alignment: AlignmentReport of pretrained vectors (None: none were used).
        save_files: writes the family's own files into each checkpoint folder (e.g. a Hugging
            Face config and tokenizer, so the folder is also a Hugging Face checkpoint).
        tokenizer: the word tokenizer `encode` uses (None: the family reads text its own way,
            such as a subword tokenizer); the recipe says how many texts it leaves empty.
    """

    model: nn.Module
    vocab: Vocab
    meta: dict[str, Any]
    encode: Callable[[Sequence[str], Sequence[Any]], EncodedData]
    alignment: Any = None
    save_files: Callable[[Path], None] | None = None
    tokenizer: Any = None


class ModelFamily(Protocol):
    """What the recipe and `load_run` need from a kind of classifier."""

    def setup(self, inputs: ModelInputs) -> ModelSetup:
        """Build the untrained model and its text encoder from the training texts."""
        ...

    def rebuild(self, meta: Mapping[str, Any], *, source: str) -> nn.Module:
        """An untrained model of the architecture `meta` (a `ModelSetup.meta`) describes."""
        ...


def build_embedding(
    config: FinetuneConfig, vocab: Any, vectors: VectorsArg, log: Callable[[str], None]
) -> tuple[nn.Embedding, Any]:
    """The model's embedding and its AlignmentReport (None for a random embedding)."""
    from vecgraft.nn.embedding import pretrained_embedding, random_embedding

    if vectors is None and config.vectors == "random":
        return random_embedding(vocab, config.embedding_dim, config.seed), None
    loaded: Vectors
    bounded = vectors is None  # read from the file for the vocabulary (`load(vocab=)`)
    if isinstance(vectors, Vectors):
        loaded = vectors
    elif vectors is not None:
        loaded = vectors(list(vocab.tokens))
    else:
        from vecgraft.io import load

        loaded = load(config.vectors, vocab=vocab.tokens)
    loaded = _finite_only(loaded, log)
    embedding = pretrained_embedding(vocab, loaded, freeze=False, seed=config.seed)
    report = getattr(embedding, "alignment_report", None)
    if report is not None:
        types = text_type_coverage(report, vocab)
        name = vectors_name(config, loaded)
        # a file read for the vocabulary holds only the rows its words match: 101,588 of
        # GloVe's 400,000 read as the file's size
        rows = f"{len(loaded):,}" + (" (the rows the vocabulary matches)" if bounded else "")
        log(f"Vectors: {rows} x {loaded.dim} from {name}; coverage {_coverage_text(report, vocab)}")
        noise = _untrained_warning(report, vocab, short_vectors_name(config, loaded))
        if noise:
            log(noise)
        if report.token_coverage < LOW_COVERAGE or types < LOW_TYPE_COVERAGE:
            log(
                f"WARNING: only {report.token_coverage:.1%} of training tokens and "
                f"{types:.1%} of word types have a vector in {name}: {coverage_hint(vocab)}"
            )
        for line in chinese_form_hints(vocab, loaded):
            log(f"WARNING: {line}")
        if loaded.has_subwords:
            log(_subwords_note(config, loaded))
    return embedding, report


def _subwords_note(config: FinetuneConfig, vectors: Vectors) -> str:
    """What fastText's subwords do in a run: rows for its vocabulary, nothing after.

    The README said they give unseen words the same vectors as `vecgraft.load(DIR)`, which
    holds only while the run starts: the run keeps an embedding row per vocabulary word and
    not the n-gram table (800 MB at fastText's defaults), so a word first met at test or
    predict time maps to <unk>.
    """
    from vecgraft._util.console import byte_size

    ngrams = getattr(vectors.subword, "ngrams", None)
    size = f", {byte_size(ngrams.nbytes, si=True)}" if isinstance(ngrams, np.ndarray) else ""
    where = "is not in the training texts"
    if config.extend_vocab:
        where = ("is neither in the training texts nor among the vectors' words the run took "
                 f"(extend_vocab {config.extend_vocab:,})")  # fmt: skip
    return (
        "Subwords: the training texts' words these fastText vectors lack got vectors built "
        f"from their subwords; a word first met at test or predict time that {where} maps "
        f"to <unk>: the run keeps a row per word, not the vectors' n-gram table{size}"
    )


def _finite_only(vectors: Vectors, log: Callable[[str], None]) -> Vectors:
    """`vectors` without its NaN/Inf rows (`--allow-nonfinite` loads keep them), said.

    One such row in a training embedding makes every loss NaN from the first batch that
    holds its word: a run trained all its epochs at "Loss: nan" and ended on an error
    about its own state file. Its words are initialised as words without a vector are.
    """
    import numpy as np

    finite = np.isfinite(vectors.matrix).all(axis=1)
    if finite.all():
        return vectors
    bad = [w for w, ok in zip(vectors.words, finite) if not ok]
    log(f"{len(bad):,} vector row(s) hold NaN or Inf ({', '.join(map(repr, bad[:3]))}"
        f"{', ...' if len(bad) > 3 else ''}): their words are initialised as words without a "
        "vector, since one such row makes the training loss NaN")  # fmt: skip
    keep = np.flatnonzero(finite)
    return Vectors([vectors.words[i] for i in keep], vectors.matrix[keep],
                   subword=vectors.subword, source=vectors.source, metadata=vectors.metadata)


def coverage_hint(vocab: Any) -> str:
    """Why few training words have a vector, as far as the run's tokenizer tells.

    The hint "check --tokenizer, e.g. jieba for Chinese" was given to a run that already
    segmented its Chinese texts with jieba (English GloVe on Chinese text): there the
    vectors lack the language, which no tokenizer fixes. The kind is named, not as a flag:
    the run may have chosen it itself (`auto_tokenizer`), not from `--tokenizer`.
    """
    kind = ((getattr(vocab, "metadata", None) or {}).get("tokenizer") or {}).get("kind")
    if kind not in ("jieba", "char"):
        return ("the text is probably split or cased differently from the vectors' corpus, "
                "or in another language (check --tokenizer, e.g. jieba for Chinese, and "
                "--lower)")  # fmt: skip
    if _han_token_share(vocab) >= 0.5:
        return (f"the texts are Chinese and already segmented ({kind}), so the "
                "vectors seem to lack Chinese words: use vectors trained on Chinese text")
    return (f"the vectors seem to lack the texts' language or script, or the {kind} tokenizer "
            "splits them unlike the vectors' corpus (check --tokenizer and --lower)")


def _han_token_share(vocab: Any) -> float:
    """Share of the training tokens (of the `FORM_SAMPLE` commonest words) holding Han."""
    from vecgraft.text.zh import HAN

    counts = getattr(vocab, "counts", None) or {}
    words = [w for w in list(getattr(vocab, "tokens", []))[:FORM_SAMPLE] if counts.get(w)]
    total = sum(counts[w] for w in words)
    return sum(counts[w] for w in words if HAN.search(w)) / total if total else 0.0


# a share of the training words in a form (traditional, full-width) the vectors nearly lack
FORM_HINT_SHARE = 0.2
FORM_SAMPLE = 20_000  # training words looked at, the commonest


def chinese_form_hints(vocab: Any, vectors: Vectors) -> list[str]:
    """Traditional or full-width training words the vectors have only as simplified / ASCII.

    Traditional, full-width ChnSentiCorp text on simplified word2vec: word-type coverage
    17 % instead of 40 %, and no word of `--simplified --halfwidth`, the flags that fix it.
    Said only when the tokenizer does not already convert (its config in `vocab.metadata`).
    """
    from vecgraft.text.zh import HALFWIDTH, traditional_share

    config = (getattr(vocab, "metadata", None) or {}).get("tokenizer") or {}
    all_counts = getattr(vocab, "counts", None) or {}
    # a Vocab lists its tokens by frequency: the commonest FORM_SAMPLE decide
    words = [w for w in list(getattr(vocab, "tokens", []))[:FORM_SAMPLE] if all_counts.get(w)]
    counts = {w: all_counts[w] for w in words}
    said = []
    if not config.get("simplified"):
        ours = traditional_share(words)
        if ours is not None and ours >= FORM_HINT_SHARE:
            theirs = traditional_share(vectors.words)
            if theirs is not None and theirs < ours / 4:
                said.append(
                    f"{ours:.0%} of the training texts' Chinese words are traditional, the "
                    f"vectors' words simplified ({percent(theirs)} traditional): pass --simplified "
                    "to convert the texts (OpenCC) before they are tokenized"
                )
    if not config.get("halfwidth"):
        total = sum(counts.values())
        wide = sum(n for w, n in counts.items() if any(ord(c) in HALFWIDTH for c in w))
        if total and wide / total >= FORM_HINT_SHARE / 10:
            head = vectors.words[:LOWERCASE_SAMPLE]
            theirs = sum(any(ord(c) in HALFWIDTH for c in w) for w in head) / max(len(head), 1)
            if theirs < wide / total / 4:
                said.append(
                    f"{percent(wide / total)} of the training tokens hold full-width letters, "
                    f"digits or symbols (ＡＢＣ１２３), {percent(theirs)} of the vectors' words: "
                    "pass --halfwidth to map them to ASCII before they are tokenized"
                )
    return said


# Texts past --max-length are cut without a word otherwise; a few long outliers are normal
TRUNCATION_NOTE_SHARE = 0.05  # of the training texts, from which the cut is reported


def note_truncation(
    cut: Sequence[int],
    texts: int,
    max_length: int,
    log: Callable[[str], None],
    change: str = "--max-length N to change, 0: no limit",
) -> None:
    """Say how many training texts `--max-length` truncates, when it is more than a few.

    Args:
        cut: full token count of each truncated text.
        texts: number of texts encoded.
        max_length: the token limit they were cut to.
        log: where the note goes.
        change: how to change it (a transformer's position table caps it: no "0").
    """
    if not texts or len(cut) / texts < TRUNCATION_NOTE_SHARE:
        return
    median = sorted(cut)[len(cut) // 2]
    log(f"Truncation: {len(cut):,} of {texts:,} training texts are longer than --max-length "
        f"{max_length} tokens (median of those {median:,}, longest {max(cut):,}); the network "
        f"reads only their first {max_length} ({change})")  # fmt: skip


# a share of texts left without a token that is more than a stray row: a WARNING
EMPTY_TEXT_WARNING_SHARE = 0.1


def empty_texts_line(
    which: str,
    texts: Sequence[str],
    ids: Sequence[Sequence[int]],
    tokenizer: Any,
    stopwords: Any = None,
) -> str | None:
    """How many of the `which` ("training", "test") texts have no token (None: none).

    Such a text is read as empty: the model sees padding alone. `--stopwords en` on short
    questions left 1,263 of 1,500 training texts so, in silence. From
    `EMPTY_TEXT_WARNING_SHARE` of the texts on it is a WARNING; where the `stopwords` list
    (the run's `--stopwords`) removed every word of some of them, the line says so.
    """
    empty = [i for i, row in enumerate(ids) if not row]
    if not empty:
        return None
    share = len(empty) / len(ids)
    how = "tokenizing" if stopwords is None else "tokenizing and removing stopwords"
    line = (f"{len(empty):,} of {len(ids):,} {which} texts ({percent(share)}) have no tokens after "
            f"{how} (they are read as empty)")  # fmt: skip
    emptied = 0 if stopwords is None else _emptied_by_stopwords(tokenizer, texts, empty)
    if emptied:
        flag = f"--stopwords {stopwords}" if isinstance(stopwords, str) else "the stopword list"
        line += (f"; {flag} removed every word of {emptied:,} of them (a narrower list, as a "
                 "file with one word per line, or none keeps their words)")  # fmt: skip
    return f"WARNING: {line}" if share >= EMPTY_TEXT_WARNING_SHARE else line


def _emptied_by_stopwords(tokenizer: Any, texts: Sequence[str], empty: list[int]) -> int:
    """How many of the texts `empty` indexes have tokens before `tokenizer` drops stopwords."""
    stopwords, stats = tokenizer.stopwords, tokenizer.stats
    tokenizer.stopwords = frozenset()  # the same tokenizer (a jieba one keeps its dictionary)
    tokenizer.stats = type(stats)()  # its counts stay the run's
    try:
        return sum(1 for i in empty if tokenizer(texts[i]))
    finally:
        tokenizer.stopwords, tokenizer.stats = stopwords, stats


def scale_to_targets(model: nn.Module, inputs: ModelInputs, noun: str) -> TargetScale:
    """Make a regression `model` predict z-scores of `inputs.train_targets` (`nn.target`).

    Every family's regression does this, so the log line (`noun`: network, model) and the
    scale are the same wherever the model comes from.
    """
    targets = inputs.train_targets or []
    scale = TargetScale.of(targets)
    scale.attach(model)
    mean = target_text(scale.shift)
    if len(set(targets)) > 1:
        spread = f"standard deviation {target_text(scale.scale)}"
    else:  # it said "standard deviation 1" where the spread is 0
        spread = "a scale of 1 (the training targets do not vary: their standard deviation is 0)"
    inputs.log(f"Targets: the {noun} predicts z-scores, mapped back by the training mean "
               f"{mean} and {spread}")  # fmt: skip
    return scale


def _coverage_text(report: Any, vocab: Vocab) -> str:
    """The log's coverage: by the vectors' own words, then with fastText's subwords, noise said.

    Why: with fastText vectors every word gets a vector, and "100.0% of the training texts'
    word types" hid rows built from n-grams no trained word has (58.5 % of a Chinese run's).
    """
    split = text_subword_coverage(report, vocab)
    types, tokens = text_type_coverage(report, vocab), report.token_coverage
    if not split["type_subword_share"]:
        return f"{types:.1%} of the training texts' word types, {tokens:.1%} of their tokens"
    return (
        f"{split['type_coverage_words']:.1%} of the training texts' word types and "
        f"{split['token_coverage_words']:.1%} of their tokens by the vectors' words, "
        f"{types:.1%} and {tokens:.1%} with fastText subwords "
        f"({split['type_subword_share']:.1%} of the types; "
        f"{split['type_subword_untrained_share']:.1%} from n-grams no trained word "
        "has: noise)"
    )


def _untrained_warning(report: Any, vocab: Vocab, name: str) -> str | None:
    """A WARNING when over `UNTRAINED_WARN_SHARE` of the texts' types are subword noise."""
    from vecgraft.align import UNTRAINED_WARN_SHARE, untrained_advice

    share = text_subword_coverage(report, vocab)["type_subword_untrained_share"]
    if share <= UNTRAINED_WARN_SHARE:
        return None
    rows = report.subword_untrained_rows
    words = [vocab.tokens[i] for i in rows[:2000] if i < len(vocab)]
    return (
        f"WARNING: {share:.1%} of the training texts' word types got vectors from n-grams "
        f"that no word of {name} has: untrained or shared hash buckets, noise "
        f"rather than meaning; {untrained_advice(words)}"
    )


def text_subword_coverage(report: Any, vocab: Vocab) -> dict[str, float]:
    """The training texts' coverage split: the vectors' own words, and fastText's subwords.

    type_coverage_words / token_coverage_words: the texts' word types (tokens) whose row an
    `exact`, `casefold` or `normalized` match filled; type_subword_share: the types the
    `subword` rule filled; type_subword_untrained_share / token_subword_untrained_share:
    those of them from n-grams no word of the model has (noise). All shares of the texts'
    types (tokens), hence `_share` (the report's `types_subword*` are counts); the words
    `extend_vocab` added (all exact) are left out (`own_types`), as in the alignment note.
    """
    from vecgraft.align import own_types

    added = int(vocab.metadata.get("extended_from_vectors", 0))
    types = own_types(report.types, vocab)
    tokens = max(report.tokens, 1)
    subword, untrained = report.types_subword, report.types_subword_untrained
    return {
        "type_coverage_words": (report.types_matched - added - subword) / types,
        "token_coverage_words": (report.tokens_matched - report.tokens_subword) / tokens,
        "type_subword_share": subword / types,
        "type_subword_untrained_share": untrained / types,
        "token_subword_untrained_share": report.tokens_subword_untrained / tokens,
    }


def text_type_coverage(report: Any, vocab: Vocab) -> float:
    """Share of the training texts' word types with a vector.

    The words `extend_vocab` added are left out: they all have one, and are not the texts'.
    """
    added = int(vocab.metadata.get("extended_from_vectors", 0))
    return (report.types_matched - added) / max(report.types - added, 1)


def extend_vocab(
    config: FinetuneConfig, vocab: Vocab, vectors: VectorsArg, lower: bool,
    log: Callable[[str], None],
) -> tuple[Vocab, VectorsArg]:
    """`vocab` plus up to `config.extend_vocab` words of the vectors it lacks; their vectors.

    The vectors' file order (most frequent first) decides which words. A lowercased run
    skips words with capitals, which its tokens never are. A file is read twice, both
    bounded: its first `extend_vocab + len(vocab)` rows (where the added words are) and the
    rows of the vocabulary's words, as without the option, so a file too large to load
    whole still works. Random vectors and vectors derived per word (a plain function) have
    no word list: the vocabulary is returned as is.
    """
    if config.vectors == "random" and vectors is None:
        return vocab, vectors
    head_rows = config.extend_vocab + len(vocab)
    # --no-progress: no lines from the load either (a big file read in a pipe writes some)
    file = config_vector_file(config, progress=config.progress) if vectors is None else vectors
    if isinstance(file, VectorFile):
        with _one_duplicates_warning():
            head = file.read(None, head_rows)
        own = file.read(list(vocab.tokens), None)
        head_words, joined = head.words, _joined(own, head)
    elif isinstance(vectors, Vectors):
        # the same first rows a file gives (tune passes the whole table): a lowercased run on
        # cased vectors added 3,000 words from all of it and 2,102 from the file's first rows
        head_words, joined = vectors.words[:head_rows], vectors
    else:
        log("extend_vocab: these vectors are derived per word (no word list); not extended")
        return vocab, vectors
    extra: list[str] = []
    for word in head_words:
        if len(extra) == config.extend_vocab:
            break
        if word not in vocab and not (lower and word != word.lower()):
            extra.append(word)
    log(f"Vocabulary: {len(vocab):,} rows from the training texts + {len(extra):,} words of "
        f"the vectors they lack (extend_vocab {config.extend_vocab:,}){_pruned_note(config)}")
    return vocab.extended(extra, extended_from_vectors=len(extra)), joined


def _pruned_note(config: FinetuneConfig) -> str:
    """What `extend_vocab` does to a pruned vocabulary, which the log left unsaid.

    The training words `min_freq` or `max_size` dropped are words the vectors' word list
    often holds, so most come back as vector rows: a user who capped the vocabulary to
    keep the model small, or to keep rare words out, would not know.
    """
    pruned = [name for name, on in (("min_freq", config.min_freq > 1),
                                    ("max_size", config.max_size is not None)) if on]
    if not pruned:
        return ""
    return (f"; training words {' and '.join(pruned)} dropped are among them where the "
            "vectors have them (extend_vocab 0 keeps them out)")


@contextlib.contextmanager
def _one_duplicates_warning() -> Iterator[None]:
    """Quiet the first of the two reads about duplicate words; the second says it.

    Each read counts the duplicates it met, so the two counts differ (6, then 5) and a user
    saw both.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*duplicate words.*; kept the first")
        yield


def _joined(own: Vectors, head: Vectors) -> Vectors:
    """`own` (its subword model and metadata too) plus the rows of `head` it lacks.

    All of `head`, not only the added words: the alignment's `normalized` rule can then
    match a training word to any of the file's first rows, as it can with the whole file.
    """
    added = head.subset(w for w in head.words if w not in own.index)
    return Vectors(
        [*own.words, *added.words],
        np.concatenate([np.asarray(own.matrix), added.matrix]),
        subword=own.subword,
        source=own.source,
        metadata=own.metadata,
    )


# below this share of training tokens with a vector the run is almost surely misconfigured
LOW_COVERAGE = 0.2
# ... or of word types: punctuation and digits can lift the token share of a text split
# unlike the vectors' corpus (Chinese without jieba: 40 % of tokens, 1 % of types)
LOW_TYPE_COVERAGE = 0.1


def check_family_settings(config: FinetuneConfig, vectors: VectorsArg = None) -> None:
    """Refuse what the family of `config.model` would refuse in its `setup`, before the data.

    A family may define `check(config, vectors)` (the embedding family builds its
    tokenizer; linear and hf read the texts their own way and define none). Why: `setup`
    runs after the data is read, so `tune` failed every trial alike on such a setting.
    """
    check = getattr(model_family(config.model), "check", None)
    if check is not None:
        check(config, vectors)


def model_meta(
    model: nn.Module,
    kind: ModelKind | str,
    num_classes: int,
    tokenizer: Any,
    max_length: int | None,
) -> dict[str, Any]:
    """What `rebuild` needs to recreate `model` (saved as `model.json`)."""
    emb = model.embedding
    if not isinstance(emb, nn.Embedding):
        raise TypeError("model.embedding must be an nn.Embedding")
    config = getattr(model, "config", None)
    return {
        "kind": str(kind),
        "model_config": dict(config) if isinstance(config, Mapping) else {},
        "num_classes": num_classes,
        "vocab_size": int(emb.num_embeddings),
        "embedding_dim": int(emb.embedding_dim),
        "padding_idx": emb.padding_idx,
        "tokenizer": tokenizer.config,
        "max_length": max_length,
    }


class EmbeddingFamily:
    """boe, cnn, rnn and transformer classifiers on an `nn.Embedding` (pretrained or random).

    The vocabulary is built from the training texts with the configured tokenizer; the
    embedding is aligned to it from `config.vectors`.
    """

    def check(self, config: FinetuneConfig, vectors: VectorsArg = None) -> None:
        """Refuse the text settings `setup` would refuse, before any text is read.

        Builds the run's tokenizer as `setup` does: `--zh-mode char` without jieba, a
        stopword file or language that is not there. The case is left unresolved (False
        when unset): lowercasing refuses nothing, and deciding it reads the vectors' rows.
        """
        unset = config.lower is None
        run_tokenizer(config.replace(lower=False) if unset else config, vectors, _ignore)

    def setup(self, inputs: ModelInputs) -> ModelSetup:
        """Tokenizer, vocabulary, embedding and model (seeded by `config.seed`)."""
        from vecgraft.nn.models import build_model
        from vecgraft.text.vocab_build import _build_vocab

        cfg = inputs.config
        tokenizer, lower = run_tokenizer(
            cfg, inputs.vectors, inputs.log, inputs.rules, inputs.user_dict_normalized
        )
        max_length, texts = cfg.max_length, inputs.train_texts
        if max_length is None:  # "no limit" still stops short of what memory allows
            max_length = length_cap(cfg)
            texts = clip_texts(texts, max_length)
        # --no-progress: no "counting tokens" bar either (a tune trial's drew one per fold)
        vocab = _build_vocab(  # no warning: the run log says it, below (tune says it once)
            texts, tokenizer, min_freq=cfg.min_freq, max_size=cfg.max_size,
            progress=cfg.progress,
        )  # fmt: skip
        for line in vocab.metadata.get("unsegmented", []):  # judged before min_freq pruned
            inputs.log(f"WARNING: {line}")  # Chinese, Japanese, Thai ... read as whole clauses
        vectors = inputs.vectors
        if cfg.extend_vocab:
            vocab, vectors = extend_vocab(cfg, vocab, vectors, lower, inputs.log)
        embedding, report = build_embedding(cfg, vocab, vectors, inputs.log)
        pad = vocab.pad_index if vocab.pad_index is not None else 0
        warned: list[bool] = []
        told: list[bool] = []

        regression = cfg.task is Task.REGRESSION

        def encode(texts: Sequence[str], labels: Sequence[Any]) -> EncodedData:
            if cfg.max_length is not None:
                cut: list[int] = []
                ids = encode_texts(list(texts), tokenizer, vocab, max_length, cut)
                if not told:  # the first texts encoded are the training split's
                    told.append(True)
                    note_truncation(cut, len(ids), max_length, inputs.log)
                return EncodedData(ids, list(labels), pad, regression=regression)
            ids = encode_texts(clip_texts(texts, max_length), tokenizer, vocab, max_length)
            if not warned and any(len(row) >= max_length for row in ids):
                warned.append(True)
                inputs.log(
                    f"--max-length 0 (no limit): texts are capped at {max_length} tokens, about "
                    f"what memory allows for --batch-size {cfg.batch_size} and dimension "
                    f"{max(cfg.embedding_dim, 64)}; pass --max-length N to choose the limit"
                )
            return EncodedData(ids, list(labels), pad, regression=regression)

        torch.manual_seed(cfg.seed)
        model = build_model(cfg.model, embedding, inputs.num_classes, **cfg.model_options)
        meta = model_meta(model, cfg.model, inputs.num_classes, tokenizer, max_length)
        meta["task"] = str(cfg.task)
        if regression and inputs.train_targets is not None:
            meta["target_scale"] = scale_to_targets(model, inputs, "network").to_dict()
        return ModelSetup(model, vocab, meta, encode, report, tokenizer=tokenizer)

    def rebuild(self, meta: Mapping[str, Any], *, source: str) -> nn.Module:
        """The classifier of `meta` on a zero embedding of the saved shape.

        Zeros, not `nn.Embedding`'s normal draw: the weights are loaded next, and on the meta
        device (`load_run`'s shape check) the first normal draw imports torch._dynamo, 0.7 s
        of every `vecgraft predict`.
        """
        from vecgraft.nn.models import build_model, restored_options

        try:
            rows, dim = int(meta["vocab_size"]), int(meta["embedding_dim"])
            embedding = nn.Embedding(
                rows, dim, padding_idx=meta["padding_idx"], _weight=torch.zeros(rows, dim)
            )
            config = dict(meta["model_config"])
            options = {k: v for k, v in config.items() if k not in _NOT_OPTIONS}
            options = restored_options(meta["kind"], options)
            model = build_model(meta["kind"], embedding, int(meta["num_classes"]), **options)
            restore_scale(model, meta.get("target_scale"))
            return model
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{source}: cannot rebuild the model ({exc!r})") from exc


_FAMILIES: dict[ModelKind, ModelFamily] = {}


def register_family(family: ModelFamily, *kinds: ModelKind | str) -> None:
    """Make `family` the builder of each of `kinds` (a later registration replaces one)."""
    for kind in kinds:
        _FAMILIES[parse_enum(ModelKind, kind, "model")] = family


def model_family(kind: ModelKind | str) -> ModelFamily:
    """The registered family of `kind`; a ConfigError when none is."""
    model_kind = parse_enum(ModelKind, kind, "model")
    if model_kind is ModelKind.LINEAR and model_kind not in _FAMILIES:
        import vecgraft.finetune.linear_recipe  # noqa: F401  (registers the linear family)
    if model_kind is ModelKind.HF and model_kind not in _FAMILIES:
        from vecgraft.finetune import hf_family  # noqa: F401  (registers itself)
    try:
        return _FAMILIES[model_kind]
    except KeyError:
        raise ConfigError(f"no model family is registered for model {model_kind.value!r}") from None


# linear and hf have families of their own, registered when first asked for (model_family)
register_family(
    EmbeddingFamily(),
    *(kind for kind in ModelKind if kind not in (ModelKind.LINEAR, ModelKind.HF)),
)
