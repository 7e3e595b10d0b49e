"""Round 34 of defaults.md: the pool's weight rule and its linear model, replayed offline.

Training data only. `share_probe.py --dump DIR` saved, for each (dataset, split seed), a
default run's network and linear probabilities on its validation rows and on 15 % of the
training CSV held out (the test CSVs are never read). This script

* `--rules`: refits the pool (`fusion.fit_pool`) with other rules on the same validation
  rows: an L2 pull of (a, b) towards (1, 1), and each model temperature-scaled alone and
  averaged (round 9's `cal/0.5` in log space);
* `--linear`: rebuilds each split's texts (`FinetuneConfig(test_fraction=0.15,
  split_seed=seed)`, as the dump's run did; the dumped SVM probabilities are reproduced
  first, as a check) and refits the linear part as logistic regression (C = 4, 16) on the
  same features, pooled with the dumped network.

Each row is one split's held-out accuracy (%) per variant, appended to `--log`.

    python benchmarks/linear_probe.py --dump DIR --rules
    OMP_NUM_THREADS=1 python benchmarks/linear_probe.py --dump DIR --linear \\
        --data-dir ../shared/data/textcls --items trec_0 mr_0 ... --log rows.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize

from textcls import bbc_split
from vecgraft.finetune.fusion import _log, fit_pool, log_pool

ZH = {"chnsenticorp", "shopping10"}
LINEAR_VARIANTS: dict[str, dict[str, Any]] = {
    "svm": {},  # the default: LinearSVC(C=0.5), softmax of its scores
    "lr4": {"kind": "logreg", "C": 4.0},
    "lr16": {"kind": "logreg", "C": 16.0},
}


def _acc(p: np.ndarray, y: np.ndarray) -> float:
    return 100 * float((p.argmax(axis=1) == y).mean())


def _temperature(p: np.ndarray, y: np.ndarray) -> float:
    """The inverse temperature with the least log-loss of softmax(t * log p) on (p, y)."""
    logs, rows = _log(p), np.arange(len(y))

    def loss(t: np.ndarray) -> float:
        z = t[0] * logs
        z = z - z.max(axis=1, keepdims=True)
        q = np.exp(z)
        q /= q.sum(axis=1, keepdims=True)
        return float(-np.log(np.clip(q[rows, y], 1e-300, None)).mean())

    return float(minimize(loss, [1.0], method="L-BFGS-B", bounds=[(0.0, 50.0)]).x[0])


def _pool_l2(net: np.ndarray, lin: np.ndarray, y: np.ndarray, lam: float) -> tuple[float, float]:
    """`fit_pool` with `lam * |(a, b) - (1, 1)|^2` added to the log-loss."""
    logs, rows = (_log(net), _log(lin)), np.arange(len(y))

    def loss(ab: np.ndarray) -> tuple[float, np.ndarray]:
        z = ab[0] * logs[0] + ab[1] * logs[1]
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        nll = float(-np.log(np.clip(p[rows, y], 1e-300, None)).mean())
        grad = np.array([((p * f).sum(axis=1) - f[rows, y]).mean() for f in logs])
        return nll + lam * float(((ab - 1) ** 2).sum()), grad + 2 * lam * (ab - 1)

    fit = minimize(loss, np.ones(2), jac=True, method="L-BFGS-B", bounds=[(0.0, 50.0)] * 2)
    return float(fit.x[0]), float(fit.x[1])


def _rules() -> dict[str, Callable[[dict[str, np.ndarray]], tuple[float, float]]]:
    def calibrated(d: dict[str, np.ndarray]) -> tuple[float, float]:
        y = d["valid_gold"]
        return 0.5 * _temperature(d["valid_net"], y), 0.5 * _temperature(d["valid_lin"], y)

    rules: dict[str, Callable[[dict[str, np.ndarray]], tuple[float, float]]] = {
        "pool": lambda d: fit_pool(d["valid_net"], d["valid_lin"], d["valid_gold"]),
        "calibrated mean": calibrated,
    }
    for lam in (0.001, 0.01, 0.1):
        rules[f"pool, L2 {lam}"] = lambda d, lam=lam: _pool_l2(
            d["valid_net"], d["valid_lin"], d["valid_gold"], lam
        )
    return rules


def replay_rules(dump: Path) -> None:
    """Held-out accuracy of each rule, mean per dataset, and its gain over the pool."""
    rules = _rules()
    scores: dict[tuple[str, str], list[float]] = {}
    for file in sorted(dump.glob("*.npz")):
        name = file.stem.rsplit("_", 1)[0]
        d = dict(np.load(file))
        for rule, fit in rules.items():
            fused = log_pool(d["held_net"], d["held_lin"], fit(d))
            scores.setdefault((name, rule), []).append(_acc(fused, d["held_gold"]))
    sets = sorted({k[0] for k in scores})
    print("| rule | " + " | ".join(sets) + " | mean | gain over the pool (splits ahead / behind) |")
    print("|---|" + "---:|" * (len(sets) + 1) + "---|")
    for rule in rules:
        means = [float(np.mean(scores[(s, rule)])) for s in sets]
        gain = np.concatenate([np.subtract(scores[(s, rule)], scores[(s, "pool")]) for s in sets])
        se = gain.std(ddof=1) / np.sqrt(len(gain))
        print(f"| {rule} | " + " | ".join(f"{m:.2f}" for m in means)
              + f" | {np.mean(means):.2f} | {gain.mean():+.2f} ± {se:.2f} "
              f"({(gain > 0).sum()} / {(gain < 0).sum()}) |")  # fmt: skip


def linear_row(item: str, data_dir: Path, dump: Path, work: Path) -> dict[str, Any]:
    """One split: the dump's network pooled with each linear variant, held-out accuracy."""
    from vecgraft.finetune.config import FinetuneConfig
    from vecgraft.finetune.fusion import _targets, linear_proba, linear_settings
    from vecgraft.finetune.linear import LinearModel
    from vecgraft.finetune.recipe import ClassifierRecipe

    dataset, seed_text = item.rsplit("_", 1)
    seed = int(seed_text)
    train = data_dir / f"{dataset}_train.csv" if dataset != "bbc" else Path(bbc_split(work)[0])
    config = FinetuneConfig(
        train=str(train), test=None, test_fraction=0.15, split_seed=seed, seed=seed,
        vectors="random", tokenizer="jieba" if dataset in ZH else None, plots=False,
        progress=False,
    )  # fmt: skip
    recipe = ClassifierRecipe(config, write_files=False, log=lambda _: None)
    recipe.setup_data()  # the split only: no network is trained here
    tr, va, te = (recipe._split(s).texts for s in ("train", "valid", "test"))
    y_tr, y_va = recipe.targets["train"], recipe.targets["valid"]
    d = dict(np.load(dump / f"{item}.npz"))
    if not np.array_equal(np.asarray(y_va), d["valid_gold"]):
        raise SystemExit(f"{item}: the rebuilt split is not the dump's")
    k = d["valid_net"].shape[1]
    row: dict[str, Any] = {"dataset": dataset, "seed": seed}
    for name, overrides in LINEAR_VARIANTS.items():
        started = time.perf_counter()
        base = linear_settings(config.tokenizer)
        linear = type(base)(**{**base.__dict__, **overrides})
        first, kept = LinearModel.fit_nested(
            linear, [*tr, *va], _targets([*y_tr, *y_va], False), len(tr)
        )
        valid, held = linear_proba(first, va, k), linear_proba(kept, te, k)
        if name == "svm":  # the dump's own linear model, reproduced
            row["svm_check"] = float(np.abs(valid - d["valid_lin"]).max())
        pool = fit_pool(d["valid_net"], valid, y_va)
        row[name] = _acc(log_pool(d["held_net"], held, pool), d["held_gold"])
        row[f"{name}_alone"] = _acc(held, d["held_gold"])
        row[f"{name}_seconds"] = round(time.perf_counter() - started, 1)
    return row


def report_row(row: dict[str, Any], log: Path | None) -> None:
    """Print one split's row, and append it to `log` (JSON lines) when given."""
    print(json.dumps(row), flush=True)
    if log is not None:
        with log.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dump", type=Path, required=True, help="share_probe.py's --dump")
    parser.add_argument("--rules", action="store_true", help="replay the pool's rules")
    parser.add_argument("--linear", action="store_true", help="refit the linear part")
    parser.add_argument("--data-dir", type=Path, help="the textcls folder (--linear)")
    parser.add_argument("--items", nargs="*", default=[], help="dataset_seed, e.g. trec_0")
    parser.add_argument("--log", type=Path, help="append --linear rows here (JSON lines)")
    parser.add_argument("--work", type=Path, default=Path("benchmarks/out/linear_probe"))
    args = parser.parse_args()
    if args.rules:
        replay_rules(args.dump)
    if args.linear:
        if args.data_dir is None:
            parser.error("--linear needs --data-dir")
        args.work.mkdir(parents=True, exist_ok=True)
        for item in args.items:
            report_row(linear_row(item, args.data_dir, args.dump, args.work), args.log)


if __name__ == "__main__":
    main()
