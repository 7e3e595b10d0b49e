"""The one-standard-error rule of `vecgraft tune`: which trial the final model comes from."""

from __future__ import annotations

import json
from typing import Any

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from finetune_helpers import make_dataset
from vecgraft.errors import ConfigError
from vecgraft.evaluate._tune_select import fold_standard_error, select_trial
from vecgraft.evaluate.tune import tune

LR = {"lr": FloatDistribution(1e-4, 1e-1, log=True)}
DEFAULT = {"lr": 0.002}


def _trial(lr: float, folds: list[float], *, default: bool = False, **kw: Any) -> Any:
    attrs: dict[str, Any] = {"fold_scores": folds}
    if default:
        attrs["default"] = True
    return create_trial(
        params={"lr": lr}, distributions=LR, value=sum(folds) / len(folds), user_attrs=attrs, **kw
    )


def _study(*trials: Any, direction: str = "maximize") -> Any:
    study = optuna.create_study(direction=direction)
    for t in trials:
        study.add_trial(t)
    return study


def test_standard_error_of_the_fold_mean():
    assert fold_standard_error([0.8, 0.9]) == pytest.approx(0.05)  # sd 0.0707 / sqrt 2
    assert fold_standard_error([0.5, 0.5, 0.5]) == 0.0
    assert fold_standard_error([]) is None


def test_defaults_are_kept_when_the_top_trial_wins_by_less_than_one_se():
    # top: mean 0.92, fold sd 0.0316 -> se 0.0141; defaults 0.91: gap 0.01 <= se
    study = _study(
        _trial(0.002, [0.91] * 5, default=True), _trial(0.01, [0.88, 0.90, 0.92, 0.94, 0.96])
    )
    choice = select_trial(study, "one-se", DEFAULT, "maximize")
    assert choice.trial.number == 0 and choice.top.number == 1
    assert choice.standard_error == pytest.approx(0.0141421, abs=1e-6)
    assert "defaults are kept" in choice.reason and "0.0100" in choice.reason


def test_top_trial_wins_when_it_beats_the_defaults_by_more_than_one_se():
    study = _study(
        _trial(0.002, [0.85] * 5, default=True), _trial(0.01, [0.88, 0.90, 0.92, 0.94, 0.96])
    )
    choice = select_trial(study, "one-se", DEFAULT, "maximize")
    assert choice.trial.number == 1
    assert "more than one standard error" in choice.reason


def test_best_rule_and_single_split_take_the_top_trial():
    close = (_trial(0.002, [0.91] * 5, default=True), _trial(0.01, [0.88, 0.9, 0.92, 0.94, 0.96]))
    assert select_trial(_study(*close), "best", DEFAULT, "maximize").trial.number == 1
    one_split = _study(_trial(0.002, [0.91], default=True), _trial(0.01, [0.92]))
    choice = select_trial(one_split, "one-se", DEFAULT, "maximize")
    assert choice.trial.number == 1 and "no fold spread" in choice.reason
    assert choice.reason.startswith("the one-standard-error rule cannot apply")


def test_a_single_split_says_one_se_cannot_apply_with_the_binomial_standard_error():
    # "trial #1 wins: one validation split has no fold spread" read as the rule's verdict
    # on a lead of one row of 60; the same trial wins, said plainly with how little that is
    one_split = _study(_trial(0.002, [48 / 60], default=True), _trial(0.01, [49 / 60]))
    choice = select_trial(one_split, "one-se", DEFAULT, "maximize", accuracy_rows=60)
    assert choice.trial.number == 1 and choice.standard_error is None
    se = (49 / 60 * 11 / 60 / 60) ** 0.5
    assert choice.binomial_standard_error == pytest.approx(se)
    assert choice.reason == (
        "the one-standard-error rule cannot apply with one validation split (no fold spread), "
        "so the top trial #1 is retrained: it beat the defaults (trial #0) by 0.0167 (1 of 60 "
        f"validation rows); for scale: one accuracy on 60 validation rows varies by about "
        f"{se:.4f} (binomial standard error, sqrt(p(1-p)/n)); --cv K scores every trial on K "
        "folds, whose spread the rule can use"
    )
    # not scored by accuracy (a loss, macro F1): no binomial standard error to give
    loss = select_trial(one_split, "one-se", DEFAULT, "maximize")
    assert loss.binomial_standard_error is None
    assert loss.reason.endswith("by 0.0167; --cv K scores every trial on K folds, whose "
                                "spread the rule can use")  # fmt: skip


def test_the_binomial_standard_error_is_given_for_one_accuracy_split_only():
    from types import SimpleNamespace

    from vecgraft.evaluate.tune import _accuracy_rows

    def spec(metric: str = "accuracy", regression: bool = False) -> Any:
        return SimpleNamespace(regression=regression, base=SimpleNamespace(metric=metric))

    one = SimpleNamespace(folds=[(list(range(540)), list(range(60)))])
    three = SimpleNamespace(folds=[([], [])] * 3)
    assert _accuracy_rows(spec(), one) == 60  # type: ignore[arg-type]
    assert _accuracy_rows(spec(), three) is None  # type: ignore[arg-type]
    assert _accuracy_rows(spec("macro_f1"), one) is None  # type: ignore[arg-type]
    assert _accuracy_rows(spec(regression=True), one) is None  # type: ignore[arg-type]


def test_unmarked_defaults_are_found_by_their_params_and_loss_is_minimised():
    # a study from before the marker: the defaults are the trial with the default params
    study = _study(
        _trial(0.002, [0.50, 0.52, 0.54]),
        _trial(0.01, [0.40, 0.50, 0.60]),  # lower loss by 0.02, se 0.0577
        direction="minimize",
    )
    choice = select_trial(study, "one-se", DEFAULT, "minimize")
    assert choice.trial.number == 0 and choice.top.number == 1


def test_failed_defaults_leave_the_top_trial():
    failed = create_trial(params={"lr": 0.002}, distributions=LR, state=TrialState.FAIL)
    study = _study(failed, _trial(0.01, [0.8, 0.9]))
    choice = select_trial(study, "one-se", DEFAULT, "maximize")
    assert choice.trial.number == 1 and "did not finish" in choice.reason


def test_cv_search_reports_its_selection_and_rejects_unknown_rules(tmp_path):
    data = make_dataset(tmp_path / "data", train_per_class=20, test_per_class=5)
    # the network alone: fused with the linear model, every trial of this tiny set ties the
    # defaults (the linear share decides), and a tie needs no standard error
    config = {"model": "boe", "epochs": 2, "max_length": 16, "progress": False,
              "fuse_linear": False}  # fmt: skip
    space = {"lr": {"type": "float", "low": 0.005, "high": 0.05, "log": True}, "epochs": 2,
             "batch_size": 16, "freeze_epochs": 0, "embedding_lr": None, "weight_decay": None,
             "warmup": None, "hidden_size": 0, "train_steps": None}  # fmt: skip
    out = tmp_path / "t"
    lines: list[str] = []
    result = tune(
        data["train"], out=out, vectors=str(data["vectors"]), trials=3, cv=3, config=config,
        space=space, progress=False, log=lines.append,
    )  # fmt: skip
    summary = json.loads((out / "tune.json").read_text())
    choice = summary["selection"]
    assert choice["rule"] == "one-se" and choice["standard_error"] is not None
    assert summary["best"]["number"] in (0, choice["top_number"])
    assert result.best_params == summary["best"]["params"]
    assert any(line.startswith("Why: ") for line in lines)
    assert "Selection rule `one-se`" in (out / "report.md").read_text()
    with pytest.raises(ConfigError, match="select must be one of one-se, best"):
        tune(data["train"], out=tmp_path / "u", select="top", progress=False)


def test_a_pruned_trials_network_score_is_not_in_the_value_column():
    # Optuna keeps a pruned trial's last epoch score (the network alone) as its value, while
    # a finished trial's value is its fused score: trials.csv showed 0.35 beside 0.82 in one
    # column, as if the two ranked on one scale
    import optuna
    from optuna.trial import TrialState, create_trial

    from vecgraft.evaluate._tune_outputs import _csv_text, trial_rows

    space = {"lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)}
    done = create_trial(state=TrialState.COMPLETE, value=0.82, params={"lr": 0.02},
                        distributions=space)  # fmt: skip
    cut = create_trial(state=TrialState.PRUNED, value=0.35, params={"lr": 0.01},
                       distributions=space, intermediate_values={0: 0.35})  # fmt: skip
    rows = trial_rows([done, cut])
    assert rows[0]["value"] == 0.82 and "pruned_network_score" not in rows[0]
    assert rows[1]["value"] is None and rows[1]["pruned_network_score"] == 0.35
    lines = _csv_text(rows).splitlines()
    assert lines[0].endswith(",pruned_network_score") and lines[2].endswith(",0.35")
    assert lines[2].split(",")[2] == ""  # the value column of the pruned row
