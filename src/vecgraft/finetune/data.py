r"""Labelled text for fine-tuning: read (through `vecgraft.text`), check, and the jobs around it.

Reading is the one text reader's (`vecgraft.text.reader`: strict UTF-8 unless told, one set
of quoting rules, unusable rows dropped and reported with their line numbers); label ids
live in `finetune.labels`, splits in `finetune.splits`, duplicates in `finetune.dedup`. This
module keeps the names importable from one place.

    >>> import tempfile
    >>> from pathlib import Path
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

import os

from vecgraft._util.options import parse_enum
from vecgraft._util.policies import BadRowPolicy, UnicodeErrors
from vecgraft.errors import DataError
from vecgraft.finetune.dedup import (
    DuplicateReport,
    drop_duplicates,
    find_duplicates,
    normalize_for_duplicates,
)
from vecgraft.finetune.labels import LabelMap, filter_unknown_labels
from vecgraft.finetune.splits import stratified_split, subsample
from vecgraft.text.labelled import LabelledData, read_labelled_texts
from vecgraft.text.reader import MAX_EXAMPLES, BadRow, ReadOptions
from vecgraft.text.reader import DropReason as BadReason
from vecgraft.text.reader import ReadReport as BadRows

__all__ = [
    "MAX_EXAMPLES",
    "BadReason",
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


def read_labelled(
    path: str | os.PathLike[str],
    *,
    text_column: str | int = "text",
    label_column: str | int = "label",
    bad_rows: BadRowPolicy | str = BadRowPolicy.SKIP,
    label_map: LabelMap | None = None,
    encoding: str = "utf-8",
    errors: UnicodeErrors | str = UnicodeErrors.STRICT,
) -> tuple[LabelledData, BadRows]:
    """Read labelled texts from a CSV/TSV/JSONL file or a folder per class.

    Args:
        path: the file, or a folder laid out as `root/<label>/<file>`.
        text_column: name (or 0-based index, for CSV/TSV without a header) of the text column.
        label_column: name (or index) of the label column.
        bad_rows: "skip" (old spelling "report") drops and counts unusable rows with their
            line numbers; "error" raises at the first one.
        label_map: labels known to a trained model; rows with other labels are bad rows
            ("unknown_label"), as at test time.
        encoding: the file's encoding (ASCII-compatible; default UTF-8, BOM removed).
        errors: "strict" (default: a DataError naming file and line), "replace" or
            "ignore"; repaired lines are counted in the report.

    Returns:
        (data, report of dropped rows and repaired lines).

    Raises:
        DataError: missing file or column (the message lists the columns found), a malformed
            CSV, undecodable bytes under errors="strict", no usable rows, or any bad row
            under bad_rows="error".
    """
    policy = parse_enum(BadRowPolicy, bad_rows, "bad_rows")
    options = ReadOptions(encoding=encoding, errors=errors, bad_rows=policy)  # type: ignore[arg-type]
    data, bad = read_labelled_texts(
        path, text_column=text_column, label_column=label_column, options=options
    )
    if label_map is not None:
        data, bad = filter_unknown_labels(data, label_map, bad_rows=policy, report=bad)
    if not len(data):
        why = bad.format() if bad else "it holds no rows"  # a header alone, empty subfolders
        raise DataError(f"{data.source}: no usable labelled rows ({why})")
    return data, bad
