"""Byte streams and fields for the text reader: decompressed opening, bounded lines, columns."""

from __future__ import annotations

import codecs
import csv
import io
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from vecgraft.errors import DataError, FormatError, Hint, MissingColumnError, Opt
from vecgraft.io.base import COMPRESSION_MAGIC, DECOMPRESS_ERRORS, Source
from vecgraft.io.fasttext_bin import MAGIC as FASTTEXT_MAGIC
from vecgraft.io.native import safetensors_head
from vecgraft.io.npy import NPY_MAGIC
from vecgraft.text.report import ReadReport

# a whole number written with a zero fraction, as a float column writes it ("1.0", "-3.00")
_WHOLE = re.compile(r"(-?(?:0|[1-9][0-9]*))\.0+")


def label_text(value: Any) -> str:
    """The class a label names, as a string, the same in every file format.

    JSON has one number type, so `1.0` is the label `1`: pandas writes a label column as
    floats once it held a missing value, and the class must not depend on that, nor on
    the format: a CSV cell or a JSON string that is a whole number with a zero fraction
    (`"1.0"`, `"-3.00"`) is that whole number too. Other text is kept as written
    (stripped): `"1.10"` and `"1.1"` may be two codes of a hierarchy, `"01"` an id.
    Ints and bools are common in JSONL data sets. Text is read in Unicode NFC: a label
    saved on macOS (decomposed, NFD) looks like its composed spelling, and is that class.

        >>> [label_text(v) for v in (1.0, "1.0", " 1 ", "-3.00", 2, "1.10", "01", "pos", True)]
        ['1', '1', '1', '-3', '2', '1.10', '01', 'pos', 'true']
        >>> label_text("e\u0301") == "\u00e9"
        True
    """
    if value is None:
        return ""
    if isinstance(value, str):
        text = nfc(value.strip())
        whole = _WHOLE.fullmatch(text)
        return str(int(whole.group(1))) if whole else text
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def nfc(text: str) -> str:
    """`text` in Unicode NFC (composed), as labels are compared; ASCII as is, at once."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


# pandas' default `na_values` (read_csv): a table's label so written is kept as a class
# (LUIS's intent `None`, a class `NA`) but said once per label (`ReadReport.na_like_labels`),
# except `NAN_LABELS`
NA_LABELS = frozenset({
    "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
})  # fmt: skip
# what `str(float("nan"))` and pandas' `astype(str)` write for NaN: a missing label, never
# a class
NAN_LABELS = frozenset({"nan", "NaN"})


# stripped from a header cell to compare it: whitespace, a BOM (a second file's, pasted in)
# and the other invisible characters spreadsheets leave at a cell's start
BLANK = " \t\r\n\f\v\xa0\ufeff\u200b\u200c\u200d\u2060"


def did_you_mean(names: Iterable[str], wanted: str) -> str:
    """`; did you mean 'Text'?` where a name is `wanted` but for case or invisible characters.

    A zero-width space or a BOM in a header cell does not show in a spreadsheet; "" when
    no name is so near.
    """
    near = _near_name(names, wanted)
    return f"; did you mean {near!r}?" if near is not None else ""


def _near_name(names: Iterable[str], wanted: str) -> str | None:
    """The first of `names` that is `wanted` but for case or invisible characters, else None."""
    key = wanted.strip(BLANK).casefold()
    near = [name for name in names if name.strip(BLANK).casefold() == key and name != wanted]
    return near[0] if near else None


def missing_columns(
    where: object, names: list[str], wanted: list[tuple[str, str]], kind: str = "column"
) -> MissingColumnError:
    """One error naming every missing column of `wanted` ((role, name) pairs).

    Each comes with its did-you-mean, so that a header `Text,Label` is fixed in one go (it
    took two failed runs: the first error named only the text column). Names are never
    matched ignoring case: the suggestion is only said.
    """
    found = ", ".join(repr(name) for name in names) or "(none)"
    if len(wanted) == 1:
        (role, column), near = wanted[0], did_you_mean(names, wanted[0][1])
        return MissingColumnError(f"{where}: no {role} {kind} {column!r}; {kind}s found: "
                                  f"{found}{near}", roles=(role,), near=bool(near),
                                  hint=column_hint(role))  # fmt: skip
    parts, nears = [], []
    for role, column in wanted:
        near_name = _near_name(names, column)
        nears.append(near_name is not None)
        guess = f" (did you mean {near_name!r}?)" if near_name is not None else ""
        parts.append(f"no {role} {kind} {column!r}{guess}")
    options = [Opt(f"{role}_column", "...", "NAME") for role, _ in wanted]
    hint = Hint(" (pass " + " and ".join("{}" for _ in options) + " to choose them)", *options)
    return MissingColumnError(f"{where}: {' and '.join(parts)}; {kind}s found: {found}",
                              roles=tuple(role for role, _ in wanted), near=any(nears),
                              hint=hint)  # fmt: skip


def column_indices(
    header: list[str],
    text_column: str | int,
    label_column: str | int | None,
    path: Path,
    has_header: bool,
) -> tuple[int, int]:
    """(text, label) positions in the header (label -1: none asked).

    Every missing name is said in one error (`missing_columns`).
    """
    stripped = [h.strip() for h in header]
    wanted = [(role, column) for role, column in (("text", text_column), ("label", label_column))
              if isinstance(column, str)]  # fmt: skip
    missing = [(role, column) for role, column in wanted if column not in stripped]
    if has_header and len(missing) > 1 and not _misread_header(stripped, missing[0][1]):
        raise missing_columns(path, stripped, missing)
    ti = _column_index(header, text_column, "text", path, has_header)
    if label_column is None:
        return ti, -1
    return ti, _column_index(header, label_column, "label", path, has_header)


def _misread_header(stripped: list[str], column: str) -> bool:
    """Whether the header looks misread: another separator, or a first row of data.

    `_column_index` explains those better than a list of missing names.
    """
    return _first_row_is_data(stripped) or _separator_holding(stripped, column) is not None


def _separator_holding(stripped: list[str], column: str) -> str | None:
    """The other separator that splits a one-cell header into names that hold `column`."""
    if len(stripped) != 1:
        return None
    for sep in _OTHER_SEPARATORS:
        if column in (h.strip() for h in stripped[0].split(sep)):
            return sep
    return None


def _first_row_is_data(stripped: list[str]) -> bool:
    """Whether a header cell is a text (`_SENTENCE_WORDS` words or more), not a name."""
    return any(len(h.split()) >= _SENTENCE_WORDS for h in stripped)


def _column_index(
    header: list[str], column: str | int, role: str, path: Path, has_header: bool
) -> int:
    """Position of `column` in the header, or a DataError listing the columns found."""
    if isinstance(column, int):
        if column < 0 or (has_header and column >= len(header)):
            raise DataError(
                f"{path}: no {role} column number {column}; the file has {len(header)} columns"
            )
        return column
    if not has_header:
        raise DataError(f"{path}: {role} column {column!r} needs a header row")
    stripped = [h.strip() for h in header]
    if column in stripped:
        return _only_index(stripped, column, role, path)
    found = ", ".join(repr(h) for h in stripped) or "(none)"
    if did_you_mean(stripped, column):
        raise missing_columns(path, stripped, [(role, column)])
    sep = _separator_holding(stripped, column)
    if sep is not None:  # one column holding the names: another separator
        raise DataError(
            f"{path}: no {role} column {column!r}; columns found: {found}, a header "
            f"separated by {sep!r}: .csv files are read as comma-separated and .tsv/.tab "
            "as tab-separated (save the file with that separator)"
        )
    if _first_row_is_data(stripped):
        first = ", ".join(repr(h if len(h) <= 60 else h[:60] + "...") for h in stripped)
        raise DataError(
            f"{path}: no {role} column {column!r}; columns found: {first}; if that first row "
            "is data rather than column names, the file needs a header row naming its "
            "columns (e.g. text and label)"
        )
    raise missing_columns(path, stripped, [(role, column)])


def _only_index(names: list[str], column: str, role: str, path: Path) -> int:
    """Position of the one header cell `column`; two of them is a DataError naming both.

    Taking the first of two `text` columns without a word trained on whichever one a
    spreadsheet happened to put first.
    """
    positions = [i for i, name in enumerate(names) if name == column]
    if len(positions) == 1:
        return positions[0]
    listed = ", ".join(map(str, positions))
    raise DataError(
        f"{path}: the header names {len(positions)} columns {column!r} (positions "
        f"{listed}, counting from 0), so the {role} column is ambiguous; rename all but one",
        hint=Hint(f", or pass {role}_column=N to choose one by position"),  # Python only
    )


_SENTENCE_WORDS = 5  # a header cell of this many words is a text: the file has no header


# Separators spreadsheets write (Excel's ';' where ',' is the decimal mark) besides ',' and tab
_OTHER_SEPARATORS = (";", "|", ",", "\t")


def column_hint(role: str) -> Hint:
    """` (pass text_column=... to choose one)`; from the CLI, its `--text-column NAME`."""
    return Hint(" (pass {} to choose one)", Opt(f"{role}_column", "...", "NAME"))


# the limit before the first holder, while any `_FieldLimit` holds it lifted
_LIFTED: list[int] = []
_HOLDERS = [0]  # how many `_FieldLimit`s hold it lifted now
# an RLock, not a Lock: a reader the garbage collector ends (its `__exit__`) may run in the
# thread that holds this in another reader's `__enter__`
_LIFTED_LOCK = threading.RLock()


class _FieldLimit:
    """Lift csv's 128 KiB field limit while reading (lines are bounded already).

    The limit is the csv module's, one for the process, so it is put back only when the
    last reader holding it lifted ends. Why: a reader left half read (the rows sampled to
    tell Chinese, in a reference cycle) ended when the garbage collector took it, in the
    middle of the next reader's rows, and put back 128 KiB under it: "malformed CSV row
    (field larger than field limit)" on a row the same file had read a moment before.
    Under a lock: a reader entering in another thread between lifting the limit and
    noting the one before took the lifted one for the original, and left it lifted.
    A holder is counted before the limit moves, so an exit meanwhile keeps it lifted.
    """

    def __enter__(self) -> None:
        with _LIFTED_LOCK:
            _HOLDERS[0] += 1
            before = csv.field_size_limit(2**31 - 1)
            if not _LIFTED:
                _LIFTED.append(before)

    def __exit__(self, *exc: object) -> None:
        with _LIFTED_LOCK:
            _HOLDERS[0] -= 1
            if _HOLDERS[0] == 0 and _LIFTED:
                csv.field_size_limit(_LIFTED.pop())


def open_bytes(path: Path) -> IO[bytes]:
    """Binary stream of a file's content, decompressed (streaming); errors name the file."""
    return _open(path)


def _open(path: Path) -> IO[bytes]:
    """Binary stream of a file's content, decompressed (streaming) by its first bytes."""
    try:
        return Source.from_path(path).open()
    except FormatError as exc:
        raise DataError(str(exc)) from None
    except OSError as exc:
        raise DataError(f"{path}: cannot open ({exc.strerror})") from None


# the first bytes of a file, looked at for UTF-16 and for CR-only line ends
SNIFF_BYTES = 4096


def utf16_cjk(raw: bytes) -> str | None:
    """The UTF-16 byte order `raw` (bytes that are not UTF-8) reads as Chinese text in, or None.

    Han characters in UTF-16 hold no NUL byte, so `utf16_problem` cannot see them; a line
    that is not UTF-8 but decodes as UTF-16 into CJK characters, CJK punctuation and ASCII
    is one. Only asked once UTF-8 failed: valid UTF-8 Chinese would often decode too.

        >>> utf16_cjk("房间很干净，服务也好。".encode("utf-16-le"))
        'LE'
        >>> utf16_cjk("房间很干净".encode("gb18030")) is None
        True
        >>> utf16_cjk(b"king " + bytes([255]) + b" man is a word") is None  # a stray byte
        True

    Every pair of ASCII letters decodes as a Han character in UTF-16, so a line of spaced
    words in ASCII bytes but for a stray one (an English line with one Latin-1 byte) is not
    taken for it: in Chinese UTF-16 about half the bytes are not printable ASCII, and a
    space byte is rare (a short line may be all ASCII bytes: 手机很好用 has 9 of 10).
    """
    ascii_bytes = sum(1 for b in raw if 0x20 <= b < 0x7F or b in (9, 10, 13))
    if b" " in raw and ascii_bytes >= 0.9 * len(raw):
        return None
    for start in (0, 1):  # a split at a LF byte (0A 00) leaves the NUL on the next line
        body = raw[start:]
        body = body[: len(body) // 2 * 2]
        for codec in ("LE", "BE"):
            try:
                text = body.decode(f"utf-16-{codec.lower()}")
            except UnicodeDecodeError:
                continue
            chars = [c for c in text if not c.isspace()]
            if len(chars) < 4:
                continue
            cjk = sum(1 for c in chars if "\u4e00" <= c <= "\u9fff" or "\u3000" <= c <= "\u303f"
                      or "\uff00" <= c <= "\uffef" or " " < c <= "~")  # fmt: skip
            if cjk >= 0.9 * len(chars):
                return codec
    return None


def utf16_problem(head: bytes) -> str | None:
    """What is wrong when `head` (a file's first bytes) is UTF-16 text, else None.

    UTF-8 text holds no NUL bytes; UTF-16 holds one beside every ASCII character, all at
    odd offsets (little-endian) or all at even ones (big-endian). Without a byte order
    mark such a file decodes as "valid" UTF-8 whose every other character is NUL, so
    vocabularies of single letters came out of it with no word of why.

        >>> utf16_problem("two words".encode("utf-16-le"))[:53]
        'the file looks like UTF-16 (little-endian) without a '
        >>> utf16_problem(b"plain text") is None
        True
    """
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return (
            "the file starts with a UTF-16 byte order mark (Excel's 'Unicode text'): convert "
            "it to UTF-8 first (iconv -f UTF-16 -t UTF-8, or save it as 'CSV UTF-8')"
        )
    pairs = len(head) // 2
    if pairs < 2:
        return None
    even, odd = head[0 : 2 * pairs : 2].count(0), head[1 : 2 * pairs : 2].count(0)
    for nuls, other, order, codec in ((odd, even, "little", "LE"), (even, odd, "big", "BE")):
        if nuls >= pairs / 2 and other <= pairs / 10:
            return (
                f"the file looks like UTF-16 ({order}-endian) without a byte order mark (a NUL "
                f"byte beside every other character): convert it to UTF-8 first (iconv -f "
                f"UTF-16{codec} -t UTF-8)"
            )
    return None


# What a file's first bytes say it is, where that is no text. Magic bytes that could be text
# of the file's encoding (ASCII "GIF89a", "%PDF-"; CF FA ED FE, Mach-O's, is "销睨" in
# GB18030) name a format only beside bytes no text holds, where the format puts them (its
# `proof`): "GIF89a is an image format" is text. gzip, bz2, xz and a one-file zip are opened
# before this (`io.base.Source`): one here is a second layer.
_ARCHIVE = "extract its files first and read the text files"
_INNER = ("decompress it first (one layer of gzip, bz2, xz or a one-file zip is read as is; "
          "this is compressed inside that)")  # fmt: skip
# a NUL or a control character: in no text of an ASCII-compatible encoding (whose multibyte
# characters are of bytes 0x30 and up); tab, line ends, form feed and ESC (ANSI colours)
# are in text
_BINARY_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")


def _binary_bytes(head: bytes) -> bool:
    """Whether `head` holds a byte no text holds (`_BINARY_BYTES`)."""
    return _BINARY_BYTES.search(head) is not None


def _binary_in(start: int, stop: int) -> Callable[[bytes], bool]:
    """A `proof`: a byte no text holds in `head[start:stop]`, where a format's header has one."""
    return lambda head: _binary_bytes(head[start:stop])


# a PDF's header line alone ('%PDF-1.7', the version, nothing else), then the line after it:
# a comment ('%' and the rest of the line) or the first object ("1 0 obj")
_PDF_HEAD = re.compile(rb"%PDF-\d\.\d[ \t]*(?:\r\n|\r|\n)(%[^\r\n]*|\d+ \d+ obj\b)")


def _pdf_proof(head: bytes) -> bool:
    """A PDF's evidence: a byte no text holds, or its header line then its binary comment.

    The PDF standard (7.5.2) asks for a second line of '%' and at least four bytes of 128
    and up, so that tools take the file for binary; matplotlib's holds a space among them
    ('%' ac dc ' ' ab ba), and an uncompressed PDF's first 4 KiB may be all text. A bare
    header line then the first object ("1 0 obj") is a PDF too; "%PDF-1.4 is a format" is
    prose, whatever line follows it.
    """
    if _binary_bytes(head):
        return True
    found = _PDF_HEAD.match(head)
    if found is None:
        return False
    second = found.group(1)
    return not second.startswith(b"%") or sum(b >= 0x80 for b in second) >= 4


@dataclass(frozen=True)
class _Magic:
    """A binary format named by its first bytes, and what to tell the user about it.

    `proof`: what else `head` must hold where a magic could be text in the encoding;
    `always`: in every encoding (a magic one encoding's text holds, as cp1252's “NUMPY”,
    another may decode to a control character: latin-1 makes 93 a C1 control).
    """

    magics: tuple[bytes, ...]
    what: str
    evidence: str
    advice: str = ""
    proof: Callable[[bytes], bool] = _binary_bytes
    always: bool = False

    def names(self, found: bytes, head: bytes, encoding: str) -> bool:
        """Whether `head`, starting with this format's magic `found`, is of this format."""
        if not self.always and not _could_be_text(found, encoding):
            return True
        return self.proof(head)


def _compressed(magic: bytes, kind: str) -> _Magic:
    """A second layer of compression, by `io.base.COMPRESSION_MAGIC`."""
    if kind == "zip":  # with an empty zip's magic
        return _Magic((magic, b"PK\x05\x06"), "a zip archive", "it starts with 'PK'",
                      _ARCHIVE + " (unzip)")  # fmt: skip
    runs = re.findall(rb"[\x21-\x7e]+|[\x00-\xff]", magic)  # fd 7z XZ 00: fd '7zXZ' 00
    said = " ".join(f"'{run.decode()}'" if 0x20 < run[0] < 0x7F else f"{run[0]:02x}"
                    for run in runs)  # fmt: skip
    return _Magic((magic,), f"{kind}-compressed data", f"it starts with {said}", _INNER)


_BINARY_MAGIC: tuple[_Magic, ...] = (
    *(_compressed(magic, kind) for magic, kind in COMPRESSION_MAGIC),
    _Magic((b"7z\xbc\xaf\x27\x1c",), "a 7-Zip archive", "it starts with '7z' bc af", _ARCHIVE),
    _Magic((b"Rar!\x1a\x07",), "a RAR archive", "it starts with 'Rar!'", _ARCHIVE),
    _Magic((b"\x28\xb5\x2f\xfd",), "zstd-compressed data", "it starts with 28 b5 2f fd",
           "decompress it first (unzstd)"),
    _Magic((b"\x7fELF",), "an ELF executable or shared library", "it starts with 7f 'ELF'"),
    _Magic((b"MZ\x90\x00",), "a Windows executable", "it starts with 'MZ' 90 00"),
    # the CPU type (Mach-O), class file version or architecture count (fat) after it: NULs
    _Magic((b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe"),
           "a Mach-O executable (or a Java class file)", "its first 4 bytes",
           proof=_binary_in(4, 8)),
    _Magic((b"%PDF-",), "a PDF document", "it starts with '%PDF-'", proof=_pdf_proof),
    _Magic((b"SQLite format 3\x00",), "an SQLite database", "it starts with 'SQLite format 3'"),
    _Magic((NPY_MAGIC,), "a NumPy .npy array", "it starts with 93 'NUMPY'",
           proof=_binary_in(6, 10), always=True),  # its version and header length
    _Magic((b"\x89HDF\r\n\x1a\n",), "an HDF5 file", "it starts with 89 'HDF'"),
    _Magic((FASTTEXT_MAGIC.to_bytes(4, "little"),), "a fastText .bin model", "its first 4 bytes"),
    _Magic((b"\x80\x02", b"\x80\x03", b"\x80\x04\x95", b"\x80\x05\x95"),
           "a Python pickle (a PyTorch checkpoint?)", "it starts with 80 and a protocol"),
    _Magic((b"\x89PNG\r\n\x1a\n",), "a PNG image", "it starts with 89 'PNG'"),
    # a segment's length and name after it (JFIF, Exif: NULs); FF D8 is no UTF-8 at all
    _Magic((b"\xff\xd8\xff",), "a JPEG image", "it starts with ff d8 ff", proof=_binary_in(3, 24)),
    # the logical screen after it: width and height (little-endian), flags, aspect (0)
    _Magic((b"GIF87a", b"GIF89a"), "a GIF image", "it starts with 'GIF8'",
           proof=_binary_in(6, 13)),
)  # fmt: skip


def _could_be_text(magic: bytes, encoding: str) -> bool:
    """Whether `magic` may start a text of `encoding`: it decodes, to no control character.

    Decoded as a start (a multibyte character may go on past it); a private-use or
    unassigned character (cp932's F8F0-F8F3 for bytes it has no character for) is no text.
    """
    try:
        text = codecs.getincrementaldecoder(encoding)("strict").decode(magic, final=False)
    except UnicodeDecodeError:
        return False
    return all(c.isspace() or unicodedata.category(c) not in _NO_TEXT for c in text)


_NO_TEXT = frozenset({"Cc", "Co", "Cn", "Cs"})


def _tar_header(head: bytes) -> bool:
    """Whether `head` starts with a tar header: 'ustar' at byte 257 and its checksum right.

    'ustar ' alone was Spanish "ajustar el valor" there. The checksum (bytes 148-155, octal
    digits) is the sum of the header's 512 bytes, those 8 counted as spaces, and `tarfile`
    takes the sum of unsigned or of signed bytes; no text holds its own sum.
    """
    if len(head) < 512 or head[257:262] != b"ustar":
        return False
    field = head[148:156].split(b"\x00", 1)[0].strip(b" ")
    if not field or field.strip(b"01234567"):
        return False
    block = head[:148] + b" " * 8 + head[156:512]
    unsigned = sum(block)
    signed = unsigned - 256 * sum(b >= 0x80 for b in block)
    return int(field, 8) in (unsigned, signed)


def binary_problem(head: bytes, encoding: str = "utf-8") -> str | None:
    r"""What `head` (a file's first bytes, decompressed) says the file is, where no text.

    A tar of text files is ASCII and NUL padding, all valid UTF-8: it was "a stray NUL"
    under strict and its headers read as documents under errors="replace"; an ELF file's
    later lines were "UTF-16". Repairing bytes is for text, so this holds under every
    option. One look at the bytes read at open: nothing per line. `encoding`: the file's,
    in which magic bytes may be text (`_Magic.proof`).

        >>> binary_problem(b"\x7fELF\x02\x01\x01\x00")
        "the file is an ELF executable or shared library, not text (it starts with 7f 'ELF')"
        >>> binary_problem(b"ELF on a shelf") is None
        True
        >>> binary_problem("销睨".encode("gb18030"), "gb18030") is None  # Mach-O's CF FA ED FE
        True
    """
    for magic in _BINARY_MAGIC:
        found = next((m for m in magic.magics if head.startswith(m)), None)
        if found is not None and magic.names(found, head, encoding):
            return (f"the file is {magic.what}, not text ({magic.evidence})"
                    + (f": {magic.advice}" if magic.advice else ""))  # fmt: skip
    if _tar_header(head):
        return ("the file is a tar archive, not text (a tar header: 'ustar' at byte 257, its "
                f"checksum right): {_ARCHIVE} (tar -xf)")  # fmt: skip
    if safetensors_head(head) and head[4:8] == bytes(4):  # a length's NULs: no text
        return "the file is a safetensors file, not text (a JSON header after its 8-byte length)"
    return None


def check_head(head: bytes, path: Path | str, encoding: str = "utf-8") -> None:
    """Refuse a file whose first bytes are no text of `encoding`: a binary file, UTF-16."""
    problem = binary_problem(head, encoding) or utf16_problem(head)
    if problem is not None:
        raise DataError(f"{path}:1: {problem}")


def text_stream(fh: IO[bytes], path: Path | str, encoding: str = "utf-8") -> IO[bytes]:
    """`fh` checked (`check_head` in `encoding`), its line ends LF where it ends lines in CR.

    Binary data and UTF-16 are refused from the first bytes, read once at open. Lines are
    split at LF bytes before decoding; a file saved with classic Mac line ends (CR only) was
    one line, so `predict` gave one answer for three texts and a CSV was
    refused with csv's "universal-newline mode" error. Such a file (a CR and no LF in
    its first bytes) is read as Python's universal newlines read it.
    """
    peek = getattr(fh, "peek", None)
    try:
        head = peek(SNIFF_BYTES)[:SNIFF_BYTES] if peek is not None else fh.read(SNIFF_BYTES)
    except DECOMPRESS_ERRORS as exc:
        raise DataError(f"{path}:1: corrupt or truncated data ({exc})") from None
    check_head(head, path, encoding)
    # a CR last in a full head may be the first half of a CRLF cut off there
    seen = head[:-1] if len(head) == SNIFF_BYTES else head
    cr_only = b"\n" not in head and b"\r" in seen
    if peek is not None and not cr_only:
        return fh
    return io.BufferedReader(_LineEnds(fh, b"" if peek is not None else head, cr_only))


class _LineEnds(io.RawIOBase):
    """`head`, then the rest of `fh`; with `cr`, each CR or CRLF as one LF.

    A CR last in one read is held back until the next shows whether an LF follows. `fh` is
    left open: its owner closes it. A read takes what is there (`read1`), so live input
    (a pipe, a terminal) is passed on as it comes, not once 64 KiB or its end is in.
    """

    def __init__(self, fh: IO[bytes], head: bytes, cr: bool) -> None:
        super().__init__()
        self._fh = fh
        self._head = head
        self._cr = cr
        self._held = b""

    def readable(self) -> bool:
        """A source of bytes."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Fill `buffer` with the next bytes (0 at the end), line ends translated."""
        size = len(buffer)
        while True:
            if self._head:
                chunk, self._head = self._head[:size], self._head[size:]
            else:
                read = getattr(self._fh, "read1", self._fh.read)
                chunk = read(max(size - len(self._held), 1))
            data, self._held = self._held + chunk, b""
            if self._cr:
                if chunk and data.endswith(b"\r"):
                    data, self._held = data[:-1], b"\r"
                data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if len(data) > size:  # a held CR and a full read: keep the last byte
                data, self._held = data[:size], data[size:] + self._held
            if data or not chunk:
                buffer[: len(data)] = data
                return len(data)


def _raw_lines(
    fh: IO[bytes], path: Path | str, limit: int | None, stats: ReadReport
) -> Iterator[tuple[int, int, bytes]]:
    """(1-based line number, where the bytes start in their line, bytes) of each line.

    Lines over `limit` bytes come in whitespace-cut pieces, each with its start in the
    line, so an error names the byte of the line, not of the piece.
    """
    lineno = 0
    carry = b""
    start = 0  # where the next piece starts in its line (0: not in a long line)
    try:
        while True:
            # `carry` (the tail of a cut line) plus the new chunk never exceeds `limit`
            size = -1 if limit is None else limit - len(carry)
            chunk = fh.readline(size)
            if not chunk:
                break
            if limit is None or chunk.endswith(b"\n") or len(chunk) < size:
                lineno += 1
                yield lineno, start, carry + chunk
                carry = b""
                start = 0
                continue
            if not start:
                stats.split_lines += 1
            data = carry + chunk
            cut = _cut_point(data)
            carry = data[cut:]
            yield lineno + 1, start, data[:cut]
            start += cut
    except DECOMPRESS_ERRORS as exc:
        raise DataError(f"{path}:{lineno + 1}: corrupt or truncated data ({exc})") from None
    if carry:
        yield lineno + 1, start, carry


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
