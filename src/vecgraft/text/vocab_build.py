"""`build_vocab`: count a corpus's tokens in one streaming pass and build a `Vocab`.

Split from `vecgraft.text.vocab`, which still exports `build_vocab`.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Sized
from typing import TYPE_CHECKING, Any

from vecgraft._util.console import Progress, progress_meter
from vecgraft.errors import (
    ArgumentTypeError,
    ConfigError,
    DataError,
    EmptyCorpusError,
    UnsegmentedTextWarning,
    VocabError,
)
from vecgraft.text.unspaced import unsegmented_warnings
from vecgraft.text.vocab import DEFAULT_SPECIALS, Vocab, _with_specials

if TYPE_CHECKING:
    from vecgraft.text.tokenize import Tokenizer


def build_vocab(
    texts: Iterable[str],
    tokenizer: Tokenizer | Callable[[str], Iterable[str]],
    *,
    min_freq: int = 1,
    max_size: int | None = None,
    specials: Sequence[str] = DEFAULT_SPECIALS,
    pad_token: str | None = "<pad>",
    unk_token: str | None = "<unk>",
    progress: bool | None = None,
) -> Vocab:
    """Count the tokens of a corpus in one streaming pass and build a `Vocab`.

    Args:
        texts: documents (e.g. from `iter_texts`); read once, never held in memory.
        tokenizer: splits each document; its `config` is stored in `metadata["tokenizer"]`
            so the same tokens can be produced later with `Tokenizer.from_config`. A plain
            function from a text to its tokens (`str.split`, torchtext's `get_tokenizer(...)`)
            is accepted too; it cannot be saved, so `metadata["tokenizer"]` is then None and
            `metadata["tokenizer_function"]` holds its name.
        min_freq: drop tokens seen fewer times.
        max_size: keep at most this many non-special tokens (the most frequent).
        specials: special tokens, first ids in this order; `pad_token` and `unk_token` are
            put in front when missing.
        pad_token: the padding token (None: no padding token).
        unk_token: the unknown-word token (None: unknown words raise KeyError).
        progress: None draws a bar on a terminal or in a notebook and, where stderr is a
            file or pipe, a plain line every 30 s (so a short count prints nothing); True
            always draws the bar, False is silent.

    Returns:
        A Vocab whose metadata records the tokenizer, the options and what was read
        (texts, tokens, types, stopwords removed and, for `iter_texts` input, the corpus stats),
        and under "unsegmented" the `unsegmented_warnings` of the tokens counted, when there
        are any: judged before `min_freq` and `max_size` prune the clauses seen once, which
        are most of what a tokenizer that does not segment Chinese or Thai makes. Each
        is also warned as an `UnsegmentedTextWarning` (a UserWarning), to be filtered.

    Raises:
        ConfigError: `tokenizer` is neither a `Tokenizer` nor a function, or the function
            returned a string or a mapping (a `transformers` tokenizer's encoding: pass its
            `.tokenize`) instead of a list of tokens.
        EmptyCorpusError (a DataError): the corpus gave no tokens at all.
        VocabError: `min_freq`/`max_size` left no token besides the specials.
    """
    vocab = _build_vocab(
        texts, tokenizer, min_freq=min_freq, max_size=max_size, specials=specials,
        pad_token=pad_token, unk_token=unk_token, progress=progress,
    )  # fmt: skip
    for line in vocab.metadata.get("unsegmented", []):  # unseen by a Python caller otherwise
        warnings.warn(line, UnsegmentedTextWarning, stacklevel=2)
    return vocab


def _build_vocab(
    texts: Iterable[str],
    tokenizer: Tokenizer | Callable[[str], Iterable[str]],
    *,
    min_freq: int = 1,
    max_size: int | None = None,
    specials: Sequence[str] = DEFAULT_SPECIALS,
    pad_token: str | None = "<pad>",
    unk_token: str | None = "<unk>",
    progress: bool | None = None,
) -> Vocab:
    """`build_vocab` without its `UnsegmentedTextWarning`, for vecgraft's commands.

    `build`, `finetune`, `tune` and `compare` say `metadata["unsegmented"]` in their own
    form (a run log's WARNING line, said once across tune trials): the warning made it
    twice. Silencing it with `warnings.catch_warnings` changed the process-wide filters,
    which two runs in threads could leave set for good.
    """
    _check_documents(texts)
    tok = _as_tokenizer(tokenizer)
    specials = _with_specials(specials, pad_token, unk_token)
    counts, read = _count_tokens(texts, tok, progress)
    metadata = _read_metadata(tok, texts, counts, read, min_freq, max_size)
    unsegmented = unsegmented_warnings(counts.items(), tok.kind)
    if unsegmented:
        metadata["unsegmented"] = unsegmented
    vocab = Vocab.from_counts(
        counts,
        min_freq=min_freq,
        max_size=max_size,
        specials=specials,
        pad_token=pad_token,
        unk_token=unk_token,
        metadata=metadata,
    )
    if len(vocab) == len(specials) and max_size != 0:
        why = f" ({'; '.join(unsegmented)})" if unsegmented else ""  # the clauses were pruned
        raise VocabError(
            f"min_freq={min_freq} keeps no token: the most frequent one occurs "
            f"{max(counts.values())} times{why}"
        )
    return vocab


def _check_documents(texts: Iterable[str]) -> None:
    """A path or one string would be iterated by character: say how to pass files instead."""
    if isinstance(texts, (str, bytes, os.PathLike)):
        raise DataError(
            f"build_vocab takes documents, not a single {type(texts).__name__} "
            f"({str(texts)[:40]!r}); for files use build_vocab(iter_texts(path), tokenizer)"
        )
    if not isinstance(texts, Iterable):  # None failed 6 frames deep: "not iterable"
        given = "None" if texts is None else f"{type(texts).__name__} {texts!r:.40}"
        raise ArgumentTypeError(
            f"build_vocab(): texts must be an iterable of texts (a list, Texts(...) or "
            f"iter_texts(path)), got {given}"
        )


class _FunctionTokenizer:
    """A plain function text -> tokens, with the `stats`, `kind` and `config` of a Tokenizer.

    Its `config` is None: a function cannot be stored, so nothing later rebuilds it.
    """

    config: None = None
    kind = "function"

    def __init__(self, function: Callable[[str], Iterable[str]]) -> None:
        from vecgraft.text.tokenize import TokenizerStats

        self.function = function
        self.stats = TokenizerStats()
        module = getattr(function, "__module__", None)
        name = getattr(function, "__qualname__", None) or type(function).__qualname__
        self.name = f"{module}.{name}" if module and module != "builtins" else name

    def tokenize_stream(self, texts: Iterable[str]) -> Iterator[list[str]]:
        for i, text in enumerate(texts):
            tokens = self.function(text)
            if isinstance(tokens, str | bytes | Mapping):
                raise ConfigError(
                    f"the tokenizer {self.name} returned a {type(tokens).__name__} for "
                    f"document {i}, not a list of tokens; pass a function that returns one "
                    "(for a transformers tokenizer, its .tokenize), or a vecgraft.text.Tokenizer"
                )
            out = list(tokens)
            self.stats.texts += 1
            self.stats.tokens += len(out)
            yield out


def _as_tokenizer(tokenizer: object) -> Tokenizer | _FunctionTokenizer:
    """A `Tokenizer` as it is, a plain function wrapped; anything else is a ConfigError."""
    from vecgraft.text.tokenize import Tokenizer

    if isinstance(tokenizer, Tokenizer):
        return tokenizer
    if callable(tokenizer) and not isinstance(tokenizer, type):
        return _FunctionTokenizer(tokenizer)
    hint = "Tokenizer(lower=True), or a function from a text to its tokens such as str.split"
    got = f"{type(tokenizer).__name__} {tokenizer!r:.40}"
    if isinstance(tokenizer, str):
        hint = f"Tokenizer({tokenizer!r}) for a tokenizer kind by name"
    elif isinstance(tokenizer, type):
        got, hint = f"the class {tokenizer.__name__}", f"{tokenizer.__name__}() (an instance)"
    raise ConfigError(
        f"build_vocab needs a tokenizer, got {got}; pass a vecgraft.text.Tokenizer, e.g. {hint}"
    )


def _count_tokens(
    texts: Iterable[str], tokenizer: Tokenizer | _FunctionTokenizer, progress: bool | None
) -> tuple[Counter[str], dict[str, int]]:
    """(token counts, what this pass read) in one streaming pass; no token at all is an error."""
    before = tokenizer.stats.to_dict()
    counts: Counter[str] = Counter()
    update = counts.update
    shown, bar = _counting_bar(texts, progress)
    with bar:
        for tokens in tokenizer.tokenize_stream(shown):
            update(tokens)
    after = tokenizer.stats.to_dict()
    read = {k: after[k] - before[k] for k in after}
    if not counts:
        removed = read["stopwords_removed"]
        note = f" ({removed} stopwords removed)" if removed else ""
        raise EmptyCorpusError(
            f"empty corpus: {read['texts']} texts gave no tokens{note}; "
            "check the input path, column and tokenizer"
        )
    return counts, read


# seconds between two plain "counting tokens" lines when stderr is no terminal
COUNT_LINE_SECONDS = 30.0


def _counting_bar(texts: Iterable[str], progress: bool | None) -> tuple[Iterable[str], Any]:
    """(the texts, counted as read; what to close): a tqdm bar, or plain lines.

    Where stderr is a pipe or log file (`vecgraft build ... 2> log`), a line every
    `COUNT_LINE_SECONDS` says how many texts were read (`progress_meter`).
    """
    total = len(texts) if isinstance(texts, Sized) else None  # as tqdm(texts) took it
    bar = progress_meter(
        progress, total, "counting tokens", interval=COUNT_LINE_SECONDS,
        lines_desc="counting tokens (texts)", unit=" texts", iterable=texts,
    )  # fmt: skip
    # a tqdm bar iterates the texts on its own fast path; plain lines count them one by one
    return (_ticking(texts, bar) if isinstance(bar, Progress) else bar), bar


def _ticking(texts: Iterable[str], bar: Any) -> Iterator[str]:
    for text in texts:
        bar.update(1)
        yield text


def _read_metadata(
    tokenizer: Tokenizer | _FunctionTokenizer,
    texts: Iterable[str],
    counts: Counter[str],
    read: dict[str, int],
    min_freq: int,
    max_size: int | None,
) -> dict[str, Any]:
    """What the vocabulary was built from: tokenizer, options, counts and corpus stats."""
    metadata: dict[str, Any] = {
        "tokenizer": tokenizer.config,
        "min_freq": min_freq,
        "max_size": max_size,
        "texts": read["texts"],
        "tokens": read["tokens"],
        "types": len(counts),
        "stopwords_removed": read["stopwords_removed"],
    }
    if isinstance(tokenizer, _FunctionTokenizer):
        metadata["tokenizer_function"] = tokenizer.name
    stats = getattr(texts, "stats", None)
    if stats is not None and hasattr(stats, "to_dict"):
        metadata["corpus"] = stats.to_dict()
    return metadata
