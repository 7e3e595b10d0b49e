"""Every "install the extra" message comes from one builder, with a command that works.

vecgraft is not on PyPI: `pip install "vecgraft[zh]"` finds nothing, so the messages name
the checkout's `pip install ".[zh]"` (or a built wheel) instead.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vecgraft._util.extras import install_hint, require
from vecgraft.errors import MissingExtraError

ROOT = Path(__file__).resolve().parents[1]
# a published-package install of an extra, in any quoting: what no message may print
_PUBLISHED = re.compile(r"""pip install ['"]?vecgraft\[""")


def test_the_hint_installs_from_the_checkout_or_a_wheel() -> None:
    hint = install_hint("demo,zh,train")
    assert hint.startswith('pip install ".[demo,zh,train]" in the vecgraft checkout')
    assert "(or the built wheel with [demo,zh,train] after its name)" in hint
    assert "*" not in hint  # pip expands no wildcard: a pattern is no command
    assert not _PUBLISHED.search(hint) and "\n" not in hint


def test_a_missing_module_names_the_hint() -> None:
    with pytest.raises(MissingExtraError) as info:
        require("vecgraft_no_such_module", "plot", feature="the map")
    assert str(info.value) == (
        "the map needs the optional dependency 'vecgraft_no_such_module', which is not "
        f"installed: {install_hint('plot')}"
    )


@pytest.mark.parametrize("folder", ["src", "benchmarks", "scripts"])
def test_no_message_says_pip_install_vecgraft_extra(folder: str) -> None:
    """demo, demo_zh, unspaced, compare's sources and pretrain each wrote their own
    `pip install "vecgraft[X]"`; they use `install_hint` now."""
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _PUBLISHED.search(line)
    ]
    assert found == []
