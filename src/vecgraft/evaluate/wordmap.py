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
_SPOTS = [(3, 3, "left", "bottom"), (3, -3, "left", "top"), (-3, 3, "right", "bottom"),
          (-3, -3, "right", "top")] + [(3, 3 + 9 * k, "left", "bottom") for k in range(1, 5)] \
    + [(3, -3 - 9 * k, "left", "top") for k in range(1, 5)]  # fmt: skip


def _place_labels(fig: Any, ax: Any, xy: Any, labels: list[str]) -> None:
    """Each label at the first spot by its point that no earlier label covers.

    Why: close words ("man", "woman") were written over each other. Greedy and
    deterministic; a label with no free spot takes the first one.
    """
    renderer = fig.canvas.get_renderer()
    ax.get_xlim()  # settles the autoscaled limits the labels' boxes are measured in
    taken: list[Any] = []
    for (x, y), label in zip(xy, labels):
        box = None
        for dx, dy, ha, va in _SPOTS:
            text = ax.annotate(label, (x, y), fontsize=9, xytext=(dx, dy),
                               textcoords="offset points", ha=ha, va=va)  # fmt: skip
            box = text.get_window_extent(renderer)
            if not any(box.overlaps(other) for other in taken):
                break
            text.remove()
        else:
            dx, dy, ha, va = _SPOTS[0]
            text = ax.annotate(label, (x, y), fontsize=9, xytext=(dx, dy),
                               textcoords="offset points", ha=ha, va=va)  # fmt: skip
            box = text.get_window_extent(renderer)
        taken.append(box)
