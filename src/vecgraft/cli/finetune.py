"""`vecgraft finetune`: train a text classifier on top of pretrained (or random) vectors."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Any

from vecgraft.cli._options import output_path
from vecgraft.cli._text_args import (
    BAD_ROWS_HELP,
    ENCODING_HELP,
    ERRORS_HELP,
    USER_DICT_HELP,
    USER_DICT_RUN_NOTE,
)
from vecgraft.errors import ConfigError, OptionError

DESCRIPTION = """\
Fine-tune a text classifier whose embedding starts from pretrained word vectors.

Data files are CSV/TSV/JSONL with `text` and `label` columns, or a folder per class.
Without --test, a stratified 80/20 split of --train (seeded) is used; without --valid, 10%
of the training data is held out for early stopping. Settings come from defaults, then
--config FILE (YAML/TOML/JSON, same names as the flags), then the flags given here.
The run folder gets config.json, best/ and last/ checkpoints, metrics.json and plots."""

EPILOG = """\
examples:
  vecgraft finetune --train bbc/ --vectors glove.6B.50d.txt --model cnn --lower --out runs/bbc
  vecgraft finetune --train train.csv --test test.csv --vectors random --out runs/baseline
  vecgraft finetune --config run.yaml --epochs 20          # flags override the file
  vecgraft finetune --out runs/bbc --resume                # continue an interrupted run
  vecgraft finetune --train mr_train.csv --test mr_test.csv --model hf --hf-model MiniLM/
  vecgraft finetune --train zh.csv --model hf --hf-model MiniLM/ --tokenizer jieba \\
      --add-tokens 2000 --graft-init vectors --graft-vectors zh_vectors/
  torchrun --nproc_per_node=2 -m vecgraft finetune --train bbc/ --vectors random --out runs/ddp"""

# flag -> help text; the flag of field `a_b` is `--a-b`. Booleans get --x/--no-x.
_HELP: dict[str, str] = {
    "train": "labelled training data (CSV/TSV/JSONL file or folder per class)",
    "test": "labelled test data (default: stratified split of --train)",
    "valid": "labelled validation data (default: stratified split of the training data)",
    "task": "classification, or regression for numeric labels (MSE; RMSE, MAE, Pearson, "
    "Spearman in metrics.json)",
    "vectors": "vector file or folder anything `vecgraft.load` reads, 'random', or "
    "hf:FOLDER: a transformer checkpoint whose vectors for the run's words are derived "
    "(contextless, PCA 64, SIF: the benchmark's minilm column)",
    "model": "classifier (see vecgraft.nn.models); linear is TF-IDF n-grams + a linear SVM, "
    "the baseline to beat",
    "out": "run folder to create",
    "text_column": "name of the text column",
    "label_column": "name of the label column",
    "encoding": ENCODING_HELP,
    "errors": ERRORS_HELP,
    "bad_rows": BAD_ROWS_HELP,
    "tokenizer": "how texts are split into tokens (None: the one in the vectors' "
    "metadata.json, else jieba for Chinese training texts or a --user-dict, else regex); "
    "with --model hf, which reads the checkpoint's own tokenizer, how --add-tokens finds "
    "words: repeat to pool several (--tokenizer jieba --tokenizer char)",
    "zh_mode": "Chinese tokens of the jieba tokenizer: word, char or word+char (None: the "
    "vectors' metadata.json, else word)",
    "lower": "lowercase tokens (None: on when the vectors' vocabulary is lowercase, as "
    "GloVe's)",
    "halfwidth": "full-width ASCII (ＡＢＣ１２３) to ASCII before tokenizing (None: as the "
    "vectors' metadata.json says, else off)",
    "simplified": "traditional Chinese to simplified (OpenCC) before tokenizing (None: as "
    "the vectors' metadata.json says, else off)",
    "user_dict": USER_DICT_HELP + USER_DICT_RUN_NOTE,
    "stopwords": "drop stopwords: 'en', 'zh' or a file with one word per line",
    "max_length": "truncate texts to this many tokens (0: no limit)",
    "min_freq": "drop training tokens seen fewer times",
    "max_size": "keep only the N most frequent training tokens in the vocabulary (as "
    "`build --max-size`; default: no cap)",
    "extend_vocab": "also give rows to up to N of the vectors' most frequent words the training "
    "texts lack, so words first met at test or prediction time keep their vectors (0: off)",
    "project_untrained": "after each epoch, move the pretrained rows training never updates "
    "by the linear map the trained rows took",
    "embedding_dim": "dimension of a random embedding (--vectors random)",
    "train_fraction": "train on a stratified, seeded fraction of the training data",
    "valid_fraction": "fraction of training data held out when no --valid is given (0: no "
    "validation split; the run keeps its last epoch)",
    "test_fraction": "fraction of --train held out for testing when no --test is given",
    "dedupe": "drop test texts that also occur in the training data (or the --valid file)",
    "seed": "random seed (splits, initialisation, batch order)",
    "split_seed": "seed of the train/test split of --train (default: --seed)",
    "epochs": "maximum number of epochs (None: from --train-steps)",
    "train_steps": "optimizer-step budget that sets the epochs when --epochs is not given",
    "min_epochs": "fewest epochs the step budget may give",
    "max_epochs": "most epochs the step budget may give",
    "batch_size": "global batch size (summed over processes under torchrun)",
    "optimizer": "optimizer of the model and the embedding",
    "lr": "learning rate of the model (not the embedding)",
    "embedding_lr": "learning rate of the embedding once unfrozen (None: lr / 10; with "
    "--model hf the lowest layer's lr)",
    "weight_decay": "weight decay (not applied to the embedding)",
    "momentum": "SGD momentum",
    "schedule": "learning-rate decay after warm-up",
    "warmup": "warm-up: a fraction of all steps (< 1) or a number of steps",
    "grad_clip": "clip the gradient norm to this value (0: off)",
    "freeze_epochs": "keep the embedding frozen for this many epochs first",
    "patience": "stop after this many epochs without improvement, counted once the warm-up "
    "has ended (0: off)",
    "min_valid": "validation rows needed to stop early or pick the best epoch (fewer: "
    "train the whole budget, keep the last epoch)",
    "restore_best": "keep the best validation epoch and stop early (--no-restore-best: train "
    "the whole budget, keep the last epoch)",
    "fuse_linear": "also fit the TF-IDF linear model (ridge regression for --task regression) "
    "and predict with both, weighted on the validation split (default: on for an embedding "
    "network with validation rows; --no-fuse-linear: the network alone)",
    "fuse_rule": "how a fused classifier combines the two models: 'pool', softmax(a log "
    "p_network + b log p_linear) with a and b fitted by validation log-loss, or 'mix', a "
    "weighted mean with the network's share chosen from 0, .25, ... 1 by accuracy",
    "fuse_weight": "the network's share of the fused prediction, 0-1, fixed (default: chosen "
    "on the validation split)",
    "fuse_pool": "the log-linear pool's weights A (network) and B (linear), fixed "
    "(default: fitted on the validation split)",
    "fuse_folds": "choose the fusion weight by K-fold cross-fitting on train + valid: K more "
    "trainings, for small data (0: off, the default)",
    "ensemble": "train K networks (own seed and validation split each, sharing the epoch "
    "cap) and average their predictions (default: 3 for a classifier on a small training "
    "set, where the epoch cap binds; 1: one network)",
    "metric": "validation metric for early stopping and the best checkpoint",
    "bucket": "batch texts of similar length together (less padding)",
    "bucket_factor": "batches per length-sorted mega-batch",
    "bf16": "bfloat16 autocast (default: on for GPUs with native bf16, Ampere or newer, and "
    "on CPUs with AMX bf16 units except --model hf; off on older GPUs and other CPUs)",
    "compile": "torch.compile the model",
    "device": "'auto', 'cpu', 'cuda', 'cuda:1', ...",
    "resume": "continue the interrupted run in --out with the settings it started with "
    "(--device, --progress, --max-steps, --compile and --plots may be given anew; a larger "
    "--max-steps trains a run its cap had finished on to it)",
    "progress": "progress bars (default: only on a terminal; off one, a large vector file's "
    "load writes a plain line every 30 s, which --no-progress stops)",
    "max_steps": "stop after this many optimizer steps in total",
    "checkpoint_every": "seconds between rewrites of the resumable last/ checkpoint (0: every "
    "epoch; a new best epoch and the end always write)",
    "plots": "write PNG plots (needs matplotlib)",
    "grad_accum": "run each batch as this many pieces, summing gradients (less memory)",
    "ema_epochs": "score and keep a moving average of the weights spanning at most this many "
    "epochs (default: 1 for a classifier with word vectors; 0: off)",
    "label_smoothing": "spread this share of each training target over all classes (0: off)",
    "class_weight": "weigh each training text's loss by its class, for imbalanced labels: "
    "'balanced' (n_texts / (n_classes * texts of the class), scikit-learn's rule) in the "
    "network, the linear model and the fusion's fit (a mapping label: weight goes in "
    "--config) (default: every text weighs 1)",
    "sparse_embedding": "update only the embedding rows each batch uses (lazy AdamW; faster "
    "on large vocabularies) (default: on with adamw and a word embedding in one process "
    "on the CPU or CUDA without --compile; --no-sparse-embedding for the dense step)",
    "layer_decay": "layer-wise lr decay: layer k below the top trains at lr * X**k (--model hf)",
    "hf_model": "local Hugging Face checkpoint folder fine-tuned whole (--model hf)",
    "add_tokens": "graft N corpus words (or the words of FILE) into --hf-model's vocabulary",
    "graft_init": "first rows of grafted tokens (--add-tokens)",
    "graft_vectors": "static vectors of the new words' language (--graft-init vectors)",
}
_METAVARS = {
    "train": "PATH",
    "test": "PATH",
    "valid": "PATH",
    "vectors": "PATH|random|hf:FOLDER",
    "out": "DIR",
    "device": "DEVICE",
    "text_column": "NAME",
    "label_column": "NAME",
    "stopwords": "en|zh|FILE",
    "user_dict": "FILE",
    "encoding": "NAME",
    "hf_model": "DIR",
    "add_tokens": "N|FILE",
    "graft_vectors": "PATH",
}
# '-' as --out is a usage error: a run folder is no stream
_TYPES: dict[str, Any] = {"out": output_path("finetune")}
_PAIRS = {"fuse_pool": ("A", "B")}  # fields given as two numbers
# fields whose flag takes one of these words (a --config file may give more: a mapping)
_CHOICES = {"class_weight": ["balanced"], "fuse_rule": ["pool", "mix"]}
_ALIASES = {"max_size": ("--max-vocab",)}  # the spelling pretrain uses, as build takes both
# flags a repeat adds to (a list), not replaces: model hf pools the words each tokenizer finds
_REPEATABLE = {"tokenizer"}
# fields with no flag of their own: --model-option sets model_options, and
# --vectors-encoding (a reading flag) graft_vectors_encoding with --model hf
_FLAG_DEFAULT_HIDDEN = ("model_options", "graft_vectors_encoding")

# hints naming `dedupe=False` (an empty test part after de-duplication) mean its off switch
OPTION_FLAGS = {"dedupe": "--no-dedupe", "graft_vectors_encoding": "--vectors-encoding"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per FinetuneConfig field (defaults suppressed so the file can set them)."""
    parser.add_argument("--config", metavar="FILE", help="YAML/TOML/JSON file of settings")
    add_config_arguments(parser)
    parser.add_argument(
        "--model-option",
        action="append",
        metavar="KEY=VALUE",
        default=argparse.SUPPRESS,
        help="extra model option (VALUE parsed as JSON when possible), repeatable",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run in --out (only the files its manifest.json lists; they are kept "
        "aside until the new run's first checkpoint, and put back if it fails before)",
    )
    parser.add_argument(
        "--adopt",
        action="store_true",
        help="with --resume: continue a run folder copied or moved from elsewhere",
    )

    from vecgraft.cli._vectors_args import add_load_arguments

    add_load_arguments(parser)


def add_config_arguments(
    parser: argparse.ArgumentParser, names: Collection[str] | None = None
) -> None:
    """The flag of each FinetuneConfig field in `names` (default: all), as finetune has it.

    Defaults are suppressed: a flag not given leaves the field to the --config file, else
    the library's default (`given_settings` collects those given). `vecgraft tune` takes its
    text-preparation flags from here, so their names, help and choices are finetune's.
    """
    from vecgraft.cli._options import enum_choices, enum_type
    from vecgraft.finetune.config import FinetuneConfig

    defaults = FinetuneConfig()
    for f in dataclasses.fields(FinetuneConfig):
        if f.name in _FLAG_DEFAULT_HIDDEN or (names is not None and f.name not in names):
            continue
        flag = "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        shown = getattr(default, "value", default)
        help_text = _HELP.get(f.name, f.name)
        # a None default is shown where the help says what None means ("None: lr / 10");
        # "(default: None)" on --train or --stopwords told nothing
        if "(default:" not in help_text and (default is not None or "None:" in help_text):
            help_text += f" (default: {shown})"
        if f.name == "model":
            help_text += _family_defaults_note()
        kind = _field_type(f)
        choices = _enum_of(f.name)
        if f.name in _CHOICES:  # a mapping is for a --config file
            parser.add_argument(
                flag, choices=_CHOICES[f.name], default=argparse.SUPPRESS, help=help_text
            )
        elif choices is not None:
            parser.add_argument(
                flag, choices=enum_choices(choices), type=enum_type(choices),
                default=argparse.SUPPRESS, help=help_text,
                action="append" if f.name in _REPEATABLE else "store",
            )  # fmt: skip
        elif kind is bool:
            parser.add_argument(
                flag,
                action=argparse.BooleanOptionalAction,
                default=argparse.SUPPRESS,
                help=help_text,
            )
        elif f.name in _PAIRS:
            parser.add_argument(
                flag, type=float, nargs=2, default=argparse.SUPPRESS, help=help_text,
                metavar=_PAIRS[f.name],
            )  # fmt: skip
        else:
            metavar = _METAVARS.get(f.name, _metavar(kind))
            parser.add_argument(
                flag, *_ALIASES.get(f.name, ()), type=_TYPES.get(f.name, kind),
                default=argparse.SUPPRESS,
                help=help_text, metavar=metavar,
            )  # fmt: skip


def _family_defaults_note() -> str:
    """The defaults each `MODEL_DEFAULTS` family takes instead of those the flags show.

    The flags show the embedding models' defaults; `--model hf` silently trained at lr 5e-5,
    128 tokens and 3 epochs while --help said 0.002, 400 and the step budget.
    """
    from vecgraft.finetune.config import MODEL_DEFAULTS

    notes = [
        f"; --model {model} has its own defaults: "
        + ", ".join(f"--{name.replace('_', '-')} {value}" for name, value in values.items())
        for model, values in MODEL_DEFAULTS.items()
    ]
    return "".join(notes)


def _enum_of(name: str) -> type[Enum] | None:
    """The enum whose values a FinetuneConfig field takes (its flag's choices), if any."""
    from vecgraft._util.policies import BadRowPolicy, UnicodeErrors
    from vecgraft.finetune.config import Metric, OptimizerKind, ScheduleKind, Task
    from vecgraft.nn.kinds import ModelKind
    from vecgraft.text.tokenize import TokenizerKind
    from vecgraft.text.zh import ZhMode
    from vecgraft.transformer.graft import GraftInit

    # --errors and --bad-rows list their choices as build's, evaluate's and tune's do
    enums: dict[str, type[Enum]] = {
        "errors": UnicodeErrors,
        "bad_rows": BadRowPolicy,
        "graft_init": GraftInit,
        "model": ModelKind,
        "optimizer": OptimizerKind,
        "schedule": ScheduleKind,
        "metric": Metric,
        "tokenizer": TokenizerKind,
        "zh_mode": ZhMode,
        "task": Task,
    }
    return enums.get(name)


def _field_type(f: dataclasses.Field[Any]) -> type:
    text = str(f.type)
    for name, kind in (("bool", bool), ("int", int), ("float", float)):
        if text.startswith(name):
            return kind
    return str


def _metavar(kind: type) -> str:
    return {int: "N", float: "X"}.get(kind, "VALUE")


def _model_options(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--model-option expects KEY=VALUE, got {item!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def given_settings(
    args: argparse.Namespace, names: Collection[str] | None = None
) -> dict[str, Any]:
    """The FinetuneConfig fields (of `names`, default all) the command line gave.

    They go over the --config file's. A negative value of a field whose 0 means None
    (`--max-length 0`: no limit) is refused here, naming the flag: the config's "> 0"
    would hide that 0 works.
    """
    from vecgraft.finetune.config import ZERO_MEANS_NONE, FinetuneConfig

    known = {f.name for f in dataclasses.fields(FinetuneConfig)}
    if names is not None:
        known &= set(names)
    flags = {k: v for k, v in vars(args).items() if k in known}
    for name, zero in ZERO_MEANS_NONE.items():  # 0 is None: FinetuneConfig maps it
        if (flags.get(name) or 0) < 0:
            raise OptionError.out_of_range(name, f">= 0 (0: {zero})", flags[name])
    return flags


def _config_and_run(args: argparse.Namespace) -> tuple[Any, Any]:
    """The FinetuneConfig and, with --resume, the run's saved one (else None).

    The config: defaults (--resume: the run's settings) <- --config file <- flags.
    The run's config.json is read once, here, and handed to each check of the resume
    (`_check_run_flags`, `_keep_saved_runtime`, `_vectors_loader`), which each read it again
    before.
    """
    from vecgraft.finetune.config import read_config_file

    data: dict[str, Any] = {}
    if getattr(args, "config", None):
        data.update(read_config_file(args.config))
    flags = given_settings(args)
    read_from, saved = _resumed_run({**data, **flags})
    run = _resumed_settings(saved)
    flags.update(_graft_encoding(args, {**(run or {}), **data, **flags}))
    if getattr(args, "model_option", None):
        flags["model_options"] = {
            **dict({**(run or {}), **data}.get("model_options") or {}),
            **_model_options(args.model_option),
        }
    run_file = None if read_from is None else str(Path(read_from) / "config.json")
    config = checked_config(data, flags, getattr(args, "config", None), run=run, run_file=run_file)
    _regression_unused(config, data, flags, getattr(args, "config", None))
    if getattr(args, "config", None) and not config.resume:
        from vecgraft.finetune.run import check_run_config_inputs

        given = {k.replace("-", "_") for k in flags}
        check_run_config_inputs(config, args.config, {k.replace("-", "_") for k in data} - given)
    if config.resume and read_from != config.out:  # `--out ""`: the settings are the default's
        from vecgraft.finetune.rundir import check_free

        check_free(config.out)  # as `run` does before the checks that read it
        saved = _saved_config(config.out)
    return config, saved


def _graft_encoding(args: argparse.Namespace, settings: dict[str, Any]) -> dict[str, Any]:
    """--vectors-encoding as `graft_vectors_encoding` where the run reads --graft-vectors.

    Why: with --model hf the vector file read is --graft-vectors (--vectors is refused), and
    its encoding was ignored, the decode error saying "pass --vectors-encoding NAME" though
    it was passed. A config field, so that config.json keeps it for --resume.
    """
    from vecgraft.cli._vectors_args import check_codec

    name = getattr(args, "vectors_encoding", None)
    model = settings.get("model")
    hf = str(getattr(model, "value", model)).lower() == "hf"
    if name is None or _is_default_encoding(name) or not hf:
        return {}
    check_codec(name)
    return {"graft_vectors_encoding": name}


# classifier settings whose library default a regression leaves alone (`FinetuneConfig`
# refuses macro_f1 and --fuse-pool, given only by hand): given, they would be ignored
_CLASS_ONLY = {
    "fuse_rule": ("pool", "pools class probabilities; a regression mixes the two predictions "
                  "by a share (--fuse-weight fixes one)"),
    "metric": ("accuracy", "scores classes; a regression stops early on the validation loss "
               "(MSE)"),
}  # fmt: skip


def _regression_unused(
    config: Any, from_file: dict[str, Any], flags: dict[str, Any], path: str | None
) -> None:
    """Refuse a classifier-only value given as a flag to a regression; note one in --config.

    Why: `--task regression --fuse-rule pool` and `--metric accuracy` were taken and
    ignored, while `--fuse-pool 1 1` and `--metric macro_f1` were refused. A --config file
    only gets a note: a run's config.json and tune's best.yaml write every setting, these
    defaults too.
    """
    from vecgraft.finetune.config import Task

    if config.task is not Task.REGRESSION:
        return
    for name, (value, why) in _CLASS_ONLY.items():
        if name in flags and str(flags[name]).lower() == value:
            raise ConfigError(f"{_flag(name)} {value} {why}")
        if name in from_file and name not in flags and str(from_file[name]).lower() == value:
            print(f"note: {path}: {name} {value!r} is not used: it {why}", file=sys.stderr)


def _resumed_run(given: dict[str, Any]) -> tuple[str | None, Any]:
    """With --resume, the folder resumed and its saved FinetuneConfig (None: no run there).

    (None, None): not resuming. A folder another command holds is refused before its
    config.json is read (`check_free`).
    """
    from vecgraft.cli._options import field_default
    from vecgraft.finetune.config import FinetuneConfig
    from vecgraft.finetune.rundir import check_free

    if not given.get("resume"):
        return None, None
    # the folder a plain `--resume` continues: FinetuneConfig's default
    out = given.get("out") or str(field_default(FinetuneConfig, "out"))
    check_free(out)
    return out, _saved_config(out)


def _saved_config(out: str) -> Any:
    """The FinetuneConfig of the run in `out` (its config.json); None where it has none."""
    from vecgraft.finetune.config import FinetuneConfig

    saved_file = Path(out) / "config.json"
    if not saved_file.is_file():
        return None  # a missing run is the library's error to report
    return FinetuneConfig.load(saved_file, saved_run=True)


def _resumed_settings(saved: Any) -> dict[str, Any] | None:
    """The resumed run's saved settings (`saved`), under the ones given; None: no run.

    A resume takes the run's settings, so only the flags given are checked against them
    (`_check_run_flags`). Checked alone, flags repeated from the run's command were refused
    as a new run's: `--model hf --graft-init mean` without the run's `--add-tokens 3` "is
    only used with --add-tokens N". Where and how the run shows progress is this command's.
    """
    if saved is None:
        return None
    return {k: v for k, v in saved.to_dict().items() if k not in _RESUME_FROM_COMMAND}


def checked_config(
    from_file: dict[str, Any],
    flags: dict[str, Any],
    path: str | None,
    *,
    run: dict[str, Any] | None = None,
    run_file: str | None = None,
) -> Any:
    """FinetuneConfig of a --config file's values (`path`) with the flags' over them.

    An error names a flag's option by the flag ("--lr must be > 0", not "command line:
    lr ..."), and one a file gave by its key: `max_length: -5` in the file said
    `--max-length must be > 0`, a flag not typed. `run`: a resumed run's saved settings
    (read from `run_file`, its config.json), under both; checked as that run's
    (`saved_run`), since a setting given anew must equal the run's (`_check_run_flags`).
    """
    from vecgraft.finetune.config import FinetuneConfig

    source = f"{path} + command line" if path else ""
    try:
        return FinetuneConfig.from_dict(
            {**(run or {}), **from_file, **flags}, source=source, saved_run=run is not None
        )
    except OptionError as exc:
        raise _named_by_file(exc, flags, [(path, from_file), (run_file, run or {})]) from None


def _named_by_file(
    exc: OptionError, flags: dict[str, Any], files: list[tuple[str | None, dict[str, Any]]]
) -> OptionError:
    """`exc` naming each option a file gave (not a flag) by its key, said of that file.

    `files`: (file, its values), the one whose values win first. Where every option named
    came from one file, the message begins with that file alone; else with `exc`'s source,
    or the files and "command line": a resumed run's `min_epochs: 9` against
    `--max-epochs 3` said `--min-epochs`, a flag the user never typed.
    """
    taken = {k.replace("-", "_") for k in flags}
    origin: dict[str, str] = {}
    for file, values in files:
        keys = {k.replace("-", "_") for k in values}
        if file:
            origin.update(dict.fromkeys(keys - taken, file))
        taken |= keys
    named = exc.option_names()
    used = list(dict.fromkeys(origin[n] for n in sorted(named) if n in origin))
    if not used:
        return exc
    source = used[0]
    if len(used) > 1 or not named <= set(origin):
        source = " + ".join([*used, "command line"])
    return exc.from_file(set(origin), used[0]).with_source(source)


def _vectors_loader(args: argparse.Namespace, config: Any, saved: Any = None) -> Any:
    """Load `--vectors` with the shared load flags (--trust, --max-line-bytes, ...).

    With --resume the run's saved vector path is the one loaded; None for random vectors.
    `saved`: the run's config.json as `_config_and_run` read it (None: read here).
    """
    from vecgraft.cli._vectors_args import content_flags, load_from_args
    from vecgraft.finetune.config import in_memory_error, in_memory_vectors
    from vecgraft.finetune.run import resolve_resume
    from vecgraft.finetune.vectors_arg import VectorFile

    path = (resolve_resume(config, adopt=args.adopt, saved=saved).vectors if config.resume
            else config.vectors)  # fmt: skip
    if path == "random":
        return None
    if in_memory_vectors(path):  # a Python caller's run: its vectors are not in a file
        source = getattr(args, "config", None)
        if config.resume:
            source = Path(config.out) / "config.json"
        raise in_memory_error(path, f"{source}: " if source else "")
    if path.startswith("hf:"):  # a checkpoint folder: vectors derived for the run's words
        return _transformer_words(path[3:], config.device)
    defaults = _load_flag_defaults()
    given = content_flags(args, defaults)
    if config.resume:
        given = _resumed_reading(Path(config.out), given, defaults)
    # --no-progress (or progress false in --config): no plain lines from a big file's load
    args = argparse.Namespace(**{**vars(args), **given, "progress": config.progress})
    return VectorFile(
        lambda tokens, limit: load_from_args(args, path, vocab=tokens, limit=limit),
        options=given,
    )


def _load_flag_defaults() -> dict[str, Any]:
    """The reading flags' defaults, as `add_load_arguments` declares them."""
    from vecgraft.cli._vectors_args import add_load_arguments

    parser = argparse.ArgumentParser(add_help=False)
    add_load_arguments(parser)
    return vars(parser.parse_args([]))


def _resumed_reading(
    out: Path, given: dict[str, Any], defaults: dict[str, Any]
) -> dict[str, Any]:
    """The reading flags the run started with (`splits.json`), refusing others given now.

    Not kept before, a run started with `--limit 5000` and resumed as its interrupt message
    said (`--out X --resume`) read every row and stopped on "the data changed".
    """
    from vecgraft.finetune.rundir import read_splits_notes

    saved = read_splits_notes(out)
    if saved is None:
        return given  # the library says what is missing
    recorded = saved.get("vector_options") or {}
    run = {name: recorded.get(name, defaults[name]) for name in given}
    changed = [f"--{name.replace('_', '-')} {value} (the run's: {run[name]})"
               for name, value in given.items() if value != run[name]]  # fmt: skip
    if changed:
        raise ConfigError(
            f"{out}: a resumed run reads its vectors as it started, and these differ: "
            f"{', '.join(changed)}; leave them out to resume"
        )
    return dict(recorded)


def _transformer_words(folder: str, device: str) -> Any:
    """The run's words' vectors from a transformer checkpoint (`classifier_vectors`)."""
    from vecgraft.transformer import classifier_vectors

    where = None if device == "auto" else device
    return lambda words: classifier_vectors(folder, words, device=where)


def run(args: argparse.Namespace) -> int:
    """Parse the settings, run the job, print where the results are.

    A folder another run is writing is refused first, before torch is imported or the
    run's files read, so the error is the lock's, not advice (`--resume`, `--overwrite`)
    that would then hit it.
    """
    from vecgraft.cli._options import refuse_stdout
    from vecgraft.finetune.rundir import check_free

    config, saved = _config_and_run(args)
    # --out - is refused while parsing (`output_path`); a --config file's out: '-' here
    refuse_stdout(config.out, "out", "finetune", "a folder")
    if not config.resume:  # a resume's folder was checked before its config.json was read
        check_free(config.out)
    from vecgraft.finetune.run import finetune

    _check_run_flags(args, config, saved)
    config = _keep_saved_runtime(args, config, saved)
    try:
        with _graft_decode_advice(config):
            finetune(
                config,
                overwrite=args.overwrite,
                adopt=args.adopt,
                vectors=_vectors_loader(args, config, saved),
            )
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (`Terminated`): the same cleanup
        from vecgraft._util.signals import exit_status, stopped_by

        # prefixed as main's own `vecgraft finetune: interrupted` (a stop before the run began)
        hint = _interrupted_hint(Path(config.out), args.overwrite)
        print(f"vecgraft finetune: {stopped_by(exc)}: {hint}", file=sys.stderr)
        return exit_status(exc)
    return 0


@contextmanager
def _graft_decode_advice(config: Any) -> Iterator[None]:
    """Retell a --graft-vectors decode error with the advice that works there.

    Why: it said "pass --vectors-encoding NAME or --unicode-errors replace", and the graft's
    read applies --vectors-encoding alone (`graft_vectors_encoding`): with --unicode-errors
    replace the same error came back. With --model hf no other vector file is read.
    """
    from vecgraft.errors import FormatError
    from vecgraft.io._rows import ENCODING_HINT, ENCODING_ONLY_HINT

    try:
        yield
    except FormatError as exc:
        if exc.hint is not ENCODING_HINT or config.graft_vectors is None:
            raise
        raise FormatError(exc.message, path=exc.path, line=exc.line, offset=exc.offset,
                          hint=ENCODING_ONLY_HINT) from None  # fmt: skip


def _check_run_flags(args: argparse.Namespace, config: Any, saved: Any) -> None:
    """Refuse flags that a run would silently ignore.

    `--adopt` acts only with `--resume`; `--resume` with `--overwrite` kept the run and
    dropped the overwrite; and a resumed run continues with the settings it was started
    with (its config.json), so a changed `--train` or `--epochs` was silently not used.
    Settings repeated with their saved values (the original command with `--resume`
    added) are fine. `saved`: the run's config.json, read (`_config_and_run`).
    """
    if args.adopt and not config.resume:
        raise ConfigError(
            "--adopt continues a run copied or moved from elsewhere: it needs --resume"
        )
    if args.overwrite and config.resume:
        raise ConfigError(
            "--resume continues the run in --out and --overwrite replaces it: pass one of them"
        )
    if not config.resume or saved is None:
        return  # a missing run is the library's error to report
    from vecgraft.finetune.run import RESUMABLE_OVERRIDES

    given = _given_fields(args)
    typed = _flag_fields(args)
    changed = [
        f"{_given_as(name, getattr(config, name), typed, args)} (the run's: "
        f"{_shown(getattr(saved, name))})"
        for name in sorted(given - set(RESUMABLE_OVERRIDES))
        if _comparable(getattr(config, name)) != _comparable(getattr(saved, name))
    ]
    if changed:
        raise ConfigError(
            f"{config.out}: a resumed run keeps the settings it was started with, and these "
            f"differ: {', '.join(changed)}; leave them out to resume, or start a new run "
            "(--overwrite, or another --out)"
        )


def _given_fields(args: argparse.Namespace) -> set[str]:
    """The FinetuneConfig fields the command line or its --config file set (not defaults)."""
    from vecgraft.finetune.config import read_config_file

    given = _flag_fields(args)
    if getattr(args, "config", None):
        given |= set(read_config_file(args.config))
    return given


def _flag_fields(args: argparse.Namespace) -> set[str]:
    """The FinetuneConfig fields a flag set (not the --config file, not defaults)."""
    from vecgraft.finetune.config import FinetuneConfig

    given = {k for k in vars(args) if k in {f.name for f in dataclasses.fields(FinetuneConfig)}}
    if hasattr(args, "model_option"):
        given.add("model_options")
    if not _is_default_encoding(getattr(args, "vectors_encoding", None)):
        given.add("graft_vectors_encoding")  # its flag is the reading flag (`_graft_encoding`)
    return given


def _given_as(name: str, value: Any, typed: set[str], args: argparse.Namespace) -> str:
    """A setting as the user gave it: `--epochs 5`, or `epochs: 5 in c.yaml` (--config).

    Why: a --resume refusal named a value its --config file gave by a flag the user never
    typed (`--epochs 5`), leaving them to hunt for it on the command line.
    """
    if name in typed:  # a flag goes over the file's value
        return f"{_flag(name)} {_shown(value)}"
    return f"{name}: {_shown(value)} in {args.config}"


def _is_default_encoding(name: str | None) -> bool:
    """Whether --vectors-encoding is absent (None) or names its default codec, however spelt.

    Why: compared as typed ("utf8", "UTF-8"), `--model hf --vectors-encoding utf8` was
    refused as "only used with --graft-vectors" where `utf-8` passed, and a --resume took it
    as given.
    """
    from vecgraft.cli._options import param_default
    from vecgraft.cli._vectors_args import codec_name
    from vecgraft.io import load

    # the flag's default, as add_load_arguments declares it, without building its parser
    return name is None or codec_name(name) == codec_name(param_default(load, "encoding"))


# resumable settings a --resume without their flag takes from the command line anyway:
# where the run goes, and progress bars (None: on a terminal, judged afresh)
_RESUME_FROM_COMMAND = ("out", "resume", "progress")


def _keep_saved_runtime(args: argparse.Namespace, config: Any, saved: Any) -> Any:
    """With --resume, the run's own `RESUMABLE_OVERRIDES` where no flag gives them anew.

    The library's resume takes these from the config it is handed, and a flag not given
    is its default there: a run started with --no-plots wrote PNGs when resumed, and one
    started with --compile (dense step) resumed with the sparse one. A flag given with
    --resume still changes them. `saved`: the run's config.json, read (`_config_and_run`).
    """
    if not config.resume or saved is None:
        return config
    from vecgraft.finetune.run import RESUMABLE_OVERRIDES

    given = _given_fields(args)
    kept = {name: getattr(saved, name) for name in RESUMABLE_OVERRIDES
            if name not in given and name not in _RESUME_FROM_COMMAND}  # fmt: skip
    return config.replace(**kept)


def _comparable(value: Any) -> Any:
    """`value` as saved settings compare: enums as values, paths normalised, lists."""
    import os

    value = getattr(value, "value", value)
    if isinstance(value, str) and value:
        return os.path.normpath(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def _flag(name: str) -> str:
    """The flag that sets field `name`, as a changed setting names it."""
    if name == "graft_vectors_encoding":  # its flag is the reading flag (`_graft_encoding`)
        return OPTION_FLAGS[name]
    return "--model-option" if name == "model_options" else "--" + name.replace("_", "-")


def _shown(value: Any) -> str:
    value = getattr(value, "value", value)
    if isinstance(value, (list, tuple)):
        return " ".join(map(str, value))
    return str(value)


def _interrupted_hint(out: Path, overwrite: bool) -> str:
    """What an interrupted run left, and how to go on: `--resume`, or the same command again.

    The checkpoints are in `last/` (an ensemble: its members'). Before its first checkpoint
    a run removes what it wrote (and `--overwrite` puts the earlier run back), so `--resume`
    would only say there is nothing to resume. After it, an `--overwrite` has removed the
    earlier run (an ensemble keeps it in `.replaced/` until it ends): said, as it went
    unsaid.
    """
    from vecgraft.finetune.rundir import REPLACED

    if overwrite and (out / "metrics.json").is_file():  # the earlier, finished run is back
        return ("stopped before the first checkpoint; the earlier run in --out is as it was: "
                "run the same command again to replace it")  # fmt: skip
    resume = f"continue with `vecgraft finetune --out {out} --resume`"
    earlier = ""
    if overwrite and (out / REPLACED).is_dir():
        earlier = f" (the earlier run stays in {out / REPLACED} until this one ends)"
    elif overwrite:
        earlier = " (the earlier run in --out was removed at this run's first checkpoint)"
    if (out / "last").is_dir():
        return f"the last checkpoint is in {out / 'last'}; {resume}{earlier}"
    if (out / "members").is_dir():
        return (f"each network's last checkpoint is in {out / 'members'}/<k>/last; "
                f"{resume}{earlier}")  # fmt: skip
    return ("stopped before the first checkpoint, so there is nothing to resume: run the "
            "same command again to start over")  # fmt: skip
