"""Where a warning should point: the first frame of the caller's code, outside vecgraft."""

from __future__ import annotations

import sys
from pathlib import Path

_PACKAGE = str(Path(__file__).resolve().parent.parent) + "/"


def caller_stacklevel() -> int:
    """The `stacklevel` that makes the caller's `warnings.warn` name the user's line.

    A fixed count breaks whenever the path through the readers changes: the text formats'
    warnings named a `lambda` of `io/text.py` (a format's `read`) instead of the line that
    called `vecgraft.load`. Frames are counted from the function calling `warnings.warn`
    (level 1) to the first frame outside the package.
    """
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and _inside(frame.f_code.co_filename):
        frame = frame.f_back
        level += 1
    return level


def _inside(filename: str) -> bool:
    return str(Path(filename).resolve()).replace("\\", "/").startswith(_PACKAGE.replace("\\", "/"))
