"""Compare embedding sources on one labelled task: one fine-tuning run per cell.

A *cell* is (source, training fraction, seed). Every cell is an ordinary `vecgraft.finetune`
run in `OUT/cells/<source>/frac-<f>/seed-<s>/`; its `metrics.json` is the cell's result, so
a rerun skips finished cells (resumable) and a half-finished cell is resumed from its last
checkpoint. Around the runs, each source gets its coverage of the task's training vocabulary
and its intrinsic scores; `OUT/compare.json` holds every number plus the exact settings and
`vecgraft.evaluate.report` renders `report.md` / `report.html`.

Source specs (`SourceSpec.parse`):
    linear                     the TF-IDF + linear SVM baseline (`--model linear`); added
                               by default as the row every pretrained source has to beat
    random                     the random-initialisation baseline
    PATH                       anything `vecgraft.load` reads (file, pretrain output folder,
                               GloVe .npy folder); a folder with a transformer checkpoint
                               (config.json + weights) is a transformer source in `input` mode
    hf:PATH[:MODE]             transformer checkpoint; MODE input (default), contextless, corpus
                               turn it into static vectors; MODE finetune trains the whole
                               checkpoint in each cell instead (model `hf`, its own defaults)
    NAME=SPEC                  any of the above shown as NAME

Example:
    >>> cfg = CompareConfig(train="train.csv", test="test.csv",
    ...                     sources=["random", "glove=glove.6B.50d.txt"],
    ...                     fractions=[0.05, 1.0], seeds=[0, 1, 2], out="runs/compare")
    >>> result = compare(cfg)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import os
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from vecgraft._util.console import Progress, is_terminal
from vecgraft.errors import ConfigError, DataError, MissingExtraError
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.transformer.encode import Mode as TransformerMode

__all__ = [
    "CellResult",
    "CompareConfig",
    "CompareResult",
    "SourceKind",
    "SourceSpec",
    "Summary",
    "cell_dir",
    "compare",
    "load_compare",
    "parse_seeds",
    "summarize",
]

TRANSFORMER_MODES = tuple(m.value for m in TransformerMode)
FINETUNE_MODE = "finetune"  # hf:PATH:finetune: the cell fine-tunes the checkpoint itself
INTRINSIC_SETS = ("wordsim353", "simlex999")
# FinetuneConfig fields that compare sets per cell, or that may differ between reruns
_CELL_FIELDS = ("train", "test", "vectors", "out", "seed", "train_fraction")
_RUNTIME_FIELDS = ("resume", "progress", "device", "compile", "plots")
_NAME = re.compile(r"^([A-Za-z0-9_.+-]+)=(.+)$")
_SAFE = re.compile(r"[^A-Za-z0-9_.+-]+")
_WEIGHTS = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json")


class SourceKind(StrEnum):
    """Where a source's vectors come from (`linear` needs none: it is the n-gram baseline)."""

    LINEAR = "linear"
    RANDOM = "random"
    VECTORS = "vectors"
    TRANSFORMER = "transformer"
    FINETUNE = "finetune"  # a transformer checkpoint fine-tuned whole (model hf)


@dataclass(frozen=True)
class SourceSpec:
    """One embedding source of a comparison.

    Attributes:
        name: display name, also the folder name under `cells/`.
        kind: random, a vector file/folder, or a transformer checkpoint.
        path: the file or folder (None for random).
        mode: transformer mode (input, contextless or corpus); None otherwise.
        spec: the text the user gave.
    """

    name: str
    kind: SourceKind
    path: str | None = None
    mode: str | None = None
    spec: str = ""

    @classmethod
    def parse(cls, spec: str) -> SourceSpec:
        """Parse `random`, `PATH`, `hf:PATH[:MODE]`, optionally prefixed by `NAME=`."""
        text = spec.strip()
        if not text:
            raise ConfigError(
                "empty source spec; expected random, PATH, hf:PATH[:MODE] or NAME=SPEC"
            )
        name: str | None = None
        match = _NAME.match(text)
        if match and not Path(text).exists():
            name, text = match.group(1), match.group(2)
        if text == "random":
            return cls(name or "random", SourceKind.RANDOM, spec=spec)
        if text == "linear":
            return cls(name or "linear", SourceKind.LINEAR, spec=spec)
        if text.startswith("hf:"):
            path, mode = text[3:], "input"
            head, sep, tail = path.rpartition(":")
            if sep and tail == FINETUNE_MODE:
                _require_checkpoint(head, spec)
                return cls(name or f"{_stem(head)}-finetune", SourceKind.FINETUNE, head, tail, spec)
            if sep and tail in TRANSFORMER_MODES:
                path, mode = head, tail
            elif sep and tail and not Path(path).exists():
                raise ConfigError(
                    f"source {spec!r}: unknown transformer mode {tail!r}; "
                    "transformer mode must be one of "
                    f"{', '.join((*TRANSFORMER_MODES, FINETUNE_MODE))}; got {tail!r}"
                )
            _require_checkpoint(path, spec)
            default = f"{_stem(path)}-{mode}"
            return cls(name or default, SourceKind.TRANSFORMER, path, mode, spec)
        p = Path(text)
        if not p.exists():
            raise ConfigError(
                f"source {spec!r}: no such file or folder {text!r} "
                "(expected random, PATH, hf:PATH[:MODE] or NAME=SPEC)"
            )
        if _is_checkpoint(p):
            return cls(name or f"{_stem(text)}-input", SourceKind.TRANSFORMER, text, "input", spec)
        return cls(name or _stem(text), SourceKind.VECTORS, text, spec=spec)

    @property
    def folder(self) -> str:
        """The name made safe for a folder."""
        return _SAFE.sub("_", self.name).strip("._") or "source"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        out = asdict(self)
        out["kind"] = self.kind.value
        return out


def _stem(path: str) -> str:
    p = Path(path.rstrip("/\\"))
    name = p.name
    for suffix in (".gz", ".bz2", ".xz", ".zst", ".txt", ".vec", ".bin", ".npy"):
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
    return name or "vectors"


def _is_checkpoint(path: Path) -> bool:
    """A transformer folder: config.json and model weights, but no native vectors file."""
    if not path.is_dir() or (path / "vectors.safetensors").exists():
        return False
    return (path / "config.json").exists() and any((path / w).exists() for w in _WEIGHTS)


def _require_checkpoint(path: str, spec: str) -> None:
    p = Path(path)
    if not p.is_dir() or not (p / "config.json").exists():
        raise ConfigError(
            f"source {spec!r}: {path!r} is not a transformer checkpoint folder "
            "(expected a folder with config.json and model weights)"
        )


def parse_seeds(value: str | int | Sequence[int]) -> list[int]:
    """`3` -> [0, 1, 2]; `"0,5,7"` -> [0, 5, 7]; a list is kept."""
    if isinstance(value, int):
        seeds = list(range(value))
    elif isinstance(value, str):
        text = value.strip()
        try:
            seeds = [int(x) for x in text.split(",")] if "," in text else list(range(int(text)))
        except ValueError:
            raise ConfigError(
                f"--seeds expects a count N or a list like 0,1,2; got {value!r}"
            ) from None
    else:
        seeds = [int(x) for x in value]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ConfigError(f"seeds must be a non-empty list of distinct integers, got {value!r}")
    return seeds


@dataclass
class CompareConfig:
    """Settings of a comparison.

    Attributes:
        train, test: the labelled task (fine-tuning data formats); test None splits train
            (with `split_seed` 0 unless `finetune` sets it, so every cell has the same test set).
        sources: source specs (see the module docstring).
        fractions: training fractions, each in (0, 1].
        seeds: seeds; every (source, fraction) is run once per seed.
        out: the comparison folder.
        finetune: FinetuneConfig fields shared by all cells (model, epochs, lower, ...).
        intrinsic: score each source on the similarity sets of its language (English:
            WordSim353 and SimLex-999; no built-in set scores Chinese similarity).
        linear: add the TF-IDF + linear SVM baseline as a source (the row to beat).
    """

    train: str
    sources: list[str]
    out: str
    test: str | None = None
    fractions: list[float] = field(default_factory=lambda: [1.0])
    seeds: list[int] = field(default_factory=lambda: [0])
    finetune: dict[str, Any] = field(default_factory=dict)
    intrinsic: bool = True
    linear: bool = True

    def __post_init__(self) -> None:
        if not self.sources:
            raise ConfigError("no sources to compare: pass --sources SPEC ...")
        bad = [f for f in self.fractions if not (0 < f <= 1)]
        if bad or not self.fractions:
            raise ConfigError(f"fractions must be in (0, 1], got {self.fractions}")
        if len(set(self.fractions)) != len(self.fractions):
            raise ConfigError(f"fractions must be distinct, got {self.fractions}")
        self.seeds = parse_seeds(self.seeds)
        clash = sorted(set(self.finetune) & set(_CELL_FIELDS))
        if clash:
            raise ConfigError(f"fine-tuning option(s) {clash} are set per cell by compare")

    def base_config(self) -> FinetuneConfig:
        """The FinetuneConfig every cell starts from (validated now, so errors come early)."""
        # without a test file every cell must still be scored on the same texts: one split
        # seed for all cells, whatever their training seed
        shared = {"split_seed": 0} if self.test is None else {}
        return FinetuneConfig.from_dict(
            {**shared, **self.finetune, "train": self.train, "test": self.test},
            source="compare fine-tuning options",
        )

    def finetune_config(self, hf_model: str) -> FinetuneConfig:
        """The config of a cell that fine-tunes checkpoint `hf_model` (model `hf`).

        Settings the comparison gives apply; the others are the `hf` family's defaults
        (a small learning rate, few epochs), not those of the static models.
        """
        shared = {"split_seed": 0} if self.test is None else {}
        return FinetuneConfig.from_dict(
            {
                **shared,
                **{k: v for k, v in self.finetune.items() if k != "model"},
                "model": "hf",
                "hf_model": hf_model,
                "train": self.train,
                "test": self.test,
            },
            source="compare fine-tuning options",
        )

    def specs(self) -> list[SourceSpec]:
        """Parsed sources; duplicate names are an error."""
        specs = [SourceSpec.parse(s) for s in self.sources]
        if self.linear and not any(s.kind is SourceKind.LINEAR for s in specs):
            specs.insert(0, SourceSpec.parse("linear"))
        seen: dict[str, str] = {}
        for s in specs:
            if s.folder in seen:
                raise ConfigError(
                    f"sources {seen[s.folder]!r} and {s.spec!r} have the same name {s.name!r}; "
                    "give one a name with NAME=SPEC"
                )
            seen[s.folder] = s.spec
        return specs

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


@dataclass
class CellResult:
    """One fine-tuning run of the grid."""

    source: str
    fraction: float
    seed: int
    run_dir: str
    accuracy: float
    macro_f1: float
    seconds: float
    reused: bool
    metrics: dict[str, Any] = field(repr=False, default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form without the full metrics (they stay in the run folder)."""
        out = asdict(self)
        out.pop("metrics")
        out["best_epoch"] = self.metrics.get("best_epoch")
        out["sizes"] = self.metrics.get("sizes")
        out["cell_coverage"] = self.metrics.get("coverage")
        return out


@dataclass
class Summary:
    """Mean, spread and range over seeds of one (source, fraction)."""

    source: str
    fraction: float
    n: int
    accuracy_mean: float
    accuracy_std: float
    accuracy_min: float
    accuracy_max: float
    macro_f1_mean: float
    macro_f1_std: float
    macro_f1_min: float
    macro_f1_max: float
    seconds_mean: float
    train_size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


def _spread(values: list[float]) -> float:
    """Sample standard deviation (ddof=1); 0.0 for a single value."""
    return statistics.stdev(values) if len(values) >= 2 else 0.0


def summarize(cells: Sequence[CellResult]) -> list[Summary]:
    """One Summary per (source, fraction), in the order cells first appear."""
    groups: dict[tuple[str, float], list[CellResult]] = {}
    for cell in cells:
        groups.setdefault((cell.source, cell.fraction), []).append(cell)
    out = []
    for (source, fraction), group in groups.items():
        acc = [c.accuracy for c in group]
        f1 = [c.macro_f1 for c in group]
        sizes = {(c.metrics.get("sizes") or {}).get("train") for c in group}
        out.append(
            Summary(
                source=source,
                fraction=fraction,
                n=len(group),
                accuracy_mean=statistics.fmean(acc),
                accuracy_std=_spread(acc),
                accuracy_min=min(acc),
                accuracy_max=max(acc),
                macro_f1_mean=statistics.fmean(f1),
                macro_f1_std=_spread(f1),
                macro_f1_min=min(f1),
                macro_f1_max=max(f1),
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
            "spread": "sample standard deviation over seeds (ddof=1); 0 with a single seed",
        }


# -- per-source preparation ----------------------------------------------------------------
def _training_vocab(base: FinetuneConfig) -> Any:
    """The vocabulary (with counts) of the full training data, tokenised as the cells do."""
    from vecgraft.finetune.data import read_labelled
    from vecgraft.text import build_vocab
    from vecgraft.text.tokenize import Tokenizer

    if base.train is None:
        raise ConfigError("no training data: pass --train PATH")
    data, _bad = read_labelled(
        base.train,
        text_column=base.text_column,
        label_column=base.label_column,
        encoding=base.encoding,
        errors=base.errors,
        bad_rows=base.bad_rows,
    )
    if not data.texts:
        raise DataError(f"{base.train}: no labelled rows")
    kind = base.tokenizer or "regex"
    tokenizer = Tokenizer(kind, lower=bool(base.lower), stopwords=base.stopwords)
    return build_vocab(data.texts, tokenizer, min_freq=base.min_freq), data.texts


def _transformer_vectors(
    spec: SourceSpec, vocab: Any, texts: list[str], folder: Path, device: str
) -> str:
    """Vectors of the task vocabulary from a transformer, saved once in native format."""
    from vecgraft.io import save

    target = folder / "sources" / spec.folder
    if (target / "vectors.safetensors").exists():
        return str(target)
    try:
        from vecgraft.transformer import from_transformer
    except ImportError as exc:
        raise MissingExtraError(
            f"source {spec.spec!r}: transformer sources need vecgraft.transformer and "
            f'`pip install "vecgraft[hf]"` ({exc})'
        ) from exc
    words = [t for t in vocab.tokens if t not in {vocab.pad_token, vocab.unk_token}]
    kwargs: dict[str, Any] = {"mode": spec.mode or "input"}
    if spec.mode == "corpus":
        kwargs["corpus"] = texts
    if device != "auto":
        kwargs["device"] = device
    vectors = from_transformer(spec.path, words, **kwargs)  # type: ignore[arg-type]
    target.mkdir(parents=True, exist_ok=True)
    save(vectors, target, "native")
    return str(target)


def vectors_language(words: Sequence[str], sample: int = 2000) -> str:
    """"zh" when over a third of the first `sample` words contain CJK characters, else "en".

    English similarity sets say nothing about Chinese vectors (and would only print notes
    that no pair was found), so a comparison scores each source in its own language.

    >>> vectors_language(["的", "是", "中国", "the"]), vectors_language(["the", "of", "中国"])
    ('zh', 'en')
    """
    head = list(words[:sample])
    cjk = sum(any("\u3400" <= ch <= "\u9fff" for ch in w) for w in head)
    return "zh" if head and cjk * 3 > len(head) else "en"


def _intrinsic(vectors: Any) -> dict[str, Any]:
    """Spearman on the built-in similarity sets, or a note saying why there is none."""
    from vecgraft.evaluate.intrinsic import word_similarity

    if vectors_language(vectors.words) != "en":
        return {"skipped": "Chinese vectors: the built-in similarity sets are English"}
    out: dict[str, Any] = {}
    for name in INTRINSIC_SETS:
        try:
            result = word_similarity(vectors, name)
        except (MissingExtraError, DataError, OSError) as exc:
            out[name] = {"error": str(exc).splitlines()[0]}
            continue
        except ValueError:  # scipy: fewer than 2 pairs in the vocabulary
            out[name] = {"error": "fewer than 2 pairs in the vocabulary"}
            continue
        out[name] = {
            "spearman": result.spearman,
            "pearson": result.pearson,
            "pairs": result.pairs,
            "oov_ratio": result.oov_ratio,
        }
    return out


def _prepare_source(
    spec: SourceSpec,
    vocab: Any,
    texts: list[str],
    folder: Path,
    *,
    intrinsic: bool,
    device: str,
) -> dict[str, Any]:
    """Vector path for the cells, coverage of the task vocabulary and intrinsic scores."""
    from vecgraft.align import align
    from vecgraft.io import load

    started = time.perf_counter()
    info: dict[str, Any] = {**spec.to_dict(), "vectors": "random"}
    if spec.kind in (SourceKind.RANDOM, SourceKind.LINEAR, SourceKind.FINETUNE):
        if spec.kind is SourceKind.FINETUNE:
            info["hf_model"] = str(Path(spec.path or "").resolve())
        info.update(coverage=None, intrinsic=None, seconds=time.perf_counter() - started)
        return info
    if spec.kind is SourceKind.TRANSFORMER:
        info["vectors"] = _transformer_vectors(spec, vocab, texts, folder, device)
    else:
        info["vectors"] = str(Path(spec.path or "").resolve())
    vectors = load(info["vectors"])
    info["size"] = [len(vectors), vectors.dim]
    _matrix, report = align(vocab, vectors)
    info["coverage"] = {
        "type_coverage": report.type_coverage,
        "token_coverage": report.token_coverage,
        "types": report.types,
        "types_matched": report.types_matched,
        "tokens": report.tokens,
        "tokens_matched": report.tokens_matched,
        "missing": [list(m) if isinstance(m, tuple) else m for m in report.missing[:10]],
    }
    info["intrinsic"] = _intrinsic(vectors) if intrinsic else None
    if spec.kind is SourceKind.TRANSFORMER and info["intrinsic"] is not None:
        info["intrinsic_note"] = "transformer vectors cover only the task vocabulary"
    info["seconds"] = time.perf_counter() - started
    return info


# -- cells ---------------------------------------------------------------------------------
def cell_dir(out: Path, source: str, fraction: float, seed: int) -> Path:
    """`OUT/cells/<source>/frac-<f>/seed-<s>`."""
    return out / "cells" / source / f"frac-{fraction:g}" / f"seed-{seed}"


def _comparable(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in (*_RUNTIME_FIELDS, "out", "max_steps")}


def _check_same_settings(run_dir: Path, wanted: FinetuneConfig) -> None:
    """A finished or half-finished cell must have been run with the same settings."""
    saved_path = run_dir / "config.json"
    if not saved_path.exists():
        return
    saved = _comparable(FinetuneConfig.load(saved_path).to_dict())
    now = _comparable(wanted.to_dict())
    diff = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
    if diff:
        details = ", ".join(f"{k}: {saved.get(k)!r} -> {now.get(k)!r}" for k in diff[:4])
        raise ConfigError(
            f"{run_dir}: this cell was run with other settings ({details}); "
            "use another --out or delete the folder"
        )


def _cell_from_metrics(
    source: str, fraction: float, seed: int, run_dir: Path, metrics: dict[str, Any], reused: bool
) -> CellResult:
    test = metrics.get("test") or {}
    try:
        accuracy, macro_f1 = float(test["accuracy"]), float(test["macro_f1"])
    except (KeyError, TypeError, ValueError):
        raise DataError(f"{run_dir / 'metrics.json'}: no test accuracy/macro_f1") from None
    return CellResult(
        source=source,
        fraction=fraction,
        seed=seed,
        run_dir=str(run_dir),
        accuracy=accuracy,
        macro_f1=macro_f1,
        seconds=float(metrics.get("seconds", math.nan)),
        reused=reused,
        metrics=metrics,
    )


def _read_metrics(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
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
    saved = FinetuneConfig.load(run_dir / "config.json")
    if Path(saved.out).resolve() != run_dir.resolve():
        saved.replace(out=str(run_dir)).save(run_dir / "config.json")


def run_cell(
    base: FinetuneConfig,
    source: dict[str, Any],
    fraction: float,
    seed: int,
    out: Path,
    log: Callable[[str], None],
) -> CellResult:
    """Run (or reuse, or resume) one fine-tuning cell."""
    from vecgraft.finetune.run import finetune

    run_dir = cell_dir(out, source["folder"], fraction, seed)
    config = base.replace(
        vectors=source["vectors"], train_fraction=fraction, seed=seed, out=str(run_dir)
    )
    if source["kind"] == SourceKind.LINEAR:
        config = config.replace(model="linear")
    _check_same_settings(run_dir, config)
    metrics_path = run_dir / "metrics.json"
    if metrics_path.exists():
        metrics = _read_metrics(metrics_path)
        return _cell_from_metrics(source["name"], fraction, seed, run_dir, metrics, True)
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
    result = finetune(config.replace(resume=resume), log=log, adopt=resume)
    return _cell_from_metrics(source["name"], fraction, seed, run_dir, result.metrics, False)


# -- driver --------------------------------------------------------------------------------
def _versions() -> dict[str, str]:
    import platform

    import torch

    from vecgraft._util.version import __version__

    return {
        "vecgraft": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def _prepared_source(
    spec: SourceSpec,
    vocab: Any,
    texts: list[str],
    out: Path,
    config: CompareConfig,
    base: FinetuneConfig,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Prepare one source and say its task coverage, the first hint of how it will do."""
    say(f"source {spec.name}: preparing")
    info = _prepare_source(spec, vocab, texts, out, intrinsic=config.intrinsic, device=base.device)
    info["folder"] = spec.folder
    cov = info.get("coverage")
    if cov:
        say(
            f"source {spec.name}: {cov['type_coverage']:.1%} of training types, "
            f"{(cov['token_coverage'] or 0):.1%} of tokens covered"
        )
    return info


def _run_grid(
    config: CompareConfig,
    base: FinetuneConfig,
    sources: list[dict[str, Any]],
    out: Path,
    say: Callable[[str], None],
    quiet: Callable[[str], None],
) -> list[CellResult]:
    """Run (or reuse) every (source, fraction, seed) cell in order, saying each result."""
    cells: list[CellResult] = []
    total = len(sources) * len(config.fractions) * len(config.seeds)
    # A cell can take minutes; off a terminal (no fine-tuning bars) say when each one starts.
    progress = Progress(total, "compare cell", enabled=base.progress is not False, bar=False)
    for source in sources:
        for fraction in config.fractions:
            for seed in config.seeds:
                if not is_terminal():
                    progress.begin(f"{source['name']} fraction {fraction:g} seed {seed}")
                cell_base = base
                if source["kind"] == SourceKind.FINETUNE.value:
                    cell_base = config.finetune_config(source["hf_model"])
                cell = run_cell(cell_base, source, fraction, seed, out, quiet)
                progress.count += 1
                cells.append(cell)
                state = "reused" if cell.reused else f"{cell.seconds:.1f} s"
                say(
                    f"[{len(cells)}/{total}] {source['name']} fraction {fraction:g} seed {seed}: "
                    f"accuracy {cell.accuracy:.4f}, macro F1 {cell.macro_f1:.4f} ({state})"
                )
    return cells


def _timings(
    started: float, sources: list[dict[str, Any]], cells: list[CellResult]
) -> dict[str, Any]:
    """Where the time went, so a rerun's cost (reused vs computed cells) is visible."""
    return {
        "total_seconds": time.perf_counter() - started,
        "cells_run": sum(not c.reused for c in cells),
        "cells_reused": sum(c.reused for c in cells),
        "cell_seconds_sum": sum(c.seconds for c in cells),
        "source_seconds": {s["name"]: s["seconds"] for s in sources},
    }


def compare(
    config: CompareConfig,
    *,
    log: Callable[[str], None] | None = None,
    run_log: Callable[[str], None] | None = None,
    report: bool = True,
) -> CompareResult:
    """Run every (source, fraction, seed) cell and write compare.json and the reports.

    Args:
        config: the comparison.
        log: progress lines of the comparison (default: print).
        run_log: lines of each fine-tuning run (default: dropped).
        report: also write report.md, report.html and the accuracy plot.

    Returns:
        CompareResult; its numbers are those of the cells' metrics.json files.
    """
    started = time.perf_counter()
    say = log or print
    quiet = run_log or (lambda _msg: None)
    base = config.base_config()
    specs = config.specs()
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)

    vocab, texts = _training_vocab(base)
    sources = [_prepared_source(spec, vocab, texts, out, config, base, say) for spec in specs]
    cells = _run_grid(config, base, sources, out, say, quiet)

    kept_sources, kept_cells = _earlier_cells(out, base, sources, cells)
    if kept_cells:
        say(f"compare: keeping {len(kept_cells)} finished cells of an earlier grid in {out}")
    sources += kept_sources
    cells += kept_cells
    settings = {
        "compare": config.to_dict(),
        "earlier_cells": len(kept_cells),
        "finetune": _comparable(base.to_dict()) | {"device": base.device},
        "versions": _versions(),
        "intrinsic_sets": list(INTRINSIC_SETS) if config.intrinsic else [],
    }
    timings = _timings(started, sources, cells)
    result = CompareResult(out, settings, sources, cells, summarize(cells), timings)
    from vecgraft._util.atomic import atomic_write_json

    atomic_write_json(out / "compare.json", result.to_dict())
    if report:
        from vecgraft.evaluate.report import write_reports

        write_reports(result.to_dict(), out)
    say(f"compare: {len(cells)} cells ({timings['cells_reused']} reused); report in {out}")
    return result


def _earlier_cells(
    out: Path, base: FinetuneConfig, sources: list[dict[str, Any]], cells: list[CellResult]
) -> tuple[list[dict[str, Any]], list[CellResult]]:
    """Finished cells of an earlier invocation into the same folder that this grid lacks.

    A rerun with another grid (more seeds, another fraction or source) must not drop the
    rows already computed: they are reported with the new ones when the fine-tuning settings
    are the same (else they are not comparable and stay out of the report).
    """
    try:
        old = load_compare(out)
    except DataError:
        return [], []
    if _comparable(old.get("settings", {}).get("finetune", {})) != _comparable(base.to_dict()):
        return [], []
    have = {(c.source, c.fraction, c.seed) for c in cells}
    kept: list[CellResult] = []
    for c in old.get("cells", []):
        key = (c["source"], float(c["fraction"]), int(c["seed"]))
        run_dir = Path(c["run_dir"])
        if key in have or not (run_dir / "metrics.json").exists():
            continue
        metrics = _read_metrics(run_dir / "metrics.json")
        kept.append(_cell_from_metrics(*key, run_dir, metrics, True))
    names = {s["name"] for s in sources}
    used = {c.source for c in kept}
    extra = [s for s in old.get("sources", []) if s["name"] not in names and s["name"] in used]
    return extra, kept


def load_compare(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The content of a compare.json (or of the compare.json inside a folder)."""
    p = Path(path)
    if p.is_dir():
        p = p / "compare.json"
    return _read_metrics(p)
