"""Round 4 of the defaults search (benchmarks/defaults.md): small training sets.

BBC News' 80/20 split made by benchmarks/textcls.py (`bbc_split`, seed 1) — its test part is
never read here. (Round 4 first ran on `stratified_split(data, 0.2, 0)`, a different split
whose training part holds most of textcls's test articles; round 4b re-ran it on textcls's
own training part.) The training part is split again: 25 % (seed 100+s) are scoring
articles, never trained on; 79 articles are drawn from the rest (`subsample`, seed s). Each
candidate trains on the 79 (its own validation split carved from them) and is scored on the
scoring articles.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/defaults_small.py [candidate ...]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bench_tune import write_csv
from textcls import bbc_split
from vecgraft.cli.demo import demo_paths
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.data import read_labelled, stratified_split, subsample
from vecgraft.finetune.run import finetune

OUT = Path(__file__).resolve().parent / "out" / "defaults_small"
OLD = {"max_epochs": 40, "min_valid": 0}  # the defaults before round 4
CANDIDATES: dict[str, dict[str, Any]] = {
    "round3": OLD,
    "e200_p3": {"max_epochs": 200, "min_valid": 0},
    "e200_p20": {"max_epochs": 200, "patience": 20, "min_valid": 0},
    "e200_nostop": {"max_epochs": 200, "patience": None, "min_valid": 0},
    "e100_nostop": {"max_epochs": 100, "patience": None, "min_valid": 0},
    "e200_min_valid50": {"max_epochs": 200, "min_valid": 50},
    "e200_min_valid50_static": {"min_valid": 50, "model_options": {"channels": "static"}},
    "linear": {"model": "linear"},
    # round 4b: BoE mean+max (round 2's boe_lr5e3) on few long documents
    "boe_lr5e3": {"model": "boe", "lr": 5e-3, "embedding_lr": 5e-3,
                  "model_options": {"pooling": "mean_max", "dropout": 0.5}},
    # round 10: today's defaults (fusion on by default, but not on these 8 validation rows),
    # and fusion forced on them (the weight chosen on 8 rows; ties go to 0.5)
    "default": {},
    "fused_small": {"fuse_linear": True},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("candidates", nargs="*", default=list(CANDIDATES))
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    glove, _ = demo_paths()
    OUT.mkdir(parents=True, exist_ok=True)
    train_csv, _test = bbc_split(OUT)  # the benchmark's split; _test is never read here
    train, _ = read_labelled(train_csv)
    for seed in range(args.seeds):
        rest, scoring = stratified_split(train, 0.25, 100 + seed)
        part = subsample(rest, 78 / len(rest), seed)
        fit_csv = write_csv(part, OUT / f"train{seed}.csv")
        score_csv = write_csv(scoring, OUT / f"scoring{seed}.csv")
        for name in args.candidates:
            start = time.perf_counter()
            config = FinetuneConfig(
                train=str(fit_csv), test=str(score_csv), vectors=str(glove),
                out=str(OUT / f"{name}{seed}"), progress=False, plots=False,
                **CANDIDATES[name],
            )  # fmt: skip
            result = finetune(config, overwrite=True, log=lambda _m: None)
            row = {"seed": seed, "candidate": name, "train": len(part),
                   "accuracy": 100 * result.metrics["test"]["accuracy"],
                   "seconds": round(time.perf_counter() - start, 1)}  # fmt: skip
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
