"""Pretrain word vectors: word2vec and fastText through gensim, GloVe in PyTorch.

Example:
    >>> from vecgraft.pretrain import PretrainConfig, pretrain
    >>> result = pretrain(PretrainConfig("glove", ["corpus.txt"], "out"))  # doctest: +SKIP
    >>> vecgraft.load("out")  # doctest: +SKIP
"""

from vecgraft.pretrain.api import PretrainResult, pretrain
from vecgraft.pretrain.config import Method, PretrainConfig
from vecgraft.pretrain.cooccur import Cooccurrence, CooccurrenceCounter, count_cooccurrences
from vecgraft.pretrain.corpus import Corpus

__all__ = [
    "Cooccurrence",
    "CooccurrenceCounter",
    "Corpus",
    "Method",
    "PretrainConfig",
    "PretrainResult",
    "count_cooccurrences",
    "pretrain",
]
