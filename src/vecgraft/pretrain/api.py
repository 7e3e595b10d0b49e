"""`pretrain(config)`: corpus -> vocabulary -> vectors -> output folder."""

from __future__ import annotations

import copy
import time
import warnings
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vecgraft._util.console import Progress
from vecgraft._util.extras import install_hint
from vecgraft.errors import ConfigError, UnsegmentedTextWarning
from vecgraft.pretrain.config import Method, PretrainConfig
from vecgraft.pretrain.corpus import (
    GENSIM_MAX_SENTENCE,
    READ_LINE_SECONDS,
    Corpus,
    describe_sources,
    empty_corpus_error,
    no_pairs_error,
)
from vecgraft.vectors import Vectors

if TYPE_CHECKING:
    from vecgraft.pretrain.cooccur import Cooccurrence
    from vecgraft.pretrain.gensim_models import GensimResult
    from vecgraft.pretrain.glove import GloveOptions
    from vecgraft.text.vocab import Vocab


@dataclass
class PretrainResult:
    """What a run produced.

    Attributes:
        out: the output folder.
        vectors: the trained vectors (with subwords for fastText).
        metadata: the content of metadata.json. Its speeds are over training time alone
            (not startup or the vocabulary scan): word2vec/fastText's `words_per_second` is
            `words_trained` (the words the epochs trained, after subsampling and the
            minimum count) / `training_seconds`; GloVe's `training_entries_per_second`
            is co-occurrence entries per second, the mean of its epochs.
        files: output files by role.
        losses: loss per epoch (empty for fastText: gensim reports none).
    """

    out: Path
    vectors: Vectors
    metadata: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)
    losses: list[float] = field(default_factory=list)

    def __repr__(self) -> str:
        # the dataclass's repr dumped every vector's owner and all of metadata.json (~2 KB)
        rows, dim = len(self.vectors), self.vectors.dim
        loss = self.metadata.get("final_loss")
        shown = "" if loss is None else f", final_loss={loss:.6g}"
        return (
            f"PretrainResult(out={str(self.out)!r}, method={self.metadata.get('method')!r}, "
            f"vectors={rows:,}x{dim}{shown})"
        )

    def summary(self) -> str:
        """One closing line: tokens seen, vocabulary size, speed, loss.

        The speed is what the epochs pass over: corpus words for word2vec/fastText,
        co-occurrence entries for GloVe (whose epochs never see the corpus); both are the
        training rate, over the epochs' time alone (not the corpus scan or the setup).
        """
        m = self.metadata
        loss = m.get("final_loss")
        loss_text = "n/a (gensim reports no fastText loss)" if loss is None else f"{loss:.6g}"
        if "words_per_second" in m:
            speed = (
                f"{m['words_trained']:,} words trained at {m['words_per_second']:,.0f} "
                "words/s (training time only)"
            )
        else:
            speed = (
                f"{m['cooccurrence_nonzero']:,} co-occurrence entries at "
                f"{m['training_entries_per_second']:,.0f} entries/s per epoch (training time "
                "only)"
            )
        zh = _zh_mode_note(m.get("zh_mode_chosen"))
        return (
            f"{m['method']}: {m['tokens_seen']:,} tokens{zh}, {m['vocab_size']:,} words x "
            f"{m['options']['dim']} dims, {speed}, "
            f"final loss {loss_text}, {m['duration_seconds']:.1f}s -> {self.out}"
        )


def _zh_mode_note(chosen: dict[str, Any] | None) -> str:
    """` (jieba words + characters: the corpus has 22,553 words, < 100,000; ...)`, or ""."""
    if not chosen:
        return ""
    if chosen["zh_mode"] == "word+char":
        how = f"words + characters: the corpus has {chosen['words']:,} words, <"
    else:
        how = "words: the corpus has at least"
    return f" (jieba {how} {chosen['below']:,}; --zh-mode to choose)"


def _reading(config: PretrainConfig) -> dict[str, Any]:
    """How the corpus is read, one set for every pass (the Chinese sample's and training's)."""
    return {"one_per": config.one_per, "column": config.column, "encoding": config.encoding,
            "errors": config.errors, "bad_rows": config.bad_rows}  # fmt: skip


def _corpus(
    config: PretrainConfig, max_sentence_length: int | None, *, progress: bool = True
) -> Corpus:
    """The run's corpus; `progress`: show the first pass's reading as `config.progress` says."""
    return Corpus(
        config.corpus,
        config.tokenizer,
        **_reading(config),
        max_sentence_length=max_sentence_length,
        cache_tokens=config.cache_tokens,
        progress=config.progress if progress else False,
    )


def _train_glove(
    config: PretrainConfig, corpus: Corpus, facts: dict[str, Any]
) -> tuple[Vectors, list[int], list[float]]:
    """GloVe: vocabulary pass, co-occurrence pass, then training on the counts."""
    from vecgraft.pretrain.glove import train_glove

    vocab = _glove_vocab(config, corpus)
    cooc = _count_cooccurrences(config, corpus, vocab, facts)
    if cooc.nnz == 0:  # train_glove's own error could not name the corpus
        raise no_pairs_error(config.corpus, config.resolved_window, len(vocab), corpus.stats.tokens)
    _warn_if_glove_barely_trained(config, cooc.nnz, len(vocab))
    options = _glove_options(config)
    # a bar on a terminal, one line per epoch in a log file (epochs can take minutes)
    with Progress(options.epochs, "glove epoch", enabled=config.progress) as bar:

        def on_epoch(epoch: int, loss: float) -> None:
            bar.update(1, loss=f"{loss:.4g}")

        result = train_glove(cooc, options, on_epoch=on_epoch)
    # options.device keeps the flag as given (None: CUDA where there is one); this is the one used
    facts["device"] = result.device
    facts["training_entries_per_second"] = round(float(np.mean(result.entries_per_second)))
    facts["tokens_seen"] = corpus.stats.tokens
    facts["documents"] = corpus.stats.documents
    facts["unicode_replacements"] = corpus.stats.unicode_replacements
    facts["text_read"] = corpus.stats.read
    words = vocab.tokens
    return Vectors(words, result.vectors), [vocab.count(w) for w in words], result.losses


def _glove_vocab(config: PretrainConfig, corpus: Corpus) -> Vocab:
    """The words GloVe trains (min_count/max_vocab applied): a first pass over the corpus."""
    from vecgraft.text.vocab import Vocab

    counts: Counter[str] = Counter()
    for tokens in corpus:  # the first pass: the corpus shows its reading progress
        counts.update(tokens)
    vocab = Vocab.from_counts(
        counts,
        min_freq=config.min_count,
        max_size=config.max_vocab,
        specials=(),
        pad_token=None,
        unk_token=None,
    )
    del counts
    if len(vocab) == 0:
        raise empty_corpus_error(
            config.corpus, config.min_count, corpus.stats.tokens, bool(corpus.tokenizer.stopwords)
        )
    return vocab


def _count_cooccurrences(
    config: PretrainConfig, corpus: Corpus, vocab: Vocab, facts: dict[str, Any]
) -> Cooccurrence:
    """The co-occurrence matrix (a second pass), its size and speed recorded in `facts`."""
    from vecgraft.pretrain.cooccur import CooccurrenceCounter

    stoi = vocab.stoi
    counter = CooccurrenceCounter(len(vocab), config.resolved_window, max_memory=config.max_memory)
    start = time.perf_counter()
    counting = 0.0  # time in the counter alone, without reading and tokenizing the corpus
    try:
        with Progress(
            corpus.stats.documents, "co-occurrences (documents)", enabled=config.progress,
            interval=READ_LINE_SECONDS,
        ) as bar:  # fmt: skip
            for tokens in corpus:
                ids = np.fromiter((stoi.get(t, -1) for t in tokens), np.int64, len(tokens))
                tick = time.perf_counter()
                counter.add(ids[ids >= 0])
                counting += time.perf_counter() - tick
                bar.update(1)
        tick = time.perf_counter()
        cooc = counter.result()
        counting += time.perf_counter() - tick
        facts["cooccurrence_spilled_shards"] = counter.spilled_shards  # result() may spill
    finally:
        counter.close()
    seconds = time.perf_counter() - start
    facts.update(
        cooccurrence_nonzero=cooc.nnz,
        cooccurrence_seconds=round(seconds, 3),
        cooccurrence_tokens_per_second=round(cooc.tokens / max(seconds, 1e-9)),
        cooccurrence_counting_tokens_per_second=round(cooc.tokens / max(counting, 1e-9)),
    )
    return cooc


def _glove_options(config: PretrainConfig) -> GloveOptions:
    """GloveOptions from the config (`power` is GloVe's alpha)."""
    from vecgraft.pretrain.glove import GloveOptions

    return GloveOptions(
        dim=config.dim,
        epochs=config.resolved_epochs,
        learning_rate=config.resolved_learning_rate,
        x_max=config.x_max,
        alpha=config.power,
        batch_size=config.batch_size,
        seed=config.seed,
        device=config.device,
        workers=config.workers,
    )


def _train_gensim(
    config: PretrainConfig, corpus: Corpus, facts: dict[str, Any], out: Path
) -> tuple[Vectors, list[int], list[float]]:
    from vecgraft.pretrain.gensim_models import save_fasttext_bin, train_gensim

    result = train_gensim(corpus, config)
    facts["tokens_seen"] = corpus.stats.tokens
    facts["documents"] = corpus.stats.documents
    facts["unicode_replacements"] = corpus.stats.unicode_replacements
    facts["text_read"] = corpus.stats.read
    facts["words_trained"] = result.words_trained
    # the training rate, as GloVe's: words trained over train()'s own time (over the whole
    # run, startup and the vocabulary scan included, a short run read ~1,400 words/s)
    # the rate from the seconds stored, so metadata.json agrees with itself (a 3-decimal
    # time of a fast run was 10% off the rate computed from the unrounded one)
    # (a time under a microsecond, stored as 0, is taken as one: no division by zero)
    seconds = round(result.train_seconds, 6)
    facts["training_seconds"] = seconds
    facts["words_per_second"] = round(result.words_trained / max(seconds, 1e-6))
    _warn_if_barely_trained(config, result, corpus.stats.tokens)
    vectors = Vectors(result.words, result.matrix)
    if config.method_enum is Method.FASTTEXT:
        from vecgraft.io import load
        from vecgraft.pretrain.outputs import FASTTEXT_FILE

        # `out` is the run's temp folder (`staged_output`): an earlier run's files are not in
        # it, and the native file links the n-gram table of the model.bin beside it
        save_fasttext_bin(result.model, out / FASTTEXT_FILE)
        # read back through vecgraft's own (pickle-free) reader: the native file then links
        # these n-gram buckets, so `vecgraft.load(DIR)` vectorises unseen words too
        loaded = load(out / FASTTEXT_FILE, cache=False)
        vectors = Vectors(result.words, result.matrix, subword=loaded.subword)
        facts["subwords_file"] = FASTTEXT_FILE
        facts["files"] = {"fasttext-bin": FASTTEXT_FILE}
    return vectors, result.counts, result.losses


# below this share of corpus tokens an epoch is expected to train on, the vectors barely move
# from their random start (a normal corpus keeps about half: 58 % on gensim's
# lee_background.cor at the defaults; 15 % on the tests' 18-word synonym corpus)
BARELY_TRAINED = 0.1


def _warn_if_barely_trained(config: PretrainConfig, result: GensimResult, tokens: int) -> None:
    """Warn when gensim trains on a tiny fraction of the corpus tokens.

    gensim's down-sampling (`sample`, 1e-3 by default) discards most occurrences of any word
    more frequent than `sample` of the corpus, and in a tiny corpus every word is: 6 tokens x
    5 epochs trained on 1 word, left the vectors at their random start and reported a loss
    of 0, without a word. The defaults stay gensim's; this says what happened and what to do.
    The test is gensim's expected share (`kept_words`), not the random draw's.
    """
    epochs = config.resolved_epochs
    if tokens == 0 or result.kept_words >= BARELY_TRAINED * tokens:
        return
    vocab = sum(result.counts) / tokens  # the share of tokens min_count leaves
    if vocab < 0.5:
        why = f"min_count={config.min_count} (--min-count) drops {1 - vocab:.0%} of the tokens"
        fix = "a lower --min-count, more epochs (--epochs) or more text"
    else:
        why = (
            f"down-sampling of frequent words (sample={config.sample:g}, gensim's default "
            "1e-3) discards most tokens when every word is frequent, as in a small corpus"
        )
        fix = "sample=0 (--sample 0), more epochs (--epochs) or more text"
    warnings.warn(
        f"{config.method_enum.value} trained on {result.words_trained:,} of "
        f"{tokens * epochs:,} tokens ({tokens:,} tokens x {epochs} epochs; about "
        f"{result.kept_words / tokens:.1%} expected): {why}, so the vectors are barely "
        f"trained; use {fix}",
        stacklevel=6,  # the caller of pretrain()
    )


def _warn_if_glove_barely_trained(config: PretrainConfig, entries: int, words: int) -> None:
    """Warn when GloVe has fewer co-occurrence entries per word than vector dimensions.

    GloVe fits each word's vector to the entries of its row (w_i . c_j + b_i + b_j =
    log X_ij for each context j seen with it): a row of fewer than `dim` entries leaves the
    vector underdetermined, and the part of it outside its contexts' span keeps its random
    start. Below `dim` entries per word on average, most vectors are like that; word2vec
    and fastText warned of their equivalent (`_warn_if_barely_trained`), GloVe said nothing
    (8 words and 64 entries for 100 dims). A normal corpus is far above it: 936,855 tokens
    of English news gave 3,196,799 entries for 12,141 words, 263 a word.
    """
    dim = config.dim
    if entries >= dim * words:
        return
    warnings.warn(
        f"glove: {entries:,} co-occurrence entries for {words:,} words, {entries / words:.1f} "
        f"a word, fewer than the {dim} dimensions of a vector, so most vectors are "
        "underdetermined and barely trained (partly their random start); use more text or "
        "a smaller --dim",
        stacklevel=6,  # the caller of pretrain()
    )


# the tokens read before training to see whether the tokenizer segments the corpus's script
UNSEGMENTED_SAMPLE = 100_000


def _warn_if_unsegmented(config: PretrainConfig) -> None:
    """Warn, before training, when the tokenizer reads Chinese, Japanese, Thai ... whole.

    A regex or whitespace tokenizer leaves text written without spaces in clauses, nearly
    each seen once: `min_count` drops most of them and what is left are vectors of clauses,
    not words (`vecgraft.text.unspaced`). Judged on the corpus's first `UNSEGMENTED_SAMPLE`
    tokens, read in a pass of their own (the training passes and their token cache are not
    touched).
    """
    from vecgraft.text.unspaced import KINDS, unsegmented_warnings

    if config.tokenizer.kind not in KINDS:
        return
    sample = _corpus(config, None, progress=False)
    sample.cache_tokens = False
    counts: Counter[str] = Counter()
    seen = 0
    for tokens in sample:  # the generator is closed (its files with it) when dropped
        counts.update(tokens)
        seen += len(tokens)
        if seen >= UNSEGMENTED_SAMPLE:
            break
    for line in unsegmented_warnings(counts.items(), config.tokenizer.kind):
        warnings.warn(line, UnsegmentedTextWarning, stacklevel=5)  # pretrain()'s caller


AUTO_JIEBA_WHY = "the corpus is Chinese"  # metadata.json's `tokenizer_chosen`, and said
NO_JIEBA_KEY = "jieba_not_installed"  # metadata.json: Chinese, but regex (jieba missing)


def _unnamed(config: PretrainConfig) -> bool:
    """Whether the tokenizer's kind is left to the corpus: None, or a dict without `kind`."""
    spec = config.tokenizer
    return spec is None or (isinstance(spec, Mapping) and "kind" not in spec)


def _chinese_jieba(config: PretrainConfig) -> dict[str, str]:
    """Facts of a tokenizer left unnamed on a Chinese corpus: jieba chosen, or not installed.

    Why: the regex rule cut Chinese into whole clauses, and word2vec trained vectors of
    clauses after a warning. Unnamed: `tokenizer` None or a config dict without `kind` (the
    CLI without --tokenizer); a named kind, regex included, and a Tokenizer are kept. Judged
    on the corpus's first texts (`chinese_sample`), read in a pass of their own. Returns
    {"tokenizer_chosen": why} when jieba segments it, {NO_JIEBA_KEY: why} when jieba is not
    installed, else {}: metadata.json records it (finetune segments as trained). The
    library prints nothing: it logs the line (INFO), which the CLI prints as logged, before
    training, not once every epoch has run.
    """
    import logging

    from vecgraft.text import iter_texts
    from vecgraft.text.unspaced import (
        chinese_sample,
        chinese_why,
        chinese_word_share,
        jieba_installed,
        jieba_note,
    )

    if not _unnamed(config):
        return {}
    texts = iter_texts(config.corpus, **_reading(config))
    sample = chinese_sample(texts)
    words = chinese_word_share(sample)  # None: not Chinese (`texts_are_chinese`)
    if words is None:
        return {}
    why = chinese_why(sample, AUTO_JIEBA_WHY, "the corpus's texts", words)
    installed = jieba_installed()
    logging.getLogger(__name__).info("%s", jieba_note(why, installed))
    return {"tokenizer_chosen" if installed else NO_JIEBA_KEY: why}


def _refuse_zh_mode_on_regex(config: PretrainConfig, why: str | None) -> None:
    """A `zh_mode` given with the kind unnamed, when the corpus got regex: a clear error.

    Why: the tokenizer's own "zh_mode is only used by the jieba tokenizer, not regex" named
    a kind the caller never gave (`vecgraft pretrain --zh-mode char` on an English corpus).
    """
    spec = config.tokenizer
    mode = spec.get("zh_mode") if isinstance(spec, Mapping) else None
    if mode is None or str(mode) == "word":
        return
    because = (f"{why}, but jieba is not installed: {install_hint('zh')}"
               if why else "the corpus is not Chinese (its first texts)")  # fmt: skip
    raise ConfigError(
        f"zh_mode {mode!r} is only used by the jieba tokenizer, and with no tokenizer named "
        f"this corpus gets regex: {because}; name the tokenizer (--tokenizer jieba) or "
        "leave zh_mode out"
    )


def _zh_mode_unset(config: PretrainConfig) -> bool:
    """Whether word2vec chooses the jieba tokenizer's `zh_mode`: a jieba dict without one."""
    spec = config.tokenizer
    return (
        config.method_enum is Method.WORD2VEC
        and isinstance(spec, Mapping)
        and spec.get("kind") == "jieba"
        and "zh_mode" not in spec
    )


def _choose_zh_mode(config: PretrainConfig) -> dict[str, Any]:
    """Words + characters on a small corpus, else words (`ZH_WORDCHAR_BELOW`); what was seen.

    Sets `config.tokenizer` (the run's copy of the config) to the mode chosen. Counted in a
    pass of its own over at most `ZH_WORDCHAR_BELOW` words (the training passes and their
    token cache are not touched). In a corpus of a few thousand reviews most words are seen
    a handful of times: word2vec's vectors of them cost the network about 1.8 points
    against a random embedding, which words + characters recovered (benchmarks/defaults.md
    rounds 45 and 47).
    """
    from vecgraft.pretrain.config import ZH_WORDCHAR_BELOW
    from vecgraft.text import Tokenizer

    # the corpus's words, stopwords included: a stopword list must not move the threshold
    counting = copy.copy(config)
    counting.tokenizer = Tokenizer.from_config({**config.tokenizer.config, "stopwords": None})
    sample = _corpus(counting, None, progress=False)
    sample.cache_tokens = False
    words = 0
    lines = iter(sample)  # the generator is closed (its files with it) when dropped
    for tokens in lines:
        words += len(tokens)
        if words >= ZH_WORDCHAR_BELOW:
            break
    # stopped at the bound, `words` is a lower bound unless that line was the last
    counted_all = words < ZH_WORDCHAR_BELOW or next(lines, None) is None
    mode = "word+char" if words < ZH_WORDCHAR_BELOW else "word"
    if mode != config.tokenizer.zh_mode.value:
        config.tokenizer = Tokenizer.from_config({**config.tokenizer.config, "zh_mode": mode})
    # words: the count, or where counting stopped (at least that many: counted_all false)
    return {
        "zh_mode": mode,
        "words": words,
        "counted_all": counted_all,
        "below": ZH_WORDCHAR_BELOW,
    }


def pretrain(config: PretrainConfig) -> PretrainResult:
    """Pretrain word vectors on a corpus and write them to `config.out`.

    Args:
        config: method, corpus, output folder and options.

    Returns:
        PretrainResult with the vectors and the run's metadata (also in DIR/metadata.json).

    Raises:
        DataError: the corpus is empty or has no word above `min_count`.
        ConfigError: an option is invalid.
        MissingExtraError: word2vec/fastText need gensim (the train extra).

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "corpus.txt").write_text("the cat sat on the mat " * 20)
        >>> cfg = PretrainConfig("glove", [str(folder / "corpus.txt")], str(folder / "out"),
        ...                      dim=8, min_count=1, epochs=2, workers=1, progress=False)
        >>> result = pretrain(cfg)
        >>> result.vectors.words, result.vectors.dim
        (['the', 'cat', 'sat', 'on', 'mat'], 8)
        >>> sorted(p.name for p in (folder / "out").iterdir())
        ['metadata.json', 'vectors.bin', 'vectors.safetensors', 'vectors.txt', 'vocab.json']
    """
    from vecgraft.pretrain.outputs import check_out_outside_corpus, prepare_out

    if not isinstance(config, PretrainConfig):  # a path or a dict said "no attribute method_enum"
        raise ConfigError(
            f"pretrain takes a PretrainConfig, got {type(config).__name__}: "
            'pretrain(PretrainConfig("word2vec", ["corpus.txt"], "out"))'
        )
    if config.method_enum is Method.GLOVE:
        from vecgraft._util.device import resolve_device

        # CUDA asked for where there is none: now, not after the vocabulary and
        # co-occurrence passes (minutes on a large corpus)
        resolve_device(config.device)
    from vecgraft._util.folderlock import out_lock

    out = Path(config.out)
    # locked from before the earlier output is looked at to the last file moved in: two
    # runs into one --out both ended "-> out", the later one's vectors silently replacing
    # the other's. A failed run (empty corpus, Ctrl-C) leaves no empty --out folder behind.
    with out_lock(out):
        earlier = prepare_out(out)
        check_out_outside_corpus(out, config.corpus)
        return _pretrain(config, out, earlier)


def _pretrain(config: PretrainConfig, out: Path, earlier: set[str]) -> PretrainResult:
    """`pretrain` once the output folder is ready."""
    from vecgraft.pretrain.outputs import staged_output

    # every file goes to a temp folder first: a run stopped halfway (Ctrl-C, a full disk)
    # left vectors.safetensors alone in `out`, which `vecgraft info` loaded without a word
    with staged_output(out, earlier) as folder:
        vectors, metadata, files, losses = _train_and_write(config, folder)
    return PretrainResult(out, vectors, metadata, files, losses)


def _environment(device: str | None) -> dict[str, Any]:
    """metadata.json's `environment`: versions, platform, command line; GloVe's device.

    `device`: the one GloVe trained on (its result's, as the top-level `device` records):
    resolving the config's again after training could name another. gensim's methods train
    on the CPU (`workers` threads, which config's options record), so they name none.
    """
    from vecgraft._util.runenv import environment

    return environment(device, packages=("gensim", "numpy", "torch"))


def _train_and_write(
    config: PretrainConfig, folder: Path
) -> tuple[Vectors, dict[str, Any], dict[str, str], list[float]]:
    """Train, then write every output file into `folder`: (vectors, metadata, files, losses)."""
    from vecgraft.pretrain.corpus import make_tokenizer
    from vecgraft.pretrain.outputs import ENVIRONMENT_KEY, write_outputs

    facts: dict[str, Any] = {}
    # a copy: the caller's config keeps its tokenizer spec, so a tokenizer or zh_mode chosen
    # for this corpus is chosen again for the next one it is reused with
    config = copy.copy(config)
    unnamed = _unnamed(config)
    facts.update(_chinese_jieba(config))
    if "tokenizer_chosen" in facts:
        config.tokenizer = {**(config.tokenizer or {}), "kind": "jieba"}
    elif unnamed:
        _refuse_zh_mode_on_regex(config, facts.get(NO_JIEBA_KEY))
    choose_zh_mode = _zh_mode_unset(config)
    config.tokenizer = make_tokenizer(config.tokenizer)
    if choose_zh_mode:
        facts["zh_mode_chosen"] = _choose_zh_mode(config)
    _warn_if_unsegmented(config)
    start = time.perf_counter()
    # gensim silently truncates sentences beyond 10,000 tokens: split them instead
    # (GloVe counts windows over whole documents, with no such limit)
    corpus = _corpus(config, None if config.method_enum is Method.GLOVE else GENSIM_MAX_SENTENCE)
    try:
        if config.method_enum is Method.GLOVE:
            vectors, counts, losses = _train_glove(config, corpus, facts)
        else:
            vectors, counts, losses = _train_gensim(config, corpus, facts, folder)
    finally:
        corpus.close()
    seconds = time.perf_counter() - start
    metadata: dict[str, Any] = {
        "method": config.method_enum.value,
        "options": config.options(),
        "corpus": describe_sources(config.corpus),
        "tokenizer": config.tokenizer.config,
        "one_per": config.one_per,
        "vocab_size": len(vectors),
        "duration_seconds": round(seconds, 3),
        "losses": losses,
        "final_loss": losses[-1] if losses else None,
        **facts,
        ENVIRONMENT_KEY: _environment(facts.get("device")),
    }
    files = write_outputs(folder, vectors, counts, metadata, shown=Path(config.out))
    return vectors, metadata, files, losses
