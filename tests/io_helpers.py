"""Tiny vector fixtures shared by the io-core tests (built in tmp_path, nothing downloaded)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from vecgraft.vectors import Vectors

WORDS = ["the", "cat", "Käse", "日本", "naïve", "</s>", "x"]


def small_vectors(n: int = len(WORDS), dim: int = 5, seed: int = 0) -> Vectors:
    """Random float32 vectors over unicode words (values not representable in short decimal)."""
    rng = np.random.default_rng(seed)
    words = (WORDS + [f"w{i}" for i in range(n)])[:n]
    return Vectors(words, rng.standard_normal((n, dim)).astype(np.float32))


def w2v_bin_bytes(
    words: list[str],
    matrix: np.ndarray,
    *,
    count: int | None = None,
    dim: int | None = None,
    newline: bool = True,
) -> bytes:
    """A binary word2vec file by hand, with optionally lying header values."""
    n = len(words) if count is None else count
    d = matrix.shape[1] if dim is None else dim
    out = [f"{n} {d}\n".encode()]
    for w, row in zip(words, matrix):
        out.append(
            w.encode("utf-8")
            + b" "
            + np.asarray(row, "<f4").tobytes()
            + (b"\n" if newline else b"")
        )
    return b"".join(out)


def write_w2v_bin(path: Path, words: list[str], matrix: np.ndarray, **kwargs: object) -> Path:
    path.write_bytes(w2v_bin_bytes(words, matrix, **kwargs))  # type: ignore[arg-type]
    return path


def fasttext_bin_bytes(
    words: list[str], inp: np.ndarray, *, dim: int, bucket: int, minn: int = 3, maxn: int = 6
) -> bytes:
    """A new-format (v12) fastText .bin: header, dictionary, input matrix, output matrix."""
    args = struct.pack("<12i", dim, 5, 5, 1, 5, 1, 2, 2, bucket, minn, maxn, 100)
    out = [struct.pack("<2i", 793712314, 12), args, struct.pack("<d", 1e-4)]
    out.append(struct.pack("<3iqq", len(words), len(words), 0, 100, -1))
    for w in words:
        out.append(w.encode("utf-8") + b"\0" + struct.pack("<qb", 7, 0))
    out.append(struct.pack("<?2q", False, inp.shape[0], inp.shape[1]))
    out.append(np.asarray(inp, "<f4").tobytes())
    out.append(struct.pack("<?2q", False, len(words), dim))
    out.append(np.zeros((len(words), dim), "<f4").tobytes())
    return b"".join(out)
