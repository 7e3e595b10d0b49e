"""`vecgraft compare`: fine-tune once per (source, fraction, seed) and write one report."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from vecgraft.cli._options import output_path
from vecgraft.cli._unknown import SettingsRoute
from vecgraft.errors import ConfigError

DESCRIPTION = """\
Compare embedding sources on a labelled task. For every source x training fraction x seed,
`vecgraft finetune` runs once (cells in OUT/cells/<source>/frac-<f>/seed-<s>/); then
OUT/compare.json, OUT/report.md and a self-contained OUT/report.html give coverage of the
task vocabulary, intrinsic scores (WordSim353, SimLex-999; for Chinese vectors the CA8
analogy sets, scored as `vecgraft intrinsic --lang zh`), test accuracy and macro-F1 as
mean ± sd over seeds, a plot of accuracy against training fraction, times and settings.
With --task regression (numeric labels) the scores are Pearson r and RMSE, and the linear
row is TF-IDF ridge regression.
Rerunning the same command skips finished cells and resumes an interrupted one; a cell
whose data files, vector file or folder, or checkpoint changed since it ran is refused
(use another --out, or delete the cell's folder).

source SPEC:
  random                   random initialisation (the baseline)
  PATH                     a vector file or folder `vecgraft.load` reads (GloVe/word2vec/
                           fastText file, `vecgraft pretrain` output, GloVe .npy folder);
                           a folder with a transformer checkpoint means hf:PATH
  hf:PATH                  transformer checkpoint folder; the task vocabulary's vectors
                           derived as `finetune --vectors hf:PATH` derives them (contextless,
                           PCA 64, SIF), built once and kept in OUT/sources/<name>/; a folder
                           where it was derived in input mode (earlier releases) keeps those
  hf:PATH:MODE             MODE input, contextless or corpus (contexts from the training
                           texts): that mode's vectors at the model's width, no PCA or SIF
  hf:PATH:finetune         the checkpoint itself fine-tuned whole in each cell (model hf,
                           with that family's defaults for what the comparison leaves unset)
  NAME=SPEC                any of the above, shown as NAME in the report; NAME is letters
                           and digits of any script and _ . + - (`随机=random`)"""

EPILOG = """\
examples:
  vecgraft compare --train bbc/ --sources random glove=glove.6B.50d.txt own=runs/w2v \\
      --fractions 0.05 0.2 1.0 --seeds 3 --lower --out runs/compare-bbc
  vecgraft compare --train train.csv --test test.csv --sources random hf:models/minilm:corpus \\
      --fractions 1.0 --seeds 0,1 --model boe --epochs 5 --out runs/cmp
  vecgraft compare ... --config finetune.yaml --set lr=0.001 --set 'model_options={"dropout": 0.3}'
      # model_options go to the network rows only; the linear row keeps its reference settings
  vecgraft compare --train zh.csv --sources random w2v=zh-vectors/ --simplified --halfwidth \\
      --stopwords zh --out runs/cmp-zh
  vecgraft compare --out runs/compare-bbc --report-only            # re-render the report"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Task, sources, grid, shared fine-tuning options."""
    from vecgraft.cli._vectors_args import add_vectors_encoding_argument

    _add_grid_arguments(parser)
    add_vectors_encoding_argument(
        parser,
        help="how the sources that are fastText .bin files store their words (e.g. cp852), "
        "as gensim's load_facebook_vectors(encoding=) reads them; each such source's cells "
        "read it so (the other formats are read as UTF-8: convert a text file with iconv)",
    )
    _add_finetune_arguments(parser)
    parser.add_argument(
        "--no-intrinsic",
        action="store_true",
        help="skip the intrinsic scores (WordSim353/SimLex-999; CA8 analogies for Chinese "
        "vectors, which take about a minute per set on a 300,000-word file); a rerun into the "
        "same --out keeps the scores an earlier run there computed for the same vectors",
    )
    parser.add_argument(
        "--no-linear",
        action="store_true",
        help="leave out the TF-IDF + linear SVM row (by default it is the row to beat)",
    )
    parser.add_argument("--verbose", action="store_true", help="print each run's own log")
    parser.add_argument(
        "--report-only", action="store_true", help="re-render the reports from OUT/compare.json"
    )


def _add_grid_arguments(parser: argparse.ArgumentParser) -> None:
    """The task and the grid: data, sources, fractions, seeds and where results go."""
    parser.add_argument("--train", help="labelled training data (CSV/TSV/JSONL or folder)")
    parser.add_argument("--test", help="labelled test data (default: stratified split of --train)")
    parser.add_argument(
        "--sources", nargs="+", metavar="SPEC", help="embedding sources (see above)"
    )
    parser.add_argument(
        "--fractions",
        nargs="+",
        type=float,
        default=[1.0],
        metavar="F",
        help="training fractions in (0, 1] (default: 1.0)",
    )
    parser.add_argument(
        "--seeds",
        default="1",
        metavar="N|LIST",
        help="a count N runs seeds 0..N-1 (--seeds 3: seeds 0, 1, 2); a comma-separated "
        "list runs exactly those seeds (--seeds 0,5,7); one seed other than 0 takes a "
        "trailing comma: --seeds 5, runs seed 5 alone (--seeds 5 runs seeds 0..4) "
        "(default: 1)",
    )
    parser.add_argument(
        "--out", required=True, type=output_path("compare"),
        help="comparison folder (created or resumed)",
    )


def _add_finetune_arguments(parser: argparse.ArgumentParser) -> None:
    """Fine-tuning settings shared by every cell (the flags `vecgraft finetune` also has)."""
    parser.add_argument("--config", metavar="FILE", help="YAML/TOML/JSON fine-tuning settings")
    from vecgraft.cli._options import enum_choices
    from vecgraft.nn.kinds import ModelKind

    parser.add_argument(
        "--model",
        choices=enum_choices(ModelKind),
        help="classifier (default: the fine-tuning default or --config)",
    )
    parser.add_argument("--epochs", type=int, help="maximum epochs per run")
    parser.add_argument(
        "--lower",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="lowercase tokens (fits lowercase vectors such as GloVe)",
    )
    parser.add_argument("--device", help="'auto', 'cpu', 'cuda', ...")
    from vecgraft.cli._text_args import (
        USER_DICT_RUN_NOTE,
        add_tokenizer_argument,
        add_user_dict_argument,
    )

    add_tokenizer_argument(
        parser,
        help="how texts are split into tokens (default: from the vectors' metadata, else jieba "
        "for Chinese training texts or a --user-dict, else regex; the rows without such "
        "vectors, random and linear say, take the vectors' when every source that names one "
        "names the same; hf:...:finetune rows read their checkpoint's own tokenizer)",
    )

    add_user_dict_argument(parser, note=USER_DICT_RUN_NOTE)
    from vecgraft.cli.finetune import add_config_arguments

    add_config_arguments(parser, TEXT_FIELDS)
    from vecgraft.finetune.config import Task

    parser.add_argument(
        "--task",
        choices=enum_choices(Task),
        help="regression: numeric labels; sources are ranked by test Pearson r (RMSE beside "
        "it) against TF-IDF ridge regression (default: --config's, else classification)",
    )
    parser.add_argument("--text-column", metavar="NAME", help="name of the text column")
    parser.add_argument("--label-column", metavar="NAME", help="name of the label column")
    parser.add_argument(
        "--set",
        action="append",
        default=None,
        metavar="KEY=VALUE",
        help="any other fine-tuning option (VALUE parsed as JSON when possible), repeatable",
    )


# finetune's text-preparation flags, from its own flag builder (`add_config_arguments`) as
# tune takes them: same names, help and choices; unset, each row takes its vectors' setting
# (the text ones) or finetune's default (the length and vocabulary limits)
TEXT_FIELDS = ("zh_mode", "halfwidth", "simplified", "stopwords", "max_length", "min_freq",
               "max_size")  # fmt: skip


# a finetune flag compare lacks (`--class-weight balanced`) is refused naming --set and
# --config, which take the setting (`vecgraft.cli._unknown`), save those set per cell
SETTINGS_ROUTE = SettingsRoute(
    set_flag=True,
    elsewhere={
        "seed": "sets each cell's seed with --seeds",
        "train_fraction": "sets each cell's train_fraction with --fractions",
        "vectors": "takes each row's vectors from --sources",
        "resume": "resumes an interrupted cell when the same command runs again",
    },
)

# the tables' bad-row policy (`Opt.flag_key` "table_bad_rows") is FinetuneConfig's bad_rows
OPTION_FLAGS = {"table_bad_rows": "--set bad_rows="}


def option_flag(name: str) -> str | None:
    """Error hints: a fine-tuning option without its own flag is set with `--set NAME=`."""
    from vecgraft.finetune.config import FinetuneConfig

    known = {f.name for f in dataclasses.fields(FinetuneConfig)}
    return f"--set {name}=" if name in known else None


def _options(args: argparse.Namespace) -> dict[str, Any]:
    """Shared fine-tuning options: --config file, then --set, then the named flags.

    A flag and a --set of one option must agree.
    """
    from vecgraft.cli.finetune import given_settings
    from vecgraft.finetune.config import read_config_file

    options: dict[str, Any] = dict(read_config_file(args.config)) if args.config else {}
    given: dict[str, Any] = {}
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects KEY=VALUE, got {item!r}")
        try:
            given[key.replace("-", "_")] = json.loads(value)
        except json.JSONDecodeError:
            given[key.replace("-", "_")] = value
    options.update(given)
    names = ("model", "epochs", "lower", "device", "tokenizer", "user_dict", "task",
             "text_column", "label_column")  # fmt: skip
    flags = {name: getattr(args, name) for name in names} | given_settings(args, TEXT_FIELDS)
    flags["tokenizer"] = _one_tokenizer(args)
    for name, value in flags.items():
        if value is None:
            continue
        if name in given and given[name] != value:  # the flag won silently
            flag = "--" + name.replace("_", "-")
            if isinstance(value, bool):  # --no-halfwidth, not "--halfwidth False"
                flag, value = (flag if value else "--no-" + flag[2:]), ""
            shown = f"{flag} {value}".rstrip()
            raise ConfigError(f"{shown} and --set {name}={given[name]} disagree; give one")
        options[name] = value
    return options


def _one_tokenizer(args: argparse.Namespace) -> str | None:
    """`--tokenizer`'s kind: one, as every row's vocabulary, coverage and linear row need.

    Several pool only the words a transformer graft adds (`finetune --model hf
    --add-tokens`), which compare's cells do not; it kept the last kind without a word.
    """
    from vecgraft.cli._text_args import single_tokenizer

    return single_tokenizer(
        args, "compare's rows", "were given: each row's vocabulary, its coverage and the "
        "linear row's features are cut with one",
    )


def _report_only(out: str | Path) -> dict[str, Path]:
    """Render `out`'s compare.json again, holding the folder; the reports' paths.

    Why: a comparison writing the folder rewrites them anyway, so it is not rendered then;
    its lock's error advised "or choose another --out DIR", no way to render this one.
    Nothing is made: a missing --out is `load_compare`'s error (no compare.json there).
    """
    from vecgraft._util.folderlock import FolderBusyError, out_lock
    from vecgraft.evaluate.compare import load_compare
    from vecgraft.evaluate.report import write_reports

    try:
        with out_lock(out, make=False):
            return write_reports(load_compare(out), out)
    except FolderBusyError:
        raise ConfigError(
            f"{out}: a comparison is writing this folder; rerun --report-only once it ends"
        ) from None


def run(args: argparse.Namespace) -> int:
    """Run the grid (or re-render), print where the report is."""
    from vecgraft.cli._vectors_args import check_codec
    from vecgraft.evaluate.compare import CompareConfig, compare
    from vecgraft.evaluate.report import baseline_verdicts

    # CompareConfig checks it too (for Python callers), but only after --train, --sources
    # and --config/--set; --report-only builds none
    if args.vectors_encoding is not None:
        check_codec(args.vectors_encoding)
    if args.report_only:
        paths = _report_only(args.out)
        print(f"report: {paths['markdown']} and {paths['html']}")
        return 0
    if not args.train:
        raise ConfigError("--train PATH is required")
    if not args.sources:
        raise ConfigError("--sources SPEC... is required (e.g. --sources random glove.txt)")
    config = CompareConfig(
        train=args.train,
        test=args.test,
        sources=list(args.sources),
        fractions=list(args.fractions),
        seeds=args.seeds,
        out=args.out,
        finetune=_options(args),
        intrinsic=not args.no_intrinsic,
        linear=not args.no_linear,
        vectors_encoding=args.vectors_encoding,
    )
    try:
        result = compare(config, run_log=print if args.verbose else None)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (`Terminated`): the same cleanup
        from vecgraft._util.signals import exit_status, stopped_by

        cells = Path(args.out) / "cells"  # `--out compare/` printed compare//cells
        print(
            f"{stopped_by(exc)}: finished cells are kept in {cells}; rerun the same "
            "command to continue (the interrupted cell resumes from its last checkpoint)"
        )
        return exit_status(exc)
    for line in baseline_verdicts(result.to_dict()):  # the report's answer, here too
        print(line)
    print(f"report: {result.out / 'report.md'} and {result.out / 'report.html'}")
    return 0
