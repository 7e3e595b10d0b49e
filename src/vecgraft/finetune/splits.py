"""Stratified, seeded splits and subsamples of labelled data (reproducible for a seed)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from vecgraft.errors import ConfigError, DataError
from vecgraft.text.labelled import LabelledData

__all__ = ["stratified_split", "subsample"]


def _by_label(labels: Sequence[str]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        groups[label].append(i)
    return dict(sorted(groups.items()))


def _shuffled_groups(data: LabelledData, seed: int) -> dict[str, list[int]]:
    """Row indices per label (labels sorted), each group shuffled by one seeded generator."""
    rng = np.random.default_rng(seed)
    return {
        label: [idx[j] for j in rng.permutation(len(idx))]
        for label, idx in _by_label(data.labels).items()
    }


def stratified_split(
    data: LabelledData, test_size: float, seed: int
) -> tuple[LabelledData, LabelledData]:
    """Split into (train, test) keeping each label's share, reproducibly for a seed.

    Each label with n rows puts round(n * test_size) in the test part, but at least one when
    n >= 2 and never all of them (a label with one row stays in train). Rows keep their
    original order inside each part.
    """
    if not 0.0 < float(test_size) < 1.0:
        raise ConfigError(f"test_size must be between 0 and 1 (exclusive), got {test_size}")
    test: list[int] = []
    for idx in _shuffled_groups(data, seed).values():
        n = len(idx)
        k = min(max(round(n * test_size), 1), n - 1) if n >= 2 else 0
        test.extend(idx[:k])
    if not test:
        raise DataError(
            f"{data.source}: cannot split off a test part: no label has two or more examples"
        )
    chosen = set(test)
    train = [i for i in range(len(data)) if i not in chosen]
    return data.select(train), data.select(sorted(test))


def subsample(data: LabelledData, fraction: float, seed: int) -> LabelledData:
    """A stratified random `fraction` of the rows, with at least one row of every label.

    Smaller fractions with the same seed give subsets of larger ones (each label's rows are
    shuffled once and a prefix taken), so learning curves compare like with like.
    """
    if not 0.0 < float(fraction) <= 1.0:
        raise ConfigError(f"fraction must be in (0, 1], got {fraction}")
    keep: list[int] = []
    for idx in _shuffled_groups(data, seed).values():
        keep.extend(idx[: max(1, round(len(idx) * fraction))])
    return data.select(sorted(keep))
