"""`evaluate` prints and saves the majority-class floor, as `finetune`'s log and metrics do."""

from __future__ import annotations

import json
from pathlib import Path

from finetune_helpers import make_texts, write_csv
from vecgraft.cli import main


def _linear_run(tmp_path: Path) -> Path:
    """A linear classifier trained on rows where 'sport' is the majority (60 of 100)."""
    rows = make_texts(20, seed=1)
    sport = [row for row in make_texts(40, seed=3) if row[1] == "sport"]
    train = write_csv(tmp_path / "train.csv", rows + sport)
    run = tmp_path / "run"
    assert main(["finetune", "--train", str(train), "--model", "linear", "--out", str(run),
                 "--no-plots"]) == 0  # fmt: skip
    return run


def test_evaluate_prints_and_saves_the_training_majority_baseline(tmp_path, capsys):
    # finetune's log and metrics.json have the floor to clear; evaluate had neither
    run = _linear_run(tmp_path)
    assert json.loads((run / "metrics.json").read_text())["majority_baseline"]["label"] == "sport"
    # the file's own majority is 'food' (4 rows): the floor is still the training one's
    scored = [("goal match team", "sport"), *[("bread soup oven", "food")] * 4,
              ("chip code", "tech"), ("robot cloud", "tech")]  # fmt: skip
    test = write_csv(tmp_path / "test.csv", scored)
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(test)]) == 0
    said = capsys.readouterr()
    expected = {"label": "sport", "accuracy": 1 / 7}
    record = json.loads((run / "eval-test.json").read_text())
    assert record["majority_baseline"] == expected
    assert {"data", "checkpoint", "task", "test"} <= set(record)  # the keys it had
    lines = [s for s in said.out.splitlines() if s.startswith("Majority-class baseline")]
    assert lines == ["Majority-class baseline (always 'sport'): accuracy 14.29%"]
    assert said.err == ""  # several classes: no one-class warning
    # a run saved without it (an older one): no line, no key, no warning
    metrics = json.loads((run / "metrics.json").read_text())
    del metrics["majority_baseline"]
    (run / "metrics.json").write_text(json.dumps(metrics))
    assert main(["evaluate", str(run), "--data", str(test)]) == 0
    said = capsys.readouterr()
    assert "Majority-class baseline" not in said.out and said.err == ""
    assert "majority_baseline" not in json.loads((run / "eval-test.json").read_text())
    # an edited one is refused at evaluate, naming the file, as an edited mean_baseline is
    metrics["majority_baseline"] = {"label": "sports", "accuracy": 0.5}
    (run / "metrics.json").write_text(json.dumps(metrics))
    assert main(["evaluate", str(run), "--data", str(test)]) == 1
    assert (f'{run / "metrics.json"}: "majority_baseline": not a record whose "label" is one '
            "of the run's labels") in capsys.readouterr().err  # fmt: skip
    texts = tmp_path / "texts.txt"
    texts.write_text("goal match\n", encoding="utf-8")
    assert main(["predict", str(run), str(texts)]) == 0  # predict never needs it
    assert capsys.readouterr().out == "sport\n"


def test_evaluate_warns_when_the_file_holds_one_class(tmp_path, capsys):
    run = _linear_run(tmp_path)
    test = write_csv(tmp_path / "test.csv", [("bread soup oven", "food")] * 3)
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(test)]) == 0
    said = capsys.readouterr()
    assert said.err.splitlines() == [
        f"WARNING: {test}: every row is labelled 'food': accuracy is that class's recall "
        "alone (always saying 'food' scores 100%), and macro F1 and the confusion matrix "
        "(one row filled) say little; score a file with several classes to compare models"
    ]
    assert "Majority-class baseline (always 'sport'): accuracy 0.00%" in said.out


def test_one_class_warning_counts_the_gold_classes():
    from vecgraft.finetune.metrics import classification_metrics, one_class_warning

    one = classification_metrics([1, 1], [0, 1], ["a", "b"])
    assert one_class_warning("x.csv", one) == (
        "WARNING: x.csv: every row is labelled 'b': accuracy is that class's recall alone "
        "(always saying 'b' scores 100%), and macro F1 and the confusion matrix (one row "
        "filled) say little; score a file with several classes to compare models"
    )
    assert one_class_warning("x.csv", classification_metrics([0, 1], [1, 1], ["a", "b"])) is None


def test_evaluate_description_names_the_floor():
    from vecgraft.cli.evaluate import DESCRIPTION

    assert "majority-class baseline" in DESCRIPTION and "training majority" in DESCRIPTION


def test_a_tied_training_majority_is_said_to_be_a_tie(tmp_path, capsys):
    # 1,000 rows of each label read "Majority-class baseline (always 'neg')", as if 'neg'
    # were commoner
    rows = [("wonderful great film", "pos"), ("awful dull film", "neg")] * 10
    train = write_csv(tmp_path / "train.csv", rows)
    test = write_csv(tmp_path / "test.csv", [("superb fun", "pos"), ("boring bad", "neg"),
                                             ("great fun", "pos")])  # fmt: skip
    run = tmp_path / "run"
    assert main(["finetune", "--train", str(train), "--test", str(test), "--model", "linear",
                 "--out", str(run), "--no-plots", "--valid-fraction", "0"]) == 0  # fmt: skip
    line = ("Majority-class baseline (always 'neg', tied with 'pos' at 10 training rows each: "
            "a tie takes the first label in sorted order): accuracy 33.33%")
    assert line in capsys.readouterr().out.splitlines()
    assert json.loads((run / "metrics.json").read_text())["majority_baseline"] == {
        "label": "neg", "accuracy": 1 / 3, "tied": ["neg", "pos"], "rows": 10}
    assert main(["evaluate", str(run), "--data", str(test)]) == 0
    assert line in capsys.readouterr().out.splitlines()
