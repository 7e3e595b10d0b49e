"""GloVe / word2vec / fastText .vec text reading and writing (issue 2)."""

from __future__ import annotations

import gzip
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vecgraft
from vecgraft.align import align
from vecgraft.errors import DetectionError, FormatError, VecgraftError
from vecgraft.io import _textparse
from vecgraft.io.base import LoadOptions, Source
from vecgraft.io.text import GLOVE_TEXT, WORD2VEC_TEXT
from vecgraft.text.vocab import Vocab
from vecgraft.vectors import Vectors

ROWS = b"the 0.1 0.2 0.3\nof -1 2.5 1e-3\nand 4 5 6\n"
WORDS = ["the", "of", "and"]
MATRIX = np.array([[0.1, 0.2, 0.3], [-1, 2.5, 1e-3], [4, 5, 6]], dtype=np.float32)


def write(tmp_path: Path, data: bytes, name: str = "v.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def read_glove(path: Path, **options: object) -> Vectors:
    return GLOVE_TEXT.read(Source.from_path(path), LoadOptions(**options))  # type: ignore[arg-type]


def read_w2v(path: Path, **options: object) -> Vectors:
    return WORD2VEC_TEXT.read(Source.from_path(path), LoadOptions(**options))  # type: ignore[arg-type]


def assert_plain(v: Vectors) -> None:
    assert v.words == WORDS
    np.testing.assert_array_equal(v.matrix, MATRIX)
    assert v.matrix.dtype == np.float32


# -- well-formed files ------------------------------------------------------------------------
def test_glove_exact_values(tmp_path):
    v = read_glove(write(tmp_path, ROWS))
    assert_plain(v)
    assert v.metadata["format"] == "glove"
    assert v.metadata["duplicates"] == 0
    assert v.metadata["careful_chunks"] == 0  # the fast path handled it


def test_word2vec_header(tmp_path):
    v = read_w2v(write(tmp_path, b"3 3\n" + ROWS))
    assert_plain(v)
    assert v.metadata["header_count"] == 3


def test_fasttext_trailing_space_and_gensim_parity():
    from gensim.models import KeyedVectors
    from gensim.test.utils import datapath

    path = Path(datapath("lee_fasttext.vec"))
    v = read_w2v(path)
    kv = KeyedVectors.load_word2vec_format(str(path), binary=False)
    assert v.words == list(kv.index_to_key)
    np.testing.assert_allclose(v.matrix, kv.vectors, atol=1e-6)


def test_glove_gensim_parity(tmp_path):
    from gensim.models import KeyedVectors

    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(50)] + ["é", "日本", "Wörd"]
    matrix = rng.normal(size=(len(words), 7)).astype(np.float32)
    lines = [w + " " + " ".join(f"{x:.6g}" for x in row) for w, row in zip(words, matrix)]
    path = write(tmp_path, ("\n".join(lines) + "\n").encode())
    v = read_glove(path)
    kv = KeyedVectors.load_word2vec_format(str(path), binary=False, no_header=True)
    assert v.words == list(kv.index_to_key) == words
    np.testing.assert_allclose(v.matrix, kv.vectors, atol=1e-6)


@pytest.mark.parametrize("fmt", [GLOVE_TEXT, WORD2VEC_TEXT])
def test_round_trip_exact(tmp_path, fmt):
    rng = np.random.default_rng(1)
    matrix = rng.normal(size=(40, 6)) * 10.0 ** rng.integers(-30, 30, size=(40, 6))
    matrix = matrix.astype(np.float32)
    matrix[0, :3] = [np.float32(1 / 3), -0.0, np.finfo(np.float32).max]
    matrix[1, :3] = [np.finfo(np.float32).tiny, 1e-45, 0.1]
    words = [f"w{i}" for i in range(38)] + ["naïve", "with space"]
    original = Vectors(words, matrix)
    path = tmp_path / "out.txt"
    assert fmt.write is not None
    fmt.write(original, path)
    back = fmt.read(Source.from_path(path), LoadOptions())
    assert back.words == words
    np.testing.assert_array_equal(back.matrix, matrix)  # bit-exact
    first = path.read_bytes().split(b"\n", 1)[0]
    assert (first == b"40 6") == (fmt is WORD2VEC_TEXT)


def test_writer_rejects_unreadable_words(tmp_path):
    v = Vectors(["ok", "bad\nword"], np.zeros((2, 2), np.float32))
    with pytest.raises(FormatError, match="line break"):
        GLOVE_TEXT.write(v, tmp_path / "x.txt")  # type: ignore[misc]
    assert not (tmp_path / "x.txt").exists()


@pytest.mark.parametrize("fmt", [GLOVE_TEXT, WORD2VEC_TEXT])
def test_writer_rejects_a_nul_in_a_word(tmp_path, fmt):
    """A NUL was written, and the file then failed detection ("contains NUL bytes")."""
    v = Vectors(["ok", "b\0c"], np.zeros((2, 2), np.float32))
    with pytest.raises(FormatError, match=r"x\.txt: word 1 \('b\\x00c'\) .*NUL"):
        fmt.write(v, tmp_path / "x.txt")  # type: ignore[misc]
    assert not (tmp_path / "x.txt").exists()


def test_gzip_source(tmp_path):
    path = tmp_path / "v.txt.gz"
    path.write_bytes(gzip.compress(ROWS))
    assert_plain(read_glove(path))


# -- robustness -------------------------------------------------------------------------------
def test_crlf_bom_blank_lines(tmp_path):
    data = b"\xef\xbb\xbf" + b"\n\r\n" + ROWS.replace(b"\n", b"\r\n").replace(b"of", b"\r\nof")
    assert_plain(read_glove(write(tmp_path, data)))
    assert_plain(read_w2v(write(tmp_path, b"\xef\xbb\xbf3 3\r\n\r\n" + ROWS, "w.vec")))


BOM = b"\xef\xbb\xbf"


@pytest.mark.parametrize("header", [b"", b"5 3\n"])
def test_a_bom_starting_a_later_line_is_dropped_and_counted(tmp_path, header):
    # `cat a.txt b.txt` where b.txt starts with a BOM: the word was read as '\ufeffcat', so
    # `"cat" in v` was False, align could not match it, and nothing said why
    data = header + ROWS + BOM + b"cat 0.4 0.5 0.6\r\n" + b"mid" + BOM + b"word 1 2 3\n"
    path = write(tmp_path, data, "all.vec" if header else "all.txt")
    read = read_w2v if header else read_glove
    v = read(path)
    assert v.words == [*WORDS, "cat", "mid\ufeffword"]  # U+FEFF inside a word stays
    np.testing.assert_array_equal(v["cat"], np.array([0.4, 0.5, 0.6], np.float32))
    assert v.metadata["stray_boms"] == 1
    plain = write(tmp_path, header.replace(b"5", b"3") + ROWS, "plain.txt")
    assert "stray_boms" not in read(plain).metadata
    filtered = read(path, vocab=frozenset({"cat", "of"}))
    assert filtered.words == ["of", "cat"] and filtered.metadata["stray_boms"] == 1
    assert read(path, limit=4).words == [*WORDS, "cat"]


def test_a_bom_line_reads_the_same_in_every_parser(tmp_path, monkeypatch):
    # the fast parser (pyarrow) drops a BOM that starts its data unseen, the careful one
    # kept it: the same file gave 'cat' or '\ufeffcat' depending on where a chunk began
    rows = b"".join(b"w%d %d 0.5 1\n" % (i, i) for i in range(300))
    data = rows + BOM + b"cat 7 8 9\n" + BOM + b"\n" + rows.replace(b"w", b"x")
    path = write(tmp_path, data)
    whole = read_glove(path)
    assert whole.metadata["split_chunks"] == 1  # the rows around the BOM stay on the fast path
    for chunk_bytes in (len(rows), 64):  # a chunk starts with the BOM; careful chunks
        monkeypatch.setattr(_textparse, "CHUNK_BYTES", chunk_bytes)
        v = read_glove(path)
        assert v.words == whole.words and "cat" in v
        np.testing.assert_array_equal(v.matrix, whole.matrix)
        assert v.metadata["stray_boms"] == whole.metadata["stray_boms"] == 2  # the blank line's too


def test_a_bom_followed_by_a_space_is_the_word(tmp_path):
    # '\ufeff 0.5 0.5 0.5' is the word U+FEFF (earlier releases loaded it): dropping the BOM
    # left an empty word and the load failed ("the word b'' is empty")
    row = BOM + b" 0.5 0.5 0.5\n"
    fast = read_glove(write(tmp_path, ROWS + row))
    assert fast.words == [*WORDS, "\ufeff"] and "stray_boms" not in fast.metadata
    assert fast.metadata["careful_chunks"] == fast.metadata["split_chunks"] == 0
    # with a stray BOM on the next line the chunk goes to the careful parser
    path = write(tmp_path, ROWS + row + BOM + b"cat 7 8 9\n", "joined.txt")
    careful = read_glove(path)
    assert careful.words == [*WORDS, "\ufeff", "cat"] and careful.metadata["stray_boms"] == 1
    assert careful.metadata["careful_chunks"] == 1
    np.testing.assert_array_equal(careful["\ufeff"], np.full(3, 0.5, np.float32))
    assert read_glove(path, vocab=frozenset({"\ufeff", "cat"})).words == ["\ufeff", "cat"]


def test_tokens_with_spaces_take_last_dim_fields(tmp_path):
    data = ROWS + b". . . 7 8 9\nat name@x.com 1 1 1\n"
    v = read_glove(write(tmp_path, data))
    assert v.words == [*WORDS, ". . .", "at name@x.com"]
    np.testing.assert_array_equal(v[". . ."], [7, 8, 9])
    # the dimension comes from the majority of rows, even when the first row has spaces
    v2 = read_glove(write(tmp_path, b"a b 1 2\nc 3 4\nd 5 6\n", "s.txt"))
    assert v2.words == ["a b", "c", "d"] and v2.dim == 2


def test_scattered_tokens_with_spaces_keep_the_fast_path(tmp_path, monkeypatch):
    monkeypatch.setattr(_textparse, "CHUNK_BYTES", 2000)
    rows = [b"w%d %d 2 3" % (i, i) for i in range(1000)]
    for i in (5, 400, 777):
        rows[i] = b"a b%d %d 2 3" % (i, i)
    v = read_glove(write(tmp_path, b"\r\n".join(rows) + b"\r\n"))
    expected = [f"a b{i}" if i in (5, 400, 777) else f"w{i}" for i in range(1000)]
    assert v.words == expected
    np.testing.assert_array_equal(v.matrix[:, 0], np.arange(1000))
    assert v.metadata["careful_chunks"] == 0 and v.metadata["split_chunks"] == 3


def test_utf8_errors(tmp_path):
    path = write(tmp_path, ROWS + b"caf\xe9 1 2 3\n")
    with pytest.raises(FormatError) as err:
        read_glove(path)
    assert err.value.line == 4 and "UTF-8" in str(err.value) and str(path) in str(err.value)
    with pytest.warns(UserWarning, match="invalid UTF-8"):
        v = read_glove(path, unicode_errors="replace")
    assert v.words[-1] == "caf\ufffd" and v.metadata["unicode_errors"] == 1
    with pytest.warns(UserWarning):
        assert read_glove(path, unicode_errors="ignore").words[-1] == "caf"


@pytest.mark.parametrize("keep", [True, False])
def test_a_vocab_load_checks_unwanted_words_for_invalid_utf8(tmp_path, keep):
    # the filter decoded with 'replace': Latin-1 rows never matched and were skipped unchecked
    path = write(tmp_path, ROWS + "très 1 2 3\ncafé 4 5 6\n".encode("latin-1"))
    vocab = frozenset({"très", "café", "the"})
    with pytest.raises(FormatError, match="invalid UTF-8") as err:
        read_glove(path, vocab=vocab, keep_casefold=keep, keep_normalized=keep)
    assert err.value.line == 4 and str(path) in str(err.value)
    assert read_glove(path, vocab=vocab, unicode_errors="replace").words == ["the"]  # as before


@pytest.mark.parametrize("keep", [True, False])
def test_a_vocab_load_keeps_rows_stored_decomposed(tmp_path, keep):
    # alignment compares in NFC: "cafe" + U+0301 is the vocabulary's "café"; the filter
    # dropped it (only its normalized key "cafe" matched, and "cafe" had that key first)
    path = write(tmp_path, ROWS + "cafe 1 2 3\ncafe\u0301 4 5 6\n".encode())
    vocab = frozenset({"café", "cafe", "the"})
    v = read_glove(path, vocab=vocab, keep_casefold=keep, keep_normalized=keep)
    assert v.words == ["the", "cafe", "cafe\u0301"]
    assert vecgraft.load(path, cache=False, vocab=vocab).words == v.words


@pytest.mark.parametrize("keep", [True, False])
def test_a_decomposed_vocab_word_keeps_its_composed_row(tmp_path, keep):
    # alignment finds "café" for the vocabulary's "cafe" + U+0301; the filter compared the
    # vocabulary as given and dropped that row (its normalized key was "cafe"'s, taken first)
    path = write(tmp_path, "cafe 1 2 3\ncafé 4 5 6\nx 7 8 9\n".encode())
    vocab = ["cafe\u0301", "CAFE\u0301"]
    v = read_glove(path, vocab=frozenset(vocab), keep_casefold=keep, keep_normalized=keep)
    assert v.words == (["cafe", "café"] if keep else ["café"])
    full = vecgraft.load(path, cache=False)
    bounded = vecgraft.load(path, cache=False, vocab=vocab)
    voc = Vocab(["<pad>", "<unk>", *vocab])
    assert align(voc, bounded)[0].tolist() == align(voc, full)[0].tolist()
    assert align(voc, full)[0][2:].tolist() == [[4.0, 5.0, 6.0]] * 2


def test_duplicates_keep_first(tmp_path):
    path = write(tmp_path, ROWS + b"the 9 9 9\n")
    with pytest.warns(UserWarning, match="1 duplicate"):
        v = read_glove(path)
    assert_plain(v)
    assert v.metadata["duplicates"] == 1


def _repeated_word_file(tmp_path: Path, name: str, head: bytes = b"") -> Path:
    """A file whose word 'dupword' is on lines 6 and 151 (after `head`'s lines), with a
    blank line, a row of the word 'dupword x' (inner space) and CRLF line ends on the way."""
    rows = [f"w{i} {i} 1".encode() for i in range(150)]
    rows[5] = b"dupword 1 2"
    rows[20] = b""  # a blank line: counted as a line, not a row
    rows[40] = b"dupword x 5 6"  # not the word: 'dupword x'
    rows[60] += b"\r"
    rows.append(b"dupword 3 4")
    data = head + b"\n".join(rows) + b"\n"
    if name.endswith(".gz"):
        data = gzip.compress(data)
    return write(tmp_path, data, name)


@pytest.mark.parametrize("name", ["dup.txt", "dup.txt.gz"])
def test_a_duplicate_word_is_named_with_its_lines(tmp_path, monkeypatch, name):
    # "1 duplicate words (first: 'dupword')" left a user searching a 400,000-line file:
    # the first duplicate's two lines are named, wherever the chunks were cut
    monkeypatch.setattr(_textparse, "CHUNK_BYTES", 64)
    path = _repeated_word_file(tmp_path, name)
    said = rf"{name}: 1 duplicate words \(first: 'dupword' at lines 6 and 151\); kept the first"
    with pytest.warns(UserWarning, match=said):
        v = read_glove(path)
    assert v["dupword"].tolist() == [1, 2] and v.metadata["duplicates"] == 1
    # line numbers of the file, a header line and a skipped bad row counted
    path = _repeated_word_file(tmp_path, "h.vec", head=b"151 2\nbad 1\n")
    with pytest.warns(UserWarning, match=r"'dupword' at lines 8 and 153\)"):
        read_w2v(path, bad_rows="skip")


def test_a_duplicate_word_read_with_replaced_bytes_is_named_without_lines(tmp_path):
    # its bytes are not in the file as read: the word alone, as before
    path = write(tmp_path, b"caf\xe9 1 2 3\n" + ROWS + b"caf\xe9 4 5 6\n")
    with pytest.warns(UserWarning, match="1 duplicate words \\(first: 'caf\ufffd'\\); kept"):
        read_glove(path, unicode_errors="replace")


@pytest.mark.parametrize(("bad", "found"), [(b"x 1 2\n", 2), (b"x 1 2 3 4\n", 4), (b"x\n", 0)])
def test_ragged_rows(tmp_path, bad, found):
    path = write(tmp_path, ROWS + bad + b"y 1 1 1\n")
    with pytest.raises(FormatError) as err:
        read_glove(path)
    assert err.value.line == 4
    assert f"expected 3 values, found {found}" in str(err.value)
    with pytest.warns(UserWarning, match="skipped 1 bad rows"):
        v = read_glove(path, bad_rows="skip")
    assert v.words == [*WORDS, "y"] and v.metadata["skipped_rows"] == 1


def test_bad_number_names_line(tmp_path):
    with pytest.raises(FormatError, match=r":2: value 2 is not a number: '2,5'"):
        read_glove(write(tmp_path, b"a 1 2 3\nb 1 2,5 3\n"))


@pytest.mark.parametrize("value", [b"nan", b"inf", b"-inf", b"1e39"])
def test_nonfinite(tmp_path, value):
    path = write(tmp_path, ROWS + b"x 1 " + value + b" 3\n")
    with pytest.raises(FormatError) as err:
        read_glove(path)
    assert err.value.line == 4 and "not finite" in str(err.value)
    # a finite number too large for float32 is named as written, not as the inf it becomes
    too_large = "value 2 is 1e+39, beyond float32's range (about 3.4e38)"
    assert (too_large in str(err.value)) == (value == b"1e39")
    v = read_glove(path, allow_nonfinite=True)
    assert not np.isfinite(v["x"][1])


@pytest.mark.parametrize("data", [b"", b"\n\n  \r\n", b"\xef\xbb\xbf"])
def test_empty_file(tmp_path, data):
    with pytest.raises(FormatError, match="empty file"):
        read_glove(write(tmp_path, data))


def test_header_that_lies(tmp_path):
    path = write(tmp_path, b"10 3\n" + ROWS, "w.vec")
    with pytest.warns(UserWarning, match="header says 10 rows but the file has 3"):
        v = read_w2v(path)
    assert_plain(v)
    assert v.metadata["header_count"] == 10
    with pytest.raises(FormatError) as err:
        read_w2v(write(tmp_path, b"3 4\n" + ROWS, "d.vec"))
    assert err.value.line == 2 and "expected 4 values" in str(err.value)
    assert "header" in str(err.value)


def test_header_only(tmp_path):
    v = read_w2v(write(tmp_path, b"0 5\n", "e.vec"))
    assert len(v) == 0 and v.dim == 5
    with pytest.raises(FormatError, match="no vector rows"):
        read_w2v(write(tmp_path, b"3 5\n", "t.vec"))


def test_glove_reader_on_header_file(tmp_path):
    with pytest.raises(FormatError, match="format='word2vec'"):
        read_glove(write(tmp_path, b"3 3\n" + ROWS))


def test_errors_in_later_chunks_name_the_right_line(tmp_path, monkeypatch):
    monkeypatch.setattr(_textparse, "CHUNK_BYTES", 64)
    rows = b"".join(b"w%d 1 2 3\n" % i for i in range(100))
    v = read_glove(write(tmp_path, rows + b"\n" + rows.replace(b"w", b"v")))
    assert len(v) == 200 and v.words[150] == "v50"
    with pytest.raises(FormatError) as err:
        read_glove(write(tmp_path, rows + b"bad 1 x 3\n" + rows, "b.txt"))
    assert err.value.line == 101


# -- vocab= and limit= ------------------------------------------------------------------------
def test_vocab_keeps_rows_whose_normalized_key_holds_a_space(tmp_path):
    # NFKC makes the spacing accents " " + a combining mark: "˚" and "¨" share the key " ",
    # which the first-token filter split to "" and so dropped "˚" that alignment would pick
    path = write(tmp_path, "˚ 1 2\n¨ 3 4\nx 5 6\n".encode())
    v = vecgraft.load(path, cache=False, vocab=["¨"])
    assert v.words == ["˚", "¨"]


def test_a_chunk_without_wanted_lines_is_not_counted_as_read_carefully(tmp_path, monkeypatch):
    monkeypatch.setattr(_textparse, "CHUNK_BYTES", 64)
    rows = b"".join(b"w%d 1 2 3\n" % i for i in range(100)) + b"zz 4 5 6\n"
    v = vecgraft.load(write(tmp_path, rows), cache=False, vocab=["zz"])
    assert v.words == ["zz"]
    assert v.metadata["careful_chunks"] == 0 and v.metadata["split_chunks"] == 0


def test_vocab_filter_and_casefold(tmp_path, monkeypatch):
    monkeypatch.setattr(_textparse, "CHUNK_BYTES", 40)
    data = ROWS + b"The 7 7 7\nat name@x.com 1 1 1\nzz 0 0 0\n"
    path = write(tmp_path, data)
    v = read_glove(path, vocab=frozenset({"the", "and", "missing", "at name@x.com"}))
    assert v.words == ["the", "and", "The", "at name@x.com"]
    np.testing.assert_array_equal(v["The"], [7, 7, 7])
    assert v.metadata["vocab_filtered"]
    strict = read_glove(path, vocab=frozenset({"the"}), keep_casefold=False, keep_normalized=False)
    assert strict.words == ["the"]
    # without case folding, "The" still has the `normalized` rule's key "the"
    assert read_glove(path, vocab=frozenset({"the"}), keep_casefold=False).words == ["the", "The"]


def test_vocab_filter_validates_kept_rows_only(tmp_path):
    path = write(tmp_path, ROWS + b"broken 1 x\nkeep 1 nan 3\n")
    assert read_glove(path, vocab=frozenset({"of"})).words == ["of"]
    with pytest.raises(FormatError) as err:
        read_glove(path, vocab=frozenset({"keep"}))
    assert err.value.line == 5


def test_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(_textparse, "CHUNK_BYTES", 20)
    path = write(tmp_path, b"\n" + ROWS + b"bad row\n")
    assert read_glove(path, limit=2).words == WORDS[:2]
    assert read_glove(path, limit=3).words == WORDS
    assert read_glove(path, limit=2, vocab=frozenset({"and", "of"})).words == ["of"]


# -- sniffing ---------------------------------------------------------------------------------
def test_sniffers(tmp_path):
    src = Source.from_path(write(tmp_path, ROWS))
    assert GLOVE_TEXT.sniff(src, ROWS) is None
    assert WORD2VEC_TEXT.sniff(src, ROWS) is not None
    w2v = b"3 3\n" + ROWS
    assert WORD2VEC_TEXT.sniff(src, w2v) is None
    assert "header" in (GLOVE_TEXT.sniff(src, w2v) or "")
    binary = b"2 3\nthe " + np.ones(3, np.float32).tobytes() + b"of " + np.zeros(3, "f4").tobytes()
    assert WORD2VEC_TEXT.sniff(src, binary) is not None
    assert GLOVE_TEXT.sniff(src, b"just some prose here\nand more prose\n") is not None


# -- arbitrary input --------------------------------------------------------------------------
_alphabet = st.sampled_from(
    [
        b"a",
        b"b",
        b" ",
        b"\n",
        b"\r",
        b"1",
        b"2",
        b".",
        b"-",
        b"e",
        b"nan",
        b"\xff",
        b"\xc3\xa9",
        b"3 2\n",
        b"\x00",
        b"\t",
    ]
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.one_of(st.binary(max_size=200), st.lists(_alphabet, max_size=60).map(b"".join)),
    header=st.booleans(),
    skip=st.booleans(),
)
def test_arbitrary_bytes_give_vectors_or_vecgraft_error(tmp_path, data, header, skip):
    path = tmp_path / "fuzz.txt"
    path.write_bytes(data)
    fmt = WORD2VEC_TEXT if header else GLOVE_TEXT
    options = LoadOptions(bad_rows="skip" if skip else "error", unicode_errors="replace")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            v = fmt.read(Source.from_path(path), options)
        except VecgraftError:
            return
    assert isinstance(v, Vectors)
    assert v.matrix.shape == (len(v.words), v.dim) and v.dim >= 1
    assert len(set(v.words)) == len(v.words)
    assert np.isfinite(v.matrix).all()


def test_limit_does_not_warn_about_header_count(tmp_path):
    path = write(tmp_path, b"3 3\n" + ROWS, "w.vec")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        v = read_w2v(path, limit=1)
    assert v.words == ["the"] and v.metadata["limit"] == 1


def test_gzip_vocab_filter(tmp_path):
    path = tmp_path / "v.vec.gz"
    path.write_bytes(gzip.compress(b"3 3\n" + ROWS))
    v = read_w2v(path, vocab=frozenset({"and"}))
    assert v.words == ["and"]
    np.testing.assert_array_equal(v.matrix, MATRIX[2:])


def test_truncated_gzip_is_a_format_error(tmp_path):
    path = tmp_path / "v.txt.gz"
    rows = b"".join(b"w%d 1 2 3\n" % i for i in range(200_000))  # more than the 1 MB head
    path.write_bytes(gzip.compress(rows, compresslevel=1)[:-40])
    with pytest.raises(FormatError, match="corrupt") as err:
        read_glove(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("data", [b"PK\x03\x04", b"\xfd7zXZ\x00junk", b"BZhjunk"])
def test_corrupt_archives(tmp_path, data):
    with pytest.raises(FormatError, match="corrupt"):
        read_glove(write(tmp_path, data))


def test_progress_bar_when_asked(tmp_path, capsys):
    read_glove(write(tmp_path, ROWS), progress=True)
    assert "reading v.txt" in capsys.readouterr().err
    read_glove(write(tmp_path, ROWS), progress=False)
    assert capsys.readouterr().err == ""


def test_many_duplicates_across_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(_textparse, "CHUNK_BYTES", 16)
    data = b"a 1\nb 2\na 3\nc 4\nb 5\na 6\n"
    # named as the binary readers name them (the text reader gave only the count)
    said = r"3 duplicate words \(first: 'a' at lines 1 and 3\); kept the first"
    with pytest.warns(UserWarning, match=said):
        v = read_glove(write(tmp_path, data))
    assert v.words == ["a", "b", "c"] and v.matrix[:, 0].tolist() == [1, 2, 4]
    assert v.metadata["duplicates"] == 3
    assert v.metadata["duplicate_examples"] == ["a", "b", "a"]  # the dropped rows' words


def test_a_header_read_as_glove_names_the_format_to_use(tmp_path, capsys):
    # the CLI printed the Python keyword (use format='word2vec') to a command-line user
    from vecgraft.cli import main

    path = write(tmp_path, b"3 3\n" + ROWS)
    with pytest.raises(FormatError, match=r"v\.txt:1: .*header; read it with format='word2vec'"):
        read_glove(path)
    assert main(["info", str(path), "--format", "glove", "--no-cache"]) == 1
    assert capsys.readouterr().err.endswith("header; read it with --format word2vec\n")


def test_detection_looks_past_a_short_first_row(tmp_path):
    # a first row one value short made detection fail with "values are not numbers (b'x')",
    # and --skip-bad-rows could not get past it
    path = write(tmp_path, b"x 1 2\n" + ROWS)
    with pytest.raises(FormatError) as err:
        vecgraft.load(path, cache=False)
    assert err.value.line == 1 and "expected 3 values, found 2" in str(err.value)
    with pytest.warns(UserWarning, match="skipped 1"):
        assert_plain(vecgraft.load(path, cache=False, bad_rows="skip"))


@pytest.mark.parametrize("bad", [b"x  1 2 3\n", b" x 1 2 3\n", b"  1 2 3\n"])
def test_a_word_padded_with_spaces_is_a_bad_row(tmp_path, bad):
    # two spaces after the word read as the word "x " (or " x", ""), which no lookup finds
    path = write(tmp_path, ROWS + bad)
    with pytest.raises(FormatError, match="empty or padded with spaces") as err:
        read_glove(path)
    assert err.value.line == 4
    with pytest.warns(UserWarning, match="skipped 1"):
        assert_plain(read_glove(path, bad_rows="skip"))
    inner = read_glove(write(tmp_path, ROWS + b". . . 1 2 3\n", "840b.txt"))
    assert inner.words == [*WORDS, ". . ."]  # GloVe 840B's inner spaces stay words


def test_bad_first_row_is_an_ordinary_bad_row(tmp_path):
    path = write(tmp_path, b"x 1 2\n" + ROWS)
    with pytest.raises(FormatError) as err:
        read_glove(path)
    assert err.value.line == 1 and "expected 3 values, found 2" in str(err.value)
    with pytest.warns(UserWarning, match="skipped 1"):
        assert_plain(read_glove(path, bad_rows="skip"))
    w2v = write(tmp_path, b"3 3\nx 1 2\n" + ROWS, "w.vec")
    with pytest.warns(UserWarning):
        assert_plain(read_w2v(w2v, bad_rows="skip"))


def test_the_fast_parser_hands_arrow_its_own_copy_of_the_bytes():
    data = bytearray(b"the 0.5 1\n")
    buf = _textparse._arrow_owned(data)
    assert buf.to_pybytes() == bytes(data)
    data[0:3] = b"xyz"  # a copy: Arrow's threads never hold (or release) a Python object
    assert buf.to_pybytes() == b"the 0.5 1\n" and _textparse._arrow_owned(b"").size == 0


@pytest.mark.slow
def test_a_script_that_loads_without_the_cache_exits_cleanly(tmp_path):
    # read_csv's worker threads used to drop their reference to the Python bytes after the
    # call returned; at exit that aborted the process (rc 134) in about a quarter of runs
    import subprocess
    import sys

    rng = np.random.default_rng(0)
    rows = rng.standard_normal((20_000, 50)).astype(np.float32)
    path = tmp_path / "v.txt"
    path.write_text("".join(f"w{i} " + " ".join(f"{x:.5f}" for x in row) + "\n"
                            for i, row in enumerate(rows)))  # fmt: skip
    code = f"import vecgraft; vecgraft.load({str(path)!r}, cache=False)"
    for _ in range(8):  # each run failed with p ~ 0.25 before: all eight pass by chance 10 %
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode()[-500:]


def test_a_tab_separated_file_is_named_as_such(tmp_path):
    path = tmp_path / "v.tsv"
    path.write_text("the\t0.1\t0.2\nof\t0.3\t0.4\n")
    with pytest.raises(FormatError, match=r"v\.tsv:1: first row has no values after the word: "
                       r"its fields are separated by tabs, vector files use single spaces"):
        vecgraft.load(path, format="glove", cache=False)
    with pytest.raises(FormatError, match=r"glove: first row has no values after the word: its "
                       r"fields are separated by tabs"):
        vecgraft.load(path, cache=False)


@pytest.mark.parametrize(
    ("sep", "named"),
    [
        ("\xa0", "a non-ASCII space (U+00A0 NO-BREAK SPACE)"),
        ("\u3000", "a non-ASCII space (U+3000 IDEOGRAPHIC SPACE)"),
        ("\t", "a tab"),
    ],
)
def test_a_row_whose_fields_a_tab_or_non_ascii_space_joins_says_so(tmp_path, sep, named):
    # an editor shows a U+00A0 as a space: "expected 3 values, found 2" alone did not say why
    path = tmp_path / "nbsp.txt"
    path.write_text(f"the 0.1 0.2 0.3\ncat{sep}0.4 0.5 0.6\n", encoding="utf-8")
    with pytest.raises(FormatError) as err:
        vecgraft.load(path, cache=False)
    assert str(err.value) == (
        f"{path}:2: expected 3 values, found 2: {named} joins the word and the first value, "
        "vector files separate fields with single ASCII spaces; pass bad_rows='skip' to drop "
        "such rows"
    )
    path.write_text(f"the 0.1 0.2 0.3\ncat 0.4{sep}0.5 0.6\nand 1 2 3\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="skipped 1 bad rows"):
        v = vecgraft.load(path, cache=False, bad_rows="skip")
    assert v.metadata["skipped_examples"] == [
        f"line 2: expected 3 values, found 2: {named} joins two values, vector files separate "
        "fields with single ASCII spaces"
    ]
    path.write_text(f"2 3\nthe{sep}0.1 0.2 0.3\ncat{sep}0.4 0.5 0.6\n", encoding="utf-8")
    with pytest.raises(FormatError, match=rf":2: expected 3 values \(the header on line 1 says "
                       rf"3\), found 2: {re.escape(named)} joins the word"):
        vecgraft.load(path, format="word2vec", cache=False)
    path.write_text("the 0.1 0.2 0.3\ncat 1 2\n", encoding="utf-8")  # a value short: no hint
    with pytest.raises(FormatError, match=r":2: expected 3 values, found 2; pass bad_rows"):
        vecgraft.load(path, cache=False)


@pytest.mark.parametrize(
    ("sep", "named"),
    [
        ("\xa0", "a non-ASCII space (U+00A0 NO-BREAK SPACE)"),
        ("\u3000", "a non-ASCII space (U+3000 IDEOGRAPHIC SPACE)"),
        ("\u2007", "a non-ASCII space (U+2007 FIGURE SPACE)"),
        ("\u202f", "a non-ASCII space (U+202F NARROW NO-BREAK SPACE)"),
        ("\t", "a tab"),
    ],
)
@pytest.mark.parametrize("fmt", [None, "glove"])
def test_every_row_joining_word_and_first_value_is_refused(tmp_path, sep, named, fmt):
    # every row alike: the dimension came out one short and the file loaded, silently wrong,
    # with words such as 'the\xa00.1'
    path = tmp_path / "nbsp.txt"
    path.write_text(f"the{sep}0.1 0.2 0.3\nof{sep}0.4 0.5 0.6\nand{sep}1 2 3\n", encoding="utf-8")
    with pytest.raises(FormatError) as err:
        vecgraft.load(path, format=fmt, cache=False)
    assert str(err.value) == (
        f"{path}:1: {named} joins the word and the first value, vector files separate fields "
        "with single ASCII spaces (in 3 of the first 3 rows: read as they are, each would load "
        f"one value short, as a word such as {'the' + sep + '0.1'!r})"
    )
    path.write_text(f"2 2\nthe{sep}0.1 0.2 0.3\nof{sep}0.4 0.5 0.6\n", encoding="utf-8")
    with pytest.raises(FormatError, match=rf"nbsp\.txt:2: {re.escape(named)} joins the word"):
        vecgraft.load(path, format=fmt and "word2vec", cache=False)  # a header one short too


def test_a_non_ascii_space_after_a_word_with_spaces_joins_the_word_and_first_value(tmp_path):
    # GloVe 840B's words hold spaces: 'new york\xa00.1' was said to join "two values"
    path = tmp_path / "nbsp.txt"
    path.write_text("the 0.1 0.2 0.3\nnew york\xa00.1 0.2\ncat 0.1 0.2 0.3\n", encoding="utf-8")
    with pytest.raises(FormatError) as err:
        vecgraft.load(path, cache=False)
    assert str(err.value) == (
        f"{path}:2: expected 3 values, found 2: a non-ASCII space (U+00A0 NO-BREAK SPACE) "
        "joins the word and the first value, vector files separate fields with single ASCII "
        "spaces; pass bad_rows='skip' to drop such rows"
    )
    # '10\u202f000' may be a word (a French number) in a row that lacks a value: both said
    path.write_text("the 0.1 0.2 0.3\n10\u202f000 0.1 0.2\ncat 0.1 0.2 0.3\n", encoding="utf-8")
    with pytest.raises(FormatError) as err:
        vecgraft.load(path, cache=False)
    assert str(err.value) == (
        f"{path}:2: expected 3 values, found 2: a non-ASCII space (U+202F NARROW NO-BREAK "
        "SPACE) joins the word and the first value (vector files separate fields with single "
        "ASCII spaces), or the row lacks a value; pass bad_rows='skip' to drop such rows"
    )


def test_a_few_words_holding_a_non_ascii_space_and_a_number_still_load(tmp_path):
    # '10\u202f000' (a French number) or 'Boeing\xa0747' is a word: only most rows refuse
    path = tmp_path / "words.txt"
    text = "10\u202f000 0.1 0.2\nthe 0.3 0.4\nBoeing\xa0747 0.5 0.6\nof 0.7 0.8\nand 1 2\n"
    path.write_text(text, encoding="utf-8")
    v = vecgraft.load(path, cache=False)
    assert v.words == ["10\u202f000", "the", "Boeing\xa0747", "of", "and"] and v.dim == 2
    assert v.matrix[2].tolist() == [0.5, 0.6000000238418579]


def test_detection_gives_word2vec_text_its_own_error_when_the_header_disagrees(tmp_path):
    # auto-detection buried "expected 4 values ..." among seven formats' reasons, without
    # its line; format="word2vec" named the line
    path = write(tmp_path, b"3 4\nthe 0.1 0.2 0.3\nof 1 2 3\nand 4 5 6\n", "hdr_dim.vec")
    message = f"{path}:2: expected 4 values (the header on line 1 says 4), found 3"
    for fmt in (None, "word2vec"):
        with pytest.raises(FormatError) as err:
            vecgraft.load(path, format=fmt, cache=False)
        assert str(err.value) == message and err.value.line == 2
    path.write_bytes(b"\xef\xbb\xbf2 3\r\n\r\nthe\xc2\xa00.1 0.2 0.3\r\nof\xc2\xa01 2 3\r\n")
    with pytest.raises(FormatError, match=r"hdr_dim\.vec:3: expected 3 values \(the header on "
                       r"line 1 says 3\), found 2: a non-ASCII space \(U\+00A0"):
        vecgraft.load(path, cache=False)
    # not clearly word2vec text (line 2 is not a word and numbers): the formats are listed
    path.write_bytes(b"3 4\nthe 1_0 0.2 0.3\n")
    with pytest.raises(DetectionError, match="cannot detect the vector format"):
        vecgraft.load(path, cache=False)


def _long_first_row(tmp_path: Path, word_chars: int, name: str = "long.txt") -> tuple[Path, int]:
    """A GloVe file whose first word is `word_chars` long (and its line's length in bytes)."""
    values = " ".join(["0.5"] * 50)
    first = "x" * word_chars + " " + values
    rows = "".join(f"w{i} {values}\n" for i in range(5))
    data = (first + "\n" + rows).encode()
    path = write(tmp_path, gzip.compress(data) if name.endswith(".gz") else data, name)
    return path, len(first)


@pytest.mark.parametrize("name", ["long.txt", "long.txt.gz"])
def test_a_first_line_longer_than_detection_reads_says_so_and_how_to_load_it(tmp_path, name):
    # a 100,000-character first word: detection said "glove: no line break in the first
    # bytes: not a text vector file", while format="glove" named the line and the option
    path, length = _long_first_row(tmp_path, 100_000, name)
    with pytest.raises(DetectionError) as caught:
        vecgraft.load(path, cache=False)
    said = str(caught.value)
    assert (f"glove: line 1 is {length:,} bytes long, more than the 65,536 bytes detection "
            "reads)") in said  # fmt: skip
    assert said.endswith(f"; to read it as GloVe text, pass format='glove' and "
                         f"max_line_bytes={length}")  # fmt: skip
    v = vecgraft.load(path, cache=False, format="glove", max_line_bytes=length)
    assert len(v) == 6 and v.words[0] == "x" * 100_000


def test_a_first_line_longer_than_the_readers_head_loads_with_max_line_bytes(tmp_path):
    # the layout was read from the first MiB whatever max_line_bytes allowed: "no line
    # break in the first bytes: not a text vector file" of a 2 MB first line
    path, length = _long_first_row(tmp_path, 2_000_000)
    with pytest.raises(FormatError, match=r"long\.txt:1: line 1 is longer than the 1,048,576 "
                       r"bytes read to find the file's layout; pass max_line_bytes=N \(N: that "
                       r"line's length in bytes or more\) to read it$"):
        vecgraft.load(path, cache=False, format="glove")
    v = vecgraft.load(path, cache=False, format="glove", max_line_bytes=length)
    assert len(v) == 6 and len(v.words[0]) == 2_000_000


def test_a_file_separated_by_non_ascii_spaces_is_named_as_such(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("the\xa00.1\xa00.2\nof\xa00.3\xa00.4\n", encoding="utf-8")
    with pytest.raises(FormatError, match=r"v\.txt:1: first row has no values after the word: "
                       r"its fields are separated by non-ASCII spaces \(U\+00A0 NO-BREAK SPACE\), "
                       r"vector files use single ASCII spaces$"):
        vecgraft.load(path, format="glove", cache=False)


@pytest.mark.parametrize("header", [False, True])
@pytest.mark.parametrize("cut", ["mid-row", "mid-number"])
def test_a_file_cut_off_inside_its_last_row_says_so(tmp_path, monkeypatch, header, cut):
    # an interrupted download: "expected 4 values, found 2" alone reads like a bad row
    monkeypatch.setattr(_textparse, "CHUNK_BYTES", 64)  # the cut row is in a later chunk
    rows = "".join(f"w{i} 0.5 -1.25 2 3\n" for i in range(20))
    last = "last 0.5 1" if cut == "mid-row" else "z 1 2 3 -"
    text = (f"20 4\n{rows}" if header else rows) + last
    path = tmp_path / "cut.txt"
    path.write_text(text)
    line = 22 if header else 21
    fmt = "word2vec" if header else "glove"
    with pytest.raises(FormatError, match=rf"cut\.txt:{line}: .*: the file ends inside this row"):
        vecgraft.load(path, format=fmt, cache=False)
    path.write_text(text + "\n")  # the same row, ended by a line break: an ordinary bad row
    with pytest.raises(FormatError) as err:
        vecgraft.load(path, format=fmt, cache=False)
    assert "ends inside" not in str(err.value) and f":{line}:" in str(err.value)


@pytest.mark.parametrize("text", ["a 1 2\nb 3 4\n", "2 2\na 1 2\nb 3 4\n"])
def test_limit_zero_reads_no_rows_like_the_binary_formats(tmp_path, text):
    # it raised "no vector rows", blaming a file that has two
    path = tmp_path / "v.txt"
    path.write_text(text)
    v = vecgraft.load(path, limit=0, cache=False)
    assert len(v) == 0 and v.dim == 2


@pytest.mark.parametrize(
    ("name", "data", "options", "said"),
    [
        ("d.txt", ROWS + b"the 9 9 9\n", {}, "1 duplicate"),
        ("u.txt", ROWS + b"caf\xe9 1 2 3\n", {"unicode_errors": "replace"}, "invalid UTF-8"),
        ("h.vec", b"10 3\n" + ROWS, {}, "header says 10 rows"),
        ("b.txt", ROWS + b"bad 1 2\n", {"bad_rows": "skip"}, "skipped 1 bad rows"),
    ],
)
def test_load_warnings_point_at_the_callers_line(tmp_path, name, data, options, said):
    """Not at `io/text.py`'s format lambdas, as fixed stack levels did."""
    path = write(tmp_path, data, name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        vecgraft.load(path, cache=False, **options)
    ours = [w for w in caught if said in str(w.message)]
    assert ours and all(w.filename == __file__ for w in ours), [w.filename for w in caught]


def test_binary_load_warnings_point_at_the_callers_line(tmp_path):
    path = tmp_path / "v.bin"
    vecgraft.save(vecgraft.Vectors(["a", "b"], np.eye(2, dtype=np.float32)), path,
                  format="word2vec-bin")  # fmt: skip
    path.write_bytes(path.read_bytes().replace(b"b ", b"a ", 1))  # a duplicate word
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        vecgraft.load(path, cache=False)
    ours = [w for w in caught if "duplicate" in str(w.message)]
    assert ours and all(w.filename == __file__ for w in ours), [w.filename for w in caught]


# -- a lost line break, lone CRs, GBK words ---------------------------------------------------
JOINED = b"for 7 8 9 in 1 2 3\n"  # rows 'for' and 'in' with the line break between them lost


@pytest.mark.parametrize(("header", "line"), [(False, 4), (True, 5)])
def test_two_rows_joined_on_one_line_are_a_bad_row(tmp_path, header, line):
    # words may hold spaces (GloVe 840B), so this read as the word 'for 7 8 9 in'
    data = (b"4 3\n" if header else b"") + ROWS + JOINED
    path = write(tmp_path, data, "j.vec" if header else "j.txt")
    read = read_w2v if header else read_glove
    with pytest.raises(FormatError, match="two rows on one line") as err:
        read(path)
    assert err.value.line == line and str(path) in str(err.value)
    assert "'for 7 ... 9 in'" in str(err.value)
    with pytest.warns(UserWarning, match=f"skipped 1 bad rows .first: line {line}: two rows"):
        v = read(path, bad_rows="skip")
    assert_plain(v)
    assert v.metadata["skipped_rows"] == 1


@pytest.mark.parametrize(
    "row",
    [
        b"New York 1 2 3 for 7 8 9\n",  # the first word has a space too
        b"New York 1 2 3 4 5 6\n",  # a word ending in `dim` numbers
        b"1 2 3 4 of 7 8 9\n",  # the first word is a number
    ],
)
def test_a_word_holding_dim_numbers_in_a_row_is_refused(tmp_path, row):
    with pytest.raises(FormatError, match="two rows on one line"):
        read_glove(write(tmp_path, ROWS + row))


def test_words_with_spaces_and_a_few_numbers_still_load(tmp_path):
    rows = b"New York 1 2 3\n. . . 4 5 6\nroute 66 east 7 8 9\n1 / 2 1 1 1\n"
    v = read_glove(write(tmp_path, ROWS + rows))
    assert v.words == [*WORDS, "New York", ". . .", "route 66 east", "1 / 2"]


def test_a_joined_row_among_many_keeps_the_fast_path(tmp_path):
    rows = [b"w%d %d 2 3" % (i, i) for i in range(500)]
    rows[300] = b"w300 300 2 3 w301 301 2 3"
    del rows[301]
    path = write(tmp_path, b"\n".join(rows) + b"\n")
    with pytest.raises(FormatError, match="two rows on one line") as err:
        read_glove(path)
    assert err.value.line == 301
    with pytest.warns(UserWarning, match="skipped 1"):
        v = read_glove(path, bad_rows="skip")
    assert len(v.words) == 498 and "w300" not in v and v.metadata["split_chunks"] == 1


MIXED = b"the 0.1 0.2 0.3\rof -1 2.5 1e-3\r\nand 4 5 6\r"  # CR, CRLF and CR line ends


@pytest.mark.parametrize("chunk", [7, 15, 16, 17, 31, 1 << 20])
def test_a_lone_cr_ends_a_line(tmp_path, monkeypatch, chunk):
    # a bare CR (old Mac, or files stitched together) read as part of a word:
    # 'the 0.1 0.2 0.3\rof' carried the next row's values and both rows were lost
    monkeypatch.setattr(_textparse, "CHUNK_BYTES", chunk)  # a CR at every chunk edge
    assert_plain(read_glove(write(tmp_path, MIXED)))
    assert_plain(read_w2v(write(tmp_path, b"3 3\r" + MIXED, "m.vec")))
    assert_plain(read_glove(write(tmp_path, ROWS.replace(b"\n", b"\r"), "cr.txt")))


def test_lone_cr_files_are_detected_and_number_lines_as_an_editor(tmp_path):
    path = write(tmp_path, ROWS.replace(b"\n", b"\r"), "cr.txt")
    assert_plain(vecgraft.load(path, cache=False))
    bad = write(tmp_path, b"the 0.1 0.2 0.3\rof -1 2.5\r\nand 4 5 6\n", "bad.txt")
    with pytest.raises(FormatError, match="expected 3 values, found 2") as err:
        read_glove(bad)
    assert err.value.line == 2


def test_gbk_words_name_the_encoding_and_the_conversion(tmp_path):
    path = write(tmp_path, "电影 1 2 3\n好 4 5 6\n".encode("gbk"), "zh.txt")
    with pytest.raises(FormatError, match="invalid UTF-8") as err:
        read_glove(path)
    message = str(err.value)
    assert err.value.line == 1 and "reads as GB18030 Chinese ('电影')" in message
    assert f"iconv -f GB18030 -t UTF-8 {path} > zh-utf8.txt" in message
    assert "replace" not in message  # it would make every Chinese word '??'
    latin = write(tmp_path, b"caf\xe9 1 2 3\n", "l.txt")
    with pytest.raises(FormatError, match="'replace'") as err:
        read_glove(latin)
    assert "GB18030" not in str(err.value)


def test_a_compressed_gbk_file_is_converted_through_its_compression(tmp_path):
    # iconv ran on the gzip bytes: `iconv ... zh.txt.gz > zh.txt-utf8.gz` converted nothing
    from vecgraft._util.gb18030 import iconv_line

    data = "电影 1 2 3\n好 4 5 6\n".encode("gbk")
    path = write(tmp_path, gzip.compress(data), "zh.txt.gz")
    with pytest.raises(FormatError) as err:
        read_glove(path)
    assert str(err.value).endswith(
        f"zcat {path} | iconv -f GB18030 -t UTF-8 | gzip > zh-utf8.txt.gz")
    assert [iconv_line(name) for name in ("a.vec.bz2", "a.txt.xz", "a.txt.zip", "a.txt")] == [
        "bzcat a.vec.bz2 | iconv -f GB18030 -t UTF-8 | bzip2 > a-utf8.vec.bz2",
        "xzcat a.txt.xz | iconv -f GB18030 -t UTF-8 | xz > a-utf8.txt.xz",
        "unzip -p a.txt.zip | iconv -f GB18030 -t UTF-8 > a-utf8.txt",
        "iconv -f GB18030 -t UTF-8 a.txt > a-utf8.txt"]
