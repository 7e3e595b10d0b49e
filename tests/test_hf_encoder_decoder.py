"""Model `hf` on an encoder-decoder checkpoint: a tiny random T5 (built locally)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from conftest_transformer import t5_dir  # noqa: F401  (fixtures)
from finetune_helpers import write_csv
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.predict import load_run
from vecgraft.finetune.run import finetune

pytest.importorskip("transformers")

TEXTS = ["the cat sat on the mat", "a dog ran home", "cats and dogs play in the big park"]


def _config(folder: Path, tmp_path: Path, rows: list[tuple[str, str]], **changes) -> FinetuneConfig:
    data = write_csv(tmp_path / "train.csv", rows)
    base = {
        "train": str(data), "test": str(data), "dedupe": False, "model": "hf",
        "hf_model": str(folder), "out": str(tmp_path / "run"), "epochs": 1, "batch_size": 4,
        "lr": 1e-3, "plots": False, "device": "cpu", "progress": False,
    }  # fmt: skip
    return FinetuneConfig.from_dict({**base, **changes})


def _rows() -> list[tuple[str, str]]:
    return [(text, label) for text in TEXTS for label in ("pos", "neg")] * 2


def _plain(best: Path, texts: list[str]) -> torch.Tensor:
    """Probabilities of plain transformers, one text at a time."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(best), local_files_only=True)
    hf = AutoModelForSequenceClassification.from_pretrained(str(best), local_files_only=True)
    with torch.no_grad():
        logits = torch.cat([hf.eval()(**tok([t], return_tensors="pt")).logits for t in texts])
    return torch.softmax(logits, -1)


@pytest.mark.parametrize("add_tokens", [None, "2"])
def test_a_t5_run_loads_though_its_embeddings_are_saved_once(t5_dir, tmp_path, add_tokens):  # noqa: F811
    # T5 ties its shared, encoder and decoder input embeddings; the weights file holds the
    # tensor once, and predict refused the run: "no tensor 'transformer.shared.weight'"
    run = tmp_path / "run"
    finetune(_config(t5_dir, tmp_path, _rows(), add_tokens=add_tokens), log=lambda _: None)
    ours = load_run(run, device="cpu").predict_proba(TEXTS)
    torch.testing.assert_close(ours, _plain(run / "best", TEXTS), rtol=0, atol=1e-5)
    if add_tokens:
        assert (run / "best" / "graft_report.json").is_file()


def test_a_literal_end_of_text_token_in_a_text_trains_and_predicts(t5_dir, tmp_path):  # noqa: F811
    # a row "great </s> cat" holds two eos tokens, the others one: transformers refused the
    # batch ("All examples must have the same number of <eos> tokens") in the first step
    rows = [*_rows(), ("the cat </s> sat", "pos"), ("</s>", "neg")]
    run = tmp_path / "run"
    finetune(_config(t5_dir, tmp_path, rows), log=lambda _: None)
    texts = [*TEXTS, "a dog </s> ran </s> home", "cat</s>"]
    ours = load_run(run, device="cpu").predict_proba(texts)
    # each text scored as plain transformers scores it alone
    torch.testing.assert_close(ours, _plain(run / "best", texts), rtol=0, atol=1e-5)
