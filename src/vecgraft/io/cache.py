"""The load cache: a native (safetensors) copy of each text or binary file loaded.

The first load writes it, later loads memory-map it.

Key: SHA-256 of {cache version, format, real source path (symlinks resolved: each name of a
file shares its entry), size, mtime_ns, ctime_ns, inode, and every load option that changes
the result (vocab as a SHA-256 of its sorted words, limit, unicode_errors, bad_rows,
allow_nonfinite, keep_casefold, keep_normalized, and a fastText `.bin`'s encoding unless it
is UTF-8)}.
A `vocab=` or `limit=` load of a text or binary (word2vec, fastText) file whose whole read is
cached (same file state and row options) takes its rows from that entry, as the parse would
keep them, and writes no entry of its own (`_from_full_entry`; a fastText subset shares the
whole entry's n-gram table). A `vocab=` load keeps the indices of its rows (`io.cache_rows`,
8 bytes a row) so that a repeat skips selecting them again. A changed source gets a new key
(the old entry, and the rows kept of it, are removed when the new one is written). The key is
stored inside the cache file too, and a file whose key, size, header, word-list
checksum or matrix checksum does not match is rebuilt.

The matrix checksum is a CRC32 per block of rows (about 1 MiB each), so flipped bytes in a
cached matrix are not served: every block is checked when the matrix is up to
`FULL_CHECK_BYTES`, beyond that the first, the last and `SAMPLED_BLOCKS` random blocks on each
load (a memory-mapped 5 GB matrix is not read whole to open it; repeated loads cover it).

A cache that cannot be written (read-only folder, full disk) does not fail the load: it warns
once per folder and `metadata["cache"]` is None with the reason in `metadata["cache_error"]`.
Temp files of writers that were killed are removed by the next write into the folder.

Location: `cache_dir`, else `$XDG_CACHE_HOME/vecgraft`, else `~/.cache/vecgraft`.
Each hit sets the entry's mtime (its last use), which `vecgraft cache list` shows and `prune`
(`io.cache_admin`) removes the least recently used by. With `$VECGRAFT_CACHE_MAX_SIZE` set
("5G", "500M", bytes), each new entry is followed by such a prune, the new entry kept.
`MIN_SOURCE_BYTES` (default 0: every text/binary load is cached) can exempt small files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import re
import warnings
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from vecgraft._util.atomic import TEMP_RE, links_replaced, remove_stale_temps
from vecgraft._util.options import parse_size
from vecgraft._util.stack import caller_stacklevel
from vecgraft.errors import FormatError, VecgraftError
from vecgraft.io.base import Format, LoadOptions, Source, first_key_index
from vecgraft.io.cache_admin import (
    CACHE_VERSION,
    MAX_SIZE_ENV,
    cache_folder,
    human_size,
    path_tag,
    prune_entries,
    stored_source,
    warn_if_shared,
)
from vecgraft.io.cache_rows import READ_ERRORS, read_rows, read_rows_info, rows_path, write_rows
from vecgraft.io.cache_rows import SUFFIX as ROWS_SUFFIX
from vecgraft.io.fasttext_bin import trained_hash_reader
from vecgraft.io.native import read_native_file, write_native
from vecgraft.io.subwords import FastTextSubwords
from vecgraft.vectors import Vectors

MIN_SOURCE_BYTES = 0
BLOCK_BYTES = 1 << 20
FULL_CHECK_BYTES = 32 << 20
SAMPLED_BLOCKS = 16
# its own generator: the global `random` is the caller's (a load drew from it, so a user's
# `random.seed(0)` gave other numbers after a cached load); seeded by the OS, as sampled
# blocks differ from load to load on purpose
_BLOCK_SAMPLER = random.Random()
_warned: set[str] = set()
# formats whose bounded loads are the whole load's rows filtered (`subset_rows`)
_TEXT_FORMATS = frozenset({"glove", "word2vec"})
_SUBSET_FORMATS = _TEXT_FORMATS | {"word2vec-bin", "fasttext-bin"}
# text-load facts that must be 0 in a whole entry for its rows to be the file's lines
_CLEAN_FACTS = ("skipped_rows", "unicode_errors", "careful_chunks", "split_chunks")
# binary-load facts (`_rows.RowStats`, absent when 0) that must be absent for the same
_BINARY_FACTS = ("skipped_rows", "unicode_replacements", "nonfinite_rows")


def matrix_checksum(matrix: np.ndarray) -> dict[str, Any]:
    """CRC32 of each block of rows of a float32 matrix, with the block size and the shape."""
    rows, dim = matrix.shape
    block = max(1, BLOCK_BYTES // max(4 * dim, 1))
    crcs = [
        zlib.crc32(np.ascontiguousarray(matrix[start : start + block], dtype="<f4").data)
        for start in range(0, rows, block)
    ]
    return {"block_rows": block, "shape": [rows, dim], "crc32": crcs}


def matrix_intact(matrix: np.ndarray, stored: Any) -> bool:
    """Whether `matrix` matches `stored` (all blocks when small, a random sample when large)."""
    try:
        block = int(stored["block_rows"])
        crcs = [int(c) for c in stored["crc32"]]
        shape = [int(x) for x in stored["shape"]]
    except (TypeError, KeyError, ValueError):
        return False
    rows, dim = matrix.shape
    if shape != [rows, dim] or block < 1 or len(crcs) != -(-rows // block):
        return False
    picks = list(range(len(crcs)))
    if rows * dim * 4 > FULL_CHECK_BYTES and len(picks) > SAMPLED_BLOCKS + 2:
        middle = _BLOCK_SAMPLER.sample(picks[1:-1], SAMPLED_BLOCKS)
        picks = [0, *middle, picks[-1]]
    for i in picks:
        part = np.ascontiguousarray(matrix[i * block : (i + 1) * block], dtype="<f4")
        if zlib.crc32(part.data) != crcs[i]:
            return False
    return True


def _vocab_digest(vocab: frozenset[str] | None) -> str | None:
    if vocab is None:
        return None
    h = hashlib.sha256()
    for w in sorted(vocab):
        h.update(w.encode("utf-8", "surrogatepass") + b"\0")
    return h.hexdigest()


def _digest(fields: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def options_key(source: Source, fmt: Format, options: LoadOptions) -> str:
    """Hex SHA-256 of what a load asks for, without the source file's state."""
    fields: dict[str, Any] = {
        "cache_version": CACHE_VERSION,
        "format": fmt.name,
        "path": str(source.path.resolve()),
        "vocab": _vocab_digest(options.vocab),
        "keep_casefold": options.keep_casefold if options.vocab is not None else None,
        "keep_normalized": options.keep_normalized if options.vocab is not None else None,
        "limit": options.limit,
        "unicode_errors": options.unicode_errors,
        "bad_rows": options.bad_rows,
        "allow_nonfinite": options.allow_nonfinite,
    }
    if options.encoding != "utf-8":  # only then, so the keys of UTF-8 loads stay as they were
        fields["encoding"] = options.encoding
    return _digest(fields)


def cache_key(source: Source, fmt: Format, options: LoadOptions) -> str:
    """Hex SHA-256 of (the options key, the source's size, mtime_ns, ctime_ns and inode).

    The change time and inode catch a rewrite that keeps size and mtime (`cp -p`, `rsync
    -a`, `tar x` or `os.utime` restore an mtime; a retrained word2vec-bin file with the same
    words has the same size), which no program can set back; a chmod or rename costs one
    reparse.
    """
    st = source.path.stat()
    return _digest(
        {
            "options": options_key(source, fmt, options),
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "ctime_ns": st.st_ctime_ns,
            "inode": st.st_ino,
        }
    )


def _entry_prefix(source: Source) -> str:
    """`<name>-<path hash>-`, which every entry of `source` is named with, whatever the options.

    The name is the real file's, so each symlink shares its entry. Why: the key and path
    hash already followed symlinks, but a name taken from the link (`link.txt`) made a
    second entry of the same file, parsed again. The path is resolved once for both parts.
    """
    real = source.path.resolve()
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", replace(source, path=real).name)[:80] or "vectors"
    return f"{stem}-{path_tag(real)}-"


def cache_path(source: Source, key: str, directory: Path) -> Path:
    """`<dir>/<name>-<path hash>-<key prefix>.safetensors`."""
    return directory / f"{_entry_prefix(source)}{key[:24]}.safetensors"


def load_cached(
    source: Source, fmt: Format, options: LoadOptions, cache_dir: str | os.PathLike[str] | None
) -> Vectors:
    """Read `source` through the cache (memory-map a valid entry, else parse and write one)."""
    if not fmt.cacheable or source.path.is_dir() or source.path.stat().st_size < MIN_SOURCE_BYTES:
        return fmt.load(source, options)
    directory = cache_folder(cache_dir)
    # entry names are predictable: a link planted at one (a shared folder) is replaced
    with links_replaced(directory, alone=True):
        return _load_through(source, fmt, options, directory)


def _load_through(source: Source, fmt: Format, options: LoadOptions, directory: Path) -> Vectors:
    """`load_cached` once the cache folder is known: a valid entry, else parse and write one."""
    key = cache_key(source, fmt, options)
    target = cache_path(source, key, directory)
    hit = _try_read(target, key)
    if hit is None:
        hit = _from_full_entry(source, fmt, options, directory, key)
    if hit is not None:
        hit.source = os.fspath(source.path)
        _trained_from_source(hit, source, fmt, options)
        return hit
    vectors = fmt.load(source, options)
    try:
        opts = options_key(source, fmt, options)
        # absolute, so `vecgraft cache list` says which file whatever folder it runs in
        source_text = stored_source(source.path.resolve())
        entry: dict[str, Any] = {"key": key, "options": opts, "source": source_text}
        entry["version"] = CACHE_VERSION  # `cache list` marks older ones stale
        # what bounded the load, for `vecgraft cache list` (the key holds it only hashed)
        entry["vocab_words"] = None if options.vocab is None else len(options.vocab)
        entry["limit"] = options.limit
        entry["matrix"] = matrix_checksum(np.asarray(vectors.matrix))
        ngrams = getattr(vectors.subword, "ngrams", None)
        if ngrams is not None:
            entry["ngrams"] = matrix_checksum(np.asarray(ngrams))
        _sweep_temps(directory)
        warn_if_shared(directory)
        write_native(vectors, target, extra={"cache": entry})
        _remove_stale(source, target, opts)
        _cap_size(directory, target)
    except (OSError, VecgraftError) as exc:
        # a read-only or full cache folder must not fail the load itself, but must be said
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        if str(directory) not in _warned:
            _warned.add(str(directory))
            warnings.warn(
                f"could not write the vecgraft load cache in {directory} ({reason}); loads "
                "will parse the file each time (pass cache_dir= / --cache-dir, or cache=False "
                "/ --no-cache)",
                stacklevel=caller_stacklevel(),
            )
        vectors.metadata["cache"] = None
        vectors.metadata["cache_error"] = reason
        return vectors
    vectors.metadata["cache"] = str(target)
    return vectors


def _trained_from_source(
    vectors: Vectors, source: Source, fmt: Format, options: LoadOptions
) -> None:
    """Point a cached fastText subset's subword model at the `.bin`'s whole dictionary.

    Why: an entry of a `vocab=` or `limit=` load holds only the kept words, and alignment
    asks which n-grams the model's words (all of them) have: the kept ones alone would call
    n-grams untrained that other words of the model trained. The dictionary is read only
    if asked (`trained_hash_reader`, which keeps the set per process); the entry's key
    holds the file's state, so it is the file the entry was made from.
    """
    subword = vectors.subword  # a whole entry too: its hash set is then kept per process
    if fmt.name == "fasttext-bin" and isinstance(subword, FastTextSubwords):
        subword.trained_words = trained_hash_reader(
            source.path, subword.minn, subword.maxn, options.encoding
        )
        subword.part_of_model = False  # an entry of a bounded parse was written as a part


def _from_full_entry(
    source: Source, fmt: Format, options: LoadOptions, directory: Path, key: str
) -> Vectors | None:
    """A `vocab=`/`limit=` load (of cache key `key`) served from the whole file's entry, else None.

    Why: such a load re-parsed the file even with the whole read cached (2.9 s for GloVe
    300d against 0.4 s from the entry) and wrote one more permanent entry per vocabulary.
    The whole entry's key holds the same file state and row options, so a stale one is
    never found. A `vocab=` load's selection is kept (`io.cache_rows`) for its repeats.
    """
    if fmt.name not in _SUBSET_FORMATS or (options.vocab is None and options.limit is None):
        return None
    whole = replace(options, vocab=None, limit=None)
    whole_key = cache_key(source, fmt, whole)
    target = cache_path(source, whole_key, directory)
    full = _try_read(target, whole_key)
    if full is None:
        return None
    text = fmt.name in _TEXT_FORMATS
    own = cache_path(source, key, directory)
    keys = {"key": key, "whole": whole_key}
    kept = read_rows(rows_path(own), key, whole_key, len(full)) if options.vocab else None
    if kept is None:
        kept = subset_rows(full, options, text=text)
        if kept is not None and options.vocab is not None:
            _keep_rows(rows_path(own), kept, {**keys, **_rows_info(source, fmt, options)})
            if not target.exists():  # pruned or cleared meanwhile: rows of nothing
                _unlink(rows_path(own))
    if kept is None:
        return None
    vectors = subset_from_rows(full, options, kept, text=text)
    vectors.metadata["cache"] = str(target)
    return vectors


def _rows_info(source: Source, fmt: Format, options: LoadOptions) -> dict[str, Any]:
    """What a rows file says of its load, for `vecgraft cache list` and stale removal."""
    return {
        "options": options_key(source, fmt, options),
        "whole_options": options_key(source, fmt, replace(options, vocab=None, limit=None)),
        "source": stored_source(source.path.resolve()),
        "format": fmt.name,
        "vocab_words": len(options.vocab or ()),
        "limit": options.limit,
        "version": CACHE_VERSION,
    }


def _keep_rows(path: Path, rows: np.ndarray, info: dict[str, Any]) -> None:
    """Write a rows file, dropping those of the same load under an older file state."""
    try:
        write_rows(path, rows, info)
    except OSError:  # a read-only or full cache: the selection is made again next time
        return
    prefix = path.name.rsplit("-", 1)[0]
    for other in path.parent.glob(f"{prefix}-*{ROWS_SUFFIX}"):
        if other != path and _rows_options(other) == info["options"]:
            _unlink(other)


def _rows_options(path: Path) -> str | None:
    """The options key a rows file was written for; None where unreadable."""
    try:
        return read_rows_info(path).get("options")
    except READ_ERRORS:
        return None


def subset_rows(full: Vectors, options: LoadOptions, *, text: bool = True) -> np.ndarray | None:
    """The rows of `full` (int64, ascending) a load under `options` keeps, else None.

    `full` is the same file read whole, by a text reader (`text`) or a binary one. None
    where its facts cannot say what the parse would give: rows skipped, read carefully
    (the bounded read sees other lines) or not finite, undecodable words, duplicates a
    `limit=` counts in file rows, or more duplicates than the examples recorded. A binary
    load's rows do not depend on each other (a fastText row is its own row and n-grams'
    mean), so the whole entry's rows are the bounded parse's.
    """
    meta = full.metadata
    dups = meta.get("duplicates") if text else meta.get("duplicates", 0)
    examples = meta.get("duplicate_examples") or []
    facts = _CLEAN_FACTS if text else _BINARY_FACTS
    if any(meta.get(fact, None if text else 0) != 0 for fact in facts):
        return None
    if not isinstance(dups, int) or dups > len(examples) or (dups and options.limit is not None):
        return None
    if options.vocab is None:  # limit= alone: the first rows
        return np.arange(min(len(full), options.limit or 0), dtype=np.int64)
    words = full.words
    head = words if options.limit is None else words[: options.limit]
    keep = np.flatnonzero(options.wanted_mask(head))
    first = first_key_index([head[i] for i in keep.tolist()], options)
    return keep[first].astype(np.int64)


def subset_from_rows(
    full: Vectors, options: LoadOptions, rows: np.ndarray, *, text: bool = True
) -> Vectors:
    """The vectors, matrix (a copy) and facts a load under `options` gives: `rows` of `full`."""
    meta = full.metadata
    examples = list(meta.get("duplicate_examples") or [])
    dropped = [w for w in examples if options.wants(w)]
    metadata = {
        k: v for k, v in meta.items() if k not in ("cache", "duplicates", "duplicate_examples")
    }
    if text:
        metadata.update(rows=len(rows), vocab_filtered=options.vocab is not None)
        metadata.update(limit=options.limit, duplicates=len(dropped))
    elif dropped:  # `RowStats.to_metadata` records non-zero facts only
        metadata["duplicates"] = len(dropped)
    if dropped:
        metadata["duplicate_examples"] = dropped
    matrix = np.asarray(full.matrix)[rows]  # fancy indexing copies: the map can close
    words = full.words
    kept = [words[i] for i in rows.tolist()]
    return Vectors(kept, matrix, subword=full.subword, metadata=metadata)


def _sweep_temps(directory: Path) -> None:
    """Remove temp files in the cache folder left by writers that were killed."""
    with contextlib.suppress(OSError):
        for tmp in directory.glob(".*.tmp"):
            m = TEMP_RE.match(tmp.name)  # any temp name an atomic write makes
            if m is not None:
                remove_stale_temps(directory / m["name"])


def _cap_size(directory: Path, keep: Path) -> None:
    """Prune least recently used entries past `$VECGRAFT_CACHE_MAX_SIZE`, if it is set."""
    limit = os.environ.get(MAX_SIZE_ENV)
    if not limit:
        return
    try:
        max_bytes = parse_size(limit)
    except ValueError as exc:
        if MAX_SIZE_ENV not in _warned:  # a bad setting must not fail every load
            _warned.add(MAX_SIZE_ENV)
            warnings.warn(f"${MAX_SIZE_ENV} ignored: {exc}", stacklevel=caller_stacklevel())
        return
    removed = prune_entries(directory, max_bytes, keep=keep)
    if removed:  # said, so that an entry a later load misses is not a mystery
        size = human_size(sum(e.size for e in removed))
        names = ", ".join(e.path.name for e in removed[:3])
        more = f" and {len(removed) - 3} more" if len(removed) > 3 else ""
        n = len(removed)
        warnings.warn(
            f"${MAX_SIZE_ENV}={limit}: removed the {n} least recently used load cache "
            f"entr{'y' if n == 1 else 'ies'} ({size}) from {directory}: {names}{more}",
            stacklevel=caller_stacklevel(),
        )


def _try_read(target: Path, key: str) -> Vectors | None:
    """The cached vectors, or None when absent, for another key, truncated or corrupt."""
    if not target.is_file():
        return None
    try:
        vectors, meta = read_native_file(target)
    except (FormatError, OSError, ValueError):
        _unlink(target)
        return None
    entry = meta.get("cache") or {}
    ngrams = getattr(vectors.subword, "ngrams", None)
    if (
        entry.get("key") != key
        or not matrix_intact(np.asarray(vectors.matrix), entry.get("matrix"))
        or (ngrams is not None and not matrix_intact(np.asarray(ngrams), entry.get("ngrams")))
    ):
        _unlink(target)
        return None
    with contextlib.suppress(OSError):  # the last use, for prune (a read-only cache: none)
        os.utime(target)
    vectors.metadata["cache"] = str(target)
    return vectors


def _remove_stale(source: Source, keep: Path, opts: str) -> None:
    """Drop entries for the same path and options written under an older file state.

    The rows files kept of those older entries (`io.cache_rows`) go with them.
    """
    prefix = _entry_prefix(source)
    for other in keep.parent.glob(f"{prefix}*.safetensors"):
        if other == keep:
            continue
        try:
            _, meta = read_native_file(other, verify=False)
        except (FormatError, OSError, ValueError):
            _unlink(other)  # unreadable: it can only be a broken entry
            continue
        if (meta.get("cache") or {}).get("options") == opts:
            _unlink(other)
    for rows in keep.parent.glob(f"{prefix}*{ROWS_SUFFIX}"):  # selections of an older state
        try:
            stale = read_rows_info(rows).get("whole_options") == opts
        except READ_ERRORS:
            stale = True
        if stale:
            _unlink(rows)


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
