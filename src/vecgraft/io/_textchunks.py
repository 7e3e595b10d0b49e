"""Line-aligned chunks of a text vector file, and the lines of a chunk a filtered load needs.

Split from `vecgraft.io._textparse` (which re-exports these names); see its docstring.
"""

from __future__ import annotations

import lzma
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from vecgraft._util.wordkey import normalize_key
from vecgraft.errors import FormatError
from vecgraft.io._textlayout import BOM
from vecgraft.io.base import LoadOptions

CHUNK_BYTES = 8 << 20
"""Bytes per chunk: enough for pyarrow's threads, small beside the matrix (peak memory).

`vecgraft.io.text` passes `_textparse.CHUNK_BYTES` explicitly, so tests patch it there."""
_WORD_WINDOW = 32


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
                    last = bytearray(rest)
                    lone_cr_to_lf(last, len(last), final=True)
                    if max_line is not None:
                        _check_line_lengths(last, len(last), max_line, line, path)
                    yield Chunk(last, line)
                return
            lone_cr_to_lf(buf, end, final=False)
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


def lone_crs(data: bytes | bytearray, stop: int) -> np.ndarray:
    r"""Offsets of the CRs in `data[:stop]` that no LF follows (a CR at `stop - 1` counts).

    numpy rather than `count(b"\r") != count(b"\r\n")`: a CRLF file has a CR on every
    line, and the two counts cost ~25 ms per 8 MB chunk, this ~3 ms. A file without CR
    costs one memchr.
    """
    if data.find(b"\r", 0, stop) < 0:
        return np.empty(0, dtype=np.int64)
    arr = np.frombuffer(data, dtype=np.uint8, count=stop)
    cr = np.flatnonzero(arr == 13)
    after = cr + 1
    return cr[(after >= stop) | (arr[np.minimum(after, stop - 1)] != 10)]


def lone_cr_to_lf(buf: bytearray, end: int, *, final: bool) -> None:
    r"""Make each CR in `buf[:end]` that ends a line alone (not CRLF) an LF, in place.

    Why: files stitched from old-Mac (CR) and Windows (CRLF) sources read as one long line
    per bare CR, i.e. garbage words ('. 0.15 ... 0.10\rof') carrying the next row's values.
    A bare CR ends a line as in Python's universal newlines; the swap keeps the length, so
    byte offsets hold and line numbers are those an editor shows. Unless `final`, a CR at
    `end` is left: its LF may be the next read's first byte.

    >>> buf = bytearray(b"a 1\rb 2\r\nc 3\r")
    >>> lone_cr_to_lf(buf, len(buf), final=False); bytes(buf)
    b'a 1\nb 2\r\nc 3\r'
    """
    stop = end if final or end == 0 or buf[end - 1] != 13 else end - 1
    lone = lone_crs(buf, stop)
    if len(lone):
        arr = np.frombuffer(buf, dtype=np.uint8, count=stop)
        arr[lone] = 10
        del arr  # release the export: the caller resizes `buf`


def lone_cr_to_lf_bytes(data: bytes, *, final: bool) -> bytes:
    """`lone_cr_to_lf` for a file's head (bytes): the same bytes object when it has no CR."""
    if b"\r" not in data:
        return data
    buf = bytearray(data)
    lone_cr_to_lf(buf, len(buf), final=final)
    return bytes(buf)


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
    and looked up (`np.searchsorted`) in the encoded vocabulary plus its case-folded forms and
    `normalize_key`s, so the 400k-line scan costs a few numpy calls per chunk instead of a
    Python call per line. Only tokens that case folding or the key could change (ASCII
    capitals and digits, non-ASCII) or that are longer than the window take a Python path.
    A word containing spaces starts with a token that is not itself the word, so the first
    tokens of vocabulary words with spaces are wanted too; every kept row is checked again
    against `LoadOptions.wants` once its real word is known.
    """

    def __init__(self, options: LoadOptions) -> None:
        self.options = options
        forms = {w.split(" ", 1)[0] for w in options.nfc_vocab}
        self.folded = {w.split(" ", 1)[0] for w in options.casefolded_vocab}
        self.normalized = {w.split(" ", 1)[0] for w in options.normalized_vocab}
        if options.keep_casefold:
            forms |= self.folded
        if options.keep_normalized:  # a lowercase ASCII word without digits is its own key
            forms |= self.normalized
        # a file may store words decomposed (NFD), which alignment compares in NFC
        forms |= {unicodedata.normalize("NFD", w) for w in forms if not w.isascii()}
        self.exact = {w.encode("utf-8", "surrogatepass") for w in forms}
        short = sorted(t for t in self.exact if 0 < len(t) <= _WORD_WINDOW and b"\0" not in t)
        self.table = np.array(short, dtype=f"S{_WORD_WINDOW}")

    def wanted(self, token: bytes) -> bool:
        """Whether a line starting with `token` may be wanted (the slow, exact test)."""
        if token in self.exact:
            return True
        o = self.options
        try:
            word = token.decode("utf-8")
        except UnicodeDecodeError:
            if o.unicode_errors == "strict":
                return True  # kept so that the parser raises its "invalid UTF-8" error
            word = token.decode("utf-8", "replace")
        if not word.isascii():  # compared in NFC, as alignment compares
            word = unicodedata.normalize("NFC", word)
        if o.vocab is None or word in o.nfc_vocab:
            return True
        # each form made once, tested against the first tokens and the whole words (`wants`:
        # a key holding a space, "˚" is " ", split to "" among the first tokens)
        if o.keep_casefold:
            folded = word.casefold()
            if folded in self.folded or folded in o.casefolded_vocab:
                return True
        if o.keep_normalized:
            key = normalize_key(word)
            return key in self.normalized or key in o.normalized_vocab
        return False

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
        if self.options.keep_casefold or self.options.keep_normalized:
            special = ((win >= 65) & (win <= 90)) | (win >= 128)
            if self.options.keep_normalized:  # digits share the key "0"
                special |= (win >= 48) & (win <= 57)
            slow |= (special & inside).any(axis=1)
        elif self.options.unicode_errors == "strict":
            # an unwanted word must still be valid UTF-8 (a plain load raises on it): the
            # non-ASCII tokens are decoded in one piece, and one by one (`wanted`) if that fails
            other = (win >= 128).any(axis=1) & ~keep & ~slow  # bytes past the token are 0
            if other.any() and not _valid_utf8(tokens[other]):
                slow |= other
        for i in np.flatnonzero(slow & ~keep).tolist():
            s, e = int(idx.starts[i]), int(idx.ends[i])
            sp = data.find(b" ", s, e)
            keep[i] = self.wanted(bytes(data[s : sp if sp >= 0 else e]))
        return keep


def _valid_utf8(tokens: np.ndarray) -> bool:
    """Whether every token of a bytes array decodes as UTF-8 (a newline cannot be in one)."""
    try:
        b"\n".join(tokens.tolist()).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _past_boms(data: bytes | bytearray, idx: LineIndex) -> LineIndex:
    r"""`idx` with each line that starts with a UTF-8 BOM starting after it, for `TokenFilter`.

    The line itself keeps its BOM: the parser drops and counts it (`_textparse.strip_bom`),
    but the filter must judge 'cat', not '\ufeffcat' (a file joined from two with `cat`).
    A BOM followed by a space is the word '\ufeff' and stays (`_textlayout.stray_bom`).
    """
    arr = np.frombuffer(data, dtype=np.uint8)
    bom = idx.ends - idx.starts >= len(BOM)
    for k, byte in enumerate(BOM):
        bom &= arr[np.minimum(idx.starts + k, len(arr) - 1)] == byte
    after = idx.starts + len(BOM)  # the line ends there, or a space follows: the word
    bom &= (after >= idx.ends) | (arr[np.minimum(after, len(arr) - 1)] != 32)
    if not bom.any():
        return idx
    return LineIndex(idx.starts + len(BOM) * bom, idx.ends, idx.numbers)


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
        mask = keep.mask(data, _past_boms(data, idx))
        idx = LineIndex(idx.starts[mask], idx.ends[mask], idx.numbers[mask])
    view = memoryview(data)
    pieces: list[memoryview | bytes] = []
    for s, e in zip(idx.starts.tolist(), idx.ends.tolist()):
        pieces.append(view[s:e])
        pieces.append(b"\n")
    joined = b"".join(pieces)
    view.release()
    return joined, LineMap(0, idx.numbers), consumed
