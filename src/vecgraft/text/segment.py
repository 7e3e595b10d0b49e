"""Chinese word segmentation: jieba's algorithm through rjieba (Rust) when installed.

rjieba runs jieba's dictionary + HMM segmentation about 10x faster than the Python `jieba`
package and takes the same options: `hmm` and a user dictionary (its lines are added word by
word with `add_word`, as jieba's `load_userdict` does). `backend="jieba"` forces the Python
package; `auto` prefers rjieba and falls back to jieba when rjieba is not installed.

Segmentations are cached by content (`SegmentCache`): each text's tokens are stored under a
digest of the text, in a folder per segmenter configuration (backend, HMM, a digest of the
user dictionary's content), so pretraining, `vecgraft build` and fine-tuning segment a corpus
once. A changed user dictionary or option is a different folder, i.e. a cache miss.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import logging
import os
import re
import threading
import uuid
import weakref
from enum import StrEnum
from pathlib import Path
from typing import Any

from vecgraft._util.atomic import atomic_write_text
from vecgraft._util.extras import require
from vecgraft._util.options import lookup_enum
from vecgraft.errors import ConfigError, DataError
from vecgraft.text.tokenize import _FORMAT, user_dict_digest

CACHE_VERSION = 1
# pending entries written to a new shard file once this many have accumulated
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


def read_user_dict(path: str | os.PathLike[str]) -> list[tuple[str, int | None, str | None]]:
    """(word, frequency or None, tag or None) per line of a jieba user dictionary."""
    import io

    from vecgraft.text.utf8 import read_utf8

    entries: list[tuple[str, int | None, str | None]] = []
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
        freq = int(m.group(2)) if m.group(2) else None
        entries.append((m.group(1), freq, m.group(3)))
    return entries


class Segmenter:
    """jieba segmentation of one text at a time, through the chosen backend.

    Args:
        user_dict: a jieba user dictionary (`word [freq] [tag]` per line), or None.
        hmm: let jieba's HMM join characters into words it does not know (jieba's default).
        backend: `auto`, `rjieba` or `jieba`.

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
    ) -> None:
        self.backend = resolve_backend(backend)
        self.hmm = bool(hmm)
        self.user_dict = None if user_dict is None else os.fspath(user_dict)
        self._user_digest = None
        entries = None
        if self.user_dict is not None:
            if not Path(self.user_dict).is_file():
                raise DataError(f"{self.user_dict}: jieba user dictionary not found")
            self._user_digest = user_dict_digest(self.user_dict)
            entries = read_user_dict(self.user_dict)
        self._cut = (
            _rjieba_cut(entries, self.hmm)
            if self.backend is SegmentBackend.RJIEBA
            else _jieba_cut(self.user_dict, self.hmm)
        )

    def cut(self, text: str) -> list[str]:
        """Words of `text` in order; their concatenation is `text` (spaces included)."""
        return self._cut(text)

    @property
    def key_fields(self) -> dict[str, Any]:
        """What decides the output, for cache keys: backend, its version, HMM, user dict."""
        return {
            "backend": self.backend.value,
            "version": _backend_version(self.backend),
            "hmm": self.hmm,
            "user_dict": self._user_digest,
        }


def _rjieba_cut(entries: list[tuple[str, int | None, str | None]] | None, hmm: bool) -> Any:
    rjieba = require("rjieba", "zh", feature="fast Chinese word segmentation")
    seg = rjieba.Jieba() if entries else _plain_rjieba()
    for word, freq, tag in entries or ():
        seg.add_word(word, freq, tag)
    cut = seg.cut
    if hmm:
        return cut
    return lambda text: cut(text, False)


def _jieba_cut(user_dict: str | None, hmm: bool) -> Any:
    jieba = require("jieba", "zh", feature="Chinese word segmentation")
    # jieba logs "Building prefix dict..." to stderr on first use; keep it quiet.
    jieba.setLogLevel(logging.WARNING)
    if user_dict is None:
        seg = _plain_jieba()
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


def _text_digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _spells(tokens: list[str], text: str) -> bool:
    """Whether `tokens` are `text` cut up: the same characters, whitespace and format aside.

    A segmentation loses only whitespace and invisible format characters (the word rule's
    separators), so any other difference is a damaged cache entry.
    """
    return _SEPARATORS.sub("", "".join(tokens)) == _SEPARATORS.sub("", text)


class SegmentCache:
    """Token lists of texts segmented under one configuration, on disk, by text digest.

    Entries live in `folder/<config key>/*.tsv` (`digest<TAB>tokens joined by U+001F` per
    line). New entries are written as a new shard file, atomically, every `_FLUSH_EVERY`
    entries, on `flush()`, when the cache is collected and at interpreter exit; readers load
    every shard, so parallel writers never clobber each other. A malformed line is ignored
    (and re-segmented), as are a shard's unterminated last line and an entry whose tokens do
    not spell its text: a truncated shard otherwise gave a text's first words as all of its
    tokens.
    """

    def __init__(self, folder: str | os.PathLike[str], config: dict[str, Any]) -> None:
        fields = {"cache_version": CACHE_VERSION, **config}
        self.key = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:32]
        self.folder = Path(folder) / self.key
        self.hits = 0
        self.misses = 0
        self._entries: dict[str, list[str]] | None = None
        self._pending: dict[str, list[str]] = {}
        self._config = fields
        self._lock = threading.Lock()
        # pending entries are written when the cache is collected (its tokenizer dropped
        # before exit: they were lost) or at interpreter exit
        weakref.finalize(self, _write_pending, self.folder, fields, self._pending, self._lock)

    def _load(self) -> dict[str, list[str]]:
        if self._entries is None:
            entries: dict[str, list[str]] = {}
            for shard in sorted(self.folder.glob("*.tsv")) if self.folder.is_dir() else ():
                try:
                    text = shard.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError):
                    continue
                for line in text.split("\n")[:-1]:  # a cut-off last line is not an entry
                    digest, tab, joined = line.partition("\t")
                    if tab and len(digest) == 32:
                        entries[digest] = joined.split("\x1f") if joined else []
            self._entries = entries
        return self._entries

    def get(self, text: str) -> list[str] | None:
        """The cached tokens of `text` (a new list), or None."""
        found = self._load().get(_text_digest(text))
        if found is None or not _spells(found, text):
            self.misses += 1
            return None
        self.hits += 1
        return list(found)

    def put(self, text: str, tokens: list[str]) -> None:
        """Remember `tokens` for `text` (tokens with a tab, newline or U+001F are not kept)."""
        if any(("\t" in t or "\n" in t or "\x1f" in t) for t in tokens):
            return
        digest = _text_digest(text)
        self._load()[digest] = tokens
        with self._lock:
            self._pending[digest] = tokens
            full = len(self._pending) >= _FLUSH_EVERY
        if full:
            self.flush()

    def flush(self) -> None:
        """Write the pending entries as one new shard file (atomic)."""
        _write_pending(self.folder, self._config, self._pending, self._lock)


# cache roots a write already failed in: said once per process, not once per tokenizer
_unwritable: set[str] = set()


def _write_pending(
    folder: Path, config: dict[str, Any], pending: dict[str, list[str]], lock: threading.Lock
) -> None:
    """Write `pending` as one new shard file in `folder` (atomic) and empty it.

    A function of the cache's parts, not of the cache, so that `weakref.finalize` can call
    it once the cache is gone.
    """
    with lock:
        entries = dict(pending)
        pending.clear()
    if not entries:
        return
    body = "".join(f"{d}\t{chr(31).join(toks)}\n" for d, toks in entries.items())
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / "config.json").exists():
            atomic_write_text(folder / "config.json", json.dumps(config, indent=1) + "\n")
        atomic_write_text(folder / f"{uuid.uuid4().hex}.tsv", body)
    except OSError as exc:  # a read-only cache only costs speed
        root = str(folder.parent)
        if root not in _unwritable:
            _unwritable.add(root)
            logging.getLogger(__name__).warning(
                "segment cache not written: %s (set VECGRAFT_SEGMENT_CACHE to a writable "
                "folder, or to 'off')",
                exc,
            )
