"""Format detection from content.

Every registered format is tried in order; when none fits, the DetectionError lists each one
with the reason it was rejected.
"""

from __future__ import annotations

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
