"""CUDA code paths checked on a CPU-only machine.

No GPU here: a "CUDA-saved" file is one whose tensors torch tags "cuda:0" when saving (what
`torch.save` writes for GPU tensors), and the process-group and device choices are checked
through what they pass to torch.
"""

from __future__ import annotations

import contextlib
import pickle

import pytest
import torch

from finetune_helpers import save_as_if_on_cuda
from vecgraft.finetune import distributed, run
from vecgraft.finetune.config import FinetuneConfig
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


def _callers_group(monkeypatch, backend: str) -> dict[str, list]:
    """A process group the caller initialised (`backend`), with the collectives recorded."""
    calls: dict[str, list] = {"new_group": [], "all_reduce": [], "destroy": []}
    monkeypatch.setattr(distributed.dist, "is_initialized", lambda: True)
    monkeypatch.setattr(distributed.dist, "get_backend", lambda group=None: backend)
    monkeypatch.setattr(distributed.dist, "get_rank", lambda group=None: 1)
    monkeypatch.setattr(distributed.dist, "get_world_size", lambda group=None: 2)

    def new_group(**kw):
        calls["new_group"].append(kw)
        return "gloo-group"

    def all_reduce(tensor, op=None, group=None, async_op=False):
        calls["all_reduce"].append((tensor.device.type, group))

    monkeypatch.setattr(distributed.dist, "new_group", new_group)
    monkeypatch.setattr(distributed.dist, "all_reduce", all_reduce)
    monkeypatch.setattr(distributed.dist, "destroy_process_group", calls["destroy"].append)
    monkeypatch.setattr(distributed.dist, "init_process_group", lambda **kw: 1 / 0)  # reused
    return calls


def test_a_callers_nccl_group_sums_cpu_tensors_on_a_gloo_group(monkeypatch):
    # their torchrun script ran `dist.init_process_group("nccl")` before `vecgraft.finetune`:
    # the metric sums are CPU tensors, which NCCL refuses ("No backend type associated with
    # device type cpu")
    calls = _callers_group(monkeypatch, "nccl")
    env = {"WORLD_SIZE": "2", "RANK": "1", "LOCAL_RANK": "1"}
    ctx = DistContext.from_env(torch.device("cuda", 1), env=env)
    assert (ctx.rank, ctx.world_size, ctx.local_rank, ctx.initialized_here) == (1, 2, 1, False)
    assert calls["new_group"] == [{"backend": "gloo"}]
    total = torch.tensor([1.0, 2.0], dtype=torch.float64)
    assert ctx.all_reduce_sum(total) is total
    assert calls["all_reduce"] == [("cpu", "gloo-group")]
    ctx.close()  # the caller's group stays; the one added for it goes
    assert calls["destroy"] == ["gloo-group"]


@pytest.mark.parametrize("backend", ["cpu:gloo,cuda:nccl", "gloo"])
def test_a_callers_group_with_a_cpu_backend_is_used_as_it_is(backend, monkeypatch):
    calls = _callers_group(monkeypatch, backend)
    ctx = DistContext.from_env(torch.device("cuda", 1), env={"WORLD_SIZE": "2", "RANK": "1"})
    ctx.all_reduce_sum(torch.zeros(2))
    ctx.close()
    assert calls == {"new_group": [], "all_reduce": [("cpu", None)], "destroy": []}


@pytest.mark.parametrize("asked", ["auto", "cuda"])
def test_each_torchrun_process_trains_on_its_local_rank_gpu(asked, monkeypatch):
    # "cuda" is torch's current GPU, cuda:0 in every process: two ranks on one GPU
    chosen: list[torch.device] = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "set_device", chosen.append)
    monkeypatch.setattr(DistContext, "from_env", classmethod(
        lambda cls, device=None, env=None: cls(rank=1, world_size=2, local_rank=1)
    ))  # fmt: skip
    device, dist = run._device_for(FinetuneConfig(device=asked))
    assert dist.local_rank == 1
    assert device == torch.device("cuda", 1)
    assert chosen == [torch.device("cuda", 1)]


class _FakeGpus:
    """torch.cuda's current-device state on a 2-GPU machine: set_device and `torch.cuda.device`."""

    def __init__(self, monkeypatch) -> None:
        self.current = 0
        self.set: list[torch.device] = []
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
        monkeypatch.setattr(torch.cuda, "current_device", lambda: self.current)
        monkeypatch.setattr(torch.cuda, "set_device", self.set_device)
        monkeypatch.setattr(torch.cuda, "device", self.device)

    def set_device(self, device: torch.device) -> None:
        self.set.append(device)
        self.current = torch.device(device).index

    @contextlib.contextmanager
    def device(self, device: torch.device):
        before, self.current = self.current, torch.device(device).index
        try:
            yield
        finally:
            self.current = before


def test_a_one_process_run_leaves_the_callers_current_gpu_as_it_was(monkeypatch, tmp_path):
    # a notebook on a 2-GPU box: after `finetune(device="cuda:1")` every later "cuda" tensor
    # (and `load_run(device="cuda")`) landed on cuda:1
    gpus = _FakeGpus(monkeypatch)
    during: list[int] = []

    def fake_run(config, vectors, device, dist, **_kw):
        during.append(torch.cuda.current_device())  # bf16 autocast asks the current GPU
        raise RuntimeError("stop")  # restored on a failed run too

    monkeypatch.setattr(run, "_run", fake_run)
    monkeypatch.setattr(run, "kept_rng", lambda device: contextlib.nullcontext())
    config = FinetuneConfig(device="cuda:1", out=str(tmp_path / "r"))
    with pytest.raises(RuntimeError, match="stop"):
        run.finetune(config, log=lambda _: None)
    assert (during, gpus.current, gpus.set) == ([1], 0, [])


def test_auto_is_the_gpu_of_torchruns_local_rank_wherever_it_is_resolved(monkeypatch):
    # `--vectors hf:FOLDER` resolves "auto" outside `_device_for`: every rank loaded the
    # transformer onto cuda:0
    from vecgraft._util.device import resolve_device
    from vecgraft.errors import ConfigError

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert resolve_device("auto") == torch.device("cuda", 0)
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert resolve_device("auto") == resolve_device(None) == torch.device("cuda", 1)
    assert resolve_device("auto", local_rank=0) == torch.device("cuda", 0)  # given: kept
    monkeypatch.setenv("LOCAL_RANK", "one")
    with pytest.raises(ConfigError, match="LOCAL_RANK='one'"):
        resolve_device("auto")


def test_a_fixed_gpu_is_kept_under_torchrun(monkeypatch):
    # a launcher that shows each process only its own GPU: cuda:0 is a different one in each
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "set_device", lambda _device: None)
    monkeypatch.setattr(DistContext, "from_env", classmethod(
        lambda cls, device=None, env=None: cls(rank=1, world_size=2, local_rank=1)
    ))  # fmt: skip
    device, _ = run._device_for(FinetuneConfig(device="cuda:0"))
    assert device == torch.device("cuda", 0)


def test_sparse_embedding_under_nccl_is_refused_before_the_data_is_read(monkeypatch, tmp_path):
    from vecgraft.errors import ConfigError

    ddp = DistContext(rank=0, world_size=2, local_rank=0)
    monkeypatch.setattr(run, "_device_for", lambda config: (torch.device("cuda", 0), ddp))
    missing = tmp_path / "train.csv"  # never read: the refusal comes first
    config = FinetuneConfig(train=str(missing), sparse_embedding=True, out=str(tmp_path / "r"))
    with pytest.raises(ConfigError, match="NCCL cannot all-reduce sparse gradients"):
        run.finetune(config, log=lambda _: None)


def test_the_cuda_tag_really_needs_map_location_here(tmp_path):
    # the premise of the tests below: such a file does not load on this machine unmapped
    if torch.cuda.is_available():
        pytest.skip("CUDA is available: a cuda:0 tag loads")
    save_as_if_on_cuda({"w": torch.ones(2)}, tmp_path / "w.pt")
    # RuntimeError; torch < 2.4 says it as an UnpicklingError
    with pytest.raises((RuntimeError, pickle.UnpicklingError), match="CUDA"):
        torch.load(tmp_path / "w.pt", weights_only=True)


def test_a_cuda_saved_pytorch_model_bin_loads_on_cpu(tmp_path):
    from vecgraft.io.hf_checkpoint import load_pickle_state_dict

    weight = torch.arange(6.0).view(3, 2)
    save_as_if_on_cuda({"embeddings.word_embeddings.weight": weight}, tmp_path / "m.bin")
    state = load_pickle_state_dict(tmp_path / "m.bin")
    assert state["embeddings.word_embeddings.weight"].device.type == "cpu"
    assert torch.equal(state["embeddings.word_embeddings.weight"], weight)


@pytest.mark.parametrize("cuda_rng", ["state", torch.zeros(16)])
def test_a_malformed_cuda_rng_state_is_refused_on_any_machine(tmp_path, cuda_rng):
    # only a CUDA resume reads it, where torch.cuda.set_rng_state would fail on it with a
    # bare TypeError or AttributeError: refused when the file is read, here as there
    from vecgraft.errors import CheckpointError
    from vecgraft.finetune.checkpoint import TRAINER_FILE, Checkpoint

    state = {"optimizer": {}, "scheduler": {}, "torch_rng": torch.get_rng_state()}
    torch.save(state, tmp_path / TRAINER_FILE)
    ckpt = Checkpoint(tmp_path, {}, None, [], None)  # only the path is read
    assert ckpt.trainer_state().keys() == state.keys()
    torch.save({**state, "cuda_rng": cuda_rng}, tmp_path / TRAINER_FILE)
    with pytest.raises(CheckpointError, match="optionally cuda_rng"):
        ckpt.trainer_state()


def test_the_environment_names_a_cuda_device_by_its_index(monkeypatch):
    # `--device cuda` was recorded as "cuda", though the docs (and a rerun on a machine
    # with several GPUs) need the one it was: "cuda:0"
    from vecgraft._util.runenv import environment

    monkeypatch.setattr(torch.cuda, "current_device", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda where: f"GPU {where}")
    env = environment("cuda")
    assert env["device"] == "cuda:1" and env["device_name"] == "GPU cuda:1"
    assert environment(torch.device("cuda", 0))["device"] == "cuda:0"  # as given
    assert environment("cpu")["device"] == "cpu" and "device_name" not in environment("cpu")
