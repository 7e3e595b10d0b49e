"""A 2-D map of word vectors (PCA or t-SNE), for looking at a space (needs the plot extra)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

from vecgraft._util.console import printable
from vecgraft._util.figures import new_figure, save_png
from vecgraft._util.options import parse_enum
from vecgraft.errors import ConfigError

__all__ = ["MapMethod", "plot_word_map"]


class MapMethod(StrEnum):
    """2-D projection of a word map: PCA (fast, global) or t-SNE (local neighbourhoods)."""

    PCA = "pca"
    TSNE = "tsne"


def plot_word_map(
    vectors: Any,
    words: Sequence[str],
    path: str | os.PathLike[str],
    *,
    method: str | MapMethod = MapMethod.PCA,
    seed: int = 0,
    title: str | None = None,
) -> Path:
    """Project the vectors of `words` to 2-D (PCA or t-SNE via scikit-learn) and plot them.

    Words the vectors do not know are left out; fewer than three known words is an error
    because neither projection means anything then.
    """
    import numpy as np
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    how = parse_enum(MapMethod, method, "map method")
    known = [w for w in dict.fromkeys(words) if vectors.get(w) is not None]
    if len(known) < 3:
        raise ConfigError(f"a word map needs at least 3 known words, got {len(known)}")
    points = np.stack([np.asarray(vectors[w], dtype=np.float64) for w in known])
    if how is MapMethod.PCA:
        xy = PCA(n_components=2, random_state=seed).fit_transform(points)
    else:
        perplexity = max(1.0, min(30.0, (len(known) - 1) / 3))
        xy = TSNE(n_components=2, perplexity=perplexity, random_state=seed,
                  init="pca").fit_transform(points)
    fig = new_figure(8, 6)
    ax = fig.add_subplot(1, 1, 1)
    ax.scatter(xy[:, 0], xy[:, 1], s=12, color="#3b6ea8")
    _place_labels(fig, ax, xy, [printable(w) for w in known])
    ax.set_title(title or f"{method.upper()} map of {len(known)} words")
    ax.set_xticks([])
    ax.set_yticks([])
    return save_png(fig, path)


# where a label may sit by its point, in order: (dx, dy) points, horizontal, vertical alignment
_SPOTS = [
    (3, 3, "left", "bottom"), (3, -3, "left", "top"), (-3, 3, "right", "bottom"),
    (-3, -3, "right", "top"), *[(3, 3 + 9 * k, "left", "bottom") for k in range(1, 5)],
    *[(3, -3 - 9 * k, "left", "top") for k in range(1, 5)],
]  # fmt: skip

# above this many words every label takes the first spot: with that many, few find a free
# one, and trying each spot for each label cost seconds more per hundred words
PLACED_LABELS_CAP = 300

# a scatter point's half-width in points (its marker area is s=12 points squared)
_POINT_RADIUS = 12**0.5 / 2


def _annotate(ax: Any, label: str, x: float, y: float, spot: tuple[int, int, str, str]) -> Any:
    """The label drawn by its point at `spot` (one of `_SPOTS`)."""
    dx, dy, ha, va = spot
    return ax.annotate(label, (x, y), fontsize=9, xytext=(dx, dy), textcoords="offset points",
                       ha=ha, va=va)  # fmt: skip


class _Taken:
    """Boxes already covered on the figure (labels, points), found through a coarse grid.

    Why: checking each new label against every earlier one made 1000 words take 25 s;
    a grid cell holds only the boxes that reach into it.
    """

    def __init__(self, cell: float = 64.0) -> None:
        self.cell = cell
        self.cells: dict[tuple[int, int], list[tuple[int, Any]]] = {}

    def _keys(self, box: Any) -> list[tuple[int, int]]:
        c = self.cell
        xs = range(int(box.x0 // c), int(box.x1 // c) + 1)
        return [(i, j) for i in xs for j in range(int(box.y0 // c), int(box.y1 // c) + 1)]

    def add(self, owner: int, box: Any) -> None:
        for key in self._keys(box):
            self.cells.setdefault(key, []).append((owner, box))

    def covers(self, box: Any, owner: int) -> bool:
        """Whether `box` overlaps a taken box other than its own point's (`owner`'s)."""
        return any(o != owner and box.overlaps(b)
                   for key in self._keys(box) for o, b in self.cells.get(key, ()))  # fmt: skip


def _place_labels(fig: Any, ax: Any, xy: Any, labels: list[str]) -> None:
    """Each label at the first spot by its point that no earlier label, nor a point, covers.

    Why: close words ("man", "woman") were written over each other, and a label moved
    off one could sit on another word's point. Greedy and deterministic; a label with no
    free spot takes the first one, as every label does above `PLACED_LABELS_CAP` words.
    """
    from matplotlib.transforms import Bbox

    if len(labels) > PLACED_LABELS_CAP:
        for (x, y), label in zip(xy, labels):
            _annotate(ax, label, x, y, _SPOTS[0])
        return
    renderer = fig.canvas.get_renderer()
    ax.get_xlim()  # settles the autoscaled limits the labels' boxes are measured in
    taken = _Taken()
    at = ax.transData.transform(xy)
    scale = fig.dpi / 72  # display pixels per point
    r = _POINT_RADIUS * scale
    for i, (px, py) in enumerate(at):
        taken.add(i, Bbox.from_extents(px - r, py - r, px + r, py + r))
    for i, ((x, y), label) in enumerate(zip(xy, labels)):
        text = _annotate(ax, label, x, y, _SPOTS[0])
        box = text.get_window_extent(renderer)
        # the other spots' boxes are this one moved: one text laid out per label, not 13
        spot = next((s for s in _SPOTS
                     if not taken.covers(_moved(box, at[i], s, scale), i)), _SPOTS[0])  # fmt: skip
        if spot != _SPOTS[0]:
            text.remove()
            box = _annotate(ax, label, x, y, spot).get_window_extent(renderer)
        taken.add(-1 - i, box)  # a label is no one's point: every later label avoids it


def _moved(box: Any, point: Any, spot: tuple[int, int, str, str], scale: float) -> Any:
    """The box a label measured at `_SPOTS[0]` (`box`) takes at `spot`, in display pixels."""
    from matplotlib.transforms import Bbox

    dx, dy, ha, va = spot
    x = point[0] + dx * scale
    y = point[1] + dy * scale
    x0 = x if ha == "left" else x - box.width
    y0 = y if va == "bottom" else y - box.height
    return Bbox.from_bounds(x0, y0, box.width, box.height)
