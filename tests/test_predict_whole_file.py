"""`vecgraft predict` on a file with a row it cannot read: no answer at all, not a prefix.

Answered as it was read, a JSON Lines file with a bad line 801 printed 768 labels and
then exited 1: a pipeline kept a short, misaligned answer file. A file is read through
before its first answer; stdin is answered as it comes and stops at its bad line.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from finetune_helpers import write_csv
from vecgraft.cli import main


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small linear run (seconds)."""
    root = tmp_path_factory.mktemp("predict_whole")
    rows = [(f"{w} film {i}", label) for i, (w, label) in
            enumerate([("wonderful", "pos"), ("awful", "neg")] * 10)]  # fmt: skip
    train = write_csv(root / "train.csv", rows)
    run = root / "run"
    assert main(["finetune", "--train", str(train), "--out", str(run), "--model", "linear",
                 "--no-plots"]) == 0  # fmt: skip
    return run


def _failed(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[str, str]:
    capsys.readouterr()
    assert main(argv) == 1
    captured = capsys.readouterr()
    return captured.out, captured.err


def test_a_bad_jsonl_row_after_several_batches_prints_no_answer(run_dir, tmp_path, capsys):
    lines = ['{"text": "wonderful film"}'] * 7 + ['{"text": 12345}', '{"text": "awful"}']
    jsonl = tmp_path / "odd.jsonl"
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out, err = _failed(capsys, ["predict", str(run_dir), str(jsonl), "--batch-size", "2"])
    assert out == ""  # it printed the 6 answers of the first 3 batches, then failed
    assert err == (
        f"vecgraft predict: error: {jsonl}:8: text is not a string: field 'text' holds int; "
        "every row of a table gets one answer, so a row that cannot be read stops the "
        "command\n")  # fmt: skip


def test_proba_prints_no_header_before_a_bad_row_and_a_header_for_no_texts(
    run_dir, tmp_path, capsys
):
    # --proba printed its header line, then failed: a header-only output file
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "wonderful film"}\n{"text": "awful\n', encoding="utf-8")
    out, err = _failed(capsys, ["predict", str(run_dir), str(bad), "--proba"])
    assert out == ""
    assert "bad.jsonl:2: not a JSON object (not valid JSON: Unterminated string starting " \
        "at column 10)" in err  # fmt: skip
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    assert main(["predict", str(run_dir), str(empty), "--proba"]) == 0
    assert capsys.readouterr().out.splitlines()[0].split("\t")[0] == "label"


def test_a_ragged_csv_row_after_several_batches_prints_no_answer(run_dir, tmp_path, capsys):
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("label,text\n" + "?,wonderful\n" * 6 + "awful\n?,awful\n",
                      encoding="utf-8")  # fmt: skip
    out, err = _failed(capsys, ["predict", str(run_dir), str(ragged), "--batch-size", "2"])
    assert out == ""
    assert err.startswith(f"vecgraft predict: error: {ragged}:8: too few fields (1 of 2")


def test_a_bad_line_of_a_text_file_prints_no_answer(run_dir, tmp_path, capsys):
    texts = tmp_path / "new.txt"
    texts.write_bytes(b"wonderful\n" * 20_000 + b"caf\xe9\nawful\n")  # past a 64 KiB read
    out, err = _failed(capsys, ["predict", str(run_dir), str(texts)])
    assert out == ""
    assert err.startswith(f"vecgraft predict: error: {texts}:20001: invalid UTF-8")


def test_a_good_file_is_answered_once_with_its_notes_once(run_dir, tmp_path, capsys):
    texts = tmp_path / "new.txt"
    texts.write_bytes(b"wonderful\ncaf\xe9\nawful\n")
    capsys.readouterr()
    argv = ["predict", str(run_dir), str(texts), "--batch-size", "2", "--errors", "replace"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[::2] == ["pos", "neg"]
    assert len(captured.out.splitlines()) == 3
    assert captured.err.count("note:") == 1


class _Trickle(io.RawIOBase):
    """Input that comes a line per read, as a pipe's writer sends it."""

    def __init__(self, data: bytes) -> None:
        self.lines = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        line = self.lines.readline(len(buffer))
        buffer[: len(line)] = line
        return len(line)


def test_stdin_is_answered_as_read_and_stops_at_its_bad_line(run_dir, monkeypatch, capsys):
    data = b"wonderful\nawful\nwonderful\ncaf\xe9\nawful\n"
    stdin = io.TextIOWrapper(io.BufferedReader(_Trickle(data)))
    monkeypatch.setattr(sys, "stdin", stdin)
    out, err = _failed(capsys, ["predict", str(run_dir), "-", "--batch-size", "2"])
    assert out == "pos\nneg\n"  # the batch before the bad line: live input is not held back
    assert err.startswith("vecgraft predict: error: <stdin>:4: invalid UTF-8")


def test_flags_between_run_dir_and_file(run_dir, tmp_path, capsys, monkeypatch):
    # `predict RUN --proba FILE` failed: "unrecognized arguments: FILE" (argparse had
    # filled FILE, empty, at RUN); `predict --proba RUN FILE` worked
    texts = tmp_path / "texts.txt"
    texts.write_text("wonderful film\nawful film\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["predict", "--proba", str(run_dir), str(texts)]) == 0
    before = capsys.readouterr().out
    assert main(["predict", str(run_dir), "--proba", str(texts)]) == 0
    after = capsys.readouterr().out
    assert after == before and after.splitlines()[0] == "label\tneg\tpos"
    assert main(["predict", str(run_dir), "--batch-size", "1", str(texts)]) == 0
    assert capsys.readouterr().out == "pos\nneg\n"
    # stdin named '-' after a flag, as FILE after a flag: it was "unrecognized arguments: -"
    monkeypatch.setattr("sys.stdin", io.StringIO("wonderful film\nawful film\n"))
    assert main(["predict", str(run_dir), "--proba", "-"]) == 0
    assert capsys.readouterr().out == before


def test_a_second_file_is_refused(run_dir, tmp_path, capsys):
    texts = tmp_path / "texts.txt"
    texts.write_text("wonderful film\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["predict", str(run_dir), str(texts), "--proba", "other.csv"]) == 2
    err = capsys.readouterr().err
    assert err == "vecgraft predict: error: unrecognized arguments: other.csv (one FILE at most)\n"
