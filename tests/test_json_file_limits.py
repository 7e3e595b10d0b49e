"""Run/model/vocab/config files are read bounded: no FIFO hang, no /dev/zero, no deep nesting.

A `vocab.json -> /dev/zero` grew a `vecgraft evaluate` to 23 GB, a FIFO in its place hung
forever, and 100,000 nested `[` gave a raw RecursionError traceback.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from vecgraft._util.jsonfile import RECORD_LIMIT, JsonFileError, read_json_file
from vecgraft.errors import CheckpointError, ConfigError, VocabError
from vecgraft.finetune.config import FinetuneConfig, read_config_file
from vecgraft.finetune.rundir import read_json_record
from vecgraft.text.vocab import Vocab

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def alarm() -> Iterator[None]:
    """Turn a hang (opening a FIFO no one writes) into a failure after 10 s."""

    def fail(signum: int, frame: object) -> None:
        raise TimeoutError("hung reading a FIFO")

    old = signal.signal(signal.SIGALRM, fail)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "vocab.json"
    os.mkfifo(path)
    return path


@pytest.fixture
def huge(tmp_path: Path) -> Path:
    """A sparse 1 GiB file: a read would allocate all of it, the cap refuses it unread."""
    path = tmp_path / "vocab.json"
    with open(path, "wb") as fh:
        fh.truncate(1 << 30)
    return path


def test_helper_refuses_fifo_size_and_depth(tmp_path: Path, fifo: Path, alarm: None) -> None:
    with pytest.raises(JsonFileError, match=r"^is a named pipe \(FIFO\), not a regular file$"):
        read_json_file(fifo, limit=RECORD_LIMIT)
    big = tmp_path / "big.json"
    big.write_text("[" + "1," * 600 + "1]")
    with pytest.raises(JsonFileError, match=r"^is 1203 bytes, over the 1024 bytes limit"):
        read_json_file(big, limit=1024)
    deep = tmp_path / "deep.json"
    deep.write_text(DEEP)
    with pytest.raises(JsonFileError, match=r"^nested too deeply to parse$"):
        read_json_file(deep, limit=RECORD_LIMIT)
    with pytest.raises(FileNotFoundError):
        read_json_file(tmp_path / "none.json", limit=RECORD_LIMIT)
    assert read_json_file(big, limit=RECORD_LIMIT) == [1] * 601


def test_vocab_load_refuses_fifo(fifo: Path, alarm: None) -> None:
    with pytest.raises(VocabError, match=r"vocab.json: is a named pipe \(FIFO\), not a regular"):
        Vocab.load(fifo)


def test_vocab_load_refuses_oversized_file_unread(huge: Path) -> None:
    with pytest.raises(VocabError, match=r"vocab.json: is 1024 MiB, over the 512 MiB limit"):
        Vocab.load(huge)


def test_vocab_load_names_the_file_when_nested_too_deeply(tmp_path: Path) -> None:
    path = tmp_path / "vocab.json"
    path.write_text(DEEP)
    with pytest.raises(VocabError, match=r"vocab.json: nested too deeply to parse$"):
        Vocab.load(path)


def test_run_records_refuse_fifo_size_and_depth(tmp_path: Path, fifo: Path, alarm: None) -> None:
    with pytest.raises(CheckpointError, match=r"vocab.json: unreadable \(is a named pipe"):
        read_json_record(fifo)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(DEEP)
    with pytest.raises(CheckpointError, match=r"manifest.json: unreadable \(nested too deeply"):
        read_json_record(manifest)
    with open(manifest, "wb") as fh:
        fh.truncate(1 << 30)
    with pytest.raises(CheckpointError, match=r"over the 64 MiB limit for this file\)$"):
        read_json_record(manifest)


@pytest.mark.parametrize("name", ["deep.json", "deep.yaml"])
def test_config_file_nested_too_deeply_is_a_config_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(DEEP)
    with pytest.raises(ConfigError, match=rf"{name}: cannot parse config: nested too deeply$"):
        FinetuneConfig.load(path)


def test_config_file_fifo_is_refused(tmp_path: Path, alarm: None) -> None:
    path = tmp_path / "run.yaml"
    os.mkfifo(path)
    with pytest.raises(ConfigError, match=r"run.yaml: cannot read config file: it is a named"):
        read_config_file(path)


def test_yaml_alias_bomb_is_refused_naming_file_and_line(tmp_path: Path) -> None:
    """A "billion laughs": ten aliases a level, eight levels, passed validation before."""
    lines = ["model_options:", '  _a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    lines += [f"  _a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as info:
        read_config_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: cannot parse YAML: found the alias *a0; a config file")
    assert "line 3, column 13" in message


def test_yaml_without_aliases_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("lr: 1e-4\nmodel_options: {hidden: [1, 2]}\n")
    assert read_config_file(path) == {"lr": 1e-4, "model_options": {"hidden": [1, 2]}}
