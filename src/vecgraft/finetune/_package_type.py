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
from vecgraft.finetune.run_predictor import RunPredictor as _RunPredictor
from vecgraft.finetune.train import Trainer as _Trainer
from vecgraft.finetune.train import TrainState as _TrainState

__all__ = ["FinetunePackage"]


class FinetunePackage:
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
    RunPredictor = _RunPredictor
    RunResult = _RunResult
    ScheduleKind = _ScheduleKind
    TrainState = _TrainState
    Trainer = _Trainer
    finetune = staticmethod(_finetune)
    load_run = staticmethod(_load_run)
    register_family = staticmethod(_register_family)
    # a module's own attributes and the public submodules, declared only (not bound: `vars`
    # holds the package's `__all__`), each submodule's names untyped. Neither a subclass of
    # `types.ModuleType` (typeshed gives it a `__getattr__` -> Any) nor a `__getattr__` of
    # its own (any name a module): either hid a misspelling (`vecgraft.finetune.FinetuneConfg`)
    # from mypy
    __all__: list[str]
    __file__: str
    __name__: str
    __path__: list[str]
    averaging: types.ModuleType
    batching: types.ModuleType
    checkpoint: types.ModuleType
    class_weight: types.ModuleType
    config: types.ModuleType
    crossfit: types.ModuleType
    data: types.ModuleType
    dedup: types.ModuleType
    distributed: types.ModuleType
    ensemble: types.ModuleType
    families: types.ModuleType
    fusion: types.ModuleType
    hf_family: types.ModuleType
    labels: types.ModuleType
    lazy_adam: types.ModuleType
    linear: types.ModuleType
    linear_recipe: types.ModuleType
    metrics: types.ModuleType
    plots: types.ModuleType
    predict: types.ModuleType
    prepare: types.ModuleType
    recipe: types.ModuleType
    run: types.ModuleType
    run_predictor: types.ModuleType
    rundir: types.ModuleType
    scoring: types.ModuleType
    splits: types.ModuleType
    state: types.ModuleType
    text_settings: types.ModuleType
    train: types.ModuleType
    unknown: types.ModuleType
    vectors_arg: types.ModuleType
    vectors_record: types.ModuleType


finetune: FinetunePackage  # declared, never bound: `vecgraft` imports it for type checkers
