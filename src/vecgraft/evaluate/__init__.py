"""Evaluation: classification metrics and plots, similarity and analogy scores.

`word_similarity` and `analogies` follow gensim's conventions (see `intrinsic`). Names are
imported on first use, so importing this package stays cheap.
"""

from __future__ import annotations

from vecgraft._lazy import lazy_exports

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

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
