"""Word-similarity scores (gensim's `evaluate_word_pairs` convention), for `intrinsic`.

Split out of `vecgraft.evaluate.intrinsic`, which re-exports the public names.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from vecgraft.errors import ConfigError, DataError, Hint, Opt
from vecgraft.evaluate.datasets import WordPair, dataset_path, scan_pairs
from vecgraft.vectors import Vectors


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
    restrict_vocab: int | None = 300000,
    delimiter: str | None = "\t",
) -> SimilarityResult:
    """Pearson and Spearman correlation of cosine similarity with a `word1 word2 score` file.

    Pairs with an out-of-vocabulary word are skipped, or scored as similarity 0 with
    `dummy4unknown=True` (gensim's convention). `path` may be a built-in name
    (`wordsim353`, `simlex999`).
    """
    from scipy import stats

    check_restrict_vocab(restrict_vocab)
    pairs, skipped = scan_pairs(path, delimiter=delimiter)
    if not pairs and skipped:
        raise _unreadable(path, skipped[0], delimiter)
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
        skipped=skipped,
    )


def _unreadable(path: str | os.PathLike[str], line_no: int, delimiter: str | None) -> DataError:
    """No line of a pairs file parsed: show the first one and the separator that was used.

    The usual cause is a space-separated file read with the default tab delimiter.
    """
    p = dataset_path(path)
    with open(p, encoding="utf-8-sig") as fh:
        line = next(text for n, text in enumerate(fh, 1) if n == line_no)
    sep = "any whitespace" if delimiter is None else repr(delimiter)
    return DataError(
        f"{p}:{line_no}: no line reads as word1, word2, score separated by {sep} "
        f"(this one is {line.rstrip()[:80]!r})",
        hint=Hint("; pass {} to split on any whitespace", Opt("delimiter", "None", "any")),
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
