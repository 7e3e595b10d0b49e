"""`tune(...)`: hyperparameter search on Optuna, honest by construction.

The data is split before anything is tried: `--test` (or, without it, a stratified
`test_fraction` of `--train`, carved with the same seed rule as `vecgraft finetune`) is set
aside and never reaches a trial. Trials see only the rest: a validation split carved from it,
`--valid`, or `--cv K` stratified folds (a trial's score is the mean over folds). Each trial
is a `ClassifierRecipe` run without files; its per-epoch validation score feeds Optuna's
pruner. When the search ends, the best settings are retrained on all the training data and
scored once on the test data.

The study lives in the run folder by default (Optuna's journal file), so running the same
command again after a kill continues it; a trial killed mid-run is marked failed and its
settings are tried again. `jobs` worker processes share the study; a lock file makes the
count of trials exact.

    >>> result = tune("train.csv", out="runs/tune", model="cnn", trials=30)  # doctest: +SKIP
    >>> result.best_params, result.test_metrics["accuracy"]                   # doctest: +SKIP

Only `loss` is minimised:

    >>> TuneSpec(FinetuneConfig(metric="loss"), out="runs/t").direction
    'minimize'
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vecgraft._util.atomic import atomic_write_json, atomic_write_text
from vecgraft._util.extras import require
from vecgraft.errors import ConfigError, DataError, VecgraftError
from vecgraft.finetune.config import FinetuneConfig, Metric
from vecgraft.finetune.prepare import Splits
from vecgraft.finetune.recipe import ClassifierRecipe

__all__ = ["TuneResult", "TuneSpec", "TrialData", "tune"]

JOURNAL_FILE = "study.journal"
LOCK_FILE = "study.lock"
INTERRUPTED = "interrupted"  # user attribute of a trial that was killed mid-run
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

    @property
    def direction(self) -> Any:
        """Optuna's direction for the metric (only `loss` is minimised)."""
        return "minimize" if self.base.metric == Metric.LOSS else "maximize"


@dataclass
class TrialData:
    """The rows of a search: folds the trials see, and the held-out test part they never do.

    Attributes:
        pool: all rows trials may use (train, or train + valid); the final model trains on it.
        folds: (train, valid) pairs a trial runs on.
        held_out: the test rows carved from `--train` (None when `--test` is given).
        notes: how the splits were made (for the report).
    """

    pool: Any
    folds: list[tuple[Any, Any]]
    held_out: Any
    notes: dict[str, Any]


@dataclass
class TuneResult:
    """What a search produced: best settings, trial table, the final run's test scores."""

    out: Path
    best_params: dict[str, Any]
    best_value: float
    trials: list[dict[str, Any]]
    test_metrics: dict[str, Any]
    final_config: FinetuneConfig


# -- data --------------------------------------------------------------------------------
def _read(path: str, config: FinetuneConfig) -> Any:
    from vecgraft.finetune.data import read_labelled

    data, _bad = read_labelled(
        path,
        text_column=config.text_column,
        label_column=config.label_column,
        encoding=config.encoding,
        errors=config.errors,
        bad_rows=config.bad_rows,
    )
    return data


def _concat(parts: list[Any]) -> Any:
    """One LabelledData of several, each row still naming its own file and line."""
    from vecgraft.text.labelled import LabelledData

    if len(parts) == 1:
        return parts[0]
    texts: list[str] = []
    labels: list[str] = []
    files: list[str] = []
    for part in parts:
        texts += part.texts
        labels += part.labels
        files += [part.where(i) for i in range(len(part))]
    return LabelledData(texts, labels, "", list(range(1, len(texts) + 1)), files)


def _split_seed(config: FinetuneConfig) -> int:
    return config.seed if config.split_seed is None else config.split_seed


def prepare_data(spec: TuneSpec) -> TrialData:
    """Read `--train` (and `--valid`), set the test part aside, and make the trials' folds.

    `--test` is not read here: it is read once, after the search (`final_splits`).
    """
    from vecgraft.finetune.data import stratified_split, subsample

    base = spec.base
    if base.train is None:
        raise ConfigError("no training data: pass --train PATH")
    train = _read(base.train, base)
    notes: dict[str, Any] = {"train": train.source}
    held_out = None
    if base.test is None:
        train, held_out = stratified_split(train, base.test_fraction, _split_seed(base))
        notes["test"] = (
            f"stratified {base.test_fraction:.0%} of {notes['train']} (seed "
            f"{_split_seed(base)}), set aside before the search"
        )
    else:
        notes["test"] = f"{base.test} (read only after the search)"
    if base.train_fraction < 1:
        train = subsample(train, base.train_fraction, base.seed)
        notes["train_fraction"] = base.train_fraction
    if base.valid is not None:
        valid = _read(base.valid, base)
        folds = [(train, valid)]
        pool = _concat([train, valid])
        notes["trials"] = f"train on {len(train)} rows, validate on {base.valid}"
    elif spec.cv:
        folds = _cv_folds(train, spec.cv, base.seed)
        pool = train
        notes["trials"] = f"{spec.cv}-fold stratified cross-validation on {len(train)} rows"
    else:
        fit, valid = stratified_split(train, base.valid_fraction, base.seed)
        folds = [(fit, valid)]
        pool = train
        notes["trials"] = (
            f"train on {len(fit)} rows, validate on a stratified {base.valid_fraction:.0%} "
            f"split ({len(valid)} rows)"
        )
    return TrialData(pool, folds, held_out, notes)


def _cv_folds(data: Any, k: int, seed: int) -> list[tuple[Any, Any]]:
    from sklearn.model_selection import StratifiedKFold

    counts = data.label_counts()
    if k < 2:
        raise ConfigError(f"cv must be >= 2 folds, got {k}")
    if min(counts.values()) < k:
        raise DataError(
            f"{data.source}: cv={k} needs at least {k} rows of every label; "
            f"the smallest label has {min(counts.values())} ({counts})"
        )
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [
        (data.select(sorted(tr)), data.select(sorted(va)))
        for tr, va in splitter.split(data.texts, data.labels)
    ]


class _GivenSplits(ClassifierRecipe):
    """A recipe on splits given in memory (a fold, or the final retrain).

    Mixed in front of the model family's own recipe class (`ClassifierRecipe`, or the linear
    baseline's `LinearRecipe`) by `splits_recipe`.
    """

    def __init__(self, config: FinetuneConfig, splits: Splits, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.given = splits

    def setup_data(self) -> None:
        """The given splits; labels come from the training part."""
        from vecgraft.finetune.data import LabelMap, filter_unknown_labels

        splits = self.given
        labels = sorted(set(splits.train.labels))
        if len(labels) < 2:
            raise DataError(f"{splits.train.source}: need at least 2 labels, found {labels}")
        label_map = LabelMap(labels)
        # a fold's validation rows of a label the fold's training part lacks cannot be scored
        valid, _ = filter_unknown_labels(splits.valid, label_map, bad_rows="skip")
        self.splits = Splits(splits.train, valid, splits.test, splits.notes)
        self.labels = labels
        self.targets = {n: label_map.encode_rows(getattr(self.splits, n)) for n in _SPLITS}
        self.sizes = {name: len(y) for name, y in self.targets.items()}

    def evaluate(self) -> dict[str, Any]:
        """As the recipe's; without validation rows (the final retrain) `valid` is None."""
        if self.sizes["valid"]:
            return super().evaluate()
        from vecgraft.finetune.metrics import classification_metrics

        self.load_best()
        test = self.score_split("test")
        y_true, y_pred = test.pairs()
        self.test_metrics = classification_metrics(y_true, y_pred, self.labels)
        scores = dict(self.test_metrics.to_dict())
        scores.update(
            accuracy=self.test_metrics.accuracy,
            macro_f1=self.test_metrics.macro_f1,
            loss=test.loss,
        )
        state = self.state
        self.metrics = {
            "test": scores,
            "valid": None,
            "best_epoch": state.best_epoch,
            "epochs_run": state.epoch,
            "stopped_early": state.stopped_early,
            "sizes": self.sizes,
            "labels": self.labels,
            "duplicates": self.splits.notes.get("duplicates", {}),
            "world_size": 1,
            "seconds": time.perf_counter() - self.started,
        }
        return self.metrics


def splits_recipe(config: FinetuneConfig, splits: Splits, **kwargs: Any) -> ClassifierRecipe:
    """The recipe of `config.model`'s family, fed `splits` (see `_GivenSplits`)."""
    from vecgraft.finetune.families import model_family

    base = getattr(model_family(config.model), "recipe", ClassifierRecipe)
    cls = type(f"Given{base.__name__}", (_GivenSplits, base), {})
    recipe: ClassifierRecipe = cls(config, splits, **kwargs)
    return recipe


_SPLITS = ("train", "valid", "test")


# -- one trial ---------------------------------------------------------------------------
class _Worker:
    """Runs trials of one study: samples settings, trains each fold, reports to the pruner."""

    def __init__(
        self,
        spec: TuneSpec,
        data: TrialData,
        *,
        hook: TrialDataHook | None = None,
        vectors: Any = None,
    ) -> None:
        self.spec = spec
        self.data = data
        self.hook = hook
        self._vectors = vectors

    def vectors(self) -> Any:
        """The vectors, loaded once per worker (trials only change what is trained on them)."""
        if self._vectors is None and self.spec.base.vectors != "random":
            from vecgraft.io import load

            self._vectors = load(self.spec.base.vectors)
        return self._vectors

    def config_for(self, trial: Any) -> FinetuneConfig:
        """The trial's settings: the base config with sampled values."""
        from vecgraft.evaluate.space import sample_settings, to_config_changes

        values = sample_settings(trial, self.spec.space)
        changes = to_config_changes(values, self.spec.space, self.spec.base.model_options)
        return self.spec.base.replace(**changes, plots=False, progress=False, resume=False)

    def objective(self, trial: Any) -> float:
        """Mean validation score over the folds (pruned from per-epoch or per-fold scores)."""
        import optuna

        config = self.config_for(trial)
        folds = self.data.folds
        key = f"valid_{config.metric.value}"
        scores: list[float] = []
        best_epochs: list[int] = []

        def on_epoch_end(epoch: int, row: dict[str, Any]) -> None:
            if len(folds) == 1 and key in row:
                trial.report(float(row[key]), epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"epoch {epoch}: {row[key]:.4f}")

        for i, (train, valid) in enumerate(folds):
            if self.hook is not None:
                self.hook(trial.number, i, train, valid)
            recipe = splits_recipe(
                config,
                Splits(train, valid, valid, {}),  # test = valid: score() never scores it
                write_files=False,
                vectors=self.vectors() if config.vectors != "random" else None,
                log=_quiet,
                on_epoch_end=on_epoch_end,
            )
            scores.append(recipe.score())
            best_epochs.append(recipe.state.best_epoch or recipe.state.epoch)
            if len(folds) > 1:
                trial.report(sum(scores) / len(scores), i)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"fold {i + 1}: mean {sum(scores) / len(scores)}")
        trial.set_user_attr("best_epoch", round(sum(best_epochs) / len(best_epochs)))
        trial.set_user_attr("fold_scores", scores)
        return sum(scores) / len(scores)


def _quiet(_msg: str) -> None:
    return None


# -- the study ---------------------------------------------------------------------------
def _storage(spec: TuneSpec) -> Any:
    """The study's storage: the journal file in the run folder, or the URL given."""
    import optuna

    if spec.storage is None:
        from optuna.storages.journal import JournalFileBackend

        Path(spec.out).mkdir(parents=True, exist_ok=True)
        return optuna.storages.JournalStorage(
            JournalFileBackend(str(Path(spec.out) / JOURNAL_FILE))
        )
    return spec.storage


def _open_study(spec: TuneSpec, seed_offset: int) -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=spec.base.seed + seed_offset)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=1)
    return optuna.create_study(
        storage=_storage(spec),
        study_name=spec.study,
        direction=spec.direction,
        sampler=sampler,
        pruner=pruner,
        load_if_exists=True,
    )


def _counted(study: Any) -> int:
    """Trials that count towards `trials`: finished, running, or failed by their settings."""
    from optuna.trial import TrialState

    n = 0
    for t in study.get_trials(deepcopy=False):
        counts = t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
        if counts or (t.state == TrialState.FAIL and not t.user_attrs.get(INTERRUPTED)):
            n += 1
    return n


def _recover_interrupted(study: Any) -> int:
    """Mark trials left running by a killed command as failed; queue their settings again."""
    from optuna.trial import TrialState

    stale = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for t in stale:
        study._storage.set_trial_user_attr(t._trial_id, INTERRUPTED, True)
        study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        study.enqueue_trial(t.params, skip_if_exists=False)
    return len(stale)


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    """An exclusive lock between this machine's workers (count, then ask, atomically)."""
    import fcntl

    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def run_worker(
    spec: TuneSpec,
    worker: int = 0,
    *,
    deadline: float | None = None,
    hook: TrialDataHook | None = None,
    vectors: Any = None,
    on_trial: Callable[[Any], None] | None = None,
    ready: Any = None,
) -> Any:
    """Run trials until the study has `spec.trials` of them or `deadline` passes.

    Returns the vectors this worker loaded (None if none), for the final retrain to reuse.
    """
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = _open_study(spec, seed_offset=1000 * worker + len(study_trials(spec)))
    runner = _Worker(spec, prepare_data(spec), hook=hook, vectors=vectors)
    lock = Path(spec.out) / LOCK_FILE
    if ready is not None:  # a worker process says it can take trials now
        ready.set()
    while True:
        with _lock(lock):
            if deadline is not None and time.time() >= deadline:
                return runner._vectors
            if _counted(study) >= spec.trials:
                return runner._vectors
            trial = study.ask()
        trial.set_user_attr("worker", f"{os.getpid()}:{worker}")
        try:
            value = runner.objective(trial)
        except optuna.TrialPruned:
            study.tell(trial, state=TrialState.PRUNED)
        except VecgraftError as exc:  # settings the model rejects: a failed trial, go on
            trial.set_user_attr("error", str(exc))
            study.tell(trial, state=TrialState.FAIL)
        except BaseException:
            trial.set_user_attr(INTERRUPTED, True)
            study.tell(trial, state=TrialState.FAIL)
            raise
        else:
            study.tell(trial, value)
        if on_trial is not None:
            on_trial(study)


def study_trials(spec: TuneSpec) -> list[Any]:
    """The study's trials so far (none when it does not exist yet)."""
    import optuna

    try:
        return list(optuna.load_study(study_name=spec.study, storage=_storage(spec)).trials)
    except KeyError:
        return []


def _worker_main(spec: TuneSpec, worker: int, deadline: float | None, ready: Any) -> None:
    """Entry point of a worker process (`--jobs`)."""
    import torch

    torch.set_num_threads(1)
    run_worker(spec, worker, deadline=deadline, ready=ready)


# -- final retrain -----------------------------------------------------------------------
def final_splits(spec: TuneSpec, data: TrialData) -> Splits:
    """All training rows to train on, the test rows (read only now), no validation rows."""
    from vecgraft.finetune.data import drop_duplicates, find_duplicates

    base = spec.base
    test = data.held_out if base.test is None else _read(base.test, base)
    dupes = find_duplicates(data.pool, test)
    removed = bool(base.dedupe and dupes.count)
    if removed:
        test = drop_duplicates(test, dupes)
    if not len(test):
        raise DataError("the test set is empty (after removing duplicates)")
    empty = data.pool.select([])
    notes = {
        **data.notes,
        "duplicates": {**dupes.to_dict(), "removed": removed},
        "final": "retrained on all training rows; no validation split (epochs from the search)",
    }
    return Splits(data.pool, empty, test, notes)


def _final_config(spec: TuneSpec, best: Any) -> FinetuneConfig:
    """The best trial's settings for the final run: its best epoch count, no early stopping."""
    from vecgraft.evaluate.space import to_config_changes

    changes = to_config_changes(best.params, spec.space, spec.base.model_options)
    epochs = max(1, int(best.user_attrs.get("best_epoch") or changes.get("epochs", 1)))
    changes.update(epochs=epochs, patience=None)
    if "freeze_epochs" in changes:
        changes["freeze_epochs"] = min(int(changes["freeze_epochs"]), epochs)
    return spec.base.replace(
        **changes, out=str(Path(spec.out) / "final"), resume=False, progress=False
    )


def best_yaml(config: FinetuneConfig) -> str:
    """The final settings as a YAML config `vecgraft finetune --config` accepts."""
    import yaml

    data = config.to_dict()
    data.update(out="runs/tuned", resume=False, plots=True, progress=None)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


# -- outputs -----------------------------------------------------------------------------
def trial_rows(trials: list[Any]) -> list[dict[str, Any]]:
    """One row per trial: number, state, value, seconds, best epoch, then every setting."""
    rows = []
    for t in trials:
        seconds = (
            (t.datetime_complete - t.datetime_start).total_seconds()
            if t.datetime_complete and t.datetime_start
            else None
        )
        rows.append(
            {
                "number": t.number,
                "state": t.state.name,
                "value": t.value,
                "seconds": seconds,
                "best_epoch": t.user_attrs.get("best_epoch"),
                **{f"param_{k}": v for k, v in sorted(t.params.items())},
            }
        )
    return rows


def _csv_text(rows: list[dict[str, Any]]) -> str:
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def tune(
    train: str | os.PathLike[str] | None = None,
    *,
    out: str | os.PathLike[str] = "runs/tune",
    valid: str | os.PathLike[str] | None = None,
    test: str | os.PathLike[str] | None = None,
    vectors: str = "random",
    model: str | None = None,
    trials: int = 20,
    timeout: float | None = None,
    cv: int | None = None,
    storage: str | None = None,
    study: str | None = None,
    space: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    jobs: int = 1,
    seed: int | None = None,
    config: FinetuneConfig | Mapping[str, Any] | None = None,
    trial_data_hook: TrialDataHook | None = None,
    loaded_vectors: Any = None,
    progress: bool | None = None,
    log: Callable[[str], None] | None = None,
) -> TuneResult:
    """Search fine-tuning settings with Optuna, retrain the best, score it once on test data.

    Args:
        train: labelled training data (as in `vecgraft finetune`).
        out: run folder: study journal, `best.yaml`, `trials.csv`, `final/`, reports.
        valid: validation data for the trials (default: a split of `train`).
        test: test data, read only after the search; without it, a stratified
            `test_fraction` of `train` is set aside before the search.
        vectors: vector file or "random" (overrides `config`).
        model: model family (overrides `config`).
        trials: finished trials the study ends with (a re-run continues the study).
        timeout: seconds after which no new trial starts (this command).
        cv: K-fold stratified cross-validation for each trial (small data).
        storage: an Optuna storage URL shared by several machines (default: a journal file
            in `out`).
        study: the study's name.
        space: a `--space` file or mapping overriding the family's built-in space.
        jobs: worker processes on this machine.
        seed: seed of splits, trials and the sampler (overrides `config`).
        config: other settings of every trial (a FinetuneConfig or a mapping of its fields).
        trial_data_hook: called with (trial, fold, train rows, valid rows) before each fold
            (tests use it to check what trials see; only with jobs=1).
        loaded_vectors: vectors already loaded (instead of loading `vectors`).
        progress: progress bar/lines (None: on).
        log: where summary lines go (default: print).

    Returns:
        TuneResult with the best settings and the final run's test metrics.
    """
    require("optuna", "tune", feature="vecgraft tune")
    say = log or print
    base = _base_config(config, train, valid, test, vectors, model, seed)
    _check_arguments(base, trials, jobs, cv, trial_data_hook)
    spec = _tune_spec(base, out, trials, timeout, cv, storage, study, space, jobs)
    data, deadline = _start(spec, say)
    vectors = _search(spec, deadline, trial_data_hook, loaded_vectors, progress)
    return _finish(spec, data, vectors, say)


def _tune_spec(
    base: FinetuneConfig,
    out: str | os.PathLike[str],
    trials: int,
    timeout: float | None,
    cv: int | None,
    storage: str | None,
    study: str | None,
    space: str | os.PathLike[str] | Mapping[str, Any] | None,
    jobs: int,
) -> TuneSpec:
    """The picklable description of the search that worker processes receive."""
    return TuneSpec(
        base=base,
        out=str(out),
        trials=trials,
        timeout=timeout,
        cv=cv,
        storage=storage,
        study=study or "vecgraft-tune",
        space=_search_space(base, space),
        jobs=jobs,
    )


def _start(spec: TuneSpec, say: Callable[[str], None]) -> tuple[TrialData, float | None]:
    """Read the data (bad data fails here, before any trial), make the folder, set the deadline.

    The deadline counts from here; a local journal's interrupted trials are then requeued.
    """
    data = prepare_data(spec)
    Path(spec.out).mkdir(parents=True, exist_ok=True)
    say(f"Search: {data.notes['trials']}; test: {data.notes['test']}")
    deadline = None if spec.timeout is None else time.time() + spec.timeout
    if spec.storage is None:
        _recover_journal(spec, say)
    return data, deadline


def _check_arguments(
    base: FinetuneConfig,
    trials: int,
    jobs: int,
    cv: int | None,
    trial_data_hook: TrialDataHook | None,
) -> None:
    """Refuse contradictory search arguments before any data is read or any trial runs."""
    if trials < 1:
        raise ConfigError(f"trials must be >= 1, got {trials}")
    if jobs < 1:
        raise ConfigError(f"jobs must be >= 1, got {jobs}")
    if cv is not None and base.valid is not None:
        raise ConfigError("cv and valid exclude each other: folds are carved from train")
    if jobs > 1 and trial_data_hook is not None:
        raise ConfigError("trial_data_hook needs jobs=1 (worker processes cannot call it)")


def _search_space(
    base: FinetuneConfig, space: str | os.PathLike[str] | Mapping[str, Any] | None
) -> dict[str, Any]:
    """The family's built-in space with the user's overrides (a `--space` file or a mapping)."""
    from vecgraft.evaluate.space import family_space, load_space_file

    if isinstance(space, str | os.PathLike):
        overrides: Mapping[str, Any] = load_space_file(space)
        source = str(space)
    else:
        overrides, source = (space or {}), "space"
    _check_family(base)
    return family_space(base.model.value, overrides, source=source)


def _recover_journal(spec: TuneSpec, say: Callable[[str], None]) -> None:
    """Requeue the trials a killed earlier run left RUNNING in the local journal."""
    study_obj = _open_study(spec, 0)
    recovered = _recover_interrupted(study_obj)
    if recovered:
        say(f"{recovered} trial(s) interrupted earlier: marked failed, settings queued again")


def _check_family(base: FinetuneConfig) -> None:
    """A clear error when the model kind has no registered family (e.g. `linear` too early)."""
    from vecgraft.finetune.families import model_family

    model_family(base.model)


def _base_config(
    config: FinetuneConfig | Mapping[str, Any] | None,
    train: Any,
    valid: Any,
    test: Any,
    vectors: str,
    model: str | None,
    seed: int | None,
) -> FinetuneConfig:
    if isinstance(config, FinetuneConfig):
        base = config
    else:
        base = FinetuneConfig.from_dict(dict(config or {}), source="config")
    changes: dict[str, Any] = {"plots": False}
    for name, value in (("train", train), ("valid", valid), ("test", test)):
        if value is not None:
            changes[name] = str(value)
    if vectors != "random" or config is None:
        changes["vectors"] = str(vectors)
    if model is not None:
        changes["model"] = model
    if seed is not None:
        changes["seed"] = seed
    return base.replace(**changes)


def _search(
    spec: TuneSpec,
    deadline: float | None,
    hook: TrialDataHook | None,
    vectors: Any,
    show: bool | None,
) -> Any:
    """Run worker 0 here, plus `jobs - 1` worker processes on the same study."""
    import multiprocessing

    from vecgraft._util.console import Progress

    bar = Progress(total=spec.trials, desc="trial", enabled=show)
    done = [0]

    def on_trial(study: Any) -> None:
        from optuna.trial import TrialState

        finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
        new = len(finished) - done[0]
        done[0] = len(finished)
        best = _best_value(study)
        bar.update(max(new, 0), best="-" if best is None else f"{best:.4f}")

    ctx = multiprocessing.get_context("spawn")
    events = [ctx.Event() for _ in range(1, spec.jobs)]
    procs = [
        ctx.Process(target=_worker_main, args=(spec, w, deadline, ev), daemon=False)
        for w, ev in zip(range(1, spec.jobs), events)
    ]
    for p in procs:
        p.start()
    try:
        # start together: this process (imports done) would otherwise take the first trials
        # while the others are still importing torch
        for p, ev in zip(procs, events):
            while p.is_alive() and not ev.wait(0.2):
                pass
        vectors = run_worker(
            spec, 0, deadline=deadline, hook=hook, vectors=vectors, on_trial=on_trial
        )
    finally:
        for p in procs:
            p.join()
        bar.close()
    failed = [p.exitcode for p in procs if p.exitcode]
    if failed:
        raise VecgraftError(f"{len(failed)} tune worker process(es) failed (exit {failed})")
    return vectors


def _best_value(study: Any) -> float | None:
    try:
        return float(study.best_value)
    except ValueError:  # no completed trial yet
        return None


def _finish(
    spec: TuneSpec, data: TrialData, vectors: Any, say: Callable[[str], None]
) -> TuneResult:
    """Best trial -> best.yaml, trials.csv, the final retrain on all training data, reports."""
    from vecgraft.evaluate.tune_report import write_tune_reports

    study = _open_study(spec, 0)
    out = Path(spec.out)
    rows = trial_rows(study.trials)
    atomic_write_text(out / "trials.csv", _csv_text(rows))
    if _best_value(study) is None:
        raise VecgraftError(
            f"{out}: no trial completed ({len(rows)} ran); see {out / 'trials.csv'}"
        )
    best = study.best_trial
    final = _final_config(spec, best)
    atomic_write_text(out / "best.yaml", best_yaml(final))
    say(f"Best trial #{best.number}: {spec.base.metric.value} {best.value:.4f} {best.params}")
    say(f"Retraining on all {len(data.pool)} training rows, then scoring the test data once")
    recipe = splits_recipe(
        final,
        final_splits(spec, data),
        vectors=vectors if vectors is not None else _Worker(spec, data).vectors(),
        log=_quiet,
        overwrite=True,
    )
    result = recipe.run()
    test = result.metrics["test"]
    summary = {
        "study": spec.study,
        "storage": spec.storage or str(out / JOURNAL_FILE),
        "model": spec.base.model.value,
        "metric": spec.base.metric.value,
        "direction": spec.direction,
        "trials_requested": spec.trials,
        "cv": spec.cv,
        "data": data.notes,
        "space": spec.space,
        "best": {
            "number": best.number,
            "value": best.value,
            "params": best.params,
            "best_epoch": best.user_attrs.get("best_epoch"),
        },
        "final": {
            "train_rows": len(data.pool),
            "test_rows": recipe.sizes["test"],
            "epochs": final.epochs,
            "test": {k: test[k] for k in ("accuracy", "macro_f1", "loss")},
        },
        "trials": rows,
    }
    atomic_write_json(out / "tune.json", summary)
    write_tune_reports(summary, study, out)
    say(
        f"Test ({recipe.sizes['test']} texts, unseen during the search): accuracy "
        f"{100 * test['accuracy']:.2f}%, macro F1 {test['macro_f1']:.4f}"
    )
    say(f"Run folder: {out} (best.yaml, trials.csv, final/, report.md, report.html)")
    return TuneResult(out, dict(best.params), float(best.value), rows, test, final)
