"""The recipe: steps callable one by one, model families as the extension point, search use."""

from __future__ import annotations

import dataclasses
import json
import random

import pytest
import torch
from sklearn.metrics import f1_score

from finetune_helpers import make_dataset
from vecgraft.errors import ConfigError
from vecgraft.finetune import families
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.families import EmbeddingFamily, ModelInputs, ModelSetup, model_family
from vecgraft.finetune.recipe import ClassifierRecipe
from vecgraft.finetune.run import finetune
from vecgraft.finetune.train import EvalResult
from vecgraft.nn.models import ModelKind


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("recipe"), train_per_class=20, test_per_class=5)


def config(data, out, **changes) -> FinetuneConfig:
    base = FinetuneConfig(
        train=str(data["train"]),
        test=str(data["test"]),
        vectors=str(data["vectors"]),
        model="boe",
        out=str(out),
        epochs=3,
        batch_size=16,
        lr=0.05,
        patience=None,
        lower=True,
        progress=False,
        plots=False,
    )
    return base.replace(**changes)


def test_config_model_is_a_model_kind(tmp_path):
    cfg = FinetuneConfig(model="rnn")
    assert cfg.model is ModelKind.RNN
    cfg.save(tmp_path / "c.json")
    assert json.loads((tmp_path / "c.json").read_text())["model"] == "rnn"
    assert FinetuneConfig.load(tmp_path / "c.json").model is ModelKind.RNN


@pytest.mark.parametrize("seed", range(5))
def test_trainer_macro_f1_equals_scikit_learn_exactly(seed):
    rng = random.Random(seed)
    y_true = [rng.randrange(5) for _ in range(60)]
    y_pred = [t if rng.random() < 0.5 else rng.randrange(4) for t in y_true]  # 4 never predicted
    confusion = torch.zeros(6, 6, dtype=torch.long)  # class 5 absent from both: skipped
    for t, p in zip(y_true, y_pred):
        confusion[t, p] += 1
    assert EvalResult(0.0, confusion).macro_f1 == f1_score(y_true, y_pred, average="macro")


def test_search_trial_scores_validation_without_writing_files(data, tmp_path):
    out = tmp_path / "run"
    rows: list[tuple[int, dict]] = []

    def on_epoch_end(epoch: int, row: dict) -> None:
        rows.append((epoch, row))

    cfg = config(data, out)
    score = ClassifierRecipe(
        cfg, write_files=False, log=lambda _: None, on_epoch_end=on_epoch_end
    ).score()
    assert not out.exists()
    assert [epoch for epoch, _ in rows] == [1, 2, 3]
    assert {"train_loss", "valid_accuracy", "valid_macro_f1"} <= set(rows[0][1])
    # the same run with files: its metrics.json holds the same validation score, and the
    # network's own when the run is fused with the linear model (as the default does)
    full = finetune(cfg, log=lambda _: None)
    assert score == full.metrics["fusion"]["accuracy"]["valid"]["network"]
    alone = finetune(dataclasses.replace(cfg, fuse_linear=False), overwrite=True,
                     log=lambda _: None)
    assert score == alone.metrics["valid"]["accuracy"]
    assert [r["valid_loss"] for _, r in rows] == [h["valid_loss"] for h in full.history]


def test_on_epoch_end_true_stops_the_trial(data, tmp_path):
    cfg = config(data, tmp_path / "run", epochs=5)
    recipe = ClassifierRecipe(
        cfg, write_files=False, log=lambda _: None, on_epoch_end=lambda epoch, _row: epoch >= 2
    )
    recipe.setup_data()
    recipe.setup_model()
    state = recipe.train()
    assert (state.epoch, len(state.history), state.finished) == (2, 2, True)
    assert not (tmp_path / "run").exists()


def test_a_registered_family_builds_the_model(data, tmp_path, monkeypatch):
    seen: list[int] = []

    class Counting(EmbeddingFamily):
        def setup(self, inputs: ModelInputs) -> ModelSetup:
            seen.append(len(inputs.train_texts))
            return super().setup(inputs)

    monkeypatch.setitem(families._FAMILIES, ModelKind.BOE, Counting())
    result = finetune(config(data, tmp_path / "run", epochs=1), log=lambda _: None)
    assert seen == [result.metrics["sizes"]["train"]]
    assert (tmp_path / "run" / "best" / "model.json").exists()


def test_a_kind_without_family_is_a_config_error(monkeypatch):
    monkeypatch.delitem(families._FAMILIES, ModelKind.RNN)
    with pytest.raises(ConfigError, match="no model family is registered for model 'rnn'"):
        model_family("rnn")


def test_write_files_false_refuses_resume(data, tmp_path):
    with pytest.raises(ConfigError, match="write_files=False"):
        ClassifierRecipe(config(data, tmp_path, resume=True), write_files=False)
