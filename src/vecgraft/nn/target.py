"""A regression network's output on its targets' own scale.

Why: a regression head starts near 0 and moves by about the learning rate per step, so for
targets such as years (mean 2000, sd 14) or prices the network spends its whole budget
walking towards the mean, and alone it scores far worse than always predicting the mean.
Fixing `y = shift + scale * z` from the training targets' mean and standard deviation lets
the network learn z-scores (Adam's steps do not depend on the loss's scale), while losses,
scores and predictions stay in the user's units. sklearn's `StandardScaler` on `y` (with
`TransformedTargetRegressor`) is the same idea.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

__all__ = ["TargetScale", "loss_unit", "restore_scale", "target_text"]


def target_text(value: float) -> str:
    """`value` with its whole part and two decimals, or 4 significant digits when small.

    Why: `{:.4g}` printed a mean of 1,000,000,002.03 as "1e+09", hiding the number the
    log names.

        >>> target_text(2.0346), target_text(1_000_000_002.03), target_text(3e-06)
        ('2.035', '1000000002.03', '3e-06')
    """
    digits = math.floor(math.log10(abs(value))) + 3 if value and math.isfinite(value) else 0
    return f"{value:.{min(max(4, digits), 15)}g}"  # 15: every float prints clean


@dataclass(frozen=True)
class TargetScale:
    """The affine map from a network's raw output to a regression target.

    >>> s = TargetScale.of([1990.0, 2000.0, 2010.0])
    >>> s.shift, round(s.scale, 4)
    (2000.0, 8.165)
    >>> TargetScale.of([3.0, 3.0]).scale  # a constant target: nothing to scale by
    1.0
    """

    shift: float = 0.0
    scale: float = 1.0

    @classmethod
    def of(cls, targets: Sequence[float]) -> TargetScale:
        """Mean and (population) standard deviation of `targets`; scale 1 when they are equal."""
        values = [float(t) for t in targets]
        if not values:
            return cls()
        mean = math.fsum(values) / len(values)
        sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / len(values))
        return cls(mean, sd if sd > 0 and math.isfinite(sd) else 1.0)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TargetScale:
        """The scale `to_dict` wrote; ValueError unless shift is finite and scale positive."""
        shift, scale = float(data["shift"]), float(data["scale"])
        if not (math.isfinite(shift) and math.isfinite(scale) and scale > 0):
            raise ValueError(f"target scale needs a finite shift and a positive scale: {data}")
        return cls(shift, scale)

    def to_dict(self) -> dict[str, float]:
        """As `model.json` keeps it."""
        return {"shift": self.shift, "scale": self.scale}

    def attach(self, model: nn.Module) -> RemovableHandle:
        """Make `model`'s outputs `shift + scale * output` (a forward hook; not a weight).

        The scale is also kept as `model.target_scale`, so that a trainer can take its
        gradients in z units (`loss_unit`): gradient clipping then treats a model of years
        as it treats one of z-scores. The map runs in float32 even under bf16 autocast,
        whose 8 significant bits would round every year near 2000 to a multiple of 8.
        """
        shift, scale = self.shift, self.scale
        object.__setattr__(model, "target_scale", self)  # a plain attribute, not a buffer

        def rescale(_module: nn.Module, _args: Any, output: torch.Tensor) -> torch.Tensor:
            return output.float() * scale + shift

        return model.register_forward_hook(rescale)


def loss_unit(model: nn.Module) -> float:
    """The factor that puts a squared error of `model`'s outputs in z units (1: none kept)."""
    kept = getattr(model, "target_scale", None)
    return 1.0 / kept.scale**2 if isinstance(kept, TargetScale) else 1.0


def restore_scale(model: nn.Module, saved: Mapping[str, Any] | None) -> None:
    """Re-attach the scale a checkpoint's `model.json` kept as `target_scale`.

    None (classifiers, and regression runs saved before the scale) attaches nothing.
    """
    if saved is not None:
        TargetScale.from_dict(saved).attach(model)
