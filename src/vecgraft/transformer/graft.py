"""Graft new words into a transformer's vocabulary and give each a good first embedding row.

A checkpoint's tokenizer spells a domain word ("covid", "五星级") in several pieces, or as
`[UNK]`. Adding the word as one token shortens texts and gives the model a row to learn; the
question is what that row starts as. Three rules (`GraftInit`):

* `subwords`: the mean of the rows of the word's old pieces (what the model saw before);
* `mean`: the mean of all old rows, Hugging Face's default, kept as the baseline;
* `vectors`: FOCUS (Dobler & de Melo, 2023): in a static vector space (GloVe, fastText, a
  `vecgraft pretrain` folder) find the word's nearest neighbours among the words that both
  vocabularies share, and combine those neighbours' *transformer* rows with sparsemax (or
  softmax) weights over the cosine similarities. Words the static vectors do not know fall
  back to `subwords`, and the report says so.

Untied output embeddings (an MLM decoder, an untied LM head) and an output bias get the same
combination of their own rows. Which word ends up as one token is checked, not assumed:
uncased tokenizers lowercase and strip accents, and BERT's pre-tokenizer puts spaces around
every Chinese character, so each word is added as a `tokenizers.AddedToken` whose matching
flags fit its script (see `_added_token`).

Example:
    >>> result = graft_vocab("models/minilm", "train.csv", add_tokens=500,
    ...                      text_tokenizer="jieba", init="vectors",
    ...                      vectors="runs/zh-vectors")  # doctest: +SKIP
    >>> save_grafted(result, "models/minilm-zh")  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import itertools
import os
import pickle
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vecgraft._util.console import printable
from vecgraft._util.extras import quiet_transformers
from vecgraft.errors import ConfigError, FormatError
from vecgraft.io.hf_checkpoint import check_weights, pickle_refused
from vecgraft.text.corpus import iter_texts
from vecgraft.text.tokenize import Tokenizer
from vecgraft.transformer.graft_report import GRAFT_RULES, MIN_COUNT, GraftReport, NewToken
from vecgraft.transformer.graft_rows import (
    GraftInit,
    GraftOptions,
    RowPlan,
    Weighting,
    _graft_options,
    _output_tables,
    _static_vectors,
    _vectors_name,
    fill_rows,
    graft_vectors_arg,
    plan_rows,
    sparsemax,
)
from vecgraft.transformer.graft_tokenizer import (
    _added_token,
    _fresh_tokens,
    _piece_ids,
    _token_form,
    token_stats,
)
from vecgraft.transformer.graft_words import (
    Candidate,
    _model_reader,
    _split_note,
    _text_tokenizers,
    count_words,
    model_words,
    read_token_list,
    select_new_tokens,
)
from vecgraft.transformer.tokens import (
    UNSPACED,
    leading_space,
    load_tokenizer,
    plain_backend,
    word_marks,
)
from vecgraft.vectors import Vectors

# The names this module always had; the word, row and tokenizer helpers live beside it.
__all__ = [
    "REPORT_FILE",
    "Candidate",
    "GraftInit",
    "GraftOptions",
    "GraftResult",
    "Weighting",
    "check_graft_out",
    "count_words",
    "graft_tokens",
    "graft_vectors_arg",
    "graft_vocab",
    "load_model",
    "model_words",
    "read_token_list",
    "save_grafted",
    "select_new_tokens",
    "sparsemax",
    "token_stats",
]

REPORT_FILE = "graft_report.json"


@dataclass
class GraftResult:
    """The grafted model and tokenizer (both changed in place) and the report."""

    model: Any
    tokenizer: Any
    report: GraftReport
    candidates: list[Candidate] = field(default_factory=list)


def graft_tokens(
    model: Any,
    tok: Any,
    tokens: Sequence[str],
    *,
    init: GraftInit | str = GraftInit.SUBWORDS,
    vectors: Vectors | str | os.PathLike[str] | None = None,
    k: int = 50,
    weighting: Weighting | str = Weighting.SPARSEMAX,
    temperature: float = 0.1,
    counts: Mapping[str, int] | None = None,
) -> GraftReport:
    """Add `tokens` to `tok`, resize `model` and fill every new row by `init`; in place.

    Args:
        model: a transformers `PreTrainedModel` (any head).
        tok: its fast tokenizer, before the graft; it is modified in place.
        tokens: the words to add. Words the old tokenizer already reads as one known token,
            and repeats that the tokenizer would not tell apart, are skipped (and reported).
        init: `subwords`, `mean` or `vectors` (see `GraftInit`).
        vectors: static vectors for `vectors` (a `Vectors` or anything `vecgraft.load` reads).
        k: neighbours considered per new token (`vectors`).
        weighting: `sparsemax` (FOCUS) or `softmax` over the k cosine similarities.
        temperature: softmax temperature.
        counts: corpus counts of the tokens, copied into the report.

    Returns:
        A `GraftReport` (no corpus statistics; `graft_vocab` adds them).

    Raises:
        ConfigError: an invalid option, or `vectors` without static vectors.
    """
    opts = _graft_options(init, k, weighting, temperature)
    static = _checked_static(tok, tokens, vectors, opts)
    fresh, skipped, marked = _fresh_tokens(tok, tokens)
    use_notes = _use_notes(tok, fresh)  # before any change: it may refuse
    pieces = _piece_ids(tok, fresh, added=True)
    old_size = model_rows(model, tok)
    plan, notes, shared = plan_rows(tok, fresh, pieces, static, opts)
    notes[:0] = _respelled_note(tok, tokens, fresh) + _pieces_note(tok, marked)
    notes.extend(_decode_note(tok, fresh) or use_notes)
    new_ids = _add_tokens(tok, fresh)
    _, tied = _output_tables(model)  # before the resize, which may tie them
    if not tied:
        keep_untied(model)
    if len(tok) > old_size:
        model.resize_token_embeddings(len(tok), mean_resizing=False)
    tables, tied = _output_tables(model)
    fill_rows(tables, old_size, new_ids, plan)
    new_tokens = _new_token_entries(tok, fresh, new_ids, pieces, plan, counts)
    return GraftReport(
        new_tokens=new_tokens,
        counts={r: sum(1 for t in new_tokens if t.rule == r) for r in GRAFT_RULES},
        init=opts.init.value,
        old_vocab_size=old_size,
        new_vocab_size=int(model.get_input_embeddings().weight.shape[0]),
        tied=tied,
        skipped=skipped,
        vectors=_vectors_name(vectors),
        shared_tokens=shared,
        options=opts.to_dict(),
        notes=notes,
    )


def _checked_static(
    tok: Any,
    tokens: Sequence[str],
    vectors: Vectors | str | os.PathLike[str] | None,
    opts: GraftOptions,
) -> Vectors | None:
    """The static vectors the `vectors` rule needs (else None), after the input checks."""
    if isinstance(tokens, str):
        raise ConfigError("tokens must be a list of words, not one string")
    static = _static_vectors(vectors) if opts.init is GraftInit.VECTORS else None
    if opts.init is GraftInit.VECTORS and static is None:
        raise ConfigError(  # it named only the Python keyword to a command-line user
            "init 'vectors' needs static vectors to place the new rows by their neighbours "
            "(vectors=... in Python; --vectors with graft-vocab, --graft-vectors with finetune)"
        )
    if not getattr(tok, "is_fast", False):
        raise ConfigError("grafting needs a fast (Rust) tokenizer")
    return static


def _respelled_note(tok: Any, tokens: Sequence[str], fresh: Sequence[str]) -> list[str]:
    """A note naming the tokens added in the normaliser's spelling ("COVID" -> "covid")."""
    unclaimed = set(fresh)
    pairs: list[str] = []
    for word in tokens:  # the first word of each new token added it; later ones were skipped
        form = _token_form(tok, word)
        if form in unclaimed:
            unclaimed.discard(form)
            if form != word:
                pairs.append(f"{word} -> {form}")
    if not pairs:
        return []
    shown = ", ".join(pairs[:5]) + (", ..." if len(pairs) > 5 else "")
    return [f"{len(pairs)} token(s) added as the tokenizer normalises them: {shown}"]


def _pieces_note(tok: Any, marked: Sequence[str], show: int = 5) -> list[str]:
    """A note naming the listed vocabulary pieces that were left out, and how text reads them.

    Why: "##ing" is in BERT's vocabulary, so it was reported "already one token", though as
    text it reads '#', '#', 'ing': a continuation piece stands for no word to add. The same
    holds for "[unused0]" and byte-level "Ġcat", which the note called "##" continuations
    too: "##" is named only where a piece starts with the tokenizer's continuation prefix.
    """
    if not marked:
        return []
    first = marked[0]
    read = [printable(t) for t in tok.convert_ids_to_tokens(_piece_ids(tok, [first])[0])]
    shown = ", ".join(printable(w) for w in marked[:show])
    more = f", ... {len(marked) - show:,} more" if len(marked) > show else ""
    marks = word_marks(tok)
    prefix = marks.piece if marks is not None else ""
    why = "a vocabulary entry that text never reads as one token"
    if prefix and any(w.startswith(prefix) for w in marked[:show]):
        why += f', "{printable(prefix)}" marking a piece that continues a word'
    return [
        f"skipped {len(marked):,} vocabulary piece(s) that are no word: {shown}{more} "
        f'({why}: as text "{printable(first)}" reads {read}); list the words themselves'
    ]


def _decode_note(tok: Any, fresh: Sequence[str]) -> list[str]:
    """A note that byte-level BPE's new tokens decode without the space they take in.

    Why: to stand for "Ġword" such a token absorbs the space before it (an added token that
    spelled the space itself would no longer match whole words only), and decoding writes
    the token's text alone, so "a catdog" came back as "acatdog" without a word. Ids and
    rows are as the model reads them, which is what classification and word vectors use.
    """
    if not fresh or not leading_space(tok):
        return []
    word = printable(fresh[0])
    return [
        f"byte-level BPE: the {len(fresh)} new token(s) take in the space before them, as its "
        f'"Ġ" tokens do, but decode without it ("a {word}" -> "a{word}"): fine for '
        "classification and word vectors, not for generating text"
    ]


def _use_notes(tok: Any, fresh: Sequence[str]) -> list[str]:
    """Notes on how a new word token reads mid-sentence, tried on a copy of the tokenizer.

    Why tried, not assumed: SentencePiece-style tokenizers come in layouts that treat an
    added token differently. One that prepends "▁" in its normalizer with no pre-tokenizer
    (LLaMA-2's) matches it at the start of a text only, so the graft cannot work (refused);
    Metaspace without splitting reads the space before it as a "▁" token of its own; T5's
    decodes it without that space. Byte-level BPE has its own note (`_decode_note`).

    Raises:
        ConfigError: the new tokens would match at the start of a text only.
    """
    spaced = [w for w in fresh if any(c.isalnum() for c in w) and not UNSPACED.search(w)]
    if not spaced or leading_space(tok):
        return []
    word = spaced[0]
    backend = plain_backend(tok)
    backend.add_tokens([_added_token(tok, word, lstrip=False)])
    text = f"{word} {word} {word}"
    enc = backend.encode(text, add_special_tokens=False)
    shown = f'"{printable(text)}" reads {[printable(t) for t in enc.tokens]}'
    if enc.ids.count(backend.token_to_id(word)) < 3:
        raise ConfigError(
            f"cannot graft words into this tokenizer: a new token would match at the start "
            f"of a text only ({shown}; a normalizer that prepends \"▁\" with no "
            "pre-tokenizer, as LLaMA-2's), so grafting cannot work here"
        )
    notes = []
    if any(t and not t.strip("▁ ") for t in enc.tokens):
        notes.append(
            f"the space before each new token is read as a token of its own ({shown}): "
            "one more token per use; fine for classification and word vectors"
        )
    decoded = backend.decode(enc.ids, skip_special_tokens=False)
    if decoded != text:
        notes.append(
            f'the new tokens decode without the space before them ("{printable(text)}" -> '
            f'"{printable(decoded)}"): fine for classification and word vectors, not for '
            "generating text"
        )
    return notes + _punctuation_note(backend, word)


def _punctuation_note(backend: Any, word: str) -> list[str]:
    """A note that punctuation right after a new token reads a "▁" token before it.

    Why: a Metaspace pre-tokenizer that prepends "▁" to every section ("always", ALBERT's,
    XLM-R's, T5's) treats the text after an added token as a new section, so "such," reads
    'such', '▁', ',' and decodes "such ,"; the old tokenizer's own text is unchanged, so the
    layout is kept and said (a "first" scheme would not survive a reload of a tokenizer
    class that builds its own pre-tokenizer).
    """
    text = f"{word}, {word}."
    enc = backend.encode(text, add_special_tokens=False)
    tokens = enc.tokens
    if not any(
        a == "▁" and b[:1] and not b[:1].isalnum() and not b.startswith("▁")
        for a, b in itertools.pairwise(tokens)
    ):
        return []
    decoded = backend.decode(enc.ids, skip_special_tokens=False)
    return [
        f'punctuation right after a new token reads a "▁" token before it ("{printable(text)}" '
        f'reads {[printable(t) for t in tokens]}, decoded "{printable(decoded)}"): one more '
        "token per use; fine for classification and word vectors, not for generating text"
    ]


def keep_untied(model: Any) -> None:
    """State in the config that `model`'s output embedding is its own (as it is loaded).

    Why: transformers 5's T5Config sets `tie_word_embeddings` True whatever config.json
    says; loading keeps a v1.1/flan checkpoint's separate lm_head (both tensors are in the
    file), but `resize_token_embeddings` then tied it to the input table: the trained head
    was lost and the report said "tied". With the config saying False the resize keeps the
    head, its new rows get their own init, and the saved folder reloads untied.
    """
    for config in {id(c): c for c in (model.config, model.config.get_text_config())}.values():
        if getattr(config, "tie_word_embeddings", False):
            config.tie_word_embeddings = False


def model_rows(model: Any, tok: Any) -> int:
    """Rows of the model's input embedding; a tokenizer larger than that is a mismatch.

    Why: a tokenizer given a pad token without resizing the model reads ids the embedding
    lacks, an IndexError from inside torch at the first batch holding one.
    """
    old_size = int(token_table(model).shape[0])
    if len(tok) > old_size:
        raise ConfigError(f"the tokenizer has {len(tok)} tokens but the model only {old_size} rows")
    return old_size


def token_table(model: Any, path: str | os.PathLike[str] | None = None) -> Any:
    """The model's input-embedding weight, one row per token id.

    Why checked: a vision or audio model (ViT) has patch or feature embeddings instead,
    where `.weight` raised AttributeError from deep in the graft.

    Raises:
        FormatError: the model has no token embedding table (naming `path` when given).
    """
    try:
        layer = model.get_input_embeddings()
    except (NotImplementedError, AttributeError):
        layer = None
    weight = getattr(layer, "weight", None)
    if getattr(weight, "ndim", 0) == 2:
        return weight
    config = getattr(model, "config", None)
    model_type = getattr(config, "model_type", None) or "(none)"
    where = path if path is not None else getattr(config, "_name_or_path", None) or None
    raise FormatError(
        f"cannot find the input-embedding table for model_type {model_type!r} (its input "
        f"embeddings are {type(layer).__name__}, not one row per token); grafting words "
        "needs a text model",
        path=where,
    )


def _add_tokens(tok: Any, fresh: Sequence[str]) -> list[int]:
    """Add `fresh` to `tok` with matching flags that fit each word; their new ids."""
    lstrip = leading_space(tok)
    tok.add_tokens([_added_token(tok, w, lstrip=lstrip) for w in fresh])
    return list(tok.convert_tokens_to_ids(fresh))


def _new_token_entries(
    tok: Any,
    fresh: Sequence[str],
    new_ids: Sequence[int],
    pieces: Sequence[Sequence[int]],
    plan: Sequence[RowPlan],
    counts: Mapping[str, int] | None,
) -> list[NewToken]:
    """The report's line per new token: its id, rule, old pieces, count and neighbours."""
    old_tokens = tok.convert_ids_to_tokens
    return [
        NewToken(
            token=word,
            id=int(new_id),
            rule=rule,
            pieces=[str(p) for p in old_tokens(ids)],
            count=int((counts or {}).get(word, 0)),
            neighbours=neighbours,
        )
        for word, new_id, ids, (rule, _, _, neighbours) in zip(fresh, new_ids, pieces, plan)
    ]


# -- the whole graft -----------------------------------------------------------------------
def load_model(model_dir: str | os.PathLike[str]) -> Any:
    """The checkpoint with its own head (config.architectures), local files only, no remote code.

    Loading with `AutoModel` would drop an MLM or classification head that the graft must
    resize too; the class is looked up in `transformers` by name, so nothing outside it runs.
    """
    import transformers

    path = Path(model_dir)
    try:
        config = transformers.AutoConfig.from_pretrained(
            str(path), local_files_only=True, trust_remote_code=False
        )
    except (OSError, ValueError) as exc:
        raise FormatError(f"cannot read config.json ({exc})", path=path) from exc
    arch = next(iter(getattr(config, "architectures", None) or []), None)
    cls = getattr(transformers, arch, None) if isinstance(arch, str) else None
    if cls is None or not hasattr(cls, "from_pretrained"):
        cls = transformers.AutoModel
    check_weights(path)
    try:
        with quiet_transformers():
            model = cls.from_pretrained(str(path), local_files_only=True, trust_remote_code=False)
    except (pickle.UnpicklingError, EOFError) as exc:  # a pytorch_model.bin of more than tensors
        raise pickle_refused(path, exc) from exc
    except (OSError, ValueError) as exc:
        raise FormatError(f"cannot load the model ({exc})", path=path) from exc
    return model.eval()


def graft_vocab(
    model: Any,
    corpus: Any = None,
    *,
    add_tokens: int | Sequence[str] | str | os.PathLike[str],
    tokenizer: Any = None,
    text_tokenizer: str | Tokenizer | Sequence[str | Tokenizer] = "regex",
    column: str | int = "text",
    init: GraftInit | str = GraftInit.SUBWORDS,
    vectors: Vectors | str | os.PathLike[str] | None = None,
    k: int = 50,
    weighting: Weighting | str = Weighting.SPARSEMAX,
    temperature: float = 0.1,
    min_count: int = MIN_COUNT,
) -> GraftResult:
    """Pick (or read) new tokens, graft them into `model`, measure the corpus before/after.

    Args:
        model: a checkpoint folder, or a loaded `PreTrainedModel` (then pass `tokenizer`);
            a loaded model is changed in place.
        corpus: texts to pick words from and to measure on: anything `iter_texts` reads
            (paths, CSV/TSV/JSONL with `column`, `Texts([...])`). Needed when `add_tokens`
            is a number.
        add_tokens: how many words to pick from the corpus, or the words themselves (a list
            or a path to a file with one per line).
        tokenizer: the model's fast tokenizer (default: loaded from the folder).
        text_tokenizer: how the words of scripts written without spaces (Chinese, Japanese,
            Thai) are found: a `Tokenizer`, a kind ("jieba", "char", "regex", ...) or several
            (their words are pooled). Other words are the model tokenizer's own
            (`model_words`), so that each pick is read as one token after the graft; a
            tokenizer without a pre-tokenizer leaves all words to `text_tokenizer` (noted).
        column: the text column of CSV/TSV/JSONL corpora.
        init: `subwords`, `mean` or `vectors` (see `GraftInit`).
        vectors: static vectors for `vectors` (a `Vectors` or anything `vecgraft.load` reads).
        k: neighbours considered per new token (`vectors`).
        weighting: `sparsemax` (FOCUS) or `softmax` over the k cosine similarities.
        temperature: softmax temperature.
        min_count: words rarer than this are never picked (a word seen once rarely earns a
            row, and a regex tokenizer on unspaced text yields once-seen whole clauses).

    Returns:
        A `GraftResult`: the grafted model and tokenizer, the report and the candidates.
    """
    model, tokenizer, source = _open_model(model, tokenizer)
    if not getattr(tokenizer, "is_fast", False):  # before the corpus is read for picking
        raise ConfigError("grafting needs a fast (Rust) tokenizer")
    before_tok = _copy_tokenizer(tokenizer)
    texts = None if corpus is None else functools.partial(_corpus_texts, corpus, column)
    words, picked, counts = _words_to_add(tokenizer, texts, add_tokens, text_tokenizer, min_count)
    report = graft_tokens(
        model,
        tokenizer,
        words,
        init=init,
        vectors=vectors,
        k=k,
        weighting=weighting,
        temperature=temperature,
        counts=counts,
    )
    _note_selection(report, picked, source, add_tokens, len(words), text_tokenizer, min_count)
    if picked and _model_reader(tokenizer) is None:
        report.notes.append(_split_note(tokenizer))
    if texts is not None:
        report.before = token_stats(before_tok, texts())
        uses: Counter[int] = Counter()
        # (the first new id, not the old row count: a table padded past the tokenizer gives
        # its spare rows to the new tokens)
        first = min((t.id for t in report.new_tokens), default=len(tokenizer))
        report.after = token_stats(tokenizer, texts(), uses=uses, from_id=first)
        if not picked:  # listed words: how often the grafted tokenizer uses each on the corpus
            for entry in report.new_tokens:
                entry.count = uses[entry.id]
        else:
            _note_unused(report, uses)
    return GraftResult(model, tokenizer, report, picked)


def _note_unused(report: GraftReport, uses: Counter[int], show: int = 10) -> None:
    """Name the picked tokens that the grafted tokenizer never produces on the corpus.

    Words are counted as the model's tokenizer splits them (`model_words`), so this is rare:
    words of unspaced scripts that a longer new token always covers ("中国" inside every
    "中国人"), or, for a tokenizer without a pre-tokenizer, words that the text tokenizer split
    otherwise than the model (it splits a clitic 's off "blunkett's", where a whole-word token
    "'s" never fires: the top BBC News pick before words were counted the model's way).
    """
    unused = [t for t in report.new_tokens if t.count and not uses[t.id]]
    if not unused:
        return
    shown = ", ".join(f"{printable(t.token)} ({t.count:,})" for t in unused[:show])
    more = f", ... {len(unused) - show:,} more" if len(unused) > show else ""
    report.notes.append(
        f"{len(unused):,} new token(s) never occur in the corpus as the grafted tokenizer "
        f"reads it, so their rows go unused: {shown}{more} (a longer new token covers every "
        "occurrence, or the text tokenizer split the words otherwise than the model); to "
        "choose the tokens yourself, list them in a file (--add-tokens FILE)"
    )


def _open_model(model: Any, tokenizer: Any) -> tuple[Any, Any, str | None]:
    """(model, tokenizer, source name): a folder is loaded, a loaded model needs its tokenizer.

    The folder's config and weight files are checked before its tokenizer is read: a folder
    without weights was reported as a tokenizer problem whenever its tokenizer files were
    incomplete too, while `from_transformer` said the weights were missing.
    """
    if isinstance(model, (str, os.PathLike)):
        source: str | None = os.fspath(model)
        check_weights(model)
        if tokenizer is None:
            tokenizer = load_tokenizer(Path(model))
        model = load_model(model)
        token_table(model, source)  # before the corpus is read for picking
    else:
        source = getattr(getattr(model, "config", None), "_name_or_path", None) or None
        if tokenizer is None:
            raise ConfigError("pass tokenizer=... with a loaded model")
    return model, tokenizer, source


def _corpus_texts(corpus: Any, column: str | int) -> Iterator[str]:
    """A fresh pass over the corpus: it is read up to three times (pick, before, after)."""
    return iter(iter_texts(corpus, column=column))


def _words_to_add(
    tokenizer: Any,
    texts: Callable[[], Iterator[str]] | None,
    add_tokens: int | Sequence[str] | str | os.PathLike[str],
    text_tokenizer: str | Tokenizer | Sequence[str | Tokenizer],
    min_count: int,
) -> tuple[list[str], list[Candidate], Mapping[str, int] | None]:
    """(words, candidates, their counts): picked from the corpus, read from a file, or given."""
    if isinstance(add_tokens, bool):
        raise ConfigError("add_tokens must be a number, a list of words or a file")
    if isinstance(add_tokens, int):
        if texts is None:
            raise ConfigError("add_tokens as a number needs a corpus to pick words from")
        found = count_words(texts(), text_tokenizer, tokenizer=tokenizer)
        candidates = select_new_tokens(tokenizer, found, add_tokens, min_count=min_count)
        return [c.word for c in candidates], candidates, {c.word: c.count for c in candidates}
    if isinstance(add_tokens, (str, os.PathLike)):
        words = read_token_list(add_tokens)
        if not words:
            raise ConfigError(f"{os.fspath(add_tokens)}: the token list is empty")
        return words, [], None
    words = list(add_tokens)
    if not words:
        raise ConfigError("add_tokens is an empty list: nothing to graft")
    return words, [], None


def _note_selection(
    report: GraftReport,
    candidates: Sequence[Candidate],
    source: str | None,
    add_tokens: int | Sequence[str] | str | os.PathLike[str],
    n_words: int,
    text_tokenizer: str | Tokenizer | Sequence[str | Tokenizer],
    min_count: int,
) -> None:
    """Record in the report how the words were chosen: scores, source and options."""
    scores = {c.word: c.score for c in candidates}
    for entry in report.new_tokens:
        entry.score = scores.get(entry.token, 0)
    report.source = source
    report.options.update(
        add_tokens=add_tokens if isinstance(add_tokens, int) else n_words,
        text_tokenizer=[t.config["kind"] for t in _text_tokenizers(text_tokenizer)],
        min_count=min_count,
    )


def _copy_tokenizer(tok: Any) -> Any:
    """A frozen copy for the `before` statistics (the graft changes `tok` in place)."""
    import copy

    return copy.deepcopy(tok)


def check_graft_out(out: str | os.PathLike[str]) -> Path:
    """`out` as a folder `save_grafted` may replace: a new or empty one, or an earlier graft's.

    The save swaps the whole folder in with one rename, so an existing folder holding
    anything else (a project, a home directory, a file) would be deleted with it; checked
    before the graft too, so a slip costs no loading.

    Raises:
        ConfigError: `out` is a file, or a folder with files but no `graft_report.json`.
    """
    final = Path(out)
    if final.exists() and not final.is_dir():
        raise ConfigError(f"{final}: exists and is not a folder (the output folder, --out)")
    if final.is_dir() and any(final.iterdir()) and not (final / REPORT_FILE).is_file():
        raise ConfigError(
            f"{final}: the output folder holds files but no {REPORT_FILE}, so it is not an "
            "earlier graft's; the grafted checkpoint replaces the whole folder, so choose a new "
            "or empty one"
        )
    return final


def save_grafted(result: GraftResult, out: str | os.PathLike[str]) -> Path:
    """Write model (safetensors), tokenizer and `graft_report.json` to `out`, atomically.

    The folder loads with `AutoModel.from_pretrained(out)` and
    `AutoTokenizer.from_pretrained(out)`, like any Hugging Face checkpoint. `out` must be
    new, empty or an earlier graft's folder (`check_graft_out`), which is replaced whole.
    """
    from vecgraft._util.atomic import atomic_directory

    final = check_graft_out(out)
    with atomic_directory(final) as tmp, quiet_transformers():  # its "Writing shards" bar
        result.model.save_pretrained(str(tmp), safe_serialization=True)
        result.tokenizer.save_pretrained(str(tmp))
        result.report.save(tmp / REPORT_FILE)
    return final
