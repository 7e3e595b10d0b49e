"""Telling GBK/GB18030 Chinese from other bytes that are not UTF-8, and how to convert them.

Here rather than in `vecgraft.text.zh` because the io stage names the encoding too: a GBK
vector file failed with "invalid UTF-8 ... pass --unicode-errors replace", advice that turns
every Chinese word into replacement characters.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

# a Han (Chinese) character: CJK unified ideographs, extensions A-G, compatibility
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


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


def gb18030_advice(path: str | os.PathLike[str], data: bytes, what: str = "word lists") -> str:
    r"""How to convert a text file that is not UTF-8 but reads as GB18030 Chinese.

    Chinese stopword lists, jieba user dictionaries and files made with Windows tools often
    come in GBK (which GB18030 extends); vecgraft reads them as UTF-8 only. "" when `data`
    does not read so. `what` names such files in the message.

    >>> gb18030_advice("stop.txt", "的\n了\n".encode("gbk"))  # doctest: +ELLIPSIS
    "; it reads as GB18030 Chinese ('的 了'), ...: convert it, e.g. iconv -f GB18030 ..."
    """
    text = gb18030_text(data)
    if text is None:
        return ""
    words = text.split()
    shown = repr(" ".join(words[:5])) + (", ..." if len(words) > 5 else "")
    return (
        f"; it reads as GB18030 Chinese ({shown}), the encoding Chinese {what} often "
        f"come in: convert it, e.g. {iconv_line(path)}"
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
