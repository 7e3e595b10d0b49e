"""Training state and schedule: what `state.json` holds, when an epoch is better, lr factors.

Kept apart from the loop in `vecgraft.finetune.train` so the resume format and the
learning-rate schedule can be read (and tested) without the trainer.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from vecgraft._util.device import cuda_native_bf16
from vecgraft.errors import CheckpointError, ConfigError
from vecgraft.finetune.config import FinetuneConfig, Metric, ScheduleKind

__all__ = [
    "TrainState",
    "at_ceiling",
    "cap_trains_on",
    "cpu_amx_bf16",
    "lr_factor",
    "planned_steps",
    "use_bf16",
    "warmup_steps",
]


@dataclass
class TrainState:
    """Where training stands; saved as `state.json` so a run can resume exactly.

    Attributes:
        epoch: epochs completed.
        step_in_epoch: batches done in the current, unfinished epoch (an interrupted run).
        global_step: optimizer steps so far.
        partial: loss sum / correct / count of the unfinished epoch.
        best_metric: best validation metric so far.
        best_loss: validation loss at that epoch (breaks ties of accuracy / F1).
        best_epoch: epoch (1-based) of the best checkpoint.
        bad_epochs: epochs since the last improvement (early stopping); a lower loss at a
            validation accuracy / F1 of 1.0 is kept but does not restart the count.
        history: one dict per finished epoch.
        stopped_early: patience ran out.
        finished: training ended (all epochs, early stop or max_steps).
        epoch_seconds: seconds trained in the unfinished epoch, which a resume adds to its
            history row (it held only the resumed part: 4.4 s of 6.3 + 4.4).
        run_seconds: seconds the run had taken when the checkpoint was saved, over all its
            sessions, from which a resume's metrics.json `seconds` goes on (it counted only
            the last session: 1.7 s of a 17.4 s run stopped in its final evaluation). Set by
            the recipe as it saves; 0 in a state.json written before it existed.
    """

    epoch: int = 0
    step_in_epoch: int = 0
    global_step: int = 0
    partial: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    best_metric: float | None = None
    best_loss: float | None = None
    best_epoch: int | None = None
    bad_epochs: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    stopped_early: bool = False
    finished: bool = False
    epoch_seconds: float = 0.0
    run_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainState:
        """Inverse of `to_dict`."""
        try:
            return cls(**data)
        except TypeError as exc:
            raise CheckpointError(f"state.json: not a training state ({exc})") from exc


def cap_trains_on(step: int, stopped_early: bool, cap: int | None, new: int | None) -> bool:
    """Whether a run that its step cap `cap` ended at `step` trains on to a resume's `new` cap.

    Not one that stopped early or before `cap`, nor where `new` is no more than the steps
    already trained. One rule for a single run (`Trainer.reopen`) and an ensemble's finished
    members (`ensemble._trains_on`), so that both decide alike.
    """
    return cap is not None and new is not None and not stopped_early and cap <= step < new


def _improves(
    metric: Metric, value: float, loss: float, best: float | None, best_loss: float | None
) -> bool:
    """Whether an epoch beats the best so far; equal accuracy/F1 with a lower loss counts.

    Small validation sets make accuracy ties common; the loss then picks the better epoch.
    """
    if best is None:
        return True
    if metric is Metric.loss:
        return value < best
    return value > best or (value == best and best_loss is not None and loss < best_loss)


def at_ceiling(metric: Metric, value: float | None) -> bool:
    """Whether a validation accuracy / F1 is 1.0, which no later epoch can beat.

    Not the loss (`Metric.loss`, and every regression), which has no ceiling.
    """
    return metric is not Metric.loss and value is not None and value >= 1.0


def _resets_patience(metric: Metric, value: float, best: float | None) -> bool:
    """Whether an epoch that `_improves` on `best` also restarts the patience count.

    All do but a lower loss at an accuracy / F1 already at its ceiling: it still picks the
    epoch kept, but at 100 % the loss falls for as long as the network grows more confident,
    and a tester's run that reached 100 % at epoch 3 trained on to its whole budget (131
    epochs) with every epoch "best" (`benchmarks/defaults.md` round 49).
    """
    return not (at_ceiling(metric, best) and value == best)


def use_bf16(config: FinetuneConfig, device: torch.device) -> bool:
    """bf16 autocast: on by default where the hardware multiplies bf16 natively.

    That is a CUDA GPU of compute capability 8 (Ampere) or newer (`cuda_native_bf16`), or,
    for the static-vector families, a CPU with AMX bf16 units (`cpu_amx_bf16`): there the
    default CNN trained 1.3-1.7x faster at the same held-out accuracy (`benchmarks/defaults.md`
    round 14). Older GPUs (T4, V100) and other CPUs emulate bf16, which is slower than
    float32, and `hf` was not measured on a CPU, so these stay in float32 unless asked.
    """
    if device.type == "cuda":
        native = cuda_native_bf16(device)
        if config.bf16 is None:
            return native
        if config.bf16 and not native and not _cuda_bf16_emulated(device):
            raise ConfigError(f"--bf16 requested but {device} does not support bfloat16")
        return bool(config.bf16)
    if config.bf16 is None:
        from vecgraft.nn.models import ModelKind

        return device.type == "cpu" and config.model is not ModelKind.HF and cpu_amx_bf16()
    return bool(config.bf16)


def _cuda_bf16_emulated(device: torch.device) -> bool:
    """Whether `device` runs bf16 at all, if only emulated (an explicit --bf16 on a T4).

    Asked of `device` itself: `torch.cuda.is_bf16_supported` answers for the current GPU.
    """
    with torch.cuda.device(device):
        return bool(torch.cuda.is_bf16_supported())


def cpu_amx_bf16() -> bool:
    """Whether this CPU has AMX bf16 tile units (Intel Sapphire Rapids and later)."""
    capabilities = getattr(torch.cpu, "get_capabilities", None)
    if capabilities is None:  # older torch: no capability table, treat as absent
        return False
    return bool(capabilities().get("amx_bf16", False))


def lr_factor(step: int, total: int, warmup: int, schedule: ScheduleKind) -> float:
    """Multiplier of the base learning rates at optimizer step `step` (0-based)."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    if schedule is ScheduleKind.constant:
        return 1.0
    progress = (step - warmup) / max(total - warmup, 1)
    progress = min(max(progress, 0.0), 1.0)
    if schedule is ScheduleKind.cosine:
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    return 1.0 - progress


def planned_steps(steps_per_epoch: int, epochs: int, cap: int | None) -> int:
    """The optimizer steps a run trains: all its epochs, or its step cap `cap` where smaller.

    The length of its learning-rate schedule (`Trainer.total_steps`), and what a resume
    compares with the saved cap's (`ClassifierRecipe._resume`).
    """
    whole = steps_per_epoch * epochs
    return whole if cap is None else min(whole, cap)


def warmup_steps(config: FinetuneConfig, total: int) -> int:
    """`warmup` as a step count (a fraction < 1 of all steps, or a count)."""
    return round(config.warmup * total) if config.warmup < 1 else int(config.warmup)
