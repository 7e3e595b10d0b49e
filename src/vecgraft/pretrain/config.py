"""What `vecgraft pretrain` is asked to do: one dataclass shared by the CLI and the library."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from vecgraft.errors import ConfigError
from vecgraft.text.reader import ReadOptions


class Method(StrEnum):
    """Pretraining method: gensim's word2vec/fastText or vecgraft's PyTorch GloVe."""

    WORD2VEC = "word2vec"
    FASTTEXT = "fasttext"
    GLOVE = "glove"


# epochs when not given: gensim's default for its methods, glove.c's demo setting for GloVe
DEFAULT_EPOCHS = {Method.WORD2VEC: 5, Method.FASTTEXT: 5, Method.GLOVE: 25}
# initial learning rate when not given: gensim's `alpha`; for GloVe 0.2 rather than glove.c's
# `eta` 0.05, because our batched AdaGrad under-trains at 0.05 on corpora of ~1M tokens
# (WordSim353 rho 0.05 vs 0.27 with x_max 10 on head500 + BBC News; benchmarks/bench_pretrain.py)
DEFAULT_ALPHA = {Method.WORD2VEC: 0.025, Method.FASTTEXT: 0.025, Method.GLOVE: 0.2}


@dataclass
class PretrainConfig:
    """Options of a pretraining run; names and defaults follow gensim (and glove.c for GloVe).

    Attributes:
        method: word2vec, fasttext or glove.
        corpus: files, folders, globs (compressed files and CSV `text` columns too).
        out: output folder.
        dim: vector size (gensim's `vector_size`).
        window: maximum distance between a word and its context.
        min_count: ignore words rarer than this.
        epochs: passes over the corpus (None: 5 for gensim methods, 25 for GloVe).
        workers: CPU threads (gensim workers; torch threads for GloVe).
        seed: random seed; same seed and workers=1 give identical vectors.
        tokenizer: a `vecgraft.text.Tokenizer`, its `config` dict, or None for the default.
        one_per: "line" (one document per line) or "file".
        column: the text column of CSV/TSV/JSONL corpus files.
        encoding: the corpus files' encoding (default UTF-8).
        errors: undecodable bytes: "strict" (an error naming file and line), "replace" or
            "ignore" (repaired lines are counted in metadata.json).
        bad_rows: "skip" drops unusable table rows (recorded with their lines in
            metadata.json) or "error" stops at the first.
        sg, hs, negative, sample, min_alpha: gensim word2vec/fastText options.
        alpha: initial learning rate (None: 0.025 for gensim, 0.05 for GloVe).
        min_n, max_n, bucket: fastText character n-gram options.
        x_max, power: GloVe weighting f(x) = min(1, (x / x_max) ** power) (alpha in the paper).
        max_vocab: keep only the most frequent words (GloVe; gensim's max_final_vocab).
        max_memory: bytes of co-occurrence table kept in memory before spilling to disk.
        batch_size: GloVe entries per AdaGrad step.
        device: GloVe device (None: CUDA when available).
        cache_tokens: tokenize the corpus once and replay the tokens from a temporary file on
            later passes (gensim makes epochs + 1 passes); about the corpus size on disk.
        progress: progress bars (None: only on a terminal).
    """

    method: Method | str
    corpus: list[str]
    out: str
    dim: int = 100
    window: int = 5
    min_count: int = 5
    epochs: int | None = None
    workers: int = 3
    seed: int = 1
    tokenizer: Any = None
    one_per: str = "line"
    column: str = "text"
    encoding: str = "utf-8"
    errors: str = "strict"
    bad_rows: str = "skip"
    sg: int = 0
    hs: int = 0
    negative: int = 5
    sample: float = 1e-3
    alpha: float | None = None
    min_alpha: float = 0.0001
    min_n: int = 3
    max_n: int = 6
    bucket: int = 2_000_000
    x_max: float = 10.0  # glove.c demo.sh; the paper's 100 suits billion-token corpora
    power: float = 0.75
    max_vocab: int | None = None
    max_memory: int = 2**30
    batch_size: int = 16384
    device: str | None = None
    cache_tokens: bool = True
    progress: bool | None = None

    def __post_init__(self) -> None:
        try:
            self.method = Method(self.method)
        except ValueError:
            choices = ", ".join(m.value for m in Method)
            raise ConfigError(f"unknown method {self.method!r}; choose one of {choices}") from None
        if isinstance(self.corpus, str):
            self.corpus = [self.corpus]
        if not self.corpus:
            raise ConfigError("no corpus given: pass at least one file, folder or glob")
        for name in ("dim", "window", "min_count", "workers"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.epochs is not None and self.epochs < 1:
            raise ConfigError(f"epochs must be >= 1, got {self.epochs}")
        ReadOptions(encoding=self.encoding, errors=self.errors, bad_rows=self.bad_rows)  # type: ignore[arg-type]
        if self.min_n > self.max_n:
            raise ConfigError(f"min_n ({self.min_n}) must not exceed max_n ({self.max_n})")

    @property
    def method_enum(self) -> Method:
        """`method` as a Method (it is converted on construction)."""
        return Method(self.method)

    @property
    def resolved_epochs(self) -> int:
        """Epochs, with the method's default filled in."""
        return self.epochs if self.epochs is not None else DEFAULT_EPOCHS[self.method_enum]

    @property
    def resolved_alpha(self) -> float:
        """Initial learning rate, with the method's default filled in."""
        return self.alpha if self.alpha is not None else DEFAULT_ALPHA[self.method_enum]

    def options(self) -> dict[str, Any]:
        """The options that matter for `method`, JSON-able, for metadata.json."""
        data = asdict(self)
        data["method"] = self.method_enum.value
        data["epochs"] = self.resolved_epochs
        data["alpha"] = self.resolved_alpha
        for key in ("tokenizer", "corpus", "out", "progress", "cache_tokens"):
            data.pop(key)
        gensim_only = ("sg", "hs", "negative", "sample", "min_alpha")
        fasttext_only = ("min_n", "max_n", "bucket")
        glove_only = ("x_max", "power", "max_memory", "batch_size", "device")
        drop: tuple[str, ...] = ()
        if self.method_enum is Method.GLOVE:
            drop = gensim_only + fasttext_only
        elif self.method_enum is Method.WORD2VEC:
            drop = fasttext_only + glove_only
        else:
            drop = glove_only
        for key in drop:
            data.pop(key)
        return data
