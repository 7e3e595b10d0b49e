"""`FinetuneConfig`: every knob of a fine-tuning run, settable from a file or CLI flags.

The same dataclass is filled from defaults, then a YAML/TOML/JSON file (`--config`), then CLI
flags, and is saved with the run as `config.json` so a run can be resumed or reproduced.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

from vecgraft._util.graft_options import check_graft_vectors, parse_add_tokens
from vecgraft._util.options import misfit, parse_enum, plain_number
from vecgraft._util.policies import BadRowPolicy, UnicodeErrors, check_encoding
from vecgraft.errors import ConfigError, Given, Opt, OptionError
from vecgraft.finetune.class_weight import check_class_weight
from vecgraft.nn.kinds import ModelKind

# bound on a log-linear pool's weights (`fuse_pool`, `fusion.fit_pool`): past it the fused
# probabilities are 0 or 1
POOL_MAX = 50.0


# options whose 0 means None: no limit (max_length), off (grad_clip, patience); `--patience 0`
# worked on the command line and `patience: 0` in a config file was "must be > 0"
ZERO_MEANS_NONE = {"max_length": "no limit", "grad_clip": "off", "patience": "off"}


# `vectors` of a run given its vectors in memory (`finetune(config, vectors=v)`) where its
# config named none: config.json recorded "random", and a retrain from it trained on random
# vectors without a word. No path or "random" reads like it; see `in_memory_error`.
IN_MEMORY_VECTORS = "<in memory"


def in_memory_vectors(value: object) -> bool:
    """Whether a config's `vectors` records vectors that were passed in memory.

    >>> in_memory_vectors("<in memory: 35 x 8 Vectors, source v.txt>"), in_memory_vectors("v.txt")
    (True, False)
    """
    return isinstance(value, str) and value.startswith(IN_MEMORY_VECTORS)


def in_memory_error(value: str, where: str = "") -> ConfigError:
    """The error of a run asked to read vectors that were passed in memory from its config."""
    return ConfigError(
        f"{where}vectors {value!r}: the run was given its vectors in memory "
        "(finetune(config, vectors=v)), which its config cannot bring back; pass them again "
        "that way, or train on a file (FinetuneConfig(vectors='PATH'), --vectors PATH)"
    )


def pool_in_range(pool: tuple[float, float]) -> bool:
    """Both weights of a log-linear pool within [0, POOL_MAX] (a config's, or a saved run's)."""
    return all(0.0 <= w <= POOL_MAX for w in pool)


# Members are UPPER_CASE like every other vecgraft enum; the lower-case names are aliases
# (same member) kept for one release so code written against them keeps working.
class OptimizerKind(StrEnum):
    """Optimizers the trainer knows."""

    ADAMW = "adamw"
    ADAM = "adam"
    SGD = "sgd"
    adamw = "adamw"  # alias of ADAMW
    adam = "adam"  # alias of ADAM
    sgd = "sgd"  # alias of SGD


class ScheduleKind(StrEnum):
    """Learning-rate decay after warm-up."""

    LINEAR = "linear"
    COSINE = "cosine"
    CONSTANT = "constant"
    linear = "linear"  # alias of LINEAR
    cosine = "cosine"  # alias of COSINE
    constant = "constant"  # alias of CONSTANT


class Task(StrEnum):
    """What the labels are: classes, or numbers to predict (mean squared error)."""

    CLASSIFICATION = "classification"
    REGRESSION = "regression"


class Metric(StrEnum):
    """Validation metric for early stopping and the best checkpoint."""

    ACCURACY = "accuracy"
    MACRO_F1 = "macro_f1"
    LOSS = "loss"
    accuracy = "accuracy"  # alias of ACCURACY
    macro_f1 = "macro_f1"  # alias of MACRO_F1
    loss = "loss"  # alias of LOSS


class CheckpointName(StrEnum):
    """Which checkpoint of a run folder to load: best validation score, or the last epoch."""

    BEST = "best"
    LAST = "last"


# defaults that differ by model family, applied for the keys not given (by the constructor,
# `from_dict`, the CLI and config files alike): a pretrained transformer wants a small
# learning rate, few epochs and its whole embedding trained from the first step
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "hf": {
        "lr": 5e-5,
        "embedding_lr": None,  # the lr of the lowest layer (= lr without --layer-decay)
        "batch_size": 32,
        "max_length": 128,
        "epochs": 3,
        "weight_decay": 0.01,
        "warmup": 0.1,
        "freeze_epochs": 0,
        "patience": 2,
    },
}


@dataclass
class FinetuneConfig:
    """Settings of one fine-tuning run (the CLI flag of a field is `--field-name`).

    Attributes:
        train: labelled training data (CSV/TSV/JSONL or folder per class).
        test: labelled test data; None carves a stratified `test_fraction` split from train.
        valid: labelled validation data; None carves `valid_fraction` from train (0: no
            validation split: every training text is trained on and the last epoch is kept).
        vectors: anything `vecgraft.load` reads, "random" (None means the same) for a
            random-init baseline, or "hf:FOLDER": vectors derived from a transformer
            checkpoint for the run's words (`--vectors hf:FOLDER`). Vectors already in
            memory go to `finetune(config, vectors=v)`; where the config names no file, the
            run records them as "<in memory: N x D Vectors, source PATH>" (or "<in memory:
            a function of the vocabulary's words>"), which a retrain or `--resume` refuses
            unless they are passed again.
        model: the classifier's `ModelKind` (cnn, boe, swem, fasttext, rnn, bilstm,
            transformer, linear or hf; a string is parsed); `vecgraft.finetune.families`
            says how each kind is built.
        task: "classification", or "regression" for numeric labels (mean squared error;
            RMSE, MAE, Pearson and Spearman in `metrics.json`'s `regression` block, and
            `rounded_accuracy` with whole-number labels spanning at most 100 (a rating
            scale; 0, 1e9, 2e9 are not one), the rounded predictions clipped
            to the training labels' range, kept as `train_range`; early stopping on the
            validation loss; the linear model is ridge regression).
        out: run directory (checkpoints, metrics, plots).
        text_column, label_column: the columns of a CSV/TSV/JSONL file holding the text and
            its label ("text", "label"); a folder per class has neither.
        encoding: of the data files (e.g. "gb18030", "latin-1"; default "utf-8").
        errors: undecodable bytes in the data files: "strict" (the default: stop, naming
            file and line), "replace" (U+FFFD) or "ignore"; repaired lines are reported.
        bad_rows: unusable rows (empty text, missing label, broken JSON line, ragged row,
            a repeated header): "skip" (the default: drop, reporting each line) or "error".
        max_length: truncate each text to this many tokens (default 400, `hf` 128; None or
            0: no limit); bounds a batch's memory.
        min_freq: a training token seen fewer times than this becomes the unknown token
            (default 1: every token gets a row).
        embedding_dim: width of the random embedding of `vectors` "random" (default 50);
            pretrained vectors bring their own.
        train_fraction: train on a stratified, seeded fraction of the training rows
            (default 1.0: all), for learning curves and small-data checks.
        valid_fraction, test_fraction: the shares carved from `train` when `valid` / `test`
            are not given (defaults 0.1 and 0.2).
        seed: seeds the splits, the initial weights and the batch order (default 0), so a
            run repeats.
        stopwords: drop stopwords: "en", "zh" or a file with one word per line (None: keep).
        model_options: extra keyword arguments of `build_model` (e.g. {"dropout": 0.2}).
        max_size: keep at most this many of the training texts' tokens in the vocabulary,
            the most frequent (`build --max-size`); None: no cap. Rarer ones become the
            unknown token; `extend_vocab` rows come on top.
        extend_vocab: also give rows to up to N of the pretrained vectors' words (their file
            order: most frequent first) that the training texts lack, so that a word first
            met in validation, test or prediction texts keeps its pretrained vector instead
            of `<unk>`. 0: the vocabulary is the training texts' alone. Vector files only
            (not random vectors or vectors derived per word, `hf:`). With
            `project_untrained`, 100,000 (the default) gained 0.34 points on four held-out
            full training sets (TREC +1.0, ahead on 8 of 9 splits; BBC News -0.1) and 2.5
            points on 5 % of MR (ahead on every split), and tied on 5 % of BBC News
            (`benchmarks/defaults.md`, round 29). It costs rows: 100,000 x 50 floats are
            20 MB per copy of the weights (a run folder keeps two; the optimizer's moments
            leave out all-zero rows); 0 gives the smaller run folders of before.
        project_untrained: before the weights are scored to choose an epoch or kept, move
            the pretrained rows training never updates (extended words, words past the
            length cut) by the linear map that takes the trained words' pretrained rows to
            their tuned ones (`vecgraft.nn.embedding.UntrainedRows`); on by default (round
            29: +0.06 over the extension alone on MR, SST-2 and TREC, ahead on 13 of 27
            held-out splits, behind on 4).
        epochs: maximum number of epochs; None derives it from the step budget:
            clamp(ceil(train_steps / steps per epoch), min_epochs, max_epochs), so a tiny
            training set still gets enough updates and a large one does not run for hours.
        train_steps: the optimizer-step budget behind `epochs=None`.
        min_epochs, max_epochs: bounds of the epochs derived from `train_steps`.
        min_valid: a validation split with fewer rows neither stops training early nor
            chooses the epoch that is kept: on 8 rows one text is 12.5 points, and the
            "best" epoch is noise (at 5 % of BBC News it kept an epoch-12 model of a
            200-epoch run). Such a run trains its whole step budget and keeps the last epoch.
        restore_best: keep the epoch with the best validation score (and stop early after
            `patience` epochs without one, counted once the warm-up has ended: on 540 rows
            the warm-up spans 17 epochs, and a random embedding's run stopped at epoch 4,
            its learning rate a fifth of its peak, keeping the untrained epoch 1; equal
            accuracy / F1 at a lower validation loss is better, but at 1.0 it no longer
            restarts the count, so a run stops `patience` epochs after reaching 100 %);
            False trains the whole budget and keeps the last epoch, still scoring the
            validation split each epoch (Hugging Face `Trainer`'s default,
            `load_best_model_at_end=False`).
        fuse_linear: after training, also fit the TF-IDF linear model on the training split
            and predict with both models' class probabilities combined as `fuse_rule` says,
            fitted on the validation split (`vecgraft.finetune.fusion`); a regression
            averages the network's number with a TF-IDF ridge regression's, the weight
            chosen by validation mean squared error.
            None (the default) fuses where it can: a single-process run of an embedding
            model with validation rows and labels x training characters of at most 2e8
            (`fusion.too_large_to_fuse`); fused, it beat the network alone on every
            held-out set searched but one, a tie (`benchmarks/defaults.md` rounds 8-11 and
            16). True insists (an error where it cannot apply), False keeps the network
            alone. `tune` trials and `compare` cells score the network alone.
        fuse_rule: how a fused classifier combines the two models: "pool" (the default), a
            log-linear pool softmax(a log p_network + b log p_linear) with a, b fitted by
            log-loss on the validation rows (round 26: +0.27 over the share on 72 held-out
            splits of six training sets, `vecgraft.finetune.fusion`), or "mix", the
            weighted mean with the network's share chosen from 0, 0.25, ..., 1 by
            accuracy. A fixed `fuse_weight`, fewer than `min_valid` rows to fit on, or a
            regression always mix.
        fuse_weight: the network's share of a fused prediction, fixed (0 = the linear model
            alone, 1 = the network alone) instead of chosen on the validation split; needs no
            validation rows.
        fuse_pool: the log-linear pool's two weights (network, linear), each from 0 to 50,
            fixed instead of fitted on the validation split; needs no validation rows. `tune`
            fixes it for its final retrain (which has none) to the pool fitted on the chosen
            trial's validation rows, as `fuse_weight` fixes a share.
        fuse_folds: choose the network's share by K-fold cross-fitting instead of on the
            validation split: K more networks, each trained on train + valid but one fold,
            predict the fold they did not see, and the share is chosen on every row
            (`vecgraft.finetune.crossfit`). Costs K trainings; needs no validation split.
            0 (off) by default: K=5 gained 0.3 points on five held-out full training sets
            at 2.8-4.4x the run's time, and tied at 5 % of BBC News and ChnSentiCorp
            (`benchmarks/defaults.md` round 20).
        ensemble: train this many networks and average their (fused) predictions, each
            with its own seed and its own validation split carved from the same training
            rows; they share the epoch cap (`max_epochs` / K each), so where that cap binds
            (a small training set) K networks cost about one run
            (`vecgraft.finetune.ensemble`). None (the default): 3 where the step budget is
            cut by `max_epochs` (fewer than about 480 training rows at the default budget
            and batch size) for a classifier with an embedding model in one process with
            `epochs` and `max_steps` unset, else 1. On held-out 5 % subsets of the training
            data three members gained 0.5-1.0 points on BBC News, ChnSentiCorp, MR and
            TREC (ahead on 19 of 24 splits); a regression (SST-5) tied, so it keeps one
            network unless asked (`benchmarks/defaults.md` round 22). 1: one network.
        ema_epochs: score and keep an exponential moving average of the weights
            (Polyak averaging, `finetune.averaging`) spanning at most this many epochs
            (with the usual warm-up: about the last tenth of the steps so far until then).
            None (the default): 1 for a classifier with an embedding model, off for a
            regression and `hf` (not measured there); 0: off. On held-out splits of five
            training sets one epoch lifted the network alone by 0.52 +- 0.15 points (ahead
            on 22 of 30) and the fused model by 0.13 +- 0.08 (`benchmarks/defaults.md`
            round 37), for one `lerp` over the weights per step.
        label_smoothing: the share of each training target spread evenly over all classes
            (Szegedy et al. 2016; PyTorch's `cross_entropy(label_smoothing=...)`); the
            validation loss stays unsmoothed. 0 (off) by default: on held-out training data
            0.1 tied it fused and lost 0.3 alone (`benchmarks/defaults.md` round 19).
        class_weight: weigh each training text's loss by its class, for imbalanced labels
            (`vecgraft.finetune.class_weight`): "balanced" (scikit-learn's rule,
            n_samples / (n_classes * count) over the training part's labels) or a mapping
            label -> weight (keys read as the data's labels are; a label left out weighs
            1, one the training file lacks is refused). It applies to the network's
            cross-entropy (label smoothing's too), the linear model's fit
            (scikit-learn's "balanced", a mapping as each row's weight) and the fused
            model's pool (or share), fitted by a validation log-loss (accuracy) weighted
            alike; the validation loss and metrics reported, and the scores `tune`
            judges trials by, stay unweighted (`metric` macro_f1 chooses epochs by the
            rare classes too). None (the default): every text weighs 1. Classification
            only.
        freeze_epochs: epochs with the embedding frozen before it is fine-tuned
            (a value >= the epochs keeps it frozen throughout).
        embedding_lr: learning rate of the embedding once unfrozen (None: lr / 10; for
            model `hf`, whose family default is None, the lr of the lowest layer).
        batch_size: texts per optimizer step (default 32), summed over the processes under
            torchrun.
        optimizer: "adamw" (the default), "adam" or "sgd", for the model and the embedding.
        lr: learning rate of the model, not the embedding (default 2e-3; `hf` 5e-5).
        weight_decay: weight decay of the model's weights, not the embedding's
            (default 0.01).
        momentum: SGD's momentum (default 0.9; other optimizers ignore it).
        schedule: learning-rate decay after the warm-up: "linear" (the default), "cosine"
            or "constant".
        grad_clip: clip the gradients' global norm to this (default 1.0; None or 0: off),
            so one bad batch cannot throw the weights far.
        patience: stop after this many epochs without a better validation score, counted
            once the warm-up has ended (default 3, `hf` 2; None or 0: off).
        metric: the validation score that stops early and picks the kept epoch:
            "accuracy" (the default), "macro_f1" (weighs rare classes alike) or "loss".

        lower: lowercase tokens; None = on exactly when the vectors are lowercase (no
            uppercase letter among their most frequent words). Vectors passed as a function
            of words (`finetune(config, vectors=f)`, `hf:`) list none: None keeps the case.
        tokenizer: None takes the tokenizer the vectors were trained with (their
            `metadata.json`, written by `vecgraft pretrain`), else "jieba" where the
            training texts are Chinese (the regex rule leaves them whole clauses; the run
            says so, and its config.json records "jieba"), else "regex". Model `hf`
            with `add_tokens` takes a list too: the words of each kind are pooled, as
            `graft-vocab --tokenizer jieba --tokenizer char` pools them.
        zh_mode: Chinese tokens of the jieba tokenizer: "word", "char" or "word+char";
            None takes the vectors' (their `metadata.json`), else "word".
        halfwidth: full-width ASCII -> ASCII before tokenizing; None takes the vectors'
            setting (their `metadata.json`), else off.
        simplified: traditional -> simplified Chinese (OpenCC) before tokenizing, for
            vectors trained on simplified text; None takes the vectors' setting, else off.
        user_dict: a jieba user dictionary (one word per line, optional frequency and POS,
            jieba's format), for domain words jieba would cut up; None: the one the vectors
            were pretrained with, if any. Needs the jieba tokenizer; each checkpoint keeps a
            copy, so the saved run predicts without the original file.
        warmup: warm-up length as a fraction of all steps (< 1) or a step count (>= 1).
        bucket: sort by length within shuffled mega-batches of `bucket_factor` batches.
        bucket_factor: batches per length-sorted mega-batch (default 50): larger pads less,
            smaller shuffles more.
        bf16: bfloat16 autocast; None = on a GPU with native bf16 (Ampere or newer), and on
            a CPU with AMX bf16 units for every family but `hf` (`state.use_bf16`); older
            GPUs and other CPUs: only when asked.
        compile: `torch.compile` the model (default False): faster steps after a compile
            that costs time up front.
        device: "auto" (the default: this process's CUDA device when there is one, else the
            CPU), "cpu", "cuda", "cuda:1", ...
        resume: continue the interrupted run in `out` with the settings it started with
            (default False: `out` starts a new run).
        progress: progress bars only (None, the default: bars on a terminal, and where
            stderr is a file or pipe their stand-in, a line now and then within an epoch;
            True: bars; False: neither). It does not silence the run's log lines (the data
            read, each epoch's scores): `finetune(config, log=...)` routes or drops those.
        split_seed: seed of the train/test split when there is no `test` (None: `seed`), so
            runs with different seeds can share one test set.
        dedupe: drop test rows whose text also occurs in train.
        max_steps: stop after this many optimizer steps in total (None: no limit; for tests).
        checkpoint_every: seconds between rewrites of the resumable `last/` checkpoint at
            epoch ends (0: every epoch). A newly chosen best epoch and the run's end always
            write; a killed run resumes from the last one written. Why: a 200-epoch run on a
            small set spent a sixth to a third of its time writing 400 checkpoint folders.
        plots: write PNG plots (confusion matrix, learning curves); needs matplotlib.
        sparse_embedding: update only the embedding rows each batch uses (sparse
            gradients, lazy AdamW: `vecgraft.finetune.lazy_adam`). None = on wherever it
            applies (optimizer adamw, a model with a word embedding, one process on the CPU
            or CUDA, no `compile`): on held-out training data it tied the dense step's
            accuracy and made large-vocabulary runs 2-3x faster (`benchmarks/defaults.md`
            round 13). A row's Adam moments then rest between its batches; False restores
            the dense step.
        grad_accum: run each batch as this many smaller pieces and sum their gradients
            before the update (same update, less memory).
        layer_decay: layer-wise learning-rate decay: a layer k below the top trains at
            `lr * layer_decay**k` (models with layers, such as `hf`; None: off).
        hf_model: local Hugging Face checkpoint folder of model `hf`.
        add_tokens: with model `hf`, graft this many corpus words (a number, or its digits;
            or the words of a file, one per line) into the tokenizer before training (None:
            no graft).
        graft_init: how grafted rows start: subwords, mean or vectors (`GraftInit`).
        graft_vectors: static vectors of the new words' language for `graft_init` vectors.
        graft_vectors_encoding: how `graft_vectors`, a fastText .bin, stores its words (e.g.
            cp852), as `vecgraft.load`'s `encoding=` (None: UTF-8); the CLI's
            --vectors-encoding sets it with --graft-vectors, and config.json keeps it for a
            resume.

    The defaults (Kim CNN, lr 2e-3, embedding lr 1e-2 from the first step, a 3000-step
    budget, patience 3, best epoch restored) were chosen on held-out splits of the training
    data only; the protocol and every candidate's score are in `benchmarks/defaults.md`.

    The constructor, `from_dict` (config files, the CLI) and `replace` check every value
    alike, its kind and its range: `FinetuneConfig(lower="false")` is a ConfigError
    ("lower must be true or false or null"), as `lower: "false"` in a config file is.
    Paths may be `pathlib.Path`s (`train=Path("train.csv")`); they are kept as strings.
    """

    train: str | None = None
    test: str | None = None
    valid: str | None = None
    vectors: str = "random"
    model: ModelKind | str = ModelKind.CNN
    task: Task | str = Task.CLASSIFICATION
    out: str = "runs/finetune"
    text_column: str = "text"
    label_column: str = "label"
    encoding: str = "utf-8"
    errors: UnicodeErrors | str = UnicodeErrors.STRICT
    bad_rows: BadRowPolicy | str = BadRowPolicy.SKIP
    tokenizer: str | list[str] | None = None
    zh_mode: str | None = None
    lower: bool | None = None
    halfwidth: bool | None = None
    simplified: bool | None = None
    user_dict: str | None = None
    stopwords: str | None = None
    max_length: int | None = 400
    min_freq: int = 1
    max_size: int | None = None
    extend_vocab: int = 100_000
    project_untrained: bool = True
    embedding_dim: int = 50
    model_options: dict[str, Any] = field(default_factory=dict)
    train_fraction: float = 1.0
    valid_fraction: float = 0.1
    test_fraction: float = 0.2
    dedupe: bool = True
    seed: int = 0
    split_seed: int | None = None
    epochs: int | None = None
    train_steps: int = 3000
    min_epochs: int = 3
    max_epochs: int = 200
    batch_size: int = 32
    optimizer: OptimizerKind | str = OptimizerKind.ADAMW
    lr: float = 2e-3
    embedding_lr: float | None = 1e-2
    weight_decay: float = 0.01
    momentum: float = 0.9
    schedule: ScheduleKind | str = ScheduleKind.LINEAR
    warmup: float = 0.1
    grad_clip: float | None = 1.0
    freeze_epochs: int = 0
    patience: int | None = 3
    min_valid: int = 50
    restore_best: bool = True
    fuse_linear: bool | None = None
    fuse_rule: str = "pool"
    fuse_weight: float | None = None
    fuse_pool: tuple[float, float] | None = None
    fuse_folds: int = 0
    ensemble: int | None = None
    ema_epochs: float | None = None
    label_smoothing: float = 0.0
    class_weight: str | dict[str, float] | None = None
    metric: Metric | str = Metric.ACCURACY
    bucket: bool = True
    bucket_factor: int = 50
    bf16: bool | None = None
    compile: bool = False
    device: str = "auto"
    resume: bool = False
    progress: bool | None = None
    max_steps: int | None = None
    checkpoint_every: float = 60.0
    plots: bool = True
    grad_accum: int = 1
    sparse_embedding: bool | None = None
    layer_decay: float | None = None
    hf_model: str | None = None
    add_tokens: str | None = None
    graft_init: str = "subwords"
    graft_vectors: str | None = None
    graft_vectors_encoding: str | None = None

    def __post_init__(self) -> None:
        if self.vectors is None:  # "no vectors", as Python callers naturally write it
            self.vectors = "random"
        if not isinstance(self.vectors, str | os.PathLike):  # it failed deep in pathlib
            raise ConfigError(
                "vectors is a path, 'random' or 'hf:FOLDER', not a "
                f"{type(self.vectors).__name__}; vectors already in memory (a Vectors, or a "
                "function of the vocabulary's words returning one) go to the run: "
                "finetune(config, vectors=v)"
            )
        self._parse_add_tokens()
        self.tokenizer = tokenizer_kinds(self.tokenizer)
        self._check_types()
        for name, kind in _CHOICES.items():
            setattr(self, name, parse_enum(kind, getattr(self, name), name))
        self.__dict__["_enums_parsed"] = True  # from now on `__setattr__` parses them too
        if isinstance(self.fuse_rule, str) and self.fuse_rule.lower() in ("pool", "mix"):
            self.fuse_rule = self.fuse_rule.lower()  # any case, as the enum options take
        for name in ("zh_mode", "graft_init"):  # names of lower-case enum values
            value = getattr(self, name)
            if isinstance(value, str):  # "Jieba" fell through `tokenizer in ("jieba", "char")`
                setattr(self, name, value.lower())
        self.encoding = check_encoding(self.encoding)
        self.class_weight = check_class_weight(self.class_weight)
        for name in ZERO_MEANS_NONE:  # 0 is "off" (no limit) in a config file as on the CLI
            if getattr(self, name) == 0 and not isinstance(getattr(self, name), bool):
                setattr(self, name, None)
        self.fuse_pool = _pool_pair(self.fuse_pool)
        self.validate()

    @property
    def tokenizer_kind(self) -> str | None:
        """The one tokenizer kind of the texts (several pool only model `hf`'s graft words)."""
        if isinstance(self.tokenizer, list):  # `validate` refuses them for other models
            raise ConfigError(f"one tokenizer kind needed, got {self.tokenizer}")
        return self.tokenizer

    def _parse_add_tokens(self) -> None:
        """`add_tokens` as the CLI gives it: a count's digits ("50", from 50 too) or a file.

        Why: `add_tokens: 50` in a config file, or `add_tokens=50` from Python, was refused
        as "must be a string or null" though it means what the CLI's `--add-tokens 50` does.
        """
        if self.add_tokens is not None:
            parsed = parse_add_tokens(self.add_tokens)
            self.add_tokens = str(parsed) if isinstance(parsed, int) else parsed

    def _check_types(self) -> None:
        """Refuse a value of the wrong kind, as `from_dict` did, for every way in.

        Lenient where the config converts (`misfit`): a number for a float, a name for an
        enum, a path for a string, a list for `fuse_pool`. Checked by the constructor, not
        only by `from_dict`: `FinetuneConfig(lower="false")` lowercased (a truthy string),
        `epochs=2.5` trained and went into config.json, which `load` then refused, and
        `lr="1e-3"` said "'>' not supported between 'str' and 'int'". numpy's numbers
        (`epochs=np.int64(2)`) are taken as Python's (`plain_number`). A path
        (`pathlib.Path`) becomes its string: kept as given, it reached `config.json` and
        `finetune` failed after reading the data ("PosixPath is not JSON serializable").
        """
        hints = _field_types()
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            expected = misfit(value, hints[f.name])
            if expected is not None and f.name == "fuse_pool":  # what the pair is says more
                raise ConfigError(f"{_POOL_FORM}; got {value!r}")
            if expected is not None:
                raise ConfigError(f"{f.name} must be {expected}, got {value!r}")
            if isinstance(value, os.PathLike):  # only a string field takes one (`misfit`)
                setattr(self, f.name, os.fsdecode(value))
            elif plain_number(value) is not value:  # numpy's number: config.json needs Python's
                setattr(self, f.name, plain_number(value))

    def validate(self) -> None:
        """Raise ConfigError naming the first out-of-range value.

        The message names the keyword (`max_epochs`); `vecgraft finetune` names the flag
        (`--max-epochs`), as `OptionError` renders it for the command.
        """
        self.model = parse_enum(ModelKind, self.model, "model")  # a ModelKind (a str)
        for ok, error in self._checks():
            if not ok:
                raise error if isinstance(error, ConfigError) else ConfigError(error)

    def _checks(self) -> list[tuple[bool, OptionError | str]]:
        """(holds, the error if not) for every rule `validate` applies, in order."""
        positive: dict[str, float | None] = {
            "epochs": self.epochs,
            "train_steps": self.train_steps,
            "min_epochs": self.min_epochs,
            "batch_size": self.batch_size,
            "lr": self.lr,
        }
        positive.update(min_freq=self.min_freq, bucket_factor=self.bucket_factor)
        positive.update(max_size=self.max_size, max_steps=self.max_steps)
        positive.update(grad_accum=self.grad_accum)
        rng = OptionError.out_of_range
        checks: list[tuple[bool, OptionError | str]] = [
            (v is None or v > 0, rng(k, "> 0", v)) for k, v in positive.items()
        ]
        for name, zero in ZERO_MEANS_NONE.items():  # 0 became None: only < 0 gets here
            value = getattr(self, name)
            checks.append((value is None or value > 0, rng(name, f">= 0 (0: {zero})", value)))
        # (name, in range, the range)
        fractions = (
            ("valid_fraction", 0 <= self.valid_fraction < 1, "[0, 1)"),
            ("test_fraction", 0 < self.test_fraction < 1, "(0, 1)"),
            ("train_fraction", 0 < self.train_fraction <= 1, "(0, 1]"),
        )
        for name, ok, interval in fractions:
            checks.append((ok, rng(name, f"a fraction in {interval}", getattr(self, name))))
        checks.append((self.warmup >= 0, rng("warmup", ">= 0", self.warmup)))
        # torch refused the first two with a traceback; a negative embedding_lr trained the
        # embedding uphill with no word of it
        for name in ("weight_decay", "momentum", "embedding_lr"):
            value = getattr(self, name)
            checks.append((value is None or value >= 0, rng(name, ">= 0", value)))
        checks.append((
            self.extend_vocab >= 0, _is("extend_vocab", "a number of words >= 0", self.extend_vocab)
        ))
        every = self.checkpoint_every
        checks.append((every >= 0, rng("checkpoint_every", ">= 0 seconds", every)))
        checks.append((self.freeze_epochs >= 0, rng("freeze_epochs", ">= 0", self.freeze_epochs)))
        checks.append((
            self.max_epochs >= self.min_epochs,
            OptionError(
                "{} ({}) must be >= {} ({})",
                *(Opt("max_epochs"), Given("max_epochs", self.max_epochs)),
                *(Opt("min_epochs"), Given("min_epochs", self.min_epochs)),
            ),
        ))
        decay = self.layer_decay
        checks.append((decay is None or 0 < decay <= 1, rng("layer_decay", "in (0, 1]", decay)))
        is_hf = self.model is ModelKind.HF
        hf = Opt("model", "'hf'", "hf")
        checks.append((
            not is_hf or bool(self.hf_model),
            OptionError("{} needs {} (a folder)", hf, Opt("hf_model")),
        ))
        checks.append((
            not is_hf or self.vectors == "random",
            OptionError(
                "{} is not used by {} (its checkpoint has its own embedding; static vectors "
                "for grafted tokens go in {})",
                Opt("vectors"), hf, Opt("graft_vectors"),
            ),
        ))  # fmt: skip
        blocker = self.fusion_blocker()
        checks.append((not (self.fuse_linear and blocker), _about("fuse_linear", " ", blocker)))
        checks.append((
            self.fuse_rule in ("pool", "mix"),
            OptionError("{} is 'pool' or 'mix'; got '{}'", Opt("fuse_rule"),
                        Given("fuse_rule", self.fuse_rule)),
        ))  # fmt: skip
        mix = Opt("fuse_rule", "'mix'", "mix")
        no_fusion = Opt("fuse_linear", "False")  # the CLI's --no-fuse-linear, where typed
        checks.append((  # "mix" is no default, so someone asked for a fusion that never runs
            self.fuse_rule != "mix" or self.fuse_linear is not False,
            OptionError("{} says how a fused prediction combines its two models; {} keeps the "
                        "network alone", mix, no_fusion),
        ))  # fmt: skip
        checks.append((
            self.fuse_rule != "mix" or self.fuse_linear or not blocker,
            _about("fuse_rule", " mix: fusion ", blocker),
        ))
        checks.append((
            self.fuse_weight is None or 0.0 <= self.fuse_weight <= 1.0,
            _is("fuse_weight", "the network's share, from 0 to 1", self.fuse_weight),
        ))
        checks.append((
            self.fuse_weight is None or self.fuse_linear is not False,
            OptionError("{} weights a fused prediction; {} keeps the network alone",
                        Opt("fuse_weight"), no_fusion),
        ))  # fmt: skip
        checks.append((
            self.fuse_weight is None or not blocker, _about("fuse_weight", ": fusion ", blocker)
        ))
        checks.extend(self._pool_checks(blocker))
        folds = self.fuse_folds
        checks.append((folds == 0 or folds >= 2, _is("fuse_folds", "0 (off) or >= 2", folds)))
        # each conflict named alone: the CLI renders an untyped fuse_linear=False as
        # --fuse-linear, the opposite of the flag that conflicts
        checks.append((
            not folds or not self.fusion_fixed,
            OptionError("{} chooses a fused prediction's weight; {} or {} fixes it: give one",
                        Opt("fuse_folds"), Opt("fuse_weight"), Opt("fuse_pool")),
        ))  # fmt: skip
        checks.append((
            not folds or self.fuse_linear is not False,
            OptionError("{} chooses a fused prediction's weight; {} keeps the network alone",
                        Opt("fuse_folds"), no_fusion),
        ))  # fmt: skip
        checks.append((not folds or not blocker, _about("fuse_folds", ": fusion ", blocker)))
        members = self.ensemble
        checks.append((
            members is None or members >= 1, _is("ensemble", "a number of networks >= 1", members)
        ))
        checks.append((
            not members or members == 1 or self.model is not ModelKind.LINEAR,
            OptionError(
                "{} averages networks; the linear model is deterministic ({})",
                Opt("ensemble"), Opt("ensemble", "1", "1"),
            ),
        ))  # fmt: skip
        checks.append((
            self.ema_epochs is None or self.ema_epochs >= 0,
            _is("ema_epochs", "a number of epochs >= 0 (0: off)", self.ema_epochs),
        ))
        checks.append((
            0.0 <= self.label_smoothing < 1.0,
            _is("label_smoothing", "a share of each target, from 0 to below 1",
                self.label_smoothing),
        ))  # fmt: skip
        checks.append((
            not self.label_smoothing or self.task != Task.REGRESSION,
            OptionError("{} smooths class targets; a regression has none", Opt("label_smoothing")),
        ))
        checks.append((
            self.class_weight is None or self.task != Task.REGRESSION,
            OptionError("{} weighs classes; a regression has none", Opt("class_weight")),
        ))
        checks.append((  # accuracy, the default, is left alone: it was never asked for
            self.metric is not Metric.MACRO_F1 or self.task != Task.REGRESSION,
            OptionError(
                "{} scores classes; a regression stops early on the validation loss (MSE)",
                Opt("metric", "'macro_f1'", "macro_f1"),
            ),
        ))  # fmt: skip
        lazy_blocker = self.sparse_embedding_blocker()
        checks.append((
            not (self.sparse_embedding and lazy_blocker), _about("", "", lazy_blocker)
        ))
        for name in ("hf_model", "add_tokens", "graft_vectors"):
            checks.append((
                is_hf or getattr(self, name) is None,
                OptionError("{} is only for {}", Opt(name), hf),
            ))
        if not getattr(self, "_saved_run", False):  # a run saved before they were refused
            checks += self._graft_checks()
        kinds = self.tokenizer if isinstance(self.tokenizer, list) else [self.tokenizer]
        checks.append((
            not isinstance(self.tokenizer, list) or is_hf,
            _pooled_tokenizers(kinds, self.model),
        ))
        checks.append((
            self.user_dict is None or bool({None, "jieba"} & set(kinds)),
            user_dict_needs_jieba(", ".join(map(str, kinds))),
        ))
        # refused here, before the data is read, as the user dictionary is (the Tokenizer's
        # own error came after the Data: line, and named the keyword, not --zh-mode)
        from vecgraft.text.tokenize import zh_mode_needs_jieba

        checks.append((
            self.zh_mode in (None, "word") or bool({None, "jieba"} & set(kinds)),
            zh_mode_needs_jieba(", ".join(map(str, kinds))),
        ))
        return checks

    def _graft_checks(self) -> list[tuple[bool, OptionError | str]]:
        """A graft's rule and vectors agree (as `graft-vocab` checks), and a graft is asked for.

        Why: `--add-tokens 10 --graft-vectors DIR` kept the subwords rule and never read the
        vectors, and `--graft-init vectors --graft-vectors DIR` without `--add-tokens`
        grafted nothing, both without a word.
        """
        if self.model is not ModelKind.HF:  # `graft_vectors` is refused for the others
            return []
        try:
            check_graft_vectors(self.graft_init, self.graft_vectors,
                                init_name="graft_init", vectors_name="graft_vectors")  # fmt: skip
        except OptionError as exc:
            return [(False, exc)]
        rule = str(getattr(self.graft_init, "value", self.graft_init))
        unused = [Opt(name, *shown) for name, shown, given in (
            ("graft_init", (repr(rule), rule), rule != "subwords"),
            ("graft_vectors", (), self.graft_vectors is not None),
        ) if given]  # fmt: skip
        return [(
            self.graft_vectors_encoding is None or self.graft_vectors is not None,
            OptionError("{} is only used with {}", Opt("graft_vectors_encoding"),
                        Opt("graft_vectors", "...", "PATH")),
        ), (
            self.add_tokens is not None or not unused,
            OptionError(" and ".join(["{}"] * len(unused))
                        + (" are" if len(unused) > 1 else " is") + " only used with {}",
                        *unused, Opt("add_tokens", "N", "N")),
        )]  # fmt: skip

    def _pool_checks(self, blocker: OptionError | None) -> list[tuple[bool, OptionError | str]]:
        """`fuse_pool`'s checks: two weights in range, for a classifier that fuses."""
        pool = self.fuse_pool
        if pool is None:
            return []
        fuse_pool = Opt("fuse_pool")
        return [
            (pool_in_range(pool),
             OptionError(f"{{}} is two weights (network, linear) from 0 to {POOL_MAX:g}; got {{}}",
                         fuse_pool, Given("fuse_pool", list(pool)))),
            (any(w > 0 for w in pool),  # softmax(0 + 0): one answer for every text
             OptionError("{} of two zeros predicts the same for every text; give a weight "
                         "above 0", fuse_pool)),
            (self.fuse_weight is None,
             OptionError("{} and {} each fix the fusion; give one", fuse_pool,
                         Opt("fuse_weight"))),
            (self.fuse_rule != "mix",  # the pool ran and the rule given was dropped
             OptionError("{} fixes a log-linear pool; {} mixes by a share ({} fixes one)",
                         fuse_pool, Opt("fuse_rule", "'mix'", "mix"), Opt("fuse_weight"))),
            (self.fuse_linear is not False,
             OptionError("{} weights a fused prediction; {} keeps the network alone", fuse_pool,
                         Opt("fuse_linear", "False"))),
            (self.task != Task.REGRESSION,
             OptionError("{} pools class probabilities; a regression fuses by {}", fuse_pool,
                         Opt("fuse_weight"))),
            (not blocker, _about("fuse_pool", ": fusion ", blocker)),
        ]  # fmt: skip

    @property
    def fusion_fixed(self) -> bool:
        """The fusion's combination is given (`fuse_weight` or `fuse_pool`), not chosen."""
        return self.fuse_weight is not None or self.fuse_pool is not None

    def ema_span(self) -> float | None:
        """Epochs the weight average spans (`ema_epochs` resolved), or None when off.

        The default is on where it helped (classifiers with an embedding model, round 37);
        regressions keep their weights as trained (round 38: a tie once fused), and so does
        `hf` (not measured), unless asked.
        """
        if self.ema_epochs is not None:
            return self.ema_epochs or None
        measured = self.task is Task.CLASSIFICATION and self.word_embedding_model
        return 1.0 if measured else None

    @property
    def word_embedding_model(self) -> bool:
        """The model is a network over a word embedding (boe, cnn, ...), not `hf`/`linear`."""
        return self.model not in (ModelKind.HF, ModelKind.LINEAR)

    def sparse_embedding_on(self, distributed: bool = False, *, device: str = "cpu") -> bool:
        """Whether training uses sparse embedding gradients and lazy AdamW on `device` (a type).

        The default (None) turns it on only where it was measured: a single process on the
        CPU or CUDA without `torch.compile` (NCCL cannot all-reduce sparse tensors, sparse
        gradients under Inductor are untested here, and Apple's MPS covers sparse tensors
        only in part); an explicit True is taken as asked, except `distributed` on `cuda`:
        NCCL would fail at the first step, so it is refused now (gloo, CPU, sums them).
        """
        if self.sparse_embedding and distributed and device == "cuda":
            raise OptionError(
                "{} cannot train distributed on CUDA: NCCL cannot all-reduce sparse "
                "gradients; leave it out (the dense step) or train in one process",
                Opt("sparse_embedding", "True"),
            )
        if self.sparse_embedding is not None:
            return self.sparse_embedding
        return (
            self.sparse_embedding_blocker() is None
            and not distributed
            and not self.compile
            and device in ("cpu", "cuda")
        )

    def sparse_embedding_blocker(self) -> OptionError | None:
        """Why lazy AdamW cannot apply to this run (its message says), or None when it can.

        `sparse_embedding=True` with a reason is an error; the default (None) then just keeps
        the dense step.
        """
        name = Opt("sparse_embedding")
        if self.optimizer is not OptimizerKind.ADAMW:
            return OptionError(
                "{} needs {} (lazy AdamW); got {}",
                name, Opt("optimizer", "'adamw'", "adamw"),
                Given("optimizer", str(self.optimizer)),
            )  # fmt: skip
        if not self.word_embedding_model:
            return OptionError(
                f"{{}} is for models with a word embedding, not {str(self.model)!r}", name
            )
        return None

    def fusion_blocker(self) -> OptionError | None:
        """Why this run cannot fuse with the linear model, or None when it can.

        `fuse_linear=True` with a reason is an error; the default (None) just leaves such a
        run unfused, so `--model linear` and `--valid-fraction 0` keep working without a
        flag. A regression fuses with ridge regression.
        """
        if not self.word_embedding_model:
            return OptionError(
                f"needs an embedding model (boe, cnn, ...), not {str(self.model)!r}"
            )
        no_valid = self.valid is None and self.valid_fraction == 0
        if no_valid and not self.fusion_fixed and not self.fuse_folds:
            return OptionError(
                "chooses its weight on a validation split ({} leaves none; {} or {} fixes it, "
                "{} cross-fits it)",
                Opt("valid_fraction", "0", "0"), Opt("fuse_weight"), Opt("fuse_pool"),
                Opt("fuse_folds"),
            )  # fmt: skip
        return None

    def resolved_epochs(self, steps_per_epoch: int) -> int:
        """`epochs`, or the epochs the step budget gives at `steps_per_epoch` batches each."""
        if self.epochs is not None:
            return self.epochs
        return min(max(self.budget_epochs(steps_per_epoch), self.min_epochs), self.max_epochs)

    def budget_epochs(self, steps_per_epoch: int) -> int:
        """The epochs `train_steps` needs at `steps_per_epoch` batches each, before the bounds.

        One formula for the epochs a run trains (`resolved_epochs`), the log's budget line
        and the ensemble default's check of whether `max_epochs` cuts the budget.
        """
        return math.ceil(self.train_steps / max(steps_per_epoch, 1))

    # -- conversion ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON- and YAML-able dict (enums as their string values, `fuse_pool` a list)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, os.PathLike):  # one set after construction
                value = os.fsdecode(value)
            out[f.name] = value.value if isinstance(value, Enum) else value
        if self.fuse_pool is not None:
            out["fuse_pool"] = list(self.fuse_pool)
        return out

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, source: str = "config", saved_run: bool = False
    ) -> FinetuneConfig:
        """Build from a mapping; errors begin with `source` (none where it is "").

        `saved_run`: `data` are the settings of a run already made (its config.json), read
        without the checks of new settings that earlier versions did not make
        (`_graft_checks`), so that such a run still resumes; `replace` keeps the leniency.
        """
        where = f"{source}: " if source else ""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{where}unknown option(s) {unknown}; known: {sorted(known)}")
        data = {k.replace("-", "_"): v for k, v in data.items()}  # family defaults: __init__
        try:  # values of the wrong kind are refused by the constructor (`_check_types`)
            return cls(**{**data, "_saved_run": True}) if saved_run else cls(**data)
        except OptionError as exc:  # keeps naming the options as the caller typed them
            raise (exc.within(source) if source else exc) from None
        except (ConfigError, TypeError, ValueError) as exc:
            raise ConfigError(f"{where}{exc}") from exc

    @classmethod
    def for_model(cls, model: ModelKind | str, **fields: Any) -> FinetuneConfig:
        """Settings for `model` with its family's defaults (`MODEL_DEFAULTS`) under `fields`.

        The same as `FinetuneConfig(model=model, **fields)`, which applies them too:

            >>> FinetuneConfig.for_model("hf", hf_model="MiniLM/").lr
            5e-05
        """
        return cls.from_dict({**fields, "model": model}, source=f"model {model}")

    def __setattr__(self, name: str, value: Any) -> None:
        """Parse a choice set after construction (`cfg.task = "regression"`) as `__init__` does.

        Why: the fields are typed `Task | str` so that `FinetuneConfig(task="regression")`
        type-checks, and a str set later reached code that tests `cfg.task is
        Task.REGRESSION` as a str: a run half regression, half classification.
        """
        kind = _CHOICES.get(name)
        if kind is not None and "_enums_parsed" in self.__dict__:
            value = parse_enum(kind, value, name)
        super().__setattr__(name, value)

    def replace(self, **changes: Any) -> FinetuneConfig:
        """A copy with `changes` applied (and validated), a saved run's still one."""
        if getattr(self, "_saved_run", False):
            changes["_saved_run"] = True  # `_with_family_defaults` takes it off
        return dataclasses.replace(self, **changes)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the config as JSON, atomically."""
        from vecgraft._util.atomic import atomic_write_json

        atomic_write_json(path, self.to_dict(), ensure_ascii=True, sort_keys=True)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, saved_run: bool = False) -> FinetuneConfig:
        """Read a YAML, TOML or JSON config file (chosen by extension).

        `saved_run`: the file is a run's own config.json (`--resume`), see `from_dict`.
        A refused value is named by its key in the file: a command said `--encoding klingon`
        of a run's config.json, a flag the user never typed.
        """
        return cls.from_file_data(read_config_file(path), path, saved_run=saved_run)

    @classmethod
    def from_file_data(
        cls, data: Mapping[str, Any], path: str | os.PathLike[str], *, saved_run: bool = False
    ) -> FinetuneConfig:
        """`load` of `data`, the mapping already read from `path` (`read_config_file`).

        Why: a resume that also rewrites the run's config.json (`record_overrides`) read
        it twice, once for the settings and once for the entries it writes back.
        """
        try:
            return cls.from_dict(data, source=str(path), saved_run=saved_run)
        except OptionError as exc:
            raise exc.from_file({k.replace("-", "_") for k in data}, str(path)) from None


# the fields holding one of a fixed set of choices, parsed whenever they are set
_CHOICES: dict[str, type[StrEnum]] = {
    "model": ModelKind, "optimizer": OptimizerKind, "schedule": ScheduleKind,
    "metric": Metric, "task": Task, "errors": UnicodeErrors, "bad_rows": BadRowPolicy,
}  # fmt: skip


def _with_family_defaults(init: Any) -> Any:
    """The dataclass `__init__`, taking `MODEL_DEFAULTS` for the keywords not given.

    `FinetuneConfig(model="hf", hf_model=...)` trained a transformer at the static models'
    lr 2e-3 and step budget (200 epochs) while the CLI gave it 5e-5 and 3 epochs.
    `dataclasses.replace` passes every field, so a copy keeps its values.
    """
    names = [f.name for f in dataclasses.fields(FinetuneConfig)]

    @functools.wraps(init)
    def __init__(self: FinetuneConfig, *args: Any, **kwargs: Any) -> None:
        # not a field (to_dict, ==): a saved run's settings, which `_checks` reads (`from_dict`)
        object.__setattr__(self, "_saved_run", bool(kwargs.pop("_saved_run", False)))
        given = {**dict(zip(names, args)), **kwargs}  # `model` may come by position
        model = str(getattr(given.get("model"), "value", given.get("model"))).lower()
        family = {k: v for k, v in MODEL_DEFAULTS.get(model, {}).items() if k not in given}
        init(self, *args, **{**family, **kwargs})  # 'HF' or a positional 'hf' got cnn's

    return __init__


FinetuneConfig.__init__ = _with_family_defaults(FinetuneConfig.__init__)  # type: ignore[method-assign]


@functools.cache
def _field_types() -> dict[str, Any]:
    """FinetuneConfig's field annotations, resolved (they are strings in this module)."""
    import typing

    return typing.get_type_hints(FinetuneConfig)


def with_added_defaults(saved: Mapping[str, Any], now: Mapping[str, Any]) -> dict[str, Any]:
    """`saved` settings plus each key of `now` they lack that `now` holds at its default.

    Settings kept by an earlier version (a study's journal, a compare.json) lack fields
    added since; at their default those runs computed the same thing, so a comparison of
    the two must not call them different settings.

    >>> with_added_defaults({"lr": 0.1}, {"lr": 0.1, "max_size": None})
    {'lr': 0.1, 'max_size': None}
    >>> with_added_defaults({"lr": 0.1}, {"lr": 0.1, "max_size": 5})
    {'lr': 0.1}
    """
    defaults: dict[str, Any] = {}
    for f in dataclasses.fields(FinetuneConfig):
        if f.default is not dataclasses.MISSING:
            defaults[f.name] = f.default.value if isinstance(f.default, Enum) else f.default
    out = dict(saved)
    for key, value in now.items():
        if key not in out and key in defaults and value == defaults[key]:
            out[key] = value
    return out


def tokenizer_kinds(value: Any) -> Any:
    """`tokenizer` with its kinds in lower case; a list of several kept, of one its kind.

    Why a list: `finetune --model hf --tokenizer jieba --tokenizer char` kept only char
    for `--add-tokens`, where `graft-vocab` pools the words of both (its own example).
    A value of another type (5, ["jieba", 3]) is left as it is for `_check_types` to refuse.
    """
    if isinstance(value, list | tuple) and all(isinstance(kind, str) for kind in value):
        kinds = list(dict.fromkeys(kind.lower() for kind in value))
        return None if not kinds else kinds[0] if len(kinds) == 1 else kinds
    return value.lower() if isinstance(value, str) else value


def several_tokenizers(kinds: list[Any], for_what: str, why: str, *parts: Opt) -> OptionError:
    """The error of several tokenizer kinds where one reads the texts.

    `for_what` and `why` are templates whose `{}` are `parts` (options, named as the caller
    types them); the kinds given are shown between them. Shared by FinetuneConfig (several
    pool only model hf's graft words) and the commands whose repeated `--tokenizer` kept
    the last kind without a word (`one_tokenizer`).
    """
    shown = ", ".join(map(str, kinds)).replace("{", "{{").replace("}", "}}")
    return OptionError(
        "{} takes one kind for " + for_what + "; several (" + shown + ") " + why,
        Opt("tokenizer"), *parts,
    )  # fmt: skip


def one_tokenizer(value: Any, for_what: str, why: str, *parts: Opt) -> str | None:
    """The one kind of `value` (a kind, or the list a repeated `--tokenizer` gives).

    The same kind given twice is that kind; several are refused (`several_tokenizers`).
    """
    kinds = tokenizer_kinds(value)
    if isinstance(kinds, list):
        raise several_tokenizers(kinds, for_what, why, *parts)
    return kinds


def _pooled_tokenizers(kinds: list[Any], model: Any) -> OptionError:
    """The error of several tokenizer kinds given to a model that reads texts with one."""
    return several_tokenizers(
        kinds, "{}", "only pool the words that {} grafts with {}",
        Opt("model", repr(str(model)), str(model)), Opt("add_tokens"), Opt("model", "'hf'", "hf"),
    )  # fmt: skip


def user_dict_needs_jieba(kind: str, why: str = "") -> OptionError:
    """The error of a jieba user dictionary given to a run that tokenizes with `kind`.

    `why` says where `kind` came from when the user did not name it (the vectors'
    metadata.json, or the default): a CLI user reads `--user-dict ... needs --tokenizer
    jieba`, the fix, not Tokenizer's `user_dict is only used by ...` from deep in a run.
    """
    why = why.replace("{", "{{").replace("}", "}}")
    return OptionError(
        "{} (a jieba user dictionary) needs {}; the tokenizer is {}" + why,
        Opt("user_dict"), Opt("tokenizer", "'jieba'", "jieba"), Given("tokenizer", kind),
    )  # fmt: skip


def _is(option: str, what: str, value: Any) -> OptionError:
    """`<option> is <what>; got <value>`."""
    return OptionError(f"{{}} is {what}; got {{}}", Opt(option), Given(option, value))


def _about(option: str, sep: str, reason: OptionError | None) -> OptionError:
    """`reason` said of `option` (`fuse_linear needs an embedding model ...`)."""
    if reason is None:
        return OptionError("")  # never raised: its check holds where there is no reason
    head = "{}" + sep if option else ""
    parts = (Opt(option),) if option else ()
    return OptionError(head + reason.template, *parts, *reason.parts)


_POOL_FORM = "fuse_pool is two weights (network, linear), e.g. [0.5, 1.2]"


def _pool_pair(value: Any) -> tuple[float, float] | None:
    """`fuse_pool` as a pair of Python floats (a config file or JSON gives a list); None stays.

    numpy's numbers and a 1-d array are taken as Python's (`plain_number`: config.json
    writes what the user wrote); a bool is no weight (`(True, 2.0)` became 1.0, 2.0).
    """
    if value is None:
        return None
    items = value.tolist() if hasattr(value, "tolist") else value
    try:
        a, b = (_pool_weight(w) for w in items)
    except (TypeError, ValueError):
        raise ConfigError(f"{_POOL_FORM}; got {value!r}") from None
    return a, b


def _pool_weight(value: Any) -> float:
    """One of `fuse_pool`'s weights as a float; TypeError for a bool."""
    if isinstance(value, bool) or misfit(value, bool) is None:
        raise TypeError(value)
    return float(plain_number(value))


def read_config_file(
    path: str | os.PathLike[str], what: str = "config file"
) -> dict[str, Any]:
    """The mapping in a .yaml/.yml, .toml or .json file; errors name the file, as `what`.

    Read as run-folder JSON is (`read_text_file`): a FIFO or device is refused unopened, the
    size is capped, and a nesting too deep for the parser is a ConfigError, not a traceback.
    `what` says which file it is ("the search space file": a missing `--space` file was said
    to be a missing config file).
    """
    from vecgraft._util.jsonfile import RECORD_LIMIT, JsonFileError, read_text_file

    p = Path(path)
    try:
        text = read_text_file(p, limit=RECORD_LIMIT)
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read {what} ({exc.strerror})") from exc
    except JsonFileError as exc:
        raise ConfigError(f"{p}: cannot read {what}: it {exc}") from exc
    suffix = p.suffix.lower()
    try:
        data = _parse_config(text, suffix, p)
    except RecursionError:
        raise ConfigError(f"{p}: cannot parse config: nested too deeply") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a mapping of option -> value, got {type(data).__name__}")
    return data


def _parse_config(text: str, suffix: str, p: Path) -> Any:
    """The value in `text`, parsed as `suffix` (.yaml/.yml, .toml, .json) says."""
    if suffix in (".yaml", ".yml"):
        import yaml

        try:
            return yaml.load(text, Loader=_yaml_loader()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{p}: cannot parse YAML: {exc}") from exc
    if suffix in (".toml", ".json"):
        try:
            return _tomllib().loads(text) if suffix == ".toml" else json.loads(text)
        except ValueError as exc:  # TOMLDecodeError and JSONDecodeError are ValueErrors
            raise ConfigError(f"{p}: cannot parse config: {exc}") from exc
    raise ConfigError(f"{p}: unknown config format {suffix!r}; use .yaml, .toml or .json")


@functools.cache
def _yaml_loader() -> Any:
    """PyYAML's safe loader, reading `1e-4` as the number YAML 1.2 and every user means.

    PyYAML follows YAML 1.1, where a float needs a dot: `lr: 1e-4` (the README's own
    search-space example) was the string '1e-4', refused as "not a number".
    Aliases (`*a`) are refused: a config file has no need of them, and eight levels of lists
    of ten aliases each (a "billion laughs") expanded to gigabytes once the run wrote
    its config.json.
    """
    import yaml

    class Loader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"found the alias *{event.anchor}; a config file takes no anchors and "
                    "aliases, write the value out",
                    event.start_mark,
                )
            return super().compose_node(parent, index)

    exponent = re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")
    Loader.add_implicit_resolver("tag:yaml.org,2002:float", exponent, list("-+0123456789"))
    return Loader


def _tomllib() -> Any:
    import tomllib

    return tomllib
