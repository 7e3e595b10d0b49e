"""vecgraft's error hierarchy: every failure a user can cause is one of these.

Errors carry the file and line they are about, so a message reads like a compiler's
(`glove.txt:17: expected 50 values, found 49`) instead of a traceback from deep inside numpy.
"""

from __future__ import annotations

import os


class VecgraftError(Exception):
    """Base class of every error vecgraft raises on purpose."""


class FormatError(VecgraftError):
    """A file is not in the format it claims (or was detected) to be.

    Args:
        message: what was expected and what was found.
        path: the file concerned.
        line: 1-based line number (text formats) when known.
        offset: byte offset (binary formats) when known.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | os.PathLike[str] | None = None,
        line: int | None = None,
        offset: int | None = None,
    ) -> None:
        self.message = message
        self.path = None if path is None else os.fspath(path)
        self.line = line
        self.offset = offset
        where = self.path or ""
        if line is not None:
            where += f":{line}"
        elif offset is not None:
            where += f" (byte {offset})"
        super().__init__(f"{where}: {message}" if where else message)


class UntrustedFileError(FormatError):
    """A file could run code when read (a pickle) and the caller did not mark it trusted.

    `message` names the library keyword (`trust=True`); `cli_message` names the flag
    (`--trust`), so each caller can be told what *it* types.
    """

    def __init__(
        self, message: str, *, cli_message: str, path: str | os.PathLike[str] | None = None
    ) -> None:
        super().__init__(message, path=path)
        self.cli_message = cli_message


class DetectionError(FormatError):
    """No known format fits a file; the message lists each format tried and why it was rejected."""


class VocabError(VecgraftError):
    """A vocabulary is empty, inconsistent, or cannot be read."""


class AlignmentError(VecgraftError):
    """Vectors cannot be aligned with a vocabulary (e.g. dimension mismatch without PCA)."""


class DataError(VecgraftError):
    """Labelled or unlabelled input data is malformed (missing column, empty corpus, bad row)."""


class ConfigError(VecgraftError):
    """An option or configuration value is invalid."""


class CheckpointError(VecgraftError):
    """A run directory or checkpoint is missing, incomplete, or incompatible."""


class MissingExtraError(VecgraftError, ImportError):
    """An optional dependency is missing; the message names the `pip install` that fixes it."""


class ResourceError(VecgraftError):
    """A load would exceed the memory (or another resource) this machine can give it."""
