"""Small training sets: several networks, each with its own validation split, averaged.

Why: at 5 % of BBC News (79 articles) or ChnSentiCorp (~350 reviews) the fused model's error
is mostly the network's seed-to-seed variance (`benchmarks/defaults.md` round 20: choosing
the linear share better gained nothing). Such a set gives each epoch a few batches, so the
step budget is cut by `max_epochs` and a run trains 200 short epochs. `ensemble=K` trains K
networks that share that cap (`max_epochs / K` each: at that size K networks cost about one
run), each with its own seed and its own validation split carved from the same training
rows (so each fused weight is chosen on other rows, and together the networks train on all
of them), and predicts with the mean of their (fused) class probabilities, or of their
numbers for a regression. Measured on held-out training data only (round 22): three
67-epoch members beat one 200-epoch run by 0.5-1.0 points at 5 % of BBC News,
ChnSentiCorp, MR and TREC (19 of 24 splits ahead); a regression on 5 % of SST-5 tied, so
the default (`ensemble=None`) ensembles classifiers only.

Layout: the run folder holds `config.json` (the run's own settings), `ensemble.json` (the
members), `members/<k>/` (each a complete run folder: `load_run` and `vecgraft evaluate`
read one alone too), and the ensemble's `metrics.json`, `report.txt` and plots. `load_run`
of the run folder gives an `EnsemblePredictor`.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vecgraft._util.atomic import atomic_write_json, atomic_write_text
from vecgraft._util.device import resolve_device
from vecgraft._util.jsonfile import RECORD_LIMIT, read_json_file
from vecgraft._util.runenv import environment
from vecgraft.errors import CheckpointError, ConfigError
from vecgraft.finetune.config import FinetuneConfig, Metric, Task
from vecgraft.finetune.labels import LabelMap, UnseenLabels
from vecgraft.finetune.linear import shared_features
from vecgraft.finetune.predict import ScoresFiles, held_load_run, parked_run_note, text_list
from vecgraft.finetune.prepare import Preread, Splits, carve_valid, preread
from vecgraft.finetune.recipe import ClassifierRecipe, RunResult
from vecgraft.finetune.rundir import (
    RunFolder,
    read_json_record,
    read_lock,
    record_overrides,
    run_lock,
)
from vecgraft.finetune.scoring import RegressionResult, TargetRange
from vecgraft.finetune.state import cap_trains_on
from vecgraft.finetune.text_settings import auto_tokenizer
from vecgraft.finetune.train import BudgetShare

__all__ = [
    "AUTO_MEMBERS",
    "ENSEMBLE_FILE",
    "EnsemblePlan",
    "EnsemblePredictor",
    "is_ensemble_run",
    "load_ensemble",
    "member_config",
    "plan_ensemble",
    "run_ensemble",
]

ENSEMBLE_FILE = "ensemble.json"
MEMBERS_DIR = "members"
AUTO_MEMBERS = 3  # rounds 21-22: three 67-epoch members; five were not measured
SEED_STEP = 100  # member k trains with seed + 100 k (round 21's probe did the same)
def combine_rule(config: FinetuneConfig) -> str:
    """How the members' outputs are combined, in words (ensemble.json's `rule`, the log)."""
    what = "predicted numbers" if config.task is Task.REGRESSION else "class probabilities"
    partner = _fused_partner(config)
    if partner is None:
        return f"mean of the members' {what}"
    return f"mean of the members' {what} (each fused with its {partner})"


def _fused_partner(config: FinetuneConfig) -> str | None:
    """The model each member is fused with ("linear model", "ridge regression"), or None.

    None for --no-fuse-linear, or a run that cannot fuse (hf; --valid-fraction 0 with no
    fixed weight): the rule said "each fused" of members that were not.
    """
    unfused = config.fuse_linear is None and config.fusion_blocker() is not None
    if config.fuse_linear is False or unfused or not config.word_embedding_model:
        return None
    return "ridge regression" if config.task is Task.REGRESSION else "linear model"


def _plot_title(config: FinetuneConfig, members: int) -> str:
    """What the confusion plot's title says the ensemble is.

    "ensemble of 3 boe runs" read as the networks alone, though each member is fused
    with its linear model by default (a single run's plot says so).
    """
    partner = _fused_partner(config)
    fused = f" (each fused with its TF-IDF {partner})" if partner else ""
    return f"ensemble of {members} {config.model} runs{fused}"


def is_ensemble_run(run_dir: str | os.PathLike[str]) -> bool:
    """Whether `run_dir` holds an ensemble run (ensemble.json beside its members)."""
    return (Path(run_dir) / ENSEMBLE_FILE).is_file()


# -- planning ------------------------------------------------------------------------------
@dataclass
class EnsemblePlan:
    """How many networks a run trains, on which data, and why (for the log)."""

    members: int
    data: Preread | None = None  # train and test before the validation split, if read
    why: str = ""


def auto_blocker(config: FinetuneConfig, distributed: bool) -> str | None:
    """Why the default (`ensemble=None`) keeps one network whatever the data size, or None."""
    if not config.word_embedding_model:
        return f"model {str(config.model)!r}"
    if config.task is Task.REGRESSION:  # round 22: a tie on SST-5 at 5 %, at 1.3x the time
        return "a regression"
    if distributed:
        return "a distributed run"
    if config.epochs is not None:
        return "epochs is fixed"
    if config.max_steps is not None:
        return "max_steps is set"
    if config.resume:
        return "a resumed single run"
    return None


def capped_epochs(config: FinetuneConfig, train_rows: int) -> int | None:
    """The epochs the step budget wants when `max_epochs` cuts it at `train_rows`, else None."""
    per_epoch = max(1, math.ceil(train_rows / config.batch_size))
    wanted = config.budget_epochs(per_epoch)
    return wanted if wanted > config.max_epochs else None


def plan_ensemble(config: FinetuneConfig, *, distributed: bool = False) -> EnsemblePlan:
    """The members of a run: `config.ensemble`, or the default's choice from the data size.

    The default reads the data (kept in `plan.data`, so that the run, one network or
    several, does not read it again) and counts the rows the network would train on: where
    the step budget would need more than `max_epochs` epochs, it trains `AUTO_MEMBERS`
    networks.
    """
    asked = config.ensemble
    if asked == 1 or (asked is None and auto_blocker(config, distributed) is not None):
        return EnsemblePlan(1)
    if distributed:
        raise ConfigError("ensemble runs in one process (not distributed)")
    data = preread(config)
    if asked is not None:
        return EnsemblePlan(asked, data, f"ensemble={asked}")
    rows = len(carve_valid(data.splits, config, config.seed, _quiet).train)
    wanted = capped_epochs(config, rows)
    if wanted is None:
        return EnsemblePlan(1, data)
    why = (f"{rows} training rows: the {config.train_steps}-step budget would need {wanted} "
           f"epochs, capped at {config.max_epochs}")  # fmt: skip
    return EnsemblePlan(AUTO_MEMBERS, data, why)


def _header(config: FinetuneConfig, members: int, cap: int, why: str) -> str:
    """The log's first line about the ensemble: what each member trains and validates on.

    It said "its own validation split" of a `--valid` file all members share, and "up to 67
    epochs" where `--epochs 2` fixed them.
    """
    epochs = config.epochs if config.epochs is not None else cap
    if config.valid is not None:
        checked = f", all validated on {config.valid}"
    elif config.valid_fraction > 0:
        checked = " and validation split"
    else:
        checked = ", none validated (--valid-fraction 0)"
    return (f"Ensemble of {members} networks ({why}): each with its own seed{checked}, "
            f"up to {epochs} epochs each; predictions averaged (--ensemble 1: one network)")


def member_config(config: FinetuneConfig, index: int, members: int, out: Path) -> FinetuneConfig:
    """Member `index`'s settings: its seed, its share of the epoch cap, its own folder.

    The test split stays the run's (`split_seed`), and a member is never an ensemble.
    """
    split_seed = config.seed if config.split_seed is None else config.split_seed
    cap = max(config.min_epochs, math.ceil(config.max_epochs / members))
    return config.replace(
        seed=config.seed + SEED_STEP * index, split_seed=split_seed, max_epochs=cap,
        ensemble=1, out=str(out / MEMBERS_DIR / str(index)),
    )  # fmt: skip


# -- training ------------------------------------------------------------------------------
def run_ensemble(
    config: FinetuneConfig,
    plan: EnsemblePlan,
    recipe_class: type[ClassifierRecipe],
    *,
    overwrite: bool = False,
    adopt: bool = False,
    log: Callable[[str], None] = print,
    **recipe_kwargs: Any,
) -> RunResult:
    """Train the plan's members into `config.out/members/`, then score their mean on test.

    Which members a resumed ensemble keeps is decided for all of them first
    (`_kept_members`): a member is kept as it is where its folder has `metrics.json`, its
    last/state.json does not say it is unfinished (`_reopened`), and no larger --max-steps
    trains it on (`_trains_on`). A member whose files cannot tell is a CheckpointError, before
    any member trains. Of the others, one with a `config.json` is resumed and the rest are
    trained anew. A failure before any member's first checkpoint removes what the run wrote.

    The folder is locked while the run writes it (`run_lock`), and each member's folder
    while that member trains: a second run into either, or `evaluate` of a member still
    training, fails at once. (`finetune`, which holds the folder already, calls
    `_run_ensemble`: the lock is not reentrant.)
    """
    with run_lock(config.out):
        return _run_ensemble(config, plan, recipe_class, overwrite=overwrite, adopt=adopt,
                             log=log, **recipe_kwargs)  # fmt: skip


def _run_ensemble(
    config: FinetuneConfig,
    plan: EnsemblePlan,
    recipe_class: type[ClassifierRecipe],
    *,
    overwrite: bool,
    adopt: bool,
    log: Callable[[str], None],
    **recipe_kwargs: Any,
) -> RunResult:
    """`run_ensemble` in a folder the caller holds the `run_lock` of."""
    started = time.perf_counter()
    out = Path(config.out)
    folder = RunFolder(out)
    if config.resume:
        folder.check_resume(adopt=adopt)
        plan = _resumed_plan(out, plan)
    else:
        folder.check_new(overwrite=overwrite)
    data = plan.data or preread(config)
    data.log_notes(log)
    if not config.resume:  # the members (and config.json) segment Chinese with jieba alike
        config = auto_tokenizer(config, recipe_kwargs.get("vectors"), data.splits.train.texts, log)
    k = plan.members
    first = member_config(config, 0, k, out)
    log(_header(config, k, first.max_epochs, plan.why))
    # a label with very few training rows, said once for the members (each carves alike)
    carve_valid(data.splits, first, first.seed, _quiet, few_log=log)
    device = recipe_kwargs.get("device") or resolve_device(config.device)  # as its members'
    folder.environment = environment(device)
    folder.claim(overwrite=overwrite, resume=config.resume)
    recipes: list[ClassifierRecipe | None] = []
    # the members' linear models share a vocabulary: each text list is featurised once
    with shared_features():
        try:
            if not config.resume:
                config.save(folder.record("config.json"))
            atomic_write_json(folder.record(ENSEMBLE_FILE), _record(config, k))
            folder.record(MEMBERS_DIR)
            record = _OverridesOnce(folder, config, log)
            kept = _kept_members(config, k, out)
            for index in range(k):
                recipe = None if kept[index] else _member_recipe(
                    config, data.splits, index, k, out, recipe_class, log, recipe_kwargs
                )
                if recipe is None:
                    log(f"Member {index + 1}/{k}: finished in {out / MEMBERS_DIR / str(index)}, "
                        "kept")  # fmt: skip
                # listed before it trains: a member interrupted after its first checkpoint
                # keeps the ensemble's folder, so that --resume can continue it
                recipes.append(recipe)
                if recipe is not None:
                    if config.resume:
                        recipe.before_training = record
                    with run_lock(recipe.config.out):  # `evaluate` of it waits for its end
                        recipe.run()
            folder.discard_replaced()
        except BaseException:
            if not any(getattr(r, "_checkpointed", False) for r in recipes) and not config.resume:
                folder.rollback()
            raise
        return _score(config, folder, data.splits, started, log)


class _OverridesOnce:
    """A resumed ensemble's changed settings into its config.json (`record_overrides`), once.

    Called by the first member that trains (`ClassifierRecipe.before_training`), after its
    resume's checks: a later plain --resume hands the saved settings to its members. Not
    where every member is kept or only scored again: the file then stated a cap no member
    ran under (`--resume --max-steps 3` of members that had finished their epochs at step 8).
    """

    def __init__(
        self, folder: RunFolder, config: FinetuneConfig, log: Callable[[str], None]
    ) -> None:
        self.folder, self.config, self.log = folder, config, log
        self.done = False

    def __call__(self) -> None:
        if self.done:
            return
        self.done = True
        said = record_overrides(self.folder.record("config.json"), self.config)
        if said is not None:
            self.log(said)


def _resumed_plan(out: Path, plan: EnsemblePlan) -> EnsemblePlan:
    """The plan of the ensemble run being resumed (its member count from ensemble.json)."""
    members = _read_record(out, lambda record: int(record["members"]))
    return EnsemblePlan(members, plan.data, f"resumed, {members} members")


def _read_record(run: Path, pick: Callable[[Any], Any]) -> Any:
    """`pick(ensemble.json's content)`; an unreadable or malformed record is a CheckpointError."""
    file = run / ENSEMBLE_FILE
    try:
        return pick(read_json_file(file, limit=RECORD_LIMIT))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{file}: not an ensemble record ({exc})") from exc


def _record(config: FinetuneConfig, members: int) -> dict[str, Any]:
    """ensemble.json: the members' folders and seeds, and the rule that combines them."""
    return {
        "members": members,
        "folders": [f"{MEMBERS_DIR}/{i}" for i in range(members)],
        "seeds": [config.seed + SEED_STEP * i for i in range(members)],
        "rule": combine_rule(config),
    }


def _member_recipe(
    config: FinetuneConfig,
    base: Splits,
    index: int,
    members: int,
    out: Path,
    recipe_class: type[ClassifierRecipe],
    log: Callable[[str], None],
    kwargs: dict[str, Any],
) -> ClassifierRecipe:
    """Member `index`'s recipe, new or resumed, not yet run (one `_kept_members` did not keep)."""
    from vecgraft.finetune.crossfit import given_recipe

    mine = member_config(config, index, members, out)
    where = Path(mine.out)
    resume = (where / "config.json").is_file()
    log(f"Member {index + 1}/{members} (seed {mine.seed}){', resumed' if resume else ''}:")
    splits = carve_valid(base, mine, mine.seed, _indented(log), few_log=_quiet)  # said once
    recipe = given_recipe(
        recipe_class, mine.replace(resume=resume), splits, log=_indented(log), adopt=resume,
        **kwargs,
    )
    # the ensemble's tokenizer, decided once (a resumed earlier run's regex kept for all)
    recipe.inherits_tokenizer = True
    # its "Training budget" line: its own epochs and steps, as one of the networks that
    # share the run's epoch cap (it said the run's 3000 steps -> 2 epochs)
    recipe.budget_share = BudgetShare(index + 1, members, config.max_epochs)
    return recipe


def _kept_members(config: FinetuneConfig, members: int, out: Path) -> list[bool]:
    """Which members a resume keeps as they are: finished, and not trained on (`_trains_on`).

    Decided for every member before any trains: a member that cannot tell stops the resume
    before the others were trained on to a new --max-steps.
    """
    kept = []
    for index in range(members):
        mine = member_config(config, index, members, out)
        where = Path(mine.out)
        metrics = where / "metrics.json"
        finished = metrics.is_file()
        state = _last_state(where) if finished else None  # read once, for both checks
        if finished and _reopened(state):
            # stale: so that this resume stopped again leaves it unfinished for `evaluate`
            metrics.unlink(missing_ok=True)
            finished = False
        kept.append(finished and not _trains_on(where, mine.max_steps, state))
    return kept


def _last_state(member: Path) -> Any:
    """A finished member's last/state.json, parsed; None without one (a linear member)."""
    file = member / "last" / "state.json"
    if not file.is_file():
        return None
    return read_json_record(file, "; cannot tell whether this member finished, so the "
                                  "ensemble cannot resume")  # fmt: skip


def _reopened(state: Any) -> bool:
    """Whether a member with metrics.json was reopened and stopped before it finished.

    `state` is its last/state.json (`_last_state`). A resume with a larger --max-steps
    stopped while it trained on: its last/state.json says not finished, but the
    metrics.json of the run it trained on from stays, and every later --resume kept it
    ("finished ..., kept") at its cut step. `_kept_members` removes its stale metrics.json.
    A member without last/ (a linear one) is finished where its metrics.json is.
    """
    return isinstance(state, dict) and state.get("finished") is False


def _trains_on(member: Path, max_steps: int | None, state: Any) -> bool:
    """Whether a finished member trains on to a resume's larger `max_steps` (else it is kept).

    As a single run does (`Trainer.reopen`; both ask `cap_trains_on`): where its own saved
    max_steps is what ended it, not early stopping. A resume with a larger --max-steps kept
    every finished member. Its recipe then resumes from its `last/` and `Trainer.reopen`
    decides (a member that also ran all its epochs at the cap is only scored again). A
    member whose config.json or last/state.json cannot tell is a CheckpointError naming the
    file, as a single run's resume is (`no state.json; cannot resume`): keeping it scored
    the ensemble as a mix of members trained to the new cap and one left at its old one,
    without a word.
    """
    if max_steps is None:
        return False
    saved = _member_max_steps(member / "config.json", max_steps)
    steps, early = _member_state(member / "last" / "state.json", state, max_steps)
    return cap_trains_on(steps, early, saved, max_steps)


def _cannot_tell(file: Path, what: str, max_steps: int) -> CheckpointError:
    """The error of a finished member whose `file` cannot say if it trains on to `max_steps`."""
    return CheckpointError(
        f"{file}: {what}; cannot tell whether this finished member trains on to "
        f"--max-steps {max_steps}, so the ensemble cannot resume"
    )


def _member_max_steps(file: Path, max_steps: int) -> int | None:
    """The `max_steps` a finished member's config.json saved (`_trains_on`)."""
    try:
        return FinetuneConfig.load(file, saved_run=True).max_steps
    except ConfigError as exc:  # its message names the file
        raise _cannot_tell(file, str(exc).removeprefix(f"{file}: "), max_steps) from exc
    except OSError as exc:
        raise _cannot_tell(file, f"unreadable ({exc.strerror or exc})", max_steps) from exc
    except ValueError as exc:  # not UTF-8
        raise _cannot_tell(file, f"unreadable ({exc})", max_steps) from exc


def _member_state(file: Path, state: Any, max_steps: int) -> tuple[int, bool]:
    """(global_step, stopped_early) of a finished member's last/state.json (`_trains_on`).

    `state` is `file` as `_last_state` parsed it (None: missing).
    """
    if state is None:
        raise _cannot_tell(file, "missing", max_steps)
    steps = state.get("global_step") if isinstance(state, dict) else None
    early = state.get("stopped_early") if isinstance(state, dict) else None
    if type(steps) is not int or steps < 0 or not isinstance(early, bool):
        raise _cannot_tell(
            file, "not a training state (expected an integer global_step and a boolean "
            "stopped_early)", max_steps,
        )  # fmt: skip
    return steps, early


def _score(
    config: FinetuneConfig,
    folder: RunFolder,
    splits: Splits,
    started: float,
    log: Callable[[str], None],
) -> RunResult:
    """The members' mean on the test split, as the run's metrics.json, report and plot."""
    from vecgraft.finetune.metrics import majority_baseline, mean_baseline

    predictor = held_load_ensemble(folder.path)  # the run holds it: a reader's lock would fail
    regression = predictor.regression
    members = [_member_metrics(path) for path in predictor.folders]
    # rounded_accuracy's clip: the targets of every training row the members drew from
    train_range = TargetRange.of(_train_targets(splits, True)) if regression else None
    gold, report, test, unseen = _test_scores(predictor, splits, train_range)
    first = members[0]
    metrics: dict[str, Any] = {
        "test": test,
        "valid": None,  # each member chose on its own validation split (members/<k>/)
        "best_epoch": None,
        "epochs_run": None,
        "stopped_early": False,
        "sizes": {**first.get("sizes", {}), "test": len(gold)},
        "labels": predictor.labels,
        "duplicates": first.get("duplicates"),
        "world_size": 1,
        "seconds": time.perf_counter() - started,
        "ensemble": {
            **_record(config, len(members)),
            "test": {"member_" + _score_key(regression): [_member_score(m, regression)
                                                         for m in members]},
        },
    }  # fmt: skip
    if regression:
        metrics["task"] = "regression"
        metrics["regression"] = {"test": dict(test)}
        train_targets = _train_targets(splits, regression)
        metrics["mean_baseline"] = mean_baseline(train_targets, gold)
        metrics["train_range"] = TargetRange.of(train_targets).to_dict()  # `evaluate` clips to it
    else:
        metrics["task"] = "classification"
        train_targets = _train_targets(splits, regression, predictor.labels)
        metrics["majority_baseline"] = majority_baseline(  # its macro F1 where the metric is
            train_targets, gold, predictor.labels, config.metric == Metric.MACRO_F1
        )
        if unseen:  # test labels no member was trained on: scored as errors, and said
            metrics["unseen_labels"] = unseen.to_dict()
            log(unseen.warning(splits.test.source, len(splits.test)))
    if "coverage" in first:
        metrics["coverage"] = first["coverage"]
    summary = _summary_lines(metrics, members, regression)
    plotted = _plot_title(config, len(members)) if config.plots else None
    _write(folder, metrics, report, plotted, summary)
    for line in summary:
        log(line)
    log(report.format_table())
    log(f"Run folder: {folder.path}")
    return RunResult(folder.path, metrics, [], report)


def _test_scores(
    predictor: EnsemblePredictor, splits: Splits, train_range: TargetRange | None
) -> tuple[list[Any], Any, Any, UnseenLabels]:
    """(gold targets, report, `metrics.json` test block, test labels the members lack).

    `train_range` (a regression's) is what `rounded_accuracy` clips rounded predictions to.
    """
    from vecgraft.finetune.fusion import fused_result
    from vecgraft.finetune.recipe import RegressionReport, classification_scores

    texts = list(splits.test.texts)
    if predictor.regression:
        from vecgraft.finetune.recipe import numeric_targets

        gold: list[Any] = numeric_targets(splits.test)
        outputs = np.asarray(predictor.predict_values(texts), dtype=np.float32)
        scores = RegressionResult.of(gold, outputs.tolist()).scores(train_range)
        return gold, RegressionReport(scores), scores, UnseenLabels()
    # as every member did: a test label the training data lacks is scored as an error
    gold, unseen = LabelMap(predictor.labels).encode_scored(splits.test.labels)
    proba = predictor.predict_proba(texts).numpy()
    names = predictor.labels + unseen.labels
    result: Any = fused_result(proba, gold, len(names), False)
    report, test = classification_scores(result, names, predictor.labels)
    return gold, report, test, unseen


def _score_key(regression: bool) -> str:
    """The score a member's test block is summarised by: accuracy, or a regression's RMSE."""
    return "rmse" if regression else "accuracy"


def _member_metrics(path: Path) -> dict[str, Any]:
    """A member folder's metrics.json (a CheckpointError naming it when unreadable)."""
    data = read_json_record(path / "metrics.json")
    if not isinstance(data, dict):
        raise CheckpointError(f"{path / 'metrics.json'}: not a metrics record")
    return data


def _member_score(metrics: dict[str, Any], regression: bool) -> float | None:
    """A member's own test score (`_score_key`), None when its metrics lack it."""
    value = (metrics.get("test") or {}).get(_score_key(regression))
    return None if value is None else float(value)


def _train_targets(splits: Splits, regression: bool, labels: Sequence[str] = ()) -> list[Any]:
    """Targets of every training row the members drew from (for the baselines)."""
    if regression:
        from vecgraft.finetune.recipe import numeric_targets

        return numeric_targets(splits.train)
    index = {label: i for i, label in enumerate(labels)}
    return [index[label] for label in splits.train.labels if label in index]


def _write(
    folder: RunFolder, metrics: dict[str, Any], report: Any, plotted: str | None, summary: list[str]
) -> None:
    """metrics.json, report.txt (`summary`, then the table) and the confusion plot.

    `plotted`: the model the confusion plot's title names (None: no plot).
    """
    import sys

    from vecgraft.errors import MissingExtraError

    atomic_write_json(folder.record("metrics.json"), metrics, finite=True)
    head = "\n".join(summary) + "\n\n"  # the log's lines: report.txt had the table only
    atomic_write_text(folder.record("report.txt"), head + report.format_table() + "\n")
    if not plotted or getattr(report, "confusion_cells", False) is not None:
        return  # a regression (no confusion matrix), or too many classes to draw
    try:
        from vecgraft.finetune.plots import confusion_title, plot_confusion

        title = confusion_title(report, "test", plotted)
        plot_confusion(report, folder.record("confusion.png"), title=title)
    except MissingExtraError as exc:
        print(f"note: plots skipped: {exc}", file=sys.stderr)


def _summary_lines(
    metrics: dict[str, Any], members: list[dict[str, Any]], regression: bool
) -> list[str]:
    """The ensemble's test score beside each member's, and the floor to clear."""
    from vecgraft.finetune.fusion import format_score
    from vecgraft.finetune.recipe import baseline_lines

    key = _score_key(regression)
    rule = metrics["ensemble"]["rule"]
    each = [_member_score(m, regression) for m in members]
    shown = ", ".join("-" if v is None else format_score(v, key) for v in each)
    return [
        f"Ensemble test ({len(each)} networks, {rule}): {key} "
        f"{format_score(metrics['test'][key], key)}; members alone: {shown}",
        *baseline_lines(metrics),
    ]


# -- prediction ----------------------------------------------------------------------------
class EnsemblePredictor(ScoresFiles):
    """An ensemble run: the mean of its members' probabilities (or numbers).

    Each member is what `load_run` gives for its folder (fused with its linear model where
    it was trained so), so a member scores alone as it did in the run: `members[k]`, its
    folder `folders[k]`. Their networks are `models` (one per member); there is no single
    `model`, since none of them alone predicts what the ensemble does. The members
    tokenize alike (`tokenizer`); each built its vocabulary from its own training split
    (`vocabs`), so `vocab` is one only where they all came out the same.
    """

    def __init__(self, members: Sequence[Any], folders: Sequence[Path]) -> None:
        if not members:
            raise CheckpointError("an ensemble needs at least one member")
        first = members[0]
        for path, member in zip(folders, members, strict=True):
            if member.labels != first.labels or member.regression != first.regression:
                raise CheckpointError(
                    f"{path}: its labels {member.labels} differ from {folders[0]}'s "
                    f"{first.labels}; the members cannot be averaged"
                )
        self.members = list(members)
        self.folders = list(folders)
        self.labels = list(first.labels)
        self.regression = bool(first.regression)
        self.last_read: Any = None

    @property
    def fused(self) -> bool:  # type: ignore[override]
        """Whether any member is fused with its linear model."""
        return any(member.fused for member in self.members)

    def model_kind(self) -> str:
        """"ensemble[...]" of the members' kinds, in `members` order."""
        return f"ensemble[{','.join(member.model_kind() for member in self.members)}]"

    @property
    def models(self) -> list[Any]:
        """Each member's network, in `members` order."""
        return [member.model for member in self.members]

    @property
    def model(self) -> Any:
        """No single network: an AttributeError saying so, and naming `models`.

        Not the first member's: its answers are not the ensemble's, and a script that saved
        "the run's tuned embedding" from it would save a third of what predicts.
        """
        raise AttributeError(
            f"an ensemble of {len(self.members)} networks has no single model: .models "
            "lists them (one per member, in .members order; .members[k] predicts as member k)"
        )

    @property
    def tokenizer(self) -> Any:
        """The members' tokenizer (one run's settings: every member tokenizes alike)."""
        return self.members[0].tokenizer

    @property
    def vocabs(self) -> list[Any]:
        """Each member's vocabulary, in `members` order."""
        return [member.vocab for member in self.members]

    @property
    def vocab(self) -> Any:
        """The members' vocabulary where they all built the same one, else AttributeError.

        Each member builds its own from its training split (the run's rows less its own
        validation split), so they differ unless every member trained on the same rows (a
        `valid` file).
        """
        first, *others = self.vocabs
        if all(vocab == first for vocab in others):
            return first
        raise AttributeError(
            f"the {len(self.members)} members of this ensemble each built their vocabulary "
            "from their own training split, and these differ: .vocabs lists them (in "
            ".members order)"
        )

    def unknown_tokens(self, texts: Sequence[str]) -> Any:
        """The first member's `UnknownTokens` (the members share one vocabulary rule)."""
        return self.members[0].unknown_tokens(texts)

    def predict_proba(self, texts: Iterable[str]) -> torch.Tensor:
        """Class probabilities [N, C] (columns in `self.labels` order): the members' mean."""
        self._classes_only("predict_proba")
        texts = text_list(texts)  # read by every member
        with shared_features():  # the members' linear models share a vocabulary
            parts = [member.predict_proba(texts).float().cpu() for member in self.members]
        return torch.stack(parts).mean(dim=0)

    def predict_values(self, texts: Iterable[str]) -> list[float]:
        """A regression's predicted number for each text: the members' mean."""
        if not self.regression:
            raise ConfigError("predict_values needs a regression run (--task regression)")
        texts = text_list(texts)  # read by every member
        with shared_features():  # the members' linear models share a vocabulary
            parts = np.asarray([member.predict_values(texts) for member in self.members])
        return [float(v) for v in parts.mean(axis=0)] if len(texts) else []


def load_ensemble(
    run_dir: str | os.PathLike[str], *, checkpoint: str = "best", device: str = "auto"
) -> EnsemblePredictor:
    """The members of the ensemble run in `run_dir`, each loaded with `load_run`.

    The folder is held while it is read (`read_lock`, as `load_run` holds it): one a run is
    writing is refused at once (a ConfigError).
    """
    with read_lock(run_dir):
        return held_load_ensemble(run_dir, checkpoint=checkpoint, device=device)


def held_load_ensemble(
    run_dir: str | os.PathLike[str], *, checkpoint: str = "best", device: str = "auto"
) -> EnsemblePredictor:
    """`load_ensemble` of a folder the caller holds (`load_run`, or the run scoring it).

    The members' folders are inside it, so they are read without a lock of their own.
    """
    run = Path(run_dir)
    file = run / ENSEMBLE_FILE
    names = _read_record(run, lambda record: [str(name) for name in record["folders"]])
    folders: list[Path] = []
    for name in names:
        parts = Path(name).parts
        if not parts or parts[0] != MEMBERS_DIR or ".." in parts or Path(name).is_absolute():
            raise CheckpointError(f"{file}: member folder {name!r} is not under {MEMBERS_DIR}/")
        folders.append(run / name)
    missing = [str(p) for p in folders if not (p / "metrics.json").is_file()]
    if missing:
        raise CheckpointError(
            f"{run}: unfinished ensemble (no metrics.json in {', '.join(missing)}); "
            f"finish it with --resume{parked_run_note(run)}"
        )
    members = [held_load_run(path, checkpoint=checkpoint, device=device) for path in folders]
    return EnsemblePredictor(members, folders)


def _quiet(_msg: str) -> None:
    return None


def _indented(log: Callable[[str], None]) -> Callable[[str], None]:
    """`log` with every line indented: a member's report reads as part of the ensemble's."""

    def indented(message: str) -> None:
        log("\n".join(f"  {line}" if line else line for line in message.split("\n")))

    return indented

