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
    FastTextClassifier,
    ModelKind,
    build_model,
    model_from_spec,
    model_option_defaults,
    model_spec,
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
    assert rows == [(3 * 1_000_003 + 4) % 97, (4 * 1_000_003 + 5) % 97]
    words = model.embedding.weight[[3, 4, 5]]
    bigrams = model.bigrams.weight[rows]
    pooled = torch.cat([words, bigrams]).mean(0)
    torch.testing.assert_close(model(ids, torch.tensor([3])), model.head(pooled).unsqueeze(0))
    # word order matters through the bigrams
    assert not torch.allclose(model(ids.flip(1), torch.tensor([3])), model(ids, torch.tensor([3])))


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
