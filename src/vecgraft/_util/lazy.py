"""Lazy re-exports for package `__init__` modules.

As in scientific-python's lazy_loader: a name is imported from its module on first access,
then cached, so importing a package costs nothing until one of its names is used.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any


class _LazyPackage(types.ModuleType):
    """A package whose exported names win over same-named submodules.

    Importing submodule `vecgraft.align` makes the import system set attribute `align` on
    `vecgraft`, which would hide the exported *function* `vecgraft.align` whenever something
    imported the module first (so `vecgraft.align(...)` worked or not depending on import
    order). The submodule stays reachable through `sys.modules` and `from ... import`.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        exports = self.__dict__.get("_lazy_export_names", ())
        if (
            name in exports
            and isinstance(value, types.ModuleType)
            and value.__name__ == f"{self.__name__}.{name}"
        ):
            return
        super().__setattr__(name, value)


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

    module = sys.modules[package]
    module.__dict__["_lazy_export_names"] = frozenset(exports)
    if type(module) is types.ModuleType:
        module.__class__ = _LazyPackage

    return __getattr__, __dir__
