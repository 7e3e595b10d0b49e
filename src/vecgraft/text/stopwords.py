"""Stopword lists: built-in English and Chinese ones (from `stopwordsiso`) or a user file.

A spec is what a user types: a language code ("en", "zh"), a path to a UTF-8 file with one
word per line, or an iterable of words. `resolve_stopwords` turns any of them into a frozenset.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from vecgraft.errors import ConfigError, DataError

BUILTIN_LANGUAGES: tuple[str, ...] = ("en", "zh")

StopwordSpec = str | os.PathLike[str] | Iterable[str]


def builtin_stopwords(lang: str) -> frozenset[str]:
    """The `stopwordsiso` list for `lang` (e.g. "en": 1298 words, "zh": 794)."""
    import stopwordsiso

    if not stopwordsiso.has_lang(lang):
        raise ConfigError(
            f"no built-in stopword list for {lang!r}; use a language code such as "
            f"{', '.join(BUILTIN_LANGUAGES)} or a path to a file with one word per line"
        )
    return frozenset(stopwordsiso.stopwords(lang))


def read_stopwords(path: str | os.PathLike[str]) -> frozenset[str]:
    """Words of a UTF-8 file, one per line; blank lines and lines starting with '#' are skipped."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{p}: stopword file not found") from None
    except UnicodeDecodeError as exc:
        line = p.read_bytes()[: exc.start].count(b"\n") + 1
        raise DataError(f"{p}:{line}: stopword file is not valid UTF-8") from None
    words = (line.strip() for line in text.splitlines())
    return frozenset(w for w in words if w and not w.startswith("#"))


def resolve_stopwords(spec: StopwordSpec | None) -> frozenset[str]:
    """Turn a stopword spec into a set: None -> empty, "en"/"zh" -> built-in, path -> file.

    A string is a language code when it is a short code that `stopwordsiso` knows and no file
    of that name exists; anything else string-like is a path.
    """
    if spec is None:
        return frozenset()
    if isinstance(spec, (str, os.PathLike)):
        text = os.fspath(spec)
        if is_language_code(spec):
            return builtin_stopwords(text)
        return read_stopwords(text)
    return frozenset(str(w) for w in spec)


def is_language_code(spec: object) -> bool:
    """Whether a stopword spec names a built-in list: a short alphabetic str, not a file."""
    return isinstance(spec, str) and len(spec) <= 3 and spec.isalpha() and not os.path.exists(spec)
