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

import re
from pathlib import Path
from typing import IO

import numpy as np

from vecgraft._util.atomic import atomic_write
from vecgraft.errors import FormatError, Hint, Opt
from vecgraft.io._buffer import Cursor
from vecgraft.io._limits import check_dim, check_fits, memory_budget
from vecgraft.io._rows import (
    RowStats,
    decode_word,
    drop_nonfinite,
    progress_bar,
    select_rows,
    warn_unicode,
)
from vecgraft.io.base import (
    Format,
    LoadOptions,
    Source,
    compressed,
    output_compression,
    write_meter,
)
from vecgraft.vectors import Vectors

_MAX_HEADER = 64  # "count dim\n" is short; a longer first line is not this format
_MAX_WORD = 1 << 16  # bytes a word may take before we call the row corrupt
_WRITE_ROWS = 8192  # rows joined into one write
_SNIFF_HEAD = 65536  # what detection reads (`Source.head`): a shorter head is the whole file
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # in float32 bytes, not in text
_DECIMAL = re.compile(rb"[0-9+\-.eE \t\r\n]*")  # what text numbers are written with


def parse_header(first_line: bytes) -> tuple[int, int] | str:
    """(count, dim) from a `count dim` line, or why the line is not such a header."""
    parts = first_line.split()
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return f"first line {first_line[:40]!r} is not a 'count dim' header"
    count, dim = int(parts[0]), int(parts[1])
    if dim == 0 and count > 0:
        return "header says dimension 0"
    return count, dim


def _all_numbers(parts: list[bytes]) -> bool:
    try:
        [float(p) for p in parts]
    except ValueError:
        return False
    return True


def _text_values(row: bytes, dim: int) -> int:
    """How many numbers follow the word if a row reads as `word v1 ... vk` text, else 0.

    A row of other than `dim` numbers counts only from two numbers on: a binary row's bytes
    can look like one number after a word. A word with spaces (`new york 0.1 ...`, which
    vecgraft's own text writer emits) has more fields: `dim` numbers at the end make it text.
    """
    parts = row.split()
    if len(parts) < 2 or (len(parts) == 2 and dim != 1):
        return 0
    if dim >= 2 and len(parts) > dim + 1 and _all_numbers(parts[-dim:]):
        return len(parts) - 1 if _all_numbers(parts[1:-dim]) else dim
    try:
        [float(p) for p in parts[1:]]
    except ValueError:
        return 0
    return len(parts) - 1


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
    if not head[nl + 1 :].strip(b" \t\r\n"):
        return "nothing follows the 'count dim' header (no row to check)"
    body = head[nl + 1 :].lstrip(b"\n")
    if b" " not in body and len(body) >= _MAX_WORD:
        return "no 'word ' before the first vector"
    row_end = body.find(b"\n")
    values = _text_values(body[:row_end], dim) if row_end >= 0 else 0
    if values == dim:
        return "rows are text numbers (word2vec text, not binary)"
    if values:
        return (f"rows are text numbers (word2vec text), but the header says {dim} values "
                f"and the first row has {values}")  # fmt: skip
    return _text_not_binary(source, head, nl + 1, count, dim)


def _text_not_binary(source: Source, head: bytes, at: int, count: int, dim: int) -> str | None:
    r"""Why the bytes from `at` on are text rather than binary rows; None when binary fits.

    Raw float32 bytes nearly always hold a byte no text file does (NUL, another control
    byte): then binary. Without one, a first row whose `4*dim` bytes after 'word ' are
    digits, signs, dots and spaces is text ('12 7\nthe 0.5' read as binary was a
    "truncated binary file" error). Other printable rows are binary only if they fit its
    layout (`_rows_fit`): floats that happen to be printable bytes still load.
    """
    body = head[at:]
    if _CONTROL.search(body):
        return None
    first = body.lstrip(b"\n")
    space = first.find(b" ")
    if space >= 0 and _DECIMAL.fullmatch(first[space + 1 : space + 1 + 4 * dim]):
        return "the first row's values are text numbers, not float32 bytes (word2vec text?)"
    if _rows_fit(source, head, at, count, dim):
        return None
    return (f"the rows are text: they do not fit binary rows of a word, a space and {4 * dim} "
            "bytes of float32 values")  # fmt: skip


def _rows_fit(source: Source, head: bytes, at: int, count: int, dim: int) -> bool:
    """Whether `head` from `at` on walks as the header's rows, as `read` would walk them.

    Each row in the head: a word (no space or line break in it), a space, `4*dim` bytes.
    A head that is the whole file must hold exactly `count` rows (then only blank space);
    a longer file must be large enough for the rows the head does not show.
    """
    p, rows, end = at, 0, len(head)
    cut = False  # the head ends inside a row
    while rows < count:
        while p < end and head[p] == 10:  # the optional newline after a vector
            p += 1
        space = head.find(b" ", p, min(end, p + _MAX_WORD))
        if b"\n" in head[p : space if space >= 0 else end]:
            return False  # a line break inside the word: a text line, not a binary row
        if space < 0 or space + 1 + 4 * dim > end:
            cut = space >= 0 or end - p < _MAX_WORD
            break
        p, rows = space + 1 + 4 * dim, rows + 1
    if rows == count:
        return not head[p:].strip(b" \t\r\n")
    size = _content_size(source, head)
    if not cut or size == end:  # a row that is not binary, or a file that ends inside one
        return False
    if size is None:  # compressed: the rows in its head decide
        return rows > 0
    return size - p >= (count - rows) * (4 * dim + 2)


def _content_size(source: Source, head: bytes) -> int | None:
    """The decompressed size when known: the head's when it is the whole file."""
    if len(head) < _SNIFF_HEAD:
        return len(head)
    if source.compression is None and source.path.is_file():
        return source.path.stat().st_size
    return None


def misfit(source: Source, head: bytes) -> FormatError | None:
    """A `count dim` header that nothing follows: neither text nor binary, and no rows.

    Asked by detection only when no format fits (`Format.misfit`); says what the file
    lacks rather than listing every format's reason.
    """
    nl = head.find(b"\n", 0, _MAX_HEADER)
    header = parse_header(head[:nl]) if nl >= 0 else None
    if not isinstance(header, tuple) or header[0] == 0 or head[nl + 1 :].strip(b" \t\r\n"):
        return None
    return FormatError(_nothing_follows(*header), path=source.path, offset=nl + 1)


def _nothing_follows(count: int, dim: int) -> str:
    return (f"the word2vec header promises {count} rows of {dim} values, but nothing follows "
            "it (an empty or cut-off file)")  # fmt: skip


def read(source: Source, options: LoadOptions) -> Vectors:
    """Parse a binary word2vec file (memory-mapped when plain, streamed when compressed)."""
    with Cursor(source, what="word2vec binary file") as cur:
        if cur.at_end():
            raise FormatError("empty file, expected a 'count dim' header", path=source.path)
        try:
            first = cur.until(b"\n", "the 'count dim' header", limit=_MAX_HEADER)
        except FormatError:  # "expected b'\n' ... found 64 bytes first" did not say why
            raise FormatError(
                f"no 'count dim' header: the first line is longer than {_MAX_HEADER} bytes, "
                "so this is not a binary word2vec file (a text vector file?)",
                path=source.path,
                line=1,
                hint=Hint("; leave out {} to detect the format", Opt("format", "...", "FORMAT")),
            ) from None
        header = parse_header(first)
        if isinstance(header, str):
            raise FormatError(header, path=source.path, line=1)
        count, dim = header
        check_dim(dim, source.path, "header")
        n = count if options.limit is None else min(count, options.limit)
        row_bytes = 4 * dim
        data_at = cur.pos
        remaining = cur.remaining
        if remaining is not None and remaining < n * (row_bytes + 2):
            raise _promise_error(cur, count, dim, n, remaining)
        if options.vocab is None and not cur.streaming:  # the file's size bounds the claim
            check_fits(n, dim, options, source.path, f"the header's {n} rows")
        raw_words, offsets, file_rows, rows = _scan_rows(cur, n, dim, options, count, data_at)
        if options.limit is None:
            _check_trailing(cur, count)
    stats = RowStats()
    words = _decode_words(raw_words, offsets, options, source, stats)
    keep = select_rows(words, options, stats, source.path)
    if len(keep) != len(words):
        rows = rows[keep]
        words = [words[i] for i in keep]
        offsets = [offsets[i] for i in keep]
        file_rows = list(keep) if file_rows is None else [file_rows[i] for i in keep]
    words, rows = drop_nonfinite(
        rows, words, options, stats, lambda r: (None, offsets[r]), source, file_rows=file_rows
    )
    warn_unicode(stats.unicode_replacements, options, source.path)
    meta = {"format": "word2vec-bin", "header_count": count, **stats.to_metadata()}
    return Vectors._of_unique_words(words, rows, source=source.path, metadata=meta)


def _promise_error(cur: Cursor, count: int, dim: int, n: int, found: int) -> FormatError:
    if found == 0:  # only a header: text or binary cannot be told, and neither has rows
        return cur.fail(_nothing_follows(count, dim))
    return cur.fail(
        f"truncated word2vec binary file: the header promises {count} rows of {dim} "
        f"float32 values (at least {n * (4 * dim + 2)} bytes), found {found} bytes"
    )


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


def _wanted(raw: bytes, options: LoadOptions) -> bool:
    """The vocab filter on a raw word (undecodable words are kept for the policy to judge)."""
    try:
        return options.wants(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return True


def _scan_rows(
    cur: Cursor, n: int, dim: int, options: LoadOptions, count: int, data_at: int
) -> tuple[list[bytes], list[int], list[int] | None, np.ndarray]:
    """Walk `n` rows: each kept word's bytes, its floats' byte offset, its row, the kept rows.

    The row (0-based, in the file) names a kept row in messages: with `vocab=` the kept
    rows' own numbers are not the file's. Without a filter it is None (row i is the file's
    row i), so a full load appends nothing per row.

    Rows sit at arbitrary (unaligned) offsets, so each is copied with one memoryview
    assignment (a memcpy, no temporary) into a matrix that grows as rows arrive (so a header
    that lies about the row count allocates nothing it does not fill). With `vocab=`, rows
    of other words are never copied, so a filtered load costs the rows it keeps.
    """
    row_bytes = 4 * dim
    filtering = options.vocab is not None
    words: list[bytes] = []
    offsets: list[int] = []
    file_rows: list[int] | None = [] if filtering else None  # None: every row, in order
    cap = max(1, min(n, (32 << 20) // row_bytes + 1))
    rows = np.empty((cap, dim), dtype="<f4")
    kept = 0
    budget = memory_budget(options)
    want = row_bytes + _MAX_WORD + 2
    buf, p = cur.window(want)
    end = len(buf)
    bar = progress_bar(options, n, "reading word2vec binary")
    with bar:  # after an error or Ctrl-C no last count line (`Progress.__exit__`)
        for i in range(n):
            while True:
                if end - p < want and not cur.eof:
                    cur.pos = cur.base + p
                    buf, p = cur.window(want)
                    end = len(buf)
                while p < end and buf[p] == 10:  # the optional newline after a vector
                    p += 1
                if p < end or cur.eof:
                    break
            word_at = p
            space = buf.find(b" ", p, min(end, p + _MAX_WORD))
            if space < 0:
                raise _no_space_error(cur, p, end - p, i, n, count, dim, data_at)
            start = space + 1
            stop = start + row_bytes
            if stop > end:
                raise _short_row_error(cur, start, end, i, n, count, dim, data_at)
            word = bytes(buf[word_at:space])
            p = stop
            if filtering and not _wanted(word, options):
                continue
            if kept == len(rows):
                _grow(rows, kept, n, options, cur.source.path, budget)
            words.append(word)
            offsets.append(cur.base + start)
            if file_rows is not None:
                file_rows.append(i)
            rows[kept] = np.frombuffer(buf, dtype="<f4", count=dim, offset=start)
            kept += 1
            if i % 8192 == 8191:
                bar.update(8192)
    cur.pos = cur.base + p
    rows.resize((kept, dim), refcheck=False)
    return words, offsets, file_rows, rows.astype(np.float32, copy=False)


def _broken_promise(cur: Cursor, n: int, dim: int, count: int, data_at: int) -> FormatError | None:
    """The header's row count against a streamed file's size: too small a file broke it."""
    if cur.streaming and cur.size is not None and cur.size - data_at < n * (4 * dim + 2):
        return _promise_error(cur, count, dim, n, cur.size - data_at)
    return None


def _no_space_error(
    cur: Cursor, p: int, found: int, i: int, n: int, count: int, dim: int, data_at: int
) -> FormatError:
    """Row `i` has no 'word ' within reach: a truncated file or a corrupt row."""
    cur.pos = cur.base + p
    return _broken_promise(cur, n, dim, count, data_at) or cur.fail(
        f"truncated or corrupt row {i + 1} of {n}: expected 'word ' and "
        f"{4 * dim} bytes of floats, found {found} bytes without a space"
    )


def _short_row_error(
    cur: Cursor, start: int, end: int, i: int, n: int, count: int, dim: int, data_at: int
) -> FormatError:
    """Row `i`'s floats run past the end of the file."""
    cur.pos = cur.base + start
    return _broken_promise(cur, n, dim, count, data_at) or cur.fail(
        f"truncated word2vec binary file: row {i + 1} of {n} needs {4 * dim} "
        f"bytes of floats, found {end - start} (the content ends at byte "
        f"{cur.base + end})"
    )


def _grow(
    rows: np.ndarray, kept: int, n: int, options: LoadOptions, path: Path, budget: int | None
) -> None:
    """Grow `rows` in place by half (at most to `n`), after checking the memory budget."""
    dim = rows.shape[1]
    grow = min(n, max(kept + 1, int(kept * 1.5)))
    check_fits(grow, dim, options, path, f"reading about {grow} rows", budget)  # headroom
    rows.resize((grow, dim), refcheck=False)


def _check_trailing(cur: Cursor, count: int) -> None:
    """A header that promises fewer rows than the file holds is an error, not silent loss."""
    buf, at = cur.window(64)
    rest = buf[at : at + 64]
    if rest.strip(b"\n\r\t "):
        more = f"{cur.remaining} more bytes" if cur.remaining is not None else "more bytes"
        raise cur.fail(
            f"the header says {count} rows but {more} follow the last one "
            "(header count or dimension is wrong)"
        )
    if cur.truncated:
        raise cur.fail("the file ends early")


def writable_word(word: str) -> bool:
    """Whether binary word2vec can store `word`: non-empty, no space or newline in it."""
    return bool(word) and " " not in word and "\n" not in word


def write(vectors: Vectors, path: Path, *, progress: bool | None = False) -> None:
    """Write `vectors` as binary word2vec (atomically); words may not contain spaces.

    A `.gz`, `.bz2` or `.xz` suffix compresses the file (see `base.compressed`).
    `progress`: the rows written so far (`base.write_meter`).
    """
    output_compression(Path(path))  # an unwritable suffix is refused before any work
    for i, w in enumerate(vectors.words):
        if not writable_word(w):
            raise FormatError(
                f"cannot write word {i} ({w[:40]!r}) to binary word2vec: words must be "
                "non-empty and hold no space or newline (the format separates the word with "
                "a space)",
                path=path,
            )

    def emit(fh: IO[bytes]) -> None:
        fh.write(f"{len(vectors)} {vectors.dim}\n".encode())
        matrix = vectors.matrix
        with write_meter(progress, len(vectors), Path(path)) as bar:
            for start in range(0, len(vectors), _WRITE_ROWS):
                block = np.ascontiguousarray(matrix[start : start + _WRITE_ROWS], dtype="<f4")
                fh.write(
                    b"".join(
                        w.encode("utf-8") + b" " + row.tobytes() + b"\n"
                        for w, row in zip(vectors.words[start : start + _WRITE_ROWS], block)
                    )
                )
                bar.update(len(block))

    atomic_write(Path(path), compressed(Path(path), emit))


WORD2VEC_BIN = Format(
    "word2vec-bin",
    sniff=sniff,
    read=read,
    write=write,
    extensions=(".bin",),
    misfit=misfit,
)
