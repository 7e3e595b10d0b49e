import json

import numpy as np
import pytest
import torch

from conftest_align import FakeSubword, counted_vocab, random_vectors
from vecgraft.align import AlignmentReport, align, normalize_key
from vecgraft.errors import AlignmentError, ConfigError, FormatError, VocabError
from vecgraft.text.vocab import Vocab
from vecgraft.vectors import Vectors


@pytest.fixture(scope="module")
def mixed():
    """600 vector words; a vocabulary that hits every rule, in shuffled frequency order."""
    words = [f"w{i}" for i in range(500)] + [f"Cap{i}" for i in range(100)]
    vectors = random_vectors(words, dim=16, seed=1)
    rng = np.random.default_rng(2)
    toks = (
        [f"w{i}" for i in range(0, 500, 2)]  # exact
        + [f"cap{i}" for i in range(50)]  # casefold
        + [f"oov{i}" for i in range(40)]  # init
    )
    counts = {t: int(c) for t, c in zip(toks, rng.integers(1, 100, len(toks)))}
    return counted_vocab(counts), vectors


def test_every_matched_row_is_its_source_vector(mixed):
    vocab, vectors = mixed
    matrix, report = align(vocab, vectors)
    assert matrix.shape == (len(vocab), 16)
    checked = 0
    for i, tok in enumerate(vocab.tokens):  # all rows, not a sample
        rule = report.rules[i]
        if rule == "exact":
            src = vectors[tok]
        elif rule == "casefold":
            src = vectors[tok[0].upper() + tok[1:]]
        else:
            assert rule in {"pad", "unk", "init"}
            assert tok.startswith("oov") or tok in vocab.specials
            continue
        assert np.array_equal(matrix[i].numpy(), src), tok
        checked += 1
    assert checked == 300 == report.counts["exact"] + report.counts["casefold"]
    assert report.counts == {
        "exact": 250,
        "casefold": 50,
        "normalized": 0,
        "subword": 0,
        "unk": 1,
        "init": 40,
        "pad": 1,
    }


def test_each_rule_fires_on_crafted_case():
    words = ["the", "Apple", "apple_pie", "APPLE", "cafe", "1999", "subway"]
    vectors = random_vectors(words, dim=4, subword=FakeSubword(4))
    vocab = Vocab(["<pad>", "<unk>", "the", "apple", "Café", "2024", "subtle", "zzz"])
    matrix, report = align(vocab, vectors)
    assert report.rules == [
        "pad",
        "unk",
        "exact",
        "casefold",
        "normalized",
        "normalized",
        "subword",
        "init",
    ]
    # casefold prefers the earliest row ("Apple", row 1) over "APPLE" (row 3)
    assert torch.equal(matrix[3], torch.from_numpy(vectors.matrix[1]))
    assert torch.equal(matrix[4], torch.from_numpy(vectors.matrix[4]))  # café -> cafe
    assert torch.equal(matrix[5], torch.from_numpy(vectors.matrix[5]))  # 2024 -> 1999
    assert torch.equal(matrix[6], torch.full((4,), 6.0))  # FakeSubword: len("subtle")
    # specials are never looked up, matched words never reach the subword model
    assert vectors.subword.calls == ["subtle", "zzz"]


def test_the_vectors_key_tables_are_built_once_per_vectors(monkeypatch):
    # a search aligns every trial's vocabulary to the same loaded vectors: the casefold and
    # normalized rules' tables over all their words are built on the first align only
    import vecgraft._align_match as match

    words = ["the", "Apple", "APPLE", "cafe", "1999"]
    vectors = random_vectors(words, dim=4)
    vocab = Vocab(["<pad>", "<unk>", "the", "apple", "Café", "2024", "zzz"])
    built: list[list[str]] = []
    keys = match._keys

    def counted(words, rule, normalizer):
        built.append(words)
        return keys(words, rule, normalizer)

    monkeypatch.setattr(match, "_keys", counted)
    first, report = align(vocab, vectors)
    assert report.rules[3:6] == ["casefold", "normalized", "normalized"]
    again, _ = align(vocab, vectors)
    assert torch.equal(first, again)
    assert sum(w is vectors.words for w in built) == 2  # casefold's and normalized's, once
    other = random_vectors(words, dim=4)  # other vectors: their own tables
    align(vocab, other)
    assert sum(w is other.words for w in built) == 2


def test_reassigned_words_rebuild_the_key_tables():
    # `Vectors` lets `words`/`matrix` be reassigned (index and normed are reset): the
    # casefold and normalized tables cached for the old order must not pick rows after it
    vectors = Vectors(
        ["Paris", "London", "café"], np.array([[1, 0], [0, 1], [5, 5]], np.float32)
    )
    vocab = Vocab.from_counts({"PARIS": 2, "LONDON": 1, "cafe": 1})
    before, report = align(vocab, vectors)
    assert report.rules[2:] == ["casefold", "casefold", "normalized"]
    order = np.argsort(vectors.words)  # London, Paris, café
    vectors.words, vectors.matrix = [vectors.words[i] for i in order], vectors.matrix[order]
    after, _ = align(vocab, vectors)
    assert torch.equal(after[2:], before[2:])  # PARIS still [1, 0], LONDON [0, 1]
    assert after[2].tolist() == [1.0, 0.0]
    # in place, then assigned again (as `Vectors.normed` asks for the matrix): seen too
    vectors.words[0], vectors.words[1] = vectors.words[1], vectors.words[0]
    vectors.words = vectors.words
    swapped, _ = align(vocab, vectors)
    assert swapped[2].tolist() == [0.0, 1.0]  # PARIS now names row 0, London's vector


def test_a_device_this_machine_lacks_is_a_config_error_before_the_work(monkeypatch):
    # device="cuda" on a CPU-only torch was torch's bare AssertionError ("Torch not compiled
    # with CUDA enabled") after the whole alignment; finetune said "CUDA is not available"
    from vecgraft.nn.embedding import pretrained_embedding

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    vectors = Vectors(["a"], np.eye(1, dtype=np.float32))
    vocab = Vocab.from_counts({"a": 1})
    calls = [
        lambda: align(vocab, vectors, device="cuda"),
        lambda: pretrained_embedding(vocab, vectors, device="cuda"),
        lambda: vocab.encode([["a"]], device="cuda"),
        lambda: vectors.to_torch("cuda"),
    ]
    for call in calls:
        with pytest.raises(ConfigError, match="'cuda' requested but CUDA is not available"):
            call()
    with pytest.raises(ConfigError, match="unknown device 'gpu'"):
        align(vocab, vectors, device="gpu")
    assert align(vocab, vectors, device="cpu")[0].device == torch.device("cpu")
    assert align(vocab, vectors, device=torch.device("cpu"))[0].device.type == "cpu"


def test_load_embedding_and_pad_ids_refuse_a_device_this_machine_lacks(monkeypatch, tmp_path):
    # both called weight.to(device) bare: torch's AssertionError "Torch not compiled with CUDA
    # enabled" where every other device argument said "CUDA is not available"
    from vecgraft.nn.embedding import load_embedding, random_embedding, save_embedding
    from vecgraft.text.padding import pad_ids

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    vocab = Vocab.from_counts({"a": 1})
    folder = save_embedding(tmp_path / "emb", random_embedding(vocab, dim=2), vocab)
    with pytest.raises(ConfigError, match="'cuda' requested but CUDA is not available"):
        load_embedding(folder, device="cuda")
    with pytest.raises(ConfigError, match="'cuda' requested but CUDA is not available"):
        pad_ids([[1, 2], [3]], 0, device="cuda")
    assert load_embedding(folder, device="cpu")[0].weight.device.type == "cpu"
    ids, lengths = pad_ids([[1, 2], [3]], 0, device=torch.device("cpu"))
    assert ids.tolist() == [[1, 2], [3, 0]] and lengths.tolist() == [2, 1]


def _filler(n: int, **at: int) -> list[str]:
    """`n` filler words with the given words at the given rows."""
    words = [f"f{i}" for i in range(n)]
    for word, row in at.items():
        words[row] = word
    return words


def test_casefold_takes_the_lowercase_form_before_an_earlier_variant(tmp_path):
    import vecgraft

    words = _filler(1000, APPLE=5, apple=900)
    vectors = random_vectors(words, dim=4)
    vocab = Vocab(["<pad>", "<unk>", "Apple"])
    matrix, report = align(vocab, vectors)
    assert report.rules[2] == "casefold" and report.counts["casefold"] == 1
    assert torch.equal(matrix[2], torch.from_numpy(vectors.matrix[900]))  # "apple", not row 5
    assert report.notes == [
        "casefold: 1 word(s) took their lowercase form over an earlier case variant "
        "(e.g. 'Apple' -> 'apple', not 'APPLE')"
    ]
    # The vocabulary-filtered load (and its cached copy) keeps both variants: same row.
    path = tmp_path / "v.txt"
    rows = vectors.matrix.tolist()
    lines = (f"{w} {' '.join(map(str, row))}" for w, row in zip(words, rows))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for _ in range(2):  # the second load comes from the cache
        filtered = vecgraft.load(path, vocab=vocab.tokens, cache_dir=tmp_path / "cache")
        assert filtered.words == ["APPLE", "apple"]
        m, r = align(vocab, filtered)
        assert r.rules == report.rules and torch.equal(m, matrix)
    # Without the casefold rule there is no lowercase lookup either.
    _, strict = align(vocab, vectors, order=["exact", "subword"])
    assert strict.rules[2] == "init" and not any("casefold" in n for n in strict.notes)


def test_casefold_without_a_lowercase_form_takes_the_earliest_variant():
    # "NASA": only "Nasa" (row 7); "IBM": "iBM" (row 3) before "Ibm" (row 8); no "nasa"/"ibm"
    vectors = random_vectors(_filler(10, Nasa=7, iBM=3, Ibm=8), dim=4)
    vocab = Vocab(["<pad>", "<unk>", "NASA", "IBM"])
    matrix, report = align(vocab, vectors)
    assert report.rules[2:] == ["casefold", "casefold"] and not report.notes
    assert torch.equal(matrix[2], torch.from_numpy(vectors.matrix[7]))
    assert torch.equal(matrix[3], torch.from_numpy(vectors.matrix[3]))


def test_casefold_on_lowercase_vectors_is_unchanged():
    """GloVe-like vectors (all lowercase): the row is the one the earliest-variant rule gave."""
    words = ["the", "apple", "café", "δέλτα", "naïve", "ok"] + [f"w{i}" for i in range(50)]
    vectors = random_vectors(words, dim=4)
    tokens = ["The", "APPLE", "Café", "ΔΈΛΤΑ", "NAÏVE", "Ok", "W7", "w8", "Nope"]
    vocab = Vocab(["<pad>", "<unk>", *tokens])
    matrix, report = align(vocab, vectors, order=["exact", "casefold"])
    earliest: dict[str, int] = {}
    for row, word in enumerate(words):
        earliest.setdefault(word.casefold(), row)
    for i, token in enumerate(tokens, start=2):
        row = vectors.index.get(token, earliest.get(token.casefold()))
        assert (row is None) == (report.rules[i] == "init"), token
        if row is not None:
            assert torch.equal(matrix[i], torch.from_numpy(vectors.matrix[row])), token
    assert report.counts["casefold"] == 7 and not report.notes
    # Lowercase words can still share a casefold key ("straße", "strasse"): each word then
    # takes its own lowercase form, no longer the earlier of the two.
    vectors = random_vectors(["straße", "strasse"], dim=4)
    matrix, report = align(Vocab(["<pad>", "<unk>", "STRASSE", "Straße"]), vectors)
    assert report.rules[2:] == ["casefold", "casefold"]
    assert torch.equal(matrix[2], torch.from_numpy(vectors.matrix[1]))
    assert torch.equal(matrix[3], torch.from_numpy(vectors.matrix[0]))
    assert report.notes[0].startswith("casefold: 1 word(s) took their lowercase form")


def test_subword_rule_needs_subwords_and_right_dim():
    vocab = Vocab(["<pad>", "<unk>", "subtle"])
    _, report = align(vocab, random_vectors(["a"], dim=4))
    assert report.rules[2] == "init"
    with pytest.raises(AlignmentError, match="subword model gave a vector of 3 values"):
        align(vocab, random_vectors(["a"], dim=4, subword=FakeSubword(3)))


def test_order_is_configurable():
    vectors = random_vectors(["resume", "RÉSUMÉ"], dim=4)
    vocab = Vocab(["<pad>", "<unk>", "Résumé"])
    m1, r1 = align(vocab, vectors)
    m2, r2 = align(vocab, vectors, order=["exact", "normalized", "casefold"])
    _, r3 = align(vocab, vectors, order=["exact"])
    assert r1.rules[2] == "casefold" and torch.equal(m1[2], torch.from_numpy(vectors.matrix[1]))
    assert r2.rules[2] == "normalized" and torch.equal(m2[2], torch.from_numpy(vectors.matrix[0]))
    assert r3.rules[2] == "init"
    expected = "match rule must be one of exact, casefold, normalized, subword; got 'fuzzy'"
    with pytest.raises(ConfigError, match=expected):
        align(vocab, vectors, order=["exact", "fuzzy"])
    with pytest.raises(ConfigError, match="listed twice"):
        align(vocab, vectors, order=["exact", "exact"])


def test_normalize_key():
    assert normalize_key("Ｃafé’s 1987") == "cafe's 0000"
    assert normalize_key("ABC-123") == "abc-000"
    assert normalize_key("Straße") == "strasse"
    assert normalize_key("٣") == "0"  # Arabic-Indic digit
    assert normalize_key("中文") == "中文"


def test_normalize_key_strips_accents_only_on_latin_greek_and_cyrillic_letters():
    # every combining mark was dropped: ガス matched カス, ไม่ ไม้, क्षत्रिय कषतरिय
    for word, key in [("café", "cafe"), ("CAFE\u0301", "cafe"), ("naïve", "naive"),
                      ("Ελληνικά", "ελληνικα"), ("ёлка", "елка"), ("Ệ", "e")]:  # fmt: skip
        assert normalize_key(word) == key
    for word in ["ガス", "ไม่", "ไม้", "क्षत्रिय", "다", "中文"]:
        assert normalize_key(word) == word
    assert len({normalize_key(w) for w in ["ガス", "カス", "ไม่", "ไม้", "ไม"]}) == 5
    vectors = random_vectors(["カス", "ไม้", "cafe"], dim=3)
    _, report = align(Vocab(["<pad>", "<unk>", "ガス", "ไม่", "Café"]), vectors)
    assert report.rules[2:] == ["init", "init", "normalized"]


def test_normalize_key_strips_arabic_and_hebrew_vowel_marks():
    # harakat and niqqud are optional in writing: vector files mostly write words without
    assert normalize_key("مُحَمَّد") == "محمد"
    assert normalize_key("שָׁלוֹם") == "שלום"
    assert normalize_key("\u0301\u0302a\u0301") == "\u0301\u0302a"  # no base: marks kept
    vectors = random_vectors(["محمد", "שלום", "カス"], dim=3)
    vocab = Vocab(["<pad>", "<unk>", "مُحَمَّد", "שָׁלוֹם", "ガス"])
    _, report = align(vocab, vectors, order=["normalized"])
    assert report.rules[2:] == ["normalized", "normalized", "init"]


def test_normalize_key_keeps_the_arabic_hamza_and_maddah():
    # NFD splits them off أ إ ؤ ئ آ and they were stripped as vowel marks: سأل ("asked")
    # and سال ("flowed") shared a key, مسؤول became مسوول
    assert normalize_key("سأل") == "سأل"
    assert normalize_key("سَأَلَ") == "سأل"  # the harakat around the hamza still go
    assert normalize_key("مسؤول") == "مسؤول"
    assert normalize_key("إِسْلام") == "إسلام"
    assert normalize_key("آمَنَ") == "آمن"
    assert normalize_key("سُئِلَ") == "سئل"
    assert normalize_key("ا\u0653\u064e") == "آ"  # a mark after the kept maddah: stripped
    assert normalize_key("هٰذا") == "هذا"  # the superscript alef is a vowel sign
    assert len({normalize_key(w) for w in ["سأل", "سال", "مسؤول", "مسوول"]}) == 4


def test_custom_normalizer():
    vectors = random_vectors(["colour"], dim=3)
    vocab = Vocab(["<pad>", "<unk>", "color"])
    _, report = align(vocab, vectors, normalizer=lambda w: w.replace("ou", "o"))
    assert report.rules[2] == "normalized"


def test_coverage_exact_on_hand_example():
    vectors = random_vectors(["a", "c", "x"], dim=3)
    vocab = counted_vocab({"a": 5, "b": 3, "c": 2, "d": 1})
    _, report = align(vocab, vectors)
    # words a, b, c, d (specials excluded): a, c matched -> 2/4 types, (5+2)/(5+3+2+1) tokens
    assert (report.types, report.types_matched) == (4, 2)
    assert (report.tokens, report.tokens_matched) == (11, 7)
    assert report.type_coverage == 0.5
    assert report.token_coverage == 7 / 11
    assert report.missing == [("b", 3), ("d", 1)]
    table = report.format_table()
    assert "50.00%  (2 of 4 words)" in table
    assert "63.64%  (7 of 11 tokens)" in table
    assert "most frequent missing: b (3), d (1)" in table


def test_token_coverage_none_without_counts():
    _, report = align(Vocab(["<pad>", "<unk>", "a"]), random_vectors(["a"], dim=2))
    assert report.type_coverage == 1.0 and report.token_coverage is None
    assert "n/a" in report.format_table()


def test_missing_words_without_counts_show_no_zero_frequency():
    # "most frequent missing: zz (0)": a 0 read as a frequency the vocabulary never had
    vocab = Vocab(["<pad>", "<unk>", "a", "zz", "yy"])
    _, report = align(vocab, random_vectors(["a"], dim=2), init="zeros")  # no std-0 note
    assert report.missing == [("zz", 0), ("yy", 0)]
    assert report.format_table().splitlines()[-1] == "missing (no counts, vocabulary order): zz, yy"
    assert "(0)" not in report.format_table()


def test_padding_zero_and_unk_mean_of_matched():
    vectors = Vectors(["a", "b", "c"], np.array([[1, 2], [3, 6], [100, 100]], np.float32))
    vocab = counted_vocab({"a": 2, "b": 1, "q": 1})
    matrix, report = align(vocab, vectors)
    assert torch.equal(matrix[vocab.pad_index], torch.zeros(2))
    assert torch.allclose(matrix[vocab.unk_index], torch.tensor([2.0, 4.0]))
    assert report.rules[:2] == ["pad", "unk"]
    m_zero, r_zero = align(vocab, vectors, unk="zeros")
    assert torch.equal(m_zero[1], torch.zeros(2)) and r_zero.rules[1] == "unk"
    m_init, r_init = align(vocab, vectors, unk="init")
    assert r_init.rules[1] == "init" and not torch.equal(m_init[1], torch.zeros(2))
    with pytest.raises(ConfigError, match="unk must be one of mean, zeros, init; got"):
        align(vocab, vectors, unk="median")


def test_other_specials_initialised_like_oov_and_excluded_from_coverage():
    vectors = random_vectors(["<s>", "a"], dim=3)
    vocab = Vocab.from_counts({"a": 4}, specials=("<pad>", "<unk>", "<s>"))
    matrix, report = align(vocab, vectors)
    assert report.rules == ["pad", "unk", "init", "exact"]
    assert not torch.equal(matrix[2], torch.from_numpy(vectors["<s>"]))
    assert report.types == 1 and report.type_coverage == 1.0


def test_seed_reproducible_and_different():
    vocab = counted_vocab({f"o{i}": 1 for i in range(20)} | {"a": 3, "b": 2})
    vectors = random_vectors(["a", "b"], dim=5)
    for init in ("normal", "uniform"):
        m1, _ = align(vocab, vectors, init=init, seed=7)
        m2, _ = align(vocab, vectors, init=init, seed=7)
        m3, _ = align(vocab, vectors, init=init, seed=8)
        assert torch.equal(m1, m2)
        assert not torch.equal(m1, m3)


def test_init_statistics_follow_matched_rows():
    rng = np.random.default_rng(0)
    mean = np.array([1.0, -2.0, 0.5], np.float32)
    std = np.array([0.1, 2.0, 1.0], np.float32)
    words = [f"m{i}" for i in range(400)]
    vectors = Vectors(words, (rng.normal(size=(400, 3)) * std + mean).astype(np.float32))
    vocab = counted_vocab(dict.fromkeys(words, 2) | {f"o{i}": 1 for i in range(4000)})
    emp_mean = torch.from_numpy(vectors.matrix).double().mean(0)
    emp_std = torch.from_numpy(vectors.matrix).double().std(0, correction=0)
    for init in ("normal", "uniform"):
        matrix, report = align(vocab, vectors, init=init)
        oov = matrix[[i for i, r in enumerate(report.rules) if r == "init"]].double()
        assert len(oov) == 4000
        assert torch.allclose(oov.mean(0), emp_mean, atol=0.1)
        assert torch.allclose(oov.std(0), emp_std, rtol=0.08)
        if init == "uniform":
            half = emp_std * 3**0.5
            assert bool(((oov >= emp_mean - half - 1e-5) & (oov <= emp_mean + half + 1e-5)).all())
    m_zero, r = align(vocab, vectors, init="zeros")
    assert not m_zero[torch.tensor([x == "init" for x in r.rules])].any()
    m_mean, r = align(vocab, vectors, init="mean")
    oov_rows = m_mean[torch.tensor([x == "init" for x in r.rules])]
    assert torch.allclose(oov_rows, emp_mean.float().expand_as(oov_rows), atol=1e-5)


def test_callable_init_gets_seeded_generator():
    seen = []

    def init(n, dim, generator):
        seen.append((n, dim, generator.initial_seed()))
        return torch.arange(n * dim, dtype=torch.float32).reshape(n, dim)

    vocab = counted_vocab({"a": 2, "x": 1, "y": 1})
    matrix, report = align(vocab, random_vectors(["a"], dim=2), init=init, seed=3)
    assert seen == [(2, 2, 3)]
    assert torch.equal(matrix[3:], torch.tensor([[0.0, 1.0], [2.0, 3.0]]))
    assert report.options["init"] == "init"
    with pytest.raises(AlignmentError, match=r"returned \(1, 2\), expected a tensor of \(2, 2\)"):
        align(vocab, random_vectors(["a"], dim=2), init=lambda n, d, g: torch.zeros(1, d))
    expected = "init must be one of normal, uniform, zeros, mean or a callable; got 'gauss'"
    with pytest.raises(ConfigError, match=expected):
        align(vocab, random_vectors(["a"], dim=2), init="gauss")


def test_no_matched_rows_falls_back_and_says_so():
    vocab = counted_vocab({f"o{i}": 1 for i in range(3000)})
    matrix, report = align(vocab, random_vectors(["zzz"], dim=16))
    body = matrix[1:].double()  # unk is initialised like the rest
    assert report.rules[1] == "init"
    assert abs(body.mean().item()) < 0.01
    assert body.std().item() == pytest.approx(0.25, rel=0.03)  # 1/sqrt(16)
    assert any("no word matched" in n for n in report.notes)
    assert report.type_coverage == 0.0 and report.token_coverage == 0.0


def test_vectors_beyond_float32_are_an_error_not_inf():
    big = np.array([[1.0, 2.0], [1e39, -3.0]])  # float64: fine until the float32 cast
    # before: a RuntimeWarning and a row of inf that align spread into <unk> and every OOV row
    with pytest.raises(FormatError, match=r"vector of 'b' holds 1e\+39, beyond float32's range"):
        Vectors(["a", "b"], big)
    half = np.array([[1.5, -2.0], [65504.0, 0.0]], np.float16)
    assert Vectors(["a", "b"], half).matrix.tolist() == [[1.5, -2.0], [65504.0, 0.0]]
    nan = Vectors(["a", "b"], np.array([[np.nan, 1.0], [np.inf, 0.0]]))  # kept: not an overflow
    assert np.isnan(nan.matrix[0, 0]) and np.isinf(nan.matrix[1, 0])


def test_nonfinite_matched_rows_stay_out_of_the_statistics():
    # what load(..., allow_nonfinite=True) hands over: one NaN row among finite ones
    words = [f"w{i}" for i in range(8)]
    vectors = random_vectors(words, dim=4, seed=7)
    vectors.matrix[3, 1] = np.nan
    vocab = counted_vocab({w: 2 for w in words} | {"oov1": 1, "oov2": 1})
    matrix, report = align(vocab, vectors)
    finite = np.delete(vectors.matrix, 3, axis=0)
    # before: <unk> and every drawn row were NaN
    assert np.allclose(matrix[vocab.unk_index].numpy(), finite.mean(axis=0), atol=1e-6)
    assert torch.isfinite(matrix[[vocab["oov1"], vocab["oov2"]]]).all()
    assert torch.isnan(matrix[vocab["w3"], 1])  # the row itself is kept as loaded
    assert any("1 matched rows hold NaN/Inf" in n for n in report.notes)
    # PCA is fitted on the finite rows (it failed with numpy's LinAlgError) and applied to all
    reduced, report = align(vocab, vectors, dim=2)
    rows = [vocab[w] for w in words if w != "w3"]
    assert torch.isfinite(reduced[rows]).all() and any("fitted on 7" in n for n in report.notes)
    vectors.matrix[:] = np.inf
    matrix, report = align(vocab, vectors)
    assert torch.isfinite(matrix[vocab["oov1"]]).all()
    assert any("no matched row is finite" in n for n in report.notes)


def test_pca_shape_and_fitted_on_matched_rows():
    from sklearn import decomposition as sk  # a core dependency: never skip
    words = [f"w{i}" for i in range(60)]
    vectors = random_vectors(words, dim=10, seed=5)
    vocab = counted_vocab({w: 1 for w in words[:40]} | {"oov": 1})
    matrix, report = align(vocab, vectors, dim=4)
    assert matrix.shape == (len(vocab), 4) and report.dim == 4 and report.source_dim == 10
    assert any("PCA 10 -> 4" in n for n in report.notes)
    matched = [i for i, r in enumerate(report.rules) if r == "exact"]
    expected = sk.PCA(4).fit_transform(vectors.matrix[:40].astype(np.float64))
    got = matrix[matched].double().numpy()
    # components are defined up to sign
    signs = np.sign((got * expected).sum(0))
    np.testing.assert_allclose(got, expected * signs, atol=1e-4)
    # rows the vocabulary does not use play no part in the fit
    wild = Vectors([*words, "far"], np.vstack([vectors.matrix, np.full((1, 10), 1e4, np.float32)]))
    matrix2, _ = align(vocab, wild, dim=4)
    assert torch.equal(matrix, matrix2)


def test_dimension_errors():
    vocab = counted_vocab({"a": 1, "b": 1})
    vectors = random_vectors(["a", "b"], dim=4)
    with pytest.raises(AlignmentError, match="cannot grow vectors from 4 to 8"):
        align(vocab, vectors, dim=8)
    with pytest.raises(AlignmentError, match="needs at least 3 matched words, found 2"):
        align(vocab, vectors, dim=3)
    matrix, _ = align(vocab, vectors, dim=4)
    assert matrix.shape == (4, 4)


def test_wrong_kinds_of_input_are_named():
    vocab = counted_vocab({"a": 1, "b": 1})
    vectors = random_vectors(["a", "b"], dim=4)
    # a list of words or gensim-like objects failed with AttributeError: 'list' ... 'specials'
    with pytest.raises(VocabError, match="vocab must be a vecgraft Vocab, got list"):
        align(["a", "b"], vectors)  # type: ignore[arg-type]
    with pytest.raises(AlignmentError, match="vectors must be vecgraft Vectors, got dict"):
        align(vocab, {"a": np.ones(4)})  # type: ignore[arg-type]
    # an empty vocabulary gave a 0-row matrix; zero-width vectors a 0-column one
    with pytest.raises(VocabError, match="the vocabulary is empty"):
        align(Vocab([], specials=(), pad_token=None, unk_token=None), vectors)
    with pytest.raises(AlignmentError, match="vectors have dimension 0"):
        align(vocab, Vectors(["a"], np.zeros((1, 0), np.float32)))
    # an integer dtype silently truncated every vector
    with pytest.raises(ConfigError, match=r"floating-point torch dtype, got torch\.int64"):
        align(vocab, vectors, dtype=torch.int64)
    # as did Vectors.to_torch's
    with pytest.raises(ConfigError, match=r"to_torch: dtype must be a floating-point torch "
                       r"dtype .*, got torch\.int32"):  # fmt: skip
        vectors.to_torch(dtype=torch.int32)
    assert vectors.to_torch(dtype=torch.float64).dtype == torch.float64


def test_narrow_dtype_overflow_is_an_error_not_inf():
    vocab = counted_vocab({"a": 2, "big": 1})
    vectors = Vectors(["a", "big"], np.array([[1, 2], [7e4, -1]], np.float32))
    with pytest.raises(AlignmentError, match=r"'big' holds 7e\+04, beyond the largest float16"):
        align(vocab, vectors, dtype=torch.float16)  # was a row of inf
    matrix, report = align(vocab, vectors, dtype=torch.bfloat16)  # bfloat16 has the range
    assert torch.isfinite(matrix).all() and report.options["dtype"] == "bfloat16"


def test_narrow_dtype_overflow_names_the_matched_word_not_the_unk_row_derived_from_it():
    # the error named '<unk>' (the mean of the matched rows, first in row order), which no
    # edit of the vectors file could fix; 'A' took the row of 'a' (case-folded)
    vocab = Vocab.from_counts({"A": 2, "c": 1})
    vectors = Vectors(["a"], np.array([[1e6, 1]], np.float32), source="v.txt")
    with pytest.raises(AlignmentError) as caught:
        align(vocab, vectors, dtype=torch.float16)
    said = str(caught.value)
    assert said.startswith("the vector of 'A' (matched to 'a' in v.txt) holds 1e+06, beyond "
                           "the largest float16"), said  # fmt: skip
    assert "the rows '<unk>', 'c', derived from the matched vectors, follow from them" in said


def test_narrow_dtype_overflow_after_pca_says_the_value_is_the_projections():
    # the projected value was said to be what "the vector of 'b'" holds: no such value is
    # in the file, so the user searched it for nothing
    vocab = Vocab.from_counts({"a": 3, "b": 2, "c": 1})
    rows = np.array([[1e5, 1, 0], [-1e5, 0, 1], [0, 2, 2]], np.float32)
    vectors = Vectors(["a", "b", "c"], rows)
    with pytest.raises(AlignmentError, match=r"^the vector of '.' holds [0-9.e+]+ after PCA to 2 "
                                             r"dimensions, beyond the largest float16"):
        align(vocab, vectors, dim=2, dtype=torch.float16)
    with pytest.raises(AlignmentError) as caught:  # no PCA: the file's value, said as such
        align(vocab, vectors, dtype=torch.float16)
    assert "PCA" not in str(caught.value)


def test_dtype_and_report_round_trip(tmp_path, mixed):
    vocab, vectors = mixed
    matrix, report = align(vocab, vectors, dtype=torch.float64)
    assert matrix.dtype == torch.float64
    path = tmp_path / "sub" / "report.json"
    report.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data == json.loads(json.dumps(report.to_dict()))
    assert AlignmentReport.from_dict(data) == report
    assert [p.name for p in path.parent.iterdir()] == ["report.json"]  # no temp file left
    assert str(report) == report.format_table()


def test_vocab_filtered_load_keeps_what_align_needs(tmp_path):
    import vecgraft

    path = tmp_path / "v.txt"
    path.write_text(
        "the 1 0\nParis 0 1\nparis 2 2\nBerlin 3 3\nunused 9 9\nfoo 4 4\n", encoding="utf-8"
    )
    vocab = counted_vocab({"the": 5, "paris": 3, "berlin": 2, "nope": 1})
    full_matrix, full_report = align(vocab, vecgraft.load(path, cache=False))
    filtered = vecgraft.load(path, vocab=vocab.tokens, cache=False)
    assert "unused" not in filtered and "Berlin" in filtered
    matrix, report = align(vocab, filtered)
    assert report.rules == full_report.rules == ["pad", "unk", "exact", "exact", "casefold", "init"]
    assert torch.equal(matrix, full_matrix)
    assert matrix[3].tolist() == [2.0, 2.0] and matrix[4].tolist() == [3.0, 3.0]


def test_docstring_examples_run():
    import doctest

    import vecgraft._util.wordkey
    import vecgraft.align

    for module, examples in ((vecgraft.align, 4), (vecgraft._util.wordkey, 1)):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted >= examples


def test_seeds_are_integers_checked_up_front():
    import numpy as np

    from vecgraft import align
    from vecgraft.errors import ConfigError
    from vecgraft.text import Vocab
    from vecgraft.vectors import Vectors

    vocab = Vocab.from_counts({"a": 2, "zz": 1})
    vectors = Vectors(["a", "b"], np.ones((2, 2), dtype=np.float32))
    first, _ = align(vocab, vectors, seed=np.int64(3))  # a numpy integer is an integer
    np.testing.assert_array_equal(first, align(vocab, vectors, seed=3)[0])
    for bad in (None, 1.5, True, 2**70):
        with pytest.raises(ConfigError, match="seed must"):
            align(vocab, vectors, seed=bad)
    only_matched = Vocab(["a"], specials=(), pad_token=None, unk_token=None)
    with pytest.raises(ConfigError, match="seed must be an integer"):
        align(only_matched, vectors, seed=None)  # even when nothing is drawn
    with pytest.raises(ConfigError, match="missing_top must be >= 0"):
        align(vocab, vectors, missing_top=-1)


def test_strategy_names_in_another_case_are_accepted_and_recorded_canonically():
    # parse_enum accepts "MEAN" for "mean"; the report's options re-parsed the raw argument
    # with UnkStrategy("MEAN") and raised a bare ValueError after the matrix was built.
    vocab = Vocab.from_counts({"a": 2, "zz": 1})
    vectors = Vectors(["a", "b"], np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32))
    for unk, expected in (("MEAN", [1.0, 2.0]), ("Zeros", [0.0, 0.0])):
        matrix, report = align(vocab, vectors, unk=unk, init="NORMAL")
        assert report.options["unk"] == unk.lower() and report.options["init"] == "normal"
        assert report.rules[1] == "unk" and matrix[1].tolist() == expected
    _, report = align(vocab, vectors, unk="INIT")
    assert report.options["unk"] == "init" and report.rules[1] == "init"


def test_repeated_vector_words_are_named_with_their_rows():
    from vecgraft.errors import VecgraftError

    words = ["a", "b", "c", "b", "a"]
    message = r"v.txt: words must be unique, but 'b' is at rows 1 and 3 \(2 repeated rows"
    # refused where they are built: Vectors(["a", "a"], m) was accepted, and failed only
    # at the first lookup (align, `in`), far from the line that made it
    with pytest.raises(VecgraftError, match=message):
        Vectors(words, np.zeros((5, 2), np.float32), source="v.txt")
    vectors = Vectors(["a", "b", "c", "d", "e"], np.zeros((5, 2), np.float32), source="v.txt")
    vectors.words = words  # a word list assigned later is checked at the first lookup
    vocab = Vocab.from_counts({"a": 1})
    with pytest.raises(VecgraftError, match=message):
        align(vocab, vectors)
    with pytest.raises(VecgraftError, match=message):  # the index is not left half-built
        _ = "a" in vectors


def test_align_refuses_the_meta_device_with_the_true_reason() -> None:
    """'meta' is in every torch build; the error said this build or machine had no meta backend."""
    vectors = Vectors(["a", "b"], np.eye(2, dtype=np.float32))
    with pytest.raises(ConfigError, match="holds tensor shapes, not values") as caught:
        align(Vocab.from_counts({"a": 1, "b": 1}), vectors, device="meta")
    assert "backend" not in str(caught.value)


@pytest.mark.parametrize("order", [["subword"], ["subword", "exact"], ["exact", "subword"]])
def test_subword_rule_gives_fasttext_words_gensims_vectors(order):
    # a word of the fastText table is the mean of its own row and its n-grams, as in gensim;
    # the subword rule used to give it the n-gram mean alone ('the' off by 0.24)
    gensim = pytest.importorskip("gensim")
    from gensim.test.utils import datapath

    import vecgraft

    path = datapath("lee_fasttext_new.bin")
    ft = vecgraft.load(path, cache=False)
    kv = gensim.models.fasttext.load_facebook_vectors(path)
    words = ["the", "Government", "governments", "zzqxj"]
    assert [w in kv.key_to_index for w in words] == [True, True, False, False]
    matrix, report = align(Vocab(["<pad>", "<unk>", *words]), ft, order=order)
    assert report.rules[2:] == (["exact", "exact"] if order[0] == "exact" else ["subword"] * 2) + [
        "subword"
    ] * 2
    for i, word in enumerate(words, start=2):
        assert np.array_equal(matrix[i].numpy(), kv[word]), word


@pytest.mark.parametrize(
    ("init", "draw", "pinned"),
    [
        ("normal", "randn", [[1.3032760620117188, -0.956291675567627, 2.266934394836426],
                             [-0.11371803283691406, -0.9884544014930725, -2.1047773361206055]]),
        ("uniform", "rand", [[-1.217281460762024, -1.341586947441101, -0.22559022903442383],
                             [-1.1386765241622925, -1.0245826244354248, -2.5714054107666016]]),
    ],
)  # fmt: skip
def test_drawn_rows_are_scaled_in_place_with_the_same_bits(init, draw, pinned, monkeypatch):
    # `mean + torch.randn(n, dim) * std` held three [n, dim] tensors at once: most of
    # `vecgraft build`'s peak memory when most words are unmatched. In place, same bits.
    import math

    from vecgraft._align_fill import _init_rows
    from vecgraft.align import InitStrategy

    mean, std = torch.tensor([0.5, -1.0, 2.0]), torch.tensor([1.0, 0.25, 3.0])
    strategy = InitStrategy(init)
    rows = _init_rows(strategy, 2, 3, mean, std, torch.Generator().manual_seed(3))
    assert torch.equal(rows, torch.tensor(pinned))
    for seed, (n, dim) in [(0, (1, 1)), (7, (17, 300)), (12345, (4097, 33))]:
        g = torch.Generator().manual_seed(seed + 1)
        mean, std = torch.randn(dim, generator=g), torch.rand(dim, generator=g) * 3
        g = torch.Generator().manual_seed(seed)
        if init == "normal":
            old = mean + torch.randn(n, dim, generator=g) * std
        else:
            old = mean + (2.0 * torch.rand(n, dim, generator=g) - 1.0) * (std * math.sqrt(3.0))
        new = _init_rows(strategy, n, dim, mean, std, torch.Generator().manual_seed(seed))
        assert torch.equal(new, old)
    drawn = []
    real = getattr(torch, draw)
    monkeypatch.setattr(torch, draw, lambda *a, **k: drawn.append(real(*a, **k)) or drawn[-1])
    rows = _init_rows(strategy, 4, 3, mean[:3], std[:3], torch.Generator().manual_seed(0))
    assert rows.data_ptr() == drawn[0].data_ptr()  # the drawn tensor itself, no copies


def _old_matched_stats(full, rows):
    """The statistics as computed before: numpy's mean and std of the gathered rows."""
    used = full[rows]
    mean = used.mean(axis=0, dtype=np.float64).astype(np.float32)
    return mean, used.std(axis=0, dtype=np.float64).astype(np.float32)


@pytest.mark.parametrize(
    ("n", "dim", "step_bytes"),
    [(1, 5, None), (9, 3, 8 * 3 * 2), (17, 1, 8), (1000, 1, 8 * 7), (4097, 50, 8 * 50 * 3),
     (3001, 300, 8 * 300 * 64), (5000, 2, None), (0, 4, None), (10, 0, None)],
)  # fmt: skip
def test_matched_stats_keep_numpys_bits_in_bounded_steps(n, dim, step_bytes, monkeypatch):
    # numpy's std of the gathered rows held them (1x) and their float64 deviations (2x):
    # `align` with every word matched peaked near 6x its matrix. Steps, the same bits.
    from vecgraft import _align_fill
    from vecgraft.align import UnkStrategy

    if step_bytes is not None:  # several steps, some of a row or two
        monkeypatch.setattr(_align_fill, "_STATS_BYTES", step_bytes, raising=False)
    rng = np.random.default_rng(n + dim)
    full = (rng.standard_normal((n + 6, dim)) * 40 + 3).astype(np.float32)
    rows = np.sort(rng.choice(n + 6, n, replace=False))
    notes: list[str] = []
    mean, std, _, _ = _align_fill._matched_stats(full, rows, UnkStrategy.MEAN, True, notes)
    if n and dim:
        old_mean, old_std = _old_matched_stats(full, rows)
        assert np.array_equal(mean.numpy().view(np.int32), old_mean.view(np.int32))
        assert np.array_equal(std.numpy().view(np.int32), old_std.view(np.int32))
    assert mean.shape == std.shape == (dim,)


def test_matched_stats_peak_below_the_matched_rows(monkeypatch):
    import tracemalloc

    from vecgraft import _align_fill
    from vecgraft.align import UnkStrategy

    monkeypatch.setattr(_align_fill, "_STATS_BYTES", 1 << 20, raising=False)
    full = np.random.default_rng(0).standard_normal((80_000, 64), dtype=np.float32)
    rows = np.arange(len(full))
    tracing = tracemalloc.is_tracing()  # PYTHONTRACEMALLOC / -X tracemalloc: already on
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        _align_fill._matched_stats(full, rows, UnkStrategy.MEAN, True, [])
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        if not tracing:
            tracemalloc.stop()
    assert peak < full.nbytes / 3  # was 3x: the gathered rows and float64 deviations


def test_vector_words_stored_decomposed_are_compared_in_nfc():
    # "café" stored as e + U+0301 was matched only by the lossy normalized rule: cafe's row
    nfd = "cafe\u0301"
    vectors = Vectors(["cafe", nfd], np.array([[1, 0], [0, 1]], dtype=np.float32))
    matrix, report = align(Vocab(["<pad>", "<unk>", "café", "CAFÉ"]), vectors)
    assert report.rules[2:] == ["exact", "casefold"]
    assert matrix[2:].tolist() == [[0.0, 1.0], [0.0, 1.0]]
    assert report.notes == [
        "exact: 1 word(s) matched a row stored in another Unicode form "
        "(compared in NFC, e.g. 'e' + U+0301 as 'é')"
    ]
    twin = Vectors([nfd, "café"], np.array([[0, 1], [2, 2]], dtype=np.float32))
    matrix, report = align(Vocab(["<pad>", "<unk>", "café", "Café"]), twin)
    assert matrix[2:].tolist() == [[2.0, 2.0], [2.0, 2.0]] and not report.notes


def test_casefold_compares_a_decomposed_word_in_nfc():
    # "cafe" + U+0301 against the row "Café": the lowercase form missed and the folded one
    # was looked up decomposed, so only the composed "café" matched
    vectors = Vectors(["Café", "x"], np.array([[1, 2], [3, 4]], dtype=np.float32))
    vocab = Vocab(["<pad>", "<unk>", "cafe\u0301", "café"])
    matrix, report = align(vocab, vectors, order=["casefold"])
    assert report.rules[2:] == ["casefold", "casefold"]
    assert matrix[2:].tolist() == [[1.0, 2.0], [1.0, 2.0]]


def test_report_repr_is_short_and_str_is_the_table(mixed):
    vocab, vectors = mixed
    _, report = align(vocab, vectors)
    text = repr(report)
    assert len(text) < 200
    assert text.startswith(f"AlignmentReport({len(vocab)} rows, exact=250, casefold=50, ")
    assert f"type_coverage={report.type_coverage:.2%}" in text
    assert str(report) == report.format_table()


def test_an_empty_reports_repr_has_no_empty_item():
    # "AlignmentReport(0 rows, , type_coverage=0.00%, token_coverage=n/a)"
    from vecgraft.align import AlignmentReport

    report = AlignmentReport(rules=[], counts={"exact": 0}, type_coverage=0.0,
                             token_coverage=None, missing=[], types=0, types_matched=0,
                             tokens=0, tokens_matched=0, dim=2, source_dim=2)  # fmt: skip
    assert repr(report) == "AlignmentReport(0 rows, type_coverage=0.00%, token_coverage=n/a)"


@pytest.mark.parametrize("init", ["normal", "uniform"])
def test_draws_past_float32_are_clipped_with_a_note(init):
    # randn * std with std 3e38 overflowed float32: rows of Inf, and no note said so
    m = np.array([[3e38, -3e38], [-3e38, 3e38]], np.float32)
    vocab = Vocab.from_counts({w: 1 for w in ["a", "b", "x", "y", "w"]})
    matrix, report = align(vocab, Vectors(["a", "b"], m), init=init, seed=0)
    assert torch.isfinite(matrix).all()
    assert any("beyond float32's range" in n and "clipped to" in n for n in report.notes)
    ordinary, plain = align(vocab, Vectors(["a", "b"], m / 1e30), init=init, seed=0)
    assert not any("float32" in n for n in plain.notes)
    # the same draws, scaled in float64: where nothing was clipped the rows agree
    drawn = [vocab[w] for w in ["x", "y", "w"]]
    inside = matrix[drawn].abs() < torch.finfo(torch.float32).max
    want = ordinary[drawn].double() * 1e30
    assert torch.allclose(matrix[drawn].double()[inside], want[inside], rtol=1e-5)


def test_a_float32_overflow_only_in_randn_times_std_makes_no_clipped_note(monkeypatch):
    # randn * std overflowed float32, mean + randn * std did not: the float64 redo clipped
    # nothing, and the note still said "0 drawn value(s) fell beyond float32's range"
    from vecgraft import _align_fill

    redone = []
    wide = _align_fill._wide_rows
    monkeypatch.setattr(_align_fill, "_wide_rows",
                        lambda *a, **k: redone.append(1) or wide(*a, **k))  # fmt: skip
    m = np.array([[3e38], [3e38], [-1e38]], np.float32)
    vocab = Vocab.from_counts({w: 1 for w in ["a", "b", "c", "x"]})
    matrix, report = align(vocab, Vectors(["a", "b", "c"], m), init="normal", seed=6)
    assert redone  # seed 6's draw overflows float32 in randn * std: the float64 path ran
    drawn = matrix[vocab["x"]]
    assert torch.isfinite(drawn).all() and float(drawn.abs().max()) > 1e38
    assert not any("float32" in n for n in report.notes)


def test_one_matched_word_says_every_drawn_row_is_its_copy():
    # std 0: every missing word got an exact copy of the one matched vector, without a note
    vocab = Vocab.from_counts({w: 1 for w in ["a", "x", "y"]})
    matrix, report = align(vocab, Vectors(["a", "b"], np.array([[1, 2], [3, 4]], np.float32)))
    assert torch.equal(matrix[vocab["x"]], matrix[vocab["a"]])
    assert (
        "one word matched: the matched rows' std is 0, so every normal-initialised row is a "
        "copy of its vector; use zeros for them (init='zeros'; build --oov zeros), or more "
        "matched words (the rows only diverge in training)"
    ) in report.notes
    same = Vectors(["a", "x"], np.array([[1, 2], [1, 2]], np.float32))
    _, equal = align(Vocab.from_counts({w: 1 for w in ["a", "x", "y"]}), same, init="uniform")
    assert any(
        n.startswith("the matched rows are all equal: the matched rows' std is 0, so every "
                     "uniform-initialised row is a copy of their mean; use zeros for them "
                     "(init='zeros'; build --oov zeros)")
        for n in equal.notes
    )  # fmt: skip
    _, zeros = align(vocab, Vectors(["a"], np.array([[1, 2]], np.float32)), init="zeros")
    assert not any("std is 0" in n for n in zeros.notes)  # nothing is drawn there
