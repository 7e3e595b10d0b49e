"""Import optional dependencies with an error that says how to install them."""

from __future__ import annotations

import importlib
from types import ModuleType

from vecgraft.errors import MissingExtraError


def require(module: str, extra: str, feature: str | None = None) -> ModuleType:
    """Import `module`, or raise MissingExtraError naming `pip install vecgraft[extra]`.

    >>> np = require("numpy", "core")
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        what = feature or module
        raise MissingExtraError(
            f"{what} needs the optional dependency '{module.split('.')[0]}', which is not "
            f'installed: pip install "vecgraft[{extra}]"'
        ) from exc
