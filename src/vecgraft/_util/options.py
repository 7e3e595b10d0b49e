"""Parse option values (from Python, a CLI flag or a config file): string enums, sizes."""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any, TypeVar

from vecgraft.errors import ConfigError

E = TypeVar("E", bound=Enum)

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_enum(cls: type[E], value: Any, name: str, *, also: str = "") -> E:
    """`value` as a member of `cls`; anything else is a ConfigError listing the choices.

    Every option of vecgraft is parsed here, so every bad value reads the same:
    `<name> must be one of a, b, c; got 'x'` (`also` adds to the list: "or a callable").
    A string in another case ("CNN") is the member it unambiguously names, so configs and
    flags keep the canonical (lower-case) value.

    >>> from vecgraft.nn.models import ModelKind
    >>> parse_enum(ModelKind, "cnn", "model kind")
    <ModelKind.CNN: 'cnn'>
    >>> parse_enum(ModelKind, "CNN", "model kind")
    <ModelKind.CNN: 'cnn'>
    """
    try:
        return lookup_enum(cls, value)
    except ValueError:
        choices = ", ".join(str(m.value) for m in cls) + (f" {also}" if also else "")
        raise ConfigError(f"{name} must be one of {choices}; got {value!r}") from None


def lookup_enum(cls: type[E], value: Any) -> E:
    """`cls(value)`, but a string in another case names the one member it folds to.

    ValueError as `cls(value)` raises it when no member (or more than one) fits; callers
    with their own message catch it.

    >>> from vecgraft.text.padding import Side
    >>> lookup_enum(Side, "Left")
    <Side.LEFT: 'left'>
    """
    if isinstance(value, cls):
        return value
    try:
        return cls(value.value if isinstance(value, Enum) else value)
    except ValueError:
        if isinstance(value, str):
            by_value = {str(m.value): m for m in cls}
            folded = fold_choice(value, by_value)
            if folded is not None:
                return by_value[folded]
        raise


def fold_choice(value: str, choices: Iterable[str]) -> str | None:
    """The one choice `value` names in another case ("CNN" -> "cnn"); None: none, or two.

    >>> fold_choice("CNN", ["cnn", "rnn"]), fold_choice("x", ["X", "x"])
    ('cnn', None)
    """
    folded = [c for c in choices if c.casefold() == value.casefold()]
    return folded[0] if len(folded) == 1 else None


def integer(value: Any, name: str) -> int:
    """`value` as a Python int (numpy integers too); a float, bool or string is an error.

    Why: `dim=2.0` was "slice indices must be integers" from numpy, `padding_idx=1.0` an
    IndexError from torch, and numpy's int64 was refused as "not an integer".
    """
    import numbers

    from vecgraft.errors import ConfigError

    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    return int(value)


def boolean(value: Any, name: str, *, none: bool = False) -> Any:
    """`value` if it is a bool (or None, where `none` says None means something).

    Why: a string is truthy, so `freeze="no"` froze and `cache="no"` cached. The check and
    the wording are `FinetuneConfig`'s: `lower must be true or false or null, got 'yes'`.
    """
    expected = misfit(value, bool | None if none else bool)
    if expected is None:
        return plain_number(value)  # numpy's bool as Python's
    from vecgraft.errors import OptionError

    raise OptionError.out_of_range(name, expected, repr(value))


def parse_size(text: str) -> int:
    """Bytes from `123`, `64K`, `500M`, `4G`, `1.5T` (binary units; a trailing B or iB is allowed).

    One parser for `--max-memory 8G` and `load(max_memory="8G")`, so the README's "`max_memory=`
    / `--max-memory 8G`" holds for both. ValueError (its message quotes `text`) otherwise.

    >>> parse_size("8G"), parse_size("64kib"), parse_size("1.5K"), parse_size("0")
    (8589934592, 65536, 1536, 0)
    """
    raw = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = raw[-1:] if raw[-1:] in _UNITS and raw[-1:] else ""
    number = raw[: len(raw) - len(unit)]
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"{text!r} is not a size (e.g. 100000, 64K, 500M, 4G)") from None
    size = value * _UNITS[unit]
    if not math.isfinite(size):  # "inf" or "1e300T": int() overflowed uncaught
        raise ValueError(f"{text!r} is not a size (e.g. 100000, 64K, 500M, 4G)")
    if value < 0:
        raise ValueError(f"{text!r}: a size cannot be negative")
    return int(size)


def misfit(value: Any, hint: Any) -> str | None:
    """What `hint` asks for, in words, when `value` does not fit it (None: it fits).

    Lenient where the config converts: a number for a float, a name for an enum, a path
    for a string, a list for a tuple, numpy's numbers (`numbers.Integral` / `numbers.Real`,
    never a bool) for ints and floats, numpy's bool for a bool (`plain_number` makes them
    Python's). `FinetuneConfig`
    and `PretrainConfig` check their fields with it, and `boolean` the flags of public
    functions, so each reads alike.

    >>> import numpy as np
    >>> misfit("10", int), misfit(10, int | None), misfit("yes", bool | None)
    ('an integer', None, 'true or false or null')
    >>> misfit(np.int64(2), int), misfit(np.float32(1e-3), float), misfit(True, int)
    (None, None, 'an integer')
    >>> misfit(np.bool_(False), bool), misfit(np.bool_(True), int), misfit(1, bool)
    (None, 'an integer', 'true or false')
    """
    import types
    import typing

    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        missing = [misfit(value, option) for option in options]
        if any(m is None for m in missing):
            return None
        return " or ".join(m for m in missing if m)
    origin = typing.get_origin(hint) or hint
    if hint is type(None):
        return None if value is None else "null"
    if origin is bool:  # numpy's too: `cache=np.bool_(False)` was "not true or false"
        return None if isinstance(value, bool) or _numpy_bool(value) else "true or false"
    if origin is int:  # numpy's integers too: `workers=np.int64(2)` trained before the check
        fits = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        return None if fits else "an integer"
    if origin is float:
        fits = isinstance(value, numbers.Real) and not isinstance(value, bool)
        return None if fits else "a number"
    if origin is str:
        return None if isinstance(value, str | os.PathLike) else "a string"
    if isinstance(origin, type) and issubclass(origin, Enum):
        names = ", ".join(repr(m.value) for m in origin)
        return None if isinstance(value, str | Enum) else f"one of {names}"
    if origin is dict:
        return None if isinstance(value, Mapping) else "a mapping (key: value)"
    if origin is tuple:  # numpy's 1-d array too: `fuse_pool=np.array([0.5, 1.0])`
        fits = isinstance(value, list | tuple) or getattr(value, "ndim", None) == 1
        return None if fits else "a list"
    if origin is list:  # `tokenizer`'s kinds: each item checked, not the list alone
        (item,) = typing.get_args(hint) or (Any,)
        fits = isinstance(value, list) and all(misfit(v, item) is None for v in value)
        return None if fits else "a list of strings" if item is str else "a list"
    return None


def plain_number(value: Any) -> Any:
    """`value` as Python's bool, int or float where it is numpy's (or another number), else as is.

    Why: a config keeps what `misfit` let through, and `json` cannot write `np.int64(2)`
    (metadata.json, config.json). A numpy float is taken at its shortest repr: float() of
    `np.float32(0.03)` wrote 0.029999999329447746 to metadata.json.

    >>> import numpy as np
    >>> [plain_number(v) for v in (np.int64(2), np.float32(0.5), True, "a", np.bool_(True))]
    [2, 0.5, True, 'a', True]
    >>> plain_number(np.float32(0.03)), plain_number(np.float16(0.1))
    (0.03, 0.1)
    """
    if isinstance(value, bool) or type(value) in (int, float):
        return value
    if _numpy_bool(value):
        return bool(value)
    if _numpy_float(value):  # its shortest repr: the number the user wrote
        return float(str(value))
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value


def _numpy_bool(value: Any) -> bool:
    """Whether `value` is numpy's bool (`np.bool_`)."""
    return _numpy_is(value, "bool_")


def _numpy_float(value: Any) -> bool:
    """Whether `value` is a numpy float (`np.floating`)."""
    return _numpy_is(value, "floating")


def _numpy_is(value: Any, kind: str) -> bool:
    """Whether `value` is an instance of numpy's `kind`, without importing numpy where unloaded."""
    import sys

    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, getattr(numpy, kind))
