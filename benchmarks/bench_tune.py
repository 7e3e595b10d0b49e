"""`vecgraft tune` against vecgraft's default settings, with the test split unseen by the search.

Targets (issue 15; 2 CPU cores):
  1. MR (movie reviews), CNN + GloVe 6B 50d, 30 trials within 30 minutes: the tuned model's
     test accuracy >= the default's + 1.0 point (mr_test.csv is read only after the search);
     then `best.yaml` and the default retrained with `--seeds` - 1 more seeds;
  2. BBC News at 5% of its training part (about 78 articles), `--cv 5`: tuned >= 93.5% test
     accuracy, mean over 3 subset seeds (the default's accuracy on the same subsets is shown);
  3. an interrupted study resumes with exactly N finished trials (tests/test_tune.py).

`--only sst5` (run only when named): `--task regression` on SST-5 (labels 0-4 as numbers),
trials validated on the official dev split, the tuned settings (`best.yaml`, trained on
train + dev as the final retrain is) against the default regression on the same train + dev,
`--seeds` seeds each; Pearson r and RMSE on the test split.

Both sides are scored on the same test texts in the same run. GloVe 6B 50d and BBC News come
from the `demo` extra; MR from `--data-dir` (a folder with mr_train.csv / mr_test.csv).

Usage: OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_tune.py --data-dir ../shared/data/textcls
       [--only mr|bbc] [--trials 30] [--timeout 1800] [--seeds 3] [--bbc-trials N] [--jobs J]
       [--first-seed S] [--keep-studies]
       python benchmarks/bench_tune.py --data-dir DIR --only sst5 --trials 20 --timeout 1200
       python benchmarks/bench_tune.py --data-dir DIR --smoke   # 3 trials, 500 rows of MR
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import platform
import shutil
import statistics
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from vecgraft._util.atomic import atomic_write_text
from vecgraft.cli.demo import demo_paths
from vecgraft.evaluate.tune import tune
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.data import read_labelled, stratified_split, subsample
from vecgraft.finetune.run import finetune

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "tune"


def write_csv(data: Any, path: Path) -> Path:
    """`text,label` rows, written whole or not at all (a killed run leaves no half file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")  # csv's default, as before
    writer.writerow(["text", "label"])
    writer.writerows(zip(data.texts, data.labels))
    atomic_write_text(path, buf.getvalue())
    return path


def default_run(train: Path, test: Path, glove: Path, out: Path, **settings: Any) -> float:
    """Test accuracy of vecgraft's default fine-tuning settings (CNN, GloVe, lowercased)."""
    config = FinetuneConfig(
        train=str(train), test=str(test), vectors=str(glove), out=str(out), lower=True,
        progress=False, plots=False, **settings,
    )  # fmt: skip
    result = finetune(config, overwrite=True, log=lambda _m: None)
    return float(result.metrics["test"]["accuracy"])


def tuned_run(
    train: Path,
    test: Path,
    glove: Path,
    out: Path,
    trials: int,
    timeout: float | None,
    keep: bool = False,
    **kw: Any,
) -> tuple[float, float, int]:
    """(test accuracy of the tuned model, seconds, trials finished) of one `tune` call.

    `keep=True` continues the study already in `out` (a study with `trials` trials runs none:
    only the selection and the final retrain), e.g. to apply a new selection rule.
    """
    if out.exists() and not keep:
        shutil.rmtree(out)
    base = {"lower": True, "progress": False, **kw.pop("settings", {})}
    start = time.perf_counter()
    result = tune(
        train, test=test, vectors=str(glove), model="cnn", out=out, trials=trials,
        timeout=timeout, config=base, progress=False, log=lambda _m: None, **kw,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    done = sum(r["state"] in ("COMPLETE", "PRUNED") for r in result.trials)
    return float(result.test_metrics["accuracy"]), seconds, done


def bench_mr(args: argparse.Namespace, glove: Path) -> None:
    train, test = Path(args.data_dir) / "mr_train.csv", Path(args.data_dir) / "mr_test.csv"
    settings: dict[str, Any] = {}
    if args.smoke:  # a 500-row slice of each split
        full, _ = read_labelled(train)
        full_test, _ = read_labelled(test)
        train = write_csv(subsample(full, 500 / len(full), 0), OUT / "smoke" / "train.csv")
        test = write_csv(subsample(full_test, 500 / len(full_test), 0), OUT / "smoke" / "test.csv")
        settings = {"epochs": 3}
    start = time.perf_counter()
    default = default_run(train, test, glove, OUT / "mr_default", **settings)
    default_s = time.perf_counter() - start
    tuned, seconds, done = tuned_run(
        train, test, glove, OUT / "mr_tuned", args.trials, args.timeout, settings=settings,
        space={"epochs": settings["epochs"]} if settings else None,
    )  # fmt: skip
    name = "MR (500-row slice, smoke)" if args.smoke else "MR"
    print(f"\n### {name}: CNN + GloVe 6B 50d, test split unseen during the search\n")
    print("| run | test accuracy | trials | seconds |")
    print("|---|---:|---:|---:|")
    print(f"| default settings | {100 * default:.2f}% | 1 | {default_s:.0f} |")
    print(f"| tuned | {100 * tuned:.2f}% | {done} | {seconds:.0f} |")
    print(f"\ntuned - default: {100 * (tuned - default):+.2f} points (target >= +1.0)")
    if not args.smoke and args.seeds > 1:
        mr_seeds(args.seeds, train, test, glove, (default, tuned))


def mr_seeds(
    seeds: int, train: Path, test: Path, glove: Path, seed0: tuple[float, float]
) -> None:
    """The default and the search's `best.yaml` retrained with seeds 1.. (seed 0: the search).

    `best.yaml` is run as the final retrain ran it: every training row, the search's epoch
    count and linear share, no validation split.
    """
    best = FinetuneConfig.load(OUT / "mr_tuned" / "best.yaml").replace(
        train=str(train), valid=None, valid_fraction=0.0, test=str(test), plots=False,
        progress=False,
    )  # fmt: skip
    rows = [seed0]
    for seed in range(1, seeds):
        default = default_run(train, test, glove, OUT / f"mr_default{seed}", seed=seed)
        config = best.replace(seed=seed, out=str(OUT / f"mr_best{seed}"))
        tuned = finetune(config, overwrite=True, log=lambda _m: None).metrics["test"]
        rows.append((default, float(tuned["accuracy"])))
    print("\n| seed | default | tuned (`best.yaml`) |\n|---|---:|---:|")
    for seed, (d, t) in enumerate(rows):
        print(f"| {seed} | {100 * d:.2f} | {100 * t:.2f} |")
    means = [100 * statistics.mean(r[i] for r in rows) for i in (0, 1)]
    print(f"| mean | {means[0]:.2f} | {means[1]:.2f} |")


def bench_bbc(args: argparse.Namespace, glove: Path, bbc: Path) -> None:
    data, _ = read_labelled(bbc, encoding="cp1252", errors="replace")
    train, test = stratified_split(data, 0.2, 0)
    test_csv = write_csv(test, OUT / "bbc" / "test.csv")
    tuned_acc, default_acc = [], []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        part = subsample(train, 0.05, seed)
        train_csv = write_csv(part, OUT / "bbc" / f"train5-seed{seed}.csv")
        default_acc.append(default_run(train_csv, test_csv, glove, OUT / f"bbc_default{seed}"))
        acc, seconds, done = tuned_run(
            train_csv, test_csv, glove, OUT / f"bbc_tuned{seed}",
            args.bbc_trials or args.trials, args.timeout, cv=5, seed=seed, jobs=args.jobs,
            keep=args.keep_studies,
        )  # fmt: skip
        tuned_acc.append(acc)
        chosen = json.loads((OUT / f"bbc_tuned{seed}" / "tune.json").read_text())["selection"]
        print(f"BBC 5% seed {seed} ({len(part)} articles): default {100 * default_acc[-1]:.2f}%, "
              f"tuned {100 * acc:.2f}% ({done} trials, {seconds:.0f}s)")  # fmt: skip
        print(f"  selection: {chosen['reason']}")
    print("\n### BBC News, 5% of train, `--cv 5`\n")
    print("| run | mean test accuracy | per seed |")
    print("|---|---:|---|")
    for name, accs in (("default settings", default_acc), ("tuned", tuned_acc)):
        each = ", ".join(f"{100 * a:.2f}" for a in accs)
        print(f"| {name} | {100 * statistics.mean(accs):.2f}% | {each} |")
    print("\ntarget: tuned >= 93.5%")


def bench_sst5(args: argparse.Namespace, glove: Path) -> None:
    """Regression: tuned (validated on dev) against the default, both on train + dev."""
    folder = Path(args.data_dir)
    train, dev, test = (folder / f"sst5_{s}.csv" for s in ("train", "dev", "test"))
    out = OUT / "sst5_tuned"
    if out.exists() and not args.keep_studies:
        shutil.rmtree(out)
    start = time.perf_counter()
    result = tune(
        train, valid=dev, test=test, vectors=str(glove), model="cnn", out=out,
        trials=args.trials, timeout=args.timeout, seed=0, progress=False,
        config={"task": "regression", "lower": True, "progress": False}, log=print,
    )  # fmt: skip
    minutes = (time.perf_counter() - start) / 60
    both = [read_labelled(p)[0] for p in (train, dev)]
    rows_in = SimpleNamespace(texts=[t for d in both for t in d.texts],
                              labels=[y for d in both for y in d.labels])  # fmt: skip
    pool = write_csv(rows_in, OUT / "sst5" / "train_dev.csv")
    tuned = FinetuneConfig.load(out / "best.yaml").replace(
        train=str(pool), valid=None, valid_fraction=0.0, test=str(test), plots=False,
        progress=False,
    )  # the final retrain's set-up: all labelled rows, the search's epochs and share
    rows = []
    for seed in range(args.seeds):
        default = FinetuneConfig(
            train=str(pool), test=str(test), vectors=str(glove), task="regression", lower=True,
            seed=seed, out=str(OUT / f"sst5_default{seed}"), progress=False, plots=False,
        )  # fmt: skip
        runs = (default, tuned.replace(seed=seed, out=str(OUT / f"sst5_best{seed}")))
        rows.append([finetune(c, overwrite=True, log=lambda _m: None).metrics["test"]
                     for c in runs])  # fmt: skip
    print(f"\n### SST-5 regression: {len(result.trials)} trials in {minutes:.1f} min; test "
          f"Pearson r of the search's final model {result.test_metrics['pearson']:.4f}\n")
    print("| seed | default: Pearson r | RMSE | tuned (`best.yaml`): Pearson r | RMSE |")
    print("|---|---:|---:|---:|---:|")
    for seed, (d, t) in enumerate(rows):
        print(f"| {seed} | {d['pearson']:.4f} | {d['rmse']:.4f} | {t['pearson']:.4f} | "
              f"{t['rmse']:.4f} |")
    mean = [statistics.mean(r[i][k] for r in rows) for i in (0, 1) for k in ("pearson", "rmse")]
    print(f"| mean | {mean[0]:.4f} | {mean[1]:.4f} | {mean[2]:.4f} | {mean[3]:.4f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", required=True, help="folder with mr_train/mr_test.csv")
    parser.add_argument("--only", choices=["mr", "bbc", "sst5"],
                        help="one benchmark (sst5, a regression, runs only when named)")
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--bbc-trials", type=int, help="trials per BBC subset (default: --trials)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes of each BBC search")
    parser.add_argument("--first-seed", type=int, default=0, help="first BBC subset seed")
    parser.add_argument(
        "--keep-studies",
        action="store_true",
        help="continue the BBC studies already in benchmarks/out/tune (no new trials when they "
        "are complete: the selection and final retrain only)",
    )
    parser.add_argument("--smoke", action="store_true", help="3 trials on 500 rows of MR")
    args = parser.parse_args()
    if args.smoke:
        args.trials, args.only = 3, "mr"
    glove, bbc = demo_paths()
    print(f"{platform.processor() or platform.machine()}, {platform.python_version()}")
    if args.only in (None, "mr"):
        bench_mr(args, glove)
    if args.only in (None, "bbc"):
        bench_bbc(args, glove, bbc)
    if args.only == "sst5":
        bench_sst5(args, glove)


if __name__ == "__main__":
    main()
