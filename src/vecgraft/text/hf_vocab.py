"""Read the token list of a transformer tokenizer (tokenizers / transformers, extra `hf`).

Kept apart from `vocab.py` because it is the only part of `vecgraft.text` that knows about
Hugging Face objects; nothing here touches the network (`local_files_only=True`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vecgraft._util.extras import require
from vecgraft._util.jsonfile import RECORD_LIMIT, read_json_file
from vecgraft.errors import VocabError

_PAD_CANDIDATES = ("[PAD]", "<pad>", "<PAD>", "<|pad|>", "[pad]")
_UNK_CANDIDATES = ("[UNK]", "<unk>", "<UNK>", "<|unk|>", "[unk]")


@dataclass(frozen=True)
class TransformerVocab:
    """Tokens in id order plus which of them are special."""

    tokens: list[str]
    specials: list[str]
    pad_token: str | None
    unk_token: str | None
    origin: str


def read_transformer_vocab(source: str | os.PathLike[str] | Any) -> TransformerVocab:
    """Tokens of a tokenizer folder/file or object, keeping its ids (see Vocab docs)."""
    if isinstance(source, (str, os.PathLike)):
        return _from_path(Path(source))
    if hasattr(source, "all_special_tokens") and hasattr(source, "get_vocab"):
        return _from_transformers(source, type(source).__name__)
    if hasattr(source, "get_added_tokens_decoder") and hasattr(source, "get_vocab"):
        return _from_tokenizers(source, type(source).__name__, {})
    raise VocabError(
        f"cannot read a vocabulary from a {type(source).__name__}; pass a tokenizer folder, "
        "a tokenizer.json, a tokenizers.Tokenizer or a transformers tokenizer"
    )


def _from_path(path: Path) -> TransformerVocab:
    if not path.exists():
        raise VocabError(f"{path}: no such tokenizer file or folder")
    folder = path if path.is_dir() else path.parent
    overrides = _config_specials(folder / "tokenizer_config.json")
    tokenizer_json = path if path.is_file() else folder / "tokenizer.json"
    if path.is_file() and path.name.endswith(".txt"):
        return _from_vocab_txt(path, overrides)
    if tokenizer_json.is_file():
        tokenizers = require("tokenizers", "hf", feature="reading a transformer tokenizer")
        try:
            tok = tokenizers.Tokenizer.from_file(str(tokenizer_json))
        except Exception as exc:
            if type(exc) is not Exception:  # the Rust binding raises plain `Exception` only
                raise
            raise VocabError(f"{tokenizer_json}: not a tokenizers file ({exc})") from None
        return _from_tokenizers(tok, str(tokenizer_json), overrides)
    if (folder / "vocab.txt").is_file():
        return _from_vocab_txt(folder / "vocab.txt", overrides)
    transformers = require("transformers", "hf", feature="reading a transformer tokenizer")
    try:
        tok = transformers.AutoTokenizer.from_pretrained(  # never run a folder's own code
            str(folder), local_files_only=True, trust_remote_code=False, use_fast=True
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise VocabError(f"{folder}: no tokenizer found ({exc})") from None
    return _from_transformers(tok, str(folder))


def _from_vocab_txt(path: Path, overrides: Mapping[str, str]) -> TransformerVocab:
    """WordPiece `vocab.txt`: token i is on line i + 1."""
    from vecgraft.text.utf8 import read_utf8

    tokens = read_utf8(path, "vocab.txt", error=VocabError).splitlines()
    specials = [t for t in tokens if _looks_special(t)]
    return _finish(tokens, specials, overrides, str(path))


def _from_tokenizers(tok: Any, origin: str, overrides: Mapping[str, str]) -> TransformerVocab:
    tokens = _ordered(tok.get_vocab(with_added_tokens=True), origin)
    added = tok.get_added_tokens_decoder()
    specials = [added[i].content for i in sorted(added) if added[i].special]
    unk = getattr(tok.model, "unk_token", None)
    padding = tok.padding or {}
    guesses = dict(overrides)
    if unk and "unk_token" not in guesses:
        guesses["unk_token"] = unk
    if padding.get("pad_token") and "pad_token" not in guesses:
        guesses["pad_token"] = padding["pad_token"]
    return _finish(tokens, specials, guesses, origin)


def _from_transformers(tok: Any, origin: str) -> TransformerVocab:
    tokens = _ordered(tok.get_vocab(), origin)
    index = {t: i for i, t in enumerate(tokens)}
    specials = sorted((t for t in tok.all_special_tokens if t in index), key=index.__getitem__)
    guesses = {k: getattr(tok, k) for k in ("pad_token", "unk_token") if getattr(tok, k, None)}
    return _finish(tokens, specials, guesses, origin)


def _ordered(vocab: Mapping[str, int], origin: str) -> list[str]:
    """Tokens sorted by id; ids must be exactly 0..n-1 so they can index an embedding."""
    tokens: list[str | None] = [None] * len(vocab)
    for token, idx in vocab.items():
        if not 0 <= idx < len(tokens) or tokens[idx] is not None:
            raise VocabError(f"{origin}: token ids are not 0..{len(vocab) - 1} (id {idx})")
        tokens[idx] = token
    return [t for t in tokens if t is not None]


def _finish(
    tokens: list[str], specials: list[str], guesses: Mapping[str, str], origin: str
) -> TransformerVocab:
    present = set(tokens)
    pad = _pick(guesses.get("pad_token"), _PAD_CANDIDATES, present)
    unk = _pick(guesses.get("unk_token"), _UNK_CANDIDATES, present)
    specials = list(dict.fromkeys([*specials, *(t for t in (pad, unk) if t is not None)]))
    return TransformerVocab(tokens, specials, pad, unk, origin)


def _pick(guess: str | None, candidates: tuple[str, ...], present: set[str]) -> str | None:
    if guess is not None and guess in present:
        return guess
    return next((c for c in candidates if c in present), None)


def _looks_special(token: str) -> bool:
    return (token.startswith("[") and token.endswith("]") and len(token) > 2) or (
        token.startswith("<") and token.endswith(">") and len(token) > 2
    )


def _config_specials(path: Path) -> dict[str, str]:
    """pad/unk token names from a `tokenizer_config.json`, when there is one."""
    if not path.is_file():
        return {}
    try:
        config = read_json_file(path, limit=RECORD_LIMIT)
    except (OSError, ValueError):
        return {}
    found: dict[str, str] = {}
    for key in ("pad_token", "unk_token"):
        value = config.get(key) if isinstance(config, dict) else None
        if isinstance(value, dict):
            value = value.get("content")
        if isinstance(value, str):
            found[key] = value
    return found
