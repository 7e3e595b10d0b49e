"""The static-vector model families: Kim CNN variants, SWEM, fastText bigrams, BiLSTM-max."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from test_finetune_train import toy_data
from vecgraft.evaluate.space import SPACES, default_params
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.train import Trainer
from vecgraft.nn.models import (
    BigramHash,
    FastTextClassifier,
    ModelKind,
    bigram_rows,
    build_model,
    model_from_spec,
    model_option_defaults,
    model_spec,
    restored_options,
)

VOCAB, DIM, CLASSES = 40, 6, 3
KINDS = [
    ("swem", {}),
    ("swem", {"pooling": "mean"}),
    ("swem", {"pooling": "max"}),
    ("swem", {"pooling": "hierarchical", "window": 3}),
    ("fasttext", {}),
    ("fasttext", {"pooling": "mean_max"}),
    ("fasttext", {"pooling": "hierarchical", "window": 2}),
    ("bilstm", {"hidden_size": 5}),
    ("cnn", {"channels": "static", "filter_widths": [2, 3], "num_filters": 4}),
    ("cnn", {"channels": "multichannel", "filter_widths": [2, 3], "num_filters": 4}),
]


def make(kind: str, options: dict) -> nn.Module:
    torch.manual_seed(0)
    return build_model(kind, nn.Embedding(VOCAB, DIM, padding_idx=0), CLASSES, **options).eval()


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    # lengths 5, 2 (shorter than the widest filter / window) and 0 (an empty text)
    ids = torch.tensor([[3, 4, 5, 6, 7, 0], [8, 9, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]])
    return ids, torch.tensor([5, 2, 0])


@pytest.mark.parametrize(("kind", "options"), KINDS)
def test_shapes_and_padding_invariance(kind, options):
    model = make(kind, options)
    ids, lengths = batch()
    logits = model(ids, lengths)
    assert logits.shape == (3, CLASSES) and torch.isfinite(logits).all()
    # more padding, and padding holding other ids, change nothing
    wider = torch.cat([ids, torch.full((3, 4), 11)], dim=1)
    torch.testing.assert_close(model(wider, lengths), logits)
    # each row alone, cut to its length, gives the batch's row
    for i, n in enumerate(lengths.tolist()):
        alone = model(ids[i : i + 1, : max(n, 1)], lengths[i : i + 1])
        torch.testing.assert_close(alone, logits[i : i + 1])


@pytest.mark.parametrize(("kind", "options"), KINDS)
def test_spec_round_trip_rebuilds_the_same_model(kind, options):
    model = make(kind, options)
    again = model_from_spec(model_spec(model))
    again.load_state_dict(model.state_dict())
    ids, lengths = batch()
    torch.testing.assert_close(again.eval()(ids, lengths), model(ids, lengths))


def test_swem_hierarchical_is_max_of_window_means():
    model = make("swem", {"pooling": "hierarchical", "window": 2})
    emb = model.embedding.weight.detach()
    ids = torch.tensor([[3, 4, 5]])
    x = emb[ids[0]]
    expected = torch.stack([(x[0] + x[1]) / 2, (x[1] + x[2]) / 2]).amax(0)
    torch.testing.assert_close(model.pool(x.unsqueeze(0), torch.ones(1, 3, dtype=torch.bool),
                                          torch.tensor([3])), expected.unsqueeze(0))


def test_fasttext_averages_words_and_hashed_bigrams():
    model = make("fasttext", {"pooling": "mean", "buckets": 97})
    assert isinstance(model, FastTextClassifier) and model.bigrams is not None
    ids = torch.tensor([[3, 4, 5]])
    rows = model.bigram_ids(ids)[0].tolist()
    assert rows == [_mixed_row(3, 4, 97), _mixed_row(4, 5, 97)]
    words = model.embedding.weight[[3, 4, 5]]
    bigrams = model.bigrams.weight[rows]
    pooled = torch.cat([words, bigrams]).mean(0)
    torch.testing.assert_close(model(ids, torch.tensor([3])), model.head(pooled).unsqueeze(0))
    # word order matters through the bigrams
    assert not torch.allclose(model(ids.flip(1), torch.tensor([3])), model(ids, torch.tensor([3])))


def _lowbias32(h: int) -> int:
    """Wellons' lowbias32 in Python integers: the reference of the model's tensor version."""
    h ^= h >> 16
    h = (h * 0x7FEB352D) & 0xFFFFFFFF
    h ^= h >> 15
    h = (h * 0x846CA68B) & 0xFFFFFFFF
    return h ^ (h >> 16)


def _mixed_row(a: int, b: int, buckets: int) -> int:
    return _lowbias32(_lowbias32(a) ^ b) % buckets


def _zipf_bigrams() -> torch.Tensor:
    """Distinct adjacent pairs [N, 2] of 200,000 Zipf(1.1) draws from 20,000 ids (seed 0)."""
    import itertools
    import random

    weights = [1 / rank**1.1 for rank in range(1, 20_001)]
    ids = random.Random(0).choices(range(20_000), weights=weights, k=200_000)
    return torch.tensor(sorted(set(itertools.pairwise(ids))))


def _rows_used(scheme: BigramHash, pairs: torch.Tensor, buckets: int) -> tuple[int, int]:
    rows = bigram_rows(pairs[:, 0], pairs[:, 1], buckets, scheme)
    counts = torch.bincount(rows, minlength=buckets)
    return int((counts > 0).sum()), int(counts.max())


def test_fasttext_bigram_hash_mixes_every_bit_of_both_ids():
    # the old multiplier 1000003 is 3 mod 50,000: row (3a + b) mod 50,000, so these shared one
    model = make("fasttext", {"buckets": 50_000})
    assert model.config["bigram_hash"] == "mix"
    rows = model.bigram_ids(torch.tensor([[10, 20, 11, 17, 12, 14]]))[0, ::2].tolist()
    assert rows == [_mixed_row(10, 20, 50_000), _mixed_row(11, 17, 50_000),
                    _mixed_row(12, 14, 50_000)] and len(set(rows)) == 3  # fmt: skip
    legacy = make("fasttext", {"buckets": 50_000, "bigram_hash": "legacy"})
    assert legacy.bigram_ids(torch.tensor([[10, 20, 11, 17, 12, 14]]))[0, ::2].tolist() == [50] * 3
    # the 32-bit products are exact (in 16-bit halves): the Python reference, ids near 2**32,
    # and padding ids (-1) still get a row of the table
    big = torch.tensor([[2**32 - 1, 2**31 + 7, 123_456_789, -1, 5]])
    expected = [_mixed_row(a & 0xFFFFFFFF, b & 0xFFFFFFFF, 50_000)
                for a, b in zip(big[0, :-1].tolist(), big[0, 1:].tolist())]  # fmt: skip
    assert model.bigram_ids(big)[0].tolist() == expected


def test_fasttext_bigram_rows_spread_as_a_uniform_hash_would():
    pairs = _zipf_bigrams()
    n, buckets = len(pairs), 50_000
    assert n == 103_328
    uniform = buckets * (1 - (1 - 1 / buckets) ** n)  # expected rows used by a uniform hash
    used, most = _rows_used(BigramHash.MIX, pairs, buckets)
    assert (used, most) == (43_646, 10) and abs(used - uniform) < 0.005 * uniform
    assert _rows_used(BigramHash.LEGACY, pairs, buckets) == (27_124, 49)


def _legacy_meta(model: nn.Module) -> dict:
    """A model.json written before `bigram_hash` was recorded (no such key)."""
    config = {k: v for k, v in model.config.items() if k != "bigram_hash"}
    emb = model.embedding
    return {"kind": "fasttext", "model_config": config, "num_classes": CLASSES,
            "vocab_size": emb.num_embeddings, "embedding_dim": emb.embedding_dim,
            "padding_idx": emb.padding_idx}  # fmt: skip


def test_a_fasttext_run_saved_before_bigram_hash_predicts_with_its_old_rows():
    from vecgraft.finetune.predict import rebuild_model

    old = make("fasttext", {"pooling": "mean", "buckets": 97, "bigram_hash": "legacy"})
    ids, lengths = batch()
    with torch.no_grad():
        words = old.embedding(ids) * (ids != 0).unsqueeze(-1)
        rows = (ids[:, :-1] * 1_000_003 + ids[:, 1:]) % 97  # the old formula itself
        real = torch.arange(5) < (lengths - 1).clamp(min=0)[:, None]
        pairs = old.bigrams(rows) * real[..., None]
        total = (lengths + (lengths - 1).clamp(min=0)).clamp(min=1)[:, None]
        expected = old.head((words.sum(1) + pairs.sum(1)) / total)
    assert restored_options("fasttext", {"buckets": 97}) == {"buckets": 97, "bigram_hash": "legacy"}
    for again in (rebuild_model(_legacy_meta(old)), model_from_spec(
            {"model": _legacy_meta(old)["model_config"] | {"kind": "fasttext",
             "num_classes": CLASSES}, "embedding": model_spec(old)["embedding"]})):  # fmt: skip
        assert again.config["bigram_hash"] == "legacy"
        again.load_state_dict(old.state_dict())
        assert torch.equal(again.eval()(ids, lengths), expected)
    # a run saved now records the scheme, and rebuilds with it
    new = make("fasttext", {"pooling": "mean", "buckets": 97})
    meta = _legacy_meta(new) | {"model_config": dict(new.config)}
    again = rebuild_model(meta)
    again.load_state_dict(new.state_dict())
    assert again.config["bigram_hash"] == "mix"
    assert torch.equal(again.eval()(ids, lengths), new(ids, lengths))


def _train(model: nn.Module, freeze_epochs: int = 0) -> None:
    cfg = FinetuneConfig(epochs=2, batch_size=16, lr=0.05, embedding_lr=0.05,
                         freeze_epochs=freeze_epochs, patience=None)
    Trainer(model.train(), cfg, toy_data(), None, num_classes=CLASSES,
            device=torch.device("cpu"), log=lambda _: None).fit()


def test_static_cnn_keeps_its_embedding_frozen():
    model = make("cnn", {"channels": "static", "filter_widths": [2], "num_filters": 4})
    before = model.embedding.weight.detach().clone()
    conv = model.convs[0].weight.detach().clone()
    _train(model)
    assert torch.equal(before, model.embedding.weight)
    assert not torch.equal(conv, model.convs[0].weight)  # the rest did train


def test_non_static_cnn_tunes_its_embedding():
    model = make("cnn", {"filter_widths": [2], "num_filters": 4})
    before = model.embedding.weight.detach().clone()
    _train(model)
    assert not torch.equal(before, model.embedding.weight)


def test_kim_cnn_maxes_over_the_windows_wholly_inside_the_text():
    # a narrow convolution (the docstring's): (3, 4) and (4, 5) of a 3-token text, never the
    # (5, padding) window; Kim's code pads both ends (a wide one), which this is not
    model = make("cnn", {"filter_widths": [2], "num_filters": 4, "dropout": 0.0})
    conv = model.convs[0]
    with torch.no_grad():  # filter 0 answers most to token 5 first: the (5, padding) window
        conv.weight[0, :, 0] = model.embedding.weight[5]
        conv.weight[0, :, 1] = 0
    x = model.embedding.weight[[3, 4, 5, 0]].detach()
    x[3] = 0  # padding is zeroed
    windows = [torch.cat([x[i], x[i + 1]]) for i in range(3)]
    flat = conv.weight.detach().permute(0, 2, 1).reshape(4, -1)  # [F, w * D], window order
    scores = torch.stack([flat @ w + conv.bias.detach() for w in windows])  # [3 windows, F]
    assert scores[2, 0] > scores[:2, 0].max()
    ids = torch.tensor([[3, 4, 5, 0]])
    with torch.no_grad():
        got = model(ids, torch.tensor([3]))
        assert torch.allclose(got, model.out(scores[:2].amax(0).relu()), atol=1e-6)
        wide = model.out(scores.amax(0).relu())
        assert not torch.allclose(got, wide, atol=1e-6)


def test_multichannel_cnn_keeps_one_copy_frozen():
    model = make("cnn", {"channels": "multichannel", "filter_widths": [2], "num_filters": 4})
    assert model.static_embedding is not None
    torch.testing.assert_close(model.static_embedding.weight, model.embedding.weight)
    frozen = model.static_embedding.weight.detach().clone()
    tuned = model.embedding.weight.detach().clone()
    _train(model)
    assert torch.equal(frozen, model.static_embedding.weight)
    assert not torch.equal(tuned, model.embedding.weight)


@pytest.mark.parametrize("kind", ["boe", "swem", "fasttext", "cnn", "rnn", "bilstm", "transformer"])
def test_option_defaults_build_the_default_model(kind):
    # `vecgraft tune`'s first trial is built from these; `pooling=None` for boe and swem
    # left the pooling to the sampler, so that trial was not the default model.
    explicit = make(kind, model_option_defaults(ModelKind(kind)))
    assert explicit.config == make(kind, {}).config
    assert model_option_defaults(kind).get("pooling", "n/a") is not None


def test_tune_starts_swem_and_boe_from_their_default_pooling():
    for kind, pooling in (("swem", "mean_max"), ("boe", "mean")):
        params = default_params(SPACES[kind], {}, model_option_defaults(kind))
        assert params["model_options.pooling"] == pooling


def test_the_first_tune_trial_can_be_every_static_familys_default_model():
    # fastText's default 50,000 bigram buckets was no choice of its space (0, 20k, 100k), so
    # the first trial drew one at random instead of being the default model
    for kind in ("boe", "swem", "fasttext", "cnn", "rnn", "bilstm"):
        space = {k: v for k, v in SPACES[kind].items() if k.startswith("model_options.")}
        params = default_params(space, {}, model_option_defaults(kind))
        assert sorted(params) == sorted(space), kind
