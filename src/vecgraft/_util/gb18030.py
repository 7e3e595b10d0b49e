"""Telling GBK/GB18030 or Big5 Chinese from other bytes that are not UTF-8, and how to convert.

Here rather than in `vecgraft.text.zh` because the io stage names the encoding too: a GBK
vector file failed with "invalid UTF-8 ... pass --unicode-errors replace", advice that turns
every Chinese word into replacement characters.
"""

from __future__ import annotations

import codecs
import os
import re
from pathlib import Path

# a Han (Chinese) character: CJK unified ideographs, extensions A-G, compatibility
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


# Big5 as the files come: Windows' code page 950 (Taiwan; Python's "big5" lacks some of its
# characters, 裏 among them), then Hong Kong's HKSCS extension
BIG5_CODECS = ("cp950", "big5hkscs")
# how the messages name each codec, and iconv's name for it
CODEC_NAMES = {"gb18030": ("GB18030", "GB18030"), "cp950": ("Big5", "CP950"),
               "big5hkscs": ("Big5-HKSCS", "BIG5-HKSCS")}  # fmt: skip
# characters judged (a long line need not be read whole to tell the encodings apart)
_JUDGED = 2000
# the most bytes a character takes in any codec judged (GB18030's four-byte sequences)
_MAX_CHAR_BYTES = 4


def gb18030_text(data: bytes) -> str | None:
    """`data` decoded as GB18030 when it looks like GBK/GB18030 Chinese, else None.

    Latin-1 text often decodes too: an accented letter and the ASCII letter after it make a
    valid two-byte character ('über' reads as '黚er'). The common Chinese characters
    (GB2312's) have a second byte of 0xA1 or more, so most of the Han characters must.
    None too when the bytes read better as Big5 (`legacy_chinese`).

    >>> gb18030_text("房间很干净".encode("gbk")), gb18030_text("Größe über".encode("latin-1"))
    ('房间很干净', None)
    """
    found = legacy_chinese(data)
    return found[1] if found is not None and found[0] == "gb18030" else None


def legacy_chinese(data: bytes) -> tuple[str, str] | None:
    """(codec, text) when `data` reads as GBK/GB18030 or Big5 Chinese, else None.

    Most Big5 byte pairs are valid GB18030 too (as rare characters: 這 reads as 硂), and
    GBK text often decodes as Big5, so both are tried and the decoding whose non-ASCII
    characters are more often common ones wins (GB18030 on a tie). For the error path only:
    only the first `_JUDGED` characters are decoded and returned (the messages show a few).

    >>> legacy_chinese("價格太貴".encode("cp950")), legacy_chinese("价格太贵".encode("gbk"))
    (('cp950', '價格太貴'), ('gb18030', '价格太贵'))
    """
    gb = _gb18030_candidate(data)
    big5 = _big5_candidate(data)
    if big5 is None:
        return None if gb is None else ("gb18030", gb)
    if gb is not None and common_share(gb) >= common_share(big5[1]):
        return "gb18030", gb
    return big5


def _gb18030_candidate(data: bytes) -> str | None:
    """`data` as GB18030 when most of its Han characters have a high second byte."""
    text = _sample(data, "gb18030")
    if text is None:
        return None
    han = HAN.findall(text)
    high = sum(1 for ch in han if ch.encode("gb18030")[1] >= 0x80)
    return text if han and high >= 0.8 * len(han) else None


def _big5_candidate(data: bytes) -> tuple[str, str] | None:
    """(codec, text) for the first Big5 codec that decodes `data` into mostly common text."""
    for codec in BIG5_CODECS:
        text = _sample(data, codec)
        if text is None:
            continue
        if HAN.search(text) and common_share(text) >= 0.5:
            return codec, text
        return None  # decoded, but not into Chinese: HKSCS would read it no better
    return None


def _sample(data: bytes, codec: str) -> str | None:
    """The first `_JUDGED` characters' worth of `data` decoded as `codec`, None if invalid.

    Only the judged sample is decoded (a whole vector file was decoded three times on the
    error path); a character cut at the sample's end is left out rather than an error.
    """
    decoder = codecs.getincrementaldecoder(codec)()
    try:
        return decoder.decode(data[: _JUDGED * _MAX_CHAR_BYTES], final=False)[:_JUDGED]
    except UnicodeDecodeError:
        return None


def common_share(text: str) -> float:
    """The share of `text`'s non-ASCII characters that Chinese text is mostly made of.

    Common Han characters (GB2312's level 1, the 3,755 most used simplified ones, or Big5's
    level 1, the 5,401 most used traditional ones) and CJK or full-width punctuation. Bytes
    read in the wrong one of the two encodings give rare characters, kana, bopomofo, box
    drawing or private-use characters instead.
    """
    wide = [ch for ch in text[:_JUDGED] if ord(ch) > 0x7F and not ch.isspace()]
    if not wide:
        return 0.0
    return sum(map(_common, wide)) / len(wide)


def _common(ch: str) -> bool:
    """Whether `ch` is CJK punctuation or a level-1 character of GB2312 or Big5.

    General Punctuation (U+2000-206F) counts: GB2312's row-1 symbols … and — are how GBK
    text writes its ellipses and dashes (the same bytes read as Big5 give ＃ and 〞).
    """
    if "\u2000" <= ch <= "\u206f" or "\u3000" <= ch <= "\u303f" or "\uff01" <= ch <= "\uff5e":
        return True
    return _level_one(ch, "gb2312", 0xB0A1, 0xD7FE) or _level_one(ch, "big5", 0xA440, 0xC67E)


def _level_one(ch: str, codec: str, first: int, last: int) -> bool:
    """Whether `ch` is encoded in `codec` within [first, last] (its common characters)."""
    try:
        code = int.from_bytes(ch.encode(codec), "big")
    except UnicodeEncodeError:
        return False
    return first <= code <= last


def gb18030_advice(path: str | os.PathLike[str], data: bytes, what: str = "word lists") -> str:
    r"""How to convert a text file that is not UTF-8 but reads as GB18030 or Big5 Chinese.

    Chinese stopword lists, jieba user dictionaries and files made with Windows tools often
    come in GBK (which GB18030 extends), traditional ones in Big5; vecgraft reads them as
    UTF-8 only. "" when `data`
    does not read so. `what` names such files in the message.

    >>> gb18030_advice("stop.txt", "的\n了\n".encode("gbk"))  # doctest: +ELLIPSIS
    "; it reads as GB18030 Chinese ('的 了'), ...: convert it, e.g. iconv -f GB18030 ..."
    """
    found = legacy_chinese(data)
    if found is None:
        return ""
    (name, iconv_name), words = CODEC_NAMES[found[0]], found[1].split()
    shown = repr(" ".join(words[:5])) + (", ..." if len(words) > 5 else "")
    return (
        f"; it reads as {name} Chinese ({shown}), an encoding Chinese {what} often "
        f"come in: convert it, e.g. {iconv_line(path, iconv_name)}"
    )


# how to decompress a file to stdout, and compress stdin again, by its suffix
_PIPES = {".gz": ("zcat", "gzip"), ".bz2": ("bzcat", "bzip2"), ".xz": ("xzcat", "xz"),
          ".zip": ("unzip -p", "")}  # fmt: skip


def iconv_line(path: str | os.PathLike[str], source: str = "GB18030") -> str:
    """The shell line converting `path` from `source` to UTF-8, through its compression.

    iconv run on a gzip file's bytes converts nothing (the advice said `iconv ...
    vec.txt.gz > vec.txt-utf8.gz`): a compressed file is decompressed, converted and
    compressed again (a zip file is written out plain).

    >>> iconv_line("stop.txt")
    'iconv -f GB18030 -t UTF-8 stop.txt > stop-utf8.txt'
    >>> iconv_line("vec.txt.gz")
    'zcat vec.txt.gz | iconv -f GB18030 -t UTF-8 | gzip > vec-utf8.txt.gz'
    """
    p = Path(path)
    convert = f"iconv -f {source} -t UTF-8"
    pipe = _PIPES.get(p.suffix.lower())
    if pipe is None:
        return f"{convert} {p} > {p.stem}-utf8{p.suffix}"
    inner = Path(p.stem)
    (cat, pack), out = pipe, f"{inner.stem}-utf8{inner.suffix}"
    if not pack:
        return f"{cat} {p} | {convert} > {out}"
    return f"{cat} {p} | {convert} | {pack} > {out}{p.suffix}"
