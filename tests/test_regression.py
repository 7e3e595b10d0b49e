"""`--task regression`: mean squared error, RMSE/MAE/Pearson/Spearman, numbers from predict."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr

from finetune_helpers import continuous_rows, write_csv
from finetune_helpers import score_rows as _rows
from vecgraft.cli import main
from vecgraft.errors import DataError
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.run import finetune
from vecgraft.finetune.scoring import regression_metrics
from vecgraft.finetune.splits import stratified_split, value_strata
from vecgraft.text.labelled import LabelledData


def test_regression_metrics_match_scipy():
    true, pred = [0.0, 1.0, 2.0, 3.0, 4.0], [0.5, 0.5, 2.5, 2.0, 4.5]
    got = regression_metrics(true, pred)
    err = np.subtract(pred, true)
    assert got["rmse"] == pytest.approx(math.sqrt(np.mean(err**2)))
    assert got["mae"] == pytest.approx(np.mean(np.abs(err)))
    assert got["pearson"] == pytest.approx(pearsonr(true, pred)[0])
    assert got["spearman"] == pytest.approx(spearmanr(true, pred)[0])
    assert math.isnan(regression_metrics([1.0, 2.0], [3.0, 3.0])["pearson"])  # constant
    # rounded to whole numbers (halves to even) within 0-4: 0, 0, 2, 2, 4 -> 0, 2, 4 hit
    assert got["rounded_accuracy"] == pytest.approx(3 / 5)
    # clipped to the targets' range: 5.2 -> 5 -> 4 hits 4, -0.7 -> -1 -> 0 hits 0
    assert regression_metrics([0.0, 4.0], [-0.7, 5.2])["rounded_accuracy"] == 1.0
    assert "rounded_accuracy" not in regression_metrics([0.5, 1.25], [0.5, 1.25])


@pytest.mark.parametrize("model", ["boe", "linear"])
def test_regression_run_predict_and_evaluate(tmp_path, capsys, model):
    train = write_csv(tmp_path / "train.csv", _rows(150, seed=1))
    test = write_csv(tmp_path / "test.csv", _rows(31, seed=2))
    run = tmp_path / "run"
    flags = ["--epochs", "15", "--lr", "0.02", "--embedding-lr", "0.02"] if model == "boe" else []
    assert main(["finetune", "--train", str(train), "--test", str(test), "--task", "regression",
                 "--model", model, "--out", str(run), "--no-plots", *flags]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    block = metrics["regression"]["test"]
    assert set(block) >= {"rmse", "mae", "pearson", "spearman"}
    assert block["pearson"] > 0.9 and block["rmse"] < 0.7
    assert metrics["test"] == block and metrics["task"] == "regression"
    # the floor: always the mean of the training split's labels, scored on the test rows
    from vecgraft.finetune.metrics import mean_baseline

    splits = json.loads((run / "splits.json").read_text())

    def labels(part: str) -> list[float]:
        by_line = {}
        for path in (train, test):
            lines = path.read_text().splitlines()
            by_line |= {f"{path}:{i + 1}": float(line.rsplit(",", 1)[1])
                        for i, line in enumerate(lines) if i}  # fmt: skip
        return [by_line[row] for row in splits[part]["rows"]]

    assert metrics["mean_baseline"] == pytest.approx(mean_baseline(labels("train"), labels("test")))
    assert block["rmse"] < metrics["mean_baseline"]["rmse"]
    assert "Mean baseline (always " in capsys.readouterr().out
    texts = tmp_path / "texts.txt"
    texts.write_text("wonderful great superb fun\nawful dull boring bad\n")
    assert main(["predict", str(run), str(texts)]) == 0
    high, low = (float(x) for x in capsys.readouterr().out.split())
    assert high > 3.0 and low < 1.0
    assert main(["evaluate", str(run), "--data", str(test)]) == 0
    saved = json.loads((run / "eval-test.json").read_text())["regression"]["test"]
    assert saved["rmse"] == pytest.approx(block["rmse"], rel=1e-5)


def test_mean_baseline_is_the_training_mean_scored_on_test():
    from vecgraft.finetune.metrics import mean_baseline

    got = mean_baseline([1.0, 2.0, 3.0, 6.0], [3.0, 0.0, 3.0])  # mean 3
    assert got == {"value": 3.0, "rmse": pytest.approx(math.sqrt(3.0)), "mae": 1.0}
    with pytest.raises(DataError, match="training set is empty"):
        mean_baseline([], [1.0])


def test_non_numeric_label_is_a_data_error(tmp_path):
    train = write_csv(tmp_path / "train.csv", [*_rows(20, seed=1), ("a fine film", "good")])
    cfg = FinetuneConfig(train=str(train), task="regression", model="boe", epochs=1,
                         out=str(tmp_path / "run"), plots=False, progress=False)
    with pytest.raises(DataError, match=r"label 'good' is not a number \(--task regression"):
        finetune(cfg, log=lambda _: None)


def test_few_distinct_values_stratify_as_labels_and_many_as_quantile_bins():
    assert value_strata(["0", "4", "4", "2"]) == ["0", "4", "4", "2"]  # SST-5: as before
    values = [f"{v:.3f}" for v in np.random.default_rng(0).uniform(0, 1, 40)]
    strata = value_strata(values, bins=4)
    assert sorted(strata.count(f"q{b}") for b in range(4)) == [10, 10, 10, 10]
    order = sorted(range(40), key=lambda i: float(values[i]))
    assert [strata[i] for i in order] == [f"q{r * 4 // 40}" for r in range(40)]
    assert value_strata([*values[:30], "good"], bins=4)[-1] == "good"  # reported later


def test_a_split_of_continuous_values_keeps_their_spread():
    values = [f"{v:.4f}" for v in np.random.default_rng(1).uniform(0, 1, 100)]
    data = LabelledData([f"text {i}" for i in range(100)], values, "d.csv", list(range(2, 102)))
    with pytest.raises(DataError, match="no label has two or more"):
        stratified_split(data, 0.2, 0)  # one row per value: nothing could be set aside
    train, test = stratified_split(data, 0.2, 0, strata=value_strata(data.labels))
    assert len(test) == 20 and len(train) == 80
    # two test rows from each tenth of the value range
    deciles = sorted(int(10 * np.searchsorted(sorted(map(float, values)), float(v)) / 100)
                     for v in test.labels)
    assert deciles == sorted(list(range(10)) * 2)


def test_continuous_labels_train_with_carved_validation_and_test_splits(tmp_path):
    train = write_csv(tmp_path / "train.csv", continuous_rows(150, seed=1))
    cfg = FinetuneConfig(train=str(train), task="regression", model="boe", epochs=3,
                         out=str(tmp_path / "run"), plots=False, progress=False)
    result = finetune(cfg, log=lambda _: None)
    assert result.metrics["sizes"] == {"train": 110, "valid": 10, "test": 30}  # 1 of 12 per tenth
    assert result.metrics["regression"]["test"]["pearson"] > 0.5
