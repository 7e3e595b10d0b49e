"""The CLI's manners: enum choices, --help defaults, flag names in hints, pipes, tables, progress.

Every check runs the real command (or its real parser) on tiny data.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import subprocess
import sys
import warnings
from enum import Enum
from pathlib import Path

import numpy as np
import pytest

from io_helpers import write_w2v_bin
from vecgraft._util.console import Progress, ljust, printable, width
from vecgraft._util.policies import UnicodeErrors
from vecgraft.align import InitStrategy, UnkStrategy, align
from vecgraft.cli import COMMANDS, build_parser, flag_resolver, main
from vecgraft.cli._options import field_default, help_defaults
from vecgraft.errors import (
    ConfigError,
    DetectionError,
    FormatError,
    Hint,
    Opt,
    ResourceError,
)
from vecgraft.evaluate.intrinsic import AnalogyMethod
from vecgraft.evaluate.wordmap import MapMethod
from vecgraft.finetune.config import (
    CheckpointName,
    FinetuneConfig,
    Metric,
    OptimizerKind,
    ScheduleKind,
    Task,
)
from vecgraft.io import load
from vecgraft.nn.models import ModelKind
from vecgraft.pretrain.config import (
    DEFAULT_EPOCHS,
    DEFAULT_LEARNING_RATE,
    DEFAULT_WINDOW,
    Method,
    PretrainConfig,
    default_workers,
)
from vecgraft.text.corpus import OnePer
from vecgraft.text.normalize import Digits
from vecgraft.text.tokenize import TokenizerKind
from vecgraft.text.vocab import Vocab
from vecgraft.transformer.encode import Mode, Pooling
from vecgraft.vectors import Vectors

REPO = Path(__file__).resolve().parent.parent
CLI_DIR = REPO / "src" / "vecgraft" / "cli"


@pytest.fixture(autouse=True)
def _private_cache_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


def subparser(command: str) -> argparse.ArgumentParser:
    parser = build_parser(command)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[command]  # type: ignore[no-any-return]


def action(parser: argparse.ArgumentParser, flag: str) -> argparse.Action:
    return parser._option_string_actions[flag]


# -- enums end to end -------------------------------------------------------------------------
ENUM_FLAGS: dict[tuple[str, str], type[Enum]] = {
    ("pretrain", "--method"): Method,
    ("pretrain", "--tokenizer"): TokenizerKind,
    ("pretrain", "--digits"): Digits,
    ("pretrain", "--one-per"): OnePer,
    ("build", "--tokenizer"): TokenizerKind,
    ("build", "--oov"): InitStrategy,
    ("build", "--unk"): UnkStrategy,
    ("build", "--one-per"): OnePer,
    ("build", "--unicode-errors"): UnicodeErrors,
    ("info", "--unicode-errors"): UnicodeErrors,
    ("compare", "--model"): ModelKind,
    ("finetune", "--model"): ModelKind,
    ("finetune", "--optimizer"): OptimizerKind,
    ("finetune", "--schedule"): ScheduleKind,
    ("finetune", "--metric"): Metric,
    ("finetune", "--task"): Task,
    ("tune", "--task"): Task,
    ("finetune", "--tokenizer"): TokenizerKind,
    ("from-transformer", "--mode"): Mode,
    ("from-transformer", "--pooling"): Pooling,
    ("intrinsic", "--method"): AnalogyMethod,
    ("intrinsic", "--map-method"): MapMethod,
    ("evaluate", "--checkpoint"): CheckpointName,
    ("predict", "--checkpoint"): CheckpointName,
}


@pytest.mark.parametrize(("command", "flag"), sorted(ENUM_FLAGS))
def test_enum_flags_offer_exactly_the_enum_values(command: str, flag: str) -> None:
    choices = action(subparser(command), flag).choices
    assert list(choices or []) == [m.value for m in ENUM_FLAGS[command, flag]]


@pytest.mark.parametrize(("command", "flag"), sorted(ENUM_FLAGS))
def test_enum_flags_take_any_case_and_store_the_canonical_value(command: str, flag: str) -> None:
    value = str(list(ENUM_FLAGS[command, flag])[-1].value)
    parser = subparser(command)
    for other in parser._actions:
        other.required = False  # the flag alone
    args, _ = parser.parse_known_args([flag, value.upper()])
    repeatable = isinstance(action(parser, flag), argparse._AppendAction)  # finetune --tokenizer
    assert getattr(args, action(parser, flag).dest) == ([value] if repeatable else value)


def test_string_options_take_any_case_from_python_and_the_cli() -> None:
    from vecgraft.evaluate._tune_setup import _tune_spec

    config = FinetuneConfig(model="CNN", metric="Macro_F1", task="Classification", fuse_rule="MIX")
    assert (config.model, config.metric, config.task, config.fuse_rule) == (
        "cnn", "macro_f1", "classification", "mix",
    )  # fmt: skip
    config = FinetuneConfig(tokenizer="Jieba", zh_mode="Word+Char", graft_init="Mean")
    assert (config.tokenizer, config.zh_mode, config.graft_init) == ("jieba", "word+char", "mean")
    assert json.dumps(config.model) == '"cnn"'  # what config.json stores
    args, _ = subparser("tune").parse_known_args(["--select", "BEST", "--out", "x"])
    assert args.select == "best"
    args, _ = subparser("convert").parse_known_args(["--to", "Word2Vec", "a", "b"])
    assert args.to == "word2vec"
    from vecgraft.evaluate.intrinsic import _convention
    from vecgraft.text.padding import _side
    from vecgraft.text.segment import resolve_backend
    from vecgraft.text.tokenize import Tokenizer

    assert Tokenizer("JIEBA", segmenter="Jieba", zh_mode="CHAR").config["segmenter"] == "jieba"
    assert resolve_backend("JIEBA").value == "jieba"
    assert _side("Right", "side").value == "right"
    assert _convention("CA8", "x.txt").value == "ca8"
    assert PretrainConfig("GloVe", ["x"], "out").method_enum.value == "glove"
    config = FinetuneConfig(model="CNN")
    spec = _tune_spec(config, "out", 1, None, None, None, None, None, 1, select="Best")
    assert spec.select == "best"


def test_no_cli_module_retypes_a_choices_list() -> None:
    # choices come from an enum (enum_choices / add_enum_argument) or a registry (FORMATS)
    retyped = re.compile(r"choices=[\[(]\s*['\"]")
    offenders = [p.name for p in CLI_DIR.glob("*.py") if retyped.search(p.read_text())]
    assert offenders == []


def test_enum_members_are_upper_case_everywhere() -> None:
    import importlib
    import pkgutil
    from enum import StrEnum

    import vecgraft

    found = []
    for info in pkgutil.walk_packages(vecgraft.__path__, "vecgraft."):
        if info.name.startswith(("vecgraft.cli", "vecgraft.io.transformer", "vecgraft.__main__")):
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            is_enum = isinstance(value, type) and issubclass(value, StrEnum)
            if is_enum and value.__module__ == info.name:  # defined here, not imported
                found.append(value)
    assert len(found) >= 20
    for cls in found:
        assert all(m.name == m.name.upper() for m in cls), cls  # canonical member names


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: PretrainConfig("bert", ["x"], "out"),
            "method must be one of word2vec, fasttext, glove; got 'bert'",
        ),
        (
            lambda: PretrainConfig("glove", ["x"], "out", one_per="page"),
            "one_per must be one of line, file; got 'page'",
        ),
        (
            lambda: FinetuneConfig(model="lstm"),
            "model must be one of boe, cnn, rnn, transformer, swem, fasttext, bilstm, linear, hf; "
            "got 'lstm'",
        ),
        (
            lambda: load("x.txt", unicode_errors="surrogate"),
            "unicode_errors must be one of strict, replace, ignore; got 'surrogate'",
        ),
    ],
)
def test_every_option_error_reads_the_same(call, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        call()
    assert str(info.value) == message


def test_tokenizer_and_digits_errors_list_the_choices() -> None:
    from vecgraft.text import Tokenizer

    with pytest.raises(
        ConfigError,
        match=r"^tokenizer must be one of regex, whitespace, char, "
        r"jieba, pretokenized; got 'spacy'$",
    ):
        Tokenizer("spacy")
    with pytest.raises(ConfigError, match=r"^digits must be one of 0, # or None; got '7'$"):
        Tokenizer(digits="7")


def test_learning_rate_has_one_name_and_alpha_still_works(tmp_path: Path) -> None:
    parser = subparser("pretrain")
    base = ["--method", "glove", "--corpus", "c.txt", "--out", "o"]
    for flag in ("--alpha", "--lr", "--learning-rate"):
        args = parser.parse_args([*base, flag, "0.3"])
        assert args.learning_rate == 0.3
    assert parser.parse_args(base).learning_rate is None
    assert PretrainConfig("glove", ["c"], "o").resolved_learning_rate == 0.2
    assert PretrainConfig("word2vec", ["c"], "o").resolved_learning_rate == 0.025
    with pytest.warns(DeprecationWarning, match="learning_rate="):
        old = PretrainConfig("glove", ["c"], "o", alpha=0.1)
    assert old.learning_rate == 0.1
    options = PretrainConfig("glove", ["c"], "o", power=0.5).options()
    assert options["learning_rate"] == 0.2 and options["power"] == 0.5 and "alpha" not in options


def test_shared_options_have_one_spelling_on_every_command() -> None:
    for command in ("build", "pretrain", "finetune", "evaluate"):
        assert "--text-column" in subparser(command)._option_string_actions, command
    for command in ("build", "pretrain", "finetune"):
        assert "--min-freq" in subparser(command)._option_string_actions, command
    parser = subparser("pretrain")
    base = ["--method", "glove", "--corpus", "c.txt", "--out", "o"]
    assert parser.parse_args([*base, "--text-column", "body"]).column == "body"
    assert parser.parse_args([*base, "--column", "body"]).column == "body"
    assert parser.parse_args([*base, "--min-freq", "3"]).min_count == 3
    assert parser.parse_args([*base, "--max-size", "9"]).max_vocab == 9
    build = subparser("build")
    base = ["--corpus", "c.txt", "--vectors", "v.txt", "--out", "o"]
    spelled = build.parse_args([*base, "--min-count", "2", "--max-vocab", "50"])
    assert (spelled.min_freq, spelled.max_size) == (2, 50)  # pretrain's spellings
    column = Hint(" (pass {} to choose one)", Opt("column", "", "NAME"))
    assert (
        column.render(flag_resolver(subparser("build")))
        == " (pass --text-column NAME to choose one)"
    )


def test_workers_default_follows_the_machine() -> None:
    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert default_workers() == expected
    assert PretrainConfig("glove", ["c"], "o").workers == expected
    assert subparser("pretrain").get_default("workers") == expected


def test_errors_help_says_which_binary_files_every_option_refuses(tmp_path: Path) -> None:
    # it said "a binary file (a tar, an executable, ...) is refused under every option": a
    # raw float dump names no format, and --errors replace repairs it like any bad bytes
    from vecgraft.text import iter_texts

    dump = tmp_path / "floats.bin"
    dump.write_bytes(np.linspace(-1, 1, 256, dtype=np.float32).tobytes())
    assert list(iter_texts(dump, errors="replace"))
    seen = 0
    for command in COMMANDS:
        for act in subparser(command)._actions:
            if "--errors" in act.option_strings:
                seen += 1
                assert "a file whose first bytes name a binary format" in str(act.help), command
                assert "a binary file (" not in str(act.help), command
    assert seen >= 5


# -- --help shows the defaults really used ----------------------------------------------------
def _shown(command: str) -> dict[str, str]:
    return help_defaults(subparser(command))


def test_every_help_default_is_the_parser_default() -> None:
    """Whatever --help states is what argparse fills in (for flags whose default is a value)."""
    for command in COMMANDS:
        parser = subparser(command)
        shown = help_defaults(parser)
        for act in parser._actions:
            default = act.default
            if (
                default in (None, argparse.SUPPRESS)
                or isinstance(default, bool)
                or not act.option_strings
            ):
                continue
            assert act.dest in shown, f"{command} {act.option_strings[0]} hides its default"
            text = " ".join(map(str, default)) if isinstance(default, list) else str(default)
            assert shown[act.dest] == text, (command, act.dest)


def test_pretrain_help_defaults_are_the_config_defaults() -> None:
    shown = _shown("pretrain")
    parser = subparser("pretrain")
    for name in (
        "dim",
        "min_count",
        "sg",
        "hs",
        "workers",
        "negative",
        "sample",
        "min_alpha",
        "min_n",
        "max_n",
        "bucket",
        "x_max",
        "power",
        "batch_size",
        "seed",
        "column",
        "one_per",
    ):
        assert shown[name] == str(field_default(PretrainConfig, name)), name
        assert parser.get_default(name) == field_default(PretrainConfig, name), name
    assert shown["max_memory_mb"] == str(field_default(PretrainConfig, "max_memory") // 2**20)
    glove_lr = DEFAULT_LEARNING_RATE[Method.GLOVE]
    assert glove_lr == 0.2 and f"{glove_lr} for glove" in shown["learning_rate"]
    assert "0.05" not in shown["learning_rate"]
    assert f"{DEFAULT_EPOCHS[Method.GLOVE]} for glove" in shown["epochs"]
    # per method since GloVe's window became glove.c's 15 (benchmarks/glove_window.md)
    assert shown["window"] == "5 for word2vec, fasttext; 15 for glove"
    assert parser.get_default("window") is None


def test_finetune_help_defaults_are_the_config_defaults() -> None:
    shown = _shown("finetune")
    defaults = FinetuneConfig()
    from vecgraft.cli._options import param_default
    from vecgraft.io import load

    for name, text in shown.items():
        if name in ("config",):
            continue
        if not hasattr(defaults, name):  # a "reading the vector file" flag: load()'s default
            default = param_default(load, {"vectors_encoding": "encoding"}.get(name, name))
            assert default is None or text == str(default), name
            continue
        value = getattr(defaults, name)
        if value is None:  # the help says what None means ("stratified split of --train")
            continue
        assert text == str(getattr(value, "value", value)), name


def test_other_commands_show_the_library_defaults() -> None:
    import inspect

    from vecgraft.evaluate.intrinsic import GENSIM_RESTRICT_VOCAB, analogies
    from vecgraft.text.corpus import iter_texts
    from vecgraft.text.vocab import build_vocab
    from vecgraft.transformer import from_transformer

    def sig(func, name: str) -> str:
        value = inspect.signature(func).parameters[name].default
        return str(getattr(value, "value", value))

    build = _shown("build")
    assert build["oov"] == sig(align, "init") and build["unk"] == sig(align, "unk")
    assert build["min_freq"] == sig(build_vocab, "min_freq")
    assert build["one_per"] == sig(iter_texts, "one_per")
    assert build["unicode_errors"] == sig(load, "unicode_errors")
    ft = _shown("from-transformer")
    for name in ("mode", "pooling", "layer", "max_occurrences", "batch_size"):
        assert ft[name] == sig(from_transformer, name), name
    intrinsic = _shown("intrinsic")
    assert intrinsic["method"] == sig(analogies, "method")
    # analogies' "auto": each convention's own, as the help spells out
    assert sig(analogies, "restrict_vocab") == "auto"
    assert intrinsic["restrict_vocab"] == (
        f"{GENSIM_RESTRICT_VOCAB:,} as gensim; all rows for the ca8 convention, as the CA8 script"
    )
    evaluate = _shown("evaluate")
    # the run's own column first (a run trained on `sentence` is scored on `sentence`)
    assert evaluate["text_column"] == f"the run's, else {FinetuneConfig().text_column!r}"
    assert evaluate["label_column"] == f"the run's, else {FinetuneConfig().label_column!r}"
    assert _shown("demo")["model"] == str(FinetuneConfig().model)


def test_readme_states_the_real_glove_defaults() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    found = re.search(r"GloVe defaults \((\d+) epochs, x_max (\d+), lr ([\d.]+)\)", readme)
    assert found is not None
    assert int(found.group(1)) == DEFAULT_EPOCHS[Method.GLOVE]
    assert float(found.group(2)) == field_default(PretrainConfig, "x_max")
    assert float(found.group(3)) == DEFAULT_LEARNING_RATE[Method.GLOVE]
    concepts = (REPO / "docs/concepts.md").read_text(encoding="utf-8")
    found = re.search(
        r"\| GloVe pretraining \| x_max (\d+), lr ([\d.]+), (\d+) epochs, window (\d+) \|",
        concepts,
    )
    assert found is not None
    assert float(found.group(1)) == field_default(PretrainConfig, "x_max")
    assert float(found.group(2)) == DEFAULT_LEARNING_RATE[Method.GLOVE]
    assert int(found.group(3)) == DEFAULT_EPOCHS[Method.GLOVE]
    assert int(found.group(4)) == DEFAULT_WINDOW[Method.GLOVE] == 15


def test_concepts_states_the_real_finetune_defaults() -> None:
    """The defaults table of docs/concepts.md quotes FinetuneConfig and the hf family's."""
    from vecgraft.finetune.config import MODEL_DEFAULTS
    from vecgraft.finetune.ensemble import SEED_STEP

    concepts = (REPO / "docs/concepts.md").read_text(encoding="utf-8")
    row = next(line for line in concepts.splitlines() if line.startswith("| model |"))
    found = re.search(
        r"lr ([\d.e-]+), embedding lr ([\d.e-]+) .*? (\d+)-step budget \((\d+)–(\d+)\), "
        r"patience (\d+)",
        row,
    )
    assert found is not None, row
    config = FinetuneConfig()
    assert float(found.group(1)) == config.lr and float(found.group(2)) == config.embedding_lr
    assert int(found.group(3)) == config.train_steps
    assert (int(found.group(4)), int(found.group(5))) == (config.min_epochs, config.max_epochs)
    assert int(found.group(6)) == config.patience
    hf = next(line for line in concepts.splitlines() if line.startswith("| `--model hf` |"))
    found = re.search(
        r"lr ([\d.e-]+), batch (\d+), ≤ (\d+) tokens, (\d+) epochs, weight decay ([\d.]+), "
        r"(\d+) % warm-up .*?patience (\d+)",
        hf,
    )
    assert found is not None, hf
    stated = [float(found.group(i)) for i in range(1, 8)]
    d = MODEL_DEFAULTS["hf"]
    keys = ["lr", "batch_size", "max_length", "epochs", "weight_decay", "warmup", "patience"]
    expected = [round(float(d[k]) * (100 if k == "warmup" else 1), 9) for k in keys]
    assert stated == expected
    assert f"seed (the run's + {SEED_STEP}·k)" in concepts


def test_finetune_help_lists_the_hf_familys_own_defaults() -> None:
    # the flags show the embedding models' defaults (lr 0.002, 400 tokens, the step budget),
    # which `--model hf` does not use
    from vecgraft.finetune.config import MODEL_DEFAULTS

    model = next(a for a in subparser("finetune")._actions if "--model" in a.option_strings)
    text = " ".join(str(model.help).split())
    for name, value in MODEL_DEFAULTS["hf"].items():
        assert f"--{name.replace('_', '-')} {value}" in text, name
    assert "--model hf has its own defaults" in text


# -- hints name the flag the user types -------------------------------------------------------
@pytest.fixture()
def not_vectors(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("this is prose\nnot vectors at all\n")
    return path


def test_library_hint_names_the_keyword(not_vectors: Path) -> None:
    with pytest.raises(DetectionError) as info:
        load(not_vectors, cache=False)
    assert str(info.value).endswith("; pass format=... to force one")


def test_cli_hint_names_the_flag(not_vectors: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(not_vectors), "--no-cache"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("vecgraft info: error: ") and err.count("\n") == 1
    assert err.rstrip().endswith("; pass --format FORMAT to force one")
    assert "format=" not in err


def test_cli_names_the_flags_that_read_a_first_line_longer_than_detection_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # "glove: no line break in the first bytes: not a text vector file" of a 100,000-char
    # first word; --format glove alone then failed on the line's length
    path = tmp_path / "long.txt"
    values = " ".join(["0.5"] * 50)
    path.write_text("x" * 100_000 + f" {values}\n" + f"w {values}\n")
    assert main(["info", str(path), "--no-cache"]) == 1
    err = capsys.readouterr().err.rstrip()
    assert "glove: line 1 is 100,200 bytes long, more than the 65,536 bytes detection reads" in err
    assert err.endswith("; to read it as GloVe text, pass --format glove and "
                        "--max-line-bytes 100200")  # fmt: skip
    assert main(["info", str(path), "--no-cache", "--format", "glove",
                 "--max-line-bytes", "100200"]) == 0  # fmt: skip


def test_cli_without_the_flag_drops_the_hint(
    not_vectors: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["intrinsic", str(not_vectors)]) == 1  # intrinsic has no --format
    err = capsys.readouterr().err
    assert "cannot detect the vector format" in err
    assert "format" not in err.split("(tried")[0].replace("vector format", "")
    assert "--format" not in err and "format=" not in err and "force one" not in err


def test_hint_with_a_value_and_an_alias_flag(tmp_path: Path, capsys) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"caf\xe9 1.0 2.0\nok 3.0 4.0\n")
    assert main(["info", str(path), "--no-cache"]) == 1
    assert "pass --unicode-errors replace or 'ignore'" in capsys.readouterr().err
    path.write_bytes(b"a 1.0 2.0\nb nan 4.0\n")
    assert main(["info", str(path), "--no-cache"]) == 1
    assert "pass --allow-nonfinite to accept NaN/Inf" in capsys.readouterr().err
    with pytest.raises(FormatError, match=r"; pass allow_nonfinite=True to accept NaN/Inf$"):
        load(path, cache=False)


def test_each_command_maps_keywords_to_its_own_flags() -> None:
    hint = Hint(" (pass {} to choose one)", Opt("text_column", "", "NAME"))
    rendered = {
        command: hint.render(
            flag_resolver(
                subparser(command),
                __import__(f"vecgraft.cli.{COMMANDS[command][0]}", fromlist=["x"]),
            )
        )
        for command in ("finetune", "evaluate", "compare", "info")
    }
    assert rendered["finetune"] == " (pass --text-column NAME to choose one)"
    assert rendered["evaluate"] == " (pass --text-column NAME to choose one)"
    assert rendered["compare"] == " (pass --text-column NAME to choose one)"  # its own flag now
    assert rendered["info"] == ""
    assert hint.render() == " (pass text_column= to choose one)"
    skip = Hint("; pass {} to drop such rows", Opt("bad_rows", "'skip'"))
    assert (
        skip.render(flag_resolver(subparser("build"))) == "; pass --skip-bad-rows to drop such rows"
    )
    assert skip.render() == "; pass bad_rows='skip' to drop such rows"


# -- pipes, printable words, CJK columns ------------------------------------------------------
def _many_vectors(tmp_path: Path, n: int = 3000) -> Path:
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(n)]
    return write_w2v_bin(tmp_path / "many.bin", words, rng.normal(size=(n, 4)).astype(np.float32))


def test_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    path = _many_vectors(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vecgraft",
            "neighbors",
            str(path),
            "w0",
            "-k",
            "2999",
            "--no-cache",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()  # like `| head -1`: read a little, then hang up
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert first == b"w0\n"
    assert "Traceback" not in err and "BrokenPipeError" not in err and err == ""
    assert proc.returncode == 141  # as a shell reports a command ended by SIGPIPE


class _WindowsPipe(io.RawIOBase):
    """A pipe's write end as Windows shows one whose reader hung up: writes fail, EINVAL."""

    def __init__(self, fd: int) -> None:
        self.fd, self.closed_by_reader, self.data = fd, False, b""

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.fd

    def write(self, b) -> int:  # type: ignore[override]
        if self.closed_by_reader:
            raise OSError(22, "Invalid argument")
        self.data += bytes(b)
        return len(b)


@pytest.fixture
def pipe_fds():
    """Pipe descriptors the test opened, closed at its end."""
    fds: list[int] = []
    yield fds
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _fake_windows(monkeypatch, pipe_fds, *, encoding: str = "cp1252"):
    r, w = os.pipe()
    pipe_fds += [r, w]
    raw = _WindowsPipe(w)
    stdout = io.TextIOWrapper(io.BufferedWriter(raw), encoding=encoding)
    stderr = io.TextIOWrapper(io.BytesIO(), encoding=encoding, errors="strict")
    monkeypatch.setattr(sys, "stdout", stdout)
    monkeypatch.setattr(sys, "stderr", stderr)
    monkeypatch.delenv("PYTHONIOENCODING", raising=False)
    return raw, stdout, stderr


@contextlib.contextmanager
def _as_windows(system: str = "nt"):
    """os.name says Windows, only while main runs a stub command (pathlib reads it too)."""
    saved, os.name = os.name, system
    try:
        yield
    finally:
        os.name = saved


def test_windows_output_redirected_is_utf8(monkeypatch, pipe_fds):
    # `vecgraft predict ... > out.tsv` of Chinese labels: UnicodeEncodeError on the ANSI
    # code page a redirected stream has on Windows
    import vecgraft.cli as cli

    raw, stdout, stderr = _fake_windows(monkeypatch, pipe_fds)
    seen = []

    def command(argv):
        print("体育\t0.9")
        print("warning: 体育", file=sys.stderr)
        seen.append((sys.stdout.encoding, sys.stderr.encoding, sys.stderr.errors))
        return 0

    monkeypatch.setattr(cli, "_main", command)
    with _as_windows():
        status = main([])
    assert status == 0
    assert seen == [("utf-8", "utf-8", "backslashreplace")]
    assert raw.data == "体育\t0.9\n".encode()
    assert (stdout.encoding, stderr.encoding, stderr.errors) == ("cp1252", "cp1252", "strict")
    monkeypatch.undo()


@pytest.mark.parametrize("case", ["PYTHONIOENCODING", "posix"])
def test_output_encoding_is_left_alone_elsewhere(case, monkeypatch, pipe_fds):
    import vecgraft.cli as cli

    _fake_windows(monkeypatch, pipe_fds)
    if case == "PYTHONIOENCODING":
        monkeypatch.setenv("PYTHONIOENCODING", "cp1252")
    seen = []
    monkeypatch.setattr(cli, "_main", lambda argv: seen.append(sys.stdout.encoding) or 0)
    with _as_windows("posix" if case == "posix" else "nt"):
        status = main([])
    assert status == 0
    assert seen == ["cp1252"]
    monkeypatch.undo()


def test_windows_closed_pipe_einval_ends_quietly(monkeypatch, pipe_fds):
    # on Windows a write to a pipe whose reader quit (`| more`) fails with EINVAL, not
    # BrokenPipeError: a traceback instead of a quiet end
    import vecgraft.cli as cli

    raw, _, _ = _fake_windows(monkeypatch, pipe_fds)

    def command(argv):
        print("first")
        sys.stdout.flush()
        raw.closed_by_reader = True
        print("second" * 5000)  # past the buffer: written now
        return 0

    monkeypatch.setattr(cli, "_main", command)
    try:
        with _as_windows():
            status = main([])
    finally:
        raw.closed_by_reader = False  # the rest goes nowhere (stdout is devnull now)
    assert status == 141
    monkeypatch.undo()
    assert raw.data == b"first\n"


@pytest.mark.parametrize("case", ["posix", "a file named", "stdout a file"])
def test_other_einval_errors_still_raise(case, monkeypatch, pipe_fds, tmp_path):
    import vecgraft.cli as cli

    _fake_windows(monkeypatch, pipe_fds)
    error = OSError(22, "Invalid argument")
    if case == "a file named":
        error = OSError(22, "Invalid argument", "a:b?.txt")
    else:
        file = (tmp_path / "out.txt").open("w", encoding="utf-8")
        monkeypatch.setattr(sys, "stdout", file)

    def command(argv):
        raise error

    monkeypatch.setattr(cli, "_main", command)
    with pytest.raises(OSError) as caught, _as_windows("posix" if case == "posix" else "nt"):
        main([])
    monkeypatch.undo()
    assert caught.value is error
    if case == "stdout a file":
        file.close()


def test_word_lists_escape_control_characters(tmp_path: Path, capsys) -> None:
    words = ["king", "que\x1b[31men", "tab\there", "zw\u200bj"]
    path = write_w2v_bin(tmp_path / "w.bin", words, np.eye(4, dtype=np.float32) + 0.1)
    assert main(["neighbors", str(path), "king", "-k", "3", "--no-cache"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\t" not in out and "\u200b" not in out
    assert "que\\x1b[31men" in out and "tab\\there" in out and "zw\\u200bj" in out
    (tmp_path / "vocab.txt").write_text("bell\x07\nking\n")
    assert main(["info", str(path), "--vocab", str(tmp_path / "vocab.txt"), "--no-cache"]) == 0
    assert "missing:  bell\\x07" in capsys.readouterr().out
    vocab = Vocab.from_counts({"king": 3, "ro\x1bgue": 2})
    _, report = align(vocab, Vectors(["king"], np.ones((1, 2), np.float32)))
    assert "ro\\x1bgue (2)" in report.format_table()


def test_printable_and_width() -> None:
    assert printable("plain words") == "plain words"
    assert printable("a\nb\x00") == "a\\nb\\x00"
    assert printable("北京 café") == "北京 café"
    assert width("北京") == 4 and width("ＡＢ") == 4 and width("e\u0301") == 1
    assert ljust("北京", 6) == "北京  " and ljust("toolong", 3) == "toolong"


def test_word_list_quotes_what_printable_escapes_or_what_splits_the_list() -> None:
    """One rule for which words read as themselves: `printable`'s, plus the list's comma and
    spaces (the unknown-word warning's examples; `printable` alone keeps a space)."""
    from vecgraft._util.console import word_list

    hidden = ["que\x1b[31men", "tab\there", "zw\u200bj", "\ue4c7", "bell\x07"]
    for word in hidden:
        assert printable(word) != word and word_list([word]) == repr(word)
    for word in ["北京\u3000上海", "a\u00a0b", "new york", "a,b", ""]:
        assert printable(word) == word and word_list([word]) == repr(word)
    assert word_list(["king", "北京", "café", "ＡＰＰ"]) == "king, 北京, café, ＡＰＰ"


def test_neighbors_columns_align_for_chinese(tmp_path: Path, capsys) -> None:
    words = ["北京", "上海市", "city", "天津", "guangzhou"]
    matrix = np.array(
        [[1, 0, 0], [0.9, 0.1, 0], [0.8, 0.3, 0], [0.7, 0.5, 0], [0.5, 0.5, 0.5]], np.float32
    )
    path = write_w2v_bin(tmp_path / "zh.bin", words, matrix)
    assert main(["neighbors", str(path), "北京", "-k", "4", "--no-cache"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  ")]
    assert len(rows) == 4
    # the score starts at the same terminal column on every row
    starts = {width(row[: row.rindex(" ") + 1]) for row in rows}
    assert len(starts) == 1, rows


# -- progress off a terminal ------------------------------------------------------------------
def test_progress_writes_lines_when_not_a_terminal() -> None:
    stream = io.StringIO()
    with Progress(3, "glove epoch", stream=stream) as progress:
        for loss in (0.5, 0.25, 0.125):
            progress.update(1, loss=loss)
    lines = stream.getvalue().splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        "glove epoch 1/3",
        "glove epoch 2/3",
        "glove epoch 3/3",
    ]
    assert "loss 0.125" in lines[-1]
    quiet = io.StringIO()
    with Progress(3, "x", stream=quiet, enabled=False) as progress:
        progress.update(1)
        progress.begin("next")
    assert quiet.getvalue() == ""


def test_glove_pretraining_logs_one_line_per_epoch(tmp_path: Path, capsys) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat sat on the mat\nthe dog sat on the log\n" * 20)
    argv = [
        "pretrain",
        "--method",
        "glove",
        "--corpus",
        str(corpus),
        "--out",
        str(tmp_path / "g"),
        "--dim",
        "4",
        "--min-count",
        "1",
        "--epochs",
        "3",
        "--workers",
        "1",
        "--device",
        "cpu",
    ]
    assert main(argv) == 0
    err = capsys.readouterr().err
    epochs = [line for line in err.splitlines() if line.startswith("glove epoch ")]
    assert [line.split(" (")[0] for line in epochs] == [f"glove epoch {i}/3" for i in (1, 2, 3)]
    assert all("loss " in line for line in epochs)
    assert main([*argv, "--no-progress", "--out", str(tmp_path / "g2")]) == 0
    assert "glove epoch" not in capsys.readouterr().err


def test_compare_says_when_each_cell_starts(tmp_path: Path, capsys) -> None:
    from finetune_helpers import make_dataset
    from vecgraft.evaluate.compare import CompareConfig, compare

    task = make_dataset(tmp_path / "task", train_per_class=6, test_per_class=3)
    config = CompareConfig(
        train=str(task["train"]),
        test=str(task["test"]),
        sources=["random"],
        fractions=[1.0],
        seeds=[0, 1],
        out=str(tmp_path / "cmp"),
        finetune={"model": "boe", "epochs": 1, "plots": False, "max_steps": 2},
        intrinsic=False,
        linear=False,  # the random source's two cells are the lines under test
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compare(config, log=lambda _m: None, report=False)
    err = capsys.readouterr().err
    starts = [line for line in err.splitlines() if line.startswith("compare cell ")]
    assert [line.split(" (")[0] for line in starts] == ["compare cell 1/2", "compare cell 2/2"]
    assert "started: random fraction 1 seed 1" in starts[1]


def test_no_command_is_a_usage_error_on_stderr(capsys) -> None:
    # the help went to stdout with exit status 2: `vecgraft > out.txt` filled the file
    assert main([]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("usage: vecgraft")
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0 and capsys.readouterr().out.startswith("usage: vecgraft")


def test_a_misspelled_flag_names_the_close_one_under_the_subcommands_usage(capsys) -> None:
    # the top-level parser answered with `usage: vecgraft [-h] [--version] COMMAND ...`
    with pytest.raises(SystemExit) as info:
        main(["tune", "--train", "t.csv", "--n-trials", "0", "--out", "o"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.startswith("usage: vecgraft tune")
    assert "error: unrecognized arguments: --n-trials 0 (did you mean --trials?)" in err
    with pytest.raises(SystemExit):
        main(["info", "a.txt", "b.txt"])  # a stray positional: no guess
    assert capsys.readouterr().err.rstrip().endswith("unrecognized arguments: b.txt")


def _refusal(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_a_finetune_flag_tune_lacks_names_the_config_file_not_a_far_flag(capsys) -> None:
    # `--class-weight balanced` said "did you mean --fuse-weight?", `--metric macro_f1`
    # "did you mean --train?" and `--epochs 3` "did you mean --errors?"
    base = ["tune", "--train", "t.csv", "--out", "o"]
    assert _refusal(capsys, [*base, "--class-weight", "balanced"]) == (
        "vecgraft tune: error: unrecognized arguments: --class-weight balanced; tune takes "
        "class_weight from --config (a YAML/TOML/JSON file: `class_weight: balanced`)"
    )
    assert _refusal(capsys, [*base, "--epochs", "3", "--metric=macro_f1", "--n-trials", "4"]) == (
        "vecgraft tune: error: unrecognized arguments: --epochs 3 --metric=macro_f1 --n-trials 4 "
        "(did you mean --trials?); tune takes epochs and metric from --config (a YAML/TOML/JSON "
        "file: `epochs: 3`, `metric: macro_f1`)"
    )
    assert _refusal(capsys, [*base, "--no-restore-best", "--model-option", "dropout=0.3"]) == (
        "vecgraft tune: error: unrecognized arguments: --no-restore-best --model-option "
        "dropout=0.3; tune takes restore_best and model_options from --config (a YAML/TOML/JSON "
        "file: `restore_best: false`, `model_options: {dropout: 0.3}`)"
    )


def test_a_finetune_flag_compare_lacks_names_set_or_its_own_grid_flag(capsys) -> None:
    base = ["compare", "--train", "t.csv", "--sources", "random", "--out", "o"]
    assert _refusal(capsys, [*base, "--class-weight", "balanced", "--fuse-pool", "1", "0"]) == (
        "vecgraft compare: error: unrecognized arguments: --class-weight balanced --fuse-pool 1 0; "
        "compare takes class_weight and fuse_pool through --set KEY=VALUE (`--set "
        "class_weight=balanced --set fuse_pool=[1,0]`) or its --config file"
    )
    # settings compare sets per cell are not offered through --set, which refuses them
    assert _refusal(capsys, [*base, "--train-fraction", "0.5"]) == (
        "vecgraft compare: error: unrecognized arguments: --train-fraction 0.5; compare sets "
        "each cell's train_fraction with --fractions"
    )


def test_a_far_flag_is_no_guess(capsys) -> None:
    # difflib's default cutoff offered --errors for --epochs and --help for --model
    err = _refusal(capsys, ["evaluate", "r", "--data", "d.csv", "--epochs", "3", "--model", "x"])
    assert err.endswith("unrecognized arguments: --epochs 3 --model x")
    err = _refusal(capsys, ["evaluate", "r", "--data", "d", "--lable-column", "y", "--devise", "0"])
    assert err.endswith("(did you mean --label-column, --device?)")


def test_a_flag_is_never_taken_as_an_abbreviation(capsys) -> None:
    # argparse's prefix matching read `compare --vectors glove.txt` as --vectors-encoding
    # ("not a text encoding Python knows") and `finetune --vec` as "ambiguous option"
    err = _refusal(capsys, ["compare", "--train", "t.csv", "--out", "o", "--vectors", "g.txt"])
    assert err.endswith(
        "unrecognized arguments: --vectors g.txt; compare takes each row's vectors from "
        "--sources")
    err = _refusal(capsys, ["finetune", "--train", "t.csv", "--vec", "glove.txt"])
    assert err.endswith(
        "unrecognized arguments: --vec glove.txt (did you mean --vectors, --vectors-encoding?)")
    err = _refusal(capsys, ["evaluate", "r", "--data", "d.csv", "--label-col", "y"])
    assert err.endswith("(did you mean --label-column?)")


def test_no_help_shows_an_empty_or_unexplained_none_default() -> None:
    # "--map-words ... (default: )" and "--set ... (default: )" showed an empty list, and
    # "--train PATH ... (default: None)" a Python None that told nothing
    for command in COMMANDS:
        parser = subparser(command)
        formatter = parser._get_formatter()
        for act in parser._actions:
            text = formatter._expand_help(act) if act.help else ""
            where = (command, act.option_strings)
            assert "(default: )" not in text, where
            assert "(default: None)" not in text or "None:" in text, where


def test_ctrl_c_while_the_parser_is_built_is_one_line(monkeypatch, capsys) -> None:
    # building `finetune`'s parser imports torch (over a second): a Ctrl-C then printed
    # a traceback from inside torch
    def interrupted(command: str | None = None) -> argparse.ArgumentParser:
        raise KeyboardInterrupt

    monkeypatch.setattr("vecgraft.cli.build_parser", interrupted)
    assert main(["finetune", "--help"]) == 130
    assert capsys.readouterr().err == "vecgraft: interrupted\n"


def test_a_warning_is_one_clean_line_in_the_cli_only(monkeypatch, capsys) -> None:
    import vecgraft.cli.info as info

    def run(args: argparse.Namespace) -> int:
        warnings.warn("no font with CJK glyphs; labels may show boxes", UserWarning, stacklevel=1)
        return 0

    monkeypatch.setattr(info, "run", run)
    default = warnings.showwarning
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert main(["info", "x.txt"]) == 0
    err = capsys.readouterr().err
    assert err == "warning: no font with CJK glyphs; labels may show boxes\n"
    assert warnings.showwarning is default  # library use after the command: Python's own


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["tune", "--cv", "1", "--max-steps", "1"], "--cv must be >= 2 folds, got 1"),
        (["compare", "--sources", "random", "--fractions", "1.5"],
         "--fractions must be in (0, 1], got [1.5]"),
        (["compare", "--sources", "random", "--epochs", "0"], "--epochs must be > 0, got 0"),
    ],
)  # fmt: skip
def test_other_commands_name_the_flag_in_range_errors(tmp_path: Path, capsys, args, said) -> None:
    rows = [f"{w} film {i},{w}" for i in range(40) for w in ("good", "bad")]
    (tmp_path / "t.csv").write_text("text,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    out = ["--train", str(tmp_path / "t.csv"), "--out", str(tmp_path / "o")]
    assert main([*args, *out]) == 1
    err = capsys.readouterr().err
    assert said in err and not re.search(r"\b[a-z]+_[a-z_]+\b", err)


@pytest.mark.parametrize("command", ["build", "export"])
def test_a_negative_limit_names_the_flag(tmp_path: Path, capsys, command: str) -> None:
    """Both said `limit=-1; expected a non-negative integer or None` (the load keyword)."""
    vectors = write_w2v_bin(tmp_path / "v.bin", ["the", "of"], np.ones((2, 3), np.float32))
    (tmp_path / "c.txt").write_text("the of\n", encoding="utf-8")
    out = str(tmp_path / "o")
    args = {
        "build": ["build", "--corpus", str(tmp_path / "c.txt"), "--vectors", str(vectors)],
        "export": ["export", str(vectors), "--to", "word2vec"],
    }[command]
    assert main([*args, "--out", out, "--limit", "-1", "--no-cache"]) == 1
    err = capsys.readouterr().err
    assert f"vecgraft {command}: error: --limit must be a non-negative integer, got -1\n" == err


def test_the_load_keywords_name_themselves_from_python(tmp_path: Path) -> None:
    vectors = write_w2v_bin(tmp_path / "v.bin", ["the"], np.ones((1, 3), np.float32))
    with pytest.raises(ConfigError, match=r"^limit must be a non-negative integer \(or None\)"):
        load(vectors, limit=-1)
    with pytest.raises(ConfigError, match=r"^max_line_bytes must be a positive integer"):
        load(vectors, max_line_bytes=0)


def test_load_takes_the_size_strings_its_flags_take(tmp_path: Path) -> None:
    # README: "`max_memory=` / `--max-memory 8G`", but load(max_memory="1M") was an OptionError
    vectors = tmp_path / "v.txt"
    vectors.write_text("cat 0.5 1\ndog -2 0.25\n")
    assert load(vectors, cache=False, max_memory="1M").words == ["cat", "dog"]
    assert load(vectors, cache=False, max_memory=1 << 20).words == ["cat", "dog"]  # ints too
    for budget in ("1K", "1 kib", 1024):  # the guard counts ~1,000 rows: 88 KiB
        with pytest.raises(ResourceError, match=r"max_memory= \(--max-memory\) allows 1\.0 KiB"):
            load(vectors, cache=False, max_memory=budget)
    assert len(load(vectors, cache=False, max_memory="0")) == 2  # "0" turns it off, as 0 does
    with pytest.raises(FormatError, match="longer than 8 bytes"):
        load(vectors, cache=False, max_line_bytes="8B")
    with pytest.raises(ConfigError, match=r"^max_memory must be a size in bytes: .*got '8X'$"):
        load(vectors, cache=False, max_memory="8X")
    with pytest.raises(ConfigError, match=r"^max_line_bytes must be .*got '-1K'$"):
        load(vectors, cache=False, max_line_bytes="-1K")


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--mode", "corpus", "--max-occurrences", "0"], "--max-occurrences must be >= 1, got 0"),
        (["--pca", "0"], "--pca must be >= 1, got 0"),
        (["--pca", "900"], "--pca must be between 1 and "),  # known once the vectors are made
    ],
)
def test_from_transformer_names_its_flags(tmp_path: Path, capsys, flags, said) -> None:
    """`max_occurrences must be at least 1` (a DataError) and `pca must be between ...`."""
    from conftest_transformer import _save_bert

    bert = _save_bert(tmp_path / "bert")
    (tmp_path / "c.txt").write_text("the cat sat\n", encoding="utf-8")
    out = ["--out", str(tmp_path / "v.txt"), "--corpus", str(tmp_path / "c.txt")]
    assert main(["from-transformer", str(bert), *out, *flags]) == 1
    err = capsys.readouterr().err
    assert said in err and not re.search(r"(?<!-)\bpca\b|max_occurrences", err)


def test_from_transformer_names_the_flag(tmp_path: Path, capsys) -> None:
    from conftest_transformer import _save_bert

    bert = _save_bert(tmp_path / "bert")
    args = ["from-transformer", str(bert), "--out", str(tmp_path / "v.txt"), "--batch-size", "0"]
    assert main(args) == 1
    assert "--batch-size must be >= 1, got 0" in capsys.readouterr().err


def test_a_size_too_large_for_a_float_is_refused_not_a_traceback() -> None:
    # "1e300T" parsed as a finite number, then overflowed in int() with an uncaught
    # OverflowError: the CLI showed a traceback
    from vecgraft._util.options import parse_size

    for text in ("1e300T", "1e308K", "inf"):
        with pytest.raises(ValueError, match=r"is not a size \(e\.g\. 100000, 64K"):
            parse_size(text)
    assert parse_size("1e3K") == 1_024_000
