"""Rows for tokens added to a transformer's own vocabulary.

`resize_token_embeddings` fills new rows with the mean of *all* rows (or noise), which makes
every new token the same point. A new token usually already has a spelling in the old
vocabulary ("covid" -> "co", "##vid"), so the mean of those subword rows is a far better start.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vecgraft.errors import ConfigError
from vecgraft.transformer.tokens import spell


def init_new_token_rows(model: Any, tokenizer: Any, new_tokens: Sequence[str]) -> list[int]:
    """Add `new_tokens` to `tokenizer`, resize `model`, fill each new row with its subword mean.

    Each new token is tokenised with the *old* tokenizer (as it appears mid-sentence, see
    `vecgraft.transformer.tokens`) and its row becomes the mean of those rows. Untied output
    embeddings (an LM head) get the same treatment. Tokens already in the vocabulary are left
    as they are; a token the old tokenizer cannot spell keeps the row resize gave it.

    Args:
        model: a transformers `PreTrainedModel` (any head).
        tokenizer: its tokenizer, *before* the tokens are added; it is modified in place.
        new_tokens: the tokens to add.

    Returns:
        The id of every token in `new_tokens`, in order (existing ids for known tokens).

    Example:
        >>> ids = init_new_token_rows(model, tokenizer, ["covid", "mrna"])  # doctest: +SKIP
    """
    import torch

    tokens = list(dict.fromkeys(new_tokens))
    if any(not isinstance(t, str) or not t for t in tokens):
        raise ConfigError("new tokens must be non-empty strings")
    known = tokenizer.get_vocab()
    fresh = [t for t in tokens if t not in known]
    old_ids = (
        tokenizer(spell(fresh, tokenizer), add_special_tokens=False)["input_ids"] if fresh else []
    )
    tokenizer.add_tokens(fresh)
    model.resize_token_embeddings(len(tokenizer))
    ids = tokenizer.convert_tokens_to_ids(tokens)
    new_id = dict(zip(tokens, ids))
    tables = [model.get_input_embeddings().weight]
    head = model.get_output_embeddings()
    if head is not None and head.weight is not tables[0]:
        tables.append(head.weight)
    with torch.no_grad():
        for token, pieces in zip(fresh, old_ids):
            if not pieces:
                continue
            for weight in tables:
                weight[new_id[token]] = weight[list(pieces)].mean(dim=0)
    return [int(i) for i in ids]
