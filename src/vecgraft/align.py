"""Vocabulary + vectors -> embedding matrix, with a rule per row and a coverage report.

Each vocabulary word is looked up by a chain of rules (`exact` -> `casefold` -> `normalized`
-> `subword`, order configurable); rows that no rule fills are initialised from the
statistics of the rows that were filled, so new rows look like the pretrained ones to the
network. The report says which rule filled each row and how much of the corpus is covered.

Row-filling policy (documented because models depend on it):

* the padding row is all zeros;
* the `<unk>` row is the mean of the matched rows (`unk="mean"`), or zeros (`"zeros"`), or
  initialised like an out-of-vocabulary word (`"init"`);
* other special tokens (e.g. `[CLS]`, `<s>`) are never looked up in the vectors and are
  initialised like out-of-vocabulary words;
* out-of-vocabulary rows follow `init` (see `InitStrategy`).

`vecgraft.align` is callable as the function whichever of the two the name holds (importing
`vecgraft.nn` first makes it this module): `help(vecgraft.align.align)` shows the function
alone, its arguments and the example.

This module holds the public names; the matching and filling steps live in the private
`vecgraft._align_match` and `vecgraft._align_fill`, which import those names, so `align()`
imports them when it runs. Torch too is imported only by `align()`: the CLI reads this
module's options and defaults for `vecgraft build --help` without paying a second for torch.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from vecgraft._util.callable_module import make_callable
from vecgraft._util.console import printable
from vecgraft._util.options import parse_enum

# defined with the reader, which keeps the rows this key can match in a bounded load
from vecgraft._util.wordkey import normalize_key as _normalize_key
from vecgraft._util.wordkey import normalize_keys as normalize_keys
from vecgraft.errors import AlignmentError, ConfigError, VocabError
from vecgraft.text.vocab import Vocab
from vecgraft.vectors import Vectors

if TYPE_CHECKING:
    import torch

InitFn = Callable[[int, int, "torch.Generator"], "torch.Tensor"]


class MatchRule(StrEnum):
    """How a vocabulary word can find its vector; tried in the order the caller gives."""

    EXACT = "exact"
    # word.casefold() equal: the word's lowercase form if the vectors have it (torchtext's
    # lower_case_backup), else the earliest (most frequent) row with that key
    CASEFOLD = "casefold"
    # same `normalize_key` (NFKC, casefold, accents, digits -> 0); the earliest row wins
    NORMALIZED = "normalized"
    # fastText's vector: the table row of a word it has (own row + n-grams), else the n-grams
    SUBWORD = "subword"


class InitStrategy(StrEnum):
    """How rows that no rule matched are filled.

    * `normal`: per dimension, N(mean, std) of the matched rows (population std).
    * `uniform`: per dimension, U(mean - sqrt(3) std, mean + sqrt(3) std): the uniform
      distribution with the same mean and variance as the matched rows.
    * `zeros`: all zeros.
    * `mean`: every row is the mean of the matched rows.

    With no matched rows at all, the statistics fall back to mean 0 and std 1/sqrt(dim)
    (rows of norm about 1) and the report says so.
    """

    NORMAL = "normal"
    UNIFORM = "uniform"
    ZEROS = "zeros"
    MEAN = "mean"


class UnkStrategy(StrEnum):
    """How the `<unk>` row is filled: mean of matched rows, zeros, or like an OOV row."""

    MEAN = "mean"
    ZEROS = "zeros"
    INIT = "init"


# A warning (a note of the report, a line of finetune's log) past this share of the word
# types filled by `subword` from n-grams no word of the fastText model has: such vectors are
# noise (untrained buckets, or buckets other n-grams trained), not knowledge of the words.
UNTRAINED_WARN_SHARE = 1 / 3

# Row labels in `AlignmentReport.rules`, in display order.
PAD, UNK, INIT = "pad", "unk", "init"
ROW_RULES: tuple[str, ...] = (*(r.value for r in MatchRule), UNK, INIT, PAD)
DEFAULT_ORDER: tuple[str, ...] = tuple(r.value for r in MatchRule)

def normalize_key(word: str) -> str:
    """The key under which the `normalized` rule matches words.

    NFKC, case folding, accents removed (marks on Latin, Greek and Cyrillic letters, and the
    optional vowel marks of Arabic and Hebrew: مُحَمَّد is محمد; other scripts keep theirs,
    ガス/カス or ไม่/ไม้ are different words), typographic quotes/dashes made ASCII, and every
    digit replaced by `0` ("1,987" and "2,024" share a key). `vecgraft.load(vocab=...)`
    keeps the first row of the file with each vocabulary word's key, so this rule finds in
    a bounded read the row it finds in the whole file.

    Example:
        >>> normalize_key("Ｃafé’s 1987")
        "cafe's 0000"
    """
    return _normalize_key(word)


# -- the report ------------------------------------------------------------------------------
@dataclass
class AlignmentReport:
    """What `align` did: the rule behind each row and the coverage it reached.

    Coverage excludes special tokens. `token_coverage` weights each word by its corpus count
    (`vocab.counts`) among the words kept in the vocabulary: words cut by `min_freq` or
    `max_size` are not counted, so it is not the coverage of the corpus. It is None when the
    vocabulary has no counts.

    A fastText model's `subword` rule gives every word with a character n-gram a vector, so
    `type_coverage` reaches 100 % whatever the vectors know. `type_coverage_words` and
    `token_coverage_words` count the rows the vectors' own words filled (`exact`,
    `casefold`, `normalized`); `types_subword_untrained` counts the `subword` rows none of
    whose n-grams occurs in any word the model was trained on: their vectors come from
    buckets no training updated, or that other n-grams share, i.e. noise. They keep that
    vector (as fastText and gensim give it) and are counted as matched.

    Attributes:
        rules: one label per row: a `MatchRule` value, "init", "unk" or "pad".
        counts: label -> number of rows, every label present (0 when unused).
        type_coverage: matched words / words (specials excluded), `subword` rows included.
        token_coverage: matched tokens / tokens (count-weighted, of the vocabulary's words),
            or None without counts.
        missing: the most frequent unmatched words with their counts, most frequent first.
        types, types_matched, tokens, tokens_matched: the numbers behind the two ratios.
        dim: output dimension; source_dim: dimension of the vectors.
        source: where the vectors came from; options: the `align` options used.
        notes: anything unusual (fallback statistics, PCA variance kept, ...).
        types_subword, tokens_subword: the words the `subword` rule filled, and their tokens
            (part of `types_matched` and `tokens_matched`).
        types_subword_untrained, tokens_subword_untrained: of those, the words none of
            whose n-grams any word of the fastText model has (a word of its table has its
            own trained row and is never counted), and their tokens. 0 where the subword
            model cannot tell (not fastText's; a note says so).
        subword_untrained_rows: the rows of those words, in row order (e.g. to initialise
            them like unmatched rows: `matrix[report.subword_untrained_rows] = ...`).
    """

    rules: list[str]
    counts: dict[str, int]
    type_coverage: float
    token_coverage: float | None
    missing: list[tuple[str, int]]
    types: int
    types_matched: int
    tokens: int
    tokens_matched: int
    dim: int
    source_dim: int
    source: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    types_subword: int = 0
    tokens_subword: int = 0
    types_subword_untrained: int = 0
    tokens_subword_untrained: int = 0
    subword_untrained_rows: list[int] = field(default_factory=list)

    @property
    def type_coverage_words(self) -> float:
        """Words whose row the vectors' own words filled / words: `subword` rows left out."""
        return (self.types_matched - self.types_subword) / self.types if self.types else 0.0

    @property
    def token_coverage_words(self) -> float | None:
        """`type_coverage_words` weighted by the words' counts; None without counts."""
        if self.token_coverage is None or not self.tokens:
            return None
        return (self.tokens_matched - self.tokens_subword) / self.tokens

    def format_table(self, missing: int = 10) -> str:
        """A plain-text table: rows per rule, the vocabulary's type/token coverage, missing."""
        total = len(self.rules) or 1
        lines = [f"{'rule':<12}{'rows':>10}{'share':>9}"]
        for rule in ROW_RULES:
            n = self.counts.get(rule, 0)
            lines.append(f"{rule:<12}{n:>10,}{n / total:>9.1%}")
        lines.append(f"{'total':<12}{len(self.rules):>10,}")
        lines.append("")
        lines.append(
            f"type coverage   {self.type_coverage:7.2%}  "
            f"({self.types_matched:,} of {self.types:,} words)"
        )
        if self.types_subword:
            lines.extend(_split_lines(self.types_matched, self.types_subword,
                                      self.types_subword_untrained, self.types,
                                      "words"))  # fmt: skip
        if self.token_coverage is None:
            lines.append("token coverage      n/a  (vocabulary has no counts)")
        else:
            lines.append(
                f"token coverage  {self.token_coverage:7.2%}  "
                f"({self.tokens_matched:,} of {self.tokens:,} tokens)"
            )
            if self.types_subword:
                lines.extend(_split_lines(self.tokens_matched, self.tokens_subword,
                                          self.tokens_subword_untrained, self.tokens,
                                          "tokens"))  # fmt: skip
        if self.missing and missing > 0:
            lines.append(self._missing_line(missing))
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)

    def _missing_line(self, missing: int) -> str:
        """The first `missing` unmatched words, with their counts where the vocabulary has any.

        Why: without counts every word's is 0, and "zz (0)" read as a frequency; the words
        are then in vocabulary order, not "most frequent" first.
        """
        top = self.missing[:missing]
        # words come from user files: escape tabs, escape codes, bidi marks
        if self.token_coverage is None and not any(c for _, c in top):
            shown = ", ".join(printable(w) for w, _ in top)
            return f"missing (no counts, vocabulary order): {shown}"
        shown = ", ".join(f"{printable(w)} ({c:,})" for w, c in top)
        return f"most frequent missing: {shown}"

    def __str__(self) -> str:
        return self.format_table()

    def __repr__(self) -> str:
        # the dataclass repr lists every row's rule: 170k characters for a 19k vocab
        used = [f"{r}={n}" for r, n in self.counts.items() if n]  # none for no rows: no ", ,"
        tokens = "n/a" if self.token_coverage is None else f"{self.token_coverage:.2%}"
        parts = [f"{len(self.rules)} rows", *used, f"type_coverage={self.type_coverage:.2%}",
                 f"token_coverage={tokens}"]  # fmt: skip
        if self.types_subword:
            parts.append(f"types_subword_untrained={self.types_subword_untrained}")
        return f"AlignmentReport({', '.join(parts)})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (`missing` as [word, count] pairs)."""
        data = asdict(self)
        data["missing"] = [[w, c] for w, c in self.missing]
        for name in _DERIVED:  # for readers of report.json; `from_dict` derives them again
            data[name] = getattr(self, name)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AlignmentReport:
        """Inverse of `to_dict`."""
        fields = {k: v for k, v in data.items() if k not in _DERIVED}
        fields["missing"] = [(str(w), int(c)) for w, c in fields.get("missing", [])]
        return cls(**fields)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write `to_dict()` as JSON, atomically."""
        from vecgraft._util.atomic import atomic_write_json

        atomic_write_json(path, self.to_dict(), indent=1)


# properties `to_dict` writes besides the fields (the coverage by the vectors' own words)
_DERIVED = ("type_coverage_words", "token_coverage_words")


def _split_lines(matched: int, subword: int, untrained: int, total: int, unit: str) -> list[str]:
    """The coverage split into the vectors' own words and fastText subwords, noise said.

    Why: with a fastText model every word has a vector, and "type coverage 100.00 %" hid
    that most rows were built from n-grams no trained word has.
    """
    share = (lambda n: n / total) if total else (lambda n: 0.0)
    return [
        f"  by words      {share(matched - subword):7.2%}  ({matched - subword:,} {unit}: "
        "exact, casefold, normalized)",
        f"  by subwords   {share(subword):7.2%}  ({subword:,} {unit}; {untrained:,} = "
        f"{share(untrained):.2%} from n-grams no trained word has: noise)",
    ]


def own_types(types: int, vocab: Vocab) -> int:
    """`types` less the words `extend_vocab` added (`vocab.metadata`), at least 1.

    Why one base: those words are the vectors' own (all exact matches), not the texts', so
    a share of noise over them read lower in the alignment note than in finetune's WARNING.
    """
    return max(types - int(vocab.metadata.get("extended_from_vectors", 0)), 1)


def untrained_advice(words: Sequence[str]) -> str:
    """What to do when many `subword` rows come from untrained n-grams (`words`: theirs).

    Chinese words are one to four characters, so an unseen word's few n-grams ("<中国",
    "中国>", "<中国>") are often in no trained word: the characters (`--zh-mode word+char`)
    are then words of the vectors, read as such by runs that follow its metadata.
    """
    from vecgraft.text.unspaced import chinese_row_share

    advice = "pretrain on a larger or in-domain corpus"
    if words and chinese_row_share(list(words[:2000])) > 0.5:
        advice += (", or with `--tokenizer jieba --zh-mode word+char`, whose characters are "
                   "then words of the vectors")  # fmt: skip
    return advice


# -- matching ------------------------------------------------------------------------------
def _parse_order(order: Sequence[str | MatchRule]) -> list[MatchRule]:
    rules: list[MatchRule] = []
    for item in order:
        rule = parse_enum(MatchRule, item, "match rule")
        if rule in rules:
            raise ConfigError(f"match rule {rule.value!r} listed twice in order")
        rules.append(rule)
    return rules


# -- dimension reduction ---------------------------------------------------------------------
def pca(rows: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Fit PCA on `rows` [M, D]: the one PCA of vecgraft (`align(dim=)`, `from_transformer(pca=)`).

    Returns (mean [D], components [dim, D], projected rows [M, dim] float32, explained
    variance ratio). Eigen-decomposition of the D x D covariance in float64 is much
    cheaper than an SVD of the M x D matrix when M >> D, and exact where a randomized SVD is
    not. Each component's largest-magnitude entry is made positive (scikit-learn's sign
    convention), so the result is deterministic and needs no seed.
    """
    x = rows.astype(np.float64)
    mean = x.mean(axis=0)
    xc = x - mean
    cov = xc.T @ xc / max(len(x) - 1, 1)
    values, vectors = np.linalg.eigh(cov)
    top = np.argsort(values)[::-1][:dim]
    comps = vectors[:, top].T
    signs = np.sign(comps[np.arange(dim), np.abs(comps).argmax(axis=1)])
    signs[signs == 0] = 1.0
    comps = comps * signs[:, None]
    total = float(values.clip(min=0).sum())
    ratio = float(values[top].clip(min=0).sum() / total) if total > 0 else 1.0
    return mean, comps, (xc @ comps.T).astype(np.float32), ratio


# -- parsing the options ------------------------------------------------------------------


def _parse_init(init: str | InitStrategy | InitFn) -> InitStrategy | InitFn:
    if isinstance(init, str):
        return parse_enum(InitStrategy, init, "init", also="or a callable")
    if callable(init):
        return init
    raise ConfigError(f"init must be a strategy name or a callable, got {type(init).__name__}")


def _parse_unk(unk: str | UnkStrategy) -> UnkStrategy:
    return parse_enum(UnkStrategy, unk, "unk")


# -- the entry point -------------------------------------------------------------------------
def _check_seed(seed: Any) -> int:
    """`seed` as a Python int (numpy integers too); anything else is a ConfigError now.

    Checked up front, not only when a row is drawn: torch's generator takes 64-bit integers.
    """
    import numbers

    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ConfigError(f"seed must be an integer, got {type(seed).__name__} {seed!r}")
    if not -(2**63) <= int(seed) < 2**64:
        raise ConfigError(f"seed must fit in 64 bits, got {seed}")
    return int(seed)


def _check_inputs(vocab: Any, vectors: Any, dtype: Any) -> None:
    """Wrong kinds of input as one clear error each, not an AttributeError from deep inside.

    Why: a list of words or gensim's KeyedVectors are natural slips; an empty vocabulary or
    zero-width vectors would give an embedding of no rows or no columns; an integer dtype
    would silently truncate every vector.
    """
    if not isinstance(vocab, Vocab):
        raise VocabError(
            f"vocab must be a vecgraft Vocab, got {type(vocab).__name__}; build one with "
            f"Vocab.from_counts(counts) or Vocab(tokens)"
        )
    if not isinstance(vectors, Vectors):
        raise AlignmentError(
            f"vectors must be vecgraft Vectors, got {type(vectors).__name__}; read a file "
            f"with vecgraft.load(path) or wrap arrays in Vectors(words, matrix)"
        )
    if not len(vocab):
        raise VocabError("the vocabulary is empty: there are no rows to build")
    if vectors.dim < 1:
        where = f"{vectors.source}: " if vectors.source else ""
        raise AlignmentError(f"{where}vectors have dimension {vectors.dim}; nothing to align")
    import torch

    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ConfigError(f"dtype must be a floating-point torch dtype, got {dtype}")


def _check_fits(
    matrix: torch.Tensor,
    dtype: torch.dtype,
    vocab: Vocab,
    matched: np.ndarray,
    found_as: Callable[[int], str],
    pca_dim: int | None = None,
) -> None:
    """Casting to a narrow dtype (float16) must not turn large values into inf.

    The error names the first matched word over the limit, whose vector is what to fix: it
    named the row of the largest value, often `<unk>`, a mean of the matched rows and no
    word of the file. `matched`: the rows taken from the vectors; `found_as(row)`: where
    that row's vector came from; `pca_dim`: the dimension PCA projected the rows to, if it
    ran (the value is then the projection's, not one of the file).
    """
    import torch

    limit = torch.finfo(dtype).max
    if limit >= torch.finfo(matrix.dtype).max or not len(matrix):
        return
    peak = matrix.abs().nan_to_num(nan=0.0, posinf=0.0).amax(dim=1).numpy()
    over = np.flatnonzero(peak > limit)
    if not len(over):
        return
    is_matched = np.isin(over, matched)
    beyond = f"beyond the largest {str(dtype).replace('torch.', '')} ({limit:.4g})"
    fix = "use dtype=torch.float32 or torch.bfloat16"
    if not is_matched.any():  # a row drawn by a custom `init`, say
        row = int(over[0])
        token = vocab.tokens[row]
        raise AlignmentError(f"the row of {token!r} holds {peak[row]:.4g}, {beyond}; {fix}")
    sources, derived = over[is_matched], over[~is_matched]
    row = int(sources[0])
    more = {1: "", 2: ", as does 1 more matched word"}.get(
        len(sources), f", as do {len(sources) - 1:,} more matched words"
    )
    follow = ""
    if len(derived):  # <unk> (a mean) and drawn rows: fixed by fixing the matched ones
        names = ", ".join(repr(vocab.tokens[int(i)]) for i in derived[:3])
        names += f" and {len(derived) - 3:,} more" if len(derived) > 3 else ""
        rows = "row" if len(derived) == 1 else "rows"
        follow = f"; the {rows} {names}, derived from the matched vectors, follow from them"
    after = "" if pca_dim is None else f" after PCA to {pca_dim} dimensions"
    raise AlignmentError(
        f"the vector of {vocab.tokens[row]!r}{found_as(row)} holds {peak[row]:.4g}{after}, "
        f"{beyond}{more}{follow}; {fix} (or scale the vectors down)"
    )


def _found_as(vectors: Vectors, src: np.ndarray, vocab_words: list[str]) -> Callable[[int], str]:
    """` (matched to 'cat' in glove.txt)`: where a vocabulary row took its vector, for errors."""

    def describe(row: int) -> str:
        where = f" in {vectors.source}" if vectors.source else ""
        if src[row] < 0:
            return f" (built from its n-grams{where})"
        word = vectors.words[int(src[row])]
        return f" (matched to {word!r}{where})" if word != vocab_words[row] else where

    return describe


def align(
    vocab: Vocab,
    vectors: Vectors,
    *,
    order: Sequence[str | MatchRule] = DEFAULT_ORDER,
    init: Union[str, InitStrategy, InitFn] = "normal",
    seed: int = 0,
    unk: str | UnkStrategy = "mean",
    dim: int | None = None,
    dtype: torch.dtype | None = None,
    device: str | torch.device | None = None,
    normalizer: Callable[[str], str] | None = None,
    missing_top: int = 50,
) -> tuple[torch.Tensor, AlignmentReport]:
    """Build the embedding matrix for `vocab` from `vectors`.

    Args:
        vocab: the vocabulary; row `i` of the result belongs to `vocab.tokens[i]`.
        vectors: the pretrained vectors. `vecgraft.load(path, vocab=vocab.tokens)` reads
            only the rows the `exact`, `casefold` and `normalized` rules can use (with the
            default `normalizer`; load without `vocab` for a custom one).
        order: match rules to try, in order (`MatchRule` values); drop one to disable it.
            `subword` gives a word of a fastText table fastText's vector for it (its own
            row and its n-grams, which is its row), other words their n-gram mean.
        init: `InitStrategy` for unmatched rows, or a callable
            `(n_rows, dim, generator) -> Tensor [n_rows, dim]`.
        seed: seeds the `torch.Generator` used by `init`; same seed, same matrix.
        unk: how the unknown-word row is filled (`UnkStrategy`).
        dim: output dimension; smaller than `vectors.dim` applies PCA fitted on the matched
            rows; larger is an AlignmentError.
        dtype: of the returned tensor (None: torch.float32), floating point; a narrow one
            (float16) must hold every value, or it is an AlignmentError instead of a row of inf.
        device: of the returned tensor (the work is done on the CPU); checked first, so a
            device this machine lacks ("cuda" on a CPU-only torch) is a ConfigError.
        normalizer: key function of the `normalized` rule (default `normalize_key`).
        missing_top: how many of the most frequent missing words the report keeps.

    Returns:
        (matrix [len(vocab), dim], AlignmentReport).

    Example:
        >>> v = Vocab.from_counts({"the": 3, "Cat": 1})
        >>> vecs = Vectors(["the", "cat"], np.ones((2, 2), np.float32))
        >>> m, report = align(v, vecs)
        >>> report.rules, report.type_coverage
        (['pad', 'unk', 'exact', 'casefold'], 1.0)
    """
    import torch

    from vecgraft._align_fill import _fill_unmatched, _gather_rows, _options, _report
    from vecgraft._align_match import _check_subword_rows, _match, _special_ids
    from vecgraft._util.device import resolve_device

    dtype = torch.float32 if dtype is None else dtype
    _check_inputs(vocab, vectors, dtype)
    if device is not None:  # torch's bare AssertionError came only after the work
        device = resolve_device(device)
    rules, init_s, unk_s = _parse_order(order), _parse_init(init), _parse_unk(unk)
    seed = _check_seed(seed)
    if missing_top < 0:  # [:-n] would keep all but the n least frequent
        raise ConfigError(f"missing_top must be >= 0, got {missing_top}")
    special_ids = _special_ids(vocab)
    matches = _match(vocab, vectors, rules, normalizer, special_ids)
    _check_subword_rows(matches, vocab, vectors.dim)
    notes: list[str] = list(matches.notes)
    full, matched_rows = _gather_rows(vectors, matches, dim, notes)
    matrix = torch.from_numpy(full)
    _fill_unmatched(matrix, full, matched_rows, vocab, matches.codes, unk_s, init_s, seed, notes)
    out_dim = full.shape[1]
    report = _report(vocab, matches.codes, special_ids, out_dim, vectors.dim, vectors, notes,
                     missing_top, matches.untrained)  # fmt: skip
    report.options = _options(rules, init_s, seed, unk_s, out_dim, dtype)
    pca_dim = out_dim if out_dim < vectors.dim else None  # `dim=` projected the rows
    _check_fits(
        matrix, dtype, vocab, matched_rows, _found_as(vectors, matches.src, vocab.tokens), pca_dim
    )
    return matrix.to(device=device, dtype=dtype), report


# -- `vecgraft.align` is both this module and this function --------------------------------------
# Importing submodule `vecgraft.align` (vecgraft.nn does) sets attribute `align` of the
# `vecgraft` package to the module, hiding the exported function whenever the module was
# imported before the function was first looked up: callable, it works in every import order.
make_callable(__name__, "vecgraft.align:align")
