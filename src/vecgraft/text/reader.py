r"""The one reader of text files: plain text, CSV, TSV, JSONL and folders per class.

Labelled or not, compressed or not.
Vocabulary building (`iter_texts`), fine-tuning (`read_labelled`), pretraining and the
transformer corpus mode all read through `TextReader`, so one file is read one way:

- Bytes are streamed (gzip/bz2/xz/zip detected from the first bytes by `io.base.Source`),
  split into lines, and each line is decoded on its own: strict UTF-8 by default, so the
  first bad byte is a DataError naming file and line; `encoding=` and `errors="replace"`
  or `"ignore"` are opt-ins whose repaired rows are counted. Never a whole-file fallback.
- A UTF-8 BOM on the first line and CRLF line ends are removed; a file whose lines end
  in CR alone (classic Mac) is read as lines too, and a CR alone ends a line in any
  file, as universal newlines read it, but for JSON Lines, whose records end at LF (a CR
  is whitespace inside one). UTF-16 (NUL bytes beside ASCII
  characters) and UTF-32 are a DataError saying so, with or without a byte order mark,
  and so is a file whose first bytes name a binary format (a tar or zip archive, an
  executable, a PDF, an SQLite database, .npy, safetensors, a pickle, an image:
  `binary_problem`), under every option. A line of NULs beside undecodable bytes is said
  as a binary file under "strict"; a stray NUL in valid text is a bad byte: under
  "strict" a DataError naming its line, under "replace" and "ignore" a repair, counted
  apart from undecodable bytes.
- CSV uses standard quoting (`"a, b"`, `""` for a quote); in TSV quotes are data
  (`say "hi"`), as in most TSV corpora, but for a field quoted as pandas and csv's
  excel-tab dialect write one (`"say ""hi"" now"`, a line break inside it too), which is
  unquoted (`TsvReader`). A record read over several lines (CSV or TSV) is counted in
  the report and said, so lines are never merged silently. A first line `sep=;`, as
  Excel writes one, names the delimiter.
- Unusable rows (empty text, missing label, broken JSON line, ragged row) follow one
  `BadRowPolicy`: "skip" drops each one and records it (reason, line) in the `ReadReport`;
  "error" raises a DataError naming file and line at the first one. So does a table row
  that repeats the header (two exports joined); after one in another column order
  (`label,text`), the rows are read in that order. A table's label `nan` or `NaN` (NaN
  as `str()` and pandas' `astype(str)` write it) and a JSON `NaN` are missing labels; a
  table's label pandas would read as missing otherwise (`NA`, `None`, `null`, ...) is a
  class, said once per label in the report.

    >>> import gzip, tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "train.tsv.gz"
    >>> _ = path.write_bytes(gzip.compress("text\tlabel\ngood film\tpos\n\tneg\n".encode()))
    >>> reader = TextReader(label_column="label")
    >>> [(row.text, row.label, row.line) for row in reader.rows(path)]
    [('good film', 'pos', 2)]
    >>> reader.report.format().split(": ", 1)[1]
    '1 row dropped: 1 empty text (line 3)'
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Literal

from vecgraft._util.console import printable
from vecgraft._util.gb18030 import CODEC_NAMES, legacy_chinese
from vecgraft._util.options import parse_enum
from vecgraft._util.policies import BadRowPolicy, UnicodeErrors, check_encoding
from vecgraft.errors import ConfigError, DataError, Hint, Opt
from vecgraft.io.base import DECOMPRESS_ERRORS
from vecgraft.text._layouts import Row, jsonl_rows, table_rows
from vecgraft.text._streams import (
    SNIFF_BYTES,
    _open,
    _raw_lines,
    check_head,
    nfc,
    open_bytes,
    text_stream,
    utf16_cjk,
    utf16_problem,
)
from vecgraft.text.report import (
    MAX_EXAMPLES,
    BadRow,
    DropReason,
    ReadReport,
    drop_error,
)

__all__ = [
    "MAX_EXAMPLES",
    "MAX_LINE_BYTES",
    "MAX_ROW_BYTES",
    "BadRow",
    "BadRowPolicy",
    "DropReason",
    "Layout",
    "OnePer",
    "ReadOptions",
    "ReadReport",
    "Row",
    "TextReader",
    "UnicodeErrors",
    "drop_error",
    "layout_of",
    "open_bytes",
]

_ = _raw_lines  # re-exported for tests of the line splitter

# Plain text: a longer line comes in pieces cut at whitespace, each a document, so a file
# without line breaks (text8: 100 MB on one line) streams in pieces of bounded size rather
# than being read, then tokenized, whole; nothing is refused.
MAX_LINE_BYTES = 1 << 20
# The longest line read as one text, for every command: a table row (CSV, TSV, JSON Lines)
# cannot be cut (its label and quoting need the whole row), and one row holds one whole
# document (a book-length text fits); a file with no newlines at all is still refused.
MAX_ROW_BYTES = 64 << 20
_COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz", ".zip")
_BOM = b"\xef\xbb\xbf"
# what a line holding a NUL byte is (`_classify_nul`)
NulKind = Literal["wide", "binary", "stray"]


class OnePer(StrEnum):
    """What one document is in a plain-text file: a line or the whole file."""

    LINE = "line"
    FILE = "file"


class Layout(StrEnum):
    """How a file holds its rows, from its name (compression suffixes ignored)."""

    CSV = "csv"
    TSV = "tsv"
    JSONL = "jsonl"
    TEXT = "text"


def layout_of(path: Path) -> Layout:
    """The layout a file name says (`d.tsv.gz` -> TSV); anything unknown is plain text."""
    name = path.name.lower()
    for suffix in _COMPRESSION_SUFFIXES:
        name = name.removesuffix(suffix)
    ext = os.path.splitext(name)[1]
    if ext == ".csv":
        return Layout.CSV
    if ext in (".tsv", ".tab"):
        return Layout.TSV
    if ext in (".jsonl", ".ndjson", ".json"):
        return Layout.JSONL
    return Layout.TEXT


def _not_utf8(raw: bytes, name: str) -> tuple[str, Hint | None]:
    """(what the line looks like instead, how to fix it) for the invalid-UTF-8 error.

    Chinese files from Windows are the common case: Excel saves CSV in the ANSI code page
    (GBK, which GB18030 extends; Big5, code page 950, in Taiwan and Hong Kong) and "Unicode
    text" in UTF-16. A line that decodes as GB18030 or Big5 into Chinese characters is shown
    so decoded, for the user to judge (`legacy_chinese` tells the two apart).
    """
    repair = Hint(
        "; pass {} or 'ignore' to repair such lines, or {} if the file is not " + name,
        Opt("errors", "'replace'", "replace"),
        Opt("encoding", "...", "NAME"),
    )
    if name != "UTF-8":
        return "", repair
    utf16 = utf16_problem(raw[:SNIFF_BYTES])
    if utf16 is not None:
        return f"; {utf16}", None
    order = utf16_cjk(raw[:SNIFF_BYTES])
    if order is not None:  # Chinese in UTF-16: no NUL bytes for utf16_problem to see
        return f"; {_utf16_cjk_fact(order)}", None
    found = legacy_chinese(raw)
    if found is None:
        return "", repair
    codec, text = found
    text = text.rstrip("\r\n")  # the line's end is no part of what it reads as
    shown = printable(text if len(text) <= 30 else text[:30] + "...")
    return f"; it reads as {CODEC_NAMES[codec][0]} Chinese ({shown!r})", Hint(
        ": pass {} if that is right, or {} or 'ignore' to repair such lines",
        Opt("encoding", repr(codec), codec),
        Opt("errors", "'replace'", "replace"),
    )


def _utf16_cjk_fact(order: str) -> str:
    """What a line of Chinese in UTF-16 (`order` "LE" or "BE") is, and how to convert it."""
    return (f"the line reads as Chinese in UTF-16 ({order}) without a byte order mark: "
            f"convert the file to UTF-8 first (iconv -f UTF-16{order} -t UTF-8)")


@dataclass(frozen=True)
class ReadOptions:
    """How bytes become rows; the same for every command that reads text.

    Attributes:
        encoding: the files' encoding (ASCII-compatible: UTF-8, Latin-1, cp1252, ...).
        errors: "strict" (a DataError naming file and line), "replace" (U+FFFD) or
            "ignore"; repaired lines are counted in the report.
        bad_rows: "skip" (drop and report with line numbers) or "error" (stop at the first).
        max_line_bytes: plain-text lines longer than this are yielded in pieces cut at
            whitespace; a longer line in a table (CSV, TSV, JSON Lines) is a DataError.
            None (the default) is each layout's own: pieces of `MAX_LINE_BYTES` (1 MiB)
            for plain text, rows of up to `MAX_ROW_BYTES` (64 MiB) for tables.
    """

    encoding: str = "utf-8"
    errors: UnicodeErrors = UnicodeErrors.STRICT
    bad_rows: BadRowPolicy = BadRowPolicy.SKIP
    max_line_bytes: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "encoding", check_encoding(self.encoding))
        object.__setattr__(self, "errors", parse_enum(UnicodeErrors, self.errors, "errors"))
        object.__setattr__(self, "bad_rows", parse_enum(BadRowPolicy, self.bad_rows, "bad_rows"))
        if self.max_line_bytes is not None and self.max_line_bytes < 16:
            raise ConfigError(f"max_line_bytes must be at least 16, got {self.max_line_bytes}")

    @property
    def piece_bytes(self) -> int:
        """The size of the pieces a long plain-text line comes in."""
        return MAX_LINE_BYTES if self.max_line_bytes is None else self.max_line_bytes

    @property
    def row_bytes(self) -> int:
        """The longest table row (or line answered on its own) read as one text.

        Why one constant for all: `build` and `pretrain` refused a 1 MiB CSV row that
        `finetune`, `evaluate` and `predict` read, so a file trained on failed to pretrain.
        """
        return MAX_ROW_BYTES if self.max_line_bytes is None else self.max_line_bytes


class TextReader:
    """Rows of text files under one set of rules; everything read is recorded in `.report`.

    Args:
        text_column: CSV/TSV header name (or 0-based index) or JSONL field of the text.
        label_column: the same for the label; None reads unlabelled text.
        header: whether CSV/TSV files start with a header row (integer columns only
            without one).
        one_per: in plain-text files, one document per "line" or per "file".
        options: decoding, bad-row policy and line length.
        source: what to call the input in the report (default: the first file read).
        keep_empty: unlabelled tables only: hand out rows with an empty text instead of
            dropping them, so that one answer per row stays aligned with the rows.
    """

    def __init__(
        self,
        *,
        text_column: str | int = "text",
        label_column: str | int | None = None,
        header: bool = True,
        one_per: str | OnePer = OnePer.LINE,
        options: ReadOptions | None = None,
        source: str = "",
        keep_empty: bool = False,
    ) -> None:
        self.text_column = text_column
        self.label_column = label_column
        self.header = header
        self.one_per = parse_enum(OnePer, one_per, "one_per")
        self.options = options or ReadOptions()
        self.report = ReadReport(source)
        # unlabelled rows with an empty text are handed out, not dropped: a caller that
        # answers each row (`vecgraft predict` on a table) then keeps its rows aligned
        self.keep_empty = keep_empty and label_column is None
        self.reading: IO[bytes] | None = None  # the file being read (for `offset`)

    # -- entry points ----------------------------------------------------------------------
    def rows(self, path: Path) -> Iterator[Row]:
        """The usable rows of one file, in order (lazily)."""
        self.report.files += 1
        if not self.report.source:
            self.report.source = str(path)
        layout = layout_of(path)
        if layout is Layout.JSONL:
            yield from self._counted(jsonl_rows(self, path))
        elif layout is not Layout.TEXT:
            yield from self._counted(table_rows(self, path, "," if layout is Layout.CSV else "\t"))
        elif self.label_column is not None:
            raise DataError(
                f"{path}: cannot tell the layout from the extension "
                f"{os.path.splitext(path.name)[1] or '(none)'!r}; expected .csv, .tsv, .tab, "
                ".jsonl, .ndjson, .json (optionally compressed) or a folder with one "
                "subfolder per label"
            )
        elif self.one_per is OnePer.FILE:
            yield from self._counted(self._whole_file_rows(path, None, None))
        else:
            yield from self._line_rows(path)

    def _counted(self, rows: Iterator[Row]) -> Iterator[Row]:
        """`rows`, each counted in `report.texts` as it is handed out."""
        report = self.report
        for row in rows:
            report.texts += 1
            yield row

    def folder_rows(self, root: Path) -> Iterator[Row]:
        """root/<label>/<file>: one row per file, labels and files in sorted order."""
        if not self.report.source:
            self.report.source = str(root)
        label_dirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
        if not label_dirs:
            raise DataError(
                f"{root}: a folder of labelled texts needs one subfolder per label "
                "(root/<label>/<file>.txt); found no subfolders"
            )
        position = 0
        for label_dir in label_dirs:
            files = sorted(
                f for f in label_dir.iterdir() if f.is_file() and not f.name.startswith(".")
            )
            label = nfc(label_dir.name)  # macOS names folders in NFD: as labels, in NFC
            for file in files:
                position += 1
                self.report.files += 1
                rel = f"{label_dir.name}/{file.name}"
                for row in self._whole_file_rows(file, label, rel):
                    self.report.texts += 1
                    if label != label_dir.name:
                        self.report.add_spelling(label, label_dir.name)
                    yield Row(row.text, row.label, position, rel)

    def open(self, path: Path) -> IO[bytes]:
        """`path`'s bytes, decompressed; kept as the file being read, for `offset`."""
        self.reading = _open(path)
        return self.reading

    def offset(self) -> int:
        """Bytes of the file being read that were read so far, for progress (0: none open).

        The position of the file on disk: a compressed file's compressed bytes (gzip, bz2
        and xz files give their file descriptor; a zip member gives none and counts 0).
        """
        fh = self.reading
        if fh is None:
            return 0
        try:
            return os.lseek(fh.fileno(), 0, os.SEEK_CUR)
        except (OSError, ValueError, AttributeError):  # closed (gzip: no file), no descriptor
            return 0

    # -- decoding --------------------------------------------------------------------------
    def decode(self, raw: bytes, path: Path, line: int, start: int = 0) -> str:
        """One line (or whole file) as text under the options; repairs are counted.

        A stray NUL byte in valid text (scraped corpora hold them) is a bad byte as an
        undecodable one is: under "strict" a DataError, under "replace" and "ignore" a
        repair (U+FFFD, or dropped). UTF-16, UTF-32 and a binary file (NULs beside
        undecodable bytes) are refused as such under every option (`_classify_nul`).
        `start`: where `raw` starts in its line (a piece of a long line), so the byte
        named is counted from the line's start.
        """
        enc = self.options.encoding
        strict = self.options.errors is UnicodeErrors.STRICT
        if 0 in raw:
            error = _nul_error(raw, path, line, start, enc, strict)
            if error is not None:
                raise error
        else:
            try:
                return raw.decode(enc)
            except UnicodeDecodeError as exc:
                if strict:
                    raise _invalid(raw, path, line, start, enc, exc) from None
        return self._repaired(raw, path, line)

    def _repaired(self, raw: bytes, path: Path, line: int) -> str:
        """`raw` decoded under errors="replace" or "ignore" (NULs too), counted in the report."""
        enc = self.options.encoding
        replaced = raw.decode(enc, "replace")
        ignored = raw.decode(enc, "ignore")
        # a whole file read as one text starts at `line`: name the line of the first bad byte
        line += _line_position(raw, _first_bad(raw, enc))[0]
        report = self.report
        report.replaced_rows += 1
        if len(report.replaced_lines) < MAX_EXAMPLES:
            report.replaced_lines.append(f"{path}:{line}")
        # U+FFFD already in the data is not a replacement
        nuls = raw.count(0)
        undecodable = replaced.count("\ufffd") - ignored.count("\ufffd")
        report.unicode_replacements += undecodable + nuls
        report.undecodable_rows += undecodable > 0
        report.nul_rows += nuls > 0
        report.nul_bytes += nuls
        if self.options.errors is UnicodeErrors.IGNORE:
            report.removed = True
            return ignored.replace("\x00", "") if nuls else ignored
        return replaced.replace("\x00", "\ufffd") if nuls else replaced

    # -- layouts ---------------------------------------------------------------------------
    def _line_rows(self, path: Path) -> Iterator[Row]:
        # The hot loop of corpus reading: decoding is inlined to save a generator level.
        report = self.report
        enc = self.options.encoding
        with self.open(path) as fh:
            lines = _raw_lines(text_stream(fh, path, enc), path, self.options.piece_bytes, report)
            crs = 0  # CRs alone seen so far: each ends a line, as in `lines` (predict)
            for lineno, start, raw in lines:
                if lineno == 1:
                    raw = raw.removeprefix(_BOM)
                ended, raw = raw, raw.rstrip(b"\r\n")
                lineno += crs
                # a CR alone (`13 in` is fast), or a NUL byte, which `decode` refuses or repairs
                if 13 in raw or 0 in raw or len(ended) - len(raw) > 2:
                    pieces = _lf_ends(ended).split(b"\n")
                    yield from self._cr_rows(path, lineno, pieces, start)
                    crs += len(pieces) - 1
                    continue
                try:
                    text = raw.decode(enc)
                except UnicodeDecodeError:
                    text = self.decode(raw, path, lineno, start)
                if text.strip():
                    report.texts += 1
                    yield Row(text, None, lineno)
                else:
                    report.blank += 1

    def _cr_rows(
        self, path: Path, lineno: int, pieces: list[bytes], start: int
    ) -> Iterator[Row]:
        """Rows of a line's pieces between CRs alone, each a line (rare, so not inlined).

        `start`: where the first piece starts in its line (a piece of a long line).
        """
        for i, raw in enumerate(pieces):
            text = self.decode(raw, path, lineno + i, 0 if i else start)
            if text.strip():
                self.report.texts += 1
                yield Row(text, None, lineno + i)
            else:
                self.report.blank += 1

    def _whole_file_rows(self, path: Path, label: str | None, rel: str | None) -> Iterator[Row]:
        with self.open(path) as fh:
            try:
                data = fh.read()
            except DECOMPRESS_ERRORS as exc:
                raise DataError(f"{path}: corrupt or truncated compressed data ({exc})") from None
        check_head(data[:SNIFF_BYTES], path, self.options.encoding)
        text = self.decode(data.removeprefix(_BOM), path, 1)
        if text.strip():
            yield Row(text, label, 1, rel)
        elif label is None:
            self.report.blank += 1
        else:
            self._drop(path, 1, DropReason.EMPTY_TEXT, text, file=rel)

    def lines(
        self, fh: IO[bytes], path: Path | str, limit: int, *, cr_ends: bool = True
    ) -> Iterator[tuple[int, str]]:
        """(line number, text) of every line of `fh`, blank ones too, decoded per line.

        For commands that answer each input line (`predict`) and for tables: a line longer
        than `limit` bytes is a DataError naming the line, never read whole. `cr_ends`: a
        CR alone ends a line (universal newlines); JSON Lines ends one at LF (or CRLF)
        only, where a CR is whitespace inside a record.
        """
        for first, lines in self._blocks(fh, Path(path), limit, cr_ends=cr_ends):
            yield from enumerate(lines, start=first)

    def line_blocks(self, fh: IO[bytes], path: Path | str, limit: int) -> Iterator[list[str]]:
        """The lines `lines` gives, a list per read of `fh` (empty while a line is still coming).

        For live input (`predict` on a pipe or a terminal): the caller sees where a read
        ended, so it can answer the lines it has before a read that waits for more.
        """
        for _, lines in self._blocks(fh, Path(path), limit):
            yield lines

    def _blocks(
        self, fh: IO[bytes], path: Path, limit: int, *, cr_ends: bool = True
    ) -> Iterator[tuple[int, list[str]]]:
        """(number of the first line, decoded lines without line ends), a block at a time.

        Reading and decoding a block of whole lines at once keeps the per-line cost in C;
        a block that does not decode is decoded line by line, so a bad byte still costs
        only its own line (or names it, under errors="strict"). Each read takes what is
        there (`read1`): `read` waited for 64 KiB or the end, so `predict` on a pipe or a
        terminal answered nothing until its input closed. A read that ends no line gives
        an empty block, so a caller answering live input is not kept waiting by it.
        """
        enc = self.options.encoding
        fh = text_stream(fh, path, enc)
        read = getattr(fh, "read1", fh.read)
        block_size = 1 << 16
        lineno = 1  # number of the next line
        tail = b""
        # the chunks of a line longer than a block, joined once its end is read: adding
        # each to `tail` copied the line so far per block, quadratic in a 64 MiB row
        held: list[bytes] = []
        held_bytes = 0
        first = True
        while True:
            try:
                chunk = read(block_size)
            except DECOMPRESS_ERRORS as exc:
                raise DataError(f"{path}:{lineno}: corrupt or truncated data ({exc})") from None
            # the chunk's last line end: an LF, or a CR but for its last byte (half of a CRLF?)
            end = chunk.rfind(b"\n")
            if cr_ends:
                end = max(end, chunk.rfind(b"\r", 0, len(chunk) - 1))
            if chunk and end < 0:
                held.append(chunk)
                held_bytes += len(chunk)
                if len(tail) + held_bytes > limit:
                    raise self._too_long(path, lineno, limit)
                yield lineno, []
                continue
            before = len(tail) + held_bytes  # bytes ahead of `chunk` in `data`
            if held:
                data = b"".join([tail, *held, chunk])
                held, held_bytes = [], 0
            else:
                data = tail + chunk if tail else chunk
            if chunk:
                end += before  # the last line end, counted in `data`
                block, tail = data[: end + 1], data[end + 1 :]
            elif data:
                block, tail = data, b""
            else:
                return
            if first:
                block = block.removeprefix(_BOM)
                first = False
            if b"\r" in block:
                block = _lf_ends(block) if cr_ends else _crlf_ends(block)
            elif block.endswith(b"\n"):
                block = block[:-1]
            raw_lines = block.split(b"\n")
            if len(block) > limit and max(map(len, raw_lines)) > limit:
                n = next(i for i, raw in enumerate(raw_lines) if len(raw) > limit)
                raise self._too_long(path, lineno + n, limit)
            try:  # a NUL byte: line by line, for `decode` to name its line
                lines = None if 0 in block else block.decode(enc).split("\n")
            except UnicodeDecodeError:
                lines = None
            if lines is None:
                lines = [self.decode(raw, path, lineno + i) for i, raw in enumerate(raw_lines)]
            yield lineno, lines
            lineno += len(lines)

    def _too_long(self, path: Path, lineno: int, limit: int) -> DataError:
        """A line over `limit` bytes, said as what to do about it.

        It said "raise max_line_bytes= to allow it", a Python keyword, to `vecgraft predict`
        and `finetune`, which have no such flag (their `--max-line-bytes` is for vector
        files); the keyword is named from Python only, where it sets this limit.
        """
        table = layout_of(path) in (Layout.CSV, Layout.TSV)
        mib = 1 << 20
        size = f"{limit // mib} MiB" if limit % mib == 0 else f"{limit:,} bytes"
        ours = limit == self.options.row_bytes  # else the caller's fixed limit
        return DataError(
            f"{path}:{lineno}: {'malformed CSV row: ' if table else ''}a line longer than "
            f"{size}, the most read as one text: split the text over several lines, or check "
            "that the file has line breaks",
            hint=Hint(" (ReadOptions(max_line_bytes=...) sets the limit)") if ours else None,
        )

    # -- bad rows --------------------------------------------------------------------------
    def _check(
        self, path: Path, line: int, text: str, label: str | None, *, nan: bool = False
    ) -> Row | None:
        """The row, or None after dropping it for an empty text or missing label.

        `nan`: the label was written as a NaN (JSON's `NaN`), a missing value; a label
        string is a class, even `"None"` (LUIS's intent) or `"NA"`.
        """
        if not text.strip() and not self.keep_empty:
            self._drop(path, line, DropReason.EMPTY_TEXT, text)
        elif label is not None and not label:
            self._drop(path, line, DropReason.MISSING_LABEL, text)
        elif nan:
            self._drop(path, line, DropReason.NA_LABEL, text, " (NaN)")
        else:
            return Row(text, label, line)
        return None

    def _drop(
        self,
        path: Path,
        line: int,
        reason: DropReason,
        text: str,
        detail: str = "",
        file: str | None = None,
    ) -> None:
        """Count a bad row, or raise a DataError naming file and line under "error"."""
        if self.options.bad_rows is BadRowPolicy.ERROR:
            where = str(path) if file else f"{path}:{line}"
            raise drop_error(where, reason, detail)
        multi = self.report.source != str(path)
        self.report.add(line, reason, text, file if file else (str(path) if multi else None))


# -- helpers -------------------------------------------------------------------------------


def _invalid(
    raw: bytes, path: Path, line: int, start: int, enc: str, exc: UnicodeDecodeError
) -> DataError:
    """The error for `raw`'s bytes that are not `enc`, with what they look like instead."""
    breaks, column = _line_position(raw, exc.start)  # a whole file: the line of the bytes
    name = "UTF-8" if enc == "utf-8" else enc
    fact, hint = _not_utf8(raw, name)
    return DataError(
        f"{path}:{line + breaks}: invalid {name} ({exc.reason} at byte "
        f"{column if breaks else start + column} of the line){fact}",
        hint=hint,  # rendered per caller: keywords from Python, a command's flags
    )


def _nul_error(
    raw: bytes, path: Path, line: int, start: int, enc: str, strict: bool
) -> DataError | None:
    r"""The error for `raw`, read from `path` at `line`, holding a NUL byte, or None to repair it.

    An ELF file was refused for its invalid UTF-8, but one whose bytes happen to be valid
    UTF-8 (NULs and ASCII) was trained on, with '\x00' as a word. UTF-16 and UTF-32 are
    refused under every option (`_classify_nul`: their "repair" drops every other
    character). Under `strict` a binary file and a stray NUL in valid text (scraped corpora
    hold them) are said, the latter with the way out; `replace` and `ignore` repair the
    line (None), as they repair any bad byte: a stray NUL beside a mis-encoded byte is
    what a scraped corpus holds, and an .npy head is no different byte for byte.

        >>> print(_nul_error(b"ok\nab\x00c", Path("x.txt"), 3, 0, "utf-8", True))
        ... # doctest: +ELLIPSIS
        x.txt:4: a NUL byte (U+0000) at byte 2 of the line: ... or pass errors='replace'
        >>> print(_nul_error(b"\x7fELF\x02\x01\x01\x00\xd0a", Path("x.bin"), 1, 0, "utf-8", True))
        x.bin:1: the file looks binary (a NUL byte at byte 7 of the line); expected text
        >>> _nul_error(b"ok\nab\x00c", Path("x.txt"), 3, 0, "utf-8", False) is None
        True
    """
    breaks, column, text = _nul_line(raw)
    line += breaks
    where = f"{path}:{line}"
    column += 0 if breaks else start
    kind, wide = _classify_nul(text, line == 1, enc)
    if kind == "wide":
        return DataError(f"{where}: {wide}")
    if not strict:  # asked to repair: a scraped line's stray NUL beside a mis-encoded byte
        return None
    if kind == "binary":
        return DataError(
            f"{where}: the file looks binary (a NUL byte at byte {column} of the line); "
            "expected text"
        )
    return DataError(
        f"{where}: a NUL byte (U+0000) at byte {column} of the line: text files hold none "
        "(a binary file?); remove stray NULs (tr -d '\\000')",
        hint=Hint(" or pass {}", Opt("errors", "'replace'", "replace")),
    )


def _nul_line(raw: bytes) -> tuple[int, int, bytes]:
    r"""(line breaks before `raw`'s first NUL, its byte in its line, that line's bytes).

    The line, not the whole file read as one text, is what its NULs are judged by.

        >>> _nul_line(b"a\nbc\x00d\re")
        (1, 2, b'bc\x00d')
    """
    at = raw.index(0)
    breaks, column = _line_position(raw, at)
    start = at - column
    ends = [i for i in (raw.find(b"\n", at), raw.find(b"\r", at)) if i >= 0]
    return breaks, column, raw[start : min(ends, default=len(raw))]


def _classify_nul(text: bytes, first: bool, enc: str) -> tuple[NulKind, str]:
    r"""What `text`, a line holding a NUL byte, is: (kind, what to say when "wide", else "").

    - "wide": UTF-16 or UTF-32 text (also Chinese in UTF-16, its ASCII beside NULs); a
      file is checked from its first bytes, but not UTF-16 of Chinese (no NULs there),
      UTF-16 after the first 4 KiB, nor UTF-32: their first NUL is here. Refused under
      every option: its "repair" drops every other character.
    - "binary": bytes that are not `enc` besides the NULs (ELF, .npy): said as a binary
      file under "strict"; repaired under "replace" and "ignore", which were asked for.
    - "stray": NULs in valid text, however many: repaired under "replace" and "ignore".

    `first`: the file's first line (a later one may start with the rest of a line end).

        >>> _classify_nul("ab c".encode("utf-16-le"), True, "utf-8")[0]
        'wide'
        >>> _classify_nul(b"abcde" + bytes(10), False, "utf-8")  # a NUL run is no UTF-32
        ('stray', '')
        >>> _classify_nul(b"\x93NUMPY\x01\x00v\x00{'descr': '<f8'", True, "utf-8")
        ('binary', '')
    """
    head = text[:SNIFF_BYTES]
    if head.count(0) >= 4:  # fewer is too few to tell: `b"\x00abc"` is "UTF-16" to utf16_problem
        # a line split at the LF byte of `0A 00` starts with the NUL
        wide = utf16_problem(head) or utf16_problem(head[1:]) or _utf32_problem(head, first)
        if wide is not None:
            return "wide", wide
    try:
        text.decode(enc)
    except UnicodeDecodeError:
        order = utf16_cjk(head) if enc == "utf-8" else None
        if order is not None:
            return "wide", _utf16_cjk_fact(order)
        return "binary", ""
    return "stray", ""


def _utf32_problem(head: bytes, first: bool) -> str | None:
    r"""What is wrong when `head` (a line's first bytes) is UTF-32 text, else None.

    Two NUL bytes beside every character (any character below U+10000), in its high
    bytes: the last two of each four (little-endian) or the first two (big-endian), and a
    character in its low byte, most of them: a run of NULs (a file padded with them) is
    no UTF-32. A line after the `first` starts with three NULs in both orders (the rest
    of a little-endian `0A 00 00 00`, or a big-endian character): said little-endian,
    the common one.

        >>> _utf32_problem("ab c".encode("utf-32-le"), True)[:38]
        'the file looks like UTF-32 (little-end'
        >>> _utf32_problem("ab c".encode("utf-32-be"), True)[:35]
        'the file looks like UTF-32 (big-end'
        >>> _utf32_problem(b"\x00\x00\x00" + "ab c".encode("utf-32-le"), False)[:38]
        'the file looks like UTF-32 (little-end'
        >>> _utf32_problem(b"a\x00\x00b line with NULs", False) is None
        True
        >>> _utf32_problem(b"ab" + bytes(40), True) is None
        True
    """
    ways = ((0, 2, "LE"), (0, 0, "BE")) if first else ((0, 2, "LE"), (3, 2, "LE"), (0, 0, "BE"))
    for shift, high, codec in ways:
        body = head[shift:]
        n = len(body) // 4
        low = 0 if codec == "LE" else 3
        if (
            n >= 2
            and body[high : 4 * n : 4].count(0) == n == body[high + 1 : 4 * n : 4].count(0)
            and body[low : 4 * n : 4].count(0) * 2 <= n
        ):
            order = "little" if codec == "LE" else "big"
            return (
                f"the file looks like UTF-32 ({order}-endian) (two NUL bytes beside every "
                f"character): convert it to UTF-8 first (iconv -f UTF-32{codec} -t UTF-8)"
            )
    return None


def _first_bad(raw: bytes, enc: str) -> int:
    """Where `raw`'s first NUL or undecodable byte is (`raw` holds one)."""
    nul = raw.find(0)
    try:
        raw.decode(enc)
    except UnicodeDecodeError as exc:
        return exc.start if nul < 0 else min(nul, exc.start)
    return nul


def _crlf_ends(block: bytes) -> bytes:
    r"""`block` split-ready as `_lf_ends` makes it, but a CR alone is no line end (JSON Lines).

    JSON Lines ends a record at LF (CRLF too); a CR elsewhere is JSON whitespace, and
    ending a line there split `{"text": "a",\r "label": "b"}` into two invalid rows.

        >>> [_crlf_ends(b) for b in (b'{"a":\r 1}\r\n{}\n', b"{}\r", b"{}\r\n")]
        [b'{"a":\r 1}\n{}', b'{}\r', b'{}']
    """
    if block.endswith(b"\r\n"):
        block = block[:-2]
    elif block.endswith(b"\n"):
        block = block[:-1]
    return block.replace(b"\r\n", b"\n")


def _line_position(raw: bytes, start: int) -> tuple[int, int]:
    r"""(line breaks before byte `start` of `raw`, `start`'s byte in its line, from 0).

    CRLF, CR and LF each end a line, as the line reader counts them (universal newlines):
    a whole file's bad byte is then named by the same line and byte as one line at a time.

        >>> _line_position(b"a\r\nb\rc\nde", 8), _line_position(b"ab", 1)
        ((3, 1), (0, 1))
    """
    before = raw[:start]
    breaks = before.count(b"\n") + before.count(b"\r") - before.count(b"\r\n")
    line_start = max(before.rfind(b"\n"), before.rfind(b"\r")) + 1
    return breaks, start - line_start


def _lf_ends(block: bytes) -> bytes:
    r"""`block` (whole lines, the last one's end kept or not) split-ready: each end an LF, no last.

    CR, CRLF and LF all end a line, as in Python's and pandas' universal newlines: a CR
    alone in an LF or CRLF file (two exports pasted together) merged two texts into one
    answer, and csv refused the row ("new-line character seen in unquoted field").

        >>> [_lf_ends(b) for b in (b"a\r\nb\rc\n", b"a\r\r", b"ok\r", b"a\r\r\n")]
        [b'a\nb\nc', b'a\n', b'ok', b'a\n']
    """
    if block.endswith(b"\r\n"):
        block = block[:-2]
    elif block.endswith((b"\r", b"\n")):
        block = block[:-1]
    return block.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
