"""Test texts that also occur in the training data (they inflate test scores)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vecgraft.text.labelled import LabelledData
from vecgraft.text.reader import MAX_EXAMPLES

__all__ = [
    "DuplicateReport", "LabelConflicts", "drop_duplicates", "find_duplicates",
    "label_conflicts", "normalize_for_duplicates",
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


def find_duplicates(train: LabelledData, test: LabelledData) -> DuplicateReport:
    """Find test texts that also occur in train ("exact" after `normalize_for_duplicates`).

    Such rows inflate test scores (the model may have memorised them); drop them with
    `drop_duplicates` when reporting results.
    """
    seen: dict[str, int] = {}
    twin_labels: dict[str, set[str]] = {}
    for i, text in enumerate(train.texts):
        key = normalize_for_duplicates(text)
        seen.setdefault(key, i)
        twin_labels.setdefault(key, set()).add(train.labels[i])
    test_idx: list[int] = []
    train_idx: list[int] = []
    examples: list[dict[str, Any]] = []
    conflicts = 0
    for j, text in enumerate(test.texts):
        key = normalize_for_duplicates(text)
        match = seen.get(key)
        if match is None:
            continue
        i = match
        test_idx.append(j)
        train_idx.append(i)
        labels = twin_labels[key]
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


def label_conflicts(data: LabelledData) -> LabelConflicts:
    """Texts of `data` that occur with more than one label, as de-duplication matches them.

    Why: 200 training texts each written with two labels trained in silence; the model
    cannot fit both, and a score can never reach 100 % on them.
    """
    rows_of: dict[str, list[int]] = {}
    for i, text in enumerate(data.texts):
        rows_of.setdefault(normalize_for_duplicates(text), []).append(i)
    texts = rows = 0
    examples: list[dict[str, Any]] = []
    for where in rows_of.values():
        labels = {data.labels[i] for i in where}
        if len(labels) < 2:
            continue
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
