"""Flag helpers shared by the subcommands: enum choices and defaults taken from the library.

Choices and defaults are read from the enums and config dataclasses the library uses, so
`--help` cannot drift from what a run really does.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from enum import Enum
from typing import Any

from vecgraft._util.options import fold_choice, lookup_enum


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, but a string choice may be typed in any case (`--model CNN`).

    The value stored is the choice as listed (the enums' lower-case value), so configs and
    run folders read the same whatever the user typed; a value that folds onto two choices,
    or none, is left for argparse to refuse with its usual "invalid choice" message.
    Subparsers inherit the class, so every subcommand's flags behave alike.

    A long flag is never taken as an abbreviation of a longer one (`allow_abbrev=False`):
    `compare --vectors glove.txt` was read as `--vectors-encoding glove.txt` and refused as
    "not a text encoding", where the unknown-flag message says compare takes `--sources`;
    and an abbreviation a script relied on broke when a later release added a flag.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def _get_value(self, action: argparse.Action, arg_string: str) -> Any:
        value = super()._get_value(action, arg_string)
        if action.type is None and action.choices is not None and isinstance(value, str):
            choices = [c for c in action.choices if isinstance(c, str)]
            if value not in choices:
                return fold_choice(value, choices) or value
        return value


def enum_choices(cls: type[Enum]) -> list[str]:
    """The values a flag for enum `cls` accepts, in definition order.

    >>> from vecgraft.align import UnkStrategy
    >>> enum_choices(UnkStrategy)
    ['mean', 'zeros', 'init']
    """
    return [str(member.value) for member in cls]


def enum_type(cls: type[Enum]) -> Any:
    """An argparse `type=` reading a choice of `cls` as the enum does: its canonical value.

    Any case, and an enum's own old spellings (`BadRowPolicy._missing_`: "report" is
    "skip") parse; the flag keeps `choices=enum_choices(cls)`, so --help lists only the
    current words. Anything else is returned as typed, for argparse's "invalid choice".
    Why: `finetune --bad-rows report`, a spelling saved configs still use, became a usage
    error when the flag took choices.

    >>> from vecgraft._util.policies import BadRowPolicy
    >>> parse = enum_type(BadRowPolicy)
    >>> parse("report"), parse("SKIP"), parse("bogus")
    ('skip', 'skip', 'bogus')
    """
    def parse(text: str) -> str:
        try:
            return str(lookup_enum(cls, text).value)
        except ValueError:
            return text

    parse.__name__ = cls.__name__
    return parse


def add_enum_argument(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    *flags: str,
    enum: type[Enum],
    default: Any = None,
    help: str | None = None,
    **kwargs: Any,
) -> argparse.Action:
    """`parser.add_argument(*flags, choices=<enum values>)`; the default is stored as a string."""
    if isinstance(default, Enum):
        default = default.value
    return parser.add_argument(
        *flags, choices=enum_choices(enum), default=default, help=help, **kwargs
    )


def field_default(config: type, name: str) -> Any:
    """The default of dataclass field `name` of `config` (calling a default_factory).

    >>> from vecgraft.pretrain.config import PretrainConfig
    >>> field_default(PretrainConfig, "dim")
    100
    """
    for f in dataclasses.fields(config):
        if f.name == name:
            if f.default is not dataclasses.MISSING:
                value = f.default
            elif f.default_factory is not dataclasses.MISSING:
                value = f.default_factory()
            else:
                raise KeyError(f"{config.__name__}.{name} has no default")
            return value.value if isinstance(value, Enum) else value
    raise KeyError(f"{config.__name__} has no field {name!r}")


def format_default(value: Any) -> str:
    """How a default reads in `--help`."""
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return str(value)


def per_method(defaults: dict[Any, Any]) -> str:
    """'5 for word2vec, fasttext; 25 for glove' from a {method: value} table."""
    groups: dict[Any, list[str]] = {}
    for key, value in defaults.items():
        groups.setdefault(value, []).append(str(getattr(key, "value", key)))
    return "; ".join(f"{value} for {', '.join(keys)}" for value, keys in groups.items())


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps descriptions as written and appends "(default: X)" to every flag that has one.

    Flags whose help already states the default, booleans (store_true) and flags without a
    default (None / SUPPRESS) are left alone. The value shown is the parser's own default,
    which the subcommands take from the library's config dataclasses.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if "default" in text or default is None or default is argparse.SUPPRESS:
            return text
        if isinstance(default, bool):
            return text
        if not action.option_strings and action.nargs not in ("?", "*"):
            return text
        return f"{text} (default: {_escape(format_default(action.default))})".lstrip()


def _escape(text: str) -> str:
    return text.replace("%", "%%")


def help_defaults(parser: argparse.ArgumentParser) -> dict[str, str]:
    """{dest: the default text shown by --help} for every flag whose help states a default."""
    import re

    out: dict[str, str] = {}
    formatter = parser._get_formatter()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            continue
        text = formatter._expand_help(action) if action.help else ""
        match = re.search(r"\(default:? ([^()]*(?:\([^()]*\))?[^()]*)\)", text)
        if match:
            out[action.dest] = match.group(1).strip()
    return out


def flag_of(parser: argparse.ArgumentParser, dest: str) -> str | None:
    """The long flag a user types for `dest` (`text_column` -> `--text-column`), if any."""
    for action in parser._actions:
        if action.dest == dest and action.option_strings:
            longs: Sequence[str] = [o for o in action.option_strings if o.startswith("--")]
            return (longs or action.option_strings)[0]
    return None


def param_default(func: Any, name: str) -> Any:
    """The default of keyword `name` of library function `func` (enums as their value).

    >>> from vecgraft.align import align
    >>> param_default(align, "unk")
    'mean'
    """
    import inspect

    value = inspect.signature(func).parameters[name].default
    if value is inspect.Parameter.empty:
        raise KeyError(f"{func.__name__}({name}=) has no default")
    return value.value if isinstance(value, Enum) else value


NO_PROGRESS_HELP = (
    "no progress output: no bar on a terminal, and no plain line every 30 s where stderr "
    "is a file or pipe"
)


def add_no_progress_argument(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, help: str = NO_PROGRESS_HELP
) -> None:
    """`--no-progress`: `args.progress` False, else None (on a terminal a bar; off it, lines).

    The `progress` field finetune's and tune's --no-progress set, so `load_from_args` and
    the library calls take it alike. Why: the plain lines of a long pass (a large vector
    file, a token count, a forward pass) could not be turned off in a command's log.
    """
    parser.add_argument(
        "--no-progress", dest="progress", action="store_const", const=False, default=None,
        help=help,
    )  # fmt: skip


STDOUT = "-"


def refuse_stdout(value: object, flag: str, command: str, what: str = "a folder") -> None:
    """Refuse '-' as an output path that cannot be a stream (a folder, a binary file).

    Why: `--out -` wrote a file or folder literally named '-' and said "written to -";
    `convert` refuses so ("OUTPUT '-': convert writes a file, not standard output").
    """
    from vecgraft.errors import ConfigError

    if value is not None and str(value) == STDOUT:
        raise ConfigError(f"{flag} '-': {command} writes {what}, not standard output; "
                          f"name {what}")  # fmt: skip


def output_path(command: str, what: str = "a folder", kind: Any = str) -> Any:
    """An argparse `type=` for an output flag that cannot be a stream: '-' is a usage error.

    Why: `--out -` wrote a file or folder literally named '-' and said "written to -"
    (`convert` refuses so). Refused while parsing, exit status 2, as every other flag
    typed wrong; `kind` makes the value (`Path`) as the flag's own type did.
    """

    def parse(text: str) -> Any:
        if text == STDOUT:
            raise argparse.ArgumentTypeError(
                f"'-': {command} writes {what}, not standard output; name {what}"
            )
        return kind(text)

    parse.__name__ = "output path"
    return parse


def print_error(command: str, message: str) -> None:
    """`vecgraft COMMAND: error: MESSAGE` on stderr, as `main` reports a failed command.

    One spelling for `main` and a command that says an error and goes on (`neighbors`: a
    word missing among others, after the others' tables).
    """
    import sys

    print(f"vecgraft {command}: error: {message}", file=sys.stderr)


def print_json(data: Any, stream: Any, *, ensure_ascii: bool = False) -> None:
    """`data` as the JSON a `--json FILE` would hold (NaN as null), on `stream` (stdout).

    For a JSON output flag given '-': a script pipes it (`| jq`) instead of reading a file.
    """
    import json

    from vecgraft._util.atomic import finite_json

    text = json.dumps(finite_json(data), indent=2, ensure_ascii=ensure_ascii, allow_nan=False)
    stream.write(text + "\n")
    stream.flush()


def positive_int(text: str) -> int:
    """An integer >= 1 for a flag (`-k`, `--dim`, `--trials`); argparse refuses others.

    Why: `-k 0` or `--dim 0` was refused only after parsing, with exit status 1 (a run's
    failure) instead of argparse's usage error (2) naming the flag.
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def positive_seconds(text: str) -> float:
    """A number of seconds > 0 for a flag (`tune --timeout`); argparse refuses others (NaN).

    Why: `--timeout 0` made OUT, then stopped with "no trial ran: --timeout 0 s had passed
    before the first one started": a limit no search can keep, known before OUT is made.
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid float value: {text!r}") from None
    if not value > 0:  # NaN too
        raise argparse.ArgumentTypeError(f"must be > 0 seconds, got {text}")
    return value


class UsageError(Exception):
    """A pure argument check failed after parsing (`cache prune` without --max-size).

    `vecgraft.cli.main` reports it as argparse does: the subcommand's usage, exit status 2.
    """
