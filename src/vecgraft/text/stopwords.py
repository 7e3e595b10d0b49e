"""Stopword lists: built-in English and Chinese ones (from `stopwordsiso`) or a user file.

A spec is what a user types: a language code ("en", "zh"), a path to a UTF-8 file with one
word per line, or an iterable of words. `resolve_stopwords` turns any of them into a frozenset.

The built-in lists are generic (search-engine) lists: they contain negations, contrast words
and intensifiers, even evaluative words (`not`, `never`, `but`, `very`, `too`, `good`;
不, 没有, 但是, 很, 太) that decide
the label of a sentiment task. `"en"`/`"zh"` therefore keep those (`SENTIMENT_WORDS`); the
full lists, which drop them too, are `"en-all"`/`"zh-all"`. The English list also holds the
clitics the default word rule splits off the contractions it names ("'s", "'re", "'m", "'d";
"n't" only in `"en-all"`), and a tokenizer matches a word with either apostrophe (' or ’).

The English list is broad: stopwordsiso's 1,298 entries (1,294 words once four garbled ones,
'herse”' and the like, are dropped) hold topic words too, `computer`, `microsoft`, `research`,
`million`, `billion`, `world`, `information`, `system`, `year`, `new`, `web`, `state`, which
can tell classes such as tech and business apart. For a narrower list pass a file with one
word per line (`stopwords="my_stopwords.txt"`, `--stopwords my_stopwords.txt`) or the words
themselves (`stopwords=["the", "a", "of"]`); `builtin_stopwords("en")` is a list to edit.

    >>> "not" in resolve_stopwords("en"), "not" in resolve_stopwords("en-all")
    (False, True)
    >>> describe_stopwords("zh")  # doctest: +ELLIPSIS
    "stopwordsiso 'zh': 768 words; ... sentiment words kept (use 'zh-all' ..."
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from vecgraft.errors import ConfigError, DataError

BUILTIN_LANGUAGES: tuple[str, ...] = ("en", "zh")
_ALL_SUFFIX = "-all"

# Words that flip, scale or carry sentiment: what "en"/"zh" kept before the negations below
# were added, when a saved tokenizer recorded only its list's name (a run saved then gets
# these back: `builtin_stopwords(..., legacy=True)`).
_KEPT_V1: dict[str, frozenset[str]] = {
    "en": frozenset(
        """not no nor never none nobody nothing neither nowhere cannot can't won't don't
        doesn't didn't isn't aren't wasn't weren't hasn't haven't hadn't shouldn't wouldn't
        couldn't mustn't needn't without against but however although though yet except
        very too so really quite most more less least much well only enough rather
        best better worst worse good great greatest like liked interesting useful important
        welcome thank thanks sorry right wrong sure unfortunately hopefully seriously
        obviously clearly""".split()  # noqa: SIM905 (a word list reads better as text)
    ),
    "zh": frozenset(
        """不 没 没有 无 非 未 别 莫 勿 不是 不要 不会 不能 并非 毫无 从不 从未 但 但是 可是
        然而 却 只是 不过 虽然 很 太 非常 最 更 极 十分 特别 比较 挺 好""".split()  # noqa: SIM905
    ),
}

# Negations come in every spelling the lists hold: reviews write "dont"/"didnt"/"cant" as
# often as "don't", and "不如" ("not as good as") negates as "不" does.
_MORE_NEGATIONS: dict[str, frozenset[str]] = {
    "en": frozenset(
        """n't ain't daren't mayn't mightn't oughtn't shan't
        dont doesnt didnt isnt arent wasnt werent hasnt havent hadnt cant wont wouldnt
        couldnt shouldnt mustnt neednt aint darent maynt mightnt oughtnt shant
        noone no-one hardly unless unlike nonetheless notwithstanding""".split()  # noqa: SIM905
    ),
    "zh": frozenset("不如 不尽 不尽然 不至于 不成 不得 除非 若非 要不是".split()),  # noqa: SIM905
}

# Kept by the "en"/"zh" lists unless "-all" is asked for.
SENTIMENT_WORDS: dict[str, frozenset[str]] = {
    lang: kept | _MORE_NEGATIONS[lang] for lang, kept in _KEPT_V1.items()
}

# The default word rule splits the contractions the English list names whole ("it's" -> "it"
# "'s", "don't" -> "do" "n't"), so their clitic pieces join it; "n't" negates (kept by "en").
CLITICS: dict[str, frozenset[str]] = {
    "en": frozenset(["'s", "'re", "'ve", "'ll", "'d", "'m", "n't"]),
}

StopwordSpec = str | os.PathLike[str] | Iterable[str]


def builtin_stopwords(lang: str, *, legacy: bool = False) -> frozenset[str]:
    """The `stopwordsiso` list for `lang` minus `SENTIMENT_WORDS`; `lang-all`: the full list.

    `legacy`: the list as it was when a saved tokenizer recorded only its name (no clitics,
    fewer words kept), so that an old run still drops what it dropped in training.
    """
    import stopwordsiso

    full = lang.lower().endswith(_ALL_SUFFIX)
    code = lang.lower().removesuffix(_ALL_SUFFIX)  # "EN" too: SENTIMENT_WORDS is keyed "en"
    if not stopwordsiso.has_lang(code):
        raise ConfigError(
            f"no built-in stopword list for {lang!r}; use a language code such as "
            f"{', '.join(BUILTIN_LANGUAGES)} or a path to a file with one word per line"
        )
    if legacy:
        words = frozenset(stopwordsiso.stopwords(code))
        return words if full else words - _KEPT_V1.get(code, frozenset())
    listed = frozenset(stopwordsiso.stopwords(code)) - _GARBLED.get(code, frozenset())
    words = listed | CLITICS.get(code, frozenset())
    return words if full else words - SENTIMENT_WORDS.get(code, frozenset())


# `stopwordsiso` entries that are broken words, not words: its English list holds 'herse”',
# 'himse”', 'itse”' and 'myse”' (herself, himself, itself and myself are there too). The
# regex, char and jieba tokenizers split a quotation mark off the word, so such an entry
# never equalled one of their tokens; it only dropped that exact string from whitespace-split
# or pretokenized text. No other list holds a word with a double quotation mark. Entries
# with spaces are kept: the Vietnamese list's "cứ việc" matches a pretokenized token.
_GARBLED: dict[str, frozenset[str]] = {"en": frozenset({"herse”", "himse”", "itse”", "myse”"})}


def describe_stopwords(spec: StopwordSpec | None) -> str:
    """One line saying what a stopword spec removes (logged by the commands that use one)."""
    if spec is None:
        return "no stopwords removed"
    words = resolve_stopwords(spec)
    if is_language_code(spec):
        code = str(spec).lower().removesuffix(_ALL_SUFFIX)
        if str(spec).lower().endswith(_ALL_SUFFIX):
            return f"stopwordsiso {code!r}: all {len(words)} words removed" + _topic_note(code)
        kept = len(builtin_stopwords(code + _ALL_SUFFIX) - words)
        return (
            f"stopwordsiso {code!r}: {len(words)} words; {kept} sentiment "
            f"words kept (use {code + _ALL_SUFFIX!r} to remove them too)" + _topic_note(code)
        )
    return f"{len(words)} stopwords from {spec if isinstance(spec, str) else 'a word list'}"


# Topic words a built-in list removes (checked by the tests): a user choosing `--stopwords en`
# for topic classification should know that they go too.
_TOPIC_EXAMPLES: dict[str, tuple[str, ...]] = {
    "en": ("computer", "research", "million", "world", "year", "new"),
}


def _topic_note(code: str) -> str:
    """What `describe_stopwords` adds for a list that holds topic words ("" for none)."""
    words = _TOPIC_EXAMPLES.get(code)
    if not words:
        return ""
    return (
        f"; it drops topic words too ({', '.join(words)}, ...): a file with one word per "
        "line gives a narrower list"
    )


def read_stopwords(path: str | os.PathLike[str]) -> frozenset[str]:
    """Words of a UTF-8 file, one per line; blank lines and lines starting with '#' are skipped.

    A leading BOM (Windows editors write one) is removed: it would glue itself to the first word.
    """
    from vecgraft.text.utf8 import read_utf8

    p = Path(path)
    try:
        text = read_utf8(p, "stopword file")
    except FileNotFoundError:
        raise DataError(f"{p}: stopword file not found") from None
    words = (line.strip() for line in text.splitlines())
    return frozenset(w for w in words if w and not w.startswith("#"))


def resolve_stopwords(spec: StopwordSpec | None) -> frozenset[str]:
    """Turn a stopword spec into a set: None -> empty, "en"/"zh" -> built-in, path -> file.

    A string is a language code when it is a short code that `stopwordsiso` knows and no file
    of that name exists (a folder of that name, such as the output folder of
    `vecgraft pretrain --out zh`, does not count); anything else string-like is a path.
    """
    if spec is None:
        return frozenset()
    if isinstance(spec, (str, os.PathLike)):
        text = os.fspath(spec)
        if is_language_code(spec):
            return builtin_stopwords(text)
        return read_stopwords(text)
    return frozenset(str(w) for w in spec)


def is_language_code(spec: object) -> bool:
    """Whether a stopword spec names a built-in list ("en", "zh-all"), not a file."""
    # isfile, not exists: `--stopwords zh` beside a folder named zh means the built-in list
    if not isinstance(spec, str) or os.path.isfile(spec):
        return False
    code = spec.lower().removesuffix(_ALL_SUFFIX)
    return len(code) <= 3 and code.isalpha()
