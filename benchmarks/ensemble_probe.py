"""Round 21 probe (training data only): do several networks beat one on small training sets?

Round 20 found that at 5 % of BBC News and ChnSentiCorp the fused model's loss is the
network's seed-to-seed variance, not the choice of its share. This probe measures what
averaging would buy before any library support: on `defaults_small.py`'s protocol (the same
drawn rows, the same scoring rows, never the test split), each seed s trains M default runs
whose `seed` is s, 100+s, 200+s, ... (the network's initialisation and batch order, and its
validation split), then scores on the scoring rows:

- `member0`: the first run alone (`defaults_small.py default` trains with seed 0 on every
  split, so this is its row for s = 0 only);
- `members`: the mean accuracy of the M runs alone (what one run gives on average);
- `ensemble`: the mean of the M runs' fused probabilities;
- `ensemble_net`: the mean of the M networks' probabilities, unfused;
- `linear`: the TF-IDF linear model alone.

    OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE python benchmarks/ensemble_probe.py \\
        --dataset chnsenticorp --data-dir ../shared/data/textcls --members 3
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from _assets import zh_word2vec
from defaults_small import OUT, draw, training_part
from vecgraft.cli.demo import demo_paths
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.fusion import linear_proba
from vecgraft.finetune.recipe import ClassifierRecipe


def member(config: FinetuneConfig) -> dict[str, Any]:
    """One default run without files: its fused, network and linear probabilities on test."""
    recipe = ClassifierRecipe(config, write_files=False, log=lambda _m: None)
    recipe.setup_data()
    recipe.setup_model()
    recipe.train()
    recipe.evaluate()
    texts = recipe.splits.test.texts
    network = recipe._proba("test")
    linear = linear_proba(recipe.fusion.linear, texts, len(recipe.labels))
    return {"fused": recipe.fusion.proba(network, texts), "network": network,
            "linear": linear, "gold": np.asarray(recipe.targets["test"]),
            "weight": recipe.fusion.weight}  # fmt: skip


def accuracy(proba: np.ndarray, gold: np.ndarray) -> float:
    return 100.0 * float((proba.argmax(axis=1) == gold).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="bbc", help="bbc, or chnsenticorp (--data-dir)")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--members", type=int, default=3)
    parser.add_argument("--max-epochs", type=int, default=None,
                        help="each member's max_epochs (default: the library's, 200); at "
                        "5 %% the step budget is cut by it, so 67 makes three cost one")
    args = parser.parse_args()
    train, share = training_part(args)
    zh = args.dataset != "bbc"
    for seed in range(args.seeds):
        started = time.perf_counter()
        _rest, _part, fit_csv, score_csv = draw(train, share, args.dataset, seed)
        vectors = (zh_word2vec(fit_csv, OUT / f"{args.dataset}_w2v{seed}") if zh
                   else str(demo_paths()[0]))  # fmt: skip
        runs = []
        for m in range(args.members):
            config = FinetuneConfig(
                train=str(fit_csv), test=str(score_csv), vectors=vectors, seed=100 * m + seed,
                split_seed=seed, progress=False, plots=False,
                tokenizer="jieba" if zh else None,
                **({} if args.max_epochs is None else {"max_epochs": args.max_epochs}),
            )  # fmt: skip
            runs.append(member(config))
        gold = runs[0]["gold"]
        row = {
            "dataset": args.dataset, "seed": seed, "members": args.members,
            "max_epochs": args.max_epochs,
            "member0": accuracy(runs[0]["fused"], gold),
            "members_each": [accuracy(r["fused"], gold) for r in runs],
            "members_mean": float(np.mean([accuracy(r["fused"], gold) for r in runs])),
            "ensemble": accuracy(np.mean([r["fused"] for r in runs], axis=0), gold),
            "ensemble_net": accuracy(np.mean([r["network"] for r in runs], axis=0), gold),
            "networks_each": [accuracy(r["network"], gold) for r in runs],
            "linear": accuracy(runs[0]["linear"], gold),
            "weights": [r["weight"] for r in runs],
            "seconds": round(time.perf_counter() - started, 1),
        }  # fmt: skip
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
