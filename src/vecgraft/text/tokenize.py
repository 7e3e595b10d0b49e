"""Tokenizers chosen by name: regex (default), whitespace, char, jieba (Chinese), pretokenized.

One `Tokenizer` object holds the whole recipe (kind, pattern, normalisation, stopwords), and
`tok.config` records it as JSON, so the tokens seen at pretraining time are exactly the tokens
seen at fine-tuning time: store the config with the vocabulary, rebuild with `from_config`.
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from vecgraft._util.options import boolean, lookup_enum, parse_enum
from vecgraft.errors import ConfigError, DataError, Opt, OptionError
from vecgraft.text.normalize import Digits, digits_option, nfc, normalize
from vecgraft.text.stopwords import StopwordSpec, is_language_code, resolve_stopwords
from vecgraft.text.zh import HAN


class TokenizerKind(StrEnum):
    """How text is split into tokens."""

    REGEX = "regex"
    WHITESPACE = "whitespace"
    CHAR = "char"
    JIEBA = "jieba"
    PRETOKENIZED = "pretokenized"


# The default word rule aims at the tokenisation of GloVe's and word2vec's corpora
# (lowercased Stanford/PTB style), so that a vocabulary built with it finds its words there:
# "U.S.", "e.g." and "Mr." stay whole, as do "e-mail", "o'clock", "3.5", "1,000" and "12:30";
# punctuation is split off ("..." and "--" kept whole); an emoji with its modifiers is one
# token; a word keeps its combining marks (Devanagari vowel signs, Arabic harakat, the accent
# of a decomposed "é"). Clitics are split PTB-style ("don't" -> "do" "n't", "John's" ->
# "John" "'s"), because GloVe has "n't" and "'s" but not "don't".
#
# Speed: nearly every token is a plain word, so the word branch comes first and the rarer
# shapes (numbers, acronyms, abbreviations) are optional tails of it, guarded by
# look-behinds that only run when the next character is a "." or a separator. Separate
# alternation branches for them made the rule three times slower.
_ABBREVIATIONS = (  # grouped by length: Python look-behinds need a fixed width
    "mr|ms|dr|jr|sr|st|co|vs|lt",
    "mrs|inc|ltd|etc|jan|feb|aug|oct|nov|dec|gov|gen|sen|rep|rev|col|sgt|est",
    "prof|corp|sept|univ|dept",
)
_ABBREVIATION_TAIL = "|".join(f"(?<=\\b(?i:{group})\\.)" for group in _ABBREVIATIONS)


def _char_class(category: str) -> str:
    r"""Character-class ranges (`\u0300-\u036f...`) of the non-word characters in `category`.

    Read from `unicodedata`, like `\w` itself, so both follow one Unicode version. A category
    is a prefix: "M" is every combining mark, "Cf" the invisible format characters. Planes 2
    to 13 hold neither, so they are not read.
    """
    text = "".join(map(chr, [*range(0xA0, 0x20000), *range(0xE0000, 0xE1000)]))
    chars = re.sub(r"[\w\s]+", "", text)
    found = [ord(c) for c in chars if unicodedata.category(c).startswith(category)]
    ranges: list[list[int]] = []
    for cp in found:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return "".join(_escape(a) if a == b else f"{_escape(a)}-{_escape(b)}" for a, b in ranges)


def _escape(cp: int) -> str:
    """`cp` as a regex escape (kept ASCII so the pattern prints and exports readably)."""
    return f"\\u{cp:04x}" if cp <= 0xFFFF else f"\\U{cp:08x}"


# `\w` lacks the combining marks, so `\w+` alone cut "हिन्दी", "مُحَمَّد" and a decomposed "é"
# (e + U+0301) at every vowel sign or accent; words take them.
_MARKS = _char_class("M")
# Invisible format characters (zero-width space, LRM/RLM) are separators, never tokens; only
# ZWNJ/ZWJ between word characters stay in the word (Persian and Indic spellings need them).
_FORMAT = _char_class("Cf")
# ... but a soft hyphen (a hyphenation hint), a word joiner or a BOM (an old word joiner) sits
# inside a word and is removed before splitting: "Straße\u00adnbahn" was Straße + nbahn.
_JOINERS = re.compile("[\u00ad\u2060\ufeff]")
# The version of these rules (`Tokenizer(rules=...)`): 2 joins at `_JOINERS` and keeps a char
# token's combining marks; 1, for tokenizers saved before, splits there and makes marks tokens.
RULES = 2
# The char kind drops those of the BMP (alone, each would be an invisible token); the
# whitespace kind splits at them as at spaces, except at ZWNJ/ZWJ, which join the parts of a
# word or emoji. (A BMP-only class is a bitmap to Python's re: 5x faster than `_FORMAT`; the
# astral ones are rare and include the tags of flag emoji, which whitespace must keep.)
_FORMAT_BMP = "".join(re.findall(r"\\u[0-9a-f]{4}(?:-\\u[0-9a-f]{4})?", _FORMAT))
_FORMAT_CHARS = re.compile(f"[{_FORMAT_BMP}]")
_FORMAT_BREAKS = re.compile(f"(?![\u200c\u200d])[{_FORMAT_BMP}]")
# Testing the one range U+0300..U+E01EF first spares the ~300-range class on nearly every
# character (Python's re scans such a class range by range): the rule stays as fast.
_GUARD = r"(?=[\u0300-\U000e01ef])"
# The char kind's emoji: a character each would cut 👍🏻 into 👍 + 🏻 and a flag into two
# regional-indicator halves, so emoji sequences are one token each (UTS #51, by the standard
# library's re: the `regex` module's \X is no dependency): flags (two regional indicators),
# subdivision flags (🏴 + tags), keycaps (1 + U+20E3), and pictographs with a skin tone or
# joined by ZWJ (👨‍👩‍👧). Variation selectors (U+FE00..FE0F, U+FE0E/F after ❤ or a keycap
# digit) are dropped like the format characters: alone each was an invisible token.
_PICTOGRAPH = (
    "\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u21aa\u231a-\u23ff\u24c2\u25aa-\u27bf"
    "\u2934\u2935\u2b05-\u2b55\u3030\u303d\u3297\u3299"
    "\U0001f000-\U0001f1e5\U0001f200-\U0001faff"  # not the regional indicators of flags
)
_EMOJI_ELEMENT = f"[{_PICTOGRAPH}][\U0001f3fb-\U0001f3ff]?"
EMOJI_SEQUENCE = (
    "[\U0001f1e6-\U0001f1ff]{2}"  # a flag
    "|\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f"  # a subdivision flag
    "|[0-9#*]\u20e3"  # a keycap
    f"|{_EMOJI_ELEMENT}(?:\u200d{_EMOJI_ELEMENT})*"  # skin tone, ZWJ sequence
)
# Otherwise a character with its combining marks is one token: alone, the vowel signs of
# ไม่ or हिन्दी and the dot of a lowercased "İ" (i + U+0307) were tokens of their own.
_CHAR_TOKEN = re.compile(EMOJI_SEQUENCE + rf"|[^\s{_FORMAT_BMP}](?:{_GUARD}[{_MARKS}])*")
# a ZWJ that joins no two pictographs: the char kind drops it (for the exported tokenizer)
LONE_ZWJ = f"(?<![{_PICTOGRAPH}\U0001f3fb-\U0001f3ff])\u200d|\u200d(?![{_PICTOGRAPH}])"
_VARIATION = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")
# a character to drop or join: texts without one take the plain per-character split (the
# astral ones, regional indicators to variation selectors, searched as one range: as fast)
# (and a combining mark to attach: those of the BMP by name, every astral character in bulk)
_MARKS_BMP = "".join(re.findall(r"\\u[0-9a-f]{4}(?:-\\u[0-9a-f]{4})?", _MARKS))
_CHAR_SPECIAL = re.compile(f"[{_FORMAT_BMP}{_MARKS_BMP}\U00010000-\U000e01ef]")
# Tokenizers saved before that (`rules=1`): a combining mark is a token of its own, as their
# vocabularies hold them; these reproduce that rule exactly.
_LEGACY_CHAR_TOKEN = re.compile(EMOJI_SEQUENCE + r"|\S")
_LEGACY_CHAR_SPECIAL = re.compile(f"[{_FORMAT_BMP}\u20e3\ufe00-\ufe0f\U0001f1e6-\U000e01ef]")


def _default_pattern(possessive: bool) -> str:
    """The default rule; possessive quantifiers give the same tokens, only faster."""
    p = "+" if possessive else ""
    # word characters, combining marks and, between word characters, ZWNJ/ZWJ
    w = rf"\w+{p}(?:{_GUARD}(?:[{_MARKS}]+{p}|[\u200c\u200d](?=\w))\w*{p})*{p}"
    return (
        # words, e-mail, o'clock (but not John's: 's is a clitic); numbers 3.5 1,000 12:30
        rf"{w}(?:-{w}|['’](?!(?i:s|re|ve|ll|d|m)\b){w}|[.,:/](?<=\d.)\d+{p})*{p}"
        rf"(?:\.(?:(?<=\b[^\W\d_]\.)(?:[^\W\d_]\.)+{p}"  # acronyms: U.S., e.g., a.m.
        rf"|(?:{_ABBREVIATION_TAIL})(?!\w)))?{p}"  # abbreviations: Mr., Inc., Jan.
        r"|['’](?i:s|re|ve|ll|d|m)\b"  # clitics: 's 're 've 'll 'd 'm
        r"|\.\.+|--+"  # ellipses and dashes
        r"|[\U0001f1e6-\U0001f1ff]{2}"  # a flag: two regional indicators
        # symbol/emoji with skin tones, ZWJ sequences, marks (variation selectors, keycaps)
        # and tags (the flags of England, Scotland, Wales)
        rf"|[^\w\s{_FORMAT}]"
        rf"(?:{_GUARD}[\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f{_MARKS}]|\u200d[^\w\s])*"
    )


def sound_possessives(version: tuple[int, ...]) -> bool:
    """Whether Python `version`'s re matches possessive quantifiers (`++`) correctly.

    They arrived in 3.11, but before 3.11.5 re mismatched them where the repeated part can
    backtrack (CPython gh-106052, gh-100061): on 3.11.2, Debian 12's python3, the default
    rule never returned on "john's." (its memory growing without bound) and cut "u.s." into
    ['', '.', '', '.'].

    >>> sound_possessives((3, 11, 2)), sound_possessives((3, 11, 5))
    (False, True)
    """
    return tuple(version[:3]) >= (3, 11, 5)


# The word n-grams of the linear model (`LinearConfig.word_marks`): scikit-learn's default
# `(?u)\b\w\w+\b` (runs of 2+ word characters) with combining marks counted as word
# characters, which cut "फिल्म", "है" and "ภาษาไทยดีมาก" at their vowel signs. Text without
# marks gives exactly scikit-learn's tokens (findall's matches are the maximal runs). Runs
# of either kind repeated, not single characters: 1.6x sklearn's time on SST-2, not 2.2x.
LINEAR_WORD_PATTERN = rf"(?:\w|{_GUARD}[{_MARKS}])(?:\w+|{_GUARD}[{_MARKS}]+)+"

# Possessive quantifiers spare the engine from recording backtracking points it never uses;
# without them (Python < 3.11.5) the rule gives the same tokens, somewhat slower.
DEFAULT_PATTERN = _default_pattern(possessive=sound_possessives(sys.version_info[:3]))

# "n't" belongs to the next token, which a left-to-right rule cannot see coming; so texts
# with "'t" get a space before each "n't" first ("don't" -> "do n't"), and "n't" is then
# an ordinary word. Only those texts pay for the extra pass.
# (Starting the pattern with a character class lets the engine skip ahead to each n.)
_NT = re.compile(r"[nN](?<=\w[nN])(?=['’][tT]\b)")
_APOSTROPHE_TWIN = str.maketrans("'’", "’'")
_APOSTROPHES = frozenset("'’")


@dataclass
class TokenizerStats:
    """Running totals since the tokenizer was created (or `reset_stats()`)."""

    texts: int = 0
    tokens: int = 0
    stopwords_removed: int = 0

    def to_dict(self) -> dict[str, int]:
        """Plain dict (for vocabulary metadata and reports)."""
        return asdict(self)


class Tokenizer:
    """Split text into tokens after optional normalisation, then drop stopwords.

    Args:
        kind: a `TokenizerKind` or its name. `char` makes every visible character a token
            (with its combining marks; an emoji sequence, such as 👍🏻 or a flag, is one;
            variation selectors and invisible format characters are dropped) and spells Latin
            words letter by letter: it suits character vectors of Chinese or Japanese text.
        pattern: the regex word rule (regex kind only); None uses `DEFAULT_PATTERN`.
        lower: lowercase before splitting (GloVe's 6B/42B vocabularies are lowercase); the
            jieba kind lowercases its words after segmenting, as its dictionary has T恤, A股.
        nfkc: apply Unicode NFKC first (fullwidth "Ａ１" -> "A1"). Without it text is still
            put in NFC, so a decomposed "é" (e + U+0301) gives the same token as "é".
        digits: replace each digit with "0" or "#" (None keeps digits).
        strip: drop surrounding whitespace from each token and drop tokens left empty (matters
            for `pretokenized` lists and jieba output; whitespace is never a token).
        stopwords: None, "en", "zh", a path to a UTF-8 file (one word per line) or an
            iterable of words. Matching ignores case, with `lower=False` too: ["the"] also
            drops "The" and "THE" (the tokens kept keep their case).
        user_dict: a jieba user dictionary file (jieba kind only).
        hmm: let jieba's HMM find words missing from its dictionary (jieba kind only).
        segmenter: `auto` (rjieba when installed, else jieba), `rjieba` or `jieba`: which
            implementation runs jieba's segmentation (see `vecgraft.text.segment`).
        zh_mode: `word`, `char` or `word+char` Chinese tokens (jieba kind; see `text.zh`).
        halfwidth: full-width ASCII -> ASCII, Chinese punctuation kept (before splitting).
        simplified: traditional -> simplified Chinese with OpenCC (before splitting).
        rules: the version of the splitting rules. 2 (the default): a soft hyphen, word
            joiner or BOM joins the parts of a word ("Straße\u00adnbahn" is one word) and a
            char token keeps its combining marks (ไม่ -> ไ, ม่). 1: the rules of tokenizers
            saved before version 2, which `from_config(saved=True)` rebuilds so (their
            vocabularies hold the parts "Straße", "nbahn" and each mark as a char token).
        user_dict_normalized: convert the user dictionary's words as the texts are (`nfkc`,
            `digits`, `halfwidth`, `simplified`), so its traditional or full-width entries
            match the converted text. False: its words as written, as tokenizers saved
            before the option read them (`from_config(saved=True)` rebuilds them so).

    Example:
        >>> tok = Tokenizer(lower=True)
        >>> tok("Don't e-mail the U.S. office... 3.5 times!")
        ['do', "n't", 'e-mail', 'the', 'u.s.', 'office', '...', '3.5', 'times', '!']
    """

    def __init__(
        self,
        kind: str | TokenizerKind = TokenizerKind.REGEX,
        *,
        pattern: str | None = None,
        lower: bool = False,
        nfkc: bool = False,
        digits: str | Digits | None = None,
        strip: bool = True,
        stopwords: StopwordSpec | None = None,
        user_dict: str | os.PathLike[str] | None = None,
        hmm: bool = True,
        segmenter: str = "auto",
        zh_mode: str = "word",
        halfwidth: bool = False,
        simplified: bool = False,
        rules: int = RULES,
        user_dict_normalized: bool = True,
    ) -> None:
        self.kind = _kind_option(kind)
        if pattern is not None and self.kind is not TokenizerKind.REGEX:
            raise ConfigError(f"pattern is only used by the regex tokenizer, not {self.kind.value}")
        if user_dict is not None and self.kind is not TokenizerKind.JIEBA:
            raise _jieba_only("user_dict", self.kind.value)
        self.pattern = pattern
        self.lower = boolean(lower, "lower")
        self.nfkc = boolean(nfkc, "nfkc")
        self.digits = digits_option(digits)
        self.strip = boolean(strip, "strip")
        self.user_dict = None if user_dict is None else os.fspath(user_dict)
        if self.user_dict is not None and not Path(self.user_dict).is_file():
            raise DataError(f"{self.user_dict}: jieba user dictionary not found")
        self.hmm = boolean(hmm, "hmm")
        self.segmenter = _segmenter_option(segmenter)
        from vecgraft.text.zh import ZhMode, zh_mode_option

        self.zh_mode = zh_mode_option(zh_mode)
        if self.zh_mode is not ZhMode.WORD and self.kind is not TokenizerKind.JIEBA:
            raise zh_mode_needs_jieba(self.kind.value)
        self.halfwidth = boolean(halfwidth, "halfwidth")
        self.simplified = boolean(simplified, "simplified")
        if isinstance(rules, bool) or rules not in (1, RULES):
            raise ConfigError(f"tokenizer rules must be 1 or {RULES}, got {rules!r}")
        self.rules = int(rules)
        self.user_dict_normalized = boolean(user_dict_normalized, "user_dict_normalized")
        # the `normalize_text` options the dictionary's words take where they are normalised:
        # the tokenizer's own, unless a caller that converts the texts itself says otherwise
        self._dict_normalization: dict[str, Any] | None = None
        words = resolve_stopwords(stopwords)
        self._stopword_spec, self.stopwords_source = _stopword_record(stopwords, words)
        self.stopwords: frozenset[str] = self._stopword_set(words)
        self._regex = _compile(pattern or DEFAULT_PATTERN)
        self._split_clitics = pattern is None  # n't
        self._jieba: Any = None
        self._segment_cache: Any = None
        self.stats = TokenizerStats()

    # -- public API ----------------------------------------------------------------------
    def __call__(self, text: str | Sequence[str]) -> list[str]:
        """Tokens of one text (a list of tokens is accepted by the pretokenized kind)."""
        if isinstance(text, str):
            tokens = self._split(self._normalize(text))
        elif self.kind is TokenizerKind.PRETOKENIZED:
            tokens = [self._normalize(t) for t in text]
        else:
            raise DataError(
                f"the {self.kind.value} tokenizer expects a string, got {type(text).__name__}; "
                "use kind='pretokenized' for token lists"
            )
        if self.strip and self.kind in (TokenizerKind.JIEBA, TokenizerKind.PRETOKENIZED):
            tokens = list(filter(None, map(str.strip, tokens)))  # C loops: 560k tokens
        if self.lower and not self._lower_first:
            tokens = [t.lower() for t in tokens]
        if self.digits is Digits.HASH:
            tokens = [t.replace("0", "#") if "0" in t else t for t in tokens]
        if self.stopwords:
            before = len(tokens)
            tokens = self._drop_stopwords(tokens)
            self.stats.stopwords_removed += before - len(tokens)
        self.stats.texts += 1
        self.stats.tokens += len(tokens)
        return tokens

    def tokenize_many(self, texts: Iterable[str | Sequence[str]]) -> Iterator[list[str]]:
        """Tokenize a stream of texts lazily, one token list per text."""
        for text in texts:
            yield self(text)

    def tokenize_stream(
        self, texts: Iterable[str | Sequence[str]], *, chunk_chars: int = 1 << 16
    ) -> Iterator[list[str]]:
        """Tokens of many texts in chunks, for counting: chunks are not text boundaries.

        Concatenating the chunks gives exactly the tokens of `tokenize_many`. Rules whose
        tokens never contain or look across a newline (the default regex rule, whitespace,
        char) tokenize about `chunk_chars` characters of newline-joined texts per call, which
        saves the per-text overhead on corpora of short lines.
        """
        if not self._joinable:
            yield from self.tokenize_many(texts)
            return
        batch: list[str] = []
        size = 0
        for text in texts:
            if not isinstance(text, str):
                yield from self._flush(batch)
                batch, size = [], 0
                yield self(text)  # raises the same error as a single call
                continue
            batch.append(text)
            size += len(text)
            if size >= chunk_chars:
                yield from self._flush(batch)
                batch, size = [], 0
        yield from self._flush(batch)

    def _flush(self, batch: list[str]) -> Iterator[list[str]]:
        if batch:
            tokens = self("\n".join(batch))
            self.stats.texts += len(batch) - 1
            yield tokens

    @property
    def _joinable(self) -> bool:
        kind = self.kind
        return kind in (TokenizerKind.WHITESPACE, TokenizerKind.CHAR) or (
            kind is TokenizerKind.REGEX and self.pattern is None
        )

    def reset_stats(self) -> None:
        """Start counting texts, tokens and removed stopwords from zero."""
        self.stats = TokenizerStats()

    @property
    def config(self) -> dict[str, Any]:
        """Everything needed to rebuild this tokenizer, JSON-able.

        Stopwords from a file or an iterable are stored as the word list itself, so the
        config still works where the file is absent.
        """
        return {
            "kind": self.kind.value,
            "pattern": self.pattern,
            "lower": self.lower,
            "nfkc": self.nfkc,
            "digits": None if self.digits is None else self.digits.value,
            "strip": self.strip,
            "stopwords": self._stopword_spec,
            "stopwords_source": self.stopwords_source,
            "user_dict": self.user_dict,
            "hmm": self.hmm,
            "segmenter": self.segmenter,
            "zh_mode": self.zh_mode.value,
            "halfwidth": self.halfwidth,
            "simplified": self.simplified,
            "rules": self.rules,
            # only where there is a dictionary: configs without one stay as they were
            **({"user_dict_normalized": self.user_dict_normalized} if self.user_dict else {}),
        }

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any],
        *,
        root: str | os.PathLike[str] | None = None,
        saved: bool = False,
    ) -> Tokenizer:
        """Rebuild a tokenizer from `config` (unknown keys are a ConfigError).

        A relative `user_dict` is read from folder `root` (a run's checkpoint keeps its copy
        of the jieba dictionary there, and a name leaving it is refused, as is a stopword
        file name: a saved config holds the words); `user_dict_sha256`, where recorded,
        must match the file's content, so a dictionary edited since the run reads as an
        error, not as silently different words.

        `saved`: `config` was written by a run, vectors or model (not given by a user). One
        without `rules` was saved before version 2 and is rebuilt with `rules=1`, so that its
        vocabulary (each combining mark a char token, words split at a soft hyphen) still
        matches its tokens. A user's dict without it gets today's rules. Likewise one with a
        `user_dict` and no `user_dict_normalized` reads its dictionary's words as written.
        """
        options = user_dict_at(config, root)
        digest = options.pop("user_dict_sha256", None)
        if digest is not None and options.get("user_dict") is not None:
            _check_user_dict(options["user_dict"], str(digest))
        source = options.pop("stopwords_source", None)
        known = {"kind", "pattern", "lower", "nfkc", "digits", "strip", "stopwords", "user_dict"}
        known |= {"hmm", "segmenter", "zh_mode", "halfwidth", "simplified", "rules"}
        known.add("user_dict_normalized")
        if saved or "char_marks" in options:  # development builds wrote it before `rules`
            options["rules"] = saved_rules(options)  # no `rules` in a saved one: version 1
            options.pop("char_marks", None)
        if saved and options.get("user_dict") is not None:
            options["user_dict_normalized"] = saved_user_dict_normalized(options)
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(f"unknown tokenizer option(s) {unknown}; expected {sorted(known)}")
        named = options.get("stopwords")
        if root is not None and isinstance(named, str) and not is_language_code(named):
            raise ConfigError(  # saved configs hold the words (or an old run's language code)
                f"{os.fspath(root)}: the saved tokenizer names stopwords {named!r}, a file; "
                "a saved tokenizer holds its stopwords as a list of words"
            )
        legacy = None
        if is_language_code(named):  # saved by name only, before configs held the words
            from vecgraft.text.stopwords import builtin_stopwords

            legacy = builtin_stopwords(str(named), legacy=True)
            options["stopwords"] = sorted(legacy)
            source = source or f"stopwordsiso:{str(named).lower()}"
        tok = cls(**options)
        if legacy is not None:
            tok.stopwords = tok._stopword_set(legacy, twins=False)  # as that run matched them
        if source is not None:
            tok.stopwords_source = str(source)
        return tok

    def spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of each word the regex rule finds in `text`, before normalisation.

        For callers that must locate words in the original string (the transformer corpus
        mode maps them to model tokens by character offsets).

        Example:
            >>> text = "A well-known cat's toy"
            >>> [text[s:e] for s, e in Tokenizer().spans(text)]
            ['A', 'well-known', 'cat', "'s", 'toy']
        """
        if self.kind is not TokenizerKind.REGEX:
            raise ConfigError(f"spans need the regex tokenizer, not {self.kind.value}")
        return [m.span() for m in self._regex.finditer(text)]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tokenizer) and self.config == other.config

    def __hash__(self) -> int:
        return hash((self.kind, self.pattern, self.lower, self.nfkc, self.digits, self.strip))

    def __repr__(self) -> str:
        """The options that set this tokenizer apart, in short (`config` holds them all).

        A custom stopword list shows its size and first words (a built-in one its
        `stopwords_source`); jieba's options show only on the jieba kind, the one they steer.
        Equal reprs do not promise the same tokens: two custom lists of one size and the
        same first words look alike; compare `config` for that.
        """
        jieba_only = () if self.kind is TokenizerKind.JIEBA else _JIEBA_OPTIONS
        args = []
        for key, value in self.config.items():
            if key == "stopwords":
                shown = _stopwords_repr(value, self.stopwords_source)
                args += [f"stopwords={shown}"] if shown else []
            elif key not in jieba_only and value not in (None, False):
                args.append(f"{key}={value!r}")
        return f"Tokenizer({', '.join(args)})"

    def __getstate__(self) -> dict[str, Any]:
        # jieba's tokenizer is rebuilt lazily in the worker: cheaper than pickling its dict.
        state = self.__dict__.copy()
        state["_jieba"] = None
        state["_segment_cache"] = None
        return state

    # -- internals -----------------------------------------------------------------------
    @property
    def _lower_first(self) -> bool:
        """Whether `lower` applies to the text (True) or to jieba's words (False).

        jieba's dictionary spells mixed words in capitals (T恤, A股, IC卡, U盘, SIM卡):
        lowercased first, "买了件T恤" came out as t + 恤. So jieba segments the text as
        written and its words are lowercased; the segment cache keeps the words of the text
        as written, which lowercasing afterwards does not change.
        """
        return self.lower and self.kind is not TokenizerKind.JIEBA

    def _normalize(self, text: str) -> str:
        return normalize_text(
            text, nfkc=self.nfkc, lower=self._lower_first, digits=self.digits,
            halfwidth=self.halfwidth, simplified=self.simplified,
        )  # fmt: skip

    def _split(self, text: str) -> list[str]:
        kind = self.kind
        if kind is TokenizerKind.REGEX:
            return self._regex_split(text)
        if kind is TokenizerKind.PRETOKENIZED:
            return text.split()
        if kind is TokenizerKind.JIEBA:
            return self._jieba_split(text)
        if kind is TokenizerKind.WHITESPACE:
            invisible = not text.isascii() and _FORMAT_CHARS.search(text) is not None
            if invisible:
                joined = _JOINERS.sub("", text) if self.rules > 1 else text
                text = _FORMAT_BREAKS.sub(" ", joined)
            return text.split()
        return _char_split(text, self.rules > 1)

    def _regex_split(self, text: str) -> list[str]:
        regex = self._regex
        if self.rules > 1 and not text.isascii() and _JOINERS.search(text) is not None:
            text = _JOINERS.sub("", text)
        if self._split_clitics and ("'t" in text or "’t" in text or "'T" in text or "’T" in text):
            text = _NT.sub(r" \g<0>", text)
        if regex.groups:  # findall would return the groups of a user pattern, not matches
            return [m.group() for m in regex.finditer(text)]
        return regex.findall(text)

    def read_user_dict(self) -> None:
        """Read the jieba user dictionary now, not at the first text (none: nothing to do).

        Why: a run's tokenizer names its checkpoint's copy of the dictionary, and `load_run`
        reads it while it holds the run folder: read later, a run that replaced the folder
        meanwhile changed the words segmented, or removed the file.
        """
        if self.kind is TokenizerKind.JIEBA and self.user_dict is not None:
            self._load_segmenter()

    def normalize_user_dict_as(self, options: Mapping[str, Any]) -> None:
        """Convert the user dictionary's words with `options` (`normalize_text`'s), not ours.

        For a caller that converts the texts itself before they reach this tokenizer (the
        linear model's n-grams): its dictionary must be converted as those texts were.
        Before the segmenter is built only (the first text, or `read_user_dict`).
        """
        if self._jieba is not None:
            raise ConfigError("the user dictionary was already read; convert it before that")
        unknown = sorted(set(options) - set(TEXT_NORMALISATION))
        if unknown:
            raise ConfigError(f"unknown normalisation option(s) {unknown}; expected "
                              f"{list(TEXT_NORMALISATION)}")  # fmt: skip
        self._dict_normalization = dict(options)

    def _load_segmenter(self) -> None:
        """Build the jieba segmenter (which reads the user dictionary) once."""
        if self._jieba is None:
            self._jieba = _jieba_tokenizer(
                self.user_dict, self.hmm, self.segmenter, self._user_dict_normalization()
            )
            self._segment_cache = _segment_cache(self._jieba)

    def _user_dict_normalization(self) -> dict[str, Any] | None:
        """What the dictionary's words are converted with; None: as written.

        As the texts are (jieba lowercases its words after cutting, so the texts it cuts,
        and the words, keep their case); not where `user_dict_normalized` is off.
        """
        if not self.user_dict_normalized:
            return None
        if self._dict_normalization is not None:
            return self._dict_normalization
        return {key: getattr(self, key) for key in TEXT_NORMALISATION}

    def _jieba_split(self, text: str) -> list[str]:
        """Segment with jieba (cached by content), re-splitting non-Chinese stretches.

        jieba cuts "don't" into "don", "'", "t"; joining the stretches between Chinese
        words and applying the word rule keeps English words whole inside Chinese text,
        while jieba's mixed dictionary words ("T恤") survive.
        """
        self._load_segmenter()
        cache = self._segment_cache
        if cache is not None:
            hit = cache.get(text)
            if hit is not None:
                return self._zh_mode(hit)
        out = self._jieba_resplit(text)
        if cache is not None:
            cache.put(text, out)
        return self._zh_mode(out)

    def _zh_mode(self, words: list[str]) -> list[str]:
        from vecgraft.text.zh import ZhMode, apply_mode

        return words if self.zh_mode is ZhMode.WORD else apply_mode(words, self.zh_mode)

    def flush_segment_cache(self) -> None:
        """Write newly segmented texts to the segment cache now (also done at exit)."""
        if self._segment_cache is not None:
            self._segment_cache.flush()

    def _jieba_resplit(self, text: str) -> list[str]:
        out: list[str] = []
        pending: list[str] = []
        for piece in self._jieba.cut(text):
            if HAN.search(piece):
                if pending:
                    out.extend(self._regex_split("".join(pending)))
                    pending.clear()
                out.append(piece)
            else:
                pending.append(piece)
        if pending:
            out.extend(self._regex_split("".join(pending)))
        return out

    def _stopword_set(self, words: frozenset[str], twins: bool = True) -> frozenset[str]:
        """The stopwords normalised as the tokens are (width, script, NFKC, digits), lowercased.

        Tokens are compared after normalisation, so a raw list silently missed its traditional,
        full-width or decomposed entries ("這個" never matched the "这个" of simplified=True).
        """
        normalized = {self._normalize(w) for w in words}
        if self.digits is Digits.HASH:
            normalized = {w.replace("0", "#") for w in normalized}
        # either apostrophe: a list's "it's" also removes "it’s" (and its clitic "’s")
        if twins:
            twin = {w.translate(_APOSTROPHE_TWIN) for w in normalized if _APOSTROPHES & set(w)}
            normalized |= twin
        return frozenset(w.lower() for w in normalized)

    def _drop_stopwords(self, tokens: list[str]) -> list[str]:
        stop = self.stopwords
        if self.lower:
            return [t for t in tokens if t not in stop]
        return [t for t in tokens if t.lower() not in stop]


# a Tokenizer's options that change the characters of a text before it is split (`normalize_text`)
TEXT_NORMALISATION = ("nfkc", "digits", "halfwidth", "simplified")


def normalize_text(
    text: str,
    *,
    nfkc: bool = False,
    lower: bool = False,
    digits: str | Digits | None = None,
    halfwidth: bool = False,
    simplified: bool = False,
) -> str:
    """`text` as a Tokenizer with these options reads it before splitting it into tokens.

    One function for the Tokenizer and the linear model's n-grams (`LinearConfig`'s
    `normalization`): a fused model trained with `--simplified` once scored 這家酒店很好 and
    这家酒店很好 alike in its network and differently in its linear half.

    Digits become "0" (the Tokenizer puts "#" in after splitting, so "101" stays one word).

    >>> normalize_text("Ｉ喜歡ｉＰｈｏｎｅ 12", halfwidth=True, simplified=True, digits="#")
    'I喜欢iPhone 00'
    """
    if halfwidth or simplified:
        from vecgraft.text.zh import halfwidth as to_halfwidth
        from vecgraft.text.zh import to_simplified

        text = to_halfwidth(text) if halfwidth else text
        text = to_simplified(text) if simplified else text
    # Canonically equivalent spellings are one text: a decomposed "é" (e + U+0301) gives
    # the token of "é". NFKC does this too.
    if not nfkc:
        text = nfc(text)
    if not (nfkc or lower or digits):
        return text
    return normalize(text, nfkc=nfkc, lower=lower, digits=None if digits is None else Digits.ZERO)


def saved_rules(config: Mapping[str, Any]) -> Any:
    """The `rules` a tokenizer config saved by a run, vectors or model was written with.

    As `Tokenizer.from_config(config, saved=True)` reads them: recorded ones as they are,
    development builds' `char_marks` (true: today's rules), else 1 (saved before `rules` 2).
    A resumed run rebuilds its tokenizer with these, so that it splits as it started.
    """
    if "rules" in config:
        return config["rules"]
    if "char_marks" in config:
        return RULES if config["char_marks"] else 1
    return 1


def saved_user_dict_normalized(config: Mapping[str, Any]) -> Any:
    """Whether a saved tokenizer config converts its user dictionary's words as its texts.

    As `Tokenizer.from_config(config, saved=True)` reads it: recorded, as it is; else False,
    the words as written (saved before the option: a run resumed, a model predicting or
    vectors reused segment as they did). True where no dictionary is named (nothing to read).
    """
    if config.get("user_dict") is None:
        return True
    return config.get("user_dict_normalized", False)


def _char_split(text: str, marks: bool = True) -> list[str]:
    """The char kind's tokens: each visible character, an emoji sequence as one token.

    Latin words are spelled letter by letter ("ok" -> o, k), as the characters of
    character vectors are; a character keeps its combining marks (ไม่ -> ไ, ม่), unless
    `marks` is False (tokenizers saved before that: ไ, ม, ่). Invisible format characters
    and variation selectors are dropped.
    """
    special = _CHAR_SPECIAL if marks else _LEGACY_CHAR_SPECIAL
    if text.isascii() or special.search(text) is None:  # nothing to join or drop
        return [c for c in text if not c.isspace()]
    if marks:
        return _CHAR_TOKEN.findall(_VARIATION.sub("", text))  # skips the format characters
    tokens = _LEGACY_CHAR_TOKEN.findall(_VARIATION.sub("", text))
    return [t for t in tokens if len(t) > 1 or _FORMAT_CHARS.match(t) is None]


def _kind_option(kind: str | TokenizerKind) -> TokenizerKind:
    return parse_enum(TokenizerKind, kind, "tokenizer")


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"invalid tokenizer pattern {pattern!r}: {exc}") from None


_JIEBA_OPTIONS = ("hmm", "segmenter", "zh_mode")  # shown in a repr of the jieba kind only


def _stopwords_repr(words: Any, source: str | None, few: int = 3) -> str | None:
    """`3 words ('a', 'of', 'the')` for a custom list; None for none or a built-in list.

    A built-in list is named by `stopwords_source`, a list of 1,294 words would drown the repr.
    """
    if not isinstance(words, list) or not words:
        return None
    if source is not None and source.startswith("stopwordsiso:"):
        return None
    shown = ", ".join(map(repr, words[:few])) + (", ..." if len(words) > few else "")
    return f"{len(words)} word{'s' if len(words) != 1 else ''} ({shown})"


def _stopword_record(
    spec: StopwordSpec | None, words: frozenset[str]
) -> tuple[str | list[str] | None, str | None]:
    """(what the config stores, where the words came from) for a stopword spec."""
    if spec is None:
        return None, None
    if is_language_code(spec):  # the words themselves: the built-in lists may change
        return sorted(words), f"stopwordsiso:{str(spec).lower()}"
    source = os.fspath(spec) if isinstance(spec, (str, os.PathLike)) else None
    return sorted(words), source


def _segmenter_option(segmenter: str) -> str:
    from vecgraft.text.segment import SegmentBackend

    try:
        return lookup_enum(SegmentBackend, segmenter).value
    except ValueError:
        names = ", ".join(b.value for b in SegmentBackend)
        raise ConfigError(f"unknown segmenter {segmenter!r}; choose one of: {names}") from None


USER_DICT_FILE = "jieba_user_dict.txt"  # a run checkpoint's copy of its jieba dictionary


def user_dict_at(config: Mapping[str, Any], root: str | os.PathLike[str] | None) -> dict[str, Any]:
    """`config` with a relative `user_dict` joined to folder `root` (absolute ones kept).

    Absolute paths stay for runs saved before the checkpoint kept its own copy; a relative
    name is that copy, so one leaving `root` (`../../x`) is a ConfigError: a model.json
    naming any file there had `predict` read it as a jieba dictionary.

    >>> user_dict_at({"kind": "jieba", "user_dict": "jieba_user_dict.txt"}, "/runs/a/best")
    {'kind': 'jieba', 'user_dict': '/runs/a/best/jieba_user_dict.txt'}
    """
    options = dict(config)
    user_dict = options.get("user_dict")
    if root is not None and isinstance(user_dict, str) and not Path(user_dict).is_absolute():
        if ".." in Path(user_dict).parts:
            raise ConfigError(
                f"{os.fspath(root)}: the saved tokenizer's user_dict {user_dict!r} leaves the "
                "folder; a saved jieba dictionary is a file inside it"
            )
        options["user_dict"] = os.fspath(Path(root) / user_dict)
    return options


def user_dict_digest(path: str | os.PathLike[str]) -> str:
    """The sha256 of a jieba user dictionary's bytes (what a run records of its copy)."""
    import hashlib

    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except FileNotFoundError:
        raise DataError(f"{os.fspath(path)}: jieba user dictionary not found") from None
    except OSError as exc:
        raise DataError(f"{os.fspath(path)}: cannot read jieba user dictionary ({exc})") from None


def with_user_dict_copy(
    options: Mapping[str, Any], folder: str | os.PathLike[str]
) -> dict[str, Any]:
    """`options` (a tokenizer's) with its jieba user dictionary copied into `folder`.

    The copy is named relative to `folder` (`USER_DICT_FILE`) with its sha256, so a saved
    run or model is self-contained: `predict` after the dictionary moved reads the copy
    (`user_dict_at`), and an edited copy is an error rather than other words. Options
    without a dictionary file (none, or already a saved copy's relative name) are kept.
    """
    from vecgraft._util.atomic import atomic_write

    out = dict(options)
    user_dict = out.get("user_dict")
    if not isinstance(user_dict, str) or not Path(user_dict).is_file():
        return out
    target = Path(folder) / USER_DICT_FILE
    if Path(user_dict).resolve() != target.resolve():
        words = Path(user_dict).read_bytes()
        atomic_write(target, lambda fh: fh.write(words))
    out.update(user_dict=USER_DICT_FILE, user_dict_sha256=user_dict_digest(target))
    return out


def _check_user_dict(path: str, digest: str) -> None:
    if user_dict_digest(path) != digest:
        raise DataError(
            f"{path}: the jieba user dictionary changed since the run was trained (its sha256 "
            "no longer matches the one recorded); put the original back: the model's "
            "vocabulary was built from the words it segmented"
        )


def zh_mode_needs_jieba(kind: str) -> OptionError:
    """The error of a Chinese mode other than word given with tokenizer `kind` (not jieba).

    One text for `Tokenizer` and `FinetuneConfig`, which refuses it before the data is read.
    """
    return _jieba_only("zh_mode", kind)


def _jieba_only(option: str, kind: str) -> OptionError:
    """`<option> is only used by the jieba tokenizer, not <kind>`.

    An OptionError: a command names its flag (--zh-mode, --user-dict), not the keyword.
    """
    return OptionError(f"{{}} is only used by the jieba tokenizer, not {kind}", Opt(option))


def _jieba_tokenizer(
    user_dict: str | None,
    hmm: bool = True,
    segmenter: str = "auto",
    normalization: Mapping[str, Any] | None = None,
) -> Any:
    """A `Segmenter` (rjieba when installed, else jieba) with these options."""
    from vecgraft.text.segment import Segmenter

    return Segmenter(
        user_dict=user_dict, hmm=hmm, backend=segmenter, normalization=normalization
    )


def _segment_cache(seg: Any) -> Any:
    """The content cache of this segmenter configuration, or None when disabled or useless.

    Only the Python jieba backend is cached: on ChnSentiCorp + shopping10 (70,538 texts) it
    tokenizes 7,100 texts/s uncached and 58,000 from a warm cache, while rjieba tokenizes
    55,000 uncached, as fast as the lookup, and twice as slowly while filling a cold cache
    (`benchmarks/bench_segment.py`).
    """
    from vecgraft.text.segment import SegmentBackend, SegmentCache, default_segment_cache_dir

    folder = default_segment_cache_dir()
    if folder is None or seg.backend is not SegmentBackend.JIEBA:
        return None
    # the regex re-split of non-Chinese stretches is part of what is cached
    return SegmentCache(folder, {**seg.key_fields, "resplit": DEFAULT_PATTERN})
