"""Property: arbitrary bytes given to `vecgraft.load` yield a valid `Vectors` or a
`VecgraftError`, never another exception (with detection and with every explicit format)."""

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
