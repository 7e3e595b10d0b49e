"""Word selection of the graft: which corpus words earn a token of their own.

A word is worth a row only if the grafted tokenizer will read it as that one token. Words are
therefore counted as the model's own tokenizer splits text (`model_words`): vecgraft's text
tokenizers split "blunkett's" into "blunkett" + "'s", while BERT reads blunkett ' s, and a
whole-word token "'s" never fires inside "blunkett's" (on 200 BBC texts the top picks 's, n't
and 'm took rows the corpus never used). The text tokenizers still find the words of scripts
written without spaces, which BERT's pre-tokenizer cuts into single characters.

Split from `vecgraft.transformer.graft`, which re-exports every public name here.
"""

from __future__ import annotations

import os
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vecgraft.errors import ConfigError, DataError
from vecgraft.text.tokenize import Tokenizer
from vecgraft.transformer.graft_tokenizer import _match_key, _normalized, _piece_ids, _token_form
from vecgraft.transformer.tokens import UNSPACED as _UNSPACED

# Beside letters and digits, what the tokenizers library's `\w` (a Rust regex, Unicode) also
# counts as part of a word when it checks that a whole-word added token stands alone.
_WORD_CATEGORIES = frozenset({"Mn", "Mc", "Me", "Pc"})


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


def _word_char(char: str) -> bool:
    r"""Whether `char` continues a word for an added token's `single_word` check (`\w`)."""
    return (
        char.isalnum() or char in "\u200c\u200d" or unicodedata.category(char) in _WORD_CATEGORIES
    )


def _model_splitter(tok: Any) -> Callable[[str], list[str]] | None:
    """`model_words` bound to `tok`'s normalizer and pre-tokenizer; None where it has none."""
    backend = getattr(tok, "backend_tokenizer", None)
    if backend is None or backend.pre_tokenizer is None:
        return None
    normalizer, pre_tokenizer = backend.normalizer, backend.pre_tokenizer

    def split(text: str) -> list[str]:
        norm = text if normalizer is None else str(normalizer.normalize_str(text))
        words: list[str] = []
        # offsets index the normalised text: a byte-level piece reads "Ġcat" or "Ã©" there
        for _, (start, end) in pre_tokenizer.pre_tokenize_str(norm):
            piece = norm[start:end]
            start += len(piece) - len(piece.lstrip())
            end -= len(piece) - len(piece.rstrip())
            word = norm[start:end]
            if not word or any(c.isspace() for c in word) or _UNSPACED.search(word):
                continue
            # a word with a letter or digit is added as a whole-word token, which never fires
            # next to a word character: GPT-2 reads "cat's" as cat + 's, "abc123" as abc + 123
            if any(c.isalnum() for c in word) and (
                (start > 0 and _word_char(norm[start - 1]))
                or (end < len(norm) and _word_char(norm[end]))
            ):
                continue
            words.append(word)
        return words

    return split


def model_words(tok: Any, text: str) -> list[str]:
    """The words of `text` as `tok` splits it, each one an added token would match whole.

    The fast tokenizer's own normalizer (an uncased BERT's lowercases, strips accents and pads
    Chinese characters) and pre-tokenizer (BERT's splits at spaces and at every punctuation
    mark: "blunkett's" -> blunkett ' s, "e-mail" -> e - mail) read the text, so the words are
    in the normaliser's spelling. Each piece is cut from the normalised text by its offsets and
    stripped of spaces (a byte-level "Ġcat" is " cat" there). Left out: pieces of scripts
    written without spaces (found by the text tokenizers instead, see `count_words`) and pieces
    that touch a letter, digit or "_" (GPT-2's "'s" in "cat's"), where a whole-word token
    never fires.

    Raises:
        ConfigError: `tok` has no pre-tokenizer (a slow tokenizer, or a fast one without).

    Example:
        >>> model_words(tok, "Blunkett's e-mail")  # doctest: +SKIP
        ['blunkett', "'", 's', 'e', '-', 'mail']
    """
    split = _model_splitter(tok)
    if split is None:
        raise ConfigError(_split_note(tok))
    return split(text)


def _split_note(tok: Any) -> str:
    """Why `tok` cannot split words itself, and what `count_words` does instead."""
    what = (
        "a slow tokenizer (no Rust backend)"
        if getattr(tok, "backend_tokenizer", None) is None
        else "the tokenizer has no pre-tokenizer"
    )
    return (
        f"{what}: corpus words were found by the text tokenizer, which may split words "
        "otherwise than the model does (a clitic 's), so a pick may never be read as one token"
    )


def count_words(
    texts: Iterable[str],
    text_tokenizer: str | Tokenizer | Sequence[str | Tokenizer] = "regex",
    *,
    tokenizer: Any = None,
) -> Counter[str]:
    """Corpus frequency of each word; with several text tokenizers, a word's largest count.

    Several tokenizers find several kinds of word in one pass, e.g. `["char", "jieba"]` for
    Chinese characters and words.

    With `tokenizer` (the model's fast tokenizer), the words of spaced scripts are the ones it
    reads (`model_words`: its normalizer and pre-tokenizer), so each counted word is one the
    grafted tokenizer will read as one token; the text tokenizers then only count words of
    scripts written without spaces (Chinese, Japanese, Thai), which BERT cuts into single
    characters but a graft adds as tokens matched inside runs of characters. A tokenizer that
    cannot split words (a slow one, or one without a pre-tokenizer) leaves every word to the
    text tokenizers, as without `tokenizer`.

    Example:
        >>> count_words(["the cat's toy", "The cat"]).most_common(3)
        [('cat', 2), ('the', 1), ("'s", 1)]
        >>> count_words(["the cat's toy"], tokenizer=bert_tokenizer)  # doctest: +SKIP
        Counter({'the': 1, 'cat': 1, "'": 1, 's': 1, 'toy': 1})
    """
    tokenizers = _text_tokenizers(text_tokenizer)
    split = None if tokenizer is None else _model_splitter(tokenizer)
    per: list[Counter[str]] = [Counter() for _ in tokenizers]
    model: Counter[str] = Counter()
    for text in texts:
        if split is None:
            for counter, text_tok in zip(per, tokenizers):
                counter.update(text_tok(text))
            continue
        model.update(split(text))
        if _UNSPACED.search(text):
            for counter, text_tok in zip(per, tokenizers):
                counter.update(w for w in text_tok(text) if _UNSPACED.search(w))
    merged: Counter[str] = Counter()
    for counter in per:
        for word, n in counter.items():
            if n > merged[word]:
                merged[word] = n
    merged.update(model)  # no word of `model` has an unspaced character: no word is in both
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
