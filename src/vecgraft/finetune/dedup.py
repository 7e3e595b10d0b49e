"""Test texts that also occur in the training data (they inflate test scores)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vecgraft.text.labelled import LabelledData
from vecgraft.text.reader import MAX_EXAMPLES

__all__ = [
    "DuplicateReport", "LabelConflicts", "TwinIndex", "drop_duplicates", "find_duplicates",
    "index_twins", "label_conflicts", "normalize_for_duplicates",
]  # fmt: skip


def normalize_for_duplicates(text: str) -> str:
    """Whitespace-normalised, case-folded text: two texts are duplicates when these are equal.

    Case folded because both models read such twins alike: the linear model lowercases
    its n-grams and the network lowercases for lowercase vectors, so a test text that
    differs from a training text only by a capital (`Great film` / `great film`) was
    scored as unseen. Punctuation still counts.
    """
    return " ".join(text.split()).casefold()


@dataclass
class DuplicateReport:
    """Test rows whose text (`normalize_for_duplicates`) also occurs in the training data.

    Attributes:
        test_indices: sorted row indices into the test data.
        train_indices: for each test index, the first matching training row.
        label_conflicts: how many of them have a training twin with another label. A text
            that occurs in train several times counts when any twin's label differs from
            the test row's, even if another twin agrees: the training data contradicts
            the test label there (it compared with the first twin only, and 50 test texts
            whose twins carried two labels each counted 0).
        examples: the first few as dicts (test_where, train_where, test_label, train_label
            of the first twin, train_labels: every twin's label, sorted, text).
    """

    test_indices: list[int]
    train_indices: list[int]
    label_conflicts: int
    examples: list[dict[str, Any]]

    @property
    def count(self) -> int:
        """Number of test rows that duplicate a training row."""
        return len(self.test_indices)

    def format(self) -> str:
        """Human summary, e.g. `12 test texts also occur in train (2 with another label)`."""
        if not self.count:
            return "no test text occurs in train"
        head = (
            f"{self.count} test texts also occur in train "
            f"({self.label_conflicts} with another label)"
        )
        lines = [f"  {e['test_where']} = {e['train_where']}: {e['text']!r}" for e in self.examples]
        return "\n".join([head, *lines])

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "count": self.count,
            "label_conflicts": self.label_conflicts,
            "test_indices": list(self.test_indices),
            "examples": list(self.examples),
        }


@dataclass
class TwinIndex:
    """The texts of one data set as de-duplication matches them, normalised once.

    A set of labels per text, or a list of rows per text, cost 393 MB / 238 MB for a
    million training rows where nearly every text occurs once: both are kept only for the
    texts that need them.

    Attributes:
        first: normalised text -> its first row.
        mixed: the texts whose rows carry more than one label -> those labels.
        rows: the texts on more than one row -> their rows (only when asked for).
    """

    first: dict[str, int]
    mixed: dict[str, set[str]]
    rows: dict[str, list[int]]


def index_twins(data: LabelledData, rows: bool = False) -> TwinIndex:
    """`TwinIndex` of `data`, in one pass (`rows`: keep the rows of each repeated text)."""
    first: dict[str, int] = {}
    mixed: dict[str, set[str]] = {}
    twins: dict[str, list[int]] = {}
    labels = data.labels
    for i, text in enumerate(data.texts):
        key = normalize_for_duplicates(text)
        j = first.setdefault(key, i)
        if j == i:
            continue
        if rows:
            twins.setdefault(key, [j]).append(i)
        if labels[i] != labels[j]:
            mixed.setdefault(key, {labels[j]}).add(labels[i])
    return TwinIndex(first, mixed, twins)


def find_duplicates(
    train: LabelledData, test: LabelledData, index: TwinIndex | None = None
) -> DuplicateReport:
    """Find test texts that also occur in train ("exact" after `normalize_for_duplicates`).

    Such rows inflate test scores (the model may have memorised them); drop them with
    `drop_duplicates` when reporting results. `index`: `index_twins(train)` if already built
    (by `label_conflicts`), so that each training text is normalised once.
    """
    index = index_twins(train) if index is None else index
    test_idx: list[int] = []
    train_idx: list[int] = []
    examples: list[dict[str, Any]] = []
    conflicts = 0
    for j, text in enumerate(test.texts):
        key = normalize_for_duplicates(text)
        match = index.first.get(key)
        if match is None:
            continue
        i = match
        test_idx.append(j)
        train_idx.append(i)
        labels = index.mixed.get(key) or {train.labels[i]}
        conflicts += bool(labels - {test.labels[j]})  # any twin labelled otherwise
        if len(examples) < MAX_EXAMPLES:
            examples.append(
                {
                    "test_where": test.where(j),
                    "train_where": train.where(i),
                    "test_label": test.labels[j],
                    "train_label": train.labels[i],
                    "train_labels": sorted(labels),
                    "text": " ".join(text.split())[:80],
                }
            )
    return DuplicateReport(test_idx, train_idx, conflicts, examples)


@dataclass
class LabelConflicts:
    """Training texts (`normalize_for_duplicates`) that occur with more than one label.

    Attributes:
        texts: how many such texts.
        rows: how many rows carry them.
        examples: the first few as dicts (where: its first rows, labels: sorted, text).
    """

    texts: int
    rows: int
    examples: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (`splits.json`'s "train_label_conflicts")."""
        return {"texts": self.texts, "rows": self.rows, "examples": list(self.examples)}


def label_conflicts(data: LabelledData, index: TwinIndex | None = None) -> LabelConflicts:
    """Texts of `data` that occur with more than one label, as de-duplication matches them.

    Why: 200 training texts each written with two labels trained in silence; the model
    cannot fit both, and a score can never reach 100 % on them. `index`:
    `index_twins(data, rows=True)` if already built (`find_duplicates` can reuse it).
    """
    if index is None or (index.mixed and not index.rows):  # built without the rows
        index = index_twins(data, rows=True)
    texts = rows = 0
    examples: list[dict[str, Any]] = []
    for key in sorted(index.mixed, key=index.first.__getitem__):  # in order of first row
        where, labels = index.rows[key], index.mixed[key]
        texts += 1
        rows += len(where)
        if len(examples) < MAX_EXAMPLES:
            first = " ".join(data.texts[where[0]].split())[:80]  # as written, not case-folded
            examples.append({"where": [data.where(i) for i in where[:MAX_EXAMPLES]],
                             "labels": sorted(labels), "text": first})  # fmt: skip
    return LabelConflicts(texts, rows, examples)


def drop_duplicates(test: LabelledData, report: DuplicateReport) -> LabelledData:
    """`test` without the rows `report` (from `find_duplicates(train, test)`) flagged."""
    dropped = set(report.test_indices)
    return test.select(i for i in range(len(test)) if i not in dropped)
