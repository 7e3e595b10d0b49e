"""What a text reader dropped and repaired: counts by reason, with file and line numbers.

Callers log `ReadReport.format()` and store `ReadReport.to_dict()` (vocabulary metadata,
a pretraining run's metadata.json, a fine-tuning run's splits.json).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from vecgraft.errors import BadRowError, Hint, Opt

__all__ = ["MAX_EXAMPLES", "BadRow", "DropReason", "ReadReport", "drop_error"]

MAX_EXAMPLES = 5  # dropped rows (and repaired lines) remembered by line number


class DropReason(StrEnum):
    """Why a row was dropped (the keys of `ReadReport.counts`)."""

    EMPTY_TEXT = "empty_text"
    MISSING_LABEL = "missing_label"
    UNKNOWN_LABEL = "unknown_label"
    INVALID_JSON = "invalid_json"
    RAGGED_ROW = "ragged_row"
    EXTRA_FIELDS = "extra_fields"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    NA_LABEL = "na_label"
    NA_LIKE_LABEL = "na_like_label"
    REPEATED_HEADER = "repeated_header"
    REORDERED_HEADER = "reordered_header"


_REASON_TEXT = {
    DropReason.EMPTY_TEXT: "empty text",
    DropReason.MISSING_LABEL: "missing label",
    DropReason.UNKNOWN_LABEL: "unknown label",
    DropReason.INVALID_JSON: "not a JSON object",
    DropReason.RAGGED_ROW: "too few fields",
    DropReason.EXTRA_FIELDS: "more fields than the header (an unquoted delimiter in a text?)",
    DropReason.MISSING_FIELD: "no text field",
    DropReason.WRONG_TYPE: "text is not a string",
    DropReason.NA_LABEL: "missing label (written nan, as pandas writes a missing value)",
    DropReason.NA_LIKE_LABEL: (
        "missing number (written NA, null, None, ..., as pandas writes a missing value)"
    ),
    DropReason.REPEATED_HEADER: "repeated header row",
    DropReason.REORDERED_HEADER: "repeated header row in another column order",
}


@dataclass(frozen=True)
class BadRow:
    """One dropped row: where it was, why, and the start of its text."""

    line: int
    reason: str
    text: str
    file: str | None = None


@dataclass
class ReadReport:
    """What a reader read, dropped and repaired; callers log `format()` and store `to_dict()`.

    Attributes:
        source: the file, folder or corpus read (for messages).
        files: files opened.
        texts: documents or rows handed out.
        blank: blank lines and empty texts (blank lines in plain text are not dropped rows).
        counts: dropped rows per `DropReason` value.
        examples: the first `MAX_EXAMPLES` dropped rows, with file and line.
        replaced_rows: lines whose undecodable bytes (or NUL bytes) were replaced or ignored.
        replaced_lines: where the first `MAX_EXAMPLES` of them were (`file:line`).
        undecodable_rows: those of them that held bytes not of the encoding.
        nul_rows: those of them that held NUL bytes (valid UTF-8, but no text: said apart).
        nul_bytes: the NUL bytes replaced or removed.
        removed: repairs removed the bytes (errors="ignore") rather than replaced them.
        unicode_replacements: U+FFFD characters inserted (errors="replace"), one per NUL too.
        split_lines: overlong plain-text lines yielded in pieces.
        label_spellings: labels of rows read from another spelling (a float column's
            "1.0" is the label "1", " pos" is "pos", a decomposed (NFD) "é" is the composed
            one: `label_text`): label -> {spelling as written: rows}.
        na_like_labels: rows per label kept as a class that pandas reads as a missing
            value (`NA`, `None`, `null`): label -> rows.
        bool_labels: rows per label read from a JSON boolean (`true` -> 'true').
        multiline_records: table records whose quoted field spans several lines.
        multiline_first: where the first of them starts (`line 3`, `file:line`).
    """

    source: str = ""
    files: int = 0
    texts: int = 0
    blank: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    examples: list[BadRow] = field(default_factory=list)
    replaced_rows: int = 0
    replaced_lines: list[str] = field(default_factory=list)
    undecodable_rows: int = 0
    nul_rows: int = 0
    nul_bytes: int = 0
    removed: bool = False
    unicode_replacements: int = 0
    split_lines: int = 0
    label_spellings: dict[str, dict[str, int]] = field(default_factory=dict)
    na_like_labels: dict[str, int] = field(default_factory=dict)
    bool_labels: dict[str, int] = field(default_factory=dict)
    multiline_records: int = 0
    multiline_first: str = ""

    @property
    def total(self) -> int:
        """Rows dropped, all reasons together."""
        return sum(self.counts.values())

    @property
    def skipped_rows(self) -> int:
        """Rows dropped for a reason other than an empty text."""
        return self.total - self.counts.get(DropReason.EMPTY_TEXT.value, 0)

    @property
    def bad_lines(self) -> int:
        """Old name of `replaced_rows`."""
        return self.replaced_rows

    def __bool__(self) -> bool:
        return self.total > 0

    @property
    def noteworthy(self) -> bool:
        """Whether `format()` says anything a user should read (a drop, a repair, a note)."""
        return bool(self.total or self.replaced_rows or self.na_like_labels
                    or self.multiline_records or self.bool_labels
                    or self.decomposed_labels())  # fmt: skip

    def add_na_like(self, label: str) -> None:
        """Count one row kept with a label pandas reads as missing (`NA`, `None`)."""
        self.na_like_labels[label] = self.na_like_labels.get(label, 0) + 1

    def add_bool_label(self, label: str) -> None:
        """Count one row whose label was a JSON boolean (`true`, read as 'true')."""
        self.bool_labels[label] = self.bool_labels.get(label, 0) + 1

    def decomposed_labels(self) -> dict[str, int]:
        """Rows per label written in another Unicode normalisation form (NFD), read in NFC."""
        out: dict[str, int] = {}
        for label, spellings in self.label_spellings.items():
            n = sum(rows for spelling, rows in spellings.items() if not_nfc(spelling.strip()))
            if n:
                out[label] = n
        return out

    def add_multiline(self, where: str) -> None:
        """Count one record read over several lines (a quoted field with a line break)."""
        self.multiline_records += 1
        if not self.multiline_first:
            self.multiline_first = where

    def add(self, line: int, reason: DropReason, text: str, file: str | None = None) -> None:
        """Count one dropped row."""
        self.counts[reason.value] = self.counts.get(reason.value, 0) + 1
        if reason is DropReason.EMPTY_TEXT:
            self.blank += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(BadRow(line, reason.value, text[:80], file))

    def add_spelling(self, label: str, spelling: str) -> None:
        """Count one row whose label was written `spelling` (`1.0` for the label `1`)."""
        spellings = self.label_spellings.setdefault(label, {})
        spellings[spelling] = spellings.get(spelling, 0) + 1

    def format(self) -> str:
        """One line, e.g. `d.csv: 2 rows dropped: 2 empty text (line 3, line 4)`."""
        parts = []
        for reason, n in sorted(self.counts.items()):
            where = [_example_where(e) for e in self.examples if e.reason == reason]
            suffix = f" ({', '.join(where)}{', ...' if n > len(where) else ''})" if where else ""
            parts.append(f"{n} {_REASON_TEXT[DropReason(reason)]}{suffix}")
        n = self.total
        said = [f"{n} row{'s' * (n != 1)} dropped: " + ", ".join(parts)] if parts else []
        if self.replaced_rows:
            said.append(self._repairs())
        said += self.notes()
        # "no bad rows" only when that is all there is to say: it was said before the
        # replaced lines too ("d.txt: no bad rows; 1 line(s) ... replaced")
        return f"{self.source}: " + ("; ".join(said) if said else "no bad rows")

    def _repairs(self) -> str:
        """What `format` says of repaired lines: undecodable bytes and NUL bytes apart.

        A NUL is valid UTF-8: a line repaired for one said "undecodable bytes replaced".
        """
        verb = "removed" if self.removed else "replaced"
        lines = ", ".join(self.replaced_lines)
        more = ", ..." if self.replaced_rows > len(self.replaced_lines) else ""
        # a report built without the counts apart (by hand, or older metadata): undecodable
        split = self.undecodable_rows or self.nul_rows
        bad = self.undecodable_rows if split else self.replaced_rows
        if bad and self.nul_rows:
            said = (f"{self.replaced_rows} line(s) repaired, {bad} with undecodable bytes and "
                    f"{self.nul_rows} with NUL bytes {verb}")  # fmt: skip
        elif bad:
            said = f"{bad} line(s) with undecodable bytes {verb}"
        else:
            said = f"{self.nul_rows} line(s) with NUL bytes {verb}"
        if self.nul_bytes:
            said += f", {self.nul_bytes} NUL{'s' * (self.nul_bytes != 1)} in all"
        return f"{said} ({lines}{more})"

    def notes(self) -> list[str]:
        """What was read but may not be what the file meant: NA-like labels, multi-line rows.

        A merge of lines into one record, a class named like a missing value, a label
        written in decomposed Unicode or as a JSON boolean is never silent: each is said
        once, with its rows.
        """
        said = [
            f"label {label!r} ({n} row{'s' * (n != 1)}) is how pandas writes a missing value; "
            "it is kept as a class: drop those rows if they are missing labels"
            for label, n in sorted(self.na_like_labels.items())
        ]
        said += [
            f"label {label!r} is written in decomposed Unicode (NFD) in {n} row{'s' * (n != 1)}"
            "; read in composed form (NFC), as labels are compared"
            for label, n in sorted(self.decomposed_labels().items())
        ]
        said += [
            f"label {label} in {n} row{'s' * (n != 1)} is a JSON boolean, read as the text "
            f"{label!r}"
            for label, n in sorted(self.bool_labels.items())
        ]
        if self.multiline_records:
            n = self.multiline_records
            said.append(f"{n} record{'s' * (n != 1)} read over several lines (a quoted field "
                        f"with a line break; the first at {self.multiline_first})")  # fmt: skip
        return said

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (vocabulary metadata, run notes, `--json` output)."""
        return {
            "source": self.source,
            "files": self.files,
            "texts": self.texts,
            "blank": self.blank,
            "total": self.total,
            "counts": dict(self.counts),
            "examples": [e.__dict__ for e in self.examples],
            "skipped_rows": self.skipped_rows,
            "replaced_rows": self.replaced_rows,
            "replaced_lines": list(self.replaced_lines),
            "bad_lines": self.replaced_rows,
            "undecodable_rows": self.undecodable_rows,
            "nul_rows": self.nul_rows,
            "nul_bytes": self.nul_bytes,
            "removed": self.removed,
            "unicode_replacements": self.unicode_replacements,
            "split_lines": self.split_lines,
            "na_like_labels": dict(self.na_like_labels),
            "multiline_records": self.multiline_records,
            "multiline_first": self.multiline_first,
        }

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> ReadReport:
        """Inverse of `to_dict` (for reports read back from metadata)."""
        return cls(
            source=str(obj.get("source", "")),
            files=int(obj.get("files", 0)),
            texts=int(obj.get("texts", 0)),
            blank=int(obj.get("blank", 0)),
            counts={str(k): int(v) for k, v in dict(obj.get("counts", {})).items()},
            examples=[BadRow(**e) for e in obj.get("examples", [])],
            replaced_rows=int(obj.get("replaced_rows", 0)),
            replaced_lines=[str(x) for x in obj.get("replaced_lines", [])],
            undecodable_rows=int(obj.get("undecodable_rows", 0)),
            nul_rows=int(obj.get("nul_rows", 0)),
            nul_bytes=int(obj.get("nul_bytes", 0)),
            removed=bool(obj.get("removed", False)),
            unicode_replacements=int(obj.get("unicode_replacements", 0)),
            split_lines=int(obj.get("split_lines", 0)),
            na_like_labels={str(k): int(v) for k, v in dict(obj.get("na_like_labels", {})).items()},
            multiline_records=int(obj.get("multiline_records", 0)),
            multiline_first=str(obj.get("multiline_first", "")),
        )


def not_nfc(text: str) -> bool:
    """Whether `text` is written otherwise than in Unicode NFC (e.g. decomposed, NFD)."""
    return not text.isascii() and not unicodedata.is_normalized("NFC", text)


def _example_where(row: BadRow) -> str:
    return f"{row.file}:{row.line}" if row.file else f"line {row.line}"


# how to go on past such rows (a `BadRowError` keeps it apart from the problem); a command
# names its own flag (`--bad-rows skip`), not both spellings at once
SKIP_ADVICE = "pass bad_rows='skip' to drop such rows"
SKIP_HINT = Hint(
    " (pass {} to drop such rows)", Opt("bad_rows", "'skip'", "skip", flag_key="table_bad_rows")
)


def drop_error(where: str, reason: DropReason, detail: str = "") -> BadRowError:
    """The error of a bad row under bad_rows="error" (in reading, or in checks made after)."""
    return BadRowError(f"{where}: {_REASON_TEXT[reason]}{detail}", SKIP_ADVICE, SKIP_HINT)
