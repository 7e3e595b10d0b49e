import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import vecgraft
from pretrain_helpers import synonym_corpus, write_lines
from vecgraft._util.extras import install_hint
from vecgraft.cli import main
from vecgraft.errors import ConfigError
from vecgraft.pretrain import PretrainConfig


def test_cli_pretrains_glove_and_prints_a_summary(tmp_path, capsys):
    corpus = write_lines(tmp_path / "c.txt", [s.upper() for s in synonym_corpus(100)])
    out = tmp_path / "out"
    code = main(
        [
            "pretrain",
            "--method",
            "glove",
            "--corpus",
            str(corpus),
            "--out",
            str(out),
            "--dim",
            "6",
            "--epochs",
            "2",
            "--min-count",
            "1",
            "--lower",
            "--workers",
            "1",
            "--no-progress",
            "--x-max",
            "10",
        ]
    )
    assert code == 0
    summary = capsys.readouterr().out
    meta = json.loads((out / "metadata.json").read_text())
    assert f"{meta['tokens_seen']:,} tokens" in summary
    assert f"{meta['vocab_size']:,} words x 6 dims" in summary
    assert "final loss" in summary
    # GloVe's epochs pass over co-occurrence entries, not the corpus: "words/s" was tokens x
    # epochs / time, a count of words no epoch read
    assert "words/s" not in summary and "words_per_second" not in meta
    assert f"{meta['cooccurrence_nonzero']:,} co-occurrence entries at " in summary
    assert f"{meta['training_entries_per_second']:,} entries/s per epoch" in summary
    assert meta["tokenizer"]["lower"] is True and meta["options"]["x_max"] == 10
    vectors = vecgraft.load(out, cache=False)
    assert "cat" in vectors and "CAT" not in vectors
    assert np.asarray(vectors.matrix).shape == (meta["vocab_size"], 6)


def test_cli_reports_a_missing_corpus_in_one_line(tmp_path, capsys):
    code = main(
        [
            "pretrain",
            "--method",
            "word2vec",
            "--corpus",
            str(tmp_path / "nope.txt"),
            "--out",
            str(tmp_path / "o"),
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "nope.txt" in err and "Traceback" not in err


def test_standard_input_is_refused_with_the_reason(tmp_path, capsys):
    """`--corpus -` (as `predict -` takes) said "-: no such file or folder"."""
    out = tmp_path / "o"
    assert main(["pretrain", "--method", "word2vec", "--corpus", "-", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "standard input" in err and "save it to a file" in err and not out.exists()


@pytest.mark.parametrize("method", ["word2vec", "fasttext"])
def test_a_missing_gensim_is_said_before_the_plan(tmp_path, capsys, monkeypatch, method):
    """fasttext printed its n-gram table plan (buckets x dims = 800 MB) before it failed on
    the missing `train` extra."""
    monkeypatch.setitem(sys.modules, "gensim", None)  # import gensim -> ImportError
    monkeypatch.setitem(sys.modules, "gensim.models", None)
    corpus = write_lines(tmp_path / "c.txt", ["a b c"] * 10)
    out = tmp_path / "o"
    assert main(["pretrain", "--method", method, "--corpus", str(corpus), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "vecgraft pretrain: error: word2vec/fastText pretraining needs the optional dependency "
        f"'gensim', which is not installed: {install_hint('train')}"
    ]
    assert not out.exists()


def test_cli_rejects_an_unknown_method(capsys):
    with pytest.raises(SystemExit):
        main(["pretrain", "--method", "bert", "--corpus", "x", "--out", "y"])
    assert "invalid choice" in capsys.readouterr().err


def test_build_uses_a_fasttext_output_folder_with_subwords(tmp_path, capsys):
    corpus = write_lines(tmp_path / "c.txt", synonym_corpus(100))
    out = tmp_path / "ft"
    assert (
        main(
            [
                "pretrain",
                "--method",
                "fasttext",
                "--corpus",
                str(corpus),
                "--out",
                str(out),
                "--dim",
                "6",
                "--epochs",
                "1",
                "--min-count",
                "1",
                "--workers",
                "1",
                "--no-progress",
                "--bucket",
                "5000",
            ]
        )
        == 0
    )
    data = write_lines(tmp_path / "d.txt", ["cat dogs catdog"])
    assert (
        main(["build", "--corpus", str(data), "--vectors", str(out), "--out", str(tmp_path / "b")])
        == 0
    )
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    counts = report["alignment"]["counts"]
    assert counts["exact"] == 1 and counts["subword"] == 2


def _tiny_jieba_word2vec(corpus: Path, out: Path, *extra: str) -> list[str]:
    """`pretrain` of a 4-wide word2vec on jieba words, one quick epoch, plus `extra` flags."""
    return ["pretrain", "--method", "word2vec", "--corpus", str(corpus), "--out", str(out),
            "--dim", "4", "--epochs", "1", "--min-count", "1", "--workers", "1",
            "--no-progress", "--tokenizer", "jieba", *extra]  # fmt: skip


def test_cli_pretrains_chinese_words_and_their_characters(tmp_path, capsys):
    lines = ["酒店很好房间干净", "服务很差房间脏", "酒店服务很好"] * 20
    corpus = write_lines(tmp_path / "zh.txt", lines)
    out = tmp_path / "zh"
    assert main(_tiny_jieba_word2vec(corpus, out, "--zh-mode", "word+char")) == 0
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["tokenizer"]["kind"] == "jieba" and meta["tokenizer"]["zh_mode"] == "word+char"
    vectors = vecgraft.load(out, cache=False)
    assert {"酒店", "酒", "店", "房间", "房", "间"} <= set(vectors.words)


def test_word2vec_on_a_small_jieba_corpus_takes_words_and_characters(tmp_path, capsys):
    # on 262 reviews word2vec of jieba words alone cost the network ~1.8 points; words +
    # characters won at 21k-85k words (benchmarks/defaults.md rounds 45, 47)
    lines = ["酒店很好房间干净", "服务很差房间脏", "酒店服务很好"] * 20
    corpus = write_lines(tmp_path / "zh.txt", lines)
    assert main(_tiny_jieba_word2vec(corpus, tmp_path / "auto")) == 0
    assert ("(jieba words + characters: the corpus has 260 words, < 100,000; --zh-mode to "
            "choose)") in capsys.readouterr().out  # fmt: skip
    meta = json.loads((tmp_path / "auto" / "metadata.json").read_text())
    assert meta["tokenizer"]["zh_mode"] == "word+char"
    assert meta["zh_mode_chosen"] == {
        "zh_mode": "word+char", "words": 260, "counted_all": True, "below": 100_000}
    words = set(vecgraft.load(tmp_path / "auto", cache=False).words)
    assert {"酒店", "酒", "店", "房间", "房"} <= words
    # a mode given is kept, and nothing is chosen
    assert main(_tiny_jieba_word2vec(corpus, tmp_path / "word", "--zh-mode", "word")) == 0
    meta = json.loads((tmp_path / "word" / "metadata.json").read_text())
    assert meta["tokenizer"]["zh_mode"] == "word" and "zh_mode_chosen" not in meta
    assert "酒" not in vecgraft.load(tmp_path / "word", cache=False).words


def test_the_zh_mode_choice_counts_stopwords_and_leaves_the_config_as_given(tmp_path):
    from vecgraft.pretrain import PretrainConfig, pretrain

    corpus = write_lines(tmp_path / "zh.txt", ["这个酒店的服务也很好", "房间很干净"] * 20)
    small = dict(dim=4, epochs=1, min_count=1, workers=1, progress=False)
    seen = {}
    for stopwords in (None, "zh"):
        config = PretrainConfig("word2vec", [str(corpus)], str(tmp_path / f"{stopwords}"),
                                tokenizer={"kind": "jieba", "stopwords": stopwords}, **small)
        meta = pretrain(config).metadata
        seen[stopwords] = (meta["zh_mode_chosen"]["words"], meta["tokens_seen"])
        # reused for another corpus, the config chooses again: it still says no zh_mode
        assert config.tokenizer == {"kind": "jieba", "stopwords": stopwords}
    assert seen[None][0] == seen["zh"][0] == 200  # the stopword list does not move the count
    assert seen["zh"][1] < seen[None][1]  # though it drops tokens from training


def test_word2vec_on_a_large_jieba_corpus_keeps_words(tmp_path, capsys, monkeypatch):
    import vecgraft.pretrain.config as pretrain_config

    monkeypatch.setattr(pretrain_config, "ZH_WORDCHAR_BELOW", 100)  # the corpus: 180 words
    corpus = write_lines(tmp_path / "zh.txt", ["酒店很好房间干净", "服务很差房间脏"] * 20)
    assert main(_tiny_jieba_word2vec(corpus, tmp_path / "auto")) == 0
    said = capsys.readouterr().out
    assert "(jieba words: the corpus has at least 100; --zh-mode to choose)" in said
    meta = json.loads((tmp_path / "auto" / "metadata.json").read_text())
    assert meta["tokenizer"]["zh_mode"] == "word"
    # counted to the end of the first line past 100: a lower bound, said so
    assert meta["zh_mode_chosen"] == {
        "zh_mode": "word", "words": 104, "counted_all": False, "below": 100}
    # the bound reached at the corpus's last line: the whole corpus was counted
    monkeypatch.setattr(pretrain_config, "ZH_WORDCHAR_BELOW", 180)
    assert main(_tiny_jieba_word2vec(corpus, tmp_path / "all")) == 0
    meta = json.loads((tmp_path / "all" / "metadata.json").read_text())
    assert meta["zh_mode_chosen"] == {
        "zh_mode": "word", "words": 180, "counted_all": True, "below": 180}


@pytest.mark.parametrize("method", ["fasttext", "glove"])
def test_other_methods_and_a_tokenizer_object_keep_jieba_words(tmp_path, method):
    from vecgraft.pretrain import PretrainConfig, pretrain
    from vecgraft.text import Tokenizer

    corpus = write_lines(tmp_path / "zh.txt", ["酒店很好房间干净", "服务很差房间脏"] * 20)
    small = dict(dim=4, epochs=1, min_count=1, workers=1, progress=False, bucket=100)
    result = pretrain(PretrainConfig(method, [str(corpus)], str(tmp_path / method),
                                     tokenizer={"kind": "jieba"}, **small))  # fmt: skip
    assert result.metadata["tokenizer"]["zh_mode"] == "word"
    assert "zh_mode_chosen" not in result.metadata
    result = pretrain(PretrainConfig("word2vec", [str(corpus)], str(tmp_path / "object"),
                                     tokenizer=Tokenizer("jieba"), **small))  # fmt: skip
    assert result.metadata["tokenizer"]["zh_mode"] == "word"
    assert "zh_mode_chosen" not in result.metadata


def test_cli_pretrains_traditional_text_as_simplified_words(tmp_path):
    pytest.importorskip("opencc")
    lines = ["這個酒店很好", "這個國家的經濟", "酒店服務很好"] * 20
    corpus = write_lines(tmp_path / "hant.txt", lines)
    out = tmp_path / "zh"
    assert main(_tiny_jieba_word2vec(corpus, out, "--simplified", "--halfwidth")) == 0
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["tokenizer"]["simplified"] is True and meta["tokenizer"]["halfwidth"] is True
    words = set(vecgraft.load(out, cache=False).words)
    assert {"这个", "酒店"} <= words and not {"這個", "國家"} & words


def test_cli_pretrains_with_a_jieba_user_dictionary(tmp_path, monkeypatch):
    # the Tokenizer took user_dict= (and finetune follows it from metadata.json), but no
    # command could set it: domain words such as 网易杭研 were cut into pieces
    lines = ["网易杭研的服务很好", "网易杭研大厦很大"] * 20
    corpus = write_lines(tmp_path / "zh.txt", lines)
    (tmp_path / "user.txt").write_text("网易杭研 10 n\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # a relative path is recorded absolute: finetune runs elsewhere
    out = tmp_path / "zh"
    assert main(_tiny_jieba_word2vec(corpus, out, "--user-dict", "user.txt")) == 0
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["tokenizer"]["user_dict"] == str(tmp_path / "user.txt")
    assert "网易杭研" in vecgraft.load(out, cache=False).words


def test_pretrain_and_finetune_say_what_a_builtin_stopword_list_keeps(tmp_path, capsys):
    # describe_stopwords was written for the log but no command printed it: nothing said that
    # --stopwords zh keeps 不/没有/但是 (and that zh-all removes them)
    corpus = write_lines(tmp_path / "zh.txt", ["这个酒店不好", "那个房间很好"] * 20)
    assert main(_tiny_jieba_word2vec(corpus, tmp_path / "zh", "--stopwords", "zh")) == 0
    assert "stopwords: stopwordsiso 'zh'" in capsys.readouterr().err
    from vecgraft.finetune.config import FinetuneConfig
    from vecgraft.finetune.run import finetune

    train = tmp_path / "train.csv"
    train.write_text("text,label\n" + "".join(f"酒店好{i},a\n房间差{i},b\n" for i in range(6)),
                     encoding="utf-8")  # fmt: skip
    said: list[str] = []
    finetune(FinetuneConfig(train=str(train), vectors="random", embedding_dim=4, model="boe",
                            epochs=1, tokenizer="jieba", stopwords="zh", plots=False,
                            progress=False, test_fraction=0.25, out=str(tmp_path / "run")),
             log=said.append)  # fmt: skip
    assert any(m.startswith("Stopword list: stopwordsiso 'zh'") and "zh-all" in m for m in said)


@pytest.mark.parametrize("method", ["word2vec", "glove"])
def test_a_corpus_of_stopwords_says_the_list_removed_every_token(tmp_path, capsys, method):
    # it said "empty files or only blank lines" of a file full of text
    corpus = write_lines(tmp_path / "c.txt", ["the and of a", "a the of and"] * 5)
    args = ["pretrain", "--method", method, "--corpus", str(corpus), "--out",
            str(tmp_path / method), "--min-count", "1", "--no-progress"]  # fmt: skip
    assert main([*args, "--stopwords", "en-all"]) == 1
    err = capsys.readouterr().err
    assert "no tokens (empty files or only blank lines, or every token is in the " in err
    assert "--stopwords list" in err


@pytest.mark.parametrize("method", ["word2vec", "fasttext", "glove"])
def test_progress_in_a_log_file_is_one_line_per_epoch(tmp_path, capsys, method):
    """--help promises a line per epoch when stderr is not a terminal; word2vec and fastText
    drew a tqdm bar, which is silent there, so a long run logged nothing until it ended."""
    corpus = write_lines(tmp_path / "c.txt", synonym_corpus(60))
    args = ["pretrain", "--method", method, "--corpus", str(corpus), "--dim", "4",
            "--epochs", "2", "--min-count", "1", "--workers", "1"]  # fmt: skip
    # each method's own flags only: another's is warned of as ignored, on stderr
    args += {"fasttext": ["--bucket", "100"], "glove": ["--device", "cpu"]}.get(method, [])
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if " epoch " in ln]
    assert [ln.split(" (")[0] for ln in lines] == [f"{method} epoch 1/2", f"{method} epoch 2/2"]
    # fastText's output is mostly its n-gram table (800 MB by default): said before training
    said = "n-gram table 100 buckets x 4 dims = 1.6 KB"
    assert (said in err.splitlines()[0]) == (method == "fasttext")
    if method != "fasttext":  # gensim computes no fastText loss
        assert all("loss " in ln for ln in lines)
    assert main([*args, "--out", str(tmp_path / "b"), "--no-progress"]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("method", "flags", "named"),
    [
        # was gensim's traceback; said hs=0, negative=0 and --negative 5 alike
        ("word2vec", ["--negative", "0"], "--hs 0 and --negative 0 leave"),
        ("word2vec", ["--negative", "0"], "(--negative 5) or hierarchical softmax (--hs 1)"),
        ("fasttext", ["--sample", "-1"], "--sample must be >= 0, got -1.0"),  # numpy warnings
        ("word2vec", ["--lr", "0"], "--lr must be > 0, got 0.0"),  # trained nothing
        ("word2vec", ["--learning-rate", "0"], "--learning-rate must be > 0, got 0.0"),
        ("fasttext", ["--min-n", "3", "--max-n", "2"], "--min-n (3) must not exceed --max-n (2)"),
        ("glove", ["--x-max", "0"], "--x-max must be > 0, got 0.0"),  # after both passes
        ("glove", ["--batch-size", "0"], "--batch-size must be >= 1, got 0"),
        # the config's names, which no flag has: "max_memory must be >= 1" (bytes)
        ("glove", ["--max-memory-mb", "0"], "--max-memory-mb must be >= 1, got 0"),
        ("glove", ["--max-memory-mb", "-2"], "--max-memory-mb must be >= 1, got -2"),
        ("fasttext", ["--bucket", "-1"], "--bucket must be >= 0, got -1"),
        ("word2vec", ["--min-alpha", "-1"], "--min-alpha must be >= 0, got -1.0"),
    ],
)
def test_options_that_cannot_train_are_refused_before_the_corpus_is_read(
    tmp_path, capsys, method, flags, named
):
    corpus = write_lines(tmp_path / "c.txt", synonym_corpus(20))
    out = tmp_path / "out"
    args = ["pretrain", "--method", method, "--corpus", str(corpus), "--out", str(out),
            "--min-count", "1", "--no-progress", *flags]  # fmt: skip
    assert main(args) == 1
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", err)  # no keyword: max_memory, min_n, ...
    assert not out.exists()  # refused before the output folder is made


@pytest.mark.parametrize(
    ("options", "said"),
    [
        ({"max_memory": 0, "method": "glove"}, "max_memory must be >= 1, got 0"),
        ({"max_vocab": 0}, "max_vocab must be >= 1 (or None: no limit), got 0"),
        ({"min_n": 3, "max_n": 2, "method": "fasttext"}, "min_n (3) must not exceed max_n (2)"),
        ({"negative": 0}, "hs=0 and negative=0 leave"),
        ({"negative": 0}, "(negative=5) or hierarchical softmax (hs=1)"),
    ],
)
def test_the_library_names_the_keywords(options, said):
    with pytest.raises(ConfigError) as caught:
        PretrainConfig(**{"method": "word2vec", "corpus": ["c.txt"], "out": "o", **options})
    assert said in str(caught.value) and "--" not in str(caught.value)


def test_a_rerun_into_an_earlier_output_says_it_replaces_it(tmp_path, capsys):
    # replacing an earlier pretrain output is what a rerun does (its files, not the user's):
    # it was done without a word
    corpus = write_lines(tmp_path / "c.txt", synonym_corpus(20))
    out = tmp_path / "out"
    args = ["pretrain", "--method", "glove", "--corpus", str(corpus), "--out", str(out),
            "--dim", "4", "--epochs", "1", "--min-count", "1", "--no-progress"]  # fmt: skip
    assert main(args) == 0
    assert "replaces" not in capsys.readouterr().err
    assert main(args) == 0
    assert f"note: {out} holds earlier pretrained vectors; this run replaces them" in (
        capsys.readouterr().err
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.txt", "out"]


def test_pretrain_reads_a_csv_row_over_1_mib_and_gives_gensim_10000_token_pieces(
    tmp_path, monkeypatch
):
    # the CSV row stopped pretraining ("a line longer than 1 MiB") though finetune reads it;
    # read, it is one document of 300,000 tokens, which gensim would cut at 10,000
    from vecgraft.pretrain import gensim_models

    csv = tmp_path / "train.csv"
    csv.write_text("text,label\n" + "cat sat on " * 100_000 + ",a\ndog ran,b\n", encoding="utf-8")
    lengths: list[int] = []
    real = gensim_models.train_gensim

    def spy(corpus, config):
        lengths.extend(len(sentence) for sentence in corpus)
        return real(corpus, config)

    monkeypatch.setattr(gensim_models, "train_gensim", spy)
    out = tmp_path / "out"
    args = ["pretrain", "--method", "word2vec", "--corpus", str(csv), "--out", str(out),
            "--dim", "4", "--epochs", "1", "--min-count", "1", "--workers", "1",
            "--sample", "0", "--no-progress"]  # fmt: skip
    assert main(args) == 0
    assert csv.stat().st_size > 1.05e6 and lengths == [10_000] * 30 + [2]
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["tokens_seen"] == 300_002 and meta["documents"] == 2


def test_the_sentence_pieces_are_as_long_as_gensim_reads():
    # gensim trains on a sentence's first MAX_WORDS_IN_BATCH words and drops the rest
    word2vec_inner = pytest.importorskip("gensim.models.word2vec_inner")
    from vecgraft.pretrain.corpus import GENSIM_MAX_SENTENCE

    assert word2vec_inner.MAX_WORDS_IN_BATCH == GENSIM_MAX_SENTENCE


@pytest.mark.parametrize("method", ["word2vec", "glove"])
def test_the_first_pass_reports_the_bytes_read(tmp_path, capsys, monkeypatch, method):
    """Reading and tokenizing the corpus (a second per MB) came before the first epoch line
    without a word: it now reports bytes read of the files' size on disk, compressed bytes
    for a compressed file, one line per READ_LINE_SECONDS off a terminal."""
    import gzip

    import vecgraft.pretrain.corpus as corpus_module

    lines = synonym_corpus(60)
    packed = tmp_path / "a.txt.gz"
    packed.write_bytes(gzip.compress(("\n".join(lines[:30]) + "\n").encode()))
    plain = write_lines(tmp_path / "b.txt", lines[30:])
    size = packed.stat().st_size + plain.stat().st_size
    args = ["pretrain", "--method", method, "--corpus", str(packed), str(plain), "--dim", "4",
            "--epochs", "1", "--min-count", "1", "--workers", "1"]  # fmt: skip
    args += ["--device", "cpu"] if method == "glove" else []  # another's flag: warned of
    # a short pass stays quiet: a line is written only once READ_LINE_SECONDS have passed
    assert main([*args, "--out", str(tmp_path / "quiet")]) == 0
    assert "reading corpus" not in capsys.readouterr().err
    monkeypatch.setattr(corpus_module, "READ_LINE_SECONDS", 0.0)
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err.splitlines()
    reading = [ln for ln in err if ln.startswith("reading corpus ")]
    assert reading, err
    kb = f"{size / 1000:.1f} KB"
    assert reading[-1].startswith(f"reading corpus {kb}/{kb} (100%, ")
    # before the epochs, and once only: later passes replay the token cache
    assert err.index(reading[-1]) < min(i for i, ln in enumerate(err) if " epoch " in ln)
    assert main([*args, "--out", str(tmp_path / "b"), "--no-progress"]) == 0
    assert capsys.readouterr().err == ""


def test_reading_progress_is_a_bar_on_a_terminal_and_counts_bytes() -> None:
    import io

    from vecgraft._util.console import Progress

    stream = io.StringIO()
    with Progress(4_900_000, "reading corpus", stream=stream, bar=True, in_bytes=True) as bar:
        bar.update(4_900_000)
    assert "4.90M/4.90M" in stream.getvalue()
    assert "B/s" in stream.getvalue()
    lines = io.StringIO()
    with Progress(2_000_000, "reading corpus", stream=lines, bar=False, in_bytes=True) as bar:
        bar.update(500_000)
    assert lines.getvalue().startswith("reading corpus 500.0 KB/2.0 MB (25%, ")


def test_glove_on_a_tiny_corpus_warns_as_word2vec_does(tmp_path, capsys):
    """word2vec and fastText said their vectors were barely trained on a tiny corpus; GloVe
    said nothing: 8 words, 64 co-occurrence entries for 100 dimensions."""
    corpus = write_lines(tmp_path / "c.txt", ["the cat sat on the mat"] * 20)
    args = ["pretrain", "--method", "glove", "--corpus", str(corpus), "--min-count", "1",
            "--epochs", "1", "--device", "cpu", "--no-progress"]  # fmt: skip
    assert main([*args, "--out", str(tmp_path / "a"), "--dim", "10"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: glove: 21 co-occurrence entries for 5 words, 4.2 a word, "
                          "fewer than the 10 dimensions of a vector")  # fmt: skip
    assert "use more text or a smaller --dim" in err
    assert main([*args, "--out", str(tmp_path / "b"), "--dim", "4"]) == 0  # 4.2 a word: enough
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize("method", ["word2vec", "glove"])
def test_an_empty_folder_is_said_to_hold_no_files(tmp_path, capsys, method):
    """It said 'empty files or only blank lines' of a folder without a file."""
    folder = tmp_path / "corpus"
    (folder / ".hidden").mkdir(parents=True)
    (folder / ".hidden" / "a.txt").write_text("a b c\n", encoding="utf-8")
    args = ["pretrain", "--method", method, "--corpus", str(folder), "--out",
            str(tmp_path / "out"), "--device", "cpu", "--no-progress"]  # fmt: skip
    assert main(args) == 1
    err = capsys.readouterr().err
    assert f"no files in {folder}, so the corpus has no tokens (files and folders whose " in err
    assert "blank lines" not in err


class _Terminal:
    """A stderr that says it is a terminal, so progress is drawn as tqdm bars."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True


def test_ctrl_c_closes_the_epoch_bar_before_saying_interrupted(tmp_path, monkeypatch):
    """gensim never ends a training stopped by Ctrl-C, so the epoch bar stayed open and was
    drawn again below 'vecgraft pretrain: interrupted' when it was collected."""
    import gc

    from vecgraft._util.console import Progress

    update = Progress.update

    def interrupt(self, n=1, **postfix):  # Ctrl-C at the end of the first epoch
        if self.desc.endswith(" epoch"):
            raise KeyboardInterrupt
        update(self, n, **postfix)

    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(Progress, "update", interrupt)
    corpus = write_lines(tmp_path / "c.txt", synonym_corpus(60))
    args = ["pretrain", "--method", "word2vec", "--corpus", str(corpus), "--dim", "4",
            "--epochs", "3", "--min-count", "1", "--workers", "1", "--out", str(tmp_path / "a")]
    assert main(args) == 130
    gc.collect()
    assert "word2vec epoch" in terminal.text
    assert terminal.text.endswith("\nvecgraft pretrain: interrupted\n"), terminal.text[-200:]


def test_a_pass_left_halfway_closes_its_reading_bar_with_the_corpus(tmp_path, monkeypatch):
    """Ctrl-C in the reader of the first pass left it suspended, its bar open till exit."""
    import gc

    from vecgraft.pretrain import Corpus

    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    corpus = Corpus([str(write_lines(tmp_path / "c.txt", synonym_corpus(60)))], progress=None)
    passing = iter(corpus)
    next(passing)
    assert "reading corpus" in terminal.text and not terminal.text.endswith("\n")
    corpus.close()
    assert terminal.text.endswith("\n")
    said = terminal.text
    del passing
    gc.collect()
    assert terminal.text == said


def test_a_repeated_tokenizer_is_refused_naming_the_kinds(tmp_path, capsys):
    # --tokenizer jieba --tokenizer char trained on char tokens alone (argparse's last value)
    corpus = write_lines(tmp_path / "c.txt", ["我爱中国", "中国很大"])
    out = tmp_path / "out"
    argv = ["pretrain", "--method", "word2vec", "--corpus", str(corpus), "--out", str(out)]
    assert main([*argv, "--tokenizer", "jieba", "--tokenizer", "char"]) == 1
    assert capsys.readouterr().err.strip() == (
        "vecgraft pretrain: error: --tokenizer takes one kind for pretraining; several "
        "(jieba, char) were given: the vectors are trained on the words of one, recorded in "
        "metadata.json, which finetune cuts texts with (jieba's words and their characters "
        "both: --tokenizer jieba --zh-mode word+char)"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("method", "flag", "warned"),
    [
        ("glove", "--alpha", True),
        ("glove", "--learning-rate", False),
        ("glove", "--lr", False),
        ("word2vec", "--alpha", False),
    ],
)
def test_glove_with_alpha_warns_it_is_the_learning_rate_not_the_exponent(
    tmp_path, capsys, method, flag, warned
):
    corpus = write_lines(tmp_path / "c.txt", synonym_corpus(20))
    argv = ["pretrain", "--method", method, "--corpus", str(corpus), "--out", str(tmp_path / "o"),
            "--dim", "4", "--epochs", "1", "--min-count", "1", "--workers", "1", "--no-progress",
            flag, "0.1"]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    line = (
        "warning: --alpha sets GloVe's learning rate (as --learning-rate); glove.c's -alpha is "
        "the weighting exponent, which is --power here"
    )
    assert (line in err.splitlines()) is warned
    meta = json.loads((tmp_path / "o" / "metadata.json").read_text())
    assert meta["options"]["learning_rate"] == 0.1


@pytest.mark.parametrize(
    ("method", "flags", "said"),
    [
        ("word2vec", ["--x-max", "100", "--device", "cuda", "--bucket", "10"],
         "warning: --method word2vec does not use --bucket (fasttext), --x-max (glove), "
         "--device (glove): ignored"),
        ("glove", ["--sg", "1", "--min-n", "2", "--max-memory-mb", "64"],
         "warning: --method glove does not use --sg (word2vec, fasttext), --min-n (fasttext): "
         "ignored"),
        ("fasttext", ["--max-memory-mb", "64", "--hs", "1"],
         "warning: --method fasttext does not use --max-memory-mb (glove): ignored"),
        ("fasttext", ["--bucket", "1000", "--min-n", "2"], None),  # its own flags
        ("word2vec", ["--x-max", "10", "--bucket", "2000000"], None),  # defaults, as typed
    ],
)  # fmt: skip
def test_flags_of_another_method_are_said_to_be_ignored(tmp_path, capsys, method, flags, said):
    # `--method word2vec --device cuda` trained on the CPU and said nothing of it
    corpus = write_lines(tmp_path / "c.txt", synonym_corpus(20))
    argv = ["pretrain", "--method", method, "--corpus", str(corpus), "--out", str(tmp_path / "o"),
            "--dim", "4", "--epochs", "1", "--min-count", "1", "--workers", "1", "--no-progress",
            *flags]  # fmt: skip
    assert main(argv) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if "does not use" in line]
    assert warned == ([said] if said else [])


def test_the_window_default_is_per_method_and_recorded_as_the_number_used(tmp_path):
    # GloVe took word2vec's 5; glove.c's cooccur.c and demo.sh use 15, which beat 5 on
    # English and Chinese intrinsic sets (benchmarks/glove_window.md)
    from vecgraft.errors import OptionError
    from vecgraft.pretrain.gensim_models import _gensim_kwargs

    glove = PretrainConfig("glove", ["c"], "o")
    assert glove.window is None and glove.resolved_window == 15
    assert glove.options()["window"] == 15
    for method in ("word2vec", "fasttext"):
        config = PretrainConfig(method, ["c"], "o")
        assert config.resolved_window == 5 and _gensim_kwargs(config)["window"] == 5
    assert PretrainConfig("glove", ["c"], "o", window=7).options()["window"] == 7
    with pytest.raises(OptionError, match="window"):
        PretrainConfig("glove", ["c"], "o", window=0)
    corpus = write_lines(tmp_path / "c.txt", synonym_corpus(20))
    for extra, window in (([], 15), (["--window", "3"], 3)):
        out = tmp_path / f"o{window}"
        argv = ["pretrain", "--method", "glove", "--corpus", str(corpus), "--out", str(out),
                "--dim", "4", "--epochs", "1", "--min-count", "1", "--workers", "1",
                "--no-progress", *extra]  # fmt: skip
        assert main(argv) == 0
        assert json.loads((out / "metadata.json").read_text())["options"]["window"] == window


def _glove_args(corpus: Path, out: Path, seed: str) -> list[str]:
    return ["pretrain", "--method", "glove", "--corpus", str(corpus), "--out", str(out),
            "--dim", "4", "--epochs", "1", "--min-count", "1", "--seed", seed,
            "--no-progress"]  # fmt: skip


def test_a_second_run_into_an_output_being_written_is_refused_at_once(
    tmp_path, capsys, monkeypatch
):
    # two runs into one --out both ended "-> out": the one that ended last replaced the
    # other's vectors unsaid (and, the folder empty at both starts, neither said it would)
    from finetune_helpers import held_lock
    from vecgraft.pretrain import api

    corpus = write_lines(tmp_path / "c.txt", synonym_corpus(20))
    out = tmp_path / "out"
    second: list[int] = []
    started: list[bool] = []
    real = api._train_and_write

    def start_another(config, folder):
        if not started:  # the first run, training: a second one starts
            started.append(True)
            second.append(main(_glove_args(corpus, out, "2")))
        return real(config, folder)

    monkeypatch.setattr(api, "_train_and_write", start_another)
    assert main(_glove_args(corpus, out, "1")) == 0
    err = capsys.readouterr().err
    busy = (f"vecgraft pretrain: error: {out}: another run is writing this folder (it holds "
            "its lock); wait for it to end, or choose another --out DIR")  # fmt: skip
    assert second == [1] and busy in err
    assert json.loads((out / "metadata.json").read_text())["options"]["seed"] == 1
    monkeypatch.setattr(api, "_train_and_write", real)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with held_lock(out):  # refused before the note that it replaces the earlier vectors
        assert main(_glove_args(corpus, out, "3")) == 1
    err = capsys.readouterr().err
    assert busy in err and "replaces" not in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_killed_run_leaves_no_lock_on_its_output(tmp_path):
    # the kernel drops the lock with the process: SIGKILL leaves nothing that blocks a rerun
    import signal
    import subprocess

    from finetune_helpers import is_locked
    from vecgraft.pretrain import pretrain

    out = tmp_path / "out"
    holder = ("import sys, time\nfrom vecgraft._util.folderlock import out_lock\n"
              "with out_lock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", holder, str(out)], stdout=subprocess.PIPE,
                            text=True)  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "held\n"
        assert is_locked(out)
        corpus = write_lines(tmp_path / "c.txt", synonym_corpus(20))
        config = PretrainConfig("glove", [str(corpus)], str(out), dim=4, epochs=1,
                                min_count=1, progress=False)  # fmt: skip
        with pytest.raises(ConfigError, match=f"{out}: another run is writing this folder"):
            pretrain(config)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert not is_locked(out)
    assert pretrain(config).out == out and (out / "metadata.json").is_file()


def test_word2vec_reports_its_training_rate_not_the_whole_run_s(tmp_path, capsys):
    # words/s was tokens x epochs over the whole run (corpus scan and setup included): a short
    # run said '1,394 words/s' while each epoch took 0.1 s; GloVe's rate was per epoch already
    corpus = write_lines(tmp_path / "c.txt", synonym_corpus(100))
    out = tmp_path / "out"
    assert main(["pretrain", "--method", "word2vec", "--corpus", str(corpus), "--out", str(out),
                 "--dim", "6", "--epochs", "2", "--min-count", "1", "--workers", "1",
                 "--no-progress"]) == 0  # fmt: skip
    summary = capsys.readouterr().out
    meta = json.loads((out / "metadata.json").read_text())
    assert 0 < meta["training_seconds"] < meta["duration_seconds"]
    # computed from the seconds stored (6 decimals), so only the rounding to a whole rate is off
    assert abs(meta["words_per_second"] - meta["words_trained"] / meta["training_seconds"]) <= 0.5
    assert (f"{meta['words_trained']:,} words trained at {meta['words_per_second']:,} words/s "
            "(training time only)") in summary  # fmt: skip
