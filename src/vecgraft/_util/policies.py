"""The two reading policies every reader of user files shares: decoding and bad rows.

They live below `io` so that vector files, text corpora and labelled data sets spell them
the same way (`bad_rows="skip"`, `errors="replace"`) from Python, a CLI flag or a config file.
"""

from __future__ import annotations

import codecs
from enum import StrEnum

from vecgraft.errors import Opt, OptionError


class BadRowPolicy(StrEnum):
    """What to do with an unusable row: stop (a DataError naming file and line) or skip it.

    A skipped row is counted, with its line number, in the reader's report.

    "report" is the old fine-tuning spelling of "skip" and still parses to it, so saved
    configs keep working.

    >>> BadRowPolicy("report") is BadRowPolicy.SKIP
    True
    """

    ERROR = "error"
    SKIP = "skip"

    @classmethod
    def _missing_(cls, value: object) -> BadRowPolicy | None:
        return cls.SKIP if value == "report" else None


class UnicodeErrors(StrEnum):
    """What to do with bytes that do not decode: fail (naming file and line), replace, drop."""

    STRICT = "strict"
    REPLACE = "replace"
    IGNORE = "ignore"


def text_codec(name: object) -> str:
    """`name` as Python's codec registry names it ("CP852" -> "cp852", "utf8" -> "utf-8").

    The one test of "a text encoding Python knows": each option that takes one words its
    own refusal (`encoding=`, `--vectors-encoding`), so this raises a bare LookupError for a
    non-str, an unknown name, a bytes-to-bytes codec ('hex', 'rot13') and a codec that
    decodes nothing ('idna', 'undefined': a UnicodeError, which escaped as a traceback).

    >>> text_codec("CP852"), text_codec("utf8"), text_codec("Latin-1")
    ('cp852', 'utf-8', 'iso8859-1')
    """
    if not isinstance(name, str):
        raise LookupError(f"{name!r} is not a codec name")
    try:
        b"\0".decode(name, "ignore")  # unknown names and bytes-to-bytes codecs fail
    except ValueError as exc:  # UnicodeError ('idna'), or a NUL in the name
        raise LookupError(f"{name!r} decodes no text: {exc}") from None
    return codecs.lookup(name).name


def check_encoding(encoding: str, name: str = "encoding") -> str:
    """`encoding`'s canonical codec name; it must exist and keep a newline as one byte.

    Files are split into lines before decoding (so a bad byte costs one row, not the file),
    which needs an ASCII-compatible encoding: UTF-16/32 are refused (a ConfigError).
    The refusal is an `OptionError`, so a command names its flag (`--encoding klingon`)
    where Python reads `encoding='klingon'`: the CLI said the keyword, not the flag typed.

    >>> check_encoding("Latin-1")
    'iso8859-1'
    >>> try:
    ...     check_encoding("klingon")
    ... except OptionError as exc:
    ...     print(exc)
    ...     print(exc.describe({"encoding": "--encoding"}.get))
    encoding='klingon' is not a known text encoding
    --encoding klingon is not a known text encoding
    """
    option = Opt(name, repr(encoding), str(encoding))
    try:
        codec = text_codec(encoding)  # 'hex' and 'rot13' raised a LookupError from encode
    except LookupError:
        raise OptionError("{} is not a known text encoding", option) from None
    if "\n".encode(codec) != b"\n" or "a".encode(codec) != b"a":
        raise OptionError(
            "{}: only ASCII-compatible encodings are supported (files are split into lines "
            "before decoding); convert the file to UTF-8 first",
            option,
        )
    return codec
