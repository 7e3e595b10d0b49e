"""Round 42 of defaults.md: would the fused linear half gain from the mean pretrained vector?

Training data only, offline on `share_probe.py --dump DIR`'s dumps (each a default run's
network and linear probabilities on its validation rows and on 15 % of the training CSV held
out; the test CSVs are never read). Each split's texts are rebuilt as `linear_probe.py`
does; the linear part is refitted on its TF-IDF features with `w` times the text's mean
GloVe 6B 50d vector (L2-normalised; the library's regex tokens, lowercased) appended as
dense columns, and pooled (`fusion.fit_pool` on the validation rows) with the dumped
network. `w = 0` is today's linear part (checked against the dump).

    OMP_NUM_THREADS=1 python benchmarks/meanvec_probe.py --dump DIR \\
        --data-dir ../shared/data/textcls --items trec_0 mr_0 ... --log rows.jsonl
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from _assets import glove_dir
from linear_probe import _acc, report_row
from textcls import bbc_split
from vecgraft.finetune.fusion import fit_pool, log_pool

WEIGHTS = (0.0, 0.5, 1.0, 2.0)


def mean_vectors(
    texts: list[str],
    table: dict[str, np.ndarray],
    dim: int,
    tokenize: Callable[[str], list[str]] | None = None,
) -> np.ndarray:
    """[N, dim] L2-normalised mean of each text's known tokens' vectors (zeros if none).

    `tokenize`: the run's own tokenizer (round 43: jieba for Chinese); None is the library's
    regex tokens, lowercased (round 42's GloVe runs).
    """
    from vecgraft.text import Tokenizer

    tokenize = tokenize or Tokenizer(lower=True)
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for i, text in enumerate(texts):
        rows = [table[t] for t in tokenize(text) if t in table]
        if rows:
            v = np.mean(rows, axis=0)
            out[i] = v / max(float(np.linalg.norm(v)), 1e-9)
    return out


def _proba(model: Any, x: Any, k: int) -> np.ndarray:
    scores = np.asarray(model.decision_function(x), dtype=np.float64)
    if scores.ndim == 1:
        scores = np.stack([-scores, scores], axis=1)
    scores -= scores.max(axis=1, keepdims=True)
    p = np.exp(scores)
    p /= p.sum(axis=1, keepdims=True)
    out = np.zeros((x.shape[0], k))
    out[:, [int(c) for c in model.classes_]] = p
    return out


def _features(model: Any, texts: list[str], means: np.ndarray, w: float) -> Any:
    """The linear model's TF-IDF rows with `w` times the mean vectors appended."""
    from scipy import sparse

    return sparse.hstack([model.features(texts), sparse.csr_matrix(w * means)]).tocsr()


def row(item: str, data_dir: Path, dump: Path, work: Path, table: Any, dim: int) -> dict[str, Any]:
    from sklearn.base import clone
    from sklearn.svm import LinearSVC

    from vecgraft.finetune.config import FinetuneConfig
    from vecgraft.finetune.fusion import linear_settings
    from vecgraft.finetune.linear import LinearModel
    from vecgraft.finetune.recipe import ClassifierRecipe

    dataset, seed_text = item.rsplit("_", 1)
    seed = int(seed_text)
    train = data_dir / f"{dataset}_train.csv" if dataset != "bbc" else Path(bbc_split(work)[0])
    config = FinetuneConfig(train=str(train), test=None, test_fraction=0.15, split_seed=seed,
                            seed=seed, vectors="random", plots=False, progress=False)  # fmt: skip
    recipe = ClassifierRecipe(config, write_files=False, log=lambda _: None)
    recipe.setup_data()
    tr, va, te = (list(recipe._split(s).texts) for s in ("train", "valid", "test"))
    y_tr, y_va = list(recipe.targets["train"]), list(recipe.targets["valid"])
    d = dict(np.load(dump / f"{item}.npz"))
    if not np.array_equal(np.asarray(y_va), d["valid_gold"]):
        raise SystemExit(f"{item}: the rebuilt split is not the dump's")
    k = d["valid_net"].shape[1]
    settings = linear_settings(None)
    first, kept = LinearModel.fit_nested(settings, [*tr, *va], [*y_tr, *y_va], len(tr))
    m_tr, m_va, m_te = (mean_vectors(t, table, dim) for t in (tr, va, te))
    out: dict[str, Any] = {"dataset": dataset, "seed": seed}
    for w in WEIGHTS:
        svm = LinearSVC(C=settings.C, random_state=0)
        small = clone(svm).fit(_features(first, tr, m_tr, w), y_tr)
        big = svm.fit(_features(kept, [*tr, *va], np.vstack([m_tr, m_va]), w), [*y_tr, *y_va])
        valid = _proba(small, _features(first, va, m_va, w), k)
        held = _proba(big, _features(kept, te, m_te, w), k)
        if w == 0:
            out["check"] = float(np.abs(valid - d["valid_lin"]).max())
        pool = fit_pool(d["valid_net"], valid, np.asarray(y_va))
        out[f"w{w}"] = _acc(log_pool(d["held_net"], held, pool), d["held_gold"])
        out[f"w{w}_alone"] = _acc(held, d["held_gold"])
    out["net_alone"] = _acc(d["held_net"], d["held_gold"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dump", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--items", nargs="+", required=True, help="dataset_seed, e.g. trec_0")
    parser.add_argument("--log", type=Path)
    parser.add_argument("--work", type=Path, default=Path("benchmarks/out/meanvec_probe"))
    args = parser.parse_args()
    import vecgraft

    vectors = vecgraft.load(str(glove_dir()))
    table = {w: vectors.matrix[i] for i, w in enumerate(vectors.words)}
    args.work.mkdir(parents=True, exist_ok=True)
    for item in args.items:
        dim = vectors.matrix.shape[1]
        report_row(row(item, args.data_dir, args.dump, args.work, table, dim), args.log)


if __name__ == "__main__":
    main()
