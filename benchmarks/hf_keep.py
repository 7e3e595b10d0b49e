"""Which epoch a `--model hf` run should keep: the best validation epoch, or the last one.

Chosen on training data only. Each task's labelled training data is split three ways: a
development set that plays the test set's part (MR: every 5th training row; SST-2: its
official dev split), a validation split (every 10th remaining row, as `bench_hf.py` carves it)
and the rows left to train on. One `--model hf` run per seed with the family's defaults
(3 epochs, lr 5e-5, warm-up + linear decay) scores the development set twice: with the
weights of the best validation epoch (`restore_best`, the trainer's default) and with the
last epoch's (`--no-restore-best`: same training steps, the run trains its whole budget
either way at 3 epochs with patience 2). No test split is read.

`--all-train` is the next candidate: the validation rows are trained on as well and the run
has no validation split (`valid_fraction` 0, the last epoch kept); its development score is
compared with the last-epoch score of the runs above, on the same development rows.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/hf_keep.py --data-dir ../shared/data/textcls \\
        --tasks mr,sst2 --seeds 0,1,2 --out benchmarks/results/hf_keep.json
    OMP_WAIT_POLICY=PASSIVE python benchmarks/hf_keep.py --data-dir ../shared/data/textcls \\
        --tasks mr --seeds 0,1 --all-train --out benchmarks/results/hf_keep_all_train.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from bench_hf import hf_config, minilm_dir, read_rows, split_valid, write_rows
from vecgraft.finetune.predict import load_run
from vecgraft.finetune.run import finetune


def task_splits(data_dir: Path, task: str, all_train: bool) -> tuple[list, list, list]:
    """(train, valid, dev) rows of `task`, all from its training data (`all_train`: no valid)."""
    rows = read_rows(data_dir / f"{task}_train.csv", None)
    dev_file = data_dir / f"{task}_dev.csv"
    if dev_file.exists():
        dev = read_rows(dev_file, None)
    else:
        dev = [r for i, r in enumerate(rows) if i % 5 == 4]
        rows = [r for i, r in enumerate(rows) if i % 5 != 4]
    train, valid = (rows, []) if all_train else split_valid(rows)
    return train, valid, dev


def one_run(model: Path, files: dict[str, Path], out: Path, seed: int) -> dict[str, Any]:
    config = hf_config(model, {**files, "test": files["dev"]}, out, seed)
    started = time.perf_counter()
    result = finetune(config, log=lambda _m: None)
    last = load_run(out, checkpoint="last", device="cpu").evaluate(str(files["dev"]))
    return {
        "seed": seed,
        "epochs": len(result.history),
        "best_epoch": result.metrics["best_epoch"],
        "valid_accuracy": [row.get("valid_accuracy") for row in result.history],
        "dev_best": result.metrics["test"]["accuracy"],
        "dev_last": last.accuracy,
        "seconds": time.perf_counter() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--model", type=Path, default=None, help="default: all-MiniLM-L6-v2")
    parser.add_argument("--tasks", type=lambda s: s.split(","), default=["mr", "sst2"])
    parser.add_argument("--seeds", type=lambda s: [int(x) for x in s.split(",")], default=[0])
    parser.add_argument(
        "--all-train",
        action="store_true",
        help="the validation rows are trained on too: no validation split, last epoch kept",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = args.model or minilm_dir()
    results: dict[str, Any] = {"model": str(model), "all_train": args.all_train, "tasks": {}}
    with tempfile.TemporaryDirectory(prefix="hf_keep_") as tmp:
        work = Path(tmp)
        task_files: dict[str, dict[str, Path]] = {}  # each task's splits, written once
        for task in args.tasks:
            train, valid, dev = task_splits(args.data_dir, task, args.all_train)
            task_files[task] = {
                name: write_rows(work / f"{task}_{name}.csv", rows)
                for name, rows in (("train", train), ("valid", valid), ("dev", dev))
                if rows
            }
            sizes = [len(train), len(valid), len(dev)]
            results["tasks"][task] = {"sizes": sizes, "runs": []}
        for seed in args.seeds:  # seed-major: a cut-short run still has every task
            for task in args.tasks:
                files = task_files[task]
                run = one_run(model, files, work / f"{task}-{seed}", seed)
                results["tasks"][task]["runs"].append(run)
                print(
                    f"{task} seed {seed}: best epoch {run['best_epoch']} -> dev "
                    f"{100 * run['dev_best']:.2f}%, last epoch -> {100 * run['dev_last']:.2f}% "
                    f"[{run['seconds']:.0f}s]",
                    flush=True,
                )
                if args.out:
                    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    for task, entry in results["tasks"].items():
        for key in ("dev_best", "dev_last"):
            entry[key + "_mean"] = statistics.mean(r[key] for r in entry["runs"])
        print(
            f"{task}: best-epoch {100 * entry['dev_best_mean']:.2f}% vs last-epoch "
            f"{100 * entry['dev_last_mean']:.2f}% (dev, mean of {len(entry['runs'])} seeds)"
        )
    text = json.dumps(results, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
