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
from vecgraft.errors import CheckpointError, DataError
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.run import finetune
from vecgraft.finetune.scoring import TargetRange, regression_metrics
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
    assert "rounded_accuracy" not in got  # no training range given: nothing to clip to


def test_rounded_accuracy_clips_to_the_training_range_not_the_scored_one():
    grades = TargetRange.of([0.0, 4.0, 2.0, 1.0])  # SST-5-like training labels, 0-4
    assert grades == TargetRange(0.0, 4.0, True)

    def rounded(true, pred, train_range=grades):
        return regression_metrics(true, pred, train_range=train_range)["rounded_accuracy"]

    # rounded to whole numbers (halves to even) within 0-4: 0, 0, 2, 2, 4 -> 0, 2, 4 hit
    assert rounded([0.0, 1.0, 2.0, 3.0, 4.0], [0.5, 0.5, 2.5, 2.0, 4.5]) == pytest.approx(3 / 5)
    # clipped to the training range: 5.2 -> 5 -> 4 hits 4, -0.7 -> -1 -> 0 hits 0
    assert rounded([0.0, 4.0], [-0.7, 5.2]) == 1.0
    # a file whose labels are all 4: clipped to its own range (4-4) every prediction hit
    assert rounded([4.0, 4.0, 4.0], [0.2, 1.0, 2.4]) == 0.0
    assert rounded([4.0, 4.0, 4.0], [1.2, 3.6, 6.0]) == pytest.approx(2 / 3)
    # a label outside the training range (1-3) is never hit: 5.2 -> 3, -0.7 -> 1
    assert rounded([0.0, 4.0], [-0.7, 5.2], TargetRange.of([1.0, 3.0, 2.0])) == 0.0
    assert rounded([0.0, 2.0], [-0.7, 2.2], TargetRange.of([1.0, 3.0])) == 0.5
    # only whole-number labels on both sides have a rounded accuracy
    halves = TargetRange.of([0.5, 4.0])
    assert halves == TargetRange(0.5, 4.0, False)
    assert "rounded_accuracy" not in regression_metrics([1.0, 2.0], [1.0, 2.0], train_range=halves)
    assert "rounded_accuracy" not in regression_metrics([0.5, 1.25], [0.5, 1.25],
                                                        train_range=grades)  # fmt: skip


def test_rounded_accuracy_needs_whole_number_labels_on_a_small_scale():
    # 0, 1e9, ..., 4e9 are whole numbers: their rounded_accuracy was a meaningless 0.0000
    billions = [0.0, 1e9, 2e9, 3e9, 4e9]
    assert TargetRange.of(billions) == TargetRange(0.0, 4e9, False)
    got = regression_metrics(billions, [1.0, 1e9 + 3, 2e9, 3e9, 4e9],
                             train_range=TargetRange.of(billions))  # fmt: skip
    assert "rounded_accuracy" not in got
    for labels, scale in (([0, 1, 2, 3, 4], True), ([1, 3], True), ([3, 3], True),
                          ([0, 100], True), ([0, 1, 101], False), ([0.5, 1], False)):  # fmt: skip
        assert TargetRange.of([float(v) for v in labels]).whole is scale, labels
    # a run saved before the check kept whole_numbers true for a span of 4e9: read as no scale
    old = {"min": 0.0, "max": 4e9, "whole_numbers": True}
    assert TargetRange.from_dict(old) == TargetRange(0.0, 4e9, False)


def test_a_run_of_labels_a_billion_apart_reports_no_rounded_accuracy(tmp_path):
    rows = [(text, str(int(s) * 10**9)) for text, s in _rows(60, seed=4)]
    train = write_csv(tmp_path / "train.csv", rows)
    cfg = FinetuneConfig(train=str(train), task="regression", model="linear",
                         out=str(tmp_path / "run"), plots=False, progress=False)  # fmt: skip
    finetune(cfg, log=lambda _: None)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert "rounded_accuracy" not in metrics["test"]
    assert metrics["train_range"] == {"min": 0.0, "max": 4e9, "whole_numbers": False}


def test_the_linear_regressions_strength_is_said_as_alpha_in_both_lines(tmp_path):
    # "Linear model: ... ridge regression (alpha 2)", then "... linear model (ridge, C=0.5)"
    train = write_csv(tmp_path / "train.csv", _rows(60, seed=4))
    cfg = FinetuneConfig(train=str(train), task="regression", model="linear",
                         out=str(tmp_path / "run"), plots=False, progress=False)  # fmt: skip
    lines: list[str] = []
    finetune(cfg, log=lines.append)
    said = [line for line in lines if line.startswith(("Linear model: ", "Fitting"))]
    assert [line.split(" on ")[0] for line in said] == [
        "Linear model: TF-IDF word 1-2-grams + char 2-5-grams inside words, ridge regression "
        "(alpha 2)",
        "Fitting the TF-IDF linear model (ridge, alpha 2):",
        "Fitting ridge regression", "Fitting ridge regression",
    ]
    assert said[-1].endswith(" TF-IDF features (the target: a number)")


def test_a_target_range_round_trips_and_refuses_what_it_did_not_write():
    for kept in (TargetRange(0.0, 4.0, True), TargetRange(-1.5, 2.25, False)):
        assert TargetRange.from_dict(json.loads(json.dumps(kept.to_dict()))) == kept
    assert TargetRange(0.0, 4.0, True).to_dict() == {"min": 0.0, "max": 4.0,
                                                     "whole_numbers": True}  # fmt: skip
    assert TargetRange.from_dict({"min": 1, "max": 5, "whole_numbers": True}) == TargetRange(
        1.0, 5.0, True
    )
    for bad in (None, [0, 4], {"min": 0, "max": 4}, {"min": "0", "max": 4, "whole_numbers": True},
                {"min": 0, "max": True, "whole_numbers": True},
                {"min": 0, "max": 4, "whole_numbers": "yes"}):  # fmt: skip
        with pytest.raises(ValueError, match="not a target range"):
            TargetRange.from_dict(bad)
    for bad in ({"min": 4, "max": 0, "whole_numbers": True},
                {"min": 0, "max": float("inf"), "whole_numbers": False},
                {"min": 0.5, "max": 4, "whole_numbers": True}):  # fmt: skip
        with pytest.raises(ValueError, match="needs finite ends, min <= max"):
            TargetRange.from_dict(bad)
    with pytest.raises(ValueError, match="one or more finite training targets"):
        TargetRange.of([])


@pytest.mark.parametrize("model", ["boe", "linear"])
def test_regression_run_predict_and_evaluate(tmp_path, capsys, monkeypatch, model):
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
    # what a saved run's `evaluate` clips rounded predictions to: the training labels' range
    assert metrics["train_range"] == {"min": 0.0, "max": 4.0, "whole_numbers": True}
    assert "rounded_accuracy" in block and "rounded_accuracy" in metrics["regression"]["valid"]
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
    assert saved["rounded_accuracy"] == pytest.approx(block["rounded_accuracy"])
    assert json.loads((run / "eval-test.json").read_text())["task"] == "regression"
    # the texts encoded and scored 7 at a time: the same numbers up to float32 rounding (a
    # network batches rows by length within what it is given, and sums over the padded width)
    from vecgraft.finetune import predict

    whole = json.loads((run / "eval-test.json").read_text())
    monkeypatch.setattr(predict, "SCORE_CHUNK", 7)
    assert main(["evaluate", str(run), "--data", str(test)]) == 0
    chunked = json.loads((run / "eval-test.json").read_text())
    assert chunked.keys() == whole.keys() and chunked["test"].keys() == whole["test"].keys()
    for key, value in whole["test"].items():
        assert chunked["test"][key] == pytest.approx(value, rel=1e-5, abs=1e-6), key


def test_a_saved_run_clips_rounded_predictions_to_its_training_range(tmp_path, capsys):
    # a test file whose labels were all 4 scored rounded_accuracy 1.0 whatever the model
    # predicted: predictions were clipped to the scored labels' range (4-4), not 0-4
    from vecgraft.finetune.predict import load_run

    train = write_csv(tmp_path / "train.csv", _rows(150, seed=1))
    texts = [t for t, _ in _rows(30, seed=2)]
    fours = write_csv(tmp_path / "fours.csv", [(t, "4") for t in texts])
    run = tmp_path / "run"
    assert main(["finetune", "--train", str(train), "--test", str(fours), "--task", "regression",
                 "--model", "linear", "--no-dedupe", "--out", str(run), "--no-plots"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["train_range"] == {"min": 0.0, "max": 4.0, "whole_numbers": True}
    predictor = load_run(run)
    assert predictor.train_range == TargetRange(0.0, 4.0, True)
    predicted = predictor.predict_values(texts)
    hits = float(np.mean(np.clip(np.round(predicted), 0, 4) == 4))
    assert 0.0 < hits < 0.5  # the rows with four good words, not every row
    assert metrics["test"]["rounded_accuracy"] == pytest.approx(hits)
    assert main(["evaluate", str(run), "--data", str(fours)]) == 0
    said = capsys.readouterr()
    assert "rounded_accuracy" not in said.err
    evaluated = json.loads((run / "eval-fours.json").read_text())["test"]
    assert evaluated["rounded_accuracy"] == pytest.approx(hits)
    text_file = tmp_path / "texts.txt"
    text_file.write_text("\n".join(texts) + "\n")
    assert main(["predict", str(run), str(text_file)]) == 0
    printed = capsys.readouterr().out
    # load_run reads the range while it holds the folder: a run that replaces metrics.json
    # afterwards (--overwrite sets it aside) does not change what evaluate clips to
    loaded, record = load_run(run), (run / "metrics.json").read_bytes()
    (run / "metrics.json").unlink()
    kept = loaded.evaluate(fours)
    assert kept.scores["rounded_accuracy"] == pytest.approx(hits) and kept.note is None
    (run / "metrics.json").write_bytes(record)

    # a run saved before the range was kept loads and predicts as before; evaluate leaves
    # rounded_accuracy out (the scored labels' range would inflate it) and says why
    del metrics["train_range"]
    (run / "metrics.json").write_text(json.dumps(metrics))
    old = load_run(run)
    assert old.train_range is None and old.predict_values(texts) == predicted
    report = old.evaluate(fours)
    assert "rounded_accuracy" not in report.scores
    assert report.scores["rmse"] == pytest.approx(evaluated["rmse"])
    assert report.note.startswith("rounded_accuracy left out: the run does not record the "
                                  "range of its training labels (metrics.json's \"train_range\"")
    assert main(["predict", str(run), str(text_file)]) == 0
    assert capsys.readouterr().out == printed
    assert main(["evaluate", str(run), "--data", str(fours)]) == 0
    assert "WARNING: rounded_accuracy left out" in capsys.readouterr().err
    assert "rounded_accuracy" not in json.loads((run / "eval-fours.json").read_text())["test"]
    # labels that are not whole numbers have no rounded accuracy to miss: no note
    halves = write_csv(tmp_path / "halves.csv", [(t, "3.5") for t in texts])
    assert old.evaluate(halves).note is None
    # an edited range is refused by evaluate, naming the file; predict never reads it
    # (load_run read it for every regression predictor, so predict failed on it too)
    metrics["train_range"] = {"min": 4, "max": 0, "whole_numbers": True}
    (run / "metrics.json").write_text(json.dumps(metrics))
    edited = load_run(run)
    assert edited.predict_values(texts) == predicted
    assert main(["predict", str(run), str(text_file)]) == 0
    assert capsys.readouterr().out == printed
    with pytest.raises(CheckpointError, match=r'metrics.json: "train_range": a target range '):
        edited.evaluate(fours)


def test_an_unfinished_runs_evaluate_says_the_run_has_not_finished(tmp_path):
    # its last/ scored without metrics.json (which records the range when the run ends):
    # the note told the user to train again, as for a run saved before the range was kept
    from vecgraft.finetune.predict import load_run

    train = write_csv(tmp_path / "train.csv", _rows(60, seed=1))
    test = write_csv(tmp_path / "test.csv", _rows(12, seed=2))
    run = tmp_path / "run"
    assert main(["finetune", "--train", str(train), "--test", str(test), "--task", "regression",
                 "--model", "boe", "--epochs", "1", "--out", str(run), "--no-plots"]) == 0
    (run / "metrics.json").unlink()  # as a run looks while it trains, or once interrupted
    report = load_run(run, checkpoint="last").evaluate(test)
    assert "rounded_accuracy" not in report.scores
    assert report.note == (
        "rounded_accuracy left out: the run has not finished, and the range of its training "
        "labels is recorded when it does (metrics.json's \"train_range\"); the scored labels' "
        "own range would inflate it"
    )


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


@pytest.mark.parametrize("test_file", [False, True])
def test_bad_labels_are_named_in_file_order_with_a_decimal_comma_hint(tmp_path, test_file):
    # a split --train file named a shuffled row (":4: '1,5'") while line 2 held "4,5"
    rows = [(text, f"{s},5") for text, s in _rows(40, seed=1)]
    train = write_csv(tmp_path / "train.csv", rows)
    test = write_csv(tmp_path / "test.csv", _rows(10, seed=2)) if test_file else None
    cfg = FinetuneConfig(train=str(train), test=None if test is None else str(test),
                         task="regression", model="linear", out=str(tmp_path / "run"),
                         seed=3, plots=False, progress=False)  # fmt: skip
    first = rows[0][1]  # seed 3 puts line 2 in a held-out part: line 3 was named
    with pytest.raises(DataError) as err:
        finetune(cfg, log=lambda _: None)
    assert str(err.value) == (
        f"{train}:2: label {first!r} is not a number (--task regression needs numeric "
        f"labels); it looks like a decimal comma: write {first.replace(',', '.')}"
    )


def test_only_a_decimal_comma_label_gets_the_hint():
    from vecgraft.finetune.recipe import numeric_targets

    for label, hint in (("-1,25", True), ("1,5,2", False), ("1, 5", False), ("50%", False)):
        data = LabelledData(["a"], [label], source="t.csv", lines=[2])
        with pytest.raises(DataError) as err:
            numeric_targets(data)
        assert ("decimal comma" in str(err.value)) is hint, label


def test_classifier_only_flags_given_to_a_regression_are_refused_as_their_siblings(
    tmp_path, capsys
):
    # --fuse-rule pool and --metric accuracy were taken and ignored, while --fuse-pool 1 1
    # and --metric macro_f1 were refused
    train = write_csv(tmp_path / "train.csv", _rows(40, seed=1))
    base = ["finetune", "--train", str(train), "--task", "regression", "--model", "boe",
            "--out", str(tmp_path / "run"), "--no-plots"]  # fmt: skip
    for flags, message in (
        (["--fuse-rule", "pool"], "--fuse-rule pool pools class probabilities; a regression "
         "mixes the two predictions by a share (--fuse-weight fixes one)"),
        (["--metric", "accuracy"], "--metric accuracy scores classes; a regression stops "
         "early on the validation loss (MSE)"),
    ):  # fmt: skip
        capsys.readouterr()
        assert main([*base, *flags]) == 1
        assert capsys.readouterr().err == f"vecgraft finetune: error: {message}\n"
    # a --config file gets a note: a run's config.json and tune's best.yaml hold the defaults
    config = tmp_path / "c.yaml"
    config.write_text("metric: accuracy\nepochs: 1\n", encoding="utf-8")
    assert main([*base, "--config", str(config)]) == 0
    assert (f"note: {config}: metric 'accuracy' is not used: it scores classes; a regression "
            "stops early on the validation loss (MSE)\n") in capsys.readouterr().err


def test_a_linear_regression_run_names_its_one_output_as_the_others_do(tmp_path):
    # load_run(run).labels was [] for --model linear, ['value'] for network, fused, hf and
    # ensemble runs
    from vecgraft.finetune.predict import load_run

    train = write_csv(tmp_path / "train.csv", _rows(40, seed=1))
    for model in ("linear", "boe"):
        run = tmp_path / model
        finetune(FinetuneConfig(train=str(train), task="regression", model=model, epochs=1,
                                out=str(run), plots=False, progress=False),
                 log=lambda _: None)  # fmt: skip
        assert load_run(run).labels == ["value"], model


def test_the_mean_baseline_line_says_which_rows_and_prints_the_mean_in_full():
    # --valid-fraction 0 said "validation rows left out"; 1,000,000,002.03 printed "1e+09"
    from vecgraft.finetune.recipe import baseline_lines

    mean = {"value": 1_000_000_002.03, "rmse": 1.5, "mae": 1.25}
    said = {valid: baseline_lines({"mean_baseline": mean, "sizes": {"valid": valid}})
            for valid in (0, 40)}  # fmt: skip
    assert said[0] == ["Mean baseline (always 1000000002.03, the training split's mean; the "
                       "run has no validation rows): RMSE 1.5000, MAE 1.2500"]  # fmt: skip
    assert said[40] == ["Mean baseline (always 1000000002.03, the training split's mean, "
                        "validation rows left out): RMSE 1.5000, MAE 1.2500"]  # fmt: skip
    assert baseline_lines({"mean_baseline": {**mean, "value": 2.0346}}) == [
        "Mean baseline (always 2.035, the run's training mean): RMSE 1.5000, MAE 1.2500"]


def test_a_constant_label_logs_its_zero_spread_and_what_stands_in_for_it(tmp_path):
    # it said "standard deviation 1": the spread is 0, and 1 is a substitute
    train = write_csv(tmp_path / "train.csv", [(text, "3") for text, _ in _rows(40, seed=1)])
    lines: list[str] = []
    finetune(FinetuneConfig(train=str(train), task="regression", model="boe", epochs=1,
                            valid_fraction=0, out=str(tmp_path / "run"), plots=False,
                            progress=False), log=lines.append)  # fmt: skip
    assert ("Targets: the network predicts z-scores, mapped back by the training mean 3 and a "
            "scale of 1 (the training targets do not vary: their standard deviation is 0)"
            ) in lines  # fmt: skip
    said = [line for line in lines if line.startswith("Mean baseline")]
    assert said[0].startswith("Mean baseline (always 3, the training split's mean; the run has "
                              "no validation rows)")  # fmt: skip


def test_the_docs_describe_the_value_strata_and_predict_precision_as_they_are():
    # they said "by tenths of their range" (value_strata ranks: deciles of equal count) and
    # that scores from predict's output "equal the run's" (a tune's final run: to ~1e-9)
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    skewed = [f"{v / 100}" for v in range(90)] + [f"{90 + v}" for v in range(10)]
    strata = value_strata(skewed)  # tenths of the range: 90 rows in the first, 10 in the last
    assert sorted(strata.count(f"q{b}") for b in range(10)) == [10] * 10
    readme = " ".join((root / "README.md").read_text(encoding="utf-8").split())
    quickstart = " ".join((root / "docs/quickstart.md").read_text(encoding="utf-8").split())
    for text in (readme, quickstart):
        assert "tenths of their range" not in text
        assert "by deciles (the rows ranked by label in ten groups of equal count" in text
    assert "equal the run's" not in quickstart
    assert "agree with the run's to float precision" in quickstart


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


def test_target_scale_is_the_training_mean_and_sd_and_round_trips():
    import torch

    from vecgraft.nn.target import TargetScale, loss_unit

    scale = TargetScale.of([1990.0, 2000.0, 2010.0, 2000.0])
    assert scale == TargetScale(2000.0, math.sqrt(50.0))
    assert TargetScale.from_dict(scale.to_dict()) == scale
    assert TargetScale.of([]) == TargetScale(0.0, 1.0)
    for bad in ({"shift": 0.0, "scale": 0.0}, {"shift": math.nan, "scale": 1.0}):
        with pytest.raises(ValueError, match="target scale"):
            TargetScale.from_dict(bad)
    model = torch.nn.Linear(2, 1)
    x = torch.randn(5, 2)
    raw = model(x)
    assert loss_unit(model) == 1.0
    scale.attach(model)
    assert torch.allclose(model(x), raw * math.sqrt(50.0) + 2000.0)
    assert loss_unit(model) == pytest.approx(1 / 50.0)


def test_target_scale_maps_back_in_float32_under_bf16_autocast():
    # bf16 keeps 8 significant bits: near 2000 its spacing is 8 years, and the mapped
    # outputs used to collapse onto 2000 exactly (training loss and epoch choice with them)
    import torch

    from vecgraft.nn.target import TargetScale

    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    TargetScale(2000.0, 14.0).attach(model)
    x = torch.randn(8, 4)
    with torch.no_grad():
        exact = model(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            fast = model(x)
    assert fast.dtype == torch.float32
    torch.testing.assert_close(fast, exact, atol=0.1, rtol=0)  # bf16's z error, times 14


def test_regression_network_learns_targets_far_from_zero(tmp_path):
    """Years (2000 + 10 s) train as the 0-4 scores do: the network's z-scores are the same.

    Before the target scale the network alone started at 0 and walked towards 2000 by the
    learning rate per step, ending far worse than always predicting the mean.
    """
    from vecgraft.finetune.predict import load_run

    def years(rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(text, str(2000 + 10 * int(s))) for text, s in rows]

    train_rows, test_rows = _rows(150, seed=1), _rows(31, seed=2)
    runs = {}
    for name, convert in (("scores", list), ("years", years)):
        cfg = FinetuneConfig(
            train=str(write_csv(tmp_path / f"{name}_train.csv", convert(train_rows))),
            test=str(write_csv(tmp_path / f"{name}_test.csv", convert(test_rows))),
            out=str(tmp_path / name), task="regression", model="boe", epochs=15, lr=0.02,
            embedding_lr=0.02, fuse_linear=False, plots=False, progress=False, ensemble=1,
        )  # fmt: skip
        finetune(cfg, log=lambda _: None)
        runs[name] = tmp_path / name
    meta = json.loads((runs["years"] / "best" / "model.json").read_text())
    splits = json.loads((runs["years"] / "splits.json").read_text())
    label = {f"{tmp_path / 'years_train.csv'}:{i + 2}": 2000 + 10 * int(s)
             for i, (_, s) in enumerate(train_rows)}  # fmt: skip
    fitted = [label[row] for row in splits["train"]["rows"]]
    assert meta["target_scale"] == pytest.approx(
        {"shift": float(np.mean(fitted)), "scale": float(np.std(fitted))}, rel=1e-12
    )
    texts = [text for text, _ in test_rows]
    scores = np.array(load_run(runs["scores"]).predict_values(texts))
    found = np.array(load_run(runs["years"]).predict_values(texts))  # through model.json
    shift, scale = meta["target_scale"]["shift"], meta["target_scale"]["scale"]
    small = json.loads((runs["scores"] / "best" / "model.json").read_text())["target_scale"]
    # the same z-scores: each run's predictions mapped back by its own scale
    z_years, z_scores = (found - shift) / scale, (scores - small["shift"]) / small["scale"]
    assert np.allclose(z_years, z_scores, atol=1e-3)
    block = json.loads((runs["years"] / "metrics.json").read_text())
    assert block["test"]["rmse"] < 0.5 * block["mean_baseline"]["rmse"]
    assert block["test"]["rmse"] == pytest.approx(
        float(np.sqrt(np.mean((found - [2000 + 10 * int(s) for _, s in test_rows]) ** 2))),
        rel=1e-5,
    )


def _strict_json(path):
    def refuse(constant: str) -> None:
        raise ValueError(f"{path.name}: {constant} is not JSON")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def test_an_undefined_correlation_is_null_in_result_files(tmp_path, capsys):
    # a test split whose targets are all equal has no Pearson r: metrics.json said NaN,
    # which jq, JavaScript and strict parsers refuse
    from vecgraft.evaluate._compare_cells import _cell_from_metrics
    from vecgraft.evaluate._compare_scores import score_view

    train = write_csv(tmp_path / "train.csv", continuous_rows(60, seed=1))
    texts = [t for t, _ in continuous_rows(12, seed=2)]
    test = write_csv(tmp_path / "test.csv", [(t, "2.5") for t in texts])
    run = tmp_path / "run"
    assert main(["finetune", "--train", str(train), "--test", str(test), "--task", "regression",
                 "--model", "boe", "--epochs", "1", "--out", str(run), "--no-plots",
                 "--no-progress"]) == 0  # fmt: skip
    metrics = _strict_json(run / "metrics.json")
    assert metrics["test"]["pearson"] is None and metrics["test"]["rmse"] > 0
    _strict_json(run / "history.json")
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(test)]) == 0
    assert _strict_json(run / "eval-test.json")["regression"]["test"]["spearman"] is None
    # the printed line says why there is no number instead of "Pearson r nan"
    said = capsys.readouterr().out
    why = "(the predictions or the targets are constant)"
    assert f"Pearson r undefined, Spearman rho undefined {why}" in said
    assert "nan" not in said
    # compare reads such a cell back as an undefined score, not as a broken cell
    cell = _cell_from_metrics("s", 1.0, 0, run, metrics, True, score_view("regression"))
    assert math.isnan(cell.scores["pearson"]) and cell.scores["rmse"] == metrics["test"]["rmse"]


def test_predicted_numbers_read_back_as_the_scored_values(tmp_path, capsys):
    # predict printed 6 significant digits: a model whose outputs differ in the 6th digit
    # (a barely trained network) gave a Pearson r from predict's output unlike metrics.json's
    from vecgraft.finetune.predict import load_run

    train = write_csv(tmp_path / "train.csv", continuous_rows(60, seed=1))
    test = write_csv(tmp_path / "test.csv", continuous_rows(20, seed=2))
    run = tmp_path / "run"
    assert main(["finetune", "--train", str(train), "--test", str(test), "--task", "regression",
                 "--model", "linear", "--out", str(run), "--no-plots"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["predict", str(run), str(test)]) == 0
    printed = [float(x) for x in capsys.readouterr().out.split()]
    texts = [t for t, _ in continuous_rows(20, seed=2)]
    assert printed == load_run(run).predict_values(texts)  # exactly, not to 6 digits
    gold = [float(v) for _, v in continuous_rows(20, seed=2)]
    scores = json.loads((run / "metrics.json").read_text())["test"]
    again = regression_metrics(gold, printed)
    assert {k: again[k] for k in scores} == pytest.approx(scores, rel=1e-12)


@pytest.mark.parametrize(
    ("label", "what"),
    [
        ("1_000", "is not a number"),
        ("inf", "is not a finite number"),
        ("NaN", "is not a finite number"),
    ],
)
def test_labels_python_reads_but_data_does_not_write_are_refused(label, what):
    # float() reads "1_000" (digit grouping) as 1000: one such training label sank a ridge's
    # Spearman from 0.4 to 0.06, while "1,5" and "50%" were refused
    from vecgraft.finetune.data import LabelledData
    from vecgraft.finetune.recipe import numeric_targets

    data = LabelledData(["a", "b"], ["1", label], source="t.csv", lines=[2, 3])
    with pytest.raises(DataError, match=rf"label '{label}' {what} \(--task regression"):
        numeric_targets(data)


@pytest.mark.parametrize("model", ["linear", "boe"])
def test_an_undefined_validation_correlation_reads_undefined_as_the_test_line_does(
    tmp_path, model
):
    # constant labels: the test line said "Pearson r undefined", the validation lines "nan"
    rows = [(text, "2") for text, _ in _rows(60, seed=3)]
    train = write_csv(tmp_path / "train.csv", rows)
    lines: list[str] = []
    cfg = FinetuneConfig(train=str(train), task="regression", model=model, epochs=1,
                         out=str(tmp_path / "run"), plots=False, progress=False)  # fmt: skip
    finetune(cfg, log=lines.append)
    valid = [line for line in lines if "Valid" in line and "Pearson" in line]
    assert valid and all("undefined" in line and "nan" not in line for line in valid), valid


def _logged_finetune(tmp_path, rows, **options):
    """The log lines of a linear finetune on `rows` (a training CSV, test carved off)."""
    train = write_csv(tmp_path / "train.csv", rows)
    lines: list[str] = []
    cfg = FinetuneConfig(train=str(train), model="linear", out=str(tmp_path / "run"),
                         plots=False, progress=False, **options)  # fmt: skip
    finetune(cfg, log=lines.append)
    return lines


def test_numeric_labels_trained_as_classes_suggest_regression(tmp_path):
    # 0-100 scores trained as 101 classes scored 1.3 % accuracy, without a word
    from vecgraft.finetune.recipe import numeric_classes_hint

    hint = ("note: every training label is a number (3 distinct values), each trained as a "
            "class; to predict numbers, use --task regression")  # fmt: skip
    assert numeric_classes_hint(["0.5", "1", "2"]) == hint  # a fraction
    assert numeric_classes_hint([str(v) for v in range(21)]) is not None  # many values
    assert numeric_classes_hint([str(v) for v in range(20)]) is None  # grades, SST-5's 0-4
    assert numeric_classes_hint(["0.5", "1", "good"]) is None  # not all numbers
    assert numeric_classes_hint(["0.5", "1", "inf"]) is None
    assert numeric_classes_hint(["1_0", "1.5"]) is None  # not a number as data writes one
    quarters = [(text, str(int(s) / 4)) for text, s in _rows(60, seed=1)]  # 0.25, 0.5, ...
    lines = _logged_finetune(tmp_path, quarters)
    assert sum("use --task regression" in line for line in lines) == 1
    (tmp_path / "r").mkdir()
    quiet = _logged_finetune(tmp_path / "r", quarters, task="regression")
    assert not any("use --task regression" in line for line in quiet)
    (tmp_path / "g").mkdir()
    grades = _logged_finetune(tmp_path / "g", _rows(60, seed=1))  # 0-4: classes, quietly
    assert not any("use --task regression" in line for line in grades)


@pytest.mark.parametrize(
    ("label", "what"),
    [
        ("1e200", r"is beyond float32's range \(\|y\| > 3\.4e38: --task regression trains"),
        ("-1e308", r"is beyond float32's range \(\|y\| > 3\.4e38"),
        ("1e39", r"is beyond float32's range \(\|y\| > 3\.4e38"),  # inf to the network: taken
        ("1e400", r"is not a finite number \(--task regression"),
        ("-1e400", r"is not a finite number \(--task regression"),
    ],
)
def test_a_label_whose_square_overflows_is_refused_before_the_run_folder(tmp_path, label, what):
    # 1e308 crashed the mean baseline (OverflowError) after config.json, manifest.json and
    # splits.json were written; 1e200 finished with an RMSE of NaN
    rows = [*_rows(40, seed=1), ("a fine film", label)]
    train = write_csv(tmp_path / "train.csv", rows)
    out = tmp_path / "run"
    cfg = FinetuneConfig(train=str(train), task="regression", model="linear", out=str(out),
                         plots=False, progress=False)  # fmt: skip
    with pytest.raises(DataError, match=rf"train\.csv:42: label '{label}' {what}"):
        finetune(cfg, log=lambda _: None)
    assert not out.exists()
    from vecgraft.finetune.recipe import numeric_targets

    edge = LabelledData(["a", "b"], ["3.4e38", "-3.4e38"], source="t.csv", lines=[2, 3])
    assert numeric_targets(edge) == [3.4e38, -3.4e38]


def test_targets_float32_cannot_resolve_are_warned_about(tmp_path):
    # timestamp-like labels 1.7e9 + 0..129: float32 steps by 128 there, the predictions
    # collapsed and the RMSE was worse than the mean's
    from vecgraft.finetune.recipe import target_warning

    far = [1.7e9 + v for v in range(130)]
    said = target_warning([str(v) for v in far], far)
    assert said is not None and said.startswith("WARNING: the targets' mean is 45,")
    assert said.endswith("times their spread: float32 cannot resolve them; subtract a constant "
                         "(e.g. the minimum) from the labels")  # fmt: skip
    years = [2000.0 + v for v in range(30)]  # SST-5's grades and years are fine
    assert target_warning([str(v) for v in years], years) is None
    rows = [(text, str(1_700_000_000 + 30 * int(s))) for text, s in _rows(60, seed=1)]
    lines = _logged_finetune(tmp_path, rows, task="regression")
    assert sum("float32 cannot resolve them" in line for line in lines) == 1


def test_a_constant_training_label_is_warned_about(tmp_path):
    from vecgraft.finetune.recipe import target_warning

    assert target_warning(["3", "3"], [3.0, 3.0]) == (
        "WARNING: every training label is 3: there is nothing to learn"
    )
    rows = [(text, "3") for text, _ in _rows(60, seed=1)]
    lines = _logged_finetune(tmp_path, rows, task="regression")
    assert lines.count("WARNING: every training label is 3: there is nothing to learn") == 1


@pytest.mark.parametrize("na", ["NA", "null", "None"])
def test_an_na_like_label_is_a_missing_number_in_a_regression(tmp_path, na):
    # it was kept "as a class", then refused as "not a number"; nan was dropped
    rows = [*_rows(40, seed=1), ("a fine film", na)]
    lines = _logged_finetune(tmp_path, rows, task="regression")
    said = [line for line in lines if "dropped" in line or "kept as a class" in line]
    assert said == [f"{tmp_path / 'train.csv'}: 1 row dropped: 1 missing number (written NA, "
                    "null, None, ..., as pandas writes a missing value) (line 42)"]  # fmt: skip
    cfg = FinetuneConfig(train=str(tmp_path / "train.csv"), task="regression", model="linear",
                         out=str(tmp_path / "again"), plots=False, progress=False,
                         bad_rows="error")  # fmt: skip
    with pytest.raises(DataError, match=rf"train\.csv:42: missing number .* \('{na}'\)"):
        finetune(cfg, log=lambda _: None)


def _linear_regression_run(tmp_path):
    """A linear regression run on 60 scored rows, and the training mean it kept."""
    train = write_csv(tmp_path / "train.csv", _rows(60, seed=1))
    run = tmp_path / "run"
    assert main(["finetune", "--train", str(train), "--task", "regression", "--model",
                 "linear", "--out", str(run), "--no-plots"]) == 0  # fmt: skip
    return run, json.loads((run / "metrics.json").read_text())["mean_baseline"]["value"]


def test_evaluate_prints_and_saves_the_mean_baseline(tmp_path, capsys):
    # finetune's log has the floor to clear; evaluate printed and saved none
    from vecgraft.finetune.metrics import mean_baseline

    run, mean = _linear_regression_run(tmp_path)
    scored = _rows(12, seed=2)
    test = write_csv(tmp_path / "test.csv", scored)
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(test)]) == 0
    baseline = mean_baseline([mean], [float(label) for _, label in scored])
    assert json.loads((run / "eval-test.json").read_text())["mean_baseline"] == baseline
    line = [s for s in capsys.readouterr().out.splitlines() if s.startswith("Mean baseline")]
    assert line == [f"Mean baseline (always {mean:.4g}, the run's training mean): "
                    f"RMSE {baseline['rmse']:.4f}, MAE {baseline['mae']:.4f}"]
    # a run saved before the mean was kept: no line, no key, no warning
    metrics = json.loads((run / "metrics.json").read_text())
    del metrics["mean_baseline"]
    (run / "metrics.json").write_text(json.dumps(metrics))
    assert main(["evaluate", str(run), "--data", str(test)]) == 0
    said = capsys.readouterr()
    assert "Mean baseline" not in said.out and said.err == ""
    assert "mean_baseline" not in json.loads((run / "eval-test.json").read_text())
    # an edited one is refused, naming the file, as an edited train_range is
    metrics["mean_baseline"] = {"value": "2.1"}
    (run / "metrics.json").write_text(json.dumps(metrics))
    assert main(["evaluate", str(run), "--data", str(test)]) == 1
    assert f'{run / "metrics.json"}: "mean_baseline": not a record with a finite "value"' in (
        capsys.readouterr().err
    )


def test_evaluate_drops_na_like_labels_of_a_regression_as_finetune_does(tmp_path, capsys):
    # they were read as "not a number" (refused), where finetune drops them as missing numbers
    run, _ = _linear_regression_run(tmp_path)
    scored = _rows(12, seed=2)
    test = write_csv(tmp_path / "test.csv", [*scored[:5], ("a fine film", "NA"), *scored[5:],
                                             ("dull", "null"), ("fun", "None")])  # fmt: skip
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(test)]) == 0
    assert capsys.readouterr().err.splitlines() == [
        f"note: {test}: 3 rows dropped: 3 missing number (written NA, null, None, ..., as "
        "pandas writes a missing value) (line 7, line 15, line 16)"
    ]
    assert json.loads((run / "eval-test.json").read_text())["test"]["count"] == 12
    assert main(["evaluate", str(run), "--data", str(test), "--bad-rows", "error"]) == 1
    assert capsys.readouterr().err.startswith(
        f"vecgraft evaluate: error: {test}:7: missing number (written NA, null, None, ..., as "
        "pandas writes a missing value) ('NA')"
    )


def test_predictor_evaluate_reads_bad_rows_in_any_case_as_finetune_does(tmp_path):
    # "ERROR" reached BadRowPolicy("ERROR") at the first NA label: a raw ValueError, where
    # the reader before it (and --bad-rows, and a config) take the setting in any case
    from vecgraft.errors import ConfigError
    from vecgraft.finetune.predict import load_run

    run, _ = _linear_regression_run(tmp_path)
    test = write_csv(tmp_path / "test.csv", [*_rows(12, seed=2), ("a fine film", "NA")])
    predictor = load_run(run)
    with pytest.raises(DataError, match=r"test\.csv:14: missing number .* \('NA'\)"):
        predictor.evaluate(test, bad_rows="ERROR")
    assert predictor.evaluate(test, bad_rows="Skip").scores["count"] == 12
    with pytest.raises(ConfigError, match=r"^bad_rows must be one of error, skip; got 'bogus'$"):
        predictor.evaluate(test, bad_rows="bogus")


def test_labels_near_1e20_train_without_a_loss_called_non_finite(tmp_path):
    # the squared errors overflowed float32 while the network, trained on z-scores, kept
    # finite weights: the run stopped with "the training loss is inf after epoch 1"
    rows = [(text, f"{float(s) * 1e20!r}") for text, s in _rows(40, seed=1)]
    train = write_csv(tmp_path / "train.csv", rows)
    out = tmp_path / "run"
    cfg = FinetuneConfig(train=str(train), task="regression", model="boe", epochs=2,
                         out=str(out), plots=False, progress=False)  # fmt: skip
    finetune(cfg, log=lambda _: None)
    history = json.loads((out / "history.json").read_text())
    losses = [row["train_loss"] for row in history]
    assert len(losses) == 2 and all(math.isfinite(x) and x > 1e30 for x in losses)
