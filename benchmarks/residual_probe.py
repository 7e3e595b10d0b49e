"""Round 46 of defaults.md (probe, no library change): the network as the linear model's residual.

Wide & Deep / boosting on a fixed base: while it trains, the network's logits are f(x) + z(x),
where z(x) is the fused linear half's log-probability (TF-IDF + LinearSVC, the library's
`fusion.fit_linear` / `linear_proba`) for row x. A training row's z is out of fold (5
stratified folds over the network's training part, a linear model fitted on the other four
scoring it); a validation row's z comes from the linear model fitted on the training part,
the one the pool judges with today (`_held_out_linear`). So the epoch is chosen (and
training stopped) on the validation accuracy of z + f. After training the offset is off:
the network's outputs are softmax(f), and the library's log-linear pool is fitted on them
and the linear half as in any run, p ∝ exp(a · log softmax(f) + b · log p_linear). Its
family a · f + b · z holds the trained sum at (1, 1) (where L-BFGS-B starts) and also lets
the pool re-weigh z, which pooling softmax(z + f) with z could not do below b = a. Each
residual row also records `residual_accuracy`: the trained sum itself, (1, 1), on the
held-out rows (z from the kept linear model, fitted on train + valid).

A patch in this process only: `defaults_search.held_out_score` builds `ResidualRecipe` for
the `residual_r46` candidate; `default_r46` is today's default in the same process and code.
`--source random` (added to defaults_search.py for this round) is a random embedding.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/residual_probe.py --data-dir DIR \\
        --datasets mr sst2 trec --candidates default_r46 residual_r46 --seed 1 --split-seed 1
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

import defaults_search
from vecgraft.finetune import fusion as fu
from vecgraft.finetune.batching import EncodedData
from vecgraft.finetune.recipe import ClassifierRecipe

FOLDS = 5
RESIDUAL: dict[str, Any] = {}  # the candidate's settings: today's default, recognised by identity
defaults_search.CANDIDATES.update({"default_r46": {}, "residual_r46": RESIDUAL})


class Offset:
    """The z of the rows in the batch being scored (None: the network alone)."""

    def __init__(self) -> None:
        self.active = True
        self.rows: torch.Tensor | None = None


class ResidualData(EncodedData):
    """`data` whose `batch` also hands its rows' z to `offset` (the model adds it)."""

    def __init__(self, data: EncodedData, z: np.ndarray, offset: Offset) -> None:
        super().__init__(data.ids, data.labels, data.pad_index, regression=data.regression)
        self.z = torch.as_tensor(z, dtype=torch.float32)
        self.offset = offset

    def batch(self, indices: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        self.offset.rows = self.z[list(indices)] if self.offset.active else None
        return super().batch(indices)


class ResidualRecipe(ClassifierRecipe):
    """A classifier whose network learns f with logits f + z while it trains."""

    last: ResidualRecipe | None = None

    def setup_model(self) -> None:
        super().setup_model()
        ResidualRecipe.last = self
        self.offset = Offset()
        held_out = self._held_out_linear()
        n = len(self.labels)
        z = {"train": self._out_of_fold(),
             "valid": fu._log(self._linear_outputs(held_out, self.splits.valid.texts)),
             "test": np.zeros((len(self.splits.test), n))}  # fmt: skip
        self.data = {name: ResidualData(data, z[name], self.offset)
                     for name, data in self.data.items()}  # fmt: skip
        self.model.register_forward_hook(self._add_offset)

    def _add_offset(self, _module: Any, _inputs: Any, out: torch.Tensor) -> torch.Tensor:
        rows = self.offset.rows
        if rows is None:
            return out
        if rows.shape != out.shape:
            raise RuntimeError(f"offset {tuple(rows.shape)} for logits {tuple(out.shape)}")
        return out + rows.to(out.device)

    def _out_of_fold(self) -> np.ndarray:
        """[N, C] log-probabilities of the training rows, each from a fold that did not see it."""
        from sklearn.model_selection import StratifiedKFold

        train, y = self.splits.train, np.asarray(self.targets["train"])
        out = np.zeros((len(y), len(self.labels)))
        folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=self.config.seed)
        for fit, held in folds.split(np.zeros(len(y)), y):
            model = fu.fit_linear([train.texts[i] for i in fit], y[fit].tolist(),
                                  self._linear_tokenizer(), False, self.linear_class_weight())
            out[held] = fu._log(self._linear_outputs(model, [train.texts[i] for i in held]))
        return out

    def train(self) -> Any:
        try:
            return super().train()
        finally:
            self.offset.active = False  # from here on: the network alone, softmax(f)
            self.offset.rows = None

    def evaluate(self) -> dict[str, Any]:
        metrics = super().evaluate()
        net = self._network_outputs("test")
        lin = self._linear_outputs(self.fusion.linear, self.splits.test.texts)
        summed = fu.log_pool(net, lin, (1.0, 1.0))
        gold = np.asarray(self.targets["test"])
        self.residual_accuracy = 100 * float((summed.argmax(axis=1) == gold).mean())
        return metrics


_original = defaults_search.held_out_score


def held_out_score(dataset: str, data_dir: Any, settings: dict[str, Any], *args: Any,
                   **kwargs: Any) -> dict[str, Any]:
    """`defaults_search.held_out_score`, with `ResidualRecipe` for the residual candidate."""
    from vecgraft.finetune import recipe

    if settings is not RESIDUAL:
        return _original(dataset, data_dir, settings, *args, **kwargs)
    recipe.ClassifierRecipe = ResidualRecipe  # type: ignore[misc]
    try:
        row = _original(dataset, data_dir, settings, *args, **kwargs)
    finally:
        recipe.ClassifierRecipe = ClassifierRecipe  # type: ignore[misc]
    last = ResidualRecipe.last
    assert last is not None and last.fusion is not None
    return {**row, "residual_accuracy": last.residual_accuracy, "pool": last.fusion.pool}


defaults_search.held_out_score = held_out_score

if __name__ == "__main__":
    defaults_search.main()
