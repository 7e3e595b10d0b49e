"""Reading a binary vector file front to back: a memory map when plain, a stream when not.

Binary readers (word2vec .bin, fastText .bin) walk the file with a `Cursor` whose every read
checks the remaining length, so a truncated file is a `FormatError` that names the expected and
the found size instead of a `struct.error` or a short numpy array.

Compressed files are never decompressed whole, neither into memory nor into a temporary file:
the cursor keeps a small window of the decompressed stream and refills it as the reader moves
on, so a `.bin.gz` that expands to many gigabytes of padding costs one window, and a reader
stops as soon as the content stops making sense.
"""

from __future__ import annotations

import bz2
import io
import lzma
import mmap
import struct
import zlib
from typing import IO, Any, cast

import numpy as np

from vecgraft.errors import FormatError, Hint
from vecgraft.io.base import DECOMPRESS_ERRORS, Source

_CHUNK = 1 << 22  # bytes read (or decompressed) at a time
_ARRAY_STEP = 64 << 20  # a streamed array grows by at most this much at a time


def _decompressor(kind: str) -> Any:
    if kind == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if kind == "bz2":
        return bz2.BZ2Decompressor()
    return lzma.LZMADecompressor()


class LenientStream(io.RawIOBase):
    """The decompressed bytes of a gzip/bz2/xz file, every member, in bounded pieces.

    Unlike `gzip.open`, a stream that ends without its end marker is not an exception: reading
    stops and `truncated` says why, so the binary parsers can report how many bytes they
    expected against how many the archive gave. Each `readinto` decompresses at most the
    caller's buffer size, so a bomb never materialises.
    """

    def __init__(self, fh: IO[bytes], kind: str) -> None:
        super().__init__()
        self._fh = fh
        self._kind = kind
        self._d: Any = None
        self._pending = b""  # compressed bytes read but not yet given to a decompressor
        self._in_eof = False
        self._done = False
        self.fed = 0
        self.got = 0
        self.truncated: str | None = None

    def readable(self) -> bool:
        """Always readable."""
        return True

    def close(self) -> None:
        """Close the underlying file too."""
        self._fh.close()
        super().close()

    def readinto(self, b: Any) -> int:
        """Decompress up to `len(b)` bytes into `b`; 0 at the end of the content."""
        view = memoryview(b).cast("B")
        while not self._done:
            out = self._step(len(view))
            if out:
                view[: len(out)] = out
                self.got += len(out)
                return len(out)
        return 0

    def _wants_input(self) -> bool:
        d = self._d
        if d is None or d.eof:
            return not self._pending
        if self._kind == "gzip":
            return not self._pending
        return bool(d.needs_input) and not self._pending

    def _step(self, limit: int) -> bytes:
        if self._wants_input() and not self._in_eof:
            data = self._fh.read(_CHUNK)
            self.fed += len(data)
            self._in_eof = not data
            self._pending += data
        d = self._d
        if d is None or d.eof:
            if self._kind == "gzip":
                self._pending = self._pending.lstrip(b"\x00")  # padding between gzip members
            if not self._pending:
                if self._in_eof:
                    self._finish()
                return b""
            d = self._d = _decompressor(self._kind)
        try:
            out: bytes = d.decompress(self._pending, limit)
        except DECOMPRESS_ERRORS as exc:
            raise FormatError(f"corrupt {self._kind} data: {exc}") from exc
        if d.eof:
            self._pending = d.unused_data
        elif self._kind == "gzip":
            self._pending = d.unconsumed_tail
        else:
            self._pending = b""  # bz2/lzma keep unconsumed input themselves
        if not out and self._in_eof and self._wants_input() and not d.eof:
            self._finish()
        return out

    def _finish(self) -> None:
        self._done = True
        if self._d is None or not self._d.eof:
            self.truncated = (
                f"the {self._kind} stream is truncated: it ends after {self.fed} compressed "
                f"bytes ({self.got} decompressed) without its end marker"
            )


def open_stream(source: Source) -> IO[bytes]:
    """The decompressed content of `source` as a stream (zip members too, never whole)."""
    if source.compression in ("gzip", "bz2", "xz"):
        stream = LenientStream(open(source.path, "rb"), str(source.compression))  # noqa: SIM115
        return cast(IO[bytes], stream)  # `truncated` stays reachable (no buffered wrapper)
    return source.open()


class Cursor:
    """A read position in a binary file; reads past the end raise a FormatError naming it.

    Plain files are memory-mapped whole (`window()` is the map, nothing is copied); compressed
    files are streamed through a window that holds at most a few chunks. `pos` is always an
    absolute offset in the decompressed content.
    """

    def __init__(self, source: Source, what: str = "file", data: bytes | None = None) -> None:
        self.source = source
        self.what = what
        self.pos = 0
        self.base = 0  # absolute offset of buf[0]
        self._stream: IO[bytes] | None = None
        self._map: mmap.mmap | None = None
        self.buf: bytes | bytearray | mmap.mmap
        if data is not None:
            self.buf, self.eof = data, True
        elif source.compression is None:
            with open(source.path, "rb") as fh:
                size = fh.seek(0, 2)
                if size == 0:
                    self.buf = b""
                else:
                    self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
                    self.buf = self._map
            self.eof = True
        else:
            self._stream = open_stream(source)
            self.buf, self.eof = bytearray(), False

    # -- lifetime ----------------------------------------------------------------------------
    def close(self) -> None:
        """Close the stream (a memory map stays open for the arrays that view it)."""
        if self._stream is not None:
            self._stream.close()

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- state -------------------------------------------------------------------------------
    @property
    def streaming(self) -> bool:
        """True for a compressed file (no random access, size unknown until the end)."""
        return self._stream is not None

    @property
    def truncated(self) -> str | None:
        """Why a compressed stream ended early (None when whole or not yet at its end)."""
        return getattr(self._stream, "truncated", None) if self.eof else None

    @property
    def end(self) -> int:
        """Absolute offset just past the bytes in the window."""
        return self.base + len(self.buf)

    @property
    def size(self) -> int | None:
        """Total bytes of content, once known (a plain file, or a stream read to its end)."""
        return self.end if self.eof else None

    @property
    def remaining(self) -> int | None:
        """Bytes after the cursor, once known."""
        return None if self.size is None else self.size - self.pos

    def fill(self, n: int) -> bool:
        """Make the window hold `n` bytes from `pos` if the content has them; True if so."""
        while self.end < self.pos + n and not self.eof:
            assert isinstance(self.buf, bytearray) and self._stream is not None
            drop = self.pos - self.base
            if drop > 0:
                del self.buf[:drop]
                self.base = self.pos
            try:
                data = self._stream.read(max(_CHUNK, self.pos + n - self.end))
            except DECOMPRESS_ERRORS as exc:
                msg = f"corrupt or truncated {self.source.compression} data: {exc}"
                raise self.fail(msg) from exc
            except FormatError as exc:
                raise FormatError(exc.message, path=self.source.path) from exc
            if not data:
                self.eof = True
            self.buf += data
        return self.end >= self.pos + n

    def window(self, n: int) -> tuple[bytes | bytearray | mmap.mmap, int]:
        """(buffer, index of `pos` in it) after trying to hold `n` bytes from `pos`."""
        self.fill(n)
        return self.buf, self.pos - self.base

    def at_end(self) -> bool:
        """Whether no byte follows the cursor."""
        return not self.fill(1)

    # -- errors ------------------------------------------------------------------------------
    def fail(
        self, message: str, offset: int | None = None, *, hint: Hint | None = None
    ) -> FormatError:
        """A FormatError at `offset` (default: the cursor), noting a truncated archive."""
        if self.truncated:
            message = f"{message}; {self.truncated}"
        return FormatError(
            message,
            path=self.source.path,
            offset=self.pos if offset is None else offset,
            hint=hint,
        )

    def need(self, n: int, what: str) -> None:
        """Raise unless `n` more bytes exist; the message says what was being read."""
        if n >= 0 and self.fill(n):
            return
        found = max(self.end - self.pos, 0)
        raise self.fail(
            f"truncated {self.what}: expected {n} bytes for {what}, found {found} (the content "
            f"is {self.end} bytes, needs at least {self.pos + max(n, 0)})"
        )

    # -- reads -------------------------------------------------------------------------------
    def unpack(self, fmt: str, what: str) -> tuple[int | float | bool, ...]:
        """`struct.unpack` the next bytes (little-endian formats only: files are LE)."""
        n = struct.calcsize(fmt)
        self.need(n, what)
        values = struct.unpack_from(fmt, self.buf, self.pos - self.base)
        self.pos += n
        return values

    def array(self, dtype: str, count: int, what: str) -> np.ndarray:
        """`count` items of `dtype` at the cursor: a view of a memory map, else read in steps.

        A stream's array grows as its bytes arrive, so a header that promises more than the
        file holds costs only what the file holds before the truncation error.
        """
        item = np.dtype(dtype).itemsize
        total = count * item
        if count == 0:
            return np.empty(0, dtype=dtype)
        if not self.streaming:
            self.need(total, what)
            out = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.pos)
            self.pos += total
            return out
        data = np.empty(min(total, _ARRAY_STEP), dtype=np.uint8)
        have = min(self.end - self.pos, total)
        start = self.pos - self.base
        data[:have] = np.frombuffer(self.buf, np.uint8, have, start) if have else data[:0]
        self.pos += have
        while have < total:
            if have == len(data):
                data.resize(min(total, len(data) + max(len(data), _ARRAY_STEP)), refcheck=False)
            self.fill(1)  # refills the window from the stream (or marks the end)
            got = min(self.end - self.pos, len(data) - have)
            if got <= 0:
                self.pos -= have
                self.need(total, what)  # raises, naming the expected and found sizes
            start = self.pos - self.base
            data[have : have + got] = np.frombuffer(self.buf, np.uint8, got, start)
            self.pos += got
            have += got
        return data.view(dtype)

    def skip(self, n: int, what: str) -> None:
        """Move past `n` bytes that must exist (streams read and drop them in chunks)."""
        if not self.streaming:
            self.need(n, what)
            self.pos += n
            return
        target = self.pos + n
        while self.pos < target:
            step = min(_CHUNK, target - self.pos)
            if not self.fill(step):
                missing = target - self.end
                self.pos = target - n
                raise self.fail(
                    f"truncated {self.what}: expected {n} bytes for {what}, found "
                    f"{n - missing} (the content is {self.end} bytes, needs at least {target})"
                )
            self.pos += step

    def until(self, byte: bytes, what: str, limit: int = 1 << 20) -> bytes:
        """Bytes up to (not including) the next `byte`, which is consumed."""
        self.fill(limit)
        start = self.pos - self.base
        end = self.buf.find(byte, start, min(len(self.buf), start + limit))
        if end < 0:
            found = "end of file" if self.end <= self.pos + limit else f"{limit} bytes"
            raise self.fail(f"expected {byte!r} ending {what}, found {found} first")
        out = bytes(self.buf[start:end])
        self.pos = self.base + end + 1
        return out
