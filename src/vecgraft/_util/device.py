"""Turn a user's device option into a `torch.device`, with a clear error when it cannot run."""

from __future__ import annotations

import os

import torch

from vecgraft.errors import ConfigError

# what a bad name is told: torch's own error lists some 20 device types (opengl, fpga, ve,
# ...), most of which no vecgraft command runs on
ACCEPTED = (
    "expected auto, cpu, cuda, cuda:N (the GPU numbered N), mps (Apple) or another device "
    "this PyTorch build has, such as xpu or xpu:N"
)


def resolve_device(
    name: str | torch.device | None = "auto", local_rank: int | None = None
) -> torch.device:
    """Device for `name`; "auto" (or None) is this rank's CUDA device when available, else CPU.

    This rank is `local_rank`, by default the LOCAL_RANK torchrun sets (0 without it): every
    process of a torchrun job would otherwise load onto cuda:0 (`--vectors hf:FOLDER`).
    An unknown name, or CUDA asked for on a machine without it, is a ConfigError instead of
    a failure deep inside the first tensor copy.
    """
    if isinstance(name, torch.device):
        name = str(name)
    if name is None or name == "auto":
        if torch.cuda.is_available():
            rank = _env_local_rank() if local_rank is None else local_rank
            return torch.device("cuda", rank % torch.cuda.device_count())
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"unknown device {name!r}; {ACCEPTED}") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} requested but CUDA is not available")
    if device.type == "cuda" and device.index is not None:
        count = torch.cuda.device_count()
        if device.index >= count:
            raise ConfigError(
                f"device {name!r} requested but this machine has {count} CUDA device(s): "
                f"cuda:0 to cuda:{count - 1}"
            )
    also = " or cuda" if torch.cuda.is_available() else ""
    if device.type == "meta":  # every build has it; it was refused as "no meta backend"
        raise ConfigError(
            f"device {name!r} holds tensor shapes, not values: nothing computed there (an "
            f"embedding matrix, scores, trained weights) can be read back; use cpu{also}"
        )
    if device.type not in ("cpu", "cuda") and not _backend_available(device.type):
        raise ConfigError(
            f"device {name!r} requested but this PyTorch build or machine has no "
            f"{device.type} backend; use cpu{also}"
        )
    return device


def _env_local_rank() -> int:
    """LOCAL_RANK from the environment (torchrun's rank on this machine), else 0."""
    value = os.environ.get("LOCAL_RANK", "0")
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"bad distributed environment variable: LOCAL_RANK={value!r}") from exc


def _backend_available(kind: str) -> bool:
    """Whether torch can place tensors on device type `kind` (mps, xpu, ...) here.

    Why: torch.device("mps") is valid anywhere, and only the first tensor copy fails, with
    "PyTorch is not linked with support for mps devices" deep inside the trainer.
    """
    if kind == "mps":
        return bool(torch.backends.mps.is_available())
    module = getattr(torch, kind, None)
    is_available = getattr(module, "is_available", None)
    return bool(is_available()) if callable(is_available) else False


def has_float64(device: torch.device) -> bool:
    """Whether `device` holds float64 tensors: every one but Apple's MPS, which refuses them.

    Why: float64 sums and fits that run on the training device elsewhere must go to the CPU
    or to float32 there (a float64 tensor on MPS fails at its creation).
    """
    return device.type != "mps"


def cuda_native_bf16(device: torch.device) -> bool:
    """Whether CUDA `device` multiplies bf16 natively: compute capability 8 (Ampere) or newer.

    Why not `torch.cuda.is_bf16_supported()`: since torch 2.4 it also counts GPUs that only
    emulate bf16 (T4, V100), where bf16 autocast is slower than float32 and some kernels have
    no bf16 path; and it asks about the current GPU, not `device`. Every ROCm GPU torch
    supports has bf16.
    """
    if torch.version.hip is not None:
        return True
    return torch.cuda.get_device_capability(device)[0] >= 8
