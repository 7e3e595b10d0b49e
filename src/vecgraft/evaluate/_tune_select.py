"""Which trial the final model is retrained from: the top trial, or the defaults within 1 SE.

With 88 articles and 5 folds, a cross-validated accuracy has a standard error of about three
points, and the top of eight trials is partly luck (the winner's curse): on BBC News at 5 %
the cv winners beat the defaults by 0.06 and 3.3 points and lost 0.7 and 3.2 test points.
Breiman's one-standard-error rule (Breiman et al. 1984, *Classification and Regression
Trees*; glmnet's `lambda.1se`) keeps the simpler model unless the winner beats it by more
than the standard error of the winner's fold scores. Here the simpler model is the defaults
(the study's first trial). A single validation split has no fold spread, so there the rule
cannot apply and the top trial wins; the reason then says so, with the binomial standard
error of one validation accuracy, sqrt(p(1-p)/n), for scale.

    >>> round(fold_standard_error([0.90, 0.94, 0.92, 0.96, 0.88]), 4)
    0.0141
    >>> fold_standard_error([0.9]) is None
    True
    >>> round(binomial_standard_error(0.8, 100), 4)
    0.04
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

from vecgraft.evaluate._tune_spec import DEFAULT_ATTR

SELECT_RULES = ("one-se", "best")


@dataclass(frozen=True)
class Selection:
    """The trial to retrain, the top-scoring trial, and why one was chosen over the other."""

    trial: Any
    top: Any
    rule: str
    reason: str
    standard_error: float | None = None
    # one validation split scored by accuracy: sqrt(p(1-p)/n) of the top trial's score
    binomial_standard_error: float | None = None


def fold_standard_error(scores: list[float]) -> float | None:
    """Standard error of a mean over folds (sample sd / sqrt(k)); None for fewer than 2."""
    if len(scores) < 2:
        return None
    return statistics.stdev(scores) / math.sqrt(len(scores))


def binomial_standard_error(accuracy: float, rows: int) -> float:
    """Standard error of an accuracy measured on `rows` rows: sqrt(p(1-p)/n)."""
    return math.sqrt(accuracy * (1 - accuracy) / rows)


def _single_split(top: Any, default: Any, rule: str, accuracy_rows: int | None) -> Selection:
    """The top trial, said plainly to win because one-se cannot apply to one split.

    "trial #1 wins: one validation split has no fold spread" read as the rule's verdict
    where the lead was one row of 60; the binomial standard error of one accuracy gives the
    scale (not a test of the lead: that of a paired difference is another quantity).
    """
    gap = abs(float(top.value) - float(default.value))
    why = (f"the one-standard-error rule cannot apply with one validation split (no fold "
           f"spread), so the top trial #{top.number} is retrained: it beat the defaults "
           f"(trial #{default.number}) by {gap:.4f}")  # fmt: skip
    se = None
    if accuracy_rows:
        se = binomial_standard_error(float(top.value), accuracy_rows)
        why += (f" ({round(gap * accuracy_rows)} of {accuracy_rows} validation rows); for "
                f"scale: one accuracy on {accuracy_rows} validation rows varies by about "
                f"{se:.4f} (binomial standard error, sqrt(p(1-p)/n))")  # fmt: skip
    why += "; --cv K scores every trial on K folds, whose spread the rule can use"
    return Selection(top, top, rule, why, binomial_standard_error=se)


def default_of(trials: list[Any], params: dict[str, Any]) -> Any | None:
    """The completed trial that ran the defaults: marked when enqueued, else equal params."""
    from optuna.trial import TrialState

    done = [t for t in trials if t.state == TrialState.COMPLETE]
    marked = [t for t in done if t.user_attrs.get(DEFAULT_ATTR)]
    same = [t for t in done if t.params == params]
    return (marked or same or [None])[0]


def select_trial(
    study: Any,
    rule: str,
    default_params: dict[str, Any],
    direction: str,
    accuracy_rows: int | None = None,
) -> Selection:
    """Apply `rule` ("one-se" or "best") to a study with at least one completed trial.

    `accuracy_rows`: the rows of the one validation split where trials are scored by
    accuracy (for the binomial standard error said when one-se cannot apply).
    """
    top = study.best_trial
    if rule == "best":
        return Selection(top, top, rule, f"trial #{top.number} has the best mean score")
    default = default_of(study.trials, default_params)
    if default is None or default.number == top.number:
        why = "is the defaults" if default is not None else "wins (the defaults did not finish)"
        return Selection(top, top, rule, f"the top trial #{top.number} {why}")
    se = fold_standard_error(list(top.user_attrs.get("fold_scores") or []))
    if se is None:
        return _single_split(top, default, rule, accuracy_rows)
    sign = 1.0 if direction == "maximize" else -1.0
    gap = sign * (float(top.value) - float(default.value))
    kept = gap <= se
    verdict = (
        "not more than one standard error of its fold scores "
        f"({se:.4f}): the defaults are kept (one-standard-error rule)"
        if kept
        else f"more than one standard error of its fold scores ({se:.4f})"
    )
    why = f"trial #{top.number} beat the defaults (trial #{default.number}) by {gap:.4f}, "
    return Selection(default if kept else top, top, rule, why + verdict, se)
