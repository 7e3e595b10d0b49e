"""Where the standard intrinsic benchmarks live and how to read them.

WordSim353, SimLex-999 and Google's analogy questions ship inside gensim's installed test
data, so vecgraft finds them there instead of downloading anything. The Chinese CA8 analogy
sets (Li et al., ACL 2018; Apache-2.0, see `vecgraft/data/CA8_NOTICE.txt`) ship inside
vecgraft itself.
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from vecgraft._util.extras import require
from vecgraft.errors import DataError, Hint, Opt

# short name -> file name inside gensim's test data
BUILTIN: dict[str, str] = {
    "wordsim353": "wordsim353.tsv",
    "simlex999": "simlex999.txt",
    "google": "questions-words.txt",
}

# short name -> file name inside vecgraft's own package data
PACKAGED: dict[str, str] = {
    "ca8-morphological": "ca8_morphological.txt",
    "ca8-semantic": "ca8_semantic.txt",
}

# the built-in similarity sets of each language (`vecgraft intrinsic --lang`)
SIMILARITY_SETS: dict[str, tuple[str, ...]] = {"en": ("wordsim353", "simlex999")}

# the built-in analogy sets of each language (`vecgraft intrinsic --lang`)
ANALOGY_SETS: dict[str, tuple[str, ...]] = {
    "en": ("google",),
    "zh": ("ca8-morphological", "ca8-semantic"),
}

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def is_ca8(name_or_path: str | os.PathLike[str]) -> bool:
    """Whether a dataset is one of the built-in CA8 sets (their default convention is ca8).

    By name, or a file holding the same bytes (the authors' `semantic.txt` downloaded, or
    the packaged file by its path): by path it was scored by gensim's rules, by name by
    CA8's, 30/2,077 against 30/2,372 for the same questions.
    """
    name = os.fspath(name_or_path)
    if name in PACKAGED:
        return True
    path = Path(name)
    try:
        size = path.stat().st_size if path.is_file() else -1
    except OSError:
        return False
    return any(
        (DATA_DIR / packaged).stat().st_size == size
        and (DATA_DIR / packaged).read_bytes() == path.read_bytes()
        for packaged in PACKAGED.values()
    )


def dataset_path(name_or_path: str | os.PathLike[str]) -> Path:
    """Resolve a built-in name (`wordsim353`, `simlex999`, `google`, `ca8-*`) or a file path."""
    name = os.fspath(name_or_path)
    if name in PACKAGED:
        return DATA_DIR / PACKAGED[name]
    if name in BUILTIN:
        utils = require("gensim.test.utils", "train", feature=f"the built-in {name} dataset")
        return Path(utils.datapath(BUILTIN[name]))
    path = Path(name)
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a dataset file")
    if not path.is_file():
        known = ", ".join([*BUILTIN, *PACKAGED])
        raise DataError(f"{path}: no such file (built-in datasets: {known})")
    return path


def _text(p: Path) -> io.StringIO:
    """A dataset file's text, read as a text-mode file reads it, without a UTF-8 BOM.

    Text that is not UTF-8 (a Latin-1 export, a binary file given by mistake) is a DataError
    naming the line, not a UnicodeDecodeError halfway through the file.
    """
    from vecgraft.text.utf8 import read_utf8

    return io.StringIO(read_utf8(p, "benchmark file"), newline=None)


@dataclass(frozen=True)
class WordPair:
    """One human similarity judgement, with the line it came from (words as written).

    Words keep the file's Unicode form: the lookup tries that form before NFC (gensim's row
    where gensim finds the word).
    """

    a: str
    b: str
    score: float
    line: int


def read_pairs(path: str | os.PathLike[str], delimiter: str | None = "\t") -> list[WordPair]:
    """Read `word1 word2 score` lines, as gensim's `evaluate_word_pairs` does.

    Lines that are blank or start with `#` are comments; lines that do not split into
    exactly three fields with a numeric score are skipped (gensim logs and skips them too;
    `scan_pairs` also returns their numbers). With `delimiter=None` fields are split on any
    whitespace.
    """
    return scan_pairs(path, delimiter)[0]


def scan_pairs(
    path: str | os.PathLike[str], delimiter: str | None = "\t"
) -> tuple[list[WordPair], list[int]]:
    """`read_pairs`' pairs and the numbers of the lines it skipped as not `word1 word2 score`.

    A UTF-8 byte-order mark is not part of the first word (gensim keeps it there, which makes
    the first pair silently out of vocabulary). A score that is not finite (`nan`, `inf`) is
    a DataError naming the line: gensim turns the whole correlation into NaN.
    """
    p = dataset_path(path)
    pairs: list[WordPair] = []
    skipped: list[int] = []
    with _text(p) as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split(delimiter)
            try:
                score = float(fields[2]) if len(fields) == 3 else None
            except ValueError:
                score = None
            if score is None:
                skipped.append(line_no)
                continue
            if not math.isfinite(score):
                shown = fields[2].strip()
                raise DataError(f"{p}:{line_no}: score {shown!r} is not a finite number")
            pairs.append(WordPair(fields[0], fields[1], score, line_no))
    return pairs, skipped


def pairs_line_error(
    path: str | os.PathLike[str], line_numbers: list[int], delimiter: str | None = "\t"
) -> DataError:
    """Why lines of a pairs file are not `word1 word2 score`, shown on one of them.

    `line_numbers` are lines `scan_pairs` skipped; the first is shown, unless it is a header
    (three fields, no numeric score) and the next one is not. The hint names the delimiter that
    would split the line into three fields, when one would.
    """
    p = dataset_path(path)
    with _text(p) as fh:
        wanted = set(line_numbers[:2])
        lines = {n: text.rstrip("\r\n") for n, text in enumerate(fh, 1) if n in wanted}
    line_no = line_numbers[0]
    if len(line_numbers) > 1:
        second = line_numbers[1]
        if len(lines[line_no].split(delimiter)) == 3 != len(lines[second].split(delimiter)):
            line_no = second  # a header line: the next skipped line says more
    line = lines[line_no]
    fields = line.split(delimiter)
    sep = "any whitespace" if delimiter is None else repr(delimiter)
    expected = f"expected 3 (word1, word2, score): {line[:80]!r}"
    if len(fields) == 3:
        return DataError(
            f"{p}:{line_no}: the score {fields[2].strip()[:40]!r} is not a number "
            f"(word1, word2, score separated by {sep})"
        )
    many = "field" if len(fields) == 1 else "fields"
    message = f"{p}:{line_no}: {len(fields)} {many} separated by {sep}, {expected}"
    if delimiter != "," and len(line.split(",")) == 3:
        return DataError(
            message, hint=Hint("; pass {} for comma-separated values", Opt("delimiter", "','", ","))
        )
    if delimiter is not None and len(line.split()) == 3:
        return DataError(
            message,
            hint=Hint("; pass {} to split on any whitespace", Opt("delimiter", "None", "any")),
        )
    return DataError(message)


@dataclass(frozen=True)
class Question:
    """One analogy question `a : b :: c : expected` (words as written, as in `WordPair`)."""

    section: str
    a: str
    b: str
    c: str
    expected: str
    line: int


def read_analogies(path: str | os.PathLike[str]) -> list[Question]:
    """Read Google's `questions-words.txt` format: `: section` headers, then 4 words a line.

    A question before any section header is a DataError naming the line (as in gensim);
    lines that are not four words are skipped (`scan_analogies` also returns their numbers).
    CA8 uses the same format. The parsed questions are cached by path, size and modification
    time (a new list each call).
    """
    return scan_analogies(path)[0]


def scan_analogies(path: str | os.PathLike[str]) -> tuple[list[Question], list[int]]:
    """`read_analogies`' questions and the numbers of the non-blank lines it skipped."""
    p = dataset_path(path)
    stat = p.stat()
    questions, skipped = _read_analogies(p.resolve(), stat.st_size, stat.st_mtime_ns)
    return list(questions), list(skipped)


@lru_cache(maxsize=16)
def _read_analogies(
    p: Path, size: int, mtime_ns: int
) -> tuple[tuple[Question, ...], tuple[int, ...]]:
    """Parse once per file version; `size` and `mtime_ns` are part of the cache key."""
    questions: list[Question] = []
    skipped: list[int] = []
    section: str | None = None
    with _text(p) as fh:  # without its BOM, which would hide the first ': section'
        for line_no, line in enumerate(fh, 1):
            if line.startswith(": "):
                section = line.lstrip(": ").strip()
                continue
            words = line.split()
            if len(words) != 4:
                if words:
                    skipped.append(line_no)
                continue
            if section is None:
                raise DataError(f"{p}:{line_no}: question before the first ': section' header")
            questions.append(Question(section, words[0], words[1], words[2], words[3], line_no))
    return tuple(questions), tuple(skipped)


def no_questions_error(path: str | os.PathLike[str]) -> DataError:
    """A file with no analogy question: say what the format is and show the first line."""
    p = dataset_path(path)
    with _text(p) as fh:
        lines = [(n, text.rstrip("\r\n")) for n, text in enumerate(fh, 1) if text.strip()]
    first = next(((n, t) for n, t in lines if not t.startswith(": ")), None)
    expected = "expected ': section' lines, then lines of four words (a b c expected)"
    if first is None:
        why = "the file is empty" if not lines else "no line but ': section' ones"
        return DataError(f"{p}: no analogy questions ({why}); {expected}")
    line_no, text = first
    return DataError(f"{p}: no analogy questions; {expected}: line {line_no} is {text[:80]!r}")
