"""Round 5 of the defaults search (benchmarks/defaults.md): Chinese tokens, words or words +
characters, for the in-domain word2vec and the classifier that reads it.

Only training files are read. Each `<name>_train.csv` is split 80/20 (stratified, seed 0):
the 80 % pretrains word2vec (as benchmarks/textcls.py does: skip-gram, 100d, min count 2,
10 epochs, jieba) and trains the default classifier; the 20 % scores it. The candidates
differ only in the jieba tokenizer's `zh_mode`, which `vecgraft pretrain` records in
metadata.json and `vecgraft finetune` follows. The linear baseline is scored on the same
split for reference.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/defaults_zh.py --data-dir ../shared/data/textcls \
        [--datasets chnsenticorp shopping10] [--seeds 3]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _assets import zh_word2vec
from bench_tune import write_csv
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.data import read_labelled, stratified_split
from vecgraft.finetune.run import finetune

OUT = Path(__file__).resolve().parent / "out" / "defaults_zh"
MODES = ("word", "word+char")


def pretrain_vectors(corpus: Path, mode: str, out: Path) -> Path:
    """word2vec on the fitting texts with the textcls.py settings, tokens per `mode`."""
    return Path(zh_word2vec(corpus, out, zh_mode=mode))


def score(fit: Path, held: Path, out: Path, seed: int, **settings: object) -> float:
    config = FinetuneConfig(train=str(fit), test=str(held), out=str(out), seed=seed,
                            tokenizer="jieba", progress=False, plots=False, **settings)  # fmt: skip
    result = finetune(config, overwrite=True, log=lambda _m: None)
    return 100 * float(result.metrics["test"]["accuracy"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--datasets", nargs="*", default=["chnsenticorp", "shopping10"])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    for name in args.datasets:
        data, _ = read_labelled(args.data_dir / f"{name}_train.csv")
        fit, held = stratified_split(data, 0.2, 0)  # the test file is never read
        fit_csv = write_csv(fit, OUT / name / "fit.csv")
        held_csv = write_csv(held, OUT / name / "held.csv")
        linear = score(fit_csv, held_csv, OUT / name / "linear", 0, model="linear")
        print(json.dumps({"data": name, "candidate": "linear", "accuracy": linear}), flush=True)
        for mode in MODES:
            vectors = pretrain_vectors(fit_csv, mode, OUT / name / f"w2v-{mode}")
            for seed in range(args.seeds):
                start = time.perf_counter()
                acc = score(fit_csv, held_csv, OUT / name / f"cnn-{mode}-{seed}", seed,
                            vectors=str(vectors))  # fmt: skip
                row = {"data": name, "candidate": mode, "seed": seed, "accuracy": acc,
                       "fit": len(fit), "held": len(held),
                       "seconds": round(time.perf_counter() - start, 1)}  # fmt: skip
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
