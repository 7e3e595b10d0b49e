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
"""

from __future__ import annotations

import math
import os
import sys
import types
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from itertools import compress, count, repeat
from operator import not_
from typing import Any, Union

import numpy as np
import torch

from vecgraft._util.console import printable
from vecgraft._util.options import parse_enum
from vecgraft.errors import AlignmentError, ConfigError
from vecgraft.text.normalize import normalize
from vecgraft.text.vocab import Vocab
from vecgraft.vectors import Vectors

InitFn = Callable[[int, int, torch.Generator], torch.Tensor]


class MatchRule(StrEnum):
    """How a vocabulary word can find its vector; tried in the order the caller gives."""

    EXACT = "exact"
    CASEFOLD = "casefold"  # word.casefold() equal; the earliest (most frequent) row wins
    NORMALIZED = "normalized"  # same `normalize_key` (NFKC, casefold, accents, digits -> 0)
    SUBWORD = "subword"  # built by the vectors' subword model (fastText n-grams)


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


# Row labels in `AlignmentReport.rules`, in display order.
PAD, UNK, INIT = "pad", "unk", "init"
ROW_RULES: tuple[str, ...] = (*(r.value for r in MatchRule), UNK, INIT, PAD)
DEFAULT_ORDER: tuple[str, ...] = tuple(r.value for r in MatchRule)

_QUOTES = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "–": "-",
        "—": "-",
        "‐": "-",
        "‑": "-",
        "−": "-",
    }
)
_ASCII_DIGITS = str.maketrans("123456789", "000000000")


def normalize_key(word: str) -> str:
    """The key under which the `normalized` rule matches words.

    NFKC, case folding, accents removed, typographic quotes/dashes made ASCII, and every
    digit replaced by `0` ("1,987" and "2,024" share a key). Pure-ASCII words take a fast
    path because a 400k-word vector file is keyed on every alignment.

    Example:
        >>> normalize_key("Ｃafé’s 1987")
        "cafe's 0000"
    """
    if word.isascii():
        return word.lower().translate(_ASCII_DIGITS)
    # The tokenizers' normaliser first, so "normalized" means the same thing everywhere.
    text = normalize(word, nfkc=True, lower=True, digits="0").casefold().translate(_QUOTES)
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", text)


# -- the report ------------------------------------------------------------------------------
@dataclass
class AlignmentReport:
    """What `align` did: the rule behind each row and the coverage it reached.

    Coverage excludes special tokens. `token_coverage` weights each word by its corpus count
    (`vocab.counts`); it is None when the vocabulary has no counts.

    Attributes:
        rules: one label per row: a `MatchRule` value, "init", "unk" or "pad".
        counts: label -> number of rows, every label present (0 when unused).
        type_coverage: matched words / words (specials excluded).
        token_coverage: matched tokens / tokens (count-weighted), or None without counts.
        missing: the most frequent unmatched words with their counts, most frequent first.
        types, types_matched, tokens, tokens_matched: the numbers behind the two ratios.
        dim: output dimension; source_dim: dimension of the vectors.
        source: where the vectors came from; options: the `align` options used.
        notes: anything unusual (fallback statistics, PCA variance kept, ...).
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

    def format_table(self, missing: int = 10) -> str:
        """A plain-text table: rows per rule, coverage of types and tokens, top missing words."""
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
        if self.token_coverage is None:
            lines.append("token coverage      n/a  (vocabulary has no counts)")
        else:
            lines.append(
                f"token coverage  {self.token_coverage:7.2%}  "
                f"({self.tokens_matched:,} of {self.tokens:,} tokens)"
            )
        if self.missing and missing > 0:
            # words come from user files: escape tabs, escape codes, bidi marks
            shown = ", ".join(f"{printable(w)} ({c:,})" for w, c in self.missing[:missing])
            lines.append(f"most frequent missing: {shown}")
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format_table()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (`missing` as [word, count] pairs)."""
        data = asdict(self)
        data["missing"] = [[w, c] for w, c in self.missing]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AlignmentReport:
        """Inverse of `to_dict`."""
        fields = dict(data)
        fields["missing"] = [(str(w), int(c)) for w, c in fields.get("missing", [])]
        return cls(**fields)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write `to_dict()` as JSON, atomically."""
        from vecgraft._util.atomic import atomic_write_json

        atomic_write_json(path, self.to_dict(), indent=1)


# -- matching ------------------------------------------------------------------------------
def _parse_order(order: Sequence[str | MatchRule]) -> list[MatchRule]:
    rules: list[MatchRule] = []
    for item in order:
        rule = parse_enum(MatchRule, item, "match rule")
        if rule in rules:
            raise ConfigError(f"match rule {rule.value!r} listed twice in order")
        rules.append(rule)
    return rules


def normalize_keys(words: Sequence[str]) -> list[str]:
    """`normalize_key` of many words, fast.

    Plain ASCII-letter words (most of any vector file) are lowercased at C speed; only the
    rest go through the full function.
    """
    keys = list(map(str.lower, words))
    special = set(compress(count(), map(not_, map(str.isalpha, keys))))
    special.update(compress(count(), map(not_, map(str.isascii, keys))))
    for i in special:
        keys[i] = normalize_key(words[i])
    return keys


def _keys(
    words: Sequence[str], rule: MatchRule, normalizer: Callable[[str], str] | None
) -> list[str]:
    if rule is MatchRule.CASEFOLD:
        return list(map(str.casefold, words))
    if normalizer is None:
        return normalize_keys(words)
    return list(map(normalizer, words))


def _first_rows(keys: list[str]) -> dict[str, int]:
    """Map each key to the first row having it.

    The first row is the most frequent word in frequency-sorted files (GloVe, word2vec), and
    a deterministic choice. Built from the end so that earlier rows overwrite later ones.
    """
    n = len(keys)
    return dict(zip(reversed(keys), range(n - 1, -1, -1)))


# Row label codes: match rules first (in MatchRule order), then the fill labels.
_LABELS: tuple[str, ...] = ROW_RULES
_CODE = {name: i for i, name in enumerate(_LABELS)}
_N_MATCH = len(MatchRule)


@dataclass
class _Matches:
    """Per vocabulary row: source row in the vector table (-1: none) and its label code."""

    src: np.ndarray  # int64 [V]
    codes: np.ndarray  # int8 [V], index into _LABELS
    subword_rows: dict[int, np.ndarray]


def _match(
    vocab: Vocab,
    vectors: Vectors,
    order: list[MatchRule],
    normalizer: Callable[[str], str] | None,
    special_ids: np.ndarray,
) -> _Matches:
    """Run the rule chain; each rule is one pass of C-level dict lookups over pending words."""
    tokens = vocab.tokens
    n = len(tokens)
    src = np.full(n, -1, dtype=np.int64)
    codes = np.full(n, _CODE[INIT], dtype=np.int8)
    is_word = np.ones(n, dtype=bool)
    is_word[special_ids] = False
    pending = np.flatnonzero(is_word)
    subword_rows: dict[int, np.ndarray] = {}
    for rule in order:
        if not len(pending):
            break
        words = list(map(tokens.__getitem__, pending.tolist()))
        if rule is MatchRule.SUBWORD:
            if vectors.subword is None:
                continue
            found = []
            for i, word in zip(pending.tolist(), words):
                vec = vectors.subword.word_vector(word)
                if vec is not None:
                    subword_rows[i] = np.asarray(vec, dtype=np.float32).reshape(-1)
                    found.append(i)
            hit = np.isin(pending, np.asarray(found, dtype=np.int64))
        else:
            if rule is MatchRule.EXACT:
                table = vectors.index
                rows = np.array(list(map(table.get, words, [-1] * len(words))), dtype=np.int64)
            else:
                table = _first_rows(_keys(vectors.words, rule, normalizer))
                wanted = _keys(words, rule, normalizer)
                rows = np.array(list(map(table.get, wanted, [-1] * len(words))), dtype=np.int64)
            hit = rows >= 0
            src[pending[hit]] = rows[hit]
        codes[pending[hit]] = _CODE[rule.value]
        pending = pending[~hit]
    return _Matches(src, codes, subword_rows)


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


# -- initialisation --------------------------------------------------------------------------
def _init_rows(
    init: InitStrategy | InitFn,
    n: int,
    dim: int,
    mean: torch.Tensor,
    std: torch.Tensor,
    generator: torch.Generator,
) -> torch.Tensor:
    """[n, dim] float32 rows drawn on the CPU so a seed gives the same rows on any device."""
    if callable(init) and not isinstance(init, InitStrategy):
        out = init(n, dim, generator)
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (n, dim):
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise AlignmentError(
                f"init callable returned {shape}, expected a tensor of ({n}, {dim})"
            )
        return out.detach().to(device="cpu", dtype=torch.float32)
    if init is InitStrategy.ZEROS:
        return torch.zeros(n, dim)
    if init is InitStrategy.MEAN:
        return mean.expand(n, dim).clone()
    if init is InitStrategy.UNIFORM:
        half = std * math.sqrt(3.0)
        u = torch.rand(n, dim, generator=generator)
        return mean + (2.0 * u - 1.0) * half
    return mean + torch.randn(n, dim, generator=generator) * std


def _parse_init(init: str | InitStrategy | InitFn) -> InitStrategy | InitFn:
    if isinstance(init, str):
        return parse_enum(InitStrategy, init, "init", also="or a callable")
    if callable(init):
        return init
    raise ConfigError(f"init must be a strategy name or a callable, got {type(init).__name__}")


def _parse_unk(unk: str | UnkStrategy) -> UnkStrategy:
    return parse_enum(UnkStrategy, unk, "unk")


def _target_dim(dim: int | None, source_dim: int, n_matched: int, source: str | None) -> int:
    if dim is None or dim == source_dim:
        return source_dim
    if dim < 1:
        raise AlignmentError(f"dim must be positive, got {dim}")
    if dim > source_dim:
        where = f"{source}: " if source else ""
        raise AlignmentError(
            f"{where}cannot grow vectors from {source_dim} to {dim} dimensions "
            f"(PCA only reduces); use dim <= {source_dim}"
        )
    if n_matched < dim:
        raise AlignmentError(
            f"PCA from {source_dim} to {dim} dimensions needs at least {dim} matched words, "
            f"found {n_matched}"
        )
    return dim


# -- the entry point -------------------------------------------------------------------------
def align(
    vocab: Vocab,
    vectors: Vectors,
    *,
    order: Sequence[str | MatchRule] = DEFAULT_ORDER,
    init: Union[str, InitStrategy, InitFn] = "normal",
    seed: int = 0,
    unk: str | UnkStrategy = "mean",
    dim: int | None = None,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device | None = None,
    normalizer: Callable[[str], str] | None = None,
    missing_top: int = 50,
) -> tuple[torch.Tensor, AlignmentReport]:
    """Build the embedding matrix for `vocab` from `vectors`.

    Args:
        vocab: the vocabulary; row `i` of the result belongs to `vocab.tokens[i]`.
        vectors: the pretrained vectors. `vecgraft.load(path, vocab=vocab.tokens)` reads
            only the rows the `exact` and `casefold` rules can use; load without `vocab`
            when the `normalized` rule should search the whole file.
        order: match rules to try, in order (`MatchRule` values); drop one to disable it.
        init: `InitStrategy` for unmatched rows, or a callable
            `(n_rows, dim, generator) -> Tensor [n_rows, dim]`.
        seed: seeds the `torch.Generator` used by `init`; same seed, same matrix.
        unk: how the unknown-word row is filled (`UnkStrategy`).
        dim: output dimension; smaller than `vectors.dim` applies PCA fitted on the matched
            rows; larger is an AlignmentError.
        dtype: of the returned tensor.
        device: of the returned tensor (the work is done on the CPU).
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
    rules = _parse_order(order)
    init_s = _parse_init(init)
    unk_s = _parse_unk(unk)
    pad_i, unk_i = vocab.pad_index, vocab.unk_index
    special = set(vocab.specials) | {t for t in (vocab.pad_token, vocab.unk_token) if t}
    special_ids = np.array(sorted(vocab.stoi[t] for t in special), dtype=np.int64)
    matches = _match(vocab, vectors, rules, normalizer, special_ids)
    src, codes = matches.src, matches.codes
    n, source_dim = len(vocab), vectors.dim
    for i, vec in matches.subword_rows.items():
        if vec.shape != (source_dim,):
            raise AlignmentError(
                f"subword model gave a vector of {vec.shape[0]} values for {vocab.tokens[i]!r}, "
                f"expected {source_dim}"
            )

    table_rows = np.flatnonzero(src >= 0)
    sub_rows = np.fromiter(matches.subword_rows, dtype=np.int64, count=len(matches.subword_rows))
    matched_rows = np.sort(np.concatenate([table_rows, sub_rows]))
    notes: list[str] = []
    out_dim = _target_dim(dim, source_dim, len(matched_rows), vectors.source)

    # One fancy-index gather from the (possibly memmapped) table, one scatter into the output.
    full = np.zeros((n, source_dim), dtype=np.float32)
    if len(table_rows):
        full[table_rows] = np.asarray(vectors.matrix[src[table_rows]], dtype=np.float32)
    if len(sub_rows):
        full[sub_rows] = np.stack([matches.subword_rows[int(i)] for i in sub_rows])
    if out_dim != source_dim:
        _, _, projected, ratio = pca(full[matched_rows], out_dim)
        full = np.zeros((n, out_dim), dtype=np.float32)
        full[matched_rows] = projected
        notes.append(
            f"PCA {source_dim} -> {out_dim} dimensions fitted on {len(matched_rows):,} matched "
            f"rows keeps {ratio:.1%} of their variance"
        )
    matrix = torch.from_numpy(full)

    if len(matched_rows):
        used = full[matched_rows]
        mean = torch.from_numpy(used.mean(axis=0, dtype=np.float64).astype(np.float32))
        std = torch.from_numpy(used.std(axis=0, dtype=np.float64).astype(np.float32))
    else:
        mean = torch.zeros(out_dim)
        std = torch.full((out_dim,), 1.0 / math.sqrt(max(out_dim, 1)))
        notes.append(
            f"no word matched: rows drawn with mean 0 and std 1/sqrt({out_dim}) "
            f"instead of matched-row statistics"
        )
        if unk_s is UnkStrategy.MEAN:
            unk_s = UnkStrategy.INIT
            if unk_i is not None:
                notes.append("no matched rows to average: <unk> initialised like other rows")

    if unk_i is not None:
        codes[unk_i] = _CODE[UNK if unk_s is not UnkStrategy.INIT else INIT]
        if unk_s is UnkStrategy.MEAN:
            matrix[unk_i] = mean
    if pad_i is not None:
        codes[pad_i] = _CODE[PAD]
    init_rows = np.flatnonzero(codes == _CODE[INIT])
    if len(init_rows):
        generator = torch.Generator(device="cpu").manual_seed(seed)
        rows = _init_rows(init_s, len(init_rows), out_dim, mean, std, generator)
        matrix[torch.from_numpy(init_rows)] = rows
    # pad and zeros-unk rows are already zero: nothing above writes to them.

    report = _report(vocab, codes, special_ids, out_dim, source_dim, vectors, notes, missing_top)
    report.options = {
        "order": [r.value for r in rules],
        "init": init_s.value
        if isinstance(init_s, InitStrategy)
        else getattr(init_s, "__name__", "callable"),
        "seed": seed,
        "unk": UnkStrategy(unk).value,
        "dim": out_dim,
        "dtype": str(dtype).replace("torch.", ""),
    }
    return matrix.to(device=device, dtype=dtype), report


def _report(
    vocab: Vocab,
    codes: np.ndarray,
    special_ids: np.ndarray,
    dim: int,
    source_dim: int,
    vectors: Vectors,
    notes: list[str],
    missing_top: int,
) -> AlignmentReport:
    tokens_list = vocab.tokens
    get = vocab.counts.get
    freq = np.fromiter(map(get, tokens_list, repeat(0)), dtype=np.int64, count=len(tokens_list))
    word = np.ones(len(tokens_list), dtype=bool)
    word[special_ids] = False
    matched = codes < _N_MATCH
    per_code = np.bincount(codes.astype(np.int64), minlength=len(_LABELS))
    counts = {name: int(c) for name, c in zip(_LABELS, per_code)}
    types, types_matched = int(word.sum()), int((word & matched).sum())
    tokens, tokens_matched = int(freq[word].sum()), int(freq[word & matched].sum())
    miss = np.flatnonzero(word & ~matched)
    # Stable sort: ties keep vocabulary order, which is itself frequency order.
    top = miss[np.argsort(-freq[miss], kind="stable")[:missing_top]]
    labels = list(map(_LABELS.__getitem__, codes.tolist()))
    return AlignmentReport(
        rules=labels,
        counts=counts,
        type_coverage=types_matched / types if types else 0.0,
        token_coverage=tokens_matched / tokens if tokens else None,
        missing=[(tokens_list[i], int(freq[i])) for i in top.tolist()],
        types=types,
        types_matched=types_matched,
        tokens=tokens,
        tokens_matched=tokens_matched,
        dim=dim,
        source_dim=source_dim,
        source=vectors.source,
        notes=notes,
    )


# -- `vecgraft.align` is both this module and this function --------------------------------------
class _CallableModule(types.ModuleType):
    """The `vecgraft.align` module, callable as the `align` function.

    Importing submodule `vecgraft.align` (vecgraft.nn does) sets attribute `align` of the
    `vecgraft` package to the module, hiding the exported function `vecgraft.align` whenever
    the module was imported before the function was first looked up. A callable module keeps
    `vecgraft.align(vocab, vectors)` working in every import order, and `import vecgraft.align`
    still gives the module.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> tuple[torch.Tensor, AlignmentReport]:
        return align(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
