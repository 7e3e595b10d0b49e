"""fastText's character n-gram model: vectors for any word from hashed subword buckets.

A word is wrapped as `<word>`; every run of `minn..maxn` UTF-8 *characters* (single boundary
characters excluded) is hashed with 32-bit FNV-1a over its bytes, read as signed chars as in
Facebook's C++ (and gensim's `ft_hash_bytes`), modulo `bucket`. An unseen word's vector is the
mean of its n-gram rows; a known word's is the mean of its own row and its n-gram rows.

The hashing here is vectorised over many words at once (numpy), so rebuilding the vectors of
a 2M-word `.bin` does not loop over n-grams in Python.

An n-gram that no word of the model's dictionary has was never updated in training: its
bucket holds its random start, or what other n-grams hashed there learned. `trained_ngrams`
(the hashes of the dictionary's n-grams, built on first use) and `untrained` tell the words
whose vector comes from such n-grams alone, which alignment reports as noise.

Example:
    >>> import numpy as np
    >>> sw = FastTextSubwords(np.ones((10, 2), np.float32), minn=3, maxn=4)
    >>> sw.word_vector("cat").tolist()
    [1.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Union

import numpy as np

_FNV_OFFSET = 2166136261
_FNV_PRIME = 16777619


def ngram_hashes(words: Sequence[bytes], minn: int, maxn: int) -> tuple[np.ndarray, np.ndarray]:
    """FNV-1a hashes of every fastText n-gram of every word (given as UTF-8 bytes).

    Returns:
        (word_ids, hashes): int64 [M] and uint32 [M], ordered by word, then by the n-gram's
        first byte, then by its length, which is the order of gensim's `compute_ngrams_bytes`.
    """
    parts = _ngram_parts(words, minn, maxn, with_order=True)
    if not parts:
        return np.empty(0, np.int64), np.empty(0, np.uint32)
    wid = np.concatenate([w for w, _, _ in parts])
    hashes = np.concatenate([h for _, h, _ in parts])
    order = np.lexsort((np.concatenate([o for _, _, o in parts]), wid))
    return wid[order].astype(np.int64), hashes[order]


def _ngram_parts(
    words: Sequence[bytes], minn: int, maxn: int, *, with_order: bool
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per n-gram length: (word ids, uint32 hashes, sort key or empty), in no word order.

    Why apart from `ngram_hashes`: the set of a model's n-grams (`ngram_hash_set`) needs
    neither the order nor a sort key, and the lexsort was most of the time there.
    Arithmetic is uint32, which wraps as the C++ hash does (no int64 and masking).
    """
    if not words or maxn <= 0 or maxn < minn:
        return []
    ext = [b"<" + w + b">" for w in words]
    lens = np.fromiter((len(e) for e in ext), dtype=np.int64, count=len(ext))
    blob = np.frombuffer(b"".join(ext), dtype=np.uint8)
    # Characters start at bytes that are not UTF-8 continuation bytes (10xxxxxx).
    starts = np.flatnonzero((blob & 0xC0) != 0x80)
    word_of_byte = np.repeat(np.arange(len(ext)), lens)
    word_of_char = word_of_byte[starts]
    nchars = np.bincount(word_of_char, minlength=len(ext))
    first_char = np.concatenate(([0], np.cumsum(nchars)[:-1]))
    char_in_word = np.arange(len(starts)) - first_char[word_of_char]
    chars_left = nchars[word_of_char] - char_in_word  # characters from this one to the end
    bounds = np.append(starts, blob.size)  # char k spans bytes [bounds[k], bounds[k + 1])
    signed = blob.astype(np.int8).astype(np.uint32)  # bytes as signed chars, like C++
    prime = np.uint32(_FNV_PRIME)

    nstart = len(starts)
    h = np.full(nstart, _FNV_OFFSET, dtype=np.uint32)
    pos = starts.astype(np.int64)
    k = np.arange(nstart)
    out: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    empty = np.empty(0, np.int64)
    for n in range(1, maxn + 1):
        alive = chars_left >= n
        if not alive.any():
            break
        if not alive.all():
            h, pos, k = h[alive], pos[alive], k[alive]
            word_of_char, char_in_word = word_of_char[alive], char_in_word[alive]
            chars_left = chars_left[alive]
        end = bounds[k + n]
        more = pos < end
        while True:  # extend every n-gram by its next character's bytes
            if more.all():  # the common case (one byte a character): no index arrays
                h ^= signed[pos]
                h *= prime
                pos += 1
            else:
                idx = np.flatnonzero(more)
                if not len(idx):
                    break
                h[idx] = (h[idx] ^ signed[pos[idx]]) * prime
                pos[idx] += 1
            more = pos < end
        if n >= minn:
            wid, hs, first = word_of_char, h.copy(), bounds[k]
            if n == 1:  # a lone '<' or '>' is not an n-gram
                emit = (char_in_word != 0) & (chars_left != 1)
                wid, hs, first = wid[emit], hs[emit], first[emit]
            out.append((wid, hs, first * (maxn + 1) + n if with_order else empty))
    return out


# the model's own words (str, or UTF-8 bytes), or their `ngram_hash_set` (a uint32 array),
# or a callable giving either on first need (None from the callable: they cannot be read
# any more, e.g. the file changed)
_Known = Union[Sequence[str], Sequence[bytes], np.ndarray]
TrainedWords = Union[_Known, Callable[[], Union[_Known, None]]]

# words hashed per step when collecting n-gram hashes: bounds the temporaries
_WORDS_PER_BATCH = 1 << 14


def ngram_hash_set(words: Sequence[str] | Sequence[bytes], minn: int, maxn: int) -> np.ndarray:
    """The distinct FNV-1a hashes (uint32, sorted) of the n-grams of `words`.

    The full 32-bit hash, not the bucket (hash % bucket): on a model with as many buckets as
    n-grams almost every bucket holds some word's n-gram, so "its bucket was trained" says
    nothing of an n-gram; two different n-grams share a 32-bit hash about once in 4e9/M for
    M distinct n-grams (0.5 % at a 2M-word model's ~20M). uint32 [M]: 80 MB at 20M.
    """
    found: list[np.ndarray] = []
    pending = 0
    merged = np.empty(0, np.uint32)
    for b in range(0, len(words), _WORDS_PER_BATCH):
        batch = [
            w if isinstance(w, bytes) else w.encode("utf-8", "surrogatepass")
            for w in words[b : b + _WORDS_PER_BATCH]
        ]
        hashes = [h for _, h, _ in _ngram_parts(batch, minn, maxn, with_order=False)]
        found.append(_sorted_unique(np.concatenate(hashes)) if hashes else merged[:0])
        pending += len(found[-1])
        if pending > max(len(merged), 1 << 22):  # merged now and then: bounded temporaries
            merged = _sorted_unique(np.concatenate([merged, *found]))
            found, pending = [], 0
    return _sorted_unique(np.concatenate([merged, *found])) if found else merged


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """`np.unique(values)` by a sort: numpy 2.3's hash-based unique took 10x as long here."""
    values = np.sort(values)
    if len(values) < 2:
        return values
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


class FastTextSubwords:
    """The subword half of a fastText model: n-gram bucket vectors and hashing parameters.

    Args:
        ngrams: float32 [bucket, dim] bucket vectors (may be a read-only memmap).
        minn: shortest n-gram, in characters.
        maxn: longest n-gram, in characters (0 disables subwords).
        origin: (file, byte offset) when `ngrams` is a view of an uncompressed fastText
            `.bin`, else None; lets a native file beside that `.bin` refer to the table
            instead of storing a second copy (`write_native(..., link_ngrams=True)`).
        trained_words: the words the model was trained on (its dictionary, all of it even
            when a `vocab=` load kept a few rows), or a callable that reads them on first
            need; None: not known (`vecgraft.align` then takes the table's words). Only
            `trained_ngrams` uses them: which n-grams training ever updated.
        dictionary_size: how many words the model was trained on, when known: a native
            file of fewer rows (a `limit=`/`vocab=` load saved) marks that it cannot tell.
        part_of_model: the table holds only some of the model's words and the others are
            unknown (such a native file): `trained_ngrams` is then None, and alignment
            counts no noise rather than judging by the few words kept.
    """

    kind = "fasttext"

    def __init__(
        self,
        ngrams: np.ndarray,
        *,
        minn: int,
        maxn: int,
        origin: tuple[str, int] | None = None,
        trained_words: TrainedWords | None = None,
        dictionary_size: int | None = None,
        part_of_model: bool = False,
    ) -> None:
        self.ngrams = ngrams
        self.origin = origin
        self.minn = int(minn)
        self.maxn = int(maxn)
        self.dim: int = int(ngrams.shape[1])
        self.trained_words: TrainedWords | None = trained_words
        self.dictionary_size = dictionary_size
        self.part_of_model = part_of_model
        self._trained: np.ndarray | None = None

    def trained_ngrams(self) -> np.ndarray | None:
        """`ngram_hash_set` of the model's own words, built on first call and kept.

        Why: an n-gram no training word has was never updated: its bucket holds its random
        start or the n-grams of other words that hash there, so a vector built from such
        n-grams alone is noise. None when the model's words are not known. Once built, the
        words (or the callable reading them) are let go: only the hashes are kept.
        """
        if self._trained is None:
            source = self.trained_words
            if source is None and self.part_of_model:  # the table's words are not all
                return None
            words = source() if callable(source) else source
            if words is None:
                return None
            if isinstance(words, np.ndarray):  # the set itself (`trained_hash_reader`)
                self._trained = words
            else:
                self._trained = ngram_hash_set(words, self.minn, self.maxn)
            self.trained_words = None
        return self._trained

    def untrained(self, words: Sequence[str], trained: np.ndarray) -> np.ndarray:
        """Per word (bool): whether it has n-grams and none of them is in `trained`.

        `trained`: sorted hashes (`trained_ngrams`, or `ngram_hash_set` of other words).
        A word without any n-gram is False: it gets no subword vector at all.
        """
        out = np.zeros(len(words), dtype=bool)
        for b in range(0, len(words), _WORDS_PER_BATCH):
            batch = [w.encode("utf-8", "surrogatepass") for w in words[b : b + _WORDS_PER_BATCH]]
            wid, hashes = ngram_hashes(batch, self.minn, self.maxn)
            at = np.searchsorted(trained, hashes).clip(max=max(len(trained) - 1, 0))
            known = trained[at] == hashes if len(trained) else np.zeros(len(hashes), bool)
            has = np.bincount(wid, minlength=len(batch)) > 0
            hit = np.bincount(wid, weights=known, minlength=len(batch)) > 0
            out[b : b + len(batch)] = has & ~hit
        return out

    @property
    def bucket(self) -> int:
        """Number of hash buckets (rows of `ngrams`)."""
        return int(self.ngrams.shape[0])

    def config(self) -> dict[str, Any]:
        """Hashing parameters (JSON-able), stored beside the n-gram matrix in a cache."""
        return {"kind": self.kind, "minn": self.minn, "maxn": self.maxn, "bucket": self.bucket}

    def buckets(self, word: str) -> np.ndarray:
        """Bucket rows of `word`'s n-grams, in gensim's order (int64 [n_ngrams])."""
        if self.bucket == 0:
            return np.empty(0, np.int64)
        _, hashes = ngram_hashes([word.encode("utf-8")], self.minn, self.maxn)
        return (hashes % self.bucket).astype(np.int64)

    def word_vector(self, word: str) -> np.ndarray | None:
        """Mean of the n-gram vectors of `word`, shape [dim]; None if it has no n-grams."""
        rows = self.buckets(word)
        if rows.size == 0:
            return None
        vecs = np.asarray(self.ngrams[rows])
        return (vecs.sum(axis=0, dtype=np.float32) / np.float32(rows.size)).astype(np.float32)

    def compose(
        self, words: Sequence[str], word_rows: np.ndarray, *, max_block: int = 1 << 22
    ) -> np.ndarray:
        """Vectors of known words: mean of each word's own row and its n-gram rows.

        Args:
            words: the words, in row order.
            word_rows: float32 [len(words), dim], the words' own (input-matrix) rows.
            max_block: float32 values gathered at once (bounds memory on big models).

        Returns:
            float32 [len(words), dim]; equals `word_rows` when there are no buckets.
        """
        out = np.array(word_rows, dtype=np.float32, copy=True)
        self._means(words, out, own=True, max_block=max_block)
        return out

    def word_vectors(
        self, words: Sequence[str], *, max_block: int = 1 << 22
    ) -> tuple[np.ndarray, np.ndarray]:
        """Subword vectors of many words at once (vectorised `word_vector`).

        Returns:
            (vectors float32 [len(words), dim], found bool [len(words)]): rows of words
            without any n-gram are zero and not `found`.
        """
        out = np.zeros((len(words), self.dim), dtype=np.float32)
        counts = self._means(words, out, own=False, max_block=max_block)
        return out, counts > 0

    def _means(
        self, words: Sequence[str], out: np.ndarray, *, own: bool, max_block: int
    ) -> np.ndarray:
        """Fill `out` with n-gram means (including each word's own row when `own`)."""
        counts = np.zeros(len(words), dtype=np.int64)
        if self.bucket == 0 or len(words) == 0:
            return counts
        per_batch = 65536
        for b in range(0, len(words), per_batch):
            batch = [w.encode("utf-8", "surrogatepass") for w in words[b : b + per_batch]]
            wid, hashes = ngram_hashes(batch, self.minn, self.maxn)
            rows = (hashes % self.bucket).astype(np.int64)
            counts[b : b + len(batch)] = self._add_means(
                out, b, len(batch), wid, rows, own, max_block
            )
        return counts

    def _add_means(
        self,
        out: np.ndarray,
        first: int,
        count: int,
        wid: np.ndarray,
        rows: np.ndarray,
        own: bool,
        max_block: int,
    ) -> np.ndarray:
        """out[first + i] = (out[first + i] + its n-gram rows, one by one) / (own + their number).

        The rows are added one at a time in n-gram order, in float32, starting from the word's
        own row, as gensim's `adjust_vectors` and `get_vector` do: a sum in another order (a
        sparse product summing the n-grams first) differs from gensim's in the last bit or two.

        Returns the number of n-grams of each word, int64 [count].
        """
        per_word = np.bincount(wid, minlength=count)
        has = per_word > 0
        if not has.any():
            return per_word
        indptr = np.concatenate(([0], np.cumsum(per_word)))
        step = max(1, max_block // max(self.dim, 1))  # words per pass, bounds the temporaries
        for lo in range(0, count, step):
            hi = min(count, lo + step)
            block = out[first + lo : first + hi]  # a view: sums land in `out`
            add_in_order(
                block, indptr[lo : hi + 1] - indptr[lo], rows[indptr[lo] : indptr[hi]], self.ngrams
            )
            mask = has[lo:hi]
            divisor = (per_word[lo:hi, None] + int(own)).astype(np.float32)
            block[mask] = (block / np.maximum(divisor, 1))[mask]
        return per_word


_UNLOADED: Any = object()
_csr_matvecs: Any = _UNLOADED  # scipy's kernel, None without it; imported on first use


def _csr_kernel() -> Any:
    """The CSR kernel `y += A @ X` of scipy, row by row in index order (None: no scipy).

    Imported on first use, not with this module: scipy.sparse costs 0.07 s, and every
    command that reads a vector file imports `vecgraft.io`, fastText or not.
    """
    global _csr_matvecs
    if _csr_matvecs is _UNLOADED:
        try:
            from scipy.sparse._sparsetools import csr_matvecs
        except ImportError:  # pragma: no cover - a scipy that moved its kernels: numpy loop
            csr_matvecs = None
        _csr_matvecs = csr_matvecs
    return _csr_matvecs


def add_in_order(out: np.ndarray, indptr: np.ndarray, rows: np.ndarray, table: np.ndarray) -> None:
    """out[i] += table[rows[indptr[i]]], then += the next row, ... up to rows[indptr[i + 1] - 1].

    Args:
        out: float32 [n, dim], C-contiguous, updated in place.
        indptr: int64 [n + 1], word i's rows are rows[indptr[i]:indptr[i + 1]].
        rows: int64 [indptr[-1]] row numbers of `table`.
        table: float32 [bucket, dim] (a read-only memmap is fine).

    scipy's CSR kernel accumulates into `out` in exactly this order (one float32 add per
    n-gram, no pairwise summation); without it, a numpy loop over the n-gram position does
    the same adds in the same order per word, somewhat slower.
    """
    n, dim = out.shape
    native = out.dtype == np.float32 and table.dtype == np.float32  # not '>f4' on a big-endian
    kernel = _csr_kernel()
    if kernel is not None and native and out.flags.c_contiguous and table.flags.c_contiguous:
        ones = np.ones(len(rows), dtype=np.float32)
        kernel(n, table.shape[0], dim, indptr, rows, ones, table.reshape(-1), out.reshape(-1))
        return
    counts = np.diff(indptr)
    order = np.argsort(-counts, kind="stable")  # words with the most n-grams first
    negated = -counts[order]  # ascending, for searchsorted
    for j in range(int(counts.max(initial=0))):
        active = order[: int(np.searchsorted(negated, -j))]  # the words with > j n-grams
        out[active] += table[rows[indptr[active] + j]]
