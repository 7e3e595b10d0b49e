#!/usr/bin/env bash
# Build the documentation site into site/ (strict: a broken reference or an undocumented
# public name fails the build). `bash scripts/docs.sh serve` previews it live instead.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VECGRAFT_VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# torch first, pinned: a plain `torch` requirement would pull a multi-GB CUDA build.
"$VENV/bin/python" -m pip install -q --disable-pip-version-check torch==2.13.0
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[docs]"
export NO_MKDOCS_2_WARNING=1
if [ "${1:-}" = "serve" ]; then
  exec "$VENV/bin/python" -m mkdocs serve
fi
"$VENV/bin/python" -m mkdocs build --strict "$@"
echo "site written to $(pwd)/site/index.html"
