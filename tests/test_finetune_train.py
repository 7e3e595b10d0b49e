"""Unit tests of the training loop pieces: schedule, bucketing, checkpoints, metrics."""

from __future__ import annotations

import random
from contextlib import nullcontext
from typing import Any

import pytest
import torch
from torch import nn

from vecgraft.errors import CheckpointError, ConfigError
from vecgraft.finetune.batching import BucketBatchSampler, EncodedData, pad_batch
from vecgraft.finetune.checkpoint import atomic_directory, resolve_checkpoint
from vecgraft.finetune.config import FinetuneConfig, Metric, ScheduleKind
from vecgraft.finetune.train import EvalResult, Trainer, batch_losses, lr_factor


class TinyBoE(nn.Module):
    """A stand-in classifier with the interface the trainer needs."""

    def __init__(self, vocab_size: int, dim: int, classes: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.fc = nn.Linear(dim, classes)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.fc(self.embedding(ids).sum(1) / lengths.unsqueeze(1))


def toy_data(n: int = 120, seed: int = 0) -> EncodedData:
    rng = random.Random(seed)
    ids, labels = [], []
    for i in range(n):
        c = i % 3
        ids.append([rng.randrange(2 + 10 * c, 12 + 10 * c) for _ in range(rng.randrange(2, 30))])
        labels.append(c)
    return EncodedData(ids, labels, pad_index=0)


def shifted_valid(n: int = 30) -> EncodedData:
    """Validation labels shifted by one class: the better the model fits the training data,
    the worse it scores, so the first epoch stays the best."""
    valid = toy_data(n, seed=1)
    valid.labels = [(y + 1) % 3 for y in valid.labels]
    return valid


def test_lr_factor_warmup_then_linear_and_cosine_decay():
    assert [lr_factor(s, 10, 2, ScheduleKind.linear) for s in (0, 1)] == [0.5, 1.0]
    assert lr_factor(2, 10, 2, ScheduleKind.linear) == 1.0
    assert lr_factor(6, 10, 2, ScheduleKind.linear) == pytest.approx(0.5)
    assert lr_factor(10, 10, 2, ScheduleKind.linear) == 0.0
    assert lr_factor(6, 10, 2, ScheduleKind.cosine) == pytest.approx(0.5)
    assert lr_factor(4, 10, 2, ScheduleKind.cosine) == pytest.approx(0.5 * (1 + 0.5**0.5))
    assert lr_factor(9, 10, 0, ScheduleKind.constant) == 1.0


def test_bucketing_is_seeded_covers_everything_and_reduces_padding():
    lengths = [random.Random(i).randrange(1, 200) for i in range(1000)]
    plain = BucketBatchSampler(lengths, 32, bucket=False, seed=3)
    bucketed = BucketBatchSampler(lengths, 32, bucket=True, bucket_factor=20, seed=3)
    for sampler in (plain, bucketed):
        flat = sorted(i for b in sampler.global_batches() for i in b)
        assert flat == list(range(1000))
    assert (
        bucketed.global_batches()
        == BucketBatchSampler(lengths, 32, seed=3, bucket_factor=20).global_batches()
    )
    first = bucketed.global_batches()
    bucketed.set_epoch(1)
    assert bucketed.global_batches() != first

    def padding(sampler: BucketBatchSampler) -> int:
        return sum(
            len(b) * max(lengths[i] for i in b) - sum(lengths[i] for i in b) for b in sampler
        )

    assert padding(bucketed) < padding(plain) / 5


def test_ranks_split_each_global_batch():
    lengths = list(range(1, 102))
    full = BucketBatchSampler(lengths, 8, seed=1)
    ranks = [BucketBatchSampler(lengths, 8, seed=1, rank=r, world_size=2) for r in (0, 1)]
    per_rank = [list(s) for s in ranks]
    batches = full.global_batches()
    # a final global batch of 5 still gives both ranks an example
    assert len(per_rank[0]) == len(per_rank[1]) == len(batches)
    for g, a, b in zip(batches, *per_rank):
        assert sorted(a + b) == sorted(g)


def test_pad_batch_right_pads_and_keeps_lengths():
    ids, lengths = pad_batch([[5, 6, 7], [8], []], pad_index=0)
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0], [0, 0, 0]]
    assert lengths.tolist() == [3, 1, 0]  # an empty document has length 0, as in Vocab.encode


def test_eval_result_metrics_from_confusion():
    r = EvalResult(0.5, torch.tensor([[3, 1], [0, 4]]))
    assert r.accuracy == pytest.approx(7 / 8)
    f1_a, f1_b = 2 * 3 / (4 + 3), 2 * 4 / (4 + 5)
    assert r.macro_f1 == pytest.approx((f1_a + f1_b) / 2)
    y_true, y_pred = r.pairs()
    assert sorted(zip(y_true, y_pred)) == [(0, 0)] * 3 + [(0, 1)] + [(1, 1)] * 4


def test_label_smoothing_spreads_a_share_of_each_target_over_every_class():
    logits, labels = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]]), torch.tensor([0, 2])
    logp = torch.log_softmax(logits, dim=1)
    plain = batch_losses(logits, labels, regression=False)
    torch.testing.assert_close(plain, -logp[[0, 1], [0, 2]])
    eps = 0.1  # target: 1 - eps + eps/3 on the label, eps/3 on each other class
    smooth = batch_losses(logits, labels, regression=False, label_smoothing=eps)
    torch.testing.assert_close(smooth, (1 - eps) * plain - eps * logp.mean(dim=1))
    values = batch_losses(torch.tensor([[1.5], [0.0]]), torch.tensor([1.0, 2.0]), regression=True)
    torch.testing.assert_close(values, torch.tensor([0.25, 4.0]))


@pytest.mark.parametrize(
    ("settings", "message"),
    [({"label_smoothing": 1.0}, "from 0 to below 1"), ({"label_smoothing": -0.1}, "from 0"),
     ({"label_smoothing": 0.1, "task": "regression"}, "a regression has none")],
)
def test_bad_label_smoothing_is_refused(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        FinetuneConfig(train="t.csv", **settings)


def test_trainer_learns_freezes_then_unfreezes_embedding():
    torch.manual_seed(0)
    model = TinyBoE(40, 8, 3)
    before = model.embedding.weight.detach().clone()
    seen: list[bool] = []
    cfg = FinetuneConfig(epochs=4, batch_size=16, lr=0.05, freeze_epochs=2, patience=None,
                         embedding_lr=None)  # None: lr / 10
    trainer = Trainer(
        model,
        cfg,
        toy_data(),
        toy_data(30, seed=1),
        num_classes=3,
        device=torch.device("cpu"),
        log=lambda _: None,
        on_step=lambda _s: seen.append(model.embedding.weight.requires_grad),
    )
    state = trainer.fit()
    steps = trainer.steps_per_epoch
    assert seen == [False] * 2 * steps + [True] * 2 * steps
    assert state.global_step == 4 * steps
    assert state.history[-1]["train_accuracy"] > 0.9
    assert [g["lr"] for g in trainer.optimizer.param_groups][1] == pytest.approx(
        trainer.optimizer.param_groups[0]["lr"] / 10
    )
    assert not torch.equal(before, model.embedding.weight)


def test_embedding_untouched_while_frozen():
    torch.manual_seed(0)
    model = TinyBoE(40, 8, 3)
    before = model.embedding.weight.detach().clone()
    cfg = FinetuneConfig(epochs=2, batch_size=16, freeze_epochs=2, patience=None)
    Trainer(
        model, cfg, toy_data(), None, num_classes=3, device=torch.device("cpu"), log=lambda _: None
    ).fit()
    assert torch.equal(before, model.embedding.weight)


def _fit_on_shifted_valid(**overrides) -> tuple[Any, list[str]]:
    """Train 6 epochs against the anti-correlated validation set; (state, log lines)."""
    torch.manual_seed(0)
    lines: list[str] = []
    cfg = FinetuneConfig(epochs=6, batch_size=16, lr=0.1, patience=2, freeze_epochs=0,
                         **overrides)  # fmt: skip
    state = Trainer(
        TinyBoE(40, 8, 3), cfg, toy_data(), shifted_valid(), num_classes=3,
        device=torch.device("cpu"), log=lines.append,
    ).fit()  # fmt: skip
    # with selection on, this set stops the run at epoch 3 keeping epoch 1 (next test)
    assert not state.stopped_early
    assert (state.best_epoch, state.epoch) == (6, 6)  # the last epoch is kept
    return state, lines


def test_a_validation_split_below_min_valid_neither_stops_nor_picks_the_epoch():
    _, lines = _fit_on_shifted_valid(min_valid=31)  # one row short
    assert lines[0].startswith("The validation split has 30 rows (< min_valid 31)")
    assert all(" * [" in line for line in lines if line.startswith("Epoch"))


def test_an_epochs_validation_computes_macro_f1_once(monkeypatch):
    """scikit-learn's F1 (~10 ms) ran three times an epoch: the row, the line, `metric()`."""
    import vecgraft.finetune.metrics as metrics

    calls: list[int] = []
    real = metrics.macro_f1_from_cells

    def counted(*args: Any) -> float:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(metrics, "macro_f1_from_cells", counted)
    state, _ = _fit_on_shifted_valid(min_valid=31)
    assert len(calls) == len(state.history) == 6
    result = EvalResult(0.5, torch.tensor([[3, 1], [0, 4]]))
    assert result.metric(Metric.accuracy) == 7 / 8 and len(calls) == 6  # no F1 for accuracy


def test_eval_result_metric_reads_a_metric_name_as_the_enum():
    # Metric is a StrEnum: "accuracy" is not Metric.accuracy, and macro F1 came back
    result = EvalResult(0.5, torch.tensor([[3, 1], [0, 4]]))
    assert [result.metric(name) for name in ("accuracy", "ACCURACY", "loss")] == [7 / 8, 7 / 8, 0.5]
    assert result.metric("macro_f1") == result.macro_f1 != 7 / 8
    with pytest.raises(ConfigError, match=r"metric must be one of accuracy, macro_f1, loss; "
                       r"got 'f1'"):  # fmt: skip
        result.metric("f1")


def test_restore_best_off_keeps_the_last_epoch_and_still_scores_validation():
    state, lines = _fit_on_shifted_valid(min_valid=30, restore_best=False)
    assert len(lines) == 6 and all("Valid Accuracy: " in line for line in lines)
    assert state.history[0]["valid_accuracy"] > state.history[-1]["valid_accuracy"]


def test_early_stopping_after_patience():
    torch.manual_seed(0)
    model = TinyBoE(40, 8, 3)
    lines: list[str] = []
    cfg = FinetuneConfig(
        epochs=30, batch_size=16, lr=0.1, patience=2, freeze_epochs=0, min_valid=30, warmup=0
    )
    # the first epoch stays best and patience ends the run at epoch 3
    valid = shifted_valid()
    state = Trainer(
        model,
        cfg,
        toy_data(),
        valid,
        num_classes=3,
        device=torch.device("cpu"),
        log=lines.append,
    ).fit()
    assert state.stopped_early
    assert (state.best_epoch, state.epoch) == (1, 3)
    assert " * [" in lines[0] and " * [" not in lines[1]  # the best epoch is starred
    assert lines[0].startswith("Epoch [1/30], Loss: ")
    assert "Accuracy: " in lines[0] and "Valid Accuracy: " in lines[0]
    assert lines[-1].startswith("Early stopping")


def test_patience_counts_only_epochs_after_the_warm_up():
    # a run whose validation never improves stopped at epoch 3 while its learning rate was
    # still warming up (a random embedding on 540 rows kept its untrained epoch 1)
    data = toy_data()
    steps = 8  # optimizer steps per epoch: 120 rows, batch 16
    stops = {}
    for warmup in (0, 5 * steps):
        torch.manual_seed(0)
        cfg = FinetuneConfig(epochs=30, batch_size=16, lr=0.1, patience=2, freeze_epochs=0,
                             min_valid=30, warmup=warmup)  # fmt: skip
        said: list[str] = []
        trainer = Trainer(TinyBoE(40, 8, 3), cfg, data, shifted_valid(), num_classes=3,
                          device=torch.device("cpu"), log=said.append)  # fmt: skip
        state = trainer.fit()
        assert state.stopped_early and state.best_epoch == 1
        stops[warmup] = (state.epoch, said[-1])
    # epochs 1-5 warm up; epochs 5 and 6 are the first two that end after it; the message
    # says why 5 epochs passed without improvement where patience is 2
    assert stops == {
        0: (3, "Early stopping: no accuracy improvement for 2 epochs"),
        5 * steps: (6, "Early stopping: no accuracy improvement for 2 epochs after the warm-up "
                       "(40 steps), 5 since the best, epoch 1"),
    }


def test_a_warm_up_as_long_as_the_run_says_there_is_no_early_stopping():
    said: list[str] = []
    cfg = FinetuneConfig(epochs=3, batch_size=16, lr=0.1, patience=2, freeze_epochs=0,
                         min_valid=30, warmup=24)  # fmt: skip
    state = Trainer(TinyBoE(40, 8, 3), cfg, toy_data(), shifted_valid(), num_classes=3,
                    device=torch.device("cpu"), log=said.append).fit()  # fmt: skip
    assert ("The warm-up (24 steps) spans the whole run (24 steps): no early stopping (a "
            "smaller --warmup to allow it)") in said  # fmt: skip
    assert state.epoch == 3 and not state.stopped_early


def test_trainer_rejects_model_without_embedding():
    with pytest.raises(ConfigError, match=r"model\.embedding"):
        Trainer(
            nn.Linear(2, 2),
            FinetuneConfig(),
            toy_data(),
            None,
            num_classes=3,
            device=torch.device("cpu"),
        )


def test_atomic_directory_keeps_old_on_failure(tmp_path):
    target = tmp_path / "ckpt"
    with atomic_directory(target) as tmp:
        (tmp / "a.txt").write_text("one")
    with pytest.raises(RuntimeError), atomic_directory(target) as tmp:
        (tmp / "a.txt").write_text("two")
        raise RuntimeError("crash while writing")
    assert (target / "a.txt").read_text() == "one"
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]
    # a crash between the two renames leaves `.ckpt.old`, which is still found
    target.rename(tmp_path / ".ckpt.old")
    assert resolve_checkpoint(target) == tmp_path / ".ckpt.old"
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        resolve_checkpoint(tmp_path / "nothing")


def test_bf16_autocast_on_cpu_when_asked():
    torch.manual_seed(0)
    model = TinyBoE(40, 8, 3)
    cfg = FinetuneConfig(
        epochs=3, batch_size=16, lr=0.05, freeze_epochs=0, patience=None, bf16=True
    )
    trainer = Trainer(
        model, cfg, toy_data(), None, num_classes=3, device=torch.device("cpu"), log=lambda _: None
    )
    assert trainer.bf16
    state = trainer.fit()
    assert state.history[-1]["train_accuracy"] > 0.8
    assert model.fc.weight.dtype == torch.float32  # autocast, not a cast of the weights


@pytest.mark.parametrize("amx", [False, True])
def test_bf16_by_default_only_on_a_cpu_with_amx_and_never_for_hf(monkeypatch, amx):
    from vecgraft.finetune import state

    monkeypatch.setattr(state, "cpu_amx_bf16", lambda: amx)
    cpu = torch.device("cpu")
    assert state.use_bf16(FinetuneConfig(), cpu) is amx
    assert state.use_bf16(FinetuneConfig(model="hf", hf_model="m"), cpu) is False
    assert state.use_bf16(FinetuneConfig(bf16=False), cpu) is False  # asked: always honoured
    assert state.use_bf16(FinetuneConfig(model="hf", hf_model="m", bf16=True), cpu) is True
    default = Trainer(
        TinyBoE(40, 8, 3), FinetuneConfig(), toy_data(), None, num_classes=3, device=cpu
    )
    assert default.bf16 is amx


@pytest.mark.parametrize(("major", "hip", "native"), [(7, None, False), (8, None, True),
                                                       (9, None, True), (7, "6.2", True)])
def test_bf16_by_default_only_on_gpus_that_multiply_it_natively(monkeypatch, major, hip, native):
    # torch.cuda.is_bf16_supported() counts emulation since torch 2.4: a T4 (7.5) or V100
    # (7.0) got bf16 autocast by default, slower than float32; and it asked the current GPU
    from vecgraft.finetune import state

    asked: list[object] = []

    def capability(device=None):
        asked.append(device)
        return (major, 5)

    monkeypatch.setattr(torch.cuda, "get_device_capability", capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    monkeypatch.setattr(torch.version, "hip", hip)
    monkeypatch.setattr(state, "_cuda_bf16_emulated", lambda device: True)
    gpu = torch.device("cuda", 1)
    assert state.use_bf16(FinetuneConfig(), gpu) is native
    assert asked in ([gpu], [])  # the run's GPU (ROCm: not asked)
    assert state.use_bf16(FinetuneConfig(bf16=True), gpu) is True  # asked: emulated is allowed
    assert state.use_bf16(FinetuneConfig(bf16=False), gpu) is False


def test_bf16_asked_of_a_gpu_without_it_is_refused(monkeypatch):
    from vecgraft.finetune import state

    entered: list[object] = []
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (6, 1))
    monkeypatch.setattr(torch.version, "hip", None)
    monkeypatch.setattr(torch.cuda, "device", lambda d: entered.append(d) or nullcontext())
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    with pytest.raises(ConfigError, match="--bf16 requested but cuda:1 does not support"):
        state.use_bf16(FinetuneConfig(bf16=True), torch.device("cuda", 1))
    assert entered == [torch.device("cuda", 1)]  # asked of the run's GPU, not the current one
    assert state.use_bf16(FinetuneConfig(), torch.device("cuda", 1)) is False


def test_cpu_amx_bf16_reads_torchs_capability_table(monkeypatch):
    from vecgraft.finetune import state

    # raising=False: torch < 2.3 has no get_capabilities (the library reads it with getattr)
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"amx_bf16": True}, raising=False)
    assert state.cpu_amx_bf16() is True
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"avx512_bf16": True})
    assert state.cpu_amx_bf16() is False
    monkeypatch.delattr(torch.cpu, "get_capabilities")
    assert state.cpu_amx_bf16() is False


def test_improvement_rule_breaks_accuracy_ties_with_loss():
    from vecgraft.finetune.config import Metric
    from vecgraft.finetune.train import _improves

    assert _improves(Metric.accuracy, 0.9, 0.5, None, None)
    assert _improves(Metric.accuracy, 0.9, 0.4, 0.9, 0.5)
    assert not _improves(Metric.accuracy, 0.9, 0.6, 0.9, 0.5)
    assert not _improves(Metric.accuracy, 0.8, 0.1, 0.9, 0.5)
    assert _improves(Metric.loss, 0.4, 0.4, 0.5, 0.5)
    assert not _improves(Metric.loss, 0.5, 0.5, 0.5, 0.5)


def test_patience_ignores_a_lower_loss_only_at_the_ceiling():
    from vecgraft.finetune.state import _resets_patience, at_ceiling

    assert not _resets_patience(Metric.accuracy, 1.0, 1.0)  # a lower loss at 100 %
    assert not _resets_patience(Metric.macro_f1, 1.0, 1.0)
    assert _resets_patience(Metric.accuracy, 1.0, 0.9)  # reaching it is progress
    assert _resets_patience(Metric.accuracy, 1.0, None)
    assert _resets_patience(Metric.accuracy, 0.9, 0.9)  # a tie below it breaks as before
    assert not at_ceiling(Metric.loss, 1.0)  # the loss (and every regression) has none
    assert _resets_patience(Metric.loss, 1.0, 1.0)


def _scripted_trainer(
    scores: list[tuple[int, float]], said: list[str], **settings: Any
) -> Trainer:
    """A trainer whose validation scores are `scores`: (rows wrong of 30, loss) per epoch."""
    cfg = FinetuneConfig(epochs=len(scores), batch_size=16, lr=0.1, freeze_epochs=0,
                         min_valid=30, warmup=0, **settings)  # fmt: skip
    trainer = Trainer(TinyBoE(40, 8, 3), cfg, toy_data(), toy_data(30, seed=1), num_classes=3,
                      device=torch.device("cpu"), log=said.append)  # fmt: skip
    results = iter(scores)

    def evaluate(data: EncodedData) -> EvalResult:
        wrong, loss = next(results)
        confusion = torch.diag(torch.tensor([10, 10, 10 - wrong]))
        confusion[2, 0] = wrong
        return EvalResult(loss, confusion)

    trainer.evaluate = evaluate  # type: ignore[method-assign]
    return trainer


@pytest.mark.parametrize(("metric", "shown"), [("accuracy", "100%"), ("macro_f1", "1.0")])
def test_a_validation_at_its_ceiling_stops_and_keeps_its_lowest_loss(metric: str, shown: str):
    # at 100 % the loss fell epoch after epoch: each was "best", patience never ran out and
    # a tester's run trained its whole budget (131 epochs); the lower loss still picks the
    # epoch kept (3, not the last), but only reaching the ceiling (epoch 2) restarts patience
    said: list[str] = []
    scores = [(3, 0.5), (0, 0.3), (0, 0.2), (0, 0.25), (0, 0.22), (0, 0.1), (0, 0.05)]
    state = _scripted_trainer(scores, said, patience=3, metric=metric).fit()
    assert (state.epoch, state.best_epoch, state.stopped_early) == (5, 3, True)
    assert [" * [" in line for line in said if line.startswith("Epoch")] == [
        True, True, True, False, False
    ]
    assert [line for line in said if line.startswith("Early stopping")] == [
        f"Early stopping: validation {metric} at {shown} since epoch 2; stopped after 3 more "
        f"epochs, keeping epoch 3, the lowest validation loss at {shown}"
    ]


def test_a_validation_below_its_ceiling_still_breaks_ties_with_the_loss():
    # equal accuracy at a lower loss restarts patience as before where it is not 100 %
    said: list[str] = []
    scores = [(3, 0.5), (1, 0.3), (1, 0.2), (1, 0.15), (1, 0.1), (1, 0.2), (1, 0.3), (1, 0.4)]
    state = _scripted_trainer(scores, said, patience=2).fit()
    assert (state.epoch, state.best_epoch, state.stopped_early) == (7, 5, True)
    assert said[-1] == "Early stopping: no accuracy improvement for 2 epochs"


def test_a_patience_of_one_says_one_epoch():
    # "no accuracy improvement for 1 epochs", "stopped after 1 more epochs"
    said: list[str] = []
    _scripted_trainer([(3, 0.5), (1, 0.3), (1, 0.4), (1, 0.5)], said, patience=1).fit()
    assert said[-1] == "Early stopping: no accuracy improvement for 1 epoch"
    said.clear()
    _scripted_trainer([(3, 0.5), (0, 0.3), (0, 0.4), (0, 0.5)], said, patience=1).fit()
    assert said[-1] == ("Early stopping: validation accuracy at 100% since epoch 2; stopped "
                        "after 1 more epoch, keeping epoch 2, the lowest validation loss at "
                        "100%")  # fmt: skip


def test_a_real_run_at_100_percent_stops_patience_epochs_after_reaching_it():
    # separable toy data: validation reaches 100 % at epoch 2 and its loss falls every epoch
    # after; the previous rule trained all 30 epochs, each one "best"
    stops = {}
    for warmup in (0, 7 * 8):  # 8 steps an epoch: the second warm-up ends after epoch 7
        torch.manual_seed(0)
        cfg = FinetuneConfig(epochs=30, batch_size=16, lr=0.1, patience=2, freeze_epochs=0,
                             min_valid=30, warmup=warmup)  # fmt: skip
        said: list[str] = []
        state = Trainer(TinyBoE(40, 8, 3), cfg, toy_data(), toy_data(30, seed=4), num_classes=3,
                        device=torch.device("cpu"), log=said.append).fit()  # fmt: skip
        accuracy = [row["valid_accuracy"] for row in state.history]
        losses = [row["valid_loss"] for row in state.history]
        first = accuracy.index(1.0) + 1
        assert all(a == 1.0 for a in accuracy[first - 1 :])
        lowest = min(range(first, state.epoch + 1), key=lambda e: losses[e - 1])
        assert state.stopped_early and state.best_epoch == lowest
        stops[warmup] = (first, state.epoch, said[-1])
    assert stops[0] == (2, 4, "Early stopping: validation accuracy at 100% since epoch 2; "
                               "stopped after 2 more epochs, keeping epoch 4, the lowest "
                               "validation loss at 100%")  # fmt: skip
    assert stops[56] == (5, 8, "Early stopping: validation accuracy at 100% since epoch 5; "
                                "stopped after 3 more epochs (patience 2, counted after the "
                                "warm-up of 56 steps), keeping epoch 8, the lowest validation "
                                "loss at 100%")  # fmt: skip


def test_a_run_never_at_100_percent_trains_as_before():
    # validation peaks at 96.67 %: equal accuracy at a lower loss keeps restarting patience,
    # as it did before the ceiling rule (30 epochs, epochs 1-28 starred, 28 kept)
    torch.manual_seed(0)
    cfg = FinetuneConfig(epochs=30, batch_size=16, lr=0.1, patience=2, freeze_epochs=0,
                         min_valid=30, warmup=0)  # fmt: skip
    said: list[str] = []
    state = Trainer(TinyBoE(40, 8, 3), cfg, toy_data(), toy_data(30, seed=1), num_classes=3,
                    device=torch.device("cpu"), log=said.append).fit()  # fmt: skip
    assert max(row["valid_accuracy"] for row in state.history) < 1.0
    # the kept epoch and the starred ones follow from the history (higher accuracy, or equal
    # at a lower loss), not from fixed numbers: the last epochs' losses differ in the last
    # digits between CPUs (earlier machines: 28 kept; an AMD EPYC: the loss still falls at 30)
    best, improved = (0.0, float("inf")), []
    for row in state.history:
        key = (row["valid_accuracy"], -row["valid_loss"])
        if key > (best[0], -best[1]):
            best, improved = (row["valid_accuracy"], row["valid_loss"]), [*improved, row["epoch"]]
    assert (state.epoch, state.stopped_early) == (30, False)
    assert state.best_epoch == improved[-1] >= 25  # patience (2) restarted into the last epochs
    starred = [i for i, line in enumerate(said, 1) if " * [" in line]
    assert starred == improved and len(starred) >= 25


def test_max_steps_stops_mid_epoch_and_still_saves_best_and_last():
    torch.manual_seed(0)
    saved: list[tuple[str, int, bool]] = []
    cfg = FinetuneConfig(epochs=5, batch_size=16, max_steps=3, patience=None)
    trainer = Trainer(
        TinyBoE(40, 8, 3),
        cfg,
        toy_data(),
        toy_data(30, seed=1),
        num_classes=3,
        device=torch.device("cpu"),
        log=lambda _: None,
        save=lambda name, _m, state, tr: saved.append((name, state["global_step"], tr is not None)),
    )
    state = trainer.fit()
    assert state.finished and state.global_step == 3 and state.epoch == 0
    assert saved == [("best", 3, False), ("last", 3, True)]


def _saves(cfg: FinetuneConfig, valid: EncodedData) -> tuple[Trainer, list[tuple[str, int, bool]]]:
    """A fitted trainer and its checkpoint writes (name, global step, finished)."""
    torch.manual_seed(0)
    saved: list[tuple[str, int, bool]] = []
    trainer = Trainer(
        TinyBoE(40, 8, 3), cfg, toy_data(), valid, num_classes=3, device=torch.device("cpu"),
        log=lambda _: None,
        save=lambda name, _m, state, _t: saved.append(
            (name, state["global_step"], state["finished"])),
    )  # fmt: skip
    trainer.fit()
    return trainer, saved


def test_a_run_that_keeps_its_last_epoch_writes_once_at_the_end_by_default():
    # 30 validation rows < min_valid: every epoch is the "best", none is chosen
    cfg = FinetuneConfig(epochs=6, batch_size=16, patience=None)
    trainer, saved = _saves(cfg, toy_data(30, seed=1))
    end = 6 * trainer.steps_per_epoch
    assert saved == [("best", end, True), ("last", end, True)]
    # checkpoint_every=0: every epoch, as a resumable run may want
    trainer, saved = _saves(cfg.replace(checkpoint_every=0), toy_data(30, seed=1))
    spe = trainer.steps_per_epoch
    assert saved == [(n, e * spe, e == 6) for e in range(1, 7) for n in ("best", "last")]


def test_a_chosen_epoch_is_written_at_once_with_last_beside_it():
    # min_valid=1: the 30 rows choose; the shifted labels make epoch 1 the only best
    cfg = FinetuneConfig(epochs=4, batch_size=16, patience=None, min_valid=1)
    trainer, saved = _saves(cfg, shifted_valid())
    spe = trainer.steps_per_epoch
    assert trainer.state.best_epoch == 1
    assert saved == [("best", spe, False), ("last", spe, False), ("last", 4 * spe, True)]


def test_max_steps_after_unwritten_epochs_keeps_the_weights_it_stopped_with():
    cfg = FinetuneConfig(epochs=6, batch_size=16, patience=None)
    trainer, _ = _saves(cfg, toy_data(30, seed=1))
    stop = 2 * trainer.steps_per_epoch + 1  # mid-epoch 3; epochs 1-2 unwritten
    _, saved = _saves(cfg.replace(max_steps=stop), toy_data(30, seed=1))
    assert saved == [("best", stop, True), ("last", stop, True)]


def test_checkpoint_every_must_not_be_negative():
    with pytest.raises(ConfigError, match="checkpoint_every must be >= 0"):
        FinetuneConfig(checkpoint_every=-1).validate()


def test_saved_optimizer_moments_leave_out_all_zero_rows_and_come_back_exactly():
    from vecgraft.finetune.train import pack_zero_rows, unpack_zero_rows

    moments = torch.zeros(1000, 4)
    moments[[3, 500]] = torch.tensor([[1.0, 0.0, -2.0, 0.5], [0.0, 0.0, 0.0, 1e-30]])
    dense = torch.randn(5, 4)  # a layer's weights: mostly nonzero, stored as it is
    state = {"state": {0: {"step": torch.tensor(7.0), "exp_avg": moments,
                           "exp_avg_sq": moments * 2}, 1: {"exp_avg": dense}},
             "param_groups": [{"lr": 0.1, "params": [0, 1]}]}  # fmt: skip
    packed = pack_zero_rows(state)
    slot = packed["state"][0]["exp_avg"]
    assert slot["rows"].tolist() == [3, 500] and slot["values"].shape == (2, 4)
    assert packed["state"][1]["exp_avg"] is dense
    assert packed["param_groups"] == state["param_groups"]
    back = unpack_zero_rows(packed)
    for key in (0, 1):
        for name, value in state["state"][key].items():
            assert torch.equal(back["state"][key][name], value)
    # what torch.save / torch.load(weights_only=True) give back unpacks the same
    import io

    buffer = io.BytesIO()
    torch.save(packed, buffer)
    buffer.seek(0)
    loaded = unpack_zero_rows(torch.load(buffer, weights_only=True))
    assert torch.equal(loaded["state"][0]["exp_avg_sq"], moments * 2)
    assert unpack_zero_rows(state)["state"][0]["exp_avg"] is moments  # an older save


def test_nan_vector_rows_are_initialised_as_missing_and_a_nan_loss_stops_the_run(tmp_path):
    # with --allow-nonfinite one NaN row trained every epoch at "Loss: nan", then failed on
    # its own state file
    import math

    import numpy as np

    from finetune_helpers import make_dataset
    from vecgraft.errors import DataError
    from vecgraft.finetune.config import FinetuneConfig
    from vecgraft.finetune.run import finetune
    from vecgraft.io import load

    data = make_dataset(tmp_path / "data")
    vectors = load(data["vectors"], cache=False)
    matrix = vectors.matrix.copy()
    matrix[1] = np.nan
    matrix[2, 0] = np.inf
    poisoned = vectors.__class__(vectors.words, matrix)
    lines: list[str] = []
    config = FinetuneConfig(train=str(data["train"]), test=str(data["test"]), model="boe",
                            epochs=2, out=str(tmp_path / "run"), plots=False, progress=False,
                            lower=True)  # fmt: skip
    result = finetune(config, vectors=poisoned, log=lines.append)
    assert all(math.isfinite(row["train_loss"]) for row in result.history)
    said = [line for line in lines if "hold NaN or Inf" in line]
    assert said and said[0].startswith(f"2 vector row(s) hold NaN or Inf ({vectors.words[1]!r}")
    # a run whose weights go NaN stops at the first epoch that says so
    with pytest.raises(DataError, match=r"the training loss is nan after epoch 1: the weights"):
        finetune(config.replace(out=str(tmp_path / "hot"), lr=float("inf"), embedding_lr=None),
                 log=lambda _: None)  # fmt: skip
    assert not (tmp_path / "hot").exists()  # nothing left behind


def test_max_steps_inside_the_first_epoch_finishes_with_plots_on(tmp_path):
    # the run trained, fused and wrote metrics.json, then failed on "history is empty:
    # nothing to plot"
    from finetune_helpers import make_dataset
    from vecgraft.finetune.config import FinetuneConfig
    from vecgraft.finetune.run import finetune

    pytest.importorskip("matplotlib")
    data = make_dataset(tmp_path / "data")
    config = FinetuneConfig(train=str(data["train"]), test=str(data["test"]), model="boe",
                            max_steps=1, out=str(tmp_path / "run"), progress=False)  # fmt: skip
    finetune(config, log=lambda _: None)
    assert (tmp_path / "run" / "metrics.json").is_file()
    # the cut epoch is the history's one row now, so it is plotted
    assert (tmp_path / "run" / "history.png").is_file()


@pytest.mark.parametrize("sparse", [False, True])
def test_a_resume_runs_adam_as_this_machine_can_not_as_the_checkpoint_did(monkeypatch, sparse):
    # a run saved where Adam is fused (CUDA; the CPU from torch 2.4) resumed where it is not
    # (mps, older torch): load_state_dict brought back the saved groups' fused=True
    import vecgraft.finetune.train as train

    def trainer() -> Trainer:
        cfg = FinetuneConfig(epochs=1, batch_size=16, patience=None, sparse_embedding=sparse)
        return Trainer(TinyBoE(40, 8, 3), cfg, toy_data(), None, num_classes=3,
                       device=torch.device("cpu"), log=lambda _: None)  # fmt: skip

    saved = trainer()
    saved.fit()
    assert [g["fused"] for g in saved.optimizer.param_groups] == [True, True]
    monkeypatch.setattr(train, "_CPU_FUSED_ADAM", False)
    resumed = trainer()
    resumed.restore(saved.state.to_dict(), saved.trainer_state())
    assert [g["fused"] for g in resumed.optimizer.param_groups] == [None, None]
    state = resumed.optimizer.state_dict()["state"]
    assert state.keys() == saved.optimizer.state_dict()["state"].keys()


def test_scoring_batches_keep_bf16_autocast_inside_each_batch():
    # the batches were yielded inside `torch.autocast`: the caller's code between them ran
    # in bf16, and a caller that stopped early left autocast on until the generator was freed
    from vecgraft.finetune.scoring import _logit_batches
    from vecgraft.nn.models import _autocast_on

    torch.manual_seed(0)
    model, data = TinyBoE(40, 8, 3).eval(), toy_data(20)
    cpu = torch.device("cpu")
    with torch.no_grad():
        for positions, logits in _logit_batches(
            model, data, list(range(20)), device=cpu, batch_size=8, bf16=True
        ):
            assert not _autocast_on("cpu")
            ids, lengths, _ = data.batch(positions)
            with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
                expected = model(ids, lengths).float()
            assert torch.equal(logits, expected)  # still computed in bf16
            break
    assert not _autocast_on("cpu")
