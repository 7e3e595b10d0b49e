"""Chinese text details: width, traditional -> simplified, mixed text, token modes, n-grams."""

from __future__ import annotations

import numpy as np
import pytest

from vecgraft._util.extras import install_hint
from vecgraft.errors import ConfigError
from vecgraft.text.tokenize import Tokenizer
from vecgraft.text.zh import ZhMode, apply_mode, halfwidth, other_forms, to_simplified


def test_halfwidth_keeps_chinese_punctuation():
    assert halfwidth("ｉＰｈｏｎｅ１２　Ｐｒｏ，售价５９９９元！") == "iPhone12 Pro，售价5999元！"
    assert halfwidth("（注：）？；") == "（注：）？；"  # Chinese punctuation stays full-width
    assert halfwidth("＃＄％＆") == "#$%&"


def test_traditional_to_simplified_with_opencc():
    pytest.importorskip("opencc")
    assert to_simplified("這個軟體的漢字轉換很準確") == "这个软体的汉字转换很准确"
    assert to_simplified("简体不变 ABC 123") == "简体不变 ABC 123"


def test_other_forms_are_only_new_forms():
    pytest.importorskip("opencc")
    assert other_forms("king") == [] and other_forms("电脑") == [] and other_forms("123") == []
    assert other_forms("ＡＰＰ") == [("half-width", "APP")]


def test_other_forms_without_opencc_are_the_half_width_one(monkeypatch: pytest.MonkeyPatch):
    from vecgraft.errors import MissingExtraError

    def missing() -> None:
        raise MissingExtraError(install_hint("zh"))

    monkeypatch.setattr("vecgraft.text.zh._t2s", missing)
    assert other_forms("ＡＰＰ電腦") == [("half-width", "APP電腦")]


def test_other_forms_of_traditional_text():
    pytest.importorskip("opencc")
    assert other_forms("電腦") == [("simplified", "电脑")]
    assert other_forms("ＡＰＰ電腦") == [
        ("half-width", "APP電腦"),
        ("simplified", "ＡＰＰ电脑"),
        ("simplified, half-width", "APP电脑"),
    ]


def test_tokenizer_normalises_traditional_and_fullwidth_text():
    pytest.importorskip("opencc")
    tok = Tokenizer("jieba", halfwidth=True, simplified=True)
    assert tok("我們喜歡ｉＰｈｏｎｅ，價格２０２４元。") == tok("我们喜欢iPhone，价格2024元。")
    assert "iPhone" in tok("我們喜歡ｉＰｈｏｎｅ")
    assert Tokenizer.from_config(tok.config) == tok


def test_mixed_chinese_english_digits_dates_punctuation():
    tok = Tokenizer("jieba")
    tokens = tok("2024年3月5日，我用iPhone 15 Pro拍了3.5GB的视频！don't worry")
    assert tokens[:4] == ["2024", "年", "3", "月"]
    assert {"iPhone", "15", "Pro", "3.5", "GB", "视频", "！", "，", "do", "n't"} <= set(tokens)
    assert " " not in tokens


def test_char_word_and_word_char_modes():
    text = "我们喜欢Python编程"
    assert Tokenizer("jieba")(text) == ["我们", "喜欢", "Python", "编程"]
    assert Tokenizer("jieba", zh_mode="char")(text) == [
        "我",
        "们",
        "喜",
        "欢",
        "Python",
        "编",
        "程",
    ]
    assert Tokenizer("jieba", zh_mode="word+char")(text) == [
        "我们", "我", "们", "喜欢", "喜", "欢", "Python", "编程", "编", "程",
    ]  # fmt: skip
    assert apply_mode(["了"], ZhMode.WORD_CHAR) == ["了"]  # a single character once
    with pytest.raises(ConfigError, match="word, char, word\\+char"):
        Tokenizer("jieba", zh_mode="bigram")
    with pytest.raises(ConfigError, match="only used by the jieba"):
        Tokenizer("regex", zh_mode="char")


def test_fasttext_ngrams_give_unseen_chinese_words_a_vector(tmp_path):
    pytest.importorskip("gensim")
    from vecgraft.pretrain.api import pretrain
    from vecgraft.pretrain.config import PretrainConfig

    corpus = tmp_path / "zh.txt"
    lines = ["我们 喜欢 北京 天安门", "北京 大学 很 好", "天安门 广场 在 北京"] * 30
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = pretrain(
        PretrainConfig(
            method="fasttext",
            corpus=[str(corpus)],
            out=str(tmp_path / "ft"),
            dim=8,
            min_count=1,
            epochs=2,
            workers=1,
            min_n=1,
            max_n=2,
            bucket=1000,
            tokenizer=Tokenizer("whitespace"),
            progress=False,
        )
    )
    vectors = result.vectors
    assert "北京大学" not in vectors.words
    unseen = vectors["北京大学"]  # built from the character n-grams 北 京 大 学 北京 ...
    assert unseen.shape == (8,) and np.isfinite(unseen).all() and np.abs(unseen).sum() > 0


@pytest.mark.parametrize("command", ["finetune", "compare", "tune", "pretrain", "build"])
def test_zh_mode_with_another_tokenizer_names_the_flag_before_the_data_is_read(
    tmp_path, capsys, monkeypatch, command
):
    # finetune said "zh_mode is only used by the jieba tokenizer, not regex" after its
    # "Data:" line (compare after a first cell), naming the keyword, not the flag; the
    # --user-dict error came before the data, with the flag's name
    from vecgraft.cli import main

    monkeypatch.chdir(tmp_path)
    data = tmp_path / "train.csv"
    rows = "".join(f"酒店很好{i},pos\n房间很差{i},neg\n" for i in range(10))
    data.write_text("text,label\n" + rows, encoding="utf-8")
    vectors = tmp_path / "v.txt"
    vectors.write_text("酒店 1 0\n房间 0 1\n", encoding="utf-8")
    argv = {
        "finetune": ["--train", str(data), "--epochs", "1", "--out", "out"],
        "compare": ["--train", str(data), "--sources", "random", "--out", "out"],
        "tune": ["--train", str(data), "--trials", "1", "--out", "out"],
        "pretrain": ["--method", "word2vec", "--corpus", str(data), "--out", "out"],
        "build": ["--corpus", str(data), "--vectors", str(vectors), "--out", "out"],
    }[command]
    assert main([command, *argv, "--tokenizer", "regex", "--zh-mode", "char"]) == 1
    captured = capsys.readouterr()
    assert captured.err.splitlines()[-1] == (
        f"vecgraft {command}: error: "
        + ("compare fine-tuning options: " if command == "compare" else "")
        + "--zh-mode is only used by the jieba tokenizer, not regex"
    )
    assert "Data:" not in captured.out + captured.err and "cell" not in captured.err
    assert not (tmp_path / "out").exists()


def test_the_jieba_only_refusals_share_one_text(tmp_path):
    # written three times (FinetuneConfig, Tokenizer's zh_mode and user_dict): one helper
    from vecgraft.errors import OptionError
    from vecgraft.finetune.config import FinetuneConfig
    from vecgraft.text.tokenize import Tokenizer, zh_mode_needs_jieba

    assert str(zh_mode_needs_jieba("regex")) == \
        "zh_mode is only used by the jieba tokenizer, not regex"  # fmt: skip
    with pytest.raises(OptionError) as by_tokenizer:
        Tokenizer(kind="char", zh_mode="char")
    assert str(by_tokenizer.value) == "zh_mode is only used by the jieba tokenizer, not char"
    with pytest.raises(OptionError) as by_config:
        FinetuneConfig(train="t.csv", tokenizer="regex", zh_mode="char").validate()
    assert str(by_config.value) == "zh_mode is only used by the jieba tokenizer, not regex"
    (tmp_path / "d.txt").write_text("酒店\n", encoding="utf-8")
    with pytest.raises(OptionError) as user_dict:
        Tokenizer(kind="regex", user_dict=tmp_path / "d.txt")
    assert str(user_dict.value) == "user_dict is only used by the jieba tokenizer, not regex"
