"""Vector files <-> `Vectors`.

STUB of `load`/`save` so later stages can be built; the real registry, detection and cache
land with issue 2.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vecgraft.io.base import LoadOptions, Source
from vecgraft.io.text import GLOVE_TEXT, WORD2VEC_TEXT
from vecgraft.vectors import Vectors

FORMATS = {f.name: f for f in (GLOVE_TEXT, WORD2VEC_TEXT)}


def load(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    vocab: Iterable[str] | None = None,
    limit: int | None = None,
    cache: bool = True,
    **kwargs: Any,
) -> Vectors:
    """Read word vectors from `path` (format detected from the content unless given)."""
    source = Source.from_path(path)
    options = LoadOptions(vocab=None if vocab is None else frozenset(vocab), limit=limit)
    head = source.head()
    fmt = FORMATS[format] if format else next(f for f in FORMATS.values() if not f.sniff(source, head))
    return fmt.read(source, options)


def save(vectors: Vectors, path: str | os.PathLike[str], format: str = "native") -> None:
    """Write `vectors` to `path` in `format`."""
    writer = FORMATS[format].write
    assert writer is not None
    writer(vectors, Path(path))
