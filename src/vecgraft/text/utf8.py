"""Small UTF-8 files read whole (word lists, dictionaries, benchmark sets): one message when not.

Every such reader said "not UTF-8" its own way: some named the line, some the byte, one the
codec's internal reason, one none of them and one no fix. `read_utf8` names the file, the
line, the byte and its offset, and how to convert the file (GB18030 Chinese: the iconv line).
"""

from __future__ import annotations

import codecs
import os
from pathlib import Path

from vecgraft._util.gb18030 import gb18030_advice
from vecgraft.errors import DataError, VecgraftError

__all__ = ["read_utf8"]


def read_utf8(
    path: str | os.PathLike[str], what: str, *, error: type[VecgraftError] = DataError
) -> str:
    r"""The text of a small UTF-8 file, a leading BOM removed (Windows editors write one).

    Args:
        path: the file (OSError, e.g. FileNotFoundError, is left to the caller).
        what: the file's role in the message ("stopword file", "token list").
        error: the error raised for text that is not UTF-8.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "words.txt"
        >>> _ = p.write_bytes(b"caf\xe9\n")
        >>> read_utf8(p, "word list")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        vecgraft.errors.DataError: ...words.txt:1: word list is not UTF-8 (byte 0xe9 at offset 3)...
    """
    raw = Path(path).read_bytes()
    data = raw.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        offset = exc.start + len(raw) - len(data)
        fix = gb18030_advice(path, data) or "; save it as UTF-8"
        raise error(
            f"{os.fspath(path)}:{line}: {what} is not UTF-8 "
            f"(byte {data[exc.start]:#04x} at offset {offset}){fix}"
        ) from None
