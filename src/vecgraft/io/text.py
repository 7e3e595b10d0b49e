"""GloVe text and word2vec/fastText `.vec` text formats.

STUB: a correct but slow reader so other modules can be built against the interface;
replaced by the fast reader (issue 2).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vecgraft.errors import FormatError
from vecgraft.io.base import Format, LoadOptions, Source, atomic_write
from vecgraft.vectors import Vectors


def _has_header(first: bytes) -> bool:
    parts = first.split()
    return len(parts) == 2 and all(p.isdigit() for p in parts)


def _read(source: Source, options: LoadOptions, header: bool) -> Vectors:
    data = source.read_bytes().decode("utf-8", options.unicode_errors)
    lines = data.splitlines()
    start = 1 if header else 0
    words: list[str] = []
    rows: list[np.ndarray] = []
    seen: set[str] = set()
    dim = None
    for lineno, line in enumerate(lines[start:], start + 1):
        parts = line.rstrip().split(" ")
        if not line.strip():
            continue
        if dim is None:
            dim = len(parts) - 1
        word, vals = " ".join(parts[:-dim]), parts[-dim:]
        try:
            vec = np.array(vals, dtype=np.float32)
        except ValueError as exc:
            raise FormatError(f"bad number: {exc}", path=source.path, line=lineno) from exc
        if word in seen or not options.wants(word):
            continue
        seen.add(word)
        words.append(word)
        rows.append(vec)
        if options.limit is not None and len(words) >= options.limit:
            break
    matrix = np.stack(rows) if rows else np.zeros((0, dim or 0), np.float32)
    return Vectors(words, matrix, source=source.path)


def _sniff_glove(source: Source, head: bytes) -> str | None:
    first = head.split(b"\n", 1)[0]
    return "first line is a word2vec header" if _has_header(first) else None


def _sniff_w2v(source: Source, head: bytes) -> str | None:
    first = head.split(b"\n", 1)[0]
    return None if _has_header(first) else "first line is not a 'count dim' header"


def _write(vectors: Vectors, path: Path, header: bool) -> None:
    def write(fh):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN202
        if header:
            fh.write(f"{len(vectors)} {vectors.dim}\n".encode())
        for w, row in zip(vectors.words, vectors.matrix):
            fh.write((w + " " + " ".join(f"{x:.6g}" for x in row) + "\n").encode("utf-8"))

    atomic_write(path, write)


GLOVE_TEXT = Format(
    "glove",
    sniff=_sniff_glove,
    read=lambda s, o: _read(s, o, header=False),
    write=lambda v, p: _write(v, p, header=False),
    extensions=(".txt",),
)
WORD2VEC_TEXT = Format(
    "word2vec",
    sniff=_sniff_w2v,
    read=lambda s, o: _read(s, o, header=True),
    write=lambda v, p: _write(v, p, header=True),
    extensions=(".vec", ".w2v.txt"),
)
