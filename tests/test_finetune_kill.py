"""A run killed (SIGKILL) at any moment: the files a kill leaves, then `--resume` or a rerun.

A kill runs no `finally` and no rollback, so each test builds what one would leave (a
`.name.old` twin between `atomic_directory`'s two renames, a dead process's temp file, a
manifest without config.json) and checks that the next command finishes the run cleanly.
`scripts/kill_driver.py` kills real processes at random moments.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from finetune_helpers import make_dataset
from vecgraft.errors import CheckpointError
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.run import finetune


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("kill"), train_per_class=10, test_per_class=3)


def config(data, out, **changes) -> FinetuneConfig:
    base = FinetuneConfig(
        train=str(data["train"]), test=str(data["test"]), vectors="random", model="boe",
        out=str(out), epochs=2, batch_size=16, embedding_dim=8, patience=None,
        progress=False, plots=False,
    )  # fmt: skip
    return base.replace(**changes)


def quiet(_msg: str) -> None:
    return None


@pytest.fixture(scope="module")
def finished(data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("finished") / "run"
    finetune(config(data, out), log=quiet)
    return out


def copy_run(finished: Path, to: Path) -> Path:
    """A copy of the finished run whose manifest names the copy (as if it ran there)."""
    shutil.copytree(finished, to)
    manifest = json.loads((to / "manifest.json").read_text())
    (to / "manifest.json").write_text(json.dumps({**manifest, "out": str(to.resolve())}))
    return to


def dead_pid() -> int:
    """The id of a process that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def scores(run: Path) -> dict:
    metrics = json.loads((run / "metrics.json").read_text())
    return {k: metrics[k] for k in ("test", "valid", "best_epoch", "epochs_run")}


def test_resume_puts_back_a_checkpoint_killed_between_its_two_renames(data, finished, tmp_path):
    # killed while re-saving: `best` and `last` renamed to their `.old` twins, the new
    # folders not yet in place, metrics.json not yet rewritten
    run = copy_run(finished, tmp_path / "run")
    (run / "metrics.json").unlink()
    for name in ("best", "last"):
        (run / name).rename(run / f".{name}.old")
    lines: list[str] = []
    finetune(config(data, run, resume=True), log=lines.append)
    assert (run / "best" / "model.safetensors").is_file()
    assert (run / "last" / "model.safetensors").is_file()
    left = sorted(p.name for p in run.iterdir() if p.name.startswith("."))
    assert left == []
    assert scores(run) == scores(finished)
    # its training had ended: "Resuming ... at epoch N + 1" said it would train on
    assert any("training had finished" in line for line in lines)
    assert not any(line.startswith("Resuming") for line in lines)


def test_resume_removes_old_twins_and_dead_writers_temp_files(data, finished, tmp_path):
    # killed after the second rename (the new `best` whole, its `.old` twin still there)
    # and while writing another `best` (a dead process's temp folder)
    run = copy_run(finished, tmp_path / "run")
    (run / "metrics.json").unlink()
    shutil.copytree(run / "best", run / ".best.old")
    shutil.copytree(run / "best", run / f".best.{dead_pid()}.tmp")
    finetune(config(data, run, resume=True), log=quiet)
    left = sorted(p.name for p in run.iterdir() if p.name.startswith("."))
    assert left == []
    assert scores(run) == scores(finished)


def test_a_fusion_killed_between_its_two_renames_is_still_used(finished, tmp_path):
    # a resumed finished run killed while re-saving its fusion: metrics.json is there, the
    # fusion only as `.fusion.old`; predictions must stay the fused ones
    from vecgraft.finetune.predict import load_run

    texts = ["goal match team today", "bread soup oven", "server code chip"]
    fused = load_run(finished).predict_proba(texts)
    run = copy_run(finished, tmp_path / "run")
    (run / "fusion").rename(run / ".fusion.old")
    assert load_run(run).predict_proba(texts).tolist() == fused.tolist()


def test_a_kill_while_overwrite_removes_the_old_run_never_leaves_it_looking_finished(
    data, finished, tmp_path, monkeypatch
):
    # the old run's files go aside one by one; whichever move the kill stops before, the
    # folder is the old run whole (it predicts) or an unfinished run (predict says so),
    # never metrics.json without the checkpoints and fusion it scored
    from vecgraft.finetune import rundir
    from vecgraft.finetune.predict import load_run

    real_move = rundir.RunFolder._move_aside
    names = json.loads((finished / "manifest.json").read_text())["files"]
    for survived in range(len(names)):
        run = copy_run(finished, tmp_path / f"run{survived}")
        removed: list[str] = []

        def move(self, name, removed=removed, survived=survived):
            if len(removed) == survived:
                raise SystemExit("killed")
            removed.append(name)
            real_move(self, name)

        monkeypatch.setattr(rundir.RunFolder, "_move_aside", move)
        monkeypatch.setattr(rundir.RunFolder, "_put_back", lambda self, files: None)  # killed
        with pytest.raises(SystemExit):
            finetune(config(data, run, seed=7), overwrite=True, log=quiet)
        monkeypatch.undo()
        if (run / "metrics.json").exists():
            assert all((run / name).exists() for name in ("best", "last", "fusion", "config.json"))
            load_run(run)
        else:
            with pytest.raises(CheckpointError, match="has not finished"):
                load_run(run)
        # whatever the kill left (.replaced/ included) is listed, so --overwrite clears it
        listed = set(json.loads((run / "manifest.json").read_text())["files"])
        assert {p.name for p in run.iterdir()} - {"manifest.json"} <= listed
        finetune(config(data, run, seed=7), overwrite=True, log=quiet)
        assert not (run / ".replaced").exists()


def test_a_run_killed_before_its_config_json_is_started_again_by_the_same_command(data, tmp_path):
    # killed between the manifest and config.json: --resume has nothing to continue and
    # must say how to go on; the plain command (which said "use --resume") must then work
    run = tmp_path / "run"
    run.mkdir()
    manifest = {"format": 1, "out": str(run.resolve()), "files": ["config.json"]}
    (run / "manifest.json").write_text(json.dumps(manifest))
    (run / f".config.json.{dead_pid()}.tmp").write_text('{"tra')
    with pytest.raises(CheckpointError, match="start it again with the same command"):
        finetune(config(data, run, resume=True), log=quiet)
    finetune(config(data, run), log=quiet)
    assert (run / "metrics.json").is_file()
    assert sorted(p.name for p in run.iterdir() if p.name.startswith(".")) == []


def test_an_ensemble_member_killed_before_its_config_json_resumes(data, tmp_path):
    # the ensemble's --resume starts a member without config.json anew: it must not stop
    # at the member's manifest with "already holds a run; use --resume"
    run = tmp_path / "run"
    finetune(config(data, run, ensemble=2), log=quiet)
    member = run / "members" / "1"
    shutil.rmtree(member)
    member.mkdir()
    manifest = {"format": 1, "out": str(member.resolve()), "files": []}
    (member / "manifest.json").write_text(json.dumps(manifest))
    (run / "metrics.json").unlink()
    finetune(config(data, run, resume=True), log=quiet)
    assert (member / "metrics.json").is_file() and (run / "metrics.json").is_file()
