"""`vecgraft tune`: a short search end to end, resume after kill -9, two workers on one
study, cross-validation, test rows never reaching a trial, best.yaml through finetune."""

from __future__ import annotations

import contextlib
import csv
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from finetune_helpers import held_lock, is_locked, make_dataset, write_csv
from subprocess_helpers import stop_when
from vecgraft.cli import main
from vecgraft.errors import ConfigError
from vecgraft.evaluate import tune as tune_module
from vecgraft.evaluate.space import SPACES, default_params, family_space, to_config_changes
from vecgraft.evaluate.tune import (
    INTERRUPTED,
    JOURNAL_FILE,
    TuneSpec,
    _Worker,
    prepare_data,
    tune,
)
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.data import read_labelled, stratified_split
from vecgraft.finetune.metrics import majority_words
from vecgraft.finetune.run import finetune
from vecgraft.nn.models import ModelKind

# tiny trials: 2 epochs of a bag-of-embeddings model, a narrow space
FAST: dict[str, Any] = {"model": "boe", "epochs": 2, "max_length": 16, "progress": False}
SPACE: dict[str, Any] = {
    "lr": {"type": "float", "low": 0.005, "high": 0.05, "log": True},
    "epochs": 2,
    "batch_size": 16,
    "freeze_epochs": 0,
    "embedding_lr": None,
    "weight_decay": None,
    "warmup": None,
    "hidden_size": 0,
    "pooling": {"type": "categorical", "choices": ["mean", "max"]},
}


@pytest.fixture
def data(tmp_path):
    return make_dataset(tmp_path / "data", train_per_class=20, test_per_class=5)


def _study(out: Path, name: str = "vecgraft-tune") -> Any:
    storage = optuna.storages.JournalStorage(JournalFileBackend(str(out / JOURNAL_FILE)))
    return optuna.load_study(study_name=name, storage=storage)


def _polled_trials(out: Path) -> list[Any]:
    """The trials of a search still running in another process, [] before its study exists.

    Why: Optuna's journal backend creates the (empty) file when the storage opens, a moment
    before `create_study` appends the study's record; a poll in between got load_study's
    KeyError 'Record does not exist.' (seen under load, with Optuna 4.0).
    """
    if not (out / JOURNAL_FILE).exists():
        return []
    try:
        return _study(out).trials
    except KeyError:
        return []


def _states(out: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in _study(out).trials:
        counts[t.state.name] = counts.get(t.state.name, 0) + 1
    return counts


def _finished(out: Path) -> int:
    return sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in _study(out).trials)


def test_tune_is_public():
    import vecgraft
    from vecgraft.evaluate import TuneResult

    assert vecgraft.tune is tune
    assert TuneResult.__module__ == "vecgraft.evaluate.tune"


def test_space_is_data_per_family_and_overrides_narrow_it():
    for kind in ModelKind:  # every registered kind has a space
        assert str(kind.value) in SPACES
    assert "model_options.C" in SPACES["linear"]  # ready for the linear family
    space = family_space("cnn", {"lr": 0.01, "dropout": None, "num_filters": 50})
    assert space["lr"] == 0.01
    assert "model_options.dropout" not in space
    assert space["model_options.num_filters"] == 50
    with pytest.raises(ConfigError, match="'type' must be one of"):
        family_space("cnn", {"lr": {"type": "normal"}})
    with pytest.raises(ConfigError, match="log scale needs low > 0"):
        family_space("cnn", {"lr": {"type": "float", "low": 0, "high": 1, "log": True}})
    changes = to_config_changes(
        {"model_options.word_ngrams": "1-3", "lr": 0.1},
        {"model_options.word_ngrams": {"type": "range", "choices": ["1-3"]}},
        {"kind": "svm"},
    )
    assert changes == {"lr": 0.1, "model_options": {"kind": "svm", "word_ngrams": [1, 3]}}


def test_a_misspelled_space_setting_is_refused_before_any_trial(data, tmp_path, capsys):
    # settings the built-in space lacks are fine where fine-tuning or the model knows them
    space = family_space("cnn", {"label_smoothing": 0.1, "model_options.filter_widths": [3]})
    assert space["label_smoothing"] == 0.1 and space["model_options.filter_widths"] == [3]
    with pytest.raises(ConfigError, match=r"space: unknown setting 'dropuot' \(did you mean "
                       r"'dropout'\?\)"):  # fmt: skip
        family_space("boe", {"dropuot": {"type": "categorical", "choices": [0.1]}})
    with pytest.raises(ConfigError, match=r"'model_options.dropuot'.*options dropout, hidden"):
        family_space("boe", {"model_options.dropuot": 0.1})
    with pytest.raises(ConfigError, match=r"a model option is written model_options\.num_layers"):
        family_space("rnn", {"num_layers": 2})
    with pytest.raises(ConfigError, match=r"unknown setting 'CC' \(did you mean 'C'\?\)"):
        family_space("linear", {"CC": None})  # a removal that would remove nothing
    space_file = tmp_path / "space.yaml"
    space_file.write_text("dropuot: {type: categorical, choices: [0.1]}\n", encoding="utf-8")
    out = tmp_path / "t"
    argv = ["tune", "--train", str(data["train"]), "--model", "boe", "--trials", "1",
            "--space", str(space_file), "--out", str(out), "--no-progress"]  # fmt: skip
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert "space.yaml: unknown setting 'dropuot'" in err and "Traceback" not in err
    assert not out.exists()  # refused before the study was made


def test_a_study_whose_every_trial_fails_says_why(data, tmp_path):
    from vecgraft.errors import VecgraftError

    out = tmp_path / "t"
    with pytest.raises(VecgraftError, match=r"no trial completed \(2 ran\).*the trials failed "
                       r"with: 2 x lr must be > 0, got -1"):  # fmt: skip
        tune(data["train"], out=out, vectors=str(data["vectors"]), trials=2, config=FAST,
             space={**SPACE, "lr": -1}, progress=False, log=lambda _m: None)  # fmt: skip
    rows = list(csv.DictReader((out / "trials.csv").open()))
    assert [r["error"] for r in rows] == ["lr must be > 0, got -1"] * 2
    # the corrected command runs in the same --out: a study of failures has nothing to keep
    lines: list[str] = []
    tune(data["train"], out=out, vectors=str(data["vectors"]), trials=1, config=FAST,
         space=SPACE, progress=False, log=lines.append)  # fmt: skip
    assert "the earlier study had no finished trial and other settings" in "\n".join(lines)
    assert [t.state.name for t in _study(out).trials] == ["COMPLETE"]
    with pytest.raises(VecgraftError, match=r"no trial ran: --timeout 1e-09 s had passed"):
        tune(data["train"], out=tmp_path / "late", model="linear", trials=2, timeout=1e-9,
             progress=False, log=lambda _m: None)  # fmt: skip


def test_vectors_that_cannot_be_read_stop_the_command_before_the_study(data, tmp_path):
    # they failed every trial alike, and the study kept their path, so the corrected command
    # into the same --out was refused as "other settings or data"
    from vecgraft.errors import VecgraftError

    out = tmp_path / "t"
    with pytest.raises(VecgraftError, match="no such file"):
        tune(data["train"], out=out, vectors=str(tmp_path / "nope.txt"), trials=2,
             config=FAST, space=SPACE, progress=False, log=lambda _m: None)  # fmt: skip
    assert not out.exists()
    tune(data["train"], out=out, vectors=str(data["vectors"]), trials=1, config=FAST,
         space=SPACE, progress=False, log=lambda _m: None)  # fmt: skip
    assert _finished(out) == 1


def test_the_report_names_the_split_of_trial_scores_and_why_trials_failed():
    from vecgraft.evaluate.report import blocks_to_markdown
    from vecgraft.evaluate.tune_report import _trials_table

    trials = [
        {"number": 0, "state": "COMPLETE", "value": 0.75, "seconds": 1.0},
        {"number": 1, "state": "FAIL", "value": None, "seconds": 0.1, "error": "lr must be > 0"},
    ]
    text = blocks_to_markdown([_trials_table(trials, "accuracy")], lambda _b: None)
    assert "| trial | state | validation accuracy | seconds | error |" in text
    assert "| 1 | FAIL |" in text and "lr must be > 0 |" in text
    plain = blocks_to_markdown([_trials_table(trials[:1], "accuracy")], lambda _b: None)
    assert "error" not in plain


def test_finetunes_warnings_reach_the_tune_log_once(tmp_path):
    # Chinese with --tokenizer regex: finetune warns that the regex tokenizer leaves whole
    # clauses; the trials and the final run are quiet, but the warning must not be lost
    good = ["服务很好", "房间干净", "早餐不错", "位置方便"]
    bad = ["服务很差", "房间很脏", "早餐难吃"]
    rows = [(f"这家酒店{a}而且{b}", "1") for a, b in itertools.permutations(good, 2)]
    rows += [(f"这家酒店{a}而且{b}", "0") for a, b in itertools.permutations(bad * 2, 2)][:12]
    train = write_csv(tmp_path / "zh.csv", rows)
    lines: list[str] = []
    tune(train, out=tmp_path / "t", trials=1, config={**FAST, "tokenizer": "regex"},
         space=SPACE, progress=False, log=lines.append)  # fmt: skip
    # its rows repeat texts: the test split carved from them is mostly training twins
    warnings = [line for line in lines if line.startswith("WARNING") and "min_valid" not in line
                and "also occur in the training data" not in line]  # fmt: skip
    assert len(warnings) == 1 and "/ --tokenizer jieba" in warnings[0], lines


def test_a_warning_whose_numbers_the_final_run_measures_anew_is_said_once(tmp_path):
    # the final run trains on every row, the trials on a part: its Chinese warning said
    # "average 15.2 characters" after the trials' 15.4, and tune printed both
    rows = [(f"这家酒店{'很' * (i % 7)}好{'啊' * (3 * i // 2)}", "1") for i in range(20)]
    rows += [(f"这家酒店{'太' * (i % 5)}差{'了' * (i // 5)}", "0") for i in range(20)]
    train = write_csv(tmp_path / "zh.csv", rows)
    lines: list[str] = []
    tune(train, out=tmp_path / "t", trials=1, config={**FAST, "tokenizer": "regex"},
         space=SPACE, progress=False, log=lines.append)  # fmt: skip
    chinese = [line for line in lines if "/ --tokenizer jieba" in line]
    assert len(chinese) == 1, lines


def test_failed_trials_are_said_on_the_console_grouped_by_error(data, tmp_path):
    # 2 of 3 trials failed and the console said only "Chosen trial #0"
    lines: list[str] = []
    space = {**SPACE, "zh_mode": {"type": "categorical", "choices": ["word", "char"]}}
    tune(data["train"], out=tmp_path / "t", vectors=str(data["vectors"]), trials=3,
         config=FAST, space=space, progress=False, log=lines.append)  # fmt: skip
    rows = list(csv.DictReader((tmp_path / "t" / "trials.csv").open(encoding="utf-8")))
    failed = [f"#{r['number']}" for r in rows if r["state"] == "FAIL"]
    assert failed, rows  # the seeded sampler drew zh_mode char at least once
    said = (f"{len(failed)} of {len(rows)} trials failed: zh_mode is only used by the jieba "
            f"tokenizer, not regex (trial {', '.join(failed)})")  # fmt: skip
    assert said in lines
    assert lines.index(said) < next(i for i, x in enumerate(lines) if x.startswith("Chosen"))


def test_failed_trials_line_groups_errors_most_frequent_first():
    from vecgraft.evaluate._tune_outputs import failed_trials_line

    rows = [
        {"number": 0, "state": "COMPLETE"},
        {"number": 1, "state": "FAIL", "error": "b"},
        {"number": 2, "state": "FAIL", "error": "a"},
        {"number": 3, "state": "FAIL", "error": "a"},
        {"number": 4, "state": "PRUNED"},
        {"number": 5, "state": "FAIL"},
    ]
    assert failed_trials_line(rows) == (
        "4 of 6 trials failed: a (trial #2, #3); b (trial #1); no error recorded (trial #5)"
    )
    assert failed_trials_line(rows[:1]) == ""


@pytest.mark.parametrize("dedupe", [True, False])
def test_test_texts_also_in_train_are_said_once_and_in_the_report(data, tmp_path, dedupe):
    # finetune said "3 test text(s) also occur in the training data: removed from test";
    # tune said nothing, and with --no-dedupe called all test rows unseen
    test = write_csv(tmp_path / "test.csv", _rows(data["train"])[:3] + _rows(data["test"]))
    size = len(_rows(data["test"])) + (0 if dedupe else 3)
    lines: list[str] = []
    out = tmp_path / "t"
    tune(data["train"], test=test, out=out, model="linear", trials=1, progress=False,
         config={"dedupe": dedupe}, log=lines.append)  # fmt: skip
    action = "removed from test" if dedupe else "kept (--no-dedupe)"
    assert lines.count(f"3 test text(s) also occur in the training data: {action}") == 1
    tested = next(line for line in lines if line.startswith("Test ("))
    if dedupe:
        assert tested.startswith(f"Test ({size} texts, unseen during the search; 3 that also "
                                 "occur in the training data removed): ")  # fmt: skip
    else:
        assert tested.startswith(f"Test ({size} texts; 3 of them also occur in the training "
                                 "data, kept: --no-dedupe): ")  # fmt: skip
    summary = json.loads((out / "tune.json").read_text(encoding="utf-8"))
    assert summary["final"]["duplicates"] == {"count": 3, "label_conflicts": 0, "removed": dedupe}
    report = (out / "report.md").read_text(encoding="utf-8")
    if dedupe:
        assert (f"scored once on the {size} test rows. 3 more test text(s) also occur in the "
                "training data: removed from test (not among these rows).") in report
    else:
        assert (f"scored once on the {size} test rows. 3 of these test texts also occur in "
                "the training data: kept (--no-dedupe), so the test score counts texts the "
                "final model trained on.") in report


def test_a_config_files_max_length_is_named_by_its_key_in_tune(tmp_path, capsys):
    # it said "--max-length must be > 0": a flag not typed, and 0 (no limit) is allowed
    (tmp_path / "c.yaml").write_text("max_length: -5\n", encoding="utf-8")
    out = tmp_path / "t"
    argv = ["tune", "--train", str(tmp_path / "t.csv"), "--config", str(tmp_path / "c.yaml"),
            "--out", str(out)]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'c.yaml'}: max_length must be >= 0 (0: no limit), got -5" in err
    assert "--max-length" not in err and not out.exists()


def test_linear_baseline_is_searched_through_its_own_recipe(data, tmp_path):
    result = tune(data["train"], out=tmp_path / "t", model="linear", trials=2, progress=False)
    with open(tmp_path / "t" / "trials.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["state"] for r in rows] == ["COMPLETE", "COMPLETE"]
    assert {"param_model_options.C", "param_model_options.char_ngrams"} <= set(rows[0])
    assert (tmp_path / "t" / "final" / "linear.safetensors").exists()
    assert result.test_metrics is not None


@pytest.mark.parametrize("source", ["jieba", "char", "metadata"])
def test_linear_defaults_trial_is_finetunes_linear_model_for_chinese(tmp_path, source):
    # the "defaults" trial took LinearConfig's field defaults (chars 2-5, the English
    # setting), not the chars 1-3 of `finetune --model linear --tokenizer jieba`; with
    # --tokenizer char (no word n-grams in finetune) it drew word n-grams from the space
    good = ["服务很好", "房间干净", "早餐不错", "位置方便", "价格便宜"]
    bad = ["服务很差", "房间很脏", "早餐难吃", "位置偏僻", "价格太贵"]
    rows = [(f"这家酒店{a}而且{b}", "1") for a, b in itertools.permutations(good, 2)]
    rows += [(f"这家酒店{a}而且{b}", "0") for a, b in itertools.permutations(bad, 2)]
    train = write_csv(tmp_path / "train.csv", rows[::2] + rows[1::4])
    valid = write_csv(tmp_path / "valid.csv", rows[3::4])
    config: dict[str, Any] = {"model": "linear", "progress": False}
    vectors = "random"
    if source == "metadata":  # jieba from the vectors' metadata.json, no --tokenizer
        (tmp_path / "w2v").mkdir()
        vectors = str(tmp_path / "w2v" / "vectors.txt")
        Path(vectors).write_text("1 2\n酒店 0.1 0.2\n", encoding="utf-8")
        meta = {"method": "word2vec", "tokenizer": {"kind": "jieba"}}
        (tmp_path / "w2v" / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    else:
        config["tokenizer"] = source
    tune(train, valid=valid, out=tmp_path / "t", vectors=vectors, trials=1, config=config,
         progress=False, log=lambda _m: None)  # fmt: skip
    with open(tmp_path / "t" / "trials.csv", encoding="utf-8") as fh:
        first = next(csv.DictReader(fh))
    assert first["param_model_options.char_ngrams"] == "1-3"
    assert first["param_model_options.word_ngrams"] == ("none" if source == "char" else "1-2")
    finetune({**config, "train": str(train), "valid": str(valid), "vectors": vectors,
              "out": str(tmp_path / "f"), "plots": False}, log=lambda _m: None)  # fmt: skip
    tuned = json.loads((tmp_path / "t" / "final" / "linear.json").read_text(encoding="utf-8"))
    alone = json.loads((tmp_path / "f" / "linear.json").read_text(encoding="utf-8"))
    assert tuned == alone  # the same settings, fitted on the same rows: the same model
    scores = json.loads((tmp_path / "f" / "metrics.json").read_text(encoding="utf-8"))
    assert float(first["value"]) == scores["valid"]["accuracy"]


def test_a_none_range_choice_drops_those_ngrams():
    space = {"model_options.word_ngrams": {"type": "range", "choices": ["none", "1-2"]}}
    assert default_params(space, {}, {"word_ngrams": None}) == {
        "model_options.word_ngrams": "none"
    }
    changes = to_config_changes({"model_options.word_ngrams": "none"}, space, {"C": 2.0})
    assert changes == {"model_options": {"C": 2.0, "word_ngrams": None}}


def test_the_final_retrain_takes_the_run_lock_of_final(data, tmp_path, monkeypatch):
    # final/ is a run folder, but its retrain took no lock: a second command finishing the
    # same study (or a `finetune --out final`) wrote it at the same time
    out = tmp_path / "t"
    (out / "final").mkdir(parents=True)
    busy = f"{out / 'final'}: another run is writing this folder"
    with held_lock(out / "final"), pytest.raises(ConfigError, match=busy):
        tune(data["train"], out=out, model="linear", trials=1, progress=False)
    assert not any((out / "final").iterdir()) and not (out / "tune.json").exists()
    seen: list[bool] = []
    real = tune_module.splits_recipe

    def final_recipe(*args: Any, **kwargs: Any) -> Any:  # the final retrain's (not trials')
        recipe = real(*args, **kwargs)
        run = recipe.run
        recipe.run = lambda: seen.append(is_locked(out / "final")) or run()
        return recipe

    monkeypatch.setattr(tune_module, "splits_recipe", final_recipe)
    tune(data["train"], out=out, model="linear", trials=1, progress=False)
    assert seen == [True] and not is_locked(out / "final")
    assert (out / "final" / "metrics.json").is_file()


def test_cli_short_search_writes_every_output_and_best_yaml_runs_in_finetune(
    data, tmp_path, capsys
):
    out = tmp_path / "tune"
    (tmp_path / "base.yaml").write_text(yaml.safe_dump({**FAST, "lr": 0.02}))
    (tmp_path / "space.yaml").write_text(yaml.safe_dump(SPACE))
    argv = ["tune", "--train", str(data["train"]), "--vectors", str(data["vectors"])]
    argv += ["--config", str(tmp_path / "base.yaml"), "--space", str(tmp_path / "space.yaml")]
    argv += ["--trials", "3", "--seed", "0", "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "unseen during the search" in printed
    for name in ("best.yaml", "trials.csv", "report.md", "report.html", "tune.json"):
        assert (out / name).is_file(), name
    assert (out / "final" / "metrics.json").is_file()
    # final/ is a finetune run and draws its plots (the trials draw none): it had none,
    # its config.json saying plots: false while best.yaml said true
    for name in ("confusion.png", "history.png"):
        assert (out / "final" / name).is_file(), name
    assert json.loads((out / "final" / "config.json").read_text())["plots"] is True
    assert yaml.safe_load((out / "best.yaml").read_text())["plots"] is True
    rows = list(csv.DictReader((out / "trials.csv").open()))
    assert [r["number"] for r in rows] == ["0", "1", "2"]
    assert {r["state"] for r in rows} <= {"COMPLETE", "PRUNED"}
    summary = json.loads((out / "tune.json").read_text())
    # the final model was tested on exactly the held-out 20% of --train, never on trial rows
    train, _ = read_labelled(data["train"])
    _, held = stratified_split(train, 0.2, 0)
    assert summary["final"]["test_rows"] == len(held)
    assert summary["final"]["train_rows"] == len(train) - len(held)
    metrics = json.loads((out / "final" / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] == summary["final"]["test"]["accuracy"]
    assert "retrained on all" in (out / "report.md").read_text()
    assert "data:image/png;base64," in (out / "report.html").read_text()
    best = summary["best"]
    assert best["value"] == max(float(r["value"]) for r in rows if r["state"] == "COMPLETE")

    # round trip: best.yaml is a config `vecgraft finetune --config` accepts, with the settings
    loaded = FinetuneConfig.load(out / "best.yaml")
    assert loaded.lr == pytest.approx(best["params"]["lr"])
    assert loaded.model_options["pooling"] == best["params"]["model_options.pooling"]
    run = tmp_path / "again"
    assert main(["finetune", "--config", str(out / "best.yaml"), "--out", str(run)]) == 0
    saved = json.loads((run / "config.json").read_text())
    assert saved["lr"] == pytest.approx(best["params"]["lr"])
    assert saved["model_options"] == loaded.model_options
    # ... and trains the model tune's final run trained: all rows, one network, same scores
    again = json.loads((run / "metrics.json").read_text())
    assert loaded.valid_fraction == 0 and loaded.ensemble == 1
    assert loaded.train == str(data["train"].resolve())  # runs from any directory
    # no relative `out` to land under whatever directory it ran in: --out says where
    assert "out" not in yaml.safe_load((out / "best.yaml").read_text())
    assert again["test"] == metrics["test"] and again["sizes"] == metrics["sizes"]


def test_tune_no_plots_is_refused_naming_the_config_setting(tmp_path, capsys):
    from vecgraft.cli import main

    with pytest.raises(SystemExit):
        main(["tune", "--train", "x.csv", "--out", str(tmp_path / "o"), "--no-plots"])
    assert ("unrecognized arguments: --no-plots; tune draws the plots of final/ alone, none "
            "for the trials (`plots: false` in a --config file leaves them out)"
            ) in capsys.readouterr().err  # fmt: skip


def test_a_config_without_plots_keeps_final_and_best_yaml_without_them(data, tmp_path):
    # `plots: false` in tune's --config is final/'s setting, and best.yaml says it too; a
    # network model, as a linear one never draws history.png
    out = tmp_path / "t"
    tune(data["train"], out=out, vectors=str(data["vectors"]), trials=1, space=SPACE,
         config={**FAST, "plots": False}, progress=False, log=lambda _m: None)  # fmt: skip
    assert (out / "final" / "metrics.json").is_file()
    assert not list((out / "final").glob("*.png"))
    assert yaml.safe_load((out / "best.yaml").read_text())["plots"] is False


def _record(seen: list[tuple[int, int, Any, Any]]) -> Any:
    def hook(trial: int, fold: int, train: Any, valid: Any) -> None:
        seen.append((trial, fold, train, valid))

    return hook


def test_a_search_the_timeout_cut_short_says_so(data, tmp_path, monkeypatch):
    # `--timeout 2` stopped the search after 1 of 12 trials, and the log went straight to
    # "Chosen trial #0": neither it nor report.md nor tune.json said the search was cut short
    import types

    import vecgraft.evaluate._tune_study as tune_study

    started: list[int] = []
    real = time.time  # the deadline passes once the first trial has started
    clock = types.SimpleNamespace(**{k: getattr(time, k) for k in dir(time) if k[0] != "_"})
    clock.time = lambda: real() + (1e6 if started else 0)
    monkeypatch.setattr(tune_study, "time", clock)
    out, lines = tmp_path / "t", []
    tune(data["train"], out=out, vectors=str(data["vectors"]), trials=3, timeout=100,
         config=FAST, space=SPACE, progress=False, log=lines.append,
         trial_data_hook=lambda trial, *_: started.append(trial))  # fmt: skip
    said = ("the --timeout of 100 s stopped the search after 1 of 3 trials; run the same "
            "command again to continue")  # fmt: skip
    log = "\n".join(lines)
    assert log.index(f"Note: {said}") < log.index("Chosen trial #0")
    summary = json.loads((out / "tune.json").read_text())
    assert summary["stopped_by_timeout"] == said and summary["timeout"] == 100
    assert f"Note: {said}." in (out / "report.md").read_text()
    # the same command again, with time enough: it continues, and says nothing of a timeout
    started.clear()
    monkeypatch.setattr(tune_study, "time", time)
    lines.clear()
    tune(data["train"], out=out, vectors=str(data["vectors"]), trials=3, timeout=3600,
         config=FAST, space=SPACE, progress=False, log=lines.append)  # fmt: skip
    assert len(_study(out).trials) == 3
    assert "--timeout" not in "\n".join(lines)
    assert json.loads((out / "tune.json").read_text())["stopped_by_timeout"] is None
    assert "stopped the search" not in (out / "report.md").read_text()


def test_a_search_the_trial_count_ended_does_not_blame_the_timeout(data, tmp_path):
    # with --storage the count holds other machines' running trials: this machine left its
    # loop on the count with fewer than --trials finished, and (inferred from the counts)
    # said that the --timeout it was given, which never fired, had stopped it
    from vecgraft.evaluate._tune_spec import OWNER_ATTR

    url = f"sqlite:///{tmp_path / 'studies.db'}"
    other: list[Any] = []

    def elsewhere(*_args: Any) -> None:  # as this machine's trial runs, another starts one
        if not other:
            study = optuna.load_study(study_name="vecgraft-tune", storage=url)
            other.append(study.ask())
            study._storage.set_trial_system_attr(other[0]._trial_id, OWNER_ATTR,
                                                 {"host": "node17", "pid": 12345})  # fmt: skip

    out, lines = tmp_path / "t", []
    tune(data["train"], out=out, vectors=str(data["vectors"]), trials=2, timeout=3600,
         storage=url, config=FAST, space=SPACE, progress=False, log=lines.append,
         trial_data_hook=elsewhere)  # fmt: skip
    study = optuna.load_study(study_name="vecgraft-tune", storage=url)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE, TrialState.RUNNING]
    assert "--timeout" not in "\n".join(lines)
    assert json.loads((out / "tune.json").read_text())["stopped_by_timeout"] is None
    assert "stopped the search" not in (out / "report.md").read_text()


def test_test_file_rows_never_reach_a_trial(data, tmp_path):
    # every test text carries a marker word no training text has
    rows = [(f"{text} zzmarker{i}", label) for i, (text, label) in enumerate(_rows(data["test"]))]
    test = write_csv(tmp_path / "marked_test.csv", rows)
    seen: list[tuple[int, int, Any, Any]] = []
    result = tune(
        data["train"], test=test, out=tmp_path / "t", vectors=str(data["vectors"]),
        trials=2, config=FAST, space=SPACE, progress=False, trial_data_hook=_record(seen),
        log=lambda _m: None,
    )  # fmt: skip
    assert len(seen) == 2
    for _trial, _fold, train, valid in seen:
        assert not any("zzmarker" in t for t in train.texts + valid.texts)
    train_rows, _ = read_labelled(data["train"])
    # with --test given, trials may use all of --train
    assert sum(len(t) + len(v) for _, _, t, v in seen[:1]) == len(train_rows)
    assert result.test_metrics["support"]  # the final run did score the marked test file


def test_held_out_rows_never_reach_a_trial(data, tmp_path):
    seen: list[tuple[int, int, Any, Any]] = []
    tune(
        data["train"], out=tmp_path / "t", vectors=str(data["vectors"]), trials=2,
        config=FAST, space=SPACE, progress=False, trial_data_hook=_record(seen),
        log=lambda _m: None,
    )  # fmt: skip
    train, _ = read_labelled(data["train"])
    _, held = stratified_split(train, 0.2, 0)
    held_lines = set(held.lines)
    assert held_lines
    for _trial, _fold, fit, valid in seen:
        assert held_lines.isdisjoint(fit.lines + valid.lines)
        assert len(fit) + len(valid) == len(train) - len(held)


def test_cv_folds_partition_the_search_rows_and_score_is_their_mean(data, tmp_path):
    seen: list[tuple[int, int, Any, Any]] = []
    out = tmp_path / "cv"
    result = tune(
        data["train"], out=out, vectors=str(data["vectors"]), trials=1, cv=3, config=FAST,
        space=SPACE, progress=False, trial_data_hook=_record(seen), log=lambda _m: None,
    )  # fmt: skip
    assert [fold for _, fold, _, _ in seen] == [0, 1, 2]
    valid_lines = [line for _, _, _, v in seen for line in v.lines]
    spec = TuneSpec(base=FinetuneConfig(train=str(data["train"]), **FAST), out=str(out), cv=3)
    pool = prepare_data(spec).pool
    assert sorted(valid_lines) == sorted(pool.lines)  # each search row validated exactly once
    for _, _, fit, valid in seen:
        assert set(fit.lines).isdisjoint(valid.lines)
        assert len(fit) + len(valid) == len(pool)
    trial = _study(out).trials[0]
    scores = trial.user_attrs["fold_scores"]
    assert len(scores) == 3
    assert result.best_value == pytest.approx(sum(scores) / 3)


@pytest.mark.parametrize("fixed", [{"fuse_weight": 0.25}, {"fuse_pool": (1.0, 2.0)}])
def test_a_fusion_the_user_fixed_judges_the_trials_and_is_said(data, tmp_path, fixed):
    # --fuse-weight / --fuse-pool: trials were judged by the network alone while the final
    # run shipped the fused model, and the report set one beside the other unnamed
    out = tmp_path / "fixed"
    seen: list[tuple[int, int, Any, Any]] = []
    lines: list[str] = []
    tune(
        data["train"], out=out, vectors=str(data["vectors"]), trials=1, cv=3,
        config={**FAST, "min_valid": 10, **fixed}, space=SPACE, progress=False,
        trial_data_hook=_record(seen), log=lines.append,
    )  # fmt: skip
    trial = _study(out).trials[0]
    network = trial.user_attrs["network_fold_scores"]
    assert trial.user_attrs["judged_fused"] and len(network) == 3
    assert trial.value == pytest.approx(trial.user_attrs["fusion_fixed_score"])
    assert trial.value == pytest.approx(sum(trial.user_attrs["fold_scores"]) / 3)
    summary = json.loads((out / "tune.json").read_text())
    assert summary["best"]["judged_by"] == "fused"
    assert summary["best"]["fusion_fixed_score"] == pytest.approx(trial.value)
    metrics = json.loads((out / "final" / "metrics.json").read_text())
    assert metrics["fusion"]["weight_rule"] == f"fixed by {next(iter(fixed))}"
    assert any(line.startswith("Fused with the TF-IDF linear model at the ") for line in lines)
    # the console in the report's units: the chosen trial's accuracy in percent (was 0.7500)
    percent = f"{100 * trial.value:.2f}%"
    chosen = next(line for line in lines if line.startswith("Chosen trial #"))
    assert chosen.startswith(f"Chosen trial #0: validation accuracy {percent} (fused"), chosen
    report = (out / "report.md").read_text()
    assert "not chosen on validation rows" in report and "judged by this fused score" in report
    assert f"fused validation accuracy is {percent}" in report
    assert "| network share |" not in report  # no table of shares: none was chosen


def test_final_model_fuses_at_the_linear_share_best_on_the_chosen_trials_folds(data, tmp_path):
    # the final retrain has no validation rows: the trial's folds choose the linear share
    # (and a cross-fit asked of `finetune`, fuse_folds, is not run again by the final)
    out = tmp_path / "fused"
    tune(
        data["train"], out=out, vectors=str(data["vectors"]), trials=1, cv=3,
        config={**FAST, "fuse_folds": 2}, space=SPACE, progress=False, log=lambda _m: None,
    )  # fmt: skip
    trial = _study(out).trials[0]
    fused = trial.user_attrs["fusion_accuracy"]
    assert list(fused) == ["0.0", "0.25", "0.5", "0.75", "1.0"]
    # weight 1 is the network alone: its accuracy is the network's own (accuracy) score
    network = trial.user_attrs["network_fold_scores"]
    assert fused["1.0"] == pytest.approx(sum(network) / 3)
    assert trial.user_attrs["network_score"] == pytest.approx(sum(network) / 3)
    expected = max(fused, key=lambda w: (fused[w], -abs(float(w) - 0.5)))
    # the trial is judged by the model the final run ships: fused at that share
    assert trial.user_attrs["fused_share"] == float(expected)
    assert trial.value == pytest.approx(fused[expected])
    assert trial.value == pytest.approx(sum(trial.user_attrs["fold_scores"]) / 3)
    summary = json.loads((out / "tune.json").read_text())
    assert summary["best"]["judged_by"] == "fused"
    assert summary["best"]["network_value"] == pytest.approx(sum(network) / 3)
    assert summary["final"]["fuse_weight"] == float(expected)
    assert summary["best"]["fusion_accuracy"] == fused
    # each trial's fusion is in trials.csv and tune.json's trials too, under the same names
    # (the README named them per trial; only the Optuna journal had them)
    listed = summary["trials"][0]
    assert listed["fused_share"] == float(expected) and listed["fusion_accuracy"] == fused
    assert listed["network_score"] == pytest.approx(sum(network) / 3)
    row = next(csv.DictReader((out / "trials.csv").open(encoding="utf-8")))
    assert float(row["fused_share"]) == float(expected)
    assert float(row["network_score"]) == pytest.approx(sum(network) / 3)
    assert json.loads(row["fusion_accuracy"]) == fused and "fusion_pool" not in row
    metrics = json.loads((out / "final" / "metrics.json").read_text())
    assert metrics["fusion"]["weight"] == float(expected)
    assert metrics["fusion"]["weight_rule"] == "fixed by fuse_weight"
    final = FinetuneConfig.load(out / "best.yaml")
    assert final.fuse_weight == float(expected) and final.fuse_folds == 0
    report = (out / "report.md").read_text()
    assert "network share" in report and "accuracy (fused)" in report
    assert "judged by this fused score" in report


def test_final_model_fuses_by_the_pool_fitted_on_the_chosen_trials_folds(
    data, tmp_path, monkeypatch
):
    # where finetune would pool (min_valid rows to fit on), one pool is fitted on every
    # fold's validation rows together; the trial is judged by it and the final run fixes it
    import numpy as np

    from vecgraft.finetune import fusion

    fits: list[tuple[Any, Any, Any, tuple[float, float]]] = []
    real = fusion.fit_pool

    def recorded(network: Any, linear: Any, gold: Any, *weights: Any) -> tuple[float, float]:
        fits.append((network, linear, gold, real(network, linear, gold, *weights)))
        return fits[-1][3]

    monkeypatch.setattr(fusion, "fit_pool", recorded)
    seen: list[tuple[int, int, Any, Any]] = []
    out = tmp_path / "pooled"
    lines: list[str] = []
    tune(
        data["train"], out=out, vectors=str(data["vectors"]), trials=1, cv=3,
        config={**FAST, "min_valid": 10}, space=SPACE, progress=False,
        trial_data_hook=_record(seen), log=lines.append,
    )  # fmt: skip
    assert len(fits) == 1  # the trial's; the final run's pool is fixed, not fitted again
    network, linear, gold, pool = fits[0]
    sizes = [len(valid) for _, _, _, valid in seen]
    assert len(gold) == sum(sizes) == 48
    ends = np.cumsum([0, *sizes])
    pooled = fusion.log_pool(network, linear, pool).argmax(axis=1) == np.asarray(gold)
    expected = [float(pooled[a:b].mean()) for a, b in itertools.pairwise(ends)]
    trial = _study(out).trials[0]
    assert trial.user_attrs["fusion_pool"] == list(pool)
    assert trial.user_attrs["fold_scores"] == pytest.approx(expected)
    assert trial.value == pytest.approx(sum(expected) / 3)
    assert trial.user_attrs["fusion_pool_accuracy"] == pytest.approx(trial.value)
    assert "fused_share" not in trial.user_attrs and trial.user_attrs["judged_fused"]
    summary = json.loads((out / "tune.json").read_text())
    assert summary["best"]["judged_by"] == "fused"
    assert summary["final"]["fuse_pool"] == list(pool) and summary["final"]["fuse_weight"] is None
    assert summary["trials"][0]["fusion_pool"] == list(pool)
    row = next(csv.DictReader((out / "trials.csv").open(encoding="utf-8")))
    assert json.loads(row["fusion_pool"]) == list(pool) and "fused_share" not in row
    assert float(row["fusion_pool_accuracy"]) == pytest.approx(trial.value)
    metrics = json.loads((out / "final" / "metrics.json").read_text())
    assert metrics["fusion"]["pool"] == {"network": pool[0], "linear": pool[1]}
    assert metrics["fusion"]["weight_rule"] == "fixed by fuse_pool"
    assert FinetuneConfig.load(out / "best.yaml").fuse_pool == pool
    assert any(line.startswith("Fused with the TF-IDF linear model: log-linear pool (network x")
               for line in lines), lines
    report = (out / "report.md").read_text()
    assert "by a log-linear pool" in report
    assert "judged by this fused score at their own pool" in report


def test_each_folds_linear_model_is_fitted_once_per_search(data, tmp_path, monkeypatch):
    # trials change the network's settings only: the fold's TF-IDF fit is the same each time
    from vecgraft.finetune import fusion

    fits: list[int] = []
    real = fusion.fit_linear

    def counted(texts: Any, *args: Any, **kwargs: Any) -> Any:
        fits.append(len(texts))
        return real(texts, *args, **kwargs)

    monkeypatch.setattr(fusion, "fit_linear", counted)
    out = tmp_path / "cached"
    tune(
        data["train"], out=out, vectors=str(data["vectors"]), trials=3, cv=2, config=FAST,
        space=SPACE, select="best", progress=False, log=lambda _m: None,
    )  # fmt: skip
    done = [t for t in _study(out).trials if t.state == TrialState.COMPLETE]
    assert len(done) == 3
    # one fit per fold (24 rows each) for three trials, then the final retrain's on all 48
    assert fits == [24, 24, 48]
    tables = {str(t.user_attrs["fusion_accuracy"]["0.0"]) for t in done}
    assert len(tables) == 1  # weight 0 is the linear model alone: the same in every trial


def test_a_metric_the_fusion_is_not_scored_by_judges_the_network_alone(data, tmp_path):
    # fused scores are accuracies: a macro-F1 search keeps judging the network's macro F1
    out = tmp_path / "f1"
    tune(
        data["train"], out=out, vectors=str(data["vectors"]), trials=1,
        config={**FAST, "metric": "macro_f1"}, space=SPACE, progress=False,
        log=lambda _m: None,
    )  # fmt: skip
    trial = _study(out).trials[0]
    assert "fusion_accuracy" in trial.user_attrs  # still recorded, to fix the final share
    assert "fused_share" not in trial.user_attrs and "network_score" not in trial.user_attrs
    summary = json.loads((out / "tune.json").read_text())
    assert summary["best"]["judged_by"] == "network"
    assert summary["best"]["network_value"] == trial.value == trial.user_attrs["fold_scores"][0]


def test_no_linear_share_when_the_trials_do_not_fuse(data, tmp_path):
    out = tmp_path / "alone"
    tune(
        data["train"], out=out, vectors=str(data["vectors"]), trials=1,
        config={**FAST, "fuse_linear": False}, space=SPACE, progress=False,
        log=lambda _m: None,
    )  # fmt: skip
    trial = _study(out).trials[0]
    assert "fusion_accuracy" not in trial.user_attrs and "fused_share" not in trial.user_attrs
    summary = json.loads((out / "tune.json").read_text())
    assert summary["final"]["fuse_weight"] is None and summary["best"]["judged_by"] == "network"
    metrics = json.loads((out / "final" / "metrics.json").read_text())
    assert "fusion" not in metrics
    # a finetune run's metrics.json, as `finetune --config best.yaml` writes it (it lacked these)
    assert metrics["task"] == "classification" and metrics["valid"] is None
    assert {"majority_baseline", "coverage"} <= set(metrics)
    assert "network share" not in (out / "report.md").read_text()


def test_cli_fusion_flags_reach_every_trial_config():
    from vecgraft.cli import build_parser
    from vecgraft.cli.tune import _sources

    args = build_parser("tune").parse_args(
        ["tune", "--train", "t.csv", "--out", "o", "--no-fuse-linear", "--fuse-weight", "0.75"]
    )
    assert _sources(args) == ({}, {"fuse_linear": False, "fuse_weight": 0.75})
    args = build_parser("tune").parse_args(
        ["tune", "--train", "t.csv", "--out", "o", "--fuse-pool", "0.5", "2"]
    )
    assert _sources(args) == ({}, {"fuse_pool": [0.5, 2.0]})
    args = build_parser("tune").parse_args(["tune", "--train", "t.csv", "--out", "o"])
    assert _sources(args) == ({}, {})


def test_cv_with_too_few_rows_per_label_names_the_problem(data, tmp_path):
    from vecgraft.errors import DataError

    with pytest.raises(DataError, match="cv=50 needs at least 50 rows of every label"):
        tune(data["train"], out=tmp_path / "t", trials=1, cv=50, config=FAST, progress=False)
    with pytest.raises(ConfigError, match="cv and valid exclude each other"):
        tune(data["train"], valid=data["test"], out=tmp_path / "t", cv=3, progress=False)


def test_a_validation_split_too_small_to_choose_on_is_named_with_cv_as_the_way_out(
    data, tmp_path
):
    # 20 rows a class: a 10% validation split of 8 rows cannot tell trials apart
    lines: list[str] = []
    tune(data["train"], test=data["test"], out=tmp_path / "t", trials=1, config=FAST,
         space=SPACE, progress=False, log=lines.append)  # fmt: skip
    small = [line for line in lines if "validation rows (< min_valid 50)" in line]
    assert len(small) == 1 and small[0].startswith("WARNING") and "--cv K" in small[0], lines
    lines.clear()  # folds score every search row: nothing to warn about
    tune(data["train"], test=data["test"], out=tmp_path / "cv", trials=1, cv=2, config=FAST,
         space=SPACE, progress=False, log=lines.append)  # fmt: skip
    assert not [line for line in lines if "min_valid" in line], lines


def test_a_test_file_that_is_the_train_or_valid_file_is_refused_before_any_trial(
    data, tmp_path
):
    # it was found after the whole search, when the test split was read and emptied
    same = {"train": data["train"], "valid": data["test"]}  # valid is the fixture's test file
    for role, test in same.items():
        with pytest.raises(ConfigError, match=rf"is also the {role} file: its texts would be "
                                              rf"removed from the test split after the search"):
            tune(data["train"], valid=data["test"], test=test, out=tmp_path / role, trials=1,
                 config=FAST, progress=False)  # fmt: skip
        assert not (tmp_path / role).exists()
    # --no-dedupe scores duplicates: the same file is allowed (and finetune's business)
    spec_ok = {**FAST, "dedupe": False}
    tune(data["train"], test=data["train"], out=tmp_path / "nd", trials=1, config=spec_ok,
         space=SPACE, progress=False)  # fmt: skip


def test_a_search_without_validation_data_is_refused(data, tmp_path):
    with pytest.raises(ConfigError, match="valid_fraction 0 leaves none"):
        tune(data["train"], out=tmp_path / "t", trials=1, config={**FAST, "valid_fraction": 0.0},
             progress=False)  # fmt: skip


class _PruningTrial:
    """A trial stub whose pruner always says stop: the first epoch's report must end it."""

    number = 0

    def __init__(self) -> None:
        self.reports: list[tuple[float, int]] = []

    def suggest_float(self, name: str, low: float, high: float, log: bool = False) -> float:
        return low

    def suggest_int(self, name: str, low: int, high: int, log: bool = False) -> int:
        return low

    def suggest_categorical(self, name: str, choices: list[Any]) -> Any:
        return choices[0]

    def report(self, value: float, step: int) -> None:
        self.reports.append((value, step))

    def should_prune(self) -> bool:
        return True


def test_per_epoch_validation_scores_feed_the_pruner(data, tmp_path):
    spec = TuneSpec(
        base=FinetuneConfig(train=str(data["train"]), **{**FAST, "epochs": 3}),
        out=str(tmp_path),
        space=family_space("boe", {**SPACE, "epochs": 3}),
    )
    trial = _PruningTrial()
    with pytest.raises(optuna.TrialPruned):
        _Worker(spec, prepare_data(spec)).objective(trial)
    assert [step for _, step in trial.reports] == [1]  # stopped after epoch 1 of 3
    assert 0.0 <= trial.reports[0][0] <= 1.0


def _rows(path: Path) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return [(r["text"], r["label"]) for r in csv.DictReader(fh)]


def _cli(
    data: dict[str, Path], out: Path, trials: int, *extra: str, epochs: int = 4
) -> list[str]:
    base = out.parent / "slow.yaml"
    base.write_text(yaml.safe_dump({**FAST, "epochs": epochs}))
    space = out.parent / "space.yaml"
    space.write_text(yaml.safe_dump({**SPACE, "epochs": epochs}))
    return [
        sys.executable, "-m", "vecgraft", "tune", "--train", str(data["train"]),
        "--vectors", str(data["vectors"]), "--config", str(base), "--space", str(space),
        "--trials", str(trials), "--out", str(out), "--no-progress", *extra,
    ]  # fmt: skip


def _env() -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[1] / "src")
    return {**os.environ, "PYTHONPATH": src, "OMP_NUM_THREADS": "1"}


@pytest.mark.slow
def test_killed_search_resumes_and_ends_with_exactly_n_finished_trials(data, tmp_path, capsys):
    out = tmp_path / "tune"
    # trials long enough (about a second) for the journal poll below to see one running
    cmd = _cli(data, out, 3, epochs=60)
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        killed = False
        while time.time() < deadline and proc.poll() is None:
            trials = _polled_trials(out)
            done = sum(t.state == TrialState.COMPLETE for t in trials)
            # a running trial that has drawn its settings: it is training now
            if done >= 1 and any(t.state == TrialState.RUNNING and t.params for t in trials):
                proc.send_signal(signal.SIGKILL)  # kill -9 in the middle of a trial
                killed = True
                break
            time.sleep(0.05)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert killed, proc.stderr.read().decode() if proc.stderr else ""
    assert _states(out).get("RUNNING") == 1
    done = _states(out).get("COMPLETE")
    # the same command again (in this process: it only needs the same arguments)
    assert main(cmd[3:]) == 0
    said = capsys.readouterr().out
    assert "1 trial(s) left running by a command that ended (#" in said
    assert f"{out}: continuing: {done} of 3 trials already finished\n" in said
    states = _states(out)
    assert _finished(out) == 3
    assert states.get("FAIL") == 1 and "RUNNING" not in states
    failed = next(t for t in _study(out).trials if t.state == TrialState.FAIL)
    retried = [t for t in _study(out).trials if t.number > failed.number]
    # the killed trial's settings ran again (those it had drawn when the kill came)
    assert failed.params.items() <= retried[0].params.items()
    # running the finished command again starts no new trial
    assert main(cmd[3:]) == 0
    assert _finished(out) == 3 and len(_study(out).trials) == 4
    assert (f"{out}: continuing: 3 of 3 trials already finished; none left to run (a "
            "larger --trials runs more)") in capsys.readouterr().out  # fmt: skip


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _stopped_with_both_workers_training(data: dict[str, Path], out: Path, stop) -> tuple:
    """Run `tune --jobs 2` until this process's worker and the spawned one are each in a
    trial, then `stop(proc)`; (exit status, stderr, the worker processes' ids)."""
    cmd = _cli(data, out, 12, "--jobs", "2", epochs=60)
    pids: set[int] = set()

    def both_training() -> bool:
        running = [t.user_attrs.get("worker", "") for t in _polled_trials(out)
                   if t.state == TrialState.RUNNING and t.params]  # fmt: skip
        pids.update(int(w.split(":")[0]) for w in running)
        return {w.split(":")[-1] for w in running} == {"0", "1"}

    def stopped(proc: subprocess.Popen[bytes]) -> None:
        pids.discard(proc.pid)
        stop(proc)

    code, err = stop_when(cmd, both_training, stopped, env=_env(), new_session=True)
    assert len(pids) == 1, err
    return code, err, pids


def _gone(pids: set[int], within: float) -> bool:
    deadline = time.time() + within
    while any(_alive(pid) for pid in pids) and time.time() < deadline:
        time.sleep(0.05)
    return not any(_alive(pid) for pid in pids)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("stop", "status"),
    [
        (lambda proc: proc.send_signal(signal.SIGTERM), 143),  # `kill`: the command alone
        (lambda proc: os.killpg(proc.pid, signal.SIGINT), 130),  # Ctrl-C: the whole group
    ],
    ids=["sigterm", "ctrl-c"],
)
def test_a_stopped_tune_stops_its_worker_processes_and_marks_their_trials(
    data, tmp_path, stop, status
):
    # SIGTERM ended the command alone: its trial stayed RUNNING and the spawned worker went
    # on finishing trials into the journal; Ctrl-C printed a worker's traceback
    out = tmp_path / "tune"
    code, err, workers = _stopped_with_both_workers_training(data, out, stop)
    try:
        assert code == status, err
        assert _gone(workers, within=1.0)  # stopped before the command ended
        assert "Traceback" not in err and "leaked semaphore" not in err, err
        trials = _study(out).trials
        assert not [t for t in trials if t.state == TrialState.RUNNING]
        stopped = [t for t in trials if t.user_attrs.get(INTERRUPTED)]
        assert {t.user_attrs["worker"].split(":")[-1] for t in stopped} == {"0", "1"}
        time.sleep(1.0)
        assert len(_study(out).trials) == len(trials)  # no worker writes on
    finally:
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_a_worker_process_stops_when_its_tune_is_killed(data, tmp_path):
    # kill -9 runs nothing in the command: the worker sees its parent gone and stops
    out = tmp_path / "tune"
    code, err, workers = _stopped_with_both_workers_training(
        data, out, lambda proc: proc.send_signal(signal.SIGKILL)
    )
    try:
        assert code == -signal.SIGKILL
        assert _gone(workers, within=10.0), "the worker process went on alone"
        states = {t.user_attrs["worker"].split(":")[-1]: t for t in _study(out).trials
                  if t.state in (TrialState.RUNNING, TrialState.FAIL)}  # fmt: skip
        assert states["1"].state == TrialState.FAIL and states["1"].user_attrs[INTERRUPTED]
        assert states["0"].state == TrialState.RUNNING  # the next run queues it again
        assert "leaked semaphore" not in err, err
    finally:
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_trial_stopped_by_ctrl_c_runs_again(data, tmp_path, monkeypatch, capsys):
    # Ctrl-C marked the trial failed "(its settings are rerun)" but queued nothing: only a
    # hard kill's trials ran again, so the search's result hung on when the user pressed it
    from vecgraft.evaluate import _tune_study

    out = tmp_path / "tune"
    cmd = _cli(data, out, 3)
    real = _tune_study._Worker.objective
    calls = []

    def interrupted_second(self: Any, trial: Any) -> float:
        calls.append(trial.number)
        if len(calls) == 2:
            trial.suggest_float("lr", 0.005, 0.05, log=True)  # SPACE's, drawn; then Ctrl-C
            raise KeyboardInterrupt
        return real(self, trial)

    monkeypatch.setattr(_tune_study._Worker, "objective", interrupted_second)
    assert main(cmd[3:]) == 130  # what Ctrl-C exits with
    monkeypatch.setattr(_tune_study._Worker, "objective", real)
    failed = next(t for t in _study(out).trials if t.state == TrialState.FAIL)
    waiting = [t for t in _study(out).trials if t.state == TrialState.WAITING]
    queued = [t.system_attrs.get("fixed_params") for t in waiting]  # optuna's queue
    assert queued == [failed.params] and failed.params
    assert main(cmd[3:]) == 0
    assert _finished(out) == 3
    retried = next(t for t in _study(out).trials if t.number > failed.number)
    assert failed.params.items() <= retried.params.items()


def test_a_ctrl_c_right_after_the_ask_stops_the_trial_as_one_stopped_mid_training(
    data, tmp_path, monkeypatch
):
    # a Ctrl-C after `study.ask()` (here: once the trial's worker is in the journal) but
    # before the trial's `try` left it RUNNING, neither failed, marked, nor queued again
    out = tmp_path / "tune"
    cmd = _cli(data, out, 3)
    marked = _ctrl_c_once_the_worker_is_marked(cmd, monkeypatch, lambda marked: len(marked) == 2)
    trials = {t.number: t for t in _study(out).trials}
    stopped = trials[marked[1]]
    assert stopped.state == TrialState.FAIL and stopped.user_attrs.get(INTERRUPTED) is True
    assert [t.state for t in trials.values()].count(TrialState.RUNNING) == 0
    waiting = [t for t in trials.values() if t.state == TrialState.WAITING]
    assert [t.system_attrs.get("fixed_params") for t in waiting] == [stopped.params]
    assert main(cmd[3:]) == 0
    assert _finished(out) == 3


def _ctrl_c_once_the_worker_is_marked(
    cmd: list[str], monkeypatch: Any, when: Callable[[list[int]], bool]
) -> list[int]:
    """Run `cmd`'s tune in-process; a real SIGINT right after a trial's "worker" attribute
    is written, once `when(numbers of the trials marked so far)`; those numbers."""
    real = optuna.trial.Trial.set_user_attr
    marked: list[int] = []

    def ctrl_c(self: Any, key: str, value: Any) -> None:
        real(self, key, value)
        if key == "worker":
            marked.append(self.number)
            if when(marked):
                signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(optuna.trial.Trial, "set_user_attr", ctrl_c)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # even if ignored
    try:
        assert main(cmd[3:]) == 130
    finally:
        signal.signal(signal.SIGINT, previous)
    monkeypatch.setattr(optuna.trial.Trial, "set_user_attr", real)
    return marked


def test_the_default_trial_stopped_before_it_drew_its_settings_runs_them_again(
    data, tmp_path, monkeypatch
):
    # queued again with the settings it had drawn (none yet), the default trial ran again
    # with drawn settings, still marked the default: the search's baseline was not the default
    out = tmp_path / "tune"
    cmd = _cli(data, out, 2)
    _ctrl_c_once_the_worker_is_marked(cmd, monkeypatch, lambda marked: marked == [0])
    stopped = _study(out).trials[0]
    defaults = stopped.system_attrs["fixed_params"]
    assert stopped.user_attrs[INTERRUPTED] is True and stopped.params == {} and defaults
    assert main(cmd[3:]) == 0
    rerun = [t for t in _study(out).trials if t.number > 0 and t.user_attrs.get("default")]
    assert [(t.state, t.params) for t in rerun] == [(TrialState.COMPLETE, defaults)]


def test_a_search_stopped_and_run_again_draws_the_trials_of_one_never_stopped(
    data, tmp_path, monkeypatch
):
    # the sampler started again with the command, seeded from the count of trials so far:
    # after a Ctrl-C the same seed drew other settings than an unstopped search
    from vecgraft.evaluate import _tune_study

    def search(out: Path) -> None:
        tune(
            data["train"], out=out, vectors=str(data["vectors"]), trials=5, config=FAST,
            space=SPACE, progress=False, log=lambda _m: None,
        )  # fmt: skip

    def drawn(out: Path) -> list[dict[str, Any]]:  # each trial's settings, interrupted aside
        trials = sorted(_study(out).trials, key=lambda t: t.number)
        return [t.params for t in trials if not t.user_attrs.get(INTERRUPTED)]

    search(tmp_path / "whole")
    real = _tune_study._Worker.objective

    def stopped_in_the_third(self: Any, trial: Any) -> float:
        if trial.number == 2:  # after 2 trials, halfway through drawing its settings
            trial.suggest_float("lr", 0.005, 0.05, log=True)  # SPACE's, drawn; then Ctrl-C
            raise KeyboardInterrupt
        return real(self, trial)

    monkeypatch.setattr(_tune_study._Worker, "objective", stopped_in_the_third)
    with pytest.raises(KeyboardInterrupt):
        search(tmp_path / "stopped")
    monkeypatch.setattr(_tune_study._Worker, "objective", real)
    search(tmp_path / "stopped")
    whole = drawn(tmp_path / "whole")
    assert len(whole) == 5 and len({json.dumps(p, sort_keys=True) for p in whole}) == 5
    assert drawn(tmp_path / "stopped") == whole
    # and scored alike: only the interrupted trial is more
    assert _states(tmp_path / "stopped") == {**_states(tmp_path / "whole"), "FAIL": 1}


def test_a_trial_queued_again_draws_at_the_place_of_the_one_it_repeats():
    # with --jobs, trials asked after the interrupted one pushed its repeat to their own
    # place: it drew the settings the interrupted one had not drawn from another seed
    from vecgraft.evaluate._tune_study import _place, _requeue

    study = optuna.create_study()
    study.tell(study.ask(), 1.0)
    stopped, other = study.ask(), study.ask()  # two workers' trials, running
    assert (_place(study, stopped), _place(study, other)) == (1, 2)
    stopped.set_user_attr(INTERRUPTED, True)
    study.tell(stopped, state=TrialState.FAIL)
    _requeue(study, stopped)
    again = study.ask()
    assert again.number == 3 and _place(study, again) == 1
    assert _place(study, study.ask()) == 3  # the trials 0, 2 and 3 come before it


@pytest.mark.slow
def test_two_worker_processes_share_one_study_without_lost_or_repeated_trials(data, tmp_path):
    out = tmp_path / "tune"
    assert main(_cli(data, out, 4, "--jobs", "2")[3:]) == 0  # this process + 1 worker process
    trials = _study(out).trials
    assert [t.number for t in trials] == [0, 1, 2, 3]
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
    assert len({t.user_attrs["worker"] for t in trials}) == 2  # both processes ran trials
    # each trial draws from a seed of its own (its place in the study), so no settings repeat
    params = [tuple(sorted(t.params.items())) for t in trials]
    assert len(set(params)) == len(params)
    rows = list(csv.DictReader((out / "trials.csv").open()))
    assert len(rows) == 4


def test_first_trial_of_a_new_study_is_the_default_model(data, tmp_path):
    out = tmp_path / "t"
    base = {**FAST, "lr": 0.02, "model_options": {"pooling": "max"}}
    tune(
        data["train"], out=out, vectors=str(data["vectors"]), trials=2, config=base,
        space=SPACE, progress=False, log=lambda _m: None,
    )  # fmt: skip
    first = min(_study(out).trials, key=lambda t: t.number)
    # the base config's lr and pooling and the family's defaults, not sampled values
    assert first.params == {
        "lr": 0.02, "model_options.pooling": "max", "model_options.dropout": 0.0,
        "train_steps": 3000,
    }  # fmt: skip


def test_a_second_command_on_a_study_must_be_the_same_search_on_the_same_data(data, tmp_path):
    out = tmp_path / "t"

    def run(trials: int, **changes: Any) -> Any:
        kwargs = {"out": out, "model": "linear", "trials": trials, "progress": False,
                  "log": lambda _m: None, **changes}  # fmt: skip
        return tune(data["train"], **kwargs)

    run(1)
    run(2, timeout=600)  # more trials, another time limit: the same search, continued
    assert len(_study(out).trials) == 2
    with pytest.raises(ConfigError, match=r"this study ran with other settings or data "
                       r"\(.*base.model: 'linear' -> 'boe'") as refused:  # fmt: skip
        run(3, model="boe", config=FAST)
    # not --study NAME: a second study in this folder would overwrite best.yaml and final/
    assert str(refused.value).endswith("use another --out to start a new search")
    # with --storage the study lives there: another --out changed nothing
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    run(1, storage=url, out=tmp_path / "s1")
    with pytest.raises(ConfigError, match=r"name another study \(--study NAME\) or --storage "
                                          r"to start a new search$"):
        run(1, storage=url, out=tmp_path / "s2", model="boe", config=FAST)
    with open(data["train"], "a", encoding="utf-8") as fh:
        fh.write("one more text about food,food\n")
    with pytest.raises(ConfigError, match=r"other settings or data \(train .*train\.csv "
                       r"\(size \d+ -> \d+\)\)"):  # fmt: skip
        run(3)
    assert len(_study(out).trials) == 2  # neither refused command ran a trial


def test_a_study_continues_over_a_touched_file_and_from_before_the_whole_file_hash(
    data, tmp_path
):
    # the whole-file hash decides: a training file touched or copied unchanged is the same
    # data; a study saved before the hash was kept compares what both fingerprints hold
    import shutil

    from vecgraft.evaluate._tune_setup import SETTINGS_ATTR

    train = Path(shutil.copy(data["train"], tmp_path / "train.csv"))
    out = tmp_path / "t"

    def run(trials: int) -> Any:
        return tune(train, out=out, model="linear", trials=trials, progress=False,
                    log=lambda _m: None)  # fmt: skip

    run(1)
    os.utime(train, ns=(1, 1))
    run(2)
    study = _study(out)
    saved = study.user_attrs[SETTINGS_ATTR]
    assert "sha256" in saved["inputs"]["train"]
    saved["inputs"]["train"].pop("sha256")
    saved["inputs"]["train"]["mtime_ns"] = 1
    study.set_user_attr(SETTINGS_ATTR, saved)
    run(3)
    assert len(_study(out).trials) == 3


def _whitespace_vectors(data, tmp_path):
    """The fixture's vectors in a folder whose metadata.json names the whitespace tokenizer."""
    folder = tmp_path / "w2v"
    folder.mkdir()
    (folder / "vectors.txt").write_text(data["vectors"].read_text(encoding="utf-8"))
    meta = {"method": "word2vec", "tokenizer": {"kind": "whitespace", "lower": True}}
    (folder / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder


def test_trials_take_the_tokenizer_from_the_vectors_metadata(data, tmp_path):
    # tune loads the vectors once and passes them to each trial; the tokenizer recorded in
    # their metadata.json was read only from a file, so jieba-pretrained vectors ran every
    # trial and the final run through the regex rule (ChnSentiCorp: 3 % of word types)
    folder = _whitespace_vectors(data, tmp_path)
    out = tmp_path / "t"
    lines: list[str] = []
    tune(data["train"], out=out, vectors=str(folder / "vectors.txt"), trials=1, config=FAST,
         space=SPACE, progress=False, log=lines.append)  # fmt: skip
    model_json = json.loads((out / "final" / "best" / "model.json").read_text())
    assert model_json["tokenizer"]["kind"] == "whitespace"
    assert model_json["tokenizer"]["lower"] is True
    # and tune says so, as finetune and compare do: its trials' logs kept only warnings
    said = "Tokenizer: whitespace (from the vectors' metadata.json; --tokenizer to choose another)"
    assert lines.count(said) == 1
    summary = json.loads((out / "tune.json").read_text(encoding="utf-8"))
    assert summary["data"]["tokenizer"] == [said]
    assert (f"{said}. best.yaml leaves `tokenizer` unset: `finetune` with the same vectors "
            "takes it from them again.") in (out / "report.md").read_text(encoding="utf-8")
    assert FinetuneConfig.load(out / "best.yaml").tokenizer is None


def test_the_final_run_and_best_yaml_keep_the_spaces_fixed_values(data, tmp_path):
    # every trial took the space's fixed values (batch_size 16, tokenizer regex) but the
    # final run and best.yaml were built from the chosen trial's searched values alone: the
    # config's batch size 32 and the vectors' whitespace tokenizer, not the trials' model;
    # and tune said the vectors' whitespace was the trials' tokenizer
    folder = _whitespace_vectors(data, tmp_path)
    out = tmp_path / "t"
    lines: list[str] = []
    tune(data["train"], out=out, vectors=str(folder / "vectors.txt"), trials=1, config=FAST,
         space={**SPACE, "tokenizer": "regex"}, progress=False, log=lines.append)  # fmt: skip
    for config in (FinetuneConfig.load(out / "best.yaml"),
                   FinetuneConfig.load(out / "final" / "config.json")):  # fmt: skip
        assert (config.batch_size, config.tokenizer) == (16, "regex")
        assert config.model_options["hidden_size"] == 0
    model_json = json.loads((out / "final" / "best" / "model.json").read_text())
    assert model_json["tokenizer"]["kind"] == "regex"
    said = "Tokenizer: regex (fixed by --space)"
    assert said in lines and not [line for line in lines if "metadata.json" in line]
    summary = json.loads((out / "tune.json").read_text(encoding="utf-8"))
    assert summary["data"]["tokenizer"] == [said]
    assert summary["data"]["tokenizer_from"] == "space"
    report = (out / "report.md").read_text(encoding="utf-8")
    assert f"{said}. best.yaml sets it, as every trial had it." in report
    assert "leaves `tokenizer` unset" not in report


def test_a_searched_tokenizer_is_said_searched_not_the_vectors(tmp_path):
    # with `tokenizer` searched, tune said the vectors' metadata.json gave the trials' one
    # and the report that best.yaml leaves it unset (it sets the chosen trial's)
    from vecgraft.evaluate.tune import _say_tokenizer
    from vecgraft.evaluate.tune_report import _tokenizer_blocks

    base = FinetuneConfig(train="t.csv", model="boe")
    notes: dict[str, Any] = {}
    lines: list[str] = []
    space = {"tokenizer": {"type": "categorical", "choices": ["regex", "whitespace"]}}
    _say_tokenizer(base, None, notes, lines.append, space)
    said = "Tokenizer: searched by --space (regex, whitespace)"
    assert lines == [said]
    assert notes == {"tokenizer": [said], "tokenizer_from": "search"}
    (block,) = _tokenizer_blocks(notes)
    assert block.text == f"{said}. best.yaml sets the chosen trial's."
    # an older tune.json (no "tokenizer_from"): the vectors' tokenizer, its line kept as
    # said (the "metadata.json" wording of runs before the native file's own was named)
    line = "Tokenizer: whitespace (from the vectors' metadata.json; --tokenizer to choose another)"
    assert [b.text for b in _tokenizer_blocks({"tokenizer": [line]})] == [
        f"{line}. best.yaml leaves `tokenizer` unset: `finetune` with the same vectors takes "
        "it from them again."]  # fmt: skip


def _word_char_base(tmp_path):
    """A boe config on one-word vectors whose metadata.json says jieba word+char."""
    folder = tmp_path / "w2v"
    folder.mkdir()
    (folder / "vectors.txt").write_text("1 2\n酒店 0.1 0.2\n", encoding="utf-8")
    meta = {"tokenizer": {"kind": "jieba", "lower": False, "zh_mode": "word+char"}}
    (folder / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    return FinetuneConfig(train="t.csv", model="boe", vectors=str(folder / "vectors.txt"))


def test_the_vectors_chinese_mode_is_said_with_their_tokenizer(tmp_path):
    # tune kept only finetune's "Tokenizer" lines: "Chinese tokens: word+char" was dropped
    from vecgraft.evaluate.tune import _say_tokenizer

    base = _word_char_base(tmp_path)
    notes: dict[str, Any] = {}
    lines: list[str] = []
    _say_tokenizer(base, None, notes, lines.append)
    said = ["Tokenizer: jieba (from the vectors' metadata.json; --tokenizer to choose another)",
            "Chinese tokens: word+char (from the vectors' metadata.json; --zh-mode to choose "
            "another)"]  # fmt: skip
    assert lines == said and notes == {"tokenizer": said}
    lines.clear()  # the linear model has no Chinese mode: its trials read jieba's words
    _say_tokenizer(base.replace(model="linear"), None, {}, lines.append)
    assert lines == said[:1]


def test_a_chinese_mode_the_space_fixes_or_searches_is_said_not_the_vectors(tmp_path):
    # with `zh_mode: char` in --space on word+char vectors tune said "Chinese tokens:
    # word+char (from the vectors' metadata.json ...)" while every trial read characters
    from vecgraft.evaluate.tune import _say_tokenizer

    base = _word_char_base(tmp_path)
    theirs = "Tokenizer: jieba (from the vectors' metadata.json; --tokenizer to choose another)"
    notes: dict[str, Any] = {}
    lines: list[str] = []
    _say_tokenizer(base, None, notes, lines.append, {"zh_mode": "char"})
    said = [theirs, "Chinese tokens: char (fixed by --space)",
            "Chinese tokens: the vectors were trained on word+char (their metadata.json); "
            "--zh-mode char reads characters only (their word rows are unused by the texts)"]
    assert lines == said and notes == {"tokenizer": said}
    lines.clear()  # their own mode fixed: no mismatch to say
    _say_tokenizer(base, None, {}, lines.append, {"zh_mode": "word+char"})
    assert lines == [theirs, "Chinese tokens: word+char (fixed by --space)"]
    lines.clear()  # searched: each trial reads its own, not the vectors'
    space = {"zh_mode": {"type": "categorical", "choices": ["word", "word+char"]}}
    _say_tokenizer(base, None, {}, lines.append, space)
    assert lines == [theirs, "Chinese tokens: searched by --space (word, word+char)"]
    lines.clear()  # with the tokenizer fixed too
    _say_tokenizer(base, None, {}, lines.append, {**space, "tokenizer": "jieba"})
    assert lines == ["Tokenizer: jieba (fixed by --space)",
                     "Chinese tokens: searched by --space (word, word+char)"]  # fmt: skip
    lines.clear()  # the linear model has no Chinese mode: nothing said of one
    _say_tokenizer(base.replace(model="linear"), None, {}, lines.append, {"zh_mode": "char"})
    assert lines == [theirs]


def test_tune_says_a_native_files_own_tokenizer(tmp_path):
    # tune loads the vectors and takes their own metadata's tokenizer: of a native file
    # with no metadata.json (`from-transformer --vocab`) it said "(from the vectors'
    # metadata.json; ...)"
    import numpy as np

    import vecgraft
    from vecgraft.evaluate.tune import _say_tokenizer
    from vecgraft.vectors import Vectors

    vectors = Vectors(["a", "b"], np.ones((2, 2), np.float32))
    vectors.metadata["tokenizer"] = {"kind": "whitespace", "lower": True}
    native = tmp_path / "x.safetensors"
    vecgraft.save(vectors, native, format="native")
    base = FinetuneConfig(train="t.csv", model="boe", vectors=str(native))
    notes: dict[str, Any] = {}
    lines: list[str] = []
    _say_tokenizer(base, vecgraft.load(native), notes, lines.append)
    new = ("Tokenizer: whitespace (from the vectors file's own metadata; --tokenizer to "
           "choose another)")  # fmt: skip
    assert lines == [new] and notes == {"tokenizer": [new]}


def test_another_study_into_a_finished_studys_folder_is_refused(data, tmp_path):
    # --study B --out of a finished study A ran B in A's folder and silently replaced A's
    # best.yaml, final/, trials.csv and reports
    out = tmp_path / "t"

    def run(**changes: Any) -> Any:
        kwargs = {"out": out, "model": "linear", "trials": 1, "progress": False,
                  "log": lambda _m: None, **changes}  # fmt: skip
        return tune(data["train"], **kwargs)

    run()
    best = (out / "best.yaml").read_bytes()
    with pytest.raises(ConfigError, match=r"holds the results of study 'vecgraft-tune' "
                       r"\(tune\.json\); study 'other' would overwrite .*use another --out"):
        run(study="other")
    assert (out / "best.yaml").read_bytes() == best
    assert json.loads((out / "tune.json").read_text())["study"] == "vecgraft-tune"
    run(trials=2)  # the same study continues


def test_a_study_cannot_switch_between_a_test_file_and_a_held_out_test(data, tmp_path):
    # without --test a share of --train is held out; with one, all of --train feeds the
    # trials: switching would score the final model on rows earlier trials were tuned on
    out = tmp_path / "t"
    rows = list(csv.reader(data["test"].open()))[1:]
    other = write_csv(tmp_path / "other.csv", [(text, label) for text, label in rows])

    def run(trials: int, test: Any) -> Any:
        return tune(data["train"], out=out, test=test, model="linear", trials=trials,
                    progress=False, log=lambda _m: None)  # fmt: skip

    run(1, data["test"])
    run(2, other)  # another test file: no trial read either, the same search continued
    with pytest.raises(ConfigError, match=r"test_split: 'a test file' -> 'held out of train'"):
        run(3, None)
    held = tmp_path / "held"
    tune(data["train"], out=held, model="linear", trials=1, progress=False, log=lambda _m: None)
    with pytest.raises(ConfigError, match=r"test_split: 'held out of train' -> 'a test file'"):
        tune(data["train"], out=held, test=data["test"], model="linear", trials=2,
             progress=False, log=lambda _m: None)  # fmt: skip
    assert len(_study(out).trials) == 2 and len(_study(held).trials) == 1


def test_default_params_clip_into_the_space_and_skip_what_it_cannot_express():
    from vecgraft.evaluate.space import default_params
    from vecgraft.nn.models import model_option_defaults

    space = family_space("cnn")
    config = {"lr": 2e-3, "embedding_lr": None, "train_steps": 100_000, "batch_size": 32}
    params = default_params(space, config, model_option_defaults("cnn"))
    assert params["lr"] == 2e-3
    assert "embedding_lr" not in params  # None: left to the sampler
    assert params["train_steps"] == 6000  # clipped to the space's high end
    assert params["model_options.channels"] == "non_static"  # an enum default, as its value
    assert params["model_options.num_filters"] == 100
    linear = default_params(family_space("linear"), {}, {"word_ngrams": (1, 2), "C": 50.0})
    assert linear == {"model_options.word_ngrams": "1-2", "model_options.C": 10.0}


def test_a_regression_search_minimises_validation_error_and_fuses_at_the_least_error(tmp_path):
    # continuous labels: every value distinct, so the splits stratify on bins of the values
    from finetune_helpers import continuous_rows

    train = write_csv(tmp_path / "train.csv", continuous_rows(120, seed=1))
    out = tmp_path / "reg"
    result = tune(
        str(train), out=out, trials=3, cv=3, config={**FAST, "task": "regression"},
        space=SPACE, select="best", progress=False, log=lambda _m: None,
    )  # fmt: skip
    summary = json.loads((out / "tune.json").read_text())
    assert (summary["metric"], summary["direction"]) == ("loss", "minimize")
    done = [t for t in _study(out).trials if t.state == TrialState.COMPLETE]
    assert result.best_value == min(t.value for t in done)  # the least mean squared error
    errors = summary["best"]["fusion_mse"]
    assert summary["best"]["fusion_accuracy"] is None
    # weight 1: the network alone
    assert errors["1.0"] == pytest.approx(summary["best"]["network_value"])
    expected = min(errors, key=lambda w: (errors[w], abs(float(w) - 0.5)))
    assert result.best_value == pytest.approx(errors[expected])  # judged fused
    assert summary["final"]["fuse_weight"] == float(expected)
    test = summary["final"]["test"]
    assert set(test) == {"mse", "rmse", "mae", "pearson", "spearman",  # and its floors:
                         "mean_rmse", "network_rmse", "linear_rmse"}  # fmt: skip
    metrics = json.loads((out / "final" / "metrics.json").read_text())
    assert metrics["regression"]["test"]["rmse"] == pytest.approx(test["rmse"])
    assert test["mean_rmse"] == pytest.approx(metrics["mean_baseline"]["rmse"])
    assert test["linear_rmse"] == pytest.approx(metrics["fusion"]["rmse"]["test"]["linear"])
    assert metrics["fusion"]["weight"] == float(expected)
    assert FinetuneConfig.load(out / "best.yaml").task == "regression"
    report = (out / "report.md").read_text()
    assert "test RMSE" in report and "validation MSE" in report


def test_cli_task_flag_reaches_every_trial_config():
    from vecgraft.cli import build_parser
    from vecgraft.cli.tune import _sources

    args = build_parser("tune").parse_args(
        ["tune", "--train", "t.csv", "--out", "o", "--task", "regression"]
    )
    assert _sources(args) == ({}, {"task": "regression"})


def test_cli_tokenizer_flag_reaches_every_trial_config():
    from vecgraft.cli import build_parser
    from vecgraft.cli.tune import _sources

    args = build_parser("tune").parse_args(
        ["tune", "--train", "t.csv", "--out", "o", "--tokenizer", "jieba"]
    )
    assert _sources(args) == ({}, {"tokenizer": "jieba"})


def test_cli_text_flags_reach_every_trial_the_final_run_and_best_yaml(
    data, tmp_path, monkeypatch
):
    # tune took --halfwidth, --simplified, --stopwords ... only through --config: the
    # flags finetune has for Chinese (or any) text were "unrecognized arguments"
    seen: list[FinetuneConfig] = []
    config_for = _Worker.config_for

    def recording(self: Any, trial: Any) -> FinetuneConfig:
        seen.append(config_for(self, trial))
        return seen[-1]

    monkeypatch.setattr(_Worker, "config_for", recording)
    stop = tmp_path / "stop.txt"
    stop.write_text("the\n", encoding="utf-8")
    (tmp_path / "base.yaml").write_text(yaml.safe_dump({**FAST, "min_freq": 3}))
    (tmp_path / "space.yaml").write_text(yaml.safe_dump(SPACE))
    out = tmp_path / "tune"
    argv = ["tune", "--train", str(data["train"]), "--vectors", str(data["vectors"]),
            "--config", str(tmp_path / "base.yaml"), "--space", str(tmp_path / "space.yaml"),
            "--trials", "2", "--out", str(out), "--no-progress",
            "--halfwidth", "--simplified", "--stopwords", str(stop), "--max-length", "0",
            "--min-freq", "2", "--max-size", "500", "--no-dedupe"]  # fmt: skip
    assert main(argv) == 0
    want = {"halfwidth": True, "simplified": True, "stopwords": str(stop), "max_length": None,
            "min_freq": 2, "max_size": 500, "dedupe": False}  # fmt: skip
    assert len(seen) == 2
    for config in seen:  # the flag beats --config's min_freq 3; --max-length 0 is no limit
        assert {k: getattr(config, k) for k in want} == want
    for saved in (FinetuneConfig.load(out / "best.yaml"),
                  FinetuneConfig.load(out / "final" / "config.json")):  # fmt: skip
        assert {k: getattr(saved, k) for k in want} == want
    tokenizer = json.loads((out / "final" / "best" / "model.json").read_text())["tokenizer"]
    assert tokenizer["halfwidth"] is True and tokenizer["simplified"] is True


def test_cli_text_flags_over_config_as_in_finetune(tmp_path):
    from vecgraft.cli import build_parser
    from vecgraft.cli.finetune import _config_and_run, checked_config
    from vecgraft.cli.tune import _sources

    (tmp_path / "c.yaml").write_text(
        yaml.safe_dump({"halfwidth": False, "stopwords": "en", "max_length": 16, "min_freq": 3})
    )
    given = ["--train", "t.csv", "--out", "o", "--config", str(tmp_path / "c.yaml"),
             "--halfwidth", "--max-length", "0", "--max-vocab", "50",
             "--zh-mode", "char"]  # fmt: skip
    parsed = build_parser("tune").parse_args(["tune", *given])
    tuned = checked_config(*_sources(parsed), parsed.config)  # as `vecgraft tune` does
    finetuned, _ = _config_and_run(build_parser("finetune").parse_args(["finetune", *given]))
    names = ("halfwidth", "simplified", "stopwords", "zh_mode", "max_length", "min_freq",
             "max_size", "dedupe")  # fmt: skip
    assert {k: getattr(tuned, k) for k in names} == {k: getattr(finetuned, k) for k in names}
    assert (tuned.halfwidth, tuned.stopwords, tuned.max_length, tuned.min_freq) == (
        True, "en", None, 3,
    )  # fmt: skip
    assert (tuned.max_size, tuned.zh_mode, tuned.simplified) == (50, "char", None)
    # none given: the file's values, else None (the vectors' metadata.json decides)
    args = build_parser("tune").parse_args(["tune", "--train", "t.csv", "--out", "o"])
    assert _sources(args) == ({}, {})


@pytest.mark.parametrize(
    ("flags", "error"),
    [
        (["--max-length", "-1"], "--max-length must be >= 0 (0: no limit), got -1"),
        (["--min-freq", "0"], "--min-freq must be > 0, got 0"),
        (["--max-size", "0"], "--max-size must be > 0, got 0"),
        (["--zh-mode", "words"], "argument --zh-mode: invalid choice: 'words'"),
        (["--min-freq", "two"], "argument --min-freq: invalid int value: 'two'"),
        (["--halfwidth=yes"], "argument --halfwidth"),
    ],
)
def test_cli_text_flag_errors_name_the_flag_before_any_trial(tmp_path, capsys, flags, error):
    out = tmp_path / "t"
    argv = ["tune", "--train", str(tmp_path / "missing.csv"), "--out", str(out), *flags]
    with pytest.raises(SystemExit) if error.startswith("argument") else contextlib.nullcontext():
        assert main(argv) != 0
    assert error in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    ("flags", "error"),
    [
        (["--zh-mode", "char"], "--zh-mode is only used by the jieba tokenizer, not regex"),
        (["--stopwords", "missing.txt"], "missing.txt: stopword file not found"),
        (["--stopwords", "xx"], "no built-in stopword list for 'xx'; use a language code "
                                "such as en, zh or a path to a file with one word per line"),
    ],
)  # fmt: skip
def test_fixed_text_settings_finetune_refuses_stop_tune_before_the_data_and_any_trial(
    data, tmp_path, capsys, monkeypatch, flags, error
):
    # each trial built its tokenizer only after the data was read, and failed alike: the
    # search ran them one after another and said why only in its last line ("no trial
    # completed (3 ran) ... 3 x zh_mode ..."), leaving a study of failures in --out
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "t"
    argv = ["tune", "--train", str(data["train"]), "--vectors", str(data["vectors"]),
            "--model", "boe", "--max-steps", "2", "--trials", "3", "--out", str(out),
            "--no-progress", *flags]  # fmt: skip
    assert main(argv) != 0
    said = capsys.readouterr()
    assert said.err == f"vecgraft tune: error: {error}\n"  # finetune's line, no "trial"
    assert said.out == ""  # not even the "Search: ..." line of the data read
    assert not out.exists()
    with pytest.raises(ConfigError, match=r"^zh_mode is only used by the jieba tokenizer"):
        tune(data["train"], out=out, config={**FAST, "zh_mode": "char"}, trials=3,
             progress=False, log=lambda _m: None)  # fmt: skip
    assert not out.exists()


def test_the_fixed_settings_check_takes_the_spaces_values_and_the_familys_reading(tmp_path):
    # what a trial would build: the space's fixed values count, a searched one is left to
    # the trials (some of its values may be fine), and model linear reads the texts itself
    # (`finetune --model linear --stopwords missing.txt` runs)
    from vecgraft.evaluate._tune_setup import _check_fixed_settings, _tune_spec

    def check(space: dict[str, Any] | None = None, **base: Any) -> None:
        config = FinetuneConfig(**{"model": "boe", **base})
        _check_fixed_settings(_tune_spec(config, tmp_path / "o", 1, None, None, None, None,
                                         space, 1))  # fmt: skip

    with pytest.raises(ConfigError, match="zh_mode is only used by the jieba tokenizer"):
        check(zh_mode="char")
    check({"tokenizer": "jieba"}, zh_mode="char")
    check({"tokenizer": {"type": "categorical", "choices": ["regex", "jieba"]}}, zh_mode="char")
    with pytest.raises(ConfigError, match="zh_mode is only used by the jieba tokenizer"):
        check({"zh_mode": "char"})
    check(model="linear", stopwords=str(tmp_path / "missing.txt"), zh_mode="char")
    check(tokenizer="jieba", zh_mode="char", stopwords="en")
    assert not (tmp_path / "o").exists()


def test_the_report_plots_name_the_trials_score(data, tmp_path, monkeypatch):
    from optuna.visualization import matplotlib as ovm

    names: list[str] = []
    drawn: list[Any] = []
    real = ovm.plot_optimization_history

    def spy(study: Any, **kwargs: Any) -> Any:
        names.append(kwargs.get("target_name", "Objective Value"))
        drawn.append(real(study, **kwargs))
        return drawn[-1]

    monkeypatch.setattr(ovm, "plot_optimization_history", spy)
    tune(data["train"], out=tmp_path / "t", model="linear", trials=1, progress=False,
         log=lambda _m: None)  # fmt: skip
    assert names == ["validation accuracy"]  # not Optuna's "Objective Value"
    # one trial, one validation split: the top trial is retrained, not one the rule chose
    marked = [c.get_offsets().tolist()[0][0] for c in drawn[0].collections
              if c.get_label() == "retrained (top trial)"]  # fmt: skip
    assert marked == [0.0]  # the trial tune.json's "best" names


def test_the_importance_plots_legend_sits_below_the_axes():
    # inside the axes, top right, it covered the top bar
    import matplotlib.pyplot as plt

    from vecgraft.evaluate.tune_report import _importance_axes

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(0))
    study.optimize(lambda t: t.suggest_float("x", 0, 1) + 0.1 * t.suggest_float("y", 0, 1),
                   n_trials=8)  # fmt: skip
    ax = _importance_axes(study, "validation accuracy")
    try:
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["validation accuracy"]
        ax.figure.canvas.draw()
        assert ax.get_legend().get_window_extent().y1 < ax.get_window_extent().y0
    finally:
        plt.close(ax.figure)


def test_the_history_plot_marks_the_retrained_trial_not_only_the_top_one():
    # the "Best Value" line stepped up to trial #1 while the one-SE rule retrained #0, and
    # nothing marked #0; 3 trials gave ticks 0.5, 1.5; the legend sat right of the axes
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from vecgraft.evaluate.tune_report import _history_axes, _retrained

    study = optuna.create_study(direction="maximize")
    for value in (0.733, 0.741, 0.738):
        study.enqueue_trial({"x": value})
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    data = {"best": {"number": 0}, "selection": {"rule": "one-se", "top_number": 1}}
    assert _retrained(data) == (0, "retrained (one-SE rule)")
    # the rule is "one-se" by default, also where it kept the top trial
    assert _retrained({"best": {"number": 1}, "selection": {"rule": "one-se", "top_number": 1}}) \
        == (1, "retrained (top trial)")  # fmt: skip
    assert _retrained({"best": {"number": 0}, "selection": {"rule": "one-se"}}) == (
        0, "retrained (one-SE rule)")  # a tune.json without top_number
    assert _retrained({"best": {"number": 2}, "selection": {"rule": "best"}}) == (
        2, "retrained (top trial)")
    assert _retrained({"best": {"number": 1}}) == (1, "retrained")  # an older tune.json
    ax = _history_axes(study, "validation accuracy", *_retrained(data))
    try:
        marked = [c for c in ax.collections if c.get_label() == "retrained (one-SE rule)"]
        assert len(marked) == 1 and marked[0].get_offsets().tolist() == [[0.0, 0.733]]
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels == ["validation accuracy", "best score so far", "retrained (one-SE rule)"]
        locator = ax.xaxis.get_major_locator()
        assert isinstance(locator, MaxNLocator) and locator._integer
        low, high = ax.get_xlim()
        assert [t for t in ax.get_xticks() if low <= t <= high] == [0.0, 1.0, 2.0]
        ax.figure.canvas.draw()
        # below the axes, not beside them: the plot keeps its width
        box = ax.get_legend().get_window_extent()
        assert box.y1 < ax.get_window_extent().y0
    finally:
        plt.close(ax.figure)


def test_importances_from_a_handful_of_trials_say_they_are_a_hint_at_most():
    from vecgraft.evaluate.tune_report import importances

    def study_of(trials: int, settings: int) -> Any:
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        study.optimize(
            lambda t: sum(t.suggest_float(f"x{i}", 0, 1) * (i + 1) for i in range(settings)),
            n_trials=trials,
        )
        return study

    weights, note = importances(study_of(3, 3))
    assert len(weights) == 3 and note is not None
    assert note.startswith("Only 3 completed trials for 3 searched settings")
    weights, note = importances(study_of(8, 2))
    assert len(weights) == 2 and note is None


@pytest.mark.parametrize("marker", ["manifest.json", "compare.json"])
def test_a_finetune_run_or_comparison_folder_is_refused_as_out(tmp_path, capsys, marker):
    data = make_dataset(tmp_path / "data", train_per_class=6, test_per_class=2)
    out = tmp_path / "other"
    out.mkdir()
    (out / marker).write_text("{}", encoding="utf-8")
    argv = ["tune", "--train", str(data["train"]), "--trials", "1", "--out", str(out)]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert f"({marker}), not a tuning study" in err and "choose another --out DIR" in err
    assert sorted(p.name for p in out.iterdir()) == [marker]  # nothing written


def test_a_study_kept_before_max_size_existed_is_the_same_search(tmp_path):
    # the journal keeps the settings of its first command; one from an older vecgraft lacks
    # fields added since (max_size), which at their default are the same search
    from vecgraft.evaluate._tune_setup import SETTINGS_ATTR, _check_same_study, _tune_spec
    from vecgraft.evaluate._tune_study import _open_study
    from vecgraft.finetune.config import FinetuneConfig

    data = make_dataset(tmp_path / "data", train_per_class=6, test_per_class=2)
    out = tmp_path / "study"
    out.mkdir()
    base = FinetuneConfig(train=str(data["train"]), model="boe")
    spec = _tune_spec(base, out, 1, None, None, None, None, None, 1)
    _check_same_study(spec)
    study = _open_study(spec)
    saved = study.user_attrs[SETTINGS_ATTR]
    del saved["base"]["max_size"]
    study.set_user_attr(SETTINGS_ATTR, saved)
    said: list[str] = []
    _check_same_study(spec, said.append)
    assert said == []  # the same search: not "other settings", not replaced
    _check_same_study(_tune_spec(base.replace(max_size=3), out, 1, *[None] * 5, 1), said.append)
    assert len(said) == 1 and "base.max_size: None -> 3" in said[0]  # a cap is other settings


def test_a_study_continues_only_on_the_stopword_file_it_was_scored_with(tmp_path):
    # the data, vectors and user dictionary were fingerprinted, the stopword file was not:
    # edited between two commands, it silently mixed trials scored with different lists
    from vecgraft.evaluate._tune_setup import SETTINGS_ATTR, _check_same_study

    data = make_dataset(tmp_path / "data", train_per_class=6, test_per_class=2)
    stop = tmp_path / "stop.txt"
    stop.write_text("the\n", encoding="utf-8")
    out = tmp_path / "study"
    out.mkdir()
    base = FinetuneConfig(train=str(data["train"]), model="boe", stopwords=str(stop))
    spec, study = _study_with_a_trial(base, out)
    stop.write_text("the\nof\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"other settings or data \(stopwords .*stop\.txt "
                       r"\(size 4 -> 7\)\); use another --out"):  # fmt: skip
        _check_same_study(spec)
    assert study.user_attrs[SETTINGS_ATTR]["inputs"]["stopwords"]["path"] == str(stop)
    # a study kept before the file was fingerprinted holds no such entry: it continues
    assert _continues_without(spec, study, "stopwords") == []
    # a built-in list has no file to fingerprint; its name is in the settings
    assert "stopwords" not in _settings(spec.base.replace(stopwords="en"), out)["inputs"]


def test_a_study_kept_before_the_user_dict_was_fingerprinted_continues_with_it(tmp_path):
    # the dictionary joined the study's inputs later (a --config or Python study could name
    # one before): such a study, continued with the same dictionary, was refused for the
    # entry it could not have kept ("inputs.user_dict: None -> {...}")
    from optuna.trial import create_trial

    from vecgraft.evaluate._tune_setup import _check_same_study, _tune_spec
    from vecgraft.evaluate._tune_study import _open_study

    data = make_dataset(tmp_path / "data", train_per_class=6, test_per_class=2)
    user = tmp_path / "user.txt"
    user.write_text("蓝鲸科技 10 nz\n", encoding="utf-8")
    out = tmp_path / "study"
    out.mkdir()
    base = FinetuneConfig(train=str(data["train"]), model="boe", tokenizer="jieba",
                          user_dict=str(user))  # fmt: skip
    spec, study = _study_with_a_trial(base, out)
    user.write_text("蓝鲸科技 10 nz\n星河智联 10 nz\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"other settings or data \(user_dict .*user\.txt "
                       r"\(size 19 -> 38\)\)"):  # fmt: skip
        _check_same_study(spec)
    assert _continues_without(spec, study, "user_dict") == []  # kept before the entry
    # it is not checked on the file, but a study kept without a dictionary is other settings
    (tmp_path / "plain").mkdir()
    without = _tune_spec(base.replace(user_dict=None), tmp_path / "plain", 1, None, None,
                         None, None, None, 1)  # fmt: skip
    _check_same_study(without)
    _open_study(without).add_trial(create_trial(value=0.5))
    with pytest.raises(ConfigError, match=r"other settings or data \(base\.user_dict: None -> "
                       r"'.*user\.txt'"):  # fmt: skip
        _check_same_study(_tune_spec(base, without.out, 1, None, None, None, None, None, 1))


def _study_with_a_trial(base: FinetuneConfig, out: Path) -> tuple[Any, Any]:
    """A checked study spec at `out` and its study, holding one finished trial (so it is
    continued or refused, never replaced)."""
    from optuna.trial import create_trial

    from vecgraft.evaluate._tune_setup import _check_same_study, _tune_spec
    from vecgraft.evaluate._tune_study import _open_study

    spec = _tune_spec(base, out, 1, None, None, None, None, None, 1)
    _check_same_study(spec)
    study = _open_study(spec)
    study.add_trial(create_trial(value=0.5))
    return spec, study


def _continues_without(spec: Any, study: Any, entry: str) -> list[str]:
    """What continuing says once `entry` is dropped from the study's recorded inputs, as in
    a study kept before that input was fingerprinted."""
    from vecgraft.evaluate._tune_setup import SETTINGS_ATTR, _check_same_study

    saved = study.user_attrs[SETTINGS_ATTR]
    del saved["inputs"][entry]
    study.set_user_attr(SETTINGS_ATTR, saved)
    said: list[str] = []
    _check_same_study(spec, said.append)
    return said


def _settings(base: FinetuneConfig, out: Path) -> dict[str, Any]:
    from vecgraft.evaluate._tune_setup import _tune_spec, study_settings

    return study_settings(_tune_spec(base, out, 1, None, None, None, None, None, 1))


def test_tune_workers_show_warnings_as_the_command_does(monkeypatch, capsys):
    # a spawned --jobs worker starts with Python's format (file:line: UserWarning: ...)
    import warnings

    from vecgraft.evaluate import _tune_study

    def warn(*_args, **_kw):
        warnings.warn("slow trial", UserWarning, stacklevel=1)

    monkeypatch.setattr(_tune_study, "run_worker", warn)
    monkeypatch.setattr("torch.set_num_threads", lambda _n: None)
    with warnings.catch_warnings():  # restores showwarning after the worker set it
        warnings.simplefilter("always")
        _tune_study._worker_main(None, 1, None, None, True)
    assert capsys.readouterr().err == "warning: slow trial\n"


def test_tune_reads_a_gb18030_file_with_encoding_as_finetune_does(tmp_path, capsys):
    # a CSV saved by Excel in GBK: finetune, evaluate and predict take --encoding gb18030,
    # tune had no such flag and its error, with no flag to name, gave no way forward
    import argparse

    from vecgraft.cli import tune as tune_cli

    rows = [("房间很干净，服务也很好", "pos"), ("早餐品种太少了，不推荐", "neg")] * 4
    gb = tmp_path / "gb.csv"
    gb.write_bytes(write_csv(tmp_path / "utf8.csv", rows).read_text("utf-8").encode("gb18030"))
    assert main(["tune", "--train", str(gb), "--out", str(tmp_path / "t"), "--trials", "1"]) == 1
    assert "pass --encoding gb18030 if that is right" in capsys.readouterr().err
    parser = argparse.ArgumentParser()
    tune_cli.add_arguments(parser)
    args = parser.parse_args(["--out", "x", "--encoding", "gb18030", "--errors", "replace",
                              "--bad-rows", "error"])  # fmt: skip
    assert {k: tune_cli._sources(args)[1][k] for k in ("encoding", "errors", "bad_rows")} == {
        "encoding": "gb18030", "errors": "replace", "bad_rows": "error"}  # fmt: skip
    # not given: --config's settings stand
    assert "encoding" not in tune_cli._sources(parser.parse_args(["--out", "x"]))[1]


def test_best_yaml_names_a_stopword_file_absolutely_and_a_language_as_given(
    tmp_path, monkeypatch
):
    # `tune --stopwords stop.txt` wrote `stopwords: stop.txt` to best.yaml, whose data
    # paths are absolute so that `finetune --config best.yaml` runs from anywhere
    from vecgraft.evaluate._tune_outputs import best_yaml

    monkeypatch.chdir(tmp_path)
    (tmp_path / "stop.txt").write_text("the\n", encoding="utf-8")
    (tmp_path / "zh").mkdir()  # `pretrain --out zh`: not a stopword file
    for given, want in (("stop.txt", str(tmp_path / "stop.txt")), ("zh", "zh"), ("en", "en")):
        saved = yaml.safe_load(best_yaml(FinetuneConfig(stopwords=given)))
        assert saved["stopwords"] == want


def test_best_yaml_says_what_it_trains_on_after_a_valid_file():
    # it said "this config trains on train only" and then "trains this model again"
    from vecgraft.evaluate._tune_outputs import best_yaml

    config = FinetuneConfig(train="t.csv")
    plain = best_yaml(config)
    assert plain.startswith("# vecgraft finetune --config best.yaml --out DIR trains this model "
                            "again\n")  # fmt: skip
    told = best_yaml(config, trained_on_valid="v.csv")
    assert told.splitlines()[0] == (
        "# tune's final run trained on train and on v.csv; `vecgraft finetune --config "
        "best.yaml --out DIR` trains these settings on train only (add those rows to train for "
        "the same model)")
    assert "trains this model again" not in told


def test_final_test_drops_texts_of_the_training_file_the_subsample_left_out(tmp_path):
    # finetune drops test texts found in the training file, then subsamples (train_fraction);
    # tune's final run dropped only those the subsample kept, so it scored 200 rows where
    # finetune --config best.yaml scored 198
    from vecgraft.evaluate._tune_data import prepare_data
    from vecgraft.evaluate._tune_outputs import final_splits
    from vecgraft.evaluate._tune_spec import TuneSpec

    rows = [(f"text number {i}", "ab"[i % 2]) for i in range(40)]
    train = write_csv(tmp_path / "train.csv", rows)
    test = write_csv(tmp_path / "test.csv", [rows[i] for i in range(10)] + [("new one", "a")])
    base = FinetuneConfig(train=str(train), test=str(test), train_fraction=0.5)
    data = prepare_data(TuneSpec(base=base, out=str(tmp_path / "t")))
    kept = set(data.pool.texts)
    assert 0 < len(kept & {text for text, _ in rows[:10]}) < 10  # the subsample left some out
    splits = final_splits(TuneSpec(base=base, out=str(tmp_path / "t")), data)
    assert splits.test.texts == ["new one"]
    assert splits.notes["duplicates"]["count"] == 10


def test_an_interrupt_during_a_journal_append_waits_for_the_lock_to_be_released(
    tmp_path, monkeypatch
):
    # Optuna's lock release (rename, then unlink) raised FileNotFoundError on the renamed
    # file when a Ctrl-C came just before the rename, and left the lock file behind
    from optuna.storages.journal import _file

    from vecgraft.evaluate._tune_study import _journal_file

    real_rename = os.rename

    def interrupted_rename(src, dst):
        os.kill(os.getpid(), signal.SIGINT)  # Python raises it at the next instruction
        return real_rename(src, dst)

    monkeypatch.setattr(_file.os, "rename", interrupted_rename)
    backend = _journal_file(str(tmp_path / JOURNAL_FILE))
    # Python's own Ctrl-C handler, whatever an earlier test left installed
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            backend.append_logs([{"op_code": 0, "worker_id": "w"}])
    finally:
        signal.signal(signal.SIGINT, previous)
    assert [p.name for p in tmp_path.iterdir()] == [JOURNAL_FILE]  # written, and no lock left


def test_the_workers_lock_needs_no_fcntl_on_windows(tmp_path, monkeypatch):
    # `import fcntl` alone: `vecgraft tune` failed on Windows even with --jobs 1
    from vecgraft.evaluate._tune_study import file_lock  # the lock run_worker takes
    from windows_helpers import FakeMsvcrt

    fake = FakeMsvcrt()
    monkeypatch.setitem(sys.modules, "fcntl", None)
    monkeypatch.setitem(sys.modules, "msvcrt", fake)
    with file_lock(tmp_path / "lock"):
        assert len(fake.held) == 1
    assert fake.held == {} and fake.calls == [fake.LK_NBLCK, fake.LK_UNLCK]


@pytest.mark.parametrize(("system", "lock"), [("posix", "Symlink"), ("nt", "Open")])
def test_the_journal_takes_a_lock_windows_allows_there(system, lock, tmp_path, monkeypatch):
    # Optuna's default lock makes a symlink: WinError 1314 without admin or Developer Mode
    from optuna.storages import journal

    from vecgraft.evaluate._tune_study import _journal_file

    monkeypatch.setattr(os, "name", system)
    backend = _journal_file(str(tmp_path / JOURNAL_FILE))
    monkeypatch.undo()
    assert type(backend._lock) is getattr(journal, f"JournalFile{lock}Lock")
    backend.append_logs([{"op_code": 0, "worker_id": "w"}])
    assert [p.name for p in tmp_path.iterdir()] == [JOURNAL_FILE]


def test_the_per_draw_sampler_samples_relatively_where_a_plain_tpe_sampler_does():
    # it answered TPE's relative path with nothing: under optuna >= 5, where TPE is
    # multivariate for a single-objective study, every search was silently independent
    from vecgraft.evaluate._tune_study import _sampler

    def objective(trial: Any) -> float:
        x, y = trial.suggest_float("x", -1, 1), trial.suggest_float("y", -1, 1)
        return (x - y) ** 2

    study = optuna.create_study(sampler=_sampler(0))
    study.optimize(objective, n_trials=11)  # past TPE's 10 startup trials
    last = study.trials[-1]
    plain = optuna.samplers.TPESampler(seed=0)
    expected = plain.infer_relative_search_space(study, last)
    assert _sampler(0).infer_relative_search_space(study, last) == expected
    relative = any(k.startswith("tpe:relative_params") for k in last.system_attrs)
    assert relative == bool(expected)


def test_a_repeated_tokenizer_pools_for_an_hf_graft_and_is_refused_otherwise(
    tmp_path, monkeypatch, capsys
):
    # `--tokenizer jieba --tokenizer char` kept char alone (argparse's last value); finetune
    # pools the kinds for model hf's --add-tokens and refuses several for the other models
    seen: list[FinetuneConfig] = []
    monkeypatch.setattr(tune_module, "tune", lambda *a, **kw: seen.append(kw["config"]))
    (tmp_path / "c.yaml").write_text(f"hf_model: {tmp_path}\nadd_tokens: 3\n", encoding="utf-8")
    argv = ["tune", "--train", str(tmp_path / "t.csv"), "--out", str(tmp_path / "t"),
            "--tokenizer", "jieba", "--tokenizer", "char"]  # fmt: skip
    assert main([*argv, "--model", "hf", "--config", str(tmp_path / "c.yaml")]) == 0
    assert [config.tokenizer for config in seen] == [["jieba", "char"]]
    assert main([*argv, "--model", "boe"]) == 1
    assert capsys.readouterr().err.strip().endswith(
        "error: --tokenizer takes one kind for --model boe; several (jieba, char) only pool "
        "the words that add_tokens grafts with --model hf"
    )
    assert main([*argv[:-1], "jieba", "--model", "boe"]) == 0  # one kind twice: that kind
    assert seen[-1].tokenizer == "jieba"


@pytest.mark.parametrize("flag", [None, "--no-progress"])
def test_tune_piped_load_lines_only_without_no_progress(flag, data, tmp_path, capsys, monkeypatch):
    # a big vector file read in a pipe writes a plain line every 30 s (here every chunk);
    # tune --no-progress silenced its trials' bar but not the load, as finetune's once did
    from vecgraft.io import _rows, _textparse

    monkeypatch.setattr(_textparse, "BIG_LOAD_BYTES", 0, raising=False)
    monkeypatch.setattr(_rows, "LOAD_LINE_SECONDS", 0.0, raising=False)
    argv = ["tune", "--train", str(data["train"]), "--vectors", str(data["vectors"]),
            "--model", "boe", "--max-steps", "2", "--trials", "1", "--out", str(tmp_path / "t")]
    assert main(argv + ([flag] if flag else [])) == 0
    reading = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("reading ")]
    assert bool(reading) is (flag is None)


def _trial_lines(err: str) -> list[str]:
    return [ln for ln in err.splitlines() if ln.startswith("trial ")]


def test_a_trial_says_it_starts_and_shows_its_epochs_before_its_line_at_the_end(
    data, tmp_path, capsys, monkeypatch
):
    # a trial said nothing until it ended: minutes of silence per trial on real data
    from vecgraft.evaluate import _tune_study

    monkeypatch.setattr(_tune_study, "TRIAL_NOTE_SECONDS", 0.0)  # every epoch line is due
    tune(data["train"], out=tmp_path / "t", trials=2, config=FAST, space=SPACE,
         log=lambda _m: None)  # fmt: skip
    lines = _trial_lines(capsys.readouterr().err)
    for n in (1, 2):
        mine = [i for i, ln in enumerate(lines) if ln.startswith(f"trial {n}/2")]
        shown = [lines[i] for i in mine]
        assert re.fullmatch(rf"trial {n}/2 started \(#{n - 1}\): lr=[0-9.e-]+, (.+, )?"
                            r"model_options\.pooling=(mean|max)", shown[0]), shown  # fmt: skip
        assert [ln.split(", Loss")[0] for ln in shown[1:-1]] == [
            f"trial {n}/2: Epoch [1/2]", f"trial {n}/2: Epoch [2/2]"]
        # with the trial's own value: the best alone hid how each trial did
        end = re.fullmatch(rf"trial {n}/2 \(#{n - 1} ([0-9.]+) in [0-9.]+s, best ([0-9.]+), "
                           r"[0-9.]+s in all\)", shown[-1])  # fmt: skip
        assert end, shown[-1]
        if n == 1:  # the first trial is the best so far
            assert end[1] == end[2]
        assert mine == list(range(mine[0], mine[0] + 4))  # nothing of another trial between


def test_a_trials_epoch_lines_are_sparse_and_its_bar_shows_them(tmp_path):
    # a plain line at most every TRIAL_NOTE_SECONDS; a drawn bar counts epochs, no nested bar
    import io

    from vecgraft._util.console import Progress
    from vecgraft.evaluate._tune_study import TrialLines

    stream = io.StringIO()
    lines = TrialLines(Progress(total=3, desc="trial", stream=stream, bar=False), inner=True)
    assert lines.progress() is None  # the trial's own in-epoch notes, passed on when due
    lines("Epoch [1/2], Loss: 0.5")
    assert stream.getvalue() == ""  # 30 s have not passed since the trial started
    lines.last -= 30
    lines("Data: 42 train")  # setup lines are not progress
    lines("Epoch [2/2], Loss: 0.4")
    assert stream.getvalue() == ": Epoch [2/2], Loss: 0.4\n"  # name: set by `start`
    drawn = TrialLines(Progress(total=3, desc="trial", stream=stream, bar=True), inner=True)
    assert drawn.progress() is False  # its bar nested under ours pushed ours off the screen
    drawn.bar.update(1, best="0.5")
    drawn.epoch_end()
    assert "best=0.5, epochs=1, steps=0" in stream.getvalue()
    off = TrialLines(Progress(total=3, desc="trial", stream=stream, enabled=False), inner=True)
    assert off.progress() is False and not off.inner


@pytest.mark.parametrize("flag", [None, "--no-progress"])
def test_tune_cli_trial_lines_and_no_progress(flag, data, tmp_path, capsys, monkeypatch):
    from vecgraft.evaluate import _tune_study

    monkeypatch.setattr(_tune_study, "TRIAL_NOTE_SECONDS", 0.0)
    argv = ["tune", "--train", str(data["train"]), "--model", "boe", "--max-steps", "2",
            "--trials", "1", "--out", str(tmp_path / "t")]  # fmt: skip
    assert main(argv + ([flag] if flag else [])) == 0
    out, err = capsys.readouterr()
    # on stderr with or without --no-progress: a command's `2> log` keeps them either way
    lines = _trial_lines(err)
    assert not _trial_lines(out)
    assert lines[0].startswith("trial 1/1 started (#0): lr=0.002, ")
    # the trial's own time (trials.csv's seconds), then the search's, each labelled: a bare
    # "12.6s" after the trial's value read as that trial's time
    end = re.fullmatch(r"trial 1/1 \(#0 ([0-9.]+) in ([0-9.]+)s, best \1, ([0-9.]+)s in all\)",
                       lines[-1])  # fmt: skip
    assert end, lines[-1]
    with open(tmp_path / "t" / "trials.csv", encoding="utf-8") as f:
        seconds = float(next(csv.DictReader(f))["seconds"])
    assert end[2] == f"{seconds:.1f}" and float(end[3]) + 0.05 >= seconds  # both rounded
    if flag:  # the trial's start and end, nothing from inside it
        assert len(lines) == 2
        return
    assert lines[1].startswith("trial 1/1: Epoch [1/")


def test_tune_progress_false_sends_trial_lines_to_log_not_stderr(data, tmp_path, capsys):
    # a library caller's progress=False, log=logger got unrouted trial lines on stderr
    said: list[str] = []
    tune(data["train"], out=tmp_path / "t", trials=1, config=FAST, space=SPACE,
         progress=False, log=said.append)  # fmt: skip
    assert not _trial_lines(capsys.readouterr().err)
    lines = _trial_lines("\n".join(said))
    assert lines[0].startswith("trial 1/1 started (#0): ") and len(lines) == 2


def test_a_class_weight_in_the_config_weighs_every_trial_and_the_pool(data, tmp_path, monkeypatch):
    # class_weight reaches tune as every FinetuneConfig field does (--config): each trial's
    # network and linear model train weighted, and the trial's pool is fitted weighted
    from finetune_helpers import loss_weights
    from vecgraft.finetune import fusion

    pools: list[Any] = []
    real_pool = fusion.fit_pool
    monkeypatch.setattr(fusion, "fit_pool", lambda *a: pools.append(a[3:]) or real_pool(*a))
    losses = loss_weights(monkeypatch)
    out = tmp_path / "weighted"
    tune(
        data["train"], out=out, vectors=str(data["vectors"]), trials=1, cv=3,
        config={**FAST, "min_valid": 10, "class_weight": "balanced"}, space=SPACE,
        progress=False, log=lambda _m: None,
    )  # fmt: skip
    assert losses and all(w is not None for w in losses)
    # the last fold's training part: 32 rows, 10 + 11 + 11 (balanced: 32 / (3 * count))
    assert len(pools) == 1 and pools[0][0] == pytest.approx([32 / 30, 32 / 33, 32 / 33])
    assert FinetuneConfig.load(out / "best.yaml").class_weight == "balanced"
    assert json.loads((out / "final" / "config.json").read_text())["class_weight"] == "balanced"


def test_a_none_default_of_a_searched_categorical_is_the_first_trials_value(data, tmp_path):
    # `class_weight: [null, balanced]`: the default None was read as "the space cannot express
    # it", so trial #0 (reported as "the defaults") drew class_weight=balanced
    cw = {"type": "categorical", "choices": [None, "balanced"]}
    assert default_params({"class_weight": cw}, {"class_weight": None}, {}) == {
        "class_weight": None
    }
    assert default_params({"model_options.x": cw}, {}, {}) == {}  # no default: the sampler's
    out = tmp_path / "cw"
    tune(
        data["train"], out=out, vectors=str(data["vectors"]), trials=1, seed=0,
        config={**FAST, "min_valid": 10}, space={**SPACE, "class_weight": cw},
        progress=False, log=lambda _m: None,
    )  # fmt: skip
    first = _study(out).trials[0]
    assert first.params["class_weight"] is None
    assert first.system_attrs["fixed_params"]["class_weight"] is None


def test_labels_a_file_writes_apart_but_reads_as_one_are_said_once_per_file(data, tmp_path):
    # finetune, evaluate and compare warn of 'sport' beside 'sport ' (or NFC beside NFD);
    # tune merged them without a word, in its train, valid and test files alike
    from finetune_helpers import make_texts

    def respelled(rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(t, f"{y} " if y == "sport" and i % 2 else y) for i, (t, y) in enumerate(rows)]

    files = {part: write_csv(tmp_path / f"{part}.csv", respelled(make_texts(n, seed)))
             for part, n, seed in (("train", 20, 1), ("valid", 8, 3), ("test", 5, 2))}  # fmt: skip
    said: list[str] = []
    tune(
        files["train"], valid=files["valid"], test=files["test"], out=tmp_path / "t",
        vectors=str(data["vectors"]), trials=2, config={**FAST, "min_valid": 10}, space=SPACE,
        progress=False, log=said.append,
    )  # fmt: skip
    for path in files.values():
        merged = [line for line in said if line.startswith(f"WARNING: {path}: labels written")]
        assert len(merged) == 1, (path, said)
        assert "'sport' (" in merged[0] and "'sport ' (" in merged[0]


def test_a_link_at_the_journal_is_refused_not_appended_to(tmp_path: Path) -> None:
    """Optuna's journal backend appends to the name, so a planted link had it write the target."""
    from vecgraft._util.atomic import LinkRefusedError, links_replaced
    from vecgraft.evaluate._tune_study import _journal_file

    victim = tmp_path / "victim"
    victim.write_text("mine\n")
    out = tmp_path / "study"
    out.mkdir()
    (out / JOURNAL_FILE).symlink_to(victim)
    with links_replaced(out), pytest.raises(LinkRefusedError, match="tune journal through"):
        _journal_file(str(out / JOURNAL_FILE))
    assert victim.read_text() == "mine\n"


def _with_bad_rows(path: Path, src: Path) -> tuple[Path, int]:
    """`src` with a row missing its label and a row with too many fields appended."""
    text = src.read_text(encoding="utf-8")
    first = text.count("\n") + 1  # the line of the first appended row
    path.write_text(text + '"no label here"\n"too many",pos,extra\n', encoding="utf-8")
    return path, first


def test_bad_rows_of_train_and_test_are_said_as_finetune_says_them(data, tmp_path):
    # tune read past a row missing its label and a ragged row of either file without a
    # word (finetune says "2 rows dropped: ..."); console, report.md, tune.json now say it
    train, t_line = _with_bad_rows(tmp_path / "train_bad.csv", data["train"])
    test, s_line = _with_bad_rows(tmp_path / "test_bad.csv", data["test"])
    lines: list[str] = []
    out = tmp_path / "t"
    tune(train, test=test, out=out, model="linear", trials=1, progress=False,
         log=lines.append)  # fmt: skip
    said = {
        path: (f"{path}: 2 rows dropped: 1 more fields than the header (an unquoted delimiter "
               f"in a text?) (line {line + 1}), 1 missing label (line {line})")
        for path, line in ((train, t_line), (test, s_line))
    }  # fmt: skip
    for line in said.values():
        assert lines.count(line) == 1
    summary = json.loads((out / "tune.json").read_text(encoding="utf-8"))
    assert {k: v["total"] for k, v in summary["data"]["read"].items()} == {
        str(train): 2, str(test): 2
    }
    report = (out / "report.md").read_text(encoding="utf-8")
    assert f"Reading the data: {said[train]}; {said[test]}." in report


def test_the_final_test_is_set_beside_each_model_alone_and_the_majority_class(data, tmp_path):
    # the report gave the fused test accuracy only: the linear model alone, the network
    # alone and the majority class were in final/metrics.json, never in tune's report
    out = tmp_path / "fused"
    lines: list[str] = []
    tune(data["train"], test=data["test"], out=out, vectors=str(data["vectors"]), trials=1,
         cv=3, config=FAST, space=SPACE, progress=False, log=lines.append)  # fmt: skip
    metrics = json.loads((out / "final" / "metrics.json").read_text())
    alone, majority = metrics["fusion"]["accuracy"]["test"], metrics["majority_baseline"]
    test = json.loads((out / "tune.json").read_text())["final"]["test"]
    assert test["accuracy"] == pytest.approx(metrics["test"]["accuracy"])  # kept as it was
    keys = ("network_accuracy", "linear_accuracy", "majority_label", "majority_accuracy")
    assert {k: test[k] for k in keys} == {
        "network_accuracy": alone["network"], "linear_accuracy": alone["linear"],
        "majority_label": majority["label"], "majority_accuracy": majority["accuracy"],
    }
    words = (f"TF-IDF linear model alone {100 * alone['linear']:.2f}%, network alone "
             f"{100 * alone['network']:.2f}%; majority class (always "
             f"{majority_words(majority)}) {100 * majority['accuracy']:.2f}%")  # fmt: skip
    at = next(i for i, line in enumerate(lines) if line.startswith("Test ("))
    assert lines[at + 1] == f"Test, for comparison: {words}"
    assert f"On the same test rows: {words}." in (out / "report.md").read_text()


def test_a_macro_f1_final_test_says_each_floors_macro_f1_and_warns_below_the_majority():
    # a tester's 95/5 tune with metric macro_f1: the final model (90.75%, macro F1 0.4758) was
    # worse than always saying '1' (95.00%, 0.4872) on both, the comparison gave accuracies
    # only, and nothing warned
    from vecgraft.evaluate.tune import _test_comparisons
    from vecgraft.evaluate.tune_report import comparison_words, majority_warning

    metrics = {
        "majority_baseline": {"label": "1", "accuracy": 0.95, "macro_f1": 0.4872},
        "fusion": {"accuracy": {"test": {"network": 0.9, "linear": 0.95, "fused": 0.9075}},
                   "macro_f1": {"test": {"network": 0.5, "linear": 0.4872, "fused": 0.4758}}},
    }  # fmt: skip
    test = {"accuracy": 0.9075, "macro_f1": 0.4758, **_test_comparisons(metrics)}
    assert {k: test[k] for k in ("network_macro_f1", "linear_macro_f1", "majority_macro_f1")} \
        == {"network_macro_f1": 0.5, "linear_macro_f1": 0.4872, "majority_macro_f1": 0.4872}
    assert comparison_words(test) == (
        "TF-IDF linear model alone 95.00% (macro F1 0.4872), network alone 90.00% (macro F1 "
        "0.5000); majority class '1' 95.00% (macro F1 0.4872)"
    )
    assert majority_warning("macro_f1", test) == (
        "WARNING: the final model's test macro F1 0.4758 is below always predicting the "
        "majority class '1' (0.4872): it tells the classes apart worse than no model at all"
    )
    assert majority_warning("accuracy", test) == (
        "WARNING: the final model's test accuracy 90.75% is below always predicting the "
        "majority class '1' (95.00%): it tells the classes apart worse than no model at all "
        "(with imbalanced labels, look at macro F1, not accuracy)"
    )
    assert majority_warning("macro_f1", {**test, "macro_f1": 0.5}) is None
    # metric loss has no majority loss: it compared nothing, and never warned
    assert majority_warning("loss", test) == (
        "WARNING: the final model's test accuracy 90.75% is below always predicting the "
        "majority class '1' (95.00%): it tells the classes apart worse than no model at all "
        "(tuned on the loss, compared by accuracy; with imbalanced labels, look at macro F1, "
        "not accuracy)"
    )
    assert majority_warning("loss", {**test, "accuracy": 0.96}) is None
    # an accuracy run's block keeps no macro F1: words and keys as before
    del metrics["majority_baseline"]["macro_f1"], metrics["fusion"]["macro_f1"]
    plain = _test_comparisons(metrics)
    assert not any("macro_f1" in key for key in plain)
    assert comparison_words(plain) == ("TF-IDF linear model alone 95.00%, network alone "
                                       "90.00%; majority class '1' 95.00%")  # fmt: skip
    assert majority_warning("macro_f1", {**plain, "macro_f1": 0.1}) is None


def test_a_macro_f1_tune_prints_the_majoritys_macro_f1_and_warns_below_it(
    data, tmp_path, monkeypatch
):
    from vecgraft.evaluate import tune_report

    real = tune_report.majority_warning
    seen: list[tuple[str, dict[str, Any]]] = []  # the final model below the majority: forced,
    monkeypatch.setattr(tune_report, "majority_warning",  # as tiny balanced data rarely is
                        lambda metric, test: seen.append((metric, test)) or "WARNING: below")
    out = tmp_path / "f1"
    lines: list[str] = []
    tune(data["train"], test=data["test"], out=out, model="linear", trials=1, progress=False,
         config={"metric": "macro_f1"}, log=lines.append)  # fmt: skip
    majority = json.loads((out / "final" / "metrics.json").read_text())["majority_baseline"]
    test = json.loads((out / "tune.json").read_text())["final"]["test"]
    assert test["majority_macro_f1"] == majority["macro_f1"]
    compared = next(line for line in lines if line.startswith("Test, for comparison: "))
    assert compared.endswith(f"{100 * majority['accuracy']:.2f}% (macro F1 "
                             f"{majority['macro_f1']:.4f})")  # fmt: skip
    assert lines[lines.index(compared) + 1] == "WARNING: below"
    report = (out / "report.md").read_text()
    assert compared.removeprefix("Test, for comparison: ") in report
    assert "WARNING: below." in report
    assert {metric for metric, _test in seen} == {"macro_f1"} and seen[0][1] == test
    assert real("macro_f1", test) is None or test["macro_f1"] < majority["macro_f1"]


def test_a_class_weighted_pool_says_it_minimises_the_weighted_log_loss():
    # the fusion table showed 95% validation accuracy at shares 0-0.5 and the chosen pool
    # 81%, unexplained: the pool is fitted on the class-weighted log loss
    from vecgraft.evaluate.tune_report import _fusion_blocks

    best = {"fusion_accuracy": {"0.0": 0.95, "1.0": 0.81}, "fusion_pool_accuracy": 0.81,
            "judged_by": "network"}  # fmt: skip
    final = {"fuse_weight": None, "fuse_pool": [1.0, 0.5], "class_weight": "balanced"}
    said = "The pool minimises the class-weighted validation log loss (class_weight), not accuracy."
    assert _fusion_blocks(best, final)[0].text.endswith(f"for comparison. {said}")
    assert said not in _fusion_blocks(best, {**final, "class_weight": None})[0].text
    assert said not in _fusion_blocks(best, {"fuse_weight": None, "fuse_pool": [1.0, 0.5]})[0].text


def test_a_pool_that_gives_the_network_no_weight_says_the_linear_model_ships_alone():
    # "network x0, linear x3.18": every trial scored the same and final/ was the linear
    # model alone, which neither the report nor the console said
    from vecgraft.evaluate.tune_report import _fusion_blocks, linear_alone_text

    best = {"fusion_accuracy": {"0.0": 0.8, "1.0": 0.5}, "fusion_pool_accuracy": 0.8,
            "judged_by": "fused", "network_value": 0.5}  # fmt: skip
    final = {"fuse_weight": None, "fuse_pool": [0.0, 3.18]}
    trials = [{"state": "COMPLETE", "value": 0.8, "fusion_pool": [0.0, 3.18]},
              {"state": "COMPLETE", "value": 0.8, "fusion_pool": [0.0, 2.5]},
              {"state": "PRUNED"}]  # fmt: skip
    alone = ("The fusion gives the network no weight: the final model is the TF-IDF linear "
             "model alone, and the chosen settings that change only the network do not "
             "change its predictions")  # fmt: skip
    every = ("; every completed trial's pool did the same (2), so they scored alike and the "
             "choice among them means nothing.")  # fmt: skip
    assert _fusion_blocks(best, final, trials)[0].text.endswith(f"50.00%). {alone}{every}")
    # a trial whose pool used the network: the final model is still the linear one alone
    some = [{"state": "COMPLETE", "fusion_pool": [0.4, 1.0]}, *trials]
    assert linear_alone_text(None, [0.0, 3.18], some, True) == f"{alone}."
    assert linear_alone_text(0.0, None, [], False) == f"{alone}."
    assert linear_alone_text(None, [0.2, 3.18], trials, True) is None
    assert linear_alone_text(0.5, None, trials, True) is None
    assert alone not in _fusion_blocks(best, {"fuse_weight": None, "fuse_pool": [1.0, 0.5]},
                                       trials)[0].text  # fmt: skip


def test_no_network_weight_claims_trials_scored_alike_only_where_their_scores_are_equal():
    # a --space searching class_weight or the tokenizer changes the linear model itself:
    # every pool gave the network no weight, yet the trials scored 0.70 and 0.78, and the
    # sentence said they "scored alike and the choice among them means nothing"
    from vecgraft.evaluate.tune_report import linear_alone_text

    differ = [{"state": "COMPLETE", "value": 0.70, "fusion_pool": [0, 3.1]},
              {"state": "COMPLETE", "value": 0.78, "fusion_pool": [0, 2.9]}]  # fmt: skip
    text = linear_alone_text(None, (0.0, 3.1), differ, True)
    assert text is not None and "scored alike" not in text and "means nothing" not in text
    assert text.endswith("; every completed trial's pool did the same (2), so only the "
                         "searched settings that change the linear model itself (such as "
                         "class_weight or the tokenizer) told their scores apart.")
    equal = [{**r, "value": 0.75} for r in differ]
    said = linear_alone_text(None, (0.0, 3.1), equal, True)
    assert said is not None and said.endswith("so they scored alike and the choice among "
                                              "them means nothing.")  # fmt: skip


def test_no_network_weight_by_the_share_rule_reads_every_trials_share():
    # the share rule keeps each trial's share as fused_share (no fusion_pool): every share
    # 0 said nothing of the other trials; a regression's linear model is ridge regression
    from vecgraft.evaluate.tune_report import linear_alone_text

    trials = [{"state": "COMPLETE", "value": 0.5, "fused_share": 0.0},
              {"state": "COMPLETE", "value": 0.5, "fused_share": 0.0}]  # fmt: skip
    text = linear_alone_text(0.0, None, trials, True)
    assert text is not None and text.endswith(
        "; every completed trial's share did the same (2), so they scored alike and the "
        "choice among them means nothing.")
    some = [*trials, {"state": "COMPLETE", "value": 0.5, "fused_share": 0.3}]
    assert "every completed" not in (linear_alone_text(0.0, None, some, True) or "")
    ridge = linear_alone_text(0.0, None, trials, True, regression=True)
    assert ridge is not None and "TF-IDF ridge regression alone" in ridge
    assert "linear model" not in ridge


def test_the_report_gives_scores_in_the_consoles_units():
    # the row was all fractions (0.6500 | 0.7733 | 0.7591) under a sentence and a fusion
    # table in percent: accuracy is a percentage, macro F1 and loss fractions, as the
    # console says them
    from vecgraft.evaluate.report import blocks_to_markdown
    from vecgraft.evaluate.tune_report import _fusion_blocks, _result_table, _trials_table

    final = {"test": {"accuracy": 0.7733, "macro_f1": 0.785}}
    row = ["chosen trial #2 (validation) → final (test)", "75.00%", "77.33%", "0.7850"]
    table = _result_table("accuracy", {"number": 2, "value": 0.75}, final)
    assert [list(r) for r in table.rows] == [row]
    table = _result_table("macro_f1", {"number": 2, "value": 0.75}, final)
    assert [list(r) for r in table.rows] == [[row[0], "0.7500", *row[2:]]]
    table = _result_table("loss", {"number": 2, "value": 0.4321}, final)
    assert [list(r) for r in table.rows] == [[row[0], "0.4321", *row[2:]]]
    trials = [{"number": 0, "state": "COMPLETE", "value": 0.7833, "seconds": 1.0}]
    text = blocks_to_markdown([_trials_table(trials, "accuracy")], lambda _b: None)
    assert "| 0 | COMPLETE | 78.33% |" in text
    text = blocks_to_markdown([_trials_table(trials, "macro_f1")], lambda _b: None)
    assert "| 0 | COMPLETE | 0.7833 |" in text
    fixed = {"fusion_fixed_score": 0.8, "judged_by": "fused", "network_value": 0.65}
    said = _fusion_blocks(fixed, {"fuse_weight": 0.5, "fuse_pool": None})[0].text
    assert "fused validation accuracy is 80.00%" in said and "network alone: 65.00%)" in said


def test_a_fixed_fusions_score_is_named_and_formatted_as_what_it_is():
    # the fixed fusion's score is accuracy for every classifier (a regression's MSE), but
    # the report formatted it by the run's metric: "fused validation score is 0.8000"
    # under metric macro_f1 or loss, an accuracy said as a fraction
    from vecgraft.evaluate.tune_report import _fusion_blocks

    fixed = {"fusion_fixed_score": 0.8, "judged_by": "network", "network_value": 0.65}
    final = {"fuse_weight": 0.5, "fuse_pool": None, "test": {"accuracy": 0.7, "macro_f1": 0.6}}
    for metric in ("macro_f1", "loss"):
        said = _fusion_blocks(fixed, final, metric=metric)[0].text
        assert "the chosen trial's fused validation accuracy is 80.00%." in said, said
    regression = {**fixed, "fusion_fixed_score": 0.4321, "judged_by": "fused"}
    final = {"fuse_weight": 0.5, "fuse_pool": None, "test": {"rmse": 0.7}}
    said = _fusion_blocks(regression, final, metric="loss")[0].text
    assert "the chosen trial's fused validation MSE is 0.4321." in said, said
    assert "network alone: 0.6500)" in said


def _line_spec(regression: bool = False, metric: str = "accuracy", **fixed: Any) -> Any:
    """A stand-in TuneSpec for the fusion log lines: what they read of it."""
    from types import SimpleNamespace

    base = SimpleNamespace(metric=metric, fuse_weight=fixed.get("fuse_weight"),
                           fuse_pool=fixed.get("fuse_pool"))  # fmt: skip
    attr = "fusion_mse" if regression else "fusion_accuracy"
    return SimpleNamespace(regression=regression, base=base, fusion_attr=attr)


def test_the_consoles_fusion_lines_give_scores_in_the_reports_units():
    # the report said 75.00% where the console said "accuracy 0.7500; network alone
    # 0.6500": accuracy in percent, an MSE (and macro F1, loss) as a fraction
    from types import SimpleNamespace

    from vecgraft.evaluate.tune import _fixed_fusion_line, _fusion_line

    attrs = {"fusion_accuracy": {"0.5": 0.75, "1.0": 0.65}, "fusion_pool_accuracy": 0.7}
    best = SimpleNamespace(user_attrs=attrs, value=0.75)
    said = _fusion_line(_line_spec(), best, {"fuse_weight": 0.5})
    assert said.endswith("validation rows (accuracy 75.00%; network alone 65.00%)"), said
    said = _fusion_line(_line_spec(), best, {"fuse_pool": [1.0, 2.0]})
    assert said.endswith("validation rows (accuracy 70.00%; network alone 65.00%)"), said
    best = SimpleNamespace(user_attrs={"fusion_mse": {"0.5": 0.25, "1.0": 0.5}}, value=0.25)
    said = _fusion_line(_line_spec(regression=True, metric="loss"), best, {"fuse_weight": 0.5})
    assert said.endswith("(mean squared error 0.2500; network alone 0.5000)"), said
    best = SimpleNamespace(user_attrs={"fusion_fixed_score": 0.8}, value=0.6123)
    said = _fixed_fusion_line(_line_spec(metric="macro_f1", fuse_weight=0.5), best)
    assert said.endswith(": the chosen trial's validation accuracy 80.00% (network alone "
                         "macro_f1 0.6123)"), said  # fmt: skip
    best = SimpleNamespace(user_attrs={"fusion_fixed_score": 0.8, "network_score": 0.6},
                           value=0.8)  # fmt: skip
    said = _fixed_fusion_line(_line_spec(fuse_weight=0.5), best)
    assert said.endswith("validation accuracy 80.00% (network alone 60.00%)"), said


def test_a_regressions_final_test_is_set_beside_each_model_alone_and_the_mean():
    from vecgraft.evaluate.tune_report import comparison_words

    test = {"rmse": 0.5, "mean_rmse": 1.25, "network_rmse": 0.75, "linear_rmse": 0.625}
    assert comparison_words(test) == (
        "TF-IDF ridge regression alone RMSE 0.6250, network alone RMSE 0.7500; mean "
        "baseline RMSE 1.2500"
    )
    assert comparison_words({"accuracy": 0.5}) == ""  # a tune.json from before


def test_a_trials_line_says_its_own_value_or_that_it_was_pruned_or_failed():
    # with the trial's own duration after it: a value "in" it, a pruned or failed trial
    # stopped "after" it (no value came of that time)
    import datetime

    from optuna.distributions import FloatDistribution
    from optuna.trial import create_trial

    from vecgraft.evaluate.tune import _trial_outcome

    space = {"lr": FloatDistribution(1e-4, 1e-1, log=True)}
    study = optuna.create_study(direction="maximize")
    for state, value, seconds in ((TrialState.COMPLETE, 0.78333, 3.2),
                                  (TrialState.PRUNED, None, 1.04), (TrialState.FAIL, None, 0.5)):
        trial = create_trial(state=state, value=value, params={"lr": 0.01}, distributions=space)
        trial.datetime_start = trial.datetime_complete - datetime.timedelta(seconds=seconds)
        study.add_trial(trial)
    assert [_trial_outcome(study, n) for n in (0, 1, 2)] == [
        "0.7833 in 3.2s", "pruned after 1.0s", "failed after 0.5s"]  # fmt: skip


@pytest.mark.parametrize("value", ["-5", "nan", "0", "0.0"])
def test_a_timeout_not_above_zero_is_refused_before_out_is_made(data, tmp_path, capsys, value):
    # --timeout -5 (or 0) made OUT and its study, then ran no trial ("--timeout 0 s had
    # passed before the first one started"): argparse refuses it now, as a usage error
    out = tmp_path / "t"
    argv = ["tune", "--train", str(data["train"]), "--model", "linear", "--trials", "1",
            "--timeout", value, "--out", str(out)]  # fmt: skip
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    assert f"--timeout: must be > 0 seconds, got {value}\n" in capsys.readouterr().err
    assert not out.exists()
    # the API refuses it alike, before OUT is made
    from vecgraft.errors import OptionError
    from vecgraft.evaluate.tune import tune as tune_api

    with pytest.raises(OptionError, match="timeout must be > 0 seconds"):
        tune_api(data["train"], out=out, model="linear", trials=1, timeout=float(value))
    assert not out.exists()


def test_a_missing_space_file_is_named_as_the_search_space_file(data, tmp_path, capsys):
    # it was "cannot read config file" where no --config was given
    space = tmp_path / "nope.yaml"
    argv = ["tune", "--train", str(data["train"]), "--space", str(space), "--out",
            str(tmp_path / "t")]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.endswith(f"error: {space}: cannot read the search space file (No such file or "
                        "directory)\n")  # fmt: skip


def test_the_final_tests_majority_class_says_the_tie_that_chose_it(data, tmp_path):
    # 20 training rows of each label: tune said "majority class 'neg' 50.00%", as if 'neg'
    # were commoner, where finetune, compare and evaluate said the tie and its rule
    out = tmp_path / "tied"
    lines: list[str] = []
    tune(data["train"], test=data["test"], out=out, model="linear", trials=1, progress=False,
         log=lines.append)  # fmt: skip
    majority = json.loads((out / "final" / "metrics.json").read_text())["majority_baseline"]
    test = json.loads((out / "tune.json").read_text())["final"]["test"]
    assert (test["majority_tied"], test["majority_rows"]) == (majority["tied"], 20)
    first, *others = [repr(x) for x in majority["tied"]]
    words = (f"majority class (always {first}, tied with {' and '.join(others)} at 20 "
             f"training rows each: a tie takes the first label in sorted order) "
             f"{100 * majority['accuracy']:.2f}%")  # fmt: skip
    assert f"Test, for comparison: {words}" in lines
    assert f"On the same test rows: {words}." in (out / "report.md").read_text()


def test_a_fraction_under_half_a_percent_is_said_as_given_not_as_0_percent(tmp_path):
    # --valid-fraction 0.004 and --test-fraction 0.004 read "a stratified 0% split"
    from vecgraft.evaluate._tune_data import prepare_data
    from vecgraft.evaluate._tune_spec import TuneSpec

    rows = [(f"text number {i}", "ab"[i % 2]) for i in range(1000)]
    train = write_csv(tmp_path / "train.csv", rows)
    base = FinetuneConfig(train=str(train), valid_fraction=0.004, test_fraction=0.004)
    notes = prepare_data(TuneSpec(base=base, out=str(tmp_path / "t"))).notes
    assert notes["test"].startswith(f"stratified 0.4% of {train} (seed ")
    assert notes["trials"].endswith("validate on a stratified 0.4% split (4 rows)")
