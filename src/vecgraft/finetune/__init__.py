"""Fine-tune text classifiers on top of pretrained embeddings.

`finetune(FinetuneConfig(train=..., vectors=..., model="cnn", out=...))` runs the whole job
and writes a run folder; `load_run(run_dir)` gives a predictor for new texts (a `RunPredictor`:
a `Predictor`, or the fused, linear or ensemble run's own). Names are
imported lazily so `import vecgraft.finetune` does not import torch-heavy modules up front.
The package is callable as `finetune`: `vecgraft.finetune(config)` runs the job.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vecgraft._util.callable_module import make_callable
from vecgraft._util.lazy import lazy_exports

if TYPE_CHECKING:  # what `__getattr__` gives, for type checkers: imported on first use at run time
    from vecgraft.finetune.batching import BucketBatchSampler as BucketBatchSampler
    from vecgraft.finetune.config import FinetuneConfig as FinetuneConfig
    from vecgraft.finetune.config import Metric as Metric
    from vecgraft.finetune.config import OptimizerKind as OptimizerKind
    from vecgraft.finetune.config import ScheduleKind as ScheduleKind
    from vecgraft.finetune.distributed import DistContext as DistContext
    from vecgraft.finetune.families import ModelFamily as ModelFamily
    from vecgraft.finetune.families import register_family as register_family
    from vecgraft.finetune.predict import Predictor as Predictor
    from vecgraft.finetune.predict import load_run as load_run
    from vecgraft.finetune.recipe import ClassifierRecipe as ClassifierRecipe
    from vecgraft.finetune.run import RunResult as RunResult
    from vecgraft.finetune.run import finetune as finetune
    from vecgraft.finetune.run_predictor import RunPredictor as RunPredictor
    from vecgraft.finetune.train import Trainer as Trainer
    from vecgraft.finetune.train import TrainState as TrainState

_EXPORTS = {
    "FinetuneConfig": "vecgraft.finetune.config",
    "OptimizerKind": "vecgraft.finetune.config",
    "ScheduleKind": "vecgraft.finetune.config",
    "Metric": "vecgraft.finetune.config",
    "finetune": "vecgraft.finetune.run",
    "RunResult": "vecgraft.finetune.run",
    "ClassifierRecipe": "vecgraft.finetune.recipe",
    "ModelFamily": "vecgraft.finetune.families",
    "register_family": "vecgraft.finetune.families",
    "Trainer": "vecgraft.finetune.train",
    "TrainState": "vecgraft.finetune.train",
    "load_run": "vecgraft.finetune.predict",
    "Predictor": "vecgraft.finetune.predict",
    "RunPredictor": "vecgraft.finetune.run_predictor",
    "BucketBatchSampler": "vecgraft.finetune.batching",
    "DistContext": "vecgraft.finetune.distributed",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


# -- `vecgraft.finetune` is both this package and its `finetune` function ---------------------
# `vecgraft.tune(...)` is a function, while `vecgraft.finetune`, the stage package, said
# "'module' object is not callable"; torch is imported by the call, not by the import.
make_callable(__name__, "vecgraft.finetune.run:finetune")
