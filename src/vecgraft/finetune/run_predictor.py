"""`RunPredictor`: what `load_run` gives, as one name a caller can annotate and test with.

Why a module of its own: `predict` defines `Predictor`, while `LinearPredictor` and
`EnsemblePredictor` are defined in modules that import `predict`, so the union of all four
can only be built after them (`isinstance(p, RunPredictor)` works: a real union).
"""

from __future__ import annotations

from typing import TypeAlias

from vecgraft.finetune.ensemble import EnsemblePredictor
from vecgraft.finetune.linear_recipe import LinearPredictor
from vecgraft.finetune.predict import FusedPredictor, Predictor

# by the kind of run: each has labels, predict, predict_proba, predict_values, evaluate
RunPredictor: TypeAlias = Predictor | FusedPredictor | LinearPredictor | EnsemblePredictor

__all__ = ["RunPredictor"]
