"""The strong linear baseline: TF-IDF word and character n-grams + a linear model.

Every comparison vecgraft prints shows this row, because it is the bar a classifier built on
pretrained vectors has to clear (Wang & Manning 2012: on sentence classification, n-gram
linear models are hard to beat). English: word 1-2-grams and character 2-5-grams within word
boundaries; Chinese (a `jieba` or `char` tokenizer): segmented words 1-2-grams and characters
1-3-grams. The classifier is scikit-learn's `LinearSVC(C=0.5)` (or logistic regression; ridge
regression for numeric labels).

On large training sets the model is fitted on a seeded random sample of `max_rows` texts
(150,000 by default; `None`: all). The fit's memory grows with the rows: its count and
TF-IDF matrices and liblinear's copy of them take ~32 KiB a row for documents of 30-150
words (~45 KiB before `_stack` and `_packed_counts`), a peak of 2.0 GiB at 50k rows and
5.1 GiB at 150,000, some 17 GiB at 560k (Yelp's, Amazon's or DBpedia's size); 150,000
short reviews (MR's sentences) peak at 2.0 GiB. A fit of 150,000 rows takes 3-6 minutes
(`benchmarks/scale_probe.py`), said stage by stage (`FitProgress`). Smaller sets are
fitted on every row, as before.

A fitted model is saved without pickle: the term lists and the classes as JSON, the idf
weights (float64) and the coefficients (float32, half the size; scores move by ~1e-5) as
safetensors, and rebuilt exactly on load.

    >>> model = LinearModel(LinearConfig()).fit(["good fun", "bad dull", "fun", "dull"],
    ...                                         ["pos", "neg", "pos", "neg"])
    >>> [str(label) for label in model.predict(["such fun"])]  # an array of labels
    ['pos']
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from vecgraft._util.atomic import atomic_write, atomic_write_json
from vecgraft._util.console import PROGRESS_NOTE_SECONDS, heartbeat
from vecgraft._util.finite import refuse_non_finite
from vecgraft._util.jsonfile import VOCAB_LIMIT, read_json_file
from vecgraft._util.options import parse_enum
from vecgraft.errors import CheckpointError, ConfigError

__all__ = [
    "LINEAR_FILE", "LINEAR_META", "FitProgress", "LinearConfig", "LinearKind", "LinearModel",
    "shared_features",
]

LINEAR_FILE = "linear.safetensors"
LINEAR_META = "linear.json"
_FORMAT = "vecgraft-linear-1"
# texts featurised at a time when scoring (`LinearModel.decision_function`)
SCORE_CHUNK = 4096
# scikit-learn's guess, when a fit's labels are mostly distinct, that they are numbers
_REGRESSION_GUESS = r"The number of unique classes is greater than 50% of the number of samples"
# the default `LinearConfig.max_chars`: the n-grams of a text's first million characters.
# A 10 MB text took the fused fit from 0.6 to 2.8 GB (its character n-grams are listed whole
# before counting); a BBC article is at most ~25,000 characters, a novel a few million
MAX_CHARS = 1_000_000
# the default `LinearConfig.max_rows`: fits above it use a random sample of this many texts
MAX_ROWS = 150_000
# entries `_stack` copies at a time (its index arrays: 8 MiB)
_STACK_ENTRIES = 2**20
# the most TF-IDF rows a `shared_features` block keeps, in bytes (the least recently used go)
SHARED_FEATURE_BYTES = 256 * 2**20
# a callable told what is being fitted (a run's log)
Note = Callable[[str], None]
# a fit says each stage as it ends once it has run this long (`FitProgress`): a fit of a few
# thousand short texts, a second or two, says no more than before; a fused fit of 150,000
# short texts (minutes) says every stage
FIT_NOTE_SECONDS = 10.0
# seconds between two "still fitting" lines while a stage blocks: training's cadence
HEARTBEAT_SECONDS = PROGRESS_NOTE_SECONDS
# `LinearConfig.segmentation`'s keys: jieba options of a Tokenizer config
SEGMENTATION_KEYS = ("user_dict", "user_dict_sha256", "hmm", "user_dict_normalized")


class LinearKind(StrEnum):
    """The linear model on top of the TF-IDF features."""

    SVM = "svm"  # LinearSVC: the reference baseline
    LOGREG = "logreg"  # logistic regression: calibrated probabilities
    RIDGE = "ridge"  # ridge regression, for numeric labels


@dataclass
class LinearConfig:
    """Features and classifier of the linear baseline.

    Attributes:
        word_ngrams: (min, max) word n-gram lengths; None drops word features.
        char_ngrams: (min, max) character n-gram lengths; None drops character features.
        char_analyzer: "char_wb" (n-grams inside word boundaries) or "char".
        tokenizer: None reads words with a pattern (`word_marks`); "jieba"/"char"/...
            segments the text with `vecgraft.text.Tokenizer` first (Chinese).
        word_marks: the word pattern (tokenizer None) counts combining marks as word
            characters (`vecgraft.text.tokenize.LINEAR_WORD_PATTERN`): scikit-learn's
            default `token_pattern` cut Hindi "फिल्म" and Thai words at their vowel signs. False
            (models saved before the option too) keeps scikit-learn's pattern; both read
            text without combining marks alike.
        kind: svm | logreg | ridge.
        C: inverse regularisation strength (ridge: alpha = 1 / C).
        lowercase: lowercase before building n-grams.
        max_rows: fit on a seeded random sample of this many texts when given more (the
            memory of the fit grows with the rows); None fits on every text.
        max_chars: read the n-grams of each text's first this many characters, in fits and
            predictions alike (a text's n-grams are listed whole before they are counted:
            memory grows with the longest text); None reads every character. Models saved
            before the option read every character, as they were fitted.
        segmentation: jieba options of the word n-grams (the network's or `--user-dict`):
            `user_dict` (a file; a saved model keeps a copy and its sha256) and `hmm`;
            `user_dict_normalized` (true where unset) converts the dictionary's words with
            `normalization`, as the texts are, so that they match the converted texts as
            the network's do; false (models saved before it) reads them as written.
        normalization: the run's tokenizer's character normalisation (`nfkc`, `digits`,
            `halfwidth`, `simplified`: `vecgraft.text.tokenize.TEXT_NORMALISATION`),
            applied to every text before its word and character n-grams are read, by
            the Tokenizer's own `normalize_text` (which puts it in NFC too); empty: only
            NFC when `nfc`.
        nfc: put every text in NFC (as the Tokenizer reads it), so a decomposed "é"
            (e + U+0301) scores as "é". False (models saved before the option) reads text
            without `normalization` as written, as they were fitted.
        class_weight: how the svm or logreg fit weighs its rows by class
            (`FinetuneConfig.class_weight`): "balanced" is scikit-learn's `class_weight`
            (from each fit's own rows); {str(class): weight} gives each row its class's
            weight as the fit's `sample_weight` (a class it leaves out weighs 1); None
            weighs every text 1 and is left out of `linear.json`.
    """

    word_ngrams: tuple[int, int] | None = (1, 2)
    char_ngrams: tuple[int, int] | None = (2, 5)
    char_analyzer: str = "char_wb"
    tokenizer: str | None = None
    kind: LinearKind = LinearKind.SVM
    C: float = 0.5
    lowercase: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    max_rows: int | None = MAX_ROWS
    segmentation: dict[str, Any] = field(default_factory=dict)
    max_chars: int | None = MAX_CHARS
    normalization: dict[str, Any] = field(default_factory=dict)
    class_weight: str | dict[str, float] | None = None
    word_marks: bool = True
    nfc: bool = True

    def __post_init__(self) -> None:
        self.kind = parse_enum(LinearKind, self.kind, "linear model kind")
        if self.class_weight is not None and self.kind is LinearKind.RIDGE:
            raise ConfigError("class_weight weighs classes; ridge regression has none")
        self.normalization = _normalization_option(self.normalization)
        for name in ("word_marks", "nfc"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false; got {getattr(self, name)!r}")
        unknown = sorted(set(self.segmentation) - set(SEGMENTATION_KEYS))
        if unknown:
            raise ConfigError(
                f"unknown segmentation option(s) {unknown}; expected {list(SEGMENTATION_KEYS)}"
            )
        if self.segmentation and self.tokenizer != "jieba":
            raise ConfigError(
                f"segmentation options are jieba's; the tokenizer is {self.tokenizer!r}"
            )
        if self.word_ngrams is None and self.char_ngrams is None:
            raise ConfigError("the linear model needs word_ngrams or char_ngrams (or both)")
        for name in ("word_ngrams", "char_ngrams"):
            value = getattr(self, name)
            if value is not None:
                lo, hi = (int(v) for v in value)
                if not 1 <= lo <= hi:
                    raise ConfigError(
                        f"{name} must be (min, max) with 1 <= min <= max; got {value}"
                    )
                setattr(self, name, (lo, hi))
        if self.char_analyzer not in ("char", "char_wb"):
            raise ConfigError(f"char_analyzer must be char or char_wb; got {self.char_analyzer!r}")
        if not self.C > 0:
            raise ConfigError(f"C must be > 0; got {self.C}")
        for name in ("max_rows", "max_chars"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ConfigError(f"{name} must be a whole number >= 1 or None; got {value!r}")

    @property
    def strength(self) -> str:
        """The regularisation in the model's own terms: ridge's alpha (1 / C), else C.

        The fit line said "(ridge, C=0.5)" under a summary of "ridge regression (alpha 2)".
        """
        return f"alpha {1 / self.C:g}" if self.kind is LinearKind.RIDGE else f"C {self.C:g}"

    def summary(self) -> str:
        """The features and classifier in words, for the run's log (the repr showed an enum).

        >>> LinearConfig().summary()
        'TF-IDF word 1-2-grams + char 2-5-grams inside words, linear SVM (C 0.5)'
        >>> LinearConfig.for_language("char", kind="logreg", C=2).summary()
        'TF-IDF char 1-3-grams, logistic regression (C 2)'
        """
        features = []
        if self.word_ngrams is not None:
            words = f" ({self.tokenizer} words)" if self.tokenizer else ""
            features.append(f"word {_span(self.word_ngrams)}-grams{words}")
        if self.char_ngrams is not None:
            inside = " inside words" if self.char_analyzer == "char_wb" else ""
            features.append(f"char {_span(self.char_ngrams)}-grams{inside}")
        norm = [name for name, on in self.normalization.items() if on]
        read = [f"normalised ({' + '.join(norm)})"] if norm else []
        read += [] if self.lowercase else ["case kept"]
        fit = [self.strength]
        if self.class_weight is not None:
            weights = self.class_weight if isinstance(self.class_weight, str) else "per class"
            fit.append(f"class weights {weights}")
        fit += [f"{key} {value}" for key, value in self.extra.items()]
        return (f"TF-IDF {' + '.join(features)}{''.join(f', {r}' for r in read)}, "
                f"{_KIND_WORDS[self.kind]} ({', '.join(fit)})")  # fmt: skip

    @classmethod
    def for_language(cls, tokenizer: str | None, **overrides: Any) -> LinearConfig:
        """The reference settings for a tokenizer: Chinese segmenters get chars 1-3."""
        if tokenizer in ("jieba", "char"):
            base: dict[str, Any] = {
                "tokenizer": tokenizer,
                "char_ngrams": (1, 3),
                "char_analyzer": "char",
            }
            if tokenizer == "char":
                base["word_ngrams"] = None
            return cls(**{**base, **overrides})
        return cls(**overrides)


_KIND_WORDS = {
    LinearKind.SVM: "linear SVM",
    LinearKind.LOGREG: "logistic regression",
    LinearKind.RIDGE: "ridge regression",
}


def _span(ngrams: tuple[int, int]) -> str:
    """An n-gram range as the log says it: "1-2", or "3" for (3, 3)."""
    low, high = ngrams
    return str(low) if low == high else f"{low}-{high}"


def _normalization_option(options: Any) -> dict[str, Any]:
    """Checked `normalization` options, those left at the Tokenizer's default dropped."""
    from vecgraft.text.normalize import digits_option
    from vecgraft.text.tokenize import TEXT_NORMALISATION

    if not isinstance(options, dict):
        raise ConfigError(f"normalization must be a mapping of options; got {options!r}")
    unknown = sorted(set(options) - set(TEXT_NORMALISATION))
    if unknown:
        raise ConfigError(
            f"unknown normalization option(s) {unknown}; expected {list(TEXT_NORMALISATION)}"
        )
    out: dict[str, Any] = {}
    for key, value in options.items():
        if key == "digits":
            digits = digits_option(value)
            if digits is not None:
                out[key] = digits.value
        elif not isinstance(value, bool):
            raise ConfigError(f"normalization option {key} must be true or false; got {value!r}")
        elif value:
            out[key] = True
    return {key: out[key] for key in TEXT_NORMALISATION if key in out}


def _normalizer(config: LinearConfig) -> Callable[[str], str] | None:
    """The Tokenizer's text normalisation of `config.normalization` (NFC when none is asked).

    Why NFC: the network's Tokenizer puts every text in NFC, and a linear half reading
    decomposed text as written gave a fused model other scores for the same words. None
    (text as written): `nfc` off and no normalization, as models saved before it were fitted.
    """
    if not (config.nfc or config.normalization):
        return None
    from functools import partial

    from vecgraft.text.tokenize import normalize_text

    return partial(normalize_text, **config.normalization)


def _word_analyzer(config: LinearConfig) -> Callable[[str], list[str]] | None:
    """A vecgraft tokenizer's `tokenize` for segmented languages; None = scikit-learn's."""
    if config.tokenizer is None:
        return None
    from vecgraft.text.tokenize import RULES, Tokenizer

    # the tokenizer lowercases, not scikit-learn: lowercased before jieba, "T恤" was t + 恤
    options = {"kind": config.tokenizer, "lower": config.lowercase, **config.segmentation}
    # the rules its word pattern reads by: a model saved before (word_marks False) keeps the
    # old ones (char: each mark a token; a soft hyphen splits a word)
    options["rules"] = RULES if config.word_marks else 1
    tok = Tokenizer.from_config(options)  # a recorded sha256 must match the dictionary
    # the texts reach it converted (`_normalizer`): its dictionary's words are converted so
    tok.normalize_user_dict_as(config.normalization)
    tok.read_user_dict()  # now: a saved model's copy is read while `load_run` holds its run
    return lambda text: tok(text)


@dataclass(frozen=True)
class FitProgress:
    """Where a fit says how far it got (a run's log), and whether it says it is still working.

    Why: a fused fit of 200k short texts was 6.5 silent minutes after the network's
    progress lines. Once a fit has run `FIT_NOTE_SECONDS`, each stage is said as it ends,
    with its seconds ("Linear fit: char n-grams of 150,000 texts: 238,114 terms (80s)"),
    and the fit's total at its end; with `heartbeat`, a line every `HEARTBEAT_SECONDS`
    while a stage blocks in scikit-learn ("Linear fit: still fitting LinearSVC on ...
    [185s]"), said from a thread (`vecgraft._util.console.heartbeat`): `say` must take a
    line from another thread (print, a run's log do).
    """

    say: Note
    heartbeat: bool = True


class _FitLog:
    """One fit's stage lines and heartbeat (`FitProgress`), and its `note` (`LinearModel.fit`)."""

    def __init__(self, progress: FitProgress | None, note: Note | None = None) -> None:
        self.progress = progress
        self._note = note
        self.start = self.stage_start = time.perf_counter()
        self.doing = "reading the texts"
        self.talking = False  # once a line is said, every later stage is too
        self.lock = threading.Lock()  # the heartbeat's lines and the stages' never interleave

    def seconds(self) -> float:
        return time.perf_counter() - self.start

    def say(self, line: str, *, always: bool = False) -> None:
        """Say `line` once the fit has run `FIT_NOTE_SECONDS` (or when `always`)."""
        if self.progress is None:
            return
        with self.lock:
            if always or self.talking or self.seconds() >= FIT_NOTE_SECONDS:
                self.talking = True
                self.progress.say(line)

    def note(self, line: str) -> None:
        """Tell the fit's `note` `line`, always; without one, its progress (as `say` does)."""
        if self._note is None:
            self.say(line)
            return
        with self.lock:
            self._note(line)

    def begin(self, doing: str) -> None:
        """A stage starts: the heartbeat says `doing` until the next one."""
        self.doing, self.stage_start = doing, time.perf_counter()

    def end(self, done: str) -> None:
        """The stage ends: say `done` with its seconds."""
        self.say(f"Linear fit: {done} ({time.perf_counter() - self.stage_start:.0f}s)")

    @contextmanager
    def running(self) -> Iterator[_FitLog]:
        """The fit, beating every `HEARTBEAT_SECONDS` (none after it); its seconds at its end."""
        beats = self.progress is not None and self.progress.heartbeat
        with heartbeat(self._beat, HEARTBEAT_SECONDS if beats else None):
            yield self
        self.say(f"Linear fit: done in {self.seconds():.0f}s")

    def _beat(self) -> None:
        self.say(f"Linear fit: still {self.doing} [{self.seconds():.0f}s]", always=True)


def _vectorizers(config: LinearConfig) -> list[tuple[str, Any]]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    parts: list[tuple[str, Any]] = []
    if config.word_ngrams is not None:
        tokenize = _word_analyzer(config)
        kwargs: dict[str, Any] = {"lowercase": config.lowercase}
        if config.word_marks:
            from vecgraft.text.tokenize import LINEAR_WORD_PATTERN

            kwargs["token_pattern"] = LINEAR_WORD_PATTERN
        if tokenize is not None:  # which lowercases the words itself, after segmenting
            kwargs = {"tokenizer": tokenize, "token_pattern": None, "lowercase": False}
        parts.append(("word", TfidfVectorizer(ngram_range=config.word_ngrams, **kwargs)))
    if config.char_ngrams is not None:
        parts.append(
            ("char", TfidfVectorizer(analyzer=config.char_analyzer,
                                     ngram_range=config.char_ngrams, lowercase=config.lowercase))
        )
    return parts


def clip_chars(texts: Sequence[str], max_chars: int | None) -> Sequence[str]:
    """`texts`, each cut to its first `max_chars` characters (the same list if none is longer)."""
    if max_chars is None or all(len(t) <= max_chars for t in texts):
        return texts
    return [t[:max_chars] for t in texts]


def sample_rows(rows: int, max_rows: int | None) -> np.ndarray | None:
    """Sorted row indices of the random sample a fit on `rows` texts uses; None: every row.

    Seeded (0), so a rerun fits the same rows.
    """
    if max_rows is None or rows <= max_rows:
        return None
    return np.sort(np.random.default_rng(0).choice(rows, size=max_rows, replace=False))


def fit_rows(rows: int, max_rows: int | None) -> int:
    """How many of `rows` texts a fit uses."""
    return rows if max_rows is None else min(rows, max_rows)


def _take(items: Sequence[Any], keep: np.ndarray | None) -> list[Any]:
    return list(items) if keep is None else [items[i] for i in keep]


def _check_labels(texts: Sequence[str], labels: Sequence[Any]) -> None:
    if len(texts) != len(labels) or not texts:
        raise ConfigError(f"need as many labels as texts (> 0); got {len(texts)} / {len(labels)}")


def _counts(vectorizer: Any, texts: Sequence[str]) -> tuple[Any, dict[str, int]]:
    """The n-gram counts [texts, terms] and vocabulary `vectorizer.fit` would build on `texts`.

    A CountVectorizer with the TF-IDF vectorizer's own analysis settings: scikit-learn's
    TfidfVectorizer is exactly that followed by a TfidfTransformer.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    params = vectorizer.get_params()
    counter = CountVectorizer(**{k: params[k] for k in CountVectorizer().get_params()})
    counts = counter.fit_transform(texts).tocsr()
    return counts, counter.vocabulary_


def _terms(vocabulary: dict[str, int]) -> list[str]:
    """The terms in column order."""
    terms = [""] * len(vocabulary)
    for term, index in vocabulary.items():
        terms[index] = term
    return terms


def _fit_tfidf(vectorizer: Any, vocabulary: dict[str, int], counts: Any) -> Any:
    """Make `vectorizer` the fit on `counts`' texts; return their TF-IDF rows.

    `vocabulary` maps terms to `counts`' columns in sorted term order, as `fit` builds it.
    """
    from sklearn.feature_extraction.text import TfidfTransformer

    params = vectorizer.get_params()
    tfidf = TfidfTransformer(**{k: params[k] for k in TfidfTransformer().get_params()})
    tfidf.fit(counts)
    _set_fitted(vectorizer, vocabulary, tfidf.idf_)
    return tfidf.transform(counts, copy=False)


def _set_fitted(vectorizer: Any, vocabulary: dict[str, int], idf: np.ndarray) -> None:
    """Give a TF-IDF vectorizer the state `fit` leaves: its vocabulary and idf weights."""
    vectorizer.set_params(vocabulary=vocabulary)
    vectorizer._validate_vocabulary()
    vectorizer.idf_ = idf


def _stack(blocks: list[Any]) -> Any:
    """One CSR matrix [texts, features] from the vectorizers' blocks, word block first.

    The arrays of scipy's `hstack(blocks, format="csr")` (each row: the first block's
    entries in their stored order, then the next block's, its columns shifted), copied
    `_STACK_ENTRIES` entries at a time. Why not hstack: it concatenates the blocks' data and
    indices before interleaving them, so each non-zero is held three times (36 bytes) for a
    moment, the peak of a large fit; here twice. Same arrays, same order: the same norms and
    SVM sums, bit for bit (with `_packed_counts`, the fused fit of 150,000 short reviews
    peaked at 2.0 GiB rather than 2.6, of 150,000 documents at 5.1 rather than 7.0).
    """
    if len(blocks) == 1:
        return blocks[0].tocsr()
    from scipy.sparse import csr_matrix

    blocks = [block.tocsr() for block in blocks]
    rows = blocks[0].shape[0]
    if any(block.shape[0] != rows for block in blocks):
        raise ValueError(f"blocks of {[b.shape[0] for b in blocks]} rows cannot be stacked")
    width = sum(block.shape[1] for block in blocks)
    lengths = [np.diff(block.indptr) for block in blocks]
    entries = int(sum(int(block.indptr[-1]) for block in blocks))
    small = max(width - 1, entries) <= np.iinfo(np.int32).max
    index = np.dtype(np.int32 if small else np.int64)
    indptr = np.zeros(rows + 1, dtype=index)
    np.cumsum(sum(lengths), out=indptr[1:])
    data = np.empty(entries, dtype=np.result_type(*(block.data for block in blocks)))
    indices = np.empty(entries, dtype=index)
    placed = indptr[:-1].astype(np.int64)  # where each row's next entries go
    shift = 0
    for block, length in zip(blocks, lengths, strict=True):
        starts = block.indptr.astype(np.int64)
        start = 0
        while start < rows:
            stop = int(np.searchsorted(starts, starts[start] + _STACK_ENTRIES, side="right")) - 1
            stop = min(max(stop, start + 1), rows)
            lo, hi = starts[start], starts[stop]
            # each entry's place: its row's next place plus its rank within the row
            at = np.repeat(placed[start:stop] - starts[start:stop], length[start:stop])
            at += np.arange(lo, hi)
            data[at] = block.data[lo:hi]
            indices[at] = block.indices[lo:hi].astype(index) + shift
            start = stop
        placed += length
        shift += block.shape[1]
    return csr_matrix((data, indices, indptr), shape=(rows, width))


def _stack_dropping(blocks: list[Any]) -> Any:
    """`_stack(blocks)`, emptying `blocks`: the caller's list no longer holds the parts."""
    stacked = _stack(blocks)
    blocks.clear()
    return stacked


def _counting(name: str, rows: int) -> str:
    """What a vectorizer's stage is doing, as a heartbeat line says it."""
    return f"counting {name} n-grams of {rows:,} texts"


def _counted(name: str, rows: int, terms: int) -> str:
    """What a vectorizer's stage did, as its line says it."""
    return f"{name} n-grams of {rows:,} texts: {terms:,} terms"


def _columns_of_rows(counts: Any, first: int) -> np.ndarray:
    """The sorted columns that `counts[:first]` (CSR) has, without copying those rows."""
    end = counts.indptr[first]
    return np.flatnonzero(np.bincount(counts.indices[:end], minlength=counts.shape[1]))


def _head_columns(counts: Any, first: int, seen: np.ndarray) -> Any:
    """`counts[:first][:, seen]` (CSR), the same arrays, without `counts[:first]` between.

    `seen` is sorted and holds every column of those rows (`_columns_of_rows`): each entry
    keeps its place in its row (the order in which the TF-IDF norm and the SVM sum), its
    column renumbered, as scikit-learn's column selection does. Why: the two copies of the
    rows held the counts three times over for a moment (50k short texts: 120 MiB).
    """
    from scipy.sparse import csr_matrix

    end = counts.indptr[first]
    column = np.zeros(counts.shape[1], dtype=counts.indices.dtype)
    column[seen] = np.arange(len(seen), dtype=counts.indices.dtype)
    return csr_matrix(
        (counts.data[:end].copy(), column[counts.indices[:end]], counts.indptr[: first + 1].copy()),
        shape=(first, len(seen)),
    )


def _packed_counts(counts: Any) -> Any:
    """`counts` (CSR) with its data as the smallest unsigned integers that hold them exactly.

    In place. The n-gram counts are whole numbers, mostly 1: a byte rather than a float64
    each while they wait (`fit_nested`). Counts that are not whole (or not small) are kept.
    """
    data = counts.data
    if data.dtype == np.float64 and data.size and data.min() >= 0 and data.max() < 2**32:
        packed = data.astype(np.min_scalar_type(int(data.max())))
        if np.array_equal(packed, data):
            counts.data = packed
    return counts


def _float_counts(counts: Any) -> Any:
    """`_packed_counts`'s counts as float64 again, in place: the same numbers, exactly."""
    counts.data = counts.data.astype(np.float64, copy=False)
    return counts


def _nbytes(rows: Any) -> int:
    """The memory of a CSR matrix's arrays."""
    return int(rows.data.nbytes + rows.indices.nbytes + rows.indptr.nbytes)


class _FeatureMemo:
    """TF-IDF rows already computed, by vectorizer state and texts; at most `budget` bytes."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.size = 0
        self.entries: OrderedDict[tuple[str, tuple[str, ...]], Any] = OrderedDict()

    def get(self, key: tuple[str, tuple[str, ...]]) -> Any:
        rows = self.entries.get(key)
        if rows is not None:
            self.entries.move_to_end(key)
        return rows

    def put(self, key: tuple[str, tuple[str, ...]], rows: Any) -> None:
        size = _nbytes(rows)
        if size > self.budget:
            return
        self.entries[key] = rows
        self.size += size
        while self.size > self.budget:
            _, old = self.entries.popitem(last=False)
            self.size -= _nbytes(old)


_SHARED: ContextVar[_FeatureMemo | None] = ContextVar("vecgraft_linear_features", default=None)


@contextmanager
def shared_features(budget: int = SHARED_FEATURE_BYTES) -> Iterator[None]:
    """Within the block, models of the same vocabulary and idf featurise a text list once.

    Why: an ensemble run's members each fit their linear model on the same training rows
    (split differently into train and valid, so the same vocabulary and idf), and each
    member's test texts were featurised twice, when it was fused and when the ensemble was
    scored by the saved members: six times in a default run, 7.7 of its 54 CPU seconds on
    5 % of BBC News (1.4 once). The rows reused are the ones computed, so the scores are the
    same bit for bit. Rows are kept up to `budget` bytes, the least recently used dropped
    first. A block inside another shares the outer one's rows (the ensemble's scoring, inside
    its run).
    """
    if _SHARED.get() is not None:
        yield
        return
    token = _SHARED.set(_FeatureMemo(budget))
    try:
        yield
    finally:
        _SHARED.reset(token)


class LinearModel:
    """TF-IDF n-grams + a scikit-learn linear model, saved as safetensors + JSON."""

    def __init__(self, config: LinearConfig | None = None) -> None:
        self.config = config or LinearConfig()
        self.vectorizers = _vectorizers(self.config)
        self.classes: list[Any] = []
        self.coef = np.zeros((0, 0), dtype=np.float32)  # [outputs, features]
        self.intercept = np.zeros(0, dtype=np.float32)  # [outputs]
        self._digest: str | None = None  # of the fitted vectorizers (`_state_digest`)

    @property
    def regression(self) -> bool:
        """Whether the model predicts numbers (ridge) rather than classes."""
        return self.config.kind is LinearKind.RIDGE

    def features(self, texts: Sequence[str]) -> Any:
        """Sparse TF-IDF matrix [texts, features] (word block, then character block).

        Inside `shared_features`, the rows a model of the same state computed for the same
        texts (the same object: callers must not change it).
        """
        memo = _SHARED.get()
        if memo is None:
            return self._transform(texts)
        key = (self._state_digest(), tuple(texts))
        rows = memo.get(key)
        if rows is None:
            rows = self._transform(texts)
            memo.put(key, rows)
        return rows

    def _transform(self, texts: Sequence[str]) -> Any:
        texts = self._read(texts)
        return _stack([vec.transform(texts) for _, vec in self.vectorizers])

    def _state_digest(self) -> str:
        """A digest of all that `features` depends on: the config, each vectorizer's terms and idf.

        Computed once per fit (`_fit_matrix` clears it).
        """
        if self._digest is None:
            config = json.dumps(asdict(self.config), sort_keys=True, default=str)
            digest = hashlib.sha256(config.encode())
            for name, vec in self.vectorizers:
                digest.update(json.dumps([name, _terms(vec.vocabulary_)]).encode())
                digest.update(np.asarray(vec.idf_, dtype=np.float64).tobytes())
            self._digest = digest.hexdigest()
        return self._digest

    def _read(self, texts: Sequence[str]) -> Sequence[str]:
        """`texts` as the n-grams read them: cut to `max_chars`, then normalised.

        Once per text for both vectorizers (OpenCC's conversion is the slow part).
        """
        normalize = _normalizer(self.config)
        texts = clip_chars(texts, self.config.max_chars)
        return texts if normalize is None else [normalize(t) for t in texts]

    def _fit_features(self, texts: Sequence[str], log: _FitLog) -> Any:
        """Fit the vectorizers and return the training matrix `features` would give.

        One pass over the texts per vectorizer (`fit_transform`) rather than a fit and then a
        transform: segmenting and counting n-grams is most of a fit's time. `log` is told
        each vectorizer's stage (the first one reads the texts too).
        """
        rows = len(texts)
        log.begin(_counting(self.vectorizers[0][0], rows))
        texts = self._read(texts)
        blocks = []
        for index, (name, vec) in enumerate(self.vectorizers):
            if index:
                log.begin(_counting(name, rows))
            blocks.append(vec.fit_transform(texts))
            log.end(_counted(name, rows, len(vec.vocabulary_)))
        return _stack_dropping(blocks)

    def fit(
        self, texts: Sequence[str], labels: Sequence[Any], note: Note | None = None,
        progress: FitProgress | None = None,
    ) -> LinearModel:
        """Fit the vectorizers and the linear model on the training texts.

        On a random `config.max_rows` of them when there are more (`sample_rows`). `note`
        is told the matrix's size before the classifier's fit (`_fit_matrix`); `progress`
        how far a long fit got (`FitProgress`).
        """
        _check_labels(texts, labels)
        keep = sample_rows(len(texts), self.config.max_rows)
        if keep is not None:
            texts, labels = _take(texts, keep), _take(labels, keep)
        with _FitLog(progress, note).running() as log:
            return self._fit_matrix(self._fit_features(texts, log), labels, log)

    @classmethod
    def fit_nested(
        cls, config: LinearConfig, texts: Sequence[str], labels: Sequence[Any], first: int,
        note: Note | None = None, progress: FitProgress | None = None,
    ) -> tuple[LinearModel, LinearModel]:
        """Two models, fitted on `texts[:first]` and on all `texts`, analysing each text once.

        Each equals `LinearModel(config).fit` on its texts (same vocabulary, idf and
        features, hence the same coefficients). Why: fusion fits the linear model on the
        training split, to weigh it against the network on unseen validation rows, and then
        on train + valid; segmenting and counting n-grams is most of a fit's time, and the
        first fit's counts are rows and columns of the second's.

        More than `config.max_rows` texts: both fits use one random sample of that many,
        drawn from `texts[:first]` and from the rest in proportion (`sample_rows` of all
        the rows), so the first model still sees none of the last texts.

        Memory: while the first model is fitted, the counts of all texts wait as integers
        of the fewest bytes that hold them (`_packed_counts`: 5 bytes a non-zero rather
        than the TF-IDF's 12), and become the second model's TF-IDF rows after it (the
        same numbers: the same coefficients). With `_stack`: 50k short reviews peaked at
        989 MiB rather than 1,196 (the whole process), 150,000 at 2.0 GiB rather than 2.6.
        """
        _check_labels(texts, labels)
        if not 0 < first <= len(texts):
            raise ConfigError(f"first must be in 1..{len(texts)}; got {first}")
        keep = sample_rows(len(texts), config.max_rows)
        if keep is not None:
            first = int(np.searchsorted(keep, first))  # sampled rows of the first part
            if first == 0:
                raise ConfigError("the row sample holds none of the first texts")
            texts, labels = _take(texts, keep), _take(labels, keep)
        small, full = cls(config), cls(config)
        with _FitLog(progress, note).running() as log:
            rows = len(texts)
            log.begin(_counting(full.vectorizers[0][0], rows))
            texts = full._read(texts)
            small_blocks: list[Any] = []
            waiting: list[tuple[Any, dict[str, int], Any]] = []  # the full model's counts
            for index, ((name, vec_small), (_, vec_full)) in enumerate(
                zip(small.vectorizers, full.vectorizers, strict=True)
            ):
                if index:
                    log.begin(_counting(name, rows))
                counts, vocabulary = _counts(vec_full, texts)
                seen = _columns_of_rows(counts, first)
                terms = _terms(vocabulary)
                head = _head_columns(counts, first, seen)
                small_blocks.append(
                    _fit_tfidf(vec_small, {terms[c]: i for i, c in enumerate(seen)}, head)
                )
                waiting.append((vec_full, vocabulary, _packed_counts(counts)))
                log.end(_counted(name, rows, len(vocabulary)))
                # the counts and term map (the last vectorizer's, the largest) would
                # otherwise live through both fits
                del counts, head, terms, vocabulary
            # each model's blocks go once stacked: the small model's are not kept through the
            # full fit (fit on 20k English texts: peak 834 -> 744 MiB, the same coefficients)
            small._fit_matrix(_stack_dropping(small_blocks), list(labels)[:first], log)
            full_blocks = []
            while waiting:  # each vectorizer's counts go as its TF-IDF rows come
                vec_full, vocabulary, counts = waiting.pop(0)
                full_blocks.append(_fit_tfidf(vec_full, vocabulary, _float_counts(counts)))
                del vocabulary, counts
            full._fit_matrix(_stack_dropping(full_blocks), labels, log)
        return small, full

    def _fit_matrix(self, x: Any, labels: Sequence[Any], log: _FitLog) -> LinearModel:
        """Fit the linear model on TF-IDF rows `x` of fitted vectorizers.

        `log`'s note is told the size of the fit first: one of a thousand classes took
        100 s (its progress too, once the fit has run long: `FitProgress`).
        """
        self._digest = None  # the vectorizers were just fitted
        estimator = self._estimator()
        # "Fitting Ridge on ... (a number)": the estimator's class name and a bare target
        name = _KIND_WORDS[LinearKind.RIDGE] if self.regression else type(estimator).__name__
        outputs = "the target: a number" if self.regression else f"{len(set(labels)):,} classes"
        what = f"{name} on {x.shape[0]:,} rows x {x.shape[1]:,} TF-IDF features ({outputs})"
        log.note(f"Fitting {what}")
        log.begin(f"fitting {what}")
        with warnings.catch_warnings():
            # many classes in few rows (91 labels in a 10 % compare cell): scikit-learn guesses
            # "`y` could represent a regression problem"; the task is known here, and
            # `--task regression` is the user's to choose
            warnings.filterwarnings("ignore", message=_REGRESSION_GUESS, category=UserWarning)
            estimator.fit(x, np.asarray(labels, dtype=np.float64) if self.regression else
                          list(labels), **self._row_weights(labels))  # fmt: skip
        log.end(f"{name} fitted on {x.shape[0]:,} rows")
        # kept Fortran-ordered (`coef.T` C-contiguous), the layout scores read (`_coef_t`);
        # `save` writes it in C order
        self.coef = np.atleast_2d(np.asarray(estimator.coef_, dtype=np.float32))
        self._coef_t()
        self.intercept = np.atleast_1d(np.asarray(estimator.intercept_, dtype=np.float32))
        self.classes = [] if self.regression else list(estimator.classes_)
        return self

    def _row_weights(self, labels: Sequence[Any]) -> dict[str, Any]:
        """The fit's `sample_weight` of a class weight mapping: each row its class's weight.

        Why not scikit-learn's `class_weight` dict: scikit-learn looks a class up as a
        number where it reads as one, so {"0": 5.0} for the fused half's classes "0", "1"
        (or a `--model linear` run's number labels) raised "classes [0, 1] are not in
        class_weight". Keyed by `str(class)` here, whatever the classes look like.
        """
        weights = self.config.class_weight
        if not isinstance(weights, Mapping):
            return {}
        return {"sample_weight": np.asarray([weights.get(str(y), 1.0) for y in labels])}

    def _estimator(self) -> Any:
        c = self.config
        # a mapping weighs the rows instead (`_row_weights`)
        weights = {"class_weight": c.class_weight} if isinstance(c.class_weight, str) else {}
        if c.kind is LinearKind.SVM:
            from sklearn.svm import LinearSVC

            # liblinear's dual solver visits the rows in a random order drawn from numpy's
            # global state unless given one: unseeded, two fits of the same data differed
            # by ~1e-6 in their coefficients from one process to the next
            return LinearSVC(C=c.C, **{"random_state": 0, **weights, **c.extra})
        if c.kind is LinearKind.LOGREG:
            from sklearn.linear_model import LogisticRegression

            return LogisticRegression(C=c.C, max_iter=1000, **{**weights, **c.extra})
        from sklearn.linear_model import Ridge

        return Ridge(alpha=1.0 / c.C, **c.extra)

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        """Scores [texts, classes] (binary: two columns, -s and s), or values [texts, 1].

        The texts are scored `SCORE_CHUNK` at a time: their n-gram features are a sparse
        matrix some 10-20 times the size of the texts (a million short texts: gigabytes, for
        `vecgraft evaluate`), and each row's score depends on its own features alone, so the
        scores are the ones a single pass gives, bit for bit.
        """
        if len(texts) <= SCORE_CHUNK:
            scores = self._scores(texts)
        else:
            scores = np.concatenate([
                self._scores(texts[start : start + SCORE_CHUNK])
                for start in range(0, len(texts), SCORE_CHUNK)
            ])  # fmt: skip
        if not self.regression and len(self.classes) == 2 and scores.shape[1] == 1:
            scores = np.concatenate([-scores, scores], axis=1)
        return scores

    def _scores(self, texts: Sequence[str]) -> np.ndarray:
        """Raw scores [texts, outputs] of one chunk of texts, summed in the coef's float32.

        Why this dtype and layout: float64 features times the float32 `coef.T` (a Fortran
        view) made SciPy copy the whole coef to float64 on every chunk: 2.3 GB and 0.9 s per
        256 texts at 1000 classes x 282k features (`vecgraft predict`: 4.8 GB, 69 s on 10k
        texts). With the features in float32 and `coef.T` C-contiguous (`_coef_t`) the
        product reads the coef in place (30 ms); the scores move by ~1e-6.
        """
        coef_t = self._coef_t()
        rows = self.features(texts).astype(coef_t.dtype, copy=False)
        return np.asarray(rows @ coef_t, dtype=np.float32) + self.intercept

    def _coef_t(self) -> np.ndarray:
        """`coef.T` as a C-contiguous array, `coef` made a view of it (transposed once).

        One copy of the coefficients is kept: `coef` keeps its shape [outputs, features].
        """
        if not self.coef.T.flags.c_contiguous:
            self.coef = np.ascontiguousarray(self.coef.T).T
        return self.coef.T

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities [texts, classes] (`proba_of` their decision scores)."""
        return self.proba_of(self.decision_function(texts))

    def proba_of(self, scores: np.ndarray) -> np.ndarray:
        """Class probabilities [texts, classes] of `decision_function`'s `scores`.

        Logistic regression: its own probabilities (scikit-learn's `predict_proba`: the
        sigmoid of the score for two classes, the softmax of the scores for more) — the
        two-column binary scores (-s, s) would otherwise give sigmoid(2s). SVM: the softmax
        of the decision scores, a ranking rather than a calibrated probability.
        """
        if self.regression:
            raise ConfigError("a ridge (regression) model has no class probabilities")
        scores = scores.astype(np.float64)
        if self.config.kind is LinearKind.LOGREG and len(self.classes) == 2:
            scores = scores / 2.0  # softmax((-s/2, s/2)) = (1 - sigmoid(s), sigmoid(s))
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """Predicted labels (classification) or numbers (regression)."""
        return self.predictions_of(self.decision_function(texts))

    def predictions_of(self, scores: np.ndarray) -> np.ndarray:
        """Labels (classification) or numbers (regression) of `decision_function`'s `scores`."""
        if self.regression:
            return scores[:, 0]
        return np.asarray(self.classes, dtype=object)[scores.argmax(axis=1)]

    def save(self, folder: str | os.PathLike[str]) -> None:
        """Write `linear.safetensors` and `linear.json` into `folder` (no pickle)."""
        from safetensors.numpy import save

        out = Path(folder)
        tensors = {
            "coef": np.ascontiguousarray(self.coef),
            "intercept": np.ascontiguousarray(self.intercept),
        }
        vocabularies: dict[str, list[str]] = {}
        for name, vec in self.vectorizers:
            tensors[f"idf_{name}"] = np.asarray(vec.idf_, dtype=np.float64)
            vocabularies[name] = _terms(vec.vocabulary_)
        data = save(tensors)
        atomic_write(out / LINEAR_FILE, lambda fh: fh.write(data))
        config = asdict(self.config)
        config["kind"] = self.config.kind.value
        if config["class_weight"] is None:  # a default model loads in releases before it
            del config["class_weight"]
        if self.config.segmentation:  # its dictionary is copied beside the model
            from vecgraft.text.tokenize import with_user_dict_copy

            config["segmentation"] = with_user_dict_copy(self.config.segmentation, out)
        atomic_write_json(
            out / LINEAR_META,
            {"format": _FORMAT, "config": config, "classes": self.classes,
             "vocabularies": vocabularies},
        )

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> LinearModel:
        """Rebuild a saved model exactly (same features, same scores)."""
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        root = Path(folder)
        try:
            # it holds every TF-IDF term (no max_features): 139 MiB for a 10k-review set
            meta = read_json_file(root / LINEAR_META, limit=VOCAB_LIMIT)
            tensors = load_file(str(root / LINEAR_FILE))
        except (OSError, ValueError, SafetensorError) as exc:
            raise CheckpointError(f"{root}: not a saved linear model ({exc})") from exc
        refuse_non_finite(root / LINEAR_FILE, tensors.items())  # NaN scores, said by no one
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
            raise CheckpointError(f"{root / LINEAR_META}: expected format {_FORMAT!r}")
        raw = dict(meta["config"])
        raw.setdefault("max_chars", None)  # saved before the option: fitted on every character
        raw.setdefault("word_marks", False)  # saved before it: scikit-learn's word pattern
        raw.setdefault("nfc", False)  # saved before it: text as written (unless normalization)
        if (raw.get("segmentation") or {}).get("user_dict") is not None:
            # saved before it: the dictionary's words as written, as the model was fitted
            raw["segmentation"] = {"user_dict_normalized": False, **raw["segmentation"]}
        for key in ("word_ngrams", "char_ngrams"):
            if raw.get(key) is not None:
                raw[key] = tuple(raw[key])
        if raw.get("segmentation"):  # its dictionary is the saved copy, beside the model
            from vecgraft.text.tokenize import user_dict_at

            raw["segmentation"] = user_dict_at(raw["segmentation"], root)
        model = cls(LinearConfig(**raw))
        for name, vec in model.vectorizers:
            terms = meta["vocabularies"].get(name)
            idf = tensors.get(f"idf_{name}")
            if terms is None or idf is None or len(terms) != len(idf):
                raise CheckpointError(f"{root}: {name} vocabulary and idf weights disagree")
            _set_fitted(vec, {t: i for i, t in enumerate(terms)}, idf)
        model.coef, model.intercept = tensors["coef"], tensors["intercept"]
        model.classes = list(meta["classes"])
        width = sum(len(v.vocabulary_) for _, v in model.vectorizers)
        if model.coef.ndim != 2 or model.coef.shape[1] != width:
            raise CheckpointError(
                f"{root / LINEAR_FILE}: coef has shape {model.coef.shape}, expected [*, {width}]"
            )
        model._check_outputs(root)
        return model

    def _check_outputs(self, root: Path) -> None:
        """Raise unless the saved classes fit the coefficient rows (one per class; one for two).

        Why: a linear.json with its classes cut from 5 to 3 printed a 3-class `--proba`
        header over 5 probabilities, and a repeated class named two columns alike.
        """
        classes, rows = self.classes, self.coef.shape[0]
        if self.regression:
            expected, what = 1, "a regression (no classes)"
            ok = not classes
        else:
            expected, what = (1 if len(classes) == 2 else len(classes)), f"{len(classes)} classes"
            ok = len(classes) >= 2 and len({str(c) for c in classes}) == len(classes)
        if not ok:
            raise CheckpointError(
                f"{root / LINEAR_META}: classes {classes[:10]} are not "
                f"{'empty' if self.regression else 'two or more distinct labels'}"
            )
        if rows != expected or self.intercept.shape != (rows,):
            raise CheckpointError(
                f"{root / LINEAR_FILE}: coef has {rows} rows and intercept shape "
                f"{tuple(self.intercept.shape)}, but {root / LINEAR_META} has {what}: expected "
                f"{expected} row(s) (one per class, one for two classes)"
            )
