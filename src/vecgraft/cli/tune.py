"""`vecgraft tune`: search fine-tuning settings with Optuna, then retrain and test the best."""

from __future__ import annotations

import argparse
from typing import Any

from vecgraft.cli._unknown import SettingsRoute

DESCRIPTION = """\
Search the settings of a fine-tuning run (learning rates, dropout, width, freeze policy,
batch size, epochs, weight decay; C and n-grams for `linear`) with Optuna's seeded TPE
sampler; a median pruner stops weak trials from their per-epoch validation score.

Honest by construction: without --test, a stratified share of --train (--config's
test_fraction, default 20%) is set aside before the search. Trials see only the rest: a
validation split of it, --valid, or --cv K stratified folds. The best settings are then
retrained on all training data and scored once on the test data. With --cv, the defaults
(the first trial) are kept unless the top trial beats them by more than one standard error
of its fold scores (--select one-se, Breiman's rule; --select best takes the top trial).

OUT gets best.yaml (for `vecgraft finetune --config ... --out DIR`), trials.csv, final/
(the retrained run), report.md and a self-contained report.html. The study is kept in
OUT/study.journal: running the same command again continues it (a killed trial is tried
again) until it has --trials finished trials. Only the same search continues: other data,
settings, space or a switch between --test and the held-out share is refused (use another
--out), and so is another --study into an OUT that holds a finished study's results.
--storage URL (e.g. postgresql://...) lets several machines run the same command as
workers of one study."""

EPILOG = """\
examples:
  vecgraft tune --train mr/train.csv --test mr/test.csv --vectors glove.6B.50d.txt --lower \\
      --model cnn --trials 30 --timeout 1800 --out runs/tune-mr
  vecgraft tune --train bbc/ --vectors glove.6B.50d.txt --lower --cv 5 --model boe --out runs/t
  vecgraft tune ... --space narrow.yaml --jobs 2             # narrower space, 2 workers
  vecgraft tune --train sst5/train.csv --task regression --vectors glove.6B.50d.txt --out runs/r
  vecgraft finetune --config runs/tune-mr/best.yaml --out runs/mr-best

a --space file (YAML) overrides the built-in space of the model; null removes a setting:
  lr: {type: float, low: 0.0005, high: 0.005, log: true}
  dropout: {type: categorical, choices: [0.3, 0.5]}
  epochs: 8          # fixed
  warmup: null       # not searched"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Data, search and shared fine-tuning options."""
    from vecgraft._util.policies import BadRowPolicy, UnicodeErrors
    from vecgraft.cli._options import (
        enum_choices,
        enum_type,
        output_path,
        positive_int,
        positive_seconds,
    )
    from vecgraft.cli._text_args import (
        BAD_ROWS_HELP,
        ENCODING_HELP,
        ERRORS_HELP,
        USER_DICT_RUN_NOTE,
        add_tokenizer_argument,
        add_user_dict_argument,
    )
    from vecgraft.cli.finetune import add_config_arguments
    from vecgraft.evaluate._tune_select import SELECT_RULES
    from vecgraft.finetune.config import Task
    from vecgraft.nn.kinds import ModelKind

    parser.add_argument("--train", help="labelled training data (CSV/TSV/JSONL or folder)")
    parser.add_argument("--valid", help="labelled validation data for the trials")
    parser.add_argument(
        "--test", help="labelled test data, read only after the search (default: held out)"
    )
    parser.add_argument("--vectors", default="random", metavar="PATH|random", help="vectors")
    from vecgraft.cli._vectors_args import add_vectors_encoding_argument

    add_vectors_encoding_argument(parser)
    parser.add_argument(
        "--model",
        choices=enum_choices(ModelKind),
        help="classifier family (default: --config's, else cnn)",
    )
    parser.add_argument(
        "--out", required=True, metavar="DIR", type=output_path("tune"), help="tuning run folder"
    )
    parser.add_argument(
        "--trials", type=positive_int, default=20, metavar="N",
        help="finished trials the study needs (default: 20)",
    )  # fmt: skip
    parser.add_argument(
        "--timeout", type=positive_seconds, metavar="S", help="start no trial after S seconds"
    )
    parser.add_argument(
        "--cv", type=int, metavar="K", help="score each trial by K-fold cross-validation"
    )
    parser.add_argument(
        "--storage", metavar="URL", help="Optuna storage URL (default: OUT/study.journal)"
    )
    parser.add_argument("--study", metavar="NAME", help="study name (default: vecgraft-tune)")
    parser.add_argument("--space", metavar="FILE", help="YAML overriding the search space")
    parser.add_argument(
        "--jobs", type=positive_int, default=1, metavar="J", help="worker processes (default: 1)"
    )
    parser.add_argument("--seed", type=int, metavar="N", help="seed of splits and sampler")
    parser.add_argument(
        "--select",
        choices=SELECT_RULES,
        default="one-se",
        help="trial to retrain: the defaults unless beaten by > 1 SE of the cv folds "
        "(one-se) or the top trial (best) (default: one-se)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="YAML/TOML/JSON fine-tuning settings of every trial (finetune's names; a flag "
        "given here beats the file's value)",
    )
    parser.add_argument(
        "--lower",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="lowercase tokens (fits lowercase vectors such as GloVe)",
    )
    add_tokenizer_argument(
        parser,
        help="how texts are split into tokens (default: --config's, else from the vectors' "
        "metadata, else jieba for Chinese training texts or a --user-dict, else regex); with "
        "--model hf, which reads the checkpoint's own tokenizer, how "
        "the config's add_tokens finds words: repeat to pool several (--tokenizer jieba "
        "--tokenizer char)",
    )
    add_user_dict_argument(parser, note=USER_DICT_RUN_NOTE)
    add_config_arguments(parser, TEXT_FIELDS)
    parser.add_argument(
        "--fuse-linear",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="fuse the final model with the TF-IDF linear model as the chosen trial's "
        "validation rows fit it (default: where finetune would fuse; "
        "--no-fuse-linear: the network alone)",
    )
    parser.add_argument(
        "--fuse-weight",
        type=float,
        metavar="X",
        help="the network's share of the final fused prediction, 0-1, fixed",
    )
    parser.add_argument(
        "--fuse-pool",
        type=float,
        nargs=2,
        metavar=("A", "B"),
        help="the final log-linear pool's weights, network A and linear B, fixed (default: "
        "the pool fitted on the chosen trial's validation rows where finetune would pool)",
    )
    parser.add_argument(
        "--task",
        choices=enum_choices(Task),
        help="regression: numeric labels; trials are judged by validation mean squared error "
        "and the fused share by the least error (default: --config's, else classification)",
    )
    parser.add_argument("--text-column", metavar="NAME", help="name of the text column")
    parser.add_argument("--label-column", metavar="NAME", help="name of the label column")
    # default None, not utf-8/strict/skip: a value given here beats --config's, none leaves it
    parser.add_argument("--encoding", metavar="NAME", help=f"{ENCODING_HELP} (default utf-8)")
    parser.add_argument(
        "--errors", choices=[e.value for e in UnicodeErrors], help=f"{ERRORS_HELP} (default strict)"
    )
    parser.add_argument(
        "--bad-rows",
        choices=[p.value for p in BadRowPolicy],
        type=enum_type(BadRowPolicy),  # "report", skip's old spelling, still parses
        help=f"{BAD_ROWS_HELP} (default skip)",
    )
    parser.add_argument("--max-steps", type=int, metavar="N", help="steps per trial (tests)")
    parser.add_argument("--device", help="'auto', 'cpu', 'cuda', ...")
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar / lines (default: on)",
    )


# a finetune flag tune lacks (`--class-weight balanced`) is refused naming --config, which
# takes the setting (`vecgraft.cli._unknown`); the trials set these themselves
SETTINGS_ROUTE = SettingsRoute(
    elsewhere={
        "resume": "continues its study when the same command runs again",
        "plots": "draws the plots of final/ alone, none for the trials (`plots: false` in a "
        "--config file leaves them out)",
    }
)

# finetune's text-preparation flags, shared (`add_config_arguments`): same names, help,
# defaults, and the same None meaning "as the vectors' metadata.json says"
TEXT_FIELDS = ("zh_mode", "halfwidth", "simplified", "stopwords", "max_length", "min_freq",
               "max_size", "dedupe")  # fmt: skip


def _sources(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the --config file's settings, the flags given here): an error names each by its own."""
    from vecgraft.cli.finetune import given_settings
    from vecgraft.finetune.config import read_config_file, tokenizer_kinds

    data: dict[str, Any] = read_config_file(args.config) if args.config else {}
    # model: the settings are checked for the model trained (several --tokenizer kinds pool
    # only model hf's graft words, and were refused for --config's or the default model)
    names = ("model", "lower", "tokenizer", "user_dict", "fuse_linear", "fuse_weight",
             "fuse_pool", "task", "text_column", "label_column", "encoding", "errors", "bad_rows",
             "max_steps", "device")  # fmt: skip
    flags = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    if "tokenizer" in flags:  # a repeated flag's list; one kind (given once or twice) alone
        flags["tokenizer"] = tokenizer_kinds(flags["tokenizer"])
    flags.update(given_settings(args, TEXT_FIELDS))
    return data, flags


def run(args: argparse.Namespace) -> int:
    """Run the search and the final retrain; print where the results are."""
    from vecgraft.cli._vectors_args import check_codec
    from vecgraft.cli.finetune import checked_config
    from vecgraft.errors import FinishedElsewhereError
    from vecgraft.evaluate.tune import tune

    # `tune` checks it too (for Python callers), but after --config's errors and its setup's
    if args.vectors_encoding is not None:
        check_codec(args.vectors_encoding)
    # errors name the flags as finetune's do ("--min-freq must be > 0"), the file's keys
    config = checked_config(*_sources(args), args.config)
    try:
        tune(
            args.train,
            out=args.out,
            valid=args.valid,
            test=args.test,
            vectors=args.vectors,
            model=args.model,
            trials=args.trials,
            timeout=args.timeout,
            cv=args.cv,
            storage=args.storage,
            study=args.study,
            space=args.space,
            jobs=args.jobs,
            seed=args.seed,
            select=args.select,
            config=config,
            progress=args.progress,
            vectors_encoding=args.vectors_encoding,
        )
    except FinishedElsewhereError:  # said in a line: the other command finishes the study
        return 0
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (`Terminated`): the same cleanup
        from vecgraft._util.signals import exit_status, stopped_by

        print(f"{stopped_by(exc)}: run the same command again to continue the study in "
              f"{args.out}")  # fmt: skip
        return exit_status(exc)
    return 0
