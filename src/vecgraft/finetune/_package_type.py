"""`vecgraft.finetune` as a type checker sees it: the package's names, called as `finetune`.

Why: at run time `vecgraft.finetune` is the package, callable (`make_callable`). A type
checker cannot see a module as callable ("Module not callable"), and `vecgraft`'s
`TYPE_CHECKING` block gave it the `finetune` function instead, so `import vecgraft.finetune`
then `vecgraft.finetune.FinetuneConfig(...)` was an error under mypy (a function has no
such attribute). `FinetunePackage` has both: its call is `finetune`'s signature and its
attributes are the package's `__all__` (tests check they are the same objects). A type
checker reads a name after it only as a value, not as a type: annotate with
`from vecgraft.finetune import FinetuneConfig`. Imported by `vecgraft` only for type checkers.
"""

from __future__ import annotations

import types

from vecgraft.finetune.batching import BucketBatchSampler as _BucketBatchSampler
from vecgraft.finetune.config import FinetuneConfig as _FinetuneConfig
from vecgraft.finetune.config import Metric as _Metric
from vecgraft.finetune.config import OptimizerKind as _OptimizerKind
from vecgraft.finetune.config import ScheduleKind as _ScheduleKind
from vecgraft.finetune.distributed import DistContext as _DistContext
from vecgraft.finetune.families import ModelFamily as _ModelFamily
from vecgraft.finetune.families import register_family as _register_family
from vecgraft.finetune.predict import Predictor as _Predictor
from vecgraft.finetune.predict import load_run as _load_run
from vecgraft.finetune.recipe import ClassifierRecipe as _ClassifierRecipe
from vecgraft.finetune.run import RunResult as _RunResult
from vecgraft.finetune.run import finetune as _finetune
from vecgraft.finetune.train import Trainer as _Trainer
from vecgraft.finetune.train import TrainState as _TrainState

__all__ = ["FinetunePackage"]


class FinetunePackage(types.ModuleType):
    """The callable `vecgraft.finetune` package: `finetune(...)`, and each name of its `__all__`."""

    __call__ = staticmethod(_finetune)
    BucketBatchSampler = _BucketBatchSampler
    ClassifierRecipe = _ClassifierRecipe
    DistContext = _DistContext
    FinetuneConfig = _FinetuneConfig
    Metric = _Metric
    ModelFamily = _ModelFamily
    OptimizerKind = _OptimizerKind
    Predictor = _Predictor
    RunResult = _RunResult
    ScheduleKind = _ScheduleKind
    TrainState = _TrainState
    Trainer = _Trainer
    finetune = staticmethod(_finetune)
    load_run = staticmethod(_load_run)
    register_family = staticmethod(_register_family)

    def __getattr__(self, name: str) -> types.ModuleType:
        """Any other name: a submodule (`vecgraft.finetune.config`), its own names untyped."""
        raise AttributeError(name)


finetune: FinetunePackage  # declared, never bound: `vecgraft` imports it for type checkers
