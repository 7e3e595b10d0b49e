r"""TensorBoard embedding-projector files: a tensor TSV, a metadata TSV and the config.

The projector (TensorBoard's "Projector" tab, or projector.tensorflow.org with "Load") reads

* `tensors.tsv`: one row per vector, values separated by tabs, no header;
* `metadata.tsv`: one row per vector; with one column there is no header, with several the
  first line names them (here `word` and, when known, `rule`: how `align` filled the row);
* `projector_config.pbtxt`: the text-format `ProjectorConfig` naming both files.

Tabs and newlines inside words would break the TSV, so they are written as `\t` and `\n`
(a backslash as `\\`). The projector skips every line that is blank once trimmed, so a
word that is empty or only whitespace (" ", NBSP, U+3000) would lose its line and shift every
later label by one row; such a word is written with each character escaped (`\x20`, `\xa0`,
`\u3000`) and the empty word as `\N` (the null of PostgreSQL's and MySQL's TSV dumps).

Example:
    >>> import tempfile
    >>> folder = write_projector(tempfile.mkdtemp() + "/p", ["a", "b"], np.eye(2),
    ...                          {"rule": ["exact", "init"]})
    >>> sorted(p.name for p in folder.iterdir())
    ['metadata.tsv', 'projector_config.pbtxt', 'tensors.tsv']
    >>> (folder / "metadata.tsv").read_text().splitlines()
    ['word\trule', 'a\texact', 'b\tinit']
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from vecgraft._util.atomic import atomic_directory
from vecgraft._util.console import progress_meter
from vecgraft.errors import FormatError

__all__ = ["PROJECTOR_FILES", "write_projector"]

PROJECTOR_FILES = ("tensors.tsv", "metadata.tsv", "projector_config.pbtxt")

# rows of tensors.tsv formatted per write: a few MB of text, however large the matrix
_ROWS_PER_WRITE = 4096
# with stderr a file or pipe, a plain progress line at most this often (as a long load's)
_LINE_SECONDS = 30.0


# what JavaScript's String.trim() removes: the projector drops a line that trims to ""
_JS_SPACE = frozenset(
    "\t\n\v\f\r \xa0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff"
    + "".join(map(chr, range(0x2000, 0x200B)))
)


def _cell(value: str) -> str:
    if all(c in _JS_SPACE or c.isspace() for c in value):  # blank: the line would be skipped
        return (
            "".join(f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}" for c in value)
            or "\\N"
        )
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def write_projector(
    directory: str | os.PathLike[str],
    words: Sequence[str],
    matrix: np.ndarray,
    columns: Mapping[str, Sequence[str]] | None = None,
    *,
    name: str = "vecgraft",
    progress: bool | None = False,
) -> Path:
    """Write the three projector files into a new folder `directory` (atomically).

    Args:
        directory: the folder to create; an earlier one of this kind is replaced in one
            rename, a file or a folder of other files is refused (`check_replaceable`).
        words: the label of each row.
        matrix: [len(words), dim].
        columns: extra metadata columns (name -> one value per row), e.g. {"rule": rules}.
        name: the tensor name shown in the projector.
        progress: rows of tensors.tsv written: False (the default, as `save`'s) says
            nothing; None draws a bar on a terminal or in a notebook and a plain line every
            30 s where stderr is a file or pipe (`progress_meter`); True always a bar.
    """
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] != len(words):
        raise FormatError(
            f"expected a matrix of shape [{len(words)}, dim], found {matrix.shape}", path=directory
        )
    extra = dict(columns or {})
    for col, values in extra.items():
        if len(values) != len(words):
            raise FormatError(
                f"metadata column {col!r} has {len(values)} values, expected {len(words)}"
            )
    lines: list[str] = []
    if extra:
        lines.append("\t".join(["word", *extra]))
        for i, word in enumerate(words):
            lines.append("\t".join(_cell(str(v)) for v in [word, *(c[i] for c in extra.values())]))
    else:
        lines.extend(_cell(w) for w in words)
    config = (
        "embeddings {\n"
        f'  tensor_name: "{name}"\n'
        f"  tensor_shape: {matrix.shape[0]}\n"
        f"  tensor_shape: {matrix.shape[1]}\n"
        '  tensor_path: "tensors.tsv"\n'
        '  metadata_path: "metadata.tsv"\n'
        "}\n"
    )
    with atomic_directory(directory, replaces=PROJECTOR_FILES) as tmp:
        _write_tensors(tmp / "tensors.tsv", matrix, progress)
        (tmp / "metadata.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (tmp / "projector_config.pbtxt").write_text(config, encoding="utf-8")
    return Path(directory)


def _write_tensors(path: Path, matrix: np.ndarray, progress: bool | None) -> None:
    """`matrix` as tab-separated rows (`%.9g`: a float32 round-trips), a block at a time.

    Why blocks: the whole text in one string, then a second copy of it to write, took
    7x the matrix's memory (3.6 GB for 400k x 300) and showed nothing for 40 s.
    """
    bar = progress_meter(
        progress, matrix.shape[0], f"writing {path.name}", interval=_LINE_SECONDS,
        unit="row", unit_scale=True, leave=False,
    )  # fmt: skip
    try:
        with open(path, "w", encoding="utf-8") as out:
            for start in range(0, matrix.shape[0], _ROWS_PER_WRITE):
                block = matrix[start : start + _ROWS_PER_WRITE]
                np.savetxt(out, block, delimiter="\t", fmt="%.9g")
                bar.update(block.shape[0])
    finally:
        bar.close()
