"""Turn a user's device option into a `torch.device`, with a clear error when it cannot run."""

from __future__ import annotations

import torch

from vecgraft.errors import ConfigError


def resolve_device(name: str | None = "auto", local_rank: int = 0) -> torch.device:
    """Device for `name`; "auto" (or None) is this rank's CUDA device when available, else CPU.

    An unknown name, or CUDA asked for on a machine without it, is a ConfigError instead of
    a failure deep inside the first tensor copy.
    """
    if name is None or name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"unknown device {name!r}: {exc}") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} requested but CUDA is not available")
    return device
