"""Run folders are the user's: overwrite, resume and failures touch only what vecgraft wrote.

Also the checkpoint guards: schema-checked JSON, shapes checked before allocating, refused
pickles, a capped `--max-length 0`, and sparse metrics for many labels.
"""

from __future__ import annotations

import csv
import json
import os
import pickle
import re
import resource
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

from finetune_helpers import held_lock, is_held, is_locked, make_dataset, write_csv
from subprocess_helpers import fresh_python
from vecgraft.errors import CheckpointError, ConfigError, DataError
from vecgraft.finetune import families, text_settings
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.ensemble import EnsemblePlan, run_ensemble
from vecgraft.finetune.predict import load_run
from vecgraft.finetune.recipe import ClassifierRecipe
from vecgraft.finetune.run import finetune


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("rundir"), train_per_class=10, test_per_class=3)


def config(data, out, **changes) -> FinetuneConfig:
    base = FinetuneConfig(
        train=str(data["train"]),
        test=str(data["test"]),
        vectors="random",
        model="boe",
        out=str(out),
        epochs=1,
        batch_size=16,
        embedding_dim=8,
        patience=None,
        progress=False,
        plots=False,
    )
    return base.replace(**changes)


def quiet(_msg: str) -> None:
    return None


def snapshot(folder: Path) -> dict[str, bytes]:
    """Relative path -> content of every file under `folder`."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def finished(data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("finished") / "run"
    finetune(config(data, out), log=quiet)
    return out


@contextmanager
def address_space_headroom(extra: int):
    """Cap this process's address space at its current size + `extra` bytes, then restore."""
    with open("/proc/self/status") as fh:
        vm = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize:"))
    old = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (vm + extra, old[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, old)


# -- run folders -----------------------------------------------------------------------------
def test_manifest_lists_what_the_run_wrote(finished):
    manifest = json.loads((finished / "manifest.json").read_text())
    assert manifest["out"] == str(finished.resolve())
    on_disk = {p.name for p in finished.iterdir()} - {"manifest.json"}
    assert set(manifest["files"]) == on_disk
    assert {"config.json", "best", "last", "metrics.json", "splits.json"} <= on_disk


def test_overwrite_with_missing_train_file_deletes_nothing(data, finished, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    (out / "my-notes.txt").write_text("mine")
    before = snapshot(out)
    with pytest.raises(DataError):
        finetune(config(data, out, train=str(tmp_path / "missing.csv")), overwrite=True, log=quiet)
    assert snapshot(out) == before


def test_overwrite_removes_only_the_runs_own_files(data, finished, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    (out / "my-notes.txt").write_text("mine")
    (out / "sub").mkdir()
    (out / "sub" / "x.csv").write_text("x")
    (out / "history.png").write_text("the user's own png, not in the manifest")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["files"].remove("history.json")  # pretend the old run did not write it
    (out / "manifest.json").write_text(json.dumps(manifest))
    (out / "history.json").write_text("kept: not listed")
    finetune(config(data, out, seed=1), overwrite=True, log=quiet)
    assert (out / "my-notes.txt").read_text() == "mine"
    assert (out / "sub" / "x.csv").read_text() == "x"
    assert json.loads((out / "config.json").read_text())["seed"] == 1
    assert (out / "history.png").read_text().startswith("the user's")  # plots off: untouched
    assert json.loads((out / "history.json").read_text())[0]["epoch"] == 1  # new run wrote it


def test_overwrite_that_fails_before_its_first_checkpoint_puts_the_old_run_back(
    data, finished, tmp_path
):
    # the README's promise: a run that fails before its first checkpoint leaves the folder
    # as it was; with --overwrite the old run had been deleted by then
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["out"] = str(out.resolve())
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    (out / "my-notes.txt").write_text("mine")
    before = snapshot(out)

    def boom(step: int) -> None:
        raise ValueError("disk on fire")

    with pytest.raises(ValueError, match="disk on fire"):
        finetune(config(data, out, seed=3), overwrite=True, log=quiet, on_step=boom)
    assert snapshot(out) == before
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []
    load_run(out)  # still the finished old run


def test_an_error_while_overwrite_sets_the_old_run_aside_puts_it_back(
    data, finished, tmp_path, monkeypatch
):
    from vecgraft.finetune import rundir

    out = tmp_path / "run"
    shutil.copytree(finished, out)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["out"] = str(out.resolve())
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    before = snapshot(out)
    real_move, moved = rundir.RunFolder._move_aside, []

    def move(self, name):
        if len(moved) == 3:
            raise OSError(5, "Input/output error")
        moved.append(name)
        real_move(self, name)

    monkeypatch.setattr(rundir.RunFolder, "_move_aside", move)
    with pytest.raises(OSError, match="Input/output error"):
        finetune(config(data, out, seed=3), overwrite=True, log=quiet)
    assert snapshot(out) == before


def test_overwrite_that_checkpoints_discards_the_old_run(data, finished, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    # Ctrl-C in epoch 2, after the first epoch's checkpoint (2 batches an epoch; with
    # checkpoint_every=0 every epoch writes one)
    with pytest.raises(KeyboardInterrupt):
        finetune(config(data, out, seed=3, epochs=4, checkpoint_every=0), overwrite=True,
                 log=quiet, on_step=interrupt_at(3))  # fmt: skip
    assert not (out / ".replaced").exists()
    assert ".replaced" not in json.loads((out / "manifest.json").read_text())["files"]
    assert json.loads((out / "config.json").read_text())["seed"] == 3
    finetune(config(data, out, resume=True), log=quiet)
    assert set(json.loads((out / "manifest.json").read_text())["files"]) == {
        p.name for p in out.iterdir()
    } - {"manifest.json"}


@pytest.mark.parametrize("step", [1, 3])
def test_ctrl_c_before_an_overwrites_first_checkpoint_puts_the_earlier_run_back(
    data, finished, tmp_path, step
):
    # the checkpoint a Ctrl-C writes counted as the new run's first: a Ctrl-C 2 s into an
    # --overwrite of a finished run removed that run for 57 steps of the new one, and said
    # only "continue with --resume". Step 1 is in the first epoch, step 3 after it (an
    # epoch end writes `last/` once checkpoint_every is up, or with a new best epoch)
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    before = snapshot(out)
    with pytest.raises(KeyboardInterrupt):
        finetune(config(data, out, seed=3, epochs=4), overwrite=True, log=quiet,
                 on_step=interrupt_at(step))  # fmt: skip
    assert snapshot(out) == before


def test_a_linear_overwrite_discards_the_old_run_and_evaluates_json(data, tmp_path, capsys):
    # a linear run writes no checkpoint, so the run set aside in .replaced/ stayed for good;
    # and evaluate's eval-*.json, unlisted, outlived the model it scored
    from vecgraft.cli import main

    out = tmp_path / "run"
    finetune(config(data, out, model="linear"), log=quiet)
    assert main(["evaluate", str(out), "--data", str(data["test"])]) == 0
    assert "eval-test.json" in json.loads((out / "manifest.json").read_text())["files"]
    finetune(config(data, out, model="linear", seed=1), overwrite=True, log=quiet)
    assert not (out / ".replaced").exists() and not (out / "eval-test.json").exists()
    files = json.loads((out / "manifest.json").read_text())["files"]
    assert set(files) == {p.name for p in out.iterdir()} - {"manifest.json"}
    assert ".replaced" not in files


def test_overwrite_refuses_a_folder_without_manifest(data, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "config.json").write_text("{}")
    (out / "data.csv").write_text("precious")
    before = snapshot(out)
    with pytest.raises(ConfigError, match=r"no manifest\.json.*nothing was removed"):
        finetune(config(data, out), overwrite=True, log=quiet)
    assert snapshot(out) == before


def test_a_manifest_cannot_name_files_outside_the_folder(data, finished, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    victim = tmp_path / "victim.txt"
    victim.write_text("outside")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["files"].append("../victim.txt")
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="not a vecgraft run manifest"):
        finetune(config(data, out), overwrite=True, log=quiet)
    assert victim.read_text() == "outside"


@pytest.mark.parametrize("text", ["{\"format\": 1, \"n\": " + "9" * 5000 + "}", "{\"format\": "])
def test_an_unreadable_run_record_names_its_file(tmp_path, text):
    # an integer past Python's 4300-digit limit is a plain ValueError of json.loads, not a
    # JSONDecodeError: the manifest's read ended in that traceback, naming no file
    from vecgraft.finetune.rundir import RunFolder

    (tmp_path / "manifest.json").write_text(text, encoding="utf-8")
    with pytest.raises(CheckpointError, match=r"manifest\.json: unreadable \("):
        RunFolder(tmp_path).read_manifest()


def test_resume_on_a_copy_writes_only_into_the_copy(data, tmp_path):
    original = tmp_path / "original"
    with pytest.raises(KeyboardInterrupt):
        finetune(config(data, original, epochs=2), log=quiet, on_step=interrupt_at(3))
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    before = snapshot(original)
    with pytest.raises(CheckpointError, match=r"created in .*original.*--adopt"):
        finetune(config(data, copy, resume=True), log=quiet)
    assert snapshot(copy) == snapshot(original) == before
    result = finetune(config(data, copy, resume=True), adopt=True, log=quiet)
    assert result.run_dir == copy and (copy / "metrics.json").exists()
    assert snapshot(original) == before  # the original is untouched
    assert json.loads((copy / "manifest.json").read_text())["out"] == str(copy.resolve())


def interrupt_at(step: int):
    def hook(global_step: int) -> None:
        if global_step == step:
            raise KeyboardInterrupt

    return hook


def test_a_failed_run_leaves_no_folder_behind(data, tmp_path):
    out = tmp_path / "new" / "run"

    def boom(step: int) -> None:
        raise ValueError("disk on fire")

    with pytest.raises(ValueError, match="disk on fire"):
        finetune(config(data, out), log=quiet, on_step=boom)
    assert not out.exists() and not out.parent.exists()  # nor the parent it made
    one_label = write_csv(tmp_path / "one.csv", [("a b", "x"), ("c d", "x"), ("e f", "x")])
    with pytest.raises(DataError, match="at least 2 labels"):
        finetune(config(data, out, train=str(one_label), test=None), log=quiet)
    assert not out.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError):
        finetune(config(data, empty), log=quiet, on_step=boom)
    assert empty.is_dir() and not any(empty.iterdir())


@contextmanager
def held(folder: Path):
    """The run lock on `folder`, taken as another process's run would (its own open)."""
    import fcntl

    fd = os.open(folder, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        yield
    finally:
        os.close(fd)


def test_a_second_run_into_a_folder_being_written_fails_at_once(data, finished, tmp_path):
    # two --overwrite runs at once both succeeded: one's checkpoints, the other's fusion/
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    before = snapshot(out)
    busy = f"{out}: another run is writing this folder"
    with held(out):
        for run in (config(data, out, seed=1), config(data, out, ensemble=2, epochs=None)):
            with pytest.raises(ConfigError, match=busy):
                finetune(run, overwrite=True, log=quiet)
        with pytest.raises(ConfigError, match=busy):
            finetune(config(data, out, resume=True), adopt=True, log=quiet)
    assert snapshot(out) == before
    # a run started while one runs, from its first step: the first goes on, alone
    second: list[Exception] = []

    def start_another(step: int) -> None:
        if step == 1:
            with pytest.raises(ConfigError, match=busy) as caught:
                finetune(config(data, out, seed=2), overwrite=True, log=quiet)
            second.append(caught.value)

    finetune(config(data, out, seed=1), overwrite=True, log=quiet, on_step=start_another)
    assert len(second) == 1 and load_run(out).predict(["goal match"])


def test_a_resume_into_a_folder_being_written_names_the_lock_before_its_advice(
    data, finished, tmp_path
):
    # a copied run resumed without adopt said "Pass --adopt ..." (and one stopped before its
    # config.json "start it again without --resume"): advice that then hit the lock
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    stopped = tmp_path / "stopped"
    stopped.mkdir()
    (stopped / "manifest.json").write_text(json.dumps(
        {"format": 1, "out": str(stopped), "files": ["config.json"]}))  # fmt: skip
    for folder in (out, stopped):
        with held(folder), pytest.raises(ConfigError) as caught:
            finetune(config(data, folder, resume=True), log=quiet)
        assert str(caught.value) == (f"{folder}: another run is writing this folder (it holds "
                                     "its lock); wait for it to end, or choose another out=...")
    with pytest.raises(CheckpointError, match="Pass --adopt"):  # unlocked: the advice
        finetune(config(data, out, resume=True), log=quiet)

def test_the_lock_leaves_no_file_and_runs_without_flock(data, finished, tmp_path, monkeypatch):
    import fcntl

    # nothing beside what the manifest lists: --overwrite, --resume, predict take it as it is
    manifest = json.loads((finished / "manifest.json").read_text())
    assert sorted(p.name for p in finished.iterdir()) == sorted([*manifest["files"],
                                                                 "manifest.json"])  # fmt: skip

    def no_flock(fd: int, operation: int) -> None:
        raise OSError(37, "No locks available")  # ENOLCK, as on some network file systems

    monkeypatch.setattr(fcntl, "flock", no_flock)
    out = tmp_path / "new" / "run"
    finetune(config(data, out), log=quiet)
    assert load_run(out).predict(["goal match"])


def test_run_ensemble_called_alone_locks_the_folder(data, finished, tmp_path):
    # a public entry point beside finetune(): it wrote the folder unlocked
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    before = snapshot(out)
    run = config(data, out, ensemble=2)
    with held_lock(out), pytest.raises(ConfigError, match=f"{out}: another run is writing"):
        run_ensemble(run, EnsemblePlan(2), ClassifierRecipe, overwrite=True, log=quiet)
    assert snapshot(out) == before
    result = run_ensemble(run, EnsemblePlan(2), ClassifierRecipe, overwrite=True, log=quiet)
    assert result.metrics["ensemble"]["members"] == 2 and not is_locked(out)


def test_an_ensemble_member_folder_is_locked_while_it_trains(data, tmp_path):
    # `evaluate members/1` while it trained read a half-written member: only the
    # ensemble's own folder was locked
    out = tmp_path / "run"
    seen: list[tuple[str, bool]] = []

    def look(_step: int) -> None:
        assert is_locked(out)
        for member in sorted((out / "members").iterdir()):
            training = not (member / "metrics.json").is_file()
            seen.append((member.name, is_locked(member) == training))

    finetune(config(data, out, ensemble=2), log=quiet, on_step=look)
    assert {name for name, _ in seen} == {"0", "1"} and all(ok for _, ok in seen)
    assert not any(is_locked(m) for m in (out / "members").iterdir())


# a run's lock taken by another process, held until its standard input closes
HOLD_THE_FOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
print("held", flush=True)
sys.stdin.read()
"""


def test_load_run_of_a_folder_a_run_is_writing_fails_at_once_as_evaluate_does(
    finished, tmp_path, monkeypatch
):
    # a script's load_run read whatever model files were there mid-run (set aside by
    # --overwrite, or half replaced); `vecgraft evaluate` refused such a folder
    import subprocess
    import sys

    import vecgraft.finetune.predict as predict_module

    out = tmp_path / "run"
    shutil.copytree(finished, out)
    writer = subprocess.Popen([sys.executable, "-c", HOLD_THE_FOLDER, str(out)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "held\n"
        with pytest.raises(ConfigError) as caught:
            load_run(out)
    finally:
        assert writer.stdin is not None
        writer.stdin.close()
        writer.wait(timeout=30)
    assert str(caught.value) == (f"{out}: a run is writing this folder (it holds its lock); "
                                 "wait for it to end: until then its model is not whole")
    # held while it reads, and only then: a run started into it afterwards can take it
    seen: list[bool] = []
    load = predict_module._load_predictor

    def loading(*args, **kwargs):
        seen.append(is_held(out) and not is_locked(out))  # shared: other readers may read
        return load(*args, **kwargs)

    monkeypatch.setattr(predict_module, "_load_predictor", loading)
    assert load_run(out).predict(["a"]) and seen == [True]
    assert not is_held(out)
    with held_lock(out):  # a writer takes it
        pass
    # released when the load fails too
    shutil.rmtree(out / "last")
    with pytest.raises(CheckpointError, match="last"):
        load_run(out, checkpoint="last")
    assert seen == [True, True] and not is_held(out)


def test_load_run_reads_metrics_json_once(finished, monkeypatch):
    # it was read twice: for the fusion check, then for what `evaluate` scores beside it
    import vecgraft.finetune.rundir as rundir

    reads: list[str] = []
    real = rundir.read_json_record

    def counting(file, *args, **kwargs):
        reads.append(Path(file).name)
        return real(file, *args, **kwargs)

    monkeypatch.setattr(rundir, "read_json_record", counting)
    predictor = load_run(finished)
    assert reads.count("metrics.json") == 1
    assert predictor.train_majority in predictor.labels  # still read from it


def test_the_cli_holds_the_folder_once_while_it_loads_the_run(
    data, finished, tmp_path, monkeypatch, capsys
):
    # `evaluate` and `predict` hold the folder themselves and load it under that hold: a
    # second lock taken by load_run would be a second holder in the same process
    import vecgraft._util.folderlock as folderlock
    from vecgraft.cli import main as cli_main

    taken: list[bool] = []
    lock = folderlock._lock_folder

    def counting(folder, *, shared=False):
        taken.append(shared)
        return lock(folder, shared=shared)

    monkeypatch.setattr(folderlock, "_lock_folder", counting)
    assert cli_main(["evaluate", str(finished), "--data", str(data["test"]),
                     "--metrics-out", str(tmp_path / "eval.json")]) == 0  # fmt: skip
    assert taken == [True]
    texts = tmp_path / "texts.txt"
    texts.write_text("The striker scored a goal for the team\n", encoding="utf-8")
    assert cli_main(["predict", str(finished), str(texts)]) == 0
    assert taken == [True, True] and not is_held(finished)
    capsys.readouterr()


def test_out_naming_a_file_is_a_clear_error(data, tmp_path):
    file = tmp_path / "run.txt"
    file.write_text("not a folder")
    with pytest.raises(ConfigError, match=r"--out .*run\.txt: is a file, not a folder"):
        finetune(config(data, file), log=quiet)
    assert file.read_text() == "not a folder"


def test_cli_adopt_flag(data, finished, tmp_path, capsys):
    from vecgraft.cli import main

    copy = tmp_path / "copy"
    shutil.copytree(finished, copy)
    argv = ["finetune", "--out", str(copy), "--resume", "--no-progress"]
    assert main(argv) == 1
    assert "--adopt" in capsys.readouterr().err
    assert main([*argv, "--adopt"]) == 0


@pytest.mark.parametrize(
    ("changes", "flags", "said"),
    [
        # a bad value in a run's config.json was blamed on a flag never typed
        ({"encoding": "klingon"}, [],
         "config.json: encoding='klingon' is not a known text encoding"),
        ({"max_length": -5}, [], "config.json: max_length must be >= 0 (0: no limit), got -5"),
        ({"min_epochs": 9, "epochs": None}, ["--max-epochs", "3"],
         "config.json + command line: --max-epochs (3) must be >= min_epochs (9)"),
    ],
)  # fmt: skip
def test_a_saved_runs_bad_value_is_named_by_its_key(
    finished, tmp_path, capsys, changes, flags, said
):
    from vecgraft.cli import main

    copy = tmp_path / "copy"
    shutil.copytree(finished, copy)
    saved = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**saved, **changes}))
    argv = ["finetune", "--out", str(copy), "--resume", "--adopt", "--no-progress", *flags]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"error: {copy / said}" in err
    assert "--encoding" not in err and "--max-length" not in err and "--min-epochs" not in err


# -- checkpoint files ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1e12, "'epoch' must be an integer >= 0"),
        (10**12, "'epoch' must be an integer >= 0"),
        ("3", "'epoch' must be an integer >= 0"),
        (5, "does not fit this run: epoch 5 > epochs 1"),
    ],
)
def test_state_json_is_validated(data, finished, tmp_path, value, expected):
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    state_file = out / "last" / "state.json"
    state = json.loads(state_file.read_text())
    state["epoch"] = value
    state_file.write_text(json.dumps(state))
    with pytest.raises(CheckpointError, match=expected):
        finetune(config(data, out, resume=True), adopt=True, log=quiet)


def test_model_json_vocab_size_is_checked_before_allocating(finished, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    meta_file = out / "best" / "model.json"
    meta = json.loads(meta_file.read_text())
    meta["vocab_size"] = 60_000_000  # 6e7 x 8 floats: 1.9 GB if built before the check
    meta_file.write_text(json.dumps(meta))
    with address_space_headroom(1 << 30), pytest.raises(CheckpointError, match="shape"):
        load_run(out, device="cpu")
    meta["vocab_size"] = 6e7
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="'vocab_size' must be an integer >= 1"):
        load_run(out, device="cpu")


def test_labels_json_listing_a_label_twice_is_refused(finished, tmp_path):
    # ["food", "food", "tech"] was read: a --proba header with two "food" columns
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    labels_file = out / "best" / "labels.json"
    labels = json.loads(labels_file.read_text())["labels"]
    labels_file.write_text(json.dumps({"labels": [labels[0], *labels[:-1]]}))
    with pytest.raises(CheckpointError, match=f"{labels_file}: labels listed more than once "
                       f"\\('{labels[0]}'\\)"):  # fmt: skip
        load_run(out, device="cpu")
    labels_file.write_text(json.dumps({"labels": []}))
    with pytest.raises(CheckpointError, match="with at least one label"):
        load_run(out, device="cpu")


def test_a_damaged_run_names_the_file_at_fault(data, finished, tmp_path):
    # a linear run without linear.json was "best: no such checkpoint folder", a network's
    linear = tmp_path / "linear"
    finetune(config(data, linear, model="linear"), log=quiet)
    (linear / "linear.json").unlink()
    with pytest.raises(CheckpointError, match=r"not a saved linear model .*linear\.json"):
        load_run(linear)
    (linear / "linear.safetensors").unlink()  # its config.json still says what it was
    with pytest.raises(CheckpointError, match=r"not a saved linear model .*linear\.json"):
        load_run(linear)
    # model.json's kind edited: "unknown option(s) ... for model 'rnn'" named no file
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    meta_file = out / "best" / "model.json"
    meta_file.write_text(json.dumps({**json.loads(meta_file.read_text()), "kind": "rnn"}))
    with pytest.raises(CheckpointError, match=f"{meta_file}: unknown option"):
        load_run(out, device="cpu")


def _damage(file: Path, name: str, value: float, rows=slice(None)) -> int:
    """Set `rows` of tensor `name` in safetensors `file` to `value`; how many values changed."""
    from safetensors.numpy import load_file, save_file

    tensors = load_file(str(file))
    tensors[name][rows] = value
    save_file(tensors, str(file))
    return int(tensors[name][rows].size)


def test_weights_holding_nan_or_inf_are_refused_naming_file_and_tensor(finished, tmp_path):
    # they loaded without a word: `predict --proba` printed "nan", `evaluate` scored 50%
    # with a NaN log loss, exit code 0
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    assert (out / "fusion").is_dir()  # a fused run: its linear model is checked too
    best, last = out / "best" / "model.safetensors", out / "last" / "model.safetensors"
    count = _damage(best, "head.1.weight", float("nan"))
    with pytest.raises(CheckpointError) as caught:
        load_run(out, device="cpu")
    assert str(caught.value) == (
        f"{best}: tensor 'head.1.weight' holds {count} non-finite values (NaN/Inf): the file "
        "is damaged; retrain, or use last/ (checkpoint='last')"
    )
    assert load_run(out, checkpoint="last", device="cpu").predict(["good"])  # as it says
    _damage(last, "embedding.weight", float("-inf"), slice(1, 2))  # one row: 8 values
    with pytest.raises(CheckpointError, match=r"last/model\.safetensors: tensor "
                       r"'embedding\.weight' holds 8 non-finite values \(NaN/Inf\): the file "
                       r"is damaged; retrain, or use best/ \(checkpoint='best'\)$"):  # fmt: skip
        load_run(out, checkpoint="last", device="cpu")
    # a resume loads last/ the same way
    from vecgraft.finetune.checkpoint import load_checkpoint

    model = load_run(finished, checkpoint="last", device="cpu").model
    with pytest.raises(CheckpointError, match=r"'embedding\.weight' holds 8 non-finite"):
        load_checkpoint(out / "last").load_weights(model)
    # the fused linear model's file, and a finite file loads as before
    fused = tmp_path / "fused"
    shutil.copytree(finished, fused)
    linear = fused / "fusion" / "linear.safetensors"
    _damage(linear, "coef", float("inf"), (0, 0))
    with pytest.raises(CheckpointError) as caught:
        load_run(fused, device="cpu")
    assert str(caught.value) == (
        f"{linear}: tensor 'coef' holds 1 non-finite value (NaN/Inf): the file is damaged; "
        "retrain"
    )
    assert load_run(finished, device="cpu").predict(["good"])


def test_a_resume_of_damaged_last_weights_is_told_what_a_resume_can_do(
    data, finished, tmp_path, capsys
):
    # it said "retrain, or use best/ (--checkpoint best; ...)": no resume reads best/, and
    # --checkpoint is no flag of finetune; a truncated file was told nothing at all
    from vecgraft.cli import main as cli_main

    out = tmp_path / "run"
    shutil.copytree(finished, out)
    last = out / "last" / "model.safetensors"
    _damage(last, "embedding.weight", float("nan"), slice(1, 2))
    said = (f"{last}: tensor 'embedding.weight' holds 8 non-finite values (NaN/Inf): the file is "
            "damaged; the run cannot resume from it (its best/ still serves predict, evaluate "
            "and export); start it again ")  # fmt: skip
    with pytest.raises(CheckpointError) as caught:
        finetune(config(data, out, resume=True), adopt=True, log=quiet)
    # --overwrite deletes best/, which the same message says still serves: it comes second,
    # saying so
    assert str(caught.value) == said + (
        "under another out=..., or with overwrite=True, which replaces the run, best/ included"
    )
    assert cli_main(["finetune", "--out", str(out), "--resume", "--adopt", "--no-progress"]) == 1
    assert capsys.readouterr().err.endswith(
        f"vecgraft finetune: error: {said}under another --out DIR, or with --overwrite, which "
        "replaces the run, best/ included\n"
    )
    last.write_bytes(last.read_bytes()[:-10])  # truncated
    (out / "metrics.json").unlink()  # not finished: its best/ is no run's answer yet
    with pytest.raises(CheckpointError) as caught:
        finetune(config(data, out, resume=True), adopt=True, log=quiet)
    assert re.fullmatch(
        re.escape(f"{last}: cannot load weights (") + r".+" + re.escape(
            "): the file is damaged; the run cannot resume from it; start it again under "
            "another out=..., or with overwrite=True, which replaces the run, best/ included"
        ),
        str(caught.value),
    ), caught.value
    shutil.rmtree(out / "best")  # no best/ to lose
    with pytest.raises(CheckpointError) as caught:
        finetune(config(data, out, resume=True), adopt=True, log=quiet)
    assert str(caught.value).endswith(
        "start it again under another out=..., or with overwrite=True, which replaces the run"
    ), caught.value


def test_predict_of_a_truncated_weights_file_offers_the_other_checkpoint(finished, tmp_path):
    # it said "cannot read the weights header (...)" with nothing to do about it
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    best = out / "best" / "model.safetensors"
    best.write_bytes(best.read_bytes()[:-10])
    with pytest.raises(CheckpointError) as caught:
        load_run(out, device="cpu")
    assert re.fullmatch(
        re.escape(f"{best}: cannot read the weights header (") + r".+"
        + re.escape("): the file is damaged; retrain, or use last/ (checkpoint='last')"),
        str(caught.value),
    ), caught.value
    (out / "metrics.json").unlink()  # unfinished: predict refuses its best/, so not offered
    last = out / "last" / "model.safetensors"
    last.write_bytes(last.read_bytes()[:-10])
    with pytest.raises(CheckpointError, match=r"the file is damaged; retrain$"):
        load_run(out, checkpoint="last", device="cpu")


def test_predict_of_a_finished_run_without_best_offers_last(data, finished, tmp_path, capsys):
    # a finished run whose best/ was deleted said "RUN/best: no such checkpoint folder"
    from vecgraft.cli import main as cli_main

    out = tmp_path / "run"
    shutil.copytree(finished, out)
    shutil.rmtree(out / "best")
    head = f"{out}: this run finished, but its best/ checkpoint is missing (deleted or moved?)"
    with pytest.raises(CheckpointError) as caught:
        load_run(out, device="cpu")
    said = f"{head}; pass checkpoint='last' (its last epoch), or put best/ back"
    assert str(caught.value) == said
    texts = tmp_path / "texts.txt"
    texts.write_text("good\n")
    for command in (["predict", str(out), str(texts)],
                    ["evaluate", str(out), "--data", str(data["test"])]):  # fmt: skip
        assert cli_main(command) == 1
        assert capsys.readouterr().err == (f"vecgraft {command[0]}: error: {head}; pass "
                                           "--checkpoint last (its last epoch), or put best/ "
                                           "back\n")  # fmt: skip
    assert cli_main(["predict", str(out), str(texts), "--checkpoint", "last"]) == 0  # as it says
    shutil.rmtree(out / "last")
    with pytest.raises(CheckpointError) as caught:
        load_run(out, device="cpu")
    assert str(caught.value) == f"{head}, and so is last/: put best/ back, or train the run again"


def test_a_finished_run_whose_last_is_its_old_twin_still_offers_it(finished, tmp_path):
    # missing_best looked for RUN/last alone: a kill between a save's two renames leaves
    # RUN/.last.old, which --checkpoint last reads (as best/'s twin is read), yet it said
    # "and so is last/: put best/ back, or train the run again"
    from vecgraft._util.atomic import old_twin
    from vecgraft.errors import ConfigError
    from vecgraft.evaluate.export import read_source

    out = tmp_path / "run"
    shutil.copytree(finished, out)
    shutil.rmtree(out / "best")
    (out / "last").rename(old_twin(out / "last"))
    head = f"{out}: this run finished, but its best/ checkpoint is missing (deleted or moved?)"
    with pytest.raises(CheckpointError) as caught:
        load_run(out, device="cpu")
    offer = "(its last epoch), or put best/ back"
    assert str(caught.value) == f"{head}; pass checkpoint='last' {offer}"
    assert load_run(out, checkpoint="last", device="cpu").predict(["good"])  # as it says
    with pytest.raises(ConfigError) as exported:
        read_source(out)
    twin = out / ".last.old"
    assert str(exported.value) == f"{head}; export {twin} {offer}"
    assert read_source(twin).words  # as it says


def test_non_finite_count_is_exact_where_a_sum_overflows():
    # the sum that finds NaN/Inf fast overflows for large finite values: those are counted
    import numpy as np

    from vecgraft._util.finite import non_finite_count

    big = np.full(4, 3e38, np.float32)
    assert non_finite_count(big) == 0 and non_finite_count(torch.from_numpy(big)) == 0
    assert non_finite_count(torch.tensor([float("inf"), float("-inf"), 1.0])) == 2
    assert non_finite_count(np.array([np.nan, 1.0, np.inf])) == 2
    assert non_finite_count(torch.arange(3)) == non_finite_count(np.arange(3)) == 0
    half = torch.full((3,), 6e4, dtype=torch.float16)  # its sum overflows float16
    assert non_finite_count(half) == 0


def test_loading_a_run_does_not_import_torch_dynamo(finished):
    # the shape check's meta-device skeleton drew the embedding's normal init, and the first
    # meta normal draw imports torch._dynamo: 0.7 s of every `vecgraft predict`
    words = fresh_python(
        "import sys, torch\n"
        "if 'torch._dynamo' in sys.modules: print('imported by torch'); sys.exit()\n"
        "from vecgraft.finetune.predict import load_run\n"
        f"print(load_run({str(finished)!r}, device='cpu').predict(['good']))\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    if words == ["imported", "by", "torch"]:
        pytest.skip("this torch imports torch._dynamo itself")
    assert words[-1] == "False", words


def test_a_run_without_a_linear_model_predicts_without_sklearn(data, tmp_path):
    # metrics.py imported sklearn.metrics at the top, and load_run reaches it through the
    # recipes: 0.9 s of every `vecgraft predict` of a --no-fuse-linear run, for nothing
    out = tmp_path / "run"
    finetune(config(data, out, fuse_linear=False), log=quiet)
    assert not (out / "fusion").exists()
    words = fresh_python(
        "import sys\n"
        "from vecgraft.finetune.predict import load_run\n"
        f"print(load_run({str(out)!r}, device='cpu').predict(['good'])[0] != '')\n"
        "print('sklearn' in sys.modules)\n"
    )
    assert words == ["True", "False"], words


@pytest.mark.parametrize("kind", ["boe", "cnn", "rnn", "transformer"])
def test_the_shape_check_skeleton_matches_every_model_kind(kind):
    import torch
    from torch import nn

    from vecgraft.finetune.predict import rebuild_model
    from vecgraft.nn.models import build_model

    model = build_model(kind, nn.Embedding(50, 8, padding_idx=0), 3)
    meta = {"kind": kind, "model_config": dict(model.config), "num_classes": 3}
    meta.update(vocab_size=50, embedding_dim=8, padding_idx=0)
    with torch.device("meta"):
        skeleton = rebuild_model(meta)
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    assert {k: v.shape for k, v in skeleton.state_dict().items()} == shapes
    assert all(v.is_meta for v in skeleton.state_dict().values())


class _RunsCode:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "pwned"))


def test_a_code_running_trainer_pt_is_refused_without_unsafe_advice(data, finished, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    marker = tmp_path / "ran"
    with open(out / "last" / "trainer.pt", "wb") as fh:
        pickle.dump({"optimizer": _RunsCode(str(marker))}, fh)
    with pytest.raises(CheckpointError, match="refused") as info:
        finetune(config(data, out, resume=True), adopt=True, log=quiet)
    assert "weights_only" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert not marker.exists()


# -- resources -------------------------------------------------------------------------------
def test_max_length_0_is_capped_with_a_message(data, tmp_path, monkeypatch):
    monkeypatch.setattr(families, "memory_budget", lambda: 1)  # cap at the 64-token floor
    huge = " ".join(["goal"] * 200_000)
    rows = [(huge, "sport"), ("chip code", "tech"), ("soup bread", "food")] * 4
    train = write_csv(tmp_path / "huge.csv", rows)
    lines: list[str] = []
    out = tmp_path / "run"
    cfg = config(data, out, train=str(train), max_length=None, dedupe=False)
    finetune(cfg, log=lines.append)
    assert any("--max-length 0 (no limit): texts are capped at 64 tokens" in x for x in lines)
    assert json.loads((out / "best" / "model.json").read_text())["max_length"] == 64
    assert families.clip_texts(["ab" * 100, "x"], 1) == ["ab" * 32, "x"]


def test_ten_thousand_labels_write_sparse_metrics(tmp_path):
    n = 10_000
    files = {"train": (n, "alpha"), "valid": (100, "gamma"), "test": (2_000, "beta")}
    for name, (rows, word) in files.items():
        with open(tmp_path / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["text", "label"])
            writer.writerows((f"w{i} {word}", f"L{i}") for i in range(rows))
    cfg = FinetuneConfig(
        train=str(tmp_path / "train.csv"),
        test=str(tmp_path / "test.csv"),
        valid=str(tmp_path / "valid.csv"),
        model="boe",
        out=str(tmp_path / "run"),
        epochs=1,
        max_steps=2,
        batch_size=256,
        embedding_dim=4,
        progress=False,
        plots=False,
    )
    # a dense 10k x 10k confusion would be 800 MB per copy: fails under this cap
    with address_space_headroom(1 << 30):
        result = finetune(cfg, log=quiet)
    test_metrics = result.metrics["test"]
    assert "confusion" not in test_metrics
    cells = test_metrics["confusion_cells"]
    assert sum(c[2] for c in cells) == 2_000 and len(test_metrics["labels"]) == n
    # per_class holds scikit-learn classification_report's rows: gold or predicted classes
    names = test_metrics["labels"]
    seen = {names[i] for c in cells for i in c[:2]}
    assert set(test_metrics["per_class"]) == seen and 2_000 <= len(seen) < n
    assert sum(c[2] for c in cells if c[0] == c[1]) == round(2_000 * test_metrics["accuracy"])
    on_disk = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert on_disk["test"]["confusion_cells"] == cells
    assert os.path.getsize(tmp_path / "run" / "metrics.json") < 10_000_000
    report = (tmp_path / "run" / "report.txt").read_text()
    assert f"{n} classes, more than 100; its {len(cells)} non-zero cells" in report


def test_many_class_metrics_round_trip_and_skip_the_confusion_plot(tmp_path):
    from vecgraft.finetune.metrics import ClassificationMetrics, classification_metrics

    names = [f"c{i}" for i in range(150)]
    metrics = classification_metrics([0, 1, 149, 149], [0, 2, 149, 3], names)
    assert metrics.confusion == [] and metrics.confusion_cells == [
        [0, 0, 1],
        [1, 2, 1],
        [149, 3, 1],
        [149, 149, 1],
    ]
    again = ClassificationMetrics.from_dict(json.loads(json.dumps(metrics.to_dict())))
    assert again == metrics
    small = classification_metrics([0, 1], [0, 0], names[:100])
    assert "confusion_cells" not in small.to_dict() and len(small.confusion) == 100


def test_config_json_records_the_resume_settings_that_shape_the_run() -> None:
    # a resume's changed max_steps, compile or plots go into config.json; where the run is,
    # whether it resumes, bars and the machine's device stay this command's
    from vecgraft.finetune.run import RESUMABLE_OVERRIDES
    from vecgraft.finetune.rundir import RECORDED_OVERRIDES

    assert set(RECORDED_OVERRIDES) <= set(RESUMABLE_OVERRIDES)
    assert set(RESUMABLE_OVERRIDES) - set(RECORDED_OVERRIDES) == {
        "out", "resume", "progress", "device"
    }


def _forget_bigram_hash(out: Path) -> None:
    """Make a fastText run look saved before `bigram_hash` was recorded (no key anywhere)."""
    for path in [out / "config.json", *sorted(out.glob("*/model.json"))]:
        saved = json.loads(path.read_text())
        options = saved.get("model_options") or saved.get("model_config")
        assert options.pop("bigram_hash", "legacy") == "legacy", path
        path.write_text(json.dumps(saved))


def test_a_fasttext_run_saved_before_bigram_hash_resumes_and_predicts_with_its_hash(data, tmp_path):
    out = tmp_path / "run"
    options = {"buckets": 97}
    run = config(data, out, model="fasttext", fuse_linear=False, epochs=4, checkpoint_every=0)
    with pytest.raises(KeyboardInterrupt):
        finetune(run.replace(model_options={**options, "bigram_hash": "legacy"}), log=quiet,
                 on_step=interrupt_at(3))  # fmt: skip
    _forget_bigram_hash(out)
    said: list[str] = []
    finetune(run.replace(model_options=options, resume=True), log=said.append)
    assert "Resuming with bigram_hash 'legacy', the hash this run's bigram table was trained " \
           "with" in said  # fmt: skip
    assert json.loads((out / "best" / "model.json").read_text())["model_config"]["bigram_hash"] \
        == "legacy"  # fmt: skip
    texts = [line.split(",")[0] for line in data["test"].read_text().splitlines()[1:]]
    before = load_run(out).predict_proba(texts)
    _forget_bigram_hash(out)
    again = load_run(out)
    assert again.model.bigram_hash == "legacy"
    assert torch.equal(again.predict_proba(texts), before)


def test_a_char_run_saved_before_rules_2_predicts_as_it_was_trained(data, tmp_path):
    """Char runs (and vectors) saved when each combining mark was a token of its own hold
    ไ, ม, ่ in their vocabularies: read with the new rule (ไ, ม่) their predictions changed.
    A config without `rules` keeps the old rule, in training on such vectors too."""
    from vecgraft.text.tokenize import Tokenizer

    rows = [("ไม่ดี ไม่ชอบ", "neg"), ("ดีมาก ชอบมาก", "pos"), ("ไม่มาก", "neg"), ("ชอบดี", "pos")]
    unseen = [("ไม่ชอบมาก", "neg"), ("ดีดี", "pos")]
    train = write_csv(tmp_path / "train.csv", rows * 5)
    test = write_csv(tmp_path / "test.csv", unseen)
    legacy = Tokenizer("char", rules=1).config
    del legacy["rules"]  # as the old code wrote it
    old_tok = Tokenizer.from_config(legacy, saved=True)
    words = sorted({t for text, _ in rows + unseen for t in old_tok(text)})
    assert "\u0e48" in words  # the mark alone
    folder = tmp_path / "vectors"
    folder.mkdir()
    lines = [f"{len(words)} 2"] + [f"{w} {i} 1" for i, w in enumerate(words)]
    (folder / "vectors.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "metadata.json").write_text(json.dumps({"tokenizer": legacy}), encoding="utf-8")
    out = tmp_path / "run"
    said: list[str] = []
    run = config(data, out, train=str(train), test=str(test), vectors=str(folder / "vectors.txt"),
                 fuse_linear=False)  # fmt: skip
    finetune(run, log=said.append)
    assert any("each combining mark a char token" in line for line in said)
    meta_file = out / "best" / "model.json"
    meta = json.loads(meta_file.read_text())
    assert meta["tokenizer"]["rules"] == 1
    texts = [text for text, _ in rows + unseen]
    trained = load_run(out, device="cpu")
    assert trained.tokenizer("ไม่") == ["ไ", "ม", "\u0e48"]
    expected = trained.predict_proba(texts)
    del meta["tokenizer"]["rules"]  # the run's model.json as the old code wrote it
    meta_file.write_text(json.dumps(meta))
    reloaded = load_run(out, device="cpu")
    assert reloaded.tokenizer == trained.tokenizer
    assert reloaded.tokenizer("ไม่ดี") == ["ไ", "ม", "\u0e48", "ด", "\u0e35"]
    assert reloaded.predict_proba(texts).tolist() == expected.tolist()


@pytest.mark.parametrize("rules", [1, 2])
def test_vectors_recorded_rules_are_the_runs_rules(tmp_path, rules):
    """An explicit `rules: 1` in the vectors' metadata.json was dropped (only a missing key
    read as rules 1), so the run split "Straße\u00adnbahn" with rules 2 into a word the
    vectors do not have."""
    from vecgraft.text.tokenize import Tokenizer

    folder = tmp_path / "vec"
    folder.mkdir()
    (folder / "vectors.txt").write_text("2 2\nstraße 0.1 0.2\nnbahn 0.3 0.4\n", encoding="utf-8")
    saved = Tokenizer(rules=rules).config
    (folder / "metadata.json").write_text(json.dumps({"tokenizer": saved}), encoding="utf-8")
    run = FinetuneConfig(vectors=str(folder / "vectors.txt"), model="cnn")
    tok, _ = text_settings.run_tokenizer(run, None, lambda _: None)
    assert tok.rules == rules
    split = {1: ["Straße", "nbahn"], 2: ["Straßenbahn"]}[rules]
    assert tok("Straße\u00adnbahn") == split
