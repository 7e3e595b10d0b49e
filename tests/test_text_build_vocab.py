"""build_vocab: exact order, min_freq, max_size, specials, metadata, errors."""

import pytest

from conftest_text import write_text
from vecgraft.errors import ArgumentTypeError, ConfigError, DataError, VocabError
from vecgraft.text import Texts, Tokenizer, Vocab, build_vocab, iter_texts

CORPUS = ["b a c", "a d b", "e a", "c"]  # a:3, b:2, c:2, d:1, e:1 ; first seen b,a,c,d,e


def test_order_is_frequency_then_first_appearance():
    vocab = build_vocab(Texts(CORPUS), Tokenizer())
    assert vocab.tokens == ["<pad>", "<unk>", "a", "b", "c", "d", "e"]
    assert [vocab.count(t) for t in vocab.tokens] == [0, 0, 3, 2, 2, 1, 1]
    assert (vocab.pad_index, vocab.unk_index, vocab["zzz"]) == (0, 1, 1)


def test_min_freq_and_max_size():
    assert build_vocab(CORPUS, Tokenizer(), min_freq=2).tokens == [
        "<pad>", "<unk>", "a", "b", "c",
    ]  # fmt: skip
    assert build_vocab(CORPUS, Tokenizer(), max_size=2).tokens == ["<pad>", "<unk>", "a", "b"]
    with pytest.raises(VocabError, match=r"min_freq=9 keeps no token.*3 times"):
        build_vocab(CORPUS, Tokenizer(), min_freq=9)


def test_custom_specials():
    vocab = build_vocab(
        CORPUS,
        Tokenizer(),
        specials=("[PAD]", "[UNK]", "[CLS]", "[SEP]"),
        pad_token="[PAD]",
        unk_token="[UNK]",
        max_size=1,
    )
    assert vocab.tokens == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a"]
    assert vocab.specials == ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    assert (vocab.pad_index, vocab.unk_index) == (0, 1)
    # pad/unk missing from `specials` are put in front
    vocab = build_vocab(CORPUS, Tokenizer(), specials=("[CLS]",), max_size=1)
    assert vocab.tokens == ["<pad>", "<unk>", "[CLS]", "a"]
    no_unk = build_vocab(CORPUS, Tokenizer(), specials=(), unk_token=None, max_size=1)
    assert no_unk.tokens == ["<pad>", "a"]
    with pytest.raises(KeyError):
        no_unk["zzz"]


@pytest.mark.parametrize("specials", ["<pad>", ["<pad>", 3]])
def test_specials_must_be_a_list_of_strings(specials):
    """specials="<pad>" made "<", "p", "a", "d", ">" the special tokens silently."""
    with pytest.raises(ConfigError, match="specials must be a list of strings, got "):
        build_vocab(CORPUS, Tokenizer(), specials=specials)
    with pytest.raises(ConfigError, match="specials must be a list of strings"):
        Vocab.from_counts({"a": 1}, specials=specials)


def test_metadata_records_tokenizer_counts_and_corpus(tmp_path):
    path = write_text(tmp_path / "c.txt", b"The cat\n\nthe \xffdog\n")
    tok = Tokenizer(lower=True, stopwords="en")
    tok("warm up the stats")  # earlier use must not leak into this build's numbers
    vocab = build_vocab(iter_texts(path, errors="replace"), tok)
    assert vocab.tokens == ["<pad>", "<unk>", "cat", "\ufffd", "dog"]
    meta = vocab.metadata
    assert meta["tokenizer"] == tok.config
    assert (meta["texts"], meta["tokens"], meta["types"], meta["stopwords_removed"]) == (2, 3, 3, 2)
    assert meta["corpus"]["unicode_replacements"] == 1 and meta["corpus"]["blank"] == 1
    again = Tokenizer.from_config(Vocab.from_dict(vocab.to_dict()).metadata["tokenizer"])
    assert again("The cat") == ["cat"]


def test_chinese_vocab_without_stopwords():
    texts = Texts(["我的猫是黑色的", "猫睡了"])
    vocab = build_vocab(texts, Tokenizer("jieba", stopwords="zh"))
    assert vocab.tokens == ["<pad>", "<unk>", "猫", "黑色", "睡"]
    assert vocab.metadata["stopwords_removed"] == 5


def test_empty_corpus_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="empty corpus: 0 texts"):
        build_vocab(Texts([]), Tokenizer())
    empty = write_text(tmp_path / "e.txt", "\n\n")
    with pytest.raises(DataError, match="empty corpus"):
        build_vocab(iter_texts(empty), Tokenizer())
    with pytest.raises(DataError, match=r"2 texts gave no tokens \(3 stopwords removed\)"):
        build_vocab(["the a", "of"], Tokenizer(stopwords="en"))


def test_build_is_deterministic_across_runs(tmp_path):
    write_text(tmp_path / "x" / "1.txt", "z y x\ny z\n")
    write_text(tmp_path / "x" / "2.txt.gz", "x w\n")
    first = build_vocab(iter_texts(tmp_path / "x"), Tokenizer())
    second = build_vocab(iter_texts(tmp_path / "x"), Tokenizer())
    assert first == second
    assert first.tokens == ["<pad>", "<unk>", "z", "y", "x", "w"]


def test_a_path_string_is_not_mistaken_for_documents(tmp_path):
    with pytest.raises(DataError, match=r"iter_texts\(path\)"):
        build_vocab(str(tmp_path / "corpus.txt"), Tokenizer())


def test_a_plain_function_tokenizes_and_is_named_not_saved():
    # torchtext users pass a function (get_tokenizer("basic_english"), str.split): it was an
    # AttributeError 'stats'; counted now, with metadata saying what cannot be rebuilt
    vocab = build_vocab(CORPUS, str.split)
    assert vocab.tokens == ["<pad>", "<unk>", "a", "b", "c", "d", "e"]
    meta = vocab.metadata
    assert meta["tokenizer"] is None and meta["tokenizer_function"] == "str.split"
    assert (meta["texts"], meta["tokens"], meta["types"]) == (4, 9, 5)
    assert Vocab.from_dict(vocab.to_dict()) == vocab  # still JSON
    lowered = build_vocab(["A b", "a"], lambda text: text.lower().split())
    assert lowered.tokens == ["<pad>", "<unk>", "a", "b"]
    assert lowered.metadata["tokenizer_function"].endswith("<lambda>")


@pytest.mark.parametrize(
    ("tokenizer", "said"),
    [
        (None, r"got NoneType None; pass a vecgraft\.text\.Tokenizer"),
        ("regex", r"Tokenizer\('regex'\)"),
        (Tokenizer, r"got the class Tokenizer.*Tokenizer\(\) \(an instance\)"),
        (str.lower, r"str\.lower returned a str for document 0, not a list of tokens"),
        (lambda text: {"input_ids": [1]}, r"returned a dict .*its \.tokenize"),
    ],
)
def test_what_is_not_a_tokenizer_is_named(tokenizer, said):
    with pytest.raises(ConfigError, match=said):
        build_vocab(CORPUS, tokenizer)


def test_texts_that_are_not_iterable_are_refused():
    """build_vocab(None, ...) was "'NoneType' object is not iterable" from 6 frames deep."""
    with pytest.raises(ArgumentTypeError, match=r"^build_vocab\(\): texts must be an iterable "
                       r"of texts \(a list, Texts\(...\) or iter_texts\(path\)\), got None$"):
        build_vocab(None, Tokenizer())  # type: ignore[arg-type]
