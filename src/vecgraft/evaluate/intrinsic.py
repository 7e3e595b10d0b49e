"""Word-similarity and analogy scores, equal to gensim's and much faster.

Conventions follow gensim's `KeyedVectors.evaluate_word_pairs` / `evaluate_word_analogies`
so numbers are comparable with published ones: words are upper-cased when
`case_insensitive` (the first, i.e. most frequent, case variant wins), only the first
`restrict_vocab` rows take part, `oov_ratio` is a percentage. Analogies are answered in
batches with one matrix product per batch instead of one pass over the matrix per question.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import torch

from vecgraft._util.options import parse_enum
from vecgraft.errors import DataError
from vecgraft.evaluate.datasets import Question, dataset_path, read_analogies, read_pairs
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


# --------------------------------------------------------------------------------------
# analogies
@dataclass
class SectionResult:
    """Accuracy on one section of an analogy file (e.g. `capital-common-countries`)."""

    section: str
    correct: int
    total: int

    @property
    def accuracy(self) -> float:
        """Correct / total (0 for an empty section)."""
        return self.correct / self.total if self.total else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "section": self.section,
            "correct": self.correct,
            "total": self.total,
            "accuracy": self.accuracy,
        }


@dataclass
class AnalogyResult:
    """Analogy accuracy overall and per section; `total` excludes skipped OOV questions."""

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

    @property
    def accuracy(self) -> float:
        """Correct / total over all sections."""
        return self.correct / self.total if self.total else 0.0

    @property
    def oov_ratio(self) -> float:
        """Percentage of questions with an out-of-vocabulary word."""
        return self.oov / self.questions * 100 if self.questions else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        out = {k: v for k, v in asdict(self).items() if k != "sections"}
        out["accuracy"] = self.accuracy
        out["oov_ratio"] = self.oov_ratio
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


def _bf16_fast() -> bool:
    """Whether this CPU multiplies bf16 matrices natively (AVX512-BF16 / AMX via oneDNN)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


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

    3CosAdd on a CPU with native bf16 screens all rows with a bf16 product (about twice as
    fast), keeps every row within twice the bf16 error bound of the k-th best screened score,
    and ranks those survivors with exact float32 dot products: the result is the float32
    ranking, not an approximation of it.
    """

    def __init__(self, matrix: np.ndarray, method: AnalogyMethod, device: torch.device) -> None:
        self.method = method
        self.n = int(matrix.shape[0])
        self.unit = torch.from_numpy(_unit_rows(matrix)).to(device)
        # columns padded to whole blocks for _top_k; padded scores are set to -inf
        width = self.n + (-self.n) % _CHUNK
        self.unit_t = torch.zeros(self.unit.shape[1], width, device=device)
        self.unit_t[:, : self.n] = self.unit.T
        screen = (
            method is AnalogyMethod.COSADD
            and device.type == "cpu"
            and self.n > _BLOCK * 20
            and _bf16_fast()
        )
        # the bf16 table as contiguous [dim, _CHUNK] pieces, one matrix product each
        self.bf16_chunks = (
            [c.contiguous() for c in self.unit_t.to(torch.bfloat16).split(_CHUNK, dim=1)]
            if screen
            else None
        )
        # [n_blocks, _BLOCK, dim]: the padded unit rows grouped by screening block
        dim = self.unit.shape[1]
        self.unit_blocks = (
            self.unit_t.T.reshape(-1, _BLOCK, _STRIDE, dim).transpose(1, 2).reshape(-1, _BLOCK, dim)
            if screen
            else None
        )

    def top(self, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor, k: int) -> list[list[int]]:
        """Rows of the k best answers per question (question words excluded), best first."""
        u = self.unit
        if self.method is AnalogyMethod.COSADD:
            query = u[b] + u[c] - u[a]
            query = query / query.norm(dim=1, keepdim=True).clamp_min(1e-30)
            if self.bf16_chunks is not None:
                return self._screened(query, self.bf16_chunks, (a, b, c), k)
            scores = query @ self.unit_t
        else:  # 3CosMul: cosines shifted to [0, 1], as in gensim's most_similar_cosmul
            sims = [(u[i] @ self.unit_t).add_(1).mul_(0.5) for i in (a, b, c)]
            scores = sims[1].mul_(sims[2]).div_(sims[0].add_(1e-6))
        self._exclude(scores, (a, b, c))
        return _top_k(scores, k).tolist()

    def _exclude(self, scores: torch.Tensor, cols: tuple[torch.Tensor, ...]) -> None:
        scores[:, self.n :] = -torch.inf
        rows = torch.arange(scores.shape[0], device=scores.device)
        for col in cols:  # the question words themselves are never answers
            scores[rows, col] = -torch.inf

    def _screened(
        self,
        query: torch.Tensor,
        chunks: list[torch.Tensor],
        cols: tuple[torch.Tensor, ...],
        k: int,
    ) -> list[list[int]]:
        # Pass 1, cheap: block maxima of bf16 scores, one column chunk at a time so the
        # [batch, chunk] scores stay in cache and each chunk of the table is read once a batch.
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
        ids1, exact1 = self._rescore(query, q1, first.reshape(-1), cols)
        bound = torch.topk(exact1.view(batch, -1), k, dim=1).values[:, -1:]
        wanted = block_max >= bound - _BF16_ERROR
        wanted[rows[:, None], first] = False
        q2, b2 = torch.nonzero(wanted, as_tuple=True)
        if q2.numel() > batch * 64:  # scores too dense to screen: do it exactly
            scores = query @ self.unit_t
            self._exclude(scores, cols)
            return _top_k(scores, k).tolist()
        ids2, exact2 = self._rescore(query, q2, b2, cols)
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
        query: torch.Tensor,
        q_rows: torch.Tensor,
        blocks: torch.Tensor,
        cols: tuple[torch.Tensor, ...],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Exact float32 scores of question `q_rows[p]` against the rows of block `blocks[p]`.

        Returns row ids and scores, both [P, block]; padding rows and question words score -inf.
        """
        assert self.unit_blocks is not None
        exact = torch.bmm(self.unit_blocks[blocks], query[q_rows][:, :, None])[:, :, 0]
        offsets = torch.arange(_BLOCK, device=query.device) * _STRIDE
        row_ids = (blocks[:, None] // _STRIDE) * _CHUNK + blocks[:, None] % _STRIDE + offsets
        banned = row_ids >= self.n
        for col in cols:
            banned |= row_ids == col[q_rows][:, None]
        return row_ids, exact.masked_fill(banned, -torch.inf)


def analogies(
    vectors: Vectors,
    path: str | os.PathLike[str],
    restrict_vocab: int | None = 300000,
    case_insensitive: bool = True,
    method: str | AnalogyMethod = AnalogyMethod.COSADD,
    *,
    dummy4unknown: bool = False,
    batch_size: int | None = None,
    device: str | torch.device | None = None,
) -> AnalogyResult:
    """Accuracy on analogy questions (`a : b :: c : expected`), as gensim computes it.

    The answer is the best-scoring word among the first `restrict_vocab` rows that is not
    one of the three question words (gensim's `evaluate_word_analogies` rule).

    Questions with a word outside those rows are skipped (or counted wrong with
    `dummy4unknown`). `path` may be the built-in name `google`.
    """
    how = parse_enum(AnalogyMethod, method, "analogy method")
    started = time.perf_counter()
    questions = read_analogies(path)
    ok = _ok_vocab(vectors, restrict_vocab, case_insensitive)
    sections: dict[str, SectionResult] = {}
    answerable: list[tuple[Question, tuple[str, str, str, str]]] = []
    oov = 0
    for q in questions:
        words = (q.a, q.b, q.c, q.expected)
        key = tuple(w.upper() for w in words) if case_insensitive else words
        sec = sections.setdefault(q.section, SectionResult(q.section, 0, 0))
        if any(w not in ok for w in key):
            oov += 1
            if dummy4unknown:
                sec.total += 1
            continue
        answerable.append((q, key))  # type: ignore[arg-type]
    n_rows = len(vectors) if restrict_vocab is None else min(restrict_vocab, len(vectors))
    dev = torch.device(device) if device is not None else torch.device("cpu")
    scorer = _AnalogyScorer(vectors.matrix[:n_rows], how, dev)
    keys = vectors.words[:n_rows]
    step = batch_size or 256
    k = min(5, n_rows)
    for start in range(0, len(answerable), step):
        chunk = answerable[start : start + step]
        idx = torch.tensor([[ok[w] for w in key[:3]] for _, key in chunk], device=dev)
        tops = scorer.top(idx[:, 0], idx[:, 1], idx[:, 2], k)
        for (q, key), cand in zip(chunk, tops):
            # gensim's rule: the first candidate that is not a question word is the answer
            ignore = set(key[:3])
            predicted = None
            for row in cand:
                predicted = keys[row].upper() if case_insensitive else keys[row]
                if predicted in ok and predicted not in ignore:
                    break
            sec = sections[q.section]
            sec.total += 1
            sec.correct += int(predicted == key[3])
    ordered = list(sections.values())
    return AnalogyResult(
        dataset=str(path),
        method=how.value,
        correct=sum(s.correct for s in ordered),
        total=sum(s.total for s in ordered),
        oov=oov,
        questions=len(questions),
        restrict_vocab=restrict_vocab,
        case_insensitive=case_insensitive,
        dummy4unknown=dummy4unknown,
        seconds=time.perf_counter() - started,
        sections=ordered,
    )


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
        title = f"analogy section ({ana.method})"
        lines.append(f"{title:<40} {'correct':>8} {'total':>6} {'acc':>7}")
        for s in ana.sections:
            lines.append(f"{s.section:<40} {s.correct:>8d} {s.total:>6d} {s.accuracy:>7.2%}")
        lines.append(f"{'TOTAL':<40} {ana.correct:>8d} {ana.total:>6d} {ana.accuracy:>7.2%}")
        lines.append(f"(questions {ana.questions}, skipped as OOV {ana.oov}, {ana.seconds:.2f} s)")
    return "\n".join(lines)
