"""Round 44 of defaults.md: the linear half's probabilities calibrated before the 5 % mix.

Training data only. Round 43 found why the default ensemble at 5 % is the networks' answer:
each member has too few validation rows for the pool (8 BBC articles, 26 reviews), so it
mixes the two models' probabilities with a share chosen on them, and at the usual ½ the
network's sharp probabilities outvote the SVM's flat softmax. Here each member's linear
half is calibrated first, without its validation rows: an inverse temperature t
(softmax(t * scores), the least log-loss) fitted on out-of-fold scores of its own training
rows (`--folds` stratified folds, seed 0: the linear model refitted on the rest of them),
for the model that judges the share (fitted on the training split) on that split's rows and
for the one kept (train + valid) on those. Per split, from round 43's run folders
(`meanvec_small.py`'s `r43_<set>_default<s>` and `_linear<s>` under `--runs`, read back with
`load_run`; no network is trained), the mean of the members' fused probabilities on the
scoring rows for:

* `today`: the share chosen as the library chooses it (must give the run's own accuracy:
  `check_*` fields);
* `cal_share`: the calibrated linear half, the share chosen the same way on the same rows;
* `cal_product`: the calibrated linear half times the network, renormalised (the log-linear
  pool at (1, 1)), nothing chosen on the validation rows.

`--table --log FILE` prints the log's rows as round 44's table.

    OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE python benchmarks/calibrate_small.py \\
        --dataset chnsenticorp --runs benchmarks/out/defaults_small --seeds 0 1 2 3 \\
        --log rows.jsonl   # --runs: where `meanvec_small.py` wrote its run folders
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from linear_probe import _acc, _temperature, report_row
from meanvec_small import member_core
from vecgraft.finetune.fusion import _targets, choose_weight, fuse, log_pool
from vecgraft.finetune.recipe import ClassifierRecipe

VARIANTS = ("today", "cal_share", "cal_product")


@dataclass
class DumpedMember:
    """A finished ensemble member read back from its folder, as `member_core` reads a recipe.

    Its splits are carved again from the run's files with its own settings and seed (as
    `ensemble._member_recipe` carved them); its network is the folder's `best/` checkpoint.
    """

    config: Any  # its FinetuneConfig
    splits: Any
    labels: list[str]
    tokenizer: dict[str, Any]
    network: Any  # the network's `Predictor` (load_run(...).network)
    fusion: Any  # its `Fusion`: the share it chose
    targets: dict[str, list[int]] = field(default_factory=dict)
    regression: bool = False
    pools = ClassifierRecipe.pools

    def _split(self, name: str) -> Any:
        return getattr(self.splits, name)

    def _linear_tokenizer(self) -> dict[str, Any]:
        return dict(self.tokenizer)

    def _network_outputs(self, name: str) -> np.ndarray:
        return self.network.predict_proba(list(self._split(name).texts)).numpy()


def dumped_member(folder: Path) -> DumpedMember:
    """The member in `folder` (`members/<k>` of an ensemble run)."""
    from vecgraft.finetune.config import FinetuneConfig
    from vecgraft.finetune.labels import LabelMap
    from vecgraft.finetune.predict import load_run
    from vecgraft.finetune.prepare import carve_valid, preread

    config = FinetuneConfig.load(folder / "config.json", saved_run=True)
    splits = carve_valid(preread(config).splits, config, config.seed, lambda _m: None)
    run = load_run(folder, device="cpu")
    meta = json.loads((folder / "best" / "model.json").read_text(encoding="utf-8"))
    member = DumpedMember(config, splits, list(run.labels), dict(meta["tokenizer"]), run.network,
                          run.fusion)  # fmt: skip
    labels = LabelMap(member.labels)
    member.targets = {"train": labels.encode_rows(splits.train),
                      "valid": labels.encode_rows(splits.valid),
                      "test": labels.encode_scored(splits.test.labels)[0]}  # fmt: skip
    return member


def out_of_fold(settings: Any, texts: list[str], y: list[int], k: int, folds: int) -> np.ndarray:
    """[N, k] softmax-of-score probabilities of each row by a linear model that did not see it."""
    from sklearn.model_selection import StratifiedKFold

    from vecgraft.finetune.fusion import linear_proba
    from vecgraft.finetune.linear import LinearModel

    smallest = min(np.bincount(y))
    cv = StratifiedKFold(n_splits=max(2, min(folds, smallest)), shuffle=True, random_state=0)
    out = np.zeros((len(texts), k), dtype=np.float32)
    for fit_rows, held in cv.split(texts, y):
        model = LinearModel(settings).fit([texts[i] for i in fit_rows],
                                          _targets([y[i] for i in fit_rows], False))  # fmt: skip
        out[held] = linear_proba(model, [texts[i] for i in held], k)
    return out


def scaled(p: np.ndarray, t: float) -> np.ndarray:
    """softmax(t * log p): for the SVM's softmax of scores, softmax(t * scores)."""
    return log_pool(p, p, (t, 0.0))


def member_variants(m: dict[str, Any], folds: int) -> dict[str, Any]:
    """One member's fused scoring-row probabilities per variant, its shares, its temperatures."""
    from vecgraft.finetune.fusion import linear_proba

    (tr, va, te), (y_tr, y_va), (first, kept) = m["texts"], m["y"], m["fits"]
    k, net_va, net_te = m["k"], *m["net"]
    lin_va, lin_te = linear_proba(first, va, k), linear_proba(kept, te, k)
    t_first = _temperature(out_of_fold(m["settings"], tr, y_tr, k, folds), np.asarray(y_tr))
    both = [*tr, *va]
    t_kept = _temperature(out_of_fold(m["settings"], both, [*y_tr, *y_va], k, folds),
                          np.asarray([*y_tr, *y_va]))  # fmt: skip
    cal_va, cal_te = scaled(lin_va, t_first), scaled(lin_te, t_kept)
    share = choose_weight(net_va, lin_va, y_va)
    cal = choose_weight(net_va, cal_va, y_va)
    return {"today": fuse(net_te, lin_te, share), "cal_share": fuse(net_te, cal_te, cal),
            "cal_product": log_pool(net_te, cal_te, (1.0, 1.0)), "shares": (share, cal),
            "t": (t_first, t_kept), "lin_va": lin_va, "linear": lin_te}  # fmt: skip


def saved_linear(member: DumpedMember) -> np.ndarray:
    """The scoring-row probabilities of the linear half the member's run saved (fusion/)."""
    from vecgraft.finetune.fusion import linear_proba

    return linear_proba(member.fusion.linear, list(member.splits.test.texts), len(member.labels))


def split_row(runs: Path, dataset: str, seed: int, folds: int) -> dict[str, Any]:
    """One split of round 43: each variant's scoring accuracy, the networks, the baseline."""
    run = runs / f"r43_{dataset}_default{seed}"
    members = [dumped_member(p) for p in sorted((run / "members").iterdir(), key=lambda p: p.name)]
    cores = [member_core(m) for m in members]
    if any(c["pools"] for c in cores):
        raise SystemExit(f"{run}: a member pools (at least min_valid rows): not round 43's mix")
    parts = [member_variants(c, folds) for c in cores]
    gold = np.asarray(members[0].targets["test"])
    row: dict[str, Any] = {"dataset": dataset, "seed": seed, "train": len(members[0].splits.train)
                           + len(members[0].splits.valid), "folds": folds}  # fmt: skip
    for name in VARIANTS:
        row[name] = _acc(np.mean([p[name] for p in parts], axis=0), gold)
    row["shares_today"] = [p["shares"][0] for p in parts]
    row["shares_cal"] = [p["shares"][1] for p in parts]
    row["t_first"] = [round(p["t"][0], 3) for p in parts]
    row["t_kept"] = [round(p["t"][1], 3) for p in parts]
    row["net_alone"] = _acc(np.mean([c["net"][1] for c in cores], axis=0), gold)
    row["linear_alone"] = _acc(np.mean([p["linear"] for p in parts], axis=0), gold)
    library = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    row["check_library"] = 100 * float(library["test"]["accuracy"])
    row["check_shares"] = [m.fusion.weight for m in members]
    # the kept linear halves refitted here against those the run saved, on the scoring rows
    row["check_lin"] = max(float(np.abs(p["linear"] - saved_linear(m)).max())
                           for p, m in zip(parts, members))  # fmt: skip
    linear = json.loads((runs / f"r43_{dataset}_linear{seed}" / "metrics.json").read_text("utf-8"))
    row["linear_baseline"] = 100 * float(linear["test"]["accuracy"])
    return row


def table(log: Path) -> str:
    """Markdown rows of `--log`: per set and variant, mean ± sd over splits; the gain over
    today, mean ± sd, and the splits ahead / behind."""
    rows = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]

    def spread(values: list[float]) -> str:
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.mean(values):.2f} ± {sd:.2f}"

    lines = []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        every = [r for r in rows if r["dataset"] == dataset]
        for name in VARIANTS:
            gain = [r[name] - r["today"] for r in every]
            ahead, behind = sum(g > 0 for g in gain), sum(g < 0 for g in gain)
            over = [r[name] - r["linear_baseline"] for r in every]
            lines.append(f"| {dataset} ({len(every)}) | {name} | {spread([r[name] for r in every])}"
                         f" | {spread(gain)} ({ahead} / {behind}) | {spread(over)} |")  # fmt: skip
        lines.append(f"| {dataset}: networks alone {spread([r['net_alone'] for r in every])}, "
                     f"linear baseline {spread([r['linear_baseline'] for r in every])} | | | | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="bbc", help="bbc, or chnsenticorp")
    parser.add_argument("--runs", type=Path, help="the folder of round 43's run folders")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--log", type=Path)
    parser.add_argument("--table", action="store_true", help="print --log's rows as a table")
    args = parser.parse_args()
    if args.table and args.log is not None:
        print(table(args.log))
        return
    if args.runs is None:
        parser.error("--runs is required (round 43's run folders)")
    for seed in args.seeds:
        report_row(split_row(args.runs, args.dataset, seed, args.folds), args.log)


if __name__ == "__main__":
    main()
