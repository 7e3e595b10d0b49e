"""GloVe training in PyTorch: weighted least squares on log co-occurrences with AdaGrad.

The objective (Pennington et al., 2014) over the non-zero entries X[i, j]:

    J = sum f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2,   f(x) = min(1, (x / x_max)^alpha)

optimised, like the reference C code, with AdaGrad whose squared-gradient accumulators start at
1 (glove.c uses lr 0.05; our default is 0.2, see config.py). The accumulator is textbook
AdaGrad's (Duchi et al. 2011): the raw squared gradient is added before the step, so a step
is lr * g / sqrt(1 + sum g^2); glove.c adds the squared lr-scaled gradient after its step
(lr * g / sqrt(1 + lr^2 * sum of earlier g^2)), so its first steps are larger at the same
lr, one reason our default lr is higher. The C code updates one entry at
a time (Hogwild); here entries are visited in large shuffled batches and the gradients of a
word that occurs several times in a batch are summed before the AdaGrad step, which keeps
every step bounded by the learning rate and lets the same code run on CPU or CUDA. The output
vectors are W + W~, as in the paper.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from vecgraft._util.device import has_float64, resolve_device
from vecgraft.errors import ConfigError, DataError
from vecgraft.pretrain.cooccur import Cooccurrence

EpochCallback = Callable[[int, float], None]


@dataclass(frozen=True)
class GloveOptions:
    """Hyper-parameters of GloVe training.

    Defaults: epochs 25 and alpha 0.75 as in glove.c; x_max 10 as in its demo.sh (glove.c
    itself: 100); learning_rate 0.2, not glove.c's 0.05 (see pretrain/config.py).

    Attributes:
        dim: vector size.
        epochs: passes over the non-zero entries.
        learning_rate: AdaGrad's initial step (`eta` in glove.c).
        x_max: co-occurrence count at which the weight f saturates at 1.
        alpha: exponent of the weighting function f.
        batch_size: entries per step; large batches are fast, especially on CUDA.
        seed: seeds initialisation and shuffling: the same seed gives bit-identical vectors
            on CPU. On CUDA, `index_add_` sums each word's updates in a nondeterministic
            order, so runs agree only to float rounding.
        device: "cpu", "cuda", "cuda:1"... (None: CUDA when available).
        workers: CPU threads for torch (None: leave torch's setting).
    """

    dim: int = 100
    epochs: int = 25
    learning_rate: float = 0.2
    x_max: float = 10.0
    alpha: float = 0.75
    batch_size: int = 16384
    seed: int = 1
    device: str | None = None
    workers: int | None = None

    def validate(self) -> None:
        """Raise ConfigError for values that cannot train."""
        for name in ("dim", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"glove {name} must be >= 1, got {getattr(self, name)}")
        for name in ("learning_rate", "x_max", "alpha"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"glove {name} must be > 0, got {getattr(self, name)}")


@dataclass
class GloveResult:
    """Trained GloVe parameters.

    Attributes:
        vectors: W + W~, float32 [V, dim].
        losses: mean weighted squared error (the C code's "cost") per epoch.
        entries_per_second: non-zero entries processed per second, per epoch.
        device: the device it trained on, as torch names it ("cpu", "cuda:0"; "cuda" where
            `device="cuda"` named no index: the current CUDA device): `device=None` is
            CUDA where there is one, so the options alone do not say which.
    """

    vectors: np.ndarray
    losses: list[float] = field(default_factory=list)
    entries_per_second: list[float] = field(default_factory=list)
    device: str = "cpu"


class _AdaGradTable:
    """A [V, ...] parameter table with its AdaGrad accumulator, updated sparsely."""

    def __init__(self, values: torch.Tensor) -> None:
        self.values = values
        self.gradsq = torch.ones_like(values)

    def step(
        self, uniq: torch.Tensor, inverse: torch.Tensor, grad: torch.Tensor, lr: float
    ) -> None:
        """Sum the per-entry `grad` rows by word (`inverse` maps entries to `uniq`), then step."""
        summed = torch.zeros((uniq.shape[0], *grad.shape[1:]), dtype=grad.dtype, device=grad.device)
        summed.index_add_(0, inverse, grad)
        acc = self.gradsq[uniq] + summed * summed
        self.gradsq[uniq] = acc
        self.values[uniq] -= lr * summed / acc.sqrt()


def train_glove(
    cooc: Cooccurrence,
    options: GloveOptions | None = None,
    *,
    on_epoch: EpochCallback | None = None,
) -> GloveResult:
    """Train GloVe vectors on a co-occurrence matrix.

    Args:
        cooc: the counts, e.g. from `count_cooccurrences`.
        options: hyper-parameters (defaults: GloveOptions()).
        on_epoch: called as on_epoch(epoch, loss) after each epoch (progress bars).

    Returns:
        GloveResult with W + W~ as float32 [V, dim] and the per-epoch losses.

    Example:
        >>> from vecgraft.pretrain.cooccur import count_cooccurrences
        >>> c = count_cooccurrences([np.array([0, 1, 2, 0, 1])], 3, window=2)
        >>> train_glove(c, GloveOptions(dim=4, epochs=2)).vectors.shape
        (3, 4)
    """
    opts = options or GloveOptions()
    opts.validate()
    if cooc.nnz == 0:
        raise DataError(
            "no co-occurring word pairs to train on: the corpus is empty or every document "
            "has fewer than two in-vocabulary tokens (lower --min-count?)"
        )
    device = resolve_device(opts.device)
    threads = torch.get_num_threads()
    if opts.workers is not None:
        torch.set_num_threads(opts.workers)
    try:
        return _train(cooc, opts, device, on_epoch)
    finally:
        torch.set_num_threads(threads)


def _train(
    cooc: Cooccurrence,
    opts: GloveOptions,
    device: torch.device,
    on_epoch: EpochCallback | None,
) -> GloveResult:
    import time

    gen = torch.Generator().manual_seed(opts.seed)
    v, dim = cooc.vocab_size, opts.dim

    def init(*shape: int) -> _AdaGradTable:
        # glove.c: uniform in [-0.5, 0.5) / dim
        return _AdaGradTable(((torch.rand(*shape, generator=gen) - 0.5) / dim).to(device))

    # word and context tables carry their bias as a last column: one gather and one AdaGrad
    # step per side instead of two
    w, wc = init(v, dim + 1), init(v, dim + 1)
    rows = torch.from_numpy(np.ascontiguousarray(cooc.rows, dtype=np.int64)).to(device)
    cols = torch.from_numpy(np.ascontiguousarray(cooc.cols, dtype=np.int64)).to(device)
    x = torch.from_numpy(np.ascontiguousarray(cooc.values, dtype=np.float64))
    log_x = x.log().float().to(device)
    weight = (x / opts.x_max).pow(opts.alpha).clamp(max=1.0).float().to(device)
    nnz, lr, bs = cooc.nnz, opts.learning_rate, opts.batch_size
    # the epoch's loss is summed in float64, or in float32 where the device has none (MPS)
    wide = torch.float64 if has_float64(device) else torch.float32

    result = GloveResult(vectors=np.empty((0, dim), np.float32), device=str(device))
    for epoch in range(1, opts.epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(nnz, generator=gen).to(device)
        total = torch.zeros((), dtype=wide, device=device)
        for lo in range(0, nnz, bs):
            idx = order[lo : lo + bs]
            i, j = rows[idx], cols[idx]
            wi, wj = w.values[i], wc.values[j]  # [batch, dim + 1]
            diff = (wi[:, :dim] * wj[:, :dim]).sum(1) + wi[:, dim] + wj[:, dim] - log_x[idx]
            fdiff = weight[idx] * diff
            total += (0.5 * fdiff * diff).sum(dtype=wide)
            grad_i = fdiff[:, None] * wj
            grad_i[:, dim] = fdiff  # d/d(bias) of the loss
            grad_j = fdiff[:, None] * wi
            grad_j[:, dim] = fdiff
            ui, inv_i = torch.unique(i, return_inverse=True)
            uj, inv_j = torch.unique(j, return_inverse=True)
            w.step(ui, inv_i, grad_i, lr)
            wc.step(uj, inv_j, grad_j, lr)
        loss = float(total) / nnz
        if not np.isfinite(loss):
            raise DataError(
                f"GloVe diverged at epoch {epoch} (loss {loss}); lower the learning rate"
            )
        result.losses.append(loss)
        result.entries_per_second.append(nnz / max(time.perf_counter() - start, 1e-9))
        if on_epoch is not None:
            on_epoch(epoch, loss)
    result.vectors = (w.values[:, :dim] + wc.values[:, :dim]).float().cpu().numpy()
    return result
