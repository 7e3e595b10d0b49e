"""Late fusion of a trained network with the TF-IDF linear model (`fuse_linear`).

Why: on held-out training data the linear model beat every static-vector network on long
documents and on some sentence sets, while the network won on others; averaging the two
models' class probabilities, with the network's weight chosen on the run's own validation
split, never fell below the linear model there and gained about one point on MR, SST-2 and
TREC (`benchmarks/defaults.md`, round 8). A weight of 0 is the linear model alone, 1 the
network alone, so the validation split decides which one a dataset needs.

A regression (`--task regression`) fuses the same way: the network's predicted number with
the TF-IDF ridge regression's, the weight chosen by validation mean squared error. On SST-5's
dev split the default network alone trailed the ridge model (`benchmarks/sst5.py`).

The fitted linear model and the weight live in the run folder's `fusion/` (safetensors +
JSON, no pickle); `load_run` applies them.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vecgraft._util.atomic import atomic_directory
from vecgraft.errors import CheckpointError
from vecgraft.finetune.linear import LinearConfig, LinearModel
from vecgraft.finetune.scoring import EvalResult, RegressionResult

FUSION_DIR = "fusion"
FUSION_META = "fusion.json"
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)  # the network's share of the probability
# the default fuses up to this many labels: the linear model keeps a coefficient row per
# label over its n-gram features, gigabytes for thousands of labels (fuse_linear=True still
# fuses them)
MAX_DEFAULT_LABELS = 200


def _config(tokenizer: str | None, regression: bool = False) -> LinearConfig:
    """The linear baseline's reference settings for the network's tokenizer kind and task.

    A regression gets ridge regression, as `--model linear --task regression` does.
    """
    kind = tokenizer if tokenizer in ("jieba", "char") else None
    return LinearConfig.for_language(kind, **({"kind": "ridge"} if regression else {}))


def _targets(targets: Sequence[float], regression: bool) -> list[Any]:
    """What the linear model is fitted on: numbers, or label ids as strings.

    Its classes are saved as JSON; `linear_proba` maps them back to columns.
    """
    return [float(t) for t in targets] if regression else [str(int(i)) for i in targets]


def fit_linear(
    texts: Sequence[str],
    targets: Sequence[float],
    tokenizer: str | None,
    regression: bool = False,
) -> LinearModel:
    """The linear baseline's reference settings for `tokenizer`, fitted on `targets`.

    Label ids, or numbers with ridge regression when `regression`.
    """
    return LinearModel(_config(tokenizer, regression)).fit(
        list(texts), _targets(targets, regression)
    )


def fit_linear_nested(
    train: Sequence[str],
    valid: Sequence[str],
    targets: Sequence[float],
    tokenizer: str | None,
    regression: bool = False,
) -> tuple[LinearModel, LinearModel]:
    """`fit_linear` on `train` and on `train + valid` (targets: train's then valid's) at once.

    One analysis of the texts. The first judges the fusion on the validation rows it has not
    seen; the second is the one kept (`LinearModel.fit_nested`: each equals its own
    `fit_linear`).
    """
    return LinearModel.fit_nested(
        _config(tokenizer, regression), [*train, *valid], _targets(targets, regression),
        len(train),
    )  # fmt: skip


def linear_proba(model: LinearModel, texts: Sequence[str], num_classes: int) -> np.ndarray:
    """[N, num_classes] probabilities with column i = label id i (0 for unseen classes)."""
    out = np.zeros((len(texts), num_classes), dtype=np.float32)
    if len(texts):
        out[:, [int(c) for c in model.classes]] = model.predict_proba(list(texts))
    return out


def linear_values(model: LinearModel, texts: Sequence[str]) -> np.ndarray:
    """[N] numbers a ridge (regression) model predicts."""
    if not len(texts):
        return np.zeros(0, dtype=np.float32)
    return np.asarray(model.predict(list(texts)), dtype=np.float32)


def fuse(neural: np.ndarray, linear: np.ndarray, weight: float) -> np.ndarray:
    """The fused probabilities (or numbers): `weight` of the network's, the rest the linear's."""
    return weight * neural + (1.0 - weight) * linear


def weight_accuracies(
    neural: np.ndarray, linear: np.ndarray, gold: Sequence[int]
) -> dict[float, float]:
    """Accuracy of the fused probabilities at each of `WEIGHTS` (0.0 with no rows)."""
    y = np.asarray(gold)

    def accuracy(w: float) -> float:
        return float((fuse(neural, linear, w).argmax(axis=1) == y).mean()) if len(y) else 0.0

    return {w: accuracy(w) for w in WEIGHTS}


def weight_errors(
    neural: np.ndarray, linear: np.ndarray, gold: Sequence[float]
) -> dict[float, float]:
    """Mean squared error of the fused numbers at each of `WEIGHTS` (NaN with no rows)."""
    y = np.asarray(gold, dtype=np.float64)

    def mse(w: float) -> float:
        return float(((fuse(neural, linear, w) - y) ** 2).mean()) if len(y) else math.nan

    return {w: mse(w) for w in WEIGHTS}


def best_weight(accuracies: Mapping[float, float]) -> float:
    """The weight with the best accuracy; ties go to the one nearest 0.5 (the equal mix)."""
    return max(accuracies, key=lambda w: (accuracies[w], -abs(w - 0.5)))


def least_error_weight(errors: Mapping[float, float]) -> float:
    """The weight with the lowest error; ties go to the one nearest 0.5 (the equal mix)."""
    return best_weight({w: -e for w, e in errors.items()})


def choose_weight(neural: np.ndarray, linear: np.ndarray, gold: Sequence[int]) -> float:
    """The `WEIGHTS` entry with the best validation accuracy; ties go to the one nearest 0.5."""
    return best_weight(weight_accuracies(neural, linear, gold))


def fused_result(
    outputs: np.ndarray, gold: Sequence[float], num_classes: int, regression: bool
) -> EvalResult | RegressionResult:
    """Fused outputs as the network's own scoring gives them (EvalResult, RegressionResult)."""
    if not regression:
        return as_eval_result(outputs, [int(g) for g in gold], num_classes)
    return RegressionResult.of(gold, outputs.tolist())


def result_score(result: EvalResult | RegressionResult) -> float:
    """A result's accuracy, or its RMSE (a regression)."""
    return math.sqrt(result.loss) if isinstance(result, RegressionResult) else result.accuracy


def format_score(value: float, key: str) -> str:
    """One score as the logs print it: an RMSE to 4 places ("rmse"), else a percentage."""
    return f"{value:.4f}" if key == "rmse" else f"{100 * value:.2f}%"


def describe_scores(scores: Mapping[str, float] | None, key: str, split: str = "valid") -> str:
    """The log's words for one split's network / linear / fused scores (accuracy or rmse).

    `split` "crossfit" names the out-of-fold scores of `fuse_folds`.
    """
    if scores is None:
        return "no validation rows"
    parts = ("network", "linear", "fused")
    name = "RMSE" if key == "rmse" else "accuracy"
    where = "out-of-fold" if split == "crossfit" else "validation"
    return f"{where} {name} " + ", ".join(f"{p} {format_score(scores[p], key)}" for p in parts)


def as_eval_result(proba: np.ndarray, gold: Sequence[int], num_classes: int) -> EvalResult:
    """Mean cross-entropy and confusion counts of probabilities, like `evaluate_model`'s."""
    y = np.asarray(gold, dtype=np.int64)
    pred = proba.argmax(axis=1) if len(y) else np.zeros(0, dtype=np.int64)
    counts = np.bincount(y * num_classes + pred, minlength=num_classes * num_classes)
    picked = proba[np.arange(len(y)), y] if len(y) else np.zeros(0)
    loss = float(-np.log(np.clip(picked, 1e-12, None)).mean()) if len(y) else math.nan
    confusion = torch.from_numpy(counts.reshape(num_classes, num_classes))
    return EvalResult(loss=loss, confusion=confusion)


@dataclass
class Fusion:
    """A fitted linear model (ridge for a regression) and the network's weight."""

    linear: LinearModel
    weight: float
    num_classes: int  # 1 for a regression

    @property
    def regression(self) -> bool:
        """Whether the fused models predict numbers."""
        return self.linear.regression

    def proba(self, neural: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """Fused probabilities of `texts` given the network's [N, C] probabilities."""
        return fuse(neural, linear_proba(self.linear, texts, self.num_classes), self.weight)

    def values(self, neural: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """Fused numbers of `texts` given the network's [N] predictions (a regression)."""
        return fuse(neural, linear_values(self.linear, texts), self.weight)

    def save(self, folder: Path, info: dict[str, Any]) -> None:
        """Write `folder` whole or not at all (`atomic_directory`: a temp folder, a rename)."""
        with atomic_directory(folder) as tmp:
            self.linear.save(tmp)
            meta = {"weight": self.weight, "num_classes": self.num_classes, **info}
            (tmp / FUSION_META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, run_dir: str | os.PathLike[str]) -> Fusion | None:
        """The run's fusion, or None when it was trained without `fuse_linear`."""
        folder = Path(run_dir) / FUSION_DIR
        if not folder.is_dir():
            return None
        try:
            meta = json.loads((folder / FUSION_META).read_text(encoding="utf-8"))
            weight, num_classes = float(meta["weight"]), int(meta["num_classes"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(f"{folder / FUSION_META}: not a fusion record ({exc})") from exc
        if not 0.0 <= weight <= 1.0:  # chosen from WEIGHTS, or fixed by fuse_weight
            raise CheckpointError(f"{folder / FUSION_META}: weight {weight} is not in [0, 1]")
        return cls(LinearModel.load(folder), weight, num_classes)
