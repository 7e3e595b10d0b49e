"""`compare` shows the bar to beat: the linear row, a verdict in words, the majority class."""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from finetune_helpers import make_dataset
from vecgraft.cli import main
from vecgraft.errors import ConfigError
from vecgraft.evaluate.bootstrap import paired_se
from vecgraft.evaluate.compare import CompareConfig, compare, vectors_language
from vecgraft.evaluate.report import baseline_verdicts
from vecgraft.vectors import Vectors

OPTIONS = {"model": "boe", "epochs": 2, "plots": False, "progress": False, "lr": 0.05}


@pytest.fixture(scope="module")
def task(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_dataset(tmp_path_factory.mktemp("task"), train_per_class=12, test_per_class=4)


def _config(task: dict[str, Path], out: Path, **changes: Any) -> CompareConfig:
    settings: dict[str, Any] = {
        "train": str(task["train"]), "test": str(task["test"]),
        "sources": [f"tiny={task['vectors']}"], "fractions": [1.0], "seeds": [0],
        "out": str(out), "finetune": dict(OPTIONS), "intrinsic": False, **changes,
    }
    return CompareConfig(**settings)


def test_linear_row_is_added_and_judged(task: dict[str, Path], tmp_path: Path) -> None:
    result = compare(_config(task, tmp_path / "out"), log=lambda _m: None)
    assert [s["name"] for s in result.sources] == ["linear", "tiny"]
    linear = next(c for c in result.cells if c.source == "linear")
    assert (Path(linear.run_dir) / "linear.safetensors").exists()
    tiny = next(c for c in result.cells if c.source == "tiny")
    data = result.to_dict()
    verdicts = baseline_verdicts(data)
    assert len(verdicts) == 2 and verdicts[1].startswith("Fraction 1: always predicting")
    gap = 100 * (tiny.accuracy - linear.accuracy)

    def runs(name: str) -> list[tuple[np.ndarray, np.ndarray]]:  # its kept test predictions
        record = next(c for c in data["cells"] if c["source"] == name)["test_predictions"]
        return [(np.array(record["gold"].split(), dtype=int),
                 np.array(record["predicted"].split(), dtype=int))]  # fmt: skip

    # the gap is judged by its paired bootstrap standard error (binomial before predictions)
    two_se = 100 * 2 * paired_se(runs("tiny"), runs("linear"), "accuracy")
    expected = (
        f"is not distinguishable from it (gap {gap:+.2f} points, 2 SE {two_se:.2f} points)"
        if abs(gap) <= two_se else
        f"beats it by {gap:.2f} points, more than 2 SE ({two_se:.2f} points)" if gap > 0 else
        f"does not beat it ({gap:+.2f} points; 2 SE {two_se:.2f} points)"
    )  # fmt: skip
    assert f"reaches {100 * linear.accuracy:.2f}% accuracy" in verdicts[0]
    assert expected in verdicts[0]
    assert verdicts[0] in (tmp_path / "out" / "report.md").read_text()


def test_every_cell_records_the_majority_baseline(task: dict[str, Path], tmp_path: Path) -> None:
    result = compare(_config(task, tmp_path / "out", linear=False), log=lambda _m: None)
    metrics = json.loads((Path(result.cells[0].run_dir) / "metrics.json").read_text())
    # balanced classes: ties go to the first label in sorted order, a third of the test set
    assert metrics["majority_baseline"] == {"label": "food", "accuracy": pytest.approx(1 / 3),
                                            "tied": ["food", "sport", "tech"], "rows": 11}
    # ... which compare.json and the report's accuracy table carry (a row, not only the cells)
    data = json.loads((tmp_path / "out" / "compare.json").read_text())
    assert [c["majority_baseline"] for c in data["cells"]] == [metrics["majority_baseline"]]
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| majority class (always 'food') | 1 | – | – | 33.33 | – | 33.33–33.33 | – |" in report
    assert "each run's metrics.json `majority_baseline`" in report
    assert baseline_verdicts(data)[-1] in report


def _predictions(cell: dict[str, Any]) -> tuple[list[str], list[str]]:
    """A compare.json cell's test predictions as label names: (gold, predicted)."""
    record = cell["test_predictions"]
    return tuple([record["labels"][int(i)] for i in record[key].split(" ")]  # type: ignore
                 for key in ("gold", "predicted"))  # fmt: skip


def test_every_classification_cell_keeps_its_test_predictions(
    task: dict[str, Path], tmp_path: Path
) -> None:
    # the verdicts' paired bootstrap needs which text each row got right; metrics.json
    # keeps only confusion counts
    out = tmp_path / "out"
    compare(_config(task, out), log=lambda _m: None)
    data = json.loads((out / "compare.json").read_text())
    gold_file = [line.rsplit(",", 1)[1] for line in task["test"].read_text().splitlines()[1:]]
    for cell in data["cells"]:
        test = json.loads((Path(cell["run_dir"]) / "metrics.json").read_text())["test"]
        gold, predicted = _predictions(cell)
        assert cell["test_predictions"]["labels"] == test["labels"]
        assert gold == gold_file  # the test file's labels, in its order
        confusion = [[sum(g == a and p == b for g, p in zip(gold, predicted, strict=True))
                      for b in test["labels"]] for a in test["labels"]]  # fmt: skip
        assert confusion == test["confusion"]
        kept = json.loads((Path(cell["run_dir"]) / "test_predictions.json").read_text())
        assert {k: kept[k] for k in ("labels", "gold", "predicted")} == cell["test_predictions"]
    # a kept file that is not of the cell's metrics.json is predicted again, not trusted
    linear_dir = Path(data["cells"][0]["run_dir"])
    kept_file = linear_dir / "test_predictions.json"
    kept = json.loads(kept_file.read_text())
    wrong = " ".join("0" for _ in gold_file)
    kept_file.write_text(json.dumps({**kept, "predicted": wrong}))
    metrics = linear_dir / "metrics.json"
    metrics.write_text(metrics.read_text() + "\n")  # the same scores, another fingerprint
    compare(_config(task, out), log=lambda _m: None)
    again = json.loads((out / "compare.json").read_text())
    assert again["cells"][0]["test_predictions"] == data["cells"][0]["test_predictions"]
    assert json.loads(kept_file.read_text())["predicted"] == kept["predicted"]
    # a cell whose model is gone keeps none, and the log says what that costs
    kept_file.unlink()
    (linear_dir / "linear.safetensors").unlink()
    lines: list[str] = []
    compare(_config(task, out), log=lines.append)
    assert "test_predictions" not in json.loads((out / "compare.json").read_text())["cells"][0]
    (said,) = [line for line in lines if "no test predictions" in line]
    assert said.startswith("compare: no test predictions kept for 1 cell(s), so the verdicts "
                           f"on their rows have no paired bootstrap standard error: {linear_dir} (")


def test_a_macro_f1_comparisons_cells_keep_the_majoritys_macro_f1(
    task: dict[str, Path], tmp_path: Path
) -> None:
    # --set metric=macro_f1: the verdicts judge by macro F1, which the cells now keep
    options = {**OPTIONS, "metric": "macro_f1"}
    result = compare(_config(task, tmp_path / "out", finetune=options), log=lambda _m: None)
    data = result.to_dict()
    # 'food' always: F1 2 * (1/3) / (4/3) = 0.5 for it, 0 for the two others, / 3
    assert [c["majority_baseline"]["macro_f1"] for c in data["cells"]] == [pytest.approx(1 / 6)] * 2
    verdicts = baseline_verdicts(data)
    assert verdicts[0].startswith("Fraction 1 (judged by macro F1, the runs' metric): the "
                                  "linear baseline (TF-IDF n-grams + linear SVM) reaches ")
    assert verdicts[1].startswith("Fraction 1 (judged by macro F1, the runs' metric): always "
                                  "predicting the most frequent training label")
    assert "scores 16.67% macro F1 on the 12 test texts" in verdicts[1]


def test_a_rerun_with_another_grid_keeps_earlier_rows(
    task: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    compare(_config(task, out, linear=False), log=lambda _m: None)
    second = compare(_config(task, out, linear=False, seeds=[1]), log=lambda _m: None)
    assert sorted((c.source, c.seed) for c in second.cells) == [("tiny", 0), ("tiny", 1)]
    assert second.settings["earlier_cells"] == 1
    report = (out / "report.md").read_text()
    grid = "1 sources × 1 training fractions × 1 seeds (seeds {}) = 1 runs, plus {} runs kept"
    assert grid.format(1, 1) in report
    # an earlier grid's source is counted with the kept runs, not in this grid's product
    third = compare(_config(task, out, linear=False, seeds=[2], sources=["random"]),
                    log=lambda _m: None)  # fmt: skip
    assert third.settings["earlier_cells"] == 2 and third.settings["earlier_sources"] == 1
    assert grid.format(2, 2) in (out / "report.md").read_text()
    # a grid with other fine-tuning settings is not comparable: earlier rows stay out
    other = tmp_path / "other"
    compare(_config(task, other, linear=False), log=lambda _m: None)
    (other / "cells" / "tiny" / "frac-1" / "seed-0" / "metrics.json").unlink()
    again = compare(_config(task, other, linear=False, seeds=[1]), log=lambda _m: None)
    assert again.settings["earlier_cells"] == 0  # its run folder lost metrics.json


def test_chinese_vectors_skip_english_similarity_sets(tmp_path: Path) -> None:
    words = ["的", "酒店", "很好", "房间", "不错", "服务"]
    assert vectors_language(words) == "zh" and vectors_language(["hotel", "room", "的"]) == "en"
    from vecgraft.evaluate.compare import _intrinsic

    vectors = Vectors(words, np.eye(len(words), dtype=np.float32))
    scores = _intrinsic(vectors)  # the CA8 analogy sets instead (tests/test_compare_ca8.py)
    assert list(scores) == ["ca8-morphological", "ca8-semantic"]
    assert [(s["total"], s["questions"]) for s in scores.values()] == [(0, 10177), (0, 7636)]


def test_japanese_vectors_are_not_scored_on_chinese_analogies() -> None:
    # kanji counted as Chinese: Japanese vectors were scored on CA8
    from vecgraft.evaluate.compare import _intrinsic

    words = ["の", "に", "日本", "東京", "する", "ある", "映画", "です", "人", "年"]
    assert vectors_language(words) == "ja"
    chinese = ["的", "酒店", "很好", "房间", "不错", "服务", "中国", "我们", "电影", "の"]
    assert vectors_language(chinese * 2) == "zh"  # a kana word in ten is not enough
    scores = _intrinsic(Vectors(words, np.eye(len(words), dtype=np.float32)))
    assert "ca8-semantic" not in scores and "wordsim353" in scores


def test_cli_passes_text_options(
    task: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli"
    argv = ["compare", "--train", str(task["train"]), "--test", str(task["test"]),
            "--sources", "random", "--seeds", "1", "--model", "boe", "--epochs", "1",
            "--tokenizer", "whitespace", "--text-column", "text", "--label-column", "label",
            "--set", "plots=false", "--set", "progress=false", "--no-intrinsic", "--out", str(out)]
    assert main(argv) == 0
    data = json.loads((out / "compare.json").read_text())
    assert data["settings"]["finetune"]["tokenizer"] == "whitespace"
    assert [s["name"] for s in data["sources"]] == ["linear", "random"]
    # the verdicts are printed, not only written in the report (the majority class's too)
    verdicts = baseline_verdicts(data)
    printed = capsys.readouterr().out.splitlines()
    assert len(verdicts) == 2 and all(line in printed for line in verdicts)


def test_cli_takes_finetunes_chinese_text_flags(tmp_path: Path) -> None:
    # --simplified, --halfwidth, --zh-mode and --stopwords were reachable only via --set
    from vecgraft.cli import build_parser
    from vecgraft.cli.compare import _options

    config = tmp_path / "ft.yaml"
    config.write_text("halfwidth: false\nstopwords: en\nzh_mode: char\n", encoding="utf-8")
    base = ["compare", "--train", "t.csv", "--sources", "random", "--out", str(tmp_path / "o")]

    def options(*flags: str) -> dict[str, Any]:
        return _options(build_parser("compare").parse_args([*base, *flags]))

    got = options("--config", str(config), "--simplified", "--halfwidth", "--zh-mode", "word",
                  "--stopwords", "zh")  # fmt: skip
    assert {k: got[k] for k in ("simplified", "halfwidth", "zh_mode", "stopwords")} == {
        "simplified": True, "halfwidth": True, "zh_mode": "word", "stopwords": "zh"
    }  # fmt: skip
    # unset: --config's (else left to each row's vectors), and --set of the same agrees
    assert "simplified" not in options() and options("--config", str(config))["zh_mode"] == "char"
    assert options("--halfwidth", "--set", "halfwidth=true")["halfwidth"] is True
    with pytest.raises(ConfigError, match="--no-halfwidth and --set halfwidth=True disagree"):
        options("--no-halfwidth", "--set", "halfwidth=true")
    with pytest.raises(ConfigError, match="--zh-mode char and --set zh_mode=word disagree"):
        options("--zh-mode", "char", "--set", "zh_mode=word")


def test_cli_length_and_vocabulary_flags_reach_every_cell(
    task: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # tune had --max-length, --min-freq and --max-size; compare only --set max_length=...
    out = tmp_path / "cli"
    argv = ["compare", "--train", str(task["train"]), "--test", str(task["test"]),
            "--sources", "random", f"tiny={task['vectors']}", "--model", "boe", "--epochs", "1",
            "--max-length", "7", "--min-freq", "2", "--max-size", "30", "--set", "plots=false",
            "--set", "progress=false", "--no-intrinsic", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    configs = sorted((out / "cells").glob("*/frac-*/seed-*/config.json"))
    assert [c.relative_to(out / "cells").parts[0] for c in configs] == ["linear", "random",
                                                                        "tiny"]  # fmt: skip
    for path in configs:
        saved = json.loads(path.read_text(encoding="utf-8"))
        assert (saved["max_length"], saved["min_freq"], saved["max_size"]) == (7, 2, 30), path
    capsys.readouterr()
    assert main([*argv[:-2], "--out", str(tmp_path / "bad"), "--min-freq", "0"]) == 1
    assert "--min-freq must be > 0, got 0" in capsys.readouterr().err  # finetune's check


def test_a_model_option_the_network_lacks_is_refused_before_any_cell(
    task: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `--set 'model_options={"C": 2}'` trained the linear row with its default C (compare's
    # linear row never takes model_options), then stopped at the network's first cell
    out = tmp_path / "out"
    argv = ["compare", "--train", str(task["train"]), "--test", str(task["test"]),
            "--sources", f"tiny={task['vectors']}", "--model", "boe", "--epochs", "1",
            "--set", 'model_options={"C": 2}', "--set", "progress=false", "--no-intrinsic",
            "--out", str(out)]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "unknown option(s) C for model 'boe'" in err
    assert "compare's linear row keeps its reference settings (model_options are the " \
        "network's)" in err
    assert not (out / "cells").exists()  # nothing trained first
    # an option neither model knows is refused the same way, without the linear row's hint
    with pytest.raises(ConfigError, match=r"unknown option\(s\) bogus for model 'boe'") as info:
        compare(_config(task, tmp_path / "other", finetune={**OPTIONS,
                "model_options": {"bogus": 1}}), log=lambda _m: None)  # fmt: skip
    assert "linear row" not in str(info.value)
    assert not (tmp_path / "other" / "cells").exists()


def test_cells_rank_sources_by_the_network_alone_unless_told(tmp_path: Path) -> None:
    config = CompareConfig(train="t.csv", sources=["random"], out=str(tmp_path))
    assert config.base_config().fuse_linear is False  # a linear share would dilute the ranking
    told = CompareConfig(train="t.csv", sources=["random"], out=str(tmp_path),
                         finetune={"fuse_linear": True})
    assert told.base_config().fuse_linear is True
    # a fusion setting alone changed no cell, and the error blamed a fuse_linear never typed
    unfused = CompareConfig(train="t.csv", sources=["random"], out=str(tmp_path),
                            finetune={"fuse_rule": "mix", "fuse_weight": 0.5})
    with pytest.raises(ConfigError, match=r"unless fuse_linear=True is set; fuse_rule, "
                                          r"fuse_weight would change nothing"):
        unfused.base_config()


def test_told_to_fuse_the_linear_row_still_runs_and_the_report_says_so(
    task: dict[str, Path], tmp_path: Path
) -> None:
    # --set fuse_linear=true stopped at the linear row ("needs an embedding model, not
    # 'linear'"), and with --no-linear every row was a fused model the report did not name
    out = tmp_path / "out"
    result = compare(_config(task, out, finetune={**OPTIONS, "fuse_linear": True}),
                     log=lambda _m: None)  # fmt: skip
    by_source = {c.source: c for c in result.cells}
    linear = json.loads((Path(by_source["linear"].run_dir) / "config.json").read_text())
    assert linear["model"] == "linear" and linear["fuse_linear"] is False
    tiny = json.loads((Path(by_source["tiny"].run_dir) / "metrics.json").read_text())
    assert "fusion" in tiny  # the network rows are fused, as asked
    assert "rows score the fused models" in (out / "report.md").read_text()
    plain = compare(_config(task, tmp_path / "plain"), log=lambda _m: None)
    assert "fused models" not in (tmp_path / "plain" / "report.md").read_text()
    assert plain.cells


def test_the_networks_model_options_do_not_reach_the_linear_row(
    task: dict[str, Path], tmp_path: Path
) -> None:
    # `compare --help`'s example `--set 'model_options={"dropout": 0.3}'` stopped at the
    # linear row: "unknown option for model 'linear' (LinearConfig.__init__() got ...)"
    out = tmp_path / "out"
    options = {**OPTIONS, "model_options": {"dropout": 0.3}, "class_weight": "balanced"}
    result = compare(_config(task, out, finetune=options), log=lambda _m: None)
    by_source = {c.source: c for c in result.cells}
    linear = json.loads((Path(by_source["linear"].run_dir) / "config.json").read_text())
    tiny = json.loads((Path(by_source["tiny"].run_dir) / "config.json").read_text())
    assert linear["model"] == "linear" and linear["model_options"] == {}
    assert tiny["model_options"] == {"dropout": 0.3}  # the network rows keep them
    # the linear row's own settings still reach it: the run's class_weight
    saved = json.loads((Path(by_source["linear"].run_dir) / "linear.json").read_text())
    assert linear["class_weight"] == "balanced" and saved["config"]["class_weight"] == "balanced"
    # the same command again reuses the linear cell (its settings compare as they ran)
    again = compare(_config(task, out, finetune=options), log=lambda _m: None)
    assert {c.source for c in again.cells} == {"linear", "tiny"}
    assert all(c.reused for c in again.cells)  # not trained again


def test_a_regression_ranks_sources_by_pearson_r_against_ridge(tmp_path: Path) -> None:
    # numeric labels: Pearson r (then RMSE) in every table, the plot and the verdict
    from finetune_helpers import BAD, FILL, GOOD, continuous_rows, write_csv

    train = write_csv(tmp_path / "train.csv", continuous_rows(120, seed=1))
    test = write_csv(tmp_path / "test.csv", continuous_rows(40, seed=2))
    rng = np.random.default_rng(0)
    lines = [
        f"{w} " + " ".join(f"{x:.4f}" for x in sign * np.ones(8) + rng.normal(0, 0.1, 8))
        for sign, words in ((1, GOOD), (-1, BAD), (0, FILL)) for w in words
    ]  # fmt: skip
    (tmp_path / "polar.txt").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    argv = ["compare", "--train", str(train), "--test", str(test), "--task", "regression",
            "--sources", f"polar={tmp_path / 'polar.txt'}", "random", "--seeds", "0,1",
            "--model", "boe", "--epochs", "2", "--set", "plots=false", "--set",
            "progress=false", "--no-intrinsic", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    data = json.loads((out / "compare.json").read_text())
    assert [s["name"] for s in data["sources"]] == ["linear", "polar", "random"]
    for cell in data["cells"]:
        test_scores = json.loads((Path(cell["run_dir"]) / "metrics.json").read_text())["test"]
        assert (cell["pearson"], cell["rmse"]) == (test_scores["pearson"], test_scores["rmse"])
        assert "accuracy" not in cell and "test_predictions" not in cell  # no labels
    linear_cell = json.loads(
        (out / "cells" / "linear" / "frac-1" / "seed-0" / "config.json").read_text()
    )
    assert (linear_cell["model"], linear_cell["task"]) == ("linear", "regression")
    rows = {s["source"]: s for s in data["summary"]}
    polar = [c["pearson"] for c in data["cells"] if c["source"] == "polar"]
    assert rows["polar"]["pearson_mean"] == pytest.approx(sum(polar) / 2)
    assert rows["polar"]["rmse_std"] >= 0 and "accuracy_mean" not in rows["polar"]
    bar = rows["linear"]["pearson_mean"]
    diff = rows["polar"]["pearson_mean"] - bar  # the one pretrained source (random is not)
    verdict = baseline_verdicts(data)
    assert verdict[0].startswith(
        "Fraction 1: the linear baseline (TF-IDF n-grams + ridge regression) reaches "
        f"Pearson r {bar:.4f}; the best pretrained source, polar, "
    )
    assert (f"beats it by {diff:.4f}" if diff > 0 else f"does not beat it ({diff:+.4f})") in (
        verdict[0]
    )
    report = (out / "report.md").read_text()
    assert "## Test Pearson r and RMSE" in report and "Lower RMSE is better." in report
    size = rows["polar"]["train_size"]  # 120 less the validation split
    assert f"| polar | 1 | {size} | 2 | {rows['polar']['pearson_mean']:.4f} ± " in report
    shown = report.split("## Settings")[0].replace("accuracy_vs_fraction.png", "")  # its name
    assert "accuracy" not in shown and "![test Pearson r against training fraction]" in shown
    assert (out / "accuracy_vs_fraction.png").is_file()


def test_the_runs_warnings_reach_the_compare_log_once(tmp_path: Path) -> None:
    # Chinese with --tokenizer regex (without one they are segmented with jieba): each
    # cell's finetune warns that the regex tokenizer leaves whole clauses; the cells run
    # quietly, but the warning must reach the user once
    from finetune_helpers import write_csv

    good = ["服务很好", "房间干净", "早餐不错", "位置方便"]
    bad = ["服务很差", "房间很脏", "早餐难吃", "位置偏僻"]
    rows = [(f"这家酒店{a}而且{b}", label) for words, label in ((good, "1"), (bad, "0"))
            for a in words for b in words if a != b]  # fmt: skip
    train = write_csv(tmp_path / "zh.csv", rows)
    config = CompareConfig(train=str(train), sources=["random"], seeds=[0, 1],
                           out=str(tmp_path / "out"), finetune={**OPTIONS, "tokenizer": "regex"},
                           intrinsic=False, linear=False)  # fmt: skip
    lines: list[str] = []
    compare(config, log=lines.append)
    # (unsegmented clauses leave these cells predicting one class: said too, once)
    warnings = [line for line in lines
                if line.startswith("WARNING") and "every test text was predicted" not in line]
    assert len(warnings) == 1 and "/ --tokenizer jieba" in warnings[0], lines
    # ... and in the report, beside the verdict (it was said on the console only)
    said = warnings[0].removeprefix("WARNING: ")
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert f"Warning: every row tokenizes with regex: {said}." in report


def _verdict_data(*rows: tuple[str, str, float]) -> dict[str, Any]:
    """compare.json's content for baseline_verdicts: (name, kind, accuracy) at fraction 1."""
    return {
        "settings": {"finetune": {"task": "classification"}},
        "sources": [{"name": name, "kind": kind} for name, kind, _ in rows],
        "summary": [
            {"source": name, "fraction": 1.0, "accuracy_mean": acc} for name, _, acc in rows
        ],
    }


def test_the_verdict_judges_every_pretrained_kind_and_says_what_it_lacks() -> None:
    # a checkpoint fine-tuned whole is a pretrained source too
    (line,) = baseline_verdicts(_verdict_data(
        ("linear", "linear", 0.70), ("random", "random", 0.60), ("bert", "finetune", 0.80)
    ))  # fmt: skip
    assert "the best pretrained source, bert, beats it by 10.00 points" in line
    assert "(sources above the baseline: bert)" in line
    # no pretrained source: the best other one is judged, and the sentence says so
    (line,) = baseline_verdicts(_verdict_data(("linear", "linear", 0.7), ("random", "random", 0.6)))
    assert "no pretrained source was compared; the best other source, random, does not " in line
    # --no-linear: no row to beat, said in words
    (line,) = baseline_verdicts(_verdict_data(("glove", "vectors", 0.8)))
    assert line.startswith("No linear baseline (TF-IDF n-grams + linear SVM) in this comparison")


def test_a_tie_on_accuracy_is_broken_by_macro_f1_and_said() -> None:
    # the first listed of two sources at 70.00 % was named best, whatever its macro F1
    data = _verdict_data(("linear", "linear", 0.77), ("w2v", "vectors", 0.70),
                         ("char", "vectors", 0.70))  # fmt: skip
    f1 = {"linear": 0.62, "w2v": 0.41, "char": 0.66}
    for row in data["summary"]:
        row["macro_f1_mean"] = f1[row["source"]]
    (line,) = baseline_verdicts(data)
    assert ("the best pretrained source, char (tied with w2v on accuracy, ahead on macro F1), "
            "does not beat it (-7.00 points)") in line  # fmt: skip
    # tied on both: both named, and the verb agrees
    data["summary"][1]["macro_f1_mean"] = 0.66
    (line,) = baseline_verdicts(data)
    assert ("the best pretrained sources, w2v and char (tied on accuracy and macro F1), do "
            "not beat it (-7.00 points); no pretrained source beat the baseline.") in line
    # without a pretrained source, the best other sources likewise
    data["sources"][1]["kind"] = data["sources"][2]["kind"] = "random"
    (line,) = baseline_verdicts(data)
    assert ("no pretrained source was compared; the best other sources, w2v and char (tied on "
            "accuracy and macro F1), do not beat it") in line  # fmt: skip


def test_a_gap_inside_the_test_sets_noise_is_called_so() -> None:
    data = _verdict_data(("linear", "linear", 0.690), ("glove", "vectors", 0.715))
    data["cells"] = [{"source": "linear", "fraction": 1.0, "sizes": {"test": 200}}]
    (line,) = baseline_verdicts(data)
    # 2 * sqrt((0.69 * 0.31 + 0.715 * 0.285) / 200) = 9.14 points > 2.50
    assert "beats it by 2.50 points" in line
    assert "under two standard errors of a difference of two accuracies on 200 test texts " \
        "(9.14 points" in line
    data["cells"][0]["sizes"]["test"] = 20_000  # 0.91 points: a clear difference
    assert "standard errors" not in baseline_verdicts(data)[0]


def _with_majority(data: dict[str, Any], accuracy: float, tests: int) -> dict[str, Any]:
    """`data` with one cell per row at fraction 1, each keeping `accuracy` as its majority."""
    data["cells"] = [
        {"source": row["source"], "fraction": 1.0, "sizes": {"test": tests},
         "majority_baseline": {"label": "0", "accuracy": accuracy}}
        for row in data["summary"]
    ]  # fmt: skip
    return data


def test_rows_no_better_than_the_majority_class_are_called_so() -> None:
    # a tester's run: random 48.33 % where always answering "0" scores 48.00 % on 300 texts,
    # and nothing said that random had learnt nothing ("glove beats random by 20 points")
    data = _with_majority(_verdict_data(("linear", "linear", 0.67), ("random", "random", 0.4833),
                                        ("glove", "vectors", 0.69)), 0.48, 300)  # fmt: skip
    lines = baseline_verdicts(data)
    assert len(lines) == 2 and lines[0].startswith("Fraction 1: the linear baseline")
    # 2 * sqrt(0.48 * 0.52 / 300) = 5.77 points
    assert lines[1] == (
        "Fraction 1: always predicting the most frequent training label ('0') scores 48.00% "
        "accuracy on the 300 test texts; random (48.33%) is at most two standard errors "
        "(5.77 points) above it, so not distinguishably better than always predicting the "
        "majority class."
    )
    # a row below the majority class is no better either, said apart from one above it
    data["summary"][1]["accuracy_mean"] = 0.40
    data["summary"][2]["accuracy_mean"] = 0.53
    assert baseline_verdicts(data)[1].endswith(
        "; random (40.00%) is not above it, so no better, and glove (53.00%) is at most two "
        "standard errors (5.77 points) above it, so not distinguishably better than always "
        "predicting the majority class."
    )
    # every row clear of it: the floor is still said
    data["summary"][1]["accuracy_mean"] = data["summary"][2]["accuracy_mean"] = 0.60
    assert baseline_verdicts(data)[1].endswith(
        "48.00% accuracy on the 300 test texts; every row is more than two standard errors "
        "(5.77 points) above it."
    )


def test_rows_at_or_below_the_majority_class_are_not_said_to_be_above_it() -> None:
    # a tester's run: majority '1' 46.00 % on 100 texts; random at it and glove below it
    # were both said to be "at most two standard errors (9.97 points) above it"
    data = _with_majority(_verdict_data(("linear", "linear", 0.67), ("random", "random", 0.46),
                                        ("glove", "vectors", 0.455)), 0.46, 100)  # fmt: skip
    assert baseline_verdicts(data)[1] == (
        "Fraction 1: always predicting the most frequent training label ('0') scores 46.00% "
        "accuracy on the 100 test texts; random (46.00%) and glove (45.50%) are not above it, "
        "so no better than always predicting the majority class."
    )
    # rows above it within two standard errors (9.97 points) are named on their own
    data["summary"][1]["accuracy_mean"] = data["summary"][2]["accuracy_mean"] = 0.50
    assert baseline_verdicts(data)[1].endswith(
        "; random (50.00%) and glove (50.00%) are at most two standard errors (9.97 points) "
        "above it, so not distinguishably better than always predicting the majority class."
    )


def test_the_majority_floor_is_the_best_of_the_runs_majority_accuracies() -> None:
    # two seeds' subsamples with majority labels '0' (48 %) and '1' (52 %): always answering
    # '1' scores 52 %, so a row at 56.00 % is within 2 SE (5.77 points) of that floor, though
    # more than 2 SE (5.77 points) above the mean 50 % the floor used to be
    data = _with_majority(_verdict_data(("linear", "linear", 0.67), ("random", "random", 0.56)),
                          0.48, 300)  # fmt: skip
    data["cells"].append({**data["cells"][1], "majority_baseline": {"label": "1",
                                                                    "accuracy": 0.52}})
    (line,) = [x for x in baseline_verdicts(data) if "always predicting the most" in x]
    assert line == (
        "Fraction 1: always predicting the most frequent training label ('0' or '1') scores "
        "52.00% accuracy on the 300 test texts at best (48.00–52.00% over the runs; the best "
        "is the floor); random (56.00%) is at most two standard errors (5.77 points) above "
        "it, so not distinguishably better than always predicting the majority class."
    )


def test_a_row_equal_to_the_majority_class_is_named_without_a_test_count() -> None:
    # cells with different test counts: no standard error, and "not above it" includes equal
    data = _with_majority(_verdict_data(("linear", "linear", 0.67), ("random", "random", 0.48)),
                          0.48, 300)  # fmt: skip
    data["cells"][1]["sizes"]["test"] = 301
    (line,) = [x for x in baseline_verdicts(data) if "always predicting the most" in x]
    assert line == (
        "Fraction 1: always predicting the most frequent training label ('0') scores 48.00% "
        "accuracy; random (48.00%) is not above it, so no better than always predicting the "
        "majority class."
    )


def test_a_macro_f1_comparison_judges_the_majority_and_the_linear_row_by_macro_f1() -> None:
    # a tester's 95/5 run with --set metric=macro_f1: glove (90.25%, macro F1 0.521) was called
    # no better than always saying '1' (95.00%), whose macro F1 is 0.487
    data = _with_majority(_verdict_data(("linear", "linear", 0.95), ("glove", "vectors", 0.9025)),
                          0.95, 400)  # fmt: skip
    data["settings"]["finetune"]["metric"] = "macro_f1"
    for row, f1 in zip(data["summary"], (0.4872, 0.521), strict=True):
        row["macro_f1_mean"] = f1
    for cell in data["cells"]:
        cell["majority_baseline"]["macro_f1"] = 0.4872
    linear, majority = baseline_verdicts(data)
    assert linear == (
        "Fraction 1 (judged by macro F1, the runs' metric): the linear baseline (TF-IDF n-grams "
        "+ linear SVM) reaches 48.72% macro F1; the best pretrained source, glove, beats it by "
        "3.38 points (sources above the baseline: glove)."
    )
    assert majority == (
        "Fraction 1 (judged by macro F1, the runs' metric): always predicting the most "
        "frequent training label ('0') scores 48.72% macro F1 on the 400 test texts; linear "
        "(48.72%) is not above it, so no better than always predicting the majority class."
    )
    # cells of an earlier release kept no majority macro F1: that verdict stays on accuracy
    for cell in data["cells"]:
        del cell["majority_baseline"]["macro_f1"]
    assert baseline_verdicts(data)[1].startswith(
        "Fraction 1: always predicting the most frequent training label ('0') scores 95.00% "
        "accuracy on the 400 test texts; "
    )
    # the default metric: the verdicts by accuracy, worded as before
    data["settings"]["finetune"]["metric"] = "accuracy"
    linear, _majority = baseline_verdicts(data)
    assert linear.startswith("Fraction 1: the linear baseline (TF-IDF n-grams + linear SVM) "
                             "reaches 95.00% accuracy; the best pretrained source, glove, does "
                             "not beat it (-4.75 points)")  # fmt: skip


def test_report_only_fills_the_majority_class_of_an_earlier_compare_json(
    task: dict[str, Path], tmp_path: Path
) -> None:
    # an earlier release's compare.json kept no majority_baseline in its cells: --report-only
    # wrote no majority row and no verdict on it, silently, though metrics.json kept it
    out = tmp_path / "out"
    compare(_config(task, out, linear=False), log=lambda _m: None)
    data = json.loads((out / "compare.json").read_text())
    for cell in data["cells"]:
        del cell["majority_baseline"]
        cell["run_dir"] = "elsewhere/cells/tiny/frac-1/seed-0"  # written from another folder
    (out / "compare.json").write_text(json.dumps(data))
    (out / "report.md").unlink()
    assert main(["compare", "--out", str(out), "--report-only"]) == 0
    report = (out / "report.md").read_text()
    assert "| majority class (always 'food') | 1 | – | – | 33.33 | – | 33.33–33.33 | – |" in report
    assert ("Fraction 1: always predicting the most frequent training label ('food', tied "
            "with 'sport' and 'tech': a tie takes the first label in sorted order)") in report
    assert "No majority-class row" not in report
    # no metrics.json to fill it from: the report says why the row is missing
    (out / "cells" / "tiny" / "frac-1" / "seed-0" / "metrics.json").unlink()
    assert main(["compare", "--out", str(out), "--report-only"]) == 0
    report = (out / "report.md").read_text()
    assert "majority class (always" not in report
    assert (
        " No majority-class row for fraction 1: this compare.json predates it (its cells keep "
        "no `majority_baseline`, and no cell's metrics.json under cells/ had one to fill it "
        "in); re-run `vecgraft compare` into this folder (finished cells are reused) to add it."
    ) in report


def test_the_majority_class_is_a_row_of_the_accuracy_table() -> None:
    from vecgraft.evaluate.report import _accuracy_blocks, _majority_rows, _majority_verdicts

    data = _with_majority(_verdict_data(("random", "random", 0.4833)), 0.48, 300)
    data["cells"].append({**data["cells"][0], "majority_baseline": {"label": "1",
                                                                    "accuracy": 0.52}})
    row = data["summary"][0]
    row |= {"n": 2, "accuracy_std": 0.0, "accuracy_min": 0.4833, "accuracy_max": 0.4833,
            "macro_f1_mean": 0.48, "macro_f1_std": 0.0, "seconds_mean": 1.0, "train_size": 10}
    table = next(b for b in _accuracy_blocks(data, plot=False) if b.kind == "table")
    # two seeds' subsamples with different majority labels: both named, the mean and range
    assert [list(r) for r in table.rows] == [
        ["random", "1", "10", "2", "48.33 ± 0.00", "48.00 ± 0.00", "48.33–48.33", "1.0"],
        ["majority class (always '0' or '1')", "1", "–", "–", "50.00", "–", "48.00–52.00", "–"],
    ]
    # a regression has no majority class: no row, no sentence
    data["settings"]["finetune"]["task"] = "regression"
    assert _majority_rows(data) == [] and _majority_verdicts(data) == []


def test_a_source_failing_mid_grid_says_the_finished_cells_are_kept(
    task: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # e.g. its vector file removed after the sources were prepared: the error alone did not
    # say that the cells already run are kept and reused
    import vecgraft.evaluate.compare as compare_module
    from vecgraft.errors import FormatError

    real = compare_module.run_cell

    def failing(base: Any, source: dict[str, Any], *args: Any) -> Any:
        if source["name"] == "tiny":
            raise FormatError("no such file", path=str(task["vectors"]))
        return real(base, source, *args)

    monkeypatch.setattr(compare_module, "run_cell", failing)
    lines: list[str] = []
    with pytest.raises(FormatError):
        compare(_config(task, tmp_path / "out", sources=["random", f"tiny={task['vectors']}"]),
                log=lines.append)  # fmt: skip
    assert (
        "compare: stopped at source tiny fraction 1 seed 0 (the error follows); the 2 cell(s) "
        f"finished in this run stay in {tmp_path / 'out' / 'cells'} with any earlier ones: the "
        "same command reuses them once that is fixed (or the source left out)"
    ) in lines


def test_a_failure_after_reused_cells_counts_only_the_cells_run_now(
    task: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "the 5 cell(s) finished in this run" where 4 ran and one was reused; and the advice
    # "once that is fixed (or the source left out)" where another command held the cell
    import vecgraft.evaluate.compare as compare_module
    from finetune_helpers import held_lock
    from vecgraft.errors import FormatError
    from vecgraft.evaluate.compare import cell_dir

    out = tmp_path / "out"
    compare(_config(task, out, linear=False), log=lambda _m: None)  # tiny's cell, reused next
    grid = _config(task, out, linear=False, sources=[f"tiny={task['vectors']}", "random"])
    busy = cell_dir(out, "random", 1.0, 0)
    busy.mkdir(parents=True)
    lines: list[str] = []
    with held_lock(busy), pytest.raises(ConfigError, match="another run is writing"):
        compare(grid, log=lines.append)
    stopped = ("compare: stopped at source random fraction 1 seed 0 (the error follows); the 0 "
               f"cell(s) finished in this run (and 1 reused) stay in {out / 'cells'} with any "
               "earlier ones: ")  # fmt: skip
    assert stopped + ("another command holds that cell's folder: the same command reuses them "
                      "once it has ended, or use another --out") in lines  # fmt: skip
    real = compare_module.run_cell

    def failing(base: Any, source: dict[str, Any], *args: Any) -> Any:
        if source["name"] == "random":
            raise FormatError("no such file", path="x")
        return real(base, source, *args)

    monkeypatch.setattr(compare_module, "run_cell", failing)
    lines.clear()
    with pytest.raises(FormatError):
        compare(grid, log=lines.append)
    assert stopped + "the same command reuses them once that is fixed (or the source left out)" \
        in lines  # fmt: skip


def test_a_second_compare_into_a_folder_being_written_is_refused_at_once(
    task: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # the second took over the first's random cells, exited 0 and rewrote compare.json with
    # its rows alone; the first, larger grid then failed on a cell the second held
    import vecgraft.evaluate.compare as compare_module
    from finetune_helpers import held_lock, is_locked

    out = tmp_path / "out"
    busy = f"{out}: another run is writing this folder (it holds its lock)"
    real = compare_module.run_cell
    second: list[str] = []

    def start_another(*args: Any) -> Any:
        if not second:  # the first grid's first cell: a second grid starts into its --out
            second.append("started")
            with pytest.raises(ConfigError, match=re.escape(busy)) as caught:
                compare(_config(task, out, linear=False, sources=["random"]), log=print)
            second.append(str(caught.value))
        return real(*args)

    monkeypatch.setattr(compare_module, "run_cell", start_another)
    result = compare(_config(task, out, sources=["random", f"tiny={task['vectors']}"]),
                     log=lambda _m: None)  # fmt: skip
    assert second[1] == busy + "; wait for it to end, or choose another out=..."
    assert [cell.source for cell in result.cells] == ["linear", "random", "tiny"]
    data = json.loads((out / "compare.json").read_text())
    assert [cell["source"] for cell in data["cells"]] == ["linear", "random", "tiny"]
    assert not is_locked(out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    capsys.readouterr()
    argv = ["compare", "--train", str(task["train"]), "--test", str(task["test"]),
            "--sources", "random", "--no-linear", "--no-intrinsic", "--model", "boe",
            "--epochs", "1", "--out", str(out)]  # fmt: skip
    with held_lock(out):
        assert main(argv) == 1
        assert main(["compare", "--out", str(out), "--report-only"]) == 1
    err = capsys.readouterr().err
    assert err.count(f"vecgraft compare: error: {busy}; wait for it to end, or choose "
                     "another --out DIR") == 1  # fmt: skip
    # another --out is no way to render this folder's report
    assert err.endswith(f"vecgraft compare: error: {out}: a comparison is writing this folder; "
                        "rerun --report-only once it ends\n")  # fmt: skip
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_coverage_of_chinese_vectors_is_counted_with_their_own_segmentation(
    tmp_path: Path,
) -> None:
    """Without --tokenizer the cells segment with jieba (the vectors' metadata.json), but the
    source table counted coverage on regex tokens, whole clauses: 6 % of types on a real run
    whose cells saw 82 %, with '服务很好' listed as a missing word."""
    pytest.importorskip("rjieba")
    from finetune_helpers import write_csv

    good, bad = ["酒店很好", "房间干净", "服务很好"], ["酒店太差", "房间很脏", "服务很差"]
    rows = [(a + "，" + b, label) for label, part in (("正面", good), ("负面", bad))
            for a in part for b in part]  # fmt: skip
    train = write_csv(tmp_path / "train.csv", rows)
    folder = tmp_path / "w2v"
    folder.mkdir()
    words = ["酒店", "很", "好", "房间", "干净", "服务", "太", "差", "很脏", "很差", "，"]
    lines = [f"{len(words)} 2"] + [f"{w} {i} 1" for i, w in enumerate(words)]
    (folder / "vectors.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    meta = {"tokenizer": {"kind": "jieba", "lower": False}}
    (folder / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    config = CompareConfig(train=str(train), test=str(train),
                           sources=[f"zh={folder / 'vectors.txt'}"], fractions=[1.0], seeds=[0],
                           out=str(tmp_path / "out"), finetune={**OPTIONS, "dedupe": False},
                           intrinsic=False,
                           linear=False)  # fmt: skip
    result = compare(config, log=lambda _m: None)
    source = next(s for s in result.sources if s["name"] == "zh")
    cell = json.loads((Path(result.cells[0].run_dir) / "metrics.json").read_text())
    assert source["coverage"]["token_coverage"] == pytest.approx(1.0)
    assert cell["coverage"]["token_coverage"] == pytest.approx(1.0)


def _zh_vectors(tmp_path: Path, name: str, tokenizer: dict[str, Any]) -> Path:
    """A tiny word2vec text file of Chinese words with a metadata.json naming `tokenizer`."""
    folder = tmp_path / name
    folder.mkdir()
    words = ["酒店", "很", "好", "房间", "干净", "服务", "太", "差", "很脏", "很差", "，"]
    lines = [f"{len(words)} 2"] + [f"{w} {i} 1" for i, w in enumerate(words)]
    (folder / "vectors.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    meta = {"tokenizer": tokenizer}
    (folder / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder / "vectors.txt"


def _zh_train(tmp_path: Path) -> Path:
    from finetune_helpers import write_csv

    good, bad = ["酒店很好", "房间干净", "服务很好"], ["酒店太差", "房间很脏", "服务很差"]
    rows = [(a + "，" + b, label) for label, part in (("正面", good), ("负面", bad))
            for a in part for b in part]  # fmt: skip
    return write_csv(tmp_path / "train.csv", rows)


def _zh_compare(tmp_path: Path, sources: list[str]) -> CompareConfig:
    """A comparison on `_zh_train`'s texts (also its test rows), one seed, no intrinsic sets."""
    train = _zh_train(tmp_path)
    return CompareConfig(train=str(train), test=str(train), sources=sources, fractions=[1.0],
                         seeds=[0], out=str(tmp_path / "out"),
                         finetune={**OPTIONS, "dedupe": False}, intrinsic=False)  # fmt: skip


def _cell_tokenizer(result: Any, source: str) -> Any:
    cell = next(c for c in result.cells if c.source == source)
    return json.loads((Path(cell.run_dir) / "config.json").read_text())["tokenizer"]


def test_rows_without_vectors_segment_as_the_vectors_do(tmp_path: Path) -> None:
    """Without --tokenizer the jieba vectors' cells segment with jieba, but the random and
    linear rows cut Chinese into whole clauses: the row to beat scored 74.7 % on
    ChnSentiCorp where it scores 85.7 % on jieba words."""
    pytest.importorskip("rjieba")
    vectors = _zh_vectors(tmp_path, "w2v", {"kind": "jieba", "lower": False,
                                            "zh_mode": "word+char"})  # fmt: skip
    config = _zh_compare(tmp_path, [f"zh={vectors}", "random"])
    lines: list[str] = []
    result = compare(config, log=lines.append)
    assert [_cell_tokenizer(result, s) for s in ("linear", "zh", "random")] == [
        "jieba", None, "jieba"
    ]
    said = [line for line in lines if "tokenize as the vectors of zh do" in line]
    # the linear model has no Chinese mode: said apart from random's word+char
    assert said == ["compare: the rows of linear, random tokenize as the vectors of zh do "
                    "(tokenizer jieba, zh_mode word+char; from their metadata.json): "
                    "--tokenizer to choose another; the linear row (linear) has no Chinese "
                    "mode: it cuts jieba's words and adds its own character n-grams, where "
                    "the others read word+char"]
    # no warning about the tokens (a one-epoch cell may still predict one class: said)
    assert not [line for line in lines if line.startswith("WARNING")
                and "every test text was predicted" not in line], lines
    sources = {s["name"]: s for s in result.to_dict()["sources"]}
    assert sources["random"]["text_settings"] == {"tokenizer": "jieba", "zh_mode": "word+char"}
    assert sources["random"]["text_settings_from"] == "their metadata.json"
    assert "text_settings" not in sources["zh"]
    # compare.json said the linear row read word+char; its linear.json has no such tokens
    modes = {name: (s["tokenizer"], s.get("zh_mode")) for name, s in sources.items()}
    assert modes == {"linear": ("jieba", None), "zh": ("jieba", "word+char"),
                     "random": ("jieba", "word+char")}  # fmt: skip
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert ("random: tokenized as the vector sources are (tokenizer jieba, zh_mode "
            "word+char; from their metadata.json)") in report
    assert ("linear: tokenized as the vector sources are (tokenizer jieba; from their "
            "metadata.json), as jieba's words and the linear model's own character n-grams "
            "(it has no Chinese mode; the other rows read word+char)") in report
    linear = json.loads(
        (Path(next(c for c in result.cells if c.source == "linear").run_dir)
         / "linear.json").read_text()
    )  # fmt: skip
    assert linear["config"]["tokenizer"] == "jieba"


def _zh_native(path: Path, tokenizer: dict[str, Any]) -> Path:
    """`_zh_vectors`' words in a native file that keeps `tokenizer` alone (no metadata.json)."""
    import vecgraft

    words = ["酒店", "很", "好", "房间", "干净", "服务", "太", "差", "很脏", "很差", "，"]
    vectors = Vectors(words, np.ones((len(words), 2), np.float32))
    vectors.metadata["tokenizer"] = tokenizer
    path.parent.mkdir(exist_ok=True)
    vecgraft.save(vectors, path, format="native")
    return path


def test_rows_that_take_a_native_files_tokenizer_say_where_it_is(tmp_path: Path) -> None:
    """`from-transformer --vocab` keeps the tokenizer in the native file alone: the log and
    the report said the other rows took it "from their metadata.json", a file not there.
    An earlier release's compare.json, which does not say, renders as it was said."""
    pytest.importorskip("rjieba")
    native = _zh_native(tmp_path / "v" / "x.safetensors", {"kind": "jieba"})
    config = _zh_compare(tmp_path, [f"zh={native}", "random"])
    lines: list[str] = []
    result = compare(config, log=lines.append)
    assert _cell_tokenizer(result, "random") == "jieba"
    assert [line for line in lines if "tokenize as the vectors of zh do" in line] == [
        "compare: the rows of linear, random tokenize as the vectors of zh do (tokenizer "
        "jieba; "
        "from their file's own metadata): --tokenizer to choose another"
    ]
    report = tmp_path / "out" / "report.md"
    took = "linear, random: tokenized as the vector sources are (tokenizer jieba; from {})"
    assert took.format("their file's own metadata") in report.read_text(encoding="utf-8")
    saved = tmp_path / "out" / "compare.json"
    data = json.loads(saved.read_text(encoding="utf-8"))
    took_from = {s["name"]: s.pop("text_settings_from", None) for s in data["sources"]}
    assert took_from == {"linear": "their file's own metadata", "zh": None,
                         "random": "their file's own metadata"}  # fmt: skip
    saved.write_text(json.dumps(data), encoding="utf-8")
    assert main(["compare", "--out", str(tmp_path / "out"), "--report-only"]) == 0
    assert took.format("their metadata.json") in report.read_text(encoding="utf-8")


def test_sources_that_record_a_tokenizer_apart_are_each_named(tmp_path: Path) -> None:
    from vecgraft.evaluate._compare_sources import named_tokenizers, taken_from

    native = _zh_native(tmp_path / "v" / "x.safetensors", {"kind": "jieba"})
    beside = _zh_vectors(tmp_path, "w2v", {"kind": "jieba"})
    specs = CompareConfig(train="t.csv", sources=[f"a={native}", f"b={beside}", "random"],
                          out=str(tmp_path / "out")).specs()  # fmt: skip
    named = named_tokenizers(specs)
    assert taken_from(specs, named) == "their file's own metadata (a), their metadata.json (b)"
    assert taken_from([s for s in specs if s.name != "a"], named) == "their metadata.json"


def test_chinese_vector_sources_that_disagree_give_the_other_rows_jieba(tmp_path: Path) -> None:
    """Sources on jieba words and on characters left random and linear on the regex rule
    (whole Chinese clauses): the report then said "w beats linear by 5.5 points" with no
    word of it; said on the console only."""
    pytest.importorskip("rjieba")
    train = _zh_train(tmp_path)
    user = tmp_path / "user.txt"
    user.write_text("很脏\n", encoding="utf-8")
    words = _zh_vectors(tmp_path, "words", {"kind": "jieba", "user_dict": str(user)})
    chars = _zh_vectors(tmp_path, "chars", {"kind": "char"})
    config = CompareConfig(train=str(train), test=str(train),
                           sources=[f"w={words}", f"c={chars}", "random"], fractions=[1.0],
                           seeds=[0], out=str(tmp_path / "out"),
                           finetune={**OPTIONS, "dedupe": False}, intrinsic=False)  # fmt: skip
    lines: list[str] = []
    result = compare(config, log=lines.append)
    assert [_cell_tokenizer(result, s) for s in ("linear", "random")] == ["jieba", "jieba"]
    note = ("the vector sources were tokenized differently (w: jieba; c: char); all are "
            f"Chinese, so the rows of linear, random segment with jieba (tokenizer jieba, "
            f"user_dict {user}): --tokenizer to choose one for every row")  # fmt: skip
    assert f"compare: {note}" in lines
    data = json.loads((tmp_path / "out" / "compare.json").read_text(encoding="utf-8"))
    assert data["settings"]["tokenizer_note"] == note
    assert {s["name"]: s["tokenizer"] for s in data["sources"]} == {
        "linear": "jieba", "w": "jieba", "c": "char", "random": "jieba"
    }  # fmt: skip
    said = (f"Note: {note} (tokenizer of each row: linear jieba, w jieba, c char, random "
            "jieba).")  # fmt: skip
    assert said in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "<p>Note: the vector sources were tokenized differently (w: jieba; c: char)" in html


def test_sources_of_jieba_words_and_jieba_characters_are_told_apart(tmp_path: Path) -> None:
    # the note said "(w: jieba; c: jieba)": the same tokenizer twice, its zh_mode hidden
    pytest.importorskip("rjieba")
    train = _zh_train(tmp_path)
    words = _zh_vectors(tmp_path, "words", {"kind": "jieba", "zh_mode": "word"})
    chars = _zh_vectors(tmp_path, "chars", {"kind": "jieba", "zh_mode": "char"})
    config = CompareConfig(train=str(train), test=str(train),
                           sources=[f"w={words}", f"c={chars}", "random"], fractions=[1.0],
                           seeds=[0], out=str(tmp_path / "out"),
                           finetune={**OPTIONS, "dedupe": False}, intrinsic=False,
                           linear=False)  # fmt: skip
    result = compare(config, log=lambda _m: None)
    data = result.to_dict()
    assert data["settings"]["tokenizer_note"] == (
        "the vector sources were tokenized differently (w: jieba; c: jieba (char)); all are "
        "Chinese, so the rows of random segment with jieba (tokenizer jieba): --tokenizer "
        "and --zh-mode to choose one for every row"  # they differ in zh_mode only
    )
    rows = {s["name"]: (s["tokenizer"], s.get("zh_mode")) for s in data["sources"]}
    assert rows == {"w": ("jieba", None), "c": ("jieba", "char"), "random": ("jieba", None)}
    assert "(tokenizer of each row: w jieba, c jieba (char), random jieba)." in (
        tmp_path / "out" / "report.md").read_text(encoding="utf-8")  # fmt: skip


def test_vector_sources_that_disagree_otherwise_give_chinese_texts_jieba(
    tmp_path: Path,
) -> None:
    pytest.importorskip("rjieba")
    train = _zh_train(tmp_path)
    words = _zh_vectors(tmp_path, "words", {"kind": "jieba"})
    spaced = _zh_vectors(tmp_path, "spaced", {"kind": "whitespace"})
    config = CompareConfig(train=str(train), test=str(train),
                           sources=[f"w={words}", f"s={spaced}", "random"], fractions=[1.0],
                           seeds=[0], out=str(tmp_path / "out"),
                           finetune={**OPTIONS, "dedupe": False}, intrinsic=False,
                           linear=False)  # fmt: skip
    lines: list[str] = []
    result = compare(config, log=lines.append)
    # the sources leave the other rows no tokenizer; the texts are Chinese, so jieba, as
    # finetune chooses for them (it said "the rows of random tokenize with the regex rule"
    # while their cells segmented with jieba)
    assert _cell_tokenizer(result, "random") == "jieba"
    note = ("the vector sources were tokenized differently (w: jieba; s: whitespace); the "
            "training texts are Chinese, so the rows of random segment with jieba: "
            "--tokenizer to choose one for every row")  # fmt: skip
    assert f"compare: {note}" in lines
    assert not [line for line in lines if "regex rule" in line], lines
    data = result.to_dict()
    assert data["settings"]["tokenizer_note"] == note
    assert "tokenizer_warning" not in data["settings"]
    assert [s["tokenizer"] for s in data["sources"]] == ["jieba", "whitespace", "jieba"]
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert (f"Note: {note} (tokenizer of each row: w jieba, s whitespace, random "
            "jieba).") in report  # fmt: skip
    assert "random: tokenized with tokenizer jieba (the training texts, which are Chinese)" in (
        report)
    # a tokenizer the user names is every row's; nothing is taken or said
    lines.clear()
    config.finetune["tokenizer"] = "jieba"
    config.out = str(tmp_path / "named")
    result = compare(config, log=lines.append)
    assert {_cell_tokenizer(result, s) for s in ("w", "s", "random")} == {"jieba"}
    assert not [line for line in lines if "tokenize" in line and "vectors" in line], lines
    assert "tokenizer_warning" not in result.to_dict()["settings"]


def test_vectors_on_the_plain_regex_rule_change_no_other_row(task, tmp_path: Path) -> None:
    # vecgraft pretrain records zh_mode "word" for English too: that is every row's default
    folder = tmp_path / "own"
    folder.mkdir()
    (folder / "vectors.txt").write_bytes(Path(task["vectors"]).read_bytes())
    meta = {"tokenizer": {"kind": "regex", "lower": True, "zh_mode": "word"}}
    (folder / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    lines: list[str] = []
    config = _config(task, tmp_path / "out", sources=[f"own={folder / 'vectors.txt'}", "random"],
                     linear=False)  # fmt: skip
    result = compare(config, log=lines.append)
    assert _cell_tokenizer(result, "random") is None
    assert not [line for line in lines if "tokenize" in line], lines
    assert "text_settings" not in next(s for s in result.sources if s["name"] == "random")


def test_the_runs_table_shows_a_dash_where_a_cell_kept_no_epoch() -> None:
    # an ensemble cell's best_epoch is null: the table printed "None"
    from vecgraft.evaluate.report import _run_row, score_view

    view = score_view("classification")
    cell = {"source": "random", "fraction": 0.5, "seed": 0, "accuracy": 0.9, "macro_f1": 0.8,
            "best_epoch": None, "seconds": 1.0, "run_dir": "/o/cells/random"}  # fmt: skip
    assert _run_row(cell, "/o", view)[5] == "–"
    assert _run_row({**cell, "best_epoch": 4}, "/o", view)[5] == "4"


def test_a_flag_and_a_set_that_disagree_are_refused(tmp_path: Path, capsys) -> None:
    # `--epochs 2 --set epochs=3` trained 2 epochs without a word
    argv = ["compare", "--train", str(tmp_path / "t.csv"), "--sources", "random", "--out",
            str(tmp_path / "out"), "--epochs", "2", "--set", "epochs=3"]  # fmt: skip
    assert main(argv) == 1
    assert "--epochs 2 and --set epochs=3 disagree; give one" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def _with_wordsim_words(task: dict[str, Path], tmp_path: Path) -> Path:
    """The task's vectors plus random rows for the words of WordSim353's first 30 pairs.

    The task's own words cover no pair; with these a few dozen pairs score. A word the
    task's vectors already hold is not added again (a repeat is a duplicate warning).
    """
    pytest.importorskip("gensim")
    from vecgraft.evaluate._intrinsic_similarity import scan_pairs

    pairs, _ = scan_pairs("wordsim353")
    lines = task["vectors"].read_text(encoding="utf-8").splitlines()
    have = {line.split(" ", 1)[0] for line in lines}
    extra = sorted({w for p in pairs[:30] for w in (p.a, p.b)} - have)
    rng = np.random.default_rng(0)
    dim = len(lines[0].split()) - 1
    lines += [f"{w} " + " ".join(f"{x:.4f}" for x in rng.normal(0, 1, dim)) for w in extra]
    vectors = tmp_path / "few.txt"
    vectors.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return vectors


def test_intrinsic_scores_say_how_many_pairs_they_rest_on(
    task: dict[str, Path], tmp_path: Path
) -> None:
    # vectors derived for a task's vocabulary (MiniLM's) hold the words of few WordSim353
    # pairs: 0.877 on 24 of 353 pairs read as a score on the whole set
    vectors = _with_wordsim_words(task, tmp_path)
    said: list[str] = []
    config = _config(task, tmp_path / "out", sources=[f"few={vectors}"], intrinsic=True,
                     linear=False)  # fmt: skip
    result = compare(config, log=said.append)
    scores = result.sources[0]["intrinsic"]["wordsim353"]
    assert scores["total"] == 353 and 30 <= scores["pairs"] < 353 / 2  # keys kept, total added
    assert scores["oov"] == 353 - scores["pairs"]
    cell = f"{scores['spearman']:.3f} ({scores['pairs']}/353, low)"
    assert any(line.startswith(f"source few: WordSim353 ρ {cell}") for line in said)
    warning = next(line for line in said if line.startswith("WARNING"))
    assert warning.startswith(f"WARNING: source few: WordSim353 ρ on {scores['pairs']} of its "
                              "353 pairs")  # fmt: skip
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert f"| {cell} |" in report
    assert f"few: WordSim353 ρ on {scores['pairs']} of its 353 pairs" in report
    # a compare.json written before "total" was kept: the set's size from oov_ratio
    data = json.loads((tmp_path / "out" / "compare.json").read_text(encoding="utf-8"))
    for entry in data["sources"][0]["intrinsic"].values():
        entry.pop("total", None), entry.pop("oov", None)
    (tmp_path / "out" / "compare.json").write_text(json.dumps(data), encoding="utf-8")
    (tmp_path / "out" / "report.md").unlink()
    assert main(["compare", "--out", str(tmp_path / "out"), "--report-only"]) == 0
    assert f"| {cell} |" in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")


def test_a_rerun_says_no_started_line_for_the_cells_it_reuses(
    task: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # off a terminal every cell said "compare cell 1/2 (started: ...)", the reused ones too,
    # before the run said "(2 reused)"
    import vecgraft.evaluate.compare as compare_module

    monkeypatch.setattr(compare_module, "is_terminal", lambda *_a: False)
    config = _config(task, tmp_path / "out", finetune={**OPTIONS, "progress": None})
    lines: list[str] = []
    compare(config, log=lines.append)
    started = [x for x in capsys.readouterr().err.splitlines() if "(started: " in x]
    assert [x.split(" (started: ")[0] for x in started] == ["compare cell 1/2",
                                                            "compare cell 2/2"]  # fmt: skip
    (tmp_path / "out" / "cells" / "tiny" / "frac-1" / "seed-0" / "metrics.json").unlink()
    lines.clear()
    compare(config, log=lines.append)  # the linear cell is reused, tiny's runs again
    started = [x for x in capsys.readouterr().err.splitlines() if "(started: " in x]
    assert len(started) == 1 and "(started: tiny fraction 1 seed 0," in started[0], started
    (linear,) = [x for x in lines if "[1/2] linear fraction 1 seed 0: accuracy" in x]
    assert "(reused)" in linear


def test_seeds_help_says_plainly_how_to_run_one_seed() -> None:
    # "one seed S alone: S," left the trailing comma unexplained
    import argparse

    from vecgraft.cli.compare import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    (action,) = [a for a in parser._actions if a.dest == "seeds"]
    assert action.help is not None
    assert "one seed S alone" not in action.help
    assert "--seeds 5, runs seed 5 alone (--seeds 5 runs seeds 0..4)" in action.help
    from vecgraft.evaluate.compare import parse_seeds

    assert parse_seeds("5,") == [5] and parse_seeds("5") == [0, 1, 2, 3, 4]  # as it says
    assert parse_seeds("3") == [0, 1, 2] and parse_seeds("0,5,7") == [0, 5, 7]


def test_the_runs_table_shows_no_epoch_for_the_linear_row() -> None:
    # the linear model's metrics.json says best_epoch 1 (one fit): the table showed "1"
    from vecgraft.evaluate.report import _runs_blocks

    data = _verdict_data(("linear", "linear", 0.70), ("glove", "vectors", 0.80))
    data["settings"]["compare"] = {"out": None}
    cell = {"fraction": 1.0, "seed": 0, "macro_f1": 0.7, "seconds": 1.0, "run_dir": "r"}
    data["cells"] = [{**cell, "source": "linear", "accuracy": 0.7, "best_epoch": 1},
                     {**cell, "source": "glove", "accuracy": 0.8, "best_epoch": 4}]  # fmt: skip
    rows = _runs_blocks(data)[1].rows
    assert [(row[0], row[5]) for row in rows] == [("linear", "–"), ("glove", "4")]


def test_a_majority_tied_in_training_says_so_and_its_rule() -> None:
    data = _with_majority(_verdict_data(("linear", "linear", 0.67), ("random", "random", 0.5)),
                          0.5, 300)  # fmt: skip
    for cell in data["cells"]:
        cell["majority_baseline"].update(tied=["0", "1"], rows=1000)
    (line,) = [x for x in baseline_verdicts(data) if "always predicting the most" in x]
    assert line.startswith(
        "Fraction 1: always predicting the most frequent training label ('0', tied with '1': "
        "a tie takes the first label in sorted order) scores 50.00% accuracy")


def test_the_report_lists_names_with_finetunes_and_list(monkeypatch: pytest.MonkeyPatch) -> None:
    # report.py had its own `_and`, the same as `finetune.metrics.and_list`, and used both
    from types import SimpleNamespace

    from vecgraft.evaluate import report

    assert not hasattr(report, "_and")
    said: list[list[str]] = []
    monkeypatch.setattr(report, "and_list", lambda words: said.append(list(words)) or "X")
    first: Any = SimpleNamespace(show=lambda value: f"{value * 100:.2f}")
    rows = [{"source": "random", "accuracy_mean": 0.46},
            {"source": "glove", "accuracy_mean": 0.455}]
    assert report._floor_rows(rows, first, "no better") == "X are no better"
    assert said == [["random (46.00%)", "glove (45.50%)"]]


def test_the_linear_rows_note_names_the_rows_that_read_its_missing_chinese_mode():
    # a char source beside the jieba ones: the note said "the other rows read word+char"
    from vecgraft.evaluate.report import _source_notes

    taken = {"tokenizer": "jieba", "zh_mode": "word+char"}
    sources = [
        {"name": "linear", "kind": "linear", "text_settings": taken, "tokenizer": "jieba"},
        {"name": "random", "kind": "random", "text_settings": taken, "tokenizer": "jieba",
         "zh_mode": "word+char"},
        {"name": "w2v", "kind": "vectors", "tokenizer": "jieba", "zh_mode": "word+char"},
        {"name": "chr", "kind": "vectors", "tokenizer": "char"},
    ]  # fmt: skip
    notes = _source_notes(sources, agreed=False)
    assert ("linear: tokenized with tokenizer jieba (the Chinese vector sources disagree), as "
            "jieba's words and the linear model's own character n-grams (it has no Chinese "
            "mode; random and w2v read word+char)") in notes
    notes = _source_notes(sources[:3], agreed=False)  # every other row reads it: said so
    assert any(n.endswith("(it has no Chinese mode; the other rows read word+char)")
               for n in notes)  # fmt: skip


@pytest.mark.parametrize("first, then, hint", [
    ("regex", None, "--tokenizer regex continues with the regex rule it was run with, or "),
    (None, "regex", "run without --tokenizer to continue it (it ran with the tokenizer "
                    "unset), or "),
])  # fmt: skip
def test_the_linear_row_is_told_the_tokenizer_that_continues_it(task, tmp_path, first, then,
                                                                hint):  # fmt: skip
    # both were told "the linear row's cells read scikit-learn's word pattern with tokenizer
    # unset, which no --tokenizer gives: delete ...", though the other command continued them
    out = tmp_path / "out"

    def config(tokenizer: str | None) -> CompareConfig:
        options = {**OPTIONS, "epochs": 1, **({"tokenizer": tokenizer} if tokenizer else {})}
        return _config(task, out, sources=["random"], finetune=options)

    compare(config(first), log=lambda _m: None)
    with pytest.raises(ConfigError) as refused:
        compare(config(then), log=lambda _m: None)
    cell = out / "cells" / "linear" / "frac-1" / "seed-0"
    assert str(refused.value) == (
        f"{cell}: this cell was run with other settings (tokenizer: {first!r} -> {then!r}); "
        f"{hint}use another --out or delete the folder")  # fmt: skip
    again = compare(config(first), log=lambda _m: None)
    assert all(c.reused for c in again.cells)


def test_random_initialisation_beating_the_pretrained_sources_is_said() -> None:
    # a tester's run (300 test texts): random 84.33 %, linear 81.00 %, zhw2v 80.33 %; the
    # verdict said only that zhw2v did not beat linear, never that random beat both
    data = _verdict_data(("linear", "linear", 0.81), ("random", "random", 0.8433),
                         ("zhw2v", "vectors", 0.8033))  # fmt: skip
    data["cells"] = [{"source": row["source"], "fraction": 1.0, "sizes": {"test": 300}}
                     for row in data["summary"]]  # fmt: skip
    (line,) = baseline_verdicts(data)
    # 2 * sqrt((0.8433 * 0.1567 + 0.8033 * 0.1967) / 300) = 6.22 points
    assert line.endswith(
        "does not beat it (-0.67 points); no pretrained source beat the baseline, but random "
        "initialisation did (84.33%, by 3.33 points). zhw2v's gap to the baseline is under two "
        "standard errors of a difference of two accuracies on 300 test texts (6.45 points, as "
        "if independent): another sample of test texts could reverse it. Random initialisation "
        "(84.33%) beats the best pretrained source, zhw2v (80.33%), by 4.00 points, within two "
        "standard errors (6.22 points, as if independent): within noise, so these vectors are "
        "not shown to help this task."
    )
    # on 20,000 test texts the same 4 points are clear (0.76 points)
    for cell in data["cells"]:
        cell["sizes"]["test"] = 20_000
    assert baseline_verdicts(data)[0].endswith(
        " Random initialisation (84.33%) beats the best pretrained source, zhw2v (80.33%), by "
        "4.00 points, more than two standard errors (0.76 points, as if independent): these "
        "vectors do not help this task."
    )
    # the best pretrained source ahead of random is said too, and where a source beats linear
    data["summary"][2]["accuracy_mean"] = 0.86
    (line,) = baseline_verdicts(data)
    assert "(sources above the baseline: zhw2v; random initialisation too, at 84.33%)." in line
    assert line.endswith(
        " The best pretrained source, zhw2v (86.00%), beats random initialisation (84.33%) by "
        "1.67 points, more than two standard errors (0.71 points, as if independent)."
    )
    for cell in data["cells"]:  # on 300 texts: 2 * sqrt(...) = 5.80 points
        cell["sizes"]["test"] = 300
    assert baseline_verdicts(data)[0].endswith(
        "1.67 points, within two standard errors (5.80 points, as if independent): another "
        "sample of test texts could reverse it."
    )


def test_random_against_the_pretrained_sources_is_judged_by_macro_f1_and_without_linear() -> None:
    data = _verdict_data(("random", "random", 0.90), ("glove", "vectors", 0.88))
    data["settings"]["finetune"]["metric"] = "macro_f1"
    for row, f1 in zip(data["summary"], (0.60, 0.64), strict=True):
        row["macro_f1_mean"] = f1
    no_linear, line = baseline_verdicts(data)
    assert no_linear.startswith("No linear baseline (TF-IDF n-grams + linear SVM)")
    # by macro F1 (no binomial margin), where accuracy would have put random first
    assert line == (
        "Fraction 1 (judged by macro F1, the runs' metric): the best pretrained source, glove "
        "(64.00%), beats random initialisation (60.00%) by 4.00 points."
    )
    # a random source under another name is named; macro F1 has no noise estimate
    data["sources"][0]["name"] = data["summary"][0]["source"] = "rnd"
    data["summary"][0]["macro_f1_mean"] = 0.70
    assert baseline_verdicts(data)[1] == (
        "Fraction 1 (judged by macro F1, the runs' metric): random initialisation (rnd, "
        "70.00%) beats the best pretrained source, glove (64.00%), by 6.00 points; no standard "
        "error of macro F1 is known here, so these vectors are not shown to help this task."
    )


def test_random_leading_says_do_not_help_only_beyond_two_standard_errors() -> None:
    # a reviewer's cases: a 0.01-point macro F1 lead (no standard error) said "these vectors do
    # not help this task"; so did an exact tie, more than a 4-point lead within noise says
    def line(*rows: tuple[str, str, float], n: int | None = None, **extra: Any) -> str:
        data = _verdict_data(*rows)
        data["settings"]["finetune"].update(extra.pop("settings", {}))
        for row, values in zip(data["summary"], extra.pop("rows", ()), strict=False):
            row.update(values)
        if n:
            data["cells"] = [{"source": r["source"], "fraction": 1.0, "sizes": {"test": n}}
                             for r in data["summary"]]  # fmt: skip
        return baseline_verdicts(data)[1]

    f1 = line(("random", "random", 0.9), ("glove", "vectors", 0.9), n=300,
              settings={"metric": "macro_f1"},
              rows=({"macro_f1_mean": 0.6401}, {"macro_f1_mean": 0.64}))  # fmt: skip
    assert f1.endswith(
        "random initialisation (64.01%) beats the best pretrained source, glove (64.00%), by "
        "0.01 points; no standard error of macro F1 is known here, so these vectors are not "
        "shown to help this task.")  # fmt: skip
    # a tie is within noise, and the second score is said
    tie = line(("random", "random", 0.8), ("glove", "vectors", 0.8), n=50,
               rows=({"macro_f1_mean": 0.6}, {"macro_f1_mean": 0.5}))  # fmt: skip
    assert tie.endswith(
        "the best pretrained source, glove (80.00%), ties with random initialisation (80.00%) "
        "on accuracy; on macro F1 random initialisation is ahead (60.00% against 50.00%): "
        "these vectors are not shown to help this task.")  # fmt: skip
    # a whole transformer fine-tuned has no vectors: its pretraining is what is judged
    bert = line(("random", "random", 0.9), ("bert", "finetune", 0.8), n=20_000)
    assert bert.endswith(
        "random initialisation (90.00%) beats the best pretrained source, bert (80.00%), by "
        "10.00 points, more than two standard errors (0.71 points, as if independent): this "
        "pretraining does not help this task.")  # fmt: skip
    data = {"settings": {"finetune": {"task": "regression"}},
            "sources": [{"name": "random", "kind": "random"}, {"name": "glove", "kind": "vectors"}],
            "summary": [{"source": "random", "fraction": 1.0, "pearson_mean": 0.6701},
                        {"source": "glove", "fraction": 1.0, "pearson_mean": 0.67}]}  # fmt: skip
    assert baseline_verdicts(data)[1].endswith(
        "by 0.0001; no standard error of Pearson r is known here, so these vectors are not "
        "shown to help this task.")  # fmt: skip


def test_means_equal_but_for_float_rounding_are_a_tie_with_random() -> None:
    # 200 and 202 of 300 right against 201 twice: the means differ in the last bit, and the
    # verdict said "beats random initialisation (67.00%) by 0.00 points"
    chance = statistics.fmean([200 / 300, 202 / 300])
    glove = statistics.fmean([201 / 300, 201 / 300])
    assert chance != glove
    line = baseline_verdicts(_verdict_data(("random", "random", chance),
                                           ("glove", "vectors", glove)))[1]  # fmt: skip
    assert line == ("Fraction 1: the best pretrained source, glove (67.00%), ties with random "
                    "initialisation (67.00%): these vectors are not shown to help this task.")



def test_means_equal_but_for_float_rounding_are_a_tie_with_linear() -> None:
    # the linear verdict compared exactly: "beats it by 0.00 points" (random "too"), with
    # the means swapped "does not beat it (-0.00 points)", and a noise note on a gap of none
    rounded = statistics.fmean([200 / 300, 202 / 300])

    def line(*rows: tuple[str, str, float]) -> str:
        data = _verdict_data(*rows)
        data["cells"] = [{"source": r["source"], "fraction": 1.0, "sizes": {"test": 300}}
                         for r in data["summary"]]  # fmt: skip
        (said,) = baseline_verdicts(data)
        return said

    start = ("Fraction 1: the linear baseline (TF-IDF n-grams + linear SVM) reaches 67.00% "
             "accuracy; ")  # fmt: skip
    tie = (f"{start}the best pretrained source, glove, ties with it; no pretrained source beat "
           "the baseline. The best pretrained source, glove (67.00%), ties with random "
           "initialisation (67.00%): these vectors are not shown to help this task.")  # fmt: skip
    for ours, theirs in ((rounded, 201 / 300), (201 / 300, rounded)):
        assert ours != theirs
        assert line(("linear", "linear", ours), ("glove", "vectors", theirs),
                    ("random", "random", theirs)) == tie  # fmt: skip
    # random initialisation level with the baseline did not beat it either
    assert line(("linear", "linear", rounded), ("glove", "vectors", 0.6),
                ("random", "random", 201 / 300)).startswith(
        f"{start}the best pretrained source, glove, does not beat it (-7.00 points); no "
        "pretrained source beat the baseline. The gap is under")  # fmt: skip


def test_a_rerun_with_no_intrinsic_keeps_the_scores_of_the_same_vectors(
    task: dict[str, Path], tmp_path: Path
) -> None:
    # a tester's rerun with --no-intrinsic (a larger grid) wrote "intrinsic": null over glove's
    # WordSim353/SimLex-999 scores, and the report showed "–", which means "not applicable"
    vectors = _with_wordsim_words(task, tmp_path)
    lines = vectors.read_text(encoding="utf-8").splitlines()
    out = tmp_path / "out"
    first = compare(_config(task, out, sources=[f"few={vectors}"], intrinsic=True,
                            linear=False), log=lambda _m: None)  # fmt: skip
    scores = first.sources[0]["intrinsic"]
    cell = f"{scores['wordsim353']['spearman']:.3f} ({scores['wordsim353']['pairs']}/353, low)"
    said: list[str] = []
    again = compare(_config(task, out, sources=[f"few={vectors}"], seeds=[0, 1],
                            linear=False), log=said.append)  # fmt: skip
    assert again.sources[0]["intrinsic"] == scores
    kept = "intrinsic scores of an earlier run into this folder, on the same vectors"
    assert f"source few: keeping the {kept} (--no-intrinsic)" in said
    report = (out / "report.md").read_text(encoding="utf-8")
    assert f"| {cell} |" in report
    assert f"few: {kept} (this run: --no-intrinsic)" in report
    # a run that scored intrinsic, with this row copied from an earlier grid: no such note
    from vecgraft.evaluate.report import render_markdown

    data = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    data["settings"]["compare"]["intrinsic"] = True
    assert data["sources"][0]["intrinsic_kept"] is True
    assert "this run: --no-intrinsic" not in render_markdown(data, plot=False)
    # vectors rewritten since: their earlier scores are not theirs
    from vecgraft.evaluate._compare_sources import keep_earlier_intrinsic

    row = {**again.sources[0], "intrinsic": None}
    vectors.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    keep_earlier_intrinsic(out, [row], said.append)
    assert row["intrinsic"] is None
    # an earlier release's compare.json kept no fingerprint: not kept, and said so (not "–")
    vectors.write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    del data["sources"][0]["intrinsic_inputs"]
    (out / "compare.json").write_text(json.dumps(data), encoding="utf-8")
    third = compare(_config(task, out, sources=[f"few={vectors}"], linear=False),
                    log=lambda _m: None)  # fmt: skip
    assert third.sources[0]["intrinsic"] is None
    report = (out / "report.md").read_text(encoding="utf-8")
    assert ("| vectors | 76 × 8 | 100.0% | 100.0% | not computed (--no-intrinsic) | not "
            "computed (--no-intrinsic) |") in report


def _with_predictions(
    data: dict[str, Any], gold: list[str], predicted: dict[str, list[str]], majority: str
) -> dict[str, Any]:
    """`data` with one fraction-1 cell per row keeping its test predictions (as compare does).

    `predicted`: each row's label per test text; every row's mean is set to its scores.
    """
    from sklearn.metrics import accuracy_score, f1_score

    labels = sorted(set(gold))
    ids = {name: i for i, name in enumerate(labels)}
    always = [majority] * len(gold)
    data["cells"] = []
    for row in data["summary"]:
        guess = predicted[row["source"]]
        row["accuracy_mean"] = accuracy_score(gold, guess)
        row["macro_f1_mean"] = f1_score(gold, guess, average="macro")
        data["cells"].append({
            "source": row["source"], "fraction": 1.0, "seed": 0, "sizes": {"test": len(gold)},
            "majority_baseline": {"label": majority, "accuracy": accuracy_score(gold, always),
                                  "macro_f1": f1_score(gold, always, average="macro")},
            "test_predictions": {"labels": labels,
                                 "gold": " ".join(str(ids[g]) for g in gold),
                                 "predicted": " ".join(str(ids[p]) for p in guess)},
        })  # fmt: skip
    return data


def _one_moved_data(metric: str) -> dict[str, Any]:
    """300 test texts, 210 'a': linear and random always say 'a', glove moves one 'b' text."""
    gold = ["a"] * 210 + ["b"] * 90
    moved = ["a"] * 299 + ["b"]
    data = _verdict_data(("linear", "linear", 0), ("random", "random", 0), ("glove", "vectors", 0))
    data["settings"]["finetune"]["metric"] = metric
    return _with_predictions(data, gold, {"linear": ["a"] * 300, "random": ["a"] * 300,
                                          "glove": moved}, "a")  # fmt: skip


def test_a_macro_f1_lead_of_one_moved_text_is_not_distinguishable() -> None:
    # a tester's run: glove moved one of 300 test texts off the majority label and "beat"
    # random and the majority class by 1.18 points of macro F1 (0.4236 against 0.4118); the
    # paired bootstrap over the test texts puts 2 SE of that gap at 2.31 points
    comparison, majority = baseline_verdicts(_one_moved_data("macro_f1"))
    assert comparison == (
        "Fraction 1 (judged by macro F1, the runs' metric): the linear baseline (TF-IDF n-grams "
        "+ linear SVM) reaches 41.18% macro F1; the best pretrained source, glove, is not "
        "distinguishable from it (gap +1.18 points, 2 SE 2.31 points); no pretrained source "
        "beat the baseline by more than 2 SE. The best pretrained source, glove (42.36%), is "
        "not distinguishable from random initialisation (41.18%): gap +1.18 points, 2 SE 2.31 "
        "points, so these vectors are not shown to help this task."
    )
    assert majority == (
        "Fraction 1 (judged by macro F1, the runs' metric): always predicting the most "
        "frequent training label ('a') scores 41.18% macro F1 on the 300 test texts; linear "
        "(41.18%) and random (41.18%) are not above it, so no better, and glove (42.36%; gap "
        "+1.18 points, 2 SE 2.31 points) is not distinguishable from it, so not "
        "distinguishably better than always predicting the majority class."
    )


def test_an_accuracy_gap_with_kept_predictions_is_judged_by_its_paired_standard_error() -> None:
    # the binomial margin "as if independent" (7.48 points on 300 texts) gives way to the
    # gap's own: the rows differ on one text, 2 SE 0.66 points
    comparison, majority = baseline_verdicts(_one_moved_data("accuracy"))
    assert comparison.startswith(
        "Fraction 1: the linear baseline (TF-IDF n-grams + linear SVM) reaches 70.00% accuracy; "
        "the best pretrained source, glove, is not distinguishable from it (gap +0.33 points, "
        "2 SE 0.66 points); no pretrained source beat the baseline by more than 2 SE. "
    )
    assert "as if independent" not in comparison
    assert majority.endswith(
        "and glove (70.33%; gap +0.33 points, 2 SE 0.66 points) is not distinguishable from "
        "it, so not distinguishably better than always predicting the majority class."
    )


def test_a_macro_f1_lead_of_84_against_40_is_a_win() -> None:
    # the reverted fixed guard called this "not shown to help"
    gold = ["a"] * 100 + ["b"] * 100
    good = ["a"] * 84 + ["b"] * 16 + ["b"] * 84 + ["a"] * 16
    poor = ["a"] * 40 + ["b"] * 60 + ["b"] * 40 + ["a"] * 60
    data = _verdict_data(("linear", "linear", 0), ("random", "random", 0), ("glove", "vectors", 0))
    data["settings"]["finetune"]["metric"] = "macro_f1"
    data = _with_predictions(data, gold, {"linear": poor, "random": poor, "glove": good}, "a")
    comparison, majority = baseline_verdicts(data)
    assert comparison == (
        "Fraction 1 (judged by macro F1, the runs' metric): the linear baseline (TF-IDF n-grams "
        "+ linear SVM) reaches 40.00% macro F1; the best pretrained source, glove, beats it by "
        "44.00 points, more than 2 SE (6.98 points) (sources above the baseline by more than "
        "2 SE: glove). The best pretrained source, glove (84.00%), beats random initialisation "
        "(40.00%) by 44.00 points, more than 2 SE (6.98 points)."
    )
    # always 'a' scores 33.33 % macro F1: linear and random (40 %) are within their 2 SE
    assert majority.endswith(
        "; linear (40.00%; gap +6.67 points, 2 SE 7.51 points) and random (40.00%; gap +6.67 "
        "points, 2 SE 7.51 points) are not distinguishable from it, so not distinguishably "
        "better than always predicting the majority class."
    )
    # random ahead beyond its 2 SE: the vectors do not help
    data["summary"][1]["source"] = data["cells"][1]["source"] = "rnd"
    data["sources"][1]["name"] = "rnd"
    data["summary"][2]["source"] = data["cells"][2]["source"] = "w2v"
    data["sources"][2]["name"] = "w2v"
    swapped = _with_predictions(data, gold, {"linear": poor, "rnd": good, "w2v": poor}, "a")
    assert baseline_verdicts(swapped)[0].endswith(
        " Random initialisation (rnd, 84.00%) beats the best pretrained source, w2v (40.00%), "
        "by 44.00 points, more than 2 SE (6.98 points): these vectors do not help this task."
    )
    # every row clear of the majority class by its own 2 SE
    clear = _with_predictions(swapped, gold, {"linear": good, "rnd": good, "w2v": good}, "a")
    assert baseline_verdicts(clear)[1].endswith(
        "scores 33.33% macro F1 on the 200 test texts; every row is above it by more than 2 SE "
        "of its gap."
    )


def test_the_report_says_what_2_se_means_where_a_verdict_used_it() -> None:
    from vecgraft.evaluate.report import _accuracy_blocks

    data = _one_moved_data("macro_f1")
    for row in data["summary"]:
        row |= {"n": 1, "accuracy_std": None, "accuracy_min": row["accuracy_mean"],
                "accuracy_max": row["accuracy_mean"], "macro_f1_std": None,
                "seconds_mean": 1.0, "train_size": 10}  # fmt: skip
    paragraphs = [b.text for b in _accuracy_blocks(data, plot=False) if b.kind == "p"]
    assert paragraphs[-1].startswith(
        "2 SE: two standard errors of the gap between two rows, from a paired bootstrap over "
        "the test texts. The 300 test texts are drawn with replacement 1,000 times (a fixed "
        "seed, so the report is the same every time); on each draw both rows are scored from "
        "their runs' kept per-text test predictions"
    )
    # the draws are of test texts only: a one-seed win can be the seed's luck, said so
    assert ("The draws are of test texts, not of training seeds: 2 SE is what another sample "
            "of test texts could do to the gap, not another seed, so a win of rows of one seed "
            "can be that seed's luck (run --seeds 3 or more") in paragraphs[-1]
    # a compare.json of an earlier release (no predictions): the verdicts as before, no note
    for cell in data["cells"]:
        del cell["test_predictions"]
    paragraphs = [b.text for b in _accuracy_blocks(data, plot=False) if b.kind == "p"]
    assert not any("2 SE" in p for p in paragraphs)
    assert "glove, beats it by 1.18 points (sources above the baseline: glove)." in paragraphs[1]


def test_runs_of_other_test_texts_are_not_paired() -> None:
    # a cell of seed 0 whose gold labels differ from another row's seed 0 (another test
    # split): the draws would pair different texts, so no paired error, as before
    data = _one_moved_data("macro_f1")
    record = data["cells"][0]["test_predictions"]
    record["gold"] = "1 " + record["gold"][2:]
    (comparison, _majority) = baseline_verdicts(data)
    assert "2 SE" not in comparison and "glove, beats it by 1.18 points" in comparison
    # and a record that does not parse is left out alike
    data = _one_moved_data("macro_f1")
    data["cells"][2]["test_predictions"]["predicted"] = "0 x"
    assert "glove, beats it by 1.18 points" in baseline_verdicts(data)[0]


def _part_paired_data(
    with_predictions: set[str], predicted: dict[str, list[str]]
) -> dict[str, Any]:
    """200 texts, rows linear, random, glove, w2v; only `with_predictions` keep theirs."""
    gold = ["a"] * 100 + ["b"] * 100
    data = _verdict_data(("linear", "linear", 0), ("random", "random", 0),
                         ("glove", "vectors", 0), ("w2v", "vectors", 0))  # fmt: skip
    data["settings"]["finetune"]["metric"] = "accuracy"
    data = _with_predictions(data, gold, predicted, "a")
    for cell in data["cells"]:
        if cell["source"] not in with_predictions:
            del cell["test_predictions"]
    return data


_GOOD = ["a"] * 90 + ["b"] * 10 + ["b"] * 90 + ["a"] * 10  # 90 %
_FAIR = ["a"] * 70 + ["b"] * 30 + ["b"] * 70 + ["a"] * 30  # 70 %
_POOR = ["a"] * 60 + ["b"] * 40 + ["b"] * 60 + ["a"] * 40  # 60 %


def test_a_winner_is_said_above_by_2_se_only_where_its_own_gap_had_one() -> None:
    # "sources above the baseline by more than 2 SE: glove, w2v" named w2v, whose runs kept
    # no test predictions (no 2 SE), because glove's gap had one
    data = _part_paired_data({"linear", "random", "glove"},
                             {"linear": _POOR, "random": _POOR, "glove": _GOOD, "w2v": _FAIR})
    (comparison, _majority) = baseline_verdicts(data)
    assert ("(sources above the baseline by more than 2 SE: glove; above it, with no paired "
            "SE: w2v)") in comparison


def test_no_winner_is_said_by_2_se_only_where_the_pretrained_rows_had_one() -> None:
    # random's gap to linear had a 2 SE, no pretrained row's did: "no pretrained source beat
    # the baseline by more than 2 SE" spoke of rows judged by their means alone
    data = _part_paired_data({"linear", "random"},
                             {"linear": _FAIR, "random": _POOR, "glove": _POOR, "w2v": _POOR})
    (comparison, _majority) = baseline_verdicts(data)
    assert "; no pretrained source beat the baseline." in comparison
    # one pretrained row with a 2 SE, one without: each named with its rule
    data = _part_paired_data({"linear", "random", "glove"},
                             {"linear": _FAIR, "random": _POOR, "glove": _POOR, "w2v": _POOR})
    (comparison, _majority) = baseline_verdicts(data)
    assert ("; no pretrained source beat the baseline (by more than 2 SE: glove; at all, with "
            "no paired SE: w2v).") in comparison


def test_each_record_is_parsed_once_however_many_gaps_are_asked(monkeypatch) -> None:
    # every gap asked re-parsed every cell's id strings (twice: its scores and its text
    # count): 8-12 s per baseline_verdicts on 6 rows x 3 seeds x 25,000 test texts, for the
    # console, report.md and report.html each
    from vecgraft.evaluate import _paired_noise

    parsed: list[object] = []
    real = _paired_noise.record_arrays

    def counted(record: object) -> object:
        parsed.append(record)
        return real(record)

    monkeypatch.setattr(_paired_noise, "record_arrays", counted)
    _paired_noise._fraction_scores.cache_clear()
    data = _one_moved_data("macro_f1")
    first = baseline_verdicts(data)
    assert len(parsed) == len(data["cells"])  # 3 records, for a dozen gaps
    assert baseline_verdicts(data) == first  # another rendering of the same content
    assert len(parsed) == len(data["cells"])


def test_the_report_says_why_kept_predictions_were_not_paired() -> None:
    # one cell of other test texts turned the paired 2 SE off for the whole fraction and
    # the verdicts fell back to the binomial wording without a word of why
    from vecgraft.evaluate.report import _accuracy_blocks

    data = _one_moved_data("accuracy")
    for row in data["summary"]:
        row |= {"n": 1, "accuracy_std": None, "accuracy_min": row["accuracy_mean"],
                "accuracy_max": row["accuracy_mean"], "macro_f1_std": None,
                "macro_f1_mean": row["macro_f1_mean"], "seconds_mean": 1.0,
                "train_size": 10}  # fmt: skip
    record = data["cells"][0]["test_predictions"]
    record["gold"] = "1 " + record["gold"][2:]
    paragraphs = [b.text for b in _accuracy_blocks(data, plot=False) if b.kind == "p"]
    assert paragraphs[-1] == (
        "No 2 SE at fraction 1: the runs of seed 0 hold other test texts (their gold labels "
        "differ), so its runs' kept test predictions cannot be paired and its verdicts judge "
        "accuracy by two binomial standard errors as if independent, macro F1 by none."
    )
    data["cells"][2]["test_predictions"] = {**record, "gold": record["gold"] + " 0",
                                            "predicted": record["predicted"] + " 0"}
    data["cells"][2]["seed"] = 1  # no seed-0 run to differ from: the counts do
    data["cells"][0]["test_predictions"]["gold"] = data["cells"][1]["test_predictions"]["gold"]
    paragraphs = [b.text for b in _accuracy_blocks(data, plot=False) if b.kind == "p"]
    assert paragraphs[-1].startswith(
        "No 2 SE at fraction 1: the runs hold different numbers of test texts (300, 301), "
    )


def test_a_cells_test_predictions_are_said_and_listed_in_its_manifest(
    task: dict[str, Path], tmp_path: Path
) -> None:
    # the second pass over the test split ran silently, outside the cell's seconds; and
    # test_predictions.json was not in the cell's manifest, so --overwrite never removed it
    out = tmp_path / "out"
    lines: list[str] = []
    compare(_config(task, out), log=lines.append)
    data = json.loads((out / "compare.json").read_text())
    texts = len(task["test"].read_text().splitlines()) - 1
    for cell in data["cells"]:
        run_dir = Path(cell["run_dir"])
        assert (f"compare: {run_dir}: predicting the test split again to keep per-text "
                f"predictions ({texts:,} texts)") in lines
        manifest = json.loads((run_dir / "manifest.json").read_text())
        assert "test_predictions.json" in manifest["files"]
    # reused with its predictions kept: nothing predicted, nothing said
    lines.clear()
    compare(_config(task, out), log=lines.append)
    assert not any("predicting the test split again" in line for line in lines)
