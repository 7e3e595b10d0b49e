#!/usr/bin/env bash
# The main job on a fresh machine: own virtualenv, install the demo extra, run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VECGRAFT_VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check torch==2.13.0
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[demo]"
export OMP_WAIT_POLICY=PASSIVE
status=0
"$VENV/bin/vecgraft" demo "$@" || status=$?
if [ "$status" -eq 0 ]; then
  # the commands the demo suggests ("Try it: ...") live in this venv, which is not on PATH
  echo "vecgraft is installed in $VENV: source $(cd "$VENV" && pwd)/bin/activate"
fi
exit "$status"
