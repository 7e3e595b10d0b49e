"""What `compare` is asked to run: source specs, seeds and `CompareConfig`.

Split out of `vecgraft.evaluate.compare`, which re-exports these names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from vecgraft._util.hf_spec import FINETUNE_MODE as FINETUNE_MODE
from vecgraft._util.hf_spec import HF_PREFIX, split_hf_mode
from vecgraft._util.hf_spec import TRANSFORMER_MODES as TRANSFORMER_MODES
from vecgraft.errors import ConfigError, Opt, OptionError
from vecgraft.evaluate._vectors_encoding import vectors_codec
from vecgraft.finetune.config import FinetuneConfig

# hf:PATH with no mode (and a checkpoint folder as PATH): the vectors `finetune --vectors
# hf:PATH` derives (`vecgraft.transformer.CLASSIFIER_VECTORS`), so that the source compared
# is the one trained; before, it meant `input` (`SourceSpec.legacy_input`)
CLASSIFIER_MODE = "classifier"
INTRINSIC_SETS = ("wordsim353", "simlex999")
# FinetuneConfig fields that compare sets per cell, or that may differ between reruns
_CELL_FIELDS = ("train", "test", "vectors", "out", "seed", "train_fraction")
_RUNTIME_FIELDS = ("resume", "progress", "device", "compile", "plots")
# NAME=SPEC: NAME is letters and digits of any script (`随机=random`) and _ . + -
_NAME = re.compile(r"^([^=]+)=(.+)$")
_NAME_PUNCTUATION = "_.+-"
NAME_CHARS = "letters, digits (any script) and _ . + -"
_SAFE = re.compile(r"[^A-Za-z0-9_.+-]+")
# names Windows keeps for devices, whatever follows their first dot ("nul.txt" too)
_RESERVED = frozenset(
    ["con", "prn", "aux", "nul", *(f"{p}{i}" for p in ("com", "lpt") for i in range(1, 10))]
)
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
        mode: transformer mode (input, contextless or corpus), or `CLASSIFIER_MODE` for
            finetune's recipe (no mode given); None otherwise.
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
            if not is_source_name(match.group(1)):
                raise ConfigError(
                    f"source {spec!r}: no such file or folder {text!r}, and "
                    f"{match.group(1)!r} is not a NAME for NAME=SPEC ({NAME_CHARS} only)"
                )
            name, text = match.group(1), match.group(2)
        if text == "random":
            return cls(name or "random", SourceKind.RANDOM, spec=spec)
        if text == "linear":
            return cls(name or "linear", SourceKind.LINEAR, spec=spec)
        if text.startswith(HF_PREFIX):
            path, given = split_hf_mode(text[len(HF_PREFIX) :])
            if given == FINETUNE_MODE:
                _require_checkpoint(path, spec)
                default = f"{_stem(path)}-finetune"
                return cls(name or default, SourceKind.FINETUNE, path, given, spec)
            mode = given or CLASSIFIER_MODE
            _, sep, tail = path.rpartition(":")
            if given is None and sep and tail and not Path(path).exists():
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
        if _is_checkpoint(p):  # as hf:PATH
            default = f"{_stem(text)}-{CLASSIFIER_MODE}"
            return cls(name or default, SourceKind.TRANSFORMER, text, CLASSIFIER_MODE, spec)
        return cls(name or _stem(text), SourceKind.VECTORS, text, spec=spec)

    def legacy_input(self) -> SourceSpec | None:
        """The source as an earlier release read it: `input` mode, named as it named it.

        For a transformer source written without a mode (`hf:PATH`, a checkpoint folder),
        which meant `input` before it meant finetune's recipe; None for any other source.
        """
        if self.kind is not SourceKind.TRANSFORMER or self.mode != CLASSIFIER_MODE:
            return None
        text = self.spec.strip()
        named = _NAME.match(text) is not None and not Path(text).exists()
        return replace(self, name=self.name if named else f"{_stem(str(self.path))}-input",
                       mode="input")  # fmt: skip

    @property
    def folder(self) -> str:
        """The name made safe for a folder under `cells/` and `sources/`, one per name.

        An ASCII name keeps the folder it always had (finished cells are found again); any
        other gets its ASCII part (or "source") and a hash of the name: `词向量` and `字向量`
        both became "source" and collided. A name Windows keeps for a device (`nul`,
        `com1.v2`) gets "_" after its first part, on every system, so a comparison folder
        can be copied there: Windows could not make `cells/nul`.
        """
        slug = _SAFE.sub("_", self.name).strip("._")
        if self.name.isascii():
            return _not_reserved(slug) or "source"
        import hashlib

        digest = hashlib.sha256(self.name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        return f"{slug.strip('-') or 'source'}-{digest}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        out = asdict(self)
        out["kind"] = self.kind.value
        return out


def _not_reserved(slug: str) -> str:
    """`slug`, with "_" after its first part where Windows keeps that part for a device."""
    first, dot, rest = slug.partition(".")
    return f"{first}_{dot}{rest}" if first.casefold() in _RESERVED else slug


def is_source_name(name: str) -> bool:
    """Whether `name` may be a source's NAME in NAME=SPEC.

    >>> is_source_name("随机"), is_source_name("glove-6B.50d"), is_source_name("a/b")
    (True, True, False)
    """
    return bool(name) and all(ch.isalnum() or ch in _NAME_PUNCTUATION for ch in name)


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
    """`3` -> [0, 1, 2]; `"0,5,7"` -> [0, 5, 7]; `"5,"` -> [5]; a list is kept."""
    if isinstance(value, int):
        seeds = list(range(value))
    elif isinstance(value, str):
        text = value.strip()
        try:
            seeds = (
                [int(x) for x in text.split(",") if x.strip()] if "," in text
                else list(range(int(text)))
            )  # fmt: skip
        except ValueError:
            raise ConfigError(
                f"--seeds expects a count N or a list like 0,1,2; got {value!r}"
            ) from None
    else:
        seeds = [int(x) for x in value]
    if not seeds and not isinstance(value, list | tuple) and "," not in str(value):
        raise ConfigError(
            f"--seeds {value}: a count of no seeds; give a count N >= 1 (seeds 0..N-1) or a "
            "list (seed 5 alone: --seeds 5,)"
        )
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
        vectors_encoding: how the sources that are fastText .bin files store their words
            (e.g. "cp852"), as `vecgraft.load(encoding=)` reads them; the other formats are
            read as UTF-8. Each such source's cells read it so (a rerun in another encoding
            is refused, not reused); None: UTF-8.
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
    vectors_encoding: str | None = None

    def __post_init__(self) -> None:
        self.vectors_encoding = vectors_codec(self.vectors_encoding)
        if not self.sources:
            raise ConfigError("no sources to compare: pass --sources SPEC ...")
        bad = [f for f in self.fractions if not (0 < f <= 1)]
        if bad or not self.fractions:
            raise OptionError.out_of_range("fractions", "in (0, 1]", self.fractions)
        if len(set(self.fractions)) != len(self.fractions):
            raise ConfigError(f"fractions must be distinct, got {self.fractions}")
        self.seeds = parse_seeds(self.seeds)
        clash = sorted(set(self.finetune) & set(_CELL_FIELDS))
        if clash:
            raise ConfigError(f"fine-tuning option(s) {clash} are set per cell by compare")
        if str(self.finetune.get("model", "")) == "linear":  # every row would be the same
            raise ConfigError(
                "model 'linear' reads TF-IDF features, not the sources' vectors, so every "
                "source would score alike; the linear model is a row of every comparison "
                "already: compare the sources with an embedding model (the default cnn, boe, ...)"
            )

    def base_config(self) -> FinetuneConfig:
        """The FinetuneConfig every cell starts from (validated now, so errors come early)."""
        # without a test file every cell must still be scored on the same texts: one split
        # seed for all cells, whatever their training seed
        shared: dict[str, Any] = {"split_seed": 0} if self.test is None else {}
        # sources are ranked by what their vectors give the network: a linear share in
        # every cell would dilute the differences (the linear row is its own source)
        shared["fuse_linear"] = False
        asked = sorted(k for k in ("fuse_rule", "fuse_weight", "fuse_pool", "fuse_folds")
                       if k in self.finetune)  # fmt: skip
        if asked and "fuse_linear" not in self.finetune:  # a fusion setting no cell would use
            raise OptionError(
                "compare's network rows are not fused with the linear model unless {} is "
                f"set; {', '.join(asked)} would change nothing", Opt("fuse_linear", "True", "true")
            )
        base = FinetuneConfig.from_dict(
            {**shared, **self.finetune, "train": self.train, "test": self.test},
            source="compare fine-tuning options",
        )
        _check_network_options(base)
        return base

    def finetune_config(self, hf_model: str) -> FinetuneConfig:
        """The config of a cell that fine-tunes checkpoint `hf_model` (model `hf`).

        Settings the comparison gives apply; the others are the `hf` family's defaults
        (a small learning rate, few epochs), not those of the static models. Not a
        `user_dict` with no `tokenizer` named (`hf_skips_user_dict`): the row reads its
        checkpoint's own subword tokenizer, and `hf`'s regex default refused the
        dictionary after the other rows' cells had run.
        """
        shared = {"split_seed": 0} if self.test is None else {}
        dropped = {"model", "user_dict"} if self.hf_skips_user_dict() else {"model"}
        return FinetuneConfig.from_dict(
            {
                **shared,
                **{k: v for k, v in self.finetune.items() if k not in dropped},
                "model": "hf",
                "hf_model": hf_model,
                "train": self.train,
                "test": self.test,
            },
            source="compare fine-tuning options",
        )

    def hf_skips_user_dict(self) -> bool:
        """Whether the fine-tuned transformer rows go without the `user_dict` given.

        So when no `tokenizer` is named: the dictionary then means jieba for the other
        rows only (a checkpoint's subword tokenizer has no use for it).
        """
        return self.finetune.get("user_dict") is not None and self.finetune.get("tokenizer") is None

    def specs(self) -> list[SourceSpec]:
        """Parsed sources; duplicate names are an error.

        Folder names that differ only in case (`GloVe`, `glove`) are duplicates too: on a
        case-insensitive file system (Windows, macOS) they are one folder, and the second
        cell found the first one's files mid-run.
        """
        specs = [SourceSpec.parse(s) for s in self.sources]
        if self.linear and not any(s.kind is SourceKind.LINEAR for s in specs):
            specs.insert(0, SourceSpec.parse("linear"))
        seen: dict[str, SourceSpec] = {}
        for s in specs:
            key = s.folder.casefold()
            if key in seen:
                other = seen[key]
                raise ConfigError(
                    f"sources {other.spec!r} and {s.spec!r} have {_sameness(other, s)}; give "
                    f"one another name with NAME=SPEC (NAME: {NAME_CHARS})"
                )
            seen[key] = s
        return specs

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


def _check_network_options(base: FinetuneConfig) -> None:
    """Refuse model_options the network rows' model does not take, before any cell runs.

    Found only by the first network cell, the linear row (which keeps its reference
    settings, never the model_options) had been trained first; a LinearConfig field
    (`C`) was taken for the linear row's and silently left at its default there.
    """
    from dataclasses import fields

    from vecgraft.finetune.linear import LinearConfig
    from vecgraft.nn.models import check_model_options, model_option_names

    unknown = set(base.model_options) - set(model_option_names(base.model) or base.model_options)
    hint = ""
    if unknown & ({f.name for f in fields(LinearConfig)} - {"extra"}):
        hint = ("; compare's linear row keeps its reference settings (model_options are the "
                "network's)")  # fmt: skip
    check_model_options(base.model, base.model_options, hint)


def _sameness(first: SourceSpec, second: SourceSpec) -> str:
    """What two sources' names share that makes them one folder (`specs`' error)."""
    if first.name == second.name:
        return f"the same name {second.name!r}"
    if first.folder == second.folder:
        return (f"names ({first.name!r}, {second.name!r}) with the same folder name "
                f"{second.folder!r}")  # fmt: skip
    return (f"folder names ({first.folder!r}, {second.folder!r}) that differ only in case, one "
            "folder on a case-insensitive file system (Windows, macOS)")  # fmt: skip
