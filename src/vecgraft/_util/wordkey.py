"""The key of the `normalized` alignment rule, shared by the reader and `vecgraft.align`.

Here rather than in `align` because a vocabulary-bounded read (`vecgraft.load(vocab=...)`,
the io stage) must keep every row the rule could pick: with only the exact and case-folded
rows kept, `finetune` (which reads bounded) and `tune` (which reads the whole table) aligned
one vocabulary to different rows.
"""

from __future__ import annotations

import functools
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
    letters, and the optional vowel marks of Arabic and Hebrew: vector files mostly write
    those words without them; marks of other scripts tell words apart), typographic
    quotes/dashes made ASCII, and every digit replaced by `0` ("1,987" and "2,024" share a
    key). Pure-ASCII words take a fast path because a 400k-word vector file is keyed on every
    alignment. The first steps are the tokenizers' `normalize(nfkc=True, lower=True,
    digits="0")`, so "normalized" means the same thing everywhere (`vecgraft.text.normalize`
    shares `DIGIT`).

    Example:
        >>> normalize_key("Ｃafé’s 1987")
        "cafe's 0000"
    """
    if word.isascii():
        return word.lower().translate(_ASCII_DIGITS)
    text = DIGIT.sub("0", unicodedata.normalize("NFKC", word).lower())
    text = text.casefold().translate(_QUOTES)
    decomposed = unicodedata.normalize("NFD", text)
    stripped = _accent_pattern(max(decomposed) > "\uffff").sub("", decomposed)
    return unicodedata.normalize("NFC", stripped)


# Latin (with IPA and spacing modifiers), Greek and Cyrillic blocks: their marks are accents
# (café, naïve, Ελληνικά, ё). Hebrew and Arabic (with their presentation forms): their marks
# are vowel points (niqqud, harakat) and cantillation, optional in writing (שָׁלוֹם is
# written שלום, مُحَمَّد is محمد). Elsewhere a mark changes the word: kana voicing (ガス/カス),
# Thai tone marks (ไม่/ไม้), the Devanagari virama (क्ष/कष), so it is kept.
_ACCENTED_BLOCKS = (
    (0x0000, 0x0530),
    (0x0590, 0x0700),
    (0x0750, 0x0780),
    (0x0870, 0x0900),
    (0x1C80, 0x1C90),
    (0x1D00, 0x1DC0),
    (0x1E00, 0x2000),
    (0x2C60, 0x2C80),
    (0xA640, 0xA6A0),
    (0xA720, 0xA800),
    (0xAB30, 0xAB70),
    (0xFB1D, 0xFE00),
    (0xFE70, 0xFF00),
)
_LAST_MARK = 0x20000  # every code point with a combining class lies below (Unicode 15)
# Arabic maddah and hamza above/below: NFD splits them off آ أ إ ؤ ئ, but they are letters
# (سأل "asked" / سال "flowed", مسؤول is not مسوول), so they are kept, and as bases the
# harakat after them are still stripped. The superscript alef (U+0670) is a vowel sign.
_KEPT_MARKS = frozenset(range(0x0653, 0x0656))


@functools.cache
def _accent_pattern(astral: bool) -> re.Pattern[str]:
    """The combining marks right after a base letter of `_ACCENTED_BLOCKS` (the accents).

    One regex pass instead of a Python loop per character (that made every non-ASCII key 2x
    slower). The classes are built from `unicodedata` once, on first use (~20 ms); the bases
    leave marks out, so a mark with no base before it is kept, as are the marks after it
    (`_KEPT_MARKS` are bases, not marks).
    Marks above U+FFFF (`astral`, rare) are in a second pattern: a class with any of them is
    twice as slow to test.
    """
    end = _LAST_MARK if astral else 0x10000
    marks = [c for c in range(end) if unicodedata.combining(chr(c)) and c not in _KEPT_MARKS]
    mark_set = set(marks)
    bases = [c for lo, hi in _ACCENTED_BLOCKS for c in range(lo, hi) if c not in mark_set]
    return re.compile(f"(?<=[{_char_class(bases)}])[{_char_class(marks)}]+")


def _char_class(code_points: list[int]) -> str:
    """The inside of a regex character class holding exactly `code_points` (sorted)."""
    parts: list[str] = []
    i = 0
    while i < len(code_points):
        j = i
        while j + 1 < len(code_points) and code_points[j + 1] == code_points[j] + 1:
            j += 1
        lo, hi = code_points[i], code_points[j]
        parts.append(f"\\U{lo:08x}" if lo == hi else f"\\U{lo:08x}-\\U{hi:08x}")
        i = j + 1
    return "".join(parts)


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
