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
