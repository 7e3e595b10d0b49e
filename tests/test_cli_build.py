import numpy as np
import pytest

from vecgraft.cli import main
from vecgraft.errors import DataError
from vecgraft.nn.embedding import load_embedding

GLOVE = "the 1 2 3 4\ncat 0 1 0 1\nsat 2 2 2 2\nDog -1 0 1 0\nzebra 9 9 9 9\n"


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    # the load cache must not leave files outside tmp_path
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text("The cat sat on the mat.\n", encoding="utf-8")
    (folder / "b.txt").write_text("The dog sat.\n", encoding="utf-8")
    vectors = tmp_path / "glove.txt"
    vectors.write_text(GLOVE, encoding="utf-8")
    return folder, vectors


def test_build_prints_coverage_and_writes_three_files(tmp_path, corpus, capsys):
    folder, vectors = corpus
    out = tmp_path / "emb"
    rc = main(
        [
            "build",
            "--corpus",
            str(folder),
            "--vectors",
            str(vectors),
            "--out",
            str(out),
            "--lower",
            "--seed",
            "3",
            "--cache-dir",
            str(tmp_path / "cache"),
        ]
    )
    printed = capsys.readouterr().out
    assert rc == 0, printed
    # words: the(3) sat(2) .(2) cat on mat dog; matched: the sat cat dog(casefold)
    assert "57.14%  (4 of 7 words)" in printed
    assert "63.64%  (7 of 11 tokens)" in printed
    assert "most frequent missing: . (2), on (1), mat (1)" in printed
    assert sorted(p.name for p in out.iterdir()) == [
        "embedding.safetensors",
        "report.json",
        "vocab.json",
    ]
    emb, vocab, report = load_embedding(out)
    assert vocab.tokens[:4] == ["<pad>", "<unk>", "the", "sat"]
    rows = {"the": [1, 2, 3, 4], "cat": [0, 1, 0, 1], "sat": [2, 2, 2, 2], "dog": [-1, 0, 1, 0]}
    for word, row in rows.items():
        np.testing.assert_array_equal(emb.weight[vocab[word]].numpy(), row)
    assert not emb.weight[0].any()
    np.testing.assert_allclose(emb.weight[1].numpy(), np.mean(list(rows.values()), axis=0))
    assert report["alignment"]["counts"]["casefold"] == 1
    assert report["metadata"]["options"]["seed"] == 3
    assert len(report["metadata"]["checksum"]["sha256"]) == 64
    assert report["metadata"]["tokenizer"]["lower"] is True


def test_build_csv_column_dim_and_oov(tmp_path, corpus, capsys):
    _, vectors = corpus
    csv = tmp_path / "train.csv"
    csv.write_text("label,body\nx,the cat sat\ny,zebra cat\n", encoding="utf-8")
    out = tmp_path / "emb"
    args = [
        "build",
        "--corpus",
        str(csv),
        "--column",
        "body",
        "--vectors",
        str(vectors),
        "--out",
        str(out),
        "--oov",
        "zeros",
        "--dim",
        "2",
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "100.00%  (4 of 4 words)" in printed and "PCA 4 -> 2" in printed
    emb, vocab, _ = load_embedding(out)
    assert emb.weight.shape == (len(vocab), 2)


@pytest.mark.parametrize(
    ("extra", "setup", "message"),
    [
        (["--dim", "8"], None, "cannot grow vectors from 4 to 8"),
        (["--column", "nope"], "csv", "nope"),
        ([], "empty", "empty"),
    ],
)
def test_build_bad_input_is_one_line(tmp_path, corpus, capsys, extra, setup, message):
    folder, vectors = corpus
    source = folder
    if setup == "csv":
        source = tmp_path / "t.csv"
        source.write_text("text,label\nhello,x\n", encoding="utf-8")
    elif setup == "empty":
        source = tmp_path / "empty.txt"
        source.write_text("\n\n", encoding="utf-8")
    rc = main(
        [
            "build",
            "--corpus",
            str(source),
            "--vectors",
            str(vectors),
            "--out",
            str(tmp_path / "o"),
            *extra,
        ]
    )
    err = capsys.readouterr().err.strip()
    assert rc == 1
    assert err.startswith("vecgraft build: error:") and "\n" not in err
    assert message in err.lower() or message in err
    assert not (tmp_path / "o" / "embedding.safetensors").exists()
    if setup == "csv":
        assert "t.csv" in err
    if setup == "empty":  # says what to check, and leaves no output folder behind
        assert "check the input path" in err
        assert not (tmp_path / "o").exists()


def test_a_corpus_path_that_is_not_a_file_reads_as_such(tmp_path, corpus, capsys):
    # the CLI showed Python advice ("wrap them: Texts([...])"), and /dev/null, which exists,
    # was "no such file or folder"
    import os

    from vecgraft.text import iter_texts

    _, vectors = corpus
    argv = ["build", "--vectors", str(vectors), "--out", str(tmp_path / "o"), "--corpus"]
    assert main([*argv, str(tmp_path / "nope.txt")]) == 1
    assert capsys.readouterr().err == (
        f"vecgraft build: error: {tmp_path / 'nope.txt'}: no such file or folder\n"
    )
    assert main([*argv, os.devnull]) == 1
    assert capsys.readouterr().err == (
        f"vecgraft build: error: {os.devnull}: not a regular file or folder (a pipe or "
        "device); save the texts to a file first\n"
    )
    with pytest.raises(DataError, match=r"wrap them: Texts\(\[\.\.\.\]\)"):
        list(iter_texts("the cat sat"))  # from Python the advice stays


def test_build_takes_the_normalisation_flags_pretrain_has(tmp_path, monkeypatch, capsys):
    """build could not ask for what pretrain and the Tokenizer offer (--halfwidth,
    --simplified, --nfkc, --digits, --zh-mode): a full-width or traditional corpus could
    not meet simplified vectors, and no such vocabulary could be built from the CLI."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("VECGRAFT_SEGMENT_CACHE", "off")
    corpus = tmp_path / "zh.txt"
    corpus.write_text("ｉＰｈｏｎｅ１２很好\n電腦很好\n", encoding="utf-8")
    vectors = tmp_path / "zh.vec"
    vectors.write_text("电脑 1 0\n很 0 1\n好 1 1\niphone00 2 2\n", encoding="utf-8")
    out = tmp_path / "emb"
    argv = ["build", "--corpus", str(corpus), "--vectors", str(vectors), "--out", str(out)]
    flags = ["--tokenizer", "jieba", "--halfwidth", "--simplified", "--lower", "--digits", "0"]
    assert main([*argv, *flags, "--zh-mode", "word+char", "--no-cache"]) == 0, capsys.readouterr()
    _, vocab, _ = load_embedding(out)
    assert {"iphone00", "电脑", "电", "脑", "很", "好"} <= set(vocab.tokens)
    config = vocab.metadata["tokenizer"]
    assert config["halfwidth"] and config["simplified"] and config["zh_mode"] == "word+char"
    assert config["digits"] == "0" and not config["nfkc"]


def test_build_takes_the_tokenizer_a_native_file_keeps(tmp_path, monkeypatch, capsys):
    """`from-transformer --vocab` keeps the vocabulary's tokenizer in the native file alone
    (no metadata.json beside it): build cut the corpus with regex (whole clauses)."""
    pytest.importorskip("rjieba")
    import vecgraft
    from vecgraft.vectors import Vectors

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("VECGRAFT_SEGMENT_CACHE", "off")
    corpus = tmp_path / "zh.txt"
    corpus.write_text("酒店很好\n", encoding="utf-8")
    vectors = Vectors(["酒店", "很", "好"], np.eye(3, dtype=np.float32))
    vectors.metadata["tokenizer"] = {"kind": "jieba", "lower": False, "zh_mode": "word+char"}
    native = tmp_path / "x.safetensors"
    vecgraft.save(vectors, native, format="native")
    argv = ["build", "--corpus", str(corpus), "--vectors", str(native), "--no-cache"]
    assert main([*argv, "--out", str(tmp_path / "emb")]) == 0, capsys.readouterr()
    _, vocab, _ = load_embedding(tmp_path / "emb")
    assert {"酒店", "酒", "店", "很", "好"} <= set(vocab.tokens)
    assert vocab.metadata["tokenizer"]["zh_mode"] == "word+char"


def test_build_names_traditional_text_on_simplified_vectors(tmp_path, monkeypatch, capsys):
    """finetune said "pass --simplified" for traditional text on simplified vectors; build,
    the same vocabulary and vectors, said nothing (31 % of word types covered)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("VECGRAFT_SEGMENT_CACHE", "off")
    corpus = tmp_path / "zh.txt"
    corpus.write_text("這個電腦很好\n服務員說話\n電腦\n", encoding="utf-8")
    vectors = tmp_path / "zh.vec"
    rows = ["这个 1 0", "电脑 0 1", "很 1 1", "好 2 2", "服务员 1 2", "说话 2 1"]
    vectors.write_text("\n".join(rows) + "\n", encoding="utf-8")
    argv = ["build", "--corpus", str(corpus), "--vectors", str(vectors), "--no-cache",
            "--tokenizer", "char"]  # fmt: skip
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    hint = ("warning: 73% of the training texts' Chinese words are traditional, the vectors' "
            "words simplified (0% traditional): pass --simplified to convert the texts "
            "(OpenCC) before they are tokenized")  # fmt: skip
    assert hint in capsys.readouterr().err.splitlines()
    assert main([*argv, "--simplified", "--out", str(tmp_path / "b")]) == 0
    assert "--simplified" not in capsys.readouterr().err


def test_build_reads_a_csv_row_over_1_mib_as_finetune_does(tmp_path, corpus, capsys):
    # it stopped with "a line longer than 1 MiB" on a file `finetune --train` reads
    _, vectors = corpus
    csv = tmp_path / "train.csv"
    long = "the cat sat " * 90_000  # 1.08 MB, 270,000 words
    csv.write_text(f"text,label\n{long},a\nzebra,b\n", encoding="utf-8")
    out = tmp_path / "emb"
    args = ["build", "--corpus", str(csv), "--vectors", str(vectors), "--out", str(out)]
    assert main(args) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "100.00%  (4 of 4 words)" in printed and "(270,001 of 270,001 tokens)" in printed


def test_a_repeated_tokenizer_is_refused_naming_the_kinds(tmp_path, corpus, capsys):
    # --tokenizer jieba --tokenizer char built with char alone (argparse's last value):
    # a vocabulary and its metadata.json have one tokenizer
    folder, vectors = corpus
    argv = ["build", "--corpus", str(folder), "--vectors", str(vectors), "--out",
            str(tmp_path / "emb")]  # fmt: skip
    assert main([*argv, "--tokenizer", "jieba", "--tokenizer", "char"]) == 1
    assert capsys.readouterr().err.strip() == (
        "vecgraft build: error: --tokenizer takes one kind for a vocabulary; several (jieba, "
        "char) were given: build cuts the corpus with one and records it in metadata.json, "
        "which finetune cuts texts with (jieba's words and their characters both: "
        "--tokenizer jieba --zh-mode word+char)"
    )
    assert not (tmp_path / "emb").exists()
    assert main([*argv, "--tokenizer", "regex", "--tokenizer", "char"]) == 1
    assert capsys.readouterr().err.strip().endswith(
        "several (regex, char) were given: build cuts the corpus with one and records it in "
        "metadata.json, which finetune cuts texts with"
    )
    assert main([*argv, "--tokenizer", "char", "--tokenizer", "char"]) == 0  # one kind
    _, vocab, _ = load_embedding(tmp_path / "emb")
    assert vocab.metadata["tokenizer"]["kind"] == "char"


def _build(tmp_path, folder, vectors, *flags):
    out = tmp_path / "emb"
    args = ["build", "--corpus", str(folder), "--vectors", str(vectors), "--out", str(out)]
    return main([*args, "--cache-dir", str(tmp_path / "cache"), *flags])


def _lines_at_every_step(monkeypatch) -> None:
    """Progress lines at every step: the pauses set to 0, every file "large", 16-byte chunks."""
    from vecgraft.io import _rows, _textparse
    from vecgraft.text import vocab_build

    monkeypatch.setattr(_textparse, "BIG_LOAD_BYTES", 0, raising=False)
    monkeypatch.setattr(_textparse, "CHUNK_BYTES", 16)
    monkeypatch.setattr(_rows, "LOAD_LINE_SECONDS", 0.0, raising=False)
    monkeypatch.setattr(vocab_build, "COUNT_LINE_SECONDS", 0.0, raising=False)


def test_build_piped_prints_plain_progress_lines(tmp_path, corpus, capsys, monkeypatch):
    # tqdm is silent where stderr is no terminal: `vecgraft build ... 2> log` showed nothing
    # while a large corpus was counted and a large vector file read. Plain lines now,
    # here one per step.
    folder, vectors = corpus
    _lines_at_every_step(monkeypatch)
    assert _build(tmp_path, folder, vectors) == 0
    lines = capsys.readouterr().err.splitlines()
    assert [line.rsplit(" (", 1)[0] for line in lines if "counting" in line] == [
        "counting tokens (texts) 1",
        "counting tokens (texts) 2",
    ]
    reading = [line for line in lines if line.startswith("reading glove.txt ")]
    assert len(reading) >= 3 and "\r" not in "".join(lines)
    assert reading[-1].startswith("reading glove.txt 63 bytes/63 bytes (100%, ")


def test_build_no_progress_writes_no_progress_line(tmp_path, corpus, capsys, monkeypatch):
    # the plain lines of the token count and the vector file's read could not be turned off
    folder, vectors = corpus
    _lines_at_every_step(monkeypatch)
    assert _build(tmp_path, folder, vectors, "--no-progress") == 0
    err = capsys.readouterr().err
    assert "counting tokens" not in err and "reading glove.txt" not in err


def test_build_piped_is_quiet_between_its_pauses(tmp_path, corpus, capsys, monkeypatch):
    # the lines come at most every 30 s: a build quicker than that prints none of them
    from vecgraft.io import _textparse

    folder, vectors = corpus
    monkeypatch.setattr(_textparse, "BIG_LOAD_BYTES", 0, raising=False)
    monkeypatch.setattr(_textparse, "CHUNK_BYTES", 16)
    assert _build(tmp_path, folder, vectors) == 0
    err = capsys.readouterr().err
    assert "counting tokens" not in err and "reading glove.txt" not in err


@pytest.mark.parametrize("failing", ["embedding.safetensors", "report.json"])
def test_a_full_disk_names_the_file_and_leaves_no_folder_it_created(
    tmp_path, corpus, capsys, monkeypatch, failing
):
    # a full disk said only "No space left on device" (no file) and left an empty `b/`
    import errno
    import os

    from vecgraft._util import atomic

    real_fsync = os.fsync

    def fsync(fd):
        if os.readlink(f"/proc/self/fd/{fd}").split("/")[-1].startswith(f".{failing}."):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    folder, vectors = corpus
    out = tmp_path / "new" / "b"
    argv = ["build", "--corpus", str(folder), "--vectors", str(vectors), "--out", str(out),
            "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err == f"vecgraft build: error: {out / failing}: No space left on device\n"
    assert not (tmp_path / "new").exists()
    (out / "mine.txt").parent.mkdir(parents=True)
    (out / "mine.txt").write_text("kept")  # a folder that was there stays, as it was
    assert main(argv) == 1
    # the files are written beside the folder and moved in together: none of them came
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt"]


def test_build_into_an_earlier_build_says_it_replaces_it(tmp_path, corpus, capsys):
    # it replaced the folder's files silently (pretrain says so of its vectors); a rerun
    # is how scripts refresh a build, so it is still done
    folder, vectors = corpus
    argv = ["build", "--corpus", str(folder), "--vectors", str(vectors),
            "--out", str(tmp_path / "o")]  # fmt: skip
    assert main(argv) == 0
    assert "earlier build" not in capsys.readouterr().err
    assert main(argv) == 0
    assert capsys.readouterr().err.count(
        f"note: {tmp_path / 'o'} holds an earlier build; this run replaces its "
        "embedding.safetensors, vocab.json, report.json\n"
    ) == 1


def test_a_refused_build_into_an_earlier_one_does_not_say_it_replaces_it(
    tmp_path, corpus, capsys
):
    # the note came before the checks: "this run replaces ..." and then an error that
    # replaced nothing
    folder, vectors = corpus
    out = tmp_path / "o"
    assert main(["build", "--corpus", str(folder), "--vectors", str(vectors),
                 "--out", str(out)]) == 0  # fmt: skip
    capsys.readouterr()
    (tmp_path / "empty").mkdir()
    assert main(["build", "--corpus", str(tmp_path / "empty"), "--vectors", str(vectors),
                 "--out", str(out)]) == 1  # fmt: skip
    err = capsys.readouterr().err
    assert f"--corpus {tmp_path / 'empty'}: empty corpus" in err
    assert "earlier build" not in err


def test_empty_corpus_is_its_own_error_class():
    from vecgraft.errors import DataError, EmptyCorpusError
    from vecgraft.text import Tokenizer, build_vocab

    with pytest.raises(EmptyCorpusError, match="empty corpus") as exc:
        build_vocab(["the a", "of"], Tokenizer(stopwords="en"))
    assert isinstance(exc.value, DataError)  # callers catching DataError still do
