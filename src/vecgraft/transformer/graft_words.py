"""Word selection of the graft: which corpus words earn a token of their own.

A word is worth a row only if the grafted tokenizer will read it as that one token. Words are
therefore counted as the model's own tokenizer splits text (`model_words`): vecgraft's text
tokenizers split "blunkett's" into "blunkett" + "'s", while BERT reads blunkett ' s, and a
whole-word token "'s" never fires inside "blunkett's" (on 200 BBC texts the top picks 's, n't
and 'm took rows the corpus never used). The text tokenizers still find the words of scripts
written without spaces, which BERT's pre-tokenizer cuts into single characters.

An added token is matched on the normalised text before the pre-tokenizer runs, though, so it
also fires across the marks BERT splits at: "e-mail", "wi-fi" and "blunkett's" are read whole
when they stand between spaces or punctuation. Such compounds (runs of word characters joined
by single hyphens, apostrophes or periods) are candidates too (`count_words`), counted where
the token would fire; a clitic alone ("'s") never is. A compound and a word inside it compete
for the same occurrences, so `select_new_tokens` counts each pick where it fires beside the
better picks (`_firing_picks`).

Split from `vecgraft.transformer.graft`, which re-exports every public name here.
"""

from __future__ import annotations

import bisect
import functools
import heapq
import itertools
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vecgraft.errors import ConfigError, DataError
from vecgraft.text.tokenize import Tokenizer
from vecgraft.transformer.graft_tokenizer import (
    _match_key,
    _normalized,
    _piece_ids,
    _token_form,
    whole_word,
)
from vecgraft.transformer.tokens import UNSPACED as _UNSPACED

# Beside letters and digits, what the tokenizers library's `\w` (a Rust regex, Unicode) also
# counts as part of a word when it checks that a whole-word added token stands alone.
_WORD_CATEGORIES = frozenset({"Mn", "Mc", "Me", "Pc"})
# Marks that join the words of a compound ("e-mail", "blunkett's", "u.s", "1.5bn") when one
# stands alone between word characters: BERT splits at them, an added token matches across.
_JOINERS = frozenset("-\u2010\u2011'\u2019.")
# A character that is no word character (as `_word_char`, near enough) nor a space: spans
# holding one may hold a token of marks ('."', "--"), which fires anywhere.
_MARK = re.compile(r"[^\w\s]|_")
# Longer runs (URLs, dotted lists) are not candidates: their sub-compounds grow quadratically.
_MAX_PARTS = 8


class WordCounts(Counter[str]):
    """`count_words`' counts, with the spans of the corpus that hold a compound.

    `spans`: text between spaces, in the model's normalised spelling (raw where the
    normaliser pulls it apart, as BERT's does Chinese), each once with its frequency;
    where a compound and the words inside it compete for occurrences (`select_new_tokens`).
    """

    spans: Counter[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spans = Counter()


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


def graft_text_tokenizers(kinds: Sequence[str], user_dict: str | None) -> list[Tokenizer]:
    """The kinds that find words to graft, the jieba one as a Tokenizer reading `user_dict`.

    Shared by `graft-vocab --tokenizer K --tokenizer K2` and `finetune --model hf`, whose
    repeated --tokenizer kept only the last kind.
    """
    if user_dict is not None and "jieba" not in kinds:
        raise ConfigError(
            f"--user-dict (a jieba user dictionary) needs --tokenizer jieba; the tokenizers "
            f"are {', '.join(kinds)}"
        )
    return _text_tokenizers(
        [Tokenizer(k, user_dict=user_dict) if k == "jieba" else k for k in kinds]
    )


def _word_char(char: str) -> bool:
    r"""Whether `char` continues a word for an added token's `single_word` check (`\w`)."""
    return (
        char.isalnum() or char in "\u200c\u200d" or unicodedata.category(char) in _WORD_CATEGORIES
    )


def _model_reader(tok: Any) -> Callable[[str], tuple[str, list[str]]] | None:
    """(normalised text, `model_words`) of a text under `tok`; None without a pre-tokenizer."""
    backend = getattr(tok, "backend_tokenizer", None)
    if backend is None or backend.pre_tokenizer is None:
        return None
    normalizer, pre_tokenizer = backend.normalizer, backend.pre_tokenizer

    def split(text: str) -> tuple[str, list[str]]:
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
        return norm, words

    return split


def _compound_runs(span: str) -> list[list[tuple[int, int]]]:
    r"""The compounds of `span` (text between spaces): for each, its words as (start, end).

    A compound is a maximal run of two or more words (runs of word characters, as the
    added-token matcher's `\w`) each joined to the next by one hyphen, apostrophe or period:
    "e-mail", "blunkett's", "u.s" in "(u.s.)". A whole-word token of it fires there, since
    what stands around it is no word character. Runs of unspaced scripts and runs of more
    than `_MAX_PARTS` words are left out.
    """
    words: list[tuple[int, int]] = []
    i, n = 0, len(span)
    while i < n:
        if _word_char(span[i]):
            j = i + 1
            while j < n and _word_char(span[j]):
                j += 1
            words.append((i, j))
            i = j
        else:
            i += 1
    runs: list[list[tuple[int, int]]] = []
    for word in words:
        prev = runs[-1][-1] if runs else None
        if prev is not None and word[0] == prev[1] + 1 and span[prev[1]] in _JOINERS:
            runs[-1].append(word)
        else:
            runs.append([word])
    return [
        run
        for run in runs
        if 2 <= len(run) <= _MAX_PARTS and not _UNSPACED.search(span[run[0][0] : run[-1][1]])
    ]


def _symbol(text: str) -> bool:
    """Whether `text` has a word and a mark that BERT keeps in its word ("£5bn").

    The added-token matcher sees a word boundary at such a mark, so "5bn" fires there.
    """
    return any(_word_char(c) for c in text) and any(
        not _word_char(c) and not c.isspace() and not _bert_splits(c) for c in text
    )


def _bert_splits(char: str) -> bool:
    """Whether BERT's pre-tokenizer splits at `char` (ASCII non-alphanumerics, punctuation)."""
    code = ord(char)
    return (
        33 <= code <= 47
        or 58 <= code <= 64
        or 91 <= code <= 96
        or 123 <= code <= 126
        or unicodedata.category(char).startswith("P")
    )


def _inner_words(piece: str) -> list[str]:
    """The runs of word characters of `piece` that a non-word mark sets apart ("5bn")."""
    out: list[str] = []
    run = ""
    for c in piece:
        if _word_char(c):
            run += c
        elif run:
            out.append(run)
            run = ""
    if run:
        out.append(run)
    return out if len(out) > 1 or out != [piece] else []


@functools.lru_cache(maxsize=1 << 16)  # asked of the same picks millions of times
def _single_word(token: str) -> bool:
    """Whether the graft adds `token` as a whole-word token (`whole_word`), cached."""
    return whole_word(token)


def _fire(span: str, tokens: Iterable[str]) -> Counter[str]:
    """How often each of `tokens`, added, is read in `span` (text between spaces).

    As the tokenizers library's added-token matcher: the leftmost match, the longest of those
    starting there, then on after its end; a whole-word token next to a word character is
    dropped there, and the text it covered is not searched again.
    """
    return _sweep(span, sorted(o for t in set(tokens) for o in _occurrences(span, t)))


# (start, -length, token): sorted, the leftmost occurrence and then the longest comes first
_Occurrence = tuple[int, int, str]


def _occurrences(span: str, token: str) -> list[_Occurrence]:
    """Every occurrence of `token` in `span`, overlapping ones too, leftmost first."""
    found: list[_Occurrence] = []
    at = span.find(token) if token else -1
    while at >= 0:
        found.append((at, -len(token), token))
        at = span.find(token, at + 1)
    return found


def _sweep(span: str, occurrences: Sequence[_Occurrence]) -> Counter[str]:
    """`_fire` on the sorted occurrences: the leftmost, longest one past the last match's end.

    Why not test each token at each position: that took 60 s for 300 picks on 300 Chinese
    reviews.
    """
    out: Counter[str] = Counter()
    i, n = 0, len(span)
    for start, _, token in occurrences:
        if start < i:
            continue
        end = start + len(token)
        if not _single_word(token) or (
            (start == 0 or not _word_char(span[start - 1]))
            and (end == n or not _word_char(span[end]))
        ):
            out[token] += 1
        i = end
    return out


def _count_compounds(spans: Mapping[str, int]) -> Counter[str]:
    """Each compound of `spans` counted where its token alone would fire, inside longer ones too.

    The candidates are the maximal runs ("e-mail"); "e-mail" also fires inside "e-mail-order",
    so those occurrences count as well.
    """
    runs = {span: _compound_runs(span) for span in spans}  # each span's, found once
    maximal = {span[run[0][0] : run[-1][1]] for span in spans for run in runs[span]}
    out: Counter[str] = Counter()
    for span, n in spans.items():
        inside: set[str] = set()
        for run in runs[span]:
            for a in range(len(run)):
                for b in range(a + 1, len(run)):
                    part = span[run[a][0] : run[b][1]]
                    if part in maximal:
                        inside.add(part)
        for part in inside:
            out[part] += n * _fire(span, [part])[part]
    return out


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
    read = _model_reader(tok)
    if read is None:
        raise ConfigError(_split_note(tok))
    return read(text)[1]


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
) -> WordCounts:
    """Corpus frequency of each word; with several text tokenizers, a word's largest count.

    Several tokenizers find several kinds of word in one pass, e.g. `["char", "jieba"]` for
    Chinese characters and words.

    With `tokenizer` (the model's fast tokenizer), the words of spaced scripts are the ones it
    reads (`model_words`: its normalizer and pre-tokenizer), so each counted word is one the
    grafted tokenizer will read as one token; the text tokenizers then only find words of
    scripts written without spaces (Chinese, Japanese, Thai), which BERT cuts into single
    characters but a graft adds as tokens matched inside runs of characters: each is counted
    where its token alone would fire (every occurrence, 好 inside 很好 too), and the text
    between spaces that holds them joins `spans`, where picks compete. A tokenizer that
    cannot split words (a slow one, or one without a pre-tokenizer) leaves every word to the
    text tokenizers, as without `tokenizer`.

    With `tokenizer`, compounds count too: maximal runs of words joined by single hyphens,
    apostrophes or periods in the normalised text ("e-mail", "blunkett's", "1.5bn"), which
    BERT splits (e - mail) but a whole-word added token matches whole, since added tokens are
    matched before the pre-tokenizer runs. Each is counted where its token alone would fire,
    also inside a longer compound ("e-mail" in "e-mail-order"); a clitic alone ("'s") is no
    candidate, as a whole-word token never fires next to a letter. The spans holding
    compounds are kept in the result's `spans` for `select_new_tokens`.

    Example:
        >>> count_words(["the cat's toy", "The cat"]).most_common(3)
        [('cat', 2), ('the', 1), ("'s", 1)]
        >>> count_words(["the cat's e-mail"], tokenizer=bert_tokenizer)  # doctest: +SKIP
        WordCounts({'the': 1, 'cat': 1, "'": 1, 's': 1, 'e': 1, '-': 1, 'mail': 1,
                    "cat's": 1, 'e-mail': 1})
    """
    tokenizers = _text_tokenizers(text_tokenizer)
    read = None if tokenizer is None else _model_reader(tokenizer)
    # where unspaced tokens fire, keyed as `joined` and `marked` key the same span
    fire_spans: Counter[str] = Counter()
    per: list[Counter[str]] = [Counter() for _ in tokenizers]
    model: Counter[str] = Counter()
    joined: Counter[str] = Counter()  # spans with a joiner: the ones that may hold compounds
    unspaced: Counter[str] = Counter()  # spans with an unspaced character: where CJK tokens fire
    marked: Counter[str] = Counter()  # spans with a mark: where tokens of marks ('."') fire
    for text in texts:
        if read is None:
            for counter, text_tok in zip(per, tokenizers):
                counter.update(text_tok(text))
            continue
        norm, words = read(text)
        model.update(words)
        # BERT keeps a symbol in its word ("£5bn"), where the matcher sees a word boundary:
        # a token "5bn" fires there too, so the words inside such a piece are counted as well
        model.update(w for word in words if _symbol(word) for w in _inner_words(word))
        joined.update(s for s in norm.split() if len(s) > 2 and (_JOINERS & set(s) or _symbol(s)))
        marked.update(s for s in norm.split() if _MARK.search(s))
        if _UNSPACED.search(text):
            for counter, text_tok in zip(per, tokenizers):
                counter.update(w for w in text_tok(text) if _UNSPACED.search(w))
            held = [s for s in text.split() if _UNSPACED.search(s)]
            unspaced.update(held)
            fire_spans.update(_span_key(tokenizer, s) for s in held)
    merged = WordCounts()
    for counter in per:
        for word, n in counter.items():
            if n > merged[word]:
                merged[word] = n
    merged.update(model)  # no word of `model` has an unspaced character: no word is in both
    merged.spans.update(
        {span: n for span, n in joined.items() if _compound_runs(span) or _symbol(span)}
    )
    for word, n in _count_compounds(merged.spans).items():
        # a pre-tokenizer that keeps "e-mail" whole counted it already
        merged[word] = max(merged[word], n)
    if unspaced:  # where each token alone fires, not how often jieba or char cut it out
        found = [w for w in merged if _UNSPACED.search(w)]
        exact = _unspaced_counts(unspaced, found)
        for word in found:
            merged[word] = exact[word]
        _merge_spans(merged.spans, fire_spans)  # ... and the picks compete there
    _count_marks(merged, marked)
    return merged


def _count_marks(merged: WordCounts, marked: Mapping[str, int]) -> None:
    """Recount the words without a letter or digit where their tokens fire, in place.

    Why: such a token ('."', "--", an emoji) is matched anywhere, not only where the
    pre-tokenizer cut it out: GPT-2's reads 'delivered." United' as delivered + '."', but
    also '?."' as one piece, where the token fires too, so a pick counted 31 was read 32
    times. Counted like the words of unspaced scripts (`_unspaced_counts`) on the text
    between spaces, in the normalised spelling the matcher sees; the spans holding them
    join `spans`, where the picks compete (`_firing_picks`).
    """
    found = [w for w in merged if not _single_word(w) and not _UNSPACED.search(w)]
    if not found or not marked:
        return
    holding: dict[str, int] = {}
    exact = _unspaced_counts(marked, found, holding=holding)
    for word in found:
        merged[word] = exact[word]
    _merge_spans(merged.spans, holding)


def _span_key(tok: Any, span: str) -> str:
    """`span` (raw text between spaces) as `spans` keys it: normalised, where that is whole.

    Why: keyed raw, "A.e-mail-order,の" was in `spans` beside its normalised twin (from
    `joined`), and `_firing_picks` took what "e-mail-order" takes from "mail-order" once per
    key: a pick read 3 times was dropped at 0. A span the normaliser pulls apart (BERT pads
    each Chinese character) stays raw, as its tokens are matched on the raw text.
    """
    norm = _normalized(tok, span)
    return norm if norm and not any(c.isspace() for c in norm) else span


def _merge_spans(spans: Counter[str], more: Mapping[str, int]) -> None:
    """Add `more` to `spans` in place; a span in both is the same text, counted once.

    Why: each of `joined`, `unspaced` and `marked` counts every occurrence of its spans, so
    a span in two of them (a compound beside kana, '."' in "e-mail.") holds the same count
    in each; adding them counted it twice.
    """
    for span, n in more.items():
        spans[span] = max(spans[span], n)


def _unspaced_counts(
    spans: Mapping[str, int], words: Sequence[str], *, holding: dict[str, int] | None = None
) -> Counter[str]:
    """Each word counted where its token alone fires in `spans` (text between spaces).

    `holding`, when given, receives the spans that hold one of `words`, with their counts.

    A token of an unspaced script matches anywhere, the leftmost and longest first, so alone
    it fires at every non-overlapping occurrence (`str.count`). Why: jieba's count of 好 left
    out the 好 inside 很好 (124 counted, 204 read), and `--tokenizer jieba --tokenizer char`
    took the larger of two such counts, so a pick's report could be far off what the grafted
    tokenizer reads (酒 412 counted, 5 read beside the pick 酒店).
    """
    wanted = set(words)
    longest = max((len(w) for w in wanted), default=0)
    out: Counter[str] = Counter()
    for span, n in spans.items():
        found = {
            span[i : i + k]
            for i in range(len(span))
            for k in range(1, min(longest, len(span) - i) + 1)
            if span[i : i + k] in wanted
        }
        for word in found:
            out[word] += n * span.count(word)
        if found and holding is not None:
            holding[span] = n
    return out


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
    pieces = _piece_ids(tok, [w for w, _ in reps], added=True)
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
    spans = getattr(counts, "spans", None)
    if spans:
        return _firing_picks(out, spans, n, min_count)
    return out[:n]


def _firing_picks(
    ranked: Sequence[Candidate], spans: Mapping[str, int], n: int, min_count: int
) -> list[Candidate]:
    """The best `n` of `ranked`, each counted where it fires beside the better picks.

    A compound and a word inside it compete: with "blunkett's" added, "blunkett" no longer
    fires inside it (the matcher takes the longest token at the leftmost start), and "e-mail"
    takes "e-mail-order" from a later "mail-order". So, best first (lazily, a heap on the
    ranking rule): a candidate is recounted on the `spans` that hold it with the picks so far;
    a lower count puts it back in the ranking (dropped below `min_count`), a candidate that
    would take occurrences from a better pick is skipped, and the rest are picked. Every pick
    is then read as one token exactly as often as its count says.
    """
    texts = list(spans)
    blob = "\n".join(texts)  # one string: `find` locates the spans holding a candidate
    starts = list(itertools.accumulate((len(t) + 1 for t in texts[:-1]), initial=0))

    def holding(word: str) -> list[int]:
        found: list[int] = []
        at = blob.find(word)
        while at >= 0:
            k = bisect.bisect_right(starts, at) - 1
            found.append(k)
            at = blob.find(word, starts[k + 1]) if k + 1 < len(starts) else -1
        return found

    heap = [((-c.score, -c.count, c.word), i, c) for i, c in enumerate(ranked)]
    heapq.heapify(heap)
    picked: list[Candidate] = []
    # span index -> the occurrences of the picks it holds (sorted), and how often each fires
    on: dict[int, list[_Occurrence]] = {}
    fired: dict[int, Counter[str]] = {}
    while heap and len(picked) < n:
        _, i, cand = heapq.heappop(heap)
        where = holding(cand.word)
        lost, steals = 0, False
        mine: dict[int, list[_Occurrence]] = {}
        for k in where:
            mine[k] = _occurrences(texts[k], cand.word)
            now = _sweep(texts[k], sorted([*on.get(k, []), *mine[k]]))
            if any(now[w] != m for w, m in fired.get(k, Counter()).items()):
                steals = True
                break
            alone = _sweep(texts[k], mine[k])[cand.word]
            lost += spans[texts[k]] * (alone - now[cand.word])
        if steals:
            continue
        count = ranked[i].count - lost  # its count alone, less what better picks take
        if count != cand.count:
            if count >= max(min_count, 1):
                new = Candidate(cand.word, cand.pieces, count, count * (cand.score // cand.count))
                heapq.heappush(heap, ((-new.score, -new.count, new.word), i, new))
            continue
        picked.append(cand)
        for k in where:
            on[k] = sorted([*on.get(k, []), *mine[k]])
            fired[k] = _sweep(texts[k], on[k])
    return picked


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
