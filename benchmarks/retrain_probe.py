"""Does tune's final retrain do better on the trial's LR schedule than on its own?

`tune` retrains the chosen trial's settings on all training rows for the trial's best
epoch count (`_final_config`: epochs = best epoch, no validation split). The step budget's
warm-up (10 %) and linear decay then span those few epochs: the retrain has its own,
compressed schedule, where the trial at that epoch was still early in a long one.

One run of this probe, on the training CSV only (no test file is read):
  * `tune`'s own data preparation (`prepare_data`) carves a stratified 15 % held-out part
    (`split_seed` = seed = S), optionally subsamples the rest (`--fraction`, of the whole
    file's rows), and carves the trial's 10 % validation split as `tune` does;
  * trial 0 of `tune` with the library's default settings (`_Worker.objective`, an empty
    search space) gives the best epoch, the trial's schedule and its fusion;
  * (a) today's final retrain: `_final_config` on all the trial's rows (`final_splits`);
  * (b) the trial's schedule: the same config, but the learning rate follows the trial's
    curve (its planned steps and warm-up steps) and training stops after the trial's best
    epoch's optimizer steps (best epoch x the trial's steps per epoch);
(c, `--also-epochs`) the trial's schedule, stopped after best-epoch epochs of all rows
(about 10 % more steps than (b));
and the held-out accuracy (fused, as the final run ships it) of the trial's model, (a)
and (b) is printed as one JSON line.

    OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE python benchmarks/retrain_probe.py \\
        --data-dir DIR --dataset mr --seed 0 [--fraction 0.05] >> rows.jsonl
    python benchmarks/retrain_probe.py --table rows.jsonl   # the Markdown table of tune.md
"""

from __future__ import annotations

import argparse
import json
import math
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _assets import glove_dir

ZH = {"chnsenticorp"}


@contextmanager
def _recording(trainers: list[Any], recipes: list[Any], held: Any = None) -> Any:
    """Record each Trainer and each trial recipe; a trial's test rows are the held-out ones.

    Why the test rows: a trial's splits have test = valid, never scored; giving the held-out
    rows instead lets the trial's model be scored on them afterwards (training reads no
    test text).
    """
    import vecgraft.evaluate._tune_study as study
    import vecgraft.finetune.recipe as recipe_mod
    from vecgraft.finetune.prepare import Splits

    base_trainer, base_recipe = recipe_mod.Trainer, study.splits_recipe

    class Recorded(base_trainer):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            trainers.append(self)

    def splits_recipe(config: Any, splits: Any, **kwargs: Any) -> Any:
        splits = Splits(splits.train, splits.valid, held.test, held.notes)
        recipe = base_recipe(config, splits, **kwargs)
        recipes.append(recipe)
        return recipe

    recipe_mod.Trainer, study.splits_recipe = Recorded, splits_recipe
    try:
        yield
    finally:
        recipe_mod.Trainer, study.splits_recipe = base_trainer, base_recipe


@contextmanager
def _schedule_over(total: int | None) -> Any:
    """Trainers plan `total` steps of LR schedule (None: their own), whatever they train."""
    import vecgraft.finetune.train as train_mod

    base = train_mod.planned_steps
    if total is not None:
        train_mod.planned_steps = lambda *_args: total
    try:
        yield
    finally:
        train_mod.planned_steps = base


def _final_run(config: Any, splits: Any, vectors: Any, total: int | None) -> dict[str, Any]:
    """Train `config` on `splits` as tune's final run does; held-out accuracy and schedule."""
    from vecgraft.evaluate._tune_data import splits_recipe

    trainers: list[Any] = []
    start = time.perf_counter()
    with _recording(trainers, [], splits), _schedule_over(total):
        recipe = splits_recipe(config, splits, vectors=vectors, write_files=False,
                               log=lambda _m: None)  # fmt: skip
        recipe.setup_data()
        recipe.setup_model()
        state = recipe.train()
        metrics = recipe.evaluate()
    trainer = trainers[-1]
    return {
        "acc": 100 * metrics["test"]["accuracy"],
        "network": 100 * metrics["fusion"]["accuracy"]["test"]["network"]
        if "fusion" in metrics else None,
        "steps": state.global_step, "epochs": state.epoch,
        "schedule_steps": trainer.total_steps, "warmup_steps": trainer.warmup_steps,
        "steps_per_epoch": trainer.steps_per_epoch,
        "seconds": round(time.perf_counter() - start, 1),
    }  # fmt: skip


RECIPES = {"trial": "trial model", "today": "(a) own schedule",
           "trials_schedule": "(b) trial's schedule, its steps",
           "trials_schedule_epochs": "(c) trial's schedule, its epochs"}  # fmt: skip


def _accuracy(row: dict[str, Any], recipe: str) -> float | None:
    value = row.get(recipe)
    return value if not isinstance(value, dict) else value["acc"]


def table(path: Path) -> str:
    """Held-out accuracy per dataset (mean over seeds) and recipe, as a Markdown table.

    A (dataset, seed) run twice (a rerun with `--also-epochs`) is counted once; its trial,
    (a) and (b) must agree, or the runs were not reproducible and the table says nothing.
    """
    cells: dict[tuple[str, int], dict[str, Any]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        key = (row["dataset"], row["seed"])
        old = cells.setdefault(key, row)
        for recipe in ("trial", "today", "trials_schedule"):
            if _accuracy(old, recipe) != _accuracy(row, recipe):
                raise SystemExit(f"{path}: {key} ran twice with different {recipe} scores")
        old.update({k: v for k, v in row.items() if k not in old})
    datasets = list(dict.fromkeys(name for name, _ in cells))
    head = "| data | seeds | best epoch / planned | " + " | ".join(RECIPES.values()) + " |"
    lines = [head, "|---|---|---|" + "---:|" * len(RECIPES)]
    means: dict[str, list[float]] = {r: [] for r in RECIPES}
    for name in datasets:
        rows = [row for (d, _), row in cells.items() if d == name]
        epochs = ", ".join(f"{r['best_epoch']}/{r['trial_epochs']}" for r in rows)
        shown = []
        for recipe in RECIPES:
            scores = [a for a in (_accuracy(r, recipe) for r in rows) if a is not None]
            shown.append(f"{sum(scores) / len(scores):.2f}" if scores else "–")
            if len(scores) == len(rows):
                means[recipe].extend(scores)
        lines.append(f"| {name} | {len(rows)} | {epochs} | " + " | ".join(shown) + " |")
    every = [f"{sum(v) / len(v):.2f} ({len(v)})" if v else "–" for v in means.values()]
    lines.append("| mean of cells (n) | | | " + " | ".join(every) + " |")
    lines += ["", *_counts(cells, datasets), "", *_seconds(cells, datasets)]
    return "\n".join(lines)


def _counts(cells: dict[tuple[str, int], dict[str, Any]], datasets: list[str]) -> list[str]:
    """(b) and (c) against (a), on the cells where both ran: mean gap, ahead/tied/behind."""
    out = []
    for recipe in ("trials_schedule", "trials_schedule_epochs"):
        pairs = {key: (_accuracy(r, recipe), _accuracy(r, "today")) for key, r in cells.items()}
        gaps = {key: b - a for key, (b, a) in pairs.items() if b is not None and a is not None}
        if not gaps:
            continue
        by_data = [[g for (d, _), g in gaps.items() if d == name] for name in datasets]
        means = [sum(g) / len(g) for g in by_data if g]
        out.append(
            f"- {RECIPES[recipe]} − (a), on {len(gaps)} cells: mean "
            f"{sum(gaps.values()) / len(gaps):+.2f} points; cells ahead/tied/behind "
            f"{_tally(list(gaps.values()))}; datasets (mean over seeds) {_tally(means)}"
        )
    return out


def _seconds(cells: dict[tuple[str, int], dict[str, Any]], datasets: list[str]) -> list[str]:
    """Mean seconds per run of each recipe (the trial's include scoring it held-out)."""
    lines = ["| data | " + " | ".join(RECIPES.values()) + " |", "|---|" + "---:|" * len(RECIPES)]
    for name in datasets:
        rows = [row for (d, _), row in cells.items() if d == name]
        shown = []
        for recipe in RECIPES:
            took = [r["trial_seconds"] if recipe == "trial" else r[recipe]["seconds"]
                    for r in rows if recipe in r]  # fmt: skip
            shown.append(f"{sum(took) / len(took):.1f}" if took else "–")
        lines.append(f"| {name} | " + " | ".join(shown) + " |")
    return lines


def _tally(gaps: list[float]) -> str:
    ahead = sum(g > 1e-9 for g in gaps)
    behind = sum(g < -1e-9 for g in gaps)
    return f"{ahead}/{len(gaps) - ahead - behind}/{behind}"


def main() -> None:
    import optuna

    from vecgraft.evaluate._tune_data import prepare_data
    from vecgraft.evaluate._tune_outputs import _final_config, final_splits
    from vecgraft.evaluate._tune_spec import TuneSpec
    from vecgraft.evaluate._tune_study import _Worker
    from vecgraft.finetune.config import FinetuneConfig

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, help="print the table of these JSON rows")
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--dataset")
    parser.add_argument("--seed", type=int, help="split_seed and seed")
    parser.add_argument("--fraction", type=float, default=1.0,
                        help="train on this fraction of the whole file's rows")  # fmt: skip
    parser.add_argument("--work", type=Path, default=Path("/tmp/vecgraft_retrain"))
    parser.add_argument("--also-epochs", action="store_true",
                        help="(c) too: the trial's schedule, best-epoch epochs")  # fmt: skip
    args = parser.parse_args()
    if args.table is not None:
        print(table(args.table))
        return
    if args.data_dir is None or args.dataset is None or args.seed is None:
        parser.error("--data-dir, --dataset and --seed are required (or --table FILE)")
    zh = args.dataset in ZH
    base = FinetuneConfig(
        train=str(args.data_dir / f"{args.dataset}_train.csv"), test=None, test_fraction=0.15,
        train_fraction=min(1.0, args.fraction / 0.85), split_seed=args.seed, seed=args.seed,
        vectors="random" if zh else str(glove_dir()), tokenizer="jieba" if zh else "regex",
        lower=not zh, plots=False, progress=False,
    )  # fmt: skip
    spec = TuneSpec(base=base, out=str(args.work / f"{args.dataset}_{args.seed}"), trials=1)
    data = prepare_data(spec)
    worker = _Worker(spec, data)
    trainers: list[Any] = []
    recipes: list[Any] = []
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction=spec.direction)
    splits = final_splits(spec, data)  # the held-out rows less those seen in training
    start = time.perf_counter()
    with _recording(trainers, recipes, splits):
        study.optimize(worker.objective, n_trials=1)
        trial_metrics = recipes[-1].evaluate()
    trial_seconds = time.perf_counter() - start
    best, trial = study.best_trial, trainers[-1]
    best_epoch = int(best.user_attrs["best_epoch"])
    final = _final_config(spec, best)
    vectors = worker.vectors()
    today = _final_run(final, splits, vectors, None)
    best_steps = best_epoch * trial.steps_per_epoch  # the trial's optimizer steps at its best
    follow = final.replace(epochs=math.ceil(best_steps / today["steps_per_epoch"]),
                           max_steps=best_steps, warmup=trial.warmup_steps)  # fmt: skip
    trials_schedule = _final_run(follow, splits, vectors, trial.total_steps)
    extra = {}
    if args.also_epochs:  # as many passes as the trial's best epoch: ~10 % more steps
        passes = final.replace(warmup=trial.warmup_steps)
        extra["trials_schedule_epochs"] = _final_run(passes, splits, vectors, trial.total_steps)
    name = args.dataset + (f"{round(100 * args.fraction)}" if args.fraction < 1 else "")
    print(json.dumps({
        "dataset": name, "seed": args.seed, "trial_rows": len(data.folds[0][0]),
        "retrain_rows": len(data.pool), "held_out_rows": len(splits.test),
        "best_epoch": best_epoch, "trial_epochs": trial.epochs,
        "trial_steps_per_epoch": trial.steps_per_epoch, "trial_schedule_steps": trial.total_steps,
        "trial_warmup_steps": trial.warmup_steps, "trial_valid": round(100 * best.value, 2),
        "fusion": {k: v for k, v in final.to_dict().items() if k in ("fuse_pool", "fuse_weight")},
        "trial": round(100 * trial_metrics["test"]["accuracy"], 2),
        "trial_seconds": round(trial_seconds, 1), "today": today,
        "trials_schedule": trials_schedule, **extra,
    }), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
