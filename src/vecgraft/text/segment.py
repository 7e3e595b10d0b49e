"""Chinese word segmentation: jieba's algorithm through rjieba (Rust) when installed.

rjieba runs jieba's dictionary + HMM segmentation about 10x faster than the Python `jieba`
package and takes the same options: `hmm` and a user dictionary (its lines are added word by
word with `add_word`, as jieba's `load_userdict` does). `backend="jieba"` forces the Python
package; `auto` prefers rjieba and falls back to jieba when rjieba is not installed.

The Python backend's segmentations are cached by content (`SegmentCache`): each text's
tokens are stored under a digest of the text, in a folder per segmenter configuration
(backend, HMM, a digest of the user dictionary's content), so pretraining, `vecgraft build`
and fine-tuning segment a corpus once. A changed user dictionary or option is a different
folder, i.e. a cache miss. rjieba is not cached: it segments as fast as a lookup.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import json
import logging
import os
import re
import sqlite3
import threading
import weakref
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from vecgraft._util.atomic import atomic_write_text
from vecgraft._util.extras import require
from vecgraft._util.options import lookup_enum
from vecgraft.errors import ConfigError, DataError
from vecgraft.text.tokenize import _FORMAT, normalize_text, user_dict_digest

CACHE_VERSION = 1
# pending entries written to the cache file (one transaction) once this many have accumulated
_FLUSH_EVERY = 20000
# jieba's user-dictionary line: word, then an optional frequency, then an optional POS tag
_USER_LINE = re.compile(r"^(.+?)(?: +([0-9]+))?(?: +([A-Za-z]+))?$")
# what a segmentation may drop from a text: whitespace and invisible format characters
_SEPARATORS = re.compile(rf"[\s{_FORMAT}]+")


class SegmentBackend(StrEnum):
    """Which implementation of jieba's segmentation runs."""

    AUTO = "auto"
    RJIEBA = "rjieba"
    JIEBA = "jieba"


def resolve_backend(backend: str | SegmentBackend = SegmentBackend.AUTO) -> SegmentBackend:
    """`auto` -> rjieba when importable, else jieba; unknown names are a ConfigError."""
    try:
        choice = lookup_enum(SegmentBackend, backend)
    except ValueError:
        names = ", ".join(b.value for b in SegmentBackend)
        raise ConfigError(f"unknown segmenter {backend!r}; choose one of: {names}") from None
    if choice is SegmentBackend.AUTO:
        try:
            import rjieba  # noqa: F401
        except ImportError:
            return SegmentBackend.JIEBA
        return SegmentBackend.RJIEBA
    return choice


Entry = tuple[str, int | None, str | None]  # a dictionary word, its frequency and its tag
# an entry with where it was read: (line number, the line, word, frequency, tag)
Line = tuple[int, str, str, int | None, str | None]


def read_user_dict(path: str | os.PathLike[str]) -> list[Entry]:
    """(word, frequency or None, tag or None) per line of a jieba user dictionary."""
    return [(word, freq, tag) for _, _, word, freq, tag in _user_lines(path)]


def _user_lines(path: str | os.PathLike[str]) -> list[Line]:
    """`read_user_dict`'s entries with their line numbers and lines (rjieba's reading)."""
    import io

    from vecgraft.text.utf8 import read_utf8

    entries: list[Line] = []
    try:
        text = read_utf8(path, "jieba user dictionary")
    except OSError as exc:
        raise DataError(f"{path}: cannot read jieba user dictionary ({exc})") from None
    for line_no, raw in enumerate(io.StringIO(text, newline=None), 1):  # as open() splits
        line = raw.strip()
        if not line:
            continue
        m = _USER_LINE.match(line)
        if m is None:  # pragma: no cover - the pattern matches any non-empty line
            raise DataError(f"{path}:{line_no}: expected 'word [frequency] [tag]'")
        if _SEPARATORS.search(m.group(1)):
            _note_unusable_line(path, line_no, line, m.group(1))
            continue
        freq = int(m.group(2)) if m.group(2) else None
        entries.append((line_no, line, m.group(1), freq, m.group(3)))
    return entries


def _jieba_user_lines(path: str) -> list[Line]:
    """The entries of a user dictionary exactly as jieba's `load_userdict` reads them.

    Its own pattern (`jieba.re_userdict`: single spaces, lowercase tags) and line splitting
    (bytes at each newline, ASCII whitespace stripped, a BOM dropped from each line): the Python
    backend with converted words must read the file as the backend without them does, or
    converting changed the words of lines it left alone ("蓝鲸计算 3 N" is one word to jieba).
    """
    jieba = require("jieba", "zh", feature="Chinese word segmentation")
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read jieba user dictionary ({exc})") from None
    entries: list[Line] = []
    for line_no, raw in enumerate(data.split(b"\n"), 1):
        try:
            line = raw.strip().decode("utf-8").lstrip("\ufeff")
        except UnicodeDecodeError:
            raise DataError(f"{path}:{line_no}: jieba user dictionary must be UTF-8") from None
        if not line:
            continue
        word, freq, tag = jieba.re_userdict.match(line).groups()
        freq_value = None if freq is None else int(freq.strip())
        entries.append((line_no, line, word, freq_value, None if tag is None else tag.strip()))
    return entries


# user-dictionary lines already warned about (path:line), said once per process
_unusable: set[str] = set()


def _note_unusable_line(path: str | os.PathLike[str], line_no: int, line: str, word: str) -> None:
    """Warn that a dictionary line can never match: jieba ignored it without a word.

    Its word keeps a space ("性价比高 abc n": the tag is letters after the frequency;
    "钥匙 卡 10"), and segmentation never joins words across one.
    """
    _say_once(
        Path(f"{path}:{line_no}"),
        f"{path}:{line_no}: jieba user dictionary line {line!r} is ignored: read as the word "
        f"{word!r} (with a space, which no segmented word has); "
        "expected 'word [frequency] [tag]', the frequency digits and the tag letters",
        _unusable,
    )


class Segmenter:
    """jieba segmentation of one text at a time, through the chosen backend.

    Args:
        user_dict: a jieba user dictionary (`word [freq] [tag]` per line), or None.
        hmm: let jieba's HMM join characters into words it does not know (jieba's default).
        backend: `auto`, `rjieba` or `jieba`.
        normalization: `normalize_text` options (nfkc, digits, halfwidth, simplified) the
            texts were normalised with before they are cut; the dictionary's words are
            normalised so too, or its traditional or full-width words never match them.

    Example:
        >>> Segmenter().cut("我爱北京天安门")
        ['我', '爱', '北京', '天安门']
    """

    def __init__(
        self,
        *,
        user_dict: str | os.PathLike[str] | None = None,
        hmm: bool = True,
        backend: str | SegmentBackend = SegmentBackend.AUTO,
        normalization: Mapping[str, Any] | None = None,
    ) -> None:
        self.backend = resolve_backend(backend)
        self.hmm = bool(hmm)
        self.user_dict = None if user_dict is None else os.fspath(user_dict)
        self._user_digest = None
        # only the options that change characters, and only where they change a word of
        # the dictionary: else it is read (and cached) exactly as without them
        changes = {k: v for k, v in (normalization or {}).items() if v}
        self._normalization: dict[str, Any] | None = None
        lines = None
        if self.user_dict is not None:
            if not Path(self.user_dict).is_file():
                raise DataError(f"{self.user_dict}: jieba user dictionary not found")
            self._user_digest = user_dict_digest(self.user_dict)
            lines = _user_lines(self.user_dict)  # rjieba's reading; warns of unusable lines
            if changes and self.backend is SegmentBackend.JIEBA:
                lines = _jieba_user_lines(self.user_dict)
            if changes and any(normalize_text(ln[2], **changes) != ln[2] for ln in lines):
                self._normalization = changes
        if self.backend is SegmentBackend.RJIEBA:
            entries = None if lines is None else [ln[2:] for ln in lines]
            if self._normalization is not None and lines is not None:
                entries = _normalized_entries(self.user_dict, lines, self._normalization)
            self._cut = _rjieba_cut(entries, self.hmm)
        elif self._normalization is not None and lines is not None:
            # every line's word, as load_userdict adds them (a word with a space included)
            entries = _normalized_entries(self.user_dict, lines, self._normalization, keep=True)
            self._cut = _jieba_cut(self.user_dict, self.hmm, entries)
        else:
            self._cut = _jieba_cut(self.user_dict, self.hmm)

    def cut(self, text: str) -> list[str]:
        """Words of `text` in order; their concatenation is `text` (spaces included)."""
        return self._cut(text)

    @property
    def key_fields(self) -> dict[str, Any]:
        """What decides the output, for cache keys: backend, its version, HMM, user dict.

        The dictionary's normalisation too, where it has one: its normalised words cut
        a text otherwise than its words as written.
        """
        fields: dict[str, Any] = {
            "backend": self.backend.value,
            "version": _backend_version(self.backend),
            "hmm": self.hmm,
            "user_dict": self._user_digest,
        }
        if self._normalization is not None:
            fields["user_dict_normalization"] = self._normalization
        return fields


def _normalized_entries(
    path: str | None,
    lines: list[Line],
    normalization: Mapping[str, Any],
    *,
    keep: bool = False,
) -> list[Entry]:
    """The entries of `lines`, each word as `normalize_text` writes it; frequency and tag kept.

    A word that converting gives a space ("ＷＩＦＩ　信號" under NFKC: "WIFI 信号")
    can never match: it is said, as a line written with a space is (`_note_unusable_line`),
    and left out, unless `keep` (jieba's reading adds every line's word, matching or not).
    """
    out: list[Entry] = []
    for line_no, line, word, freq, tag in lines:
        form = normalize_text(word, **normalization)
        if form != word and _SEPARATORS.search(form):
            _note_unusable_form(path or "", line_no, line, form)
            if not keep:
                continue
        out.append((form, freq, tag))
    return out


def _note_unusable_form(path: str, line_no: int, line: str, form: str) -> None:
    """Warn that a dictionary line's word, converted as the texts are, can never match."""
    _say_once(
        Path(f"{path}:{line_no}"),
        f"{path}:{line_no}: jieba user dictionary line {line!r} is ignored: its word, converted "
        f"as the texts are, is {form!r} (with a space, which no segmented word has); "
        "write the word without spaces",
        _unusable,
    )


def _rjieba_cut(entries: list[Entry] | None, hmm: bool) -> Any:
    rjieba = require("rjieba", "zh", feature="fast Chinese word segmentation")
    seg = rjieba.Jieba() if entries else _plain_rjieba()
    for word, freq, tag in entries or ():
        seg.add_word(word, freq, tag)
    cut = seg.cut
    if hmm:
        return cut
    return lambda text: cut(text, False)


def _jieba_cut(
    user_dict: str | None,
    hmm: bool,
    entries: list[Entry] | None = None,
) -> Any:
    """The jieba cut with `user_dict` loaded, or with `entries` (its words normalised) instead."""
    jieba = require("jieba", "zh", feature="Chinese word segmentation")
    # jieba logs "Building prefix dict..." to stderr on first use; keep it quiet.
    jieba.setLogLevel(logging.WARNING)
    if user_dict is None:
        seg = _plain_jieba()
    elif entries is not None:
        seg = jieba.Tokenizer()
        seg.check_initialized()  # as load_userdict does first
        for word, freq, tag in entries:  # as load_userdict adds each line's word
            seg.add_word(word, freq, tag)
    else:
        seg = jieba.Tokenizer()
        try:
            seg.load_userdict(user_dict)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise DataError(f"{user_dict}: cannot read jieba user dictionary ({exc})") from None
    return lambda text: seg.lcut(text, HMM=hmm)


@functools.cache
def _plain_rjieba() -> Any:
    """An rjieba segmenter of its own dictionary only, private to vecgraft.

    Not `rjieba._DEFAULT_JIEBA`: the caller's `rjieba.add_word` changes that one, and its
    words would reach tokens (and the segment cache) under a key that does not name them.
    """
    return require("rjieba", "zh", feature="fast Chinese word segmentation").Jieba()


@functools.cache
def _plain_jieba() -> Any:
    """A jieba Tokenizer of jieba's dictionary only, private to vecgraft (not `jieba.dt`).

    The caller's `jieba.load_userdict`, `add_word` or `set_dictionary` change `jieba.dt`;
    segmenting with it gave tokens that no recorded option reproduces in another process,
    and the segment cache served them to runs without those words.
    """
    return require("jieba", "zh", feature="Chinese word segmentation").Tokenizer()


def _backend_version(backend: SegmentBackend) -> str | None:
    """The installed version of the backend's package: a new dictionary can cut otherwise."""
    try:
        return importlib.metadata.version(backend.value)
    except importlib.metadata.PackageNotFoundError:
        return None


# --------------------------------------------------------------------------------------
# the content cache
def default_segment_cache_dir() -> Path | None:
    """`$VECGRAFT_SEGMENT_CACHE` (`off` disables), else `$XDG_CACHE_HOME/vecgraft/segments`."""
    env = os.environ.get("VECGRAFT_SEGMENT_CACHE")
    if env is not None:
        return None if env.strip().lower() in ("", "0", "off", "none", "false") else Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vecgraft" / "segments"


def _text_digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _spells(tokens: list[str], text: str) -> bool:
    """Whether `tokens` are `text` cut up: the same characters, whitespace and format aside.

    A segmentation loses only whitespace and invisible format characters (the word rule's
    separators), so any other difference is a damaged cache entry.
    """
    return _SEPARATORS.sub("", "".join(tokens)) == _SEPARATORS.sub("", text)


class SegmentCache:
    """Token lists of texts segmented under one configuration, on disk, by text digest.

    Entries live in one SQLite file per configuration, `folder/<config key>/segments.sqlite`
    (table `entries`: 16-byte digest -> tokens joined by U+001F), looked up text by text.
    Why SQLite: the first version kept TSV shards that every tokenizer read whole, so each
    paid for every text ever cached (0.6-0.8 s per tokenizer at 100k cached reviews, about 15
    tokenizers per ensemble run, and growing with every corpus). A lookup now costs
    microseconds whatever the cache holds. Tokenizers use it for the Python jieba backend
    only (`tokenize._segment_cache`): rjieba segments as fast as a lookup. New entries are
    written in one transaction every `_FLUSH_EVERY` entries, on `flush()`, when the cache is
    collected and at interpreter exit; SQLite's locking lets parallel processes share the
    file. Shards of the old layout found in the folder are moved into the file once. An
    entry whose tokens do not spell its text is a miss (and is re-segmented): a damaged entry
    never gives a text another text's tokens.
    """

    def __init__(self, folder: str | os.PathLike[str], config: dict[str, Any]) -> None:
        fields = {"cache_version": CACHE_VERSION, **config}
        self.key = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:32]
        self.folder = Path(folder) / self.key
        self.hits = 0
        self.misses = 0
        self._pending: dict[bytes, list[str]] = {}
        self._config = fields
        self._lock = threading.Lock()
        self._reader: sqlite3.Connection | None = None
        self._reader_pid = 0  # a connection is never used across fork (DataLoader workers)
        self._looked = False  # looked for the file and found none (until the next flush)
        # pending entries are written when the cache is collected (its tokenizer dropped
        # before exit: they were lost) or at interpreter exit
        weakref.finalize(self, _write_pending, self.folder, fields, self._pending, self._lock)

    @property
    def file(self) -> Path:
        """The SQLite file of this configuration's entries."""
        return self.folder / DB_NAME

    def get(self, text: str) -> list[str] | None:
        """The cached tokens of `text` (a new list), or None."""
        digest = _text_digest(text)
        found = self._pending.get(digest)
        if found is None:
            found = self._lookup(digest)
        if found is None or not _spells(found, text):
            self.misses += 1
            return None
        self.hits += 1
        return list(found)

    def put(self, text: str, tokens: list[str]) -> None:
        """Remember `tokens` for `text` (tokens holding U+001F, the separator, are not kept)."""
        if any("\x1f" in t for t in tokens):
            return
        with self._lock:
            self._pending[_text_digest(text)] = tokens
            full = len(self._pending) >= _FLUSH_EVERY
        if full:
            self.flush()

    def flush(self) -> None:
        """Write the pending entries to the cache file (one transaction)."""
        _write_pending(self.folder, self._config, self._pending, self._lock)
        self._looked = False  # the file may exist now

    def _lookup(self, digest: bytes) -> list[str] | None:
        reader = self._connection()
        if reader is None:
            return None
        try:
            row = reader.execute(_SELECT, (digest,)).fetchone()
        except sqlite3.Error as exc:  # damaged or locked past the timeout: a miss
            _say_once(self.file, f"segment cache not read: {self.file}: {exc}", _unreadable)
            return None
        if row is None or not isinstance(row[0], str):
            return None
        return row[0].split("\x1f") if row[0] else []

    def _connection(self) -> sqlite3.Connection | None:
        """The reading connection of this process; None while there is no cache file yet."""
        pid = os.getpid()
        if self._reader_pid == pid and (self._reader is not None or self._looked):
            return self._reader
        self._reader, self._reader_pid, self._looked = None, pid, True
        if any(self.folder.glob("*.tsv")):  # the old layout's shards: moved in once
            _write_pending(self.folder, self._config, {}, self._lock)
        if not self.file.is_file():
            return None
        try:
            self._reader = _connect(self.file, read_only=True)
        except sqlite3.Error as exc:
            if self.file.is_file():  # not `vecgraft cache clear` removing it meanwhile
                _say_once(self.file, f"segment cache not read: {self.file}: {exc}", _unreadable)
            return None
        _mark_used(self.file)
        return self._reader


def _mark_used(file: Path) -> None:
    """Set `file`'s mtime, the last use `vecgraft cache list` shows and `prune` goes by.

    Why: lookups only read the file, so its mtime told when it was last written, and a
    cache read by every run but filled long ago was pruned first. Once per reader: cheap.
    """
    with contextlib.suppress(OSError):  # a read-only cache, or removed meanwhile
        os.utime(file)


DB_NAME = "segments.sqlite"
_SELECT = "SELECT tokens FROM entries WHERE digest = ?"
_TIMEOUT = 60.0  # seconds a connection waits for another process's write to end

# cache roots a write already failed in, and files a read did: said once per process,
# not once per tokenizer
_unwritable: set[str] = set()
_unreadable: set[str] = set()


def _connect(file: Path, *, read_only: bool) -> sqlite3.Connection:
    """A connection to `file` (created, with its table, unless `read_only`)."""
    if read_only:
        uri = f"{file.resolve().as_uri()}?mode=ro"
        return sqlite3.connect(uri, uri=True, timeout=_TIMEOUT, check_same_thread=False)
    db = sqlite3.connect(file, timeout=_TIMEOUT, check_same_thread=False)
    db.execute("CREATE TABLE IF NOT EXISTS entries (digest BLOB PRIMARY KEY, tokens TEXT "
               "NOT NULL) WITHOUT ROWID")  # fmt: skip
    return db


def _say_once(key: Path, message: str, said: set[str]) -> None:
    if str(key) not in said:
        said.add(str(key))
        logging.getLogger(__name__).warning("%s", message)


def _write_pending(
    folder: Path, config: dict[str, Any], pending: dict[bytes, list[str]], lock: threading.Lock
) -> None:
    """Write `pending` (and any old-layout shards in `folder`) to the cache file; empty it.

    A function of the cache's parts, not of the cache, so that `weakref.finalize` can call
    it once the cache is gone.
    """
    with lock:
        entries = dict(pending)
        pending.clear()
    shards = sorted(folder.glob("*.tsv")) if folder.is_dir() else []
    if not entries and not shards:
        return
    rows = [(digest, "\x1f".join(tokens)) for digest, tokens in entries.items()]
    for retry in (False, True):
        try:
            _write_rows(folder, config, shards, rows)
            return
        except (OSError, sqlite3.Error) as exc:  # a read-only or damaged cache only costs speed
            if _moved(exc, folder):  # `vecgraft cache` removed the folder meanwhile
                if retry:
                    return  # removed twice over: the batch is dropped (segmented again)
                continue  # a fresh folder, as the next write would make
            _say_once(
                folder.parent,
                f"segment cache not written: {exc} (set VECGRAFT_SEGMENT_CACHE to a writable "
                "folder, or to 'off')",
                _unwritable,
            )
            return


def _write_rows(
    folder: Path, config: dict[str, Any], shards: list[Path], rows: list[tuple[bytes, str]]
) -> None:
    """Write `rows` and the `shards`' entries in one transaction; delete the shards."""
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "config.json").exists():
        atomic_write_text(folder / "config.json", json.dumps(config, indent=1) + "\n")
    db = _connect(folder / DB_NAME, read_only=False)
    try:
        with db:  # one transaction: all of them or none
            for shard in shards:
                db.executemany("INSERT OR IGNORE INTO entries VALUES (?, ?)",
                               _shard_rows(shard))  # fmt: skip
            db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?)", rows)
    finally:
        db.close()
    for shard in shards:
        shard.unlink(missing_ok=True)


def _moved(exc: OSError | sqlite3.Error, folder: Path) -> bool:
    """Whether a write failed because a removal renamed `folder` away while it ran.

    SQLite refuses to write a file moved since it was opened (SQLITE_READONLY_DBMOVED);
    a file opened after the rename is in a folder that is gone. Not the user's error: the
    advice to set VECGRAFT_SEGMENT_CACHE was wrong, and said once it hid the real errors.
    """
    if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_READONLY_DBMOVED:
        return True
    cannot_open = isinstance(exc, sqlite3.OperationalError) and "unable to open" in str(exc)
    return (cannot_open or isinstance(exc, FileNotFoundError)) and not folder.is_dir()


def _shard_rows(shard: Path) -> list[tuple[bytes, str]]:
    """The entries of an old-layout TSV shard (`hex digest<TAB>tokens` per line).

    A malformed line and a cut-off last line are skipped; an entry that does not spell its
    text is caught at lookup, as any other.
    """
    try:
        text = shard.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    rows = []
    for line in text.split("\n")[:-1]:  # a cut-off last line is not an entry
        digest, tab, joined = line.partition("\t")
        if tab and len(digest) == 32:
            try:
                rows.append((bytes.fromhex(digest), joined))
            except ValueError:
                continue
    return rows
