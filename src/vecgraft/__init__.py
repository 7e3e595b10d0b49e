"""vecgraft: graft pretrained word vectors and transformer embeddings into PyTorch models.

The flow reads off the package tree: `io` (vector files) -> `text` (tokenize, vocab) ->
`align` (matrix, OOV rows) -> `nn` (modules) -> `transformer` -> `pretrain` -> `finetune` ->
`evaluate` -> `cli`; each stage imports only from the ones before it.
Public names are imported lazily so `import vecgraft` stays fast and side-effect free.
`vecgraft.finetune` and `vecgraft.pretrain` are stage packages and, callable, their entry
points: `vecgraft.finetune(FinetuneConfig(...))` runs `vecgraft.finetune.finetune(...)` and
`vecgraft.pretrain(PretrainConfig(...))` runs `vecgraft.pretrain.pretrain(...)`, as
`vecgraft.align(vocab, vectors)` and `vecgraft.tune(...)` run theirs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vecgraft._util.lazy import lazy_exports
from vecgraft._util.version import __version__

if TYPE_CHECKING:  # what `__getattr__` gives, for type checkers: imported on first use at run time
    from vecgraft.align import AlignmentReport as AlignmentReport
    from vecgraft.align import align as align
    from vecgraft.errors import VecgraftError as VecgraftError
    from vecgraft.evaluate.tune import tune as tune
    from vecgraft.finetune import FinetuneConfig as FinetuneConfig
    from vecgraft.finetune import load_run as load_run
    from vecgraft.finetune._package_type import finetune as finetune  # package and function
    from vecgraft.io import load as load
    from vecgraft.io import save as save
    from vecgraft.nn.embedding import load_embedding as load_embedding
    from vecgraft.nn.embedding import pretrained_embedding as pretrained_embedding
    from vecgraft.nn.embedding import random_embedding as random_embedding
    from vecgraft.nn.embedding import save_embedding as save_embedding
    from vecgraft.pretrain import PretrainConfig as PretrainConfig
    from vecgraft.pretrain._package_type import pretrain as pretrain  # package and function
    from vecgraft.text.corpus import iter_texts as iter_texts
    from vecgraft.text.tokenize import Tokenizer as Tokenizer
    from vecgraft.text.vocab import Vocab as Vocab
    from vecgraft.text.vocab_build import build_vocab as build_vocab
    from vecgraft.transformer import from_transformer as from_transformer
    from vecgraft.vectors import Vectors as Vectors

_EXPORTS = {
    "Vectors": "vecgraft.vectors",
    "load": "vecgraft.io",
    "save": "vecgraft.io",
    "Vocab": "vecgraft.text.vocab",
    "Tokenizer": "vecgraft.text.tokenize",
    "build_vocab": "vecgraft.text.vocab",
    "iter_texts": "vecgraft.text.corpus",
    "align": "vecgraft.align",
    "AlignmentReport": "vecgraft.align",
    "pretrained_embedding": "vecgraft.nn.embedding",
    "random_embedding": "vecgraft.nn.embedding",
    "save_embedding": "vecgraft.nn.embedding",
    "load_embedding": "vecgraft.nn.embedding",
    "from_transformer": "vecgraft.transformer",
    "FinetuneConfig": "vecgraft.finetune",
    "load_run": "vecgraft.finetune",
    "PretrainConfig": "vecgraft.pretrain",
    "tune": "vecgraft.evaluate.tune",
    "VecgraftError": "vecgraft.errors",
}

# stage packages exported as themselves: callable as their entry point (`vecgraft.finetune`)
_MODULES = ("finetune", "pretrain")

__all__ = [*sorted([*_EXPORTS, *_MODULES]), "__version__"]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, _MODULES)
