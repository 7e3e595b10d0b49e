"""Evaluation: classification metrics and plots, similarity and analogy scores.

`word_similarity` and `analogies` follow gensim's conventions (see `intrinsic`). Names are
imported on first use, so importing this package stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "word_similarity": "vecgraft.evaluate.intrinsic",
    "analogies": "vecgraft.evaluate.intrinsic",
    "SimilarityResult": "vecgraft.evaluate.intrinsic",
    "AnalogyResult": "vecgraft.evaluate.intrinsic",
    "classification_metrics": "vecgraft.evaluate.classification",
    "ClassificationMetrics": "vecgraft.evaluate.classification",
    "CompareConfig": "vecgraft.evaluate.compare",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'vecgraft.evaluate' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
