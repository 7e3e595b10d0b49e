"""The matching half of `vecgraft.align`: which vector row each vocabulary word gets.

`align()` imports this module when it runs; this module imports the public names (rules,
labels, `normalize_keys`) from `vecgraft.align` at load time, so there is no import cycle.
"""

from __future__ import annotations

import unicodedata
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from vecgraft._util.console import printable
from vecgraft.align import INIT, ROW_RULES, MatchRule, normalize_keys
from vecgraft.errors import AlignmentError
from vecgraft.io.subwords import FastTextSubwords, ngram_hash_set
from vecgraft.text.vocab import Vocab
from vecgraft.vectors import Vectors

# Row label codes: match rules first (in MatchRule order), then the fill labels.
_LABELS: tuple[str, ...] = ROW_RULES
_CODE = {name: i for i, name in enumerate(_LABELS)}
_N_MATCH = len(MatchRule)


def _keys(
    words: Sequence[str], rule: MatchRule, normalizer: Callable[[str], str] | None
) -> list[str]:
    if rule is MatchRule.CASEFOLD:
        return list(map(str.casefold, words))
    if normalizer is None:
        return normalize_keys(words)
    return list(map(normalizer, words))


def _first_rows(keys: list[str]) -> dict[str, int]:
    """Map each key to the first row having it.

    The first row is the most frequent word in frequency-sorted files (GloVe, word2vec), and
    a deterministic choice. Built from the end so that earlier rows overwrite later ones.
    """
    n = len(keys)
    return dict(zip(reversed(keys), range(n - 1, -1, -1)))


# vectors -> (words, stamp, {rule: key -> first row}): the tables over every word of the
# vectors that the casefold and normalized rules look words up in. A search (`vecgraft tune`)
# aligns each trial's vocabulary to the same loaded vectors: rebuilt per align, they took
# 0.24 s of its 0.26 s on GloVe's 400k words (more on larger files). They are valid while the
# vectors keep the word list they were built from: `v.words = ...` (or `v.matrix = ...`,
# which counts in the same stamp) rebuilds them, as it resets `Vectors.index`. The list is
# kept, not its id, so a new list can never pass for a freed one. Words edited in place
# (`v.words[0] = ...`) are not seen, as `Vectors.index` does not see them; a custom
# normalizer is not cached.
_KEY_ROWS: weakref.WeakKeyDictionary[
    Vectors, tuple[list[str], int, dict[MatchRule, dict[str, int]]]
] = weakref.WeakKeyDictionary()


def _key_rows(
    vectors: Vectors, rule: MatchRule, normalizer: Callable[[str], str] | None
) -> dict[str, int]:
    """`_first_rows` of the vectors' keys under `rule`, built once per word list."""
    if normalizer is not None and rule is not MatchRule.CASEFOLD:
        return _first_rows(_keys(vectors.words, rule, normalizer))
    words = vectors.words
    stamp = vectors.__dict__.get("_assigned", 0)  # Vectors counts words/matrix assignments
    entry = _KEY_ROWS.get(vectors)
    if entry is None or entry[0] is not words or entry[1] != stamp:
        entry = _KEY_ROWS[vectors] = (words, stamp, {})
    tables = entry[2]
    table = tables.get(rule)
    if table is None:
        table = tables[rule] = _first_rows(_keys(words, rule, None))
        if rule is MatchRule.CASEFOLD:  # rows stored decomposed, under their NFC form's key
            for composed, row in vectors.nfc_index.items():
                table.setdefault(composed.casefold(), row)
    return table


@dataclass
class _Matches:
    """Per vocabulary row: source row in the vector table (-1: none) and its label code."""

    src: np.ndarray  # int64 [V]
    codes: np.ndarray  # int8 [V], index into _LABELS
    subword_rows: dict[int, np.ndarray]
    notes: list[str]
    # the `subword` rows none of whose n-grams a word of the model has, sorted (int64)
    untrained: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))


def _match(
    vocab: Vocab,
    vectors: Vectors,
    order: list[MatchRule],
    normalizer: Callable[[str], str] | None,
    special_ids: np.ndarray,
) -> _Matches:
    """Run the rule chain; each rule is one pass of C-level dict lookups over pending words."""
    tokens = vocab.tokens
    n = len(tokens)
    src = np.full(n, -1, dtype=np.int64)
    codes = np.full(n, _CODE[INIT], dtype=np.int8)
    is_word = np.ones(n, dtype=bool)
    is_word[special_ids] = False
    pending = np.flatnonzero(is_word)
    subword_rows: dict[int, np.ndarray] = {}
    notes: list[str] = []
    untrained = np.empty(0, np.int64)
    for rule in order:
        if not len(pending):
            break
        words = list(map(tokens.__getitem__, pending.tolist()))
        if rule is MatchRule.SUBWORD:
            if vectors.subword is None:
                continue
            found = []
            for i, word in zip(pending.tolist(), words):
                vec = _subword_vector(vectors, word)
                if vec is not None:
                    subword_rows[i] = np.asarray(vec, dtype=np.float32).reshape(-1)
                    found.append(i)
            found_rows = np.asarray(found, dtype=np.int64)
            untrained = _untrained_rows(vectors, found_rows, tokens, notes)
            hit = np.isin(pending, found_rows)
        else:
            if rule is MatchRule.EXACT:
                rows = _exact_rows(words, vectors, notes)
            elif rule is MatchRule.CASEFOLD:
                rows = _casefold_rows(words, vectors, notes)
            else:
                table = _key_rows(vectors, rule, normalizer)
                wanted = _keys(words, rule, normalizer)
                rows = np.array(list(map(table.get, wanted, [-1] * len(words))), dtype=np.int64)
            hit = rows >= 0
            src[pending[hit]] = rows[hit]
        codes[pending[hit]] = _CODE[rule.value]
        pending = pending[~hit]
    return _Matches(src, codes, subword_rows, notes, untrained)


def _exact_rows(words: list[str], vectors: Vectors, notes: list[str]) -> np.ndarray:
    """The `exact` rule's row of each word (-1: none), words compared in NFC.

    A file may store "café" decomposed ("cafe" + U+0301) where the tokenizer gives it
    composed; only the non-ASCII misses are looked up again (`Vectors.row`), and a note
    counts the words matched that way.
    """
    index = vectors.index
    rows = np.array(list(map(index.get, words, [-1] * len(words))), dtype=np.int64)
    via_nfc = _retry_in_nfc(words, rows, vectors)
    if via_nfc:
        notes.append(
            f"exact: {via_nfc:,} word(s) matched a row stored in another Unicode form "
            "(compared in NFC, e.g. 'e' + U+0301 as 'é')"
        )
    return rows


def _retry_in_nfc(words: list[str], rows: np.ndarray, vectors: Vectors) -> int:
    """Fill the misses (`rows` -1) that `Vectors.row` finds in NFC; how many it found.

    Only a miss that can match that way is retried: a decomposed word, or any non-ASCII one
    when the table stores words decomposed (`nfc_index`, empty for almost every table). A
    retry of every non-ASCII miss made exact + casefold 2x slower on a Chinese vocabulary.
    """
    decomposed_rows = bool(vectors.nfc_index)
    is_nfc = unicodedata.is_normalized
    found = 0
    for i in np.flatnonzero(rows < 0).tolist():
        word = words[i]
        if word.isascii() or (not decomposed_rows and is_nfc("NFC", word)):
            continue
        row = vectors.row(word)
        if row is not None:
            rows[i] = row
            found += 1
    return found


def _subword_vector(vectors: Vectors, word: str) -> np.ndarray | None:
    """The `subword` rule's vector for `word`: what fastText (and gensim) give it.

    A word of the table has its own row there, which fastText's vector for it includes:
    a fastText `.bin`'s rows are already the mean of the word's own input row and its
    n-gram rows, so the row is that vector; the n-gram mean alone would leave the word's
    own row out. Only a word the table lacks gets the subword model's n-gram mean. This
    matters when `subword` comes before `exact` in `order`, or `exact` is left out.
    """
    row = vectors.index.get(word)
    if row is not None:
        return np.asarray(vectors.matrix[row])
    assert vectors.subword is not None  # the caller checks
    return vectors.subword.word_vector(word)


def _untrained_rows(
    vectors: Vectors, rows: np.ndarray, tokens: Sequence[str], notes: list[str]
) -> np.ndarray:
    """Of the `subword` rows `rows`, those none of whose n-grams a word of the model has.

    A word of the table is never one: its own row was trained. A subword model that is not
    fastText's cannot say which n-grams were trained: none is counted, and a note says so.
    """
    if not len(rows):
        return np.empty(0, np.int64)
    subword = vectors.subword
    if not isinstance(subword, FastTextSubwords):
        notes.append(
            f"subword: a {type(subword).__name__} cannot tell which n-grams were trained; "
            f"its {len(rows):,} rows are not checked for untrained n-grams"
        )
        return np.empty(0, np.int64)
    index = vectors.index
    unseen = np.array([r for r in rows.tolist() if tokens[r] not in index], dtype=np.int64)
    if not len(unseen):
        return unseen
    trained = _trained_ngrams(vectors, subword)
    if trained is None:
        notes.append(
            f"subword: {vectors.source or 'the vectors'} holds part of a fastText model's words "
            f"(a limit= or vocab= load saved), so which n-grams were trained is not known; its "
            f"{len(unseen):,} rows are not checked for untrained n-grams"
        )
        return np.empty(0, np.int64)
    mask = subword.untrained([tokens[r] for r in unseen.tolist()], trained)
    return np.sort(unseen[mask])


# vectors -> (words, stamp, subword model, hashes): `ngram_hash_set` of the table's words,
# for a subword model that does not know the words it was trained on (one built by hand);
# valid while the vectors keep that word list and model, as `_KEY_ROWS`
_TABLE_NGRAMS: weakref.WeakKeyDictionary[
    Vectors, tuple[list[str], int, FastTextSubwords, np.ndarray]
] = weakref.WeakKeyDictionary()


def _trained_ngrams(vectors: Vectors, subword: FastTextSubwords) -> np.ndarray | None:
    """The hashes of the n-grams of the model's words: its own list, else the table's words.

    None when the table holds only part of the model's words (`part_of_model`).

    Built once per model (or per vectors, for the table's words) and kept: a search aligns
    each trial's vocabulary to the same vectors.
    """
    own = subword.trained_ngrams()
    if own is not None or subword.part_of_model:
        return own
    words = vectors.words
    stamp = vectors.__dict__.get("_assigned", 0)
    entry = _TABLE_NGRAMS.get(vectors)
    if entry is None or entry[0] is not words or entry[1] != stamp or entry[2] is not subword:
        hashes = ngram_hash_set(words, subword.minn, subword.maxn)
        entry = _TABLE_NGRAMS[vectors] = (words, stamp, subword, hashes)
    return entry[3]


def _casefold_rows(words: list[str], vectors: Vectors, notes: list[str]) -> np.ndarray:
    """The `casefold` rule's row of each word (-1: none).

    The word's lowercase form first, as torchtext's `lower_case_backup` looks it up: "Apple"
    takes "apple" even where "APPLE" is an earlier row. A word whose lowercase form the
    vectors lack ("NASA" against "Nasa" and "nASA", no "nasa") takes the earliest (most
    frequent) row with its `casefold()`. `w.lower().casefold() == w.casefold()` holds for
    every code point, so the lowercase form is one of the rows the rule matched before (and
    one a vocabulary-filtered load keeps); only the pick among them changed. A note counts
    the words where the lowercase form beat an earlier variant.
    """
    n = len(words)
    index = vectors.index
    lowered = list(map(str.lower, words))
    lower_rows = np.array(list(map(index.get, lowered, [-1] * n)), dtype=np.int64)
    _retry_in_nfc(lowered, lower_rows, vectors)  # compared in NFC, as the exact rule
    first = _key_rows(vectors, MatchRule.CASEFOLD, None)
    folded = map(str.casefold, words)
    folded_rows = np.array(list(map(first.get, folded, [-1] * n)), dtype=np.int64)
    for i in np.flatnonzero(folded_rows < 0).tolist():  # a decomposed word: its NFC form's
        word = words[i]
        if not word.isascii() and not unicodedata.is_normalized("NFC", word):
            folded_rows[i] = first.get(unicodedata.normalize("NFC", word).casefold(), -1)
    changed = np.flatnonzero((lower_rows >= 0) & (lower_rows != folded_rows)).tolist()
    if changed:
        i = changed[0]
        example = (
            f"{printable(words[i])!r} -> {printable(lowered[i])!r}, "
            f"not {printable(vectors.words[int(folded_rows[i])])!r}"
        )
        notes.append(
            f"casefold: {len(changed):,} word(s) took their lowercase form over an earlier "
            f"case variant (e.g. {example})"
        )
    return np.where(lower_rows >= 0, lower_rows, folded_rows)


def _special_ids(vocab: Vocab) -> np.ndarray:
    """Rows of the specials (and of pad/unk), which no match rule may fill."""
    special = set(vocab.specials) | {t for t in (vocab.pad_token, vocab.unk_token) if t}
    return np.array(sorted(vocab.stoi[t] for t in special), dtype=np.int64)


def _check_subword_rows(matches: _Matches, vocab: Vocab, source_dim: int) -> None:
    """A subword model's vector must have the table's width, or the rows cannot be stacked."""
    for i, vec in matches.subword_rows.items():
        if vec.shape != (source_dim,):
            raise AlignmentError(
                f"subword model gave a vector of {vec.shape[0]} values for {vocab.tokens[i]!r}, "
                f"expected {source_dim}"
            )
