"""The real comparison on BBC News: random vs GloVe 6B 50d vs word2vec trained on BBC's own text.

Steps (all outputs under benchmarks/data/ and benchmarks/out/, both git-ignored):
  1. a fixed stratified 80/20 split of BBC News (seed 0) written as train.csv / test.csv, so
     every cell is scored on the same test texts;
  2. `vecgraft pretrain` word2vec (skip-gram, 50d, 10 epochs, min_count 2) on the *training*
     texts only, tokenised exactly as fine-tuning does (regex, lowercased);
  3. `vecgraft.evaluate.compare` over the linear baseline and sources x fractions x seeds
     with vecgraft's fine-tuning defaults plus `lower=True` for every source (compare's
     cells keep the network alone: no fusion with the linear model);
  4. prints the Markdown summary table (also in benchmarks/out/compare_bbc/report.md/.html).

Resumable: rerun with more fractions or seeds and only the new cells are computed.

Usage: OMP_WAIT_POLICY=PASSIVE python benchmarks/compare_bbc.py [--fractions 0.05 0.2 1.0]
       [--seeds 3] [--model cnn]
"""

from __future__ import annotations

import argparse
import csv
import platform
import time
from pathlib import Path

from vecgraft.cli.demo import demo_paths
from vecgraft.evaluate.compare import CompareConfig, compare
from vecgraft.finetune.data import read_labelled, stratified_split
from vecgraft.text.tokenize import Tokenizer

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "compare_bbc"
OUT = HERE / "out" / "compare_bbc"


def write_split(bbc: Path) -> tuple[Path, Path]:
    """train.csv / test.csv: stratified 80/20 of BBC News, seed 0 (written once)."""
    train_csv, test_csv = DATA / "train.csv", DATA / "test.csv"
    if train_csv.exists() and test_csv.exists():
        return train_csv, test_csv
    DATA.mkdir(parents=True, exist_ok=True)
    # BBC News is UTF-8 (646 files have non-ASCII text) except one lone Latin-1 byte in
    # sport/199.txt: repair that line and say so, instead of the old silent whole-file
    # fallback (reading all as cp1252 would garble the 646); the split written below is UTF-8.
    data, bad = read_labelled(bbc, errors="replace")
    if bad or bad.replaced_rows:
        print(bad.format())
    train, test = stratified_split(data, 0.2, 0)
    for part, path in ((train, train_csv), (test, test_csv)):
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["text", "label"])
            writer.writerows(zip(part.texts, part.labels))
        tmp.replace(path)
    return train_csv, test_csv


def train_own_vectors(train_csv: Path) -> Path:
    """word2vec on the training texts only (no test text leaks into the vectors).

    Same as `vecgraft pretrain --method word2vec --corpus train.csv --out DIR --dim 50
    --window 5 --min-count 2 --sg 1 --epochs 10 --workers 2 --seed 0 --lower`.
    """
    from vecgraft.pretrain import PretrainConfig, pretrain

    target = DATA / "pretrain-word2vec"
    if (target / "vectors.safetensors").exists():
        return target
    start = time.perf_counter()
    config = PretrainConfig(
        "word2vec",
        [str(train_csv)],
        str(target),
        dim=50,
        window=5,
        min_count=2,
        sg=1,
        epochs=10,
        workers=2,
        seed=0,
        tokenizer=Tokenizer("regex", lower=True),
        column="text",
        progress=False,
    )
    result = pretrain(config)
    print(f"word2vec: {len(result.vectors)} words x 50 in {time.perf_counter() - start:.1f} s")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fractions", nargs="+", type=float, default=[0.05, 0.2, 1.0])
    parser.add_argument("--seeds", default="3")
    parser.add_argument("--model", default=None, help="classifier (default: vecgraft's default)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    glove, bbc = demo_paths()
    train_csv, test_csv = write_split(bbc)
    own = train_own_vectors(train_csv)
    options: dict[str, object] = {"lower": True, "progress": False, "plots": False}
    if args.model:
        options["model"] = args.model
    config = CompareConfig(
        train=str(train_csv),
        test=str(test_csv),
        sources=["random", f"glove-6B-50d={glove}", f"word2vec-bbc={own}"],
        fractions=args.fractions,
        seeds=args.seeds,
        out=str(args.out),
        finetune=options,
    )
    print(f"machine: {platform.processor() or platform.machine()}, {platform.platform()}")
    result = compare(config)
    report = (result.out / "report.md").read_text(encoding="utf-8")
    # the scores section, whatever its heading says (accuracy and macro F1; Pearson r ...)
    table = report.split("\n## Test ", 1)[1].split("\n## Sources", 1)[0]
    print(f"## Test {table.strip()}")


if __name__ == "__main__":
    main()
