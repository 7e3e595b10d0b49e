"""Padding a batch of id lists: `pad_ids`, `Side` and the helpers `Vocab.collate` uses.

Split from `vecgraft.text.vocab`, which re-exports `Side` and `pad_ids`.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from vecgraft._util.options import lookup_enum
from vecgraft.errors import ConfigError, VocabError

if TYPE_CHECKING:
    import torch


class Side(StrEnum):
    """Which end of a sequence padding (or truncation) applies to."""

    LEFT = "left"
    RIGHT = "right"


def pad_ids(
    rows: Sequence[Sequence[int]],
    pad: int,
    *,
    left: bool = False,
    device: str | torch.device | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Id lists -> padded ids [batch, seq_len] and lengths [batch] (both int64).

    The one rule for an empty document (`Vocab.encode` and fine-tuning batches both use it):
    it has length 0. `seq_len` is still at least 1 so that a batch of empty documents is a
    valid model input; the models in `vecgraft.nn` read a length of 0 as one padding position
    (mean/max pooling and packed RNNs need one), so nothing pretends the text had a token.
    No rows at all give shape (0, 0) and (0,) (the models take that batch too).

    Example:
        >>> ids, lengths = pad_ids([[5, 6], []], pad=0)
        >>> ids.tolist(), lengths.tolist()
        ([[5, 6], [0, 0]], [2, 0])
    """
    import numpy as np
    import torch

    if device is not None:  # "cuda" on a CPU-only torch: a ConfigError, not torch's assert
        from vecgraft._util.device import resolve_device

        device = resolve_device(device)
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    width = max(int(lengths.max(initial=0)), 1) if len(rows) else 0
    out = np.full((len(rows), width), pad, dtype=np.int64)
    for i, ids in enumerate(rows):
        if len(ids):
            if left:
                out[i, width - len(ids) :] = ids
            else:
                out[i, : len(ids)] = ids
    return torch.from_numpy(out).to(device), torch.from_numpy(lengths).to(device)


def _side(value: str | Side, name: str) -> Side:
    """`value` as a Side; the error names the keyword it came from."""
    try:
        return lookup_enum(Side, value)
    except ValueError:
        raise ConfigError(f"{name} must be 'left' or 'right', got {value!r}") from None


def _is_pair(item: Any) -> bool:
    """Whether a batch item is an (ids, label) pair rather than a list of ids."""
    return (
        isinstance(item, (tuple, list))
        and len(item) == 2
        and not isinstance(item[0], str)
        and isinstance(item[0], Sequence)
    )


def _label_tensor(labels: list[Any], torch: Any) -> torch.Tensor:
    """Labels as a tensor (int64 unless float); names must be mapped to ids first."""
    named = next((label for label in labels if isinstance(label, str)), None)
    if named is not None:  # it named LabelMap, which no public module exports
        raise VocabError(
            f"collate needs numeric labels (class ids), got the label name {named!r}; map "
            "the names to ids first, e.g. label_ids = {name: i for i, name in "
            "enumerate(sorted(set(labels)))}, then pair each text with label_ids[label]"
        )
    tensor = torch.as_tensor(labels)
    if not tensor.is_floating_point():
        tensor = tensor.long()
    return tensor
