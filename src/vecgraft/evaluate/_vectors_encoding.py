"""The encoding of a fastText .bin's words, as `compare` and `tune` carry it to their runs.

Why: their runs read the vector file again by its name; an encoding given to the command
alone was lost there, so both refused any but UTF-8. Kept canonical (Python's codec name),
so `cp852`, `CP852` and `IBM852` are one setting to a rerun's checks, and None for UTF-8
(what every reader reads by default), so settings recorded before it existed still match.
"""

from __future__ import annotations

from typing import Any

from vecgraft._util.policies import text_codec
from vecgraft.errors import Opt, OptionError

# the key a run records it under (`splits.json`'s "vector_options"): the CLI's reading flag's
# name, so that `vecgraft finetune --resume` of a compare cell reads the file the same way
RECORD_KEY = "vectors_encoding"


def vectors_codec(name: str | None) -> str | None:
    """`name` as Python's codec registry names it; None for None or UTF-8.

    >>> vectors_codec("CP852"), vectors_codec("utf8"), vectors_codec(None)
    ('cp852', None, None)
    """
    if name is None:
        return None
    try:
        canonical = text_codec(name)
    except LookupError:
        raise OptionError(
            "{}: not a text encoding Python knows (e.g. utf-8, cp852, latin-1, gb18030)",
            encoding_opt(name),
        ) from None
    return None if canonical == "utf-8" else canonical


def encoding_opt(name: Any) -> Opt:
    """The option in an error: `vectors_encoding='cp852'`, or the CLI's `--vectors-encoding`."""
    return Opt("vectors_encoding", repr(name), str(name), flag_key="binary_encoding")


def unused_encoding(name: Any, needs: str, *options: Opt) -> OptionError:
    """The error of an encoding that no vector file read would use (`needs`: what would).

    `needs` holds one `{}` per option of `options`, which an error names as `name=` from
    Python and by its flag from a command.
    """
    return OptionError("{} is only used with " + needs, encoding_opt(name), *options)


def encoded_vector_file(path: str, encoding: str | None, progress: bool | None = False) -> Any:
    """`path` as a `VectorFile` read in `encoding`, which a run records; None: UTF-8.

    What a run is given instead of reading its `vectors` by name (as UTF-8): the run reads
    its rows, lowercase check included, in the file's encoding, and its splits.json keeps
    it (`RECORD_KEY`) for a resume and for a rerun's checks.
    """
    if encoding is None:
        return None
    from vecgraft.finetune.vectors_arg import VectorFile
    from vecgraft.io import load

    def read(words: list[str] | None, limit: int | None) -> Any:
        return load(path, vocab=words, limit=limit, encoding=encoding, progress=progress)

    return VectorFile(read, options={RECORD_KEY: encoding})
