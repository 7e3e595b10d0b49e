"""Python code run in a fresh interpreter that imports this checkout's vecgraft.

For checks that need a clean `sys.modules` (what a command imports) and so cannot run in the
test process, which has imported everything already.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import vecgraft


def fresh_python(code: str, *, timeout: float = 120) -> list[str]:
    """The whitespace-separated words `code` prints in a new interpreter (which must succeed).

    PYTHONPATH names this checkout's `src`, not whichever copy the environment installed.
    """
    env = {**os.environ, "PYTHONPATH": str(Path(vecgraft.__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, check=True, env=env)  # fmt: skip
    return done.stdout.split()


def stop_when(
    cmd: list[str],
    ready: Callable[[], bool],
    stop: Callable[[subprocess.Popen[bytes]], None],
    *,
    env: dict[str, str],
    timeout: float = 120,
    new_session: bool = False,
) -> tuple[int, str]:
    """Start `cmd`, poll `ready()` until it holds, then `stop(proc)`; (exit status, stderr).

    The process is killed if it is still running at the end (a failed test leaves none).
    It starts with SIGINT's default action, even where this one ignores SIGINT (pytest run
    as `cmd &` from a script): an ignored signal stays ignored across exec, a handled one
    does not, and a Ctrl-C test's SIGINT then never arrived.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=new_session)  # fmt: skip
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        deadline = time.time() + timeout
        while time.time() < deadline and proc.poll() is None:
            if ready():
                stop(proc)
                break
            time.sleep(0.05)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, err.decode()
