"""Random access to a binary vector file: a memory map when plain, bytes when compressed.

Binary readers (word2vec .bin, fastText .bin) walk the file with a `Cursor` whose every read
checks the remaining length, so a truncated file is a `FormatError` that names the expected and
the found size instead of a `struct.error` or a short numpy array.
"""

from __future__ import annotations

import bz2
import lzma
import mmap
import struct
import tempfile
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vecgraft.errors import FormatError, Hint
from vecgraft.io.base import DECOMPRESS_ERRORS, Source

_CHUNK = 1 << 22  # compressed bytes read at a time


def _decompressor(kind: str) -> Any:
    if kind == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if kind == "bz2":
        return bz2.BZ2Decompressor()
    return lzma.LZMADecompressor()


def _decompress_lenient(source: Source) -> tuple[bytes | mmap.mmap, str | None]:
    """Decompress every member of a gzip/bz2/xz file, keeping what a truncated stream yields.

    The output streams into an anonymous temporary file that is then memory-mapped, so a
    multi-gigabyte `.bin.gz` costs disk (or page cache), not a second copy in RAM.

    Returns the content and, when the stream ends early, a note saying so: the binary parsers
    then report how many bytes they expected against how many the archive gave.
    """
    kind = str(source.compression)
    d: Any = None
    fed = got = 0
    with open(source.path, "rb") as fh, tempfile.TemporaryFile() as tmp:
        try:
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                fed += len(chunk)
                data = chunk
                while data:
                    if d is None or d.eof:
                        if kind == "gzip":
                            data = data.lstrip(b"\x00")  # zero padding between gzip members
                            if not data:
                                break
                        d = _decompressor(kind)
                    out = d.decompress(data)
                    tmp.write(out)
                    got += len(out)
                    data = d.unused_data if d.eof else b""
        except DECOMPRESS_ERRORS as exc:
            raise FormatError(f"corrupt {kind} data: {exc}", path=source.path) from exc
        note = None
        if d is None or not d.eof:
            note = (
                f"the {kind} stream is truncated: it ends after {fed} compressed bytes "
                f"({got} decompressed) without its end marker"
            )
        if got == 0:
            return b"", note
        tmp.flush()
        return mmap.mmap(tmp.fileno(), 0, access=mmap.ACCESS_READ), note


@dataclass
class Buffer:
    """Decompressed content plus, for a truncated archive, why it is incomplete."""

    data: bytes | mmap.mmap
    truncated: str | None = None


def read_buffer(source: Source) -> Buffer:
    """The decompressed content of `source`; plain files are memory-mapped, not copied."""
    if source.compression is None:
        with open(source.path, "rb") as fh:
            size = fh.seek(0, 2)
            if size == 0:
                return Buffer(b"")
            return Buffer(mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ))
    if source.compression == "zip":
        return Buffer(source.read_bytes())
    return Buffer(*_decompress_lenient(source))


@dataclass
class Cursor:
    """A read position in `buf`; reads past the end raise a FormatError naming `source`."""

    buffer: Buffer
    source: Source
    pos: int = 0
    what: str = field(default="file")

    @property
    def buf(self) -> bytes | mmap.mmap:
        """The raw bytes."""
        return self.buffer.data

    def fail(
        self, message: str, offset: int | None = None, *, hint: Hint | None = None
    ) -> FormatError:
        """A FormatError at `offset` (default: the cursor), noting a truncated archive."""
        if self.buffer.truncated:
            message = f"{message}; {self.buffer.truncated}"
        return FormatError(
            message,
            path=self.source.path,
            offset=self.pos if offset is None else offset,
            hint=hint,
        )

    @property
    def size(self) -> int:
        """Total bytes in the buffer."""
        return len(self.buf)

    @property
    def remaining(self) -> int:
        """Bytes after the cursor."""
        return self.size - self.pos

    def need(self, n: int, what: str) -> None:
        """Raise unless `n` more bytes exist; the message says what was being read."""
        if n < 0 or self.remaining < n:
            raise self.fail(
                f"truncated {self.what}: expected {n} bytes for {what}, found "
                f"{max(self.remaining, 0)} (the content is {self.size} bytes, needs at least "
                f"{self.pos + max(n, 0)})"
            )

    def unpack(self, fmt: str, what: str) -> tuple[int | float | bool, ...]:
        """`struct.unpack` the next bytes (little-endian formats only: files are LE)."""
        n = struct.calcsize(fmt)
        self.need(n, what)
        values = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += n
        return values

    def array(self, dtype: str, count: int, what: str) -> np.ndarray:
        """`count` items of `dtype` at the cursor, without copying when memory-mapped."""
        item = np.dtype(dtype).itemsize
        self.need(count * item, what)
        if count == 0:
            return np.empty(0, dtype=dtype)
        out = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.pos)
        self.pos += count * item
        return out

    def until(self, byte: bytes, what: str, limit: int = 1 << 20) -> bytes:
        """Bytes up to (not including) the next `byte`, which is consumed."""
        end = self.buf.find(byte, self.pos, min(self.size, self.pos + limit))
        if end < 0:
            found = "end of file" if self.pos + limit >= self.size else f"{limit} bytes"
            raise self.fail(f"expected {byte!r} ending {what}, found {found} first")
        out = bytes(self.buf[self.pos : end])
        self.pos = end + 1
        return out
