"""Text normalisation shared by tokenizers and alignment's "normalized" lookup.

Normalising the same way at vocabulary-build, pretraining and fine-tuning time is what makes
ids line up; hence one function, used everywhere, with every option explicit.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum

from vecgraft._util.options import parse_enum
from vecgraft._util.wordkey import DIGIT  # Unicode digits; the `normalized` key uses it too


class Digits(StrEnum):
    """What every decimal digit becomes: "0" (word2vec-style) or "#" (GloVe-era NER style)."""

    ZERO = "0"
    HASH = "#"


def digits_option(digits: str | Digits | None) -> Digits | None:
    """Validate a `digits` option; an unknown value is a ConfigError listing the choices."""
    if digits is None or isinstance(digits, Digits):
        return digits
    return parse_enum(Digits, digits, "digits", also="or None")


def nfc(text: str) -> str:
    """`text` in Unicode NFC: a decomposed "é" (e + U+0301) becomes the one character "é".

    The tokenizers put every text in NFC (unless NFKC, which composes too), so a word reads
    the same whichever way it was spelled; the check alone costs little on NFC text.

    >>> nfc("cafe\u0301") == "caf\u00e9"
    True
    """
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def normalize(
    text: str,
    *,
    nfkc: bool = False,
    lower: bool = False,
    digits: str | Digits | None = None,
    strip: bool = False,
) -> str:
    """Normalise `text`: Unicode NFKC, then lowercase, then digits, then strip.

    NFKC comes first so that fullwidth letters and digits ("Ａ１") become ASCII before they are
    lowercased and replaced.

    Args:
        text: a word or a whole document.
        nfkc: apply Unicode NFKC (compatibility) normalisation.
        lower: lowercase (`str.lower`, as GloVe's and word2vec's corpora were).
        digits: replace every decimal digit with "0" or "#"; None keeps them.
        strip: remove surrounding whitespace.

    Example:
        >>> normalize("Ｈｅｌｌｏ 2024 ", nfkc=True, lower=True, digits="0", strip=True)
        'hello 0000'
    """
    if nfkc:
        text = unicodedata.normalize("NFKC", text)
    if lower:
        text = text.lower()
    replacement = digits_option(digits)
    if replacement is not None:
        text = DIGIT.sub(replacement.value, text)
    if strip:
        text = text.strip()
    return text
