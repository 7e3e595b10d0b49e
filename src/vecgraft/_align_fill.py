"""The filling half of `vecgraft.align`: matched rows gathered (PCA), the rest initialised.

`align()` imports this module when it runs; this module imports the public names (strategies,
`AlignmentReport`, `pca`) from `vecgraft.align` at load time, so there is no import cycle.
"""

from __future__ import annotations

import math
from itertools import repeat
from typing import Any

import numpy as np
import torch

from vecgraft._align_match import _CODE, _LABELS, _N_MATCH, _Matches
from vecgraft._util.options import integer
from vecgraft.align import (
    INIT,
    PAD,
    UNK,
    UNTRAINED_WARN_SHARE,
    AlignmentReport,
    InitFn,
    InitStrategy,
    MatchRule,
    UnkStrategy,
    own_types,
    pca,
    untrained_advice,
)
from vecgraft.errors import AlignmentError
from vecgraft.text.vocab import Vocab
from vecgraft.vectors import Vectors

# rows gathered or checked per step: a copy of every matched row was the size of the output
_ROWS_AT_ONCE = 1 << 14


def _init_rows(
    init: InitStrategy | InitFn,
    n: int,
    dim: int,
    mean: torch.Tensor,
    std: torch.Tensor,
    generator: torch.Generator,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """[n, dim] rows drawn on the CPU so a seed gives the same rows on any device.

    The normal and uniform rows are scaled and shifted in place: `mean + randn * std` held
    up to three [n, dim] tensors at once, most of `vecgraft build`'s peak memory when most
    words are unmatched. The same operations in the same order give the same bits. The
    draws are float32 whatever `dtype`; `dtype` (float64 for `_wide_rows`) is the type they
    are scaled and shifted in, and the type of the rows returned.
    """
    if callable(init) and not isinstance(init, InitStrategy):
        out = init(n, dim, generator)
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (n, dim):
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise AlignmentError(
                f"init callable returned {shape}, expected a tensor of ({n}, {dim})"
            )
        return out.detach().to(device="cpu", dtype=dtype)
    if init is InitStrategy.ZEROS:
        return torch.zeros(n, dim, dtype=dtype)
    mean, std = mean.to(dtype), std.to(dtype)  # no copy when already `dtype`
    if init is InitStrategy.MEAN:
        return mean.expand(n, dim).clone()
    if init is InitStrategy.UNIFORM:
        half = std * math.sqrt(3.0)
        unit = torch.rand(n, dim, generator=generator).to(dtype)
        return unit.mul_(2.0).sub_(1.0).mul_(half).add_(mean)
    return torch.randn(n, dim, generator=generator).to(dtype).mul_(std).add_(mean)


# the strategies that draw around the matched rows' mean with their std
_DRAWN = (InitStrategy.NORMAL, InitStrategy.UNIFORM)


def _wide_rows(
    init: InitStrategy,
    n: int,
    dim: int,
    mean: torch.Tensor,
    std: torch.Tensor,
    generator: torch.Generator,
    notes: list[str],
) -> torch.Tensor:
    """`_init_rows`'s draws scaled in float64 and clipped to float32's range, with a note.

    Why: with matched values near float32's limit (std 3e38) `mean + randn * std` overflowed
    float32 and the report kept quiet about rows of Inf. Only such fills come here, so
    ordinary rows keep their bits. The float32 overflow may be only in `randn * std`, with
    every row back inside float32's range once the mean is added: then nothing is clipped
    and no note is made.
    """
    rows = _init_rows(init, n, dim, mean, std, generator, torch.float64)
    top = float(torch.finfo(torch.float32).max)
    clipped = int((rows.abs() > top).sum())
    if clipped:
        notes.append(
            f"{clipped} drawn value(s) fell beyond float32's range (the matched rows' std "
            f"reaches {float(std.max()):.4g}): clipped to ±{top:.4g}"
        )
    return rows.clamp_(-top, top).float()


def _no_spread_note(init: InitStrategy, n_finite: int) -> str:
    """The note for drawn rows that are all one vector: the matched rows do not vary."""
    if n_finite == 1:
        which, copy = "one word matched", "a copy of its vector"
    else:
        which, copy = "the matched rows are all equal", "a copy of their mean"
    return (
        f"{which}: the matched rows' std is 0, so every {init.value}-initialised row is "
        f"{copy}; use zeros for them (init='zeros'; build --oov zeros), or more matched "
        "words (the rows only diverge in training)"
    )


def _target_dim(dim: int | None, source_dim: int, n_matched: int, source: str | None) -> int:
    if dim is None:
        return source_dim
    dim = integer(dim, "dim")
    if dim == source_dim:
        return source_dim
    if dim < 1:
        raise AlignmentError(f"dim must be positive, got {dim}")
    if dim > source_dim:
        where = f"{source}: " if source else ""
        raise AlignmentError(
            f"{where}cannot grow vectors from {source_dim} to {dim} dimensions "
            f"(PCA only reduces); use dim <= {source_dim}"
        )
    if n_matched < dim:
        raise AlignmentError(
            f"PCA from {source_dim} to {dim} dimensions needs at least {dim} matched words, "
            f"found {n_matched}"
        )
    return dim


def _gather_rows(
    vectors: Vectors, matches: _Matches, dim: int | None, notes: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """(float32 [V, out_dim] with the matched rows filled, matched row indices), PCA applied."""
    src = matches.src
    source_dim = vectors.dim
    table_rows = np.flatnonzero(src >= 0)
    sub_rows = np.fromiter(matches.subword_rows, dtype=np.int64, count=len(matches.subword_rows))
    matched_rows = np.sort(np.concatenate([table_rows, sub_rows]))
    out_dim = _target_dim(dim, source_dim, len(matched_rows), vectors.source)
    # One fancy-index gather from the (possibly memmapped) table, one scatter into the output.
    full = np.zeros((len(src), source_dim), dtype=np.float32)
    for at in range(0, len(table_rows), _ROWS_AT_ONCE):  # a bounded copy, not all matched rows
        rows = table_rows[at : at + _ROWS_AT_ONCE]
        full[rows] = np.asarray(vectors.matrix[src[rows]], dtype=np.float32)
    if len(sub_rows):
        full[sub_rows] = np.stack([matches.subword_rows[int(i)] for i in sub_rows])
    finite = _finite_rows(full, matched_rows)
    if len(finite) < len(matched_rows):
        notes.append(
            f"{len(matched_rows) - len(finite):,} matched rows hold NaN/Inf (kept as loaded); "
            f"the statistics of drawn rows, <unk> and PCA leave them out"
        )
    if out_dim != source_dim:
        if len(finite) < out_dim:
            raise AlignmentError(
                f"PCA from {source_dim} to {out_dim} dimensions needs at least {out_dim} "
                f"matched words with finite vectors, found {len(finite)}"
            )
        mean, comps, projected, ratio = pca(full[finite], out_dim)
        if len(finite) < len(matched_rows):  # fitted on the finite rows, applied to all
            projected = ((full[matched_rows] - mean) @ comps.T).astype(np.float32)
        full = np.zeros((len(src), out_dim), dtype=np.float32)
        full[matched_rows] = projected
        notes.append(
            f"PCA {source_dim} -> {out_dim} dimensions fitted on {len(finite):,} matched "
            f"rows keeps {ratio:.1%} of their variance"
        )
    return full, matched_rows


def _finite_rows(full: np.ndarray, matched_rows: np.ndarray) -> np.ndarray:
    """The matched rows without NaN/Inf (`allow_nonfinite` loads keep such rows).

    Why: one NaN row in the statistics made every drawn row and the mean <unk> row NaN, and
    PCA's eigen-decomposition fail.
    """
    finite = np.empty(len(matched_rows), dtype=bool)
    for at in range(0, len(matched_rows), _ROWS_AT_ONCE):  # not a copy of every matched row
        rows = matched_rows[at : at + _ROWS_AT_ONCE]
        finite[at : at + _ROWS_AT_ONCE] = np.isfinite(full[rows]).all(axis=1)
    return matched_rows[finite]


# float64 bytes per step of `_mean_std`: a bounded copy, whatever the row width
_STATS_BYTES = 16 << 20


def _mean_std(full: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`full[rows].mean(axis=0)` and `.std(axis=0)` in float64, bit for bit, in bounded steps.

    Why: numpy's std of the gathered float32 rows holds the gather (1x) and the float64
    deviations (2x) at once: `align` with every word matched peaked near 6x its matrix.
    numpy sums over axis 0 one row after another (pairwise only for a single column); each
    step here starts from the running total as its first row, so the additions are the same,
    in the same order.
    """
    if full.shape[1] == 1:  # one column: numpy sums it pairwise, and it is small
        used = full[rows]
        return used.mean(axis=0, dtype=np.float64), used.std(axis=0, dtype=np.float64)
    step = max(_STATS_BYTES // (8 * max(full.shape[1], 1)), 1)
    total = _row_sum(full, rows, step, None)
    mean = total / len(rows)
    squares = _row_sum(full, rows, step, mean)
    return mean, np.sqrt(squares / len(rows))


def _row_sum(full: np.ndarray, rows: np.ndarray, step: int, mean: np.ndarray | None) -> np.ndarray:
    """The float64 sum over `full[rows]` (or of `(row - mean) ** 2`), in numpy's order."""
    block = np.empty((step + 1, full.shape[1]), dtype=np.float64)
    total: np.ndarray | None = None
    for at in range(0, len(rows), step):
        part = rows[at : at + step]
        start = 0 if total is None else 1
        end = start + len(part)
        if total is not None:
            block[0] = total
        out = block[start:end]
        if mean is None:
            out[...] = full[part]
        else:
            np.subtract(full[part], mean, out=out)
            np.square(out, out=out)
        total = block[:end].sum(axis=0)
    assert total is not None  # rows is never empty here
    return total


def _matched_stats(
    full: np.ndarray, matched_rows: np.ndarray, unk_s: UnkStrategy, has_unk: bool, notes: list[str]
) -> tuple[torch.Tensor, torch.Tensor, UnkStrategy, int]:
    """(mean, std, unk strategy, finite matched rows) of the fills.

    With no finite matched row: mean 0, std 1/sqrt(dim), and no mean <unk>.
    """
    out_dim = full.shape[1]
    any_matched = len(matched_rows) > 0
    matched_rows = _finite_rows(full, matched_rows)
    if len(matched_rows):
        mean64, std64 = _mean_std(full, matched_rows)
        mean = torch.from_numpy(mean64.astype(np.float32))
        std = torch.from_numpy(std64.astype(np.float32))
        return mean, std, unk_s, len(matched_rows)
    mean = torch.zeros(out_dim)
    std = torch.full((out_dim,), 1.0 / math.sqrt(max(out_dim, 1)))
    notes.append(
        f"{'no matched row is finite' if any_matched else 'no word matched'}: "
        f"rows drawn with mean 0 and std 1/sqrt({out_dim}) "
        f"instead of matched-row statistics"
    )
    if unk_s is UnkStrategy.MEAN:
        unk_s = UnkStrategy.INIT
        if has_unk:
            notes.append("no matched rows to average: <unk> initialised like other rows")
    return mean, std, unk_s, 0


def _fill_unmatched(
    matrix: torch.Tensor,
    full: np.ndarray,
    matched_rows: np.ndarray,
    vocab: Vocab,
    codes: np.ndarray,
    unk_s: UnkStrategy,
    init_s: InitStrategy | InitFn,
    seed: int,
    notes: list[str],
) -> None:
    """Label the pad and <unk> rows, fill <unk> and every unmatched row, in place."""
    has_unk = vocab.unk_index is not None
    mean, std, unk_s, n_finite = _matched_stats(full, matched_rows, unk_s, has_unk, notes)
    pad_i, unk_i = vocab.pad_index, vocab.unk_index
    if unk_i is not None:
        codes[unk_i] = _CODE[UNK if unk_s is not UnkStrategy.INIT else INIT]
        if unk_s is UnkStrategy.MEAN:
            matrix[unk_i] = mean
    if pad_i is not None:
        codes[pad_i] = _CODE[PAD]
    init_rows = np.flatnonzero(codes == _CODE[INIT])
    if len(init_rows):
        generator = torch.Generator(device="cpu").manual_seed(seed)
        rows = _init_rows(init_s, len(init_rows), full.shape[1], mean, std, generator)
        if init_s in _DRAWN and not bool(torch.isfinite(rows).all()):
            generator = torch.Generator(device="cpu").manual_seed(seed)
            rows = _wide_rows(init_s, len(init_rows), full.shape[1], mean, std, generator, notes)
        if init_s in _DRAWN and not bool(std.any()):
            notes.append(_no_spread_note(init_s, n_finite))
        matrix[torch.from_numpy(init_rows)] = rows
    # pad and zeros-unk rows are already zero: nothing above writes to them.


def _options(
    rules: list[MatchRule],
    init_s: InitStrategy | InitFn,
    seed: int,
    unk: UnkStrategy,
    out_dim: int,
    dtype: torch.dtype,
) -> dict[str, Any]:
    """The options as the report records them (an init callable by its name).

    `unk` is the parsed strategy: the raw argument may name it in another case ("MEAN"),
    which `parse_enum` accepts and `UnkStrategy(...)` would not.
    """
    return {
        "order": [r.value for r in rules],
        "init": init_s.value
        if isinstance(init_s, InitStrategy)
        else getattr(init_s, "__name__", "callable"),
        "seed": seed,
        "unk": unk.value,
        "dim": out_dim,
        "dtype": str(dtype).replace("torch.", ""),
    }


def _report(
    vocab: Vocab,
    codes: np.ndarray,
    special_ids: np.ndarray,
    dim: int,
    source_dim: int,
    vectors: Vectors,
    notes: list[str],
    missing_top: int,
    untrained: np.ndarray,
) -> AlignmentReport:
    """The report of `codes`; `untrained`: the `subword` rows from untrained n-grams."""
    tokens_list = vocab.tokens
    get = vocab.counts.get
    freq = np.fromiter(map(get, tokens_list, repeat(0)), dtype=np.int64, count=len(tokens_list))
    word = np.ones(len(tokens_list), dtype=bool)
    word[special_ids] = False
    matched = codes < _N_MATCH
    subword = word & (codes == _CODE[MatchRule.SUBWORD.value])
    noisy = np.zeros(len(tokens_list), dtype=bool)
    noisy[untrained] = True
    noisy &= subword
    per_code = np.bincount(codes.astype(np.int64), minlength=len(_LABELS))
    counts = {name: int(c) for name, c in zip(_LABELS, per_code)}
    types, types_matched = int(word.sum()), int((word & matched).sum())
    tokens, tokens_matched = int(freq[word].sum()), int(freq[word & matched].sum())
    miss = np.flatnonzero(word & ~matched)
    # Stable sort: ties keep vocabulary order, which is itself frequency order.
    top = miss[np.argsort(-freq[miss], kind="stable")[:missing_top]]
    labels = list(map(_LABELS.__getitem__, codes.tolist()))
    noisy_rows = np.flatnonzero(noisy)
    base = own_types(types, vocab)  # the texts' types: extend_vocab's words left out
    if types and len(noisy_rows) > base * UNTRAINED_WARN_SHARE:
        notes.append(_untrained_note(len(noisy_rows), base, [tokens_list[i] for i in noisy_rows]))
    return AlignmentReport(
        rules=labels,
        counts=counts,
        type_coverage=types_matched / types if types else 0.0,
        token_coverage=tokens_matched / tokens if tokens else None,
        missing=[(tokens_list[i], int(freq[i])) for i in top.tolist()],
        types=types,
        types_matched=types_matched,
        tokens=tokens,
        tokens_matched=tokens_matched,
        dim=dim,
        source_dim=source_dim,
        source=vectors.source,
        notes=notes,
        types_subword=int(subword.sum()),
        tokens_subword=int(freq[subword].sum()),
        types_subword_untrained=len(noisy_rows),
        tokens_subword_untrained=int(freq[noisy].sum()),
        subword_untrained_rows=noisy_rows.tolist(),
    )


def _untrained_note(n: int, types: int, words: list[str]) -> str:
    """The note for a vocabulary mostly filled from n-grams no trained word has."""
    return (
        f"subword: {n:,} of {types:,} words ({n / types:.1%}) got vectors from n-grams no word "
        f"of the fastText model has (untrained or shared hash buckets): noise, not meaning, "
        f"though counted as covered; {untrained_advice(words)}"
    )
