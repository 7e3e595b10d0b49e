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

import functools
import math
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vecgraft._util.atomic import atomic_write_json, atomic_write_text, old_twin
from vecgraft._util.device import resolve_device
from vecgraft._util.runenv import environment
from vecgraft.errors import CheckpointError, ConfigError, DataError, MissingExtraError
from vecgraft.finetune.batching import EncodedData
from vecgraft.finetune.checkpoint import (
    TRAINER_FILE,
    load_checkpoint,
    resume_remedy,
    save_checkpoint,
)
from vecgraft.finetune.config import FinetuneConfig, Metric, Task, read_config_file
from vecgraft.finetune.distributed import DistContext
from vecgraft.finetune.families import (
    ModelInputs,
    ModelSetup,
    model_family,
    text_subword_coverage,
    text_type_coverage,
)
from vecgraft.finetune.metrics import (
    majority_baseline,
    majority_words,
    mean_baseline,
    one_label_warning,
)
from vecgraft.finetune.prepare import Preread, prepare_splits, row_sources
from vecgraft.finetune.rundir import RunFolder, record_overrides
from vecgraft.finetune.scoring import TargetRange, score_text
from vecgraft.finetune.state import planned_steps
from vecgraft.finetune.text_settings import auto_tokenizer
from vecgraft.finetune.train import (
    BudgetShare,
    EpochHook,
    EvalResult,
    Trainer,
    TrainState,
    class_probabilities,
    evaluate_model,
)
from vecgraft.finetune.vectors_arg import VectorsArg, check_vectors_arg, record_vectors
from vecgraft.nn.target import target_text

__all__ = ["ClassifierRecipe", "RunResult"]

SPLITS = ("train", "valid", "test")
# model.json key: the fused linear half's nfc/word_marks a resumed run started with, kept so
# that resuming it again keeps them (written only where they differ from a new run's)
LINEAR_STARTED = "linear_started"
# a fusion's combination: (the network's share, None) for a mean, (None, (a, b)) for a pool
Choice = tuple[float | None, tuple[float, float] | None]


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


class ClassifierRecipe:
    """A text-classifier fine-tuning run, step by step.

    Args:
        config: the run's settings (`config.out` is the run folder).
        write_files: False keeps checkpoints in memory and writes nothing (search trials).
        vectors: vectors to use instead of loading `config.vectors`: a `Vectors`, or a
            function of the vocabulary's tokens returning one (recorded as in memory where
            the config names no file: `finetune`).
        device: where to train (default: `config.device` resolved).
        dist: this process's place in a data-parallel job (default: a single process).
        log: where progress lines go (default: print on rank 0).
        on_step: called with the global step after each optimizer step.
        on_epoch_end: `on_epoch_end(epoch, history_row)`; True stops training (pruning).
        overwrite: replace the run already in `config.out` (only the files its manifest
            lists, and only once this run's data and model are ready).
        adopt: with `config.resume`, continue a run folder copied or moved from elsewhere.
        preread: the data as `prepare.preread` already read it (`finetune` reads it once to
            plan an ensemble); None reads the files.
    """

    # trained epoch by epoch: history.png draws its curves (a fitted model has none)
    has_epochs = True

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
        overwrite: bool = False,
        adopt: bool = False,
        preread: Preread | None = None,
    ) -> None:
        self.started = time.perf_counter()
        self._earlier_seconds = 0.0  # the run's sessions before this one (`run_seconds`)
        vectors = check_vectors_arg(vectors)
        config = record_vectors(config, vectors)  # vectors in memory: said in config.json
        self.preread = preread
        self.config = config
        self.dist = dist or DistContext()
        if not write_files and (config.resume or self.dist.enabled):
            raise ConfigError("write_files=False needs one process and no resume")
        self.out: Path | None = Path(config.out) if write_files else None
        self.folder = RunFolder(config.out) if write_files else None
        self.overwrite = overwrite
        if self.folder is not None and self.dist.is_main:  # checks only; rank 0 claims later
            if config.resume:
                self.folder.check_resume(adopt=adopt)
            else:
                self.folder.check_new(overwrite=overwrite)
        self._checkpointed = False  # a failure before the first checkpoint rolls back
        self.device = device or resolve_device(config.device)
        self.vectors = vectors
        self.fusion: Any = None  # fuse_linear: the fitted `Fusion`, saved with the run
        self.crossfit: Any = None  # fuse_folds: the out-of-fold outputs (`CrossFit`)
        # the fused linear half's settings a resumed run started with (`_started_linear`)
        self.linear_options: dict[str, Any] = {}
        # the word tokenizer rules of a resumed checkpoint (None: the vectors' own), and
        # those a cross-fit fold takes from its run (`crossfit`), as it has no checkpoint
        self.resumed_rules: int | None = None
        # the resumed `last/` checkpoint's model.json, read once by `setup_model` (None: none)
        self.resumed_meta: dict[str, Any] | None = None
        self.fold_rules: int | None = None
        # likewise whether its jieba dictionary's words are converted as the texts are
        # (`saved_user_dict_normalized`; None: the run's own choice), and a fold's from its run
        self.resumed_dict_normalized: bool | None = None
        self.fold_dict_normalized: bool | None = None
        # True where a parent run decided the tokenizer and `config` carries its decision (a
        # cross-fit fold, an ensemble member, a tune trial): `choose_tokenizer` keeps it. A
        # resumed run of an earlier release (tokenizer None, trained on regex) gave its new
        # folds and members jieba while its own network read regex words.
        self.inherits_tokenizer = False
        # an ensemble member's place among the networks sharing the epoch cap (its log says)
        self.budget_share: BudgetShare | None = None
        # called once before the first step of a run that trains (not a finished one only
        # scored again): a resumed ensemble records its changed settings then
        self.before_training: Callable[[], None] | None = None
        if config.fuse_linear and self.dist.enabled:
            raise ConfigError("fuse_linear runs in one process (not distributed)")
        printer = log or print
        self.log: Callable[[str], None] = printer if self.dist.is_main else _quiet
        self.on_step = on_step
        self.on_epoch_end = on_epoch_end
        self._kept: dict[str, dict[str, torch.Tensor]] = {}  # checkpoints without files
        self.metrics: dict[str, Any] = {}
        self.test_metrics: Any = None
        self.cut_row: dict[str, Any] | None = None  # the epoch max_steps cut (`Trainer`)
        self.regression = config.task is Task.REGRESSION

    # -- setup ---------------------------------------------------------------------------
    def setup_data(self) -> None:
        """Splits, the label list (from the training set) and every row's label id."""
        if self.preread is None:
            self.splits = prepare_splits(self.config, self.log)
        else:  # the same splits: `prepare_splits` is `read_splits` then `carve_valid`
            self.splits = self.preread.carve(self.config, self.config.seed, self.log)
        self.set_targets()

    def set_targets(self) -> None:
        """The labels and every row's target (label id, or number) of `self.splits`."""
        from vecgraft.finetune.data import LabelMap
        from vecgraft.finetune.labels import UnseenLabels, control_labels, lookalike_labels

        self.labels: list[str] = [VALUE_LABEL]
        self.class_weights: list[float] | None = None  # `class_weight`, per label id
        self.targets: dict[str, list[Any]] = {}
        self.unseen = UnseenLabels()  # test labels the training data lacks
        if self.regression:
            self.targets = {name: numeric_targets(self._split(name)) for name in SPLITS}
            self.sizes = {name: len(y) for name, y in self.targets.items()}
            self.log(
                f"Data: {self.sizes['train']} train, {self.sizes['valid']} valid, "
                f"{self.sizes['test']} test; numeric labels (regression)"
            )
            warning = target_warning(self.splits.train.labels, self.targets["train"])
            if warning is not None:
                self.log(warning)
            return
        labels = sorted(set(self.splits.train.labels))
        if len(labels) < 2:
            raise DataError(f"{self.splits.train.source}: need at least 2 labels, found {labels}")
        self.labels = labels
        for group, how in lookalike_labels(labels):
            self.log(f"WARNING: labels {', '.join(map(repr, group))} are different classes but "
                     f"{how}; if they are one class, write them alike in "
                     f"{self.splits.train.source}")  # fmt: skip
        held = control_labels(labels, self.splits.train.source)  # "line\nbreak": said once
        if held is not None:
            self.log(held)
        label_map = LabelMap(labels)
        test = self._split("test")
        self.targets = {
            "train": label_map.encode_rows(self.splits.train),
            "valid": label_map.encode_rows(self._split("valid"), why=VALID_LABELS),
        }
        # a test label the training data lacks stays, scored as an error (ids after the
        # model's classes); dropping its rows would inflate every score
        self.targets["test"], self.unseen = label_map.encode_scored(test.labels)
        self.unseen.check_some_seen(test.source, len(test), label_map.labels)  # before training
        self.sizes = {name: len(self.targets[name]) for name in SPLITS}
        self.log(
            f"Data: {self.sizes['train']} train, {self.sizes['valid']} valid, "
            f"{self.sizes['test']} test; {len(labels)} labels"
        )
        hint = numeric_classes_hint(labels)
        if hint is not None:
            self.log(hint)
        if self.unseen:
            self.log(self.unseen.warning(test.source, len(test)))
        self._set_class_weights()

    def _set_class_weights(self) -> None:
        """`class_weights` of the training part's labels (`class_weight`), logged.

        A mapping's label this part lacks is said and unused (the training file as read
        has it: `check_mapping_labels`).
        """
        from vecgraft.finetune.class_weight import (
            class_weight_vector,
            describe_class_weights,
            unused_mapping_labels,
        )

        setting = self.config.class_weight
        note = unused_mapping_labels(setting, self.labels)
        if note is not None:
            self.log(note)
        self.class_weights = class_weight_vector(setting, self.labels, self.targets["train"])
        if self.class_weights is not None:
            self.log(describe_class_weights(setting, self.labels, self.class_weights))

    def scored_labels(self, name: str) -> list[str]:
        """The labels split `name` is scored over: the model's, then (test) those it lacks."""
        return self.labels + self.unseen.labels if name == "test" else list(self.labels)

    def setup_model(self) -> None:
        """The family of `config.model` builds the model; every split is encoded for it."""
        meta = self._resumed_meta()
        self.resumed_meta = meta  # `_resume` loads the checkpoint with it: read once
        saved = _saved_tokenizer(meta)
        if meta is None:  # a resumed checkpoint keeps the tokenizer it was trained with
            self.choose_tokenizer()
        rules = self.fold_rules if saved is None else _checked_rules(saved, self.out)
        self.resumed_rules = rules
        converted = self.fold_dict_normalized if saved is None else _dict_normalized(saved)
        self.resumed_dict_normalized = converted
        inputs = ModelInputs(
            self.config, list(self.splits.train.texts), len(self.labels), self.vectors, self.log,
            train_targets=list(self.targets["train"]) if self.regression else None,
            labels=None if self.regression else list(self.labels), rules=rules,
            user_dict_normalized=converted,
        )  # regression: one output (labels == [VALUE_LABEL])
        self.linear_options = self._started_linear(meta, saved)
        self.built: ModelSetup = self.build_model(inputs)
        if self.linear_options:  # its checkpoints keep them for a later resume
            self.built.meta[LINEAR_STARTED] = dict(self.linear_options)
        self.data: dict[str, EncodedData] = {
            name: self.built.encode(self._split(name).texts, self.targets[name]) for name in SPLITS
        }
        self._note_empty_texts()
        self.model: nn.Module = self.built.model.to(self.device)
        self.untrained = self._untrained_rows()

    def choose_tokenizer(self) -> None:
        """Segment with jieba where no tokenizer is named or recorded and the texts are Chinese.

        Into `self.config` (`auto_tokenizer`), before the model is built, so that the
        network, the fused linear half and config.json all take it. Not where the recipe
        `inherits_tokenizer`: its parent decided once, for all its networks.
        """
        if self.inherits_tokenizer:
            return
        self.config = auto_tokenizer(self.config, self.vectors, self.splits.train.texts, self.log)

    def _resumed_meta(self) -> dict[str, Any] | None:
        """The model.json of the `last/` checkpoint a resume continues; None when none."""
        from vecgraft.finetune.checkpoint import MODEL_META, read_json, resolve_checkpoint

        out = self.out
        if not self.config.resume or out is None:
            return None
        if not ((out / "last").exists() or old_twin(out / "last").exists()):
            return None
        saved = read_json(resolve_checkpoint(out / "last") / MODEL_META)
        return saved if isinstance(saved, dict) else None

    def _started_linear(
        self, meta: dict[str, Any] | None, tokenizer: dict[str, Any] | None
    ) -> dict[str, Any]:
        """The fused linear half's `nfc`/`word_marks` a resumed run started with; else {}.

        `meta`: the resumed checkpoint's model.json (`_resumed_meta`), `tokenizer` its word
        tokenizer config; None when not resuming one. An earlier resume recorded them
        (`LINEAR_STARTED`): its checkpoints record `rules`, so the inference below no longer
        can. A tokenizer that records no `rules` was written before both options (`rules` 1
        alone does not say so: today's run over vectors pretrained before rules 2 records it).
        """
        from vecgraft.finetune.fusion import started_linear_options

        if tokenizer is None or self.out is None or meta is None:
            return {}
        if LINEAR_STARTED in meta:
            return _recorded_linear(meta[LINEAR_STARTED], self.out)
        before = "rules" not in tokenizer and "char_marks" not in tokenizer
        return started_linear_options(self.out, before)

    def _note_empty_texts(self) -> None:
        """Say how many training and test texts the word tokenizer leaves without a token."""
        from vecgraft.finetune.families import empty_texts_line

        if self.built.tokenizer is None:  # a family with its own (subword) tokenizer
            return
        for name, which in (("train", "training"), ("test", "test")):
            line = empty_texts_line(which, self._split(name).texts, self.data[name].ids,
                                    self.built.tokenizer, self.config.stopwords)  # fmt: skip
            if line is not None:
                self.log(line)

    def _untrained_rows(self) -> Any:
        """`UntrainedRows` of the model's embedding where `project_untrained` asks, else None.

        The rows fitted on are the pretrained words of the encoded training texts; every
        other pretrained row is moved by the map.
        """
        report = self.built.alignment
        if not self.config.project_untrained or report is None:
            return None
        from vecgraft.nn.embedding import UntrainedRows

        pretrained = [i for i, rule in enumerate(report.rules)
                      if rule not in ("init", "unk", "pad")]  # fmt: skip
        trained = {i for row in self.data["train"].ids for i in row}
        embedding = self.model.embedding
        assert isinstance(embedding, nn.Embedding)  # the trainer's requirement too
        rows = UntrainedRows(embedding, pretrained, trained)
        self.log(f"Untrained pretrained rows: {len(rows.move_ids):,} move with the "
                 f"{len(rows.fit_ids):,} trained ones (project_untrained)")  # fmt: skip
        return rows if rows.active else None

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
            prepare_weights=self.untrained,
            budget_share=self.budget_share,
            saves_interrupted=self._saves_interrupted,
            class_weights=self.class_weights,
        )
        self._resume(trainer)
        if not trainer.state.finished and self.before_training is not None:
            self.before_training()
        self._record_overrides(trainer.state)
        self._selected = trainer.selects
        self.state = trainer.fit()
        self.cut_row = trainer.cut_row
        self.dist.barrier()
        return self.state

    def prepare_folder(self) -> None:
        """Claim the run folder (rank 0): old run's own files out, manifest and notes in."""
        if self.folder is not None and self.dist.is_main:
            self.folder.environment = environment(self.device)
            self.folder.claim(overwrite=self.overwrite, resume=self.config.resume)
            self._write_data_notes()
        self.dist.barrier()

    def _file(self, name: str) -> Path:
        """Where to write `name` in the run folder (listed in its manifest first)."""
        if self.folder is None:
            raise ConfigError("this recipe writes no files (write_files=False)")
        return self.folder.record(name)

    def _keep_saved_options(self, meta: dict[str, Any]) -> None:
        """A resumed run keeps the options its weights were trained under (`restored_options`).

        Why: a fastText run started before `bigram_hash` was recorded trained its bigram table
        on the legacy rows; the default now is another hash, which would read that table at
        rows it never trained.
        """
        from vecgraft.nn.models import FastTextClassifier, restored_options

        saved = meta.get("model_config")
        if not isinstance(self.model, FastTextClassifier) or not isinstance(saved, dict):
            return
        scheme = restored_options(self.model.kind, saved)["bigram_hash"]
        if scheme != self.model.config["bigram_hash"]:
            self.model.use_bigram_hash(scheme)
            self.built.meta["model_config"]["bigram_hash"] = self.model.config["bigram_hash"]
            self.log(f"Resuming with bigram_hash {scheme!r}, the hash this run's bigram table "
                     "was trained with")  # fmt: skip

    def _resume(self, trainer: Trainer) -> None:
        """Continue from `last/` when resuming a run that saved one."""
        out = self.out
        if not self.config.resume or out is None:
            return
        if not ((out / "last").exists() or old_twin(out / "last").exists()):
            return
        ckpt = load_checkpoint(out / "last", model_meta=self.resumed_meta,
                               remedy=resume_remedy(out))  # fmt: skip
        if ckpt.vocab.tokens != self.built.vocab.tokens or ckpt.labels != self.labels:
            raise CheckpointError(f"{ckpt.path}: the data changed since this run started")
        ckpt.load_weights(self.model)
        self._keep_saved_options(ckpt.model_meta)
        if ckpt.state is None:
            raise CheckpointError(f"{ckpt.path}: no state.json; cannot resume")
        source = str(ckpt.path / TRAINER_FILE)
        trainer.restore(ckpt.state, ckpt.trainer_state(), source=source)
        self._earlier_seconds = trainer.state.run_seconds  # 0 from an older checkpoint
        st, saved = trainer.state, self._saved_max_steps()
        if trainer.reopen(saved):
            self.log(
                f"Resuming {out} at epoch {st.epoch + 1}, step {st.global_step}: training had "
                f"finished at max_steps {st.global_step} and goes on to max_steps "
                f"{self.config.max_steps}; {self._rebuilt(trainer)}"
            )
            return
        if trainer.state.finished:  # "Resuming at epoch 16" of a finished run misled
            cap = self.config.max_steps
            # a smaller --max-steps cannot untrain it: said, not silently dropped
            below = cap is not None and cap < st.global_step
            self.log(f"{out}: training had finished (epoch {st.epoch}, step {st.global_step}); "
                     + (f"max_steps {cap} is below the {st.global_step} steps already trained "
                        "and has no effect; " if below else "")
                     + "scoring its kept weights again")  # fmt: skip
            return
        resuming = f"Resuming {out} at epoch {st.epoch + 1}, step {st.global_step}"
        started = planned_steps(trainer.steps_per_epoch, trainer.epochs, saved)
        if started == trainer.total_steps or not (out / "config.json").is_file():
            self.log(resuming)
            return
        # a stopped run resumed with another --max-steps: its schedule's length changed
        trainer.restart_schedule()
        self.log(f"{resuming}: it started with max_steps {saved}; {self._rebuilt(trainer)}")

    def _rebuilt(self, trainer: Trainer) -> str:
        """What a resume with a changed max_steps does to the learning rate (`_resume`)."""
        cap = self.config.max_steps
        return (
            f"the learning-rate schedule is rebuilt for {trainer.total_steps} steps (as a run "
            f"started with {'no max_steps' if cap is None else f'max_steps {cap}'}), from its "
            f"rate at step {trainer.state.global_step}"
        )

    def _record_overrides(self, state: TrainState) -> None:
        """A resume that trains on: its changed settings into config.json (`record_overrides`).

        After the resume's checks (data, checkpoint), before the first step. Not for a
        finished run that is only scored again: its cap did not apply (a smaller max_steps
        would misstate the steps it trained).
        """
        if not self.config.resume or self.out is None or not self.dist.is_main:
            return
        if state.finished or self.folder is None:
            return
        said = record_overrides(self._file("config.json"), self.config, self._saved_file)
        if said is not None:
            self.log(said)

    def _saved_max_steps(self) -> int | None:
        """The `max_steps` the run was started with (its config.json; None: none or no file).

        A resume's own `max_steps` replaces it in `self.config`; the saved one tells whether
        that cap is what finished the run (`Trainer.reopen`).
        """
        data = self._saved_file
        if data is None:
            return None
        file = self.out / "config.json" if self.out is not None else "config.json"
        return FinetuneConfig.from_file_data(data, file, saved_run=True).max_steps

    @functools.cached_property
    def _saved_file(self) -> dict[str, Any] | None:
        """The resumed run's config.json as read once (None: no run folder or no file).

        Why: `_saved_max_steps` and `_record_overrides` read it one after the other.
        """
        file = None if self.out is None else self.out / "config.json"
        return read_config_file(file) if file is not None and file.is_file() else None

    def _saves_interrupted(self) -> bool:
        """Whether a Ctrl-C now saves `last/` to resume from (`Trainer.fit` asks).

        Not while this run holds the run it replaces aside (`overwrite`, before its first
        checkpoint): a failure then puts that run back (`run`), and so does a Ctrl-C, as
        before the first step. Its checkpoint counted as the first: a Ctrl-C 2 s into an
        --overwrite of a finished run removed that run for 57 steps of the new one.
        """
        return self._checkpointed or self.folder is None or not self.folder.replacing

    def _save_checkpoint(
        self, name: str, model: nn.Module, state: dict[str, Any], trainer: dict[str, Any] | None
    ) -> None:
        """The trainer's `save`: a checkpoint folder, or a copy of the weights in memory.

        The state saved holds the run's seconds so far (`run_seconds`), which a resume
        goes on from.
        """
        self._checkpointed = True
        state = {**state, "run_seconds": self.run_seconds()}
        if self.out is None:
            self._kept[name] = {k: v.detach().clone() for k, v in model.state_dict().items()}
            return
        save_checkpoint(
            self._file(name),
            model=model,
            model_meta=self.built.meta,
            vocab=self.built.vocab,
            labels=self.labels,
            state=state,
            trainer_state=trainer,
            extra_files=self.built.save_files,
        )
        if self.folder is not None:  # resumable now: the run --overwrite set aside goes
            self.folder.discard_replaced()

    def run_seconds(self) -> float:
        """Seconds the run has taken: this session's, plus its earlier sessions' (a resume's).

        Each session counts from its start (data read, model built) to now; what a stopped
        session spent after its last checkpoint is not known, so not counted.
        """
        return self._earlier_seconds + time.perf_counter() - self.started

    def load_best(self) -> None:
        """Put the best epoch's weights into `self.model`."""
        if self.out is None:
            self.model.load_state_dict(self._kept["best"])
        else:
            load_checkpoint(self.out / "best").load_weights(self.model)

    # -- evaluation ----------------------------------------------------------------------
    def score_split(self, name: str) -> Any:
        """Loss and confusion counts (regression: MSE and predictions) on split `name`.

        In float32 even where training used bf16 autocast: `load_run` and `vecgraft
        evaluate` predict in float32, and the scores in `metrics.json` must be the ones they
        reproduce.
        """
        from vecgraft.finetune.scoring import evaluate_regression

        if self.regression:
            return evaluate_regression(
                self.model, self.data[name], device=self.device, bf16=False, dist=self.dist
            )
        return evaluate_model(
            self.model, self.data[name], len(self.labels), device=self.device, bf16=False,
            dist=self.dist, num_labels=len(self.scored_labels(name)),
        )  # fmt: skip

    def score(self) -> float:
        """Set up, train, and return the best epoch's validation `config.metric`.

        For a search loop: the test set is not scored and (with `write_files=False`) nothing
        is written. Higher is better except for `loss`.
        """
        self.setup_data()
        if not self.sizes["valid"]:
            raise ConfigError("scoring on validation data needs a validation split "
                              "(valid_fraction > 0 or a valid file)")
        self.setup_model()
        self.train()
        self.load_best()
        return self.score_split("valid").metric(self.config.metric)

    def evaluate(self) -> dict[str, Any]:
        """Best weights scored on the validation and test sets; the `metrics.json` content."""
        self.load_best()
        state = self.state
        if state.best_epoch is not None and state.best_epoch != state.epoch:
            why = " (early stopping)" if state.stopped_early else ""
            self.log(
                f"Training ended after epoch {state.epoch}{why}; the best epoch's weights "
                f"(epoch {state.best_epoch}) are restored for testing"
            )
        fusion: dict[str, Any] | None = None
        if self._fuses():
            test, valid, fusion = self._fuse()
        else:
            test = self.score_split("test")
            # no validation split (valid_fraction 0): metrics.json's "valid" is null
            valid = self.score_split("valid") if self.sizes["valid"] else None
        blocks: dict[str, Any]
        if self.regression:
            train_range = TargetRange.of(self.targets["train"])  # rounded_accuracy's clip
            self.test_metrics = RegressionReport(test.scores(train_range))
            blocks = {
                "test": test.scores(train_range), "valid": valid and valid.scores(train_range)
            }
        else:
            self.test_metrics = _classification(test, self.scored_labels("test"), self.labels)
            blocks = {
                "test": _metrics_dict(self.test_metrics, test),
                "valid": valid and _metrics_dict(_classification(valid, self.labels), valid),
            }
        metrics: dict[str, Any] = {
            **blocks,
            "best_epoch": self._tested_epoch(),
            "epochs_run": self._epochs_run(),
            "stopped_early": state.stopped_early,
            "sizes": self.sizes,
            "labels": self.labels,
            "duplicates": {
                k: self.splits.notes["duplicates"][k]
                for k in ("count", "label_conflicts", "removed")
            },
            "world_size": self.dist.world_size,
            "seconds": self.run_seconds(),
        }
        if "valid_duplicates" in self.splits.notes:  # test texts also in the --valid file
            seen = self.splits.notes["valid_duplicates"]
            metrics["valid_duplicates"] = {
                k: seen[k] for k in ("count", "label_conflicts", "removed")
            }
        if self.regression:
            metrics["task"] = "regression"
            metrics["regression"] = {name: dict(b) for name, b in blocks.items() if b is not None}
            metrics["mean_baseline"] = mean_baseline(self.targets["train"], self.targets["test"])
            metrics["train_range"] = train_range.to_dict()  # what `evaluate` clips to
        else:  # the floor every classifier must clear
            metrics["task"] = "classification"
            metrics["majority_baseline"] = majority_baseline(
                self.targets["train"], self.targets["test"], self.labels, self._judges_f1
            )
            if self.unseen:  # the test rows scored as errors, whatever the model
                metrics["unseen_labels"] = self.unseen.to_dict()
        if fusion is not None:
            metrics["fusion"] = fusion
        report = self.built.alignment
        if report is not None:  # of the training texts: words `extend_vocab` added left out
            metrics["coverage"] = {
                "type_coverage": text_type_coverage(report, self.built.vocab),
                "token_coverage": report.token_coverage,
                # with fastText's subwords: which share the vectors' own words cover, and
                # which share is built from n-grams no trained word has (noise)
                **text_subword_coverage(report, self.built.vocab),
                "added_words": int(self.built.vocab.metadata.get("extended_from_vectors", 0)),
            }
        self.metrics = metrics
        return metrics

    @property
    def _judges_f1(self) -> bool:
        """Whether the run's metric is macro_f1: its floors and fusion then say macro F1 too."""
        return not self.regression and self.config.metric == Metric.MACRO_F1

    def _fuses(self) -> bool:
        """Whether this run fuses with the linear model: asked for, or by default where it can.

        The default (`fuse_linear=None`) fuses every single-process run of an embedding
        model (classification or regression) with validation rows and not too many labels
        for its size (`fusion.too_large_to_fuse`); it says so when only the data or the
        process count stands in the way, since that is not the user's choice of model. Fewer than
        `min_valid` rows still fuse: on 5 % of BBC News and of ChnSentiCorp
        (benchmarks/defaults.md, rounds 10-11) a weight chosen on 8-26 rows tied the network
        alone and gained a point over it, where the network alone lost to the linear model.
        """
        wanted = self.config.fuse_linear
        if wanted is not None:
            return wanted
        blocker = self.config.fusion_blocker()
        if blocker is not None:
            if self.config.word_embedding_model:  # the data's doing, not the model's: say so
                self.log(f"Not fused with the TF-IDF linear model: fusion {blocker} "
                         "(fuse_linear default)")  # fmt: skip
            return False
        from vecgraft.finetune import fusion as fu

        why = None
        # a fixed or cross-fitted weight needs no validation rows
        chooses = not self.config.fusion_fixed and not self.config.fuse_folds
        if self.dist.enabled:
            why = "a distributed run"
        elif chooses and not self.sizes["valid"]:
            why = "no validation rows to choose its weight on"
        else:  # one coefficient row per label over ~10^5-10^6 n-gram features
            texts = [*self._split("train").texts, *self._split("valid").texts]
            settings = fu.linear_settings(self._linear_tokenizer(), self.regression)
            why = fu.too_large_to_fuse(len(self.labels), texts, settings.max_rows,
                                       settings.max_chars)  # fmt: skip
        if why:
            self.log(f"Not fused with the TF-IDF linear model: {why} (fuse_linear default)")
        return why is None

    def _proba(self, name: str) -> Any:
        """The network's class probabilities [N, C] on split `name`, in row order."""
        return class_probabilities(
            self.model, self.data[name], len(self.labels), device=self.device,
            batch_size=self.config.batch_size,
        ).numpy()  # fmt: skip

    def _linear_tokenizer(self) -> dict[str, Any]:
        """The network's tokenizer config: the fused linear model segments as it does."""
        return dict(self.built.meta.get("tokenizer") or {})

    def _values(self, name: str) -> Any:
        """The network's predicted numbers [N] on split `name` (a regression), in row order."""
        import numpy as np

        return np.asarray(self.score_split(name).y_pred, dtype=np.float32)

    def _network_outputs(self, name: str) -> Any:
        """What the network fuses on split `name`: numbers (regression) or probabilities."""
        return self._values(name) if self.regression else self._proba(name)

    def _linear_outputs(self, model: Any, texts: Any) -> Any:
        """The linear model's counterpart of `_network_outputs` for `texts`."""
        from vecgraft.finetune import fusion as fu

        if self.regression:
            return fu.linear_values(model, texts)
        return fu.linear_proba(model, texts, len(self.labels))

    def _valid_outputs(self) -> tuple[Any, Any] | None:
        """(network, linear) outputs on the validation rows, None without any.

        The linear model is fitted on the training split only, so that the validation rows
        judge both models as unseen data.
        """
        if not len(self._split("valid").texts):
            return None
        return self._valid_pair(self._held_out_linear())

    def _held_out_linear(self) -> Any:
        """The linear model of the fusion fitted on the training split alone."""
        from vecgraft.finetune import fusion as fu

        train = self._split("train")
        return fu.fit_linear(
            train.texts, self.targets["train"], self._linear_tokenizer(), self.regression,
            self.linear_class_weight(), self.linear_options, self.linear_progress(),
        )  # fmt: skip

    def linear_progress(self) -> Any:
        """Where a linear fit says how far it got: the run's log (`FitProgress`).

        Its stages once it has run long, and a line every `PROGRESS_NOTE_SECONDS` as an
        epoch says one (a fused fit of 200k texts was minutes of silence after the
        network's lines); `--no-progress` (progress False) drops the heartbeat.
        """
        from vecgraft.finetune.linear import FitProgress

        return FitProgress(self.log, heartbeat=self.config.progress is not False)

    def linear_class_weight(self) -> Any:
        """`class_weight` as the fused linear half's scikit-learn fit takes it (ids as str)."""
        from vecgraft.finetune.class_weight import sklearn_class_weight

        ids = [str(i) for i in range(len(self.labels))]
        return sklearn_class_weight(self.config.class_weight, self.labels, ids)

    def _valid_pair(self, held_out: Any) -> tuple[Any, Any]:
        """(network, linear) outputs on the validation rows; `held_out` saw train only."""
        texts = self._split("valid").texts
        return self._network_outputs("valid"), self._linear_outputs(held_out, texts)

    def fusion_outputs(self) -> tuple[Any, Any, Any] | None:
        """(network, linear, gold) on the validation rows, after `score()`, where it chooses.

        Class probabilities, or a regression's numbers. None when this run would not fuse
        (`fuse_linear`, the model) or has no validation rows. For a search: `vecgraft
        tune`'s trials tune the network, and the chosen trial's rows fix the fusion of the
        final model, which is retrained without validation rows to fit it on (or, with
        `fuse_weight` / `fuse_pool` given, judge the trial at that fusion).
        """
        if not self._fuses():
            return None
        outputs = self._valid_outputs()
        return None if outputs is None else (*outputs, self.targets["valid"])

    def _fusion_choice(self, valid: tuple[Any, Any] | None) -> tuple[Choice, str, list[float]]:
        """How the two models combine, (share, pool) with one of them None; how; shares tried.

        Fixed by `fuse_weight` or `fuse_pool`; else fitted on the cross-fitted outputs
        (`fuse_folds`) or on the validation outputs `valid`: the log-linear pool (`pools`),
        or the best of `fusion.WEIGHTS` (accuracy, or the least squared error for a
        regression); else the equal mix.
        """
        from vecgraft.finetune import fusion as fu

        fixed = self.config.fuse_weight
        if fixed is not None:
            return (fixed, None), "fixed by fuse_weight", [fixed]
        if self.config.fuse_pool is not None:
            return (None, self.config.fuse_pool), "fixed by fuse_pool", []
        if self.config.fuse_folds:
            from vecgraft.finetune.crossfit import cross_fit

            fit = cross_fit(self, self.log)
            self.crossfit = fit
            judged, gold = (fit.network, fit.linear), fit.gold
            where = f"by {fit.folds}-fold cross-fitting on {len(gold)} rows"
        elif valid is None:  # fuse_linear=True on data too small to leave a validation row
            return (0.5, None), "the equal mix: no validation rows to choose it on", [0.5]
        else:
            judged, gold = valid, self.targets["valid"]
            where = f"on {len(gold)} validation rows"
        if self.pools(len(gold)):
            pool = fu.fit_pool(*judged, gold, self.class_weights)
            return (None, pool), f"fitted {where}{self._weighted()}", []
        share = self._best_weight(judged, gold)
        return (share, None), f"chosen {where}{self._weighted()}", list(fu.WEIGHTS)

    def _weighted(self) -> str:
        """How a fusion's fit weighs its rows, where `class_weight` weighs them."""
        return "" if self.class_weights is None else ", weighted by class_weight"

    def pools(self, rows: int) -> bool:
        """Whether the fusion is a log-linear pool rather than a share of a mean.

        A classifier, `fuse_rule` "pool", and at least `min_valid` rows to fit its two
        weights on; fewer choose a share, as every fusion did before round 26.
        """
        pooled = self.config.fuse_rule == "pool" and rows >= self.config.min_valid
        return pooled and not self.regression

    def _best_weight(self, outputs: tuple[Any, Any], gold: Any) -> float:
        """The `fusion.WEIGHTS` entry that scores (network, linear) `outputs` best on `gold`.

        Accuracy, or the least squared error for a regression; ties go to the equal mix.
        """
        from vecgraft.finetune import fusion as fu

        if self.regression:
            return fu.least_error_weight(fu.weight_errors(*outputs, gold))
        return fu.choose_weight(*outputs, gold, self.class_weights)

    def _fuse(self) -> tuple[Any, Any, dict[str, Any]]:
        """Fit the linear model on the training split; weight it with the network on valid.

        The weight is chosen (or, when fixed by `fuse_weight` or `fuse_pool`, scored) with a
        linear model that has not seen the validation rows; the saved one is then refitted on
        train + valid, as `--model linear` does (the network keeps its early-stopped weights).
        With `fuse_folds` the weight is chosen on cross-fitted rows instead, whose scores
        are kept as a "crossfit" entry beside "valid" and "test".
        Returns the fused (test, valid) results and the `metrics.json` "fusion" block, which
        keeps each model's own score too (accuracy; RMSE for a regression).
        """
        from vecgraft.finetune import fusion as fu

        n = len(self.labels)
        kind = self._linear_tokenizer()
        train, valid, test = (self._split(name) for name in ("train", "valid", "test"))
        outputs: dict[str, tuple[Any, Any]] = {}
        # the weight is judged with a linear model fitted on train alone; the one kept is
        # refitted on train + valid once it is chosen, as `--model linear` does
        y = [*self.targets["train"], *self.targets["valid"]]
        max_rows = fu.linear_settings(kind, self.regression).max_rows
        self.log(_fit_note(len(train.texts), len(valid.texts), max_rows))  # minutes on 50k texts
        off = [name for name, on in self.linear_options.items() if not on]
        if off:  # a resumed run's, as it started (`_started_linear`)
            self.log(f"Fused linear model: {' and '.join(off)} off, as this run started")
        note = fu.zh_mode_note(kind, fu.linear_settings(kind, self.regression), "it")
        if note:  # the run's "Chinese tokens" line is the network's
            self.log(f"Fused linear model: {note}")
        unused = fu.unused_vocabulary_options(self.config, "fused linear model")
        if unused:
            self.log(unused)
        if len(valid.texts):
            held_out, linear = fu.fit_linear_nested(
                train.texts, valid.texts, y, kind, self.regression, self.linear_class_weight(),
                self.linear_options, self.linear_progress(),
            )
            outputs["valid"] = self._valid_pair(held_out)
        else:
            linear = fu.fit_linear(train.texts, y, kind, self.regression,
                                   self.linear_class_weight(), self.linear_options,
                                   self.linear_progress())  # fmt: skip
        (weight, pool), how, tried = self._fusion_choice(outputs.get("valid"))
        self.fusion = fu.Fusion(linear, weight, n, pool)
        outputs["test"] = (self._network_outputs("test"), self._linear_outputs(linear, test.texts))
        gold = {name: self.targets[name] for name in outputs}
        if self.crossfit is not None:  # scored like a split: every row predicted unseen
            outputs["crossfit"] = (self.crossfit.network, self.crossfit.linear)
            gold["crossfit"] = self.crossfit.gold
        results: dict[str, Any] = {}
        scores: dict[str, dict[str, float]] = {}
        f1: dict[str, dict[str, float]] = {}  # where the run's metric is macro_f1
        for name, (neural, lin) in outputs.items():
            parts = {"network": neural, "linear": lin, "fused": self.fusion.combine(neural, lin)}
            size = len(self.scored_labels(name))  # with the test labels the model lacks
            each = {part: fu.fused_result(out, gold[name], size, self.regression)
                    for part, out in parts.items()}  # fmt: skip
            results[name] = each["fused"]
            scores[name] = {part: fu.result_score(result) for part, result in each.items()}
            if self._judges_f1:
                f1[name] = {part: result.macro_f1 for part, result in each.items()
                            if isinstance(result, EvalResult)}  # fmt: skip
        key = "rmse" if self.regression else "accuracy"
        judged = "crossfit" if self.crossfit is not None else "valid"
        said = fu.describe_scores(scores.get(judged), key, judged)
        if f1 and judged in f1:
            said += f"; {fu.describe_scores(f1[judged], 'macro_f1', judged)}"
        self.log(f"Fused with the TF-IDF linear model: {fu.describe_fusion(self.fusion)}, {how} "
                 f"({said})")  # fmt: skip
        info: dict[str, Any] = {"weight": self.fusion.weight, "weight_rule": how,
                                "weights_tried": tried, key: scores}  # fmt: skip
        if f1:
            info["macro_f1"] = f1
        if self.fusion.pool is not None:
            info["pool"] = self.fusion.pool_record
        return results["test"], results.get("valid"), info

    # -- files ---------------------------------------------------------------------------
    def save(self) -> None:
        """metrics.json, report.txt, history.json and plots (rank 0), then the summary."""
        summary = self._summary_lines()
        if self.out is not None and self.dist.is_main:
            if self.fusion is not None:
                from vecgraft.finetune.fusion import FUSION_DIR

                self.fusion.save(self._file(FUSION_DIR), self.metrics["fusion"])
            atomic_write_json(self._file("metrics.json"), self.metrics, finite=True)
            self._write_reports(summary)
            if self.folder is not None:  # a run with no checkpoint (--model linear) ends
                self.folder.discard_replaced()  # here: the run --overwrite set aside goes
        for line in summary:
            self.log(line)
        self.log(self.test_metrics.format_table())
        if self.out is not None:
            self.log(f"Run folder: {self.out}")

    def _write_data_notes(self) -> None:
        """config.json (new runs), splits.json (which rows went where), alignment report.

        Written only once data, vocabulary and model are ready, so bad input fails before
        anything lands in the run folder.
        """
        from vecgraft.finetune.rundir import data_changed, data_inputs

        if self.config.resume:  # a resumed run reads the data files it started on
            changed = data_changed(Path(self.config.out), self.config)
            if changed:
                # a large file is not hashed whole: moved or chmod-ed unchanged, it counts
                same = ("; if that file holds the same content, delete its entry under "
                        f"\"inputs\" in {Path(self.config.out) / 'splits.json'} to resume"
                        if any("not hashed whole" in line for line in changed) else "")  # fmt: skip
                raise DataError(
                    f"{self.out}: the data changed since this run started: "
                    f"{'; '.join(changed)}; start a new run (--overwrite, or another --out)"
                    f"{same}"
                )
        else:
            self.config.save(self._file("config.json"))
        splits = {
            name: {"source": self._split(name).source, "rows": row_sources(self._split(name))}
            for name in SPLITS
        }
        inputs = data_inputs(self.config)
        notes = {**self.splits.notes, "sizes": self.sizes, **splits, "inputs": inputs}
        options = getattr(self.vectors, "options", None)
        if options:  # `--limit 5000`: a resume without it read other rows ("data changed")
            notes["vector_options"] = dict(options)
        atomic_write_json(self._file("splits.json"), notes)
        report = self.built.alignment
        if report is not None:
            report.save(self._file("alignment.json"))
            atomic_write_text(self._file("alignment.txt"), self._alignment_text(report))

    def _alignment_text(self, report: Any) -> str:
        """alignment.txt: the table, then the training texts' own coverage where words were added.

        The table counts the vocabulary, the vectors' added words too (all covered): 99.96 %
        of 101,540 words read as the texts' coverage, which the log gave as 97.5 %.
        """
        text = report.format_table() + "\n"
        added = int(self.built.vocab.metadata.get("extended_from_vectors", 0))
        if added:
            types = text_type_coverage(report, self.built.vocab)
            split = text_subword_coverage(report, self.built.vocab)
            by = ""
            if split["type_subword_share"]:
                by = (f", {split['type_coverage_words']:.1%} by the vectors' words and "
                      f"{split['type_subword_share']:.1%} from subwords "
                      f"({split['type_subword_untrained_share']:.1%} from n-grams no trained word "
                      "has: noise)")  # fmt: skip
            text += (f"The training texts' word types: {types:.1%} have a vector{by} (the "
                     f"{added:,} words added from the vectors left out)\n")  # fmt: skip
        return text

    @property
    def history(self) -> list[dict[str, Any]]:
        """One row per epoch trained in: the finished ones, then the one `max_steps` cut."""
        return [*self.state.history, *([self.cut_row] if self.cut_row is not None else [])]

    def _epochs_run(self) -> float:
        """Epochs trained: whole, or with the fraction of the one `max_steps` cut.

        `--max-steps` inside epoch 1 said 0 of steps that were trained and tested; 5 steps of
        4 per epoch are 1.25 (the history's last row says which steps of which epoch).
        """
        cut = self.cut_row
        if cut is None:
            return self.state.epoch
        return self.state.epoch + cut["steps"] / cut["steps_per_epoch"]

    def _tested_epoch(self) -> int | None:
        """metrics.json's `best_epoch`: the chosen epoch, or the last of a run that chose none.

        A run that chose none keeps the weights it stopped with: where `max_steps` cut epoch
        4 those are epoch 4's, as its test line says ("last epoch 4, cut at step 30"), not
        epoch 3's, the last it finished. So does a run that selects epochs but was cut before
        any epoch ended (fit saves the cut weights when none was chosen): it wrote null.
        Same order as `_kept_epoch`, so metrics.json names the epoch the test line names.
        """
        st = self.state
        if getattr(self, "_selected", True) and st.best_epoch is not None:
            return st.best_epoch
        return st.epoch + 1 if st.step_in_epoch else st.best_epoch

    def _kept_epoch(self) -> str:
        """The test line's note on which weights were scored (a fitted model has no epochs).

        A run that chose no epoch (too few validation rows, `restore_best=False`) keeps its
        last: "best epoch 67" named one no validation score had picked. Weights that
        `max_steps` cut mid-epoch are of the epoch it cut, 1-based as the epoch lines count:
        `--max-steps 1` said "last epoch 0" (or "best epoch None") of one step of epoch 1.
        """
        st = self.state
        if getattr(self, "_selected", True) and st.best_epoch is not None:
            return f", best epoch {st.best_epoch}"
        if st.step_in_epoch:  # stopped inside epoch st.epoch + 1: those are the weights kept
            return f", last epoch {st.epoch + 1}, cut at step {st.global_step} by max_steps"
        return f", last epoch {st.epoch}"

    def _fusion_summary(self) -> str:
        """One line on a fused run's test scores: the mix and each model alone ("" unfused)."""
        fusion = self.metrics.get("fusion")
        if not fusion:
            return ""
        from vecgraft.finetune.fusion import describe_record, format_score

        regression = "rmse" in fusion  # a regression's block keeps RMSE, not accuracy
        key, name, linear = (("rmse", "RMSE", "ridge regression") if regression
                             else ("accuracy", "accuracy", "linear model"))  # fmt: skip
        test = {part: format_score(v, key) for part, v in fusion[key]["test"].items()}
        line = (
            f"Fused ({describe_record(fusion)}; --no-fuse-linear for the network "
            f"alone): test {name} fused {test['fused']}, network alone {test['network']}, "
            f"TF-IDF {linear} alone {test['linear']}"
        )
        f1 = (fusion.get("macro_f1") or {}).get("test")  # where the run's metric is macro_f1
        if f1:
            line += (f"; test macro F1 fused {f1['fused']:.4f}, network alone "
                     f"{f1['network']:.4f}, TF-IDF {linear} alone {f1['linear']:.4f}")  # fmt: skip
        return line

    def _summary_lines(self) -> list[str]:
        """The test score, the fusion's parts, the baselines and a one-label warning.

        The log's closing lines and report.txt's head alike: report.txt had the fusion's
        line only, not the score's epoch nor the majority class to beat.
        """
        heading = f"Test ({self.sizes['test']} texts{self._kept_epoch()})"
        if self.regression:
            lines = [f"{heading}: {self.test_metrics.summary()}"]
        else:
            lines = [f"{heading}: accuracy {100 * self.test_metrics.accuracy:.2f}%, "
                     f"macro F1 {self.test_metrics.macro_f1:.4f}"]  # fmt: skip
        fused = self._fusion_summary()
        lines += [fused] if fused else []
        lines += baseline_lines(self.metrics)
        only = None if self.regression else self.test_metrics.only_prediction()
        if only is not None:
            lines.append(one_label_warning(only))
        return lines

    def _write_reports(self, summary: list[str]) -> None:
        """Text report (`summary`, then the table), history and PNG plots.

        Plots are skipped with a note without matplotlib.
        """
        metrics, history = self.test_metrics, self.history
        head = "\n".join(summary) + "\n\n"
        atomic_write_text(self._file("report.txt"), head + metrics.format_table() + "\n")
        atomic_write_json(self._file("history.json"), history, finite=True)
        if not self.config.plots:
            return
        try:
            from vecgraft.finetune.plots import confusion_title, plot_confusion, plot_history

            if getattr(metrics, "confusion_cells", False) is None:  # not for 10,000 classes
                title = confusion_title(metrics, "test", self._plotted_model())
                plot_confusion(metrics, self._file("confusion.png"), title=title)
            if history and self.has_epochs:  # plot_history refuses an empty one
                plot_history(history, self._file("history.png"), title=self._curves_title())
        except MissingExtraError as exc:
            print(f"note: plots skipped: {exc}", file=sys.stderr)

    def _plotted_model(self) -> str:
        """The model the test scores are of, for the confusion plot's title."""
        model = str(self.config.model)
        if model == "linear":
            return "TF-IDF linear model"
        return f"{model} fused with the TF-IDF linear model" if self.fusion else f"{model} network"

    def _curves_title(self) -> str:
        """history.png's title: the curves are the network's, before any fusion."""
        if self.fusion:
            return f"{self.config.model} network alone (before fusion with the TF-IDF linear model)"
        return f"{self.config.model} network"

    def run(self) -> RunResult:
        """setup_data, setup_model, prepare_folder, train, evaluate, save.

        A failure before the first checkpoint removes what this run wrote (a checkpoint,
        e.g. from Ctrl-C, is kept so the run can be resumed).
        """
        self.setup_data()
        self.setup_model()
        try:
            self.prepare_folder()
            self.train()
        except BaseException:
            if self.folder is not None and self.dist.is_main and not self._checkpointed:
                self.folder.rollback()
            raise
        self.evaluate()
        self.save()
        return RunResult(self.out, self.metrics, self.history, self.test_metrics)


def _fit_note(
    train: int, valid: int, max_rows: int | None = None, what: str = "to fuse with"
) -> str:
    """The log line said before the linear model is fitted: a silent step otherwise.

    Segmenting, counting n-grams and two SVM fits took 3 minutes on 56k Chinese reviews
    (fused) and `--model linear` 104 s on 20k rows of 1000 labels. Above `max_rows` texts
    it says the fits use a random sample (`LinearConfig.max_rows`). `what` follows "model":
    what the fit is for (fusion) or which model it is (`--model linear`).
    """
    from vecgraft.finetune.linear import fit_rows

    head = f"Fitting the TF-IDF linear model {what}: on"
    total = train + valid
    if fit_rows(total, max_rows) < total:
        sample = (f"{head} a random {max_rows:,} of the {total:,} rows (max_rows: its memory "
                  "grows with the rows)")  # fmt: skip
        if not valid:
            return sample
        return (f"{sample}, their training texts first (judged on all {valid:,} validation "
                f"rows), then all {max_rows:,}")  # fmt: skip
    head = f"{head} the {train:,} training texts"
    if not valid:
        return head
    return f"{head} (judged on the {valid:,} validation rows), then on all {total:,}"


def _quiet(_msg: str) -> None:
    return None


# the one "label" of a regression run (labels.json; column of its single output)
VALUE_LABEL = "value"

# why a validation file may not hold a label the training data lacks (a test file may)
VALID_LABELS = (
    "; a validation row must have a training label: validation rows choose the epoch and the "
    "fusion, and the linear model refits on train + valid, so an unseen class there has no "
    "model output to be scored against and would add one to the refit (move such rows to "
    "the training or test file)"
)


# the largest regression target taken: float32's, as the network trains on float32 targets
# (1e39 there is inf); its square (MSE, RMSE, the mean baseline) stays far inside float64
MAX_TARGET = float(torch.finfo(torch.float32).max)


def _number(label: str) -> float | None:
    """`label` as a float, or None when it is not one as data writes numbers."""
    if "_" in label:  # float() also reads "1_000" (Python's digit grouping) as 1000
        return None
    try:
        return float(label)
    except ValueError:
        return None


# a label such as "1,5": a decimal comma (German, French, ... spreadsheets), not a number
DECIMAL_COMMA = re.compile(r"-?\d+,\d+")


def numeric_targets(data: Any) -> list[float]:
    """The labels of `data` as numbers; a label that is not one is a DataError naming its row.

    So is one beyond `MAX_TARGET`, float32's range: 1e39 was inf to the network (and 1e308
    crashed the mean baseline after the run folder was written), as vector files refuse it.
    """
    out: list[float] = []
    for row, label in enumerate(data.labels):
        value = _number(label)
        if value is not None and math.isfinite(value) and abs(value) <= MAX_TARGET:
            out.append(value)
            continue
        if value is None:
            what = "is not a number (--task regression needs numeric labels)"
            if DECIMAL_COMMA.fullmatch(label.strip()):
                what += f"; it looks like a decimal comma: write {label.strip().replace(',', '.')}"
        elif not math.isfinite(value):  # nan, inf, and 1e400 (past float64: inf)
            what = "is not a finite number (--task regression needs numeric labels)"
        else:  # the wording of vector files' values past float32
            what = "is beyond float32's range (|y| > 3.4e38: --task regression trains in float32)"
        raise DataError(f"{data.where(row)}: label {label!r} {what}")
    return out


# distinct whole-number labels past which numeric classes look like scores (SST-5 has 5)
NUMERIC_CLASSES = 20


def numeric_classes_hint(labels: list[str]) -> str | None:
    """A line suggesting `--task regression` when the class labels look like measurements.

    Every label a finite number, and some with a fraction or more than `NUMERIC_CLASSES` of
    them: 0-100 scores trained as 101 classes scored 1.3 % accuracy, silently.
    """
    values = [_number(label) for label in labels]
    if not all(v is not None and math.isfinite(v) for v in values):
        return None
    fractions = any(v is not None and not v.is_integer() for v in values)
    if not fractions and len(labels) <= NUMERIC_CLASSES:
        return None
    return (
        f"note: every training label is a number ({len(labels)} distinct values), each "
        "trained as a class; to predict numbers, use --task regression"
    )


# |mean| / standard deviation of the targets past which float32 (about 7 significant
# digits) cannot tell them apart: 1.7e9 + 0..129 steps by 128
RESOLVABLE = 1e4


def target_warning(labels: Sequence[str], targets: Sequence[float]) -> str | None:
    """A warning when the training targets leave nothing to learn or float32 cannot hold them."""
    if not targets:
        return None
    mean = math.fsum(targets) / len(targets)
    std = math.sqrt(math.fsum((t - mean) ** 2 for t in targets) / len(targets))
    if all(t == targets[0] for t in targets):
        return f"WARNING: every training label is {labels[0]}: there is nothing to learn"
    if abs(mean) > RESOLVABLE * std:
        return (
            f"WARNING: the targets' mean is {abs(mean) / std:,.0f} times their spread: float32 "
            "cannot resolve them; subtract a constant (e.g. the minimum) from the labels"
        )
    return None


@dataclass
class RegressionReport:
    """A regression's test scores, printed and written like ClassificationMetrics.

    `note` says why a score is missing (`rounded_accuracy` of a run that kept no training
    range); `vecgraft evaluate` prints it, and `mean_baseline` (the run's training mean
    scored on the same rows, as `metrics.json` has it; None where the run kept no mean).
    """

    scores: dict[str, float]
    note: str | None = None
    mean_baseline: dict[str, float] | None = None

    def summary(self) -> str:
        """One line: RMSE, MAE, Pearson and Spearman (an undefined correlation says why)."""
        s = self.scores
        line = (
            f"RMSE {s['rmse']:.4f}, MAE {s['mae']:.4f}, Pearson r {score_text(s['pearson'])}, "
            f"Spearman rho {score_text(s['spearman'])}"
        )
        if math.isnan(s["pearson"]) and math.isfinite(s["rmse"]):
            few = s.get("count", 2) < 2
            line += " (one row)" if few else " (the predictions or the targets are constant)"
        return line

    def format_table(self) -> str:
        """The scores, one per line."""
        shown = {k: v for k, v in self.scores.items() if k != "count"}
        width = max(10, *(len(k) + 2 for k in shown))
        return "\n".join(f"{k:<{width}}{score_text(v)}" for k, v in shown.items())

    def to_dict(self) -> dict[str, float]:
        """The scores."""
        return dict(self.scores)


def baseline_lines(metrics: dict[str, Any]) -> list[str]:
    """The log's lines on the floor to clear: majority class, or a regression's mean."""
    lines = []
    majority = metrics.get("majority_baseline")  # classification only
    if majority is not None:
        lines.append(
            f"Majority-class baseline (always {majority_words(majority)}): accuracy "
            f"{100 * majority['accuracy']:.2f}%"
            + (f", macro F1 {majority['macro_f1']:.4f}" if "macro_f1" in majority else "")
        )
    mean = metrics.get("mean_baseline")  # regression only
    if mean is not None:
        lines.append(
            f"Mean baseline (always {target_text(mean['value'])}, {_mean_source(metrics)}): "
            f"RMSE {mean['rmse']:.4f}, MAE {mean['mae']:.4f}"
        )
    return lines


def _mean_source(metrics: dict[str, Any]) -> str:
    """Which rows the mean baseline's mean is of, as far as `metrics` says.

    Why: a run with --valid-fraction 0 has no validation rows, and its log still said they
    were left out; `vecgraft evaluate` has only the mean (no "sizes").
    """
    valid = (metrics.get("sizes") or {}).get("valid")
    if valid is None:
        return "the run's training mean"
    if not valid:
        return "the training split's mean; the run has no validation rows"
    return "the training split's mean, validation rows left out"


def classification_scores(
    result: EvalResult, labels: list[str], model_labels: list[str] | None = None
) -> tuple[Any, dict[str, Any]]:
    """(ClassificationMetrics, the `metrics.json` block) of a scored split.

    `labels` are those scored (`model_labels`, the model's, then gold labels it lacks).
    """
    metrics = _classification(result, labels, model_labels)
    return metrics, _metrics_dict(metrics, result)


def _classification(
    result: EvalResult, labels: list[str], model_labels: list[str] | None = None
) -> Any:
    from vecgraft.finetune.metrics import classification_metrics

    y_true, y_pred = result.pairs()
    known = len(labels if model_labels is None else model_labels)
    metrics = classification_metrics(y_true, y_pred, labels, predictable=known)
    metrics.log_loss = result.log_loss  # of the probabilities scored (fused ones if fused)
    return metrics


def _metrics_dict(metrics: Any, result: EvalResult) -> dict[str, Any]:
    out = dict(metrics.to_dict())
    out.update(accuracy=metrics.accuracy, macro_f1=metrics.macro_f1, loss=result.loss)
    return out


def _saved_tokenizer(meta: dict[str, Any] | None) -> dict[str, Any] | None:
    """The word tokenizer config of a checkpoint's model.json; None without one (subword)."""
    tokenizer = None if meta is None else meta.get("tokenizer")
    return tokenizer if isinstance(tokenizer, dict) else None


def _recorded_linear(recorded: Any, out: Path) -> dict[str, bool]:
    """The linear options an earlier resume recorded in model.json (`LINEAR_STARTED`)."""
    from vecgraft.finetune.checkpoint import MODEL_META
    from vecgraft.finetune.fusion import STARTED_OPTIONS

    if not (isinstance(recorded, dict) and set(recorded) == set(STARTED_OPTIONS)
            and all(isinstance(v, bool) for v in recorded.values())):  # fmt: skip
        raise CheckpointError(
            f"{out / 'last' / MODEL_META}: {LINEAR_STARTED!r} must map "
            f"{' and '.join(STARTED_OPTIONS)} to true/false, got {recorded!r:.60}"
        )
    return dict(recorded)


def _dict_normalized(tokenizer: dict[str, Any]) -> bool | None:
    """Whether a resumed checkpoint's tokenizer converts its jieba dictionary's words.

    None where it names no dictionary. A checkpoint saved before the option read them as
    written: resumed with them converted, its texts gave other words than its vocabulary's.
    """
    from vecgraft.text.tokenize import saved_user_dict_normalized

    if tokenizer.get("user_dict") is None:
        return None
    return bool(saved_user_dict_normalized(tokenizer))


def _checked_rules(tokenizer: dict[str, Any], out: Path | None) -> int:
    """The tokenizer rules of a resumed checkpoint's config (`saved_rules`), checked."""
    from vecgraft.finetune.checkpoint import MODEL_META
    from vecgraft.text.tokenize import saved_rules

    rules = saved_rules(tokenizer)
    if isinstance(rules, bool) or not isinstance(rules, int):
        where = Path(out or ".") / "last" / MODEL_META
        raise CheckpointError(f"{where}: tokenizer rules must be an integer, got {rules!r}")
    return rules
