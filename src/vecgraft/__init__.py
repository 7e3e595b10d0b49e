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

from vecgraft._util.lazy import lazy_exports
from vecgraft._util.version import __version__

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
