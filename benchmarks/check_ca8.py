"""CA8 on one set of vectors: vecgraft vs the CA8 rules and vs gensim, same process.

For each CA8 set and both methods, prints vecgraft's ca8-convention accuracy and coverage
next to a plain numpy implementation of the CA8 authors' `ana_eval_dense.py` rules (cosines
mapped to (cos+1)/2, question words scored 0, `np.nanargmax`, 3CosMul epsilon 0.01, seen =
first three words known), and vecgraft's gensim convention next to gensim's
`evaluate_word_analogies` (3CosAdd).

    OMP_WAIT_POLICY=PASSIVE python benchmarks/check_ca8.py VECTORS
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from gensim.models import KeyedVectors

from vecgraft.evaluate.datasets import dataset_path, read_analogies
from vecgraft.evaluate.intrinsic import analogies
from vecgraft.io import load


def ca8_rules(words: list[str], matrix: np.ndarray, name: str) -> dict[str, tuple[int, int, int]]:
    """{method: (correct add/mul, seen, total)} by the CA8 script's rules."""
    wi = {w: i for i, w in enumerate(words)}
    m = matrix.astype(np.float32)
    m = m / np.sqrt((m * m).sum(axis=1))[:, None]
    correct = {"3cosadd": 0, "3cosmul": 0}
    seen = total = 0
    for q in read_analogies(name):
        total += 1
        if any(w not in wi for w in (q.a, q.b, q.c)):
            continue
        seen += 1
        ia, ib, ic = wi[q.a], wi[q.b], wi[q.c]
        sa, sb, sc = (m[[ia, ib, ic]] @ m.T + 1) / 2
        for method, s in (("3cosadd", -sa + sb + sc), ("3cosmul", sb * sc / (sa + 0.01))):
            s[[ia, ib, ic]] = 0
            correct[method] += int(words[int(np.nanargmax(s))] == q.expected)
    return {k: (v, seen, total) for k, v in correct.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("vectors")
    args = ap.parse_args()
    vectors = load(args.vectors)
    kv = KeyedVectors(vectors.dim)
    kv.add_vectors(vectors.words, np.asarray(vectors.matrix))
    print(f"{vectors!r}")
    print("| set | method | rules (CA8 script) | vecgraft ca8 | coverage | equal |")
    print("|---|---|---|---|---:|---|")
    gensim_rows = []
    for name in ("ca8-morphological", "ca8-semantic"):
        t = time.perf_counter()
        ref = ca8_rules(vectors.words, vectors.matrix, name)
        t_ref = time.perf_counter() - t
        for method in ("3cosadd", "3cosmul"):
            r = analogies(vectors, name, method=method, restrict_vocab=None)
            c, seen, total = ref[method]
            same = (r.correct, r.total, r.questions) == (c, seen, total)
            print(
                f"| {name} | {method} | {c}/{seen} = {c / max(seen, 1):.4f} "
                f"| {r.correct}/{r.total} = {r.accuracy:.4f} | {r.coverage:.2%} "
                f"| {'yes' if same else 'NO'} |"
            )
        print(f"(CA8 rules in numpy: {t_ref:.1f} s for both methods)")
        score, sections = kv.evaluate_word_analogies(
            str(dataset_path(name)), restrict_vocab=len(vectors)
        )
        g = analogies(vectors, name, convention="gensim", restrict_vocab=None)
        g_correct = len(sections[-1]["correct"])
        g_total = g_correct + len(sections[-1]["incorrect"])
        same = (g.correct, g.total) == (g_correct, g_total)
        gensim_rows.append(
            f"| {name} | {g_correct}/{g_total} = {score:.4f} | {g.correct}/{g.total} = "
            f"{g.accuracy:.4f} | {'yes' if same else 'NO'} |"
        )
    print("\n| set | gensim evaluate_word_analogies | vecgraft gensim convention | equal |")
    print("|---|---|---|---|")
    print("\n".join(gensim_rows))


if __name__ == "__main__":
    main()
