r"""A vecgraft `Tokenizer` + vocabulary as a Hugging Face `tokenizers` WordLevel tokenizer.

Exported static models (model2vec, sentence-transformers' `StaticEmbedding`) split text with
a `tokenizers.Tokenizer`, so the export must reproduce vecgraft's normalisation and word rule
there, or the ids it looks up are not the ids the matrix was aligned for. Each setting maps
onto a `tokenizers` component:

* `halfwidth` becomes one Replace per full-width character (`tokenizers` has no translate);
  the NFC every text gets, `nfkc`, `lower` and `digits` become normalizers (NFC or NFKC,
  Lowercase, Replace of `\d`), with a Replace for the final "ς" that `str.lower` writes for
  a word-final "Σ"; the char and whitespace kinds' invisible separators become Replaces (by
  a space: a mark after one has no letter to join), and so do the soft hyphens, word joiners
  and BOMs that join a word (by nothing; `rules=1`: they separate words);
* the regex rule becomes a `Split` pre-tokenizer keeping the matches (`invert=True`), with
  Python's `\uXXXX` escapes rewritten for Oniguruma; the default rule's "n't" split becomes a
  Replace that puts a space before it, as vecgraft does;
* `whitespace`/`pretokenized` become `WhitespaceSplit`, `char` splits after every character
  with its combining marks (a tokenizer of `rules=1`, saved before: after each mark too).

Limits (said in `notes`): jieba segmentation has no `tokenizers` equivalent (the export
splits on whitespace, so the text must already be segmented); nor has OpenCC's traditional to
simplified conversion (`simplified`: convert the text first); stopwords are not dropped by the
exported tokenizer, which only matters for stopwords that are in the vocabulary; with
`digits="#"` vocabulary words are keyed with "0" for each "#", so a literal "#" in the text is
unknown to the export.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from vecgraft._util.extras import require
from vecgraft.errors import ConfigError
from vecgraft.text.normalize import Digits
from vecgraft.text.tokenize import (
    _FORMAT_BREAKS,
    _JOINERS,
    _MARKS,
    _VARIATION,
    DEFAULT_PATTERN,
    EMOJI_SEQUENCE,
    LONE_ZWJ,
    Tokenizer,
    TokenizerKind,
)

__all__ = ["oniguruma_pattern", "to_hf_tokenizer"]

_PY_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\(?:u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8}))")
# vecgraft's "n't" rule (see `tokenize._NT`): a space goes before the n of a clitic n't.
_NT_UPPER = r"N(?<=\wN)(?=['’][tT]\b)"
_NT_LOWER = r"n(?<=\wn)(?=['’][tT]\b)"
# Final_Sigma: a cased letter before (at most one case-ignorable between: Oniguruma's
# look-behind has a fixed width), no cased letter after
_FINAL_SIGMA = r"(?<=\p{Cased}|\p{Cased}\p{Case_Ignorable})Σ(?!\p{Case_Ignorable}*\p{Cased})"


def oniguruma_pattern(pattern: str) -> str:
    r"""`pattern` with Python's `\uXXXX`/`\UXXXXXXXX` escapes written as Oniguruma's `\x{...}`.

    Example:
        >>> oniguruma_pattern(r"[\ufe0f\U0001f3fb]")
        '[\\x{fe0f}\\x{1f3fb}]'
    """
    return _PY_ESCAPE.sub(
        lambda m: f"{m.group(1)}\\x{{{int(m.group(2) or m.group(3), 16):x}}}", pattern
    )


def to_hf_tokenizer(
    tokenizer: Tokenizer, tokens: Sequence[str], unk_token: str
) -> tuple[Any, list[str]]:
    """A WordLevel `tokenizers.Tokenizer` over `tokens` that splits text as `tokenizer` does.

    Args:
        tokenizer: the vecgraft tokenizer the vocabulary was built with.
        tokens: the vocabulary in id order (id i is row i of the exported matrix).
        unk_token: one of `tokens`; words outside the vocabulary map to it (model2vec then
            drops them before pooling).

    Returns:
        (the tokenizer, notes on what the export cannot reproduce).
    """
    tk = require("tokenizers", "hf", feature="exporting a tokenizer")
    if unk_token not in tokens:
        raise ConfigError(f"unk_token {unk_token!r} is not one of the tokens")
    notes: list[str] = []
    hash_digits = tokenizer.digits is Digits.HASH
    if hash_digits:
        notes.append('digits="#": a literal "#" in the text is unknown to the export')
    keys = _word_level_keys(tokens, hash_digits=hash_digits)
    model = tk.models.WordLevel(
        {k: i for i, k in enumerate(keys)}, unk_token=keys[tokens.index(unk_token)]
    )
    hf = tk.Tokenizer(model)
    normalizers = _normalizers(tk, tokenizer)
    if normalizers:
        hf.normalizer = tk.normalizers.Sequence(normalizers)
    hf.pre_tokenizer = _pre_tokenizer(tk, tokenizer)
    if tokenizer.kind is TokenizerKind.JIEBA:
        notes.append(
            "jieba segmentation cannot be exported: the exported tokenizer splits on "
            "whitespace, so segment text first (e.g. ' '.join(vecgraft Tokenizer(text)))"
        )
    if tokenizer.simplified:
        notes.append(
            "traditional-to-simplified conversion (OpenCC) cannot be exported: convert "
            "text to simplified Chinese first"
        )
    if tokenizer.stopwords:
        notes.append("stopwords are not dropped by the exported tokenizer")
    return hf, notes


def _word_level_keys(tokens: Sequence[str], *, hash_digits: bool) -> list[str]:
    """The WordLevel key of each row: unique, so no two rows ever share a key.

    With digits="#" the export normalises digits to "0", so the keys use "0" too; a key that
    repeats keeps the first row (as lookups would) and later ones get an unmatchable key.
    """
    keys = [t.replace("#", "0") if hash_digits else t for t in tokens]
    seen: dict[str, int] = {}
    for i, key in enumerate(keys):
        if key in seen:  # two rows would share one key; keep the first, as lookups would
            keys[i] = f"\x00{i}:{key}"
        seen.setdefault(key, i)
    return keys


def _normalizers(tk: Any, tokenizer: Tokenizer) -> list[Any]:
    """The `tokenizers` normalizers that reproduce the tokenizer's text normalisation."""
    normalizers: list[Any] = []
    if tokenizer.halfwidth:  # first, as in `Tokenizer._normalize`
        from vecgraft.text.zh import HALFWIDTH

        normalizers.extend(
            tk.normalizers.Replace(chr(wide), chr(narrow)) for wide, narrow in HALFWIDTH.items()
        )
    # vecgraft composes decomposed accents (NFC) unless NFKC, which composes too, is asked for
    normalizers.append(tk.normalizers.NFKC() if tokenizer.nfkc else tk.normalizers.NFC())
    if tokenizer.lower:
        # str.lower writes a capital sigma that ends a word as final "ς" (Unicode's
        # Final_Sigma rule); Lowercase maps every "Σ" to "σ", so "ΟΔΟΣ" would miss "οδος"
        normalizers.append(tk.normalizers.Replace(tk.Regex(_FINAL_SIGMA), "ς"))
        normalizers.append(tk.normalizers.Lowercase())
    if tokenizer.digits is not None:
        normalizers.append(tk.normalizers.Replace(tk.Regex(r"\d"), "0"))
    if tokenizer.kind is TokenizerKind.CHAR:  # invisible format characters are no tokens
        # ... nor variation selectors (dropped first, as vecgraft does), nor a ZWJ but one
        # inside an emoji sequence; each separates, as in vecgraft, where a mark after one is
        # a token of its own ("a" ZWSP U+0301 -> a, U+0301)
        variation = oniguruma_pattern(_VARIATION.pattern)
        normalizers.append(tk.normalizers.Replace(tk.Regex(variation), ""))
        invisible = oniguruma_pattern(f"{_FORMAT_BREAKS.pattern}|\\u200c|{LONE_ZWJ}")
        normalizers.append(tk.normalizers.Replace(tk.Regex(invisible), " "))
    joins = tokenizer.kind in (TokenizerKind.REGEX, TokenizerKind.WHITESPACE)
    if joins and tokenizer.rules > 1:  # soft hyphen, ...
        normalizers.append(tk.normalizers.Replace(tk.Regex(_JOINERS.pattern), ""))
    if tokenizer.kind is TokenizerKind.WHITESPACE:  # ... and separate words, bar ZWNJ/ZWJ
        breaks = oniguruma_pattern(_FORMAT_BREAKS.pattern)
        normalizers.append(tk.normalizers.Replace(tk.Regex(breaks), " "))
    if tokenizer.kind is TokenizerKind.REGEX and tokenizer.pattern is None:
        normalizers.append(tk.normalizers.Replace(tk.Regex(_NT_LOWER), " n"))
        normalizers.append(tk.normalizers.Replace(tk.Regex(_NT_UPPER), " N"))
    return normalizers


def _pre_tokenizer(tk: Any, tokenizer: Tokenizer) -> Any:
    """The pre-tokenizer that splits words as the tokenizer does (jieba: on whitespace only)."""
    kind = tokenizer.kind
    if kind is TokenizerKind.REGEX:
        pattern = oniguruma_pattern(tokenizer.pattern or DEFAULT_PATTERN)
        try:
            regex = tk.Regex(pattern)
        except Exception as exc:  # tokenizers raises a bare Exception for Oniguruma errors
            raise ConfigError(
                f"the tokenizer pattern cannot be written for Hugging Face tokenizers ({exc})"
            ) from None
        return tk.pre_tokenizers.Split(regex, behavior="removed", invert=True)
    if kind is TokenizerKind.CHAR:
        # a character with its combining marks (a char tokenizer saved before: each apart)
        char = f".[{_MARKS}]*" if tokenizer.rules > 1 else "."
        return tk.pre_tokenizers.Sequence(
            [
                tk.pre_tokenizers.WhitespaceSplit(),
                tk.pre_tokenizers.Split(
                    tk.Regex(oniguruma_pattern(f"{EMOJI_SEQUENCE}|{char}")), behavior="isolated"
                ),
            ]
        )
    return tk.pre_tokenizers.WhitespaceSplit()
