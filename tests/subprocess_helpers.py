"""Python code run in a fresh interpreter that imports this checkout's vecgraft.

For checks that need a clean `sys.modules` (what a command imports) and so cannot run in the
test process, which has imported everything already.
"""

from __future__ import annotations

import os
import subprocess
import sys
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
