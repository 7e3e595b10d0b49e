"""One length for an empty document: 0, in `Vocab.encode` and in fine-tuning batches alike.

Batching used to report 1 for an empty document; the models already read a length of 0 as one
padding position, so the logits must be exactly those the old length gave, for every model.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vecgraft.finetune.batching import EncodedData, pad_batch
from vecgraft.nn.models import build_model
from vecgraft.text.vocab import Vocab

DOCS = [["a", "b", "a"], [], ["b"], []]


def test_encode_and_batching_agree_on_empty_documents():
    vocab = Vocab.from_counts({"a": 2, "b": 1})
    ids, lengths = vocab.encode(DOCS)
    assert lengths.tolist() == [3, 0, 1, 0]
    batch_ids, batch_lengths = pad_batch([vocab.lookup_ids(d) for d in DOCS], vocab.pad_index)
    assert torch.equal(batch_ids, ids) and torch.equal(batch_lengths, lengths)
    data = EncodedData([vocab.lookup_ids(d) for d in DOCS], [0, 1, 0, 1], vocab.pad_index)
    assert data.lengths == [3, 0, 1, 0]
    b_ids, b_lengths, labels = data.batch([1, 3])  # only empty documents: still one column
    assert b_ids.tolist() == [[0], [0]] and b_lengths.tolist() == [0, 0]
    assert labels.tolist() == [1, 1]


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("boe", {"pooling": "mean_max"}),
        ("cnn", {"filter_widths": [2, 3], "num_filters": 4}),
        ("rnn", {"cell": "lstm", "hidden_size": 5, "pooling": "last"}),
        ("rnn", {"cell": "gru", "hidden_size": 5, "pooling": "attention"}),
        ("transformer", {"num_layers": 1, "pooling": "mean", "max_length": 8}),
    ],
    ids=["boe", "cnn", "lstm-packed", "gru-packed", "transformer"],
)
def test_models_give_length_zero_the_logits_length_one_gave(kind, options):
    torch.manual_seed(0)
    model = build_model(kind, nn.Embedding(6, 4, padding_idx=0), 3, **options).eval()
    ids, lengths = pad_batch([[2, 3, 4], [], [5]], pad_index=0)
    assert lengths.tolist() == [3, 0, 1]
    with torch.no_grad():
        now = model(ids, lengths)
        before = model(ids, lengths.clamp(min=1))  # what batching used to pass
    assert torch.isfinite(now).all()
    assert torch.equal(now, before)
    model.train()
    model(ids, lengths).sum().backward()  # a training step through packed RNNs works
