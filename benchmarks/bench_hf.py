"""Fine-tune all-MiniLM-L6-v2 with vecgraft (`--model hf`) and with a plain Hugging Face `Trainer`.

Part 1 (`throughput`, MR by default): the same checkpoint, the same training/test texts and the
same budget (epochs, batch 32, lr 5e-5, weight decay 0.01, 10 % linear warm-up, <= 128 tokens,
2 CPU threads), run one after the other in this process. Reported per run: training texts per
second (training loop only: no loading, no validation, no checkpoints) and test accuracy, from
the same run. vecgraft batches by length (`bucket`); the HF `Trainer` is run plainly
(`group_by_length` off, its default).

Part 2 (`graft`, ChnSentiCorp): the checkpoint knows 244 CJK characters, so most of the text is
`[UNK]`. The N corpus words (jieba words and characters pooled) that cost the tokenizer most
are picked once on the training texts and grafted with each rule: no graft vs `mean` vs
`subwords` vs `vectors` (static vectors pretrained by `vecgraft pretrain` on the same training
texts, words and characters), then fine-tuned under the same budget.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_hf.py --data-dir ../shared/data/textcls
    # smoke: 300 MR texts, 1 epoch, throughput only
    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_hf.py --data-dir DIR --limit 300 \\
        --test-limit 300 --parts throughput --out smoke.json
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from _assets import minilm_dir
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.run import finetune


def read_rows(path: Path, limit: int | None) -> list[tuple[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = [(r["text"], r["label"]) for r in csv.DictReader(fh)]
    return rows[:limit] if limit else rows


def write_rows(path: Path, rows: list[tuple[str, str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


def split_valid(rows: list[tuple[str, str]], fraction: float = 0.1) -> tuple[list, list]:
    """Every 10th row to validation (for vecgraft's early stopping / best epoch)."""
    every = max(2, round(1 / fraction))
    train = [r for i, r in enumerate(rows) if i % every]
    valid = [r for i, r in enumerate(rows) if not i % every]
    return train, valid


def budget(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "epochs": args.epochs,
        "batch_size": 32,
        "lr": 5e-5,
        "weight_decay": 0.01,
        "warmup": 0.1,
        "max_length": 128,
    }


def hf_config(
    model: Path, files: dict[str, Path], out: Path, seed: int, **settings: Any
) -> FinetuneConfig:
    """A `--model hf` run on fixed train/valid/test files; `settings` over the family's defaults.

    Without a "valid" file the run has no validation split (`valid_fraction` 0).
    """
    valid = {"valid": str(files["valid"])} if "valid" in files else {"valid_fraction": 0.0}
    return FinetuneConfig.from_dict(
        {
            "train": str(files["train"]),
            **valid,
            "test": str(files["test"]),
            "dedupe": False,
            "model": "hf",
            "hf_model": str(model),
            "out": str(out),
            "seed": seed,
            "plots": False,
            "progress": False,
            "device": "cpu",
            **settings,
        }
    )


def run_vecgraft(
    model: Path,
    files: dict[str, Path],
    out: Path,
    seed: int,
    args: argparse.Namespace,
    **extra: Any,
) -> dict[str, Any]:
    config = hf_config(model, files, out, seed, patience=None, **budget(args), **extra)
    result = finetune(config, log=lambda _m: None)
    seconds = sum(row["seconds"] for row in result.history)
    n = result.metrics["sizes"]["train"] * len(result.history)
    return {
        "accuracy": result.metrics["test"]["accuracy"],
        "train_seconds": seconds,
        "texts_per_second": n / seconds,
        "best_epoch": result.metrics["best_epoch"],
    }


def run_hf_trainer(
    model_dir: Path, files: dict[str, Path], out: Path, seed: int, args: argparse.Namespace
) -> dict[str, Any]:
    """The peer: transformers' own Trainer on the same texts (train split only)."""
    import numpy as np
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
    )

    b = budget(args)
    train = read_rows(files["train"], None)
    test = read_rows(files["test"], None)
    labels = sorted({y for _, y in train})
    index = {y: i for i, y in enumerate(labels)}
    tok = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_pretrained(
        str(model_dir), num_labels=len(labels), local_files_only=True, use_safetensors=True
    )

    def encode(rows: list[tuple[str, str]]) -> list[dict[str, Any]]:
        enc = tok([t for t, _ in rows], truncation=True, max_length=b["max_length"])
        return [
            {"input_ids": ids, "attention_mask": mask, "labels": index.get(y, 0)}
            for ids, mask, (_, y) in zip(enc["input_ids"], enc["attention_mask"], rows)
        ]

    targs = TrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=b["batch_size"],
        per_device_eval_batch_size=64,
        num_train_epochs=b["epochs"],
        learning_rate=b["lr"],
        weight_decay=b["weight_decay"],
        warmup_steps=b["warmup"],  # a float < 1 is a ratio in transformers 5
        lr_scheduler_type="linear",
        save_strategy="no",
        eval_strategy="no",
        logging_strategy="no",
        report_to=[],
        seed=seed,
        use_cpu=True,
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    trainer = Trainer(
        model=model,
        args=targs,
        train_dataset=encode(train),  # type: ignore[arg-type]
        data_collator=DataCollatorWithPadding(tok),
    )
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    pred = trainer.predict(encode(test))  # type: ignore[arg-type]
    y_pred = np.asarray(pred.predictions).argmax(-1)
    y_true = np.asarray([index.get(y, -1) for _, y in test])
    return {
        "accuracy": float((y_pred == y_true).mean()),
        "train_seconds": seconds,
        "texts_per_second": len(train) * b["epochs"] / seconds,
    }


def padding(model: Path, rows: list[tuple[str, str]], seed: int) -> dict[str, Any]:
    """Token positions one epoch computes (batch max x batch size), bucketed vs shuffled.

    Independent of machine load, so it explains the timing: vecgraft's batches (its own
    `BucketBatchSampler`) against the random batches of 32 a plain `Trainer` draws.
    """
    from vecgraft.finetune.batching import BucketBatchSampler
    from vecgraft.transformer.tokens import load_tokenizer

    tok = load_tokenizer(model)
    lengths = [
        len(ids) for ids in tok([t for t, _ in rows], truncation=True, max_length=128)["input_ids"]
    ]
    real = sum(lengths)

    def positions(batches: list[list[int]]) -> int:
        return sum(max(lengths[i] for i in b) * len(b) for b in batches)

    bucketed = BucketBatchSampler(lengths, 32, seed=seed).global_batches()
    order = torch.randperm(len(lengths), generator=torch.Generator().manual_seed(seed)).tolist()
    shuffled = [order[i : i + 32] for i in range(0, len(order), 32)]
    ours, plain = positions(bucketed), positions(shuffled)
    return {
        "real_tokens": real,
        "vecgraft_positions": ours,
        "plain_positions": plain,
        "vecgraft_padding": 1 - real / ours,
        "plain_padding": 1 - real / plain,
    }


def throughput(args: argparse.Namespace, model: Path, work: Path) -> dict[str, Any]:
    rows = read_rows(args.data_dir / f"{args.task}_train.csv", args.limit)
    test = read_rows(args.data_dir / f"{args.task}_test.csv", args.test_limit)
    train, valid = (rows, []) if args.no_valid else split_valid(rows)
    files = {
        "train": write_rows(work / "train.csv", train),
        "test": write_rows(work / "test.csv", test),
    }
    if valid:
        files["valid"] = write_rows(work / "valid.csv", valid)
    runs: list[dict[str, Any]] = []
    peer_seeds = args.seeds if args.peer_seeds is None else args.peer_seeds
    for seed in args.seeds:
        ours = run_vecgraft(model, files, work / f"vecgraft-{seed}", seed, args)
        run: dict[str, Any] = {"seed": seed, "vecgraft": ours}
        line = (
            f"seed {seed}: vecgraft {ours['texts_per_second']:.1f} texts/s, accuracy "
            f"{100 * ours['accuracy']:.2f}%"
        )
        if seed in peer_seeds:
            peer = run_hf_trainer(model, files, work / f"hf-{seed}", seed, args)
            run["hf_trainer"] = peer
            line += (
                f" | HF Trainer {peer['texts_per_second']:.1f} texts/s, "
                f"accuracy {100 * peer['accuracy']:.2f}%"
            )
        runs.append(run)
        print(line, flush=True)
    paired = [r for r in runs if "hf_trainer" in r]
    speedup = [
        r["vecgraft"]["texts_per_second"] / r["hf_trainer"]["texts_per_second"] for r in paired
    ]
    return {
        "task": args.task,
        "padding": padding(model, train, args.seeds[0]),
        "train_texts": len(train),
        "valid_texts": len(valid),
        "test_texts": len(test),
        "runs": runs,
        "speedup_mean": statistics.mean(speedup) if speedup else None,
        "accuracy_mean": {
            "vecgraft": statistics.mean(r["vecgraft"]["accuracy"] for r in runs),
            "hf_trainer": (
                statistics.mean(r["hf_trainer"]["accuracy"] for r in paired) if paired else None
            ),
        },
    }


def static_vectors(train_texts: list[str], work: Path, seed: int) -> Path:
    """word2vec on the training texts, each line as jieba words followed by its characters."""
    from vecgraft.pretrain.api import pretrain
    from vecgraft.pretrain.config import PretrainConfig
    from vecgraft.text.tokenize import Tokenizer

    words, chars = Tokenizer("jieba"), Tokenizer("char")
    corpus = work / "zh_corpus.txt"
    with open(corpus, "w", encoding="utf-8") as fh:
        for text in train_texts:
            fh.write(" ".join(words(text) + chars(text)) + "\n")
    config = PretrainConfig(
        "word2vec",
        [str(corpus)],
        str(work / "zh_vectors"),
        dim=100,
        min_count=2,
        epochs=5,
        workers=2,
        seed=seed,
        tokenizer=Tokenizer("whitespace"),
        progress=False,
    )
    pretrain(config)
    return work / "zh_vectors"


def unlabelled_texts(args: argparse.Namespace, texts: list[str]) -> list[str]:
    """What the static vectors learn from: the fine-tuning texts, or every training text.

    A user often has more unlabelled text than labels; `--pretrain-all` uses the whole training
    file as unlabelled text (never the test file) when `--limit` cuts the labelled part.
    """
    if not args.pretrain_all:
        return texts
    return [t for t, _ in read_rows(args.data_dir / "chnsenticorp_train.csv", None)]


def graft(args: argparse.Namespace, model: Path, work: Path) -> dict[str, Any]:
    from vecgraft.transformer.graft import count_words, select_new_tokens
    from vecgraft.transformer.tokens import load_tokenizer

    rows = read_rows(args.data_dir / "chnsenticorp_train.csv", args.limit)
    test = read_rows(args.data_dir / "chnsenticorp_test.csv", args.test_limit)
    train, valid = split_valid(rows)
    files = {
        "train": write_rows(work / "zh_train.csv", train),
        "valid": write_rows(work / "zh_valid.csv", valid),
        "test": write_rows(work / "zh_test.csv", test),
    }
    texts = [t for t, _ in train]
    tok = load_tokenizer(model)
    # as `finetune --add-tokens` counts: Latin-script words the way the model reads them
    # (results before cb990a9 counted them with vecgraft's tokenizer: 4 of 2,000 picks differ)
    counts = count_words(texts, ["jieba", "char"], tokenizer=tok)
    picked = select_new_tokens(tok, counts, args.add_tokens, min_count=2)
    words = work / "zh_new_tokens.txt"
    words.write_text("".join(c.word + "\n" for c in picked), encoding="utf-8")
    unlabelled = unlabelled_texts(args, texts)
    vectors = args.graft_vectors or static_vectors(unlabelled, work, args.seeds[0])
    settings: dict[str, dict[str, Any]] = {
        "none": {},
        "mean": {"add_tokens": str(words), "graft_init": "mean"},
        "subwords": {"add_tokens": str(words), "graft_init": "subwords"},
        "vectors": {
            "add_tokens": str(words),
            "graft_init": "vectors",
            "graft_vectors": str(vectors),
        },
    }
    results: dict[str, Any] = {
        "new_tokens": len(picked),
        "train_texts": len(train),
        "pretrain_texts": len(unlabelled),
    }
    for name, extra in settings.items():
        if name not in args.graft_rules:
            continue
        accs = []
        for seed in args.seeds:
            run = run_vecgraft(model, files, work / f"zh-{name}-{seed}", seed, args, **extra)
            accs.append(run["accuracy"])
            print(f"graft {name} seed {seed}: accuracy {100 * run['accuracy']:.2f}%", flush=True)
        results[name] = {"accuracy": accs, "mean": statistics.mean(accs)}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="holds <task>_train.csv ...")
    parser.add_argument("--model", type=Path, default=None, help="default: all-MiniLM-L6-v2")
    parser.add_argument("--task", default="mr", help="throughput task: mr, sst2, trec, ...")
    parser.add_argument("--parts", default="throughput,graft", help="throughput, graft or both")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seeds", type=lambda s: [int(x) for x in s.split(",")], default=[0])
    parser.add_argument(
        "--peer-seeds",
        type=lambda s: [int(x) for x in s.split(",")] if s else [],
        default=None,
        help="seeds on which the HF Trainer peer also runs (default: all of --seeds)",
    )
    parser.add_argument("--limit", type=int, default=None, help="first N training rows")
    parser.add_argument("--test-limit", type=int, default=None, help="first N test rows")
    parser.add_argument("--add-tokens", type=int, default=2000, help="graft: new tokens")
    parser.add_argument("--graft-vectors", default=None, help="graft: static vectors to use")
    parser.add_argument(
        "--graft-rules",
        type=lambda s: s.split(","),
        default=["none", "mean", "subwords", "vectors"],
        help="graft: the rules to run (comma-separated; default: all four)",
    )
    parser.add_argument(
        "--pretrain-all",
        action="store_true",
        help="graft: pretrain the static vectors on all training texts (unlabelled), not only "
        "the --limit'ed ones the model is fine-tuned on",
    )
    parser.add_argument(
        "--no-valid",
        action="store_true",
        help="throughput: train vecgraft and the peer on every training text (no validation "
        "split; vecgraft keeps its last epoch)",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    model = args.model or minilm_dir()
    parts = {p.strip() for p in args.parts.split(",")}
    results: dict[str, Any] = {
        "model": str(model),
        "epochs": args.epochs,
        "seeds": args.seeds,
        "threads": args.threads,
        "limit": args.limit,
        "test_limit": args.test_limit,
        "no_valid": args.no_valid,
    }
    with tempfile.TemporaryDirectory(prefix="bench_hf_") as tmp:
        work = Path(tmp)
        if "throughput" in parts:
            results["throughput"] = throughput(args, model, work)
        if "graft" in parts:
            results["graft"] = graft(args, model, work)
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
