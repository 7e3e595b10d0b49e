"""Tiny in-memory fixtures shared by the align, nn.embedding and build-CLI tests."""

from __future__ import annotations

import numpy as np

from vecgraft.text.vocab import Vocab
from vecgraft.vectors import Vectors


class FakeSubword:
    """Stands in for fastText's n-gram model: knows words that start with 'sub'."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.calls: list[str] = []

    def word_vector(self, word: str) -> np.ndarray | None:
        self.calls.append(word)
        if not word.startswith("sub"):
            return None
        return np.full(self.dim, float(len(word)), dtype=np.float32)


def random_vectors(words: list[str], dim: int = 8, seed: int = 0, **kwargs) -> Vectors:
    rng = np.random.default_rng(seed)
    return Vectors(words, rng.normal(size=(len(words), dim)).astype(np.float32), **kwargs)


def counted_vocab(counts: dict[str, int], **kwargs) -> Vocab:
    return Vocab.from_counts(counts, **kwargs)
