"""`Vocab`: token <-> id, with counts, special tokens and a deterministic order.

Order is specials first, then frequency (descending), then first appearance, so two builds
from the same corpus give the same ids on any machine.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from vecgraft.errors import VocabError

DEFAULT_SPECIALS: tuple[str, ...] = ("<pad>", "<unk>")


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
        self.tokens: list[str] = list(tokens)
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.tokens)}
        if len(self.stoi) != len(self.tokens):
            dupes = [t for t, c in Counter(self.tokens).items() if c > 1][:5]
            raise VocabError(f"vocabulary tokens must be unique; duplicated: {dupes}")
        self.counts: dict[str, int] = {t: int(c) for t, c in (counts or {}).items()}
        self.specials: list[str] = [s for s in specials if s in self.stoi]
        for name, tok in (("pad_token", pad_token), ("unk_token", unk_token)):
            if tok is not None and tok not in self.stoi:
                raise VocabError(f"{name} {tok!r} is not in the vocabulary")
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
        """Build from token counts. Ties in frequency keep the mapping's (insertion) order,
        which is first appearance for a `Counter` filled while streaming a corpus.

        `max_size` counts non-special tokens only.
        """
        if min_freq < 1:
            raise VocabError(f"min_freq must be >= 1, got {min_freq}")
        specials = list(dict.fromkeys(specials))
        special_set = set(specials)
        order = {t: i for i, t in enumerate(counts)}
        kept = [t for t, c in counts.items() if c >= min_freq and t not in special_set]
        kept.sort(key=lambda t: (-counts[t], order[t]))
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
        """Build from tokenized documents (an iterable of token lists), streaming."""
        counts: Counter[str] = Counter()
        for doc in docs:
            counts.update(doc)
        return cls.from_counts(counts, **kwargs)

    # -- lookups -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        """Id of `token`; unknown tokens get `unk_index` (or KeyError when there is no unk)."""
        idx = self.stoi.get(token)
        if idx is not None:
            return idx
        if self.unk_token is None:
            raise KeyError(token)
        return self.stoi[self.unk_token]

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
        """Ids of `tokens` (unknown -> unk id)."""
        return [self[t] for t in tokens]

    def lookup_tokens(self, ids: Iterable[int]) -> list[str]:
        """Tokens of `ids`."""
        return [self.tokens[i] for i in ids]

    def count(self, token: str) -> int:
        """Corpus count of `token` (0 for specials and unknown tokens)."""
        return self.counts.get(token, 0)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Vocab)
            and self.tokens == other.tokens
            and self.counts == other.counts
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
                raise VocabError(
                    f"{source}: {len(tokens)} tokens but {len(raw_counts)} counts"
                )
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
        from vecgraft.io.base import atomic_write

        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=1)
        atomic_write(Path(path), lambda fh: fh.write(text.encode("utf-8")))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Vocab:
        """Read a file written by `save`."""
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise VocabError(f"{p}: no such vocabulary file") from exc
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise VocabError(f"{p}: not valid JSON ({exc})") from exc
        return cls.from_dict(data, source=str(p))
