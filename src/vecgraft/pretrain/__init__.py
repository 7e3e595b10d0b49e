"""Pretrain word vectors: word2vec and fastText through gensim, GloVe in PyTorch.

Example:
    >>> import vecgraft
    >>> from vecgraft.pretrain import PretrainConfig, pretrain
    >>> cfg = PretrainConfig("glove", ["corpus.txt"], "out")
    >>> result = pretrain(cfg)  # doctest: +SKIP
    >>> vecgraft.load("out")  # doctest: +SKIP

    (`pretrain`'s own docstring has the same example on a tiny corpus, run by the tests.)
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
