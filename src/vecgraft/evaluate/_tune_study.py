"""The Optuna study of `tune`: one trial's runner, storage, locking and worker processes.

Split out of `vecgraft.evaluate.tune`, which re-exports these names.
"""

import os
import re
import socket
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vecgraft._util.atomic import make_folder, refuse_link
from vecgraft._util.console import Progress, WarningsOnce
from vecgraft._util.filelock import file_lock
from vecgraft.errors import VecgraftError
from vecgraft.evaluate._tune_data import (
    prepare_data,
    splits_recipe,
)
from vecgraft.evaluate._tune_spec import (
    DEFAULT_ATTR,
    FINISHER_ATTR,
    FIXED_SCORE_ATTR,
    INTERRUPTED,
    JOURNAL_FILE,
    JUDGED_FUSED_ATTR,
    LOCK_FILE,
    OWNER_ATTR,
    PLACE_ATTR,
    POOL_ATTR,
    POOL_SCORE_ATTR,
    WEIGHTED_SHARE_ATTR,
    TrialData,
    TrialDataHook,
    TuneSpec,
)
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.prepare import Splits

# -- what a trial shows while it runs ---------------------------------------------------
# seconds between two of a running trial's progress lines when no bar is drawn
TRIAL_NOTE_SECONDS = 30.0


class TrialLines:
    """A trial's start line and, while it trains, sparse progress, on the trials' `bar`.

    Why: a trial said nothing until it ended (`trial 3/20 (best ..., 95.0s)`), and one
    trial on real data takes minutes. At its start a line names it and its sampled
    settings; while it trains (`inner`), a drawn bar shows the trial's epochs and steps
    so far, and plain lines (a file or pipe) are its epoch lines, at most one per
    `TRIAL_NOTE_SECONDS`. The trial's own bars stay off: nested under ours they pushed
    it off the screen.
    """

    def __init__(self, bar: Progress, *, inner: bool) -> None:
        self.bar = bar
        self.inner = inner and bar.enabled
        self.name = ""  # "trial 3/20", the trial running
        self.last = time.perf_counter()  # when the last line (or the bar) was written
        self.epochs = 0  # the running trial's epochs finished (over its folds)
        self.steps = 0  # its fold's training steps so far

    def progress(self) -> bool | None:
        """A trial's `FinetuneConfig.progress`: its plain lines (None, ours only), or none."""
        return None if self.inner and not self.bar.drawn else False

    def start(self, trial: Any) -> None:
        """Say that `trial` starts: its place among the trials asked for, number, settings.

        Its place counts the finished trials as the trials' line at its end does.
        """
        from optuna.trial import TrialState

        done = trial.study.get_trials(
            deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)
        )
        self.name = f"{self.bar.desc} {len(done) + 1}/{self.bar.total}"
        self.epochs = self.steps = 0
        self.bar.note(f"{self.name} started (#{trial.number}): {settings_words(trial.params)}")
        self.last = time.perf_counter()

    def __call__(self, msg: str) -> None:
        """A line of the trial's run log: an epoch's (or a long epoch's note), when due.

        Not its setup lines: a trial's "Data: ... 6 test" counts its validation rows twice.
        """
        if not self.inner or self.bar.drawn or not msg.startswith("Epoch "):
            return
        now = time.perf_counter()
        if now - self.last >= TRIAL_NOTE_SECONDS:
            self.last = now
            self.bar.note(f"{self.name}: {msg}")

    def epoch_end(self) -> None:
        """An epoch of the trial ended: shown on a drawn bar at once."""
        self.epochs += 1
        self._redraw(due=True)

    def step(self, global_step: int) -> None:
        """A training step of the trial (`on_step`): on a drawn bar, once a second."""
        self.steps = global_step
        self._redraw(due=False)

    def _redraw(self, *, due: bool) -> None:
        if not (self.inner and self.bar.drawn):
            return
        now = time.perf_counter()
        if due or now - self.last >= 1.0:
            self.last = now
            self.bar.show(epochs=self.epochs, steps=self.steps)


def settings_words(params: dict[str, Any]) -> str:
    """A trial's sampled settings for its start line.

    >>> settings_words({"lr": 0.00123456, "model_options.pooling": "max", "batch_size": 32})
    'lr=0.001235, model_options.pooling=max, batch_size=32'
    """
    return ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
    )


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
        warn: Callable[[str], None] | None = None,
        lines: TrialLines | None = None,
    ) -> None:
        self.spec = spec
        self.data = data
        self.hook = hook
        self._vectors = vectors
        self._warn = WarningsOnce(warn) if warn is not None else _quiet
        self.lines = lines
        self._linear: dict[int, dict[Any, Any]] = {}  # fold -> its fitted linear model(s)

    def vectors(self) -> Any:
        """The vectors, loaded once per worker (trials only change what is trained on them)."""
        if self._vectors is None and self.spec.base.vectors != "random":
            self._vectors = self.spec.load_vectors()
        return self._vectors

    def config_for(self, trial: Any) -> FinetuneConfig:
        """The trial's settings: the base config with sampled values."""
        from vecgraft.evaluate.space import sample_settings, to_config_changes

        values = sample_settings(trial, self.spec.space)
        changes = to_config_changes(values, self.spec.space, self.spec.base.model_options)
        shown = self.lines.progress() if self.lines is not None else False
        return self.spec.base.replace(**changes, plots=False, progress=shown, resume=False)

    def _log(self, msg: str) -> None:
        """A trial's run log: its WARNING lines once (`warn`), the others to `lines`."""
        self._warn(msg)
        if self.lines is not None:
            self.lines(msg)

    def objective(self, trial: Any) -> float:
        """Mean validation score over the folds (pruned from per-epoch or per-fold scores).

        The fused model's score where the trials fuse (`_fused_scores`), else the network's.
        """
        import optuna

        config = self.config_for(trial)
        if self.lines is not None:
            self.lines.start(trial)
        folds = self.data.folds
        key = f"valid_{config.metric}"
        scores: list[float] = []
        best_epochs: list[int] = []
        fused: list[tuple[Any, Any, Any]] = []  # (network, linear, gold) on each fold's rows

        def on_epoch_end(epoch: int, row: dict[str, Any]) -> None:
            if self.lines is not None:
                self.lines.epoch_end()
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
                log=self._log,
                on_epoch_end=on_epoch_end,
                on_step=self.lines.step if self.lines is not None else None,
                linear_cache=self._linear.setdefault(i, {}),
            )
            scores.append(recipe.score())
            best_epochs.append(recipe.state.best_epoch or recipe.state.epoch)
            outputs = recipe.fusion_outputs()
            if outputs is not None:
                fused.append(outputs)
            if len(folds) > 1:
                trial.report(sum(scores) / len(scores), i)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"fold {i + 1}: mean {sum(scores) / len(scores)}")
        trial.set_user_attr("best_epoch", round(sum(best_epochs) / len(best_epochs)))
        if fused and len(fused) == len(folds):
            pool = recipe.pools(sum(len(gold) for *_, gold in fused))
            scores = self._fused_scores(trial, scores, fused, pool, recipe.class_weights)
        trial.set_user_attr("fold_scores", scores)
        return sum(scores) / len(scores)

    def _fused_scores(
        self,
        trial: Any,
        scores: list[float],
        fused: list[tuple[Any, Any, Any]],
        pool: bool,
        class_weights: list[float] | None = None,
    ) -> list[float]:
        """Record the fusion the final run would ship; return the fold scores judged by.

        Every trial keeps its fused score per network share (`TuneSpec.fusion_attr`). Where
        the run would pool (`ClassifierRecipe.pools`: a classifier with `min_valid` rows),
        one log-linear pool is fitted on every fold's validation rows together and kept as
        `POOL_ATTR`, as `finetune` fits it on its validation split. The returned scores are
        the fused model's, at that pool or at the share best over all folds, where
        `TuneSpec.judges_fusion` (the final run ships that model); else the network's.
        Pruning still compares the network's per-epoch scores: the fusion is only scored
        after training. `class_weights` (`class_weight`, of a fold's training part) weigh
        the rows of the pool's fit and of the accuracies choosing the share, as `finetune`
        weighs them; every score a trial is judged and reported by stays unweighted, so
        that trials with and without weights (`class_weight` searched) compare alike.
        """
        from vecgraft.finetune import fusion as fu

        if self.spec.base.fusion_fixed:
            return self._fixed_fusion_scores(trial, scores, fused)
        if self.spec.regression:
            tables = [fu.weight_errors(*outputs) for outputs in fused]
        else:
            tables = [fu.weight_accuracies(*outputs) for outputs in fused]
        mean = _mean_table(tables)
        trial.set_user_attr(self.spec.fusion_attr, {str(w): v for w, v in mean.items()})
        choosing = mean
        if class_weights is not None and not self.spec.regression:
            weighted = [fu.weight_accuracies(*outputs, class_weights) for outputs in fused]
            choosing = _mean_table(weighted)
            trial.set_user_attr(WEIGHTED_SHARE_ATTR, self.spec.best_share(choosing))
        pooled: list[float] = []
        if pool:
            every = [np.concatenate([f[i] for f in fused]) for i in range(3)]
            ab = fu.fit_pool(every[0], every[1], every[2].tolist(), class_weights)
            pooled = [fu.accuracy(fu.log_pool(network, linear, ab), gold)
                      for network, linear, gold in fused]  # fmt: skip
            trial.set_user_attr(POOL_ATTR, list(ab))
            trial.set_user_attr(POOL_SCORE_ATTR, sum(pooled) / len(pooled))
        if not self.spec.judges_fusion:
            return scores
        if pooled:
            return self._judged(trial, scores, pooled)
        share = self.spec.best_share(choosing)
        trial.set_user_attr("fused_share", share)
        return self._judged(trial, scores, [t[share] for t in tables])

    def _judged(self, trial: Any, network: list[float], fused: list[float]) -> list[float]:
        """The fold scores a trial is judged by: fused where `judges_fusion`, else the network's.

        The network's are kept beside the fused ones (`network_fold_scores`).
        """
        if not self.spec.judges_fusion:
            return network
        trial.set_user_attr("network_fold_scores", network)
        trial.set_user_attr("network_score", sum(network) / len(network))
        trial.set_user_attr(JUDGED_FUSED_ATTR, True)
        return fused

    def _fixed_fusion_scores(
        self, trial: Any, scores: list[float], fused: list[tuple[Any, Any, Any]]
    ) -> list[float]:
        """The fold scores at the fusion the user fixed (`fuse_weight`, `fuse_pool`).

        Why: trials were judged by the network alone while the final run shipped the fused
        model, and the report set one beside the other.
        """
        from vecgraft.finetune import fusion as fu

        base = self.spec.base
        fixed: list[float] = []
        for network, linear, gold in fused:
            if base.fuse_pool is not None:
                pool = (float(base.fuse_pool[0]), float(base.fuse_pool[1]))
                fixed.append(fu.accuracy(fu.log_pool(network, linear, pool), gold))
            elif self.spec.regression:
                mixed = fu.fuse(network, linear, float(base.fuse_weight or 0.0))
                fixed.append(float(((mixed - np.asarray(gold, dtype=np.float64)) ** 2).mean()))
            else:
                mixed = fu.fuse(network, linear, float(base.fuse_weight or 0.0))
                fixed.append(fu.accuracy(mixed, gold))
        trial.set_user_attr(FIXED_SCORE_ATTR, sum(fixed) / len(fixed))
        return self._judged(trial, scores, fixed)


def _mean_table(tables: list[dict[float, float]]) -> dict[float, float]:
    """The mean score at each network share over the folds' tables."""
    return {w: sum(t[w] for t in tables) / len(tables) for w in tables[0]}


def _quiet(_msg: str) -> None:
    return None



# -- the study ---------------------------------------------------------------------------
def _storage(spec: TuneSpec) -> Any:
    """The study's storage: the journal file in the run folder, or the URL given."""
    import optuna

    if spec.storage is None:
        make_folder(spec.out)
        return optuna.storages.JournalStorage(_journal_file(str(Path(spec.out) / JOURNAL_FILE)))
    return spec.storage


def _journal_file(path: str) -> Any:
    """Optuna's journal file, each append taking its lock with Ctrl-C and SIGTERM held.

    Why: Optuna releases the lock by renaming the lock file, then unlinking the renamed
    file; an interrupt raised just before the rename made its cleanup unlink a file that
    was never made, so the command failed with "...lock...rename: No such file or
    directory" instead of stopping, and left the lock file for the others to wait out (a
    Ctrl-C to a `--jobs 2` search, now and then). An append is one short write.

    On Windows the lock is Optuna's `JournalFileOpenLock`: its default lock makes a
    symlink, which Windows refuses without admin rights or Developer Mode (WinError 1314,
    optuna/optuna#4298).
    """
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    from vecgraft._util.signals import interrupts_deferred

    refuse_link(path, "tune journal")  # Optuna appends to the name, following a link there

    class _Backend(JournalFileBackend):
        def append_logs(self, logs: list[dict[str, Any]]) -> None:
            with interrupts_deferred():
                super().append_logs(logs)

    if os.name == "nt":
        return _Backend(path, lock_obj=JournalFileOpenLock(path))
    return _Backend(path)


def _open_study(spec: TuneSpec) -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = _sampler(spec.base.seed)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=1)
    return optuna.create_study(
        storage=_storage(spec),
        study_name=spec.study,
        direction=spec.direction,
        sampler=sampler,
        pruner=pruner,
        load_if_exists=True,
    )


_RELATIVE = "<relative>"  # the draw-seed name of a trial's relative (multivariate) draw


def _sampler(seed: int) -> Any:
    """Optuna's TPE sampler, each draw seeded from `seed`, the trial's place and the setting.

    Why: one TPE sampler per command, seeded at its start, drew other settings after a
    Ctrl-C and a rerun than the same seed's unstopped search: its random state started
    again. A fresh TPE sampler per draw, seeded from (seed, `_place`, setting name), makes
    a trial's settings depend on the seed and the trials before it only; a trial queued
    again after an interrupt draws what the interrupted one would have drawn, in any
    order. Trials of `--jobs` workers have places of their own, so they draw apart.

    Both of TPE's paths are delegated: the relative one (multivariate TPE, what a plain
    `TPESampler` uses for a single-objective study under optuna >= 5) draws every setting
    of the shared search space at once from a seed for the place, and the independent one
    draws each remaining setting from a seed for the place and its name. Answering the
    relative path with nothing instead would silently make the search independent TPE.
    TPE keeps no other state between draws: a fresh sampler per call infers the search
    space from the study's trials alone.
    """
    import optuna

    class _PerDraw(optuna.samplers.BaseSampler):
        def infer_relative_search_space(self, study: Any, trial: Any) -> dict[str, Any]:
            tpe = optuna.samplers.TPESampler(seed=seed)
            space: dict[str, Any] = tpe.infer_relative_search_space(study, trial)
            return space

        def sample_relative(self, study: Any, trial: Any, search_space: Any) -> dict[str, Any]:
            draw = _draw_seed(seed, _place(study, trial), _RELATIVE)
            tpe = optuna.samplers.TPESampler(seed=draw)
            params: dict[str, Any] = tpe.sample_relative(study, trial, search_space)
            return params

        def sample_independent(
            self, study: Any, trial: Any, param_name: str, param_distribution: Any
        ) -> Any:
            draw = _draw_seed(seed, _place(study, trial), param_name)
            tpe = optuna.samplers.TPESampler(seed=draw)
            return tpe.sample_independent(study, trial, param_name, param_distribution)

    return _PerDraw()


def _place(study: Any, trial: Any) -> int:
    """How many trials before `trial` count, interrupted ones aside: its place in the search.

    Not its number: a trial interrupted and queued again took a number, so every later
    trial's number was one higher than in a search never stopped. A trial queued again
    has the place of the one it repeats (`PLACE_ATTR`): with `--jobs`, trials started
    after the interrupted one would otherwise have pushed it to one of theirs.
    """
    if trial.user_attrs.get(PLACE_ATTR) is not None:
        return int(trial.user_attrs[PLACE_ATTR])
    return sum(
        1 for t in study.get_trials(deepcopy=False)
        if t.number < trial.number and not t.user_attrs.get(INTERRUPTED)
    )  # fmt: skip


def _draw_seed(seed: int, place: int, name: str) -> int:
    """A 32-bit seed from (seed, place, setting name), the same in every process and run.

    >>> _draw_seed(0, 3, "lr") == _draw_seed(0, 3, "lr") != _draw_seed(0, 4, "lr")
    True
    """
    import hashlib

    key = f"{seed}:{place}:{name}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=4).digest(), "little")


def _counted(study: Any, *, running: bool = True) -> int:
    """Trials that count towards `trials`: finished, running, or failed by their settings.

    `running=False` leaves out the running ones: the trials already finished.
    """
    from optuna.trial import TrialState

    states = (TrialState.COMPLETE, TrialState.PRUNED) + ((TrialState.RUNNING,) if running else ())
    n = 0
    for t in study.get_trials(deepcopy=False):
        if t.state in states or (t.state == TrialState.FAIL and not t.user_attrs.get(INTERRUPTED)):
            n += 1
    return n


# how a RUNNING trial's process stands (`trial_owner_state`)
GONE, RUNNING_HERE, ELSEWHERE = "gone", "running", "elsewhere"


def trial_owner(pid: int | None = None) -> dict[str, Any]:
    """The process running a trial, as kept in its `OWNER_ATTR`: host, pid, start time."""
    from vecgraft._util.processes import process_start

    pid = os.getpid() if pid is None else pid
    return {"host": socket.gethostname(), "pid": pid, "start": process_start(pid)}


def trial_owner_state(owner: Any, host: str | None = None) -> str:
    """`GONE`, `RUNNING_HERE` or `ELSEWHERE`: whether a RUNNING trial's process still runs it.

    `GONE`: its process on this machine has ended (or its pid now names a process started
    later), or the trial has no owner (kept by an earlier version; or its process was
    killed between its ask and recording itself, which happen under the study's lock that
    the recovery takes). `ELSEWHERE`: another machine's, which this one cannot ask; Optuna's
    journal storage has no heartbeat (optuna 5.1) to tell a stale one. A journal in --out
    is run from one machine, so `_recover_interrupted` takes such a trial as stopped.
    """
    from vecgraft._util.processes import pid_alive, process_start

    if not isinstance(owner, Mapping) or not isinstance(owner.get("pid"), int):
        return GONE
    if owner.get("host") != (socket.gethostname() if host is None else host):
        return ELSEWHERE
    pid = owner["pid"]
    if not pid_alive(pid):
        return GONE
    start = owner.get("start")
    if start is not None and process_start(pid) not in (None, start):
        return GONE  # the pid was reused by a process started after the trial's
    return RUNNING_HERE


@dataclass
class Recovered:
    """What `_recover_interrupted` found: trial numbers by what was done with them."""

    failed: list[int] = field(default_factory=list)  # left by a process gone: queued again
    live: dict[int, int] = field(default_factory=dict)  # number -> pid, a live one here
    # number -> host: another machine's, taken as stopped (failed and queued again too)
    elsewhere: dict[int, str] = field(default_factory=dict)


def _recover_interrupted(study: Any) -> Recovered:
    """Fail the RUNNING trials whose process is gone and queue their settings again.

    Why: every RUNNING trial was failed, also one a second command on the same study was
    running (that command then crashed on its own trial). A trial of a live process on
    this machine is left running. One recorded by another machine is failed: the same
    --out rerun in a new container or a resubmitted job on another node has another
    hostname, and its killed trial, left running, was never queued again while it counted
    towards --trials (the study ended short). Several machines share a study through
    --storage, where no recovery runs. Call it holding the study's lock (`LOCK_FILE`): a
    worker asks for a trial and records itself under it.
    """
    from optuna.trial import TrialState

    found = Recovered()
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner = t.system_attrs.get(OWNER_ATTR)
        state = trial_owner_state(owner)
        if state == RUNNING_HERE:
            found.live[t.number] = int(owner["pid"])
            continue
        study._storage.set_trial_user_attr(t._trial_id, INTERRUPTED, True)
        study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        _requeue(study, t)
        if state == ELSEWHERE:
            found.elsewhere[t.number] = str(owner.get("host"))
        else:
            found.failed.append(t.number)
    return found


def takes_finish(spec: TuneSpec, say: Callable[[str], None]) -> bool:
    """Whether this command chooses the best trial and retrains final/: the last one to end.

    Why: with a second command on the same --out as one more worker, both went on to
    finish; the first chose while the other's trial still ran (left out of the choice),
    and the other then failed on final/'s lock or retrained it again over the first's
    reported result. A command that sees trials running in another live command on this
    machine leaves the finish to it; of two that end at once, the first to record itself
    (`FINISHER_ATTR`, under the study's lock) finishes. Said either way. `--storage`:
    each machine finishes into its own --out, as before.

    Another command is seen only through its RUNNING trials: "the last to end" holds where
    both end on the trial count. One ending on `--timeout` while the other is between
    trials (or still loading its data or vectors) finishes, and the other may then run
    more trials, which that finish left out. Hence the README's advice: with --timeout,
    the same deadline for both, or one command.
    """
    if spec.storage is not None:
        return True
    study = _open_study(spec)
    with file_lock(Path(spec.out) / LOCK_FILE):
        others = _running_elsewhere_here(study)
        if others:
            pids = ", ".join(str(p) for p in sorted(set(others.values())))
            say(f"Trial(s) {', '.join(f'#{n}' for n in sorted(others))} still running in "
                f"process {pids}, which chooses the best trial and retrains {spec.out}/final "
                "when they finish; this command ends here")  # fmt: skip
            return False
        claim = study._storage.get_study_system_attrs(study._study_id).get(FINISHER_ATTR)
        if _other_command(claim) and trial_owner_state(claim) == RUNNING_HERE:
            say(f"Process {claim['pid']} is finishing this study (choosing the best trial, "
                f"retraining {spec.out}/final); this command ends here")  # fmt: skip
            return False
        study._storage.set_study_system_attr(study._study_id, FINISHER_ATTR, trial_owner())
    return True


def finish_released(spec: TuneSpec) -> None:
    """Clear this command's `FINISHER_ATTR` once it has finished (or failed to).

    Why: a process that ended is no claim anyway, but one that lives on (a notebook
    calling `tune`) would keep a later command from finishing the study again.
    """
    if spec.storage is not None:
        return
    study = _open_study(spec)
    with file_lock(Path(spec.out) / LOCK_FILE):
        claim = study._storage.get_study_system_attrs(study._study_id).get(FINISHER_ATTR)
        if isinstance(claim, Mapping) and not _other_command(claim):
            study._storage.set_study_system_attr(study._study_id, FINISHER_ATTR, None)


def _other_command(owner: Any) -> bool:
    """Whether `owner` (`trial_owner`'s record) is another process than this one."""
    if not isinstance(owner, Mapping):
        return False
    mine = trial_owner()
    return (owner.get("host"), owner.get("pid"), owner.get("start")) != (
        mine["host"], mine["pid"], mine["start"])  # fmt: skip


def _running_elsewhere_here(study: Any) -> dict[int, int]:
    """The RUNNING trials of other live commands on this machine: number -> command's pid.

    A worker process of `--jobs` records its command's pid (`command`); this command's
    own workers have ended by now.
    """
    from optuna.trial import TrialState

    found = {}
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner = t.system_attrs.get(OWNER_ATTR)
        if trial_owner_state(owner) != RUNNING_HERE:
            continue
        command = owner.get("command", owner["pid"])
        if command != os.getpid():
            found[t.number] = int(command)
    return found


def _requeue(study: Any, trial: Any) -> None:
    """Queue an interrupted trial's settings again (the default trial stays the default).

    The queued trial keeps the interrupted one's place: the settings it had not drawn yet
    it draws as that one would have. Settings it was queued with (the default trial's) it
    keeps even if it had not drawn them yet: stopped right after it started, the default
    trial ran again with drawn settings, still marked the default.
    """
    marks: dict[str, Any] = {PLACE_ATTR: _place(study, trial)}
    if trial.user_attrs.get(DEFAULT_ATTR):
        marks[DEFAULT_ATTR] = True
    queued = study._storage.get_trial(trial._trial_id).system_attrs.get("fixed_params", {})
    params = {**queued, **trial.params}
    study.enqueue_trial(params, user_attrs=marks, skip_if_exists=False)


def run_worker(
    spec: TuneSpec,
    worker: int = 0,
    *,
    deadline: float | None = None,
    hook: TrialDataHook | None = None,
    vectors: Any = None,
    on_trial: Callable[[Any, int], None] | None = None,
    ready: Any = None,
    warn: Callable[[str], None] | None = None,
    lines: TrialLines | None = None,
    command: int | None = None,
    on_deadline: Callable[[], None] | None = None,
) -> Any:
    """Run trials until the study has `spec.trials` of them or `deadline` passes.

    `warn` gets the trials' WARNING lines, each once (see `WarningsOnce`); `lines` shows
    each trial's start and progress. `command`: the pid of the command whose worker
    process this is, recorded on its trials (the one that finishes them, `takes_finish`).
    `on_deadline` is called when the deadline, not the trial count, ends the loop: with
    `--storage` the count holds other machines' running trials, so fewer finished than
    `spec.trials` did not mean the timeout stopped this command. (The count is checked
    first and only grows, so worker 0 sees the deadline whenever another worker does.)
    Returns the vectors this worker loaded (None if none), for the final retrain to reuse.
    """
    import optuna
    from optuna.trial import TrialState

    from vecgraft._util.signals import interrupts_deferred

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = _open_study(spec)
    runner = _Worker(
        spec, prepare_data(spec), hook=hook, vectors=vectors, warn=warn, lines=lines
    )
    lock = Path(spec.out) / LOCK_FILE
    owner = trial_owner()  # this process, recorded on each trial it runs
    if command is not None:
        owner["command"] = command
    if ready is not None:  # a worker process says it can take trials now
        ready.set()
    trial = None
    try:
        while True:
            trial = None
            try:
                with file_lock(lock):  # between this machine's workers: count, then ask, atomically
                    if _counted(study) >= spec.trials:
                        return runner._vectors
                    if deadline is not None and time.time() >= deadline:
                        if on_deadline is not None:
                            on_deadline()
                        return runner._vectors
                    if not study.get_trials(deepcopy=False):  # a new study starts from defaults
                        study.enqueue_trial(
                            default_trial(spec, runner._vectors), user_attrs={DEFAULT_ATTR: True}
                        )
                    # a Ctrl-C or SIGTERM between the ask and here left the trial RUNNING,
                    # neither failed nor queued again: held, it is raised once `trial` is set
                    with interrupts_deferred():
                        trial = study.ask()
                        # under the lock: a later command's recovery sees no trial without it
                        study._storage.set_trial_system_attr(trial._trial_id, OWNER_ATTR, owner)
                        trial.set_user_attr("worker", f"{os.getpid()}:{worker}")
                value = runner.objective(trial)
            except optuna.TrialPruned:
                study.tell(trial, state=TrialState.PRUNED)
            except VecgraftError as exc:  # settings the model rejects: a failed trial, go on
                if trial is None:
                    raise
                trial.set_user_attr("error", str(exc))
                study.tell(trial, state=TrialState.FAIL)
            except BaseException:  # Ctrl-C: its settings run again, as a killed trial's do
                if trial is not None:
                    trial.set_user_attr(INTERRUPTED, True)
                    study.tell(trial, state=TrialState.FAIL)
                    _requeue(study, trial)
                raise
            else:
                study.tell(trial, value)
            if on_trial is not None and trial is not None:  # its line says how it ended
                on_trial(study, trial.number)
    except (optuna.exceptions.UpdateFinishedTrialError, ValueError) as exc:
        if trial is None or not _finished_by_another(exc):
            raise
        raise VecgraftError(
            f"trial #{trial.number} was taken as stopped by a command on another machine (a "
            "study in --out is run from one machine; several machines share one through "
            "--storage)"
        ) from exc


def _finished_by_another(exc: BaseException) -> bool:
    """Whether `exc` is Optuna refusing to update or tell a trial that has finished.

    Why: a running trial is finished only by this worker, or by a command's recovery that
    took it as stopped (`_recover_interrupted`: another hostname, as two containers
    sharing a volume have). Its next report or `tell` failed with Optuna's traceback, and
    the cleanup after it failed again.
    """
    import optuna

    if isinstance(exc, optuna.exceptions.UpdateFinishedTrialError):
        return True
    told = re.fullmatch(r"Cannot tell a \w+ trial\.", str(exc))  # optuna.study._tell
    return isinstance(exc, ValueError) and told is not None


def default_trial(spec: TuneSpec, vectors: Any = None) -> dict[str, Any]:
    """The parameters of the base settings: a new study's first trial.

    The search starts from the default model, so its best validation score is never below
    the default's. The linear model's are `finetune --model linear`'s for the study's
    tokenizer (`linear_reference`; loaded `vectors` give their recorded one): the field
    defaults are the English setting (chars 2-5), and a Chinese study's "defaults" trial
    was not the run `finetune` makes (chars 1-3).
    """
    from dataclasses import asdict, fields

    from vecgraft.evaluate.space import default_params

    if spec.base.model == "linear":
        options = asdict(linear_reference(spec.base, vectors))
    else:
        from vecgraft.nn.models import model_option_defaults

        options = model_option_defaults(spec.base.model)
    config_values = {f.name: getattr(spec.base, f.name) for f in fields(spec.base)}
    return default_params(spec.space, config_values, {**options, **spec.base.model_options})


def linear_reference(base: FinetuneConfig, vectors: Any = None) -> Any:
    """The `LinearConfig` that `finetune --model linear` builds from `base` (and `vectors`).

    Its tokenizer is resolved as finetune resolves it (`text_settings.tokenizer_settings`: the
    flags, else the vectors' metadata.json), so Chinese segmenters get chars 1-3 and the
    char tokenizer no word n-grams (`fusion.linear_config`).
    """
    from vecgraft.finetune.fusion import linear_config
    from vecgraft.finetune.text_settings import tokenizer_settings

    tokenizer, _lower = tokenizer_settings(base, vectors, _quiet)
    return linear_config(tokenizer, base.model_options)


def _worker_main(
    spec: TuneSpec,
    worker: int,
    deadline: float | None,
    ready: Any,
    cli_warnings: bool = False,
    parent: int | None = None,
) -> None:
    """Entry point of a worker process (`--jobs`); `cli_warnings`: as the command shows them.

    `ready`: the sending end of a pipe, told once the worker can take trials.

    The worker stops when its parent stops it (SIGTERM) or ends, however it ends
    (`worker_signals`; `parent` is its process id): it went on alone, finishing trials into
    the study after a `kill` of the command. A Ctrl-C is the parent's to act on. Stopped,
    its trial is marked interrupted and queued again (`run_worker`), and it exits quietly
    (no KeyboardInterrupt traceback) with 143, as a command stopped by SIGTERM does. An
    error (its trial taken as stopped by another machine's command) is one line, exit 1.
    """
    from vecgraft._util.signals import exit_status, worker_signals

    try:
        worker_signals(parent)
        import torch

        if cli_warnings:
            import warnings

            from vecgraft._util.console import show_warning

            warnings.showwarning = show_warning  # this process is the command's own

        torch.set_num_threads(1)
        run_worker(spec, worker, deadline=deadline, ready=_Ready(ready), command=parent)
    except KeyboardInterrupt as exc:
        raise SystemExit(exit_status(exc)) from None
    except VecgraftError as exc:  # said as the command says its errors, not a traceback
        print(f"tune worker {worker}: error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


class _Ready:
    """A worker process's "ready" (`run_worker` calls `set`), sent on the pipe `conn`.

    Not a multiprocessing Event: that is five named semaphores, which a command killed
    outright (`kill -9`) left to the resource tracker's "leaked semaphore objects" warning.
    """

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def set(self) -> None:
        self.conn.send(True)
        self.conn.close()
