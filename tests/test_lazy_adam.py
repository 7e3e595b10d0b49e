"""Lazy AdamW for sparse embedding gradients (`sparse_embedding`): the update and the clip."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from test_finetune_train import TinyBoE, toy_data
from vecgraft.errors import ConfigError
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.lazy_adam import LazyAdamW, clip_grad_norm
from vecgraft.finetune.train import Trainer


def _pair(weight_decay: float = 0.0) -> tuple[nn.Embedding, nn.Embedding, torch.optim.Optimizer,
                                             torch.optim.Optimizer]:
    torch.manual_seed(0)
    dense = nn.Embedding(6, 3)
    lazy = copy.deepcopy(dense)
    lazy.sparse = True
    return (dense, lazy,
            torch.optim.AdamW(dense.parameters(), lr=0.1, weight_decay=weight_decay),
            LazyAdamW(lazy.parameters(), lr=0.1, weight_decay=weight_decay))


def _step(emb: nn.Embedding, opt: torch.optim.Optimizer, ids: list[int]) -> None:
    opt.zero_grad()
    (emb(torch.tensor(ids)) ** 2).sum().backward()
    opt.step()


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_rows_used_at_every_step_get_adamw_s_update(weight_decay) -> None:
    dense, lazy, od, ol = _pair(weight_decay)
    for _ in range(5):
        _step(dense, od, [1, 2, 2, 4])
        _step(lazy, ol, [1, 2, 2, 4])
    rows = [1, 2, 4]
    torch.testing.assert_close(lazy.weight[rows], dense.weight[rows], rtol=0, atol=1e-6)
    # rows never used: AdamW's decoupled decay shrinks them, the lazy step leaves them alone
    start = _pair(weight_decay)[0].weight
    torch.testing.assert_close(lazy.weight[[0, 3, 5]], start[[0, 3, 5]])
    assert torch.equal(dense.weight[[0, 3, 5]], start[[0, 3, 5]]) == (weight_decay == 0.0)


def test_a_row_stays_put_between_its_batches() -> None:
    dense, lazy, od, ol = _pair()
    for emb, opt in ((dense, od), (lazy, ol)):
        _step(emb, opt, [1])
    before_dense, before_lazy = dense.weight[1].clone(), lazy.weight[1].clone()
    for emb, opt in ((dense, od), (lazy, ol)):
        _step(emb, opt, [2])  # row 1 not in this batch
    assert torch.equal(lazy.weight[1], before_lazy)  # lazy: untouched
    assert not torch.equal(dense.weight[1], before_dense)  # dense: its momentum moves it on


def test_clip_grad_norm_of_sparse_gradients_equals_torch_s_on_dense_ones() -> None:
    dense, lazy, _, _ = _pair()
    head_d, head_l = nn.Linear(3, 2), nn.Linear(3, 2)
    head_l.load_state_dict(head_d.state_dict())
    ids = torch.tensor([0, 3, 3, 5])
    head_d(dense(ids)).pow(2).sum().backward()
    head_l(lazy(ids)).pow(2).sum().backward()
    want = nn.utils.clip_grad_norm_([*dense.parameters(), *head_d.parameters()], 0.5)
    got = clip_grad_norm([*lazy.parameters(), *head_l.parameters()], 0.5)
    torch.testing.assert_close(got, want)
    assert lazy.weight.grad.is_sparse and lazy.weight.grad.is_coalesced()
    torch.testing.assert_close(lazy.weight.grad.to_dense(), dense.weight.grad)
    torch.testing.assert_close(head_l.weight.grad, head_d.weight.grad)


def test_trainer_with_sparse_embedding_learns_the_toy_task() -> None:
    torch.manual_seed(0)
    model = TinyBoE(40, 8, 3)
    cfg = FinetuneConfig(epochs=8, batch_size=16, lr=0.05, embedding_lr=0.05, patience=None,
                         sparse_embedding=True)
    trainer = Trainer(model, cfg, toy_data(), None, num_classes=3,
                      device=torch.device("cpu"), log=lambda _: None)
    assert isinstance(trainer.optimizer, LazyAdamW) and model.embedding.sparse
    before = model.embedding.weight.detach().clone()
    trainer.fit()
    assert trainer.state.history[-1]["train_accuracy"] > 0.9
    # ids 32-39 never occur in toy_data: their rows are exactly as initialised
    assert torch.equal(model.embedding.weight[32:], before[32:])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"optimizer": "sgd"}, "sparse_embedding needs optimizer='adamw'"),
        ({"model": "linear"}, "sparse_embedding is for models with a word embedding"),
    ],
)
def test_sparse_embedding_rejects_what_it_cannot_apply_to(overrides, message) -> None:
    with pytest.raises(ConfigError, match=message):
        FinetuneConfig(sparse_embedding=True, **overrides)


def test_sparse_embedding_is_on_by_default_where_lazy_adamw_applies() -> None:
    assert FinetuneConfig().sparse_embedding_on()
    assert FinetuneConfig(model="boe").sparse_embedding_on()
    # where it was not measured or cannot work, the default keeps the dense step
    assert not FinetuneConfig().sparse_embedding_on(distributed=True)
    assert not FinetuneConfig(compile=True).sparse_embedding_on()
    assert not FinetuneConfig(optimizer="sgd").sparse_embedding_on()
    assert not FinetuneConfig(model="linear").sparse_embedding_on()
    assert not FinetuneConfig(sparse_embedding=False).sparse_embedding_on()
    assert FinetuneConfig(sparse_embedding=True, compile=True).sparse_embedding_on()


def test_sparse_embedding_is_on_by_default_only_on_the_cpu_and_cuda() -> None:
    # Apple's MPS covers sparse tensors only in part: the default keeps the dense step there
    # (and on any other accelerator); asked for, it is taken as asked
    default = FinetuneConfig()
    assert [default.sparse_embedding_on(device=d) for d in ("cpu", "cuda", "mps", "xpu")] == [
        True, True, False, False,
    ]  # fmt: skip
    assert FinetuneConfig(sparse_embedding=True).sparse_embedding_on(device="mps")


def test_sparse_embedding_asked_under_nccl_is_refused_and_gloo_keeps_it() -> None:
    # NCCL cannot all-reduce sparse gradients: DDP on GPUs crashed at the first step
    asked = FinetuneConfig(sparse_embedding=True)
    with pytest.raises(ConfigError, match="sparse_embedding=True cannot train distributed on CUDA"):
        asked.sparse_embedding_on(distributed=True, device="cuda")
    assert asked.sparse_embedding_on(distributed=True)  # gloo on CPU sums them
    assert asked.sparse_embedding_on(device="cuda")  # one GPU
    assert not FinetuneConfig().sparse_embedding_on(distributed=True, device="cuda")


def test_trainer_defaults_to_lazy_adamw_and_false_keeps_the_dense_step() -> None:
    def optimizer(**overrides: object) -> tuple[torch.optim.Optimizer, bool]:
        model = TinyBoE(40, 8, 3)
        cfg = FinetuneConfig(epochs=1, batch_size=16, patience=None, **overrides)
        trainer = Trainer(model, cfg, toy_data(), None, num_classes=3,
                          device=torch.device("cpu"), log=lambda _: None)
        return trainer.optimizer, model.embedding.sparse

    lazy, sparse = optimizer()
    assert isinstance(lazy, LazyAdamW) and sparse
    dense, sparse = optimizer(sparse_embedding=False)
    assert type(dense) is torch.optim.AdamW and not sparse
