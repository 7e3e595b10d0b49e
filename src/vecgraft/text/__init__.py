"""Text preprocessing: tokenizers, normalisation, stopwords, corpus streaming, vocabularies.

Example:
    >>> from vecgraft.text import Texts, Tokenizer, build_vocab, iter_texts
    >>> vocab = build_vocab(iter_texts(Texts(["a b a", "b c"])), Tokenizer())
    >>> vocab.tokens
    ['<pad>', '<unk>', 'a', 'b', 'c']
"""

from vecgraft.text.corpus import CorpusStats, OnePer, Texts, TextStream, UnicodeErrors, iter_texts
from vecgraft.text.normalize import Digits, normalize
from vecgraft.text.padding import Side
from vecgraft.text.stopwords import builtin_stopwords, read_stopwords, resolve_stopwords
from vecgraft.text.tokenize import DEFAULT_PATTERN, Tokenizer, TokenizerKind, TokenizerStats
from vecgraft.text.vocab import DEFAULT_SPECIALS, Vocab
from vecgraft.text.vocab_build import build_vocab

__all__ = [
    "DEFAULT_PATTERN",
    "DEFAULT_SPECIALS",
    "CorpusStats",
    "Digits",
    "OnePer",
    "Side",
    "TextStream",
    "Texts",
    "Tokenizer",
    "TokenizerKind",
    "TokenizerStats",
    "UnicodeErrors",
    "Vocab",
    "build_vocab",
    "builtin_stopwords",
    "iter_texts",
    "normalize",
    "read_stopwords",
    "resolve_stopwords",
]
