"""The native load cache: written once, memory-mapped after, rebuilt when stale or corrupt."""

from __future__ import annotations

import os
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

import vecgraft
from io_helpers import fasttext_bin_bytes, small_vectors, write_w2v_bin
from vecgraft.io import _textparse
from vecgraft.io import cache as cache_mod
from vecgraft.io.native import read_native_file


@pytest.fixture(autouse=True)
def _private_cache_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep any default-location cache inside tmp_path (never the real ~/.cache)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


@pytest.fixture()
def source(tmp_path: Path) -> Path:
    v = small_vectors(40, 6)
    return write_w2v_bin(tmp_path / "vectors.bin", v.words, v.matrix)


def entries(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.safetensors")) if directory.exists() else []


def is_mapped(matrix: np.ndarray) -> bool:
    return isinstance(matrix, np.memmap) or isinstance(matrix.base, np.memmap)


def test_first_load_writes_cache_second_maps_it(source: Path, tmp_path: Path) -> None:
    cdir = tmp_path / "cache"
    first = vecgraft.load(source, cache_dir=cdir)
    assert len(entries(cdir)) == 1
    assert first.metadata["cache"] == str(entries(cdir)[0])
    second = vecgraft.load(source, cache_dir=cdir)
    assert is_mapped(second.matrix)
    assert second.words == first.words
    np.testing.assert_array_equal(second.matrix, first.matrix)
    assert second.metadata["format"] == "word2vec-bin"  # the source's format, not "native"
    assert second.source == str(source)


def test_default_location_is_xdg_cache_home(source: Path, tmp_path: Path) -> None:
    vecgraft.load(source)
    assert len(entries(tmp_path / "xdg" / "vecgraft")) == 1


def test_cache_false_writes_nothing(source: Path, tmp_path: Path) -> None:
    vecgraft.load(source, cache=False, cache_dir=tmp_path / "cache")
    assert entries(tmp_path / "cache") == []


def test_small_sources_can_be_exempted(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_mod, "MIN_SOURCE_BYTES", 1 << 20)
    vecgraft.load(source, cache_dir=tmp_path / "cache")
    assert entries(tmp_path / "cache") == []


def test_options_are_part_of_the_key(source: Path, tmp_path: Path) -> None:
    cdir = tmp_path / "cache"
    # bounded loads first: with the whole entry there they are served from it
    some = vecgraft.load(source, cache_dir=cdir, vocab=["cat", "w10"])
    few = vecgraft.load(source, cache_dir=cdir, limit=3)
    full = vecgraft.load(source, cache_dir=cdir)
    assert len(entries(cdir)) == 3
    assert some.words == ["cat", "w10"] and few.words == full.words[:3]
    again = vecgraft.load(source, cache_dir=cdir, vocab=["w10", "cat"])  # same set, same key
    assert again.words == ["cat", "w10"] and is_mapped(again.matrix)
    assert len(entries(cdir)) == 3


def test_changed_source_is_rebuilt_and_old_entry_removed(source: Path, tmp_path: Path) -> None:
    cdir = tmp_path / "cache"
    vecgraft.load(source, cache_dir=cdir)
    old = entries(cdir)
    v = small_vectors(40, 6, seed=9)
    write_w2v_bin(source, v.words, v.matrix)
    st = source.stat()
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    fresh = vecgraft.load(source, cache_dir=cdir)
    np.testing.assert_array_equal(fresh.matrix, v.matrix)
    assert len(entries(cdir)) == 1 and entries(cdir) != old


@pytest.mark.parametrize("damage", ["truncate", "flip_word", "garbage_header", "empty"])
def test_corrupt_cache_is_detected_and_rebuilt(source: Path, tmp_path: Path, damage: str) -> None:
    cdir = tmp_path / "cache"
    first = vecgraft.load(source, cache_dir=cdir)
    (entry,) = entries(cdir)
    data = bytearray(entry.read_bytes())
    if damage == "truncate":
        data = data[:-100]
    elif damage == "flip_word":
        data[-3] ^= 0x01  # inside the word list: the checksum catches it
    elif damage == "garbage_header":
        data[8:20] = b"not json!!!!"
    else:
        data = bytearray()
    entry.write_bytes(bytes(data))
    again = vecgraft.load(source, cache_dir=cdir)
    assert again.words == first.words
    np.testing.assert_array_equal(again.matrix, first.matrix)
    read_native_file(entries(cdir)[0])  # rebuilt entry is valid again


def test_entry_for_another_key_is_not_used(source: Path, tmp_path: Path) -> None:
    cdir = tmp_path / "cache"
    vecgraft.load(source, cache_dir=cdir)
    (entry,) = entries(cdir)
    other = small_vectors(3, 6)
    vecgraft.save(other, entry)  # valid native file, but no cache key inside
    back = vecgraft.load(source, cache_dir=cdir)
    assert len(back) == 40


def test_fasttext_subwords_survive_caching(tmp_path: Path) -> None:
    from gensim.test.utils import datapath

    cdir = tmp_path / "cache"
    fresh = vecgraft.load(datapath("lee_fasttext_new.bin"), cache_dir=cdir)
    cached = vecgraft.load(datapath("lee_fasttext_new.bin"), cache_dir=cdir)
    assert is_mapped(cached.matrix) and cached.has_subwords
    assert cached.subword is not None and is_mapped(cached.subword.ngrams)  # type: ignore[attr-defined]
    for w in ["nonexistentword", "ünïcödé", fresh.words[3]]:
        np.testing.assert_array_equal(cached[w], fresh[w])
    assert "nonexistentword" not in cached


def test_unwritable_cache_dir_does_not_fail_the_load(source: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file_not_dir"
    blocker.write_text("x")
    with pytest.warns(UserWarning, match="could not write the vecgraft load cache"):
        loaded = vecgraft.load(source, cache_dir=blocker / "sub")
    assert len(loaded) == 40
    assert loaded.metadata["cache"] is None and loaded.metadata["cache_error"]


def test_cache_key_changes_with_mtime(source: Path) -> None:
    from vecgraft.io import FORMATS
    from vecgraft.io.base import LoadOptions, Source

    src = Source.from_path(source)
    fmt = FORMATS["word2vec-bin"]
    k1 = cache_mod.cache_key(src, fmt, LoadOptions())
    assert k1 == cache_mod.cache_key(src, fmt, LoadOptions(progress=True))  # display only
    st = source.stat()
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    assert cache_mod.cache_key(src, fmt, LoadOptions()) != k1
    assert cache_mod.cache_key(src, fmt, LoadOptions(vocab=frozenset({"a"}))) != k1


def test_a_rewrite_that_keeps_size_and_mtime_is_not_served_from_the_cache(
    source: Path, tmp_path: Path
) -> None:
    cdir = tmp_path / "cache"
    before = vecgraft.load(source, cache_dir=cdir)
    st = source.stat()
    data = bytearray(source.read_bytes())
    data[-5] ^= 0x01  # one bit of the last row's last float: same size
    source.write_bytes(bytes(data))
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns))  # as cp -p / rsync -a leave it
    assert source.stat().st_size == st.st_size and source.stat().st_mtime_ns == st.st_mtime_ns
    after = vecgraft.load(source, cache_dir=cdir)
    fresh = vecgraft.load(source, cache=False)
    np.testing.assert_array_equal(after.matrix, fresh.matrix)
    assert not np.array_equal(after.matrix, before.matrix)


def test_a_tilde_means_home_in_the_path_the_cache_and_save(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    (home / "v").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    (home / "v" / "vectors.bin").write_bytes(source.read_bytes())
    loaded = vecgraft.load("~/v/vectors.bin", cache_dir="~/vgc")
    assert loaded.words == vecgraft.load(source, cache=False).words
    assert len(entries(home / "vgc")) == 1 and not (tmp_path / "~").exists()
    vecgraft.save(loaded, "~/v/copy.txt", format="glove")
    assert (home / "v" / "copy.txt").is_file()


def test_a_fasttext_bins_encoding_is_part_of_the_key(source: Path, tmp_path: Path) -> None:
    from gensim.test.utils import datapath

    from vecgraft.io.base import LoadOptions, Source
    from vecgraft.io.fasttext_bin import FASTTEXT_BIN

    cdir, path = tmp_path / "cache", datapath("cp852_fasttext.bin")
    cp852 = vecgraft.load(path, cache_dir=cdir, encoding="cp852")
    latin = vecgraft.load(path, cache_dir=cdir, encoding="latin-1")
    assert len(entries(cdir)) == 2 and cp852.words[1] == "který" and latin.words[1] == "kterì"
    again = vecgraft.load(path, cache_dir=cdir, encoding="CP852")  # the same codec
    assert is_mapped(again.matrix) and again.words == cp852.words and len(entries(cdir)) == 2
    assert again.metadata["encoding"] == "cp852"
    # a UTF-8 load keeps the key it had before encoding= existed: old caches stay valid
    fields = {
        "cache_version": cache_mod.CACHE_VERSION, "format": "fasttext-bin",
        "path": str(Path(path).resolve()), "vocab": None, "keep_casefold": None,
        "keep_normalized": None, "limit": None, "unicode_errors": "strict",
        "bad_rows": "error", "allow_nonfinite": False,
    }  # fmt: skip
    key = cache_mod.options_key(Source.from_path(path), FASTTEXT_BIN, LoadOptions())
    assert key == cache_mod._digest(fields)


# -- bounded loads served from the whole file's entry ----------------------------------------
def _glove_rows() -> str:
    """GloVe text with case variants, digit words sharing a normalised key and duplicates."""
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(60)] + ["Cat", "cat", "CAT", "dog", "w3", "Dog", "1987"]
    words += ["2024", "cat", "émile", "Émile", "w7", "˚", "¨"]
    return "".join(
        f"{w} {' '.join(f'{x:.6g}' for x in rng.standard_normal(4))}\n" for w in words
    )


@pytest.fixture()
def glove(tmp_path: Path) -> Path:
    path = tmp_path / "g.txt"
    path.write_text(_glove_rows(), encoding="utf-8")
    return path


def _parsed(path: Path, **kwargs: object) -> vecgraft.Vectors:
    return vecgraft.load(path, cache=False, **kwargs)  # type: ignore[arg-type]


def _same(served: vecgraft.Vectors, parsed: vecgraft.Vectors) -> None:
    assert served.words == parsed.words
    assert np.asarray(served.matrix).tobytes() == np.asarray(parsed.matrix).tobytes()
    facts = {k: v for k, v in served.metadata.items() if k != "cache"}
    assert facts == parsed.metadata


def _served_from_whole(
    path: Path, cdir: Path, kwargs: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> vecgraft.Vectors:
    """Load `path` whole, then bounded by `kwargs`: served from the whole entry, no parse."""
    vecgraft.load(path, cache_dir=cdir)
    (whole,) = entries(cdir)
    with monkeypatch.context() as patch:
        patch.setattr(cache_mod.Format, "load", lambda *a: pytest.fail("parsed, not served"))
        served = vecgraft.load(path, cache_dir=cdir, **kwargs)  # type: ignore[arg-type]
    assert entries(cdir) == [whole]  # no entry of its own
    assert served.metadata["cache"] == str(whole)
    return served


@pytest.mark.filterwarnings("ignore:.*duplicate words")
@pytest.mark.parametrize(
    "kwargs",
    [
        {"vocab": ["cat", "w3", "dog", "emile", "w7"]},  # duplicates of wanted words
        {"vocab": ["cat", "w45"]},  # duplicates of one wanted word only
        {"vocab": ["¨"]},  # "˚" shares its normalized key " "
        {"vocab": ["nothing-here"]},
        {"vocab": ["cat", "w3"], "limit": 40},
        {"limit": 50},  # before the first duplicate
        {"limit": 0},
    ],
)
def test_bounded_load_is_served_from_the_whole_entry_as_parsed(
    glove: Path, tmp_path: Path, kwargs: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_textparse, "CHUNK_BYTES", 128)  # chunks with no wanted line
    if "limit" in kwargs:  # limit counts file lines: a whole entry without duplicates
        glove.write_text("".join(_glove_rows().splitlines(True)[:62]), encoding="utf-8")
    served = _served_from_whole(glove, tmp_path / "cache", kwargs, monkeypatch)
    assert served.source == str(glove)
    assert not is_mapped(np.asarray(served.matrix)) and served.matrix.flags.owndata
    _same(served, _parsed(glove, **kwargs))


def _binary_rows() -> tuple[list[str], np.ndarray]:
    """The words of `_glove_rows` (case variants, shared normalised keys, duplicates)."""
    words = [line.split(" ", 1)[0] for line in _glove_rows().splitlines()]
    return words, np.random.default_rng(5).standard_normal((len(words), 4)).astype(np.float32)


@pytest.fixture()
def w2v_bin(tmp_path: Path) -> Path:
    return write_w2v_bin(tmp_path / "g.bin", *_binary_rows())


@pytest.fixture()
def fasttext(tmp_path: Path) -> Path:
    words, _ = _binary_rows()
    first = [w for i, w in enumerate(words) if w not in words[:i]]  # a dictionary is unique
    inp = np.random.default_rng(6).standard_normal((len(first) + 50, 4)).astype(np.float32)
    path = tmp_path / "g.ft.bin"
    path.write_bytes(fasttext_bin_bytes(first, inp, dim=4, bucket=50))
    return path


@pytest.mark.filterwarnings("ignore:.*duplicate words")
@pytest.mark.parametrize("kind", ["w2v_bin", "fasttext"])
@pytest.mark.parametrize(
    "kwargs",
    [
        {"vocab": ["cat", "w3", "dog", "emile", "w7"]},  # duplicates of wanted words
        {"vocab": ["¨"]},  # "˚" shares its normalized key " "
        {"vocab": ["nothing-here"]},
        {"limit": 50},
        {"limit": 0},
        {"vocab": ["cat", "w3"], "limit": 40},
    ],
)
def test_bounded_binary_load_is_served_from_the_whole_entry_as_parsed(
    kind: str, kwargs: dict[str, object], request: pytest.FixtureRequest, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    path = request.getfixturevalue(kind)
    cdir = tmp_path / "cache"
    if kind == "w2v_bin" and "limit" in kwargs:  # limit counts file rows: no duplicates
        words, rows = _binary_rows()
        write_w2v_bin(path, words[:62], rows[:62])
    served = _served_from_whole(path, cdir, kwargs, monkeypatch)
    parsed = _parsed(path, **kwargs)
    _same(served, parsed)
    if kind == "fasttext":  # unseen words are built from the same n-gram table
        assert served.subword is not None
        np.testing.assert_array_equal(served["catalogue"], parsed["catalogue"])


@pytest.mark.filterwarnings("ignore:.*duplicate words")
def test_binary_limit_over_duplicates_is_parsed_not_served(w2v_bin: Path, tmp_path: Path) -> None:
    cdir = tmp_path / "cache"
    vecgraft.load(w2v_bin, cache_dir=cdir)
    few = vecgraft.load(w2v_bin, cache_dir=cdir, limit=66)  # the file's first 66 rows
    assert few.words[-3:] == ["CAT", "dog", "Dog"] and few.metadata["duplicates"] == 1
    assert len(entries(cdir)) == 2


def test_limit_over_duplicates_is_parsed_not_served(glove: Path, tmp_path: Path) -> None:
    cdir = tmp_path / "cache"
    with pytest.warns(UserWarning, match="duplicate"):
        vecgraft.load(glove, cache_dir=cdir)
        few = vecgraft.load(glove, cache_dir=cdir, limit=66)  # the file's first 66 lines
    assert few.words[-4:] == ["cat", "CAT", "dog", "Dog"] and few.metadata["duplicates"] == 1
    assert len(entries(cdir)) == 2


@pytest.mark.filterwarnings("ignore:.*duplicate words")
def test_stale_whole_entry_is_not_served(glove: Path, tmp_path: Path) -> None:
    cdir = tmp_path / "cache"
    vecgraft.load(glove, cache_dir=cdir)
    (old,) = entries(cdir)
    glove.write_text("cat 9 9 9 9\ndog 8 8 8 8\n", encoding="utf-8")
    some = vecgraft.load(glove, cache_dir=cdir, vocab=["cat"])
    assert some.words == ["cat"] and some.matrix.tolist() == [[9, 9, 9, 9]]
    assert len(entries(cdir)) == 2  # the stale whole entry and the new vocab entry
    assert some.metadata["cache"] != str(old)


def test_whole_entry_with_skipped_rows_is_not_served(glove: Path, tmp_path: Path) -> None:
    glove.write_text("cat 1 2\nbad 1\ndog 3 4\n", encoding="utf-8")
    cdir = tmp_path / "cache"
    with pytest.warns(UserWarning, match="skipped"):
        vecgraft.load(glove, cache_dir=cdir, bad_rows="skip")
        some = vecgraft.load(glove, cache_dir=cdir, bad_rows="skip", vocab=["dog"])
    assert some.words == ["dog"] and len(entries(cdir)) == 2


# -- a vocab= load's rows of the whole entry, kept for its repeats ---------------------------
def _rows_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.rows.npz"))


@pytest.mark.filterwarnings("ignore:.*duplicate words")
@pytest.mark.parametrize("kind", ["glove", "w2v_bin", "fasttext"])
def test_repeated_vocab_load_reuses_the_kept_rows(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = request.getfixturevalue(kind)
    cdir = tmp_path / "cache"
    kwargs = {"vocab": ["cat", "w3", "¨", "dog", "emile"]}
    vecgraft.load(path, cache_dir=cdir)
    first = vecgraft.load(path, cache_dir=cdir, **kwargs)  # type: ignore[arg-type]
    (rows,) = _rows_files(cdir)
    with monkeypatch.context() as patch:  # neither parsed nor selected again
        patch.setattr(cache_mod.Format, "load", lambda *a: pytest.fail("parsed"))
        patch.setattr(cache_mod.LoadOptions, "wanted_mask", lambda *a: pytest.fail("selected"))
        again = vecgraft.load(path, cache_dir=cdir, **kwargs)  # type: ignore[arg-type]
    _same(again, _parsed(path, **kwargs))
    assert again.words == first.words and again.metadata["cache"] == first.metadata["cache"]
    assert _rows_files(cdir) == [rows] and len(entries(cdir)) == 1


def _npy_data_offset(path: Path, member: str) -> int:
    """Where the array data of `member` (a stored .npy in an .npz) starts in the file."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
        assert info.compress_type == zipfile.ZIP_STORED
        with archive.open(info) as fh:
            version = np.lib.format.read_magic(fh)
            assert version == (1, 0)
            np.lib.format.read_array_header_1_0(fh)
            npy_header = fh.tell()
    name_len, extra_len = struct.unpack_from("<HH", path.read_bytes(), info.header_offset + 26)
    return info.header_offset + 30 + name_len + extra_len + npy_header


def test_damaged_or_foreign_rows_file_is_not_served(glove: Path, tmp_path: Path) -> None:
    cdir = tmp_path / "cache"
    with pytest.warns(UserWarning, match="duplicate"):
        vecgraft.load(glove, cache_dir=cdir)
    vecgraft.load(glove, cache_dir=cdir, vocab=["cat"])
    (rows,) = _rows_files(cdir)
    with np.load(rows) as kept:
        assert kept["rows"].tolist() == [60, 61, 62]  # Cat, cat, CAT
    data = bytearray(rows.read_bytes())
    # the low byte of the last index: 62 -> 63 ("dog"), still ascending and in range, so
    # only the zip member's CRC tells the stored indices are damaged
    data[_npy_data_offset(rows, "rows.npy") + 2 * 8] ^= 0x01
    rows.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match="duplicate"):
        expected = _parsed(glove, vocab=["cat"])
    _same(vecgraft.load(glove, cache_dir=cdir, vocab=["cat"]), expected)  # selected again
    assert _rows_files(cdir) == [rows]  # the damaged file rebuilt
    with np.load(rows) as rebuilt:
        assert rebuilt["rows"].tolist() == [60, 61, 62]
    vecgraft.load(glove, cache_dir=cdir, vocab=["dog"])
    (dog,) = set(_rows_files(cdir)) - {rows}
    os.replace(dog, rows)  # the rows of another vocabulary under this one's name
    _same(vecgraft.load(glove, cache_dir=cdir, vocab=["cat"]), expected)


@pytest.mark.filterwarnings("ignore:.*duplicate words")
def test_rows_of_an_older_file_state_are_removed(glove: Path, tmp_path: Path) -> None:
    cdir = tmp_path / "cache"
    vecgraft.load(glove, cache_dir=cdir)
    vecgraft.load(glove, cache_dir=cdir, vocab=["cat"])
    (old,) = _rows_files(cdir)
    glove.write_text("cat 9 9\ndog 8 8\n", encoding="utf-8")
    vecgraft.load(glove, cache_dir=cdir)  # the new whole entry replaces the old one...
    assert _rows_files(cdir) == []  # ...and the old state's selections go with it
    some = vecgraft.load(glove, cache_dir=cdir, vocab=["cat"])
    assert some.words == ["cat"] and some.matrix.tolist() == [[9, 9]]
    (new,) = _rows_files(cdir)
    assert new.name != old.name  # the bounded key holds the file's state


def test_a_sampled_matrix_check_leaves_the_global_random_alone(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import random

    # a matrix over FULL_CHECK_BYTES is checked on a random sample of its blocks, drawn from
    # the global `random`: a user's `random.seed(0)` gave other numbers after a cached load
    monkeypatch.setattr(cache_mod, "BLOCK_BYTES", 24)  # one 6-dim row a block: 40 blocks
    monkeypatch.setattr(cache_mod, "FULL_CHECK_BYTES", 0)
    cdir = tmp_path / "cache"
    vecgraft.load(source, cache_dir=cdir)
    random.seed(0)
    expected = random.random()
    random.seed(0)
    second = vecgraft.load(source, cache_dir=cdir)
    assert random.random() == expected
    assert is_mapped(second.matrix)  # served from the cache, its sample checked
