"""What to say of a flag a subcommand lacks: finetune's setting taken another way, or a close flag.

`vecgraft tune --class-weight balanced` answered "did you mean --fuse-weight?", and
`--metric macro_f1` "did you mean --train?": difflib offered its nearest flag however far.
A finetune flag whose setting the subcommand takes from `--config` (or `--set`) is now said
so, and a guess is offered only where the names are close.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType

# a guess below this ratio (difflib, names without "--") is no guess: it let --metric
# suggest --train (0.55) and --class-weight --fuse-weight (0.70); typos score 0.8 and up
# (--trail/--train, --mdoel/--model, --n-trials/--trials)
GUESS_CUTOFF = 0.75


@dataclass(frozen=True)
class SettingsRoute:
    """How a subcommand takes finetune's settings it has no flag of its own for.

    Attributes:
        set_flag: `--set KEY=VALUE` takes them too, not only the `--config` file.
        elsewhere: setting -> how the subcommand sets it instead, said after its name
            (compare's `seed`: "sets each cell's seed with --seeds").
    """

    set_flag: bool = False
    elsewhere: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Given:
    """One unknown finetune flag: its setting, as typed, and the value written for it."""

    flag: str
    name: str
    value: str | None


def unknown_hint(command: str | None, parser: argparse.ArgumentParser, unknown: list[str],
                 module: ModuleType | None) -> str:  # fmt: skip
    """The text after "unrecognized arguments: ARGS": close flags, then finetune's settings."""
    route: SettingsRoute | None = getattr(module, "SETTINGS_ROUTE", None)
    given = _finetune_flags(unknown) if route is not None else {}
    own = [f for f in parser._option_string_actions if f.startswith("--")]
    notes: list[str] = []
    guesses: list[str] = []
    for arg in unknown:
        flag = arg.split("=", 1)[0]
        if not arg.startswith("--") or flag in given:
            continue
        guesses += _close(flag, own)
    if guesses:
        notes.append(f" (did you mean {', '.join(guesses)}?)")
    if route is not None and given:
        notes += [f"; {note}" for note in _route_notes(command or "", route, given)]
    return "".join(notes)


def _close(flag: str, flags: Sequence[str]) -> list[str]:
    """The one flag of `flags` close to `flag` (as a typo is), else those it begins (≤ 3).

    Flags are not abbreviated (`allow_abbrev=False`), so a beginning such as `--vec` names
    the flags it could have meant (`--vectors`, `--vectors-encoding`) instead of nothing.
    """
    import difflib

    names = {f[2:]: f for f in flags}
    match = difflib.get_close_matches(flag[2:], list(names), n=1, cutoff=GUESS_CUTOFF)
    if match or len(flag) < 4:
        return [names[m] for m in match]
    begun = sorted((f for f in flags if f.startswith(flag)), key=lambda f: (len(f), f))
    return begun[:3]


def _finetune_flags(unknown: list[str]) -> dict[str, _Given]:
    """The finetune flags among `unknown` (flag -> setting and value), as finetune reads them."""
    actions = _finetune_actions()
    found: dict[str, _Given] = {}
    for i, arg in enumerate(unknown):
        flag, eq, inline = arg.partition("=")
        action = actions.get(flag)
        if action is None or not arg.startswith("--"):
            continue
        found[flag] = _Given(flag, action.dest, _value(flag, action, inline if eq else None,
                                                       unknown[i + 1 :]))  # fmt: skip
    return found


def _finetune_actions() -> dict[str, argparse.Action]:
    """Each finetune flag -> its action (`dest`: the FinetuneConfig field), aliases included."""
    from vecgraft.cli.finetune import add_config_arguments

    parser = argparse.ArgumentParser(add_help=False)
    add_config_arguments(parser)
    parser.add_argument("--model-option", dest="model_options", metavar="KEY=VALUE")
    return dict(parser._option_string_actions)


def _value(flag: str, action: argparse.Action, inline: str | None,
           rest: list[str]) -> str | None:  # fmt: skip
    """The value given with `flag`, as a config file writes it (None: none typed)."""
    if isinstance(action, argparse.BooleanOptionalAction):
        return "false" if flag.startswith("--no-") else "true"
    count = action.nargs if isinstance(action.nargs, int) else 1
    taken = [inline] if inline is not None else []
    for item in rest:
        if len(taken) >= count or (item.startswith("-") and not _is_number(item)):
            break
        taken.append(item)
    if not taken:
        return None
    return taken[0] if count == 1 else f"[{', '.join(taken)}]"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _route_notes(command: str, route: SettingsRoute, given: dict[str, _Given]) -> list[str]:
    """How `command` takes each given finetune setting: --config/--set, or its own way."""
    taken = [g for g in given.values() if g.name not in route.elsewhere]
    notes = [_config_note(command, route, taken)] if taken else []
    own_way = dict.fromkeys(route.elsewhere[g.name] for g in given.values() if g not in taken)
    return notes + [f"{command} {remark}" for remark in own_way]


def _config_note(command: str, route: SettingsRoute, taken: list[_Given]) -> str:
    """The sentence naming --config (and --set) with the settings `taken` written in them."""
    names = _and([g.name for g in taken])
    if route.set_flag:
        sets = " ".join(f"--set {_set_item(g)}" for g in taken)
        return f"{command} takes {names} through --set KEY=VALUE (`{sets}`) or its --config file"
    lines = ", ".join(f"`{g.name}: {_yaml_value(g)}`" for g in taken)
    return f"{command} takes {names} from --config (a YAML/TOML/JSON file: {lines})"


def _yaml_value(given: _Given) -> str:
    """The value as a YAML file writes it; `--model-option dropout=0.3`: `{dropout: 0.3}`."""
    if given.value is None:
        return "..."
    key, eq, value = given.value.partition("=")
    return f"{{{key}: {value}}}" if given.name == "model_options" and eq else given.value


def _set_item(given: _Given) -> str:
    """KEY=VALUE as --set reads it (JSON where it parses); model options as a JSON object."""
    value = "..." if given.value is None else given.value
    key, eq, option = value.partition("=")
    if given.name == "model_options" and eq:
        return f"'model_options={{\"{key}\": {option}}}'"
    if value.startswith("["):  # one shell word: `--set fuse_pool=[0.5,0.5]`
        value = value.replace(", ", ",")
    return f"{given.name}={value}"


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
