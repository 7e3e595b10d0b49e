"""Chinese segmentation: vecgraft's backend (rjieba) vs `jieba.lcut`, same process, same texts.

Reads the `text` column of every chnsenticorp_*.csv and shopping10_*.csv in --data-dir,
segments each text with both, and prints tokens/s (one core), the speed-up, the share of
texts segmented identically and the differing texts grouped into classes. Then what the
segment cache gives `Tokenizer("jieba")` on the same texts (a fresh cache folder): cache off,
a cold cache (segmenting and storing), a warm one (reading back), and what a new tokenizer
pays to look up a handful of texts in a cache holding all of them.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_segment.py --data-dir ../shared/data/textcls
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

import jieba

from vecgraft.text.segment import Segmenter
from vecgraft.text.tokenize import Tokenizer

_HAN = re.compile(r"[\u4e00-\u9fff]")


def read_texts(folder: Path) -> list[str]:
    texts: list[str] = []
    for pattern in ("chnsenticorp_*.csv", "shopping10_*.csv"):
        for path in sorted(folder.glob(pattern)):
            with open(path, encoding="utf-8", newline="") as fh:
                texts.extend(row["text"] for row in csv.DictReader(fh))
    return texts


def difference_class(a: list[str], b: list[str]) -> str:
    """Why two segmentations of one text differ, by the first differing span."""
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    ja, jb = len(a), len(b)
    while ja > i and jb > i and a[ja - 1] == b[jb - 1]:
        ja, jb = ja - 1, jb - 1
    span_a, span_b = "".join(a[i:ja]), "".join(b[i:jb])
    if span_a != span_b:
        return "different characters (text not preserved)"
    if not _HAN.search(span_a):
        if span_a.isspace() or any(t.isspace() for t in a[i:ja] + b[i:jb]):
            return "whitespace runs split differently"
        return "non-Chinese run (digits/latin/punctuation) split differently"
    if any(not _HAN.search(t) for t in a[i:ja] + b[i:jb]):
        return "Chinese next to digits/latin split differently"
    return "Chinese words split differently (HMM / dictionary tie)"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True, type=Path)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N texts")
    ap.add_argument("--examples", type=int, default=3)
    args = ap.parse_args()
    texts = read_texts(args.data_dir)
    if args.limit:
        texts = texts[: args.limit]
    jieba.setLogLevel(60)
    jieba.lcut("预热")  # load the dictionary outside the timing
    seg = Segmenter()
    seg.cut("预热")
    t = time.perf_counter()
    ours = [seg.cut(x) for x in texts]
    t_ours = time.perf_counter() - t
    t = time.perf_counter()
    ref = [jieba.lcut(x) for x in texts]
    t_ref = time.perf_counter() - t
    n_tokens = sum(len(r) for r in ref)
    same = sum(a == b for a, b in zip(ours, ref))
    classes: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    for text, a, b in zip(texts, ours, ref):
        if a != b:
            c = difference_class(a, b)
            classes[c] += 1
            if len(examples.setdefault(c, [])) < args.examples:
                diff = [(x, y) for x, y in zip(a, b) if x != y][:1]
                examples[c].append(f"{text[:40]!r}: {seg.backend.value} vs jieba at {diff}")
    # what vecgraft's jieba tokenizer emits: non-Chinese stretches re-split by the word rule
    tok = Tokenizer("jieba")

    def resplit(pieces: list[str]) -> list[str]:
        out: list[str] = []
        pending: list[str] = []
        for p in pieces:
            if _HAN.search(p):
                out.extend(tok._regex_split("".join(pending)) if pending else [])
                pending = []
                out.append(p)
            else:
                pending.append(p)
        return out + (tok._regex_split("".join(pending)) if pending else [])

    same_tok = sum(resplit(a) == resplit(b) for a, b in zip(ours, ref))
    chars = sum(len(x) for x in texts)
    print(f"{len(texts)} texts, {chars} characters, {n_tokens} jieba tokens")
    print("| segmenter | seconds | tokens/s | speed-up |")
    print("|---|---:|---:|---:|")
    print(f"| jieba.lcut | {t_ref:.2f} | {n_tokens / t_ref / 1e6:.3f} M | 1.0x |")
    print(
        f"| vecgraft ({seg.backend.value}) | {t_ours:.2f} | "
        f"{sum(map(len, ours)) / t_ours / 1e6:.3f} M | {t_ref / t_ours:.1f}x |"
    )
    print(f"identical to jieba.lcut: {same}/{len(texts)} = {same / len(texts):.4%}")
    print(
        f"identical after vecgraft's re-split of non-Chinese runs (Tokenizer('jieba')): "
        f"{same_tok}/{len(texts)} = {same_tok / len(texts):.4%}"
    )
    for c, n in classes.most_common():
        print(f"  {n:6d}  {c}")
        for e in examples[c]:
            print(f"          {e}")
    cache_table(texts)


def _tokenize_all(texts: list[str], backend: str) -> float:
    """Seconds a new `Tokenizer("jieba")` takes for `texts` (its cache flushed after)."""
    tok = Tokenizer("jieba", segmenter=backend)
    tok("预热")  # segmenter and cache opened outside the timing
    t = time.perf_counter()
    for x in texts:
        tok(x)
    took = time.perf_counter() - t
    tok.flush_segment_cache()
    return took


def cache_table(texts: list[str]) -> None:
    """Tokenizer("jieba") with the segment cache off, cold and warm, in a fresh folder.

    The library caches the Python backend only; here both are forced through the cache
    (its `SegmentCache`, patched in) to show why.
    """
    from vecgraft.text import segment, tokenize

    saved = os.environ.get("VECGRAFT_SEGMENT_CACHE")
    plain = tokenize._segment_cache
    forced = lambda seg: segment.SegmentCache(  # noqa: E731
        os.environ["VECGRAFT_SEGMENT_CACHE"], {**seg.key_fields, "resplit": "bench"})
    print()
    print(f"Tokenizer('jieba') on the {len(texts)} texts (segment cache in a fresh folder):")
    print("| backend | cache off (s) | cold: segment and store (s) | warm: read back (s) | "
          "warm texts/s | new tokenizer, 10 texts from the full cache (ms) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    try:
        tokenize._segment_cache = lambda seg: (  # type: ignore[assignment]
            None if os.environ["VECGRAFT_SEGMENT_CACHE"] == "off" else forced(seg))
        for backend in ("rjieba", "jieba"):
            with tempfile.TemporaryDirectory() as folder:
                os.environ["VECGRAFT_SEGMENT_CACHE"] = "off"
                off = _tokenize_all(texts, backend)
                os.environ["VECGRAFT_SEGMENT_CACHE"] = folder
                cold = _tokenize_all(texts, backend)
                warm = _tokenize_all(texts, backend)
                few = _tokenize_all(texts[:10], backend)  # a `predict` of ten texts
            print(f"| {backend} | {off:.2f} | {cold:.2f} | {warm:.2f} | "
                  f"{len(texts) / warm:,.0f} | {few * 1e3:.1f} |")  # fmt: skip
    finally:
        tokenize._segment_cache = plain
        if saved is None:
            os.environ.pop("VECGRAFT_SEGMENT_CACHE", None)
        else:
            os.environ["VECGRAFT_SEGMENT_CACHE"] = saved


if __name__ == "__main__":
    main()
