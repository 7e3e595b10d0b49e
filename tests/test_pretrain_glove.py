import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from pretrain_helpers import cosine, synonym_corpus
from vecgraft.errors import ConfigError, DataError
from vecgraft.pretrain.cooccur import Cooccurrence, count_cooccurrences
from vecgraft.pretrain.glove import GloveOptions, train_glove


@pytest.fixture(scope="module")
def synonym_cooc():
    docs = [line.split() for line in synonym_corpus()]
    words = sorted({w for d in docs for w in d})
    stoi = {w: i for i, w in enumerate(words)}
    cooc = count_cooccurrences([np.array([stoi[w] for w in d]) for d in docs], len(words), 5)
    return cooc, stoi


def test_loss_decreases_and_synonyms_are_closer(synonym_cooc):
    cooc, stoi = synonym_cooc
    result = train_glove(cooc, GloveOptions(dim=16, epochs=30, batch_size=256, x_max=10, workers=1))
    assert result.vectors.shape == (len(stoi), 16)
    assert result.vectors.dtype == np.float32
    assert result.losses[-1] < result.losses[0] / 2
    assert all(b <= a * 1.05 for a, b in zip(result.losses, result.losses[1:]))
    vec = {w: result.vectors[i] for w, i in stoi.items()}
    same = [cosine(vec["cat"], vec["dog"]), cosine(vec["car"], vec["bus"])]
    cross = [cosine(vec[a], vec[b]) for a in ("cat", "dog") for b in ("car", "bus")]
    assert min(same) > max(cross) + 0.2


def test_same_seed_gives_identical_vectors(synonym_cooc):
    cooc, _ = synonym_cooc
    opts = GloveOptions(dim=8, epochs=3, batch_size=128, seed=7, workers=1)
    a = train_glove(cooc, opts)
    b = train_glove(cooc, opts)
    c = train_glove(cooc, GloveOptions(dim=8, epochs=3, batch_size=128, seed=8, workers=1))
    assert np.array_equal(a.vectors, b.vectors)
    assert a.losses == b.losses
    assert not np.array_equal(a.vectors, c.vectors)


def test_epoch_callback_sees_every_epoch(synonym_cooc):
    cooc, _ = synonym_cooc
    seen = []
    train_glove(
        cooc,
        GloveOptions(dim=4, epochs=3, workers=1),
        on_epoch=lambda epoch, _loss: seen.append(epoch),
    )
    assert seen == [1, 2, 3]


def test_empty_matrix_is_a_data_error():
    empty = Cooccurrence(np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0), vocab_size=3)
    with pytest.raises(DataError, match="no co-occurring word pairs"):
        train_glove(empty, GloveOptions(dim=4, epochs=1))


def test_bad_options_are_config_errors(synonym_cooc):
    cooc, _ = synonym_cooc
    with pytest.raises(ConfigError, match="learning_rate"):
        train_glove(cooc, GloveOptions(learning_rate=0))
    with pytest.raises(ConfigError, match=r"CUDA|device"):
        train_glove(cooc, GloveOptions(device="nonsense"))


def test_training_is_the_documented_algorithm_entry_by_entry():
    """Two epochs equal a plain loop over the entries: f-weighted loss, summed batch
    gradients, AdaGrad from accumulators of 1, output W + W~ (batches of 7, so words repeat
    inside a batch and across them)."""
    rng = np.random.default_rng(0)
    cooc = count_cooccurrences([rng.integers(0, 9, size=12) for _ in range(8)], 9, window=3)
    dim, lr, x_max = 3, 0.1, 5.0
    got = train_glove(cooc, GloveOptions(dim=dim, epochs=2, batch_size=7, seed=3, x_max=x_max,
                                         learning_rate=lr, device="cpu"))
    gen = torch.Generator().manual_seed(3)
    tables = [((torch.rand(9, dim + 1, generator=gen) - 0.5) / dim).double().numpy()
              for _ in range(2)]
    gradsq = [np.ones_like(t) for t in tables]
    for epoch in range(2):
        order = torch.randperm(cooc.nnz, generator=gen).numpy()
        total = 0.0
        for lo in range(0, cooc.nnz, 7):
            grads = [np.zeros_like(t) for t in tables]
            for e in order[lo : lo + 7]:
                i, j, x = cooc.rows[e], cooc.cols[e], cooc.values[e]
                w, c = tables[0][i], tables[1][j]
                diff = w[:dim] @ c[:dim] + w[dim] + c[dim] - np.log(x)
                fdiff = min(1.0, (x / x_max) ** 0.75) * diff
                total += 0.5 * fdiff * diff
                grads[0][i] += fdiff * np.append(c[:dim], 1.0)
                grads[1][j] += fdiff * np.append(w[:dim], 1.0)
            for t, g, acc in zip(tables, grads, gradsq):
                acc += g * g
                t -= lr * g / np.sqrt(acc)  # a row with no entry has g = 0: unmoved
        assert got.losses[epoch] == pytest.approx(total / cooc.nnz, rel=1e-6)
    np.testing.assert_allclose(got.vectors, tables[0][:, :dim] + tables[1][:, :dim], atol=1e-6)


class _MadeFloat64(TorchDispatchMode):
    """Records each op that makes a float64 tensor out of none (a zeros, a float64 sum)."""

    def __init__(self) -> None:
        super().__init__()
        self.made: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        out = func(*args, **(kwargs or {}))
        inputs = [a for a in [*args, *(kwargs or {}).values()] if isinstance(a, torch.Tensor)]
        if isinstance(out, torch.Tensor) and out.dtype == torch.float64 and not any(
            a.dtype == torch.float64 for a in inputs
        ):
            self.made.append(str(func))
        return out


def test_a_device_without_float64_sums_the_loss_in_float32(synonym_cooc, monkeypatch):
    # Apple's MPS has no float64 (a float64 tensor there fails): the epoch's loss sum, which
    # runs on the training device, is float32 there; here the CPU stands in for it
    import vecgraft.pretrain.glove as glove

    cooc, _ = synonym_cooc
    options = GloveOptions(dim=4, epochs=2, seed=0, device="cpu")
    exact = train_glove(cooc, options)
    monkeypatch.setattr(glove, "has_float64", lambda device: False, raising=False)
    with _MadeFloat64() as mode:
        narrow = train_glove(cooc, options)
    assert mode.made == []
    np.testing.assert_array_equal(narrow.vectors, exact.vectors)  # training is float32 anyway
    assert narrow.losses == pytest.approx(exact.losses, rel=1e-5)
    assert narrow.losses != exact.losses


def test_only_apple_mps_lacks_float64():
    from vecgraft._util.device import has_float64

    assert [has_float64(torch.device(k)) for k in ("cpu", "cuda", "mps", "xpu")] == [
        True, True, False, True,
    ]  # fmt: skip
