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
from typing import Any, NamedTuple

import numpy as np

from vecgraft.evaluate._compare_predictions import RECORD_KEY, record_arrays
from vecgraft.evaluate.bootstrap import METRICS, RESAMPLES, gap_se, resampled_rows

__all__ = ["MAJORITY", "RESAMPLES", "PairedNoise"]

MAJORITY = "\0majority"  # the key of a row's majority-class predictor, beside its source's

# one cell as `_fraction_scores` reads it: (source, seed, its record's labels (None where
# they are no list of strings), gold and predicted strings, the majority label); the
# record's strings as compare.json holds them, unparsed: the scores are cached by them
_Cell = tuple[str, Any, tuple[str, ...] | None, Any, Any, str | None]


class _Fraction(NamedTuple):
    """A fraction's rows scored on the draws (`_fraction_scores`).

    `scores`: by row name (and `MAJORITY` + row name); `tests`: the number of test texts;
    `unpaired`: why no row of the fraction was paired, where the runs' texts differ.
    """

    scores: dict[str, np.ndarray]
    tests: int = 0
    unpaired: str = ""


class PairedNoise:
    """The paired bootstrap's 2 SE of gaps between the rows of one compare.json's content.

    `used`: whether any gap was answered (the report then says what 2 SE means);
    `tests`: the number of test texts per fraction answered for; `unpaired`: by fraction,
    why its runs' predictions could not be paired where they were kept but differ.
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.used = False
        self.tests: dict[float, int] = {}
        self.unpaired: dict[float, str] = {}
        self._cells: dict[float, tuple[_Cell, ...]] = {}

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
        if fraction not in self._cells:  # the cells' tuple once per fraction, not per gap
            self._cells[fraction] = _cells(self.data, fraction)
        scored = _fraction_scores(self._cells[fraction], metric)
        if scored.unpaired:
            self.unpaired[fraction] = scored.unpaired
        if first not in scored.scores or second not in scored.scores:
            return None
        self.used = True
        self.tests[fraction] = scored.tests
        return 2 * gap_se(scored.scores[first], scored.scores[second])


def _cells(data: dict[str, Any], fraction: float) -> tuple[_Cell, ...]:
    """The fraction's cells as `_fraction_scores` takes them (hashable, not yet parsed)."""
    out: list[_Cell] = []
    for cell in data.get("cells") or []:
        if cell.get("fraction") != fraction:
            continue
        record = cell.get(RECORD_KEY)
        record = record if isinstance(record, dict) else {}
        labels = record.get("labels")
        names = tuple(labels) if isinstance(labels, list) and all(
            isinstance(x, str) for x in labels) else None  # fmt: skip
        gold, predicted = record.get("gold"), record.get("predicted")
        majority = cell.get("majority_baseline")
        label = str(majority["label"]) if isinstance(majority, dict) and "label" in majority \
            else None  # fmt: skip
        out.append((str(cell.get("source")), cell.get("seed"), names,
                    gold if isinstance(gold, str) else None,
                    predicted if isinstance(predicted, str) else None, label))  # fmt: skip
    return tuple(out)


@functools.lru_cache(maxsize=16)
def _fraction_scores(cells: tuple[_Cell, ...], metric: str) -> _Fraction:
    """Each row's (and each row's majority class's) `metric` on each draw, by row name.

    Each record is parsed here, once per content and metric (a report renders the verdicts
    for the console, report.md and report.html, and asks for many gaps each time). Rows
    some of whose runs kept no predictions are left out; so is every row where the runs'
    test texts differ in number, or runs of one seed in their gold labels (other test
    texts: the draws would not pair them), and `_Fraction.unpaired` says which.
    """
    names: dict[str, int] = {}  # every label of the fraction's records, one id space
    runs: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    gold_of_seed: dict[Any, np.ndarray] = {}
    majority: dict[str, dict[int, list[np.ndarray]]] = {}  # row -> label -> its runs' gold
    missing: set[str] = set()
    for source, seed, labels, gold_text, predicted_text, label in cells:
        record = {"labels": list(labels or ()), "gold": gold_text, "predicted": predicted_text}
        arrays = record_arrays(record) if labels is not None else None
        if arrays is None:
            missing.add(source)
            continue
        ids = np.array([names.setdefault(name, len(names)) for name in arrays[0]], dtype=np.int64)
        gold, predicted = ids[arrays[1]], ids[arrays[2]]
        known = gold_of_seed.setdefault(seed, gold)
        if known is not gold and not np.array_equal(known, gold):
            return _Fraction({}, unpaired=f"the runs of seed {seed} hold other test texts "
                                          "(their gold labels differ)")  # fmt: skip
        runs.setdefault(source, []).append((gold, predicted))
        if label is not None:
            majority.setdefault(source, {}).setdefault(names.setdefault(label, len(names)),
                                                       []).append(gold)  # fmt: skip
    sizes = sorted({len(g) for rows in runs.values() for g, _p in rows})
    if len(sizes) > 1:
        counts = ", ".join(f"{n:,}" for n in sizes)
        return _Fraction({}, unpaired=f"the runs hold different numbers of test texts ({counts})")
    kept = {source: rows for source, rows in runs.items() if source not in missing}
    scores = _scored(kept, {s: m for s, m in majority.items() if s in kept}, metric)
    return _Fraction(scores, sizes[0] if sizes else 0)


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
