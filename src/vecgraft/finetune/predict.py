"""Use a finished run: rebuild its model from a checkpoint, label texts, score labelled files.

>>> predictor = load_run("runs/bbc")                     # doctest: +SKIP
>>> predictor.predict(["Shares rose after the merger"])  # doctest: +SKIP
['business']
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from vecgraft._util.atomic import folder_or_old_twin
from vecgraft._util.device import resolve_device
from vecgraft._util.rng import kept_rng
from vecgraft.errors import (
    CheckpointError,
    ConfigError,
    DataError,
    Hint,
    MissingColumnError,
    Opt,
)
from vecgraft.finetune.batching import EncodedData, encode_texts
from vecgraft.finetune.checkpoint import (
    Checkpoint,
    Remedy,
    load_checkpoint,
    missing_best,
    other_checkpoint,
)
from vecgraft.finetune.families import model_family, model_meta
from vecgraft.finetune.linear import SCORE_CHUNK
from vecgraft.finetune.scoring import TargetRange, rating_scale, regression_metrics
from vecgraft.finetune.train import class_probabilities, evaluate_model, predict_logits
from vecgraft.text.vocab import Vocab

if TYPE_CHECKING:  # these import this module: named for the types only
    from vecgraft.finetune.metrics import ClassificationMetrics
    from vecgraft.finetune.recipe import RegressionReport
    from vecgraft.finetune.run_predictor import RunPredictor  # what `load_run` gives

__all__ = [
    "FusedPredictor", "Predictor", "ScoresFiles", "load_run", "model_meta", "rebuild_model",
    "refuse_tune_folder",
]


def rebuild_model(meta: Mapping[str, Any], *, source: str = "model.json") -> nn.Module:
    """An untrained model with the architecture `meta` describes (weights loaded separately).

    The model's family (`vecgraft.finetune.families`) is looked up from `meta["kind"]`.
    Settings that do not fit it are a CheckpointError naming `source`: an edited "kind"
    said only "unknown option(s) ... for model 'rnn'", as if the user had mistyped a flag.
    """
    kind = meta.get("kind") if isinstance(meta, Mapping) else None
    if not isinstance(kind, str):
        raise CheckpointError(f"{source}: no model kind")
    try:
        with kept_rng():  # layers draw their (overwritten) initial weights: not the caller's
            return model_family(kind).rebuild(meta, source=source)
    except ConfigError as exc:
        raise CheckpointError(f"{source}: {exc}") from exc


def _in_chunks(texts: Sequence[str]) -> Iterator[Sequence[str]]:
    """`texts`, `SCORE_CHUNK` at a time, as `evaluate` encodes and scores them.

    A text's token ids cost tens of bytes a token as Python lists (300,000 reviews: 0.8 GB),
    and each text is scored on its own, so one chunk at a time gives the same predictions.
    """
    for start in range(0, len(texts), SCORE_CHUNK):
        yield texts[start : start + SCORE_CHUNK]


def text_list(texts: Iterable[str]) -> list[str]:
    """`texts` as a list of strings, for every predictor's entry points.

    Why: one string was read as a list of characters (one label per character, no error),
    and a generator was used up by the network, leaving the fused linear model nothing
    (an empty answer, or a broadcast error from numpy). None, or any other value that is no
    collection, was Python's own "'NoneType' object is not iterable".
    """
    if isinstance(texts, str | bytes):
        raise DataError(
            "texts must be a list of strings, got one string: wrap it, e.g. predict([text])"
        )
    try:
        items = iter(texts)
    except TypeError:
        raise DataError(
            f"texts must be a list of strings, got {type(texts).__name__} {texts!r:.40}"
        ) from None
    out = list(items)
    odd = next((i for i, t in enumerate(out) if not isinstance(t, str)), None)
    if odd is not None:
        raise DataError(f"texts[{odd}] is a {type(out[odd]).__name__} ({out[odd]!r:.40}), "
                        "not a string")  # fmt: skip
    return out


class ScoresFiles:
    """`evaluate` on a labelled file, shared by every predictor (neural and linear).

    A subclass has `labels`, `regression`, `model`, `predict_values` and `predict_proba`
    (or its own `predict`), so a file is read, and scored, the same way whatever the model family;
    `Predictor` overrides `_label_metrics` to count its predictions in batched passes. The
    texts are encoded and scored `SCORE_CHUNK` at a time (`_in_chunks`).
    """

    labels: list[str]
    regression: bool
    model: Any  # the trained model (an ensemble has several: `models`)
    last_read: Any
    last_unseen: Any  # `UnseenLabels` of the last `evaluate` data
    last_unknown: Any = None  # `UnknownTokens` of the last `evaluate` data (None: not counted)
    last_merged: str | None = None  # `merged_spellings` of the last `evaluate` data
    # a regression's training targets (`metrics.json`'s "train_range"): `rounded_accuracy`
    # clips to them; None (a run saved before they were kept) leaves it out. `load_run`
    # reads them with the rest of the run (while it holds the folder) but keeps a bad
    # record's error for `evaluate`, which asks for them: `predict` never needs them
    _range: TargetRange | None = None
    # a bad metrics.json record (range, mean or majority label), raised by what reads it
    _metrics_error: CheckpointError | None = None
    # the training mean (`metrics.json`'s "mean_baseline" value): `evaluate` scores it on
    # the file beside the model, as finetune's log does; None (an older run) leaves it out
    train_mean: float | None = None
    # a classifier's training majority label (`metrics.json`'s "majority_baseline" label):
    # `evaluate` scores always saying it on the file (`last_majority`), as finetune's log
    # does; None (an older or unfinished run) leaves it out. Read as `_range` is
    _majority: str | None = None
    # the labels tied with it for the most training rows ("tied", "rows"), said with it
    train_majority_tie: dict[str, Any] | None = None
    last_majority: dict[str, Any] | None = None  # `majority_baseline` of the last data
    _unfinished = False  # `load_run` of a run without metrics.json (no rounded_accuracy)
    run_dir: Path | None = None  # the folder `load_run` read (None: built by hand)
    fused = False  # a network's outputs weighted with the run's linear model's

    def model_kind(self) -> str:
        """The model's kind ("cnn", "hf", "linear:logreg", ...), for the repr."""
        config = getattr(self.model, "config", None)
        if isinstance(config, Mapping) and isinstance(config.get("kind"), str):
            return str(config["kind"])
        return type(self.model).__name__

    def __repr__(self) -> str:
        # the default `<... object at 0x...>` said nothing of what `load_run` gave
        task = "regression" if self.regression else "classification"
        run = str(self.run_dir) if self.run_dir is not None else None
        return (
            f"<{type(self).__name__} run={run!r} task={task} labels={len(self.labels)} "
            f"model={self.model_kind()} fused={self.fused}>"
        )

    @property
    def train_range(self) -> TargetRange | None:
        """The training targets' range (`saved_train_range` of the run, read by `load_run`)."""
        if self._metrics_error is not None:
            raise self._metrics_error
        return self._range

    @train_range.setter
    def train_range(self, value: TargetRange | None) -> None:
        self._range, self._metrics_error = value, None

    @property
    def train_majority(self) -> str | None:
        """The training majority label (`saved_train_majority`, read by `load_run`)."""
        if self._metrics_error is not None:
            raise self._metrics_error
        return self._majority

    @train_majority.setter
    def train_majority(self, value: str | None) -> None:
        self._majority, self._metrics_error = value, None

    def unknown_tokens(self, texts: Sequence[str]) -> Any:
        """`UnknownTokens` of `texts` under the model's vocabulary; None without one.

        The linear model's n-grams have no unknown word; a network overrides this.
        """
        return None

    @property
    def models(self) -> list[Any]:
        """The run's trained models: `[self.model]`; an ensemble's, one per member.

        So code that reads the networks works whatever `load_run` gave.
        """
        return [self.model]

    def predict_values(self, texts: Sequence[str]) -> list[float]:
        """A regression run's predicted number for each text."""
        raise NotImplementedError

    def predict_proba(self, texts: Sequence[str]) -> torch.Tensor:
        """Class probabilities [N, C] (columns in `self.labels` order)."""
        raise NotImplementedError

    def predict(self, texts: Iterable[str]) -> list[str]:
        """The most probable label of each text."""
        self._classes_only("predict")
        proba = self.predict_proba(text_list(texts))
        return [self.labels[i] for i in proba.argmax(-1).tolist()]

    def _classes_only(self, call: str) -> None:
        """Refuse `call` (labels, class probabilities) of a regression run, naming its own.

        A fused regression's `predict` said "a ridge (regression) model has no class
        probabilities", naming neither the run's task nor the call that answers it.
        """
        if self.regression:
            raise ConfigError(
                f"{call}: this run is a regression (--task regression): it predicts a number "
                "for each text, not labels or class probabilities; use predict_values(texts)"
            )

    def _label_metrics(self, texts: Sequence[str], y: Sequence[int], names: list[str]) -> Any:
        """ClassificationMetrics of the texts' predicted labels against their label ids.

        `names` are `self.labels`, then the gold labels the model lacks (ids after its own).
        """
        from vecgraft.finetune.metrics import LogLossSum, classification_metrics

        log_loss = LogLossSum()
        pred: list[int] = []
        for start in range(0, len(texts), SCORE_CHUNK):  # as `_in_chunks`, with the labels
            end = start + SCORE_CHUNK
            pred += self._scored_chunk(list(texts[start:end]), y[start:end], log_loss)
        metrics = classification_metrics(list(y), pred, names, predictable=len(self.labels))
        metrics.log_loss = log_loss.mean()
        return metrics

    def _scored_chunk(self, texts: list[str], y: Sequence[int], log_loss: Any) -> list[int]:
        """The predicted ids of `texts`; their probabilities' log-loss added to `log_loss`.

        `predict` is the argmax of `predict_proba`: the probabilities give both (the linear
        predictor, whose `predict` decides on its scores, overrides this).
        """
        proba = self.predict_proba(texts).numpy()
        log_loss.add(proba, y)
        return [int(i) for i in proba.argmax(-1)]

    def evaluate(
        self,
        path: str | os.PathLike[str],
        labels: None = None,
        *,
        text_column: str = "text",
        label_column: str = "label",
        encoding: str = "utf-8",
        errors: str = "strict",
        bad_rows: str = "skip",
    ) -> ClassificationMetrics | RegressionReport:
        """ClassificationMetrics (or a RegressionReport) of the model on a labelled file.

        Reading follows `read_labelled` (`encoding`, `errors`, `bad_rows`); what was dropped
        or repaired is in `self.last_read` afterwards. A row whose label the run was not
        trained on is kept and scored as an error (the model cannot predict it; dropping it
        would inflate the scores): `self.last_unseen` (`UnseenLabels`) lists those labels,
        its `warning()` says so, and the metrics' `unseen_labels` names them. The tokens
        the run's vocabulary lacks are counted on the first texts (`self.last_unknown`,
        `UnknownTokens`; its `warning()` says when they are most of them). Labels the file
        writes apart but that are read as one (`pos` and `pos `, NFC and NFD) are said in
        `self.last_merged` (`merged_spellings`, the warning `finetune` gives its files).
        A classifier's `self.last_majority` is `majority_baseline` on the file: the accuracy
        of always saying the run's training majority (`train_majority`; None where the run
        does not record it), the floor `finetune` reports for its test split. The training
        majority, not the file's: the file's own would score the floor with its gold labels,
        which no model knows, and a file shifted to another class would flatter it.

        `labels` is not taken: texts in memory are scored as
        `classification_metrics(labels, run.predict(texts), run.labels)` (a regression's
        as `vecgraft.finetune.scoring.regression_metrics(targets, run.predict_values(texts))`).
        """
        _check_scored_path(path, labels, regression=self.regression)
        from vecgraft.finetune.data import LabelMap
        from vecgraft.finetune.labels import UnseenLabels, merged_spellings

        self.last_unseen = UnseenLabels()
        data, self.last_read = read_scored_file(
            path, text_column=text_column, label_column=label_column,
            encoding=encoding, errors=errors, bad_rows=bad_rows, regression=self.regression,
        )  # fmt: skip
        self.last_merged = merged_spellings(data, self.last_read)
        self.last_unknown = self.unknown_tokens(data.texts)
        if self.regression:
            return regression_report(
                data, self.predict_values, self.train_range, unfinished=self._unfinished,
                train_mean=self.train_mean,
            )  # fmt: skip
        gold, self.last_unseen = LabelMap(self.labels).encode_scored(data.labels)
        self.last_unseen.check_some_seen(
            data.source, len(gold), self.labels, "the run's training labels"
        )
        self.last_majority = self._majority_on(gold)
        return self._label_metrics(data.texts, gold, self.labels + self.last_unseen.labels)

    def _majority_on(self, gold: Sequence[int]) -> dict[str, Any] | None:
        """`majority_baseline` of the training majority on the label ids `gold`, or None."""
        from vecgraft.finetune.metrics import majority_baseline

        label = self.train_majority  # a malformed record stops here, before scoring
        if label is None:
            return None
        # the one label stands for the training targets: their majority is it, exactly
        return {**majority_baseline([self.labels.index(label)], gold, self.labels),
                **(self.train_majority_tie or {})}  # fmt: skip


def _check_scored_path(path: object, labels: object, *, regression: bool = False) -> None:
    """Refuse texts (and labels) where `evaluate` reads a labelled file.

    Why: `evaluate(["good"])` was pathlib's TypeError, `evaluate(texts, labels)` Python's
    "takes 2 positional arguments but 3 were given"; neither said what evaluate takes.
    A path then a column name (`evaluate("test.csv", "sentiment")`) is told the column
    is a keyword, and a regression is pointed at `predict_values`, not `predict` (which
    refuses a regression).
    """
    from vecgraft.errors import ArgumentTypeError
    from vecgraft.io.arguments import describe

    scored = _SCORE_VALUES if regression else _SCORE_TEXTS
    if isinstance(path, str | os.PathLike) and isinstance(labels, str):
        raise ArgumentTypeError(
            f"evaluate() takes the label column by keyword: "
            f"evaluate({os.fspath(path)!r}, label_column={labels!r})"
        )
    if labels is not None:
        raise ArgumentTypeError(
            f"evaluate() takes the path of a labelled file (text and label columns), not "
            f"texts and labels{scored}"
        )
    if not isinstance(path, str | os.PathLike):
        raise ArgumentTypeError(
            f"evaluate(): path must be the path (str or os.PathLike) of a labelled file "
            f"(text and label columns), got {describe(path)}{scored}"
        )


_SCORE_TEXTS = (
    "; texts in memory are labelled by predict(texts) and scored by "
    "classification_metrics(labels, predict(texts), run.labels)"
)
# a regression's `predict` refuses it: its numbers come from `predict_values`
_SCORE_VALUES = (
    "; a regression's texts in memory are scored by "
    "vecgraft.finetune.scoring.regression_metrics(targets, run.predict_values(texts))"
)


class Predictor(ScoresFiles):
    """A trained classifier with its tokenizer, vocabulary and labels.

    Args:
        model: the classifier (eval mode).
        tokenizer: the run's tokenizer (same settings as at training time).
        vocab: the run's vocabulary.
        labels: label names; column i of `predict_proba` is `labels[i]`.
        max_length: truncation length used at training time.
        device: where the model runs.
        encoder: `encoder(texts) -> token ids` replacing tokenizer + vocab (a family with
            its own tokenizer, such as `hf`).
        pad_index: padding id for `encoder`'s ids (default: the vocabulary's).
    """

    def __init__(
        self,
        model: nn.Module,
        tokenizer: Any,
        vocab: Vocab,
        labels: Sequence[str],
        *,
        max_length: int | None,
        device: torch.device,
        batch_size: int = 64,
        regression: bool = False,
        encoder: Callable[[Sequence[str]], list[list[int]]] | None = None,
        pad_index: int | None = None,
    ) -> None:
        self.regression = regression
        self.model = model.eval()
        self.kind: str | None = None  # the run's model kind (`load_run` sets it)
        self.encoder = encoder
        self.pad_index = pad_index
        self.tokenizer = tokenizer
        self.vocab = vocab
        self.labels = list(labels)
        self.max_length = max_length
        self.device = device
        self.batch_size = batch_size
        self.last_read: Any = None  # the reader's report of the last `evaluate` data

    def model_kind(self) -> str:
        """The run's model kind where `load_run` read it, else the model's own."""
        return self.kind if self.kind is not None else super().model_kind()

    def _encode(self, texts: Sequence[str], labels: Sequence[int] | None = None) -> EncodedData:
        if self.encoder is not None:
            ids = self.encoder(list(texts))
        else:
            ids = encode_texts(list(texts), self.tokenizer, self.vocab, self.max_length)
        pad = self.pad_index if self.pad_index is not None else self.vocab.pad_index
        pad = pad if pad is not None else 0
        targets = list(labels) if labels is not None else [0] * len(ids)
        return EncodedData(ids, targets, pad, regression=self.regression)

    def unknown_tokens(self, texts: Sequence[str]) -> Any:
        """`UnknownTokens` of `texts` under the run's tokenizer and vocabulary.

        A family with its own encoder counts with it (`hf`: the pieces read as [UNK]).
        """
        if self.encoder is not None:
            count = getattr(self.encoder, "unknown_tokens", None)
            return count(texts) if count is not None else None
        from vecgraft.finetune.unknown import count_unknown

        return count_unknown(self.tokenizer, self.vocab, texts)

    def predict_values(self, texts: Iterable[str]) -> list[float]:
        """A regression run's predicted number for each text."""
        if not self.regression:
            raise ConfigError("predict_values needs a regression run (--task regression)")
        data = self._encode(text_list(texts))
        if not len(data):
            return []
        out = predict_logits(
            self.model, data, list(range(len(data))), device=self.device,
            batch_size=self.batch_size,
        )
        return [float(v) for v in out[:, 0].tolist()]

    def predict_proba(self, texts: Iterable[str]) -> torch.Tensor:
        """Class probabilities [N, C] (columns in `self.labels` order)."""
        self._classes_only("predict_proba")
        return class_probabilities(
            self.model, self._encode(text_list(texts)), len(self.labels), device=self.device,
            batch_size=self.batch_size,
        )  # fmt: skip

    def _label_metrics(self, texts: Sequence[str], y: Sequence[int], names: list[str]) -> Any:
        from vecgraft.finetune.metrics import LogLossSum, classification_metrics

        y_true: list[int] = []
        y_pred: list[int] = []
        log_loss = LogLossSum()
        for start in range(0, len(texts), SCORE_CHUNK):
            end = start + SCORE_CHUNK
            result = evaluate_model(
                self.model,
                self._encode(texts[start:end], y[start:end]),
                len(self.labels),
                device=self.device,
                batch_size=self.batch_size,
                num_labels=len(names),
            )
            true, pred = result.pairs()
            y_true += true
            y_pred += pred
            seen = sum(int(label) < len(self.labels) for label in y[start:end])
            log_loss.add_mean(result.log_loss, seen)
        metrics = classification_metrics(y_true, y_pred, names, predictable=len(self.labels))
        metrics.log_loss = log_loss.mean()
        return metrics


class FusedPredictor(ScoresFiles):
    """A `fuse_linear` run: its network's and its linear model's outputs, weighted.

    Class probabilities, or the predicted numbers of a regression.
    """

    def __init__(self, network: Predictor, fusion: Any) -> None:
        if fusion.regression != network.regression:  # a fusion/ folder from another run
            task = "a regression" if network.regression else "a classifier"
            raise CheckpointError(f"the run's fusion/ linear model does not fit {task} network")
        if fusion.num_classes != len(network.labels):  # an edited count, or another run's
            raise CheckpointError(
                f"{fusion.source}: num_classes {fusion.num_classes}, but the network has "
                f"{len(network.labels)} labels"
            )
        self.network = network
        self.fusion = fusion  # vecgraft.finetune.fusion.Fusion
        self.fused = True
        self.labels = network.labels
        self.regression = network.regression
        self.last_read: Any = None
        # the network's parts, as a plain `Predictor` has them (scripts that read the tuned
        # embedding from `load_run(run).model` keep working now that fusion is the default)
        self.model, self.tokenizer, self.vocab = network.model, network.tokenizer, network.vocab
        self.max_length, self.device = network.max_length, network.device

    def model_kind(self) -> str:
        """The network's kind (the linear model it is fused with is `fused=True`)."""
        return self.network.model_kind()

    def unknown_tokens(self, texts: Sequence[str]) -> Any:
        """The network's `UnknownTokens` (the linear model has no unknown word)."""
        return self.network.unknown_tokens(texts)

    def predict_values(self, texts: Iterable[str]) -> list[float]:
        """A regression run's fused number for each text."""
        texts = text_list(texts)  # read twice: by the network and by the linear model
        neural = np.asarray(self.network.predict_values(texts), dtype=np.float32)
        return [float(v) for v in self.fusion.values(neural, texts)]

    def predict_proba(self, texts: Iterable[str]) -> torch.Tensor:
        """Class probabilities [N, C] (columns in `self.labels` order)."""
        self._classes_only("predict_proba")
        texts = text_list(texts)  # read twice: by the network and by the linear model
        neural = self.network.predict_proba(texts).cpu().numpy()
        return torch.from_numpy(self.fusion.proba(neural, texts))


def load_run(
    run_dir: str | os.PathLike[str], *, checkpoint: str = "best", device: str = "auto"
) -> RunPredictor:
    """The `checkpoint` ("best" or "last") of a finished run folder, ready to predict.

    A `--model linear` run (one fitted model, no checkpoints) gives a `LinearPredictor`
    with the same `labels` / `predict` / `predict_proba` / `evaluate`; a `fuse_linear` run a
    `FusedPredictor` (its weight was chosen for the best checkpoint, and is used with "last"
    too); an ensemble run (`ensemble.json`) an `EnsemblePredictor` averaging its members.
    Each rebuilds the run's own tokenizer and vocabulary from the folder, so raw texts go in.

    All of them have `labels`, `models` (the trained models: one, or one per ensemble
    member), `evaluate`, and `predict` / `predict_proba` for a classifier or
    `predict_values` for a regression (whose `predict` says to call it). A network's
    predictor, alone or fused, also has `model`, `tokenizer` and `vocab`; an ensemble has
    `tokenizer`, `vocabs` (one per member) and no single `model` (`EnsemblePredictor`).
    A regression's has `train_range`, its training targets' range from metrics.json, which
    `evaluate`'s `rounded_accuracy` clips to (None in a run saved before it was kept, or
    not finished: no `rounded_accuracy`, and the report's `note` says why). A malformed
    one stops `evaluate` (a CheckpointError naming the file), not `predict`.

    The folder is held while it is read (`read_lock`, shared, as `vecgraft evaluate` holds
    it), and only then: a folder that a run (`finetune`, `--overwrite` or `--resume` into
    it, an ensemble member training) is writing is refused at once with a ConfigError, and
    a run started into it while it is read fails at once. Everything the predictor needs
    is read before it returns (metrics.json's range, the jieba user dictionary the
    tokenizer would read at the first text), so a run that replaces the folder afterwards
    does not change its answers.

    Args:
        run_dir: a `finetune` run folder (`--out`); a `tune` folder's model is its `final/`.
        checkpoint: "best" (the epoch chosen on the validation split) or "last".
        device: "auto" (CUDA when available), "cpu", "cuda", "cuda:1", ...

    Raises:
        CheckpointError: not a run folder, a run still training or interrupted before that
            checkpoint, or files that do not fit together.
        ConfigError: a run is writing the folder now (it holds its lock).

    Example:
        >>> predictor = load_run("runs/cnn")  # doctest: +SKIP
        >>> predictor.predict(["Shares rallied after the results"])  # doctest: +SKIP
        ['business']
        >>> predictor.evaluate("test.csv").format_table()  # doctest: +SKIP
    """
    from vecgraft.finetune.rundir import read_lock

    with read_lock(run_dir):
        return held_load_run(run_dir, checkpoint=checkpoint, device=device)


def held_load_run(
    run_dir: str | os.PathLike[str], *, checkpoint: str = "best", device: str = "auto"
) -> RunPredictor:
    """`load_run` of a folder the caller holds (`read_lock`, or the `run_lock` of its run).

    Why: `vecgraft evaluate` and `predict` hold the folder beyond the load (until the
    scores are written, the last text answered), and a run scores its ensemble's members
    under its own exclusive lock, which a reader's lock taken again would collide with.
    """
    run = Path(run_dir)
    metrics = _MetricsFile.read(run)  # once: the fusion check and `evaluate` both use it
    predictor = _load_predictor(run, checkpoint, device, metrics)
    predictor.run_dir = run
    _read_metrics_record(predictor, run, metrics)
    return predictor


class _MetricsFile:
    """A run's metrics.json read once: the record (None without one), or why it is unreadable.

    Why: `load_run` read it twice, for the fusion check and for what `evaluate` scores; an
    unreadable one is raised where each use used to raise it (the fusion check at once,
    `evaluate` when it needs it).
    """

    def __init__(self, record: dict[str, Any] | None, error: CheckpointError | None) -> None:
        self._record, self._error = record, error

    @classmethod
    def read(cls, run: Path) -> _MetricsFile:
        """`_read_metrics(run)`, its CheckpointError kept rather than raised."""
        try:
            return cls(_read_metrics(run), None)
        except CheckpointError as exc:
            return cls(None, exc)

    def record(self) -> dict[str, Any] | None:
        """The record, None without a metrics.json; raises the read's CheckpointError."""
        if self._error is not None:
            raise self._error
        return self._record


def _read_metrics_record(predictor: Any, run: Path, read: _MetricsFile) -> None:
    """Set what `evaluate` scores beside the model from metrics.json, read already (`read`).

    A regression's training range and mean; a classifier's training majority label. A bad
    record is kept for `evaluate`, which needs it, and raised there: `predict` never reads
    it, and a malformed one must not stop it.
    """
    try:
        metrics = read.record()
        if predictor.regression:
            predictor.train_range = saved_train_range(metrics, run)
            predictor.train_mean = saved_train_mean(metrics, run)
        else:
            predictor.train_majority = saved_train_majority(metrics, run, predictor.labels)
            predictor.train_majority_tie = saved_majority_tie(metrics, predictor.labels)
    except CheckpointError as exc:
        predictor._metrics_error = exc
        return
    predictor._unfinished = metrics is None


def refuse_tune_folder(path: Path) -> None:
    """A `vecgraft tune` folder is named as one, with the run that holds its model.

    Shared by predict, evaluate and export: export said "cannot detect the vector format
    of this folder" where the others named TUNEFOLDER/final.
    """
    if (path / "tune.json").is_file() and (path / "final").is_dir():
        raise CheckpointError(f"{path}: a tune folder; its model is the run in {path / 'final'}")


def _load_predictor(
    run: Path, checkpoint: str, device: str, metrics: _MetricsFile
) -> RunPredictor:
    """`load_run`'s predictor, before the run's training range is set on it."""
    from vecgraft.finetune.linear_recipe import is_linear_run, load_linear_run
    from vecgraft.text.tokenize import Tokenizer

    if not run.is_dir():
        raise CheckpointError(f"{run}: no such run folder")
    refuse_tune_folder(run)
    if is_linear_run(run):
        return load_linear_run(run)
    from vecgraft.finetune.ensemble import held_load_ensemble, is_ensemble_run

    if is_ensemble_run(run):  # its members' mean
        return held_load_ensemble(run, checkpoint=checkpoint, device=device)
    _check_finished(run, checkpoint)
    ckpt: Checkpoint = load_checkpoint(run / checkpoint, remedy=_remedy(run, checkpoint))
    meta = ckpt.model_meta
    source = str(ckpt.path / "model.json")
    with torch.device("meta"):  # shapes only: checked against the weights before allocating
        skeleton = rebuild_model(meta, source=source)
    ckpt.check_fits(skeleton)
    model = rebuild_model(meta, source=source)
    ckpt.load_weights(model)
    dev = resolve_device(device)
    load_encoder = getattr(model_family(meta["kind"]), "load_encoder", None)
    tokenizer, encoder = None, None
    if load_encoder is not None:  # the family tokenizes with its own saved tokenizer
        encoder = load_encoder(meta, ckpt.path)
    else:
        try:
            tokenizer = Tokenizer.from_config(meta["tokenizer"], root=ckpt.path, saved=True)
        except KeyError as exc:
            raise CheckpointError(f"{ckpt.path / 'model.json'}: no tokenizer settings") from exc
        tokenizer.read_user_dict()  # the checkpoint's copy, read while the folder is held
    predictor = Predictor(
        model.to(dev),
        tokenizer,
        ckpt.vocab,
        ckpt.labels,
        max_length=meta.get("max_length"),
        device=dev,
        regression=meta.get("task") == "regression",
        encoder=encoder,
        pad_index=meta.get("padding_idx") if encoder is not None else None,
    )
    predictor.kind = str(meta["kind"])
    return _with_fusion(run, predictor, metrics)


def _remedy(run: Path, checkpoint: str) -> Remedy:
    """Damaged weights: retrain, or use the run's other checkpoint where predict takes it.

    An unfinished run's best/ is refused (`_check_finished`), so not offered.
    """
    other = other_checkpoint(run, checkpoint)
    if other is None or (other.name == "best" and not (run / "metrics.json").is_file()):
        return Remedy()
    name = other.name
    return Remedy("retrain", Hint(f", or use {name}/ ({{}})", Opt("checkpoint", f"'{name}'", name)))


def _with_fusion(
    run: Path, predictor: Predictor, read: _MetricsFile
) -> Predictor | FusedPredictor:
    """`predictor`, fused with the run's `fusion/` linear model where the run was fused.

    Whether it was is what its metrics.json says (its "fusion" block), not whether a
    fusion/ folder is there: a fused run copied without it predicted with the network alone
    (20 points below its metrics, silently), and a fusion/ the run never wrote (unlisted,
    copied in) steered its answers. Such a stray folder is ignored rather than refused: the
    run it sits in is whole, and predicts as its metrics say. A run without metrics.json
    (`checkpoint="last"` of an unfinished one) is fused where a fusion/ folder is, as before.
    """
    from vecgraft.finetune.fusion import FUSION_DIR, Fusion

    metrics = read.record()
    record = metrics.get("fusion") if metrics is not None else None
    if metrics is not None and not record:
        return predictor
    fusion = Fusion.load(run)
    if fusion is None:
        if record:
            raise CheckpointError(
                f"{run / FUSION_DIR}: missing, but the run was fused with the TF-IDF linear model "
                f"(the \"fusion\" block of {run / 'metrics.json'}); its network alone would not "
                "predict as the run scored. Copy the run folder whole"
            )
        return predictor
    fused = FusedPredictor(predictor, fusion)
    if isinstance(record, Mapping):
        fusion.check_record(record, run / "metrics.json")
    return fused


def saved_train_range(metrics: dict[str, Any] | None, run: Path) -> TargetRange | None:
    """The training targets' range a regression run's metrics.json (`metrics`) keeps.

    None where there is none: a run saved before it was kept, or the last checkpoint of an
    unfinished run (no metrics.json yet). A malformed one is a CheckpointError naming it.
    """
    saved = metrics.get("train_range") if metrics is not None else None
    if saved is None:
        return None
    try:
        return TargetRange.from_dict(saved)
    except ValueError as exc:
        raise CheckpointError(f"{run / 'metrics.json'}: \"train_range\": {exc}") from exc


def saved_train_mean(metrics: dict[str, Any] | None, run: Path) -> float | None:
    """The training mean a regression run's metrics.json (`metrics`) keeps ("mean_baseline").

    None where there is none (a run saved before it was kept, or unfinished); one that is
    not a finite number is a CheckpointError naming the file.
    """
    saved = metrics.get("mean_baseline") if metrics is not None else None
    if saved is None:
        return None
    value = saved.get("value") if isinstance(saved, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise CheckpointError(f"{run / 'metrics.json'}: \"mean_baseline\": not a record with "
                              f"a finite \"value\": {saved!r:.80}")  # fmt: skip
    return float(value)


def saved_train_majority(
    metrics: dict[str, Any] | None, run: Path, labels: Sequence[str]
) -> str | None:
    """The training majority label a classifier's metrics.json keeps ("majority_baseline").

    None where there is none (a run saved before it was kept, or unfinished); one that is
    not among the run's `labels` is a CheckpointError naming the file.
    """
    saved = metrics.get("majority_baseline") if metrics is not None else None
    if saved is None:
        return None
    label = saved.get("label") if isinstance(saved, dict) else None
    if not isinstance(label, str) or label not in labels:
        raise CheckpointError(f"{run / 'metrics.json'}: \"majority_baseline\": not a record "
                              f"whose \"label\" is one of the run's labels: "
                              f"{saved!r:.80}")  # fmt: skip
    return label


def saved_majority_tie(
    metrics: dict[str, Any] | None, labels: Sequence[str]
) -> dict[str, Any] | None:
    """The labels tied for the training majority ("tied", "rows") in metrics.json, or None.

    None without a tie, and where the record is not one (the label is what evaluate scores;
    the tie only words its line).
    """
    saved = (metrics or {}).get("majority_baseline")
    tied = saved.get("tied") if isinstance(saved, dict) else None
    rows = saved.get("rows") if isinstance(saved, dict) else None
    if not isinstance(tied, list) or not all(isinstance(x, str) and x in labels for x in tied):
        return None
    return {"tied": tied, **({"rows": rows} if isinstance(rows, int) else {})}


def _read_metrics(run: Path) -> dict[str, Any] | None:
    """The run's metrics.json, None without one; an unreadable one is a CheckpointError."""
    from vecgraft.finetune.rundir import read_json_record

    file = run / "metrics.json"
    if not file.is_file():
        return None
    data = read_json_record(file)
    if not isinstance(data, dict):
        raise CheckpointError(f"{file}: not a metrics record (expected a JSON object)")
    return data


def _check_finished(run: Path, checkpoint: str) -> None:
    """A folder that is no run, or a run still training or interrupted, is a clear error.

    An unfinished run's best/ is the best epoch so far, without the fused linear model a
    finished run predicts with: its answers would silently differ from the final ones. Its
    last/ stays reachable on request (`checkpoint="last"`). A finished run's best/ that
    is gone is said so, offering last/ (it was "RUN/best: no such checkpoint folder").
    """
    if (run / "metrics.json").is_file():
        if checkpoint == "best" and folder_or_old_twin(run / "best") is None:
            problem, stand_in = missing_best(run)
            hint = Hint("; pass {} (its last epoch), or put best/ back",
                        Opt("checkpoint", "'last'", "last"))  # fmt: skip
            raise CheckpointError(problem, hint=hint if stand_in is not None else None)
        return
    if not (run / "config.json").is_file():
        raise CheckpointError(
            f"{run}: not a run folder (no config.json); give the --out folder of a "
            "`vecgraft finetune` run"
        )
    last = (run / "last").is_dir()
    if checkpoint != "best" and last:
        return
    # before its first checkpoint there is no last/ to offer ("--checkpoint last" then said
    # "no such checkpoint folder"), and an --overwrite's earlier run is still set aside
    raise CheckpointError(
        f"{run}: the run has not finished (no metrics.json)"
        f"{'' if last else ' and has saved no checkpoint yet (no last/)'}: it is still "
        f"training or was interrupted; finish it with `vecgraft finetune --out {run} --resume`"
        f"{parked_run_note(run)}",
        hint=Hint(
            ", or pass {} for the last epoch saved so far", Opt("checkpoint", "'last'", "last")
        ) if last else None,
    )


def parked_run_note(run: Path) -> str:
    """`; the run it replaces ...` where an unfinished run's --overwrite set one aside, else "".

    The earlier run waits in `.replaced/` until the new run's first checkpoint removes it;
    an error about the unfinished run said nothing of it.
    """
    from vecgraft.finetune.rundir import REPLACED

    held = run / REPLACED
    if not (held / "config.json").is_file():
        return ""
    return (
        f"; the run it replaces (--overwrite) waits in {held}, removed at this run's first "
        f"checkpoint: `vecgraft predict {held}` reads it; move it elsewhere to keep it"
    )


def read_scored_file(
    path: str | os.PathLike[str], *, regression: bool = False, **options: Any
) -> tuple[Any, Any]:
    """(labelled rows, read report) of a file to evaluate on; no rows is a DataError.

    Shared by every predictor (neural and linear), so `evaluate` reads a file the same way
    whatever the model family. A `regression` run's NA, null or None label is a missing
    number, its row dropped and reported (refused under bad_rows="error") as `finetune`
    reads it (`drop_na_like`), not "not a number".
    """
    from vecgraft.finetune.data import read_labelled
    from vecgraft.finetune.prepare import drop_na_like
    try:
        data, bad = read_labelled(path, **options)
    except MissingColumnError as exc:
        raise _unlabelled_file_error(exc) from None
    if regression:
        data = drop_na_like(data, bad, options.get("bad_rows", "skip"))
    if not data.texts:
        raise DataError(f"{path}: no labelled rows")
    return data, bad


# a file of texts without gold labels, given to `evaluate`: what labels them instead
PREDICT_INSTEAD = "; to label texts without gold labels, use vecgraft predict"


def _unlabelled_file_error(exc: MissingColumnError) -> DataError:
    """`exc`, saying that `vecgraft predict` labels texts where only the label column is missing.

    `evaluate` of a file of texts alone said only "no label column 'label'; columns found:
    'text'". A name near the label's (`Label`) is a typo, not a file without labels.
    """
    if exc.roles != ("label",) or exc.near:
        return exc
    hint = exc.hint
    if hint is None:
        return DataError(f"{exc.args[0]}{PREDICT_INSTEAD}")
    return DataError(exc.args[0], hint=Hint(hint.template + PREDICT_INSTEAD, *hint.options))


def regression_report(
    data: Any,
    predict_values: Any,
    train_range: TargetRange | None = None,
    *,
    unfinished: bool = False,
    train_mean: float | None = None,
) -> Any:
    """RegressionReport of `predict_values(texts)` against the file's numeric labels.

    `predict_values` is called on the texts `SCORE_CHUNK` at a time (`_in_chunks`).
    `rounded_accuracy` clips to `train_range` (the run's training targets, a `TargetRange`);
    without it the report leaves that score out and its `note` says why, where labels on a
    scale (`rating_scale`) would have had one: the run has not finished (`unfinished`: no
    metrics.json yet, its last/ evaluated) or was saved before the range was kept. Given the run's
    `train_mean`, the report's `mean_baseline` is it scored on the file's labels.
    """
    from vecgraft.finetune.metrics import mean_baseline
    from vecgraft.finetune.recipe import RegressionReport, numeric_targets

    truth = numeric_targets(data)
    values = [v for part in _in_chunks(data.texts) for v in predict_values(part)]
    note = None
    if train_range is None and rating_scale(np.asarray(truth)) and unfinished:
        note = (
            "rounded_accuracy left out: the run has not finished, and the range of its "
            "training labels is recorded when it does (metrics.json's \"train_range\"); the "
            "scored labels' own range would inflate it"
        )
    elif train_range is None and rating_scale(np.asarray(truth)):
        note = (
            "rounded_accuracy left out: the run does not record the range of its training "
            "labels (metrics.json's \"train_range\", which runs saved before it lack), and "
            "the scored labels' own range would inflate it; train the run again to have it"
        )
    # the one training mean stands for the training targets: their mean is it, exactly
    baseline = mean_baseline([train_mean], truth) if train_mean is not None else None
    scores = regression_metrics(truth, values, train_range=train_range)
    return RegressionReport(scores, note, baseline)
