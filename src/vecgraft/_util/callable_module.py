"""A module callable as one of its functions: `vecgraft.align(...)`, `vecgraft.finetune(...)`.

`vecgraft.tune(...)` is a function; `vecgraft.align`, `vecgraft.finetune` and
`vecgraft.pretrain` are names of a stage's module or package as well as of its entry point.
Importing a submodule sets the package's attribute to the module, so whichever the name
holds, it must work both ways: `vecgraft.finetune.FinetuneConfig` and `import
vecgraft.finetune` give the package, and `vecgraft.finetune(config)` runs the job ("'module'
object is not callable" otherwise). The function is imported by the first call, so the
import stays as light as it was (no torch). A type checker sees neither a callable module
nor this class: `vecgraft`'s `TYPE_CHECKING` block gives it `FinetunePackage` and
`PretrainPackage` (the stages' `_package_type`), the package's names with the function's call.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import types
from typing import Any

__all__ = ["make_callable"]


class CallableModule(types.ModuleType):
    """A module whose call runs the function named by its `__call_target__` ("module:name")."""

    def _target(self) -> Any:
        module, name = self.__dict__["__call_target__"].split(":")
        return getattr(importlib.import_module(module), name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._target()(*args, **kwargs)

    @property
    def __signature__(self) -> inspect.Signature:
        """The function's parameters, not `__call__`'s `(*args, **kwargs)`.

        So `inspect.signature(vecgraft.align)`, IDEs and Jupyter's `vecgraft.align?` show
        `(vocab, vectors, *, order, init, ...)` whichever of the two the name holds.
        """
        return inspect.signature(self._target())


def make_callable(module: str, target: str) -> None:
    """Make the loaded module `module` callable as `target`, "package.module:function"."""
    mod = sys.modules[module]
    mod.__dict__["__call_target__"] = target
    mod.__class__ = CallableModule
