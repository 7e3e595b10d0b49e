"""gensim `KeyedVectors.save` files, loaded only with an explicit `trust=True`.

These are pickles, and unpickling can run arbitrary code; without `trust=True` a FormatError
says why and how to proceed.
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np

from vecgraft._util.extras import require
from vecgraft.errors import FormatError, UntrustedFileError
from vecgraft.io.base import Format, LoadOptions, Source
from vecgraft.io.native import apply_options
from vecgraft.io.subwords import FastTextSubwords
from vecgraft.vectors import Vectors

# What gensim's unpickling can raise for a damaged or foreign pickle (trusted input only).
_LOAD_ERRORS = (
    pickle.UnpicklingError, AttributeError, EOFError, OSError, ValueError, TypeError,
    ImportError, KeyError, IndexError, ModuleNotFoundError,
)  # fmt: skip


def sniff(source: Source, head: bytes) -> str | None:
    """None for a pickle (protocol 2-5 opcode), which is what `KeyedVectors.save` writes."""
    if source.path.is_dir():
        return "is a folder"
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return None
    return "not a pickle (gensim KeyedVectors.save files are pickles)"


def read(source: Source, options: LoadOptions) -> Vectors:
    """Load via gensim when trusted; fastText KeyedVectors keep their n-gram buckets."""
    if source.compression is None and not source.path.is_dir():
        with open(source.path, "rb") as fh:  # format="gensim" forced on another file: it
            not_pickle = sniff(source, fh.read(2))  # was called a pickle, then "no MARK"
        if not_pickle is not None:
            raise FormatError(not_pickle, path=source.path)
    if not options.trust:
        why = (
            "this is a gensim KeyedVectors.save file, i.e. a Python pickle, and unpickling can "
            "run arbitrary code; if you trust where it came from, "
        )
        convert = ", or convert it with gensim's kv.save_word2vec_format(...)"
        raise UntrustedFileError(
            f"{why}load it with vecgraft.load(path, trust=True){convert}",
            cli_message=f"{why}pass --trust{convert}",
            path=source.path,
        )
    if source.compression is not None and source.compression == "zip":
        raise FormatError("zipped gensim files are not supported; unzip it first", path=source.path)
    gensim_models = require("gensim.models", "train", feature="loading gensim KeyedVectors")
    try:
        obj: Any = gensim_models.KeyedVectors.load(str(source.path))
    except _LOAD_ERRORS as exc:
        raise FormatError(f"gensim could not load it: {exc}", path=source.path) from exc
    kv = getattr(obj, "wv", obj)  # a whole Word2Vec/FastText model saved with .save()
    if not hasattr(kv, "index_to_key") or not hasattr(kv, "vectors"):
        raise FormatError(
            f"unpickled a {type(obj).__name__}, not gensim KeyedVectors", path=source.path
        )
    subword = None
    words = [str(w) for w in kv.index_to_key]
    if getattr(kv, "bucket", 0) and getattr(kv, "vectors_ngrams", None) is not None:
        subword = FastTextSubwords(
            np.asarray(kv.vectors_ngrams, dtype=np.float32), minn=kv.min_n, maxn=kv.max_n,
            trained_words=words,  # all of them, whichever rows `vocab=` keeps
            dictionary_size=len(words),
        )
    vectors = Vectors(
        words,
        np.asarray(kv.vectors, dtype=np.float32),
        subword=subword,
        source=source.path,
        metadata={"format": "gensim", "gensim_class": type(kv).__name__},
    )
    return apply_options(vectors, options)


GENSIM_KV = Format(
    "gensim", sniff=sniff, read=read, write=None, extensions=(".kv", ".model"), cacheable=False
)
