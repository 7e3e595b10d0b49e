"""`fuse_linear`: a network and the TF-IDF linear model, weighted on the validation split."""

from __future__ import annotations

import json
import math
import re
import time

import numpy as np
import pytest

from finetune_helpers import make_dataset, score_rows, write_csv
from vecgraft.errors import CheckpointError, ConfigError
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.fusion import (
    FUSION_DIR,
    FUSION_META,
    as_eval_result,
    choose_weight,
    fit_pool,
    least_error_weight,
    log_pool,
    weight_errors,
)
from vecgraft.finetune.linear import LINEAR_META, LinearConfig
from vecgraft.finetune.predict import FusedPredictor, Predictor, load_run
from vecgraft.finetune.run import finetune


def test_the_weight_with_the_best_validation_accuracy_wins():
    # rows 0-1: only the network is right; rows 2-4: only the linear model is right,
    # but on rows 2-3 its margin is small, so a network share of 0.25 keeps them
    neural = np.array([[0.9, 0.1], [0.9, 0.1], [0.9, 0.1], [0.9, 0.1], [0.9, 0.1]])
    linear = np.array([[0.4, 0.6], [0.4, 0.6], [0.2, 0.8], [0.2, 0.8], [0.0, 1.0]])
    gold = [0, 0, 1, 1, 1]
    # w=0: 3/5; w=0.25: rows 0-1 0.525 (right), rows 2-3 0.375 (right), row 4 right: 5/5
    assert choose_weight(neural, linear, gold) == 0.25
    # all weights tie on a split both models get right: the equal mix is kept
    assert choose_weight(np.eye(2), np.eye(2), [0, 1]) == 0.5
    assert choose_weight(neural, linear, []) == 0.5


def test_a_log_linear_pool_is_the_normalised_weighted_product():
    neural = np.array([[0.5, 0.5], [0.9, 0.1]])
    linear = np.array([[0.8, 0.2], [0.4, 0.6]])
    np.testing.assert_allclose(log_pool(neural, linear, (1.0, 1.0)),
                               [[0.8, 0.2], [0.36 / 0.42, 0.06 / 0.42]], rtol=1e-6)
    np.testing.assert_allclose(log_pool(neural, linear, (0.0, 1.0)), linear, rtol=1e-6)
    np.testing.assert_allclose(log_pool(neural, linear, (2.0, 0.0)),
                               [[0.5, 0.5], [81 / 82, 1 / 82]], rtol=1e-6)
    assert log_pool(np.zeros((0, 2)), np.zeros((0, 2)), (1.0, 1.0)).shape == (0, 2)


def _nll(neural, linear, gold, pool):
    p = log_pool(neural, linear, pool).astype(np.float64)
    return -np.log(p[np.arange(len(gold)), gold]).mean()


def test_the_pool_is_the_least_log_loss_pair_of_weights():
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 3, 200)
    # a confident network that is right 70 % of the time, a flat linear model right 85 %
    net_pick = np.where(rng.random(200) < 0.7, gold, rng.integers(0, 3, 200))
    lin_pick = np.where(rng.random(200) < 0.85, gold, rng.integers(0, 3, 200))
    neural = np.full((200, 3), 0.02)
    neural[np.arange(200), net_pick] = 0.96
    linear = np.full((200, 3), 0.3)
    linear[np.arange(200), lin_pick] = 0.4
    a, b = fit_pool(neural, linear, gold)
    best = _nll(neural, linear, gold, (a, b))
    grid = [(x, y) for x in np.linspace(0, 3, 31) for y in np.linspace(0, 30, 61)]
    assert best <= min(_nll(neural, linear, gold, ab) for ab in grid) + 1e-6
    assert b > a > 0  # the flat but better linear model gets the larger factor
    # a model that is always right is sharpened (its factor grows until the loss is flat);
    # a uniform one carries no information, so its factor stays where the fit began
    sure = np.eye(3) * 0.8 + 0.2 / 3
    a, b = fit_pool(sure, np.full((3, 3), 1 / 3), [0, 1, 2])
    assert a > 5 and b == pytest.approx(1.0)
    assert fit_pool(neural[:0], linear[:0], []) == (1.0, 1.0)  # no rows: the plain product


def test_fused_results_count_like_the_trainer():
    proba = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]], dtype=np.float32)
    result = as_eval_result(proba, [0, 1, 1], 2)
    assert result.confusion.tolist() == [[1, 0], [1, 1]]
    assert result.accuracy == pytest.approx(2 / 3)
    assert result.loss == pytest.approx(-(math.log(0.8) + math.log(0.7) + math.log(0.4)) / 3)
    # every row certain and right: the loss is 0.0, not -0.0 (metrics.json said "loss": -0.0)
    sure = as_eval_result(np.eye(2, dtype=np.float32), [0, 1], 2)
    assert json.dumps(sure.loss) == "0.0" and f"{sure.loss:.4f}" == "0.0000"


def _config(data: dict, out, **overrides) -> FinetuneConfig:
    settings = {
        "train": str(data["train"]), "test": str(data["test"]), "vectors": str(data["vectors"]),
        "model": "boe", "epochs": 3, "lr": 0.05, "embedding_lr": 0.05, "out": str(out),
        "plots": False, "progress": False, "fuse_linear": True, **overrides,
    }  # fmt: skip
    return FinetuneConfig(**settings)


def test_a_fusion_above_max_rows_fits_a_sample_and_says_so(tmp_path, monkeypatch):
    # large training sets: the linear fits use a random max_rows of the rows (memory)
    from vecgraft.finetune import fusion

    def capped(tokenizer, regression=False, options=None):
        return LinearConfig.for_language(None, max_rows=30)

    monkeypatch.setattr(fusion, "linear_settings", capped)
    data = make_dataset(tmp_path / "data")
    lines: list[str] = []
    finetune(_config(data, tmp_path / "run"), log=lines.append)
    sizes = json.loads((tmp_path / "run" / "metrics.json").read_text())["sizes"]
    total = sizes["train"] + sizes["valid"]
    assert total > 30
    note = next(x for x in lines if x.startswith("Fitting the TF-IDF linear model"))
    assert note == (f"Fitting the TF-IDF linear model to fuse with: on a random 30 of the "
                    f"{total:,} rows (max_rows: its memory grows with the rows), their training "
                    f"texts first (judged on all {sizes['valid']:,} validation rows), then all "
                    "30")  # fmt: skip
    kept = load_run(tmp_path / "run")
    assert isinstance(kept, FusedPredictor)
    assert kept.fusion.linear.config.max_rows == 30


def _slow_linear_svm(monkeypatch, seconds: float) -> None:
    """Every LinearSVC fit `seconds` longer: a run's blocking fit of a large training set."""
    from sklearn.svm import LinearSVC

    fit = LinearSVC.fit

    def slow(self, *args, **kwargs):
        time.sleep(seconds)
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(LinearSVC, "fit", slow)


# the stage lines of a nested fit (the training texts first, then all): numbers as N
NESTED_FIT_STAGES = [
    "Linear fit: word n-grams of N texts: N terms (Ns)",
    "Linear fit: char n-grams of N texts: N terms (Ns)",
    "Fitting LinearSVC on N rows x N TF-IDF features (N classes)",
    "Linear fit: LinearSVC fitted on N rows (Ns)",
    "Fitting LinearSVC on N rows x N TF-IDF features (N classes)",
    "Linear fit: LinearSVC fitted on N rows (Ns)",
    "Linear fit: done in Ns",
]


@pytest.mark.parametrize("progress", [None, False])
def test_a_long_linear_fit_says_its_stages_in_the_runs_log(tmp_path, monkeypatch, progress):
    # 200k training texts: after the network's epochs (a line a minute), the fused linear
    # fit was 6.5 minutes without a line. Past FIT_NOTE_SECONDS (0 here) the run's log says
    # each stage; a heartbeat every HEARTBEAT_SECONDS as the fit blocks, unless --no-progress
    from vecgraft.finetune import linear

    monkeypatch.setattr(linear, "FIT_NOTE_SECONDS", 0.0)
    monkeypatch.setattr(linear, "HEARTBEAT_SECONDS", 0.02)
    _slow_linear_svm(monkeypatch, 0.2)
    data = make_dataset(tmp_path / "data")
    lines: list[str] = []
    finetune(_config(data, tmp_path / "run", progress=progress), log=lines.append)
    said = lines[lines.index(next(x for x in lines if x.startswith("Fitting the TF-IDF"))):]
    stages = [re.sub(r"[\d,]+", "N", x) for x in said
              if x.startswith(("Linear fit: ", "Fitting LinearSVC")) and " still " not in x]
    assert stages == NESTED_FIT_STAGES
    beats = [x for x in said if x.startswith("Linear fit: still fitting LinearSVC on ")]
    assert bool(beats) is (progress is None)
    # --model linear says them too, the matrix's size once (its note, said before)
    monkeypatch.setattr(linear, "HEARTBEAT_SECONDS", 600)
    lines.clear()
    finetune(_config(data, tmp_path / "linear", model="linear", fuse_linear=False),
             log=lines.append)  # fmt: skip
    stages = [re.sub(r"[\d,]+", "N", x) for x in lines
              if x.startswith(("Linear fit: ", "Fitting LinearSVC"))]
    assert stages == NESTED_FIT_STAGES


def test_a_fused_run_saves_both_models_and_reloads_to_the_same_predictions(tmp_path):
    data = make_dataset(tmp_path / "data")
    lines: list[str] = []
    finetune(_config(data, tmp_path / "run"), log=lines.append)
    run = tmp_path / "run"
    metrics = json.loads((run / "metrics.json").read_text())
    fusion = metrics["fusion"]
    assert fusion["weight"] in fusion["weights_tried"]
    assert metrics["test"]["accuracy"] == fusion["accuracy"]["test"]["fused"]
    assert set(fusion["accuracy"]["valid"]) == {"network", "linear", "fused"}
    said = "Fused with the TF-IDF linear model: network weight"
    assert any(line.startswith(said) for line in lines)
    # the linear fits are said before they start (minutes on large data, silent before)
    sizes = metrics["sizes"]
    note = (f"Fitting the TF-IDF linear model to fuse with: on the {sizes['train']:,} training "
            f"texts (judged on the {sizes['valid']:,} validation rows), then on all "
            f"{sizes['train'] + sizes['valid']:,}")
    assert lines.index(note) < next(i for i, x in enumerate(lines) if x.startswith(said))
    # a fit this short (under FIT_NOTE_SECONDS) says no stage, as before
    assert not [line for line in lines if line.startswith("Linear fit:")]
    test = fusion["accuracy"]["test"]
    summary = (f"Fused (network weight {fusion['weight']}; --no-fuse-linear for the network "
               f"alone): test accuracy fused {100 * test['fused']:.2f}%, network alone "
               f"{100 * test['network']:.2f}%, TF-IDF linear model alone "
               f"{100 * test['linear']:.2f}%")
    assert summary in lines  # the log and report.txt set the baseline beside the mix
    # report.txt opens with the log's closing lines: the score, the fusion, the majority class
    report = (run / "report.txt").read_text()
    test_line = next(x for x in lines if x.startswith("Test ("))
    majority = next(x for x in lines if x.startswith("Majority-class baseline"))
    assert report.startswith(f"{test_line}\n{summary}\n{majority}\n\n")
    assert (run / FUSION_DIR / LINEAR_META).is_file() and not (run / LINEAR_META).exists()
    saved = json.loads((run / FUSION_DIR / FUSION_META).read_text())
    assert saved["weight"] == fusion["weight"]

    predictor = load_run(run)
    assert isinstance(predictor, FusedPredictor)
    texts = ["alpha beta gamma", "delta epsilon zeta"]
    proba = predictor.predict_proba(texts).numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    w = fusion["weight"]
    network = predictor.network.predict_proba(texts).numpy()
    linear = predictor.fusion.linear.predict_proba(texts)
    order = [int(c) for c in predictor.fusion.linear.classes]
    expected = w * network
    expected[:, order] += (1 - w) * linear
    np.testing.assert_allclose(proba, expected, atol=1e-6)
    assert predictor.evaluate(data["test"]).accuracy == metrics["test"]["accuracy"]


def test_a_pooled_run_fits_its_weights_on_the_validation_rows_and_reloads_them(tmp_path):
    data = make_dataset(tmp_path / "data")
    lines: list[str] = []
    run = tmp_path / "run"
    # 12 validation rows: min_valid 10 lets the pool be fitted on them (the default needs 50)
    finetune(_config(data, run, min_valid=10), log=lines.append)
    metrics = json.loads((run / "metrics.json").read_text())
    fusion = metrics["fusion"]
    assert fusion["weight"] is None and fusion["weights_tried"] == []
    assert fusion["weight_rule"] == "fitted on 12 validation rows"
    pool = (fusion["pool"]["network"], fusion["pool"]["linear"])
    assert json.loads((run / FUSION_DIR / FUSION_META).read_text())["pool"] == list(pool)
    assert any(line.startswith("Fused with the TF-IDF linear model: log-linear pool (network x")
               for line in lines), lines
    predictor = load_run(run)
    texts = ["alpha beta gamma", "delta epsilon zeta", "eta theta"]
    network = predictor.network.predict_proba(texts).numpy()
    linear = np.zeros_like(network)
    linear[:, [int(c) for c in predictor.fusion.linear.classes]] = (
        predictor.fusion.linear.predict_proba(texts))
    np.testing.assert_allclose(predictor.predict_proba(texts).numpy(),
                               log_pool(network, linear, pool), atol=1e-6)
    assert predictor.evaluate(data["test"]).accuracy == metrics["test"]["accuracy"]
    # the same run with fuse_rule "mix" chooses a share instead, on the same rows
    finetune(_config(data, tmp_path / "mix", min_valid=10, fuse_rule="mix"),
             log=lambda _m: None)
    mixed = json.loads((tmp_path / "mix" / "metrics.json").read_text())["fusion"]
    assert "pool" not in mixed and mixed["weight"] in mixed["weights_tried"]


def test_an_unknown_fusion_rule_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="fuse_rule is 'pool' or 'mix'; got 'max'"):
        _config(make_dataset(tmp_path / "data"), tmp_path / "run", fuse_rule="max")


def test_overwriting_a_fused_run_without_fusion_removes_it(tmp_path):
    data = make_dataset(tmp_path / "data")
    run = tmp_path / "run"
    finetune(_config(data, run), log=lambda _m: None)
    finetune(_config(data, run, fuse_linear=False), overwrite=True, log=lambda _m: None)
    assert not (run / FUSION_DIR).exists()  # a stale linear model must not steer predictions
    assert "fusion" not in json.loads((run / "metrics.json").read_text())
    assert type(load_run(run)) is Predictor


def test_a_damaged_fusion_record_is_named(tmp_path):
    data = make_dataset(tmp_path / "data")
    run = tmp_path / "run"
    finetune(_config(data, run), log=lambda _m: None)
    damaged = [
        ('{"weight": 1.3, "num_classes": 2}', r"weight 1\.3 is not in \[0, 1\]"),
        ('{"num_classes": 2}', "not a fusion record"),
        ('{"pool": [1.0, -2.0], "num_classes": 3}', r"pool \[1\.0, -2\.0\] is not two weights"),
        ('{"pool": [1.0], "num_classes": 3}', "not a fusion record"),
    ]
    for record, message in damaged:  # named, never applied
        (run / FUSION_DIR / FUSION_META).write_text(record)
        with pytest.raises(CheckpointError, match=message):
            load_run(run)


def test_a_fused_run_predicts_fused_or_not_at_all_as_its_metrics_say(tmp_path):
    import shutil

    data = make_dataset(tmp_path / "data")
    fused, plain = tmp_path / "fused", tmp_path / "plain"
    finetune(_config(data, fused, fuse_rule="mix"), log=lambda _m: None)
    finetune(_config(data, plain, fuse_linear=False), log=lambda _m: None)
    copy = tmp_path / "copy"
    shutil.copytree(fused, copy)
    shutil.rmtree(copy / FUSION_DIR)  # copied without it: the network alone answered
    with pytest.raises(CheckpointError, match=f"{copy / FUSION_DIR}: missing, but the run was"):
        load_run(copy)
    # a fusion/ the run never wrote is not its model: ignored
    shutil.copytree(fused / FUSION_DIR, plain / FUSION_DIR)
    assert type(load_run(plain)) is Predictor
    # another fused run's fusion/ (its weight differs from the run's record) is refused
    shutil.copytree(fused / FUSION_DIR, copy / FUSION_DIR)
    meta = copy / FUSION_DIR / FUSION_META
    saved = json.loads(meta.read_text())
    saved["weight"] = 0.0 if saved["weight"] != 0.0 else 1.0
    meta.write_text(json.dumps(saved))
    with pytest.raises(CheckpointError, match="this fusion/ folder is another run's"):
        load_run(copy)
    # a run from before metrics.json recorded fusions, read at its last/: fused as before
    (copy / "metrics.json").unlink()
    assert isinstance(load_run(copy, checkpoint="last"), FusedPredictor)


def test_an_edited_fusion_record_is_named_not_a_traceback(tmp_path):
    data = make_dataset(tmp_path / "data")
    run = tmp_path / "run"
    finetune(_config(data, run), log=lambda _m: None)
    meta = run / FUSION_DIR / FUSION_META
    saved = json.loads(meta.read_text())
    edits = [
        ("[]", "not a fusion record .*expected a JSON object"),  # an AttributeError
        (json.dumps({**saved, "num_classes": 2}), r"num_classes 2 does not fit the classes"),
        (json.dumps({**saved, "num_classes": 5}), r"num_classes 5, but the network has 3"),
        (json.dumps({**saved, "num_classes": "3"}), r"num_classes '3' is not a class count"),
    ]
    for text, message in edits:
        meta.write_text(text)
        with pytest.raises(CheckpointError, match=f"{meta}: {message}"):
            load_run(run)


def test_a_fixed_weight_is_used_as_given_and_needs_no_validation_rows(tmp_path):
    data = make_dataset(tmp_path / "data")
    lines: list[str] = []
    run = tmp_path / "fixed"
    finetune(_config(data, run, fuse_weight=0.3), log=lines.append)
    fusion = json.loads((run / "metrics.json").read_text())["fusion"]
    assert fusion["weight"] == 0.3 and fusion["weight_rule"] == "fixed by fuse_weight"
    assert any("network weight 0.3, fixed by fuse_weight (validation accuracy" in line
               for line in lines)
    predictor = load_run(run)
    texts = ["alpha beta gamma", "delta epsilon zeta"]
    network = predictor.network.predict_proba(texts).numpy()
    linear = predictor.fusion.linear.predict_proba(texts)
    expected = 0.3 * network
    expected[:, [int(c) for c in predictor.fusion.linear.classes]] += 0.7 * linear
    np.testing.assert_allclose(predictor.predict_proba(texts).numpy(), expected, atol=1e-6)
    # without a validation split: fused all the same, test scores only
    run = tmp_path / "no_valid"
    finetune(_config(data, run, fuse_weight=0.5, valid_fraction=0.0, fuse_linear=None),
             log=lambda _m: None)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["valid"] is None and set(metrics["fusion"]["accuracy"]) == {"test"}
    assert metrics["test"]["accuracy"] == metrics["fusion"]["accuracy"]["test"]["fused"]


def test_a_fixed_pool_is_used_as_given_and_needs_no_validation_rows(tmp_path):
    data = make_dataset(tmp_path / "data")
    lines: list[str] = []
    run = tmp_path / "pool"
    finetune(_config(data, run, fuse_pool=[0.4, 2.5], valid_fraction=0.0, fuse_linear=None),
             log=lines.append)
    metrics = json.loads((run / "metrics.json").read_text())
    fusion = metrics["fusion"]
    assert fusion["pool"] == {"network": 0.4, "linear": 2.5} and fusion["weight"] is None
    assert fusion["weight_rule"] == "fixed by fuse_pool"
    assert any("log-linear pool (network x0.4, linear x2.5), fixed by fuse_pool" in line
               for line in lines), lines
    assert metrics["valid"] is None
    assert metrics["test"]["accuracy"] == fusion["accuracy"]["test"]["fused"]
    predictor = load_run(run)
    texts = ["alpha beta gamma", "delta epsilon zeta"]
    network = predictor.network.predict_proba(texts).numpy()
    linear = np.zeros_like(network)
    linear[:, [int(c) for c in predictor.fusion.linear.classes]] = (
        predictor.fusion.linear.predict_proba(texts))
    np.testing.assert_allclose(predictor.predict_proba(texts).numpy(),
                               log_pool(network, linear, (0.4, 2.5)), atol=1e-6)
    # the run's config.json keeps the pool, and reads back as the pair it was
    saved = FinetuneConfig.load(run / "config.json")
    assert saved.fuse_pool == (0.4, 2.5)


def test_a_fixed_pool_reads_from_a_flag_and_a_yaml_file(tmp_path):
    import yaml

    from vecgraft.cli import build_parser
    from vecgraft.cli.finetune import _config_and_run

    args = build_parser("finetune").parse_args(
        ["finetune", "--train", "t.csv", "--fuse-pool", "0.5", "1.25"])
    config, _ = _config_and_run(args)  # as `vecgraft finetune` does
    assert config.fuse_pool == (0.5, 1.25)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config.to_dict()))
    assert FinetuneConfig.load(path).fuse_pool == (0.5, 1.25)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"fuse_pool": [1.0, 60.0]}, r"two weights \(network, linear\) from 0 to 50; got"),
        ({"fuse_pool": [-1.0, 1.0]}, "from 0 to 50; got"),
        ({"fuse_pool": [1.0]}, r"two weights \(network, linear\), e.g."),
        ({"fuse_pool": "strong"}, r"two weights \(network, linear\), e.g."),
        ({"fuse_pool": [1.0, 1.0], "fuse_weight": 0.5}, "each fix the fusion; give one"),
        # softmax(0 + 0) is one answer for every text: 45 % where either model alone did better
        ({"fuse_pool": [0.0, 0.0]}, "of two zeros predicts the same for every text"),
        ({"fuse_pool": [1.0, 1.0], "fuse_linear": False}, "keeps the network alone"),
        ({"fuse_pool": [1.0, 1.0], "task": "regression"}, "a regression fuses by fuse_weight"),
        # the pool ran and the rule given was dropped without a word
        ({"fuse_pool": [1.0, 1.0], "fuse_rule": "mix"}, "fixes a log-linear pool; fuse_rule='mix'"),
        ({"fuse_pool": [1.0, 1.0], "model": "linear", "vectors": "random"},
         "fuse_pool: fusion needs an embedding model"),
    ],
)
def test_a_fixed_pool_is_two_weights_of_a_fused_classifier(overrides, message):
    with pytest.raises(ConfigError, match=message):
        FinetuneConfig(train="t.csv", **overrides)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"fuse_weight": 1.5}, "from 0 to 1; got 1.5"),
        ({"fuse_weight": -0.1}, "from 0 to 1; got -0.1"),
        ({"fuse_weight": 0.5, "fuse_linear": False}, "keeps the network alone"),
        ({"fuse_weight": 0.5, "model": "linear", "vectors": "random"},
         "fuse_weight: fusion needs an embedding model"),
    ],
)
def test_a_fixed_weight_is_a_share_of_a_fused_prediction(overrides, message):
    with pytest.raises(ConfigError, match=message):
        FinetuneConfig(train="t.csv", **overrides)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [  # each ran unfused: the rule asked for never applied, and nothing said so
        ({"fuse_linear": False}, "fuse_rule='mix' says how a fused prediction combines its two "
         "models; fuse_linear=False keeps the network alone"),
        ({"model": "linear", "vectors": "random"}, "fuse_rule mix: fusion needs an embedding"),
        ({"valid_fraction": 0.0}, "fuse_rule mix: fusion chooses its weight on a validation"),
    ],
)  # fmt: skip
def test_a_mix_rule_needs_a_run_that_fuses(overrides, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        FinetuneConfig(train="t.csv", fuse_rule="mix", **overrides)
    FinetuneConfig(train="t.csv", fuse_rule="mix", fuse_weight=0.5)  # a fixed share mixes


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"model": "linear", "vectors": "random"}, "needs an embedding model"),
        ({"valid_fraction": 0.0}, "chooses its weight on a validation split"),
    ],
)
def test_fusion_needs_an_embedding_network_and_validation_data(overrides, message):
    with pytest.raises(ConfigError, match=message):
        FinetuneConfig(train="t.csv", fuse_linear=True, **overrides)



def _fused(run) -> bool:
    return (run / FUSION_DIR).is_dir() and "fusion" in json.loads(
        (run / "metrics.json").read_text()
    )


def test_the_default_fuses_a_classifier_even_on_few_validation_rows(tmp_path):
    data = make_dataset(tmp_path / "data")
    lines: list[str] = []
    # 12 validation rows, fewer than min_valid (50): the weight is still chosen on them
    finetune(_config(data, tmp_path / "on", fuse_linear=None), log=lines.append)
    assert _fused(tmp_path / "on")
    assert isinstance(load_run(tmp_path / "on"), FusedPredictor)
    said = "Fused with the TF-IDF linear model: network weight"
    assert any(line.startswith(said) and ", chosen on 12 validation rows (" in line
               for line in lines), lines
    finetune(_config(data, tmp_path / "off", fuse_linear=False), log=lines.append)
    assert not (tmp_path / "off" / FUSION_DIR).exists()


def test_the_size_that_leaves_a_run_unfused_counts_labels_and_characters():
    from vecgraft.finetune.fusion import too_large_to_fuse

    short = ["a text of twenty chr"] * 1_680  # 33,600 characters
    # 210 labels of short texts fused (a label count alone, 200, left them unfused: 13 points)
    assert too_large_to_fuse(210, short, None) is None
    assert "6000 labels x 33,600 training characters" in too_large_to_fuse(6000, short, None)
    # two labels are one binary model: one coefficient row, whatever the size
    assert too_large_to_fuse(2, short * 300, None) is None
    # max_rows samples the rows the linear model fits on: counted in proportion
    assert "x 3,360 training characters" in too_large_to_fuse(60_000, short, 168)


def test_the_default_leaves_many_labels_unfused(tmp_path, monkeypatch):
    import vecgraft.finetune.fusion as fusion

    monkeypatch.setattr(fusion, "MAX_DEFAULT_LABEL_CHARS", 100)
    data = make_dataset(tmp_path / "data")
    lines: list[str] = []
    finetune(_config(data, tmp_path / "run", fuse_linear=None), log=lines.append)
    assert not _fused(tmp_path / "run")
    assert any(re.search(r"Not fused with the TF-IDF linear model: 3 labels x [\d,]+ training "
                         r"characters is more than 100 \(.*--fuse-linear fuses anyway\)", line)
               for line in lines), lines  # fmt: skip
    # nor did the log say why a run without validation rows was left unfused
    lines.clear()
    finetune(_config(data, tmp_path / "nv", fuse_linear=None, valid_fraction=0.0),
             log=lines.append)  # fmt: skip
    assert not _fused(tmp_path / "nv")
    assert ("Not fused with the TF-IDF linear model: fusion chooses its weight on a validation "
            "split (valid_fraction=0 leaves none;") in "\n".join(lines)
    # asked for explicitly, the label count does not stop it
    finetune(_config(data, tmp_path / "asked"), log=lines.append)
    assert _fused(tmp_path / "asked")


@pytest.mark.parametrize(
    "overrides",
    [{"model": "linear", "vectors": "random"}, {"valid_fraction": 0.0}],
)
def test_the_default_is_no_error_where_fusion_cannot_apply(overrides):
    config = FinetuneConfig(train="t.csv", **overrides)
    assert config.fuse_linear is None and config.fusion_blocker() is not None


def test_a_fused_predictor_exposes_the_networks_parts(tmp_path):
    data = make_dataset(tmp_path / "data")
    finetune(_config(data, tmp_path / "run"), log=lambda _m: None)
    predictor = load_run(tmp_path / "run")
    assert predictor.model is predictor.network.model
    assert predictor.vocab is predictor.network.vocab


def test_a_regression_weight_is_the_one_with_the_least_squared_error():
    neural = np.array([1.0, 2.0, 3.0])
    linear = np.array([3.0, 2.0, 1.0])
    gold = [1.5, 2.0, 2.5]  # the 0.75 mix: 1.5, 2.0, 2.5
    errors = weight_errors(neural, linear, gold)
    assert errors[0.75] == pytest.approx(0.0)
    assert errors[0.0] == pytest.approx((1.5**2 + 0 + 1.5**2) / 3)
    assert errors[1.0] == pytest.approx((0.5**2 + 0 + 0.5**2) / 3)
    assert least_error_weight(errors) == 0.75
    # equal errors at every weight: the equal mix is kept
    assert least_error_weight(weight_errors(neural, neural, gold)) == 0.5


def _regression_config(tmp_path, out, **overrides) -> FinetuneConfig:
    train = write_csv(tmp_path / "train.csv", score_rows(150, seed=1))
    test = write_csv(tmp_path / "test.csv", score_rows(31, seed=2))
    settings = {"train": str(train), "test": str(test), "task": "regression", "model": "boe",
                "epochs": 4, "lr": 0.02, "embedding_lr": 0.02, "out": str(out),
                "plots": False, "progress": False, **overrides}  # fmt: skip
    return FinetuneConfig(**settings)


def test_the_default_fuses_a_regression_with_ridge_and_reloads_to_the_same_numbers(tmp_path):
    lines: list[str] = []
    run = tmp_path / "run"
    finetune(_regression_config(tmp_path, run), log=lines.append)
    metrics = json.loads((run / "metrics.json").read_text())
    fusion = metrics["fusion"]
    assert fusion["weight"] in fusion["weights_tried"] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert set(fusion["rmse"]) == {"valid", "test"} and "accuracy" not in fusion
    assert metrics["test"]["rmse"] == pytest.approx(fusion["rmse"]["test"]["fused"])
    assert any("validation RMSE network" in line for line in lines), lines
    assert any(line.startswith("Fused (network weight") and "test RMSE fused" in line
               for line in lines), lines
    saved = json.loads((run / FUSION_DIR / LINEAR_META).read_text())
    assert saved["config"]["kind"] == "ridge"

    predictor = load_run(run)
    assert isinstance(predictor, FusedPredictor) and predictor.regression
    texts = ["wonderful great superb fun movie", "awful dull boring bad film"]
    w = fusion["weight"]
    network = np.array(predictor.network.predict_values(texts))
    ridge = predictor.fusion.linear.predict(texts)
    np.testing.assert_allclose(predictor.predict_values(texts), w * network + (1 - w) * ridge,
                               rtol=1e-5)  # fmt: skip
    report = predictor.evaluate(str(tmp_path / "test.csv"))
    assert report.scores["rmse"] == pytest.approx(metrics["test"]["rmse"], rel=1e-5)


def test_a_regression_with_a_fixed_weight_or_without_fusion(tmp_path):
    run = tmp_path / "fixed"
    finetune(_regression_config(tmp_path, run, fuse_weight=0.25), log=lambda _m: None)
    predictor = load_run(run)
    texts = ["great fun plot", "dull bad the"]
    network = np.array(predictor.network.predict_values(texts))
    expected = 0.25 * network + 0.75 * predictor.fusion.linear.predict(texts)
    np.testing.assert_allclose(predictor.predict_values(texts), expected, rtol=1e-5)
    run = tmp_path / "alone"
    finetune(_regression_config(tmp_path, run, fuse_linear=False), log=lambda _m: None)
    assert not (run / FUSION_DIR).exists() and type(load_run(run)) is Predictor


def test_a_fusion_folder_from_a_classifier_does_not_load_into_a_regression_run(tmp_path):
    import shutil

    reg = tmp_path / "reg"
    finetune(_regression_config(tmp_path, reg), log=lambda _m: None)
    data = make_dataset(tmp_path / "data")
    finetune(_config(data, tmp_path / "cls"), log=lambda _m: None)
    shutil.rmtree(reg / FUSION_DIR)
    shutil.copytree(tmp_path / "cls" / FUSION_DIR, reg / FUSION_DIR)
    with pytest.raises(CheckpointError, match="does not fit a regression network"):
        load_run(reg)


def test_a_linear_run_counts_each_text_once_for_its_two_fits(tmp_path, monkeypatch):
    # --model linear fits on train (scored on valid), then on train + valid: one n-gram
    # count of train + valid serves both (it counted the training texts twice), and the
    # kept model is the one a separate fit gives
    from sklearn.feature_extraction.text import CountVectorizer

    from vecgraft.finetune.linear import LinearModel
    from vecgraft.finetune.linear_recipe import LinearRecipe

    data = make_dataset(tmp_path / "data")
    config = _config(data, tmp_path / "run", model="linear", vectors="random", fuse_linear=None)
    recipe = LinearRecipe(config, write_files=False, log=lambda _m: None)
    recipe.setup_data()
    recipe.setup_model()
    analysed: list[str] = []
    build = CountVectorizer.build_analyzer

    def counted(self):
        analyse = build(self)
        return lambda doc: analysed.append(doc) or analyse(doc)

    monkeypatch.setattr(CountVectorizer, "build_analyzer", counted)
    recipe.train()
    monkeypatch.undo()
    train, valid = recipe.splits.train.texts, recipe.splits.valid.texts
    assert len(valid) and len(recipe.linear.vectorizers) == 2
    # each vectorizer reads train + valid once to fit, and valid once to score it
    assert len(analysed) == 2 * (len(train) + len(valid)) + 2 * len(valid)
    alone = LinearModel(recipe.linear_settings).fit(
        [*train, *valid], [*recipe.splits.train.labels, *recipe.splits.valid.labels]
    )
    np.testing.assert_array_equal(recipe.linear.coef, alone.coef)
    assert recipe.linear.classes == alone.classes


def test_a_linear_run_above_max_rows_fits_samples_and_says_so(tmp_path):
    # --model linear --model-option max_rows=N: each fit on a random N rows; null: all rows
    data = make_dataset(tmp_path / "data")
    lines: list[str] = []
    config = _config(data, tmp_path / "run", model="linear", vectors="random",
                     fuse_linear=None, model_options={"max_rows": 20})  # fmt: skip
    finetune(config, log=lines.append)
    assert ("A fit on more than 20 rows uses a random 20 of them (max_rows: the fit's memory "
            "grows with the rows; --model-option max_rows=null fits on all)") in lines  # fmt: skip
    assert json.loads((tmp_path / "run" / LINEAR_META).read_text())["config"]["max_rows"] == 20
    lines.clear()
    config = _config(data, tmp_path / "all", model="linear", vectors="random",
                     fuse_linear=None, model_options={"max_rows": None})  # fmt: skip
    finetune(config, log=lines.append)
    assert not any(line.startswith("A fit on more than") for line in lines)


def test_every_predictor_takes_any_iterable_of_texts_and_refuses_one_string(tmp_path):
    # one string was read as a list of characters (a label per character, no error), and a
    # generator was used up by the network, leaving the fused linear model nothing
    from vecgraft.errors import DataError
    from vecgraft.finetune.predict import load_run

    data = make_dataset(tmp_path / "data")
    texts = ["goal team match", "oven pasta recipe", "vote minister party"]
    for name, overrides in (("fused", {}), ("linear", {"model": "linear", "fuse_linear": None})):
        finetune(_config(data, tmp_path / name, **overrides), log=lambda _m: None)
        predictor = load_run(tmp_path / name)
        assert type(predictor).__name__ == ("FusedPredictor" if name == "fused"
                                            else "LinearPredictor")  # fmt: skip
        expected = predictor.predict(texts)
        assert predictor.predict(t for t in texts) == expected
        assert predictor.predict(tuple(texts)) == expected
        assert predictor.predict_proba(iter(texts)).shape == (3, len(predictor.labels))
        with pytest.raises(DataError, match="got one string: wrap it"):
            predictor.predict("goal team match")
        with pytest.raises(DataError, match=r"texts\[1\] is a float"):
            predictor.predict(["goal team", float("nan")])
        # None was Python's own "'NoneType' object is not iterable"
        for bad, said in ((None, "NoneType None"), (5, "int 5")):
            for method in (predictor.predict, predictor.predict_proba):
                with pytest.raises(DataError) as caught:
                    method(bad)
                assert str(caught.value) == f"texts must be a list of strings, got {said}"


def _zh_data(tmp_path, vectors: str = "random") -> dict:
    """Chinese reviews (with an iPhone) in train.csv, the first six again in test.csv."""
    good = ["酒店很好", "房间干净", "服务很好", "iPhone很好"]
    bad = ["酒店太差", "房间很脏", "服务很差"]
    rows = [(a + "，" + b, label) for label, part in (("正面", good), ("负面", bad))
            for a in part for b in part]  # fmt: skip
    return {"train": write_csv(tmp_path / "train.csv", rows),
            "test": write_csv(tmp_path / "test.csv", rows[:6]), "vectors": vectors}  # fmt: skip


WIDE, HALF = "ｉＰｈｏｎｅ很好", "iPhone很好"


def test_the_fused_linear_half_normalises_texts_as_the_networks_tokenizer(tmp_path):
    # --halfwidth: the network read ｉＰｈｏｎｅ as iPhone, its fused linear half did not
    from vecgraft.finetune.fusion import linear_settings
    from vecgraft.text.tokenize import Tokenizer

    assert linear_settings(Tokenizer("jieba").config).normalization == {}  # as before
    both = Tokenizer("jieba", halfwidth=True, simplified=True, nfkc=True, digits="#").config
    assert linear_settings(both).normalization == {
        "nfkc": True, "digits": "#", "halfwidth": True, "simplified": True}  # fmt: skip
    data = _zh_data(tmp_path)
    config = _config(data, tmp_path / "run", tokenizer="jieba", halfwidth=True,
                     valid_fraction=0.3, dedupe=False)  # fmt: skip
    finetune(config, log=lambda _m: None)
    meta = json.loads((tmp_path / "run" / "fusion" / LINEAR_META).read_text(encoding="utf-8"))
    assert meta["config"]["normalization"] == {"halfwidth": True}
    run = load_run(tmp_path / "run")
    assert isinstance(run, FusedPredictor)
    np.testing.assert_array_equal(run.predict_proba([WIDE]).numpy(),
                                  run.predict_proba([HALF]).numpy())  # fmt: skip


def test_a_linear_run_normalises_as_its_flags_say_and_names_the_flags_it_ignores(tmp_path):
    data = _zh_data(tmp_path)
    stop = tmp_path / "stop.txt"
    stop.write_text("很\n", encoding="utf-8")
    lines: list[str] = []
    config = _config(data, tmp_path / "run", model="linear", tokenizer="jieba", halfwidth=True,
                     stopwords=str(stop), min_freq=2, fuse_linear=None, dedupe=False)  # fmt: skip
    finetune(config, log=lines.append)
    assert ("The linear model builds its own vocabulary of word and character n-grams: "
            "--stopwords and --min-freq, the network vocabulary's settings, are not applied "
            "to it") in lines  # fmt: skip
    run = load_run(tmp_path / "run")
    np.testing.assert_array_equal(run.predict_proba([WIDE]).numpy(),
                                  run.predict_proba([HALF]).numpy())  # fmt: skip
    lines.clear()
    finetune(config.replace(out=str(tmp_path / "plain"), stopwords=None, min_freq=1),
             log=lines.append)  # fmt: skip
    assert not any("builds its own vocabulary" in line for line in lines)


def test_a_linear_run_takes_its_tokenizer_from_the_vectors_metadata(tmp_path):
    # --model linear --vectors zh/ segmented with the regex rule, where compare's linear row
    # (and every network family) took the vectors' jieba and their normalisation
    folder = tmp_path / "w2v"
    folder.mkdir()
    (folder / "vectors.txt").write_text("2 2\n酒店 0 1\n很好 1 0\n", encoding="utf-8")
    meta = {"tokenizer": {"kind": "jieba", "lower": False, "halfwidth": True}}
    (folder / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    data = _zh_data(tmp_path, str(folder))
    lines: list[str] = []
    config = _config(data, tmp_path / "run", model="linear", fuse_linear=None, dedupe=False)
    finetune(config, log=lines.append)
    assert any(line.startswith("Tokenizer: jieba (from the vectors' metadata.json")
               for line in lines)  # fmt: skip
    saved = json.loads((tmp_path / "run" / LINEAR_META).read_text(encoding="utf-8"))["config"]
    assert saved["tokenizer"] == "jieba" and saved["normalization"] == {"halfwidth": True}
    assert {"酒店", "酒店 太"} <= saved_terms(tmp_path / "run")  # jieba's words and bigrams
    # a --tokenizer given still wins, as for the network families
    finetune(config.replace(out=str(tmp_path / "regex"), tokenizer="regex"), log=lambda _m: None)
    saved = json.loads((tmp_path / "regex" / LINEAR_META).read_text(encoding="utf-8"))["config"]
    assert saved["tokenizer"] is None and saved["normalization"] == {}


def saved_terms(run) -> set[str]:
    return set(json.loads((run / LINEAR_META).read_text(encoding="utf-8"))["vocabularies"]["word"])


def test_the_linear_settings_of_a_tokenizer_are_pinned_and_linear_runs_share_them(tmp_path):
    # the fused half (`linear_settings`) and `--model linear` (`linear_config`) held one
    # mapping twice; it is pinned here, and the two must agree with no --model-option
    from vecgraft.finetune.fusion import linear_config, linear_settings
    from vecgraft.text.tokenize import Tokenizer

    words = tmp_path / "dict.txt"
    words.write_text("酒店 5\n", encoding="utf-8")
    jieba = Tokenizer("jieba", user_dict=str(words), hmm=False, halfwidth=True).config
    zh = {"tokenizer": "jieba", "char_ngrams": (1, 3), "char_analyzer": "char"}
    char = LinearConfig(tokenizer="char", word_ngrams=None, char_ngrams=(1, 3),
                        char_analyzer="char")  # fmt: skip
    expected = {None: LinearConfig(), "regex": LinearConfig(), "char": char,
                "jieba": LinearConfig(**zh)}  # fmt: skip
    for tokenizer, want in expected.items():
        assert linear_settings(tokenizer) == want
        assert linear_settings(tokenizer, regression=True) == LinearConfig(
            **{**want.__dict__, "kind": "ridge"})  # fmt: skip
    segmentation = {"user_dict": str(words), "hmm": False, "user_dict_normalized": True}
    want = LinearConfig(**zh, segmentation=segmentation,
                        normalization={"halfwidth": True})  # fmt: skip
    assert linear_settings(jieba) == want
    for config in (jieba, Tokenizer("char", simplified=True).config, {"kind": "regex"}):
        for regression in (False, True):
            options = {"kind": "ridge"} if regression else {}
            assert linear_config(config, options) == linear_settings(config, regression)


def test_a_runs_plots_say_the_test_split_and_which_model_they_show(tmp_path, monkeypatch):
    # the confusion title read "accuracy 0.770, macro F1 0.785" (of which split and model?)
    # and history.png, the network's curves alone, had no title in a fused run
    from vecgraft.finetune import plots

    titles: dict[str, list[str | None]] = {"confusion": [], "history": []}
    monkeypatch.setattr(plots, "save_png", lambda fig, path: path)
    real_confusion, real_history = plots.plot_confusion, plots.plot_history

    def confusion(metrics, path, **kwargs):
        titles["confusion"].append(kwargs.get("title"))
        return real_confusion(metrics, path, **kwargs)

    def history(rows, path, **kwargs):
        titles["history"].append(kwargs.get("title"))
        return real_history(rows, path, **kwargs)

    monkeypatch.setattr(plots, "plot_confusion", confusion)
    monkeypatch.setattr(plots, "plot_history", history)
    data = make_dataset(tmp_path / "data")
    for fused in (True, False):
        run = tmp_path / f"run{fused}"
        finetune(_config(data, run, plots=True, fuse_linear=fused), log=lambda _m: None)
        test = json.loads((run / "metrics.json").read_text())["test"]
        scores = f"accuracy {test['accuracy']:.3f}, macro F1 {test['macro_f1']:.3f}"
        model = "boe fused with the TF-IDF linear model" if fused else "boe network"
        assert titles["confusion"][-1] == f"test: {scores}\n{model}"
        assert titles["history"][-1] == (
            "boe network alone (before fusion with the TF-IDF linear model)" if fused
            else "boe network"
        )  # fmt: skip
