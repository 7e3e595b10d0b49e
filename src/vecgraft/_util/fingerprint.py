"""What a data file looked like when a run read it: to refuse mixing runs over changed data.

Size and modification time, not a hash: reading a large corpus again to resume a run or to
reuse a finished comparison cell would cost what the cache saves. A folder (one per class)
counts its files, their total size and the newest time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["changed_inputs", "file_fingerprint", "input_fingerprints"]


def file_fingerprint(path: str | os.PathLike[str]) -> dict[str, int] | None:
    """{size, mtime_ns} of a file, {files, size, mtime_ns} of a folder; None if unreadable."""
    p = Path(path).expanduser()
    try:
        if not p.is_dir():
            st = p.stat()
            return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
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
    """One description per role in both whose file changed (size, time or path); [] if none."""
    out = []
    for role in sorted(set(saved) & set(now)):
        before, after = saved[role], now[role]
        if before != after:
            keys = [k for k in ("path", "size", "files") if before.get(k) != after.get(k)]
            what = ", ".join(f"{k} {before.get(k)} -> {after.get(k)}" for k in keys)
            out.append(f"{role} {after.get('path')} ({what or 'modified since'})")
    return out
