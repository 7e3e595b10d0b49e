"""Import optional dependencies with an error that says how to install them."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from types import ModuleType

from vecgraft.errors import MissingExtraError


def install_hint(extras: str) -> str:
    """The command that installs `extras` ("zh", "demo,zh,train"), for every such message.

    vecgraft is not on PyPI, so a `vecgraft[zh]` requirement finds nothing: extras install
    from the checkout or from a wheel built there.

    >>> install_hint("zh")
    'pip install ".[zh]" in the vecgraft checkout (or the built wheel with [zh] after its name)'
    """
    return (f'pip install ".[{extras}]" in the vecgraft checkout (or the built wheel with '
            f"[{extras}] after its name)")


def require(module: str, extra: str, feature: str | None = None) -> ModuleType:
    """Import `module`, or raise MissingExtraError naming how to install `extra`.

    >>> np = require("numpy", "core")
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        what = feature or module
        raise MissingExtraError(
            f"{what} needs the optional dependency '{module.split('.')[0]}', which is not "
            f"installed: {install_hint(extra)}"
        ) from exc


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load reports and progress bars while a checkpoint loads.

    Loading a sentence-transformers checkpoint as a classifier prints a table of unexpected
    and newly initialised weights and a progress bar with terminal escapes, into logs that
    are often files. Their errors still raise; the caller's settings are restored after.
    """
    import transformers

    logging = transformers.utils.logging
    verbosity, bars = logging.get_verbosity(), logging.is_progress_bar_enabled()
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        logging.set_verbosity(verbosity)
        if bars:
            logging.enable_progress_bar()
