"""Resume: an interrupted (Ctrl-C) or killed run continues to the same final weights."""

from __future__ import annotations

import json
import re
import shutil
import time

import pytest
import torch
from safetensors.torch import load_file

from finetune_helpers import DIM, make_dataset, make_texts, save_as_if_on_cuda, write_csv
from vecgraft.errors import CheckpointError, ConfigError
from vecgraft.finetune.checkpoint import load_checkpoint
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.run import finetune
from vecgraft.finetune.train import RESUME_ROWS


class Interrupt:
    """on_step hook: at `step`, maybe snapshot `last/` (a kill loses later saves), then Ctrl-C."""

    def __init__(self, step: int, snapshot=None) -> None:
        self.step = step
        self.snapshot = snapshot

    def __call__(self, global_step: int) -> None:
        if global_step == self.step:
            if self.snapshot is not None:
                src, dst = self.snapshot
                shutil.copytree(src, dst)
            raise KeyboardInterrupt


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_dataset(
        tmp_path_factory.mktemp("resume-data"), train_per_class=30, test_per_class=6
    )


def config(data, out) -> FinetuneConfig:
    # dropout on, so resuming must also restore the RNG state
    return FinetuneConfig(
        train=str(data["train"]),
        test=str(data["test"]),
        vectors=str(data["vectors"]),
        model="boe",
        model_options={"dropout": 0.3},
        out=str(out),
        epochs=3,
        batch_size=16,
        lr=0.05,
        patience=None,
        freeze_epochs=1,
        lower=True,
        progress=False,
    )


@pytest.fixture(scope="module")
def reference(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("resume") / "full"
    result = finetune(config(data, out), log=lambda _: None)
    return out, result


def weights(run) -> dict[str, torch.Tensor]:
    return load_file(str(run / "last" / "model.safetensors"))


def assert_same_weights(a, b):
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.equal(wa[key], wb[key]), key


def test_ctrl_c_mid_epoch_then_resume_matches_uninterrupted(data, reference, tmp_path):
    ref_out, ref = reference
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        finetune(config(data, out), log=lambda _: None, on_step=Interrupt(9))
    state = json.loads((out / "last" / "state.json").read_text())
    assert state["global_step"] == 9 and state["step_in_epoch"] > 0  # saved mid-epoch
    lines: list[str] = []
    resumed = finetune(config(data, out).replace(resume=True), log=lines.append)
    assert any(line.startswith("Resuming") for line in lines)
    assert_same_weights(ref_out, out)
    assert resumed.history == [
        {**row, "seconds": r2["seconds"]} for row, r2 in zip(ref.history, resumed.history)
    ]
    assert resumed.metrics["test"]["accuracy"] == ref.metrics["test"]["accuracy"]


def test_ctrl_c_after_an_epochs_last_step_resumes(data, reference, tmp_path):
    # the Ctrl-C lands after the epoch's last update, before its bookkeeping: the saved
    # state has step_in_epoch == steps per epoch, which resume refused as "does not fit"
    ref_out, ref = reference
    per_epoch = json.loads((ref_out / "last" / "state.json").read_text())["global_step"] // 3
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        finetune(config(data, out), log=lambda _: None, on_step=Interrupt(per_epoch))
    state = json.loads((out / "last" / "state.json").read_text())
    assert (state["epoch"], state["step_in_epoch"]) == (0, per_epoch)
    resumed = finetune(config(data, out).replace(resume=True), log=lambda _: None)
    assert_same_weights(ref_out, out)
    assert resumed.metrics["test"]["accuracy"] == ref.metrics["test"]["accuracy"]


def test_a_run_interrupted_on_a_gpu_resumes_on_a_cpu_only_machine(data, reference, tmp_path):
    # a GPU run's trainer.pt: every tensor tagged cuda:0, plus the CUDA generator's state
    # (unused without CUDA); the same weights as the uninterrupted run
    ref_out, _ = reference
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        finetune(config(data, out), log=lambda _: None, on_step=Interrupt(9))
    file = out / "last" / "trainer.pt"
    state = torch.load(file, weights_only=True)
    save_as_if_on_cuda({**state, "cuda_rng": torch.zeros(16, dtype=torch.uint8)}, file)
    finetune(config(data, out).replace(resume=True), log=lambda _: None)
    assert_same_weights(ref_out, out)


def test_killed_run_resumes_from_last_epoch_checkpoint(data, reference, tmp_path):
    ref_out, _ = reference
    out = tmp_path / "run"
    # a kill during epoch 3 leaves the checkpoint written at the end of epoch 2 (every
    # epoch's: the default interval would leave none of a run this short before its end)
    snapshot = tmp_path / "last-at-kill"
    with pytest.raises(KeyboardInterrupt):
        finetune(
            config(data, out).replace(checkpoint_every=0),
            log=lambda _: None,
            on_step=Interrupt(16, snapshot=(out / "last", snapshot)),
        )
    shutil.rmtree(out / "last")
    shutil.copytree(snapshot, out / "last")
    finetune(config(data, out).replace(resume=True, checkpoint_every=0), log=lambda _: None)
    assert_same_weights(ref_out, out)


def test_existing_run_is_not_overwritten_and_resume_needs_a_run(data, reference, tmp_path):
    ref_out, _ = reference
    with pytest.raises(ConfigError, match="already holds a run"):
        finetune(config(data, ref_out), log=lambda _: None)
    with pytest.raises(CheckpointError, match="nothing to resume"):
        finetune(config(data, tmp_path / "empty").replace(resume=True), log=lambda _: None)


def test_resume_refuses_a_training_file_changed_since_the_run_started(tmp_path):
    from vecgraft.errors import DataError

    data = make_dataset(tmp_path / "data", train_per_class=30, test_per_class=6)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        finetune(config(data, out), log=lambda _: None, on_step=Interrupt(5))
    saved = json.loads((out / "splits.json").read_text())["inputs"]
    assert saved["train"]["size"] == data["train"].stat().st_size
    before = data["train"].stat().st_size
    with open(data["train"], "a", encoding="utf-8") as fh:
        fh.write("one more text about food,food\n")
    with pytest.raises(DataError, match=rf"the data changed since this run started: train "
                       rf".*train\.csv \(size {before} -> {before + 30}\)"):  # fmt: skip
        finetune(config(data, out).replace(resume=True), log=lambda _: None)


def test_resume_refuses_a_vector_file_rewritten_since_the_run_started(tmp_path):
    # the vectors were not among the inputs checked: a resume after the file was rewritten
    # (the same words, other values) trained the rest of the run on a mix of both
    from finetune_helpers import write_vectors
    from vecgraft.errors import DataError

    data = make_dataset(tmp_path / "data", train_per_class=30, test_per_class=6)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        finetune(config(data, out), log=lambda _: None, on_step=Interrupt(5))
    write_vectors(data["vectors"], seed=1)
    with pytest.raises(DataError, match=r"the data changed since this run started: vectors "
                       r".*vectors\.txt \("):  # fmt: skip
        finetune(config(data, out).replace(resume=True), log=lambda _: None)
    from vecgraft.finetune.rundir import vectors_input

    # no file behind random vectors, vectors passed in memory or a hub id; a local
    # checkpoint folder (hf:FOLDER) is one
    assert vectors_input("random") is None and vectors_input("hf:no/such-model") is None
    assert vectors_input("<in memory: 35 x 8 Vectors, source v.txt>") is None
    assert vectors_input(f"hf:{tmp_path}") == str(tmp_path)


def test_resume_refuses_a_stopword_file_edited_since_the_run_started(tmp_path):
    # the data, vectors and user dictionary were checked, the stopword file was not. An edit
    # that changed the vocabulary stopped at the checkpoint's vocabulary check, but one
    # dropping a word under min_freq (an unknown token, still in the texts) resumed without
    # a word, the rest of the run trained on other token streams
    from vecgraft.errors import DataError
    from vecgraft.finetune.rundir import data_inputs

    data = make_dataset(tmp_path / "data", train_per_class=30, test_per_class=6)
    with open(data["train"], "a", encoding="utf-8") as fh:
        fh.write("the zebra scored a goal,sport\n")  # zebra: once, no vector, unknown
    stop = tmp_path / "stop.txt"
    stop.write_text("the\n", encoding="utf-8")
    out = tmp_path / "run"
    run = config(data, out).replace(stopwords=str(stop), min_freq=2)
    with pytest.raises(KeyboardInterrupt):
        finetune(run, log=lambda _: None, on_step=Interrupt(5))
    stop.write_text("the\nzebra\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"the data changed since this run started: stopwords "
                       r".*stop\.txt \(size 4 -> 10\); start a new run"):  # fmt: skip
        finetune(run.replace(resume=True), log=lambda _: None)
    # a run recorded before the stopword file was fingerprinted has no entry: it resumes
    splits = json.loads((out / "splits.json").read_text())
    assert splits["inputs"]["stopwords"]["path"] == str(stop)
    del splits["inputs"]["stopwords"]
    (out / "splits.json").write_text(json.dumps(splits))
    finetune(run.replace(resume=True), log=lambda _: None)
    assert (out / "metrics.json").is_file()
    # a built-in list has no file to fingerprint; its name is in config.json
    assert "stopwords" not in data_inputs(run.replace(stopwords="en"))


def test_a_large_vector_file_chmod_ed_unchanged_is_refused_and_says_how_to_resume(
    tmp_path, monkeypatch
):
    # a file over the whole-hash limit counts as replaced once its ctime moves (it may
    # have been, with its time put back): said so, with the way to resume when it was not
    import os

    import vecgraft._util.fingerprint as fingerprint
    from vecgraft.errors import DataError

    monkeypatch.setattr(fingerprint, "FULL_HASH_LIMIT", 1024)  # the vector file is larger
    data = make_dataset(tmp_path / "data", train_per_class=30, test_per_class=6)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        finetune(config(data, out), log=lambda _: None, on_step=Interrupt(5))
    os.chmod(data["vectors"], 0o600)
    with pytest.raises(DataError, match=r"vectors .*vectors\.txt \(replaced, copied, moved or "
                       r"chmod-ed since .* not hashed whole, so this counts even with the same "
                       r"content\); start a new run \(--overwrite, or another --out\); if that "
                       r"file holds the same content, delete its entry under \"inputs\" in "
                       r".*splits\.json to resume$"):  # fmt: skip
        finetune(config(data, out).replace(resume=True), log=lambda _: None)
    splits = json.loads((out / "splits.json").read_text())
    del splits["inputs"]["vectors"]
    (out / "splits.json").write_text(json.dumps(splits))
    finetune(config(data, out).replace(resume=True), log=lambda _: None)
    assert (out / "metrics.json").is_file()


def test_resume_from_another_directory_names_the_one_the_run_started_in(
    data, tmp_path, monkeypatch
):
    start, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    (start / "data").mkdir(parents=True)
    elsewhere.mkdir()
    for role in ("train", "test"):
        shutil.copy(data[role], start / "data" / f"{role}.csv")
    monkeypatch.chdir(start)
    out = tmp_path / "run"
    relative = config(data, out).replace(train="data/train.csv", test="data/test.csv")
    with pytest.raises(KeyboardInterrupt):
        finetune(relative, log=lambda _: None, on_step=Interrupt(5))
    assert json.loads((out / "manifest.json").read_text())["cwd"] == str(start)
    monkeypatch.chdir(elsewhere)  # it said only "data/train.csv: no such file or directory"
    with pytest.raises(ConfigError, match=rf"train 'data/train\.csv' is relative to the "
                       rf"directory the run started in, {start}; run --resume from there"):
        finetune(relative.replace(resume=True), log=lambda _: None)
    started = json.loads((out / "manifest.json").read_text())["environment"]
    assert "resumes" not in json.loads((out / "manifest.json").read_text())  # the refused one
    monkeypatch.chdir(start)
    finetune(relative.replace(resume=True), log=lambda _: None)
    # the manifest still names where it started, wherever a resume wrote it
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["cwd"] == str(start)
    # and what the run started with; each resume's own versions and device follow it
    assert manifest["environment"] == started and started["device"] == "cpu"
    assert manifest["resumes"] == [started]  # this machine's again: the same facts
    assert "argv" not in started  # from Python, not the vecgraft command


def test_ctrl_c_inside_an_optimizer_step_resumes_exactly(
    data, reference, tmp_path, monkeypatch, request
):
    # the signal arrives after the weights moved but before the step was counted: held
    # until the count, or --resume would train on that batch twice
    import os
    import signal

    from vecgraft.finetune.train import Trainer

    ref_out, ref = reference
    step = Trainer._step
    seen = []

    def step_then_ctrl_c(self, indices, global_size):
        out = step(self, indices, global_size)
        seen.append(1)
        if len(seen) == 9:
            os.kill(os.getpid(), signal.SIGINT)  # delivered here, inside the step
        return out

    monkeypatch.setattr(Trainer, "_step", step_then_ctrl_c)
    # Python's own Ctrl-C handler, whatever pytest started with: a shell's background job
    # (`cmd &` in a script) starts with SIGINT ignored, and the signal then never arrived
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    request.addfinalizer(lambda: signal.signal(signal.SIGINT, previous))
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        finetune(config(data, out), log=lambda _: None)
    monkeypatch.setattr(Trainer, "_step", step)
    assert json.loads((out / "last" / "state.json").read_text())["global_step"] == 9
    resumed = finetune(config(data, out).replace(resume=True), log=lambda _: None)
    assert_same_weights(ref_out, out)
    assert resumed.metrics["test"]["accuracy"] == ref.metrics["test"]["accuracy"]


@pytest.mark.parametrize("compiled", [False, True])
def test_a_resume_that_switches_the_lazy_update_keeps_the_weight_average(
    data, tmp_path, monkeypatch, compiled
):
    # the lazy (row-wise) update is the default in one process without --compile: its weight
    # average keeps only the embedding rows the training words reach, the dense one all
    # rows; a run resumed with --compile (or under torchrun, or the other way) switches
    monkeypatch.setattr(torch, "compile", lambda model, **_: model)  # Inductor is slow here
    vectors = tmp_path / "vectors.txt"
    extra = "".join(f"zzextra{i} " + " ".join(["0.1"] * DIM) + "\n" for i in range(20))
    vectors.write_text(data["vectors"].read_text() + extra, encoding="utf-8")
    cfg = config(data, tmp_path / "run").replace(
        vectors=str(vectors), freeze_epochs=0, compile=compiled
    )
    finetune(cfg.replace(max_steps=3), log=lambda _: None)
    finetune(cfg.replace(resume=True, max_steps=6, compile=not compiled), log=lambda _: None)
    state = json.loads((tmp_path / "run" / "last" / "state.json").read_text())
    assert state["global_step"] == 6


def test_an_api_resume_keeps_the_runs_max_steps_unless_given_another(data, tmp_path):
    # `finetune --resume` took config.json's max_steps; the API took the config's default
    # (None, no cap), so FinetuneConfig(out=..., resume=True) of a run started with
    # max_steps=5 and stopped at step 3 trained on to its last epoch, past the cap
    out = tmp_path / "run"
    capped = config(data, out).replace(max_steps=5, plots=False, checkpoint_every=0)
    with pytest.raises(KeyboardInterrupt):
        finetune(capped, log=lambda _: None, on_step=Interrupt(3))
    again = FinetuneConfig(out=str(out), resume=True, progress=False, plots=False)
    finetune(again, log=lambda _: None)
    state = json.loads((out / "last" / "state.json").read_text())
    assert (state["global_step"], state["finished"]) == (5, True)  # the run's own cap
    assert json.loads((out / "config.json").read_text())["max_steps"] == 5
    finetune(again.replace(max_steps=7), log=lambda _: None)  # another value: on to it
    state = json.loads((out / "last" / "state.json").read_text())
    assert (state["global_step"], state["finished"]) == (7, True)
    assert json.loads((out / "config.json").read_text())["max_steps"] == 7
    lines: list[str] = []
    finetune(again, log=lines.append)  # and unset once more: the recorded 7
    assert f"{out}: training had finished (epoch 1, step 7)" in "\n".join(lines)


def test_a_resume_reads_last_model_json_once(data, tmp_path, monkeypatch):
    # setup_model read last/model.json for the tokenizer, then `_resume`'s load_checkpoint
    # read and parsed the same file again; the parsed dict is now handed on
    import vecgraft.finetune.checkpoint as checkpoint

    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        finetune(config(data, out), log=lambda _: None, on_step=Interrupt(9))
    read, reads = checkpoint.read_json, []

    def counted(path):
        if path == out / "last" / "model.json":
            reads.append(path)
        return read(path)

    monkeypatch.setattr(checkpoint, "read_json", counted)
    lines: list[str] = []
    finetune(config(data, out).replace(resume=True), log=lines.append)
    assert len(reads) == 1
    assert any(line.startswith(f"Resuming {out} at epoch 2, step 9") for line in lines)


@pytest.mark.parametrize("ema_epochs", [None, 0])
def test_a_resume_projecting_the_added_vector_words_matches_uninterrupted(
    data, tmp_path, ema_epochs
):
    # extend_vocab + project_untrained (the defaults), with the weight average (the
    # default) and without: a Ctrl-C's last/ had the added rows of the weights as trained
    # moved, which an uninterrupted run with the average never does (it moves them only in
    # the averaged weights it scores and keeps), so the resumed run's last/ differed in
    # exactly those rows
    import numpy as np

    rng = np.random.default_rng(5)
    extra = "".join(f"zzextra{i} " + " ".join(f"{x:.5f}" for x in rng.normal(0, 1, DIM)) + "\n"
                    for i in range(20))  # fmt: skip
    vectors = tmp_path / "vectors.txt"
    vectors.write_text(data["vectors"].read_text() + extra, encoding="utf-8")
    cfg = config(data, tmp_path / "full").replace(
        vectors=str(vectors), freeze_epochs=0, checkpoint_every=0, plots=False,
        ema_epochs=ema_epochs,
    )  # fmt: skip
    assert cfg.extend_vocab and cfg.project_untrained
    assert bool(cfg.ema_span()) is (ema_epochs is None)
    lines: list[str] = []
    finetune(cfg, log=lines.append)
    assert any("Untrained pretrained rows: 20 move" in line for line in lines), lines
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        finetune(cfg.replace(out=str(out)), log=lambda _: None, on_step=Interrupt(5))
    tokens = load_checkpoint(out / "last").vocab.tokens
    added = torch.tensor([i for i, t in enumerate(tokens) if t.startswith("zzextra")])
    rows = [[float(x) for x in line.split()[1:]] for line in extra.splitlines()]
    pretrained = torch.tensor(rows, dtype=torch.float32)
    saved = load_file(str(out / "last" / "model.safetensors"))["embedding.weight"]
    epoch_end = load_file(str(tmp_path / "full" / "last" / "model.safetensors"))
    trainer_pt = torch.load(out / "last" / "trainer.pt", weights_only=True)
    if ema_epochs is None:
        # as every last/ with the average: the rows as trained (never moved), nothing kept
        assert torch.equal(epoch_end["embedding.weight"][added], pretrained)
        assert torch.equal(saved[added], pretrained)
        assert RESUME_ROWS not in trainer_pt
    else:
        # as every last/ without it, the model file (what load_run(checkpoint="last")
        # predicts with) has the 20 rows moved; trainer.pt keeps them as trained
        assert not torch.equal(epoch_end["embedding.weight"][added], pretrained)
        kept = trainer_pt[RESUME_ROWS]
        assert sorted(kept["ids"].tolist()) == sorted(added.tolist())
        assert not torch.equal(saved[kept["ids"]], kept["rows"])
    finetune(cfg.replace(out=str(out), resume=True), log=lambda _: None)
    for name in ("last", "best"):
        full = load_file(str(tmp_path / "full" / name / "model.safetensors"))
        resumed = load_file(str(out / name / "model.safetensors"))
        assert full.keys() == resumed.keys()
        for key in full:
            assert torch.equal(full[key], resumed[key]), (name, key)
    files = [json.loads((run / "manifest.json").read_text())["files"]
             for run in (tmp_path / "full", out)]  # fmt: skip
    assert files[0] == files[1]


def _tiny_trainer(saves: list, ema_epochs: float, on_step=None):
    """A TinyBoE trainer (seeded) whose rows 32-39 never train and `prepare` moves."""
    from test_finetune_train import TinyBoE, toy_data
    from vecgraft.finetune.train import Trainer

    def save(name, model, state, trainer_state) -> None:
        saves.append((name, {k: v.clone() for k, v in model.state_dict().items()},
                      state, trainer_state))  # fmt: skip

    def prepare() -> None:  # carried to the trained rows' mean
        weight = model.embedding.weight
        with torch.no_grad():
            weight[32:] = weight[:32].mean(dim=0)

    torch.manual_seed(0)
    model = TinyBoE(40, 8, 3)
    cfg = FinetuneConfig(epochs=2, batch_size=16, lr=0.05, patience=None,
                         ema_epochs=ema_epochs, checkpoint_every=0)  # fmt: skip
    return Trainer(model, cfg, toy_data(), None, num_classes=3, device=torch.device("cpu"),
                   log=lambda _: None, save=save, prepare_weights=prepare,
                   on_step=on_step)  # fmt: skip


def _moved(weight: torch.Tensor) -> bool:
    return torch.equal(weight[32:], weight[:32].mean(dim=0).expand(8, -1))


@pytest.mark.parametrize("ema_epochs", [1.0, 0])
def test_a_ctrl_c_saves_last_as_an_epoch_end_does_and_resumes_from_the_rows_as_trained(
    ema_epochs,
):
    """A Ctrl-C's last/ holds what an ordinary last/ save would: rows moved iff no average.

    With the weight average (the classifier default) an epoch end's last/ keeps the rows as
    trained (moved only in the averaged weights, scored and kept as best/), while a
    Ctrl-C's last/ had them moved. Without it both have them moved (`load_run(checkpoint=
    "last")` predicts from them), and the Ctrl-C's trainer.pt keeps them as trained.
    """
    saves: list = []
    _tiny_trainer(saves, ema_epochs).fit()
    epoch_end = next(m for name, m, _, _ in saves if name == "last")["embedding.weight"]
    averaged = ema_epochs != 0
    assert _moved(epoch_end) is not averaged
    saves.clear()
    trainer = _tiny_trainer(saves, ema_epochs, on_step=Interrupt(3))
    with pytest.raises(KeyboardInterrupt):
        trainer.fit()
    as_trained = trainer.embedding.weight.detach().clone()
    name, model, state, trainer_state = saves[-1]
    weight = model["embedding.weight"]
    assert name == "last" and _moved(weight) is not averaged
    assert torch.equal(weight[:32], as_trained[:32])
    assert torch.equal(weight[32:], as_trained[32:]) is averaged  # kept its own rows
    assert (RESUME_ROWS in trainer_state) is not averaged
    resumed = _tiny_trainer([], ema_epochs)
    resumed.model.load_state_dict(model)  # as a resume loads last/, then restores
    resumed.restore(state, trainer_state)
    assert torch.equal(resumed.embedding.weight.detach(), as_trained)


@pytest.mark.parametrize(
    "damaged",
    [
        {"ids": torch.tensor([99]), "rows": torch.zeros(1, 8)},  # past the 40 rows
        {"ids": [1], "rows": torch.zeros(1, 8)},  # not a tensor
        [1, 2],  # not a dict
    ],
)
def test_a_damaged_resume_rows_entry_is_a_checkpoint_error_naming_the_file(damaged):
    # was a bare IndexError, AttributeError or TypeError from index_copy_
    saves: list = []
    trainer = _tiny_trainer(saves, 0, on_step=Interrupt(3))
    with pytest.raises(KeyboardInterrupt):
        trainer.fit()
    _, model, state, trainer_state = saves[-1]
    resumed = _tiny_trainer([], 0)
    resumed.model.load_state_dict(model)
    with pytest.raises(CheckpointError, match=rf"^run/last/trainer.pt: {RESUME_ROWS} must be"):
        resumed.restore(state, {**trainer_state, RESUME_ROWS: damaged},
                        source="run/last/trainer.pt")  # fmt: skip


def test_a_resume_names_the_trainer_file_whose_resume_rows_are_damaged(data, tmp_path):
    out = tmp_path / "run"
    cfg = config(data, out).replace(plots=False)
    with pytest.raises(KeyboardInterrupt):
        finetune(cfg, log=lambda _: None, on_step=Interrupt(5))
    file = out / "last" / "trainer.pt"
    trainer_state = torch.load(file, weights_only=True)
    trainer_state[RESUME_ROWS] = {"ids": torch.tensor([10**6]), "rows": torch.zeros(1, DIM)}
    torch.save(trainer_state, file)
    with pytest.raises(CheckpointError, match=f"^{re.escape(str(file))}: {RESUME_ROWS}"):
        finetune(cfg.replace(resume=True), log=lambda _: None)


def test_a_run_started_before_rules_2_resumes_with_its_own_rules(tmp_path, monkeypatch):
    # the old code's checkpoint records no `rules` (it split at a soft hyphen, rules 1); the
    # resume rebuilt the tokenizer with rules 2, joined "Straße\u00adnbahn" and refused: "the
    # data changed since this run started"
    from vecgraft.finetune import text_settings

    texts = make_texts(30, seed=1)
    texts += [("Straße\u00adnbahn fährt", texts[0][1]), ("eine Straße\u00adnbahn", texts[1][1])]
    data = make_dataset(tmp_path / "data", train_per_class=30, test_per_class=6)
    write_csv(data["train"], texts)
    out = tmp_path / "run"
    resolve = text_settings.resolve_text_options

    def as_before(*args, **kwargs):  # the tokenizer of the code before rules 2
        settings, lower = resolve(*args, **kwargs)
        return {**settings, "rules": 1}, lower

    with monkeypatch.context() as patched:
        patched.setattr(text_settings, "resolve_text_options", as_before)
        with pytest.raises(KeyboardInterrupt):
            finetune(config(data, out), log=lambda _: None, on_step=Interrupt(5))
    meta_file = out / "last" / "model.json"
    meta = json.loads(meta_file.read_text())
    assert meta["tokenizer"].pop("rules") == 1  # as the old code wrote it
    meta_file.write_text(json.dumps(meta))
    assert "nbahn" in load_checkpoint(out / "last").vocab.tokens
    lines: list[str] = []
    finetune(config(data, out).replace(resume=True), log=lines.append)
    assert "Tokenizer: rules 1, the rules this run started with (its checkpoint's)" in lines
    assert json.loads(meta_file.read_text())["tokenizer"]["rules"] == 1
    assert "nbahn" in load_checkpoint(out / "last").vocab.tokens


def _old_style(out, interrupted: bool) -> None:
    """`out` as the code before `rules` 2 and the linear `nfc`/`word_marks` wrote it."""
    for folder in ("last", "best"):
        meta_file = out / folder / "model.json"
        if meta_file.exists():
            meta = json.loads(meta_file.read_text())
            meta["tokenizer"].pop("rules")
            meta_file.write_text(json.dumps(meta))
    if not interrupted:
        linear_file = out / "fusion" / "linear.json"
        linear = json.loads(linear_file.read_text())
        assert linear["config"].pop("nfc") is linear["config"].pop("word_marks") is False
        linear_file.write_text(json.dumps(linear))


def _rules_1_run(data, out, interrupt=None, old_linear=False, **settings) -> None:
    """A fused run whose tokenizer has rules 1, as the code before rules 2 split.

    `old_linear`: its linear half without nfc/word_marks, as the code before them fitted it;
    `settings`: more of its config.
    """
    from vecgraft.finetune import fusion, text_settings

    resolve, linear_config = text_settings.resolve_text_options, fusion.linear_config

    def as_before(*args, **kwargs):
        settings, lower = resolve(*args, **kwargs)
        return {**settings, "rules": 1}, lower

    def linear_before(tokenizer, options):
        return linear_config(tokenizer, {**options, "nfc": False, "word_marks": False})

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(text_settings, "resolve_text_options", as_before)
        if old_linear:
            patched.setattr(fusion, "linear_config", linear_before)
        finetune(config(data, out).replace(fuse_linear=True, **settings), log=lambda _: None,
                 on_step=interrupt)  # fmt: skip


# decomposed é (NFC reads it as é) and a combining mark inside a word (word_marks keeps it)
_MARKED = ["cafe\u0301 good fun", "re\u0301sume\u0301 bad dull", "nai\u0308ve fun"]


def _marked_data(tmp_path):
    data = make_dataset(tmp_path / "data", train_per_class=30, test_per_class=6)
    texts = make_texts(30, seed=1)
    write_csv(data["train"], texts + [(t, texts[i][1]) for i, t in enumerate(_MARKED)])
    return data


def _resumed_linear_options(data, out, log=lambda _: None) -> tuple[bool, bool]:
    """(nfc, word_marks) of the fused linear half that a --resume of `out` fits."""
    from vecgraft.finetune.linear import LinearModel

    finetune(config(data, out).replace(fuse_linear=True, resume=True), log=log)
    resumed = LinearModel.load(out / "fusion").config
    return resumed.nfc, resumed.word_marks


def test_an_old_fused_run_resumed_keeps_its_linear_settings(tmp_path):
    # a finished fused run of the code before the linear nfc/word_marks (saved without
    # them: off) was refitted on --resume with today's defaults (on): its linear half's
    # vocabulary changed and so did its fused probabilities (0.569 -> 0.516 on NFD text)
    from vecgraft.finetune.linear import LinearModel

    data = _marked_data(tmp_path)
    out = tmp_path / "run"
    _rules_1_run(data, out, old_linear=True)
    _old_style(out, interrupted=False)
    legacy = LinearModel.load(out / "fusion")
    before = legacy.predict_proba(_MARKED)
    lines: list[str] = []
    finetune(config(data, out).replace(fuse_linear=True, resume=True), log=lines.append)
    resumed = LinearModel.load(out / "fusion")
    assert (resumed.predict_proba(_MARKED) == before).all()
    assert resumed.vectorizers[0][1].vocabulary_ == legacy.vectorizers[0][1].vocabulary_
    saved = json.loads((out / "fusion" / "linear.json").read_text())["config"]
    assert (saved["nfc"], saved["word_marks"]) == (False, False)
    assert "Fused linear model: nfc and word_marks off, as this run started" in lines


def _interrupted_rules_1_run(tmp_path):
    """(data, run folder) of a fused rules-1 run interrupted at step 5, before its fusion."""
    data = _marked_data(tmp_path)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        _rules_1_run(data, out, Interrupt(5))
    return data, out


def test_an_old_fused_run_interrupted_resumes_with_its_linear_settings(tmp_path):
    # interrupted before its fusion was fitted: its checkpoint (no `rules`) says the code
    # that started it fitted the linear half without nfc/word_marks
    data, out = _interrupted_rules_1_run(tmp_path)
    _old_style(out, interrupted=True)
    assert _resumed_linear_options(data, out) == (False, False)


def test_a_rules_1_run_of_todays_code_resumes_with_todays_linear_settings(tmp_path):
    # its checkpoint records rules 1 (vectors pretrained before rules 2), yet its linear half
    # had today's nfc/word_marks: a resume keeps them
    data, out = _interrupted_rules_1_run(tmp_path)
    assert _resumed_linear_options(data, out) == (True, True)


def test_an_old_fused_run_resumed_twice_keeps_its_linear_settings(tmp_path):
    # the first resume's checkpoints record rules 1, so a second resume (interrupted again
    # before fusion/ existed) no longer saw an old run and fitted today's nfc/word_marks
    data, out = _interrupted_rules_1_run(tmp_path)
    _old_style(out, interrupted=True)
    with pytest.raises(KeyboardInterrupt):  # the first resume, stopped again
        finetune(config(data, out).replace(fuse_linear=True, resume=True),
                 log=lambda _: None, on_step=Interrupt(8))  # fmt: skip
    meta = json.loads((out / "last" / "model.json").read_text())
    assert meta["linear_started"] == {"nfc": False, "word_marks": False}
    assert not (out / "fusion").exists()
    lines: list[str] = []
    assert _resumed_linear_options(data, out, lines.append) == (False, False)
    assert "Fused linear model: nfc and word_marks off, as this run started" in lines


def test_a_new_run_records_no_started_linear_settings(tmp_path):
    data = _marked_data(tmp_path)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        finetune(config(data, out).replace(fuse_linear=True), log=lambda _: None,
                 on_step=Interrupt(5))  # fmt: skip
    assert "linear_started" not in json.loads((out / "last" / "model.json").read_text())


def test_a_resumed_rules_1_run_cross_fits_its_folds_with_rules_1(tmp_path, monkeypatch):
    # the fold networks (no run folder, so no checkpoint to read) took today's rules 2
    from vecgraft.finetune import recipe as rc

    data = _marked_data(tmp_path)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        _rules_1_run(data, out, Interrupt(5), fuse_folds=2)
    seen = []
    setup_model = rc.ClassifierRecipe.setup_model

    def spy(self):
        setup_model(self)
        seen.append((self.out is not None, self.built.meta["tokenizer"].get("rules")))

    monkeypatch.setattr(rc.ClassifierRecipe, "setup_model", spy)
    finetune(config(data, out).replace(fuse_linear=True, resume=True, fuse_folds=2),
             log=lambda _: None)  # fmt: skip
    assert seen == [(True, 1), (False, 1), (False, 1)]


def test_a_resumed_runs_seconds_add_the_earlier_sessions(data, tmp_path, monkeypatch):
    # a run stopped in its final evaluation and resumed said "seconds": 1.66 (the resumed
    # session's), where the uninterrupted run said 17.38
    from vecgraft.finetune.recipe import ClassifierRecipe

    real = ClassifierRecipe.evaluate
    stops: list[str] = []

    def stopped_once(self):
        if not stops:  # Ctrl-C as the final evaluation starts
            stops.append("evaluate")
            raise KeyboardInterrupt
        return real(self)

    monkeypatch.setattr(ClassifierRecipe, "evaluate", stopped_once)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        finetune(config(data, out), log=lambda _: None)
    file = out / "last" / "state.json"
    state = json.loads(file.read_text())
    assert stops == ["evaluate"] and state["finished"] and state["run_seconds"] > 0
    file.write_text(json.dumps({**state, "run_seconds": 100.0}))  # a known earlier session
    resumed = finetune(config(data, out).replace(resume=True), log=lambda _: None)
    assert 100 < resumed.metrics["seconds"] < 160
    assert json.loads((out / "metrics.json").read_text())["seconds"] == resumed.metrics["seconds"]
    # a checkpoint saved before run_seconds was kept: counted from the resume alone, so
    # within this call's own time, which any earlier session's seconds would take it past
    del state["run_seconds"]
    file.write_text(json.dumps(state))
    started = time.perf_counter()
    again = finetune(config(data, out).replace(resume=True), log=lambda _: None)
    assert 0 < again.metrics["seconds"] <= time.perf_counter() - started
