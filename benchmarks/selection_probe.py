"""Round 33 (defaults.md): is the network's validation accuracy optimistic beside the linear's?

The epoch is chosen on the validation split and the fusion pool is fitted on the same rows,
so a network whose chosen epoch flatters it there would be over-trusted by the pool. One run
of the library's default on round 24's protocol (held-out 15 % of the training CSV,
`split_seed` = seed = S) prints, as one JSON line: the validation accuracies of the network
and of the linear model (from the fusion log line), the fitted pool weights, and the
held-out accuracies of both and of the fused model. No test CSV is read.

    OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE python benchmarks/selection_probe.py \\
        --data-dir DIR --dataset mr --split 1 >> rows.jsonl

`DIR` holds `<dataset>_train.csv` (for BBC News: textcls.py's training part, `bbc_train.csv`).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from _assets import glove_dir, zh_word2vec

ZH = {"chnsenticorp", "shopping10"}
FUSION_LINE = re.compile(
    r"network x([\d.e+-]+), linear x([\d.e+-]+)\), fitted on \d+ validation rows "
    r"\(validation accuracy network ([\d.]+)%, linear ([\d.]+)%, fused ([\d.]+)%"
)


def main() -> None:
    from vecgraft.finetune.config import FinetuneConfig
    from vecgraft.finetune.recipe import ClassifierRecipe

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--split", type=int, required=True, help="split_seed and seed")
    parser.add_argument("--work", type=Path, default=Path("/tmp/vecgraft_selection"))
    args = parser.parse_args()
    zh = args.dataset in ZH
    train = str(args.data_dir / f"{args.dataset}_train.csv")
    vectors = zh_word2vec(train, args.work / f"w2v_{args.dataset}") if zh else str(glove_dir())
    config = FinetuneConfig(
        train=train, test=None, test_fraction=0.15, split_seed=args.split, seed=args.split,
        vectors=vectors, tokenizer="jieba" if zh else "regex", lower=not zh, plots=False,
        progress=False,
    )
    lines: list[str] = []
    recipe = ClassifierRecipe(config, write_files=False, log=lines.append)
    recipe.setup_data()
    recipe.setup_model()
    state = recipe.train()
    metrics = recipe.evaluate()
    found = next(m for m in map(FUSION_LINE.search, lines) if m)
    held_out = metrics["fusion"]["accuracy"]["test"]
    print(json.dumps({
        "dataset": args.dataset, "split": args.split,
        "valid_network": float(found[3]), "valid_linear": float(found[4]),
        "valid_fused": float(found[5]), "pool_network": float(found[1]),
        "pool_linear": float(found[2]), "held_out_network": 100 * held_out["network"],
        "held_out_linear": 100 * held_out["linear"],
        "held_out_fused": 100 * metrics["test"]["accuracy"], "best_epoch": state.best_epoch,
    }), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
