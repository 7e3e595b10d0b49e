"""What `vecgraft pretrain` is asked to do: one dataclass shared by the CLI and the library."""

from __future__ import annotations

import os
import warnings
from dataclasses import InitVar, asdict, dataclass, field
from enum import StrEnum
from typing import Any

from vecgraft._util.options import lookup_enum, misfit, parse_enum, plain_number
from vecgraft.errors import ConfigError, Given, Opt, OptionError
from vecgraft.text.corpus import OnePer
from vecgraft.text.reader import ReadOptions


class Method(StrEnum):
    """Pretraining method: gensim's word2vec/fastText or vecgraft's PyTorch GloVe."""

    WORD2VEC = "word2vec"
    FASTTEXT = "fasttext"
    GLOVE = "glove"


# the options only some methods read, and those methods: the others leave them unused, so
# their metadata drops them and the CLI warns of one set for another method (one list)
_GENSIM = (Method.WORD2VEC, Method.FASTTEXT)
METHOD_FIELDS: dict[str, tuple[Method, ...]] = {
    "sg": _GENSIM, "hs": _GENSIM, "negative": _GENSIM, "sample": _GENSIM,
    "min_alpha": _GENSIM, "min_n": (Method.FASTTEXT,), "max_n": (Method.FASTTEXT,),
    "bucket": (Method.FASTTEXT,), "x_max": (Method.GLOVE,), "power": (Method.GLOVE,),
    "batch_size": (Method.GLOVE,), "max_memory": (Method.GLOVE,), "device": (Method.GLOVE,),
}  # fmt: skip

# epochs when not given: gensim's default for its methods, glove.c's default (25) for GloVe
DEFAULT_EPOCHS = {Method.WORD2VEC: 5, Method.FASTTEXT: 5, Method.GLOVE: 25}
# initial learning rate when not given: gensim's `alpha`; for GloVe 0.2 rather than glove.c's
# `eta` 0.05, chosen together with x_max 10 (benchmarks/bench_pretrain.py: WordSim353 rho 0.27
# at x_max 10, lr 0.2 vs 0.05 at x_max 100, lr 0.05 on head500 + BBC News). That pair changes
# both settings: the collapse is x_max 100's at lr 0.05 (a C copy of glove.c's update collapses
# too); at x_max 10, lr 0.05 scores as well as 0.2 (docs/concepts.md)
DEFAULT_LEARNING_RATE = {Method.WORD2VEC: 0.025, Method.FASTTEXT: 0.025, Method.GLOVE: 0.2}
# window when not given: gensim's 5 for its methods; 15 for GloVe, glove.c's cooccur.c default
# and demo.sh setting, which beat 5 on English and Chinese intrinsic sets
# (benchmarks/glove_window.md)
DEFAULT_WINDOW = {Method.WORD2VEC: 5, Method.FASTTEXT: 5, Method.GLOVE: 15}
# word2vec on jieba words with no zh_mode given: below this many words in the corpus, words
# + characters (`zh_mode="word+char"`). On ChnSentiCorp and shopping10 subsets of 21k-85k
# words, word2vec and the network on words + characters beat words alone by 0.9-1.0 points
# (5-6 of 6 training-data splits each); at 203k words +0.3 (4 of 6), so words stay there
# (benchmarks/defaults.md rounds 45 and 47)
ZH_WORDCHAR_BELOW = 100_000


def default_workers() -> int:
    """CPU threads a run uses when not told: the cores this process may run on.

    gensim's own default is 3 threads, which oversubscribes a 2-core machine; we use every
    core the process is allowed (`os.sched_getaffinity`, else `os.cpu_count()`), at least 1.
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS and Windows have no sched_getaffinity
        return max(1, os.cpu_count() or 1)


# why `seed=None` is refused: gensim would draw its own seed, GloVe failed in torch
_SEED_NONE = "every run is seeded, so that it can be repeated: None is not a seed"
# the numbers and flags `_check_types` checks (the others are parsed or read as paths)
_TYPED_FIELDS = (
    "dim", "window", "min_count", "epochs", "workers", "seed", "sg", "hs", "negative",
    "sample", "learning_rate", "min_alpha", "min_n", "max_n", "bucket", "x_max", "power",
    "max_vocab", "max_memory", "batch_size", "cache_tokens", "progress",
)  # fmt: skip


@dataclass
class PretrainConfig:
    """Options of a pretraining run; names and defaults follow gensim (and glove.c for GloVe).

    Attributes:
        method: word2vec, fasttext or glove.
        corpus: files, folders, globs (compressed files and CSV `text` columns too).
        out: output folder.
        dim: vector size (gensim's `vector_size`).
        window: maximum distance between a word and its context (None: 5 for gensim's
            methods, 15 for GloVe; metadata.json records the number used).
        min_count: ignore words rarer than this.
        epochs: passes over the corpus (None: 5 for gensim methods, 25 for GloVe).
        workers: CPU threads (gensim workers; torch threads for GloVe); default: the cores
            this process may use (`default_workers`), not gensim's fixed 3.
        seed: random seed; same seed and workers=1 give identical vectors (GloVe on CUDA:
            only to float rounding, its updates are summed in a nondeterministic order).
        tokenizer: a `vecgraft.text.Tokenizer`, its `config` dict, or None for the default:
            jieba on a Chinese corpus (its first texts, `chinese_sample`; recorded as
            metadata.json's `tokenizer_chosen`, which the CLI prints) when jieba is
            installed, else regex (recorded as `jieba_not_installed`). A dict without
            `kind` leaves the kind to the same rule (the CLI without --tokenizer); its
            `zh_mode` other than "word" is refused when the corpus gets regex.
            A dict of the jieba kind without `zh_mode` (the CLI's `--tokenizer jieba`
            without `--zh-mode`) lets word2vec choose: words + characters on a corpus of
            fewer than `ZH_WORDCHAR_BELOW` (100,000) words, else words; metadata.json
            records the choice, and finetune reads it from there. A Tokenizer is used as is.
        one_per: "line" (one document per line) or "file".
        column: the text column of CSV/TSV/JSONL corpus files.
        encoding: the corpus files' encoding (default UTF-8).
        errors: undecodable bytes: "strict" (an error naming file and line), "replace" or
            "ignore" (repaired lines are counted in metadata.json).
        bad_rows: "skip" drops unusable table rows (recorded with their lines in
            metadata.json) or "error" stops at the first.
        sg, hs, negative, sample, min_alpha: gensim word2vec/fastText options.
        learning_rate: initial learning rate (None: 0.025 for gensim's methods, as gensim's
            `alpha`; 0.2 for GloVe). Named so because GloVe's `alpha` is the weighting
            exponent (`power` here); the CLI accepts `--learning-rate`, `--lr` and `--alpha`.
        alpha: deprecated keyword for `learning_rate` (a DeprecationWarning says so).
        min_n, max_n, bucket: fastText character n-gram options.
        x_max, power: GloVe weighting f(x) = min(1, (x / x_max) ** power) (alpha in the paper).
        max_vocab: keep only the most frequent words: GloVe exactly this many; word2vec and
            fastText through gensim's max_final_vocab, which drops every word tied with the
            cut-off count, so fewer may remain (kept as gensim does, for parity).
        max_memory: bytes of co-occurrence table kept in memory before spilling to disk.
        batch_size: GloVe entries per AdaGrad step.
        device: GloVe device (None: CUDA when available).
        cache_tokens: tokenize the corpus once and replay the tokens from a temporary file on
            later passes (gensim makes epochs + 1 passes); about the corpus size on disk.
        progress: progress output (None: a bar on a terminal or in a notebook, one line per
            epoch when stderr is a file or pipe, and for the first pass, which reads and
            tokenizes the corpus, a line every 30 s; False: none).
    """

    method: Method | str
    corpus: list[str]
    out: str
    dim: int = 100
    window: int | None = None
    min_count: int = 5
    epochs: int | None = None
    workers: int = field(default_factory=default_workers)
    seed: int = 1
    tokenizer: Any = None
    one_per: OnePer | str = OnePer.LINE
    column: str = "text"
    encoding: str = "utf-8"
    errors: str = "strict"
    bad_rows: str = "skip"
    sg: int = 0
    hs: int = 0
    negative: int = 5
    sample: float = 1e-3
    learning_rate: float | None = None
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
    alpha: InitVar[float | None] = None

    def __post_init__(self, alpha: float | None) -> None:
        if alpha is not None:
            warnings.warn(
                "PretrainConfig(alpha=) is deprecated: pass learning_rate= (GloVe's alpha is "
                "the weighting exponent, `power`)",
                DeprecationWarning,
                stacklevel=3,
            )
            if self.learning_rate is None:
                self.learning_rate = alpha
        self.method = parse_enum(Method, self.method, "method")
        self.one_per = parse_enum(OnePer, self.one_per, "one_per")
        if isinstance(self.corpus, str):
            self.corpus = [self.corpus]
        if not self.corpus:
            raise ConfigError("no corpus given: pass at least one file, folder or glob")
        if any(isinstance(s, (str, os.PathLike)) and os.fspath(s) == "-" for s in self.corpus):
            raise ConfigError(
                "the corpus cannot be read from standard input ('-'): pretraining reads it "
                "more than once (vocabulary, then each epoch); save it to a file first"
            )
        self._check_types()
        for name in ("dim", "min_count", "workers"):
            if getattr(self, name) < 1:
                raise OptionError.out_of_range(name, ">= 1", getattr(self, name))
        if self.window is not None and self.window < 1:
            raise OptionError.out_of_range("window", ">= 1", self.window)
        if self.epochs is not None and self.epochs < 1:
            raise OptionError.out_of_range("epochs", ">= 1", self.epochs)
        ReadOptions(encoding=self.encoding, errors=self.errors, bad_rows=self.bad_rows)  # type: ignore[arg-type]
        if self.min_n > self.max_n:
            raise OptionError(
                "{} ({}) must not exceed {} ({})",
                *(Opt("min_n"), Given("min_n", self.min_n)),
                *(Opt("max_n"), Given("max_n", self.max_n)),
            )
        self._check_method_options()

    def _check_types(self) -> None:
        """Refuse a number or flag of the wrong kind, as `FinetuneConfig` does.

        Why: `dim="10"` said "'<' not supported between 'str' and 'int'". numpy's numbers
        are taken and kept as Python's (`plain_number`): `workers=np.int64(2)` trained
        before the check, and metadata.json cannot hold them. `seed=None` is refused: the
        field is an integer, and GloVe's `manual_seed(None)` failed after the corpus passes.
        """
        import typing

        hints = typing.get_type_hints(PretrainConfig)
        for name in _TYPED_FIELDS:
            value = getattr(self, name)
            expected = misfit(value, hints[name])
            if expected is not None:
                note = _SEED_NONE if name == "seed" and value is None else ""
                raise OptionError.out_of_range(name, expected, repr(value), note=note)
            setattr(self, name, plain_number(value))

    def _check_method_options(self) -> None:
        """Refuse values that cannot train now, not after the corpus passes.

        GloVe checked its options only after counting co-occurrences; gensim took a negative
        `sample` or a zero learning rate and trained nothing, and hs=0 with negative=0
        ended in a traceback.
        """
        if self.learning_rate is not None and not self.learning_rate > 0:
            raise OptionError.out_of_range("learning_rate", "> 0", self.learning_rate)
        if self.max_vocab is not None and self.max_vocab < 1:
            raise OptionError.out_of_range(
                "max_vocab", ">= 1", self.max_vocab, note="or None: no limit"
            )
        glove = self.method_enum is Method.GLOVE
        # (names, rule, test): GloVe's options, or gensim's for word2vec/fastText
        gensim = ("negative", "sample", "min_alpha", "bucket")
        rules = [
            (("x_max", "power") if glove else (), "> 0", lambda v: v > 0),
            (("batch_size", "max_memory") if glove else (), ">= 1", lambda v: v >= 1),
            (() if glove else gensim, ">= 0", lambda v: v >= 0),
        ]
        for names, rule, test in rules:
            for name in names:
                if not test(getattr(self, name)):
                    raise OptionError.out_of_range(name, rule, getattr(self, name))
        if not glove and self.hs == 0 and self.negative == 0:
            raise OptionError(
                "{} and {} leave word2vec/fastText nothing to train: "
                "use negative sampling ({}) or hierarchical softmax ({})",
                *(Opt("hs", "0", "0"), Opt("negative", "0", "0")),
                *(Opt("negative", "5", "5"), Opt("hs", "1", "1")),
            )

    @property
    def method_enum(self) -> Method:
        """`method` as a Method (it is converted on construction)."""
        return lookup_enum(Method, self.method)

    @property
    def ngram_table_bytes(self) -> int:
        """Bytes of fastText's n-gram table (`bucket` x `dim` float32); 0 for other methods.

        It dominates a fastText output whatever the corpus size (800 MB at the default
        2,000,000 buckets x 100 dims) and is held in memory while training.
        """
        return self.bucket * self.dim * 4 if self.method_enum is Method.FASTTEXT else 0

    @property
    def resolved_epochs(self) -> int:
        """Epochs, with the method's default filled in."""
        return self.epochs if self.epochs is not None else DEFAULT_EPOCHS[self.method_enum]

    @property
    def resolved_window(self) -> int:
        """Window, with the method's default filled in."""
        return self.window if self.window is not None else DEFAULT_WINDOW[self.method_enum]

    @property
    def resolved_learning_rate(self) -> float:
        """Initial learning rate, with the method's default filled in."""
        if self.learning_rate is not None:
            return self.learning_rate
        return DEFAULT_LEARNING_RATE[self.method_enum]

    def options(self) -> dict[str, Any]:
        """The options that matter for `method`, JSON-able, for metadata.json."""
        data = asdict(self)
        data["method"] = self.method_enum.value
        data["epochs"] = self.resolved_epochs
        data["window"] = self.resolved_window
        data["learning_rate"] = self.resolved_learning_rate
        for key in ("tokenizer", "corpus", "out", "progress", "cache_tokens"):
            data.pop(key)
        for key, methods in METHOD_FIELDS.items():
            if self.method_enum not in methods:
                data.pop(key)
        return data
