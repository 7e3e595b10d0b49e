"""`compare` scores Chinese sources on the CA8 analogy sets, as `vecgraft intrinsic` does.

The fixture's vectors are built by hand so that 3CosAdd's answer to each CA8 line whose
first three words they hold is known: a word and its derived form differ by one relation
direction (reduplication for the morphological lines, province -> opera for the semantic
ones), so `b - a + c` lands on the derived form of `c` unless a decoy is nearer.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from finetune_helpers import write_csv
from vecgraft.cli import main
from vecgraft.evaluate.compare import _intrinsic
from vecgraft.vectors import Vectors

MORPH, SEMANTIC = "CA8 morphological acc", "CA8 semantic acc"


def _ca8_vectors() -> Vectors:
    """Hand-made Chinese vectors: 1 of 3 morphological and 2 of 3 semantic lines solved.

    ca8_morphological.txt lines 2, 3, 32 (A: 避 避一避 补 补一补; 避 避一避 猜 猜一猜;
    补 补一补 猜 猜一猜) have their first three words here: line 2 is solved (补一补 scores
    1/2 + 1/√2 against at most 1/2), lines 3 and 32 are seen but wrong (猜一猜 is unknown;
    CA8's rules count them, gensim's would skip them). ca8_semantic.txt lines 2, 3, 10
    (geography: 广东 粤剧 浙江 越剧; 广东 粤剧 北京 京剧; 浙江 越剧 北京 京剧): 越剧 is not
    built on 浙江, and the decoy 西湖 (浙江's own direction) scores 1 against 越剧's 1/2 on
    line 2; lines 3 and 10 find 京剧 (1/2 + 1/√2).
    """
    dim = 10
    basis = np.eye(dim, dtype=np.float32)
    reduplicated, opera = basis[8], basis[9]
    rows = {
        "避": basis[0], "避一避": basis[0] + reduplicated,
        "补": basis[1], "补一补": basis[1] + reduplicated,
        "猜": basis[2],
        "广东": basis[3], "粤剧": basis[3] + opera,
        "浙江": basis[4], "越剧": basis[5] + opera, "西湖": basis[4],
        "北京": basis[6], "京剧": basis[6] + opera,
    }  # fmt: skip
    return Vectors(list(rows), np.stack(list(rows.values())))


def test_chinese_vectors_score_ca8_accuracy_with_its_rules() -> None:
    scores = _intrinsic(_ca8_vectors())
    assert list(scores) == ["ca8-morphological", "ca8-semantic"]  # no English set
    morph, semantic = scores["ca8-morphological"], scores["ca8-semantic"]
    assert (morph["correct"], morph["total"], morph["questions"]) == (1, 3, 10177)
    assert morph["accuracy"] == pytest.approx(1 / 3)
    assert (semantic["correct"], semantic["total"], semantic["questions"]) == (2, 3, 7636)
    assert semantic["accuracy"] == pytest.approx(2 / 3)
    # the conventions `vecgraft intrinsic --lang zh` uses: CA8's, 3CosAdd, every row
    assert morph["convention"] == "ca8" and morph["method"] == "3cosadd"
    assert morph["restrict_vocab"] is None
    assert [(s["section"], s["correct"], s["total"]) for s in semantic["sections"]] == [
        ("geography", 2, 3), ("nature", 0, 0), ("history", 0, 0), ("people", 0, 0)
    ]  # fmt: skip


def _task(root: Path) -> dict[str, Path]:
    """A tiny Chinese task in the fixture's words, and the fixture as a word2vec text file."""
    root.mkdir(parents=True, exist_ok=True)
    vectors = _ca8_vectors()
    lines = [f"{len(vectors)} {vectors.dim}"] + [
        w + " " + " ".join(f"{x:g}" for x in row) for w, row in zip(vectors.words, vectors.matrix)
    ]
    (root / "zh.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    good, bad = ["避", "补", "广东", "粤剧", "补一补", "京剧"], ["猜", "浙江", "越剧", "西湖"]
    rows = [(f"{a} {b}", label) for label, words in (("pos", good), ("neg", bad))
            for a in words for b in words if a != b]  # fmt: skip
    return {
        "train": write_csv(root / "train.csv", rows[::2]),
        "test": write_csv(root / "test.csv", rows[1::2]),
        "vectors": root / "zh.txt",
    }


def _compare(task: dict[str, Path], out: Path, *extra: str) -> dict[str, object]:
    argv = ["compare", "--train", str(task["train"]), "--test", str(task["test"]),
            "--sources", f"zh={task['vectors']}", "--seeds", "1", "--model", "boe",
            "--epochs", "1", "--tokenizer", "whitespace", "--no-linear", "--set", "plots=false",
            "--set", "progress=false", "--out", str(out), *extra]  # fmt: skip
    assert main(argv) == 0
    data: dict[str, object] = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    return data


def test_compare_reports_ca8_as_intrinsic_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task = _task(tmp_path / "task")
    data = _compare(task, tmp_path / "out")
    printed = capsys.readouterr().out
    (zh,) = data["sources"]  # type: ignore[misc]
    assert data["settings"]["intrinsic_sets"] == [  # type: ignore[index]
        "wordsim353", "simlex999", "ca8-morphological", "ca8-semantic"
    ]  # fmt: skip
    # the same numbers as `vecgraft intrinsic --lang zh` on the same file
    assert main(["intrinsic", str(task["vectors"]), "--json", str(tmp_path / "i.json")]) == 0
    alone = json.loads((tmp_path / "i.json").read_text(encoding="utf-8"))["analogies"]
    assert [a["dataset"] for a in alone] == list(zh["intrinsic"])
    for mine, theirs in zip(zh["intrinsic"].values(), alone):
        assert {k: v for k, v in mine.items() if k != "seconds"} == {
            k: v for k, v in theirs.items() if k not in ("seconds", "dataset")
        }
    # the console and the report name the set in each score's header; the console says
    # the counts in words: "33.33% (3/10177, low)" read as 3 right of 10,177 questions,
    # where 3 were the questions answerable and 1 the right ones
    answerable = "questions answerable with these vectors"
    assert (f"source zh: {MORPH} 33.33%: 1 right of 3 {answerable} (10,177 in the set; low "
            f"coverage), {SEMANTIC} 66.67%: 2 right of 3 {answerable} (7,636 in the set; low "
            "coverage)") in printed  # fmt: skip
    assert "(3/10177" not in printed
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    header = next(line for line in report.splitlines() if line.startswith("| source | spec"))
    assert f"| {MORPH} | {SEMANTIC} |" in header and "WordSim353" not in header
    row = next(line for line in report.splitlines() if line.startswith("| zh | zh="))
    assert "| 33.33% (3/10177, low) | 66.67% (3/7636, low) |" in row
    assert f"zh: {MORPH} on 3 of its 10177 questions (0.0%)" in report


def test_no_intrinsic_skips_ca8(tmp_path: Path) -> None:
    data = _compare(_task(tmp_path / "task"), tmp_path / "out", "--no-intrinsic")
    (zh,) = data["sources"]  # type: ignore[misc]
    assert zh["intrinsic"] is None and data["settings"]["intrinsic_sets"] == []  # type: ignore[index]
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "CA8" not in report and "| WordSim353 ρ | SimLex-999 ρ |" in report  # as before


def test_report_columns_follow_the_sets_scored() -> None:
    from vecgraft.evaluate.report import _intrinsic_columns

    english = {"intrinsic": {"wordsim353": {"spearman": 0.5}, "simlex999": {"spearman": 0.3}}}
    chinese = {"intrinsic": _intrinsic(_ca8_vectors())}
    old_chinese = {"intrinsic": {"skipped": "Chinese vectors: ..."}}  # an earlier compare.json
    ca8, sims = ["ca8-morphological", "ca8-semantic"], ["wordsim353", "simlex999"]
    assert _intrinsic_columns([english, chinese]) == sims + ca8
    assert _intrinsic_columns([chinese, {"intrinsic": None}]) == ca8
    for sources in ([english], [old_chinese], [{"intrinsic": None}], []):
        assert _intrinsic_columns(sources) == sims  # as before CA8 was scored
