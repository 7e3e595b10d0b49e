"""Two standard errors of a gap between two compare rows, from their cells' test predictions.

The verdicts of `vecgraft.evaluate.report` ask for the gap between two rows of a training
fraction (the best pretrained source and linear, or random initialisation; a row and the
majority class): `PairedNoise` answers from compare.json's cells with the paired bootstrap
of `vecgraft.evaluate.bootstrap`, or None where a row's runs kept no predictions (a
compare.json of an earlier release, a cell whose model could not be loaded) or where the
runs were not scored on the same test texts. Every row of a fraction is scored on the same
draws at once, and kept for the next question (and the next rendering of the same data).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from vecgraft.evaluate._compare_predictions import RECORD_KEY, record_arrays
from vecgraft.evaluate.bootstrap import METRICS, RESAMPLES, gap_se, resampled_rows

__all__ = ["MAJORITY", "RESAMPLES", "PairedNoise"]

MAJORITY = "\0majority"  # the key of a row's majority-class predictor, beside its source's

# one cell as `_fraction_scores` reads it: (source, seed, its record's labels, gold and
# predicted strings, the majority label); strings and tuples, so the scores are cached
_Cell = tuple[str, Any, tuple[str, ...], str, str, str | None]


class PairedNoise:
    """The paired bootstrap's 2 SE of gaps between the rows of one compare.json's content.

    `used`: whether any gap was answered (the report then says what 2 SE means);
    `tests`: the number of test texts per fraction answered for.
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.used = False
        self.tests: dict[float, int] = {}

    def two_se(self, fraction: float, first: str, second: str, metric: str) -> float | None:
        """2 SE of row `first`'s `metric` minus row `second`'s at `fraction` (None: unknown)."""
        return self._two_se(fraction, first, second, metric)

    def majority_two_se(self, fraction: float, source: str, metric: str) -> float | None:
        """2 SE of row `source`'s `metric` minus the majority class's, on its runs' test texts.

        The majority class scores, on each draw, the best of always predicting each of the
        labels its runs' training parts made the majority (the floor is the best run's).
        """
        return self._two_se(fraction, source, MAJORITY + source, metric)

    def _two_se(self, fraction: float, first: str, second: str, metric: str) -> float | None:
        if metric not in METRICS:
            return None
        scores = _fraction_scores(_cells(self.data, fraction), metric)
        if first not in scores or second not in scores:
            return None
        self.used = True
        self.tests[fraction] = len(_first_gold(self.data, fraction))
        return 2 * gap_se(scores[first], scores[second])


def _cells(data: dict[str, Any], fraction: float) -> tuple[_Cell, ...]:
    """The fraction's cells as `_fraction_scores` takes them (hashable)."""
    out: list[_Cell] = []
    for cell in data.get("cells") or []:
        if cell.get("fraction") != fraction:
            continue
        record = cell.get(RECORD_KEY)
        arrays = record_arrays(record)
        majority = cell.get("majority_baseline")
        label = str(majority["label"]) if isinstance(majority, dict) and "label" in majority \
            else None  # fmt: skip
        if arrays is None:
            out.append((str(cell.get("source")), cell.get("seed"), (), "", "", label))
        else:
            out.append((str(cell.get("source")), cell.get("seed"), tuple(arrays[0]),
                        record["gold"], record["predicted"], label))  # fmt: skip
    return tuple(out)


def _first_gold(data: dict[str, Any], fraction: float) -> list[str]:
    """The gold ids of the first cell of `fraction` with predictions (for its text count)."""
    for _source, _seed, labels, gold, _predicted, _label in _cells(data, fraction):
        if labels:
            return gold.split(" ")
    return []


@functools.lru_cache(maxsize=16)
def _fraction_scores(cells: tuple[_Cell, ...], metric: str) -> dict[str, np.ndarray]:
    """Each row's (and each row's majority class's) `metric` on each draw, by row name.

    Rows some of whose runs kept no predictions are left out; so is every row where the
    runs' test texts differ in number, or runs of one seed in their gold labels (other
    test texts: the draws would not pair them).
    """
    names: dict[str, int] = {}  # every label of the fraction's records, one id space
    runs: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    gold_of_seed: dict[Any, tuple[str, ...]] = {}
    majority: dict[str, dict[int, list[np.ndarray]]] = {}  # row -> label -> its runs' gold
    missing: set[str] = set()
    for source, seed, labels, gold_text, predicted_text, label in cells:
        if not labels:
            missing.add(source)
            continue
        gold_names = tuple(labels[int(i)] for i in gold_text.split(" "))
        if gold_of_seed.setdefault(seed, gold_names) != gold_names:
            return {}
        ids = [names.setdefault(name, len(names)) for name in labels]
        gold = np.array([ids[int(i)] for i in gold_text.split(" ")])
        predicted = np.array([ids[int(i)] for i in predicted_text.split(" ")])
        runs.setdefault(source, []).append((gold, predicted))
        if label is not None:
            majority.setdefault(source, {}).setdefault(names.setdefault(label, len(names)),
                                                       []).append(gold)  # fmt: skip
    if len({len(g) for rows in runs.values() for g, _p in rows}) > 1:
        return {}
    kept = {source: rows for source, rows in runs.items() if source not in missing}
    return _scored(kept, {s: m for s, m in majority.items() if s in kept}, metric)


def _scored(
    runs: dict[str, list[tuple[np.ndarray, np.ndarray]]],
    majority: dict[str, dict[int, list[np.ndarray]]],
    metric: str,
) -> dict[str, np.ndarray]:
    """`resampled_rows` of every row and every majority predictor, by `_fraction_scores`' keys."""
    rows: list[Sequence[tuple[np.ndarray, np.ndarray]]] = list(runs.values())
    keys: list[tuple[str, bool]] = [(source, False) for source in runs]
    for source, by_label in majority.items():
        for label, golds in by_label.items():
            rows.append([(gold, np.full(len(gold), label)) for gold in golds])
            keys.append((source, True))
    if not rows:
        return {}
    scores: dict[str, np.ndarray] = {}
    for (source, floor), values in zip(keys, resampled_rows(rows, metric), strict=True):
        key = MAJORITY + source if floor else source
        scores[key] = np.maximum(scores[key], values) if key in scores else values
    return scores

