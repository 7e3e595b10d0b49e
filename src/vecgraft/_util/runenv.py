"""What a run records of the software and machine it ran on, to rerun it elsewhere.

A run folder's `manifest.json` and a pretraining run's `metadata.json` keep an
`environment` block: vecgraft's, Python's and the main packages' versions, the platform,
and (a run that computes with torch) the device it actually used and torch's thread count,
and the command line when it ran from the `vecgraft` command. Never in a file promised to
be the same bytes on a rerun (weights, scores, vectors.safetensors): versions and the
platform differ between machines that train alike.
"""

from __future__ import annotations

import contextlib
import platform
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from importlib import metadata
from typing import Any

# the packages whose versions change what a run computes
PACKAGES = ("torch", "numpy", "scikit-learn")

# the `vecgraft` command's arguments while it runs (None: called from Python)
_ARGV: ContextVar[tuple[str, ...] | None] = ContextVar("vecgraft_argv", default=None)


@contextlib.contextmanager
def command_line(argv: Sequence[str]) -> Iterator[None]:
    """Let the runs started inside record `vecgraft ARGV...` as their command line."""
    token = _ARGV.set(tuple(str(a) for a in argv))
    try:
        yield
    finally:
        _ARGV.reset(token)


def environment(device: Any = None, packages: Sequence[str] = PACKAGES) -> dict[str, Any]:
    """The `environment` block: versions, platform, `device` (when given) and command line.

    `device`: the torch device the run computes on, as resolved ("cuda:0", not the "auto"
    its config.json keeps); with it, torch's intra-op thread count (it changes float sums'
    order, so CPU results in their last bits) and a GPU's name.
    """
    from vecgraft._util.version import __version__

    env: dict[str, Any] = {
        "vecgraft": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {name: _version(name) for name in packages},
    }
    if device is not None:
        env.update(_device_facts(device))
    argv = _ARGV.get()
    if argv is not None:
        env["argv"] = ["vecgraft", *argv]
    return env


def _device_facts(device: Any) -> dict[str, Any]:
    """The device as resolved, torch's thread count, and a CUDA device's name."""
    import torch

    where = torch.device(device)
    if where.type == "cuda" and where.index is None:
        # `--device cuda` is the current device: record its index, as the docs show it
        with contextlib.suppress(RuntimeError, AssertionError):
            where = torch.device("cuda", torch.cuda.current_device())
    facts: dict[str, Any] = {"device": str(where), "torch_threads": torch.get_num_threads()}
    if where.type == "cuda":
        with contextlib.suppress(RuntimeError, AssertionError):  # a GPU gone meanwhile
            facts["device_name"] = torch.cuda.get_device_name(where)
    return facts


def _version(name: str) -> str | None:
    """The installed version of distribution `name`; None: not installed."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
