r"""Labelled text for fine-tuning: read, check, split, subsample, de-duplicate, map labels.

Three layouts are read, each into the same `LabelledData`:

- CSV / TSV (`.csv`, `.tsv`, `.tab`, optionally compressed): a header row names the columns
  (`text_column`, `label_column`); pass integer columns for a file without a header.
- JSONL (`.jsonl`, `.ndjson`, `.json`): one JSON object per line.
- A folder per class, the torchvision ImageFolder convention: `root/<label>/<file>`, one text
  per file. Files are decoded as UTF-8, falling back to cp1252 and then latin-1 (which cannot
  fail), because real corpora such as BBC News are not all valid UTF-8.

Rows that cannot be used (empty text, missing label, unparsable JSON line, a label the model
does not know) are dropped and counted in a `BadRows` report with the first few line numbers,
or, with `bad_rows="error"`, rejected at the first one by a `DataError` naming file and line.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "train.csv"
    >>> _ = path.write_text("text,label\nwon the cup,sport\nshares fell,business\n"
    ...                    "lost the final,sport\nprofits rose,business\n,sport\n")
    >>> data, bad = read_labelled(path)
    >>> len(data), bad.counts, bad.examples[0].line
    (4, {'empty_text': 1}, 6)
    >>> train, valid = stratified_split(data, 0.5, seed=0)
    >>> train.labels, valid.labels
    (['sport', 'business'], ['sport', 'business'])
    >>> LabelMap(train.labels).labels
    ['business', 'sport']
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from vecgraft._util.atomic import atomic_write_json
from vecgraft.errors import ConfigError, DataError, FormatError
from vecgraft.io.base import Source

__all__ = [
    "BadRow",
    "BadRowPolicy",
    "BadRows",
    "DuplicateReport",
    "LabelMap",
    "LabelledData",
    "drop_duplicates",
    "filter_unknown_labels",
    "find_duplicates",
    "normalize_for_duplicates",
    "read_labelled",
    "stratified_split",
    "subsample",
]

MAX_EXAMPLES = 5
_COMPRESSED = (".gz", ".bz2", ".xz", ".zip")
_CSV_DELIMITERS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
_JSONL = (".jsonl", ".ndjson", ".json")


class BadRowPolicy(StrEnum):
    """What to do with an unusable row: count and drop it, or stop with a DataError."""

    REPORT = "report"
    ERROR = "error"


class BadReason(StrEnum):
    """Why a row was dropped (the keys of `BadRows.counts`)."""

    EMPTY_TEXT = "empty_text"
    MISSING_LABEL = "missing_label"
    UNKNOWN_LABEL = "unknown_label"
    INVALID_JSON = "invalid_json"


_REASON_TEXT = {
    BadReason.EMPTY_TEXT: "empty text",
    BadReason.MISSING_LABEL: "missing label",
    BadReason.UNKNOWN_LABEL: "unknown label",
    BadReason.INVALID_JSON: "not a JSON object",
}


_FIXED_TEXT = {"non_utf8": "non-UTF-8 file(s) decoded as cp1252/latin-1"}


@dataclass
class LabelledData:
    """Texts with their labels, and where each came from (for messages).

    Attributes:
        texts: one string per example.
        labels: the label of each example, as a string.
        source: the file or folder read.
        lines: 1-based line of each row in `source` (for a folder: the file's position).
        files: for a folder, each row's file relative to `source`; empty otherwise.
    """

    texts: list[str]
    labels: list[str]
    source: str
    lines: list[int]
    files: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def where(self, index: int) -> str:
        """`file:line` (or the file, for a folder) of row `index`, for messages."""
        if self.files:
            return os.path.join(self.source, self.files[index])
        return f"{self.source}:{self.lines[index]}"

    def select(self, indices: Iterable[int]) -> LabelledData:
        """The rows at `indices`, in that order."""
        idx = list(indices)
        return LabelledData(
            texts=[self.texts[i] for i in idx],
            labels=[self.labels[i] for i in idx],
            source=self.source,
            lines=[self.lines[i] for i in idx],
            files=[self.files[i] for i in idx] if self.files else [],
        )

    def label_counts(self) -> dict[str, int]:
        """Examples per label, labels sorted."""
        return dict(sorted(Counter(self.labels).items()))


@dataclass(frozen=True)
class BadRow:
    """One dropped row: where it was, why, and the start of its text."""

    line: int
    reason: str
    text: str
    file: str | None = None


@dataclass
class BadRows:
    """Rows dropped while reading, counted by reason, with the first few as examples.

    Attributes:
        source: the file or folder read.
        counts: reason -> rows dropped ("empty_text", "missing_label", "unknown_label",
            "invalid_json").
        examples: the first `MAX_EXAMPLES` dropped rows.
        fixed: problems repaired rather than dropped, e.g. {"non_utf8": 3} files decoded
            with the cp1252/latin-1 fallback.
    """

    source: str
    counts: dict[str, int] = field(default_factory=dict)
    examples: list[BadRow] = field(default_factory=list)
    fixed: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Rows dropped, all reasons together."""
        return sum(self.counts.values())

    def __bool__(self) -> bool:
        return self.total > 0

    def add(self, line: int, reason: BadReason, text: str, file: str | None = None) -> None:
        """Count one dropped row."""
        self.counts[reason.value] = self.counts.get(reason.value, 0) + 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(BadRow(line, reason.value, text[:80], file))

    def format(self) -> str:
        """One line per reason, e.g. `data.csv: 2 rows dropped: 2 empty text (lines 4, 9)`."""
        if not self and not self.fixed:
            return f"{self.source}: no bad rows"
        parts = []
        for reason, n in sorted(self.counts.items()):
            where = [_example_where(e) for e in self.examples if e.reason == reason]
            suffix = f" ({', '.join(where)}{', ...' if n > len(where) else ''})" if where else ""
            parts.append(f"{n} {_REASON_TEXT[BadReason(reason)]}{suffix}")
        fixed = [f"{n} {_FIXED_TEXT.get(what, what)}" for what, n in self.fixed.items()]
        text = f"{self.source}: {self.total} rows dropped"
        return "; ".join([text + (": " + ", ".join(parts) if parts else ""), *fixed])

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (for run folders and `--json` output)."""
        return {
            "source": self.source,
            "total": self.total,
            "counts": dict(self.counts),
            "fixed": dict(self.fixed),
            "examples": [e.__dict__ for e in self.examples],
        }


def _example_where(row: BadRow) -> str:
    return row.file if row.file else f"line {row.line}"


def _reject_or_count(
    bad: BadRows,
    policy: BadRowPolicy,
    line: int,
    reason: BadReason,
    text: str,
    detail: str = "",
    file: str | None = None,
) -> None:
    """Count a bad row, or raise DataError naming file and line under the "error" policy."""
    if policy is BadRowPolicy.ERROR:
        where = os.path.join(bad.source, file) if file else f"{bad.source}:{line}"
        raise DataError(
            f"{where}: {_REASON_TEXT[reason]}{detail} (pass bad_rows='report' to skip such rows)"
        )
    bad.add(line, reason, text, file)


def _policy(value: BadRowPolicy | str) -> BadRowPolicy:
    try:
        return BadRowPolicy(value)
    except ValueError:
        raise ConfigError(f"bad_rows must be 'report' or 'error', got {value!r}") from None


# ---------------------------------------------------------------------------------------------
# Reading


def decode_text(raw: bytes) -> tuple[str, bool]:
    """Decode bytes as UTF-8 (BOM allowed), else cp1252, else latin-1; never fails.

    Returns:
        (text, used_fallback).
    """
    try:
        return raw.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), True
    except UnicodeDecodeError:
        return raw.decode("latin-1"), True


def read_labelled(
    path: str | os.PathLike[str],
    *,
    text_column: str | int = "text",
    label_column: str | int = "label",
    bad_rows: BadRowPolicy | str = BadRowPolicy.REPORT,
    label_map: LabelMap | None = None,
) -> tuple[LabelledData, BadRows]:
    """Read labelled texts from a CSV/TSV/JSONL file or a folder per class.

    Args:
        path: the file, or a folder laid out as `root/<label>/<file>`.
        text_column: name (or 0-based index, for CSV/TSV without a header) of the text column.
        label_column: name (or index) of the label column.
        bad_rows: "report" drops and counts unusable rows; "error" raises at the first one.
        label_map: labels known to a trained model; rows with other labels are bad rows
            ("unknown_label"), as at test time.

    Returns:
        (data, report of dropped rows).

    Raises:
        DataError: missing file or column (the message lists the columns found), a malformed
            CSV, no usable rows, or any bad row under bad_rows="error".
    """
    policy = _policy(bad_rows)
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: no such file or directory")
    if p.is_dir():
        data, bad = _read_folder(p, policy)
    else:
        name = p.name.lower()
        for suffix in _COMPRESSED:
            name = name.removesuffix(suffix)
        ext = os.path.splitext(name)[1]
        text, fallback = decode_text(_read_bytes(p))
        if ext in _JSONL:
            data, bad = _read_jsonl(text, str(p), text_column, label_column, policy)
        elif ext in _CSV_DELIMITERS:
            data, bad = _read_csv(
                text, str(p), _CSV_DELIMITERS[ext], text_column, label_column, policy
            )
        else:
            raise DataError(
                f"{p}: cannot tell the layout from the extension {ext or '(none)'!r}; expected "
                ".csv, .tsv, .tab, .jsonl, .ndjson, .json (optionally compressed) or a folder "
                "with one subfolder per label"
            )
        if fallback:
            bad.fixed["non_utf8"] = 1
    if label_map is not None:
        data, bad = filter_unknown_labels(data, label_map, bad_rows=policy, report=bad)
    if not len(data):
        raise DataError(f"{data.source}: no usable labelled rows ({bad.format()})")
    return data, bad


def _read_bytes(path: Path) -> bytes:
    """Whole (decompressed) file; errors become DataError naming the file."""
    try:
        return Source.from_path(path).read_bytes()
    except FormatError as exc:
        raise DataError(str(exc)) from exc
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc}") from exc


def _column_index(
    header: list[str], column: str | int, role: str, source: str, has_header: bool
) -> int:
    """Position of `column` in the header, or a DataError listing the columns found."""
    if isinstance(column, int):
        if not 0 <= column < max(len(header), 1) and has_header:
            raise DataError(f"{source}: {role} column index {column} out of range")
        return column
    stripped = [h.strip() for h in header]
    if column in stripped:
        return stripped.index(column)
    found = ", ".join(repr(h) for h in header) or "(none)"
    raise DataError(
        f"{source}: no {role} column {column!r}; columns found: {found} "
        f"(pass {role}_column= to choose one)"
    )


class _FieldLimit:
    """Lift csv's 128 KiB field limit while reading (long documents), restoring it after."""

    def __enter__(self) -> None:
        self.old = csv.field_size_limit()
        csv.field_size_limit(2**31 - 1)

    def __exit__(self, *exc: object) -> None:
        csv.field_size_limit(self.old)


def _read_csv(
    text: str,
    source: str,
    delimiter: str,
    text_column: str | int,
    label_column: str | int,
    policy: BadRowPolicy,
) -> tuple[LabelledData, BadRows]:
    has_header = not (isinstance(text_column, int) and isinstance(label_column, int))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    data = LabelledData([], [], source, [])
    bad = BadRows(source)
    with _FieldLimit():
        rows = _csv_rows(reader, source)
        if has_header:
            header = next((row for _, row in rows if row), [])
            if not header:
                raise DataError(f"{source}: empty file; expected a header row")
        else:
            header = []
        ti = _column_index(header, text_column, "text", source, has_header)
        li = _column_index(header, label_column, "label", source, has_header)
        for line, row in rows:
            if not row:  # blank line
                continue
            body = row[ti] if ti < len(row) else ""
            label = row[li].strip() if li < len(row) else ""
            _add_row(data, bad, policy, line, body, label)
    return data, bad


def _csv_rows(reader: Iterator[list[str]], source: str) -> Iterator[tuple[int, list[str]]]:
    """(first line of the record, fields); a malformed record is a DataError with its line."""
    line_num = 0
    while True:
        start = line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(f"{source}:{start}: malformed CSV: {exc}") from exc
        line_num = reader.line_num  # type: ignore[attr-defined]
        yield start, row


def _add_row(
    data: LabelledData,
    bad: BadRows,
    policy: BadRowPolicy,
    line: int,
    text: str,
    label: str,
    file: str | None = None,
) -> None:
    """Append a row, or count/reject it when its text or label is empty."""
    if not text.strip():
        _reject_or_count(bad, policy, line, BadReason.EMPTY_TEXT, text, file=file)
    elif not label:
        _reject_or_count(bad, policy, line, BadReason.MISSING_LABEL, text, file=file)
    else:
        data.texts.append(text)
        data.labels.append(label)
        data.lines.append(line)
        if file is not None:
            data.files.append(file)


def _json_label(value: Any) -> str:
    """A JSON label as a string (ints and bools are common in JSONL data sets)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _read_jsonl(
    text: str,
    source: str,
    text_column: str | int,
    label_column: str | int,
    policy: BadRowPolicy,
) -> tuple[LabelledData, BadRows]:
    if text.lstrip().startswith("["):
        raise DataError(
            f"{source}: this is a JSON array; labelled JSON must be JSON Lines (one object per "
            "line), e.g. convert it with: jq -c '.[]' in.json > out.jsonl"
        )
    data = LabelledData([], [], source, [])
    bad = BadRows(source)
    checked_columns = False
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            obj, detail = None, f": {exc.msg} at column {exc.colno}"
        else:
            detail = f": found {type(obj).__name__}"
        if not isinstance(obj, dict):
            _reject_or_count(bad, policy, line, BadReason.INVALID_JSON, raw, detail)
            continue
        if not checked_columns:
            # A column absent from the first record is a wrong name, not a bad row.
            for role, column in (("text", text_column), ("label", label_column)):
                if str(column) not in obj:
                    found = ", ".join(repr(k) for k in obj) or "(none)"
                    raise DataError(
                        f"{source}:{line}: no {role} field {column!r}; fields found: {found} "
                        f"(pass {role}_column= to choose one)"
                    )
            checked_columns = True
        body = obj.get(str(text_column))
        _add_row(
            data,
            bad,
            policy,
            line,
            body if isinstance(body, str) else "",
            _json_label(obj.get(str(label_column))),
        )
    return data, bad


def _read_folder(root: Path, policy: BadRowPolicy) -> tuple[LabelledData, BadRows]:
    """root/<label>/<file>: one example per file, labels and files in sorted order."""
    source = str(root)
    label_dirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not label_dirs:
        raise DataError(
            f"{source}: a folder of labelled texts needs one subfolder per label "
            "(root/<label>/<file>.txt); found no subfolders"
        )
    data = LabelledData([], [], source, [])
    bad = BadRows(source)
    position = 0
    for label_dir in label_dirs:
        files = sorted(f for f in label_dir.iterdir() if f.is_file() and not f.name.startswith("."))
        for file in files:
            position += 1
            rel = f"{label_dir.name}/{file.name}"
            try:
                raw = file.read_bytes()
            except OSError as exc:
                raise DataError(f"{file}: cannot read: {exc}") from exc
            text, fallback = decode_text(raw)
            if fallback:
                bad.fixed["non_utf8"] = bad.fixed.get("non_utf8", 0) + 1
            _add_row(data, bad, policy, position, text, label_dir.name, file=rel)
    return data, bad


# ---------------------------------------------------------------------------------------------
# Labels


class LabelMap:
    """Label string <-> class id, with labels sorted so ids never depend on row order.

    Example:
        >>> m = LabelMap(["sport", "tech", "sport", "business"])
        >>> m.labels, m.encode("tech"), m.decode(0)
        (['business', 'sport', 'tech'], 2, 'business')
    """

    def __init__(self, labels: Iterable[str]) -> None:
        self.labels: list[str] = sorted({str(label) for label in labels})
        if not self.labels:
            raise DataError("a LabelMap needs at least one label")
        self.index: dict[str, int] = {label: i for i, label in enumerate(self.labels)}

    def __len__(self) -> int:
        return len(self.labels)

    def __contains__(self, label: object) -> bool:
        return label in self.index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LabelMap) and other.labels == self.labels

    def __hash__(self) -> int:
        return hash(tuple(self.labels))

    def __repr__(self) -> str:
        return f"LabelMap({self.labels!r})"

    def encode(self, label: str) -> int:
        """Class id of `label`; an unknown label is a DataError listing the known ones."""
        try:
            return self.index[label]
        except KeyError:
            raise DataError(f"unknown label {label!r}; known labels: {self._known()}") from None

    def encode_many(self, labels: Iterable[str]) -> list[int]:
        """Class ids of `labels`."""
        return [self.encode(label) for label in labels]

    def encode_rows(self, data: LabelledData) -> list[int]:
        """Class ids of `data.labels`; a label this map lacks is a DataError naming its row."""
        out: list[int] = []
        for row, label in enumerate(data.labels):
            if label not in self.index:
                raise DataError(
                    f"{data.where(row)}: label {label!r} does not occur in the training data "
                    f"(known: {self._known()})"
                )
            out.append(self.index[label])
        return out

    def decode(self, index: int) -> str:
        """Label of class id `index`."""
        if not 0 <= int(index) < len(self.labels):
            raise DataError(f"class id {index} out of range for {len(self.labels)} labels")
        return self.labels[int(index)]

    def _known(self) -> str:
        shown = ", ".join(repr(x) for x in self.labels[:20])
        return shown + (", ..." if len(self.labels) > 20 else "")

    def to_dict(self) -> dict[str, Any]:
        """{"labels": [...]} in id order."""
        return {"labels": list(self.labels)}

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> LabelMap:
        """Inverse of `to_dict`."""
        labels = obj.get("labels") if isinstance(obj, dict) else None
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise DataError('a label map must be {"labels": [<string>, ...]}')
        return cls(labels)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write `labels.json` (atomically)."""
        atomic_write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> LabelMap:
        """Read a file written by `save`; errors name the file."""
        try:
            obj = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(f"{path}: no such label file") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataError(f"{path}: not a label map: {exc}") from exc
        try:
            return cls.from_dict(obj)
        except DataError as exc:
            raise DataError(f"{path}: {exc}") from None


def filter_unknown_labels(
    data: LabelledData,
    label_map: LabelMap,
    *,
    bad_rows: BadRowPolicy | str = BadRowPolicy.REPORT,
    report: BadRows | None = None,
) -> tuple[LabelledData, BadRows]:
    """Drop (and count) rows whose label `label_map` does not know, as at test time.

    Under bad_rows="error" the first such row is a DataError naming file and line and listing
    the known labels.
    """
    policy = _policy(bad_rows)
    bad = report if report is not None else BadRows(data.source)
    keep = []
    for i, label in enumerate(data.labels):
        if label in label_map:
            keep.append(i)
            continue
        detail = f" {label!r}; known labels: {label_map._known()}"
        file = data.files[i] if data.files else None
        _reject_or_count(
            bad, policy, data.lines[i], BadReason.UNKNOWN_LABEL, data.texts[i], detail, file
        )
    return (data if len(keep) == len(data) else data.select(keep)), bad


# ---------------------------------------------------------------------------------------------
# Splits


def _by_label(labels: Sequence[str]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        groups[label].append(i)
    return dict(sorted(groups.items()))


def _shuffled_groups(data: LabelledData, seed: int) -> dict[str, list[int]]:
    """Row indices per label (labels sorted), each group shuffled by one seeded generator."""
    rng = np.random.default_rng(seed)
    return {
        label: [idx[j] for j in rng.permutation(len(idx))]
        for label, idx in _by_label(data.labels).items()
    }


def stratified_split(
    data: LabelledData, test_size: float, seed: int
) -> tuple[LabelledData, LabelledData]:
    """Split into (train, test) keeping each label's share, reproducibly for a seed.

    Each label with n rows puts round(n * test_size) in the test part, but at least one when
    n >= 2 and never all of them (a label with one row stays in train). Rows keep their
    original order inside each part.
    """
    if not 0.0 < float(test_size) < 1.0:
        raise ConfigError(f"test_size must be between 0 and 1 (exclusive), got {test_size}")
    test: list[int] = []
    for idx in _shuffled_groups(data, seed).values():
        n = len(idx)
        k = min(max(round(n * test_size), 1), n - 1) if n >= 2 else 0
        test.extend(idx[:k])
    if not test:
        raise DataError(
            f"{data.source}: cannot split off a test part: no label has two or more examples"
        )
    chosen = set(test)
    train = [i for i in range(len(data)) if i not in chosen]
    return data.select(train), data.select(sorted(test))


def subsample(data: LabelledData, fraction: float, seed: int) -> LabelledData:
    """A stratified random `fraction` of the rows, with at least one row of every label.

    Smaller fractions with the same seed give subsets of larger ones (each label's rows are
    shuffled once and a prefix taken), so learning curves compare like with like.
    """
    if not 0.0 < float(fraction) <= 1.0:
        raise ConfigError(f"fraction must be in (0, 1], got {fraction}")
    keep: list[int] = []
    for idx in _shuffled_groups(data, seed).values():
        keep.extend(idx[: max(1, round(len(idx) * fraction))])
    return data.select(sorted(keep))


# ---------------------------------------------------------------------------------------------
# Duplicates


def normalize_for_duplicates(text: str) -> str:
    """Whitespace-normalised text: runs of whitespace become one space, ends stripped.

    Two texts are duplicates when these are equal (case and punctuation still count).
    """
    return " ".join(text.split())


@dataclass
class DuplicateReport:
    """Test rows whose text (whitespace-normalised) also occurs in the training data.

    Attributes:
        test_indices: sorted row indices into the test data.
        train_indices: for each test index, the first matching training row.
        label_conflicts: how many of them carry a different label than their training twin.
        examples: the first few as dicts (test_where, train_where, labels, text).
    """

    test_indices: list[int]
    train_indices: list[int]
    label_conflicts: int
    examples: list[dict[str, Any]]

    @property
    def count(self) -> int:
        """Number of test rows that duplicate a training row."""
        return len(self.test_indices)

    def format(self) -> str:
        """Human summary, e.g. `12 test texts also occur in train (2 with another label)`."""
        if not self.count:
            return "no test text occurs in train"
        head = (
            f"{self.count} test texts also occur in train "
            f"({self.label_conflicts} with another label)"
        )
        lines = [f"  {e['test_where']} = {e['train_where']}: {e['text']!r}" for e in self.examples]
        return "\n".join([head, *lines])

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "count": self.count,
            "label_conflicts": self.label_conflicts,
            "test_indices": list(self.test_indices),
            "examples": list(self.examples),
        }


def find_duplicates(train: LabelledData, test: LabelledData) -> DuplicateReport:
    """Find test texts that also occur in train ("exact" after `normalize_for_duplicates`).

    Such rows inflate test scores (the model may have memorised them); drop them with
    `drop_duplicates` when reporting results.
    """
    seen: dict[str, int] = {}
    for i, text in enumerate(train.texts):
        seen.setdefault(normalize_for_duplicates(text), i)
    test_idx: list[int] = []
    train_idx: list[int] = []
    examples: list[dict[str, Any]] = []
    conflicts = 0
    for j, text in enumerate(test.texts):
        match = seen.get(normalize_for_duplicates(text))
        if match is None:
            continue
        i = match
        test_idx.append(j)
        train_idx.append(i)
        conflicts += train.labels[i] != test.labels[j]
        if len(examples) < MAX_EXAMPLES:
            examples.append(
                {
                    "test_where": test.where(j),
                    "train_where": train.where(i),
                    "test_label": test.labels[j],
                    "train_label": train.labels[i],
                    "text": normalize_for_duplicates(text)[:80],
                }
            )
    return DuplicateReport(test_idx, train_idx, conflicts, examples)


def drop_duplicates(test: LabelledData, report: DuplicateReport) -> LabelledData:
    """`test` without the rows `report` (from `find_duplicates(train, test)`) flagged."""
    dropped = set(report.test_indices)
    return test.select(i for i in range(len(test)) if i not in dropped)
