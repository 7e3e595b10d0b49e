r"""Facebook fastText's binary model (`.bin`): word vectors plus subword n-gram buckets.

Layout (all little-endian), as written by fastText's `FastText::saveModel`:

    int32 magic 793712314, int32 version (11 or 12)      -- absent in pre-2017 files
    args: int32 dim, ws, epoch, min_count, neg, word_ngrams, loss, model, bucket, minn, maxn,
          lr_update_rate; float64 t                      -- old files start at `epoch`
    dictionary: int32 size, nwords, nlabels; int64 ntokens; [int64 pruneidx_size]
          size x (word bytes, b"\\0", int64 count, int8 type); [pruneidx_size x 2 int32]
    input matrix: [bool quantized]; int64 rows, cols; rows x cols float32
          rows = nwords + bucket: the words' own vectors, then the n-gram buckets
    output matrix: same shape rules (not needed for word vectors; only checked for truncation)

Word vectors are composed bit for bit as gensim's `load_facebook_vectors` does (own row and
n-gram rows averaged); unseen words are answered by `Vectors.subword`. Words are decoded with
`encoding=` (UTF-8 by default) and, as in gensim, hashed into n-grams by their UTF-8 bytes.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vecgraft._util.policies import UnicodeErrors
from vecgraft.errors import FormatError, Hint, Opt
from vecgraft.io._buffer import Cursor
from vecgraft.io._limits import check_fits
from vecgraft.io._rows import (
    RowStats,
    decode_word,
    drop_nonfinite,
    nonfinite_rows,
    progress_bar,
    select_rows,
    warn_unicode,
)
from vecgraft.io.base import Format, LoadOptions, Source
from vecgraft.io.subwords import FastTextSubwords, TrainedWords, ngram_hash_set
from vecgraft.vectors import Vectors

MAGIC = 793712314
_VERSIONS = (11, 12)
_ARG_NAMES = (
    "dim", "ws", "epoch", "min_count", "neg", "word_ngrams", "loss", "model", "bucket",
    "minn", "maxn", "lr_update_rate",
)  # fmt: skip


@dataclass(frozen=True)
class Header:
    """The model arguments and dictionary sizes at the start of a `.bin`."""

    new_format: bool
    version: int
    args: dict[str, float]
    size: int
    nwords: int
    nlabels: int
    ntokens: int
    pruneidx_size: int

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return int(self.args["dim"])


def _read_header(cur: Cursor) -> Header:
    first, second = cur.unpack("<2i", "the magic number and version")
    new_format = first == MAGIC
    if new_format:
        ints = cur.unpack("<12i", "the model arguments")
        args: dict[str, float] = dict(zip(_ARG_NAMES, ints))
        version = int(second)
    else:  # pre-2017 files: no magic, the arguments start with dim and ws
        rest = cur.unpack("<10i", "the model arguments")
        args = dict(zip(_ARG_NAMES, (first, second, *rest)))
        version = 0
    (args["t"],) = cur.unpack("<d", "the sampling threshold")
    size, nwords, nlabels = (int(x) for x in cur.unpack("<3i", "the dictionary sizes"))
    (ntokens,) = cur.unpack("<q", "the token count")
    pruneidx_size = int(cur.unpack("<q", "the pruned-index size")[0]) if new_format else 0
    header = Header(new_format, version, args, size, nwords, nlabels, int(ntokens), pruneidx_size)
    problem = _implausible(header)
    if problem:
        raise cur.fail(f"not a fastText .bin model: {problem}", offset=0)
    return header


def _implausible(h: Header) -> str | None:
    """Why the header cannot be a real model's (guards allocations on garbage input)."""
    a = h.args
    if h.new_format and h.version not in _VERSIONS:
        return f"unknown version {h.version} (expected {' or '.join(map(str, _VERSIONS))})"
    if not 0 < a["dim"] <= 100_000:
        return f"dimension {a['dim']} is not in 1..100000"
    if a["bucket"] < 0 or a["minn"] < 0 or a["maxn"] < 0 or a["maxn"] > 1000:
        return f"bad n-gram settings bucket={a['bucket']} minn={a['minn']} maxn={a['maxn']}"
    if a["loss"] not in (1, 2, 3, 4) or a["model"] not in (1, 2, 3):
        return f"unknown loss {a['loss']} or model {a['model']}"
    if not (0 <= h.nwords <= h.size and h.nlabels >= 0 and h.nwords + h.nlabels == h.size):
        return (
            f"dictionary sizes do not add up (size {h.size}, words {h.nwords}, labels {h.nlabels})"
        )
    if h.pruneidx_size > 0:
        return "pruned (quantized) models are not supported"
    return None


def sniff(source: Source, head: bytes) -> str | None:
    """None if `head` starts like a fastText `.bin` (new magic, or a plausible old header)."""
    if source.path.is_dir():
        return "is a folder"
    if len(head) < 80:
        return f"only {len(head)} bytes, shorter than a fastText header"
    cur = Cursor(source, data=head)
    try:
        _read_header(cur)
    except FormatError as exc:
        return exc.message
    return None


def _read_dictionary(cur: Cursor, h: Header, options: LoadOptions, stats: RowStats) -> list[str]:
    """The `nwords` words (labels follow them in the dictionary and are skipped)."""
    return [
        decode_word(raw, options, cur.source, at, stats, takes_encoding=True)
        for raw, at in _dictionary_entries(cur, h, options)
    ]


def _dictionary_entries(
    cur: Cursor, h: Header, options: LoadOptions
) -> Iterator[tuple[bytes, int]]:
    """(raw bytes, offset) of each of the `nwords` words; the cursor ends after the labels."""
    remaining = cur.remaining
    if remaining is not None and remaining < h.size * 10:  # an entry is >= b"\0" + int64 + int8
        raise cur.fail(
            f"truncated fastText .bin: the dictionary promises {h.size} entries (at least "
            f"{h.size * 10} bytes), found {remaining} bytes"
        )
    buf, pos = cur.window(1 << 20)
    bar = progress_bar(options, h.size, "reading fastText dictionary", unit="word")
    with bar:  # after an error or Ctrl-C no last count line (`Progress.__exit__`)
        for i in range(h.size):
            end = buf.find(b"\0", pos)
            if (end < 0 or end + 9 >= len(buf)) and not cur.eof:
                cur.pos = cur.base + pos  # refill the window of a stream, then look again
                buf, pos = cur.window(1 << 20)
                end = buf.find(b"\0", pos)
            if end < 0 or end + 9 >= len(buf) or end - pos > 1 << 20:
                cur.pos = cur.base + pos
                raise cur.fail(
                    f"truncated fastText .bin: dictionary entry {i + 1} of {h.size} is cut off"
                )
            entry_type = buf[end + 9]
            if i < h.nwords:
                if entry_type != 0:
                    raise cur.fail(
                        f"dictionary entry {i + 1} should be a word (type 0), "
                        f"found type {entry_type}",
                        offset=cur.base + end + 9,
                    )
                yield bytes(buf[pos:end]), cur.base + pos
            pos = end + 10
            if i % 65536 == 65535:
                bar.update(65536)
    cur.pos = cur.base + pos


def trained_hash_reader(
    path: Path,
    minn: int,
    maxn: int,
    encoding: str = "utf-8",
    words: Sequence[str] | None = None,
) -> Callable[[], np.ndarray | None]:
    """A callable giving `ngram_hash_set` of the dictionary of the `.bin` at `path`.

    For `FastTextSubwords.trained_words`: the set is built only if alignment asks which
    n-grams were trained, from `words` when the load holds them all, else by reading the
    dictionary again (not held in memory, 2M words: ~130 MB, just in case). Built sets are
    kept per process by (real path, size, mtime, encoding, minn, maxn): every load of a
    `.bin` made a new subword model and hashed its whole dictionary again (918k words:
    6 s after a cache hit that took 0.1 s). The callable gives None when the file is no
    longer the one inspected here.
    """
    stamp = _stamp(path)
    memo_key = (os.fspath(path.resolve()), stamp, codecs.lookup(encoding).name, minn, maxn)

    def read_hashes() -> np.ndarray | None:
        if _stamp(path) != stamp or stamp is None:
            return None
        hit = _TRAINED_MEMO.get(memo_key)
        if hit is None:
            known = words if words is not None else _read_dictionary_bytes(path, encoding)
            hit = ngram_hash_set(known, minn, maxn)
            _TRAINED_MEMO[memo_key] = hit
            while len(_TRAINED_MEMO) > _TRAINED_MEMO_SIZE:  # bounded: ~80 MB a 2M-word set
                _TRAINED_MEMO.pop(next(iter(_TRAINED_MEMO)))
        return hit

    return read_hashes


# the n-gram hash sets of `.bin` dictionaries built in this process (`trained_hash_reader`)
_TRAINED_MEMO: dict[tuple[Any, ...], np.ndarray] = {}
_TRAINED_MEMO_SIZE = 4


def _read_dictionary_bytes(path: Path, encoding: str) -> list[bytes]:
    """The words of the `.bin` at `path` as UTF-8 bytes (how fastText hashes them)."""
    options = LoadOptions(unicode_errors=UnicodeErrors.REPLACE, encoding=encoding, progress=False)
    with Cursor(Source.from_path(path), what="fastText .bin") as cur:
        h = _read_header(cur)
        raws = (raw for raw, _ in _dictionary_entries(cur, h, options))
        if codecs.lookup(encoding).name == "utf-8":  # hashed as UTF-8: as they are
            return list(raws)
        return [raw.decode(encoding, "replace").encode("utf-8") for raw in raws]


def _stamp(path: Path) -> tuple[int, int] | None:
    """(size, mtime in ns) of `path`, None when it cannot be inspected."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _read_matrix_header(cur: Cursor, h: Header, which: str) -> tuple[int, int]:
    if h.new_format:
        (quant,) = cur.unpack("<?", f"the {which} matrix's quantization flag")
        if quant:
            raise cur.fail("quantized fastText models (.ftz) are not supported; use the .bin")
    rows, cols = (int(x) for x in cur.unpack("<2q", f"the {which} matrix shape"))
    return rows, cols


def read(source: Source, options: LoadOptions) -> Vectors:
    """Parse a fastText `.bin` into composed word vectors plus a subword model."""
    with Cursor(source, what="fastText .bin") as cur:
        return _read(cur, source, options)


def _read(cur: Cursor, source: Source, options: LoadOptions) -> Vectors:
    if cur.at_end():
        raise FormatError("empty file, expected a fastText .bin model", path=source.path)
    h = _read_header(cur)
    stats = RowStats()
    words = _read_dictionary(cur, h, options, stats)
    rows, cols = _read_matrix_header(cur, h, "input")
    bucket = int(h.args["bucket"])
    if rows != h.nwords + bucket or cols != h.dim:
        raise cur.fail(
            f"input matrix is {rows} x {cols}, expected {h.nwords} words + {bucket} buckets "
            f"= {h.nwords + bucket} rows of dimension {h.dim}"
        )
    matrix_at = cur.pos
    check_fits(rows, cols, options, source.path, "the input matrix (words and n-gram buckets)")
    inp = cur.array("<f4", rows * cols, "the input matrix").reshape(rows, cols)
    _check_output_matrix(cur, h)
    _check_buckets(cur, inp[h.nwords :], matrix_at + h.nwords * cols * 4, options)
    ngrams_at = matrix_at + h.nwords * cols * 4
    origin = None if cur.streaming else (os.fspath(source.path), ngrams_at)
    limit = len(words) if options.limit is None else min(options.limit, len(words))
    keep = select_rows(words[:limit], options, stats, source.path)
    # the words the model was trained on: all of them, whichever rows the load keeps
    minn, maxn = int(h.args["minn"]), int(h.args["maxn"])
    trained: TrainedWords = words
    if not cur.streaming:  # kept per process; the dictionary read again if asked, not held
        held = words if len(keep) == len(words) else None
        trained = trained_hash_reader(source.path, minn, maxn, options.encoding, held)
    subword = FastTextSubwords(
        inp[h.nwords :], minn=minn, maxn=maxn, origin=origin, trained_words=trained,
        dictionary_size=len(words),
    )
    kept = [words[i] for i in keep]
    if len(keep) == len(words):
        own = inp[: len(words)]  # a view: compose() makes the only copy
    else:
        own = inp[keep] if keep else np.zeros((0, cols), np.float32)
    vectors = subword.compose(kept, own)
    row_bytes = 4 * cols
    kept, vectors = drop_nonfinite(
        vectors,
        kept,
        options,
        stats,
        lambda r: (None, matrix_at + keep[r] * row_bytes),
        source,
        file_rows=keep,
    )
    warn_unicode(stats.unicode_replacements, options, source.path)
    meta = {
        "format": "fasttext-bin",
        "fasttext": {
            "version": h.version,
            **{
                k: h.args[k]
                for k in (
                    "dim",
                    "ws",
                    "epoch",
                    "min_count",
                    "neg",
                    "loss",
                    "model",
                    "bucket",
                    "minn",
                    "maxn",
                    "t",
                )
            },
            "nwords": h.nwords,
            "ntokens": h.ntokens,
        },
        **stats.to_metadata(),
    }
    if options.encoding != "utf-8":
        meta["encoding"] = options.encoding
    # trained without n-grams (-maxn 0, or minn > maxn, which fastText reads as no length
    # to take): no vector for an unseen word, so no subword model (minn > maxn loaded one
    # that said "subwords: yes" and gave an unseen word a bare KeyError)
    minn, maxn = int(h.args["minn"]), int(h.args["maxn"])
    usable = subword if maxn > 0 and minn <= maxn and rows > h.nwords else None
    return Vectors(kept, vectors, subword=usable, source=source.path, metadata=meta)


def map_ngrams(path: Path, link: dict[str, Any], dim: int) -> FastTextSubwords:
    """The n-gram table of the fastText `.bin` at `path`, memory-mapped where `link` says.

    `link` is what a native file stores instead of a second copy of the table (see
    `vecgraft.io.native`): the subword config plus `offset` (bytes) and `file_size`. The
    `.bin`'s header must agree with it, so a `.bin` replaced by another model is an error
    rather than wrong vectors for unseen words.
    """
    source = Source.from_path(path)
    try:
        offset, file_size = int(link["offset"]), int(link["file_size"])
        bucket, minn, maxn = int(link["bucket"]), int(link["minn"]), int(link["maxn"])
    except (TypeError, KeyError, ValueError) as exc:
        raise FormatError(f"bad n-gram link {link!r}", path=path) from exc
    size = path.stat().st_size
    if source.compression is not None or size != file_size:
        raise FormatError(
            f"not the fastText model these vectors were saved with ({size} bytes, expected "
            f"{file_size}); the vectors file refers to its n-gram table",
            path=path,
        )
    with open(path, "rb") as fh:
        head = fh.read(256)
    h = _read_header(Cursor(source, data=head))
    found = (h.dim, int(h.args["bucket"]), int(h.args["minn"]), int(h.args["maxn"]))
    if found != (dim, bucket, minn, maxn) or not 0 <= offset <= size - bucket * dim * 4:
        raise FormatError(
            f"not the fastText model these vectors were saved with: dim, bucket, minn, maxn "
            f"are {found}, expected {(dim, bucket, minn, maxn)}",
            path=path,
        )
    ngrams = (
        np.memmap(path, dtype="<f4", mode="r", offset=offset, shape=(bucket, dim))
        if bucket
        else np.zeros((0, dim), np.float32)
    )
    return FastTextSubwords(
        ngrams, minn=minn, maxn=maxn, origin=(os.fspath(path), offset),
        trained_words=trained_hash_reader(path, minn, maxn),
    )


def _check_buckets(cur: Cursor, buckets: np.ndarray, at: int, options: LoadOptions) -> None:
    """NaN/Inf in an n-gram bucket would poison every word hashing to it: reject it."""
    if options.allow_nonfinite or buckets.size == 0:
        return
    bad = nonfinite_rows(buckets)
    if bad.size:
        row = int(bad[0])
        raise cur.fail(
            f"n-gram bucket {row} holds NaN or Inf ({bad.size} such buckets)",
            offset=at + row * buckets.shape[1] * 4,
            hint=Hint("; pass {} to load it anyway", Opt("allow_nonfinite", "True")),
        )


def _check_output_matrix(cur: Cursor, h: Header) -> None:
    """The output matrix must be complete: a cut-off file is reported, not half-read."""
    rows, cols = _read_matrix_header(cur, h, "output")
    if rows < 0 or cols < 0 or cols != h.dim:
        raise cur.fail(f"output matrix is {rows} x {cols}, expected dimension {h.dim}")
    if not cur.streaming:
        cur.need(rows * cols * 4, "the output matrix")
    cur.skip(rows * cols * 4, "the output matrix")
    if not cur.at_end():
        more = f"{cur.remaining} " if cur.remaining is not None else ""
        raise cur.fail(f"{more}unexpected bytes after the output matrix")
    if cur.truncated:
        raise cur.fail("the file ends early")


FASTTEXT_BIN = Format(
    "fasttext-bin",
    sniff=sniff,
    read=read,
    write=None,
    extensions=(".bin",),
)
