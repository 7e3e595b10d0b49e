"""`vecgraft predict`: label new texts with a fine-tuned run."""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vecgraft.text.reader import TextReader

DESCRIPTION = """\
Label texts with a run's classifier, one text per input line (FILE, or stdin with '-' or
when FILE is omitted). A .csv/.tsv/.jsonl FILE is read as a table: one text per row, from
its text column (--text-column; default the run's), one answer per row (an empty text
too; a JSON null reads as one; a blank line of a .jsonl is no row). Prints one label per
line; with --proba, a tab-separated table with a header: the label, then the probability
of each class (in full: the shortest digits that read back as the same number, so 3e-06
is not rounded to 0). A regression run (--task regression) prints one number per line. A
FILE is read through before its first answer, so a row that cannot be read (a ragged CSV
row, a JSON text that is not a string or null) stops the command with no answer printed;
stdin and pipes are answered as they come, and stop at such a line."""

EPILOG = """\
examples:
  vecgraft predict runs/bbc headlines.txt
  vecgraft predict runs/bbc new.csv      # a table: one label per row of its text column
  echo "Shares rose after the merger" | vecgraft predict runs/bbc - --proba"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `vecgraft predict`."""
    from vecgraft.cli._text_args import add_text_arguments

    parser.add_argument("run_dir", metavar="RUN_DIR", help="folder written by vecgraft finetune")
    parser.add_argument("file", nargs="?", default=None, metavar="FILE", help="texts, or '-'")
    # `predict RUN --proba new.csv`: argparse had filled FILE (empty) at RUN and refused new.csv
    parser.set_defaults(_late_positionals="late_files", late_files=[])
    parser.add_argument("--proba", action="store_true", help="print class probabilities")
    from vecgraft.cli._options import add_enum_argument, add_no_progress_argument
    from vecgraft.finetune.config import CheckpointName

    add_enum_argument(
        parser,
        "--checkpoint",
        enum=CheckpointName,
        default=CheckpointName.BEST,
        help="best validation score or last epoch",
    )
    parser.add_argument("--batch-size", type=int, default=256, help="texts scored at a time")
    parser.add_argument("--text-column", default=None, metavar="NAME",
                        help="text column of a .csv/.tsv/.jsonl FILE (default: the run's, "
                        "else 'text')")  # fmt: skip
    parser.add_argument("--device", default="auto", help="'auto', 'cpu', 'cuda', ...")
    add_no_progress_argument(
        parser, "no 'predicted (texts)' line every 30 s on stderr (written for a FILE whose "
        "answers go to a file or pipe)",
    )  # fmt: skip
    add_text_arguments(parser, bad_rows=False)


def _paced_lines(
    path: str, encoding: str, errors: str, text_column: str = "text"
) -> Iterator[str | None]:
    """Every input line (blank ones too: one answer per line); None where live input paused.

    A table (.csv, .tsv, .jsonl) gives the texts of its rows instead: its raw lines would be
    the header, quoting and labels scored as if they were texts. A None says that no more
    of a pipe or terminal is at hand yet: the lines so far are answered then, not once a
    batch is full (a typed line got no answer until the input was closed).

    A file is read through once before its first text is handed out, so a row that cannot
    be read stops the command before any answer: answered as it was read, a JSON Lines
    file with a bad line 801 printed 768 labels and then failed, output that a pipeline
    took for the whole file's (a CSV's bad line 52, in the first batch, printed none).
    Live input (stdin, a pipe) is answered as it comes, so a bad line there stops at it.
    """
    if path == "-" or _is_stream(path):
        yield from _live_input(path, encoding, errors, text_column)
        return
    for _ in _file_texts(path, encoding, errors, text_column, notes=False):
        pass  # a bad row stops here, before the first answer
    yield from _file_texts(path, encoding, errors, text_column)


def _file_texts(
    path: str, encoding: str, errors: str, text_column: str, *, notes: bool = True
) -> Iterator[str]:
    """The texts of a file: a table's rows, else its lines; `notes`: say what was repaired."""
    from pathlib import Path

    from vecgraft.cli._text_args import note_read
    from vecgraft.errors import BadRowError, DataError
    from vecgraft.text.reader import Layout, ReadOptions, TextReader, layout_of, open_bytes

    # one answer per row: an empty text is answered too, and a row that cannot be read
    # (ragged, not JSON) stops with its line rather than shifting every later answer
    options = ReadOptions(encoding=encoding, errors=errors, bad_rows="error")  # type: ignore[arg-type]
    if layout_of(Path(path)) is not Layout.TEXT:
        table = TextReader(text_column=text_column, options=options, source=path,
                           keep_empty=True)  # fmt: skip
        try:
            for row in table.rows(Path(path)):
                yield row.text
        except BadRowError as exc:  # the reader's advice to skip such rows does not apply
            raise DataError(f"{exc.problem}; every row of a table gets one answer, so a row "
                            "that cannot be read stops the command") from None  # fmt: skip
        if notes:
            note_read(table.report)
        return
    # the report names the input (it said "note: : no bad rows; 1 line(s) ... replaced");
    # one text per line, each as long as a table row may be (`ReadOptions.row_bytes`)
    reader = TextReader(options=ReadOptions(encoding=encoding, errors=errors),  # type: ignore[arg-type]
                        source=path)  # fmt: skip
    with open_bytes(Path(path)) as fh:
        for _, line in reader.lines(fh, path, reader.options.row_bytes):
            yield line
    if notes and reader.report.replaced_rows:
        print(f"note: {reader.report.format()}", file=sys.stderr)


def _live_input(
    path: str, encoding: str, errors: str, text_column: str
) -> Iterator[str | None]:
    """The lines of stdin ('-') or of a pipe, each answered as soon as it is read.

    A pipe named as a table (a FIFO `new.csv`) cannot be read twice: its rows are answered
    as they are read, and a bad row stops there.
    """
    from pathlib import Path

    from vecgraft.text.reader import Layout, ReadOptions, TextReader, layout_of

    if path != "-" and layout_of(Path(path)) is not Layout.TEXT:
        yield from _file_texts(path, encoding, errors, text_column)
        return
    reader = TextReader(options=ReadOptions(encoding=encoding, errors=errors),  # type: ignore[arg-type]
                        source="<stdin>" if path == "-" else path)  # fmt: skip
    if path == "-":
        raw = getattr(sys.stdin, "buffer", None)
        if raw is None:  # an already-decoded stream (tests, embedding applications)
            for line in sys.stdin:
                yield line.rstrip("\r\n")
            return
        yield from _live_lines(reader, raw, "<stdin>")
    else:  # `<(cut -f2 data.tsv)`, /dev/stdin: read once, as stdin is
        with open(path, "rb") as fh:
            yield from _live_lines(reader, fh, path)
    if reader.report.replaced_rows:
        print(f"note: {reader.report.format()}", file=sys.stderr)


def _live_lines(reader: TextReader, fh: IO[bytes], path: str) -> Iterator[str | None]:
    """The lines of `fh`, then None after each read when nothing more is waiting in it.

    A regular file (stdin redirected from one) is never waited on: no None, full batches.
    """
    live = _is_live(fh)
    for lines in reader.line_blocks(fh, path, reader.options.row_bytes):
        yield from lines
        if live and not _waiting(fh):
            yield None


def _is_live(fh: IO[bytes]) -> bool:
    """Whether `fh` is a pipe, socket or terminal: input that may come slower than it is read."""
    import stat

    try:
        return not stat.S_ISREG(os.fstat(fh.fileno()).st_mode)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return False  # no descriptor (a test's BytesIO): all of it is there


def _waiting(fh: IO[bytes]) -> bool:
    """Whether a read of `fh` would return at once (bytes there, or its end)."""
    import select

    try:
        return bool(select.select([fh], [], [], 0)[0])
    except (OSError, ValueError):  # no select on this stream (Windows pipes): answer now
        return False


def _is_stream(path: str) -> bool:
    """Whether `path` is a pipe or a character device: read straight through, never sniffed.

    The file reader refuses those (it reads vector files twice); one pass over the lines is
    all predict needs.
    """
    import stat

    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False  # open_bytes names the problem
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)


def _chunks(lines: Iterator[str | None], size: int) -> Iterator[list[str]]:
    """Batches of `size` lines; at a None (live input paused), the lines so far."""
    chunk: list[str] = []
    for line in lines:
        if line is None:
            if chunk:
                yield chunk
                chunk = []
            continue
        chunk.append(line)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def run(args: argparse.Namespace) -> int:
    """Stream the input in chunks and print a label (and probabilities) per line.

    The run folder is held (`read_lock`, shared, as `evaluate` holds it) until the last
    answer: a folder that a run is writing is refused at once, and a `finetune
    --overwrite` or `--resume` into it meanwhile fails at once. Unheld, predict loaded
    whatever model files were there mid-run (set aside, or half replaced), and its
    tokenizer reads the run's jieba dictionary only at the first text.
    """
    from vecgraft.errors import OptionError
    from vecgraft.finetune.rundir import read_lock

    if args.batch_size < 1:  # 0 and -1 were taken as 1 without a word
        raise OptionError.out_of_range("batch_size", ">= 1", args.batch_size)
    files = _files(args)
    if len(files) > 1:
        print(f"vecgraft predict: error: unrecognized arguments: {' '.join(files[1:])} "
              "(one FILE at most)", file=sys.stderr)  # fmt: skip
        return 2
    args.file = files[0] if files else "-"
    with read_lock(args.run_dir):
        return _predict(args)


def _files(args: argparse.Namespace) -> list[str]:
    """FILE and the positionals after a flag (`RUN --proba FILE`), in their order."""
    given = [] if args.file is None else [args.file]
    return [*given, *getattr(args, "late_files", [])]


def _predict(args: argparse.Namespace) -> int:
    """`run`'s work, the run folder held."""
    from vecgraft.cli._text_args import run_columns
    from vecgraft.errors import ConfigError
    from vecgraft.finetune.predict import held_load_run

    predictor = held_load_run(args.run_dir, checkpoint=args.checkpoint, device=args.device)
    text_column = run_columns(args)[0]
    if getattr(predictor, "regression", False) and args.proba:
        raise ConfigError(f"{args.run_dir} predicts numbers (--task regression): it has no "
                          "class probabilities for --proba")  # fmt: skip
    where = "standard input" if args.file == "-" else str(args.file)
    lines = _paced_lines(args.file, args.encoding, args.errors, text_column)
    chunks = _warned(predictor, _chunks(lines, args.batch_size), where)
    if args.progress is not False:
        chunks = _counted(chunks, args.file)
    if getattr(predictor, "regression", False):  # numbers, one per line
        for chunk in chunks:
            for value in predictor.predict_values(chunk):
                print(_number(value))
            sys.stdout.flush()  # each batch's answers out now: a pipe's reader may wait on them
        return 0
    labels = [_cell(label) for label in predictor.labels]
    header = args.proba  # printed with the first answers: a file's bad row leaves no output
    for chunk in chunks:
        if header:
            print("\t".join(["label", *labels]))
            header = False
        proba = predictor.predict_proba(chunk).cpu().numpy()
        for row in proba:
            label = labels[int(row.argmax())]  # the first of equal maxima, as before
            if args.proba:
                print("\t".join([label, *(_probability(p) for p in row)]))
            else:
                print(label)
        sys.stdout.flush()  # each batch's answers out now: a pipe's reader may wait on them
    if header:  # no texts: the header alone, as before
        print("\t".join(["label", *labels]))
    return 0


# seconds between two plain "predicted" lines on stderr (a file's texts, answers not shown)
PREDICT_LINE_SECONDS = 30.0


def _counted(chunks: Iterator[list[str]], path: str) -> Iterator[list[str]]:
    """`chunks`, with a `predicted (texts) n` line on stderr every `PREDICT_LINE_SECONDS`.

    Why: `vecgraft predict run big.csv > labels.txt` showed nothing for the minutes a few
    million texts take. Only for a file read while the answers go to a file or pipe: on a
    terminal the answers are the progress, and live input waits on its writer, not on us.
    """
    from vecgraft._util.console import Progress, is_terminal

    live = path == "-" or _is_stream(path)
    enabled = not live and not is_terminal(sys.stdout)
    with Progress(desc="predicted (texts)", enabled=enabled, bar=False,
                  interval=PREDICT_LINE_SECONDS) as lines:  # fmt: skip
        for chunk in chunks:
            yield chunk
            lines.update(len(chunk))


def _warned(predictor: Any, chunks: Iterator[list[str]], where: str) -> Iterator[list[str]]:
    """`chunks`, after `evaluate`'s unknown-token warning judged on the first of them."""
    for i, chunk in enumerate(chunks):
        if i == 0:
            unknown = predictor.unknown_tokens(chunk)
            warning = unknown.warning(where) if unknown is not None else None
            if warning:
                print(warning, file=sys.stderr)
        yield chunk


def _number(value: float) -> str:
    """`value` in the fewest digits that read back as the same number (Python's repr).

    Six significant digits lost what metrics.json scores: a barely trained network's
    outputs differ in the sixth digit, and a Pearson r computed from the printed numbers
    was not the run's.

        >>> _number(0.06428229808807373), _number(2.0), _number(0.1)
        ('0.06428229808807373', '2.0', '0.1')
    """
    return repr(float(value))


def _probability(value: Any) -> str:
    """A probability in the fewest digits that read back as the same number in its dtype.

    Four decimals printed 3e-06 as 0.0000 and 0.99996 as 1.0000: a log-loss, a ranking or a
    threshold computed from the table was not the model's. numpy's shortest round-trip
    form keeps a float32 readable (0.999997, not 0.9999970197677612).

        >>> import numpy as np
        >>> _probability(np.float32(3e-06)), _probability(np.float32(0.25))
        ('3e-06', '0.25')
    """
    return str(value)


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _cell(label: str) -> str:
    r"""`label` on one line and in one tab-separated column.

    A label holding a tab or line break (a quoted CSV cell can) is written with the escapes
    `\t`, `\n`, `\r` and its backslashes doubled; any other label is printed as it is.
    """
    if not any(c in label for c in "\t\n\r"):
        return label
    return label.translate(_ESCAPES)
