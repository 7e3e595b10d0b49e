"""Round 4 of the defaults search (benchmarks/defaults.md): small training sets.

BBC News' 80/20 split made by benchmarks/textcls.py (`bbc_split`, seed 1) — its test part is
never read here. (Round 4 first ran on `stratified_split(data, 0.2, 0)`, a different split
whose training part holds most of textcls's test articles; round 4b re-ran it on textcls's
own training part.) The training part is split again: 25 % (seed 100+s) are scoring
articles, never trained on; 79 articles are drawn from the rest (`subsample`, seed s). Each
candidate trains on the 79 (its own validation split carved from them) and is scored on the
scoring articles.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/defaults_small.py [candidate ...]

`--dataset chnsenticorp --data-dir DIR` (round 11) does the same with ChnSentiCorp's training
CSV: 25 % scoring reviews, 5 % of the rest drawn (as textcls.py's `chnsenticorp5`), word2vec
pretrained on the drawn reviews only (jieba, as textcls.py), `--tokenizer jieba`; so does
`shopping10` (round 22). The English sets of the folder (`--dataset trec`, `mr`, ...; round
22) draw 5 % too and use GloVe 6B 50d, as BBC News does.
Round 15's candidates vary that word2vec (`w2v_*` keys: its passes, or the unlabelled rest of
the training part as its corpus) or drop it (`random`). `--only-seed S` (repeatable) runs
some seeds, so that two processes can share the work. `--net-alone` (round 45) adds to each
ensemble's row the accuracy of its networks alone (the mean of their probabilities).
`--share F` (round 47) draws F of the rest instead of 5 %; files and run folders then carry
the share in their names.
"""

from __future__ import annotations

import argparse
import json
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import torch

from _assets import zh_word2vec
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
    # round 11: below min_valid, the equal mix as a prior rather than a weight chosen on them
    "fused_half": {"fuse_linear": True, "fuse_weight": 0.5},
    # round 14: bfloat16 autocast on a CPU with AMX bf16 units vs float32 (defaults.md)
    "fp32_r14": {"bf16": False},
    "bf16_r14": {"bf16": True},
    # round 15: the Chinese vectors on a tiny corpus; keys starting with "w2v_" are
    # `zh_word2vec` options ("w2v_corpus": "rest" pretrains on every non-scoring review of
    # the training part with its labels dropped, not only on the drawn ones), "random": no
    # vectors (a random embedding, as textcls.py's random column)
    "w2v_e50": {"w2v_epochs": 50},
    "w2v_e100": {"w2v_epochs": 100},
    "w2v_rest": {"w2v_corpus": "rest"},
    "random": {"random": True},
    # round 17: below min_valid the validation rows choose nothing the equal mix could not
    # (no early stopping; the weight's ties go to 0.5), so train on every drawn row instead
    "all_half": {"valid_fraction": 0.0, "fuse_weight": 0.5},
    # round 20: train on every drawn row and choose the weight by K-fold cross-fitting on
    # them (K more networks, each predicting the fold it did not see)
    "crossfit3_all": {"valid_fraction": 0.0, "fuse_folds": 3},
    "crossfit5_all": {"valid_fraction": 0.0, "fuse_folds": 5},
    # the same network as the default (trained on the drawn rows less the validation
    # split): only how the weight is chosen differs
    "crossfit5": {"fuse_folds": 5},
    # round 22: the default now trains an ensemble at this size (`ensemble` None: three
    # members sharing the epoch cap); "single" is the one network it replaced
    "single": {"ensemble": 1},
    # round 25: the pretrained rows re-centred (and rescaled) before training; keys starting
    # with "emb_" name a transform of the aligned matrix (`EMBEDDING_TRANSFORMS`)
    "center": {"emb_transform": "center"},
    "center_scale": {"emb_transform": "center_scale"},
    # round 29: rows for the vectors' words the drawn texts lack, moved with the trained rows
    "default_r29": {},
    "extproj_r29": {"extend_vocab": 100_000, "project_untrained": True},
    # (since round 47 `default`'s word2vec on a corpus under 100,000 jieba words, every 5 %
    # draw here, is itself `word+char`: pretrain chooses it; rounds 45-47 ran before that)
    # round 45: Chinese words + their characters (round 5's `word+char`, at 5 %), in the
    # word2vec's corpus ("w2v_zh_mode", a `zh_word2vec` option) and in the network's tokens
    "zh_wordchar_r45": {"w2v_zh_mode": "word+char", "zh_mode": "word+char"},
    # and the same tokens with a random embedding (do the tokens or the vectors gain?)
    "random_wordchar_r45": {"random": True, "zh_mode": "word+char"},
}
ZH = ("chnsenticorp", "shopping10")  # jieba and in-domain word2vec; the others: GloVe


def _center(weight: Any, pad: int | None) -> None:
    """Subtract the mean row (padding row excluded, and kept zero)."""
    rows = [i for i in range(weight.shape[0]) if i != pad]
    weight[rows] -= weight[rows].mean(dim=0)


def _center_scale(weight: Any, pad: int | None) -> None:
    """Centre, then one factor so the rows' std is 1/sqrt(dim), the random embedding's."""
    _center(weight, pad)
    rows = [i for i in range(weight.shape[0]) if i != pad]
    weight[rows] *= (1.0 / weight.shape[1] ** 0.5) / weight[rows].std()


EMBEDDING_TRANSFORMS = {"center": _center, "center_scale": _center_scale}


def transform_embedding(name: str | None) -> None:
    """Make `finetune` apply EMBEDDING_TRANSFORMS[name] to every pretrained embedding it builds.

    A probe's patch of `families.build_embedding` (in this process only), not a library
    option: a round decides first whether such an option is worth having.
    """
    from vecgraft.finetune import families

    original = getattr(families, "_probe_original", families.build_embedding)
    families._probe_original = original  # type: ignore[attr-defined]
    if name is None:
        families.build_embedding = original
        return
    transform = EMBEDDING_TRANSFORMS[name]

    def build(config: Any, vocab: Any, vectors: Any, log: Any) -> Any:
        embedding, report = original(config, vocab, vectors, log)
        if report is not None:  # pretrained only; a random embedding is left alone
            with torch.no_grad():
                transform(embedding.weight, embedding.padding_idx)
        return embedding, report

    families.build_embedding = build


def networks_alone(members: list[Any]) -> float:
    """Scoring accuracy (%) of the members' networks alone: the mean of their probabilities."""
    import numpy as np

    from linear_probe import _acc

    gold = np.asarray(members[0].targets["test"])
    return _acc(np.mean([m._network_outputs("test") for m in members], axis=0), gold)


def training_part(args: argparse.Namespace) -> tuple[Any, float]:
    """The labelled training texts to draw from, and the share of them drawn."""
    if args.dataset == "bbc":
        train_csv, _test = bbc_split(OUT)  # the benchmark's split; _test is never read here
        return read_labelled(train_csv)[0], args.share or 0.0
    return read_labelled(args.data_dir / f"{args.dataset}_train.csv")[0], args.share or 0.05


def draw(train: Any, share: float, name: str, seed: int) -> tuple[Any, Any, Path, Path]:
    """(rest, drawn rows, their CSV, the scoring CSV) of split `seed` — the protocol itself.

    25 % of the training part (seed 100+seed) are scoring rows, never trained on; `share`
    of the rest (or 78 rows, BBC) is drawn with `subsample(seed)`.
    """
    rest, scoring = stratified_split(train, 0.25, 100 + seed)
    part = subsample(rest, share or 78 / len(rest), seed)
    fit_csv = write_csv(part, OUT / f"{name}_train{seed}.csv")
    return rest, part, fit_csv, write_csv(scoring, OUT / f"{name}_scoring{seed}.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("candidates", nargs="*", default=list(CANDIDATES))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--only-seed", type=int, action="append", default=None,
                        help="run these of the seeds only (repeat; two processes at once)")
    parser.add_argument("--net-alone", action="store_true",
                        help="also score an ensemble's networks alone (round 45)")
    parser.add_argument("--dataset", default="bbc", help="bbc, or chnsenticorp (--data-dir)")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--share", type=float, default=None,
                        help="share of the non-scoring rows drawn (default 0.05; BBC: 78 "
                        "articles); round 47 draws more to find where a setting turns")
    parser.add_argument("--task", default="classification",
                        help="regression: numeric labels (sst5's 0-4), scored by RMSE and "
                        "Pearson r (round 22)")
    args = parser.parse_args()
    if args.dataset != "bbc" and args.data_dir is None:
        parser.error(f"--dataset {args.dataset} needs --data-dir")
    OUT.mkdir(parents=True, exist_ok=True)
    train, share = training_part(args)
    zh = args.dataset in ZH
    stem = args.dataset if args.share is None else f"{args.dataset}_share{args.share:g}"
    from meanvec_small import kept_members  # here: it imports this module

    for seed in args.only_seed or range(args.seeds):
        rest, part, fit_csv, score_csv = draw(train, share, stem, seed)
        rest_csv = write_csv(rest, OUT / f"{stem}_rest{seed}.csv") if zh else None
        for name in args.candidates:
            start = time.perf_counter()
            options = dict(CANDIDATES[name])
            w2v = {k[4:]: options.pop(k) for k in list(options) if k.startswith("w2v_")}
            transform_embedding(options.pop("emb_transform", None))
            corpus = rest_csv if w2v.pop("corpus", None) == "rest" else fit_csv
            tag = "".join(f"_{k}{v}" for k, v in sorted(w2v.items()))
            vectors = (None if options.pop("random", False)
                       else zh_word2vec(corpus, OUT / f"{stem}_w2v{seed}"
                                        f"{'_rest' if corpus == rest_csv else ''}{tag}", **w2v)
                       if zh else str(demo_paths()[0]))
            config = FinetuneConfig(
                train=str(fit_csv), test=str(score_csv), vectors=vectors,
                out=str(OUT / f"{stem}_{name}{seed}"), progress=False, plots=False,
                tokenizer="jieba" if zh else None, task=args.task, **options,
            )  # fmt: skip
            with ExitStack() as stack:  # the member recipes of an ensemble, kept for --net-alone
                members = stack.enter_context(kept_members()) if args.net_alone else []
                result = finetune(config, overwrite=True, log=lambda _m: None)
            test = result.metrics["test"]
            scores = ({"rmse": test["rmse"], "pearson": test["pearson"]}
                      if args.task == "regression" else {"accuracy": 100 * test["accuracy"]})
            row = {"dataset": args.dataset, "seed": seed, "candidate": name, "train": len(part),
                   **({"share": args.share} if args.share is not None else {}),
                   **scores, "seconds": round(time.perf_counter() - start, 1)}  # fmt: skip
            if members:
                row["net_alone"] = networks_alone(members)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
