"""Data-parallel training helpers: who am I (rank), the process group, reducing metrics.

`torchrun --nproc_per_node=N -m vecgraft finetune ...` sets RANK, WORLD_SIZE and LOCAL_RANK;
`DistContext.from_env()` reads them and joins the group: gloo on CPU; on CUDA, NCCL for CUDA
tensors (DDP's gradients) and gloo for CPU ones (the metric sums, objects, barriers). Without
them everything degrades to a single process with no-op reductions. A group the caller made
before (`dist.init_process_group("nccl")` in their own torchrun script) is reused; where it
has no CPU backend, a gloo group is added for the CPU tensors.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from vecgraft.errors import ConfigError

_NO_CPU = ("nccl", "xccl")  # collective backends with no CPU implementation


def _has_cpu_backend(backend: str) -> bool:
    """Whether a group of `backend` ("nccl", "gloo", "cpu:gloo,cuda:nccl") takes CPU tensors."""
    if ":" in backend:
        return any(pair.split(":")[0].strip() == "cpu" for pair in backend.split(","))
    return backend not in _NO_CPU


@dataclass(frozen=True)
class DistContext:
    """A process's place in a (possibly 1-process) data-parallel job.

    Attributes:
        rank: global rank (0 writes files and prints).
        world_size: number of processes.
        local_rank: rank on this machine (selects the CUDA device).
        initialized_here: whether `from_env` created the process group (so it tears it down).
        cpu_group: a gloo group for CPU tensors, made where the caller's group has no CPU
            backend (NCCL alone); None sums them on the default group.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    initialized_here: bool = False
    cpu_group: Any = field(default=None, compare=False, repr=False)

    @property
    def is_main(self) -> bool:
        """Whether this process writes files and prints."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        """Whether more than one process takes part."""
        return self.world_size > 1

    @classmethod
    def from_env(
        cls, device: torch.device | None = None, env: Mapping[str, str] | None = None
    ) -> DistContext:
        """Read RANK/WORLD_SIZE/LOCAL_RANK and init the process group when WORLD_SIZE > 1."""
        env = os.environ if env is None else env
        try:
            world = int(env.get("WORLD_SIZE", "1"))
            rank = int(env.get("RANK", "0"))
            local = int(env.get("LOCAL_RANK", str(rank)))
        except ValueError as exc:
            raise ConfigError(f"bad distributed environment variable: {exc}") from exc
        if world <= 1:
            return cls()
        if dist.is_initialized():
            # the caller's group: NCCL alone fails on the CPU metric sums, as below; `new_group`
            # is collective, and every rank reaches it here, in the same order
            cpu = None
            if not _has_cpu_backend(str(dist.get_backend())):
                cpu = dist.new_group(backend="gloo")
            return cls(dist.get_rank(), dist.get_world_size(), local, False, cpu)
        # Why both on CUDA: the metric sums (`all_reduce_sum`) are CPU tensors, and NCCL alone
        # fails on them ("No backend type associated with device type cpu")
        cuda = device is not None and device.type == "cuda"
        backend = "cpu:gloo,cuda:nccl" if cuda else "gloo"
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
        return cls(rank, world, local, True)

    def close(self) -> None:
        """Leave the process group if this context created it (or the gloo group it added)."""
        if not dist.is_initialized():
            return
        if self.initialized_here:
            dist.destroy_process_group()
        elif self.cpu_group is not None:
            dist.destroy_process_group(self.cpu_group)

    def all_reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum `tensor` over all ranks in place (no-op on one process); returns it.

        A CPU tensor is summed by gloo even where training runs on CUDA (`from_env`).
        """
        if self.enabled:
            group = self.cpu_group if tensor.device.type == "cpu" else None
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM, group=group)
        return tensor

    def broadcast_object(self, obj: object) -> object:
        """Rank 0's `obj` on every rank (e.g. an early-stopping decision)."""
        if not self.enabled:
            return obj
        holder = [obj]
        dist.broadcast_object_list(holder, src=0)
        return holder[0]

    def all_gather_object(self, obj: object) -> list[object]:
        """Every rank's `obj`, in rank order (`[obj]` on one process)."""
        if not self.enabled:
            return [obj]
        holder: list[object] = [None] * self.world_size
        dist.all_gather_object(holder, obj)
        return holder

    def training_seed(self, seed: int, epoch: int, step: int) -> int:
        """A seed for this rank's random draws from (`epoch`, `step`) of a run seeded `seed`.

        Every rank builds the model from `seed` itself, so the initial weights are equal; the
        draws during training (dropout masks) must not be, or the ranks' shares of a global
        batch are all dropped out alike. Mixed from the counters, not drawn, so a run resumed
        at an epoch boundary continues with the seeds it would have used.
        """
        key = f"{seed}:{self.rank}:{epoch}:{step}".encode()
        return int.from_bytes(hashlib.blake2b(key, digest_size=7).digest(), "little")

    def barrier(self) -> None:
        """Wait for every rank (no-op on one process)."""
        if self.enabled:
            dist.barrier()


def accumulating(module: nn.Module) -> contextlib.AbstractContextManager[Any]:
    """DDP's `no_sync()` for a piece of a batch whose gradients only add up; else a no-op.

    `module` is the trainer's wrapped model: DDP, or `torch.compile` of DDP, whose DDP is its
    `_orig_mod` (the compiled wrapper is no DistributedDataParallel: with only the outer
    module looked at, `--compile` runs all-reduced every piece of a `grad_accum` batch).
    """
    inner = getattr(module, "_orig_mod", module)
    if isinstance(inner, nn.parallel.DistributedDataParallel):
        return inner.no_sync()
    return contextlib.nullcontext()
