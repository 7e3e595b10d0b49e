"""Round 43 of defaults.md: round 42's mean-vector columns on the 5 % sets, fused as the default.

Training data only, on `defaults_small.py`'s protocol (rounds 10-22: 25 % of the training part
kept as scoring rows, seed 100+s; 5 % of the rest drawn, BBC News 79 articles; the Chinese
word2vec pretrained on the drawn reviews, jieba). The test CSVs are never read. Each split
trains today's default with `finetune` (at this size: three networks, each with its own
validation split and fused share; `vecgraft.finetune.ensemble`), keeping the members' recipes.
Then, per member and per `w`, the linear half is refitted with `w` times the text's mean
pretrained vector appended to its TF-IDF columns (`meanvec_probe.py`; the member's own
tokens), its share chosen on the member's validation rows as the library chooses it (below
`min_valid` rows: the best of `fusion.WEIGHTS` by accuracy, ties nearest ½), and the
members' fused probabilities averaged on the scoring rows. `w = 0` must reproduce the run's
own accuracy (`check_*` fields). Also per split: `--model linear`, and (unless `--no-random`)
the same default with a random embedding (it has no pretrained vectors to append: its fused
row is the library's; `--random-only` runs it alone for splits first run without it).
`--table --log FILE` prints the log's rows as round 43's table.

    OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE python benchmarks/meanvec_small.py \\
        --dataset chnsenticorp --data-dir ../shared/data/textcls --seeds 0 1 2 3 --log rows.jsonl
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from _assets import zh_word2vec
from defaults_small import OUT, ZH, draw, training_part
from linear_probe import _acc, report_row
from meanvec_probe import WEIGHTS, _features, _proba, mean_vectors
from vecgraft.cli.demo import demo_paths


@contextmanager
def kept_members() -> Iterator[list[Any]]:
    """The member recipes an ensemble run builds, kept after it (a patch in this process)."""
    from vecgraft.finetune import ensemble

    original = ensemble._member_recipe
    kept: list[Any] = []

    def keep(*args: Any, **kwargs: Any) -> Any:
        recipe = original(*args, **kwargs)
        kept.append(recipe)
        return recipe

    ensemble._member_recipe = keep  # type: ignore[assignment]
    try:
        yield kept
    finally:
        ensemble._member_recipe = original  # type: ignore[assignment]


def default_run(config: Any) -> tuple[float, list[Any]]:
    """Today's default on `config`: its scoring accuracy (%) and its members' recipes."""
    from vecgraft.finetune.run import finetune

    with kept_members() as members:
        result = finetune(config, overwrite=True, log=lambda _m: None)
    if len(members) < 2:
        raise SystemExit(f"{config.train}: the default trained one network, not an ensemble")
    return 100 * float(result.metrics["test"]["accuracy"]), members


def member_inputs(recipe: Any, table: Any, dim: int) -> dict[str, Any]:
    """What a member's refits share at every `w`: texts, targets, TF-IDF fits, means, network."""
    from vecgraft.text import Tokenizer

    m = member_core(recipe)
    tokenize = Tokenizer.from_config(recipe.built.meta["tokenizer"])
    m["means"] = [mean_vectors(t, table, dim, tokenize) for t in m["texts"]]
    return m


def member_core(recipe: Any) -> dict[str, Any]:
    """A member's texts, targets, nested TF-IDF fits (train; train + valid) and network outputs.

    `recipe`: a trained member's recipe, or anything with its `_split`, `targets`, `labels`,
    `_linear_tokenizer`, `pools` and `_network_outputs` (`calibrate_small.DumpedMember`).
    """
    from vecgraft.finetune import fusion as fu
    from vecgraft.finetune.linear import LinearModel

    tr, va, te = (list(recipe._split(s).texts) for s in ("train", "valid", "test"))
    y_tr, y_va = list(recipe.targets["train"]), list(recipe.targets["valid"])
    settings = fu.linear_settings(recipe._linear_tokenizer())
    first, kept = LinearModel.fit_nested(settings, [*tr, *va], fu._targets([*y_tr, *y_va], False),
                                         len(tr))  # fmt: skip
    return {"texts": (tr, va, te), "y": (y_tr, y_va), "fits": (first, kept), "settings": settings,
            "C": settings.C, "k": len(recipe.labels), "pools": recipe.pools(len(y_va)),
            "net": (recipe._network_outputs("valid"), recipe._network_outputs("test"))}  # fmt: skip


def member_fused(m: dict[str, Any], w: float) -> dict[str, Any]:
    """One member at `w`: its fused and linear probabilities on the scoring rows, its share."""
    from sklearn.base import clone
    from sklearn.svm import LinearSVC

    from vecgraft.finetune import fusion as fu

    (tr, va, te), (y_tr, y_va), (first, kept) = m["texts"], m["y"], m["fits"]
    m_tr, m_va, m_te = m["means"]
    svm = LinearSVC(C=m["C"], random_state=0)
    small = clone(svm).fit(_features(first, tr, m_tr, w), fu._targets(y_tr, False))
    big = svm.fit(_features(kept, [*tr, *va], np.vstack([m_tr, m_va]), w),
                  fu._targets([*y_tr, *y_va], False))  # fmt: skip
    lin_va = _proba(small, _features(first, va, m_va, w), m["k"])
    lin_te = _proba(big, _features(kept, te, m_te, w), m["k"])
    net_va, net_te = m["net"]
    if m["pools"]:  # not at 5 %: 8 or 26 validation rows, under min_valid
        pool = fu.fit_pool(net_va, lin_va, y_va)
        return {"fused": fu.log_pool(net_te, lin_te, pool), "linear": lin_te, "share": None,
                "lin_va": lin_va}  # fmt: skip
    share = fu.choose_weight(net_va, lin_va, y_va)
    return {"fused": fu.fuse(net_te, lin_te, share), "linear": lin_te, "share": share,
            "lin_va": lin_va}  # fmt: skip


def replay(members: list[Any], table: Any, dim: int) -> dict[str, Any]:
    """The ensemble's scoring accuracy at each `w`, its linear halves alone, the checks at 0."""
    gold = np.asarray(members[0].targets["test"])
    inputs = [member_inputs(r, table, dim) for r in members]
    out: dict[str, Any] = {}
    for w in WEIGHTS:
        parts = [member_fused(m, w) for m in inputs]
        out[f"w{w}"] = _acc(np.mean([p["fused"] for p in parts], axis=0), gold)
        out[f"w{w}_alone"] = _acc(np.mean([p["linear"] for p in parts], axis=0), gold)
        out[f"w{w}_shares"] = [p["share"] for p in parts]
        if w == 0:  # the members' own linear halves and shares, reproduced
            out["check_lin"] = max(float(np.abs(p["lin_va"] - r._valid_outputs()[1]).max())
                                   for p, r in zip(parts, members))  # fmt: skip
            out["check_shares"] = [r.fusion.weight for r in members]
    out["net_alone"] = _acc(np.mean([m["net"][1] for m in inputs], axis=0), gold)
    return out


def split_row(args: argparse.Namespace, train: Any, share: float, seed: int) -> dict[str, Any]:
    """One split: the default replayed at each `w`, the random default, the linear baseline."""
    import vecgraft
    from vecgraft.finetune.config import FinetuneConfig

    started = time.perf_counter()
    zh = args.dataset in ZH
    _rest, part, fit_csv, score_csv = draw(train, share, args.dataset, seed)
    vectors = (zh_word2vec(fit_csv, OUT / f"{args.dataset}_w2v{seed}") if zh
               else str(demo_paths()[0]))  # fmt: skip
    loaded = vecgraft.load(vectors)
    table = {word: loaded.matrix[i] for i, word in enumerate(loaded.words)}
    dim = loaded.matrix.shape[1]

    def config(name: str, **options: Any) -> FinetuneConfig:
        out = OUT / f"r43_{args.dataset}_{name}{seed}"
        return FinetuneConfig(train=str(fit_csv), test=str(score_csv), progress=False,
                              plots=False, tokenizer="jieba" if zh else None, out=str(out),
                              **options)  # fmt: skip

    if args.random_only:  # a later pass for splits first run with --no-random
        row = {"dataset": args.dataset, "seed": seed, "train": len(part)}
        random_row(config("random", vectors=None), row)
        return {**row, "seconds": round(time.perf_counter() - started, 1)}
    library, members = default_run(config("default", vectors=vectors))
    row: dict[str, Any] = {"dataset": args.dataset, "seed": seed, "train": len(part),
                           "library": library, **replay(members, table, dim)}  # fmt: skip
    row["seconds_default"] = round(time.perf_counter() - started, 1)
    if args.random:
        random_row(config("random", vectors=None), row)
    from vecgraft.finetune.run import finetune

    linear = finetune(config("linear", model="linear"), overwrite=True, log=lambda _m: None)
    row["linear_baseline"] = 100 * float(linear.metrics["test"]["accuracy"])
    row["seconds"] = round(time.perf_counter() - started, 1)
    return row


def random_row(config: Any, row: dict[str, Any]) -> None:
    """The default with a random embedding: fused (the library's) and its networks alone."""
    random_acc, random_members = default_run(config)
    gold = np.asarray(random_members[0].targets["test"])
    row["random"] = random_acc
    row["random_net_alone"] = _acc(np.mean([r._network_outputs("test") for r in random_members],
                                           axis=0), gold)  # fmt: skip


def table(log: Path) -> str:
    """Markdown rows of `--log`: per set and `w`, mean ± sd over splits; the gain over w = 0,
    mean ± sd, and the splits ahead / behind."""
    import json
    import statistics

    rows = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]

    def spread(values: list[float]) -> float:
        return statistics.stdev(values) if len(values) > 1 else 0.0
    lines = []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        every = [r for r in rows if r["dataset"] == dataset]
        mine = [r for r in every if "w0.0" in r]  # not the --random-only rows

        def cell(key: str, of: list[dict[str, Any]] = every) -> str:
            values = [r[key] for r in of if key in r]
            if len(values) < 2:
                return f"{values[0]:.2f} (1)" if values else "-"
            return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"

        for w in WEIGHTS:
            gain = [r[f"w{w}"] - r["w0.0"] for r in mine]
            ahead, behind = sum(g > 0 for g in gain), sum(g < 0 for g in gain)
            lines.append(f"| {dataset} ({len(mine)}) | {w:g} | {cell(f'w{w}')} | "
                         f"{cell(f'w{w}_alone')} | {statistics.mean(gain):+.2f} ± "
                         f"{spread(gain):.2f} ({ahead} / {behind}) |")  # fmt: skip
        lines.append(f"| {dataset}: network alone {cell('net_alone')}, linear baseline "
                     f"{cell('linear_baseline')}, random default {cell('random')} (networks "
                     f"alone {cell('random_net_alone')}) | | | | |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="bbc", help="bbc, or chnsenticorp (--data-dir)")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--log", type=Path)
    parser.add_argument("--no-random", dest="random", action="store_false",
                        help="skip the random-embedding default (its own training)")
    parser.add_argument("--random-only", action="store_true",
                        help="the random-embedding default alone (its row: random fields)")
    parser.add_argument("--table", action="store_true", help="print --log's rows as a table")
    args = parser.parse_args()
    if args.table and args.log is not None:
        print(table(args.log))
        return
    if args.dataset != "bbc" and args.data_dir is None:
        parser.error(f"--dataset {args.dataset} needs --data-dir")
    OUT.mkdir(parents=True, exist_ok=True)
    train, share = training_part(args)
    for seed in args.seeds:
        report_row(split_row(args, train, share, seed), args.log)


if __name__ == "__main__":
    main()
