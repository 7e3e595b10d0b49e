"""Label strings <-> class ids; test labels a trained model does not know, scored as errors."""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vecgraft._util.atomic import atomic_write_json
from vecgraft._util.console import printable
from vecgraft._util.jsonfile import RECORD_LIMIT, read_json_file
from vecgraft._util.options import parse_enum
from vecgraft._util.policies import BadRowPolicy
from vecgraft.errors import CheckpointError, DataError, MissingExtraError
from vecgraft.text._streams import label_text, nfc
from vecgraft.text.labelled import LabelledData
from vecgraft.text.reader import DropReason, ReadReport, drop_error
from vecgraft.text.report import not_nfc
from vecgraft.text.zh import HAN, to_simplified

__all__ = [
    "LabelMap",
    "UnseenLabels",
    "control_labels",
    "drop_labelled_rows",
    "filter_unknown_labels",
    "lookalike_labels",
    "merged_spellings",
    "say_merged_spellings",
    "saved_labels",
]

# how many unseen labels a warning names before "and N more"
SHOWN_UNSEEN = 5


@dataclass(frozen=True)
class UnseenLabels:
    """Gold labels of scored rows that the training data lacks, with their row counts.

    The model has no output for such a label, so its rows are scored as errors (recall 0,
    as scikit-learn scores a gold label never predicted) rather than dropped, which would
    inflate every score. Label `labels[i]` has class id `num_classes + i`, after the
    model's own classes.

    `lookalikes` maps an unseen label to the training label it differs from only in case,
    spacing (JSON's `true` read as 'true' where pandas wrote the training CSV's `True`) or
    traditional/simplified Chinese characters ('手機' where training wrote '手机'; with OpenCC,
    the `zh` extra, installed): the warning names them, since the fix is to write the labels
    alike.

    Example:
        >>> u = UnseenLabels({"z": 2, "q": 1})
        >>> u.labels, u.count, u.to_dict()
        (['q', 'z'], 3, {'labels': ['q', 'z'], 'rows': {'q': 1, 'z': 2}, 'count': 3})
    """

    rows: dict[str, int] = field(default_factory=dict)
    lookalikes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rows", dict(sorted(self.rows.items())))
        object.__setattr__(self, "lookalikes", dict(sorted(self.lookalikes.items())))

    def __bool__(self) -> bool:
        return bool(self.rows)

    @property
    def labels(self) -> list[str]:
        """The unseen labels, sorted (their ids follow the model's classes in this order)."""
        return list(self.rows)

    @property
    def count(self) -> int:
        """Rows holding an unseen label."""
        return sum(self.rows.values())

    def to_dict(self) -> dict[str, Any]:
        """The `metrics.json` "unseen_labels" block: labels, rows per label, total rows."""
        return {"labels": self.labels, "rows": dict(self.rows), "count": self.count}

    def warning(self, where: str, total: int) -> str:
        """One log line naming the first few labels and the counts, and how they are scored."""
        shown = ", ".join(f"{label!r} {n} row{'s' * (n != 1)}"
                          for label, n in list(self.rows.items())[:SHOWN_UNSEEN])  # fmt: skip
        more = len(self.rows) - SHOWN_UNSEEN
        if more > 0:
            shown += f", and {more} more label{'s' * (more != 1)}"
        one = len(self.rows) == 1
        return (
            f"WARNING: {where}: {self.count} of {total} rows have a label that does not occur "
            f"in the training data ({shown}){self._lookalike_note()}; the model cannot "
            f"predict {'it' if one else 'them'}, so these rows are scored as errors (in "
            f"accuracy, and as {'a class' if one else 'classes'} with F1 0 in the macro "
            "averages)"
        )

    def check_some_seen(
        self, where: str, total: int, known: Sequence[str], known_as: str = "the training labels"
    ) -> None:
        """A DataError when every one of `total` rows has an unseen label: it can only score 0.

        Called before training (a test file) and before scoring (`evaluate`), so that a
        file whose labels are all spelled otherwise stops with why, not with 0 %. Both
        label sets are named (`known`: the model's, said as `known_as`): naming the file's
        alone ("no label that occurs in the training data ('0', '1')") read as the
        training labels, and the run's own were never shown.
        """
        if not total or self.count < total:
            return
        fix = "write them as the training data does" if self.lookalikes else (
            "is it the file the model was meant for?")  # fmt: skip
        raise DataError(
            f"{where}: its labels ({_some(self.labels)}) are none of {known_as} "
            f"({_some(known)}){self._lookalike_note()}, so each of its {total} rows would be "
            f"scored as an error (0 %); {fix}"
        )

    def _lookalike_note(self) -> str:
        """`; 'true' differs only in case from training label 'True'`, or ""."""
        pairs = list(self.lookalikes.items())[:SHOWN_UNSEEN]
        return "".join(f"; {_likeness(label, known)} training label {known!r}"
                       for label, known in pairs)  # fmt: skip


def _some(labels: Sequence[str]) -> str:
    """The first SHOWN_UNSEEN labels, quoted, and how many more: "'a', 'b', and 3 more"."""
    shown = ", ".join(repr(label) for label in labels[:SHOWN_UNSEEN])
    more = len(labels) - SHOWN_UNSEEN
    return shown + (f", and {more} more" if more > 0 else "")


def _number(label: str) -> float | None:
    """The finite number `label` reads as (`01` -> 1.0), or None for other text."""
    try:
        value = float(label)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _likeness(label: str, known: str) -> str:
    """`'01' reads as the same number as`, `'true' differs only in case from`."""
    value = _number(label)
    if value is not None and value == _number(known):
        return f"{label!r} reads as the same number as"
    return f"{label!r} differs only in {_difference(label, known)} from"


# how two labels differ that are one label in traditional and in simplified characters
SCRIPT = "traditional/simplified characters"

# how a spelling differs from the label it is read as (`label_text`), and why reading merges
# it into that label
SPACES = "surrounding whitespace"
FORM = "Unicode normalisation (NFC/NFD)"
NUMBER = "number"
_WHY = {
    NUMBER: "a whole number with a zero fraction is that number, as a float column writes it",
    SPACES: "a label is read without the spaces around it",
    FORM: "labels are compared in Unicode NFC",
}


def _simplifier() -> Callable[[str], str]:
    """A label -> its spelling in simplified Chinese characters (OpenCC's t2s).

    OpenCC loads at the first label with a Han character; without it (the `zh` extra is
    optional) labels stay as written, so traditional and simplified spellings are not matched.
    """
    missing = False

    def simplify(label: str) -> str:
        nonlocal missing
        if missing or not HAN.search(label):
            return label
        try:
            return to_simplified(label)
        except MissingExtraError:
            missing = True
            return label

    return simplify


def _folded(label: str, simplify: Callable[[str], str] | None = None) -> str:
    """`label` without case and with single spaces: what two lookalike spellings share.

    Given `simplify` (`_simplifier()`), in simplified Chinese characters too.
    """
    return " ".join(nfc(simplify(label) if simplify else label).split()).casefold()


def _difference(label: str, other: str) -> str:
    """How two labels with the same `_folded` form differ: "case", "spacing", `SCRIPT`, `FORM`.

    Two or three of them joined ("case and spacing") when they differ in more than one way.
    """
    simplify = _simplifier()
    one, two = nfc(simplify(label)), nfc(simplify(other))
    ways = [
        way
        for way, differ in (
            ("case", " ".join(one.split()) != " ".join(two.split())),
            ("spacing", one.casefold() != two.casefold()),
            (SCRIPT, _folded(label) != _folded(other)),
            (FORM, not_nfc(label) != not_nfc(other)),
        )
        if differ
    ]
    return ", ".join(ways[:-1]) + " and " + ways[-1] if len(ways) > 1 else "".join(ways)


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

    def encode_rows(self, data: LabelledData, *, why: str = "") -> list[int]:
        """Class ids of `data.labels`; a label this map lacks is a DataError naming its row.

        `why` is added to that error (why this file's labels must be the training data's).
        """
        out: list[int] = []
        for row, label in enumerate(data.labels):
            if label not in self.index:
                raise DataError(
                    f"{data.where(row)}: label {label!r} does not occur in the training data "
                    f"(known: {self._known()}){why}"
                )
            out.append(self.index[label])
        return out

    def encode_scored(self, labels: Iterable[str]) -> tuple[list[int], UnseenLabels]:
        """Class ids of gold labels to score a model on, and the labels this map lacks.

        A label the map lacks (a rare class that fell only in the test file) gets an id
        after the map's classes, in sorted order, so its rows stay in the scores, as
        errors: the model's outputs (and its size) are the map's classes alone.

        Example:
            >>> ids, unseen = LabelMap(["a", "b"]).encode_scored(["b", "z", "a", "y", "z"])
            >>> ids, unseen.labels, unseen.rows
            ([1, 3, 0, 2, 3], ['y', 'z'], {'y': 1, 'z': 2})
        """
        gold = [str(label) for label in labels]
        # a run trained before labels were read alike in every format keeps a CSV's "1.0"
        # as its label, where its data now read "1"
        index = {label_text(label): i for i, label in enumerate(self.labels)} | self.index
        rows = dict(Counter(g for g in gold if g not in index))
        simplify = _simplifier()
        folded = {_folded(label, simplify): label for label in reversed(self.labels)}
        lookalikes = {g: folded[key] for g in rows if (key := _folded(g, simplify)) in folded}
        numbers = {value: label for label in reversed(self.labels)
                   if (value := _number(label)) is not None}  # fmt: skip
        lookalikes |= {g: numbers[value] for g in rows
                       if g not in lookalikes and (value := _number(g)) in numbers}  # fmt: skip
        unseen = UnseenLabels(rows, lookalikes)
        extra = {label: len(self.labels) + i for i, label in enumerate(unseen.labels)}
        return [index[g] if g in index else extra[g] for g in gold], unseen

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
        if len(set(labels)) != len(labels):  # an edited file: ids would shift silently
            raise DataError("a label map lists each label once; some are listed twice")
        return cls(labels)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write `labels.json` (atomically)."""
        atomic_write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> LabelMap:
        """Read a file written by `save`; errors name the file."""
        try:
            obj = read_json_file(Path(path), limit=RECORD_LIMIT)
        except FileNotFoundError:
            raise DataError(f"{path}: no such label file") from None
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: not a label map: {exc}") from exc
        try:
            return cls.from_dict(obj)
        except DataError as exc:
            raise DataError(f"{path}: {exc}") from None


def saved_labels(obj: object, source: str | os.PathLike[str]) -> list[str]:
    """The label list of a checkpoint's labels.json (`{"labels": [...]}`), as strings.

    Label i names the model's output i, so a label listed twice is refused: it named two
    columns alike (a `--proba` header with two "food" columns) and hid a class.
    """
    labels = obj.get("labels") if isinstance(obj, dict) else None
    if not isinstance(labels, list) or not labels:
        raise CheckpointError(f"{source}: expected {{'labels': [...]}} with at least one label")
    names = [str(x) for x in labels]
    twice = sorted(label for label, n in Counter(names).items() if n > 1)
    if twice:
        shown = ", ".join(repr(label) for label in twice[:SHOWN_UNSEEN])
        raise CheckpointError(f"{source}: labels listed more than once ({shown}); each model "
                              "output has its own label")  # fmt: skip
    return names


def filter_unknown_labels(
    data: LabelledData,
    label_map: LabelMap,
    *,
    bad_rows: BadRowPolicy | str = BadRowPolicy.SKIP,
    report: ReadReport | None = None,
) -> tuple[LabelledData, ReadReport]:
    """Drop (and count) rows whose label `label_map` does not know, as at test time.

    Under bad_rows="error" the first such row is a DataError naming file and line and listing
    the known labels.
    """
    policy = parse_enum(BadRowPolicy, bad_rows, "bad_rows")
    bad = report if report is not None else ReadReport(data.source)
    data = drop_labelled_rows(
        data, bad, policy, DropReason.UNKNOWN_LABEL, keep=label_map.__contains__,
        detail=lambda label: f" {label!r}; known labels: {label_map._known()}",
    )  # fmt: skip
    return data, bad


def drop_labelled_rows(
    data: LabelledData,
    bad: ReadReport,
    policy: BadRowPolicy,
    reason: DropReason,
    *,
    keep: Callable[[str], bool],
    detail: Callable[[str], str],
) -> LabelledData:
    """`data` without the rows whose label `keep` refuses, each counted in `bad` as `reason`.

    Under `policy` ERROR the first such row is a BadRowError naming file and line, its
    label's `detail` appended. Shared by the label checks made after reading (unknown
    labels, a regression's NA-like ones) so both drop and refuse alike.
    """
    kept = []
    for i, label in enumerate(data.labels):
        if keep(label):
            kept.append(i)
            continue
        if policy is BadRowPolicy.ERROR:
            raise drop_error(data.where(i), reason, detail(label))
        file = data.files[i] if data.files else None
        bad.add(data.lines[i], reason, data.texts[i], file)
    return data if len(kept) == len(data) else data.select(kept)


def lookalike_labels(labels: Iterable[str]) -> list[tuple[list[str], str]]:
    """Groups of two or more labels that look like one label written differently.

    Labels are strings, so "1" and "01", or "Pos" and "pos", are different classes; a file
    stitched from two sources (one of them labelled by hand) is the usual cause. (A file's
    "1.0", a float column's, is read as the label "1": `vecgraft.text._streams.label_text`.)
    So are "手机" and "手機", one word in simplified and in traditional characters, where
    OpenCC (the `zh` extra) is installed. Each group comes with how its labels differ.

    Example:
        >>> lookalike_labels(["0", "1", "1.0", "01", "2", "pos", "Pos", "neg"])
        [(['01', '1', '1.0'], 'read as the same number'), (['Pos', 'pos'], 'differ only in case')]
    """
    simplify = _simplifier()
    numbers: dict[float, list[str]] = {}
    words: dict[str, list[str]] = {}
    for label in labels:
        try:
            value = float(label)
        except ValueError:
            words.setdefault(simplify(label).casefold(), []).append(label)
            continue
        if math.isfinite(value):
            numbers.setdefault(value, []).append(label)
    out = [(sorted(group), "read as the same number")
           for _, group in sorted(numbers.items()) if len(group) > 1]  # fmt: skip
    for _, group in sorted(words.items()):
        if len(group) > 1:
            ways = [way for way, differ in (
                ("case", len({simplify(label) for label in group}) > 1),
                (SCRIPT, len({label.casefold() for label in group}) > 1)) if differ]  # fmt: skip
            out.append((sorted(group), f"differ only in {' and '.join(ways)}"))
    return out


def _spelling_ways(spelling: str, label: str) -> list[str]:
    """How `spelling` differs from `label`, the label it is read as: `SPACES`, `FORM`, `NUMBER`."""
    bare = spelling.strip()
    composed = nfc(bare)
    ways = [(SPACES, bare != spelling), (FORM, composed != bare), (NUMBER, composed != label)]
    return [way for way, differ in ways if differ]


def _shown_spelling(spelling: str, n: int, form: bool) -> str:
    """`'1.0' (2 rows)`; where forms are told apart, `'é' (NFD, 2 rows)`."""
    rows = f"{n} row{'s' * (n != 1)}"
    if not form:
        return f"{spelling!r} ({rows})"
    return f"{spelling!r} ({'NFC' if not not_nfc(spelling) else 'NFD'}, {rows})"


def _nfc_first(item: tuple[str, int]) -> tuple[bool, str]:
    """Sort key of (spelling, rows): the NFC spelling before its NFD twin, else as strings."""
    return not_nfc(item[0].strip()), item[0]


def say_merged_spellings(
    data: LabelledData, report: ReadReport, say: Callable[[str], None]
) -> None:
    """Each line of `merged_spellings` to `say` (finetune's log, tune's warnings)."""
    merged = merged_spellings(data, report)
    for line in merged.splitlines() if merged is not None else []:
        say(line)


def merged_spellings(data: LabelledData, report: ReadReport) -> str | None:
    """One warning per way labels one file writes apart were read as one label.

    A float column's `1.0` is read as the label `1`, `"num "` as `num`, and a decomposed
    (NFD, as macOS saves) `é` as the composed one (`label_text`), by design; a file holding
    both spellings may mean two classes, merged without a word, so the spellings of each
    such label are said with their rows. A file of `1.0` (or of NFD labels) alone is not.

    Example:
        >>> report = ReadReport("d.csv", label_spellings={"1": {"1.0": 2}, "2": {"2.0": 3}})
        >>> data = LabelledData(["a"] * 8, ["1", "1", "1", "1.5", "1", "2", "2", "2"], "d.csv",
        ...                     list(range(2, 10)))
        >>> print(merged_spellings(data, report))  # doctest: +NORMALIZE_WHITESPACE
        WARNING: d.csv: labels written '1' (2 rows) and '1.0' (2 rows) are read as one
        label '1' (a whole number with a zero fraction is that number, as a float column
        writes it); if they are different classes, name them apart
        >>> report = ReadReport("d.csv", label_spellings={"num": {"num ": 1}})
        >>> print(merged_spellings(LabelledData(["a", "b"], ["num"] * 2, "d.csv", [2, 3]),
        ...                        report))  # doctest: +NORMALIZE_WHITESPACE
        WARNING: d.csv: labels written 'num' (1 row) and 'num ' (1 row) are read as one
        label 'num' (a label is read without the spaces around it); if they are different
        classes, name them apart
    """
    counts = data.label_counts()
    merged: dict[tuple[str, ...], list[str]] = {}
    for label, spellings in sorted(report.label_spellings.items()):
        written = dict(spellings)
        as_read = counts.get(label, 0) - sum(written.values())
        if as_read > 0:
            written[label] = as_read
        if len(written) < 2:
            continue
        ways = tuple(sorted({way for spelling in written
                             for way in _spelling_ways(spelling, label)}))  # fmt: skip
        shown = [_shown_spelling(spelling, n, FORM in ways)
                 for spelling, n in sorted(written.items(), key=_nfc_first)]  # fmt: skip
        pair = f"{', '.join(shown[:-1])} and {shown[-1]}"
        # labels that differ only in form look alike: the label read needs no naming
        merged.setdefault(ways, []).append(
            pair if ways == (FORM,) else f"{pair} are read as one label {label!r}")
    said = []
    for ways, labels in merged.items():
        if ways == (FORM,):  # one label to the eye: nothing to name apart
            said.append(
                f"WARNING: {data.source}: labels {'; '.join(labels)} differ only in {FORM}: "
                "read as one"
            )
            continue
        why = "; ".join(_WHY[way] for way in ways)
        said.append(
            f"WARNING: {data.source}: labels written {'; '.join(labels)} ({why}); if they are "
            "different classes, name them apart"
        )
    return "\n".join(said) if said else None


def control_labels(labels: Iterable[str], source: str) -> str | None:
    r"""One warning naming the labels that hold a line break, tab or other control character.

    Such a label is a class like any other, but a log, a table or a line of `predict`'s
    output cannot show it as written: each shows it escaped, as a Python literal would.

    Example:
        >>> print(control_labels(["ok", "line\nbreak", "tab\there"], "d.csv"))
        ... # doctest: +NORMALIZE_WHITESPACE
        WARNING: d.csv: labels 'line\nbreak', 'tab\there' hold a control character (a line
        break, tab, ...); tables and predictions show them escaped (line\nbreak)
    """
    held = [label for label in labels if printable(label) != label]
    if not held:
        return None
    shown = ", ".join(repr(label) for label in held[:SHOWN_UNSEEN])
    more = len(held) - SHOWN_UNSEEN
    shown += f", and {more} more" if more > 0 else ""
    one = len(held) == 1
    return (
        f"WARNING: {source}: label{'s' * (not one)} {shown} hold{'s' * one} a control character "
        f"(a line break, tab, ...); tables and predictions show {'it' if one else 'them'} "
        f"escaped ({printable(held[0])})"
    )
