"""Griffe extension for the API pages: read vecgraft's `Example:` sections as examples.

vecgraft's Google-style docstrings say `Example:` (singular); griffe only treats `Examples:`
as a section of doctests and would render the rest as prose, where `[[2], [0]]` in an output
line reads as a Markdown link. The docstrings stay as they are (doctests run them).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", flags=re.M)


class ExampleSections(griffe.Extension):
    """Rename `Example:` to `Examples:` in every docstring griffe loads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite the docstring of each loaded object (module, class, function, attribute)."""
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE.sub(r"\1Examples:", obj.docstring.value)
