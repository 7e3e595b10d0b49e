"""What a data file looked like when a run read it: to refuse mixing runs over changed data.

A file of up to `FULL_HASH_LIMIT` (256 MiB: data files, a task's smaller vector files) is
hashed whole (sha256, streamed: about 0.08 s per 100 MB read from the page cache on a
2-core AMD EPYC with SHA extensions, 0.13 s with blake2b; reading it from a cold disk costs
more): an edit anywhere is caught whatever its size and time, and the content alone
decides, so the file copied, moved back, touched or chmod-ed unchanged still matches. A
sampled hash (the first and last 64 KiB) missed a label flipped in the middle of a
1.1 MB CSV whose size and time were kept (`cp -p`, `rsync -a`, `touch -r`).

A larger file (vectors of gigabytes, which a resume or a `compare` rerun should not read
again) keeps its size, modification time and sampled hash, and its change time (ctime) and
inode, which no program can set back: a file replaced, even with its time restored, counts
as changed. The price: such a file copied, moved or chmod-ed with its content unchanged
counts as changed too (the description says so; start a new run).

A folder (one per class, a vector or checkpoint folder) counts its files, their total size
and the newest time; up to `FULL_HASH_LIMIT` in all, a hash of every file's relative name
and content, beyond that the newest ctime and a digest of the files' inodes.

Fingerprints saved before a key existed are compared on the keys both hold, so runs saved
earlier still resume.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["FULL_HASH_LIMIT", "changed_inputs", "file_fingerprint", "input_fingerprints"]


_SAMPLE = 64 * 1024
FULL_HASH_LIMIT = 256 * 1024 * 1024  # bytes: a file (or folder) up to this is hashed whole
_CHUNK = 1024 * 1024
# keys that say a large file was replaced (not hashed whole): no program sets them back
_REPLACED = ("ctime_ns", "inode", "inodes")
# (path, device, inode, size, mtime_ns, ctime_ns) -> sha256: a compare checks the same
# files for every cell; any write moves ctime, so a stale entry is not found again
_hashed: dict[tuple[Any, ...], str] = {}


def _sample_hash(path: Path, size: int) -> str:
    """sha256 of the file's first and last `_SAMPLE` bytes (all of a small file)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        digest.update(fh.read(_SAMPLE))
        if size > 2 * _SAMPLE:
            fh.seek(size - _SAMPLE)
        digest.update(fh.read(_SAMPLE))
    return digest.hexdigest()[:32]


def _full_hash(path: Path, st: os.stat_result) -> str:
    """sha256 of the whole file (read in 1 MiB chunks), once per state of the file."""
    key = (str(path.resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    known = _hashed.get(key)
    if known is not None:
        return known
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    if len(_hashed) >= 4096:
        _hashed.clear()
    _hashed[key] = digest.hexdigest()[:32]
    return _hashed[key]


def file_fingerprint(
    path: str | os.PathLike[str], *, sampled: bool = False
) -> dict[str, Any] | None:
    """The state of a file or folder (see the module's text); None: unreadable.

    A file: {size, mtime_ns, sample} and sha256 (up to `FULL_HASH_LIMIT`) or ctime_ns and
    inode (larger); `sampled`: the first three alone (no whole-file read). A folder: {files,
    size, mtime_ns} and sha256, or ctime_ns and inodes. Each hash is the first 32 hex digits
    of a sha256 (128 bits tell a change; saved runs hold these, so they stay 32): "sha256"
    that of the whole file, "sample" that of its first and last 64 KiB (the same value for
    a file of up to 128 KiB), a folder's that of its files' names and hashes.
    """
    p = Path(path).expanduser()
    try:
        if not p.is_dir():
            st = p.stat()
            out: dict[str, Any] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns,
                                   "sample": _sample_hash(p, st.st_size)}  # fmt: skip
            if not sampled and st.st_size <= FULL_HASH_LIMIT:
                out["sha256"] = _full_hash(p, st)
            elif not sampled:
                out.update(ctime_ns=st.st_ctime_ns, inode=st.st_ino)
            return out
        files = [(f, f.stat()) for f in sorted(p.rglob("*")) if f.is_file()]
        out = {
            "files": len(files),
            "size": sum(s.st_size for _f, s in files),
            "mtime_ns": max((s.st_mtime_ns for _f, s in files), default=0),
        }
        names = [f.relative_to(p).as_posix().encode("utf-8", "surrogateescape") for f, _s in files]
        digest = hashlib.sha256()
        if out["size"] <= FULL_HASH_LIMIT:  # a file moved to another class is another folder
            for name, (f, s) in zip(names, files, strict=True):
                digest.update(name + b"\0" + _full_hash(f, s).encode() + b"\0")
            out["sha256"] = digest.hexdigest()[:32]
        else:
            for name, (_f, s) in zip(names, files, strict=True):
                digest.update(name + b"\0" + str(s.st_ino).encode() + b"\0")
            out["ctime_ns"] = max((s.st_ctime_ns for _f, s in files), default=0)
            out["inodes"] = digest.hexdigest()[:32]
        return out
    except OSError:
        return None


def input_fingerprints(paths: Mapping[str, Any]) -> dict[str, Any]:
    """Role -> {path, fingerprint} for each role whose path is a string (a file or folder)."""
    return {
        role: {"path": str(path), **(file_fingerprint(path) or {})}
        for role, path in paths.items()
        if isinstance(path, (str, os.PathLike)) and str(path)
    }


def changed_inputs(saved: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """One description per role in both whose file changed (size, time, bytes or path).

    Only what both fingerprints hold is compared: runs saved before the sampled hash (or the
    whole-file hash, ctime and inode) have none. Where both hold the whole file's hash, it
    decides alone with the size: the times of a file copied or touched unchanged do not count.
    """
    out = []
    for role in sorted(set(saved) & set(now)):
        before, after = saved[role], now[role]
        common = set(before) & set(after)
        if "sha256" in common:
            common -= {"mtime_ns", *_REPLACED}
        if any(before[k] != after[k] for k in common) or before.get("path") != after.get("path"):
            keys = [k for k in ("path", "size", "files") if before.get(k) != after.get(k)]
            what = ", ".join(f"{k} {before.get(k)} -> {after.get(k)}" for k in keys)
            if not what:
                what = "modified since"
                if all(before[k] == after[k] for k in common - set(_REPLACED)):
                    what = (
                        "replaced, copied, moved or chmod-ed since (its ctime or inode "
                        f"changed): a file or folder over {FULL_HASH_LIMIT >> 20} MiB is not "
                        "hashed whole, so this counts even with the same content"
                    )
            out.append(f"{role} {after.get('path')} ({what})")
    return out
