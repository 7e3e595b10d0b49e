"""Read a local transformer checkpoint's config and its input-embedding matrix.

Only the one tensor `input` mode needs is read (`safe_open` maps it without building the
model). Pickle checkpoints (`pytorch_model.bin`) are opened with `weights_only=True`, so a
file that would run code when unpickled is refused instead of trusted.
"""

from __future__ import annotations

import os
import pickle
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vecgraft._util.jsonfile import RECORD_LIMIT, JsonFileError, read_json_file
from vecgraft.errors import FormatError
from vecgraft.io.model2vec import is_static_model, static_model_refusal

# model_type -> names (suffixes) of the input-embedding tensor, most specific first. A key
# matches a suffix when it equals it or ends with "." + suffix, so "bert.embeddings..." (a
# BertForMaskedLM save) and "embeddings..." (a BertModel save) both match.
EMBEDDING_NAMES: dict[str, tuple[str, ...]] = {
    "bert": ("embeddings.word_embeddings.weight",),
    "distilbert": ("embeddings.word_embeddings.weight",),
    "roberta": ("embeddings.word_embeddings.weight",),
    "xlm-roberta": ("embeddings.word_embeddings.weight",),
    "camembert": ("embeddings.word_embeddings.weight",),
    "electra": ("embeddings.word_embeddings.weight",),
    "albert": ("embeddings.word_embeddings.weight",),
    "deberta": ("embeddings.word_embeddings.weight",),
    "deberta-v2": ("embeddings.word_embeddings.weight",),
    "modernbert": ("embeddings.tok_embeddings.weight",),
    "gpt2": ("wte.weight",),
    "llama": ("embed_tokens.weight",),
    "mistral": ("embed_tokens.weight",),
    "qwen2": ("embed_tokens.weight",),
    "gemma": ("embed_tokens.weight",),
    "openai-gpt": ("tokens_embed.weight",),
    "clip": ("text_model.embeddings.token_embedding.weight",),
    "clip_text_model": ("embeddings.token_embedding.weight",),
}
# Tried for any other model_type, so a new family with a familiar layout still works.
GENERIC_NAMES: tuple[str, ...] = (
    "embeddings.word_embeddings.weight",
    "embed_tokens.weight",
    "wte.weight",
    "word_embeddings.weight",
    "shared.weight",
    "tokens_embed.weight",
    "token_embedding.weight",
    "tok_embeddings.weight",
)

SAFETENSORS = "model.safetensors"
SAFETENSORS_INDEX = "model.safetensors.index.json"
PICKLE = "pytorch_model.bin"


@dataclass(frozen=True)
class Checkpoint:
    """A local checkpoint folder: its parsed `config.json` and where its weights are.

    Attributes:
        path: the folder.
        config: the parsed config.json.
        weights: weight files (one safetensors, the shards of an index, or one .bin).
    """

    path: Path
    config: dict[str, Any]
    weights: tuple[Path, ...] = field(default_factory=tuple)

    @property
    def model_type(self) -> str:
        """The config's `model_type` ("" when absent)."""
        return str(self.config.get("model_type", ""))

    @property
    def vocab_size(self) -> int | None:
        """The config's `vocab_size`, when it has one."""
        value = self.config.get("vocab_size")
        return int(value) if isinstance(value, int) else None

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Checkpoint:
        """Inspect a checkpoint folder; a missing config or weight file is a FormatError."""
        folder = Path(path)
        if not folder.is_dir():
            raise FormatError(
                "expected a local checkpoint folder (config.json + model.safetensors or "
                "pytorch_model.bin); hub names are not downloaded",
                path=folder,
            )
        if is_static_model(folder):  # its one `embeddings` tensor is no transformer's
            raise FormatError(static_model_refusal(folder), path=folder)
        config_path = folder / "config.json"
        try:
            config = read_json_file(config_path, limit=RECORD_LIMIT)
        except FileNotFoundError as exc:
            raise FormatError("no config.json in the checkpoint folder", path=folder) from exc
        except JsonFileError as exc:
            raise FormatError(f"config.json {exc}", path=config_path) from exc
        except ValueError as exc:
            raise FormatError(f"config.json is not valid JSON ({exc})", path=config_path) from exc
        if not isinstance(config, dict):
            raise FormatError("config.json must hold a JSON object", path=config_path)
        return cls(folder, config, _weight_files(folder))


def _weight_files(folder: Path) -> tuple[Path, ...]:
    if (folder / SAFETENSORS).is_file():
        return (folder / SAFETENSORS,)
    index = folder / SAFETENSORS_INDEX
    if index.is_file():
        try:
            weight_map = read_json_file(index, limit=RECORD_LIMIT)["weight_map"]
            shards = sorted(set(weight_map.values()))
        except (OSError, KeyError, TypeError, AttributeError, ValueError) as exc:
            raise FormatError(f"not a safetensors index ({exc!r})", path=index) from exc
        missing = [s for s in shards if not (folder / s).is_file()]
        if missing:
            raise FormatError(f"shards named here are missing: {', '.join(missing)}", path=index)
        return tuple(folder / s for s in shards)
    if (folder / PICKLE).is_file():
        return (folder / PICKLE,)
    seen = ", ".join(sorted(p.name for p in folder.iterdir())[:20]) or "nothing"
    raise FormatError(
        f"no weights found: expected {SAFETENSORS}, {SAFETENSORS_INDEX} or {PICKLE}; "
        f"the folder holds {seen}",
        path=folder,
    )


def check_weights(path: str | os.PathLike[str]) -> Checkpoint:
    """Open a folder and read each safetensors header, before a model loader meets them.

    transformers reports a damaged or cut-short file as a bare `SafetensorError` and a
    missing shard as `KeyError('metadata')`; here either is a FormatError naming the file.
    Reading a header maps the file without loading its tensors.
    """
    from safetensors import SafetensorError, safe_open

    checkpoint = Checkpoint.open(path)
    for weights in checkpoint.weights:
        if weights.suffix != ".safetensors":
            continue
        try:
            with safe_open(weights, framework="pt"):
                pass
        except SafetensorError as exc:
            raise FormatError(f"not a readable safetensors file ({exc})", path=weights) from exc
    return checkpoint


def find_embedding_name(names: Sequence[str], model_type: str, *, path: Path) -> str:
    """Pick the input-embedding tensor among `names` for `model_type`.

    Raises:
        FormatError: listing the tensor names seen when no known name fits.
    """
    for suffix in EMBEDDING_NAMES.get(model_type, GENERIC_NAMES):
        hits = [n for n in names if n == suffix or n.endswith("." + suffix)]
        if hits:
            # the shortest name is the base model's own table, not e.g. a tied copy in a head
            return min(hits, key=len)
    shown = ", ".join(sorted(names)[:40]) + (" ..." if len(names) > 40 else "")
    raise FormatError(
        f"cannot find the input-embedding tensor for model_type {model_type or '(none)'!r}; "
        f"tensors seen: {shown}; --mode contextless (mode='contextless') reads the words "
        "through the model instead",
        path=path,
    )


def unpickling_reason(exc: BaseException) -> str:
    """The useful part of torch's weights-only refusal, without its retry advice.

    torch's message suggests re-running with `weights_only=False`, i.e. executing the pickle;
    vecgraft must never pass that on, so only the unpickler's own reason is kept.
    """
    text = str(exc)
    marker = "WeightsUnpickler error:"
    if marker in text:
        after = text.split(marker, 1)[1].splitlines()
        detail = next((ln.strip() for ln in after if ln.strip()), "")
        if detail and "weights_only" not in detail:
            return detail
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    safe = [ln for ln in lines if "weights_only" not in ln and "Weights only load" not in ln]
    return safe[0] if safe and len(safe[0]) < 300 else type(exc).__name__


def pickle_refused(path: Path, exc: BaseException) -> FormatError:
    """The error for a pickle weight file that is not weights-only, naming the file.

    One message for every loader (vecgraft's own `torch.load`, and transformers'
    `from_pretrained`, which unpickles weights-only too but raises torch's advice to retry
    with `weights_only=False`, i.e. to run the file's code).
    """
    file = path / PICKLE if path.is_dir() else path
    return FormatError(
        f"refused to load: not a weights-only PyTorch state dict ({unpickling_reason(exc)}); "
        "vecgraft never unpickles anything but tensors — re-save the weights as "
        "model.safetensors with code you trust",
        path=file if file.exists() else path,
    )


def load_pickle_state_dict(path: Path) -> dict[str, Any]:
    """A `pytorch_model.bin` state dict, unpickled with weights-only semantics.

    A file holding anything but tensors and plain containers (e.g. an object whose unpickling
    would run code) is refused with a FormatError rather than executed.
    """
    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's notes about pickle protocols
            state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, AttributeError) as exc:
        raise pickle_refused(path, exc) from exc
    if not isinstance(state, dict):
        raise FormatError(
            f"expected a state dict (name -> tensor), found {type(state).__name__}", path=path
        )
    return state


def read_input_embeddings(checkpoint: Checkpoint) -> np.ndarray:
    """The input-embedding matrix, float32 [vocab_size, dim], read without building the model."""
    import torch

    for weights in checkpoint.weights:
        if weights.suffix == ".bin":
            state = load_pickle_state_dict(weights)
            name = find_embedding_name(list(state), checkpoint.model_type, path=weights)
            tensor = state[name]
        else:
            tensor = _read_safetensors(weights, checkpoint, last=weights == checkpoint.weights[-1])
            if tensor is None:
                continue
        if not isinstance(tensor, torch.Tensor) or tensor.ndim != 2:
            raise FormatError(
                f"the input-embedding tensor is not a matrix "
                f"(shape {tuple(getattr(tensor, 'shape', ()))})",
                path=weights,
            )
        return tensor.to(torch.float32).numpy()
    raise FormatError("no weight files", path=checkpoint.path)  # pragma: no cover


def _read_safetensors(path: Path, checkpoint: Checkpoint, *, last: bool) -> Any:
    """The embedding tensor from one safetensors file; None if this shard lacks it."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(path, framework="pt") as fh:
            names = list(fh.keys())
            try:
                name = find_embedding_name(names, checkpoint.model_type, path=path)
            except FormatError:
                if not last:
                    return None
                raise
            return fh.get_tensor(name)
    except SafetensorError as exc:
        raise FormatError(f"not a readable safetensors file ({exc})", path=path) from exc
