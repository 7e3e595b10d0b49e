r"""GloVe text and word2vec/fastText `.vec` text formats.

GloVe: one row per line, `word v1 .. vD`, no header. word2vec text (and fastText `.vec`):
the same rows after a `count dim` header. Both are read by the chunked fast/careful engine in
`vecgraft.io._textparse`; see its docstring for the design.

Example:
    >>> import tempfile
    >>> from vecgraft.io.base import LoadOptions, Source
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "tiny.txt").write_text("cat 0.5 1\ndog -2 0.25\n")  # e.g. glove.6B.50d.txt
    >>> source = Source.from_path(folder / "tiny.txt")
    >>> vectors = GLOVE_TEXT.read(source, LoadOptions(vocab=frozenset({"cat"})))
    >>> vectors.words, vectors.matrix.tolist()
    (['cat'], [[0.5, 1.0]])
    >>> WORD2VEC_TEXT.write(vectors, folder / "tiny.vec")
    >>> (folder / "tiny.vec").read_text().splitlines()[0]
    '1 2'
"""

from __future__ import annotations

import contextlib
import lzma
import re
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vecgraft._util.atomic import atomic_write
from vecgraft._util.stack import caller_stacklevel
from vecgraft.errors import FormatError, Hint, Opt
from vecgraft.io import _textparse
from vecgraft.io._limits import (
    check_header_claim,
    max_line_bytes,
    memory_budget,
    row_guard,
)
from vecgraft.io._rows import _EXAMPLES, progress_bar, warn_unicode
from vecgraft.io._textlayout import stray_bom
from vecgraft.io._textparse import (
    BOM,
    FastParser,
    Layout,
    LineMap,
    RowContext,
    RowSink,
    Stats,
    TokenFilter,
    first_capacity,
    first_occurrences,
    is_number,
    iter_chunks,
    lone_cr_to_lf_bytes,
    parse_block,
    parse_header,
    probe_layout,
    select,
    show_progress,
    value_count,
)
from vecgraft.io.base import (
    Format,
    LoadOptions,
    Rejection,
    Source,
    compressed,
    output_compression,
    write_meter,
)
from vecgraft.vectors import Vectors

_HEAD_BYTES = 1 << 20
_SNIFF_HEAD = 65536
_WRITE_ROWS = 8192


# -- reading ------------------------------------------------------------------------------------
def read_text(source: Source, options: LoadOptions, *, header: bool, name: str) -> Vectors:
    """Read a GloVe (`header=False`) or word2vec text (`header=True`) file.

    Args:
        source: the file (possibly compressed).
        options: vocabulary filter, limit and the policies for bad input.
        header: whether a `count dim` first line is required.
        name: format name recorded in `metadata["format"]`.

    Returns:
        `Vectors` whose `metadata` records the load facts (format, header_count, duplicates,
        skipped_rows, unicode_errors, ...).

    Raises:
        FormatError: naming the file and line for any malformed input the policies reject.
    """
    path = source.path
    # the layout is read from whole lines: a first line `max_line_bytes` allows is read whole
    head_bytes = max(_HEAD_BYTES, (options.max_line_bytes or 0) + 2)
    with _decompression_errors(source):
        head = source.head(head_bytes)
    complete = len(head) < head_bytes
    head = lone_cr_to_lf_bytes(head, final=complete)
    layout = probe_layout(head, header=header, path=path, complete=complete)
    mem_budget = memory_budget(options)
    if header and layout.header_count and options.vocab is None and source.compression is None:
        check_header_claim(path, layout.header_count, layout.dim, options, mem_budget)
    size = path.stat().st_size if source.compression is None else None
    stats = Stats()
    keep = TokenFilter(options) if options.vocab is not None else None
    capacity = first_capacity(head, layout, options, size, filtered=keep is not None, header=header)
    sink = RowSink(layout.dim, capacity, row_guard(layout.dim, options, path, mem_budget))
    stopped_early = _read_rows(source, layout, options, size, keep, sink, stats, header=header)
    words, matrix = sink.finish()
    return _finish(
        words,
        matrix,
        source,
        options,
        layout,
        stats,
        name,
        complete=not stopped_early and options.limit is None and keep is None,
    )


def _read_rows(
    source: Source,
    layout: Layout,
    options: LoadOptions,
    size: int | None,
    keep: TokenFilter | None,
    sink: RowSink,
    stats: Stats,
    *,
    header: bool,
) -> bool:
    """Parse the file chunk by chunk into `sink`; whether `limit` stopped it early."""
    path, dim = source.path, layout.dim
    ctx = RowContext(dim, path, options, header_dim=header)
    fast = FastParser(dim, layout.trailing_space, options.allow_nonfinite)
    budget = options.limit
    with (
        _decompression_errors(source),
        source.open() as stream,
        progress_bar(
            options, size, f"reading {path.name}", in_bytes=True,
            disable=show_progress(options, size),
        ) as bar,
    ):
        for chunk in iter_chunks(
            stream,
            skip=layout.data_offset,
            first_line=layout.first_line,
            path=path,
            chunk_bytes=_textparse.CHUNK_BYTES,
            progress=bar,
            max_line=max_line_bytes(dim, options),
        ):
            if budget == 0:
                return True
            if keep is None and budget is None:
                data, line_of = chunk.data, LineMap(chunk.first_line)
            else:
                data, line_of, consumed = select(chunk, keep, budget)
                if budget is not None:
                    budget -= consumed
                if not data:  # no line wanted here: was counted as a careful chunk
                    continue
            try:
                words, rows, _ = parse_block(data, line_of, fast, ctx, stats)
            except FormatError as exc:
                cut = _cut_off(exc, chunk.data, chunk.first_line)
                if cut is None:
                    raise
                raise cut from exc
            if keep is not None and words:
                words, rows = _wanted_rows(words, rows, options)
            sink.add(words, rows)
            stats.rows += len(words)
            del chunk, data, rows  # let the next chunk reuse this memory
    return False


def _cut_off(exc: FormatError, data: bytes | bytearray, first_line: int) -> FormatError | None:
    """`exc` retold when its row is the file's last and has no line break (cut off), else None.

    Only the file's last chunk can end without a line break; a download interrupted or a
    disk filled mid-row leaves exactly that, and "expected 300 values, found 17" alone reads
    like one bad row that --skip-bad-rows could drop.
    """
    if exc.line is None or not data or data.endswith(b"\n"):
        return None
    if exc.line != first_line + data.count(b"\n"):
        return None
    return FormatError(
        f"{exc.message}: the file ends inside this row, without a line break, so it was "
        "probably cut off (an interrupted download or copy, or a full disk)",
        path=exc.path,
        line=exc.line,
        hint=exc.hint,
    )


def _wanted_rows(
    words: list[str], rows: np.ndarray | list[np.ndarray], options: LoadOptions
) -> tuple[list[str], np.ndarray | list[np.ndarray]]:
    """The rows whose word the vocabulary filter wants (TokenFilter only narrows by prefix)."""
    wanted = options.wanted_mask(words)
    if wanted.all():
        return words, rows
    return [w for w, k in zip(words, wanted.tolist()) if k], _stack(rows)[wanted]


@contextlib.contextmanager
def _decompression_errors(source: Source) -> Iterator[None]:
    """Turn a decompressor's own exceptions (e.g. a corrupt zip directory) into FormatError."""
    try:
        yield
    except (zipfile.BadZipFile, lzma.LZMAError, zlib.error, EOFError) as exc:
        raise FormatError(f"corrupt {source.compression} data: {exc}", path=source.path) from exc


def _stack(rows: np.ndarray | list[np.ndarray]) -> np.ndarray:
    return np.concatenate(rows) if isinstance(rows, list) else rows


def _finish(
    words: list[str],
    matrix: np.ndarray,
    source: Source,
    options: LoadOptions,
    layout: Layout,
    stats: Stats,
    name: str,
    *,
    complete: bool,
) -> Vectors:
    """Drop duplicates, check the header count, and record the load facts."""
    path = source.path
    header_count = layout.header_count
    _check_rows(words, stats, options, header_count, path, complete=complete)
    words, matrix, duplicates, examples = _drop_duplicates(words, matrix, source, layout, options)
    metadata: dict[str, Any] = {
        "format": name,
        "dim": int(matrix.shape[1]),
        "rows": len(words),
        "header_count": header_count,
        "duplicates": duplicates,
        "skipped_rows": stats.skipped_rows,
        "unicode_errors": stats.unicode_errors,
        "unicode_policy": options.unicode_errors,
        "vocab_filtered": options.vocab is not None,
        "limit": options.limit,
        "careful_chunks": stats.robust_chunks,
        "split_chunks": stats.split_chunks,
    }
    if examples:
        metadata["duplicate_examples"] = examples
    if stats.skipped_examples:
        metadata["skipped_examples"] = list(stats.skipped_examples)
    if stats.stray_boms:  # BOMs of files joined with `cat`, dropped from the lines they start
        metadata["stray_boms"] = stats.stray_boms
    warn_unicode(stats.unicode_errors, options, path)
    return Vectors._of_unique_words(words, matrix, source=path, metadata=metadata)


def _check_rows(
    words: list[str],
    stats: Stats,
    options: LoadOptions,
    header_count: int | None,
    path: Path,
    *,
    complete: bool,
) -> None:
    """Warn of skipped rows and a wrong header count; no usable row at all is an error.

    Warnings name the caller's line outside vecgraft (`caller_stacklevel`).
    """
    file_rows = len(words) + stats.skipped_rows
    if stats.skipped_rows:
        warnings.warn(
            f"{path}: skipped {stats.skipped_rows} bad rows (first: {stats.skipped_examples[0]})",
            stacklevel=caller_stacklevel(),
        )
    asked_rows = options.vocab is None and options.limit != 0
    if not words and asked_rows and (file_rows or header_count != 0):
        if stats.skipped_rows:
            raise FormatError(
                f"no usable rows: all {stats.skipped_rows} rows were bad "
                f"(first: {stats.skipped_examples[0]})",
                path=path,
            )
        raise FormatError("no vector rows", path=path)
    if complete and header_count is not None and header_count != file_rows:
        warnings.warn(
            f"{path}: header says {header_count} rows but the file has {file_rows}; using the rows",
            stacklevel=caller_stacklevel(),
        )


def _drop_duplicates(
    words: list[str], matrix: np.ndarray, source: Source, layout: Layout, options: LoadOptions
) -> tuple[list[str], np.ndarray, int, list[str]]:
    """(words, matrix, duplicates dropped, the first few dropped words).

    A repeated word keeps its first row, with a warning naming the first one's two lines
    (`_lines_of`: the file is read again only then; a load without duplicates pays nothing).
    """
    keep = first_occurrences(words)
    if keep is None:
        return words, matrix, 0, []
    duplicates = len(words) - len(keep)
    dropped = np.ones(len(words), dtype=bool)
    dropped[keep] = False
    examples = [words[i] for i in np.flatnonzero(dropped)[:_EXAMPLES].tolist()]
    lines = _lines_of(examples[0], source, layout, options)
    where = f" at lines {lines[0]} and {lines[1]}" if len(lines) == 2 else ""
    # worded as the binary readers' warning (`_rows.select_rows`): the word, not just a count
    warnings.warn(
        f"{source.path}: {duplicates} duplicate words (first: {examples[0]!r}{where}); "
        "kept the first row of each",
        stacklevel=caller_stacklevel(),
    )
    return [words[i] for i in keep.tolist()], matrix[keep], duplicates, examples


def _lines_of(word: str, source: Source, layout: Layout, options: LoadOptions) -> list[int]:
    """The file's first two lines whose row is `word`'s (fewer when not found).

    Why: "1 duplicate words (first: 'dupword')" left a user searching a file of 400,000
    lines. The rows' lines are not kept by the fast parser (its speed is the loader's), so
    the file is read again, up to the second row, only when a word repeats. A row is read
    as the careful parser reads it: the line's last `dim` fields are its values, the rest
    its word ('new york 0.1 ...' is not 'new'). A word whose bytes were replaced on reading
    (`unicode_errors`) is not in the file as such: no lines, and the warning says none.
    """
    key = word.encode("utf-8", "surrogatepass") + b" "
    found: list[int] = []
    try:
        with _decompression_errors(source), source.open() as stream:
            for chunk in iter_chunks(
                stream, skip=layout.data_offset, first_line=layout.first_line,
                path=source.path, max_line=max_line_bytes(layout.dim, options),
            ):  # fmt: skip
                found += _rows_of(key, chunk.data, chunk.first_line, layout.dim)
                if len(found) >= 2:
                    return found[:2]
    except (OSError, FormatError):  # the file changed since: the warning without its lines
        return []
    return found


def _rows_of(key: bytes, data: bytes | bytearray, first_line: int, dim: int) -> list[int]:
    """The lines in `data` (whole lines from line `first_line`) holding a row of word `key`.

    `key` is the word's bytes and a space; a line may start with a stray BOM (`strip_bom`).
    """
    lines: list[int] = []
    counted, newlines = 0, 0  # newlines in data[:counted]
    for start in _line_starts(data, key):
        end = data.find(b"\n", start)
        line = bytes(data[start : len(data) if end < 0 else end]).rstrip()
        if stray_bom(line):
            line = line[len(BOM) :]
        parts = line.split(b" ")
        if value_count(parts, dim) != dim or b" ".join(parts[:-dim]) + b" " != key:
            continue
        newlines += data.count(b"\n", counted, start)
        counted = start
        lines.append(first_line + newlines)
    return lines


def _line_starts(data: bytes | bytearray, key: bytes) -> Iterator[int]:
    """Where the lines of `data` that start with `key` (or a BOM and `key`) start, in order.

    One regular expression pass (a line break, a BOM or not, the key): 0.08 s over GloVe 6B
    50d's 171 MB, where `find` took 0.14 s a pattern.
    """
    if data.startswith(key) or data.startswith(BOM + key):
        yield 0
    pattern = b"\n(?:" + re.escape(BOM) + b")?" + re.escape(key)
    for found in re.finditer(pattern, data):
        yield found.start() + 1


# -- sniffing -----------------------------------------------------------------------------------
def _sniff(head: bytes, header: bool) -> str | None:
    """None when `head` looks like this text format, else why not."""
    if b"\x00" in head:
        return "contains NUL bytes (binary data)"
    head = lone_cr_to_lf_bytes(head, final=len(head) < _SNIFF_HEAD)
    body = head[len(BOM) :] if head.startswith(BOM) else head
    first = body.split(b"\n", 1)[0]
    if header and parse_header(first) is None:
        return "first line is not a 'count dim' header"
    if not header and parse_header(first) is not None:
        return "first line is a word2vec 'count dim' header"
    try:
        layout = probe_layout(
            head, header=header, path=None, complete=len(head) < _SNIFF_HEAD, sniffing=True
        )
    except FormatError as exc:
        return exc.message
    lines = head[layout.data_offset :].split(b"\n")
    rows = [ln.rstrip().split(b" ") for ln in lines[:-1] if ln.strip()]
    if not rows:
        return None if layout.header_count == 0 else "no complete row in the first bytes"
    # the first row of the right length: a first row one value short (a damaged line the
    # reader reports, or skips) was read as a word and numbers ("values are not numbers")
    row = next((r for r in rows if value_count(r, layout.dim) == layout.dim), rows[0])
    for token in row[len(row) - layout.dim :]:
        try:
            float(token)
        except ValueError:
            return f"first row's values are not numbers ({token[:20]!r})"
    return None


def _word2vec_misfit(source: Source, head: bytes) -> FormatError | None:
    """The word2vec text reader's error for `head` when it clearly is word2vec text, else None.

    Clearly: a `count dim` first line, then a word and numbers (a dimension or count that
    disagrees with the rows). Detection would otherwise bury the reason, without its line,
    among seven formats'. Called only when no format fits, so no file that loads changes.
    """
    complete = len(head) < _SNIFF_HEAD
    head = lone_cr_to_lf_bytes(head, final=complete)
    lines = head.removeprefix(BOM).split(b"\n")
    if parse_header(lines[0]) is None:
        return None
    rows = lines[1:] if complete else lines[1:-1]  # the last line may be cut off
    row = next((line.rstrip().split(b" ") for line in rows if line.strip()), None)
    if row is None or len(row) < 2 or not all(is_number(token) for token in row[1:]):
        return None
    try:
        probe_layout(head, header=True, path=source.path, complete=complete)
    except FormatError as exc:
        return exc
    return None


def _sniff_glove(source: Source, head: bytes) -> str | None:
    return _long_first_line(source, head) or _sniff(head, header=False)


# how far detection looks for the end of a first line longer than its head (`_long_first_line`)
_LONG_LINE_SEARCH = 16 << 20


def _long_first_line(source: Source, head: bytes) -> Rejection | None:
    """Why detection cannot read a first line longer than its head, and how to load it.

    Why: a 100,000-character word on line 1 was "glove: no line break in the first bytes:
    not a text vector file", while `format='glove'` named the line and `max_line_bytes`.
    Only a full head of text without a line break; the line's end is looked for up to
    `_LONG_LINE_SEARCH` bytes, so that the option's value can be given.
    """
    if len(head) < _SNIFF_HEAD or b"\x00" in head:
        return None
    if b"\n" in lone_cr_to_lf_bytes(head, final=False):
        return None
    length = _first_line_length(source)
    to_read = "; to read it as GloVe text, pass {} and {}"
    if length is None:
        return Rejection(
            f"line 1 is longer than {_LONG_LINE_SEARCH:,} bytes (no line break in them)",
            Hint(to_read + " (N: that line's length in bytes or more)",
                 Opt("format", "'glove'", "glove"), Opt("max_line_bytes", "N", "N")),
        )  # fmt: skip
    return Rejection(
        f"line 1 is {length:,} bytes long, more than the {len(head):,} bytes detection reads",
        Hint(to_read, Opt("format", "'glove'", "glove"),
             Opt("max_line_bytes", str(length), str(length))),
    )  # fmt: skip


def _first_line_length(source: Source) -> int | None:
    """Bytes in line 1 (after a BOM, before its line break), None past `_LONG_LINE_SEARCH`."""
    head = source.head(_LONG_LINE_SEARCH + len(BOM) + 1)
    head = lone_cr_to_lf_bytes(head, final=len(head) <= _LONG_LINE_SEARCH)
    body = head.removeprefix(BOM)
    end = body.find(b"\n")
    if end < 0:
        return len(body) if len(body) <= _LONG_LINE_SEARCH else None
    return end


def _sniff_word2vec(source: Source, head: bytes) -> str | None:
    return _sniff(head, header=True)


# -- writing ------------------------------------------------------------------------------------
def writable_word(word: str) -> bool:
    """Whether a text format can store `word` so that it reads back and is detected as text.

    Non-empty, no line break, no leading or trailing space, and no NUL character: a NUL in
    a file's head makes detection call it binary data (`_sniff`).
    """
    return bool(word) and not any(c in word for c in "\n\r\0") and word == word.strip(" ")


def write_text(
    vectors: Vectors, path: Path, *, header: bool, progress: bool | None = False
) -> None:
    """Write `vectors` as text, atomically; values use float32's shortest round-trip repr.

    A `.gz`, `.bz2` or `.xz` suffix compresses the file (see `base.compressed`).

    Formatting is vectorised with pyarrow (cast float32 -> string gives the shortest string
    that reads back to the same float32, then an element-wise join builds the lines), so a
    400k x 300 matrix does not go through a Python loop per value. `progress`: the rows
    written so far (`base.write_meter`; that matrix took 18 s).

    Raises:
        FormatError: a word is empty, contains a line break or a NUL character, or starts or
            ends with a space (it could not be read back, or not detected as text).
    """
    path = Path(path)
    output_compression(path)  # an unwritable suffix is refused before any work
    words = vectors.words
    for i, w in enumerate(words):
        if not writable_word(w):
            raise FormatError(
                f"word {i} ({w[:40]!r}) cannot be written in a text format: it is empty, "
                "contains a line break or a NUL character, or starts/ends with a space",
                path=path,
            )
    matrix = np.asarray(vectors.matrix, dtype=np.float32)

    def write(fh: IO[bytes]) -> None:
        if header:
            fh.write(f"{len(words)} {matrix.shape[1]}\n".encode())
        with write_meter(progress, len(words), path) as bar:
            for start in range(0, len(words), _WRITE_ROWS):
                block = words[start : start + _WRITE_ROWS]
                fh.write(_format_rows(block, matrix[start : start + _WRITE_ROWS], path))
                bar.update(len(block))

    atomic_write(path, compressed(path, write))


def _format_rows(words: list[str], rows: np.ndarray, path: Path) -> bytes:
    """One `word v1 .. vD` line per row, formatted by pyarrow."""
    try:
        word_array = pa.array(words, type=pa.string())
    except (pa.ArrowException, UnicodeEncodeError) as exc:
        raise FormatError(f"a word cannot be encoded as UTF-8: {exc}", path=path) from exc
    columns = np.ascontiguousarray(rows.T)
    parts = [word_array] + [pc.cast(pa.array(col), pa.string()) for col in columns]
    lines = pc.binary_join_element_wise(*parts, " ")
    return _string_bytes(pc.binary_join_element_wise(lines, "", "\n"))


def _string_bytes(array: Any) -> bytes:
    """The concatenated bytes of a pyarrow string array (its data buffer)."""
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)
    start = int(offsets[array.offset])
    end = int(offsets[array.offset + len(array)])
    return array.buffers()[2].to_pybytes()[start:end]


GLOVE_TEXT = Format(
    "glove",
    sniff=_sniff_glove,
    read=lambda source, options: read_text(source, options, header=False, name="glove"),
    write=lambda vectors, path, progress=False: write_text(
        vectors, path, header=False, progress=progress
    ),
    extensions=(".txt",),
)
"""GloVe text: `word v1 .. vD` per line, no header."""

WORD2VEC_TEXT = Format(
    "word2vec",
    sniff=_sniff_word2vec,
    read=lambda source, options: read_text(source, options, header=True, name="word2vec"),
    write=lambda vectors, path, progress=False: write_text(
        vectors, path, header=True, progress=progress
    ),
    extensions=(".vec", ".w2v.txt"),
    misfit=_word2vec_misfit,
)
"""word2vec text and fastText `.vec`: a `count dim` header, then GloVe-style rows."""
