"""Checkpoint folders, written atomically (temp folder, then rename).

A checkpoint holds everything needed to predict (`model.safetensors`, `model.json`,
`vocab.json`, `labels.json`) and, for the `last/` checkpoint, everything needed to resume
exactly: `state.json` (epoch, step, early-stopping state, history) and `trainer.pt`
(optimizer/scheduler state and RNG states, tensors and plain values only, loaded back with
`torch.load(weights_only=True)` so nothing is unpickled).

`model.json` and `state.json` are checked against a schema (types and ranges) when read,
and `model.json`'s shapes against the weights file's header before any model is built, so
an edited or hostile file is an error naming it, not a 12 GB allocation or a run that
"finishes" without training.
"""

from __future__ import annotations

import math
import os
import pickle
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_model, save_model
from torch import nn

from vecgraft._util.atomic import (
    atomic_directory,
    atomic_write_json,
    folder_or_old_twin,
    writing,
)
from vecgraft._util.finite import refuse_non_finite
from vecgraft._util.jsonfile import RECORD_LIMIT, read_json_file
from vecgraft.errors import CheckpointError, Hint, Opt
from vecgraft.finetune.labels import saved_labels
from vecgraft.text.vocab import Vocab

MODEL_FILE = "model.safetensors"
MODEL_META = "model.json"
VOCAB_FILE = "vocab.json"
LABELS_FILE = "labels.json"
STATE_FILE = "state.json"
TRAINER_FILE = "trainer.pt"

# generous bounds that still stop a hostile number before it sizes an allocation
_MAX_COUNT = 2**31 - 1


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(float(value))  # type: ignore[arg-type]


def _count(low: int) -> Any:
    """Check: an integer in [low, 2**31)."""
    return lambda v: _is_int(v) and low <= v <= _MAX_COUNT


def _optional(check: Any) -> Any:
    return lambda v: v is None or check(v)


_MODEL_SCHEMA: dict[str, tuple[Any, str]] = {
    "kind": (lambda v: isinstance(v, str), "a model kind"),
    "model_config": (lambda v: isinstance(v, dict), "an object"),
    "num_classes": (_count(1), "an integer >= 1"),  # 1: the one output of a regression
    "vocab_size": (_count(1), "an integer >= 1"),
    "embedding_dim": (_count(1), "an integer >= 1"),
    "padding_idx": (_optional(_count(0)), "null or an integer >= 0"),
    "tokenizer": (lambda v: isinstance(v, dict), "an object"),
    "max_length": (_optional(_count(1)), "null or an integer >= 1"),
}
_STATE_SCHEMA: dict[str, tuple[Any, str]] = {
    "epoch": (_count(0), "an integer >= 0"),
    "step_in_epoch": (_count(0), "an integer >= 0"),
    "global_step": (_count(0), "an integer >= 0"),
    "partial": (
        lambda v: isinstance(v, list) and len(v) == 3 and all(_is_number(x) for x in v),
        "a list of 3 numbers",
    ),
    "best_metric": (_optional(_is_number), "null or a number"),
    "best_loss": (_optional(_is_number), "null or a number"),
    "best_epoch": (_optional(_count(1)), "null or an integer >= 1"),
    "bad_epochs": (_count(0), "an integer >= 0"),
    "history": (
        lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v),
        "a list of objects",
    ),
    "stopped_early": (lambda v: isinstance(v, bool), "true or false"),
    "finished": (lambda v: isinstance(v, bool), "true or false"),
}
# keys a state.json written before them lacks
_LATER_STATE_SCHEMA: dict[str, tuple[Any, str]] = {
    "epoch_seconds": (lambda v: _is_number(v) and v >= 0, "a number >= 0"),
    "run_seconds": (lambda v: _is_number(v) and v >= 0, "a number >= 0"),
}


def check_schema(
    data: Any, schema: Mapping[str, tuple[Any, str]], path: Path, *, required: bool = True
) -> dict[str, Any]:
    """`data` if it is an object whose keys in `schema` hold what the schema says."""
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a JSON object, got {type(data).__name__}")
    for key, (ok, expected) in schema.items():
        if key not in data:
            if required:
                raise CheckpointError(f"{path}: missing {key!r} (expected {expected})")
            continue
        if not ok(data[key]):
            raise CheckpointError(f"{path}: {key!r} must be {expected}, got {data[key]!r:.60}")
    return data


def resolve_checkpoint(path: str | os.PathLike[str]) -> Path:
    """`path`, or its `.old` twin when a crash happened between the two renames."""
    folder = folder_or_old_twin(path)
    if folder is None:
        raise CheckpointError(f"{Path(path)}: no such checkpoint folder")
    return folder


def read_json(path: Path) -> Any:
    """JSON from `path`; a missing or corrupt file is a CheckpointError naming it."""
    try:
        return read_json_file(path, limit=RECORD_LIMIT)
    except FileNotFoundError as exc:
        raise CheckpointError(f"{path}: missing (incomplete run folder?)") from exc
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: unreadable ({exc})") from exc


@dataclass(frozen=True)
class Remedy:
    """What the user of a command can do about a damaged weights file: words, and a hint.

    Said after "the file is damaged; ". Why one per reader: a single text for all told a
    resume of a damaged last/ to "use best/", which no resume reads, and named predict's
    `--checkpoint` to export and finetune, which have no such flag. `hint` names options
    by keyword, which each command renders as its own flags (or leaves out).
    """

    text: str = "retrain"
    hint: Hint | None = None


@dataclass
class Checkpoint:
    """What `save_checkpoint` writes (minus the weights, loaded into a model on demand).

    `remedy`: what the reader's user is told to do where the weights file is damaged.
    """

    path: Path
    model_meta: dict[str, Any]
    vocab: Vocab
    labels: list[str]
    state: dict[str, Any] | None
    remedy: Remedy = field(default_factory=Remedy)

    def load_weights(self, model: nn.Module) -> None:
        """Copy the saved weights into `model` (same architecture)."""
        file = self.path / MODEL_FILE
        if not file.exists():
            raise CheckpointError(f"{file}: missing (incomplete checkpoint)")
        try:
            missing, unexpected = load_model(model, str(file), strict=False)
        except SafetensorError as exc:  # truncated, or not a safetensors file
            raise self.damaged(f"cannot load weights ({exc})") from exc
        except (RuntimeError, OSError) as exc:
            raise CheckpointError(f"{file}: cannot load weights ({exc})") from exc
        if missing or unexpected:
            raise CheckpointError(
                f"{file}: weights do not fit the model (missing {sorted(missing)[:5]}, "
                f"unexpected {sorted(unexpected)[:5]})"
            )
        # a tied tensor once, under its first name; read where it now is (no second read)
        groups = _tied_groups(model)
        refuse_non_finite(file, ((names[0], t.detach()) for names, t in groups),
                          advice=self._damage, hint=self.remedy.hint)  # fmt: skip

    def read_weights(self) -> dict[str, Any]:
        """The weights file's tensors as numpy arrays (export reads them without a model)."""
        from safetensors.numpy import load_file

        file = self.path / MODEL_FILE
        try:
            tensors = load_file(str(file))
        except SafetensorError as exc:
            raise self.damaged(f"cannot read weights ({exc})") from exc
        except OSError as exc:
            raise CheckpointError(f"{file}: cannot read weights ({exc})") from exc
        refuse_non_finite(file, tensors.items(), advice=self._damage, hint=self.remedy.hint)
        return tensors

    @property
    def _damage(self) -> str:
        return f"the file is damaged; {self.remedy.text}"

    def damaged(self, problem: str) -> CheckpointError:
        """The error for a weights file that cannot be read (`problem`), with the remedy."""
        return CheckpointError(f"{self.path / MODEL_FILE}: {problem}: {self._damage}",
                               hint=self.remedy.hint)  # fmt: skip

    def trainer_state(self) -> dict[str, Any]:
        """Optimizer/scheduler/RNG state saved by `save_checkpoint(trainer_state=...)`."""
        file = self.path / TRAINER_FILE
        if not file.exists():
            raise CheckpointError(f"{file}: missing; this checkpoint cannot be resumed")
        try:
            with warnings.catch_warnings():  # torch warns about pickle protocols; we decide
                warnings.simplefilter("ignore")
                state = torch.load(file, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError:
            # torch's own message advises disabling the safe loader: never pass that on
            raise CheckpointError(
                f"{file}: refused: it holds Python objects other than tensors and plain "
                "values, which could run code when loaded, and vecgraft never writes those. "
                "The file was replaced or damaged; it was not loaded. Resume from a backup of "
                "the run folder or start the run again"
            ) from None
        except (RuntimeError, OSError, EOFError, ValueError) as exc:
            raise CheckpointError(f"{file}: cannot load trainer state ({_safe(exc)})") from None
        ok = (
            isinstance(state, dict)
            and isinstance(state.get("optimizer"), dict)
            and isinstance(state.get("scheduler"), dict)
            and _byte_tensor(state.get("torch_rng"))
            # a GPU run's CUDA generator; checked here, as only a CUDA resume reads it
            and ("cuda_rng" not in state or _byte_tensor(state["cuda_rng"]))
        )
        if not ok:
            raise CheckpointError(
                f"{file}: expected a dict of trainer state (optimizer, scheduler, torch_rng, "
                "optionally cuda_rng)"
            )
        return state

    def weight_shapes(self) -> dict[str, list[int]]:
        """Tensor name -> shape from the weights file's header (no tensor is read)."""
        file = self.path / MODEL_FILE
        if not file.exists():
            raise CheckpointError(f"{file}: missing (incomplete checkpoint)")
        try:
            with safe_open(str(file), framework="pt") as fh:
                return {k: list(fh.get_slice(k).get_shape()) for k in fh.keys()}  # noqa: SIM118
        except SafetensorError as exc:
            raise self.damaged(f"cannot read the weights header ({exc})") from exc
        except (OSError, RuntimeError) as exc:
            raise CheckpointError(f"{file}: cannot read the weights header ({exc})") from exc

    def check_fits(self, skeleton: nn.Module) -> None:
        """Raise unless the weights file holds exactly `skeleton`'s tensors and shapes.

        `skeleton` is the model `model.json` describes, built on the meta device (nothing
        allocated), so a `vocab_size` of 6e7 is caught before a 12 GB embedding exists.
        """
        file = self.path / MODEL_FILE
        shapes = self.weight_shapes()
        for names, tensor in _tied_groups(skeleton):
            want = list(tensor.shape)
            # safetensors keeps one name of a tied tensor (T5's shared input embedding)
            name = next((n for n in names if n in shapes), None)
            if name is None:
                raise CheckpointError(f"{file}: no tensor {names[0]!r} (model.json describes it)")
            if shapes[name] != want:
                raise CheckpointError(
                    f"{self.path / MODEL_META} does not match {file}: {name} has shape "
                    f"{shapes[name]} in the weights, {want} by model.json"
                )
        if self.model_meta["vocab_size"] != len(self.vocab):
            raise CheckpointError(
                f"{self.path / MODEL_META}: vocab_size {self.model_meta['vocab_size']} but "
                f"{self.path / VOCAB_FILE} has {len(self.vocab)} tokens"
            )
        if self.model_meta["num_classes"] != len(self.labels):
            raise CheckpointError(
                f"{self.path / MODEL_META}: num_classes {self.model_meta['num_classes']} but "
                f"{self.path / LABELS_FILE} has {len(self.labels)} labels"
            )


def _tied_groups(model: nn.Module) -> list[tuple[list[str], torch.Tensor]]:
    """`model`'s state as (names, tensor) pairs, the names of one tied tensor together.

    Why: an encoder-decoder checkpoint (T5, BART) ties its shared, encoder and decoder
    input embeddings into one parameter; safetensors writes such a tensor once, under one
    of its names (`safetensors.torch.save_model`), and `load_model` fills the others from
    it. Requiring every name refused vecgraft's own T5 runs. Tied parameters are one
    object, so the groups are found on a meta-device skeleton too.
    """
    groups: dict[int, tuple[list[str], torch.Tensor]] = {}
    for name, tensor in model.state_dict(keep_vars=True).items():
        groups.setdefault(id(tensor), ([], tensor))[0].append(name)
    return list(groups.values())


def _byte_tensor(value: object) -> bool:
    """Whether `value` is a uint8 tensor, as torch's RNG states are."""
    return isinstance(value, torch.Tensor) and value.dtype == torch.uint8


def _safe(exc: BaseException) -> str:
    """An exception's text, unless it advises loading untrusted pickles."""
    text = str(exc)
    return "not a tensor-only file" if "weights_only" in text else text


def save_checkpoint(
    path: str | os.PathLike[str],
    *,
    model: nn.Module,
    model_meta: Mapping[str, Any],
    vocab: Vocab,
    labels: list[str],
    state: Mapping[str, Any] | None = None,
    trainer_state: Mapping[str, Any] | None = None,
    extra_files: Callable[[Path], None] | None = None,
) -> Path:
    """Write a checkpoint folder atomically; returns its path.

    `extra_files(folder)` adds a model family's own files first (vecgraft's names win); the
    weights carry the `format: pt` metadata Hugging Face's loader expects.
    """
    final = Path(path)
    # a write that fails (a full disk) is an OSError naming `final`, not safetensors' or
    # torch's own error; the temp folder goes with it (`atomic_directory`)
    with atomic_directory(final) as tmp, writing(final, SafetensorError, temp=tmp):
        if extra_files is not None:
            extra_files(tmp)
        save_model(model, str(tmp / MODEL_FILE), metadata={"format": "pt"})
        atomic_write_json(tmp / MODEL_META, _with_user_dict_copy(model_meta, tmp))
        vocab.save(tmp / VOCAB_FILE)
        atomic_write_json(tmp / LABELS_FILE, {"labels": list(labels)})
        if state is not None:
            atomic_write_json(tmp / STATE_FILE, dict(state))
        if trainer_state is not None:
            with writing(final, RuntimeError):  # torch's writer fails so ("unexpected pos")
                torch.save(dict(trainer_state), tmp / TRAINER_FILE)
    return final


def _with_user_dict_copy(model_meta: Mapping[str, Any], folder: Path) -> dict[str, Any]:
    """`model_meta`, its tokenizer's jieba user dictionary copied into `folder`.

    `predict` on another machine, or after the dictionary was moved, reads the checkpoint's
    copy (`Tokenizer.from_config(..., root=checkpoint)`; `with_user_dict_copy`).
    """
    from vecgraft.text.tokenize import with_user_dict_copy

    meta = dict(model_meta)
    tokenizer = meta.get("tokenizer")
    if isinstance(tokenizer, Mapping):
        meta["tokenizer"] = with_user_dict_copy(tokenizer, folder)
    return meta


def load_checkpoint(
    path: str | os.PathLike[str], *, model_meta: Any = None, remedy: Remedy | None = None
) -> Checkpoint:
    """Read a checkpoint folder written by `save_checkpoint`.

    `model_meta`: its model.json as already read (a resume reads it to set up the model
    first); None reads it here. Checked against the schema either way. `remedy`: what the
    caller's user can do about damaged weights (default: retrain).
    """
    p = resolve_checkpoint(path)
    raw = read_json(p / MODEL_META) if model_meta is None else model_meta
    meta = check_schema(raw, _MODEL_SCHEMA, p / MODEL_META)
    labels = saved_labels(read_json(p / LABELS_FILE), p / LABELS_FILE)
    vocab_file = p / VOCAB_FILE
    if not vocab_file.exists():
        raise CheckpointError(f"{vocab_file}: missing (incomplete checkpoint)")
    vocab = Vocab.load(vocab_file)
    state = None
    if (p / STATE_FILE).exists():
        state = check_schema(read_json(p / STATE_FILE), _STATE_SCHEMA, p / STATE_FILE)
        check_schema(state, _LATER_STATE_SCHEMA, p / STATE_FILE, required=False)
    return Checkpoint(p, meta, vocab, labels, state, remedy or Remedy())


def other_checkpoint(run: Path, name: str) -> Path | None:
    """The run's other checkpoint folder (last/ for best/, and back) where it has weights."""
    other = {"best": "last", "last": "best"}.get(name)
    if other is None:
        return None
    folder = folder_or_old_twin(run / other)
    return run / other if folder is not None and (folder / MODEL_FILE).is_file() else None


def resume_remedy(run: Path) -> Remedy:
    """Damaged last/ weights of a run being resumed: start it again; best/ is apart.

    A resume continues from last/ alone (best/ holds no optimizer state); a finished run's
    best/ is still what predict, evaluate and export read. Another --out keeps it, so that
    comes first: --overwrite replaces the whole run, best/ included, which it said nothing of.
    """
    has_best = other_checkpoint(run, "last") is not None
    best = has_best and (run / "metrics.json").is_file()
    note = " (its best/ still serves predict, evaluate and export)" if best else ""
    lost = ", best/ included" if has_best else ""
    return Remedy(f"the run cannot resume from it{note}; start it again",
                  Hint(" under another {}, or with {}, which replaces the run" + lost,
                       Opt("out", "...", "DIR"), Opt("overwrite", "True")))  # fmt: skip


def missing_best(run: Path) -> tuple[str, Path | None]:
    """(what is wrong, the last/ folder that can stand in) of a finished run without best/.

    Shared by predict/evaluate (`--checkpoint last`) and export (the folder), each adding
    its own way to name last/. It was "(it was interrupted)" of a run that had finished,
    and predict's "RUN/best: no such checkpoint folder". last/ is found as every reader
    finds a checkpoint (`folder_or_old_twin`): a save killed between its renames leaves
    `.last.old`, which `--checkpoint last` reads.
    """
    head = f"{run}: this run finished, but its best/ checkpoint is missing (deleted or moved?)"
    last = folder_or_old_twin(run / "last")
    if last is not None and (last / MODEL_META).is_file():
        return head, last
    return f"{head}, and so is last/: put best/ back, or train the run again", None
