#!/usr/bin/env bash
# The whole test suite on a fresh machine: own virtualenv, install, ruff, mypy, pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VECGRAFT_VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# torch first, pinned: a plain `torch` requirement would pull a multi-GB CUDA build.
"$VENV/bin/python" -m pip install -q --disable-pip-version-check torch==2.13.0
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[all]"
export OMP_WAIT_POLICY=PASSIVE
echo "== ruff"; "$VENV/bin/ruff" check src tests benchmarks scripts
echo "== mypy"; "$VENV/bin/mypy"
echo "== pytest"; "$VENV/bin/python" -m pytest -q "$@"
