"""A wrong kind of argument to a public function is vecgraft's error naming the argument.

A path or gensim's KeyedVectors where Vectors go failed deep inside ("'str' object has no
attribute 'words'"), `load(123)` was pathlib's bare TypeError, an `nn.Linear` given to
`save_embedding` was told its row count, and an unknown keyword of `pretrained_embedding`
was reported against `align`.
"""

from __future__ import annotations

import numpy as np
import pytest
from torch import nn

import vecgraft
import vecgraft.nn
from vecgraft.errors import ArgumentTypeError, ConfigError
from vecgraft.evaluate import analogies, word_similarity
from vecgraft.text.vocab import Vocab
from vecgraft.vectors import Vectors


class KeyedVectors:
    """gensim's KeyedVectors as the checks see it (duck-typed: gensim is an extra)."""

    def __init__(self) -> None:
        self.index_to_key = ["king", "queen"]
        self.vectors = np.eye(2, dtype=np.float32)


VECTORS = Vectors(["king", "queen"], np.eye(2, dtype=np.float32))
VOCAB = Vocab.from_counts({"king": 2, "queen": 1})
LOAD = "load the file first: vecgraft.load('glove.6B.50d.txt')"
CONVERT = "convert gensim's KeyedVectors: vecgraft.Vectors(kv.index_to_key, kv.vectors)"
PATH = "must be a path (str or os.PathLike)"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: word_similarity("glove.6B.50d.txt", "wordsim353"),  # type: ignore[arg-type]
         f"word_similarity(): vectors must be vecgraft Vectors, got str 'glove.6B.50d.txt'; "
         f"{LOAD}"),
        (lambda: analogies("glove.6B.50d.txt", "google"),  # type: ignore[arg-type]
         f"analogies(): vectors must be vecgraft Vectors, got str 'glove.6B.50d.txt'; {LOAD}"),
        (lambda: word_similarity(KeyedVectors(), "wordsim353"),  # type: ignore[arg-type]
         f"word_similarity(): vectors must be vecgraft Vectors, got KeyedVectors; {CONVERT}"),
        (lambda: analogies(KeyedVectors(), "google"),  # type: ignore[arg-type]
         f"analogies(): vectors must be vecgraft Vectors, got KeyedVectors; {CONVERT}"),
        (lambda: vecgraft.save(KeyedVectors(), "x.txt"),  # type: ignore[arg-type]
         f"save(): vectors must be vecgraft Vectors, got KeyedVectors; {CONVERT}"),
        (lambda: vecgraft.save(VECTORS, 3),  # type: ignore[arg-type]
         f"save(): path {PATH}, got int 3"),
        (lambda: vecgraft.load(123),  # type: ignore[arg-type]
         f"load(): path {PATH}, got int 123"),
        (lambda: vecgraft.load(None),  # type: ignore[arg-type]
         f"load(): path {PATH}, got None"),
        (lambda: word_similarity(VECTORS, 5),  # type: ignore[arg-type]
         f"word_similarity(): path {PATH} or a built-in dataset name, got int 5"),
        (lambda: analogies(VECTORS, None),  # type: ignore[arg-type]
         f"analogies(): path {PATH} or a built-in dataset name, got None"),
    ],
)  # fmt: skip
def test_vectors_and_paths_of_the_wrong_type_are_named(call, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # `save` must not write x.txt anywhere
    with pytest.raises(ArgumentTypeError) as caught:
        call()
    assert str(caught.value) == message
    # both families catch it: vecgraft's configuration errors and Python's TypeError
    assert isinstance(caught.value, ConfigError) and isinstance(caught.value, TypeError)
    assert list(tmp_path.iterdir()) == []


def test_save_embedding_refuses_a_module_that_is_not_an_embedding(tmp_path):
    vocab = Vocab.from_counts({"king": 3, "queen": 2})
    with pytest.raises(ArgumentTypeError) as caught:
        vecgraft.save_embedding(tmp_path / "emb", nn.Linear(2, 2), vocab)  # type: ignore[arg-type]
    assert str(caught.value) == (
        "save_embedding(): embedding must be an nn.Embedding, got Linear"
    )
    assert not (tmp_path / "emb").exists()


def test_save_embedding_refuses_a_bag_whose_mode_load_embedding_would_lose(tmp_path):
    # a bag was saved as its weight: load_embedding gave an nn.Embedding, "max" silently gone
    vocab = Vocab.from_counts({"king": 3, "queen": 2})
    bag = nn.EmbeddingBag(len(vocab), 2, mode="max", padding_idx=0)
    with pytest.raises(ArgumentTypeError) as caught:
        vecgraft.save_embedding(tmp_path / "emb", bag, vocab)  # type: ignore[arg-type]
    assert str(caught.value) == (
        "save_embedding(): embedding is an nn.EmbeddingBag (mode 'max'), which load_embedding "
        "would give back as an nn.Embedding without its mode; save "
        "nn.Embedding.from_pretrained(bag.weight, padding_idx=bag.padding_idx) with "
        "report=alignment_report(bag), and after loading rebuild the bag with "
        "nn.EmbeddingBag.from_pretrained(emb.weight, mode='max', padding_idx=emb.padding_idx)"
    )
    assert not (tmp_path / "emb").exists()


@pytest.mark.parametrize("function", ["pretrained_embedding", "pretrained_embedding_bag"])
def test_an_unknown_keyword_is_reported_against_the_function_called(function):
    from vecgraft.nn import embedding

    vocab = Vocab.from_counts({"king": 3, "queen": 2})
    with pytest.raises(TypeError) as caught:
        getattr(embedding, function)(vocab, VECTORS, foo=1)
    assert str(caught.value) == (
        f"{function}() got an unexpected keyword argument 'foo'; its extra keywords go to "
        "vecgraft.align: order, init, seed, unk, dim, normalizer, missing_top"
    )
    # the keywords align does take still pass through
    emb = getattr(embedding, function)(vocab, VECTORS, init="zeros", seed=3)
    assert emb.weight.shape == (len(vocab), 2)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda p: vecgraft.pretrained_embedding(VOCAB, VECTORS, freeze="no"),
         "freeze must be true or false, got 'no'"),
        (lambda p: vecgraft.nn.pretrained_embedding_bag(VOCAB, VECTORS, sparse=1),
         "sparse must be true or false, got 1"),
        (lambda p: vecgraft.random_embedding(VOCAB, 4, freeze="no"),
         "freeze must be true or false, got 'no'"),
        (lambda p: vecgraft.load(p, cache="no"), "cache must be true or false, got 'no'"),
        (lambda p: vecgraft.load(p, progress="yes"),
         "progress must be true or false or null, got 'yes'"),
        (lambda p: vecgraft.load(p, trust="no"), "trust must be true or false, got 'no'"),
        (lambda p: vecgraft.text.Tokenizer(lower="yes"),
         "lower must be true or false, got 'yes'"),
        (lambda p: vecgraft.text.Tokenizer("jieba", halfwidth="no"),
         "halfwidth must be true or false, got 'no'"),
    ],
)
def test_a_string_for_a_boolean_is_refused(call, message, tmp_path):
    """A string is truthy: freeze="no" froze, cache="no" cached, lower="yes" was taken."""
    path = tmp_path / "v.txt"
    path.write_text("king 1 0\nqueen 0 1\n")
    with pytest.raises(ConfigError, match=f"^{message}$"):
        call(path)


def test_booleans_and_progress_none_still_accepted(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("king 1 0\nqueen 0 1\n")
    assert len(vecgraft.load(path, cache=False, progress=None)) == 2
    assert vecgraft.pretrained_embedding(VOCAB, VECTORS, freeze=False).weight.requires_grad


def test_numpy_bools_are_taken_as_python_bools(tmp_path):
    # they were "cache must be true or false, got np.False_"
    from vecgraft.finetune.config import FinetuneConfig

    path = tmp_path / "v.txt"
    path.write_text("king 1 0\nqueen 0 1\n")
    assert len(vecgraft.load(path, cache=np.bool_(False), progress=np.bool_(False))) == 2
    emb = vecgraft.pretrained_embedding(VOCAB, VECTORS, freeze=np.bool_(False))
    assert emb.weight.requires_grad
    tokenizer = vecgraft.text.Tokenizer(lower=np.bool_(False))
    assert (type(tokenizer.lower), tokenizer.lower) == (bool, False)
    config = FinetuneConfig(train="t.csv", lower=np.bool_(False))
    assert (type(config.lower), config.lower) == (bool, False)
    config.save(tmp_path / "config.json")
    assert FinetuneConfig.load(tmp_path / "config.json") == config
