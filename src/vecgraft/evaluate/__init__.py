"""Evaluation: similarity and analogy scores, comparisons of sources, classification reports.

Classification metrics are computed in `vecgraft.finetune.metrics` (fine-tuning needs them
for early stopping, and evaluation may drive fine-tuning but not the reverse); they are
re-exported here because this is where users look for them.

`word_similarity` and `analogies` follow gensim's conventions (see `intrinsic`). Names are
imported on first use, so importing this package stays cheap.

`compare` is the `vecgraft.evaluate.compare` module and, callable, its `compare` function:
`from vecgraft.evaluate import compare, CompareConfig` then `compare(CompareConfig(...))`
runs it, as `vecgraft.finetune(...)` does ("'module' object is not callable" before).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vecgraft._util.lazy import lazy_exports

if TYPE_CHECKING:  # what `__getattr__` gives, for type checkers: imported on first use at run time
    from vecgraft.evaluate.compare import CompareConfig as CompareConfig
    from vecgraft.evaluate.compare import compare as compare  # module and function
    from vecgraft.evaluate.intrinsic import AnalogyResult as AnalogyResult
    from vecgraft.evaluate.intrinsic import SimilarityResult as SimilarityResult
    from vecgraft.evaluate.intrinsic import analogies as analogies
    from vecgraft.evaluate.intrinsic import word_similarity as word_similarity
    from vecgraft.evaluate.tune import TuneResult as TuneResult
    from vecgraft.evaluate.wordmap import plot_word_map as plot_word_map
    from vecgraft.finetune.metrics import ClassificationMetrics as ClassificationMetrics
    from vecgraft.finetune.metrics import classification_metrics as classification_metrics

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

# submodules exported as themselves: `compare` is callable as its entry point
_MODULES = ("compare",)

__all__ = sorted([*_EXPORTS, *_MODULES])

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, _MODULES)
