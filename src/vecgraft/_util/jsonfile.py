"""Bounded reads of the JSON (and config) files in run, model and vocabulary folders.

`Path.read_text()` reads whatever a name points at: `vocab.json -> /dev/zero` grew to 23 GB
before the kernel killed the process, a FIFO in its place blocked forever, and 100,000
nested `[` gave a raw RecursionError traceback. These readers stat first, refuse what is
not a regular file without opening it, read at most `limit` bytes, and turn the parser's
recursion overflow into a `JsonFileError` (a ValueError, so callers' `except ValueError`
clauses already name the file).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

__all__ = [
    "RECORD_LIMIT",
    "VOCAB_LIMIT",
    "JsonFileError",
    "read_json_file",
    "read_text_file",
    "special_kind",
]

MiB = 1 << 20
VOCAB_LIMIT = 512 * MiB  # a vocabulary of tens of millions of tokens stays well below
RECORD_LIMIT = 64 * MiB  # manifests, metrics, configs: kilobytes in practice


def special_kind(mode: int) -> str | None:
    """What a file of `mode` is when neither a regular file nor a folder, else None.

    >>> special_kind(stat.S_IFCHR), special_kind(stat.S_IFREG), special_kind(stat.S_IFDIR)
    ('a character device', None, None)
    """
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return (
        "a named pipe (FIFO)" if stat.S_ISFIFO(mode)
        else "a character device" if stat.S_ISCHR(mode)
        else "a block device" if stat.S_ISBLK(mode)
        else "a socket" if stat.S_ISSOCK(mode)
        else "not a regular file"
    )  # fmt: skip


class JsonFileError(ValueError):
    """A file refused before or while parsing; the message says why, the caller names it."""


def _size_words(n: int) -> str:
    return f"{n / MiB:.0f} MiB" if n >= MiB else f"{n} bytes"


def _too_big(size: int, limit: int) -> JsonFileError:
    return JsonFileError(
        f"is {_size_words(size)}, over the {_size_words(limit)} limit for this file"
    )


def read_text_file(path: str | os.PathLike[str], *, limit: int) -> str:
    """The UTF-8 text of the regular file `path`, refused past `limit` bytes.

    OSError (missing, unreadable) and UnicodeDecodeError pass through as `read_text` gave them.
    """
    p = Path(path)
    kind = special_kind(os.stat(p).st_mode)  # before opening: opening a FIFO can block
    if kind is not None:
        raise JsonFileError(f"is {kind}, not a regular file")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(p, flags)
    with open(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        kind = special_kind(info.st_mode)  # swapped for a FIFO since the stat?
        if kind is not None:
            raise JsonFileError(f"is {kind}, not a regular file")
        if info.st_size > limit:  # refused unread
            raise _too_big(info.st_size, limit)
        data = fh.read(limit + 1)  # a file growing past the stat's size stops here too
    if len(data) > limit:
        raise _too_big(len(data), limit)
    return data.decode("utf-8")


def read_json_file(path: str | os.PathLike[str], *, limit: int) -> Any:
    """The JSON value in the regular file `path` of at most `limit` bytes.

    Raises OSError as reading does, and ValueError (JSONDecodeError, UnicodeDecodeError,
    `JsonFileError` for a FIFO/device, an oversized file or one nested too deeply).
    """
    text = read_text_file(path, limit=limit)
    try:
        return json.loads(text)
    except RecursionError:
        raise JsonFileError("nested too deeply to parse") from None
