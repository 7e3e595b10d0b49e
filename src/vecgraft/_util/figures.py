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


# fonts with Chinese/Japanese glyphs, most common first; matplotlib's default has none
CJK_FONTS = (
    "Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "Source Han Sans SC",
    "Source Han Sans CN", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimHei",
    "Microsoft YaHei", "PingFang SC", "Heiti SC", "AR PL UMing CN", "Droid Sans Fallback",
)  # fmt: skip


def save_png(fig: Any, path: str | os.PathLike[str]) -> Path:
    """Render `fig` to PNG in memory, then write it atomically.

    Text with CJK characters (Chinese labels) is drawn in an installed CJK font where
    there is one; without one, a single warning says so (once per process) instead of one per
    missing glyph.
    """
    import warnings

    global _CJK_WARNED
    buf = io.BytesIO()
    out = Path(path)
    with warnings.catch_warnings():
        if not _use_cjk_font(fig):
            # "missing from font(s) X" (matplotlib >= 3.8), "missing from current font" (3.7)
            warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from (current )?font")
            if not _CJK_WARNED:  # once a process: compare and tune draw a plot per cell
                _CJK_WARNED = True
                warnings.warn(
                    f"{out}: no CJK font is installed, so Chinese text in this plot and the "
                    "next ones shows as boxes (install one, e.g. fonts-noto-cjk)",
                    stacklevel=2,
                )
        fig.savefig(buf, format="png", bbox_inches="tight")
    atomic_write_bytes(out, buf.getvalue())
    return out


def _use_cjk_font(fig: Any) -> bool:
    """Give `fig`'s CJK texts a CJK fallback font; False if some need one and none exists."""
    from matplotlib.text import Text

    texts = [t for t in fig.findobj(Text) if _has_cjk(t.get_text())]
    if not texts:
        return True
    fonts = _installed_cjk_fonts()
    for text in texts:
        text.set_fontfamily([*text.get_fontfamily(), *fonts])  # per-glyph fallback
    return bool(fonts)


# CJK radicals to unified ideographs, Hangul, compatibility ideographs, full-width forms
_CJK_RANGES = (("\u2e80", "\u9fff"), ("\uac00", "\ud7af"), ("\uf900", "\ufaff"),
               ("\uff00", "\uffef"))  # fmt: skip


def _has_cjk(text: str) -> bool:
    return any(lo <= ch <= hi for ch in text for lo, hi in _CJK_RANGES)


_CJK_INSTALLED: list[str] | None = None
_CJK_WARNED = False  # the missing-font warning was given (once per process)


def _installed_cjk_fonts() -> list[str]:
    """The CJK_FONTS matplotlib can find here (looked up once per process)."""
    global _CJK_INSTALLED
    if _CJK_INSTALLED is None:
        from matplotlib import font_manager

        names = {f.name for f in font_manager.fontManager.ttflist}
        _CJK_INSTALLED = [name for name in CJK_FONTS if name in names]
    return _CJK_INSTALLED
