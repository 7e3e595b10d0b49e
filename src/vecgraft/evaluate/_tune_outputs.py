"""The final retrain's splits and config, best.yaml and the trial table of `tune`.

Split out of `vecgraft.evaluate.tune`, which re-exports these names.
"""

import csv
import io
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from vecgraft.evaluate._tune_data import _read
from vecgraft.evaluate._tune_spec import (
    FIXED_SCORE_ATTR,
    FUSION_ACCURACY_ATTR,
    FUSION_MSE_ATTR,
    INTERRUPTED,
    POOL_ATTR,
    POOL_SCORE_ATTR,
    WEIGHTED_SHARE_ATTR,
    TrialData,
    TuneSpec,
)
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.prepare import Splits, empty_test_error


# -- final retrain -----------------------------------------------------------------------
def final_splits(
    spec: TuneSpec, data: TrialData, log: Callable[[str], None] | None = None
) -> Splits:
    """All training rows to train on, the test rows (read only now), no validation rows.

    Test texts that also occur in the training data are removed (unless --no-dedupe) and
    said to `log` in `finetune`'s words, as are the test file's merged label spellings.
    """
    from vecgraft.finetune.prepare import drop_seen

    base = spec.base
    notes = dict(data.notes)
    notes["read"] = dict(notes.get("read", {}))  # the test file's joins, data.notes' stay
    test = data.held_out if base.test is None else _read(base.test, base, log, notes)
    # against every training row read, as finetune does: a subsample (train_fraction) that
    # left a test text's training twin out still counts it as seen
    seen = data.pool if data.seen is None else data.seen
    test = drop_seen(seen, test, "training", base, notes, log or (lambda _m: None))
    if not len(test):
        raise empty_test_error(test.source)
    notes["final"] = "retrained on all training rows; no validation split (epochs from the search)"
    return Splits(data.pool, data.pool.select([]), test, notes)


def final_test_words(test_rows: int, duplicates: Mapping[str, Any] | None) -> str:
    """What the final test scored, for its console line: "200 texts, unseen during the search".

    Says the test texts that also occur in the training data, removed or kept: "unseen
    during the search" was all it said, false of the rows --no-dedupe kept.
    """
    count = int((duplicates or {}).get("count") or 0)
    if not count:
        return f"{test_rows} texts, unseen during the search"
    if (duplicates or {}).get("removed"):
        return (f"{test_rows} texts, unseen during the search; {count} that also occur in "
                "the training data removed")  # fmt: skip
    return f"{test_rows} texts; {count} of them also occur in the training data, kept: --no-dedupe"


def final_fusion(spec: TuneSpec, best: Any) -> dict[str, Any]:
    """How the final run fuses, as config changes: the chosen trial's pool or best share.

    `{"fuse_pool": (a, b)}` where the trial fitted a log-linear pool on its validation rows
    (as `finetune` would), else `{"fuse_weight": w}`, the share best on them: the best
    accuracy, or for a regression the least mean squared error. Empty when the trials did
    not fuse (`fuse_linear=False`, a linear or hf model) or the fusion is the user's
    (`fuse_weight` or `fuse_pool` given, or `fuse_weight` searched). The final run has no
    validation rows, so without this it would ship the network alone, unlike a default
    `finetune` run.
    """
    fused = best.user_attrs.get(spec.fusion_attr)
    if not fused or spec.base.fusion_fixed or "fuse_weight" in best.params:
        return {}
    pool = best.user_attrs.get(POOL_ATTR)
    if pool is not None:
        return {"fuse_pool": (float(pool[0]), float(pool[1]))}
    if WEIGHTED_SHARE_ATTR in best.user_attrs:  # chosen by the class-weighted accuracy
        return {"fuse_weight": float(best.user_attrs[WEIGHTED_SHARE_ATTR])}
    return {"fuse_weight": spec.best_share({float(w): float(a) for w, a in fused.items()})}


def _final_config(spec: TuneSpec, best: Any) -> FinetuneConfig:
    """The best trial's settings for the final run.

    The space's fixed values (`batch_size: 16`, `tokenizer: regex`), which every trial
    took, then the trial's searched ones: built from `best.params` alone, best.yaml and the
    final run had the base config's values instead. Its best epoch count, no early
    stopping, and the fusion fitted on its validation rows (`final_fusion`). The config
    says what the run does, so that `finetune --config best.yaml` trains the same model:
    no validation split (`valid_fraction` 0; a given `valid` file's rows are trained on,
    see `best_yaml`) and one network (`tune` never ensembles, where a default `finetune`
    run on a small set would).
    """
    from vecgraft.evaluate.space import fixed_settings, to_config_changes

    values = {**fixed_settings(spec.space), **best.params}
    changes = to_config_changes(values, spec.space, spec.base.model_options)
    epochs = max(1, int(best.user_attrs.get("best_epoch") or changes.get("epochs", 1)))
    changes.update(epochs=epochs, patience=None, valid_fraction=0.0, valid=None, ensemble=1)
    fusion = final_fusion(spec, best)
    if fusion:  # the trials chose it: no cross-fit (`fuse_folds`) to choose again
        changes.update(**fusion, fuse_folds=0)
    if "freeze_epochs" in changes:
        changes["freeze_epochs"] = min(int(changes["freeze_epochs"]), epochs)
    return spec.base.replace(
        **changes, out=str(Path(spec.out) / "final"), resume=False, progress=False
    )


def best_yaml(
    config: FinetuneConfig, trained_on_valid: str | None = None, encoding: str | None = None
) -> str:
    """The final settings as a YAML config `vecgraft finetune --config` accepts.

    Its data and vector paths are absolute, so it runs from any directory; it has no `out`
    (a relative `runs/tuned` named a folder under wherever it ran, neither absolute like the
    paths nor tune's final/): `finetune --out DIR` says where the new run goes.

    `trained_on_valid`: the search's `valid` file, whose rows the final run also trained on
    (a config has no way to say "train on two files"; the header says so). `encoding`: the
    vectors' (a fastText .bin of other words), which a config has no field for either: the
    header names the flag that reads them so.
    """
    import yaml

    data = config.to_dict()
    data.update(resume=False, progress=None)  # `plots` as final/ ran: its own setting
    del data["out"]
    for key in ("train", "valid", "test", "vectors", "user_dict", "stopwords"):  # runs anywhere
        value = data.get(key)
        if not (isinstance(value, str) and value and Path(value).expanduser().exists()):
            continue
        # a stopword list is a file only where one exists: "zh" beside a folder zh/ is a language
        if key != "stopwords" or Path(value).expanduser().is_file():
            data[key] = str(Path(value).expanduser().resolve())
    if trained_on_valid:  # it said "trains this model again" below "train only"
        text = (f"# tune's final run trained on train and on {trained_on_valid}; `vecgraft "
                "finetune --config best.yaml --out DIR` trains these settings on train only "
                "(add those rows to train for the same model)\n")  # fmt: skip
    else:
        text = "# vecgraft finetune --config best.yaml --out DIR trains this model again\n"
    if encoding is not None:
        text += (f"# its vectors' words are {encoding}: add --vectors-encoding {encoding} to "
                 "read them as the search did\n")  # fmt: skip
    return text + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


# what a trial's fusion kept, under the journal's names, in trials.csv and tune.json's trials
# too: the README named them per trial, where only the Optuna journal had them
TRIAL_FUSION_FIELDS = (
    "network_score",
    "fused_share",
    POOL_ATTR,
    POOL_SCORE_ATTR,
    FUSION_ACCURACY_ATTR,
    FUSION_MSE_ATTR,
    FIXED_SCORE_ATTR,
)

INTERRUPTED_ERROR = "interrupted: the command stopped during this trial (its settings are rerun)"


# -- outputs -----------------------------------------------------------------------------
def trial_rows(trials: list[Any]) -> list[dict[str, Any]]:
    """One row per trial: number, state, value, seconds, best epoch, every setting, error.

    A trial that fused adds what its fusion kept (`TRIAL_FUSION_FIELDS`, those it has):
    the network's own score, the share or pool chosen, the fused score at every share.
    `error` is only in the rows of failed trials: what the run refused, or that the command
    was stopped during the trial. A pruned trial has no `value`: Optuna keeps the last epoch
    score it reported, the network alone's, while a finished trial's value is its final
    (fused) score, so one column held two scales (0.35 beside 0.82 on TREC); that score is
    in `pruned_network_score` instead.
    """
    from optuna.trial import TrialState

    rows = []
    for t in trials:
        seconds = (
            (t.datetime_complete - t.datetime_start).total_seconds()
            if t.datetime_complete and t.datetime_start
            else None
        )
        pruned = t.state == TrialState.PRUNED
        rows.append(
            {
                "number": t.number,
                "state": t.state.name,
                "value": None if pruned else t.value,
                "seconds": seconds,
                "best_epoch": t.user_attrs.get("best_epoch"),
                **{f"param_{k}": v for k, v in sorted(t.params.items())},
                **{k: t.user_attrs[k] for k in TRIAL_FUSION_FIELDS if k in t.user_attrs},
            }
        )
        if pruned:
            rows[-1]["pruned_network_score"] = t.value
        if t.user_attrs.get("error"):  # why the trial failed (settings the run refused)
            rows[-1]["error"] = t.user_attrs["error"]
        elif t.user_attrs.get(INTERRUPTED):
            rows[-1]["error"] = INTERRUPTED_ERROR
    return rows


def failure_summary(rows: list[dict[str, Any]], shown: int = 2) -> str:
    """The distinct errors of failed trials, most frequent first: "3 x <error>; 1 x ..."."""
    counts: dict[str, int] = {}
    for row in rows:
        if row.get("error"):
            counts[row["error"]] = counts.get(row["error"], 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    text = "; ".join(f"{n} x {error}" for error, n in ranked[:shown])
    more = len(ranked) - shown
    return text + (f"; and {more} other error(s)" if more > 0 else "")


def failed_trials_line(rows: list[dict[str, Any]]) -> str:
    """Failed trials grouped by error, for the console ("" when none failed).

    "2 of 3 trials failed: zh_mode is only used by the jieba tokenizer, not regex (trial
    #1, #2)": the console said only "Chosen trial #0", as if every draw had been tried.
    """
    numbers: dict[str, list[int]] = {}
    for row in rows:
        if row["state"] == "FAIL":
            error = row.get("error") or "no error recorded"
            numbers.setdefault(error, []).append(int(row["number"]))
    if not numbers:
        return ""
    count = sum(len(n) for n in numbers.values())
    groups = sorted(numbers.items(), key=lambda kv: (-len(kv[1]), kv[1][0]))
    said = "; ".join(
        f"{error} (trial {', '.join(f'#{n}' for n in nums)})" for error, nums in groups
    )
    return f"{count} of {len(rows)} trials failed: {said}"


def _csv_text(rows: list[dict[str, Any]]) -> str:
    """The rows as CSV; a list or mapping (a pool, the score per share) as one JSON cell."""
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows([{k: _cell(v) for k, v in row.items()} for row in rows])
    return buf.getvalue()


def _cell(value: Any) -> Any:
    """A CSV cell: JSON for a list or mapping (`[1.2, 0.4]`, not Python's repr)."""
    return json.dumps(value) if isinstance(value, list | tuple | dict) else value
