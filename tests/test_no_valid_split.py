"""`valid_fraction=0`: no validation split; every training text is trained on, last epoch kept."""

from __future__ import annotations

import json

import pytest
import torch

from finetune_helpers import make_dataset
from vecgraft.errors import ConfigError
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.recipe import ClassifierRecipe
from vecgraft.finetune.run import finetune


def _config(data: dict, out, **overrides) -> FinetuneConfig:
    settings = {
        "train": str(data["train"]),
        "test": str(data["test"]),
        "vectors": str(data["vectors"]),
        "model": "boe",
        "valid_fraction": 0.0,
        "epochs": 6,
        "lr": 0.05,
        "embedding_lr": 0.05,
        "patience": 1,
        "out": str(out),
        "plots": False,
        "progress": False,
        **overrides,
    }
    return FinetuneConfig(**settings)


def test_no_validation_split_trains_on_everything_and_keeps_the_last_epoch(tmp_path):
    data = make_dataset(tmp_path / "data")  # 120 training texts, 30 test
    lines: list[str] = []
    finetune(_config(data, tmp_path / "run"), log=lines.append)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["sizes"] == {"train": 120, "valid": 0, "test": 30}
    assert metrics["valid"] is None
    assert (metrics["best_epoch"], metrics["epochs_run"]) == (6, 6)  # patience 1 never fires
    assert metrics["test"]["accuracy"] == 1.0
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert len(history) == 6 and not any("valid_accuracy" in row for row in history)
    assert any(line.startswith("No validation split (valid_fraction 0)") for line in lines)
    # it said "best epoch 6" of an epoch no validation score chose
    assert any(line.startswith("Test (30 texts, last epoch 6)") for line in lines), lines
    splits = json.loads((tmp_path / "run" / "splits.json").read_text())
    assert splits["valid_split"] == "none (valid_fraction 0)"


def test_a_run_cut_mid_epoch_names_and_keeps_the_epoch_it_cut(tmp_path):
    # max_steps cut epoch 2 of a run that keeps its last weights: the test line said "last
    # epoch 1", and best/ (written at epoch 1's end, checkpoint_every 0) kept epoch 1's
    from safetensors.torch import load_file

    data = make_dataset(tmp_path / "data")  # 120 training texts: 4 batches of 32
    lines: list[str] = []
    run = tmp_path / "run"
    config = _config(data, run, batch_size=32, max_steps=5, checkpoint_every=0, ema_epochs=0)
    finetune(config, log=lines.append)  # no weight average: best/ holds the weights as is
    tested = [line for line in lines if line.startswith("Test (")]
    assert tested[0].startswith("Test (30 texts, last epoch 2, cut at step 5 by max_steps): ")
    best, last = (load_file(str(run / name / "model.safetensors")) for name in ("best", "last"))
    assert all(torch.equal(best[key], last[key]) for key in best)
    lines.clear()
    finetune(_config(data, tmp_path / "one", max_steps=1), log=lines.append)
    assert any(line.startswith("Test (30 texts, last epoch 1, cut at step 1 by max_steps)")
               for line in lines), lines  # fmt: skip


def test_linear_model_without_validation_split(tmp_path):
    data = make_dataset(tmp_path / "data")
    finetune(_config(data, tmp_path / "run", model="linear", vectors="random"), log=lambda _m: None)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["valid"] is None and metrics["sizes"]["train"] == 120
    assert metrics["test"]["accuracy"] == 1.0 and metrics["test"]["loss"] is None


def test_a_search_trial_needs_a_validation_split(tmp_path):
    data = make_dataset(tmp_path / "data")
    recipe = ClassifierRecipe(_config(data, None), log=lambda _m: None, write_files=False)
    with pytest.raises(ConfigError, match="needs a validation split"):
        recipe.score()


@pytest.mark.parametrize("fraction", [-0.1, 1.0])
def test_valid_fraction_bounds(fraction):
    with pytest.raises(ConfigError, match="valid_fraction must be a fraction"):
        FinetuneConfig(valid_fraction=fraction)
