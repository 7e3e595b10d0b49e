"""Test texts that also occur in the training data (they inflate test scores)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vecgraft.text.labelled import LabelledData
from vecgraft.text.reader import MAX_EXAMPLES

__all__ = ["DuplicateReport", "drop_duplicates", "find_duplicates", "normalize_for_duplicates"]


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
        label_conflicts: how many of them carry a different label than their training twin.
        examples: the first few as dicts (test_where, train_where, labels, text).
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
    for i, text in enumerate(train.texts):
        seen.setdefault(normalize_for_duplicates(text), i)
    test_idx: list[int] = []
    train_idx: list[int] = []
    examples: list[dict[str, Any]] = []
    conflicts = 0
    for j, text in enumerate(test.texts):
        match = seen.get(normalize_for_duplicates(text))
        if match is None:
            continue
        i = match
        test_idx.append(j)
        train_idx.append(i)
        conflicts += train.labels[i] != test.labels[j]
        if len(examples) < MAX_EXAMPLES:
            examples.append(
                {
                    "test_where": test.where(j),
                    "train_where": train.where(i),
                    "test_label": test.labels[j],
                    "train_label": train.labels[i],
                    "text": " ".join(text.split())[:80],
                }
            )
    return DuplicateReport(test_idx, train_idx, conflicts, examples)


def drop_duplicates(test: LabelledData, report: DuplicateReport) -> LabelledData:
    """`test` without the rows `report` (from `find_duplicates(train, test)`) flagged."""
    dropped = set(report.test_indices)
    return test.select(i for i in range(len(test)) if i not in dropped)
