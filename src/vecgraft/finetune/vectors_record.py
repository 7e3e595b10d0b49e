"""What is recorded with the vectors at a path: a metadata.json and a native file's header.

A run that names a vectors path takes its tokenizer from what was recorded when the vectors
were made: `vecgraft pretrain`'s metadata.json in or beside them, or a vecgraft native
file's own metadata (`from-transformer --vocab`, `export`). Here each is read once per
lookup (`_read_at`), which of the two wins is decided (`_json_standing`), and the log's
words for where the tokenizer came from are given (`RecordSource`).

It is a module of its own, apart from the model families, because more than a run reads
the record: `intrinsic`, `compare`, `neighbors` and `export` read it without importing the
families, and the text settings (`vecgraft.finetune.text_settings`) build a run's
tokenizer on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeGuard

from vecgraft._util.jsonfile import RECORD_LIMIT, read_json_file

__all__ = [
    "FROM_FILE_METADATA",
    "FROM_FILE_OVER_STALE_JSON",
    "FROM_METADATA_JSON",
    "FROM_METADATA_JSON_OVER_FILE",
    "FROM_OWN_METADATA",
    "NativeRecord",
    "RecordSource",
    "recorded_tokenizer",
    "recorded_with_source",
    "vectors_metadata",
    "vectors_record",
    "vectors_tokenizer_source",
]


@dataclass(frozen=True)
class RecordSource:
    """Where a tokenizer taken from the vectors is recorded, in the words the log says it.

    `the`: "Tokenizer: jieba (from {the}; ...)"; `their`: "... trained on char ({their})".
    Why: every such line said "the vectors' metadata.json", also of a native file that
    keeps its tokenizer alone (`from-transformer --vocab`, `export`) and has none.
    """

    the: str
    their: str


# a metadata.json in or beside the vectors (`vecgraft pretrain` writes one)
FROM_METADATA_JSON = RecordSource("the vectors' metadata.json", "their metadata.json")
# ... that records another tokenizer than the native file it describes: it wins, said so
FROM_METADATA_JSON_OVER_FILE = RecordSource(
    "the vectors' metadata.json, which overrides the vectors file's own metadata",
    "their metadata.json",
)
# a vecgraft native file's embedded metadata, with no metadata.json that says the same
FROM_FILE_METADATA = RecordSource(
    "the vectors file's own metadata", "their file's own metadata"
)
# ... over a metadata.json that lists the file and records another tokenizer, but was not
# written with this file (a native file saved into a pretrain folder since): said so
FROM_FILE_OVER_STALE_JSON = RecordSource(
    "the vectors file's own metadata, over a metadata.json that does not describe this file",
    "their file's own metadata",
)
# why a metadata.json with no fingerprint (a user's, or written before pretrain recorded
# one) is not known to describe the native file: `_unproven`
_NOT_LISTED = "does not list this file"
_NO_SIZES = "records no word count or dim to show that it describes this file"
# loaded (in-memory) vectors' `metadata`, recorded at no path the run names
FROM_OWN_METADATA = RecordSource("the vectors' own metadata", "their own metadata")


def vectors_metadata(path: str) -> dict[str, Any]:
    """What is recorded with the vectors at `path` ({} if nothing).

    A folder's `metadata.json` (written by `vecgraft pretrain`) when it names a tokenizer
    and was written with the native file there, else a vecgraft native file's own
    metadata when it names one, else the metadata.json,
    else the native file's metadata as it is (`_json_standing`: which of the two wins). Why
    the native file's at all: `from-transformer --vocab` keeps the vocabulary's tokenizer
    in the native file alone; `tune`, which loads the vectors, cut texts with it, while
    `finetune`, `build` and `compare`, which name the path, read only a metadata.json.
    """
    return vectors_record(path)[0]


def vectors_record(path: str) -> tuple[dict[str, Any], RecordSource]:
    """`vectors_metadata(path)`, and where the tokenizer it gives is recorded.

    Each file read once: the native header and the metadata.json beside it were read for
    the metadata, then both again to say where its tokenizer came from.
    """
    return _record_of(*_read_at(path))


def _read_at(path: str) -> tuple[NativeRecord, dict[str, Any] | None, str | None]:
    """The native header and the metadata.json at `path`, each read once, and how they rank."""
    folder = Path(path)
    native, beside = _native_record(folder), _metadata_json(folder)
    return native, beside, _json_standing(folder, beside, native)


def _record_of(
    native: NativeRecord, beside: dict[str, Any] | None, standing: str | None
) -> tuple[dict[str, Any], RecordSource]:
    """`vectors_record` of what `_read_at` read."""
    embedded = native.metadata
    if beside is not None and standing == "first":
        data = beside
    elif beside is None or _names_kind(embedded.get("tokenizer")):
        data = embedded
    else:  # the native file names no tokenizer
        data = beside
    saved = data.get("tokenizer")
    return data, _source_of(saved if isinstance(saved, Mapping) else {}, beside, embedded, standing)


def _json_standing(
    path: Path, beside: Mapping[str, Any] | None, native: NativeRecord
) -> str | None:
    """How metadata.json `beside` ranks against the native file's own tokenizer at `path`.

    "first": it names a tokenizer, claims the file (it is the folder's, or lists the file
    among its `files`) and was written with it: it is the file the README tells users to
    read and edit, and its edits were ignored (a `user_dict` moved: "segmenting without
    it" of the old path). Written with it: its `FINGERPRINT_KEY` is the file's
    `native_fingerprint`, or, with none (pretrain wrote none before), it lists the file
    and the sizes it records are the file's (`_unproven`). Otherwise, where it claims
    the file, why it does not describe it ("does not describe this file": a native file
    saved into a pretrain folder since, `save` or `convert --overwrite`, was overridden
    by the earlier run's tokenizer). None: it claims no file there, or names no tokenizer
    (another native file in the folder, `from-transformer --vocab`, keeps its own).
    """
    if beside is None or not _names_kind(beside.get("tokenizer")):
        return None
    files = beside.get("files")
    listed = isinstance(files, Mapping) and native.name in files.values()
    if not path.is_dir() and not listed:
        return None
    from vecgraft.io.native import FINGERPRINT_KEY

    if FINGERPRINT_KEY in beside:
        written_with = native.fingerprint is not None \
            and beside[FINGERPRINT_KEY] == native.fingerprint  # fmt: skip
        return "first" if written_with else "does not describe this file"
    why = _unproven(beside, native) if listed else _NOT_LISTED
    return "first" if why is None else why


def _unproven(beside: Mapping[str, Any], native: NativeRecord) -> str | None:
    """Why a metadata.json with no fingerprint does not describe `native`; None: it does.

    Pretrain wrote no fingerprint before `FINGERPRINT_KEY`, but it wrote `vocab_size`
    and `options.dim`: an edit to such a folder's metadata.json was ignored, said as
    "over a metadata.json that does not describe this file", of the very file it was
    written with. Sizes it records that differ from the file's header say that another
    file was saved there since; no sizes at all say nothing either way, so the file's
    own tokenizer stays.
    """
    if native.words is None or native.dim is None:
        return None  # no native header: nothing for it to be outranked by
    options = beside.get("options")
    dim = options.get("dim") if isinstance(options, Mapping) else None
    recorded = [(beside.get("vocab_size"), native.words, "{:,} words", "holds {:,}"),
                (dim, native.dim, "dim {}", "has dim {}")]  # fmt: skip
    sizes = [row for row in recorded if isinstance(row[0], int) and not isinstance(row[0], bool)]
    if not sizes:
        return _NO_SIZES
    wrong = [row for row in sizes if row[0] != row[1]]
    if not wrong:
        return None
    said = [f"{ours.format(mine)} where this file {its.format(actual)}"
            for mine, actual, ours, its in wrong]  # fmt: skip
    return "records " + " and ".join(said)


def _names_kind(tokenizer: Any) -> TypeGuard[Mapping[str, Any]]:
    """Whether a recorded tokenizer names its kind (one that a run can rebuild)."""
    return isinstance(tokenizer, Mapping) and bool(tokenizer.get("kind"))


def _metadata_json(path: Path) -> dict[str, Any] | None:
    """The metadata.json in folder `path` or beside file `path`; None: none, or unreadable."""
    meta = path / "metadata.json" if path.is_dir() else path.parent / "metadata.json"
    try:
        data = read_json_file(meta, limit=RECORD_LIMIT)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _tokenizer_source(path: str | None, saved: Mapping[str, Any]) -> RecordSource:
    """Where tokenizer `saved`, taken from the vectors, is recorded (`RecordSource`).

    A metadata.json at `path` that records the same tokenizer is named first: a pretrain
    folder's native file repeats it, and its users know the metadata.json. Else the
    native file at `path` when it records it, else the loaded vectors' own metadata.
    """
    if path is None:
        return FROM_OWN_METADATA
    native, beside, standing = _read_at(path)
    return _source_of(saved, beside, native.metadata, standing)


def _source_of(
    saved: Mapping[str, Any],
    beside: Mapping[str, Any] | None,
    embedded: Mapping[str, Any],
    standing: str | None = None,
) -> RecordSource:
    """`_tokenizer_source` given what the metadata.json (`beside`) and native header hold.

    `standing`: `_json_standing`'s; other than "first" or None, why `beside` claims the
    native file but does not describe it, which the line says.
    """
    if beside is not None and beside.get("tokenizer") == saved:
        theirs = embedded.get("tokenizer")
        return FROM_METADATA_JSON_OVER_FILE if _names_kind(theirs) and theirs != saved \
            else FROM_METADATA_JSON  # fmt: skip
    if embedded.get("tokenizer") == saved:
        if standing in (None, "first") or not _names_kind(saved):
            return FROM_FILE_METADATA
        return RecordSource(
            f"the vectors file's own metadata, over a metadata.json that {standing}",
            FROM_FILE_OVER_STALE_JSON.their,
        )
    return FROM_OWN_METADATA


def vectors_tokenizer_source(path: str) -> RecordSource:
    """Where the tokenizer `vectors_metadata(path)` gives is recorded (`RecordSource`).

    For `intrinsic` and `compare`, whose notes said "their metadata.json" also of a native
    file that keeps its tokenizer alone (`from-transformer --vocab`) and has none.
    """
    return vectors_record(path)[1]


class NativeRecord(NamedTuple):
    """What a native file's header records, for `_json_standing`."""

    name: str  # the file's name (a folder's: `FOLDER_FILE`)
    metadata: dict[str, Any]
    fingerprint: int | None  # `native_fingerprint`'s, from the same read
    words: int | None  # how many (its header's `count`)
    dim: int | None


def _native_record(path: Path) -> NativeRecord:
    """What native file `path` (or its folder's) header records (`NativeRecord`).

    No metadata, fingerprint nor sizes for anything else, read from its first 9 bytes: a
    GloVe text file is never read further (a header length beyond the file, or no '{'
    after it, is no native file), and a named pipe is never opened (the load refuses it
    with its own error).
    """
    from vecgraft.errors import FormatError
    from vecgraft.io.native import (
        _MAX_HEADER,
        FOLDER_FILE,
        _read_header,
        _vecgraft_meta,
        header_fingerprint,
    )

    target = path / FOLDER_FILE if path.is_dir() else path
    none = NativeRecord(target.name, {}, None, None, None)
    if not target.is_file():  # a FIFO or device: opening one alone can block forever
        return none
    try:
        with open(target, "rb") as fh:
            size = fh.seek(0, 2)
            fh.seek(0)
            head = fh.read(9)
        n = int.from_bytes(head[:8], "little")
        if len(head) < 9 or head[8:9] != b"{" or n > min(_MAX_HEADER, size - 8):
            return none
        header, _, _ = _read_header(target)
        meta = _vecgraft_meta(header, target)
    except (OSError, ValueError, RecursionError, FormatError):  # a crafted or odd header
        return none
    stored, count, dim = meta.get("metadata"), meta.get("count"), meta.get("dim")
    return NativeRecord(
        target.name,
        dict(stored) if isinstance(stored, dict) else {},
        header_fingerprint(header),
        count if isinstance(count, int) else None,
        dim if isinstance(dim, int) else None,
    )


def recorded_with_source(
    path: str | None, own: Any
) -> tuple[Mapping[str, Any], RecordSource]:
    """The tokenizer recorded at `path` or in loaded vectors' metadata (`own`), and where.

    `own` first, but for a metadata.json at `path` that outranks the native file
    (`_json_standing`): loaded vectors carry the native file's metadata, and `tune` then
    followed it where `finetune` on the same path followed the metadata.json.
    """
    if path is None:
        return (own, FROM_OWN_METADATA) if _names_kind(own) else ({}, FROM_OWN_METADATA)
    native, beside, standing = _read_at(path)  # the files at `path`, each read once
    data, source = _record_of(native, beside, standing)
    saved = data.get("tokenizer")
    json_first = source in (FROM_METADATA_JSON, FROM_METADATA_JSON_OVER_FILE)
    if _names_kind(saved) and (json_first or not _names_kind(own)):
        return saved, source
    if _names_kind(own):  # where it is recorded, from the same read
        return own, _source_of(own, beside, native.metadata, standing)
    return {}, FROM_OWN_METADATA


def recorded_tokenizer(path: str | None, metadata: Mapping[str, Any]) -> Mapping[str, Any]:
    """The tokenizer recorded with vectors ({} if none names a kind).

    Their own `metadata` first, but for a metadata.json at `path` that outranks the native
    file they were loaded from (`recorded_with_source`), else what is recorded at `path`
    (`vectors_metadata`: a native file's own metadata, or the `metadata.json` beside it).
    """
    return recorded_with_source(path, metadata.get("tokenizer"))[0]
