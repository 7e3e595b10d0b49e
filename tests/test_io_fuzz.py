"""Properties of `vecgraft.load`: arbitrary bytes yield a valid `Vectors` or a `VecgraftError`,
never another exception (with detection and with every explicit format); valid files generated
in every text and binary format load to exactly the words and matrix written."""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import vecgraft
from vecgraft.errors import VecgraftError
from vecgraft.io import FORMATS
from vecgraft.vectors import Vectors

# Prefixes that steer the bytes past each format's magic number or header check, so the
# parsers (not only the sniffers) see garbage.
PREFIXES = [
    b"",
    b"3 2\n",
    b"1 1\nw ",
    b"\x93NUMPY\x01\x00",
    b"\x80\x04\x95",
    struct.pack("<2i", 793712314, 12) + struct.pack("<12i", 2, 5, 5, 1, 5, 1, 2, 2, 3, 3, 6, 100),
    b"\x40\x00\x00\x00\x00\x00\x00\x00{",
    b"the 0.1 0.2\n",
    gzip.compress(b"2 3\nab ")[:-8],
    b"\x1f\x8b\x08\x00",
    b"PK\x03\x04",
    b"BZh9",
]

payload = st.tuples(st.sampled_from(PREFIXES), st.binary(max_size=300)).map(lambda t: t[0] + t[1])


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def check(path: Path, data: bytes, fmt: str | None) -> None:
    path.write_bytes(data)
    try:
        v = vecgraft.load(path, format=fmt, cache=False, progress=False)
    except VecgraftError:
        return
    assert isinstance(v, Vectors)
    assert v.matrix.ndim == 2 and v.matrix.shape[0] == len(v.words) == len(set(v.words))
    assert np.asarray(v.matrix).dtype == np.float32


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(data=payload)
def test_detected_load_never_crashes(scratch: Path, data: bytes) -> None:
    check(scratch / "auto.bin", data, None)


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f not in ("glove", "word2vec")])
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=payload)
def test_explicit_binary_format_never_crashes(scratch: Path, fmt: str, data: bytes) -> None:
    check(scratch / f"explicit.{fmt}", data, fmt)


@pytest.mark.parametrize("fmt", ["glove", "word2vec"])
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=payload)
def test_explicit_text_format_never_crashes(scratch: Path, fmt: str, data: bytes) -> None:
    check(scratch / f"explicit.{fmt}", data, fmt)


@settings(max_examples=100, deadline=None)
@given(cut=st.integers(min_value=0, max_value=2000), flip=st.integers(min_value=0, max_value=2000))
def test_damaged_native_file_never_crashes(scratch: Path, cut: int, flip: int) -> None:
    from io_helpers import small_vectors

    good = scratch / "good.safetensors"
    if not good.exists():
        vecgraft.save(small_vectors(20, 4), good)
    data = bytearray(good.read_bytes())
    if flip < len(data):
        data[flip] ^= 0xFF
    check(scratch / "bad.safetensors", bytes(data[: len(data) - cut]), "native")


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=200), prefix=st.sampled_from([b"", b"\x93NUMPY\x01\x00v\x00"]))
def test_garbage_npy_with_word_list_never_crashes(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, prefix: bytes
) -> None:
    folder = tmp_path_factory.getbasetemp() / "npy_fuzz"
    folder.mkdir(exist_ok=True)
    (folder / "m.txt").write_text("a\nb\n")
    check(folder / "m.npy", prefix + data, "npy")
    check(folder / "m.npy", prefix + data, None)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
META_KEYS = [
    "format_version",
    "count",
    "dim",
    "word_separator",
    "words_crc32",
    "subword",
    "metadata",
]


@pytest.fixture(scope="module")
def fasttext_native(scratch: Path) -> tuple[dict[str, object], bytes]:
    """A small fastText-derived native file split into (header dict, tensor bytes)."""
    from gensim.test.utils import datapath

    path = scratch / "meta_base.safetensors"
    vecgraft.save(vecgraft.load(datapath("lee_fasttext_new.bin"), cache=False, limit=5), path)
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    return json.loads(data[8 : 8 + n]), data[8 + n :]


@settings(max_examples=100, deadline=None)
@given(changes=st.dictionaries(st.sampled_from(META_KEYS), json_values, min_size=1, max_size=3))
def test_native_with_odd_metadata_never_crashes(
    scratch: Path, fasttext_native: tuple[dict[str, Any], bytes], changes: dict[str, object]
) -> None:
    header, body = fasttext_native
    meta = {**json.loads(header["__metadata__"]["vecgraft"]), **changes}
    header = {**header, "__metadata__": {"vecgraft": json.dumps(meta)}}
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    check(scratch / "meta.safetensors", len(head).to_bytes(8, "little") + head + body, "native")


# -- valid files: every generated file must load to exactly its words and matrix ---------------
# The properties above pass if every input is rejected; these build VALID files from random
# words and finite float32 matrices and check that each loads to what was written. Text formats
# are checked to the printed precision (1 ulp of the float32 nearest the printed decimal, and
# the printed precision of the original), binary formats exactly.

# No separators (Z*) or controls (C*): a text-format word is one space-free token.
TEXT_CHARS = st.characters(categories=["L", "M", "N", "P", "S"])
text_word = st.text(TEXT_CHARS, min_size=1, max_size=8)
any_word = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=8)
finite32 = st.floats(width=32, allow_nan=False, allow_infinity=False)
# Values that stay finite after printing with as few as 1 significant digit: 3.4e38 printed
# as "3e+38" is fine, but 3.4028e38 printed as "3.403e+38" is above float32's maximum and
# rightly loads as infinity (which vecgraft rejects), so text formats draw within 1e37.
_BOUND = float(np.float32(1e37))
printable32 = st.floats(width=32, min_value=-_BOUND, max_value=_BOUND, allow_nan=False)


@st.composite
def vector_table(
    draw: st.DrawFn, words: st.SearchStrategy[str], elements: st.SearchStrategy[float] = finite32
) -> tuple[list[str], np.ndarray]:
    """(unique words, finite float32 matrix [n, dim]) with n in 1..8 and dim in 1..6."""
    dim = draw(st.integers(1, 6))
    vocab = draw(st.lists(words, min_size=1, max_size=8, unique=True))
    return vocab, draw(arrays(np.float32, (len(vocab), dim), elements=elements))


@st.composite
def text_file(draw: st.DrawFn, header: bool) -> tuple[bytes, list[str], np.ndarray, int]:
    """A GloVe (or, with `header`, word2vec text) file, its words, matrix and %g precision."""
    words, matrix = draw(vector_table(text_word, printable32))
    digits = draw(st.integers(1, 9))  # 9 significant digits round-trip any float32
    end = draw(st.sampled_from(["\n", "\r\n"]))
    trailing = draw(st.booleans()) if header else False  # fastText .vec ends rows with " "
    lines = [f"{len(words)} {matrix.shape[1]}{end}"] if header else []
    lines += [
        " ".join([w, *(f"{x:.{digits}g}" for x in row)]) + (" " if trailing else "") + end
        for w, row in zip(words, matrix.tolist())
    ]
    return "".join(lines).encode("utf-8"), words, matrix, digits


def load_valid(path: Path, fmt: str | None) -> Vectors:
    return vecgraft.load(path, format=fmt, cache=False, progress=False)


def assert_printed(v: Vectors, words: list[str], matrix: np.ndarray, digits: int) -> None:
    """Words exact; values within 1 ulp of the printed decimal and its precision of `matrix`."""
    assert v.words == words
    printed = np.array([[float(f"{x:.{digits}g}") for x in row] for row in matrix.tolist()])
    got = np.asarray(v.matrix)
    assert got.dtype == np.float32 and got.shape == matrix.shape
    np.testing.assert_array_max_ulp(got, printed.astype(np.float32), maxulp=1)
    tol = 0.5 * 10.0 ** (1 - digits) * np.abs(matrix.astype(np.float64))
    assert (np.abs(printed - matrix) <= tol + 1e-45).all()


VALID = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@VALID
@given(case=text_file(header=False))
def test_valid_glove_text_loads_exactly(
    scratch: Path, case: tuple[bytes, list[str], np.ndarray, int]
) -> None:
    data, words, matrix, digits = case
    path = scratch / "valid.glove.txt"
    path.write_bytes(data)
    assert_printed(load_valid(path, "glove"), words, matrix, digits)


@VALID
@given(case=text_file(header=True))
def test_valid_word2vec_text_loads_exactly(
    scratch: Path, case: tuple[bytes, list[str], np.ndarray, int]
) -> None:
    data, words, matrix, digits = case
    path = scratch / "valid.vec"
    path.write_bytes(data)
    assert_printed(load_valid(path, "word2vec"), words, matrix, digits)
    assert_printed(load_valid(path, None), words, matrix, digits)  # the header decides


def assert_exact(v: Vectors, words: list[str], matrix: np.ndarray) -> None:
    assert v.words == words
    got = np.asarray(v.matrix)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, matrix, strict=True)


@VALID
@given(table=vector_table(text_word))
def test_valid_word2vec_binary_loads_exactly(
    scratch: Path, table: tuple[list[str], np.ndarray]
) -> None:
    from io_helpers import w2v_bin_bytes

    words, matrix = table
    path = scratch / "valid.bin"
    path.write_bytes(w2v_bin_bytes(words, matrix))
    assert_exact(load_valid(path, "word2vec-bin"), words, matrix)
    assert_exact(load_valid(path, None), words, matrix)


@VALID
@given(table=vector_table(any_word))
def test_valid_native_loads_exactly(scratch: Path, table: tuple[list[str], np.ndarray]) -> None:
    words, matrix = table
    path = scratch / "valid.safetensors"
    vecgraft.save(Vectors(words, matrix), path)
    assert_exact(load_valid(path, "native"), words, matrix)
    assert_exact(load_valid(path, None), words, matrix)


# A .txt list is split on "\n" with one trailing "\r" dropped; a .json list holds any string.
line_word = text_word | st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\n\r"), min_size=1, max_size=8
)


@VALID
@given(
    table=st.one_of(
        st.tuples(vector_table(line_word), st.just(".txt")),
        st.tuples(vector_table(any_word), st.just(".json")),
    ),
    dtype=st.sampled_from(["<f4", ">f4", "<f8"]),
)
def test_valid_npy_with_word_list_loads_exactly(
    tmp_path_factory: pytest.TempPathFactory,
    table: tuple[tuple[list[str], np.ndarray], str],
    dtype: str,
) -> None:
    (words, matrix), suffix = table
    folder = tmp_path_factory.mktemp("npy_valid")
    np.save(folder / "m.npy", matrix.astype(dtype))
    if suffix == ".txt":
        (folder / "m.txt").write_text("".join(w + "\n" for w in words), encoding="utf-8")
    else:
        (folder / "m.json").write_text(json.dumps(words), encoding="utf-8")
    for target, fmt in ((folder / "m.npy", "npy"), (folder / "m.npy", None), (folder, None)):
        assert_exact(load_valid(target, fmt), words, matrix)


def test_most_valid_text_files_are_detected(tmp_path: Path) -> None:
    """With no `format=`, detection must read a large share of valid GloVe files right.

    A header-less file is ambiguous only when its first row looks like a `count dim` header
    (a numeric word with one integral value), so nearly every valid file must load as written.
    """
    outcomes: list[bool] = []

    @settings(max_examples=150, deadline=None, database=None)
    @given(case=text_file(header=False))
    def collect(case: tuple[bytes, list[str], np.ndarray, int]) -> None:
        data, words, matrix, digits = case
        path = tmp_path / "detect.txt"
        path.write_bytes(data)
        try:
            assert_printed(load_valid(path, None), words, matrix, digits)
        except (VecgraftError, AssertionError):
            outcomes.append(False)
        else:
            outcomes.append(True)

    collect()
    assert len(outcomes) >= 100
    assert sum(outcomes) / len(outcomes) >= 0.9, f"{outcomes.count(False)} of {len(outcomes)}"
