"""`torchrun --nproc_per_node=2 -m vecgraft finetune` (gloo, CPU) matches one process.

Comparable because both see the same global batches (each rank takes its share of every
global batch; with batch size 7 the shares are uneven, 4 + 3), the loss is normalised by the
global batch size, DDP averages gradients, and the model has no dropout: the only difference
left is float summation order.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from finetune_helpers import make_dataset
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.run import finetune

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.mark.slow
def test_two_process_gloo_matches_single_process(tmp_path):
    data = make_dataset(tmp_path, train_per_class=20, test_per_class=5)
    common = dict(
        train=str(data["train"]),
        test=str(data["test"]),
        vectors=str(data["vectors"]),
        model="boe",
        epochs=2,
        batch_size=7,
        lr=0.05,
        lower=True,
        patience=None,
        freeze_epochs=1,
        progress=False,
        device="cpu",
        plots=False,
        # the default turns lazy AdamW off under DDP; the reference must take the same step
        sparse_embedding=False,
        # float32 on both sides: bf16 rounding (the default on AMX CPUs) depends on how a
        # batch is split across processes, so the parity would hold only to ~1e-4
        bf16=False,
    )
    single = finetune(FinetuneConfig(out=str(tmp_path / "single"), **common), log=lambda _: None)

    cfg_file = tmp_path / "ddp.json"
    cfg_file.write_text(json.dumps({**common, "out": str(tmp_path / "ddp")}))
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "OMP_NUM_THREADS": "1",
        "OMP_WAIT_POLICY": "PASSIVE",
    }
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        # --standalone: the rendezvous binds a free port itself (a port picked beforehand
        # could be taken by another process before torchrun binds it)
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "vecgraft",
        "finetune",
        "--config",
        str(cfg_file),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # only rank 0 prints the epoch lines
    assert proc.stdout.count("Epoch [1/2]") == 1

    metrics = json.loads((tmp_path / "ddp" / "metrics.json").read_text())
    assert metrics["world_size"] == 2
    assert metrics["sizes"] == single.metrics["sizes"]
    for a, b in zip(metrics_history(tmp_path / "ddp"), single.history):
        assert a["train_loss"] == pytest.approx(b["train_loss"], abs=1e-5)
        assert a["train_accuracy"] == pytest.approx(b["train_accuracy"])
    w_ddp = load_file(str(tmp_path / "ddp" / "last" / "model.safetensors"))
    w_one = load_file(str(tmp_path / "single" / "last" / "model.safetensors"))
    assert w_ddp.keys() == w_one.keys()
    for key in w_one:
        torch.testing.assert_close(w_ddp[key], w_one[key], atol=1e-5, rtol=1e-4)
    # the embedding was fine-tuned in epoch 2, so the comparison covers the unfrozen phase
    assert metrics["test"]["accuracy"] == pytest.approx(single.metrics["test"]["accuracy"])


def metrics_history(run: Path) -> list[dict]:
    return json.loads((run / "history.json").read_text())


# Run under torchrun by the test below: records, in each rank, the weights the model first
# computes with and the RNG state its first dropout draws from, then saves them.
_PROBE = '''
import json, os, sys
import torch
from torch import nn
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.run import finetune

seen = {}

def probe(module, args):
    if isinstance(module, nn.Dropout) and module.training and "rng" not in seen:
        seen["rng"] = torch.get_rng_state()
    if hasattr(module, "embedding") and "weights" not in seen:
        seen["weights"] = {k: v.detach().clone() for k, v in module.state_dict().items()}

nn.modules.module.register_module_forward_pre_hook(probe)
finetune(FinetuneConfig(**json.loads(open(sys.argv[1]).read())), log=lambda _: None)
torch.save(seen, os.path.join(sys.argv[2], f"rank{os.environ['RANK']}.pt"))
'''


@pytest.mark.slow
def test_ranks_start_equal_but_draw_their_own_dropout_masks(tmp_path):
    """Same initial weights on every rank, but each rank's batch share gets its own masks.

    Had every rank drawn from the same RNG stream, the two shares of a global batch would be
    dropped out identically: half the point of the batch's second half lost.
    """
    data = make_dataset(tmp_path, train_per_class=20, test_per_class=5)
    cfg = dict(
        train=str(data["train"]), test=str(data["test"]), vectors=str(data["vectors"]),
        model="boe", model_options={"dropout": 0.5}, epochs=1, batch_size=8, lower=True,
        progress=False, device="cpu", plots=False, out=str(tmp_path / "ddp"),
    )  # fmt: skip
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    (tmp_path / "probe.py").write_text(_PROBE)
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1",
           "OMP_WAIT_POLICY": "PASSIVE"}  # fmt: skip
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(tmp_path / "probe.py"), str(tmp_path / "cfg.json"), str(tmp_path)]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1)]
    for key, value in ranks[0]["weights"].items():
        torch.testing.assert_close(ranks[1]["weights"][key], value, rtol=0, atol=0)
    masks = []
    for seen in ranks:  # the mask each rank's first dropout draws for 256 activations
        torch.set_rng_state(seen["rng"])
        masks.append(torch.nn.functional.dropout(torch.ones(256), 0.5, training=True) > 0)
    assert not torch.equal(masks[0], masks[1])


@pytest.fixture
def one_process_group(tmp_path):
    """A gloo process group of this process alone: real DDP objects without torchrun."""
    import torch.distributed as dist

    store = dist.FileStore(str(tmp_path / "store"), 1)
    dist.init_process_group("gloo", store=store, rank=0, world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()


def test_grad_accum_pieces_skip_the_all_reduce_under_compile_too(one_process_group):
    # torch.compile wraps DDP in a module that is no DistributedDataParallel: a --compile
    # run with grad_accum K all-reduced every piece, K times the communication
    from vecgraft.finetune.distributed import accumulating

    ddp = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(3, 2))
    for wrapped in (ddp, torch.compile(ddp, dynamic=True)):  # compiled lazily: nothing runs
        with accumulating(wrapped):
            assert ddp.require_backward_grad_sync is False
        assert ddp.require_backward_grad_sync is True
    with accumulating(torch.nn.Linear(3, 2)):  # one process: nothing to skip
        pass


def test_fasttext_bigrams_take_part_in_a_batch_of_one_word_texts(one_process_group):
    # a batch with no bigram left the bigram table out of the graph: DDP (which does not
    # search for unused parameters) then failed at the next step
    from vecgraft.nn.models import build_model

    torch.manual_seed(0)
    model = build_model("fasttext", torch.nn.Embedding(10, 4, padding_idx=0), 3, buckets=16)
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    for ids, lengths in [([[3], [5]], [1, 1]), ([[3, 4], [5, 0]], [2, 1])]:
        ddp(torch.tensor(ids), torch.tensor(lengths)).sum().backward()
    model.zero_grad(set_to_none=True)
    model(torch.tensor([[3], [5]]), torch.tensor([1, 1])).sum().backward()
    assert model.bigrams.weight.grad is not None and not model.bigrams.weight.grad.any()
