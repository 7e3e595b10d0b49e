"""A `vocab=` load's rows of a whole cache entry, kept so that a repeat skips the selection.

Serving a `vocab=` load from the whole file's entry (`io.cache.subset_rows`) selects rows
by the vocabulary's exact, case-folded and normalised keys: 0.3-1 s over a 400k-word file,
most of it `normalize_keys` of every word, against 0.03 s to map an entry of its own. The
selection is kept as the row indices alone, not their values: `<name>.rows.npz` beside the
entries, 8 bytes per kept row. It holds the bounded load's key and the whole entry's key
(both hold the file's state), so it is used only with the entry it indexes; a zip member's
CRC32 is checked on read, so a damaged file is rebuilt, not served.
"""

from __future__ import annotations

import contextlib
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from vecgraft._util.atomic import atomic_write

SUFFIX = ".rows.npz"
# what reading a missing, damaged or foreign rows file raises (json.JSONDecodeError is a ValueError)
READ_ERRORS = (OSError, ValueError, KeyError, zipfile.BadZipFile)


def rows_path(entry: Path) -> Path:
    """Where the rows of the bounded load whose own entry would be `entry` are kept."""
    return entry.with_name(entry.name.removesuffix(".safetensors") + SUFFIX)


def read_rows(path: Path, key: str, whole: str, count: int) -> np.ndarray | None:
    """The kept rows (int64, ascending, < `count`), or None: absent, stale or damaged.

    A readable file for other keys is left for `prune`; a damaged one is removed.
    """
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            info = json.loads(str(data["info"]))
            rows = np.asarray(data["rows"], dtype=np.int64)
    except READ_ERRORS:
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    if not isinstance(info, dict) or info.get("key") != key or info.get("whole") != whole:
        return None
    if rows.ndim != 1 or (rows.size and (rows[0] < 0 or rows[-1] >= count)):
        return None
    with contextlib.suppress(OSError):  # the last use, for prune
        path.touch()
    return rows


def read_rows_info(path: Path) -> dict[str, Any]:
    """The `info` a rows file was written with (its keys, source, format, bounds)."""
    with np.load(path, allow_pickle=False) as data:
        info = json.loads(str(data["info"]))
    return info if isinstance(info, dict) else {}


def write_rows(path: Path, rows: np.ndarray, info: dict[str, Any]) -> None:
    """Write `rows` with `info` (JSON: at least "key" and "whole") atomically."""
    text = np.array(json.dumps(info, ensure_ascii=False))
    atomic_write(path, lambda fh: np.savez(fh, rows=np.asarray(rows, np.int64), info=text))
