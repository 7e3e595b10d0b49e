"""How should a fused run choose the network's share? Rules scored offline, training data only.

Round 23 of defaults.md. Each (dataset, seed) is one default `finetune` run on a split of the
dataset's *training* CSV (BBC News: textcls.py's training part): 15 % held out
(`test_fraction`, `split_seed` = seed, so every seed holds out other rows and carves another
validation split), the rest trained on as the library does by default (GloVe 6B 50d;
Chinese: jieba and word2vec pretrained on the training CSV's texts). The test CSVs are never
read. The run's network and linear model are kept apart: their probabilities on the
validation rows (the linear model fitted on the training split alone, as the run judges the
share) and on the held-out rows (the linear model refitted on train + valid, as the run
keeps it) are saved to `DUMP/<dataset>_<seed>.npz`. `--score` then replays share rules on
the dumps: each rule sees only the validation rows and is scored on the held-out rows.

    OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 python benchmarks/share_probe.py \\
        --data-dir ../shared/data/textcls --seeds 0 2 4 --dump benchmarks/out/share
    python benchmarks/share_probe.py --score --dump benchmarks/out/share
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from _assets import glove_dir, zh_word2vec
from fusion_rules import temperature
from textcls import bbc_split
from vecgraft.finetune.fusion import best_weight, fit_pool, log_pool

DATASETS = ("mr", "sst2", "trec", "bbc", "chnsenticorp", "shopping10")
ZH = {"chnsenticorp", "shopping10"}
OUT = Path(__file__).resolve().parent / "out" / "share_probe"


def train_csv(dataset: str, data_dir: Path) -> Path:
    """The training CSV the held-out split is carved from (BBC: textcls.py's training part)."""
    if dataset != "bbc":
        return data_dir / f"{dataset}_train.csv"
    OUT.mkdir(parents=True, exist_ok=True)
    return Path(bbc_split(OUT)[0])


def dump_run(dataset: str, data_dir: Path, seed: int, dump: Path, source: str) -> dict[str, Any]:
    """One default run; its network's and linear model's probabilities saved apart."""
    from vecgraft.finetune.config import FinetuneConfig
    from vecgraft.finetune.recipe import ClassifierRecipe

    train = train_csv(dataset, data_dir)
    zh = dataset in ZH
    if source == "random":
        vectors = "random"
    else:
        vectors = zh_word2vec(train, OUT / f"w2v_{dataset}") if zh else str(glove_dir())
    config = FinetuneConfig(
        train=str(train), test=None, test_fraction=0.15, split_seed=seed, seed=seed,
        vectors=vectors, tokenizer="jieba" if zh else None, plots=False, progress=False,
        fuse_rule="mix",  # the runs' own share; the dumps replay every rule, the pool too
    )
    recipe = ClassifierRecipe(config, write_files=False, log=lambda _: None)
    recipe.setup_data()
    recipe.setup_model()
    recipe.train()
    metrics = recipe.evaluate()
    if recipe.fusion is None:
        raise SystemExit(f"{dataset} seed {seed}: the default run did not fuse")
    valid_net, valid_lin = recipe._valid_outputs()  # the pair the run judged the share on
    held_lin = recipe._linear_outputs(recipe.fusion.linear, recipe._split("test").texts)
    arrays = {
        "valid_net": valid_net, "valid_lin": valid_lin,
        "valid_gold": np.asarray(recipe.targets["valid"]),
        "held_net": recipe._network_outputs("test"), "held_lin": held_lin,
        "held_gold": np.asarray(recipe.targets["test"]),
    }  # fmt: skip
    dump.mkdir(parents=True, exist_ok=True)
    np.savez(dump / f"{dataset}_{seed}.npz", **arrays)
    return {"dataset": dataset, "seed": seed, "weight": recipe.fusion.weight,
            "accuracy": 100 * metrics["test"]["accuracy"]}


def _acc(p: np.ndarray, y: np.ndarray) -> float:
    return float((p.argmax(axis=1) == y).mean()) if len(y) else 0.0


def _curve(d: Any, grid: tuple[float, ...], split: str) -> dict[float, float]:
    net, lin, y = d[f"{split}_net"], d[f"{split}_lin"], d[f"{split}_gold"]
    return {w: _acc(w * net + (1 - w) * lin, y) for w in grid}


def grid_rule(grid: tuple[float, ...]) -> Callable[[Any], float]:
    """Best validation accuracy over `grid`, ties nearest 1/2 (the library's rule on its grid)."""
    return lambda d: best_weight(_curve(d, grid, "valid"))


def fixed(w: float) -> Callable[[Any], float]:
    return lambda _d: w


def margin_rule(rows: int) -> Callable[[Any], float]:
    """The linear model alone unless the best mix beats it by more than `rows` validation rows."""
    grid = (0.0, 0.25, 0.5, 0.75, 1.0)

    def choose(d: Any) -> float:
        curve = _curve(d, grid, "valid")
        n = len(d["valid_gold"])
        best = best_weight(curve)
        return best if (curve[best] - curve[0.0]) * n > rows else 0.0

    return choose


def calibrated(d: Any, which: tuple[str, ...]) -> dict[str, np.ndarray]:
    """`d` with the models in `which` ("net", "lin") temperature-scaled on the validation rows."""
    out = {k: d[k] for k in d.files}
    for m in which:
        scale = temperature(d[f"valid_{m}"], d["valid_gold"])  # round 9's fit
        for split in ("valid", "held"):
            out[f"{split}_{m}"] = scale(d[f"{split}_{m}"])
    return out


RULES: dict[str, Callable[[Any], float]] = {
    "acc5 (today)": grid_rule((0.0, 0.25, 0.5, 0.75, 1.0)),
    "cap 3/4": grid_rule((0.0, 0.25, 0.5, 0.75)),
    "cap 1/2": grid_rule((0.0, 0.25, 0.5)),
    "fixed 1/4": fixed(0.25),
    "fixed 1/2": fixed(0.5),
    "linear alone": fixed(0.0),
    "network alone": fixed(1.0),
    "margin 2": margin_rule(2),
    "fine grid": grid_rule(tuple(float(w) for w in np.round(np.linspace(0, 1, 21), 2))),
    "low grid": grid_rule((0.0, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0)),
}
# round 26: no share at all; softmax(a log p_network + b log p_linear), (a, b) fitted by
# validation log-loss (`fusion.fit_pool`, the library's default since)
POOL = "log-linear pool"
# rules on temperature-scaled probabilities: name -> (models scaled, rule)
CALIBRATED: dict[str, tuple[tuple[str, ...], Callable[[Any], float]]] = {
    "cal lin, acc5": (("lin",), grid_rule((0.0, 0.25, 0.5, 0.75, 1.0))),
    "cal both, acc5": (("net", "lin"), grid_rule((0.0, 0.25, 0.5, 0.75, 1.0))),
    "cal both, 1/2": (("net", "lin"), fixed(0.5)),
    "cal lin, 1/2": (("lin",), fixed(0.5)),
}


def score(dump: Path) -> str:
    """A Markdown table: held-out accuracy of every rule, each (dataset) the mean over seeds."""
    files = sorted(dump.glob("*.npz"))
    names = [*RULES, *CALIBRATED, POOL]
    table: dict[str, dict[str, list[float]]] = {r: {} for r in names}
    chosen: dict[str, dict[str, list[float]]] = {r: {} for r in names}
    for f in files:
        dataset = f.stem.rsplit("_", 1)[0]
        raw = np.load(f)
        scaled = {m: calibrated(raw, m) for m in {which for which, _ in CALIBRATED.values()}}
        plans = [(n, r, raw) for n, r in RULES.items()]
        plans += [(n, r, scaled[m]) for n, (m, r) in CALIBRATED.items()]
        pool = fit_pool(raw["valid_net"], raw["valid_lin"], raw["valid_gold"])
        fused = log_pool(raw["held_net"], raw["held_lin"], pool).argmax(axis=1)
        table[POOL].setdefault(dataset, []).append(100 * float((fused == raw["held_gold"]).mean()))
        for name, rule, d in plans:
            w = rule(d)
            table[name].setdefault(dataset, []).append(100 * _curve(d, (w,), "held")[w])
            chosen[name].setdefault(dataset, []).append(w)
    datasets = [d for d in DATASETS if d in table["acc5 (today)"]]
    seeds = {d: len(table["acc5 (today)"][d]) for d in datasets}
    head = "| rule | " + " | ".join(f"{d} ({seeds[d]})" for d in datasets) + " | mean |"
    lines = [head, "|---" * (len(datasets) + 2) + "|"]
    for name in names:
        means = [statistics.mean(table[name][d]) for d in datasets]
        cells = " | ".join(f"{m:.2f}" for m in means)
        lines.append(f"| {name} | {cells} | {statistics.mean(means):.2f} |")
    lines.append("")
    lines.append("shares chosen (acc5, cap 3/4): " + "; ".join(
        f"{d}: {chosen['acc5 (today)'][d]} / {chosen['cap 3/4'][d]}" for d in datasets))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--source", choices=["glove", "random"], default="glove")
    parser.add_argument("--dump", type=Path, default=OUT / "dump")
    parser.add_argument("--score", action="store_true", help="replay the rules on the dumps")
    args = parser.parse_args()
    if args.score:
        print(score(args.dump))
        return
    if args.data_dir is None:
        parser.error("--data-dir is needed to run (not to --score)")
    for seed in args.seeds:
        for dataset in args.datasets:
            if (args.dump / f"{dataset}_{seed}.npz").exists():
                continue
            print(json.dumps(dump_run(dataset, args.data_dir, seed, args.dump, args.source)),
                  flush=True)


if __name__ == "__main__":
    main()
