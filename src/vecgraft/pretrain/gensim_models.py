"""word2vec and fastText through gensim, the field's reference implementation.

vecgraft adds the corpus streaming (its tokenizers), a progress bar over epochs and a per-epoch
loss record; the training itself is gensim's, called with gensim's option names and defaults.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vecgraft._util.extras import require
from vecgraft.pretrain.config import Method, PretrainConfig
from vecgraft.pretrain.corpus import empty_corpus_error


@dataclass
class GensimResult:
    """A trained gensim model with what vecgraft reports about it.

    Attributes:
        model: the gensim Word2Vec or FastText model.
        words: vocabulary in gensim's order (most frequent first).
        counts: corpus count of each word, same order.
        matrix: float32 [len(words), dim] word vectors.
        losses: training loss per epoch (gensim computes none for fastText: empty).
        words_trained: effective words trained on over all epochs (gensim's count).
        raw_words: raw words seen over all epochs.
        kept_words: words an epoch is expected to train on after min_count and down-sampling
            (each word's count times gensim's keep probability, `sample_int` / 2**32):
            random draws make `words_trained` vary around epochs x this.
        train_seconds: the time gensim's train() took (its epochs alone: no vocabulary
            scan, no model setup, no writing), the time its rate is over.
    """

    model: Any
    words: list[str]
    counts: list[int]
    matrix: np.ndarray
    losses: list[float] = field(default_factory=list)
    words_trained: int = 0
    raw_words: int = 0
    kept_words: float = 0.0
    train_seconds: float = 0.0


def _gensim_kwargs(config: PretrainConfig) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "vector_size": config.dim,
        "window": config.resolved_window,
        "min_count": config.min_count,
        "sg": config.sg,
        "hs": config.hs,
        "negative": config.negative,
        "sample": config.sample,
        "alpha": config.resolved_learning_rate,
        "min_alpha": config.min_alpha,
        "seed": config.seed,
        "workers": config.workers,
        "epochs": config.resolved_epochs,
        "max_final_vocab": config.max_vocab,
    }
    if config.method_enum is Method.FASTTEXT:
        kwargs.update(min_n=config.min_n, max_n=config.max_n, bucket=config.bucket)
    return kwargs


def _callback(progress: bool | None, epochs: int, losses: list[float], desc: str) -> Any:
    """A gensim callback that reports each epoch and records its loss.

    Progress as GloVe's: a bar on a terminal or a notebook's widget, one plain line per epoch
    when stderr is a log file or pipe (a tqdm bar is silent there, so a long run showed
    nothing until it ended).
    """
    from gensim.models.callbacks import CallbackAny2Vec

    from vecgraft._util.console import Progress

    class EpochProgress(CallbackAny2Vec):
        def __init__(self) -> None:
            self.bar: Progress | None = None
            self.previous = 0.0

        def on_train_begin(self, model: Any) -> None:
            self.bar = Progress(epochs, desc, enabled=progress)

        def on_epoch_end(self, model: Any) -> None:
            # gensim's running loss is cumulative over the train() call
            total = float(model.get_latest_training_loss())
            postfix = {}
            if model.compute_loss:
                losses.append(total - self.previous)
                postfix["loss"] = f"{total - self.previous:.4g}"
            self.previous = total
            if self.bar is not None:
                self.bar.update(1, **postfix)

        def on_train_end(self, model: Any) -> None:
            self.close()

        def close(self) -> None:
            """Close the bar: also where gensim never ends the training (Ctrl-C)."""
            if self.bar is not None:
                self.bar.close()
                self.bar = None

    return EpochProgress()


def require_gensim() -> Any:
    """`gensim.models`, or MissingExtraError naming the train extra.

    One call for `train_gensim` and for `vecgraft pretrain`, which checks before anything
    is printed (fastText printed its n-gram table plan, then failed).
    """
    return require("gensim.models", "train", feature="word2vec/fastText pretraining")


def train_gensim(corpus: Iterable[list[str]], config: PretrainConfig) -> GensimResult:
    """Build the vocabulary and train word2vec or fastText on a re-iterable corpus.

    Args:
        corpus: a restartable iterable of token lists (e.g. `vecgraft.pretrain.Corpus`).
        config: the run's options (method word2vec or fasttext).

    Returns:
        GensimResult with the model, vocabulary, counts, vectors and per-epoch losses.

    Raises:
        DataError: the corpus has no word occurring `min_count` times.
        MissingExtraError: gensim is not installed (the train extra).
    """
    models = require_gensim()
    method = config.method_enum
    cls = models.FastText if method is Method.FASTTEXT else models.Word2Vec
    model = cls(**_gensim_kwargs(config))
    model.build_vocab(corpus_iterable=corpus)
    if len(model.wv) == 0:
        raise empty_corpus_error(
            config.corpus,
            config.min_count,
            model.corpus_total_words,
            bool(getattr(getattr(corpus, "tokenizer", None), "stopwords", None)),
        )
    losses: list[float] = []
    progress = _callback(config.progress, model.epochs, losses, f"{method.value} epoch")
    start = time.perf_counter()
    try:
        trained, raw = model.train(
            corpus_iterable=corpus,
            total_examples=model.corpus_count,
            total_words=model.corpus_total_words,
            epochs=model.epochs,
            compute_loss=method is Method.WORD2VEC,
            callbacks=[progress],
        )
    finally:  # after Ctrl-C, the open bar was drawn again below "interrupted" at exit
        progress.close()
    seconds = time.perf_counter() - start
    wv = model.wv
    words = list(wv.index_to_key)
    counts = [int(wv.get_vecattr(w, "count")) for w in words]
    keep = [min(1.0, int(wv.get_vecattr(w, "sample_int")) / 2**32) for w in words]
    kept = float(np.dot(counts, keep)) if words else 0.0
    matrix = np.asarray(wv.vectors, dtype=np.float32)
    return GensimResult(
        model, words, counts, matrix, losses, int(trained), int(raw), kept, seconds
    )


def save_fasttext_bin(model: Any, path: Any) -> None:
    """Write a gensim FastText model in Facebook's `.bin` format (no pickle), atomically."""
    import os
    from pathlib import Path

    from vecgraft._util.atomic import replace_file

    fasttext = require("gensim.models.fasttext", "train", feature="fastText export")
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        fasttext.save_facebook_model(model, os.fspath(tmp))
        replace_file(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
