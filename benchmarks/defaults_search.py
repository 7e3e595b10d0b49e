"""Choosing FinetuneConfig's defaults on training data only (the protocol of defaults.md).

Each candidate is a set of FinetuneConfig settings. It is scored on a held-out 15% carved
from each dataset's *training* CSV (`test=None, test_fraction=0.15, split_seed=0`; the
validation split for early stopping is carved from the remaining 85%), seed 0, one run. The
test CSVs are never read here. Results are appended to a JSONL file (a rerun skips cells
already there) and printed as a Markdown table.

    OMP_WAIT_POLICY=PASSIVE nice -n 5 python benchmarks/defaults_search.py \\
        --data-dir ../shared/data/textcls --datasets mr trec sst2

Two processes side by side (e.g. one per `--seed`) need `OMP_NUM_THREADS=1` each: with
torch's two intra-op threads apiece on two cores a TREC run took 25x longer (round 18).

`--source` picks the vectors: GloVe 6B 50d (default; Chinese: word2vec pretrained on the
training texts), or vectors derived from all-MiniLM-L6-v2 by `from_transformer` (round 6:
which derivation):
`minilm-input` (the input embedding), `minilm-contextless` (each word alone through the
model, last layer), `minilm-m2v` (contextless + PCA 256 + Zipf SIF weights, model2vec's
distillation recipe), `minilm-m2v128` / `minilm-m2v64` (the same at PCA 128 / 64, round 12;
`minilm-m2v64` is textcls.py's `MINILM` since). `random` (round 46): no vectors.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from _assets import glove_dir, minilm_dir, zh_word2vec
from textcls import MINILM

# name -> FinetuneConfig settings (everything else: the library's defaults at search time,
# with the step budget `epochs=None`).
CANDIDATES: dict[str, dict[str, Any]] = {
    "cnn": {"model": "cnn", "lr": 2e-3, "embedding_lr": 5e-3, "freeze_epochs": 0},
    "boe": {"model": "boe", "lr": 1e-2, "embedding_lr": 1e-2, "freeze_epochs": 0,
            "model_options": {"pooling": "mean_max", "dropout": 0.3}},
    "fasttext": {"model": "fasttext", "lr": 1e-2, "embedding_lr": 1e-2, "freeze_epochs": 0,
                 "model_options": {"pooling": "mean_max", "dropout": 0.3, "buckets": 20000}},
    "swem_hier": {"model": "swem", "lr": 1e-2, "embedding_lr": 1e-2, "freeze_epochs": 0,
                  "model_options": {"pooling": "hierarchical", "window": 3, "dropout": 0.3}},
    "bilstm": {"model": "bilstm", "lr": 2e-3, "embedding_lr": 5e-3, "freeze_epochs": 0},
    # round 2: every round-1 candidate peaked at epoch 3-4 of a 3000-step budget, so a
    # shorter budget (the learning rate decays sooner) and lower rates
    "cnn_s1500": {"model": "cnn", "lr": 2e-3, "embedding_lr": 5e-3, "freeze_epochs": 0,
                  "train_steps": 1500},
    "boe_s1500": {"model": "boe", "lr": 1e-2, "embedding_lr": 1e-2, "freeze_epochs": 0,
                  "train_steps": 1500,
                  "model_options": {"pooling": "mean_max", "dropout": 0.3}},
    "cnn_lr1e3": {"model": "cnn", "lr": 1e-3, "embedding_lr": 1e-3, "freeze_epochs": 0},
    "boe_lr5e3": {"model": "boe", "lr": 5e-3, "embedding_lr": 5e-3, "freeze_epochs": 0,
                  "model_options": {"pooling": "mean_max", "dropout": 0.5}},
    # round 3: the CNN led rounds 1-2 on average; Kim's multichannel variant and a faster
    # embedding rate
    "cnn_mc": {"model": "cnn", "lr": 2e-3, "embedding_lr": 5e-3, "freeze_epochs": 0,
               "model_options": {"channels": "multichannel"}},
    "cnn_e1e2": {"model": "cnn", "lr": 2e-3, "embedding_lr": 1e-2, "freeze_epochs": 0},
    # round 6: the library's defaults as they stand (cnn_e1e2 plus rounds 4-5)
    "default": {},
    # round 7: long documents (BBC News: half its articles pass the 400-token cut)
    "maxlen_none": {"max_length": None},
    "maxlen_1000": {"max_length": 1000},
    # round 6 too: wide MiniLM vectors peaked at epoch 2 when tuned; Kim's static CNN
    "cnn_static": {"model_options": {"channels": "static"}},
    # round 13: the embedding's AdamW step on every row vs lazy rows (sparse gradients), the
    # library's defaults otherwise, side by side at one code version
    "dense_r13": {"sparse_embedding": False},
    "sparse_r13": {"sparse_embedding": True},
    # round 14: bfloat16 autocast on a CPU with AMX bf16 units (2x faster convolutions
    # there) vs float32, the library's defaults otherwise, side by side at one code version
    # round 18 ("cnn_mean_r18": model_options mean_features) needs the KimCNN option that
    # was removed after it; check out a782747 to re-run it
    # round 19: label smoothing, for better-calibrated probabilities to fuse
    "ls01_r19": {"label_smoothing": 0.1},
    # round 20: the fusion weight chosen by 5-fold cross-fitting on train + valid rather
    # than on the validation split alone (BBC: ~150 validation articles decide it)
    "crossfit5_r20": {"fuse_folds": 5},
    # round 24: at full size, three fused networks averaged (`ensemble`, which the default
    # trains below ~480 rows only) against one, both on this machine at one code version
    "default_r24": {},
    "ens3_r24": {"ensemble": 3},
    # round 27: the pool (round 26) fitted on 5-fold cross-fitted rows rather than on the
    # ~150 validation articles of BBC News
    "crossfit5_r27": {"fuse_folds": 5},
    # round 28: BoE mean+max (round 2's boe_lr5e3) against the default CNN on long documents,
    # both fused by the pool, at one code version
    "default_r28": {},
    "boe_r28": {"model": "boe", "lr": 5e-3, "embedding_lr": 5e-3,
                "model_options": {"pooling": "mean_max", "dropout": 0.5}},
    # round 29: rows for the vectors' words the training texts lack (test-time words keep
    # their pretrained vector instead of <unk>), with and without moving them along with
    # the trained rows
    "default_r29": {},
    "ext_r29": {"extend_vocab": 100_000},
    "extproj_r29": {"extend_vocab": 100_000, "project_untrained": True},
    # round 31: the epoch chosen (and stopped on) by validation log-loss rather than accuracy
    "default_r31": {},
    "loss_r31": {"metric": "loss"},
    # round 36: three networks that share one run's step budget (1,000 steps each)
    "default_r36": {},
    "ens3s_r36": {"ensemble": 3, "train_steps": 1000},
    # round 37: the weight average (ema_epochs, default since; ema_probe.py measured it)
    "default_r37": {},
    "fp32_r14": {"bf16": False},
    "bf16_r14": {"bf16": True},
}
# --source -> from_transformer options (None: GloVe 6B 50d)
SOURCES: dict[str, dict[str, Any] | None] = {
    "glove": None,
    "minilm-input": {"mode": "input"},
    "minilm-contextless": {"mode": "contextless"},
    "minilm-m2v": {**MINILM, "pca": 256},  # contextless + PCA 256 + SIF (round 6)
    # round 12: narrower PCA (the CNN's cost grows with the embedding's width); textcls.py's
    # MINILM is minilm-m2v64 since
    "minilm-m2v128": {**MINILM, "pca": 128},
    "minilm-m2v64": {**MINILM, "pca": 64},
    "random": None,  # no vectors: a random embedding (round 46: the pretrained - random gap)
}
ZH = {"chnsenticorp", "shopping10"}


def held_out_score(dataset: str, data_dir: Path, settings: dict[str, Any], work: Path,
                   seed: int, source: str = "glove", split_seed: int = 0) -> dict[str, Any]:
    """Accuracy on the held-out 15% of the training CSV (no file of the test set is read)."""
    from vecgraft.finetune.config import FinetuneConfig
    from vecgraft.finetune.recipe import ClassifierRecipe
    from vecgraft.finetune.run import finetune
    from vecgraft.transformer import from_transformer

    train = str(data_dir / f"{dataset}_train.csv")
    zh = dataset in ZH
    derive = SOURCES[source]
    vectors: Any = None
    path: str | None = None
    if source == "random":
        pass
    elif derive is None and zh:
        path = zh_word2vec(train, work / f"w2v_{Path(train).stem}")
    elif derive is None:
        path = str(glove_dir())
    else:
        model = str(minilm_dir())
        path = f"hf:{model}"
        vectors = lambda words: from_transformer(model, words, **derive)  # noqa: E731
    config = FinetuneConfig(
        train=train, test=None, test_fraction=0.15, split_seed=split_seed, seed=seed,
        vectors=path, tokenizer="jieba" if zh else "regex", lower=not zh, plots=False,
        progress=False, **settings,
    )
    started = time.perf_counter()
    if settings.get("ensemble", 1) > 1:  # an ensemble is a run folder of runs: `finetune`
        out = work / f"ens_{dataset}_{seed}_{split_seed}"
        result = finetune(config.replace(out=str(out)), overwrite=True, log=lambda _: None,
                          vectors=vectors)
        return {"accuracy": 100 * result.metrics["test"]["accuracy"],
                "seconds": time.perf_counter() - started}
    recipe = ClassifierRecipe(config, write_files=False, vectors=vectors, log=lambda _: None)
    recipe.setup_data()
    recipe.setup_model()
    state = recipe.train()
    metrics = recipe.evaluate()
    fusion = (metrics.get("fusion") or {}).get("accuracy", {}).get("test", {})
    return {"accuracy": 100 * metrics["test"]["accuracy"], "epochs": state.epoch,
            "best_epoch": state.best_epoch, "seconds": time.perf_counter() - started,
            # a fused run: the network alone and the linear model alone on the same rows
            **{f"{k}_accuracy": 100 * v for k, v in fusion.items() if k != "fused"},
            "fusion_weight": (metrics.get("fusion") or {}).get("weight")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--datasets", nargs="+", default=["mr", "trec", "sst2"])
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split-seed", type=int, default=0,
                        help="which 15 %% is held out (and validation split) (round 24 on)")
    parser.add_argument("--source", choices=list(SOURCES), default="glove")
    parser.add_argument("--log", type=Path,
                        default=Path("benchmarks/results/defaults_search.jsonl"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/vecgraft_defaults"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    args.log.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if args.log.exists():
        for line in args.log.read_text().splitlines():
            row = json.loads(line)
            done.add((row["dataset"], row["candidate"], row["seed"],
                      row.get("source", "glove"), row.get("split_seed", 0)))
    for dataset in args.datasets:
        for name in args.candidates:
            if (dataset, name, args.seed, args.source, args.split_seed) in done:
                continue
            result = held_out_score(dataset, args.data_dir, CANDIDATES[name], args.work,
                                    args.seed, args.source, args.split_seed)
            row = {"dataset": dataset, "candidate": name, "seed": args.seed,
                   "source": args.source, "settings": CANDIDATES[name], **result}
            if args.split_seed:
                row["split_seed"] = args.split_seed
            print(json.dumps(row), flush=True)
            with args.log.open("a") as fh:
                fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
