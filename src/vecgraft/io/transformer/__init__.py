"""Deprecated import path: transformer word vectors moved to `vecgraft.transformer`.

`vecgraft.io` reads files; running a transformer, pooling and grafting rows is its own stage
(`vecgraft.transformer`, after `nn`). This module keeps `from vecgraft.io.transformer import
from_transformer` working for one release, with a DeprecationWarning on first use. The
checkpoint-file reader itself lives in `vecgraft.io.hf_checkpoint`.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

_MOVED = ("Mode", "Pooling", "TransformerOptions", "from_transformer", "init_new_token_rows")
__all__ = list(_MOVED)


def __getattr__(name: str) -> Any:
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        f"vecgraft.io.transformer.{name} moved to vecgraft.transformer.{name}; "
        "the old path will be removed in the next release",
        DeprecationWarning,
        stacklevel=2,
    )
    # Looked up by name, not imported statically: io must not depend on a later stage.
    return getattr(importlib.import_module("vecgraft.transformer"), name)


def __dir__() -> list[str]:
    return sorted(_MOVED)
