"""A run's text settings: its tokenizer and case, from its flags and the vectors' record.

What the user left unset is filled from what was recorded with the vectors
(`vecgraft.finetune.vectors_record`: the tokenizer kind, normalisation, Chinese mode, jieba
segmentation) and from the vectors' words (lowercase or not), each said in the log; a
run's own jieba user dictionary is checked before anything is read; Chinese training texts
with no tokenizer named choose jieba (`auto_tokenizer`). The model families build their
tokenizer here (`run_tokenizer`), as do `build`, `compare`, `tune` and the linear model.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vecgraft._util.options import parse_enum
from vecgraft.errors import DataError
from vecgraft.finetune.config import FinetuneConfig, in_memory_vectors, user_dict_needs_jieba
from vecgraft.finetune.vectors_arg import VectorFile, VectorsArg, config_vector_file
from vecgraft.finetune.vectors_record import FROM_OWN_METADATA, RecordSource, recorded_with_source
from vecgraft.nn.models import ModelKind
from vecgraft.text.unspaced import chinese_why, chinese_word_share, jieba_for_chinese
from vecgraft.vectors import Vectors

if TYPE_CHECKING:
    from vecgraft.text.tokenize import Tokenizer

__all__ = [
    "LOWERCASE_SAMPLE",
    "USER_DICT_JIEBA_NOTE",
    "auto_tokenizer",
    "check_user_dict",
    "jieba_for",
    "left_to_texts",
    "lowercase_words",
    "resolve_text_options",
    "run_tokenizer",
    "tokenizer_settings",
    "unnamed_kind",
]


# how many of the vectors' first (most frequent) words decide whether they are lowercase
LOWERCASE_SAMPLE = 2000


def lowercase_words(words: Sequence[str], sample: int = LOWERCASE_SAMPLE) -> bool:
    """Whether a vocabulary is lowercased: no uppercase letter among its first `sample` words.

    Vector files list words by frequency, so cased vectors (word2vec GoogleNews, fastText)
    show "The", "I", "U.S." at once; a stray cased row or two (< 0.5%) is tolerated. Only
    words with a cased letter count: Chinese words have none, and counting them as
    lowercase read cased Chinese vectors (XP, iPhone among 2,000 Chinese words) as
    lowercase, so the text was lowercased and those words went missing.
    """
    head = [w for w in words[:sample] if any(c.lower() != c.upper() for c in w)]
    cased = sum(1 for w in head if w != w.lower())
    return bool(head) and cased <= 0.005 * len(head)


def _saved_tokenizer(
    config: FinetuneConfig, vectors: VectorsArg
) -> tuple[Mapping[str, Any], RecordSource]:
    """The tokenizer recorded with the vectors ({} if none names a kind), and where.

    What is recorded at `config.vectors` and in loaded vectors' own metadata
    (`recorded_with_source` says which wins), else none: `tune` loads the file once and
    passes the loaded vectors, and its trials ran jieba-trained vectors through the regex
    rule (3 % of word types covered, ChnSentiCorp 74.7 % against finetune's 87.0 %). Other
    callables (derived vectors) record none.
    """
    pretrained = vectors is not None or config.vectors != "random"
    if not pretrained or not (vectors is None or isinstance(vectors, VectorFile | Vectors)):
        return {}, FROM_OWN_METADATA
    metadata = vectors.metadata if isinstance(vectors, Vectors) else {}
    named = config.vectors != "random" and not in_memory_vectors(config.vectors)
    return recorded_with_source(config.vectors if named else None, metadata.get("tokenizer"))


USER_DICT_JIEBA_NOTE = "Tokenizer: jieba (--user-dict is a jieba user dictionary)"


def auto_tokenizer(
    config: FinetuneConfig,
    vectors: VectorsArg,
    texts: Sequence[str],
    log: Callable[[str], None],
) -> FinetuneConfig:
    """`config` with `tokenizer` "jieba" where it names none and its training `texts` are Chinese.

    Why: without `--tokenizer` the regex rule cut Chinese reviews into whole clauses, a
    vocabulary of one-off tokens, and the run warned and trained on it anyway (a tester's
    2,000 reviews: the network alone 61.4 %, 14 points below the same run with jieba's words
    and in-domain vectors). Left as it is: a named tokenizer (`--tokenizer regex` keeps the
    regex rule, and its warning), vectors that record their own, a `hf` model (its own
    subword tokenizer), and texts that are not Chinese (English runs are unchanged). The
    choice is the config's from here on, so the run folder's config.json records it and a
    `--resume`, the fused linear half and `--model linear` all read jieba words. A
    `user_dict` (a jieba dictionary) chooses jieba whatever the texts: `--user-dict` alone
    was refused as needing `--tokenizer jieba`, where the run without it chose jieba.
    """
    if not left_to_texts(config, vectors):
        return config
    if config.user_dict is not None:
        log(USER_DICT_JIEBA_NOTE)
    elif not jieba_for(texts, log):
        return config
    return config.replace(tokenizer="jieba")


def left_to_texts(config: FinetuneConfig, vectors: VectorsArg) -> bool:
    """Whether `auto_tokenizer` decides `config`'s tokenizer (from its texts or user_dict).

    No tokenizer named, not a `hf` model, none recorded with the vectors: an earlier
    release read such texts with the regex rule, so a run, cell or study it left with
    `tokenizer` unset used "regex".
    """
    if config.tokenizer is not None or _is_hf(config):
        return False
    saved, _source = _saved_tokenizer(config, vectors)
    return not saved


def _is_hf(config: FinetuneConfig) -> bool:
    """Whether the run is model `hf` (read by the checkpoint's own subword tokenizer)."""
    return parse_enum(ModelKind, config.model, "model") is ModelKind.HF


def unnamed_kind(config: FinetuneConfig) -> str:
    """The tokenizer kind of a run that names none and whose vectors record none.

    jieba where it gives a jieba `user_dict` (not model `hf`, whose `--add-tokens` words
    keep the regex default): `auto_tokenizer` chooses it then. Else regex.
    """
    return "jieba" if config.user_dict is not None and not _is_hf(config) else "regex"


def jieba_for(texts: Sequence[str], log: Callable[[str], None]) -> bool:
    """Whether Chinese `texts` (`texts_are_chinese`) are to be segmented with jieba, said.

    Not where jieba is not installed: the run goes on with the regex rule (and its warning),
    as before, and the log names the package (`jieba_for_chinese`).
    """
    words = chinese_word_share(texts)  # the verdict (`texts_are_chinese`) and its share
    if words is None:
        return False
    why = chinese_why(texts, "the training texts are Chinese", "the training texts", words)
    return jieba_for_chinese(why, log)


def _saved_segmentation(
    saved: Mapping[str, Any], log: Callable[[str], None], *, own_dict: bool = False
) -> dict[str, Any]:
    """The vectors' jieba HMM switch and user dictionary (when the file is still there).

    Words segmented otherwise than at pretraining time (HMM off there, on here) are words
    the vectors lack: coverage dropped with no word of why. With `own_dict` (the run names
    a dictionary itself) the vectors' is left out, and not looked for. Its words are read
    as the vectors read them (`saved_user_dict_normalized`: as written, if pretrained before
    they were converted as the texts are).
    """
    from vecgraft.text.tokenize import saved_user_dict_normalized

    out: dict[str, Any] = {}
    if saved.get("hmm") is False:
        out["hmm"] = False
    user_dict = None if own_dict else saved.get("user_dict")
    if isinstance(user_dict, str) and Path(user_dict).is_file():
        out["user_dict"] = user_dict
        out["user_dict_normalized"] = saved_user_dict_normalized(saved)
    elif user_dict:
        log(
            f"The vectors were segmented with the jieba user dictionary {user_dict}, which "
            "is not found: segmenting without it (their words may go unmatched)"
        )
    return out


def check_user_dict(config: FinetuneConfig, vectors: VectorsArg = None) -> None:
    """Refuse a run's own jieba user dictionary before anything is read or trained.

    A missing file, or a tokenizer that is not jieba (named, from the vectors' metadata,
    or model `hf`'s regex default), failed only in the model's setup: every `tune` trial
    alike, or a `compare` cell after others had run. Named nowhere, the dictionary means
    jieba (`unnamed_kind`).
    """
    if config.user_dict is not None:
        saved, source = _saved_tokenizer(config, vectors)
        _given_user_dict(config, saved, lambda _m: None, source)


def _given_user_dict(
    config: FinetuneConfig,
    saved: Mapping[str, Any],
    log: Callable[[str], None],
    source: RecordSource,
) -> str:
    """`config.user_dict`, checked against the run's tokenizer kind and the file system.

    It replaces the dictionary the vectors were pretrained with (said, where that differs).
    `source`: where `saved` is recorded, named where the kind came from there.
    """
    user_dict = str(config.user_dict)
    pooled = isinstance(config.tokenizer, list) and "jieba" in config.tokenizer  # hf grafts
    kind = "jieba" if pooled else config.tokenizer_kind or saved.get("kind") or unnamed_kind(config)
    if kind != "jieba":
        why = ""
        if not config.tokenizer:  # not named: say where the kind came from
            why = f" (from {source.the})" if saved else " (the default)"
        raise user_dict_needs_jieba(kind, why)
    if not Path(user_dict).is_file():
        raise DataError(f"{user_dict}: jieba user dictionary not found")
    theirs = saved.get("user_dict") if saved.get("kind") == kind else None
    if isinstance(theirs, str) and Path(theirs).resolve() != Path(user_dict).resolve():
        log(f"Jieba user dictionary: {user_dict} (the vectors were segmented with {theirs})")
    return user_dict


_NORMALISATION_KEYS = ("pattern", "nfkc", "halfwidth", "simplified", "digits")


def _saved_rules(
    saved: Mapping[str, Any], log: Callable[[str], None], source: RecordSource
) -> dict[str, Any]:
    """The vectors' tokenizer rules, as `saved_rules` reads a saved config (`rules=1`: before 2).

    Their vocabulary holds each combining mark as a char token (ไ, ม, ่) and the parts of a
    word at a soft hyphen ("Straße", "nbahn"): split as new tokenizers do (ไ, ม่;
    "Straßenbahn"), such words of the vectors went unmatched. Recorded `rules` are taken as
    they are: an explicit `rules: 1` had been dropped and the run split with rules 2.
    """
    from vecgraft.text.tokenize import saved_rules

    rules = saved_rules(saved)
    if rules == 1 and "rules" not in saved and saved.get("kind") == "char":
        log(f"Tokenizer: each combining mark a char token of its own, as {source.the} "
            "records (pretrained before char tokens kept their marks)")  # fmt: skip
    return {"rules": rules}


def _saved_normalisation(
    saved: Mapping[str, Any],
    log: Callable[[str], None],
    source: RecordSource,
    given: Collection[str] = (),
) -> dict[str, Any]:
    """The vectors' text normalisation, for a run that names their tokenizer kind itself.

    `--tokenizer jieba` (the README's way for Chinese) on vectors pretrained with
    `--simplified --halfwidth` kept 這個 and ＷＩＦＩ, words the vectors do not have.
    The settings in `given` were set by the user and are left out.
    """
    out = {
        k: saved[k]
        for k in _NORMALISATION_KEYS
        if k not in given and saved.get(k) not in (None, False)
    }
    if out:
        shown = ", ".join(k if v is True else f"{k} {v}" for k, v in out.items())
        log(f"Tokenizer normalisation: {shown} (from {source.the})")
    return out


def _stopword_note(saved: Mapping[str, Any]) -> str:
    """Why the vectors' stopwords count as uncovered tokens, and the flag that drops them.

    Not applied by default (a classifier may need the words a corpus model could skip), but
    said: a corpus pretrained with `--stopwords zh` otherwise showed 60 % token coverage where
    dropping the same words gave 88 %, with no word of why.
    """
    spec, source = saved.get("stopwords"), saved.get("stopwords_source")
    if isinstance(spec, str):
        flag = f"--stopwords {spec}"
    elif isinstance(source, str) and source.startswith("stopwordsiso:"):  # a built-in list
        flag = f"--stopwords {source.removeprefix('stopwordsiso:')}"
    elif isinstance(source, str) and Path(source).is_file():
        flag = f"--stopwords {source}"
    else:
        flag = "--stopwords with the same list"
    what = f"the stopwords of {source}" if source else "a stopword list"
    return (
        f"Stopwords: the vectors were trained with {what} removed, so those words have no "
        f"vector and count against coverage; {flag} drops them from the texts too"
    )


def tokenizer_settings(
    config: FinetuneConfig,
    vectors: VectorsArg,
    log: Callable[[str], None],
    *,
    linear: bool = False,
) -> tuple[dict[str, Any], bool | None]:
    """The run's Tokenizer settings (no stopwords, no `lower`) and the `lower` known so far.

    `resolve_text_options`' tokenizer half: the kind, normalisation, Chinese mode and jieba
    segmentation, from `config` and the vectors' `metadata.json` as that docstring says;
    the `lower` returned is `config.lower`, else the vectors' recorded one, else None. The
    linear model takes its settings here too: `--model linear --vectors zh-vectors/` had
    segmented with the regex rule where compare's linear row took the vectors' jieba.
    `linear`: for the linear model, which takes jieba's words whatever the Chinese mode, so
    no "Chinese tokens" line is said here (`linear_recipe.zh_mode_note` says what it reads).
    """
    saved, source = _saved_tokenizer(config, vectors)
    return _tokenizer_settings(config, saved, log, source, linear=linear)


def _tokenizer_settings(
    config: FinetuneConfig,
    saved: Mapping[str, Any],
    log: Callable[[str], None],
    source: RecordSource,
    *,
    linear: bool = False,
) -> tuple[dict[str, Any], bool | None]:
    """`tokenizer_settings` given the vectors' recorded tokenizer `saved`, from `source`."""
    settings: dict[str, Any] = {"kind": config.tokenizer or unnamed_kind(config)}
    lower = config.lower
    if config.tokenizer is None and saved:
        keys = ("kind", "pattern", "nfkc", "halfwidth", "simplified", "digits")
        settings = {k: saved[k] for k in keys if k in saved}
        log(
            f"Tokenizer: {settings['kind']} (from {source.the}; "
            "--tokenizer to choose another)"
        )
        if lower is None and "lower" in saved:
            lower = bool(saved["lower"])
    if config.tokenizer is not None and saved.get("kind") == settings["kind"]:
        given = {k for k in ("halfwidth", "simplified") if getattr(config, k) is not None}
        settings.update(_saved_normalisation(saved, log, source, given))  # same kind, rules
        if lower is None and "lower" in saved:  # the case the vectors were trained in
            lower = bool(saved["lower"])
    for key in ("halfwidth", "simplified"):  # a setting given beats the vectors' metadata
        if getattr(config, key) is not None:
            settings[key] = bool(getattr(config, key))
    if config.zh_mode is not None:
        settings["zh_mode"] = config.zh_mode
        note = _zh_mode_mismatch(str(config.zh_mode), saved, settings["kind"], source)
        if note and not linear:
            log(note)
    elif saved.get("zh_mode") and saved["kind"] == settings["kind"]:
        settings["zh_mode"] = saved["zh_mode"]  # the vectors' Chinese words/characters
        if saved["zh_mode"] != "word" and not linear:  # pretrain's word+char on a small corpus
            log(f"Chinese tokens: {saved['zh_mode']} (from {source.the}; "
                "--zh-mode to choose another)")  # fmt: skip
    own_dict = config.user_dict is not None
    if saved.get("kind") == settings["kind"]:
        settings.update(_saved_segmentation(saved, log, own_dict=own_dict))
        settings.update(_saved_rules(saved, log, source))
    if own_dict:  # the run's own dictionary beats the vectors'
        settings["user_dict"] = _given_user_dict(config, saved, log, source)
    return settings, lower


def _zh_mode_mismatch(
    mode: str, saved: Mapping[str, Any], kind: str, source: RecordSource
) -> str | None:
    """The line saying `--zh-mode` reads other Chinese tokens than the vectors were trained on.

    Why: `--zh-mode word` on word+char vectors (pretrain's choice on a small corpus) said
    nothing while coverage fell and their ~800 character rows went unused by the texts.
    The cost named is each case's own: "some of their rows may be unused" was said of
    `char` on word+char vectors, whose word rows all are, and of words read on `char`
    vectors, where the texts' words have no vectors.
    """
    theirs = saved.get("zh_mode")
    if not theirs or theirs == mode or saved.get("kind") != kind or theirs == "word":
        return None
    reads = {"word": "words only", "char": "characters only"}.get(mode, "words and characters")
    if theirs == "char":  # word or word+char: jieba's words of two or more characters
        cost = ("they hold characters only: the texts' words of two or more characters "
                "have no vectors")
    else:  # word+char vectors read as words or as characters: the other half's rows idle
        cost = f"their {'character' if mode == 'word' else 'word'} rows are unused by the texts"
    return (f"Chinese tokens: the vectors were trained on {theirs} ({source.their}); "
            f"--zh-mode {mode} reads {reads} ({cost})")


def resolve_text_options(
    config: FinetuneConfig, vectors: VectorsArg, log: Callable[[str], None]
) -> tuple[dict[str, Any], bool]:
    """(tokenizer settings, lower) for a run, filling what the user left unset (None).

    The tokenizer comes from the vectors' `metadata.json`, or a native file's own metadata
    (the one they were trained with; the log names which, `RecordSource`)
    when `config.tokenizer` is None, and its Chinese word/char mode whenever the kinds agree
    and `config.zh_mode` is None (its jieba HMM switch and user dictionary whenever the kinds
    agree, and its normalisation, such as simplified/halfwidth, when the user names that
    kind; `config.halfwidth`/`simplified`/`user_dict`, when set, replace the vectors'; a
    `user_dict` needs the jieba kind and an existing file); lowercasing is switched on when
    the vectors' vocabulary is lowercase and `config.lower` is None, and both are said in
    the log. Vectors made by a function of words (`hf:`, a lambda) list no words to look at:
    the text keeps its case, said in the log too.
    """
    pretrained = vectors is not None or config.vectors != "random"
    saved, source = _saved_tokenizer(config, vectors)
    settings, lower = _tokenizer_settings(config, saved, log, source)
    if config.stopwords is None and saved.get("stopwords"):
        log(_stopword_note(saved))
    elif config.stopwords is not None:  # what a built-in list keeps (negations) is not obvious
        from vecgraft.text.stopwords import describe_stopwords

        log(f"Stopword list: {describe_stopwords(config.stopwords)}")
    if lower is None:
        words: Sequence[str] | None = None
        file = config_vector_file(config, progress=False) if vectors is None else vectors
        if isinstance(vectors, Vectors):
            words = list(vectors.words[:LOWERCASE_SAMPLE])
        elif isinstance(file, VectorFile) and pretrained:
            words = list(file.read(None, LOWERCASE_SAMPLE).words)
        elif pretrained:  # it was skipped without a word, and the text kept its case
            log("Case: vectors made by a function of the vocabulary's words list no words to "
                "check for capitals, so the text keeps its case (--lower to lowercase it; a "
                "Vectors or VectorFile is checked)")  # fmt: skip
        lower = bool(words) and lowercase_words(words or [])
        if lower:
            log("Vectors are lowercase: lowercasing text (--no-lower to keep case)")
    return settings, bool(lower)


def run_tokenizer(
    config: FinetuneConfig,
    vectors: VectorsArg,
    log: Callable[[str], None],
    rules: int | None = None,
    user_dict_normalized: bool | None = None,
) -> tuple[Tokenizer, bool]:
    """(the run's Tokenizer, whether it lowercases), from `resolve_text_options`.

    `rules`: a resumed run's (its checkpoint's), replacing the settings'. Why: a run started
    before `rules` 2 built its vocabulary with rules 1; rebuilt with rules 2 on resume, texts
    with a soft hyphen made another vocabulary and "the data changed since this run started".
    `user_dict_normalized`: likewise, a resumed run's reading of its jieba dictionary.
    """
    from vecgraft.text.tokenize import RULES, Tokenizer

    settings, lower = resolve_text_options(config, vectors, log)
    if rules is not None and rules != settings.get("rules", RULES):
        log(f"Tokenizer: rules {rules}, the rules this run started with (its checkpoint's)")
    if rules is not None:
        settings["rules"] = rules
    if user_dict_normalized is not None:
        settings["user_dict_normalized"] = user_dict_normalized
    return Tokenizer(**settings, lower=lower, stopwords=config.stopwords), lower
