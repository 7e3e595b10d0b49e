"""`finetune(config)`: the whole run, from labelled files to a run folder with metrics.

Steps: read data -> split (train/valid/test, stratified, seeded; saved as `splits.json`) ->
drop test texts that also occur in train -> subsample -> tokenizer and vocabulary from the
training texts only -> embedding (pretrained vectors aligned to the vocabulary, or random) ->
model -> `Trainer` -> best checkpoint scored on the test set -> `metrics.json`, tables, plots.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vecgraft._util.atomic import atomic_write_json, atomic_write_text
from vecgraft._util.device import resolve_device
from vecgraft.errors import CheckpointError, ConfigError, DataError, MissingExtraError
from vecgraft.finetune.batching import EncodedData, encode_texts
from vecgraft.finetune.checkpoint import load_checkpoint, save_checkpoint
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.distributed import DistContext
from vecgraft.finetune.predict import model_meta
from vecgraft.finetune.train import EvalResult, Trainer, evaluate_model, use_bf16
from vecgraft.vectors import Vectors

# options that may differ between an interrupted run and its `--resume`
_RESUMABLE_OVERRIDES = ("resume", "progress", "device", "max_steps", "compile", "plots")


@dataclass
class RunResult:
    """What a finished run produced.

    Attributes:
        run_dir: the run folder.
        metrics: the content of `metrics.json`.
        history: one dict per epoch (losses, accuracies, learning rate, seconds).
        test_metrics: ClassificationMetrics on the test set.
    """

    run_dir: Path
    metrics: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    test_metrics: Any = None


@dataclass
class Splits:
    """The labelled sets of a run and what was done to get them."""

    train: Any
    valid: Any
    test: Any
    notes: dict[str, Any]


def _read(
    path: str,
    config: FinetuneConfig,
    reads: dict[str, Any] | None = None,
    log: Callable[[str], None] | None = None,
) -> Any:
    """Labelled rows of `path`; what was dropped or repaired goes to `reads` and the log."""
    from vecgraft.finetune.data import read_labelled

    data, bad = read_labelled(
        path,
        text_column=config.text_column,
        label_column=config.label_column,
        encoding=config.encoding,
        errors=config.errors,
        bad_rows=config.bad_rows,
    )
    if reads is not None:
        reads[str(path)] = bad.to_dict()
    if log is not None and (bad.total or bad.replaced_rows):
        log(bad.format())
    if not data.texts:
        raise DataError(f"{path}: no labelled rows")
    return data


def _rows(data: Any) -> list[str]:
    """Where each row came from (`file:line`, or the file for a folder)."""
    return [data.where(i) for i in range(len(data.texts))]


def prepare_splits(config: FinetuneConfig, log: Callable[[str], None]) -> Splits:
    """Read and split the data as `config` says (deterministic given the seed)."""
    from vecgraft.finetune.data import (
        drop_duplicates,
        find_duplicates,
        stratified_split,
        subsample,
    )

    if config.train is None:
        raise ConfigError("no training data: pass --train PATH")
    reads: dict[str, Any] = {}  # per file: dropped rows with their lines, repaired lines
    train = _read(config.train, config, reads, log)
    notes: dict[str, Any] = {"train_source": train.source, "read": reads}
    if config.test is None:
        seed = config.seed if config.split_seed is None else config.split_seed
        train, test = stratified_split(train, config.test_fraction, seed)
        notes["test_split"] = f"stratified {config.test_fraction:.0%} of train, seed {seed}"
    else:
        test = _read(config.test, config, reads, log)
    dupes = find_duplicates(train, test)
    notes["duplicates"] = {
        **dupes.to_dict(),
        "removed": bool(config.dedupe and dupes.count),
    }
    if dupes.count:
        action = "removed from test" if config.dedupe else "kept (--no-dedupe)"
        log(f"{dupes.count} test text(s) also occur in the training data: {action}")
        if config.dedupe:
            test = drop_duplicates(test, dupes)
    if config.train_fraction < 1:
        train = subsample(train, config.train_fraction, config.seed)
        notes["train_fraction"] = config.train_fraction
    if config.valid is None:
        train, valid = stratified_split(train, config.valid_fraction, config.seed)
        notes["valid_split"] = (
            f"stratified {config.valid_fraction:.0%} of train, seed {config.seed}"
        )
    else:
        valid = _read(config.valid, config, reads, log)
    if not test.texts:
        raise DataError("the test set is empty (after removing duplicates)")
    return Splits(train, valid, test, notes)


VectorsArg = Vectors | Callable[[list[str]], Vectors] | None


def build_embedding(
    config: FinetuneConfig, vocab: Any, vectors: VectorsArg, log: Callable[[str], None]
) -> tuple[nn.Embedding, Any]:
    """The model's embedding and its AlignmentReport (None for a random embedding)."""
    from vecgraft.nn.embedding import pretrained_embedding, random_embedding

    if vectors is None and config.vectors == "random":
        return random_embedding(vocab, config.embedding_dim, config.seed), None
    loaded: Vectors
    if isinstance(vectors, Vectors):
        loaded = vectors
    elif vectors is not None:
        loaded = vectors(list(vocab.tokens))
    else:
        from vecgraft.io import load

        loaded = load(config.vectors, vocab=vocab.tokens)
    embedding = pretrained_embedding(vocab, loaded, freeze=False, seed=config.seed)
    report = getattr(embedding, "alignment_report", None)
    if report is not None:
        log(
            f"Vectors: {len(loaded)} x {loaded.dim} from {config.vectors}; coverage "
            f"{report.type_coverage:.1%} of vocabulary types, {report.token_coverage:.1%} of tokens"
        )
    return embedding, report


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


def finetune(
    config: FinetuneConfig,
    *,
    vectors: VectorsArg = None,
    overwrite: bool = False,
    log: Callable[[str], None] | None = None,
    on_step: Callable[[int], None] | None = None,
) -> RunResult:
    """Run a fine-tuning job end to end; see the module docstring for the steps.

    Args:
        config: the run's settings (with `resume`, the saved config in `config.out` is used).
        vectors: vectors to use instead of loading `config.vectors`: a `Vectors`, or a
            function of the vocabulary's tokens returning one.
        overwrite: replace an existing run folder at `config.out`.
        log: where progress lines go (default: print on rank 0).
        on_step: called with the global step after each optimizer step.

    Returns:
        RunResult with the run folder, metrics and per-epoch history.
    """
    started = time.perf_counter()
    config = resolve_resume(config)
    device = resolve_device(config.device)
    dist = DistContext.from_env(device)
    if dist.enabled and config.device == "auto" and device.type == "cuda":
        device = resolve_device("auto", dist.local_rank)
    if device.type == "cuda" and device.index is not None:
        torch.cuda.set_device(device)  # NCCL collectives use the current device
    printer = log or print
    say: Callable[[str], None] = printer if dist.is_main else (lambda _msg: None)
    try:
        out = _prepare_out(config, overwrite) if dist.is_main else Path(config.out)
        dist.barrier()
        return _run(config, out, device, dist, vectors, say, on_step, started)
    finally:
        dist.close()


def _run(
    config: FinetuneConfig,
    out: Path,
    device: torch.device,
    dist: DistContext,
    vectors: VectorsArg,
    say: Callable[[str], None],
    on_step: Callable[[int], None] | None,
    started: float,
) -> RunResult:
    from vecgraft.finetune.data import LabelMap
    from vecgraft.nn.models import build_model
    from vecgraft.text import build_vocab
    from vecgraft.text.tokenize import Tokenizer

    splits = prepare_splits(config, say)
    labels = sorted(set(splits.train.labels))
    if len(labels) < 2:
        raise DataError(f"{splits.train.source}: need at least 2 labels, found {labels}")
    label_map = LabelMap(labels)
    y_train = label_map.encode_rows(splits.train)
    y_valid = label_map.encode_rows(splits.valid)
    y_test = label_map.encode_rows(splits.test)
    sizes = {"train": len(y_train), "valid": len(y_valid), "test": len(y_test)}
    say(
        f"Data: {sizes['train']} train, {sizes['valid']} valid, {sizes['test']} test; "
        f"{len(labels)} labels"
    )

    tokenizer = Tokenizer(config.tokenizer, lower=config.lower, stopwords=config.stopwords)
    vocab = build_vocab(splits.train.texts, tokenizer, min_freq=config.min_freq)
    embedding, report = build_embedding(config, vocab, vectors, say)
    pad = vocab.pad_index if vocab.pad_index is not None else 0

    def encode(data: Any, y: list[int]) -> EncodedData:
        return EncodedData(encode_texts(data.texts, tokenizer, vocab, config.max_length), y, pad)

    train_data = encode(splits.train, y_train)
    valid_data = encode(splits.valid, y_valid)
    test_data = encode(splits.test, y_test)

    torch.manual_seed(config.seed)
    model = build_model(config.model, embedding, len(labels), **config.model_options).to(device)
    meta = model_meta(model, config.model, len(labels), tokenizer, config.max_length)

    if dist.is_main:
        # written only once data, vocabulary and model are ready, so a run that fails on bad
        # input leaves an empty folder (reusable) rather than a half-made run
        if not config.resume:
            config.save(out / "config.json")
        _write_data_notes(out, splits, sizes, report)

    def save(
        name: str, m: nn.Module, state: dict[str, Any], trainer: dict[str, Any] | None
    ) -> None:
        save_checkpoint(
            out / name,
            model=m,
            model_meta=meta,
            vocab=vocab,
            labels=labels,
            state=state,
            trainer_state=trainer,
        )

    trainer = Trainer(
        model,
        config,
        train_data,
        valid_data,
        num_classes=len(labels),
        device=device,
        dist=dist,
        save=save,
        log=say,
        on_step=on_step,
    )
    if config.resume and ((out / "last").exists() or (out / ".last.old").exists()):
        ckpt = load_checkpoint(out / "last")
        if ckpt.vocab.tokens != vocab.tokens or ckpt.labels != labels:
            raise CheckpointError(f"{ckpt.path}: the data changed since this run started")
        ckpt.load_weights(model)
        if ckpt.state is None:
            raise CheckpointError(f"{ckpt.path}: no state.json; cannot resume")
        trainer.restore(ckpt.state, ckpt.trainer_state())
        say(f"Resuming {out} at epoch {trainer.state.epoch + 1}, step {trainer.state.global_step}")
    state = trainer.fit()
    dist.barrier()

    load_checkpoint(out / "best").load_weights(model)
    bf16 = use_bf16(config, device)
    valid_result = evaluate_model(
        model, valid_data, len(labels), device=device, bf16=bf16, dist=dist
    )
    test_result = evaluate_model(model, test_data, len(labels), device=device, bf16=bf16, dist=dist)
    test_metrics = _classification(test_result, labels)
    metrics: dict[str, Any] = {
        "test": _metrics_dict(test_metrics, test_result),
        "valid": _metrics_dict(_classification(valid_result, labels), valid_result),
        "best_epoch": state.best_epoch,
        "epochs_run": state.epoch,
        "stopped_early": state.stopped_early,
        "sizes": sizes,
        "labels": labels,
        "duplicates": {
            k: splits.notes["duplicates"][k] for k in ("count", "label_conflicts", "removed")
        },
        "world_size": dist.world_size,
        "seconds": time.perf_counter() - started,
    }
    if report is not None:
        metrics["coverage"] = {
            "type_coverage": report.type_coverage,
            "token_coverage": report.token_coverage,
        }
    if dist.is_main:
        atomic_write_json(out / "metrics.json", metrics)
        _write_reports(out, test_metrics, state.history, plots=config.plots)
        say(
            f"Test ({sizes['test']} texts, best epoch {state.best_epoch}): accuracy "
            f"{100 * test_metrics.accuracy:.2f}%, macro F1 {test_metrics.macro_f1:.4f}"
        )
        say(test_metrics.format_table())
        say(f"Run folder: {out}")
    return RunResult(out, metrics, state.history, test_metrics)


def _classification(result: EvalResult, labels: list[str]) -> Any:
    from vecgraft.finetune.metrics import classification_metrics

    y_true, y_pred = result.pairs()
    return classification_metrics(y_true, y_pred, labels)


def _metrics_dict(metrics: Any, result: EvalResult) -> dict[str, Any]:
    out = dict(metrics.to_dict())
    out.update(accuracy=metrics.accuracy, macro_f1=metrics.macro_f1, loss=result.loss)
    return out


def _write_data_notes(out: Path, splits: Splits, sizes: dict[str, int], report: Any) -> None:
    """splits.json (which rows went where) and the alignment report."""
    atomic_write_json(
        out / "splits.json",
        {
            **splits.notes,
            "sizes": sizes,
            "train": {"source": splits.train.source, "rows": _rows(splits.train)},
            "valid": {"source": splits.valid.source, "rows": _rows(splits.valid)},
            "test": {"source": splits.test.source, "rows": _rows(splits.test)},
        },
    )
    if report is not None:
        report.save(out / "alignment.json")
        atomic_write_text(out / "alignment.txt", report.format_table() + "\n")


def _write_reports(out: Path, metrics: Any, history: list[dict[str, Any]], *, plots: bool) -> None:
    """Text report and PNG plots (plots skipped with a note when matplotlib is missing)."""
    atomic_write_text(out / "report.txt", metrics.format_table() + "\n")
    atomic_write_json(out / "history.json", history)
    if not plots:
        return
    try:
        from vecgraft.finetune.plots import plot_confusion, plot_history

        plot_confusion(metrics, out / "confusion.png")
        plot_history(history, out / "history.png")
    except MissingExtraError as exc:
        print(f"note: plots skipped: {exc}", file=sys.stderr)
