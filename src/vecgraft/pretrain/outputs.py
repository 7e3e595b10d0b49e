"""The output folder of a pretraining run.

DIR/vectors.safetensors   native format: `vecgraft.load(DIR)` finds it (fastText: with subwords)
DIR/vectors.txt           GloVe text
DIR/vectors.bin           word2vec binary
DIR/model.bin             fastText only: Facebook .bin with the n-gram buckets
DIR/vocab.json            the vocabulary with corpus counts (a `Vocab`)
DIR/metadata.json         method, options, corpus, tokenizer, sizes, duration, losses
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vecgraft._util.atomic import atomic_write_json
from vecgraft.vectors import Vectors

VECTOR_FILES = {
    "native": "vectors.safetensors",
    "glove": "vectors.txt",
    "word2vec-bin": "vectors.bin",
}
VOCAB_FILE = "vocab.json"
METADATA_FILE = "metadata.json"
FASTTEXT_FILE = "model.bin"


def write_json(path: Path, data: Any) -> None:
    """Write `data` as indented UTF-8 JSON, atomically."""
    atomic_write_json(path, data, indent=1, default=str)


def write_outputs(
    out: Path,
    vectors: Vectors,
    counts: Sequence[int],
    metadata: Mapping[str, Any],
) -> dict[str, str]:
    """Write the vectors in every output format, the vocabulary and the metadata.

    Args:
        out: the output folder (created if needed).
        vectors: the trained vectors (words in vocabulary order).
        counts: corpus count of each word of `vectors`, same order.
        metadata: facts about the run; stored in metadata.json and in the native file.

    Returns:
        The files written, by role (native, glove, word2vec-bin, vocab, metadata).
    """
    from vecgraft.io import save
    from vecgraft.text.vocab import Vocab

    out.mkdir(parents=True, exist_ok=True)
    files = {role: name for role, name in VECTOR_FILES.items()}
    meta = {**metadata, "files": {**dict(metadata.get("files", {})), **files}}
    meta["files"]["vocab"] = VOCAB_FILE
    meta["files"]["metadata"] = METADATA_FILE
    vectors.metadata.update(meta)
    for fmt, name in VECTOR_FILES.items():
        save(vectors, out / name, format=fmt)
    vocab = Vocab(
        vectors.words,
        dict(zip(vectors.words, counts)),
        specials=(),
        pad_token=None,
        unk_token=None,
        metadata={"tokenizer": meta.get("tokenizer"), "method": meta.get("method")},
    )
    vocab.save(out / VOCAB_FILE)
    write_json(out / METADATA_FILE, meta)
    return dict(meta["files"])
