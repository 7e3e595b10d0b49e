"""What a data file looked like when a run read it: to refuse mixing runs over changed data.

Size, modification time and a hash of the first and last 64 KiB, not a hash of the whole:
reading a large corpus again to resume a run or to reuse a finished comparison cell would
cost what the cache saves, while the sampled bytes catch a file replaced by another of the
same size whose time was kept (`cp -p`, `rsync -a`, an unpacked archive). A folder (one per
class) counts its files, their total size and the newest time.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["changed_inputs", "file_fingerprint", "input_fingerprints"]


_SAMPLE = 64 * 1024


def _sample_hash(path: Path, size: int) -> str:
    """sha256 of the file's first and last `_SAMPLE` bytes (all of a small file)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        digest.update(fh.read(_SAMPLE))
        if size > 2 * _SAMPLE:
            fh.seek(size - _SAMPLE)
        digest.update(fh.read(_SAMPLE))
    return digest.hexdigest()[:32]


def file_fingerprint(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """{size, mtime_ns, sample} of a file; {files, size, mtime_ns} of a folder; None: unreadable."""
    p = Path(path).expanduser()
    try:
        if not p.is_dir():
            st = p.stat()
            return {"size": st.st_size, "mtime_ns": st.st_mtime_ns,
                    "sample": _sample_hash(p, st.st_size)}  # fmt: skip
        stats = [f.stat() for f in sorted(p.rglob("*")) if f.is_file()]
    except OSError:
        return None
    return {
        "files": len(stats),
        "size": sum(s.st_size for s in stats),
        "mtime_ns": max((s.st_mtime_ns for s in stats), default=0),
    }


def input_fingerprints(paths: Mapping[str, Any]) -> dict[str, Any]:
    """Role -> {path, fingerprint} for each role whose path is a string (a file or folder)."""
    return {
        role: {"path": str(path), **(file_fingerprint(path) or {})}
        for role, path in paths.items()
        if isinstance(path, (str, os.PathLike)) and str(path)
    }


def changed_inputs(saved: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """One description per role in both whose file changed (size, time, bytes or path).

    Only what both fingerprints hold is compared: runs saved before the sampled hash have none.
    """
    out = []
    for role in sorted(set(saved) & set(now)):
        before, after = saved[role], now[role]
        common = set(before) & set(after)
        if any(before[k] != after[k] for k in common) or before.get("path") != after.get("path"):
            keys = [k for k in ("path", "size", "files") if before.get(k) != after.get(k)]
            what = ", ".join(f"{k} {before.get(k)} -> {after.get(k)}" for k in keys)
            out.append(f"{role} {after.get('path')} ({what or 'modified since'})")
    return out
