"""The `Vectors` object: words, a float32 matrix, and fast lookups over them.

Every reader in `vecgraft.io` returns one, every later stage (alignment, evaluation, the
transformer bridge) consumes one, so its shape is the project's main contract.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from vecgraft._util.options import integer
from vecgraft.errors import ConfigError, FormatError, MissingWordError, VecgraftError

if TYPE_CHECKING:
    import torch

MAX_DIM = 1 << 20
"""Largest vector dimension accepted: beyond it a header is lying, not describing vectors."""


class SubwordModel(Protocol):
    """Something that can build a vector for any string (fastText's character n-grams)."""

    dim: int

    def word_vector(self, word: str) -> np.ndarray | None:
        """Vector of shape [dim] for `word` built from its subwords, or None if it has none."""
        ...


def _to_float32(
    matrix: np.ndarray, words: Sequence[str], source: str | os.PathLike[str] | None
) -> np.ndarray:
    """`matrix` as float32; a finite value beyond float32's range is a FormatError.

    Why: the cast turns such values into inf with only a RuntimeWarning, and one inf row
    reaches every later stage as a silently broken vector. A matrix of what is not a real
    number (strings, None, complex values) is a FormatError too, where numpy said "could
    not convert string to float" with no word of the matrix.
    """
    if matrix.dtype.kind == "c":  # the cast drops the imaginary parts with a warning
        raise FormatError(f"the matrix holds complex numbers ({matrix.dtype})", path=source)
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            out = matrix.astype(np.float32)
    except (TypeError, ValueError) as exc:
        raise FormatError(
            f"the matrix must hold numbers, but its {matrix.dtype} values cannot be read as "
            f"float32 ({exc})",
            path=source,
        ) from None
    if out.dtype.kind == "f" and matrix.dtype.kind == "f" and not np.isfinite(out).all():
        grown = np.isinf(out) & np.isfinite(matrix)
        if grown.any():
            row = int(np.flatnonzero(grown.any(axis=1))[0])
            word = words[row] if row < len(words) else row
            peak = float(np.abs(matrix[row][grown[row]]).max())
            raise FormatError(
                f"the vector of {word!r} holds {peak:.4g}, beyond float32's range "
                f"(about 3.4e38); scale the matrix down",
                path=source,
            )
    return out


def _check_words(words: Sequence[str], source: str | os.PathLike[str] | None) -> None:
    """`words` must be a sequence of strings: one string would be its characters as words.

    Why: `Vectors("ab", m)` and `Vectors([1, 2], m)` were accepted, and failed later as
    a KeyError for every word, or a TypeError where a word is written out.
    """
    if isinstance(words, str | bytes):
        raise FormatError(
            f"words must be a list of strings, not one {type(words).__name__} {words[:40]!r}",
            path=source,
        )
    if not all(issubclass(t, str) for t in set(map(type, words))):  # 40 ms for 2M words
        row, word = next((i, w) for i, w in enumerate(words) if not isinstance(w, str))
        raise FormatError(
            f"words must be strings, found {type(word).__name__} {word!r:.40} at row {row}",
            path=source,
        )


def _duplicate_error(words: Sequence[str], extra: int, source: str | None) -> VecgraftError:
    """The error for repeated words, naming the first one and both its rows.

    Why: "3 duplicates" alone left a user searching a 400k-row table for them.
    """
    where = f"{source or 'vectors'}: words must be unique"
    first: dict[str, int] = {}
    for row, word in enumerate(words):
        earlier = first.setdefault(word, row)
        if earlier != row:
            where += f", but {word!r} is at rows {earlier} and {row}"
            break
    return VecgraftError(
        f"{where} ({extra} repeated rows in all); `vecgraft.load` keeps the first row of "
        f"each, or drop the repeats before building Vectors"
    )



def _query_vector(vector: Any, dim: int) -> np.ndarray:
    """`most_similar`'s query vector, refused where it has no direction to compare.

    An all-zero or NaN/Inf vector gave [] silently, as if no word were near it.
    """
    query = np.asarray(vector, dtype=np.float32)
    if query.shape != (dim,):
        raise VecgraftError(f"query has shape {query.shape}, expected ({dim},)")
    if not np.isfinite(query).all():
        raise ConfigError("query vector holds NaN or Inf: it has no cosine neighbours")
    if not query.any():
        raise ConfigError("query vector is all zeros: it has no direction, so no neighbours")
    return query


# a float32 norm below this lost digits to squares that underflowed (1e-30 squared is 0)
_TINY_NORM = 1e-16


def _odd_norm_rows(norms: np.ndarray) -> np.ndarray:
    """Rows whose float32 norm may be wrong: 0, tiny, or overflowed to Inf (or NaN).

    Why: squares of 1e20 overflow float32 and squares of 1e-30 underflow to 0, so such a
    row normalised to zeros or was taken for a zero row. Few rows, so `normed` redoes
    only these in float64 and the ordinary rows keep their float32 result bit for bit.
    """
    with np.errstate(invalid="ignore"):
        return np.flatnonzero(~(norms >= _TINY_NORM) | ~np.isfinite(norms))


def _float64_norms(matrix: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Norms of `rows` in float64, where no float32 value's square overflows or underflows."""
    return np.linalg.norm(np.asarray(matrix[rows], dtype=np.float64), axis=1)


class Vectors:
    """Word vectors: row `i` of `matrix` is the vector of `words[i]`.

    Args:
        words: the words, in row order; must be unique (a repeat is a VecgraftError here;
            a list assigned later, `v.words = ...`, is checked at the first lookup).
        matrix: float32 array of shape [len(words), dim]; may be a read-only memmap.
        subword: optional model that answers `vectors[word]` for words not in `words`.
        source: where the vectors came from (a path), for reports and metadata.
        metadata: free-form JSON-able facts about the vectors (format, options, checksum).

    Example:
        >>> v = Vectors(["a", "b"], np.eye(2, dtype=np.float32))
        >>> v["b"].tolist(), "c" in v, len(v), v.dim
        ([0.0, 1.0], False, 2, 2)
    """

    def __init__(
        self,
        words: Sequence[str],
        matrix: np.ndarray,
        *,
        subword: SubwordModel | None = None,
        source: str | os.PathLike[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self._build(words, matrix, subword, source, metadata, check_unique=True)

    @classmethod
    def _of_unique_words(
        cls,
        words: Sequence[str],
        matrix: np.ndarray,
        *,
        subword: SubwordModel | None = None,
        source: str | os.PathLike[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Vectors:
        """Vectors of `words` a reader has already kept unique: not checked again.

        Why: a private keyword on the constructor for this showed in help(Vectors) and the
        API docs. The text and word2vec-binary readers keep the first row of each word.
        """
        vectors = cls.__new__(cls)
        vectors._build(words, matrix, subword, source, metadata, check_unique=False)
        return vectors

    def _build(
        self,
        words: Sequence[str],
        matrix: np.ndarray,
        subword: SubwordModel | None,
        source: str | os.PathLike[str] | None,
        metadata: Mapping[str, Any] | None,
        *,
        check_unique: bool,
    ) -> None:
        """The constructor's work; `check_unique` refuses repeated words (`_check_unique`)."""
        if hasattr(matrix, "detach"):  # a torch tensor, e.g. an embedding's weight, which
            matrix = matrix.detach().cpu().numpy()  # np.asarray refused for its grad
        matrix = np.asarray(matrix)
        if matrix.ndim != 2:
            raise FormatError(f"expected a 2-D matrix, found shape {matrix.shape}", path=source)
        if matrix.shape[1] > MAX_DIM:
            raise FormatError(
                f"dimension {matrix.shape[1]} is larger than {MAX_DIM}: not word vectors",
                path=source,
            )
        _check_words(words, source)
        if matrix.dtype != np.float32:
            matrix = _to_float32(matrix, words, source)
        if len(words) != matrix.shape[0]:
            raise FormatError(
                f"{len(words)} words but {matrix.shape[0]} matrix rows", path=source
            )
        if check_unique:
            self._check_unique(words, source)
        self.words: list[str] = list(words)
        self.matrix: np.ndarray = matrix
        self.subword = subword
        self.source = None if source is None else os.fspath(source)
        self.metadata: dict[str, Any] = dict(metadata or {})
        self._index: dict[str, int] | None = None
        self._nfc_index: dict[str, int] | None = None
        self._normed: np.ndarray | None = None
        self._zero_rows = np.zeros(0, dtype=np.int64)  # set with `normed`

    def _check_unique(self, words: Sequence[str], source: str | os.PathLike[str] | None) -> None:
        """Refuse repeated words here, naming the first and its rows.

        Why: `Vectors(["a", "a"], m)` was accepted and failed only at the first lookup
        (`"a" in v`, `align`), far from the line that built it. 25 ms for 400k words, which
        the text and word2vec-binary readers skip (`_of_unique_words`): they have already kept
        the first row of each word, and a file's load is what a user waits for.
        """
        unique = len(set(words))
        if unique != len(words):
            where = None if source is None else os.fspath(source)
            raise _duplicate_error(words, len(words) - unique, where)

    def __setattr__(self, name: str, value: Any) -> None:
        # a new word list or matrix makes the word index and the unit rows stale: after
        # `v.matrix = ...`, most_similar ranked by the old matrix (rows edited in place are
        # not seen until the matrix is assigned again: see `normed`). `_assigned` counts the
        # assignments, so caches kept elsewhere (analogies', align's key tables) see
        # `v.matrix = v.matrix` too.
        if name in ("words", "matrix") and "_index" in self.__dict__:
            self.__dict__["_index"] = None
            self.__dict__["_nfc_index"] = None
            self.__dict__["_normed"] = None
            self.__dict__["_assigned"] = self.__dict__.get("_assigned", 0) + 1
        super().__setattr__(name, value)

    # -- mapping-like access -------------------------------------------------------------
    @property
    def index(self) -> dict[str, int]:
        """Word -> row. Built on first use: a cached 400k-word load should not pay for it."""
        if self._index is None:
            index = {w: i for i, w in enumerate(self.words)}
            if len(index) != len(self.words):
                raise _duplicate_error(self.words, len(self.words) - len(index), self.source)
            self._index = index
        return self._index

    @property
    def nfc_index(self) -> dict[str, int]:
        """NFC form -> row of the words stored decomposed (NFD), where no word is that form.

        A tokenizer gives "café" composed (NFC); a file may store it as "cafe" + U+0301, which
        `index` alone misses. A word already stored in NFC keeps its own row. Only non-ASCII
        words are checked, so a mostly-English table pays one `isascii` pass, once.
        """
        # .get: absent from a Vectors pickled before this attribute existed
        table: dict[str, int] | None = self.__dict__.get("_nfc_index")
        if table is None:
            table = {}
            is_nfc = unicodedata.is_normalized
            found = [(i, w) for i, w in enumerate(self.words)
                     if not w.isascii() and not is_nfc("NFC", w)]  # fmt: skip
            if found:  # `index` when built, else a set: a membership test needs no rows
                present = self._index if self._index is not None else set(self.words)
                for i, w in found:
                    composed = unicodedata.normalize("NFC", w)
                    if composed not in present:
                        table.setdefault(composed, i)
            self._nfc_index = table
        return table

    def row(self, word: str) -> int | None:
        """The row of `word`, compared in NFC (a decomposed query or row still matches).

        A key that is not a `str` (None, bytes, a pandas NaN) is looked up as it is: no row.
        """
        row = self.index.get(word)
        if row is None and isinstance(word, str) and not word.isascii():
            composed = unicodedata.normalize("NFC", word)
            row = self.index.get(composed)
            if row is None:
                row = self.nfc_index.get(composed)
        return row

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return int(self.matrix.shape[1])

    @property
    def has_subwords(self) -> bool:
        """True when vectors can be built for unseen words (fastText .bin)."""
        return self.subword is not None

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self.row(word) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.words)

    def __getitem__(self, word: str) -> np.ndarray:
        """Vector of `word`, shape [dim]; unseen words are answered by the subword model.

        A word neither knows is a MissingWordError (a KeyError) saying so. Words are
        compared in NFC: "cafe" + U+0301 finds a "café" row, and the reverse.
        """
        vec = self._vector(word)
        if vec is None:
            raise self._missing(word)
        return vec

    def get(self, word: str, default: np.ndarray | None = None) -> np.ndarray | None:
        """Vector of `word`, or `default` when neither the table nor subwords know it."""
        vec = self._vector(word)
        return default if vec is None else vec

    def _vector(self, word: str) -> np.ndarray | None:
        """The vector of `word` from the table or the subword model, or None."""
        row = self.row(word)
        if row is not None:
            return np.asarray(self.matrix[row])
        if self.subword is not None and isinstance(word, str):  # a miss: off the hot path
            return self.subword.word_vector(word)
        return None

    def _missing(self, word: str) -> MissingWordError:
        """The error for a word without a vector: a bare KeyError printed only the word.

        A row number (`vectors[0]`) said "0 is not in these vectors ... no subword model".
        """
        if not isinstance(word, str):
            return MissingWordError(
                f"vectors are indexed by word, not by {type(word).__name__} {word!r:.40}; "
                "row i's vector is vectors.matrix[i] (its word vectors.words[i])"
            )
        how = (
            "nor can its subword model build one (the word has no character n-grams)"
            if self.subword is not None
            else "and these vectors have no subword model to build one (fastText .bin has)"
        )
        return MissingWordError(
            f"{word!r} is not in these vectors ({len(self)} words), {how}; test `word in "
            "vectors` or use vectors.get(word) to get None instead"
        )

    def __repr__(self) -> str:
        src = f", source={self.source!r}" if self.source else ""
        sub = ", subwords" if self.subword is not None else ""
        return f"Vectors({len(self)} x {self.dim}{src}{sub})"

    # -- similarity ----------------------------------------------------------------------
    @property
    def normed(self) -> np.ndarray:
        """Row-normalised copy of `matrix` (zero rows stay zero), computed once.

        Rows edited in place (`v.matrix[0] = ...`) are not seen here, nor by `most_similar`
        or `analogies`, until the matrix is assigned again: `v.matrix = v.matrix` recomputes
        it, as gensim's `fill_norms(force=True)` does; checking the whole matrix on every
        query would cost what the cache saves.
        """
        if self._normed is None:
            with np.errstate(over="ignore", under="ignore"):  # such rows are redone below
                norms = np.linalg.norm(self.matrix, axis=1, keepdims=True)
            odd = _odd_norm_rows(norms[:, 0])
            exact = _float64_norms(self.matrix, odd)
            norms[odd, 0] = 1.0  # their rows are divided in float64 below
            self._zero_rows = odd[exact == 0]
            with np.errstate(invalid="ignore"):  # a row with Inf: NaN, never an answer
                normed = (self.matrix / norms).astype(np.float32, copy=False)
                exact[exact == 0] = 1.0
                normed[odd] = (self.matrix[odd].astype(np.float64) / exact[:, None]).astype(
                    np.float32
                )
            self._normed = normed
        return self._normed

    def most_similar(
        self,
        word_or_vector: str | np.ndarray,
        k: int = 10,
        *,
        exclude: Iterable[str] = (),
    ) -> list[tuple[str, float]]:
        """The `k` nearest words by cosine similarity, best first.

        A query word is excluded from its own answer (as in gensim). One matrix-vector product
        and an `argpartition`, so 400k rows take a few milliseconds.

        Args:
            word_or_vector: a word of these vectors, or a query vector of shape (dim,).
            k: how many words to return, an integer >= 0 (a float such as 2.0 is a
                ConfigError); fewer only where the vectors have fewer other words.
            exclude: words never returned, such as the words of an analogy query
                (`a - b + c` should not answer `c`); they do not count against `k`, and
                words the vectors lack are ignored.

        Example:
            >>> v = Vectors(["cat", "dog", "puppy"], np.array([[1, 0], [0.9, 0.1], [0.8, 0.3]]))
            >>> [w for w, _ in v.most_similar("cat", k=1, exclude=["dog", "zebra"])]
            ['puppy']
        """
        k = integer(k, "k")
        if k < 0:
            raise ConfigError(f"k must be >= 0, got {k}")
        skip = set(exclude)
        if isinstance(word_or_vector, str):
            query = self[word_or_vector]
            skip.add(word_or_vector)
            row = self.row(word_or_vector)
            if row is not None:  # the word as stored ("café" asked as "cafe" + U+0301)
                skip.add(self.words[row])
        else:
            query = _query_vector(word_or_vector, self.dim)
        norm = float(np.linalg.norm(query.astype(np.float64)))  # 1e30 in float32: no overflow
        if not np.isfinite(norm):  # a row kept by load(allow_nonfinite=True), or Vectors(...)
            raise VecgraftError(
                f"the vector of {word_or_vector!r} holds NaN or Inf: it has no cosine "
                f"neighbours (vecgraft.load refuses such rows; drop them or replace them)"
            )
        if norm == 0 or len(self) == 0:  # a word's zero row: no direction, no neighbours
            return []
        scores = self.normed @ (query / norm)
        # a zero row has no direction, so no cosine (gensim's NaN, ranked last): never an
        # answer, where it came out as "similarity 0.0" above every opposite word
        scores[self._zero_rows] = -np.inf
        want = min(len(self), k + len(skip))
        if want < len(self):
            top = np.argpartition(-scores, want - 1)[:want]
        else:
            top = np.arange(len(self))
        top = top[np.argsort(-scores[top], kind="stable")]
        out = [(self.words[i], float(scores[i])) for i in top
               if self.words[i] not in skip and scores[i] > -np.inf]  # fmt: skip
        return out[:k]

    # -- conversion ----------------------------------------------------------------------
    def to_torch(
        self, device: str | torch.device | None = None, dtype: torch.dtype | None = None
    ) -> torch.Tensor:
        """The matrix as a torch tensor of shape [len, dim] (copied: the source may be a memmap).

        A device this machine lacks is a ConfigError, and so is a dtype that is not floating
        point (as `align`'s): `dtype=torch.int32` truncated every value to an integer.
        """
        import torch

        from vecgraft._util.device import resolve_device

        floating = isinstance(dtype, torch.dtype) and dtype.is_floating_point
        if dtype is not None and not floating:
            raise ConfigError(
                f"to_torch: dtype must be a floating-point torch dtype (torch.float32, "
                f"torch.float16, torch.bfloat16, torch.float64), got {dtype}"
            )
        if device is not None:
            device = resolve_device(device)
        tensor = torch.from_numpy(np.array(self.matrix, dtype=np.float32, copy=True))
        return tensor.to(device=device, dtype=dtype or torch.float32)

    def save(
        self,
        path: str | os.PathLike[str],
        format: str | None = None,
        *,
        allow_spaces: bool = False,
        allow_nonfinite: bool = False,
    ) -> None:
        """Write the vectors to `path` in `format` (see `vecgraft.io.save`).

        With no `format` the name decides: `x.txt` is GloVe text, `x.vec` word2vec text,
        `x.bin` binary word2vec, anything else the native format. An existing file at
        `path` is replaced (atomically: whole or not at all), unlike the CLI, which asks
        for `--overwrite`. A row holding NaN or Inf is a ConfigError naming its word
        (unless `allow_nonfinite`): `vecgraft.load` would refuse the file.
        """
        from vecgraft.io import save

        save(self, path, format=format, allow_spaces=allow_spaces,
             allow_nonfinite=allow_nonfinite)  # fmt: skip

    def subset(self, words: Iterable[str]) -> Vectors:
        """A new `Vectors` with only `words` that are present, in the given order."""
        rows = [self.index[w] for w in dict.fromkeys(words) if w in self.index]
        return Vectors(
            [self.words[i] for i in rows],
            np.asarray(self.matrix)[rows] if rows else np.zeros((0, self.dim), np.float32),
            subword=self.subword,
            source=self.source,
            metadata=self.metadata,
        )
