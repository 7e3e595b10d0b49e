"""A test label the training data lacks: its rows are kept and scored as errors, and said so.

Dropping them would inflate every score; stopping gave no result at all. The scores must be
scikit-learn's on the same gold and predicted label strings (a gold label never predicted
has recall 0, precision 0 by `zero_division=0`, F1 0, and counts in the macro average).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sklearn.metrics import accuracy_score, f1_score

from finetune_helpers import make_texts, write_csv, write_vectors
from vecgraft.cli import main
from vecgraft.errors import DataError
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.labels import LabelMap
from vecgraft.finetune.metrics import classification_metrics
from vecgraft.finetune.predict import load_run
from vecgraft.finetune.run import finetune

# a rare class that fell only in the test file, and a second one
UNSEEN = [("Opera tenor aria tonight.", "music"), ("A violin concerto.", "music"),
          ("Pottery glaze kiln.", "craft")]  # fmt: skip


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("unseen")
    test_rows = [*make_texts(3, seed=2), *UNSEEN]
    return {
        "train": write_csv(root / "train.csv", make_texts(12, seed=1)),
        "test": write_csv(root / "test.csv", test_rows),
        "vectors": write_vectors(root / "vectors.txt"),
    }


def _gold(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [line.rsplit(",", 1)[1] for line in lines]


def _run(data: dict[str, Path], out: Path, **overrides: object) -> tuple[dict, list[str]]:
    settings = {"train": str(data["train"]), "test": str(data["test"]),
                "vectors": str(data["vectors"]), "epochs": 1, "out": str(out),
                "plots": False, "progress": False, **overrides}  # fmt: skip
    lines: list[str] = []
    finetune(FinetuneConfig(**settings), log=lines.append)  # type: ignore[arg-type]
    return json.loads((out / "metrics.json").read_text()), lines


def _check_scores(metrics: dict, gold: list[str], pred: list[str]) -> None:
    """The run's test scores are scikit-learn's on the label strings, unseen rows wrong."""
    test = metrics["test"]
    assert test["support"] == len(gold)
    assert test["accuracy"] == pytest.approx(accuracy_score(gold, pred))
    assert test["accuracy"] <= (len(gold) - len(UNSEEN)) / len(gold)
    assert test["macro_f1"] == pytest.approx(f1_score(gold, pred, average="macro",
                                                      zero_division=0))  # fmt: skip
    for label, n in (("craft", 1), ("music", 2)):
        assert test["per_class"][label] == {"precision": 0.0, "recall": 0.0, "f1": 0.0,
                                            "support": n}  # fmt: skip
    assert test["labels"][-2:] == ["craft", "music"] and test["unseen_labels"] == ["craft", "music"]
    confusion = test["confusion"]
    assert sum(confusion[-1][:3]) == 2 and sum(confusion[-2][:3]) == 1  # gold-only rows
    assert all(row[-1] == 0 and row[-2] == 0 for row in confusion)  # never predicted
    assert metrics["labels"] == ["food", "sport", "tech"]  # the model's outputs: unchanged
    assert metrics["unseen_labels"] == {"labels": ["craft", "music"],
                                        "rows": {"craft": 1, "music": 2}, "count": 3}  # fmt: skip
    assert metrics["sizes"]["test"] == len(gold)
    majority = metrics["majority_baseline"]  # the same rows: the unseen ones miss too
    assert majority["accuracy"] == pytest.approx(gold.count(majority["label"]) / len(gold))


def _check_warning(lines: list[str]) -> None:
    warnings = [line for line in lines if "does not occur in the training data" in line]
    assert len(warnings) == 1, lines
    assert warnings[0].startswith("WARNING: ") and "test.csv: 3 of 12 rows" in warnings[0]
    assert "'craft' 1 row, 'music' 2 rows" in warnings[0]
    assert "scored as errors" in warnings[0]


def test_linear_run_scores_unseen_test_labels_as_errors(data, tmp_path):
    metrics, lines = _run(data, tmp_path / "run", model="linear")
    gold = _gold(data["test"])
    texts = [line.rsplit(",", 1)[0] for line in data["test"].read_text().splitlines()[1:]]
    pred = load_run(tmp_path / "run").predict(texts)
    _check_scores(metrics, gold, pred)
    _check_warning(lines)
    report = (tmp_path / "run" / "report.txt").read_text()
    assert "not in the training data" in report and "'craft', 'music'" in report


def test_default_network_run_fused_scores_unseen_test_labels_as_errors(data, tmp_path, capsys):
    # the default model, fused with the linear model; one member to keep it small
    metrics, lines = _run(data, tmp_path / "run", ensemble=1, fuse_linear=True)
    assert "fusion" in metrics
    gold = _gold(data["test"])
    predictor = load_run(tmp_path / "run")
    texts = [line.rsplit(",", 1)[0] for line in data["test"].read_text().splitlines()[1:]]
    _check_scores(metrics, gold, predictor.predict(texts))
    _check_warning(lines)
    fused = metrics["fusion"]["accuracy"]["test"]
    assert all(v <= 9 / 12 for v in fused.values())  # each model alone misses them too

    # evaluate, from Python and from the command line, gives the same scores
    scores = predictor.evaluate(str(data["test"]))
    assert scores.accuracy == pytest.approx(metrics["test"]["accuracy"])
    assert scores.macro_f1 == pytest.approx(metrics["test"]["macro_f1"])
    assert predictor.last_unseen.rows == {"craft": 1, "music": 2}
    out = tmp_path / "eval.json"
    argv = ["evaluate", str(tmp_path / "run"), "--data", str(data["test"]), "--metrics-out",
            str(out)]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "WARNING: " in err and "3 of 12 rows" in err and "scored as errors" in err
    record = json.loads(out.read_text())
    assert record["unseen_labels"] == metrics["unseen_labels"]
    assert record["test"]["accuracy"] == pytest.approx(metrics["test"]["accuracy"])
    assert record["test"]["macro_f1"] == pytest.approx(metrics["test"]["macro_f1"])


def test_an_ensemble_scores_unseen_test_labels_as_errors(data, tmp_path):
    metrics, lines = _run(data, tmp_path / "run", model="boe", ensemble=2, fuse_linear=False)
    assert metrics["ensemble"]["members"] == 2
    gold = _gold(data["test"])
    texts = [line.rsplit(",", 1)[0] for line in data["test"].read_text().splitlines()[1:]]
    _check_scores(metrics, gold, load_run(tmp_path / "run").predict(texts))
    ours = [line for line in lines if line.startswith("WARNING: ")]  # not a member's (indented)
    assert len(ours) == 1 and "3 of 12 rows" in ours[0]


def test_scores_with_unseen_labels_are_scikit_learns_on_the_strings():
    model_labels = ["a", "b"]
    gold = ["a", "b", "z", "a", "y", "z"]
    pred = ["a", "a", "b", "a", "a", "b"]
    ids, unseen = LabelMap(model_labels).encode_scored(gold)
    names = model_labels + unseen.labels
    index = {label: i for i, label in enumerate(names)}
    m = classification_metrics(ids, [index[p] for p in pred], names, predictable=2)
    assert m.accuracy == pytest.approx(accuracy_score(gold, pred))
    assert m.macro_f1 == pytest.approx(f1_score(gold, pred, average="macro", zero_division=0))
    assert m.unseen_labels == ["y", "z"] and m.confusion[3] == [0, 2, 0, 0]
    with pytest.raises(Exception, match="y_pred holds class id 2 but there are 2 labels"):
        classification_metrics([0, 2], [0, 2], names, predictable=2)


def test_regression_is_unaffected(tmp_path):
    from finetune_helpers import score_rows

    train = write_csv(tmp_path / "train.csv", score_rows(30, seed=1))
    test = write_csv(tmp_path / "test.csv", [*score_rows(6, seed=2), ("odd one", "7")])
    config = FinetuneConfig(train=str(train), test=str(test), vectors="random", model="linear",
                            task="regression", out=str(tmp_path / "run"), plots=False,
                            progress=False)  # type: ignore[arg-type]  # fmt: skip
    metrics = finetune(config, log=lambda _: None).metrics
    assert "unseen_labels" not in metrics and metrics["test"]["count"] == 7


def test_a_run_trained_on_csv_scores_the_same_data_as_jsonl(tmp_path, capsys):
    # pandas writes 1.0 for a label column that held a missing value, in a CSV and in JSON
    # Lines alike; the CSV's "1.0" was another class than the JSONL's 1.0 (read as "1")
    rows = [(text, {"sport": "1.0", "tech": "0.0", "food": "2.0"}[label])
            for text, label in make_texts(12, seed=1)]  # fmt: skip
    train = write_csv(tmp_path / "train.csv", rows)
    test = tmp_path / "test.jsonl"
    test.write_text("".join(json.dumps({"text": text, "label": float(label)}) + "\n"
                            for text, label in rows[:9]))  # fmt: skip
    assert main(["finetune", "--train", str(train), "--model", "linear",
                 "--out", str(tmp_path / "run"), "--no-plots"]) == 0  # fmt: skip
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["labels"] == ["0", "1", "2"]
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run"), "--data", str(test)]) == 0
    said = capsys.readouterr()
    assert "not in the training data" not in said.err
    assert "unseen_labels" not in json.loads((tmp_path / "run" / "eval-test.json").read_text())


def test_a_run_that_kept_a_csvs_float_labels_still_scores_them():
    # labels.json of a run trained before labels were read alike: "1.0", where data now reads "1"
    ids, unseen = LabelMap(["0.0", "1.0", "neg"]).encode_scored(["1", "0", "1.0", "neg", "2"])
    assert ids == [1, 0, 1, 2, 3] and unseen.labels == ["2"]


def test_the_warning_names_a_training_label_spelled_otherwise():
    # a JSONL file's true/false read as 'true'/'false'; pandas' CSV of the same data says True
    _, unseen = LabelMap(["False", "True", "very  good"]).encode_scored(
        ["true", "True", "very good", "other"]
    )
    assert unseen.lookalikes == {"true": "True", "very good": "very  good"}
    said = unseen.warning("test.jsonl", 4)
    assert "'true' differs only in case from training label 'True'" in said
    assert "'very good' differs only in spacing from training label 'very  good'" in said
    assert "'other'" in said and "differs only in case from training label 'other'" not in said


def _boolean_data(tmp_path: Path) -> tuple[Path, Path]:
    rows = [(text, str(label == "sport")) for text, label in make_texts(12, seed=1)]
    train = write_csv(tmp_path / "train.csv", rows)  # pandas writes True/False
    test = tmp_path / "test.jsonl"  # JSON true/false: the labels 'true'/'false'
    test.write_text("".join(json.dumps({"text": f"{text} (test)", "label": label == "sport"})
                            + "\n" for text, label in make_texts(5, seed=2)))  # fmt: skip
    return train, test


def test_a_test_file_whose_every_label_is_unseen_stops_before_training(tmp_path, capsys):
    train, test = _boolean_data(tmp_path)
    code = main(["finetune", "--train", str(train), "--test", str(test), "--model", "linear",
                 "--out", str(tmp_path / "run"), "--no-plots"])  # fmt: skip
    err = capsys.readouterr().err
    assert code != 0 and not (tmp_path / "run" / "metrics.json").exists()
    assert (f"{test}: its labels ('false', 'true') are none of the training labels ('False', "
            "'True'); 'false' differs only in case from training label 'False'; 'true' differs "
            "only in case from training label 'True', so each of its 15 rows would be scored "
            "as an error (0 %); write them as the training data does") in err


def test_evaluate_on_a_file_whose_every_label_is_unseen_is_an_error(tmp_path, capsys):
    train, test = _boolean_data(tmp_path)
    assert main(["finetune", "--train", str(train), "--model", "linear",
                 "--out", str(tmp_path / "run"), "--no-plots"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run"), "--data", str(test)]) != 0
    err = capsys.readouterr().err
    assert ("its labels ('false', 'true') are none of the run's training labels ('False', "
            "'True')") in err
    assert "'false' differs only in case from training label 'False'" in err


def test_a_file_of_unseen_labels_names_its_labels_and_the_training_ones_bounded():
    # "none of its 200 rows has a label that occurs in the training data ('0', '1', ...)"
    # read as if '0', '1', ... were the training labels; the run's own were never named
    gold, unseen = LabelMap(["Negative", "Neutral", "Positive"]).encode_scored(
        [str(i % 7) for i in range(200)]
    )
    with pytest.raises(DataError) as info:
        unseen.check_some_seen("sst.csv", len(gold), ["Negative", "Neutral", "Positive"],
                               "the run's training labels")  # fmt: skip
    assert str(info.value) == (
        "sst.csv: its labels ('0', '1', '2', '3', '4', and 2 more) are none of the run's "
        "training labels ('Negative', 'Neutral', 'Positive'), so each of its 200 rows would "
        "be scored as an error (0 %); is it the file the model was meant for?"
    )


def test_the_warning_names_a_training_label_written_in_traditional_characters():
    # training written in simplified characters, the test file (from Taiwan) in traditional
    pytest.importorskip("opencc")
    _, unseen = LabelMap(["计算机", "手机", "衣服"]).encode_scored(
        ["計算機", "手機", "衣服", "書籍"]
    )
    assert unseen.lookalikes == {"手機": "手机", "計算機": "计算机"}  # 書籍: no such label
    said = unseen.warning("test.csv", 4)
    assert ("'手機' differs only in traditional/simplified characters from training label "
            "'手机'") in said  # fmt: skip
    _, unseen = LabelMap(["電腦", "Other"]).encode_scored(["电脑", "other"])  # and the other way
    assert unseen.lookalikes == {"other": "Other", "电脑": "電腦"}


def test_training_labels_in_both_scripts_are_said_to_look_alike():
    pytest.importorskip("opencc")
    from vecgraft.finetune.labels import lookalike_labels

    assert lookalike_labels(["手机", "手機", "衣服", "Pos", "pos"]) == [
        (["Pos", "pos"], "differ only in case"),
        (["手机", "手機"], "differ only in traditional/simplified characters"),
    ]


def test_without_opencc_traditional_labels_are_only_unseen(monkeypatch):
    # OpenCC is the optional `zh` extra: without it the labels are compared as written
    import sys

    from vecgraft.finetune.labels import lookalike_labels
    from vecgraft.text import zh

    zh._t2s.cache_clear()
    monkeypatch.setitem(sys.modules, "opencc", None)  # import opencc -> ImportError
    try:
        _, unseen = LabelMap(["手机", "True"]).encode_scored(["手機", "true"])
        assert unseen.labels == ["true", "手機"] and unseen.lookalikes == {"true": "True"}
        assert "'true' differs only in case" in unseen.warning("test.csv", 2)
        assert lookalike_labels(["手机", "手機", "Pos", "pos"]) == [
            (["Pos", "pos"], "differ only in case")
        ]
    finally:
        zh._t2s.cache_clear()


def test_a_test_file_in_traditional_characters_stops_before_training(tmp_path, capsys):
    pytest.importorskip("opencc")
    simplified = {"sport": "体育", "tech": "电脑"}
    traditional = {"sport": "體育", "tech": "電腦"}
    rows = [(text, simplified.get(label, label)) for text, label in make_texts(12, seed=1)]
    train = write_csv(tmp_path / "train.csv", rows)
    rows = [(text, traditional[label]) for text, label in make_texts(5, seed=2)
            if label in traditional]  # fmt: skip
    test = write_csv(tmp_path / "test.csv", rows)
    code = main(["finetune", "--train", str(train), "--test", str(test), "--model", "linear",
                 "--out", str(tmp_path / "run"), "--no-plots"])  # fmt: skip
    err = capsys.readouterr().err
    assert code != 0 and not (tmp_path / "run" / "metrics.json").exists()
    assert "'體育' differs only in traditional/simplified characters from training label" in err
