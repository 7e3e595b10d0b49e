"""Invariants of tokenizers and encode on generated text (hypothesis)."""

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vecgraft.errors import DataError
from vecgraft.text import Tokenizer, Vocab

ALPHABET = st.sampled_from(list("aAbz09 .,'’-\n\r\t😀\u200d中文éＡ１nt$#_/:"))
TEXTS = st.lists(st.text(ALPHABET, max_size=30), max_size=8)


@settings(max_examples=80, deadline=None)
@given(TEXTS)
def test_stream_equals_per_text_and_tokens_have_no_whitespace(texts):
    for tok in (Tokenizer(), Tokenizer(lower=True, nfkc=True, digits="#"), Tokenizer("char")):
        per_text = [t for text in texts for t in tok(text)]
        streamed = [t for chunk in tok.tokenize_stream(texts, chunk_chars=7) for t in chunk]
        assert streamed == per_text
        assert all(t and not any(c.isspace() for c in t) for t in per_text)


@settings(max_examples=80, deadline=None)
@given(st.text(ALPHABET, max_size=60))
def test_regex_tokens_cover_every_non_space_character(text):
    """The default rule drops whitespace and lone invisible format characters (a ZWJ outside
    a word or emoji) only: no visible character is lost or invented, no token is invisible."""
    tokens = Tokenizer()(text)
    visible = [c for c in text if not c.isspace() and unicodedata.category(c) != "Cf"]
    assert [c for t in tokens for c in t if unicodedata.category(c) != "Cf"] == visible
    assert all(any(unicodedata.category(c) != "Cf" for c in t) for t in tokens)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(["a", "b", "zz"]), max_size=6), min_size=1, max_size=5),
    st.one_of(st.none(), st.integers(1, 7)),
    st.sampled_from(["left", "right"]),
)
def test_encode_round_trips_tokens(docs, max_length, side):
    vocab = Vocab.from_counts({"a": 2, "b": 1})
    ids, lengths = vocab.encode(docs, max_length=max_length, padding_side=side)
    # one row per document (zip below would hide a missing one), as wide as the longest
    assert ids.shape == (len(docs), max([1, *lengths.tolist()])) and len(lengths) == len(docs)
    for row, n, doc in zip(ids.tolist(), lengths.tolist(), docs):
        kept = doc[:max_length] if max_length else doc
        assert n == len(kept)
        real = row[len(row) - n :] if side == "left" else row[:n]
        pads = row[: len(row) - n] if side == "left" else row[n:]
        assert vocab.lookup_tokens(real) == [t if t in vocab else "<unk>" for t in kept]
        assert set(pads) <= {vocab.pad_index}


def test_stopword_path_objects_are_files(tmp_path):
    path = tmp_path / "s.txt"
    path.write_text("x\n", encoding="utf-8")
    assert Tokenizer(stopwords=path)("x y") == ["y"]
    with pytest.raises(DataError, match="stopword file not found"):
        Tokenizer(stopwords=Path("zz-not-here"))
