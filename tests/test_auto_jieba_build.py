"""`build` and `pretrain` segment a Chinese corpus with jieba when no tokenizer is named.

Why: as finetune did before it chose jieba, both kept the regex rule without --tokenizer:
build warned, then built a vocabulary of whole clauses (300 reviews: 1,961 tokens), and
pretrain trained vectors of clauses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from finetune_helpers import write_csv, write_vectors
from vecgraft._util.extras import install_hint
from vecgraft.cli import main

pytest.importorskip("rjieba")

NOTE = "Tokenizer: jieba (the corpus is Chinese; --tokenizer regex keeps the regex rules)"
UNSEGMENTED = "the texts are Chinese, but the regex tokenizer does not segment them"
CLAUSES = ["酒店位置很好，房间非常干净", "服务态度很好，早餐品种丰富", "房间非常脏乱，服务态度很差",
           "酒店设施太差，位置也不方便"]  # fmt: skip
ENGLISH = ["the room was clean and quiet", "the staff were rude and slow"]
PRETRAIN = ["--method", "word2vec", "--dim", "8", "--min-count", "1", "--epochs", "1",
            "--workers", "1", "--no-progress"]  # fmt: skip


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _build(tmp_path: Path, texts: list[str], *flags: str) -> Path:
    """`vecgraft build` on a CSV of `texts`: its output folder."""
    corpus = write_csv(tmp_path / "corpus.csv", [(text, "x") for text in texts * 3])
    out = tmp_path / "emb"
    assert main(["build", "--corpus", str(corpus), "--text-column", "text", "--vectors",
                 str(write_vectors(tmp_path / "v.txt")), "--out", str(out), "--no-cache",
                 *flags]) == 0  # fmt: skip
    return out


def _recorded(out: Path) -> tuple[str, str]:
    """The tokenizer kind build recorded in vocab.json and in report.json."""
    vocab, report = _json(out / "vocab.json"), _json(out / "report.json")
    return vocab["metadata"]["tokenizer"]["kind"], report["metadata"]["tokenizer"]["kind"]


def test_build_segments_a_chinese_corpus_with_jieba(tmp_path: Path, capsys: Any) -> None:
    out = _build(tmp_path, CLAUSES)
    err = capsys.readouterr().err
    assert f"{NOTE}\n" in err and UNSEGMENTED not in err
    assert _recorded(out) == ("jieba", "jieba")
    assert "房间" in _json(out / "vocab.json")["tokens"]  # words, not clauses


def test_build_keeps_a_named_regex_and_its_warning(tmp_path: Path, capsys: Any) -> None:
    out = _build(tmp_path, CLAUSES, "--tokenizer", "regex")
    err = capsys.readouterr().err
    assert NOTE not in err and f"warning: {UNSEGMENTED}" in err
    assert _recorded(out) == ("regex", "regex")


def test_build_on_english_says_nothing_of_the_tokenizer(tmp_path: Path, capsys: Any) -> None:
    out = _build(tmp_path, ENGLISH)
    assert "Tokenizer:" not in capsys.readouterr().err
    assert _recorded(out) == ("regex", "regex")


def _pretrain(tmp_path: Path, texts: list[str], name: str, *flags: str) -> dict[str, Any]:
    """metadata.json of `vecgraft pretrain` (word2vec) on a line corpus of `texts`."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(texts * 5) + "\n", encoding="utf-8")
    out = tmp_path / name
    assert main(["pretrain", "--corpus", str(corpus), "--out", str(out), *PRETRAIN, *flags]) == 0
    return dict(_json(out / "metadata.json"))


def test_pretrain_segments_a_chinese_corpus_as_tokenizer_jieba(
    tmp_path: Path, capsys: Any
) -> None:
    chosen = _pretrain(tmp_path, CLAUSES, "auto")
    err = capsys.readouterr().err
    assert err.count(NOTE) == 1 and UNSEGMENTED not in err
    named = _pretrain(tmp_path, CLAUSES, "named", "--tokenizer", "jieba")
    assert NOTE not in capsys.readouterr().err
    assert chosen["tokenizer"]["kind"] == "jieba"
    assert chosen["tokenizer"] == named["tokenizer"]  # word+char: word2vec's small-corpus rule
    assert chosen["tokenizer"]["zh_mode"] == "word+char"
    assert chosen["zh_mode_chosen"] == named["zh_mode_chosen"]
    assert chosen["tokenizer_chosen"] == "the corpus is Chinese"
    assert "tokenizer_chosen" not in named
    assert chosen["vocab_size"] == named["vocab_size"]


def test_pretrain_keeps_an_explicit_zh_mode_with_the_chosen_jieba(tmp_path: Path) -> None:
    meta = _pretrain(tmp_path, CLAUSES, "word", "--zh-mode", "word")
    assert meta["tokenizer"]["kind"] == "jieba" and meta["tokenizer"]["zh_mode"] == "word"
    assert "zh_mode_chosen" not in meta


def test_pretrain_keeps_a_named_regex_and_english_as_they_were(
    tmp_path: Path, capsys: Any
) -> None:
    regex = _pretrain(tmp_path, CLAUSES, "regex", "--tokenizer", "regex")
    err = capsys.readouterr().err
    assert NOTE not in err and f"warning: {UNSEGMENTED}" in err
    assert regex["tokenizer"]["kind"] == "regex" and "tokenizer_chosen" not in regex
    english = _pretrain(tmp_path, ENGLISH, "en")
    assert "Tokenizer:" not in capsys.readouterr().err
    assert english["tokenizer"]["kind"] == "regex" and "tokenizer_chosen" not in english
    assert "zh_mode_chosen" not in english


@pytest.mark.parametrize("method", ["word2vec", "fasttext", "glove"])
def test_pretrain_says_the_jieba_choice_before_training(
    tmp_path: Path, capsys: Any, method: str
) -> None:
    """It was printed from metadata.json once pretrain returned, after every epoch."""
    corpus = write_csv(tmp_path / "zh.csv", [(text, "x") for text in CLAUSES * 5])
    assert main(["pretrain", "--method", method, "--corpus", str(corpus), "--out",
                 str(tmp_path / method), "--dim", "8", "--min-count", "1", "--epochs", "2",
                 "--workers", "1", "--bucket", "100"]) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert err.count(NOTE) == 1
    assert err.index(NOTE) < err.index(f"{method} epoch 1/2"), err


def test_pretrain_config_without_a_tokenizer_chooses_jieba(tmp_path: Path) -> None:
    from vecgraft.pretrain import PretrainConfig, pretrain

    corpus = tmp_path / "zh.txt"
    corpus.write_text("\n".join(CLAUSES * 5) + "\n", encoding="utf-8")
    config = PretrainConfig("word2vec", [str(corpus)], str(tmp_path / "out"), dim=8,
                            min_count=1, epochs=1, workers=1, progress=False)  # fmt: skip
    result = pretrain(config)
    assert result.metadata["tokenizer"]["kind"] == "jieba"
    assert result.metadata["tokenizer"]["zh_mode"] == "word+char"
    assert config.tokenizer is None  # the caller's config is left as given


def test_pretrain_takes_zh_mode_char_with_the_chosen_jieba(tmp_path: Path) -> None:
    # was refused: the tokenizer was built as regex, with char, before jieba was chosen
    meta = _pretrain(tmp_path, CLAUSES, "char", "--zh-mode", "char")
    assert meta["tokenizer"]["kind"] == "jieba" and meta["tokenizer"]["zh_mode"] == "char"
    assert meta["tokenizer_chosen"] == "the corpus is Chinese"


def test_pretrain_refuses_zh_mode_on_an_english_corpus_naming_why(
    tmp_path: Path, capsys: Any
) -> None:
    corpus = tmp_path / "en.txt"
    corpus.write_text("\n".join(ENGLISH * 5) + "\n", encoding="utf-8")
    code = main(["pretrain", "--corpus", str(corpus), "--out", str(tmp_path / "en"), *PRETRAIN,
                 "--zh-mode", "char"])  # fmt: skip
    assert code != 0
    said = ("zh_mode 'char' is only used by the jieba tokenizer, and with no tokenizer named "
            "this corpus gets regex: the corpus is not Chinese (its first texts); name the "
            "tokenizer (--tokenizer jieba) or leave zh_mode out")  # fmt: skip
    assert said in capsys.readouterr().err


def _zh_config(tmp_path: Path) -> Any:
    from vecgraft.pretrain import PretrainConfig

    corpus = tmp_path / "zh.txt"
    corpus.write_text("\n".join(CLAUSES * 5) + "\n", encoding="utf-8")
    return PretrainConfig("word2vec", [str(corpus)], str(tmp_path / "out"), dim=8,
                          min_count=1, epochs=1, workers=1, progress=False)  # fmt: skip


def test_pretrain_api_prints_nothing_of_its_choice(tmp_path: Path, capsys: Any) -> None:
    from vecgraft.pretrain import pretrain

    result = pretrain(_zh_config(tmp_path))
    assert capsys.readouterr() == ("", "")  # the CLI says it, from the library's log
    assert result.metadata["tokenizer_chosen"] == "the corpus is Chinese"


def test_pretrain_without_jieba_keeps_regex_recorded_and_said_by_the_cli(
    tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vecgraft.pretrain import pretrain
    from vecgraft.text import unspaced

    monkeypatch.setattr(unspaced, "jieba_installed", lambda: False)
    with pytest.warns(UserWarning, match=UNSEGMENTED):
        result = pretrain(_zh_config(tmp_path))
    assert capsys.readouterr() == ("", "")
    assert result.metadata["jieba_not_installed"] == "the corpus is Chinese"
    assert result.metadata["tokenizer"]["kind"] == "regex"
    assert "tokenizer_chosen" not in result.metadata
    _pretrain(tmp_path, CLAUSES, "cli")
    assert ("Tokenizer: regex (the corpus is Chinese, but jieba, which would segment them, is "
            f"not installed: {install_hint('zh')})\n") in capsys.readouterr().err  # fmt: skip


def test_the_chinese_sample_is_bounded_in_characters() -> None:
    from itertools import repeat

    from vecgraft.text.unspaced import chinese_sample

    # a book read whole (--one-per file) gives its first 2,000 characters
    assert [len(text) for text in chinese_sample(["好" * 50_000, "ok"])] == [2000, 2]
    # endless texts of 1,500 characters: the sample stops at 2,000,000 characters
    sample = chinese_sample(repeat("好" * 1500))
    assert len(sample) == 1334 and sum(map(len, sample)) == 2_001_000
    assert len(chinese_sample(repeat("ok"))) == 5000  # short texts: the first 5,000 as before


def test_the_bounded_sample_keeps_the_verdict_on_the_fixtures() -> None:
    from vecgraft.text.unspaced import chinese_sample, texts_are_chinese

    for texts, chinese in ((CLAUSES * 3, True), (ENGLISH * 3, False), (CLAUSES + ENGLISH, True)):
        assert texts_are_chinese(chinese_sample(iter(texts))) is texts_are_chinese(texts) is chinese


def test_the_chinese_share_is_said_where_well_under_all_rows() -> None:
    # a corpus of 38% Chinese rows was said to be "Chinese"; Japanese rows are not Chinese
    from vecgraft.text.unspaced import chinese_why, chinese_word_share

    mixed = ["酒店很好"] * 38 + ["fine"] * 60 + ["ホテルは良い"] * 2
    share = chinese_word_share(mixed)
    assert chinese_why(mixed, "the corpus is Chinese", "the corpus's texts", share) == (
        "38% of the corpus's texts are Chinese"
    )
    mostly = ["酒店很好"] * 9 + ["ok"]
    assert chinese_why(mostly, "the corpus is Chinese", "x", chinese_word_share(mostly)) == (
        "the corpus is Chinese"
    )


def test_a_chinese_share_that_rounds_to_0_percent_says_what_chose_jieba() -> None:
    # one long Chinese text among 299 English ones: "0% of the training texts are Chinese",
    # and jieba chosen, which weighs the words' characters (37% Chinese here)
    from vecgraft.text.unspaced import chinese_why, chinese_word_share, texts_are_chinese

    texts = ["中文" * 3000] + ["the hotel was fine and the staff were kind"] * 299
    assert texts_are_chinese(texts)
    share = chinese_word_share(texts)
    assert chinese_why(texts, "the training texts are Chinese", "the training texts",
                       share) == ("under 1% of the training texts are Chinese, but 37% of "
                                  "their words' characters are")  # fmt: skip
    # 1 of 150 rounds to 1%: said as before
    assert chinese_why(texts[:150], "the corpus is Chinese", "x",
                       share) == "1% of x are Chinese"  # fmt: skip


def test_jieba_is_chosen_and_said_from_one_tokenizing_of_the_sample(monkeypatch) -> None:
    # the share said where the Chinese rows round to 0% was counted again: the whole
    # sample tokenized a second time, for a number the verdict had already computed
    from vecgraft.finetune import text_settings
    from vecgraft.text import tokenize

    made: list[str] = []
    real = tokenize.Tokenizer

    def counted(kind: str, *args, **kw):
        made.append(kind)
        return real(kind, *args, **kw)

    monkeypatch.setattr(tokenize, "Tokenizer", counted)
    said: list[str] = []
    texts = ["中文" * 3000] + ["the hotel was fine and the staff were kind"] * 299
    monkeypatch.setattr(text_settings, "jieba_for_chinese", lambda why, log: log(why) or True)
    assert text_settings.jieba_for(texts, said.append) is True
    assert said == ["under 1% of the training texts are Chinese, but 37% of their words' "
                    "characters are"]  # fmt: skip
    assert made == ["regex"]
