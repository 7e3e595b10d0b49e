"""The labelled sets of a run: read, split (stratified, seeded), deduplicated, subsampled.

Train/test/valid come from their own files or from seeded stratified shares of `--train`;
test texts that also occur in train are dropped (`dedupe`). `Splits.notes` says what was
done and is saved in `splits.json`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vecgraft._util.console import percent
from vecgraft._util.policies import BadRowPolicy
from vecgraft.errors import ConfigError, DataError, Hint, Opt
from vecgraft.finetune.class_weight import check_mapping_labels
from vecgraft.finetune.config import FinetuneConfig, Task

__all__ = [
    "Preread", "Splits", "carve_valid", "drop_na_like", "note_few_rows", "note_label_conflicts",
    "prepare_splits", "preread", "read_config_data", "read_splits", "row_sources",
    "valid_floor", "valid_split",
]


@dataclass
class Splits:
    """The labelled sets of a run and what was done to get them."""

    train: Any
    valid: Any
    test: Any
    notes: dict[str, Any]


def read_config_data(path: str, config: FinetuneConfig) -> tuple[Any, Any]:
    """(labelled rows, bad-row report) of `path`, read with the config's columns and policies."""
    from vecgraft.finetune.data import read_labelled

    return read_labelled(
        path,
        text_column=config.text_column,
        label_column=config.label_column,
        encoding=config.encoding,
        errors=config.errors,
        bad_rows=config.bad_rows,
    )


def _read(
    path: str, config: FinetuneConfig, notes: dict[str, Any], log: Callable[[str], None]
) -> Any:
    """Labelled rows of `path`; what was dropped or repaired goes to `notes["read"]` and the log."""
    from vecgraft.finetune.labels import say_merged_spellings

    data, bad = read_config_data(path, config)
    if config.task is Task.REGRESSION:
        from vecgraft.finetune.recipe import numeric_targets

        data = drop_na_like(data, bad, config.bad_rows)
        numeric_targets(data)  # in file order: a split would name a shuffled row first
    notes.setdefault("read", {})[str(path)] = bad.to_dict()
    if bad.noteworthy:  # dropped or repaired rows, NA-like labels, multi-line records
        log(bad.format())
    say_merged_spellings(data, bad, log)  # "1" and "1.0", "num" and "num ": said once
    if not data.texts:
        raise DataError(f"{path}: no labelled rows")
    return data


def drop_na_like(data: Any, bad: Any, bad_rows: BadRowPolicy | str) -> Any:
    """`data` without rows labelled NA, null, None, ...: in a regression, missing numbers.

    The reader keeps such a label as a class (LUIS's intent `None`) and notes it; a number
    has no such class, so the row is dropped as `nan` is, and counted in `bad`
    (`bad_rows` "error": refused). `vecgraft evaluate` of a regression run reads its
    file the same way.
    """
    from vecgraft._util.options import parse_enum
    from vecgraft.finetune.labels import drop_labelled_rows
    from vecgraft.text.reader import DropReason

    policy = parse_enum(BadRowPolicy, bad_rows, "bad_rows")  # "ERROR" too, as the reader
    na_like = set(bad.na_like_labels)
    if not na_like:
        return data
    data = drop_labelled_rows(
        data, bad, policy, DropReason.NA_LIKE_LABEL, keep=lambda label: label not in na_like,
        detail=lambda label: f" ({label!r})",
    )  # fmt: skip
    bad.na_like_labels.clear()
    return data


def row_sources(data: Any) -> list[str]:
    """Where each row came from (`file:line`, or the file for a folder)."""
    return [data.where(i) for i in range(len(data.texts))]


def _split_test(
    config: FinetuneConfig, train: Any, notes: dict[str, Any], log: Callable[[str], None]
) -> tuple[Any, Any]:
    """(train, test): the given test file, or a seeded stratified share of train."""
    from vecgraft.finetune.data import stratified_split
    from vecgraft.finetune.splits import task_strata

    if config.test is not None:
        return train, _read(config.test, config, notes, log)
    seed = config.seed if config.split_seed is None else config.split_seed
    train, test = stratified_split(
        train, config.test_fraction, seed, strata=task_strata(train, config.task)
    )
    notes["test_split"] = _split_note("test", config.test_fraction, len(test), len(train), seed,
                                      log)  # fmt: skip
    return train, test


def prepare_splits(config: FinetuneConfig, log: Callable[[str], None]) -> Splits:
    """Read and split the data as `config` says (deterministic given the seed)."""
    splits = read_splits(config, log)
    return carve_valid(splits, config, config.seed, log)


def read_splits(config: FinetuneConfig, log: Callable[[str], None]) -> Splits:
    """Train and test as `prepare_splits` makes them, before the validation split.

    `Splits.valid` is the `--valid` file's rows, else still empty (`carve_valid` carves
    it). Test texts found in either are removed. Apart so that an ensemble
    (`vecgraft.finetune.ensemble`) reads the data once and carves one validation split
    per member.
    """
    from vecgraft.finetune.data import subsample
    from vecgraft.finetune.splits import task_strata

    if config.train is None:
        raise ConfigError("no training data", hint=Hint(": pass {}", Opt("train", "...", "PATH")))
    notes: dict[str, Any] = {"read": {}}  # per file: dropped rows with lines, repaired lines
    train = _read(config.train, config, notes, log)
    check_mapping_labels(config.class_weight, train.labels, train.source)
    notes["train_source"] = train.source
    index = None  # the training texts normalised once, for both checks
    if config.task is not Task.REGRESSION:  # a regression's texts may well share a text
        index = note_label_conflicts(train, notes, log)
    split, test = _split_test(config, train, notes, log)
    index, train = (index if split is train else None), split
    # a --valid file's rows are trained on too (the linear model, fused or alone, refits on
    # train + valid): a test text found there scored 100 % with no word of why
    valid = train.select([]) if config.valid is None else _read(config.valid, config, notes, log)
    test = drop_seen(train, test, "training", config, notes, log, index=index)
    if len(valid):
        test = drop_seen(valid, test, "validation", config, notes, log)
    if config.train_fraction < 1:
        train = subsample(train, config.train_fraction, config.seed,
                          strata=task_strata(train, config.task))
        notes["train_fraction"] = config.train_fraction
    if not test.texts:
        raise empty_test_error(test.source)
    return Splits(train, valid, test, notes)


# a share of training rows whose text occurs with another label too that is more than noise
CONFLICT_WARNING_SHARE = 0.05


def note_label_conflicts(train: Any, notes: dict[str, Any], log: Callable[[str], None]) -> Any:
    """Say how many training texts occur with more than one label (`label_conflicts`).

    200 texts each written with two labels trained in silence. Noted in `splits.json`
    ("train_label_conflicts") when there are any; a WARNING from `CONFLICT_WARNING_SHARE`
    of the training rows on. Returns the `TwinIndex` of `train`, for `drop_seen`.
    """
    from vecgraft.finetune.dedup import index_twins, label_conflicts

    index = index_twins(train, rows=True)
    found = label_conflicts(train, index)
    if not found.texts:
        return index
    notes["train_label_conflicts"] = found.to_dict()
    share = found.rows / max(len(train.texts), 1)
    line = (f"{found.texts:,} training texts occur with more than one label ({found.rows:,} "
            f"rows, {percent(share)} of the training data); the model cannot fit both")  # fmt: skip
    if share >= CONFLICT_WARNING_SHARE:
        first = found.examples[0]
        line = (f"WARNING: {line}: check the labels, e.g. {first['text']!r} is labelled "
                f"{', '.join(map(repr, first['labels']))} ({', '.join(first['where'])})")
    log(line)
    return index


def drop_seen(
    seen: Any,
    test: Any,
    where: str,
    config: FinetuneConfig,
    notes: dict[str, Any],
    log: Callable[[str], None],
    index: Any = None,
) -> Any:
    """`test` without the texts found in `seen` (unless --no-dedupe), said and noted.

    The notes key is "duplicates" for the training data, "valid_duplicates" for --valid.
    `tune`'s final run says it with the same line. Removing `DEDUPE_WARNING_SHARE` of the
    test rows or more is a WARNING with the share (467 of 500 removed was a plain line).
    `index`: `seen`'s `TwinIndex` if already built (`note_label_conflicts`).
    """
    from vecgraft.finetune.data import drop_duplicates, find_duplicates

    dupes = find_duplicates(seen, test, index)
    key = "duplicates" if where == "training" else "valid_duplicates"
    notes[key] = {**dupes.to_dict(), "removed": bool(config.dedupe and dupes.count)}
    if dupes.count:
        action = "removed from test" if config.dedupe else "kept (--no-dedupe)"
        # a twin with another label is a noisy or contradictory row: worth a look
        conflicts = dupes.label_conflicts
        other = f" ({conflicts} with another label there)" if conflicts else ""
        line = f"{dupes.count} test text(s) also occur in the {where} data{other}: {action}"
        share = dupes.count / max(len(test.texts), 1)
        if config.dedupe and share >= DEDUPE_WARNING_SHARE:
            line = (f"WARNING: {dupes.count:,} of {len(test.texts):,} test texts ({share:.0%}) "
                    f"also occur in the {where} data{other}: removed from test, which is "
                    "scored on the rest; --no-dedupe keeps them (vecgraft evaluate scores "
                    "every row of a file)")  # fmt: skip
        log(line)
        if config.dedupe:
            test = drop_duplicates(test, dupes)
    return test


# a share of the test file that de-duplication removes which changes what the score measures
DEDUPE_WARNING_SHARE = 0.2


# an empty test part after de-duplication: train == test, or a test file copied from train
DEDUPE_HINT = Hint(" (pass {} to score them anyway)", Opt("dedupe", "False", ""))


def empty_test_error(source: Any) -> DataError:
    """A test set that de-duplication emptied (a single run's, or tune's final run's)."""
    return DataError(f"{source}: the test set is empty after removing the texts that also "
                     "occur in the training (or validation) data", hint=DEDUPE_HINT)  # fmt: skip


@dataclass
class Preread:
    """Train and test read by `read_splits` ahead of a run, with the reader's notes unlogged.

    Why: `finetune` reads the data to decide whether a run is an ensemble
    (`vecgraft.finetune.ensemble`); the run then starts from this read instead of reading
    the files again, and logs the notes once.
    """

    splits: Splits
    messages: list[str]

    def log_notes(self, log: Callable[[str], None]) -> None:
        """The reader's notes, logged (once: a run that starts from this read)."""
        for message in self.messages:
            log(message)

    def carve(self, config: FinetuneConfig, seed: int, log: Callable[[str], None]) -> Splits:
        """The notes logged, then the splits with their validation set (`carve_valid`)."""
        self.log_notes(log)
        return carve_valid(self.splits, config, seed, log)


def preread(config: FinetuneConfig) -> Preread:
    """`read_splits` with its notes kept for later (`Preread`)."""
    messages: list[str] = []
    return Preread(read_splits(config, messages.append), messages)


def carve_valid(
    splits: Splits,
    config: FinetuneConfig,
    seed: int,
    log: Callable[[str], None],
    *,
    few_log: Callable[[str], None] | None = None,
) -> Splits:
    """`splits` with its validation set: `config.valid`, or `valid_fraction` of train (`seed`).

    `few_log`: where the few-training-rows warning goes (`note_few_rows`; None: `log`). An
    ensemble says it once for its members, not once per member.
    """
    notes = dict(splits.notes)
    train = splits.train
    floor = 2
    if config.valid is not None:  # read with train and test (`read_splits`)
        valid = splits.valid if len(splits.valid) else _read(config.valid, config, notes, log)
    elif not config.valid_fraction:
        valid = train.select([])
        notes["valid_split"] = "none (valid_fraction 0)"
        log("No validation split (valid_fraction 0): training the whole budget, keeping the "
            "last epoch")
    else:
        train, valid = _split_valid(train, config, seed)
        floor = valid_floor(splits.train, config)
        notes["valid_split"] = _split_note("validation", config.valid_fraction, len(valid),
                                           len(train), seed, log, floor=floor)  # fmt: skip
    if config.task is not Task.REGRESSION:
        note_few_rows(splits.train, train, notes, log if few_log is None else few_log,
                      floor=floor)  # fmt: skip
    return Splits(train, valid, splits.test, notes)


# a label with fewer rows to train on is warned about: the model learns it from those alone
FEW_ROWS_WARNING = 5


def note_few_rows(
    before: Any, train: Any, notes: dict[str, Any], log: Callable[[str], None], floor: int = 2
) -> None:
    """Warn of labels with fewer than `FEW_ROWS_WARNING` rows to train on (`few_training_rows`).

    `before` is the training data before the validation split, `train` after it; `floor` the
    fewest rows of a label the split took from (`split_floor`). A class of 2 rows among 200
    per class lost one to validation and trained on 1, in silence.
    """
    counts, kept = before.label_counts(), train.label_counts()
    few = {label: n for label, n in counts.items() if kept.get(label, 0) < FEW_ROWS_WARNING}
    if not few:
        return
    notes["few_training_rows"] = {label: {"rows": n, "train": kept.get(label, 0)}
                                  for label, n in few.items()}  # fmt: skip
    shown = [_few_rows_part(label, n, kept.get(label, 0)) for label, n in list(few.items())[:10]]
    more = f"; and {len(few) - 10} more" if len(few) > 10 else ""
    rule = ""
    if floor > 2 and min(few.values()) < floor:
        rule = f" (the validation split takes no row of a label with fewer than {floor})"
    many = "labels have" if len(few) > 1 else "label has"
    log(f"WARNING: {len(few)} {many} very few training rows: {'; '.join(shown)}{more}; the "
        f"model learns such a label from these examples alone{rule}")


def _few_rows_part(label: str, rows: int, train: int) -> str:
    """One label of `note_few_rows`' warning: its rows, and those left to train on."""
    noun = "row" if rows == 1 else "rows"
    if train == rows:
        return f"{label!r} {rows} {noun}, all kept for training"
    return f"{label!r} {rows} {noun}, {train} left for training after the validation split"


def valid_floor(train: Any, config: FinetuneConfig, keeps_below: int | None = None) -> int:
    """The fewest rows a label needs to give the validation split one (`split_floor`).

    `keeps_below`: as `valid_split`'s.
    """
    from vecgraft.finetune.splits import split_floor

    return split_floor(list(train.label_counts().values()), _keeps_below(config, keeps_below))


def _keeps_below(config: FinetuneConfig, keeps_below: int | None) -> int:
    """The validation split's tiny-class rule: `keeps_below`, else `VALID_KEEPS_BELOW`.

    2 (no rule) for a regression, whose strata are value bins, not labels.
    """
    from vecgraft.finetune.splits import VALID_KEEPS_BELOW

    if config.task is Task.REGRESSION:
        return 2
    return VALID_KEEPS_BELOW if keeps_below is None else keeps_below


def _split_note(
    name: str,
    asked: float,
    part: int,
    rest: int,
    seed: int,
    log: Callable[[str], None],
    floor: int = 2,
) -> str:
    """How a stratified split was taken, and a log line where it is well over the share asked.

    Every label with `floor` rows or more gives the split one row at least: 100 labels of 4
    rows made a "10 %" validation split of 25 %, and `splits.json` still said 10 %.
    """
    share = part / max(part + rest, 1)
    note = f"stratified {percent(asked)} of train, seed {seed}"
    if share > 1.5 * asked and part - round(asked * (part + rest)) >= 2:
        note = f"stratified {percent(asked)} of train asked, {percent(share)} taken, seed {seed}"
        log(f"The {name} split took {part:,} of {part + rest:,} rows ({percent(share)}, not "
            f"{percent(asked)}): every label with {_count_word(floor)} rows or more gives it one "
            "at least")
    return note


def _count_word(n: int) -> str:
    """`n` as `_split_note` says it ("two rows or more")."""
    return {2: "two", 3: "three", 4: "four"}.get(n, str(n))


def valid_split(
    train: Any, config: FinetuneConfig, seed: int, keeps_below: int | None = None
) -> tuple[Any, Any]:
    """(train, valid): a stratified `valid_fraction` of `train`, a tiny class kept in train.

    A label with fewer than `VALID_KEEPS_BELOW` rows gives validation none (`split_floor`).
    finetune and `tune`'s trial split both take it here: tune's gave a 2-row class's row to
    validation, and its trials trained on one, where finetune kept both. `keeps_below`:
    another rule than `VALID_KEEPS_BELOW` (2: tune's old one, for a study it started).
    """
    from vecgraft.finetune.data import stratified_split
    from vecgraft.finetune.splits import task_strata

    strata = task_strata(train, config.task)
    keep_below = _keeps_below(config, keeps_below)
    return stratified_split(train, config.valid_fraction, seed, strata=strata,
                            part="validation", keep_below=keep_below)  # fmt: skip


def _split_valid(train: Any, config: FinetuneConfig, seed: int) -> tuple[Any, Any]:
    """(train, valid) by `valid_fraction`; too few rows is an error saying how to go on."""
    try:
        return valid_split(train, config, seed)
    except DataError as exc:
        hint = Hint("; pass {} to train without one, or {} to give one",
                    Opt("valid_fraction", "0", "0"), Opt("valid", "...", "FILE"))  # fmt: skip
        raise DataError(str(exc), hint=hint) from None
