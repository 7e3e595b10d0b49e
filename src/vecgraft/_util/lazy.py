"""Lazy re-exports for package `__init__` modules.

As in scientific-python's lazy_loader: a name is imported from its module on first access,
then cached, so importing a package costs nothing until one of its names is used.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module-level `__getattr__` and `__dir__` for `package` re-exporting `exports`.

    Args:
        package: the package's `__name__`.
        exports: public name -> module that defines it.

    Example:
        >>> __getattr__, __dir__ = lazy_exports(__name__, {"Vectors": "vecgraft.vectors"})
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__
