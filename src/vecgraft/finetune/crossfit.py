"""Cross-fitted fusion weight: each training row scored by a network that did not see it.

Why: on a small training set the validation split leaves a handful of rows (8 articles at 5 %
of BBC News), and the network's share of the fused model is then chosen on one or two of
them. With `fuse_folds=K` the run instead trains K more networks, each on all rows but one
fold for as many epochs as the run's own network kept, and the K fold linear models alongside
them; every row of train + valid is predicted by a network and a linear model that did not
see it, and the weight is chosen on all of those rows. The run's own network and linear
model are trained as before; only the choice of the weight moves.

Measured on held-out training data (`benchmarks/defaults.md` round 20): K=5 gained 0.3
points on the mean of five full sets (the validation split's share was never more than two
articles worse) at 2.8-4.4x the run's time, and tied at 5 % of BBC News and ChnSentiCorp,
where the network's own variance, not the share, is what costs. Hence an option, off by
default.

The fold recipes are the run's own recipe class fed splits in memory (`GivenSplits`), the
way `vecgraft tune --cv` scores a trial.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from vecgraft.errors import ConfigError
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.prepare import Splits
from vecgraft.finetune.recipe import ClassifierRecipe

__all__ = ["CrossFit", "GivenSplits", "cross_fit", "given_recipe"]


class GivenSplits(ClassifierRecipe):
    """A recipe on splits given in memory (a fold of a cross-fit or a search, a retrain).

    Mixed in front of a recipe class (`ClassifierRecipe` or a family's own) by
    `given_recipe`.
    """

    def __init__(self, config: FinetuneConfig, splits: Splits, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.given = splits

    def setup_data(self) -> None:
        """The given splits; labels come from the training part (a regression's: numbers).

        A validation row whose label the training part lacks is a DataError naming it (in
        `set_targets`), as in a single run: stratified carves never make one, so it comes
        from the user's `valid` file, whose rows are not dropped unsaid.
        """
        self.splits = self.given
        self.set_targets()


def given_recipe(
    base: type[ClassifierRecipe],
    config: FinetuneConfig,
    splits: Splits,
    *,
    mixin: type[GivenSplits] = GivenSplits,
    **kwargs: Any,
) -> ClassifierRecipe:
    """A `base` recipe that trains and scores `splits` instead of reading files.

    `mixin` is `GivenSplits` or a subclass of it (`tune`'s adds a linear-model cache).
    """
    # an ensemble member's recipe takes given splits already: (GivenSplits, GivenX) had no
    # consistent method order, and --fuse-folds with --ensemble 2 stopped with a TypeError
    cls = base if issubclass(base, mixin) else type(f"Given{base.__name__}", (mixin, base), {})
    recipe: ClassifierRecipe = cls(config, splits, **kwargs)
    return recipe


@dataclass
class CrossFit:
    """Out-of-fold outputs of the network and the linear model, row-aligned with `gold`."""

    network: np.ndarray  # [N, C] probabilities, or [N] numbers (a regression)
    linear: np.ndarray
    gold: list[Any]  # label ids, or numbers
    folds: int


def _fold_config(config: FinetuneConfig, epochs: int) -> FinetuneConfig:
    """The run's settings for a fold network: no fusion, no files, no validation split.

    The held-out fold is the fold's test part; it must not also stop its training early, so
    the fold trains the `epochs` the run's kept network had (its best epoch), as `tune`'s
    final retrain does. Without that a fold would train the whole step budget: on BBC News
    a run that kept epoch 12 of 15 grew from 72 s to 1,128 s.
    """
    return replace(
        config, fuse_linear=False, fuse_rule="pool", fuse_weight=None, fuse_folds=0,
        valid=None, test=None, valid_fraction=0.0, resume=False, plots=False, epochs=epochs,
        patience=None,
        freeze_epochs=min(config.freeze_epochs, epochs),
    )  # fmt: skip


def cross_fit(recipe: ClassifierRecipe, log: Callable[[str], None]) -> CrossFit:
    """Train `recipe.config.fuse_folds` fold networks on the recipe's train + valid rows.

    After the recipe's own training (`recipe.state` says how many epochs its network kept).
    Folds are stratified (by label, or a regression's value bins) with the run's seed. A
    label with fewer rows than folds is a DataError that names the file (`cv_folds`).
    """
    from vecgraft.finetune import fusion as fu
    from vecgraft.finetune.splits import concat_data, cv_folds, task_strata

    config = recipe.config
    k = config.fuse_folds
    pool = concat_data([recipe.splits.train, recipe.splits.valid])
    strata = task_strata(pool, config.task)
    folds = cv_folds(pool, k, config.seed, strata)
    gold: list[Any] = []
    network: list[np.ndarray] = []
    linear: list[np.ndarray] = []
    state = recipe.state
    fold_config = _fold_config(config, max(1, state.best_epoch or state.epoch))
    empty = pool.select([])
    for i, (fit, held) in enumerate(folds, 1):
        log(f"Cross-fitting the fusion weight: fold {i}/{k} ({len(fit)} rows trained on, "
            f"{len(held)} predicted)")  # fmt: skip
        fold = given_recipe(
            type(recipe), fold_config, Splits(fit, empty, held, {"duplicates": {}}),
            write_files=False, vectors=recipe.vectors, device=recipe.device, log=_quiet,
        )  # fmt: skip
        fold.fold_rules = recipe.resumed_rules  # a resumed run's tokenizer rules, not today's
        fold.fold_dict_normalized = recipe.resumed_dict_normalized  # and dictionary reading
        fold.inherits_tokenizer = True  # and its tokenizer: a resumed regex run's folds too
        fold.setup_data()
        if fold.labels != recipe.labels and not recipe.regression:
            raise ConfigError(f"fold {i} of the cross-fit lacks a label: {fold.labels}")
        fold.setup_model()
        fold.train()
        fold.load_best()
        network.append(fold._network_outputs("test"))
        held_linear = fu.fit_linear(
            fit.texts, fold.targets["train"], fold._linear_tokenizer(), fold.regression,
            fold.linear_class_weight(), recipe.linear_options, recipe.linear_progress(),
        )  # fmt: skip
        linear.append(fold._linear_outputs(held_linear, held.texts))
        gold += fold.targets["test"]
    return CrossFit(np.concatenate(network), np.concatenate(linear), gold, k)


def _quiet(_msg: str) -> None:
    return None
