"""`evaluate` reports the log-loss of the probabilities it predicts with (it reported no loss).

Checked against scikit-learn's `log_loss` on the same probabilities and labels, for a linear
run, a network alone and a network fused with the linear model; `finetune`'s metrics.json
keeps the same field for its test split.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import log_loss

from finetune_helpers import make_dataset, make_texts, write_csv
from vecgraft.cli import main
from vecgraft.finetune.fusion import as_eval_result
from vecgraft.finetune.metrics import ClassificationMetrics, LogLossSum, classification_metrics
from vecgraft.finetune.predict import load_run


def _rows(path: Path) -> list[tuple[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [(row["text"], row["label"]) for row in csv.DictReader(fh)]


def _sklearn_log_loss(run: Path, rows: list[tuple[str, str]]) -> float:
    """scikit-learn's log_loss of the run's predicted probabilities, on the rows it knows."""
    predictor = load_run(run)
    known = [(text, label) for text, label in rows if label in predictor.labels]
    proba = predictor.predict_proba([text for text, _ in known]).numpy()
    gold = [predictor.labels.index(label) for _, label in known]
    return float(log_loss(gold, proba, labels=list(range(len(predictor.labels)))))


def _evaluated(run: Path, data: Path, capsys) -> tuple[dict, str]:
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(data), "--metrics-out",
                 str(run.parent / "eval.json")]) == 0  # fmt: skip
    out = capsys.readouterr().out
    return json.loads((run.parent / "eval.json").read_text())["test"], out


def test_a_linear_run_s_log_loss_is_scikit_learn_s(tmp_path, capsys):
    train = write_csv(tmp_path / "train.csv", make_texts(15, seed=1))
    # a row whose label the run never saw: an error, left out of the log-loss as of the loss
    rows = [*make_texts(4, seed=5), ("robot goal bread", "weather")]
    data = write_csv(tmp_path / "data.csv", rows)
    run = tmp_path / "run"
    assert main(["finetune", "--train", str(train), "--test", str(data), "--model", "linear",
                 "--out", str(run), "--no-plots"]) == 0  # fmt: skip
    scores, out = _evaluated(run, data, capsys)
    expected = _sklearn_log_loss(run, rows)
    assert scores["log_loss"] == pytest.approx(expected, rel=1e-6)
    assert f"macro F1 {scores['macro_f1']:.4f}, log loss {expected:.4f}\n" in out
    test = json.loads((run / "metrics.json").read_text())["test"]
    assert test["log_loss"] == pytest.approx(expected, rel=1e-6) and test["loss"] is None


@pytest.mark.parametrize("fused", [False, True])
def test_a_network_run_s_log_loss_is_that_of_the_probabilities_it_predicts_with(
    tmp_path, capsys, fused
):
    data = make_dataset(tmp_path, train_per_class=15, test_per_class=5)
    run = tmp_path / "run"
    assert main(["finetune", "--train", str(data["train"]), "--test", str(data["test"]),
                 "--vectors", str(data["vectors"]), "--model", "boe", "--epochs", "2",
                 "--out", str(run), "--no-plots", "--no-progress",
                 "--fuse-linear" if fused else "--no-fuse-linear"]) == 0  # fmt: skip
    metrics = json.loads((run / "metrics.json").read_text())
    assert ("fusion" in metrics) is fused
    scores, _ = _evaluated(run, data["test"], capsys)
    expected = _sklearn_log_loss(run, _rows(data["test"]))  # the fused ones where fused
    assert scores["log_loss"] == pytest.approx(expected, rel=1e-5)
    # finetune's test block: the same field, of the same probabilities
    assert metrics["test"]["log_loss"] == pytest.approx(expected, rel=1e-5)
    assert {k: scores[k] for k in ("accuracy", "macro_f1")} == {
        k: metrics["test"][k] for k in ("accuracy", "macro_f1")
    }


def test_log_loss_sum_clips_and_skips_as_scikit_learn_and_the_loss_do():
    proba = np.array([[0.7, 0.3], [0.0, 1.0], [1.0, 0.0], [0.5, 0.5]], dtype=np.float32)
    gold = [0, 0, 0, 2]  # a certain wrong row (p = 0: clipped to eps); id 2: never seen
    summed = LogLossSum()
    summed.add(proba[:2], gold[:2])
    summed.add(proba[2:], gold[2:])
    assert summed.rows == 3
    assert summed.mean() == pytest.approx(log_loss(gold[:3], proba[:3], labels=[0, 1]), rel=1e-6)
    assert LogLossSum().mean() is None
    fused = as_eval_result(proba, gold, 3)
    assert fused.log_loss == pytest.approx(summed.mean())


def test_saved_metrics_without_log_loss_still_load_and_are_written_as_before():
    metrics = classification_metrics([0, 1], [0, 0], ["a", "b"])
    old = metrics.to_dict()
    assert "log_loss" not in old  # not computed: the file is as it was
    assert ClassificationMetrics.from_dict(old).log_loss is None
    metrics.log_loss = 0.25
    assert ClassificationMetrics.from_dict(metrics.to_dict()).log_loss == 0.25


def test_a_linear_run_fitted_without_a_label_keeps_evaluate_s_log_loss(tmp_path, capsys):
    """A `max_rows` sample that leaves out a rare label sorting between the others: the
    model's probability columns (its classes food, tech) were read as the run's label ids
    (food, sport, tech), so metrics.json scored sport rows on tech's column and dropped
    the tech rows."""
    from vecgraft.finetune.linear import LinearModel

    rows = make_texts(15, seed=1)  # labels: food, sport, tech
    labels = sorted({label for _, label in rows})
    rare = labels[1]  # a label between the others in sorted order
    train = [(text, label) for text, label in rows if label != rare]
    train.insert(7, (next(text for text, label in rows if label == rare), rare))
    data_rows = make_texts(4, seed=5)
    data = write_csv(tmp_path / "data.csv", data_rows)
    run = tmp_path / "run"
    train_csv = write_csv(tmp_path / "train.csv", train)
    assert main(["finetune", "--train", str(train_csv), "--test", str(data), "--model",
                 "linear", "--model-option", "max_rows=12", "--model-option", "kind=logreg",
                 "--out", str(run), "--no-plots"]) == 0  # fmt: skip
    assert LinearModel.load(run).classes == [labels[0], labels[2]]  # the sample lacks `rare`
    assert sum(label == rare for _, label in data_rows) == 4  # its rows: not counted
    expected = _sklearn_log_loss(run, data_rows)
    test = json.loads((run / "metrics.json").read_text())["test"]
    assert test["log_loss"] == pytest.approx(expected, rel=1e-6)
    scores, _ = _evaluated(run, data, capsys)
    assert scores["log_loss"] == pytest.approx(expected, rel=1e-6)


def test_a_linear_run_s_evaluate_reads_each_text_once(tmp_path, monkeypatch):
    """Labels and log-loss come from one `decision_function` per chunk: `predict_proba`
    then `predict` read (segmented, counted) every text's n-grams twice."""
    from vecgraft.finetune.linear import LinearModel

    train = write_csv(tmp_path / "train.csv", make_texts(10, seed=1))
    rows = [*make_texts(3, seed=5), ("robot goal bread", "weather")]
    data = write_csv(tmp_path / "data.csv", rows)
    run = tmp_path / "run"
    assert main(["finetune", "--train", str(train), "--model", "linear", "--out", str(run),
                 "--no-plots"]) == 0  # fmt: skip
    predictor = load_run(run)
    read: list[int] = []
    scores = LinearModel.decision_function

    def counted(self: LinearModel, texts: list[str]) -> np.ndarray:
        read.append(len(texts))
        return scores(self, texts)

    monkeypatch.setattr(LinearModel, "decision_function", counted)
    metrics = predictor.evaluate(data)
    assert read == [len(rows)]
    monkeypatch.undo()
    predicted = predictor.predict([text for text, _ in rows])  # the unseen label's row: wrong
    assert metrics.accuracy == np.mean([p == label for p, (_, label) in zip(predicted, rows)])
    assert metrics.log_loss == pytest.approx(_sklearn_log_loss(run, rows), rel=1e-6)
