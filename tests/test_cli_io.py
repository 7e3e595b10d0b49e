"""`vecgraft info / convert / neighbors` end to end on tiny files (exit codes and output)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import vecgraft
from io_helpers import write_w2v_bin
from vecgraft.cli import main
from vecgraft.vectors import Vectors


@pytest.fixture(autouse=True)
def _private_cache_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Any load that does cache writes under tmp_path, never the real ~/.cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


WORDS = ["king", "queen", "man", "woman", "apple"]
MATRIX = np.array(
    [[1, 1, 0], [1, 0.9, 0.1], [0.2, 1, 0], [0.2, 0.9, 0.1], [-1, 0, 1]], dtype=np.float32
)


@pytest.fixture()
def vec_file(tmp_path: Path) -> Path:
    return write_w2v_bin(tmp_path / "tiny.bin", WORDS, MATRIX)


def cli(*argv: object) -> int:
    return main([str(a) for a in argv] + ["--no-cache"])


def test_info_prints_format_size_and_rows(
    vec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("info", vec_file, "--rows", 2) == 0
    out = capsys.readouterr().out
    assert "format:   word2vec-bin (detected)" in out
    assert "rows:     5" in out and "dim:      3" in out
    assert "  king " in out and " 1.0000  1.0000  0.0000" in out
    assert "  man " not in out  # only 2 sample rows


def test_info_leaves_out_facts_a_format_does_not_have(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a GloVe file has no header: info printed "header count: None"
    glove = tmp_path / "g.txt"
    glove.write_text("a 1 2\nb 3 4\n", encoding="utf-8")
    assert cli("info", glove) == 0
    out = capsys.readouterr().out
    assert "format:   glove (detected)" in out and "None" not in out
    assert "duplicates: 0" in out


def test_info_counts_the_stray_boms_it_dropped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `cat a.txt b.txt` with a BOM at b.txt's head: its first word read as '\ufeffc'
    glove = tmp_path / "g.txt"
    glove.write_bytes(b"a 1 2\nb 3 4\n\xef\xbb\xbfc 5 6\n")
    assert cli("info", glove, "--rows", 3) == 0
    out = capsys.readouterr().out
    assert "stray BOMs dropped: 1\n" in out and "  c " in out
    glove.write_bytes(b"\xef\xbb\xbfa 1 2\nb 3 4\n")  # the file's own BOM is no stray one
    assert cli("info", glove) == 0
    assert "BOM" not in capsys.readouterr().out


def test_info_coverage_of_word_list_and_vocab_json(
    vec_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "words.txt").write_text("king\nQueen\nbanana\napple\n")
    assert cli("info", vec_file, "--vocab", tmp_path / "words.txt") == 0
    out = capsys.readouterr().out
    assert "types:    2/4 exact (50.0%), 3/4 with case folding (75.0%)" in out
    assert "missing:  Queen, banana" in out
    vocab = {
        "tokens": ["<pad>", "<unk>", "king", "pear"],
        "counts": [0, 0, 3, 1],
        "specials": ["<pad>", "<unk>"],
        "pad_token": "<pad>",
        "unk_token": "<unk>",
    }
    (tmp_path / "vocab.json").write_text(json.dumps(vocab))
    assert cli("info", vec_file, "--vocab", tmp_path / "vocab.json", "--rows", 0) == 0
    out = capsys.readouterr().out
    assert "types:    1/2 exact (50.0%)" in out
    assert "tokens:   3/4 exact (75.0%)" in out


def test_info_reads_word_count_lists_and_tokenizer_vocabularies(
    vec_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GloVe's vocab_count / word2vec's -save-vocab: "word count" per line
    (tmp_path / "counts.txt").write_text("king 5\nbanana 3\nqueen 2\n")
    assert cli("info", vec_file, "--vocab", tmp_path / "counts.txt", "--rows", 0) == 0
    out = capsys.readouterr().out
    assert "coverage of" in out and "(3 words)" in out
    assert "types:    2/3 exact (66.7%)" in out and "tokens:   7/10 exact (70.0%)" in out
    assert "missing:  banana" in out
    # a tokenizer's vocab.json maps tokens to ids
    (tmp_path / "vocab.json").write_text(json.dumps({"[PAD]": 0, "queen": 2, "king": 1}))
    assert cli("info", vec_file, "--vocab", tmp_path / "vocab.json", "--rows", 0) == 0
    assert "types:    2/3 exact (66.7%)" in capsys.readouterr().out
    # a bad --vocab stops before the vector file is read
    (tmp_path / "bad.json").write_text("[1, 2")
    assert cli("info", tmp_path / "missing.bin", "--vocab", tmp_path / "bad.json") == 1
    assert "bad.json: not valid JSON" in capsys.readouterr().err


def test_info_help_names_word_count_lists(capsys: pytest.CaptureFixture[str]) -> None:
    # the help said "one word per line" although "word count" lines are read (test above)
    with pytest.raises(SystemExit):
        main(["info", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "a file of one word or 'word count' per line" in help_text


def test_word_lists_are_read_line_by_line(
    vec_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # one line without a count made every "word count" line a literal word ("king 5"),
    # and a BOM glued itself to the first word: both words went missing with no word of why
    (tmp_path / "mixed.txt").write_bytes("\ufeffking 5\nbanana\nqueen 2\n".encode())
    assert cli("info", vec_file, "--vocab", tmp_path / "mixed.txt", "--rows", 0) == 0
    out = capsys.readouterr().out
    assert "types:    2/3 exact (66.7%)" in out and "missing:  banana" in out
    assert "tokens:" not in out  # counts only when every word has one
    (tmp_path / "phrase.txt").write_text("king\nnew york 3\n", encoding="utf-8")
    assert cli("info", vec_file, "--vocab", tmp_path / "phrase.txt") == 1
    assert capsys.readouterr().err.endswith(
        f"{tmp_path / 'phrase.txt'}:2: expected one word, or a word and a whole-number count; "
        "found 'new york 3'\n"
    )
    (tmp_path / "latin1.txt").write_bytes(b"king\ncaf\xe9\n")
    assert cli("info", vec_file, "--vocab", tmp_path / "latin1.txt") == 1
    assert f"{tmp_path / 'latin1.txt'}:2: cannot read vocabulary file: not UTF-8" in (
        capsys.readouterr().err
    )


def test_a_word_list_is_read_bounded(
    vec_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a 1 GiB file was read whole, and 100,000 nested [ gave a RecursionError traceback
    huge = tmp_path / "huge.txt"
    with open(huge, "wb") as fh:
        fh.truncate(1 << 30)  # sparse: refused by its size, never read
    assert cli("info", vec_file, "--vocab", huge) == 1
    assert capsys.readouterr().err.endswith(
        f"{huge}: cannot read vocabulary file: it is 1024 MiB, over the 512 MiB limit for "
        "this file\n"
    )
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    assert cli("info", vec_file, "--vocab", deep) == 1
    assert capsys.readouterr().err.endswith(
        f"{deep}: not a vocabulary: nested too deeply to parse\n"
    )


def test_a_vocab_folder_is_read_through_its_vocab_json(
    vec_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a folder was called "not a regular file (a pipe or device)"; a run folder keeps its
    # vocab.json in best/, a build folder at its top
    vocab = {"tokens": ["<unk>", "king", "pear"], "counts": [0, 3, 1], "specials": ["<unk>"],
             "unk_token": "<unk>"}  # fmt: skip
    (tmp_path / "run" / "best").mkdir(parents=True)
    (tmp_path / "run" / "best" / "vocab.json").write_text(json.dumps(vocab))
    (tmp_path / "emb").mkdir()
    (tmp_path / "emb" / "vocab.json").write_text(json.dumps(vocab))
    for folder in ("run", "emb"):
        assert cli("info", vec_file, "--vocab", tmp_path / folder, "--rows", 0) == 0
        assert "types:    1/2 exact (50.0%)" in capsys.readouterr().out
    out = tmp_path / "kept.txt"
    assert cli("convert", vec_file, out, "--to", "glove", "--vocab", tmp_path / "run") == 0
    assert out.read_text().split()[0] == "king" and len(out.read_text().splitlines()) == 1
    (tmp_path / "empty").mkdir()
    assert cli("info", vec_file, "--vocab", tmp_path / "empty") == 1
    err = capsys.readouterr().err
    assert "a folder without vocab.json or best/vocab.json" in err and "pipe" not in err


@pytest.mark.parametrize("to", ["native", "glove", "word2vec", "word2vec-bin"])
def test_convert_round_trips(
    vec_file: Path, tmp_path: Path, to: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out_path = tmp_path / f"out.{to}"
    assert cli("convert", vec_file, out_path, "--to", to) == 0
    assert f"wrote 5 x 3 vectors to {out_path} ({to})" in capsys.readouterr().out
    back = vecgraft.load(out_path, cache=False)
    assert back.words == WORDS
    np.testing.assert_array_equal(back.matrix, MATRIX)


def test_a_converted_native_file_names_no_cache_of_its_source(
    vec_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the source's load metadata went into the new file: info named the source's cache entry
    assert main(["info", str(vec_file), "--rows", "0"]) == 0  # cached (conftest's folder)
    assert "cache:    " in capsys.readouterr().out
    out_path = tmp_path / "n.safetensors"
    assert main(["convert", str(vec_file), str(out_path), "--to", "native"]) == 0
    capsys.readouterr()
    assert main(["info", str(out_path), "--rows", "0"]) == 0
    assert "cache" not in capsys.readouterr().out
    assert "cache" not in vecgraft.load(out_path).metadata


def test_convert_output_dash_folder_and_compressed_native(
    vec_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # '-' wrote a file named '-', 'out/' a file named 'out', and a native 'x.gz' held
    # uncompressed bytes under a compressed name
    assert cli("convert", vec_file, "-", "--to", "glove") == 1
    assert "OUTPUT '-': convert writes a file, not standard output" in capsys.readouterr().err
    assert cli("convert", vec_file, f"{tmp_path / 'txt'}/", "--to", "glove") == 1
    assert f"{tmp_path / 'txt'}/: is a folder, not a file" in capsys.readouterr().err
    assert cli("convert", vec_file, f"{tmp_path / 'nat'}/", "--to", "native") == 0
    assert vecgraft.load(tmp_path / "nat").words == WORDS
    assert cli("convert", vec_file, tmp_path / "v.safetensors.gz", "--to", "native") == 1
    assert "native files cannot be compressed" in capsys.readouterr().err
    assert not (tmp_path / "v.safetensors.gz").exists() and not (tmp_path / "txt").exists()


def test_convert_refuses_an_existing_output_without_overwrite(
    vec_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # convert replaced any file named as OUTPUT, the input itself included
    other = tmp_path / "other.txt"
    other.write_text("keep 1 2 3\n", encoding="utf-8")
    assert cli("convert", vec_file, other, "--to", "glove") == 1
    err = capsys.readouterr().err
    assert err == (
        f"vecgraft convert: error: {other}: exists; pass --overwrite to replace it, "
        "or choose another OUTPUT\n"
    )
    assert other.read_text(encoding="utf-8") == "keep 1 2 3\n"
    before = vec_file.read_bytes()
    assert cli("convert", vec_file, vec_file, "--to", "word2vec") == 1
    assert f"{vec_file}: is the input file; pass --overwrite" in capsys.readouterr().err
    assert vec_file.read_bytes() == before
    folder = tmp_path / "native"  # a native save into a folder writes vectors.safetensors
    folder.mkdir()
    (folder / "vectors.safetensors").write_bytes(b"old")
    assert cli("convert", vec_file, folder, "--to", "native") == 1
    assert (folder / "vectors.safetensors").read_bytes() == b"old"
    assert cli("convert", vec_file, other, "--to", "glove", "--overwrite") == 0
    back = vecgraft.load(other, cache=False)
    assert back.words == WORDS
    np.testing.assert_array_equal(back.matrix, MATRIX)


def test_convert_writes_into_a_device_a_fifo_and_through_a_link(
    vec_file: Path, tmp_path: Path
) -> None:
    # `convert ... /dev/null --overwrite` as root replaced the device with a regular file,
    # a FIFO was renamed over (its reader waited forever), a link replaced by a file
    import os
    import stat
    import threading

    null = tmp_path / "null"
    try:
        os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs root")
    assert cli("convert", vec_file, null, "--to", "word2vec", "--overwrite") == 0
    assert cli("convert", vec_file, null, "--to", "native", "--overwrite") == 0
    assert stat.S_ISCHR(os.lstat(null).st_mode)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    assert cli("convert", vec_file, fifo, "--to", "glove", "--overwrite") == 0
    reader.join(10)
    assert got and got[0].startswith(b"king 1 1 0\n") and stat.S_ISFIFO(os.lstat(fifo).st_mode)
    link = tmp_path / "link.vec"
    link.symlink_to("real.vec")
    assert cli("convert", vec_file, link, "--to", "word2vec", "--overwrite") == 0
    assert link.is_symlink() and vecgraft.load(tmp_path / "real.vec").words == WORDS
    names = sorted(p.name for p in tmp_path.iterdir() if p.name != "xdg")
    assert names == ["fifo", "link.vec", "null", "real.vec", "tiny.bin"]


def test_convert_refuses_words_with_spaces_unless_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GloVe 840B holds words with spaces: gensim cannot read them back from word2vec text
    src = tmp_path / "g.txt"
    src.write_text("new york 1 0\nqueen 0 1\n", encoding="utf-8")
    out = tmp_path / "w.vec"
    assert cli("convert", src, out, "--to", "word2vec") == 1
    err = capsys.readouterr().err
    assert "cannot write word 0 ('new york') as word2vec" in err and err.count("\n") == 1
    assert "(--allow-spaces writes them anyway" in err and not out.exists()
    assert cli("convert", src, out, "--to", "word2vec", "--allow-spaces") == 0
    assert vecgraft.load(out, cache=False).words == ["new york", "queen"]


def test_convert_with_vocab_filter(vec_file: Path, tmp_path: Path) -> None:
    (tmp_path / "w.txt").write_text("man\napple\n")
    assert (
        cli(
            "convert",
            vec_file,
            tmp_path / "o.safetensors",
            "--to",
            "native",
            "--vocab",
            tmp_path / "w.txt",
        )
        == 0
    )
    assert vecgraft.load(tmp_path / "o.safetensors").words == ["man", "apple"]


def test_neighbors_ranks_by_cosine(vec_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("neighbors", vec_file, "king", "-k", 2) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "king"
    assert lines[1].split()[:2] == ["1", "queen"]
    assert lines[2].split()[:2] == ["2", "woman"]  # cos 0.839 beats man's 0.832
    score = float(lines[1].split()[2])
    expected = MATRIX[0] @ MATRIX[1] / np.linalg.norm(MATRIX[0]) / np.linalg.norm(MATRIX[1])
    assert score == pytest.approx(float(expected), abs=1e-4)


def test_neighbors_of_unseen_fasttext_word(capsys: pytest.CaptureFixture[str]) -> None:
    from gensim.test.utils import datapath

    assert cli("neighbors", datapath("lee_fasttext_new.bin"), "governmentally", "-k", 3) == 0
    out = capsys.readouterr().out
    assert out.startswith("governmentally (unseen: built from subwords)")
    assert len(out.strip().splitlines()) == 4


def test_neighbors_unknown_word_is_one_clear_line(
    vec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("neighbors", vec_file, "banana") == 1
    err = capsys.readouterr().err.strip()
    assert err == f"vecgraft neighbors: error: 'banana': not in {vec_file} (5 words, no subwords)"
    # with other words: their tables on stdout, the unknown one said on stderr as a lone
    # one's error is (it was a `banana (not in the vectors)` line among the results)
    assert cli("neighbors", vec_file, "king", "banana", "-k", 1) == 1
    said = capsys.readouterr()
    assert said.out.splitlines() == ["king", "    1  queen                    0.9959"]
    assert said.err == (
        f"vecgraft neighbors: error: 'banana': not in {vec_file} (5 words, no subwords)\n"
    )


def test_neighbors_suggests_close_spellings(
    vec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a typo got a bare "not in": the user had to guess what the file holds
    assert cli("neighbors", vec_file, "kingg") == 1
    assert capsys.readouterr().err.strip().endswith(
        "(5 words, no subwords) ('kingg': did you mean 'king'?)")
    assert cli("neighbors", vec_file, "king", "quen", "Queen", "-k", 1) == 1
    said = capsys.readouterr()
    assert "quen" not in said.out and "Queen" not in said.out
    assert said.err.splitlines() == [  # each missing word with its own hint
        f"vecgraft neighbors: error: 'quen': not in {vec_file} (5 words, no subwords) "
        "('quen': did you mean 'queen'?)",
        f"vecgraft neighbors: error: 'Queen': not in {vec_file} (5 words, no subwords) "
        "(Queen is there as 'queen': lookups are case-sensitive)",
    ]


def test_bad_file_gives_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"3 4\nabc " + b"\x00" * 5)
    assert cli("info", bad, "--format", "word2vec-bin") == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and captured.out == ""
    assert lines[0].startswith(f"vecgraft info: error: {bad}")
    assert "truncated" in lines[0] and "found 9 bytes" in lines[0]


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("info", tmp_path / "nope.txt") == 1
    assert "no such file" in capsys.readouterr().err


def test_info_on_a_transformer_checkpoint_names_from_transformer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It said "cannot detect the vector format of this folder (tried native: ...; npy: ...);
    pass --format FORMAT", which cannot help: word vectors come from `from-transformer`."""
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "config.json").write_text('{"model_type": "bert"}', encoding="utf-8")
    (ckpt / "model.safetensors").write_bytes(b"")  # only its name is looked at
    assert cli("info", ckpt) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"vecgraft info: error: {ckpt}: a transformer checkpoint folder")
    assert f"vecgraft from-transformer {ckpt} --out FILE" in err  # the folder, not "FOLDER"
    assert f"`finetune --vectors hf:{ckpt}`" in err
    assert "--format" not in err and "cannot detect" not in err
    (ckpt / "model.safetensors").unlink()  # config.json alone: not a checkpoint, the old error
    assert cli("info", ckpt) == 1
    assert "cannot detect the vector format of this folder" in capsys.readouterr().err


def test_a_model2vec_export_is_named_as_one_not_as_a_checkpoint(
    vec_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`export --to model2vec` writes config.json + model.safetensors, which `info` called a
    transformer checkpoint for from-transformer, which then failed ("cannot find the
    input-embedding tensor for model_type 'model2vec'")."""
    static = tmp_path / "m2v"
    assert main(["export", str(vec_file), "--to", "model2vec", "--out", str(static)]) == 0
    capsys.readouterr()
    assert cli("info", static) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"vecgraft info: error: {static}: a model2vec static model")
    assert "transformer checkpoint folder" not in err and "from-transformer" not in err
    assert f"StaticModel.from_pretrained({str(static)!r})" in err
    assert main(["from-transformer", str(static), "--out", str(tmp_path / "w.txt")]) == 1
    err = capsys.readouterr().err
    assert f"{static}: a model2vec static model" in err and "input-embedding" not in err
    (static / "config.json").write_text('{"model_type": "bert"}', encoding="utf-8")
    assert cli("info", static) == 1  # known by its modules.json's StaticEmbedding too
    assert "a model2vec static model" in capsys.readouterr().err


def test_hf_modes_below_the_stages_are_the_transformer_modes() -> None:
    """io parses `hf:PATH:MODE` with `_util.hf_spec`'s list, which must be the real modes."""
    from vecgraft._util.hf_spec import TRANSFORMER_MODES
    from vecgraft.transformer.encode import Mode

    assert tuple(m.value for m in Mode) == TRANSFORMER_MODES


@pytest.mark.parametrize(
    ("suffix", "suggested"),
    [
        (":contextless", " --mode contextless --out FILE"),
        (":input", " --mode input --out FILE"),
        (":corpus", " --mode corpus --corpus PATH --out FILE"),
        (":finetune", " --out FILE"),
    ],
)
def test_info_on_hf_prefix_with_a_mode_suggests_the_mode_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str, suggested: str
) -> None:
    """`info hf:PATH:contextless` suggested `from-transformer PATH:contextless`, a folder
    that does not exist; compare's mode is from-transformer's --mode."""
    assert cli("info", f"hf:{tmp_path}/model{suffix}") == 1
    err = capsys.readouterr().err
    assert f"`vecgraft from-transformer {tmp_path}/model{suggested}`" in err


def test_info_on_hf_prefix_says_what_the_prefix_is_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`info hf:PATH` said only "no such file or directory"."""
    assert cli("info", f"hf:{tmp_path}") == 1
    err = capsys.readouterr().err
    assert f"hf:{tmp_path}: no such file or directory; the hf: prefix names" in err
    assert f"vecgraft from-transformer {tmp_path} --out FILE" in err


def test_info_on_native_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "run").mkdir()
    vecgraft.save(Vectors(WORDS, MATRIX), tmp_path / "run")
    assert cli("info", tmp_path / "run") == 0
    assert "format:   native (detected)" in capsys.readouterr().out


def test_convert_fasttext_to_native_keeps_subwords(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gensim.test.utils import datapath

    out = tmp_path / "ft.safetensors"
    assert cli("convert", datapath("lee_fasttext_new.bin"), out, "--to", "native") == 0
    assert "wrote 1763 x 10 vectors" in capsys.readouterr().out
    original = vecgraft.load(datapath("lee_fasttext_new.bin"), cache=False)
    converted = vecgraft.load(out)
    assert converted.has_subwords and "unseenword" not in converted
    np.testing.assert_array_equal(converted["unseenword"], original["unseenword"])
    assert cli("info", out, "--rows", 0) == 0
    assert "subwords: yes (minn 3, maxn 6, bucket" in capsys.readouterr().out


def test_neighbors_names_a_case_variant_and_a_zero_vector(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "v.txt"
    path.write_text("King 1 0\nqueen 1 1\nzero 0 0\n")
    assert cli("neighbors", path, "king") == 1
    err = capsys.readouterr().err
    assert "(king is there as 'King': lookups are case-sensitive)" in err
    assert cli("neighbors", path, "zero") == 0
    assert capsys.readouterr().out.strip() == "zero (a zero vector: no direction, so no neighbours)"


ZH_VECTORS = "电脑 1 0 0\n软件 1 1 0\nAPP 0 1 0\napp 0 1 2\n123 0 0 1\n"


def test_neighbors_answers_by_the_simplified_or_half_width_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # "電腦" and "ＡＰＰ" on simplified, half-width vectors were a bare "not in" (exit 1)
    pytest.importorskip("opencc")
    path = tmp_path / "zh.txt"
    path.write_text(ZH_VECTORS, encoding="utf-8")
    assert cli("neighbors", path, "電腦", "ＡＰＰ", "１２３", "-k", 1) == 0
    assert capsys.readouterr().out.splitlines() == [
        "電腦 (not in the vectors: the neighbours of its simplified form 电脑)",
        "    1  软件                     0.7071",
        "",
        "ＡＰＰ (not in the vectors: the neighbours of its half-width form APP)",
        "    1  软件                     0.7071",
        "",
        "１２３ (not in the vectors: the neighbours of its half-width form 123)",
        "    1  app                      0.8944",
    ]
    assert cli("neighbors", path, "ＡＰＰ電腦", "-k", 1) == 1  # no form of it is there
    assert capsys.readouterr().err.strip() == (
        f"vecgraft neighbors: error: 'ＡＰＰ電腦': not in {path} (5 words, no subwords), nor "
        "its half-width form APP電腦, simplified form ＡＰＰ电脑 or simplified, half-width form "
        "APP电脑"
    )


def test_neighbors_says_the_forms_it_tried_for_a_word_none_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `ＡＰＰ (not in the vectors)` read as if APP had not been looked up (the README promised
    # APP's neighbours); the half-width form was tried too, and now the line says so
    path = tmp_path / "zh.txt"
    path.write_text("电脑 1 0 0\n软件 1 1 0\n", encoding="utf-8")
    assert cli("neighbors", path, "电脑", "ＡＰＰ", "-k", 1) == 1
    assert capsys.readouterr().err.strip() == (
        f"vecgraft neighbors: error: 'ＡＰＰ': not in {path} (2 words, no subwords), "
        "nor its half-width form APP"
    )
    assert cli("neighbors", path, "ＡＰＰ", "１２") == 1
    assert capsys.readouterr().err.strip() == (
        f"vecgraft neighbors: error: 'ＡＰＰ', '１２': not in {path} (2 words, no subwords), "
        "nor ＡＰＰ's half-width form APP, nor １２'s half-width form 12"
    )


def test_neighbors_names_a_case_variant_of_the_half_width_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "zh.txt"
    path.write_text(ZH_VECTORS, encoding="utf-8")
    assert cli("neighbors", path, "Ａｐｐ") == 1
    assert capsys.readouterr().err.strip().endswith(
        "(5 words, no subwords), nor its half-width form App (Ａｐｐ is there in half-width "
        "form as 'APP', 'app': "
        "lookups are case-sensitive)"
    )


def test_neighbors_of_unseen_fasttext_word_names_its_half_width_form(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # the subwords still answer (full-width n-grams are only hash collisions), but it is said
    from gensim.test.utils import datapath

    assert cli("neighbors", datapath("lee_fasttext_new.bin"), "ｇｏｖｅｒｎｍｅｎｔ", "-k", 1) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        "ｇｏｖｅｒｎｍｅｎｔ (unseen: built from subwords; its half-width form government is "
        "in the vectors)"
    )


def _lowercased_metadata(folder: Path) -> None:
    """The metadata.json `vecgraft pretrain --lower` writes beside its vectors (its gist)."""
    meta = {"method": "word2vec", "tokenizer": {"kind": "regex", "lower": True}}
    (folder / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")


def test_neighbors_lowercases_the_word_for_vectors_pretrained_lowercased(
    vec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # "King" on --lower vectors was "not in" them, with a hint that 'king' is there
    assert cli("neighbors", vec_file, "King", "-k", 1) == 1
    assert "King is there as 'king'" in capsys.readouterr().err
    _lowercased_metadata(vec_file.parent)
    assert cli("neighbors", vec_file, "King", "QUEENS", "-k", 1) == 1
    said = capsys.readouterr()
    assert said.out.splitlines() == [
        "King (lowercased, as the vectors were trained: king)",
        "    1  queen                    0.9959",
    ]
    assert said.err.strip().endswith(
        "(5 words, no subwords) (looked up lowercased, as the vectors were trained: "
        "'queens') ('queens': did you mean 'queen'?)"
    )


def test_neighbors_lowercases_the_word_before_fasttext_builds_it_from_subwords(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # fastText built a vector from the subwords of "Government", a case its corpus never had
    import shutil

    from gensim.test.utils import datapath

    model = tmp_path / "ft" / "model.bin"
    model.parent.mkdir()
    shutil.copyfile(datapath("lee_fasttext_new.bin"), model)
    _lowercased_metadata(model.parent)
    assert cli("neighbors", model, "GOVERNMENT", "Governmentally", "-k", 1) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "GOVERNMENT (lowercased, as the vectors were trained: government)"
    assert lines[3] == (
        "Governmentally (lowercased, as the vectors were trained: governmentally; unseen: "
        "built from subwords)"
    )
    assert cli("neighbors", datapath("lee_fasttext_new.bin"), "GOVERNMENT", "-k", 1) == 0
    assert capsys.readouterr().out.startswith("GOVERNMENT (unseen: built from subwords)")


def _zh_fasttext(folder: Path) -> Path:
    """Tiny fastText vectors pretrained with --simplified --halfwidth (their metadata says so)."""
    from vecgraft.pretrain.api import pretrain
    from vecgraft.pretrain.config import PretrainConfig
    from vecgraft.text.tokenize import Tokenizer

    corpus = folder / "zh.txt"
    lines = ["我的 电脑 很 好", "WIFI 信号 很 差", "电脑 软件 很 好", "WIFI 很 快"] * 20
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tokenizer = Tokenizer("whitespace", simplified=True, halfwidth=True)
    config = PretrainConfig(method="fasttext", corpus=[str(corpus)], out=str(folder / "ft"),
                            dim=8, min_count=1, epochs=1, workers=1, min_n=1, max_n=2,
                            bucket=100, tokenizer=tokenizer, progress=False)  # fmt: skip
    pretrain(config)
    return folder / "ft"


def test_neighbors_normalises_the_word_as_the_fasttext_vectors_text_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 電腦 on --simplified fastText vectors was built from subwords of a script their corpus
    # never had ("unseen: built from subwords; its simplified form 电脑 is in the vectors"),
    # and intrinsic --neighbors printed those neighbours with no note
    pytest.importorskip("opencc")
    pytest.importorskip("gensim")
    folder = _zh_fasttext(tmp_path)
    assert cli("neighbors", folder, "電腦", "ＷＩＦＩ信號", "-k", 1) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "電腦 (simplified, as the vectors were trained: 电脑)"
    assert lines[3] == (
        "ＷＩＦＩ信號 (half-width and simplified, as the vectors were trained: WIFI信号; unseen: "
        "built from subwords)"
    )
    assert main(["intrinsic", str(folder), "--neighbors", "電腦", "ＷＩＦＩ", "-k", "1"]) == 0
    out = capsys.readouterr().out
    assert "\n電腦: (simplified, as the vectors were trained: 电脑) " in out
    assert "\nＷＩＦＩ: (half-width, as the vectors were trained: WIFI) " in out


@pytest.mark.parametrize("name", ["latin1.txt", "latin1.bin"])
def test_info_counts_words_with_invalid_utf8_in_every_format(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # the text readers record the count as "unicode_errors": info showed it for binaries only
    path = tmp_path / name
    if name.endswith(".txt"):
        path.write_bytes("caf\xe9 1 2\nb 3 4\n".encode("latin-1"))
    else:
        write_w2v_bin(path, ["b"], np.ones((1, 2), np.float32))
        path.write_bytes(path.read_bytes().replace(b"\nb ", "\ncaf\xe9 ".encode("latin-1")))
    assert cli("info", path, "--unicode-errors", "replace") == 0
    out, err = capsys.readouterr()
    assert "unicode replacements: 1" in out
    # the command shows a Python warning as one line (cli.main's hook), not via warnings.warn's
    # record, which the hook bypasses
    assert f"warning: {path}: 1 words had invalid UTF-8 (unicode_errors='replace')\n" == err


def test_vectors_encoding_reads_a_fasttext_bin_of_cp852_words(tmp_path, capsys):
    # vecgraft.load(path, encoding="cp852") read it; the commands had no flag for it and
    # refused its words as not UTF-8
    from gensim.test.utils import datapath

    argv = ["info", datapath("cp852_fasttext.bin"), "--cache-dir", str(tmp_path)]
    assert main([*argv, "--vectors-encoding", "cp852"]) == 0
    assert "  který " in capsys.readouterr().out
    assert main([*argv, "--vectors-encoding", "nope"]) == 1
    assert capsys.readouterr().err.strip() == (
        "vecgraft info: error: --vectors-encoding nope: not a text encoding Python knows "
        "(e.g. utf-8, cp852, latin-1, gb18030)"
    )


@pytest.mark.parametrize("name", ["idna", "undefined"])
def test_vectors_encoding_of_a_codec_that_decodes_nothing_is_refused(tmp_path, capsys, name):
    # Python knows both names, but their decoding raised a UnicodeError: a traceback
    glove = tmp_path / "g.txt"
    glove.write_text("a 1 2\nb 3 4\n", encoding="utf-8")
    assert main(["info", str(glove), "--vectors-encoding", name]) == 1
    assert capsys.readouterr().err == (
        f"vecgraft info: error: --vectors-encoding {name}: not a text encoding Python knows "
        "(e.g. utf-8, cp852, latin-1, gb18030)\n"
    )


def test_vectors_encoding_is_named_as_the_flag_where_a_command_has_it(tmp_path, capsys):
    # the refusal of a text file said "encoding='latin-1' applies to fastText .bin files
    # only", a keyword the user never typed; a cp852 fastText .bin's hint left the flag out
    from gensim.test.utils import datapath

    glove = tmp_path / "g.txt"
    glove.write_text("a 1 2\nb 3 4\n", encoding="utf-8")
    assert main(["info", str(glove), "--vectors-encoding", "latin-1"]) == 1
    assert capsys.readouterr().err == (
        "vecgraft info: error: --vectors-encoding latin-1 applies to fastText .bin files only; "
        "this file is glove, whose words are read as UTF-8 (convert it first: iconv -f "
        "latin-1 -t UTF-8)\n"
    )
    path = datapath("cp852_fasttext.bin")
    for command in (["info", path, "--no-cache"], ["intrinsic", path]):
        assert main(command) == 1
        assert capsys.readouterr().err == (
            f"vecgraft {command[0]}: error: {path} (byte 88): word b'kter\\xec' is not valid "
            "UTF-8 (unexpected end of data); pass --vectors-encoding NAME"
            + " or --unicode-errors replace" * (command[0] == "info") + "\n"
        )


def test_intrinsic_reads_a_fasttext_bin_of_cp852_words(tmp_path, capsys):
    # `intrinsic` read vectors with no way to give their encoding
    from gensim.test.utils import datapath

    path = datapath("cp852_fasttext.bin")
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("který\tvy\t1\nvy\tre\t2\nkterý\tre\t3\n", encoding="utf-8")
    assert main(["intrinsic", path, "--vectors-encoding", "cp852", "--neighbors", "který",
                 "-k", "1", "--similarity", str(pairs)]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "Vectors(171 x 2, " in out and "\nkterý: " in out
    glove = tmp_path / "g.txt"
    glove.write_text("a 1 2\nb 3 4\n", encoding="utf-8")
    assert main(["intrinsic", str(glove), "--vectors-encoding", "latin-1"]) == 1
    assert capsys.readouterr().err.startswith(
        "vecgraft intrinsic: error: --vectors-encoding latin-1 applies to fastText .bin files "
        "only; "
    )
    assert main(["intrinsic", path, "--vectors-encoding", "nope"]) == 1
    assert capsys.readouterr().err == (
        "vecgraft intrinsic: error: --vectors-encoding nope: not a text encoding Python knows "
        "(e.g. utf-8, cp852, latin-1, gb18030)\n"
    )


def _czech_task(tmp_path: Path) -> Path:
    """A labelled file of words of gensim's cp852_fasttext.bin (its words are cp852)."""
    pos, neg = ["který již být", "více bude ten"], ["než vás by", "pouze nás není"]
    rows = [f"{pos[i % 2]} {i},pos\n{neg[i % 2]} {i},neg\n" for i in range(20)]
    train = tmp_path / "t.csv"
    train.write_text("text,label\n" + "".join(rows), encoding="utf-8")
    return train


UNDECODED = (
    "word b'kter\\xec' is not valid UTF-8 (unexpected end of data); pass --vectors-encoding "
    "NAME\n"
)


def test_compare_reads_a_fasttext_bin_of_cp852_words_in_its_cells(tmp_path, capsys):
    # compare refused --vectors-encoding ("convert it first"): each cell read the source
    # again by its name, as UTF-8. The source's encoding now reaches its cells, a GloVe
    # source beside it is read as UTF-8, and a rerun in another encoding is refused
    from gensim.test.utils import datapath

    path = datapath("cp852_fasttext.bin")
    glove = tmp_path / "g.txt"
    glove.write_text("který 1 0\nnež 0 1\n", encoding="utf-8")
    out = tmp_path / "cmp"
    argv = ["compare", "--train", str(_czech_task(tmp_path)), "--sources", f"ft={path}",
            f"g={glove}", "--model", "boe", "--epochs", "1", "--no-intrinsic", "--no-linear",
            "--set", "plots=false", "--set", "progress=false", "--out", str(out)]  # fmt: skip
    assert main(argv) == 1
    assert capsys.readouterr().err == f"vecgraft compare: error: {path} (byte 88): {UNDECODED}"
    assert main([*argv, "--vectors-encoding", "CP852"]) == 0
    data = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    assert data["settings"]["compare"]["vectors_encoding"] == "cp852"
    ft, g = data["sources"]
    assert (ft["name"], ft["encoding"], g["name"], "encoding" in g) == ("ft", "cp852", "g", False)
    cell = out / "cells" / "ft" / "frac-1" / "seed-0"
    notes = json.loads((cell / "splits.json").read_text(encoding="utf-8"))
    assert notes["vector_options"] == {"vectors_encoding": "cp852"}  # a resumed cell reads so
    alignment = json.loads((cell / "alignment.json").read_text(encoding="utf-8"))
    assert alignment["types_matched"] == alignment["types"]  # its words (and subwords) read
    capsys.readouterr()
    assert main([*argv, "--vectors-encoding", "IBM852"]) == 0  # the same codec: reused
    assert "[1/2] ft fraction 1 seed 0: " in capsys.readouterr().out
    assert main([*argv, "--vectors-encoding", "latin-1"]) == 1
    assert capsys.readouterr().err == (
        f"vecgraft compare: error: {cell}: this cell was run with other settings "
        "(vectors_encoding: 'cp852' -> 'iso8859-1'); use another --out or delete the folder\n"
    )
    no_bin = ["compare", "--train", "t.csv", "--sources", str(glove), "--out", str(tmp_path / "o")]
    assert main([*no_bin, "--vectors-encoding", "cp852"]) == 1
    assert capsys.readouterr().err == (
        "vecgraft compare: error: --vectors-encoding cp852 is only used with a source that is "
        "a fastText .bin (the other formats are read as UTF-8)\n"
    )


def test_compare_and_tune_refuse_an_unknown_vectors_encoding_before_other_errors(tmp_path, capsys):
    # the commands check the flag first; their library calls check it again, later (after
    # --config's errors) or not at all (--report-only): dropping the commands' check would
    # let those errors, or a silent --report-only, come first
    missing = str(tmp_path / "missing.yaml")
    for argv in (
        ["compare", "--report-only", "--out", str(tmp_path / "none")],
        ["tune", "--train", "t.csv", "--config", missing, "--out", str(tmp_path / "t")],
    ):
        assert main([*argv, "--vectors-encoding", "nope"]) == 1
        assert capsys.readouterr().err == (
            f"vecgraft {argv[0]}: error: --vectors-encoding nope: not a text encoding Python "
            "knows (e.g. utf-8, cp852, latin-1, gb18030)\n"
        )


def test_tune_reads_a_fasttext_bin_of_cp852_words_and_keeps_the_encoding(tmp_path, capsys):
    # tune refused --vectors-encoding ("convert it first"); its encoding is now how the
    # trials and the final run read the file, a setting of the study (a later command in
    # another one is refused) and in tune.json and best.yaml
    from gensim.test.utils import datapath

    path = datapath("cp852_fasttext.bin")
    (tmp_path / "c.yaml").write_text("model: boe\nepochs: 1\nmax_length: 16\n", encoding="utf-8")
    out = tmp_path / "tune"
    argv = ["tune", "--train", str(_czech_task(tmp_path)), "--vectors", path, "--config",
            str(tmp_path / "c.yaml"), "--trials", "1", "--seed", "0", "--out", str(out),
            "--no-progress"]  # fmt: skip
    assert main(argv) == 1
    assert capsys.readouterr().err == f"vecgraft tune: error: {path} (byte 88): {UNDECODED}"
    assert main([*argv, "--vectors-encoding", "cp852"]) == 0
    summary = json.loads((out / "tune.json").read_text(encoding="utf-8"))
    assert summary["vectors_encoding"] == "cp852"
    alignment = json.loads((out / "final" / "alignment.json").read_text(encoding="utf-8"))
    assert alignment["types_matched"] == alignment["types"]
    best = (out / "best.yaml").read_text(encoding="utf-8").splitlines()
    assert best[1] == (
        "# its vectors' words are cp852: add --vectors-encoding cp852 to read them as the "
        "search did"
    )
    capsys.readouterr()
    assert main([*argv, "--vectors-encoding", "latin-1"]) == 1
    assert capsys.readouterr().err == (
        f"vecgraft tune: error: {out}: this study ran with other settings or data "
        "(vectors_encoding: 'cp852' -> 'iso8859-1'); use another --out to start a new search\n"
    )
    no_file = ["tune", "--train", "t.csv", "--out", str(tmp_path / "r")]
    assert main([*no_file, "--vectors-encoding", "cp852"]) == 1
    assert capsys.readouterr().err == (
        "vecgraft tune: error: --vectors-encoding cp852 is only used with --vectors PATH\n"
    )
    assert main([*no_file, "--vectors-encoding", "nope"]) == 1
    assert capsys.readouterr().err == (
        "vecgraft tune: error: --vectors-encoding nope: not a text encoding Python knows "
        "(e.g. utf-8, cp852, latin-1, gb18030)\n"
    )


@pytest.mark.parametrize("to", ["word2vec", "glove", "word2vec-bin"])
def test_convert_says_how_far_its_write_got(
    vec_file: Path, tmp_path: Path, to: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # a 400k x 300 word2vec text file was written for 18 s without a word; in a pipe or log
    # file (stderr here) a line every WRITE_LINE_SECONDS (0: each block) says the rows written
    from vecgraft.io import base, text, word2vec_bin

    monkeypatch.setattr(base, "WRITE_LINE_SECONDS", 0.0)
    monkeypatch.setattr(text, "_WRITE_ROWS", 2)
    monkeypatch.setattr(word2vec_bin, "_WRITE_ROWS", 2)
    out = tmp_path / "out.vec"
    assert cli("convert", vec_file, out, "--to", to) == 0
    lines = capsys.readouterr().err.splitlines()
    assert [line.rsplit(" (", 1)[0] for line in lines] == [
        f"writing out.vec (rows) {n}/5" for n in (2, 4, 5)
    ]
    assert cli("convert", vec_file, out, "--to", to, "--overwrite", "--no-progress") == 0
    assert capsys.readouterr().err == ""
    assert vecgraft.load(out, cache=False).words == WORDS


def test_save_is_silent_unless_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from vecgraft.io import base

    monkeypatch.setattr(base, "WRITE_LINE_SECONDS", 0.0)
    vecgraft.save(Vectors(WORDS, MATRIX), tmp_path / "a.vec")
    assert capsys.readouterr().err == ""
    vecgraft.save(Vectors(WORDS, MATRIX), tmp_path / "a.vec", progress=None)
    assert capsys.readouterr().err.startswith("writing a.vec (rows) 5/5 (")


def test_neighbors_and_lookups_compare_words_in_nfc(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the query "cafe" + U+0301 was "not in" a table storing "café", and the reverse
    nfd = "cafe\u0301"
    path = tmp_path / "fr.vec"
    path.write_text("café 1 0\nthé 1 1\ncafe 0 1\n", encoding="utf-8")
    assert cli("neighbors", path, nfd, "-k", 1, "--no-cache") == 0
    assert capsys.readouterr().out.splitlines() == [nfd, "    1  thé                      0.7071"]
    v = vecgraft.load(path, cache=False)
    assert nfd in v and v.get(nfd).tolist() == [1.0, 0.0]
    assert [w for w, _ in v.most_similar(nfd, k=2)] == ["thé", "cafe"]
    stored = Vectors([nfd, "cafe"], np.eye(2, dtype=np.float32))
    assert "café" in stored and stored["café"].tolist() == [1.0, 0.0]
    assert Vectors([nfd, "café"], np.eye(2, dtype=np.float32))["café"].tolist() == [0.0, 1.0]
