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

import os
import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from functools import lru_cache
from itertools import islice
from pathlib import Path
from types import MappingProxyType
from typing import Any

from vecgraft._util.extras import require
from vecgraft._util.options import lookup_enum
from vecgraft.errors import ConfigError, MissingExtraError

# full-width ASCII block U+FF01..U+FF5E minus the punctuation Chinese text uses as its own
_CJK_PUNCT = "！（），：；？［］｛｝"
_WIDE = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F) if chr(cp) not in _CJK_PUNCT}
_WIDE[0x3000] = 0x20  # ideographic space
HALFWIDTH: Mapping[int, int] = MappingProxyType(_WIDE)  # what `halfwidth` maps (code points)
# a Han (Chinese) character: CJK unified ideographs, extensions A-G, compatibility
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


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


def gb18030_text(data: bytes) -> str | None:
    """`data` decoded as GB18030 when it looks like GBK/GB18030 Chinese, else None.

    Latin-1 text often decodes too: an accented letter and the ASCII letter after it make a
    valid two-byte character ('über' reads as '黚er'). The common Chinese characters
    (GB2312's) have a second byte of 0xA1 or more, so most of the Han characters must.

    >>> gb18030_text("房间很干净".encode("gbk")), gb18030_text("Größe über".encode("latin-1"))
    ('房间很干净', None)
    """
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        return None
    han = HAN.findall(text)
    high = sum(1 for ch in han if ch.encode("gb18030")[1] >= 0x80)
    return text if han and high >= 0.8 * len(han) else None


def gb18030_advice(path: str | os.PathLike[str], data: bytes) -> str:
    r"""How to convert a word-list file that is not UTF-8 but reads as GB18030 Chinese.

    Chinese stopword lists and jieba user dictionaries often come in GBK (which GB18030
    extends); these files are read as UTF-8 only. "" when `data` does not read so.

    >>> gb18030_advice("stop.txt", "的\n了\n".encode("gbk"))  # doctest: +ELLIPSIS
    "; it reads as GB18030 Chinese ('的 了'), ...: convert it, e.g. iconv -f GB18030 ..."
    """
    text = gb18030_text(data)
    if text is None:
        return ""
    words = text.split()
    shown = repr(" ".join(words[:5])) + (", ..." if len(words) > 5 else "")
    p = Path(path)
    return (
        f"; it reads as GB18030 Chinese ({shown}), the encoding Chinese word lists often "
        f"come in: convert it, e.g. iconv -f GB18030 -t UTF-8 {p} > {p.stem}-utf8{p.suffix}"
    )
