"""`ensemble`: several networks with their own seeds and validation splits, averaged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from finetune_helpers import make_dataset
from test_fusion import _config, _regression_config
from vecgraft.errors import CheckpointError, ConfigError
from vecgraft.evaluate.export import read_source
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.data import read_labelled
from vecgraft.finetune.ensemble import (
    AUTO_MEMBERS,
    EnsemblePredictor,
    _header,
    capped_epochs,
    load_ensemble,
    member_config,
    plan_ensemble,
)
from vecgraft.finetune.predict import load_run
from vecgraft.finetune.run import finetune
from vecgraft.finetune.scoring import TargetRange


def _small(data: dict, out: Path, **overrides) -> FinetuneConfig:
    """The default's budget rule on the 120-row fixture, kept short: 6 epochs at most."""
    settings = {"epochs": None, "max_epochs": 6, "min_epochs": 1, "fuse_linear": None,
                **overrides}  # fmt: skip
    return _config(data, out, **settings)


def test_the_default_trains_three_networks_where_the_epoch_cap_cuts_the_budget(tmp_path):
    data = make_dataset(tmp_path / "data")
    plan = plan_ensemble(_small(data, tmp_path / "run"))
    assert plan.members == AUTO_MEMBERS == 3
    # 120 rows less a 10 % validation split = 108 rows, 4 batches of 32 per epoch
    assert plan.why == "108 training rows: the 3000-step budget would need 750 epochs, capped at 6"
    assert len(plan.data.splits.train) == 120 and not len(plan.data.splits.valid)
    # where the budget fits under the cap, and wherever the run's length is pinned: one
    assert plan_ensemble(_small(data, tmp_path / "r", train_steps=24)).members == 1
    assert plan_ensemble(_small(data, tmp_path / "r", train_steps=28)).members == 3
    pins = ({"epochs": 2}, {"max_steps": 5}, {"ensemble": 1}, {"model": "linear"},
            {"task": "regression"})  # fmt: skip
    for pinned in pins:
        assert plan_ensemble(_small(data, tmp_path / "r", **pinned)).members == 1, pinned
    assert plan_ensemble(_small(data, tmp_path / "r"), distributed=True).members == 1
    assert plan_ensemble(_small(data, tmp_path / "r", ensemble=2, epochs=2)).members == 2
    with pytest.raises(ConfigError, match="one process"):
        plan_ensemble(_small(data, tmp_path / "r", ensemble=2), distributed=True)


def test_the_header_says_what_each_member_trains_and_validates_on():
    why = "asked"
    config = FinetuneConfig(train="t.csv", max_epochs=200)
    assert _header(config, 3, 67, why) == (
        "Ensemble of 3 networks (asked): each with its own seed and validation split, up to "
        "67 epochs each; predictions averaged (--ensemble 1: one network)")
    # it said "up to 67 epochs" and "its own validation split" of these
    told = _header(FinetuneConfig(train="t.csv", epochs=2, valid="v.csv"), 3, 67, why)
    assert "all validated on v.csv, up to 2 epochs each" in told
    none = _header(FinetuneConfig(train="t.csv", valid_fraction=0.0), 2, 100, why)
    assert "none validated (--valid-fraction 0), up to 100 epochs" in none


def test_the_budget_line_says_what_a_member_trains():
    from vecgraft.finetune.train import BudgetShare, budget_line

    # 5 % of BBC News: 3 batches an epoch, the 3000-step budget wants 1000 epochs
    config = FinetuneConfig(train="t.csv", max_epochs=200)
    member = member_config(config, 1, 3, Path("o"))
    assert budget_line(member, 3, BudgetShare(2, 3, 200)) == (
        "Training budget: member 2 of 3, sharing a 200-epoch cap (the 3000-step budget would "
        "need 1000 epochs of 3 batches): 67 epochs, 201 steps")
    assert budget_line(config, 3) == (  # one network: the cap and the steps it leaves
        "Training budget: 3000 steps would need 1000 epochs of 3 batches; capped at 200 epochs "
        "(max_epochs): 600 steps")
    # where the budget fits a member's share (--ensemble 3 on a large set), each trains it all
    assert budget_line(member, 100, BudgetShare(2, 3, 200)) == (
        "Training budget: 3000 steps -> 30 epochs of 100 batches (bounds 3-67); member 2 of 3, "
        "each trains the whole budget")
    assert budget_line(config.replace(max_steps=50), 3).endswith(
        "capped at 200 epochs (max_epochs): 600 steps; max_steps stops it at step 50")


def test_capped_epochs_and_member_settings():
    config = FinetuneConfig(train="t.csv", seed=7)
    assert capped_epochs(config, 79) == 1000  # 3 batches: 3000 steps want 1000 epochs
    assert capped_epochs(config, 480) is None  # 15 batches: 200 epochs, the cap itself
    assert capped_epochs(config, 481) is None
    assert capped_epochs(config, 448) == 215
    members = [member_config(config, k, 3, Path("out")) for k in range(3)]
    assert [m.seed for m in members] == [7, 107, 207]
    assert {m.split_seed for m in members} == {7}  # one test split for all
    assert {m.max_epochs for m in members} == {67}
    assert {m.ensemble for m in members} == {1}
    assert [m.out for m in members] == ["out/members/0", "out/members/1", "out/members/2"]
    low = config.replace(max_epochs=4, min_epochs=3)
    assert member_config(low, 1, 3, Path("o")).max_epochs == 3  # never under min_epochs
    assert member_config(config.replace(split_seed=1), 2, 3, Path("o")).split_seed == 1


def test_bad_ensemble_settings_are_config_errors():
    with pytest.raises(ConfigError, match="ensemble is a number of networks >= 1; got 0"):
        FinetuneConfig(train="t.csv", ensemble=0)
    with pytest.raises(ConfigError, match="the linear model is deterministic"):
        FinetuneConfig(train="t.csv", model="linear", ensemble=2)


def test_an_ensemble_run_averages_members_that_load_alone(tmp_path):
    data = make_dataset(tmp_path / "data")
    run = tmp_path / "run"
    lines: list[str] = []
    result = finetune(_small(data, run), log=lines.append)
    assert sorted(p.name for p in run.iterdir()) == [
        "config.json", "ensemble.json", "manifest.json", "members", "metrics.json", "report.txt"
    ]  # fmt: skip
    # report.txt opens with the log's lines: the ensemble's score beside its members', the floor
    ensemble = next(x for x in lines if x.startswith("Ensemble test (3 networks"))
    majority = next(x for x in lines if x.startswith("Majority-class baseline"))
    assert (run / "report.txt").read_text().startswith(f"{ensemble}\n{majority}\n\n")
    record = json.loads((run / "ensemble.json").read_text())
    assert record["folders"] == ["members/0", "members/1", "members/2"]
    assert record["seeds"] == [0, 100, 200]
    saved = FinetuneConfig.load(run / "config.json")
    assert saved.ensemble is None and saved.max_epochs == 6  # the run's own settings
    valid_rows = []
    for k in range(3):
        member = FinetuneConfig.load(run / "members" / str(k) / "config.json")
        assert (member.seed, member.max_epochs, member.ensemble) == (100 * k, 2, 1)
        splits = json.loads((run / "members" / str(k) / "splits.json").read_text())
        valid_rows.append(splits["valid"]["rows"])
        assert len(splits["train"]["rows"]) == 108 and len(splits["test"]["rows"]) == 30
    assert valid_rows[0] != valid_rows[1] != valid_rows[2]  # each its own validation split

    predictor = load_run(run)
    assert isinstance(predictor, EnsemblePredictor)
    test = read_labelled(data["test"])[0]
    texts = list(test.texts)
    members = [load_run(run / "members" / str(k)) for k in range(3)]
    mean = torch.stack([m.predict_proba(texts) for m in members]).mean(dim=0)
    proba = predictor.predict_proba(texts)
    torch.testing.assert_close(proba, mean)
    gold = [predictor.labels.index(label) for label in test.labels]
    accuracy = float((proba.argmax(-1).numpy() == np.asarray(gold)).mean())
    assert result.metrics["test"]["accuracy"] == pytest.approx(accuracy)
    assert result.metrics["task"] == "classification"
    each = [json.loads((run / "members" / str(k) / "metrics.json").read_text())["test"]
            for k in range(3)]  # fmt: skip
    assert result.metrics["ensemble"]["test"]["member_accuracy"] == [e["accuracy"] for e in each]
    assert predictor.evaluate(data["test"]).accuracy == pytest.approx(accuracy)
    assert any(line.startswith("Ensemble of 3 networks (108 training rows") for line in lines)
    assert any(line.startswith("Ensemble test (3 networks") for line in lines)
    # each member says what it trains, 2 epochs of 4 batches, not "3000 steps -> 2 epochs"
    budget = [line for line in lines if "Training budget" in line]
    assert budget == [f"  Training budget: member {k} of 3, sharing a 6-epoch cap (the "
                      "3000-step budget would need 750 epochs of 4 batches): 2 epochs, 8 steps"
                      for k in (1, 2, 3)]  # fmt: skip
    # each member's own log is indented under its "Member k/3" line, tables included
    assert any(line.startswith("  Data: 108 train, 12 valid, 30 test") for line in lines)
    assert not any(line.startswith("Data: ") for line in lines)


def test_an_interrupted_ensemble_resumes_its_unfinished_member(tmp_path):
    data = make_dataset(tmp_path / "data")
    run = tmp_path / "run"
    first = finetune(_small(data, run), log=lambda _m: None).metrics
    (run / "members" / "2" / "metrics.json").unlink()  # as if killed after its last epoch
    (run / "metrics.json").unlink()
    with pytest.raises(CheckpointError, match=r"unfinished ensemble .*--resume"):
        load_run(run)
    lines: list[str] = []
    again = finetune(FinetuneConfig(out=str(run), resume=True), log=lines.append).metrics
    assert "Member 1/3: finished in " + str(run / "members" / "0") + ", kept" in lines
    assert any(line.startswith("Member 3/3 (seed 200), resumed") for line in lines)
    assert again["test"] == first["test"]


def test_an_ensemble_interrupted_in_its_first_member_after_a_checkpoint_resumes(tmp_path):
    # Ctrl-C in the first member's second epoch, after its epoch-1 checkpoint: the folder
    # must stay for --resume (it was rolled back whole, as no member had finished yet)
    data = make_dataset(tmp_path / "data")
    first = finetune(_small(data, tmp_path / "whole"), log=lambda _m: None).metrics
    run = tmp_path / "run"
    steps: list[int] = []

    def ctrl_c_at_step_six(step: int) -> None:  # 108 rows: 4 batches an epoch
        steps.append(step)
        if step == 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        finetune(_small(data, run, checkpoint_every=0), log=lambda _m: None,
                 on_step=ctrl_c_at_step_six)  # fmt: skip
    assert steps == [1, 2, 3, 4, 5, 6] and (run / "members" / "0" / "last").is_dir()
    lines: list[str] = []
    again = finetune(FinetuneConfig(out=str(run), resume=True), log=lines.append).metrics
    assert any(line.startswith("Member 1/3 (seed 0), resumed") for line in lines)
    assert again["test"] == first["test"]


def test_an_ensemble_resumed_with_a_new_max_steps_records_it_in_its_config(tmp_path):
    # its config.json, which a plain `--resume` reads for its members, kept the old cap
    data = make_dataset(tmp_path / "data")
    run = tmp_path / "run"

    def ctrl_c_at_step_one(step: int) -> None:
        if step == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        finetune(_small(data, run, ensemble=3, max_steps=2, checkpoint_every=0),
                 log=lambda _m: None, on_step=ctrl_c_at_step_one)  # fmt: skip
    lines: list[str] = []
    finetune(FinetuneConfig(out=str(run), resume=True, max_steps=3, plots=False),
             log=lines.append)  # fmt: skip
    assert f"{run / 'config.json'} now records max_steps 3 (was 2)" in lines
    for folder in (run, *(run / "members" / str(k) for k in range(3))):
        assert json.loads((folder / "config.json").read_text())["max_steps"] == 3, folder


def test_a_regression_ensemble_averages_numbers(tmp_path):
    config = _regression_config(tmp_path, tmp_path / "run", epochs=None, max_epochs=4,
                                min_epochs=1, ensemble=3)  # fmt: skip
    result = finetune(config, log=lambda _m: None)
    predictor = load_run(tmp_path / "run")
    assert isinstance(predictor, EnsemblePredictor) and predictor.regression
    texts = ["good fine", "bad awful film", "a plain film"]
    members = [load_run(tmp_path / "run" / "members" / str(k)) for k in range(3)]
    mean = np.mean([m.predict_values(texts) for m in members], axis=0)
    np.testing.assert_allclose(predictor.predict_values(texts), mean, rtol=1e-6)
    assert result.metrics["task"] == "regression" and "rmse" in result.metrics["test"]
    # rounded_accuracy clips to the training rows' labels, which the folder keeps for evaluate
    assert result.metrics["train_range"] == {"min": 0.0, "max": 4.0, "whole_numbers": True}
    assert "rounded_accuracy" in result.metrics["test"]
    assert predictor.train_range == TargetRange(0.0, 4.0, True)
    assert len(result.metrics["ensemble"]["test"]["member_rmse"]) == 3
    # it said "class probabilities" of a regression's numbers
    assert result.metrics["ensemble"]["rule"] == (
        "mean of the members' predicted numbers (each fused with its ridge regression)")


def test_the_ensemble_rule_says_whether_members_were_fused(tmp_path):
    # --no-fuse-linear ensembles were recorded and logged as "each fused with its linear model"
    data = make_dataset(tmp_path / "data")
    lines: list[str] = []
    result = finetune(_small(data, tmp_path / "run", fuse_linear=False, max_epochs=3),
                      log=lines.append)  # fmt: skip
    rule = "mean of the members' class probabilities"
    assert result.metrics["ensemble"]["rule"] == rule
    assert json.loads((tmp_path / "run" / "ensemble.json").read_text())["rule"] == rule
    assert any(line.startswith(f"Ensemble test (3 networks, {rule}): ") for line in lines)
    assert "fusion" not in json.loads((tmp_path / "run/members/0/metrics.json").read_text())


def test_the_rule_of_a_model_that_cannot_fuse_names_no_fusion():
    # an hf ensemble said "(each fused with its linear model)"; hf members never fuse
    from vecgraft.finetune.config import FinetuneConfig
    from vecgraft.finetune.ensemble import combine_rule

    hf = FinetuneConfig.for_model("hf", train="t.csv", hf_model="m/")
    assert combine_rule(hf) == "mean of the members' class probabilities"
    cnn = FinetuneConfig(train="t.csv")
    assert combine_rule(cnn).endswith("(each fused with its linear model)")
    no_valid = FinetuneConfig(train="t.csv", valid_fraction=0)  # nothing to weigh them on
    assert combine_rule(no_valid) == "mean of the members' class probabilities"


def test_the_confusion_plots_title_says_each_member_is_fused():
    # "ensemble of 3 boe runs" read as the networks alone: each was fused by default
    from vecgraft.finetune.config import FinetuneConfig
    from vecgraft.finetune.ensemble import _plot_title

    boe = FinetuneConfig(train="t.csv", model="boe")
    assert _plot_title(boe, 3) == (
        "ensemble of 3 boe runs (each fused with its TF-IDF linear model)")
    alone = FinetuneConfig(train="t.csv", model="boe", fuse_linear=False)
    assert _plot_title(alone, 3) == "ensemble of 3 boe runs"
    ridge = FinetuneConfig(train="t.csv", model="boe", task="regression")
    assert _plot_title(ridge, 2).endswith("(each fused with its TF-IDF ridge regression)")


def test_a_failed_ensemble_leaves_no_folder_behind(tmp_path):
    data = make_dataset(tmp_path / "data")
    run = tmp_path / "run"
    with pytest.raises(Exception, match="missing"):
        finetune(_small(data, run, vectors=str(tmp_path / "missing.txt")), log=lambda _m: None)
    assert not run.exists()


def test_a_damaged_ensemble_record_is_a_checkpoint_error(tmp_path):
    data = make_dataset(tmp_path / "data")
    run = tmp_path / "run"
    finetune(_small(data, run), log=lambda _m: None)
    record = run / "ensemble.json"
    good = record.read_text()
    record.write_text(json.dumps({"folders": ["../elsewhere"]}))
    with pytest.raises(CheckpointError, match="is not under members/"):
        load_ensemble(run)
    record.write_text("{")
    with pytest.raises(CheckpointError, match="not an ensemble record"):
        load_run(run)
    record.write_text(good)
    with pytest.raises(ConfigError, match=r"export a member folder, e\.g\. .*members/0"):
        read_source(run)
    shutil.copytree(run / "members" / "0", tmp_path / "alone")
    assert not isinstance(load_run(tmp_path / "alone"), EnsemblePredictor)
    # a member copied without its fusion/ answered with its network alone, silently
    shutil.rmtree(run / "members" / "1" / "fusion")
    with pytest.raises(CheckpointError, match=r"members/1/fusion: missing, but the run was fused"):
        load_run(run)


def test_the_compare_report_says_how_long_runs_trained_and_how_many_networks():
    from vecgraft.evaluate.report import _epochs_phrase

    base = FinetuneConfig(train="t.csv").to_dict()
    assert _epochs_phrase(base) == (
        "epochs from a 3000-step budget (3-200); 3 networks averaged where the epoch cap "
        "cuts the budget"
    )
    assert _epochs_phrase({**base, "epochs": 5}) == "5 epochs max"
    assert _epochs_phrase({**base, "ensemble": 1}) == "epochs from a 3000-step budget (3-200)"
    four = _epochs_phrase({**base, "epochs": 5, "ensemble": 4})
    assert four == "5 epochs max; 4 networks averaged"
    assert _epochs_phrase({**base, "model": "linear"}) == "epochs from a 3000-step budget (3-200)"
    regression = _epochs_phrase({**base, "task": "regression"})
    assert regression == "epochs from a 3000-step budget (3-200)"


def test_a_default_run_reads_its_data_once_though_it_plans_an_ensemble(tmp_path, monkeypatch):
    from vecgraft.finetune import prepare

    data = make_dataset(tmp_path / "data")
    calls: list[str] = []
    real = prepare.read_splits

    def counted(config, log):
        calls.append(str(config.train))
        return real(config, log)

    monkeypatch.setattr(prepare, "read_splits", counted)
    # the budget fits under the cap: one network, planned on the data the run then uses
    result = finetune(_small(data, tmp_path / "run", train_steps=24), log=lambda _m: None)
    assert calls == [str(data["train"])]
    assert not (tmp_path / "run" / "ensemble.json").exists()
    assert result.metrics["sizes"] == {"train": 108, "valid": 12, "test": 30}


def test_an_ensemble_overwrite_that_fails_puts_the_old_ensemble_back(tmp_path):
    data = make_dataset(tmp_path / "data")
    run = tmp_path / "run"
    finetune(_small(data, run), log=lambda _m: None)
    before = {str(p.relative_to(run)): p.read_bytes() for p in run.rglob("*") if p.is_file()}

    def boom(step: int) -> None:
        raise ValueError("disk on fire")

    with pytest.raises(ValueError, match="disk on fire"):
        finetune(_small(data, run, seed=5), overwrite=True, log=lambda _m: None, on_step=boom)
    after = {str(p.relative_to(run)): p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert after == before
    finetune(_small(data, run, seed=5), overwrite=True, log=lambda _m: None)
    assert not (run / ".replaced").exists()
    assert json.loads((run / "config.json").read_text())["seed"] == 5


def test_an_ensemble_cross_fits_its_fusion(tmp_path):
    # --fuse-folds with --ensemble 2 stopped at the second member: (GivenSplits,
    # GivenClassifierRecipe) has no consistent method order
    data = make_dataset(tmp_path / "data")
    result = finetune(_small(data, tmp_path / "run", ensemble=2, fuse_folds=2, max_epochs=2),
                      log=lambda _m: None)  # fmt: skip
    assert result.metrics["ensemble"]["members"] == 2
    for k in (0, 1):
        member = json.loads((tmp_path / "run" / "members" / str(k) / "metrics.json").read_text())
        assert "fusion" in member


def test_an_ensemble_featurises_each_text_list_once_per_vocabulary(tmp_path, monkeypatch):
    # the members' linear models share a vocabulary (the same training rows, split another
    # way), and each featurised the test texts twice, when fused and when the ensemble was
    # scored: 6 times (x 2 vectorizers) in a default run
    from test_linear_baseline import _counted_transforms

    data = make_dataset(tmp_path / "data")
    sizes = _counted_transforms(monkeypatch)
    result = finetune(_small(data, tmp_path / "run"), log=lambda _m: None)
    assert result.metrics["sizes"]["test"] == 30 and "fusion" in json.loads(
        (tmp_path / "run/members/0/metrics.json").read_text())  # fmt: skip
    # word and character blocks: the test texts once, each member's 12 validation rows (on
    # its own held-out model: another vocabulary) once
    assert sorted(sizes) == [12] * 6 + [30] * 2
    # and once when the saved ensemble predicts (`vecgraft evaluate`, `predict`)
    sizes.clear()
    texts = list(read_labelled(data["test"])[0].texts)
    proba = load_run(tmp_path / "run").predict_proba(texts)
    assert sizes == [30, 30]
    members = [load_run(tmp_path / "run" / "members" / str(k)) for k in range(3)]
    torch.testing.assert_close(proba, torch.stack([m.predict_proba(texts) for m in members])
                               .mean(dim=0), rtol=0, atol=0)  # fmt: skip


def test_a_resume_with_a_larger_max_steps_trains_finished_members_on(tmp_path):
    # `--resume --max-steps 9` of an ensemble that --max-steps 2 had finished kept every
    # member ("Member 1/2: finished ..., kept"), though a larger --max-steps trains a
    # finished run on (Trainer.reopen); each member now resumes and trains on to 9 steps
    data = make_dataset(tmp_path / "data")
    run = tmp_path / "run"
    finetune(_small(data, run, ensemble=2, max_steps=2, fuse_linear=False),
             log=lambda _m: None)  # fmt: skip
    members = [run / "members" / str(k) for k in range(2)]
    steps = [json.loads((m / "last" / "state.json").read_text())["global_step"] for m in members]
    assert steps == [2, 2]
    lines: list[str] = []
    finetune(FinetuneConfig(out=str(run), resume=True, max_steps=9), log=lines.append)
    assert not any(line.endswith(", kept") for line in lines)
    for k, member in enumerate(members):
        assert f"Member {k + 1}/2 (seed {100 * k}), resumed:" in lines
        assert (
            f"  Resuming {member} at epoch 1, step 2: training had finished at max_steps 2 "
            "and goes on to max_steps 9"
        ) in "\n".join(lines)
        state = json.loads((member / "last" / "state.json").read_text())
        assert state["global_step"] == 9
    # the same cap again: the members are kept, not scored again
    lines.clear()
    finetune(FinetuneConfig(out=str(run), resume=True, max_steps=9), log=lines.append)
    assert f"Member 1/2: finished in {members[0]}, kept" in lines


def test_a_resume_that_trains_no_member_records_no_new_cap(tmp_path):
    # `--resume --max-steps 3` of members that had run their epochs (8 steps, no cap) kept
    # them, yet the ensemble's config.json said "now records max_steps 3 (was None)": a
    # cap no member ran under, which a later plain --resume handed them
    data = make_dataset(tmp_path / "data")
    run = tmp_path / "run"
    finetune(_small(data, run, ensemble=2, max_epochs=4, fuse_linear=False),
             log=lambda _m: None)  # fmt: skip
    lines: list[str] = []
    finetune(FinetuneConfig(out=str(run), resume=True, max_steps=3), log=lines.append)
    assert f"Member 2/2: finished in {run / 'members' / '1'}, kept" in lines
    assert not any("now records" in line for line in lines)
    assert json.loads((run / "config.json").read_text())["max_steps"] is None


def test_a_resume_that_only_scores_its_members_again_records_no_new_cap(tmp_path):
    # each member reached its max_steps 8 and its last epoch together: a larger --max-steps
    # 9 resumes it (`_trains_on`) but `Trainer.reopen` only scores it again
    data = make_dataset(tmp_path / "data")
    run = tmp_path / "run"
    finetune(_small(data, run, ensemble=2, max_epochs=4, max_steps=8, fuse_linear=False),
             log=lambda _m: None)  # fmt: skip
    lines: list[str] = []
    finetune(FinetuneConfig(out=str(run), resume=True, max_steps=9), log=lines.append)
    assert f"  {run / 'members' / '0'}: training had finished (epoch 2, step 8); scoring its " \
        "kept weights again" in lines  # fmt: skip
    assert not any("now records" in line for line in lines)
    assert json.loads((run / "config.json").read_text())["max_steps"] == 8


def test_a_resume_with_a_larger_max_steps_names_a_member_it_cannot_read(tmp_path):
    # a member whose last/state.json is missing or whose config.json is garbled was kept
    # ("Member 2/2: finished ..., kept") while the other trained on to 9 steps: the
    # ensemble scored as a mix, where a single run says "no state.json; cannot resume"
    data = make_dataset(tmp_path / "data")
    run = tmp_path / "run"
    finetune(_small(data, run, ensemble=2, max_steps=2, fuse_linear=False),
             log=lambda _m: None)  # fmt: skip
    member = run / "members" / "1"
    config, state = member / "config.json", member / "last" / "state.json"
    saved = {file: file.read_bytes() for file in (config, state)}
    garbled = json.dumps({**json.loads(saved[config]), "max_steps": "2"}).encode()
    cases = [
        (state, None, "missing"),
        (state, b"[]", "not a training state (expected an integer global_step and a "
                       "boolean stopped_early)"),
        (config, b"{", "cannot parse config: Expecting property name enclosed in double "
                       "quotes: line 1 column 2 (char 1)"),
        (config, b"[]", "expected a mapping of option -> value, got list"),
        (config, b"\xff", "unreadable ('utf-8' codec can't decode byte 0xff in position 0: "
                          "invalid start byte)"),
        (config, garbled, "max_steps must be an integer or null, got '2'"),
    ]  # fmt: skip
    for file, content, what in cases:
        if content is None:
            file.unlink()
        else:
            file.write_bytes(content)
        with pytest.raises(CheckpointError) as caught:
            finetune(FinetuneConfig(out=str(run), resume=True, max_steps=9), log=lambda _m: None)
        assert str(caught.value) == (
            f"{file}: {what}; cannot tell whether this finished member trains on to "
            "--max-steps 9, so the ensemble cannot resume"
        ), content
        file.write_bytes(saved[file])
    # decided before any member trained on: member 1 is still at its 2 steps
    first = json.loads((run / "members" / "0" / "last" / "state.json").read_text())
    assert first["global_step"] == 2


def test_a_member_stopped_while_training_on_to_a_larger_max_steps_resumes(tmp_path):
    # `--resume --max-steps 9` stopped while member 1 trained on (its last/state.json: not
    # finished, step 6) left it with the metrics.json of its 4-step run: every later
    # --resume said "Member 1/2: finished ..., kept" and only member 2 trained to 9
    data = make_dataset(tmp_path / "data")
    run = tmp_path / "run"
    finetune(_small(data, run, ensemble=2, max_steps=2, fuse_linear=False),
             log=lambda _m: None)  # fmt: skip
    finetune(FinetuneConfig(out=str(run), resume=True, max_steps=4), log=lambda _m: None)

    def ctrl_c_at_step_six(step: int) -> None:
        if step == 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        finetune(FinetuneConfig(out=str(run), resume=True, max_steps=9, checkpoint_every=0),
                 log=lambda _m: None, on_step=ctrl_c_at_step_six)  # fmt: skip
    first = run / "members" / "0"
    state = json.loads((first / "last" / "state.json").read_text())
    assert (state["global_step"], state["finished"]) == (6, False)
    # the CLI's plain --resume: the cap its config.json now records
    assert json.loads((run / "config.json").read_text())["max_steps"] == 9
    lines: list[str] = []
    finetune(FinetuneConfig(out=str(run), resume=True, max_steps=9), log=lines.append)
    assert f"Member 1/2: finished in {first}, kept" not in lines
    assert "Member 1/2 (seed 0), resumed:" in lines
    assert f"  Resuming {first} at epoch 2, step 6" in "\n".join(lines)
    for k in range(2):
        member = run / "members" / str(k)
        state = json.loads((member / "last" / "state.json").read_text())
        assert (state["global_step"], state["finished"]) == (9, True), member
        assert len(json.loads((member / "history.json").read_text())) == 3, member


def test_an_old_fused_ensemble_resumed_keeps_each_members_linear_settings(tmp_path):
    # members fused by the code before the linear nfc/word_marks (their fusion/linear.json
    # without them: off) were refitted on --resume with today's defaults (on)
    from vecgraft.finetune import fusion
    from vecgraft.finetune.linear import LinearModel

    data = make_dataset(tmp_path / "data")
    run = tmp_path / "run"
    linear_config = fusion.linear_config

    def linear_before(tokenizer, options):
        return linear_config(tokenizer, {**options, "nfc": False, "word_marks": False})

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(fusion, "linear_config", linear_before)
        finetune(_small(data, run, ensemble=2, max_steps=2, fuse_linear=True),
                 log=lambda _m: None)  # fmt: skip
    members = [run / "members" / str(k) for k in range(2)]
    for member in members:
        linear_file = member / "fusion" / "linear.json"
        linear = json.loads(linear_file.read_text())
        assert linear["config"].pop("nfc") is linear["config"].pop("word_marks") is False
        linear_file.write_text(json.dumps(linear))
    finetune(FinetuneConfig(out=str(run), resume=True, max_steps=4), log=lambda _m: None)
    for member in members:
        assert json.loads((member / "last" / "state.json").read_text())["global_step"] == 4
        resumed = LinearModel.load(member / "fusion").config
        assert (resumed.nfc, resumed.word_marks) == (False, False), member
        # its checkpoint keeps them for a later resume (one before its fusion/ is written)
        meta = json.loads((member / "last" / "model.json").read_text())
        assert meta["linear_started"] == {"nfc": False, "word_marks": False}, member
