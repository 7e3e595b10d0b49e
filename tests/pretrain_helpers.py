"""Tiny corpora and brute-force references shared by the test_pretrain_* files."""

from __future__ import annotations

import random
from fractions import Fraction
from pathlib import Path

import numpy as np

ANIMALS = ["cat", "dog"]
VEHICLES = ["car", "bus"]


def synonym_corpus(n: int = 600, seed: int = 0) -> list[str]:
    """Sentences where cat/dog share contexts and car/bus share other contexts."""
    rng = random.Random(seed)
    animal_ctx = ["eats", "fish", "sleeps", "purrs", "barks", "fur", "pet", "vet"]
    vehicle_ctx = ["drives", "road", "wheels", "engine", "fuel", "parks", "garage", "traffic"]
    lines = []
    for _ in range(n):
        if rng.random() < 0.5:
            word, ctx = rng.choice(ANIMALS), animal_ctx
        else:
            word, ctx = rng.choice(VEHICLES), vehicle_ctx
        left = rng.sample(ctx, 3)
        right = rng.sample(ctx, 3)
        lines.append(" ".join([*left, word, *right]))
    return lines


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def brute_cooccurrence(docs: list[list[int]], vocab_size: int, window: int) -> np.ndarray:
    """X[i, j] = sum of 1/d over pairs at distance d <= window, both directions, exactly."""
    exact = [[Fraction(0)] * vocab_size for _ in range(vocab_size)]
    for doc in docs:
        for p, a in enumerate(doc):
            for q in range(p + 1, min(len(doc), p + window + 1)):
                b = doc[q]
                exact[a][b] += Fraction(1, q - p)
                exact[b][a] += Fraction(1, q - p)
    return np.array([[float(x) for x in row] for row in exact])


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
