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

from vecgraft._util.atomic import atomic_write
from vecgraft.errors import FormatError, VecgraftError
from vecgraft.io._buffer import Cursor, read_buffer
from vecgraft.io._rows import RowStats, decode_word, drop_nonfinite, progress_bar, select_rows
from vecgraft.io.base import Format, LoadOptions, Source
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
    raw_words, offsets, rows = _scan_rows(cur, n, dim, options)
    if options.limit is None:
        _check_trailing(cur, count)
    stats = RowStats()
    words = _decode_words(raw_words, offsets, options, source, stats)
    keep = select_rows(words, options, stats)
    if len(keep) != len(words):
        rows = rows[keep]
        words = [words[i] for i in keep]
        offsets = [offsets[i] for i in keep]
    words, rows = drop_nonfinite(rows, words, options, stats, lambda r: (None, offsets[r]), source)
    meta = {"format": "word2vec-bin", "header_count": count, **stats.to_metadata()}
    return Vectors(words, rows, source=source.path, metadata=meta)


def _decode_words(
    raw: list[bytes], offsets: list[int], options: LoadOptions, source: Source, stats: RowStats
) -> list[str]:
    """Decode all words at C speed; only a failure falls back to the per-word policy."""
    try:
        return [w.decode("utf-8") for w in raw]
    except UnicodeDecodeError:
        return [
            decode_word(w, options, source, o - len(w) - 1, stats) for w, o in zip(raw, offsets)
        ]


def _scan_rows(
    cur: Cursor, n: int, dim: int, options: LoadOptions
) -> tuple[list[bytes], list[int], np.ndarray]:
    """Walk `n` rows: each word's bytes, its floats' byte offset, and the [n, dim] matrix.

    Rows sit at arbitrary (unaligned) offsets, so each is copied with one memoryview
    assignment (a memcpy, no temporary) into the preallocated matrix while walking.
    """
    buf, pos, size, row_bytes = cur.buf, cur.pos, cur.size, 4 * dim
    words: list[bytes] = []
    offsets: list[int] = []
    rows = np.empty((n, dim), dtype="<f4")
    src = memoryview(buf)
    dst = memoryview(rows.reshape(-1).view(np.uint8))  # type: ignore[arg-type]
    find = buf.find
    bar = progress_bar(options, n, "reading word2vec binary")
    try:
        for i in range(n):
            while pos < size and buf[pos] == 10:  # the optional newline after a vector
                pos += 1
            word_at = pos
            space = find(b" ", pos, pos + _MAX_WORD)
            if space < 0:
                cur.pos = pos
                raise cur.fail(
                    f"truncated or corrupt row {i + 1} of {n}: expected 'word ' and "
                    f"{row_bytes} bytes of floats, found {size - pos} bytes without a space"
                )
            start = space + 1
            pos = start + row_bytes
            if pos > size:
                cur.pos = start
                raise cur.fail(
                    f"truncated word2vec binary file: row {i + 1} of {n} needs {row_bytes} "
                    f"bytes of floats, found {size - start} (the content ends at byte {size})"
                )
            words.append(buf[word_at:space])
            offsets.append(start)
            dst[i * row_bytes : (i + 1) * row_bytes] = src[start:pos]
            if i % 8192 == 8191:
                bar.update(8192)
    finally:
        bar.close()
        src.release()
    cur.pos = pos
    return words, offsets, rows.astype(np.float32, copy=False)


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
