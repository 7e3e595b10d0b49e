"""Batches with little padding: length bucketing, seeded and rank-aware.

Each epoch the examples are shuffled with a generator seeded by (seed, epoch), cut into
mega-batches of `bucket_factor` batches, sorted by length inside each mega-batch, split into
batches, and the batch order is shuffled again. Every rank computes the same global batches and
keeps its slice of each one, so N processes with batch size B/N see exactly the examples one
process with batch size B would (what makes DDP and single-process training comparable).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch

from vecgraft.text.vocab import Vocab, pad_ids


class BucketBatchSampler:
    """Yields lists of example indices; a `batch_sampler` for `DataLoader`.

    Args:
        lengths: token count of each example (after truncation).
        batch_size: global batch size (summed over ranks).
        shuffle: shuffle per epoch (False: input order, still split by rank).
        bucket: sort by length within mega-batches (only when shuffling).
        bucket_factor: batches per mega-batch.
        seed: base seed; the epoch is mixed in by `set_epoch`.
        rank: this process's rank.
        world_size: number of processes; a final global batch too small to give every rank
            one example is dropped (only when world_size > 1).
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        *,
        shuffle: bool = True,
        bucket: bool = True,
        bucket_factor: int = 50,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.lengths = torch.as_tensor(list(lengths), dtype=torch.long)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.bucket = bucket
        self.bucket_factor = bucket_factor
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose order is produced next (same on every rank)."""
        self.epoch = epoch

    def global_batches(self) -> list[list[int]]:
        """The current epoch's batches before the split by rank."""
        n = len(self.lengths)
        if not self.shuffle:
            order = torch.arange(n)
            return [order[i : i + self.batch_size].tolist() for i in range(0, n, self.batch_size)]
        gen = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        order = torch.randperm(n, generator=gen)
        batches: list[list[int]] = []
        mega = self.batch_size * (self.bucket_factor if self.bucket else 1)
        for start in range(0, n, mega):
            chunk = order[start : start + mega]
            if self.bucket:
                # stable sort keeps the shuffled order among equal lengths (deterministic)
                chunk = chunk[torch.sort(self.lengths[chunk], stable=True).indices]
            batches.extend(
                chunk[i : i + self.batch_size].tolist()
                for i in range(0, len(chunk), self.batch_size)
            )
        if self.bucket:
            perm = torch.randperm(len(batches), generator=gen).tolist()
            batches = [batches[i] for i in perm]
        if self.world_size > 1:
            batches = [b for b in batches if len(b) >= self.world_size]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.global_batches():
            yield batch[self.rank :: self.world_size]

    def __len__(self) -> int:
        return len(self.global_batches())


def pad_batch(
    sequences: Sequence[Sequence[int]], pad_index: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad id lists into ids [B, T] and lengths [B]: `Vocab.encode`'s rule (`pad_ids`).

    An empty document has length 0 here too; the model gives it one padding position.
    """
    return pad_ids(sequences, pad_index)


class EncodedData:
    """Token ids and label ids of a labelled set, ready for batching.

    Args:
        ids: token ids per example (already truncated).
        labels: label id per example (regression: the target number).
        pad_index: id used for padding.
        regression: labels are numbers (batched as float32), not label ids.
    """

    def __init__(
        self, ids: list[list[int]], labels: list[Any], pad_index: int, *, regression: bool = False
    ) -> None:
        self.ids = ids
        self.labels = labels
        self.pad_index = pad_index
        self.regression = regression

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def lengths(self) -> list[int]:
        """Token count per example."""
        return [len(x) for x in self.ids]

    def batch(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(ids [B, T], lengths [B], labels [B]) of the examples at `indices`."""
        ids, lengths = pad_batch([self.ids[i] for i in indices], self.pad_index)
        dtype = torch.float32 if self.regression else torch.long
        labels = torch.tensor([self.labels[i] for i in indices], dtype=dtype)
        return ids, lengths, labels


def encode_texts(
    texts: Sequence[str],
    tokenizer: Any,
    vocab: Vocab,
    max_length: int | None,
    cut: list[int] | None = None,
) -> list[list[int]]:
    """Token ids of each text, truncated to `max_length` tokens (unknown words -> unk id).

    `cut`, when given, receives the full token count of every text that was truncated.
    """
    out: list[list[int]] = []
    for tokens in tokenizer.tokenize_many(texts):
        if max_length is not None and len(tokens) > max_length:
            if cut is not None:
                cut.append(len(tokens))
            tokens = tokens[:max_length]
        out.append(vocab.lookup_ids(tokens))
    return out
