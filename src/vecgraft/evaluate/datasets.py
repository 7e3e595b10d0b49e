"""Where the standard intrinsic benchmarks live and how to read them.

WordSim353, SimLex-999 and Google's analogy questions ship inside gensim's installed test
data, so vecgraft finds them there instead of downloading anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vecgraft._util.extras import require
from vecgraft.errors import DataError

# short name -> file name inside gensim's test data
BUILTIN: dict[str, str] = {
    "wordsim353": "wordsim353.tsv",
    "simlex999": "simlex999.txt",
    "google": "questions-words.txt",
}


def dataset_path(name_or_path: str | os.PathLike[str]) -> Path:
    """Resolve a built-in name (`wordsim353`, `simlex999`, `google`) or a file path."""
    name = os.fspath(name_or_path)
    if name in BUILTIN:
        utils = require("gensim.test.utils", "train", feature=f"the built-in {name} dataset")
        return Path(utils.datapath(BUILTIN[name]))
    path = Path(name)
    if not path.is_file():
        known = ", ".join(BUILTIN)
        raise DataError(f"{path}: no such file (built-in datasets: {known})")
    return path


@dataclass(frozen=True)
class WordPair:
    """One human similarity judgement, with the line it came from."""

    a: str
    b: str
    score: float
    line: int


def read_pairs(path: str | os.PathLike[str], delimiter: str | None = "\t") -> list[WordPair]:
    """Read `word1 word2 score` lines, as gensim's `evaluate_word_pairs` does.

    Lines that are empty or start with `#` are comments; lines that do not split into
    exactly three fields with a numeric score are skipped (gensim logs and skips them too).
    With `delimiter=None` fields are split on any whitespace.
    """
    p = dataset_path(path)
    pairs: list[WordPair] = []
    with open(p, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line or line.startswith("#"):
                continue
            fields = line.split(delimiter)
            if len(fields) != 3:
                continue
            try:
                score = float(fields[2])
            except ValueError:
                continue
            pairs.append(WordPair(fields[0], fields[1], score, line_no))
    return pairs


@dataclass(frozen=True)
class Question:
    """One analogy question `a : b :: c : expected`."""

    section: str
    a: str
    b: str
    c: str
    expected: str
    line: int


def read_analogies(path: str | os.PathLike[str]) -> list[Question]:
    """Read Google's `questions-words.txt` format: `: section` headers, then 4 words a line.

    A question before any section header is a DataError naming the line (as in gensim);
    lines that are not four words are skipped.
    """
    p = dataset_path(path)
    questions: list[Question] = []
    section: str | None = None
    with open(p, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if line.startswith(": "):
                section = line.lstrip(": ").strip()
                continue
            words = line.split()
            if len(words) != 4:
                continue
            if section is None:
                raise DataError(f"{p}:{line_no}: question before the first ': section' header")
            questions.append(Question(section, words[0], words[1], words[2], words[3], line_no))
    return questions
