"""SIGKILL `vecgraft finetune` at random moments, then `--resume`, and check the outcome.

Not part of the package: a crash-robustness driver (a hard kill runs no `finally`, unlike
the Ctrl-C the tests cover). Each trial starts a run, kills it at a random moment (a fifth
before the imports are done, the rest spread over the run), then: `predict` and `evaluate`
on the unfinished run must say so; `--resume` (or, when it says so, a rerun) must finish
with no traceback and no half-written file read as whole; the finished `metrics.json` and
`history.json` must equal an uninterrupted run's (accuracies exactly, the rest to 1e-6);
no `.tmp` or `.old` file may remain. Usage:

    OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE python scripts/kill_driver.py \
        --data labelled.csv --vectors glove_folder_or_random --work /tmp/kills default 12

CONFIG is a name of `configs`; `overwrite` kills a `--overwrite` run replacing `default`'s
reference run and says what the kill left of it.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

PY = sys.executable
SRC = str(Path(__file__).resolve().parents[1] / "src")
ENV = {
    **os.environ,
    "PYTHONPATH": SRC,
    "OMP_NUM_THREADS": "1",
    "OMP_WAIT_POLICY": "PASSIVE",
    "PYTHONUNBUFFERED": "1",
}
COMMON = ["--seed", "3", "--no-progress"]
D = Path(".")  # the work folder (--work)


def configs(vectors: str) -> dict[str, list[str]]:
    """Name -> finetune flags (besides COMMON and --out)."""
    data = ["--train", f"{D}/train.csv", "--test", f"{D}/test.csv", "--vectors", vectors]
    return {
        "default": [*data, "--epochs", "30", "--checkpoint-every", "0"],
        "default60": [*data, "--epochs", "30"],  # checkpoints only on a new best
        "overwrite": [*data, "--epochs", "30", "--checkpoint-every", "0", "--seed", "4"],
        "ensemble": ["--train", f"{D}/small.csv", "--test", f"{D}/test.csv",
                     "--vectors", vectors, "--checkpoint-every", "0"],
        "linear": ["--train", f"{D}/train.csv", "--test", f"{D}/test.csv", "--model", "linear"],
        "regression": ["--train", f"{D}/rtrain.csv", "--test", f"{D}/rtest.csv",
                       "--vectors", vectors, "--task", "regression", "--epochs", "20",
                       "--checkpoint-every", "0"],
    }


def make_data(source: Path) -> None:
    """600 train, 100 test and 150 'small' rows of `source`; a regression twin (words / 3)."""
    with open(source, newline="", encoding="utf-8") as fh:
        rows = [(r["text"], r["label"]) for r in csv.DictReader(fh)]
    random.Random(0).shuffle(rows)

    def write(name: str, part: list[tuple[str, str]], numeric: bool = False) -> None:
        with open(D / name, "w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(["text", "label"])
            for text, label in part:
                out.writerow([text, str(len(text.split()) / 3) if numeric else label])

    write("train.csv", rows[:600])
    write("test.csv", rows[600:700])
    write("small.csv", rows[:150])
    write("rtrain.csv", rows[:600], numeric=True)
    write("rtest.csv", rows[600:700], numeric=True)


STRAY = re.compile(r"^\..*\.(tmp|old)$")


def cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PY, "-m", "vecgraft", *args], env=ENV, capture_output=True, text=True, timeout=timeout
    )


def strays(run: Path) -> list[str]:
    if not run.exists():
        return []
    return [str(p.relative_to(run)) for p in run.rglob("*") if STRAY.match(p.name)]


def load_pair(run: Path) -> tuple[dict, list]:
    metrics = json.loads((run / "metrics.json").read_text())
    hist_file = run / "history.json"
    history = json.loads(hist_file.read_text()) if hist_file.exists() else []
    return metrics, history


def diff(a, b, path="") -> list[str]:
    """Differences between two JSON values; 'seconds' ignored, floats to 1e-6."""
    out: list[str] = []
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k == "seconds" or k.endswith("_seconds"):
                continue
            if k not in a or k not in b:
                out.append(f"{path}/{k}: only in one")
            else:
                out += diff(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: len {len(a)} != {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            out += diff(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        exact = "accuracy" in path and "loss" not in path
        if (exact and a != b) or not math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-7):
            out.append(f"{path}: {a!r} != {b!r}")
    elif a != b:
        if isinstance(a, str) and isinstance(b, str) and ("/" in a or "\\" in a):
            return out  # run folder paths differ
        out.append(f"{path}: {a!r} != {b!r}")
    return out


def bad_output(text: str) -> str | None:
    if "Traceback" in text:
        return "TRACEBACK"
    for needle in (
        "JSONDecodeError",
        "Expecting value",
        "SafetensorError",
        "incomplete",
        "unreadable",
        "truncated",
        "EOF",
    ):
        if needle in text:
            return f"suspicious: {needle}"
    return None


def main() -> None:
    global D
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("config")
    parser.add_argument("trials", type=int)
    parser.add_argument("--seed", type=int, default=0, help="of the kill moments")
    parser.add_argument("--data", type=Path, required=True, help="CSV with text,label")
    parser.add_argument("--vectors", default="random")
    parser.add_argument("--work", type=Path, required=True)
    opts = parser.parse_args()
    D = opts.work.resolve()
    D.mkdir(parents=True, exist_ok=True)
    if not (D / "train.csv").exists():
        make_data(opts.data)
    name, trials = opts.config, opts.trials
    rng = random.Random(opts.seed)
    args = [*COMMON, *configs(opts.vectors)[name]]
    # overwrite: the earlier run is ref-default (seed 3); this one (seed 4) replaces it
    ref = D / f"ref-{name}"
    if not (ref / "metrics.json").exists():
        shutil.rmtree(ref, ignore_errors=True)
        t0 = time.time()
        r = cli("finetune", *args, "--out", str(ref))
        assert r.returncode == 0, r.stderr[-3000:]
        (D / f"ref-{name}.time").write_text(str(time.time() - t0))
    total = float((D / f"ref-{name}.time").read_text())
    ref_m, ref_h = load_pair(ref)
    problems = 0
    for trial in range(trials):
        run = D / f"kill-{name}"
        shutil.rmtree(run, ignore_errors=True)
        # most kills after the imports (about a third of a short run), some before
        lo = total * 0.3
        at = rng.uniform(0.5, lo) if rng.random() < 0.2 else rng.uniform(lo, total)
        extra = []
        if name == "overwrite":
            if not (D / "ref-default" / "metrics.json").exists():
                sys.exit("run the 'default' config first: its run is the one overwritten")
            shutil.copytree(D / "ref-default", run)
            man = json.loads((run / "manifest.json").read_text())
            (run / "manifest.json").write_text(json.dumps({**man, "out": str(run)}))
            extra = ["--overwrite"]
        proc = subprocess.Popen(
            [PY, "-m", "vecgraft", "finetune", *args, "--out", str(run), *extra],
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        time.sleep(at)
        finished_first = proc.poll() is not None
        if not finished_first:
            proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        lines = [ln for ln in out.splitlines() if ln.strip()]
        last = lines[-1][:70] if lines else "<no output>"
        notes: list[str] = []
        expect_m, expect_h = ref_m, ref_h
        left = sorted(p.name for p in run.iterdir()) if run.exists() else []
        left_strays = strays(run)
        if finished_first:
            notes.append("finished before kill")
        if name == "overwrite" and not finished_first:
            old = (run / "metrics.json").exists() and diff(
                load_pair(D / "ref-default")[0], json.loads((run / "metrics.json").read_text())
            )
            state = (
                "old run whole"
                if (run / "metrics.json").exists() and not old
                else "old run gone"
                if not (run / "config.json").exists()
                else "new or partial run"
            )
            notes.append(f"after kill: {state}")
            if state == "old run whole":  # --resume continues the earlier run
                expect_m, expect_h = load_pair(D / "ref-default")
        unfinished = run.exists() and not (run / "metrics.json").exists()
        if unfinished and (run / "config.json").exists() and trial % 2 == 0:
            p = cli("predict", str(run), f"{D}/test.csv")
            msg = (p.stdout + p.stderr).strip()
            if p.returncode == 0 or ("not finished" not in msg and "unfinished" not in msg):
                notes.append(f"PREDICT-ON-UNFINISHED rc={p.returncode}: {msg[-300:]}")
            elif bad_output(msg):
                notes.append(f"PREDICT {bad_output(msg)}: {msg[-300:]}")
            e = cli("evaluate", str(run), "--data", f"{D}/test.csv")
            msg = (e.stdout + e.stderr).strip()
            if e.returncode == 0 or ("not finished" not in msg and "unfinished" not in msg):
                notes.append(f"EVALUATE-ON-UNFINISHED rc={e.returncode}: {msg[-300:]}")
        # resume (or rerun when told to)
        r = cli("finetune", "--out", str(run), "--resume")
        msg = (r.stdout + r.stderr).strip()
        action = "resume"
        if r.returncode != 0:
            err = msg.splitlines()[-1] if msg else ""
            if bad_output(msg):
                notes.append(f"RESUME {bad_output(msg)}: {msg[-600:]}")
            notes.append(f"resume rc={r.returncode}: {err[:200]}")
            action = "rerun"
            r = cli("finetune", *args, "--out", str(run), *extra)
            msg2 = (r.stdout + r.stderr).strip()
            if r.returncode != 0:
                notes.append(f"rerun rc={r.returncode}: {msg2.splitlines()[-1][:200]}")
                if bad_output(msg2):
                    notes.append(f"RERUN {bad_output(msg2)}: {msg2[-600:]}")
                action = "rerun --overwrite"
                r = cli("finetune", *args, "--out", str(run), "--overwrite")
                if r.returncode != 0:
                    notes.append(f"OVERWRITE FAILED: {(r.stdout + r.stderr)[-600:]}")
        if r.returncode == 0:
            m, h = load_pair(run)
            d = diff(expect_m, m) + diff(expect_h, h, "history")
            if d:
                notes.append(f"METRICS DIFFER ({len(d)}): {'; '.join(d[:4])}")
            s = strays(run)
            if s:
                notes.append(f"STRAYS after: {s}")
        flag = any(n.isupper() or n.split()[0].isupper() for n in notes)
        problems += flag
        print(
            f"[{name} #{trial}] kill@{at:.2f}s/{total:.1f} last='{last}' left={left} "
            f"strays={left_strays} -> {action}: {' | '.join(notes) or 'ok'}",
            flush=True,
        )
    print(f"{name}: {trials} trials, {problems} with problems", flush=True)


if __name__ == "__main__":
    main()
