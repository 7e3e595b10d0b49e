"""Word-similarity scores (gensim's `evaluate_word_pairs` convention), for `intrinsic`.

Split out of `vecgraft.evaluate.intrinsic`, which re-exports the public names.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from vecgraft.errors import DataError
from vecgraft.evaluate.datasets import WordPair, dataset_path, read_pairs
from vecgraft.vectors import Vectors


def _ok_vocab(
    vectors: Vectors, restrict_vocab: int | None, case_insensitive: bool
) -> dict[str, int]:
    """Key -> row over the first `restrict_vocab` rows; earlier rows win case collisions."""
    words = vectors.words if restrict_vocab is None else vectors.words[:restrict_vocab]
    if case_insensitive:
        return {w.upper(): i for i, w in reversed(list(enumerate(words)))}
    return {w: i for i, w in reversed(list(enumerate(words)))}


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    """float32 rows scaled to unit length (zero rows stay zero)."""
    m = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1
    return m / norms


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

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


def word_similarity(
    vectors: Vectors,
    path: str | os.PathLike[str],
    case_insensitive: bool = True,
    dummy4unknown: bool = False,
    *,
    restrict_vocab: int | None = 300000,
    delimiter: str | None = "\t",
) -> SimilarityResult:
    """Pearson and Spearman correlation of cosine similarity with a `word1 word2 score` file.

    Pairs with an out-of-vocabulary word are skipped, or scored as similarity 0 with
    `dummy4unknown=True` (gensim's convention). `path` may be a built-in name
    (`wordsim353`, `simlex999`).
    """
    from scipy import stats

    pairs = read_pairs(path, delimiter=delimiter)
    ok = _ok_vocab(vectors, restrict_vocab, case_insensitive)
    gold, model, oov = _score_pairs(vectors, path, pairs, ok, case_insensitive, dummy4unknown)
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

    The cosines of all in-vocabulary pairs come from one batched product; fewer than two
    scored pairs is refused, since no correlation can be computed from them.
    """
    gold: list[float] = []
    model: list[float] = []
    left: list[int] = []
    right: list[int] = []
    slots: list[int] = []
    oov = 0
    for pair in pairs:
        a, b = (pair.a.upper(), pair.b.upper()) if case_insensitive else (pair.a, pair.b)
        if a not in ok or b not in ok:
            oov += 1
            if dummy4unknown:
                gold.append(pair.score)
                model.append(0.0)
            continue
        slots.append(len(model))
        gold.append(pair.score)
        model.append(0.0)
        left.append(ok[a])
        right.append(ok[b])
    if len(gold) < 2:
        raise DataError(
            f"{dataset_path(path)}: {len(gold)} similarity pair(s) could be scored, a "
            f"correlation needs at least 2 (invalid format, or the pairs are out of the "
            f"vocabulary of {vectors!r})"
        )
    if slots:
        rows = np.asarray(vectors.matrix)
        cos = np.einsum("ij,ij->i", _unit_rows(rows[left]), _unit_rows(rows[right]))
        for slot, value in zip(slots, cos.tolist()):
            model[slot] = value
    return gold, model, oov
