"""Scripts written without spaces, read whole by the regex tokenizer: the warning names them.

A Japanese or Thai text read by the regex tokenizer is a few clause-long tokens, nearly each
seen once; the warning must name the script and say what segments it (jieba only for
Chinese), and stay quiet for Korean (written with spaces) and for a little Chinese in English.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from finetune_helpers import write_csv
from unspaced_helpers import review_rows
from vecgraft.cli import main
from vecgraft.errors import UnsegmentedTextWarning
from vecgraft.text import Tokenizer, build_vocab
from vecgraft.text.unspaced import unsegmented_warnings

JAPANESE_ADVICE = (
    "use the char tokenizer (Tokenizer('char') / --tokenizer char), or segment the texts into "
    "words beforehand with a Japanese segmenter (e.g. fugashi or SudachiPy), separated by "
    "spaces, and use the whitespace one"
)
THAI_ADVICE = (
    "use the char tokenizer (Tokenizer('char') / --tokenizer char), or segment the texts into "
    "words beforehand with a Thai segmenter (e.g. PyThaiNLP), separated by spaces, and use the "
    "whitespace one"
)


def _said(texts: list[str], kind: str = "regex") -> list[str]:
    """The note on `texts` read by `kind`, which `build_vocab` warns line by line too."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        vocab = build_vocab(texts, Tokenizer(kind))
    said = unsegmented_warnings(vocab.counts.items(), kind)
    assert [str(w.message) for w in caught if w.category is UnsegmentedTextWarning] == said
    return said


def _texts(language: str) -> list[str]:
    return [text for text, _label in review_rows(language)]


def test_japanese_is_named_and_told_char_or_a_japanese_segmenter():
    assert _said(_texts("ja")) == [
        "the texts are Japanese, but the regex tokenizer does not segment them: their tokens "
        f"average 13.2 characters (whole clauses); {JAPANESE_ADVICE}"]  # fmt: skip
    assert _said(_texts("ja"), "whitespace")[0].startswith("the texts are Japanese, but the "
                                                          "whitespace tokenizer")  # fmt: skip
    assert _said(_texts("ja"), "char") == []


def test_japanese_clauses_of_kanji_alone_are_not_called_chinese():
    # "東京都大阪府" has no kana, but in mostly Japanese text it is Japanese: never jieba
    texts = ["東京都大阪府", "この映画はとても良かったです", "店員の対応は最悪でした"]
    said = _said(texts)
    assert len(said) == 1 and said[0].startswith("the texts are Japanese")
    assert "jieba" not in said[0]


def test_thai_is_named_and_told_char_or_a_thai_segmenter():
    assert _said(_texts("th")) == [
        "the texts are Thai, but the regex tokenizer does not segment them: their tokens "
        f"average 21.9 characters (whole clauses); {THAI_ADVICE}"]  # fmt: skip


def test_lao_khmer_and_myanmar_are_named():
    texts = {
        "Lao": "ອາຫານແຊບຫຼາຍ ບໍລິການດີເລີດທີ່ສຸດ",
        "Khmer": "ម្ហូបនេះឆ្ងាញ់ណាស់ សេវាកម្មល្អណាស់",
        "Myanmar": "အစားအစာအရမ်းကောင်းတယ်။ ဝန်ဆောင်မှုကောင်းတယ်",
    }
    for name, text in texts.items():
        said = _said([text] * 3)
        assert len(said) == 1 and said[0].startswith(f"the texts are {name}, but"), said
        assert "--tokenizer char" in said[0] and "jieba" not in said[0]


def test_chinese_keeps_its_advice_and_a_little_chinese_in_english_is_quiet():
    assert _said(["房间很干净，服务也很好", "早餐品种太少了，不推荐"] * 3) == [
        "the texts are Chinese, but the regex tokenizer does not segment them: their tokens "
        "average 5.0 characters (whole clauses); use the jieba tokenizer (Tokenizer('jieba') / "
        "--tokenizer jieba) or char"
    ]
    # 7 of 64 characters Chinese: below the 30 % share, no warning
    mixed = ["这部电影很好看，I really loved the acting and the music was great too"] * 3
    assert _said(mixed) == []


def test_korean_written_with_spaces_is_quiet():
    korean = ["이 영화는 정말 재미있었어요", "음식이 너무 맛없어요", "서비스가 아주 좋았습니다"]
    assert _said(korean) == []


def _split(tmp_path: Path, language: str) -> list[str]:
    rows = review_rows(language)
    train = write_csv(tmp_path / f"{language}-train.csv", rows[:72])
    test = write_csv(tmp_path / f"{language}-test.csv", rows[72:])
    return ["finetune", "--train", str(train), "--test", str(test), "--ensemble", "1",
            "--no-plots", "--epochs", "2"]  # fmt: skip


def _warnings(out: str) -> list[str]:
    return [line.strip() for line in out.splitlines() if line.strip().startswith("WARNING: the")]


def test_finetune_warns_of_unsegmented_japanese_and_thai(tmp_path, capsys):
    base = _split(tmp_path, "ja")
    assert main([*base, "--out", str(tmp_path / "ja"), "--model", "cnn", "--no-fuse-linear"]) == 0
    said = capsys.readouterr()
    (line,) = _warnings(said.out)
    assert "does not segment" not in said.err  # in the run log only, not again as a warning
    assert line.startswith("WARNING: the texts are Japanese, but the regex tokenizer does not "
                           "segment them: their tokens average ")  # fmt: skip
    assert line.endswith(f"characters (whole clauses); {JAPANESE_ADVICE}")
    assert main([*_split(tmp_path, "th"), "--out", str(tmp_path / "th"), "--model", "cnn"]) == 0
    (line,) = _warnings(capsys.readouterr().out)
    assert line.startswith("WARNING: the texts are Thai") and line.endswith(THAI_ADVICE)
    assert main([*base, "--out", str(tmp_path / "ja-char"), "--model", "cnn",
                 "--tokenizer", "char", "--no-fuse-linear"]) == 0  # fmt: skip
    assert _warnings(capsys.readouterr().out) == []


def test_build_and_pretrain_warn_of_unsegmented_thai(tmp_path, capsys):
    texts = _texts("th")
    # Thai puts spaces between clauses: four to a line, so GloVe has co-occurrences
    corpus = tmp_path / "th.txt"
    corpus.write_text("".join(" ".join(texts[i : i + 4]) + "\n" for i in range(0, 96, 4)) * 2,
                      encoding="utf-8")  # fmt: skip
    vectors = tmp_path / "v.txt"
    vectors.write_text("ดีมาก 0.1 0.2\nok 0.3 0.1\n", encoding="utf-8")
    expected = (f"warning: the texts are Thai, but the regex tokenizer does not segment them: "
                f"their tokens average 21.9 characters (whole clauses); {THAI_ADVICE}")  # fmt: skip
    assert main(["build", "--corpus", str(corpus), "--vectors", str(vectors),
                 "--out", str(tmp_path / "b")]) == 0  # fmt: skip
    assert [ln for ln in capsys.readouterr().err.splitlines() if "Thai" in ln] == [expected]
    assert main(["pretrain", "--method", "glove", "--corpus", str(corpus), "--min-count", "1",
                 "--out", str(tmp_path / "p"), "--dim", "4", "--epochs", "1",
                 "--no-progress"]) == 0  # fmt: skip
    assert [ln for ln in capsys.readouterr().err.splitlines() if "Thai" in ln] == [expected]


def test_build_vocab_warns_a_python_caller_of_unsegmented_chinese():
    # the note went to vocab.metadata only, unseen; and it named the CLI's flag alone
    texts = ["房间很干净，服务也很好", "早餐品种太少了，不推荐"] * 3
    with pytest.warns(UnsegmentedTextWarning) as caught:
        vocab = build_vocab(texts, Tokenizer("regex"))
    assert issubclass(UnsegmentedTextWarning, UserWarning)
    assert [str(w.message) for w in caught] == vocab.metadata["unsegmented"]
    assert "Tokenizer('jieba')" in str(caught[0].message)
    assert caught[0].filename == __file__  # it points at the caller's line
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_vocab(texts, Tokenizer("char"))  # segmented: nothing to say
        warnings.filterwarnings("ignore", category=UnsegmentedTextWarning)
        build_vocab(texts, Tokenizer("regex"))  # a caller can filter it


def test_commands_leave_the_process_wide_warning_filters_alone(tmp_path, monkeypatch):
    """finetune (and build, tune, compare) say the note in their log; they silenced
    build_vocab's warning with `warnings.catch_warnings`, which changes the process-wide
    filters: two runs in threads could leave `ignore UnsegmentedTextWarning` set for good."""
    import vecgraft.text.vocab_build as vocab_build
    from vecgraft.finetune.run import finetune

    assert not hasattr(vocab_build, "unsegmented_said_by_caller")
    rows = review_rows("ja")
    train = write_csv(tmp_path / "train.csv", rows[:72])
    test = write_csv(tmp_path / "test.csv", rows[72:])
    real_count = vocab_build._count_tokens
    ours: list[list[object]] = []  # the filters of UnsegmentedTextWarning while it is built

    def ours_now() -> list[object]:  # imports (scipy) add filters of their own: not these
        return [f for f in warnings.filters if f[2] is UnsegmentedTextWarning]

    def count(*args):  # the real one's arguments
        ours.append(ours_now())
        return real_count(*args)

    monkeypatch.setattr(vocab_build, "_count_tokens", count)
    logged: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        finetune({"train": str(train), "test": str(test), "out": str(tmp_path / "out"),
                  "ensemble": 1, "epochs": 1, "plots": False, "model": "cnn",
                  "fuse_linear": False, "progress": False}, log=logged.append)  # fmt: skip
        assert ours == [[]] and ours_now() == []  # none set around the build, none left
    assert [w for w in caught if w.category is UnsegmentedTextWarning] == []  # not twice
    assert any(line.startswith("WARNING: the texts are Japanese") for line in logged)
