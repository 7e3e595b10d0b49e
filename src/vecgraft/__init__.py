"""vecgraft: graft pretrained word vectors and transformer embeddings into PyTorch models.

The flow reads off the package tree: `io` (vector files) -> `text` (tokenize, vocab) ->
`align` (matrix, OOV rows) -> `nn` (modules) -> `pretrain` -> `finetune` -> `evaluate` -> `cli`.
Public names are imported lazily so `import vecgraft` stays fast and side-effect free.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Vectors": "vecgraft.vectors",
    "load": "vecgraft.io",
    "save": "vecgraft.io",
    "Vocab": "vecgraft.text.vocab",
    "Tokenizer": "vecgraft.text.tokenize",
    "build_vocab": "vecgraft.text.vocab",
    "iter_texts": "vecgraft.text.corpus",
    "align": "vecgraft.align",
    "AlignmentReport": "vecgraft.align",
    "pretrained_embedding": "vecgraft.nn.embedding",
    "random_embedding": "vecgraft.nn.embedding",
    "save_embedding": "vecgraft.nn.embedding",
    "load_embedding": "vecgraft.nn.embedding",
    "from_transformer": "vecgraft.io.transformer",
    "VecgraftError": "vecgraft.errors",
}

__all__ = [*sorted(_EXPORTS), "__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'vecgraft' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
