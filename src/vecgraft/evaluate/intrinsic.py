"""Word-similarity and analogy scores, equal to gensim's and much faster.

Conventions follow gensim's `KeyedVectors.evaluate_word_pairs` / `evaluate_word_analogies`
(or, for analogies, the CA8 authors' script: see `Convention`) so numbers are comparable with
published ones: words are upper-cased when
`case_insensitive` (the first, i.e. most frequent, case variant wins), only the first
`restrict_vocab` rows take part, `oov_ratio` is a percentage. Analogies are answered in
batches with one matrix product per batch instead of one pass over the matrix per question.
A word stored in the other Unicode normal form (NFD/NFC) is also found, where gensim calls
it out of vocabulary (the word as written is looked up first, so gensim's rows are kept).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Literal

import numpy as np
import torch

from vecgraft._util.console import Progress
from vecgraft._util.device import resolve_device
from vecgraft._util.options import lookup_enum, parse_enum
from vecgraft.errors import ConfigError, Opt, OptionError
from vecgraft.evaluate._intrinsic_engine import (
    _BF16_ERROR as _BF16_ERROR,
)
from vecgraft.evaluate._intrinsic_engine import (
    _BLOCK as _BLOCK,
)
from vecgraft.evaluate._intrinsic_engine import (
    _CHUNK as _CHUNK,
)
from vecgraft.evaluate._intrinsic_engine import (
    _PREPARED as _PREPARED,
)
from vecgraft.evaluate._intrinsic_engine import (
    _STRIDE as _STRIDE,
)
from vecgraft.evaluate._intrinsic_engine import (
    _AnalogyScorer as _AnalogyScorer,
)
from vecgraft.evaluate._intrinsic_engine import (
    _cached_scorer as _cached_scorer,
)
from vecgraft.evaluate._intrinsic_engine import (
    _cached_vocab as _cached_vocab,
)
from vecgraft.evaluate._intrinsic_engine import (
    _fingerprint as _fingerprint,
)
from vecgraft.evaluate._intrinsic_engine import (
    _Prepared as _Prepared,
)
from vecgraft.evaluate._intrinsic_engine import (
    _prepared as _prepared,
)
from vecgraft.evaluate._intrinsic_engine import (
    _top_k as _top_k,
)
from vecgraft.evaluate._intrinsic_engine import (
    clear_analogy_cache as clear_analogy_cache,
)
from vecgraft.evaluate._intrinsic_results import (
    AnalogyMethod as AnalogyMethod,
)
from vecgraft.evaluate._intrinsic_results import (
    AnalogyResult as AnalogyResult,
)
from vecgraft.evaluate._intrinsic_results import (
    Convention as Convention,
)
from vecgraft.evaluate._intrinsic_results import (
    SectionResult as SectionResult,
)
from vecgraft.evaluate._intrinsic_results import (
    format_results as format_results,
)
from vecgraft.evaluate._intrinsic_similarity import (
    GENSIM_RESTRICT_VOCAB as GENSIM_RESTRICT_VOCAB,
)
from vecgraft.evaluate._intrinsic_similarity import (
    SimilarityResult as SimilarityResult,
)
from vecgraft.evaluate._intrinsic_similarity import (
    _ok_vocab as _ok_vocab,
)
from vecgraft.evaluate._intrinsic_similarity import (
    _score_pairs as _score_pairs,
)
from vecgraft.evaluate._intrinsic_similarity import (
    _unit_rows as _unit_rows,
)
from vecgraft.evaluate._intrinsic_similarity import (
    check_restrict_vocab,
    find_row,
)
from vecgraft.evaluate._intrinsic_similarity import (
    word_similarity as word_similarity,
)
from vecgraft.evaluate.datasets import (
    Question,
    is_ca8,
    no_questions_error,
    scan_analogies,
)
from vecgraft.io.arguments import check_path, check_vectors
from vecgraft.vectors import Vectors

# seconds between two plain progress lines of `analogies(progress=True)`
ANALOGY_LINE_SECONDS = 30.0

# word similarity: `_intrinsic_similarity`; the analogy engine and its cache: `_intrinsic_engine`;
# result records and `format_results`: `_intrinsic_results`


# ----------------------------------------------------------------------------------------------
# analogies

# 3CosMul's epsilon in each convention
_EPS = {Convention.GENSIM: 1e-6, Convention.CA8: 0.01}
# 3CosMul questions per call of the scorer
_COSMUL_GROUP = 8192


@lru_cache(maxsize=1)
def _bf16_supported() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _bf16_fast() -> bool:
    """Whether this CPU multiplies bf16 matrices natively (AVX512-BF16 / AMX via oneDNN)."""
    return _bf16_supported()


def analogies(
    vectors: Vectors,
    path: str | os.PathLike[str],
    restrict_vocab: int | Literal["auto"] | None = "auto",
    case_insensitive: bool | None = None,
    method: str | AnalogyMethod = AnalogyMethod.COSADD,
    *,
    convention: str | Convention | None = None,
    dummy4unknown: bool = False,
    batch_size: int | None = None,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> AnalogyResult:
    """Accuracy on analogy questions (`a : b :: c : expected`).

    The answer is the best-scoring word among the first `restrict_vocab` rows that is not
    one of the three question words. `path` may be a built-in name: `google`,
    `ca8-morphological`, `ca8-semantic`. A zero row is never an answer, and a question asked
    with one is wrong (gensim's scores of it are all NaN: `_zero_question_rows`).

    Args:
        vectors: the word vectors; row order is frequency order (`restrict_vocab` keeps the
            first rows).
        path: a questions-words.txt-format file or a built-in name.
        restrict_vocab: only the first N rows are looked up and answered (None: all).
            "auto" (the default) is each convention's own: 300,000 as gensim's
            evaluate_word_analogies, all rows as CA8's script (its `topn`, 0 by default;
            most of the CA8 authors' vectors have more than 300,000 words).
        method: `3cosadd` (gensim's most_similar) or `3cosmul` (Levy & Goldberg 2014, as
            gensim's most_similar_cosmul: cosines shifted to [0, 1], epsilon 1e-6; the
            paper used 0.001, which answers 29 more of Google's questions on GloVe 6B 50d,
            7240 vs 7211 of 19486). gensim's most_similar_cosmul ignores `restrict_vocab` and
            searches every row; here both methods answer from the first `restrict_vocab` rows,
            as gensim's evaluate_word_analogies does for 3CosAdd.
        batch_size: questions per matrix product (default 256).
        device: torch device of the scoring (default CPU).
        convention: `gensim` (`evaluate_word_analogies`) or `ca8` (the CA8 authors' script);
            None picks `ca8` for the CA8 sets and `gensim` otherwise. See `Convention`.
        case_insensitive: upper-case words before lookup (gensim only); None means True for
            gensim and False (as written) for ca8.
        dummy4unknown: gensim only: count OOV questions as wrong instead of skipping them.
        progress: a plain `analogy questions n/total` line on stderr every
            `ANALOGY_LINE_SECONDS` (`vecgraft intrinsic`: 300-d vectors take minutes).

    Set-up (vocabulary map, unit rows, bf16 table) is cached per `vectors` object, so the
    second call on the same vectors costs only the questions; after editing rows in place,
    assign the matrix again (`v.matrix = v.matrix`) or call `clear_analogy_cache()`.
    """
    check_vectors(vectors, "analogies")
    check_path(path, "analogies", what=" or a built-in dataset name")
    how, conv, fold = _analogy_options(method, convention, path, case_insensitive, dummy4unknown)
    if restrict_vocab == "auto":
        restrict_vocab = None if conv is Convention.CA8 else GENSIM_RESTRICT_VOCAB
    check_restrict_vocab(restrict_vocab)
    started = time.perf_counter()
    questions, skipped = scan_analogies(path)
    if not questions:
        raise no_questions_error(path)
    n_rows = len(vectors) if restrict_vocab is None else min(restrict_vocab, len(vectors))
    ok = _cached_vocab(vectors, n_rows, fold)
    sections, answerable, oov = _sort_questions(questions, ok, fold, conv, dummy4unknown)
    dev = resolve_device(device) if device is not None else torch.device("cpu")
    if answerable:
        with Progress(
            len(answerable), "analogy questions", enabled=progress, bar=False,
            interval=ANALOGY_LINE_SECONDS,
        ) as lines:  # fmt: skip
            _answer(vectors, answerable, sections, ok, n_rows, fold, how, conv, dev, batch_size,
                    lines)  # fmt: skip
    ordered = list(sections.values())
    return AnalogyResult(
        dataset=str(path),
        method=how.value,
        correct=sum(s.correct for s in ordered),
        total=sum(s.total for s in ordered),
        oov=oov,
        questions=len(questions),
        restrict_vocab=restrict_vocab,
        case_insensitive=fold,
        dummy4unknown=dummy4unknown,
        seconds=time.perf_counter() - started,
        sections=ordered,
        convention=conv.value,
        skipped=skipped,
    )


def _analogy_options(
    method: str | AnalogyMethod,
    convention: str | Convention | None,
    path: str | os.PathLike[str],
    case_insensitive: bool | None,
    dummy4unknown: bool,
) -> tuple[AnalogyMethod, Convention, bool]:
    """Resolve (method, convention, fold case?) from the arguments before any file is read.

    Gensim-only options under the ca8 convention are refused rather than silently ignored.
    """
    how = parse_enum(AnalogyMethod, method, "analogy method")
    conv = _convention(convention, path)
    if conv is Convention.CA8 and (case_insensitive or dummy4unknown):
        raise _gensim_only(case_insensitive=bool(case_insensitive), dummy4unknown=dummy4unknown)
    return how, conv, conv is Convention.GENSIM and case_insensitive is not False


def _gensim_only(**given: bool) -> OptionError:
    """The refusal of gensim-only options under the ca8 convention, naming those given.

    An `OptionError`: `vecgraft intrinsic --lang zh --dummy4unknown` was told
    "case_insensitive and dummy4unknown are gensim options", keywords it cannot type (one
    it never gave), and not that `--convention gensim` takes them.
    """
    names = [Opt(name) for name, on in given.items() if on]
    them = " and ".join(["{}"] * len(names))
    are, it = ("is a gensim option", "it") if len(names) == 1 else ("are gensim options", "them")
    return OptionError(
        "the ca8 convention compares words as written and counts an unknown 4th word as "
        f"wrong; {them} {are}: {{}} takes {it}",
        *names,
        Opt("convention", "'gensim'", "gensim"),
    )


def _sort_questions(
    questions: Sequence[Question],
    ok: dict[str, int],
    fold: bool,
    conv: Convention,
    dummy4unknown: bool,
) -> tuple[dict[str, SectionResult], list[tuple[Question, _Rows]], int]:
    """Split questions into answerable ones and OOV ones, counting both per section.

    Returns (sections in file order, answerable questions with their words' rows, OOV count).
    The gensim convention needs all four words in the vocabulary, ca8 only the first three
    (an unknown expected word is simply wrong: its row is None); dummy4unknown counts OOV
    questions as wrong.
    """
    needed = 4 if conv is Convention.GENSIM else 3
    sections: dict[str, SectionResult] = {}
    answerable: list[tuple[Question, _Rows]] = []
    oov = 0
    for q in questions:
        rows = tuple(find_row(ok, w, fold) for w in (q.a, q.b, q.c, q.expected))
        sec = sections.get(q.section)
        if sec is None:
            sec = sections[q.section] = SectionResult(q.section, 0, 0)
        sec.questions += 1
        if None in rows[:needed]:
            oov += 1
            if dummy4unknown:
                sec.total += 1
            continue
        answerable.append((q, rows))
    return sections, answerable, oov


def _convention(convention: str | Convention | None, path: str | os.PathLike[str]) -> Convention:
    if convention is None:
        return Convention.CA8 if is_ca8(path) else Convention.GENSIM
    try:
        return lookup_enum(Convention, convention)
    except ValueError:
        raise ConfigError(f"unknown convention {convention!r}; use gensim or ca8") from None


def _answer(
    vectors: Vectors,
    answerable: list[tuple[Question, _Rows]],
    sections: dict[str, SectionResult],
    ok: dict[str, int],
    n_rows: int,
    fold: bool,
    how: AnalogyMethod,
    conv: Convention,
    dev: torch.device,
    batch_size: int | None,
    lines: Progress,
) -> None:
    """Score the answerable questions into `sections` (batched matrix products).

    Answers are compared by the row their key has in `ok` (`_key_row`), not by string: the
    same as gensim's string comparison, and a decomposed row still answers its NFC word.
    """
    scorer = _cached_scorer(vectors, n_rows, dev)
    key_row = _key_row(vectors.words, ok, fold)
    zero = _zero_question_rows(vectors, answerable)
    step = batch_size or 256
    # 3CosMul shares the distinct words' cosines between questions: the more per call the
    # better, up to a group that bounds the table of distinct words (`_AnalogyScorer._cosmul`)
    group = max(step, _COSMUL_GROUP) if how is AnalogyMethod.COSMUL else step
    k = min(5, n_rows)
    eps = _EPS[conv]
    ca8_add = conv is Convention.CA8 and how is AnalogyMethod.COSADD
    for start in range(0, len(answerable), group):
        chunk = answerable[start : start + group]
        idx = torch.tensor([rows[:3] for _, rows in chunk], device=dev)
        tops = scorer.top(idx[:, 0], idx[:, 1], idx[:, 2], k, how, eps, step)
        lines.update(len(chunk))
        if ca8_add:
            # CA8 sets the question words' scores to 0, not -inf: with every other score
            # below 0, i.e. (b + c - a) . x < -1, the script answers a question word.
            best = torch.tensor([cand[0] if cand else 0 for cand in tops], device=dev)
            u = scorer.rows
            raw = ((u(idx[:, 1]) + u(idx[:, 2]) - u(idx[:, 0])) * u(best)).sum(dim=1)
            negative = (raw < -1).tolist()
        for j, ((q, rows), cand) in enumerate(zip(chunk, tops)):
            predicted: int | None = None
            # asked with a zero vector: all its scores are NaN (`_zero_question_rows`)
            no_direction = not zero.isdisjoint(rows[:3])
            if conv is Convention.CA8:
                if cand and not no_direction and not (ca8_add and negative[j]):
                    predicted = key_row(cand[0])
                else:  # numpy's nanargmax: the first of the tied zeros
                    predicted = key_row(int(idx[j].min()))
            elif not no_direction:  # gensim answers an arbitrary word: wrong, as None here
                # gensim's rule: the first candidate that is not a question word is the answer;
                # with none, the last candidate (None if there is none). Its most_similar drops
                # the question words' own rows, which the scorer ranks last (-inf) and returns
                # only where fewer than k other rows exist: dropped here too, else the last
                # candidate could be the expected word and count as correct.
                ignore = set(rows[:3])
                for row in (r for r in cand if r not in ignore):
                    predicted = key_row(row)
                    if predicted not in ignore:
                        break
            sec = sections[q.section]
            sec.total += 1
            sec.correct += int(predicted is not None and predicted == rows[3])


# rows of a question's four words in `ok` (the expected word's is None where ca8 allows it)
_Rows = tuple[int | None, ...]


def _zero_question_rows(vectors: Vectors, answerable: list[tuple[Question, _Rows]]) -> set[int]:
    """Rows asked with (a question's first three words) whose float32 norm is 0.

    That is an all-zero vector, and also one whose values are so small (around 1e-23 and
    below, e.g. 1e-30) that their squares underflow float32: gensim's float32 norm is 0 as
    well. Such a row has no unit vector: gensim's is 0 / 0 = NaN (or x / 0 = Inf for the
    tiny values, whose query vector then normalises to NaN), so every score of a question
    asking with it is NaN and gensim answers an arbitrary word, counted wrong; CA8's script
    answers a question word (`nanargmax` finds only their zeros). The scorer's zero unit
    row would instead drop the word from `b + c - a` and answer the rest.
    """
    asked = sorted({row for _, rows in answerable for row in rows[:3] if row is not None})
    norms = np.linalg.norm(np.asarray(vectors.matrix[asked], dtype=np.float32), axis=1)
    return {asked[i] for i in np.flatnonzero(norms == 0)}


def _key_row(words: Sequence[str], ok: dict[str, int], fold: bool) -> Callable[[int], int]:
    """Row -> the row its key has in `ok` (the earliest case variant when `fold`).

    Two rows answer the same word exactly when these agree: gensim compares the upper-cased
    strings, and a decomposed row answers its NFC word as `find_row` looks it up.
    """
    if fold:
        return lambda row: ok[words[row].upper()]
    return lambda row: ok[words[row]]
