"""Tokenizer edits of the graft: how a word is spelt, matched and added as one token.

Split from `vecgraft.transformer.graft` (which re-exports `token_stats`): uncased tokenizers
lowercase and strip accents, BERT's pre-tokenizer pads Chinese characters, byte-level BPE
marks a leading space; these helpers keep each of those facts in one place.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from vecgraft.errors import ConfigError
from vecgraft.transformer.graft_report import TokenStats
from vecgraft.transformer.tokens import UNSPACED as _UNSPACED
from vecgraft.transformer.tokens import leading_space, plain_backend, spell


def _normalized(tok: Any, word: str) -> str:
    """`word` as the tokenizer's normalizer sees it (lowercased, accents stripped, ...)."""
    normalizer = tok.backend_tokenizer.normalizer
    return word if normalizer is None else str(normalizer.normalize_str(word))


def _match_key(tok: Any, word: str) -> str:
    """Words with the same key are the same to the tokenizer ("Covid" and "covid" uncased)."""
    return "".join(_normalized(tok, word).split())


def _token_form(tok: Any, word: str) -> str:
    """The spelling `word` is added under: the normaliser's, when matching can use it.

    An added token is matched on normalised text, but the vocabulary keeps its spelling: an
    uncased tokenizer given "COVID" read "covid" as that token while `tokenize` named it
    "covid" and `convert_tokens_to_ids("covid")` was `[UNK]`, and decoding turned every
    "covid" into "COVID". The raw word is kept where the normaliser pulls it apart (BERT
    pads Chinese characters) or is not settled by one pass (one that prepends a marker).
    """
    norm = _normalized(tok, word)
    if not norm or any(c.isspace() for c in norm) or _normalized(tok, norm) != norm:
        return word
    return norm


def _added_token(tok: Any, word: str, *, lstrip: bool) -> Any:
    """`word` as an AddedToken that the tokenizer will match wherever the corpus had it.

    * `single_word`: words of spaced scripts match only as whole words ("cat" must not match
      inside "category"); words of unspaced scripts (Chinese, Japanese, Thai) sit inside runs
      of letters, so they must match there. So must tokens without a letter or digit (an
      emoji, "--"): whole-word matching missed "movie😀" and "good--really", and BERT read
      "movie😀" as one [UNK].
    * `normalized`: matching on normalised text lets an uncased tokenizer find "Covid" for the
      token "covid". BERT's normaliser puts spaces around each Chinese character, though, so
      words it would pad or pull apart are matched on the raw text instead (matching on the
      normalised text would still work, but the token would read " 很 ").
    * `lstrip` (byte-level BPE): the token absorbs the space before it, as "Ġword" would.
    """
    from tokenizers import AddedToken

    norm = _normalized(tok, word)
    pulled_apart = any(c.isspace() for c in norm) and not any(c.isspace() for c in word)
    return AddedToken(
        word,
        single_word=whole_word(word),
        normalized=not pulled_apart,
        lstrip=lstrip,
    )


def _piece_ids(tok: Any, words: Sequence[str], *, added: bool = False) -> list[list[int]]:
    """Ids of each word under `tok`, spelt as it appears mid-sentence, no special tokens.

    `added`: the words are new tokens, spelt where they fire. Byte-level BPE reads a word
    after a space ("Ġcat"), and a whole-word token fires only there; a token that matches
    anywhere (`whole_word` false: '."', an emoji, a Chinese word) mostly fires right after
    other text, where it read without "Ġ": spelt " ." its pieces were 'Ġ', '.', '"' (one
    more than the '.', '"' it replaces after "delivered") and its score counted that piece.
    """
    if not words:
        return []
    backend = plain_backend(tok)
    texts = spell(list(words), tok)
    if added and leading_space(tok):
        texts = [t if whole_word(w) else w for w, t in zip(words, texts)]
    return [e.ids for e in backend.encode_batch(texts, add_special_tokens=False)]


def whole_word(word: str) -> bool:
    """Whether the graft adds `word` as a whole-word token (see `_added_token`)."""
    return not _UNSPACED.search(word) and any(c.isalnum() for c in word)


def token_stats(
    tok: Any,
    texts: Iterable[str],
    *,
    batch_size: int = 1000,
    uses: Counter[int] | None = None,
    from_id: int = 0,
) -> TokenStats:
    """Tokens per text and `[UNK]` count of `texts` under `tok` (no special tokens, no cap).

    `uses`, when given, counts each token id of `from_id` or more (a graft's new tokens).
    """
    backend = plain_backend(tok)
    unk = tok.unk_token_id
    stats = TokenStats()
    for chunk in _chunks(texts, batch_size):
        for enc in backend.encode_batch(chunk, add_special_tokens=False):
            stats.texts += 1
            stats.tokens += len(enc.ids)
            if unk is not None:
                stats.unk += sum(1 for i in enc.ids if i == unk)
            if uses is not None:
                uses.update(i for i in enc.ids if i >= from_id)
    return stats


def _chunks(texts: Iterable[str], size: int) -> Iterator[list[str]]:
    """`texts` in lists of `size`, so encode_batch works in parallel without holding them all."""
    chunk: list[str] = []
    for text in texts:
        chunk.append(text)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _fresh_tokens(tok: Any, tokens: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
    """(tokens to add, tokens skipped, vocabulary pieces): what of `tokens` to add, and why not.

    Skipped: known single tokens and tokenizer-equal repeats. Vocabulary pieces: entries of
    the vocabulary that text never reads as one token, as they carry a word-piece mark
    (WordPiece's "##ing" reads '#', '#', 'ing'; byte-level "Ġcat"): no word, and an added
    token of that text would match only the mark written out, so they are left out too,
    and said apart (they were "already one token"). The tokens to add are in the
    tokenizer's own spelling (`_token_form`).
    """
    words = list(tokens)
    # a space inside a token made a phrase token ("the cat") that a token-list file refuses,
    # which the repeat check took for "thecat"; a tab or NBSP one that plain text never matches
    # (the position, not the word: a None word would read as "nothing found")
    bad = next(
        (
            i
            for i, w in enumerate(words)
            if not isinstance(w, str) or not w or any(c.isspace() for c in w)
        ),
        None,
    )
    if bad is not None:
        raise ConfigError(
            f"new tokens must be non-empty words without spaces, found {words[bad]!r}"
        )
    vocab = tok.get_vocab()
    ids = _piece_ids(tok, words)
    unk = tok.unk_token_id
    seen: set[str] = set()
    fresh: list[str] = []
    skipped: list[str] = []
    marked: list[str] = []
    for word, pieces in zip(words, ids):
        key = _match_key(tok, word)
        known = len(pieces) == 1 and pieces[0] != unk
        if word in vocab and not known:
            marked.append(word)
            continue
        if known or key in seen:
            skipped.append(word)
            continue
        seen.add(key)
        fresh.append(_token_form(tok, word))
    return fresh, skipped, marked
