"""`vecgraft evaluate`: score a fine-tuned run on a labelled file."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any

from vecgraft.cli._options import STDOUT, print_json

DESCRIPTION = """\
Score a run's checkpoint on labelled data (CSV/TSV/JSONL or folder per class): prints
accuracy, macro and per-class precision/recall/F1 and the confusion matrix, and writes them
as JSON (default: RUN_DIR/eval-<data name>.json). Beside them the majority-class baseline:
the accuracy of always saying the run's training majority (metrics.json's, as finetune's
log prints it; the training majority, not the file's, as a model that learnt nothing would
say it), saved as "majority_baseline"; a file with one class only is warned about (accuracy
is then that class's recall, and macro F1 and the confusion matrix say little). A row whose
label the run was not trained on is scored as an error (the model cannot predict it); a
warning names those labels.
A warning also says when most of the data's tokens are not in the run's vocabulary
(another language, script or segmentation), and when they are traditional Chinese. A
regression run's scores are RMSE, MAE, Pearson and Spearman, beside the mean baseline (the
run's training mean scored on the same rows); an NA, null or None label there is a missing
number, its row dropped and reported as finetune does.

Every row of --data is scored. `finetune`'s test score leaves out test texts that also occur
in its training or validation data (--dedupe, the default; metrics.json's `duplicates` counts
them), so on the run's own test file the two can differ."""

EPILOG = """\
examples:
  vecgraft evaluate runs/bbc --data bbc_test.csv
  vecgraft evaluate runs/bbc --data reviews.tsv --text-column review --checkpoint last"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `vecgraft evaluate`."""
    from vecgraft.cli._text_args import add_text_arguments

    parser.add_argument("run_dir", metavar="RUN_DIR", help="folder written by vecgraft finetune")
    parser.add_argument("--data", required=True, metavar="PATH", help="labelled data to score")
    from vecgraft.cli._options import add_enum_argument, field_default
    from vecgraft.finetune.config import CheckpointName, FinetuneConfig

    add_enum_argument(
        parser,
        "--checkpoint",
        enum=CheckpointName,
        default=CheckpointName.BEST,
        help="best validation score or last epoch",
    )
    for role in ("text", "label"):
        parser.add_argument(
            f"--{role}-column",
            default=None,
            metavar="NAME",
            help=f"name of the {role} column (default: the run's, else "
            f"{field_default(FinetuneConfig, f'{role}_column')!r})",
        )
    add_text_arguments(parser)
    parser.add_argument("--device", default="auto", help="'auto', 'cpu', 'cuda', ...")
    parser.add_argument(
        "--metrics-out",
        metavar="FILE",
        help="where to write the metrics JSON; '-': standard output (the scores table then "
        "goes to stderr)",
    )


def run(args: argparse.Namespace) -> int:
    """Load the run, score the data, print and save the metrics.

    The run folder is held (`read_lock`, shared) from loading its model to writing its
    eval-*.json: a folder that a run (`finetune`, `tune`'s final/, an ensemble member) is
    writing is refused at once, and a run started into it meanwhile fails at once, instead
    of a half-written or replaced model being scored and its scores listed with the next.
    """
    from vecgraft.errors import ConfigError
    from vecgraft.finetune.rundir import read_lock

    if args.metrics_out == STDOUT:  # the JSON alone on stdout, for `| jq`; the rest on stderr
        stdout = sys.stdout
        with read_lock(args.run_dir), contextlib.redirect_stdout(sys.stderr):
            return _score(args, None, stdout)
    name = Path(args.data.rstrip("/\\")).stem or "data"
    out = Path(args.metrics_out) if args.metrics_out else Path(args.run_dir) / f"eval-{name}.json"
    if args.metrics_out and out.is_dir():  # said before scoring, which can take minutes
        raise ConfigError(f"--metrics-out {out}: is a folder; name a file (such as "
                          f"{out / f'eval-{name}.json'})")  # fmt: skip
    with read_lock(args.run_dir):
        return _score(args, out)


def _score(args: argparse.Namespace, out: Path | None, stdout: Any = None) -> int:
    """`run`'s work, the run folder held; `out` None: the JSON goes to `stdout`."""
    from vecgraft.cli._text_args import note_read, run_columns, text_options
    from vecgraft.finetune.predict import held_load_run

    predictor = held_load_run(args.run_dir, checkpoint=args.checkpoint, device=args.device)
    text_column, label_column = run_columns(args)
    # ClassificationMetrics or, where `predictor.regression`, a RegressionReport
    metrics: Any = predictor.evaluate(
        args.data, text_column=text_column, label_column=label_column, **text_options(args)
    )
    note_read(predictor.last_read)
    merged = getattr(predictor, "last_merged", None)
    if merged:  # "pos" and "pos " scored as one class: training says so, and so does this
        print(merged, file=sys.stderr)
    unknown = getattr(predictor, "last_unknown", None)
    warning = unknown.warning(str(args.data)) if unknown is not None else None
    if warning:  # most tokens unknown: the scores below are near chance, and this says why
        print(warning, file=sys.stderr)
    unseen = getattr(predictor, "last_unseen", None)
    if unseen:  # rows kept and scored as errors: say so before the scores
        print(unseen.warning(str(args.data), metrics.support), file=sys.stderr)
    record: dict[str, object] = {"data": str(args.data), "checkpoint": args.checkpoint}
    if getattr(predictor, "regression", False):
        if metrics.note:  # a score left out (an old run's rounded_accuracy): say why
            print(f"WARNING: {metrics.note}", file=sys.stderr)
        print(f"{args.data}: {metrics.summary()}{_fused_note(predictor, 'ridge regression')}")
        record.update(task="regression", test=metrics.to_dict(),
                      regression={"test": metrics.to_dict()})  # fmt: skip
        if metrics.mean_baseline is not None:  # the floor, as finetune's log prints it
            from vecgraft.finetune.recipe import baseline_lines

            record["mean_baseline"] = metrics.mean_baseline
            for line in baseline_lines({"mean_baseline": metrics.mean_baseline}):
                print(line)
    else:
        _classification(args, predictor, metrics, record, unseen)
    if out is None:
        print_json(record, stdout)
        return 0
    try:
        _write_record(args, out, record)
    except OSError as exc:
        if args.metrics_out:  # the file asked for: not writing it is the command failing
            raise
        # a run folder the user may only read (shared, archived): the scores are printed
        print(f"warning: the scores were not saved in {out}: {exc.strerror or exc}; pass "
              "--metrics-out FILE to save them elsewhere", file=sys.stderr)  # fmt: skip
        return 0
    print(f"metrics written to {out}")
    return 0


def _classification(
    args: argparse.Namespace, predictor: Any, metrics: Any, record: dict[str, object], unseen: Any
) -> None:
    """Print a classifier's scores and floor (finetune's log line); add them to `record`."""
    from vecgraft.finetune.metrics import one_class_warning
    from vecgraft.finetune.recipe import baseline_lines

    record["task"] = "classification"
    one_class = one_class_warning(str(args.data), metrics)
    if one_class:  # said before the scores it qualifies
        print(one_class, file=sys.stderr)
    print(f"{args.data}: {_headline(metrics)}{_fused_note(predictor, 'linear model')}")
    print(metrics.format_table())
    data = {**metrics.to_dict(), "accuracy": metrics.accuracy, "macro_f1": metrics.macro_f1}
    record["test"] = data
    if unseen:  # the labels the warning above named
        record["unseen_labels"] = unseen.to_dict()
    majority = getattr(predictor, "last_majority", None)
    if majority is not None:  # the floor, as finetune's log prints it and metrics.json keeps
        record["majority_baseline"] = majority
        for line in baseline_lines({"majority_baseline": majority}):
            print(line)


def _fused_note(predictor: Any, linear: str) -> str:
    """` (fused: the network and the TF-IDF linear model)`, or "" for a run not fused.

    The score is the pair's, and a bare number read as the network's (finetune's log
    names the parts; evaluate printed one number).
    """
    if not getattr(predictor, "fused", False):
        return ""
    if hasattr(predictor, "members"):  # an ensemble: each member with its own linear model
        return f" (fused: each network with its TF-IDF {linear})"
    return f" (fused: the network and the TF-IDF {linear})"


def _headline(metrics: Any) -> str:
    """Accuracy, macro F1 and, where computed, the log-loss of the predicted probabilities."""
    line = f"accuracy {100 * metrics.accuracy:.2f}%, macro F1 {metrics.macro_f1:.4f}"
    if metrics.log_loss is not None:  # None: no row has a label the model knows
        line += f", log loss {metrics.log_loss:.4f}"
    return line


def _write_record(args: argparse.Namespace, out: Path, record: dict[str, object]) -> None:
    """Write the scores to `out`; one in the run folder is listed in its manifest first."""
    from vecgraft._util.atomic import atomic_write_json

    if out.resolve().parent == Path(args.run_dir).resolve():  # --overwrite sets it aside
        from vecgraft.finetune.rundir import RunFolder

        RunFolder(args.run_dir).list_later(out.name)
    # a link the user's --metrics-out names is written through; the default name in the run
    # folder is replaced: a folder handed over may hold `eval-te.json -> ~/.bashrc`
    atomic_write_json(out, record, finite=True, follow_links=bool(args.metrics_out))
