"""`--task regression`: mean squared error, RMSE/MAE/Pearson/Spearman, numbers from predict."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr

from finetune_helpers import score_rows as _rows
from finetune_helpers import write_csv
from vecgraft.cli import main
from vecgraft.errors import DataError
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.run import finetune
from vecgraft.finetune.scoring import regression_metrics


def test_regression_metrics_match_scipy():
    true, pred = [0.0, 1.0, 2.0, 3.0, 4.0], [0.5, 0.5, 2.5, 2.0, 4.5]
    got = regression_metrics(true, pred)
    err = np.subtract(pred, true)
    assert got["rmse"] == pytest.approx(math.sqrt(np.mean(err**2)))
    assert got["mae"] == pytest.approx(np.mean(np.abs(err)))
    assert got["pearson"] == pytest.approx(pearsonr(true, pred)[0])
    assert got["spearman"] == pytest.approx(spearmanr(true, pred)[0])
    assert math.isnan(regression_metrics([1.0, 2.0], [3.0, 3.0])["pearson"])  # constant


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
    capsys.readouterr()
    texts = tmp_path / "texts.txt"
    texts.write_text("wonderful great superb fun\nawful dull boring bad\n")
    assert main(["predict", str(run), str(texts)]) == 0
    high, low = (float(x) for x in capsys.readouterr().out.split())
    assert high > 3.0 and low < 1.0
    assert main(["evaluate", str(run), "--data", str(test)]) == 0
    saved = json.loads((run / "eval-test.json").read_text())["regression"]["test"]
    assert saved["rmse"] == pytest.approx(block["rmse"], rel=1e-5)


def test_non_numeric_label_is_a_data_error(tmp_path):
    train = write_csv(tmp_path / "train.csv", [*_rows(20, seed=1), ("a fine film", "good")])
    cfg = FinetuneConfig(train=str(train), task="regression", model="boe", epochs=1,
                         out=str(tmp_path / "run"), plots=False, progress=False)
    with pytest.raises(DataError, match=r"label 'good' is not a number \(--task regression"):
        finetune(cfg, log=lambda _: None)
