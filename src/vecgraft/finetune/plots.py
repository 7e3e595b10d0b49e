"""PNG plots of a run: confusion matrix and training curves (needs the plot extra).

Figures are drawn with matplotlib's object API on an Agg canvas, so plotting works on a
headless server and never switches the backend of the caller's session (a notebook keeps
its inline backend). Each PNG is written atomically: a crash leaves the old file or the new.

    >>> import tempfile
    >>> from vecgraft.finetune.metrics import classification_metrics
    >>> run = Path(tempfile.mkdtemp())
    >>> metrics = classification_metrics([0, 0, 1, 1], [0, 1, 1, 1], ["neg", "pos"])
    >>> plot_confusion(metrics, run / "confusion.png").name
    'confusion.png'
    >>> history = [{"epoch": 1, "train_loss": 0.9}, {"epoch": 2, "train_loss": 0.5}]
    >>> plot_history(history, run / "history.png").read_bytes()[1:4]  # result.history of a run
    b'PNG'
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vecgraft._util.console import printable
from vecgraft._util.figures import new_figure, save_png
from vecgraft.errors import ConfigError
from vecgraft.finetune.metrics import ClassificationMetrics

__all__ = ["confusion_title", "plot_confusion", "plot_history"]


def plot_confusion(
    metrics: ClassificationMetrics,
    path: str | os.PathLike[str],
    *,
    normalize: bool = False,
    title: str | None = None,
) -> Path:
    """Draw the confusion matrix (rows: true label, columns: predicted) as a PNG.

    Args:
        metrics: from `classification_metrics`.
        path: the PNG to write.
        normalize: colour and annotate by row share (recall) instead of counts.
        title: figure title; default shows accuracy and macro F1.

    Returns:
        The written path.
    """
    # escaped as the terminal shows them: a tab in a label drew as a box, with matplotlib's
    # "Glyph 9 (\t) missing from font(s) DejaVu Sans" warning on stderr
    names = [printable(name) for name in metrics.label_names or list(metrics.per_class)]
    counts = metrics.confusion
    n = len(names)
    if n == 0 or len(counts) != n:
        raise ConfigError("metrics have no confusion matrix to plot")
    values = [
        [x / max(sum(row), 1) for x in row] if normalize else [float(x) for x in row]
        for row in counts
    ]
    side = max(4.0, 0.6 * n + 2.5)
    fig = new_figure(side + 1.0, side)
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(values, cmap="Blues", vmin=0.0)
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    bar.set_label("share of the true label's texts" if normalize else "texts")
    ax.set_xticks(range(n), labels=names, rotation=45, ha="right")
    ax.set_yticks(range(n), labels=names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    top = max((v for row in values for v in row), default=0.0)
    if n <= 30:  # beyond that the numbers are unreadable anyway
        for i, row in enumerate(values):
            for j, v in enumerate(row):
                text = f"{v:.2f}" if normalize else str(counts[i][j])
                colour = "white" if top and v > top / 2 else "black"
                ax.text(j, i, text, ha="center", va="center", color=colour, fontsize=8)
    ax.set_title(title or confusion_title(metrics))
    return save_png(fig, path)


def confusion_title(
    metrics: ClassificationMetrics, split: str | None = None, model: str | None = None
) -> str:
    """The confusion plot's title: scores, and which split and model they are of.

    "test: accuracy 0.770, macro F1 0.785" over "cnn fused with the TF-IDF linear model":
    a run's plot said neither, so a fused run's matrix read as the network's.
    """
    scores = f"accuracy {metrics.accuracy:.3f}, macro F1 {metrics.macro_f1:.3f}"
    head = f"{split}: {scores}" if split else scores
    return f"{head}\n{model}" if model else head


_CURVES = (("loss", "loss"), ("accuracy", "accuracy"))
# a regression's history has no accuracy: its right panel shows the validation Pearson r
_REGRESSION_CURVES = (("loss", "loss"), ("pearson", "Pearson r"))


def plot_history(
    history: Sequence[Mapping[str, Any]],
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
) -> Path:
    """Plot per-epoch loss and accuracy for train and validation as a PNG.

    Args:
        history: one dict per epoch with some of "epoch", "train_loss", "valid_loss",
            "train_accuracy", "valid_accuracy" (missing or non-finite values are skipped);
            a history with "valid_pearson" and no accuracy (a regression) plots Pearson r.
            A row with "steps" of "steps_per_epoch" (an epoch `max_steps` cut) is placed
            at that fraction of its epoch.
        path: the PNG to write.
        title: figure title.

    Returns:
        The written path.
    """
    if not history:
        raise ConfigError("history is empty: nothing to plot")
    epochs = [_epoch_x(h, i) for i, h in enumerate(history)]
    fig = new_figure(10.0, 4.0)
    regression = not any(f"{s}_accuracy" in h for h in history for s in ("train", "valid")) and any(
        "valid_pearson" in h for h in history
    )
    for k, (metric, ylabel) in enumerate(_REGRESSION_CURVES if regression else _CURVES, start=1):
        ax = fig.add_subplot(1, 2, k)
        for split, style in (("train", "-o"), ("valid", "-s")):
            points = [
                (e, float(h[f"{split}_{metric}"]))
                for e, h in zip(epochs, history)
                if _finite(h.get(f"{split}_{metric}"))
            ]
            if points:
                xs, ys = zip(*points)
                ax.plot(xs, ys, style, label=split, markersize=3)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        if metric == "accuracy":
            _percent_axis(ax)
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    if title:
        fig.suptitle(title)
    return save_png(fig, path)


def _percent_axis(ax: Any) -> None:
    """Tick the accuracy axis in % (the values stay fractions).

    Why: the console and reports print accuracy as a percentage; 0.8 on the axis beside a
    log saying 80.0 % reads as two different numbers.
    """
    from matplotlib.ticker import PercentFormatter

    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))


def _epoch_x(row: Mapping[str, Any], index: int) -> float:
    """Where a row sits on the epoch axis: its epoch, or the part of it that ran (cut)."""
    epoch = float(row.get("epoch", index + 1))
    steps: Any = row.get("steps")
    per_epoch: Any = row.get("steps_per_epoch")
    if _finite(steps) and _finite(per_epoch) and float(per_epoch) > 0:
        return epoch - 1 + float(steps) / float(per_epoch)
    return epoch


def _finite(value: Any) -> bool:
    """Whether `value` is a finite number (missing entries and NaN are skipped)."""
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
