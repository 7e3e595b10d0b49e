"""The weight average (`ema_epochs`): its arithmetic, and that a run scores and keeps it."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from test_finetune_train import TinyBoE, toy_data
from vecgraft.errors import ConfigError
from vecgraft.finetune.averaging import WeightAverage
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.train import Trainer


def _one_weight(value: float) -> nn.Module:
    model = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(value)
    return model


def _set(model: nn.Module, value: float) -> None:
    with torch.no_grad():
        model.weight.fill_(value)


def test_the_average_starts_at_the_first_steps_weights_and_follows_by_the_warm_up_decay():
    model = _one_weight(100.0)  # the initial weight is not averaged
    avg = WeightAverage(model, span=4.0)
    expected = None
    for t, w in enumerate([1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 34.0, 55.0], start=1):
        _set(model, w)
        avg.update()
        decay = min(1 - 1 / 4, (1 + t) / (10 + t))
        expected = w if expected is None else decay * expected + (1 - decay) * w
        assert avg.shadow[0].item() == pytest.approx(expected, rel=1e-6)
    # t = 9: (1 + t) / (10 + t) = 10/19 < 3/4, so the warm-up still binds; t >= 26: 3/4
    assert avg.updates == 9


def test_the_span_caps_the_decay_once_the_warm_up_has_passed():
    model = _one_weight(0.0)
    avg = WeightAverage(model, span=4.0)
    for _ in range(30):
        avg.update()
    _set(model, 1.0)
    avg.update()  # t = 31: decay = min(3/4, 32/41) = 3/4
    assert avg.shadow[0].item() == pytest.approx(0.25)


def test_swapped_in_shows_the_average_then_restores_the_trained_weights_even_on_error():
    model = _one_weight(2.0)
    avg = WeightAverage(model, span=10.0)
    avg.update()  # shadow = 2
    _set(model, 6.0)
    avg.update()  # t = 2: decay 3/12, shadow = 0.25 * 2 + 0.75 * 6 = 5
    with avg.swapped_in():
        assert model.weight.item() == pytest.approx(5.0)
        _set(model, -1.0)  # what the block does to the weights (e.g. moved rows) is undone
    assert model.weight.item() == 6.0 and avg.shadow[0].item() == pytest.approx(5.0)
    with pytest.raises(RuntimeError), avg.swapped_in():
        raise RuntimeError("scoring failed")
    assert model.weight.item() == 6.0


def test_state_dict_round_trip_and_a_misfit_is_refused():
    model = TinyBoE(10, 4, 3)
    avg = WeightAverage(model, span=5.0)
    for _ in range(3):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(1.0)
        avg.update()
    again = WeightAverage(model, span=5.0)
    again.load_state_dict(avg.state_dict())
    assert again.updates == 3
    assert all(torch.equal(a, b) for a, b in zip(again.shadow, avg.shadow))
    with pytest.raises(ValueError, match="does not fit"):
        WeightAverage(TinyBoE(11, 4, 3), span=5.0).load_state_dict(avg.state_dict())


@pytest.mark.parametrize(
    ("settings", "span"),
    [({}, 1.0), ({"ema_epochs": 0.5}, 0.5), ({"ema_epochs": 0}, None),
     ({"task": "regression"}, None), ({"task": "regression", "ema_epochs": 2}, 2.0),
     ({"model": "hf", "hf_model": "x"}, None), ({"model": "boe"}, 1.0)],
)  # fmt: skip
def test_the_default_average_is_on_only_where_it_was_measured(
    settings: dict[str, Any], span: float | None
) -> None:
    assert FinetuneConfig(**settings).ema_span() == span


def test_a_negative_span_is_refused():
    with pytest.raises(ConfigError, match="ema_epochs is a number of epochs >= 0"):
        FinetuneConfig(ema_epochs=-1)


def _kept_and_trained(**settings: Any) -> tuple[dict[str, torch.Tensor], Trainer]:
    """Train 3 epochs keeping the last one; (the weights kept as `best`, the trainer)."""
    torch.manual_seed(0)
    kept: dict[str, dict[str, torch.Tensor]] = {}

    def save(name: str, model: nn.Module, state: Any, trainer_state: Any) -> None:
        kept[name] = {k: v.detach().clone() for k, v in model.state_dict().items()}

    cfg = FinetuneConfig(epochs=3, batch_size=16, lr=0.05, patience=None, restore_best=False,
                         **settings)  # fmt: skip
    trainer = Trainer(
        TinyBoE(40, 8, 3), cfg, toy_data(), None, num_classes=3, device=torch.device("cpu"),
        log=lambda _: None, save=save,
    )  # fmt: skip
    trainer.fit()
    return kept["best"], trainer


def test_a_run_keeps_the_average_and_trains_on_from_its_own_weights():
    best, trainer = _kept_and_trained()
    assert trainer.average is not None and trainer.average.span == trainer.steps_per_epoch
    model = trainer.model
    # toy_data's ids run up to 31: the lazy update never moves rows 32-39, left out
    assert trainer.average.rows == [32, None, None]
    for (name, kept), shadow in zip(best.items(), trainer.average.shadow):
        assert torch.equal(kept[: len(shadow)], shadow), name
    assert torch.equal(best["embedding.weight"][32:], model.embedding.weight.detach()[32:])
    # the model itself holds the weights as trained, which differ from their average
    assert not torch.equal(model.fc.weight.detach(), best["fc.weight"])


def test_leaving_out_the_rows_no_batch_holds_changes_nothing(monkeypatch: Any) -> None:
    restricted, _ = _kept_and_trained()
    monkeypatch.setattr(Trainer, "_changing_rows", lambda self: {})  # average every row
    whole, trainer = _kept_and_trained()
    assert trainer.average is not None and trainer.average.rows == [None, None, None]
    assert all(torch.equal(restricted[k], whole[k]) for k in whole)


def test_a_dense_update_averages_every_row():
    _, trainer = _kept_and_trained(sparse_embedding=False)
    assert trainer.average is not None and trainer.average.rows == [None, None, None]


def test_ema_epochs_zero_keeps_the_weights_as_trained():
    best, trainer = _kept_and_trained(ema_epochs=0)
    assert trainer.average is None
    assert all(torch.equal(v, trainer.model.state_dict()[k]) for k, v in best.items())


def test_a_checkpoint_without_an_average_resumes_and_says_the_average_starts_again():
    _, trainer = _kept_and_trained()
    saved = trainer.trainer_state()
    assert saved["average"]["updates"] == trainer.state.global_step
    lines: list[str] = []
    again = Trainer(
        TinyBoE(40, 8, 3), trainer.config, toy_data(), None, num_classes=3,
        device=torch.device("cpu"), log=lines.append,
    )  # fmt: skip
    again.restore(trainer.state.to_dict(), saved)
    assert again.average is not None and again.average.updates == trainer.state.global_step
    del saved["average"]  # written by a version without it
    again.restore(trainer.state.to_dict(), saved)
    assert lines[-1] == "The checkpoint holds no weight average: it starts again here"



def _averages() -> tuple[TinyBoE, WeightAverage, WeightAverage]:
    """A TinyBoE(10 words); its average over the embedding's 6 leading rows, and over all."""
    torch.manual_seed(0)
    model = TinyBoE(10, 4, 3)
    emb = model.embedding.weight
    lazy = WeightAverage(model, span=5.0, rows={id(emb): 6}, resizable=[emb])
    dense = WeightAverage(model, span=5.0, resizable=[emb])
    return model, lazy, dense


def test_a_saved_average_of_other_embedding_rows_fits_by_its_leading_rows():
    # the lazy update's average keeps the embedding's 6 leading rows (rows 6-9 never move),
    # the dense one all 10: a resume that switches the update (--compile, torchrun) loads it
    model, lazy, dense = _averages()
    lazy.update()
    with torch.no_grad():
        model.fc.weight.add_(1.0)
        model.embedding.weight[:6].add_(1.0)
    lazy.update()
    dense.load_state_dict(lazy.state_dict())
    assert dense.updates == 2
    emb = model.embedding.weight.detach()
    assert torch.equal(dense.shadow[0][:6], lazy.shadow[0])
    assert not torch.equal(lazy.shadow[0], emb[:6])
    assert torch.equal(dense.shadow[0][6:], emb[6:])  # the rows the lazy update never moves
    assert all(torch.equal(a, b) for a, b in zip(dense.shadow[1:], lazy.shadow[1:]))
    # and back: a dense average resumed lazily keeps its leading rows
    _, again, _ = _averages()
    again.load_state_dict(dense.state_dict())
    assert torch.equal(again.shadow[0], dense.shadow[0][:6])


def test_a_saved_average_of_other_shapes_is_still_refused():
    _, lazy, _ = _averages()
    state = lazy.state_dict()
    wider = {**state, "shadow": [torch.zeros(6, 5), *state["shadow"][1:]]}
    with pytest.raises(ValueError, match="does not fit"):
        lazy.load_state_dict(wider)
    # another parameter's rows are not the embedding's to resize
    fc = {**state, "shadow": [state["shadow"][0], torch.zeros(4, 4), state["shadow"][2]]}
    with pytest.raises(ValueError, match="does not fit"):
        lazy.load_state_dict(fc)
    assert lazy.updates == 0 and torch.equal(lazy.shadow[1], state["shadow"][1])
