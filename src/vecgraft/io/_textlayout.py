"""Layout of a text vector file from its first bytes: header, dimension, trailing spaces.

Split from `vecgraft.io._textparse` (which re-exports these names); see its docstring.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from vecgraft.errors import FormatError, Hint, Opt
from vecgraft.io.base import LoadOptions
from vecgraft.vectors import MAX_DIM

BOM = b"\xef\xbb\xbf"
_PROBE_LINES = 64
_NOT_A_SPACE = re.compile(r"[^\S ]")  # whitespace that does not separate fields (tab, U+00A0)
_SINGLE_SPACES = "vector files separate fields with single ASCII spaces"


def stray_bom(line: bytes | bytearray) -> bool:
    r"""Whether `line` starts with a UTF-8 BOM to drop: one not followed by a space.

    Why: `cat a.txt b.txt` glues b.txt's BOM to its first word ('\ufeffcat'); but in a row
    '\ufeff 0.5 0.5' the U+FEFF is the word itself, which earlier releases loaded.
    """
    return line[: len(BOM)] == BOM and line[len(BOM) : len(BOM) + 1] != b" "


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


def is_number(token: bytes) -> bool:
    """Whether `token` is a value: ASCII, no '_' (which `float` would accept), a float."""
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
    if all(is_number(p) for p in parts[1 : len(parts) - dim]):
        return found
    return dim


def separator_mixup(line: bytes, *, hedge: bool = True) -> str | None:
    """What joins fields a row needs apart: a tab or a non-ASCII space; None when neither.

    Only single ASCII spaces separate fields, so a tab or a U+00A0 (pasted from a web page
    or a word processor) glues the word to the first value, and "expected 3 values, found
    2" does not show why: an editor shows both as blank space. `hedge`: a row one value
    short may instead be a real word ('10\u202f000') that lacks a value; said so when the
    joined number is written unlike the row's values (False: most rows are alike).
    """
    text = line.decode("utf-8", "replace").rstrip()
    if " " not in text and (found := _NOT_A_SPACE.search(text)) is not None:
        spaces = "single spaces" if found.group() == "\t" else "single ASCII spaces"
        return f"its fields are separated by {_plural(found.group())}, vector files use {spaces}"
    tokens = text.split(" ")
    for j, token in enumerate(tokens):
        values = tokens[j + 1 :]
        if not all(is_number(t.encode()) for t in values):
            continue  # words follow: not where the values begin
        for found in _NOT_A_SPACE.finditer(token):
            after = _NOT_A_SPACE.split(token[found.end() :], 1)[0]
            if not is_number(after.encode()):
                continue
            before = _NOT_A_SPACE.split(token[: found.start()])[-1]
            # a value before it: it joins two; else the word ends there (GloVe 840B's words
            # may hold spaces: 'new york')
            two = j > 0 and is_number(before.encode())
            joined = "two values" if two else "the word and the first value"
            said = f"{_one(found.group())} joins {joined}"
            if not two and hedge and _unlike_values(after, values):
                return f"{said} ({_SINGLE_SPACES}), or the row lacks a value"
            return f"{said}, {_SINGLE_SPACES}"
    return None


def _unlike_values(joined: str, values: Sequence[str]) -> bool:
    """Whether `joined` is a plain integer ('000' of '10\u202f000') where `values` are not."""
    return joined.isdigit() and any(not v.lstrip("+-").isdigit() for v in values)


def _one(char: str) -> str:
    if char == "\t":
        return "a tab"
    name = unicodedata.name(char, "")
    kind = "a control character" if char.isascii() else "a non-ASCII space"
    return f"{kind} (U+{ord(char):04X}{' ' + name if name else ''})"


def _plural(char: str) -> str:
    return "tabs" if char == "\t" else _one(char).replace("a ", "", 1).replace(" (", "s (", 1)


def number_run(word_parts: Sequence[bytes], dim: int) -> tuple[int, int] | None:
    """(start, end) of the first run of `dim` or more number tokens in a would-be word.

    Why: a lost line break makes `the 0.1 .. 0.5 for 0.2 .. 0.6` one row whose word is
    'the 0.1 .. 0.5 for', since words may hold spaces (GloVe 840B): both real rows were lost
    without a word of warning. A real word with spaces ('New York', '. . .', '1 / 2') does
    not hold `dim` numbers in a row; at least two are asked for, so that a 1-d file keeps
    words like 'route 66 east'. Called only for words of 3+ tokens: the usual row costs
    nothing.
    """
    need = max(dim, 2)
    if len(word_parts) < need:
        return None
    start = 0
    for i, part in enumerate(word_parts):
        if not is_number(part):
            start = i + 1
        elif i + 1 - start >= need:
            end = i + 1
            while end < len(word_parts) and is_number(word_parts[end]):
                end += 1
            return start, end
    return None


def probe_layout(
    head: bytes, *, header: bool, path: Any, complete: bool, sniffing: bool = False
) -> Layout:
    """Read the header (if any) and the dimension from the first bytes of a file.

    Without a header the dimension is the most common field count of the first lines minus one
    (the first line alone may hold a token with spaces).

    Args:
        head: the first bytes of the decompressed file.
        header: whether the format requires a `count dim` first line.
        path: the file, for error messages.
        complete: `head` is the whole file (so its last line is not cut off).
        sniffing: for detection, which leaves rows whose word holds their first value
            (`_check_joined`) to the reader's error.
    """
    offset = len(BOM) if head.startswith(BOM) else 0
    lines = _head_lines(head[offset:], path, complete=complete, read=len(head))
    header_count: int | None = None
    header_dim: int | None = None
    first_line = 1
    if header:
        header_count, header_dim = _read_header(lines[0], path)
        offset += len(lines[0]) + 1
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
    dim = header_dim if header_dim is not None else _common_dim(rows, path, first_line)
    fits = [value_count(parts, dim) == dim for _, parts in rows]
    _check_fits(lines, rows, fits, dim, path, first_line, header_dim=header_dim)
    if not sniffing:
        _check_joined(rows, fits, dim, path, first_line)
    ends = [lines[i].rstrip(b"\r").endswith(b" ") for (i, _), ok in zip(rows, fits) if ok]
    trailing = 2 * sum(ends) > len(ends)
    return Layout(dim, header_count, offset, first_line, trailing)


# how to read a file whose first line is longer than the bytes looked at (its rows' limit)
LONG_LINE_HINT = Hint("; pass {} (N: that line's length in bytes or more) to read it",
                      Opt("max_line_bytes", "N", "N"))  # fmt: skip


def _head_lines(head: bytes, path: Any, *, complete: bool, read: int) -> list[bytes]:
    """The head's whole lines (a cut-off last line dropped); no non-blank line is an error.

    A head of `read` bytes whose only non-blank line is cut off is a line longer than it,
    unless it holds NUL bytes (binary data): said so, with the option that reads such a
    line. Why: "no line break in the first bytes: not a text vector file" of a 2 MB word.
    """
    lines = head.split(b"\n")
    if not complete:
        lines = lines[:-1]  # the last line may be cut off
    if not any(line.strip() for line in lines):
        if complete:
            raise FormatError("empty file: no header and no vector rows", path=path)
        if b"\x00" in head:
            raise FormatError("no line break in the first bytes: not a text vector file",
                              path=path)  # fmt: skip
        line = len(lines) + 1
        raise FormatError(
            f"line {line} is longer than the {read:,} bytes read to find the file's layout",
            path=path, line=line, hint=LONG_LINE_HINT,
        )  # fmt: skip
    return lines


def _read_header(first: bytes, path: Any) -> tuple[int, int]:
    """(count, dim) of a required `count dim` first line, with a dimension in range."""
    parsed = parse_header(first)
    if parsed is None:
        shown = first[:60].decode("utf-8", "replace").rstrip()
        raise FormatError(
            f"expected a 'count dim' header (word2vec/fastText text), found {shown!r}",
            path=path,
            line=1,
            # a CLI user reads `--format glove`, not the Python keyword
            hint=Hint("; use {} for files without a header", Opt("format", "'glove'", "glove")),
        )
    header_count, header_dim = parsed
    if not 0 < header_dim <= MAX_DIM:
        raise FormatError(
            f"header dimension {header_dim} is not in 1..{MAX_DIM}", path=path, line=1
        )
    return header_count, header_dim


def _common_dim(rows: list[tuple[int, list[bytes]]], path: Any, first_line: int) -> int:
    """The most common values-per-row (first seen wins ties): one odd row cannot decide it.

    Rows whose fields after the first are all numbers decide when there are any: a word with
    spaces (`new york 0.1 ...`) adds fields, and in a short file it could win a tie.
    """
    clean = [parts for _, parts in rows if all(is_number(p) for p in parts[1:])]
    counts = [len(parts) - 1 for parts in clean or [parts for _, parts in rows]]
    dim = max(set(counts), key=lambda c: (counts.count(c), -counts.index(c)))
    if dim < 1:
        mixup = separator_mixup(b" ".join(rows[0][1]))  # a TSV: the whole line is one "word"
        why = f": {mixup}" if mixup else ""
        raise FormatError(
            f"first row has no values after the word{why}",
            path=path,
            line=first_line + rows[0][0],
        )
    return dim


def _check_fits(
    lines: list[bytes],
    rows: list[tuple[int, list[bytes]]],
    fits: list[bool],
    dim: int,
    path: Any,
    first_line: int,
    *,
    header_dim: int | None,
) -> None:
    """Name the likely mistake when rows misfit: a stray header, or a header that lies."""
    if (
        header_dim is None
        and not fits[0]
        and rows[0][0] == 0
        and parse_header(lines[0]) is not None
    ):
        raise FormatError(
            "line 1 looks like a word2vec 'count dim' header",
            path=path,
            line=first_line,
            hint=Hint("; read it with {}", Opt("format", "'word2vec'", "word2vec")),
        )
    if header_dim is not None and 2 * fits.count(False) >= len(fits):
        # the header disagrees with the rows (not one odd row, which bad_rows= decides about)
        bad_idx, bad_parts = rows[fits.index(False)]
        found = len(bad_parts) - 1
        mixup = separator_mixup(b" ".join(bad_parts)) if found < dim else None
        raise FormatError(
            f"expected {dim} values (the header on line 1 says {dim}), found {found}"
            + (f": {mixup}" if mixup else ""),
            path=path,
            line=first_line + bad_idx,
        )


def _check_joined(
    rows: list[tuple[int, list[bytes]]], fits: list[bool], dim: int, path: Any, first_line: int
) -> None:
    r"""Refuse rows whose word ends in a tab or a non-ASCII space and a number, if most do.

    Why: when every row puts U+00A0 (or U+3000, a tab, ...) between the word and the first
    value, all rows agree on one value too few, and the file loaded without an error, with
    words such as 'the\xa00.1'. Only most of the probed rows refuse the file: a vocabulary
    with a few such words ('10\u202f000', a French number) still loads, and a minority of
    such rows is one value short of the others, which the parser reports (`separator_mixup`).
    """
    fitting = [(i, parts) for (i, parts), ok in zip(rows, fits) if ok]
    joined = [(i, parts) for i, parts in fitting if _ends_in_joined_value(parts[:-dim])]
    if not joined or 2 * len(joined) <= len(fitting):
        return
    i, parts = joined[0]
    word = b" ".join(parts[:-dim]).decode("utf-8", "replace")
    raise FormatError(
        f"{separator_mixup(b' '.join(parts), hedge=False)} (in {len(joined)} of the first "
        f"{len(fitting)} rows: read as they are, each would load one value short, as a word "
        f"such as {word!r})",
        path=path,
        line=first_line + i,
    )


def _ends_in_joined_value(word_parts: Sequence[bytes]) -> bool:
    """Whether a row's word ends in a tab or a non-ASCII space, then a number."""
    last = word_parts[-1].decode("utf-8", "replace") if word_parts else ""
    pieces = _NOT_A_SPACE.split(last)
    return len(pieces) > 1 and is_number(pieces[-1].encode())


# -- how many rows to allocate first ---------------------------------------------------------
def capacity_hint(size: int | None, head_bytes: int, head_rows: int) -> int:
    """Rows to allocate up front: the file size over the bytes per row seen so far."""
    if size is None or head_rows == 0:
        return 1 << 16
    per_row = max(head_bytes / head_rows, 1.0)
    return math.ceil(size / per_row * 1.05) + 1024


def first_capacity(
    head: bytes,
    layout: Layout,
    options: LoadOptions,
    size: int | None,
    *,
    filtered: bool,
    header: bool,
) -> int:
    """First RowSink size: from the vocabulary for a filtered load, else from the head's rows."""
    if filtered:
        return min(2 * len(options.vocab or ()) + 16, 1 << 20)
    head_rows = head.count(b"\n") - (1 if header else 0)
    capacity = capacity_hint(size, len(head) - layout.data_offset, head_rows)
    if options.limit is not None:
        capacity = min(capacity, options.limit + 16)
    return capacity
