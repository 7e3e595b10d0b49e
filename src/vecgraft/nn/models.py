"""Text classifiers built on a (pretrained) `nn.Embedding`.

Every model here is a plain `nn.Module` with the same call shape, so a user can drop one into
their own training code:

    logits = model(ids, lengths)   # ids: LongTensor [batch, seq_len], lengths: LongTensor [batch]
                                   # logits: [batch, num_classes]

Batches are right-padded (`Vocab.encode`'s default; a visibly left-padded batch is a
`DataError`) and padding is defined by `lengths`
(positions `>= lengths[i]` are padding, whatever id they hold, normally `embedding.padding_idx`),
so a sequence gives the same output however far it is padded. A malformed batch (1-D or
float ids, lengths of another size or past `seq_len`, a real id outside the embedding) is a
`DataError` naming the culprit, raised before any lookup (on CUDA an id past the embedding
would otherwise be a device-side assert). The embedding is kept as
`model.embedding` so a trainer can freeze it or give it its own learning rate, and
`model.config` (kind, num_classes and every option, JSON-able) rebuilds the same architecture:

    >>> emb = nn.Embedding(10, 8, padding_idx=0)
    >>> model = build_model("cnn", emb, num_classes=3, filter_widths=[2, 3], num_filters=4)
    >>> same = build_model(embedding=nn.Embedding(10, 8, padding_idx=0), **model.config)
    >>> model(torch.tensor([[4, 5, 6]]), torch.tensor([3])).shape
    torch.Size([1, 3])

Nothing is device-specific: move a model with `.to(device)` and pass tensors on that device
(lengths may live on the CPU or the device).
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Sequence
from enum import StrEnum
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from vecgraft._util.options import parse_enum
from vecgraft.errors import ConfigError, DataError
from vecgraft.nn.kinds import ModelKind  # re-exported: defined where no torch is imported

__all__ = [
    "BagOfEmbeddings",
    "BiLSTMClassifier",
    "BigramHash",
    "CNNChannels",
    "Cell",
    "FastTextClassifier",
    "KimCNN",
    "ModelKind",
    "model_option_defaults",
    "Pooling",
    "PositionKind",
    "RNNClassifier",
    "RNNPooling",
    "SWEM",
    "TransformerClassifier",
    "TransformerPooling",
    "build_model",
    "check_batch",
    "empty_embedding",
    "lengths_mask",
    "model_from_spec",
    "model_spec",
    "restored_options",
]

# torch.compiler.is_compiling arrived in torch 2.3; 2.1-2.2 (pyproject allows 2.1) have
# torch._utils.is_compiling, which torch.compile patches alike
_is_compiling = getattr(torch.compiler, "is_compiling", None) or torch._utils.is_compiling


class Pooling(StrEnum):
    """How a bag of embeddings is reduced to one vector (fastText uses mean)."""

    MEAN = "mean"
    MAX = "max"
    MEAN_MAX = "mean_max"  # SWEM-concat
    HIERARCHICAL = "hierarchical"  # SWEM-hier: mean over each window of n tokens, then max


class BigramHash(StrEnum):
    """How `FastTextClassifier` maps a pair of token ids (a, b) to a row of its bigram table."""

    # lowbias32(lowbias32(a) ^ b) mod buckets: every bit of both ids mixed (`_mix32`)
    MIX = "mix"
    # (a * 1000003 + b) mod buckets: at 50,000 buckets it is (3a + b) mod 50,000, so
    # (10, 20), (11, 17) and (12, 14) share a row, and MR's 102,379 bigrams filled 29,085
    # rows where a uniform hash fills ~43,500. Runs saved before the option was recorded
    # (`restored_options`) keep it: their bigram tables were trained on its rows
    LEGACY = "legacy"


class CNNChannels(StrEnum):
    """Kim (2014)'s CNN variants: how the embedding is trained."""

    NON_STATIC = "non_static"  # one embedding, fine-tuned (the trainer's freeze_epochs apply)
    STATIC = "static"  # one embedding, never updated
    MULTICHANNEL = "multichannel"  # two copies: one fine-tuned, one frozen; filters see both


class Cell(StrEnum):
    """Recurrent cell of `RNNClassifier`."""

    LSTM = "lstm"
    GRU = "gru"


class RNNPooling(StrEnum):
    """How `RNNClassifier` turns per-token states into one vector."""

    ATTENTION = "attention"
    MAX = "max"
    MEAN = "mean"
    LAST = "last"


class PositionKind(StrEnum):
    """Position information added to a Transformer's input."""

    LEARNED = "learned"
    SINUSOIDAL = "sinusoidal"


class TransformerPooling(StrEnum):
    """Which output of the Transformer encoder feeds the classifier."""

    MEAN = "mean"
    CLS = "cls"


def _check(condition: bool, message: str) -> None:
    """Raise ConfigError(message) unless `condition` (never `assert`: it vanishes under -O)."""
    if not condition:
        raise ConfigError(message)


def lengths_mask(lengths: torch.Tensor, seq_len: int) -> torch.Tensor:
    """Boolean mask of real tokens.

    Args:
        lengths: LongTensor [batch], number of real tokens per row.
        seq_len: padded length T.

    Returns:
        BoolTensor [batch, T], True where position < length.
    """
    positions = torch.arange(seq_len, device=lengths.device)
    return positions.unsqueeze(0) < lengths.unsqueeze(1)


_ID_DTYPES = (torch.int64, torch.int32)


def check_batch(
    ids: torch.Tensor,
    lengths: torch.Tensor,
    num_embeddings: int,
    padding_idx: int | None = None,
) -> None:
    """Raise DataError unless ids [B, T] and lengths [B] are a batch a model can read.

    Why: a wrong batch used to fail deep inside torch ("tuple index out of range" for 1-D
    ids, a device-side assert on CUDA for an id past the embedding) or, worse, gave an
    answer: lengths of another batch size broadcast, lengths past T were read as T. Only
    real positions (< lengths[i]) must hold valid ids; padding may hold anything.
    A visibly left-padded batch (`padding_side="left"`) is refused too: the models read the
    first lengths[i] positions, so it silently gave other outputs. A row is taken as
    left-padded when 0 < lengths[i] < T, all of its first T - lengths[i] positions (the
    padding, under left padding; real tokens, under right padding) hold `padding_idx` and
    its last position does not (padding, under right padding). Skipped under
    `torch.compile` (reading a tensor's values there breaks the graph).

    Args:
        ids: integer tensor [batch, seq_len] (int64 or int32).
        lengths: integer tensor [batch], each in [0, seq_len].
        num_embeddings: rows of the embedding the ids index.
        padding_idx: the embedding's padding id; None skips the left-padding check.
    """
    if not isinstance(ids, torch.Tensor) or not isinstance(lengths, torch.Tensor):
        raise DataError(
            "a model takes two tensors, ids [batch, seq_len] and lengths [batch]; got "
            f"{type(ids).__name__} and {type(lengths).__name__}"
        )
    if ids.dim() != 2 or ids.dtype not in _ID_DTYPES:
        raise DataError(
            f"ids must be an int64 or int32 tensor [batch, seq_len], got {ids.dtype} of shape "
            f"{list(ids.shape)}" + ("; for one text use ids.unsqueeze(0)" if ids.dim() == 1 else "")
        )
    if lengths.dim() != 1 or lengths.shape[0] != ids.shape[0]:
        raise DataError(
            f"lengths must be a tensor [batch] = [{ids.shape[0]}] (one per row of ids), got "
            f"shape {list(lengths.shape)}"
        )
    if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype is torch.bool:
        raise DataError(f"lengths must be an integer tensor, got {lengths.dtype}")
    if _is_compiling():
        return
    seq_len = ids.shape[1]
    lengths = lengths.to(ids.device)
    real = lengths_mask(lengths, seq_len)
    outside = ((ids < 0) | (ids >= num_embeddings)) & real
    bad_length = (lengths < 0) | (lengths > seq_len)
    left = _left_padded_rows(ids, lengths, padding_idx)
    if not bool(outside.any() | bad_length.any() | left.any()):  # one host sync for all checks
        return
    if bool(bad_length.any()):
        row = int(bad_length.nonzero()[0, 0])
        raise DataError(
            f"lengths[{row}] is {int(lengths[row])}, outside [0, {seq_len}] (ids have "
            f"{seq_len} positions)"
        )
    if bool(left.any()):
        row = int(left.nonzero()[0, 0])
        length = int(lengths[row])
        raise DataError(
            f"the batch looks left-padded: row {row} (length {length} of {seq_len}) starts "
            f"with {seq_len - length} padding id(s) {padding_idx}, but the models read the first "
            "lengths[i] positions as the text; encode with padding_side=\"right\" (the default)"
        )
    row, pos = (int(i) for i in outside.nonzero()[0])
    raise DataError(
        f"ids[{row}, {pos}] is {int(ids[row, pos])}, outside the embedding's "
        f"{num_embeddings} rows (0..{num_embeddings - 1}); were the texts encoded with "
        "another vocabulary?"
    )


def _left_padded_rows(
    ids: torch.Tensor, lengths: torch.Tensor, padding_idx: int | None
) -> torch.Tensor:
    """Bool [B]: rows that are visibly left-padded (see `check_batch`); none without a pad id."""
    if padding_idx is None or ids.shape[1] == 0:
        return torch.zeros_like(lengths, dtype=torch.bool)
    seq_len = ids.shape[1]
    partial = (lengths > 0) & (lengths < seq_len)
    # the first T - lengths[i] positions: left padding would fill them all with the pad id
    head = torch.arange(seq_len, device=ids.device) < (seq_len - lengths).unsqueeze(1)
    head_padded = ((ids == padding_idx) | ~head).all(dim=1)
    return partial & head_padded & (ids[:, -1] != padding_idx)


def _embed(
    embedding: nn.Embedding, ids: torch.Tensor, lengths: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Embed ids and zero the padding, whatever row the padding id has.

    Returns:
        (x [B, T, D], mask [B, T] bool, lengths [B] on ids.device clamped to >= 1). An empty
        text keeps one (zero) position, so pooling never divides by zero or maxes over nothing.
        That position is zeroed by the true length, not the clamped one: it is padding, and
        whatever id or row it holds must not reach the output.
    """
    lengths = lengths.to(ids.device)
    real = lengths_mask(lengths, ids.shape[1])
    # padding may hold any id (-1, an id of another vocabulary): look up a valid row instead
    pad = embedding.padding_idx if embedding.padding_idx is not None else 0
    x = embedding(ids.masked_fill(~real, pad)) * real.unsqueeze(-1).to(embedding.weight.dtype)
    lengths = lengths.clamp(min=1)
    return x, lengths_mask(lengths, ids.shape[1]), lengths


def _masked_max(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Max over dim 1 of x [B, T, H] ignoring positions where mask [B, T] is False."""
    return x.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(dim=1)


def _masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over dim 1 of x [B, T, H] counting only positions where mask [B, T] is True."""
    m = mask.unsqueeze(-1).to(x.dtype)
    return (x * m).sum(dim=1) / m.sum(dim=1).clamp(min=1)


def _hierarchical(x: torch.Tensor, lengths: torch.Tensor, window: int) -> torch.Tensor:
    """SWEM-hier: mean over every window of `window` tokens [B, T, D], then max -> [B, D].

    A text shorter than the window is one window (its mean); windows that reach past the text
    are ignored, so the result does not depend on how far a batch is padded.
    """
    width = min(window, x.shape[1])
    sums = F.avg_pool1d(x.transpose(1, 2), width, stride=1) * width  # [B, D, T - width + 1]
    size = lengths.clamp(max=width).to(x.dtype)  # tokens in a window (short texts: fewer)
    means = sums / size.view(-1, 1, 1)
    n_windows = (lengths - width + 1).clamp(min=1)
    valid = lengths_mask(n_windows, means.shape[2]).unsqueeze(1)
    return means.masked_fill(~valid, float("-inf")).amax(dim=2)


def _autocast_on(device_type: str) -> bool:
    """Whether autocast is on for `device_type`, on every torch the project supports.

    Why: `torch.is_autocast_enabled(device_type)` is torch >= 2.4's; older ones take no
    argument (CUDA's) and ask CPU's by `is_autocast_cpu_enabled`, and had no autocast for
    other devices (MPS's came with 2.5).
    """
    try:
        return bool(torch.is_autocast_enabled(device_type))
    except (TypeError, RuntimeError):  # torch < 2.4, or a device it has no autocast for
        if device_type == "cpu":
            return bool(torch.is_autocast_cpu_enabled())
        if device_type == "cuda":
            return bool(torch.is_autocast_enabled())
        return False


def _distributed() -> bool:
    """Whether this process is one of a process group (a DDP run)."""
    return bool(torch.distributed.is_available() and torch.distributed.is_initialized())


class _Classifier(nn.Module):
    """Base: keeps `embedding`, the resolved `config`, and validates the common arguments."""

    kind: ModelKind

    def __init__(self, embedding: nn.Embedding, num_classes: int) -> None:
        super().__init__()
        _check(
            isinstance(embedding, nn.Embedding),
            f"embedding must be a torch.nn.Embedding, got {type(embedding).__name__}",
        )
        _check(
            isinstance(num_classes, int) and num_classes >= 1,
            f"num_classes must be an integer >= 1 (1: one regression output), got {num_classes!r}",
        )
        self.embedding = embedding
        self.num_classes = num_classes
        self.config: dict[str, Any] = {"kind": self.kind.value, "num_classes": num_classes}

    def _batch(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`check_batch`, then ids [B, 0] (all texts empty) get one padding position [B, 1].

        Why: pooling, packing and attention need one position; `Vocab.encode([])` gives
        [0, 0] and a hand-made batch of empty texts [B, 0].
        """
        check_batch(ids, lengths, self.embedding.num_embeddings, self.embedding.padding_idx)
        if ids.shape[1] == 0:
            pad = self.embedding.padding_idx if self.embedding.padding_idx is not None else 0
            ids = ids.new_full((ids.shape[0], 1), pad)
        return ids, lengths

    def _no_logits(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits [0, C] of an empty batch (an RNN cannot pack it, attention cannot reshape it)."""
        return self.embedding.weight.new_zeros(0, self.num_classes).to(ids.device)

    @property
    def embedding_dim(self) -> int:
        """Width D of the embedding."""
        return int(self.embedding.embedding_dim)


class BagOfEmbeddings(_Classifier):
    """fastText-style classifier: pool the token vectors, then a linear layer (or a small MLP).

    Shapes: ids [B, T], lengths [B] -> embeddings [B, T, D] -> pooled [B, D] ([B, 2D] for
    mean_max) -> optional hidden [B, hidden_size] -> logits [B, C].

    Args:
        embedding: the token embedding (padding positions are ignored by the pooling).
        num_classes: C.
        pooling: "mean", "max", "mean_max" (concatenation of both) or "hierarchical"
            (mean over each window of `window` tokens, then max: SWEM-hier).
        hidden_size: width of one ReLU hidden layer; 0 means none (plain fastText).
        dropout: dropout on the pooled vector (and the hidden layer).
        window: window n of hierarchical pooling (Shen et al. 2018 use 5).
    """

    kind = ModelKind.BOE
    default_pooling: Pooling = Pooling.MEAN

    def __init__(
        self,
        embedding: nn.Embedding,
        num_classes: int,
        *,
        pooling: Pooling | str | None = None,
        hidden_size: int = 0,
        dropout: float = 0.0,
        window: int = 5,
    ) -> None:
        super().__init__(embedding, num_classes)
        self.pooling = parse_enum(Pooling, pooling or self.default_pooling, "pooling")
        _check(hidden_size >= 0, f"hidden_size must be >= 0, got {hidden_size}")
        _check(0.0 <= dropout < 1.0, f"dropout must be in [0, 1), got {dropout}")
        _check(window >= 1, f"window must be >= 1, got {window}")
        self.window = window
        width = self.embedding_dim * (2 if self.pooling is Pooling.MEAN_MAX else 1)
        layers: list[nn.Module] = [nn.Dropout(dropout)]
        if hidden_size:
            layers += [nn.Linear(width, hidden_size), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden_size
        layers.append(nn.Linear(width, num_classes))
        self.head = nn.Sequential(*layers)
        self.config.update(
            pooling=self.pooling.value, hidden_size=hidden_size, dropout=dropout, window=window
        )

    def pool(self, x: torch.Tensor, mask: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Token vectors x [B, T, D] (padding zeroed) -> one vector per text [B, D or 2D]."""
        if self.pooling is Pooling.MEAN:
            return _masked_mean(x, mask)
        if self.pooling is Pooling.MAX:
            return _masked_max(x, mask)
        if self.pooling is Pooling.HIERARCHICAL:
            return _hierarchical(x, lengths, self.window)
        return torch.cat([_masked_mean(x, mask), _masked_max(x, mask)], dim=-1)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits [B, C] for ids [B, T] with lengths [B]."""
        ids, lengths = self._batch(ids, lengths)
        x, mask, lengths = _embed(self.embedding, ids, lengths)
        return self.head(self.pool(x, mask, lengths))


class SWEM(BagOfEmbeddings):
    """SWEM (Shen et al. 2018): simple pooling of word embeddings; default SWEM-concat.

    The same model as `BagOfEmbeddings` (pooling average / max / mean_max = concat /
    hierarchical with `window`), under the name the literature uses, with concat pooling by
    default.
    """

    kind = ModelKind.SWEM
    default_pooling = Pooling.MEAN_MAX


_BIGRAM_PRIME = 1_000_003  # BigramHash.LEGACY's multiplier
_M32 = 0xFFFF_FFFF


def _mul32(h: torch.Tensor, k: int) -> torch.Tensor:
    """The product h * k mod 2**32, for h in [0, 2**32) and a 32-bit constant k.

    In 16-bit halves of k, so no product passes 2**48: an int64 product that overflows is
    undefined in C++, and this must give the same rows on every device.
    """
    low = h * (k & 0xFFFF)
    high = (h * (k >> 16)) & 0xFFFF
    return (low + (high << 16)) & _M32


def _mix32(h: torch.Tensor) -> torch.Tensor:
    """lowbias32 (Wellons' hash-prospector): a bijection of [0, 2**32) that mixes every bit."""
    h = h ^ (h >> 16)
    h = _mul32(h, 0x7FEB352D)
    h = h ^ (h >> 15)
    h = _mul32(h, 0x846CA68B)
    return h ^ (h >> 16)


def bigram_rows(
    a: torch.Tensor, b: torch.Tensor, buckets: int, scheme: BigramHash = BigramHash.MIX
) -> torch.Tensor:
    """Rows in [0, buckets) of the int64 token-id pairs (a, b) under `scheme`."""
    if scheme is BigramHash.LEGACY:
        return (a * _BIGRAM_PRIME + b) % buckets
    return _mix32(_mix32(a & _M32) ^ (b & _M32)) % buckets


class FastTextClassifier(BagOfEmbeddings):
    """fastText (Joulin et al. 2017): the mean of word vectors and hashed word-bigram vectors.

    Word rows come from `embedding` (pretrained or random); each adjacent pair of token ids
    (a, b) gets a row of a separate, trainable bigram table by hashing (`bigram_hash`), so
    bigrams need no vocabulary and the checkpoint has a fixed size. Shapes: ids [B, T] ->
    words [B, T, D] and bigrams [B, T-1, D] -> pooled over both [B, D] -> logits [B, C].

    Args:
        embedding: the word embedding.
        num_classes: C.
        buckets: rows of the hashed bigram table (0: words only).
        bigram_hash: "mix" (a 32-bit mix of both ids, mod buckets; near-uniform rows) or
            "legacy" (`(a * 1000003 + b) mod buckets`, which crowds bigrams into few rows at
            round bucket counts: what runs saved before this option was recorded were
            trained with, and are rebuilt with; see `BigramHash`).
        pooling, hidden_size, dropout, window: as `BagOfEmbeddings` (pooling runs over the
            words followed by the bigrams).
    """

    kind = ModelKind.FASTTEXT

    def __init__(
        self,
        embedding: nn.Embedding,
        num_classes: int,
        *,
        buckets: int = 50_000,
        pooling: Pooling | str | None = None,
        hidden_size: int = 0,
        dropout: float = 0.0,
        window: int = 5,
        bigram_hash: BigramHash | str = BigramHash.MIX,
    ) -> None:
        super().__init__(
            embedding,
            num_classes,
            pooling=pooling,
            hidden_size=hidden_size,
            dropout=dropout,
            window=window,
        )
        _check(buckets >= 0, f"buckets must be >= 0, got {buckets}")
        self.buckets = buckets
        self.bigram_hash = parse_enum(BigramHash, bigram_hash, "bigram_hash")
        self.bigrams: nn.Embedding | None = None
        if buckets:
            self.bigrams = nn.Embedding(buckets, self.embedding_dim)
            nn.init.normal_(self.bigrams.weight, std=0.01)
        self.config.update(buckets=buckets, bigram_hash=self.bigram_hash.value)

    def use_bigram_hash(self, scheme: BigramHash | str) -> None:
        """Hash bigrams by `scheme` from now on (a resumed run's table was trained with it)."""
        self.bigram_hash = parse_enum(BigramHash, scheme, "bigram_hash")
        self.config["bigram_hash"] = self.bigram_hash.value

    def bigram_ids(self, ids: torch.Tensor) -> torch.Tensor:
        """Hashed bigram rows [B, T-1] of adjacent token ids [B, T]."""
        a, b = ids[:, :-1].long(), ids[:, 1:].long()
        return bigram_rows(a, b, max(self.buckets, 1), self.bigram_hash)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits [B, C] for ids [B, T] with lengths [B]."""
        ids, lengths = self._batch(ids, lengths)
        x, mask, lengths = _embed(self.embedding, ids, lengths)
        if self.bigrams is not None and ids.shape[1] > 1:
            pairs = (lengths - 1).clamp(min=0)
            pair_mask = lengths_mask(pairs, ids.shape[1] - 1)
            y = self.bigrams(self.bigram_ids(ids)) * pair_mask.unsqueeze(-1).to(x.dtype)
            y = y.to(x.dtype)
            if self.pooling is Pooling.MEAN or self.pooling is Pooling.MAX or (
                self.pooling is Pooling.MEAN_MAX
            ):
                mean = (x.sum(1) + y.sum(1)) / (lengths + pairs).unsqueeze(-1).to(x.dtype)
                top = torch.maximum(_masked_max(x, mask), _masked_max(y, pair_mask))
                if self.pooling is Pooling.MEAN:
                    return self.head(mean)
                if self.pooling is Pooling.MAX:
                    return self.head(top)
                return self.head(torch.cat([mean, top], dim=-1))
            # hierarchical: real words, then real bigrams, then padding, as one sequence
            order = torch.cat([mask, pair_mask], dim=1).to(torch.int8).argsort(
                dim=1, descending=True, stable=True
            )
            z = torch.cat([x, y], dim=1)
            x = z.gather(1, order.unsqueeze(-1).expand(-1, -1, z.shape[2]))
            lengths = lengths + pairs
            mask = lengths_mask(lengths, x.shape[1])
        logits = self.head(self.pool(x, mask, lengths))
        if self.bigrams is not None and ids.shape[1] <= 1 and _distributed():
            # no pair in the batch: an exact zero from the table keeps it in the graph, as DDP
            # (which does not look for unused parameters) expects of every parameter. Only
            # then: in one process the table's grad stays None, so AdamW skips it (no decay)
            logits = logits + self.bigrams.weight[:0].sum()
        return logits


class KimCNN(_Classifier):
    """Kim (2014) sentence CNN: parallel 1-D convolutions, ReLU, max over time, dropout, linear.

    Shapes: ids [B, T] -> embeddings [B, D, T'] (T' = max(T, widest filter): short texts are
    zero-padded so every filter has one window) -> per width w: conv [B, F, T'-w+1], max over
    the L - w + 1 windows that lie wholly inside a text of L tokens (one, zero-padded, when
    L < w) -> concat [B, F * len(filter_widths)] -> logits [B, C].

    This is a narrow convolution: a window holding the last w - 1 tokens or fewer and then
    padding is never scored. Kim's reference code (CNN_sentence) pads every sentence with
    (widest filter - 1) zero vectors at both ends, a wide convolution whose windows also
    cover the text's edges with fewer tokens; the defaults here were chosen with the narrow one.
    Kim's l2 max-norm constraint on the output weights (rescaled to norm s = 3 after each
    step) is left out: Zhang & Wallace (2015) found it has little effect on the results.

    Args:
        embedding: the token embedding.
        num_classes: C.
        filter_widths: n-gram widths of the filters (Kim: 3, 4, 5).
        num_filters: feature maps F per width (Kim: 100).
        dropout: dropout before the output layer (Kim: 0.5).
        channels: "non_static" (the embedding is fine-tuned), "static" (never updated:
            `frozen_embedding` is True and the trainer keeps it frozen) or "multichannel"
            (a frozen copy, `static_embedding`, beside the tuned one; each filter sees both
            and their responses are added, as in Kim 2014).
    """

    kind = ModelKind.CNN

    def __init__(
        self,
        embedding: nn.Embedding,
        num_classes: int,
        *,
        filter_widths: Sequence[int] = (3, 4, 5),
        num_filters: int = 100,
        dropout: float = 0.5,
        channels: CNNChannels | str = CNNChannels.NON_STATIC,
    ) -> None:
        super().__init__(embedding, num_classes)
        self.channels = parse_enum(CNNChannels, channels, "channels")
        self.frozen_embedding = self.channels is CNNChannels.STATIC
        if self.frozen_embedding:
            embedding.weight.requires_grad_(False)
        self.static_embedding: nn.Embedding | None = None
        if self.channels is CNNChannels.MULTICHANNEL:
            self.static_embedding = nn.Embedding.from_pretrained(
                embedding.weight.detach().clone(), freeze=True, padding_idx=embedding.padding_idx
            )
        widths = [int(w) for w in filter_widths]
        _check(
            bool(widths) and all(w >= 1 for w in widths),
            f"filter_widths must be positive integers, got {list(filter_widths)}",
        )
        _check(num_filters >= 1, f"num_filters must be >= 1, got {num_filters}")
        _check(0.0 <= dropout < 1.0, f"dropout must be in [0, 1), got {dropout}")
        self.filter_widths = widths
        self.convs = nn.ModuleList(
            nn.Conv1d(self.embedding_dim, num_filters, kernel_size=w) for w in widths
        )
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(num_filters * len(widths), num_classes)
        self.config.update(
            filter_widths=widths,
            num_filters=num_filters,
            dropout=dropout,
            channels=self.channels.value,
        )

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits [B, C] for ids [B, T] with lengths [B]."""
        ids, lengths = self._batch(ids, lengths)
        x, _, clamped = _embed(self.embedding, ids, lengths)
        inputs = [x]
        if self.static_embedding is not None:  # the true lengths: they zero an empty text
            inputs.append(_embed(self.static_embedding, ids, lengths)[0])
        lengths = clamped
        widest = max(self.filter_widths)
        if x.shape[1] < widest:
            inputs = [F.pad(v, (0, 0, 0, widest - v.shape[1])) for v in inputs]
        # contiguous once here: each of the convolutions copied the transposed view itself
        inputs = [v.transpose(1, 2).contiguous() for v in inputs]  # [B, D, T']
        features = []
        for width, conv in zip(self.filter_widths, self.convs):
            h = conv(inputs[0])  # [B, F, T' - w + 1]
            for other in inputs[1:]:  # multichannel: same filters, responses added
                h = h + F.conv1d(other, cast(nn.Conv1d, conv).weight)
            # Only the L - w + 1 windows wholly inside the text count (a narrow convolution):
            # the later ones hold its last w - 1 tokens or fewer, then padding. A text shorter
            # than w keeps its one (zero-padded) window.
            n_windows = (lengths - width + 1).clamp(min=1)
            valid = lengths_mask(n_windows, h.shape[2]).unsqueeze(1)
            # in place: the convolution's backward needs its input, not its output, so the
            # masked copy of [B, F, T'] per width (3 per step) was a pass for nothing
            h = h.masked_fill_(~valid, float("-inf")).amax(dim=2)
            features.append(F.relu(h))
        return self.out(self.dropout(torch.cat(features, dim=1)))


class RNNClassifier(_Classifier):
    """(Bi)LSTM/GRU over packed sequences, pooled by attention, max, mean or the last state.

    Shapes: ids [B, T] -> embeddings [B, T, D] -> packed RNN -> states [B, T, H * dirs]
    -> pooled [B, H * dirs] -> logits [B, C]. Packing (`enforce_sorted=False`) means padding
    never enters the recurrence.

    Args:
        embedding: the token embedding.
        num_classes: C.
        cell: "lstm" or "gru".
        hidden_size: H per direction.
        num_layers: stacked layers.
        bidirectional: run a backward RNN too.
        pooling: "attention" (additive, masked), "max", "mean" or "last" (final hidden states).
        dropout: on the embeddings, between layers and before the output layer.
    """

    kind = ModelKind.RNN

    def __init__(
        self,
        embedding: nn.Embedding,
        num_classes: int,
        *,
        cell: Cell | str = Cell.LSTM,
        hidden_size: int = 128,
        num_layers: int = 1,
        bidirectional: bool = True,
        pooling: RNNPooling | str = RNNPooling.ATTENTION,
        dropout: float = 0.3,
    ) -> None:
        super().__init__(embedding, num_classes)
        self.cell = parse_enum(Cell, cell, "cell")
        self.pooling = parse_enum(RNNPooling, pooling, "pooling")
        _check(hidden_size >= 1, f"hidden_size must be >= 1, got {hidden_size}")
        _check(num_layers >= 1, f"num_layers must be >= 1, got {num_layers}")
        _check(0.0 <= dropout < 1.0, f"dropout must be in [0, 1), got {dropout}")
        rnn_cls = nn.LSTM if self.cell is Cell.LSTM else nn.GRU
        self.rnn = rnn_cls(
            self.embedding_dim,
            hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        width = hidden_size * (2 if bidirectional else 1)
        self.attention: nn.Module | None = None
        if self.pooling is RNNPooling.ATTENTION:
            self.attention = nn.Sequential(
                nn.Linear(width, width), nn.Tanh(), nn.Linear(width, 1, bias=False)
            )
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(width, num_classes)
        self.config.update(
            cell=self.cell.value,
            hidden_size=hidden_size,
            num_layers=num_layers,
            bidirectional=bool(bidirectional),
            pooling=self.pooling.value,
            dropout=dropout,
        )

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits [B, C] for ids [B, T] with lengths [B]."""
        ids, lengths = self._batch(ids, lengths)
        if ids.shape[0] == 0:
            return self._no_logits(ids)
        x, mask, lengths = _embed(self.embedding, ids, lengths)
        packed = pack_padded_sequence(
            self.dropout(x), lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        packed_out, hidden = self._recur(packed, x.device.type)
        if self.pooling is RNNPooling.LAST:
            h_n = hidden[0] if isinstance(hidden, tuple) else hidden  # [layers*dirs, B, H]
            dirs = 2 if self.rnn.bidirectional else 1
            pooled = torch.cat(list(h_n[-dirs:]), dim=-1)  # top layer, all directions
        else:
            states, _ = pad_packed_sequence(packed_out, batch_first=True, total_length=ids.shape[1])
            if self.pooling is RNNPooling.MAX:
                pooled = _masked_max(states, mask)
            elif self.pooling is RNNPooling.MEAN:
                pooled = _masked_mean(states, mask)
            else:
                pooled = self._attend(states, mask)
        return self.out(self.dropout(pooled))

    def _recur(self, packed: PackedSequence, device_type: str) -> tuple[PackedSequence, Any]:
        """The RNN over `packed` with autocast off: in the embedding's dtype (float32).

        Why: autocast runs a cuDNN LSTM/GRU in float16 whatever dtype it was asked for, so
        under the trainer's bf16 autocast the recurrence trained in fp16 with no GradScaler
        (underflowing gradients). The layers around it still run in bf16. Autocast is only
        left where it is on: torch < 2.5 refuses `torch.autocast("mps")` even disabled.
        """
        if not _autocast_on(device_type):
            return cast(tuple[PackedSequence, Any], self.rnn(packed))
        with torch.autocast(device_type, enabled=False):
            return cast(tuple[PackedSequence, Any], self.rnn(packed))

    def _attend(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Additive attention pooling of states [B, T, H] over real tokens -> [B, H]."""
        if self.attention is None:  # pragma: no cover - only built with attention pooling
            raise ConfigError("attention pooling was not configured")
        scores = self.attention(states).squeeze(-1).float()  # softmax in fp32 under autocast
        weights = scores.masked_fill(~mask, float("-inf")).softmax(dim=1)
        return (weights.unsqueeze(-1).to(states.dtype) * states).sum(dim=1)


class BiLSTMClassifier(RNNClassifier):
    """BiLSTM with max pooling over time (Conneau et al. 2017), a strong static-vector encoder.

    `RNNClassifier` with cell "lstm", bidirectional and max pooling by default.
    """

    kind = ModelKind.BILSTM
    # the parent's signature with max pooling: `model_option_defaults` reads it
    __init__ = functools.partialmethod(RNNClassifier.__init__, pooling=RNNPooling.MAX)


def _sinusoids(length: int, dim: int) -> torch.Tensor:
    """Fixed sinusoidal position table [length, dim] (Vaswani et al., 2017)."""
    position = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim + dim % 2)
    table[:, 0::2] = torch.sin(position * freq)
    table[:, 1::2] = torch.cos(position * freq)
    return table[:, :dim]


_HEAD_CHOICES = (8, 6, 5, 4, 3, 2, 1)


class TransformerClassifier(_Classifier):
    """Small Transformer encoder classifier (`nn.TransformerEncoder`, batch_first).

    Shapes: ids [B, T] (truncated to max_length) -> embeddings [B, T, D] -> optional linear
    projection to d_model -> (+ [CLS] in front) + positions -> encoder with a key padding mask
    -> pooled [B, d_model] (mean over real tokens, or the [CLS] output) -> logits [B, C].

    Args:
        embedding: the token embedding.
        num_classes: C.
        d_model: encoder width; None uses the embedding width (no projection).
        nhead: attention heads; None picks the largest of 8, 6, 5, 4, 3, 2, 1 dividing d_model.
        num_layers: encoder layers.
        dim_feedforward: feed-forward width; None means 2 * d_model.
        dropout: encoder dropout and dropout before the output layer.
        positions: "learned" (an nn.Embedding of max_length rows) or "sinusoidal" (fixed).
        pooling: "mean" or "cls".
        max_length: longest input in tokens; longer inputs are truncated (after [CLS] is
            counted when pooling is "cls").
    """

    kind = ModelKind.TRANSFORMER

    def __init__(
        self,
        embedding: nn.Embedding,
        num_classes: int,
        *,
        d_model: int | None = None,
        nhead: int | None = None,
        num_layers: int = 2,
        dim_feedforward: int | None = None,
        dropout: float = 0.1,
        positions: PositionKind | str = PositionKind.LEARNED,
        pooling: TransformerPooling | str = TransformerPooling.MEAN,
        max_length: int = 512,
    ) -> None:
        super().__init__(embedding, num_classes)
        self.positions_kind = parse_enum(PositionKind, positions, "positions")
        self.pooling = parse_enum(TransformerPooling, pooling, "pooling")
        width = int(d_model or self.embedding_dim)
        heads = nhead or next(h for h in _HEAD_CHOICES if width % h == 0)
        _check(
            width % heads == 0,
            f"d_model ({width}) must be divisible by nhead ({heads}); pass d_model= to project "
            "the embedding to a width that is",
        )
        _check(num_layers >= 1, f"num_layers must be >= 1, got {num_layers}")
        _check(max_length >= 2, f"max_length must be >= 2, got {max_length}")
        _check(0.0 <= dropout < 1.0, f"dropout must be in [0, 1), got {dropout}")
        ff = int(dim_feedforward or 2 * width)
        self.max_length = max_length
        self.project: nn.Module = (
            nn.Identity() if width == self.embedding_dim else nn.Linear(self.embedding_dim, width)
        )
        self.cls = (
            nn.Parameter(torch.zeros(1, 1, width).normal_(std=0.02))
            if self.pooling is TransformerPooling.CLS
            else None
        )
        self.position_embedding: nn.Embedding | None = None
        if self.positions_kind is PositionKind.LEARNED:
            self.position_embedding = nn.Embedding(max_length, width)
            nn.init.normal_(self.position_embedding.weight, std=0.02)
        self.sinusoids: torch.Tensor
        self.register_buffer("sinusoids", _sinusoids(max_length, width), persistent=False)
        layer = nn.TransformerEncoderLayer(
            width, heads, ff, dropout=dropout, batch_first=True, norm_first=True
        )
        # Nested tensors would make outputs depend on padding layout; keep the dense path.
        self.encoder = nn.TransformerEncoder(
            layer, num_layers, norm=nn.LayerNorm(width), enable_nested_tensor=False
        )
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(width, num_classes)
        self.config.update(
            d_model=width,
            nhead=heads,
            num_layers=num_layers,
            dim_feedforward=ff,
            dropout=dropout,
            positions=self.positions_kind.value,
            pooling=self.pooling.value,
            max_length=max_length,
        )

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits [B, C] for ids [B, T] with lengths [B]."""
        ids, lengths = self._batch(ids, lengths)
        if ids.shape[0] == 0:
            return self._no_logits(ids)
        room = self.max_length - (1 if self.cls is not None else 0)
        ids = ids[:, :room]
        x, mask, _ = _embed(self.embedding, ids, lengths.clamp(max=room))
        x = self.project(x)
        if self.cls is not None:
            x = torch.cat([self.cls.expand(x.shape[0], -1, -1).to(x.dtype), x], dim=1)
            mask = F.pad(mask, (1, 0), value=True)
        seq_len = x.shape[1]
        if self.position_embedding is not None:
            x = x + self.position_embedding.weight[:seq_len].to(x.dtype)
        else:
            x = x + self.sinusoids[:seq_len].to(x.dtype)
        h = self.encoder(x, src_key_padding_mask=~mask)
        pooled = h[:, 0] if self.cls is not None else _masked_mean(h, mask)
        return self.out(self.dropout(pooled))


_MODELS: dict[ModelKind, type[_Classifier]] = {
    ModelKind.BOE: BagOfEmbeddings,
    ModelKind.CNN: KimCNN,
    ModelKind.RNN: RNNClassifier,
    ModelKind.TRANSFORMER: TransformerClassifier,
    ModelKind.SWEM: SWEM,
    ModelKind.FASTTEXT: FastTextClassifier,
    ModelKind.BILSTM: BiLSTMClassifier,
}


def model_option_defaults(kind: ModelKind | str) -> dict[str, Any]:
    """The keyword options of `kind`'s model class and their defaults (empty for "linear"/"hf").

    `vecgraft tune` starts its search from these, so the first trial is the default model.
    A bag of embeddings' `pooling=None` is given as the pooling it stands for (SWEM's
    "mean_max"), which the search space can express; None would leave it to the sampler.

    >>> model_option_defaults("cnn")["num_filters"], model_option_defaults("linear")
    (100, {})
    >>> model_option_defaults("swem")["pooling"]
    <Pooling.MEAN_MAX: 'mean_max'>
    """
    cls = _MODELS.get(parse_enum(ModelKind, kind, "model kind"))
    if cls is None:
        return {}
    params = inspect.signature(cls.__init__).parameters.values()
    defaults = {
        p.name: p.default
        for p in params
        if p.default is not inspect.Parameter.empty and p.name not in ("embedding", "num_classes")
    }
    if issubclass(cls, BagOfEmbeddings) and defaults.get("pooling") is None:
        defaults["pooling"] = cls.default_pooling
    return defaults


def build_model(
    kind: ModelKind | str, embedding: nn.Embedding, num_classes: int, **options: Any
) -> nn.Module:
    """Build a classifier of `kind` on `embedding`.

    Args:
        kind: a `ModelKind` with an embedding (every kind but "linear").
        embedding: token embedding (kept as `model.embedding`, not copied; frozen in place
            only by a "cnn" with channels="static", and a "multichannel" one keeps a frozen
            copy of its weights as they are now, so load vectors into it before building).
        num_classes: number of labels C.
        **options: the model's keyword options (see each class); unknown ones are a
            ConfigError listing the valid ones.

    Returns:
        The model; `model.config` holds kind, num_classes and every resolved option, so
        `build_model(embedding=emb, **model.config)` rebuilds the same architecture. It is
        called as `model(ids, lengths)` on a right-padded batch (`Vocab.encode`'s default
        padding_side="right"): it reads the first lengths[i] positions of each row, so a
        left-padded batch is refused with a DataError.
    """
    model_kind = parse_enum(ModelKind, kind, "model kind")
    cls = _MODELS.get(model_kind)
    if cls is None:
        raise ConfigError(
            f"model {model_kind.value!r} has no embedding; it is built by its model family "
            "(vecgraft.finetune.families)"
        )
    check_model_options(model_kind, options)
    return cls(embedding, num_classes, **options)


def check_model_options(kind: ModelKind | str, options: dict[str, Any], hint: str = "") -> None:
    """Refuse `options` that `kind`'s model does not take, as `build_model` would.

    Callable before any training: `vecgraft compare` trained its linear row first and only
    then stopped on the network's unknown option. `hint` (e.g. "; ...") ends the error.
    A kind without an embedding model ("linear", "hf") is not checked here.
    """
    model_kind = parse_enum(ModelKind, kind, "model kind")
    valid = model_option_names(model_kind)
    if valid is None:
        return
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ConfigError(
            f"unknown option(s) {', '.join(unknown)} for model {model_kind.value!r}; "
            f"valid options: {', '.join(valid)}{hint}"
        )


def model_option_names(kind: ModelKind | str) -> list[str] | None:
    """The keyword options `kind`'s model class takes; None for a kind without one."""
    cls = _MODELS.get(parse_enum(ModelKind, kind, "model kind"))
    if cls is None:
        return None
    return [
        name
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]


def empty_embedding(
    num_embeddings: int, embedding_dim: int, padding_idx: int | None = None
) -> nn.Embedding:
    """A zero embedding of the given shape, to be filled by `load_state_dict` from a checkpoint."""
    emb = nn.Embedding(num_embeddings, embedding_dim, padding_idx=padding_idx)
    nn.init.zeros_(emb.weight)
    return emb


# options whose default changed: a saved config without one was trained with this value
_SAVED_BEFORE: dict[ModelKind, dict[str, Any]] = {
    ModelKind.FASTTEXT: {"bigram_hash": BigramHash.LEGACY.value},
}


def restored_options(kind: ModelKind | str, options: dict[str, Any]) -> dict[str, Any]:
    """A saved model's options, with what a run saved before an option existed meant by it.

    Why: a new option's default may differ from the behaviour it replaced (fastText's
    `bigram_hash`), and a run folder saved without it must predict as it did.

    >>> restored_options("fasttext", {"buckets": 10})["bigram_hash"]
    'legacy'
    """
    return {**_SAVED_BEFORE.get(parse_enum(ModelKind, kind, "model kind"), {}), **options}


def model_spec(model: nn.Module) -> dict[str, Any]:
    """JSON-able description of a model and its embedding's shape (what a checkpoint stores).

    Returns:
        {"model": model.config, "embedding": {"num_embeddings", "embedding_dim", "padding_idx"}}.
    """
    emb = getattr(model, "embedding", None)
    config = getattr(model, "config", None)
    if not isinstance(emb, nn.Embedding) or not isinstance(config, dict):
        raise ConfigError("model_spec needs a vecgraft model (with .embedding and .config)")
    return {
        "model": dict(config),
        "embedding": {
            "num_embeddings": int(emb.num_embeddings),
            "embedding_dim": int(emb.embedding_dim),
            "padding_idx": emb.padding_idx,
        },
    }


def model_from_spec(spec: dict[str, Any]) -> nn.Module:
    """Rebuild a model from `model_spec(...)` with an empty embedding (load weights next)."""
    try:
        emb_spec = spec["embedding"]
        config = dict(spec["model"])
        embedding = empty_embedding(
            int(emb_spec["num_embeddings"]),
            int(emb_spec["embedding_dim"]),
            emb_spec.get("padding_idx"),
        )
        kind = config.pop("kind")
        num_classes = config.pop("num_classes")
    except (KeyError, TypeError) as exc:
        raise ConfigError(
            f"invalid model spec (missing {exc}); expected model_spec() output"
        ) from exc
    return build_model(kind, embedding, num_classes, **restored_options(kind, config))
