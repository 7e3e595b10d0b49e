"""`vecgraft predict`: label new texts with a fine-tuned run."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator

DESCRIPTION = """\
Label texts with a run's classifier, one text per input line (FILE, or stdin with '-' or
when FILE is omitted). Prints one label per line; with --proba, a tab-separated table with
a header: the label, then the probability of each class. A regression run (--task
regression) prints one number per line."""

EPILOG = """\
examples:
  vecgraft predict runs/bbc headlines.txt
  echo "Shares rose after the merger" | vecgraft predict runs/bbc - --proba"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `vecgraft predict`."""
    parser.add_argument("run_dir", metavar="RUN_DIR", help="folder written by vecgraft finetune")
    parser.add_argument("file", nargs="?", default="-", metavar="FILE", help="texts, or '-'")
    parser.add_argument("--proba", action="store_true", help="print class probabilities")
    parser.add_argument("--checkpoint", choices=("best", "last"), default="best")
    parser.add_argument("--batch-size", type=int, default=256, help="texts scored at a time")
    parser.add_argument("--device", default="auto")


def _lines(path: str) -> Iterator[str]:
    from vecgraft.errors import DataError

    if path == "-":
        for line in sys.stdin:
            yield line.rstrip("\r\n")
        return
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                yield line.rstrip("\r\n")
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from exc


def _chunks(lines: Iterator[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def run(args: argparse.Namespace) -> int:
    """Stream the input in chunks and print a label (and probabilities) per line."""
    from vecgraft.finetune.predict import load_run

    predictor = load_run(args.run_dir, checkpoint=args.checkpoint, device=args.device)
    if getattr(predictor, "regression", False):  # numbers, one per line (no --proba)
        for chunk in _chunks(_lines(args.file), max(args.batch_size, 1)):
            for value in predictor.predict_values(chunk):
                print(f"{value:.6g}")
        return 0
    if args.proba:
        print("\t".join(["label", *predictor.labels]))
    for chunk in _chunks(_lines(args.file), max(args.batch_size, 1)):
        proba = predictor.predict_proba(chunk)
        for row in proba.tolist():
            label = predictor.labels[max(range(len(row)), key=row.__getitem__)]
            if args.proba:
                print("\t".join([label, *(f"{p:.4f}" for p in row)]))
            else:
                print(label)
    return 0
