"""PyTorch modules: embedding factories (`vecgraft.nn.embedding`) and classifier heads.

Names are re-exported lazily so importing `vecgraft.nn` costs nothing until one is used.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "pretrained_embedding": "vecgraft.nn.embedding",
    "pretrained_embedding_bag": "vecgraft.nn.embedding",
    "random_embedding": "vecgraft.nn.embedding",
    "save_embedding": "vecgraft.nn.embedding",
    "load_embedding": "vecgraft.nn.embedding",
    "file_checksum": "vecgraft.nn.embedding",
    "alignment_report": "vecgraft.nn.embedding",
    "ModelKind": "vecgraft.nn.models",
    "build_model": "vecgraft.nn.models",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'vecgraft.nn' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
