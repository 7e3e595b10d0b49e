"""Matplotlib figures for every stage: an Agg canvas and an atomic PNG write.

Figures are drawn with matplotlib's object API on an Agg canvas, so plotting works on a
headless server and never switches the backend of the caller's session (a notebook keeps
its inline backend).
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from vecgraft._util.atomic import atomic_write_bytes
from vecgraft._util.extras import require

__all__ = ["new_figure", "save_png"]


def new_figure(width: float, height: float) -> Any:
    """A matplotlib Figure bound to an Agg canvas (no pyplot, no global backend change)."""
    require("matplotlib", "plot", feature="plotting")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Any, path: str | os.PathLike[str]) -> Path:
    """Render `fig` to PNG in memory, then write it atomically."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    out = Path(path)
    atomic_write_bytes(out, buf.getvalue())
    return out
