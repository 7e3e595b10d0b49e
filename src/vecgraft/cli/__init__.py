"""The `vecgraft` command: one module per subcommand, each thin (parse, call the library, print).

Each module `vecgraft.cli.<name>` defines `DESCRIPTION`, `EPILOG` (example commands),
`add_arguments(parser)` and `run(args) -> int`. Modules are imported only when their
subcommand runs, so `vecgraft info` never pays for importing transformers.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import io
import os
import stat
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType

from vecgraft.errors import VecgraftError

# subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "info": ("info", "show a vector file's format, size, sample rows and vocabulary coverage"),
    "convert": ("convert", "convert a vector file to another format"),
    "cache": ("cache", "list, clear or prune the load cache of parsed vector files"),
    "neighbors": ("neighbors", "nearest neighbours of a word by cosine similarity"),
    "build": ("build", "build an embedding matrix for a corpus vocabulary from vectors"),
    "pretrain": ("pretrain", "pretrain word2vec, fastText or GloVe vectors on a corpus"),
    "from-transformer": ("from_transformer", "word vectors from a transformer checkpoint"),
    "graft-vocab": ("graft_vocab", "add corpus words to a transformer's vocabulary, new rows"),
    "finetune": ("finetune", "train a text classifier from a pretrained embedding"),
    "evaluate": ("evaluate", "score a fine-tuned run on labelled data"),
    "predict": ("predict", "label new texts with a fine-tuned run"),
    "intrinsic": ("intrinsic", "word-similarity and analogy scores of vectors"),
    "compare": ("compare", "compare embedding sources on a labelled task"),
    "export": ("export", "export vectors or a model to model2vec, TensorBoard or word2vec"),
    "tune": ("tune", "search fine-tuning settings with Optuna, retrain and test the best"),
    "demo": (
        "demo",
        "end-to-end demo on BBC News with GloVe 6B 50d; --lang zh: the Chinese one "
        "(People's Daily word2vec, CA8, review sentiment)",
    ),
}


def _load(command: str):  # noqa: ANN202
    return importlib.import_module(f"vecgraft.cli.{COMMANDS[command][0]}")


# library keyword -> flag, where the flag's name is not the keyword's (`--skip-bad-rows`
# sets bad_rows='skip'); a subcommand adds its own in a module-level OPTION_FLAGS dict,
# where None marks a like-named flag that does not set the keyword (`info --vocab`)
# (a table's bad_rows, `Opt.flag_key` "table_bad_rows", is `--bad-rows`)
_COMMON_FLAGS: dict[str, str | None] = {
    "bad_rows": "--skip-bad-rows",
    "table_bad_rows": "--bad-rows",
    # a vector file's encoding= (`Opt.flag_key`): build and finetune's --encoding is their
    # text files'
    "binary_encoding": "--vectors-encoding",
}


def flag_resolver(
    parser: argparse.ArgumentParser,
    module: ModuleType | None = None,
    argv: Sequence[str] = (),
) -> Callable[[str], str | None]:
    """Maps a library keyword to the flag `parser` offers for it (None: it has none).

    Used to render errors and their hints: `pass text_column=` becomes `pass --text-column
    NAME` in `vecgraft finetune`, `max_size must be > 0` becomes `--max-vocab must be > 0`
    where `argv` spelled the flag so, and a hint naming an option the command lacks is left
    out.
    """
    from vecgraft.cli._options import flag_of

    aliases = {**_COMMON_FLAGS, **getattr(module, "OPTION_FLAGS", {})}
    fallback = getattr(module, "option_flag", None)
    typed = {arg.split("=", 1)[0] for arg in argv if arg.startswith("--")}

    def flag_for(name: str) -> str | None:
        if name in aliases and aliases[name] is None:
            return None
        alias = aliases.get(name)
        if alias is not None and (alias.endswith("=") or alias in parser._option_string_actions):
            return alias
        flag = flag_of(parser, name)
        if flag is None and fallback is not None:
            flag = fallback(name)
        action = parser._option_string_actions.get(flag or "")
        if action is not None:  # the spelling typed, of a flag with two (--lr, --learning-rate)
            flag = next((o for o in action.option_strings if o in typed), flag)
        return flag

    return flag_for


def given_resolver(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    flag_for: Callable[[str], str | None],
) -> Callable[[str], object]:
    """Maps a library keyword to the value its flag took in `args` (None: none).

    An error then quotes what the user typed (`--max-memory-mb 0`), not the value the
    library got from it (0 bytes).
    """

    def given(name: str) -> object:
        action = parser._option_string_actions.get(flag_for(name) or "")
        if action is None:
            return None
        value = getattr(args, action.dest, None)
        # a repeated flag's values (`--tokenizer regex` gives ['regex']) as typed; a flag
        # taking several values at once (nargs, `--fractions 1.5`) keeps its list
        if action.nargs is None and isinstance(value, list):
            return ", ".join(map(str, value))
        return value

    return given


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser; only `command`'s module is imported to add its arguments."""
    from vecgraft._util.version import __version__
    from vecgraft.cli._options import ArgumentParser, HelpFormatter

    parser = ArgumentParser(
        prog="vecgraft",
        description="Graft pretrained word vectors into PyTorch models.",
    )
    parser.add_argument("--version", action="version", version=f"vecgraft {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        if name == command:
            module = _load(name)
            p = sub.add_parser(
                name,
                help=help_text,
                description=getattr(module, "DESCRIPTION", help_text),
                epilog=getattr(module, "EPILOG", None),
                formatter_class=HelpFormatter,
            )
            module.add_arguments(p)
            parser.set_defaults(_subparser=p)
        else:
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `vecgraft` console script; returns the exit status.

    Python warnings read `warning: ...` (see `_util.console.show_warning`) while it runs.
    A reader that closes the pipe early (`vecgraft neighbors ... | head`) ends the command
    quietly, as `cat` does, instead of with a BrokenPipeError traceback; so does a Ctrl-C
    while the parser is built (it imports torch for some commands: a second or more).
    A SIGTERM (`kill`, `timeout`, systemd, SLURM) stops a command as a Ctrl-C does, so the
    same cleanup runs (a checkpoint, a rollback, temp files), and exits 143 (Ctrl-C: 130);
    one sent again meanwhile does not cut that cleanup short (`sigterm_as_interrupt`).
    On Windows output is UTF-8 (`_utf8_output`) and a closed pipe's EINVAL ends it as a
    BrokenPipeError does (`_closed_pipe`).
    """
    from vecgraft._util.console import show_warning
    from vecgraft._util.runenv import command_line
    from vecgraft._util.signals import exit_status, sigterm_as_interrupt, stopped_by

    previous = warnings.showwarning
    warnings.showwarning = show_warning  # the CLI's only; library callers keep Python's
    try:
        given = sys.argv[1:] if argv is None else argv
        with _utf8_output(), sigterm_as_interrupt(), command_line(given):
            status = _main(argv)
            sys.stdout.flush()
    except KeyboardInterrupt as exc:  # a running command says so itself, in _main
        print(f"vecgraft: {stopped_by(exc)}", file=sys.stderr)
        return exit_status(exc)
    except OSError as exc:
        if not _closed_pipe(exc):
            raise
        # Python's documented recipe: point stdout at devnull so the flush at exit cannot
        # raise again, and exit with the status a shell gives a command killed by SIGPIPE.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    finally:
        warnings.showwarning = previous
    return status


def _closed_pipe(exc: OSError) -> bool:
    """Whether `exc` says the reader of stdout hung up (`vecgraft ... | head`).

    A BrokenPipeError; on Windows a write to a closed pipe usually fails with EINVAL
    instead (`vecgraft predict ... | more` quitting early showed a traceback), taken for
    one where stdout is a pipe and the error names no file (a bad file name's EINVAL does).
    """
    if isinstance(exc, BrokenPipeError):
        return True
    if os.name != "nt" or exc.errno != errno.EINVAL or exc.filename is not None:
        return False
    try:
        return stat.S_ISFIFO(os.fstat(sys.stdout.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):  # no real stdout
        return False


@contextlib.contextmanager
def _utf8_output() -> Iterator[None]:
    """On Windows, stdout and stderr in UTF-8 while the command runs (not if PYTHONIOENCODING).

    Why: redirected to a file or pipe, Windows' streams use the ANSI code page, and
    `vecgraft predict ... > out.tsv` of Chinese labels failed with UnicodeEncodeError.
    Elsewhere (and for streams that are not plain text files) nothing changes; the
    streams' encodings are put back afterwards.
    """
    if os.name != "nt" or os.environ.get("PYTHONIOENCODING"):
        yield
        return
    saved = []
    for stream, errors in ((sys.stdout, ""), (sys.stderr, "backslashreplace")):
        if isinstance(stream, io.TextIOWrapper):
            saved.append((stream, stream.encoding, stream.errors))
            stream.reconfigure(encoding="utf-8", errors=errors or stream.errors)
    try:
        yield
    finally:
        for stream, encoding, old_errors in saved:
            with contextlib.suppress(OSError, ValueError):  # a closed pipe or stream
                stream.reconfigure(encoding=encoding, errors=old_errors)


def _take_late_positionals(args: argparse.Namespace, unknown: list[str]) -> list[str]:
    """Add positionals after a flag to the command's `nargs="*"` list, if it names one.

    Why: argparse fills such a list at the first positional run, so `cache clear --all foo`
    or `cache clear --cache-dir D foo` left `foo` "unrecognized" (rc 2) instead of reaching
    the command's own checks. A command opts in with `set_defaults(_late_positionals=DEST)`.
    The flags left are returned to be refused alone: `cache clear --cache-dir D foo --bogus`
    called the valid SOURCE foo unrecognized too. Everything from the first unknown flag on
    is refused with it: in `cache clear --bogus 3` the `3` is the flag's value, not a SOURCE.
    """
    dest = getattr(args, "_late_positionals", None)
    if dest is None:
        return unknown
    # a lone "-" is a positional (stdin), not a flag: `predict RUN --proba -`
    flag = (i for i, a in enumerate(unknown) if a.startswith("-") and a != "-")
    first_flag = next(flag, len(unknown))
    setattr(args, dest, [*getattr(args, dest), *unknown[:first_flag]])
    return unknown[first_flag:]


def _refuse_unknown(
    parser: argparse.ArgumentParser, unknown: list[str], command: str | None
) -> None:
    """Refuse `unknown` arguments as argparse does, from the subcommand, naming close flags.

    The top-level parser would print its own usage (`vecgraft COMMAND ...`); the
    subcommand's usage and a "did you mean --trials?" are what a typo needs, and a
    finetune flag that `tune` or `compare` takes through --config/--set is said so.
    """
    from vecgraft.cli._unknown import unknown_hint

    module = _load(command) if command in COMMANDS else None
    hint = unknown_hint(command, parser, unknown, module)
    parser.error(f"unrecognized arguments: {' '.join(unknown)}{hint}")


def _main(argv: Sequence[str] | None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in args_list if a in COMMANDS), None)
    parser = build_parser(command)
    args, unknown = parser.parse_known_args(args_list)
    unknown = _take_late_positionals(args, unknown)
    if unknown:
        _refuse_unknown(getattr(args, "_subparser", parser), unknown, args.command)
    if args.command is None:  # a usage error: the help goes where argparse's errors go
        parser.print_help(sys.stderr)
        return 2
    from vecgraft.cli._options import UsageError, print_error

    try:
        return int(_load(args.command).run(args) or 0)
    except UsageError as exc:  # an argument check argparse cannot express: its usage, 2
        args._subparser.error(str(exc))
        return 2  # not reached: error() exits 2
    except VecgraftError as exc:
        flag_for = flag_resolver(args._subparser, _load(args.command), args_list)
        given = given_resolver(args._subparser, args, flag_for)
        print_error(args.command, exc.describe(flag_for, given))
        return 1
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (`Terminated`, see `main`)
        from vecgraft._util.signals import exit_status, stopped_by

        print(f"vecgraft {args.command}: {stopped_by(exc)}", file=sys.stderr)
        return exit_status(exc)
    except BrokenPipeError:
        raise  # `main` ends quietly, as `cat` does
    except OSError as exc:  # a path the system refused (an --out that is a file, no access)
        where = f"{exc.filename}: " if exc.filename else ""
        print_error(args.command, f"{where}{exc.strerror or exc}")
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
