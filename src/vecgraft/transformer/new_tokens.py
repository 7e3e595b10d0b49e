"""Rows for tokens added to a transformer's own vocabulary.

`resize_token_embeddings` fills new rows with the mean of *all* rows (or noise), which makes
every new token the same point. A new token usually already has a spelling in the old
vocabulary ("covid" -> "co", "##vid"), so the mean of those subword rows is a far better start.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vecgraft.transformer.graft import GraftInit, graft_tokens
from vecgraft.transformer.graft_tokenizer import _piece_ids


def init_new_token_rows(model: Any, tokenizer: Any, new_tokens: Sequence[str]) -> list[int]:
    """Add `new_tokens` to `tokenizer`, resize `model`, fill each new row with its subword mean.

    The graft's `subwords` rule (`graft_tokens`), so a token is added the way the tokenizer
    will meet it: an uncased tokenizer's "Cat" is its known "cat" (adding "Cat" would take
    every "cat" away from its trained row), a byte-level BPE token absorbs the space before
    it, a word spelt only by the unknown token starts at the mean row instead of `[UNK]`'s,
    and an untied output embedding and output bias get the same rows. Each new token is
    tokenised with the *old* tokenizer as it appears mid-sentence.

    Args:
        model: a transformers `PreTrainedModel` (any head).
        tokenizer: its fast tokenizer, *before* the tokens are added; modified in place.
        new_tokens: the tokens to add.

    Returns:
        The id the tokenizer now reads each of `new_tokens` as, in order (a known token's
        own id; a repeat's first id).

    Example:
        >>> ids = init_new_token_rows(model, tokenizer, ["covid", "mrna"])  # doctest: +SKIP
    """
    tokens = list(new_tokens)
    graft_tokens(model, tokenizer, list(dict.fromkeys(tokens)), init=GraftInit.SUBWORDS)
    ids = _piece_ids(tokenizer, tokens)
    return [
        int(x[0]) if len(x) == 1 else int(tokenizer.convert_tokens_to_ids(t))
        for t, x in zip(tokens, ids)
    ]
