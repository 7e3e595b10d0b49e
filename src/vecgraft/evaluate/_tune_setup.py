"""Checking `tune`'s arguments and building its spec, base config and search space.

Split out of `vecgraft.evaluate.tune`, which re-exports these names.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from vecgraft._util.atomic import make_folder
from vecgraft._util.jsonfile import RECORD_LIMIT, read_json_file
from vecgraft.errors import ConfigError, OptionError
from vecgraft.evaluate._tune_data import prepare_data
from vecgraft.evaluate._tune_spec import (
    TrialData,
    TrialDataHook,
    TuneSpec,
)
from vecgraft.evaluate._tune_study import (
    Recovered,
    _counted,
    _open_study,
    _recover_interrupted,
    _storage,
    linear_reference,
)
from vecgraft.finetune.config import FinetuneConfig


def _tune_spec(
    base: FinetuneConfig,
    out: str | os.PathLike[str],
    trials: int,
    timeout: float | None,
    cv: int | None,
    storage: str | None,
    study: str | None,
    space: str | os.PathLike[str] | Mapping[str, Any] | None,
    jobs: int,
    select: str = "one-se",
    vectors: Any = None,
) -> TuneSpec:
    """The picklable description of the search that worker processes receive."""
    from vecgraft.evaluate._tune_select import SELECT_RULES

    if isinstance(select, str) and select.lower() in SELECT_RULES:
        select = select.lower()  # any case, as the enum options take
    if select not in SELECT_RULES:
        raise ConfigError(f"select must be one of {', '.join(SELECT_RULES)}, got {select!r}")
    return TuneSpec(
        base=base,
        out=str(out),
        trials=trials,
        timeout=timeout,
        cv=cv,
        storage=storage,
        study=study or "vecgraft-tune",
        space=_search_space(base, space, vectors),
        jobs=jobs,
        select=select,
    )


# `_start`'s `choose`: (spec, data, the base settings an existing study was started with,
# else None) -> the spec whose base the trials take (`tune._chosen_tokenizer`)
Choose = Callable[[TuneSpec, TrialData, Mapping[str, Any] | None], TuneSpec]


def _start(
    spec: TuneSpec,
    say: Callable[[str], None],
    check: Callable[[], None] | None = None,
    choose: Choose | None = None,
) -> tuple[TuneSpec, TrialData, float | None]:
    """Read the data (bad data fails here, before any trial), make the folder, set the deadline.

    `check` runs after the data is read and before the folder and study are made (tune
    loads the vectors there). `choose` settles what the data decides (jieba for Chinese
    texts) before the study's settings are saved or compared: decided after, a study kept
    `tokenizer` None and a continued one switched from regex to jieba mid-study. The
    deadline counts from here; a local journal's interrupted trials are then requeued.
    """
    from vecgraft._util.outputs import check_output_kind

    check_output_kind(spec.out, "a tuning study")  # before the data is read
    _check_one_study(spec)
    spec = _split_rule(spec, say)
    data = prepare_data(spec, say)  # merged label spellings said here, once
    if check is not None:
        check()
    make_folder(spec.out)
    if choose is not None:
        spec = choose(spec, data, _saved_base(spec))
    _check_same_study(spec, say)
    say(f"Search: {data.notes['trials']}; test: {data.notes['test']}")
    _warn_small_validation(spec, data, say)
    deadline = None if spec.timeout is None else time.time() + spec.timeout
    if spec.storage is None:
        _recover_journal(spec, say)
    _say_continued(spec, say)
    return spec, data, deadline


# tune's rule before a tiny class's rows were kept out of the trials' validation split
_OLD_KEEPS_BELOW = 2


def _split_rule(spec: TuneSpec, say: Callable[[str], None]) -> TuneSpec:
    """`spec` keeping the old validation split for a study started before the new rule.

    Its trials were scored on a split where any label of two rows or more gave validation
    one; carved with `VALID_KEEPS_BELOW` now, the new trials were scored on another split,
    and the study mixed the two undetected. Said where the split is carved (classes, no
    `--valid`, no `--cv`).
    """
    from vecgraft.finetune.config import Task
    from vecgraft.finetune.splits import VALID_KEEPS_BELOW

    if not _old_rule(spec):
        return spec
    if spec.base.valid is None and not spec.cv and spec.base.task is not Task.REGRESSION:
        say(f"Validation split: every label of two rows or more gives it one, as the study in "
            f"{spec.out} was started (another --out keeps a label of fewer than "
            f"{VALID_KEEPS_BELOW} rows for training)")  # fmt: skip
    return replace(spec, valid_keeps_below=_OLD_KEEPS_BELOW)


def _old_rule(spec: TuneSpec) -> bool:
    """Whether the study continued has trials of the validation split before its rule was kept.

    Read without making anything (no folder, journal or study), before the data is: a
    study whose settings lack "valid_keeps_below", or that has trials and no settings.
    """
    import optuna

    from vecgraft.evaluate._tune_spec import JOURNAL_FILE

    if spec.storage is None and not os.path.isfile(os.path.join(spec.out, JOURNAL_FILE)):
        return False
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.load_study(study_name=spec.study, storage=_storage(spec))
    except KeyError:  # no such study (yet)
        return False
    saved = study.user_attrs.get(SETTINGS_ATTR)
    if isinstance(saved, Mapping):
        return "valid_keeps_below" not in saved
    return bool(study.get_trials(deepcopy=False))


def _saved_base(spec: TuneSpec) -> Mapping[str, Any] | None:
    """The base settings the study in `spec` was started with.

    None: a new study, or one from before settings were kept.
    """
    saved = _open_study(spec).user_attrs.get(SETTINGS_ATTR)
    base = saved.get("base") if isinstance(saved, Mapping) else None
    return base if isinstance(base, Mapping) else None


def _say_continued(spec: TuneSpec, say: Callable[[str], None]) -> None:
    """A study with finished trials is continued: say how many, of the trials asked for.

    Run again into the same --out, tune went on quietly from the earlier trials (or, all
    of them done, ran none), and "trial 4/4" was the first trial line the console showed.
    """
    done = _counted(_open_study(spec), running=False)
    if not done:
        return
    left = ("; none left to run (a larger --trials runs more)" if done >= spec.trials
            else "")  # fmt: skip
    say(f"{spec.out}: continuing: {done} of {spec.trials} trials already finished{left}")


def _warn_small_validation(spec: TuneSpec, data: TrialData, say: Callable[[str], None]) -> None:
    """One validation split under `min_valid` rows cannot tell trials apart: say so.

    Each trial's score moves by a whole row's share there (a finetune run on such a split
    keeps its last epoch for the same reason), so the chosen settings are mostly luck;
    `--cv K` scores each trial on every search row.
    """
    if spec.cv or len(data.folds) != 1:
        return
    rows, floor = len(data.folds[0][1]), spec.base.min_valid
    if rows < floor:
        say(
            f"WARNING: the trials are scored on {rows} validation rows (< min_valid {floor}): "
            "too few to tell settings apart, so the chosen trial is mostly luck; --cv K "
            f"scores each trial on all {len(data.pool)} search rows"
        )


SETTINGS_ATTR = "vecgraft_settings"
# what may change between commands on one study: how it runs and what is done at the end
_FREE = ("out", "test", "resume", "progress", "device", "compile", "plots")


def study_settings(spec: TuneSpec) -> dict[str, Any]:
    """What the trials' scores depend on: settings, space, folds and the data files' state."""
    import json

    from vecgraft._util.fingerprint import input_fingerprints
    from vecgraft.finetune.rundir import stopword_file

    base = {k: v for k, v in spec.base.to_dict().items() if k not in _FREE}
    files = {"train": spec.base.train, "valid": spec.base.valid, "vectors": spec.base.vectors}
    # an edited jieba dictionary segments other words; none given: no entry, as before
    files["user_dict"] = spec.base.user_dict
    # an edited stopword list drops other words; a built-in language (en, zh): no entry
    files["stopwords"] = stopword_file(spec.base.stopwords)
    inputs = input_fingerprints(files)
    settings = {
        "base": base, "space": spec.space, "cv": spec.cv, "inputs": inputs,
        "test_split": _test_split(spec),
        # the trials' validation split's rule: a study kept before it has none (`_old_rule`)
        "valid_keeps_below": spec.valid_keeps_below,
    }  # fmt: skip
    if spec.vectors_encoding is not None:  # other words from the same file; UTF-8: no key
        settings["vectors_encoding"] = spec.vectors_encoding  # (a study kept before matches)
    return json.loads(json.dumps(settings, default=str))  # as the journal stores it


def _test_split(spec: TuneSpec) -> str:
    """Where the test rows come from, which decides what the trials train and validate on.

    Any `--test` file may follow any other (no trial reads it), but without one a share of
    `--train` is held out: switching between the two moves rows between the trials' data
    and the test, so a later command's test would hold rows earlier trials were tuned on.
    """
    return "held out of train" if spec.base.test is None else "a test file"


def _check_one_study(spec: TuneSpec) -> None:
    """Refuse a study into an `--out` whose tune.json holds another study's results.

    Its best.yaml, final/, trials.csv and reports would be overwritten by the second
    study's, with nothing said (`--study B --out` of a finished study A).
    """
    summary = os.path.join(spec.out, "tune.json")
    try:
        earlier = read_json_file(summary, limit=RECORD_LIMIT).get("study")
    except (OSError, ValueError, AttributeError):
        return  # no finished search there (or an unreadable summary: nothing to keep)
    if isinstance(earlier, str) and earlier != spec.study:
        raise ConfigError(
            f"{spec.out}: holds the results of study {earlier!r} (tune.json); study "
            f"{spec.study!r} would overwrite its best.yaml, final/ and reports: use another "
            "--out"
        )


# input files a study kept only since a later version: one kept before has no entry
_LATER_INPUTS = ("user_dict", "stopwords")


def _check_same_study(spec: TuneSpec, say: Callable[[str], None] | None = None) -> None:
    """A study continued by a later command must be the same search on the same data.

    Optuna reopens a study by name whatever the settings, so a second `tune` into the same
    `--out` with another model or a rewritten training file would mix its trials with the
    first's (and fail after the search, or choose among scores of two problems). A local
    study whose every trial failed (e.g. on a space value the model refused) holds nothing
    to mix: it is replaced, so the corrected command can run in the same --out.
    """
    study = _open_study(spec)
    full = study_settings(spec)  # its files hashed once: `now` is this, trimmed below
    now = {**full, "inputs": dict(full["inputs"])}
    saved = study.user_attrs.get(SETTINGS_ATTR)
    if saved is None:  # a new study, or one from before settings were kept
        study.set_user_attr(SETTINGS_ATTR, full)
        return
    if "test_split" not in saved:  # kept before the test split was: not known, not checked
        now.pop("test_split")
    if "valid_keeps_below" not in saved:  # split with the rule before, as `_start` carved it
        now.pop("valid_keeps_below")
    if isinstance(saved.get("inputs"), Mapping):
        for role in _LATER_INPUTS:
            # kept before the file was fingerprinted (or with none, or a language: its path
            # or code is in "base"): what it held is not known, so such a study continues
            if role not in saved["inputs"]:
                now["inputs"].pop(role, None)
    if isinstance(saved.get("base"), Mapping):  # fields added since, at their default
        from vecgraft.finetune.config import with_added_defaults

        saved = {**saved, "base": with_added_defaults(saved["base"], now["base"])}
        saved = {**saved, "base": _unset_as(spec, saved["base"], now["base"])}
    changed: list[str] = []
    if isinstance(saved.get("inputs"), Mapping):  # what the fingerprints say, not their keys
        inputs, changed = _matched_inputs(saved["inputs"], now["inputs"])
        saved = {**saved, "inputs": inputs}
    if saved == now and not changed:
        return
    diff = [*changed, *_differences(saved, now)]
    if spec.storage is None and _all_failed(study):
        import optuna

        optuna.delete_study(study_name=spec.study, storage=_storage(spec))
        # all of this search's settings, not `now` less what the old study had not kept
        _open_study(spec).set_user_attr(SETTINGS_ATTR, full)
        (say or print)(
            f"{spec.out}: the earlier study had no finished trial and other settings "
            f"({'; '.join(diff[:2])}): replaced by this search"
        )
        return
    # not --study NAME: a second study would overwrite this one's outputs in --out
    # with --storage the study lives there, whatever --out: another --out changed nothing
    fix = ("name another study (--study NAME) or --storage" if spec.storage is not None
           else "use another --out")  # fmt: skip
    raise ConfigError(
        f"{spec.out}: this study ran with other settings or data ({'; '.join(diff[:4])}); "
        f"{fix} to start a new search{_regex_hint(saved, now)}"
    )


def _unset_as(spec: TuneSpec, saved: Mapping[str, Any], now: Mapping[str, Any]) -> dict[str, Any]:
    """The saved base settings with a `tokenizer` None as `spec.unset_tokenizer` says.

    Only where this command's tokenizer is set: unset now, on the same texts, it is the
    same rule the saved None was.
    """
    if spec.unset_tokenizer is None or saved.get("tokenizer") is not None or \
            now.get("tokenizer") is None:  # fmt: skip
        return dict(saved)
    return {**saved, "tokenizer": spec.unset_tokenizer}


def _regex_hint(saved: Mapping[str, Any], now: Mapping[str, Any]) -> str:
    """"; --tokenizer regex continues this one ..." where regex trials meet jieba now.

    Saved "regex" (or None that meant it, `_unset_as`): the texts, a `--user-dict` or
    `--tokenizer jieba` give this command jieba, and only the setting ends the refusal.
    """
    before, after = (s.get("base", {}).get("tokenizer") for s in (saved, now))
    if before == "regex" and after == "jieba":
        return "; --tokenizer regex continues this one (its trials read the regex rule)"
    return ""


def _all_failed(study: Any) -> bool:
    """Every trial failed (none finished, none running or waiting to run)."""
    from optuna.trial import TrialState

    return all(t.state == TrialState.FAIL for t in study.get_trials(deepcopy=False))


def _matched_inputs(
    saved: Mapping[str, Any], now: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """(`saved` with each file that is in both taken as `now`'s, how those that changed did).

    The fingerprints are compared as `changed_inputs` does (on the keys both hold): a study
    saved before a key was added still continues, as does one whose file was only touched.
    """
    from vecgraft._util.fingerprint import changed_inputs

    matched, changed = dict(saved), []
    for role in sorted(set(saved) & set(now)):
        changed += changed_inputs({role: saved[role]}, {role: now[role]})
        matched[role] = now[role]
    return matched, changed


def _differences(saved: Mapping[str, Any], now: Mapping[str, Any], at: str = "") -> list[str]:
    """'key: old -> new' for each leaf that differs (nested keys joined by dots)."""
    out = []
    for key in sorted(set(saved) | set(now)):
        a, b = saved.get(key), now.get(key)
        name = f"{at}{key}"
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            out += _differences(a, b, f"{name}.")
        elif a != b:
            out.append(f"{name}: {a!r} -> {b!r}")
    return out


def _check_arguments(
    base: FinetuneConfig,
    trials: int,
    jobs: int,
    cv: int | None,
    trial_data_hook: TrialDataHook | None,
    timeout: float | None = None,
) -> None:
    """Refuse contradictory search arguments before any data is read or any trial runs."""
    if trials < 1:
        raise OptionError.out_of_range("trials", ">= 1", trials)
    # a negative one or 0 made OUT and its study, then ran no trial; NaN is refused too
    if timeout is not None and not timeout > 0:
        raise OptionError.out_of_range("timeout", "> 0 seconds", f"{timeout:g}")
    if jobs < 1:
        raise OptionError.out_of_range("jobs", ">= 1", jobs)
    if cv is not None and base.valid is not None:
        raise ConfigError("cv and valid exclude each other: folds are carved from train")
    if jobs > 1 and trial_data_hook is not None:
        raise ConfigError("trial_data_hook needs jobs=1 (worker processes cannot call it)")
    _check_test_file(base)


def _check_test_file(base: FinetuneConfig) -> None:
    """The test file may not be the train or valid file: found now, not after the search.

    The test split is read once, after the search; its texts that also occur in the data
    trained or chosen on are removed, so the same file left it empty only then, once every
    trial had run.
    """
    if base.test is None or not base.dedupe or not os.path.isfile(base.test):
        return
    for role, path in (("train", base.train), ("valid", base.valid)):
        if path is not None and os.path.isfile(path) and os.path.samefile(path, base.test):
            raise ConfigError(
                f"test {base.test} is also the {role} file: its texts would be removed from "
                f"the test split after the search as texts of the {role} data, leaving none"
            )


# the settings a trial's tokenizer is built from (`EmbeddingFamily.check`)
_TEXT_SETTINGS = ("tokenizer", "zh_mode", "stopwords", "user_dict", "halfwidth", "simplified",
                  "lower")  # fmt: skip


def _check_fixed_settings(spec: TuneSpec, vectors: Any = None) -> None:
    """Refuse, before the data is read, the fixed settings finetune's setup would refuse.

    Each trial built its tokenizer from them only once the data was read, and failed
    alike (`--zh-mode char` without `--tokenizer jieba`, a `--stopwords` file not there):
    the search ran them one after another and named the cause only at the end. A value the
    space fixes counts; a setting it searches leaves the check to the trials (some of its
    values may be fine).
    """
    from vecgraft.finetune.families import check_family_settings

    if any(isinstance(spec.space.get(k), Mapping) for k in _TEXT_SETTINGS):
        return
    fixed = {k: spec.space[k] for k in _TEXT_SETTINGS if k in spec.space}
    check_family_settings(spec.base.replace(**fixed) if fixed else spec.base, vectors)


def _search_space(
    base: FinetuneConfig,
    space: str | os.PathLike[str] | Mapping[str, Any] | None,
    vectors: Any = None,
) -> dict[str, Any]:
    """The family's built-in space with the user's overrides (a `--space` file or a mapping).

    `vectors`: loaded vectors, whose recorded tokenizer the linear space follows.
    """
    from vecgraft.evaluate.space import family_space, load_space_file

    if isinstance(space, str | os.PathLike):
        overrides: Mapping[str, Any] = load_space_file(space)
        source = str(space)
    else:
        overrides, source = (space or {}), "space"
    _check_family(base)
    built = family_space(str(base.model), overrides, source=source)
    if base.model == "linear":
        _linear_char_space(built, base, overrides, vectors)
    return built


def _linear_char_space(
    space: dict[str, Any], base: FinetuneConfig, overrides: Mapping[str, Any], vectors: Any
) -> None:
    """Offer "none" word n-grams in the built-in space where the tokenizer is char.

    Why: `finetune --model linear --tokenizer char` drops word n-grams (the words are the
    characters, read already by chars 1-3); the space's ranges could not say that, so the
    "defaults" trial drew word n-grams and was not the run `finetune` makes. A --space that
    sets word_ngrams itself is kept as written.
    """
    from vecgraft.evaluate.space import NO_RANGE

    key = "model_options.word_ngrams"
    if key in overrides or "word_ngrams" in overrides:
        return
    dist = space.get(key)
    if not isinstance(dist, Mapping) or NO_RANGE in dist["choices"]:
        return
    if linear_reference(base, vectors).word_ngrams is None:
        space[key] = {**dist, "choices": [NO_RANGE, *dist["choices"]]}


def _recover_journal(spec: TuneSpec, say: Callable[[str], None]) -> None:
    """Requeue the trials a stopped earlier command left RUNNING in the local journal.

    Only those whose process is gone: a trial another live command on this machine runs
    (a second `tune` on the same --out) is left to it, and this command runs beside it as
    one more worker of the study. Taken under the study's lock, as a worker asks for a
    trial and records itself under it.
    """
    from pathlib import Path

    from vecgraft._util.filelock import file_lock
    from vecgraft.evaluate._tune_spec import LOCK_FILE

    study_obj = _open_study(spec)
    with file_lock(Path(spec.out) / LOCK_FILE):
        found = _recover_interrupted(study_obj)
    for line in recovery_lines(found, _interrupted_numbers(study_obj)):
        say(line)


def _numbers(numbers: Any) -> str:
    return ", ".join(f"#{n}" for n in sorted(numbers))


def _interrupted_numbers(study: Any) -> list[int]:
    """The study's trials marked interrupted (failed, their settings queued again)."""
    from vecgraft.evaluate._tune_spec import INTERRUPTED

    return [t.number for t in study.get_trials(deepcopy=False) if t.user_attrs.get(INTERRUPTED)]


def recovery_lines(found: Recovered, interrupted: list[int]) -> list[str]:
    """What `_recover_interrupted` did, in words; `interrupted`: every trial marked so.

    The count is of the trials this recovery failed and queued again: "2 trial(s)
    interrupted earlier (#0, #3), settings queued again" counted #0, queued and run again
    commands ago. The study's interrupted trials in all, which the failed trials' line at
    the end counts, are added where more (after a `kill -9` of a `--jobs 2` command its
    worker process had marked its own trial as it stopped, this command the other).
    """
    lines = []
    if found.failed:
        lines.append(
            f"{len(found.failed)} trial(s) left running by a command that ended "
            f"({_numbers(found.failed)}): marked failed, settings queued again"
        )
    if found.elsewhere:
        hosts = ", ".join(sorted(set(found.elsewhere.values())))
        lines.append(
            f"{len(found.elsewhere)} trial(s) left running by a command on another machine "
            f"({_numbers(found.elsewhere)} on {hosts}): taken as ended (a study in --out is run "
            "from one machine, as when the same --out is run again in a new container or on "
            "another node; several machines share one through --storage), marked failed, "
            "settings queued again"
        )
    if lines and set(interrupted) - {*found.failed, *found.elsewhere}:  # some before now
        lines[-1] += f" ({len(interrupted)} interrupted in all: {_numbers(interrupted)})"
    if found.live:
        pids = ", ".join(str(p) for p in sorted(set(found.live.values())))
        lines.append(
            f"{len(found.live)} trial(s) running in another command on this machine "
            f"({_numbers(found.live)}, process {pids}): left to it; this command runs the "
            "study's other trials beside it"
        )
    return lines


def _check_family(base: FinetuneConfig) -> None:
    """A clear error when the model kind has no registered family (e.g. `linear` too early)."""
    from vecgraft.finetune.families import model_family

    model_family(base.model)


def _base_config(
    config: FinetuneConfig | Mapping[str, Any] | None,
    train: Any,
    valid: Any,
    test: Any,
    vectors: str,
    model: str | None,
    seed: int | None,
) -> FinetuneConfig:
    if isinstance(config, FinetuneConfig):
        base = config
    else:
        base = FinetuneConfig.from_dict(dict(config or {}), source="config")
    # `plots` stays as given (default on): it is final/'s; each trial turns it off itself
    changes: dict[str, Any] = {}
    for name, value in (("train", train), ("valid", valid), ("test", test)):
        if value is not None:
            changes[name] = str(value)
    if vectors != "random" or config is None:
        changes["vectors"] = str(vectors)
    if model is not None:
        changes["model"] = model
    if seed is not None:
        changes["seed"] = seed
    if base.task == "regression":  # a regression trains, stops and is judged on its MSE
        changes["metric"] = "loss"
    return base.replace(**changes)
