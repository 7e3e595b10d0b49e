"""PyTorch modules: embedding factories (`vecgraft.nn.embedding`) and classifier heads.

Names are re-exported lazily so importing `vecgraft.nn` costs nothing until one is used.
"""

from __future__ import annotations

from vecgraft._util.lazy import lazy_exports

_EXPORTS = {
    "pretrained_embedding": "vecgraft.nn.embedding",
    "pretrained_embedding_bag": "vecgraft.nn.embedding",
    "random_embedding": "vecgraft.nn.embedding",
    "save_embedding": "vecgraft.nn.embedding",
    "load_embedding": "vecgraft.nn.embedding",
    "file_checksum": "vecgraft.nn.embedding",
    "alignment_report": "vecgraft.nn.embedding",
    "ModelKind": "vecgraft.nn.kinds",
    "build_model": "vecgraft.nn.models",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
