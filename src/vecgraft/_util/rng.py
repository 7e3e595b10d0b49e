"""Keep the caller's global random state across a library call that seeds torch.

A run seeds torch's global generators (`torch.manual_seed(cfg.seed)`) so that its results
are bit-identical whatever came before; without a fork, `vecgraft.finetune(...)` also
reset its user's generator: `torch.rand(1)` after it was the same whatever the user seeded.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any

import torch

__all__ = ["kept_rng"]


@contextlib.contextmanager
def kept_rng(device: torch.device | str | None = "cpu") -> Iterator[None]:
    """Run the body on a fork of torch's global RNG: CPU, and CUDA where used; restored after.

    `device` is where the body computes ("auto"/None: CUDA if there is one). CUDA's states
    are forked only where CUDA is started already or the body uses it: reading them starts
    CUDA (seconds, and forked DataLoader workers could not use it after). Otherwise the
    seeds queued for CUDA's lazy start (`torch.manual_seed` queues one) are put back instead.
    Not kept: Apple MPS's generator (`torch.manual_seed` seeds it too), and CUDA's where a
    body said to run on the CPU starts CUDA itself (its queued seed then applies).
    """
    with torch.random.fork_rng(devices=_cuda_devices(device), device_type="cuda"):
        queued = _queued_cuda_seeds()
        try:
            yield
        finally:
            _restore_queued(queued)


def _cuda_devices(device: torch.device | str | None) -> list[int]:
    """The CUDA devices whose RNG states to fork (all of them, or none)."""
    if not torch.cuda.is_available():
        return []
    name = "auto" if device is None else str(device)
    if torch.cuda.is_initialized() or name == "auto" or name.startswith("cuda"):
        # `torch.manual_seed` inside seeds every device, not just the run's
        return list(range(torch.cuda.device_count()))
    return []


def _queued_cuda_seeds() -> dict[str, Any] | None:
    """A copy of the seeds queued for CUDA's start, while CUDA is not started (private API)."""
    tracker = getattr(torch.cuda, "_lazy_seed_tracker", None)
    if tracker is None or torch.cuda.is_initialized():
        return None
    return copy.copy(vars(tracker)) | {"call_order": list(getattr(tracker, "call_order", []))}


def _restore_queued(queued: dict[str, Any] | None) -> None:
    """Put back the queued CUDA seeds of `_queued_cuda_seeds`, if CUDA did not start since."""
    tracker = getattr(torch.cuda, "_lazy_seed_tracker", None)
    if queued is not None and tracker is not None and not torch.cuda.is_initialized():
        vars(tracker).update(queued)
