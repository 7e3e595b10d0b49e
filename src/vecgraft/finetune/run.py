"""`finetune(config)`: the whole run, from labelled files to a run folder with metrics.

Steps: read data -> split (train/valid/test, stratified, seeded; saved as `splits.json`) ->
drop test texts that also occur in train -> subsample -> tokenizer and vocabulary from the
training texts only -> embedding (pretrained vectors aligned to the vocabulary, or random) ->
model -> `Trainer` -> best checkpoint scored on the test set -> `metrics.json`, tables, plots.
The steps are the methods of `vecgraft.finetune.recipe.ClassifierRecipe`; this module adds
the run folder (create, overwrite, resume) and the process group around them, and, on a small
training set, several such runs averaged (`vecgraft.finetune.ensemble`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shlex
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

import torch

from vecgraft._util.device import resolve_device
from vecgraft._util.hf_spec import HF_PREFIX
from vecgraft._util.rng import kept_rng
from vecgraft.errors import ConfigError
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.distributed import DistContext
from vecgraft.finetune.families import build_embedding, model_family
from vecgraft.finetune.prepare import Splits, prepare_splits
from vecgraft.finetune.recipe import ClassifierRecipe, RunResult
from vecgraft.finetune.rundir import MANIFEST, RunFolder, check_free, run_lock
from vecgraft.finetune.text_settings import check_user_dict
from vecgraft.finetune.train import EpochHook
from vecgraft.finetune.vectors_arg import (
    VectorsArg,
    check_vectors_arg,
    check_vectors_folder,
    record_vectors,
)

__all__ = [
    "RunResult",
    "Splits",
    "VectorsArg",
    "build_embedding",
    "finetune",
    "prepare_splits",
    "resolve_resume",
]

# options that may differ between an interrupted run and its `--resume`
RESUMABLE_OVERRIDES = ("out", "resume", "progress", "device", "max_steps", "compile", "plots")
# of those, the ones a resume's config leaves as saved where it holds the field's default
# (unset): `max_steps` None cannot mean "lift the cap", as `--resume` has no flag for it
KEPT_WHEN_DEFAULT = ("max_steps",)


def resolve_resume(
    config: FinetuneConfig, *, adopt: bool = False, saved: FinetuneConfig | None = None
) -> FinetuneConfig:
    """With `resume`, the saved config of the run (a few runtime options may change).

    The run continues in `config.out`, whatever folder the saved config names: a copy of a
    run folder never writes into the original (and needs `adopt`, see `RunFolder`).
    A `KEPT_WHEN_DEFAULT` setting left at its default keeps the run's saved one, as
    `finetune --resume` without `--max-steps` does: `FinetuneConfig(out=..., resume=True)`
    trained a run started with `max_steps=2` to its last epoch; another value changes it.
    `saved`: the run's config.json where the caller has read it already (None: read here).
    """
    if not config.resume:
        return config
    manifest = RunFolder(config.out).check_resume(adopt=adopt) or {}
    if saved is None:
        saved = FinetuneConfig.load(Path(config.out) / "config.json", saved_run=True)
    _check_relative_inputs(saved, manifest.get("cwd"), Path(config.out) / "config.json")
    return saved.replace(**_resume_overrides(config))


def _resume_overrides(config: FinetuneConfig) -> dict[str, Any]:
    """The `RESUMABLE_OVERRIDES` a resume takes from `config`, not from the saved run."""
    defaults = {f.name: f.default for f in dataclasses.fields(FinetuneConfig)}
    return {
        k: getattr(config, k) for k in RESUMABLE_OVERRIDES
        if not (k in KEPT_WHEN_DEFAULT and getattr(config, k) == defaults[k])
    }  # fmt: skip


# a config's fields naming an input file or folder, which config.json keeps as given
INPUT_PATHS = ("train", "valid", "test", "user_dict", "vectors", "stopwords", "add_tokens",
               "hf_model", "graft_vectors")  # fmt: skip


def _check_relative_inputs(saved: FinetuneConfig, started: Any, source: Path) -> None:
    """Refuse a resume from another directory than the run's, where its paths are relative.

    `config.json` keeps the paths as given, so `--resume` from elsewhere said only "t.csv:
    no such file". A file found from both directories is read from here: the data
    fingerprints of `splits.json` name it if it is not the run's.
    """
    for name, value in _started_relative(saved, started, INPUT_PATHS)[:1]:
        raise ConfigError(
            f"{source}: {name} {value!r} is relative to the directory the run started in, "
            f"{started}; run --resume from there (this is {Path.cwd()})"
        )


def _started_relative(
    config: FinetuneConfig, started: Any, names: tuple[str, ...]
) -> list[tuple[str, str]]:
    """(field, path) of `names` whose relative path is missing here but found from `started`.

    None where `started` (a run manifest's `cwd`) is unrecorded or is this directory. A
    path found from neither (vectors 'random', stopwords 'en', a hub id, a deleted file)
    is left to the usual "no such file".
    """
    here = Path.cwd()
    if not isinstance(started, str) or Path(started) == here:
        return []  # an older run's manifest did not record where it started
    found = []
    for name in names:
        value = getattr(config, name)
        if not isinstance(value, str):
            continue
        path = _local_path(value)
        if Path(path).is_absolute() or (here / path).exists():
            continue
        if (Path(started) / path).exists():
            found.append((name, value))
    return found


def _local_path(value: str) -> str:
    """The file or folder an input path names: `hf:FOLDER`'s folder (finetune's vectors).

    Why: a relative `--vectors hf:models/x` missed the hint, as no path "hf:models/x"
    exists from either directory. finetune takes no `:MODE` after the folder.
    """
    return value[len(HF_PREFIX) :] if value.startswith(HF_PREFIX) else value


def _rebased(value: str, started: str) -> str:
    """`value` (as `_local_path` reads it) from the directory `started`, as a flag takes it."""
    prefix = HF_PREFIX if value.startswith(HF_PREFIX) else ""
    return prefix + str(Path(started) / _local_path(value))


def check_run_config_inputs(
    config: FinetuneConfig, file: str | os.PathLike[str], from_file: Collection[str]
) -> None:
    """Refuse a run's config.json as `--config` from another directory, naming what works.

    Its relative paths are from the directory the run started in (its manifest.json's
    `cwd`): `finetune --config RUN/config.json` from elsewhere said only "train.csv: no such
    file or directory". Not read from there in its place: a same-named file here would
    be read without a word while the missing one was not, and a run should read what its
    command names. `from_file`: the fields the file set (a flag's path is the user's own).
    """
    started = _manifest_cwd(Path(file).parent / MANIFEST)
    if started is None:  # not a run's file, or a run from before manifests kept it
        return
    names = tuple(n for n in INPUT_PATHS if n in from_file)
    found = _started_relative(config, started, names)
    if not found:
        return
    said = ", ".join(f"{name} {value!r}" for name, value in found)
    flags = " ".join(
        f"--{name.replace('_', '-')} {shlex.quote(_rebased(value, started))}"
        for name, value in found
    )
    raise ConfigError(
        f"{file}: {said} {'is' if len(found) == 1 else 'are'} relative to the folder the run "
        f"was started from, {started} (per its {MANIFEST}), not to this one ({Path.cwd()}): "
        f"run from there or pass {flags}"
    )


def _manifest_cwd(file: Path) -> str | None:
    """The `cwd` a run's manifest records; None: no manifest, unreadable, or none recorded."""
    from vecgraft._util.jsonfile import RECORD_LIMIT, read_json_file

    try:
        data = read_json_file(file, limit=RECORD_LIMIT)
    except (OSError, ValueError):
        return None
    cwd = data.get("cwd") if isinstance(data, dict) else None
    return cwd if isinstance(cwd, str) else None


def _as_config(config: Any) -> FinetuneConfig:
    """`config`, a FinetuneConfig or a mapping of its fields (read by `from_dict`).

    A dict said only "'dict' object has no attribute 'resume'".
    """
    if isinstance(config, FinetuneConfig):
        return config
    if isinstance(config, Mapping):
        return FinetuneConfig.from_dict(config, source="config")
    how = ""
    if isinstance(config, str | os.PathLike):
        how = f"; FinetuneConfig.load({os.fsdecode(config)!r}) reads a config file"
    raise ConfigError(
        f"finetune takes a FinetuneConfig (or a mapping of its fields), not a "
        f"{type(config).__name__}{how}"
    )


def _device_for(config: FinetuneConfig) -> tuple[torch.device, DistContext]:
    """The device and process group of this process (one GPU per local rank).

    Under torchrun, "auto" and "cuda" (no index) give each process the GPU of its local rank.
    Why "cuda" too: as `torch.device("cuda")` it is the current GPU, cuda:0 in every process,
    and NCCL refuses two ranks on one GPU. A "cuda:N" is kept as given (a launcher that shows
    each process only its own GPU). Only such a process has its current GPU set for good
    (NCCL collectives use it); a run on one process sets it for its duration (`_on_gpu`).
    """
    device = resolve_device(config.device)
    dist = DistContext.from_env(device)
    if dist.enabled and device.type == "cuda" and config.device in ("auto", "cuda"):
        device = resolve_device("auto", dist.local_rank)
    if dist.enabled and device.type == "cuda" and device.index is not None:
        torch.cuda.set_device(device)  # NCCL collectives use the current device
    return device, dist


def _on_gpu(device: torch.device, dist: DistContext) -> contextlib.AbstractContextManager[Any]:
    """`device` as the current GPU while a one-process run runs; the caller's is restored after.

    Why: `torch.cuda.set_device` outlived the run, and in a notebook a later
    `torch.zeros(..., device="cuda")` or `load_run(device="cuda")` landed on the run's GPU.
    Inside the run, bf16 autocast asks the current GPU about bf16. A torchrun process set
    its GPU in `_device_for` already.
    """
    if device.type == "cuda" and not dist.enabled:
        return torch.cuda.device(device)
    return contextlib.nullcontext()


def finetune(
    config: FinetuneConfig | Mapping[str, Any],
    *,
    vectors: VectorsArg = None,
    overwrite: bool = False,
    log: Callable[[str], None] | None = None,
    on_step: Callable[[int], None] | None = None,
    on_epoch_end: EpochHook | None = None,
    adopt: bool = False,
) -> RunResult:
    """Run a fine-tuning job end to end; see the module docstring for the steps.

    Args:
        config: the run's settings (with `resume`, the saved config in `config.out` is used);
            a mapping of its fields is read as `FinetuneConfig.from_dict` reads one.
        vectors: vectors to use instead of loading `config.vectors`: a `Vectors`, or a
            function of the vocabulary's tokens returning one. A file is named in the
            config instead (`FinetuneConfig(vectors="glove.txt")`). Where the config names
            none, `config.json` records them as in memory ("<in memory: ...>"), which a
            retrain or `resume` refuses unless they are passed again. A function lists no
            words, so `lower=None` keeps the text's case (the log says so).
        overwrite: replace the run at `config.out`: only the files its manifest lists, and
            only once this run's inputs are read and its model is built.
            Either way the folder is locked while the run writes it (`run_lock`): a second
            run into it fails at once with a ConfigError.
        log: where progress lines go (default: print on rank 0).
        on_step: called with the global step after each optimizer step.
        on_epoch_end: called with (epoch, history row) after each epoch; True stops training.
        adopt: with `resume`, continue a run folder that was copied or moved from the folder
            its manifest names (files are written only in `config.out`).

    Returns:
        RunResult with the run folder, metrics and per-epoch history.
    """
    vectors = check_vectors_arg(vectors)
    config = _as_config(config)
    check_free(config.out)  # a running run's folder says so before any advice on resuming it
    config = record_vectors(resolve_resume(config, adopt=adopt), vectors)
    check_user_dict(config, vectors)  # a missing file fails now, not after the data is read
    check_vectors_folder(config, vectors)  # a checkpoint folder too
    device, dist = _device_for(config)
    try:
        # the run seeds torch's generators and picks the current GPU; its caller's are kept
        with _on_gpu(device, dist), kept_rng(device):
            return _run(config, vectors, device, dist, overwrite=overwrite, adopt=adopt,
                        log=log, on_step=on_step, on_epoch_end=on_epoch_end)  # fmt: skip
    finally:
        dist.close()


def _run(
    config: FinetuneConfig,
    vectors: VectorsArg,
    device: torch.device,
    dist: DistContext,
    *,
    overwrite: bool,
    adopt: bool,
    log: Callable[[str], None] | None,
    on_step: Callable[[int], None] | None,
    on_epoch_end: EpochHook | None,
) -> RunResult:
    """`finetune`'s body, once its config is read and its device chosen."""
    from vecgraft.finetune.ensemble import (
        EnsemblePlan,
        _run_ensemble,
        is_ensemble_run,
        plan_ensemble,
    )

    # an option NCCL cannot run fails now, not at the first step after the data is read
    config.sparse_embedding_on(dist.enabled, device=device.type)
    # one run writes a folder at a time; the process that writes it (rank 0) holds it
    with run_lock(config.out) if dist.is_main else contextlib.nullcontext():
        recipe_class = getattr(model_family(config.model), "recipe", ClassifierRecipe)
        kwargs: dict[str, Any] = {"vectors": vectors, "device": device, "on_step": on_step,
                  "on_epoch_end": on_epoch_end}  # fmt: skip
        if config.resume and is_ensemble_run(config.out):
            plan = EnsemblePlan(0)  # the member count is read from ensemble.json
        else:
            plan = plan_ensemble(config, distributed=dist.enabled)
        if plan.members != 1:
            if dist.enabled:
                raise ConfigError("an ensemble runs in one process (not distributed)")
            # the folder is held here: `run_ensemble` would take its lock again
            return _run_ensemble(config, plan, recipe_class, overwrite=overwrite,
                                 adopt=adopt, log=log or print, **kwargs)  # fmt: skip
        recipe = recipe_class(
            config, dist=dist, log=log, overwrite=overwrite, adopt=adopt, preread=plan.data,
            **kwargs,
        )
        return recipe.run()
