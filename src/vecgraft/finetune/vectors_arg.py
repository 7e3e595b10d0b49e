"""The vectors a run is given besides its config: in memory, or a file read bounded.

`finetune(config, vectors=...)` takes a `Vectors` or a function of the vocabulary's words
(`VectorsArg`, checked by `check_vectors_arg`); a file named in the config is read on
demand (`VectorFile`), and a config records what was passed in memory (`record_vectors`)
so that a retrain or `--resume` asks for the same vectors again.

Both the model families (`vecgraft.finetune.families`) and the text settings
(`vecgraft.finetune.text_settings`) read the vectors through this module. It is a module of
its own so that the text settings can read them without importing the families, which
import the text settings (no import cycle).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vecgraft.errors import ConfigError
from vecgraft.finetune.config import (
    IN_MEMORY_VECTORS,
    FinetuneConfig,
    ModelKind,
    in_memory_error,
    in_memory_vectors,
)
from vecgraft.vectors import Vectors

__all__ = [
    "VectorFile",
    "VectorsArg",
    "check_vectors_arg",
    "config_vector_file",
    "record_vectors",
    "vectors_name",
]


@dataclass(frozen=True)
class VectorFile:
    """Vectors read on demand from a file, bounded: a vocabulary's words, or the first rows.

    `read(words, limit)` gives the rows of `words`, or with `words` None the file's first
    `limit` rows. What the CLI passes with its load flags (`--trust`, `--max-line-bytes`,
    ...), so that `extend_vocab` can list the file's first words, which a plain function of
    words (a vector derived per word, `hf:`) has no list of.
    """

    read: Callable[[list[str] | None, int | None], Vectors]
    # how the file is read, as the run records it (`splits.json`'s "vector_options"): the
    # CLI's reading flags, which `--resume` must give again to read the same rows
    options: Mapping[str, Any] = field(default_factory=dict)

    def __call__(self, words: list[str]) -> Vectors:
        """The vectors of `words` (what any vectors function gives)."""
        return self.read(words, None)


VectorsArg = Vectors | Callable[[list[str]], Vectors] | None


def check_vectors_arg(vectors: Any) -> VectorsArg:
    """`vectors` as `finetune(config, vectors=...)` takes them, or a ConfigError naming the call.

    A path there said "'str' object is not callable" once the vocabulary was built: a file
    goes in the config (`FinetuneConfig(vectors="glove.txt")`), where a run reads it bounded
    and `config.json` records it.
    """
    if vectors is None or isinstance(vectors, Vectors):
        return vectors
    if isinstance(vectors, str | os.PathLike):
        raise ConfigError(
            f"finetune(config, vectors=...) takes vectors in memory (a Vectors, or a function "
            f"of the vocabulary's words returning one), not the path {os.fsdecode(vectors)!r}; "
            f"name a file in the config: FinetuneConfig(vectors={os.fsdecode(vectors)!r})"
        )
    if not callable(vectors):
        raise ConfigError(
            "finetune(config, vectors=...) takes a Vectors, or a function of the vocabulary's "
            f"words returning one; got a {type(vectors).__name__}"
        )
    return vectors


def record_vectors(config: FinetuneConfig, vectors: VectorsArg) -> FinetuneConfig:
    """`config`, recording the vectors passed in memory where it names no file.

    Its `vectors` was "random" in config.json and "from random" in the log of a run on
    400,000 GloVe rows, and a retrain from that config.json trained on random vectors. Now
    it says what they were (`IN_MEMORY_VECTORS`), not a path: a `Vectors` may be a bounded
    or edited load, which its source file would not give back. A config recording such
    vectors is refused without them (a `--resume`, a retrain), naming what to pass.
    """
    if vectors is None:
        if in_memory_vectors(config.vectors):
            raise in_memory_error(config.vectors)
        return config
    if config.vectors != "random":  # the file they came from, as the caller says (tune)
        return config
    if isinstance(vectors, Vectors):
        source = f", source {vectors.source}" if vectors.source else ""
        what = f"{len(vectors):,} x {vectors.dim} Vectors{source}"
    else:
        what = "a function of the vocabulary's words"
    return config.replace(vectors=f"{IN_MEMORY_VECTORS}: {what}>")


def check_vectors_folder(config: FinetuneConfig, vectors: VectorsArg) -> None:
    """Refuse a `config.vectors` folder that holds no vectors, before any data is read.

    Why: a transformer checkpoint folder (`--vectors FOLDER`, not `hf:FOLDER`) is refused by
    the format detection, which ran only once the vocabulary was built: "Member 1/3" and the
    data splits were printed first. Detecting a folder's format reads no vectors.
    """
    if config.model is ModelKind.LINEAR:
        return  # reads only the folder's metadata.json (its tokenizer), never vectors
    path = str(config.vectors)
    if vectors is not None and not isinstance(vectors, VectorFile):
        return  # vectors in memory, or a function of words (`hf:`)
    if isinstance(vectors, VectorFile) and vectors.options.get("format"):
        return  # a forced format is read as it says
    if path == "random" or path.startswith("hf:") or in_memory_vectors(path):
        return
    if os.path.isdir(path):
        from vecgraft.io import detect_format

        detect_format(path)


def vectors_name(config: FinetuneConfig, loaded: Vectors | None = None) -> str:
    """Where the run's vectors came from, for the log: `config.vectors`, or in memory."""
    if not in_memory_vectors(config.vectors):
        return config.vectors
    source = getattr(loaded, "source", None)
    return "the vectors passed in memory" + (f" (source {source})" if source else "")


def short_vectors_name(config: FinetuneConfig, loaded: Vectors | None = None) -> str:
    """`vectors_name` in a sentence: the file's (or source's) base name, not its whole path.

    Why: "n-grams that no word of /tmp/…/noise.bin has" read as a path, not a model.
    """
    source = config.vectors if not in_memory_vectors(config.vectors) else None
    source = source or getattr(loaded, "source", None)
    return os.path.basename(os.fspath(source).rstrip("/\\")) if source else "the vectors"


def config_vector_file(config: FinetuneConfig, **load_options: Any) -> VectorFile:
    """`config.vectors` read bounded by `vecgraft.load` (the library's `VectorFile`)."""
    from vecgraft.io import load

    return VectorFile(lambda words, limit: load(config.vectors, vocab=words, limit=limit,
                                                 **load_options))  # fmt: skip
