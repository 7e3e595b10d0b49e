"""Search spaces of `vecgraft tune`, one per model family, kept as data.

Each family's space maps a setting to a distribution. A setting is a `FinetuneConfig` field
(`lr`, `batch_size`, ...) or a model option written `model_options.NAME` (`dropout`,
`num_filters`, the linear baseline's `C`). A distribution is a small mapping:

    {"type": "float", "low": 1e-4, "high": 1e-2, "log": true}
    {"type": "int", "low": 1, "high": 3}
    {"type": "categorical", "choices": [16, 32, 64]}
    {"type": "range", "choices": ["1-1", "1-2"]}   # an n-gram range, given as [lo, hi]
                                                   # ("none": no such n-grams, None)

A plain value (`lr: 0.001`) fixes a setting. Adding a family is one entry in `SPACES`; a
`--space FILE` (YAML) overrides or narrows entries, and `null` removes one; a name that is
neither a fine-tuning option nor one of the family's model options is refused:

    >>> space = family_space("boe", overrides={"lr": 0.01, "dropout": None})
    >>> space["lr"], "dropout" in space
    (0.01, False)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import Enum
from typing import Any

from vecgraft.errors import ConfigError

__all__ = [
    "NO_RANGE",
    "SPACES",
    "default_params",
    "family_space",
    "fixed_settings",
    "load_space_file",
    "sample_settings",
    "to_config_changes",
]

_LR = {"type": "float", "low": 3e-4, "high": 1e-2, "log": True}
_EMBEDDING_LR = {"type": "float", "low": 1e-4, "high": 3e-2, "log": True}
_WEIGHT_DECAY = {"type": "float", "low": 1e-6, "high": 0.1, "log": True}
_BATCH = {"type": "categorical", "choices": [16, 32, 64]}
_FREEZE = {"type": "int", "low": 0, "high": 3}
_WARMUP = {"type": "float", "low": 0.0, "high": 0.2}
_DROPOUT = {"type": "float", "low": 0.0, "high": 0.6}

_COMMON: dict[str, Any] = {
    "lr": _LR,
    "embedding_lr": _EMBEDDING_LR,
    "weight_decay": _WEIGHT_DECAY,
    "batch_size": _BATCH,
    "freeze_epochs": _FREEZE,
    "warmup": _WARMUP,
    # the optimizer-step budget behind the default `epochs=None` (clipped to 3-200 epochs;
    # early stopping restores the best epoch), so one space fits 78 and 60k documents
    "train_steps": {"type": "int", "low": 500, "high": 6000, "log": True},
}

_RECURRENT: dict[str, Any] = {  # RNN and BiLSTM-max share their knobs
    **_COMMON,
    "model_options.dropout": _DROPOUT,
    "model_options.hidden_size": {"type": "categorical", "choices": [64, 128, 256]},
}

# family (ModelKind value) -> setting -> distribution; keys are strings so a family that is
# not registered yet (`linear` before its ModelKind exists) can already have its space here
SPACES: dict[str, dict[str, Any]] = {
    "boe": {
        **_COMMON,
        "model_options.dropout": _DROPOUT,
        "model_options.hidden_size": {"type": "categorical", "choices": [0, 64, 128, 256]},
        "model_options.pooling": {"type": "categorical", "choices": ["mean", "max", "mean_max"]},
    },
    "swem": {
        **_COMMON,
        "model_options.dropout": _DROPOUT,
        "model_options.pooling": {
            "type": "categorical", "choices": ["mean", "max", "mean_max", "hierarchical"]
        },
        "model_options.window": {"type": "int", "low": 2, "high": 7},
    },
    "fasttext": {
        **_COMMON,
        "model_options.dropout": _DROPOUT,
        "model_options.buckets": {"type": "categorical", "choices": [0, 20_000, 50_000, 100_000]},
    },
    "cnn": {
        **_COMMON,
        "model_options.dropout": _DROPOUT,
        "model_options.num_filters": {"type": "categorical", "choices": [50, 100, 200]},
        "model_options.channels": {
            "type": "categorical", "choices": ["static", "non_static", "multichannel"]
        },
    },
    "rnn": _RECURRENT,
    "bilstm": _RECURRENT,
    "transformer": {
        **_COMMON,
        "lr": {"type": "float", "low": 1e-4, "high": 3e-3, "log": True},
        "warmup": {"type": "float", "low": 0.0, "high": 0.3},
        "model_options.dropout": {"type": "float", "low": 0.0, "high": 0.3},
    },
    "hf": {  # the whole checkpoint: Hugging Face's usual ranges
        "lr": {"type": "float", "low": 1e-5, "high": 1e-4, "log": True},
        "epochs": {"type": "int", "low": 2, "high": 4},
        "warmup": {"type": "float", "low": 0.0, "high": 0.2},
        "weight_decay": {"type": "float", "low": 0.0, "high": 0.1},
        "batch_size": {"type": "categorical", "choices": [16, 32]},
        "layer_decay": {"type": "float", "low": 0.7, "high": 1.0},
    },
    "linear": {
        "model_options.C": {"type": "float", "low": 0.01, "high": 10.0, "log": True},
        "model_options.word_ngrams": {"type": "range", "choices": ["1-1", "1-2", "1-3"]},
        "model_options.char_ngrams": {"type": "range", "choices": ["2-4", "2-5", "1-3"]},
    },
}

_TYPES = ("float", "int", "categorical", "range")
NO_RANGE = "none"  # a range choice that drops those n-grams (the option None)


def _short(name: str) -> str:
    """`model_options.dropout` may be written `dropout` in a --space file."""
    return name.split(".", 1)[1] if name.startswith("model_options.") else name


def family_space(
    family: str, overrides: Mapping[str, Any] | None = None, *, source: str = "space"
) -> dict[str, Any]:
    """The built-in space of `family` with `overrides` applied (None values remove a setting).

    Raises:
        ConfigError: no space for the family, or a malformed distribution.
    """
    if family not in SPACES:
        raise ConfigError(
            f"no search space for model {family!r}; known: {sorted(SPACES)} "
            "(pass a --space file to define one)"
        )
    space = dict(SPACES[family])
    by_short = {_short(k): k for k in space}
    for name, value in (overrides or {}).items():
        key = name if name in space else by_short.get(name, name)
        if key not in space:
            _check_name(key, family, source)
        if value is None:
            space.pop(key, None)
        else:
            space[key] = value
    for key, value in space.items():
        _check(key, value, source)
    return space


def _model_options(family: str) -> set[str] | None:
    """The model options `family` accepts (None: not known here, so not checked)."""
    from dataclasses import fields

    if family == "linear":
        from vecgraft.finetune.linear import LinearConfig

        return {f.name for f in fields(LinearConfig)} - {"extra"}
    from vecgraft.nn.models import ModelKind, model_option_defaults

    if family not in {k.value for k in ModelKind}:
        return None
    return set(model_option_defaults(family)) or None


def _check_name(name: str, family: str, source: str) -> None:
    """A setting the space does not have must be a fine-tuning option or a model option.

    Found before the search: a misspelled name would otherwise fail every trial (or, set to
    null, silently leave the setting searched).
    """
    import difflib
    from dataclasses import fields

    from vecgraft.finetune.config import FinetuneConfig

    config = {f.name for f in fields(FinetuneConfig)}
    options = _model_options(family)
    if name.startswith("model_options."):
        option = name.split(".", 1)[1]
        if options is None or option in options:
            return
        known = sorted(options)
        hint = f"model {family!r} has the options {', '.join(known)}"
    elif name in config:
        return
    else:
        known = sorted(config | {f"model_options.{o}" for o in options or ()})
        hint = "a setting is a fine-tuning option (lr, batch_size, ...) or model_options.NAME"
        if options and name in options:
            hint = f"a model option is written model_options.{name}"
    close = difflib.get_close_matches(name.split(".")[-1], [k.split(".")[-1] for k in known])
    guess = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"{source}: unknown setting {name!r}{guess}; {hint}")


def _check(name: str, value: Any, source: str) -> None:
    if not isinstance(value, Mapping):
        return  # a fixed value
    kind = value.get("type")
    if kind not in _TYPES:
        raise ConfigError(f"{source}: {name}: 'type' must be one of {list(_TYPES)}, got {kind!r}")
    if kind in ("float", "int"):
        low, high = value.get("low"), value.get("high")
        if not isinstance(low, int | float) or not isinstance(high, int | float) or low > high:
            raise ConfigError(f"{source}: {name}: expected numbers low <= high, got {low}, {high}")
        if value.get("log") and low <= 0:
            raise ConfigError(f"{source}: {name}: a log scale needs low > 0, got {low}")
    elif not value.get("choices"):
        raise ConfigError(f"{source}: {name}: expected a non-empty 'choices' list")


def load_space_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The overrides in a YAML/TOML/JSON `--space` file (setting -> distribution or value)."""
    from vecgraft.finetune.config import read_config_file

    return read_config_file(path, "the search space file")


def fixed_settings(space: Mapping[str, Any]) -> dict[str, Any]:
    """The settings `space` fixes (plain values, not distributions), which every trial takes.

    >>> fixed_settings({"lr": {"type": "float", "low": 0.1, "high": 1.0}, "batch_size": 16})
    {'batch_size': 16}
    """
    return {name: value for name, value in space.items() if not isinstance(value, Mapping)}


def sample_settings(trial: Any, space: Mapping[str, Any]) -> dict[str, Any]:
    """One value per setting, drawn through an Optuna trial (fixed values are kept as is)."""
    values: dict[str, Any] = {}
    for name, dist in space.items():
        if not isinstance(dist, Mapping):
            values[name] = dist
            continue
        kind = dist["type"]
        if kind == "float":
            values[name] = trial.suggest_float(
                name, float(dist["low"]), float(dist["high"]), log=bool(dist.get("log"))
            )
        elif kind == "int":
            values[name] = trial.suggest_int(
                name, int(dist["low"]), int(dist["high"]), log=bool(dist.get("log"))
            )
        else:
            values[name] = trial.suggest_categorical(name, list(dist["choices"]))
    return values


_UNSET = object()  # "no parameter": None is a value a categorical may offer (class_weight)


def _as_param(value: Any, dist: Any) -> Any:
    """`value` as the Optuna parameter of `dist`, clipped into its range; `_UNSET` if not one.

    Not None for "not one": a categorical's None choice (`class_weight: [null, balanced]`)
    is the default run's value, and reading it as "not one" left trial #0's to the sampler.
    """
    if isinstance(value, Enum):
        value = value.value
    if value is _UNSET or not isinstance(dist, Mapping):
        return _UNSET
    kind = dist["type"]
    if kind in ("float", "int"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return _UNSET
        low, high = dist["low"], dist["high"]
        clipped = min(max(value, low), high)
        return round(clipped) if kind == "int" else float(clipped)
    if kind == "range" and value is None:
        value = NO_RANGE  # e.g. the char tokenizer's word_ngrams, where a space offers it
    if kind == "range" and isinstance(value, list | tuple) and len(value) == 2:
        value = f"{value[0]}-{value[1]}"
    return value if value in dist["choices"] else _UNSET


def default_params(
    space: Mapping[str, Any], config_values: Mapping[str, Any], option_defaults: Mapping[str, Any]
) -> dict[str, Any]:
    """The Optuna parameters that reproduce the default run (as far as `space` can express it).

    A search that starts from the defaults never ends worse than them on its own validation
    data; values outside a range are clipped into it, settings the space cannot express
    (None where no choice is None, a choice it does not offer, a setting missing from
    `config_values`/`option_defaults`) are left to the sampler.

    >>> space = family_space("cnn")
    >>> params = default_params(space, {"lr": 2e-3, "train_steps": 3000}, {"dropout": 0.5})
    >>> params["lr"], params["train_steps"], params["model_options.dropout"]
    (0.002, 3000, 0.5)
    >>> cw = {"class_weight": {"type": "categorical", "choices": [None, "balanced"]}}
    >>> default_params(cw, {"class_weight": None}, {})
    {'class_weight': None}
    """
    params: dict[str, Any] = {}
    for name, dist in space.items():
        if name.startswith("model_options."):
            value = option_defaults.get(name.split(".", 1)[1], _UNSET)
        else:
            value = config_values.get(name, _UNSET)
        param = _as_param(value, dist)
        if param is not _UNSET:
            params[name] = param
    return params


def _range(text: Any, name: str) -> list[int] | None:
    if text is None or str(text).lower() == NO_RANGE:
        return None
    lo, sep, hi = str(text).partition("-")
    try:
        return [int(lo), int(hi if sep else lo)]
    except ValueError:
        raise ConfigError(f"{name}: expected an n-gram range like '1-2', got {text!r}") from None


def to_config_changes(
    values: Mapping[str, Any], space: Mapping[str, Any], base_options: Mapping[str, Any]
) -> dict[str, Any]:
    """`FinetuneConfig.replace` keyword arguments for sampled `values`.

    `model_options.X` settings are merged into a copy of `base_options`; n-gram ranges
    ("1-2") become [1, 2].
    """
    changes: dict[str, Any] = {}
    options = dict(base_options)
    for name, value in values.items():
        dist = space.get(name)
        if isinstance(dist, Mapping) and dist.get("type") == "range":
            value = _range(value, name)
        if name.startswith("model_options."):
            options[name.split(".", 1)[1]] = value
        else:
            changes[name] = value
    if options:
        changes["model_options"] = options
    if "freeze_epochs" in changes and "epochs" in changes:  # freeze at most all epochs
        changes["freeze_epochs"] = min(int(changes["freeze_epochs"]), int(changes["epochs"]))
    return changes
