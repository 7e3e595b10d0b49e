"""Pretrain word vectors: word2vec and fastText through gensim, GloVe in PyTorch.

Example:
    >>> import vecgraft
    >>> from vecgraft.pretrain import PretrainConfig, pretrain
    >>> cfg = PretrainConfig("glove", ["corpus.txt"], "out")
    >>> result = pretrain(cfg)  # doctest: +SKIP
    >>> vecgraft.load("out")  # doctest: +SKIP

    (`pretrain`'s own docstring has the same example on a tiny corpus, run by the tests.)

The package is callable as `pretrain`: `vecgraft.pretrain(PretrainConfig(...))` runs it.
"""

from vecgraft._util.callable_module import make_callable
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

# `vecgraft.pretrain` is both this package and its `pretrain` function, as `vecgraft.finetune`
make_callable(__name__, "vecgraft.pretrain.api:pretrain")
