"""GloVe co-occurrence counting: vectorised, streamed, with a memory bound.

Each document's word ids are windowed as in the reference `cooccur.c`: a pair at distance
`d <= window` adds `1/d` to X[i, j] (and to X[j, i]: the window is symmetric); windows never
cross document boundaries; out-of-vocabulary tokens are dropped *before* windowing.

Speed comes from numpy, not Python loops: documents are batched, and for each offset d the
pairs are the two shifted views `(ids[:-d], ids[d:])`. Pairs of frequent words (ids below
`dense_size`, where most of the mass is) go into a dense table with `np.bincount`; the rest
become int64 keys `i * V + j`, reduced with a sort + `np.add.reduceat`. Reduced runs are kept
in memory until they outgrow `max_memory`, then merged and spilled to sorted `.npy` shards,
which are merged range by range at the end.

Up to window 18, weights are stored as integers in units of `1/lcm(1..window)`, so every
count is an exact float64 integer: the result does not depend on batching, spilling or
summation order. From window 19, lcm(1..window) exceeds 2**24 and the weights are plain
`1/d` floats, so sums in another order may differ in the last bits (about 1e-11 on counts).
"""

from __future__ import annotations

import itertools
import math
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vecgraft._util.atomic import owned_temp_dir
from vecgraft.errors import ConfigError

_BYTES_PER_ENTRY = 16  # int64 key + float64 value
_EXACT_SCALE_LIMIT = 2**24  # beyond this lcm, fall back to plain 1/d weights


@dataclass
class Cooccurrence:
    """A sparse, symmetric co-occurrence matrix in coordinate form, sorted by (row, col).

    Attributes:
        rows: int32 [nnz] word ids.
        cols: int32 [nnz] context word ids.
        values: float64 [nnz] weighted counts (sum of 1/distance).
        vocab_size: V, the matrix is [V, V].
        tokens: in-vocabulary tokens that were windowed.
    """

    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray
    vocab_size: int
    tokens: int = 0

    @property
    def nnz(self) -> int:
        """Number of non-zero entries."""
        return int(self.values.shape[0])

    def to_dense(self) -> np.ndarray:
        """Dense float64 [V, V] matrix (for tests and tiny vocabularies)."""
        dense = np.zeros((self.vocab_size, self.vocab_size), dtype=np.float64)
        dense[self.rows, self.cols] = self.values
        return dense


def _weight_scale(window: int) -> float:
    """The integer unit of the weights: lcm(1..window) when small enough to stay exact."""
    scale = math.lcm(*range(1, window + 1))
    return float(scale) if scale <= _EXACT_SCALE_LIMIT else 1.0


def _reduce(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort `keys` and sum the `values` of equal keys -> (unique sorted keys, sums)."""
    if keys.size == 0:
        return keys, values
    order = np.argsort(keys)  # integer-valued sums: order does not matter
    keys = keys[order]
    values = values[order]
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    return keys[starts], np.add.reduceat(values, starts)


class CooccurrenceCounter:
    """Accumulates co-occurrence counts document by document under a memory bound.

    Args:
        vocab_size: V; ids must be in [0, V).
        window: maximum distance of a counted pair.
        max_memory: bytes the sparse table may use before it is spilled to disk.
        dense_size: ids below this are counted in a dense [dense_size, dense_size] table
            (frequent words come first in the vocabulary, so this catches most pairs).
        batch_tokens: tokens gathered before a vectorised counting pass.
        tmp_dir: where shards are spilled (a fresh temporary folder by default).

    Example:
        >>> c = CooccurrenceCounter(3, window=2)
        >>> c.add(np.array([0, 1, 2]))
        >>> c.result().to_dense()[0].tolist()
        [0.0, 1.0, 0.5]
    """

    def __init__(
        self,
        vocab_size: int,
        window: int = 10,
        *,
        max_memory: int = 2**30,
        dense_size: int = 2048,
        batch_tokens: int = 1 << 18,
        tmp_dir: str | Path | None = None,
    ) -> None:
        if window < 1:
            raise ConfigError(f"window must be >= 1, got {window}")
        if vocab_size < 1:
            raise ConfigError(f"vocabulary size must be >= 1, got {vocab_size}")
        if max_memory < 1:
            raise ConfigError(f"max_memory must be a positive number of bytes, got {max_memory}")
        self.vocab_size = vocab_size
        self.window = window
        self.max_memory = max_memory
        self.batch_tokens = batch_tokens
        self.scale = _weight_scale(window)
        self.dense_size = min(dense_size, vocab_size)
        # the dense block must itself respect the memory bound
        while self.dense_size > 1 and self.dense_size**2 * 8 > max_memory // 2:
            self.dense_size //= 2
        self._dense = np.zeros(self.dense_size * self.dense_size, dtype=np.float64)
        self._pending: list[np.ndarray] = []
        self._pending_tokens = 0
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []
        self._run_entries = 0
        self._shards: list[tuple[Path, Path]] = []
        self._spilled = 0  # shards written, still counted once `close` deleted them
        self._tmp_root = tmp_dir
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.tokens = 0

    # -- feeding ---------------------------------------------------------------------------
    def add(self, ids: np.ndarray) -> None:
        """Count one document given as int ids [n] (out-of-vocabulary tokens already removed)."""
        if ids.size == 0:
            return
        self._pending.append(np.asarray(ids, dtype=np.int64))
        self._pending_tokens += int(ids.size)
        self.tokens += int(ids.size)
        if self._pending_tokens >= self.batch_tokens:
            self._count_pending()

    def add_many(self, docs: Iterable[np.ndarray]) -> None:
        """Count many documents."""
        for ids in docs:
            self.add(ids)

    def _count_pending(self) -> None:
        if not self._pending:
            return
        ids = np.concatenate(self._pending)
        lengths = np.fromiter((len(d) for d in self._pending), dtype=np.int64)
        doc = np.repeat(np.arange(len(lengths)), lengths)
        self._pending = []
        self._pending_tokens = 0
        v, f = self.vocab_size, self.dense_size
        key_parts: list[np.ndarray] = []
        val_parts: list[np.ndarray] = []
        cell_parts: list[np.ndarray] = []
        weight_parts: list[np.ndarray] = []
        for d in range(1, self.window + 1):
            if ids.size <= d:
                break
            same = doc[:-d] == doc[d:]
            a, b = ids[:-d][same], ids[d:][same]
            weight = self.scale / d
            dense = (a < f) & (b < f)
            da, db = a[dense], b[dense]
            cell_parts.append(np.concatenate((da * f + db, db * f + da)))
            weight_parts.append(np.full(2 * da.size, weight))
            sparse = ~dense
            a, b = a[sparse], b[sparse]
            key_parts.append(np.concatenate((a * v + b, b * v + a)))
            val_parts.append(np.full(2 * a.size, weight))
        if cell_parts:
            cells = np.concatenate(cell_parts)
            if cells.size:
                self._dense += np.bincount(
                    cells, weights=np.concatenate(weight_parts), minlength=f * f
                )
        if key_parts:
            self._add_run(*_reduce(np.concatenate(key_parts), np.concatenate(val_parts)))

    # -- memory bound ----------------------------------------------------------------------
    def _add_run(self, keys: np.ndarray, values: np.ndarray) -> None:
        self._runs.append((keys, values))
        self._run_entries += keys.size
        if self._run_entries * _BYTES_PER_ENTRY * 2 > self.max_memory:
            keys, values = self._merge_runs()
            # merged runs that still fill over a quarter of the budget go to disk
            if keys.size * _BYTES_PER_ENTRY * 4 > self.max_memory:
                self._spill(keys, values)
            else:
                self._runs = [(keys, values)]
                self._run_entries = keys.size

    def _merge_runs(self) -> tuple[np.ndarray, np.ndarray]:
        runs, self._runs, self._run_entries = self._runs, [], 0
        if not runs:  # everything was spilled (the last run added did that itself)
            return np.empty(0, np.int64), np.empty(0, np.float64)
        if len(runs) == 1:
            return runs[0]
        return _reduce(np.concatenate([k for k, _ in runs]), np.concatenate([x for _, x in runs]))

    def _tmp_dir(self) -> Path:
        if self._tmp is None:
            self._tmp = owned_temp_dir("cooccur", self._tmp_root)
        return Path(self._tmp.name)

    def _spill(self, keys: np.ndarray, values: np.ndarray) -> None:
        n = len(self._shards)
        kpath = self._tmp_dir() / f"shard{n:05d}.keys.npy"
        vpath = self._tmp_dir() / f"shard{n:05d}.values.npy"
        np.save(kpath, keys)
        np.save(vpath, values)
        self._shards.append((kpath, vpath))
        self._spilled += 1

    @property
    def spilled_shards(self) -> int:
        """How many sorted shards were written to disk so far (`result` may add the last)."""
        return self._spilled

    # -- result ----------------------------------------------------------------------------
    def result(self) -> Cooccurrence:
        """Merge everything into one sorted `Cooccurrence` (counts in units of 1/distance)."""
        self._count_pending()
        f, v = self.dense_size, self.vocab_size
        cells = np.flatnonzero(self._dense)
        dense_keys = (cells // f) * v + cells % f
        dense_vals = self._dense[cells]
        self._add_run(*_reduce(dense_keys, dense_vals))
        keys, values = self._merge_runs()
        if self._shards:
            keys, values = self._merge_shards(keys, values)
        out = Cooccurrence(
            rows=(keys // v).astype(np.int32),
            cols=(keys % v).astype(np.int32),
            values=values / self.scale,
            vocab_size=v,
            tokens=self.tokens,
        )
        self.close()
        return out

    def _merge_shards(self, keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """k-way merge of the shards and the in-memory run, one key range at a time.

        Each shard is memory-mapped; a range's slices are found by binary search, so only
        the range being merged is read into memory.
        """
        shards = [(np.load(k, mmap_mode="r"), np.load(x, mmap_mode="r")) for k, x in self._shards]
        shards.append((keys, values))
        total = sum(k.shape[0] for k, _ in shards)
        parts = max(1, math.ceil(total * _BYTES_PER_ENTRY * 3 / self.max_memory))
        # range boundaries from evenly spaced samples of every shard's (sorted) keys
        samples = np.sort(
            np.concatenate([k[:: max(1, k.shape[0] // (parts * 8 + 1))] for k, _ in shards])
        )
        bounds = [
            *np.unique(samples[np.linspace(0, samples.size - 1, parts + 1)[1:-1].astype(int)])
        ]
        edges = [np.int64(-1), *bounds, np.int64(np.iinfo(np.int64).max)]
        out_keys: list[np.ndarray] = []
        out_vals: list[np.ndarray] = []
        for lo, hi in itertools.pairwise(edges):
            ks, xs = [], []
            for k, x in shards:
                start, stop = np.searchsorted(k, [lo, hi], side="right")
                ks.append(np.asarray(k[start:stop]))
                xs.append(np.asarray(x[start:stop]))
            rk, rx = _reduce(np.concatenate(ks), np.concatenate(xs))
            out_keys.append(rk)
            out_vals.append(rx)
        return np.concatenate(out_keys), np.concatenate(out_vals)

    def close(self) -> None:
        """Delete spilled shards."""
        self._shards = []
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def count_cooccurrences(
    docs: Iterable[np.ndarray],
    vocab_size: int,
    window: int = 10,
    *,
    max_memory: int = 2**30,
    dense_size: int = 2048,
    batch_tokens: int = 1 << 18,
) -> Cooccurrence:
    """Count the symmetric 1/distance-weighted co-occurrences of id documents.

    Args:
        docs: documents as int arrays of vocabulary ids [n_i] (OOV tokens removed).
        vocab_size: V.
        window: maximum pair distance.
        max_memory: bytes the in-memory table may use before spilling to disk.
        dense_size: ids below this are counted in a dense table (see CooccurrenceCounter).
        batch_tokens: tokens per vectorised counting pass.

    Returns:
        The merged `Cooccurrence`, sorted by (row, col).
    """
    counter = CooccurrenceCounter(
        vocab_size, window, max_memory=max_memory, dense_size=dense_size, batch_tokens=batch_tokens
    )
    try:
        counter.add_many(docs)
        return counter.result()
    finally:
        counter.close()
