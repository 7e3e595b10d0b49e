"""The batched analogy engine behind `intrinsic.analogies` and its per-Vectors cache.

Split out of `vecgraft.evaluate.intrinsic`, which re-exports these names.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np
import torch

from vecgraft.evaluate._intrinsic_results import AnalogyMethod
from vecgraft.evaluate._intrinsic_similarity import _ok_vocab, _unit_rows
from vecgraft.vectors import Vectors

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
# 3CosMul scores the distinct question words against column chunks of at most this many
# floats in all (16 MB), so the table stays in cache while each question combines its rows.
_COSMUL_TABLE = 1 << 22


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
    unit rows (in `blocks`) and the bf16 screen (or the padded float32 transpose, `unit_t`)
    are the fixed cost of a call.

    3CosAdd on a CPU with native bf16 screens all rows with a bf16 product (about twice as
    fast), keeps every row within twice the bf16 error bound of the k-th best screened score,
    and ranks those survivors with exact float32 dot products: the result is the float32
    ranking, not an approximation of it. Zero rows are never answers (their cosine is
    undefined; gensim and CA8's script both leave them out as NaN); a question asked with
    one is counted wrong by `intrinsic._answer`, not here.
    """

    def __init__(self, matrix: np.ndarray, device: torch.device) -> None:
        self.n = int(matrix.shape[0])
        self.device = device
        dim = int(matrix.shape[1])
        width = self.n + (-self.n) % _CHUNK
        # The unit rows, zero-padded to whole chunks, in the order the screen's blocks read
        # them: blocks[i] holds rows (i // _STRIDE) * _CHUNK + i % _STRIDE + _STRIDE * t,
        # t < _BLOCK, so the exact rescoring of a block gathers one contiguous [_BLOCK, dim].
        # The only float32 copy kept: the rows, their transpose and this table were three.
        self.blocks = torch.zeros(width // _BLOCK, _BLOCK, dim, device=device)
        zero = []
        for start in range(0, self.n, _CHUNK):  # a chunk at a time: no whole temporary
            unit = _unit_rows(matrix[start : start + _CHUNK])
            zero.append(np.flatnonzero(~unit.any(axis=1)) + start)
            rows = torch.zeros(_CHUNK, dim)
            rows[: len(unit)] = torch.from_numpy(unit)
            self._chunks()[start // _CHUNK] = rows.view(_BLOCK, _STRIDE, dim).transpose(0, 1)
        zeros = np.concatenate(zero) if zero else np.zeros(0, np.int64)
        self.zero_rows = torch.from_numpy(zeros).to(device) if zeros.size else None
        self._unit_t: torch.Tensor | None = None
        self._screen: list[torch.Tensor] | None = None

    def _chunks(self) -> torch.Tensor:
        """`blocks` as [n_chunks, _STRIDE, _BLOCK, dim] (a view)."""
        return self.blocks.view(-1, _STRIDE, _BLOCK, self.blocks.shape[2])

    def _chunk_rows(self, chunk: int) -> torch.Tensor:
        """The unit rows of column chunk `chunk`, in order, padding rows zero: [_CHUNK, dim]."""
        return self._chunks()[chunk].transpose(0, 1).reshape(_CHUNK, -1)

    def rows(self, idx: torch.Tensor) -> torch.Tensor:
        """Unit rows `idx` (any shape of row numbers): [*idx.shape, dim], looked up in `blocks`."""
        j = idx % _CHUNK
        at = (idx // _CHUNK * _STRIDE + j % _STRIDE) * _BLOCK + j // _STRIDE
        return self.blocks.view(-1, self.blocks.shape[2])[at]

    @property
    def unit_t(self) -> torch.Tensor:
        """The unit rows transposed, columns padded to whole chunks (their scores set to -inf).

        Made on first use (3CosMul, no bf16 screen, or a screen too dense): the bf16 screen
        needs none, and it is another float32 copy of the matrix (0.5 GB for 400k x 300).
        """
        if self._unit_t is None:
            dim, width = self.blocks.shape[2], self.blocks.shape[0] * _BLOCK
            self._unit_t = torch.empty(dim, width, device=self.blocks.device)
            for chunk in range(width // _CHUNK):
                self._unit_t[:, chunk * _CHUNK : (chunk + 1) * _CHUNK] = self._chunk_rows(chunk).T
        return self._unit_t

    def screen(self) -> list[torch.Tensor] | None:
        """The bf16 table: `unit_t` as [dim, _CHUNK] pieces; None where bf16 is slow."""
        # looked up on `intrinsic`, where it lives (and where tests replace it)
        from vecgraft.evaluate import intrinsic

        if not (self.device.type == "cpu" and self.n > _BLOCK * 20 and intrinsic._bf16_fast()):
            return None
        if self._screen is None:
            # from the rows a chunk at a time: converting unit_t whole held it, a bf16 copy
            # and the pieces at once
            self._screen = [
                self._chunk_rows(chunk).T.to(torch.bfloat16).contiguous()
                for chunk in range(self.blocks.shape[0] * _BLOCK // _CHUNK)
            ]
        return self._screen

    def top(
        self,
        a: torch.Tensor,
        b: torch.Tensor,
        c: torch.Tensor,
        k: int,
        method: AnalogyMethod,
        eps: float = 1e-6,
        batch: int = 256,
    ) -> list[list[int]]:
        """Rows of the k best answers per question (question words excluded), best first.

        3CosMul takes any number of questions and scores them `batch` at a time; 3CosAdd
        scores all it is given in one product.
        """
        if method is AnalogyMethod.COSADD:
            query = self.rows(b) + self.rows(c) - self.rows(a)
            query = query / query.norm(dim=1, keepdim=True).clamp_min(1e-30)
            screen = self.screen()
            if screen is not None:
                return self._screened(query, screen, (a, b, c), k)
            scores = query @ self.unit_t
        else:
            return self._cosmul(a, b, c, k, eps, batch)
        self._exclude(scores, (a, b, c))
        return _top_k(scores, k).tolist()

    def _cosmul(
        self,
        a: torch.Tensor,
        b: torch.Tensor,
        c: torch.Tensor,
        k: int,
        eps: float,
        batch: int,
    ) -> list[list[int]]:
        """3CosMul for any number of questions: the k best rows by s(b) * s(c) / (s(a) + eps).

        As gensim's most_similar_cosmul, each cosine is shifted to s = (cos + 1) / 2.
        Each of the three cosines depends on one word, and question sets repeat their words
        (Google's 19,544 questions use 905 distinct words): one product per column chunk
        scores every distinct word, then each question combines three rows of it. The chunk
        is narrow enough for that table to stay in cache, and each chunk's k + 3 best per
        question (the question words are dropped at the end) are merged into a running best.
        Same arithmetic, in the same order, as scoring each question over every row.
        """
        nq = int(a.shape[0])
        words, inverse = torch.unique(torch.cat([a, b, c]), return_inverse=True)
        ia, ib, ic = inverse[:nq], inverse[nq : 2 * nq], inverse[2 * nq :]
        width = max(_BLOCK * 16, _COSMUL_TABLE // len(words) // _BLOCK * _BLOCK)
        keep = min(k + 3, self.n)
        dev = self.blocks.device
        best_v = torch.full((nq, keep), -torch.inf, device=dev)
        best_i = torch.zeros((nq, keep), dtype=torch.long, device=dev)
        query = self.rows(words)
        # two [batch, width] buffers reused for every chunk: fresh ones cost 3x the arithmetic
        scores = torch.empty(min(batch, nq), width, device=dev)
        other = torch.empty_like(scores)
        for start in range(0, self.n, width):
            end = min(start + width, self.n)
            sims = (query @ self.unit_t[:, start:end]).add_(1).mul_(0.5)
            denom = sims + eps
            zero = None
            if self.zero_rows is not None:
                inside = self.zero_rows[(self.zero_rows >= start) & (self.zero_rows < end)]
                zero = inside - start if inside.numel() else None
            for q0 in range(0, nq, batch):
                rows = slice(q0, q0 + batch)
                shape = (ia[rows].shape[0], end - start)
                s = scores.view(-1)[: shape[0] * shape[1]].view(shape)
                o = other.view(-1)[: shape[0] * shape[1]].view(shape)
                torch.index_select(sims, 0, ib[rows], out=s)
                s.mul_(torch.index_select(sims, 0, ic[rows], out=o))
                s.div_(torch.index_select(denom, 0, ia[rows], out=o))
                if zero is not None:  # no direction, no cosine: never an answer
                    s[:, zero] = -torch.inf
                top = _top_k(s, min(keep, end - start))
                values = torch.cat([best_v[rows], torch.gather(s, 1, top)], dim=1)
                ids = torch.cat([best_i[rows], top + start], dim=1)
                merged = torch.topk(values, keep, dim=1)
                best_v[rows] = merged.values
                best_i[rows] = torch.gather(ids, 1, merged.indices)
        for col in (a, b, c):  # the question words themselves are never answers
            best_v[best_i == col[:, None]] = -torch.inf
        order = torch.topk(best_v, min(k, keep), dim=1).indices
        return torch.gather(best_i, 1, order).tolist()

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

        Returns row ids and scores, both [P, block]; padding rows, zero rows and question
        words score -inf.
        """
        exact = torch.bmm(self.blocks[blocks], query[q_rows][:, :, None])[:, :, 0]
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
    `fingerprint` sees a matrix or word list assigned anew and starts afresh: after rows are
    edited in place, `v.matrix = v.matrix` (as for `Vectors.normed`) or
    `clear_analogy_cache()`. It samples rows, so an edit in place alone may go unseen.
    """

    def __init__(self, fingerprint: tuple[Any, ...]) -> None:
        self.fingerprint = fingerprint
        self.vocab: dict[tuple[int, bool], dict[str, int]] = {}
        self.scorers: dict[tuple[int, str], _AnalogyScorer] = {}


_PREPARED: weakref.WeakKeyDictionary[Vectors, _Prepared] = weakref.WeakKeyDictionary()


def _fingerprint(vectors: Vectors) -> tuple[Any, ...]:
    """Cheap identity of the matrix and words: ids, shape, assignments, sampled values.

    The count of `matrix`/`words` assignments Vectors keeps makes `v.matrix = v.matrix`
    a change even for the same array; the values of every ~257th row are no checksum.
    """
    m = vectors.matrix
    n = int(m.shape[0])
    step = max(1, n // 257)
    sample = np.asarray(m[::step], dtype=np.float64)
    words = vectors.words
    edge = (words[0], words[n // 2], words[-1]) if n else ()
    return (
        id(m),
        vectors.__dict__.get("_assigned", 0),
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
    """Forget the prepared tables of every Vectors (they also go when the Vectors does).

    For rows edited in place, which the cache need not see (`v.matrix = v.matrix` also works).
    """
    _PREPARED.clear()
