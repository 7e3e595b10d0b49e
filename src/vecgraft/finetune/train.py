"""The training loop: optimizer and schedule, embedding freezing, early stopping, resume, DDP.

`Trainer` knows nothing about files or text: it gets a model whose
`forward(ids [B, T], lengths [B]) -> logits [B, C]` has an `embedding` attribute, encoded
train/validation data, and a `save` callback that writes checkpoints. The recipe in
`vecgraft.finetune.recipe` wires it to data, vocabularies and run folders.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.torch_version import TorchVersion
from tqdm.auto import tqdm

from vecgraft._util.console import PROGRESS_NOTE_SECONDS
from vecgraft._util.signals import interrupts_deferred
from vecgraft.errors import CheckpointError, ConfigError, DataError
from vecgraft.finetune.averaging import WeightAverage
from vecgraft.finetune.batching import BucketBatchSampler, EncodedData
from vecgraft.finetune.config import FinetuneConfig, Metric, OptimizerKind, ScheduleKind, Task
from vecgraft.finetune.distributed import DistContext, accumulating
from vecgraft.finetune.scoring import (
    EvalResult,
    RegressionResult,
    class_probabilities,
    evaluate_model,
    evaluate_regression,
    predict_logits,
    score_text,
)
from vecgraft.finetune.state import (
    TrainState,
    _improves,
    _resets_patience,
    at_ceiling,
    cap_trains_on,
    lr_factor,
    planned_steps,
    use_bf16,
    warmup_steps,
)
from vecgraft.nn.target import loss_unit

__all__ = [
    "BudgetShare",
    "EpochHook",
    "EvalResult",
    "SaveFn",
    "TrainState",
    "Trainer",
    "budget_line",
    "class_probabilities",
    "evaluate_model",
    "lr_factor",
    "predict_logits",
    "use_bf16",
    "warmup_steps",
]

SaveFn = Callable[[str, nn.Module, dict[str, Any], "dict[str, Any] | None"], None]
# on_epoch_end(epoch, history row) -> True stops training (a search pruner's hook)
EpochHook = Callable[[int, dict[str, Any]], "bool | None"]


# torch's fused Adam/AdamW kernels run on the CPU from 2.4 (pyproject allows 2.1)
_CPU_FUSED_ADAM = TorchVersion(torch.__version__) >= "2.4"
# in a Ctrl-C's trainer.pt (a run without the weight average): the embedding rows
# `prepare_weights` moved in its model file, as trained ({"ids", "rows"}), which a resume
# goes on from
RESUME_ROWS = "embedding_rows_as_trained"


def _resume_rows(
    value: object, weight: torch.Tensor, source: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """`RESUME_ROWS`' (ids, rows), checked against the embedding `weight` they go into.

    Why checked: `index_copy_` on a damaged file's value raised a bare IndexError,
    AttributeError or TypeError that did not say which file was wrong.
    """
    num, dim = weight.shape
    ids = value.get("ids") if isinstance(value, dict) else None
    rows = value.get("rows") if isinstance(value, dict) else None
    ok = (
        isinstance(ids, torch.Tensor)
        and ids.dtype == torch.int64
        and ids.dim() == 1
        and bool(((ids >= 0) & (ids < num)).all())
        and isinstance(rows, torch.Tensor)
        and rows.is_floating_point()
        and tuple(rows.shape) == (len(ids), dim)
    )
    if not ok:
        raise CheckpointError(
            f"{source}: {RESUME_ROWS} must be a dict of 'ids' (a 1-D int64 tensor of rows "
            f"below {num}) and 'rows' (a float tensor of shape [len(ids), {dim}]); the file "
            "is damaged: resume from a backup of the run folder or start the run again"
        )
    assert isinstance(ids, torch.Tensor) and isinstance(rows, torch.Tensor)
    return ids, rows


def _fused_adam_ok(params: list[nn.Parameter]) -> bool | None:
    """Whether Adam can run as one fused kernel per step (True), else torch's default (None).

    Why: the per-tensor loop torch uses on CPU makes a dense pass per Adam term over the
    whole embedding matrix; the fused kernel does one. On a 61k-word vocabulary (shopping10)
    Adam took half of each step's time, 21.6 ms vs 2.9 ms fused on 2 cores, the same update.
    torch before 2.4 has no fused CPU kernel and refused every CPU run ("`fused=True`
    requires ... cuda"), so there the CPU keeps the default loop.
    """
    devices = ("cpu", "cuda") if _CPU_FUSED_ADAM else ("cuda",)
    usable = all(p.is_floating_point() and p.device.type in devices for p in params)
    return True if params and usable else None


@dataclass(frozen=True)
class BudgetShare:
    """An ensemble member's place among the networks that share the run's epoch cap.

    Member `index` (from 1) of `members`; `cap` is the run's `max_epochs`, the member's own
    `max_epochs` its share of it.
    """

    index: int
    members: int
    cap: int


def budget_line(
    config: FinetuneConfig, steps_per_epoch: int, share: BudgetShare | None = None
) -> str:
    """The log's line on what the step budget trains (`epochs` unset): epochs, and steps.

    Where `max_epochs` cuts the budget it says so and the steps actually trained; an
    ensemble member's `max_epochs` is its share of the run's cap, and its line says that.

    Example:
        >>> config = FinetuneConfig(train_steps=12, min_epochs=1, max_epochs=10)
        >>> budget_line(config, 3)
        'Training budget: 12 steps -> 4 epochs of 3 batches (bounds 1-10)'
        >>> print(budget_line(config.replace(train_steps=3000), 4))
        ... # doctest: +NORMALIZE_WHITESPACE
        Training budget: 3000 steps would need 750 epochs of 4 batches; capped at 10 epochs
        (max_epochs): 40 steps
        >>> print(budget_line(config.replace(train_steps=3000, max_epochs=2), 4,
        ...                   BudgetShare(1, 3, 6)))  # doctest: +NORMALIZE_WHITESPACE
        Training budget: member 1 of 3, sharing a 6-epoch cap (the 3000-step budget would
        need 750 epochs of 4 batches): 2 epochs, 8 steps
    """
    epochs = config.resolved_epochs(steps_per_epoch)
    wanted = config.budget_epochs(steps_per_epoch)
    steps = epochs * steps_per_epoch
    budget = f"{wanted} epochs of {steps_per_epoch} batches"
    if wanted <= config.max_epochs:  # the budget fits (or min_epochs raises it)
        bounds = f"bounds {config.min_epochs}-{config.max_epochs}"
        line = (f"Training budget: {config.train_steps} steps -> {epochs} epochs of "
                f"{steps_per_epoch} batches ({bounds})")  # fmt: skip
        if share is not None:
            line += f"; member {share.index} of {share.members}, each trains the whole budget"
    elif share is not None:
        line = (f"Training budget: member {share.index} of {share.members}, sharing a "
                f"{share.cap}-epoch cap (the {config.train_steps}-step budget would need "
                f"{budget}): {epochs} epochs, {steps} steps")  # fmt: skip
    else:
        line = (f"Training budget: {config.train_steps} steps would need {budget}; capped "
                f"at {epochs} epochs (max_epochs): {steps} steps")  # fmt: skip
    if config.max_steps is not None and config.max_steps < steps:
        line += f"; max_steps stops it at step {config.max_steps}"
    return line


class Trainer:
    """Fits a classifier; one per run (and per process under DDP).

    Args:
        model: classifier with `.embedding` (an `nn.Embedding`), already on `device`.
        config: the run's settings.
        train_data: encoded training set.
        valid_data: encoded validation set (None: best = last).
        num_classes: number of labels.
        device: where batches go.
        dist: this process's place in the data-parallel job.
        save: `save(name, model, state, trainer_state)` writes checkpoint `name` (rank 0 only).
        log: prints a line (rank 0 only).
        on_step: called after each optimizer step with the global step (hooks, tests).
        on_epoch_end: called after each epoch with its number (1-based) and history row
            (train/valid loss, accuracy, macro F1); returning True ends training there, so
            a hyperparameter search can prune a trial (it may also raise, e.g. TrialPruned).
        prepare_weights: called before the weights are scored to choose an epoch, and before
            they are kept (a checkpoint), e.g. `UntrainedRows`, which moves the rows
            training does not update. A run that keeps its last epoch calls it only when
            saving, so its per-epoch validation lines may use rows not yet moved.
        budget_share: an ensemble member's place among the networks sharing the epoch cap
            (`budget_line` says it).
        saves_interrupted: whether a Ctrl-C saves `last/` to resume from, asked when one
            comes (None: it does); a run replacing another says no before its first
            checkpoint, so the run it replaces is put back instead (`ClassifierRecipe`).
        class_weights: the weight of each label id [num_classes] that scales its texts'
            training cross-entropy (`FinetuneConfig.class_weight`, from the training
            part's labels); None: every text weighs 1.
    """

    def __init__(
        self,
        model: nn.Module,
        config: FinetuneConfig,
        train_data: EncodedData,
        valid_data: EncodedData | None,
        *,
        num_classes: int,
        device: torch.device,
        dist: DistContext | None = None,
        save: SaveFn | None = None,
        log: Callable[[str], None] | None = None,
        on_step: Callable[[int], None] | None = None,
        on_epoch_end: EpochHook | None = None,
        prepare_weights: Callable[[], None] | None = None,
        budget_share: BudgetShare | None = None,
        saves_interrupted: Callable[[], bool] | None = None,
        class_weights: Sequence[float] | None = None,
    ) -> None:
        embedding = getattr(model, "embedding", None)
        if not isinstance(embedding, nn.Embedding):
            raise ConfigError("the model must expose its nn.Embedding as `model.embedding`")
        self.model = model
        self.embedding: nn.Embedding = embedding
        self.config = config
        self.train_data = train_data
        self.valid_data = valid_data
        n_valid = len(valid_data) if valid_data is not None else 0
        # a few validation rows are too few to choose an epoch on
        too_few_valid = 0 < n_valid < config.min_valid
        # no (usable) validation rows, or the user keeps the last epoch: best = last, no
        # early stopping
        self.selects = config.restore_best and n_valid > 0 and not too_few_valid
        self.num_classes = num_classes
        self.device = device
        self.dist = dist or DistContext()
        self._save = save
        self._saves_interrupted = saves_interrupted
        # `last/` is rewritten at most every `checkpoint_every` seconds (plus at the end and
        # whenever `best/` is), so a 200-epoch run on a small set does not write 400 folders
        self._saved_at = time.monotonic()
        self._best_unsaved = False  # an epoch that is "best" but not yet on disk
        self._log = log or print
        self.on_step = on_step
        self.on_epoch_end = on_epoch_end
        self.prepare_weights = prepare_weights
        self._prepared_at: int | None = None  # the global step `prepare_weights` last saw
        self.bf16 = use_bf16(config, device)
        self.regression = config.task is Task.REGRESSION
        self.class_weights = _weight_tensor(class_weights, num_classes, device)
        # a regression's gradients in z units, whatever the targets' scale (nn.target)
        self._loss_unit = loss_unit(model) if self.regression else 1.0
        # a regression stops early on the validation loss (MSE), whatever `metric` says
        self.metric = Metric.loss if self.regression else Metric(config.metric)
        self.sampler = BucketBatchSampler(
            train_data.lengths,
            config.batch_size,
            bucket=config.bucket,
            bucket_factor=config.bucket_factor,
            seed=config.seed,
            rank=self.dist.rank,
            world_size=self.dist.world_size,
        )
        self.steps_per_epoch = len(self.sampler)
        if self.steps_per_epoch == 0:
            raise ConfigError("the training set is empty (or smaller than the number of processes)")
        # epochs: the config's, or derived from its optimizer-step budget
        self.epochs = config.resolved_epochs(self.steps_per_epoch)
        self.total_steps = planned_steps(self.steps_per_epoch, self.epochs, config.max_steps)
        if config.epochs is None:
            self._log(budget_line(config, self.steps_per_epoch, budget_share))
        if config.restore_best and too_few_valid:
            self._log(
                f"The validation split has {n_valid} row{'s' * (n_valid != 1)} (< min_valid "
                f"{config.min_valid}): too few to stop early or choose an epoch on; training "
                "the whole budget and keeping the last epoch"
            )
        self.sparse = config.sparse_embedding_on(self.dist.enabled, device=device.type)
        self.optimizer = self._make_optimizer()
        warm = self.warmup_steps = warmup_steps(config, self.total_steps)
        if self.selects and config.patience and warm >= self.total_steps:
            self._log(  # patience counts only epochs after the warm-up: here there are none
                f"The warm-up ({warm:,} steps) spans the whole run ({self.total_steps:,} steps): "
                "no early stopping (a smaller --warmup to allow it)"
            )
        schedule = ScheduleKind(config.schedule)  # once, not at every step
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: lr_factor(step, self.total_steps, warm, schedule)
        )
        self.state = TrainState()
        # the weights scored and kept: an average of the recent path (round 37), or as trained
        span = config.ema_span()
        self.average = (
            WeightAverage(
                model,
                span * self.steps_per_epoch,
                rows=self._changing_rows(),
                resizable=[p for p in self.embedding.parameters() if p.ndim == 2],
            )
            if span and span * self.steps_per_epoch > 1
            else None
        )
        # a model that never tunes its embedding (Kim's CNN-static) keeps it frozen
        self.static = bool(getattr(model, "frozen_embedding", False))
        self._frozen: bool | None = None
        self._wrapped: nn.Module = model
        # the history row of the epoch `max_steps` cut (`_cut_row`); None: none was cut
        self.cut_row: dict[str, Any] | None = None
        self._epoch_start = time.perf_counter()  # of the epoch training now (`fit`)

    # -- setup ---------------------------------------------------------------------------
    def _changing_rows(self) -> dict[int, int]:
        """The embedding's rows training can move, as a leading count (`WeightAverage`).

        With lazy (row-wise) updates a row moves only when a training batch holds its id;
        the vector words a run adds after its training words never do.
        """
        if not self.sparse:
            return {}
        top = max((max(ids) for ids in self.train_data.ids if ids), default=-1)
        top = max(top, self.train_data.pad_index)
        return {id(p): top + 1 for p in self.embedding.parameters() if p.ndim == 2}

    def _make_optimizer(self) -> torch.optim.Optimizer:
        """Parameter groups: the embedding (own lr, no weight decay) and everything else.

        A model with `parameter_depths()` (layer index per parameter, 0 = embeddings) gets
        one group per depth for `layer_decay`, and no weight decay on biases and norms; its
        embedding lr defaults to the lr of depth 0 (it is trained like the layers above it).
        """
        cfg = self.config
        emb_ids = {id(p) for p in self.embedding.parameters()}
        depths_of = getattr(self.model, "parameter_depths", None)
        if depths_of is None and cfg.layer_decay is not None:
            raise ConfigError("layer_decay needs a model with layers (model 'hf')")
        if depths_of is not None:
            groups = self._layer_groups(depths_of(), emb_ids)
        else:
            body = [p for p in self.model.parameters() if id(p) not in emb_ids]
            emb_lr = cfg.embedding_lr if cfg.embedding_lr is not None else cfg.lr / 10
            groups = [
                {"params": body, "lr": cfg.lr, "name": "model"},
                # no weight decay on the embedding: it would pull pretrained vectors towards zero
                {
                    "params": list(self.embedding.parameters()),
                    "lr": emb_lr,
                    "weight_decay": 0.0,
                    "name": "embedding",
                },
            ]
        fused = _fused_adam_ok([p for g in groups for p in g["params"]])
        if self.sparse:
            from vecgraft.finetune.lazy_adam import LazyAdamW

            for module in self.embedding.modules():
                if isinstance(module, nn.Embedding):
                    module.sparse = True  # the backward pass then yields only the used rows
            return LazyAdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused)
        if cfg.optimizer is OptimizerKind.adamw:
            return torch.optim.AdamW(
                groups, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused
            )
        if cfg.optimizer is OptimizerKind.adam:
            return torch.optim.Adam(groups, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused)
        return torch.optim.SGD(
            groups, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        )

    def _layer_groups(
        self, depths: tuple[dict[str, int], int], emb_ids: set[int]
    ) -> list[dict[str, Any]]:
        """One group per (depth, decay or not); the top depth trains at `lr`."""
        cfg = self.config
        by_name, top = depths
        decay = cfg.layer_decay if cfg.layer_decay is not None else 1.0
        buckets: dict[tuple[int, bool], list[nn.Parameter]] = {}
        for name, param in self.model.named_parameters():
            if id(param) in emb_ids:
                continue
            no_decay = param.ndim < 2  # biases and LayerNorm weights
            buckets.setdefault((by_name.get(name, top), no_decay), []).append(param)
        groups: list[dict[str, Any]] = [
            {
                "params": params,
                "lr": cfg.lr * decay ** (top - depth),
                "weight_decay": 0.0 if no_decay else cfg.weight_decay,
                "name": f"layer{depth}" + ("-no-decay" if no_decay else ""),
            }
            for (depth, no_decay), params in sorted(buckets.items())
        ]
        # the embedding group comes second, as in the two-group layout above
        groups.insert(
            min(1, len(groups)),
            {
                "params": list(self.embedding.parameters()),
                "lr": cfg.embedding_lr if cfg.embedding_lr is not None else cfg.lr * decay**top,
                "weight_decay": 0.0,
                "name": "embedding",
            },
        )
        return groups

    def _set_frozen(self, frozen: bool) -> None:
        """Freeze/unfreeze the embedding; rewraps DDP/compile, which fix the trainable set."""
        if frozen == self._frozen:
            return
        self._frozen = frozen
        for p in self.embedding.parameters():
            p.requires_grad_(not frozen)
        wrapped: nn.Module = self.model
        if self.dist.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            wrapped = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        if self.config.compile:
            wrapped = torch.compile(wrapped, dynamic=True)  # type: ignore[assignment]
        self._wrapped = wrapped

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if not self.bf16:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)

    # -- resume --------------------------------------------------------------------------
    def trainer_state(self) -> dict[str, Any]:
        """Optimizer, scheduler and RNG state (tensors and plain values only)."""
        out: dict[str, Any] = {
            "optimizer": pack_zero_rows(self.optimizer.state_dict()),
            "scheduler": self.scheduler.state_dict(),
            "torch_rng": torch.get_rng_state(),
        }
        if self.device.type == "cuda":
            out["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        if self.average is not None:
            out["average"] = self.average.state_dict()
        return out

    def restore(
        self, state: dict[str, Any], trainer_state: dict[str, Any], *, source: str = "trainer.pt"
    ) -> None:
        """Continue from a `last/` checkpoint (weights already loaded into the model).

        `source` names the file `trainer_state` was read from, for its errors.
        """
        self.state = TrainState.from_dict(state)
        self._check_resumable(self.state)
        if RESUME_ROWS in trainer_state:  # a Ctrl-C's last/: the rows as trained
            ids, rows = _resume_rows(trainer_state[RESUME_ROWS], self.embedding.weight, source)
            weight = self.embedding.weight
            with torch.no_grad():
                weight.index_copy_(0, ids.to(weight.device), rows.to(weight))
        try:
            saved = unpack_zero_rows(trainer_state["optimizer"])
            self.optimizer.load_state_dict(_own_kernels(saved, self.optimizer))
            self.scheduler.load_state_dict(trainer_state["scheduler"])
            torch.set_rng_state(trainer_state["torch_rng"])
            if "cuda_rng" in trainer_state and self.device.type == "cuda":
                torch.cuda.set_rng_state(trainer_state["cuda_rng"], self.device)
            if self.average is not None and "average" in trainer_state:
                self.average.load_state_dict(trainer_state["average"])
            elif self.average is not None:  # saved by a version without the average
                self._log("The checkpoint holds no weight average: it starts again here")
        except (KeyError, ValueError, RuntimeError) as exc:
            raise CheckpointError(f"cannot restore trainer state: {exc}") from exc

    def reopen(self, cap: int | None) -> bool:
        """Train a restored run that the step cap `cap` ended on to this config's larger one.

        `max_steps` is a setting a resume may change, yet a run that `cap` had finished was
        only scored again (as Hugging Face's Trainer does, a larger max_steps trains on).
        Not a run that stopped early, ran all its epochs, or stopped before `cap`
        (`on_epoch_end`). Why the rates are set anew: the scheduler keeps only its step, so
        it runs on this run's `total_steps` from the next step, but the optimizer holds the
        rate the old schedule ended with (0 for a linear decay), which the first step used.
        """
        st = self.state
        if not st.finished or st.epoch >= self.epochs:
            return False
        if not cap_trains_on(st.global_step, st.stopped_early, cap, self.config.max_steps):
            return False
        st.finished = False
        self.restart_schedule()
        return True

    def restart_schedule(self) -> None:
        """Set the optimizer's rates to this run's schedule at the restored step.

        For a resume whose max_steps changed `total_steps` (`reopen`, or a stopped run
        resumed with another --max-steps): the optimizer holds the old schedule's rate,
        which the first step used.
        """
        step = self.scheduler.last_epoch
        for group, base, factor in zip(
            self.optimizer.param_groups,
            self.scheduler.base_lrs,
            self.scheduler.lr_lambdas,
            strict=True,
        ):
            group["lr"] = base * factor(step)

    def _check_resumable(self, st: TrainState) -> None:
        """A saved state this run can continue: counters consistent with its own settings."""
        spe = self.steps_per_epoch
        problems = [
            (st.epoch <= self.epochs, f"epoch {st.epoch} > epochs {self.epochs}"),
            # == spe: a Ctrl-C after the epoch's last update, before its bookkeeping
            (st.step_in_epoch <= spe, f"step_in_epoch {st.step_in_epoch} > {spe} per epoch"),
            (
                st.global_step == st.epoch * spe + st.step_in_epoch,
                f"global_step {st.global_step} != epoch * {spe} + step_in_epoch",
            ),
            (len(st.history) == st.epoch, f"{len(st.history)} history rows for {st.epoch} epochs"),
            (st.best_epoch is None or st.best_epoch <= st.epoch, "best_epoch after epoch"),
        ]
        for ok, what in problems:
            if not ok:
                raise CheckpointError(f"state.json does not fit this run: {what}")

    # -- loop ----------------------------------------------------------------------------
    def fit(self) -> TrainState:
        """Train until the last epoch, early stopping or `max_steps`; returns the final state.

        Ctrl-C (KeyboardInterrupt) saves the `last/` checkpoint (mid-epoch when running on
        one process) and re-raises, so `--resume` can continue exactly where it stopped
        (unless `saves_interrupted` says not to).
        """
        cfg, st = self.config, self.state
        try:
            while not st.finished and st.epoch < self.epochs:
                self._set_frozen(st.epoch < cfg.freeze_epochs or self.static)
                # a resumed epoch's row counts the seconds trained in it before
                start = self._epoch_start = time.perf_counter() - st.epoch_seconds
                st.epoch_seconds = 0.0  # counted once: `_checkpoint` sets it anew
                completed = self._train_epoch()
                if not completed:  # max_steps reached mid-epoch
                    st.finished = True
                    # no epoch finished: the only model is the best; a run that keeps its
                    # last weights keeps the ones it stopped with
                    # (even when `best/` was written at the last epoch's end)
                    if st.best_epoch is None or self._best_unsaved or not self.selects:
                        with self._averaged():
                            self._checkpoint("best", with_trainer=False)
                    self._checkpoint("last", with_trainer=True)
                    self.cut_row = self._cut_row(time.perf_counter() - start)
                    break
                with interrupts_deferred():  # the epoch's bookkeeping and checkpoint, whole
                    self._end_epoch(time.perf_counter() - start)
        except KeyboardInterrupt:
            saves = self._saves_interrupted is None or self._saves_interrupted()
            if saves and self.dist.is_main and (not self.dist.enabled or st.step_in_epoch == 0):
                self._interrupted_checkpoint()
            raise
        if not st.finished:
            st.finished = True
            self._checkpoint("last", with_trainer=True)
        if self.cut_row is None and st.step_in_epoch:  # a cut run resumed: scored again
            self.cut_row = self._cut_row(None)
        return st

    def _batches(self) -> Iterator[tuple[int, list[int]]]:
        """(global batch size, this rank's indices) for the current epoch, skipping done ones."""
        self.sampler.set_epoch(self.state.epoch)
        for i, batch in enumerate(self.sampler.global_batches()):
            if i >= self.state.step_in_epoch:
                yield len(batch), batch[self.dist.rank :: self.dist.world_size]

    def _train_epoch(self) -> bool:
        """One epoch (or what is left of it); False when `max_steps` stopped it early."""
        cfg, st = self.config, self.state
        self._wrapped.train()
        if self.dist.enabled:  # each rank its own dropout masks (DistContext.training_seed)
            torch.manual_seed(self.dist.training_seed(cfg.seed, st.epoch, st.step_in_epoch))
        show = cfg.progress if cfg.progress is not None else sys.stderr.isatty()
        bar = tqdm(
            total=self.steps_per_epoch,
            initial=st.step_in_epoch,
            desc=f"Epoch {st.epoch + 1}/{self.epochs}",
            disable=not (show and self.dist.is_main),
            leave=False,
            unit="batch",
        )
        # no bar (output to a file or pipe): a plain line now and then, or a long epoch of a
        # large data set is minutes of silence (--no-progress: none)
        note = _EpochNote(self, enabled=cfg.progress is None and not show and self.dist.is_main)
        with bar:
            for global_size, indices in self._batches():
                if cfg.max_steps is not None and st.global_step >= cfg.max_steps:
                    return False
                # a Ctrl-C after the update but before the count would repeat the batch on
                # --resume: the step and its count happen together or not at all
                with interrupts_deferred():
                    loss_sum, correct = self._step(indices, global_size)
                    st.partial[0] += loss_sum
                    st.partial[1] += correct
                    st.partial[2] += len(indices)
                    st.step_in_epoch += 1
                    st.global_step += 1
                bar.update(1)
                if st.partial[2]:
                    bar.set_postfix(loss=f"{st.partial[0] / st.partial[2]:.4f}", refresh=False)
                note.step()
                if self.on_step is not None:
                    self.on_step(st.global_step)
        return True

    def _step(self, indices: list[int], global_size: int) -> tuple[float, int]:
        """Forward/backward/update on this rank's share of one global batch.

        The loss is summed and divided by the *global* batch size (times the world size, as DDP
        averages gradients), so the update equals one process training on the whole batch.
        With `grad_accum` K the share runs as K pieces whose gradients add up before the one
        update (DDP synchronises only on the last piece).
        """
        pieces = max(1, min(self.config.grad_accum, len(indices)))
        size = -(-len(indices) // pieces)
        chunks = [indices[i : i + size] for i in range(0, len(indices), size)]
        self.optimizer.zero_grad(set_to_none=True)
        loss_total, correct = 0.0, 0
        for n, chunk in enumerate(chunks):
            last = n == len(chunks) - 1
            sync = contextlib.nullcontext() if last else accumulating(self._wrapped)
            with sync:
                ids, lengths, labels = (t.to(self.device) for t in self.train_data.batch(chunk))
                with self._autocast():
                    logits = self._wrapped(ids, lengths)
                losses = batch_losses(
                    logits, labels, regression=self.regression,
                    label_smoothing=self.config.label_smoothing, weight=self.class_weights,
                )  # fmt: skip
                loss = losses.sum() * (self.dist.world_size / global_size) * self._loss_unit
                loss.backward()
            loss_total += _reported_loss(losses, logits, labels, self.regression)
            if not self.regression:
                correct += int((logits.argmax(-1) == labels).sum())
        if self.config.grad_clip is not None:
            trained = [p for p in self.model.parameters() if p.requires_grad]
            if self.sparse:
                from vecgraft.finetune.lazy_adam import clip_grad_norm

                clip_grad_norm(trained, self.config.grad_clip)
            else:
                nn.utils.clip_grad_norm_(trained, self.config.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        if self.average is not None:
            self.average.update()
        return loss_total, correct

    def _end_epoch(self, seconds: float) -> None:
        st = self.state
        fields, text = self._train_fields(bool(self._frozen))
        st.epoch += 1
        st.step_in_epoch = 0
        st.partial = [0.0, 0.0, 0.0]
        row: dict[str, Any] = {"epoch": st.epoch, **fields, "seconds": seconds}
        if not math.isfinite(row["train_loss"]):  # every later epoch would be "Loss: nan"
            raise DataError(
                f"the training loss is {row['train_loss']} after epoch {st.epoch}: the weights "
                "hold NaN or Inf (non-finite inputs, or a learning rate too high: try a lower "
                "--lr)"
            )
        line = f"Epoch [{st.epoch}/{self.epochs}], {text}"
        with self._averaged():  # the weights scored, chosen and kept: the average's
            save = self._choose_epoch(row, line, seconds)
        if save:  # the weights as trained, which a resumed run goes on from
            self._checkpoint("last", with_trainer=True)
            self._saved_at = time.monotonic()

    def _choose_epoch(self, row: dict[str, Any], line: str, seconds: float) -> bool:
        """Score the epoch, log it (`line` + the scores), early stopping, `best/`.

        Returns whether `last/` is due now: a newly chosen epoch is written at once (and
        `last/` with it, so that `last/` is never older than `best/`); a run that keeps its
        last epoch marks every epoch "improved" and writes only when the interval is up or
        the run ends.
        """
        st = self.state
        if self.selects:  # scored as they would be kept
            self._prepare()
        improved, resets, valid_line = self._validate(row)
        st.history.append(row)
        if improved:
            st.best_epoch = st.epoch
            valid_line += " *"
        if resets:
            st.bad_epochs = 0
        elif st.global_step >= self.warmup_steps:
            st.bad_epochs += 1  # patience counts only epochs that end once the warm-up is over
        self._log(f"{line}{valid_line} [{seconds:.1f}s]")
        self._decide_stop(row)
        if st.epoch >= self.epochs:
            st.finished = True
        self._best_unsaved = self._best_unsaved or improved
        due = time.monotonic() - self._saved_at >= self.config.checkpoint_every
        save = st.finished or due or (improved and self.selects)
        if save and self._best_unsaved:
            self._checkpoint("best", with_trainer=False)
            self._best_unsaved = False
        return save

    def _train_fields(self, frozen: bool) -> tuple[dict[str, Any], str]:
        """An epoch's training scores so far (summed over ranks) and their log text.

        Shared by a finished epoch (`_end_epoch`) and the one `max_steps` cut (`_cut_row`):
        `{train_loss, train_accuracy (not for a regression), lr, embedding_frozen}` and
        "Loss: …, Accuracy: …%".
        """
        totals = self.dist.all_reduce_sum(torch.tensor(self.state.partial, dtype=torch.float64))
        loss_sum, correct, count = totals.tolist()
        fields: dict[str, Any] = {
            "train_loss": loss_sum / max(count, 1),
            "train_accuracy": correct / max(count, 1),
            "lr": max(g["lr"] for g in self.optimizer.param_groups if g["name"] != "embedding"),
            "embedding_frozen": bool(frozen),
        }
        text = f"Loss: {fields['train_loss']:.4f}"
        if self.regression:
            del fields["train_accuracy"]
        else:
            text += f", Accuracy: {100 * fields['train_accuracy']:.2f}%"
        return fields, text

    def _cut_row(self, seconds: float | None) -> dict[str, Any]:
        """The history row of the epoch `max_steps` cut: its steps, loss so far, scores.

        Kept out of `state.history` (one row per finished epoch, as a resume checks): a run
        cut inside epoch 1 wrote an empty history.json for weights it trained and tested.
        `seconds` is None for a finished run resumed, whose time is not known.
        """
        st, spe = self.state, self.steps_per_epoch
        fields, text = self._train_fields(st.epoch < self.config.freeze_epochs or self.static)
        row: dict[str, Any] = {
            "epoch": st.epoch + 1, "steps": st.step_in_epoch, "steps_per_epoch": spe, **fields
        }
        if seconds is not None:
            row["seconds"] = seconds
        line = (f"Epoch [{st.epoch + 1}/{self.epochs}] cut by max_steps at step "
                f"{st.step_in_epoch} of {spe}, {text}")  # fmt: skip
        with self._averaged():  # scored as the epochs are, without choosing or stopping
            if self.selects:
                self._prepare()
            scored = self._score_valid(row)
        line += "" if scored is None else scored[2]
        self._log(line if seconds is None else f"{line} [{seconds:.1f}s]")
        return row

    def _averaged(self) -> contextlib.AbstractContextManager[None]:
        """The weight average in the model inside the block (no average: the weights)."""
        return contextlib.nullcontext() if self.average is None else self.average.swapped_in()

    def _validate(self, row: dict[str, Any]) -> tuple[bool, bool, str]:
        """Score the validation set into `row`.

        Returns (improved on the best so far, restarts the patience count, log text): a
        lower loss at a validation accuracy / F1 already 1.0 is kept but does not restart it.
        """
        st = self.state
        scored = self._score_valid(row)
        if scored is None:
            return True, True, ""
        value, loss, line = scored
        improved = _improves(self.metric, value, loss, st.best_metric, st.best_loss)
        resets = improved and _resets_patience(self.metric, value, st.best_metric)
        if not self.selects:
            improved = resets = True
        if improved:
            st.best_metric, st.best_loss = value, loss
        return improved, resets, line

    def _score_valid(self, row: dict[str, Any]) -> tuple[float, float, str] | None:
        """Validation scores into `row`: (the metric, the loss, log text); None: no split."""
        if self.valid_data is None or not len(self.valid_data):
            return None
        result = self.evaluate(self.valid_data)
        if isinstance(result, RegressionResult):
            scores = result.scores()
            value = result.metric(self.metric)
            row.update(valid_loss=result.loss, valid_rmse=scores["rmse"],
                       valid_pearson=scores["pearson"])
            line = (
                f", Valid MSE: {result.loss:.4f}, Valid RMSE: {scores['rmse']:.4f}"
                f", Valid Pearson: {score_text(scores['pearson'])}"
            )
        else:
            accuracy, f1 = result.accuracy, result.macro_f1  # each computed once per epoch
            row.update(valid_loss=result.loss, valid_accuracy=accuracy, valid_macro_f1=f1)
            line = (
                f", Valid Loss: {result.loss:.4f}, Valid Accuracy: {100 * accuracy:.2f}%"
                f", Valid F1: {f1:.4f}"
            )
            # the metric from the scores just computed: result.metric() would compute them anew
            value = {Metric.LOSS: result.loss, Metric.ACCURACY: accuracy,
                     Metric.MACRO_F1: f1}[self.metric]  # fmt: skip
        return value, result.loss, line

    def _decide_stop(self, row: dict[str, Any]) -> None:
        """Early stopping, `max_steps` and the `on_epoch_end` hook; before checkpointing."""
        cfg, st = self.config, self.state
        # the message only when patience, not the epoch limit, ends the run
        if cfg.patience is not None and st.bad_epochs >= cfg.patience and st.epoch < self.epochs:
            st.stopped_early = True
            st.finished = True
            self._log(self._stop_line(cfg.patience))
        if cfg.max_steps is not None and st.global_step >= cfg.max_steps:
            st.finished = True
        if self.on_epoch_end is not None and self.on_epoch_end(st.epoch, dict(row)):
            st.finished = True
            self._log(f"Stopped after epoch {st.epoch} (on_epoch_end)")

    def _stop_line(self, patience: int) -> str:
        """Why patience ended the run: no better score, or a score at its ceiling (1.0)."""
        st = self.state
        if at_ceiling(self.metric, st.best_metric):
            return self._ceiling_line(patience)
        said = f"Early stopping: no {self.metric.value} improvement for {_epochs(patience)}"
        since = st.epoch - (st.best_epoch or 0)
        if since > patience:  # the epochs inside the warm-up did not count
            said += (f" after the warm-up ({self.warmup_steps:,} steps), {since} since the "
                     f"best, epoch {st.best_epoch}")  # fmt: skip
        return said

    def _ceiling_line(self, patience: int) -> str:
        """The stop of a run whose validation accuracy / F1 reached 1.0 (`_resets_patience`).

        Says the epoch that first reached it (the last that restarted the count) and the one
        kept, which a lower validation loss among those at 1.0 picks.
        """
        st, key = self.state, f"valid_{self.metric.value}"
        first = next(row["epoch"] for row in st.history if at_ceiling(self.metric, row.get(key)))
        shown = "100%" if self.metric is Metric.ACCURACY else "1.0"
        said = (f"Early stopping: validation {self.metric.value} at {shown} since epoch {first}; "
                f"stopped after {_epochs(st.epoch - first, 'more ')}")  # fmt: skip
        if st.epoch - first > patience:  # the epochs inside the warm-up did not count
            said += (f" (patience {patience}, counted after the warm-up of "
                     f"{self.warmup_steps:,} steps)")  # fmt: skip
        return f"{said}, keeping epoch {st.best_epoch}, the lowest validation loss at {shown}"

    def _prepare(self) -> None:
        """`prepare_weights`, at most once per optimizer step.

        An epoch that is scored and then saved (or saved as best and then last) does not
        move its rows twice: the weights have not changed in between.
        """
        if self.prepare_weights is None or self._prepared_at == self.state.global_step:
            return
        self.prepare_weights()
        self._prepared_at = self.state.global_step

    def _interrupted_checkpoint(self) -> None:
        """`last/` at a Ctrl-C: what an ordinary `last/` save would hold at this step.

        With the weight average, `last/` holds the weights as trained, rows never moved
        (they are moved only in the averaged weights, which are scored and kept as `best/`);
        the average itself rides in `trainer.pt`. Without it, a save moves the rows of the
        weights themselves, so the model file has them moved as every other `last/` and
        `best/` does (`load_run(checkpoint="last")` predicts from it); but an uninterrupted
        run moves them only at an epoch's end, so the rows as trained ride in `trainer.pt`
        (`RESUME_ROWS`) and `restore` puts them back: the resume is bit for bit.
        """
        if self.prepare_weights is None or self.average is not None:
            self._checkpoint("last", with_trainer=True)
            return
        weight = self.embedding.weight
        trained = weight.detach().clone()
        self.prepare_weights()
        with torch.no_grad():
            moved = (weight.detach() != trained).any(dim=1).nonzero().flatten()
            rows = {"ids": moved.cpu(), "rows": trained[moved].cpu()}
            try:
                self._checkpoint("last", with_trainer=True, prepare=False, resume_rows=rows)
            finally:
                weight.copy_(trained)  # this process's weights as trained, whatever comes next

    def _checkpoint(
        self,
        name: str,
        *,
        with_trainer: bool,
        prepare: bool = True,
        resume_rows: dict[str, torch.Tensor] | None = None,
    ) -> None:
        """Save checkpoint `name`, after `prepare_weights` unless `prepare` is False.

        With the weight average `last/` is never prepared: its weights are the ones as
        trained, which training goes on from (`prepare_weights` moves only the averaged
        weights, inside `_averaged`). `resume_rows` (embedding row ids and their values) go
        with the trainer state: the rows `restore` puts back in place of the saved model's.
        """
        if prepare and not (name == "last" and self.average is not None):
            self._prepare()  # every rank, so their weights stay equal
        if self._save is None or not self.dist.is_main:
            return
        st = self.state
        st.epoch_seconds = time.perf_counter() - self._epoch_start if st.step_in_epoch else 0.0
        trainer_state = self.trainer_state() if with_trainer else None
        if trainer_state is not None and resume_rows is not None:
            trainer_state[RESUME_ROWS] = resume_rows
        self._save(name, self.model, self.state.to_dict(), trainer_state)

    # -- evaluation ----------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, data: EncodedData) -> EvalResult | RegressionResult:
        """Loss and confusion matrix on `data` (regression: MSE and predictions)."""
        if self.regression:
            return evaluate_regression(
                self.model,
                data,
                device=self.device,
                batch_size=self.config.batch_size * 2,
                bf16=self.bf16,
                dist=self.dist,
            )
        return evaluate_model(
            self.model,
            data,
            self.num_classes,
            device=self.device,
            batch_size=self.config.batch_size * 2,
            bf16=self.bf16,
            dist=self.dist,
        )


# a saved optimizer state tensor whose all-zero rows are left out (`pack_zero_rows`)
# seconds between the plain progress lines of an epoch when no bar is drawn (the linear
# model's fit beats as often: `linear.HEARTBEAT_SECONDS`)
EPOCH_NOTE_SECONDS = PROGRESS_NOTE_SECONDS


class _EpochNote:
    """Plain progress lines inside an epoch, at most one per `EPOCH_NOTE_SECONDS`.

    Where stderr is no terminal, tqdm's bar is off and an epoch printed nothing until its
    end: 80 s per epoch on 56k Chinese reviews, an hour on a few million texts.
    """

    def __init__(self, trainer: Trainer, *, enabled: bool) -> None:
        self.trainer = trainer
        self.enabled = enabled
        self.start = self.last = time.perf_counter()

    def step(self) -> None:
        """Log the epoch's progress when `EPOCH_NOTE_SECONDS` passed since the last line."""
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self.last < EPOCH_NOTE_SECONDS:
            return
        self.last = now
        t, st = self.trainer, self.trainer.state
        loss = f", loss {st.partial[0] / st.partial[2]:.4f}" if st.partial[2] else ""
        t._log(f"Epoch {st.epoch + 1}/{t.epochs}: batch {st.step_in_epoch}/{t.steps_per_epoch}"
               f"{loss} [{now - self.start:.0f}s]")  # fmt: skip


_PACKED = "__zero_rows_packed__"


def pack_zero_rows(optimizer_state: dict[str, Any]) -> dict[str, Any]:
    """An optimizer state dict with each 2-D moment tensor stored as its nonzero rows only.

    Why: lazy AdamW never touches the rows of words training does not use (the vector words
    `extend_vocab` adds), so their moments stay zero; the resumable `last/` checkpoint would
    otherwise store 2 x 100,000 of them. `unpack_zero_rows` restores the exact tensors.
    """
    return _each_slot(optimizer_state, _packed)


def _each_slot(optimizer_state: dict[str, Any], fn: Callable[[Any], Any]) -> dict[str, Any]:
    """`optimizer_state` with `fn` applied to every per-parameter slot (exp_avg, step, ...)."""
    state = {
        key: {name: fn(value) for name, value in slots.items()}
        for key, slots in optimizer_state.get("state", {}).items()
    }
    return {**optimizer_state, "state": state}


def _packed(value: Any) -> Any:
    if not isinstance(value, torch.Tensor) or value.dim() != 2 or value.is_sparse:
        return value
    rows = value.abs().sum(dim=1).nonzero().flatten()
    if len(rows) * 2 > len(value):  # mostly nonzero: the plain tensor is as small
        return value
    return {_PACKED: True, "rows": rows, "values": value[rows].clone(), "shape": list(value.shape)}


# how a step runs, not what it computes: this process's choice for its device and torch
_KERNEL_KEYS = ("fused", "foreach")


def _own_kernels(saved: dict[str, Any], optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """The optimizer state `saved` with each group's kernel choice (fused, ...) `optimizer`'s.

    Why: `load_state_dict` replaces the param groups, so a run saved where Adam is fused
    (CUDA; the CPU from torch 2.4) resumed where it cannot be (MPS, older torch) would
    fail at its first step. Set before loading, torch places the step counts by it too.
    """
    groups = [
        {**group, **{k: mine[k] for k in _KERNEL_KEYS if k in mine}}
        for group, mine in zip(saved["param_groups"], optimizer.param_groups)
    ]
    return {**saved, "param_groups": groups + saved["param_groups"][len(groups) :]}


def unpack_zero_rows(optimizer_state: dict[str, Any]) -> dict[str, Any]:
    """Inverse of `pack_zero_rows` (a state saved before it passes through unchanged)."""
    return _each_slot(optimizer_state, _unpacked)


def _unpacked(value: Any) -> Any:
    if not (isinstance(value, dict) and value.get(_PACKED)):
        return value
    values = value["values"]
    out = torch.zeros(value["shape"], dtype=values.dtype, device=values.device)
    out.index_copy_(0, value["rows"], values)
    return out


def _reported_loss(
    losses: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor, regression: bool
) -> float:
    """The batch's summed loss for the epoch's report, in float64 where float32 overflowed.

    Why: squared errors of targets near 1e20 overflow float32, so a run with finite
    weights was stopped as "the training loss is inf". Ordinary batches keep the float32
    sum, so their reported losses stay as they were.
    """
    total = float(losses.detach().sum())
    if regression and not math.isfinite(total):
        error = logits.detach()[:, 0].double() - labels.detach().double()
        total = float((error * error).sum())
    return total


def batch_losses(
    logits: torch.Tensor,
    labels: torch.Tensor,
    *,
    regression: bool,
    label_smoothing: float = 0.0,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-example training losses [B] in float32: squared error, or cross-entropy.

    `label_smoothing` takes that share of each class target and spreads it evenly over all
    classes (PyTorch's definition); only training uses it, so validation losses stay
    comparable between runs with and without it. `weight` [C] scales each text's whole
    (smoothed) cross-entropy by its gold class's weight; the caller divides the sum by the
    batch size, not by the summed weights, so a batch of rare texts moves the model more,
    as scikit-learn's `class_weight` does. Not PyTorch's `weight=`: with label smoothing
    that weighs each class's share of the smoothed target by that class's weight, so a
    common-class text's loss was least with the rare class far above its smoothing share
    (balanced weights on 95/5 data with smoothing 0.1: accuracy 0.21, not 0.885).
    """
    if regression:
        return F.mse_loss(logits[:, 0].float(), labels.float(), reduction="none")
    losses = F.cross_entropy(
        logits.float(), labels, reduction="none", label_smoothing=label_smoothing
    )
    return losses if weight is None else losses * weight[labels]


def _weight_tensor(
    weights: Sequence[float] | None, num_classes: int, device: torch.device
) -> torch.Tensor | None:
    """`weights` as the float32 tensor [C] on `device` that `batch_losses` takes."""
    if weights is None:
        return None
    if len(weights) != num_classes:
        raise ConfigError(f"class_weights has {len(weights)} weights for {num_classes} classes")
    return torch.tensor([float(w) for w in weights], dtype=torch.float32, device=device)


def _epochs(count: int, more: str = "") -> str:
    """`count` epochs in words, singular where one: "stopped after 1 more epochs" misread."""
    return f"{count} {more}epoch{'' if count == 1 else 's'}"
