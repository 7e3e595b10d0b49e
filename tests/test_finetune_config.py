"""FinetuneConfig: defaults <- config file (YAML/TOML/JSON) <- CLI flags."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from vecgraft.cli import finetune as cli_finetune
from vecgraft.errors import ConfigError
from vecgraft.finetune.config import FinetuneConfig, OptimizerKind, ScheduleKind


def parse(argv: list[str]) -> FinetuneConfig:
    parser = argparse.ArgumentParser()
    cli_finetune.add_arguments(parser)
    return cli_finetune._config_and_run(parser.parse_args(argv))[0]  # as the command does


def test_yaml_file_then_flags_override(tmp_path):
    cfg_file = tmp_path / "run.yaml"
    cfg_file.write_text(
        "train: data/train.csv\nepochs: 7\nlr: 0.01\noptimizer: sgd\nlower: true\n"
        "model_options:\n  dropout: 0.2\n"
    )
    cfg = parse(
        [
            "--config",
            str(cfg_file),
            "--epochs",
            "3",
            "--no-lower",
            "--model-option",
            "hidden_size=64",
            "--schedule",
            "cosine",
        ]
    )
    assert cfg.train == "data/train.csv"
    assert cfg.epochs == 3  # flag beats file
    assert cfg.lr == 0.01  # file beats default
    assert cfg.optimizer is OptimizerKind.sgd
    assert cfg.schedule is ScheduleKind.cosine
    assert cfg.lower is False
    assert cfg.model_options == {"dropout": 0.2, "hidden_size": 64}
    assert cfg.batch_size == FinetuneConfig().batch_size  # untouched default


def test_toml_and_json_files_and_round_trip(tmp_path):
    (tmp_path / "c.toml").write_text('model = "boe"\npatience = 5\nbf16 = false\n')
    cfg = FinetuneConfig.load(tmp_path / "c.toml")
    assert (cfg.model, cfg.patience, cfg.bf16) == ("boe", 5, False)
    cfg.save(tmp_path / "c.json")
    assert json.loads((tmp_path / "c.json").read_text())["optimizer"] == "adamw"
    assert FinetuneConfig.load(tmp_path / "c.json") == cfg


def test_zero_disables_optional_limits():
    cfg = parse(["--patience", "0", "--max-length", "0", "--grad-clip", "0"])
    assert (cfg.patience, cfg.max_length, cfg.grad_clip) == (None, None, None)


def test_no_vectors_given_as_none_means_random():
    # None is how a Python caller says "no vectors"; it used to reach Path(None) deep
    # inside the tokenizer lookup
    assert FinetuneConfig(train="t.csv", vectors=None).vectors == "random"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("epochs: 0\n", "epochs must be > 0"),
        ("max_steps: 0\n", "max_steps must be > 0"),  # was accepted, and trained nothing
        ("max_steps: -3\n", "max_steps must be > 0"),
        ("optimizer: lion\n", "optimizer must be one of adamw, adam, sgd"),
        ("epochz: 3\n", "unknown option"),
        ("train_fraction: 1.5\n", "train_fraction must be a fraction"),
        ("- a\n- b\n", "expected a mapping"),
        ("epochs: [\n", "cannot parse YAML"),
        # values of the wrong kind: "maybe" ran as true, "abc" said "'>' not supported"
        # and a list of model options was a traceback from inside the model's setup
        ("lower: maybe\n", "lower must be true or false or null, got 'maybe'"),
        ("lr: abc\n", "lr must be a number, got 'abc'"),
        ("batch_size: 1e3\n", r"batch_size must be an integer, got 1000\.0"),  # YAML 1.2's float
        ("batch_size: true\n", "batch_size must be an integer, got True"),
        ("model_options: [1]\n", r"model_options must be a mapping \(key: value\), got \[1\]"),
    ],
)
def test_bad_config_names_file_and_problem(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        FinetuneConfig.load(path)
    assert "bad.yaml" in str(info.value)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        # "false" lowercased (a truthy string) and 2.5 epochs trained, both saved into a
        # config.json that `load` then refused; "1e-3" and "32" said "'>' not supported"
        ("lower", "false", "lower must be true or false or null, got 'false'"),
        ("epochs", 2.5, r"epochs must be an integer or null, got 2\.5"),
        ("lr", "1e-3", "lr must be a number, got '1e-3'"),
        ("batch_size", "32", "batch_size must be an integer, got '32'"),
        ("model_options", [1], r"model_options must be a mapping \(key: value\), got \[1\]"),
        ("fuse_pool", "12", r"fuse_pool is two weights \(network, linear\), e.g. \[0.5, 1.2\]; "
         "got '12'"),  # read as the characters 1 and 2
        # a list of kinds was allowed (hf pools them) and 5 then passed through unchecked
        ("tokenizer", 5, "tokenizer must be a string or a list of strings or null, got 5"),
        ("tokenizer", {"kind": "jieba"}, "tokenizer must be a string or a list of strings or "
         r"null, got \{'kind': 'jieba'\}"),
        ("tokenizer", ["jieba", 3], "tokenizer must be a string or a list of strings or null, "
         r"got \['jieba', 3\]"),
    ],
)
def test_the_constructor_checks_types_as_from_dict_does(tmp_path, field, value, message):
    with pytest.raises(ConfigError, match=message):
        FinetuneConfig(train="t.csv", **{field: value})
    with pytest.raises(ConfigError, match="config: " + message):
        FinetuneConfig.from_dict({"train": "t.csv", field: value})
    # what the constructor accepts, config.json gives back
    config = FinetuneConfig(train="t.csv", lower=False, epochs=2, lr=1e-3, batch_size=32)
    config.save(tmp_path / "config.json")
    assert FinetuneConfig.load(tmp_path / "config.json") == config


def test_numpy_numbers_are_taken_as_python_numbers(tmp_path):
    # they were "epochs must be an integer or null, got np.int64(2)"; kept as numpy's,
    # config.json could not hold them
    config = FinetuneConfig(train="t.csv", epochs=np.int64(2), lr=np.float32(0.5),
                            batch_size=np.int32(16))  # fmt: skip
    assert [(type(v), v) for v in (config.epochs, config.lr, config.batch_size)] == [
        (int, 2), (float, 0.5), (int, 16)]  # fmt: skip
    config.save(tmp_path / "config.json")
    assert FinetuneConfig.load(tmp_path / "config.json") == config
    with pytest.raises(ConfigError, match=r"^batch_size must be an integer, got np\.True_$"):
        FinetuneConfig(train="t.csv", batch_size=np.bool_(True))


def test_fuse_pool_takes_numpy_weights_and_refuses_a_bool(tmp_path):
    # a 1-d array was "fuse_pool is two weights", numpy's float32 0.03 was kept as
    # 0.029999999329447746, and (True, 2.0) was the weights 1.0 and 2.0
    config = FinetuneConfig(train="t.csv", fuse_pool=np.array([0.5, 1.0]))
    assert config.fuse_pool == (0.5, 1.0)
    config = FinetuneConfig(train="t.csv", fuse_pool=(np.float64(0.5), np.float32(0.03)))
    assert [(type(w), w) for w in config.fuse_pool] == [(float, 0.5), (float, 0.03)]
    config.save(tmp_path / "config.json")
    assert FinetuneConfig.load(tmp_path / "config.json") == config
    for pool in [(True, 2.0), (np.bool_(False), 1.0), np.array([[0.5, 1.0]])]:
        with pytest.raises(ConfigError, match=r"^fuse_pool is two weights .*; got "):
            FinetuneConfig(train="t.csv", fuse_pool=pool)


def test_yaml_reads_exponents_without_a_dot_as_numbers(tmp_path):
    # PyYAML's YAML 1.1 read them as strings: the README's own `--space` example,
    # `low: 1e-4`, was refused as "expected numbers low <= high"
    path = tmp_path / "run.yaml"
    path.write_text("lr: 1e-4\nembedding_lr: 5E-3\nweight_decay: +1e-2\nseed: 12\n"
                    "out: 1e5dir\n")  # fmt: skip
    config = FinetuneConfig.load(path)
    assert (config.lr, config.embedding_lr, config.weight_decay) == (1e-4, 5e-3, 1e-2)
    assert config.seed == 12 and config.out == "1e5dir"  # no number: kept as written


def test_zero_means_off_in_a_config_file_as_on_the_command_line(tmp_path):
    # `--patience 0` was off, `patience: 0` in a file "must be > 0"
    path = tmp_path / "run.yaml"
    path.write_text("patience: 0\nmax_length: 0\ngrad_clip: 0\n")
    config = FinetuneConfig.load(path)
    assert (config.patience, config.max_length, config.grad_clip) == (None, None, None)
    with pytest.raises(ConfigError, match="patience"):
        FinetuneConfig(train="t.csv", patience=-1)
    # it said "> 0", hiding that 0 is allowed
    path.write_text("max_length: -5\n")
    with pytest.raises(ConfigError) as caught:
        FinetuneConfig.load(path)
    assert str(caught.value) == f"{path}: max_length must be >= 0 (0: no limit), got -5"


def test_unknown_config_extension(tmp_path):
    path = tmp_path / "run.ini"
    path.write_text("[x]")
    with pytest.raises(ConfigError, match=r"run\.ini: unknown config format"):
        FinetuneConfig.load(path)


def test_bad_model_option_flag():
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse(["--model-option", "dropout"])


def test_unknown_model_is_rejected_before_any_data_is_read():
    expected = (
        r"model must be one of boe, cnn, rnn, transformer, swem, fasttext, bilstm, linear, hf; "
        r"got 'nope'"
    )
    with pytest.raises(ConfigError, match=expected):
        FinetuneConfig(train="does-not-exist.csv", model="nope")


def test_restore_best_flag():
    assert parse([]).restore_best is True
    assert parse(["--no-restore-best"]).restore_best is False


def test_a_class_metric_with_a_regression_is_refused():
    # a regression stops early on its validation loss whatever `metric` says, so
    # `--task regression --metric macro_f1` ran without a word about the flag
    with pytest.raises(ConfigError, match="metric='macro_f1' scores classes; a regression"):
        parse(["--task", "regression", "--metric", "macro_f1"])
    assert parse(["--task", "regression", "--metric", "loss"]).metric == "loss"
    assert parse(["--task", "regression"]).metric == "accuracy"  # the untouched default


def test_add_tokens_takes_a_number_as_the_command_line_does(tmp_path):
    # `add_tokens: 50` in a config file and add_tokens=50 from Python were refused as "must
    # be a string or null", though they mean --add-tokens 50
    hf = {"model": "hf", "hf_model": "m"}
    assert FinetuneConfig(**hf, add_tokens=50).add_tokens == "50"
    assert FinetuneConfig(**hf, add_tokens=0).add_tokens == "0"
    path = tmp_path / "run.yaml"
    path.write_text("model: hf\nhf_model: m\nadd_tokens: 50\n")
    assert FinetuneConfig.load(path) == FinetuneConfig(**hf, add_tokens="50")
    assert parse(["--config", str(path)]).add_tokens == "50"
    assert FinetuneConfig(**hf, add_tokens="words.txt").add_tokens == "words.txt"
    # a flag, a fraction and a negative count are still refused, each saying why
    words = "a number of words to pick from the corpus, or a file of words (one per line)"
    for value in (True, 2.5, [50]):
        with pytest.raises(ConfigError) as caught:
            FinetuneConfig(**hf, add_tokens=value)
        assert str(caught.value) == f"add_tokens must be {words}, got {value!r}"
    for value in (-3, "-3"):
        with pytest.raises(ConfigError) as caught:
            FinetuneConfig(**hf, add_tokens=value)
        assert str(caught.value) == "add_tokens must be at least 0, got -3"
    # a count is one sign at most and ASCII digits; else a file (int() raised ValueError)
    for value in ("+-5", "--5", "²", "-+5"):
        assert FinetuneConfig(**hf, add_tokens=value).add_tokens == value
    assert FinetuneConfig(**hf, add_tokens=" +7 ").add_tokens == "7"
    path.write_text("model: hf\nhf_model: m\nadd_tokens: true\n")
    with pytest.raises(ConfigError) as caught:
        FinetuneConfig.load(path)
    assert str(caught.value) == f"{path}: add_tokens must be {words}, got True"


def test_a_choice_set_after_construction_is_parsed_as_at_construction():
    # typed `Task | str`, a str set later reached code testing `cfg.task is Task.REGRESSION`:
    # the model was built for a regression and trained as a classification
    from vecgraft.finetune.config import Metric, Task

    cfg = FinetuneConfig(train="t.csv")
    cfg.metric = "macro_f1"
    assert cfg.metric is Metric.MACRO_F1
    with pytest.raises(ConfigError, match=r"schedule must be one of .*; got 'cosin'"):
        cfg.schedule = "cosin"
    cfg = FinetuneConfig(train="t.csv")
    cfg.task = "regression"
    assert cfg.task is Task.REGRESSION and cfg.replace(lr=0.1).task is Task.REGRESSION


def test_every_field_has_a_line_in_the_attributes_docstring():
    """26 fields (text_column, lr, batch_size, progress, ...) had none; a new one must get one."""
    import dataclasses
    import re

    documented: set[str] = set()
    for line in (FinetuneConfig.__doc__ or "").splitlines():
        entry = re.match(r"^        ([a-z_][a-z0-9_, ]*):", line)  # `name:` or `a, b:`
        if entry:
            documented |= {name.strip() for name in entry.group(1).split(",")}
    fields = [f.name for f in dataclasses.fields(FinetuneConfig)]
    assert [name for name in fields if name not in documented] == []


def test_progress_says_it_controls_bars_and_log_the_log_lines():
    doc = " ".join((FinetuneConfig.__doc__ or "").split())
    assert "progress: progress bars only" in doc
    assert "`finetune(config, log=...)` routes or drops those" in doc
