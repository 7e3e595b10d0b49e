"""`fuse_folds`: the fusion weight chosen on out-of-fold predictions of every training row."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from finetune_helpers import make_dataset, write_csv
from test_fusion import _config, _regression_config
from vecgraft.errors import ConfigError, DataError
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.fusion import (
    choose_weight,
    fit_linear,
    fit_pool,
    least_error_weight,
    linear_proba,
    log_pool,
    weight_accuracies,
    weight_errors,
)
from vecgraft.finetune.predict import FusedPredictor, load_run
from vecgraft.finetune.recipe import ClassifierRecipe
from vecgraft.finetune.splits import cv_folds


@pytest.mark.parametrize("rule", ["mix", "pool"])
def test_the_weight_is_chosen_on_every_training_row_predicted_unseen(tmp_path, rule):
    data = make_dataset(tmp_path / "data")
    lines: list[str] = []
    config = _config(data, tmp_path / "run", fuse_linear=None, valid_fraction=0.0, fuse_folds=3,
                     fuse_rule=rule)
    recipe = ClassifierRecipe(config, log=lines.append)
    recipe.run()
    fit = recipe.crossfit
    train = recipe.splits.train
    assert fit.folds == 3 and len(fit.gold) == len(train) == 120

    def ids(labels: list[str]) -> list[int]:
        return [recipe.labels.index(label) for label in labels]

    # rows come fold by fold, each scored by a linear model fitted without its fold
    offset = 0
    for part, held in cv_folds(train, 3, config.seed):
        assert fit.gold[offset:offset + len(held)] == ids(held.labels)
        linear = fit_linear(part.texts, ids(part.labels), recipe._linear_tokenizer())
        np.testing.assert_allclose(
            fit.linear[offset:offset + len(held)], linear_proba(linear, held.texts, 3),
            atol=1e-6,
        )  # fmt: skip
        offset += len(held)
    assert fit.network.shape == (120, 3)
    np.testing.assert_allclose(fit.network.sum(axis=1), 1.0, atol=1e-5)

    fusion = recipe.metrics["fusion"]
    assert set(fusion["accuracy"]) == {"crossfit", "test"}
    if rule == "mix":
        assert fusion["weight"] == choose_weight(fit.network, fit.linear, fit.gold)
        assert fusion["weight_rule"] == "chosen by 3-fold cross-fitting on 120 rows"
        oof = weight_accuracies(fit.network, fit.linear, fit.gold)
        assert fusion["accuracy"]["crossfit"]["fused"] == oof[fusion["weight"]]
        start = "Fused with the TF-IDF linear model: network weight"
    else:  # the pool's two weights are fitted on the same out-of-fold rows
        pool = fit_pool(fit.network, fit.linear, fit.gold)
        assert fusion["weight"] is None
        assert (fusion["pool"]["network"], fusion["pool"]["linear"]) == pool
        assert fusion["weight_rule"] == "fitted by 3-fold cross-fitting on 120 rows"
        fused = log_pool(fit.network, fit.linear, pool).argmax(axis=1)
        assert fusion["accuracy"]["crossfit"]["fused"] == float((fused == fit.gold).mean())
        start = "Fused with the TF-IDF linear model: log-linear pool (network x"
    assert any(line.startswith(start)
               and "cross-fitting on 120 rows (out-of-fold accuracy network" in line
               for line in lines), lines
    assert sum("Cross-fitting the fusion weight: fold" in line for line in lines) == 3
    assert isinstance(load_run(tmp_path / "run"), FusedPredictor)


def test_cross_fitting_leaves_the_run_s_own_network_as_it_was(tmp_path):
    data = make_dataset(tmp_path / "data")
    folded = _config(data, tmp_path / "folds", valid_fraction=0.0, fuse_folds=2)
    fixed = _config(data, tmp_path / "fixed", valid_fraction=0.0, fuse_weight=0.5)
    scores = []
    for config in (folded, fixed):
        ClassifierRecipe(config, log=lambda _m: None).run()
        metrics = json.loads((Path(config.out) / "metrics.json").read_text())
        scores.append(metrics["fusion"]["accuracy"]["test"])
    # the fold trainings run after the network's: same network, same linear model
    assert scores[0]["network"] == scores[1]["network"]
    assert scores[0]["linear"] == scores[1]["linear"]


def test_a_regression_cross_fits_by_the_least_squared_error(tmp_path):
    run = tmp_path / "run"
    config = _regression_config(tmp_path, run, fuse_folds=2)
    recipe = ClassifierRecipe(config, log=lambda _m: None)
    recipe.run()
    fit = recipe.crossfit
    fusion = json.loads((run / "metrics.json").read_text())["fusion"]
    assert fit.network.ndim == 1 and len(fit.network) == len(fit.gold)
    assert sorted(fit.gold) == sorted([*recipe.targets["train"], *recipe.targets["valid"]])
    assert fusion["weight"] == least_error_weight(weight_errors(fit.network, fit.linear, fit.gold))
    assert set(fusion["rmse"]) == {"valid", "crossfit", "test"}


def test_a_label_with_fewer_rows_than_folds_is_named(tmp_path):
    data = make_dataset(tmp_path / "data")
    pos = [(f"good great fine {w}", "pos") for w in "abcdef"]
    neg = [(f"bad awful poor {w}", "neg") for w in "ab"]
    train = write_csv(tmp_path / "few.csv", pos + neg)
    test = write_csv(tmp_path / "few_test.csv", [("good fine", "pos"), ("bad poor", "neg")])
    config = _config(data, tmp_path / "run", train=str(train), test=str(test),
                     valid_fraction=0.0, fuse_folds=3)  # fmt: skip
    with pytest.raises(DataError, match=r"few\.csv: cv=3 needs at least 3 rows of every label"):
        ClassifierRecipe(config, log=lambda _m: None).run()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"fuse_folds": 1}, "fuse_folds is 0 .off. or >= 2; got 1"),
        ({"fuse_folds": 3, "fuse_weight": 0.5}, "fuse_weight or fuse_pool fixes it"),
        ({"fuse_folds": 3, "fuse_pool": [1, 1]}, "fuse_weight or fuse_pool fixes it"),
        ({"fuse_folds": 3, "fuse_linear": False}, "keeps the network alone"),
        ({"fuse_folds": 3, "model": "linear", "vectors": "random"},
         "fuse_folds: fusion needs an embedding model"),
    ],
)
def test_fold_counts_and_conflicting_settings_are_refused(overrides, message):
    with pytest.raises(ConfigError, match=message):
        FinetuneConfig(train="t.csv", **overrides)


def test_cross_fitting_needs_no_validation_split():
    config = FinetuneConfig(train="t.csv", valid_fraction=0.0, fuse_folds=5)
    assert config.fusion_blocker() is None


def test_fold_networks_train_the_epochs_the_run_s_network_kept(tmp_path, monkeypatch):
    # without a validation split of their own they cannot stop early: they train as long as
    # the run's best epoch, not the whole step budget
    from vecgraft.finetune import crossfit

    epochs: list[int | None] = []
    real = crossfit.given_recipe

    def spy(base, config, splits, **kwargs):
        epochs.append(config.epochs)
        assert config.patience is None and config.freeze_epochs <= config.epochs
        return real(base, config, splits, **kwargs)

    monkeypatch.setattr(crossfit, "given_recipe", spy)
    data = make_dataset(tmp_path / "data")
    # a step budget: the fold's fewer rows per epoch would otherwise give it more epochs
    config = _config(data, tmp_path / "run", epochs=None, train_steps=40, patience=1,
                     min_valid=1, valid_fraction=0.3, fuse_folds=2)  # fmt: skip
    recipe = ClassifierRecipe(config, log=lambda _m: None)
    recipe.run()
    assert recipe.state.best_epoch is not None
    assert epochs == [recipe.state.best_epoch] * 2, recipe.state.best_epoch

