"""Every docstring example in `src/vecgraft` runs and prints what it claims.

Modules are found by walking the source tree (not a hand-kept list), so a new module's
examples run from the day it is added. An example that needs a real model, a finished run or
other large input is marked `# doctest: +SKIP`; a module whose examples are ALL skipped must
be listed in ALL_SKIPPED (and that list is checked to be exact, so it cannot go stale).
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "vecgraft"

# Examples here need a trained run, a compare folder or a Hugging Face model on disk.
ALL_SKIPPED = {
    "vecgraft.evaluate.export",  # exports a fine-tuning run folder
    "vecgraft.finetune.predict",
    "vecgraft.finetune.recipe",  # a search trial: needs a labelled data set and training
    "vecgraft.transformer.graft",  # its runnable example (sparsemax) is in graft_rows
    "vecgraft.transformer.new_tokens",
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


# `__main__` runs the CLI on import; every other module is importable.
MODULES = sorted(
    _module_name(p)
    for p in SRC.rglob("*.py")
    if p.name != "__main__.py" and ">>>" in p.read_text(encoding="utf-8")
)


def _examples(module: object) -> tuple[int, int]:
    """(examples, examples marked +SKIP) in the module's docstrings."""
    tests = doctest.DocTestFinder().find(module)
    examples = [e for t in tests for e in t.examples]
    return len(examples), sum(bool(e.options.get(doctest.SKIP)) for e in examples)


def test_modules_with_examples_are_found():
    assert len(MODULES) >= 30
    assert {"vecgraft.align", "vecgraft.text.vocab", "vecgraft.io.native"} <= set(MODULES)
    assert ALL_SKIPPED.issubset(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str):
    module = importlib.import_module(name)
    n_examples, n_skipped = _examples(module)
    assert n_examples > 0, f"{name} has '>>>' but doctest finds no example"
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, report=True)
    assert result.failed == 0
    assert result.attempted == n_examples - n_skipped
    if name in ALL_SKIPPED:
        assert result.attempted == 0, f"{name} now runs examples: drop it from ALL_SKIPPED"
    else:
        assert result.attempted > 0, f"every example of {name} is skipped"
