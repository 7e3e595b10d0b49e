"""Labelled texts read through the one reader: a CSV/TSV/JSONL file or a folder per class.

Three layouts are read, each into the same `LabelledData`:

- CSV / TSV (`.csv`, `.tsv`, `.tab`, optionally compressed): a header row names the columns
  (`text_column`, `label_column`); pass integer columns for a file without a header.
- JSONL (`.jsonl`, `.ndjson`, `.json`): one JSON object per line.
- A folder per class, the torchvision ImageFolder convention: `root/<label>/<file>`, one text
  per file.

Decoding, quoting and bad rows follow `vecgraft.text.reader` (strict UTF-8 unless told;
unusable rows dropped and reported with their line numbers, or an error under
bad_rows="error").
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from vecgraft.errors import DataError
from vecgraft.text.reader import ReadOptions, ReadReport, TextReader

__all__ = ["LabelledData", "read_labelled_texts"]


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


def read_labelled_texts(
    path: str | os.PathLike[str],
    *,
    text_column: str | int = "text",
    label_column: str | int = "label",
    options: ReadOptions | None = None,
) -> tuple[LabelledData, ReadReport]:
    """Labelled rows of a file or folder per class, and the report of what was dropped.

    A header row is expected unless both columns are integers (a file without a header).
    """
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: no such file or directory")
    header = not (isinstance(text_column, int) and isinstance(label_column, int))
    reader = TextReader(
        text_column=text_column,
        label_column=label_column,
        header=header,
        options=options,
        source=str(p),
    )
    rows = list(reader.folder_rows(p) if p.is_dir() else reader.rows(p))
    data = LabelledData(
        texts=[row.text for row in rows],
        labels=[row.label or "" for row in rows],
        source=str(p),
        lines=[row.line for row in rows],
        files=[row.file for row in rows if row.file is not None],
    )
    return data, reader.report
