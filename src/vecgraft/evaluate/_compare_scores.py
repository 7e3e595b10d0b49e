"""Which test scores a comparison ranks its sources by: one pair per task.

A classification is ranked by accuracy (then macro F1), a regression (`task=regression`,
numeric labels) by Pearson r (then RMSE, where lower is better). The cells, the summary,
the report's tables, its baseline sentence and its plot all take their keys, headers and
number formats from here, so the two tasks share one report.

    >>> view = score_view("regression")
    >>> view.first.key, view.second.key, view.second.higher_is_better
    ('pearson', 'rmse', False)
    >>> score_view(None).first.show(0.8125)
    '81.25'
"""

from __future__ import annotations

from dataclasses import dataclass

from vecgraft.finetune.config import Task


@dataclass(frozen=True)
class Score:
    """One test score as `metrics.json` names it and as the report shows it."""

    key: str  # the key in metrics.json's "test" block
    name: str  # the words for it in a sentence
    header: str  # a table column's header
    percent: bool  # shown as a percentage (accuracy) or as the number itself (Pearson r)
    higher_is_better: bool = True

    def show(self, value: float) -> str:
        """`value` as the report's tables print it."""
        return f"{100 * value:.2f}" if self.percent else f"{value:.4f}"

    def gap(self, diff: float, signed: bool = True) -> str:
        """A difference of two values in the score's own unit ("+1.25 points", "+0.0160")."""
        sign = "+" if signed else ""
        return f"{100 * diff:{sign}.2f} points" if self.percent else f"{diff:{sign}.4f}"


@dataclass(frozen=True)
class ScoreView:
    """The two scores of a task: `first` ranks the sources, `second` is shown beside it."""

    first: Score
    second: Score
    baseline: str  # the words for the linear row's model

    @property
    def keys(self) -> tuple[str, str]:
        """The two metrics.json keys, ranking score first."""
        return self.first.key, self.second.key


CLASSIFICATION = ScoreView(
    Score("accuracy", "accuracy", "accuracy %", percent=True),
    Score("macro_f1", "macro F1", "macro-F1 %", percent=True),
    "TF-IDF n-grams + linear SVM",
)
REGRESSION = ScoreView(
    Score("pearson", "Pearson r", "Pearson r", percent=False),
    Score("rmse", "RMSE", "RMSE", percent=False, higher_is_better=False),
    "TF-IDF n-grams + ridge regression",
)


def score_view(task: str | Task | None) -> ScoreView:
    """The scores a comparison of `task` ranks by (None: a classification)."""
    value = task.value if isinstance(task, Task) else task
    return REGRESSION if value == Task.REGRESSION.value else CLASSIFICATION
