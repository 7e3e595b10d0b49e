"""from_transformer / init_new_token_rows on tiny local BERT and GPT-2 checkpoints."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

import conftest_transformer
import vecgraft
from vecgraft.cli import main
from vecgraft.errors import ConfigError, DataError, FormatError
from vecgraft.io.hf_checkpoint import find_embedding_name
from vecgraft.text.vocab import Vocab
from vecgraft.transformer import from_transformer, init_new_token_rows, postprocess
from vecgraft.transformer.tokens import whole_word_tokens

bert_dir = conftest_transformer.bert_dir
gpt2_dir = conftest_transformer.gpt2_dir

# under torch < 2.6 transformers refuses every pytorch_model.bin itself (CVE-2025-32434),
# before vecgraft's own weights-only check: the file is still never unpickled, and the
# error still names the folder, but in transformers' words
_OWN_BIN_CHECK = pytest.mark.skipif(
    torch.__version__ < torch.torch_version.TorchVersion("2.6"),
    reason="transformers refuses pytorch_model.bin under torch < 2.6 before vecgraft's check",
)


def _table(path: Path, name: str) -> np.ndarray:
    with safe_open(path / "model.safetensors", framework="pt") as fh:
        return fh.get_tensor(name).float().numpy()


def _bert_table(path: Path) -> np.ndarray:
    return _table(path, "embeddings.word_embeddings.weight")


def _tok(path: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(path), local_files_only=True)


# -- input mode -----------------------------------------------------------------------------
def test_input_single_token_word_is_its_row(bert_dir):
    table = _bert_table(bert_dir)
    v = from_transformer(bert_dir, ["cat", "dog"], mode="input")
    assert v.words == ["cat", "dog"]
    np.testing.assert_array_equal(v["cat"], table[6])
    np.testing.assert_array_equal(v["dog"], table[7])
    assert v.metadata["mode"] == "input" and v.metadata["model_type"] == "bert"


@pytest.mark.parametrize(
    ("pooling", "expected"),
    [
        ("mean", lambda rows: rows.mean(0)),
        ("first", lambda rows: rows[0]),
        ("sum", lambda rows: rows.sum(0)),
    ],
)
def test_input_multi_token_word_pools_rows(bert_dir, pooling, expected):
    table = _bert_table(bert_dir)
    v = from_transformer(bert_dir, ["unbelievable", "cats"], mode="input", pooling=pooling)
    np.testing.assert_allclose(v["unbelievable"], expected(table[[13, 14, 15]]), rtol=1e-6)
    np.testing.assert_allclose(v["cats"], expected(table[[6, 16]]), rtol=1e-6)
    assert v.metadata["pooling"] == pooling


def test_input_ignores_tokenizer_json_padding(bert_dir, tmp_path):
    from tokenizers import Tokenizer

    ckpt = tmp_path / "padded"
    shutil.copytree(bert_dir, ckpt)
    backend = Tokenizer.from_file(str(ckpt / "tokenizer.json"))
    backend.enable_padding(length=16, direction="left", pad_id=0, pad_token="[PAD]")
    backend.save(str(ckpt / "tokenizer.json"))
    table = _bert_table(bert_dir)
    v = from_transformer(ckpt, ["unbelievable", "cat"])
    np.testing.assert_allclose(v["unbelievable"], table[[13, 14, 15]].mean(0), rtol=1e-6)
    np.testing.assert_array_equal(v["cat"], table[6])


def test_a_tokenizer_larger_than_the_table_is_a_format_error_in_every_mode(bert_dir, tmp_path):
    # contextless and corpus modes ran the forward pass and died with a raw IndexError
    from transformers import BertTokenizerFast

    ckpt = tmp_path / "bigger"
    ckpt.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(bert_dir / name, ckpt / name)
    words = (bert_dir / "vocab.txt").read_text(encoding="utf-8") + "zebra\nlion\n"
    (ckpt / "vocab.txt").write_text(words, encoding="utf-8")
    BertTokenizerFast.from_pretrained(str(ckpt)).save_pretrained(ckpt)
    with pytest.raises(FormatError, match="produced id 25 but the embedding table has 25 rows"):
        from_transformer(ckpt, ["zebra", "cat"], mode="input")
    for mode in ("contextless", "corpus"):
        with pytest.raises(FormatError) as exc:
            from_transformer(ckpt, ["zebra", "cat"], mode=mode, corpus=["a zebra and a cat"])
        assert str(exc.value) == (
            f"{ckpt}: the tokenizer has 27 tokens but the embedding table has 25 rows"
        )


def test_a_folder_without_tokenizer_files_is_a_format_error_not_a_blank_tokenizer(
    bert_dir, tmp_path
):
    # transformers built a 5-token tokenizer of specials: every word was dropped as unknown,
    # and a graft gave its new token id 5, overwriting the row of "the"
    from vecgraft.transformer import graft_vocab

    ckpt = tmp_path / "weights-only"
    ckpt.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(bert_dir / name, ckpt / name)
    expected = (
        f"{ckpt}: no tokenizer vocabulary: expected tokenizer.json, vocab.txt for WordPiece or "
        "vocab.json + merges.txt for BPE; the folder holds config.json, model.safetensors"
    )
    for call in (
        lambda: from_transformer(ckpt, ["cat", "dog"]),
        lambda: from_transformer(ckpt, ["cat", "dog"], mode="contextless"),
        lambda: graft_vocab(ckpt, add_tokens=["unbelievable"]),
    ):
        with pytest.raises(FormatError) as exc:
            call()
        assert str(exc.value) == expected


def test_input_gpt2_uses_leading_space_token(gpt2_dir):
    tok = _tok(gpt2_dir)
    table = _table(gpt2_dir, "transformer.wte.weight")
    row = tok.convert_tokens_to_ids("Ġcat")
    assert row != tok.unk_token_id
    v = from_transformer(gpt2_dir, ["cat"], mode="input")
    np.testing.assert_array_equal(v["cat"], table[row])
    assert v.metadata["leading_space"] is True


def test_words_none_takes_whole_word_tokens(bert_dir, gpt2_dir):
    words = from_transformer(bert_dir, None).words
    assert words[:3] == ["the", "cat", "dog"]
    assert not any(w.startswith("##") or w.startswith("[") for w in words)
    gpt_words = from_transformer(gpt2_dir, None).words
    assert "cat" in gpt_words and "naïve" in gpt_words
    assert not any(w.startswith("Ġ") or "\ufffd" in w for w in gpt_words)


def _bpe_checkpoint(
    path: Path, *, pre_tokenizer: Any = None, alphabet: Any = (), **bpe_options: str
) -> Path:
    """A tiny BERT whose tokenizer is a BPE trained after a plain whitespace split.

    Or after `pre_tokenizer`, with `alphabet` as the trainer's initial alphabet.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE(unk_token="[UNK]", **bpe_options))
    bpe.pre_tokenizer = pre_tokenizer or pre_tokenizers.Whitespace()
    trainer = trainers.BpeTrainer(vocab_size=120, special_tokens=["[UNK]", "[PAD]"],
                                  initial_alphabet=list(alphabet), show_progress=False,
                                  **bpe_options)  # fmt: skip
    bpe.train_from_iterator(conftest_transformer.BPE_TEXTS, trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, unk_token="[UNK]", pad_token="[PAD]")
    tok.save_pretrained(path)
    config = BertConfig(vocab_size=len(tok), hidden_size=16, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=32)  # fmt: skip
    torch.manual_seed(0)
    BertModel(config).eval().save_pretrained(path)
    return path


def test_words_none_is_refused_where_the_vocabulary_does_not_mark_words(tmp_path, capsys):
    # "the" and the piece "nbe" look alike in such a vocabulary: the pieces were given
    # vectors as if they were words
    ckpt = _bpe_checkpoint(tmp_path / "bpe")
    assert "nbe" in _tok(ckpt).get_vocab()  # of "unbelievable"
    with pytest.raises(FormatError) as caught:
        from_transformer(ckpt, None)
    assert str(caught.value) == (
        f"{ckpt}: cannot list the tokenizer's whole words: its BPE vocabulary marks neither "
        "word starts (Ġ, ▁), word ends (</w>) nor word pieces (##), so words and pieces look "
        "alike; give the words (a list in Python, --words FILE or --vocab with from-transformer)"
    )
    capsys.readouterr()  # the checkpoint's save
    assert main(["from-transformer", str(ckpt), "--out", str(tmp_path / "v.txt")]) == 1
    assert capsys.readouterr().err == f"vecgraft from-transformer: error: {caught.value}\n"
    # given words are read as its tokenizer spells them
    assert from_transformer(ckpt, ["cat", "unbelievable"]).words == ["cat", "unbelievable"]


def test_words_none_is_refused_where_the_vocabulary_marks_word_ends_only(tmp_path):
    # CLIP's and the original GPT's BPE end a word's last token with "</w>"; stripped, every
    # word-final piece ("s" of cats, "able" of unbelievable) was listed as a word
    ckpt = _bpe_checkpoint(tmp_path / "bpe", end_of_word_suffix="</w>")
    vocab = _tok(ckpt).get_vocab()
    assert "s</w>" in vocab  # ends "cats", "dogs", "things"
    with pytest.raises(FormatError) as caught:
        from_transformer(ckpt, None)
    assert str(caught.value) == (
        f"{ckpt}: cannot list the tokenizer's whole words: its BPE vocabulary marks word ends "
        "only (</w>), and a token ending in one ends a word without being one (ing</w> of "
        "playing), so words and pieces look alike; give the words (a list in Python, "
        "--words FILE or --vocab with from-transformer)"
    )
    # given words are read as its tokenizer spells them: "cat" is the token "cat</w>"
    v = from_transformer(ckpt, ["cat", "unbelievable"])
    assert v.words == ["cat", "unbelievable"]
    np.testing.assert_array_equal(v["cat"], _bert_table(ckpt)[vocab["cat</w>"]])


def test_words_none_is_refused_for_clips_tokenizer_layout(tmp_path):
    # CLIP's BPE marks word ends ("</w>") behind a ByteLevel pre-tokenizer: read as a
    # "Ġ"-marked vocabulary, which it is not, no token was a word and 0 vectors came back
    from tokenizers import Regex, pre_tokenizers

    clip_split = Regex(r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""")
    pre = pre_tokenizers.Sequence([
        pre_tokenizers.Split(clip_split, behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False),
    ])  # fmt: skip
    ckpt = _bpe_checkpoint(tmp_path / "clip", pre_tokenizer=pre, end_of_word_suffix="</w>",
                           alphabet=pre_tokenizers.ByteLevel.alphabet())  # fmt: skip
    assert "s</w>" in _tok(ckpt).get_vocab()
    with pytest.raises(FormatError, match=r"marks word ends only \(</w>\)"):
        from_transformer(ckpt, None)


def test_words_none_is_refused_where_no_token_carries_the_word_marks(tmp_path):
    # a ByteLevel pre-tokenizer over a vocabulary trained without one: no token starts
    # with "Ġ", and an empty word list grafted nothing without a word of why
    from tokenizers import Tokenizer, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    ckpt = _bpe_checkpoint(tmp_path / "bpe")
    raw = Tokenizer.from_file(str(ckpt / "tokenizer.json"))
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="[UNK]", pad_token="[PAD]")
    with pytest.raises(FormatError) as caught:
        whole_word_tokens(tok)
    assert str(caught.value) == (
        "cannot list the tokenizer's whole words: no token of its BPE vocabulary is a word "
        "by its marks (Ġ), so words and pieces look alike; give the words (a list in "
        "Python, --words FILE or --vocab with from-transformer)"
    )


def test_vocab_specials_and_duplicates_are_dropped(bert_dir):
    vocab = Vocab.from_counts({"cat": 3, "dog": 1})
    v = from_transformer(bert_dir, vocab)
    assert v.words == ["cat", "dog"]
    assert from_transformer(bert_dir, ["cat", "cat", "dog"]).words == ["cat", "dog"]
    for mode in ("input", "contextless"):
        v = from_transformer(bert_dir, ["cat", "", "  ", "dog"], mode=mode)
        assert v.words == ["cat", "dog"] and v.metadata["dropped_words"] == 2


def test_the_vocabularys_tokenizer_is_kept_or_named(bert_dir, tmp_path, capsys):
    # a vocab.json of jieba words + characters made vectors whose metadata had no tokenizer:
    # `build --vectors` then cut Chinese texts with regex, with no word of why
    from vecgraft.finetune.vectors_record import vectors_metadata
    from vecgraft.text import Tokenizer

    tokenizer = Tokenizer("jieba", zh_mode="word+char").config
    Vocab.from_counts({"cat": 3, "dog": 1}, metadata={"tokenizer": tokenizer}).save(
        tmp_path / "vocab.json"
    )
    said = "note: the vocabulary's words were cut with --tokenizer jieba --zh-mode word+char; "
    # build and finetune read a native file's own tokenizer (`vectors_metadata`)
    native = "kept in the file's metadata, which build, finetune, compare and tune read"
    for out, kept in [
        ("x.safetensors", native),
        ("x.txt", "the glove format keeps no tokenizer: pass them to build or finetune"),
    ]:
        capsys.readouterr()
        assert main(["from-transformer", str(bert_dir), "--vocab", str(tmp_path / "vocab.json"),
                     "--mode", "input", "--out", str(tmp_path / out)]) == 0  # fmt: skip
        assert capsys.readouterr().out.splitlines()[1:] == [said + kept]
    saved = vecgraft.load(tmp_path / "x.safetensors", cache=False).metadata["tokenizer"]
    assert saved == tokenizer
    assert vectors_metadata(str(tmp_path / "x.safetensors"))["tokenizer"] == tokenizer
    # a vocabulary that records no tokenizer: nothing recorded, nothing said
    assert "tokenizer" not in from_transformer(bert_dir, Vocab.from_counts({"cat": 1})).metadata


def test_words_spelled_with_the_unknown_token_only_are_missing_not_one_shared_vector(bert_dir):
    # the tiny BERT vocabulary has no Chinese: each character is [UNK]
    for mode in ("input", "contextless"):
        v = from_transformer(bert_dir, ["cat", "中国", "酒店", "dog"], mode=mode)
        assert v.words == ["cat", "dog"], mode
        assert v.metadata["unknown_words"] == 2 and v.metadata["dropped_words"] == 2


# -- contextless mode -----------------------------------------------------------------------
def _hand_forward(path: Path, text: str, pooling: str = "mean") -> np.ndarray:
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()
    enc = _tok(path)(text, return_special_tokens_mask=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(input_ids=enc["input_ids"]).last_hidden_state[0]
    rows = hidden[enc["special_tokens_mask"][0] == 0]
    return {"mean": rows.mean(0), "first": rows[0], "sum": rows.sum(0)}[pooling].numpy()


@pytest.mark.parametrize("pooling", ["mean", "first"])
def test_contextless_equals_hand_forward_bert(bert_dir, pooling):
    words = ["cat", "unbelievable", "the", "playing"]
    v = from_transformer(bert_dir, words, mode="contextless", pooling=pooling, batch_size=3)
    for word in words:
        np.testing.assert_allclose(v[word], _hand_forward(bert_dir, word, pooling), atol=1e-5)
    assert v.metadata["layer"] == -1 and v.metadata["dtype"] == "float32"


def test_contextless_bfloat16_path(bert_dir):
    # the dtype used on GPU, exercised on CPU: same vectors up to bf16 rounding
    words = ["cat", "unbelievable"]
    full = from_transformer(bert_dir, words, mode="contextless")
    half = from_transformer(bert_dir, words, mode="contextless", dtype="bfloat16")
    assert half.metadata["dtype"] == "bfloat16" and half.matrix.dtype == np.float32
    np.testing.assert_allclose(half.matrix, full.matrix, atol=0.1)
    with pytest.raises(ConfigError, match="dtype"):
        from_transformer(bert_dir, words, mode="contextless", dtype="float8")


@pytest.mark.parametrize(("major", "expected"), [(7, "float32"), (8, "bfloat16")])
def test_bfloat16_is_the_default_only_on_gpus_with_native_bf16(monkeypatch, major, expected):
    # a T4 (7.5) or V100 (7.0) only emulates bf16: every GPU got it, slower than float32
    from vecgraft.transformer import encode

    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (major, 5))
    monkeypatch.setattr(torch.version, "hip", None)
    assert encode.default_dtype(torch.device("cuda", 0)) == expected
    assert encode.default_dtype(torch.device("cpu")) == "float32"


def test_the_encoder_loads_in_the_default_dtype(bert_dir, monkeypatch):
    from vecgraft.transformer import encode

    monkeypatch.setattr(encode, "default_dtype", lambda device: "float16")
    words = ["cat", "unbelievable"]
    assert from_transformer(bert_dir, words, mode="contextless").metadata["dtype"] == "float16"


def test_contextless_equals_hand_forward_gpt2(gpt2_dir):
    v = from_transformer(gpt2_dir, ["cat", "unbelievable"], mode="contextless")
    for word in v.words:
        np.testing.assert_allclose(v[word], _hand_forward(gpt2_dir, " " + word), atol=1e-5)


# -- corpus mode ----------------------------------------------------------------------------
def test_corpus_averages_occurrences(bert_dir, tmp_path):
    from transformers import AutoModel

    corpus = tmp_path / "corpus.txt"
    lines = ["The cat sat on the mat.", "A big dog ran home, the cat ran!"]
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    v = from_transformer(bert_dir, ["cat", "the", "play"], mode="corpus", corpus=corpus)

    model = AutoModel.from_pretrained(str(bert_dir), local_files_only=True).eval()
    tok = _tok(bert_dir)
    hidden = []
    with torch.no_grad():
        for line in lines:
            ids = tok(line, return_tensors="pt")["input_ids"]
            hidden.append(model(input_ids=ids).last_hidden_state[0].numpy())
    # [CLS] the cat sat on the mat . [SEP] / [CLS] a big dog ran home , the cat ran ! [SEP]
    np.testing.assert_allclose(v["cat"], (hidden[0][2] + hidden[1][8]) / 2, atol=1e-5)
    np.testing.assert_allclose(
        v["the"], (hidden[0][1] + hidden[0][5] + hidden[1][7]) / 3, atol=1e-5
    )
    # "play" never occurs: falls back to contextless
    np.testing.assert_allclose(v["play"], _hand_forward(bert_dir, "play"), atol=1e-5)
    meta = v.metadata
    assert (meta["corpus_words"], meta["corpus_fallback"], meta["corpus_occurrences"]) == (2, 1, 5)


def test_corpus_finds_chinese_words_inside_a_clause(bert_dir, tmp_path):
    # the regex word rule keeps "我爱中国人" whole, so no Chinese word was ever found in it and
    # every one fell back to contextless
    from transformers import AutoModel

    from vecgraft.transformer import graft_vocab, save_grafted

    zh = save_grafted(graft_vocab(bert_dir, add_tokens=list("我爱中国人")), tmp_path / "zh")
    lines = ["我爱中国人", "中国很大"]
    v = from_transformer(zh, ["中国", "爱", "国"], mode="corpus", corpus=lines)
    meta = v.metadata
    # 中国 twice; 爱 once; 国 only inside 中国, which the longest match takes
    assert (meta["corpus_words"], meta["corpus_fallback"], meta["corpus_occurrences"]) == (2, 1, 3)
    model = AutoModel.from_pretrained(str(zh), local_files_only=True).eval()
    tok = _tok(zh)
    with torch.no_grad():
        hidden = [model(**tok(line, return_tensors="pt")).last_hidden_state[0] for line in lines]
    # [CLS] 我 爱 中 国 人 [SEP] / [CLS] 中 国 [UNK] [UNK] [SEP]
    both = (hidden[0][3:5].mean(0) + hidden[1][1:3].mean(0)) / 2
    np.testing.assert_allclose(v["中国"], both.numpy(), atol=1e-5)
    np.testing.assert_allclose(v["爱"], hidden[0][2].numpy(), atol=1e-5)


def test_corpus_caps_occurrences(bert_dir):
    lines = ["the cat sat.", "the dog sat.", "the mat."]
    v = from_transformer(bert_dir, ["the", "sat"], mode="corpus", corpus=lines, max_occurrences=1)
    first = from_transformer(bert_dir, ["the", "sat"], mode="corpus", corpus=lines[:1])
    np.testing.assert_allclose(v.matrix, first.matrix, atol=1e-6)
    assert v.metadata["corpus_occurrences"] == 2


def test_corpus_finds_a_word_however_its_accents_are_encoded():
    """Vocabularies hold NFC words (the tokenizers compose accents): a corpus line that spells
    "café" decomposed (e + U+0301) must still count as an occurrence, not leave the word
    to the contextless fallback."""
    from vecgraft.transformer.corpus import find_words, iter_lines

    (line,) = iter_lines(["the cafe\u0301 sat."])
    assert find_words(line, {"café": 0}) == [(0, 4, 8)]


def test_corpus_finds_words_the_rule_splits_a_clitic_off():
    """The word rule splits "it's" into it + 's: a word list holding "it's" (graft-vocab
    proposes such words) was never found and fell back to contextless as "not in corpus"."""
    from vecgraft.transformer.corpus import find_words

    wanted = {"it's": 0, "it": 1, "we're": 2, "don't": 3}
    line = "It's here, we're off; it is. Don't."
    assert find_words(line, wanted) == [(0, 0, 4), (2, 11, 16), (1, 22, 24), (3, 29, 34)]
    assert find_words("it's", {"it": 1}) == [(1, 0, 2)]  # no whole word wanted: the part


def test_corpus_folder_and_missing_path(bert_dir, tmp_path):
    folder = tmp_path / "texts"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("the cat sat.\n", encoding="utf-8")
    (folder / "sub" / "b.txt").write_bytes(b"the dog \xff sat.\n")  # not UTF-8
    with pytest.raises(DataError, match=r"b\.txt:1: invalid UTF-8"):  # strict by default
        from_transformer(bert_dir, ["cat", "dog", "mat"], mode="corpus", corpus=folder)
    v = from_transformer(
        bert_dir, ["cat", "dog", "mat"], mode="corpus", corpus=folder, corpus_errors="replace"
    )
    assert (v.metadata["corpus_words"], v.metadata["corpus_fallback"]) == (2, 1)
    assert v.metadata["corpus"] == str(folder)
    with pytest.raises(DataError, match="no such corpus"):
        from_transformer(bert_dir, ["cat"], mode="corpus", corpus=tmp_path / "nope.txt")


def test_contextless_layer_option(bert_dir):
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(bert_dir), local_files_only=True).eval()
    ids = _tok(bert_dir)("unbelievable", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        states = model(input_ids=ids, output_hidden_states=True).hidden_states
    v = from_transformer(bert_dir, ["unbelievable"], mode="contextless", layer=1)
    np.testing.assert_allclose(v["unbelievable"], states[1][0, 1:4].mean(0), atol=1e-5)
    assert v.metadata["layer"] == 1
    with pytest.raises(ConfigError, match="layer 7 out of range"):
        from_transformer(bert_dir, ["cat"], mode="contextless", layer=7)


def test_corpus_mode_needs_corpus(bert_dir):
    with pytest.raises(ConfigError, match="corpus"):
        from_transformer(bert_dir, ["cat"], mode="corpus")


# -- post-processing ------------------------------------------------------------------------
def test_pca_and_sif_are_recorded(bert_dir):
    words = ["the", "cat", "dog", "sat", "mat", "big"]
    plain = from_transformer(bert_dir, words)
    assert plain.metadata["pca"] is None and plain.metadata["sif"] is None
    v = from_transformer(bert_dir, words, pca=4, sif=True, sif_a=0.5)
    assert v.matrix.shape == (6, 4)
    assert v.metadata["pca"] == 4 and v.metadata["sif"] == {"a": 0.5, "p": "zipf"}
    counts = {"the": 10, "cat": 0}
    w = from_transformer(bert_dir, ["the", "cat"], sif=True, sif_a=0.5, counts=counts)
    np.testing.assert_allclose(w["the"], plain["the"] * 0.5 / (0.5 + 1.0), rtol=1e-6)
    np.testing.assert_allclose(w["cat"], plain["cat"], rtol=1e-6)
    with pytest.raises(ConfigError, match="pca"):
        from_transformer(bert_dir, words, pca=100)


def test_postprocess_of_raw_vectors_is_the_reduced_derivation(bert_dir):
    # derive once, reduce per vocabulary: a word's contextless vector does not depend on the
    # other words of the call, so raw rows cached across calls reduce to the same matrix
    words = ["the", "cat", "dog", "sat", "mat", "big"]
    direct = from_transformer(bert_dir, words, mode="contextless", pca=4, sif=True, sif_a=0.5)
    union = from_transformer(bert_dir, [*words, "unbelievable", "playing"], mode="contextless")
    raw = from_transformer(bert_dir, words, mode="contextless")
    np.testing.assert_allclose(union.subset(words).matrix, raw.matrix, atol=1e-5)
    reduced = postprocess(union.subset(words), pca=4, sif=True, sif_a=0.5)
    assert reduced.words == direct.words and reduced.metadata == direct.metadata
    np.testing.assert_allclose(reduced.matrix, direct.matrix, atol=1e-4)
    assert postprocess(raw, pca=4, sif=True, sif_a=0.5).matrix.tolist() == direct.matrix.tolist()
    assert postprocess(raw).matrix.tolist() == raw.matrix.tolist()
    assert raw.metadata["pca"] is None and postprocess(raw, pca=2).metadata["pca"] == 2


def test_pca_projection_is_what_scikit_learn_gave_before(bert_dir):
    from sklearn.decomposition import PCA

    words = ["the", "cat", "dog", "sat", "mat", "big"]
    plain = from_transformer(bert_dir, words)
    v = from_transformer(bert_dir, words, pca=4)
    expected = PCA(n_components=4, random_state=0).fit_transform(plain.matrix)
    np.testing.assert_allclose(v.matrix, expected, atol=1e-4)


# -- checkpoint errors and formats ----------------------------------------------------------
def _copy_without_weights(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    (dst / "model.safetensors").unlink()
    return dst


def test_unknown_layout_lists_tensors(bert_dir, tmp_path):
    ckpt = _copy_without_weights(bert_dir, tmp_path / "odd")
    save_file(
        {"encoder.foo.weight": torch.zeros(2, 2), "lookup": torch.zeros(3, 4)},
        str(ckpt / "model.safetensors"),
    )
    with pytest.raises(FormatError) as info:
        from_transformer(ckpt, ["cat"])
    msg = str(info.value)
    assert "model.safetensors" in msg and "encoder.foo.weight" in msg and "lookup" in msg


@pytest.mark.parametrize(
    ("model_type", "names", "expected"),
    [
        ("bert", ["bert.embeddings.word_embeddings.weight", "cls.predictions.bias"],
         "bert.embeddings.word_embeddings.weight"),
        ("distilbert", ["distilbert.embeddings.word_embeddings.weight", "vocab_projector.weight"],
         "distilbert.embeddings.word_embeddings.weight"),
        ("xlm-roberta", ["roberta.embeddings.word_embeddings.weight", "lm_head.bias"],
         "roberta.embeddings.word_embeddings.weight"),
        ("electra", ["electra.embeddings.word_embeddings.weight",
                     "generator.electra.embeddings.word_embeddings.weight"],
         "electra.embeddings.word_embeddings.weight"),
        ("gpt2", ["h.0.attn.c_attn.weight", "wte.weight", "wpe.weight"], "wte.weight"),
        ("llama", ["model.embed_tokens.weight", "lm_head.weight"], "model.embed_tokens.weight"),
        ("qwen3-new", ["model.layers.0.mlp.up.weight", "model.embed_tokens.weight"],
         "model.embed_tokens.weight"),
    ],
)  # fmt: skip
def test_embedding_name_per_family(model_type, names, expected):
    assert find_embedding_name(names, model_type, path=Path("ckpt")) == expected


def test_sharded_safetensors(bert_dir, tmp_path):
    ckpt = _copy_without_weights(bert_dir, tmp_path / "sharded")
    with safe_open(bert_dir / "model.safetensors", framework="pt") as fh:
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118
    emb = "embeddings.word_embeddings.weight"
    first = {k: v for k, v in tensors.items() if k != emb}
    save_file(first, str(ckpt / "model-00001-of-00002.safetensors"))
    save_file({emb: tensors[emb]}, str(ckpt / "model-00002-of-00002.safetensors"))
    weight_map = {k: "model-00001-of-00002.safetensors" for k in first}
    weight_map[emb] = "model-00002-of-00002.safetensors"
    (ckpt / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    np.testing.assert_array_equal(from_transformer(ckpt, ["cat"])["cat"], _bert_table(bert_dir)[6])


@_OWN_BIN_CHECK
def test_damaged_weights_are_one_format_error_naming_the_file_in_every_loader(bert_dir, tmp_path):
    # a missing shard was a raw FileNotFoundError (input), KeyError('metadata') (graft) or
    # "cannot load the model: 'metadata'"; a cut-short safetensors file and an empty
    # pytorch_model.bin were a bare SafetensorError / EOFError from the model loaders
    from vecgraft.finetune.hf_family import load_hf_classifier
    from vecgraft.transformer import graft_vocab

    shard = _copy_without_weights(bert_dir, tmp_path / "shard")
    index = shard / "model.safetensors.index.json"
    index.write_text(json.dumps({"weight_map": {"a": "model-00001-of-00002.safetensors"}}))
    cut = shutil.copytree(bert_dir, tmp_path / "cut")
    data = (cut / "model.safetensors").read_bytes()
    (cut / "model.safetensors").write_bytes(data[: len(data) // 2])
    empty = _copy_without_weights(bert_dir, tmp_path / "empty")
    (empty / "pytorch_model.bin").write_bytes(b"")
    expected = {
        shard: f"{index}: shards named here are missing: model-00001-of-00002.safetensors",
        cut: f"{cut / 'model.safetensors'}: not a readable safetensors file (",
        empty: f"{empty / 'pytorch_model.bin'}: refused to load: not a weights-only",
    }
    calls = (
        lambda folder: from_transformer(folder, ["cat"]),
        lambda folder: from_transformer(folder, ["cat"], mode="contextless"),
        lambda folder: graft_vocab(folder, add_tokens=["unbelievable"]),
        lambda folder: load_hf_classifier(folder, num_labels=2),
    )
    for folder, start in expected.items():
        for call in calls:
            with pytest.raises(FormatError) as exc:
                call(folder)
            assert str(exc.value).startswith(start), str(exc.value)


def test_missing_folder_and_config(tmp_path):
    with pytest.raises(FormatError, match="local checkpoint folder"):
        from_transformer(tmp_path / "nope", ["cat"])
    with pytest.raises(FormatError, match=r"config\.json"):
        from_transformer(tmp_path, ["cat"])
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(FormatError, match=r"no weights found.*holds config\.json"):
        from_transformer(tmp_path, ["cat"])


class _Evil:
    def __reduce__(self):
        return (exec, ("import builtins; builtins._vecgraft_pwned = True",))


def test_pickle_checkpoint_is_weights_only(bert_dir, tmp_path):
    import builtins

    state = {"embeddings.word_embeddings.weight": torch.from_numpy(_bert_table(bert_dir))}
    good = _copy_without_weights(bert_dir, tmp_path / "good")
    torch.save(state, good / "pytorch_model.bin")
    np.testing.assert_array_equal(from_transformer(good, ["cat"])["cat"], _bert_table(bert_dir)[6])

    evil = _copy_without_weights(bert_dir, tmp_path / "evil")
    torch.save({**state, "payload": _Evil()}, evil / "pytorch_model.bin")
    with pytest.raises(FormatError, match=r"pytorch_model\.bin.*weights-only"):
        from_transformer(evil, ["cat"])
    with pytest.raises(FormatError, match="evil"):
        from_transformer(evil, ["cat"], mode="contextless")
    assert not hasattr(builtins, "_vecgraft_pwned")


@_OWN_BIN_CHECK
def test_every_model_loader_refuses_a_code_pickle_naming_the_file(bert_dir, tmp_path, capsys):
    # graft-vocab and `finetune --model hf` load through transformers, which raised torch's
    # raw UnpicklingError advising `weights_only=False`; now one FormatError naming the file
    import builtins

    from vecgraft.finetune.hf_family import load_hf_classifier
    from vecgraft.transformer import graft_vocab

    evil = _copy_without_weights(bert_dir, tmp_path / "evil")
    state = {"embeddings.word_embeddings.weight": torch.from_numpy(_bert_table(bert_dir))}
    torch.save({**state, "payload": _Evil()}, evil / "pytorch_model.bin")
    expected = f"{evil / 'pytorch_model.bin'}: refused to load: not a weights-only"
    with pytest.raises(FormatError, match="weights-only") as graft_exc:
        graft_vocab(evil, add_tokens=["unbelievable"])
    with pytest.raises(FormatError, match="weights-only") as hf_exc:
        load_hf_classifier(evil, num_labels=2)
    for exc in (graft_exc, hf_exc):
        assert str(exc.value).startswith(expected) and "weights_only" not in str(exc.value)
    words = tmp_path / "words.txt"
    words.write_text("unbelievable\n", encoding="utf-8")
    argv = ["graft-vocab", str(evil), "--add-tokens", str(words), "--out", str(tmp_path / "o")]
    assert main(argv) == 1
    assert capsys.readouterr().err.startswith(f"vecgraft graft-vocab: error: {expected}")
    assert not hasattr(builtins, "_vecgraft_pwned")


def test_bad_options(bert_dir):
    with pytest.raises(ConfigError, match="mode"):
        from_transformer(bert_dir, ["cat"], mode="magic")
    with pytest.raises(ConfigError, match="pooling"):
        from_transformer(bert_dir, ["cat"], pooling="max")


# -- new token rows -------------------------------------------------------------------------
def test_init_new_token_rows_is_mean_of_subwords(bert_dir, gpt2_dir):
    from transformers import AutoModelForMaskedLM, GPT2LMHeadModel

    model = AutoModelForMaskedLM.from_pretrained(str(bert_dir), local_files_only=True)
    tok = _tok(bert_dir)
    before = model.get_input_embeddings().weight.detach().clone()
    ids = init_new_token_rows(model, tok, ["unbelievable", "cat"])
    assert ids == [25, 6]
    weight = model.get_input_embeddings().weight.detach()
    assert weight.shape[0] == 26
    torch.testing.assert_close(weight[25], before[[13, 14, 15]].mean(0))
    torch.testing.assert_close(weight[:25], before)
    assert tok("unbelievable", add_special_tokens=False)["input_ids"] == [25]

    gpt = GPT2LMHeadModel.from_pretrained(str(gpt2_dir), local_files_only=True)
    gtok = _tok(gpt2_dir)
    pieces = gtok(" catdog", add_special_tokens=False)["input_ids"]
    assert gtok.convert_ids_to_tokens(pieces)[0] == "Ġcat"  # spelt mid-sentence
    old = gpt.get_input_embeddings().weight.detach().clone()
    (new,) = init_new_token_rows(gpt, gtok, ["catdog"])
    torch.testing.assert_close(gpt.get_input_embeddings().weight[new].detach(), old[pieces].mean(0))


def test_init_new_token_rows_adds_tokens_as_the_tokenizer_meets_them(bert_dir, gpt2_dir):
    # before: uncased "Cat" became token 25 and took every "cat" away from row 6; GPT-2's
    # "catdog" was read mid-sentence as "Ġ" + "catdog"; "中国" got the [UNK] row
    from transformers import AutoModel, GPT2LMHeadModel

    model = AutoModel.from_pretrained(str(bert_dir), local_files_only=True)
    tok = _tok(bert_dir)
    before = model.get_input_embeddings().weight.detach().clone()
    assert init_new_token_rows(model, tok, ["Cat", "cat", "中国"]) == [6, 6, 25]
    assert tok("the cat sat", add_special_tokens=False)["input_ids"] == [5, 6, 8]
    assert tok("我爱中国", add_special_tokens=False)["input_ids"] == [1, 1, 25]
    torch.testing.assert_close(model.get_input_embeddings().weight[25].detach(), before.mean(0))

    gpt = GPT2LMHeadModel.from_pretrained(str(gpt2_dir), local_files_only=True)
    gtok = _tok(gpt2_dir)
    (new,) = init_new_token_rows(gpt, gtok, ["catdog"])
    assert gtok("the catdog sat", add_special_tokens=False)["input_ids"][1:-1] == [new]


# -- CLI ------------------------------------------------------------------------------------
def test_cli_writes_loadable_vectors(bert_dir, tmp_path, capsys):
    words = tmp_path / "words.txt"
    words.write_text("cat\nunbelievable\n\ndog\n", encoding="utf-8")
    out = tmp_path / "vectors.txt"
    rc = main(
        [
            "from-transformer",
            str(bert_dir),
            "--words",
            str(words),
            "--mode",
            "input",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    loaded = vecgraft.load(out)
    direct = from_transformer(bert_dir, ["cat", "unbelievable", "dog"])
    assert loaded.words == direct.words
    np.testing.assert_allclose(loaded.matrix, direct.matrix, rtol=1e-5, atol=1e-6)
    assert "3 words" in capsys.readouterr().out


def test_cli_vocab_dir_and_errors(bert_dir, tmp_path, capsys):
    build = tmp_path / "build"
    build.mkdir()
    Vocab.from_counts({"dog": 2, "cat": 1}).save(build / "vocab.json")
    out = tmp_path / "v.txt"
    assert main(["from-transformer", str(bert_dir), "--vocab", str(build), "--out", str(out)]) == 0
    assert vecgraft.load(out).words == ["dog", "cat"]
    rc = main(
        ["from-transformer", str(tmp_path / "missing"), "--vocab", str(build), "--out", str(out)]
    )
    assert rc == 1
    assert "missing" in capsys.readouterr().err


def test_cli_refuses_to_write_a_file_of_no_vectors(bert_dir, tmp_path, capsys):
    # an empty word list, or words all spelled with [UNK] only, wrote an empty file with
    # exit 0, which `vecgraft.load` then refused ("empty file: no vectors to read")
    empty, zh = tmp_path / "empty.txt", tmp_path / "zh.txt"
    empty.write_text("\n \n", encoding="utf-8")
    zh.write_text("中国\n中\n", encoding="utf-8")
    out = tmp_path / "v.txt"
    assert main(["from-transformer", str(bert_dir), "--words", str(empty), "--out", str(out)]) == 1
    assert "empty.txt: no words in the word list" in capsys.readouterr().err
    assert main(["from-transformer", str(bert_dir), "--words", str(zh), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "none of the 2 words has a vector: 2 are spelled only with [UNK]" in err
    assert not out.exists()


def test_cli_summary_says_why_words_were_dropped(bert_dir, tmp_path, capsys):
    # "2 words x 16 dims (4 dropped)" said neither which words nor why
    words = tmp_path / "w.txt"
    words.write_text("cat\n中国\n酒店\n\u0301\ndog\n中\n", encoding="utf-8")
    out = tmp_path / "v.txt"
    assert main(["from-transformer", str(bert_dir), "--words", str(words), "--out", str(out)]) == 0
    line = capsys.readouterr().out.strip()
    assert (" (4 dropped: 3 spelled only with [UNK] (characters the model's vocabulary lacks), "
            "e.g. '中国', '酒店', '中'; 1 tokenised to no token at all, e.g. '\\u0301'), ") in line
    meta = from_transformer(bert_dir, words.read_text(encoding="utf-8").split()).metadata
    assert (meta["unknown_words"], meta["no_token_words"], meta["dropped_words"]) == (3, 1, 4)
    assert meta["unknown_examples"] == ["中国", "酒店", "中"] and meta["unknown_token"] == "[UNK]"


def test_cli_word_list_byte_order_mark_is_not_part_of_the_first_word(bert_dir, tmp_path):
    bom = tmp_path / "bom.txt"
    bom.write_text("\ufeffcat\ndog\n", encoding="utf-8")  # Notepad's byte-order mark
    native = tmp_path / "native"  # (a GloVe text file would hide it: its reader skips one)
    assert main(["from-transformer", str(bert_dir), "--words", str(bom), "--out", str(native)]) == 0
    assert vecgraft.load(native).words == ["cat", "dog"]


def test_metadata_is_json(bert_dir):
    v = from_transformer(bert_dir, ["cat"], mode="corpus", corpus=["the cat"], pca=None)
    assert json.loads(json.dumps(v.metadata)) == v.metadata  # JSON-safe and loses nothing
    assert v.metadata["mode"] == "corpus" and v.metadata["model_type"] == "bert"
    assert v.metadata["pca"] is None and v.metadata["sif"] is None
    assert v.metadata["words"] == "given" and v.metadata["dropped_words"] == 0


def test_cli_default_output_is_native_when_available(bert_dir, tmp_path):
    from vecgraft.cli.from_transformer import output_format

    out = tmp_path / "vecs"
    assert main(["from-transformer", str(bert_dir), "--out", str(out)]) == 0
    loaded = vecgraft.load(out)
    assert loaded.words == from_transformer(bert_dir, None).words
    assert output_format("x.txt") == "glove" and output_format("x.bin") == "word2vec-bin"
    assert output_format(str(out)) == "native"  # so the metadata survives
    assert loaded.metadata["format"] == "native"
    assert loaded.metadata["mode"] == "input"
    assert loaded.metadata["model_type"] == "bert"


def test_transformers_is_quiet_while_loading_and_as_it_was_after():
    import transformers

    from vecgraft._util.extras import quiet_transformers

    logging = transformers.utils.logging
    before = (logging.get_verbosity(), logging.is_progress_bar_enabled())
    with quiet_transformers():
        assert logging.get_verbosity() == logging.ERROR
        assert not logging.is_progress_bar_enabled()
    assert (logging.get_verbosity(), logging.is_progress_bar_enabled()) == before


def test_contextless_roberta_word_longer_than_its_usable_positions(tmp_path):
    # RoBERTa's position table has two rows more than the tokens it takes (its positions
    # start after the padding id): a word of more pieces than model_max_length reached an
    # IndexError in the position embeddings; it is now cut at the tokenizer's limit
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaModel, RobertaTokenizerFast

    bpe = ByteLevelBPETokenizer()
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    bpe.train_from_iterator(conftest_transformer.BPE_TEXTS, vocab_size=400, min_frequency=2,
                            special_tokens=specials, show_progress=False)  # fmt: skip
    tok = RobertaTokenizerFast(tokenizer_object=bpe._tokenizer, model_max_length=32)
    tok.save_pretrained(tmp_path)
    torch.manual_seed(0)
    config = RobertaConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=1,
                           num_attention_heads=2, intermediate_size=64,
                           max_position_embeddings=34, pad_token_id=tok.pad_token_id,
                           bos_token_id=0, eos_token_id=2)  # fmt: skip
    RobertaModel(config).eval().save_pretrained(tmp_path)
    word = "x" * 40
    assert len(tok(" " + word, add_special_tokens=False)["input_ids"]) > 32
    vectors = from_transformer(tmp_path, ["cat", word], mode="contextless")
    assert vectors.words == ["cat", word] and np.isfinite(vectors.matrix).all()


def test_words_that_are_not_strings_are_named_none_too(bert_dir):
    # a None word passed the check (None was its "nothing found") and failed deep inside
    # the tokenizer
    with pytest.raises(ConfigError, match="words must be strings, found NoneType None"):
        from_transformer(bert_dir, ["cat", None], mode="input")  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="words must be strings, found int 3"):
        from_transformer(bert_dir, ["cat", 3], mode="input")  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("family", "table"),
    [
        ("openai-gpt", "tokens_embed.weight"),
        ("clip_text_model", "token_embedding.weight"),
    ],
)
def test_input_mode_finds_the_original_gpt_and_clip_tables(bert_dir, tmp_path, family, table):
    # "cannot find the input-embedding tensor": these name it tokens_embed / token_embedding
    # (CLIPTextModel saves it under "text_model." in transformers 5.3, without from 5.25)
    from transformers import CLIPTextConfig, CLIPTextModel, OpenAIGPTConfig, OpenAIGPTModel

    ckpt = tmp_path / family
    shutil.copytree(bert_dir, ckpt)  # its WordPiece tokenizer; the weights are replaced
    for name in ("config.json", "model.safetensors"):
        (ckpt / name).unlink()
    size = len(conftest_transformer.WORDPIECE)
    torch.manual_seed(0)
    if family == "openai-gpt":
        model = OpenAIGPTModel(OpenAIGPTConfig(vocab_size=size, n_embd=16, n_layer=1, n_head=2))
    else:
        config = CLIPTextConfig(vocab_size=size, hidden_size=16, num_hidden_layers=1,
                                num_attention_heads=2, intermediate_size=32)  # fmt: skip
        model = CLIPTextModel(config)
    model.save_pretrained(ckpt)
    v = from_transformer(ckpt, ["cat", "dog"])
    with safe_open(ckpt / "model.safetensors", framework="pt") as fh:
        names = fh.keys()  # a list, not a mapping: the handle is not iterable
    (name,) = [k for k in names if k.endswith(table)]
    np.testing.assert_array_equal(v["cat"], _table(ckpt, name)[_tok(ckpt).get_vocab()["cat"]])


def test_a_piped_forward_pass_prints_plain_lines(bert_dir, tmp_path, capsys, monkeypatch):
    # tqdm is silent where stderr is no terminal: `from-transformer ... 2> log` showed
    # nothing during the forward pass; a line every 30 s now (here every batch)
    from vecgraft.transformer import encode

    words = ["cat", "unbelievable", "the", "playing", "dog"]
    from_transformer(bert_dir, words, mode="contextless", batch_size=2)
    assert "forward" not in capsys.readouterr().err  # quicker than 30 s: no line
    monkeypatch.setattr(encode, "FORWARD_LINE_SECONDS", 0.0, raising=False)
    from_transformer(bert_dir, words, mode="contextless", batch_size=2)
    lines = [ln.rsplit(" (", 1)[0] for ln in capsys.readouterr().err.splitlines()]
    assert [ln for ln in lines if ln.startswith("forward")] == [
        "forward (sequences) 2/5", "forward (sequences) 4/5", "forward (sequences) 5/5"
    ]
    from_transformer(bert_dir, words, mode="contextless", batch_size=2, progress=False)
    assert "forward" not in capsys.readouterr().err
    # and the command's --no-progress (it could not turn the lines off)
    listed = tmp_path / "words.txt"
    listed.write_text("\n".join(words) + "\n", encoding="utf-8")
    argv = ["from-transformer", str(bert_dir), "--words", str(listed), "--mode", "contextless",
            "--batch-size", "2", "--out", str(tmp_path / "v.txt")]  # fmt: skip
    assert main([*argv, "--no-progress"]) == 0
    assert "forward" not in capsys.readouterr().err
    assert main(argv) == 0
    assert "forward (sequences) 5/5" in capsys.readouterr().err
    # in a notebook (stderr no terminal there either) tqdm's widget, not plain lines
    from vecgraft._util import console

    monkeypatch.setattr(console, "tqdm_draws_widgets", lambda: True)
    drawn: list[int] = []
    monkeypatch.setattr("tqdm.auto.tqdm.update", lambda bar, n=1: drawn.append(n))
    from_transformer(bert_dir, words, mode="contextless", batch_size=2)
    assert "forward" not in capsys.readouterr().err and drawn == [2, 2, 1]
