"""Stream documents from strings, files, folders, globs, CSV/TSV/JSONL columns, compressed.

Everything is lazy: files are opened one at a time and read line by line, and an enormous
single line (e.g. text8, 100 MB without a newline) is cut at whitespace into bounded pieces
instead of being loaded whole. Undecodable bytes follow a policy and are counted.
"""

from __future__ import annotations

import bz2
import csv
import glob
import gzip
import json
import lzma
import os
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, cast

from vecgraft._util.options import parse_enum
from vecgraft.errors import ConfigError, DataError

MAX_LINE_BYTES = 1 << 20  # longer lines are yielded in pieces cut at whitespace
_COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz", ".zip")
_BOM = b"\xef\xbb\xbf"
_REPLACEMENT_UTF8 = "\ufffd".encode()


class OnePer(StrEnum):
    """What one document is in a plain-text file: a line or the whole file."""

    LINE = "line"
    FILE = "file"


class UnicodeErrors(StrEnum):
    """What to do with bytes that are not UTF-8: fail (naming file and line), replace, drop."""

    STRICT = "strict"
    REPLACE = "replace"
    IGNORE = "ignore"


@dataclass
class CorpusStats:
    """What a `TextStream` has read so far (stored in vocabulary metadata by `build_vocab`)."""

    files: int = 0
    texts: int = 0
    blank: int = 0
    skipped_rows: int = 0
    bad_lines: int = 0
    unicode_replacements: int = 0
    split_lines: int = 0

    def to_dict(self) -> dict[str, int]:
        """Plain dict."""
        return asdict(self)


class Texts:
    """Raw strings to use as documents, as opposed to strings that are paths.

    Example:
        >>> list(iter_texts(Texts(["a b", "c"])))
        ['a b', 'c']
    """

    def __init__(self, texts: Iterable[str]) -> None:
        self.texts = texts

    def __iter__(self) -> Iterator[str]:
        for i, text in enumerate(self.texts):
            if not isinstance(text, str):
                raise DataError(f"Texts item {i}: expected a string, got {type(text).__name__}")
            yield text

    def __repr__(self) -> str:
        return f"Texts({self.texts!r})" if isinstance(self.texts, list) else "Texts(...)"


Sources = str | os.PathLike[str] | Texts | Iterable[Any]


class TextStream(Iterator[str]):
    """An iterator of documents that counts what it read in `.stats` (see `iter_texts`)."""

    def __init__(
        self,
        sources: Sources,
        *,
        column: str | int = "text",
        one_per: str | OnePer = OnePer.LINE,
        unicode_errors: str | UnicodeErrors = UnicodeErrors.REPLACE,
        max_line_bytes: int = MAX_LINE_BYTES,
    ) -> None:
        self.sources = sources
        self.column = column
        self.one_per = parse_enum(OnePer, one_per, "one_per")
        self.unicode_errors = parse_enum(UnicodeErrors, unicode_errors, "unicode_errors")
        if max_line_bytes < 16:
            raise ConfigError(f"max_line_bytes must be at least 16, got {max_line_bytes}")
        self.max_line_bytes = max_line_bytes
        self.stats = CorpusStats()
        self._it = self._generate()

    def __iter__(self) -> TextStream:
        return self

    def __next__(self) -> str:
        text = next(self._it)
        self.stats.texts += 1
        return text

    def _generate(self) -> Iterator[str]:
        for item in _flatten(self.sources):
            if isinstance(item, Texts):
                yield from item
            else:
                for path in _expand(item):
                    self.stats.files += 1
                    yield from self._read_file(path)

    def _read_file(self, path: Path) -> Iterator[str]:
        name = _strip_compression(path.name).lower()
        if name.endswith((".csv", ".tsv", ".tab")):
            yield from self._read_delimited(path, "\t" if not name.endswith(".csv") else ",")
        elif name.endswith((".jsonl", ".ndjson")):
            yield from self._read_jsonl(path)
        elif self.one_per is OnePer.FILE:
            yield from self._read_whole(path)
        else:
            yield from self._read_lines(path)

    # -- plain text ----------------------------------------------------------------------
    def _read_lines(self, path: Path) -> Iterator[str]:
        # The hot loop of corpus reading: decoding is inlined (not `_lines`) to save a
        # generator level per line; `_decode` only runs for lines that are not UTF-8.
        stats = self.stats
        with _open(path) as fh:
            for lineno, raw in _raw_lines(fh, path, self.max_line_bytes, stats):
                if lineno == 1:
                    raw = raw.removeprefix(_BOM)
                raw = raw.rstrip(b"\r\n")
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    text = self._decode(raw, path, lineno)
                if text.strip():
                    yield text
                else:
                    stats.blank += 1

    def _read_whole(self, path: Path) -> Iterator[str]:
        with _open(path) as fh:
            data = _read_all(fh, path)
        data = data.removeprefix(_BOM)
        text = self._decode(data, path, None)
        if text.strip():
            yield text
        else:
            self.stats.blank += 1

    def _lines(self, path: Path, *, limit: int | None = None) -> Iterator[tuple[int, str]]:
        """(1-based line number, decoded line without its newline); long lines in pieces."""
        with _open(path) as fh:
            for lineno, raw in _raw_lines(fh, path, limit, self.stats):
                if lineno == 1:
                    raw = raw.removeprefix(_BOM)
                yield lineno, self._decode(raw.rstrip(b"\r\n"), path, lineno)

    def _decode(self, data: bytes, path: Path, line: int | None) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            if self.unicode_errors is UnicodeErrors.STRICT:
                if line is None:
                    line = data[: exc.start].count(b"\n") + 1
                raise DataError(
                    f"{path}:{line}: invalid UTF-8 ({exc.reason} at byte {exc.start} of the "
                    "line); pass unicode_errors='replace' to substitute U+FFFD"
                ) from None
        replaced = data.decode("utf-8", "replace")
        self.stats.bad_lines += 1
        self.stats.unicode_replacements += replaced.count("\ufffd") - data.count(_REPLACEMENT_UTF8)
        if self.unicode_errors is UnicodeErrors.IGNORE:
            return data.decode("utf-8", "ignore")
        return replaced

    # -- tables --------------------------------------------------------------------------
    def _read_delimited(self, path: Path, delimiter: str) -> Iterator[str]:
        lines = (text + "\n" for _, text in self._lines(path))
        # TSV files rarely quote and often hold literal quotes, so quotes are data there.
        if delimiter == ",":
            reader = csv.reader(lines, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL)
        else:
            reader = csv.reader(lines, delimiter=delimiter, quoting=csv.QUOTE_NONE)
        try:
            header = next(reader, None)
            if header is None:
                return
            index = _column_index(header, self.column, path)
            for row in reader:
                if len(row) <= index:
                    if row:
                        self.stats.skipped_rows += 1
                    continue
                yield from self._keep(row[index])
        except csv.Error as exc:
            raise DataError(f"{path}:{reader.line_num}: malformed row ({exc})") from None

    def _read_jsonl(self, path: Path) -> Iterator[str]:
        for lineno, line in self._lines(path):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise DataError(
                    f"{path}:{lineno}: expected a JSON object, found {type(record).__name__}"
                )
            if self.column not in record:
                raise DataError(
                    f"{path}:{lineno}: no field {self.column!r}; fields found: {list(record)}"
                )
            value = record[self.column]
            if value is None:
                self.stats.skipped_rows += 1
            elif isinstance(value, str):
                yield from self._keep(value)
            else:
                raise DataError(
                    f"{path}:{lineno}: field {self.column!r} should be a string, "
                    f"found {type(value).__name__}"
                )

    def _keep(self, text: str) -> Iterator[str]:
        if text.strip():
            yield text
        else:
            self.stats.blank += 1


def iter_texts(
    sources: Sources,
    *,
    column: str | int = "text",
    one_per: str | OnePer = OnePer.LINE,
    unicode_errors: str | UnicodeErrors = UnicodeErrors.REPLACE,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> TextStream:
    """Stream the documents of `sources`, one string each, never loading a corpus whole.

    Args:
        sources: a path, folder (read recursively in sorted order, hidden files skipped) or
            glob; a list of those; or raw strings wrapped in `Texts([...])`. Files may be
            .txt (or anything else: plain text), .csv, .tsv, .jsonl, each optionally
            compressed (.gz, .bz2, .xz, .zip with one member; detected from the bytes).
        column: the CSV/TSV header name (or 0-based index) or JSONL field holding the text.
        one_per: in plain-text files, one document per "line" (blank lines skipped) or per
            "file". Tables always give one document per row.
        unicode_errors: "replace" (U+FFFD, counted in `.stats`), "ignore", or "strict"
            (a DataError naming file and line).
        max_line_bytes: lines longer than this are yielded in pieces cut at whitespace.

    Returns:
        A `TextStream`: iterate it for the documents; `.stats` counts files, texts, blank
        lines, skipped rows and Unicode replacements.

    Example:
        >>> stream = iter_texts(Texts(["one doc", "another"]))
        >>> list(stream), stream.stats.texts
        (['one doc', 'another'], 2)
    """
    return TextStream(
        sources,
        column=column,
        one_per=one_per,
        unicode_errors=unicode_errors,
        max_line_bytes=max_line_bytes,
    )


# -- helpers -------------------------------------------------------------------------------
def _flatten(sources: Sources) -> Iterator[Any]:
    if isinstance(sources, (str, os.PathLike, Texts)):
        yield sources
        return
    try:
        items = iter(sources)
    except TypeError:
        raise DataError(
            f"cannot read texts from a {type(sources).__name__}; pass a path, a list of paths, "
            "or Texts([...])"
        ) from None
    for item in items:
        if not isinstance(item, (str, os.PathLike, Texts)):
            raise DataError(f"expected a path or Texts([...]), got {type(item).__name__}")
        yield item


def _expand(source: str | os.PathLike[str]) -> list[Path]:
    """Files of one source: the file itself, a folder's files (sorted), or glob matches."""
    text = os.fspath(source)
    path = Path(text)
    if path.is_file():
        return [path]
    if path.is_dir():
        return _folder_files(path)
    if glob.has_magic(text):
        found: list[Path] = []
        for match in sorted(glob.glob(text, recursive=True)):
            p = Path(match)
            found.extend(_folder_files(p) if p.is_dir() else [p])
        if not found:
            raise DataError(f"{text}: no files match this pattern")
        return found
    raise DataError(
        f"{text}: no such file or folder (to use strings as documents, wrap them: Texts([...]))"
    )


def _folder_files(root: Path) -> list[Path]:
    """Files under `root`, recursively, sorted by relative path; hidden ones skipped."""
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(os.path.join(folder, f) for f in files if not f.startswith("."))
    found.sort(key=lambda f: os.path.relpath(f, root).replace(os.sep, "/"))
    return [Path(f) for f in found]


def _column_index(header: list[str], column: str | int, path: Path) -> int:
    """Position of `column` in a header row; a missing one names the columns found."""
    if isinstance(column, int):
        if 0 <= column < len(header):
            return column
        raise DataError(f"{path}: no column number {column}; the file has {len(header)} columns")
    names = [h.strip() for h in header]
    if column in names:
        return names.index(column)
    raise DataError(f"{path}: no column {column!r}; columns found: {names}")


def _strip_compression(name: str) -> str:
    for suffix in _COMPRESSION_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _open(path: Path) -> IO[bytes]:
    """Binary stream of a file's content, decompressed according to its first bytes."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    except OSError as exc:
        raise DataError(f"{path}: cannot open ({exc.strerror})") from None
    try:
        head = fh.peek(6)[:6]
        if head.startswith(b"\x1f\x8b"):
            return cast(IO[bytes], gzip.GzipFile(fileobj=fh, mode="rb"))
        if head.startswith(b"BZh"):
            return cast(IO[bytes], bz2.BZ2File(fh, "rb"))
        if head.startswith(b"\xfd7zXZ\x00"):
            return cast(IO[bytes], lzma.LZMAFile(fh, "rb"))
        if head.startswith(b"PK\x03\x04"):
            return _zip_member(path, fh)
    except (OSError, EOFError, lzma.LZMAError, zipfile.BadZipFile) as exc:
        fh.close()
        raise DataError(f"{path}: cannot read compressed data ({exc})") from None
    return fh


def _zip_member(path: Path, fh: IO[bytes]) -> IO[bytes]:
    archive = zipfile.ZipFile(fh)
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) != 1:
        names = ", ".join(m.filename for m in members[:5])
        raise DataError(
            f"{path}: expected a zip archive with one file, found {len(members)} ({names})"
        )
    return archive.open(members[0])


def _read_all(fh: IO[bytes], path: Path) -> bytes:
    try:
        return fh.read()
    except (OSError, EOFError, lzma.LZMAError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: corrupt or truncated compressed data ({exc})") from None


def _raw_lines(
    fh: IO[bytes], path: Path, limit: int | None, stats: CorpusStats
) -> Iterator[tuple[int, bytes]]:
    """Byte lines with 1-based numbers; lines over `limit` bytes come in whitespace-cut pieces."""
    lineno = 0
    carry = b""
    in_long_line = False
    try:
        while True:
            # `carry` (the tail of a cut line) plus the new chunk never exceeds `limit`
            size = -1 if limit is None else limit - len(carry)
            chunk = fh.readline(size)
            if not chunk:
                break
            if limit is None or chunk.endswith(b"\n") or len(chunk) < size:
                lineno += 1
                yield lineno, carry + chunk
                carry = b""
                in_long_line = False
                continue
            if not in_long_line:
                stats.split_lines += 1
                in_long_line = True
            data = carry + chunk
            cut = _cut_point(data)
            carry = data[cut:]
            yield lineno + 1, data[:cut]
    except (OSError, EOFError, lzma.LZMAError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}:{lineno + 1}: corrupt or truncated data ({exc})") from None
    if carry:
        yield lineno + 1, carry


def _cut_point(data: bytes) -> int:
    """Where to cut an overlong line: after its last space/tab, else at a UTF-8 boundary.

    A space in the first half is ignored so that what is carried over stays under half the
    limit and every read makes progress.
    """
    cut = max(data.rfind(b" "), data.rfind(b"\t")) + 1
    if cut > len(data) // 2:
        return cut
    cut = len(data)
    while cut > 0 and 0x80 <= data[cut - 1] < 0xC0:  # continuation byte: back up
        cut -= 1
    if cut > 0 and data[cut - 1] >= 0xC0:  # lead byte of the sequence we backed over
        cut -= 1
    return cut or len(data)
