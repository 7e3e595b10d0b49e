"""Which RUNNING trials a `tune` command fails on start: only those whose process is gone.

A second `tune` on the same --out failed the first's running trial ("1 trial(s)
interrupted earlier") and the first then crashed with Optuna's UpdateFinishedTrialError.
The owners here are fabricated: this process stands for a live one, a finished
subprocess's pid for a dead one.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

from finetune_helpers import make_dataset
from vecgraft._util import processes
from vecgraft.cli import main
from vecgraft.errors import FinishedElsewhereError, VecgraftError
from vecgraft.evaluate._tune_setup import _recover_journal, recovery_lines
from vecgraft.evaluate._tune_spec import FINISHER_ATTR, INTERRUPTED, OWNER_ATTR, TuneSpec
from vecgraft.evaluate._tune_study import (
    ELSEWHERE,
    GONE,
    RUNNING_HERE,
    Recovered,
    _open_study,
    _recover_interrupted,
    _Worker,
    run_worker,
    trial_owner,
    trial_owner_state,
)
from vecgraft.evaluate.tune import tune
from vecgraft.finetune.config import FinetuneConfig


@pytest.fixture(scope="module")
def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _tune_command(tmp_path: Path) -> tuple[dict[str, Path], Path, list[str]]:
    """(data, --out, a fast `vecgraft tune` argv without --trials) on a small made dataset."""
    data = make_dataset(tmp_path / "data", train_per_class=20, test_per_class=5)
    out = tmp_path / "tune"
    config = tmp_path / "fast.yaml"
    config.write_text("epochs: 1\nmax_length: 16\n")
    args = ["tune", "--train", str(data["train"]), "--vectors", str(data["vectors"]),
            "--model", "boe", "--out", str(out), "--no-progress", "--config", str(config)]
    return data, out, args


def test_a_live_process_of_this_machine_keeps_its_trial(dead_pid):
    me = trial_owner()
    assert me == {"host": socket.gethostname(), "pid": os.getpid(),
                  "start": processes.process_start(os.getpid())}  # fmt: skip
    assert trial_owner_state(me) == RUNNING_HERE
    assert trial_owner_state({**me, "start": None}) == RUNNING_HERE  # start not known
    assert trial_owner_state({**me, "pid": dead_pid}) == GONE
    # the pid now names a process started later than the trial's
    assert trial_owner_state({**me, "start": "another boot:1"}) == GONE
    # another machine's process cannot be asked after (the recovery takes it as stopped)
    assert trial_owner_state({**me, "host": "elsewhere.example"}) == ELSEWHERE
    assert trial_owner_state({**me, "pid": dead_pid}, host="elsewhere.example") == ELSEWHERE
    # no owner: kept by an earlier version (or killed before it recorded itself)
    assert trial_owner_state(None) == GONE
    assert trial_owner_state({"host": me["host"]}) == GONE


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="start times from /proc")
def test_a_process_start_time_is_its_own():
    mine, init = processes.process_start(os.getpid()), processes.process_start(1)
    assert mine is not None and mine == processes.process_start(os.getpid())
    assert init is not None and init != mine  # pid 1 started first, in the same boot
    assert init.split(":")[0] == mine.split(":")[0]
    assert processes.process_start(2**22 + 1) is None  # above Linux's largest pid


def _running(study: Any, owner: dict[str, Any] | None) -> Any:
    """A trial asked for (RUNNING) with `owner` recorded as a worker records it."""
    trial = study.ask()
    trial.suggest_float("lr", 0.001, 0.1, log=True)
    if owner is not None:
        study._storage.set_trial_system_attr(trial._trial_id, OWNER_ATTR, owner)
    return trial


def test_recovery_fails_only_the_trials_whose_process_is_gone(dead_pid):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    me = trial_owner()
    live = _running(study, me)
    dead = _running(study, {**me, "pid": dead_pid})
    other = _running(study, {**me, "host": "elsewhere.example"})
    unowned = _running(study, None)
    found = _recover_interrupted(study)
    assert found == Recovered(failed=[dead.number, unowned.number],
                              live={live.number: os.getpid()},
                              elsewhere={other.number: "elsewhere.example"})  # fmt: skip
    states = {t.number: t.state for t in study.get_trials()}
    assert states[live.number] == TrialState.RUNNING
    # another machine's: a journal in --out is run from one (a new container, another node)
    assert states[dead.number] == states[other.number] == states[unowned.number] == TrialState.FAIL
    queued = [t.system_attrs["fixed_params"] for t in study.get_trials()
              if t.state == TrialState.WAITING]  # fmt: skip
    assert queued == [dead.params, other.params, unowned.params]
    study.tell(live, 0.5)  # the live process finishes its trial as if nothing happened
    assert study.trials[live.number].state == TrialState.COMPLETE


def _spec(tmp_path: Path) -> TuneSpec:
    return TuneSpec(base=FinetuneConfig(train=str(tmp_path / "train.csv")), out=str(tmp_path))


def test_a_second_command_leaves_the_trial_a_live_command_runs(tmp_path, dead_pid):
    # what `tune` does on start, on a journal in --out: the tester's second command
    spec = _spec(tmp_path)
    study = _open_study(spec)
    mine = _running(study, trial_owner())
    killed = _running(study, {**trial_owner(), "pid": dead_pid})
    said: list[str] = []
    _recover_journal(spec, said.append)
    assert said == [
        f"1 trial(s) left running by a command that ended (#{killed.number}): marked "
        "failed, settings queued again",
        f"1 trial(s) running in another command on this machine (#{mine.number}, process "
        f"{os.getpid()}): left to it; this command runs the study's other trials beside it",
    ]
    trials = _open_study(spec).get_trials()
    assert trials[mine.number].state == TrialState.RUNNING
    assert trials[killed.number].state == TrialState.FAIL
    # the first command's own trial goes on: no UpdateFinishedTrialError
    mine.set_user_attr("best_epoch", 2)
    study.tell(mine, 0.75)
    assert _open_study(spec).get_trials()[mine.number].state == TrialState.COMPLETE
    # nothing left running by a command that ended: nothing said
    said.clear()
    _recover_journal(spec, said.append)
    assert said == []


def test_the_recovery_line_counts_the_trials_it_queued_again():
    # kill -9 of a `--jobs 2` command: its worker process marked #0 itself as it stopped,
    # the next command marks #1; the failed trials' line at the end counts both
    # ("2 of 5 trials failed: interrupted ... (trial #0, #1)")
    assert recovery_lines(Recovered(failed=[1]), [0, 1]) == [
        "1 trial(s) left running by a command that ended (#1): marked failed, settings "
        "queued again (2 interrupted in all: #0, #1)"
    ]
    # #0 was queued again and rerun commands ago: not counted as queued again now
    assert recovery_lines(Recovered(failed=[3]), [0, 3]) == [
        "1 trial(s) left running by a command that ended (#3): marked failed, settings "
        "queued again (2 interrupted in all: #0, #3)"
    ]
    assert recovery_lines(Recovered(failed=[2, 4]), [2, 4]) == [
        "2 trial(s) left running by a command that ended (#2, #4): marked failed, settings "
        "queued again"
    ]
    assert recovery_lines(Recovered(failed=[4], elsewhere={3: "b", 2: "a"}), [0, 2, 3, 4]) == [
        "1 trial(s) left running by a command that ended (#4): marked failed, settings "
        "queued again",
        "2 trial(s) left running by a command on another machine (#2, #3 on a, b): taken as "
        "ended (a study in --out is run from one machine, as when the same --out is run "
        "again in a new container or on another node; several machines share one through "
        "--storage), marked failed, settings queued again (4 interrupted in all: #0, #2, "
        "#3, #4)",
    ]
    assert recovery_lines(Recovered(), [0, 1]) == []


def test_a_worker_records_itself_on_each_trial(tmp_path):
    _, out, args = _tune_command(tmp_path)
    assert main([*args, "--trials", "1"]) == 0
    (trial,) = _open_study(TuneSpec(base=FinetuneConfig(), out=str(out))).get_trials()
    assert trial.system_attrs[OWNER_ATTR] == trial_owner()
    assert not trial.user_attrs.get(INTERRUPTED)


def test_psutil_says_no_start_only_for_its_own_refusals(monkeypatch):
    # psutil's errors (no such process, access denied) mean "not known"; any other error
    # is a fault to see, not a start time quietly taken as unknown
    psutil = pytest.importorskip("psutil")

    def refuse(error: BaseException) -> None:
        def process(pid: int) -> Any:
            raise error

        monkeypatch.setattr(psutil, "Process", process)

    refuse(psutil.NoSuchProcess(123))
    assert processes._psutil_start(123) is None
    refuse(psutil.AccessDenied(123))
    assert processes._psutil_start(123) is None
    refuse(PermissionError("denied"))
    assert processes._psutil_start(123) is None
    refuse(RuntimeError("a fault"))
    with pytest.raises(RuntimeError, match="a fault"):
        processes._psutil_start(123)


def test_a_trial_left_by_another_machine_runs_again(tmp_path, capsys):
    # the same --out run again in a new container (or a resubmitted job on another node):
    # the killed command's trial names another hostname. Left running, it counted towards
    # --trials and was never queued again: the study ended with #1 RUNNING, 2 of 3 finished.
    _, out, args = _tune_command(tmp_path)
    assert main([*args, "--trials", "1"]) == 0
    spec = TuneSpec(base=FinetuneConfig(), out=str(out))
    killed = _running(_open_study(spec), {**trial_owner(), "host": "node17", "pid": 12345})
    capsys.readouterr()
    assert main([*args, "--trials", "3"]) == 0
    assert (
        f"\n1 trial(s) left running by a command on another machine (#{killed.number} on "
        "node17): taken as ended (a study in --out is run from one machine, as when the same "
        "--out is run again in a new container or on another node; several machines share "
        "one through --storage), marked failed, settings queued again\n"
    ) in capsys.readouterr().out
    states = [t.state for t in _open_study(spec).get_trials()]
    assert states == [TrialState.COMPLETE, TrialState.FAIL, TrialState.COMPLETE,
                      TrialState.COMPLETE]  # fmt: skip
    repeat = _open_study(spec).get_trials()[2]
    assert killed.params.items() <= repeat.params.items()  # its settings ran again


@pytest.fixture
def other_command():
    """A live process on this machine standing for a second `tune` of the same --out."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait()


def test_one_command_finishes_a_study_two_commands_ran(tmp_path, capsys, other_command):
    # A ends its search (the count reached --trials with B's trial running); it chose and
    # retrained while B's trial ran, and B then failed on final/'s lock or retrained again
    data, out, args = _tune_command(tmp_path)
    args += ["--trials", "2"]
    spec = TuneSpec(base=FinetuneConfig(), out=str(out))
    assert main([*args[:-1], "1"]) == 0
    b = trial_owner(other_command.pid)
    study = _open_study(spec)
    trial = _running(study, b)
    capsys.readouterr()
    assert main(args) == 0
    said = capsys.readouterr().out
    assert (f"\nTrial(s) #{trial.number} still running in process {b['pid']}, which chooses "
            f"the best trial and retrains {out}/final when they finish; this command ends "
            "here\n") in said  # fmt: skip
    assert "Chosen trial" not in said and "Retraining" not in said
    # B's trial ends; of two commands ending at once, the one recorded first finishes
    study.tell(trial, 0.5)
    study._storage.set_study_system_attr(study._study_id, FINISHER_ATTR, b)
    assert main(args) == 0
    said = capsys.readouterr().out
    assert (f"\nProcess {b['pid']} is finishing this study (choosing the best trial, "
            f"retraining {out}/final); this command ends here\n") in said  # fmt: skip
    assert "Chosen trial" not in said
    # from Python, a TuneResult or an error that says why there is none (it returned None,
    # so a typed caller had to check every call for a case two commands on one folder make)
    with pytest.raises(FinishedElsewhereError, match="another command on this study chooses"):
        tune(data["train"], out=out, vectors=data["vectors"], model="boe", trials=2,
             config=FinetuneConfig(epochs=1, max_length=16), progress=False, log=lambda _: None)
    # the last command finishes; a claim of a process that ended is no claim
    other_command.kill()
    other_command.wait()
    assert main(args) == 0
    assert "Chosen trial #" in capsys.readouterr().out
    assert _open_study(spec)._storage.get_study_system_attrs(study._study_id)[FINISHER_ATTR] is None
    # a finished study run again chooses and retrains again, as before
    assert main(args) == 0
    assert "Chosen trial #" in capsys.readouterr().out


def test_a_worker_process_records_its_command(tmp_path):
    # a worker process of `--jobs` records the pid of its command, which finishes its
    # trials (`takes_finish`); run here directly, as `_worker_main` runs it
    data = make_dataset(tmp_path / "data", train_per_class=20, test_per_class=5)
    base = FinetuneConfig(train=str(data["train"]), vectors=str(data["vectors"]), model="boe",
                          epochs=1, max_length=16, progress=False)  # fmt: skip
    spec = TuneSpec(base=base, out=str(tmp_path / "tune"), trials=1)
    run_worker(spec, 1, command=4242)
    (trial,) = _open_study(spec).get_trials()
    assert trial.system_attrs[OWNER_ATTR] == {**trial_owner(), "command": 4242}
    assert trial.user_attrs["worker"] == f"{os.getpid()}:1"


def test_a_worker_process_hands_its_command_to_run_worker(monkeypatch, capsys):
    # the test above calls run_worker itself: dropping `command=parent` from the worker
    # process's entry point left every test green
    from vecgraft._util import signals
    from vecgraft.errors import VecgraftError
    from vecgraft.evaluate import _tune_study

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(signals, "worker_signals", lambda parent: None)
    monkeypatch.setattr("torch.set_num_threads", lambda n: None)
    monkeypatch.setattr(_tune_study, "run_worker",
                        lambda spec, worker, **kw: calls.append(kw))  # fmt: skip
    spec = TuneSpec(base=FinetuneConfig(), out="o")
    _tune_study._worker_main(spec, 1, None, ready=None, parent=4242)
    assert calls[0]["command"] == 4242

    def taken(spec: TuneSpec, worker: int, **kw: Any) -> None:
        raise VecgraftError("trial #0 was taken as stopped")

    monkeypatch.setattr(_tune_study, "run_worker", taken)
    with pytest.raises(SystemExit) as end:  # one line and status 1, not a traceback
        _tune_study._worker_main(spec, 1, None, ready=None, parent=4242)
    assert end.value.code == 1
    assert capsys.readouterr().err == "tune worker 1: error: trial #0 was taken as stopped\n"


def _recovery_on_another_machine(out: Path) -> None:
    """A command on another hostname (a second container on the same volume) starts on `out`."""
    spec = TuneSpec(base=FinetuneConfig(), out=str(out))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "gethostname", lambda: "machine2")
        found = _recover_interrupted(_open_study(spec))
    assert list(found.elsewhere) == [0]  # this command's running trial, taken as stopped


TAKEN = (
    "trial #0 was taken as stopped by a command on another machine (a study in --out is run "
    "from one machine; several machines share one through --storage)"
)


def test_a_trial_another_machine_took_as_stopped_ends_the_command_with_an_error(tmp_path):
    # its next report crashed with Optuna's UpdateFinishedTrialError, and the cleanup after
    # it (marking the trial interrupted) raised it again
    data = make_dataset(tmp_path / "data", train_per_class=20, test_per_class=5)
    out = tmp_path / "tune"

    def hook(number: int, fold: int, train: Any, valid: Any) -> None:
        _recovery_on_another_machine(out)

    with pytest.raises(VecgraftError) as caught:
        tune(data["train"], out=out, vectors=data["vectors"], model="boe", trials=1,
             config=FinetuneConfig(epochs=2, max_length=16), progress=False,
             log=lambda _: None, trial_data_hook=hook)  # fmt: skip
    assert str(caught.value) == TAKEN
    (trial, queued) = _open_study(TuneSpec(base=FinetuneConfig(), out=str(out))).get_trials()
    assert (trial.state, queued.state) == (TrialState.FAIL, TrialState.WAITING)


def test_the_cli_says_a_trial_taken_as_stopped_as_an_error(tmp_path, capsys, monkeypatch):
    # taken as stopped after its last report: Optuna's "Cannot tell a FAIL trial."
    _, out, args = _tune_command(tmp_path)

    def objective(self: Any, trial: Any) -> float:
        _recovery_on_another_machine(out)
        return 0.5

    monkeypatch.setattr(_Worker, "objective", objective)
    assert main([*args, "--trials", "1"]) == 1
    assert capsys.readouterr().err == f"vecgraft tune: error: {TAKEN}\n"
