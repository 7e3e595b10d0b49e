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

import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from vecgraft._util.options import parse_enum
from vecgraft.errors import ConfigError, DataError, FormatError
from vecgraft.text.corpus import iter_texts
from vecgraft.text.tokenize import Tokenizer
from vecgraft.transformer.graft_report import GRAFT_RULES, GraftReport, NewToken, TokenStats
from vecgraft.transformer.tokens import leading_space, load_tokenizer, spell, whole_word_tokens
from vecgraft.vectors import Vectors

REPORT_FILE = "graft_report.json"

# Scripts written without spaces between words: a grafted word in them must match inside a
# run of letters (single_word=False); a word in a spaced script must match whole.
_UNSPACED = re.compile(
    "[\u0e00-\u0eff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]"
)


class GraftInit(StrEnum):
    """How the row of a grafted token is filled (see the module docstring)."""

    SUBWORDS = "subwords"
    MEAN = "mean"
    VECTORS = "vectors"


class Weighting(StrEnum):
    """How similarities to the k nearest shared tokens become weights (`vectors` rule)."""

    SPARSEMAX = "sparsemax"
    SOFTMAX = "softmax"


@dataclass(frozen=True)
class GraftOptions:
    """Options of the `vectors` rule, recorded in the report."""

    init: GraftInit = GraftInit.SUBWORDS
    k: int = 50
    weighting: Weighting = Weighting.SPARSEMAX
    temperature: float = 0.1

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "init": self.init.value,
            "k": self.k,
            "weighting": self.weighting.value,
            "temperature": self.temperature,
        }


@dataclass
class Candidate:
    """A corpus word the old tokenizer spells badly: its pieces, frequency and score."""

    word: str
    pieces: list[int]
    count: int
    score: int


@dataclass
class GraftResult:
    """The grafted model and tokenizer (both changed in place) and the report."""

    model: Any
    tokenizer: Any
    report: GraftReport
    candidates: list[Candidate] = field(default_factory=list)


# -- weights -------------------------------------------------------------------------------
def sparsemax(z: np.ndarray) -> np.ndarray:
    """The Euclidean projection of `z` [n] onto the probability simplex (Martins & Astudillo).

    Like softmax it gives weights that sum to 1, but the smallest scores get exactly 0, so a
    new token is a combination of its few truly close neighbours rather than of all k.

    >>> sparsemax(np.array([0.9, 0.5, 0.1])).tolist()
    [0.7, 0.3, 0.0]
    """
    z = np.asarray(z, dtype=np.float64)
    if z.size == 0:
        return z
    s = np.sort(z)[::-1]
    cumulative = np.cumsum(s)
    ks = np.arange(1, z.size + 1)
    support = 1 + ks * s > cumulative
    k = int(ks[support][-1])
    tau = (cumulative[k - 1] - 1) / k
    return np.round(np.maximum(z - tau, 0.0), 12)


def _softmax(z: np.ndarray, temperature: float) -> np.ndarray:
    x = np.asarray(z, dtype=np.float64) / temperature
    e = np.exp(x - x.max())
    return e / e.sum()


# -- tokenizer helpers ---------------------------------------------------------------------
def _backend(tok: Any) -> Any:
    """A copy of the Rust tokenizer without padding or truncation (the caller's is not ours)."""
    from tokenizers import Tokenizer as RustTokenizer

    backend = RustTokenizer.from_str(tok.backend_tokenizer.to_str())
    backend.no_padding()
    backend.no_truncation()
    return backend


def _normalized(tok: Any, word: str) -> str:
    """`word` as the tokenizer's normalizer sees it (lowercased, accents stripped, ...)."""
    normalizer = tok.backend_tokenizer.normalizer
    return word if normalizer is None else str(normalizer.normalize_str(word))


def _match_key(tok: Any, word: str) -> str:
    """Words with the same key are the same to the tokenizer ("Covid" and "covid" uncased)."""
    return "".join(_normalized(tok, word).split())


def _added_token(tok: Any, word: str, *, lstrip: bool) -> Any:
    """`word` as an AddedToken that the tokenizer will match wherever the corpus had it.

    * `single_word`: words of spaced scripts match only as whole words ("cat" must not match
      inside "category"); words of unspaced scripts (Chinese, Japanese, Thai) sit inside runs
      of letters, so they must match there.
    * `normalized`: matching on normalised text lets an uncased tokenizer find "Covid" for the
      token "covid". BERT's normaliser puts spaces around each Chinese character, though, so
      words it would pad or pull apart are matched on the raw text instead (matching on the
      normalised text would still work, but the token would read " 很 ").
    * `lstrip` (byte-level BPE): the token absorbs the space before it, as "Ġword" would.
    """
    from tokenizers import AddedToken

    norm = _normalized(tok, word)
    pulled_apart = any(c.isspace() for c in norm) and not any(c.isspace() for c in word)
    return AddedToken(
        word,
        single_word=not _UNSPACED.search(word),
        normalized=not pulled_apart,
        lstrip=lstrip,
    )


def _piece_ids(tok: Any, words: Sequence[str]) -> list[list[int]]:
    """Ids of each word under `tok`, spelt as it appears mid-sentence, no special tokens."""
    if not words:
        return []
    backend = _backend(tok)
    return [e.ids for e in backend.encode_batch(spell(list(words), tok), add_special_tokens=False)]


def token_stats(tok: Any, texts: Iterable[str], *, batch_size: int = 1000) -> TokenStats:
    """Tokens per text and `[UNK]` count of `texts` under `tok` (no special tokens, no cap)."""
    backend = _backend(tok)
    unk = tok.unk_token_id
    stats = TokenStats()
    for chunk in _chunks(texts, batch_size):
        for enc in backend.encode_batch(chunk, add_special_tokens=False):
            stats.texts += 1
            stats.tokens += len(enc.ids)
            if unk is not None:
                stats.unk += sum(1 for i in enc.ids if i == unk)
    return stats


def _chunks(texts: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for text in texts:
        chunk.append(text)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# -- choosing the words --------------------------------------------------------------------
def _text_tokenizers(spec: str | Tokenizer | Sequence[str | Tokenizer]) -> list[Tokenizer]:
    items = [spec] if isinstance(spec, (str, Tokenizer)) else list(spec)
    if not items:
        raise ConfigError("text_tokenizer needs at least one tokenizer")
    return [t if isinstance(t, Tokenizer) else Tokenizer(t) for t in items]


def count_words(
    texts: Iterable[str], text_tokenizer: str | Tokenizer | Sequence[str | Tokenizer] = "regex"
) -> Counter[str]:
    """Corpus frequency of each word; with several tokenizers, a word's largest count.

    Several tokenizers find several kinds of word in one pass, e.g. `["char", "jieba"]` for
    Chinese characters and words.
    """
    tokenizers = _text_tokenizers(text_tokenizer)
    per: list[Counter[str]] = [Counter() for _ in tokenizers]
    for text in texts:
        for counter, tokenizer in zip(per, tokenizers):
            counter.update(tokenizer(text))
    merged: Counter[str] = Counter()
    for counter in per:
        for word, n in counter.items():
            if n > merged[word]:
                merged[word] = n
    return merged


def select_new_tokens(
    tok: Any, counts: Mapping[str, int], n: int, *, min_count: int = 1
) -> list[Candidate]:
    """The `n` words whose tokenisation costs the corpus most, best first.

    A word's score is count x (pieces - 1 + [UNK] pieces): every extra piece lengthens each
    occurrence, and an `[UNK]` piece also loses the word's identity. Words that are already
    one known token score 0 and are never picked. Case variants that the tokenizer does not
    tell apart (uncased BERT) are merged; the surface form kept is the one the normaliser
    leaves unchanged ("covid" over "Covid"), else the most frequent.
    """
    if n < 0:
        raise ConfigError(f"add_tokens must be at least 0, got {n}")
    groups: dict[str, list[tuple[str, int]]] = {}
    for word, count in counts.items():
        if word.strip():
            groups.setdefault(_match_key(tok, word), []).append((word, int(count)))
    groups.pop("", None)
    reps: list[tuple[str, int]] = []
    for forms in groups.values():
        forms.sort(key=lambda f: (-f[1], f[0]))
        same = [f for f, _ in forms if _normalized(tok, f) == f]
        total = sum(c for _, c in forms)
        if total >= min_count:
            reps.append((same[0] if same else forms[0][0], total))
    pieces = _piece_ids(tok, [w for w, _ in reps])
    vocab = tok.get_vocab()
    unk = tok.unk_token_id
    out: list[Candidate] = []
    for (word, count), ids in zip(reps, pieces):
        if not ids or word in vocab:
            continue
        n_unk = sum(1 for i in ids if i == unk) if unk is not None else 0
        if len(ids) == 1 and n_unk == 0:
            continue
        out.append(Candidate(word, list(ids), count, count * (len(ids) - 1 + n_unk)))
    out.sort(key=lambda c: (-c.score, -c.count, c.word))
    return out[:n]


def read_token_list(path: str | os.PathLike[str]) -> list[str]:
    """Tokens from a UTF-8 file, one per line (blank lines skipped, whitespace stripped)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{os.fspath(path)}: no such token list") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{os.fspath(path)}: not UTF-8 text ({exc.reason})") from None
    out: list[str] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        word = line.strip()
        if not word:
            continue
        if any(c.isspace() for c in word):
            raise DataError(
                f"{os.fspath(path)}:{lineno}: expected one token per line, found {word!r}"
            )
        out.append(word)
    return out


# -- filling the rows ----------------------------------------------------------------------
def _shared_tokens(tok: Any, static: Vectors) -> tuple[list[str], list[int], np.ndarray]:
    """Old whole-word tokens in the static vocabulary: (words, old ids, static rows).

    Only words with a row of their own count: a fastText subword model would "know" every
    token, and neighbours built from hashed n-grams of unrelated scripts are noise. (New
    tokens may take their static vector from subwords; that is what fastText is for.)
    """
    index = static.index
    words = [w for w in whole_word_tokens(tok) if w in index]
    ids = _piece_ids(tok, words)
    keep = [(w, x[0]) for w, x in zip(words, ids) if len(x) == 1 and x[0] != tok.unk_token_id]
    if not keep:
        return [], [], np.zeros((0, static.dim), dtype=np.float32)
    rows = np.asarray(static.matrix[[index[w] for w, _ in keep]], dtype=np.float32)
    return [w for w, _ in keep], [i for _, i in keep], rows


def _unit(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    norms[norms == 0] = 1.0
    return rows / norms


def _focus_weights(
    vec: np.ndarray, shared_unit: np.ndarray, opts: GraftOptions
) -> tuple[np.ndarray, np.ndarray]:
    """(indices into the shared tokens, weights) of one new token's k nearest neighbours."""
    sims = shared_unit @ _unit(np.asarray(vec, dtype=np.float32)[None, :])[0]
    k = min(opts.k, sims.size)
    top = np.argpartition(-sims, k - 1)[:k]
    top = top[np.lexsort((top, -sims[top]))]  # by similarity, ties by index: deterministic
    if opts.weighting is Weighting.SPARSEMAX:
        weights = sparsemax(sims[top])
    else:
        weights = _softmax(sims[top], opts.temperature)
    keep = weights > 0
    return top[keep], weights[keep]


def _output_tables(model: Any) -> tuple[list[Any], bool]:
    """Matrices whose rows are per-token (input, untied output, output bias); tied or not."""
    inp = model.get_input_embeddings().weight
    tables = [inp]
    head = model.get_output_embeddings()
    tied = True
    if head is not None:
        weight = getattr(head, "weight", None)
        if weight is not None and weight is not inp and weight.data_ptr() != inp.data_ptr():
            tables.append(weight)
            tied = False
        bias = getattr(head, "bias", None)
        if bias is not None and bias.dim() == 1 and bias.shape[0] == inp.shape[0]:
            tables.append(bias)
    return tables, tied


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
    import torch

    opts = GraftOptions(
        init=parse_enum(GraftInit, init, "init"),
        k=k,
        weighting=parse_enum(Weighting, weighting, "weighting"),
        temperature=temperature,
    )
    if opts.k < 1:
        raise ConfigError(f"k must be at least 1, got {k}")
    if opts.temperature <= 0:
        raise ConfigError(f"temperature must be positive, got {temperature}")
    if isinstance(tokens, str):
        raise ConfigError("tokens must be a list of words, not one string")
    static = _static_vectors(vectors) if opts.init is GraftInit.VECTORS else None
    if opts.init is GraftInit.VECTORS and static is None:
        raise ConfigError("init 'vectors' needs static vectors (vectors=...)")
    if not getattr(tok, "is_fast", False):
        raise ConfigError("grafting needs a fast (Rust) tokenizer")

    fresh, skipped = _fresh_tokens(tok, tokens)
    pieces = _piece_ids(tok, fresh)
    old_size = int(model.get_input_embeddings().weight.shape[0])
    if len(tok) > old_size:
        raise ConfigError(f"the tokenizer has {len(tok)} tokens but the model only {old_size} rows")
    notes: list[str] = []
    plan: list[tuple[str, list[int], np.ndarray, list[tuple[str, float]]]] = []
    shared_words: list[str] = []
    shared_ids: list[int] = []
    shared_unit = np.zeros((0, 1), dtype=np.float32)
    if static is not None:
        shared_words, shared_ids, shared_rows = _shared_tokens(tok, static)
        shared_unit = _unit(shared_rows)
        if not shared_words:
            notes.append("no old token is in the static vectors: every row fell back to subwords")
    missing_static = 0
    for word, ids in zip(fresh, pieces):
        if static is not None and shared_words:
            vec = static.get(word)
            if vec is not None:
                idx, weights = _focus_weights(vec, shared_unit, opts)
                rows = [shared_ids[i] for i in idx]
                neighbours = [(shared_words[i], float(w)) for i, w in zip(idx, weights)]
                plan.append(("vectors", rows, weights, neighbours))
                continue
            missing_static += 1
        if opts.init is GraftInit.MEAN or not ids:
            plan.append(("mean", [], np.zeros(0), []))
        else:
            plan.append(("subwords", list(ids), np.full(len(ids), 1.0 / len(ids)), []))
    if missing_static:
        notes.append(f"{missing_static} new token(s) not in the static vectors: filled by subwords")
    unspellable = sum(1 for p in plan if p[0] == "mean")
    if unspellable and opts.init is not GraftInit.MEAN:
        notes.append(f"{unspellable} new token(s) the old tokenizer cannot spell: filled by mean")

    lstrip = leading_space(tok)
    tok.add_tokens([_added_token(tok, w, lstrip=lstrip) for w in fresh])
    new_ids = tok.convert_tokens_to_ids(fresh)
    if len(tok) > old_size:
        model.resize_token_embeddings(len(tok), mean_resizing=False)
    tables, tied = _output_tables(model)
    with torch.no_grad():
        means = [t[:old_size].float().mean(dim=0) for t in tables]
        for new_id, (rule, rows, weights, _) in zip(new_ids, plan):
            for table, mean in zip(tables, means):
                if rule == "mean":
                    value = mean
                else:
                    w = torch.as_tensor(weights, dtype=torch.float32, device=table.device)
                    picked = table[torch.as_tensor(rows, device=table.device)].float()
                    value = (w[:, None] * picked.reshape(len(rows), -1)).sum(0)
                    value = value.reshape(table.shape[1:])
                table[new_id] = value.to(table.dtype)
    old_tokens = tok.convert_ids_to_tokens
    new_tokens = [
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
    rule_counts = {r: sum(1 for t in new_tokens if t.rule == r) for r in GRAFT_RULES}
    return GraftReport(
        new_tokens=new_tokens,
        counts=rule_counts,
        init=opts.init.value,
        old_vocab_size=old_size,
        new_vocab_size=int(model.get_input_embeddings().weight.shape[0]),
        tied=tied,
        skipped=skipped,
        vectors=_vectors_name(vectors),
        options=opts.to_dict(),
        notes=notes,
    )


def _fresh_tokens(tok: Any, tokens: Sequence[str]) -> tuple[list[str], list[str]]:
    """(tokens to add, tokens skipped): skip known single tokens and tokenizer-equal repeats."""
    words = list(tokens)
    bad = next((w for w in words if not isinstance(w, str) or not w.strip()), None)
    if bad is not None or any(isinstance(w, str) and w != w.strip() for w in words):
        raise ConfigError(f"new tokens must be non-empty strings without outer spaces: {bad!r}")
    vocab = tok.get_vocab()
    ids = _piece_ids(tok, words)
    unk = tok.unk_token_id
    seen: set[str] = set()
    fresh: list[str] = []
    skipped: list[str] = []
    for word, pieces in zip(words, ids):
        key = _match_key(tok, word)
        known = word in vocab or (len(pieces) == 1 and pieces[0] != unk)
        if known or key in seen:
            skipped.append(word)
            continue
        seen.add(key)
        fresh.append(word)
    return fresh, skipped


def _static_vectors(vectors: Vectors | str | os.PathLike[str] | None) -> Vectors | None:
    if vectors is None or isinstance(vectors, Vectors):
        return vectors
    from vecgraft.io import load

    return load(vectors)


def _vectors_name(vectors: Vectors | str | os.PathLike[str] | None) -> str | None:
    if vectors is None:
        return None
    if isinstance(vectors, Vectors):
        return vectors.source or "<Vectors>"
    return os.fspath(vectors)


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
    try:
        model = cls.from_pretrained(str(path), local_files_only=True, trust_remote_code=False)
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
    min_count: int = 2,
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
        text_tokenizer: how corpus words are found: a `Tokenizer`, a kind ("regex", "jieba",
            "char", ...) or several (their words are pooled).
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
    if isinstance(model, (str, os.PathLike)):
        source: str | None = os.fspath(model)
        if tokenizer is None:
            tokenizer = load_tokenizer(Path(model))
        model = load_model(model)
    else:
        source = getattr(getattr(model, "config", None), "_name_or_path", None) or None
        if tokenizer is None:
            raise ConfigError("pass tokenizer=... with a loaded model")
    before_tok = _copy_tokenizer(tokenizer)

    def texts() -> Iterator[str]:
        if corpus is None:
            return iter(())
        return iter(iter_texts(corpus, column=column))

    candidates: list[Candidate] = []
    counts: Mapping[str, int] | None = None
    if isinstance(add_tokens, bool):
        raise ConfigError("add_tokens must be a number, a list of words or a file")
    if isinstance(add_tokens, int):
        if corpus is None:
            raise ConfigError("add_tokens as a number needs a corpus to pick words from")
        candidates = select_new_tokens(
            tokenizer, count_words(texts(), text_tokenizer), add_tokens, min_count=min_count
        )
        words = [c.word for c in candidates]
        counts = {c.word: c.count for c in candidates}
    elif isinstance(add_tokens, (str, os.PathLike)):
        words = read_token_list(add_tokens)
    else:
        words = list(add_tokens)
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
    scores = {c.word: c.score for c in candidates}
    for entry in report.new_tokens:
        entry.score = scores.get(entry.token, 0)
    report.source = source
    report.options.update(
        add_tokens=add_tokens if isinstance(add_tokens, int) else len(words),
        text_tokenizer=[t.config["kind"] for t in _text_tokenizers(text_tokenizer)],
        min_count=min_count,
    )
    if corpus is not None:
        report.before = token_stats(before_tok, texts())
        report.after = token_stats(tokenizer, texts())
    return GraftResult(model, tokenizer, report, candidates)


def _copy_tokenizer(tok: Any) -> Any:
    """A frozen copy for the `before` statistics (the graft changes `tok` in place)."""
    import copy

    return copy.deepcopy(tok)


def save_grafted(result: GraftResult, out: str | os.PathLike[str]) -> Path:
    """Write model (safetensors), tokenizer and `graft_report.json` to `out`, atomically.

    The folder loads with `AutoModel.from_pretrained(out)` and
    `AutoTokenizer.from_pretrained(out)`, like any Hugging Face checkpoint.
    """
    from vecgraft._util.atomic import atomic_directory

    final = Path(out)
    with atomic_directory(final) as tmp:
        result.model.save_pretrained(str(tmp), safe_serialization=True)
        result.tokenizer.save_pretrained(str(tmp))
        result.report.save(tmp / REPORT_FILE)
    return final
