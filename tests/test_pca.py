"""One PCA (`vecgraft.align.pca`) behind `align(dim=)` and `from_transformer(pca=)`.

`from_transformer` used scikit-learn's PCA before; these tests pin that the shared
eigen-decomposition gives the same projection, signs included, so results are unchanged.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

from vecgraft.align import align, pca
from vecgraft.errors import ConfigError
from vecgraft.text.vocab import Vocab
from vecgraft.transformer.postprocess import reduce_pca as postprocess_pca
from vecgraft.vectors import Vectors


def _matrix(n: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # distinct variances per axis so the components are well separated
    return (rng.standard_normal((n, d)) * np.linspace(3.0, 0.5, d)).astype(np.float32)


@pytest.mark.parametrize(("n", "d", "k", "seed"), [(30, 8, 3, 0), (100, 16, 5, 1), (12, 6, 6, 2)])
def test_pca_matches_scikit_learn_with_its_signs(n, d, k, seed):
    x = _matrix(n, d, seed)
    mean, comps, projected, ratio = pca(x, k)
    ref = PCA(n_components=k, random_state=0).fit(x)  # what from_transformer used before
    assert projected.dtype == np.float32 and projected.shape == (n, k)
    np.testing.assert_allclose(mean, ref.mean_, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(comps, ref.components_, atol=1e-5)
    np.testing.assert_allclose(projected, ref.transform(x), atol=1e-4)
    assert ratio == pytest.approx(float(ref.explained_variance_ratio_.sum()), rel=1e-5)
    np.testing.assert_allclose(postprocess_pca(x, k), ref.fit_transform(x), atol=1e-4)


def test_transformer_postprocess_and_align_share_the_projection():
    x = _matrix(40, 10, 3)
    words = [f"w{i}" for i in range(40)]
    vocab = Vocab.from_counts(dict.fromkeys(words, 1))
    matrix, report = align(vocab, Vectors(words, x), dim=4)
    rows = [i for i, rule in enumerate(report.rules) if rule == "exact"]
    assert len(rows) == 40
    assert torch.equal(matrix[rows], torch.from_numpy(postprocess_pca(x, 4)))


def test_postprocess_pca_range_is_checked():
    x = _matrix(5, 8, 0)
    with pytest.raises(ConfigError, match="pca must be between 1 and 5"):
        postprocess_pca(x, 6)
    with pytest.raises(ConfigError, match="got 0"):
        postprocess_pca(x, 0)
    assert postprocess_pca(x, 5).shape == (5, 5)
