import numpy as np
import pytest

from pretrain_helpers import brute_cooccurrence
from vecgraft.errors import ConfigError
from vecgraft.pretrain.cooccur import CooccurrenceCounter, count_cooccurrences

TEXT = """the quick brown fox jumps over the lazy dog
the dog barks
a fox and a dog and a cat
cat
over the hill the fox runs and the dog runs and the cat sleeps"""


def _docs() -> tuple[list[list[int]], int]:
    words: dict[str, int] = {}
    docs = [[words.setdefault(w, len(words)) for w in line.split()] for line in TEXT.splitlines()]
    return docs, len(words)


@pytest.mark.parametrize("window", [1, 2, 5, 10])
def test_counts_equal_brute_force_exactly(window):
    docs, v = _docs()
    result = count_cooccurrences([np.array(d) for d in docs], v, window)
    assert np.array_equal(result.to_dense(), brute_cooccurrence(docs, v, window))
    assert result.tokens == sum(map(len, docs))
    # sorted by (row, col), as the merge promises
    keys = result.rows.astype(np.int64) * v + result.cols
    assert np.all(np.diff(keys) > 0)


def test_spilling_and_merging_give_the_same_counts():
    rng = np.random.default_rng(0)
    docs = [rng.integers(0, 40, size=rng.integers(0, 30)).tolist() for _ in range(150)]
    expected = brute_cooccurrence(docs, 40, 4)
    counter = CooccurrenceCounter(40, 4, max_memory=2000, dense_size=6, batch_tokens=40)
    counter.add_many(np.array(d, dtype=np.int64) for d in docs)
    counter._count_pending()
    assert counter.spilled_shards > 3  # the bound really forced shards to disk
    result = counter.result()
    assert np.array_equal(result.to_dense(), expected)


def test_a_last_dense_block_that_spills_still_merges():
    """`pretrain --method glove --max-memory-mb 1` on a 200k-token corpus ended in
    "ValueError: need at least one array to concatenate": the frequent words' dense block,
    added at the end, spilled and left no in-memory run to merge."""
    rng = np.random.default_rng(1)
    docs = [rng.integers(0, 6, size=12).tolist() for _ in range(20)]
    counter = CooccurrenceCounter(6, 3, max_memory=600)  # the 6 x 6 block alone spills
    counter.add_many(np.array(d, dtype=np.int64) for d in docs)
    result = counter.result()
    assert np.array_equal(result.to_dense(), brute_cooccurrence(docs, 6, 3))
    assert counter.spilled_shards == 1  # metadata.json's count, which said 0


def test_windows_do_not_cross_documents():
    result = count_cooccurrences([np.array([0, 1]), np.array([2])], 3, 5)
    dense = result.to_dense()
    assert dense[0, 1] == dense[1, 0] == 1.0
    assert dense[1, 2] == 0.0 and dense[2].sum() == 0.0


def test_large_window_uses_float_weights_close_to_exact():
    docs, v = _docs()
    result = count_cooccurrences([np.array(d) for d in docs], v, 25)
    np.testing.assert_allclose(result.to_dense(), brute_cooccurrence(docs, v, 25), rtol=1e-12)


def test_invalid_options_are_config_errors():
    with pytest.raises(ConfigError, match="window"):
        CooccurrenceCounter(5, 0)
    with pytest.raises(ConfigError, match="max_memory"):
        CooccurrenceCounter(5, 2, max_memory=0)


def test_a_plain_text_line_over_1_mib_is_counted_as_pieces_as_the_readme_says(tmp_path):
    # windows stop at each 1 MiB cut: the README says a cut loses window*(window+1)/2 pairs,
    # 2*window of co-occurrence weight; it had said GloVe gets "whole documents"
    from pathlib import Path

    from vecgraft.pretrain import api
    from vecgraft.pretrain.config import PretrainConfig
    from vecgraft.pretrain.corpus import make_tokenizer

    readme = " ".join((Path(__file__).parents[1] / "README.md").read_text("utf-8").split())
    assert (
        "a plain-text line over 1 MiB is as many documents as it has pieces: GloVe's windows "
        "stop at each cut, which loses the window × (window + 1) / 2 pairs that span it, a "
        "co-occurrence weight of 2 × window"
    ) in readme
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(20)]
    tokens = [words[k] for k in rng.integers(0, 20, size=400_000)]
    path = tmp_path / "c.txt"
    path.write_text(" ".join(tokens) + "\n", encoding="utf-8")
    window = 5
    config = PretrainConfig("glove", [str(path)], str(tmp_path / "out"), window=window,
                            min_count=1, workers=1, progress=False)  # fmt: skip
    config.tokenizer = make_tokenizer(config.tokenizer)
    corpus = api._corpus(config, None)
    vocab = api._glove_vocab(config, corpus)
    counted = api._count_cooccurrences(config, corpus, vocab, {})
    documents = corpus.stats.documents
    assert path.stat().st_size > 2**20 and documents == 2  # one line, two pieces
    whole = count_cooccurrences([np.array([vocab.stoi[t] for t in tokens])], len(vocab), window)
    cuts = documents - 1
    assert whole.values.sum() - counted.values.sum() == pytest.approx(2 * window * cuts)
    assert whole.nnz >= counted.nnz


def test_the_docstring_says_where_counts_stop_being_exact():
    # it said counts never depend on batching or order; from window 19 they are 1/d floats
    import math

    from vecgraft.pretrain import cooccur

    assert cooccur._weight_scale(18) == math.lcm(*range(1, 19)) <= 2**24
    assert cooccur._weight_scale(19) == 1.0 and math.lcm(*range(1, 20)) > 2**24
    doc = " ".join((cooccur.__doc__ or "").split())
    assert "Up to window 18, weights are stored as integers" in doc
    assert "From window 19, lcm(1..window) exceeds 2**24 and the weights are plain `1/d`" in doc
    docs = [np.random.default_rng(0).integers(0, 30, size=300) for _ in range(50)]
    exact = count_cooccurrences(docs, 30, 18)
    split = count_cooccurrences(docs, 30, 18, batch_tokens=97, max_memory=3000, dense_size=4)
    assert np.array_equal(exact.values, split.values)
