"""vecgraft's native format: one safetensors file, memory-mapped on load.

Layout (a valid safetensors file, readable by `safetensors.safe_open`):

    u64 little-endian header length N
    N bytes of JSON header, space-padded to a multiple of 8:
        "__metadata__": {"vecgraft": "<JSON string, see below>"}
        "vectors": F32 [count, dim]       -- first, so it is 8-byte aligned for np.memmap
        "ngrams":  F32 [bucket, dim]      -- only for fastText-derived vectors, unless
                                             the subword entry links a `.bin` (below)
        "words":   U8  [n_bytes]          -- the words, UTF-8, joined by `word_separator`
    tensor data, contiguous, in that order

    "vecgraft" JSON: {"format_version": 1, "count", "dim", "word_separator", "words_crc32",
                      "subword": null | {"kind": "fasttext", "minn", "maxn", "bucket"},
                      "metadata": {Vectors.metadata}, "cache": {...} (cache files only)}

    A linked subword entry adds {"file": NAME, "offset", "file_size"}: the n-gram table is not
    stored here but memory-mapped from the fastText `.bin` NAME in the same folder, at byte
    `offset` (`vecgraft pretrain --method fasttext` writes it so, beside its model.bin: the
    table, 800 MB at 2M buckets x 100 dims, is then on disk once, not twice).

Loading parses the header by hand, memory-maps the matrix, and decodes the word list with one
`bytes.decode().split()`: a 400k x 300 file opens in milliseconds. `Vectors.index` stays lazy.

Example:
    >>> import numpy as np, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "v.safetensors"
    >>> write_native(Vectors(["a", "b"], np.eye(2, dtype=np.float32)), p)
    >>> read_native_file(p)[0].words
    ['a', 'b']
"""

from __future__ import annotations

import json
import math
import os
import shutil
import zlib
from collections.abc import Callable, Collection
from pathlib import Path
from typing import IO, Any

import numpy as np

from vecgraft._util.atomic import atomic_write
from vecgraft.errors import FormatError, VecgraftError
from vecgraft.io._limits import check_dim
from vecgraft.io.base import Format, LoadOptions, Source, output_compression
from vecgraft.io.subwords import FastTextSubwords
from vecgraft.vectors import Vectors

FORMAT_VERSION = 1
FOLDER_FILE = "vectors.safetensors"  # what `vecgraft pretrain --out DIR` and others write
_MAX_HEADER = 100 << 20
_SEPARATORS = ("\n", "\x00", "\x1e", "\x1f", "\x1d")
_DTYPES = {"F32": ("<f4", 4), "U8": ("u1", 1)}
# how to mend a tensor saved as another dtype (F16, BF16, F64 vectors)
_CONVERT = {
    "F32": "convert it to float32 (`tensor.float()`, `array.astype(np.float32)`) and save "
    "again, or load the matrix yourself and build vecgraft.Vectors(words, matrix)",
}


def _json_safe(value: Any) -> Any:
    """`value` with anything JSON cannot hold turned into a string (metadata is free-form)."""
    return json.loads(json.dumps(value, default=str))


# metadata that describes one load of a file, not the vectors (`io.cache`)
_LOAD_ONLY = ("cache", "cache_error")
# what a reader records of the file it read (its format, its words file, its rows' faults,
# the read's options): a saved file is another file, and claimed the source's words file.
# The cache keeps them (its file stands for that read); a save drops them. Other keys (a
# pretrain's tokenizer, fastText's training settings) describe the vectors and stay.
_SOURCE_READ = (
    "format", "words_file", "header_count", "rows", "dim", "duplicates",
    "duplicate_examples", "skipped_rows", "skipped_examples", "unicode_errors",
    "unicode_policy", "unicode_replacements", "nonfinite_rows", "vocab_filtered", "limit",
    "careful_chunks", "split_chunks", "stray_boms", "encoding", "gensim_class",
)  # fmt: skip


def write_native(
    vectors: Vectors,
    path: Path,
    *,
    extra: dict[str, Any] | None = None,
    link_ngrams: bool = False,
    drop: Collection[str] = (),
) -> None:
    """Write `vectors` (and a fastText subword model, if any) as one safetensors file.

    With `link_ngrams`, an n-gram table read from a fastText `.bin` in the same folder as
    `path` is referred to, not copied (the file then needs that `.bin` beside it). The
    metadata keys in `drop` are left out.
    """
    sep = next((s for s in _SEPARATORS if not any(s in w for w in vectors.words)), None)
    if sep is None:
        raise VecgraftError("cannot write native vectors: words contain every separator character")
    blob = sep.join(vectors.words).encode("utf-8", "surrogatepass")
    subword = vectors.subword
    ngrams = subword.ngrams if isinstance(subword, FastTextSubwords) else None
    if subword is not None and ngrams is None:
        raise VecgraftError(
            f"cannot write a {type(subword).__name__} subword model natively (fastText only)"
        )
    link = _ngram_link(subword, Path(path)) if link_ngrams else None
    if link is not None:
        ngrams = None
    meta: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "count": len(vectors),
        "dim": vectors.dim,
        "word_separator": sep,
        "words_crc32": zlib.crc32(blob),
        "subword": link or _subword_meta(subword, len(vectors)),
        "metadata": _json_safe({k: v for k, v in vectors.metadata.items() if k not in drop}),
        **(extra or {}),
    }
    tensors: list[tuple[str, str, list[int], int]] = [
        ("vectors", "F32", [len(vectors), vectors.dim], len(vectors) * vectors.dim * 4)
    ]
    if ngrams is not None:
        tensors.append(("ngrams", "F32", list(ngrams.shape), ngrams.size * 4))
    tensors.append(("words", "U8", [len(blob)], len(blob)))
    header: dict[str, Any] = {"__metadata__": {"vecgraft": json.dumps(meta, ensure_ascii=False)}}
    offset = 0
    for name, dtype, shape, nbytes in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    head = json.dumps(header, ensure_ascii=False).encode("utf-8")
    head += b" " * (-len(head) % 8)

    def emit(fh: IO[bytes]) -> None:
        fh.write(len(head).to_bytes(8, "little"))
        fh.write(head)
        _write_matrix(fh, vectors.matrix)
        if ngrams is not None:
            _write_matrix(fh, ngrams)
        fh.write(blob)

    atomic_write(Path(path), emit)


def rewrite_native_metadata(
    path: Path, change: Callable[[dict[str, Any]], dict[str, Any]]
) -> int:
    """Replace native file `path`'s stored metadata with `change(metadata)`, atomically.

    Only the header is rewritten (padded to a multiple of 8 again, so the matrix stays
    aligned for np.memmap); the tensors are copied as they are, and the file keeps its
    permission bits. Why: the Chinese demo moved its files and rewrote their paths in
    metadata.json alone, so the file's own copy still named a deleted folder. A file
    shorter or longer than its header says is refused (`_size_damage`): its copy would
    sit under a header claiming bytes it lacks. Returns the new `native_fingerprint`.

    The header is read and the data copied through one handle, opened in the temp file's
    writer so that it is closed before the rename (Windows refuses to replace an open file).
    """
    path = Path(path)
    fingerprint: list[int] = []

    def emit(fh: IO[bytes]) -> None:
        with open(path, "rb") as src:
            header, data_start, size = _header_of(src, path)
            damage = _size_damage(header, data_start, size)
            if damage is not None:
                raise FormatError(f"{damage}; its metadata is not rewritten", path=path)
            meta = _vecgraft_meta(header, path)
            meta["metadata"] = _json_safe(change(dict(meta.get("metadata") or {})))
            stored = json.dumps(meta, ensure_ascii=False)
            header["__metadata__"] = {**header["__metadata__"], "vecgraft": stored}
            head = json.dumps(header, ensure_ascii=False).encode("utf-8")
            head += b" " * (-len(head) % 8)
            fh.write(len(head).to_bytes(8, "little"))
            fh.write(head)
            src.seek(data_start)
            shutil.copyfileobj(src, fh, 1 << 20)
        fingerprint.append(_crc32_of(stored))

    atomic_write(path, emit, keep_mode=True)
    return fingerprint[0]


# the key of a pretrain folder's metadata.json that records the `native_fingerprint` of
# the vectors.safetensors written with it: that metadata.json describes the native file
# there while the two agree (a native file saved there since keeps its own metadata)
FINGERPRINT_KEY = "native_header_crc32"


def native_fingerprint(path: Path) -> int | None:
    """The CRC-32 of native file `path`'s stored `vecgraft` metadata; None: no native file.

    It covers the word count, dim, the words' checksum and the metadata, so it tells
    whether a metadata.json (`FINGERPRINT_KEY`) was written with this very file.
    """
    try:
        header, _, _ = _read_header(Path(path))
    except (OSError, FormatError):
        return None
    return header_fingerprint(header)


def header_fingerprint(header: dict[str, Any]) -> int | None:
    """`native_fingerprint` of a parsed header; None where it holds no vecgraft metadata."""
    stored = header.get("__metadata__")
    raw = stored.get("vecgraft") if isinstance(stored, dict) else None
    return _crc32_of(raw) if isinstance(raw, str) else None


def _crc32_of(stored: str) -> int:
    """The CRC-32 of a header's `vecgraft` string, as stored (UTF-8)."""
    return zlib.crc32(stored.encode("utf-8", "surrogatepass"))


def _ngram_link(subword: Any, path: Path) -> dict[str, Any] | None:
    """The subword entry that refers to `subword`'s table in a `.bin` beside `path`, or None."""
    origin = getattr(subword, "origin", None)
    if not isinstance(subword, FastTextSubwords) or origin is None:
        return None
    source = Path(origin[0])
    if os.path.realpath(source.parent) != os.path.realpath(path.parent):
        return None
    return {
        **subword.config(),
        "file": source.name,
        "offset": int(origin[1]),
        "file_size": source.stat().st_size,
    }


def _write_matrix(fh: IO[bytes], matrix: np.ndarray, block: int = 65536) -> None:
    """Stream a (possibly memory-mapped) matrix as little-endian float32, in row blocks."""
    for start in range(0, matrix.shape[0], block):
        fh.write(np.ascontiguousarray(matrix[start : start + block], dtype="<f4").tobytes())


def write(vectors: Vectors, path: Path, *, progress: bool | None = False) -> None:
    """`Format.write` for native: a folder path gets `vectors.safetensors` inside it.

    `progress` is not shown: the file is written as one buffer (no rows to count).

    The source's cache entry is not this file's: `info` on a converted file named the
    cache of the file it was converted from. Nor are the source's read facts
    (`_SOURCE_READ`): a saved copy of a .npy folder claimed its words file.
    """
    path = Path(path)
    if output_compression(path) is not None:  # it wrote uncompressed bytes under the name
        raise FormatError(
            f"native files cannot be compressed (they are memory-mapped); drop the "
            f"{path.suffix} suffix",
            path=path,
        )
    target = path / FOLDER_FILE if path.is_dir() else path
    write_native(vectors, target, drop=(*_LOAD_ONLY, *_SOURCE_READ))


def _target(source: Source) -> Path:
    return source.path / FOLDER_FILE if source.path.is_dir() else source.path


def _parse_header(raw: bytes, size: int, path: Path) -> tuple[dict[str, Any], int]:
    """The JSON header and where tensor data starts; checks the file is whole."""
    if size < 8:
        raise FormatError(
            f"truncated native file: {size} bytes, shorter than the 8-byte header length", path=path
        )
    n = int.from_bytes(raw[:8], "little")
    if n < 2 or n > _MAX_HEADER or 8 + n > size:
        raise FormatError(
            f"header length {n} does not fit a file of {size} bytes", path=path, offset=0
        )
    if len(raw) < 8 + n:
        raise FormatError("truncated native header", path=path, offset=8)
    try:
        header = json.loads(raw[8 : 8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"header is not JSON: {exc}", path=path, offset=8) from exc
    if not isinstance(header, dict):
        raise FormatError("header is not a JSON object", path=path, offset=8)
    return header, 8 + n


def _tensor(
    header: dict[str, Any], name: str, dtype: str, ndim: int, path: Path
) -> tuple[tuple[int, ...], int, int]:
    """(shape, start, end) of a tensor entry, validated."""
    entry = header.get(name)
    found = entry.get("dtype") if isinstance(entry, dict) else None
    if isinstance(found, str) and found != dtype:  # "no valid F32 tensor" said not what it was
        raise FormatError(
            f"tensor {name!r} is {found[:16]}, but a vecgraft native file holds it as "
            f"{dtype}: {_CONVERT.get(dtype, 'write it as ' + dtype)}",
            path=path,
        )
    try:
        if not isinstance(entry, dict) or entry["dtype"] != dtype:
            raise TypeError
        shape = tuple(int(x) for x in entry["shape"])
        start, end = (int(x) for x in entry["data_offsets"])
    except (TypeError, KeyError, ValueError) as exc:
        raise FormatError(f"no valid {dtype} tensor {name!r} in the header", path=path) from exc
    count = math.prod(shape)  # Python integers: [4, 2**62] cannot wrap around to 0
    if (
        len(shape) != ndim
        or min(shape, default=0) < 0
        or end - start != count * _DTYPES[dtype][1]
        or start < 0
    ):
        raise FormatError(
            f"tensor {name!r} has shape {list(shape)} but {end - start} bytes", path=path
        )
    return shape, start, end


def read_native_meta(path: Path) -> dict[str, Any]:
    """The stored `vecgraft` metadata of a native file, from its header alone.

    Why: listing a cache of multi-GB entries must not read their word lists.
    """
    header, _, _ = _read_header(Path(path))
    return _vecgraft_meta(header, path)


def _read_header(path: Path) -> tuple[dict[str, Any], int, int]:
    """The parsed safetensors header of `path`, where its data starts, and the file's size.

    Reads the header's bytes only (a few KB of a multi-GB entry).
    """
    with open(path, "rb") as fh:
        return _header_of(fh, path)


def _header_of(fh: IO[bytes], path: Path) -> tuple[dict[str, Any], int, int]:
    """`_read_header` of the open file `fh` (of `path`, for the errors)."""
    size = fh.seek(0, 2)
    fh.seek(0)
    raw = fh.read(8)
    if len(raw) == 8:
        raw += fh.read(min(int.from_bytes(raw, "little"), _MAX_HEADER))
    header, data_start = _parse_header(raw, size, path)
    return header, data_start, size


def native_damage(path: Path) -> str | None:
    """Why native file `path` is damaged, judged from its header and size alone; else None.

    A truncated (or overlong) file is seen without reading its data: `vecgraft cache list`
    marks such an entry, which a load would only find by parsing it.
    """
    try:
        header, data_start, size = _read_header(Path(path))
    except FormatError as exc:
        return exc.message
    return _size_damage(header, data_start, size)


def read_native_meta_and_damage(path: Path) -> tuple[dict[str, Any], str | None]:
    """`read_native_meta` and `native_damage` of `path` from one read of its header.

    Why: `vecgraft cache list` read each entry's header twice, once for each. Raises as
    `read_native_meta` does; a header that parses leaves only the size to judge.
    """
    header, data_start, size = _read_header(Path(path))
    return _vecgraft_meta(header, path), _size_damage(header, data_start, size)


def _size_damage(header: dict[str, Any], data_start: int, size: int) -> str | None:
    """Whether a file of `size` bytes is shorter or longer than its parsed `header` says."""
    ends = [
        entry["data_offsets"][1]
        for name, entry in header.items()
        if name != "__metadata__"
        and isinstance(entry, dict)
        and isinstance(entry.get("data_offsets"), list)
        and len(entry["data_offsets"]) == 2
        and isinstance(entry["data_offsets"][1], int)
    ]
    expected = data_start + max(ends, default=0)
    if size == expected:
        return None
    what = "truncated" if size < expected else "oversized"
    return f"{what}: the header describes {expected} bytes, found {size}"


def read_native_file(path: Path, *, verify: bool = True) -> tuple[Vectors, dict[str, Any]]:
    """Memory-map a native file; returns the vectors and the stored `vecgraft` metadata.

    Raises FormatError if the file is truncated, its header is inconsistent, or (with
    `verify`) the word list's checksum does not match.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(0)
        raw = fh.read(min(size, 1 << 16))
        if size >= 8:
            need = 8 + int.from_bytes(raw[:8], "little")
            if len(raw) < need <= min(size, 8 + _MAX_HEADER):
                raw += fh.read(need - len(raw))
        header, data_start = _parse_header(raw, size, path)
        meta = _vecgraft_meta(header, path)
        vshape, vstart, vend = _tensor(header, "vectors", "F32", 2, path)
        _, wstart, wend = _tensor(header, "words", "U8", 1, path)
        ends = [vend, wend]
        ngram_entry = None
        linked = isinstance(meta.get("subword"), dict) and "file" in meta["subword"]
        if meta.get("subword") and not linked:
            ngram_entry = _tensor(header, "ngrams", "F32", 2, path)
            ends.append(ngram_entry[2])
        expected = data_start + max(ends)
        if size != expected:
            raise FormatError(
                f"{'truncated' if size < expected else 'oversized'} native file: the header "
                f"describes {expected} bytes, found {size}",
                path=path,
            )
        fh.seek(data_start + wstart)
        blob = fh.read(wend - wstart)
    count, dim = vshape
    check_dim(dim, path, f"tensor 'vectors' of shape {list(vshape)}:")
    sep = meta.get("word_separator", "\n")
    if not isinstance(sep, str) or not sep:
        raise FormatError(f"bad word separator {sep!r} in the metadata", path=path)
    checked = "words_crc32" in meta and zlib.crc32(blob) == meta["words_crc32"]
    if verify and "words_crc32" in meta and not checked:
        raise FormatError("word list checksum mismatch (file corrupt)", path=path)
    if count and blob.count(sep.encode("utf-8")) != count - 1:
        raise FormatError(f"word list does not hold {count} words", path=path)
    matrix = _memmap(path, data_start + vstart, vshape)
    subword = None
    if ngram_entry is not None:
        minn, maxn = _subword_params(meta["subword"], path)
        if ngram_entry[0][1] != dim:
            raise FormatError(
                f"n-gram matrix is {list(ngram_entry[0])}, expected dim {dim}", path=path
            )
        ngrams = _memmap(path, data_start + ngram_entry[1], ngram_entry[0])
        # the table's words stand for the model's, unless the file holds only part of them
        # (`_part_of_model`; the load cache points such an entry at its `.bin`); as bytes
        part = isinstance(meta["subword"], dict) and meta["subword"].get("trained") == "unknown"
        words_of = None if part else _word_bytes(blob, sep)
        subword = FastTextSubwords(ngrams, minn=minn, maxn=maxn, trained_words=words_of,
                                   dictionary_size=None if part else count,
                                   part_of_model=part)  # fmt: skip
    if linked:
        subword = _linked_subwords(meta["subword"], path, dim)
    if meta.get("dim", dim) != dim:
        raise FormatError(f"metadata says dimension {meta['dim']}, matrix has {dim}", path=path)
    stored = meta.get("metadata") if isinstance(meta.get("metadata"), dict) else {}
    vectors = MappedVectors(blob, sep, count, matrix, subword=subword, source=path, metadata=stored)
    if not checked:
        vectors.words  # noqa: B018  -- unverified blob: decode now so errors surface at load
    return vectors, meta


def _subword_meta(subword: Any, rows: int) -> dict[str, Any] | None:
    """A fastText model's `config()`, marked `"trained": "unknown"` for part of a model.

    Why: a file of a `limit=`/`vocab=` load holds a few of the model's words; the reader
    took them for all it was trained on and called n-grams of the others untrained (lee's
    fastText, `--limit 50`: 3 of 4 trained words "noise"). Marked, alignment counts none.
    """
    if not isinstance(subword, FastTextSubwords):
        return None
    size = subword.dictionary_size
    part = subword.part_of_model or (size is not None and size > rows)
    return {**subword.config(), **({"trained": "unknown"} if part else {})}


def _word_bytes(blob: bytes, sep: str) -> Callable[[], list[bytes]]:
    """The words of a native file's blob as UTF-8 bytes, split on first call."""
    return lambda: blob.split(sep.encode("utf-8")) if blob else []


def _linked_subwords(link: dict[str, Any], path: Path, dim: int) -> FastTextSubwords:
    """The n-gram table a native file links in the fastText `.bin` beside it."""
    from vecgraft.io.fasttext_bin import map_ngrams

    name = link.get("file")
    if not isinstance(name, str) or not name or Path(name).name != name:
        raise FormatError(f"bad n-gram file name {name!r} in the metadata", path=path)
    target = path.parent / name
    if not target.is_file():
        raise FormatError(
            f"the n-gram table (vectors for unseen words) is in {name}, which is not beside "
            f"this file; keep {name} with it (vectors.bin and vectors.txt hold the word "
            "vectors alone)",
            path=path,
        )
    return map_ngrams(target, link, dim)


def _subword_params(cfg: Any, path: Path) -> tuple[int, int]:
    """(minn, maxn) of a stored fastText subword model, validated."""
    try:
        minn, maxn = int(cfg["minn"]), int(cfg["maxn"])
    except (TypeError, KeyError, ValueError) as exc:
        raise FormatError(f"bad subword settings {cfg!r} in the metadata", path=path) from exc
    if not 0 <= minn <= 1000 or not 0 <= maxn <= 1000:
        raise FormatError(f"bad subword settings minn={minn} maxn={maxn}", path=path)
    return minn, maxn


def _vecgraft_meta(header: dict[str, Any], path: Path) -> dict[str, Any]:
    raw = (
        (header.get("__metadata__") or {}).get("vecgraft")
        if isinstance(header.get("__metadata__"), dict)
        else None
    )
    if raw is None:
        raise FormatError(
            "safetensors file without vecgraft metadata (not a vecgraft vectors file)", path=path
        )
    try:
        meta = json.loads(raw)
    except (TypeError, json.JSONDecodeError) as exc:
        raise FormatError(f"vecgraft metadata is not JSON: {exc}", path=path) from exc
    if not isinstance(meta, dict):
        raise FormatError("vecgraft metadata is not a JSON object", path=path)
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise FormatError(
            f"native format version {version!r}, this vecgraft reads {FORMAT_VERSION}", path=path
        )
    return meta


class MappedVectors(Vectors):
    """Vectors from a native file: memory-mapped matrix, word list decoded on first use.

    Materialising 400k Python strings costs more than the rest of a native load together, and
    a load that only feeds `matrix` to a model never needs them; the blob's checksum and word
    count are verified at load, so decoding later cannot fail on a file we wrote.
    """

    def __init__(
        self,
        blob: bytes,
        sep: str,
        count: int,
        matrix: np.ndarray,
        *,
        subword: Any = None,
        source: str | os.PathLike[str] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._blob: bytes | None = blob
        self._sep = sep
        self._count = count
        self._words: list[str] | None = None
        # `_build` assigns `self.words`; the setter below ignores that placeholder. Not
        # checked for repeats: checking would decode the word list this class defers, and
        # the words were unique when saved (`save` refuses repeats; the load verifies the
        # word blob's checksum)
        self._build([""] * count, matrix, subword, source, metadata, check_unique=False)

    @property
    def words(self) -> list[str]:
        """The words in row order (decoded from the file on first access)."""
        if self._words is None:
            self._words = _split_words(self._blob or b"", self._count, self._sep, self.source)
            self._blob = None
        return self._words

    @words.setter
    def words(self, value: list[str]) -> None:
        if self._blob is None:
            self._words = list(value)

    def __len__(self) -> int:
        return self._count if self._words is None else len(self._words)


def _split_words(
    blob: bytes, count: int, sep: str, path: str | os.PathLike[str] | None
) -> list[str]:
    if count == 0:
        return []
    try:
        words = blob.decode("utf-8", "surrogatepass").split(sep)
    except UnicodeDecodeError as exc:
        raise FormatError(f"word list is not UTF-8: {exc}", path=path) from exc
    if len(words) != count:
        raise FormatError(f"word list has {len(words)} words, matrix has {count} rows", path=path)
    return words


def _memmap(path: Path, offset: int, shape: tuple[int, ...]) -> np.ndarray:
    if 0 in shape:
        return np.zeros(shape, dtype=np.float32)
    return np.memmap(path, dtype="<f4", mode="r", offset=offset, shape=shape)


def safetensors_head(head: bytes) -> bool:
    """Whether `head` (a file's first bytes) starts as safetensors: an 8-byte length, then '{'.

    The one test of the format's start: `sniff` here, and the text reader, which names a
    safetensors file given to it as text.
    """
    return len(head) >= 10 and head[8:9] == b"{"


def sniff(source: Source, head: bytes) -> str | None:
    """None if the content is a vecgraft safetensors file (or a folder holding one)."""
    if source.path.is_dir():
        return None if (source.path / FOLDER_FILE).is_file() else f"folder has no {FOLDER_FILE}"
    if source.compression is not None:
        return "compressed (native files are memory-mapped, so never compressed)"
    if not safetensors_head(head):
        return "no safetensors header (8-byte length then '{')"
    if b'"vecgraft"' not in head[: 8 + int.from_bytes(head[:8], "little")][:65536]:
        return "safetensors file without vecgraft metadata"
    return None


def read(source: Source, options: LoadOptions) -> Vectors:
    """`Format.read` for native files: memory-map, then apply vocab/limit (which copy)."""
    if source.compression is not None:
        raise FormatError(
            "native files cannot be compressed (they are memory-mapped)", path=source.path
        )
    vectors, _ = read_native_file(_target(source))
    vectors.metadata = {**vectors.metadata, "format": "native"}
    return apply_options(vectors, options)


def apply_options(vectors: Vectors, options: LoadOptions) -> Vectors:
    """`limit` and `vocab` on already-loaded vectors (NaN/Inf checks are the writer's job)."""
    if options.limit is None and options.vocab is None:
        return vectors
    words = vectors.words[: options.limit] if options.limit is not None else vectors.words
    keep = np.flatnonzero(options.wanted_mask(words)).tolist()
    matrix = np.asarray(vectors.matrix)[keep] if keep else np.zeros((0, vectors.dim), np.float32)
    return Vectors(
        [vectors.words[i] for i in keep],
        matrix,
        subword=vectors.subword,
        source=vectors.source,
        metadata=vectors.metadata,
    )


NATIVE = Format(
    "native",
    sniff=sniff,
    read=read,
    write=write,
    extensions=(".safetensors",),
    cacheable=False,
)
