"""Word-similarity scores (gensim's `evaluate_word_pairs` convention), for `intrinsic`.

Split out of `vecgraft.evaluate.intrinsic`, which re-exports the public names.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from itertools import compress, count
from operator import not_
from typing import Any

import numpy as np

from vecgraft.errors import ConfigError, DataError
from vecgraft.evaluate.datasets import WordPair, dataset_path, pairs_line_error, scan_pairs
from vecgraft.io.arguments import check_path, check_vectors
from vecgraft.vectors import Vectors

# gensim's evaluate_word_pairs / evaluate_word_analogies: the first rows that take part
GENSIM_RESTRICT_VOCAB = 300_000


class UnscorablePairsError(DataError):
    """A similarity set of which the vectors hold fewer than two pairs: nothing to correlate.

    Its own class so that `vecgraft intrinsic` reports such a set and scores the others (the
    English sets on Chinese vectors), while a malformed file still stops it.
    `reason`: the message without the file name, for a report of several sets; `dataset`:
    the set as given (a built-in name or a path, as `SimilarityResult.dataset` holds it),
    `path`: the file read.
    """

    def __init__(self, path: str, reason: str, dataset: str | None = None) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
        self.dataset = path if dataset is None else dataset


def rows_phrase(n_rows: int, total: int, *, among: bool = False) -> str:
    """Where a word must be: "in the vectors", or within the first `n_rows` of `total` rows.

    "the vectors' first 4550 rows" of vectors that have 4,550 read as a `restrict_vocab` cut
    that was never asked for. `among`: "among ..." (else "outside ..." for a missing word).
    """
    if n_rows >= total:
        return "in the vectors" if among else "not in the vectors"
    side = "among" if among else "outside"
    return f"{side} the vectors' first {n_rows} rows (of {total}; restrict_vocab)"


def check_restrict_vocab(restrict_vocab: int | None) -> None:
    """Refuse a row count below 1 (or not an integer) before anything is sliced.

    `words[:-5]` would silently drop the last rows instead of keeping the first ones, and 0
    rows would make every word out of vocabulary.
    """
    if restrict_vocab is None:
        return
    if isinstance(restrict_vocab, bool) or not isinstance(restrict_vocab, (int, np.integer)):
        raise ConfigError(f"restrict_vocab must be an integer or None, got {restrict_vocab!r}")
    if restrict_vocab < 1:
        raise ConfigError(
            f"restrict_vocab must be at least 1 (the first N rows take part), got "
            f"{restrict_vocab}; pass None to use every row"
        )


def _ok_vocab(
    vectors: Vectors, restrict_vocab: int | None, case_insensitive: bool
) -> dict[str, int]:
    """Key -> row over the first `restrict_vocab` rows; earlier rows win case collisions.

    A row stored decomposed (NFD) also answers its NFC form where no row has that key: a twin
    stored in NFC keeps it, else the earliest decomposed row takes it. `find_row` tries the word
    as written first, so a word gensim finds gets gensim's row in both case modes.
    """
    words = vectors.words if restrict_vocab is None else vectors.words[:restrict_vocab]
    key: Callable[[str], str] = str.upper if case_insensitive else str.__str__
    ok = {key(w): i for i, w in reversed(list(enumerate(words)))}
    is_nfc = unicodedata.is_normalized
    for i in compress(count(), map(not_, map(str.isascii, words))):
        folded = key(words[i])
        if not is_nfc("NFC", folded):
            ok.setdefault(unicodedata.normalize("NFC", folded), i)
    return ok


def find_row(ok: dict[str, int], word: str, case_insensitive: bool) -> int | None:
    """Row of a dataset word in `_ok_vocab`'s map: as written, else in NFC.

    As written first (upper-cased when `case_insensitive`): where both forms are rows, the
    dataset's own form is the row gensim uses; the NFC retry only finds what gensim calls OOV.
    """
    folded = word.upper() if case_insensitive else word
    row = ok.get(folded)
    if row is None and not folded.isascii():
        row = ok.get(unicodedata.normalize("NFC", folded))
    return row


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    """float32 rows scaled to unit length (zero rows stay zero)."""
    m = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1
    return m / norms


def _gensim_unit(rows: np.ndarray, i: int, units: dict[int, np.ndarray]) -> np.ndarray:
    """Row `i` scaled as gensim's `matutils.unitvec` does it, memoised in `units`.

    gensim takes the norm with float64 BLAS `dnrm2`, scales a float64 copy by `1 / norm`
    with `dscal` and casts back to float32; a zero row stays as it is. Matching that step
    for step keeps the cosines, and so Pearson's r, bit-equal to gensim's.
    """
    from scipy.linalg.blas import dnrm2, dscal

    if i not in units:
        row = rows[i]
        norm = dnrm2(row) if row.size else 0.0
        units[i] = dscal(1.0 / norm, row).astype(row.dtype) if norm > 0.0 else row
    return units[i]


# --------------------------------------------------------------------------------------
# word similarity
@dataclass
class SimilarityResult:
    """Agreement of cosine similarities with human ratings.

    Attributes:
        pearson, spearman: correlation coefficients; `*_pvalue` their p-values.
        oov_ratio: percentage of pairs with an out-of-vocabulary word (gensim's definition).
        pairs: pairs that were scored (OOV pairs included when `dummy4unknown`).
        oov: pairs with an out-of-vocabulary word.
        skipped: numbers of the lines skipped as not `word1 word2 score` (gensim skips them
            too, saying so only in its log).
    """

    dataset: str
    pearson: float
    pearson_pvalue: float
    spearman: float
    spearman_pvalue: float
    oov_ratio: float
    pairs: int
    oov: int
    case_insensitive: bool
    dummy4unknown: bool
    skipped: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


def word_similarity(
    vectors: Vectors,
    path: str | os.PathLike[str],
    case_insensitive: bool = True,
    dummy4unknown: bool = False,
    *,
    restrict_vocab: int | None = GENSIM_RESTRICT_VOCAB,
    delimiter: str | None = "\t",
) -> SimilarityResult:
    """Pearson and Spearman correlation of cosine similarity with a `word1 word2 score` file.

    Pairs with an out-of-vocabulary word are skipped, or scored as similarity 0 with
    `dummy4unknown=True` (gensim's convention). `path` may be a built-in name
    (`wordsim353`, `simlex999`). Fewer than two pairs in the vectors raise
    `UnscorablePairsError` (a DataError), a malformed file another DataError.
    """
    from scipy import stats

    check_vectors(vectors, "word_similarity")
    check_path(path, "word_similarity", what=" or a built-in dataset name")
    check_restrict_vocab(restrict_vocab)
    pairs, skipped = scan_pairs(path, delimiter=delimiter)
    if not pairs:
        if skipped:
            raise pairs_line_error(path, skipped, delimiter)
        raise DataError(
            f"{dataset_path(path)}: no word pairs (the file is empty or only comments); "
            "expected lines of word1, word2, score"
        )
    ok = _ok_vocab(vectors, restrict_vocab, case_insensitive)
    gold, model, oov = _score_pairs(vectors, path, pairs, ok, case_insensitive, dummy4unknown)
    n_rows = len(vectors) if restrict_vocab is None else min(restrict_vocab, len(vectors))
    where = rows_phrase(n_rows, len(vectors))
    _check_scorable(path, pairs, ok, case_insensitive, where, len(pairs) - oov, len(gold))
    _check_spread(path, gold, model)
    spearman = stats.spearmanr(gold, model)
    pearson = stats.pearsonr(gold, model)
    ratio = oov / len(gold) * 100 if dummy4unknown else oov / (len(gold) + oov) * 100
    return SimilarityResult(
        dataset=str(path),
        pearson=float(pearson[0]),
        pearson_pvalue=float(pearson[1]),
        spearman=float(spearman[0]),
        spearman_pvalue=float(spearman[1]),
        oov_ratio=float(ratio),
        pairs=len(gold),
        oov=oov,
        case_insensitive=case_insensitive,
        dummy4unknown=dummy4unknown,
        skipped=skipped,
    )


def _check_scorable(
    path: str | os.PathLike[str],
    pairs: Sequence[WordPair],
    ok: dict[str, int],
    case_insensitive: bool,
    where: str,
    scored: int,
    correlated: int,
) -> None:
    """Refuse fewer than two pairs to correlate, or none in the vocabulary.

    `scored` pairs have both words in the rows that take part (`where` says which:
    `rows_phrase`); `correlated` also counts the out-of-vocabulary pairs that dummy4unknown
    scores as 0 (gensim's rule).
    """
    if scored and correlated >= 2:
        return
    first = next(p for p in pairs if _pair_rows(ok, p, case_insensitive) is None)
    example = f"line {first.line}: {first.a!r}, {first.b!r}"
    p = str(dataset_path(path))
    if not scored:
        reason = f"no pair can be scored: all {len(pairs)} have a word {where} ({example})"
        raise UnscorablePairsError(p, reason, str(path))
    oov = len(pairs) - scored
    raise UnscorablePairsError(
        p,
        f"only {scored} pair can be scored ({oov} {'has' if oov == 1 else 'have'} a word "
        f"{where}; {example}), a correlation needs at least 2",
        str(path),
    )


def _check_spread(path: str | os.PathLike[str], gold: list[float], model: list[float]) -> None:
    """Refuse constant gold scores or cosines: no correlation is defined (gensim gives NaN)."""
    p = dataset_path(path)
    if min(gold) == max(gold):
        raise DataError(
            f"{p}: all {len(gold)} scored pairs have the same score ({gold[0]:g}): no "
            "correlation is defined"
        )
    if min(model) == max(model):
        raise DataError(
            f"{p}: the vectors give all {len(model)} scored pairs the same cosine "
            f"({model[0]:.4f}): no correlation is defined"
        )


def _score_pairs(
    vectors: Vectors,
    path: str | os.PathLike[str],
    pairs: Sequence[WordPair],
    ok: dict[str, int],
    case_insensitive: bool,
    dummy4unknown: bool,
) -> tuple[list[float], list[float], int]:
    """Gold scores, model cosines (0 for OOV pairs kept by dummy4unknown) and the OOV count.

    Each cosine is gensim's `similarity()` arithmetic (see `_gensim_unit`), pair by pair:
    a batched product differs from it by a float32 ulp or two on most pairs, which moves
    Pearson's r in the 8th digit. Datasets have hundreds of pairs, so this costs nothing.
    """
    gold: list[float] = []
    model: list[float] = []
    left: list[int] = []
    right: list[int] = []
    slots: list[int] = []
    oov = 0
    for pair in pairs:
        found = _pair_rows(ok, pair, case_insensitive)
        if found is None:
            oov += 1
            if dummy4unknown:
                gold.append(pair.score)
                model.append(0.0)
            continue
        slots.append(len(model))
        gold.append(pair.score)
        model.append(0.0)
        left.append(found[0])
        right.append(found[1])
    if slots:
        rows = np.asarray(vectors.matrix)
        units: dict[int, np.ndarray] = {}
        for slot, i, j in zip(slots, left, right):
            model[slot] = float(np.dot(_gensim_unit(rows, i, units), _gensim_unit(rows, j, units)))
    return gold, model, oov


def _pair_rows(
    ok: dict[str, int], pair: WordPair, case_insensitive: bool
) -> tuple[int, int] | None:
    """Rows of both words of `pair` (`find_row`), or None when either is out of vocabulary."""
    a = find_row(ok, pair.a, case_insensitive)
    b = find_row(ok, pair.b, case_insensitive)
    return None if a is None or b is None else (a, b)
