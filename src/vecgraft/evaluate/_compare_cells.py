"""Cells of `compare` (one source x fraction x seed fine-tuning run) and their summaries.

Split out of `vecgraft.evaluate.compare`, which re-exports these names.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from vecgraft._util.jsonfile import RECORD_LIMIT, read_json_file
from vecgraft.errors import ConfigError, DataError
from vecgraft.evaluate._compare_config import (
    _RUNTIME_FIELDS,
    SourceKind,
)
from vecgraft.evaluate._compare_predictions import RECORD_KEY as PREDICTIONS_KEY
from vecgraft.evaluate._compare_predictions import TestSets, cell_predictions
from vecgraft.evaluate._compare_scores import CLASSIFICATION, ScoreView, score_view
from vecgraft.evaluate._vectors_encoding import RECORD_KEY, encoded_vector_file, vectors_codec
from vecgraft.finetune.config import FinetuneConfig


@dataclass
class CellResult:
    """One fine-tuning run of the grid.

    `scores` are the run's test scores the comparison ranks by (`_compare_scores`):
    accuracy and macro F1, or for a regression Pearson r and RMSE.
    """

    source: str
    fraction: float
    seed: int
    run_dir: str
    scores: dict[str, float]
    seconds: float
    reused: bool
    metrics: dict[str, Any] = field(repr=False, default_factory=dict)
    # a classification cell's per-text test predictions (`_compare_predictions`); None
    # where not kept (a regression, an earlier release's cell, a model that failed to load)
    predictions: dict[str, Any] | None = field(repr=False, default=None)

    @property
    def accuracy(self) -> float:
        """A classification cell's test accuracy."""
        return self.scores["accuracy"]

    @property
    def macro_f1(self) -> float:
        """A classification cell's test macro F1."""
        return self.scores["macro_f1"]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form without the full metrics (they stay in the run folder).

        The scores are top-level keys ("accuracy", "macro_f1"; "pearson", "rmse").
        """
        out: dict[str, Any] = {
            "source": self.source, "fraction": self.fraction, "seed": self.seed,
            "run_dir": self.run_dir, **self.scores, "seconds": self.seconds,
            "reused": self.reused,
        }  # fmt: skip
        out["best_epoch"] = self.metrics.get("best_epoch")
        out["sizes"] = self.metrics.get("sizes")
        out["cell_coverage"] = self.metrics.get("coverage")
        if "majority_baseline" in self.metrics:  # a classification's floor (the report's row)
            out["majority_baseline"] = self.metrics["majority_baseline"]
        if self.predictions is not None:  # for the verdicts' paired bootstrap
            out[PREDICTIONS_KEY] = self.predictions
        return out


_STATS = ("mean", "std", "min", "max")  # a Summary's statistics of each score, in order


@dataclass
class Summary:
    """Mean, spread and range over seeds of one (source, fraction).

    `stats` maps each score to its (mean, sd, min, max); `to_dict` writes them as
    `<score>_mean`, `<score>_std`, `<score>_min` and `<score>_max`. The sd is None (null)
    for a single seed: a sample SD is undefined there (compare.json said 0.0).
    """

    source: str
    fraction: float
    n: int
    stats: dict[str, tuple[float, float | None, float, float]]
    seconds_mean: float
    train_size: int | None = None

    def __getattr__(self, name: str) -> float | None:
        """`accuracy_mean`, `macro_f1_std`, `pearson_max`, ...: one statistic of one score.

        The attributes a classification's Summary had as fields, and their regression
        counterparts.
        """
        key, _, stat = name.rpartition("_")
        stats = self.__dict__.get("stats") or {}
        if key in stats and stat in _STATS:
            value = stats[key][_STATS.index(stat)]
            return None if value is None else float(value)  # the sd of one seed
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        out: dict[str, Any] = {"source": self.source, "fraction": self.fraction, "n": self.n}
        for key, values in self.stats.items():
            out.update(zip([f"{key}_{s}" for s in _STATS], values))
        out.update(seconds_mean=self.seconds_mean, train_size=self.train_size)
        return out


def _spread(values: list[float]) -> float | None:
    """Sample standard deviation (ddof=1); None for a single value, where it is undefined."""
    return statistics.stdev(values) if len(values) >= 2 else None


def summarize(cells: Sequence[CellResult]) -> list[Summary]:
    """One Summary per (source, fraction): sources as they first appear, fractions rising.

    An earlier grid's kept cells come after this run's, which interleaved the rows
    (linear 0.5, glove 0.5, linear 1, ...).
    """
    groups: dict[tuple[str, float], list[CellResult]] = {}
    for cell in cells:
        groups.setdefault((cell.source, cell.fraction), []).append(cell)
    rank = {source: i for i, source in enumerate(dict.fromkeys(c.source for c in cells))}
    out = []
    for (source, fraction), group in sorted(groups.items(),
                                            key=lambda g: (rank[g[0][0]], g[0][1])):  # fmt: skip
        stats = {}
        for key in group[0].scores:
            values = [c.scores[key] for c in group]
            stats[key] = (statistics.fmean(values), _spread(values), min(values), max(values))
        sizes = {(c.metrics.get("sizes") or {}).get("train") for c in group}
        out.append(
            Summary(
                source=source,
                fraction=fraction,
                n=len(group),
                stats=stats,
                seconds_mean=statistics.fmean(c.seconds for c in group),
                train_size=sizes.pop() if len(sizes) == 1 else None,
            )
        )
    return out


@dataclass
class CompareResult:
    """Everything a comparison produced (also saved as `compare.json`)."""

    out: Path
    settings: dict[str, Any]
    sources: list[dict[str, Any]]
    cells: list[CellResult]
    summary: list[Summary]
    timings: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The content of compare.json."""
        return {
            "settings": self.settings,
            "sources": self.sources,
            "summary": [s.to_dict() for s in self.summary],
            "cells": [c.to_dict() for c in self.cells],
            "timings": self.timings,
            "spread": "sample standard deviation over seeds (ddof=1); null with a single seed",
        }


# -- cells ---------------------------------------------------------------------------------
# the linear row's cell: not fused (as every cell of a default comparison), whatever
# fusion settings the network rows were given
_FUSION_DEFAULTS = {
    **{f.name: f.default for f in fields(FinetuneConfig) if f.name.startswith("fuse_")},
    "fuse_linear": False,
}


def cell_dir(out: Path, source: str, fraction: float, seed: int) -> Path:
    """`OUT/cells/<source>/frac-<f>/seed-<s>`."""
    return out / "cells" / source / f"frac-{fraction:g}" / f"seed-{seed}"


def _comparable(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in (*_RUNTIME_FIELDS, "out", "max_steps")}


def _check_same_settings(
    run_dir: Path,
    wanted: FinetuneConfig,
    own: dict[str, Any] | None = None,
    encoding: str | None = None,
    chosen: bool = False,
) -> None:
    """A finished or half-finished cell must have been run with the same settings.

    `own`: what the source's unset text settings resolve to (its vectors' metadata.json):
    a cell run with `tokenizer` unset and one asked for `--tokenizer jieba` on jieba
    vectors are the same cell (adding a source then refused the folder both ways).
    `encoding`: how the source's fastText .bin is read (None: UTF-8), which its config.json
    has no field for: compared with the cell's splits.json, as a setting. `chosen`: the
    row's tokenizer is the one compare chose for the rows (jieba for Chinese texts or a
    `--user-dict`), not a `--tokenizer` given (`_tokenizer_hint`).
    """
    if not (run_dir / "config.json").exists():
        return
    diff, saved, now = _setting_changes(run_dir, wanted, own, encoding)
    if diff:
        details = _changes_text(diff, saved, now)
        raise ConfigError(
            f"{run_dir}: this cell was run with other settings ({details}); "
            f"{_tokenizer_hint(run_dir, diff, saved, chosen)}use another --out or delete the folder"
        )
    _check_same_inputs(run_dir, wanted)


def _setting_changes(
    run_dir: Path, wanted: FinetuneConfig, own: dict[str, Any] | None, encoding: str | None
) -> tuple[list[str], dict[str, Any], dict[str, Any]]:
    """(the settings that differ, the cell's, `wanted`'s) as `_check_same_settings` compares."""
    saved_path = run_dir / "config.json"
    saved = _resolved(_comparable(FinetuneConfig.load(saved_path, saved_run=True).to_dict()), own)
    now = _resolved(_comparable(wanted.to_dict()), own)
    if wanted.model != "linear":  # unset meant the regex rule (not so for `--model linear`)
        saved, now = _unset_regex(saved), _unset_regex(now)
    ran_in = _cell_encoding(run_dir)
    if ran_in is not None or encoding is not None:  # not a key of a UTF-8 cell (as before)
        saved[RECORD_KEY], now[RECORD_KEY] = ran_in, encoding
    diff = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
    return diff, saved, now


def _changes_text(diff: list[str], saved: dict[str, Any], now: dict[str, Any]) -> str:
    """The first settings that differ, as "key: saved -> now" (`_setting_changes`)."""
    return ", ".join(f"{k}: {saved.get(k)!r} -> {now.get(k)!r}" for k in diff[:4])


def _unset_regex(config: dict[str, Any]) -> dict[str, Any]:
    """`config` with `tokenizer` unset (no vectors of the row's name one) as "regex".

    What an earlier release's cell meant by it, Chinese texts included: compare now gives
    such rows jieba for Chinese texts, or "regex" where asked (`--tokenizer regex`), and
    its cells continue. A network row's word tokenizer reads unset and "regex" alike.
    """
    return {**config, "tokenizer": "regex"} if config.get("tokenizer") is None else config


def _tokenizer_hint(run_dir: Path, diff: list[str], saved: dict[str, Any], chosen: bool) -> str:
    """How to continue a cell run with the regex rule, or unset, that is now given another.

    `saved`: the cell's settings as compared (a network row's unset is "regex" there; the
    linear row's unset is scikit-learn's word pattern). Run with "regex": `--tokenizer
    regex` continues it, whatever the row. The linear row's unset: dropping a `--tokenizer`
    given continues it; only where compare chose the rows' tokenizer (`chosen`) can no
    setting, and its cells must be deleted. Either advice was given falsely before.
    """
    if "tokenizer" not in diff or saved.get("tokenizer") not in (None, "regex"):
        return ""
    if saved.get("tokenizer") == "regex":
        return "--tokenizer regex continues with the regex rule it was run with, or "
    if not chosen:
        return "run without --tokenizer to continue it (it ran with the tokenizer unset), or "
    return (f"the linear row's cells read scikit-learn's word pattern with tokenizer unset, "
            f"which no --tokenizer gives: delete {run_dir.parent.parent} to run them "
            "again, or ")  # fmt: skip


def _cell_encoding(run_dir: Path) -> str | None:
    """The encoding the cell read its vectors in (`splits.json`'s "vector_options"), or None.

    A cell recorded none when it read UTF-8, and when it stopped before writing splits.json
    (there is then nothing it computed to reuse).
    """
    from vecgraft.finetune.rundir import read_splits_notes

    notes = read_splits_notes(run_dir)
    options = notes.get("vector_options") if notes is not None else None
    name = options.get(RECORD_KEY) if isinstance(options, dict) else None
    try:
        return vectors_codec(name) if isinstance(name, str) else None
    except ConfigError:  # an encoding since unknown: other than any given now
        return name


def _resolved(config: dict[str, Any], own: dict[str, Any] | None) -> dict[str, Any]:
    """`config` with its unset (None) keys that `own` names filled from `own`."""
    filled = {k: v for k, v in (own or {}).items() if config.get(k) is None}
    return {**config, **filled}


# what a cell's changed input is said to be, by its role in splits.json's "inputs": the
# source's vector file or folder and a fine-tuned checkpoint are not "data"
_SOURCE_ROLES = {"vectors": "with other vectors", "hf_model": "with another checkpoint"}


def _check_same_inputs(run_dir: Path, wanted: FinetuneConfig) -> None:
    """... and on the same data: a training file rewritten under its name is other data.

    And with the same vectors: a vector file rewritten under its name (other values for the
    same words) is another source, whose cells were reused with the old file's scores.
    """
    from vecgraft.finetune.rundir import data_changed

    changed = data_changed(run_dir, wanted)
    if not changed:
        return
    groups: dict[str, list[str]] = {}
    for line in changed:  # each line starts with its role ("vectors /x/glove.txt (...)")
        role = line.split(" ", 1)[0]
        groups.setdefault(_SOURCE_ROLES.get(role, "on other data"), []).append(line)
    order = ["on other data", *_SOURCE_ROLES.values()]
    what = " and ".join(f"{how} ({'; '.join(groups[how])})" for how in order if how in groups)
    raise ConfigError(
        f"{run_dir}: this cell was run {what}; use another --out or delete the folder"
    )


def _cell_from_metrics(
    source: str,
    fraction: float,
    seed: int,
    run_dir: Path,
    metrics: dict[str, Any],
    reused: bool,
    view: ScoreView = CLASSIFICATION,
) -> CellResult:
    test = metrics.get("test") or {}
    try:
        # null: a score that was undefined (a constant prediction's Pearson r)
        scores = {key: math.nan if test[key] is None else float(test[key]) for key in view.keys}
    except (KeyError, TypeError, ValueError):
        raise DataError(f"{run_dir / 'metrics.json'}: no test {'/'.join(view.keys)}") from None
    return CellResult(
        source=source,
        fraction=fraction,
        seed=seed,
        run_dir=str(run_dir),
        scores=scores,
        seconds=float(metrics.get("seconds", math.nan)),
        reused=reused,
        metrics=metrics,
    )


def _read_metrics(path: Path) -> dict[str, Any]:
    try:
        data = read_json_file(path, limit=RECORD_LIMIT)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the cell's metrics ({exc})") from exc
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object")
    return data


def _point_at(run_dir: Path) -> None:
    """Make a cell's saved config name its current folder (the compare folder may have moved).

    `finetune(resume=True)` continues in the `out` recorded in config.json; a copied or moved
    comparison would otherwise resume into the old location.
    """
    saved = FinetuneConfig.load(run_dir / "config.json", saved_run=True)
    if Path(saved.out).resolve() != run_dir.resolve():
        saved.replace(out=str(run_dir)).save(run_dir / "config.json")


def _cell_config(
    base: FinetuneConfig, source: dict[str, Any], fraction: float, seed: int, out: Path
) -> tuple[Path, FinetuneConfig]:
    """(folder, settings) of one cell."""
    run_dir = cell_dir(out, source["folder"], fraction, seed)
    config = base.replace(
        vectors=source["vectors"], train_fraction=fraction, seed=seed, out=str(run_dir)
    )
    if source["kind"] == SourceKind.LINEAR:  # the rows' fusion settings are not its own
        # (--set fuse_linear=true stopped compare: "needs an embedding model, not 'linear'"),
        # nor the network's model_options (`--set 'model_options={"dropout": 0.3}'`, the
        # help's example, stopped it: "unknown option for model 'linear'"): the row is the
        # reference TF-IDF model, with the run's class_weight, task and text settings
        config = config.replace(model="linear", model_options={}, **_FUSION_DEFAULTS)
    return run_dir, config


def cell_changes(
    base: FinetuneConfig, source: dict[str, Any], fraction: float, seed: int, run_dir: Path
) -> str | None:
    """How the finished cell in `run_dir` differs from the grid's cell of `source`; None: not.

    As `check_cell` compares them: an earlier grid's cell that this grid does not run
    (another seed) is summarized with this grid's cells of its row only where it is one.
    """
    wanted = _cell_config(base, source, fraction, seed, run_dir.parent.parent.parent.parent)[1]
    try:
        diff, saved, now = _setting_changes(run_dir, wanted, source.get("own_text"),
                                            source.get("encoding"))  # fmt: skip
    except (OSError, ValueError, DataError, ConfigError) as exc:
        return str(exc)
    return _changes_text(diff, saved, now) or None


def check_cell(
    base: FinetuneConfig, source: dict[str, Any], fraction: float, seed: int, out: Path
) -> None:
    """Refuse a cell on disk that was run with other settings or data, before any cell runs.

    Checked only as each cell came up, a rerun with a changed flag ran (or reused) the
    cells before it, then stopped saying "source ... failed" of a source with no fault.
    """
    _check_same_settings(*_cell_config(base, source, fraction, seed, out), source.get("own_text"),
                         source.get("encoding"), _chosen_tokenizer(source))  # fmt: skip


def _chosen_tokenizer(source: dict[str, Any]) -> bool:
    """Whether compare chose the row's tokenizer (its shared text settings), not the user."""
    return (source.get("text_settings") or {}).get("tokenizer") is not None


def run_cell(
    base: FinetuneConfig,
    source: dict[str, Any],
    fraction: float,
    seed: int,
    out: Path,
    log: Callable[[str], None],
    test_sets: TestSets | None = None,
    note: Callable[[str], None] | None = None,
    say: Callable[[str], None] | None = None,
) -> CellResult:
    """Run (or reuse, or resume) one fine-tuning cell, with its test predictions.

    `test_sets`: the grid's test splits read so far, shared by its cells; `note`: where a
    cell whose predictions could not be kept is said (`cell_predictions`; default `log`);
    `say`: where a pass predicting the test split again is said (default `log`).
    """
    run_dir, config = _cell_config(base, source, fraction, seed, out)
    cell = _finished_cell(config, source, fraction, seed, run_dir, log)
    cell.predictions = cell_predictions(run_dir, cell.metrics, config,
                                        {} if test_sets is None else test_sets,
                                        note or log, say or log)  # fmt: skip
    return cell


def _finished_cell(
    config: FinetuneConfig,
    source: dict[str, Any],
    fraction: float,
    seed: int,
    run_dir: Path,
    log: Callable[[str], None],
) -> CellResult:
    """`run_cell`'s cell, reused, resumed or run, before its predictions."""
    from vecgraft.finetune.run import finetune

    _check_same_settings(run_dir, config, source.get("own_text"), source.get("encoding"),
                         _chosen_tokenizer(source))  # fmt: skip
    metrics_path = run_dir / "metrics.json"
    view = score_view(config.task)
    if metrics_path.exists():
        metrics = _read_metrics(metrics_path)
        return _cell_from_metrics(source["name"], fraction, seed, run_dir, metrics, True, view)
    resume = (run_dir / "config.json").exists()
    if resume:
        log(f"resuming interrupted cell {run_dir}")
        _point_at(run_dir)
    elif run_dir.exists() and any(run_dir.iterdir()):
        # a cell that died before writing config.json holds nothing worth keeping
        import shutil

        shutil.rmtree(run_dir)
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    # the cell's place is fixed by the comparison's own --out, so a copied or moved
    # comparison continues its cells where they now are (adopt)
    # a fastText .bin of other words is read in its encoding (the run records it)
    vectors = encoded_vector_file(config.vectors, source.get("encoding"), config.progress)
    result = finetune(config.replace(resume=resume), vectors=vectors, log=log, adopt=resume)
    return _cell_from_metrics(source["name"], fraction, seed, run_dir, result.metrics, False, view)


def one_label_cells(cells: list[CellResult]) -> str | None:
    """A warning naming the cells whose every test text was predicted one label, else None.

    Each cell's own warning was said once for the grid ("every test text was predicted
    '1'") without the cell, though several had collapsed; reused cells are read from their
    metrics.json alike.
    """
    from vecgraft.finetune.labels import SHOWN_UNSEEN
    from vecgraft.finetune.metrics import (
        IMBALANCE_SETS,
        ClassificationMetrics,
        imbalance_remedy,
    )

    collapsed: list[str] = []
    for cell in cells:
        try:
            only = ClassificationMetrics.from_dict(cell.metrics.get("test") or {}).only_prediction()
        except DataError:  # a regression's scores: no labels to predict
            continue
        if only is not None:
            where = f"{cell.source} fraction {cell.fraction:g} seed {cell.seed}"
            collapsed.append(f"{where} ({only!r})")
    if not collapsed:
        return None
    named = ", ".join(collapsed[:SHOWN_UNSEEN])
    more = len(collapsed) - SHOWN_UNSEEN
    named += f", and {more} more" if more > 0 else ""
    cells_ = "cell" if len(cells) == 1 else "cells"
    models = "that model tells" if len(collapsed) == 1 else "those models tell"
    return (
        f"WARNING: every test text was predicted one label in {len(collapsed)} of {len(cells)} "
        f"{cells_}: {named}; {models} no class apart; {imbalance_remedy(IMBALANCE_SETS)}"
    )

