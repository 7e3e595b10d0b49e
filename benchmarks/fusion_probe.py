"""Would a CNN + linear late fusion beat the linear baseline? A probe on training data only.

Issue 11's remaining gaps (MR, SST-2, BBC, Chinese reviews) are ones where the TF-IDF linear
model beats every static-vector family searched in benchmarks/defaults.md. Before building a
fused model family, this measures what fusion would give: each dataset's *training* CSV is
split 85/15 (stratified, seed 0; the test CSV is never read); on the 85 % the default CNN
(GloVe 6B 50d, Chinese: word2vec pretrained on the 85 % with jieba), the same CNN with a
random embedding, and the linear model (LinearSVC, and logistic regression) are trained with
`finetune`; on the 15 % each is scored alone and averaged with a linear model's class
probabilities (equal weights: nothing is tuned on the held-out rows).

    OMP_WAIT_POLICY=PASSIVE python benchmarks/fusion_probe.py --data-dir ../shared/data/textcls

`--weighted` carves a validation split from the 85 % first (10 %, stratified, seed 1): the
CNN early-stops on it, the linear models are fitted without it (a linear run otherwise refits
on train + valid), and each fusion's CNN weight is the
one of 0, 0.25, 0.5, 0.75, 1 with the best validation accuracy (ties: nearest 0.5) — what a
fused model family would do on its own validation split.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from _assets import glove_dir, zh_word2vec
from bench_tune import write_csv
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.data import read_labelled, stratified_split
from vecgraft.finetune.fusion import WEIGHTS, choose_weight
from vecgraft.finetune.predict import load_run
from vecgraft.finetune.run import finetune

ZH = {"chnsenticorp", "shopping10"}
# system -> FinetuneConfig settings beyond train/test/tokenizer
SYSTEMS: dict[str, dict[str, Any]] = {
    "cnn": {},  # vectors filled in per dataset
    "cnn_random": {},
    "svm": {"model": "linear"},
    "logreg": {"model": "linear", "model_options": {"kind": "logreg"}},
}
FUSIONS = [("cnn", "logreg"), ("cnn", "svm"), ("cnn_random", "logreg")]


def probabilities(run: Path, texts: list[str], labels: list[str]) -> torch.Tensor:
    """[N, C] class probabilities with columns in `labels` order."""
    predictor = load_run(run)
    probs = predictor.predict_proba(texts)
    order = [predictor.labels.index(label) for label in labels]
    return probs[:, order]


def accuracy(probs: torch.Tensor, gold: list[int]) -> float:
    return 100.0 * float((probs.argmax(dim=1) == torch.tensor(gold)).float().mean())


def probe(dataset: str, data_dir: Path, work: Path, seed: int, weighted: bool = False,
          systems: list[str] | None = None, dump: Path | None = None) -> dict[str, float]:
    data, _ = read_labelled(data_dir / f"{dataset}_train.csv")
    fit, held = stratified_split(data, 0.15, 0)
    valid_csv: Path | None = None
    if weighted:
        fit, valid = stratified_split(fit, 0.1, 1)
        valid_csv = write_csv(valid, work / "valid.csv")
    fit_csv = write_csv(fit, work / "fit.csv")
    held_csv = write_csv(held, work / "held.csv")
    labels = sorted(set(fit.labels))
    gold = [labels.index(y) for y in held.labels]
    zh = dataset in ZH
    # Chinese: word2vec on the fitting part only, as textcls.py pretrains it on train
    vectors = zh_word2vec(fit_csv, work / "w2v") if zh else str(glove_dir())
    probs: dict[str, torch.Tensor] = {}
    vprobs: dict[str, torch.Tensor] = {}
    for name, settings in SYSTEMS.items():
        if systems and name not in systems:
            continue
        # a linear run refits on train + valid: with --weighted it gets no validation split,
        # or the weights would be chosen on rows it was fitted on
        linear = settings.get("model") == "linear"
        split: dict[str, Any] = {}
        if valid_csv:
            split = {"valid_fraction": 0.0} if linear else {"valid": str(valid_csv)}
        config = FinetuneConfig(
            train=str(fit_csv), test=str(held_csv), out=str(work / name), seed=seed, **split,
            tokenizer="jieba" if zh else None, plots=False, progress=False,
            vectors=vectors if name == "cnn" else "random", **settings,
        )  # fmt: skip
        finetune(config, overwrite=True, log=lambda _m: None)
        probs[name] = probabilities(work / name, list(held.texts), labels)
        if weighted:
            vprobs[name] = probabilities(work / name, list(valid.texts), labels)
    scores = {name: accuracy(p, gold) for name, p in probs.items()}
    if dump:  # every system's probabilities, to compare fusion rules offline
        dump.mkdir(parents=True, exist_ok=True)
        arrays = {f"held_{k}": v.numpy() for k, v in probs.items()}
        arrays |= {f"valid_{k}": v.numpy() for k, v in vprobs.items()}
        arrays["held_gold"] = np.asarray(gold)
        if weighted:
            arrays["valid_gold"] = np.asarray([labels.index(y) for y in valid.labels])
        np.savez(dump / f"{dataset}.npz", **arrays)
    for a, b in FUSIONS:
        if a not in probs or b not in probs:
            continue
        w = 0.5
        if weighted:
            vgold = [labels.index(y) for y in valid.labels]
            # the rule `--fuse-linear` uses (vecgraft.finetune.fusion)
            w = choose_weight(vprobs[a].numpy(), vprobs[b].numpy(), vgold)
            scores[f"w({a}+{b})"] = w
            for x in WEIGHTS:  # the whole curve, to choose a tie rule on training data
                scores[f"valid@{x}({a}+{b})"] = accuracy(x * vprobs[a] + (1 - x) * vprobs[b],
                                                         vgold)
                scores[f"held@{x}({a}+{b})"] = accuracy(x * probs[a] + (1 - x) * probs[b], gold)
        scores[f"{a}+{b}"] = accuracy(w * probs[a] + (1 - w) * probs[b], gold)
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--datasets", nargs="+", default=["mr", "sst2", "trec", "chnsenticorp"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--weighted", action="store_true",
                        help="choose each fusion's weight on a validation split")
    parser.add_argument("--systems", nargs="+", choices=list(SYSTEMS),
                        help="train only these (default: all)")
    parser.add_argument("--dump", type=Path,
                        help="save each dataset's validation and held-out probabilities here")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/fusion_probe.json"))
    args = parser.parse_args()
    results: dict[str, Any] = {}
    for dataset in args.datasets:
        with tempfile.TemporaryDirectory() as tmp:
            results[dataset] = probe(dataset, args.data_dir, Path(tmp), args.seed,
                                     args.weighted, args.systems, args.dump)
        print(dataset, json.dumps({k: round(v, 2) for k, v in results[dataset].items()}),
              flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"seed": args.seed, "weighted": args.weighted,
                                         "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
