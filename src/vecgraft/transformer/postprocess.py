"""Optional post-processing of word vectors, as model2vec distils: PCA and SIF weighting.

SIF (smooth inverse frequency) scales a word's vector by a / (a + p(w)), so very frequent
words, whose vectors carry little meaning, weigh less when vectors are averaged into a text.

`postprocess` is public so that raw vectors derived once (the forward passes are the slow part)
can be reduced for several vocabularies or PCA widths without running the model again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from vecgraft.errors import ConfigError, Given, Opt, OptionError
from vecgraft.vectors import Vectors


def postprocess(
    vectors: Vectors,
    *,
    pca: int | None = None,
    sif: bool = False,
    sif_a: float = 1e-3,
    counts: Mapping[str, int] | None = None,
) -> Vectors:
    """`vectors` after PCA to `pca` dimensions, then SIF weighting; both recorded in metadata.

    The same reduction `from_transformer(pca=, sif=)` applies: PCA is fitted on these words
    only, and without `counts` SIF takes p(w) from Zipf's law on the word order (most frequent
    first), so the result depends on which words are passed and in what order.
    """
    matrix = np.asarray(vectors.matrix)
    metadata = dict(vectors.metadata)
    metadata["pca"] = pca
    metadata["sif"] = None
    if pca is not None:
        matrix = reduce_pca(matrix, pca)
    if sif:
        weights, origin = sif_weights(vectors.words, counts, a=sif_a)
        matrix = matrix * weights[:, None]
        metadata["sif"] = {"a": sif_a, "p": origin}
    return Vectors(vectors.words, matrix, source=vectors.source, metadata=metadata)


def reduce_pca(matrix: np.ndarray, n_components: int) -> np.ndarray:
    """Project `matrix` [n, dim] onto its first principal axes -> [n, n_components] float32.

    The same PCA as `align(dim=)` (`vecgraft.align.pca`), checked against the word count too.
    """
    from vecgraft.align import pca as fit_pca  # here: vecgraft.align imports torch

    limit = min(matrix.shape)
    if not 1 <= n_components <= limit:
        raise OptionError(
            f"{{}} must be between 1 and {limit} (min of {matrix.shape[0]} words and "
            f"{matrix.shape[1]} dimensions), got {{}}",
            Opt("pca"),
            Given("pca", n_components),
        )
    return fit_pca(np.asarray(matrix), n_components)[2]


def sif_weights(
    words: Sequence[str], counts: Mapping[str, int] | None = None, *, a: float = 1e-3
) -> tuple[np.ndarray, str]:
    """SIF weight per word and where p(w) came from ("counts" or "zipf").

    With `counts`, p(w) = count / total (unseen words get count 0, weight 1). Without, p(w) is
    Zipf's law on the rank of the word in `words` (taken as most frequent first):
    p(r) = 1 / (r * H_n), H_n the n-th harmonic number.
    """
    if a <= 0:
        raise ConfigError(f"sif_a must be positive, got {a}")
    if counts:
        c = np.array([float(counts.get(w, 0)) for w in words])
        total = float(sum(counts.values())) or 1.0
        p, origin = c / total, "counts"
    else:
        ranks = np.arange(1, len(words) + 1, dtype=np.float64)
        p, origin = 1.0 / (ranks * np.sum(1.0 / ranks)), "zipf"
    return (a / (a + p)).astype(np.float32), origin
