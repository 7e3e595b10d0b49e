"""The load cache: a native (safetensors) copy of each text or binary file loaded.

The first load writes it, later loads memory-map it.

Key: SHA-256 of {cache version, format, absolute source path, size, mtime_ns, and every load
option that changes the result (vocab as a SHA-256 of its sorted words, limit, unicode_errors,
bad_rows, allow_nonfinite, keep_casefold)}. A changed source gets a new key (the old entry is
removed when the new one is written). The key is stored inside the cache file too, and a file
whose key, size, header or word-list checksum does not match is rebuilt.

Location: `cache_dir`, else `$XDG_CACHE_HOME/vecgraft`, else `~/.cache/vecgraft`.
`MIN_SOURCE_BYTES` (default 0: every text/binary load is cached) can exempt small files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from vecgraft.errors import FormatError
from vecgraft.io.base import Format, LoadOptions, Source
from vecgraft.io.native import read_native_file, write_native
from vecgraft.vectors import Vectors

CACHE_VERSION = 1
MIN_SOURCE_BYTES = 0


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/vecgraft`, or `~/.cache/vecgraft`."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vecgraft"


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
        "limit": options.limit,
        "unicode_errors": options.unicode_errors,
        "bad_rows": options.bad_rows,
        "allow_nonfinite": options.allow_nonfinite,
    }
    return _digest(fields)


def cache_key(source: Source, fmt: Format, options: LoadOptions) -> str:
    """Hex SHA-256 of (the options key, the source's size and mtime_ns)."""
    st = source.path.stat()
    return _digest(
        {
            "options": options_key(source, fmt, options),
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
        }
    )


def _stem(source: Source) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", source.name)[:80] or "vectors"


def _path_tag(source: Source) -> str:
    return hashlib.sha256(str(source.path.resolve()).encode("utf-8", "surrogatepass")).hexdigest()[
        :8
    ]


def cache_path(source: Source, key: str, directory: Path) -> Path:
    """`<dir>/<name>-<path hash>-<key prefix>.safetensors`."""
    return directory / f"{_stem(source)}-{_path_tag(source)}-{key[:24]}.safetensors"


def load_cached(
    source: Source, fmt: Format, options: LoadOptions, cache_dir: str | os.PathLike[str] | None
) -> Vectors:
    """Read `source` through the cache (memory-map a valid entry, else parse and write one)."""
    if not fmt.cacheable or source.path.is_dir() or source.path.stat().st_size < MIN_SOURCE_BYTES:
        return fmt.read(source, options)
    directory = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    key = cache_key(source, fmt, options)
    target = cache_path(source, key, directory)
    hit = _try_read(target, key)
    if hit is not None:
        hit.source = os.fspath(source.path)
        return hit
    vectors = fmt.read(source, options)
    try:
        opts = options_key(source, fmt, options)
        extra = {"cache": {"key": key, "options": opts, "source": str(source.path)}}
        write_native(vectors, target, extra=extra)
        _remove_stale(source, target, opts)
    except OSError:
        pass  # a read-only or full cache folder must not fail the load itself
    vectors.metadata["cache"] = str(target)
    return vectors


def _try_read(target: Path, key: str) -> Vectors | None:
    """The cached vectors, or None when absent, for another key, truncated or corrupt."""
    if not target.is_file():
        return None
    try:
        vectors, meta = read_native_file(target)
    except (FormatError, OSError, ValueError):
        _unlink(target)
        return None
    if (meta.get("cache") or {}).get("key") != key:
        _unlink(target)
        return None
    vectors.metadata["cache"] = str(target)
    return vectors


def _remove_stale(source: Source, keep: Path, opts: str) -> None:
    """Drop entries for the same path and options written under an older file state."""
    prefix = f"{_stem(source)}-{_path_tag(source)}-"
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


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
