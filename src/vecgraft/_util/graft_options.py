"""Options of a vocabulary graft, checked alike by `graft-vocab` and `finetune --model hf`.

Light (no torch, no transformers): `FinetuneConfig` checks them when it is built.
"""

from __future__ import annotations

import os
import re
from typing import Any

from vecgraft.errors import ConfigError, Opt, OptionError

# A count of words: ASCII digits, one sign at most ("+-5", "--5" and "²" are file names; they
# passed str.isdigit() after lstrip("+-") and int() then raised a bare ValueError).
_COUNT = re.compile(r"[+-]?[0-9]+")


def parse_add_tokens(value: Any, name: str = "add_tokens") -> int | str:
    """`value` as a number of words to pick (an int, or its digits) or a word file's path.

    Why shared: a config file's `add_tokens: 50` (an int) was refused by `finetune` and a
    `-3` was looked for as a file, while `graft-vocab` took the one and refused the other.
    """
    if isinstance(value, bool) or not isinstance(value, int | str | os.PathLike):
        raise ConfigError(
            f"{name} must be a number of words to pick from the corpus, or a file of words "
            f"(one per line), got {value!r}"
        )
    text = value if isinstance(value, int) else os.fspath(value)
    if isinstance(text, int) or _COUNT.fullmatch(text.strip()):
        count = int(text)
        if count < 0:
            raise OptionError.out_of_range(name, "at least 0", count)
        return count
    return text


def check_graft_vectors(
    init: Any, vectors: Any, *, init_name: str = "init", vectors_name: str = "vectors"
) -> None:
    """Refuse static vectors without the `vectors` rule, and the rule without them.

    Why: `finetune --add-tokens 10 --graft-vectors DIR` kept the default rule (subwords) and
    never read the vectors, without a word, where `graft-vocab` refuses the same flags.
    """
    rule = str(getattr(init, "value", init))
    wanted = Opt(init_name, "'vectors'", "vectors")
    if rule == "vectors" and not vectors:
        raise OptionError("{} needs {}", wanted, Opt(vectors_name, "...", "V"))
    if vectors and rule != "vectors":
        raise OptionError(
            "{} is only used with {}, not {}",
            Opt(vectors_name), wanted, Opt(init_name, repr(rule), rule),
        )  # fmt: skip

