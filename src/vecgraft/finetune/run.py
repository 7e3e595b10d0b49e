"""`finetune(config)`: the whole run, from labelled files to a run folder with metrics.

Steps: read data -> split (train/valid/test, stratified, seeded; saved as `splits.json`) ->
drop test texts that also occur in train -> subsample -> tokenizer and vocabulary from the
training texts only -> embedding (pretrained vectors aligned to the vocabulary, or random) ->
model -> `Trainer` -> best checkpoint scored on the test set -> `metrics.json`, tables, plots.
The steps are the methods of `vecgraft.finetune.recipe.ClassifierRecipe`; this module adds
the run folder (create, overwrite, resume) and the process group around them.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import torch

from vecgraft._util.device import resolve_device
from vecgraft.errors import CheckpointError, ConfigError
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.distributed import DistContext
from vecgraft.finetune.families import VectorsArg, build_embedding
from vecgraft.finetune.recipe import ClassifierRecipe, RunResult, Splits, prepare_splits
from vecgraft.finetune.train import EpochHook

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
_RESUMABLE_OVERRIDES = ("resume", "progress", "device", "max_steps", "compile", "plots")


def _prepare_out(config: FinetuneConfig, overwrite: bool) -> Path:
    out = Path(config.out)
    if config.resume:
        if not (out / "config.json").exists():
            raise CheckpointError(f"{out}: nothing to resume (no config.json)")
        return out
    if (out / "config.json").exists():
        if not overwrite:
            raise ConfigError(
                f"{out} already holds a run; use --resume to continue it, --overwrite to replace "
                "it, or another --out"
            )
        shutil.rmtree(out)
    elif out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out} exists and is not empty; choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    return out


def resolve_resume(config: FinetuneConfig) -> FinetuneConfig:
    """With `resume`, the saved config of the run (a few runtime options may change)."""
    if not config.resume:
        return config
    saved_path = Path(config.out) / "config.json"
    if not saved_path.exists():
        raise CheckpointError(f"{config.out}: nothing to resume (no config.json)")
    saved = FinetuneConfig.load(saved_path)
    return saved.replace(**{k: getattr(config, k) for k in _RESUMABLE_OVERRIDES})


def _device_for(config: FinetuneConfig) -> tuple[torch.device, DistContext]:
    """The device and process group of this process (one GPU per local rank)."""
    device = resolve_device(config.device)
    dist = DistContext.from_env(device)
    if dist.enabled and config.device == "auto" and device.type == "cuda":
        device = resolve_device("auto", dist.local_rank)
    if device.type == "cuda" and device.index is not None:
        torch.cuda.set_device(device)  # NCCL collectives use the current device
    return device, dist


def finetune(
    config: FinetuneConfig,
    *,
    vectors: VectorsArg = None,
    overwrite: bool = False,
    log: Callable[[str], None] | None = None,
    on_step: Callable[[int], None] | None = None,
    on_epoch_end: EpochHook | None = None,
) -> RunResult:
    """Run a fine-tuning job end to end; see the module docstring for the steps.

    Args:
        config: the run's settings (with `resume`, the saved config in `config.out` is used).
        vectors: vectors to use instead of loading `config.vectors`: a `Vectors`, or a
            function of the vocabulary's tokens returning one.
        overwrite: replace an existing run folder at `config.out`.
        log: where progress lines go (default: print on rank 0).
        on_step: called with the global step after each optimizer step.
        on_epoch_end: called with (epoch, history row) after each epoch; True stops training.

    Returns:
        RunResult with the run folder, metrics and per-epoch history.
    """
    config = resolve_resume(config)
    device, dist = _device_for(config)
    try:
        if dist.is_main:
            _prepare_out(config, overwrite)
        dist.barrier()
        recipe = ClassifierRecipe(
            config,
            vectors=vectors,
            device=device,
            dist=dist,
            log=log,
            on_step=on_step,
            on_epoch_end=on_epoch_end,
        )
        return recipe.run()
    finally:
        dist.close()
