"""Carry a vecgraft matrix into the tools users already have: model2vec, TensorBoard, gensim.

`export(source, to=..., out=...)` reads SOURCE — anything `vecgraft.load` reads, a
`vecgraft build` folder (`embedding.safetensors` + `vocab.json` + `report.json`) or a
fine-tuning run folder (its tuned embedding, from the `best/` checkpoint) — and writes it as

* `model2vec`: a static model folder that `model2vec.StaticModel.from_pretrained` and
  `sentence_transformers.SentenceTransformer` load; its tokenizer reproduces the vecgraft
  tokenizer the vocabulary was built with (see `vecgraft.text.hf_tokenizer`);
* `projector`: TensorBoard projector files, with the alignment rule of each row when known;
* `word2vec` / `word2vec-bin`: word2vec text/binary for gensim (special tokens left out).

Resolving a run folder needs the fine-tuning checkpoint layout, so this lives after
`finetune` in the stage order.

Example:
    >>> export("runs/bbc", to="model2vec", out="bbc-static/")  # doctest: +SKIP
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from vecgraft._util.jsonfile import RECORD_LIMIT, read_json_file
from vecgraft._util.options import parse_enum
from vecgraft.errors import CheckpointError
from vecgraft.text.tokenize import Tokenizer, TokenizerKind
from vecgraft.text.vocab import Vocab

__all__ = ["ExportResult", "ExportSource", "ExportTarget", "export", "read_source"]


class ExportTarget(StrEnum):
    """What `export` writes."""

    MODEL2VEC = "model2vec"
    PROJECTOR = "projector"
    WORD2VEC = "word2vec"
    WORD2VEC_BIN = "word2vec-bin"


class SourceKind(StrEnum):
    """What kind of SOURCE was read."""

    VECTORS = "vectors"
    BUILD = "build"
    RUN = "run"


@dataclass
class ExportSource:
    """A matrix with its row labels and what is known about how it was made.

    Attributes:
        kind: vectors file, `vecgraft build` folder or fine-tuning run.
        path: where it was read from.
        words: row labels, in row order (special tokens included for build/run sources).
        matrix: [len(words), dim] float32.
        specials: which of `words` are special tokens (<pad>, <unk>).
        unk_token: the vocabulary's unknown token, or None.
        rules: how `align` filled each row ("exact", "init", ...), when recorded.
        tokenizer: the tokenizer settings the vocabulary was built with, when recorded.
        kept_back: a run's parts besides its embedding, which no target writes ("classifier",
            "fused linear half"); empty for vectors and builds.
    """

    kind: SourceKind
    path: Path
    words: list[str]
    matrix: np.ndarray
    specials: list[str] = field(default_factory=list)
    unk_token: str | None = None
    rules: list[str] | None = None
    tokenizer: dict[str, Any] | None = None
    kept_back: list[str] = field(default_factory=list)


@dataclass
class ExportResult:
    """Where `export` wrote and what the target format could not keep."""

    path: Path
    target: ExportTarget
    rows: int
    dim: int
    notes: list[str] = field(default_factory=list)


def read_source(
    path: str | os.PathLike[str], *, load_options: Mapping[str, Any] | None = None
) -> ExportSource:
    """Read SOURCE: a fine-tuning run or checkpoint folder, a build folder, or a vector file.

    A run folder is held while it is read (`read_lock`, shared, as `vecgraft export` holds
    it; a checkpoint folder `RUN/best` holds RUN): one that a run is writing is refused at
    once (a ConfigError), and a run started into it meanwhile fails at once. The returned
    source's `tokenizer` names a run's jieba dictionary by its path in the checkpoint, read
    again when `export` writes a model2vec folder of it, unheld then: `export(path, ...)`
    holds the folder from reading to writing.

    Args:
        path: the source.
        load_options: keyword options for `vecgraft.load` (vector files only; a build
            folder takes `allow_nonfinite`; a run refuses it).
    """
    from vecgraft.finetune.rundir import read_lock

    with read_lock(held_folder(Path(path))):
        return held_read_source(path, load_options=load_options)


def held_folder(source: Path) -> Path:
    """The folder whose run lock guards SOURCE: SOURCE, or the run around a checkpoint.

    A checkpoint folder given itself (`RUN/best`) is written under its run's lock on RUN;
    a vector file has no lock (`read_lock` takes none on a file).
    """
    return source.parent if (source / "model.json").is_file() else source


def held_read_source(
    path: str | os.PathLike[str], *, load_options: Mapping[str, Any] | None = None
) -> ExportSource:
    """`read_source` of a SOURCE whose folder the caller holds (`held_folder`'s lock).

    Why: `vecgraft export` holds it until --out is written, which reads the run's jieba
    dictionary again.
    """
    from vecgraft.finetune.ensemble import is_ensemble_run
    from vecgraft.finetune.predict import refuse_tune_folder

    p = Path(path)
    refuse_tune_folder(p)  # as predict and evaluate name it
    if is_ensemble_run(p):  # several networks: no one embedding
        from vecgraft.errors import ConfigError

        raise ConfigError(
            f"{p}: an ensemble run holds one tuned embedding per member; export a member "
            f"folder, e.g. {p / 'members' / '0'}"
        )
    allow_nonfinite = (load_options or {}).get("allow_nonfinite", False)
    if p.is_dir() and ((p / "best" / "model.json").is_file() or (p / "model.json").is_file()):
        _refuse_allow_nonfinite(p, allow_nonfinite)
        _refuse_unfinished_run(p)
        return _read_run(p)
    _refuse_run_without_checkpoint(p)
    if p.is_dir() and (p / "embedding.safetensors").is_file():
        return _read_build(p, allow_nonfinite)  # checked by load_embedding, as load checks it
    from vecgraft.finetune.vectors_record import recorded_tokenizer
    from vecgraft.io import load

    vectors = load(p, **dict(load_options or {}))
    return ExportSource(
        SourceKind.VECTORS,
        p,
        list(vectors.words),
        np.asarray(vectors.matrix, dtype=np.float32),
        # the tokenizer `vecgraft pretrain` recorded: a pretrain folder was exported with
        # the default regex rule, so its lowercase rows never matched "The"
        tokenizer=dict(recorded_tokenizer(str(p), vectors.metadata)) or None,
    )


def _refuse_allow_nonfinite(p: Path, allow_nonfinite: Any) -> None:
    """`allow_nonfinite` asked of a run or checkpoint folder is refused, not ignored.

    A run's weights holding NaN or Inf are a damaged file (`read_weights` refuses them),
    never a matrix to export as is: `export RUN --allow-nonfinite` did nothing, unsaid.
    """
    from vecgraft._util.options import boolean
    from vecgraft.errors import Opt, OptionError

    if boolean(allow_nonfinite, "allow_nonfinite"):
        where = str(p).replace("{", "{{").replace("}", "}}")
        raise OptionError(
            f"{where}: a fine-tuning run's weights are never read with NaN or Inf (a checkpoint "
            "holding one is damaged); drop {} (it reads a vector file or a build folder)",
            Opt("allow_nonfinite", "True"),
        )


def _refuse_unfinished_run(p: Path) -> None:
    """A run still training or interrupted is refused, as `predict` refuses it.

    Its best/ is the best epoch so far: exported while the run trained, it wrote "103,714
    x 50" from an intermediate checkpoint with no word. A checkpoint folder named itself
    (`RUN/best`, `RUN/last`) is exported as asked.
    """
    from vecgraft.errors import ConfigError

    finished = (p / "metrics.json").is_file()
    if (p / "config.json").is_file() and (p / "best").is_dir() and not finished:
        raise ConfigError(
            f"{p}: the run has not finished (no metrics.json): it is still training or was "
            f"interrupted; finish it with `vecgraft finetune --out {p} --resume`, or export "
            f"{p / 'best'} as it stands"
        )


def _refuse_run_without_checkpoint(p: Path) -> None:
    """A run folder with no network checkpoint is a clear error, not "not a vector file"."""
    from vecgraft.errors import ConfigError
    from vecgraft.finetune.linear import LINEAR_META

    if not p.is_dir():
        return
    if (p / LINEAR_META).is_file():
        raise ConfigError(
            f"{p}: a --model linear run (TF-IDF n-grams and a linear model) has no word "
            "embedding to export; export a network's run (e.g. --model cnn) instead"
        )
    if (p / "metrics.json").is_file() and _is_run_folder(p):
        raise ConfigError(_missing_best_message(p))
    if (p / "last" / "model.json").is_file():
        raise ConfigError(
            f"{p}: this run has no best/ checkpoint (it was interrupted); export {p / 'last'}"
        )
    if _is_run_folder(p):
        raise ConfigError(_no_checkpoint_message(p))


def _is_run_folder(p: Path) -> bool:
    """Whether `p` holds a finetune run, checkpoint or not: its manifest, or what runs write.

    A transformer folder has a config.json too, so config.json alone does not count.
    """
    from vecgraft.finetune.ensemble import ENSEMBLE_FILE, MEMBERS_DIR
    from vecgraft.finetune.rundir import MANIFEST

    if (p / MANIFEST).is_file():
        return True
    beside = ("splits.json", ENSEMBLE_FILE, MEMBERS_DIR)
    return (p / "config.json").is_file() and any((p / name).exists() for name in beside)


def _missing_best_message(p: Path) -> str:
    """A finished run (metrics.json) whose best/ is gone: deleted or moved, not interrupted.

    It said "(it was interrupted)" of a run that had finished, sending the user to resume it.
    """
    from vecgraft.finetune.checkpoint import missing_best

    problem, last = missing_best(p)
    if last is None:
        return problem
    return f"{problem}; export {last} (its last epoch), or put best/ back"


def _no_checkpoint_message(p: Path) -> str:
    """Why a run folder with neither best/ nor last/ has nothing to export, and what to run.

    It said "cannot detect the vector format of this folder", as if it were no run at all.
    An ensemble member is finished by resuming its ensemble, not the member alone.
    """
    from vecgraft.finetune.ensemble import MEMBERS_DIR, is_ensemble_run

    ensemble = p.parent.parent
    if p.parent.name == MEMBERS_DIR and is_ensemble_run(ensemble):
        return (
            f"{p}: this ensemble member has no checkpoint yet (neither best/ nor last/): the "
            "ensemble is still training or was interrupted before this member's first one; "
            f"finish it with `vecgraft finetune --out {ensemble} --resume`, then export {p}"
        )
    return (
        f"{p}: this run has no checkpoint yet (neither best/ nor last/): it is still training "
        f"or was interrupted before its first one; finish it with `vecgraft finetune --out {p} "
        "--resume`, then export it"
    )


def _read_build(folder: Path, allow_nonfinite: Any) -> ExportSource:
    """A build folder's matrix; NaN/Inf refused unless allowed (`--allow-nonfinite`)."""
    from vecgraft.nn.embedding import load_embedding

    embedding, vocab, report = load_embedding(folder, allow_nonfinite=allow_nonfinite)
    alignment = report.get("alignment") or {}
    tokenizer = (report.get("metadata") or {}).get("tokenizer") or vocab.metadata.get("tokenizer")
    return _from_vocab(
        SourceKind.BUILD,
        folder,
        vocab,
        embedding.weight.detach().cpu().numpy(),
        alignment.get("rules"),
        tokenizer,
    )


def _read_run(folder: Path) -> ExportSource:
    from vecgraft.finetune.checkpoint import MODEL_FILE, Remedy, load_checkpoint, other_checkpoint

    run = folder if (folder / "best").is_dir() else None
    ckpt_folder = folder / "best" if run is not None else folder
    other = other_checkpoint(ckpt_folder.parent, ckpt_folder.name)  # damaged: export the other
    remedy = Remedy("retrain" if other is None else f"retrain, or export {other}")
    ckpt = load_checkpoint(ckpt_folder, remedy=remedy)
    meta = ckpt.model_meta
    if meta.get("kind") == "hf":
        from vecgraft.errors import ConfigError

        # the refusal was a dead end: the checkpoint is a Hugging Face folder as it is
        raise ConfigError(
            f"{folder}: a --model hf run fine-tunes a whole transformer; its input embedding "
            "holds subword pieces the transformer reads in context, not word vectors to "
            f"export. {ckpt.path} is a Hugging Face folder already: load it with transformers' "
            f'AutoModelForSequenceClassification.from_pretrained("{ckpt.path}") (and '
            "AutoTokenizer from the same folder), or predict with `vecgraft predict`"
            + _hf_regression_note(meta)
        )
    shape = (int(meta.get("vocab_size", -1)), int(meta.get("embedding_dim", -1)))
    weights_file = ckpt.path / MODEL_FILE
    tensors = ckpt.read_weights()  # NaN/Inf weights refused: "inf" rows no reader takes
    # The classifier's token embedding: named `embedding.weight` by every vecgraft model.
    names = [k for k in tensors if k.split(".")[-2:] == ["embedding", "weight"]]
    found = [k for k in names if tuple(tensors[k].shape) == shape]
    if not found:
        raise CheckpointError(
            f"{weights_file}: no embedding weight of shape {list(shape)} "
            f"(model.json's vocab_size x embedding_dim); found {sorted(tensors)[:8]}"
        )
    rules = None
    if run is not None and (run / "alignment.json").is_file():
        rules = read_json_file(run / "alignment.json", limit=RECORD_LIMIT).get("rules")
    from vecgraft.text.tokenize import user_dict_at

    tokenizer = meta.get("tokenizer")  # its jieba dictionary, if any, is the checkpoint's copy
    tokenizer = None if not tokenizer else user_dict_at(tokenizer, ckpt.path)
    src = _from_vocab(SourceKind.RUN, folder, ckpt.vocab, tensors[found[0]], rules, tokenizer)
    src.kept_back = _run_parts(run if run is not None else folder.parent, meta)
    return src


def _run_parts(run: Path, meta: Mapping[str, Any]) -> list[str]:
    """What the run predicts with besides its embedding: its head, its fused linear half.

    Why: exporting a fused run (finetune's default) wrote its tuned embedding alone, with
    no word that the network's head and the TF-IDF half were not in the export.
    """
    from vecgraft._util.atomic import folder_or_old_twin
    from vecgraft.finetune.fusion import FUSION_DIR

    parts = ["regression head" if meta.get("task") == "regression" else "classifier"]
    if folder_or_old_twin(run / FUSION_DIR) is not None:
        parts.append("fused linear half")
    return parts


def _kept_back_note(src: ExportSource) -> list[str]:
    """One line saying that a run's head (and fused linear half) are not exported."""
    if not src.kept_back:
        return []
    rows, dim = src.matrix.shape
    parts = " and ".join(src.kept_back)
    verb, them = ("stays", "it") if len(src.kept_back) == 1 else ("stay", "them")
    return [
        f"export writes the run's embedding matrix ({rows:,} x {dim}); its {parts} {verb} in "
        f"the run folder (vecgraft predict uses {them})"
    ]


def _hf_regression_note(meta: Mapping[str, Any]) -> str:
    """What a regression's plain `from_pretrained` returns, and how to map it to numbers.

    Why: its logit is a z-score; the advice to load the folder gave numbers off the
    labels' scale without saying so.
    """
    if meta.get("task") != "regression":
        return ""
    return (
        "; this regression's model returns z-scores: the number is shift + scale x logit, "
        "with shift and scale from vecgraft_target_scale in that folder's config.json"
    )


def _from_vocab(
    kind: SourceKind,
    path: Path,
    vocab: Vocab,
    matrix: np.ndarray,
    rules: list[str] | None,
    tokenizer: dict[str, Any] | None,
) -> ExportSource:
    if rules is not None and len(rules) != len(vocab):
        rules = None  # a report from another vocabulary says nothing about these rows
    return ExportSource(
        kind,
        path,
        list(vocab.tokens),
        np.asarray(matrix, dtype=np.float32),
        specials=list(vocab.specials),
        unk_token=vocab.unk_token,
        rules=rules,
        tokenizer=dict(tokenizer) if tokenizer else None,
    )


def export(
    source: str | os.PathLike[str] | ExportSource,
    *,
    to: str | ExportTarget,
    out: str | os.PathLike[str],
    tokenizer: Tokenizer | None = None,
    normalize: bool = False,
    load_options: Mapping[str, Any] | None = None,
    progress: bool | None = False,
) -> ExportResult:
    """Write `source` as `to` at `out`.

    Args:
        source: a path (see `read_source`) or an `ExportSource`.
        to: "model2vec", "projector", "word2vec" or "word2vec-bin".
        out: the folder (model2vec, projector) or file (word2vec) to write, atomically
            (whole or not at all). word2vec: an existing file is replaced without a word
            (`vecgraft export` asks for `--overwrite`). model2vec, projector: an existing
            folder only when it holds an earlier export of the same kind (replaced whole);
            a file or any other folder is refused.
        tokenizer: model2vec only: the tokenizer to reproduce; default: the one recorded with
            the source, else vecgraft's default (regex, case kept).
        normalize: model2vec only: L2-normalise sentence embeddings (`config.json`).
        load_options: options for `vecgraft.load` when `source` is a vector file (a build
            folder takes `allow_nonfinite`; a run refuses it).
        progress: projector only: the rows of tensors.tsv written (`write_projector`);
            False (the default) says nothing, None draws a bar as the CLI does.

    A run folder named by `source` is held from reading it to writing `out` (see
    `read_source`); an `ExportSource` is written as it is, nothing held.
    """
    from vecgraft.finetune.rundir import read_lock

    target = parse_enum(ExportTarget, to, "export target")
    if isinstance(source, ExportSource):
        return _write(source, target, out, tokenizer, normalize, progress)
    with read_lock(held_folder(Path(source))):
        src = held_read_source(source, load_options=load_options)
        return _write(src, target, out, tokenizer, normalize, progress)


def _write(
    src: ExportSource,
    target: ExportTarget,
    out: str | os.PathLike[str],
    tokenizer: Tokenizer | None,
    normalize: bool,
    progress: bool | None = False,
) -> ExportResult:
    """`export`'s writing of a source already read, with a run's kept-back parts noted."""
    result = _write_target(src, target, out, tokenizer, normalize, progress)
    result.notes.extend(_kept_back_note(src))
    return result


def _write_target(
    src: ExportSource,
    target: ExportTarget,
    out: str | os.PathLike[str],
    tokenizer: Tokenizer | None,
    normalize: bool,
    progress: bool | None = False,
) -> ExportResult:
    """Write `src` in `target`'s format."""
    if target is ExportTarget.MODEL2VEC:
        return _model2vec(src, Path(out), tokenizer, normalize)
    if target is ExportTarget.PROJECTOR:
        from vecgraft.io.projector import write_projector

        columns = {"rule": src.rules} if src.rules is not None else None
        write_projector(out, src.words, src.matrix, columns, progress=progress)
        notes = [] if columns else ["no alignment report: metadata.tsv holds the words only"]
        return ExportResult(Path(out), target, len(src.words), src.matrix.shape[1], notes)
    from vecgraft.io import save
    from vecgraft.vectors import Vectors

    specials = set(src.specials)
    keep = [i for i, w in enumerate(src.words) if w not in specials]
    words = [src.words[i] for i in keep]
    from vecgraft.io.base import refuse_spaced_words

    refuse_spaced_words(words, target.value, out, "drop them, or export to projector")
    vectors = Vectors(words, src.matrix[keep], source=str(src.path))
    # NaN/Inf rows are here only where the user's load allowed them (--allow-nonfinite)
    save(vectors, out, format=target.value, allow_nonfinite=True)
    notes = [f"left out special tokens {sorted(specials)}"] if specials else []
    notes += _lost_tokenizer_note(src.tokenizer, target)
    return ExportResult(Path(out), target, len(words), src.matrix.shape[1], notes)


def _lost_tokenizer_note(tokenizer: Mapping[str, Any] | None, target: ExportTarget) -> list[str]:
    """A note that the file keeps no recorded tokenizer, with the flags that cut texts so.

    Why: vectors pretrained on jieba words + characters, exported to word2vec, were read
    back with the default regex tokenizer without a word (their character rows unused).
    The flags are for the command that reads the file (build, finetune), not export's own
    model2vec --tokenizer, which "pass --tokenizer regex" after an export read as.
    """
    flags = tokenizer_flags(tokenizer)
    if not flags:
        return []
    return [
        f"{target.value} keeps no tokenizer: pass build/finetune {flags} when they read the "
        "written file, to cut texts into SOURCE's tokens"
    ]


def tokenizer_flags(tokenizer: Mapping[str, Any] | None) -> str:
    """`--tokenizer jieba --zh-mode word+char`: the flags that cut texts as `tokenizer` does.

    Kind, case, Chinese mode, normalisation (--nfkc, --halfwidth, --simplified, --digits)
    and the jieba user dictionary: vectors pretrained with `--simplified --halfwidth` were
    named by kind and mode alone, and texts cut so kept 這個 and ＷＩＦＩ, words the
    vectors lack. jieba's HMM off has no flag, so it is said in words.
    "" for none recorded and for the default (regex, case kept, no normalisation).
    """
    if not tokenizer:
        return ""
    kind = str(tokenizer.get("kind") or "regex")
    flags = [f"--tokenizer {kind}"]
    if tokenizer.get("lower"):
        flags.append("--lower")
    if kind == "jieba" and tokenizer.get("zh_mode"):
        flags.append(f"--zh-mode {tokenizer['zh_mode']}")
    flags += [f"--{key}" for key in ("nfkc", "halfwidth", "simplified") if tokenizer.get(key)]
    if tokenizer.get("digits"):
        flags.append(f"--digits {shlex.quote(str(tokenizer['digits']))}")
    if kind == "jieba" and tokenizer.get("user_dict"):
        flags.append(f"--user-dict {shlex.quote(str(tokenizer['user_dict']))}")
    if flags == ["--tokenizer regex"]:
        return ""
    if tokenizer.get("nfkc") or tokenizer.get("digits"):  # build's flags, not finetune's
        flags.append("(--nfkc and --digits are build's: finetune, tune and compare take them "
                     "from the vectors' metadata alone)")  # fmt: skip
    if kind == "jieba" and tokenizer.get("hmm") is False:
        flags.append("(and jieba's HMM off, which no flag sets: Tokenizer(hmm=False))")
    return " ".join(flags)


def _model2vec(
    src: ExportSource, out: Path, tokenizer: Tokenizer | None, normalize: bool
) -> ExportResult:
    from vecgraft._util.version import __version__
    from vecgraft.io.model2vec import write_model2vec
    from vecgraft.text.hf_tokenizer import to_hf_tokenizer

    notes: list[str] = []
    if tokenizer is None:
        if src.tokenizer is not None:
            tokenizer = Tokenizer.from_config(src.tokenizer, saved=True)
        else:
            tokenizer = Tokenizer()
            notes.append(
                "no tokenizer recorded with the source: using the default regex tokenizer "
                "(case kept); pass tokenizer= / --tokenizer, --lower to change it"
            )
    words, matrix, unk = src.words, src.matrix, src.unk_token
    if unk is None:  # model2vec needs an unknown token to drop unknown words
        unk = "<unk>"
        while unk in words:
            unk = f"<{unk}>"
        words = [*words, unk]
        matrix = np.concatenate([matrix, np.zeros((1, matrix.shape[1]), np.float32)])
    hf, tok_notes = to_hf_tokenizer(tokenizer, words, unk)
    notes.extend(tok_notes)
    recorded, files = _own_user_dict(tokenizer.config)
    config = {
        "normalize": normalize,
        "vecgraft": {
            "version": __version__,
            "source": str(src.path),
            "source_kind": src.kind.value,
            "tokenizer": recorded,
        },
    }
    card = _card(src, tokenizer, tok_notes, recorded)
    write_model2vec(out, matrix, hf.to_str(), config=config, readme=card, files=files)
    return ExportResult(out, ExportTarget.MODEL2VEC, len(words), matrix.shape[1], notes)


def _own_user_dict(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, bytes]]:
    """A tokenizer config naming the folder's own copy of its jieba dictionary, and the copy.

    The config named the run's dictionary by a path relative to where `export` ran (and
    the folder had no copy), so the card's own example failed anywhere else; the copy's
    name is relative to the folder, read with `Tokenizer.from_config(..., root=folder)`.
    """
    from vecgraft.text.tokenize import USER_DICT_FILE, user_dict_digest

    user_dict = config.get("user_dict")
    if not isinstance(user_dict, str):
        return config, {}
    data = Path(user_dict).read_bytes()
    digest = user_dict_digest(user_dict)
    recorded = {**config, "user_dict": USER_DICT_FILE, "user_dict_sha256": digest}
    return recorded, {USER_DICT_FILE: data}


def _tokenizer_line(config: Mapping[str, Any]) -> str:
    """The card's tokenizer as config.json records it: its user dictionary is the folder's.

    The tokenizer's own repr named the run's dictionary by a path relative to where export
    ran, which the folder's reader never has.
    """
    shown = {k: v for k, v in config.items()
             if k != "user_dict_sha256" and (k != "stopwords" or isinstance(v, str))
             and v not in (None, False)}  # fmt: skip
    return "Tokenizer(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"


def _card(
    src: ExportSource,
    tokenizer: Tokenizer,
    limits: Sequence[str] = (),
    recorded: Mapping[str, Any] | None = None,
) -> str:
    """The folder's README.md: what it is, how to call it, and what its tokenizer.json lacks.

    The limits are on the card, not only printed at export time: whoever loads the folder
    later (from a model hub, say) otherwise encodes unsegmented Chinese as one unknown token
    and gets a zero vector without a word.
    """
    if tokenizer.kind is TokenizerKind.JIEBA:
        # the run's own segmentation and normalisation, then the whitespace split it expects
        usage = (
            "import json\nfrom model2vec import StaticModel\n"
            "from vecgraft.text import Tokenizer\n\n"
            'folder = "path/to/this/folder"\n'
            "model = StaticModel.from_pretrained(folder)\n"
            'with open(f"{folder}/config.json", encoding="utf-8") as fh:\n'
            '    config = json.load(fh)["vecgraft"]["tokenizer"]\n'
            "tokenizer = Tokenizer.from_config(config, root=folder)  # its jieba dictionary\n"
            'texts = ["房间很干净，服务也好。"]\n'
            'embeddings = model.encode([" ".join(tokenizer(t)) for t in texts])\n'
        )
    else:
        usage = (
            "from model2vec import StaticModel\n"
            'model = StaticModel.from_pretrained("path/to/this/folder")\n'
            'embeddings = model.encode(["a sentence"])\n'
        )
    notes = "".join(f"- {n}\n" for n in limits)
    if notes:
        notes = f"\nWhat `tokenizer.json` does not do:\n\n{notes}"
    return (
        "---\nlibrary_name: model2vec\ntags: [model2vec, static-embeddings, vecgraft]\n---\n"
        f"# Static embeddings exported by vecgraft\n\nSource: `{src.path}` ({src.kind.value}), "
        f"{len(src.words):,} rows x {src.matrix.shape[1]}.\nTokenizer: "
        f"`{_tokenizer_line(recorded) if recorded else repr(tokenizer)}`.\n\n"
        f"```python\n{usage}```\n{notes}"
    )
