"""Lazy re-exports for package `__init__` modules.

As in scientific-python's lazy_loader: a name is imported from its module on first access,
then cached, so importing a package costs nothing until one of its names is used.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Collection, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str], modules: Collection[str] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module-level `__getattr__` and `__dir__` for `package` re-exporting `exports`.

    Args:
        package: the package's `__name__`.
        exports: public name -> module that defines it.
        modules: public names that are the package's own submodules, given as the module
            (`vecgraft.finetune`, a callable package: not its function of the same name,
            which would hide the package from `vecgraft.finetune.FinetuneConfig`).

    Example:
        >>> __getattr__, __dir__ = lazy_exports(__name__, {"Vectors": "vecgraft.vectors"})
    """

    def __getattr__(name: str) -> Any:
        if name in modules:  # importing it sets the package's attribute
            return importlib.import_module(f"{package}.{name}")
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*exports, *modules})

    return __getattr__, __dir__
