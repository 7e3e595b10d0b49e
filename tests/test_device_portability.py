"""CUDA code paths checked on a CPU-only machine.

No GPU here: a "CUDA-saved" file is one whose tensors torch tags "cuda:0" when saving (what
`torch.save` writes for GPU tensors), and the process-group and device choices are checked
through what they pass to torch.
"""

from __future__ import annotations

import torch

from vecgraft.finetune import distributed
from vecgraft.finetune.distributed import DistContext


def test_nccl_runs_share_the_group_with_gloo_for_cpu_tensors(monkeypatch):
    # the metric sums (`all_reduce_sum`: epoch loss, confusion counts) are CPU tensors; an
    # NCCL-only group fails on them with "No backend type associated with device type cpu"
    calls: list[dict] = []
    monkeypatch.setattr(distributed.dist, "is_initialized", lambda: False)
    monkeypatch.setattr(distributed.dist, "init_process_group", lambda **kw: calls.append(kw))
    env = {"WORLD_SIZE": "2", "RANK": "1", "LOCAL_RANK": "1"}
    ctx = DistContext.from_env(torch.device("cuda", 1), env=env)
    assert (ctx.rank, ctx.world_size, ctx.local_rank) == (1, 2, 1)
    backends = dict(pair.split(":") for pair in calls[0]["backend"].split(","))
    assert backends == {"cpu": "gloo", "cuda": "nccl"}
    DistContext.from_env(torch.device("cpu"), env=env)
    assert calls[1]["backend"] == "gloo"
