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


class PretrainPackage(types.ModuleType):
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

    def __getattr__(self, name: str) -> types.ModuleType:
        """Any other name: a submodule (`vecgraft.pretrain.config`), its own names untyped."""
        raise AttributeError(name)


pretrain: PretrainPackage  # declared, never bound: `vecgraft` imports it for type checkers
