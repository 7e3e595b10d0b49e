"""`--model linear`: the TF-IDF + linear baseline as a model family of the recipe.

It goes through the same `finetune` / `evaluate` / `predict` steps and run folder as the
neural families, but has no embedding and no epochs: `train` fits `LinearModel` on the
training split, scores the validation split with it (an honest held-out score), then refits
on training + validation data (the neural families use the validation split for early
stopping; the baseline needs none). The run folder gets `linear.safetensors` +
`linear.json` (no pickle) instead of `best/` and `last/`, and the same `metrics.json`
(losses are null: an SVM has no cross-entropy).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from vecgraft._util.jsonfile import RECORD_LIMIT, read_json_file
from vecgraft.errors import ConfigError
from vecgraft.finetune.class_weight import sklearn_class_weight
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.families import ModelInputs, ModelSetup, register_family
from vecgraft.finetune.fusion import linear_config, unused_vocabulary_options, zh_mode_note
from vecgraft.finetune.linear import (
    LINEAR_FILE,
    LINEAR_META,
    LinearConfig,
    LinearModel,
    fit_rows,
)
from vecgraft.finetune.predict import ScoresFiles, text_list
from vecgraft.finetune.recipe import VALUE_LABEL, ClassifierRecipe, _fit_note
from vecgraft.finetune.scoring import EvalResult, RegressionResult, score_text
from vecgraft.finetune.text_settings import tokenizer_settings
from vecgraft.finetune.train import TrainState
from vecgraft.nn.models import ModelKind
from vecgraft.text.tokenize import USER_DICT_FILE

__all__ = [
    "LinearFamily",
    "LinearPredictor",
    "LinearRecipe",
    "is_linear_run",
    "load_linear_run",
]

# training texts whose word features are checked for unsegmented Chinese, Thai ... clauses
UNSEGMENTED_SAMPLE = 5000


def unsegmented_word_features(settings: LinearConfig, texts: Sequence[str]) -> list[str]:
    """`unsegmented_warnings` of the linear model's word features over (the first) `texts`.

    Without `--tokenizer jieba` the word n-grams of Chinese are whole clauses: ChnSentiCorp
    (1,000 training rows) scored 74.7 % against 85.7 % with jieba, and the network families
    warned of it while `--model linear` (and compare's linear row) said nothing.
    """
    from collections import Counter

    from sklearn.feature_extraction.text import TfidfVectorizer

    from vecgraft.text.unspaced import unsegmented_warnings

    if settings.tokenizer is not None or settings.word_ngrams is None:
        return []
    # the word rule of the model's vectorizer when no tokenizer is given: scikit-learn's own
    words = TfidfVectorizer().build_tokenizer()
    counts = Counter(w for text in texts[:UNSEGMENTED_SAMPLE] for w in words(text))
    return unsegmented_warnings(counts.items(), "regex")


# the network's training settings: a linear model is fitted at once, with none of them
_NETWORK_TRAINING = ("epochs", "train_steps", "lr", "embedding_lr", "batch_size", "optimizer",
                     "schedule", "warmup", "weight_decay", "grad_clip", "label_smoothing",
                     "patience", "freeze_epochs", "ema_epochs")  # fmt: skip


def unused_training_settings(config: FinetuneConfig) -> str | None:
    """The log line naming network training settings given to `--model linear`, if any.

    Why: `--model linear --label-smoothing 0.1` (or `--epochs`) was taken and ignored
    without a word; a user could not tell it changed nothing.
    """
    defaults = FinetuneConfig.for_model("linear")
    given = [f"--{name.replace('_', '-')}" for name in _NETWORK_TRAINING
             if getattr(config, name) != getattr(defaults, name)]  # fmt: skip
    if not given:
        return None
    return (f"The linear model is fitted at once, not trained by steps: {', '.join(given)} "
            f"{'is' if len(given) == 1 else 'are'} not applied to it")  # fmt: skip


def _log_loss(
    model: LinearModel, scores: np.ndarray, gold: Sequence[int], labels: Sequence[str]
) -> float | None:
    """The log-loss of `model`'s probabilities, as `evaluate` scores a linear run (None: no rows).

    From the same decision `scores` as the labels (one pass over the texts); the labels stay
    those of the scores, not of their float32 probabilities. `gold` are ids of `labels`; the
    model's columns follow its own classes (a `max_rows` sample may lack one), and rows of a
    label it lacks are not counted, as `evaluate` of the saved model counts them.
    """
    from vecgraft.finetune.fusion import proba_by_id
    from vecgraft.finetune.metrics import LogLossSum

    summed = LogLossSum()
    if len(scores):
        index = {label: i for i, label in enumerate(labels)}
        ids = [index[str(c)] for c in model.classes]
        true = np.asarray(gold, dtype=np.int64)
        known = np.isin(true, ids)
        summed.add(proba_by_id(model.proba_of(scores), ids, len(labels))[known], true[known])
    return summed.mean()


def confusion_result(true: Sequence[int], pred: Sequence[int], num_classes: int) -> EvalResult:
    """An EvalResult (loss: NaN, none exists) of predicted vs true label ids.

    `num_classes` sizes the counts: the model's classes, then gold labels it never saw.
    """
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.float64)
    if len(true):
        confusion.index_put_(
            (torch.as_tensor(list(true)), torch.as_tensor(list(pred))),
            torch.ones(len(true), dtype=torch.float64),
            accumulate=True,
        )
    return EvalResult(math.nan, confusion)


class LinearRecipe(ClassifierRecipe):
    """ClassifierRecipe whose model is `LinearModel` (fitted, not trained by epochs)."""

    # its one history row (the valid score) drew an empty loss panel and one point
    has_epochs = False

    def _kept_epoch(self) -> str:
        return ""  # fitted once: no epoch to name

    def setup_model(self) -> None:
        """The unfitted linear model of the run's tokenizer and `model_options`."""
        self.choose_tokenizer()  # jieba for Chinese texts, as the network families read them
        options = dict(self.config.model_options)
        if self.regression:
            options.setdefault("kind", "ridge")
        tokenizer, _lower = tokenizer_settings(self.config, self.vectors, self.log, linear=True)
        if self.config.class_weight is not None:  # the label names are the fit's classes
            options["class_weight"] = sklearn_class_weight(
                self.config.class_weight, self.labels, self.labels
            )
        self.linear_settings = linear_config(tokenizer, options)
        note = zh_mode_note(tokenizer, self.linear_settings, "the linear model")
        if note:
            self.log(f"Chinese tokens: {note}")
        if self.regression != (self.linear_settings.kind.value == "ridge"):
            raise ConfigError("--task regression goes with the linear kind ridge (and only it)")
        self.linear = LinearModel(self.linear_settings)
        # no vocabulary, embedding or token ids: only `alignment` (None) is read from it
        self.built = ModelSetup(nn.Identity(), None, {"kind": "linear"}, _no_encode)  # type: ignore[arg-type]

    def train(self) -> TrainState:
        """Fit on train, score valid, refit on train + valid; one 'epoch' in the history."""
        train, valid = self.splits.train, self.splits.valid
        self.log(f"Linear model: {self.linear_settings.summary()}")
        unused = unused_vocabulary_options(self.config, "linear model")
        if unused:
            self.log(unused)
        unused = unused_training_settings(self.config)
        if unused:
            self.log(unused)
        for line in unsegmented_word_features(self.linear_settings, train.texts):
            self.log(f"WARNING: {line}")  # as the network families say it
        limit = self.linear_settings.max_rows
        largest = len(train.texts) + len(valid.texts)
        sampled = fit_rows(largest, limit) < largest
        if sampled:
            self.log(f"A fit on more than {limit:,} rows uses a random {limit:,} of them "
                     "(max_rows: the fit's memory grows with the rows; --model-option "
                     "max_rows=null fits on all)")  # fmt: skip
        settings = self.linear_settings
        # fits of minutes are otherwise silent (104 s on 20k rows of 1000 labels)
        self.log(_fit_note(len(train.texts), len(valid.texts), limit,
                           f"({settings.kind.value}, {settings.strength})"))  # fmt: skip
        y_train, y_valid = self._labels("train"), self._labels("valid")
        refit: LinearModel | None = None
        if len(valid.texts) and not sampled:
            # both fits from one n-gram count of train + valid (each model equals its own
            # `fit`); segmenting and counting is most of a fit's time. A sampled fit (above
            # max_rows) draws its rows apart from the train-only one's, so it fits alone
            self.linear, refit = LinearModel.fit_nested(
                settings, [*train.texts, *valid.texts], [*y_train, *y_valid],
                len(train.texts), note=self.log, progress=self.linear_progress(),
            )  # fmt: skip
        else:
            self.linear.fit(list(train.texts), y_train, note=self.log,
                            progress=self.linear_progress())  # fmt: skip
        row: dict[str, Any] = {"epoch": 1}
        self.valid_result: Any = None
        if len(valid.texts):
            self.valid_result = self._result(self.linear, "valid")
            if isinstance(self.valid_result, RegressionResult):
                scores = self.valid_result.scores()
                row.update(valid_rmse=scores["rmse"], valid_pearson=scores["pearson"])
                said = f"Valid RMSE {scores['rmse']:.4f}, Pearson r {score_text(scores['pearson'])}"
            else:
                row.update(
                    valid_accuracy=self.valid_result.accuracy,
                    valid_macro_f1=self.valid_result.macro_f1,
                )
                said = f"Valid accuracy {100 * self.valid_result.accuracy:.2f}%"
            self.log(f"{said} (fitted on train only); refitting on train + valid")
            self.linear = refit if refit is not None else LinearModel(self.linear_settings).fit(
                [*train.texts, *valid.texts], [*y_train, *y_valid], note=self.log,
                progress=self.linear_progress(),
            )
        self.state = TrainState(epoch=1, best_epoch=1, history=[row], finished=True)
        return self.state

    def _labels(self, name: str) -> list[Any]:
        """Label strings (classification) or numbers (regression) of split `name`."""
        return list(self.targets[name]) if self.regression else list(self._split(name).labels)

    def _result(self, model: LinearModel, name: str) -> Any:
        split = self._split(name)
        scores = model.decision_function(list(split.texts)) if len(split.texts) else None
        predicted: Any = [] if scores is None else model.predictions_of(scores)
        if self.regression:
            return RegressionResult.of(self.targets[name], predicted)
        index = {label: i for i, label in enumerate(self.labels)}
        gold = [int(y) for y in self.targets[name]]
        result = confusion_result(
            gold,
            [index[str(p)] for p in predicted],
            len(self.scored_labels(name)),  # test labels the model lacks: errors
        )
        loss = None if scores is None else _log_loss(model, scores, gold, self.labels)
        return dataclasses.replace(result, log_loss=loss)

    def load_best(self) -> None:
        """The fitted model is the only one."""

    def score_split(self, name: str) -> EvalResult:
        """Confusion counts of the fitted model on split `name`."""
        if name == "valid" and getattr(self, "valid_result", None) is not None:
            return self.valid_result
        return self._result(self.linear, name)

    def evaluate(self) -> dict[str, Any]:
        """`metrics.json` as the neural families write it (losses null, no coverage)."""
        metrics = super().evaluate()
        if not self.regression:
            for split in ("test", "valid"):
                if metrics[split] is not None:  # "valid" is null without a validation split
                    metrics[split]["loss"] = None
        return metrics

    def save(self) -> None:
        """linear.safetensors + linear.json, then metrics and reports as every run."""
        if self.out is not None and self.dist.is_main:
            self._file(LINEAR_FILE)
            self._file(LINEAR_META)
            if self.linear_settings.segmentation.get("user_dict"):
                self._file(USER_DICT_FILE)  # the model's copy: listed, so --overwrite removes it
            self.linear.save(self.out)
        super().save()


def _no_encode(texts: Sequence[str], labels: Sequence[int]) -> Any:
    raise ConfigError("the linear model reads texts, not token ids")


class LinearFamily:
    """Registry entry of `ModelKind.LINEAR`: built by `LinearRecipe`, not by `setup`."""

    recipe = LinearRecipe

    def setup(self, inputs: ModelInputs) -> ModelSetup:
        """Not used: the linear model has no embedding or token ids."""
        raise ConfigError("model 'linear' is fitted by LinearRecipe (use vecgraft.finetune)")

    def rebuild(self, meta: Mapping[str, Any], *, source: str) -> nn.Module:
        """Not used: a linear run is loaded with `load_linear_run`."""
        raise ConfigError(f"{source}: a linear run has no model.json; load it with load_run")


class LinearPredictor(ScoresFiles):
    """A fitted linear run, with the `Predictor` interface `predict` / `evaluate` use."""

    def __init__(self, model: LinearModel) -> None:
        self.model = model
        self.last_read: Any = None  # the reader's report of the last `evaluate` data
        self.regression = model.regression
        # a regression's one output, as every other run's predictor names it (it was [])
        self.labels = [VALUE_LABEL] if self.regression else [str(c) for c in model.classes]

    def model_kind(self) -> str:
        """"linear:" and the fitted model's kind ("linear:logreg", "linear:ridge", ...)."""
        return f"linear:{self.model.config.kind.value}"

    def predict_values(self, texts: Iterable[str]) -> list[float]:
        """A ridge (regression) run's predicted number for each text."""
        if not self.regression:
            raise ConfigError("predict_values needs a regression run (--task regression)")
        texts = text_list(texts)
        return [float(v) for v in self.model.predict(texts)] if texts else []

    def predict_proba(self, texts: Iterable[str]) -> torch.Tensor:
        """[N, C]: logistic regression's probabilities; an SVM's softmax of its scores."""
        self._classes_only("predict_proba")
        texts = text_list(texts)
        if not texts:
            return torch.zeros(0, len(self.labels))
        return torch.from_numpy(self.model.predict_proba(texts))

    def predict(self, texts: Iterable[str]) -> list[str]:
        """The predicted label of each text (a ridge run's numbers: `predict_values`)."""
        self._classes_only("predict")
        texts = text_list(texts)
        return [str(p) for p in self.model.predict(texts)] if texts else []

    def _scored_chunk(self, texts: list[str], y: Sequence[int], log_loss: Any) -> list[int]:
        """The predicted ids of `texts` and their log-loss, from one `decision_function`.

        Why: `predict_proba` then `predict` read every text's n-grams twice; the labels stay
        those of the scores (as `predict`'s), not of their float32 probabilities.
        """
        if not texts:
            return []
        scores = self.model.decision_function(texts)
        log_loss.add(self.model.proba_of(scores), y)
        index = {label: i for i, label in enumerate(self.labels)}
        return [index[str(p)] for p in self.model.predictions_of(scores)]


def load_linear_run(run_dir: str | os.PathLike[str]) -> LinearPredictor:
    """The fitted model of a `--model linear` run folder."""
    return LinearPredictor(LinearModel.load(Path(run_dir)))


def is_linear_run(run_dir: str | os.PathLike[str]) -> bool:
    """Whether `run_dir` holds a linear run: linear.json, linear.safetensors or its config.

    Why not linear.json alone: a linear run that lost it was read as a network run and
    refused as "best: no such checkpoint folder"; `load_linear_run` names the missing file.
    """
    run = Path(run_dir)
    if (run / LINEAR_META).is_file() or (run / LINEAR_FILE).is_file():
        return True
    try:
        config = read_json_file(run / "config.json", limit=RECORD_LIMIT)
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and config.get("model") == ModelKind.LINEAR.value


register_family(LinearFamily(), ModelKind.LINEAR)
