"""Which kind of vecgraft output a folder holds, so one command does not write into another's.

`compare`, `tune` and `pretrain` write into (or resume in) their `--out` folder, so they
cannot refuse every folder that holds files; they refuse one that holds another command's
output instead (a `finetune` run, a tuning study, a comparison, pretrained vectors):
mixing them left a folder that neither command's resume, nor `predict`, read as its own.
"""

from __future__ import annotations

import os
from pathlib import Path

from vecgraft.errors import ConfigError, Hint, Opt

__all__ = ["OUTPUT_KINDS", "check_output_kind", "output_kind"]

# kind -> names only that kind writes at its top (any one of them marks the folder)
OUTPUT_KINDS: dict[str, tuple[str, ...]] = {
    "a finetune run": ("manifest.json", "best/model.json", "last/model.json"),
    "a tuning study": ("tune.json", "study.journal", "best.yaml", "trials.csv"),
    "a comparison": ("compare.json", "cells"),
    "pretrained vectors": ("metadata.json",),  # `vecgraft pretrain`'s, written last
}


def output_kind(path: str | os.PathLike[str]) -> tuple[str, str] | None:
    """(kind, the name that marks it) of the output in folder `path`, or None.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> output_kind(folder) is None
    True
    >>> _ = (folder / "compare.json").write_text("{}")
    >>> output_kind(folder)
    ('a comparison', 'compare.json')
    """
    folder = Path(path)
    if not folder.is_dir():
        return None
    for kind, names in OUTPUT_KINDS.items():
        for name in names:
            if (folder / name).exists():
                return kind, name
    return None


def check_output_kind(path: str | os.PathLike[str], kind: str) -> None:
    """Raise ConfigError when folder `path` holds an output of a kind other than `kind`.

    A new, empty or foreign folder (no marker of any kind) passes, as does one of `kind`.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "manifest.json").write_text("{}")
    >>> try:
    ...     check_output_kind(folder, "a comparison")
    ... except ConfigError as exc:
    ...     print(str(exc).split(": ", 1)[1].split(";")[0])
    holds a finetune run (manifest.json), not a comparison
    """
    if kind not in OUTPUT_KINDS:
        raise ValueError(f"unknown output kind {kind!r}")
    found = output_kind(path)
    if found is None or found[0] == kind:
        return
    own = any((Path(path) / name).exists() for name in OUTPUT_KINDS[kind])
    if own:  # e.g. a comparison whose cells hold runs: its own markers win
        return
    other, marker = found
    raise ConfigError(
        f"{path}: holds {other} ({marker}), not {kind}; writing here would "
        "mix the two",
        hint=Hint("; choose another {}", Opt("out", "...", "DIR")),
    )
