"""The key of the `normalized` alignment rule, shared by the reader and `vecgraft.align`.

Here rather than in `align` because a vocabulary-bounded read (`vecgraft.load(vocab=...)`,
the io stage) must keep every row the rule could pick: with only the exact and case-folded
rows kept, `finetune` (which reads bounded) and `tune` (which reads the whole table) aligned
one vocabulary to different rows.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from itertools import compress, count
from operator import not_

DIGIT = re.compile(r"\d")  # Unicode-aware: also Arabic-Indic, fullwidth, ... digits

_QUOTES = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "–": "-",
        "—": "-",
        "‐": "-",
        "‑": "-",
        "−": "-",
    }
)
_ASCII_DIGITS = str.maketrans("123456789", "000000000")
_ASCII_DIGIT_BYTES = bytes.maketrans(b"123456789", b"000000000")


def normalize_key(word: str) -> str:
    """The key under which the `normalized` rule matches words.

    NFKC, case folding, accents removed (the combining marks on Latin, Greek and Cyrillic
    letters; marks of other scripts tell words apart), typographic quotes/dashes made ASCII,
    and every digit replaced by `0` ("1,987" and "2,024" share a key). Pure-ASCII words take
    a fast path because a 400k-word vector file is keyed on every alignment. The first steps are
    the tokenizers' `normalize(nfkc=True, lower=True, digits="0")`, so "normalized" means
    the same thing everywhere (`vecgraft.text.normalize` shares `DIGIT`).

    Example:
        >>> normalize_key("Ｃafé’s 1987")
        "cafe's 0000"
    """
    if word.isascii():
        return word.lower().translate(_ASCII_DIGITS)
    text = DIGIT.sub("0", unicodedata.normalize("NFKC", word).lower())
    text = text.casefold().translate(_QUOTES)
    return unicodedata.normalize("NFC", _strip_accents(unicodedata.normalize("NFD", text)))


# Latin (with IPA and spacing modifiers), Greek and Cyrillic blocks: their marks are accents
# (café, naïve, Ελληνικά, ё). Elsewhere a mark changes the word: kana voicing (ガス/カス),
# Thai tone marks (ไม่/ไม้), the Devanagari virama (क्ष/कष), so it is kept.
_ACCENTED_BLOCKS = (
    (0x0000, 0x0530),
    (0x1C80, 0x1C90),
    (0x1D00, 0x1DC0),
    (0x1E00, 0x2000),
    (0x2C60, 0x2C80),
    (0xA640, 0xA6A0),
    (0xA720, 0xA800),
    (0xAB30, 0xAB70),
)


def _accented_base(c: str) -> bool:
    """Whether combining marks after the letter `c` are accents the key drops."""
    cp = ord(c)
    return any(lo <= cp < hi for lo, hi in _ACCENTED_BLOCKS)


def _strip_accents(decomposed: str) -> str:
    """`decomposed` (NFD) without the combining marks that follow a Latin/Greek/Cyrillic base."""
    out: list[str] = []
    drop = False  # a mark with no base before it is kept
    for c in decomposed:
        if not unicodedata.combining(c):
            drop = _accented_base(c)
        elif drop:
            continue
        out.append(c)
    return "".join(out)


def normalize_keys(words: Iterable[str]) -> list[str]:
    """`normalize_key` of many words, fast.

    ASCII words (most of any vector file) are keyed at C speed, all in one joined string
    (their key is lowercase with digits made 0); only the rest go through the full function.
    """
    words = list(words)
    other = list(compress(count(), map(not_, map(str.isascii, words))))
    keys = words.copy()
    for i in other:
        keys[i] = ""  # keyed below; kept out of the joined bytes, which must be ASCII
    joined = "\n".join(keys).encode("ascii").lower().translate(_ASCII_DIGIT_BYTES)
    keys = joined.decode("ascii").split("\n")
    if len(keys) != len(words):  # a word holding a line break: one at a time
        return list(map(normalize_key, words))
    for i in other:
        keys[i] = normalize_key(words[i])
    return keys
