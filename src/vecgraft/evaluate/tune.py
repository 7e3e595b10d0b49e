"""`tune(...)`: hyperparameter search on Optuna, honest by construction.

The data is split before anything is tried: `--test` (or, without it, a stratified
`test_fraction` of `--train`, carved with the same seed rule as `vecgraft finetune`) is set
aside and never reaches a trial. Trials see only the rest: a validation split carved from it,
`--valid`, or `--cv K` stratified folds (a trial's score is the mean over folds). Each trial
is a `ClassifierRecipe` run without files; its per-epoch validation score feeds Optuna's
pruner. When the search ends, the best settings are retrained on all the training data and
scored once on the test data. With `--cv`, the defaults (the study's first trial) are kept
unless the top trial beats them by more than one standard error of its fold scores
(`select="one-se"`, see `_tune_select`); `select="best"` always takes the top trial.

The study lives in the run folder by default (Optuna's journal file), so running the same
command again after a kill continues it; a trial killed mid-run is marked failed and its
settings are tried again, and later trials draw what an unstopped search draws (each draw
is seeded from the seed and the trial's place, `_tune_study._sampler`). `jobs` worker
processes share the study; a lock file makes the count of trials exact. They stop with the
command: stopped (Ctrl-C, an error, the CLI's SIGTERM) it stops them, each marking its
trial interrupted, and killed it leaves them a signal from the kernel or a changed parent
id (`vecgraft._util.signals.worker_signals`).

    >>> result = tune("train.csv", out="runs/tune", model="cnn", trials=30)  # doctest: +SKIP
    >>> result.best_params, result.test_metrics["accuracy"]                   # doctest: +SKIP

Only `loss` is minimised:

    >>> TuneSpec(FinetuneConfig(metric="loss"), out="runs/t").direction
    'minimize'
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from vecgraft._util.atomic import atomic_write_json, atomic_write_text, links_replaced
from vecgraft._util.console import WarningsOnce, warning_kind
from vecgraft._util.extras import require
from vecgraft.errors import FinishedElsewhereError, Opt, VecgraftError
from vecgraft.evaluate._tune_data import _SPLITS as _SPLITS
from vecgraft.evaluate._tune_data import _concat as _concat
from vecgraft.evaluate._tune_data import _cv_folds as _cv_folds
from vecgraft.evaluate._tune_data import _GivenSplits as _GivenSplits
from vecgraft.evaluate._tune_data import _read as _read
from vecgraft.evaluate._tune_data import _split_seed as _split_seed
from vecgraft.evaluate._tune_data import prepare_data as prepare_data
from vecgraft.evaluate._tune_data import splits_recipe as splits_recipe
from vecgraft.evaluate._tune_outputs import _csv_text as _csv_text
from vecgraft.evaluate._tune_outputs import _final_config as _final_config
from vecgraft.evaluate._tune_outputs import best_yaml as best_yaml
from vecgraft.evaluate._tune_outputs import failed_trials_line, failure_summary, final_test_words
from vecgraft.evaluate._tune_outputs import final_fusion as final_fusion
from vecgraft.evaluate._tune_outputs import final_splits as final_splits
from vecgraft.evaluate._tune_outputs import trial_rows as trial_rows
from vecgraft.evaluate._tune_setup import _base_config as _base_config
from vecgraft.evaluate._tune_setup import _check_arguments as _check_arguments
from vecgraft.evaluate._tune_setup import _check_family as _check_family
from vecgraft.evaluate._tune_setup import _check_fixed_settings as _check_fixed_settings
from vecgraft.evaluate._tune_setup import _recover_journal as _recover_journal
from vecgraft.evaluate._tune_setup import _search_space as _search_space
from vecgraft.evaluate._tune_setup import _start as _start
from vecgraft.evaluate._tune_setup import _tune_spec as _tune_spec
from vecgraft.evaluate._tune_spec import (
    FIXED_SCORE_ATTR,
    FUSION_ACCURACY_ATTR,
    FUSION_MSE_ATTR,
    POOL_ATTR,
    POOL_SCORE_ATTR,
    judged_fused,
)
from vecgraft.evaluate._tune_spec import INTERRUPTED as INTERRUPTED
from vecgraft.evaluate._tune_spec import JOURNAL_FILE as JOURNAL_FILE
from vecgraft.evaluate._tune_spec import LOCK_FILE as LOCK_FILE
from vecgraft.evaluate._tune_spec import TrialData as TrialData
from vecgraft.evaluate._tune_spec import TrialDataHook as TrialDataHook
from vecgraft.evaluate._tune_spec import TuneSpec as TuneSpec
from vecgraft.evaluate._tune_study import _counted as _counted
from vecgraft.evaluate._tune_study import _open_study as _open_study
from vecgraft.evaluate._tune_study import _quiet as _quiet
from vecgraft.evaluate._tune_study import _recover_interrupted as _recover_interrupted
from vecgraft.evaluate._tune_study import _storage as _storage
from vecgraft.evaluate._tune_study import _Worker as _Worker
from vecgraft.evaluate._tune_study import _worker_main as _worker_main
from vecgraft.evaluate._tune_study import default_trial as default_trial
from vecgraft.evaluate._tune_study import finish_released, takes_finish
from vecgraft.evaluate._tune_study import run_worker as run_worker
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.rundir import run_lock

__all__ = ["TuneResult", "TuneSpec", "TrialData", "tune"]


@dataclass
class TuneResult:
    """What a search produced: best settings, trial table, the final run's test scores."""

    out: Path
    best_params: dict[str, Any]
    best_value: float
    trials: list[dict[str, Any]]
    test_metrics: dict[str, Any]
    final_config: FinetuneConfig


# data: `_tune_data`; one trial and the study: `_tune_study`; final retrain and outputs:
# `_tune_outputs`; argument checks, spec and search space: `_tune_setup`


def config_remedies(say: Callable[[str], None]) -> Callable[[str], None]:
    """`say`, with finetune's one-label warning naming --config's keys, not finetune's flags.

    A trial that said one class told the user to pass --class-weight balanced, a flag tune
    lacks; tune takes class_weight and metric from its --config file.
    """
    from vecgraft.finetune.metrics import IMBALANCE_KEYS, imbalance_remedy

    flags, keys = imbalance_remedy(), imbalance_remedy(IMBALANCE_KEYS)
    return lambda line: say(line.replace(flags, keys))


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
    select: str = "one-se",
    config: FinetuneConfig | Mapping[str, Any] | None = None,
    trial_data_hook: TrialDataHook | None = None,
    loaded_vectors: Any = None,
    progress: bool | None = None,
    log: Callable[[str], None] | None = None,
    vectors_encoding: str | None = None,
) -> TuneResult:
    """Search fine-tuning settings with Optuna, retrain the best, score it once on test data.

    Args:
        train: labelled training data (as in `vecgraft finetune`).
        out: run folder: study journal, `best.yaml`, `trials.csv`, `final/`, reports.
        valid: validation data for the trials (default: a split of `train`).
        test: test data, read only after the search; without it, a stratified
            `test_fraction` of `train` is set aside before the search.
        vectors: vector file or "random"; any other value overrides `config`'s vectors,
            while the default "random" keeps them (and applies when there is no `config`).
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
        select: "one-se" (keep the defaults unless the top trial beats them by more than
            one standard error of its cv fold scores) or "best" (always the top trial).
        config: other settings of every trial (a FinetuneConfig or a mapping of its fields).
        trial_data_hook: called with (trial, fold, train rows, valid rows) before each fold
            (tests use it to check what trials see; only with jobs=1).
        loaded_vectors: vectors already loaded (instead of loading `vectors`).
        progress: progress bar/lines (None: on); False keeps each trial's start and end
            lines, written to `log` where one is given (else stderr).
        log: where summary lines go (default: print).
        vectors_encoding: how `vectors`, a fastText .bin, stores its words (e.g. "cp852"),
            as `vecgraft.load(encoding=)` reads them; part of the study's settings, so a
            later command in another encoding is refused, not continued (None: UTF-8).

    Returns:
        TuneResult with the best settings and the final run's test metrics.

    Raises:
        FinishedElsewhereError: another command on the same `out` (a second `tune` joined
            as a worker) still runs trials or is finishing: that one chooses and retrains,
            as said in a line; the CLI ends with status 0.
    """
    from vecgraft._util.rng import kept_rng
    from vecgraft.finetune.config import in_memory_error, in_memory_vectors
    from vecgraft.finetune.text_settings import check_user_dict

    require("optuna", "tune", feature="vecgraft tune")
    say = log or print
    base = _base_config(config, train, valid, test, vectors, model, seed)
    if in_memory_vectors(base.vectors) and loaded_vectors is None:  # another run's config
        raise in_memory_error(base.vectors)
    _check_arguments(base, trials, jobs, cv, trial_data_hook, timeout)
    check_user_dict(base, loaded_vectors)  # else every trial would fail on it alike
    spec = _tune_spec(
        base, out, trials, timeout, cv, storage, study, space, jobs, select, loaded_vectors
    )
    _check_fixed_settings(spec, loaded_vectors)  # finetune's setup refuses them in every trial
    # --no-progress quiets the vectors' load too, as finetune's does (it wrote its lines)
    spec = replace(spec, load_progress=False if progress is False else None,
                   vectors_encoding=_vectors_encoding(base, vectors_encoding, loaded_vectors))
    loaded = [loaded_vectors]

    def load_vectors() -> None:
        # once, after the data and before the study exists: a file that cannot be read
        # would fail every trial alike, and its study would refuse the corrected command
        if loaded[0] is None and spec.base.vectors != "random":
            loaded[0] = spec.load_vectors()

    def choose(now: TuneSpec, data: TrialData, earlier: Mapping[str, Any] | None) -> TuneSpec:
        return _chosen_tokenizer(now, loaded[0], data, say, earlier)

    spec, data, deadline = _start(spec, say, load_vectors, choose)
    loaded_vectors = loaded[0]  # worker 0's trials and the final run share them
    _say_tokenizer(spec.base, loaded_vectors, data.notes, say, spec.space)
    # finetune's warnings, once for the trials and the final run: the final run's measure
    # other rows ("52.8% of training tokens", not 52.7%) but say the same thing
    warn = WarningsOnce(config_remedies(say), key=warning_kind)
    # a link planted in the folder (a study handed over) is replaced, not written through
    with kept_rng(spec.base.device), links_replaced(spec.out):  # trials seed torch's generators
        vectors, timed_out = _search(spec, deadline, trial_data_hook, loaded_vectors, progress,
                                     warn, log)  # fmt: skip
        # a second command on this --out: the last to end finishes, the other ends here
        if not takes_finish(spec, say):
            raise FinishedElsewhereError(
                f"{spec.out}: another command on this study chooses the best trial and "
                "retrains final/ when its trials end"
            )
        try:
            # final/ is a run folder: locked as `finetune` locks its --out, so a
            # `finetune --out` or an `evaluate` of it fails at once. Held from trials.csv
            # to the reports, which describe that final/ run.
            with run_lock(Path(spec.out) / "final"):
                return _finish(spec, data, vectors, say, warn, timed_out)
        finally:
            finish_released(spec)


def _chosen_tokenizer(
    spec: TuneSpec,
    vectors: Any,
    data: TrialData,
    say: Callable[[str], None],
    earlier: Mapping[str, Any] | None = None,
) -> TuneSpec:
    """`spec` whose base segments Chinese search rows with jieba (`auto_tokenizer`), said once.

    Decided once on every search row: each trial deciding on its own fold could differ
    from the final run, and the trials' own lines are not shown. A `--space` that fixes or
    searches the tokenizer decides it for the trials instead. Decided before the study's
    settings are saved (`_start`), so they record it. `earlier`: the base settings of the
    study being continued; one that left the tokenizer to the texts with `tokenizer` unset
    ran its trials with the regex rule (an earlier release, or no jieba then), and keeps
    it: its trials and the new ones must be one search.
    """
    from vecgraft.finetune.text_settings import auto_tokenizer

    if "tokenizer" in (spec.space or {}):
        return spec
    if _unset_was_regex(spec, vectors, earlier):  # its saved None is compared as "regex"
        spec = replace(spec, unset_tokenizer="regex")
        kept = _kept_regex(spec, data, say)
        if kept is not None:
            return kept
    said: list[str] = []
    base = auto_tokenizer(spec.base, vectors, list(data.pool.texts), said.append)
    for line in said:
        say(line)
    if said:
        data.notes["tokenizer"] = said  # the report names it, as a tokenizer from the vectors
    if base is spec.base:
        return spec
    data.notes["tokenizer_from"] = "texts"  # best.yaml sets jieba: the report must not say unset
    return replace(spec, base=base)


def _unset_was_regex(spec: TuneSpec, vectors: Any, earlier: Mapping[str, Any] | None) -> bool:
    """Whether the study continued was started with `tokenizer` unset meaning the regex rule.

    Its trials then cut Chinese texts into clauses (an earlier release, or no jieba then).
    Not `--model linear`: unset, it read scikit-learn's word pattern, which no setting gives
    Chinese texts now (such a study is refused as one of other settings).
    """
    from vecgraft.finetune.text_settings import left_to_texts

    if earlier is None or earlier.get("tokenizer", "") is not None or spec.base.model == "linear":
        return False
    return left_to_texts(spec.base.replace(tokenizer=None), vectors)


def _kept_regex(
    spec: TuneSpec, data: TrialData, say: Callable[[str], None]
) -> TuneSpec | None:
    """`spec` continuing, with the regex rule, a study whose trials ran with it unset.

    Where jieba would now be chosen for its Chinese texts (said), or `--tokenizer regex`
    asks for it. `unset_tokenizer` (set by the caller) tells `_check_same_study` that the
    saved None meant "regex", so it compares like with like; nothing is written to the
    study: rewritten here, before that check, a command it refused (another batch size)
    left "regex" saved, and the study's own command was refused next (`'regex' ->
    'jieba'`), in a shared `--storage` too. None: nothing to keep (texts that are not Chinese keep
    `tokenizer` unset, as before; `--tokenizer jieba` is refused as other settings).
    """
    from vecgraft.finetune.text_settings import jieba_for

    if spec.base.tokenizer is None:
        if not jieba_for(list(data.pool.texts), lambda _line: None):
            return None
        line = (f"Tokenizer: regex (the study in {spec.out} was started with the regex rule on "
                "these Chinese texts, and continues with it; another --out segments them "
                "with jieba)")  # fmt: skip
        say(line)
        data.notes["tokenizer"] = [line]
        data.notes["tokenizer_from"] = "study"  # best.yaml sets regex
    elif spec.base.tokenizer != "regex":
        return None
    return replace(spec, base=spec.base.replace(tokenizer="regex"))


def _say_tokenizer(
    base: FinetuneConfig,
    vectors: Any,
    notes: dict[str, Any],
    say: Callable[[str], None],
    space: Mapping[str, Any] | None = None,
) -> None:
    """Say the tokenizer the trials take from the vectors' metadata, as finetune does.

    Each trial's run log said it ("Tokenizer: jieba (from the vectors' metadata.json; ...)",
    or "from the vectors file's own metadata" where a native file keeps it alone)
    but tune passes only its WARNING lines on, and best.yaml leaves `tokenizer` unset (the
    vectors give it again): a jieba search never said it was one. Kept for the report, with
    `notes["tokenizer_from"]` where the space fixes ("space") or searches ("search") it:
    then the vectors' kind is not the trials', and best.yaml sets it. The space's
    `zh_mode` is said the same way: "Chinese tokens: word+char (from the vectors'
    metadata.json ...)" was said while every trial read the characters the space fixed.
    """
    from vecgraft.evaluate.space import fixed_settings
    from vecgraft.finetune.text_settings import tokenizer_settings

    space = space or {}
    chosen, mode = space.get("tokenizer"), space.get("zh_mode")
    linear = base.model == "linear"  # no Chinese mode: jieba's words, its own n-grams
    lines: list[str] = []  # finetune's, from the settings every trial takes
    if isinstance(chosen, Mapping):  # searched: each trial draws its own, none to say
        lines.append(f"Tokenizer: searched by --space ({_choices(chosen)})")
        notes["tokenizer_from"] = "search"
    else:
        fixed = {k: v for k, v in fixed_settings(space).items() if k in ("tokenizer", "zh_mode")}
        tokenizer_settings(base.replace(**fixed), vectors, lines.append, linear=linear)
        if chosen is not None:
            lines.insert(0, f"Tokenizer: {chosen} (fixed by --space)")
            notes["tokenizer_from"] = "space"
    if mode is not None and not linear:  # before finetune's line on the vectors' own mode
        at = next((i for i, line in enumerate(lines) if line.startswith("Chinese")), len(lines))
        if isinstance(mode, Mapping):  # the vectors' mode is no trial's: not said
            lines = [line for line in lines if not line.startswith("Chinese")]
            lines.insert(at, f"Chinese tokens: searched by --space ({_choices(mode)})")
        else:
            lines.insert(at, f"Chinese tokens: {mode} (fixed by --space)")
    said = [line for line in lines if line.startswith(("Tokenizer", "Chinese tokens"))]
    for line in said:
        say(line)
    if said:  # after `_chosen_tokenizer`'s "Tokenizer: jieba (the training texts are ...)"
        notes["tokenizer"] = [*notes.get("tokenizer", []), *said]


def _choices(dist: Mapping[str, Any]) -> str:
    """A searched categorical's choices, in words ("regex, whitespace")."""
    return ", ".join(str(c) for c in dist.get("choices") or ())


def _vectors_encoding(base: FinetuneConfig, name: str | None, loaded: Any) -> str | None:
    """`name` canonical (None: UTF-8), refused where no vector file is read to apply it to."""
    from vecgraft.evaluate._vectors_encoding import unused_encoding, vectors_codec

    codec = vectors_codec(name)
    if codec is not None and (base.vectors == "random" or loaded is not None):
        raise unused_encoding(name, "{}", Opt("vectors", "...", "PATH"))
    return codec


def _search(
    spec: TuneSpec,
    deadline: float | None,
    hook: TrialDataHook | None,
    vectors: Any,
    show: bool | None,
    warn: Callable[[str], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> tuple[Any, bool]:
    """Run worker 0 here, plus `jobs - 1` worker processes on the same study.

    Worker 0's trials pass their WARNING lines to `warn` (the others' are the same); with
    `show` False the trials' start and end lines go to a caller's `log` where one was given,
    else to stderr as with `show` (a command's `2> log` keeps them either way).
    Returns worker 0's vectors and whether the deadline, not the trial count, ended it.
    """
    import multiprocessing

    from vecgraft._util.console import Progress
    from vecgraft.evaluate._tune_study import TrialLines

    # --no-progress: no bar and nothing from inside a trial, but each trial's start and
    # end lines, as finetune --no-progress keeps its epochs' lines
    quiet = show is False
    # "12.6s" after a trial's own value read as that trial's time: both are labelled
    bar = Progress(total=spec.trials, desc="trial", bar=False if quiet else None,
                   say=log if quiet else None, elapsed_suffix=" in all")  # fmt: skip
    lines = TrialLines(bar, inner=show is not False)
    done = [0]

    def on_trial(study: Any, number: int) -> None:
        from optuna.trial import TrialState

        finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
        new = len(finished) - done[0]
        done[0] = len(finished)
        best = _best_value(study)
        own = {f"#{number}": _trial_outcome(study, number)}  # the best alone hid it
        bar.update(max(new, 0), **own, best="-" if best is None else f"{best:.4f}")

    from vecgraft._util.console import cli_warnings
    from vecgraft._util.signals import signals_blocked

    ctx = multiprocessing.get_context("spawn")
    pipes = [ctx.Pipe(duplex=False) for _ in range(1, spec.jobs)]  # (receive, send): ready
    plain = cli_warnings()  # a spawned worker starts with Python's warning format
    procs = [
        ctx.Process(
            target=_worker_main, args=(spec, w, deadline, send, plain, os.getpid()), daemon=False
        )
        for w, (_, send) in zip(range(1, spec.jobs), pipes)
    ]
    started: list[Any] = []
    timed_out: list[bool] = []
    try:
        # each starts with SIGINT and SIGTERM held until its handlers are set (`worker_signals`)
        with signals_blocked():
            for p in procs:
                p.start()
                started.append(p)
        # start together: this process (imports done) would otherwise take the first trials
        # while the others are still importing torch
        for p, (receive, _) in zip(procs, pipes):
            while p.is_alive() and not receive.poll(0.2):
                pass
        vectors = run_worker(
            spec, 0, deadline=deadline, hook=hook, vectors=vectors, on_trial=on_trial,
            warn=warn, lines=lines, on_deadline=lambda: timed_out.append(True),
        )
        for p in started:  # their last trials
            p.join()
    except BaseException:  # Ctrl-C, SIGTERM (the CLI's `Terminated`), an error: stop them
        _stop_workers(started)
        raise
    finally:
        bar.close()
        for receive, send in pipes:
            receive.close()
            send.close()
    failed = [p.exitcode for p in procs if p.exitcode]
    if failed:
        raise VecgraftError(f"{len(failed)} tune worker process(es) failed (exit {failed})")
    return vectors, bool(timed_out)


def _trial_outcome(study: Any, number: int) -> str:
    """How trial `number` ended, for its line: "0.7410 in 3.2s", "pruned after 1.0s".

    The duration is the trial's own (trials.csv's seconds), not the search's so far. A
    pruned or failed trial gave no value "in" that time: it stopped "after" it.
    """
    from optuna.trial import TrialState

    trial = next(t for t in study.get_trials(deepcopy=False) if t.number == number)
    if trial.state == TrialState.COMPLETE:
        outcome, took = f"{float(trial.value):.4f}", "in"
    else:
        outcome, took = ("pruned" if trial.state == TrialState.PRUNED else "failed"), "after"
    if trial.datetime_start is None or trial.datetime_complete is None:
        return outcome
    seconds = (trial.datetime_complete - trial.datetime_start).total_seconds()
    return f"{outcome} {took} {seconds:.1f}s"


def _stop_workers(procs: list[Any], grace: float = 10.0) -> None:
    """Stop the worker processes still running: SIGTERM, then SIGKILL after `grace` seconds.

    Why: stopped itself (Ctrl-C, a SIGTERM, an error), this process waited for its workers
    to finish the whole study; killed, it left them running on alone. Each worker marks
    its trial interrupted as it stops (`_worker_main`); one that does not stop in time is
    killed, and the next run finds its trial running and queues it again.
    """
    import time

    try:
        for p in procs:
            if p.is_alive():
                p.terminate()
        end = time.monotonic() + grace
        for p in procs:
            p.join(max(0.0, end - time.monotonic()))
    finally:  # a second Ctrl-C meanwhile stops them at once
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join()


def _best_value(study: Any) -> float | None:
    try:
        return float(study.best_value)
    except ValueError:  # no completed trial yet
        return None


def _test_keys(spec: TuneSpec) -> tuple[str, ...]:
    """The final run's test scores kept in tune.json (a regression has no accuracy)."""
    if spec.regression:
        return ("mse", "rmse", "mae", "pearson", "spearman")
    return ("accuracy", "macro_f1", "loss")


def _accuracy_rows(spec: TuneSpec, data: TrialData) -> int | None:
    """The rows of the one validation split trials are scored on by accuracy, else None."""
    if len(data.folds) != 1 or spec.regression or str(spec.base.metric) != "accuracy":
        return None
    return len(data.folds[0][1])


def _test_comparisons(metrics: dict[str, Any]) -> dict[str, Any]:
    """The final run's floors to compare its test score with, from its metrics.json.

    The majority class (a regression: the training mean) and, for a fused run, the network
    and the TF-IDF linear model alone: the report gave the fused score only, so a tuned
    network that adds a row over the linear model looked like a tuned network.
    """
    out: dict[str, Any] = {}
    majority = metrics.get("majority_baseline")
    if majority is not None:
        out["majority_label"], out["majority_accuracy"] = majority["label"], majority["accuracy"]
        if "macro_f1" in majority:  # a run whose metric is macro_f1
            out["majority_macro_f1"] = majority["macro_f1"]
        if majority.get("tied"):  # a tie, said as finetune says it (`majority_words`)
            out["majority_tied"], out["majority_rows"] = majority["tied"], majority.get("rows")
    mean = metrics.get("mean_baseline")
    if mean is not None:
        out["mean_rmse"] = mean["rmse"]
    fusion = metrics.get("fusion") or {}
    key = "rmse" if "rmse" in fusion else "accuracy"
    scores = (fusion.get(key) or {}).get("test")
    if scores:
        out[f"network_{key}"], out[f"linear_{key}"] = scores["network"], scores["linear"]
    f1 = (fusion.get("macro_f1") or {}).get("test")  # a run whose metric is macro_f1
    if f1:
        out["network_macro_f1"], out["linear_macro_f1"] = f1["network"], f1["linear"]
    return out


def fixed_fusion_words(base: FinetuneConfig) -> str:
    """The fusion the user fixed, in words (tune's log line and report)."""
    if base.fuse_pool is not None:
        a, b = base.fuse_pool
        return f"the log-linear pool given (network x{a:.3g}, linear x{b:.3g})"
    return f"the network weight given ({base.fuse_weight})"


def _fusion_unit(spec: TuneSpec) -> tuple[str, str]:
    """What the fused scores are, in words and as `score_text`'s metric.

    The fusion is scored by accuracy (a regression's by its mean squared error) whatever
    metric judges the trials.
    """
    return ("mean squared error", "loss") if spec.regression else ("accuracy", "accuracy")


def _fixed_fusion_line(spec: TuneSpec, best: Any) -> str:
    """The log line for a final run whose fusion the user fixed: what, and how it scored.

    Scores in the report's units (`score_text`): accuracy in percent, the rest fractions;
    the network alone is scored by the run's metric, named where it is not the fusion's.
    """
    from vecgraft.evaluate.tune_report import score_text

    what, unit = _fusion_unit(spec)
    metric = str(spec.base.metric)
    alone = score_text(metric, best.user_attrs.get("network_score", best.value))
    if metric != unit:
        alone = f"{metric} {alone}"
    return (
        f"Fused with the TF-IDF linear model at {fixed_fusion_words(spec.base)}: the chosen "
        f"trial's validation {what} {score_text(unit, best.user_attrs[FIXED_SCORE_ATTR])} "
        f"(network alone {alone})"
    )


def timeout_stop(spec: TuneSpec, study: Any, timed_out: bool) -> str | None:
    """"the --timeout of 2 s stopped the search after 1 of 12 trials; ..." (None: it did not).

    Why: a search cut short by `--timeout` went straight to "Chosen trial #0", and neither
    report.md nor tune.json said that the choice was among fewer trials than asked for.
    `timed_out`: the deadline ended the search loop (`_search`); inferred from the counts,
    a `--storage` machine that stopped on other machines' running trials said it too.
    """
    if spec.timeout is None or not timed_out:
        return None
    finished = _counted(study, running=False)
    if finished >= spec.trials:
        return None
    return (f"the --timeout of {spec.timeout:g} s stopped the search after {finished} of "
            f"{spec.trials} trials; run the same command again to continue")  # fmt: skip


def _fusion_line(spec: TuneSpec, best: Any, fusion: dict[str, Any]) -> str:
    """The log line for the final run's fusion (`final_fusion`): what, and how it scored.

    Scores in the report's units (`score_text`): accuracy in percent, an MSE a fraction.
    """
    from vecgraft.evaluate.tune_report import score_text

    what, unit = _fusion_unit(spec)
    fused = best.user_attrs[spec.fusion_attr]
    alone = f"network alone {score_text(unit, fused['1.0'])}"
    if "fuse_pool" in fusion:
        a, b = fusion["fuse_pool"]
        return (
            f"Fused with the TF-IDF linear model: log-linear pool (network x{a:.3g}, linear "
            f"x{b:.3g}), fitted on the trial's validation rows (accuracy "
            f"{score_text('accuracy', best.user_attrs[POOL_SCORE_ATTR])}; {alone})"
        )
    weight = fusion["fuse_weight"]
    return (
        f"Fused with the TF-IDF linear model: network weight {weight}, chosen on the "
        f"trial's validation rows ({what} {score_text(unit, fused[str(weight)])}; {alone})"
    )


def _finish(
    spec: TuneSpec,
    data: TrialData,
    vectors: Any,
    say: Callable[[str], None],
    warn: Callable[[str], None] | None = None,
    timed_out: bool = False,
) -> TuneResult:
    """Best trial -> best.yaml, trials.csv, the final retrain on all training data, reports.

    `timed_out`: the --timeout deadline ended this command's search (`_search`).
    """
    from vecgraft.evaluate._tune_select import select_trial
    from vecgraft.evaluate.tune_report import (
        comparison_words,
        linear_alone_text,
        majority_warning,
        score_text,
        write_tune_reports,
    )

    study = _open_study(spec)
    out = Path(spec.out)
    rows = trial_rows(study.trials)
    atomic_write_text(out / "trials.csv", _csv_text(rows))
    if _best_value(study) is None:
        if not rows and spec.timeout is not None:
            raise VecgraftError(
                f"{out}: no trial ran: --timeout {spec.timeout:g} s had passed before the "
                "first one started (give a longer --timeout)"
            )
        errors = failure_summary(rows)
        raise VecgraftError(
            f"{out}: no trial completed ({len(rows)} ran); see {out / 'trials.csv'}"
            + (f"; the trials failed with: {errors}" if errors else "")
        )
    failed = failed_trials_line(rows)
    if failed:  # else only trials.csv and the report said that settings were refused
        say(failed)
    stopped = timeout_stop(spec, study, timed_out)
    if stopped:
        say(f"Note: {stopped}")
    choice = select_trial(study, spec.select, default_trial(spec, vectors), spec.direction,
                          _accuracy_rows(spec, data))  # fmt: skip
    best = choice.trial
    final = _final_config(spec, best)
    atomic_write_text(out / "best.yaml", best_yaml(final, spec.base.valid, spec.vectors_encoding))
    judged = " (fused with the linear model)" if judged_fused(best) else ""
    say(
        f"Chosen trial #{best.number}: validation {spec.base.metric} "
        f"{score_text(str(spec.base.metric), best.value)}"
        f"{judged} {best.params}"
    )
    say(f"Why: {choice.reason}")
    fusion = final_fusion(spec, best)
    if fusion:
        say(_fusion_line(spec, best, fusion))
        alone = linear_alone_text(fusion.get("fuse_weight"), fusion.get("fuse_pool"), rows,
                                  judged_fused(best), regression=spec.regression)  # fmt: skip
        if alone:
            say(alone)
    elif best.user_attrs.get(FIXED_SCORE_ATTR) is not None:
        say(_fixed_fusion_line(spec, best))
    say(f"Retraining on all {len(data.pool)} training rows, then scoring the test data once")
    splits = final_splits(spec, data, say)
    recipe = splits_recipe(
        final,
        splits,
        vectors=vectors if vectors is not None else _Worker(spec, data).vectors(),
        log=warn or _quiet,
        overwrite=True,
    )
    result = recipe.run()
    test = result.metrics["test"]
    summary = {
        "study": spec.study,
        "storage": spec.storage or str(out / JOURNAL_FILE),
        "model": str(spec.base.model),
        "metric": str(spec.base.metric),
        "direction": spec.direction,
        "trials_requested": spec.trials,
        "timeout": spec.timeout,
        "stopped_by_timeout": stopped,  # the sentence, or null
        "cv": spec.cv,
        "vectors_encoding": spec.vectors_encoding,
        "data": {**data.notes, "read": splits.notes["read"]},  # the test file's too
        "space": spec.space,
        "best": {
            "number": best.number,
            "value": best.value,
            "params": best.params,
            "best_epoch": best.user_attrs.get("best_epoch"),
            "judged_by": "fused" if judged_fused(best) else "network",
            "network_value": best.user_attrs.get("network_score", best.value),
            "fusion_accuracy": best.user_attrs.get(FUSION_ACCURACY_ATTR),
            "fusion_mse": best.user_attrs.get(FUSION_MSE_ATTR),
            "fusion_pool": best.user_attrs.get(POOL_ATTR),
            "fusion_pool_accuracy": best.user_attrs.get(POOL_SCORE_ATTR),
            "fusion_fixed_score": best.user_attrs.get(FIXED_SCORE_ATTR),
        },
        "selection": {
            "rule": choice.rule,
            "reason": choice.reason,
            "top_number": choice.top.number,
            "top_value": choice.top.value,
            "standard_error": choice.standard_error,
            "binomial_standard_error": choice.binomial_standard_error,
        },
        "final": {
            "train_rows": len(data.pool),
            "test_rows": recipe.sizes["test"],
            "duplicates": {k: splits.notes["duplicates"][k]
                           for k in ("count", "label_conflicts", "removed")},
            "epochs": final.epochs,
            "fuse_weight": final.fuse_weight,
            "fuse_pool": None if final.fuse_pool is None else list(final.fuse_pool),
            "class_weight": final.class_weight,
            "test": {**{k: test[k] for k in _test_keys(spec)},
                     **_test_comparisons(result.metrics)},
        },
        "trials": rows,
    }
    atomic_write_json(out / "tune.json", summary, finite=True)
    write_tune_reports(summary, study, out)
    scored = (  # a regression's line as `finetune` prints it
        recipe.test_metrics.summary() if spec.regression
        else f"accuracy {100 * test['accuracy']:.2f}%, macro F1 {test['macro_f1']:.4f}"
    )  # fmt: skip
    tested = final_test_words(recipe.sizes["test"], summary["final"]["duplicates"])
    say(f"Test ({tested}): {scored}")
    compared = comparison_words(summary["final"]["test"])
    if compared:
        say(f"Test, for comparison: {compared}")
    warning = majority_warning(str(spec.base.metric), summary["final"]["test"])
    if warning:
        say(warning)
    say(f"Run folder: {out} (best.yaml, trials.csv, final/, report.md, report.html)")
    return TuneResult(out, dict(best.params), float(best.value), rows, test, final)
