"""Does the default `vecgraft finetune` stay usable on large training sets? Time and memory.

The benchmarks' data sets have at most 12k training rows; AG News has 120k, Yelp, Amazon and
DBpedia 560k. This script builds synthetic English training sets of any size from real
sentences and measures the default run's two heavy parts:

- `linear`: the fusion's TF-IDF linear model, fitted as a default run fits it
  (`fusion.fit_linear_nested` on a 90/10 train/valid split: word 1-2-grams + char_wb
  2-5-grams, LinearSVC), in a child process: seconds and peak RSS of the vectorizing and of
  the two LinearSVC fits, and the number of features.
- `run`: the whole default command `vecgraft finetune --train T --test E --vectors GloVe`
  (network + fusion), in a child process: seconds, peak RSS, the epochs' seconds read from
  its log, and the longest silence between two log lines (is the user told it is alive?).

A child passing `--max-rss-gb` or `--max-minutes` is stopped, and that is the finding.

Data: documents of 30-150 words (uniform) made of random sentences of one class of MR,
SST-2 or TREC (label "<set>_<label>": 10 classes, learnable), so the number of nonzero
n-grams per row, which sizes the TF-IDF matrices, is that of real documents of those lengths.
Real corpora keep meeting new words as they grow, a pool of 22k sentences does not: 5 % of
the words are replaced by pseudo-words (two real words spliced) drawn from a Zipf
distribution, so that the vocabulary grows with the rows (Heaps' law) instead of saturating.

Usage:
    python benchmarks/scale_probe.py --rows 50000 150000 --phases linear run \
        [--max-rows none] [--data-dir ../shared/data/textcls] [--work /tmp/scale_probe]

`--max-rows none` fits the linear model on every row, as before `LinearConfig.max_rows`.
Results (README, "Large training sets"): the fit on every row took 2.7 GiB at 50k rows and
13.3 GiB at 300k, about 45 KiB a row, so ~24 GiB at 560k; capped at 150,000 rows, 7.2 GiB at
560k.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import itertools
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("mr", "sst2", "trec")
TEST_ROWS = 2000
VALID_FRACTION = 0.1  # the default run's validation split


def _sentences(data_dir: Path) -> dict[str, list[list[str]]]:
    """Whitespace-split sentences of each class, keyed "<set>_<label>"."""
    pools: dict[str, list[list[str]]] = {}
    for name in SOURCES:
        with open(data_dir / f"{name}_train.csv", newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                pools.setdefault(f"{name}_{row['label']}", []).append(row["text"].split())
    return pools


def make_csv(path: Path, rows: int, data_dir: Path, seed: int) -> None:
    """Write `rows` synthetic documents (text,label) to `path`."""
    import numpy as np

    rng = np.random.default_rng(seed)
    pools = _sentences(data_dir)
    labels = sorted(pools)
    words = sorted({w for pool in pools.values() for s in pool for w in s if w.isalpha()})
    v = len(words)

    def pseudo(rank: int) -> str:  # a deterministic spliced word per Zipf rank
        a, b = words[rank % v], words[(rank // v + rank * 7919) % v]
        return a[: max(2, len(a) // 2)] + b[len(b) // 2 :]

    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["text", "label"])
        for _ in range(rows):
            label = labels[int(rng.integers(len(labels)))]
            pool = pools[label]
            target = int(rng.integers(30, 151))
            doc: list[str] = []
            while len(doc) < target:
                doc.extend(pool[int(rng.integers(len(pool)))])
            doc = doc[:target]
            swap = np.flatnonzero(rng.random(target) < 0.05)
            ranks = rng.zipf(1.3, size=len(swap))
            for i, r in zip(swap, ranks):
                doc[i] = pseudo(int(r) % (v * v))
            out.writerow([" ".join(doc), label])
    tmp.replace(path)


def _data(work: Path, rows: int, data_dir: Path) -> tuple[Path, Path]:
    train, test = work / f"train_{rows}.csv", work / "test.csv"
    if not train.exists():
        make_csv(train, rows, data_dir, seed=rows)
    if not test.exists():
        make_csv(test, TEST_ROWS, data_dir, seed=1)
    return train, test


class _Peak:
    """Polls this process's RSS; `mark(name)` starts a new phase, `peaks` per phase (MiB)."""

    def __init__(self) -> None:
        import psutil

        self.proc = psutil.Process()
        self.phase = "start"
        self.peaks: dict[str, float] = {}
        threading.Thread(target=self._poll, daemon=True).start()

    def mark(self, phase: str) -> None:
        self.phase = phase

    def _poll(self) -> None:
        while True:
            rss = self.proc.memory_info().rss / 2**20
            self.peaks[self.phase] = max(self.peaks.get(self.phase, 0.0), rss)
            time.sleep(0.1)


def _linear_child(train_csv: str, max_rows: str) -> None:
    """Fit the fusion's linear models as a default run does; print one JSON line.

    `max_rows`: "default" (the library's), "none" (every row: the fit before the cap) or N.
    """
    import resource

    sys.path.insert(0, str(ROOT / "src"))
    from vecgraft.finetune import fusion as fu
    from vecgraft.finetune.linear import LinearModel, fit_rows

    if max_rows != "default":
        settings = fu.linear_settings
        limit = None if max_rows == "none" else int(max_rows)
        fu.linear_settings = lambda *a: dataclasses.replace(settings(*a), max_rows=limit)  # type: ignore[assignment]

    peak = _Peak()
    texts, labels = [], []
    with open(train_csv, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            texts.append(row["text"])
            labels.append(row["label"])
    names = sorted(set(labels))
    targets = [float(names.index(y)) for y in labels]
    first = int(len(texts) * (1 - VALID_FRACTION))
    svc = {"seconds": 0.0}
    fit_matrix = LinearModel._fit_matrix

    def timed(self: LinearModel, x: object, y: object, *rest: object) -> LinearModel:
        peak.mark("svc")
        start = time.perf_counter()
        try:
            return fit_matrix(self, x, y, *rest)  # type: ignore[arg-type]
        finally:
            svc["seconds"] += time.perf_counter() - start
            peak.mark("vectorize")  # the second model's TF-IDF rows, between the two fits

    LinearModel._fit_matrix = timed  # type: ignore[method-assign]
    peak.mark("vectorize")
    start = time.perf_counter()
    _, full = fu.fit_linear_nested(texts[:first], texts[first:], targets, None)
    seconds = time.perf_counter() - start
    sizes = {name: len(vec.vocabulary_) for name, vec in full.vectorizers}
    print(json.dumps({
        "seconds": round(seconds, 1),
        "vectorize_s": round(seconds - svc["seconds"], 1),
        "svc_s": round(svc["seconds"], 1),
        "vectorize_peak_mib": round(peak.peaks.get("vectorize", 0)),
        "svc_peak_mib": round(peak.peaks.get("svc", 0)),
        "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "features": sizes,
        "fit_rows": fit_rows(len(texts), fu.linear_settings(None).max_rows),
    }), flush=True)  # fmt: skip


def _tree_rss(proc: object) -> float:
    """RSS of a process and its children, MiB."""
    import psutil

    assert isinstance(proc, psutil.Process)
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total / 2**20


def _tree_cpu(proc: object) -> float:
    """User + system CPU seconds of a process and its children so far."""
    import psutil

    assert isinstance(proc, psutil.Process)
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            times = p.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def _watch(cmd: list[str], args: argparse.Namespace, log: Path) -> dict[str, object]:
    """Run `cmd`, its output to `log` with times; stop it past the limits."""
    import psutil

    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONUNBUFFERED": "1"}
    start = time.perf_counter()
    lines: list[tuple[float, str]] = []
    peak = 0.0
    stopped = None
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=env) as child:  # fmt: skip
        proc = psutil.Process(child.pid)
        assert child.stdout is not None
        reader = threading.Thread(
            target=lambda: [lines.append((time.perf_counter() - start, ln.rstrip()))
                            for ln in child.stdout],  # type: ignore[union-attr]
            daemon=True,
        )  # fmt: skip
        reader.start()
        cpu = 0.0
        phases: dict[str, float] = {}  # peak MiB before / from the fusion's linear fit
        while child.poll() is None:
            rss = _tree_rss(proc)
            peak = max(peak, rss)
            fusing = any(ln.startswith("Fitting the TF-IDF") for _, ln in lines[-50:])
            phase = "fusion" if fusing or "fusion" in phases else "network"
            phases[phase] = max(phases.get(phase, 0.0), rss)
            cpu = max(cpu, _tree_cpu(proc))
            elapsed = time.perf_counter() - start
            if peak > args.max_rss_gb * 1024 or elapsed > args.max_minutes * 60:
                stopped = f"stopped at {elapsed:.0f} s, {peak:,.0f} MiB"
                child.kill()
                break
            time.sleep(0.5)
        child.wait()
        reader.join(timeout=5)
    with open(log, "w", encoding="utf-8") as fh:
        fh.writelines(f"[{t:7.1f}] {ln}\n" for t, ln in lines)
    times = [0.0] + [t for t, _ in lines] + [time.perf_counter() - start]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    return {"seconds": round(time.perf_counter() - start, 1), "cpu_s": round(cpu, 1),
            "peak_mib": round(peak), **{f"{k}_peak_mib": round(v) for k, v in phases.items()},
            "rc": child.returncode, "stopped": stopped, "lines": lines,
            "longest_silence_s": round(max(gaps), 1)}  # fmt: skip


def probe_linear(rows: int, args: argparse.Namespace) -> dict[str, object]:
    train, _ = _data(args.work, rows, args.data_dir)
    cmd = [sys.executable, __file__, "--child-linear", str(train), "--max-rows", args.max_rows]
    got = _watch(cmd, args, args.work / f"linear_{rows}.log")
    got.pop("network_peak_mib", None)  # no network here: that is the whole fit
    lines = got.pop("lines")
    assert isinstance(lines, list)
    for _, line in lines:
        if line.startswith("{"):
            got.update(json.loads(line))
    return got


def probe_run(rows: int, args: argparse.Namespace) -> dict[str, object]:
    from _assets import glove_dir

    train, test = _data(args.work, rows, args.data_dir)
    out = args.work / f"run_{rows}"
    cmd = [sys.executable, "-m", "vecgraft", "finetune", "--train", str(train), "--test",
           str(test), "--vectors", str(glove_dir()), "--out", str(out), "--overwrite"]  # fmt: skip
    got = _watch(cmd, args, args.work / f"run_{rows}.log")
    lines = got.pop("lines")
    assert isinstance(lines, list)
    epochs = [(t, ln) for t, ln in lines if ln.startswith("Epoch [")]
    fit = [t for t, ln in lines if ln.startswith("Fitting the TF-IDF linear model")]
    fused = [t for t, ln in lines if ln.startswith("Fused with the TF-IDF")]
    got["epoch_lines"] = [ln for _, ln in epochs]
    if fit and fused:
        got["fusion_fit_s"] = round(fused[0] - fit[0], 1)
    for _, ln in lines:
        if "accuracy" in ln.lower() and ln.lower().startswith(("test", "fused")):
            got.setdefault("test_line", ln)
    return got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[50_000])
    parser.add_argument("--phases", nargs="+", choices=("linear", "run"), default=["linear"])
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared/data/textcls")
    parser.add_argument("--work", type=Path, default=Path("/tmp/scale_probe"))
    parser.add_argument("--max-rss-gb", type=float, default=20.0)
    parser.add_argument("--max-minutes", type=float, default=25.0)
    parser.add_argument("--max-rows", default="default",
                        help="linear phase: the fit's max_rows, 'none' for every row (before "
                             "the cap) or a number; default: the library's")  # fmt: skip
    parser.add_argument("--child-linear", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_linear:
        _linear_child(args.child_linear, args.max_rows)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    for rows in args.rows:
        for phase in args.phases:
            got = (probe_linear if phase == "linear" else probe_run)(rows, args)
            print(json.dumps({"rows": rows, "phase": phase, **got}), flush=True)


if __name__ == "__main__":
    main()
