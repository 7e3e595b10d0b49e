"""SST-5: fine-grained sentiment as five classes and as a number (issue 11's regression case).

The labels 0-4 (very negative … very positive) can be learnt as five classes or as a score.
Systems, each trained on `sst5_train.csv` with default flags (`--train --test --vectors`,
plus `--task regression` for the numeric ones):

  linear        TF-IDF word + char n-grams, LinearSVC(C=0.5)        (`--model linear`)
  glove         the default classifier on GloVe 6B 50d (fused with the TF-IDF model)
  random        the same with a random embedding
  ridge         TF-IDF + ridge regression          (`--model linear --task regression`)
  glove-reg     the default network, mean squared error, GloVe 6B 50d (`--task regression`;
                fused with the TF-IDF ridge regression, defaults.md round 16)
  random-reg    the same with a random embedding
  *-net         the network alone (`--no-fuse-linear`), e.g. glove-reg-net
  glove-reg-ema a probe: glove-reg with the weight average (`--ema-epochs 1`; off for
                regressions by default), also as glove-reg-ema-net

Classifiers report accuracy. Regressions report Pearson r, Spearman rho and RMSE, plus the
accuracy of their prediction rounded to the nearest label (clipped to 0-4), the usual way a
regression is put next to a five-way classifier. Each network runs with seeds 0-2; the linear
models once (they are deterministic).

`--eval dev` scores the official dev split (for choosing anything, as defaults.md's rounds do
with training data); `--eval test` reads the test split once per cell, for the table;
`--eval heldout` trains on 85 % of the training CSV and scores the other 15 % (stratified,
seed 0: defaults.md's protocol). `--dataset mr` (or another `text,label` set with numeric
labels, e.g. 0/1) is a second check of the regression on data other than SST-5.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/sst5.py --data-dir ../shared/data/textcls \\
        --eval test --out benchmarks/results/sst5.md
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from _assets import glove_dir
from textcls import fmt

DEFAULTS = ["linear", "glove", "random", "ridge", "glove-reg", "random-reg"]
NETWORKS = ["glove-net", "random-net", "glove-reg-net", "random-reg-net"]
# probes: the regression with the weight average (`ema_epochs=1`, off by default there)
PROBES = ["glove-reg-ema", "glove-reg-ema-net"]
SYSTEMS = DEFAULTS + NETWORKS + PROBES
DETERMINISTIC = {"linear", "ridge"}


def held_out(train: Path, work: Path) -> tuple[Path, Path]:
    """85 % / 15 % of a training CSV (stratified, seed 0), written to `work`."""
    from bench_tune import write_csv
    from vecgraft.finetune.data import read_labelled, stratified_split

    rest, scoring = stratified_split(read_labelled(str(train))[0], 0.15, 0)
    return (write_csv(rest, work / f"{train.stem}_fit.csv"),
            write_csv(scoring, work / f"{train.stem}_heldout.csv"))  # fmt: skip


def run_cell(system: str, seed: int, train: Path, test: Path, work: Path) -> dict[str, Any]:
    from vecgraft.finetune.config import FinetuneConfig
    from vecgraft.finetune.run import finetune

    alone = system.endswith("-net")
    name = system.removesuffix("-net")
    ema = name.endswith("-ema")
    name = name.removesuffix("-ema")
    source = name.removesuffix("-reg")
    kwargs: dict[str, Any] = {"train": str(train), "test": str(test), "seed": seed,
                              "out": str(work / f"{system}_{seed}"), "plots": False,
                              "progress": False}  # fmt: skip
    if alone:
        kwargs["fuse_linear"] = False
    if ema:
        kwargs["ema_epochs"] = 1.0
    if name.endswith("-reg") or name == "ridge":
        kwargs["task"] = "regression"
    if source in ("linear", "ridge"):
        kwargs["model"] = "linear"
    elif source == "glove":
        kwargs["vectors"] = str(glove_dir())
    result = finetune(FinetuneConfig(**kwargs), overwrite=True, log=lambda _: None)
    row: dict[str, Any] = {"system": system, "seed": seed}
    if kwargs.get("task") != "regression":
        row["accuracy"] = 100.0 * float(result.metrics["test"]["accuracy"])
        return row
    scores = result.metrics["regression"]["test"]
    row.update(pearson=scores["pearson"], spearman=scores["spearman"], rmse=scores["rmse"],
               accuracy=100.0 * scores["rounded_accuracy"])  # fmt: skip
    return row


def table(rows: list[dict[str, Any]]) -> str:
    """One line per system: accuracy, and the regression scores where there are some."""
    lines = ["| system | accuracy (%) | Pearson r | Spearman rho | RMSE | seconds |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for system in SYSTEMS:
        mine = [r for r in rows if r["system"] == system]
        if not mine:
            continue

        def col(key: str, digits: int, mine: list[dict[str, Any]] = mine) -> str:
            return fmt([r[key] for r in mine if key in r], digits)

        lines.append(f"| {system} | {col('accuracy', 1)} | {col('pearson', 3)} | "
                     f"{col('spearman', 3)} | {col('rmse', 3)} | {col('seconds', 0)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--eval", choices=["dev", "test", "heldout"], required=True)
    parser.add_argument("--dataset", default="sst5", help="the CSVs' prefix (default sst5)")
    parser.add_argument("--systems", nargs="+", default=DEFAULTS, choices=SYSTEMS,
                        help=f"default: {' '.join(DEFAULTS)}; the networks alone: "
                        f"{' '.join(NETWORKS)}")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--cells", type=Path, default=None, help="JSONL of finished cells")
    parser.add_argument("--out", type=Path, default=None, help="write the table here")
    args = parser.parse_args()
    train = args.data_dir / f"{args.dataset}_train.csv"
    test = args.data_dir / f"{args.dataset}_{args.eval}.csv"
    cells = args.cells or Path(f"benchmarks/out/{args.dataset}_{args.eval}.jsonl")
    cells.parent.mkdir(parents=True, exist_ok=True)
    done = [json.loads(line) for line in cells.read_text().splitlines()] if cells.exists() else []
    have = {(r["system"], r["seed"]) for r in done}
    with tempfile.TemporaryDirectory() as tmp:
        if args.eval == "heldout":
            train, test = held_out(train, Path(tmp))
        for system in args.systems:
            for seed in range(1 if system in DETERMINISTIC else args.seeds):
                if (system, seed) in have:
                    continue
                started = time.perf_counter()
                row = run_cell(system, seed, train, test, Path(tmp))
                row["seconds"] = time.perf_counter() - started
                print(json.dumps(row), flush=True)
                done.append(row)
                with open(cells, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(row) + "\n")
    text = table(done)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            f"# {args.dataset} (`benchmarks/sst5.py --dataset {args.dataset} --eval {args.eval}`)"
            f"\n\nTrained on {train.name}, scored on {test.name}; mean ± sample sd over "
            "seeds 0-2 (the linear models run once). Regression accuracy: the prediction "
            "rounded to the nearest label.\n\n" + text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
