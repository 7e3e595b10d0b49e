"""New-row rules of the graft: what the embedding row of a grafted token starts as.

Split from `vecgraft.transformer.graft` (see its docstring for the three `GraftInit` rules),
which re-exports every public name here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

import numpy as np

from vecgraft._util.options import parse_enum
from vecgraft.errors import ConfigError
from vecgraft.transformer.graft_tokenizer import _piece_ids
from vecgraft.transformer.tokens import WordMarks, marked_words, word_marks
from vecgraft.vectors import Vectors


class GraftInit(StrEnum):
    """How the row of a grafted token is filled (see the module docstring)."""

    SUBWORDS = "subwords"
    MEAN = "mean"
    VECTORS = "vectors"


class Weighting(StrEnum):
    """How similarities to the k nearest shared tokens become weights (`vectors` rule)."""

    SPARSEMAX = "sparsemax"
    SOFTMAX = "softmax"


@dataclass(frozen=True)
class GraftOptions:
    """Options of the `vectors` rule, recorded in the report."""

    init: GraftInit = GraftInit.SUBWORDS
    k: int = 50
    weighting: Weighting = Weighting.SPARSEMAX
    temperature: float = 0.1

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "init": self.init.value,
            "k": self.k,
            "weighting": self.weighting.value,
            "temperature": self.temperature,
        }


def sparsemax(z: np.ndarray) -> np.ndarray:
    """The Euclidean projection of `z` [n] onto the probability simplex (Martins & Astudillo).

    Like softmax it gives weights that sum to 1, but the smallest scores get exactly 0, so a
    new token is a combination of its few truly close neighbours rather than of all k.

    >>> sparsemax(np.array([0.9, 0.5, 0.1])).tolist()
    [0.7, 0.3, 0.0]
    """
    z = np.asarray(z, dtype=np.float64)
    if z.size == 0:
        return z
    s = np.sort(z)[::-1]
    cumulative = np.cumsum(s)
    ks = np.arange(1, z.size + 1)
    support = 1 + ks * s > cumulative
    k = int(ks[support][-1])
    tau = (cumulative[k - 1] - 1) / k
    return np.round(np.maximum(z - tau, 0.0), 12)


def _softmax(z: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax of `z / temperature`, shifted by the maximum so large scores cannot overflow."""
    x = np.asarray(z, dtype=np.float64) / temperature
    e = np.exp(x - x.max())
    return e / e.sum()


def _shared_tokens(tok: Any, static: Vectors) -> tuple[list[str], list[int], np.ndarray]:
    """Old whole-word tokens in the static vocabulary: (words, old ids, static rows).

    Only words with a row of their own count: a fastText subword model would "know" every
    token, and neighbours built from hashed n-grams of unrelated scripts are noise. (New
    tokens may take their static vector from subwords; that is what fastText is for.)
    """
    index = static.index
    # a vocabulary that does not mark its words offers every token: each is kept below only
    # where, spelt alone, it is that one token
    words = [w for w in marked_words(tok, word_marks(tok) or WordMarks()) if w in index]
    ids = _piece_ids(tok, words)
    keep = [(w, x[0]) for w, x in zip(words, ids) if len(x) == 1 and x[0] != tok.unk_token_id]
    if not keep:
        return [], [], np.zeros((0, static.dim), dtype=np.float32)
    rows = np.asarray(static.matrix[[index[w] for w, _ in keep]], dtype=np.float32)
    return [w for w, _ in keep], [i for _, i in keep], rows


def _unit(rows: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows left as they are) so dot products are cosines."""
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    norms[norms == 0] = 1.0
    return rows / norms


def _focus_weights(
    vec: np.ndarray, shared_unit: np.ndarray, opts: GraftOptions
) -> tuple[np.ndarray, np.ndarray]:
    """(indices into the shared tokens, weights) of one new token's k nearest neighbours."""
    sims = shared_unit @ _unit(np.asarray(vec, dtype=np.float32)[None, :])[0]
    k = min(opts.k, sims.size)
    top = np.argpartition(-sims, k - 1)[:k]
    top = top[np.lexsort((top, -sims[top]))]  # by similarity, ties by index: deterministic
    if opts.weighting is Weighting.SPARSEMAX:
        weights = sparsemax(sims[top])
    else:
        weights = _softmax(sims[top], opts.temperature)
    keep = weights > 0
    return top[keep], weights[keep]


def _output_tables(model: Any) -> tuple[list[Any], bool]:
    """Matrices whose rows are per-token (input, untied output, output bias); tied or not."""
    inp = model.get_input_embeddings().weight
    tables = [inp]
    head = model.get_output_embeddings()
    tied = True
    if head is not None:
        weight = getattr(head, "weight", None)
        if weight is not None and weight is not inp and weight.data_ptr() != inp.data_ptr():
            tables.append(weight)
            tied = False
        bias = getattr(head, "bias", None)
        if bias is not None and bias.dim() == 1 and bias.shape[0] == inp.shape[0]:
            tables.append(bias)
    return tables, tied


class RowPlan(NamedTuple):
    """How one new row is filled: rule, old rows combined, their weights, named neighbours."""

    rule: str
    rows: list[int]
    weights: np.ndarray
    neighbours: list[tuple[str, float]]


def plan_rows(
    tok: Any,
    fresh: Sequence[str],
    pieces: Sequence[Sequence[int]],
    static: Vectors | None,
    opts: GraftOptions,
) -> tuple[list[RowPlan], list[str], int | None]:
    """Per new token a `RowPlan`; notes on every fallback; the shared-token count.

    Decided before any edit. The count is of the old tokens the `vectors` rule mixes rows
    from (None without static vectors).
    """
    notes: list[str] = []
    shared_words: list[str] = []
    shared_ids: list[int] = []
    shared_unit = np.zeros((0, 1), dtype=np.float32)
    if static is not None:
        shared_words, shared_ids, shared_rows = _shared_tokens(tok, static)
        shared_unit = _unit(shared_rows)
        if not shared_words:
            notes.append("no old token is in the static vectors: every row fell back to subwords")
    plan: list[RowPlan] = []
    missing_static = 0
    for word, ids in zip(fresh, pieces):
        if static is not None and shared_words:
            vec = static.get(word)
            if vec is not None:
                idx, weights = _focus_weights(vec, shared_unit, opts)
                rows = [shared_ids[i] for i in idx]
                neighbours = [(shared_words[i], float(w)) for i, w in zip(idx, weights)]
                plan.append(RowPlan("vectors", rows, weights, neighbours))
                continue
            missing_static += 1
        plan.append(_fallback_plan(ids, opts, tok.unk_token_id))
    unspellable = sum(1 for p in plan if p.rule == "mean")
    if missing_static:  # "filled by subwords" of 78, 77 of which the next note gave to mean
        mean = f" ({unspellable} of them by mean: unspellable)" if unspellable else ""
        notes.append(f"{missing_static} new token(s) not in the static vectors: filled as "
                     f"without vectors, by subwords{mean}")  # fmt: skip
    elif unspellable and opts.init is not GraftInit.MEAN:
        notes.append(f"{unspellable} new token(s) the old tokenizer cannot spell: filled by mean")
    if static is None:
        return plan, notes, None
    mixed = sum(1 for p in plan if p.rule == "vectors")
    notes.extend(_few_shared_note(len(shared_words), static.dim, mixed))
    notes.extend(_flat_note(plan, mixed))
    return plan, notes, len(shared_words)


# a row mixing at least this many neighbours, none weighing twice the even share, is flat
_FLAT_MIN = 5


def _flat_note(plan: Sequence[RowPlan], mixed: int) -> list[str]:
    """A warning when rows filled by vectors mix their neighbours nearly evenly.

    Why: sparsemax keeps many neighbours at near-equal weights only where their cosines
    to the new word are nearly equal, i.e. the static vectors barely tell the shared
    tokens apart (word2vec on 200 Chinese reviews: 50 neighbours at 0.019-0.022 for every
    new token, "是" built from 的, 和, 水, 中). Such a row is about the mean of unrelated
    tokens, and the table's weights (all "0.02") were the only sign of it.
    """
    flat = sum(
        1 for p in plan if p.rule == "vectors" and len(p.weights) >= _FLAT_MIN
        and float(np.max(p.weights)) < 2.0 / len(p.weights)
    )  # fmt: skip
    if not flat:
        return []
    return [
        f"warning: {flat:,} of the {mixed:,} row(s) filled by vectors mix {_FLAT_MIN} or more "
        "neighbours nearly evenly (none weighs twice the even share): their static vectors "
        "barely tell the shared tokens apart (vectors trained on too little text?), so these "
        "rows start near a mean of unrelated tokens (check their neighbours in "
        "graft_report.json, or use init subwords)"
    ]


def _few_shared_note(shared: int, dim: int, mixed: int) -> list[str]:
    """A warning when fewer old tokens have a static vector than the vectors have dimensions.

    Why that threshold: the `vectors` rule fits no map between the two spaces; it mixes the
    rows of each new word's nearest shared tokens by cosine in the static space. Fewer
    shared tokens than dimensions cannot even span that space, so most new words have no
    close shared token and take the rows of unrelated ones (MiniLM with Chinese word2vec:
    218 shared tokens, 300 dimensions, 144 of 942 new rows nearest a digit or Latin token).
    Zero shared tokens has its own note.
    """
    if not mixed or not 0 < shared < dim:
        return []
    return [
        f"warning: only {shared:,} old token(s) have a static vector, fewer than the vectors' "
        f"{dim} dimensions: each of the {mixed:,} row(s) filled by vectors mixes its nearest "
        "of these shared tokens, and so few cannot cover the vector space, so many new words "
        "start as unrelated tokens (check their neighbours in graft_report.json, or use init "
        "subwords)"
    ]


def _fallback_plan(ids: Sequence[int], opts: GraftOptions, unk_id: int | None = None) -> RowPlan:
    """`mean` when asked for or when the old tokenizer cannot spell the word, else `subwords`.

    Pieces that are the unknown token spell nothing: a word of `[UNK]` pieces only (a
    Chinese word under an English vocabulary) is `mean`, not a copy of the `[UNK]` row, and
    a partly spelled word averages its known pieces.
    """
    known = [i for i in ids if i != unk_id]
    if opts.init is GraftInit.MEAN or not known:
        return RowPlan("mean", [], np.zeros(0), [])
    return RowPlan("subwords", known, np.full(len(known), 1.0 / len(known)), [])


def fill_rows(
    tables: Sequence[Any], old_size: int, new_ids: Sequence[int], plan: Sequence[RowPlan]
) -> None:
    """Write each planned row into every per-token table, from the old rows only."""
    import torch

    with torch.no_grad():
        means = [t[:old_size].float().mean(dim=0) for t in tables]
        for new_id, (rule, rows, weights, _) in zip(new_ids, plan):
            for table, mean in zip(tables, means):
                if rule == "mean":
                    value = mean
                else:
                    w = torch.as_tensor(weights, dtype=torch.float32, device=table.device)
                    picked = table[torch.as_tensor(rows, device=table.device)].float()
                    value = (w[:, None] * picked.reshape(len(rows), -1)).sum(0)
                    value = value.reshape(table.shape[1:])
                table[new_id] = value.to(table.dtype)


def _graft_options(
    init: GraftInit | str, k: int, weighting: Weighting | str, temperature: float
) -> GraftOptions:
    """The rule options, parsed and range-checked before anything is loaded or changed."""
    opts = GraftOptions(
        init=parse_enum(GraftInit, init, "init"),
        k=k,
        weighting=parse_enum(Weighting, weighting, "weighting"),
        temperature=temperature,
    )
    if opts.k < 1:
        raise ConfigError(f"k must be at least 1, got {k}")
    if opts.temperature <= 0:
        raise ConfigError(f"temperature must be positive, got {temperature}")
    return opts


def _static_vectors(vectors: Vectors | str | os.PathLike[str] | None) -> Vectors | None:
    """The static vectors as a `Vectors`, loading a path with `vecgraft.io.load`."""
    if vectors is None or isinstance(vectors, Vectors):
        return vectors
    from vecgraft.io import load

    return load(vectors)


def graft_vectors_arg(vectors: Any, encoding: str | None) -> Any:
    """The graft's static vectors: read in `encoding` when one is given, else as given.

    Why: `vecgraft.load` reads a fastText .bin's words as UTF-8 unless told, and the graft
    loads a path with no options; `graft-vocab --vectors-encoding` and `finetune
    --vectors-encoding` (with --graft-vectors) name the encoding of a file of other words.
    """
    if encoding is None or vectors is None or not isinstance(vectors, str | os.PathLike):
        return vectors
    from vecgraft.io import load

    return load(vectors, encoding=encoding)


def _vectors_name(vectors: Vectors | str | os.PathLike[str] | None) -> str | None:
    """How the report names the static vectors: their source, or the path given."""
    if vectors is None:
        return None
    if isinstance(vectors, Vectors):
        return vectors.source or "<Vectors>"
    return os.fspath(vectors)
