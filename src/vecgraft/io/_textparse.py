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

The file's layout is probed in `_textlayout`, chunks are cut and filtered in `_textchunks`;
their names are re-exported here, the parsers and the row sink live here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from vecgraft._util.gb18030 import gb18030_advice
from vecgraft.errors import FormatError, Hint, Opt, VecgraftError
from vecgraft.io._textchunks import CHUNK_BYTES as _CHUNK_BYTES
from vecgraft.io._textchunks import Chunk as Chunk
from vecgraft.io._textchunks import LineIndex as LineIndex
from vecgraft.io._textchunks import LineMap as LineMap
from vecgraft.io._textchunks import TokenFilter as TokenFilter
from vecgraft.io._textchunks import index_lines as index_lines
from vecgraft.io._textchunks import iter_chunks as iter_chunks
from vecgraft.io._textchunks import lone_cr_to_lf_bytes as lone_cr_to_lf_bytes
from vecgraft.io._textchunks import select as select
from vecgraft.io._textlayout import BOM as BOM
from vecgraft.io._textlayout import Layout as Layout
from vecgraft.io._textlayout import capacity_hint as capacity_hint
from vecgraft.io._textlayout import first_capacity as first_capacity
from vecgraft.io._textlayout import is_number as is_number
from vecgraft.io._textlayout import number_run, separator_mixup, stray_bom
from vecgraft.io._textlayout import parse_header as parse_header
from vecgraft.io._textlayout import probe_layout as probe_layout
from vecgraft.io._textlayout import value_count as value_count
from vecgraft.io.base import LoadOptions

# how-to-fix hints, rendered with keywords from Python and with flags from the CLI
UNICODE_HINT = Hint(
    "; pass {} or 'ignore' to load it anyway", Opt("unicode_errors", "'replace'", "replace")
)
_SKIP_HINT = Hint("; pass {} to drop such rows", Opt("bad_rows", "'skip'"))
_NONFINITE_HINT = Hint("; pass {} to accept NaN/Inf", Opt("allow_nonfinite", "True"))

CHUNK_BYTES = _CHUNK_BYTES
"""Bytes per chunk read by `vecgraft.io.text` (tests lower it here to force many chunks)."""


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
    stray_boms: int = 0
    """UTF-8 BOMs dropped from the start of a line after the file's first (`strip_bom`)."""


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
        if data[: len(BOM)] == BOM:  # pyarrow drops it unseen: the careful parser counts it
            return None
        try:
            table = pacsv.read_csv(
                _arrow_owned(data), self.read_options, self.parse_options, self.convert_options
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
        first = table.column(0)
        if pc.any(pc.match_substring_regex(first, pattern="^\ufeff.")).as_py():
            return None  # a BOM starts a word: the careful parser drops it (`strip_bom`)
        words = first.to_pylist()
        if not blocks:
            return words, np.zeros((n, self.dim), np.float32)
        return words, blocks[0] if len(blocks) == 1 else blocks


def _arrow_owned(data: bytes | bytearray) -> pa.Buffer:
    """A copy of `data` in Arrow's own memory, for `read_csv`'s worker threads.

    Over a Python object (`pa.py_buffer`) a worker that drops the last reference after
    `read_csv` returned needs the GIL; at interpreter exit that thread is ended inside
    Arrow's C++ and the process aborts ("terminate called without an active exception",
    exit 134) in about a quarter of scripts that load with cache=False. Arrow-owned memory
    is released without Python. The copy costs one memcpy per chunk.
    """
    buf = pa.allocate_buffer(len(data))
    np.frombuffer(buf, dtype=np.uint8)[:] = np.frombuffer(data, dtype=np.uint8)
    return buf


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
        line = strip_bom(raw.rstrip(), stats)
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
                    nonfinite_reason(col, flat[r * dim + col], matrix[r, col]),
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


def strip_bom(line: bytes, stats: Stats) -> bytes:
    r"""`line` without a UTF-8 BOM at its start, counted in `stats.stray_boms`.

    Why: `cat a.txt b.txt` leaves b.txt's BOM at the start of a line in the middle of the
    file, where it was read as part of the word ('\ufeffcat', which no lookup finds). Only
    a line's first character, and not when a space follows it: that U+FEFF is the word
    (`stray_bom`). U+FEFF anywhere else is left as it is.
    """
    if not stray_bom(line):
        return line
    stats.stray_boms += 1
    return line[len(BOM) :]


def nonfinite_reason(col: int, written: float, read: np.float32) -> str:
    """Why value `col` (0-based) was rejected: NaN/Inf in the file, or too large for float32.

    Why: "1e39" read as float32 is inf, and the error said "is not finite (inf)" of a finite
    number that a user then could not find in the file (`Vectors` says "beyond float32's
    range" of the same value in a .npy).
    """
    if np.isfinite(written):
        return (
            f"value {col + 1} is {written:.4g}, beyond float32's range (about 3.4e38): "
            f"not finite once read"
        )
    return f"value {col + 1} is not finite ({read})"


def _parse_row(line: bytes, ctx: RowContext, stats: Stats, lineno: int) -> tuple[str, list[float]]:
    dim = ctx.dim
    parts = line.split(b" ")
    found = value_count(parts, dim)
    if found != dim:
        why = " (from the header)" if ctx.header_dim else ""
        mixup = separator_mixup(line) if found < dim else None
        raise _Bad(f"expected {dim} values{why}, found {found}" + (f": {mixup}" if mixup else ""))
    word_bytes = b" ".join(parts[:-dim])
    if not word_bytes.strip(b" ") or word_bytes != word_bytes.strip(b" "):
        # GloVe 840B's words hold inner spaces; an empty or space-padded one is a second
        # space between fields, and was read as the word "the " that no lookup finds
        raise _Bad(f"the word {word_bytes[:40]!r} is empty or padded with spaces "
                   "(two spaces between fields?)")  # fmt: skip
    if len(parts) > dim + 2:  # a word of 3+ tokens (GloVe 840B's rare rows) may hide a row
        _check_joined(parts[: len(parts) - dim], dim)
    try:
        word = word_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        policy = ctx.options.unicode_errors
        if policy == "strict":
            # GBK Chinese: 'replace' would make every word '??', so name the conversion
            gbk = gb18030_advice(ctx.path, word_bytes, "files made on Windows")
            raise FormatError(
                f"invalid UTF-8 in the word at byte {exc.start} ({word_bytes[:40]!r}){gbk}",
                path=ctx.path,
                hint=None if gbk else UNICODE_HINT,
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


def _check_joined(word_parts: list[bytes], dim: int) -> None:
    """Refuse a word holding `dim` numbers in a row: two rows joined by a lost line break."""
    run = number_run(word_parts, dim)
    if run is None:
        return
    start, end = run
    shown = b" ".join([*word_parts[: start + 1], b"...", *word_parts[end - 1 :]])
    text = shown.decode("utf-8", "replace")
    text = text if len(text) <= 60 else text[:57] + "..."
    raise _Bad(f"two rows on one line (a lost line break?): the word would be {text!r}, "
               f"holding {end - start} numbers")  # fmt: skip


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
    picked = _parse_regular(lines, odd, fast) if odd else None
    if picked is None:  # a BOM starting a line (`strip_bom`) is odd too: looked for only now
        odd = sorted({*odd, *(i for i, line in enumerate(lines) if stray_bom(line))})
        picked = _parse_regular(lines, odd, fast) if odd else None
        if picked is None:
            return None
    regular, result = picked
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


def _parse_regular(
    lines: list[bytes], odd: list[int], fast: FastParser
) -> tuple[list[int], tuple[list[str], np.ndarray | list[np.ndarray]]] | None:
    """The indices of the lines not in `odd` and their fast parse; None if it fails.

    None too when more than 1% of the lines are odd (the careful parser takes the chunk).
    """
    if len(odd) * 100 > len(lines):
        return None
    odd_set = set(odd)
    regular = [i for i in range(len(lines)) if i not in odd_set]
    result = fast.parse(b"\n".join([lines[i] for i in regular] + [b""]))
    if result is None or len(result[0]) != len(regular):
        return None
    return regular, result


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


# a text load this big or bigger shows progress (smaller ones take seconds)
BIG_LOAD_BYTES = 64 << 20


def show_progress(options: LoadOptions, size: int | None) -> bool | None:
    """The `disable` value for `progress_bar`: an explicit option wins, else big loads only.

    A big load shows a bar on a terminal, plain lines elsewhere (`progress_bar`).
    """
    if options.progress is not None:
        return not options.progress
    if size is not None and size < BIG_LOAD_BYTES:
        return True
    return None
