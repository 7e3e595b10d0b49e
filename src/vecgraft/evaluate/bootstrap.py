"""Paired bootstrap of the gap between two rows' test scores, from their per-text predictions.

Why: one test text moved off the majority label lifts macro F1 by a point or more, which a
verdict read as a win; a fixed margin called every macro-F1 lead noise instead (84 against
40 too). The standard error of the gap itself, from the predictions, tells the two apart:
the test texts are drawn with replacement `RESAMPLES` times (seeded, so a report is the
same on every rendering), both rows are scored on each draw, and the standard deviation of
the gaps is the gap's standard error. A row of several runs (seeds) scores the mean of its
runs' scores on a draw; every run of both rows is scored on the same draws.

Macro F1 is computed from confusion counts per draw, all draws at once (numpy), as
scikit-learn's `f1_score(average="macro")` computes it: the mean F1 over the classes
present in either the gold labels or the predictions of that draw.

    >>> gold = np.array([0, 0, 0, 1])
    >>> paired_se([(gold, np.array([0, 0, 0, 0]))], [(gold, gold)], "accuracy") > 0
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "METRICS",
    "RESAMPLES",
    "SEED",
    "gap_se",
    "paired_se",
    "resample_indices",
    "resampled_rows",
    "resampled_scores",
]

RESAMPLES = 1000  # draws of the test texts
SEED = 0  # the draws' seed: the same draws for every pair and every rendering
METRICS = ("accuracy", "macro_f1")
_CHUNK_CELLS = 1 << 22  # draws x texts held at once (their weights: 32 MiB)

Run = tuple[np.ndarray, np.ndarray]  # (gold label ids, predicted label ids) of one run


def resample_indices(n: int, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """The draws as a [resamples, n] array of text positions (with replacement)."""
    return np.concatenate(_draw_chunks(n, resamples, seed))


def _draw_chunks(n: int, resamples: int, seed: int) -> list[np.ndarray]:
    """The draws in row blocks of at most `_CHUNK_CELLS` positions, drawn block by block.

    Scored one block at a time, 1000 draws of 25,000 test texts are never held at once.
    """
    rng = np.random.default_rng(seed)
    rows = max(1, _CHUNK_CELLS // max(n, 1))
    sizes = [min(rows, resamples - start) for start in range(0, resamples, rows)]
    return [rng.integers(0, n, size=(size, n)) for size in sizes]


def _weights(draws: np.ndarray) -> np.ndarray:
    """How often each text is drawn in each draw: [draws, n] counts (float64)."""
    rows, n = draws.shape
    flat = (draws + np.arange(rows)[:, None] * n).ravel()
    return np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(np.float64)


def _indicators(gold: np.ndarray, predicted: np.ndarray, classes: int) -> Any:
    """[n, 3 classes] indicators of each text's gold class, predicted class and hit class.

    Dense where small (one BLAS product per draw block), sparse for many classes.
    """
    from scipy import sparse

    n = len(gold)
    hit = (gold == predicted).astype(np.float64)
    rows = np.tile(np.arange(n), 3)
    cols = np.concatenate([gold, predicted + classes, gold + 2 * classes])
    values = np.concatenate([np.ones(2 * n), hit])
    matrix = sparse.csr_matrix((values, (rows, cols)), shape=(n, 3 * classes))
    return matrix.toarray() if n * classes <= _CHUNK_CELLS else matrix


def _features(gold: np.ndarray, predicted: np.ndarray, metric: str, classes: int) -> Any:
    """What a draw's weights multiply for `metric`: each text's hit, or `_indicators`."""
    if metric == "accuracy":
        return (gold == predicted).astype(np.float64)
    return _indicators(gold, predicted, classes)


def _scores_on(features: Any, weights: np.ndarray, metric: str) -> np.ndarray:
    """One run's `metric` on each draw, from its `_features` and the draws' `_weights`."""
    if metric == "accuracy":
        return np.asarray(weights @ features) / weights.shape[1]
    # the class counts of each draw: weights [draws, n] times indicators [n, 3 classes]
    counts = np.asarray(weights @ features if isinstance(features, np.ndarray)
                        else (features.T @ weights.T).T)  # fmt: skip
    true_counts, pred_counts, both = np.split(counts, 3, axis=1)
    total = true_counts + pred_counts  # 2 tp + fp + fn: F1 = 2 tp / total
    f1 = np.divide(2.0 * both, total, out=np.zeros(total.shape), where=total > 0)
    return np.asarray(f1.sum(axis=1) / np.maximum((total > 0).sum(axis=1), 1))


def resampled_scores(
    runs: Sequence[Run], metric: str, *, resamples: int = RESAMPLES, seed: int = SEED
) -> np.ndarray:
    """The mean over `runs` of each run's `metric` on each draw: shape [resamples].

    Every run must have the same number of test texts, in the same order (the draws pick
    positions); label ids are non-negative ints.
    """
    return resampled_rows([runs], metric, resamples=resamples, seed=seed)[0]


def resampled_rows(
    rows: Sequence[Sequence[Run]], metric: str, *, resamples: int = RESAMPLES, seed: int = SEED
) -> list[np.ndarray]:
    """`resampled_scores` of each row of runs, all on the same draws, drawn once."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, not {metric!r}")
    pairs = [[(np.asarray(g, dtype=np.int64), np.asarray(p, dtype=np.int64)) for g, p in runs]
             for runs in rows]  # fmt: skip
    every = [run for runs in pairs for run in runs]
    sizes = {len(g) for g, _ in every} | {len(p) for _, p in every}
    if not all(pairs) or len(sizes) != 1 or 0 in sizes:
        raise ValueError("every run needs the same positive number of gold and predicted labels")
    if min(int(min(g.min(), p.min())) for g, p in every) < 0:
        raise ValueError("label ids must be non-negative")
    n = sizes.pop()
    classes = 1 + max(int(max(g.max(), p.max())) for g, p in every)
    features = [[_features(g, p, metric, classes) for g, p in runs] for runs in pairs]
    chunks: list[list[np.ndarray]] = [[] for _ in rows]
    for draws in _draw_chunks(n, resamples, seed):
        weights = _weights(draws)
        for kept, row in zip(chunks, features, strict=True):
            kept.append(np.mean([_scores_on(f, weights, metric) for f in row], axis=0))
    return [np.concatenate(kept) for kept in chunks]


def paired_se(
    first: Sequence[Run], second: Sequence[Run], metric: str, *,
    resamples: int = RESAMPLES, seed: int = SEED,
) -> float:  # fmt: skip
    """The standard error of `first`'s score minus `second`'s, on the same draws.

    The sample standard deviation (ddof=1) over the draws of the gap between the two rows'
    `resampled_scores`.
    """
    a, b = resampled_rows([first, second], metric, resamples=resamples, seed=seed)
    return gap_se(a, b)


def gap_se(first: np.ndarray, second: np.ndarray) -> float:
    """The standard error of a gap from two rows' `resampled_scores` on the same draws."""
    return float(np.std(np.asarray(first) - np.asarray(second), ddof=1))
