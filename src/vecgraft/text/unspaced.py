"""Scripts written without spaces between words, and whether a tokenizer left them whole.

Chinese, Japanese, Thai, Lao, Khmer and Myanmar (Burmese) put no space between words. The
regex and whitespace tokenizers cut only at spaces and punctuation, so such text comes out
as whole clauses, nearly each a token seen once: a network's vocabulary of one-off tokens
learns nothing that carries to a new text (the linear model's character n-grams still do).
`unsegmented_warnings` says so, names the script and what segments it.

The measure is the share of the text's characters in tokens of the script (a clause is one
token however long, so a share of tokens would hide half a corpus) and those tokens' mean
length, against about twice the length of the script's words (Chinese: jieba's words
average about 2 characters; the other lengths are estimates from the scripts' spelling, not
measured on corpora).
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import islice

from vecgraft._util.extras import install_hint
from vecgraft.text.zh import HAN

# kana (hiragana, katakana, halfwidth katakana) but not the katakana middle dot U+30FB,
# which Chinese text also writes between the parts of foreign names
KANA = re.compile(r"[\u3041-\u309f\u30a0-\u30fa\u30fc-\u30ff\u31f0-\u31ff\uff66-\uff9f]")


@dataclass(frozen=True)
class Unspaced:
    """A script written without spaces, as the warning describes it.

    Attributes:
        name: the language the warning names ("Japanese").
        chars: a character of the script (a token holding one counts as this script's).
        clause_length: tokens averaging this many characters (code points, vowel signs and
            tone marks included) or more are clauses, not words: about twice a word.
        advice: what to use instead, after "use ": named for Python (`Tokenizer(...)`) and
            the command line (`--tokenizer ...`) alike, as `build_vocab` warns it too.
    """

    name: str
    chars: re.Pattern[str]
    clause_length: float
    advice: str


def _segment_first(language: str, tools: str) -> str:
    return (
        f"the char tokenizer (Tokenizer('char') / --tokenizer char), or segment the texts "
        f"into words beforehand with a {language} segmenter ({tools}), separated by spaces, "
        "and use the whitespace one"
    )


# Checked in this order: a token with kana is Japanese, one with Han characters only is
# Chinese (`unsegmented_warnings` counts it as Japanese in mostly Japanese text).
UNSPACED: tuple[Unspaced, ...] = (
    Unspaced("Japanese", KANA, 4.0, _segment_first("Japanese", "e.g. fugashi or SudachiPy")),
    Unspaced(
        "Chinese",
        HAN,
        4.0,  # jieba's words average about 2 characters
        "the jieba tokenizer (Tokenizer('jieba') / --tokenizer jieba) or char",
    ),
    # Thai and Lao words: about 4 code points, vowel signs and tone marks included
    Unspaced("Thai", re.compile(r"[\u0e00-\u0e7f]"), 8.0, _segment_first("Thai", "e.g. PyThaiNLP")),
    Unspaced("Lao", re.compile(r"[\u0e80-\u0eff]"), 8.0, _segment_first("Lao", "e.g. LaoNLP")),
    Unspaced(
        "Khmer",
        re.compile(r"[\u1780-\u17ff\u19e0-\u19ff]"),
        10.0,  # stacked consonants are two code points more (coeng + consonant)
        _segment_first("Khmer", "e.g. khmer-nltk"),
    ),
    Unspaced(
        "Myanmar",
        re.compile(r"[\u1000-\u109f\ua9e0-\ua9ff\uaa60-\uaa7f]"),
        10.0,  # a syllable is often 4 to 6 code points (vowel signs, asat, visarga)
        _segment_first("Myanmar (Burmese)", "e.g. pyidaungsu"),
    ),
)
UNSPLIT_SHARE = 0.3  # of the characters of token occurrences, in tokens of one script ...
MOSTLY = 0.8  # from this share the texts are "Thai", below it "partly Thai (40% of the text)"
KINDS = ("regex", "whitespace")  # the tokenizers that do not segment (jieba, char do)


def _script(token: str) -> Unspaced | None:
    if token.isascii():
        return None
    for script in UNSPACED:
        if script.chars.search(token):
            return script
    return None


def unsegmented_warnings(counts: Iterable[tuple[str, int]], kind: str) -> list[str]:
    """What a `kind` tokenizer left unsegmented in text of these token counts: one line a script.

    Args:
        counts: (token, occurrences) pairs, e.g. `vocab.counts.items()`.
        kind: the tokenizer's kind; only `regex` and `whitespace` are checked.

    Returns:
        A message (without a "WARNING:" prefix) for each script written without spaces that
        holds at least `UNSPLIT_SHARE` of the text in tokens averaging its `clause_length`
        or more; [] when there is none.

    Example:
        >>> said = unsegmented_warnings({"อาหารร้านนี้อร่อยมาก": 3, "ok": 1}.items(), "regex")
        >>> said[0].split(":")[0]
        'the texts are Thai, but the regex tokenizer does not segment them'
    """
    return [
        f"the texts are {what}, but the {kind} tokenizer does not segment them: their "
        f"tokens average {mean:.1f} characters (whole clauses); use {script.advice}"
        for script, what, mean, _share in _unsegmented(counts, kind)
    ]


def unsegmented_scripts(counts: Iterable[tuple[str, int]], kind: str) -> list[str]:
    """The names of the scripts `unsegmented_warnings` warns of ("Chinese", "Thai"), in order.

    For a caller that acts on the verdict (finetune segments Chinese with jieba when no
    tokenizer is named) rather than parsing the message.

    Example:
        >>> unsegmented_scripts({"这家酒店的服务非常好": 3, "ok": 1}.items(), "regex")
        ['Chinese']
    """
    return [script.name for script, _what, _mean, _share in _unsegmented(counts, kind)]


def _unsegmented(
    counts: Iterable[tuple[str, int]], kind: str
) -> list[tuple[Unspaced, str, float, float]]:
    """(script, its name in the warning, mean token length, share) of each unsegmented one.

    The share is of the text's characters in the script's tokens (`chinese_word_share`).
    """
    if kind not in KINDS:
        return []
    chars = 0
    tally: dict[str, list[int]] = {}  # script name -> [occurrences, characters]
    for token, n in counts:
        chars += n * len(token)
        script = _script(token)
        if script is not None:
            seen = tally.setdefault(script.name, [0, 0])
            seen[0] += n
            seen[1] += n * len(token)
    # Japanese writes some clauses in Han characters alone: in mostly Japanese text they
    # are Japanese (and jieba, the Chinese advice, would be wrong for them)
    if "Japanese" in tally and "Chinese" in tally and tally["Japanese"][1] > tally["Chinese"][1]:
        han = tally.pop("Chinese")
        tally["Japanese"] = [tally["Japanese"][0] + han[0], tally["Japanese"][1] + han[1]]
    said: list[tuple[Unspaced, str, float, float]] = []
    for script in UNSPACED:
        if script.name not in tally:
            continue
        tokens, in_script = tally[script.name]
        share, mean = in_script / chars, in_script / tokens
        if share < UNSPLIT_SHARE or mean < script.clause_length:
            continue
        what = script.name if share >= MOSTLY else f"partly {script.name} ({share:.0%} of the text)"
        said.append((script, what, mean, share))
    return said


# texts read to tell whether a corpus is Chinese (`texts_are_chinese`): its first ones
CHINESE_SAMPLE = 5000
SAMPLE_TEXT_CHARS = 2000  # of each text (`chinese_sample`): a book read whole is not needed
SAMPLE_CHARS = 2_000_000  # in all: the sample's memory, whatever the corpus's texts


def chinese_sample(texts: Iterable[str]) -> list[str]:
    """The first texts of a corpus to judge with `texts_are_chinese`, bounded in size too.

    Why: `CHINESE_SAMPLE` whole texts (with one text per file, whole books) were held in
    memory for every corpus, English ones included. Each text gives its first
    `SAMPLE_TEXT_CHARS` characters, and the sample stops once `SAMPLE_CHARS` are gathered.

    Example:
        >>> [len(text) for text in chinese_sample(["好" * 5000, "ok"])]
        [2000, 2]
    """
    sample: list[str] = []
    gathered = 0
    for text in islice(texts, CHINESE_SAMPLE):
        sample.append(text[:SAMPLE_TEXT_CHARS])
        gathered += len(sample[-1])
        if gathered >= SAMPLE_CHARS:
            break
    return sample


def texts_are_chinese(texts: Sequence[str], sample: int = CHINESE_SAMPLE) -> bool:
    """Whether the regex rule leaves (the first `sample` of) `texts` as Chinese clauses.

    The verdict of the "texts are Chinese, but the regex tokenizer does not segment them"
    warning (`unsegmented_scripts`): mostly or partly Chinese, not Japanese (kana), Thai
    and the other scripts it names, whose advice is not jieba (`chinese_word_share`).
    """
    return chinese_word_share(texts, sample) is not None


def chinese_word_share(texts: Sequence[str], sample: int = CHINESE_SAMPLE) -> float | None:
    """The share of the words' characters in Chinese clauses where `texts_are_chinese`.

    (Of the first `sample` of `texts`, tokenized by the regex rule.) None where the texts
    are not Chinese by that verdict. One pass gives both the verdict and the share that
    `chinese_why` says: the share was counted again, the sample tokenized a second time.
    A sample without a Han character is not tokenized at all: every run without a
    tokenizer asks, English ones too.
    """
    from collections import Counter

    from vecgraft.text.tokenize import Tokenizer

    head = texts[:sample]
    if not any(HAN.search(text) for text in head):  # English: no tokenizing (~0.4 s a run)
        return None
    tokenize = Tokenizer("regex")
    counts = Counter(token for text in head for token in tokenize(text))
    said = _unsegmented(counts.items(), "regex")
    return next((share for script, _what, _mean, share in said if script.name == "Chinese"), None)


def chinese_row_share(texts: Sequence[str], sample: int = CHINESE_SAMPLE) -> float:
    """The share of (the first `sample` of) `texts` that hold a Han character and no kana."""
    head = texts[:sample]
    rows = sum(1 for text in head if _chinese_row(text))
    return rows / len(head) if head else 0.0


def _chinese_row(text: str) -> bool:
    """Whether `text` is a Chinese row: a Han character and no kana.

    Kana: Japanese writes Han characters too, and its rows are not Chinese.
    """
    return HAN.search(text) is not None and KANA.search(text) is None


def chinese_why(texts: Sequence[str], said: str, rows: str, words: float) -> str:
    """Why jieba was chosen: `said` ("the training texts are Chinese"), or the Chinese share.

    Where the Chinese rows are under `MOSTLY` of `texts` (38% Chinese, 62% English) the
    line says "38% of {rows} are Chinese": "the training texts are Chinese" misled, though
    jieba is still the choice (it keeps the English words whole). Only the words change;
    the choice is `texts_are_chinese`'s, which weighs the words' characters (`words`: the
    `chinese_word_share` of `texts`): where the Chinese rows round to 0% (one long Chinese
    text among 299 English ones: "0% ... are Chinese" chose jieba) the line says "under
    1%" and that share, which chose it.
    """
    share = chinese_row_share(texts)
    if share >= MOSTLY:
        return said
    if f"{share:.0%}" != "0%":
        return f"{share:.0%} of {rows} are Chinese"
    return f"under 1% of {rows} are Chinese, but {words:.0%} of their words' characters are"


def jieba_installed() -> bool:
    """Whether a jieba segmenter (rjieba or jieba, as `segmenter="auto"` looks) is installed."""
    return any(importlib.util.find_spec(name) for name in ("rjieba", "jieba"))


def jieba_note(why: str, installed: bool) -> str:
    """The line that says which tokenizer texts found Chinese (`why`) get: jieba, or regex."""
    if not installed:
        return (f"Tokenizer: regex ({why}, but jieba, which would segment them, is not "
                f"installed: {install_hint('zh')})")  # fmt: skip
    return f"Tokenizer: jieba ({why}; --tokenizer regex keeps the regex rules)"


def jieba_for_chinese(why: str, log: Callable[[str], None]) -> bool:
    """Whether jieba segments texts found Chinese (`why`: "the corpus is Chinese"), said.

    Not where jieba is not installed: the run goes on with the regex rule (and its
    warning), and the log names the package.
    """
    installed = jieba_installed()
    log(jieba_note(why, installed))
    return installed
