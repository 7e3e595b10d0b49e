"""Word-similarity and analogy scores, equal to gensim's and much faster.

Conventions follow gensim's `KeyedVectors.evaluate_word_pairs` / `evaluate_word_analogies`
(or, for analogies, the CA8 authors' script: see `Convention`) so numbers are comparable with
published ones: words are upper-cased when
`case_insensitive` (the first, i.e. most frequent, case variant wins), only the first
`restrict_vocab` rows take part, `oov_ratio` is a percentage. Analogies are answered in
batches with one matrix product per batch instead of one pass over the matrix per question.
"""

from __future__ import annotations

import os
import time
import weakref
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from vecgraft._util.options import parse_enum
from vecgraft.errors import ConfigError, DataError
from vecgraft.evaluate.datasets import (
    Question,
    WordPair,
    dataset_path,
    is_ca8,
    read_analogies,
    read_pairs,
)
from vecgraft.vectors import Vectors


class AnalogyMethod(StrEnum):
    """How an analogy `a : b :: c : ?` is answered (Levy & Goldberg 2014)."""

    COSADD = "3cosadd"
    COSMUL = "3cosmul"


def _ok_vocab(
    vectors: Vectors, restrict_vocab: int | None, case_insensitive: bool
) -> dict[str, int]:
    """Key -> row over the first `restrict_vocab` rows; earlier rows win case collisions."""
    words = vectors.words if restrict_vocab is None else vectors.words[:restrict_vocab]
    if case_insensitive:
        return {w.upper(): i for i, w in reversed(list(enumerate(words)))}
    return {w: i for i, w in reversed(list(enumerate(words)))}


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    """float32 rows scaled to unit length (zero rows stay zero)."""
    m = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1
    return m / norms


# --------------------------------------------------------------------------------------
# word similarity
@dataclass
class SimilarityResult:
    """Agreement of cosine similarities with human ratings.

    Attributes:
        pearson, spearman: correlation coefficients; `*_pvalue` their p-values.
        oov_ratio: percentage of pairs with an out-of-vocabulary word (gensim's definition).
        pairs: pairs that were scored (OOV pairs included when `dummy4unknown`).
        oov: pairs with an out-of-vocabulary word.
    """

    dataset: str
    pearson: float
    pearson_pvalue: float
    spearman: float
    spearman_pvalue: float
    oov_ratio: float
    pairs: int
    oov: int
    case_insensitive: bool
    dummy4unknown: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


def word_similarity(
    vectors: Vectors,
    path: str | os.PathLike[str],
    case_insensitive: bool = True,
    dummy4unknown: bool = False,
    *,
    restrict_vocab: int | None = 300000,
    delimiter: str | None = "\t",
) -> SimilarityResult:
    """Pearson and Spearman correlation of cosine similarity with a `word1 word2 score` file.

    Pairs with an out-of-vocabulary word are skipped, or scored as similarity 0 with
    `dummy4unknown=True` (gensim's convention). `path` may be a built-in name
    (`wordsim353`, `simlex999`).
    """
    from scipy import stats

    pairs = read_pairs(path, delimiter=delimiter)
    ok = _ok_vocab(vectors, restrict_vocab, case_insensitive)
    gold, model, oov = _score_pairs(vectors, path, pairs, ok, case_insensitive, dummy4unknown)
    spearman = stats.spearmanr(gold, model)
    pearson = stats.pearsonr(gold, model)
    ratio = oov / len(gold) * 100 if dummy4unknown else oov / (len(gold) + oov) * 100
    return SimilarityResult(
        dataset=str(path),
        pearson=float(pearson[0]),
        pearson_pvalue=float(pearson[1]),
        spearman=float(spearman[0]),
        spearman_pvalue=float(spearman[1]),
        oov_ratio=float(ratio),
        pairs=len(gold),
        oov=oov,
        case_insensitive=case_insensitive,
        dummy4unknown=dummy4unknown,
    )


def _score_pairs(
    vectors: Vectors,
    path: str | os.PathLike[str],
    pairs: Sequence[WordPair],
    ok: dict[str, int],
    case_insensitive: bool,
    dummy4unknown: bool,
) -> tuple[list[float], list[float], int]:
    """Gold scores, model cosines (0 for OOV pairs kept by dummy4unknown) and the OOV count.

    The cosines of all in-vocabulary pairs come from one batched product; fewer than two
    scored pairs is refused, since no correlation can be computed from them.
    """
    gold: list[float] = []
    model: list[float] = []
    left: list[int] = []
    right: list[int] = []
    slots: list[int] = []
    oov = 0
    for pair in pairs:
        a, b = (pair.a.upper(), pair.b.upper()) if case_insensitive else (pair.a, pair.b)
        if a not in ok or b not in ok:
            oov += 1
            if dummy4unknown:
                gold.append(pair.score)
                model.append(0.0)
            continue
        slots.append(len(model))
        gold.append(pair.score)
        model.append(0.0)
        left.append(ok[a])
        right.append(ok[b])
    if len(gold) < 2:
        raise DataError(
            f"{dataset_path(path)}: {len(gold)} similarity pair(s) could be scored, a "
            f"correlation needs at least 2 (invalid format, or the pairs are out of the "
            f"vocabulary of {vectors!r})"
        )
    if slots:
        rows = np.asarray(vectors.matrix)
        cos = np.einsum("ij,ij->i", _unit_rows(rows[left]), _unit_rows(rows[right]))
        for slot, value in zip(slots, cos.tolist()):
            model[slot] = value
    return gold, model, oov


# --------------------------------------------------------------------------------------
# analogies
class Convention(StrEnum):
    """Whose rules decide which analogy questions count and how they are scored.

    `gensim`: `KeyedVectors.evaluate_word_analogies` -- a question with any of its four words
    outside the vocabulary is skipped (or wrong with `dummy4unknown`), words are upper-cased
    when `case_insensitive`, 3CosMul uses epsilon 1e-6.

    `ca8`: the CA8 authors' `ana_eval_dense.py` -- a question is *seen* when its first three
    words are in the vocabulary (an unknown fourth word is simply wrong), words are compared
    as written, cosines are mapped to (cos + 1) / 2 and 3CosMul uses epsilon 0.01; coverage
    (seen / questions) is reported per section.
    """

    GENSIM = "gensim"
    CA8 = "ca8"


@dataclass
class SectionResult:
    """Accuracy on one section of an analogy file (e.g. `capital-common-countries`).

    `total` is the number of questions scored (ca8: the questions *seen*), `questions` the
    number in the file.
    """

    section: str
    correct: int
    total: int
    questions: int = 0

    @property
    def accuracy(self) -> float:
        """Correct / total (0 for an empty section)."""
        return self.correct / self.total if self.total else 0.0

    @property
    def coverage(self) -> float:
        """Scored / all questions of the section (CA8's per-category coverage)."""
        return self.total / self.questions if self.questions else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "section": self.section,
            "correct": self.correct,
            "total": self.total,
            "accuracy": self.accuracy,
            "questions": self.questions,
            "coverage": self.coverage,
        }


@dataclass
class AnalogyResult:
    """Analogy accuracy overall and per section.

    `total` excludes skipped questions: gensim's convention skips questions with any OOV word,
    CA8's those with an OOV word among the first three (`total` is then CA8's "seen").
    """

    dataset: str
    method: str
    correct: int
    total: int
    oov: int
    questions: int
    restrict_vocab: int | None
    case_insensitive: bool
    dummy4unknown: bool
    seconds: float
    sections: list[SectionResult] = field(default_factory=list)
    convention: str = Convention.GENSIM.value

    @property
    def accuracy(self) -> float:
        """Correct / total over all sections."""
        return self.correct / self.total if self.total else 0.0

    @property
    def oov_ratio(self) -> float:
        """Percentage of questions skipped as out-of-vocabulary."""
        return self.oov / self.questions * 100 if self.questions else 0.0

    @property
    def coverage(self) -> float:
        """Scored / all questions."""
        return self.total / self.questions if self.questions else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        out = {k: v for k, v in asdict(self).items() if k != "sections"}
        out["accuracy"] = self.accuracy
        out["oov_ratio"] = self.oov_ratio
        out["coverage"] = self.coverage
        out["sections"] = [s.to_dict() for s in self.sections]
        return out


# Bound on |bf16 score - float32 score| for unit vectors: inputs rounded to 8-bit mantissas
# (<= 2**-8 relative on the dot product) plus the bf16 output rounding (<= 2**-9), with margin.
_BF16_ERROR = 0.008
_BLOCK = 64
# The bf16 screen scores _CHUNK columns per matrix product. Its blocks are strided: block j
# of a chunk holds columns j, j + _STRIDE, j + 2 * _STRIDE, ..., so block maxima are a
# vectorised max over the rows of a [_BLOCK, _STRIDE] view (2.5x faster than per-block
# reductions over contiguous runs of bf16 values).
_STRIDE = 256
_CHUNK = _BLOCK * _STRIDE
# 3CosMul's epsilon in each convention
_EPS = {Convention.GENSIM: 1e-6, Convention.CA8: 0.01}


@lru_cache(maxsize=1)
def _bf16_supported() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _bf16_fast() -> bool:
    """Whether this CPU multiplies bf16 matrices natively (AVX512-BF16 / AMX via oneDNN)."""
    return _bf16_supported()


def _top_k(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Indices [batch, k] of the k largest scores per row, best first.

    A full `topk` over 400k columns costs as much as the matrix product that made them. The
    k best elements lie in the k blocks with the largest block maxima (each such element
    makes its block's maximum at least the k-th best value), so one max-reduction over
    blocks plus two tiny `topk`s give the same answer.
    """
    batch, n = scores.shape
    if n % _BLOCK or n <= _BLOCK * k * 4:
        return torch.topk(scores, k, dim=1).indices
    blocks = scores.view(batch, -1, _BLOCK)
    best_blocks = torch.topk(blocks.amax(dim=2), k, dim=1).indices  # [batch, k]
    cand = torch.gather(blocks, 1, best_blocks[:, :, None].expand(-1, -1, _BLOCK))
    cand = cand.reshape(batch, k * _BLOCK)
    pick = torch.topk(cand, k, dim=1).indices  # [batch, k] positions within candidates
    block_of = torch.gather(best_blocks, 1, pick // _BLOCK)
    return block_of * _BLOCK + pick % _BLOCK


class _AnalogyScorer:
    """Answers batches of analogy questions over the first `n` rows of a matrix.

    Built once per (vectors, rows, device) and kept for later calls (see `_prepared`): the
    unit rows, their padded transpose and the bf16 screen are the fixed cost of a call.

    3CosAdd on a CPU with native bf16 screens all rows with a bf16 product (about twice as
    fast), keeps every row within twice the bf16 error bound of the k-th best screened score,
    and ranks those survivors with exact float32 dot products: the result is the float32
    ranking, not an approximation of it. Zero rows are never answers (their cosine is
    undefined; gensim and CA8's script both leave them out as NaN).
    """

    def __init__(self, matrix: np.ndarray, device: torch.device) -> None:
        self.n = int(matrix.shape[0])
        self.device = device
        unit = _unit_rows(matrix)
        self.unit = torch.from_numpy(unit).to(device)
        zero = np.flatnonzero(~unit.any(axis=1))
        self.zero_rows = torch.from_numpy(zero).to(device) if zero.size else None
        # columns padded to whole blocks for _top_k; padded scores are set to -inf
        width = self.n + (-self.n) % _CHUNK
        self.unit_t = torch.zeros(self.unit.shape[1], width, device=device)
        self.unit_t[:, : self.n] = self.unit.T
        self._screen: tuple[list[torch.Tensor], torch.Tensor] | None = None

    def screen(self) -> tuple[list[torch.Tensor], torch.Tensor] | None:
        """(bf16 table as [dim, _CHUNK] pieces, unit rows [n_blocks, _BLOCK, dim]) or None."""
        if not (self.device.type == "cpu" and self.n > _BLOCK * 20 and _bf16_fast()):
            return None
        if self._screen is None:
            chunks = [c.contiguous() for c in self.unit_t.to(torch.bfloat16).split(_CHUNK, 1)]
            dim = self.unit.shape[1]
            blocks = (
                self.unit_t.T.reshape(-1, _BLOCK, _STRIDE, dim)
                .transpose(1, 2)
                .reshape(-1, _BLOCK, dim)
            )
            self._screen = (chunks, blocks)
        return self._screen

    def top(
        self,
        a: torch.Tensor,
        b: torch.Tensor,
        c: torch.Tensor,
        k: int,
        method: AnalogyMethod,
        eps: float = 1e-6,
    ) -> list[list[int]]:
        """Rows of the k best answers per question (question words excluded), best first."""
        u = self.unit
        if method is AnalogyMethod.COSADD:
            query = u[b] + u[c] - u[a]
            query = query / query.norm(dim=1, keepdim=True).clamp_min(1e-30)
            screen = self.screen()
            if screen is not None:
                return self._screened(query, screen, (a, b, c), k)
            scores = query @ self.unit_t
        else:  # 3CosMul: cosines shifted to [0, 1], as in gensim's most_similar_cosmul
            sims = [(u[i] @ self.unit_t).add_(1).mul_(0.5) for i in (a, b, c)]
            scores = sims[1].mul_(sims[2]).div_(sims[0].add_(eps))
        self._exclude(scores, (a, b, c))
        return _top_k(scores, k).tolist()

    def _exclude(self, scores: torch.Tensor, cols: tuple[torch.Tensor, ...]) -> None:
        scores[:, self.n :] = -torch.inf
        if self.zero_rows is not None:
            scores[:, self.zero_rows] = -torch.inf
        rows = torch.arange(scores.shape[0], device=scores.device)
        for col in cols:  # the question words themselves are never answers
            scores[rows, col] = -torch.inf

    def _screened(
        self,
        query: torch.Tensor,
        screen: tuple[list[torch.Tensor], torch.Tensor],
        cols: tuple[torch.Tensor, ...],
        k: int,
    ) -> list[list[int]]:
        # Pass 1, cheap: block maxima of bf16 scores, one column chunk at a time so the
        # [batch, chunk] scores stay in cache and each chunk of the table is read once a batch.
        chunks, unit_blocks = screen
        batch = query.shape[0]
        qb = query.to(torch.bfloat16)
        block_max = torch.empty(batch, len(chunks) * _STRIDE, device=query.device)
        for chunk, table in enumerate(chunks):
            part = qb @ table
            block_max[:, chunk * _STRIDE : (chunk + 1) * _STRIDE] = part.view(
                batch, _BLOCK, _STRIDE
            ).amax(dim=1)
        # Pass 2, exact: rescore the best few blocks; their k-th best exact score is a lower
        # bound L on each question's true k-th best. Any row that can beat L has a bf16 score
        # of at least L - error, so only blocks whose maximum reaches that need rescoring.
        first = torch.topk(block_max, min(k + 3, block_max.shape[1]), dim=1).indices
        rows = torch.arange(batch, device=query.device)
        q1 = rows.repeat_interleave(first.shape[1])
        ids1, exact1 = self._rescore(unit_blocks, query, q1, first.reshape(-1), cols)
        bound = torch.topk(exact1.view(batch, -1), k, dim=1).values[:, -1:]
        wanted = block_max >= bound - _BF16_ERROR
        wanted[rows[:, None], first] = False
        q2, b2 = torch.nonzero(wanted, as_tuple=True)
        if q2.numel() > batch * 64:  # scores too dense to screen: do it exactly
            scores = query @ self.unit_t
            self._exclude(scores, cols)
            return _top_k(scores, k).tolist()
        ids2, exact2 = self._rescore(unit_blocks, query, q2, b2, cols)
        # the k best of each rescored block, then rank each question's survivors
        q_all = torch.cat([q1, q2])
        values, where = torch.topk(torch.cat([exact1, exact2]), k, dim=1)
        ids = torch.gather(torch.cat([ids1, ids2]), 1, where).reshape(-1)
        flat_q = q_all[:, None].expand(-1, k).reshape(-1)
        order = torch.argsort(values.reshape(-1), descending=True, stable=True)
        order = order[torch.argsort(flat_q[order], stable=True)]
        counts = torch.bincount(flat_q, minlength=batch).tolist()
        ranked = ids[order].tolist()
        out: list[list[int]] = []
        start = 0
        for n in counts:
            out.append(ranked[start : start + min(n, k)])
            start += n
        return out

    def _rescore(
        self,
        unit_blocks: torch.Tensor,
        query: torch.Tensor,
        q_rows: torch.Tensor,
        blocks: torch.Tensor,
        cols: tuple[torch.Tensor, ...],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Exact float32 scores of question `q_rows[p]` against the rows of block `blocks[p]`.

        Returns row ids and scores, both [P, block]; padding rows, zero rows and question
        words score -inf.
        """
        exact = torch.bmm(unit_blocks[blocks], query[q_rows][:, :, None])[:, :, 0]
        offsets = torch.arange(_BLOCK, device=query.device) * _STRIDE
        row_ids = (blocks[:, None] // _STRIDE) * _CHUNK + blocks[:, None] % _STRIDE + offsets
        banned = row_ids >= self.n
        if self.zero_rows is not None:
            banned |= torch.isin(row_ids, self.zero_rows)
        for col in cols:
            banned |= row_ids == col[q_rows][:, None]
        return row_ids, exact.masked_fill(banned, -torch.inf)


class _Prepared:
    """What analogy calls on one `Vectors` share: vocabulary maps and scorers.

    Kept in a weak map keyed by the Vectors object, so a series of calls (3,000 questions
    here, the full set there, both methods) pays for normalisation and the bf16 table once.
    `fingerprint` detects a replaced or edited matrix or word list and starts afresh.
    """

    def __init__(self, fingerprint: tuple[Any, ...]) -> None:
        self.fingerprint = fingerprint
        self.vocab: dict[tuple[int, bool], dict[str, int]] = {}
        self.scorers: dict[tuple[int, str], _AnalogyScorer] = {}


_PREPARED: weakref.WeakKeyDictionary[Vectors, _Prepared] = weakref.WeakKeyDictionary()


def _fingerprint(vectors: Vectors) -> tuple[Any, ...]:
    """Cheap identity of the matrix and words: ids, shape, and a sample of values."""
    m = vectors.matrix
    n = int(m.shape[0])
    step = max(1, n // 257)
    sample = np.asarray(m[::step], dtype=np.float64)
    words = vectors.words
    edge = (words[0], words[n // 2], words[-1]) if n else ()
    return (
        id(m),
        m.shape,
        id(words),
        len(words),
        edge,
        float(sample.sum()),
        float(sample[:, 0].sum()) if n else 0.0,
    )


def _prepared(vectors: Vectors) -> _Prepared:
    fp = _fingerprint(vectors)
    prep = _PREPARED.get(vectors)
    if prep is None or prep.fingerprint != fp:
        prep = _Prepared(fp)
        _PREPARED[vectors] = prep
    return prep


def _cached_vocab(vectors: Vectors, n_rows: int, case_insensitive: bool) -> dict[str, int]:
    prep = _prepared(vectors)
    key = (n_rows, case_insensitive)
    if key not in prep.vocab:
        prep.vocab[key] = _ok_vocab(vectors, n_rows, case_insensitive)
    return prep.vocab[key]


def _cached_scorer(vectors: Vectors, n_rows: int, device: torch.device) -> _AnalogyScorer:
    prep = _prepared(vectors)
    key = (n_rows, str(device))
    if key not in prep.scorers:
        prep.scorers.clear()  # one table at a time: a 400k x 300 table is 0.5 GB
        prep.scorers[key] = _AnalogyScorer(vectors.matrix[:n_rows], device)
    return prep.scorers[key]


def clear_analogy_cache() -> None:
    """Forget the prepared tables of every Vectors (they also go when the Vectors does)."""
    _PREPARED.clear()


def analogies(
    vectors: Vectors,
    path: str | os.PathLike[str],
    restrict_vocab: int | None = 300000,
    case_insensitive: bool | None = None,
    method: str | AnalogyMethod = AnalogyMethod.COSADD,
    *,
    convention: str | Convention | None = None,
    dummy4unknown: bool = False,
    batch_size: int | None = None,
    device: str | torch.device | None = None,
) -> AnalogyResult:
    """Accuracy on analogy questions (`a : b :: c : expected`).

    The answer is the best-scoring word among the first `restrict_vocab` rows that is not
    one of the three question words. `path` may be a built-in name: `google`,
    `ca8-morphological`, `ca8-semantic`.

    Args:
        vectors: the word vectors; row order is frequency order (`restrict_vocab` keeps the
            first rows).
        path: a questions-words.txt-format file or a built-in name.
        restrict_vocab: only the first N rows are looked up and answered (None: all). CA8's
            script calls this `topn`.
        method: `3cosadd` or `3cosmul`.
        batch_size: questions per matrix product (default 256).
        device: torch device of the scoring (default CPU).
        convention: `gensim` (`evaluate_word_analogies`) or `ca8` (the CA8 authors' script);
            None picks `ca8` for the CA8 sets and `gensim` otherwise. See `Convention`.
        case_insensitive: upper-case words before lookup (gensim only); None means True for
            gensim and False (as written) for ca8.
        dummy4unknown: gensim only: count OOV questions as wrong instead of skipping them.

    Set-up (vocabulary map, unit rows, bf16 table) is cached per `vectors` object, so the
    second call on the same vectors costs only the questions.
    """
    how, conv, fold = _analogy_options(method, convention, path, case_insensitive, dummy4unknown)
    started = time.perf_counter()
    questions = read_analogies(path)
    n_rows = len(vectors) if restrict_vocab is None else min(restrict_vocab, len(vectors))
    ok = _cached_vocab(vectors, n_rows, fold)
    sections, answerable, oov = _sort_questions(questions, ok, fold, conv, dummy4unknown)
    dev = torch.device(device) if device is not None else torch.device("cpu")
    if answerable:
        _answer(vectors, answerable, sections, ok, n_rows, fold, how, conv, dev, batch_size)
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
        raise ConfigError(
            "the ca8 convention compares words as written and counts an unknown 4th word as "
            "wrong; case_insensitive and dummy4unknown are gensim options"
        )
    return how, conv, conv is Convention.GENSIM and case_insensitive is not False


def _sort_questions(
    questions: Sequence[Question],
    ok: dict[str, int],
    fold: bool,
    conv: Convention,
    dummy4unknown: bool,
) -> tuple[dict[str, SectionResult], list[tuple[Question, tuple[str, ...]]], int]:
    """Split questions into answerable ones and OOV ones, counting both per section.

    Returns (sections in file order, answerable questions with their lookup keys, OOV count).
    The gensim convention needs all four words in the vocabulary, ca8 only the first three
    (an unknown expected word is simply wrong); dummy4unknown counts OOV questions as wrong.
    """
    needed = 4 if conv is Convention.GENSIM else 3
    sections: dict[str, SectionResult] = {}
    answerable: list[tuple[Question, tuple[str, ...]]] = []
    oov = 0
    for q in questions:
        words = (q.a, q.b, q.c, q.expected)
        key = tuple(w.upper() for w in words) if fold else words
        sec = sections.get(q.section)
        if sec is None:
            sec = sections[q.section] = SectionResult(q.section, 0, 0)
        sec.questions += 1
        if any(w not in ok for w in key[:needed]):
            oov += 1
            if dummy4unknown:
                sec.total += 1
            continue
        answerable.append((q, key))
    return sections, answerable, oov


def _convention(convention: str | Convention | None, path: str | os.PathLike[str]) -> Convention:
    if convention is None:
        return Convention.CA8 if is_ca8(path) else Convention.GENSIM
    try:
        return Convention(convention)
    except ValueError:
        raise ConfigError(f"unknown convention {convention!r}; use gensim or ca8") from None


def _answer(
    vectors: Vectors,
    answerable: list[tuple[Question, tuple[str, ...]]],
    sections: dict[str, SectionResult],
    ok: dict[str, int],
    n_rows: int,
    fold: bool,
    how: AnalogyMethod,
    conv: Convention,
    dev: torch.device,
    batch_size: int | None,
) -> None:
    """Score the answerable questions into `sections` (batched matrix products)."""
    scorer = _cached_scorer(vectors, n_rows, dev)
    keys = vectors.words
    step = batch_size or 256
    k = min(5, n_rows)
    eps = _EPS[conv]
    ca8_add = conv is Convention.CA8 and how is AnalogyMethod.COSADD
    for start in range(0, len(answerable), step):
        chunk = answerable[start : start + step]
        idx = torch.tensor([[ok[w] for w in key[:3]] for _, key in chunk], device=dev)
        tops = scorer.top(idx[:, 0], idx[:, 1], idx[:, 2], k, how, eps)
        if ca8_add:
            # CA8 sets the question words' scores to 0, not -inf: with every other score
            # below 0, i.e. (b + c - a) . x < -1, the script answers a question word.
            best = torch.tensor([cand[0] if cand else 0 for cand in tops], device=dev)
            u = scorer.unit
            raw = ((u[idx[:, 1]] + u[idx[:, 2]] - u[idx[:, 0]]) * u[best]).sum(dim=1)
            negative = (raw < -1).tolist()
        for j, ((q, key), cand) in enumerate(zip(chunk, tops)):
            predicted: str | None = None
            if conv is Convention.CA8:
                if cand and not (ca8_add and negative[j]):
                    predicted = keys[cand[0]]
                else:  # numpy's nanargmax: the first of the tied zeros
                    predicted = keys[int(idx[j].min())]
            else:
                # gensim's rule: the first candidate that is not a question word is the answer
                ignore = set(key[:3])
                for row in cand:
                    predicted = keys[row].upper() if fold else keys[row]
                    if predicted in ok and predicted not in ignore:
                        break
            sec = sections[q.section]
            sec.total += 1
            sec.correct += int(predicted == key[3])


def format_results(
    similarity: Sequence[SimilarityResult] = (), analogy: Sequence[AnalogyResult] = ()
) -> str:
    """A plain-text table of intrinsic scores."""
    lines = []
    if similarity:
        lines.append(f"{'similarity':<28} {'spearman':>9} {'pearson':>9} {'pairs':>6} {'oov %':>6}")
        for sim in similarity:
            name = os.path.basename(sim.dataset)
            lines.append(
                f"{name:<28} {sim.spearman:>9.4f} {sim.pearson:>9.4f} {sim.pairs:>6d} "
                f"{sim.oov_ratio:>6.1f}"
            )
    for ana in analogy:
        if lines:
            lines.append("")
        name = os.path.basename(ana.dataset)
        title = f"{name} ({ana.method}, {ana.convention})"
        lines.append(f"{title:<40} {'correct':>8} {'total':>6} {'acc':>7} {'cover':>7}")
        for s in ana.sections:
            lines.append(
                f"{s.section:<40} {s.correct:>8d} {s.total:>6d} {s.accuracy:>7.2%} "
                f"{s.coverage:>7.2%}"
            )
        lines.append(
            f"{'TOTAL':<40} {ana.correct:>8d} {ana.total:>6d} {ana.accuracy:>7.2%} "
            f"{ana.coverage:>7.2%}"
        )
        seen = "not seen" if ana.convention == Convention.CA8 else "skipped as OOV"
        lines.append(f"(questions {ana.questions}, {seen} {ana.oov}, {ana.seconds:.2f} s)")
    return "\n".join(lines)
