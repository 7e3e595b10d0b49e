"""Scoring a classifier on encoded data: logits, loss and confusion counts (summed over ranks).

Confusion counts are a dense [C, C] tensor for up to `DENSE_CELLS` cells and a sparse COO
tensor beyond, so 10,000 labels cost memory in proportion to the examples, not to C².
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vecgraft._util.options import parse_enum
from vecgraft.finetune.batching import EncodedData
from vecgraft.finetune.config import Metric
from vecgraft.finetune.distributed import DistContext

__all__ = [
    "DENSE_CELLS",
    "EvalResult",
    "RegressionResult",
    "TargetRange",
    "evaluate_model",
    "evaluate_regression",
    "predict_logits",
    "regression_metrics",
]

# above this many confusion cells (C * C) counts are kept sparse: 1e6 cells = 1000 classes
DENSE_CELLS = 1_000_000


@dataclass
class EvalResult:
    """Loss and confusion counts of a model on a data set (summed over ranks).

    Attributes:
        loss: mean cross-entropy.
        confusion: [C, C] counts, rows = true label, columns = predicted; a dense tensor,
            or a sparse COO tensor when C is large.
        log_loss: scikit-learn's `log_loss` of the softmax probabilities (clipped to
            [eps, 1 - eps]) over the same rows as `loss`; None where there are none.
    """

    loss: float
    confusion: torch.Tensor
    log_loss: float | None = None

    def cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(true ids, predicted ids, counts) of the non-zero cells."""
        if self.confusion.is_sparse:
            sparse = self.confusion.coalesce()
            true, pred = sparse.indices().numpy()
            counts = sparse.values().long().numpy()
            keep = counts != 0
            return true[keep], pred[keep], counts[keep]
        dense = self.confusion.long().numpy()
        true, pred = np.nonzero(dense)
        return true, pred, dense[true, pred]

    @property
    def count(self) -> int:
        """Number of examples scored."""
        return int(self.cells()[2].sum())

    @property
    def accuracy(self) -> float:
        """Fraction of correct predictions."""
        true, pred, counts = self.cells()
        return float(counts[true == pred].sum()) / max(int(counts.sum()), 1)

    @property
    def macro_f1(self) -> float:
        """Macro F1 over the classes present in truth or predictions (scikit-learn's)."""
        from vecgraft.finetune.metrics import macro_f1_from_cells

        return macro_f1_from_cells(*self.cells())

    def pairs(self) -> tuple[list[int], list[int]]:
        """(y_true, y_pred) lists with these confusion counts (order is not meaningful)."""
        true, pred, counts = self.cells()
        return np.repeat(true, counts).tolist(), np.repeat(pred, counts).tolist()

    def metric(self, which: Metric | str) -> float:
        """The value of `which` (loss, accuracy or macro_f1; the enum or its name).

        Only the one asked for is computed: macro F1 goes through scikit-learn (about 10 ms
        a call), and every epoch's validation asked for it twice more than it needed. A
        name is parsed first: compared by identity, "accuracy" returned macro F1.
        """
        which = parse_enum(Metric, which, "metric")
        if which is Metric.loss:
            return self.loss
        return self.accuracy if which is Metric.accuracy else self.macro_f1


def _logit_batches(
    model: nn.Module,
    data: EncodedData,
    indices: list[int],
    *,
    device: torch.device,
    batch_size: int,
    bf16: bool,
) -> Iterator[tuple[list[int], torch.Tensor]]:
    """(positions in `indices`, logits [b, C] on the CPU) per batch, batched by length.

    Each batch's autocast ends before it is yielded: the caller's code between batches ran
    under bf16 autocast, and a caller that raised left it on until the generator was freed.
    """
    order = sorted(range(len(indices)), key=lambda i: len(data.ids[indices[i]]))
    for start in range(0, len(order), batch_size):
        positions = order[start : start + batch_size]
        ids, lengths, _ = data.batch([indices[i] for i in positions])
        ctx = (
            torch.autocast(device_type=device.type, dtype=torch.bfloat16)
            if bf16
            else contextlib.nullcontext()
        )
        with ctx:
            logits = model(ids.to(device), lengths.to(device)).float().cpu()
        yield positions, logits


@torch.no_grad()
def predict_logits(
    model: nn.Module,
    data: EncodedData,
    indices: list[int],
    *,
    device: torch.device,
    batch_size: int,
    bf16: bool = False,
) -> torch.Tensor:
    """Logits [len(indices), C] in the order of `indices` (batched by length for speed)."""
    was_training = model.training
    model.eval()
    chunks: list[torch.Tensor] = []
    order: list[int] = []
    try:
        batches = _logit_batches(
            model, data, indices, device=device, batch_size=batch_size, bf16=bf16
        )
        for positions, logits in batches:
            order += positions
            chunks.append(logits)
    finally:
        model.train(was_training)
    if not chunks:
        return torch.zeros(0, 0)
    logits = torch.cat(chunks)
    out = torch.empty_like(logits)
    out[torch.tensor(order)] = logits
    return out


def class_probabilities(
    model: nn.Module, data: EncodedData, num_classes: int, *, device: torch.device, batch_size: int
) -> torch.Tensor:
    """Softmax of the model's logits over every row of `data` [N, C], in row order."""
    if not len(data):  # predict_logits has no class axis to give for no rows
        return torch.zeros(0, num_classes)
    rows = list(range(len(data)))
    return torch.softmax(
        predict_logits(model, data, rows, device=device, batch_size=batch_size), dim=-1
    )


@torch.no_grad()
def evaluate_model(
    model: nn.Module,
    data: EncodedData,
    num_classes: int,
    *,
    device: torch.device,
    batch_size: int = 64,
    bf16: bool = False,
    dist: DistContext | None = None,
    num_labels: int | None = None,
) -> EvalResult:
    """Loss and confusion counts of `model` on `data` (each rank scores every N-th example).

    Logits are reduced batch by batch (never [N, C] at once: 10,000 labels stay cheap).
    `num_labels` (default `num_classes`) sizes the confusion counts: gold ids from
    `num_classes` on are test labels the model never saw (`LabelMap.encode_scored`), counted
    as errors; the loss is the mean over the rows whose label the model has (NaN if none),
    and so is the log-loss of the probabilities `class_probabilities` gives (`log_loss`).
    """
    from vecgraft.finetune.metrics import LogLossSum

    dist = dist or DistContext()
    size = num_classes if num_labels is None else num_labels
    indices = list(range(dist.rank, len(data), dist.world_size))
    known = sum(int(y) < num_classes for y in data.labels)  # every rank's rows, not just its own
    loss = torch.zeros(2, dtype=torch.float64)  # cross-entropy, log-loss: summed over rows
    log_loss = LogLossSum()
    codes: list[torch.Tensor] = [torch.zeros(0, dtype=torch.long)]  # true * C + predicted
    was_training = model.training
    model.eval()
    try:
        batches = _logit_batches(
            model, data, indices, device=device, batch_size=batch_size, bf16=bf16
        )
        for positions, logits in batches:
            labels = torch.tensor([data.labels[indices[i]] for i in positions], dtype=torch.long)
            seen = labels < num_classes  # an unseen label has no logit to score a loss on
            if bool(seen.any()):
                loss[0] += float(F.cross_entropy(logits[seen], labels[seen], reduction="sum"))
                log_loss.add(torch.softmax(logits, dim=-1).numpy(), labels.tolist())
            codes.append(labels * size + logits.argmax(-1))
    finally:
        model.train(was_training)
    every = torch.cat(codes)
    loss[1] = log_loss.total
    dist.all_reduce_sum(loss)
    if size * size <= DENSE_CELLS:
        counts = torch.bincount(every, minlength=size * size).double()
        confusion = dist.all_reduce_sum(counts).round().long().view(size, size)
    else:
        confusion = _sparse_confusion(every, size, dist)
    mean = float(loss[0]) / known if known else (math.nan if len(data) else 0.0)
    return EvalResult(mean, confusion, float(loss[1]) / known if known else None)


def _sparse_confusion(codes: torch.Tensor, num_classes: int, dist: DistContext) -> torch.Tensor:
    """Sparse [C, C] counts of `codes` gathered from every rank."""
    gathered: list[Any] = dist.all_gather_object(codes)
    every = torch.cat([torch.as_tensor(c, dtype=torch.long) for c in gathered])
    unique, counts = torch.unique(every, return_counts=True)
    indices = torch.stack([unique // num_classes, unique % num_classes])
    size = (num_classes, num_classes)
    return torch.sparse_coo_tensor(indices, counts, size, check_invariants=True).coalesce()


def score_text(value: float) -> str:
    """A score to 4 decimals; NaN (a correlation of constant values) as "undefined".

    One spelling for every line that prints a score: the test line said "undefined" where
    the validation lines printed "nan".
    """
    return "undefined" if math.isnan(value) else f"{value:.4f}"


def whole_numbers(values: np.ndarray) -> bool:
    """Whether every value is a whole number (a rating, a grade) that rounding can hit."""
    return bool(np.array_equal(values, np.round(values)))


# the widest span of whole-number labels read as a scale (a 0-100 score at most); wider
# ones are counts or prices, and a prediction rounded to them is not a grade
MAX_SCALE_SPAN = 100


def rating_scale(values: np.ndarray) -> bool:
    """Whether `values` are grades on a small whole-number scale: 0-4, 1-10, 0-100.

    Why: `rounded_accuracy` of labels 0, 1e9, ..., 4e9 (whole numbers all) was a
    meaningless 0.0000; rounding to the nearest whole number is a grade only over a span
    of at most `MAX_SCALE_SPAN`.
    """
    return whole_numbers(values) and (not len(values) or float(np.ptp(values)) <= MAX_SCALE_SPAN)


@dataclass(frozen=True)
class TargetRange:
    """The smallest and largest training target, and whether they were grades on a scale.

    Why: `rounded_accuracy` clips a rounded prediction to the values the model was trained
    on. Clipped to the scored file's own range, a file whose labels were all 4 scored 1.0
    whatever the model predicted. A run keeps it in `metrics.json` ("train_range").
    `whole` is `rating_scale` (whole numbers over a span of at most `MAX_SCALE_SPAN`):
    only then is a rounded prediction a grade.

    >>> TargetRange.of([2.0, 0.0, 4.0])
    TargetRange(low=0.0, high=4.0, whole=True)
    >>> TargetRange.of([0.5, 3.0]).to_dict()
    {'min': 0.5, 'max': 3.0, 'whole_numbers': False}
    """

    low: float
    high: float
    whole: bool

    @classmethod
    def of(cls, targets: Sequence[float]) -> TargetRange:
        """The range of `targets` (the training split's); ValueError when there are none."""
        values = np.asarray(targets, dtype=np.float64)
        if values.ndim != 1 or not len(values) or not np.isfinite(values).all():
            raise ValueError("a target range needs one or more finite training targets")
        return cls(float(values.min()), float(values.max()), rating_scale(values))

    @classmethod
    def from_dict(cls, data: Any) -> TargetRange:
        """The range `to_dict` wrote; ValueError unless its ends are finite and in order.

        Where `whole_numbers` is true the ends must be whole numbers too; a span past
        `MAX_SCALE_SPAN` (a run saved before the scale check) reads as not a scale.
        """
        record = data if isinstance(data, dict) else {}
        ends = [record.get("min"), record.get("max")]
        whole = record.get("whole_numbers")
        numbers = [float(v) for v in ends if isinstance(v, int | float) and not isinstance(v, bool)]
        if len(numbers) != 2 or not isinstance(whole, bool):
            raise ValueError(f"not a target range (min, max, whole_numbers): {data!r}")
        low, high = numbers
        fits = whole_numbers(np.array(numbers)) if whole else True
        if not (math.isfinite(low) and math.isfinite(high) and low <= high and fits):
            raise ValueError(f"a target range needs finite ends, min <= max, whole ones where "
                             f"whole_numbers is true: {data!r}")  # fmt: skip
        return cls(low, high, whole and high - low <= MAX_SCALE_SPAN)

    def to_dict(self) -> dict[str, Any]:
        """As `metrics.json` keeps it."""
        return {"min": self.low, "max": self.high, "whole_numbers": self.whole}


def regression_metrics(
    y_true: Any, y_pred: Any, *, train_range: TargetRange | None = None
) -> dict[str, float]:
    """RMSE, MAE, MSE, Pearson r and Spearman rho (scipy's; NaN when either side is constant).

    Given the training targets' `train_range`, where they are grades on a scale
    (`rating_scale`: ratings, SST-5's 0-4) and the scored targets whole numbers, also
    `rounded_accuracy`: the share of predictions
    that, rounded to the nearest whole number (halves to even) and clipped to the training
    range, equal the target. It sets a regression beside a classifier of the same labels,
    which can only predict the training labels too; a scored target outside that range is
    always missed. Without `train_range` there is no range to clip to, and no
    `rounded_accuracy`: the scored targets' own range made a file of one label score 1.0.
    """
    from scipy.stats import pearsonr, spearmanr

    true = np.asarray(y_true, dtype=np.float64)
    pred = np.asarray(y_pred, dtype=np.float64)
    if true.shape != pred.shape or true.ndim != 1:
        raise ValueError(f"need two equal-length 1-D sequences, got {true.shape} and {pred.shape}")
    err = pred - true
    out = {
        "mse": float(np.mean(err**2)) if len(err) else math.nan,
        "rmse": float(np.sqrt(np.mean(err**2))) if len(err) else math.nan,
        "mae": float(np.mean(np.abs(err))) if len(err) else math.nan,
        "pearson": math.nan,
        "spearman": math.nan,
    }
    if len(err) and train_range is not None and train_range.whole and whole_numbers(true):
        rounded = np.clip(np.round(pred), train_range.low, train_range.high)
        out["rounded_accuracy"] = float(np.mean(rounded == true))
    out["count"] = len(err)
    if len(err) >= 2 and np.ptp(true) > 0 and np.ptp(pred) > 0:
        out["pearson"] = float(pearsonr(true, pred)[0])
        out["spearman"] = float(spearmanr(true, pred)[0])
    return out


@dataclass
class RegressionResult:
    """Predictions and targets of a regression model on a data set.

    Attributes:
        loss: mean squared error.
        y_true: targets.
        y_pred: predictions.
    """

    loss: float
    y_true: list[float]
    y_pred: list[float]

    @classmethod
    def of(cls, y_true: Sequence[float], y_pred: Sequence[float]) -> RegressionResult:
        """The result of these predictions, its loss their mean squared error (NaN if none)."""
        true, pred = [float(v) for v in y_true], [float(v) for v in y_pred]
        err = np.asarray(pred) - np.asarray(true)
        return cls(float(np.mean(err**2)) if len(err) else math.nan, true, pred)

    def scores(self, train_range: TargetRange | None = None) -> dict[str, float]:
        """`regression_metrics` of these predictions (`rounded_accuracy` needs `train_range`)."""
        return regression_metrics(self.y_true, self.y_pred, train_range=train_range)

    def metric(self, which: Metric | str) -> float:
        """Early stopping on a regression always uses the loss (MSE)."""
        return self.loss


def evaluate_regression(
    model: nn.Module,
    data: EncodedData,
    *,
    device: torch.device,
    batch_size: int = 64,
    bf16: bool = False,
    dist: DistContext | None = None,
) -> RegressionResult:
    """MSE and predictions of a one-output model (each rank scores every N-th example)."""
    dist = dist or DistContext()
    indices = list(range(dist.rank, len(data), dist.world_size))
    pairs: list[tuple[float, float]] = []
    if indices:
        out = predict_logits(model, data, indices, device=device, batch_size=batch_size, bf16=bf16)
        pairs = [(float(data.labels[i]), float(v)) for i, v in zip(indices, out[:, 0].tolist())]
    gathered: list[Any] = dist.all_gather_object(pairs) if dist.enabled else [pairs]
    every = [p for part in gathered for p in part]
    return RegressionResult.of([t for t, _ in every], [p for _, p in every])
