"""Vocab: lookups, encode padding/truncation, collate in a DataLoader, JSON, other sources."""

import functools
import json

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from vecgraft.errors import ConfigError, VocabError
from vecgraft.text import Vocab
from vecgraft.vectors import Vectors


@pytest.fixture
def vocab():
    return Vocab.from_counts({"a": 3, "b": 2, "c": 1})  # ids: <pad>0 <unk>1 a2 b3 c4


def test_lookups_both_ways(vocab):
    assert vocab.lookup_ids(["a", "c", "zzz"]) == [2, 4, 1]
    assert vocab.lookup_tokens([3, 0]) == ["b", "<pad>"]
    assert vocab.itos[2] == "a" and vocab.stoi["b"] == 3 and len(vocab) == 5
    assert vocab.lookup_tokens(torch.tensor([4, 2])) == ["c", "a"]


def test_lookup_ids_refuses_one_string(vocab):
    """lookup_ids("abc") looked up the characters and returned [2, 3, 4] silently."""
    with pytest.raises(VocabError, match=r"not one string 'abc'; for one token pass \[token\]"):
        vocab.lookup_ids("abc")


def test_from_counts_refuses_a_negative_count():
    """{"a": -1} was taken (the token silently left out, as if never seen)."""
    with pytest.raises(VocabError, match=r"^counts must be >= 0, got -1 for 'a'$"):
        Vocab.from_counts({"b": 2, "a": -1})


@pytest.mark.parametrize("bad", [-1, 5])
def test_lookup_tokens_refuses_ids_outside_the_vocabulary(vocab, bad):
    """-1 used to give the last token ("c") silently, 5 a bare IndexError."""
    with pytest.raises(VocabError, match=f"id {bad} is outside the vocabulary \\(ids 0..4\\)"):
        vocab.lookup_tokens([2, bad])


def test_lookup_tokens_takes_one_row_of_ids_and_says_so_for_a_batch(vocab):
    assert vocab.lookup_tokens(np.array([4, 2])) == ["c", "a"]
    assert vocab.lookup_tokens(torch.tensor([[4, 2]])[0]) == ["c", "a"]
    # a batch was "Boolean value of Tensor with more than one value is ambiguous"
    with pytest.raises(VocabError, match=r"1-D sequence of ids, got shape \(1, 2\).*row"):
        vocab.lookup_tokens(torch.tensor([[2, 3]]))
    with pytest.raises(VocabError, match=r"got shape \(\); for one id pass \[id\]"):
        vocab.lookup_tokens(torch.tensor(2))
    with pytest.raises(VocabError, match=r"ids must be integers, found float 2\.0"):
        vocab.lookup_tokens([2.0])
    with pytest.raises(VocabError, match=r"ids must be integers, found list \[2\]"):
        vocab.lookup_tokens([[2]])


def test_ids_where_tokens_go_are_refused_not_read_as_unknown(vocab):
    # vocab[3] (an id, as torchtext users try) and encode of ids gave unk ids silently
    with pytest.raises(VocabError, match=r"takes a token \(str\), got int 3; the token of id 3 "
                       r"is vocab\.tokens\[3\]"):  # fmt: skip
        vocab[3]
    with pytest.raises(VocabError, match=r"takes a token \(str\), got list \['a'\]"):
        vocab[["a"]]
    for ids, shown in (([[1, 2]], r"list \[1, 2\]"), (torch.tensor([[1, 2]]), "Tensor"),
                       ([1, 2], "int 1")):  # fmt: skip
        with pytest.raises(VocabError, match=rf"encode takes token lists of str .*document 0 "
                           rf"is {shown}"):  # fmt: skip
            vocab.encode(ids)
    assert vocab["zzz"] == 1 and np.str_("a") in vocab and vocab[np.str_("b")] == 3


def test_encode_right_padding_and_truncation(vocab):
    ids, lengths = vocab.encode([["a", "b", "c", "x"], ["b"], []])
    assert ids.dtype == torch.int64 and lengths.dtype == torch.int64
    assert ids.tolist() == [[2, 3, 4, 1], [3, 0, 0, 0], [0, 0, 0, 0]]
    assert lengths.tolist() == [4, 1, 0]
    ids, lengths = vocab.encode([["a", "b", "c"], ["b"]], max_length=2)
    assert ids.tolist() == [[2, 3], [3, 0]] and lengths.tolist() == [2, 1]
    ids, _ = vocab.encode([["a", "b", "c"]], max_length=2, truncation_side="left")
    assert ids.tolist() == [[3, 4]]


def test_encode_left_padding(vocab):
    ids, lengths = vocab.encode([["a", "b", "c"], ["c"]], padding_side="left", max_length=2)
    assert ids.tolist() == [[2, 3], [0, 4]] and lengths.tolist() == [2, 1]


def test_encode_edge_cases(vocab):
    ids, lengths = vocab.encode([[], []])
    assert ids.shape == (2, 1) and lengths.tolist() == [0, 0]
    ids, lengths = vocab.encode([])
    assert ids.shape == (0, 0) and lengths.shape == (0,)
    with pytest.raises(VocabError, match="document 1 is a string"):
        vocab.encode([["a"], "a b"])
    with pytest.raises(ConfigError, match="padding_side"):
        vocab.encode([["a"]], padding_side="middle")
    with pytest.raises(ConfigError, match="max_length"):
        vocab.encode([["a"]], max_length=0)
    nopad = Vocab(["x", "<unk>"], pad_token=None)
    with pytest.raises(VocabError, match="padding token"):
        nopad.encode([["x"]])


def test_collate_in_dataloader(vocab):
    data = [(["a", "b"], 0), (["c"], 1), (["b", "b", "a"], 2), ([], 1)]
    loader = DataLoader(data, batch_size=2, collate_fn=vocab.collate)
    batches = [[t.tolist() for t in batch] for batch in loader]
    assert batches == [
        [[[2, 3], [4, 0]], [2, 1], [0, 1]],
        [[[3, 3, 2], [0, 0, 0]], [3, 0], [2, 1]],
    ]
    left = functools.partial(vocab.collate, padding_side="left", max_length=2)
    ids, lengths, labels = next(iter(DataLoader(data[2:], batch_size=2, collate_fn=left)))
    assert ids.tolist() == [[3, 3], [0, 0]] and lengths.tolist() == [2, 0]
    assert labels.tolist() == [2, 1]
    ids, lengths = vocab.collate([["a"], ["b", "c"]])
    assert ids.tolist() == [[2, 0], [3, 4]]
    # the message named LabelMap, which no public module exports: it says what to do instead
    with pytest.raises(VocabError) as caught:
        vocab.collate([(["a"], 0), (["a"], "pos")])
    assert str(caught.value) == (
        "collate needs numeric labels (class ids), got the label name 'pos'; map the names "
        "to ids first, e.g. label_ids = {name: i for i, name in enumerate(sorted(set(labels)))}, "
        "then pair each text with label_ids[label]"
    )
    labels = ["pos", "neg", "pos"]
    label_ids = {name: i for i, name in enumerate(sorted(set(labels)))}  # as the message says
    batch = [(["a"], label_ids[label]) for label in labels]
    assert vocab.collate(batch)[2].tolist() == [1, 0, 1]
    # raw text with its label was read as the token list ["a b", 1]: the label went to <unk>
    with pytest.raises(VocabError, match="item 0 holds a string; tokenize it first"):
        vocab.collate([("a b", 1), ("c", 0)])
    assert vocab.collate([["a", "b"]])[0].tolist() == [[2, 3]]  # two tokens, no label


def test_json_round_trip(tmp_path, vocab):
    vocab.metadata["tokenizer"] = {"kind": "regex", "lower": True}
    path = tmp_path / "vocab.json"
    vocab.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["tokens"] == ["<pad>", "<unk>", "a", "b", "c"]
    loaded = Vocab.load(path)
    assert loaded == vocab and loaded.metadata == vocab.metadata
    assert loaded.count("a") == 3 and loaded.unk_index == 1
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(VocabError, match=r"bad\.json: not valid JSON"):
        Vocab.load(tmp_path / "bad.json")


def test_a_zero_count_round_trips(tmp_path):
    # vocab.json stores 0 for "no count": the loaded copy compared unequal to the saved one
    vocab = Vocab(["<pad>", "<unk>", "a", "b"], {"a": 0, "b": 2})
    vocab.save(tmp_path / "v.json")
    assert Vocab.load(tmp_path / "v.json") == vocab
    assert Vocab(["<pad>", "<unk>", "a", "b"], {"a": 1, "b": 2}) != vocab


def test_from_vectors_top_n():
    vectors = Vectors(["the", "<unk>", "a", "of"], np.zeros((4, 2), dtype=np.float32))
    vocab = Vocab.from_vectors(vectors, 3)
    assert vocab.tokens == ["<pad>", "<unk>", "the", "a"]
    assert Vocab.from_vectors(vectors).tokens == ["<pad>", "<unk>", "the", "a", "of"]
    assert vocab.metadata["top_n"] == 3


@pytest.fixture(scope="module")
def wordpiece_dir(tmp_path_factory):
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers.models import WordPiece
    from tokenizers.pre_tokenizers import Whitespace

    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "hello": 4, "world": 5, "##s": 6}
    tok = tokenizers.Tokenizer(WordPiece(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = Whitespace()
    tok.add_special_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]"])
    folder = tmp_path_factory.mktemp("wordpiece")
    tok.save(str(folder / "tokenizer.json"))
    return folder, tok


def test_from_transformer_tokenizer_folder_and_object(wordpiece_dir):
    folder, tok = wordpiece_dir
    expected = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world", "##s"]
    for source in (folder, str(folder / "tokenizer.json"), tok):
        vocab = Vocab.from_transformer_tokenizer(source)
        assert vocab.tokens == expected
        assert vocab.specials == ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
        assert (vocab.pad_index, vocab.unk_index) == (0, 1)
        assert vocab["worlds"] == 1
    assert tok.encode("hello worlds").ids == [4, 5, 6]
    assert vocab.lookup_ids(["hello", "world", "##s"]) == [4, 5, 6]


def test_from_transformer_tokenizer_transformers_object(wordpiece_dir):
    transformers = pytest.importorskip("transformers")
    folder, _ = wordpiece_dir
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_file=str(folder / "tokenizer.json"), pad_token="[PAD]", unk_token="[UNK]"
    )
    vocab = Vocab.from_transformer_tokenizer(fast)
    assert vocab.tokens[:2] == ["[PAD]", "[UNK]"] and vocab.pad_index == 0


def test_from_transformer_tokenizer_vocab_txt_and_errors(tmp_path):
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\nhi\n##x\n", encoding="utf-8")
    vocab = Vocab.from_transformer_tokenizer(tmp_path)
    assert vocab.tokens == ["[PAD]", "[UNK]", "hi", "##x"] and vocab.unk_index == 1
    with pytest.raises(VocabError, match="no such tokenizer"):
        Vocab.from_transformer_tokenizer(tmp_path / "nope")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "tokenizer.json").write_text("{}", encoding="utf-8")
    with pytest.raises(VocabError, match=r"tokenizer\.json: not a tokenizers file"):
        Vocab.from_transformer_tokenizer(tmp_path / "bad")
    with pytest.raises(VocabError, match="cannot read a vocabulary from a int"):
        Vocab.from_transformer_tokenizer(3)


def test_a_tokenizer_folder_with_its_own_code_is_refused_without_running_it(tmp_path):
    """An `auto_map` naming the folder's evil.py ran it on a 'y' at transformers' prompt.

    Run in a child process that answers 'y' on stdin, as a user at the prompt might.
    """
    import os
    import subprocess
    import sys

    folder, marker = tmp_path / "hftok", tmp_path / "PWNED"
    folder.mkdir()
    config = {"tokenizer_class": "EvilTokenizer"}
    config["auto_map"] = {"AutoTokenizer": ["evil.EvilTokenizer", None]}  # type: ignore[assignment]
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    (folder / "evil.py").write_text(
        f"open({str(marker)!r}, 'w').write('x')\n"
        "from transformers import BertTokenizer\n"
        "class EvilTokenizer(BertTokenizer):\n    pass\n",
        encoding="utf-8",
    )
    code = (
        "from vecgraft.errors import VocabError\n"
        "from vecgraft.text.vocab import Vocab\n"
        "try:\n    Vocab.from_transformer_tokenizer(__import__('sys').argv[1])\n"
        "except VocabError as exc:\n    print('REFUSED', exc)\n"
    )
    env = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules"), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code, str(folder)],
        input="y\n", capture_output=True, text=True, env=env, timeout=120,
    )
    assert not marker.exists()
    assert done.stdout.startswith(f"REFUSED {folder}: no tokenizer found"), done.stderr[-2000:]
    assert "trust_remote_code" in done.stdout


def test_an_extended_vocabulary_appends_only_new_words_and_keeps_every_id(vocab):
    bigger = vocab.extended(["b", "zeta", "alpha", "zeta"], extended_from_vectors=2)
    assert bigger.tokens == ["<pad>", "<unk>", "a", "b", "c", "zeta", "alpha"]
    assert [bigger[t] for t in vocab.tokens] == list(range(len(vocab)))
    assert bigger.count("zeta") == 0 and bigger.count("a") == 3
    assert bigger.pad_index == 0 and bigger["never"] == bigger.unk_index == 1
    assert bigger.metadata["extended_from_vectors"] == 2
    assert Vocab.from_dict(bigger.to_dict()) == bigger
    assert vocab.tokens == ["<pad>", "<unk>", "a", "b", "c"]  # the original is untouched


def test_tokens_must_be_strings_and_pad_and_unk_distinct():
    with pytest.raises(VocabError, match="tokens must be strings, found int 1"):
        Vocab.from_counts({1: 2, "the": 1})  # type: ignore[dict-item]
    # None was taken for "no bad token found" and slipped through to a TypeError in align
    with pytest.raises(VocabError, match="tokens must be strings, found NoneType None at id 2"):
        Vocab(["<pad>", "<unk>", None, "a"])  # type: ignore[list-item]
    with pytest.raises(VocabError, match="not one string 'abc'"):
        Vocab("abc", specials=(), pad_token=None, unk_token=None)
    with pytest.raises(VocabError, match="pad_token and unk_token must differ, both are '<x>'"):
        Vocab(["<x>", "a"], specials=["<x>"], pad_token="<x>", unk_token="<x>")
    with pytest.raises(VocabError, match="max_size must be >= 0 or None, got -1"):
        Vocab.from_counts({"a": 3, "b": 2}, max_size=-1)
    # a token list was AttributeError: 'list' object has no attribute 'items'
    with pytest.raises(VocabError, match=r"counts must map each token.*got list.*from_tokens"):
        Vocab.from_counts(["a", "b"])  # type: ignore[arg-type]


def test_a_missing_pad_or_unk_token_names_the_way_out():
    with pytest.raises(VocabError, match=r"pad_token '<pad>' is not in .*pass pad_token=None"):
        Vocab(["the", "cat"])
    with pytest.raises(VocabError, match=r"unk_token '<unk>' is not in .*pass unk_token=None"):
        Vocab(["<pad>", "the"])
    assert Vocab(["the", "cat"], pad_token=None, unk_token=None).tokens == ["the", "cat"]


def test_from_tokens_refuses_raw_text_as_encode_does():
    # one raw string per document was counted character by character: a vocabulary of
    # letters and a space, with nothing said
    with pytest.raises(VocabError, match="document 0 is a string; tokenize it first"):
        Vocab.from_tokens(["the cat", "a dog"])
    with pytest.raises(VocabError, match=r"from_tokens\(\[tokens\]\)"):  # a flat token list
        Vocab.from_tokens(["the", "cat"])
    with pytest.raises(VocabError, match="document 1 is a string"):  # streamed: found as read
        Vocab.from_tokens(iter([["the"], "a dog"]))
    with pytest.raises(VocabError, match="not one string 'the cat'"):
        Vocab.from_tokens("the cat")
    tokens = Vocab.from_tokens([["the", "cat"], ("a",)]).tokens
    assert tokens == ["<pad>", "<unk>", "the", "cat", "a"]
    assert Vocab.from_tokens([]).tokens == ["<pad>", "<unk>"]


def test_a_renamed_pad_or_unk_token_replaces_the_default_spelling():
    from vecgraft.text import Tokenizer, build_vocab

    tok = Tokenizer("whitespace")
    assert build_vocab(["a b a"], tok, pad_token="[PAD]").tokens == ["[PAD]", "<unk>", "a", "b"]
    assert build_vocab(["a b a"], tok, pad_token="[PAD]", unk_token="[UNK]").tokens[:2] == [
        "[PAD]", "[UNK]"
    ]
    assert build_vocab(["a b a"], tok).tokens == ["<pad>", "<unk>", "a", "b"]
    kept = build_vocab(["a b a"], tok, specials=["<pad>", "<unk>", "<s>"], pad_token="[PAD]")
    assert kept.tokens[:4] == ["[PAD]", "<pad>", "<unk>", "<s>"]  # the caller's own list


def test_no_pad_or_unk_token_leaves_no_unused_default_row():
    """pad_token=None / unk_token=None kept the default "<pad>"/"<unk>" spelling as a special
    row nothing used ("<unk>" in vocab, yet unknown words raise); and Vocab.from_counts, unlike
    build_vocab and from_vectors, refused a renamed pad token it could have put in front."""
    from vecgraft.text import Tokenizer, build_vocab

    tok = Tokenizer("whitespace")
    assert build_vocab(["a b a"], tok, pad_token=None).tokens == ["<unk>", "a", "b"]
    no_unk = build_vocab(["a b a"], tok, unk_token=None)
    assert no_unk.tokens == ["<pad>", "a", "b"] and "<unk>" not in no_unk
    with pytest.raises(KeyError):
        no_unk["zzz"]
    assert Vocab.from_counts({"a": 1}, pad_token=None, unk_token=None).tokens == ["a"]
    renamed = Vocab.from_counts({"a": 1}, pad_token="[PAD]", unk_token="[UNK]")
    assert renamed.tokens == ["[PAD]", "[UNK]", "a"] and renamed.pad_index == 0
    assert Vocab.from_tokens([["a"]], pad_token="[PAD]").tokens == ["[PAD]", "<unk>", "a"]


def test_iterating_a_vocab_yields_its_tokens_in_id_order(vocab):
    """`for t in vocab` fell back to `vocab[0]` and raised a VocabError about ids."""
    assert list(vocab) == vocab.tokens
    assert [t for t in Vocab.from_counts({"b": 1, "a": 2})] == ["<pad>", "<unk>", "a", "b"]


def test_a_token_missing_from_a_vocab_without_unk_names_it_and_the_document():
    """A bare `KeyError: 'b'` came out of encode and lookup_ids."""
    from vecgraft.errors import UnknownTokenError

    no_unk = Vocab.from_counts({"a": 1}, unk_token=None)
    with pytest.raises(UnknownTokenError) as caught:
        no_unk.encode([["a"], ["a", "b"]])
    assert str(caught.value) == (
        "document 1: token 'b' is not in the vocabulary, which has no unk_token to map it to; "
        "build it with one (e.g. unk_token='<unk>'), or test `token in vocab` first"
    )
    assert isinstance(caught.value, VocabError) and isinstance(caught.value, KeyError)
    with pytest.raises(KeyError, match=r"^token 'b' is not in the vocabulary"):
        no_unk.lookup_ids(["a", "b"])


def test_collate_names_ids_where_tokens_go():
    """`(tensor([2, 3]), 1)` was reported as `document 0 is tuple (tensor([2, 3]), 1)`."""
    vocab = Vocab.from_counts({"a": 1})
    for ids in (torch.tensor([2, 3]), np.array([2, 3])):
        with pytest.raises(VocabError, match=r"item 0's tokens are (Tensor|ndarray) .*no ids"):
            vocab.collate([(ids, 1)])
