"""Type checks of public functions' arguments: vecgraft's error, not one from deep inside.

Why: `word_similarity("glove.txt", "wordsim353")` said "'str' object has no attribute
'words'", gensim's KeyedVectors the same, and `load(123)` was pathlib's bare TypeError.
"""

from __future__ import annotations

import os

from vecgraft.errors import ArgumentTypeError
from vecgraft.vectors import Vectors

__all__ = ["check_path", "check_vectors", "describe"]


def describe(value: object) -> str:
    """`value` as an error message names it: "None", "int 5", "str 'x.txt'", "KeyedVectors"."""
    if value is None:
        return "None"
    if isinstance(value, (str, bytes, int, float, os.PathLike)):
        return f"{type(value).__name__} {value!r}"
    return type(value).__name__


def _is_gensim_keyed_vectors(value: object) -> bool:
    """Duck-typed, so gensim need not be installed (or imported) to recognise its vectors."""
    return hasattr(value, "index_to_key") and hasattr(value, "vectors")


def check_vectors(value: object, function: str, argument: str = "vectors") -> None:
    """Refuse anything but `Vectors`, saying how to get them from what was given."""
    if isinstance(value, Vectors):
        return
    if isinstance(value, (str, os.PathLike)):
        advice = f"load the file first: vecgraft.load({os.fspath(value)!r})"
    elif _is_gensim_keyed_vectors(value):
        advice = "convert gensim's KeyedVectors: vecgraft.Vectors(kv.index_to_key, kv.vectors)"
    else:
        advice = "read a file with vecgraft.load(path) or wrap arrays in Vectors(words, matrix)"
    raise ArgumentTypeError(
        f"{function}(): {argument} must be vecgraft Vectors, got {describe(value)}; {advice}"
    )


def check_path(value: object, function: str, argument: str = "path", what: str = "") -> None:
    """Refuse anything but a path (str or os.PathLike); `what` says what else it may be."""
    if isinstance(value, (str, os.PathLike)):
        return
    expected = f"a path (str or os.PathLike){what}"
    raise ArgumentTypeError(f"{function}(): {argument} must be {expected}, got {describe(value)}")
