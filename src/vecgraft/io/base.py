"""Shapes shared by every vector-file format: the input source, the load options, a format.

Formats are data (see model2vec's persistence datamodels): each is a frozen `Format` whose
`sniff` says why a file is *not* in that format, so detection can list every rejection.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import shlex
import stat
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, Protocol

import numpy as np

from vecgraft._util.hf_spec import HF_PREFIX, TRANSFORMER_MODES, split_hf_mode
from vecgraft._util.jsonfile import special_kind
from vecgraft._util.policies import UnicodeErrors
from vecgraft._util.wordkey import normalize_key, normalize_keys
from vecgraft.errors import ConfigError, FormatError, Hint
from vecgraft.vectors import Vectors

Compression = Literal["gzip", "bz2", "xz", "zip"]

# the first bytes of each compression `Source` opens (the text reader names them inside one)
COMPRESSION_MAGIC: list[tuple[bytes, Compression]] = [
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"PK\x03\x04", "zip"),
]


# What a corrupt archive can raise while being opened or read (zlib.error and BadZipFile are
# not OSErrors; zipfile raises NotImplementedError/RuntimeError for odd or encrypted members).
DECOMPRESS_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    EOFError,
    lzma.LZMAError,
    zipfile.BadZipFile,
    zlib.error,
    NotImplementedError,
    RuntimeError,
)


def check_regular(path: Path, mode: int | None = None) -> None:
    """Refuse what is neither a regular file nor a folder (a FIFO, a device, a socket).

    Loads open a file several times (sniffing, reading, caching by size and mtime), which a
    pipe cannot give, and `/dev/zero` would never end; such a path is refused at once, before
    anything opens it (opening a FIFO alone can block forever). Copy the stream to a file first.
    """
    if mode is None:
        mode = path.stat().st_mode
    kind = special_kind(mode)
    if kind is None:
        return
    raise FormatError(
        f"is {kind}, not a regular file; vector files are read by seeking and re-opening, so "
        "save the stream to a file first",
        path=path,
    )


def sniff_compression(path: Path) -> Compression | None:
    """Compression of `path` from its magic bytes (not its extension)."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    for magic, kind in COMPRESSION_MAGIC:
        if head.startswith(magic):
            return kind
    return None


def _missing(path: str) -> str:
    """Why a path is missing; `hf:PATH` is how two commands name a checkpoint, not a file.

    The command it suggests takes compare's `:MODE` off the folder and passes it as
    from-transformer's `--mode`, which has the transformer modes (not `finetune`).
    """
    if not path.startswith(HF_PREFIX):
        return "no such file or directory"
    folder, mode = split_hf_mode(path[len(HF_PREFIX) :])
    shown = shlex.quote(folder) if folder else "FOLDER"
    flag = f" --mode {mode}" if mode in TRANSFORMER_MODES else ""
    flag += " --corpus PATH" if mode == "corpus" else ""  # that mode reads a corpus
    return (
        "no such file or directory; the hf: prefix names a transformer checkpoint only for "
        "`finetune --vectors` and `compare --sources`: word vectors come from one through "
        f"`vecgraft from-transformer {shown}{flag} --out FILE` (vecgraft.from_transformer)"
    )


@dataclass(frozen=True)
class Source:
    """A vector file on disk, possibly compressed; `open()` yields the decompressed bytes.

    `name` is the path with compression suffixes removed, so extension hints still work
    (`glove.txt.gz` -> `glove.txt`).
    """

    path: Path
    compression: Compression | None

    @classmethod
    def from_path(cls, path: str | os.PathLike[str]) -> Source:
        """Inspect `path` and return its Source; a missing file is a FormatError, not OSError."""
        p = Path(path).expanduser()  # "~/glove.txt" as gensim and the shell read it
        try:
            mode = p.stat().st_mode
        except FileNotFoundError:
            raise FormatError(_missing(str(path)), path=p) from None
        except OSError as exc:
            raise FormatError(f"cannot read: {exc.strerror or exc}", path=p) from exc
        check_regular(p, mode)
        return cls(p, None if stat.S_ISDIR(mode) else sniff_compression(p))

    @property
    def name(self) -> str:
        """File name without compression suffixes."""
        name = self.path.name
        for suffix in (".gz", ".bz2", ".xz", ".zip"):
            if self.compression and name.endswith(suffix):
                return name[: -len(suffix)]
        return name

    def open(self) -> IO[bytes]:
        """Binary stream of the decompressed content; errors name the file."""
        try:
            if self.compression is None:
                return open(self.path, "rb")
            if self.compression == "gzip":
                return gzip.open(self.path, "rb")  # type: ignore[return-value]
            if self.compression == "bz2":
                return bz2.open(self.path, "rb")
            if self.compression == "xz":
                return lzma.open(self.path, "rb")
            return self._open_zip_member()
        except DECOMPRESS_ERRORS as exc:
            raise FormatError(f"cannot open: {exc}", path=self.path) from exc

    def _open_zip_member(self) -> IO[bytes]:
        zf = zipfile.ZipFile(self.path)
        members = [m for m in zf.infolist() if not m.is_dir()]
        if len(members) != 1:
            names = ", ".join(m.filename for m in members[:5])
            raise FormatError(
                f"expected a zip archive with exactly one file, found {len(members)} ({names})",
                path=self.path,
            )
        return zf.open(members[0])

    def head(self, n: int = 65536) -> bytes:
        """The first `n` decompressed bytes (for format sniffing)."""
        with self.open() as fh:
            try:
                return fh.read(n)
            except DECOMPRESS_ERRORS as exc:
                msg = f"corrupt {self.compression} data: {exc}"
                raise FormatError(msg, path=self.path) from exc

    def read_bytes(self) -> bytes:
        """All decompressed bytes; a truncated archive is a FormatError naming the file."""
        if self.compression is None:
            return self.path.read_bytes()
        with self.open() as fh:
            try:
                return fh.read()
            except DECOMPRESS_ERRORS as exc:
                raise FormatError(
                    f"corrupt or truncated {self.compression} data: {exc}", path=self.path
                ) from exc


BadRows = Literal["error", "skip"]


@dataclass(frozen=True)
class LoadOptions:
    """What a reader is asked to do; part of the cache key, so keep it hashable.

    Attributes:
        vocab: keep only these words (plus the candidates of the `casefold` and `normalized`
            alignment rules, when `keep_casefold` and `keep_normalized`).
        keep_casefold: with `vocab`, also keep rows whose `casefold()` matches a vocab word's.
        keep_normalized: with `vocab`, also keep rows whose `normalize_key` matches a vocab
            word's, so aligning to a bounded read picks the rows a whole read would.
        limit: keep only the first N rows of the file.
        unicode_errors: decoding policy for words; non-strict policies report a count.
        encoding: how a fastText `.bin` stores its words (a Python codec name, as
            `codecs.lookup` spells it); every other format reads UTF-8.
        bad_rows: "error" stops at the first ragged/unparsable row; "skip" counts and drops.
        allow_nonfinite: accept NaN/Inf values instead of rejecting the row.
        trust: allow formats that unpickle (gensim's KeyedVectors.save files).
        progress: a progress bar (None: on a terminal or in a notebook; where stderr is a
            file or pipe, a plain line every 30 s instead).
        max_line_bytes: longest text line accepted (None: derived from the dimension).
        max_memory: bytes a load may allocate for its rows (None: what the machine has free,
            0: no guard).
    """

    vocab: frozenset[str] | None = None
    keep_casefold: bool = True
    keep_normalized: bool = True
    limit: int | None = None
    unicode_errors: UnicodeErrors = UnicodeErrors.STRICT
    encoding: str = "utf-8"
    bad_rows: BadRows = "error"
    allow_nonfinite: bool = False
    trust: bool = False
    progress: bool | None = None
    max_line_bytes: int | None = None
    max_memory: int | None = None

    def wants(self, word: str) -> bool:
        """Whether a row for `word` should be kept under the `vocab` filter."""
        if self.vocab is None or self.asks_for(word):
            return True
        return self.keep_normalized and normalize_key(word) in self.normalized_vocab

    def asks_for(self, word: str) -> bool:
        """Whether `word` is a vocabulary word, or one case folding gives (with `vocab`).

        Compared in NFC as alignment compares (a row "cafe" + U+0301 is the vocabulary's "café",
        a row "café" the vocabulary's "cafe" + U+0301).
        """
        if word in self.nfc_vocab:
            return True
        if self.keep_casefold and word.casefold() in self.casefolded_vocab:
            return True
        if word.isascii() or unicodedata.is_normalized("NFC", word):
            return False
        return self.asks_for(unicodedata.normalize("NFC", word))

    def wanted_mask(self, words: Sequence[str]) -> np.ndarray:
        """`wants` of many words as a bool array [len(words)], with the keys made in bulk."""
        n = len(words)
        if self.vocab is None:
            return np.ones(n, dtype=bool)
        vocab = self.nfc_vocab
        rest = [i for i, w in enumerate(words) if w not in vocab]
        if rest and self.keep_casefold:
            folded = self.casefolded_vocab
            rest = [i for i in rest if words[i].casefold() not in folded]
        if rest:  # rows stored decomposed (NFD): `asks_for` compares in NFC
            rest = [i for i in rest if words[i].isascii() or not self.asks_for(words[i])]
        if rest and self.keep_normalized:
            normalized = self.normalized_vocab
            keys = normalize_keys([words[i] for i in rest])
            rest = [i for i, k in zip(rest, keys) if k not in normalized]
        keep = np.ones(n, dtype=bool)
        keep[rest] = False
        return keep

    @property
    def nfc_vocab(self) -> frozenset[str]:
        """The vocabulary with the NFC form of each word stored decomposed, computed once.

        Alignment looks a decomposed vocabulary word up in NFC too: a bounded read must keep
        the row "café" for the vocabulary's "cafe" + U+0301, as a whole read has it.
        """
        cached = self.__dict__.get("_nfc_vocab")
        if cached is None:
            vocab = self.vocab or frozenset()
            is_nfc = unicodedata.is_normalized
            composed = {unicodedata.normalize("NFC", w) for w in vocab
                        if not w.isascii() and not is_nfc("NFC", w)}  # fmt: skip
            cached = vocab | composed if composed else vocab
            object.__setattr__(self, "_nfc_vocab", cached)
        return cached

    @property
    def casefolded_vocab(self) -> frozenset[str]:
        """Case-folded vocabulary (and its words' NFC forms'), computed once per options object."""
        cached = self.__dict__.get("_casefolded")
        if cached is None:
            cached = frozenset(w.casefold() for w in self.nfc_vocab)
            object.__setattr__(self, "_casefolded", cached)
        return cached

    @property
    def normalized_vocab(self) -> frozenset[str]:
        """The vocabulary's `normalize_key`s, computed once per options object."""
        cached = self.__dict__.get("_normalized")
        if cached is None:
            cached = frozenset(normalize_keys(self.vocab or ()))
            object.__setattr__(self, "_normalized", cached)
        return cached


class Rejection(str):
    """A sniffer's reason that knows how to read the file as that format anyway (`hint`).

    Detection offers its hint in place of "pass format=... to force one": a GloVe file
    whose first line is longer than detection reads needs `max_line_bytes` too, which
    forcing the format alone does not give.
    """

    hint: Hint

    def __new__(cls, reason: str, hint: Hint) -> Rejection:
        """The reason `reason`, readable as any string, carrying `hint`."""
        made = super().__new__(cls, reason)
        made.hint = hint
        return made


Sniffer = Callable[[Source, bytes], "str | None"]
Misfit = Callable[[Source, bytes], "FormatError | None"]
Reader = Callable[[Source, LoadOptions], Vectors]


class Writer(Protocol):
    """Writes `vectors` to `path` atomically; `progress` as `write_meter` takes it."""

    def __call__(self, vectors: Vectors, path: Path, *, progress: bool | None = False) -> None:
        """Write the file."""


# seconds between two plain progress lines of a write into a pipe or log file (a 400k x 300
# word2vec text file took 18 s, silent: `write_meter`)
WRITE_LINE_SECONDS = 5.0


def write_meter(progress: bool | None, rows: int, path: Path) -> Any:
    """The progress of writing `rows` rows to `path`: `progress_meter`'s bar or plain lines.

    `progress`: False (the library's default) says nothing; None a bar on a terminal and a
    line every `WRITE_LINE_SECONDS` in a pipe or log file; True a bar.
    """
    from vecgraft._util.console import progress_meter

    return progress_meter(
        progress, rows, f"writing {path.name}", interval=WRITE_LINE_SECONDS,
        lines_desc=f"writing {path.name} (rows)", unit=" rows", unit_scale=True, leave=False,
    )  # fmt: skip


@dataclass(frozen=True)
class Format:
    """One on-disk layout of word vectors.

    Attributes:
        name: the value of `format=` and `--to` (e.g. "glove", "word2vec", "word2vec-bin").
        sniff: (source, first bytes) -> None if the content fits, else why it does not
            (a `Rejection` when it knows how to read the file anyway).
        read: parse the source under the options into a `Vectors`.
        write: write a `Vectors` to a path (atomically), or None for read-only formats.
        extensions: file-name endings that hint at this format (a hint only).
        cacheable: whether loads are worth caching in the native format.
        misfit: (source, first bytes) -> this format's own error when the content clearly is
            this format but broken (raised by detection when no format fits), else None.
    """

    name: str
    sniff: Sniffer
    read: Reader
    write: Writer | None = None
    extensions: tuple[str, ...] = ()
    cacheable: bool = True
    misfit: Misfit | None = None

    def load(self, source: Source, options: LoadOptions) -> Vectors:
        """`read`, then `first_key_rows`: what every load (cached or not) gets."""
        return first_key_rows(self.read(source, options), options)


def first_key_rows(vectors: Vectors, options: LoadOptions) -> Vectors:
    """Of the rows a `vocab=` load kept for the `normalized` rule alone, the first per key.

    Why: alignment takes the earliest row with a word's key, and a key such as "0000" is
    shared by thousands of rows ("1987", "2024", ...); the later ones would be kept for
    nothing. Rows the vocabulary or case folding asked for stay whatever their key.
    """
    if options.vocab is None or not options.keep_normalized or not len(vectors):
        return vectors
    words = vectors.words
    keep = first_key_index(words, options)
    if len(keep) == len(words):
        return vectors
    metadata = dict(vectors.metadata)
    if "rows" in metadata:
        metadata["rows"] = len(keep)
    return Vectors(
        [words[i] for i in keep],
        np.asarray(vectors.matrix)[keep],
        subword=vectors.subword,
        source=vectors.source,
        metadata=metadata,
    )


def first_key_index(words: Sequence[str], options: LoadOptions) -> list[int]:
    """The rows of `words` that `first_key_rows` keeps (all, unless `keep_normalized`)."""
    if options.vocab is None or not options.keep_normalized:
        return list(range(len(words)))
    seen: set[str] = set()
    keep: list[int] = []
    for i, (word, key) in enumerate(zip(words, normalize_keys(words))):
        if key not in seen or options.asks_for(word):
            keep.append(i)
        seen.add(key)
    return keep


def refuse_spaced_words(
    words: Sequence[str],
    target: str,
    path: str | os.PathLike[str],
    advice: str,
    hint: Hint | None = None,
) -> None:
    """A FormatError naming the first words holding a space, which `target` cannot carry.

    gensim (and most tools) split each line of word2vec and GloVe text on spaces, so a row
    `new york 0.1 ...` reads back as "could not convert string to float: 'york'"; word2vec's
    binary reader ends a word at its first space. `vecgraft export` and `vecgraft.save` both
    refuse such words with this message, `advice` saying what to do instead.
    """
    spaced = [i for i, w in enumerate(words) if " " in w]
    if not spaced:
        return
    shown = ", ".join(f"word {i} ({words[i][:40]!r})" for i in spaced[:3])
    more = f" and {len(spaced) - 3:,} more" if len(spaced) > 3 else ""
    raise FormatError(
        f"cannot write {shown}{more} as {target}: gensim and other readers end a word at its "
        f"first space in {target} files, so these would not read back; {advice}",
        path=path,
        hint=hint,
    )


_SUFFIXES: dict[str, Compression] = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zip": "zip"}


def output_compression(path: Path) -> Compression | None:
    """The compression a writer applies to `path`, from its suffix (.gz, .bz2, .xz).

    Raises:
        ConfigError: a `.zip` suffix (one-member archives are read, not written).
    """
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind == "zip":
        raise ConfigError(
            f"{path}: cannot write a .zip archive; use .gz, .bz2 or .xz, or no suffix"
        )
    return kind


def compressed(path: Path, write: Callable[[IO[bytes]], object]) -> Callable[[IO[bytes]], object]:
    """`write`, compressing what it writes as `path`'s suffix says (`output_compression`).

    Reading goes by the magic bytes, but gensim (smart_open), zcat and other tools go by the
    suffix: plain text saved as `glove.txt.gz` would load here and fail everywhere else.
    gzip gets level 6 (gzip's own default; 9 is far slower for a few percent) and no
    embedded name or time, so the same vectors give the same bytes.
    """
    kind = output_compression(path)
    if kind is None:
        return write

    def packed(fh: IO[bytes]) -> None:
        if kind == "gzip":
            with gzip.GzipFile(filename="", mode="wb", fileobj=fh, compresslevel=6, mtime=0) as gz:
                write(gz)  # type: ignore[arg-type]
        elif kind == "bz2":
            with bz2.BZ2File(fh, "wb") as bz:
                write(bz)
        else:
            with lzma.LZMAFile(fh, "wb") as xz:
                write(xz)

    return packed


def text_stream(fh: IO[bytes]) -> io.BufferedReader:
    """Wrap a raw stream for fast line iteration."""
    return fh if isinstance(fh, io.BufferedReader) else io.BufferedReader(fh)  # type: ignore[arg-type]
