"""The engine behind the text vector formats: chunked reading, a fast and a careful parser.

Design (why it looks like this):

* The file is read in large chunks that end on a line boundary, so memory stays proportional
  to one chunk plus the rows kept, and compressed streams work the same as plain files.
* Each chunk first goes to pyarrow's multi-threaded CSV parser (space-delimited, no quoting),
  which parses floats straight to float32 at several hundred MB/s. Its result is checked after
  the fact (finite values, only CRLF line ends); on ANY failure the same chunk is re-parsed by
  a careful pure-Python parser that handles what pyarrow cannot (tokens containing spaces,
  skip/replace policies) and raises the precise error (file, line, expected vs found).
* A `vocab=` load never parses unwanted rows: each line's first token is found with
  vectorised numpy over the chunk and only wanted lines are handed to the parsers.
* Rows land in a growable float32 matrix whose growth and final trim use `ndarray.resize`
  (realloc, i.e. mremap for large blocks), so a full load peaks near the final matrix size.
"""

from __future__ import annotations

import lzma
import math
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from vecgraft.errors import FormatError, Hint, Opt, VecgraftError
from vecgraft.io.base import LoadOptions
from vecgraft.vectors import MAX_DIM

# how-to-fix hints, rendered with keywords from Python and with flags from the CLI
UNICODE_HINT = Hint(
    "; pass {} or 'ignore' to load it anyway", Opt("unicode_errors", "'replace'", "replace")
)
_SKIP_HINT = Hint("; pass {} to drop such rows", Opt("bad_rows", "'skip'"))
_NONFINITE_HINT = Hint("; pass {} to accept NaN/Inf", Opt("allow_nonfinite", "True"))

BOM = b"\xef\xbb\xbf"
CHUNK_BYTES = 8 << 20
"""Bytes per chunk: enough for pyarrow's threads, small beside the matrix (peak memory)."""
_PROBE_LINES = 64
_WORD_WINDOW = 32


# -- layout of a file: header, dimension, trailing spaces ----------------------------------
@dataclass(frozen=True)
class Layout:
    """What the first bytes of a file say about the rest.

    Attributes:
        dim: number of values per row.
        header_count: the row count a `count dim` header claims (None without a header).
        data_offset: byte offset (after BOM and header) where the rows begin.
        first_line: 1-based line number of the byte at `data_offset`.
        trailing_space: rows end with a space before the newline (fastText's `.vec`).
    """

    dim: int
    header_count: int | None
    data_offset: int
    first_line: int
    trailing_space: bool


def parse_header(line: bytes) -> tuple[int, int] | None:
    """`(count, dim)` when `line` is a word2vec `count dim` header, else None."""
    parts = line.split()
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1])


def _is_number(token: bytes) -> bool:
    if not token.isascii() or b"_" in token:
        return False
    try:
        float(token)
    except ValueError:
        return False
    return True


def value_count(parts: Sequence[bytes], dim: int) -> int:
    """How many values a row split into `parts` holds, given the expected `dim`.

    Fields beyond `dim` are part of the word (GloVe 840B has tokens with spaces) unless they
    are all numbers, in which case the row really has too many values.
    """
    found = len(parts) - 1
    if found <= dim:
        return found
    if all(_is_number(p) for p in parts[1 : len(parts) - dim]):
        return found
    return dim


def probe_layout(head: bytes, *, header: bool, path: Any, complete: bool) -> Layout:
    """Read the header (if any) and the dimension from the first bytes of a file.

    Without a header the dimension is the most common field count of the first lines minus one
    (the first line alone may hold a token with spaces).

    Args:
        head: the first bytes of the decompressed file.
        header: whether the format requires a `count dim` first line.
        path: the file, for error messages.
        complete: `head` is the whole file (so its last line is not cut off).
    """
    offset = len(BOM) if head.startswith(BOM) else 0
    lines = head[offset:].split(b"\n")
    if not complete:
        lines = lines[:-1]  # the last line may be cut off
    if not any(line.strip() for line in lines):
        if complete:
            raise FormatError("empty file: no header and no vector rows", path=path)
        raise FormatError("no line break in the first bytes: not a text vector file", path=path)
    header_count: int | None = None
    header_dim: int | None = None
    first_line = 1
    if header:
        first = lines[0]
        parsed = parse_header(first)
        if parsed is None:
            shown = first[:60].decode("utf-8", "replace").rstrip()
            raise FormatError(
                f"expected a 'count dim' header (word2vec/fastText text), found {shown!r}; "
                "use format='glove' for files without a header",
                path=path,
                line=1,
            )
        header_count, header_dim = parsed
        if not 0 < header_dim <= MAX_DIM:
            raise FormatError(
                f"header dimension {header_dim} is not in 1..{MAX_DIM}", path=path, line=1
            )
        offset += len(first) + 1
        first_line = 2
        lines = lines[1:]
    rows = [
        (i, line.rstrip().split(b" "))
        for i, line in enumerate(lines[:_PROBE_LINES])
        if line.strip()
    ]
    if not rows:
        if header_dim is not None and header_count == 0:
            return Layout(header_dim, 0, offset, first_line, False)
        raise FormatError(
            f"no vector rows (header claims {header_count})" if header else "no vector rows",
            path=path,
        )
    if header_dim is not None:
        dim = header_dim
    else:
        counts = [len(parts) - 1 for _, parts in rows]
        dim = max(set(counts), key=lambda c: (counts.count(c), -counts.index(c)))
        if dim < 1:
            raise FormatError(
                "first row has no values after the word", path=path, line=first_line + rows[0][0]
            )
    fits = [value_count(parts, dim) == dim for _, parts in rows]
    if not header and not fits[0] and rows[0][0] == 0 and parse_header(lines[0]) is not None:
        raise FormatError(
            "line 1 looks like a word2vec 'count dim' header; use format='word2vec'",
            path=path,
            line=first_line,
        )
    if header_dim is not None and 2 * fits.count(False) >= len(fits):
        # the header disagrees with the rows (not one odd row, which bad_rows= decides about)
        bad_idx, bad_parts = rows[fits.index(False)]
        raise FormatError(
            f"expected {dim} values (the header on line 1 says {dim}), found {len(bad_parts) - 1}",
            path=path,
            line=first_line + bad_idx,
        )
    ends = [lines[i].rstrip(b"\r").endswith(b" ") for (i, _), ok in zip(rows, fits) if ok]
    trailing = 2 * sum(ends) > len(ends)
    return Layout(dim, header_count, offset, first_line, trailing)


# -- reading in line-aligned chunks ---------------------------------------------------------
@dataclass
class Chunk:
    """A run of whole lines from the file; `first_line` is the 1-based number of its first."""

    data: bytes | bytearray
    first_line: int
    newlines: int | None = None
    """Number of b"\\n" in `data`, when a consumer already counted them."""


def iter_chunks(
    stream: IO[bytes],
    *,
    skip: int,
    first_line: int,
    path: Any,
    chunk_bytes: int = CHUNK_BYTES,
    progress: Any = None,
    max_line: int | None = None,
) -> Iterator[Chunk]:
    """Yield `Chunk`s of whole lines from `stream`, after skipping `skip` leading bytes.

    Each chunk is a fresh `bytearray` filled with `readinto` and trimmed in place, so no chunk
    is ever copied (a `rest + block` concatenation would double the transient memory). A line
    longer than `max_line` bytes is an error as soon as that many bytes lack a line break, so
    one enormous line (or a decompression bomb without newlines) costs `max_line`, not memory.
    """
    line = first_line
    rest = b""
    size = chunk_bytes
    try:
        while skip > 0:
            dropped = len(stream.read(skip))
            if dropped == 0:
                return
            skip -= dropped
        while True:
            buf = bytearray(len(rest) + size)
            buf[: len(rest)] = rest
            with memoryview(buf) as view:
                got = _fill(stream, view[len(rest) :])
            if progress is not None:
                progress.update(got)
            end = len(rest) + got
            if got == 0:
                if rest:
                    if max_line is not None:
                        _check_line_lengths(rest, len(rest), max_line, line, path)
                    yield Chunk(bytearray(rest), line)
                return
            cut = buf.rfind(b"\n", 0, end) + 1
            if cut == 0:  # a line longer than the chunk: read on, up to the limit
                if max_line is not None and end > max_line:
                    raise _long_line(line, max_line, path)
                rest = bytes(buf[:end])
                size = min(size * 2, max(max_line or 0, chunk_bytes) + 1) if max_line else size * 2
                continue
            if max_line is not None:
                _check_line_lengths(buf, cut, max_line, line, path)
            rest = bytes(buf[cut:end])
            del buf[cut:]
            size = chunk_bytes
            chunk = Chunk(buf, line)
            yield chunk
            line += chunk.newlines if chunk.newlines is not None else buf.count(b"\n")
            del chunk, buf  # free this chunk before reading the next
    except (OSError, EOFError, ValueError, lzma.LZMAError, zipfile.BadZipFile, zlib.error) as exc:
        raise FormatError(f"corrupt or truncated compressed data: {exc}", path=path) from exc


def _long_line(line: int, max_line: int, path: Any) -> FormatError:
    return FormatError(
        f"line {line} is longer than {max_line} bytes (the limit for rows of this dimension); "
        "pass max_line_bytes= (--max-line-bytes) to raise it",
        path=path,
        line=line,
    )


def _check_line_lengths(
    buf: bytes | bytearray, end: int, max_line: int, first_line: int, path: Any
) -> None:
    """Raise if a line in `buf[:end]` is longer than `max_line` bytes (without its newline).

    Jumps to the last newline within `max_line` bytes each step, so an 8 MB chunk of ordinary
    rows costs about a hundred `rfind` calls, not one call per line.
    """
    pos = 0
    while end - pos > max_line:
        nl = buf.rfind(b"\n", pos, pos + max_line + 1)
        if nl < 0:
            raise _long_line(first_line + buf.count(b"\n", 0, pos), max_line, path)
        pos = nl + 1


def _fill(stream: IO[bytes], view: memoryview) -> int:
    """Read into `view` until it is full or the stream ends; returns the bytes read."""
    got = 0
    while got < len(view):
        n = stream.readinto(view[got:])  # type: ignore[attr-defined]
        if not n:
            break
        got += n
    return got


# -- where parsed rows go ---------------------------------------------------------------------
class RowSink:
    """A growable [rows, dim] float32 matrix plus its words.

    Growth and the final trim use `ndarray.resize` (realloc), which for large arrays moves
    pages instead of copying them, so the peak stays near the final size.
    """

    def __init__(self, dim: int, capacity: int, guard: Callable[[int], None] | None = None) -> None:
        self.dim = dim
        self.guard = guard
        if guard is not None:
            guard(max(capacity, 16))
        self.matrix = np.empty((max(capacity, 16), dim), dtype=np.float32)
        self.words: list[str] = []
        self.n = 0

    def reserve(self, extra: int) -> None:
        """Make room for `extra` more rows; `guard(rows)` may refuse (memory) first."""
        need = self.n + extra
        if need > self.matrix.shape[0]:
            cap = max(need, int(self.matrix.shape[0] * 1.5))
            if self.guard is not None:
                self.guard(need)
                try:
                    self.guard(cap)
                except VecgraftError:
                    cap = need  # the rows fit, the headroom does not
            self.matrix.resize((cap, self.dim), refcheck=False)

    def add(self, words: list[str], rows: np.ndarray | list[np.ndarray]) -> None:
        """Append rows of shape [len(words), dim] (one array or consecutive blocks)."""
        self.reserve(len(words))
        at = self.n
        for block in rows if isinstance(rows, list) else [rows]:
            self.matrix[at : at + len(block)] = block
            at += len(block)
        if at != self.n + len(words):
            raise FormatError(f"internal error: {len(words)} words but {at - self.n} rows")
        self.words.extend(words)
        self.n = at

    def finish(self) -> tuple[list[str], np.ndarray]:
        """The words and the matrix trimmed to the rows added."""
        self.matrix.resize((self.n, self.dim), refcheck=False)
        return self.words, self.matrix


# -- counters reported in metadata ------------------------------------------------------------
@dataclass
class Stats:
    """What happened during a load, for `vectors.metadata` and warnings."""

    rows: int = 0
    skipped_rows: int = 0
    skipped_examples: list[str] = field(default_factory=list)
    unicode_errors: int = 0
    robust_chunks: int = 0
    split_chunks: int = 0


# -- the fast parser --------------------------------------------------------------------------
class FastParser:
    """pyarrow CSV parsing of well-formed rows; returns None whenever anything is unusual."""

    def __init__(self, dim: int, trailing_space: bool, allow_nonfinite: bool) -> None:
        self.dim = dim
        self.allow_nonfinite = allow_nonfinite
        self.spaces = dim + int(trailing_space)
        """Spaces in a regular line (pyarrow's column count minus one)."""
        names = [f"c{i}" for i in range(dim + 1 + int(trailing_space))]
        self.value_names = names[1 : dim + 1]
        types: dict[str, pa.DataType] = {names[0]: pa.string()}
        types.update({n: pa.float32() for n in self.value_names})
        self.read_options = pacsv.ReadOptions(
            column_names=names, block_size=1 << 20, use_threads=True
        )
        self.parse_options = pacsv.ParseOptions(
            delimiter=" ",
            quote_char=False,
            escape_char=False,
            double_quote=False,
            newlines_in_values=False,
            ignore_empty_lines=True,
        )
        self.convert_options = pacsv.ConvertOptions(
            column_types=types,
            include_columns=names[: dim + 1],
            null_values=[],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            true_values=[],
            false_values=[],
        )

    def parse(
        self, data: bytes | bytearray
    ) -> tuple[list[str], np.ndarray | list[np.ndarray]] | None:
        """Words and a [rows, dim] matrix for `data`, or None to ask for the careful parser."""
        if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
            return None  # pyarrow would treat a lone CR as a line break
        try:
            table = pacsv.read_csv(
                pa.py_buffer(data), self.read_options, self.parse_options, self.convert_options
            )
        except (pa.ArrowException, ValueError):
            return None
        n = table.num_rows
        blocks: list[np.ndarray] = []
        for batch in table.select(self.value_names).to_batches():
            if batch.num_rows == 0:
                continue
            block = np.asarray(batch.to_tensor(row_major=True))
            if block.shape != (batch.num_rows, self.dim):
                return None
            if not self.allow_nonfinite and not np.isfinite(block).all():
                return None
            blocks.append(block)
        words = table.column(0).to_pylist()
        if not blocks:
            return words, np.zeros((n, self.dim), np.float32)
        return words, blocks[0] if len(blocks) == 1 else blocks


# -- the careful parser -----------------------------------------------------------------------
@dataclass(frozen=True)
class RowContext:
    """Everything the careful parser needs to judge and report a row."""

    dim: int
    path: Any
    options: LoadOptions
    header_dim: bool


class _Bad(Exception):
    """A row is unusable; raised inside the careful parser and turned into error or skip."""


def parse_careful(
    data: bytes | bytearray, line_of: LineMap, ctx: RowContext, stats: Stats
) -> tuple[list[str], np.ndarray, list[int]]:
    """Parse `data` row by row, raising precise errors or skipping per `ctx.options`.

    Returns:
        words, a [rows, dim] float32 matrix, and the line number of each row.
    """
    dim = ctx.dim
    words: list[str] = []
    flat: list[float] = []
    lines: list[int] = []
    raw_lines = bytes(data).split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    for i, raw in enumerate(raw_lines):
        line = raw.rstrip()
        if not line:
            continue
        lineno = line_of(i)
        try:
            word, values = _parse_row(line, ctx, stats, lineno)
        except _Bad as bad:
            _reject(str(bad), lineno, ctx, stats)
            continue
        words.append(word)
        flat.extend(values)
        lines.append(lineno)
    with np.errstate(over="ignore", invalid="ignore"):  # float32 overflow -> inf, checked below
        matrix = np.array(flat, dtype=np.float32).reshape(len(words), dim)
    if not ctx.options.allow_nonfinite and len(words):
        finite: np.ndarray = np.asarray(np.isfinite(matrix).all(axis=1), dtype=bool)
        if not finite.all():
            for r in np.flatnonzero(~finite).tolist():
                col = int(np.flatnonzero(~np.isfinite(matrix[r]))[0])
                _reject(
                    f"value {col + 1} is not finite ({matrix[r, col]})",
                    lines[r],
                    ctx,
                    stats,
                    hint=_NONFINITE_HINT,
                )
            flags = [bool(k) for k in finite.tolist()]
            words = [w for w, k in zip(words, flags) if k]
            lines = [ln for ln, k in zip(lines, flags) if k]
            matrix = matrix[finite]
    return words, matrix, lines


def _parse_row(line: bytes, ctx: RowContext, stats: Stats, lineno: int) -> tuple[str, list[float]]:
    dim = ctx.dim
    parts = line.split(b" ")
    found = value_count(parts, dim)
    if found != dim:
        why = " (from the header)" if ctx.header_dim else ""
        raise _Bad(f"expected {dim} values{why}, found {found}")
    word_bytes = b" ".join(parts[:-dim])
    try:
        word = word_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        policy = ctx.options.unicode_errors
        if policy == "strict":
            raise FormatError(
                f"invalid UTF-8 in the word at byte {exc.start} ({word_bytes[:40]!r})",
                path=ctx.path,
                hint=UNICODE_HINT,
                line=lineno,
            ) from None
        word = word_bytes.decode("utf-8", policy)
        stats.unicode_errors += 1
    values: list[float] = []
    for j, token in enumerate(parts[len(parts) - dim :]):
        try:
            if not token.isascii() or b"_" in token:
                raise ValueError  # float() would accept '1_0' and non-ASCII digits
            values.append(float(token))
        except ValueError:
            shown = token[:30].decode("utf-8", "replace")
            raise _Bad(f"value {j + 1} is not a number: {shown!r}") from None
    return word, values


def _reject(
    message: str, lineno: int, ctx: RowContext, stats: Stats, *, hint: Hint | None = None
) -> None:
    if ctx.options.bad_rows != "skip":
        raise FormatError(
            message,
            path=ctx.path,
            hint=hint or _SKIP_HINT,
            line=lineno,
        )
    stats.skipped_rows += 1
    if len(stats.skipped_examples) < 5:
        stats.skipped_examples.append(f"line {lineno}: {message}")


class LineMap:
    """Maps the index of a line within parsed data to its 1-based line number in the file."""

    def __init__(self, first: int, numbers: np.ndarray | None = None) -> None:
        self.first = first
        self.numbers = numbers

    def __call__(self, i: int) -> int:
        """Line number of line `i`."""
        if self.numbers is None:
            return self.first + i
        return int(self.numbers[i])


def parse_block(
    data: bytes | bytearray, line_of: LineMap, fast: FastParser, ctx: RowContext, stats: Stats
) -> tuple[list[str], np.ndarray | list[np.ndarray], list[int] | None]:
    """Fast parse, else split off the odd lines, else careful parse.

    Returns:
        words, rows ([rows, dim], one array or consecutive blocks), and the line numbers of
        the rows when they are known (None after a plain fast parse).
    """
    result = fast.parse(data)
    if result is not None:
        return result[0], result[1], None
    split = _parse_split(bytes(data), line_of, fast, ctx, stats)
    if split is not None:
        stats.split_chunks += 1
        return split
    stats.robust_chunks += 1
    return parse_careful(data, line_of, ctx, stats)


def _parse_split(
    data: bytes, line_of: LineMap, fast: FastParser, ctx: RowContext, stats: Stats
) -> tuple[list[str], np.ndarray, list[int]] | None:
    """Fast-parse the regular lines and carefully parse the few odd ones (GloVe 840B).

    A handful of tokens with spaces, scattered through a file, would otherwise send every
    chunk down the pure-Python path. Lines with the expected number of spaces go back to
    pyarrow; the rest (at most 1%) are parsed row by row; rows are merged in line order.
    """
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    spaces = fast.spaces
    odd = [i for i, line in enumerate(lines) if line.count(b" ") != spaces]
    if not odd or len(odd) * 100 > len(lines):
        return None
    odd_set = set(odd)
    regular = [i for i in range(len(lines)) if i not in odd_set]
    result = fast.parse(b"\n".join([lines[i] for i in regular] + [b""]))
    if result is None or len(result[0]) != len(regular):
        return None
    odd_data = b"\n".join([lines[i] for i in odd] + [b""])
    odd_lines = np.asarray([line_of(i) for i in odd], dtype=np.int64)
    words_b, rows_b, lines_b = parse_careful(odd_data, LineMap(0, odd_lines), ctx, stats)
    lines_a = [line_of(i) for i in regular]
    order = np.argsort(np.asarray(lines_a + lines_b, dtype=np.int64), kind="stable")
    rows_a = result[1] if isinstance(result[1], np.ndarray) else np.concatenate(result[1])
    matrix = np.concatenate([rows_a, rows_b])[order]
    words = result[0] + words_b
    all_lines = lines_a + lines_b
    picks = order.tolist()
    return [words[i] for i in picks], matrix, [all_lines[i] for i in picks]


# -- selecting lines for vocab=/limit= loads ---------------------------------------------------
@dataclass
class LineIndex:
    """Start/end offsets of each non-blank line in a chunk (end excludes the newline)."""

    starts: np.ndarray
    ends: np.ndarray
    numbers: np.ndarray


def index_lines(chunk: Chunk) -> LineIndex:
    """Line offsets and line numbers of the non-blank lines of `chunk`.

    A `find` loop beats `np.flatnonzero(arr == 10)` here: memchr skips whole lines at memory
    speed and the loop runs once per line, not once per byte. Sets `chunk.newlines`.
    """
    data = chunk.data
    find = data.find
    nl: list[int] = []
    append = nl.append
    pos = find(b"\n")
    while pos >= 0:
        append(pos)
        pos = find(b"\n", pos + 1)
    chunk.newlines = len(nl)
    if data and data[-1] != 10:
        nl.append(len(data))
    ends = np.asarray(nl, dtype=np.int64)
    starts = np.empty(len(ends), dtype=np.int64)
    starts[:1] = 0
    starts[1:] = ends[:-1] + 1
    arr = np.frombuffer(data, dtype=np.uint8)
    if len(arr):
        cr = (ends > starts) & (arr[np.maximum(ends - 1, 0)] == 13)
        ends = ends - cr
    numbers = np.arange(chunk.first_line, chunk.first_line + len(ends), dtype=np.int64)
    keep = ends > starts
    return LineIndex(starts[keep], ends[keep], numbers[keep])


class TokenFilter:
    """Vectorised superset test on each line's first token for a `vocab=` load.

    Each line's first `_WORD_WINDOW` bytes are gathered into a fixed-width numpy bytes array
    and looked up (`np.searchsorted`) in the encoded vocabulary plus its case-folded forms, so
    the 400k-line scan costs a few numpy calls per chunk instead of a Python call per line.
    Only tokens that case-folding could change (ASCII capitals, non-ASCII) or that are longer
    than the window take a Python path. A word containing spaces starts with a token that is
    not itself the word, so the first tokens of vocabulary words with spaces are wanted too;
    every kept row is checked again against `LoadOptions.wants` once its real word is known.
    """

    def __init__(self, options: LoadOptions) -> None:
        self.options = options
        vocab = options.vocab or frozenset()
        forms = {w.split(" ", 1)[0] for w in vocab}
        self.folded = {w.split(" ", 1)[0] for w in options.casefolded_vocab}
        if options.keep_casefold:
            forms |= self.folded
        self.exact = {w.encode("utf-8", "surrogatepass") for w in forms}
        short = sorted(t for t in self.exact if 0 < len(t) <= _WORD_WINDOW and b"\0" not in t)
        self.table = np.array(short, dtype=f"S{_WORD_WINDOW}")

    def wanted(self, token: bytes) -> bool:
        """Whether a line starting with `token` may be wanted (the slow, exact test)."""
        if token in self.exact:
            return True
        if not self.options.keep_casefold:
            return False
        return token.decode("utf-8", "replace").casefold() in self.folded

    def mask(self, data: bytes | bytearray, idx: LineIndex) -> np.ndarray:
        """Boolean mask over the lines of `idx`: True where the line may be wanted."""
        n = len(idx.starts)
        if n == 0:
            return np.zeros(0, dtype=bool)
        arr = np.frombuffer(data, dtype=np.uint8)
        cols = np.arange(_WORD_WINDOW)
        window = idx.starts[:, None] + cols
        np.minimum(window, len(arr) - 1, out=window)
        win = arr[window]
        length = idx.ends - idx.starts
        stop = (win == 32) | (cols >= length[:, None])
        token_len = np.where(stop.any(axis=1), stop.argmax(axis=1), _WORD_WINDOW + 1)
        inside = cols < token_len[:, None]
        win[~inside] = 0
        tokens = np.ascontiguousarray(win).view(f"S{_WORD_WINDOW}").ravel()
        if len(self.table):  # sorted, unique: a binary search beats np.isin's re-sort
            at = np.minimum(np.searchsorted(self.table, tokens), len(self.table) - 1)
            keep = self.table[at] == tokens
        else:
            keep = np.zeros(n, dtype=bool)
        slow = token_len > _WORD_WINDOW  # longer than the window
        slow |= ((win == 0) & inside).any(axis=1)  # NUL bytes would be cut by the S dtype
        if self.options.keep_casefold:
            special = ((win >= 65) & (win <= 90)) | (win >= 128)
            slow |= (special & inside).any(axis=1)
        for i in np.flatnonzero(slow & ~keep).tolist():
            s, e = int(idx.starts[i]), int(idx.ends[i])
            sp = data.find(b" ", s, e)
            keep[i] = self.wanted(bytes(data[s : sp if sp >= 0 else e]))
        return keep


def select(
    chunk: Chunk, keep: TokenFilter | None, budget: int | None
) -> tuple[bytes, LineMap, int]:
    """The lines of `chunk` a filtered load needs, joined, with their line numbers.

    Args:
        chunk: whole lines of the file.
        keep: first-token filter (None keeps every line).
        budget: how many more data rows `limit=` allows (None: no limit).

    Returns:
        the selected lines (newline-terminated), their line map, and how many data rows of
        the file were consumed (for `limit=`).
    """
    data = chunk.data
    idx = index_lines(chunk)
    consumed = len(idx.starts)
    if budget is not None and consumed > budget:
        idx = LineIndex(idx.starts[:budget], idx.ends[:budget], idx.numbers[:budget])
        consumed = budget
    if keep is not None:
        mask = keep.mask(data, idx)
        idx = LineIndex(idx.starts[mask], idx.ends[mask], idx.numbers[mask])
    view = memoryview(data)
    pieces: list[memoryview | bytes] = []
    for s, e in zip(idx.starts.tolist(), idx.ends.tolist()):
        pieces.append(view[s:e])
        pieces.append(b"\n")
    joined = b"".join(pieces)
    view.release()
    return joined, LineMap(0, idx.numbers), consumed


# -- helpers ------------------------------------------------------------------------------------
def first_occurrences(words: list[str]) -> np.ndarray | None:
    """Row indices keeping the first of each duplicated word, or None when all are unique.

    Sorting 64-bit string hashes needs 8 bytes a word where a set would need ~50, which
    matters because this runs when the full matrix is already in memory.
    """
    hashes = np.fromiter(map(hash, words), dtype=np.int64, count=len(words))
    order = np.argsort(hashes, kind="stable")
    same = hashes[order[1:]] == hashes[order[:-1]]
    if not same.any():
        return None
    suspects = np.unique(np.concatenate([order[1:][same], order[:-1][same]]))
    first: dict[str, int] = {}
    drop: list[int] = []
    for i in suspects.tolist():  # ascending row order, so the first row of a word wins
        if words[i] in first:
            drop.append(i)
        else:
            first[words[i]] = i
    if not drop:
        return None
    keep = np.ones(len(words), dtype=bool)
    keep[drop] = False
    return np.flatnonzero(keep)


def show_progress(options: LoadOptions, size: int | None) -> bool | None:
    """The `disable` value for tqdm: an explicit option wins, else only big loads on a terminal."""
    if options.progress is not None:
        return not options.progress
    if size is not None and size < (64 << 20):
        return True
    return None if sys.stderr.isatty() else True


def capacity_hint(size: int | None, head_bytes: int, head_rows: int) -> int:
    """Rows to allocate up front: the file size over the bytes per row seen so far."""
    if size is None or head_rows == 0:
        return 1 << 16
    per_row = max(head_bytes / head_rows, 1.0)
    return math.ceil(size / per_row * 1.05) + 1024
