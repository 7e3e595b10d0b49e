"""TuneSpec and TrialData: what a search is asked to do and the data its trials see.

Split out of `vecgraft.evaluate.tune`, which re-exports these names.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vecgraft.finetune.config import FinetuneConfig, Metric, Task
from vecgraft.finetune.splits import VALID_KEEPS_BELOW

JOURNAL_FILE = "study.journal"
LOCK_FILE = "study.lock"
INTERRUPTED = "interrupted"  # user attribute of a trial that was killed mid-run
# system attribute of a running trial: the process that runs it ({"host", "pid", "start"}),
# so a later command fails only the trials whose process is gone (`trial_owner_state`)
OWNER_ATTR = "vecgraft_owner"
# system attribute of the study: the command choosing the best trial and retraining final/
# (an owner as above; None once done), so that of two commands on one --out one finishes
FINISHER_ATTR = "vecgraft_finisher"
DEFAULT_ATTR = "default"  # user attribute of the first trial: the base settings
# user attribute of a trial queued again after an interrupt: the place (`_place`) of the
# trial it repeats, which seeds its draws
PLACE_ATTR = "place"
# user attribute of a trial: the fused model's mean validation score at each network share
# (accuracy for classes, mean squared error for a regression)
FUSION_ACCURACY_ATTR = "fusion_accuracy"
FUSION_MSE_ATTR = "fusion_mse"
POOL_ATTR = "fusion_pool"  # the log-linear pool (network, linear) fitted on the trial's rows
POOL_SCORE_ATTR = "fusion_pool_accuracy"  # its mean validation accuracy over the folds
# the network share chosen by the class-weighted accuracy, where `class_weight` weighs the
# trials (the final run ships it, as `finetune` chooses it); the scores stay unweighted
WEIGHTED_SHARE_ATTR = "fusion_weighted_share"
JUDGED_FUSED_ATTR = "judged_fused"  # the trial's value is the fused model's score
# the fused model's mean validation score at the combination the user fixed (fuse_weight,
# fuse_pool): accuracy, or a regression's mean squared error
FIXED_SCORE_ATTR = "fusion_fixed_score"
# called with (trial number, fold, train rows, valid rows) before each fold of a trial runs
TrialDataHook = Callable[[int, int, Any, Any], None]


@dataclass
class TuneSpec:
    """Everything a worker needs to join the search (picklable, for worker processes).

    Attributes:
        base: settings every trial starts from (data paths, vectors, model, seed, metric).
        out: the run folder (study journal, reports, `final/`).
        trials: finished trials the study should end with.
        timeout: seconds after which this command starts no new trial (None: no limit).
        cv: K stratified folds of the training data instead of one validation split.
        storage: an Optuna storage URL (None: the journal file in `out`).
        study: the study's name.
        space: setting -> distribution (see `vecgraft.evaluate.space`).
        jobs: worker processes on this machine.
        select: which trial is retrained: "one-se" (the defaults unless the top trial beats
            them by more than one standard error of its fold scores) or "best".
        load_progress: the vectors' load's progress, in this process and each worker
            (False: `--no-progress`, no plain lines from a large file's read; None: `load`'s).
        vectors_encoding: how the vectors, a fastText .bin, store their words (Python's
            codec name, e.g. "cp852"), in this process and each worker; None: UTF-8.
        unset_tokenizer: what a continued study's saved `tokenizer` None stands for where
            this command's is set ("regex": it was started with it unset on these texts,
            which meant the regex rule then; `tune._unset_was_regex`); None: itself.
        valid_keeps_below: a label with fewer rows gives the trials' validation split none
            (`prepare.valid_split`); 2, the rule before, for a study started with it.
    """

    base: FinetuneConfig
    out: str
    trials: int = 20
    timeout: float | None = None
    cv: int | None = None
    storage: str | None = None
    study: str = "vecgraft-tune"
    space: dict[str, Any] = field(default_factory=dict)
    jobs: int = 1
    select: str = "one-se"
    load_progress: bool | None = None
    vectors_encoding: str | None = None
    unset_tokenizer: str | None = None
    valid_keeps_below: int = VALID_KEEPS_BELOW

    def load_vectors(self) -> Any:
        """`base.vectors` read as every trial and the final run see them (in its encoding)."""
        from vecgraft.io import load

        encoding = self.vectors_encoding or "utf-8"
        return load(self.base.vectors, progress=self.load_progress, encoding=encoding)

    @property
    def regression(self) -> bool:
        """Numeric labels: trials are scored by validation loss (MSE), the fusion by MSE."""
        return bool(self.base.task == Task.REGRESSION)

    @property
    def fusion_attr(self) -> str:
        """The trial attribute holding the fused validation score per network share."""
        return FUSION_MSE_ATTR if self.regression else FUSION_ACCURACY_ATTR

    @property
    def judges_fusion(self) -> bool:
        """Trials are judged by the fused model's score, the model the final run ships.

        Where the trials fuse and the metric is the one the fusion is scored by: accuracy,
        or the mean squared error (`loss`) of a regression. Another metric (macro F1, a
        classifier's cross-entropy) judges the network alone.
        """
        return self.base.metric == (Metric.LOSS if self.regression else Metric.ACCURACY)

    def best_share(self, scores: Mapping[float, float]) -> float:
        """The network share a fused score table picks: best accuracy, or least error."""
        from vecgraft.finetune.fusion import best_weight, least_error_weight

        return least_error_weight(scores) if self.regression else best_weight(scores)

    @property
    def direction(self) -> Any:
        """Optuna's direction for the metric (only `loss` is minimised)."""
        return "minimize" if self.base.metric == Metric.LOSS else "maximize"


def judged_fused(trial: Any) -> bool:
    """Whether `trial`'s value is the fused model's score (journals before the pool: a share)."""
    return bool(trial.user_attrs.get(JUDGED_FUSED_ATTR) or "fused_share" in trial.user_attrs)


@dataclass
class TrialData:
    """The rows of a search: folds the trials see, and the held-out test part they never do.

    Attributes:
        pool: all rows trials may use (train, or train + valid); the final model trains on it.
        folds: (train, valid) pairs a trial runs on.
        held_out: the test rows carved from `--train` (None when `--test` is given).
        notes: how the splits were made (for the report).
        seen: every training row read, before `train_fraction` (None: `pool`): a test text
            among them is a duplicate, as `finetune` counts it, whether or not the
            subsample kept it.
    """

    pool: Any
    folds: list[tuple[Any, Any]]
    held_out: Any
    notes: dict[str, Any]
    seen: Any = None
