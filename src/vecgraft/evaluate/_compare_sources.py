"""Per-source preparation for `compare`: vectors from files or transformers, intrinsic scores.

Split out of `vecgraft.evaluate.compare`, which re-exports these names.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from vecgraft._util.extras import install_hint
from vecgraft._util.jsonfile import RECORD_LIMIT, read_json_file
from vecgraft.errors import ConfigError, DataError, Hint, MissingExtraError, Opt
from vecgraft.evaluate._compare_config import (
    CLASSIFIER_MODE,
    INTRINSIC_SETS,
    SourceKind,
    SourceSpec,
)
from vecgraft.evaluate._vectors_encoding import unused_encoding
from vecgraft.finetune.config import FinetuneConfig


# -- per-source preparation ----------------------------------------------------------------
def _training_vocab(base: FinetuneConfig) -> Any:
    """The vocabulary (with counts) of the full training data, tokenised as the cells do."""
    texts = training_texts(base)
    return training_vocab_of(base, texts), texts


def training_vocab_of(base: FinetuneConfig, texts: list[str]) -> Any:
    """The vocabulary (with counts) of `texts` (`training_texts`), tokenised as the cells do.

    Split from the reading: compare reads the file once to tell whether the texts are
    Chinese and builds the vocabulary once, with the tokenizer that decides.
    """
    from vecgraft.text.vocab_build import _build_vocab

    tokenizer = base_tokenizer(base)
    # no warning: the cells say it (and the report, `_unsegmented_note`)
    return _build_vocab(texts, tokenizer, min_freq=base.min_freq, max_size=base.max_size)


def training_texts(base: FinetuneConfig) -> list[str]:
    """The texts of the full training data, read as the cells read them."""
    from vecgraft.finetune.data import read_labelled

    if base.train is None:
        raise ConfigError("no training data", hint=Hint(": pass {}", Opt("train", "...", "PATH")))
    data, _bad = read_labelled(
        base.train,
        text_column=base.text_column,
        label_column=base.label_column,
        encoding=base.encoding,
        errors=base.errors,
        bad_rows=base.bad_rows,
    )
    if not data.texts:
        raise DataError(f"{base.train}: no labelled rows")
    return list(data.texts)


# the tokenizer settings a vectors' metadata.json holds that a FinetuneConfig can also name
_SHARED_KEYS = ("kind", "zh_mode", "halfwidth", "simplified", "user_dict")
# what a row does without the setting (vecgraft pretrain records zh_mode "word" for regex too)
_DEFAULTS = {"kind": "regex", "zh_mode": "word"}


def _own_tokenizer(spec: SourceSpec) -> dict[str, Any] | None:
    """The tokenizer a vector source's metadata.json names, less the defaults; None: none.

    {} is the plain regex rule, what the rows without vectors use anyway.
    """
    from vecgraft.finetune.vectors_record import vectors_metadata

    if spec.kind is not SourceKind.VECTORS or spec.path is None:
        return None
    saved = vectors_metadata(spec.path).get("tokenizer")
    if not (isinstance(saved, dict) and saved.get("kind")):
        return None
    return {
        k: saved[k] for k in _SHARED_KEYS
        if saved.get(k) not in (None, False) and _DEFAULTS.get(k) != saved[k]
    }  # fmt: skip


def named_tokenizers(specs: Sequence[SourceSpec]) -> dict[str, dict[str, Any]]:
    """Source name -> the tokenizer its vectors' metadata.json names (`_own_tokenizer`)."""
    return {spec.name: own for spec in specs if (own := _own_tokenizer(spec)) is not None}


# where compare.json's `text_settings` came from when it does not say (`text_settings_from`):
# the words an earlier release said of every source, shown as it said them
EARLIER_TAKEN_FROM = "their metadata.json"
# `text_settings_from` of rows that segment Chinese training texts with jieba on their own
# (no vector source gave them a tokenizer): `compare._chinese_rows`
CHINESE_TEXTS = "the training texts, which are Chinese"
# where the rows without a tokenizer of their own took jieba from when the user gave a
# jieba user dictionary and no tokenizer (as `finetune` reads `--user-dict` alone)
USER_DICT_JIEBA = "--user-dict, a jieba user dictionary"


def taken_from(specs: Sequence[SourceSpec], named: dict[str, dict[str, Any]]) -> str:
    """Where the vectors of the `named` sources record their tokenizer, as the notes say it.

    "their metadata.json", "their file's own metadata" (a native file that keeps it alone,
    as `from-transformer --vocab` writes), or each with its sources where they differ.
    """
    from vecgraft.finetune.vectors_record import vectors_tokenizer_source

    by: dict[str, list[str]] = {}
    for spec in specs:
        if spec.name in named and spec.path is not None:
            their = vectors_tokenizer_source(spec.path).their
            by.setdefault(their, []).append(spec.name)
    if len(by) <= 1:
        return next(iter(by), EARLIER_TAKEN_FROM)
    return ", ".join(f"{their} ({', '.join(names)})" for their, names in by.items())


def as_config_settings(own: dict[str, Any]) -> dict[str, Any]:
    """A `named_tokenizers` entry as FinetuneConfig settings ("kind" is "tokenizer")."""
    return {"tokenizer": own.get("kind", "regex"), **{k: v for k, v in own.items() if k != "kind"}}


# tokenizer kinds of Chinese vectors: when sources of these kinds disagree, the rows without
# vectors of their own segment with jieba (regex cuts Chinese into whole clauses)
_CHINESE_KINDS = frozenset({"jieba", "char"})


def shared_text_settings(
    base: FinetuneConfig,
    specs: Sequence[SourceSpec],
    named: dict[str, dict[str, Any]],
    say: Any,
    taken: str,
    chinese: Callable[[], bool] = lambda: False,
) -> tuple[dict[str, Any], str | None]:
    """Settings for the sources that name no tokenizer (those not in `named`), and a note.

    Without `--tokenizer`, a cell on vectors pretrained with jieba segments with jieba (as
    their metadata.json says, or where `taken_from` finds it), but the random, linear and
    transformer rows had nothing to take it from and cut Chinese into whole clauses: the
    linear row to beat scored 80.2 % on 20 % of ChnSentiCorp where it scores 86.0 % on
    jieba words. When every source that names a
    tokenizer names the same one, the others take it too. When they disagree the others
    segment with jieba if every named kind is Chinese (jieba, char), else stay on the regex
    rule, or jieba where `chinese()` says the training texts are Chinese and jieba is there
    (as `finetune` chooses for texts it is given no tokenizer for); the note (for the log,
    compare.json and the report) says which, since a linear row on regex tokens is a low bar
    ("X beats linear by 5.5 points" misled). Empty and None when the user named a tokenizer.
    """
    if base.tokenizer is not None or not named:
        return {}, None
    others = [s.name for s in specs if s.name not in named and s.kind is not SourceKind.FINETUNE]
    distinct = {tuple(sorted(saved.items())) for saved in named.values()}
    if len(distinct) > 1:
        return _disagreeing_settings(base, named, others, say, chinese)
    saved = next(iter(named.values()))
    if not saved or not others:  # the plain regex rule, or no row to give it to
        return {}, None
    wanted = {"tokenizer": saved.get("kind", "regex")}
    for key in _SHARED_KEYS[1:]:  # after "kind": what the user left unset
        if getattr(base, key) is None and key in saved:
            wanted[key] = saved[key]
    if "user_dict" in wanted and not Path(wanted["user_dict"]).is_file():
        del wanted["user_dict"]  # the vectors' own cells go without it too (and say so)
    shown = ", ".join(f"{k} {v}" for k, v in wanted.items())
    say(
        f"compare: the rows of {', '.join(others)} tokenize as the vectors of "
        f"{', '.join(named)} do ({shown}; from {taken}): --tokenizer to choose "
        f"another{linear_zh_note(specs, wanted)}"
    )
    return wanted, None


def linear_zh_note(specs: Sequence[SourceSpec], wanted: dict[str, Any]) -> str:
    """"; the linear row ..." where the shared settings hold a Chinese mode it does not use.

    The linear model takes jieba's words and its own character n-grams whatever `zh_mode`:
    the log said the linear row tokenized with "zh_mode word+char" where only random did.
    """
    from vecgraft.text.zh import reads_characters

    mode = wanted.get("zh_mode")
    linear = [s.name for s in specs if s.kind is SourceKind.LINEAR]
    if not linear or not reads_characters(mode):
        return ""
    return (f"; the linear row ({', '.join(linear)}) has no Chinese mode: it cuts jieba's "
            f"words and adds its own character n-grams, where the others read {mode}")


def _disagreeing_settings(
    base: FinetuneConfig,
    named: dict[str, dict[str, Any]],
    others: list[str],
    say: Any,
    chinese: Callable[[], bool],
) -> tuple[dict[str, Any], str | None]:
    """`shared_text_settings` where the vector sources name different tokenizers.

    Chinese sources only (jieba and char): jieba, with the settings its jieba sources agree
    on (a user dictionary that is still there, half-width, simplified); else jieba for
    Chinese training texts (`chinese()`), else the regex rule.
    """
    if not others:
        return {}, None
    kinds = "; ".join(f"{n}: {tokenizer_label(s.get('kind'), s.get('zh_mode'))}"
                      for n, s in named.items())  # fmt: skip
    rows = ", ".join(others)
    if not {s.get("kind", "regex") for s in named.values()} <= _CHINESE_KINDS:
        if chinese():  # as finetune segments Chinese texts that it is given no tokenizer for
            note = (f"the vector sources were tokenized differently ({kinds}); the training "
                    f"texts are Chinese, so the rows of {rows} segment with jieba: "
                    f"--tokenizer{_zh_flag(named)} to choose one for every row")  # fmt: skip
            say(f"compare: {note}")
            return {"tokenizer": "jieba"}, note
        note = (
            f"the vector sources were tokenized differently ({kinds}); the rows of {rows} "
            "tokenize with the regex rule, which cuts Chinese, Japanese or Thai text into "
            "whole clauses, so a score measured against them may flatter the sources: "
            f"--tokenizer{_zh_flag(named)} to choose one for every row"
        )
        say(f"WARNING: {note}")
        return {}, note
    jieba = [s for s in named.values() if s.get("kind") == "jieba"]
    wanted: dict[str, Any] = {"tokenizer": "jieba"}
    for key in _SHARED_KEYS[1:]:
        values = {repr(s.get(key)) for s in jieba}
        if getattr(base, key) is None and len(values) == 1 and jieba[0].get(key) is not None:
            wanted[key] = jieba[0][key]
    if "user_dict" in wanted and not Path(wanted["user_dict"]).is_file():
        del wanted["user_dict"]
    shown = ", ".join(f"{k} {v}" for k, v in wanted.items())
    note = (
        f"the vector sources were tokenized differently ({kinds}); all are Chinese, so the "
        f"rows of {rows} segment with jieba ({shown}): --tokenizer{_zh_flag(named)} to choose "
        "one for every row"
    )
    say(f"compare: {note}")
    return wanted, note


def _zh_flag(named: dict[str, dict[str, Any]]) -> str:
    """" and --zh-mode" where the sources' Chinese modes differ (the flag that aligns them)."""
    modes = {s.get("zh_mode", _DEFAULTS["zh_mode"]) for s in named.values()}
    return " and --zh-mode" if len(modes) > 1 else ""


def tokenizer_label(kind: str | None, zh_mode: str | None = None) -> str:
    """A tokenizer as the notes name it: its kind, and its Chinese mode where not words.

    Sources of jieba words and jieba characters read "(w2v: jieba; char: jieba)".

    >>> tokenizer_label("jieba"), tokenizer_label("jieba", "char"), tokenizer_label(None)
    ('jieba', 'jieba (char)', 'regex')
    """
    kind = kind or "regex"
    return f"{kind} ({zh_mode})" if zh_mode and zh_mode != _DEFAULTS["zh_mode"] else kind


def row_tokenizer(base: FinetuneConfig, settings: dict[str, Any], own: Any) -> str | None:
    """The tokenizer kind a row's cells use, for compare.json; None: a fine-tuned run's own."""
    if own is not None:
        return str(base.tokenizer or own.get("kind", "regex"))
    return str(settings.get("tokenizer") or base.tokenizer or "regex")


def row_zh_mode(base: FinetuneConfig, settings: dict[str, Any], own: Any) -> str | None:
    """The Chinese mode (char, word+char) a row's cells use beside `row_tokenizer`'s kind.

    None for words, the default, as `resolve_text_options` fills it: the run's own
    setting, else the vectors' where their kind is the row's.
    """
    if base.zh_mode is not None:
        mode = str(base.zh_mode)
    elif own is not None:
        same = base.tokenizer in (None, own.get("kind", "regex"))
        mode = str(own.get("zh_mode")) if same and own.get("zh_mode") else ""
    else:
        mode = str(settings.get("zh_mode") or "")
    return mode if mode and mode != _DEFAULTS["zh_mode"] else None


def base_tokenizer(base: FinetuneConfig) -> Any:
    """The tokenizer of the settings alone (none taken from vectors): regex unless named.

    Its jieba user dictionary is the run's own (`--user-dict`), so that the coverage of
    sources whose cells segment with it is counted on the words they see.
    """
    from vecgraft.text.tokenize import Tokenizer

    kind = base.tokenizer_kind or "regex"
    user_dict = base.user_dict if kind == "jieba" else None
    return Tokenizer(kind, lower=bool(base.lower), stopwords=base.stopwords, user_dict=user_dict)


def _transformer_vectors(
    spec: SourceSpec, vocab: Any, texts: list[str], folder: Path, device: str
) -> str:
    """Vectors of the task vocabulary from a transformer, saved once in native format.

    What they were derived from (the checkpoint folder's fingerprint and the words) is kept
    beside them, `sources/<name>.derived.json`: a rerun after the checkpoint was replaced
    reused the old vectors, and every cell on them, without a word.
    """
    from vecgraft.io import save

    # absolute: the cells record this path, and a rerun from another directory (or with
    # --out spelled otherwise) refused every cell as "run with other settings"
    target = folder.resolve() / "sources" / spec.folder
    words = _task_words(spec, vocab)
    derived = _derived_from(spec, words)
    record = target.with_name(f"{spec.folder}.derived.json")
    if (target / "vectors.safetensors").exists():
        _check_derived(spec, target, record, derived)
        return str(target)
    vectors = _derive(spec, words, texts, device)
    target.mkdir(parents=True, exist_ok=True)
    save(vectors, target, "native")
    from vecgraft._util.atomic import atomic_write_json

    atomic_write_json(record, derived)
    return str(target)


def _task_words(spec: SourceSpec, vocab: Any) -> list[str]:
    """The words a transformer source's vectors are derived for.

    Finetune's recipe gets the vocabulary's tokens as `finetune --vectors hf:` passes them
    (its specials too): its PCA and SIF depend on the words given and their order, and the
    same words must give the same matrix. The explicit modes keep the words they had.
    """
    if spec.mode == CLASSIFIER_MODE:
        return list(vocab.tokens)
    return [t for t in vocab.tokens if t not in {vocab.pad_token, vocab.unk_token}]


def _derive(spec: SourceSpec, words: list[str], texts: list[str], device: str) -> Any:
    """`words`' vectors from `spec`'s checkpoint, in its mode (`_transformer_vectors`).

    Only the import is guarded: an ImportError while deriving (a tokenizer that needs
    sentencepiece) is the user's to see as it is, not "install the hf extra".
    """
    where = None if device == "auto" else device
    try:
        if spec.mode == CLASSIFIER_MODE:  # one recipe, finetune's (`classifier_vectors`)
            from vecgraft.transformer import classifier_vectors as derive
        else:
            from vecgraft.transformer import from_transformer as derive
    except ImportError as exc:
        raise MissingExtraError(
            f"source {spec.spec!r}: transformer sources need vecgraft.transformer and the hf "
            f"extra: {install_hint('hf')} ({exc})"
        ) from exc
    if spec.mode == CLASSIFIER_MODE:
        return derive(str(spec.path), words, device=where)
    kwargs: dict[str, Any] = {"mode": spec.mode or "input"}
    if spec.mode == "corpus":
        kwargs["corpus"] = texts
    if where is not None:
        kwargs["device"] = where
    return derive(spec.path, words, **kwargs)  # type: ignore[arg-type]


def continued_specs(
    specs: list[SourceSpec], out: Path, say: Callable[[str], None]
) -> list[SourceSpec]:
    """`specs`, each written without a mode that `out` derived in `input` mode kept so.

    `hf:PATH` (or a checkpoint folder) meant `input` before it meant finetune's recipe; a
    folder of then holds those vectors and the cells made with them, which a rerun continues
    rather than mixing in cells of other vectors under one name. Said in one line each.
    """
    taken = {s.folder.casefold() for s in specs}
    kept: list[SourceSpec] = []
    for spec in specs:
        old = spec.legacy_input()
        if old is not None and _derived_as_input(old, out, taken - {spec.folder.casefold()}):
            from vecgraft.transformer import classifier_recipe

            say(f"compare: source {spec.spec!r} continues with the input-mode vectors "
                f"{out / 'sources' / old.folder} holds, derived when a source without a mode "
                f"meant input (now finetune's recipe: {classifier_recipe()}); another --out "
                "derives those")  # fmt: skip
            spec = old
        kept.append(spec)
    return kept


def _derived_as_input(old: SourceSpec, out: Path, others: set[str]) -> bool:
    """Whether `out` holds `old`'s vectors derived in `input` mode by a spec without one.

    Not where another source of this grid has that folder (`hf:PATH:input` written out
    continues it), nor where compare.json says the row's spec named its mode.
    """
    sources = out / "sources"
    if old.folder.casefold() in others:
        return False
    if not (sources / old.folder / "vectors.safetensors").exists():
        return False
    try:
        mode = read_json_file(sources / f"{old.folder}.derived.json", limit=RECORD_LIMIT)["mode"]
    except (OSError, ValueError, KeyError, TypeError):
        mode = "input"  # derived before the record was kept: only `input` had no mode
    if mode != "input":
        return False
    try:
        rows = read_json_file(out / "compare.json", limit=RECORD_LIMIT).get("sources") or []
    except (OSError, ValueError, AttributeError):
        return True  # interrupted before compare.json: the record says it all
    return not any(isinstance(row, dict) and row.get("name") == old.name
                   and str(row.get("spec", "")).strip().endswith(":input")
                   for row in rows)  # fmt: skip


def _derived_from(spec: SourceSpec, words: Sequence[str]) -> dict[str, Any]:
    """The checkpoint folder's state and a digest of the words a source's vectors are for."""
    import hashlib

    from vecgraft._util.fingerprint import input_fingerprints

    digest = hashlib.sha256("\n".join(words).encode("utf-8", "surrogatepass")).hexdigest()
    return {"inputs": input_fingerprints({"checkpoint": spec.path}), "mode": spec.mode,
            "words": len(words), "words_sha256": digest[:32]}  # fmt: skip


def _check_derived(spec: SourceSpec, target: Path, record: Path, now: dict[str, Any]) -> None:
    """Refuse vectors derived from a checkpoint since changed, or for other words.

    Vectors derived before the record was kept are taken as they are (nothing to check).
    """
    from vecgraft._util.fingerprint import changed_inputs

    try:
        saved = read_json_file(record, limit=RECORD_LIMIT)
        before = saved["inputs"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    changed = changed_inputs(before, now["inputs"])
    if saved.get("mode") not in (None, now["mode"]):  # `m=hf:M:input` become `m=hf:M:corpus`
        changed.append(f"mode {saved.get('mode')} -> {now['mode']}")
    elif saved.get("words_sha256") not in (None, now["words_sha256"]):
        changed.append(f"the task's words ({saved.get('words')} -> {now['words']}: the "
                       "training data or text settings changed)")  # fmt: skip
    if changed:
        raise ConfigError(
            f"source {spec.spec!r}: its vectors in {target} were derived from another "
            f"checkpoint or for other words ({'; '.join(changed)}); use another --out, or "
            f"delete {target} and the source's cells to derive them again"
        )


def vectors_language(words: Sequence[str], sample: int = 2000) -> str:
    """"zh" or "ja" when over a third of the first `sample` words are CJK, else "en".

    "ja" when over a fifth of those CJK words hold kana (U+3040-U+30FF).

    English similarity sets say nothing about Chinese vectors (and would only print notes
    that no pair was found), so a comparison scores each source in its own language.
    Japanese is written with kanji too: its vectors were scored on the Chinese CA8 sets.
    A few kana words (`の` in Chinese web text) leave Chinese vectors Chinese.

    >>> vectors_language(["的", "是", "中国", "the"]), vectors_language(["the", "of", "中国"])
    ('zh', 'en')
    >>> vectors_language(["の", "日本", "東京", "する", "ある"])
    'ja'
    """
    head = list(words[:sample])
    cjk = kana = 0
    for word in head:
        if any("\u3040" <= ch <= "\u9fff" for ch in word):  # kana, CJK symbols, Han
            cjk += 1
            kana += any("\u3040" <= ch <= "\u30ff" for ch in word)
    if not head or cjk * 3 <= len(head):
        return "en"
    return "ja" if kana * 5 > cjk else "zh"


# a similarity score on fewer of its set's pairs is marked "low": a correlation on another
# subset of pairs than the other sources' (or published scores'), not comparable with them
LOW_PAIR_SHARE = 0.5
# the built-in similarity sets as a report names them
SET_NAMES = {"wordsim353": "WordSim353", "simlex999": "SimLex-999"}
# the built-in analogy sets a Chinese source is scored on (`vecgraft intrinsic --lang zh`'s)
ANALOGY_NAMES = {"ca8-morphological": "CA8 morphological", "ca8-semantic": "CA8 semantic"}


def is_analogy(entry: Any) -> bool:
    """Whether an intrinsic entry of compare.json is an analogy score (CA8), not a ρ."""
    return isinstance(entry, dict) and isinstance(entry.get("accuracy"), int | float)


def score_label(name: str) -> str:
    """A set's score as the console and the report's column header name it.

    >>> score_label("wordsim353"), score_label("ca8-semantic")
    ('WordSim353 ρ', 'CA8 semantic acc')
    """
    if name in ANALOGY_NAMES:
        return f"{ANALOGY_NAMES[name]} acc"
    return f"{SET_NAMES.get(name, name)} ρ"


def intrinsic_pairs(entry: dict[str, Any]) -> tuple[int, int] | None:
    """(pairs scored, pairs in the set) of one similarity score of a source, or None.

    For an analogy score, (questions seen, questions in the set): CA8's rules answer a
    question whose first three words the vectors hold.

    A compare.json written before "total" was kept has gensim's `oov_ratio` (percent of the
    pairs with a word outside the vectors), from which the set's size follows.

    >>> intrinsic_pairs({"spearman": 0.877, "pairs": 24, "total": 353})
    (24, 353)
    >>> intrinsic_pairs({"spearman": 0.5, "pairs": 24, "oov_ratio": 100 * 329 / 353})
    (24, 353)
    >>> intrinsic_pairs({"accuracy": 0.5, "correct": 2, "total": 4, "questions": 7636})
    (4, 7636)
    """
    if is_analogy(entry):  # `vecgraft intrinsic`'s record: total is the questions seen
        seen, questions = entry.get("total"), entry.get("questions")
        return (seen, questions) if isinstance(seen, int) and isinstance(questions, int) else None
    pairs, total, ratio = entry.get("pairs"), entry.get("total"), entry.get("oov_ratio")
    if not isinstance(pairs, int):
        return None
    if not isinstance(total, int):
        if not isinstance(ratio, int | float) or not 0 <= ratio < 100:
            return None
        total = round(pairs / (1 - ratio / 100))
    return pairs, total


def intrinsic_text(entry: dict[str, Any]) -> str:
    """A similarity score with the pairs it was computed on: `0.877 (24/353, low)`.

    "low" when fewer than `LOW_PAIR_SHARE` of the set's pairs could be scored (the vectors
    lack a word of the others), as `vecgraft intrinsic` prints the pairs beside each score.

    >>> intrinsic_text({"spearman": 0.5033, "pairs": 352, "total": 353})
    '0.503 (352/353)'
    >>> intrinsic_text({"spearman": 0.877, "pairs": 24, "total": 353})
    '0.877 (24/353, low)'

    An analogy score is the accuracy on the questions seen, as `vecgraft intrinsic` prints it:

    >>> intrinsic_text({"accuracy": 1 / 3, "correct": 1, "total": 3, "questions": 10177})
    '33.33% (3/10177, low)'
    """
    if is_analogy(entry):
        seen = entry.get("total")
        score = f"{float(entry['accuracy']):.2%}" if seen else "n/a"  # 0 of 0 is no score
    else:
        score = f"{float(entry['spearman']):.3f}"
    counts = intrinsic_pairs(entry)
    if counts is None:
        return score
    pairs, total = counts
    low = ", low" if pairs < LOW_PAIR_SHARE * total else ""
    return f"{score} ({pairs}/{total}{low})"


def analogy_line(name: str, entry: dict[str, Any]) -> str:
    """An analogy score as the console says it, its counts in words.

    `compare` said `CA8 morphological acc 0.66% (2278/10177, low)`, read as 2,278 right of
    10,177 where 2,278 were the questions answerable (the vectors hold their first three
    words); the accuracy is of those.

    >>> analogy_line("ca8-morphological",
    ...              {"accuracy": 15 / 2278, "correct": 15, "total": 2278, "questions": 10177})
    'CA8 morphological acc 0.66%: 15 right of 2,278 questions answerable with these vectors (10,177 in the set; low coverage)'
    >>> analogy_line("ca8-semantic", {"accuracy": 0.0, "correct": 0, "total": 0, "questions": 7636})
    'CA8 semantic acc n/a: 0 questions answerable with these vectors (7,636 in the set; low coverage)'
    """  # noqa: E501
    seen, questions = entry.get("total"), entry.get("questions")
    if not isinstance(seen, int) or not isinstance(questions, int):
        return f"{score_label(name)} {intrinsic_text(entry)}"
    answerable = f"questions answerable with these vectors ({questions:,} in the set"
    low = "; low coverage)" if seen < LOW_PAIR_SHARE * questions else ")"
    if not seen:
        return f"{score_label(name)} n/a: 0 {answerable}{low}"
    correct = entry.get("correct")
    right = correct if isinstance(correct, int) else round(float(entry["accuracy"]) * seen)
    return (f"{score_label(name)} {float(entry['accuracy']):.2%}: {right:,} right of "
            f"{seen:,} {answerable}{low}")  # fmt: skip


def low_intrinsic_note(name: str, intrinsic: dict[str, Any] | None) -> str | None:
    """Which similarity scores of source `name` rest on under half their set's pairs, or None.

    >>> print(low_intrinsic_note("minilm", {
    ...     "wordsim353": {"spearman": 0.877, "pairs": 24, "total": 353},
    ...     "simlex999": {"spearman": 0.5, "pairs": 900, "total": 999}}))
    ... # doctest: +NORMALIZE_WHITESPACE
    minilm: WordSim353 ρ on 24 of its 353 pairs (6.8%): the vectors lack a word of the
    others, so it is not comparable with the score of a source that covers them (nor with
    published scores)
    """
    low = []
    for dataset, entry in (intrinsic or {}).items():
        counts = intrinsic_pairs(entry) if isinstance(entry, dict) else None
        if counts and counts[0] < LOW_PAIR_SHARE * counts[1]:
            pairs, total = counts
            unit = "questions" if is_analogy(entry) else "pairs"
            low.append(f"{score_label(dataset)} on {pairs} of its {total} {unit} "
                       f"({pairs / total:.1%})")  # fmt: skip
    if not low:
        return None
    it = "it is" if len(low) == 1 else "they are"
    return (
        f"{name}: {', '.join(low)}: the vectors lack a word of the others, so {it} "
        "not comparable with the score of a source that covers them (nor with published "
        "scores)"
    )


def _intrinsic(vectors: Any) -> dict[str, Any]:
    """Spearman on the built-in similarity sets; CA8 analogy accuracy for Chinese vectors.

    `pairs` is the pairs scored (both words in the vectors), `total` the pairs in the set.
    """
    from vecgraft.evaluate.intrinsic import word_similarity

    if vectors_language(vectors.words) == "zh":  # other languages: the English sets' overlap
        return _chinese_intrinsic(vectors)
    out: dict[str, Any] = {}
    for name in INTRINSIC_SETS:
        try:
            result = word_similarity(vectors, name)
        except (MissingExtraError, DataError, OSError) as exc:
            out[name] = {"error": str(exc).splitlines()[0]}
            continue
        except ValueError:  # scipy: fewer than 2 pairs in the vocabulary
            out[name] = {"error": "fewer than 2 pairs in the vocabulary"}
            continue
        out[name] = {
            "spearman": result.spearman,
            "pearson": result.pearson,
            "pairs": result.pairs,
            "oov_ratio": result.oov_ratio,
            "oov": result.oov,
            "total": result.pairs + result.oov,  # no dummy4unknown: OOV pairs are not scored
        }
    return out


def _chinese_intrinsic(vectors: Any) -> dict[str, Any]:
    """Accuracy on the CA8 analogy sets, as `vecgraft intrinsic --lang zh` scores them.

    Its defaults, so the numbers are the same: 3CosAdd, the CA8 authors' rules (a question
    is seen when its first three words are in the vectors, an unknown fourth word is
    wrong) and every row of the vectors as candidates (their script's; 50 s a set for
    300,000 words x 300 dims on one core, seconds for vectors pretrained on a task's
    texts). Each entry is that command's JSON record of the set (`total`: questions seen).
    English similarity sets say nothing about Chinese vectors.
    """
    from vecgraft.evaluate.datasets import ANALOGY_SETS
    from vecgraft.evaluate.intrinsic import analogies

    out: dict[str, Any] = {}
    for name in ANALOGY_SETS["zh"]:
        try:
            result = analogies(vectors, name)
        except (DataError, OSError) as exc:
            out[name] = {"error": str(exc).splitlines()[0]}
            continue
        out[name] = {k: v for k, v in result.to_dict().items() if k != "dataset"}
    return out


def source_encodings(specs: Sequence[SourceSpec], encoding: str | None) -> dict[str, str]:
    """The sources (by name) whose words are read in `encoding`: those of fastText .bin files.

    The other formats read UTF-8 only, and `vecgraft.load` refuses another encoding for
    them: applied to every source, a GloVe row beside a cp852 .bin stopped the comparison.
    An encoding that no source reads is refused, not ignored.
    """
    if encoding is None:
        return {}
    found = {spec.name: encoding for spec in specs
             if spec.kind is SourceKind.VECTORS and _is_fasttext_bin(spec.path)}  # fmt: skip
    if not found:
        raise unused_encoding(
            encoding, "a source that is a fastText .bin (the other formats are read as UTF-8)"
        )
    return found


def _is_fasttext_bin(path: str | None) -> bool:
    """Whether `path` is a fastText .bin (a file that cannot be read: no; its load says why)."""
    from vecgraft.errors import VecgraftError
    from vecgraft.io import FORMATS, detect_format

    if path is None:
        return False
    try:
        return detect_format(path) is FORMATS["fasttext-bin"]
    except (VecgraftError, OSError):
        return False


def _prepare_source(
    spec: SourceSpec,
    vocab: Any,
    texts: list[str],
    folder: Path,
    *,
    intrinsic: bool,
    device: str,
    encoding: str | None = None,
) -> dict[str, Any]:
    """Vector path for the cells, coverage of the task vocabulary and intrinsic scores.

    `encoding`: how the source's fastText .bin stores its words (`source_encodings`); kept
    in the source's entry, which its cells read the file by.
    """
    from vecgraft.align import align
    from vecgraft.io import load

    started = time.perf_counter()
    info: dict[str, Any] = {**spec.to_dict(), "vectors": "random"}
    if spec.kind in (SourceKind.RANDOM, SourceKind.LINEAR, SourceKind.FINETUNE):
        if spec.kind is SourceKind.FINETUNE:
            info["hf_model"] = str(Path(spec.path or "").resolve())
        info.update(coverage=None, intrinsic=None, seconds=time.perf_counter() - started)
        return info
    if spec.kind is SourceKind.TRANSFORMER:
        info["vectors"] = _transformer_vectors(spec, vocab, texts, folder, device)
    else:
        info["vectors"] = str(Path(spec.path or "").resolve())
        if encoding is not None:
            info["encoding"] = encoding
    vectors = load(info["vectors"], encoding=info.get("encoding") or "utf-8")
    info["size"] = [len(vectors), vectors.dim]
    _matrix, report = align(vocab, vectors)
    info["coverage"] = {
        "type_coverage": report.type_coverage,
        "token_coverage": report.token_coverage,
        "types": report.types,
        "types_matched": report.types_matched,
        "tokens": report.tokens,
        "tokens_matched": report.tokens_matched,
        "missing": [list(m) if isinstance(m, tuple) else m for m in report.missing[:10]],
        **_subword_coverage(report),
    }
    info["intrinsic"] = _intrinsic(vectors) if intrinsic else None
    if info["intrinsic"] is not None:  # what they were scored on: a rerun may keep them
        info["intrinsic_inputs"] = _scored_inputs(info)
    if spec.kind is SourceKind.TRANSFORMER and info["intrinsic"] is not None:
        info["intrinsic_note"] = "transformer vectors cover only the task vocabulary"
    info["seconds"] = time.perf_counter() - started
    return info


def _subword_coverage(report: Any) -> dict[str, Any]:
    """Coverage by the vectors' own words and the subword noise, for fastText sources only.

    Why: a fastText source covers 100 % of types through its n-grams, which hid how many
    rows came from n-grams no trained word has (`AlignmentReport.types_subword_untrained`).
    """
    if not report.types_subword:
        return {}
    return {
        "type_coverage_words": report.type_coverage_words,
        "token_coverage_words": report.token_coverage_words,
        "types_subword": report.types_subword,
        "types_subword_untrained": report.types_subword_untrained,
        "tokens_subword_untrained": report.tokens_subword_untrained,
    }


def subword_coverage_note(coverage: dict[str, Any] | None) -> str | None:
    """What a fastText source's coverage owes to its subwords, in words; None for others."""
    cov = coverage or {}
    types = cov.get("types") or 0
    if not cov.get("types_subword") or not types:
        return None
    words = f"{cov['type_coverage_words']:.1%} of training types"
    if cov.get("token_coverage_words") is not None:
        words += f" ({cov['token_coverage_words']:.1%} of tokens)"
    return (
        f"{words} by the vectors' own words; {cov['types_subword'] / types:.1%} of types "
        f"from fastText subwords, {cov['types_subword_untrained'] / types:.1%} from n-grams "
        "no trained word has (noise)"
    )


INTRINSIC_KEPT = "intrinsic scores of an earlier run into this folder, on the same vectors"


def _scored_inputs(info: dict[str, Any]) -> dict[str, Any]:
    """The fingerprint of a source's vectors (file or folder) and the encoding read by."""
    from vecgraft._util.fingerprint import input_fingerprints

    return {**input_fingerprints({"vectors": info["vectors"]}), "encoding": info.get("encoding")}


def keep_earlier_intrinsic(
    out: Path, sources: list[dict[str, Any]], say: Callable[[str], None]
) -> None:
    """Give the unscored vector sources (--no-intrinsic) the scores of an earlier run in `out`.

    Why: a rerun with --no-intrinsic (a larger grid) wrote `"intrinsic": null` over the
    WordSim353/SimLex-999 scores the first run stored, and the report showed "–" (not
    applicable). They are kept where the earlier compare.json recorded the vectors'
    fingerprint (`intrinsic_inputs`) and the vectors still match it, as the cells check
    theirs; an earlier release's scores, without one, are not.
    """
    try:
        earlier = read_json_file(out / "compare.json", limit=RECORD_LIMIT).get("sources")
    except (OSError, ValueError, AttributeError):
        return
    scored = {row.get("name"): row for row in earlier or [] if isinstance(row, dict)}
    for source in sources:
        old = scored.get(source["name"])
        if source.get("intrinsic") is not None or old is None or not _same_scored(old, source):
            continue
        source.update(intrinsic=old["intrinsic"], intrinsic_inputs=_scored_inputs(source),
                      intrinsic_kept=True)  # fmt: skip
        if old.get("intrinsic_note"):
            source["intrinsic_note"] = old["intrinsic_note"]
        say(f"source {source['name']}: keeping the {INTRINSIC_KEPT} (--no-intrinsic)")


def _same_scored(old: dict[str, Any], source: dict[str, Any]) -> bool:
    """Whether `old` (an earlier compare.json's row) holds scores of `source`'s vectors now."""
    from vecgraft._util.fingerprint import changed_inputs

    saved = old.get("intrinsic_inputs")
    if source.get("vectors") in (None, "random") or not isinstance(old.get("intrinsic"), dict) \
            or not isinstance(saved, dict) or not isinstance(saved.get("vectors"), dict):
        return False  # fmt: skip
    now = _scored_inputs(source)
    if saved.get("encoding") != now["encoding"]:
        return False
    return not changed_inputs({"vectors": saved["vectors"]}, {"vectors": now["vectors"]})
