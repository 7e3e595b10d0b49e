"""The examples in vecgraft.text docstrings run and print what they claim."""

import doctest
import importlib

import pytest

MODULES = ["normalize", "tokenize", "corpus", "vocab", "__init__", "zh", "segment"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(
        "vecgraft.text" if name == "__init__" else f"vecgraft.text.{name}"
    )
    result = doctest.testmod(module)
    assert result.failed == 0
    assert result.attempted > 0
