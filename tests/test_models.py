import json
from typing import Any

import pytest
import torch
from torch import nn

from vecgraft.errors import ConfigError, DataError
from vecgraft.nn.models import (
    ModelKind,
    build_model,
    lengths_mask,
    model_from_spec,
    model_spec,
)

VOCAB, DIM, CLASSES = 20, 8, 3

# Small options so each forward is cheap; every kind and every pooling is covered.
CONFIGS = [
    ("boe", {"pooling": "mean"}),
    ("boe", {"pooling": "max", "hidden_size": 6, "dropout": 0.1}),
    ("boe", {"pooling": "mean_max"}),
    ("cnn", {"filter_widths": [2, 3, 5], "num_filters": 16}),
    ("rnn", {"cell": "lstm", "hidden_size": 5, "pooling": "attention"}),
    ("rnn", {"cell": "gru", "hidden_size": 5, "pooling": "max", "num_layers": 2}),
    ("rnn", {"cell": "lstm", "hidden_size": 5, "pooling": "last", "bidirectional": False}),
    ("rnn", {"cell": "gru", "hidden_size": 5, "pooling": "mean"}),
    ("transformer", {"num_layers": 1, "positions": "learned", "pooling": "mean", "max_length": 16}),
    ("transformer", {"num_layers": 1, "positions": "sinusoidal", "pooling": "cls", "d_model": 6}),
]
IDS = [f"{k}-{'-'.join(str(v) for v in o.values())}" for k, o in CONFIGS]


def make_embedding(seed: int = 0) -> nn.Embedding:
    torch.manual_seed(seed)
    return nn.Embedding(VOCAB, DIM, padding_idx=0)


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    # Rows of length 4, 1 (shorter than the widest CNN filter) and 0 (an empty text).
    ids = torch.tensor([[3, 4, 5, 6, 0, 0], [7, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]])
    return ids, torch.tensor([4, 1, 0])


@pytest.mark.parametrize(("kind", "options"), CONFIGS, ids=IDS)
def test_forward_backward_shapes_and_embedding_gradients(kind, options):
    emb = make_embedding()
    model = build_model(kind, emb, CLASSES, **options)
    assert model.embedding is emb
    ids, lengths = batch()
    logits = model(ids, lengths)
    assert logits.shape == (3, CLASSES)
    assert torch.isfinite(logits).all()
    logits.sum().backward()
    grad = emb.weight.grad
    assert grad is not None
    # Tokens of real text get gradient, the padding row never does.
    assert grad[3].abs().sum() > 0 and grad[7].abs().sum() > 0
    assert grad[0].abs().sum() == 0
    assert grad[10].abs().sum() == 0  # unused id


@pytest.mark.parametrize(("kind", "options"), CONFIGS, ids=IDS)
def test_padding_does_not_change_output(kind, options):
    model = build_model(kind, make_embedding(), CLASSES, **options).eval()
    seq = [3, 4, 5]
    outs = []
    for total in (3, 5, 9):
        ids = torch.tensor([seq + [0] * (total - 3)])
        outs.append(model(ids, torch.tensor([3])))
    torch.testing.assert_close(outs[0], outs[1], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(outs[0], outs[2], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("kind", "options"), CONFIGS, ids=IDS)
def test_padding_ignores_whatever_id_padding_holds(kind, options):
    # Positions past the length are padding even if they hold a real token id.
    model = build_model(kind, make_embedding(), CLASSES, **options).eval()
    a = model(torch.tensor([[3, 4, 5, 0, 0]]), torch.tensor([3]))
    b = model(torch.tensor([[3, 4, 5, 9, 11]]), torch.tensor([3]))
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


EMPTY_CASES = [
    *CONFIGS,
    ("swem", {"pooling": "hierarchical", "window": 3}),
    ("fasttext", {}),
    ("bilstm", {"hidden_size": 5}),
    ("cnn", {"channels": "multichannel", "filter_widths": [2, 3], "num_filters": 4}),
]


@pytest.mark.parametrize(("kind", "options"), EMPTY_CASES)
def test_an_empty_text_ignores_the_id_and_row_its_one_padding_position_holds(kind, options):
    # A length-0 text keeps one position for pooling; it is padding all the same, so neither
    # a real id there nor a nonzero padding row may change its output (they used to).
    embedding = make_embedding()
    model = build_model(kind, embedding, CLASSES, **options).eval()
    lengths = torch.tensor([0])
    with torch.no_grad():
        zero = model(torch.tensor([[0, 0]]), lengths)
        assert torch.equal(model(torch.tensor([[7, 9]]), lengths), zero)
        embedding.weight[0] = 1.0
        assert torch.equal(model(torch.tensor([[0, 0]]), lengths), zero)


@pytest.mark.parametrize(("kind", "options"), CONFIGS, ids=IDS)
def test_config_is_json_and_rebuilds_same_model(kind, options):
    model = build_model(kind, make_embedding(), CLASSES, **options).eval()
    config = json.loads(json.dumps(model.config))
    assert config["kind"] == kind and config["num_classes"] == CLASSES
    spec = json.loads(json.dumps(model_spec(model)))
    rebuilt = model_from_spec(spec).eval()
    assert rebuilt.config == model.config
    rebuilt.load_state_dict(model.state_dict())
    ids, lengths = batch()
    torch.testing.assert_close(rebuilt(ids, lengths), model(ids, lengths))
    again = build_model(embedding=make_embedding(), **config)
    assert again.config == model.config


@pytest.mark.parametrize(("kind", "options"), CONFIGS, ids=IDS)
def test_forward_under_bf16_autocast(kind, options):
    model = build_model(kind, make_embedding(), CLASSES, **options)
    ids, lengths = batch()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(ids, lengths)
    assert logits.shape == (3, CLASSES)
    assert torch.isfinite(logits.float()).all()
    logits.float().sum().backward()
    assert model.embedding.weight.grad is not None


def _autocast_on(device_type: str) -> bool:
    try:
        return torch.is_autocast_enabled(device_type)
    except TypeError:  # torch < 2.4 takes no device type
        return torch.is_autocast_cpu_enabled()


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_the_recurrence_runs_outside_bf16_autocast(cell):
    # autocast runs a cuDNN RNN in float16 whatever dtype it was asked for: under the
    # trainer's bf16 autocast the LSTM trained in fp16 with no GradScaler. On CPU the packed
    # RNN stays float32 anyway, so what is pinned is that autocast is off around it.
    model = build_model("rnn", make_embedding(), CLASSES, cell=cell, hidden_size=5).eval()
    seen: list[tuple[bool, torch.dtype]] = []
    model.rnn.register_forward_hook(
        lambda module, args, out: seen.append((_autocast_on("cpu"), out[0].data.dtype))
    )
    ids, lengths = batch()
    with torch.no_grad():
        plain = model(ids, lengths)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            mixed = model(ids, lengths)
    assert seen == [(False, torch.float32), (False, torch.float32)]
    torch.testing.assert_close(mixed.float(), plain, atol=0.05, rtol=0.05)


def test_frozen_embedding_gets_no_gradient_but_model_trains():
    emb = make_embedding()
    emb.weight.requires_grad_(False)
    model = build_model("cnn", emb, CLASSES, num_filters=3)
    ids, lengths = batch()
    model(ids, lengths).sum().backward()
    assert emb.weight.grad is None
    assert model.out.weight.grad is not None


def test_boe_mean_pooling_equals_hand_computed_mean():
    emb = make_embedding()
    model = build_model("boe", emb, CLASSES, pooling="mean")
    ids = torch.tensor([[3, 4, 0]])
    expected = model.head(emb.weight[[3, 4]].mean(0, keepdim=True))
    torch.testing.assert_close(model(ids, torch.tensor([2])), expected)


def test_cnn_defaults_follow_kim_2014():
    model = build_model("cnn", make_embedding(), CLASSES)
    assert model.config["filter_widths"] == [3, 4, 5]
    assert model.config["num_filters"] == 100
    assert model.config["dropout"] == 0.5
    assert model.out.in_features == 300


def test_transformer_truncates_to_max_length():
    model = build_model("transformer", make_embedding(), CLASSES, max_length=4, num_layers=1)
    model.eval()
    short = model(torch.tensor([[3, 4, 5, 6]]), torch.tensor([4]))
    long = model(torch.tensor([[3, 4, 5, 6, 7, 8, 9]]), torch.tensor([7]))
    torch.testing.assert_close(short, long)


def test_transformer_picks_heads_dividing_width():
    emb = nn.Embedding(VOCAB, 50, padding_idx=0)
    model = build_model("transformer", emb, CLASSES, num_layers=1)
    assert model.config["nhead"] == 5 and model.config["d_model"] == 50
    with pytest.raises(ConfigError, match="divisible"):
        build_model("transformer", emb, CLASSES, nhead=3)


def test_lengths_mask():
    mask = lengths_mask(torch.tensor([2, 0, 3]), 3)
    assert mask.tolist() == [[True, True, False], [False, False, False], [True, True, True]]


@pytest.mark.parametrize(
    ("kind", "options", "match"),
    [
        (
            "lstm",
            {},
            "model kind must be one of boe, cnn, rnn, transformer, swem, fasttext, bilstm, "
            "linear, hf",
        ),
        ("cnn", {"widths": [3]}, "unknown option.*widths.*valid options: filter_widths"),
        (
            "boe",
            {"pooling": "sum"},
            "pooling must be one of mean, max, mean_max, hierarchical; got 'sum'",
        ),
        ("rnn", {"cell": "rnn"}, "cell must be one of lstm, gru"),
        ("cnn", {"filter_widths": [0]}, "filter_widths must be positive"),
        ("boe", {"dropout": 1.5}, "dropout"),
    ],
)
def test_bad_options_raise_config_error(kind, options, match):
    with pytest.raises(ConfigError, match=match):
        build_model(kind, make_embedding(), CLASSES, **options)


def test_bad_num_classes_and_embedding():
    with pytest.raises(ConfigError, match="num_classes"):
        build_model("boe", make_embedding(), 0)
    # one output is a regression head
    assert build_model("boe", make_embedding(), 1)(*batch()).shape == (3, 1)
    with pytest.raises(ConfigError, match=r"nn\.Embedding"):
        build_model("boe", nn.Linear(3, 3), 2)  # type: ignore[arg-type]


def test_model_kind_enum_values():
    assert [k.value for k in ModelKind] == [
        "boe", "cnn", "rnn", "transformer", "swem", "fasttext", "bilstm", "linear", "hf"
    ]
    assert build_model(ModelKind.BOE, make_embedding(), 2).config["kind"] == "boe"
    with pytest.raises(ConfigError, match="has no embedding; it is built by its model family"):
        build_model(ModelKind.HF, make_embedding(), 2)


ALL_FAMILIES = [  # one config of every family
    CONFIGS[0],  # boe
    CONFIGS[3],  # cnn
    CONFIGS[4],  # rnn
    CONFIGS[8],  # transformer
    *EMPTY_CASES[len(CONFIGS) :],  # swem, fasttext, bilstm, multichannel cnn
]


@pytest.mark.parametrize(("kind", "options"), ALL_FAMILIES)
@pytest.mark.parametrize(
    ("ids", "lengths", "match"),
    [
        ([3, 4, 5], [3], r"\[batch, seq_len\].*shape \[3\]; for one text use ids.unsqueeze"),
        ([[3.0, 4.0, 5.0]], [3], "int64 or int32 tensor.*float32"),
        ([[3, 4], [5, 6]], [2], r"lengths must be a tensor \[batch\] = \[2\].*shape \[1\]"),
        ([[3, 4, 5]], [[3]], r"shape \[1, 1\]"),
        ([[3, 4, 5]], [3.0], "lengths must be an integer tensor"),
        ([[3, 4, 5, 0]], [9], r"lengths\[0\] is 9, outside \[0, 4\]"),
        ([[3, 4, 5, 0]], [-1], r"lengths\[0\] is -1"),
        ([[3, 4, VOCAB + 5]], [3], rf"ids\[0, 2\] is {VOCAB + 5}, outside .* {VOCAB} rows"),
        ([[3, -1, 5]], [3], r"ids\[0, 1\] is -1"),
    ],
    ids=["1d-ids", "float-ids", "lengths-size", "lengths-2d", "float-lengths", "length-past-T",
         "negative-length", "id-past-vocab", "negative-id"],
)
def test_a_malformed_batch_is_a_data_error_naming_it(kind, options, ids, lengths, match):
    # These used to fail deep in torch (tuple index out of range, a CUDA device-side assert
    # for an id past the embedding) or silently answer (lengths broadcast, or read as T).
    model = build_model(kind, make_embedding(), CLASSES, **options).eval()
    with pytest.raises(DataError, match=match):
        model(torch.tensor(ids), torch.tensor(lengths))


@pytest.mark.parametrize(("kind", "options"), ALL_FAMILIES)
def test_padding_may_hold_ids_outside_the_embedding(kind, options):
    # "positions >= lengths[i] are padding, whatever id they hold": -1 or -100 too.
    model = build_model(kind, make_embedding(), CLASSES, **options).eval()
    a = model(torch.tensor([[3, 4, 5, 0, 0], [6, 0, 0, 0, 0]]), torch.tensor([3, 1]))
    b = model(torch.tensor([[3, 4, 5, -1, -100], [6, VOCAB, 10**6, -1, -1]]), torch.tensor([3, 1]))
    torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


@pytest.mark.parametrize(("kind", "options"), ALL_FAMILIES)
def test_an_empty_batch_and_a_batch_of_zero_positions(kind, options):
    # `Vocab.encode([])` gives ids [0, 0]; a hand-made batch of empty texts [B, 0]. The RNN
    # could not pack them, attention could not reshape them, SWEM-hier could not pool them.
    model = build_model(kind, make_embedding(), CLASSES, **options).eval()
    none = torch.zeros(0, 0, dtype=torch.long)
    assert model(none, torch.zeros(0, dtype=torch.long)).shape == (0, CLASSES)
    lengths = torch.tensor([0, 0])
    empty = model(torch.zeros(2, 0, dtype=torch.long), lengths)
    torch.testing.assert_close(empty, model(torch.zeros(2, 1, dtype=torch.long), lengths))


def test_no_autocast_context_is_entered_where_autocast_is_off(monkeypatch):
    # torch < 2.5 raises for torch.autocast("mps", enabled=False): entered on every
    # forward, the RNN failed on Apple GPUs though nothing asked for autocast
    from vecgraft.nn import models

    model = build_model("rnn", make_embedding(), CLASSES, hidden_size=5)

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("unsupported autocast device_type 'mps'")

    monkeypatch.setattr(torch, "autocast", refused)
    ids, lengths = batch()
    assert model(ids, lengths).shape == (3, CLASSES)
    assert not models._autocast_on("cpu") and not models._autocast_on("mps")


def test_autocast_on_reads_older_torchs_autocast_flags(monkeypatch):
    # torch < 2.4's is_autocast_enabled takes no device type: it is CUDA's
    from vecgraft.nn import models

    def no_device_type(*args: Any) -> bool:
        if args:
            raise TypeError("is_autocast_enabled() takes 0 positional arguments")
        return True

    monkeypatch.setattr(torch, "is_autocast_enabled", no_device_type)
    monkeypatch.setattr(torch, "is_autocast_cpu_enabled", lambda: False)
    assert models._autocast_on("cuda") and not models._autocast_on("cpu")
    assert not models._autocast_on("mps")


def test_fasttext_bigrams_get_no_gradient_from_one_word_texts_in_one_process():
    # the zero that keeps the table in DDP's graph gave it a zero grad in one process too:
    # AdamW then decayed the table at steps that had not used it, unlike before
    model = build_model("fasttext", make_embedding(), CLASSES, buckets=16)
    model(torch.tensor([[3], [5]]), torch.tensor([1, 1])).sum().backward()
    assert model.bigrams.weight.grad is None


@pytest.mark.parametrize(("kind", "options"), ALL_FAMILIES)
def test_a_left_padded_batch_is_refused_not_read_as_right_padded(kind, options):
    # The models read the first lengths[i] positions; Vocab.encode(padding_side="left") put
    # the padding there, and every model silently gave other outputs (transformer: 1.5 off).
    from vecgraft.text import Vocab

    docs = [["a", "b", "c", "a"], ["b"], ["c", "a"]]
    vocab = Vocab.from_tokens(docs)
    emb = nn.Embedding(len(vocab), DIM, padding_idx=vocab.pad_index)
    model = build_model(kind, emb, CLASSES, **options).eval()
    model(*vocab.encode(docs))
    with pytest.raises(DataError, match=r'left-padded: row 1 .*padding_side="right"'):
        model(*vocab.encode(docs, padding_side="left"))


@pytest.mark.parametrize(("kind", "options"), ALL_FAMILIES)
def test_a_right_padded_text_may_start_with_the_padding_id(kind, options):
    # a text holding the pad token ("<pad>" written in the data) is no left padding: its
    # padding tail holds the pad id, and a full-length row has no padding to judge by
    model = build_model(kind, make_embedding(), CLASSES, **options).eval()
    ids = torch.tensor([[0, 4, 5, 0, 0], [0, 3, 0, 0, 7], [0, 0, 0, 0, 7]])
    assert model(ids, torch.tensor([3, 5, 0])).shape == (3, CLASSES)


def test_a_right_padded_text_starting_with_the_padding_id_may_pad_with_anything():
    # "padding may hold anything": a right-padded text whose first token is the pad id and
    # whose padding is another id was refused as left-padded (only position 0 was read)
    emb = nn.Embedding(10, 4, padding_idx=1)
    model = build_model("boe", emb, CLASSES).eval()
    ids = torch.tensor([[1, 5, 0, 0], [3, 4, 5, 6]])
    assert model(ids, torch.tensor([2, 4])).shape == (2, CLASSES)
    with pytest.raises(DataError, match=r"left-padded: row 0 \(length 2 of 4\)"):
        model(torch.tensor([[1, 1, 5, 0], [3, 4, 5, 6]]), torch.tensor([2, 4]))
