"""SIGTERM taken as Ctrl-C, signals held over a step, worker processes that stop with their parent.

`kill`, `timeout`, systemd and SLURM stop a command with SIGTERM, which by default ends a
Python process at once: no `finally`, no checkpoint, no rollback, temp files left behind.
`sigterm_as_interrupt` (the CLI's) raises `Terminated`, a KeyboardInterrupt, instead, so the
cleanup a Ctrl-C runs runs for it too; `exit_status` gives 143 for it (130 for a Ctrl-C).

A worker process started by a command (`tune --jobs`) calls `worker_signals`: its parent
stops it (SIGTERM), and it stops when its parent ends, however that ends (even `kill -9`).
"""

from __future__ import annotations

import _thread
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from vecgraft._util import processes

__all__ = [
    "Terminated",
    "exit_status",
    "interrupts_deferred",
    "parent_runs",
    "signals_blocked",
    "sigterm_as_interrupt",
    "stopped_by",
    "worker_signals",
]


class Terminated(KeyboardInterrupt):
    """A SIGTERM, raised where a Ctrl-C raises KeyboardInterrupt, so the same cleanup runs."""


def exit_status(exc: BaseException) -> int:
    """A command's exit status when `exc` stopped it: 143 for SIGTERM (128 + 15), else 130."""
    return 128 + int(signal.SIGTERM) if isinstance(exc, Terminated) else 130


def stopped_by(exc: BaseException) -> str:
    """How a command stopped by `exc` says so: "interrupted" (Ctrl-C) or "terminated"."""
    return "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"


class _TerminateOnce:
    """A SIGTERM handler raising `Terminated` the first time; later ones are ignored.

    Why ignored: the cleanup the first one started (a checkpoint, a rollback, the temp files)
    must run to its end; stopped halfway it left things worse. SIGKILL still stops it.
    """

    def __init__(self) -> None:
        self.fired = False
        self.resending = False  # a SIGTERM to the main thread is on its way (`rearm`)
        self.hook_code: Any = None  # the unraisable hook's: raised in there, it is lost again

    def __call__(self, signum: int, frame: Any) -> None:
        if _inside(frame, self.hook_code):  # came while the hook runs (another SIGTERM)
            self.rearm()
            return
        if not self.fired:
            self.fired = True
            raise Terminated

    def rearm(self) -> None:
        """Raise it again: the first was swallowed where Python cannot raise (see below).

        From another thread, once the main thread has left the hook: signalled from in there,
        the handler would run inside the hook, where its exception is swallowed again (and
        `fired` set: deaf). A fixed delay was not enough: on a loaded machine the main thread
        was still in the hook (in `Timer.start`) when the signal came.
        """
        self.fired = False
        if self.resending:  # one on its way raises it; a second, once the block ended, killed
            return
        self.resending = True
        timer = threading.Timer(0.01, self._signal_after_hook)
        timer.daemon = True
        timer.start()

    def _signal_after_hook(self) -> None:
        main = threading.main_thread().ident
        while _inside(sys._current_frames().get(main or 0), self.hook_code):
            time.sleep(0.01)
        self.resending = False
        if not self.fired:  # not raised meanwhile by another SIGTERM
            _signal_main_thread()


def _inside(frame: Any, code: Any) -> bool:
    """Whether `code` runs in `frame` or in a frame that called it."""
    while frame is not None and code is not None:
        if frame.f_code is code:
            return True
        frame = frame.f_back
    return False


def _signal_main_thread() -> None:
    """SIGTERM to the main thread: a real signal, which also ends a `sleep` or a wait."""
    if hasattr(signal, "pthread_kill"):
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGTERM)
    else:
        _thread.interrupt_main(signal.SIGTERM)


def _unraisable_hook(handler: _TerminateOnce) -> Callable[[Any], None]:
    """`sys.unraisablehook` that raises a swallowed `Terminated` again, a moment later.

    A signal's exception raised inside a weakref callback or a `__del__` (an import lock's
    callback, a worker saw) cannot propagate: Python printed "Exception ignored ...
    Traceback ... Terminated" and went on running, deaf to later SIGTERMs. Now the
    handler fires again in the main thread, silently, a moment later.
    """
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, Terminated):
            handler.rearm()
            return
        previous(unraisable)

    handler.hook_code = hook.__code__
    return hook


def _terminate_once() -> None:
    """Install a `_TerminateOnce` SIGTERM handler and the hook that keeps it from being lost."""
    handler = _TerminateOnce()
    signal.signal(signal.SIGTERM, handler)
    sys.unraisablehook = _unraisable_hook(handler)


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
    previous_hook = sys.unraisablehook
    _terminate_once()
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        sys.unraisablehook = previous_hook


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


@contextlib.contextmanager
def signals_blocked() -> Iterator[None]:
    """Block SIGINT and SIGTERM in this thread while the block runs; deliver them after.

    A process started meanwhile inherits the mask: it starts with both held until it has
    set its handlers up (`worker_signals`), rather than dying with a traceback from its
    imports. Where the system has no signal masks, nothing changes.
    """
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def worker_signals(parent: int | None, *, every: float = 1.0) -> None:
    """Set up a worker process: its parent stops it, and it stops when its parent ends.

    SIGINT is ignored: a Ctrl-C reaches every process of the terminal's group, and the
    parent, which decides, stops its workers itself. SIGTERM raises `Terminated` (once), so
    the worker's cleanup runs (a trial marked interrupted). When process `parent` ends,
    however it ends (`kill -9` too), the worker gets a SIGTERM: at once on Linux
    (prctl PR_SET_PDEATHSIG), elsewhere within `every` seconds (its parent id changes).
    Signals blocked while it started (`signals_blocked`) are delivered at the end of this.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _terminate_once()
    if parent is not None:
        _stop_with_parent(parent, every)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


def _stop_with_parent(parent: int, every: float) -> None:
    """SIGTERM this process when `parent` ends (a thread watches where prctl cannot)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            pr_set_pdeathsig = 1
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)

    def watch() -> None:
        # also where prctl took: a parent that ended before it did is seen here
        while parent_runs(parent):
            time.sleep(every)
        _thread.interrupt_main(signal.SIGTERM)  # the main thread's handler: Terminated

    threading.Thread(target=watch, name="vecgraft-parent-watch", daemon=True).start()


def parent_runs(parent: int) -> bool:
    """Whether `parent`, this process's parent when it started, still runs.

    POSIX: the parent id changes when the parent ends (the orphan is adopted). Windows
    keeps the ended parent's id as `getppid()` (Python's docs say so), so a `tune --jobs`
    worker whose parent was killed went on running trials: there the process is asked.
    """
    if os.getppid() != parent:
        return False
    return not processes.on_windows() or processes.pid_alive(parent)
