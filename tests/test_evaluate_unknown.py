"""`evaluate` says when most tokens of the scored file are unknown to the run's vocabulary."""

from __future__ import annotations

from pathlib import Path

import pytest

from finetune_helpers import make_dataset, write_csv
from vecgraft.cli import main
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.predict import load_run
from vecgraft.finetune.run import finetune
from vecgraft.finetune.unknown import UnknownTokens, count_unknown


def test_count_unknown_counts_tokens_and_names_the_commonest() -> None:
    vocab = {"good", "film"}
    report = count_unknown(str.split, vocab, ["good film", "bon film", "bon bon good"])
    assert (report.texts, report.tokens, report.unknown) == (3, 7, 3)
    assert report.examples == ["bon"] and report.traditional is None
    assert report.share == pytest.approx(3 / 7)


def test_the_warning_needs_half_the_tokens_unknown_and_enough_tokens() -> None:
    assert UnknownTokens(texts=10, tokens=99, unknown=99).warning("x.csv") is None
    assert UnknownTokens(texts=10, tokens=200, unknown=99).warning("x.csv") is None
    line = UnknownTokens(texts=10, tokens=200, unknown=150, examples=["bon", "très"]).warning(
        "x.csv"
    )
    assert line == (
        "WARNING: x.csv: 75% of the tokens of its first 10 texts are not in the run's "
        "vocabulary (such as bon, très) and read as the unknown word; text in another "
        "language, script or segmentation than the training texts scores near chance"
    )


def test_invisible_examples_are_shown_escaped() -> None:
    """Big5 text read as GB18030 gives private-use characters: the warning listed them as
    blanks, "(such as , , , 琌, )"; a token holding a comma or a space blurred the list."""
    examples = ["\ue4c7", "\ue5e3", "琌", "a, b", "\u200b"]
    line = UnknownTokens(texts=3, tokens=200, unknown=150, examples=examples).warning("b.csv")
    assert line is not None
    assert "(such as '\\ue4c7', '\\ue5e3', 琌, 'a, b', '\\u200b') and read as" in line


def test_traditional_unknown_words_add_the_simplified_hint() -> None:
    pytest.importorskip("opencc")
    vocab = {"这个", "东西", "很好"}
    texts = ["這個 東西 很好"] * 60  # two of three tokens traditional twins of known words
    report = count_unknown(str.split, vocab, texts)
    assert report.traditional == 1.0 and report.share == pytest.approx(2 / 3)
    line = report.warning("zh.csv")
    assert line is not None and line.endswith(
        ". 100% of the unknown Chinese words are traditional: convert the texts to simplified "
        "(OpenCC t2s) or retrain with --simplified"
    )


def test_traditional_words_are_said_at_a_lower_share() -> None:
    # ChnSentiCorp's test reviews in traditional characters: 35 % unknown, 91 % of those
    # traditional; a third unknown without traditional words is not warned about
    trad = UnknownTokens(texts=776, tokens=1000, unknown=350, examples=["房間"], traditional=0.9)
    line = trad.warning("t.csv")
    assert line == (
        "WARNING: t.csv: 35% of the tokens of its first 776 texts are not in the run's "
        "vocabulary (such as 房間) and read as the unknown word. 90% of the unknown Chinese "
        "words are traditional: convert the texts to simplified (OpenCC t2s) or retrain with "
        "--simplified"
    )
    assert UnknownTokens(texts=776, tokens=1000, unknown=140, traditional=0.9).warning("t") is None
    assert UnknownTokens(texts=776, tokens=1000, unknown=350, traditional=0.1).warning("t") is None
    assert UnknownTokens(texts=776, tokens=1000, unknown=350).warning("t") is None


def test_evaluate_warns_on_foreign_text_and_not_on_its_own(tmp_path: Path, capsys) -> None:
    data = make_dataset(tmp_path / "task", train_per_class=12, test_per_class=4)
    run = tmp_path / "run"
    config = FinetuneConfig(train=str(data["train"]), test=str(data["test"]), out=str(run),
                            model="boe", epochs=1, plots=False, progress=False)  # fmt: skip
    finetune(config, log=lambda _m: None)
    predictor = load_run(run)
    labels = predictor.labels
    foreign = write_csv(tmp_path / "fr.csv", [("le film est très bon et drôle", labels[0]),
                                              ("la cuisine est mauvaise ce soir", labels[1])]
                        * 15)  # fmt: skip
    assert main(["evaluate", str(run), "--data", str(data["test"])]) == 0
    assert "WARNING" not in capsys.readouterr().err
    assert main(["evaluate", str(run), "--data", str(foreign)]) == 0
    err = capsys.readouterr().err
    assert f"WARNING: {foreign}: 100% of the tokens of its first 30 texts are not in" in err
    predictor.evaluate(foreign)
    assert predictor.last_unknown.tokens == 195 and predictor.last_unknown.unknown == 195
    # predict judges the first chunk of its input the same way, once
    texts = tmp_path / "fr.txt"
    texts.write_text("le film est très bon et drôle ce soir\n" * 20, encoding="utf-8")
    assert main(["predict", str(run), str(texts)]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("WARNING") == 1 and len(captured.out.splitlines()) == 20
    assert f"WARNING: {texts}: 100% of the tokens of its first 20 texts" in captured.err
    assert main(["predict", str(run), str(data["test"])]) == 0
    assert "WARNING" not in capsys.readouterr().err
