"""`class_weight`: imbalanced labels weigh each class alike in every part of a run."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from vecgraft.cli import main
from vecgraft.errors import ConfigError, DataError
from vecgraft.finetune import fusion as fu
from vecgraft.finetune.batching import EncodedData
from vecgraft.finetune.class_weight import (
    check_class_weight,
    class_weight_vector,
    describe_class_weights,
    sklearn_class_weight,
)
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.linear import LinearConfig, LinearModel
from vecgraft.finetune.run import finetune
from vecgraft.finetune.train import Trainer, batch_losses

WORDS = ["alpha", "beta", "gamma", "delta", "eps"]


def imbalanced_rows(common: int, rare: int, seed: int) -> list[tuple[str, str]]:
    """(text, label): 'cue' is in every rare text and in 3 of 10 common ones.

    P(rare | cue) is about 0.15, so a model fitting unweighted texts says "common" for
    every text, while balanced weights (rare 20x common) tip the cue texts to "rare".
    """
    rng = random.Random(seed)
    rows = []
    for i in range(common):
        words = rng.choices(WORDS, k=4) + (["cue"] if i % 10 < 3 else [])
        rng.shuffle(words)
        rows.append((" ".join(words), "common"))
    for _ in range(rare):
        words = [*rng.choices(WORDS, k=4), "cue"]
        rng.shuffle(words)
        rows.append((" ".join(words), "rare"))
    rng.shuffle(rows)
    return rows


def write_rows(path: Path, rows: list[tuple[str, str]]) -> str:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return str(path)


@pytest.fixture(scope="module")
def skewed(tmp_path_factory) -> dict[str, str]:
    """95/5 training and test files."""
    root = tmp_path_factory.mktemp("skewed")
    return {
        "train": write_rows(root / "train.csv", imbalanced_rows(190, 10, 0)),
        "test": write_rows(root / "test.csv", imbalanced_rows(95, 5, 1)),
    }


def quick(**fields) -> FinetuneConfig:
    settings = {"model": "boe", "epochs": 5, "batch_size": 16, "lr": 0.05, "ensemble": 1,
                "fuse_linear": False, "progress": False, "plots": False, **fields}  # fmt: skip
    return FinetuneConfig(**settings)


# -- the weights ----------------------------------------------------------------------------
def test_balanced_weights_are_scikit_learns():
    from sklearn.utils.class_weight import compute_class_weight

    labels = ["a", "b", "c"]
    targets = [0] * 50 + [1] * 7 + [2] * 3
    y = np.asarray([labels[t] for t in targets])
    expected = compute_class_weight("balanced", classes=np.asarray(labels), y=y)
    assert class_weight_vector("balanced", labels, targets) == pytest.approx(expected.tolist())
    assert class_weight_vector(None, labels, targets) is None


def test_a_mapping_gives_weights_by_hand_and_a_label_it_misses_weighs_one():
    assert class_weight_vector({"c": 4.0}, ["a", "b", "c"], [0, 1, 2]) == [1.0, 1.0, 4.0]
    from vecgraft.finetune.class_weight import check_mapping_labels, unused_mapping_labels

    # a label this training part lacks is unused; the training file's check refuses a label
    # the whole training data lacks
    assert class_weight_vector({"x": 2.0, "b": 3.0}, ["a", "b"], [0, 1]) == [1.0, 3.0]
    with pytest.raises(DataError, match=r"names label\(s\) \['x'\] the training data t.csv"):
        check_mapping_labels({"x": 2.0}, ["a", "b", "a"], "t.csv")
    check_mapping_labels({"b": 2.0}, ["a", "b"], "t.csv")
    assert unused_mapping_labels({"c": 2.0}, ["a", "b"]) == (
        "class_weight: label(s) ['c'] not in this training part: unused here"
    )
    # the fused linear half names its classes by label id
    assert sklearn_class_weight({"b": 3.0}, ["a", "b"], ["0", "1"]) == {"0": 1.0, "1": 3.0}
    assert sklearn_class_weight("balanced", ["a", "b"], ["0", "1"]) == "balanced"


def test_mapping_keys_are_read_as_the_data_files_labels_are():
    # YAML gives `1.0:` a float, `true:` a bool, and a macOS key may be decomposed (NFD):
    # each names the label a data file's "1", "true", "é" is read as
    assert check_class_weight({1.0: 3, "e\u0301": 4, " pos ": 5}) == {
        "1": 3.0, "\u00e9": 4.0, "pos": 5.0,
    }  # fmt: skip
    assert check_class_weight({True: 2, "-3.00": 1.5}) == {"true": 2.0, "-3": 1.5}
    with pytest.raises(ConfigError, match="class_weight names label '1' twice"):
        check_class_weight({1: 2.0, "1.0": 3.0})


def test_numpy_weights_are_taken_as_python_numbers_and_a_bool_is_refused():
    # a weight computed with numpy was refused ("label 'a' has np.float32(2.0)")
    weights = check_class_weight({"a": np.float32(0.03), "b": np.int64(2)})
    assert [(type(w), w) for w in weights.values()] == [(float, 0.03), (float, 2.0)]
    for weight in (True, np.bool_(True)):
        with pytest.raises(ConfigError, match="label 'a' has "):
            check_class_weight({"a": weight})


def test_a_label_the_training_file_lacks_is_refused_as_it_is_read(skewed, tmp_path):
    config = quick(train=skewed["train"], test=skewed["test"], out=str(tmp_path / "x"),
                   class_weight={"rar": 20})  # fmt: skip
    with pytest.raises(DataError, match=r"names label\(s\) \['rar'\] the training data .*"
                                        r"train.csv lacks; did you mean 'rare' for 'rar'\?; "
                                        r"its labels: 'common', 'rare'"):
        finetune(config, log=lambda _m: None)


def test_a_class_a_training_part_lacks_is_unused_there_not_refused(skewed):
    # a tune fold (or a subsampled split) whose training part lacks a class the mapping
    # names: the trial trains, weighing the rest; it raised DataError and killed the trial
    from vecgraft.evaluate._tune_data import splits_recipe
    from vecgraft.finetune.prepare import Splits, read_config_data

    config = quick(epochs=1, class_weight={"rare": 20.0, "common": 2.0})
    data = read_config_data(skewed["train"], config)[0]
    common = data.select([i for i, y in enumerate(data.labels) if y == "common"])
    rows = list(range(len(common)))
    halves = [common.select(rows[:150]), common.select(rows[150:])]
    others = data.select([0])  # a second label, so that there are two classes
    lines: list[str] = []
    train = _with_label(halves[0], "other", others)
    valid = _with_label(halves[1], "other", others)
    recipe = splits_recipe(config, Splits(train, valid, valid, {}), write_files=False,
                           log=lines.append)  # fmt: skip
    assert 0.0 <= recipe.score() <= 1.0
    assert recipe.class_weights == [2.0, 1.0]
    assert "class_weight: label(s) ['rare'] not in this training part: unused here" in lines


def _with_label(part, label: str, extra):
    """`part` plus `extra`'s rows relabelled `label` (in memory)."""
    from vecgraft.finetune.splits import concat_data

    relabelled = extra.select(list(range(len(extra))))
    relabelled.labels = [label] * len(relabelled)
    return concat_data([part, relabelled])


def test_the_log_line_names_each_label_and_its_weight():
    weights = class_weight_vector("balanced", ["common", "rare"], [0] * 98 + [1] * 2)
    assert describe_class_weights("balanced", ["common", "rare"], weights) == (
        "class weights (balanced): common 0.51, rare 25.0"
    )


# -- the network's loss -----------------------------------------------------------------------
def test_the_weighted_loss_is_each_texts_cross_entropy_times_its_class_weight():
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [-0.5, 1.5, 0.0]])
    labels = torch.tensor([0, 2, 1])
    weight = torch.tensor([0.5, 2.0, 4.0])
    log_p = torch.log_softmax(logits, dim=1)
    by_hand = torch.stack([-weight[y] * log_p[i, y] for i, y in enumerate(labels.tolist())])
    got = batch_losses(logits, labels, regression=False, weight=weight)
    assert torch.allclose(got, by_hand)


def test_label_smoothing_with_weights_keeps_a_common_texts_best_guess_common():
    # a "common" text (label 0) under balanced 95/5 weights and smoothing 0.1: its loss is
    # least at p(common) = 0.95, the smoothed target, whatever the weights; PyTorch's
    # `weight=` weighed the rare class's smoothing share by 10 and put the least near 0.5
    weight = torch.tensor([0.526, 10.0])
    gaps = torch.linspace(-6.0, 6.0, 1201)
    logits = torch.stack([gaps, torch.zeros_like(gaps)], dim=1)
    labels = torch.zeros(len(gaps), dtype=torch.long)
    losses = batch_losses(logits, labels, regression=False, label_smoothing=0.1, weight=weight)
    best = torch.softmax(logits[int(losses.argmin())], dim=0)[0]
    assert float(best) == pytest.approx(0.95, abs=2e-3)
    plain = batch_losses(logits, labels, regression=False, label_smoothing=0.1)
    assert torch.allclose(losses, plain * weight[0])


class TinyBoE(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(12, 4, padding_idx=0)
        self.fc = nn.Linear(4, 2)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.fc(self.embedding(ids).sum(1) / lengths.unsqueeze(1))


def _hand_step(start: dict, data: EncodedData, weights: list[float]) -> dict:
    """The weights after one SGD step (lr 0.1) on sum(w[y] * CE) / batch size."""
    hand = TinyBoE()
    hand.load_state_dict(start)
    ids, lengths, labels = data.batch(list(range(len(data))))
    log_p = torch.log_softmax(hand(ids, lengths), dim=1)
    w = torch.tensor(weights)[labels]
    (-(w * log_p[torch.arange(len(labels)), labels]).sum() / len(labels)).backward()
    with torch.no_grad():
        for p in hand.parameters():
            p -= 0.1 * p.grad
    return hand.state_dict()


def test_the_trainer_steps_on_the_weighted_cross_entropy():
    # one SGD step of the trainer equals one by hand on sum(w[y] * CE) / batch size
    torch.manual_seed(0)
    model = TinyBoE()
    start = {k: v.clone() for k, v in model.state_dict().items()}
    data = EncodedData([[1, 2], [3, 4, 5], [6], [7, 8]], [0, 0, 0, 1], pad_index=0)
    config = FinetuneConfig(
        epochs=1, batch_size=4, optimizer="sgd", momentum=0.0, lr=0.1, embedding_lr=0.1,
        weight_decay=0.0, warmup=0, schedule="constant", grad_clip=0, ema_epochs=0,
        bucket=False, progress=False, max_steps=1, bf16=False,
    )  # fmt: skip
    weights = [0.5, 3.0]
    Trainer(model, config, data, None, num_classes=2, device=torch.device("cpu"),
            log=lambda _m: None, class_weights=weights).fit()  # fmt: skip
    weighted, plain = _hand_step(start, data, weights), _hand_step(start, data, [1.0, 1.0])
    for name, value in weighted.items():
        assert torch.allclose(model.state_dict()[name], value, atol=1e-6), name
    assert not torch.allclose(model.state_dict()["fc.bias"], plain["fc.bias"], atol=1e-3)


def test_the_run_hands_the_training_parts_weights_to_the_trainer(skewed, tmp_path, monkeypatch):
    from finetune_helpers import loss_weights

    seen = loss_weights(monkeypatch)
    lines: list[str] = []
    finetune(quick(train=skewed["train"], test=skewed["test"], out=str(tmp_path / "r"),
                   class_weight="balanced", max_steps=1), log=lines.append)  # fmt: skip
    # 200 rows less the 10 % validation carve: 171 common, 9 rare (stratified)
    assert seen and seen[0] is not None and seen[0].device.type == "cpu"
    assert seen[0].tolist() == pytest.approx([180 / (2 * 171), 180 / (2 * 9)])
    assert "class weights (balanced): common 0.526, rare 10.0" in lines
    saved = json.loads((tmp_path / "r" / "config.json").read_text())
    assert saved["class_weight"] == "balanced"


# -- the linear model -------------------------------------------------------------------------
def test_the_linear_model_is_scikit_learns_balanced_svm():
    from sklearn.svm import LinearSVC

    rows = imbalanced_rows(60, 6, 3)
    texts, labels = [t for t, _ in rows], [y for _, y in rows]
    model = LinearModel(LinearConfig(class_weight="balanced")).fit(texts, labels)
    reference = LinearSVC(C=0.5, class_weight="balanced", random_state=0)
    reference.fit(model.features(texts), labels)
    assert np.allclose(model.coef, reference.coef_, atol=1e-6)
    plain = LinearModel(LinearConfig()).fit(texts, labels)
    assert not np.allclose(plain.coef, model.coef, atol=1e-3)
    with pytest.raises(ConfigError, match="ridge regression has none"):
        LinearConfig(kind="ridge", class_weight="balanced")


def test_a_mapping_weighs_each_row_as_scikit_learns_class_weight_would():
    from sklearn.svm import LinearSVC

    rows = imbalanced_rows(60, 6, 3)
    texts, labels = [t for t, _ in rows], [y for _, y in rows]
    model = LinearModel(LinearConfig(class_weight={"common": 1.0, "rare": 8.0})).fit(texts, labels)
    reference = LinearSVC(C=0.5, class_weight={"common": 1.0, "rare": 8.0}, random_state=0)
    reference.fit(model.features(texts), labels)
    assert np.allclose(model.coef, reference.coef_, atol=1e-5)
    # classes that read as numbers ("0", "1": the fused half's label ids, number labels):
    # scikit-learn looked {"1": 8.0} up as int 1 and raised "classes ... not in class_weight"
    ids = ["1" if y == "rare" else "0" for y in labels]
    by_id = LinearModel(LinearConfig(class_weight={"0": 1.0, "1": 8.0})).fit(texts, ids)
    assert np.allclose(by_id.coef, model.coef, atol=1e-6)


def test_a_default_linear_json_has_no_class_weight(tmp_path):
    # the release before class_weight loads a default model (LinearConfig(class_weight=None)
    # was a TypeError there); a file without the key loads as unweighted
    rows = imbalanced_rows(30, 6, 4)
    texts, labels = [t for t, _ in rows], [y for _, y in rows]
    LinearModel(LinearConfig()).fit(texts, labels).save(tmp_path / "plain")
    assert "class_weight" not in json.loads((tmp_path / "plain" / "linear.json").read_text())[
        "config"
    ]
    assert LinearModel.load(tmp_path / "plain").config.class_weight is None
    LinearModel(LinearConfig(class_weight="balanced")).fit(texts, labels).save(tmp_path / "b")
    saved = json.loads((tmp_path / "b" / "linear.json").read_text())["config"]
    assert saved["class_weight"] == "balanced"
    assert LinearModel.load(tmp_path / "b").config.class_weight == "balanced"


def test_a_fused_swem_run_and_a_linear_run_on_number_labels_take_a_mapping(skewed, tmp_path):
    # the fused linear half fits on label ids "0", "1": a mapping crashed every fused run
    # (the default for word-vector models), and `--model linear` on number labels
    numbered = tmp_path / "numbered"
    numbered.mkdir()
    paths = {}
    for part in ("train", "test"):
        with open(skewed[part], encoding="utf-8") as fh:
            rows = [(r["text"], "1" if r["label"] == "rare" else "0") for r in csv.DictReader(fh)]
        paths[part] = write_rows(numbered / f"{part}.csv", rows)
    fused = finetune(quick(train=paths["train"], test=paths["test"], model="swem", epochs=1,
                           fuse_linear=True, out=str(tmp_path / "f"), class_weight={1: 20}),
                     log=lambda _m: None)  # fmt: skip
    assert fused.metrics["test"]["accuracy"] > 0
    linear = finetune(quick(train=paths["train"], test=paths["test"], model="linear",
                            out=str(tmp_path / "l"), class_weight={1: 20}),
                      log=lambda _m: None)  # fmt: skip
    assert _rare_predicted(linear.metrics) >= 1
    saved = json.loads((tmp_path / "l" / "linear.json").read_text())
    assert saved["config"]["class_weight"] == {"0": 1.0, "1": 20.0}


# -- the fusion -------------------------------------------------------------------------------
def test_a_weighted_pool_fits_as_if_each_row_were_repeated_by_its_weight():
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 2, 80).tolist()
    neural = rng.dirichlet([1, 1], 80).astype(np.float32)
    linear = rng.dirichlet([1, 1], 80).astype(np.float32)
    neural[np.arange(80), gold] += 0.3
    neural /= neural.sum(axis=1, keepdims=True)
    weighted = fu.fit_pool(neural, linear, gold, [1.0, 3.0])
    repeat = np.asarray([3 if y else 1 for y in gold])
    copied = fu.fit_pool(np.repeat(neural, repeat, axis=0), np.repeat(linear, repeat, axis=0),
                         np.repeat(gold, repeat).tolist())  # fmt: skip
    assert weighted == pytest.approx(copied, abs=1e-4)
    assert weighted != pytest.approx(fu.fit_pool(neural, linear, gold), abs=1e-3)
    assert fu.accuracy(np.asarray([[0.9, 0.1]] * 4), [0, 0, 0, 1], [1.0, 3.0]) == 0.5


# -- whole runs on 95/5 data ------------------------------------------------------------------
def _rare_predicted(metrics: dict) -> int:
    """Test texts predicted 'rare' (the confusion matrix's second column)."""
    return sum(row[1] for row in metrics["test"]["confusion"])


@pytest.mark.parametrize("model", ["boe", "linear"])
def test_balanced_weights_predict_the_rare_class_where_plain_ones_never_do(
    skewed, tmp_path, model
):
    runs = {}
    for weight in (None, "balanced"):
        config = quick(train=skewed["train"], test=skewed["test"], model=model,
                       out=str(tmp_path / str(weight)), class_weight=weight)  # fmt: skip
        runs[weight] = finetune(config, log=lambda _m: None).metrics
    assert _rare_predicted(runs[None]) == 0
    assert _rare_predicted(runs["balanced"]) >= 1
    assert runs["balanced"]["test"]["macro_f1"] > runs[None]["test"]["macro_f1"]


def test_a_fused_run_weighs_its_linear_half_and_its_choice(skewed, tmp_path):
    lines: list[str] = []
    result = finetune(quick(train=skewed["train"], test=skewed["test"], fuse_linear=True,
                            out=str(tmp_path / "f"), class_weight="balanced"),
                      log=lines.append)  # fmt: skip
    assert any("weighted by class_weight" in line for line in lines if line.startswith("Fused"))
    assert _rare_predicted(result.metrics) >= 1
    # the saved linear half was fitted balanced, and predict reads the run
    from vecgraft.finetune.predict import load_run

    predictor = load_run(tmp_path / "f")
    assert predictor.fusion.linear.config.class_weight == "balanced"
    with open(skewed["test"], encoding="utf-8") as fh:
        texts = [row["text"] for row in csv.DictReader(fh)]
    assert "rare" in predictor.predict(texts)


def test_a_macro_f1_run_says_the_fusions_and_the_majoritys_macro_f1(skewed, tmp_path):
    # with --metric macro_f1 the fusion and majority lines gave accuracy alone: the linear
    # model's 95% read as better, though it only ever said 'common' (macro F1 0.4872)
    lines: list[str] = []
    result = finetune(quick(train=skewed["train"], test=skewed["test"], fuse_linear=True,
                            out=str(tmp_path / "f"), class_weight="balanced", epochs=1,
                            metric="macro_f1"), log=lines.append)  # fmt: skip
    metrics = result.metrics
    f1 = metrics["fusion"]["macro_f1"]
    assert set(f1) == {"valid", "test"} and set(f1["test"]) == {"network", "linear", "fused"}
    assert f1["test"]["fused"] == pytest.approx(metrics["test"]["macro_f1"])
    assert set(metrics["fusion"]["accuracy"]["test"]) == {"network", "linear", "fused"}
    majority = metrics["majority_baseline"]  # F1 of 'common' (recall 1), 0 for 'rare', / 2
    share = majority["accuracy"]  # the test rows left after dedupe that are 'common'
    assert 0.9 < share < 1 and set(majority) == {"label", "accuracy", "macro_f1"}
    assert majority["macro_f1"] == pytest.approx(share / (1 + share))
    fused = next(line for line in lines if line.startswith("Fused ("))
    test = f1["test"]
    assert fused.endswith(
        f"; test macro F1 fused {test['fused']:.4f}, network alone {test['network']:.4f}, "
        f"TF-IDF linear model alone {test['linear']:.4f}"
    )
    assert (f"Majority-class baseline (always 'common'): accuracy {100 * share:.2f}%, "
            f"macro F1 {share / (1 + share):.4f}") in lines
    chosen = next(line for line in lines if line.startswith("Fused with the TF-IDF"))
    assert "; validation macro F1 network " in chosen
    report = (tmp_path / "f" / "report.txt").read_text()
    assert fused in report and f"macro F1 {share / (1 + share):.4f}" in report


def test_an_accuracy_run_keeps_its_fusion_and_majority_blocks_as_they_were(skewed, tmp_path):
    metrics = finetune(quick(train=skewed["train"], test=skewed["test"], fuse_linear=True,
                             out=str(tmp_path / "f"), epochs=1),
                       log=lambda _m: None).metrics  # fmt: skip
    assert "macro_f1" not in metrics["fusion"]
    assert set(metrics["majority_baseline"]) == {"label", "accuracy"}


# -- refusals and resume ----------------------------------------------------------------------
def test_class_weight_is_refused_for_a_regression_and_in_bad_forms(capsys):
    with pytest.raises(ConfigError, match="class_weight weighs classes; a regression has none"):
        FinetuneConfig(task="regression", class_weight="balanced")
    for bad in ("uniform", {"a": 0}, {"a": "x"}, {}):
        with pytest.raises(ConfigError, match="class_weight is 'balanced' or a mapping"):
            FinetuneConfig(class_weight=bad)
    with pytest.raises(ConfigError, match="class_weight must be"):
        FinetuneConfig(class_weight=5)
    assert FinetuneConfig(class_weight="Balanced").class_weight == "balanced"
    assert FinetuneConfig(class_weight={1: 2}).class_weight == {"1": 2.0}
    status = main(["finetune", "--train", "t.csv", "--task", "regression",
                   "--class-weight", "balanced"])  # fmt: skip
    assert status != 0
    assert "--class-weight weighs classes; a regression has none" in capsys.readouterr().err


def test_a_mapping_from_a_config_file_weighs_the_linear_model(skewed, tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("class_weight:\n  rare: 20\n", encoding="utf-8")
    out = tmp_path / "m"
    assert main(["finetune", "--config", str(config), "--train", skewed["train"], "--test",
                 skewed["test"], "--model", "linear", "--out", str(out), "--no-progress",
                 "--no-plots"]) == 0  # fmt: skip
    saved = json.loads((out / "linear.json").read_text())
    assert saved["config"]["class_weight"] == {"common": 1.0, "rare": 20.0}
    assert _rare_predicted(json.loads((out / "metrics.json").read_text())) >= 1


def test_a_resume_keeps_the_class_weight_and_refuses_another(skewed, tmp_path, capsys):
    out = tmp_path / "r"
    argv = ["finetune", "--train", skewed["train"], "--test", skewed["test"], "--model", "boe",
            "--epochs", "2", "--no-fuse-linear", "--no-progress", "--no-plots",
            "--ensemble", "1", "--out", str(out)]  # fmt: skip
    assert main([*argv, "--max-steps", "2"]) == 0
    capsys.readouterr()
    assert main(["finetune", "--resume", "--out", str(out), "--class-weight", "balanced"]) != 0
    assert ("differ: --class-weight balanced (the run's: None)"
            in capsys.readouterr().err)  # fmt: skip
    balanced = tmp_path / "b"
    assert main([*argv[:-1], str(balanced), "--class-weight", "balanced", "--max-steps", "2"]) == 0
    capsys.readouterr()
    assert main(["finetune", "--resume", "--out", str(balanced), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "class weights (balanced): common 0.526, rare 10.0" in printed
    assert json.loads((balanced / "config.json").read_text())["class_weight"] == "balanced"


# -- tune ------------------------------------------------------------------------------------
class _Attrs:
    """The trial's user attributes, as Optuna keeps them."""

    def __init__(self) -> None:
        self.user_attrs: dict = {}

    def set_user_attr(self, key: str, value) -> None:
        self.user_attrs[key] = value


def test_tune_judges_every_trial_by_the_unweighted_accuracy(tmp_path):
    # class_weight searched (null or balanced): a weighted trial's fused score was its
    # class-weighted accuracy, an unweighted one's the plain accuracy, and Optuna ranked
    # the two measures as one. The weights choose the share and fit the pool only.
    from vecgraft.evaluate._tune_spec import (
        FUSION_ACCURACY_ATTR,
        POOL_SCORE_ATTR,
        WEIGHTED_SHARE_ATTR,
        TuneSpec,
    )
    from vecgraft.evaluate.tune import _Worker

    # the network says "common" for all; the linear model finds the rare texts and
    # 10 common ones: plain accuracy picks the network, weighted accuracy the linear model
    gold = np.asarray([0] * 45 + [1] * 5)
    network = np.tile(np.asarray([[0.7, 0.3]], dtype=np.float32), (50, 1))
    linear = np.asarray([[0.2, 0.8]] * 10 + [[0.9, 0.1]] * 35 + [[0.1, 0.9]] * 5,
                        dtype=np.float32)  # fmt: skip
    fused = [(network, linear, gold), (network.copy(), linear.copy(), gold.copy())]
    worker = _Worker(TuneSpec(base=FinetuneConfig(), out=str(tmp_path)), None)
    weights = [50 / 90, 5.0]
    for pool in (False, True):
        trial = _Attrs()
        scores = worker._fused_scores(trial, [0.5, 0.5], fused, pool, weights)
        plain = [fu.weight_accuracies(n, lin, g.tolist()) for n, lin, g in fused]
        attrs = trial.user_attrs
        assert attrs[FUSION_ACCURACY_ATTR] == pytest.approx(
            {str(w): (plain[0][w] + plain[1][w]) / 2 for w in plain[0]}
        )
        if pool:
            ab = attrs["fusion_pool"]
            expected = [fu.accuracy(fu.log_pool(n, lin, ab), g) for n, lin, g in fused]
            assert attrs[POOL_SCORE_ATTR] == pytest.approx(sum(expected) / 2)
        else:
            share = attrs["fused_share"]
            assert share == attrs[WEIGHTED_SHARE_ATTR]
            weighted = [fu.weight_accuracies(n, lin, g.tolist(), weights) for n, lin, g in fused]
            mean = {w: (weighted[0][w] + weighted[1][w]) / 2 for w in weighted[0]}
            assert share == fu.best_weight(mean) != fu.best_weight(plain[0])
            expected = [t[share] for t in plain]
        assert scores == pytest.approx(expected)


# -- the warning of a run that says one class -------------------------------------------------
def test_a_run_that_says_one_class_names_readmes_remedies(skewed, tmp_path):
    # it said only "with imbalanced labels, look at macro F1, not accuracy"
    lines: list[str] = []
    finetune(quick(train=skewed["train"], test=skewed["test"], out=str(tmp_path / "r")),
             log=lines.append)  # fmt: skip
    assert [line for line in lines if "every test text" in line] == [
        "WARNING: every test text was predicted 'common': the model tells no class apart; "
        "with imbalanced labels, --class-weight balanced weighs each class alike and --metric "
        "macro_f1 chooses the epoch by the rare classes too (read macro F1, not accuracy)"
    ]
    assert "--class-weight balanced" in (tmp_path / "r" / "report.txt").read_text()


def test_compare_names_the_cells_that_said_one_class(skewed, tmp_path):
    # compare said the warning once, of no cell, however many cells had collapsed
    from vecgraft.evaluate.compare import CompareConfig, compare

    config = CompareConfig(train=skewed["train"], test=skewed["test"], sources=["random"],
                           seeds=[0, 1], out=str(tmp_path / "c"), intrinsic=False,
                           linear=False, finetune={"model": "boe", "epochs": 5, "lr": 0.05,
                                                   "plots": False, "progress": False})  # fmt: skip
    lines: list[str] = []
    compare(config, log=lines.append)
    assert [line for line in lines if "every test text" in line] == [
        "WARNING: every test text was predicted one label in 2 of 2 cells: random fraction 1 "
        "seed 0 ('common'), random fraction 1 seed 1 ('common'); those models tell no class "
        "apart; with imbalanced labels, --set class_weight=balanced weighs each class alike "
        "and --set metric=macro_f1 chooses the epoch by the rare classes too (read macro F1, "
        "not accuracy)"
    ]


def test_compares_one_label_warning_counts_its_cells_in_the_singular_too():
    # "in 1 of 1 cells ... those models tell no class apart"
    from types import SimpleNamespace

    from vecgraft.evaluate._compare_cells import one_label_cells
    from vecgraft.finetune.metrics import classification_metrics

    one = classification_metrics([0, 1, 0], [0, 0, 0], ["common", "rare"]).to_dict()
    two = classification_metrics([0, 1, 0], [0, 1, 0], ["common", "rare"]).to_dict()
    cell = SimpleNamespace(source="random", fraction=1.0, seed=0, metrics={"test": one})
    fine = SimpleNamespace(source="random", fraction=1.0, seed=1, metrics={"test": two})
    said = one_label_cells([cell])  # type: ignore[list-item]
    assert said is not None and said.startswith(
        "WARNING: every test text was predicted one label in 1 of 1 cell: random fraction 1 "
        "seed 0 ('common'); that model tells no class apart; "
    )
    said = one_label_cells([cell, fine])  # type: ignore[list-item]
    assert said is not None and said.startswith(
        "WARNING: every test text was predicted one label in 1 of 2 cells: random fraction 1 "
        "seed 0 ('common'); that model tells no class apart; "
    )


def test_tunes_log_names_the_config_keys_for_the_remedies():
    # a tune trial's warning named --class-weight balanced, a flag tune lacks
    from vecgraft.evaluate.tune import config_remedies
    from vecgraft.finetune.metrics import one_label_warning

    lines: list[str] = []
    config_remedies(lines.append)(one_label_warning("common"))
    assert lines == [
        "WARNING: every test text was predicted 'common': the model tells no class apart; "
        "with imbalanced labels, `class_weight: balanced` in the --config file weighs each "
        "class alike and `metric: macro_f1` chooses the epoch by the rare classes too (read "
        "macro F1, not accuracy)"
    ]
