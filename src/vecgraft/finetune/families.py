"""Model families: the recipe's extension point for a new kind of classifier.

A family turns the training texts into a model and an encoder of texts (`setup`), and turns a
saved `model.json` back into an untrained model of the same shape (`rebuild`). The recipe
(`vecgraft.finetune.recipe`) asks the registry for the family of `config.model` and never
looks inside it, so a new family (a Hugging Face sequence classifier, a TF-IDF linear
baseline) is one class plus `register_family(family, ModelKind.X)`, not an edit of the
training pipeline.

    >>> from vecgraft.nn.models import ModelKind
    >>> type(model_family(ModelKind.CNN)).__name__
    'EmbeddingFamily'
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeGuard

import numpy as np
import torch
from torch import nn

from vecgraft._util.console import percent
from vecgraft._util.jsonfile import RECORD_LIMIT, read_json_file
from vecgraft._util.options import parse_enum
from vecgraft.errors import CheckpointError, ConfigError, DataError
from vecgraft.finetune.batching import EncodedData, encode_texts
from vecgraft.finetune.config import (
    IN_MEMORY_VECTORS,
    FinetuneConfig,
    Task,
    in_memory_error,
    in_memory_vectors,
    user_dict_needs_jieba,
)
from vecgraft.io._limits import available_memory
from vecgraft.nn.models import ModelKind
from vecgraft.nn.target import TargetScale, restore_scale, target_text
from vecgraft.text.unspaced import (
    chinese_why,
    chinese_word_share,
    jieba_for_chinese,
    texts_are_chinese,
)
from vecgraft.text.vocab import Vocab
from vecgraft.vectors import Vectors

if TYPE_CHECKING:
    from vecgraft.text.tokenize import Tokenizer

__all__ = [
    "EmbeddingFamily",
    "ModelFamily",
    "ModelInputs",
    "ModelSetup",
    "VectorFile",
    "VectorsArg",
    "build_embedding",
    "check_family_settings",
    "check_user_dict",
    "check_vectors_arg",
    "record_vectors",
    "clip_texts",
    "auto_tokenizer",
    "extend_vocab",
    "text_type_coverage",
    "jieba_for",
    "left_to_texts",
    "length_cap",
    "memory_budget",
    "lowercase_words",
    "model_family",
    "model_meta",
    "register_family",
    "resolve_text_options",
    "run_tokenizer",
    "texts_are_chinese",
    "tokenizer_settings",
    "vectors_metadata",
    "vectors_record",
]


@dataclass(frozen=True)
class VectorFile:
    """Vectors read on demand from a file, bounded: a vocabulary's words, or the first rows.

    `read(words, limit)` gives the rows of `words`, or with `words` None the file's first
    `limit` rows. What the CLI passes with its load flags (`--trust`, `--max-line-bytes`,
    ...), so that `extend_vocab` can list the file's first words, which a plain function of
    words (a vector derived per word, `hf:`) has no list of.
    """

    read: Callable[[list[str] | None, int | None], Vectors]
    # how the file is read, as the run records it (`splits.json`'s "vector_options"): the
    # CLI's reading flags, which `--resume` must give again to read the same rows
    options: Mapping[str, Any] = field(default_factory=dict)

    def __call__(self, words: list[str]) -> Vectors:
        """The vectors of `words` (what any vectors function gives)."""
        return self.read(words, None)


VectorsArg = Vectors | Callable[[list[str]], Vectors] | None


def check_vectors_arg(vectors: Any) -> VectorsArg:
    """`vectors` as `finetune(config, vectors=...)` takes them, or a ConfigError naming the call.

    A path there said "'str' object is not callable" once the vocabulary was built: a file
    goes in the config (`FinetuneConfig(vectors="glove.txt")`), where a run reads it bounded
    and `config.json` records it.
    """
    if vectors is None or isinstance(vectors, Vectors):
        return vectors
    if isinstance(vectors, str | os.PathLike):
        raise ConfigError(
            f"finetune(config, vectors=...) takes vectors in memory (a Vectors, or a function "
            f"of the vocabulary's words returning one), not the path {os.fsdecode(vectors)!r}; "
            f"name a file in the config: FinetuneConfig(vectors={os.fsdecode(vectors)!r})"
        )
    if not callable(vectors):
        raise ConfigError(
            "finetune(config, vectors=...) takes a Vectors, or a function of the vocabulary's "
            f"words returning one; got a {type(vectors).__name__}"
        )
    return vectors


def record_vectors(config: FinetuneConfig, vectors: VectorsArg) -> FinetuneConfig:
    """`config`, recording the vectors passed in memory where it names no file.

    Its `vectors` was "random" in config.json and "from random" in the log of a run on
    400,000 GloVe rows, and a retrain from that config.json trained on random vectors. Now
    it says what they were (`IN_MEMORY_VECTORS`), not a path: a `Vectors` may be a bounded
    or edited load, which its source file would not give back. A config recording such
    vectors is refused without them (a `--resume`, a retrain), naming what to pass.
    """
    if vectors is None:
        if in_memory_vectors(config.vectors):
            raise in_memory_error(config.vectors)
        return config
    if config.vectors != "random":  # the file they came from, as the caller says (tune)
        return config
    if isinstance(vectors, Vectors):
        source = f", source {vectors.source}" if vectors.source else ""
        what = f"{len(vectors):,} x {vectors.dim} Vectors{source}"
    else:
        what = "a function of the vocabulary's words"
    return config.replace(vectors=f"{IN_MEMORY_VECTORS}: {what}>")


def vectors_name(config: FinetuneConfig, loaded: Vectors | None = None) -> str:
    """Where the run's vectors came from, for the log: `config.vectors`, or in memory."""
    if not in_memory_vectors(config.vectors):
        return config.vectors
    source = getattr(loaded, "source", None)
    return "the vectors passed in memory" + (f" (source {source})" if source else "")


def _vector_file(config: FinetuneConfig, **load_options: Any) -> VectorFile:
    """`config.vectors` read bounded by `vecgraft.load` (the library's `VectorFile`)."""
    from vecgraft.io import load

    return VectorFile(lambda words, limit: load(config.vectors, vocab=words, limit=limit,
                                                 **load_options))  # fmt: skip
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
        log(
            f"Vectors: {rows} x {loaded.dim} from {name}; coverage "
            f"{types:.1%} of the training texts' word types, "
            f"{report.token_coverage:.1%} of their tokens"
        )
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
    file = _vector_file(config, progress=config.progress) if vectors is None else vectors
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


# how many of the vectors' first (most frequent) words decide whether they are lowercase
LOWERCASE_SAMPLE = 2000
# below this share of training tokens with a vector the run is almost surely misconfigured
LOW_COVERAGE = 0.2
# ... or of word types: punctuation and digits can lift the token share of a text split
# unlike the vectors' corpus (Chinese without jieba: 40 % of tokens, 1 % of types)
LOW_TYPE_COVERAGE = 0.1


@dataclass(frozen=True)
class RecordSource:
    """Where a tokenizer taken from the vectors is recorded, in the words the log says it.

    `the`: "Tokenizer: jieba (from {the}; ...)"; `their`: "... trained on char ({their})".
    Why: every such line said "the vectors' metadata.json", also of a native file that
    keeps its tokenizer alone (`from-transformer --vocab`, `export`) and has none.
    """

    the: str
    their: str


# a metadata.json in or beside the vectors (`vecgraft pretrain` writes one)
FROM_METADATA_JSON = RecordSource("the vectors' metadata.json", "their metadata.json")
# ... that records another tokenizer than the native file it describes: it wins, said so
FROM_METADATA_JSON_OVER_FILE = RecordSource(
    "the vectors' metadata.json, which overrides the vectors file's own metadata",
    "their metadata.json",
)
# a vecgraft native file's embedded metadata, with no metadata.json that says the same
FROM_FILE_METADATA = RecordSource(
    "the vectors file's own metadata", "their file's own metadata"
)
# ... over a metadata.json that lists the file and records another tokenizer, but was not
# written with this file (a native file saved into a pretrain folder since): said so
FROM_FILE_OVER_STALE_JSON = RecordSource(
    "the vectors file's own metadata, over a metadata.json that does not describe this file",
    "their file's own metadata",
)
# why a metadata.json with no fingerprint (a user's, or written before pretrain recorded
# one) is not known to describe the native file: `_unproven`
_NOT_LISTED = "does not list this file"
_NO_SIZES = "records no word count or dim to show that it describes this file"
# loaded (in-memory) vectors' `metadata`, recorded at no path the run names
FROM_OWN_METADATA = RecordSource("the vectors' own metadata", "their own metadata")


def vectors_metadata(path: str) -> dict[str, Any]:
    """What is recorded with the vectors at `path` ({} if nothing).

    A folder's `metadata.json` (written by `vecgraft pretrain`) when it names a tokenizer
    and was written with the native file there, else a vecgraft native file's own
    metadata when it names one, else the metadata.json,
    else the native file's metadata as it is (`_json_standing`: which of the two wins). Why
    the native file's at all: `from-transformer --vocab` keeps the vocabulary's tokenizer
    in the native file alone; `tune`, which loads the vectors, cut texts with it, while
    `finetune`, `build` and `compare`, which name the path, read only a metadata.json.
    """
    return vectors_record(path)[0]


def vectors_record(path: str) -> tuple[dict[str, Any], RecordSource]:
    """`vectors_metadata(path)`, and where the tokenizer it gives is recorded.

    Each file read once: the native header and the metadata.json beside it were read for
    the metadata, then both again to say where its tokenizer came from.
    """
    return _record_of(*_read_at(path))


def _read_at(path: str) -> tuple[NativeRecord, dict[str, Any] | None, str | None]:
    """The native header and the metadata.json at `path`, each read once, and how they rank."""
    folder = Path(path)
    native, beside = _native_record(folder), _metadata_json(folder)
    return native, beside, _json_standing(folder, beside, native)


def _record_of(
    native: NativeRecord, beside: dict[str, Any] | None, standing: str | None
) -> tuple[dict[str, Any], RecordSource]:
    """`vectors_record` of what `_read_at` read."""
    embedded = native.metadata
    if beside is not None and standing == "first":
        data = beside
    elif beside is None or _names_kind(embedded.get("tokenizer")):
        data = embedded
    else:  # the native file names no tokenizer
        data = beside
    saved = data.get("tokenizer")
    return data, _source_of(saved if isinstance(saved, Mapping) else {}, beside, embedded, standing)


def _json_standing(
    path: Path, beside: Mapping[str, Any] | None, native: NativeRecord
) -> str | None:
    """How metadata.json `beside` ranks against the native file's own tokenizer at `path`.

    "first": it names a tokenizer, claims the file (it is the folder's, or lists the file
    among its `files`) and was written with it: it is the file the README tells users to
    read and edit, and its edits were ignored (a `user_dict` moved: "segmenting without
    it" of the old path). Written with it: its `FINGERPRINT_KEY` is the file's
    `native_fingerprint`, or, with none (pretrain wrote none before), it lists the file
    and the sizes it records are the file's (`_unproven`). Otherwise, where it claims
    the file, why it does not describe it ("does not describe this file": a native file
    saved into a pretrain folder since, `save` or `convert --overwrite`, was overridden
    by the earlier run's tokenizer). None: it claims no file there, or names no tokenizer
    (another native file in the folder, `from-transformer --vocab`, keeps its own).
    """
    if beside is None or not _names_kind(beside.get("tokenizer")):
        return None
    files = beside.get("files")
    listed = isinstance(files, Mapping) and native.name in files.values()
    if not path.is_dir() and not listed:
        return None
    from vecgraft.io.native import FINGERPRINT_KEY

    if FINGERPRINT_KEY in beside:
        written_with = native.fingerprint is not None \
            and beside[FINGERPRINT_KEY] == native.fingerprint  # fmt: skip
        return "first" if written_with else "does not describe this file"
    why = _unproven(beside, native) if listed else _NOT_LISTED
    return "first" if why is None else why


def _unproven(beside: Mapping[str, Any], native: NativeRecord) -> str | None:
    """Why a metadata.json with no fingerprint does not describe `native`; None: it does.

    Pretrain wrote no fingerprint before `FINGERPRINT_KEY`, but it wrote `vocab_size`
    and `options.dim`: an edit to such a folder's metadata.json was ignored, said as
    "over a metadata.json that does not describe this file", of the very file it was
    written with. Sizes it records that differ from the file's header say that another
    file was saved there since; no sizes at all say nothing either way, so the file's
    own tokenizer stays.
    """
    if native.words is None or native.dim is None:
        return None  # no native header: nothing for it to be outranked by
    options = beside.get("options")
    dim = options.get("dim") if isinstance(options, Mapping) else None
    recorded = [(beside.get("vocab_size"), native.words, "{:,} words", "holds {:,}"),
                (dim, native.dim, "dim {}", "has dim {}")]  # fmt: skip
    sizes = [row for row in recorded if isinstance(row[0], int) and not isinstance(row[0], bool)]
    if not sizes:
        return _NO_SIZES
    wrong = [row for row in sizes if row[0] != row[1]]
    if not wrong:
        return None
    said = [f"{ours.format(mine)} where this file {its.format(actual)}"
            for mine, actual, ours, its in wrong]  # fmt: skip
    return "records " + " and ".join(said)


def _names_kind(tokenizer: Any) -> TypeGuard[Mapping[str, Any]]:
    """Whether a recorded tokenizer names its kind (one that a run can rebuild)."""
    return isinstance(tokenizer, Mapping) and bool(tokenizer.get("kind"))


def _metadata_json(path: Path) -> dict[str, Any] | None:
    """The metadata.json in folder `path` or beside file `path`; None: none, or unreadable."""
    meta = path / "metadata.json" if path.is_dir() else path.parent / "metadata.json"
    try:
        data = read_json_file(meta, limit=RECORD_LIMIT)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _tokenizer_source(path: str | None, saved: Mapping[str, Any]) -> RecordSource:
    """Where tokenizer `saved`, taken from the vectors, is recorded (`RecordSource`).

    A metadata.json at `path` that records the same tokenizer is named first: a pretrain
    folder's native file repeats it, and its users know the metadata.json. Else the
    native file at `path` when it records it, else the loaded vectors' own metadata.
    """
    if path is None:
        return FROM_OWN_METADATA
    native, beside, standing = _read_at(path)
    return _source_of(saved, beside, native.metadata, standing)


def _source_of(
    saved: Mapping[str, Any],
    beside: Mapping[str, Any] | None,
    embedded: Mapping[str, Any],
    standing: str | None = None,
) -> RecordSource:
    """`_tokenizer_source` given what the metadata.json (`beside`) and native header hold.

    `standing`: `_json_standing`'s; other than "first" or None, why `beside` claims the
    native file but does not describe it, which the line says.
    """
    if beside is not None and beside.get("tokenizer") == saved:
        theirs = embedded.get("tokenizer")
        return FROM_METADATA_JSON_OVER_FILE if _names_kind(theirs) and theirs != saved \
            else FROM_METADATA_JSON  # fmt: skip
    if embedded.get("tokenizer") == saved:
        if standing in (None, "first") or not _names_kind(saved):
            return FROM_FILE_METADATA
        return RecordSource(
            f"the vectors file's own metadata, over a metadata.json that {standing}",
            FROM_FILE_OVER_STALE_JSON.their,
        )
    return FROM_OWN_METADATA


def vectors_tokenizer_source(path: str) -> RecordSource:
    """Where the tokenizer `vectors_metadata(path)` gives is recorded (`RecordSource`).

    For `intrinsic` and `compare`, whose notes said "their metadata.json" also of a native
    file that keeps its tokenizer alone (`from-transformer --vocab`) and has none.
    """
    return vectors_record(path)[1]


class NativeRecord(NamedTuple):
    """What a native file's header records, for `_json_standing`."""

    name: str  # the file's name (a folder's: `FOLDER_FILE`)
    metadata: dict[str, Any]
    fingerprint: int | None  # `native_fingerprint`'s, from the same read
    words: int | None  # how many (its header's `count`)
    dim: int | None


def _native_record(path: Path) -> NativeRecord:
    """What native file `path` (or its folder's) header records (`NativeRecord`).

    No metadata, fingerprint nor sizes for anything else, read from its first 9 bytes: a
    GloVe text file is never read further (a header length beyond the file, or no '{'
    after it, is no native file), and a named pipe is never opened (the load refuses it
    with its own error).
    """
    from vecgraft.errors import FormatError
    from vecgraft.io.native import (
        _MAX_HEADER,
        FOLDER_FILE,
        _read_header,
        _vecgraft_meta,
        header_fingerprint,
    )

    target = path / FOLDER_FILE if path.is_dir() else path
    none = NativeRecord(target.name, {}, None, None, None)
    if not target.is_file():  # a FIFO or device: opening one alone can block forever
        return none
    try:
        with open(target, "rb") as fh:
            size = fh.seek(0, 2)
            fh.seek(0)
            head = fh.read(9)
        n = int.from_bytes(head[:8], "little")
        if len(head) < 9 or head[8:9] != b"{" or n > min(_MAX_HEADER, size - 8):
            return none
        header, _, _ = _read_header(target)
        meta = _vecgraft_meta(header, target)
    except (OSError, ValueError, RecursionError, FormatError):  # a crafted or odd header
        return none
    stored, count, dim = meta.get("metadata"), meta.get("count"), meta.get("dim")
    return NativeRecord(
        target.name,
        dict(stored) if isinstance(stored, dict) else {},
        header_fingerprint(header),
        count if isinstance(count, int) else None,
        dim if isinstance(dim, int) else None,
    )


def lowercase_words(words: Sequence[str], sample: int = LOWERCASE_SAMPLE) -> bool:
    """Whether a vocabulary is lowercased: no uppercase letter among its first `sample` words.

    Vector files list words by frequency, so cased vectors (word2vec GoogleNews, fastText)
    show "The", "I", "U.S." at once; a stray cased row or two (< 0.5%) is tolerated. Only
    words with a cased letter count: Chinese words have none, and counting them as
    lowercase read cased Chinese vectors (XP, iPhone among 2,000 Chinese words) as
    lowercase, so the text was lowercased and those words went missing.
    """
    head = [w for w in words[:sample] if any(c.lower() != c.upper() for c in w)]
    cased = sum(1 for w in head if w != w.lower())
    return bool(head) and cased <= 0.005 * len(head)


def _saved_tokenizer(
    config: FinetuneConfig, vectors: VectorsArg
) -> tuple[Mapping[str, Any], RecordSource]:
    """The tokenizer recorded with the vectors ({} if none names a kind), and where.

    What is recorded at `config.vectors` and in loaded vectors' own metadata (`_recorded`
    says which wins), else none: `tune` loads
    the file once and passes the loaded vectors, and its trials ran jieba-trained vectors
    through the regex rule (3 % of word types covered, ChnSentiCorp 74.7 % against
    finetune's 87.0 %). Other callables (derived vectors) record none.
    """
    pretrained = vectors is not None or config.vectors != "random"
    if not pretrained or not (vectors is None or isinstance(vectors, VectorFile | Vectors)):
        return {}, FROM_OWN_METADATA
    metadata = vectors.metadata if isinstance(vectors, Vectors) else {}
    named = config.vectors != "random" and not in_memory_vectors(config.vectors)
    return _recorded(config.vectors if named else None, metadata.get("tokenizer"))


def _recorded(path: str | None, own: Any) -> tuple[Mapping[str, Any], RecordSource]:
    """The tokenizer recorded at `path` or in loaded vectors' metadata (`own`), and where.

    `own` first, but for a metadata.json at `path` that outranks the native file
    (`_json_standing`): loaded vectors carry the native file's metadata, and `tune` then
    followed it where `finetune` on the same path followed the metadata.json.
    """
    if path is None:
        return (own, FROM_OWN_METADATA) if _names_kind(own) else ({}, FROM_OWN_METADATA)
    native, beside, standing = _read_at(path)  # the files at `path`, each read once
    data, source = _record_of(native, beside, standing)
    saved = data.get("tokenizer")
    json_first = source in (FROM_METADATA_JSON, FROM_METADATA_JSON_OVER_FILE)
    if _names_kind(saved) and (json_first or not _names_kind(own)):
        return saved, source
    if _names_kind(own):  # where it is recorded, from the same read
        return own, _source_of(own, beside, native.metadata, standing)
    return {}, FROM_OWN_METADATA


def recorded_tokenizer(path: str | None, metadata: Mapping[str, Any]) -> Mapping[str, Any]:
    """The tokenizer recorded with vectors ({} if none names a kind).

    Their own `metadata` first, but for a metadata.json at `path` that outranks the native
    file they were loaded from (`_recorded`), else what is recorded at `path`
    (`vectors_metadata`: a native file's own metadata, or the `metadata.json` beside it).
    """
    return _recorded(path, metadata.get("tokenizer"))[0]


USER_DICT_JIEBA_NOTE = "Tokenizer: jieba (--user-dict is a jieba user dictionary)"


def auto_tokenizer(
    config: FinetuneConfig,
    vectors: VectorsArg,
    texts: Sequence[str],
    log: Callable[[str], None],
) -> FinetuneConfig:
    """`config` with `tokenizer` "jieba" where it names none and its training `texts` are Chinese.

    Why: without `--tokenizer` the regex rule cut Chinese reviews into whole clauses, a
    vocabulary of one-off tokens, and the run warned and trained on it anyway (a tester's
    2,000 reviews: the network alone 61.4 %, 14 points below the same run with jieba's words
    and in-domain vectors). Left as it is: a named tokenizer (`--tokenizer regex` keeps the
    regex rule, and its warning), vectors that record their own, a `hf` model (its own
    subword tokenizer), and texts that are not Chinese (English runs are unchanged). The
    choice is the config's from here on, so the run folder's config.json records it and a
    `--resume`, the fused linear half and `--model linear` all read jieba words. A
    `user_dict` (a jieba dictionary) chooses jieba whatever the texts: `--user-dict` alone
    was refused as needing `--tokenizer jieba`, where the run without it chose jieba.
    """
    if not left_to_texts(config, vectors):
        return config
    if config.user_dict is not None:
        log(USER_DICT_JIEBA_NOTE)
    elif not jieba_for(texts, log):
        return config
    return config.replace(tokenizer="jieba")


def left_to_texts(config: FinetuneConfig, vectors: VectorsArg) -> bool:
    """Whether `auto_tokenizer` decides `config`'s tokenizer (from its texts or user_dict).

    No tokenizer named, not a `hf` model, none recorded with the vectors: an earlier
    release read such texts with the regex rule, so a run, cell or study it left with
    `tokenizer` unset used "regex".
    """
    if config.tokenizer is not None or _is_hf(config):
        return False
    saved, _source = _saved_tokenizer(config, vectors)
    return not saved


def _is_hf(config: FinetuneConfig) -> bool:
    """Whether the run is model `hf` (read by the checkpoint's own subword tokenizer)."""
    return parse_enum(ModelKind, config.model, "model") is ModelKind.HF


def unnamed_kind(config: FinetuneConfig) -> str:
    """The tokenizer kind of a run that names none and whose vectors record none.

    jieba where it gives a jieba `user_dict` (not model `hf`, whose `--add-tokens` words
    keep the regex default): `auto_tokenizer` chooses it then. Else regex.
    """
    return "jieba" if config.user_dict is not None and not _is_hf(config) else "regex"


def jieba_for(texts: Sequence[str], log: Callable[[str], None]) -> bool:
    """Whether Chinese `texts` (`texts_are_chinese`) are to be segmented with jieba, said.

    Not where jieba is not installed: the run goes on with the regex rule (and its warning),
    as before, and the log names the package (`jieba_for_chinese`).
    """
    words = chinese_word_share(texts)  # the verdict (`texts_are_chinese`) and its share
    if words is None:
        return False
    why = chinese_why(texts, "the training texts are Chinese", "the training texts", words)
    return jieba_for_chinese(why, log)


def _saved_segmentation(
    saved: Mapping[str, Any], log: Callable[[str], None], *, own_dict: bool = False
) -> dict[str, Any]:
    """The vectors' jieba HMM switch and user dictionary (when the file is still there).

    Words segmented otherwise than at pretraining time (HMM off there, on here) are words
    the vectors lack: coverage dropped with no word of why. With `own_dict` (the run names
    a dictionary itself) the vectors' is left out, and not looked for. Its words are read
    as the vectors read them (`saved_user_dict_normalized`: as written, if pretrained before
    they were converted as the texts are).
    """
    from vecgraft.text.tokenize import saved_user_dict_normalized

    out: dict[str, Any] = {}
    if saved.get("hmm") is False:
        out["hmm"] = False
    user_dict = None if own_dict else saved.get("user_dict")
    if isinstance(user_dict, str) and Path(user_dict).is_file():
        out["user_dict"] = user_dict
        out["user_dict_normalized"] = saved_user_dict_normalized(saved)
    elif user_dict:
        log(
            f"The vectors were segmented with the jieba user dictionary {user_dict}, which "
            "is not found: segmenting without it (their words may go unmatched)"
        )
    return out


def check_user_dict(config: FinetuneConfig, vectors: VectorsArg = None) -> None:
    """Refuse a run's own jieba user dictionary before anything is read or trained.

    A missing file, or a tokenizer that is not jieba (named, from the vectors' metadata,
    or model `hf`'s regex default), failed only in the model's setup: every `tune` trial
    alike, or a `compare` cell after others had run. Named nowhere, the dictionary means
    jieba (`unnamed_kind`).
    """
    if config.user_dict is not None:
        saved, source = _saved_tokenizer(config, vectors)
        _given_user_dict(config, saved, lambda _m: None, source)


def _given_user_dict(
    config: FinetuneConfig,
    saved: Mapping[str, Any],
    log: Callable[[str], None],
    source: RecordSource,
) -> str:
    """`config.user_dict`, checked against the run's tokenizer kind and the file system.

    It replaces the dictionary the vectors were pretrained with (said, where that differs).
    `source`: where `saved` is recorded, named where the kind came from there.
    """
    user_dict = str(config.user_dict)
    pooled = isinstance(config.tokenizer, list) and "jieba" in config.tokenizer  # hf grafts
    kind = "jieba" if pooled else config.tokenizer_kind or saved.get("kind") or unnamed_kind(config)
    if kind != "jieba":
        why = ""
        if not config.tokenizer:  # not named: say where the kind came from
            why = f" (from {source.the})" if saved else " (the default)"
        raise user_dict_needs_jieba(kind, why)
    if not Path(user_dict).is_file():
        raise DataError(f"{user_dict}: jieba user dictionary not found")
    theirs = saved.get("user_dict") if saved.get("kind") == kind else None
    if isinstance(theirs, str) and Path(theirs).resolve() != Path(user_dict).resolve():
        log(f"Jieba user dictionary: {user_dict} (the vectors were segmented with {theirs})")
    return user_dict


_NORMALISATION_KEYS = ("pattern", "nfkc", "halfwidth", "simplified", "digits")


def _saved_rules(
    saved: Mapping[str, Any], log: Callable[[str], None], source: RecordSource
) -> dict[str, Any]:
    """The vectors' tokenizer rules, as `saved_rules` reads a saved config (`rules=1`: before 2).

    Their vocabulary holds each combining mark as a char token (ไ, ม, ่) and the parts of a
    word at a soft hyphen ("Straße", "nbahn"): split as new tokenizers do (ไ, ม่;
    "Straßenbahn"), such words of the vectors went unmatched. Recorded `rules` are taken as
    they are: an explicit `rules: 1` had been dropped and the run split with rules 2.
    """
    from vecgraft.text.tokenize import saved_rules

    rules = saved_rules(saved)
    if rules == 1 and "rules" not in saved and saved.get("kind") == "char":
        log(f"Tokenizer: each combining mark a char token of its own, as {source.the} "
            "records (pretrained before char tokens kept their marks)")  # fmt: skip
    return {"rules": rules}


def _saved_normalisation(
    saved: Mapping[str, Any],
    log: Callable[[str], None],
    source: RecordSource,
    given: Collection[str] = (),
) -> dict[str, Any]:
    """The vectors' text normalisation, for a run that names their tokenizer kind itself.

    `--tokenizer jieba` (the README's way for Chinese) on vectors pretrained with
    `--simplified --halfwidth` kept 這個 and ＷＩＦＩ, words the vectors do not have.
    The settings in `given` were set by the user and are left out.
    """
    out = {
        k: saved[k]
        for k in _NORMALISATION_KEYS
        if k not in given and saved.get(k) not in (None, False)
    }
    if out:
        shown = ", ".join(k if v is True else f"{k} {v}" for k, v in out.items())
        log(f"Tokenizer normalisation: {shown} (from {source.the})")
    return out


def _stopword_note(saved: Mapping[str, Any]) -> str:
    """Why the vectors' stopwords count as uncovered tokens, and the flag that drops them.

    Not applied by default (a classifier may need the words a corpus model could skip), but
    said: a corpus pretrained with `--stopwords zh` otherwise showed 60 % token coverage where
    dropping the same words gave 88 %, with no word of why.
    """
    spec, source = saved.get("stopwords"), saved.get("stopwords_source")
    if isinstance(spec, str):
        flag = f"--stopwords {spec}"
    elif isinstance(source, str) and source.startswith("stopwordsiso:"):  # a built-in list
        flag = f"--stopwords {source.removeprefix('stopwordsiso:')}"
    elif isinstance(source, str) and Path(source).is_file():
        flag = f"--stopwords {source}"
    else:
        flag = "--stopwords with the same list"
    what = f"the stopwords of {source}" if source else "a stopword list"
    return (
        f"Stopwords: the vectors were trained with {what} removed, so those words have no "
        f"vector and count against coverage; {flag} drops them from the texts too"
    )


def tokenizer_settings(
    config: FinetuneConfig,
    vectors: VectorsArg,
    log: Callable[[str], None],
    *,
    linear: bool = False,
) -> tuple[dict[str, Any], bool | None]:
    """The run's Tokenizer settings (no stopwords, no `lower`) and the `lower` known so far.

    `resolve_text_options`' tokenizer half: the kind, normalisation, Chinese mode and jieba
    segmentation, from `config` and the vectors' `metadata.json` as that docstring says;
    the `lower` returned is `config.lower`, else the vectors' recorded one, else None. The
    linear model takes its settings here too: `--model linear --vectors zh-vectors/` had
    segmented with the regex rule where compare's linear row took the vectors' jieba.
    `linear`: for the linear model, which takes jieba's words whatever the Chinese mode, so
    no "Chinese tokens" line is said here (`linear_recipe.zh_mode_note` says what it reads).
    """
    saved, source = _saved_tokenizer(config, vectors)
    return _tokenizer_settings(config, saved, log, source, linear=linear)


def _tokenizer_settings(
    config: FinetuneConfig,
    saved: Mapping[str, Any],
    log: Callable[[str], None],
    source: RecordSource,
    *,
    linear: bool = False,
) -> tuple[dict[str, Any], bool | None]:
    """`tokenizer_settings` given the vectors' recorded tokenizer `saved`, from `source`."""
    settings: dict[str, Any] = {"kind": config.tokenizer or unnamed_kind(config)}
    lower = config.lower
    if config.tokenizer is None and saved:
        keys = ("kind", "pattern", "nfkc", "halfwidth", "simplified", "digits")
        settings = {k: saved[k] for k in keys if k in saved}
        log(
            f"Tokenizer: {settings['kind']} (from {source.the}; "
            "--tokenizer to choose another)"
        )
        if lower is None and "lower" in saved:
            lower = bool(saved["lower"])
    if config.tokenizer is not None and saved.get("kind") == settings["kind"]:
        given = {k for k in ("halfwidth", "simplified") if getattr(config, k) is not None}
        settings.update(_saved_normalisation(saved, log, source, given))  # same kind, rules
        if lower is None and "lower" in saved:  # the case the vectors were trained in
            lower = bool(saved["lower"])
    for key in ("halfwidth", "simplified"):  # a setting given beats the vectors' metadata
        if getattr(config, key) is not None:
            settings[key] = bool(getattr(config, key))
    if config.zh_mode is not None:
        settings["zh_mode"] = config.zh_mode
        note = _zh_mode_mismatch(str(config.zh_mode), saved, settings["kind"], source)
        if note and not linear:
            log(note)
    elif saved.get("zh_mode") and saved["kind"] == settings["kind"]:
        settings["zh_mode"] = saved["zh_mode"]  # the vectors' Chinese words/characters
        if saved["zh_mode"] != "word" and not linear:  # pretrain's word+char on a small corpus
            log(f"Chinese tokens: {saved['zh_mode']} (from {source.the}; "
                "--zh-mode to choose another)")  # fmt: skip
    own_dict = config.user_dict is not None
    if saved.get("kind") == settings["kind"]:
        settings.update(_saved_segmentation(saved, log, own_dict=own_dict))
        settings.update(_saved_rules(saved, log, source))
    if own_dict:  # the run's own dictionary beats the vectors'
        settings["user_dict"] = _given_user_dict(config, saved, log, source)
    return settings, lower


def _zh_mode_mismatch(
    mode: str, saved: Mapping[str, Any], kind: str, source: RecordSource
) -> str | None:
    """The line saying `--zh-mode` reads other Chinese tokens than the vectors were trained on.

    Why: `--zh-mode word` on word+char vectors (pretrain's choice on a small corpus) said
    nothing while coverage fell and their ~800 character rows went unused by the texts.
    The cost named is each case's own: "some of their rows may be unused" was said of
    `char` on word+char vectors, whose word rows all are, and of words read on `char`
    vectors, where the texts' words have no vectors.
    """
    theirs = saved.get("zh_mode")
    if not theirs or theirs == mode or saved.get("kind") != kind or theirs == "word":
        return None
    reads = {"word": "words only", "char": "characters only"}.get(mode, "words and characters")
    if theirs == "char":  # word or word+char: jieba's words of two or more characters
        cost = ("they hold characters only: the texts' words of two or more characters "
                "have no vectors")
    else:  # word+char vectors read as words or as characters: the other half's rows idle
        cost = f"their {'character' if mode == 'word' else 'word'} rows are unused by the texts"
    return (f"Chinese tokens: the vectors were trained on {theirs} ({source.their}); "
            f"--zh-mode {mode} reads {reads} ({cost})")


def resolve_text_options(
    config: FinetuneConfig, vectors: VectorsArg, log: Callable[[str], None]
) -> tuple[dict[str, Any], bool]:
    """(tokenizer settings, lower) for a run, filling what the user left unset (None).

    The tokenizer comes from the vectors' `metadata.json`, or a native file's own metadata
    (the one they were trained with; the log names which, `RecordSource`)
    when `config.tokenizer` is None, and its Chinese word/char mode whenever the kinds agree
    and `config.zh_mode` is None (its jieba HMM switch and user dictionary whenever the kinds
    agree, and its normalisation, such as simplified/halfwidth, when the user names that
    kind; `config.halfwidth`/`simplified`/`user_dict`, when set, replace the vectors'; a
    `user_dict` needs the jieba kind and an existing file); lowercasing is switched on when
    the vectors' vocabulary is lowercase and `config.lower` is None, and both are said in
    the log. Vectors made by a function of words (`hf:`, a lambda) list no words to look at:
    the text keeps its case, said in the log too.
    """
    pretrained = vectors is not None or config.vectors != "random"
    saved, source = _saved_tokenizer(config, vectors)
    settings, lower = _tokenizer_settings(config, saved, log, source)
    if config.stopwords is None and saved.get("stopwords"):
        log(_stopword_note(saved))
    elif config.stopwords is not None:  # what a built-in list keeps (negations) is not obvious
        from vecgraft.text.stopwords import describe_stopwords

        log(f"Stopword list: {describe_stopwords(config.stopwords)}")
    if lower is None:
        words: Sequence[str] | None = None
        file = _vector_file(config, progress=False) if vectors is None else vectors
        if isinstance(vectors, Vectors):
            words = list(vectors.words[:LOWERCASE_SAMPLE])
        elif isinstance(file, VectorFile) and pretrained:
            words = list(file.read(None, LOWERCASE_SAMPLE).words)
        elif pretrained:  # it was skipped without a word, and the text kept its case
            log("Case: vectors made by a function of the vocabulary's words list no words to "
                "check for capitals, so the text keeps its case (--lower to lowercase it; a "
                "Vectors or VectorFile is checked)")  # fmt: skip
        lower = bool(words) and lowercase_words(words or [])
        if lower:
            log("Vectors are lowercase: lowercasing text (--no-lower to keep case)")
    return settings, bool(lower)


def run_tokenizer(
    config: FinetuneConfig,
    vectors: VectorsArg,
    log: Callable[[str], None],
    rules: int | None = None,
    user_dict_normalized: bool | None = None,
) -> tuple[Tokenizer, bool]:
    """(the run's Tokenizer, whether it lowercases), from `resolve_text_options`.

    `rules`: a resumed run's (its checkpoint's), replacing the settings'. Why: a run started
    before `rules` 2 built its vocabulary with rules 1; rebuilt with rules 2 on resume, texts
    with a soft hyphen made another vocabulary and "the data changed since this run started".
    `user_dict_normalized`: likewise, a resumed run's reading of its jieba dictionary.
    """
    from vecgraft.text.tokenize import RULES, Tokenizer

    settings, lower = resolve_text_options(config, vectors, log)
    if rules is not None and rules != settings.get("rules", RULES):
        log(f"Tokenizer: rules {rules}, the rules this run started with (its checkpoint's)")
    if rules is not None:
        settings["rules"] = rules
    if user_dict_normalized is not None:
        settings["user_dict_normalized"] = user_dict_normalized
    return Tokenizer(**settings, lower=lower, stopwords=config.stopwords), lower


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
        from vecgraft.text import build_vocab

        cfg = inputs.config
        tokenizer, lower = run_tokenizer(
            cfg, inputs.vectors, inputs.log, inputs.rules, inputs.user_dict_normalized
        )
        max_length, texts = cfg.max_length, inputs.train_texts
        if max_length is None:  # "no limit" still stops short of what memory allows
            max_length = length_cap(cfg)
            texts = clip_texts(texts, max_length)
        # --no-progress: no "counting tokens" bar either (a tune trial's drew one per fold)
        vocab = build_vocab(
            texts, tokenizer, min_freq=cfg.min_freq, max_size=cfg.max_size, progress=cfg.progress
        )
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
