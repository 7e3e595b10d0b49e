"""Tokenizer helpers: load locally, spell a word as the model sees it, list whole-word tokens.

Byte-level BPE tokenizers (GPT-2, RoBERTa) give a word a different token when it follows a
space ("Ġcat") than at the start of a text ("cat"). Words occur mid-sentence far more often,
so a word is tokenised with a leading space for those tokenizers, in every mode.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vecgraft._util.extras import require
from vecgraft.errors import FormatError

_BRACKETED = re.compile(r"^(\[.*\]|<.*>)$")
# Scripts written without spaces between words (Thai, Lao, Tibetan, Myanmar, Khmer, kana,
# CJK): a word in them sits inside a run of letters, so it is matched there, not whole.
UNSPACED = re.compile(
    "[\u0e00-\u0eff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]"
)


def load_tokenizer(path: Path) -> Any:
    """The checkpoint's fast tokenizer, from local files only, never running remote code."""
    transformers = require("transformers", "hf", feature="reading transformer checkpoints")
    if not path.is_dir():  # transformers would take it for a hub name and explain its cache
        raise FormatError(
            "expected a local checkpoint folder (config.json + model.safetensors or "
            "pytorch_model.bin); hub names are not downloaded",
            path=path,
        )
    try:
        tok = transformers.AutoTokenizer.from_pretrained(
            str(path), local_files_only=True, trust_remote_code=False, use_fast=True
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FormatError(
            "cannot load the tokenizer (expected tokenizer.json, vocab.txt for WordPiece or "
            f"vocab.json + merges.txt for BPE): {' '.join(str(exc).split())}",
            path=path,
        ) from exc
    if not getattr(tok, "is_fast", False):
        raise FormatError(
            "a fast (Rust) tokenizer is needed for word offsets; add tokenizer.json", path=path
        )
    _check_not_blank(tok, path)
    return tok


def _check_not_blank(tok: Any, path: Path) -> None:
    """Refuse a tokenizer that knows only its special tokens.

    transformers builds one, without an error, for a folder that has config.json but no
    tokenizer files: every word became `[UNK]` (vectors silently dropped), and a graft gave
    its first new token id 5, overwriting the trained row 5 of the model.
    """
    specials = set(tok.all_special_tokens)
    if any(token not in specials for token in tok.get_vocab()):
        return
    seen = ", ".join(sorted(p.name for p in path.iterdir())[:20]) if path.is_dir() else ""
    raise FormatError(
        "no tokenizer vocabulary: expected tokenizer.json, vocab.txt for WordPiece or "
        f"vocab.json + merges.txt for BPE; the folder holds {seen or 'nothing'}",
        path=path,
    )


def pre_tokenizer_kinds(tok: Any) -> set[str]:
    """Types of the tokenizer's pre-tokenizer(s), e.g. {"ByteLevel"} or {"BertPreTokenizer"}."""
    spec = json.loads(tok.backend_tokenizer.to_str()).get("pre_tokenizer") or {}
    kinds: set[str] = set()
    stack = [spec]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "type" in node:
                kinds.add(str(node["type"]))
            stack.extend(node.get("pretokenizers") or [])
    return kinds


def leading_space(tok: Any) -> bool:
    """Whether words should be spelt with a leading space (byte-level BPE, see module doc)."""
    return "ByteLevel" in pre_tokenizer_kinds(tok)


def spell(words: Sequence[str], tok: Any) -> list[str]:
    """Each word as the text to tokenise (with a leading space for byte-level BPE)."""
    return [" " + w for w in words] if leading_space(tok) else list(words)


def encode_words(tok: Any, texts: Sequence[str]) -> list[list[int]]:
    """Token ids of each text, without special tokens, padding or truncation.

    Calls the Rust tokenizer directly (the Python wrapper's per-text conversion costs more than
    the tokenisation itself on 100k words), on a copy with padding and truncation switched off:
    a tokenizer.json may pad every text to 128 tokens, and the caller's tokenizer is not ours
    to reconfigure.
    """
    if not texts:
        return []
    backend = plain_backend(tok)
    return [e.ids for e in backend.encode_batch(list(texts), add_special_tokens=False)]


def plain_backend(tok: Any) -> Any:
    """A copy of the Rust tokenizer without padding or truncation (the caller's is not ours)."""
    from tokenizers import Tokenizer

    backend = Tokenizer.from_str(tok.backend_tokenizer.to_str())
    backend.no_padding()
    backend.no_truncation()
    return backend


@dataclass(frozen=True)
class WordMarks:
    """How a tokenizer's vocabulary tells whole words from word pieces.

    Attributes:
        start: what a word-initial token starts with ("Ġ" byte-level BPE, "▁" SentencePiece),
            stripped from the word.
        piece: what a continuation piece starts with ("##" WordPiece); other tokens are words.
        end: what a word-final token ends with ("</w>" in CLIP's and the original GPT's BPE),
            stripped from the word.

    All three empty: every token is a word (a WordLevel vocabulary).
    """

    start: str = ""
    piece: str = ""
    end: str = ""


def _model_spec(tok: Any) -> dict[str, Any]:
    """The tokenizer model's settings (its "type", prefixes and suffixes) from the Rust side."""
    spec = json.loads(tok.backend_tokenizer.to_str()).get("model")
    return spec if isinstance(spec, dict) else {}


def word_marks(tok: Any) -> WordMarks | None:
    """How `tok`'s vocabulary marks word boundaries; None when it does not say.

    Taken from the model's own settings (a word-end suffix, a continuation prefix), the
    pre-tokenizer (ByteLevel, Metaspace) or a WordLevel model, else from the prefix most
    tokens carry (LLaMA-style tokenizers prepend "▁" in the normalizer and have no
    pre-tokenizer). None for BPE or Unigram vocabularies without any of these (a BPE
    trained after a plain whitespace split): their tokens "cat" and "nbe" look alike, so
    which ones are whole words cannot be read off the vocabulary.
    """
    model = _model_spec(tok)
    # the model's own marks first: CLIP's BPE marks word ends ("</w>") behind a ByteLevel
    # pre-tokenizer, whose "Ġ" its vocabulary never carries
    if model.get("end_of_word_suffix"):
        return WordMarks(end=str(model["end_of_word_suffix"]))
    if model.get("continuing_subword_prefix"):
        return WordMarks(piece=str(model["continuing_subword_prefix"]))
    kinds = pre_tokenizer_kinds(tok)
    if "ByteLevel" in kinds:
        return WordMarks(start="Ġ")
    if "Metaspace" in kinds:
        return WordMarks(start="▁")
    if model.get("type") == "WordLevel":
        return WordMarks()
    tokens = list(tok.get_vocab())
    counts = {m: sum(t.startswith(m) for t in tokens) for m in ("Ġ", "▁")}
    best = max(counts, key=lambda m: counts[m])
    return WordMarks(start=best) if counts[best] > len(tokens) // 10 else None


def whole_word_tokens(tok: Any, *, path: Path | None = None) -> list[str]:
    """The tokenizer's own whole-word tokens in id order (no specials, no continuation pieces).

    WordPiece: tokens not starting with "##". Byte-level BPE: tokens starting with "Ġ" (the
    space marker), without it. SentencePiece: tokens starting with "▁", without it.
    WordLevel: every token. Tokens with no letter or digit and bracketed placeholders
    ("[unused3]", "<mask>") are left out.

    Raises:
        FormatError: (naming `path`) the vocabulary does not mark word starts or pieces
            (`word_marks`): listing its tokens gave word pieces ("nbe") as words. A BPE
            that marks word ends only (CLIP's and the original GPT's "</w>") is one: a
            token ending in "</w>" ends a word but need not be one ("ing</w>" of
            "playing", "ly</w>"), and which are whole words the vocabulary does not say.
            Also where the marks match no token: an empty list would graft nothing
            without a word of why.
    """
    marks = word_marks(tok)
    give = ("so words and pieces look alike; give the words (a list in Python, "
            "--words FILE or --vocab with from-transformer)")  # fmt: skip
    if marks is None:
        raise FormatError(
            f"cannot list the tokenizer's whole words: its {_vocabulary(tok)} "
            f"marks neither word starts (Ġ, ▁), word ends (</w>) nor word pieces "
            f"(##), {give}",
            path=path,
        )
    if marks.end and not (marks.start or marks.piece):
        raise FormatError(
            f"cannot list the tokenizer's whole words: its {_vocabulary(tok)} "
            f"marks word ends only ({marks.end}), and a token ending in one ends "
            f"a word without being one (ing{marks.end} of playing), {give}",
            path=path,
        )
    words = marked_words(tok, marks)
    if not words:
        raise FormatError(
            f"cannot list the tokenizer's whole words: no token of its "
            f"{_vocabulary(tok)} is a word by its marks "
            f"({_spelled(marks)}), {give}",
            path=path,
        )
    return words


def _vocabulary(tok: Any) -> str:
    """The refusals' name for the vocabulary, with its model's kind ("BPE vocabulary").

    Called on the error paths only: it serialises the tokenizer again.
    """
    kind = str(_model_spec(tok).get("type") or "")
    return f"{kind} vocabulary" if kind else "vocabulary"


def _spelled(marks: WordMarks) -> str:
    """The marks as a message names them: "Ġ", "## (pieces)", "none"."""
    named = [marks.start, marks.piece and f"{marks.piece} (pieces)", marks.end]
    return ", ".join(m for m in named if m) or "none"


def marked_words(tok: Any, marks: WordMarks) -> list[str]:
    """`whole_word_tokens` by the given marks (`WordMarks()`: every token is a candidate)."""
    specials = set(tok.all_special_tokens)
    vocab = sorted(tok.get_vocab().items(), key=lambda item: item[1])
    words: list[str] = []
    for token, _ in vocab:
        if token in specials or _BRACKETED.match(token):
            continue
        if marks.piece and token.startswith(marks.piece):
            continue
        if marks.start:
            if not token.startswith(marks.start):
                continue
            if marks.start == "Ġ" and not token[1:].isascii():
                # byte-level BPE spells non-ASCII bytes with stand-in characters; decode them
                token = tok.convert_tokens_to_string([token])[1:]
            else:
                token = token[len(marks.start) :]
        if marks.end:
            if not token.endswith(marks.end):
                continue
            token = token[: -len(marks.end)]
        # "\ufffd": a byte-level piece that ends inside a multi-byte character
        if any(c.isalnum() for c in token) and "\ufffd" not in token:
            words.append(token)
    return list(dict.fromkeys(words))
