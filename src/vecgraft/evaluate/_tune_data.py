"""Data for `tune`: reading, the held-out test split, cross-validation folds, given splits.

Split out of `vecgraft.evaluate.tune`, which re-exports these names.
"""

import json
from collections.abc import Callable
from typing import Any

from vecgraft._util.console import percent
from vecgraft.errors import ConfigError, Hint, Opt
from vecgraft.evaluate._tune_spec import TrialData, TuneSpec
from vecgraft.finetune.class_weight import check_mapping_labels
from vecgraft.finetune.config import FinetuneConfig, Task
from vecgraft.finetune.crossfit import GivenSplits, given_recipe
from vecgraft.finetune.prepare import (
    Splits,
    note_few_rows,
    read_config_data,
    valid_floor,
    valid_split,
)
from vecgraft.finetune.recipe import ClassifierRecipe
from vecgraft.finetune.splits import concat_data as _concat
from vecgraft.finetune.splits import cv_folds as _cv_folds


# -- data --------------------------------------------------------------------------------
def _read(
    path: str,
    config: FinetuneConfig,
    warn: Callable[[str], None] | None = None,
    notes: dict[str, Any] | None = None,
) -> Any:
    """Labelled rows of `path`; what reading dropped or repaired is said to `warn`.

    It is kept in `notes["read"]` too, as are labels the file writes apart but reads as one.

    As finetune says them (`d.csv: 2 rows dropped: 1 missing label (line 302)`; 'pos' and
    'pos ', NFC and NFD 'né'): rows dropped unsaid, or two classes merged without a word,
    tune another task than the user's file.
    """
    from vecgraft.finetune.labels import say_merged_spellings

    data, bad = read_config_data(path, config)
    if notes is not None:  # as finetune's notes["read"] (its splits.json)
        notes.setdefault("read", {})[str(path)] = bad.to_dict()
    if warn is not None:  # a worker's quiet re-read skips the work
        if bad.noteworthy:  # dropped or repaired rows, NA-like labels, multi-line records
            warn(bad.format())
        say_merged_spellings(data, bad, warn)
    return data


def _split_seed(config: FinetuneConfig) -> int:
    return config.seed if config.split_seed is None else config.split_seed


def prepare_data(spec: TuneSpec, warn: Callable[[str], None] | None = None) -> TrialData:
    """Read `--train` (and `--valid`), set the test part aside, and make the trials' folds.

    `--test` is not read here: it is read once, after the search (`final_splits`). The
    files' warnings go to `warn` (tune's log gives it on its one read before the search;
    each worker reads the files again, quietly).
    """
    from vecgraft.finetune.data import stratified_split, subsample
    from vecgraft.finetune.splits import task_strata

    base = spec.base
    if base.train is None:
        raise ConfigError("no training data", hint=Hint(": pass {}", Opt("train", "...", "PATH")))
    notes: dict[str, Any] = {}
    train = _read(base.train, base, warn, notes)
    # on the whole file: a fold's training part may lack a class (unused there)
    check_mapping_labels(base.class_weight, train.labels, train.source)
    notes["train"] = train.source
    held_out = None
    if base.test is None:
        train, held_out = stratified_split(
            train, base.test_fraction, _split_seed(base), strata=task_strata(train, base.task)
        )
        notes["test"] = (
            f"stratified {percent(base.test_fraction)} of {notes['train']} (seed "
            f"{_split_seed(base)}), set aside before the search"
        )
    else:
        notes["test"] = f"{base.test} (read only after the search)"
    seen = train
    if base.train_fraction < 1:
        train = subsample(train, base.train_fraction, base.seed,
                          strata=task_strata(train, base.task))
        notes["train_fraction"] = base.train_fraction
    if base.valid is not None:
        valid = _read(base.valid, base, warn, notes)
        folds = [(train, valid)]
        pool = _concat([train, valid])
        seen = _concat([seen, valid])
        notes["trials"] = f"train on {len(train)} rows, validate on {base.valid}"
    elif spec.cv:
        folds = _cv_folds(train, spec.cv, base.seed, task_strata(train, base.task))
        pool = train
        notes["trials"] = f"{spec.cv}-fold stratified cross-validation on {len(train)} rows"
    elif not base.valid_fraction:
        raise ConfigError(
            "tune scores trials on validation data: valid_fraction 0 leaves none "
            "(give valid_fraction > 0, a valid file, or --cv K)"
        )
    else:  # as finetune carves it: a tiny class's rows stay with the trials' training rows
        fit, valid = valid_split(train, base, base.seed, spec.valid_keeps_below)
        if warn is not None and base.task is not Task.REGRESSION:  # once, not per worker
            floor = valid_floor(train, base, spec.valid_keeps_below)
            note_few_rows(train, fit, notes, warn, floor=floor)
        folds = [(fit, valid)]
        pool = train
        notes["trials"] = (
            f"train on {len(fit)} rows, validate on a stratified {percent(base.valid_fraction)} "
            f"split ({len(valid)} rows)"
        )
    return TrialData(pool, folds, held_out, notes, seen)


class _GivenSplits(GivenSplits):
    """A recipe on splits given in memory (a fold, or the final retrain), for a search.

    Mixed in front of the model family's own recipe class (`ClassifierRecipe`, or the linear
    baseline's `LinearRecipe`) by `splits_recipe`.
    """

    def __init__(
        self,
        config: FinetuneConfig,
        splits: Splits,
        *,
        linear_cache: dict[Any, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(config, splits, **kwargs)
        self.linear_cache = linear_cache

    def _held_out_linear(self) -> Any:
        """The fold's linear model, fitted once per search worker where a cache is given.

        Every trial of a fold fits the same training rows the same way; only the network's
        settings change. Keyed on what the fit reads, so a searched setting that changed it
        would fit anew.
        """
        if self.linear_cache is None:
            return super()._held_out_linear()
        train = self._split("train")
        key = (
            json.dumps(self._linear_tokenizer(), sort_keys=True, default=str), self.regression,
            hash(tuple(train.texts)), hash(tuple(self.targets["train"])),
            json.dumps(self.linear_class_weight(), sort_keys=True),
            json.dumps(self.linear_options, sort_keys=True),
        )  # fmt: skip
        if key not in self.linear_cache:
            self.linear_cache[key] = super()._held_out_linear()
        return self.linear_cache[key]


def splits_recipe(config: FinetuneConfig, splits: Splits, **kwargs: Any) -> ClassifierRecipe:
    """The recipe of `config.model`'s family, fed `splits` (see `_GivenSplits`)."""
    from vecgraft.finetune.families import model_family

    base = getattr(model_family(config.model), "recipe", ClassifierRecipe)
    recipe = given_recipe(base, config, splits, mixin=_GivenSplits, **kwargs)
    # tune decided the tokenizer once, on every search row (`tune._chosen_tokenizer`): a
    # trial deciding again on its fold could differ, and read English texts once more
    recipe.inherits_tokenizer = True
    return recipe


_SPLITS = ("train", "valid", "test")
