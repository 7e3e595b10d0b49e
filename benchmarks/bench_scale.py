"""Scoring many texts with the fused TF-IDF linear model: one pass against chunks.

`LinearModel.decision_function` featurises `SCORE_CHUNK` texts at a time; before, it built
the sparse n-gram matrix of every text at once, and `vecgraft evaluate` on a fused run
(the default) scores a whole file in one call. The model (English reference settings,
fitted on up to 20,000 rows of TRAIN) is fitted once and saved; each variant loads it in its
own process, so its peak resident memory (`ru_maxrss`) is its own, scores the same texts,
and the two score matrices are compared for equality. The machine is shared: seconds are
indicative, both variants are measured in the same run.

Usage:
    python benchmarks/bench_scale.py --train TRAIN.csv --data DATA.csv [--rows 200000]

DATA's text column is repeated (each copy with a row number appended) up to `--rows` texts.

One run on the shared 2-core machine (TRAIN: 50k English sentences, MR + SST rows with small
perturbations; 200,000 texts scored): one pass 31.5 s, peak 2,395 MiB; chunked 21.3 s, peak
462 MiB (what loading the model and the texts takes); scores identical.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def _texts(path: str, limit: int | None = None) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            texts.append(row["text"])
            labels.append(row["label"])
            if limit is not None and len(texts) == limit:
                break
    return texts, labels


def _child(args: argparse.Namespace) -> None:
    import numpy as np

    from vecgraft.finetune import linear
    from vecgraft.finetune.linear import LinearModel

    model = LinearModel.load(args.model)
    base, _ = _texts(args.data)
    texts = [f"{base[i % len(base)]} {i}" for i in range(args.rows)]
    if args.mode == "one-pass":  # the scoring before SCORE_CHUNK
        linear.SCORE_CHUNK = len(texts)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    scores = model.decision_function(texts)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    np.save(args.out, scores)
    print(json.dumps({"seconds": seconds, "peak_mib": peak / 1024,
                      "growth_mib": (peak - before) / 1024}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", required=True, help="labelled CSV the model is fitted on")
    parser.add_argument("--data", required=True, help="CSV whose texts are scored")
    parser.add_argument("--rows", type=int, default=200_000, help="texts to score")
    parser.add_argument("--mode", choices=["one-pass", "chunked"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        _child(args)
        return
    import tempfile

    import numpy as np

    from vecgraft.finetune.linear import LinearConfig, LinearModel

    rows, scores = [], []
    with tempfile.TemporaryDirectory() as tmp:
        train, labels = _texts(args.train, 20_000)  # the fusion's reference settings
        LinearModel(LinearConfig()).fit(train, labels).save(tmp)
        for mode in ("one-pass", "chunked"):
            out = str(Path(tmp) / f"{mode}.npy")
            cmd = [sys.executable, __file__, "--train", args.train, "--data", args.data,
                   "--rows", str(args.rows), "--mode", mode, "--out", out,
                   "--model", tmp]  # fmt: skip
            result = json.loads(subprocess.run(cmd, check=True, capture_output=True,
                                               text=True).stdout.strip().splitlines()[-1])
            rows.append((mode, result))
            scores.append(np.load(out))
    same = np.array_equal(scores[0], scores[1])
    print(f"decision_function on {args.rows:,} texts (model fitted on {args.train})")
    print(f"{'variant':<10} {'seconds':>8} {'peak MiB':>9} {'growth MiB':>11}")
    for mode, r in rows:
        print(f"{mode:<10} {r['seconds']:>8.1f} {r['peak_mib']:>9.0f} {r['growth_mib']:>11.0f}")
    print(f"scores identical: {same}")


if __name__ == "__main__":
    main()
