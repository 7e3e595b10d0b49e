"""Format detection from content.

Every registered format is tried in order; when none fits, the DetectionError lists each one
with the reason it was rejected.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from vecgraft.errors import DetectionError, Hint, Opt
from vecgraft.io.base import Format, Source


def detect(source: Source, head: bytes, formats: Iterable[Format]) -> Format:
    """The first format in `formats` whose `sniff` accepts the content.

    Args:
        source: the file (or folder).
        head: its first decompressed bytes (empty for a folder).
        formats: candidates, most specific first (binary magic numbers before text).

    Raises:
        DetectionError: nothing fits; the message lists "name: reason" per format.
    """
    _refuse_build_folder(source)
    rejected: list[tuple[str, str]] = []
    for fmt in formats:
        reason = fmt.sniff(source, head)
        if reason is None:
            return fmt
        rejected.append((fmt.name, reason))
    what = "folder" if source.path.is_dir() else "content"
    tried = "; ".join(f"{name}: {reason}" for name, reason in rejected)
    raise DetectionError(
        f"cannot detect the vector format of this {what} (tried {tried})",
        path=source.path,
        hint=Hint("; pass {} to force one", Opt("format", "...", "FORMAT")),
    )


def _refuse_build_folder(source: Source) -> None:
    """Refuse a `vecgraft build` / `save_embedding` folder, naming what to pass instead.

    It is one vocabulary's aligned matrix, not a vector file; the usual slip (`--vectors
    emb/`) would otherwise list the formats tried and suggest forcing one, which cannot
    help. Its report names the vectors it came from.
    """
    folder = source.path
    if not (folder.is_dir() and (folder / "embedding.safetensors").is_file()):
        return
    origin = ""
    try:
        report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        named = report["metadata"]["source"]
        origin = f" ({named})" if isinstance(named, str) and named else ""
    except (OSError, ValueError, KeyError, TypeError):
        pass
    raise DetectionError(
        "a `vecgraft build` folder (an embedding aligned to one vocabulary), not word vectors: "
        f"read it with vecgraft.load_embedding, or pass the vector file it was built from{origin}",
        path=folder,
    )
