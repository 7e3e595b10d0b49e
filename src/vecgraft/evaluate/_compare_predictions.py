"""Each compare cell's per-text test predictions, kept for the verdicts' paired bootstrap.

Why: a cell's metrics.json keeps confusion counts, not which text was predicted what, and a
gap between two rows' macro F1 has no standard error without that (one text moved off the
majority label read as a win). After a classification cell finishes (or is reused), its
test split is read again as the run read it and its model predicts it (`load_run`); the
predictions are kept only where their confusion counts are the run's own (metrics.json),
so they are the predictions the row's scores came from.

Kept in the cell's folder as `test_predictions.json` (written atomically, with the
fingerprint of the metrics.json they reproduce: a cell run again is predicted again) and in
compare.json's cell as "test_predictions": {"labels": [...], "gold": "0 2 1 ...",
"predicted": "0 1 1 ..."}, the label ids (positions in "labels", metrics.json's test
labels) of the test texts in the run's order, as space-separated strings so that an
indented compare.json keeps one line per array.

    >>> encode_ids([0, 2, 1])
    '0 2 1'
    >>> decode_ids("0 2 1", 3).tolist(), decode_ids("0 3", 3)
    ([0, 2, 1], None)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vecgraft._util.jsonfile import RECORD_LIMIT, read_json_file
from vecgraft.errors import VecgraftError
from vecgraft.finetune.config import FinetuneConfig

PREDICTIONS_FILE = "test_predictions.json"
RECORD_KEY = "test_predictions"  # a compare.json cell's key
_FINGERPRINT = "metrics_sha256"
# settings that do not change which texts a cell's test split holds: one read serves them
_NOT_READ = ("out", "vectors", "train_fraction", "model", "model_options", "resume", "device")

TestSets = dict[str, Any]  # a grid's test splits read so far, by the settings that read them


def encode_ids(ids: Sequence[int]) -> str:
    """Label ids as one space-separated string."""
    return " ".join(str(int(i)) for i in ids)


def decode_ids(text: Any, classes: int) -> np.ndarray | None:
    """The ids of `encode_ids`' string; None unless every one is an int in [0, classes)."""
    if not isinstance(text, str) or not text:
        return None
    try:
        ids = np.array([int(x) for x in text.split(" ")], dtype=np.int64)
    except ValueError:
        return None
    return ids if ids.min() >= 0 and ids.max() < classes else None


def record_arrays(record: Any) -> tuple[list[str], np.ndarray, np.ndarray] | None:
    """(labels, gold ids, predicted ids) of a "test_predictions" record; None if malformed.

    A compare.json edited by hand, or of another version, gives None (the verdicts then
    fall back to the wording without predictions) rather than an error.
    """
    if not isinstance(record, dict):
        return None
    labels = record.get("labels")
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        return None
    gold = decode_ids(record.get("gold"), len(labels))
    predicted = decode_ids(record.get("predicted"), len(labels))
    if gold is None or predicted is None or len(gold) != len(predicted):
        return None
    return list(labels), gold, predicted


def _counts_match(record: dict[str, Any], test: dict[str, Any]) -> bool:
    """Whether `record`'s predictions give metrics.json's test labels and confusion counts."""
    arrays = record_arrays(record)
    if arrays is None or arrays[0] != test.get("labels"):
        return False
    labels, gold, predicted = arrays
    size = len(labels)
    ours = np.bincount(gold * size + predicted, minlength=size * size)
    if test.get("confusion_cells") is not None:
        theirs = np.zeros(size * size, dtype=np.int64)
        for true, guess, count in test["confusion_cells"]:
            theirs[int(true) * size + int(guess)] += int(count)
    else:
        theirs = np.asarray(test.get("confusion") or [], dtype=np.int64).ravel()
    return theirs.shape == ours.shape and bool(np.array_equal(ours, theirs))


def _fingerprint(run_dir: Path) -> str | None:
    """The sha256 of the cell's metrics.json (None where it cannot be read)."""
    try:
        return hashlib.sha256((run_dir / "metrics.json").read_bytes()).hexdigest()
    except OSError:
        return None


def _kept(run_dir: Path, test: dict[str, Any]) -> dict[str, Any] | None:
    """The cell's kept predictions, if they are of its metrics.json as it is now."""
    try:
        saved = read_json_file(run_dir / PREDICTIONS_FILE, limit=RECORD_LIMIT)
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict) or saved.get(_FINGERPRINT) != _fingerprint(run_dir):
        return None
    record = {k: saved.get(k) for k in ("labels", "gold", "predicted")}
    return record if _counts_match(record, test) else None


def _test_split(config: FinetuneConfig, test_sets: TestSets) -> Any:
    """The cell's test split as its run read it (one read per set of reading settings)."""
    from vecgraft.finetune.prepare import read_splits

    settings = config.to_dict()
    key = json.dumps({k: v for k, v in settings.items()
                      if k not in _NOT_READ and not k.startswith("fuse_")},
                     sort_keys=True, default=str)  # fmt: skip
    if key not in test_sets:
        test_sets[key] = read_splits(config.replace(train_fraction=1.0), lambda _m: None).test
    return test_sets[key]


def _predicted(
    run_dir: Path,
    config: FinetuneConfig,
    test: dict[str, Any],
    test_sets: TestSets,
    say: Callable[[str], None],
) -> dict[str, Any] | None:
    """The cell's test predictions from its model; None where they are not its scores'.

    A second pass over the test split, outside the cell's seconds (a MiniLM cell's takes
    tens of seconds on a CPU): `say` tells the user it runs and on how many texts.
    """
    from vecgraft.finetune.predict import load_run

    split = _test_split(config, test_sets)
    say(f"compare: {run_dir}: predicting the test split again to keep per-text predictions "
        f"({len(split.texts):,} texts)")  # fmt: skip
    predicted = load_run(run_dir, device=config.device or "auto").predict(split.texts)
    labels = [str(x) for x in test.get("labels") or []]
    index = {name: i for i, name in enumerate(labels)}
    if any(str(x) not in index for x in [*split.labels, *predicted]):
        return None
    record = {
        "labels": labels,
        "gold": encode_ids([index[str(x)] for x in split.labels]),
        "predicted": encode_ids([index[str(x)] for x in predicted]),
    }
    return record if _counts_match(record, test) else None


def cell_predictions(
    run_dir: Path,
    metrics: dict[str, Any],
    config: FinetuneConfig | None,
    test_sets: TestSets,
    log: Callable[[str], None],
    say: Callable[[str], None] = lambda _m: None,
) -> dict[str, Any] | None:
    """A finished classification cell's "test_predictions" record; None for a regression.

    Read from the cell's `PREDICTIONS_FILE` where that is of its metrics.json; else, given
    the cell's settings (`config`), predicted and kept there. A cell whose predictions
    cannot be made, or do not reproduce its scores, gets None and its folder and why in
    `log`: its row's verdicts fall back to the binomial margin (accuracy) or none (macro F1).
    `say`: the progress line of a prediction pass. The file is listed in the cell's
    manifest before it is written, so that `finetune --overwrite` removes it with the run.
    """
    test = metrics.get("test")
    if not isinstance(test, dict) or not isinstance(test.get("labels"), list):
        return None  # a regression: no labels to predict
    kept = _kept(run_dir, test)
    if kept is not None or config is None:
        return kept
    try:
        record = _predicted(run_dir, config, test, test_sets, say)
    except (VecgraftError, OSError, ValueError, KeyError) as exc:
        log(f"{run_dir} ({exc})")
        return None
    if record is None:
        log(f"{run_dir} (its model's predictions do not reproduce its test scores)")
        return None
    from vecgraft._util.atomic import atomic_write_json
    from vecgraft.finetune.rundir import RunFolder

    fingerprint = _fingerprint(run_dir)
    if fingerprint is not None:
        RunFolder(run_dir).list_later(PREDICTIONS_FILE)
        saved = {_FINGERPRINT: fingerprint, **record}
        atomic_write_json(run_dir / PREDICTIONS_FILE, saved, follow_links=False)
    return record
