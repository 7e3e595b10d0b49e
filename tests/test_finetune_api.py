"""The fine-tuning stage used as a library: what a Python caller passes, and gets back."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from finetune_helpers import make_dataset
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.run import finetune


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("api"), train_per_class=20, test_per_class=5)


def quick(**fields) -> FinetuneConfig:
    """One short boe network: the quickest run that writes a whole run folder."""
    settings = {"model": "boe", "epochs": 1, "batch_size": 16, "lr": 0.05, "ensemble": 1,
                "fuse_linear": False, "progress": False, "plots": False, **fields}  # fmt: skip
    return FinetuneConfig(**settings)


def test_paths_may_be_pathlib_paths(data, tmp_path):
    # a Path reached config.json: "Object of type PosixPath is not JSON serializable",
    # after the data had been read
    run = tmp_path / "run"
    config = quick(train=Path(data["train"]), test=Path(data["test"]),
                   vectors=Path(data["vectors"]), out=run)  # fmt: skip
    assert (config.train, config.vectors, config.out) == (
        str(data["train"]), str(data["vectors"]), str(run))
    config.save(tmp_path / "config.json")
    assert FinetuneConfig.load(tmp_path / "config.json") == config
    finetune(config, log=lambda _m: None)
    saved = json.loads((run / "config.json").read_text(encoding="utf-8"))
    assert (saved["train"], saved["out"]) == (str(data["train"]), str(run))
    # set after construction, as a dataclass allows: still saved as a string
    config.test = Path(data["test"])  # type: ignore[assignment]
    config.save(tmp_path / "again.json")
    assert FinetuneConfig.load(tmp_path / "again.json").test == str(data["test"])


def test_vectors_in_the_wrong_place_say_where_they_go(data, tmp_path):
    import vecgraft
    from vecgraft.errors import ConfigError

    loaded = vecgraft.load(data["vectors"])
    # a Vectors object in the config failed deep in pathlib
    for in_memory in (loaded, lambda words: loaded):
        with pytest.raises(ConfigError, match=r"go to the run: finetune\(config, vectors=v\)"):
            quick(train=str(data["train"]), vectors=in_memory)
    with pytest.raises(ConfigError, match=r"config: vectors is a path, 'random' or 'hf:FOLDER'"):
        FinetuneConfig.from_dict({"vectors": loaded})
    # a path to finetune(): "'str' object is not callable" once the data was read
    config = quick(train=str(data["train"]), out=str(tmp_path / "run"))
    path = str(data["vectors"])
    for given in (path, Path(path)):
        with pytest.raises(ConfigError, match=re.escape(f"FinetuneConfig(vectors='{path}')")):
            finetune(config, vectors=given)
    with pytest.raises(ConfigError, match=r"a function of the vocabulary's words .*got a dict"):
        finetune(config, vectors={"goal": [0.0] * 8})  # type: ignore[arg-type]
    assert not (tmp_path / "run").exists()


def test_a_mapping_is_read_as_a_config(data, tmp_path):
    from vecgraft.errors import ConfigError

    # a dict said "'dict' object has no attribute 'resume'"
    run = tmp_path / "run"
    fields = quick(train=str(data["train"]), test=str(data["test"]), out=str(run)).to_dict()
    finetune(fields, log=lambda _m: None)
    assert FinetuneConfig.load(run / "config.json").train == str(data["train"])
    with pytest.raises(ConfigError, match=r"config: lr must be a number, got 'fast'"):
        finetune({**fields, "lr": "fast"})
    with pytest.raises(ConfigError, match=r"FinetuneConfig.load\('run.yaml'\) reads a config"):
        finetune("run.yaml")  # type: ignore[arg-type]


def test_vectors_passed_in_memory_are_recorded_as_such_and_said(data, tmp_path, capsys):
    import vecgraft
    from vecgraft.cli import main
    from vecgraft.errors import ConfigError

    path = str(data["vectors"])
    settings = {"train": str(data["train"]), "test": str(data["test"])}
    # a Vectors: config.json said "random" and the log "from random", so a retrain from
    # config.json trained on random vectors without a word
    lines: list[str] = []
    run = tmp_path / "object"
    finetune(quick(**settings, out=str(run)), vectors=vecgraft.load(path), log=lines.append)
    saved = FinetuneConfig.load(run / "config.json")
    assert saved.vectors == f"<in memory: 35 x 8 Vectors, source {path}>"
    said = "\n".join(lines)
    assert f"x 8 from the vectors passed in memory (source {path}); coverage" in said
    assert "from random" not in said
    assert "Vectors are lowercase: lowercasing text" in said  # checked on its words
    with pytest.raises(ConfigError, match=r"given its vectors in memory .* pass them again"):
        finetune(saved.replace(out=str(tmp_path / "again")), log=lambda _m: None)
    assert main(["finetune", "--config", str(run / "config.json"), "--out",
                 str(tmp_path / "cli")]) == 1  # fmt: skip
    err = capsys.readouterr().err
    assert f"{run / 'config.json'}: vectors '<in memory: 35 x 8 Vectors" in err
    assert "--vectors PATH" in err
    # passed again, the recorded config trains
    finetune(saved.replace(out=str(tmp_path / "again")), vectors=vecgraft.load(path),
             log=lambda _m: None)  # fmt: skip
    # a function of the words, as finetune's docstring shows: its case went unchecked and
    # unsaid (the vocabulary stayed cased where the path and the Vectors lowercased it)
    lines.clear()
    run = tmp_path / "function"
    finetune(quick(**settings, out=str(run)), log=lines.append,
             vectors=lambda words: vecgraft.load(path, vocab=words))  # fmt: skip
    said = "\n".join(lines)
    assert "list no words to check for capitals, so the text keeps its case" in said
    assert "Vectors are lowercase" not in said
    recorded = FinetuneConfig.load(run / "config.json").vectors
    assert recorded == "<in memory: a function of the vocabulary's words>"
    # a file named in the config is what the run records, whatever form the vectors took
    run = tmp_path / "named"
    finetune(quick(**settings, out=str(run), vectors=path), vectors=vecgraft.load(path),
             log=lambda _m: None)  # fmt: skip
    assert FinetuneConfig.load(run / "config.json").vectors == path


def test_every_predictor_has_models_and_an_ensemble_says_what_it_lacks(data, tmp_path):
    from torch import nn

    from finetune_helpers import make_texts, write_csv
    from vecgraft.finetune.predict import load_run

    settings = {"train": str(data["train"]), "test": str(data["test"]), "ensemble": 2}
    # every member trains on the same rows (a valid file): one vocabulary
    run, valid = tmp_path / "shared", write_csv(tmp_path / "valid.csv", make_texts(5, seed=3))
    finetune(quick(**settings, valid=str(valid), out=str(run)), log=lambda _m: None)
    ensemble = load_run(run)
    members = ensemble.members
    assert len(ensemble.models) == 2 and all(isinstance(m, nn.Module) for m in ensemble.models)
    assert ensemble.models == [member.model for member in members]
    # `.model` was a bare AttributeError; the first member's would not predict as the run
    with pytest.raises(AttributeError, match=r"an ensemble of 2 networks has no single model: "
                       r"\.models lists them"):  # fmt: skip
        ensemble.model  # noqa: B018
    assert not hasattr(ensemble, "model")
    assert ensemble.tokenizer is members[0].tokenizer
    assert ensemble.tokenizer.config == members[1].tokenizer.config  # tokenized alike
    assert ensemble.vocabs == [member.vocab for member in members]
    assert ensemble.vocab is members[0].vocab and members[0].vocab == members[1].vocab
    # each member carves its own validation split: vocabularies of other rows
    run = tmp_path / "carved"
    finetune(quick(**settings, out=str(run)), log=lambda _m: None)
    ensemble = load_run(run)
    assert ensemble.vocabs[0] != ensemble.vocabs[1]
    with pytest.raises(AttributeError, match=r"each built their vocabulary .* \.vocabs lists"):
        ensemble.vocab  # noqa: B018
    # one network, alone or fused: its model is its one model
    run = tmp_path / "one"
    finetune(quick(train=str(data["train"]), test=str(data["test"]), out=str(run),
                   fuse_linear=None), log=lambda _m: None)  # fmt: skip
    single = load_run(run)
    assert type(single).__name__ == "FusedPredictor" and single.models == [single.model]
    assert single.network.models == [single.network.model]


def test_a_regression_run_points_predict_to_predict_values(tmp_path):
    from finetune_helpers import score_rows, write_csv
    from vecgraft.errors import ConfigError
    from vecgraft.finetune.predict import load_run

    train = write_csv(tmp_path / "scores.csv", score_rows(80, seed=0))
    regression = {"train": str(train), "task": "regression"}
    fused, linear = tmp_path / "fused", tmp_path / "linear"
    # the default fuses with ridge regression: `predict` said "a ridge (regression) model
    # has no class probabilities"; the linear run's gave its numbers as label strings
    finetune(quick(**regression, out=str(fused), fuse_linear=None), log=lambda _m: None)
    finetune(quick(**regression, out=str(linear), model="linear"), log=lambda _m: None)
    for predictor in (load_run(fused), load_run(fused).network, load_run(linear)):
        for call in (predictor.predict, predictor.predict_proba):
            with pytest.raises(ConfigError, match=r"regression .* use predict_values\(texts\)"):
                call(["great fun"])
        assert len(predictor.predict_values(["great fun", "dull"])) == 2


def test_a_regression_run_evaluate_points_texts_to_predict_values(tmp_path):
    # evaluate's advice was predict + classification_metrics, and predict refuses a regression
    from finetune_helpers import score_rows, write_csv
    from vecgraft.errors import ArgumentTypeError
    from vecgraft.finetune.predict import load_run

    train = write_csv(tmp_path / "scores.csv", score_rows(80, seed=0))
    run = tmp_path / "run"
    finetune(quick(train=str(train), task="regression", out=str(run), model="linear"),
             log=lambda _m: None)  # fmt: skip
    predictor = load_run(run)
    scored = re.escape("; a regression's texts in memory are scored by vecgraft.finetune."
                       "scoring.regression_metrics(targets, run.predict_values(texts))")
    with pytest.raises(ArgumentTypeError, match=r"got list" + scored + "$"):
        predictor.evaluate(["great fun"])  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError, match=r"not texts and labels" + scored + "$"):
        predictor.evaluate(["great fun"], [4.0])  # type: ignore[arg-type]


def test_vecgraft_finetune_runs_the_job(data, tmp_path):
    import vecgraft
    from vecgraft.finetune.recipe import RunResult

    run = tmp_path / "run"
    result = vecgraft.finetune(quick(train=str(data["train"]), test=str(data["test"]),
                                     out=str(run)), log=lambda _m: None)  # fmt: skip
    assert isinstance(result, RunResult) and result.run_dir == run
    assert (run / "metrics.json").is_file() and result.metrics["test"]["accuracy"] is not None


def _results(result) -> tuple[dict, list]:
    """A run's metrics and history, less their wall-clock seconds."""
    metrics = {k: v for k, v in result.metrics.items() if k != "seconds"}
    history = [{k: v for k, v in row.items() if "second" not in k} for row in result.history]
    return metrics, history


def test_a_run_keeps_its_callers_global_torch_rng(data, tmp_path):
    import torch

    from vecgraft.finetune.predict import load_run

    # finetune reseeded torch's global generator (`torch.manual_seed(cfg.seed)`): after it,
    # torch.rand(1) was the same whatever its caller had seeded
    config = quick(train=str(data["train"]), test=str(data["test"]), vectors="random",
                   out=str(tmp_path / "run"), seed=3)  # fmt: skip
    torch.manual_seed(123)
    expected = torch.rand(2)
    torch.manual_seed(123)
    torch.rand(1)
    first = finetune(config, log=lambda _m: None)
    assert torch.rand(1) == expected[1]
    # the run seeds inside, as before: the same results whatever the caller's state
    torch.manual_seed(999)
    again = finetune(config.replace(out=str(tmp_path / "again")), log=lambda _m: None)
    assert _results(again) == _results(first)
    # load_run builds the model's layers (drawing initial weights it then overwrites)
    torch.manual_seed(7)
    predictor = load_run(tmp_path / "run")
    predictor.predict(["good film"])
    predictor.evaluate(data["test"])
    drawn = torch.rand(1)
    torch.manual_seed(7)
    assert drawn == torch.rand(1)


def test_what_load_run_gives_is_a_run_predictor_and_says_what_it_is(data, tmp_path):
    # the predictors were `<...FusedPredictor object at 0x...>`, and the union `load_run`
    # returns had no exported name to annotate or check with
    from vecgraft.finetune import RunPredictor
    from vecgraft.finetune.ensemble import EnsemblePredictor
    from vecgraft.finetune.predict import load_run

    files = {"train": str(data["train"]), "test": str(data["test"])}
    plain, fused, linear = tmp_path / "plain", tmp_path / "fused", tmp_path / "linear"
    finetune(quick(**files, out=str(plain)), log=lambda _m: None)
    finetune(quick(**files, out=str(fused), fuse_linear=None), log=lambda _m: None)
    finetune(quick(**files, out=str(linear), model="linear"), log=lambda _m: None)
    predictors = [load_run(plain), load_run(fused), load_run(linear)]
    n = len(predictors[0].labels)
    assert [repr(p) for p in predictors] == [
        f"<Predictor run={str(plain)!r} task=classification labels={n} model=boe fused=False>",
        f"<FusedPredictor run={str(fused)!r} task=classification labels={n} model=boe "
        "fused=True>",
        f"<LinearPredictor run={str(linear)!r} task=classification labels={n} "
        "model=linear:svm fused=False>",
    ]
    both = EnsemblePredictor(predictors[:2], [plain, fused])
    assert repr(both) == (
        f"<EnsemblePredictor run=None task=classification labels={n} model=ensemble[boe,boe] "
        "fused=True>"
    )
    assert all(isinstance(p, RunPredictor) for p in [*predictors, both])


def test_evaluate_says_it_takes_a_labelled_file(data, tmp_path):
    # evaluate(["good"]) was pathlib's TypeError, evaluate(texts, labels) Python's
    # "takes 2 positional arguments but 3 were given"
    from vecgraft.errors import ArgumentTypeError
    from vecgraft.finetune.predict import load_run

    run = tmp_path / "run"
    finetune(quick(train=str(data["train"]), out=str(run)), log=lambda _m: None)
    predictor = load_run(run)
    scored = re.escape("texts in memory are labelled by predict(texts) and scored by "
                       "classification_metrics(labels, predict(texts), run.labels)")
    with pytest.raises(ArgumentTypeError, match=r"^evaluate\(\): path must be the path .* of a "
                       r"labelled file \(text and label columns\), got list; " + scored + "$"):
        predictor.evaluate(["good"])  # type: ignore[arg-type]
    with pytest.raises(ArgumentTypeError, match=r"^evaluate\(\) takes the path of a labelled "
                       r"file \(text and label columns\), not texts and labels; " + scored + "$"):
        predictor.evaluate(["good"], ["pos"])  # type: ignore[arg-type]
    # a path then a column name was told "not texts and labels"
    with pytest.raises(ArgumentTypeError, match=r"^evaluate\(\) takes the label column by "
                       r"keyword: evaluate\('test.csv', label_column='sentiment'\)$"):
        predictor.evaluate("test.csv", "sentiment")  # type: ignore[arg-type]
