"""What a vocabulary graft did: the rule behind each new row and what it did to token counts.

The counterpart of `align.AlignmentReport` for a transformer's own vocabulary: one entry per
new token (its id, the rule that filled its row, the old pieces it replaces, the static-space
neighbours and weights for the `vectors` rule), plus tokens per text and the `[UNK]` share on
the corpus before and after the graft.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from vecgraft._util.console import ljust, printable

# Row labels in `GraftReport.counts`, in display order.
GRAFT_RULES: tuple[str, ...] = ("vectors", "subwords", "mean")
# `graft_vocab`'s min_count: how often a corpus word must be seen to be picked.
MIN_COUNT = 2


@dataclass
class NewToken:
    """One grafted token.

    Attributes:
        token: the token as added to the tokenizer.
        id: its row in the embedding matrix.
        rule: what filled the row: "vectors", "subwords" or "mean".
        pieces: the old tokenizer's pieces of the token (what `subwords` averages).
        count: corpus frequency, the word counted as the model's tokenizer splits the corpus
            (0 for tokens taken from a list without a corpus; a listed token's is how often
            the grafted tokenizer reads it in the corpus).
        score: selection score, count x (pieces - 1 + [UNK] pieces); 0 for listed tokens.
        neighbours: for `vectors`: [old token, weight] pairs, largest weight first.
    """

    token: str
    id: int
    rule: str
    pieces: list[str]
    count: int = 0
    score: int = 0
    neighbours: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class TokenStats:
    """Tokens per text and `[UNK]` share of a corpus under one tokenizer (no special tokens)."""

    texts: int = 0
    tokens: int = 0
    unk: int = 0

    @property
    def tokens_per_text(self) -> float:
        """Mean number of tokens per text (0 for an empty corpus)."""
        return self.tokens / self.texts if self.texts else 0.0

    @property
    def unk_share(self) -> float:
        """Share of tokens that are the unknown token."""
        return self.unk / self.tokens if self.tokens else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, with the two ratios."""
        return {
            **asdict(self),
            "tokens_per_text": self.tokens_per_text,
            "unk_share": self.unk_share,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TokenStats:
        """Inverse of `to_dict` (the ratios are recomputed)."""
        return cls(texts=int(data["texts"]), tokens=int(data["tokens"]), unk=int(data["unk"]))


@dataclass
class GraftReport:
    """What `graft_tokens` / `graft_vocab` did.

    Attributes:
        new_tokens: one `NewToken` per added token, in id order.
        counts: rule -> number of new rows, every rule present (0 when unused).
        init: the rule asked for.
        old_vocab_size, new_vocab_size: rows before and after.
        tied: whether the output embeddings share the input matrix (else both were filled).
        before, after: corpus token statistics under the old and the grafted tokenizer
            (None without a corpus).
        skipped: requested tokens not added because the tokenizer already had them.
        source: the checkpoint folder; vectors: the static vector file (`vectors` rule).
        shared_tokens: for `vectors`: old whole tokens with a static vector, the neighbours
            each new row is mixed from (None for the other rules).
        options: the options used; notes: anything unusual (fallbacks, ...).
    """

    new_tokens: list[NewToken]
    counts: dict[str, int]
    init: str
    old_vocab_size: int
    new_vocab_size: int
    tied: bool
    before: TokenStats | None = None
    after: TokenStats | None = None
    skipped: list[str] = field(default_factory=list)
    source: str | None = None
    vectors: str | None = None
    shared_tokens: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def rules(self) -> list[str]:
        """The rule of each new row, in id order."""
        return [t.rule for t in self.new_tokens]

    def format_table(self, show: int = 10) -> str:
        """A plain-text table: rows per rule, tokens per text before/after, first new tokens.

        No new tokens (`--add-tokens 0`, or every word already one token) is one line, not a
        table of zeros, plus the skipped words where there were any.
        """
        if not self.new_tokens:
            lines = [f"no tokens added: the vocabulary stays {self.new_vocab_size:,} tokens"]
        else:
            total = len(self.new_tokens)
            lines = [f"{'rule':<12}{'rows':>10}{'share':>9}"]
            for rule in GRAFT_RULES:
                n = self.counts.get(rule, 0)
                lines.append(f"{rule:<12}{n:>10,}{n / total:>9.1%}")
            lines.append(f"{'total':<12}{len(self.new_tokens):>10,}")
            lines.append(
                f"vocabulary      {self.old_vocab_size:,} -> {self.new_vocab_size:,} tokens"
            )
        if self.skipped:
            shown = ", ".join(self.skipped[:show])
            more = f", ... {len(self.skipped) - show:,} more" if len(self.skipped) > show else ""
            lines.append(
                f"skipped         {len(self.skipped):,} already one token or a repeat: "
                f"{shown}{more}"
            )
        if self.new_tokens and self.before is not None and self.after is not None:
            b, a = self.before, self.after
            change = a.tokens_per_text / b.tokens_per_text - 1 if b.tokens_per_text else 0.0
            lines.append(
                f"tokens per text {b.tokens_per_text:.2f} -> {a.tokens_per_text:.2f} "
                f"({change:+.1%}, {b.texts:,} texts)"
            )
            lines.append(f"[UNK] share     {b.unk_share:.2%} -> {a.unk_share:.2%}")
        if self.new_tokens and self.shared_tokens is not None:
            lines.append(f"shared tokens   {self.shared_tokens:,} old tokens with a static "
                         "vector (the neighbours new rows are mixed from)")  # fmt: skip
        for tok in self.new_tokens[:show]:
            detail = " ".join(tok.pieces)
            if tok.neighbours:
                detail = ", ".join(f"{w} {x:.2f}" for w, x in tok.neighbours[:4])
            # by terminal columns: a Chinese token is two a character (str.ljust counts one)
            lines.append(f"  {ljust(printable(tok.token), 16)} {tok.rule:<9} {detail}")
        if len(self.new_tokens) > show:
            lines.append(f"  ... {len(self.new_tokens) - show:,} more in graft_report.json")
        lines.extend(n if n.startswith("warning: ") else f"note: {n}" for n in self.notes)
        return "\n".join(lines)

    def shortfall(self, asked: object, *, min_count_flag: str | None = "--min-count") -> str:
        """Why fewer tokens were added than the number asked, as " (of 100 asked: ...)"; else "".

        Why here: graft-vocab said it and `finetune --add-tokens N` printed only "total 46".
        `min_count_flag` names the caller's option for `min_count` (None: it has none).
        """
        added = len(self.new_tokens)
        if isinstance(asked, bool) or not isinstance(asked, int) or added >= asked:
            return ""  # a list's missing words are the table's "skipped" line
        count = self.options.get("min_count", MIN_COUNT)
        flag = f"{min_count_flag} {count}" if min_count_flag else f"{count}"
        return (f" (of {asked} asked: only {added} corpus words qualify, each seen at least "
                f"{flag} times, not one token already, and read whole beside the better "
                "picks)")  # fmt: skip

    def __str__(self) -> str:
        return self.format_table()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (neighbours as [token, weight] pairs)."""
        data = asdict(self)
        data["new_tokens"] = [
            {**asdict(t), "neighbours": [[w, x] for w, x in t.neighbours]} for t in self.new_tokens
        ]
        data["before"] = None if self.before is None else self.before.to_dict()
        data["after"] = None if self.after is None else self.after.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GraftReport:
        """Inverse of `to_dict`."""
        fields = dict(data)
        fields["new_tokens"] = [
            NewToken(
                **{
                    **t,
                    "neighbours": [(str(w), float(x)) for w, x in t.get("neighbours", [])],
                }
            )
            for t in fields.get("new_tokens", [])
        ]
        for key in ("before", "after"):
            if fields.get(key) is not None:
                fields[key] = TokenStats.from_dict(fields[key])
        return cls(**fields)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write `to_dict()` as JSON, atomically."""
        from vecgraft._util.atomic import atomic_write_json

        atomic_write_json(path, self.to_dict(), indent=1)
