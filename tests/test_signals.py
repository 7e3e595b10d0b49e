"""A command stopped by SIGTERM (`kill`, `timeout`, systemd, SLURM) cleans up as after Ctrl-C.

SIGTERM ended the process at once: `finetune` exited 143 without a word or a checkpoint,
an `--overwrite` left the earlier run in `.replaced/`, and `pretrain` left its corpus-sized
token cache in $TMPDIR, an empty --out and a hidden temp folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from finetune_helpers import make_dataset
from subprocess_helpers import stop_when
from vecgraft.cli import main

RUN = ["--vectors", "random", "--model", "boe", "--batch-size", "16", "--no-progress",
       "--no-plots"]  # fmt: skip


@pytest.fixture
def data(tmp_path):
    return make_dataset(tmp_path / "data", train_per_class=10, test_per_class=3)


@pytest.fixture
def own_handler():
    """A SIGTERM handler of the test's: where a command leaves SIGTERM alone, the signal
    fails the test here instead of ending pytest; the command must put it back."""

    def reached(_signum, _frame):
        raise AssertionError("SIGTERM reached the caller's handler: the command ignored it")

    previous = signal.signal(signal.SIGTERM, reached)
    yield reached
    signal.signal(signal.SIGTERM, previous)


def sigterm() -> None:
    os.kill(os.getpid(), signal.SIGTERM)


def finetune_args(data, out: Path, *extra: str) -> list[str]:
    return ["finetune", "--train", str(data["train"]), "--test", str(data["test"]),
            "--out", str(out), *RUN, *extra]  # fmt: skip


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}  # fmt: skip


def test_sigterm_in_finetune_checkpoints_mid_epoch_and_says_resume(
    data, tmp_path, monkeypatch, capsys, own_handler
):
    from vecgraft.finetune.train import Trainer

    step, seen = Trainer._step, []

    def step_then_sigterm(self, indices, global_size):
        out = step(self, indices, global_size)
        seen.append(1)
        if len(seen) == 5:
            sigterm()  # inside the step: held until it is counted, as a Ctrl-C is
        return out

    monkeypatch.setattr(Trainer, "_step", step_then_sigterm)
    run = tmp_path / "run"
    assert main(finetune_args(data, run, "--epochs", "10")) == 143  # 128 + SIGTERM
    monkeypatch.setattr(Trainer, "_step", step)
    err = capsys.readouterr().err
    assert err.startswith(
        f"vecgraft finetune: terminated (SIGTERM): the last checkpoint is in {run / 'last'}"
    )
    assert "--resume" in err
    assert json.loads((run / "last" / "state.json").read_text())["global_step"] == 5
    assert signal.getsignal(signal.SIGTERM) is own_handler  # the caller's, back
    assert main(["finetune", "--out", str(run), "--resume", "--no-progress"]) == 0
    assert (run / "metrics.json").is_file()


def test_sigterm_before_an_overwrites_first_checkpoint_puts_the_earlier_run_back(
    data, tmp_path, monkeypatch, capsys, own_handler
):
    # and a second SIGTERM while the earlier run is put back does not stop that halfway
    from vecgraft.finetune import recipe, rundir

    run = tmp_path / "run"
    assert main(finetune_args(data, run, "--epochs", "2")) == 0
    before = snapshot(run)
    notes, put_back = recipe.ClassifierRecipe._write_data_notes, rundir.RunFolder._put_back

    def notes_then_sigterm(self):
        notes(self)
        sigterm()

    def put_back_after_another_sigterm(self, files):
        sigterm()
        put_back(self, files)

    monkeypatch.setattr(recipe.ClassifierRecipe, "_write_data_notes", notes_then_sigterm)
    monkeypatch.setattr(rundir.RunFolder, "_put_back", put_back_after_another_sigterm)
    capsys.readouterr()
    assert main(finetune_args(data, run, "--epochs", "3", "--overwrite")) == 143
    assert "the earlier run in --out is as it was" in capsys.readouterr().err
    assert snapshot(run) == before
    assert signal.getsignal(signal.SIGTERM) is own_handler


def test_ctrl_c_still_exits_130(data, tmp_path, monkeypatch, capsys):
    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("vecgraft.finetune.run.finetune", interrupted)
    assert main(finetune_args(data, tmp_path / "run")) == 130
    assert capsys.readouterr().err.startswith("vecgraft finetune: interrupted: ")


def test_sigterm_in_compare_names_the_cells_folder_once(data, tmp_path, monkeypatch, capsys):
    # `--out compare/` printed "kept in compare//cells"
    from vecgraft._util.signals import Terminated

    def terminated(*_args, **_kwargs):
        raise Terminated

    monkeypatch.setattr("vecgraft.evaluate.compare.compare", terminated)
    out = f"{tmp_path / 'compare'}/"
    args = ["compare", "--train", str(data["train"]), "--sources", "random", "--out", out]
    assert main(args) == 143
    said = capsys.readouterr().out
    assert said.startswith(
        f"terminated (SIGTERM): finished cells are kept in {tmp_path / 'compare' / 'cells'}; "
    )


def test_sigterm_to_pretrain_removes_its_token_cache_and_output_folders(tmp_path):
    # a real SIGTERM from outside, to the process alone (as `kill PID` sends it)
    pytest.importorskip("gensim")
    from pretrain_helpers import synonym_corpus, write_lines

    corpus = write_lines(tmp_path / "corpus.txt", synonym_corpus(3000))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "vectors"
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": src, "OMP_NUM_THREADS": "1", "TMPDIR": str(tmp)}
    cmd = [sys.executable, "-m", "vecgraft", "pretrain", "--method", "glove", "--corpus",
           str(corpus), "--out", str(out), "--dim", "8", "--epochs", "100000",
           "--no-progress"]  # fmt: skip

    def started() -> bool:
        return any(p.name.startswith("vecgraft-tokens-") for p in tmp.iterdir())

    def into_the_run(proc: subprocess.Popen[bytes]) -> None:
        time.sleep(0.3)  # into the counting or the training
        proc.send_signal(signal.SIGTERM)

    code, err = stop_when(cmd, started, into_the_run, env=env)
    assert code == 143, err
    assert err.endswith("vecgraft pretrain: terminated (SIGTERM)\n")
    assert list(tmp.iterdir()) == []  # the token cache (and any co-occurrence shards)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.txt", "tmp"]


def dead_pid() -> int:
    """The id of a process that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_killed_pretrains_temp_folders_go_at_the_next_run(tmp_path, monkeypatch):
    # kill -9 runs no cleanup: its corpus-sized token cache (and GloVe's co-occurrence
    # shards) stayed in $TMPDIR for good; the next run removes those of dead processes
    import re
    import socket
    import tempfile

    from pretrain_helpers import synonym_corpus, write_lines
    from vecgraft.pretrain import PretrainConfig, pretrain

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    # vecgraft-KIND-HOST-PID-*, the machine's name without a "-"
    dead, host = dead_pid(), re.sub(r"[^A-Za-z0-9.]+", "_", socket.gethostname())
    names = {
        "killed": f"vecgraft-tokens-{host}-{dead}-k1ll3d00",
        "killed_shards": f"vecgraft-cooccur-{host}-{dead}-sh4rds00",
        "running": f"vecgraft-tokens-{host}-{os.getppid()}-runn1ng0",  # pytest's parent runs
        "elsewhere": f"vecgraft-tokens-othermachine-{dead}-0th3r000",  # another machine's
        "unnamed": "vecgraft-tokens-abc123xy",  # an older vecgraft's: whose, unknown
    }
    for name in names.values():
        (tmp / name).mkdir()
        (tmp / name / "tokens.txt").write_text("cat eats fish\n")
    corpus = write_lines(tmp_path / "corpus.txt", synonym_corpus(50))
    pretrain(PretrainConfig("glove", [str(corpus)], str(tmp_path / "out"), dim=4, epochs=1,
                            min_count=1, progress=False))  # fmt: skip
    left = {p.name for p in tmp.iterdir()}
    assert left == {names["running"], names["elsewhere"], names["unnamed"]}


WORKER = """
import pathlib, sys, time
from vecgraft._util.signals import Terminated, worker_signals
sys.platform = "other"  # no prctl: the thread watching the parent's id alone
marker = pathlib.Path(sys.argv[1])
try:
    worker_signals(int(sys.argv[2]), every=0.05)
    marker.write_text("ready")
    while True:
        time.sleep(0.05)
except Terminated:
    marker.write_text("stopped")
"""
PARENT = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2], str(os.getpid())])
print(child.pid, flush=True)
time.sleep(120)
"""


def test_a_worker_stops_when_its_parent_is_killed_where_there_is_no_prctl(tmp_path):
    # `tune --jobs`' workers went on alone after their command was killed; on Linux the
    # kernel tells them (PR_SET_PDEATHSIG), elsewhere a thread sees the parent id change
    src = str(Path(__file__).resolve().parents[1] / "src")
    marker = tmp_path / "worker"
    env = {**os.environ, "PYTHONPATH": src}
    cmd = [sys.executable, "-c", PARENT, WORKER, str(marker)]
    parent = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE)
    worker = None

    def says(text: str, within: float) -> bool:
        deadline = time.time() + within
        while time.time() < deadline:
            if marker.exists() and marker.read_text() == text:
                return True
            time.sleep(0.05)
        return False

    try:
        worker = int(parent.stdout.readline())
        assert says("ready", within=60)
        parent.kill()
        parent.wait()
        assert says("stopped", within=10), "the worker went on after its parent was killed"
    finally:
        parent.kill()
        parent.wait()
        if worker is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker, signal.SIGKILL)


def test_a_sigterm_swallowed_in_a_weakref_callback_is_raised_again(capsys):
    # raised inside a callback Python cannot raise from (an import lock's, a tune worker
    # met), Terminated was printed as "Exception ignored ... Traceback" and the process ran
    # on, deaf to later SIGTERMs
    _swallow_a_sigterm_in_a_weakref_callback(capsys)


def test_a_sigterm_swallowed_again_is_raised_when_the_hook_is_slow(capsys, monkeypatch):
    # on a loaded machine the main thread was still inside the unraisable hook (held in
    # Timer.start) when the rearm's SIGTERM came 10 ms later: raised there, it was swallowed
    # again and, `fired` set, every later SIGTERM ignored (about 1 run in 25 under load)
    import threading

    class SlowStart(threading.Timer):
        def start(self) -> None:
            super().start()
            time.sleep(0.05)  # the main thread held after the timer thread started

    monkeypatch.setattr(threading, "Timer", SlowStart)
    _swallow_a_sigterm_in_a_weakref_callback(capsys)


def test_a_second_sigterm_inside_the_hook_is_not_lost(capsys, monkeypatch):
    # a SIGTERM coming while the hook ran (rearming) raised Terminated in there, where it
    # was swallowed again; `fired` set, the rearm's own SIGTERM was then ignored
    import threading

    sent = []

    class SignalledStart(threading.Timer):
        def start(self) -> None:
            super().start()
            if not sent:
                sent.append(True)
                signal.raise_signal(signal.SIGTERM)

    monkeypatch.setattr(threading, "Timer", SignalledStart)
    _swallow_a_sigterm_in_a_weakref_callback(capsys)
    assert sent


def _swallow_a_sigterm_in_a_weakref_callback(capsys: pytest.CaptureFixture[str]) -> None:
    """A SIGTERM raised inside a weakref callback is raised again, soon, in the main thread."""
    import weakref

    from vecgraft._util.signals import Terminated, sigterm_as_interrupt

    class Thing:
        pass

    def in_callback(_ref: object) -> None:
        signal.raise_signal(signal.SIGTERM)
        for _ in range(1000):  # the handler runs here, inside the callback
            pass

    with pytest.raises(Terminated), sigterm_as_interrupt():
        thing = Thing()
        ref = weakref.ref(thing, in_callback)
        del thing
        time.sleep(5)  # raised again meanwhile (10 ms later)
        raise AssertionError("not raised again")
    assert ref() is None
    assert "Exception ignored" not in capsys.readouterr().err
    later: list[int] = []  # a second resent SIGTERM, after the block, killed the process
    previous = signal.signal(signal.SIGTERM, lambda signum, _frame: later.append(signum))
    try:
        time.sleep(0.2)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert later == []


def test_python_m_exits_130_after_a_ctrl_c_that_went_through_exec(tmp_path):
    # a KeyboardInterrupt raised in code run from a string (as libraries generate code),
    # caught by the CLI, still made `python -m vecgraft` end by SIGINT (status -2 instead of
    # 130): a `tune --jobs 2` stopped by Ctrl-C, about one time in ten
    (tmp_path / "sitecustomize.py").write_text(
        "import vecgraft.cli\n"
        "def main(argv=None):\n"
        "    try:\n"
        "        exec('raise KeyboardInterrupt')\n"
        "    except KeyboardInterrupt:\n"
        "        return 130\n"
        "vecgraft.cli.main = main\n"
    )
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), src])}
    proc = subprocess.run([sys.executable, "-m", "vecgraft"], env=env, capture_output=True)
    assert proc.returncode == 130, proc.stderr.decode()
