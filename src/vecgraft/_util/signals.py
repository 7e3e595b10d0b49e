"""SIGTERM taken as Ctrl-C, and signals held over a step that must finish whole.

`kill`, `timeout`, systemd and SLURM stop a command with SIGTERM, which by default ends a
Python process at once: no `finally`, no checkpoint, no rollback, temp files left behind.
`sigterm_as_interrupt` (the CLI's) raises `Terminated`, a KeyboardInterrupt, instead, so the
cleanup a Ctrl-C runs runs for it too; `exit_status` gives 143 for it (130 for a Ctrl-C).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

__all__ = [
    "Terminated",
    "exit_status",
    "interrupts_deferred",
    "sigterm_as_interrupt",
    "stopped_by",
]


class Terminated(KeyboardInterrupt):
    """A SIGTERM, raised where a Ctrl-C raises KeyboardInterrupt, so the same cleanup runs."""


def exit_status(exc: BaseException) -> int:
    """A command's exit status when `exc` stopped it: 143 for SIGTERM (128 + 15), else 130."""
    return 128 + int(signal.SIGTERM) if isinstance(exc, Terminated) else 130


def stopped_by(exc: BaseException) -> str:
    """How a command stopped by `exc` says so: "interrupted" (Ctrl-C) or "terminated"."""
    return "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"


def _terminate_once() -> Callable[[int, Any], None]:
    """A SIGTERM handler raising `Terminated` the first time; later ones are ignored.

    Why ignored: the cleanup the first one started (a checkpoint, a rollback, the temp files)
    must run to its end; stopped halfway it left things worse. SIGKILL still stops it.
    """
    fired: list[int] = []

    def on_sigterm(signum: int, _frame: Any) -> None:
        if not fired:
            fired.append(signum)
            raise Terminated

    return on_sigterm


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While the block runs, a SIGTERM raises `Terminated` (once) in the main thread.

    The previous handler comes back at the end. Outside the main thread, or where SIGTERM
    is ignored (a parent's choice) or handled outside Python, nothing changes.
    """
    previous = signal.getsignal(signal.SIGTERM)
    if (
        threading.current_thread() is not threading.main_thread()
        or previous is None
        or previous == signal.SIG_IGN
    ):
        yield
        return
    signal.signal(signal.SIGTERM, _terminate_once())
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold a Ctrl-C (SIGINT) or SIGTERM until the block ends, then raise it.

    A second Ctrl-C does not wait (pressed again: stop now, whatever the state); a second
    SIGTERM does (`sigterm_as_interrupt` ignores it anyway). Only in the main thread, and
    only for signals Python handles (elsewhere a no-op). At the end a held signal runs the
    handler it would have run: KeyboardInterrupt for SIGINT, `Terminated` for SIGTERM.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {
        signum: handler
        for signum in (signal.SIGINT, signal.SIGTERM)
        if callable(handler := signal.getsignal(signum))
    }
    if not held:
        yield
        return
    pending: list[int] = []

    def hold(signum: int, _frame: Any) -> None:
        if signum == signal.SIGINT and signal.SIGINT in pending:
            raise KeyboardInterrupt
        pending.append(signum)

    for signum in held:
        signal.signal(signum, hold)
    try:
        yield
    finally:
        for signum, handler in held.items():
            signal.signal(signum, handler)
    for came in dict.fromkeys(pending):
        held[signal.Signals(came)](came, None)  # raises, as it would have when it came
