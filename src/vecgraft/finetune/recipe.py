"""`ClassifierRecipe`: one fine-tuning run as short steps a caller can drive or override.

In the shape of torchtune's recipes: `setup_data` (read, split, dedupe, label ids),
`setup_model` (the model family of `config.model` builds vocabulary, embedding and model),
`train` (the `Trainer`, resuming from `last/` when asked), `evaluate` (best weights on the
validation and test sets) and `save` (`metrics.json`, tables, plots). `run()` does all five.

A new kind of model plugs in as a family (`vecgraft.finetune.families.register_family`); a
hyperparameter search calls the recipe once per trial, without files:

    >>> recipe = ClassifierRecipe(config, write_files=False,             # doctest: +SKIP
    ...                           on_epoch_end=lambda epoch, row: None)
    >>> recipe.score()                   # validation metric of the best epoch  # doctest: +SKIP
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vecgraft._util.atomic import atomic_write_json, atomic_write_text
from vecgraft._util.device import resolve_device
from vecgraft.errors import CheckpointError, ConfigError, DataError, MissingExtraError
from vecgraft.finetune.batching import EncodedData
from vecgraft.finetune.checkpoint import load_checkpoint, save_checkpoint
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.distributed import DistContext
from vecgraft.finetune.families import ModelInputs, ModelSetup, VectorsArg, model_family
from vecgraft.finetune.train import EpochHook, EvalResult, Trainer, TrainState, evaluate_model

__all__ = ["ClassifierRecipe", "RunResult", "Splits", "prepare_splits"]

SPLITS = ("train", "valid", "test")


@dataclass
class RunResult:
    """What a finished run produced.

    Attributes:
        run_dir: the run folder (None when the recipe wrote no files).
        metrics: the content of `metrics.json`.
        history: one dict per epoch (losses, accuracies, learning rate, seconds).
        test_metrics: ClassificationMetrics on the test set.
    """

    run_dir: Path | None
    metrics: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    test_metrics: Any = None


@dataclass
class Splits:
    """The labelled sets of a run and what was done to get them."""

    train: Any
    valid: Any
    test: Any
    notes: dict[str, Any]


def _read(path: str, config: FinetuneConfig) -> Any:
    from vecgraft.finetune.data import read_labelled

    data, _bad = read_labelled(
        path, text_column=config.text_column, label_column=config.label_column
    )
    if not data.texts:
        raise DataError(f"{path}: no labelled rows")
    return data


def _rows(data: Any) -> list[str]:
    """Where each row came from (`file:line`, or the file for a folder)."""
    return [data.where(i) for i in range(len(data.texts))]


def _split_test(config: FinetuneConfig, train: Any, notes: dict[str, Any]) -> tuple[Any, Any]:
    """(train, test): the given test file, or a seeded stratified share of train."""
    from vecgraft.finetune.data import stratified_split

    if config.test is not None:
        return train, _read(config.test, config)
    seed = config.seed if config.split_seed is None else config.split_seed
    notes["test_split"] = f"stratified {config.test_fraction:.0%} of train, seed {seed}"
    return stratified_split(train, config.test_fraction, seed)


def prepare_splits(config: FinetuneConfig, log: Callable[[str], None]) -> Splits:
    """Read and split the data as `config` says (deterministic given the seed)."""
    from vecgraft.finetune.data import drop_duplicates, find_duplicates, stratified_split, subsample

    if config.train is None:
        raise ConfigError("no training data: pass --train PATH")
    train = _read(config.train, config)
    notes: dict[str, Any] = {"train_source": train.source}
    train, test = _split_test(config, train, notes)
    dupes = find_duplicates(train, test)
    notes["duplicates"] = {**dupes.to_dict(), "removed": bool(config.dedupe and dupes.count)}
    if dupes.count:
        action = "removed from test" if config.dedupe else "kept (--no-dedupe)"
        log(f"{dupes.count} test text(s) also occur in the training data: {action}")
        if config.dedupe:
            test = drop_duplicates(test, dupes)
    if config.train_fraction < 1:
        train = subsample(train, config.train_fraction, config.seed)
        notes["train_fraction"] = config.train_fraction
    if config.valid is None:
        train, valid = stratified_split(train, config.valid_fraction, config.seed)
        notes["valid_split"] = (
            f"stratified {config.valid_fraction:.0%} of train, seed {config.seed}"
        )
    else:
        valid = _read(config.valid, config)
    if not test.texts:
        raise DataError("the test set is empty (after removing duplicates)")
    return Splits(train, valid, test, notes)


class ClassifierRecipe:
    """A text-classifier fine-tuning run, step by step.

    Args:
        config: the run's settings (`config.out` is the run folder).
        write_files: False keeps checkpoints in memory and writes nothing (search trials).
        vectors: vectors to use instead of loading `config.vectors`: a `Vectors`, or a
            function of the vocabulary's tokens returning one.
        device: where to train (default: `config.device` resolved).
        dist: this process's place in a data-parallel job (default: a single process).
        log: where progress lines go (default: print on rank 0).
        on_step: called with the global step after each optimizer step.
        on_epoch_end: `on_epoch_end(epoch, history_row)`; True stops training (pruning).
    """

    def __init__(
        self,
        config: FinetuneConfig,
        *,
        write_files: bool = True,
        vectors: VectorsArg = None,
        device: torch.device | None = None,
        dist: DistContext | None = None,
        log: Callable[[str], None] | None = None,
        on_step: Callable[[int], None] | None = None,
        on_epoch_end: EpochHook | None = None,
    ) -> None:
        self.started = time.perf_counter()
        self.config = config
        self.dist = dist or DistContext()
        if not write_files and (config.resume or self.dist.enabled):
            raise ConfigError("write_files=False needs one process and no resume")
        self.out: Path | None = Path(config.out) if write_files else None
        self.device = device or resolve_device(config.device)
        self.vectors = vectors
        printer = log or print
        self.log: Callable[[str], None] = printer if self.dist.is_main else _quiet
        self.on_step = on_step
        self.on_epoch_end = on_epoch_end
        self._kept: dict[str, dict[str, torch.Tensor]] = {}  # checkpoints without files
        self.metrics: dict[str, Any] = {}
        self.test_metrics: Any = None

    # -- setup ---------------------------------------------------------------------------
    def setup_data(self) -> None:
        """Splits, the label list (from the training set) and every row's label id."""
        from vecgraft.finetune.data import LabelMap

        self.splits = prepare_splits(self.config, self.log)
        labels = sorted(set(self.splits.train.labels))
        if len(labels) < 2:
            raise DataError(f"{self.splits.train.source}: need at least 2 labels, found {labels}")
        self.labels: list[str] = labels
        label_map = LabelMap(labels)
        self.targets = {name: label_map.encode_rows(self._split(name)) for name in SPLITS}
        self.sizes = {name: len(y) for name, y in self.targets.items()}
        self.log(
            f"Data: {self.sizes['train']} train, {self.sizes['valid']} valid, "
            f"{self.sizes['test']} test; {len(labels)} labels"
        )

    def setup_model(self) -> None:
        """The family of `config.model` builds the model; every split is encoded for it."""
        inputs = ModelInputs(
            self.config, list(self.splits.train.texts), len(self.labels), self.vectors, self.log
        )
        self.built: ModelSetup = self.build_model(inputs)
        self.data: dict[str, EncodedData] = {
            name: self.built.encode(self._split(name).texts, self.targets[name]) for name in SPLITS
        }
        self.model: nn.Module = self.built.model.to(self.device)
        if self.out is not None and self.dist.is_main:
            self._write_data_notes(self.out)

    def build_model(self, inputs: ModelInputs) -> ModelSetup:
        """The model of `config.model`; override to build one without registering a family."""
        return model_family(self.config.model).setup(inputs)

    def _split(self, name: str) -> Any:
        return getattr(self.splits, name)

    # -- training ------------------------------------------------------------------------
    def train(self) -> TrainState:
        """Fit until the last epoch, early stopping, `max_steps` or `on_epoch_end` says stop."""
        trainer = Trainer(
            self.model,
            self.config,
            self.data["train"],
            self.data["valid"],
            num_classes=len(self.labels),
            device=self.device,
            dist=self.dist,
            save=self._save_checkpoint,
            log=self.log,
            on_step=self.on_step,
            on_epoch_end=self.on_epoch_end,
        )
        self._resume(trainer)
        self.state = trainer.fit()
        self.dist.barrier()
        return self.state

    def _resume(self, trainer: Trainer) -> None:
        """Continue from `last/` when resuming a run that saved one."""
        out = self.out
        if not self.config.resume or out is None:
            return
        if not ((out / "last").exists() or (out / ".last.old").exists()):
            return
        ckpt = load_checkpoint(out / "last")
        if ckpt.vocab.tokens != self.built.vocab.tokens or ckpt.labels != self.labels:
            raise CheckpointError(f"{ckpt.path}: the data changed since this run started")
        ckpt.load_weights(self.model)
        if ckpt.state is None:
            raise CheckpointError(f"{ckpt.path}: no state.json; cannot resume")
        trainer.restore(ckpt.state, ckpt.trainer_state())
        self.log(
            f"Resuming {out} at epoch {trainer.state.epoch + 1}, step {trainer.state.global_step}"
        )

    def _save_checkpoint(
        self, name: str, model: nn.Module, state: dict[str, Any], trainer: dict[str, Any] | None
    ) -> None:
        """The trainer's `save`: a checkpoint folder, or a copy of the weights in memory."""
        if self.out is None:
            self._kept[name] = {k: v.detach().clone() for k, v in model.state_dict().items()}
            return
        save_checkpoint(
            self.out / name,
            model=model,
            model_meta=self.built.meta,
            vocab=self.built.vocab,
            labels=self.labels,
            state=state,
            trainer_state=trainer,
        )

    def load_best(self) -> None:
        """Put the best epoch's weights into `self.model`."""
        if self.out is None:
            self.model.load_state_dict(self._kept["best"])
        else:
            load_checkpoint(self.out / "best").load_weights(self.model)

    # -- evaluation ----------------------------------------------------------------------
    def score_split(self, name: str) -> EvalResult:
        """Loss and confusion counts of the current weights on split `name`."""
        from vecgraft.finetune.train import use_bf16

        return evaluate_model(
            self.model,
            self.data[name],
            len(self.labels),
            device=self.device,
            bf16=use_bf16(self.config, self.device),
            dist=self.dist,
        )

    def score(self) -> float:
        """Set up, train, and return the best epoch's validation `config.metric`.

        For a search loop: the test set is not scored and (with `write_files=False`) nothing
        is written. Higher is better except for `loss`.
        """
        self.setup_data()
        self.setup_model()
        self.train()
        self.load_best()
        return self.score_split("valid").metric(self.config.metric)

    def evaluate(self) -> dict[str, Any]:
        """Best weights scored on the validation and test sets; the `metrics.json` content."""
        self.load_best()
        valid, test = self.score_split("valid"), self.score_split("test")
        self.test_metrics = _classification(test, self.labels)
        state = self.state
        metrics: dict[str, Any] = {
            "test": _metrics_dict(self.test_metrics, test),
            "valid": _metrics_dict(_classification(valid, self.labels), valid),
            "best_epoch": state.best_epoch,
            "epochs_run": state.epoch,
            "stopped_early": state.stopped_early,
            "sizes": self.sizes,
            "labels": self.labels,
            "duplicates": {
                k: self.splits.notes["duplicates"][k]
                for k in ("count", "label_conflicts", "removed")
            },
            "world_size": self.dist.world_size,
            "seconds": time.perf_counter() - self.started,
        }
        report = self.built.alignment
        if report is not None:
            metrics["coverage"] = {
                "type_coverage": report.type_coverage,
                "token_coverage": report.token_coverage,
            }
        self.metrics = metrics
        return metrics

    # -- files ---------------------------------------------------------------------------
    def save(self) -> None:
        """metrics.json, report.txt, history.json and plots (rank 0), then the summary."""
        if self.out is not None and self.dist.is_main:
            atomic_write_json(self.out / "metrics.json", self.metrics)
            _write_reports(self.out, self.test_metrics, self.state.history, plots=self.config.plots)
        self.log(
            f"Test ({self.sizes['test']} texts, best epoch {self.state.best_epoch}): accuracy "
            f"{100 * self.test_metrics.accuracy:.2f}%, macro F1 {self.test_metrics.macro_f1:.4f}"
        )
        self.log(self.test_metrics.format_table())
        if self.out is not None:
            self.log(f"Run folder: {self.out}")

    def _write_data_notes(self, out: Path) -> None:
        """config.json (new runs), splits.json (which rows went where), alignment report.

        Written only once data, vocabulary and model are ready, so bad input fails before
        anything lands in the run folder.
        """
        if not self.config.resume:
            self.config.save(out / "config.json")
        splits = {
            name: {"source": self._split(name).source, "rows": _rows(self._split(name))}
            for name in SPLITS
        }
        atomic_write_json(out / "splits.json", {**self.splits.notes, "sizes": self.sizes, **splits})
        report = self.built.alignment
        if report is not None:
            report.save(out / "alignment.json")
            atomic_write_text(out / "alignment.txt", report.format_table() + "\n")

    def run(self) -> RunResult:
        """setup_data, setup_model, train, evaluate, save."""
        self.setup_data()
        self.setup_model()
        self.train()
        self.evaluate()
        self.save()
        return RunResult(self.out, self.metrics, self.state.history, self.test_metrics)


def _quiet(_msg: str) -> None:
    return None


def _classification(result: EvalResult, labels: list[str]) -> Any:
    from vecgraft.finetune.metrics import classification_metrics

    y_true, y_pred = result.pairs()
    return classification_metrics(y_true, y_pred, labels)


def _metrics_dict(metrics: Any, result: EvalResult) -> dict[str, Any]:
    out = dict(metrics.to_dict())
    out.update(accuracy=metrics.accuracy, macro_f1=metrics.macro_f1, loss=result.loss)
    return out


def _write_reports(out: Path, metrics: Any, history: list[dict[str, Any]], *, plots: bool) -> None:
    """Text report and PNG plots (plots skipped with a note when matplotlib is missing)."""
    atomic_write_text(out / "report.txt", metrics.format_table() + "\n")
    atomic_write_json(out / "history.json", history)
    if not plots:
        return
    try:
        from vecgraft.finetune.plots import plot_confusion, plot_history

        plot_confusion(metrics, out / "confusion.png")
        plot_history(history, out / "history.png")
    except MissingExtraError as exc:
        print(f"note: plots skipped: {exc}", file=sys.stderr)
