"""Checkpoint folders, written atomically (temp folder, then rename).

A checkpoint holds everything needed to predict (`model.safetensors`, `model.json`,
`vocab.json`, `labels.json`) and, for the `last/` checkpoint, everything needed to resume
exactly: `state.json` (epoch, step, early-stopping state, history) and `trainer.pt`
(optimizer/scheduler state and RNG states, tensors and plain values only, loaded back with
`torch.load(weights_only=True)` so nothing is unpickled).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_model, save_model
from torch import nn

from vecgraft._util.atomic import atomic_directory, atomic_write_json
from vecgraft.errors import CheckpointError
from vecgraft.text.vocab import Vocab

MODEL_FILE = "model.safetensors"
MODEL_META = "model.json"
VOCAB_FILE = "vocab.json"
LABELS_FILE = "labels.json"
STATE_FILE = "state.json"
TRAINER_FILE = "trainer.pt"


def resolve_checkpoint(path: str | os.PathLike[str]) -> Path:
    """`path`, or its `.old` twin when a crash happened between the two renames."""
    p = Path(path)
    if p.is_dir():
        return p
    old = p.with_name(f".{p.name}.old")
    if old.is_dir():
        return old
    raise CheckpointError(f"{p}: no such checkpoint folder")


def read_json(path: Path) -> Any:
    """JSON from `path`; a missing or corrupt file is a CheckpointError naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CheckpointError(f"{path}: missing (incomplete run folder?)") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: unreadable ({exc})") from exc


@dataclass
class Checkpoint:
    """What `save_checkpoint` writes (minus the weights, loaded into a model on demand)."""

    path: Path
    model_meta: dict[str, Any]
    vocab: Vocab
    labels: list[str]
    state: dict[str, Any] | None

    def load_weights(self, model: nn.Module) -> None:
        """Copy the saved weights into `model` (same architecture)."""
        file = self.path / MODEL_FILE
        if not file.exists():
            raise CheckpointError(f"{file}: missing (incomplete checkpoint)")
        try:
            missing, unexpected = load_model(model, str(file), strict=False)
        except (SafetensorError, RuntimeError, OSError) as exc:
            raise CheckpointError(f"{file}: cannot load weights ({exc})") from exc
        if missing or unexpected:
            raise CheckpointError(
                f"{file}: weights do not fit the model (missing {sorted(missing)[:5]}, "
                f"unexpected {sorted(unexpected)[:5]})"
            )

    def trainer_state(self) -> dict[str, Any]:
        """Optimizer/scheduler/RNG state saved by `save_checkpoint(trainer_state=...)`."""
        file = self.path / TRAINER_FILE
        if not file.exists():
            raise CheckpointError(f"{file}: missing; this checkpoint cannot be resumed")
        try:
            state = torch.load(file, map_location="cpu", weights_only=True)
        except (RuntimeError, OSError, EOFError) as exc:
            raise CheckpointError(f"{file}: cannot load trainer state ({exc})") from exc
        if not isinstance(state, dict):
            raise CheckpointError(f"{file}: expected a dict of trainer state")
        return state


def save_checkpoint(
    path: str | os.PathLike[str],
    *,
    model: nn.Module,
    model_meta: Mapping[str, Any],
    vocab: Vocab,
    labels: list[str],
    state: Mapping[str, Any] | None = None,
    trainer_state: Mapping[str, Any] | None = None,
) -> Path:
    """Write a checkpoint folder atomically; returns its path."""
    final = Path(path)
    with atomic_directory(final) as tmp:
        save_model(model, str(tmp / MODEL_FILE))
        atomic_write_json(tmp / MODEL_META, dict(model_meta))
        vocab.save(tmp / VOCAB_FILE)
        atomic_write_json(tmp / LABELS_FILE, {"labels": list(labels)})
        if state is not None:
            atomic_write_json(tmp / STATE_FILE, dict(state))
        if trainer_state is not None:
            torch.save(dict(trainer_state), tmp / TRAINER_FILE)
    return final


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a checkpoint folder written by `save_checkpoint`."""
    p = resolve_checkpoint(path)
    meta = read_json(p / MODEL_META)
    labels = read_json(p / LABELS_FILE)
    if not isinstance(labels, dict) or not isinstance(labels.get("labels"), list):
        raise CheckpointError(f"{p / LABELS_FILE}: expected {{'labels': [...]}}")
    vocab_file = p / VOCAB_FILE
    if not vocab_file.exists():
        raise CheckpointError(f"{vocab_file}: missing (incomplete checkpoint)")
    vocab = Vocab.load(vocab_file)
    state = read_json(p / STATE_FILE) if (p / STATE_FILE).exists() else None
    return Checkpoint(p, meta, vocab, [str(x) for x in labels["labels"]], state)
