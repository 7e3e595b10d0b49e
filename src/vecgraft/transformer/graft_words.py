"""Word selection of the graft: which corpus words earn a token of their own.

Split from `vecgraft.transformer.graft`, which re-exports every public name here.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vecgraft.errors import ConfigError, DataError
from vecgraft.text.tokenize import Tokenizer
from vecgraft.transformer.graft_tokenizer import _match_key, _normalized, _piece_ids, _token_form


@dataclass
class Candidate:
    """A corpus word the old tokenizer spells badly: its pieces, frequency and score."""

    word: str
    pieces: list[int]
    count: int
    score: int


def _text_tokenizers(spec: str | Tokenizer | Sequence[str | Tokenizer]) -> list[Tokenizer]:
    """The corpus word-finders `spec` names (one or several), each a `Tokenizer`."""
    items = [spec] if isinstance(spec, (str, Tokenizer)) else list(spec)
    if not items:
        raise ConfigError("text_tokenizer needs at least one tokenizer")
    return [t if isinstance(t, Tokenizer) else Tokenizer(t) for t in items]


def count_words(
    texts: Iterable[str], text_tokenizer: str | Tokenizer | Sequence[str | Tokenizer] = "regex"
) -> Counter[str]:
    """Corpus frequency of each word; with several tokenizers, a word's largest count.

    Several tokenizers find several kinds of word in one pass, e.g. `["char", "jieba"]` for
    Chinese characters and words.
    """
    tokenizers = _text_tokenizers(text_tokenizer)
    per: list[Counter[str]] = [Counter() for _ in tokenizers]
    for text in texts:
        for counter, tokenizer in zip(per, tokenizers):
            counter.update(tokenizer(text))
    merged: Counter[str] = Counter()
    for counter in per:
        for word, n in counter.items():
            if n > merged[word]:
                merged[word] = n
    return merged


def select_new_tokens(
    tok: Any, counts: Mapping[str, int], n: int, *, min_count: int = 1
) -> list[Candidate]:
    """The `n` words whose tokenisation costs the corpus most, best first.

    A word's score is count x (pieces - 1 + [UNK] pieces): every extra piece lengthens each
    occurrence, and an `[UNK]` piece also loses the word's identity. Words that are already
    one known token score 0 and are never picked. Case variants that the tokenizer does not
    tell apart (uncased BERT) are merged; the surface form kept is the one the normaliser
    leaves unchanged ("covid" over "Covid"), else the most frequent in the normaliser's
    spelling (a corpus of "Covid" only gives "covid").
    """
    if n < 0:
        raise ConfigError(f"add_tokens must be at least 0, got {n}")
    groups: dict[str, list[tuple[str, int]]] = {}
    for word, count in counts.items():
        if word.strip():
            groups.setdefault(_match_key(tok, word), []).append((word, int(count)))
    groups.pop("", None)
    reps: list[tuple[str, int]] = []
    for forms in groups.values():
        forms.sort(key=lambda f: (-f[1], f[0]))
        same = [f for f, _ in forms if _normalized(tok, f) == f]
        total = sum(c for _, c in forms)
        if total >= min_count:
            reps.append((same[0] if same else _token_form(tok, forms[0][0]), total))
    pieces = _piece_ids(tok, [w for w, _ in reps])
    vocab = tok.get_vocab()
    unk = tok.unk_token_id
    out: list[Candidate] = []
    for (word, count), ids in zip(reps, pieces):
        if not ids or word in vocab:
            continue
        n_unk = sum(1 for i in ids if i == unk) if unk is not None else 0
        if len(ids) == 1 and n_unk == 0:
            continue
        out.append(Candidate(word, list(ids), count, count * (len(ids) - 1 + n_unk)))
    out.sort(key=lambda c: (-c.score, -c.count, c.word))
    return out[:n]


def read_token_list(path: str | os.PathLike[str]) -> list[str]:
    """Tokens from a UTF-8 file, one per line (blank lines skipped, whitespace stripped).

    A byte-order mark (Windows Notepad writes one) is not part of the first token.
    """
    from vecgraft.text.utf8 import read_utf8

    try:
        text = read_utf8(path, "token list")
    except FileNotFoundError:
        raise DataError(f"{os.fspath(path)}: no such token list") from None
    out: list[str] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        word = line.strip()
        if not word:
            continue
        if any(c.isspace() for c in word):
            raise DataError(
                f"{os.fspath(path)}:{lineno}: expected one token per line, found {word!r}"
            )
        out.append(word)
    return out
