"""Chinese text details: width and script normalisation, character/word token modes.

- Full-width ASCII ("ＡＢＣ１２３", the ideographic space) is what Chinese input methods type;
  `halfwidth` maps it to ASCII so "ｉＰｈｏｎｅ" and "iPhone" are one word. Unlike NFKC it
  keeps Chinese punctuation ("，" "：" "？" stay full-width, as jieba's dictionary and the
  stopword lists write them).
- Traditional -> simplified conversion uses OpenCC's `t2s` data (the `opencc` package), so
  vectors trained on simplified text (People's Daily, Wikipedia zh) find traditional words.
- `ZhMode`: `word` (jieba words), `char` (Chinese words as single characters, other words
  whole), `word+char` (each multi-character Chinese word followed by its characters: unseen
  words still share character tokens with seen ones).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from functools import lru_cache
from itertools import islice
from types import MappingProxyType
from typing import Any

from vecgraft._util.extras import require
from vecgraft._util.gb18030 import HAN as HAN
from vecgraft._util.options import lookup_enum
from vecgraft.errors import ConfigError, MissingExtraError

# full-width ASCII block U+FF01..U+FF5E minus the punctuation Chinese text uses as its own
_CJK_PUNCT = "！（），：；？［］｛｝"
_WIDE = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F) if chr(cp) not in _CJK_PUNCT}
_WIDE[0x3000] = 0x20  # ideographic space
HALFWIDTH: Mapping[int, int] = MappingProxyType(_WIDE)  # what `halfwidth` maps (code points)


class ZhMode(StrEnum):
    """Which tokens a Chinese text gives: words, characters or both."""

    WORD = "word"
    CHAR = "char"
    WORD_CHAR = "word+char"


def zh_mode_option(mode: str | ZhMode) -> ZhMode:
    """Validate a `zh_mode` option; unknown values are a ConfigError listing the choices."""
    try:
        return lookup_enum(ZhMode, mode)
    except ValueError:
        names = ", ".join(m.value for m in ZhMode)
        raise ConfigError(f"unknown zh_mode {mode!r}; choose one of: {names}") from None


def reads_characters(mode: str | None) -> bool:
    """Whether a `zh_mode` gives character tokens (`char`, `word+char`; None is words).

    The linear model has no Chinese mode (jieba's words, its own character n-grams): where
    the network reads characters, finetune, compare's log and its report say what it reads.
    One test for the three; here, so a report need not import torch with finetune.fusion.
    """
    return mode not in (None, "word")


def halfwidth(text: str) -> str:
    """Full-width letters, digits and symbols -> ASCII; Chinese punctuation is kept.

    Example:
        >>> halfwidth("ｉＰｈｏｎｅ　１２元，好！")
        'iPhone 12元，好！'
    """
    return text.translate(_WIDE)


@lru_cache(maxsize=1)
def _t2s() -> Any:
    opencc = require("opencc", "zh", feature="traditional-to-simplified conversion")
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional Chinese -> simplified with OpenCC's t2s tables (phrases, then characters).

    Example:
        >>> to_simplified("電腦軟體與漢字")
        '电脑软体与汉字'
    """
    return str(_t2s().convert(text))


def other_forms(word: str) -> list[tuple[str, str]]:
    """`word` as `halfwidth` and `to_simplified` write it: (what changed, form), each form once.

    Why: vectors trained on simplified, half-width text (People's Daily, Wikipedia zh) lack
    the traditional or full-width word a user types ("電腦", "ＡＰＰ"), which `--simplified`
    and `--halfwidth` would have found. Fewest changes first; no simplified forms without
    OpenCC (the `zh` extra).

    >>> other_forms("ＡＰＰ電腦")
    [('half-width', 'APP電腦'), ('simplified', 'ＡＰＰ电脑'), ('simplified, half-width', 'APP电脑')]
    """
    half = halfwidth(word)
    out = [("half-width", half)] if half != word else []
    if HAN.search(word):
        try:
            simple, both = to_simplified(word), to_simplified(half)
        except MissingExtraError:
            return out
        out += [("simplified", simple), ("simplified, half-width", both)]
    firsts: dict[str, str] = {}  # form -> what changed, the first (fewest changes) kept
    for what, form in out:
        firsts.setdefault(form, what)
    firsts.pop(word, None)
    return [(what, form) for form, what in firsts.items()]


def traditional_share(words: Iterable[str], sample: int = 2000) -> float | None:
    """Share of the first `sample` Han-character words that OpenCC's t2s would change.

    Why: the CA8 analogies (and jieba's dictionary) are simplified Chinese; vectors trained on
    traditional text cover almost none of their words, and a 0 % coverage says nothing of
    why. None when nothing Chinese is in `words` or OpenCC (the `zh` extra) is missing.
    """
    han = list(islice((w for w in words if HAN.search(w)), sample))
    if not han:
        return None
    try:
        changed = sum(to_simplified(w) != w for w in han)
    except MissingExtraError:
        return None
    return changed / len(han)


def apply_mode(words: list[str], mode: ZhMode) -> list[str]:
    """Re-cut segmented words: Chinese words into characters (`char`) or both (`word+char`).

    Example:
        >>> apply_mode(["我们", "爱", "Python"], ZhMode.WORD_CHAR)
        ['我们', '我', '们', '爱', 'Python']
    """
    if mode is ZhMode.WORD:
        return words
    out: list[str] = []
    for w in words:
        if len(w) > 1 and HAN.search(w):
            if mode is ZhMode.WORD_CHAR:
                out.append(w)
            out.extend(w)
        else:
            out.append(w)
    return out
