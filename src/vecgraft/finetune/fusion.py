"""Late fusion of a trained network with the TF-IDF linear model (`fuse_linear`).

Why: on held-out training data the linear model beat every static-vector network on long
documents and on some sentence sets, while the network won on others; averaging the two
models' class probabilities, with the network's weight chosen on the run's own validation
split, never fell below the linear model there and gained about one point on MR, SST-2 and
TREC (`benchmarks/defaults.md`, round 8). A weight of 0 is the linear model alone, 1 the
network alone, so the validation split decides which one a dataset needs.

A regression (`--task regression`) fuses the same way: the network's predicted number with
the TF-IDF ridge regression's, the weight chosen by validation mean squared error. On SST-5's
dev split the default network alone trailed the ridge model (`benchmarks/sst5.py`).

How a classifier's two models are combined (`fuse_rule`): by default a log-linear pool,
softmax(a * log p_network + b * log p_linear), with a, b >= 0 fitted by log-loss on the
validation rows (two weights of a logistic regression on the models' log-probabilities, a
convex fit: no grid and no ties). It both calibrates the two models, whose probabilities
differ in sharpness (the SVM's softmax is flat beside the network's, so in a plain mix any
network share of 1/4 or more let the network decide), and weighs them. Replayed on held-out
training data it beat the accuracy-chosen share by 0.27 points over 72 splits of six sets,
ahead on 48, behind on 17, every set's mean ahead (`benchmarks/defaults.md`, round 26).
`fuse_rule="mix"` keeps the weighted mean of probabilities with the network's share chosen
from `WEIGHTS`; a fixed `fuse_weight`, fewer than `min_valid` rows to fit on, and a
regression (numbers) use it.

The fitted linear model and the weights live in the run folder's `fusion/` (safetensors +
JSON, no pickle); `load_run` applies them.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vecgraft._util.atomic import atomic_directory, folder_or_old_twin
from vecgraft._util.jsonfile import RECORD_LIMIT, VOCAB_LIMIT, read_json_file
from vecgraft.errors import CheckpointError, ConfigError
from vecgraft.finetune.config import POOL_MAX, FinetuneConfig, pool_in_range
from vecgraft.finetune.linear import LINEAR_META, FitProgress, LinearConfig, LinearModel
from vecgraft.finetune.scoring import EvalResult, RegressionResult

FUSION_DIR = "fusion"
FUSION_META = "fusion.json"
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)  # the network's share of the probability
# the default fuses while labels x the linear model's training characters stay under this:
# it keeps a coefficient row per label over its n-gram features (a few per character at most,
# far fewer as n-grams repeat) and fits one binary model per label, so the product bounds
# both its memory and its time. 210 labels of 1,680 short texts (2e7) fitted in 35 s and
# gained 13 points over the network alone; a label count alone (200 before) left that set
# unfused. fuse_linear=True fuses past it.
MAX_DEFAULT_LABEL_CHARS = 200_000_000


def too_large_to_fuse(
    labels: int, texts: Sequence[str], max_rows: int | None, max_chars: int | None = None
) -> str | None:
    """Why the default leaves a run unfused for its size, or None where it fuses.

    The characters counted are those the linear model fits on: `max_rows` samples larger
    training sets (`LinearConfig.max_rows`), in proportion, and `max_chars` cuts long texts.
    """
    from vecgraft.finetune.linear import fit_rows

    cut = max_chars if max_chars is not None else max((len(t) for t in texts), default=0)
    read = sum(min(len(t), cut) for t in texts)
    chars = read * fit_rows(len(texts), max_rows) / max(len(texts), 1)
    rows = 1 if labels <= 2 else labels  # two labels: one binary model, one row
    if rows * chars <= MAX_DEFAULT_LABEL_CHARS:
        return None
    return (f"{labels} labels x {chars:,.0f} training characters is more than "
            f"{MAX_DEFAULT_LABEL_CHARS:,} (the linear model's size and time grow with both; "
            "--fuse-linear fuses anyway)")


# a tokenizer kind, or the network's whole tokenizer config (its `Tokenizer.config`)
TokenizerArg = str | Mapping[str, Any] | None
# scikit-learn's class_weight of the linear half: "balanced" or {label id as str: weight}
ClassWeight = str | dict[str, float] | None
# `LinearConfig` settings over the reference ones (`started_linear_options`)
Options = Mapping[str, Any] | None
# the linear half's options a resumed run keeps as it started (`started_linear_options`)
STARTED_OPTIONS = ("nfc", "word_marks")


def linear_settings(
    tokenizer: TokenizerArg, regression: bool = False, options: Options = None
) -> LinearConfig:
    """The linear baseline's reference settings for the network's tokenizer and task.

    A regression gets ridge regression, as `--model linear --task regression` does. Given
    the network's tokenizer config, jieba words are segmented as the network's are: with
    its user dictionary (`--user-dict`, or the vectors') and its HMM switch, which the
    linear half left out before; and every text is normalised as the network's tokenizer
    does it (`text_normalization`: `--simplified`, `--halfwidth`, the vectors' NFKC ...).
    It is `linear_config` with no `--model-option`, so the two halves cannot drift apart.
    `options` are settings a resumed run started with (`started_linear_options`).
    """
    settings = dict(tokenizer) if isinstance(tokenizer, Mapping) else {"kind": tokenizer}
    base = {"kind": "ridge"} if regression else {}
    return linear_config(settings, {**base, **(options or {})})


def started_linear_options(run_dir: Path, before: bool) -> dict[str, bool]:
    """The fused linear half's `nfc` and `word_marks` as a resumed run started with them.

    Why: a run started before the two options (both off then) was refitted with today's
    defaults on `--resume`, and its predictions changed. Its saved fusion/linear.json says
    them (absent: off, as `LinearModel.load` reads it); without one, `before` (its
    checkpoint predates them) says off. {} keeps the defaults.
    """
    folder = folder_or_old_twin(run_dir / FUSION_DIR)
    if folder is None or not (folder / LINEAR_META).is_file():
        return dict.fromkeys(STARTED_OPTIONS, False) if before else {}
    where = folder / LINEAR_META
    try:  # it holds every TF-IDF term
        config = read_json_file(where, limit=VOCAB_LIMIT)["config"]
        return {key: bool(config.get(key, False)) for key in STARTED_OPTIONS}
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise CheckpointError(f"{where}: not a saved linear model ({exc!r})") from exc


def _weighted(settings: LinearConfig, class_weight: ClassWeight) -> LinearConfig:
    """`settings` with scikit-learn's `class_weight`, keyed by the fit's classes (label ids)."""
    if class_weight is None:
        return settings
    return dataclasses.replace(settings, class_weight=class_weight)


# vecgraft tokenizers that segment text the linear model's word pattern cannot (Chinese)
_SEGMENTERS = ("jieba", "char")


def linear_config(tokenizer: Mapping[str, Any], options: Mapping[str, Any]) -> LinearConfig:
    """The reference settings for the run's tokenizer settings, with `--model-option`s applied.

    `tokenizer`: the run's Tokenizer settings (`text_settings.tokenizer_settings`: the flags, else
    the vectors' metadata.json). A jieba `user_dict` and `hmm` join the word segmentation,
    and its character normalisation (`--simplified`, `--halfwidth`, ...) is the model's, as
    the fused linear half takes them from the network's tokenizer.
    """
    opts = dict(options)
    for key in ("word_ngrams", "char_ngrams"):
        if opts.get(key) is not None:
            opts[key] = tuple(opts[key])
    kind = tokenizer.get("kind")
    if kind == "jieba":
        segmentation = jieba_segmentation(tokenizer)
        if segmentation:
            opts["segmentation"] = {**opts.get("segmentation", {}), **segmentation}
    opts.setdefault("normalization", text_normalization(tokenizer))
    segmenter = kind if kind in _SEGMENTERS else None
    _check_linear_options(opts)
    try:
        return LinearConfig.for_language(segmenter, **opts)
    except TypeError as exc:
        raise ConfigError(f"bad option for model 'linear' ({exc})") from exc


def _check_linear_options(options: Mapping[str, Any]) -> None:
    """Name unknown `--model-option`s and the valid ones, as the network families do.

    Why: the error read "LinearConfig.__init__() got an unexpected keyword argument
    'dropout'", a Python signature, not the options the linear model takes.
    """
    valid = [f.name for f in dataclasses.fields(LinearConfig)]
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ConfigError(
            f"unknown option(s) {', '.join(unknown)} for model 'linear'; "
            f"valid options: {', '.join(valid)}"
        )


def zh_mode_note(tokenizer: Mapping[str, Any], settings: LinearConfig, what: str) -> str | None:
    """What the linear model reads of Chinese text where the tokenizer's mode is not words.

    The linear model has no Chinese mode: it takes jieba's words and its own character
    n-grams. Why: `--model linear` on word+char vectors logged "Chinese tokens: word+char",
    which only the network (or none) read. `what`: "the linear model", "fused linear model".
    """
    from vecgraft.text.zh import reads_characters

    mode = tokenizer.get("zh_mode")
    if tokenizer.get("kind") != "jieba" or not reads_characters(mode):
        return None
    words = "jieba's words" if settings.word_ngrams is not None else "no words"
    chars = settings.char_ngrams
    grams = f"its own character n-grams ({chars[0]}-{chars[1]})" if chars else "no characters"
    return f"{what} reads {words} and {grams}, not the {mode} tokens (no Chinese mode of its own)"


def text_normalization(tokenizer: Mapping[str, Any]) -> dict[str, Any]:
    """The character normalisation of a tokenizer config, as `LinearConfig` takes it.

    Why: a fused model trained with `--simplified --halfwidth` scored 這家酒店很好 and
    这家酒店很好 alike in its network and differently in its linear half. Options left at
    the Tokenizer's default are left out, so a plain run's linear model is the one before.
    """
    from vecgraft.text.tokenize import TEXT_NORMALISATION

    return {k: tokenizer[k] for k in TEXT_NORMALISATION if tokenizer.get(k) not in (None, False)}


def jieba_segmentation(tokenizer: Mapping[str, Any]) -> dict[str, Any]:
    """The options of a jieba tokenizer config that change its words (LinearConfig's)."""
    out: dict[str, Any] = {}
    if tokenizer.get("user_dict") is not None:
        out["user_dict"] = str(tokenizer["user_dict"])
        # its words converted as the texts are, where the network's are (`saved_user_dict_
        # normalized`: a resumed run of an older release reads them as written)
        out["user_dict_normalized"] = bool(tokenizer.get("user_dict_normalized", True))
    if tokenizer.get("hmm") is False:
        out["hmm"] = False
    return out


def unused_vocabulary_options(config: FinetuneConfig, what: str) -> str | None:
    """The log line saying `--stopwords` / `--min-freq` do not reach the linear model, if given.

    They shape the network's vocabulary; the linear model builds its own vocabulary of
    word and character n-grams from the whole texts, so a user could not tell otherwise.
    """
    given = [flag for flag, on in (("--stopwords", config.stopwords is not None),
                                   ("--min-freq", config.min_freq != 1)) if on]  # fmt: skip
    if not given:
        return None
    noun, verb = ("setting", "is") if len(given) == 1 else ("settings", "are")
    return (f"The {what} builds its own vocabulary of word and character n-grams: "
            f"{' and '.join(given)}, the network vocabulary's {noun}, {verb} not applied "
            "to it")  # fmt: skip


def _targets(targets: Sequence[float], regression: bool) -> list[Any]:
    """What the linear model is fitted on: numbers, or label ids as strings.

    Its classes are saved as JSON; `linear_proba` maps them back to columns.
    """
    return [float(t) for t in targets] if regression else [str(int(i)) for i in targets]


def fit_linear(
    texts: Sequence[str],
    targets: Sequence[float],
    tokenizer: TokenizerArg,
    regression: bool = False,
    class_weight: ClassWeight = None,
    options: Options = None,
    progress: FitProgress | None = None,
) -> LinearModel:
    """The linear baseline's reference settings for `tokenizer`, fitted on `targets`.

    Label ids, or numbers with ridge regression when `regression`; `options` as in
    `linear_settings`; `progress`: how far a long fit got (a run's log: `FitProgress`).
    """
    settings = _weighted(linear_settings(tokenizer, regression, options), class_weight)
    return LinearModel(settings).fit(list(texts), _targets(targets, regression), progress=progress)


def fit_linear_nested(
    train: Sequence[str],
    valid: Sequence[str],
    targets: Sequence[float],
    tokenizer: TokenizerArg,
    regression: bool = False,
    class_weight: ClassWeight = None,
    options: Options = None,
    progress: FitProgress | None = None,
) -> tuple[LinearModel, LinearModel]:
    """`fit_linear` on `train` and on `train + valid` (targets: train's then valid's) at once.

    One analysis of the texts. The first judges the fusion on the validation rows it has not
    seen; the second is the one kept (`LinearModel.fit_nested`: each equals its own
    `fit_linear`).
    """
    return LinearModel.fit_nested(
        _weighted(linear_settings(tokenizer, regression, options), class_weight),
        [*train, *valid],
        _targets(targets, regression),
        len(train),
        progress=progress,
    )  # fmt: skip


def linear_proba(model: LinearModel, texts: Sequence[str], num_classes: int) -> np.ndarray:
    """[N, num_classes] probabilities with column i = label id i (0 for unseen classes)."""
    if not len(texts):
        return np.zeros((0, num_classes), dtype=np.float32)
    ids = [int(c) for c in model.classes]
    return proba_by_id(model.predict_proba(list(texts)), ids, num_classes)


def proba_by_id(proba: np.ndarray, ids: Sequence[int], num_classes: int) -> np.ndarray:
    """[N, num_classes] of `proba`, its column j put in column `ids[j]` (0 for the others).

    Why: a linear model's columns follow its own classes (scikit-learn's sorted order,
    only those its rows held), not the run's label ids.
    """
    out = np.zeros((len(proba), num_classes), dtype=np.float32)
    out[:, list(ids)] = proba
    return out


def linear_values(model: LinearModel, texts: Sequence[str]) -> np.ndarray:
    """[N] numbers a ridge (regression) model predicts."""
    if not len(texts):
        return np.zeros(0, dtype=np.float32)
    return np.asarray(model.predict(list(texts)), dtype=np.float32)


def fuse(neural: np.ndarray, linear: np.ndarray, weight: float) -> np.ndarray:
    """The fused probabilities (or numbers): `weight` of the network's, the rest the linear's."""
    return weight * neural + (1.0 - weight) * linear


def _log(p: np.ndarray) -> np.ndarray:
    return np.log(np.clip(p, 1e-12, None)).astype(np.float64)


def log_pool(neural: np.ndarray, linear: np.ndarray, pool: tuple[float, float]) -> np.ndarray:
    """softmax(a * log neural + b * log linear) for `pool` = (a, b), row by row."""
    z = pool[0] * _log(neural) + pool[1] * _log(linear)
    z -= z.max(axis=1, keepdims=True) if len(z) else 0.0
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def fit_pool(
    neural: np.ndarray,
    linear: np.ndarray,
    gold: Sequence[int],
    class_weights: Sequence[float] | None = None,
) -> tuple[float, float]:
    """The pool (a, b), each in [0, POOL_MAX], with the least log-loss on `gold`.

    A two-weight logistic regression without bias on the models' log-probabilities: convex,
    so L-BFGS-B from the plain product (1, 1) finds its optimum. With no rows: (1, 1).
    `class_weights` [C] (`FinetuneConfig.class_weight`) weigh each row's log-loss by its
    gold class, as the two models were trained: unweighted, the pool leant back towards
    the common class the weights had taught both models to give up on.
    """
    from scipy.optimize import minimize

    y = np.asarray(gold, dtype=np.int64)
    if not len(y):
        return 1.0, 1.0
    logs = (_log(neural), _log(linear))
    rows = np.arange(len(y))
    mean = _row_mean(y, class_weights)

    def loss(ab: np.ndarray) -> tuple[float, np.ndarray]:
        z = ab[0] * logs[0] + ab[1] * logs[1]
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        nll = -mean(np.log(np.clip(p[rows, y], 1e-300, None)))
        # d nll / d w = mean over rows of (E_p[feature] - feature[gold])
        grad = [mean((p * f).sum(axis=1) - f[rows, y]) for f in logs]
        return nll, np.asarray(grad)

    fit = minimize(loss, np.ones(2), jac=True, method="L-BFGS-B", bounds=[(0.0, POOL_MAX)] * 2)
    return float(fit.x[0]), float(fit.x[1])


def _row_mean(
    y: np.ndarray, class_weights: Sequence[float] | None
) -> Callable[[np.ndarray], float]:
    """The mean of a value per row [N]: plain, or weighted by each row's gold class."""
    if class_weights is None:
        return lambda values: float(np.mean(values))
    w = np.asarray(class_weights, dtype=np.float64)[y]
    share = w / w.sum()
    return lambda values: float((values * share).sum())


def accuracy(
    proba: np.ndarray, gold: Sequence[int], class_weights: Sequence[float] | None = None
) -> float:
    """Share of rows whose most probable class is the gold one (0.0 with no rows).

    With `class_weights` [C] each row counts its gold class's weight ("balanced": about
    the mean recall of the classes).
    """
    y = np.asarray(gold, dtype=np.int64)
    if not len(y):
        return 0.0
    return _row_mean(y, class_weights)(proba.argmax(axis=1) == y)


def weight_accuracies(
    neural: np.ndarray,
    linear: np.ndarray,
    gold: Sequence[int],
    class_weights: Sequence[float] | None = None,
) -> dict[float, float]:
    """Accuracy of the fused probabilities at each of `WEIGHTS` (0.0 with no rows).

    Weighted by `class_weights` where given (`accuracy`).
    """
    return {w: accuracy(fuse(neural, linear, w), gold, class_weights) for w in WEIGHTS}


def weight_errors(
    neural: np.ndarray, linear: np.ndarray, gold: Sequence[float]
) -> dict[float, float]:
    """Mean squared error of the fused numbers at each of `WEIGHTS` (NaN with no rows)."""
    y = np.asarray(gold, dtype=np.float64)

    def mse(w: float) -> float:
        return float(((fuse(neural, linear, w) - y) ** 2).mean()) if len(y) else math.nan

    return {w: mse(w) for w in WEIGHTS}


def best_weight(accuracies: Mapping[float, float]) -> float:
    """The weight with the best accuracy; ties go to the one nearest 0.5 (the equal mix)."""
    return max(accuracies, key=lambda w: (accuracies[w], -abs(w - 0.5)))


def least_error_weight(errors: Mapping[float, float]) -> float:
    """The weight with the lowest error; ties go to the one nearest 0.5 (the equal mix)."""
    return best_weight({w: -e for w, e in errors.items()})


def choose_weight(
    neural: np.ndarray,
    linear: np.ndarray,
    gold: Sequence[int],
    class_weights: Sequence[float] | None = None,
) -> float:
    """The `WEIGHTS` entry with the best validation accuracy; ties go to the one nearest 0.5.

    The accuracy weighted by `class_weights` where given.
    """
    return best_weight(weight_accuracies(neural, linear, gold, class_weights))


def fused_result(
    outputs: np.ndarray, gold: Sequence[float], num_classes: int, regression: bool
) -> EvalResult | RegressionResult:
    """Fused outputs as the network's own scoring gives them (EvalResult, RegressionResult).

    `num_classes` sizes a classifier's confusion counts: the model's classes, then any gold
    labels it never saw (see `as_eval_result`).
    """
    if not regression:
        return as_eval_result(outputs, [int(g) for g in gold], num_classes)
    return RegressionResult.of(gold, outputs.tolist())


def result_score(result: EvalResult | RegressionResult) -> float:
    """A result's accuracy, or its RMSE (a regression)."""
    return math.sqrt(result.loss) if isinstance(result, RegressionResult) else result.accuracy


def format_score(value: float, key: str) -> str:
    """One score as the logs print it: an RMSE or macro F1 to 4 places, else a percentage."""
    return f"{value:.4f}" if key in ("rmse", "macro_f1") else f"{100 * value:.2f}%"


def describe_scores(scores: Mapping[str, float] | None, key: str, split: str = "valid") -> str:
    """The log's words for one split's network / linear / fused scores (accuracy, rmse, macro_f1).

    `split` "crossfit" names the out-of-fold scores of `fuse_folds`.
    """
    if scores is None:
        return "no validation rows"
    parts = ("network", "linear", "fused")
    name = {"rmse": "RMSE", "macro_f1": "macro F1"}.get(key, "accuracy")
    where = "out-of-fold" if split == "crossfit" else "validation"
    return f"{where} {name} " + ", ".join(f"{p} {format_score(scores[p], key)}" for p in parts)


def describe_fusion(fusion: Fusion) -> str:
    """The log's words for how a fusion combines: its pool's weights, or the network's share."""
    return describe_record({"weight": fusion.weight, "pool": fusion.pool_record})


def describe_record(block: Mapping[str, Any]) -> str:
    """`describe_fusion` of a `metrics.json` "fusion" block (one without "pool" is a mix)."""
    pool = block.get("pool")
    if pool:
        return f"log-linear pool (network x{pool['network']:.3g}, linear x{pool['linear']:.3g})"
    return f"network weight {block.get('weight')}"


def as_eval_result(proba: np.ndarray, gold: Sequence[int], num_classes: int) -> EvalResult:
    """Mean cross-entropy and confusion counts of probabilities, like `evaluate_model`'s.

    `num_classes` (at least `proba`'s columns) sizes the counts; a gold id past `proba`'s
    columns is a label the model never saw: an error, left out of the loss and log-loss.
    """
    from vecgraft.finetune.metrics import LogLossSum

    y = np.asarray(gold, dtype=np.int64)
    pred = proba.argmax(axis=1) if len(y) else np.zeros(0, dtype=np.int64)
    counts = np.bincount(y * num_classes + pred, minlength=num_classes * num_classes)
    seen = y < proba.shape[1] if proba.ndim == 2 else np.ones(len(y), dtype=bool)
    picked = proba[np.flatnonzero(seen), y[seen]] if seen.any() else np.zeros(0)
    # + 0.0: rows all certain and right give -log(1) = -0.0, written "-0.0" in metrics.json
    loss = float(-np.log(np.clip(picked, 1e-12, None)).mean()) + 0.0 if len(picked) else math.nan
    confusion = torch.from_numpy(counts.reshape(num_classes, num_classes))
    log_loss = LogLossSum()
    if proba.ndim == 2:
        log_loss.add(proba, y)
    return EvalResult(loss=loss, confusion=confusion, log_loss=log_loss.mean())


@dataclass
class Fusion:
    """A fitted linear model (ridge for a regression) and how it is combined with the network.

    `pool` (a, b) set: the log-linear pool; else the mean with the network's share `weight`.
    """

    linear: LinearModel
    weight: float | None
    num_classes: int  # 1 for a regression
    pool: tuple[float, float] | None = None
    source: str = FUSION_META  # the fusion.json it was read from, for errors

    @property
    def regression(self) -> bool:
        """Whether the fused models predict numbers."""
        return self.linear.regression

    @property
    def pool_record(self) -> dict[str, float] | None:
        """The pool's weights by model, as `metrics.json` keeps them (None for a mean)."""
        return None if self.pool is None else dict(zip(("network", "linear"), self.pool))

    def combine(self, neural: np.ndarray, linear: np.ndarray) -> np.ndarray:
        """The fused outputs of the two models' outputs on the same rows."""
        if self.pool is not None:
            return log_pool(neural, linear, self.pool)
        return fuse(neural, linear, 0.5 if self.weight is None else self.weight)

    def proba(self, neural: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """Fused probabilities of `texts` given the network's [N, C] probabilities."""
        return self.combine(neural, linear_proba(self.linear, texts, self.num_classes))

    def values(self, neural: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """Fused numbers of `texts` given the network's [N] predictions (a regression)."""
        return self.combine(neural, linear_values(self.linear, texts))

    def save(self, folder: Path, info: dict[str, Any]) -> None:
        """Write `folder` whole or not at all (`atomic_directory`: a temp folder, a rename)."""
        with atomic_directory(folder) as tmp:
            self.linear.save(tmp)
            meta = {"weight": self.weight, "num_classes": self.num_classes, **info}
            if self.pool is not None:
                meta["pool"] = list(self.pool)
            (tmp / FUSION_META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")

    def check_record(self, block: Mapping[str, Any], where: Path) -> None:
        """Raise unless `block` (metrics.json's "fusion", in `where`) names this fusion's weights.

        Why: a fusion/ folder from another run (copied in, or left by a second run writing
        the same folder) was applied at weights this run never chose, and `evaluate` scored
        a number matching neither run.
        """
        if block.get("weight") == self.weight and block.get("pool") == self.pool_record:
            return
        raise CheckpointError(
            f"{self.source}: weight {self.weight}, pool {self.pool_record}, but {where} records "
            f"weight {block.get('weight')}, pool {block.get('pool')}: this fusion/ folder is "
            "another run's"
        )

    @classmethod
    def load(cls, run_dir: str | os.PathLike[str]) -> Fusion | None:
        """The run's fusion, or None when it was trained without `fuse_linear`.

        A kill between `atomic_directory`'s two renames leaves the fusion as `.fusion.old`:
        read it there, as checkpoints are, rather than predict with the network alone.
        """
        folder = folder_or_old_twin(Path(run_dir) / FUSION_DIR)
        if folder is None:
            return None
        where = folder / FUSION_META
        weight, num_classes, pool = _read_record(where)
        linear = LinearModel.load(folder)
        _check_classes(linear, num_classes, where)
        return cls(linear, weight, num_classes, pool, source=str(where))


def _read_record(where: Path) -> tuple[float | None, int, tuple[float, float] | None]:
    """(weight, num_classes, pool) of a `fusion.json`; errors name the file."""
    try:
        meta = read_json_file(where, limit=RECORD_LIMIT)
        if not isinstance(meta, dict):  # `[]` gave an AttributeError from deep inside
            raise TypeError(f"expected a JSON object, found {type(meta).__name__}")
        pool = meta.get("pool")  # absent in runs before the pool, and in mixes
        pool = None if pool is None else (float(pool[0]), float(pool[1]))
        weight = None if pool is not None else float(meta["weight"])
        num_classes = meta["num_classes"]
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise CheckpointError(f"{where}: not a fusion record ({exc})") from exc
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise CheckpointError(f"{where}: num_classes {num_classes!r} is not a class count")
    if weight is not None and not 0.0 <= weight <= 1.0:  # from WEIGHTS, or fuse_weight
        raise CheckpointError(f"{where}: weight {weight} is not in [0, 1]")
    if pool is not None and not pool_in_range(pool):
        raise CheckpointError(f"{where}: pool {list(pool)} is not two weights in [0, {POOL_MAX:g}]")
    return weight, num_classes, pool


def _check_classes(linear: LinearModel, num_classes: int, where: Path) -> None:
    """Raise unless the linear model's classes are distinct label ids below `num_classes`.

    `linear_proba` puts class c in column int(c): a count cut below the classes indexed past
    the columns (an IndexError), one above them added columns no label names. A ridge
    model predicts one number (`num_classes` 1).
    """
    if linear.regression:
        if num_classes != 1:
            raise CheckpointError(
                f"{where}: num_classes {num_classes}, but its linear model is a regression's"
            )
        return
    try:
        ids = [int(c) for c in linear.classes]
    except (TypeError, ValueError):
        ids = []
    if not ids or len(set(ids)) != len(ids) or not all(0 <= i < num_classes for i in ids):
        raise CheckpointError(
            f"{where}: num_classes {num_classes} does not fit the classes of its linear model "
            f"{linear.classes[:10]} (label ids 0..{num_classes - 1}, each once)"
        )
