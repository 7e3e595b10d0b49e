"""Evaluation: similarity and analogy scores, comparisons of sources, classification reports.

Classification metrics are computed in `vecgraft.finetune.metrics` (fine-tuning needs them
for early stopping, and evaluation may drive fine-tuning but not the reverse); they are
re-exported here because this is where users look for them.

`word_similarity` and `analogies` follow gensim's conventions (see `intrinsic`). Names are
imported on first use, so importing this package stays cheap.
"""

from __future__ import annotations

from vecgraft._util.lazy import lazy_exports

_EXPORTS = {
    "word_similarity": "vecgraft.evaluate.intrinsic",
    "analogies": "vecgraft.evaluate.intrinsic",
    "SimilarityResult": "vecgraft.evaluate.intrinsic",
    "AnalogyResult": "vecgraft.evaluate.intrinsic",
    "classification_metrics": "vecgraft.finetune.metrics",
    "ClassificationMetrics": "vecgraft.finetune.metrics",
    "plot_word_map": "vecgraft.evaluate.wordmap",
    "CompareConfig": "vecgraft.evaluate.compare",
    "TuneResult": "vecgraft.evaluate.tune",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
