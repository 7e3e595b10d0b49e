"""A model2vec / sentence-transformers static model folder: one matrix, a tokenizer, a config.

The layout is the one model2vec's `save_pretrained` writes and `StaticModel.from_pretrained`
reads (its `persistence/datamodels.py` lists the layouts it tries; this is the first):

* `model.safetensors`: one tensor `embeddings` [vocab_size, dim] (float32); row i belongs to
  token id i of the tokenizer;
* `tokenizer.json`: a Hugging Face `tokenizers` tokenizer (WordLevel here, with an unknown
  token, which model2vec drops before mean pooling);
* `config.json`: model2vec's `StaticModelConfig` (`model_type`, `hidden_dim`, `normalize`, ...);
* `modules.json`: so `SentenceTransformer(folder)` loads it as a `StaticEmbedding` module.

The tokenizer is built by a later stage (`vecgraft.text.hf_tokenizer`); this module only
writes what it is given, so `io` stays free of text processing.

Example:
    >>> config = model2vec_config(4)
    >>> config["model_type"], config["hidden_dim"], config["normalize"]
    ('model2vec', 4, False)
    >>> write_model2vec("out/", matrix, tokenizer_json, config=config)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from vecgraft._util.atomic import atomic_directory
from vecgraft._util.jsonfile import RECORD_LIMIT, read_json_file
from vecgraft.errors import FormatError

__all__ = [
    "MODEL2VEC_FILES",
    "is_static_model",
    "model2vec_config",
    "static_model_refusal",
    "write_model2vec",
]

MODEL2VEC_FILES = ("model.safetensors", "tokenizer.json", "config.json", "modules.json")


def model2vec_config(dim: int, *, normalize: bool = False, **extra: Any) -> dict[str, Any]:
    """The `config.json` model2vec expects for a word-level static model of width `dim`."""
    return {
        "model_type": "model2vec",
        "architectures": ["StaticModel"],
        "tokenizer_name": None,
        "apply_pca": None,
        "sif_coefficient": None,
        "hidden_dim": int(dim),
        "seq_length": 1000000,
        "normalize": bool(normalize),
        "pooling": "mean",
        "embedding_dtype": "float32",
        "max_length": None,
        **extra,
    }


def write_model2vec(
    directory: str | os.PathLike[str],
    matrix: np.ndarray,
    tokenizer_json: str,
    *,
    config: Mapping[str, Any] | None = None,
    readme: str | None = None,
    files: Mapping[str, bytes] | None = None,
) -> Path:
    """Write a static model folder atomically; returns its path.

    Args:
        directory: the folder to create; an earlier one of this kind is replaced in one
            rename, a file or a folder of other files is refused (`check_replaceable`).
        matrix: [vocab_size, dim]; row i is the vector of the tokenizer's id i.
        tokenizer_json: the serialized tokenizer (`tokenizers.Tokenizer.to_str()`).
        config: extra keys for `config.json` (on top of `model2vec_config`).
        readme: optional `README.md` text (model card).
        files: more files to write into the folder, name -> bytes (a tokenizer's jieba
            dictionary, which the folder must carry to be read anywhere else).
    """
    from safetensors.numpy import save_file

    weights = np.ascontiguousarray(np.asarray(matrix, dtype=np.float32))
    if weights.ndim != 2:
        raise FormatError(f"expected a 2-D matrix, found shape {weights.shape}", path=directory)
    size = _vocab_size(tokenizer_json)
    if size != weights.shape[0]:
        raise FormatError(
            f"tokenizer has {size} tokens but the matrix has {weights.shape[0]} rows",
            path=directory,
        )
    cfg = model2vec_config(weights.shape[1], **dict(config or {}))
    modules = [
        {"idx": 0, "name": "0", "path": ".", "type": "sentence_transformers.models.StaticEmbedding"}
    ]
    with atomic_directory(directory, replaces=MODEL2VEC_FILES) as tmp:
        save_file({"embeddings": weights}, str(tmp / "model.safetensors"))
        (tmp / "tokenizer.json").write_text(tokenizer_json, encoding="utf-8")
        (tmp / "config.json").write_text(json.dumps(cfg, indent=2), encoding="utf-8")
        (tmp / "modules.json").write_text(json.dumps(modules, indent=2), encoding="utf-8")
        if readme is not None:
            (tmp / "README.md").write_text(readme, encoding="utf-8")
        for name, data in (files or {}).items():
            (tmp / name).write_bytes(data)
    return Path(directory)


def is_static_model(folder: Path) -> bool:
    """Whether `folder` holds a model2vec / `StaticEmbedding` model (as `write_model2vec` writes).

    Its config.json and model.safetensors make it look like a transformer checkpoint; it is
    known by config.json's `model_type` "model2vec" or a modules.json naming a
    `StaticEmbedding` module. Unreadable files count as not one (the caller's errors follow).
    """
    config, modules = _json_or_none(folder / "config.json"), _json_or_none(folder / "modules.json")
    if isinstance(config, dict) and config.get("model_type") == "model2vec":
        return True
    return isinstance(modules, list) and any(
        isinstance(m, dict) and str(m.get("type", "")).endswith("StaticEmbedding")
        for m in modules
    )


def static_model_refusal(folder: Path) -> str:
    """Why a static model folder is neither word vectors nor a checkpoint, and what to use."""
    return (
        "a model2vec static model (as `vecgraft export --to model2vec` writes: one embedding "
        "per tokenizer token), not word vectors or a transformer checkpoint: pass the vectors "
        "it was exported from, or load it with model2vec's "
        f"StaticModel.from_pretrained({str(folder)!r})"
    )


def _json_or_none(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return read_json_file(path, limit=RECORD_LIMIT)
    except (OSError, ValueError):
        return None


def _vocab_size(tokenizer_json: str) -> int:
    try:
        doc = json.loads(tokenizer_json)
        return len(doc["model"]["vocab"])
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise FormatError(f"not a WordLevel tokenizer JSON ({exc!r})") from None
