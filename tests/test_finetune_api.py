"""The fine-tuning stage used as a library: what a Python caller passes, and gets back."""

from __future__ import annotations

import json
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
