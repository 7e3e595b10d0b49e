"""`hf:PATH[:MODE]`: how `compare --sources` names a transformer checkpoint and its mode.

Parsed here, below every stage, so that the io stage's error for a missing `hf:PATH` can
take the mode off the path the same way `compare` does (`vecgraft.evaluate.compare`).
"""

from __future__ import annotations

HF_PREFIX = "hf:"
# `vecgraft.transformer.encode.Mode`'s values (tests/test_cli_io.py checks they agree)
TRANSFORMER_MODES = ("input", "contextless", "corpus")
FINETUNE_MODE = "finetune"  # hf:PATH:finetune: compare's cell fine-tunes the checkpoint itself


def split_hf_mode(path: str) -> tuple[str, str | None]:
    """(PATH, MODE) of `PATH:MODE` when MODE is a known mode, else (path, None).

    >>> split_hf_mode("models/minilm:contextless")
    ('models/minilm', 'contextless')
    >>> split_hf_mode("models/minilm")
    ('models/minilm', None)
    """
    head, sep, tail = path.rpartition(":")
    if sep and tail in (*TRANSFORMER_MODES, FINETUNE_MODE):
        return head, tail
    return path, None
