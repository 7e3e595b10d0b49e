"""Row bookkeeping shared by the binary readers.

Decoding words, duplicates, vocab filtering, non-finite values, and the load facts recorded
in `Vectors.metadata`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vecgraft._util.console import progress_meter
from vecgraft._util.gb18030 import gb18030_text
from vecgraft._util.stack import caller_stacklevel
from vecgraft.errors import AnyOf, FormatError, Hint, Opt
from vecgraft.io._textparse import UNICODE_HINT as _UNICODE_HINT
from vecgraft.io.base import LoadOptions, Source

# How many example words a report keeps (duplicates, skipped rows): enough to recognise a
# problem without copying a large list into every cache file's metadata.
_EXAMPLES = 5


@dataclass
class RowStats:
    """Facts about a load that end up in `Vectors.metadata`."""

    duplicates: int = 0
    duplicate_examples: list[str] = field(default_factory=list)
    skipped_rows: int = 0
    unicode_replacements: int = 0
    nonfinite_rows: int = 0

    def to_metadata(self) -> dict[str, Any]:
        """Only the non-zero facts, JSON-able."""
        out: dict[str, Any] = {}
        if self.duplicates:
            out["duplicates"] = self.duplicates
            out["duplicate_examples"] = self.duplicate_examples
        if self.skipped_rows:
            out["skipped_rows"] = self.skipped_rows
        if self.unicode_replacements:
            out["unicode_replacements"] = self.unicode_replacements
        if self.nonfinite_rows:
            out["nonfinite_rows"] = self.nonfinite_rows
        return out


# A binary file's words cannot be converted with iconv: decoding them is the fix, and
# replacing bytes can merge distinct words into one (cp852_fasttext.bin: 171 rows -> 165).
_ENCODING = Opt("encoding", "NAME (the file's encoding, e.g. 'cp852' or 'latin-1', as "
               "gensim's loaders take it)", "NAME", flag_key="binary_encoding")  # fmt: skip
ENCODING_HINT = Hint(
    "; pass {}",
    AnyOf(
        _ENCODING,
        Opt("unicode_errors", "'replace' (undecodable bytes become U+FFFD, which can merge "
            "distinct words)", "replace"),
    ),
)  # fmt: skip
# the same, where the read takes an encoding alone: `finetune --model hf --graft-vectors`
# has --unicode-errors for its --vectors, which its graft's read does not apply
ENCODING_ONLY_HINT = Hint("; pass {}", _ENCODING)


def decode_word(
    raw: bytes,
    options: LoadOptions,
    source: Source,
    offset: int,
    stats: RowStats,
    *,
    takes_encoding: bool = False,
) -> str:
    """The word in `options.encoding` under `options.unicode_errors`.

    Strict failures name the byte offset. `takes_encoding`: the format reads `encoding=`
    (fastText `.bin`), so the error suggests it; the others read UTF-8 only.
    """
    try:
        return raw.decode(options.encoding)
    except UnicodeDecodeError as exc:
        if options.unicode_errors == "strict":
            gbk = _gbk_words(raw, takes_encoding)
            hint = ENCODING_HINT if takes_encoding else _UNICODE_HINT
            raise FormatError(
                f"word {raw[:40]!r} is not valid {_codec_label(options.encoding)} "
                f"({exc.reason}){gbk}",
                path=source.path,
                hint=None if gbk else hint,
                offset=offset,
            ) from exc
        stats.unicode_replacements += 1
        return raw.decode(options.encoding, options.unicode_errors)


def _codec_label(encoding: str) -> str:
    """'UTF-8' for utf-8 (as the messages always said), else the codec's name."""
    return "UTF-8" if encoding == "utf-8" else encoding


def _gbk_words(raw: bytes, takes_encoding: bool) -> str:
    """Advice when a binary file's word reads as GB18030 Chinese, else "".

    Why: the usual hint (unicode_errors='replace') makes every Chinese word '??', and iconv
    cannot convert a binary file; `encoding='gb18030'` reads a fastText `.bin`, gensim's
    loaders the other binary formats (save it again: its words are then UTF-8).
    """
    text = gb18030_text(raw)
    if text is None:
        return ""
    fix = (
        "load it with vecgraft.load(..., encoding='gb18030')"
        if takes_encoding
        else "load it with gensim's encoding='gb18030' and save it again (its words are then UTF-8)"
    )
    return (
        f"; it reads as GB18030 (GBK) Chinese ({text[:20]!r}): the file's words are GBK, "
        f"which iconv cannot fix in a binary file; {fix}"
    )


def warn_unicode(count: int, options: LoadOptions, path: Path) -> None:
    """Warn that `count` words were not valid UTF-8 and were decoded under a lenient policy."""
    if count:
        warnings.warn(
            f"{path}: {count} words had invalid UTF-8 "
            f"(unicode_errors={str(options.unicode_errors)!r})",
            stacklevel=caller_stacklevel(),
        )


def select_rows(
    words: Sequence[str], options: LoadOptions, stats: RowStats, path: Path | None = None
) -> list[int]:
    """Rows to keep: the first occurrence of each word (as gensim does) that the vocab wants.

    Dropped duplicates are counted in `stats` and, given the file's `path`, warned about as
    the text readers do (a silently shorter vocabulary surprises later).
    """
    if options.vocab is None and len(set(words)) == len(words):
        return list(range(len(words)))  # the common case, decided at C speed
    seen: set[str] = set()
    keep: list[int] = []
    for i, w in enumerate(words):
        if w in seen:
            stats.duplicates += 1
            if len(stats.duplicate_examples) < _EXAMPLES:
                stats.duplicate_examples.append(w)
            continue
        seen.add(w)
        keep.append(i)
    if options.vocab is not None:  # the words' keys made in bulk (`wanted_mask`)
        wanted = options.wanted_mask([words[i] for i in keep]).tolist()
        keep = [i for i, w in zip(keep, wanted) if w]
    if stats.duplicates and path is not None:
        warnings.warn(
            f"{path}: {stats.duplicates} duplicate words (first: {stats.duplicate_examples[0]!r}); "
            "kept the first row of each",
            stacklevel=caller_stacklevel(),
        )
    return keep


def drop_nonfinite(
    matrix: np.ndarray,
    words: list[str],
    options: LoadOptions,
    stats: RowStats,
    where: Callable[[int], tuple[int | None, int | None]],
    source: Source,
    why: Callable[[int], str | None] | None = None,
    file_rows: Sequence[int] | None = None,
) -> tuple[list[str], np.ndarray]:
    """Reject (or with bad_rows='skip', drop) rows holding NaN/Inf unless allow_nonfinite.

    `where(row)` gives (line, byte offset) of a row for the error message, and `why(row)`
    (when given and not None) what in the row is not finite, for the message.
    `file_rows[row]` is the row's 0-based place in the file when a filter (`select_rows`'s
    keep) dropped rows before it. Why: with vocab= the messages numbered the rows kept,
    "row 1" of the file's row 3, where the text readers name the file's line.
    """
    if options.allow_nonfinite or matrix.size == 0:
        return words, matrix
    bad = nonfinite_rows(matrix)
    if bad.size == 0:
        return words, matrix
    stats.nonfinite_rows = int(bad.size)
    if options.bad_rows == "skip":  # warned as the text readers warn of skipped rows
        stats.skipped_rows += int(bad.size)
        warnings.warn(
            f"{source.path}: skipped {bad.size} rows holding NaN or Inf "
            f"(first: {words[int(bad[0])]!r}, row {_file_row(int(bad[0]), file_rows)})",
            stacklevel=caller_stacklevel(),
        )
        keep = np.ones(len(words), dtype=bool)
        keep[bad] = False
        return [w for w, k in zip(words, keep) if k], np.asarray(matrix)[keep]
    row = int(bad[0])
    line, offset = where(row)
    reason = None if why is None else why(row)
    what = "holds NaN or Inf" if reason is None else f"holds NaN or Inf: {reason}"
    raise FormatError(
        f"vector of {words[row]!r} (row {_file_row(row, file_rows)}) {what} ({bad.size} such rows)",
        path=source.path,
        hint=Hint(
            "; pass {} to keep them or {} to drop them",
            Opt("allow_nonfinite", "True"),
            Opt("bad_rows", "'skip'"),
        ),
        line=line,
        offset=offset,
    )


def _file_row(row: int, file_rows: Sequence[int] | None) -> int:
    """The 1-based row of the file that kept row `row` (0-based) was read from."""
    return (row if file_rows is None else int(file_rows[row])) + 1


def nonfinite_rows(matrix: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Indices of rows with a NaN/Inf, checked in chunks so a memmap is not copied whole."""
    found = [
        start + np.flatnonzero(~np.isfinite(matrix[start : start + chunk]).all(axis=1))
        for start in range(0, matrix.shape[0], chunk)
    ]
    return np.concatenate(found) if found else np.empty(0, dtype=np.int64)


# seconds between two plain progress lines of a load when stderr is no terminal
LOAD_LINE_SECONDS = 30.0


def progress_bar(
    options: LoadOptions,
    total: int | None,
    desc: str,
    unit: str = "row",
    *,
    in_bytes: bool = False,
    disable: bool | None = None,
) -> Any:
    """A tqdm bar on a terminal or in a notebook (progress=None), always (True) or never (False).

    With progress=None and stderr a pipe or log file (`plain_progress_lines`), a plain line every
    `LOAD_LINE_SECONDS` instead: tqdm stays silent there, so `vecgraft build ... 2> log`
    showed nothing for the minutes a large file takes. `disable` (tqdm's) overrides.
    """
    return progress_meter(
        options.progress, total, desc, interval=LOAD_LINE_SECONDS, unit=unit,
        in_bytes=in_bytes, disable=disable, unit_scale=True, leave=False,
    )  # fmt: skip
