"""`vecgraft.pretrain` as a type checker sees it: the package's names, called as `pretrain`.

The counterpart of `vecgraft.finetune._package_type` (which says why): `import
vecgraft.pretrain` then `vecgraft.pretrain.PretrainConfig(...)` was an error under mypy.
Imported by `vecgraft` only for type checkers.
"""

from __future__ import annotations

import types

from vecgraft.pretrain.api import PretrainResult as _PretrainResult
from vecgraft.pretrain.api import pretrain as _pretrain
from vecgraft.pretrain.config import Method as _Method
from vecgraft.pretrain.config import PretrainConfig as _PretrainConfig
from vecgraft.pretrain.cooccur import Cooccurrence as _Cooccurrence
from vecgraft.pretrain.cooccur import CooccurrenceCounter as _CooccurrenceCounter
from vecgraft.pretrain.cooccur import count_cooccurrences as _count_cooccurrences
from vecgraft.pretrain.corpus import Corpus as _Corpus

__all__ = ["PretrainPackage"]


class PretrainPackage:
    """The callable `vecgraft.pretrain` package: `pretrain(...)`, and each name of its `__all__`."""

    __call__ = staticmethod(_pretrain)
    Cooccurrence = _Cooccurrence
    CooccurrenceCounter = _CooccurrenceCounter
    Corpus = _Corpus
    Method = _Method
    PretrainConfig = _PretrainConfig
    PretrainResult = _PretrainResult
    count_cooccurrences = staticmethod(_count_cooccurrences)
    pretrain = staticmethod(_pretrain)
    # a module's own attributes and the public submodules, declared only (not bound: `vars`
    # holds the package's `__all__`), each submodule's names untyped. Neither a subclass of
    # `types.ModuleType` (typeshed gives it a `__getattr__` -> Any) nor a `__getattr__` of
    # its own (any name a module): either hid a misspelling (`vecgraft.pretrain.PretrainConfg`)
    # from mypy
    __all__: list[str]
    __file__: str
    __name__: str
    __path__: list[str]
    api: types.ModuleType
    config: types.ModuleType
    cooccur: types.ModuleType
    corpus: types.ModuleType
    gensim_models: types.ModuleType
    glove: types.ModuleType
    outputs: types.ModuleType


pretrain: PretrainPackage  # declared, never bound: `vecgraft` imports it for type checkers
