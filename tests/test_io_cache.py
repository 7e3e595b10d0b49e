"""The native load cache: written once, memory-mapped after, rebuilt when stale or corrupt."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import vecgraft
from io_helpers import small_vectors, write_w2v_bin
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
    full = vecgraft.load(source, cache_dir=cdir)
    some = vecgraft.load(source, cache_dir=cdir, vocab=["cat", "w10"])
    few = vecgraft.load(source, cache_dir=cdir, limit=3)
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
