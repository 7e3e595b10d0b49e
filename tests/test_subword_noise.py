"""fastText `subword` rows built from n-grams no trained word has: counted, said, kept.

With fastText vectors every word gets a vector, and the coverage read 100 % where most rows
came from hash buckets no training updated (a Chinese finetune: 58.5 % of its rows). The
alignment report now counts such rows, separates the vectors' own words from subwords, and
warns past a third of the vocabulary; the rows keep fastText's (and gensim's) vector.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

import vecgraft
from conftest_align import FakeSubword, counted_vocab, random_vectors
from finetune_helpers import make_dataset
from io_helpers import fasttext_bin_bytes
from vecgraft.align import AlignmentReport, align
from vecgraft.io.subwords import FastTextSubwords, ngram_hash_set
from vecgraft.vectors import Vectors

MODEL_WORDS = ["abc", "hello", "中国人"]
# word -> whether one of its n-grams (3 characters, fastText's < > around the word) is in a
# model word: "abd" shares "<ab" with "abc", "ell" is in "hello", "中国" shares "<中国"
QUERIES = {"abd": True, "bcd": False, "ell": True, "xyz": False, "中国": True, "国": False}


def ngrams(word: str, minn: int = 3, maxn: int = 3) -> set[str]:
    """fastText's character n-grams of `word`, as strings (a lone < or > excluded)."""
    w = f"<{word}>"
    return {
        w[i : i + n]
        for n in range(minn, maxn + 1)
        for i in range(len(w) - n + 1)
        if not (n == 1 and (i == 0 or i + n == len(w)))
    }


def fnv1a(text: str) -> int:
    """32-bit FNV-1a over the UTF-8 bytes read as signed chars, as fastText hashes."""
    h = 2166136261
    for b in text.encode("utf-8"):
        h = ((h ^ ((b - 256 if b > 127 else b) & 0xFFFFFFFF)) * 16777619) & 0xFFFFFFFF
    return h


def untrained_by_strings(words: list[str], model_words: list[str]) -> list[str]:
    """The words none of whose n-gram strings a model word has: the brute-force reference."""
    trained = set().union(*(ngrams(w) for w in model_words))
    return [w for w in words if w not in model_words and not ngrams(w) & trained]


@pytest.fixture()
def ft_bin(tmp_path: Path) -> Path:
    inp = np.random.default_rng(0).standard_normal((len(MODEL_WORDS) + 97, 4))
    path = tmp_path / "m.bin"
    path.write_bytes(fasttext_bin_bytes(MODEL_WORDS, inp.astype(np.float32), dim=4, bucket=97,
                                        minn=3, maxn=3))  # fmt: skip
    return path


def query_vocab():
    counts = {"abc": 8, **dict(zip(QUERIES, [6, 5, 4, 3, 2, 1]))}
    return counted_vocab(counts)


def test_the_hash_set_is_the_fnv_hash_of_every_ngram_string() -> None:
    hashes = ngram_hash_set(MODEL_WORDS, 3, 3)
    expected = {fnv1a(g) for w in MODEL_WORDS for g in ngrams(w)}
    assert hashes.dtype == np.uint32 and list(hashes) == sorted(expected)
    assert len(expected) == 11  # 3 + 5 + 3 n-grams, none shared


def test_a_word_is_untrained_when_no_ngram_string_is_a_model_words() -> None:
    sw = FastTextSubwords(np.ones((97, 2), np.float32), minn=3, maxn=3, trained_words=MODEL_WORDS)
    words = list(QUERIES)
    mask = sw.untrained(words, sw.trained_ngrams())
    assert [not m for m in mask] == list(QUERIES.values())
    assert [w for w, m in zip(words, mask) if m] == untrained_by_strings(words, MODEL_WORDS)
    assert sw.trained_words is None  # only the hashes are kept once built


def test_align_counts_subword_rows_from_untrained_ngrams(ft_bin: Path) -> None:
    vectors = vecgraft.load(ft_bin, cache=False)
    vocab = query_vocab()
    matrix, report = align(vocab, vectors)
    assert report.rules == ["pad", "unk", "exact", *["subword"] * 6]
    untrained = ["bcd", "xyz", "国"]
    assert [vocab.tokens[i] for i in report.subword_untrained_rows] == untrained
    assert (report.types_subword, report.types_subword_untrained) == (6, 3)
    assert (report.tokens_subword, report.tokens_subword_untrained) == (21, 5 + 3 + 1)
    assert report.type_coverage == 1.0 and report.token_coverage == 1.0  # as documented
    assert report.type_coverage_words == 1 / 7
    assert report.token_coverage_words == 8 / 29
    # the rows keep fastText's vector for the word, as gensim gives it
    for i in range(3, 9):
        assert np.array_equal(matrix[i].numpy(), vectors.subword.word_vector(vocab.tokens[i]))
    table = report.format_table()
    assert "  by words       14.29%  (1 words: exact, casefold, normalized)\n" in table
    assert ("  by subwords    85.71%  (6 words; 3 = 42.86% from n-grams no trained word has: "
            "noise)\n") in table  # fmt: skip
    assert "  by subwords    72.41%  (21 tokens; 9 = 31.03% from n-grams" in table
    (note,) = report.notes  # 3 of 7 words: past a third
    assert note.startswith("subword: 3 of 7 words (42.9%) got vectors from n-grams no word of "
                           "the fastText model has")  # fmt: skip
    assert note.endswith("; pretrain on a larger or in-domain corpus")  # not mostly Chinese
    assert "types_subword_untrained=3" in repr(report)


def test_the_report_round_trips_and_old_reports_load(ft_bin: Path, tmp_path: Path) -> None:
    _, report = align(query_vocab(), vecgraft.load(ft_bin, cache=False))
    report.save(tmp_path / "r.json")
    saved = json.loads((tmp_path / "r.json").read_text("utf-8"))
    # the coverage by words (derived, as the docs say report.json gives it): written, not read
    assert (saved["type_coverage_words"], saved["token_coverage_words"]) == (1 / 7, 8 / 29)
    back = AlignmentReport.from_dict(saved)
    assert back == report
    old = {k: v for k, v in report.to_dict().items() if "subword" not in k}
    older = AlignmentReport.from_dict(old)  # written before these fields: read as none
    assert (older.types_subword, older.types_subword_untrained) == (0, 0)
    assert "by subwords" not in older.format_table()


@pytest.mark.parametrize("cached", [False, True])
def test_a_vocab_load_judges_by_the_whole_dictionary(ft_bin: Path, tmp_path: Path, cached):
    # a `vocab=` load keeps only the rows the vocabulary asks for; "hello" and "中国人" are
    # not among them, yet they trained "ell" and "<中国"
    vocab = query_vocab()
    cache = {"cache_dir": tmp_path / "cache"} if cached else {"cache": False}
    for _ in range(2 if cached else 1):  # a cached load: the second is served by the entry
        vectors = vecgraft.load(ft_bin, vocab=vocab.tokens, **cache)
    assert vectors.words == ["abc"]
    _, report = align(vocab, vectors)
    assert [vocab.tokens[i] for i in report.subword_untrained_rows] == ["bcd", "xyz", "国"]


@pytest.mark.parametrize("cached", [False, True])
def test_repeated_loads_hash_the_dictionary_once(ft_bin, tmp_path, cached, monkeypatch):
    # every load made a new subword model that hashed the whole dictionary again (918k
    # words: align after a 0.1 s cache hit took 6.4 s); the set is kept per file state
    import vecgraft.io.fasttext_bin as ftb
    import vecgraft.io.subwords as sws

    calls: list[int] = []

    def counting(words, minn, maxn):
        calls.append(len(words))
        return ngram_hash_set(words, minn, maxn)

    monkeypatch.setattr(sws, "ngram_hash_set", counting)
    monkeypatch.setattr(ftb, "ngram_hash_set", counting, raising=False)
    monkeypatch.setattr(ftb, "_TRAINED_MEMO", {}, raising=False)
    vocab = query_vocab()
    cache = {"cache_dir": tmp_path / "cache"} if cached else {"cache": False}
    for options in ({}, {"vocab": vocab.tokens}, {"vocab": vocab.tokens}, {"limit": 2}):
        _, report = align(vocab, vecgraft.load(ft_bin, **options, **cache))
        assert [vocab.tokens[i] for i in report.subword_untrained_rows] == ["bcd", "xyz", "国"]
    assert calls == [3]
    ft_bin.write_bytes(ft_bin.read_bytes())  # a new file state: hashed again
    os.utime(ft_bin, ns=(1, 1))
    align(vocab, vecgraft.load(ft_bin, **cache))
    assert calls == [3, 3]


def test_the_noise_share_leaves_out_the_words_extend_vocab_added(ft_bin: Path) -> None:
    # the alignment note divided by every word type, extend_vocab's too, while finetune's
    # WARNING (text_subword_coverage) leaves those out: both now say 3 of the texts' 6
    from vecgraft.finetune.families import text_subword_coverage

    vocab = counted_vocab({w: n for w, n in zip(QUERIES, [6, 5, 4, 3, 2, 1])})
    vocab = vocab.extended(["abc", "hello"], extended_from_vectors=2)
    _, report = align(vocab, vecgraft.load(ft_bin, cache=False))
    assert (report.types, report.types_subword_untrained) == (8, 3)
    (note,) = report.notes
    assert note.startswith("subword: 3 of 6 words (50.0%) got vectors"), note
    assert text_subword_coverage(report, vocab)["type_subword_untrained_share"] == 3 / 6


@pytest.mark.parametrize("bound", [{"limit": 1}, {"vocab": ["abc"]}])
def test_a_native_file_of_part_of_a_model_does_not_judge_by_its_few_words(
    ft_bin: Path, tmp_path: Path, bound
) -> None:
    # a native file of a `limit=`/`vocab=` load holds "abc" alone: judged by it, "ell"
    # ("hello") and "中国" ("中国人") read as noise; the file cannot tell, so nothing is counted
    out = tmp_path / "part.safetensors"
    vecgraft.load(ft_bin, cache=False, **bound).save(out)
    vocab = query_vocab()
    _, report = align(vocab, vecgraft.load(out))
    assert report.types_subword == 6 and report.subword_untrained_rows == []
    assert any("not checked for untrained n-grams" in n and "part" in n for n in report.notes)
    whole = tmp_path / "whole.safetensors"  # the whole model: judged by its words, as before
    vecgraft.load(ft_bin, cache=False).save(whole)
    _, report = align(vocab, vecgraft.load(whole))
    assert [vocab.tokens[i] for i in report.subword_untrained_rows] == ["bcd", "xyz", "国"]


def test_hand_built_subwords_take_the_tables_words_for_the_models() -> None:
    sw = FastTextSubwords(np.ones((97, 4), np.float32), minn=3, maxn=3)
    vectors = Vectors(MODEL_WORDS, np.ones((3, 4), np.float32), subword=sw)
    vocab = query_vocab()
    _, report = align(vocab, vectors)
    assert [vocab.tokens[i] for i in report.subword_untrained_rows] == ["bcd", "xyz", "国"]


def test_a_subword_model_that_cannot_tell_is_said() -> None:
    vectors = random_vectors(["a"], dim=4, subword=FakeSubword(4))
    _, report = align(counted_vocab({"subtle": 2}), vectors)
    assert report.types_subword == 1 and report.types_subword_untrained == 0
    assert report.notes == ["subword: a FakeSubword cannot tell which n-grams were trained; its "
                            "1 rows are not checked for untrained n-grams"]  # fmt: skip


def test_chinese_noise_gets_the_word_char_advice() -> None:
    sw = FastTextSubwords(np.ones((97, 4), np.float32), minn=3, maxn=3)
    vectors = Vectors(["中国人"], np.ones((1, 4), np.float32), subword=sw)
    _, report = align(counted_vocab({"酒店": 3, "房间": 2, "中国": 1}), vectors)
    assert report.types_subword_untrained == 2
    assert report.notes[0].endswith("or with `--tokenizer jieba --zh-mode word+char`, whose "
                                    "characters are then words of the vectors")  # fmt: skip


def test_a_padding_row_made_of_an_untrained_word_leaves_the_counts(ft_bin: Path) -> None:
    from vecgraft.nn.embedding import pretrained_embedding

    vocab = query_vocab()
    row = vocab.stoi["xyz"]
    emb = pretrained_embedding(vocab, vecgraft.load(ft_bin, cache=False), padding_idx=row)
    report = emb.alignment_report
    assert (report.types_subword, report.types_subword_untrained) == (5, 2)
    assert (report.tokens_subword, report.tokens_subword_untrained) == (18, 6)
    assert row not in report.subword_untrained_rows


def test_gensim_fasttext_rows_match_the_ngram_strings_of_its_words(tmp_path: Path) -> None:
    gensim = pytest.importorskip("gensim")
    from gensim.models.fasttext import save_facebook_model
    from gensim.models.fasttext_inner import compute_ngrams

    sentences = [["the", "cat", "sat", "on", "the", "mat"], ["dogs", "chase", "cats"]] * 5
    model = gensim.models.FastText(sentences, vector_size=8, min_count=1, min_n=3, max_n=5,
                                   bucket=300, epochs=2, workers=1, seed=1)  # fmt: skip
    path = tmp_path / "g.bin"
    save_facebook_model(model, str(path))
    queries = ["cattle", "matter", "chased", "zebra", "ox", "dogma", "qq"]
    trained = set().union(*(compute_ngrams(w, 3, 5) for w in model.wv.index_to_key))
    expected = [w for w in queries if not set(compute_ngrams(w, 3, 5)) & trained]
    assert expected == ["zebra", "ox", "qq"]
    vocab = counted_vocab({w: 1 for w in queries})
    for kwargs in ({}, {"vocab": queries}):
        vectors = vecgraft.load(path, cache=False, **kwargs)
        matrix, report = align(vocab, vectors)
        assert [vocab.tokens[i] for i in report.subword_untrained_rows] == expected
        for word in queries:  # every row keeps gensim's vector, noise ones too
            got = matrix[vocab.stoi[word]]
            assert torch.allclose(got, torch.from_numpy(model.wv[word]), atol=1e-6), word


def test_a_pretrained_folder_judges_by_its_model_bin(tmp_path: Path) -> None:
    from vecgraft.pretrain.api import pretrain
    from vecgraft.pretrain.config import PretrainConfig

    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat sat on the mat\ndogs chase cats\n" * 10, encoding="utf-8")
    config = PretrainConfig(method="fasttext", corpus=[str(corpus)], out=str(tmp_path / "ft"),
                            dim=8, min_count=1, epochs=1, workers=1, min_n=3, max_n=3,
                            bucket=100, sample=0, progress=False)  # fmt: skip
    pretrain(config)
    queries = ["cattle", "matter", "zebra", "ox"]
    vocab = counted_vocab({w: 1 for w in queries})
    vectors = vecgraft.load(tmp_path / "ft", vocab=queries)  # no row of the folder kept
    assert len(vectors) == 0
    _, report = align(vocab, vectors)
    model_words = ["the", "cat", "sat", "on", "mat", "dogs", "chase", "cats"]
    assert [vocab.tokens[i] for i in report.subword_untrained_rows] == untrained_by_strings(
        queries, model_words
    ) == ["zebra", "ox"]


def test_finetune_logs_coverage_by_words_and_warns_of_subword_noise(tmp_path: Path) -> None:
    from vecgraft.finetune import FinetuneConfig, finetune

    task = make_dataset(tmp_path / "task", train_per_class=6, test_per_class=3)
    # a model of two words whose n-grams are in no word of the texts: every row is noise
    words = ["qzx", "xqz"]
    inp = np.random.default_rng(1).standard_normal((2 + 50, 4)).astype(np.float32)
    model = tmp_path / "noise.bin"
    model.write_bytes(fasttext_bin_bytes(words, inp, dim=4, bucket=50, minn=3, maxn=4))
    said: list[str] = []
    config = FinetuneConfig(train=str(task["train"]), test=str(task["test"]), model="boe",
                            vectors=str(model), epochs=1, plots=False, progress=False,
                            extend_vocab=0, out=str(tmp_path / "run"))  # fmt: skip
    finetune(config, log=said.append)
    (line,) = [s for s in said if s.startswith("Vectors: ")]
    assert line.endswith(
        "coverage 0.0% of the training texts' word types and 0.0% of their tokens by the "
        "vectors' words, 100.0% and 100.0% with fastText subwords (100.0% of the types; "
        "100.0% from n-grams no trained word has: noise)"
    ), line
    (warning,) = [s for s in said if "from n-grams that no word" in s]
    assert warning == (  # the file's name, not its path ("no word /tmp/…/noise.bin … has")
        "WARNING: 100.0% of the training texts' word types got vectors from n-grams that no "
        "word of noise.bin has: untrained or shared hash buckets, noise rather than meaning; "
        "pretrain on a larger or in-domain corpus"
    )
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text("utf-8"))
    assert metrics["coverage"] == {
        "type_coverage": 1.0, "token_coverage": 1.0, "type_coverage_words": 0.0,
        "token_coverage_words": 0.0, "type_subword_share": 1.0,
        "type_subword_untrained_share": 1.0, "token_subword_untrained_share": 1.0,
        "added_words": 0,
    }  # fmt: skip


def test_finetune_with_word_vectors_logs_coverage_as_before(tmp_path: Path) -> None:
    from vecgraft.finetune import FinetuneConfig, finetune

    task = make_dataset(tmp_path / "task", train_per_class=6, test_per_class=3)
    said: list[str] = []
    config = FinetuneConfig(train=str(task["train"]), test=str(task["test"]), model="boe",
                            vectors=str(task["vectors"]), epochs=1, plots=False,
                            progress=False, extend_vocab=0, out=str(tmp_path / "run"))  # fmt: skip
    finetune(config, log=said.append)
    (line,) = [s for s in said if s.startswith("Vectors: ")]
    assert line.endswith("coverage 100.0% of the training texts' word types, 100.0% of their "
                         "tokens"), line  # fmt: skip
    assert not [s for s in said if "n-grams" in s]


def test_compare_says_a_fasttext_sources_coverage_by_words_and_its_noise(
    ft_bin: Path, tmp_path: Path
) -> None:
    from vecgraft.evaluate._compare_config import SourceKind, SourceSpec
    from vecgraft.evaluate._compare_sources import _prepare_source
    from vecgraft.evaluate.report import _source_notes

    spec = SourceSpec("ft", SourceKind.VECTORS, path=str(ft_bin), spec=str(ft_bin))
    info = _prepare_source(spec, query_vocab(), [], tmp_path, intrinsic=False, device="cpu")
    cov = info["coverage"]
    assert cov["type_coverage"] == 1.0  # as before: every word got a row
    assert (cov["types_subword"], cov["types_subword_untrained"]) == (6, 3)
    assert (cov["type_coverage_words"], cov["token_coverage_words"]) == (1 / 7, 8 / 29)
    assert cov["tokens_subword_untrained"] == 9
    note = ("ft: coverage 14.3% of training types (27.6% of tokens) by the vectors' own words; "
            "85.7% of types from fastText subwords, 42.9% from n-grams no trained word has "
            "(noise)")  # fmt: skip
    assert note in _source_notes([{"name": "ft", **info}])


def test_compare_notes_nothing_for_a_source_without_subwords(tmp_path: Path) -> None:
    from vecgraft.evaluate._compare_config import SourceKind, SourceSpec
    from vecgraft.evaluate._compare_sources import _prepare_source
    from vecgraft.evaluate.report import _source_notes

    path = tmp_path / "v.txt"
    path.write_text("abc 1 0\nhello 0 1\n", encoding="utf-8")
    spec = SourceSpec("w", SourceKind.VECTORS, path=str(path), spec=str(path))
    info = _prepare_source(spec, query_vocab(), [], tmp_path, intrinsic=False, device="cpu")
    assert "types_subword" not in info["coverage"]
    assert not any("coverage" in n for n in _source_notes([{"name": "w", **info}]))
