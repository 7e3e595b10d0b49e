"""vecgraft's error hierarchy: every failure a user can cause is one of these.

Errors carry the file and line they are about, so a message reads like a compiler's
(`glove.txt:17: expected 50 values, found 49`) instead of a traceback from deep inside numpy.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Opt:
    """An option named in a hint: the keyword `name` and the value to suggest.

    Attributes:
        name: the library keyword (`text_column`); the CLI maps it to its flag.
        value: the value as a Python user writes it ("'skip'", "True", "..."), or "".
        cli_value: the value as a CLI user types it after the flag ("NAME"), or "".
        flag_key: the key the CLI finds the flag by, where the keyword's usual flag sets
            another option: a table's `bad_rows` is `--bad-rows`, a vector file's
            `--skip-bad-rows`, and `vecgraft finetune` has both.
    """

    name: str
    value: str = ""
    cli_value: str = ""
    flag_key: str = ""


@dataclass(frozen=True)
class AnyOf:
    """Options a hint offers as alternatives: a command names those it has flags for.

    `Hint("; load fewer rows with {}", AnyOf(Opt("vocab"), Opt("limit", "", "N")))` reads
    `vocab= or limit=` from Python, `--limit N` from a command without --vocab, and is left
    out only where the command has none of them.
    """

    options: tuple[Opt, ...]

    def __init__(self, *options: Opt) -> None:
        object.__setattr__(self, "options", options)


@dataclass(frozen=True)
class Hint:
    """How to fix an error, naming options by keyword; the CLI renders flags instead.

    `template` holds one `{}` per option, e.g. `"; pass {} to force one"`. From Python it
    reads `; pass format=... to force one`; from `vecgraft info` it reads
    `; pass --format FORMAT to force one`; from a command without such a flag the hint is
    left out rather than name an option the user cannot type. A hint naming no option is
    Python advice (wrap strings in `Texts([...])`) and is left out by every command.

    >>> hint = Hint("; pass {} to force one", Opt("format", "...", "FORMAT"))
    >>> hint.render()
    '; pass format=... to force one'
    >>> hint.render({"format": "--format"}.get)
    '; pass --format FORMAT to force one'
    >>> hint.render({}.get)
    ''
    >>> Hint(" (wrap them: Texts([...]))").render({}.get)
    ''
    >>> fewer = Hint("; pass {}", AnyOf(Opt("vocab"), Opt("limit", "", "N")))
    >>> fewer.render(), fewer.render({"limit": "--limit"}.get), fewer.render({}.get)
    ('; pass vocab= or limit=', '; pass --limit N', '')
    """

    template: str
    options: tuple[Opt | AnyOf, ...]

    def __init__(self, template: str, *options: Opt | AnyOf) -> None:
        object.__setattr__(self, "template", template)
        object.__setattr__(self, "options", options)

    def render(self, flag_for: Callable[[str], str | None] | None = None) -> str:
        """The hint with keywords (`flag_for` None) or with the flags `flag_for` names.

        `flag_for(keyword)` returns the flag (`--text-column`), a prefix ending in `=`
        (`--set text_column=`) or None when the command has no way to set the option.
        """
        if not self.options and flag_for is not None:
            return ""  # Python advice: nothing a command-line user could type
        parts: list[str] = []
        for part in self.options:
            named = [
                text
                for opt in (part.options if isinstance(part, AnyOf) else (part,))
                if (text := _hint_option(opt, flag_for)) is not None
            ]
            if not named:
                return ""
            parts.append(" or ".join(named))
        return self.template.format(*parts)


def _hint_option(opt: Opt, flag_for: Callable[[str], str | None] | None) -> str | None:
    """`name=value`, or the flag with its value (None: the command has no flag for it)."""
    if flag_for is None:
        return f"{opt.name}={opt.value}"
    flag = flag_for(opt.flag_key or opt.name)
    if flag is None:
        return None
    sep = "" if flag.endswith("=") or not opt.cli_value else " "
    return f"{flag}{sep}{opt.cli_value}"


class VecgraftError(Exception):
    """Base class of every error vecgraft raises on purpose.

    Args:
        hint: how to fix it, naming options (see `Hint`); appended to the message.
    """

    hint: Hint | None

    def __init__(self, *args: object, hint: Hint | None = None) -> None:
        super().__init__(*args)
        self.hint = hint

    def __str__(self) -> str:
        return self.describe()

    def describe(
        self,
        flag_for: Callable[[str], str | None] | None = None,
        given: Callable[[str], Any] | None = None,
    ) -> str:
        """The message, its hint naming keywords (`flag_for` None) or the CLI's flags.

        `given` (the value a flag took) is for an `OptionError`'s message; others ignore it.
        """
        text = super().__str__()
        return text + self.hint.render(flag_for) if self.hint is not None else text


class FormatError(VecgraftError):
    """A file is not in the format it claims (or was detected) to be.

    Args:
        message: what was expected and what was found.
        path: the file concerned.
        line: 1-based line number (text formats) when known.
        offset: byte offset (binary formats) when known.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | os.PathLike[str] | None = None,
        line: int | None = None,
        offset: int | None = None,
        hint: Hint | None = None,
    ) -> None:
        self.message = message
        self.path = None if path is None else os.fspath(path)
        self.line = line
        self.offset = offset
        where = self.path or ""
        if line is not None:
            where += f":{line}"
        elif offset is not None:
            where += f" (byte {offset})"
        super().__init__(f"{where}: {message}" if where else message, hint=hint)


class UntrustedFileError(FormatError):
    """A file could run code when read (a pickle) and the caller did not mark it trusted.

    `message` names the library keyword (`trust=True`); `cli_message` names the flag
    (`--trust`), so each caller can be told what *it* types.
    """

    def __init__(
        self, message: str, *, cli_message: str, path: str | os.PathLike[str] | None = None
    ) -> None:
        super().__init__(message, path=path)
        self.cli_message = cli_message


class DetectionError(FormatError):
    """No known format fits a file; the message lists each format tried and why it was rejected."""


class VocabError(VecgraftError):
    """A vocabulary is empty, inconsistent, or cannot be read."""


class MissingKeyError(VecgraftError, KeyError):
    """A lookup of a key a table lacks (a word, a token), its message a sentence.

    A `KeyError` too, so `except KeyError` and mapping idioms still work; a bare KeyError
    prints only the repr of the key.
    """

    def describe(
        self,
        flag_for: Callable[[str], str | None] | None = None,
        given: Callable[[str], Any] | None = None,
    ) -> str:
        """The message as written: KeyError's own `str` would show it as a repr, quoted."""
        text = str(self.args[0]) if self.args else ""
        return text + self.hint.render(flag_for) if self.hint is not None else text


class UnknownTokenError(VocabError, MissingKeyError):
    """A token the vocabulary lacks, which has no unknown token to stand for it."""


class MissingWordError(MissingKeyError):
    """A word `Vectors` has no vector for (nor subwords to build one from)."""


class AlignmentError(VecgraftError):
    """Vectors cannot be aligned with a vocabulary (e.g. dimension mismatch without PCA)."""


class DataError(VecgraftError):
    """Labelled or unlabelled input data is malformed (missing column, empty corpus, bad row)."""


class EmptyCorpusError(DataError):
    """A corpus gave no tokens; a command that knows the paths read names them (`build`)."""


class BadRowError(DataError):
    """One row cannot be read; `problem` says where and why, `advice` how to skip such rows.

    Kept apart so that a caller for whom skipping makes no sense (one answer per row)
    can say the problem without the advice.
    """

    def __init__(self, problem: str, advice: str, hint: Hint | None = None) -> None:
        # with a hint (the advice naming its option), a command names its own flag
        if hint is None:
            super().__init__(f"{problem} ({advice})")
        else:
            super().__init__(problem, hint=hint)
        self.problem = problem
        self.advice = advice


class MissingColumnError(DataError):
    """A table's header (or a JSON Lines record) lacks the text or label column asked for.

    Raised by the table readers (`iter_texts(..., column=)`, the labelled files of
    `finetune`); public here so a caller can catch it by name (it is a DataError too).

    Attributes:
        roles: the roles missing, in order ("text", "label").
        near: whether the message suggests a name off by case or an invisible character.
    """

    def __init__(
        self, message: str, *, roles: tuple[str, ...], near: bool, hint: Hint | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.roles = roles
        self.near = near


class ConfigError(VecgraftError):
    """An option or configuration value is invalid."""


class ArgumentTypeError(ConfigError, TypeError):
    """An argument of the wrong type: a path where `Vectors` go, an `nn.Linear`, `load(123)`.

    A `TypeError` too, as Python's own for a wrong argument, so either `except` catches it;
    the message names the function, the argument and what it takes.
    """


@dataclass(frozen=True)
class Given:
    """An option's value in an `OptionError`: as the library holds it, or as a flag took it.

    `vecgraft pretrain --max-memory-mb 0` reads `got 0`, not the 0 bytes the config holds.
    """

    name: str
    value: Any


@dataclass(frozen=True)
class PyNote:
    """Words of an `OptionError` for Python callers only (`None: no limit`, no flag's value)."""

    text: str


# the parts an OptionError's template takes
Part = Opt | Given | PyNote


class OptionError(ConfigError):
    """Options' values are refused; the message names each option as its caller typed it.

    `template` holds one `{}` per part: an `Opt` reads `name` (or `name=value`) from Python
    and the command's flag (`--flag`, `--flag value`) from the CLI, the keyword where the
    command has no flag for it; a `Given` reads the value, or the value the flag took; a
    `PyNote` reads its text from Python and nothing from the CLI. `source` (a config file)
    goes first. `keys`: options whose value a config file gave, not a flag; the command
    names them by their key (`max_length`), not by a flag the user did not type.

    >>> err = OptionError.out_of_range("max_memory", ">= 1", 0)
    >>> str(err)
    'max_memory must be >= 1, got 0'
    >>> err.describe({"max_memory": "--max-memory-mb"}.get)
    '--max-memory-mb must be >= 1, got 0'
    >>> clash = OptionError("{} and {} leave nothing to train", Opt("hs", "0", "0"),
    ...                     Opt("negative", "0", "0"))
    >>> str(clash), clash.describe({"hs": "--hs", "negative": "--negative"}.get)
    ('hs=0 and negative=0 leave nothing to train', '--hs 0 and --negative 0 leave nothing to train')
    """

    def __init__(
        self,
        template: str,
        *parts: Part,
        source: str = "",
        hint: Hint | None = None,
        keys: frozenset[str] = frozenset(),
    ) -> None:
        self.template = template
        self.parts = parts
        self.source = source
        self.keys = keys
        super().__init__(self._render(None, None), hint=hint)

    @classmethod
    def out_of_range(
        cls, option: str, rule: str, value: Any, *, note: str = "", source: str = ""
    ) -> OptionError:
        """`<option> must be <rule>, got <value>`, `note` (e.g. "None: no limit") for Python."""
        rule = rule.replace("{", "{{").replace("}", "}}")
        return cls(
            f"{{}} must be {rule}{{}}, got {{}}",
            Opt(option),
            PyNote(f" ({note})" if note else ""),
            Given(option, value),
            source=source,
        )

    def within(self, source: str) -> OptionError:
        """The same error, said of `source` (a config file, "compare fine-tuning options")."""
        where = f"{source}: {self.source}" if self.source else source
        return OptionError(
            self.template, *self.parts, source=where, hint=self.hint, keys=self.keys
        )

    def from_file(self, names: Collection[str], file: str) -> OptionError:
        """The same error, naming the options of `names` by key: config `file` gave them.

        `tune --config c.yaml` with `max_length: -5` said `--max-length must be ...`, a
        flag the user never typed. Where the file gave every option named, the message
        begins with the file alone, not "c.yaml + command line".
        """
        keys = self.keys | frozenset(names)
        named = self.option_names()
        source = file if named and named <= keys else self.source
        return OptionError(self.template, *self.parts, source=source, hint=self.hint, keys=keys)

    def option_names(self) -> set[str]:
        """The keywords of the options this error names (its `Opt` parts)."""
        return {part.name for part in self.parts if isinstance(part, Opt)}

    def with_source(self, source: str) -> OptionError:
        """The same error, said of `source` alone (the files that gave its options)."""
        return OptionError(
            self.template, *self.parts, source=source, hint=self.hint, keys=self.keys
        )

    def describe(
        self,
        flag_for: Callable[[str], str | None] | None = None,
        given: Callable[[str], Any] | None = None,
    ) -> str:
        """The message naming keywords (`flag_for` None) or flags, and the values they took.

        `given(keyword)` is the value the command's flag took, or None where it took none.
        """
        text = self._render(flag_for, given)
        return text + self.hint.render(flag_for) if self.hint is not None else text

    def _render(
        self,
        flag_for: Callable[[str], str | None] | None,
        given: Callable[[str], Any] | None,
    ) -> str:
        parts: list[str] = []
        for part in self.parts:
            if isinstance(part, PyNote):
                parts.append(part.text if flag_for is None else "")
            elif isinstance(part, Given):
                typed = None if given is None or part.name in self.keys else given(part.name)
                parts.append(str(part.value if typed is None else typed))
            else:
                parts.append(_option_name(part, None if part.name in self.keys else flag_for))
        text = self.template.format(*parts)
        return f"{self.source}: {text}" if self.source else text


def _option_name(opt: Opt, flag_for: Callable[[str], str | None] | None) -> str:
    """`name`, `name=value`, or the flag (`--name`, `--name value`, `--set name=value`)."""
    flag = None if flag_for is None else flag_for(opt.flag_key or opt.name)
    if flag is None:
        return f"{opt.name}={opt.value}" if opt.value else opt.name
    if not opt.cli_value:
        return flag.rstrip("=")  # `--set lr=` names the option as `--set lr`
    return f"{flag}{'' if flag.endswith('=') else ' '}{opt.cli_value}"


class CheckpointError(VecgraftError):
    """A run directory or checkpoint is missing, incomplete, or incompatible."""


class MissingExtraError(VecgraftError, ImportError):
    """An optional dependency is missing; the message names the `pip install` that fixes it."""


class ResourceError(VecgraftError):
    """A load would exceed the memory (or another resource) this machine can give it."""


class FinishedElsewhereError(VecgraftError):
    """`tune` left its study's finish to another live command on the same `out`.

    Why an error, not None: `tune` returns a `TuneResult`, and a typed caller should not
    check for None on every call for a case that needs two commands on one folder. The
    other command chooses the best trial and retrains `out/final`; the CLI ends with 0.
    """


class UnsegmentedTextWarning(UserWarning):
    """`build_vocab`'s tokenizer left text written without spaces (Chinese, Thai) whole.

    A class of its own so a caller can filter it (`warnings.filterwarnings("ignore",
    category=UnsegmentedTextWarning)`). `finetune`, `tune`, `compare` and `build` do not
    warn it: they report the note through their `log` (a run log's WARNING line) instead of
    a Python warning; `pretrain` warns it.
    """
