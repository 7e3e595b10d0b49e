"""Tiny offline fixtures for the fine-tuning tests: 3 topics with their own keywords.

Texts mix a few keywords of their class with shared filler words, so a bag-of-embeddings
model separates them easily; the vector file puts each class's keywords near one centre,
so pretrained vectors help from the first step.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

CLASSES = {
    "sport": ["goal", "match", "team", "coach", "league", "striker", "referee", "season"],
    "tech": ["chip", "software", "laptop", "network", "server", "robot", "code", "cloud"],
    "food": ["recipe", "bread", "cheese", "soup", "pasta", "spice", "oven", "salad"],
}
FILLER = ["the", "a", "of", "and", "today", "new", "big", "report", "people", "said"]
DIM = 8


def make_texts(n_per_class: int, seed: int) -> list[tuple[str, str]]:
    """(text, label) rows, shuffled."""
    rng = random.Random(seed)
    rows = []
    for label, words in CLASSES.items():
        for _ in range(n_per_class):
            toks = rng.choices(words, k=rng.randint(2, 4)) + rng.choices(
                FILLER, k=rng.randint(3, 9)
            )
            rng.shuffle(toks)
            rows.append((" ".join(toks).capitalize() + ".", label))
    rng.shuffle(rows)
    return rows


GOOD, BAD, FILL = ["wonderful", "great", "superb", "fun"], ["awful", "dull", "boring", "bad"], [
    "movie", "film", "the", "a", "plot"]


def score_rows(n: int, seed: int) -> list[tuple[str, str]]:
    """Numeric labels: score s in 0..4 = number of good words among four sentiment words."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        s = rng.randint(0, 4)
        words = rng.sample(GOOD, s) + rng.sample(BAD, 4 - s) + rng.sample(FILL, 2)
        rng.shuffle(words)
        rows.append((" ".join(words), str(s)))
    return rows


def continuous_rows(n: int, seed: int) -> list[tuple[str, str]]:
    """`score_rows` with every label made distinct: s / 4 plus a little noise (4 decimals)."""
    rng = random.Random(seed + 1000)
    return [(text, f"{int(s) / 4 + rng.uniform(-0.05, 0.05):.4f}") for text, s in
            score_rows(n, seed)]


def write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


def write_vectors(path: Path, seed: int = 0) -> Path:
    """GloVe-format text vectors: class keywords near their class centre, filler near 0."""
    rng = np.random.default_rng(seed)
    lines = []
    centres = {label: rng.normal(0, 1, DIM) for label in CLASSES}
    for label, words in CLASSES.items():
        for w in words:
            vec = centres[label] + rng.normal(0, 0.1, DIM)
            lines.append(w + " " + " ".join(f"{x:.5f}" for x in vec))
    for w in [*FILLER, "."]:
        lines.append(w + " " + " ".join(f"{x:.5f}" for x in rng.normal(0, 0.1, DIM)))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_dataset(
    root: Path, *, train_per_class: int = 40, test_per_class: int = 10
) -> dict[str, Path]:
    root.mkdir(parents=True, exist_ok=True)
    return {
        "train": write_csv(root / "train.csv", make_texts(train_per_class, seed=1)),
        "test": write_csv(root / "test.csv", make_texts(test_per_class, seed=2)),
        "vectors": write_vectors(root / "vectors.txt"),
    }


def save_as_if_on_cuda(obj: object, path: Path) -> None:
    """`torch.save(obj, path)` with every storage tagged "cuda:0", as a GPU run writes it.

    Such a file loads on a CPU-only machine only through `map_location`.
    """
    from unittest import mock

    import torch
    import torch.serialization

    with mock.patch.object(torch.serialization, "location_tag", lambda _storage: "cuda:0"):
        torch.save(obj, path)


@contextmanager
def held_lock(folder: Path, *, shared: bool = False) -> Iterator[None]:
    """`folder`'s run lock taken as another process would (its own open): a run writing it,
    or (`shared`) an `evaluate` reading it."""
    import fcntl
    import os

    fd = os.open(folder, os.O_RDONLY)
    fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    try:
        yield
    finally:
        os.close(fd)


def _blocks(folder: Path, exclusive: bool) -> bool:
    """Whether taking `folder`'s lock (exclusive, or shared) would wait for a holder."""
    import fcntl
    import os

    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def is_locked(folder: Path) -> bool:
    """Whether a run holds `folder`'s lock (another open cannot share it)."""
    return _blocks(folder, exclusive=False)


def is_held(folder: Path) -> bool:
    """Whether any command holds `folder`'s lock, a reader too (no run could take it now)."""
    return _blocks(folder, exclusive=True)


def predict_lines(
    path: str, encoding: str, errors: str, text_column: str = "text"
) -> Iterator[str]:
    """The texts `vecgraft predict` answers for `path`, in order (live input's pauses left out)."""
    from vecgraft.cli.predict import _paced_lines

    return (line for line in _paced_lines(path, encoding, errors, text_column) if line is not None)


def loss_weights(monkeypatch: Any) -> list[Any]:
    """The class weights (`weight=`, None unweighted) each training loss is computed with.

    Patches `vecgraft.finetune.train.batch_losses` for the test (`monkeypatch`'s scope).
    """
    import vecgraft.finetune.train as train

    seen: list[Any] = []
    real = train.batch_losses

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("weight"))
        return real(*args, **kwargs)

    monkeypatch.setattr(train, "batch_losses", spy)
    return seen
