"""word2vec's binary format (`-binary 1`).

A `count dim` text header, then per row the word, a space, `dim` little-endian float32 values
and an optional newline.

Reading agrees with gensim's `KeyedVectors.load_word2vec_format(binary=True)`: same words in
the same order (first occurrence of a duplicate wins), same float32 values.

Example:
    >>> from vecgraft.io.word2vec_bin import WORD2VEC_BIN
    >>> WORD2VEC_BIN.name
    'word2vec-bin'
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

import numpy as np

from vecgraft.errors import FormatError, VecgraftError
from vecgraft.io._buffer import Cursor, read_buffer
from vecgraft.io._rows import RowStats, decode_word, drop_nonfinite, progress_bar, select_rows
from vecgraft.io.base import Format, LoadOptions, Source, atomic_write
from vecgraft.vectors import Vectors

_MAX_HEADER = 64  # "count dim\n" is short; a longer first line is not this format
_MAX_WORD = 1 << 16  # bytes a word may take before we call the row corrupt


def parse_header(first_line: bytes) -> tuple[int, int] | str:
    """(count, dim) from a `count dim` line, or why the line is not such a header."""
    parts = first_line.split()
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return f"first line {first_line[:40]!r} is not a 'count dim' header"
    count, dim = int(parts[0]), int(parts[1])
    if dim == 0 and count > 0:
        return "header says dimension 0"
    return count, dim


def _is_text_row(row: bytes, dim: int) -> bool:
    """Whether a row looks like `word v1 ... vdim` text (word2vec text, not binary)."""
    parts = row.split()
    if len(parts) != dim + 1:
        return False
    try:
        [float(p) for p in parts[1:]]
    except ValueError:
        return False
    return True


def sniff(source: Source, head: bytes) -> str | None:
    """None if `head` starts like a binary word2vec file, else why not."""
    if source.path.is_dir():
        return "is a folder"
    nl = head.find(b"\n", 0, _MAX_HEADER)
    if nl < 0:
        return "no 'count dim' header line"
    header = parse_header(head[:nl])
    if isinstance(header, str):
        return header
    count, dim = header
    if count == 0:
        return "header says 0 rows (nothing binary to check)"
    body = head[nl + 1 :].lstrip(b"\n")
    space = body.find(b" ")
    if space < 0:
        return "no 'word ' before the first vector" if len(body) >= _MAX_WORD else None
    row_end = body.find(b"\n")
    if row_end >= 0 and _is_text_row(body[:row_end], dim):
        return "rows are text numbers (word2vec text, not binary)"
    return None


def read(source: Source, options: LoadOptions) -> Vectors:
    """Parse a binary word2vec file (memory-mapped when uncompressed)."""
    cur = Cursor(read_buffer(source), source, what="word2vec binary file")
    if cur.size == 0:
        raise FormatError("empty file, expected a 'count dim' header", path=source.path)
    header = parse_header(cur.until(b"\n", "the 'count dim' header", limit=_MAX_HEADER))
    if isinstance(header, str):
        raise FormatError(header, path=source.path, line=1)
    count, dim = header
    n = count if options.limit is None else min(count, options.limit)
    row_bytes = 4 * dim
    if cur.remaining < n * (row_bytes + 2):  # a word and a space at least per row
        raise cur.fail(
            f"truncated word2vec binary file: the header promises {count} rows of {dim} "
            f"float32 values (at least {n * (row_bytes + 2)} bytes), found {cur.remaining} bytes"
        )
    raw_words, offsets = _scan_rows(cur, n, dim, options)
    if options.limit is None:
        _check_trailing(cur, count)
    stats = RowStats()
    words = [
        decode_word(w, options, source, o - len(w) - 1, stats) for w, o in zip(raw_words, offsets)
    ]
    keep = select_rows(words, options, stats)
    matrix = _gather(cur, [offsets[i] for i in keep], dim)
    kept_words = [words[i] for i in keep]
    kept_offsets = [offsets[i] for i in keep]
    kept_words, matrix = drop_nonfinite(
        matrix, kept_words, options, stats, lambda r: (None, kept_offsets[r]), source
    )
    meta = {"format": "word2vec-bin", "header_count": count, **stats.to_metadata()}
    return Vectors(kept_words, matrix, source=source.path, metadata=meta)


def _scan_rows(
    cur: Cursor, n: int, dim: int, options: LoadOptions
) -> tuple[list[bytes], list[int]]:
    """Walk `n` rows: the words' bytes and the byte offset of each row's first float."""
    buf, pos, size, row_bytes = cur.buf, cur.pos, cur.size, 4 * dim
    words: list[bytes] = []
    offsets: list[int] = []
    bar = progress_bar(options, n, "reading word2vec binary")
    try:
        for i in range(n):
            while pos < size and buf[pos] == 10:  # the optional newline after a vector
                pos += 1
            space = buf.find(b" ", pos, min(size, pos + _MAX_WORD))
            if space < 0:
                cur.pos = pos
                raise cur.fail(
                    f"truncated or corrupt row {i + 1} of {n}: expected 'word ' and "
                    f"{row_bytes} bytes of floats, found {size - pos} bytes without a space"
                )
            if space + 1 + row_bytes > size:
                cur.pos = space + 1
                raise cur.fail(
                    f"truncated word2vec binary file: row {i + 1} of {n} needs {row_bytes} "
                    f"bytes of floats, found {size - space - 1} (the content ends at byte {size})"
                )
            words.append(bytes(buf[pos:space]))
            offsets.append(space + 1)
            pos = space + 1 + row_bytes
            if i % 8192 == 8191:
                bar.update(8192)
    finally:
        bar.close()
    cur.pos = pos
    return words, offsets


def _check_trailing(cur: Cursor, count: int) -> None:
    """A header that promises fewer rows than the file holds is an error, not silent loss."""
    rest = cur.buf[cur.pos : cur.pos + 64]
    if rest.strip(b"\n\r\t "):
        raise cur.fail(
            f"the header says {count} rows but {cur.remaining} more bytes follow the last one "
            "(header count or dimension is wrong)"
        )
    if cur.buffer.truncated:
        raise cur.fail("the file ends early")


def _gather(cur: Cursor, offsets: list[int], dim: int) -> np.ndarray:
    """Copy the float32 rows at `offsets` into one [len(offsets), dim] matrix."""
    out = np.empty((len(offsets), dim), dtype=np.float32)
    if not offsets or dim == 0:
        return out
    u8 = np.frombuffer(cur.buf, dtype=np.uint8)
    flat = out.view(np.uint8).reshape(len(offsets), 4 * dim)
    width = 4 * dim
    starts = np.asarray(offsets, dtype=np.int64)
    # Rows are runs of equal width at arbitrary offsets: gather them in blocks with one fancy
    # index per block (bounded memory) instead of one Python-level copy per row.
    block = max(1, (1 << 22) // width)
    cols = np.arange(width, dtype=np.int64)
    for b in range(0, len(starts), block):
        idx = starts[b : b + block, None] + cols
        flat[b : b + block] = u8[idx]
    return out.astype("<f4", copy=False)


def write(vectors: Vectors, path: Path) -> None:
    """Write `vectors` as binary word2vec (atomically); words may not contain spaces."""
    for w in vectors.words:
        if " " in w or "\n" in w or not w:
            raise VecgraftError(
                f"cannot write {w!r} to binary word2vec: words must be non-empty and hold no "
                "space or newline (the format separates the word with a space)"
            )

    def emit(fh: IO[bytes]) -> None:
        fh.write(f"{len(vectors)} {vectors.dim}\n".encode())
        matrix = vectors.matrix
        for start in range(0, len(vectors), 8192):
            block = np.ascontiguousarray(matrix[start : start + 8192], dtype="<f4")
            fh.write(
                b"".join(
                    w.encode("utf-8") + b" " + row.tobytes() + b"\n"
                    for w, row in zip(vectors.words[start : start + 8192], block)
                )
            )

    atomic_write(Path(path), emit)


WORD2VEC_BIN = Format(
    "word2vec-bin",
    sniff=sniff,
    read=read,
    write=write,
    extensions=(".bin",),
)
