"""Vocabulary graft on tiny local BERTs: each rule's rows, untied heads, saving, Chinese."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

import conftest_transformer
from vecgraft.cli import main
from vecgraft.errors import ConfigError, DataError
from vecgraft.text import Texts
from vecgraft.transformer import GraftReport, graft_tokens, graft_vocab, save_grafted
from vecgraft.transformer.graft import count_words, model_words, select_new_tokens, sparsemax
from vecgraft.vectors import Vectors

bert_dir = conftest_transformer.bert_dir
gpt2_dir = conftest_transformer.gpt2_dir
t5_dir = conftest_transformer.t5_dir

TEXTS = [
    "Unbelievable cats play",
    "the unbelievable dog sat on the mat",
    "unbelievable cats ran home",
    "a big cat sat",
]
ZH_TEXTS = ["我爱中国人", "中国很大", "我们爱中国", "中国人很好"]


@pytest.fixture(scope="session")
def untied_dir(bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same vocabulary as `bert_dir`, as a masked LM whose decoder is not tied."""
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

    path = tmp_path_factory.mktemp("bert_untied")
    config = BertConfig.from_pretrained(str(bert_dir))
    config.tie_word_embeddings = False
    config.architectures = ["BertForMaskedLM"]
    torch.manual_seed(2)
    model = BertForMaskedLM(config).eval()
    with torch.no_grad():
        model.cls.predictions.bias.normal_()  # a non-zero bias, so its new entries are checked
    model.save_pretrained(path)
    AutoTokenizer.from_pretrained(str(bert_dir), local_files_only=True).save_pretrained(path)
    return path


def _load(path: Path, cls_name: str = "AutoModel"):
    import transformers

    cls = getattr(transformers, cls_name)
    model = cls.from_pretrained(str(path), local_files_only=True).eval()
    tok = transformers.AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    return model, tok


def _ref_sparsemax(z: np.ndarray) -> np.ndarray:
    """Sparsemax by bisection on the threshold (a different algorithm from the library's)."""
    lo, hi = z.min() - 1.0, z.max()
    for _ in range(200):
        tau = (lo + hi) / 2
        if np.maximum(z - tau, 0).sum() > 1:
            lo = tau
        else:
            hi = tau
    return np.maximum(z - (lo + hi) / 2, 0)


def _static() -> Vectors:
    words = ["cat", "dog", "mat", "the", "sat", "home", "big", "cats", "unbelievable", "zebra"]
    rng = np.random.default_rng(7)
    return Vectors(words, rng.normal(size=(len(words), 6)).astype(np.float32))


# -- choosing words -----------------------------------------------------------------------
def test_select_scores_words_by_count_times_extra_pieces(bert_dir):
    _, tok = _load(bert_dir)
    counts = count_words(iter(TEXTS))
    assert counts["unbelievable"] == 2 and counts["Unbelievable"] == 1
    picked = select_new_tokens(tok, counts, 10)
    by_word = {c.word: c for c in picked}
    # "Unbelievable" and "unbelievable" are one word to an uncased tokenizer: 3 occurrences
    # of 3 pieces -> 3 x 2; "cats" (cat ##s) 2 x 1; "play" "cat" are single known tokens.
    assert by_word["unbelievable"].score == 6 and by_word["unbelievable"].count == 3
    assert by_word["cats"].score == 2
    assert [c.word for c in picked][:2] == ["unbelievable", "cats"]
    assert "Unbelievable" not in by_word and "play" not in by_word and "cat" not in by_word
    assert [c.word for c in select_new_tokens(tok, counts, 1)] == ["unbelievable"]
    # min_count applies to the merged count: 2 + 1 occurrences reach 3, "cats" (2) does not
    assert [c.word for c in select_new_tokens(tok, counts, 10, min_count=3)] == ["unbelievable"]


def test_unknown_pieces_count_extra(bert_dir):
    _, tok = _load(bert_dir)
    picked = select_new_tokens(tok, {"中": 5, "cats": 4}, 5)
    # "中" is one [UNK] piece: 5 x (0 + 1); "cats": 4 x 1
    assert [(c.word, c.score) for c in picked] == [("中", 5), ("cats", 4)]


# -- each rule fills exactly the rows it reports --------------------------------------------
def test_subwords_rule_is_mean_of_old_pieces(bert_dir):
    model, tok = _load(bert_dir)
    old = model.get_input_embeddings().weight.detach().clone()
    report = graft_tokens(model, tok, ["unbelievable", "cats", "cat"], init="subwords")
    new = model.get_input_embeddings().weight.detach()
    assert new.shape == (27, 32)
    assert [(t.token, t.id, t.rule) for t in report.new_tokens] == [
        ("unbelievable", 25, "subwords"),
        ("cats", 26, "subwords"),
    ]
    assert report.new_tokens[0].pieces == ["un", "##believ", "##able"]
    assert report.skipped == ["cat"]
    assert report.counts == {"vectors": 0, "subwords": 2, "mean": 0}
    torch.testing.assert_close(new[25], old[[13, 14, 15]].mean(0))
    torch.testing.assert_close(new[26], old[[6, 16]].mean(0))
    torch.testing.assert_close(new[:25], old, rtol=0, atol=0)
    assert model.config.vocab_size == 27


def test_a_word_of_unknown_pieces_only_is_mean_not_the_unknown_row(bert_dir):
    model, tok = _load(bert_dir)
    old = model.get_input_embeddings().weight.detach().clone()
    report = graft_tokens(model, tok, ["中国"], init="subwords")
    new = model.get_input_embeddings().weight.detach()
    assert report.new_tokens[0].rule == "mean"  # its pieces are [UNK] [UNK]
    torch.testing.assert_close(new[25], old.mean(0))
    assert any("cannot spell: filled by mean" in note for note in report.notes)


def test_mean_rule_is_mean_of_all_old_rows(bert_dir):
    model, tok = _load(bert_dir)
    old = model.get_input_embeddings().weight.detach().clone()
    report = graft_tokens(model, tok, ["unbelievable", "zzz"], init="mean")
    new = model.get_input_embeddings().weight.detach()
    assert report.rules == ["mean", "mean"]
    torch.testing.assert_close(new[25], old.mean(0))
    torch.testing.assert_close(new[26], old.mean(0))


@pytest.mark.parametrize(("weighting", "k"), [("sparsemax", 4), ("softmax", 3)])
def test_vectors_rule_recomputed(bert_dir, weighting, k):
    model, tok = _load(bert_dir)
    old = model.get_input_embeddings().weight.detach().clone()
    static = _static()
    report = graft_tokens(
        model, tok, ["unbelievable", "cats", "plays"], init="vectors", vectors=static,
        k=k, weighting=weighting, temperature=0.5,
    )  # fmt: skip
    assert report.rules == ["vectors", "vectors", "subwords"]
    assert "1 new token(s) not in the static vectors: filled as without vectors, by subwords" in (
        report.notes)
    # one unspellable among them is said in the same note, not as a second "filled by"
    model2, tok2 = _load(bert_dir)
    mixed = graft_tokens(model2, tok2, ["plays", "中国"], init="vectors", vectors=static)
    assert mixed.rules == ["subwords", "mean"]
    assert [n for n in mixed.notes if "filled" in n] == [
        "2 new token(s) not in the static vectors: filled as without vectors, by subwords "
        "(1 of them by mean: unspellable)"]
    # shared: old whole-word tokens that the static vectors know ("zebra" is not a token)
    vocab = tok.get_vocab()
    shared = ["the", "cat", "dog", "sat", "mat", "home", "big"]
    unit = static.normed
    new = model.get_input_embeddings().weight.detach()
    for entry in report.new_tokens[:2]:
        sims = np.array([unit[static.index[w]] @ unit[static.index[entry.token]] for w in shared])
        top = np.argsort(-sims, kind="stable")[:k]
        if weighting == "sparsemax":
            weights = _ref_sparsemax(sims[top])
        else:
            e = np.exp(sims[top] / 0.5)
            weights = e / e.sum()
        expected = [(shared[i], w) for i, w in zip(top, weights) if w > 0]
        assert [w for w, _ in entry.neighbours] == [w for w, _ in expected]
        np.testing.assert_allclose([x for _, x in entry.neighbours], [x for _, x in expected],
                                   atol=1e-6)  # fmt: skip
        row = sum(x * old[vocab[w]] for w, x in expected)
        torch.testing.assert_close(new[entry.id], row.float(), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(new[27], old[[12, 16]].mean(0))  # "play" "##s": subwords


def test_the_shared_token_count_is_reported_and_too_few_warned(bert_dir, tmp_path):
    # a zero count was the only one said: 218 shared tokens for 300-dimensional vectors
    # placed 144 of 942 Chinese rows nearest a digit or Latin token without a word
    model, tok = _load(bert_dir)
    report = graft_tokens(model, tok, ["unbelievable", "cats"], init="vectors", vectors=_static())
    assert report.shared_tokens == 7 and not any("warning" in n for n in report.notes)
    assert "shared tokens   7 old tokens with a static vector (the neighbours new rows are " in (
        report.format_table())
    report.save(tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text())["shared_tokens"] == 7
    static = _static()
    wide = Vectors(static.words, np.hstack([static.matrix, static.matrix]))  # 12 dimensions
    model, tok = _load(bert_dir)
    report = graft_tokens(model, tok, ["unbelievable", "cats"], init="vectors", vectors=wide)
    warning = (
        "warning: only 7 old token(s) have a static vector, fewer than the vectors' 12 "
        "dimensions: each of the 2 row(s) filled by vectors mixes its nearest of these shared "
        "tokens, and so few cannot cover the vector space, so many new words start as "
        "unrelated tokens (check their neighbours in graft_report.json, or use init subwords)"
    )
    assert report.notes == [warning] and report.format_table().endswith("\n" + warning)
    model, tok = _load(bert_dir)
    assert graft_tokens(model, tok, ["cats"]).shared_tokens is None  # subwords mixes none


def test_rows_that_mix_their_neighbours_evenly_are_warned(bert_dir):
    # word2vec on 200 reviews gave every new token 50 neighbours at 0.019-0.022, and the
    # table's "0.02" weights were the only sign that each row was a mean of unrelated tokens
    static = _static()
    rng = np.random.default_rng(3)
    flat = np.tile(rng.normal(size=6), (len(static.words), 1))  # every word about alike
    flat += rng.normal(scale=1e-3, size=flat.shape)
    model, tok = _load(bert_dir)
    report = graft_tokens(model, tok, ["unbelievable", "cats"], init="vectors",
                          vectors=Vectors(static.words, flat.astype(np.float32)))  # fmt: skip
    assert [len(e.neighbours) for e in report.new_tokens] == [7, 7]
    assert report.notes == [
        "warning: 2 of the 2 row(s) filled by vectors mix 5 or more neighbours nearly evenly "
        "(none weighs twice the even share): their static vectors barely tell the shared "
        "tokens apart (vectors trained on too little text?), so these rows start near a mean "
        "of unrelated tokens (check their neighbours in graft_report.json, or use init "
        "subwords)"
    ]
    model, tok = _load(bert_dir)  # distinct vectors: sharp weights, no warning
    report = graft_tokens(model, tok, ["unbelievable", "cats"], init="vectors", vectors=static)
    assert not any("evenly" in n for n in report.notes)


def test_sparsemax_matches_reference_and_sums_to_one():
    rng = np.random.default_rng(0)
    for _ in range(20):
        z = rng.uniform(-1, 1, size=rng.integers(1, 12))
        w = sparsemax(z)
        np.testing.assert_allclose(w, _ref_sparsemax(z), atol=1e-9)
        assert w.sum() == pytest.approx(1.0)
    assert sparsemax(np.array([0.9, 0.5, 0.1])).tolist() == [0.7, 0.3, 0.0]


@pytest.mark.parametrize("init", ["subwords", "mean", "vectors"])
def test_untied_head_and_bias_get_the_same_rows(untied_dir, init):
    model, tok = _load(untied_dir, "AutoModelForMaskedLM")
    inp_old = model.get_input_embeddings().weight.detach().clone()
    out_old = model.get_output_embeddings().weight.detach().clone()
    bias_old = model.get_output_embeddings().bias.detach().clone()
    assert not torch.equal(inp_old, out_old)
    report = graft_tokens(model, tok, ["unbelievable", "cats"], init=init, vectors=_static(), k=3)
    assert report.tied is False
    inp = model.get_input_embeddings().weight.detach()
    out = model.get_output_embeddings().weight.detach()
    bias = model.get_output_embeddings().bias.detach()
    assert out.shape == inp.shape == (27, 32) and bias.shape == (27,)
    vocab = tok.get_vocab()
    for entry in report.new_tokens:
        if entry.rule == "mean":
            ids, w = list(range(25)), torch.full((25,), 1 / 25)
        elif entry.rule == "subwords":
            ids = [vocab[p] for p in entry.pieces]
            w = torch.full((len(ids),), 1 / len(ids))
        else:
            ids = [vocab[t] for t, _ in entry.neighbours]
            w = torch.tensor([x for _, x in entry.neighbours], dtype=torch.float32)
        for table, before in ((inp, inp_old), (out, out_old)):
            torch.testing.assert_close(table[entry.id], (w[:, None] * before[ids]).sum(0))
        torch.testing.assert_close(bias[entry.id], (w * bias_old[ids]).sum())
    torch.testing.assert_close(out[:25], out_old, rtol=0, atol=0)


# -- the whole graft, saved and reloaded ----------------------------------------------------
def test_graft_vocab_saves_a_folder_that_reloads_identically(bert_dir, tmp_path):
    from transformers import AutoModel, AutoTokenizer

    result = graft_vocab(bert_dir, Texts(TEXTS), add_tokens=2, init="subwords")
    assert [t.token for t in result.report.new_tokens] == ["unbelievable", "cats"]
    assert [t.score for t in result.report.new_tokens] == [6, 2]
    before, after = result.report.before, result.report.after
    assert before is not None and after is not None
    # 6 + 9 + 7 + 4 old tokens; "unbelievable" x3 saves 6, "cats" x2 saves 2
    assert (before.texts, before.tokens, after.tokens) == (4, 26, 18)
    assert after.tokens_per_text < before.tokens_per_text
    out = save_grafted(result, tmp_path / "grafted")
    model = AutoModel.from_pretrained(str(out), local_files_only=True).eval()
    tok = AutoTokenizer.from_pretrained(str(out), local_files_only=True)
    assert tok("Unbelievable CATS", add_special_tokens=False)["input_ids"] == [25, 26]
    # a whole-word graft does not match as the start of a longer word
    assert tok.tokenize("unbelievables") == ["un", "##believ", "##able", "##s"]
    enc = tok(["the unbelievable cats sat", "a dog"], padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = result.model(**enc).last_hidden_state
        got = model(**enc).last_hidden_state
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
    saved = json.loads((out / "graft_report.json").read_text(encoding="utf-8"))
    assert GraftReport.from_dict(saved).to_dict() == result.report.to_dict()
    assert saved["new_tokens"][0]["pieces"] == ["un", "##believ", "##able"]


def test_untied_folder_reloads_with_identical_logits(untied_dir, tmp_path):
    from transformers import AutoModelForMaskedLM

    result = graft_vocab(untied_dir, Texts(TEXTS), add_tokens=2, init="vectors",
                         vectors=_static(), k=3)  # fmt: skip
    out = save_grafted(result, tmp_path / "untied")
    model = AutoModelForMaskedLM.from_pretrained(str(out), local_files_only=True).eval()
    assert type(result.model).__name__ == "BertForMaskedLM"
    enc = result.tokenizer(["unbelievable cats [MASK]"], return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(model(**enc).logits, result.model(**enc).logits)
    assert model.config.tie_word_embeddings is False


def test_grafted_model_tokenizes_and_runs(bert_dir):
    result = graft_vocab(bert_dir, Texts(TEXTS), add_tokens=2, init="mean")
    tok, model = result.tokenizer, result.model
    enc = tok(["Unbelievable cats play home", "dog"], padding=True, return_tensors="pt")
    assert enc["input_ids"][0].tolist() == [2, 25, 26, 12, 22, 3]
    with torch.no_grad():
        hidden = model(**enc).last_hidden_state
    assert hidden.shape == (2, 6, 32) and torch.isfinite(hidden).all()
    # a grafted word does not match inside another word ("cats" in "xcats")
    assert 26 not in tok("bigcats", add_special_tokens=False)["input_ids"]


def test_a_token_without_letters_matches_next_to_a_word(bert_dir):
    # matched as a whole word only, "cat😀" stayed one [UNK] and "cat!!" stayed "!", "!"
    model, tok = _load(bert_dir)
    assert tok.tokenize("cat😀 cat!!") == ["[UNK]", "cat", "!", "!"]
    graft_tokens(model, tok, ["😀", "!!", "cats"])
    assert tok.tokenize("cat😀 cat!! 😀") == ["cat", "😀", "cat", "!!", "😀"]
    assert tok.tokenize("bigcats") != ["big", "cats"]  # a word still matches only whole


def test_chinese_words_grafted_with_jieba(bert_dir):
    result = graft_vocab(bert_dir, Texts(ZH_TEXTS), add_tokens=3, text_tokenizer="jieba")
    tokens = [t.token for t in result.report.new_tokens]
    assert tokens[0] == "中国"  # 4 occurrences x (2 pieces - 1 + 2 [UNK])
    assert result.report.new_tokens[0].score == 12
    tok = result.tokenizer
    cn = tok.convert_tokens_to_ids("中国")
    # one token inside an unspaced run of characters, and alone
    ids = tok("我爱中国人", add_special_tokens=False)["input_ids"]
    assert cn in ids and len(ids) == 4
    assert tok("中国", add_special_tokens=False)["input_ids"] == [cn]
    assert tok.decode([cn]) == "中国"
    report = result.report
    assert report.after is not None and report.before is not None
    assert report.after.unk_share < report.before.unk_share
    # the table's columns line up in a terminal: "中国" takes four columns, not two
    assert "\n  中国             mean      " in report.format_table()
    with torch.no_grad():
        out = result.model(**tok(ZH_TEXTS, padding=True, return_tensors="pt"))
    assert torch.isfinite(out.last_hidden_state).all()


def test_chinese_characters_and_words_pooled(bert_dir, tmp_path):
    result = graft_vocab(bert_dir, Texts(ZH_TEXTS), add_tokens=20, text_tokenizer=["jieba", "char"])
    tokens = {t.token for t in result.report.new_tokens}
    # 中 and 国 stand only inside 中国, where the longer token fires: never read, not picked
    assert {"中国", "爱"} <= tokens and not {"中", "国"} & tokens
    tok = result.tokenizer
    assert tok.unk_token_id not in tok("我爱中国人", add_special_tokens=False)["input_ids"]
    assert tok.tokenize("我爱中国人") == ["我", "爱", "中国", "人"]
    assert tok.decode(tok("我爱中国人", add_special_tokens=False)["input_ids"]) == "我 爱 中国 人"
    out = save_grafted(result, tmp_path / "zh")
    _, again = _load(out)
    assert (
        again("我爱中国人", add_special_tokens=False)["input_ids"]
        == tok("我爱中国人", add_special_tokens=False)["input_ids"]
    )


def test_an_uncased_tokenizer_gets_a_listed_word_in_its_own_spelling(bert_dir, tmp_path):
    # "Cats-X" was added as typed: read as one token, yet `tokenize` named it "cats-x",
    # convert_tokens_to_ids of that name was [UNK] and decode wrote "Cats-X" for "cats-x"
    model, tok = _load(bert_dir)
    report = graft_tokens(model, tok, ["Cats-X", "play", "UNBELIEVABLE", "中国", "cats-x"])
    assert [t.token for t in report.new_tokens] == ["cats-x", "unbelievable", "中国"]
    assert report.notes[0] == (
        "2 token(s) added as the tokenizer normalises them: Cats-X -> cats-x, "
        "UNBELIEVABLE -> unbelievable"
    )
    # a word skipped as a repeat of one already added is not named as respelled
    again = graft_tokens(*_load(bert_dir), ["cats", "Cats"])
    assert again.skipped == ["Cats"] and not any("normalises" in n for n in again.notes)
    for text, token in (("the Cats-X sat", "cats-x"), ("unbelievable", "unbelievable")):
        pieces = tok.tokenize(text)
        assert token in pieces
        assert tok.unk_token_id not in tok.convert_tokens_to_ids(pieces)
    assert tok.decode(tok("the Cats-X sat", add_special_tokens=False)["input_ids"]) == (
        "the cats-x sat"
    )
    # picked from a corpus that only has the capitalised form: the same spelling
    picked = graft_vocab(bert_dir, Texts(["Cats sat", "Cats ran"]), add_tokens=1)
    assert [t.token for t in picked.report.new_tokens] == ["cats"]
    assert picked.report.new_tokens[0].count == 2
    out = save_grafted(picked, tmp_path / "g")
    assert _load(out)[1].convert_tokens_to_ids("cats") == 25


def test_an_empty_token_list_is_an_error_not_a_copy_of_the_model(bert_dir, tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"empty\.txt: the token list is empty"):
        graft_vocab(bert_dir, add_tokens=empty)
    with pytest.raises(ConfigError, match="empty list"):
        graft_vocab(bert_dir, add_tokens=[])
    out = tmp_path / "out"
    assert main(["graft-vocab", str(bert_dir), "--add-tokens", str(empty), "--out", str(out)]) == 1
    assert "the token list is empty" in capsys.readouterr().err and not out.exists()
    argv = ["graft-vocab", str(bert_dir), "--corpus", str(empty), "--add-tokens", "-3"]
    assert main([*argv, "--out", str(out)]) == 1
    assert "--add-tokens must be at least 0, got -3" in capsys.readouterr().err
    # not a count (one sign, ASCII digits): a file, which is named; int() said only
    # "invalid literal for int() with base 10: '+-5'"
    for odd in ("+-5", "--5", "²"):
        assert main([*argv[:-2], f"--add-tokens={odd}", "--out", str(out)]) == 1
        assert f"{odd}: no such token list" in capsys.readouterr().err


def test_the_table_names_the_skipped_words(bert_dir, tmp_path, capsys):
    words = tmp_path / "words.txt"
    words.write_text("the\ncats\nCats\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["graft-vocab", str(bert_dir), "--add-tokens", str(words), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "skipped         2 already one token or a repeat: the, Cats" in printed
    assert "1 tokens added" in printed


def test_a_listed_continuation_piece_is_skipped_as_no_word(bert_dir, tmp_path, capsys):
    # "##ing" is in the vocabulary, so it was "already one token or a repeat", though as
    # text it reads '#', '#', 'ing' (MiniLM; this vocabulary has none of the three)
    words = tmp_path / "words.txt"
    words.write_text("the\n##ing\ncats\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["graft-vocab", str(bert_dir), "--add-tokens", str(words), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "skipped         1 already one token or a repeat: the\n" in printed
    assert (
        "note: skipped 1 vocabulary piece(s) that are no word: ##ing (a vocabulary entry "
        "that text never reads as one token, \"##\" marking a piece that continues a word: "
        "as text \"##ing\" reads ['[UNK]', '[UNK]', '[UNK]']); list the words themselves"
    ) in printed
    report = json.loads((out / "graft_report.json").read_text(encoding="utf-8"))
    assert [t["token"] for t in report["new_tokens"]] == ["cats"]


@pytest.mark.parametrize("which", ["bert", "gpt2"])
def test_a_listed_piece_without_a_continuation_mark_is_not_called_one(
    which, bert_dir, gpt2_dir, tmp_path, capsys
):
    # "[unused0]" and byte-level "Ġcat" are skipped as no word too, but the note called
    # each 'a word-piece mark, as WordPiece's "##" continuation'
    folder, piece = {"bert": (bert_dir, "[unused0]"), "gpt2": (gpt2_dir, None)}[which]
    if piece is None:  # a "Ġ" word of the small GPT-2's vocabulary
        _, tok = _load(gpt2_dir, "GPT2LMHeadModel")
        piece = next(t for t in tok.get_vocab() if t.startswith("Ġ") and t[1:].isalpha())
    words = tmp_path / "words.txt"
    words.write_text(f"{piece}\ncatdog\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["graft-vocab", str(folder), "--add-tokens", str(words), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    said = next(line for line in printed.splitlines() if "vocabulary piece(s)" in line)
    assert said.startswith(
        f"note: skipped 1 vocabulary piece(s) that are no word: {piece} (a vocabulary entry "
        f'that text never reads as one token: as text "{piece}" reads ['
    ), said
    assert "##" not in said and "continu" not in said


def test_fewer_picks_than_asked_say_why(bert_dir, tmp_path, capsys):
    # "2 tokens added" of 50 asked left the user guessing
    corpus = tmp_path / "c.txt"
    corpus.write_text("unbelievable cats\nunbelievable cats\nplay\n", encoding="utf-8")
    out = tmp_path / "out"
    argv = ["graft-vocab", str(bert_dir), "--corpus", str(corpus), "--add-tokens", "50"]
    assert main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2 tokens added (of 50 asked: only 2 corpus words qualify, each seen at least " in (
        printed
    )
    assert "--min-count 2 times" in printed


def test_the_grafted_copy_is_never_written_inside_the_checkpoint(bert_dir, tmp_path, capsys):
    # --out model/sub made a folder inside the (installed) checkpoint, without a word
    model = tmp_path / "model"
    shutil.copytree(bert_dir, model)
    words = tmp_path / "words.txt"
    words.write_text("unbelievable\n", encoding="utf-8")
    for out in (model / "sub", model):
        argv = ["graft-vocab", str(model), "--add-tokens", str(words), "--out", str(out)]
        assert main(argv) == 1
        assert "inside the checkpoint folder" in capsys.readouterr().err
    assert not (model / "sub").exists()


# -- bad input ---------------------------------------------------------------------------------
def test_bad_input_is_a_vecgraft_error(bert_dir, tmp_path):
    with pytest.raises(ConfigError, match="needs a corpus"):
        graft_vocab(bert_dir, add_tokens=3)
    with pytest.raises(DataError, match="no such token list"):
        graft_vocab(bert_dir, add_tokens=str(tmp_path / "missing.txt"))
    bad = tmp_path / "bad.txt"
    bad.write_text("ok\ntwo words\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.txt:2: expected one token per line"):
        graft_vocab(bert_dir, add_tokens=bad)
    model, tok = _load(bert_dir)
    with pytest.raises(ConfigError, match="needs static vectors"):
        graft_tokens(model, tok, ["cats"], init="vectors")
    with pytest.raises(ConfigError, match="init must be one of"):
        graft_tokens(model, tok, ["cats"], init="random")
    with pytest.raises(ConfigError, match="not one string"):
        graft_tokens(model, tok, "cats")
    # a space inside made a phrase token (a token-list file refuses the same line)
    for bad in ("the cat", "cat\tdog", "a\u00a0b", " cats", "", None):
        with pytest.raises(ConfigError, match="non-empty words without spaces"):
            graft_tokens(model, tok, ["dogs", bad])
    assert len(tok) == 25


# -- CLI ---------------------------------------------------------------------------------------
def test_cli_graft_vocab(bert_dir, tmp_path, capsys):
    corpus = tmp_path / "train.csv"
    corpus.write_text("text,label\n" + "".join(f"{t},1\n" for t in TEXTS), encoding="utf-8")
    words = tmp_path / "words.txt"
    words.write_text("cats\nunbelievable\n", encoding="utf-8")
    vec = tmp_path / "static.txt"
    static = _static()
    vec.write_text(
        "".join(f"{w} {' '.join(f'{x:.6f}' for x in static[w])}\n" for w in static.words),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    args = ["--init", "vectors", "--vectors", str(vec), "--k", "3", "--out", str(out)]
    rc = main(
        ["graft-vocab", str(bert_dir), "--corpus", str(corpus), "--add-tokens", str(words), *args]
    )
    assert rc == 0
    captured = capsys.readouterr()
    printed = captured.out
    assert "Writing" not in captured.err  # transformers' progress bar of the save
    assert "tokens per text 6.50 -> 4.50 (-30.8%, 4 texts)" in printed
    assert "2 tokens added" in printed
    report = json.loads((out / "graft_report.json").read_text(encoding="utf-8"))
    assert [t["token"] for t in report["new_tokens"]] == ["cats", "unbelievable"]
    # listed words with a corpus: their uses there (each was 0, as if there were no corpus)
    assert [t["count"] for t in report["new_tokens"]] == [2, 3]
    assert report["counts"]["vectors"] == 2 and report["vectors"] == str(vec)
    _, tok = _load(out)
    assert len(tok) == 27
    rc = main(["graft-vocab", str(bert_dir), "--add-tokens", "5", "--out", str(tmp_path / "x")])
    assert rc == 1 and "--add-tokens N needs --corpus" in capsys.readouterr().err
    rc = main(["graft-vocab", str(bert_dir), "--corpus", str(corpus), "--add-tokens", "2",
               "--init", "vectors", "--out", str(tmp_path / "y")])  # fmt: skip
    assert rc == 1 and "--init vectors needs --vectors" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_out_that_is_not_an_earlier_graft_is_refused_not_replaced(bert_dir, tmp_path, capsys):
    # the save swaps the whole --out folder in: a folder of the user's own files was deleted
    words = tmp_path / "words.txt"
    words.write_text("cats\n", encoding="utf-8")
    mine = tmp_path / "mine"
    (mine / "sub").mkdir(parents=True)
    (mine / "notes.txt").write_text("keep", encoding="utf-8")
    (mine / "sub" / "a.txt").write_text("keep", encoding="utf-8")
    a_file = tmp_path / "a_file"
    a_file.write_text("keep", encoding="utf-8")
    for out in (mine, a_file):
        argv = ["graft-vocab", str(bert_dir), "--add-tokens", str(words), "--out", str(out)]
        assert main(argv) == 1
        assert capsys.readouterr().err.startswith(f"vecgraft graft-vocab: error: {out}: ")
    with pytest.raises(ConfigError, match=r"no graft_report\.json"):
        save_grafted(graft_vocab(bert_dir, add_tokens=["cats"]), mine)
    assert (mine / "notes.txt").read_text() == "keep" and (mine / "sub" / "a.txt").is_file()
    assert a_file.read_text() == "keep"
    # new, empty, or an earlier graft's folder: written, and a re-graft replaces it cleanly
    (tmp_path / "empty").mkdir()
    for out in (tmp_path / "new", tmp_path / "empty", tmp_path / "new"):
        argv = ["graft-vocab", str(bert_dir), "--add-tokens", str(words), "--out", str(out)]
        assert main(argv) == 0
    report = json.loads((tmp_path / "new" / "graft_report.json").read_text(encoding="utf-8"))
    assert [t["token"] for t in report["new_tokens"]] == ["cats"]
    assert len(_load(tmp_path / "new")[1]) == 26


def test_listed_tokens_count_their_uses_in_a_table_padded_past_the_tokenizer(bert_dir):
    # 32 rows for 25 tokens (as checkpoints pad to a multiple of 8): the new token takes
    # spare row 25, below the old row count, and its uses were not counted
    model, tok = _load(bert_dir)
    model.resize_token_embeddings(32)
    result = graft_vocab(model, Texts(["cats sat", "the cats ran"]), add_tokens=["cats"],
                         tokenizer=tok)  # fmt: skip
    assert [(t.token, t.id, t.count) for t in result.report.new_tokens] == [("cats", 25, 2)]


CLITIC_TEXTS = ["the cat's dogs sat", "unbelievable: the dogs' home", "Unbelievable's mat, cats!"]


def _uses(tok, texts, ids):
    """How often each of `ids` occurs when the grafted `tok` reads `texts`."""
    found = [i for t in texts for i in tok(t, add_special_tokens=False)["input_ids"]]
    return [found.count(i) for i in ids]


def test_words_are_counted_as_the_model_tokenizer_splits_them(bert_dir):
    # vecgraft's regex tokenizer splits "cat's" into "cat", "'s"; BERT reads cat ' s, and the
    # whole-word token "'s", the top pick at count 2 x 3 pieces ([UNK] ' s -> "'" "s" both
    # [UNK]), never fired inside "cat's": its row went unused
    assert select_new_tokens(_load(bert_dir)[1], count_words(CLITIC_TEXTS), 1)[0].word == "'s"
    result = graft_vocab(bert_dir, Texts(CLITIC_TEXTS), add_tokens=3)
    new = result.report.new_tokens
    # counted as BERT reads them, "Unbelievable" lowercased: unbelievable 2 x (3 pieces - 1);
    # "'" 3 x 1 [UNK] piece; dogs 2 x 1 and "s" 2 x 1 [UNK] tie, the word decides
    assert [(t.token, t.count, t.score) for t in new] == [
        ("unbelievable", 2, 4),
        ("'", 3, 3),
        ("dogs", 2, 2),
    ]
    # every pick is read as one token exactly where it was counted
    assert _uses(result.tokenizer, CLITIC_TEXTS, [t.id for t in new]) == [2, 3, 2]
    pieces = result.tokenizer.tokenize("the cat's dogs sat")
    assert pieces == ["the", "cat", "'", "[UNK]", "dogs", "sat"]
    assert not any("never occur" in n or "text tokenizer" in n for n in result.report.notes)


def test_model_words_are_the_normalizer_and_pre_tokenizer_split(bert_dir, gpt2_dir):
    _, bert = _load(bert_dir)
    # uncased BERT: lowercased, accents stripped, split at every punctuation mark; Chinese
    # characters are left to the text tokenizers; "foo" and "bar" touch "_", a word
    # character to the added-token matcher, so a whole-word token would not fire there
    assert model_words(bert, "Blunkett's e-mail, CAFÉ 中国 foo_bar") == [
        "blunkett", "'", "s", "e", "-", "mail", ",", "cafe", "_",
    ]  # fmt: skip
    # byte-level BPE: pieces read " cat" (cut from the text, not "Ġcat"); GPT-2 splits "'s"
    # off "cat's" and "abc" off "123", where a whole-word token never fires
    _, gpt2 = _load(gpt2_dir, "GPT2LMHeadModel")
    assert model_words(gpt2, "the cat's abc123 naïve 中国 x_y") == ["the", "cat", "naïve", "_"]


EMAIL_TEXTS = ["The E-mail sat", "an e-mail's e-mail-order", "e-mails, mail", "the cat's mat",
               "a cat's e-mails"]  # fmt: skip


def test_compounds_an_added_token_matches_whole_are_candidates(bert_dir):
    # BERT reads e - mail, but an added token is matched on the normalised text before the
    # pre-tokenizer, as a whole word: "e-mail" fires between spaces, before "'s" and "-order"
    # (counted there too); "cat's" fires whole, while "'s" alone never does (after a letter)
    _, tok = _load(bert_dir)
    words = count_words(EMAIL_TEXTS, tokenizer=tok)
    assert {w: words[w] for w in ["e-mail", "e-mails", "cat's", "e-mail's", "e-mail-order"]} == {
        "e-mail": 3, "e-mails": 2, "cat's": 2, "e-mail's": 1, "e-mail-order": 1,
    }  # fmt: skip
    assert "'s" not in words and "mail" in words
    result = graft_vocab(bert_dir, Texts(EMAIL_TEXTS), add_tokens=5)
    new = result.report.new_tokens
    # e-mail 3 x (3 [UNK] pieces - 1 + 3), e-mails 2 x 5, cat's 2 x (3 - 1 + 2); then "-", "e",
    # "mail", "'" and "s" keep at most one occurrence the picks leave them (min_count 2)
    assert [(t.token, t.count, t.score) for t in new] == [
        ("e-mail", 3, 15), ("e-mails", 2, 10), ("cat's", 2, 8),
    ]  # fmt: skip
    assert _uses(result.tokenizer, EMAIL_TEXTS, [t.id for t in new]) == [3, 2, 2]
    assert result.tokenizer.tokenize("an e-mail's e-mail-order") == [
        "[UNK]", "e-mail", "[UNK]", "[UNK]", "e-mail", "[UNK]", "[UNK]",
    ]  # fmt: skip
    assert not any("never occur" in n for n in result.report.notes)


def test_a_compound_and_a_word_inside_it_share_occurrences(bert_dir):
    # "unbelievable" fires inside "unbelievable's" unless that is added too (the matcher takes
    # the longest token at the leftmost start): each pick is counted where it fires beside the
    # better ones, and a compound that would take a better pick's occurrences is not picked
    _, tok = _load(bert_dir)
    first = ["unbelievable's cat"] * 2 + ["unbelievable dog"] * 2
    picked = select_new_tokens(tok, count_words(first, tokenizer=tok), 2)
    # unbelievable's 2 x (5 pieces - 1 + 2 [UNK]) = 12 first; unbelievable then 2 x 2, not 4 x 2
    assert [(c.word, c.count, c.score) for c in picked] == [
        ("unbelievable's", 2, 12), ("unbelievable", 2, 4),
    ]  # fmt: skip
    second = ["unbelievable's cat"] * 2 + ["unbelievable dog"] * 5
    picked = select_new_tokens(tok, count_words(second, tokenizer=tok), 2)
    # unbelievable 7 x 2 = 14 beats 12, and unbelievable's would take 2 of its 7
    assert [(c.word, c.count, c.score) for c in picked] == [("unbelievable", 7, 14), ("'", 2, 2)]
    for texts in (first, second):  # each pick is read as one token exactly as often
        result = graft_vocab(bert_dir, Texts(texts), add_tokens=2)
        new = result.report.new_tokens
        want = select_new_tokens(tok, count_words(texts, tokenizer=tok), 2, min_count=2)
        assert [(t.token, t.count) for t in new] == [(c.word, c.count) for c in want]
        assert _uses(result.tokenizer, texts, [t.id for t in new]) == [c.count for c in want]


def test_chinese_picks_are_counted_where_they_fire(bert_dir):
    # jieba's count of 好 left out the 好 inside 很好, and --tokenizer jieba --tokenizer char
    # took the larger of two such counts: 酒 was reported 412 times where the graft, beside
    # the pick 酒店, read it 5 times
    _, tok = _load(bert_dir)
    texts = ["酒店很好", "酒店很好", "这个酒店不错", "酒很好喝", "好"]
    words = count_words(texts, ["jieba", "char"], tokenizer=tok)
    # alone, each fires at every occurrence: 好 and 酒 four times each (酒 thrice in 酒店)
    assert (words["好"], words["酒"], words["酒店"]) == (4, 4, 3)
    for tokenizers in (["jieba", "char"], ["jieba"], ["char"]):
        result = graft_vocab(bert_dir, Texts(texts), add_tokens=6, text_tokenizer=tokenizers)
        new = result.report.new_tokens
        assert new and _uses(result.tokenizer, texts, [t.id for t in new]) == [
            t.count for t in new
        ], tokenizers


def test_a_cased_tokenizer_counts_words_in_their_own_case(bert_dir, tmp_path):
    from transformers import BertTokenizerFast

    (tmp_path / "vocab.txt").write_text((bert_dir / "vocab.txt").read_text(encoding="utf-8"),
                                        encoding="utf-8")  # fmt: skip
    cased = BertTokenizerFast.from_pretrained(str(tmp_path), do_lower_case=False)
    texts = ["Covid in the Café", "covid Covid"]
    assert count_words(texts, tokenizer=cased) == Counter(
        {"Covid": 2, "covid": 1, "in": 1, "the": 1, "Café": 1}
    )
    assert count_words(texts, tokenizer=_load(bert_dir)[1]) == Counter(
        {"covid": 3, "in": 1, "the": 1, "cafe": 1}
    )
    picked = select_new_tokens(cased, count_words(texts, tokenizer=cased), 5, min_count=2)
    assert [(c.word, c.count) for c in picked] == [("Covid", 2)]


def test_unspaced_words_still_come_from_the_text_tokenizer(bert_dir):
    # BERT cuts Chinese into characters; jieba's words (a graft matches them inside runs)
    # and char's characters are the candidates, counted where each token alone fires (我 and
    # 很 twice: also inside 我们 and 很大), the other words as BERT reads them (jieba's own
    # "Cats" and "'s" are not counted; the compound "cats's" fires whole)
    _, tok = _load(bert_dir)
    texts = [*ZH_TEXTS, "中国 Cats's"]
    words = count_words(texts, "jieba", tokenizer=tok)
    assert words == Counter(
        {"中国": 5, "爱": 2, "人": 2, "我": 2, "很大": 1, "我们": 1, "很": 2, "好": 1,
         "cats": 1, "'": 1, "s": 1, "cats's": 1}
    )  # fmt: skip
    chars = count_words(texts, ["jieba", "char"], tokenizer=tok)
    assert chars["中"] == 5 and chars["中国"] == 5 and chars["cats"] == 1 and "'s" not in chars


def test_a_tokenizer_without_a_pre_tokenizer_falls_back_to_the_text_tokenizer(bert_dir):
    # nothing splits words the model's way: the regex tokenizer counts them, as before, and
    # the report says so and names the pick the grafted tokenizer never uses
    model, tok = _load(bert_dir)
    tok.backend_tokenizer.pre_tokenizer = None
    texts = ["the cat's toy", "a cat's home"]
    assert count_words(texts, tokenizer=tok) == count_words(texts)
    with pytest.raises(ConfigError, match="the tokenizer has no pre-tokenizer"):
        model_words(tok, "the cat's toy")
    result = graft_vocab(model, Texts(texts), add_tokens=3, tokenizer=tok)
    assert [(t.token, t.count) for t in result.report.new_tokens] == [("'s", 2)]
    assert result.report.notes[-2:] == [
        "the tokenizer has no pre-tokenizer: corpus words were found by the text tokenizer, "
        "which may split words otherwise than the model does (a clitic 's), so a pick may "
        "never be read as one token",
        "1 new token(s) never occur in the corpus as the grafted tokenizer reads it, so their "
        "rows go unused: 's (2) (a longer new token covers every occurrence, or the text "
        "tokenizer split the words otherwise than the model); to choose the tokens yourself, "
        "list them in a file (--add-tokens FILE)",
    ]


class _SlowTokenizer:
    """A tokenizer without a Rust backend (what `PreTrainedTokenizer` subclasses are)."""

    is_fast = False


def test_a_slow_tokenizer_counts_with_the_text_tokenizer_and_cannot_graft(bert_dir):
    texts = ["the cat's toy", "a cat's home"]
    assert count_words(texts, tokenizer=_SlowTokenizer()) == count_words(texts)
    with pytest.raises(ConfigError, match=r"a slow tokenizer \(no Rust backend\)"):
        model_words(_SlowTokenizer(), "the cat's toy")
    # refused before picking (the pick's tokenizer calls failed with an AttributeError)
    with pytest.raises(ConfigError, match="needs a fast"):
        graft_vocab(_load(bert_dir)[0], Texts(texts), add_tokens=2, tokenizer=_SlowTokenizer())


def test_a_byte_order_mark_is_not_part_of_the_first_listed_token(gpt2_dir, tmp_path):
    # a Notepad-saved list added "\ufeffcatdog", a token no text ever matches
    words = tmp_path / "words.txt"
    words.write_text("\ufeffcatdog\ndogcat\n", encoding="utf-8")
    result = graft_vocab(gpt2_dir, add_tokens=words)
    assert [t.token for t in result.report.new_tokens] == ["catdog", "dogcat"]
    assert len(result.tokenizer(" catdog", add_special_tokens=False)["input_ids"]) == 1


def test_byte_level_bpe_word_is_one_token_mid_sentence(gpt2_dir):
    model, tok = _load(gpt2_dir, "GPT2LMHeadModel")
    pieces = tok(" catdog", add_special_tokens=False)["input_ids"]
    old = model.get_input_embeddings().weight.detach().clone()
    report = graft_tokens(model, tok, ["catdog"])
    new_id = report.new_tokens[0].id
    assert report.tied is True and report.new_tokens[0].pieces[0] == "Ġcat"
    ids = tok("the catdog sat", add_special_tokens=False)["input_ids"]
    assert ids == [tok.convert_tokens_to_ids("the"), new_id, tok.convert_tokens_to_ids("Ġsat")]
    torch.testing.assert_close(
        model.get_input_embeddings().weight[new_id].detach(), old[pieces].mean(0)
    )
    # the space the token takes in is not written back: said in the report, unsaid before
    assert tok.decode(ids) == "thecatdog sat"
    assert report.notes == [
        "byte-level BPE: the 1 new token(s) take in the space before them, as its \"Ġ\" "
        'tokens do, but decode without it ("a catdog" -> "acatdog"): fine for classification '
        "and word vectors, not for generating text"
    ]


class _Ngrams:
    """A stand-in subword model that knows every word (as fastText's n-grams do)."""

    def word_vector(self, word: str) -> np.ndarray:
        return np.full(6, float(len(word)), dtype=np.float32)


def test_vectors_rule_shares_only_words_with_their_own_row(bert_dir):
    model, tok = _load(bert_dir)
    old = model.get_input_embeddings().weight.detach().clone()
    base = _static()
    static = Vectors(base.words[:3], base.matrix[:3], subword=_Ngrams())  # cat dog mat
    report = graft_tokens(model, tok, ["cats"], init="vectors", vectors=static, k=50)
    (entry,) = report.new_tokens
    # "cats" gets its vector from subwords; its neighbours are only cat, dog, mat
    assert entry.rule == "vectors"
    assert {w for w, _ in entry.neighbours} <= {"cat", "dog", "mat"}
    vocab = tok.get_vocab()
    row = sum(x * old[vocab[w]] for w, x in entry.neighbours)
    torch.testing.assert_close(model.get_input_embeddings().weight[entry.id].detach(), row)


def test_a_folder_without_weights_or_config_says_so_before_the_tokenizer(
    bert_dir, tmp_path, capsys
):
    # a folder without weights whose tokenizer was incomplete too was "no tokenizer
    # vocabulary", and one without config.json "cannot read config.json (Unrecognized
    # model ...)": `from-transformer` named the missing file in both
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat\n", encoding="utf-8")
    cases = {
        "tokenizer-config-only": (["config.json", "tokenizer_config.json"], (
            "no weights found: expected model.safetensors, model.safetensors.index.json or "
            "pytorch_model.bin; the folder holds config.json, tokenizer_config.json"
        )),
        "whole-tokenizer": (["config.json", "tokenizer.json", "tokenizer_config.json"], (
            "no weights found: expected model.safetensors, model.safetensors.index.json or "
            "pytorch_model.bin; the folder holds config.json, tokenizer.json, "
            "tokenizer_config.json"
        )),
        "no-config": (["tokenizer.json", "tokenizer_config.json", "model.safetensors"],
                      "no config.json in the checkpoint folder"),
    }  # fmt: skip
    for name, (files, message) in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        for file in files:
            shutil.copy(bert_dir / file, folder / file)
        argv = ["graft-vocab", str(folder), "--corpus", str(corpus), "--add-tokens", "1"]
        assert main([*argv, "--out", str(tmp_path / "out")]) == 1
        err = capsys.readouterr().err
        assert err == f"vecgraft graft-vocab: error: {folder}: {message}\n", name
        assert main(["from-transformer", str(folder), "--out", str(tmp_path / "v.txt")]) == 1
        assert capsys.readouterr().err == f"vecgraft from-transformer: error: {folder}: {message}\n"


def test_a_model_path_that_is_no_checkpoint_folder_is_one_line(tmp_path, capsys):
    # transformers took a missing folder for a hub name and answered in three lines about
    # huggingface.co, its cache and offline mode; an empty folder in five
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("some words here\n", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    for model in (tmp_path / "nope", corpus, tmp_path / "empty"):
        argv = ["graft-vocab", str(model), "--corpus", str(corpus), "--add-tokens", "2"]
        assert main([*argv, "--out", str(tmp_path / "out")]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"vecgraft graft-vocab: error: {model}: ") and err.count("\n") == 1
        assert "huggingface.co" not in err
    assert not (tmp_path / "out").exists()


def _sentencepiece_layout(t5_dir: Path, layout: str):
    """The tiny T5's tokenizer rearranged as another SentencePiece-style layout."""
    from tokenizers import normalizers, pre_tokenizers
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(t5_dir), local_files_only=True)
    backend = tok.backend_tokenizer
    if layout == "llama2":  # "▁" prepended by the normalizer, no pre-tokenizer
        backend.normalizer = normalizers.Sequence(
            [normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")]
        )
        backend.pre_tokenizer = None
    elif layout == "metaspace":  # ALBERT's and XLM-R's: "▁" before every section
        backend.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="always", split=True)
    elif layout == "metaspace-unsplit":
        backend.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="first", split=False)
    return tok


_SPACE_NOTE = (
    "the space before each new token is read as a token of its own (\"catdog catdog catdog\" "
    "reads ['catdog', '▁', 'catdog', '▁', 'catdog']): one more token per use; fine for "
    "classification and word vectors"
)


def _punctuation_note(tokens: str, decoded: str) -> str:
    return (
        'punctuation right after a new token reads a "▁" token before it ("catdog, catdog." '
        f'reads {tokens}, decoded "{decoded}"): one more token per use; fine for '
        "classification and word vectors, not for generating text"
    )


@pytest.mark.parametrize(
    ("layout", "notes"),
    [
        ("t5", ['the new tokens decode without the space before them ("catdog catdog catdog" -> '
                '"catdogcatdogcatdog"): fine for classification and word vectors, not for '
                "generating text",
                _punctuation_note("['catdog', '▁', ',', 'catdog', '▁', '.']",
                                  "catdog ,catdog .")]),
        ("metaspace", [_SPACE_NOTE,
                       _punctuation_note("['catdog', '▁', ',', '▁', 'catdog', '▁', '.']",
                                         "catdog , catdog .")]),
        ("metaspace-unsplit", [_SPACE_NOTE]),
    ],
)  # fmt: skip
def test_sentencepiece_grafts_say_how_new_tokens_read(t5_dir, layout, notes):
    # new tokens fired mid-sentence but left a stray "▁" token, or lost the word's space on
    # decode, and the report said nothing; punctuation right after one read a "▁" token
    # before it ("such," -> 'such', '▁', ',') where "▁" is prepended to every section
    tok = _sentencepiece_layout(t5_dir, layout)
    result = graft_vocab(t5_dir, Texts(TEXTS), add_tokens=["catdog"], tokenizer=tok)
    assert result.report.notes == notes
    new = result.tokenizer.convert_tokens_to_ids("catdog")
    assert result.tokenizer("a catdog sat")["input_ids"].count(new) == 1  # mid-sentence


def test_a_sentencepiece_layout_matching_new_tokens_at_text_start_only_is_refused(t5_dir):
    # LLaMA-2's layout: "a catdog" never read the new token, only a text starting with it did
    tok = _sentencepiece_layout(t5_dir, "llama2")
    with pytest.raises(ConfigError) as caught:
        graft_vocab(t5_dir, Texts(TEXTS), add_tokens=["catdog"], tokenizer=tok)
    assert str(caught.value).startswith(
        "cannot graft words into this tokenizer: a new token would match at the start of a "
        'text only ("catdog catdog catdog" reads '
    )
    assert "catdog" not in tok.get_vocab()  # the caller's tokenizer is left as it was


def test_a_byte_level_pick_of_marks_is_counted_where_it_fires(gpt2_dir):
    # GPT-2's pre-tokenizer cuts '."' out of 'sat." the' but reads '?."' as one piece, where
    # the token (matched anywhere: it has no letter) fires too: counted 6, read 9 times; and
    # its pieces were spelt ' ."' ('Ġ', '.', '"'), a reading the corpus never had
    texts = ['the cat sat." the dog ran." a mat?." home'] * 3
    result = graft_vocab(gpt2_dir, Texts(texts), add_tokens=50, min_count=2)
    entries = {t.token: t for t in result.report.new_tokens}
    assert entries['."'].count == 9
    assert not entries['."'].pieces[0].startswith("Ġ")
    for entry in result.report.new_tokens:
        uses = sum(result.tokenizer(t, add_special_tokens=False)["input_ids"].count(entry.id)
                   for t in texts)
        assert uses == entry.count, entry.token


def test_a_model_without_a_token_table_is_refused_naming_the_folder(bert_dir, tmp_path, capsys):
    # a ViT with a text tokenizer beside it: AttributeError 'ViTPatchEmbeddings' object has
    # no attribute 'weight', from deep in the graft
    from transformers import ViTConfig, ViTModel

    vit = tmp_path / "vit"
    config = ViTConfig(
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        image_size=32,
        patch_size=16,
    )
    ViTModel(config).save_pretrained(vit)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt"):
        shutil.copy(bert_dir / name, vit / name)
    words = tmp_path / "w.txt"
    words.write_text("mourinho\n", encoding="utf-8")
    code = main(["graft-vocab", str(vit), "--add-tokens", str(words), "--out", str(tmp_path / "g")])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err
    assert f"{vit}: cannot find the input-embedding table for model_type 'vit'" in err
    assert not (tmp_path / "g").exists()


def test_a_span_with_a_capital_a_compound_and_kana_is_counted_once(bert_dir):
    # keyed raw ("A.e-mail-order,の") and normalised ("a.e-mail-order,の"), the span was in
    # `spans` twice, and what e-mail-order takes from mail-order was taken once per key:
    # mail-order, read 3 times beside e-mail-order, was counted 9 - 3 - 3 - 3 = 0 and dropped
    _, tok = _load(bert_dir)
    texts = ["the A.e-mail-order,の cat", "a mail-order dog", "x e-mail-order y"] * 3
    counts = count_words(texts, ["regex"], tokenizer=tok)
    assert list(counts.spans).count("a.e-mail-order,の") == 1
    assert "A.e-mail-order,の" not in counts.spans
    picked = select_new_tokens(tok, counts, 10, min_count=1)
    assert {c.word: c.count for c in picked} == {
        "e-mail-order": 6, "mail-order": 3, "x": 3, "y": 3, "の": 3,
    }  # fmt: skip
    result = graft_vocab(bert_dir, Texts(texts), add_tokens=[c.word for c in picked])
    new = {t.token: t.id for t in result.report.new_tokens}
    for c in picked:  # each pick's count is how often the grafted tokenizer reads it
        assert _uses(result.tokenizer, texts, [new[c.word]]) == [c.count], c.word
