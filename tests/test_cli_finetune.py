"""End to end through the CLI: `vecgraft finetune` -> `evaluate` -> `predict`."""

from __future__ import annotations

import argparse
import io
import json
import shutil
from pathlib import Path

import pytest
import torch

from finetune_helpers import CLASSES, held_lock, is_held, make_dataset, write_csv
from vecgraft.cli import main


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-finetune")
    data = make_dataset(root)
    out = root / "run"
    argv = [
        "finetune",
        "--train",
        str(data["train"]),
        "--test",
        str(data["test"]),
        "--vectors",
        str(data["vectors"]),
        "--model",
        "boe",
        "--out",
        str(out),
        "--epochs",
        "4",
        "--batch-size",
        "16",
        "--lr",
        "0.05",
        "--lower",
        "--seed",
        "0",
        "--no-progress",
    ]
    assert main(argv) == 0
    return data, out


def test_finetune_writes_a_complete_run_folder(run):
    _, out = run
    for name in (
        "config.json",
        "metrics.json",
        "splits.json",
        "history.json",
        "report.txt",
        "alignment.json",
        "alignment.txt",
        "confusion.png",
        "history.png",
    ):
        assert (out / name).is_file(), name
    for ckpt in ("best", "last"):
        assert {p.name for p in (out / ckpt).iterdir()} >= {
            "model.safetensors",
            "model.json",
            "vocab.json",
            "labels.json",
            "state.json",
        }
    assert (out / "last" / "trainer.pt").is_file()
    assert json.loads((out / "config.json").read_text())["model"] == "boe"


def test_metrics_json_fields(run):
    _, out = run
    metrics = json.loads((out / "metrics.json").read_text())
    test = metrics["test"]
    assert test["accuracy"] >= 0.9
    assert 0.0 <= test["macro_f1"] <= 1.0
    assert set(test["per_class"]) == set(CLASSES)
    assert sum(map(sum, test["confusion"])) == 30 == metrics["sizes"]["test"]
    assert metrics["sizes"]["train"] + metrics["sizes"]["valid"] == 120
    assert metrics["labels"] == sorted(CLASSES)
    assert metrics["task"] == "classification"  # as a regression's says "regression"
    assert 1 <= metrics["best_epoch"] <= metrics["epochs_run"] == 4
    assert metrics["coverage"]["type_coverage"] > 0.5


def test_epoch_lines_and_summary_are_printed(tmp_path, capsys):
    data = make_dataset(tmp_path, train_per_class=10, test_per_class=3)
    argv = [
        "finetune",
        "--train",
        str(data["train"]),
        "--vectors",
        "random",
        "--model",
        "boe",
        "--out",
        str(tmp_path / "r"),
        "--epochs",
        "2",
        "--no-progress",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Epoch [1/2], Loss: " in out and ", Accuracy: " in out
    assert "Epoch [2/2]" in out
    assert "Test (" in out and "Run folder:" in out
    # only --train: the 80/20 split is recorded beside the run
    splits = json.loads((tmp_path / "r" / "splits.json").read_text())
    assert splits["sizes"]["test"] == 6 and len(splits["test"]["rows"]) == 6
    assert not set(splits["test"]["rows"]) & set(splits["train"]["rows"])


def test_evaluate_prints_and_writes_metrics(run, capsys):
    data, out = run
    assert main(["evaluate", str(out), "--data", str(data["test"])]) == 0
    printed = capsys.readouterr().out
    assert "accuracy" in printed and "macro F1" in printed
    # the run is fused (the default): the score is the pair's, and the line says so
    fused = json.loads((out / "metrics.json").read_text()).get("fusion") is not None
    said = " (fused: the network and the TF-IDF linear model)\n"
    assert fused and printed.splitlines(keepends=True)[0].endswith(said)
    saved = json.loads((out / "eval-test.json").read_text())
    first = json.loads((out / "metrics.json").read_text())["test"]
    assert saved["test"]["accuracy"] == pytest.approx(first["accuracy"])
    assert saved["task"] == "classification"


def test_evaluate_on_a_read_only_run_prints_its_scores_and_warns(run, monkeypatch, capsys):
    # it printed the scores, then exited 1 for want of eval-test.json: the scores stood
    from vecgraft._util import atomic

    data, out = run

    def read_only(path, *args, **kwargs):  # as a folder the user may only read (not as root)
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(atomic, "atomic_write_json", read_only)
    assert main(["evaluate", str(out), "--data", str(data["test"])]) == 0
    said = capsys.readouterr()
    assert "accuracy" in said.out and "metrics written" not in said.out
    assert said.err == (f"warning: the scores were not saved in {out / 'eval-test.json'}: "
                        "Permission denied; pass --metrics-out FILE to save them elsewhere\n")
    # a --metrics-out file it cannot write is the command failing
    assert main(["evaluate", str(out), "--data", str(data["test"]),
                 "--metrics-out", str(out / "mine.json")]) == 1  # fmt: skip
    assert "error: " in capsys.readouterr().err


def test_the_manifest_records_versions_device_and_command_line(run):
    # a run folder named no vecgraft, torch or Python version, its config.json's device
    # was "auto", and nothing said which command made it
    import platform
    from importlib.metadata import version

    import vecgraft

    _, out = run
    env = json.loads((out / "manifest.json").read_text())["environment"]
    assert env["vecgraft"] == vecgraft.__version__
    assert env["python"] == platform.python_version() and env["platform"]
    assert env["packages"] == {name: version(name) for name in ("torch", "numpy", "scikit-learn")}
    assert json.loads((out / "config.json").read_text())["device"] == "auto"
    assert env["device"] == "cpu" and env["torch_threads"] == torch.get_num_threads()
    assert env["argv"][:3] == ["vecgraft", "finetune", "--train"]
    assert env["argv"][-3:] == ["--seed", "0", "--no-progress"]
    assert "environment" not in json.loads((out / "config.json").read_text())  # nor elsewhere
    assert "environment" not in json.loads((out / "metrics.json").read_text())


def test_evaluate_of_a_folder_a_run_is_writing_fails_at_once(run, tmp_path, capsys):
    # it read whatever model files were there mid-run (set aside by --overwrite, or half
    # replaced) and listed its eval-*.json in the new run's manifest
    data, finished = run
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    before = sorted(p.name for p in out.iterdir())
    manifest = (out / "manifest.json").read_bytes()
    with held_lock(out):  # a run writing it (another process's)
        assert main(["evaluate", str(out), "--data", str(data["test"])]) == 1
    said = capsys.readouterr()
    assert said.out == ""
    assert said.err.strip() == (f"vecgraft evaluate: error: {out}: a run is writing this "
                                "folder (it holds its lock); wait for it to end: until then "
                                "its model is not whole")
    assert sorted(p.name for p in out.iterdir()) == before
    assert (out / "manifest.json").read_bytes() == manifest
    # readers share the folder; a run started into it while one reads fails at once
    with held_lock(out, shared=True):
        assert main(["evaluate", str(out), "--data", str(data["test"])]) == 0
        assert (out / "eval-test.json").is_file()
        capsys.readouterr()
        again = ["finetune", "--train", str(data["train"]), "--test", str(data["test"]),
                 "--model", "boe", "--epochs", "1", "--out", str(out), "--overwrite",
                 "--no-progress"]  # fmt: skip
        assert main(again) == 1
    err = capsys.readouterr().err
    assert f"finetune: error: {out}: another command is reading this folder (`vecgraft " in err
    assert ("evaluate`, `predict` or `export` holds its lock); wait for it to end, or choose "
            "another --out DIR") in err
    assert (out / "eval-test.json").is_file() and not (out / ".replaced").exists()


def test_predict_of_a_folder_a_run_is_writing_fails_at_once(run, tmp_path, capsys, monkeypatch):
    # it loaded whatever model files were there mid-run (set aside by --overwrite, or half
    # replaced) and labelled the texts with them, as `evaluate` did before its lock
    data, finished = run
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    texts = tmp_path / "new.txt"
    texts.write_text("The striker scored a goal for the team\n")
    before = sorted(p.name for p in out.iterdir())
    with held_lock(out):  # a run writing it (another process's)
        assert main(["predict", str(out), str(texts)]) == 1
    said = capsys.readouterr()
    assert said.out == ""
    assert said.err.strip() == (f"vecgraft predict: error: {out}: a run is writing this "
                                "folder (it holds its lock); wait for it to end: until then "
                                "its model is not whole")
    assert sorted(p.name for p in out.iterdir()) == before
    with held_lock(out, shared=True):  # readers share the folder
        assert main(["predict", str(out), str(texts)]) == 0
    assert capsys.readouterr().out.split() == ["sport"]
    # predict holds it while it reads its input, so a run started into it meanwhile (here:
    # when the first text is read) fails at once
    again = ["finetune", "--train", str(data["train"]), "--test", str(data["test"]),
             "--model", "boe", "--epochs", "1", "--out", str(out), "--overwrite",
             "--no-progress"]  # fmt: skip
    seen: list[object] = []

    class Input:  # standard input, its first line read once predict has loaded the run
        def __iter__(self):
            seen.append(is_held(out))
            seen.append(main(again))
            yield "The striker scored a goal for the team\n"

    monkeypatch.setattr("sys.stdin", Input())
    assert main(["predict", str(out)]) == 0
    said = capsys.readouterr()
    assert said.out.split() == ["sport"] and seen == [True, 1]
    assert f"finetune: error: {out}: another command is reading this folder" in said.err
    assert not is_held(out) and not (out / ".replaced").exists()
    assert sorted(p.name for p in out.iterdir()) == before


def test_a_second_finetune_into_a_folder_a_run_is_writing_says_so_first(
    run, tmp_path, capsys, monkeypatch
):
    # a --resume whose flags differ said that first ("a resumed run keeps the settings ...
    # leave them out to resume"), advice that then hit the lock; the lock is checked before
    # the run's config.json, data or vectors are read
    import vecgraft.cli._vectors_args as vectors_args
    from vecgraft.finetune.config import FinetuneConfig

    def never(*args, **kwargs):
        raise AssertionError("read before the lock was checked")

    data, finished = run
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    monkeypatch.setattr(vectors_args, "load_from_args", never)
    monkeypatch.setattr(FinetuneConfig, "load", never)
    monkeypatch.setattr("vecgraft.finetune.data.read_labelled", never)
    argv = ["finetune", "--train", str(data["train"]), "--test", str(data["test"]),
            "--vectors", str(data["vectors"]), "--model", "boe", "--out", str(out),
            "--epochs", "5", "--no-progress"]  # fmt: skip
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with held_lock(out):  # a run writing it (another process's)
        for flag in ([], ["--overwrite"], ["--resume"]):
            assert main([*argv, *flag]) == 1
            assert capsys.readouterr().err == (
                f"vecgraft finetune: error: {out}: another run is writing this folder (it "
                "holds its lock); wait for it to end, or choose another --out DIR\n"
            ), flag
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before

def test_evaluate_refuses_a_folder_as_metrics_out_before_scoring(run, tmp_path, capsys):
    # it scored the whole file and printed every table, then stopped on the write
    data, out = run
    assert main(["evaluate", str(out), "--data", str(data["test"]),
                 "--metrics-out", str(tmp_path)]) == 1  # fmt: skip
    said = capsys.readouterr()
    assert said.out == ""
    assert f"--metrics-out {tmp_path}: is a folder; name a file" in said.err


def test_evaluate_metrics_out_dash_prints_the_json_alone_on_stdout(
    run, tmp_path, capsys, monkeypatch
):
    # it wrote a file named '-' and said "metrics written to -"
    data, out = run
    monkeypatch.chdir(tmp_path)
    assert main(["evaluate", str(out), "--data", str(data["test"]), "--metrics-out", "-"]) == 0
    said = capsys.readouterr()
    record = json.loads(said.out)  # nothing else on stdout
    assert record["task"] == "classification" and 0 <= record["test"]["accuracy"] <= 1
    assert "accuracy" in said.err and "metrics written" not in said.err + said.out
    assert not (tmp_path / "-").exists()


def test_finetune_refuses_out_dash(run, tmp_path, capsys, monkeypatch):
    data, _ = run
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:  # a usage error (`output_path`), exit 2
        main(["finetune", "--train", str(data["train"]), "--vectors", "random",
              "--out", "-", "--no-progress"])  # fmt: skip
    assert exc.value.code == 2
    assert capsys.readouterr().err.endswith(
        "vecgraft finetune: error: argument --out: '-': finetune writes a folder, not standard "
        "output; name a folder\n"
    )
    assert not (tmp_path / "-").exists()


def test_finetune_refuses_a_config_files_out_dash(run, tmp_path, capsys, monkeypatch):
    # no flag to type-check: the settings' out is checked when the run starts
    data, _ = run
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "c.yaml"
    config.write_text("out: '-'\n", encoding="utf-8")
    assert main(["finetune", "--config", str(config), "--train", str(data["train"]),
                 "--vectors", "random", "--no-progress"]) == 1  # fmt: skip
    assert capsys.readouterr().err == (
        "vecgraft finetune: error: out '-': finetune writes a folder, not standard output; "
        "name a folder\n"
    )
    assert not (tmp_path / "-").exists()


def test_evaluate_of_a_file_without_labels_points_at_predict(run, tmp_path, capsys):
    # it said only "no label column 'label'; columns found: 'text'"
    _, out = run
    texts = tmp_path / "texts.csv"
    texts.write_text("text\ngood film\nbad film\n", encoding="utf-8")
    assert main(["evaluate", str(out), "--data", str(texts)]) == 1
    err = capsys.readouterr().err
    assert err.strip().endswith(
        f"{texts}: no label column 'label'; columns found: 'text' (pass --label-column NAME "
        "to choose one); to label texts without gold labels, use vecgraft predict")
    typo = tmp_path / "typo.csv"  # a name off by case is a typo, not a file without labels
    typo.write_text("text,Label\ngood film,pos\n", encoding="utf-8")
    assert main(["evaluate", str(out), "--data", str(typo)]) == 1
    assert "vecgraft predict" not in capsys.readouterr().err


def test_texts_left_without_tokens_by_stopwords_are_said(tmp_path, capsys):
    # --stopwords en on short questions left 1,263 of 1,500 training texts empty, in silence
    words = ["film", "plot", "actor", "scene", "music", "story"]
    empty = ["what is it", "how is it", "who is he", "where was she"]
    rows = [(f"great {w}", "pos") for w in words] + [(f"awful {w}", "neg") for w in words]
    rows += [(text, "pos" if i % 2 else "neg") for i, text in enumerate(empty)]
    train = write_csv(tmp_path / "train.csv", rows)
    test = write_csv(tmp_path / "test.csv", [("great song", "pos"), ("awful song", "neg"),
                                             ("why was it", "neg"), ("bad tune", "neg")])
    argv = ["finetune", "--train", str(train), "--test", str(test), "--vectors", "random",
            "--embedding-dim", "4", "--model", "boe", "--epochs", "1", "--valid-fraction", "0",
            "--no-fuse-linear", "--no-plots", "--no-progress", "--out", str(tmp_path / "r")]
    assert main([*argv, "--stopwords", "en"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert ("WARNING: 4 of 16 training texts (25%) have no tokens after tokenizing and removing "
            "stopwords (they are read as empty); --stopwords en removed every word of 4 of "
            "them (a narrower list, as a file with one word per line, or none keeps their "
            "words)") in lines
    assert ("WARNING: 1 of 4 test texts (25%) have no tokens after tokenizing and removing "
            "stopwords (they are read as empty); --stopwords en removed every word of 1 of "
            "them (a narrower list, as a file with one word per line, or none keeps their "
            "words)") in lines
    assert main([*argv, "--overwrite"]) == 0  # no stopwords: every text has a token
    assert "have no tokens" not in capsys.readouterr().out


def test_a_few_texts_without_tokens_are_a_note_not_a_warning():
    from vecgraft.finetune.families import empty_texts_line
    from vecgraft.text import Tokenizer

    texts = ["...", *(f"text {i}" for i in range(19))]  # punctuation alone: no token here
    tok = Tokenizer(pattern=r"\w+")
    ids = [[1] * len(tok(t)) for t in texts]
    assert empty_texts_line("training", texts, ids, tok) == (
        "1 of 20 training texts (5%) have no tokens after tokenizing (they are read as empty)")
    assert empty_texts_line("test", texts[1:], ids[1:], tok) is None


def test_evaluate_on_many_classes_points_at_its_own_json(tmp_path, capsys):
    # above 100 classes the table points at the JSON's confusion_cells: it named
    # metrics.json, which evaluate does not write
    def rows(k: int) -> list[tuple[str, str]]:
        return [(f"word{c} other{c % 7} n{k}x{i}", f"c{c:03d}")
                for c in range(120) for i in range(k)]  # fmt: skip

    train, test = write_csv(tmp_path / "train.csv", rows(3)), write_csv(tmp_path / "t.csv", rows(1))
    run = tmp_path / "run"
    assert main(["finetune", "--train", str(train), "--test", str(test), "--model", "linear",
                 "--out", str(run), "--no-plots"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(test)]) == 0
    said = capsys.readouterr().out
    assert "non-zero cells are the JSON's confusion_cells (metrics.json, or evaluate's" in said
    assert "confusion_cells" in json.loads((run / "eval-t.json").read_text())["test"]


def test_a_linear_run_draws_its_confusion_matrix_but_no_curves(tmp_path, capsys):
    # a fitted model has no epochs: history.png was an empty loss panel beside one point
    rows = [(f"word{c} other{i} n{i}", f"c{c}") for c in range(3) for i in range(8)]
    train = write_csv(tmp_path / "train.csv", rows)
    run = tmp_path / "run"
    assert main(["finetune", "--train", str(train), "--model", "linear", "--out", str(run),
                 "--no-progress"]) == 0  # fmt: skip
    assert (run / "confusion.png").is_file() and (run / "history.json").is_file()
    assert not (run / "history.png").exists()


def test_predict_from_file_and_stdin(run, tmp_path, capsys, monkeypatch):
    _, out = run
    texts = [
        "The striker scored a goal for the team",
        "New laptop chip and software",
        "A recipe for bread and cheese soup",
    ]
    f = tmp_path / "new.txt"
    f.write_text("\n".join(texts) + "\n")
    assert main(["predict", str(out), str(f)]) == 0
    assert capsys.readouterr().out.split() == ["sport", "tech", "food"]

    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(texts) + "\n"))
    assert main(["predict", str(out), "-", "--proba"]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.strip().splitlines()]
    assert rows[0] == ["label", "food", "sport", "tech"]
    assert [r[0] for r in rows[1:]] == ["sport", "tech", "food"]
    for r in rows[1:]:
        assert sum(map(float, r[1:])) == pytest.approx(1.0, abs=1e-3)


def test_predict_reads_a_pipe_given_as_a_path(run, tmp_path, capsys):
    # `vecgraft predict RUN <(cut -f2 data.tsv)` hands over /dev/fd/N, a pipe: it was refused
    # as "a named pipe (FIFO) ... vector files are read by seeking"
    import os
    import threading

    _, out = run
    fifo = tmp_path / "texts.fifo"
    os.mkfifo(fifo)
    texts = "The striker scored a goal for the team\nNew laptop chip and software\n"
    writer = threading.Thread(target=fifo.write_text, args=(texts,))
    writer.start()
    try:
        assert main(["predict", str(out), str(fifo)]) == 0
    finally:
        if writer.is_alive():  # predict never opened it: let the writer go
            with open(fifo, "rb") as fh:
                fh.read()
        writer.join()
    assert capsys.readouterr().out.split() == ["sport", "tech"]
    assert main(["predict", str(out), os.devnull]) == 0  # a character device: no texts
    assert capsys.readouterr().out == ""


def _answer_line(stream, seconds: float) -> bytes:
    """The next line of a subprocess's `stream`, or b"" if none comes within `seconds`."""
    import queue
    import threading

    got: queue.Queue[bytes] = queue.Queue()
    threading.Thread(target=lambda: got.put(stream.readline()), daemon=True).start()
    try:
        return got.get(timeout=seconds)
    except queue.Empty:
        return b""


def test_predict_answers_each_piped_line_before_the_next_comes(run):
    # `(echo text; sleep 4; echo text) | vecgraft predict RUN -` answered nothing until the
    # pipe closed: stdin was read 64 KiB at a time and answers waited for a full batch
    import os
    import subprocess
    import sys
    from pathlib import Path

    _, out = run
    src = Path(__file__).resolve().parents[1] / "src"
    env = {**os.environ, "PYTHONPATH": str(src)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vecgraft", "predict", str(out), "-"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    try:
        answers = []
        for text in (b"The striker scored a goal for the team\n", b"New laptop chip\n"):
            proc.stdin.write(text)
            proc.stdin.flush()
            answers.append(_answer_line(proc.stdout, 60))
        proc.stdin.close()
        assert answers == [b"sport\n", b"tech\n"]
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
        proc.wait()


def test_unknown_label_in_evaluate_data_is_scored_as_an_error_and_said(run, tmp_path, capsys):
    _, out = run
    bad = write_csv(tmp_path / "bad.csv", [("goal team", "sport"), ("pasta oven", "cooking")])
    metrics_out = tmp_path / "eval.json"
    assert main(["evaluate", str(out), "--data", str(bad), "--metrics-out", str(metrics_out)]) == 0
    captured = capsys.readouterr()
    assert "WARNING: " in captured.err and "1 of 2 rows" in captured.err
    assert "'cooking' 1 row" in captured.err and "scored as errors" in captured.err
    record = json.loads(metrics_out.read_text())
    assert record["unseen_labels"] == {"labels": ["cooking"], "rows": {"cooking": 1}, "count": 1}
    assert record["test"]["accuracy"] <= 0.5 and record["test"]["support"] == 2
    assert record["test"]["per_class"]["cooking"]["recall"] == 0.0


def test_missing_run_folder_is_a_clear_error(tmp_path, capsys):
    assert main(["predict", str(tmp_path / "nope"), "-"]) == 1
    assert "no such run folder" in capsys.readouterr().err


def test_test_texts_in_the_valid_file_are_removed_too(tmp_path, capsys):
    # a --valid file's rows are trained on as well (the linear model refits on train +
    # valid): with --valid equal to --test the linear run scored 100 %, with no word of why
    data = make_dataset(tmp_path, train_per_class=20, test_per_class=4)
    test_rows = data["test"].read_text(encoding="utf-8").splitlines()
    valid = tmp_path / "valid.csv"
    valid.write_text("\n".join(test_rows[:4]) + "\n", encoding="utf-8")  # header + 3 rows
    out = tmp_path / "r"
    argv = ["finetune", "--train", str(data["train"]), "--valid", str(valid), "--test",
            str(data["test"]), "--model", "linear", "--out", str(out), "--no-plots"]  # fmt: skip
    assert main(argv) == 0
    assert "WARNING: 3 of 12 test texts (25%) also occur in the validation data: removed" in (
        capsys.readouterr().out
    )  # a quarter of the test file: a warning
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["valid_duplicates"] == {"count": 3, "label_conflicts": 0, "removed": True}
    assert metrics["sizes"]["test"] == len(test_rows) - 1 - 3
    assert metrics["sizes"]["valid"] == 3
    argv[argv.index("--valid") + 1] = str(data["test"])
    assert main([*argv, "--overwrite"]) == 1
    assert "occur in the training (or validation) data" in capsys.readouterr().err


def test_duplicates_removed_from_test_and_train_fraction(tmp_path, capsys):
    data = make_dataset(tmp_path, train_per_class=20, test_per_class=4)
    train_rows = data["train"].read_text().splitlines()[1:3]
    with open(data["test"], "a", encoding="utf-8") as fh:
        # the same texts as two training rows, one with extra spaces (still a duplicate)
        fh.write(train_rows[0] + "\n" + train_rows[1].replace(" ", "  ", 1) + "\n")
    out = tmp_path / "r"
    argv = [
        "finetune",
        "--train",
        str(data["train"]),
        "--test",
        str(data["test"]),
        "--vectors",
        "random",
        "--model",
        "boe",
        "--out",
        str(out),
        "--epochs",
        "1",
        "--train-fraction",
        "0.5",
        "--no-progress",
        "--no-plots",
    ]
    assert main(argv) == 0
    assert "2 test text(s) also occur in the training data: removed" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["duplicates"] == {"count": 2, "label_conflicts": 0, "removed": True}
    assert metrics["sizes"]["test"] == 12
    assert metrics["sizes"]["train"] + metrics["sizes"]["valid"] == 30
    splits = json.loads((out / "splits.json").read_text())
    assert splits["train_fraction"] == 0.5 and splits["duplicates"]["count"] == 2


def test_bad_input_leaves_the_out_folder_reusable(tmp_path, capsys):
    data = make_dataset(tmp_path, train_per_class=10, test_per_class=3)
    out = tmp_path / "r"
    argv = [
        "finetune",
        "--train",
        str(data["train"]),
        "--vectors",
        "random",
        "--model",
        "boe",
        "--out",
        str(out),
        "--epochs",
        "1",
        "--no-progress",
        "--no-plots",
    ]
    assert main([*argv, "--label-column", "topic"]) == 1
    assert "topic" in capsys.readouterr().err
    assert main([*argv, "--model-option", "no_such_option=1"]) == 1
    assert "no_such_option" in capsys.readouterr().err
    assert main(argv) == 0


@pytest.mark.parametrize("flag", ["--max-size", "--max-vocab"])
def test_max_size_caps_the_training_vocabulary_as_build_does(run, tmp_path, flag):
    from vecgraft.finetune.config import FinetuneConfig
    from vecgraft.finetune.predict import load_run

    data, default_run = run
    assert FinetuneConfig().max_size is None  # default: no cap, the run above
    uncapped = len(load_run(default_run).vocab)
    out = tmp_path / "capped"
    argv = ["finetune", "--train", str(data["train"]), "--test", str(data["test"]),
            "--model", "boe", "--out", str(out), "--epochs", "1", "--no-progress",
            "--extend-vocab", "0", flag, "5"]  # fmt: skip
    assert main(argv) == 0
    vocab = load_run(out).vocab
    assert len(vocab) - len(vocab.specials) == 5 < uncapped
    assert json.loads((out / "config.json").read_text(encoding="utf-8"))["max_size"] == 5
    with pytest.raises(Exception, match="max_size must be > 0"):
        FinetuneConfig(max_size=0)


def test_evaluate_encodes_a_chunk_at_a_time_with_the_same_metrics(run, tmp_path, monkeypatch):
    # encoding every row first held all their token ids at once (0.8 GB at 300k reviews)
    from vecgraft.finetune import predict

    data, out = run
    whole, chunked = tmp_path / "whole.json", tmp_path / "chunked.json"
    argv = ["evaluate", str(out), "--data", str(data["test"]), "--metrics-out"]
    assert main([*argv, str(whole)]) == 0
    sizes: list[int] = []
    encode = predict.Predictor._encode

    def spy(self, texts, labels=None):
        sizes.append(len(texts))
        return encode(self, texts, labels)

    monkeypatch.setattr(predict.Predictor, "_encode", spy)
    monkeypatch.setattr(predict, "SCORE_CHUNK", 7)
    assert main([*argv, str(chunked)]) == 0
    assert sum(sizes) == 30 and max(sizes) <= 7
    # the log-loss of float32 probabilities batched otherwise agrees to float32's precision
    records = [json.loads(path.read_text()) for path in (chunked, whole)]
    losses = [record["test"].pop("log_loss") for record in records]
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)
    assert records[0] == records[1]


def test_predict_proba_prints_each_probability_in_full(run, tmp_path, capsys):
    # four decimals printed 3e-06 as 0.0000: a log-loss or a ranking from the table was not
    # the model's; each cell now reads back as the very number the model gave
    import numpy as np

    from vecgraft.finetune.predict import load_run

    _, out = run
    texts = ["The striker scored a goal for the team", "New laptop chip and software",
             "Bread and cheese soup recipe"]  # fmt: skip
    path = tmp_path / "texts.txt"
    path.write_text("\n".join(texts) + "\n")
    assert main(["predict", str(out), str(path), "--proba"]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.strip().splitlines()[1:]]
    expected = load_run(out).predict_proba(texts).numpy()
    printed = np.array([[float(cell) for cell in row[1:]] for row in rows]).astype(expected.dtype)
    assert np.array_equal(printed, expected)
    assert min(len(cell) for row in rows for cell in row[1:]) < 10  # shortest, not 17 digits


def test_predict_says_what_to_do_about_a_line_over_the_limit(run, tmp_path, capsys, monkeypatch):
    # it said "raise max_line_bytes= to allow it": a Python keyword, and predict has no
    # such flag (the limit, 64 MiB, is made smaller here to keep the file small)
    _, out = run
    monkeypatch.setattr("vecgraft.text.reader.MAX_ROW_BYTES", 2 << 20)
    path = tmp_path / "long.txt"
    path.write_bytes(b"goal\n" + b"team " * ((2 << 20) // 5 + 1) + b"\n")
    table = tmp_path / "long.csv"
    table.write_bytes(b"text\n" + path.read_bytes())
    for given, line in ((path, 2), (table, 3)):
        assert main(["predict", str(out), str(given)]) == 1
        err = capsys.readouterr().err
        assert f"{given}:{line}: " in err and "a line longer than 2 MiB, the most read as one " \
            "text: split the text over several lines, or check that the file has line " \
            "breaks\n" in err
        assert "max_line_bytes" not in err and err.count("\n") == 1


@pytest.mark.parametrize("size", ["0", "-1"])
def test_predict_refuses_a_batch_size_below_one(run, tmp_path, capsys, size):
    # 0 and -1 were taken as 1 without a word
    _, out = run
    path = tmp_path / "texts.txt"
    path.write_text("goal\n")
    assert main(["predict", str(out), str(path), f"--batch-size={size}"]) == 1
    captured = capsys.readouterr()
    assert captured.err == f"vecgraft predict: error: --batch-size must be >= 1, got {size}\n"
    assert captured.out == ""


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--lr", "0"], "--lr must be > 0, got 0.0"),
        (["--batch-size", "0"], "--batch-size must be > 0, got 0"),
        (["--epochs", "0"], "--epochs must be > 0, got 0"),
        (["--train-steps", "0"], "--train-steps must be > 0, got 0"),
        (["--max-vocab", "0"], "--max-vocab must be > 0, got 0"),  # the spelling typed
        # 0 is a value of these flags (no limit, off): the config's "> 0" hid that
        (["--max-length", "-1"], "--max-length must be >= 0 (0: no limit), got -1"),
        (["--patience", "-1"], "--patience must be >= 0 (0: off), got -1"),
        # torch's tracebacks (weight decay, momentum); an embedding trained uphill
        (["--weight-decay", "-1"], "--weight-decay must be >= 0, got -1.0"),
        (["--optimizer", "sgd", "--momentum", "-1"], "--momentum must be >= 0, got -1.0"),
        (["--embedding-lr", "-1"], "--embedding-lr must be >= 0, got -1.0"),
        (["--min-epochs", "10", "--max-epochs", "5"],
         "--max-epochs (5) must be >= --min-epochs (10)"),
        (["--valid-fraction", "1.2"], "--valid-fraction must be a fraction in [0, 1), got 1.2"),
        (["--ensemble", "0"], "--ensemble is a number of networks >= 1; got 0"),
        # it named "--fuse-linear keeps the network alone", a flag nobody typed
        (["--fuse-folds", "2", "--fuse-weight", "0.5"],
         "--fuse-folds chooses a fused prediction's weight; --fuse-weight or --fuse-pool fixes "
         "it: give one"),
        (["--fuse-weight", "0.5", "--no-fuse-linear"],
         "--fuse-weight weights a fused prediction; --no-fuse-linear keeps the network alone"),
        (["--fuse-linear", "--valid-fraction", "0"],
         "(--valid-fraction 0 leaves none; --fuse-weight"),
        (["--model", "hf"], "--model hf needs --hf-model"),
        (["--sparse-embedding", "--optimizer", "sgd"],
         "--sparse-embedding needs --optimizer adamw"),
    ],
)  # fmt: skip
def test_range_errors_name_the_flag_and_the_value_typed(tmp_path, capsys, flags, said):
    import re

    out = tmp_path / "run"
    assert main(["finetune", "--train", str(tmp_path / "t.csv"), "--out", str(out), *flags]) == 1
    err = capsys.readouterr().err
    assert err.startswith("vecgraft finetune: error: ") and said in err
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", err)  # no keyword: max_epochs, hf_model, ...
    assert not out.exists()  # refused before the data is read


def test_a_config_file_says_where_the_value_came_from(tmp_path, capsys):
    (tmp_path / "run.yaml").write_text("lr: 0\n", encoding="utf-8")
    args = ["finetune", "--config", str(tmp_path / "run.yaml"), "--out", str(tmp_path / "r")]
    assert main(args) == 1
    assert "run.yaml: lr must be > 0, got 0" in capsys.readouterr().err  # no --lr typed


@pytest.mark.parametrize(
    ("file", "flags", "said"),
    [
        # the file's value was named by a flag not typed, with "> 0" though 0 is no limit
        ("max_length: -5\n", [], "run.yaml: max_length must be >= 0 (0: no limit), got -5"),
        ("patience: -1\n", [], "run.yaml: patience must be >= 0 (0: off), got -1"),
        ("grad_clip: -1\n", [], "run.yaml: grad_clip must be >= 0 (0: off), got -1"),
        ("max_length: 9\n", ["--max-length", "-5"],
         "--max-length must be >= 0 (0: no limit), got -5"),
        ("min_epochs: 9\n", ["--max-epochs", "3"],
         "run.yaml + command line: --max-epochs (3) must be >= min_epochs (9)"),
    ],
)  # fmt: skip
def test_a_config_files_value_is_named_by_its_key_a_flags_by_the_flag(
    tmp_path, capsys, file, flags, said
):
    (tmp_path / "run.yaml").write_text(file, encoding="utf-8")
    args = ["finetune", "--config", str(tmp_path / "run.yaml"), "--out", str(tmp_path / "r")]
    assert main([*args, *flags]) == 1
    assert said in capsys.readouterr().err


def test_finetune_reads_the_rows_the_normalized_rule_picks(tmp_path):
    # finetune reads only the vocabulary's rows of the file (and its first --extend-vocab
    # rows); the `normalized` rule must still find "naive" for "naïve" and "1987" for "1999",
    # as it does with the whole file (tune)
    rows = [("naïve café 1999 plot", "a"), ("great film today", "b")] * 20
    train = write_csv(tmp_path / "train.csv", rows)
    test = write_csv(tmp_path / "test.csv", [("a naïve plot", "a"), ("great today", "b")])
    vectors = tmp_path / "v.txt"
    names = ["the", "naive", "1987", "2024", "cafe", "great", "film", "today", "plot"]
    vectors.write_text("".join(f"{w} {i} 1 0 1\n" for i, w in enumerate(names)), "utf-8")
    out = tmp_path / "run"
    argv = ["finetune", "--train", str(train), "--test", str(test), "--vectors", str(vectors),
            "--model", "boe", "--epochs", "1", "--out", str(out), "--no-progress",
            "--extend-vocab", "0"]  # fmt: skip
    assert main(argv) == 0
    report = json.loads((out / "alignment.json").read_text())
    assert report["counts"]["normalized"] == 3 and report["counts"]["init"] == 0



def _boe_argv(data: dict[str, Path], *extra: str, epochs: str = "3") -> list[str]:
    """A small boe run without the fused linear model: the base of the max_steps tests."""
    return ["finetune", "--train", str(data["train"]), "--test", str(data["test"]),
            "--vectors", str(data["vectors"]), "--model", "boe", "--batch-size", "16",
            "--epochs", epochs, "--no-fuse-linear", "--no-progress", *extra]  # fmt: skip

def test_max_steps_inside_epoch_1_records_the_steps_it_ran(tmp_path, capsys):
    # --max-steps 2 trained, saved and tested 2 steps of epoch 1, yet metrics.json said
    # "epochs_run": 0 and history.json was [] (and no history.png); a cut in a later epoch
    # left that epoch out the same way
    data = make_dataset(tmp_path)
    out = tmp_path / "run"
    argv = _boe_argv(data, "--out", str(out))
    assert main([*argv, "--max-steps", "2"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    per_epoch = -(-metrics["sizes"]["train"] // 16)
    assert per_epoch == 7  # 108 of the 120 rows train (10 % validation)
    # 12 validation rows choose no epoch: the weights tested are the cut epoch 1's
    assert metrics["epochs_run"] == 2 / 7 and metrics["best_epoch"] == 1
    history = json.loads((out / "history.json").read_text())
    assert [{k: row[k] for k in ("epoch", "steps", "steps_per_epoch")} for row in history] == [
        {"epoch": 1, "steps": 2, "steps_per_epoch": 7}
    ]
    assert history[0]["train_loss"] > 0 and history[0]["seconds"] > 0
    # the weights tested are the ones scored: its validation score is theirs
    assert history[0]["valid_accuracy"] == metrics["valid"]["accuracy"]
    assert (out / "history.png").is_file()
    printed = capsys.readouterr().out
    assert "Epoch [1/3] cut by max_steps at step 2 of 7, Loss: " in printed
    assert "Test (30 texts, last epoch 1, cut at step 2 by max_steps): " in printed
    # a cut in epoch 2: one row per finished epoch, then the cut one, as the epochs count
    assert main([*argv, "--max-steps", "9", "--overwrite"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    history = json.loads((out / "history.json").read_text())
    assert metrics["epochs_run"] == 1 + 2 / 7
    assert [(row["epoch"], row.get("steps")) for row in history] == [(1, None), (2, 2)]
    # resumed, the finished run is scored again with the same history (its time unknown)
    capsys.readouterr()
    assert main(["finetune", "--resume", "--out", str(out), "--no-progress"]) == 0
    again = json.loads((out / "history.json").read_text())
    assert again == [history[0], {k: v for k, v in history[1].items() if k != "seconds"}]
    assert json.loads((out / "metrics.json").read_text())["epochs_run"] == 1 + 2 / 7


def test_predict_into_a_file_prints_sparse_plain_progress_lines(run, tmp_path, capsys, monkeypatch):
    # `vecgraft predict run big.csv > labels.txt` printed nothing for minutes; a line every
    # 30 s now (here every batch), on stderr; none for stdin, whose writer sets the pace
    from vecgraft.cli import predict

    _, out = run
    f = tmp_path / "new.txt"
    f.write_text("The striker scored a goal\nNew laptop chip\nBread soup\n" * 3)
    assert main(["predict", str(out), str(f), "--batch-size", "4"]) == 0
    assert capsys.readouterr().err == ""  # quicker than 30 s: no line
    monkeypatch.setattr(predict, "PREDICT_LINE_SECONDS", 0.0, raising=False)
    assert main(["predict", str(out), str(f), "--batch-size", "4"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.split()) == 9
    lines = [ln.rsplit(" (", 1)[0] for ln in captured.err.splitlines()]
    assert lines == ["predicted (texts) 4", "predicted (texts) 8", "predicted (texts) 9"]
    monkeypatch.setattr("sys.stdin", io.StringIO(f.read_text()))
    assert main(["predict", str(out), "-"]) == 0
    assert capsys.readouterr().err == ""


def test_predict_no_progress_writes_no_progress_line(run, tmp_path, capsys, monkeypatch):
    # the "predicted (texts)" lines of a file's answers into a pipe could not be turned off
    from vecgraft.cli import predict

    _, out = run
    f = tmp_path / "new.txt"
    f.write_text("The striker scored a goal\nNew laptop chip\nBread soup\n" * 3)
    monkeypatch.setattr(predict, "PREDICT_LINE_SECONDS", 0.0, raising=False)
    assert main(["predict", str(out), str(f), "--batch-size", "4", "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.split()) == 9 and captured.err == ""


@pytest.mark.parametrize("flag", [None, "--no-progress"])
def test_finetune_piped_load_lines_only_without_no_progress(flag, tmp_path, capsys, monkeypatch):
    # a big vector file read in a pipe writes a plain line every 30 s (here every chunk);
    # --no-progress silenced the epochs but not the load
    from vecgraft.io import _rows, _textparse

    monkeypatch.setattr(_textparse, "BIG_LOAD_BYTES", 0, raising=False)
    monkeypatch.setattr(_rows, "LOAD_LINE_SECONDS", 0.0, raising=False)
    data = make_dataset(tmp_path, train_per_class=10, test_per_class=3)
    argv = ["finetune", "--train", str(data["train"]), "--vectors", str(data["vectors"]),
            "--model", "boe", "--out", str(tmp_path / "r"), "--epochs", "1"]  # fmt: skip
    assert main(argv + ([flag] if flag else [])) == 0
    reading = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("reading ")]
    assert bool(reading) is (flag is None)


def test_a_resume_with_a_larger_max_steps_trains_on_to_it(tmp_path, capsys):
    # --resume --max-steps 9 of a run that --max-steps 2 had finished said "training had
    # finished ... scoring its kept weights again" and trained no further, though max_steps
    # is a setting a resume may change
    from safetensors.torch import load_file

    data = make_dataset(tmp_path)
    out, fresh = tmp_path / "run", tmp_path / "fresh"
    argv = _boe_argv(data, "--schedule", "constant", "--warmup", "0", "--no-plots")
    resume = ["finetune", "--resume", "--out", str(out), "--no-progress"]
    assert main([*argv, "--out", str(out), "--max-steps", "2"]) == 0
    capsys.readouterr()
    # the same cap: the finished run is scored again, as before
    assert main([*resume, "--max-steps", "2"]) == 0
    assert f"{out}: training had finished (epoch 0, step 2)" in capsys.readouterr().out
    assert json.loads((out / "metrics.json").read_text())["epochs_run"] == 2 / 7
    assert main([*resume, "--max-steps", "9"]) == 0
    printed = capsys.readouterr().out
    assert (
        f"Resuming {out} at epoch 1, step 2: training had finished at max_steps 2 and goes "
        "on to max_steps 9; the learning-rate schedule is rebuilt for 9 steps (as a run "
        "started with max_steps 9), from its rate at step 2\n"
    ) in printed
    assert "Epoch [1/3], Loss: " in printed
    assert "Epoch [2/3] cut by max_steps at step 2 of 7, Loss: " in printed
    assert "training had finished (epoch" not in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_run"] == 1 + 2 / 7
    history = json.loads((out / "history.json").read_text())
    assert [(row["epoch"], row.get("steps")) for row in history] == [(1, None), (2, 2)]
    state = json.loads((out / "last" / "state.json").read_text())
    assert (state["global_step"], state["epoch"], state["finished"]) == (9, 1, True)
    # on from the saved step, data order and optimizer state: the weights of a run that
    # trained 9 steps at once (a constant rate: the schedules agree)
    assert main([*argv, "--out", str(fresh), "--max-steps", "9"]) == 0
    resumed, direct = (load_file(str(run / "last" / "model.safetensors")) for run in (out, fresh))
    assert resumed.keys() == direct.keys()
    assert all(torch.equal(resumed[k], direct[k]) for k in resumed)
    assert metrics["test"] == json.loads((fresh / "metrics.json").read_text())["test"]
    # and the same cap once more: scored again, not trained
    assert main([*resume, "--max-steps", "9"]) == 0
    assert f"{out}: training had finished (epoch 1, step 9)" in capsys.readouterr().out


def test_an_interrupted_resume_to_a_larger_max_steps_goes_on_to_it_when_resumed(
    tmp_path, capsys, monkeypatch
):
    # config.json kept the cap the run started with: a resume 2 -> 9 stopped by Ctrl-C at
    # step 5, then `--resume` without --max-steps took the saved 2 and stopped at once
    from vecgraft.finetune.train import Trainer

    data = make_dataset(tmp_path)
    out = tmp_path / "run"
    argv = _boe_argv(data, "--schedule", "constant", "--warmup", "0", "--out", str(out),
                     "--no-plots")  # fmt: skip
    resume = ["finetune", "--resume", "--out", str(out), "--no-progress"]
    assert main([*argv, "--max-steps", "2"]) == 0
    saved = json.loads((out / "config.json").read_text())
    assert saved["max_steps"] == 2
    del saved["compile"]  # as an older run's file, which lacks a later setting
    (out / "config.json").write_text(json.dumps(saved))
    step = Trainer._step

    def ctrl_c_at_5(self, *args, **kwargs):
        if self.state.global_step == 5:
            raise KeyboardInterrupt
        return step(self, *args, **kwargs)

    capsys.readouterr()
    with monkeypatch.context() as patch:
        patch.setattr(Trainer, "_step", ctrl_c_at_5)
        assert main([*resume, "--max-steps", "9", "--plots"]) == 130
    printed = capsys.readouterr().out
    assert f"{out / 'config.json'} now records max_steps 9 (was 2), plots True (was False)\n" in (
        printed
    )
    # only the changed entries: --progress and --out are this command's, not the run's
    assert json.loads((out / "config.json").read_text()) == {
        **saved, "max_steps": 9, "plots": True
    }
    state = json.loads((out / "last" / "state.json").read_text())
    assert (state["global_step"], state["finished"]) == (5, False)
    assert main(resume) == 0
    printed = capsys.readouterr().out
    assert f"Resuming {out} at epoch 1, step 5\n" in printed
    assert "now records" not in printed  # nothing changed
    state = json.loads((out / "last" / "state.json").read_text())
    assert (state["global_step"], state["epoch"], state["finished"]) == (9, 1, True)
    assert json.loads((out / "metrics.json").read_text())["epochs_run"] == 1 + 2 / 7
    assert sorted(p.name for p in out.glob("*.png"))  # the recorded --plots


def test_a_resume_reads_config_json_and_checks_the_lock_no_more_than_needed(
    tmp_path, capsys, monkeypatch
):
    # a resume that trains on read config.json five times (the CLI's settings, the
    # library's resolve_resume, the started max_steps, and twice more to record the new
    # max_steps), its manifest twice per resolve_resume, and the CLI checked the lock twice
    import vecgraft._util.jsonfile as jsonfile
    import vecgraft.finetune.rundir as rundir

    data = make_dataset(tmp_path)
    out = tmp_path / "run"
    assert main(_boe_argv(data, "--out", str(out), "--no-plots", "--max-steps", "2")) == 0
    reads: list[str] = []
    checked: list[str] = []
    read_text, check_free = jsonfile.read_text_file, rundir.check_free

    def counted_read(path, *args, **kwargs):
        reads.append(Path(path).name)
        return read_text(path, *args, **kwargs)

    def counted_check(out, *args, **kwargs):
        checked.append(str(out))
        return check_free(out, *args, **kwargs)

    monkeypatch.setattr(jsonfile, "read_text_file", counted_read)
    monkeypatch.setattr(rundir, "check_free", counted_check)  # the CLI's: imported at use
    capsys.readouterr()
    assert main(["finetune", "--resume", "--out", str(out), "--max-steps", "3"]) == 0
    assert "now records max_steps 3 (was 2)" in capsys.readouterr().out
    # the CLI's, the library's (`finetune(config)` reads it itself), the recipe's
    assert reads.count("config.json") == 3
    assert reads.count("manifest.json") == 4  # CLI and library resolve_resume, recipe, claim
    assert checked == [str(out)]
    assert json.loads((out / "config.json").read_text())["max_steps"] == 3


def test_a_resume_that_only_scores_a_finished_run_records_no_max_steps(tmp_path, capsys):
    # its cap did not apply: config.json saying 1 would misstate the 2 steps it trained
    data = make_dataset(tmp_path)
    out = tmp_path / "run"
    argv = _boe_argv(data, "--out", str(out), "--no-plots", "--max-steps", "2")
    assert main(argv) == 0
    capsys.readouterr()
    assert main(["finetune", "--resume", "--out", str(out), "--max-steps", "1"]) == 0
    printed = capsys.readouterr().out
    assert "now records" not in printed
    # and says so: it said only "training had finished (epoch 0, step 2); scoring ..."
    assert (
        f"{out}: training had finished (epoch 0, step 2); max_steps 1 is below the 2 steps "
        "already trained and has no effect; scoring its kept weights again\n"
    ) in printed
    assert json.loads((out / "config.json").read_text())["max_steps"] == 2


def test_a_resume_with_a_larger_max_steps_steps_on_the_rebuilt_schedule(tmp_path):
    # the optimizer kept the rate the old schedule ended with (0: a linear decay to step 2),
    # so the first step past it did not move the weights; it takes the new schedule's rate
    from safetensors.torch import load_file

    data = make_dataset(tmp_path)
    out = tmp_path / "run"
    argv = _boe_argv(data, "--schedule", "linear", "--warmup", "0", "--out", str(out), "--no-plots")
    assert main([*argv, "--max-steps", "2"]) == 0
    before = load_file(str(out / "last" / "model.safetensors"))
    assert main(["finetune", "--resume", "--out", str(out), "--max-steps", "3"]) == 0
    after = load_file(str(out / "last" / "model.safetensors"))
    assert json.loads((out / "last" / "state.json").read_text())["global_step"] == 3
    moved = [k for k in before if not torch.equal(before[k], after[k])]
    assert moved  # with the old rate of 0, none


def test_a_stopped_run_resumed_with_another_max_steps_says_its_schedule_is_rebuilt(
    tmp_path, capsys, monkeypatch
):
    # `--resume --max-steps 9` of a --max-steps 4 run stopped at step 3 rebuilt its schedule
    # for 9 steps, yet said only "Resuming ... at epoch 1, step 3"; and its first step took
    # the old schedule's rate (a linear decay over 4 steps: 1/4 of the base, not 6/9)
    from vecgraft.finetune.train import Trainer

    data = make_dataset(tmp_path)
    out = tmp_path / "run"
    argv = _boe_argv(data, "--schedule", "linear", "--warmup", "0", "--lr", "0.01", "--out",
                     str(out), "--no-plots")  # fmt: skip
    step = Trainer._step
    rates: list[float] = []  # the rate each step of the resume takes

    def ctrl_c_at_3(self, *args, **kwargs):
        if self.config.max_steps == 4 and self.state.global_step == 3:
            raise KeyboardInterrupt
        rates.append(self.optimizer.param_groups[0]["lr"])
        return step(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "_step", ctrl_c_at_3)
    assert main([*argv, "--max-steps", "4"]) == 130
    capsys.readouterr()
    rates.clear()
    assert main(["finetune", "--resume", "--out", str(out), "--max-steps", "9"]) == 0
    assert (
        f"Resuming {out} at epoch 1, step 3: it started with max_steps 4; the learning-rate "
        "schedule is rebuilt for 9 steps (as a run started with max_steps 9), from its rate "
        "at step 3\n"
    ) in capsys.readouterr().out
    assert rates[0] == pytest.approx(0.01 * 6 / 9)
    assert json.loads((out / "last" / "state.json").read_text())["global_step"] == 9


def test_a_resumed_epoch_s_history_row_counts_the_seconds_trained_in_it_before(tmp_path):
    # the cut epoch's row was replaced on finishing it with one whose "seconds" held only
    # the resumed part (4.4 s of 6.3 + 4.4); last/state.json now keeps the cut part's
    data = make_dataset(tmp_path)
    out = tmp_path / "run"
    argv = _boe_argv(data, "--out", str(out), "--no-plots", epochs="2")
    assert main([*argv, "--max-steps", "2"]) == 0
    cut = json.loads((out / "history.json").read_text())[-1]
    file = out / "last" / "state.json"
    state = json.loads(file.read_text())
    assert (cut["steps"], state["step_in_epoch"]) == (2, 2)
    assert 0 < state["epoch_seconds"] <= cut["seconds"]
    # a known cut part: 100 s
    file.write_text(json.dumps({**state, "epoch_seconds": 100.0}))
    assert main(["finetune", "--resume", "--out", str(out), "--max-steps", "9"]) == 0
    first, second = json.loads((out / "history.json").read_text())
    assert (first["epoch"], "steps" in first, second["steps"]) == (1, False, 2)
    assert 100 < first["seconds"] < 160
    assert second["seconds"] < 60  # the next epoch's own


@pytest.mark.parametrize(
    ("min_valid", "max_steps", "keeps_last", "cut", "best_and_run"),
    [
        # too few validation rows keep the last weights: those of epoch 2, which max_steps 9
        # cut, as the test line said, but metrics.json's best_epoch said 1 (the last finished)
        ("1000", "9", True, "last epoch 2, cut at step 9", (2, 1 + 2 / 7)),
        # restore_best with enough validation rows, but max_steps 2 ends the run before any
        # epoch is scored: its test line said "last epoch 1, cut at step 2" (fit saves the
        # cut weights) while metrics.json's best_epoch said null
        ("1", "2", False, "last epoch 1, cut at step 2", (1, 2 / 7)),
    ],
)
def test_a_run_cut_by_max_steps_records_the_epoch_it_tested(
    tmp_path, capsys, min_valid, max_steps, keeps_last, cut, best_and_run
):
    data = make_dataset(tmp_path)
    out = tmp_path / "run"
    argv = _boe_argv(data, "--out", str(out), "--no-plots", "--min-valid", min_valid,
                     "--max-steps", max_steps)  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert ("keeping the last epoch" in printed) == keeps_last
    assert f"{cut} by max_steps): " in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["best_epoch"], metrics["epochs_run"]) == best_and_run


@pytest.mark.parametrize("spelling", ["utf-8", "utf8", "UTF-8", "UTF8"])
def test_vectors_encoding_utf8_however_spelt_is_the_default_for_an_hf_run(tmp_path, spelling):
    # compared as typed, `--model hf --vectors-encoding utf8` was refused ("only used with
    # --graft-vectors PATH") where utf-8 passed, and a --resume counted it as given
    from vecgraft.cli import build_parser
    from vecgraft.cli.finetune import _config_and_run, _given_fields

    args = build_parser("finetune").parse_args(
        ["finetune", "--train", "t.csv", "--model", "hf", "--hf-model", "m",
         "--out", str(tmp_path / "run"), "--vectors-encoding", spelling]
    )  # fmt: skip
    assert _config_and_run(args)[0].graft_vectors_encoding is None
    assert "graft_vectors_encoding" not in _given_fields(args)
    args.vectors_encoding = "cp852"  # another codec is still given (and needs the vectors)
    assert "graft_vectors_encoding" in _given_fields(args)


def test_no_vectors_encoding_is_not_a_given_graft_vectors_encoding():
    from vecgraft.cli.finetune import _given_fields

    assert "graft_vectors_encoding" not in _given_fields(argparse.Namespace(vectors_encoding=None))


_NO_SPACE = "Error while serializing: I/O error: No space left on device (os error 28)"
_TORCH_POS = "[enforce fail at inline_container.cc:672] . unexpected pos 1777152 vs 1777048"


def _failing_save_model(*args, **kwargs):
    from safetensors import SafetensorError

    raise SafetensorError(_NO_SPACE)


def _failing_torch_save(obj, path, *args, **kwargs):
    raise RuntimeError(_TORCH_POS)


@pytest.mark.parametrize(
    ("writer", "free", "folder", "said"),
    [
        ("save_model", None, "best", "No space left on device"),
        ("torch.save", 0, "last", f"No space left on device ({_TORCH_POS})"),
        # a folder with room: torch's words, not a full disk that is not there
        ("torch.save", 1 << 30, "last", f"could not write ({_TORCH_POS})"),
    ],
)
def test_a_checkpoint_write_that_fails_is_one_line_naming_the_folder(
    tmp_path, capsys, monkeypatch, writer, free, folder, said
):
    # a full disk gave a 40-line traceback (safetensors), or torch's "unexpected pos" that
    # never said the disk was full
    from vecgraft._util import atomic
    from vecgraft.finetune import checkpoint

    if writer == "save_model":
        monkeypatch.setattr(checkpoint, "save_model", _failing_save_model)
    else:
        monkeypatch.setattr(checkpoint.torch, "save", _failing_torch_save)
    if free is not None:
        monkeypatch.setattr(atomic, "_free_bytes", lambda path: free)
    data = make_dataset(tmp_path, train_per_class=10, test_per_class=3)
    out = tmp_path / "r"
    argv = ["finetune", "--train", str(data["train"]), "--vectors", "random", "--model", "boe",
            "--out", str(out), "--epochs", "2", "--no-progress"]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err == f"vecgraft finetune: error: {out / folder}: {said}\n"
    assert not list(out.glob(".*.tmp")) and not (out / folder).exists()


def test_linear_fits_are_announced_with_their_size(tmp_path, capsys):
    # `--model linear` printed nothing while it fitted (104 s on 20k rows of 1000 labels)
    data = make_dataset(tmp_path, train_per_class=20, test_per_class=4)
    out = tmp_path / "r"
    assert main(["finetune", "--train", str(data["train"]), "--test", str(data["test"]),
                 "--model", "linear", "--out", str(out), "--no-plots"]) == 0  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    sizes = json.loads((out / "metrics.json").read_text())["sizes"]
    train, valid = sizes["train"], sizes["valid"]
    start = lines.index(
        f"Fitting the TF-IDF linear model (svm, C 0.5): on the {train:,} training texts "
        f"(judged on the {valid:,} validation rows), then on all {train + valid:,}"
    )
    fits = [line for line in lines if line.startswith("Fitting LinearSVC on ")]
    assert [line.split(" rows x ")[0] for line in fits] == [
        f"Fitting LinearSVC on {train:,}", f"Fitting LinearSVC on {train + valid:,}"
    ]
    assert all(line.endswith(f" TF-IDF features ({len(CLASSES)} classes)") for line in fits)
    assert start < lines.index(fits[0]) < lines.index(fits[1])
    assert lines.index(fits[1]) < next(
        i for i, line in enumerate(lines) if line.startswith("Valid accuracy")
    )
    # the settings in words, not "LinearConfig(..., kind=<LinearKind.SVM: 'svm'>, ...)"
    assert ("Linear model: TF-IDF word 1-2-grams + char 2-5-grams inside words, linear SVM "
            "(C 0.5)") in lines


def test_evaluate_says_a_fused_ensemble_fuses_each_network():
    # an ensemble's line said "the network and the TF-IDF linear model": each member has its own
    from types import SimpleNamespace

    from vecgraft.cli.evaluate import _fused_note

    assert _fused_note(SimpleNamespace(fused=True, members=[1, 2]), "linear model") == (
        " (fused: each network with its TF-IDF linear model)"
    )
    assert _fused_note(SimpleNamespace(fused=True), "ridge regression") == (
        " (fused: the network and the TF-IDF ridge regression)"
    )
    assert _fused_note(SimpleNamespace(fused=False, members=[1]), "linear model") == ""


def _tiny_run_argv(data):
    return ["--train", str(data["train"]), "--test", str(data["test"]), "--vectors", "random",
            "--model", "boe", "--epochs", "1", "--embedding-dim", "8", "--no-progress"]  # fmt: skip


def test_finetune_without_out_writes_the_config_files_out(run, tmp_path, capsys, monkeypatch):
    # `finetune --config best.yaml` (tune's) failed with AttributeError: no args.out
    data, _ = run
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "c.yaml"
    config.write_text(f"out: {tmp_path / 'from_config'}\n", encoding="utf-8")
    assert main(["finetune", "--config", str(config), *_tiny_run_argv(data)]) == 0
    assert (tmp_path / "from_config" / "config.json").is_file()


def test_a_runs_config_json_from_another_folder_names_the_paths_that_work(
    run, tmp_path, capsys, monkeypatch
):
    # config.json keeps the data paths as typed, relative to where the run started (its
    # manifest.json's cwd): `--config RUN/config.json` from elsewhere said only
    # "data/train.csv: no such file or directory"
    data, _ = run
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    (project / "data").mkdir(parents=True)
    elsewhere.mkdir()
    for role in ("train", "test"):
        shutil.copy(data[role], project / "data" / f"{role}.csv")
    monkeypatch.chdir(project)
    tiny = _tiny_run_argv({"train": "data/train.csv", "test": "data/test.csv"})
    assert main(["finetune", *tiny, "--out", "run"]) == 0
    capsys.readouterr()
    monkeypatch.chdir(elsewhere)
    file = project / "run" / "config.json"
    assert main(["finetune", "--config", str(file), "--out", "x"]) == 1
    err = capsys.readouterr().err
    assert (f"error: {file}: train 'data/train.csv', test 'data/test.csv' are relative to the "
            f"folder the run was started from, {project} (per its manifest.json), not to this "
            f"one ({elsewhere}): run from there or pass --train {project / 'data' / 'train.csv'} "
            f"--test {project / 'data' / 'test.csv'}\n") in err  # fmt: skip
    assert not (elsewhere / "x").exists()
    # a path given as a flag is the user's own: only the file's are named
    argv = ["finetune", "--config", str(file), "--out", "x", "--train", str(data["train"])]
    assert main(argv) == 1
    assert f"error: {file}: test 'data/test.csv' is relative" in capsys.readouterr().err
    # from the folder it started in, --config reruns it as before: the same weights
    monkeypatch.chdir(project)
    assert main(["finetune", "--config", "run/config.json", "--out", "again"]) == 0
    for name in ("best/model.safetensors", "fusion/linear.safetensors"):
        assert (project / "again" / name).read_bytes() == (project / "run" / name).read_bytes()


def test_finetune_without_out_writes_the_default_folder(run, tmp_path, capsys, monkeypatch):
    data, _ = run
    monkeypatch.chdir(tmp_path)
    assert main(["finetune", *_tiny_run_argv(data)]) == 0
    assert (tmp_path / "runs" / "finetune" / "config.json").is_file()


def test_a_plain_resume_without_a_run_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["finetune", "--resume", "--no-progress"]) == 1
    said = capsys.readouterr().err
    assert said.startswith("vecgraft finetune: error: ") and "runs/finetune" in said, said


def test_a_checkpoint_folder_as_vectors_is_refused_before_the_data_is_read(tmp_path, capsys):
    # the refusal came once the vocabulary was built, after "Member 1/3 (seed 0):" and
    # "Data: ..." were printed; info, neighbors and intrinsic refuse at once
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "config.json").write_text('{"model_type": "bert"}', encoding="utf-8")
    (ckpt / "model.safetensors").write_bytes(b"")  # only its name is looked at
    rows = [(f"great {w}", "pos") for w in "abcdef"] + [(f"awful {w}", "neg") for w in "abcdef"]
    train = write_csv(tmp_path / "train.csv", rows)
    out = tmp_path / "r"
    argv = ["finetune", "--train", str(train), "--vectors", str(ckpt), "--out", str(out)]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and not out.exists()
    assert captured.err.startswith(
        f"vecgraft finetune: error: {ckpt}: a transformer checkpoint folder"
    )


def test_vectors_whose_move_in_was_killed_are_finished_and_read_not_refused(tmp_path, capsys):
    # a pretrain killed while its files moved in leaves them staged, whole, beside an empty
    # --out; load/info finish the move-in first, but the early folder check refused it
    from vecgraft.io import load, save

    data = make_dataset(tmp_path / "data", train_per_class=8, test_per_class=4)
    vec = tmp_path / "vec"
    vec.mkdir()
    save(load(data["vectors"]), vec / "vectors.safetensors")
    (vec / "metadata.json").write_text("{}")
    staged = tmp_path / ".vec2.new"
    shutil.copytree(vec, staged)
    (staged / ".move-in.json").write_text('{"last": "metadata.json", "stale": []}')
    (tmp_path / "vec2").mkdir()
    data["vectors"] = tmp_path / "vec2"
    assert main([*_boe_argv(data, "--out", str(tmp_path / "r"), epochs="1")]) == 0, (
        capsys.readouterr().err
    )
    assert sorted(p.name for p in (tmp_path / "vec2").iterdir()) == sorted(
        p.name for p in vec.iterdir()
    )
    assert not staged.exists()


def test_a_python_run_after_a_cli_run_in_one_process_records_no_command_line(tmp_path):
    # the command line is held for the CLI call only: a later finetune() from Python in the
    # same process must not record the earlier command as its own
    from vecgraft.finetune.config import FinetuneConfig
    from vecgraft.finetune.run import finetune

    data = make_dataset(tmp_path / "data", train_per_class=8, test_per_class=4)
    cli_out, py_out = tmp_path / "cli", tmp_path / "py"
    assert main(_boe_argv(data, "--out", str(cli_out), epochs="1")) == 0
    cli_env = json.loads((cli_out / "manifest.json").read_text())["environment"]
    assert cli_env["argv"][:2] == ["vecgraft", "finetune"]
    config = FinetuneConfig(train=str(data["train"]), test=str(data["test"]),
                            vectors=str(data["vectors"]), model="boe", out=str(py_out),
                            epochs=1, fuse_linear=False, progress=False)  # fmt: skip
    finetune(config, log=lambda _: None)
    assert "argv" not in json.loads((py_out / "manifest.json").read_text())["environment"]


def test_a_runs_config_with_relative_hf_vectors_from_another_folder_names_them(
    tmp_path, monkeypatch
):
    # `vectors: hf:models/x` missed the hint: no path "hf:models/x" exists from either folder
    from vecgraft.errors import ConfigError
    from vecgraft.finetune.config import FinetuneConfig
    from vecgraft.finetune.run import check_run_config_inputs

    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    (project / "models" / "x").mkdir(parents=True)
    (project / "run").mkdir()
    elsewhere.mkdir()
    (project / "run" / "manifest.json").write_text(json.dumps({"cwd": str(project)}))
    file = project / "run" / "config.json"
    config = FinetuneConfig(train=str(tmp_path / "t.csv"), vectors="hf:models/x", out="x")
    monkeypatch.chdir(elsewhere)
    with pytest.raises(ConfigError) as err:
        check_run_config_inputs(config, file, {"vectors"})
    assert str(err.value).endswith(
        f"vectors 'hf:models/x' is relative to the folder the run was started from, {project} "
        f"(per its manifest.json), not to this one ({elsewhere}): run from there or pass "
        f"--vectors hf:{project / 'models' / 'x'}"
    ), str(err.value)
    monkeypatch.chdir(project)  # from there it is found: no refusal
    check_run_config_inputs(config, file, {"vectors"})
