"""Rows of the table layouts (CSV, TSV) and of JSON Lines, for `TextReader`.

Split from `vecgraft.text.reader` (which re-exports `Row`): `TextReader.rows` hands these
layouts to `table_rows` and `jsonl_rows`, which read through the reader's line splitter,
policies and report.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from vecgraft.errors import DataError
from vecgraft.text._streams import (
    BLANK,
    NA_LABELS,
    NAN_LABELS,
    _FieldLimit,
    column_indices,
    label_text,
    missing_columns,
)
from vecgraft.text.report import DropReason

if TYPE_CHECKING:
    from vecgraft.text.reader import TextReader


class Row(NamedTuple):
    """One usable row: its text, its label (None when unlabelled) and where it came from."""

    text: str
    label: str | None
    line: int
    file: str | None = None


def table_rows(text_reader: TextReader, path: Path, delimiter: str) -> Iterator[Row]:
    """Usable rows of a CSV (standard quoting) or TSV (a field wholly quoted) file."""
    limit = text_reader.options.row_bytes
    with text_reader.open(path) as fh:
        lines = _plain_lines(text_reader, fh, path, limit)
        first = next(lines, None)
        sep = _excel_sep(first)
        if sep is not None:  # read as a blank line: the lines keep their numbers
            delimiter, first = sep, ""
        lines = itertools.chain([] if first is None else [first], lines)
        # TSV files rarely quote and often hold literal quotes, so quotes are data there,
        # but for a field that starts with one, as pandas and csv's excel-tab dialect write it
        reader: Any
        if delimiter == "\t":
            reader = TsvReader(lines, limit)
        else:
            ended = (line + "\n" for line in lines)  # as the csv module wants them
            reader = csv.reader(ended, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL, strict=True)
        with _FieldLimit():
            yield from _records(text_reader, reader, path, delimiter)


def tsv_field(field: str) -> str:
    r"""A TSV field, unquoted when it is quoted whole as csv's excel-tab dialect quotes it.

    pandas' `to_csv(sep="	")` and Python's csv quote a field holding a quote: `say "hi"
    twice` is written `"say ""hi"" twice"`. Read with quotes as data, the text held `""`
    pairs and the outer quotes. Only a field that starts and ends with a quote and whose
    quotes inside all come in pairs is such a field; any other quote is data (`5" screen`,
    `"a" b`).

        >>> [tsv_field(f) for f in ('"say ""hi"" now"', '5" screen', '"a" b', '"a"', '"')]
        ['say "hi" now', '5" screen', '"a" b', 'a', '"']
    """
    if len(field) < 2 or field[0] != '"' or field[-1] != '"':
        return field
    inner = field[1:-1]
    if '"' in inner.replace('""', ""):
        return field
    return inner.replace('""', '"')


class TsvReader:
    r"""Records of a TSV file's lines, as csv's reader gives them (`line_num`, [] if blank).

    Quotes are data, but a field that starts with one is quoted as pandas' `to_csv(sep="\t")`
    writes it: `""` is a quote and the field ends at the closing quote, on a later line if
    the text held a line break (pandas read a text cut in two: its first half had no label,
    its second a stray quote). A quote that does not close right before a tab or a line
    end (`"a" b`), or does not close within `limit` characters, was data after all: that
    line is read with its quotes as data (`tsv_field`) and the lines after it as rows. So
    was one whose lines each hold a whole row's worth of tabs (`"Cheap\tneg` then
    `Screen is 12"\tpos` are two rows, not one text holding a tab and a line break), in a
    table of 2 columns or more (`columns`: the first record's, the header's).

        >>> rows = TsvReader(iter(['1\t"good', 'movie"\tpos', '"a" b\t"x', '2\tneg']), 99)
        >>> [(row, rows.line_num) for row in rows]
        [(['1', 'good\nmovie', 'pos'], 2), (['"a" b', '"x'], 3), (['2', 'neg'], 4)]
        >>> list(TsvReader(iter(['text\tlabel', '"Cheap\tneg', 'Screen is 12"\tpos']), 99))
        [['text', 'label'], ['"Cheap', 'neg'], ['Screen is 12"', 'pos']]
    """

    def __init__(self, lines: Iterator[str], limit: int) -> None:
        self._lines = lines
        self._ahead: list[str] = []  # lines read past a quote that was data, last first
        self._limit = limit
        self.line_num = 0
        self.columns = 0  # fields of the first record (the header): a row's worth of tabs

    def __iter__(self) -> TsvReader:
        return self

    def _next_line(self) -> str | None:
        line = self._ahead.pop() if self._ahead else next(self._lines, None)
        if line is not None:
            self.line_num += 1
        return line

    def __next__(self) -> list[str]:
        line = self._next_line()
        if line is None:
            raise StopIteration
        if '"' in line:
            fields = self._quoted(line)
        elif line:
            fields = line.split("\t")
        else:
            return []
        if not self.columns:
            self.columns = len(fields)
        return fields

    def _rows(self, lines: list[str]) -> bool:
        """Whether `lines` each hold a row's worth of tabs: rows, not one quoted record."""
        tabs = self.columns - 1
        return tabs > 0 and all(line.count("\t") == tabs for line in lines)

    def _quoted(self, line: str) -> list[str]:
        """The record starting at `line`, which holds a quote."""
        record = _TsvRecord()
        if record.feed(line, first=True):
            return record.fields
        taken, size = [line], len(line)
        while size <= self._limit and (more := self._next_line()) is not None:
            taken.append(more)
            size += len(more) + 1
            if record.feed(more, first=False):
                if not record.torn and not self._rows(taken):
                    return record.fields
                break
        # the quote was data: the lines read past it are rows of their own
        self._ahead.extend(reversed(taken[1:]))
        self.line_num -= len(taken) - 1
        return _tsv_fields(line.split("\t"))


class _TsvRecord:
    """The fields of one TSV record, fed a line at a time while a quoted field is open."""

    def __init__(self) -> None:
        self.fields: list[str] = []
        self.open = False  # a quoted field is not closed yet: its pieces are in `pieces`
        self.pieces: list[str] = []
        self.torn = False  # a quote closed on a later line but not at a field's end

    def feed(self, line: str, *, first: bool) -> bool:
        """Read `line` on; True when the record is complete (or `torn`)."""
        i = 0
        if self.open:
            self.pieces.append("\n")
            end = self._quoted(line, 0)
            if end < 0:
                return False
            if end < len(line) and line[end] != "\t":
                self.torn = True
                return True
            self.fields.append("".join(self.pieces))
            self.open = False
            if end == len(line):
                return True
            i = end + 1
        while True:
            if line.startswith('"', i):
                self.open, self.pieces = True, []
                end = self._quoted(line, i + 1)
                if end < 0:
                    return False
                if end < len(line) and line[end] != "\t":  # `"a" b`: its quotes are data
                    if not first:
                        self.torn = True
                        return True
                    end = line.find("\t", i)
                    end = len(line) if end < 0 else end
                    self.fields.append(line[i:end])
                else:
                    self.fields.append("".join(self.pieces))
                self.open = False
            else:
                end = line.find("\t", i)
                end = len(line) if end < 0 else end
                self.fields.append(line[i:end])
            if end == len(line):
                return True
            i = end + 1

    def _quoted(self, line: str, j: int) -> int:
        """The index after the closing quote of the field read from `j` (-1: not on this line)."""
        while True:
            k = line.find('"', j)
            if k < 0:
                self.pieces.append(line[j:])
                return -1
            if line.startswith('"', k + 1):  # "" is a quote
                self.pieces.append(line[j : k + 1])
                j = k + 2
                continue
            self.pieces.append(line[j:k])
            return k + 1


def _tsv_fields(row: list[str]) -> list[str]:
    """`row` with its quoted fields unquoted (`tsv_field`); most rows have none."""
    if not any(field[:1] == '"' for field in row):
        return row
    return [tsv_field(field) for field in row]


def _records(text_reader: TextReader, reader: Any, path: Path, delimiter: str) -> Iterator[Row]:
    """Usable rows of a table's records (the hot loop of labelled reading)."""
    line_num = 0  # last line consumed by the csv reader
    try:
        header: list[str] = []
        if text_reader.header:
            for row in reader:
                line_num = reader.line_num
                if row:
                    header = row
                    break
            if not header:
                return
        ti, li = column_indices(header, text_reader.text_column, text_reader.label_column,
                                path, text_reader.header)  # fmt: skip
        labelled = text_reader.label_column is not None
        report = text_reader.report
        names = [name.strip(BLANK) for name in header]
        known, longest = set(names), max(map(len, header), default=0) + 2
        # a header repeated mid-file is looked for only in a table of 2 columns or more: in
        # one column a text can be the column's name ("text"), and predict stopped on it
        headed = len(names) >= 2
        order = names  # the column order of the rows read now (a repeated header changes it)
        text_name = names[ti] if names else ""
        label_name = names[li] if names and li >= 0 else ""
        for row in reader:
            line = line_num + 1  # a record's first line
            line_num = reader.line_num
            if line_num > line:  # a quoted field over lines: said, so a merge is never silent
                multi = report.source != str(path)
                report.add_multiline(f"{path}:{line}" if multi else f"line {line}")
            n = len(row)
            if ti >= n:
                if n == 0:  # a blank line
                    report.blank += 1
                    continue
                detail = f" ({n} of {ti + 1} or more)"
                text_reader._drop(path, line, DropReason.RAGGED_ROW, delimiter.join(row), detail)
                continue
            if header and n > len(header) and any(f.strip() for f in row[len(header):]):
                # a text's unquoted comma: taking field ti or li would read a wrong label
                detail = f" ({n} fields, {len(header)} in the header)"
                text_reader._drop(path, line, DropReason.EXTRA_FIELDS, delimiter.join(row), detail)
                continue
            text = row[ti]
            if (headed and len(text) <= longest and text.strip(BLANK) in known
                    and len(row) == len(names)):  # fmt: skip
                again = _header_order(text_reader, path, line, row, order)
                if again is not None:  # a header row again, e.g. two exports joined
                    order = again  # the columns are found by name in each header
                    ti = order.index(text_name)
                    li = order.index(label_name) if li >= 0 else -1
                    continue
            if not labelled:
                if text.strip() or text_reader.keep_empty:
                    yield Row(text, None, line)
                else:
                    text_reader._drop(path, line, DropReason.EMPTY_TEXT, text)
                continue
            written = row[li] if li < n else ""
            label = label_text(written)
            if not text.strip():
                text_reader._drop(path, line, DropReason.EMPTY_TEXT, text)
            elif not label:
                text_reader._drop(path, line, DropReason.MISSING_LABEL, text)
            elif label in NAN_LABELS:  # NaN as astype(str) writes it
                text_reader._drop(path, line, DropReason.NA_LABEL, text, f" ({label!r})")
            else:
                if label in NA_LABELS:  # "NA", "None": maybe a class (LUIS's None intent)
                    report.add_na_like(label)
                if label != written:  # "1.0", " pos", NFD: noted (the hot loop checks first)
                    _note_spelling(text_reader, label, written)
                yield Row(text, label, line)
    except csv.Error as exc:
        raise DataError(f"{path}:{line_num + 1}: malformed CSV row ({exc})") from None


def _header_order(
    text_reader: TextReader, path: Path, line: int, row: list[str], order: list[str]
) -> list[str] | None:
    """The column names of `row` when it repeats the header (after dropping it), else None.

    Two exports joined with `cat` repeat the header mid-file: read as data, it trained the
    class `label`. In another column order (`label,text`) the rows after it come in that
    order too, and are read so. `order` is the column order of the rows before it (the
    last header's), so `label,text` twice is a repeat, not a second swap.
    """
    cells = [cell.strip(BLANK) for cell in row]
    if sorted(cells) != sorted(order):
        return None
    said = ",".join(cells)
    if cells == order:
        text_reader._drop(path, line, DropReason.REPEATED_HEADER, said, f" ({said})")
    else:  # under "skip", the rows after it are read in its order
        detail = f" ({said}): the rows after it have their columns in that order"
        text_reader._drop(path, line, DropReason.REORDERED_HEADER, said, detail)
    return cells


def _excel_sep(line: str | None) -> str | None:
    r"""The delimiter a first line `sep=;` names, as Excel writes and reads it, else None.

    Excel on a system whose list separator is `;` writes such a line first; read as the
    header, it said "no text column 'text'; columns found: 'sep=;'".

        >>> _excel_sep("sep=;"), _excel_sep("sep=\t"), _excel_sep("sep,label")
        (';', '\t', None)
    """
    if line is not None and len(line) == 5 and line.startswith("sep=") and line[4] not in "\"":
        return line[4]
    return None


def _plain_lines(text_reader: TextReader, fh: IO[bytes], path: Path, limit: int) -> Iterator[str]:
    """Decoded lines without their line ends."""
    for _, lines in text_reader._blocks(fh, path, limit):
        yield from lines


def _lines_bounded(text_reader: TextReader, path: Path, limit: int) -> Iterator[tuple[int, str]]:
    """Lines of JSON Lines, ended at LF or CRLF (a CR alone is whitespace in a record).

    One longer than `limit` bytes is an error, not pieces.
    """
    with text_reader.open(path) as fh:
        yield from text_reader.lines(fh, path, limit, cr_ends=False)


def jsonl_rows(text_reader: TextReader, path: Path) -> Iterator[Row]:
    """Usable rows of a JSON Lines file; a field missing from the first record is an error."""
    text_key = str(text_reader.text_column)
    label_key = None if text_reader.label_column is None else str(text_reader.label_column)
    checked = False
    first = True
    for line, raw in _lines_bounded(text_reader, path, text_reader.options.row_bytes):
        if not raw.strip():
            text_reader.report.blank += 1
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            what = exc.msg.removesuffix(" at")  # "Unterminated string starting at"
            obj, detail = None, f" (not valid JSON: {what} at column {exc.colno})"
        else:
            detail = f": found {type(obj).__name__}"
        if first and raw.lstrip().startswith("[") and not isinstance(obj, dict):
            raise DataError(
                f"{path}: this is a JSON array; labelled JSON must be JSON Lines (one "
                "object per line), e.g. convert it with: jq -c '.[]' in.json > out.jsonl"
            )
        first = False
        if not isinstance(obj, dict):
            text_reader._drop(path, line, DropReason.INVALID_JSON, raw, detail)
            continue
        if not checked:
            # A field absent from the first record is a wrong name, not a bad row.
            missing = [(role, key) for role, key in (("text", text_key), ("label", label_key))
                       if key is not None and key not in obj]  # fmt: skip
            if missing:
                raise missing_columns(f"{path}:{line}", list(obj), missing, kind="field")
            checked = True
        if text_key not in obj:
            found = ", ".join(repr(k) for k in obj) or "(none)"
            detail = f" {text_key!r}; fields found: {found}"
            text_reader._drop(path, line, DropReason.MISSING_FIELD, raw, detail)
            continue
        body = obj[text_key]
        if body is not None and not isinstance(body, str):
            detail = f": field {text_key!r} holds {type(body).__name__}"
            text_reader._drop(path, line, DropReason.WRONG_TYPE, raw, detail)
            continue
        raw_label = None if label_key is None else obj.get(label_key)
        if isinstance(raw_label, (list, dict)):  # multi-label data: no one class to learn
            raise DataError(
                f"{path}:{line}: label {label_key!r} holds a {type(raw_label).__name__} "
                f"({json.dumps(raw_label, ensure_ascii=False):.60}); each row needs one label "
                "(a string or a number): multi-label data is not supported"
            )
        label = None if label_key is None else label_text(raw_label)
        # only a JSON NaN is a missing value written otherwise than null: a string is a label
        nan = isinstance(raw_label, float) and math.isnan(raw_label)
        row = text_reader._check(path, line, body or "", label, nan=nan)
        if row is not None:
            if label is not None and isinstance(raw_label, (str, float)):
                _note_spelling(text_reader, label, raw_label)
            elif isinstance(raw_label, bool):  # JSON true: the class 'true', said once
                text_reader.report.add_bool_label(label or "")
            yield row


def _note_spelling(text_reader: TextReader, label: str, written: str | float) -> None:
    """Count a label written otherwise than it is read (`1.0`, `" pos"`, NFD for `1`, `pos`).

    The spelling is kept as written, spaces and all, so that `merged_spellings` can say
    which labels reading merged, and why.
    """
    spelling = written if isinstance(written, str) else json.dumps(written)
    if spelling != label:
        text_reader.report.add_spelling(label, spelling)
