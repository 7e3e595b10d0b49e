"""Stratified, seeded splits and subsamples of labelled data (reproducible for a seed).

Classes stratify on the label. Numeric labels (`--task regression`) stratify on
`value_strata`: the labels themselves when there are few distinct values (SST-5's 0-4),
else equal-frequency bins, since a continuous score (2.37, 4.1, ...) has one row per
value and a split stratified on the raw values could not put any of them aside.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from vecgraft.errors import ConfigError, DataError, OptionError
from vecgraft.text.labelled import LabelledData

__all__ = [
    "VALID_KEEPS_BELOW", "concat_data", "cv_folds", "split_floor", "stratified_split",
    "subsample", "task_strata", "value_strata",
]

VALUE_BINS = 10  # equal-frequency bins of continuous numeric labels

# a label with fewer training rows gives the validation split none: 2 rows of a class lost
# one to it and the network learnt the class from 1 (TREC at 5 %, smallest class 4, keeps
# its split)
VALID_KEEPS_BELOW = 4


def _by_label(labels: Sequence[str]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        groups[label].append(i)
    return dict(sorted(groups.items()))


def value_strata(labels: Sequence[str], bins: int = VALUE_BINS) -> list[str]:
    """Strata of numeric labels: the labels if at most `bins` distinct, else quantile bins.

    Labels that are not all numbers are returned as they are (the regression recipe then
    names the row whose label is not a number).

        >>> value_strata(["0", "4", "4", "2"])
        ['0', '4', '4', '2']
        >>> value_strata([f"{v / 10}" for v in range(12)], bins=3)
        ['q0', 'q0', 'q0', 'q0', 'q1', 'q1', 'q1', 'q1', 'q2', 'q2', 'q2', 'q2']
    """
    labels = list(labels)
    if len(set(labels)) <= bins:
        return labels
    try:
        values = np.asarray([float(label) for label in labels], dtype=np.float64)
    except ValueError:
        return labels
    ranks = np.argsort(np.argsort(values, kind="stable"), kind="stable")
    return [f"q{r * bins // len(labels)}" for r in ranks.tolist()]


def _shuffled_groups(
    data: LabelledData, seed: int, strata: Sequence[str] | None = None
) -> dict[str, list[int]]:
    """Row indices per stratum (the label by default; sorted), each group seeded-shuffled."""
    rng = np.random.default_rng(seed)
    keys = data.labels if strata is None else strata
    if len(keys) != len(data):
        raise ConfigError(f"strata has {len(keys)} entries for {len(data)} rows")
    return {
        label: [idx[j] for j in rng.permutation(len(idx))]
        for label, idx in _by_label(keys).items()
    }


def split_floor(sizes: Sequence[int], keep_below: int = 2) -> int:
    """The fewest rows a label needs to give a split any: `keep_below`, at least 2.

    2 where no label reaches `keep_below`: a toy set of 3 rows per label still gets its
    split, as before the floor.

        >>> split_floor([200, 2], 4), split_floor([3, 3], 4), split_floor([5, 1])
        (4, 2, 2)
    """
    floor = max(keep_below, 2)
    return floor if any(n >= floor for n in sizes) else 2


def stratified_split(
    data: LabelledData,
    test_size: float,
    seed: int,
    *,
    strata: Sequence[str] | None = None,
    part: str = "test",
    keep_below: int = 2,
) -> tuple[LabelledData, LabelledData]:
    """Split into (train, test) keeping each label's share, reproducibly for a seed.

    Each label with n rows puts round(n * test_size) in the test part, but at least one when
    n >= 2 and never all of them (a label with one row stays in train). A label with fewer
    than `keep_below` rows stays wholly in train when another label has that many
    (`split_floor`). Rows keep their original order inside each part. `strata` (one key per
    row, e.g. `value_strata`) replaces the labels as the groups. `part` names the split-off
    part in errors.
    """
    if not 0.0 < float(test_size) < 1.0:
        raise ConfigError(f"test_size must be between 0 and 1 (exclusive), got {test_size}")
    test: list[int] = []
    groups = _shuffled_groups(data, seed, strata)
    floor = split_floor([len(idx) for idx in groups.values()], keep_below)
    for idx in groups.values():
        n = len(idx)
        k = min(max(round(n * test_size), 1), n - 1) if n >= floor else 0
        test.extend(idx[:k])
    if not test:
        raise DataError(
            f"{data.source}: cannot split off a {part} part from {len(data)} rows: no "
            f"{'label' if strata is None else 'stratum of values'} has two or more examples"
        )
    chosen = set(test)
    train = [i for i in range(len(data)) if i not in chosen]
    return data.select(train), data.select(sorted(test))


def subsample(
    data: LabelledData, fraction: float, seed: int, *, strata: Sequence[str] | None = None
) -> LabelledData:
    """A stratified random `fraction` of the rows, with at least one row of every label.

    Smaller fractions with the same seed give subsets of larger ones (each label's rows are
    shuffled once and a prefix taken), so learning curves compare like with like. `strata`
    replaces the labels as the groups, as in `stratified_split`.
    """
    if not 0.0 < float(fraction) <= 1.0:
        raise ConfigError(f"fraction must be in (0, 1], got {fraction}")
    keep: list[int] = []
    for idx in _shuffled_groups(data, seed, strata).values():
        keep.extend(idx[: max(1, round(len(idx) * fraction))])
    return data.select(sorted(keep))


def task_strata(data: LabelledData, task: str) -> list[str] | None:
    """What a split of `data` stratifies on: None (the labels) for classes, else value bins.

    `task` is `FinetuneConfig.task` ("classification" or "regression").
    """
    return value_strata(data.labels) if task == "regression" else None


def cv_folds(
    data: LabelledData, k: int, seed: int, strata: list[str] | None = None
) -> list[tuple[LabelledData, LabelledData]]:
    """K stratified (train, held-out) folds: by label, or by `strata` (value bins).

    Every stratum needs k rows, so that each fold's training part holds every label.
    """
    from collections import Counter

    from sklearn.model_selection import StratifiedKFold

    keys = data.labels if strata is None else strata
    counts = data.label_counts() if strata is None else dict(sorted(Counter(keys).items()))
    what = "label" if strata is None else "stratum of values"
    if k < 2:
        raise OptionError.out_of_range("cv", ">= 2 folds", k)
    if min(counts.values()) < k:
        raise DataError(
            f"{data.source}: cv={k} needs at least {k} rows of every {what}; "
            f"the smallest {what} has {min(counts.values())} ({counts})"
        )
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [
        (data.select(sorted(tr)), data.select(sorted(va)))
        for tr, va in splitter.split(data.texts, keys)
    ]


def concat_data(parts: Sequence[LabelledData]) -> LabelledData:
    """One LabelledData of several, each row still naming its own file and line.

    Empty parts are left out, so that one file's rows keep that file as their source.
    """
    parts = [part for part in parts if len(part)] or list(parts[:1])
    if len(parts) == 1:
        return parts[0]
    texts: list[str] = []
    labels: list[str] = []
    files: list[str] = []
    for part in parts:
        texts += part.texts
        labels += part.labels
        files += [part.where(i) for i in range(len(part))]
    return LabelledData(texts, labels, "", list(range(1, len(texts) + 1)), files)
