"""Classification metrics (computed by scikit-learn) as one object: table, JSON, plots.

    >>> m = classification_metrics([0, 0, 1, 1], [0, 1, 1, 1], ["neg", "pos"])
    >>> round(m.accuracy, 2), round(m.macro_f1, 3), m.confusion
    (0.75, 0.733, [[1, 1], [0, 2]])

Precision, recall and F1 use `zero_division=0` (a class never predicted scores 0, with no
warning). Macro averages follow scikit-learn's default: the mean over the classes that occur
in `y_true` or `y_pred`, so a class absent from a small test set does not drag the average
down. `per_class` holds those classes too, the rows of scikit-learn's `classification_report`
(a row of 0.000 for a class left out of the average read as part of it); `label_names` and
`confusion` list every class of the run.

Test labels the training data lacks (`LabelMap.encode_scored`) come after the model's classes
(`predictable` of them); their rows are errors and each such label is a class of the macro
averages with precision, recall and F1 0, as scikit-learn scores the same label strings:

    >>> m = classification_metrics([0, 1, 2, 2], [0, 1, 1, 0], ["a", "b", "new"], predictable=2)
    >>> m.accuracy, round(m.macro_f1, 4), m.unseen_labels, m.per_class["new"]["support"]
    (0.5, 0.4444, ['new'], 2)
"""

from __future__ import annotations

import math
import numbers
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from vecgraft._util.console import ljust, printable, rjust, width
from vecgraft.errors import DataError

if TYPE_CHECKING:
    import torch
    from numpy.typing import ArrayLike

    # what `classification_metrics` takes: ids or names as a list, an array or a tensor
    ClassIds = ArrayLike | torch.Tensor

# above this many classes the confusion matrix is stored as its non-zero cells only: a dense
# 10,000-label matrix would be 10^8 numbers in metrics.json
DENSE_CONFUSION_LIMIT = 100

__all__ = [
    "majority_baseline",
    "mean_baseline",
    "one_class_warning",
    "one_label_warning",
    "imbalance_remedy",
    "ClassificationMetrics",
    "LogLossSum",
    "classification_metrics",
    "macro_f1_from_cells",
    "macro_f1_from_confusion",
]


@dataclass
class ClassificationMetrics:
    """Scores of one prediction run.

    Attributes:
        accuracy: fraction of correct predictions.
        macro_precision, macro_recall, macro_f1: unweighted means over the classes present.
        weighted_f1: F1 averaged with class support as weights.
        weighted_precision, weighted_recall: the same for precision and recall
            (scikit-learn's "weighted avg" row; the weighted recall equals the accuracy).
        per_class: label -> {"precision", "recall", "f1", "support"} for each label in the
            gold labels or the predictions (`classification_report`'s rows; files written
            before held every label, and still load).
        confusion: `confusion[i][j]` = examples of true class i predicted as class j (empty
            above `DENSE_CONFUSION_LIMIT` classes; see `confusion_cells`).
        label_names: class names in id order.
        support: number of examples.
        confusion_cells: [true id, predicted id, count] of each non-zero cell, set instead
            of `confusion` above `DENSE_CONFUSION_LIMIT` classes.
        unseen_labels: the last labels of `label_names`, gold labels the training data
            lacks: the model cannot predict them, so their rows are scored as errors.
        log_loss: mean cross-entropy of the predicted probabilities (scikit-learn's
            `log_loss`, probabilities clipped to [eps, 1 - eps]) over the rows whose label
            the model has; None where it was not computed (only labels, or none such rows).
    """

    accuracy: float
    macro_precision: float
    macro_recall: float
    macro_f1: float
    weighted_f1: float
    per_class: dict[str, dict[str, float]]
    confusion: list[list[int]]
    label_names: list[str] = field(default_factory=list)
    support: int = 0
    confusion_cells: list[list[int]] | None = None
    unseen_labels: list[str] = field(default_factory=list)
    weighted_precision: float = math.nan
    weighted_recall: float = math.nan
    log_loss: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (what `metrics.json` stores); sparse cells for many classes."""
        out: dict[str, Any] = {
            "accuracy": self.accuracy,
            "macro_precision": self.macro_precision,
            "macro_recall": self.macro_recall,
            "macro_f1": self.macro_f1,
            "weighted_precision": self.weighted_precision,
            "weighted_recall": self.weighted_recall,
            "weighted_f1": self.weighted_f1,
            "support": self.support,
            "labels": list(self.label_names),
            "per_class": {k: dict(v) for k, v in self.per_class.items()},
        }
        if self.confusion_cells is not None:
            out["confusion_cells"] = [list(cell) for cell in self.confusion_cells]
        else:
            out["confusion"] = [list(row) for row in self.confusion]
        if self.unseen_labels:  # their confusion columns stay 0: the model cannot predict them
            out["unseen_labels"] = list(self.unseen_labels)
        if self.log_loss is not None:  # left out where not computed: the file reads as before
            out["log_loss"] = self.log_loss
        return out

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> ClassificationMetrics:
        """Inverse of `to_dict` (e.g. to re-plot a saved run)."""
        try:
            return cls(
                accuracy=float(obj["accuracy"]),
                macro_precision=float(obj["macro_precision"]),
                macro_recall=float(obj["macro_recall"]),
                macro_f1=float(obj["macro_f1"]),
                weighted_f1=float(obj.get("weighted_f1", float("nan"))),
                per_class={k: dict(v) for k, v in obj["per_class"].items()},
                confusion=[[int(x) for x in row] for row in obj.get("confusion") or []],
                label_names=list(obj.get("labels") or obj["per_class"]),
                support=int(obj.get("support", 0)),
                confusion_cells=_cells(obj),
                unseen_labels=[str(x) for x in obj.get("unseen_labels") or []],
                weighted_precision=_number(obj.get("weighted_precision")),
                weighted_recall=_number(obj.get("weighted_recall")),
                log_loss=_optional_number(obj.get("log_loss")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DataError(f"not a classification metrics dict: missing or bad {exc}") from exc

    def format_table(self, digits: int = 3) -> str:
        """Per-class precision/recall/F1/support, averages, and the confusion matrix as text.

        The rows are scikit-learn's `classification_report`'s: a class of the run that no row
        has and none was predicted as is not listed (the note under the averages names it).
        """
        names = self.label_names or list(self.per_class)
        absent = self.absent_labels()
        listed = [name for name in names if name in self.per_class and name not in absent]
        # terminal columns, not characters: a Chinese label takes two per character; a
        # label's line break or tab is shown escaped (`line\nbreak`), as `predict` writes it
        first = max([width(printable(n)) for n in names] + [len("weighted avg")])
        col = max(digits + 2, 9)

        def num(x: float) -> str:
            return f"{x:>{col}.{digits}f}" if math.isfinite(x) else f"{'':>{col}}"

        head = f"{'':<{first}}  {'precision':>{col}}  {'recall':>{col}}  {'f1':>{col}}  support"
        lines = [head]
        for name in listed:
            s = self.per_class[name]
            lines.append(
                f"{ljust(printable(name), first)}  {num(s['precision'])}  {num(s['recall'])}"
                f"  {num(s['f1'])}"
                f"  {int(s['support']):>7d}"
            )
        lines.append("")
        lines.append(
            f"{'macro avg':<{first}}  {num(self.macro_precision)}  {num(self.macro_recall)}"
            f"  {num(self.macro_f1)}  {self.support:>7d}"
        )
        lines.append(
            f"{'weighted avg':<{first}}  {num(self.weighted_precision)}"
            f"  {num(self.weighted_recall)}  {num(self.weighted_f1)}"
            f"  {self.support:>7d}"
        )
        lines.append(
            f"{'accuracy':<{first}}  {'':>{col}}  {'':>{col}}  {num(self.accuracy)}"
            f"  {self.support:>7d}"
        )
        if absent:  # the confusion matrix below has their rows: say why the table has not
            lines.append("")
            lines.append(_not_listed(absent))
        if self.unseen_labels:
            lines.append("")
            lines.append(unseen_note(self.unseen_labels))
        lines.append("")
        lines.append(self.format_confusion())
        return "\n".join(lines)

    def _predicted_ids(self) -> set[int] | None:
        """The class ids predicted at least once, from the confusion counts (None: none kept)."""
        if self.confusion_cells is not None:
            return {int(p) for _, p, n in self.confusion_cells if n}
        if self.confusion:
            return {j for row in self.confusion for j, n in enumerate(row) if n}
        return None

    def only_prediction(self) -> str | None:
        """The one label every row was predicted as, where the rows hold two or more; else None.

        A model that learned only the majority class of imbalanced labels scores the majority
        baseline's accuracy, which reads as a result unless someone looks at the matrix.
        """
        names = self.label_names or list(self.per_class)
        predicted = self._predicted_ids()
        if predicted is None:
            return None
        gold = sum(1 for name in names if _support(self.per_class, name))
        if len(predicted) != 1 or gold < 2:
            return None
        return names[predicted.pop()]

    def absent_labels(self) -> list[str]:
        """Labels neither in the gold labels nor predicted: left out of the macro averages."""
        names = self.label_names or list(self.per_class)
        predicted = self._predicted_ids()
        if predicted is None:
            return []  # no counts to tell (a hand-made dict): say nothing rather than guess
        return [
            name
            for i, name in enumerate(names)
            if not _support(self.per_class, name) and i not in predicted
        ]

    def format_confusion(self) -> str:
        """Confusion matrix as text: rows are true labels, columns predicted labels."""
        if self.confusion_cells is not None:
            return (
                f"confusion matrix: {len(self.label_names)} classes, more than "
                f"{DENSE_CONFUSION_LIMIT}; its {len(self.confusion_cells)} non-zero cells are "
                "the JSON's confusion_cells (metrics.json, or evaluate's eval-*.json)"
            )
        names = [printable(name) for name in self.label_names or list(self.per_class)]
        lines = _confusion_lines(names, self.confusion, numbered=False)
        if max(width(line) for line in lines) > CONFUSION_WIDTH:
            lines = _confusion_lines(names, self.confusion, numbered=True)
            lines.append("(columns: the predicted labels, numbered as the rows)")
        return "\n".join(lines)


def _support(per_class: Mapping[str, Mapping[str, float]], name: str) -> float:
    """`name`'s support; 0 for a class that has no row (neither a gold label nor predicted)."""
    row = per_class.get(name)
    return 0 if row is None else row["support"]


def _not_listed(absent: Sequence[str]) -> str:
    """The table's note on the classes of the run it leaves out, as scikit-learn's report does."""
    from vecgraft.finetune.labels import SHOWN_UNSEEN

    shown = ", ".join(repr(x) for x in absent[:SHOWN_UNSEEN])
    shown += f" and {len(absent) - SHOWN_UNSEEN} more" if len(absent) > SHOWN_UNSEEN else ""
    return (
        f"not listed (as in scikit-learn's report): {shown}, in neither the labels nor the "
        "predictions nor the macro avg"
    )


# a confusion matrix wider than this with the labels as its column heads numbers them instead
CONFUSION_WIDTH = 120


def _confusion_lines(names: Sequence[str], counts: Sequence[Sequence[int]], *,
                     numbered: bool) -> list[str]:  # fmt: skip
    """The matrix's lines: full labels as column heads, or numbers that the rows also show.

    Labels cut to 8 characters ("rare cla", "très bie") read as typos. Each column is as
    wide as its head or its largest count, in terminal columns (`width`: 好评 takes 4).
    """
    heads = [str(i) for i in range(1, len(names) + 1)] if numbered else list(names)
    rows = [f"{i} {name}" for i, name in zip(heads, names)] if numbered else list(names)
    corner = "true \\ pred"
    first = max([width(n) for n in rows] + [len(corner)])
    cells = [max([width(head)] + [len(str(row[j])) for row in counts])
             for j, head in enumerate(heads)]  # fmt: skip
    lines = [ljust(corner, first) + "  " + "  ".join(rjust(h, c) for h, c in zip(heads, cells))]
    for name, row in zip(rows, counts):
        lines.append(ljust(name, first) + "  "
                     + "  ".join(f"{x:>{c}d}" for x, c in zip(row, cells)))  # fmt: skip
    return lines


def unseen_note(labels: Sequence[str]) -> str:
    """The report's line on gold labels the training data lacks."""
    from vecgraft.finetune.labels import SHOWN_UNSEEN

    shown = ", ".join(repr(x) for x in labels[:SHOWN_UNSEEN])
    shown += ", ..." if len(labels) > SHOWN_UNSEEN else ""
    return (
        f"not in the training data (the model cannot predict them; their rows are scored as "
        f"errors): {shown}"
    )


def _class_ids(values: Any, what: str, names: list[str]) -> np.ndarray[Any, Any]:
    """`values` as a 1-D int64 array of class ids; names map to their index in `names`.

    `np.asarray(..., dtype=int64).reshape(-1)` read logits [N, C] as N*C ids and cut 1.7
    to 1, scoring nonsense without a word.
    """
    if hasattr(values, "detach"):  # a tensor, perhaps on a GPU or requiring grad
        values = values.detach().cpu().numpy()
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise DataError(
            f"{what} must be a 1-D sequence of class ids, got shape {arr.shape}; for logits "
            "or probabilities [N, classes] pass their argmax (e.g. logits.argmax(-1))"
        )
    if arr.dtype.kind in "USO" and arr.size:
        return _named_ids(arr, what, names)
    if arr.dtype.kind == "f":
        cut = arr[np.isnan(arr) | (arr != np.round(arr))]
        if cut.size:
            raise DataError(
                f"{what} holds {float(cut[0])}, not a class id (an integer); for probabilities "
                "pass their argmax (e.g. probs.argmax(-1))"
            )
        _check_int64(arr.tolist(), what, names)  # inf, 1e300: not cast to garbage
    elif arr.dtype.kind not in "iub" and arr.size:
        raise DataError(f"{what} must hold class ids (integers), got dtype {arr.dtype}")
    return arr.astype(np.int64)


def _named_ids(arr: np.ndarray[Any, Any], what: str, names: list[str]) -> np.ndarray[Any, Any]:
    """Label names -> their index in `names`; anything else is a DataError naming it.

    Integers of an object array (a pandas object column of ids) are ids, as in an integer
    array; so are bools (0 and 1, as a bool array's) and integer-valued floats (1.0, as a
    float array's); a float with a fraction or NaN is a DataError naming its position.
    """
    index = {name: i for i, name in enumerate(names)}
    values = arr.tolist()
    named = any(isinstance(x, str) for x in values)  # NaN among names: a missing name
    for i, x in enumerate(values):
        if _is_fraction(x) and not named:
            raise DataError(
                f"{what}[{i}] is {x!r}, not a class id (an integer); for probabilities pass "
                "their argmax (e.g. probs.argmax(-1))"
            )
    ids = [None if _is_fraction(x) else _id_or_name(x, index) for x in values]
    bad = next((i for i, x in enumerate(ids) if x is None), None)
    if bad is not None:
        raise DataError(f"{what}[{bad}] is {_unknown(values[bad], names)}")
    _check_int64(values, what, names)
    return np.asarray(ids, dtype=np.int64)


def _unknown(value: Any, names: list[str]) -> str:
    """What is wrong with `value`, an element that is no class id and no label name."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (f"{value!r}, a missing label: not one of label_names {names[:10]}; "
                "drop or fill the row")  # fmt: skip
    return (f"{value!r}, which is neither a class id nor one of label_names {names[:10]}; "
            "pass class ids, or names from label_names")  # fmt: skip


# class ids are int64: a number beyond it (1e19, 10**30, inf) is no class id
_INT64 = (-(2**63), 2**63)


def _check_int64(values: list[Any], what: str, names: list[str]) -> None:
    """A DataError naming the first number in `values` that no int64 class id can hold.

    Why: `np.asarray(..., int64)` raised a bare OverflowError (1e19 in an object array)
    or cast a float one to -9223372036854775808 (1e300, inf), naming neither.
    """
    for i, x in enumerate(values):
        if isinstance(x, numbers.Real) and not isinstance(x, bool):
            number = float(x) if not isinstance(x, numbers.Integral) else int(x)
            if not (math.isfinite(number) and _INT64[0] <= number < _INT64[1]):
                raise DataError(
                    f"{what}[{i}] is {x!r}, not a class id of the {len(names)} labels "
                    f"(0 to {len(names) - 1})"
                )


def _is_fraction(value: Any) -> bool:
    """Whether `value` is a real number but not an integer-valued one (1.5, NaN, inf)."""
    if isinstance(value, numbers.Integral) or not isinstance(value, numbers.Real):
        return False
    number = float(value)
    return not math.isfinite(number) or number != round(number)


def _id_or_name(value: Any, index: dict[str, int]) -> int | None:
    """One element's class id: an integer (or integral float) as is, a name by `index`."""
    if isinstance(value, str):
        return index.get(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    return int(float(value)) if isinstance(value, numbers.Real) else None  # integral: checked


def classification_metrics(
    y_true: ClassIds,
    y_pred: ClassIds,
    label_names: Sequence[str],
    *,
    predictable: int | None = None,
) -> ClassificationMetrics:
    """Accuracy, macro and per-class precision/recall/F1 and the confusion matrix.

    Args:
        y_true: true class ids [N]: a sequence, numpy array (object ones too) or tensor
            of integers (floats only where integer-valued), or of label names, each one
            of `label_names` (mapped to its position there).
        y_pred: predicted class ids [N], as `y_true`; for a model's logits or
            probabilities [N, C] pass their argmax (`logits.argmax(-1)`).
        label_names: name of each class id (e.g. `LabelMap.labels`, then the test labels
            it lacks, as `LabelMap.encode_scored` numbers them).
        predictable: how many leading labels the model has (default: all); the rest are
            gold labels it never saw, listed as `unseen_labels`.

    Raises:
        DataError: empty input, not 1-D, a non-integer id, a name not in `label_names`,
            different lengths, an id outside `label_names` (for `y_pred`: outside the
            first `predictable`), or `label_names` one string (its characters were the names).
    """
    if isinstance(label_names, str):
        raise DataError(
            f"label_names must be a list of names, not one string {label_names[:40]!r}; "
            f"for one label pass [{label_names[:40]!r}]"
        )
    names = [str(n) for n in label_names]
    true = _class_ids(y_true, "y_true", names)
    pred = _class_ids(y_pred, "y_pred", names)
    known = len(names) if predictable is None else int(predictable)
    if true.size == 0:
        raise DataError("no predictions to score (y_true is empty)")
    if true.shape != pred.shape:
        raise DataError(
            f"y_true has {true.size} class ids but y_pred has {pred.size} (one of each per "
            "example)"
        )
    for what, ids, size in (("y_true", true, len(names)), ("y_pred", pred, known)):
        if ids.min() < 0 or ids.max() >= size:
            raise DataError(
                f"{what} holds class id {int(ids.max() if ids.max() >= size else ids.min())}"
                f" but there are {size} labels"
            )
    # imported here, not with the module: `load_run` reaches this module through the
    # recipes, and a run without a linear model predicts without scikit-learn (0.9 s)
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    every = list(range(len(names)))
    p, r, f, s = precision_recall_fscore_support(
        true, pred, labels=every, average=None, zero_division=0
    )
    present = sorted(set(true.tolist()) | set(pred.tolist()))
    mp, mr, mf, _ = precision_recall_fscore_support(
        true, pred, labels=present, average="macro", zero_division=0
    )
    wp, wr, wf, _ = precision_recall_fscore_support(
        true, pred, labels=present, average="weighted", zero_division=0
    )
    per_class = {  # classification_report's rows: the classes of `present`
        names[i]: {
            "precision": float(p[i]),
            "recall": float(r[i]),
            "f1": float(f[i]),
            "support": int(s[i]),
        }
        for i in present
    }
    dense = len(names) <= DENSE_CONFUSION_LIMIT
    return ClassificationMetrics(
        accuracy=float(accuracy_score(true, pred)),
        macro_precision=float(mp),
        macro_recall=float(mr),
        macro_f1=float(mf),
        weighted_f1=float(wf),
        per_class=per_class,
        confusion=confusion_matrix(true, pred, labels=every).tolist() if dense else [],
        label_names=names,
        support=int(true.size),
        confusion_cells=None if dense else _nonzero_cells(true, pred, len(names)),
        unseen_labels=names[known:],
        weighted_precision=float(wp),
        weighted_recall=float(wr),
    )


def _nonzero_cells(true: np.ndarray, pred: np.ndarray, num_classes: int) -> list[list[int]]:
    """[true, predicted, count] of each non-zero confusion cell, in row-major order."""
    codes, counts = np.unique(true * num_classes + pred, return_counts=True)
    return [[int(c // num_classes), int(c % num_classes), int(n)] for c, n in zip(codes, counts)]


def _optional_number(value: Any) -> float | None:
    """A saved score that may be absent (a file written before it was kept): None then."""
    return None if value is None else float(value)


class LogLossSum:
    """scikit-learn's `log_loss`, summed chunk by chunk: no [N, C] array of all the rows.

    Only rows whose gold id is a column of the probabilities count (a label the model
    never saw has no probability; its rows are errors in the other scores), as the
    cross-entropy `loss` of `evaluate_model` counts them.
    """

    def __init__(self) -> None:
        self.total, self.rows = 0.0, 0

    def add(self, proba: np.ndarray, y_true: Sequence[int] | np.ndarray) -> None:
        """Add -log p[y] of each row, p clipped to [eps, 1 - eps] of `proba`'s dtype."""
        proba = np.asarray(proba)
        true = np.asarray(y_true, dtype=np.int64).reshape(-1)
        seen = true < proba.shape[1]
        if not seen.any():
            return
        eps = np.finfo(proba.dtype).eps
        picked = np.clip(proba[seen, true[seen]], eps, 1 - eps)
        self.total -= float(np.log(picked.astype(np.float64)).sum())
        self.rows += int(seen.sum())

    def add_mean(self, mean: float | None, rows: int) -> None:
        """Add a part scored apart: its `mean` over its `rows` counted rows."""
        if mean is not None and rows:
            self.total += mean * rows
            self.rows += rows

    def mean(self) -> float | None:
        """The mean over the rows counted; None where none were."""
        return self.total / self.rows if self.rows else None


def _number(value: Any) -> float:
    """A saved score, NaN where it is missing (metrics.json written before the key) or null."""
    return math.nan if value is None else float(value)


def _cells(obj: dict[str, Any]) -> list[list[int]] | None:
    cells = obj.get("confusion_cells")
    if cells is None:
        return None
    return [[int(t), int(p), int(n)] for t, p, n in cells]


def macro_f1_from_confusion(confusion: Any) -> float:
    """scikit-learn's macro F1 of the predictions a dense [C, C] confusion matrix counts.

    The trainer keeps confusion counts (summed over processes), not predictions; each
    non-zero cell becomes one weighted (true, predicted) pair, so the result equals
    `f1_score(y_true, y_pred, average="macro")` over the classes present in either.
    """
    counts = np.asarray(confusion, dtype=np.int64)
    true, pred = np.nonzero(counts)
    return macro_f1_from_cells(true, pred, counts[true, pred])


def macro_f1_from_cells(true: Any, pred: Any, counts: Any) -> float:
    """Macro F1 of confusion cells: `counts[k]` examples of class `true[k]` predicted `pred[k]`.

    Works for sparse counts (many classes): only the non-zero cells are passed.
    """
    true = np.asarray(true, dtype=np.int64)
    pred = np.asarray(pred, dtype=np.int64)
    if true.size == 0:
        return 0.0
    from sklearn.metrics import precision_recall_fscore_support

    present = np.union1d(true, pred)
    _, _, f1, _ = precision_recall_fscore_support(
        true,
        pred,
        labels=present,
        average="macro",
        sample_weight=np.asarray(counts, dtype=np.float64),
        zero_division=0,
    )
    return float(f1)


def majority_baseline(
    train_targets: Sequence[int],
    test_targets: Sequence[int],
    labels: Sequence[str],
    macro_f1: bool = False,
) -> dict[str, Any]:
    """Accuracy of always predicting the most frequent training label: the floor to beat.

    Labels tied for the most training rows are listed in "tied" (with "rows", their count):
    the first of them in label order is taken, and the log says so. `macro_f1` (a run whose
    metric is macro_f1) adds its macro F1: on 95/5 labels its 95% accuracy hid a 0.4872.

    >>> majority_baseline([0, 1, 1], [1, 0, 0, 0], ["neg", "pos"])
    {'label': 'pos', 'accuracy': 0.25}
    >>> majority_baseline([0, 1], [1, 0, 0, 0], ["neg", "pos"])
    {'label': 'neg', 'accuracy': 0.75, 'tied': ['neg', 'pos'], 'rows': 1}
    >>> majority_baseline([1, 1], [1, 1, 1, 0], ["neg", "pos"], macro_f1=True)["macro_f1"]
    0.42857142857142855
    """
    if not train_targets:
        raise DataError("majority baseline: the training set is empty")
    counts = Counter(int(t) for t in train_targets)
    top = min(counts, key=lambda t: (-counts[t], t))  # ties: the first label in sorted order
    hits = sum(int(t) == top for t in test_targets)
    out: dict[str, Any] = {
        "label": labels[top], "accuracy": hits / len(test_targets) if test_targets else 0.0
    }  # fmt: skip
    if macro_f1:
        out["macro_f1"] = majority_macro_f1(top, test_targets)
    tied = sorted(t for t, n in counts.items() if n == counts[top])
    if len(tied) > 1:
        out.update(tied=[labels[t] for t in tied], rows=counts[top])
    return out


def majority_macro_f1(top: int, test_targets: Sequence[int]) -> float:
    """Macro F1 of always predicting label id `top` on `test_targets` (0.0 without rows).

    The F1 of `top` (precision its share of the rows, recall 1; 0 where no row has it), 0
    for every other class, averaged over the classes scored: those of the rows and `top`,
    as `macro_f1_from_cells` averages over the classes true or predicted.
    """
    if not test_targets:
        return 0.0
    share = sum(int(t) == top for t in test_targets) / len(test_targets)
    classes = {int(t) for t in test_targets} | {top}
    return (2 * share / (1 + share)) / len(classes)


def majority_words(majority: Mapping[str, Any]) -> str:
    """The label `majority_baseline` always predicts, and the rule that chose it where tied.

    1,000 rows each of 'neg' and 'pos' read "always 'neg'", as if 'neg' were commoner.

    >>> print(majority_words({"label": "neg", "tied": ["neg", "pos"], "rows": 1000}))
    'neg', tied with 'pos' at 1,000 training rows each: a tie takes the first label in sorted order
    """
    others = [repr(x) for x in majority.get("tied") or [] if x != majority["label"]]
    return tied_words(repr(majority["label"]), others, majority.get("rows"))


def tied_words(label: str, others: Sequence[str], rows: Any = None) -> str:
    """`label` (as shown), and the `others` tied with it at `rows` each, with the rule.

    One wording for a run's majority class (`majority_words`) and compare's, which names
    the labels over several runs and no row count.
    """
    if not others:
        return label
    each = f" at {rows:,} training rows each" if isinstance(rows, int) else ""
    return f"{label}, tied with {and_list(others)}{each}: {TIE_RULE}"


# how `majority_baseline` breaks a tie, as the log says it
TIE_RULE = "a tie takes the first label in sorted order"


def and_list(words: Sequence[str]) -> str:
    """Words joined as a sentence lists them: "a", "a and b", "a, b and c"."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def one_class_warning(where: str, metrics: ClassificationMetrics) -> str | None:
    """A warning where every gold label of the scored rows (`where`) is one class, else None.

    There accuracy is that class's recall alone: always saying the class scores 100%,
    macro F1 has one real class, and the confusion matrix one filled row, so neither
    compares models; `evaluate` said nothing of it.
    """
    present = [name for name, row in metrics.per_class.items() if row.get("support", 0) > 0]
    if len(present) != 1:
        return None
    return (
        f"WARNING: {where}: every row is labelled {present[0]!r}: accuracy is that class's "
        f"recall alone (always saying {present[0]!r} scores 100%), and macro F1 and the "
        "confusion matrix (one row filled) say little; score a file with several classes "
        "to compare models"
    )


# the start of `one_label_warning`'s line: `compare` takes it out of each cell's log and
# says once which cells collapsed
ONE_LABEL_WARNING = "WARNING: every test text was predicted"
# what README's "Imbalanced labels" offers: as finetune's flags, compare's --set, tune's file
IMBALANCE_FLAGS = ("--class-weight balanced", "--metric macro_f1")
IMBALANCE_SETS = ("--set class_weight=balanced", "--set metric=macro_f1")
IMBALANCE_KEYS = ("`class_weight: balanced` in the --config file", "`metric: macro_f1`")


def one_label_warning(label: str, remedy: tuple[str, str] = IMBALANCE_FLAGS) -> str:
    """The log's warning that every test text was predicted `label`, with the remedies.

    It said only "look at macro F1"; the fixes README documents for imbalanced labels are
    named: weigh the classes alike, and choose the epoch by the rare classes too.
    """
    remedies = imbalance_remedy(remedy)
    return f"{ONE_LABEL_WARNING} {label!r}: the model tells no class apart; {remedies}"


def imbalance_remedy(remedy: tuple[str, str] = IMBALANCE_FLAGS) -> str:
    """README's two fixes for imbalanced labels, as `remedy` spells their flags."""
    weigh, metric = remedy
    return (
        f"with imbalanced labels, {weigh} weighs each class alike and {metric} chooses the "
        "epoch by the rare classes too (read macro F1, not accuracy)"
    )


def mean_baseline(
    train_targets: Sequence[float], test_targets: Sequence[float]
) -> dict[str, float]:
    """RMSE and MAE of always predicting the training mean: a regression's floor to beat.

    The counterpart of `majority_baseline`; a model whose RMSE is not below it has learnt
    nothing from the texts (its Pearson r is undefined: the prediction is constant).

    >>> mean_baseline([1.0, 2.0, 3.0], [2.0, 4.0])
    {'value': 2.0, 'rmse': 1.4142135623730951, 'mae': 1.0}
    """
    if not train_targets:
        raise DataError("mean baseline: the training set is empty")
    value = math.fsum(train_targets) / len(train_targets)
    errors = [t - value for t in test_targets]
    if not errors:
        return {"value": value, "rmse": math.nan, "mae": math.nan}
    rmse = math.sqrt(math.fsum(e * e for e in errors) / len(errors))
    return {"value": value, "rmse": rmse, "mae": math.fsum(abs(e) for e in errors) / len(errors)}

