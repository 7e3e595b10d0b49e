"""Tiny corpus fixtures for the vecgraft.text tests (imported by tests/test_text_*.py)."""

import bz2
import gzip
import lzma
from pathlib import Path

LINES = ["the cat sat", "", "the dog ran", "a cat ran"]


def write_text(path: Path, text: str | bytes) -> Path:
    """Write `text` (UTF-8 when str) to `path`, compressed according to its suffix."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(path.suffix)
    if opener is None:
        path.write_bytes(data)
    else:
        with opener(path, "wb") as fh:
            fh.write(data)
    return path
