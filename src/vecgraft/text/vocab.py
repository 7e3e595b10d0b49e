"""`Vocab`: token <-> id, with counts, special tokens and a deterministic order.

Order is specials first, then frequency (descending), then first appearance, so two builds
from the same corpus give the same ids on any machine.
"""

from __future__ import annotations

import operator
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vecgraft._util.jsonfile import VOCAB_LIMIT, JsonFileError, read_json_file
from vecgraft._util.lazy import lazy_exports
from vecgraft.errors import ConfigError, UnknownTokenError, VocabError
from vecgraft.text.padding import Side as Side
from vecgraft.text.padding import _is_pair, _label_tensor, _side
from vecgraft.text.padding import pad_ids as pad_ids

if TYPE_CHECKING:
    import torch

    from vecgraft.vectors import Vectors

DEFAULT_SPECIALS: tuple[str, ...] = ("<pad>", "<unk>")

# `build_vocab` lives in `vecgraft.text.vocab_build` (it imports this module); still
# importable from here.
__getattr__, _ = lazy_exports(__name__, {"build_vocab": "vecgraft.text.vocab_build"})


class Vocab:
    """A vocabulary: `tokens[i]` has id `i`; specials come first.

    Args:
        tokens: tokens in id order (specials included), unique.
        counts: corpus counts per token (specials may be absent: count 0).
        specials: which of `tokens` are special (e.g. "<pad>", "<unk>", "[CLS]").
        pad_token: the padding token (id used for padding and a zero embedding row), or None.
        unk_token: the token unknown words map to, or None (then unknown words raise).
        metadata: how the vocabulary was built (tokenizer settings, corpus), kept in JSON.

    Example:
        >>> v = Vocab.from_counts({"b": 1, "a": 2})
        >>> v.tokens, v["a"], v["zzz"] == v.unk_index
        (['<pad>', '<unk>', 'a', 'b'], 2, True)
    """

    def __init__(
        self,
        tokens: Sequence[str],
        counts: Mapping[str, int] | None = None,
        *,
        specials: Sequence[str] = DEFAULT_SPECIALS,
        pad_token: str | None = "<pad>",
        unk_token: str | None = "<unk>",
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(tokens, str):  # a string is a sequence of characters, not of tokens
            raise VocabError(f"tokens must be a list of strings, not one string {tokens[:40]!r}")
        self.tokens: list[str] = list(tokens)
        # the index, not the token: a None token would read as "nothing found"
        bad = next((i for i, t in enumerate(self.tokens) if not isinstance(t, str)), None)
        if bad is not None:
            token = self.tokens[bad]
            raise VocabError(
                f"tokens must be strings, found {type(token).__name__} {token!r} at id {bad}"
            )
        if pad_token is not None and pad_token == unk_token:  # padding must stay a zero row
            raise VocabError(f"pad_token and unk_token must differ, both are {pad_token!r}")
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.tokens)}
        if len(self.stoi) != len(self.tokens):
            dupes = [t for t, c in Counter(self.tokens).items() if c > 1][:5]
            raise VocabError(f"vocabulary tokens must be unique; duplicated: {dupes}")
        self.counts: dict[str, int] = {t: int(c) for t, c in (counts or {}).items()}
        self.specials: list[str] = [s for s in specials if s in self.stoi]
        for name, tok in (("pad_token", pad_token), ("unk_token", unk_token)):
            if tok is not None and tok not in self.stoi:
                role = "padding" if name == "pad_token" else "unknown-word"
                raise VocabError(
                    f"{name} {tok!r} is not in the vocabulary; put it in tokens (specials "
                    f"first, e.g. ['<pad>', '<unk>', *words]), or pass {name}=None for no "
                    f"{role} token (Vocab.from_counts adds the missing ones itself)"
                )
        self.pad_token = pad_token
        self.unk_token = unk_token
        self.metadata: dict[str, Any] = dict(metadata or {})

    # -- construction --------------------------------------------------------------------
    @classmethod
    def from_counts(
        cls,
        counts: Mapping[str, int],
        *,
        min_freq: int = 1,
        max_size: int | None = None,
        specials: Sequence[str] = DEFAULT_SPECIALS,
        pad_token: str | None = "<pad>",
        unk_token: str | None = "<unk>",
        metadata: Mapping[str, Any] | None = None,
    ) -> Vocab:
        """Build from token counts, most frequent first.

        Ties in frequency keep the mapping's (insertion) order, which is first appearance
        for a `Counter` filled while streaming a corpus.

        `max_size` counts non-special tokens only. `pad_token` and `unk_token` are put in
        front of `specials` when missing (a renamed one replaces the default spelling, None
        removes it), as `build_vocab` does.
        """
        if not isinstance(counts, Mapping):  # a token list: .items() was an AttributeError
            raise VocabError(
                f"counts must map each token to its count (a dict or Counter), got "
                f"{type(counts).__name__}; for token lists use Vocab.from_tokens(docs), for "
                f"tokens already in id order Vocab(tokens)"
            )
        if counts and min(counts.values()) < 0:  # silently dropped, as if never seen
            token, count = next((t, c) for t, c in counts.items() if c < 0)
            raise VocabError(f"counts must be >= 0, got {count} for {token!r}")
        if min_freq < 1:
            raise VocabError(f"min_freq must be >= 1, got {min_freq}")
        if max_size is not None and max_size < 0:  # [:-n] would drop the n rarest instead
            raise VocabError(f"max_size must be >= 0 or None, got {max_size}")
        specials = _with_specials(specials, pad_token, unk_token)
        special_set = set(specials)
        kept = [t for t, c in counts.items() if c >= min_freq and t not in special_set]
        # sort is stable even with reverse=True: equal counts keep first-appearance order
        kept.sort(key=counts.__getitem__, reverse=True)
        if max_size is not None:
            kept = kept[:max_size]
        return cls(
            [*specials, *kept],
            {t: counts[t] for t in kept},
            specials=specials,
            pad_token=pad_token,
            unk_token=unk_token,
            metadata=metadata,
        )

    @classmethod
    def from_tokens(cls, docs: Iterable[Iterable[str]], **kwargs: Any) -> Vocab:
        """Build from tokenized documents (an iterable of token lists), streaming.

        `kwargs` are `from_counts`'s. A document that is a string (raw text, or a flat list
        of tokens passed as if each token were a document) is a VocabError, as in `encode`:
        counted, its characters became the vocabulary. Raw text goes through a tokenizer
        first: `Vocab.from_tokens(map(tokenizer, texts))` or `build_vocab(texts, tokenizer)`.

        Example:
            >>> Vocab.from_tokens([["a", "cat"], ["a", "dog"]]).tokens
            ['<pad>', '<unk>', 'a', 'cat', 'dog']
        """
        if isinstance(docs, str):
            raise VocabError(
                f"from_tokens takes token lists, not one string {docs[:40]!r}; tokenize it "
                f"first, e.g. Vocab.from_tokens([tokenizer(text)])"
            )
        counts: Counter[str] = Counter()
        for i, doc in enumerate(docs):
            if isinstance(doc, str):
                raise _string_document(
                    "from_tokens",
                    i,
                    "e.g. Vocab.from_tokens(map(tokenizer, texts)) or build_vocab(texts, "
                    "tokenizer); one list of tokens is one document: from_tokens([tokens])",
                )
            counts.update(doc)
        return cls.from_counts(counts, **kwargs)

    @classmethod
    def from_vectors(
        cls,
        vectors: Vectors,
        top_n: int | None = None,
        *,
        specials: Sequence[str] = DEFAULT_SPECIALS,
        pad_token: str | None = "<pad>",
        unk_token: str | None = "<unk>",
    ) -> Vocab:
        """The first `top_n` words of a vector file (its own order: usually by frequency).

        Useful when there is no corpus: the vectors' vocabulary *is* the vocabulary. Words
        equal to a special token are not repeated. Counts are unknown, so all are 0.

        Example:
            >>> import numpy as np
            >>> from vecgraft.vectors import Vectors
            >>> Vocab.from_vectors(Vectors(["the", "a", "of"], np.zeros((3, 2))), 2).tokens
            ['<pad>', '<unk>', 'the', 'a']
        """
        if top_n is not None and top_n < 0:
            raise VocabError(f"top_n must be >= 0, got {top_n}")
        specials = _with_specials(specials, pad_token, unk_token)
        words = vectors.words if top_n is None else vectors.words[:top_n]
        special_set = set(specials)
        kept = [w for w in dict.fromkeys(words) if w not in special_set]
        metadata = {"source": "vectors", "vectors": vectors.source, "top_n": top_n}
        return cls(
            [*specials, *kept],
            specials=specials,
            pad_token=pad_token,
            unk_token=unk_token,
            metadata=metadata,
        )

    @classmethod
    def from_transformer_tokenizer(
        cls, source: str | os.PathLike[str] | Any, *, unk_may_be_pad: bool = False
    ) -> Vocab:
        """The vocabulary of a transformer tokenizer, with its own ids (extra `hf`).

        Args:
            source: a local folder (with `tokenizer.json`, or a WordPiece `vocab.txt`, or
                anything `transformers.AutoTokenizer` loads offline), a `tokenizer.json`
                file, a `tokenizers.Tokenizer`, or a `transformers` tokenizer.
            unk_may_be_pad: where the tokenizer's unknown token is also its pad token, keep
                it as the pad token only instead of refusing the pair. For a GPT-2 tokenizer
                padded with its end-of-text token, which is also its unknown one: byte-level
                BPE spells every text without an unknown token.

        Ids are kept exactly (token `i` has id `i`), so the vocabulary indexes the model's
        own embedding matrix; its special tokens stay where the tokenizer put them.
        """
        from vecgraft.text import hf_vocab

        found = hf_vocab.read_transformer_vocab(source)
        shared = unk_may_be_pad and found.unk_token == found.pad_token
        return cls(
            found.tokens,
            specials=found.specials,
            pad_token=found.pad_token,
            unk_token=None if shared else found.unk_token,
            metadata={"source": "transformer", "transformer_tokenizer": found.origin},
        )

    def extended(self, words: Iterable[str], **metadata: Any) -> Vocab:
        """A copy with the `words` it lacks appended (count 0), in their order.

        Every existing id is unchanged, so a model's trained rows stay where they are;
        `metadata` is merged into the new vocabulary's (e.g. where the words came from).
        """
        extra = [w for w in dict.fromkeys(words) if w not in self.stoi]
        return Vocab(
            [*self.tokens, *extra],
            self.counts,
            specials=self.specials,
            pad_token=self.pad_token,
            unk_token=self.unk_token,
            metadata={**self.metadata, **metadata},
        )

    # -- lookups -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        """Id of `token`; unknown tokens get `unk_index`.

        With no unk token a missing token is an UnknownTokenError (a VocabError and a
        KeyError) naming it.

        A non-string is a VocabError: `vocab[3]` (an id, as torchtext users try) gave the unk
        id silently. Checked on a miss only, so a known token costs one dict lookup.
        """
        try:
            idx = self.stoi.get(token)
        except TypeError:  # unhashable: a list where a token was expected
            idx = None
        if idx is not None:
            return idx
        if not isinstance(token, str):
            raise _not_a_token(token)
        if self.unk_token is None:
            raise _unknown_token(token)
        return self.stoi[self.unk_token]

    def __iter__(self) -> Iterator[str]:
        """The tokens in id order (`list(vocab) == vocab.tokens`), as torchtext's `itos`.

        Without it `for t in vocab` fell back to `vocab[0]`, a VocabError about ids.
        """
        return iter(self.tokens)

    @property
    def itos(self) -> list[str]:
        """Id -> token (alias of `tokens`, the torchtext name)."""
        return self.tokens

    @property
    def pad_index(self) -> int | None:
        """Id of the padding token, or None."""
        return None if self.pad_token is None else self.stoi[self.pad_token]

    @property
    def unk_index(self) -> int | None:
        """Id of the unknown-word token, or None."""
        return None if self.unk_token is None else self.stoi[self.unk_token]

    def lookup_ids(self, tokens: Iterable[str]) -> list[int]:
        """Ids of `tokens` (unknown -> unk id; with no unk token, an UnknownTokenError).

        One string is a VocabError, as in `from_tokens`: looked up, its characters would
        silently become the tokens.
        """
        if isinstance(tokens, str):
            raise VocabError(
                f"lookup_ids takes a list of tokens, not one string {tokens[:40]!r}; for one "
                f"token pass [token] (or use vocab[token]), for text tokenize it first"
            )
        return [self[t] for t in tokens]

    def lookup_tokens(self, ids: Iterable[int]) -> list[str]:
        """Tokens of `ids` (ints, numpy ints, or a 1-D array or tensor).

        An id outside the vocabulary is a VocabError: a negative one would silently be read
        from the end of the list. So is a batch (a 2-D tensor): look up its rows one by one,
        `[vocab.lookup_tokens(row) for row in ids]`.
        """
        shape = getattr(ids, "shape", None)
        if shape is not None and len(shape) != 1:
            fix = (
                "for one id pass [id]"
                if len(shape) == 0
                else "for a batch look up each row: [vocab.lookup_tokens(row) for row in ids]"
            )
            raise VocabError(
                f"lookup_tokens takes a 1-D sequence of ids, got shape {tuple(shape)}; {fix}"
            )
        tokens, last = self.tokens, len(self.tokens) - 1
        out: list[str] = []
        for i in ids:
            try:
                row = operator.index(i)
            except TypeError:
                raise VocabError(
                    f"ids must be integers, found {type(i).__name__} {i!r:.40}"
                ) from None
            if not 0 <= row <= last:
                raise VocabError(f"id {row} is outside the vocabulary (ids 0..{last})")
            out.append(tokens[row])
        return out

    def count(self, token: str) -> int:
        """Corpus count of `token` (0 for specials and unknown tokens)."""
        return self.counts.get(token, 0)

    # -- batches -------------------------------------------------------------------------
    def encode(
        self,
        docs: Sequence[Sequence[str]],
        *,
        max_length: int | None = None,
        padding_side: str | Side = Side.RIGHT,
        truncation_side: str | Side = Side.RIGHT,
        device: str | torch.device | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Token lists -> padded ids [batch, seq_len] and lengths [batch] (both int64).

        `seq_len` is the longest (truncated) document, and at least 1 so that a batch of
        empty documents is still a valid model input; `lengths` holds the true lengths
        (0 for an empty document). No documents at all give ids of shape (0, 0) and lengths
        (0,), as `pad_ids` does: the `vecgraft.nn` models take that batch too.

        Args:
            docs: tokenized documents (lists of strings, not raw strings).
            max_length: keep at most this many tokens per document.
            padding_side: "right" (pad after the tokens) or "left". The `vecgraft.nn`
                models read the first lengths[i] positions, so they need "right" (a
                left-padded batch is a DataError there); "left" is for other consumers.
            truncation_side: "right" (drop the end) or "left" (drop the beginning).
            device: where to put the tensors.

        Example:
            >>> v = Vocab.from_counts({"a": 2, "b": 1})
            >>> ids, lengths = v.encode([["a", "b", "a"], ["b"]], padding_side="left")
            >>> ids.tolist(), lengths.tolist()
            ([[2, 3, 2], [0, 0, 3]], [3, 1])
        """
        pad = self.pad_index
        if pad is None:
            raise VocabError("encode needs a padding token; this vocabulary has none")
        if max_length is not None and max_length < 1:
            raise ConfigError(f"max_length must be >= 1, got {max_length}")
        if device is not None:  # "cuda" on a CPU-only torch: a ConfigError, not an assert
            from vecgraft._util.device import resolve_device

            device = resolve_device(device)
        pad_left = _side(padding_side, "padding_side") is Side.LEFT
        cut_left = _side(truncation_side, "truncation_side") is Side.LEFT
        rows: list[list[int]] = []
        for i, doc in enumerate(docs):
            if isinstance(doc, str):
                raise _string_document("encode", i)
            try:
                ids = self.lookup_ids(doc)
            except UnknownTokenError as exc:  # no unk token: say which document
                raise UnknownTokenError(f"document {i}: {exc}") from None
            except (VocabError, TypeError) as exc:  # ids, a tensor, a number: say which
                if not _has_non_str(doc):
                    raise
                raise VocabError(
                    f"encode takes token lists of str (tokenize texts first), but document "
                    f"{i} is {_shown(doc)}"
                ) from exc
            if max_length is not None and len(ids) > max_length:
                ids = ids[-max_length:] if cut_left else ids[:max_length]
            rows.append(ids)
        return pad_ids(rows, pad, left=pad_left, device=device)

    def collate(
        self,
        batch: Sequence[Any],
        *,
        max_length: int | None = None,
        padding_side: str | Side = Side.RIGHT,
    ) -> tuple[torch.Tensor, ...]:
        """DataLoader `collate_fn`: (tokens, label) pairs -> (ids [B, T], lengths [B], labels [B]).

        A batch of bare token lists gives (ids, lengths). Labels must already be numbers
        (class ids); use `functools.partial(vocab.collate, max_length=...)` for options.
        Keep padding_side="right" (the default) for the `vecgraft.nn` models: they read the
        first lengths[i] positions and refuse a left-padded batch (see `Vocab.encode`).

        Example:
            >>> v = Vocab.from_counts({"a": 1})
            >>> [t.tolist() for t in v.collate([(["a"], 1), ([], 0)])]
            [[[2], [0]], [1, 0], [1, 0]]
        """
        import torch

        first = batch[0] if batch else None
        if (
            isinstance(first, tuple | list)
            and len(first) == 2
            and isinstance(first[0], str)
            and not isinstance(first[1], str)
        ):
            # ("a cat", 1) was read as the token list ["a cat", 1]: its label became <unk>
            raise VocabError(
                "collate expects (tokens, label) pairs, but item 0 holds a string; tokenize "
                "it first, e.g. (tokenizer(text), label)"
            )
        if isinstance(first, tuple | list) and _is_id_pair(first):
            raise VocabError(
                f"collate expects (tokens, label) pairs with tokens a list of str, but item "
                f"0's tokens are {_shown(first[0])}; collate encodes tokens itself and takes "
                "no ids: pass the tokens, or pad ids with "
                "vecgraft.text.padding.pad_ids(rows, vocab.pad_index)"
            )
        if batch and _is_pair(batch[0]):
            docs = [item[0] for item in batch]
            labels = [item[1] for item in batch]
            ids, lengths = self.encode(docs, max_length=max_length, padding_side=padding_side)
            return ids, lengths, _label_tensor(labels, torch)
        ids, lengths = self.encode(batch, max_length=max_length, padding_side=padding_side)
        return ids, lengths

    def __eq__(self, other: object) -> bool:
        # a count of 0 and no count are one thing: vocab.json stores 0 for both, so a
        # vocabulary with a zero count did not compare equal to itself saved and loaded
        return (
            isinstance(other, Vocab)
            and self.tokens == other.tokens
            and {t: c for t, c in self.counts.items() if c}
            == {t: c for t, c in other.counts.items() if c}
            and self.pad_token == other.pad_token
            and self.unk_token == other.unk_token
        )

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens, specials={self.specials})"

    # -- persistence ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-able form; `tokens` lists the tokens in id order."""
        return {
            "tokens": self.tokens,
            "counts": [self.counts.get(t, 0) for t in self.tokens],
            "specials": self.specials,
            "pad_token": self.pad_token,
            "unk_token": self.unk_token,
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "vocab") -> Vocab:
        """Inverse of `to_dict`; a missing or malformed field is a VocabError naming `source`."""
        try:
            tokens = list(data["tokens"])
            raw_counts = data.get("counts") or [0] * len(tokens)
            if len(raw_counts) != len(tokens):
                raise VocabError(f"{source}: {len(tokens)} tokens but {len(raw_counts)} counts")
            return cls(
                tokens,
                {t: int(c) for t, c in zip(tokens, raw_counts) if int(c) > 0},
                specials=data.get("specials", []),
                pad_token=data.get("pad_token"),
                unk_token=data.get("unk_token"),
                metadata=data.get("metadata"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise VocabError(f"{source}: not a vecgraft vocabulary ({exc!r})") from exc

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write human-readable JSON atomically (one token per line in the `tokens` list)."""
        from vecgraft._util.atomic import atomic_write_json

        atomic_write_json(path, self.to_dict(), indent=1)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Vocab:
        """Read a file written by `save`."""
        p = Path(path)
        try:
            data = read_json_file(p, limit=VOCAB_LIMIT)
        except FileNotFoundError as exc:
            raise VocabError(f"{p}: no such vocabulary file") from exc
        except JsonFileError as exc:  # a FIFO, /dev/zero, an oversized or too deep file
            raise VocabError(f"{p}: {exc}") from exc
        except ValueError as exc:
            raise VocabError(f"{p}: not valid JSON ({exc})") from exc
        return cls.from_dict(data, source=str(p))


def _not_a_token(token: object) -> VocabError:
    """The error for a non-string looked up as a token (`vocab[3]`, `encode([[1, 2]])`)."""
    hint = ""
    try:
        row = operator.index(token)  # type: ignore[arg-type]
        hint = f"; the token of id {row} is vocab.tokens[{row}] (ids: vocab.lookup_tokens)"
    except TypeError:
        pass
    return VocabError(
        f"Vocab[...] takes a token (str), got {type(token).__name__} {token!r:.40}{hint}"
    )


def _unknown_token(token: str) -> UnknownTokenError:
    """The error for a token missing from a vocabulary without an unknown token."""
    return UnknownTokenError(
        f"token {token!r} is not in the vocabulary, which has no unk_token to map it to; "
        "build it with one (e.g. unk_token='<unk>'), or test `token in vocab` first"
    )


def _is_id_pair(item: Any) -> bool:
    """Whether `item` is an (ids, label) pair: a tensor or array of ids where tokens go."""
    return (
        isinstance(item, tuple | list)
        and len(item) == 2
        and hasattr(item[0], "shape")
        and getattr(item[0].dtype, "kind", "i") not in "USO"  # a torch dtype has no kind
        and not isinstance(item[1], str)
    )


def _has_non_str(doc: Any) -> bool:
    """Whether `doc` holds a non-string (read after a lookup failed, so off the hot path)."""
    try:
        return any(not isinstance(t, str) for t in doc)
    except TypeError:
        return True


def _shown(doc: Any) -> str:
    """`doc` as an error names it: its type and its first items."""
    return f"{type(doc).__name__} {doc!r:.60}"


def _string_document(where: str, i: int, hint: str = "") -> VocabError:
    """The error for raw text where a token list was expected (`encode`, `from_tokens`)."""
    return VocabError(
        f"{where} expects token lists, but document {i} is a string; tokenize it first"
        + (f", {hint}" if hint else "")
    )


def _with_specials(
    specials: Sequence[str], pad_token: str | None, unk_token: str | None
) -> list[str]:
    """`specials` with the pad and unk tokens in front when they are missing.

    With the default specials, a pad or unk token the caller renamed ("[PAD]") replaces the
    default spelling instead of joining it, and one set to None removes it: `<pad>` would be
    a second (or a pretend) special row that nothing uses. One string is a ConfigError:
    its characters would become the specials.
    """
    if isinstance(specials, str) or not all(isinstance(s, str) for s in specials):
        raise ConfigError(f"specials must be a list of strings, got {specials!r:.60}")
    if tuple(specials) == tuple(DEFAULT_SPECIALS):
        renamed = {"<pad>": pad_token, "<unk>": unk_token}
        specials = [r for r in (renamed[s] for s in specials) if r is not None]
    front = [t for t in (pad_token, unk_token) if t is not None and t not in specials]
    return list(dict.fromkeys([*front, *specials]))
