"""`corpus` mode: average a word's contextual vectors over its occurrences in a corpus.

Lines come from the one text reader (`vecgraft.text.iter_texts`: the same files, decoding and
bad-row rules as `vecgraft build`) and are put in NFC, as the tokenizers put text; words are
found in each line by the text tokenizer's word rule (a compound like "well-known" or "don't"
is tried whole, then by its alphanumeric parts; a clitic the rule splits off, as in "it's",
is joined back when the whole is a wanted word; a capitalised form falls back to the
lower-case vocabulary word; in a run of Chinese, Japanese or Thai, which the rule keeps whole,
words are matched inside, longest first). Each line is tokenised once with offsets; an
occurrence's span is the set of tokens whose character
offsets overlap the word. Lines are the unit of context and are truncated to the model's
maximum length (occurrences cut off are not counted).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from itertools import groupby, islice
from pathlib import Path
from typing import Any

import numpy as np

from vecgraft.errors import DataError
from vecgraft.text.corpus import iter_texts
from vecgraft.text.normalize import nfc
from vecgraft.text.tokenize import Tokenizer
from vecgraft.transformer.encode import Encoder
from vecgraft.transformer.tokens import UNSPACED

Corpus = str | os.PathLike[str] | Iterable[str]

_WORDS = Tokenizer()  # the default regex rule, used for its spans only (no normalisation)


def iter_lines(corpus: Corpus, *, encoding: str = "utf-8", errors: str = "strict") -> Iterator[str]:
    """Lines of a corpus: a text file (maybe compressed, CSV/TSV/JSONL too), a folder, or strings.

    Files are read by `iter_texts` under `encoding`/`errors` (strict by default: a bad
    byte is an error naming file and line).
    """
    if isinstance(corpus, (str, os.PathLike)):
        path = Path(corpus)
        if not path.exists():
            raise DataError(f"{path}: no such corpus file or folder")
        for line in iter_texts(path, encoding=encoding, errors=errors):
            line = line.strip()
            if line:
                yield nfc(line)  # as the tokenizers put it: vocabulary words are NFC
    else:
        for line in corpus:
            if not isinstance(line, str):
                raise DataError(f"corpus items must be strings, found {type(line).__name__}")
            if line.strip():
                yield nfc(line)


def find_words(
    line: str, wanted: dict[str, int], unspaced: Sequence[int] | None = None
) -> list[tuple[int, int, int]]:
    """(word index, start, end) of each occurrence of a `wanted` word (word -> index) in `line`.

    `unspaced`: the lengths of the wanted words in scripts written without spaces, longest
    first (`unspaced_lengths`; computed from `wanted` when not given).
    """
    if unspaced is None:
        unspaced = unspaced_lengths(wanted)
    found = []
    spans = _joined(line, _WORDS.spans(line), wanted)
    for start, end in spans:
        token = line[start:end]
        hit = _lookup(token, wanted)
        if hit is not None:
            found.append((hit, start, end))
            continue
        if unspaced and UNSPACED.search(token):
            found.extend((w, start + s, start + e) for w, s, e in _inside(token, wanted, unspaced))
            continue
        for part_start, part in _parts(token):
            hit = _lookup(part, wanted)
            if hit is not None:
                found.append((hit, start + part_start, start + part_start + len(part)))
    return found


def _joined(
    line: str, spans: Iterable[tuple[int, int]], wanted: dict[str, int]
) -> list[tuple[int, int]]:
    """`spans`, with two touching spans merged where together they are a wanted word.

    Why: the word rule splits clitics off ("it's" -> it, 's), so a word list holding "it's"
    or "we're" (as `graft-vocab` proposes them) was never found and fell back to
    contextless, reported as "not in corpus" though it occurs often.
    """
    out: list[tuple[int, int]] = []
    for start, end in spans:
        if out and out[-1][1] == start and _lookup(line[out[-1][0] : end], wanted) is not None:
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def unspaced_lengths(wanted: Iterable[str]) -> list[int]:
    """Distinct lengths of the words with unspaced-script letters, longest first."""
    return sorted({len(w) for w in wanted if UNSPACED.search(w)}, reverse=True)


def _inside(
    token: str, wanted: dict[str, int], lengths: Sequence[int]
) -> list[tuple[int, int, int]]:
    """Wanted words inside a run of unspaced text, longest match first, left to right.

    Why: the regex word rule takes a Chinese clause ("我住五星级酒店") as one token, so a
    Chinese word was never found in it and corpus mode fell back to contextless for all.
    """
    found, pos = [], 0
    while pos < len(token):
        for n in lengths:
            hit = wanted.get(token[pos : pos + n]) if pos + n <= len(token) else None
            if hit is not None:
                found.append((hit, pos, pos + n))
                pos += n
                break
        else:
            pos += 1
    return found


def _parts(token: str) -> list[tuple[int, str]]:
    """The letter/digit runs of a compound token ("well-known" -> well, known) with offsets."""
    out, pos = [], 0
    for alnum, group in groupby(token, key=str.isalnum):
        piece = "".join(group)
        if alnum:
            out.append((pos, piece))
        pos += len(piece)
    return out if len(out) > 1 else []


def _lookup(word: str, wanted: dict[str, int]) -> int | None:
    hit = wanted.get(word)
    if hit is None:
        lower = word.lower()
        if lower != word:
            hit = wanted.get(lower)
    return hit


def corpus_sums(
    encoder: Encoder,
    tok: Any,
    words: Sequence[str],
    corpus: Corpus,
    *,
    max_occurrences: int = 50,
    chunk_lines: int = 512,
    encoding: str = "utf-8",
    errors: str = "strict",
) -> tuple[np.ndarray, np.ndarray]:
    """Sum of contextual vectors [len(words), dim] and occurrence counts [len(words)].

    At most `max_occurrences` occurrences per word are used (the first ones in corpus order);
    reading stops early once every word has reached the cap.
    """
    if max_occurrences < 1:
        raise DataError(f"max_occurrences must be at least 1, got {max_occurrences}")
    wanted = {w: i for i, w in enumerate(words)}
    unspaced = unspaced_lengths(wanted)
    counts = np.zeros(len(words), dtype=np.int64)
    sums: np.ndarray | None = None
    lines = iter_lines(corpus, encoding=encoding, errors=errors)
    max_length = encoder.usable_length(tok)
    full = 0
    while full < len(words):
        chunk = list(islice(lines, chunk_lines))
        if not chunk:
            break
        items, owners = _chunk_items(
            tok, chunk, wanted, counts, max_occurrences, max_length, unspaced
        )
        if not items:
            continue
        pooled = encoder.pool(items)
        for arr, word_ids in zip(pooled, owners):
            if sums is None:
                sums = np.zeros((len(words), arr.shape[1]), dtype=np.float64)
            np.add.at(sums, np.asarray(word_ids), arr)
        full = int((counts >= max_occurrences).sum())
    if sums is None:
        sums = np.zeros((len(words), 0), dtype=np.float64)
    return sums, counts


def _chunk_items(
    tok: Any,
    chunk: list[str],
    wanted: dict[str, int],
    counts: np.ndarray,
    cap: int,
    max_length: int,
    unspaced: Sequence[int] = (),
) -> tuple[list[tuple[list[int], list[list[int]]]], list[list[int]]]:
    """Model inputs for one chunk of lines; `counts` is updated for the spans scheduled."""
    found = [find_words(line, wanted, unspaced) for line in chunk]
    keep = [i for i, occ in enumerate(found) if any(counts[w] < cap for w, _, _ in occ)]
    if not keep:
        return [], []
    enc = tok(
        [chunk[i] for i in keep],
        add_special_tokens=True,
        return_special_tokens_mask=True,
        return_offsets_mapping=True,
        truncation=True,
        max_length=max_length,
    )
    items, owners = [], []
    for row, i in enumerate(keep):
        offsets = enc["offset_mapping"][row]
        special = enc["special_tokens_mask"][row]
        spans, word_ids = [], []
        for w, start, end in found[i]:
            if counts[w] >= cap:
                continue
            span = [
                t
                for t, (s, e) in enumerate(offsets)
                if not special[t] and e > s and s < end and e > start
            ]
            if span:
                spans.append(span)
                word_ids.append(w)
                counts[w] += 1
        if spans:
            items.append((list(enc["input_ids"][row]), spans))
            owners.append(word_ids)
    return items, owners
