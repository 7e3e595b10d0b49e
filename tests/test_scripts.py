"""scripts/demo.sh as a new user meets it: the commands it suggests are on hand afterwards."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _stub_venv(tmp_path: Path, status: int) -> Path:
    """A venv whose pip does nothing and whose `vecgraft demo` exits with `status`."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    for name, body in (("python", "exit 0"), ("vecgraft", f"echo demo ran; exit {status}")):
        script = venv / "bin" / name
        script.write_text(f"#!/usr/bin/env bash\n{body}\n", encoding="utf-8")
        script.chmod(0o755)
    return venv


@pytest.mark.parametrize("status", [0, 3])
def test_demo_script_says_how_to_reach_vecgraft(tmp_path: Path, status: int) -> None:
    # the demo ends with "Try it: ... | vecgraft predict ...", but demo.sh installed vecgraft
    # into its own venv, which is not on PATH: the script says how to get there
    venv = _stub_venv(tmp_path, status)
    env = {**os.environ, "VECGRAFT_VENV": str(venv)}
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "demo.sh")], capture_output=True, text=True, env=env
    )
    assert out.returncode == status
    assert "demo ran" in out.stdout
    hint = f"source {venv}/bin/activate"
    assert (hint in out.stdout + out.stderr) == (status == 0)
