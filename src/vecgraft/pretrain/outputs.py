"""The output folder of a pretraining run.

DIR/vectors.safetensors   native format: `vecgraft.load(DIR)` finds it (fastText: with subwords,
                          whose n-gram table it links in model.bin rather than copying)
DIR/vectors.txt           GloVe text (not when a word holds a line break or a NUL character:
                          metadata.json's `skipped_files` says so)
DIR/vectors.bin           word2vec binary (not when a word holds a space: metadata.json's
                          `skipped_files` says so)
DIR/model.bin             fastText only: Facebook .bin, the one copy of the n-gram buckets;
                          also what fastText and gensim's `load_facebook_model` read to
                          continue training (it keeps the output layer too)
DIR/vocab.json            the vocabulary with corpus counts (a `Vocab`)
DIR/metadata.json         method, options, corpus, tokenizer, sizes, duration, losses,
                          `environment` (vecgraft, Python, gensim/numpy/torch versions,
                          platform; the command line: `runenv.environment`)
                          (GloVe: `device`, the one it trained on; options keep --device as given)
                          (vectors.safetensors carries the same facts without the timings
                          and `environment`; `native_header_crc32` names that file:
                          `native_fingerprint`)

The files are written into a temp folder beside DIR (`staged_output`) and appear in DIR
only once all of them are written: an interrupted run leaves the earlier output (or no
folder), never vectors without their vocab.json and metadata.json.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from vecgraft._util.atomic import atomic_write_json, files_moved_in, finish_move_in
from vecgraft._util.jsonfile import RECORD_LIMIT, read_json_file
from vecgraft.errors import ConfigError
from vecgraft.io import text, word2vec_bin
from vecgraft.vectors import Vectors

VECTOR_FILES = {
    "native": "vectors.safetensors",
    "glove": "vectors.txt",
    "word2vec-bin": "vectors.bin",
}
# the formats that cannot hold every word: (format, can it hold a word, its name, why not)
_LIMITED_FORMATS = (
    ("glove", text.writable_word, "GloVe text", "a line break, a NUL or an edge space in it"),
    ("word2vec-bin", word2vec_bin.writable_word, "binary word2vec", "a space or newline in it"),
)
VOCAB_FILE = "vocab.json"
METADATA_FILE = "metadata.json"
FASTTEXT_FILE = "model.bin"


def prepare_out(out: Path) -> set[str]:
    """Make the output folder before training; the earlier run's files this run may leave.

    A path that is a file, or a folder that cannot be made, is a ConfigError now rather
    than an OSError after hours of training. Returns the files an earlier run's
    metadata.json lists, so that `staged_output` can delete those this run does not write
    (a word2vec run into a fastText run's folder left its model.bin beside the new vectors).
    """
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: exists and is not a folder (the output folder, --out)")
    from vecgraft._util.outputs import check_output_kind

    check_output_kind(out, "pretrained vectors")  # not into a finetune run or a study
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{out}: cannot create the output folder ({exc.strerror})") from None
    if not os.access(out, os.W_OK):
        raise ConfigError(f"{out}: the output folder is not writable")
    # a run killed while its files moved in left them half in `out`, half staged beside it
    finish_move_in(out, legacy=METADATA_FILE)  # also as versions without a journal left it
    try:
        earlier = read_json_file(out / METADATA_FILE, limit=RECORD_LIMIT)["files"]
        return {str(name) for name in earlier.values()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    # no earlier output: files of these names are the user's own, which a run would replace
    mine = sorted(n for n in {*VECTOR_FILES.values(), VOCAB_FILE, FASTTEXT_FILE}
                  if (out / n).exists())  # fmt: skip
    if mine:
        raise ConfigError(
            f"{out}: holds {', '.join(mine)} but no {METADATA_FILE} (not a pretrain output): "
            "a run would replace them; choose another --out"
        )
    return set()


def check_out_outside_corpus(out: Path, sources: Sequence[Any]) -> None:
    """Refuse an output folder that the corpus arguments read as text.

    `--corpus data/ --out data/vectors` trained once, then the rerun read the first run's
    vectors.bin as its corpus ("vectors.bin:2: invalid UTF-8"; with --errors replace, its
    numbers and JSON became words). Refused: a corpus folder (or a folder a glob matches)
    that holds `out`, and a glob that matches a file pretrain writes in `out`. A file named
    on its own is read as asked. Called once `out` exists, so that a glob such as `data/*`
    matches it on the first run too.
    """
    import glob

    target = Path(os.path.realpath(out))
    written = {*VECTOR_FILES.values(), VOCAB_FILE, METADATA_FILE, FASTTEXT_FILE}
    for src in sources:
        if not isinstance(src, (str, os.PathLike)):
            continue
        text = os.fspath(src)
        if Path(text).exists() or not glob.has_magic(text):
            matches, pattern = [text], False
        else:
            matches, pattern = glob.glob(text, recursive=True), True
        for match in matches:
            real = Path(os.path.realpath(match))
            inside = real.is_dir() and target.is_relative_to(real)
            ours = pattern and real.parent == target and real.name in written
            if inside or ours:
                raise ConfigError(
                    f"{out}: the output folder is inside the corpus ({text}): its vectors, "
                    "vocab.json and metadata.json would be read as corpus text (by this "
                    "run or the next); choose an --out outside the corpus"
                )


def holds_output(out: Path) -> bool:
    """Whether `out` holds an earlier run's output (its metadata.json), which a run replaces."""
    return (out / METADATA_FILE).is_file()


@contextlib.contextmanager
def staged_output(out: Path, earlier: set[str]) -> Iterator[Path]:
    """A temp folder to write the run's files into; they appear in `out` once all are written.

    `out` (made by `prepare_out`, perhaps holding an earlier output and files of the
    user's, which stay) gets the files moved in once they are complete (`files_moved_in`):
    the earlier metadata.json first out, the new one last in, and the earlier run's files
    this run does not write removed. A run stopped before then leaves `out` as it was; one
    stopped while they move (Ctrl-C and SIGTERM wait for it; a kill does not) leaves the
    staged folder `.NAME.new`, whose files the next run (`prepare_out`) moves in first.
    Moved in rather than renamed whole, so a link to a folder, or `.`, stays what it is.
    """
    with files_moved_in(out, last=METADATA_FILE, stale=earlier) as tmp:
        yield tmp


def write_json(path: Path, data: Any) -> None:
    """Write `data` as indented UTF-8 JSON, atomically."""
    atomic_write_json(path, data, indent=1, default=str)


# metadata.json's record of the versions and machine (`runenv.environment`): like the
# timings, kept out of vectors.safetensors, whose bytes two runs that agree share
ENVIRONMENT_KEY = "environment"


def is_timing(key: str) -> bool:
    """Whether metadata `key` is a time or a speed (`duration_seconds`, `words_per_second`).

    Why: they differ between two runs that train the same vectors, so they stay out of
    vectors.safetensors (metadata.json keeps them): its bytes are then the same for the
    same vectors (`--workers 1 --seed N`), and a file hash says whether two runs agree.
    """
    return key.endswith(("_seconds", "_per_second"))


def write_outputs(
    out: Path,
    vectors: Vectors,
    counts: Sequence[int],
    metadata: Mapping[str, Any],
    shown: Path | None = None,
) -> dict[str, str]:
    """Write the vectors in every output format, the vocabulary and the metadata.

    Args:
        out: the output folder (created if needed).
        vectors: the trained vectors (words in vocabulary order).
        counts: corpus count of each word of `vectors`, same order.
        metadata: facts about the run; stored in metadata.json, and in the native file
            (and `vectors.metadata`) without its timings (`is_timing`, native file only)
            and its `environment`.
        shown: the folder that warnings name (default `out`): the user's --out where
            `out` is the staging folder, whose name (`..out.new.PID.*.tmp`) means
            nothing to them and is gone once the files move in.

    Returns:
        The files written, by role (native, glove, word2vec-bin, vocab, metadata).
    """
    from vecgraft.io import save
    from vecgraft.io.native import FINGERPRINT_KEY, native_fingerprint, write_native
    from vecgraft.text.vocab import Vocab

    out.mkdir(parents=True, exist_ok=True)
    # metadata.json, written last, describes a whole output (finetune takes its tokenizer
    # from it): an earlier run's goes first, so a run stopped halfway never leaves it
    # beside this run's vectors
    (out / METADATA_FILE).unlink(missing_ok=True)
    files = dict(VECTOR_FILES)
    meta = dict(metadata)
    skipped: dict[str, str] = {}
    for fmt, writable, what, flaw in _LIMITED_FORMATS:
        unwritable = next((w for w in vectors.words if not writable(w)), None)
        if unwritable is not None:  # a custom pattern's "new york": trained, then lost here
            del files[fmt]
            skipped[fmt] = (
                f"{VECTOR_FILES[fmt]} not written: {what} cannot store the word "
                f"{unwritable!r} ({flaw}); the native format holds it"
            )
            warnings.warn(f"{shown or out}: {skipped[fmt]}", stacklevel=2)
    if skipped:
        meta["skipped_files"] = skipped
    meta["files"] = {**dict(metadata.get("files", {})), **files}
    meta["files"]["vocab"] = VOCAB_FILE
    meta["files"]["metadata"] = METADATA_FILE
    # not the environment: a `save(result.vectors, ...)` wrote it into a native file
    vectors.metadata.update({k: v for k, v in meta.items() if k != ENVIRONMENT_KEY})
    for fmt, name in files.items():
        if fmt == "native":  # fastText: link model.bin's n-gram table, not a second copy
            timings = [key for key in meta if is_timing(key)]
            write_native(vectors, out / name, link_ngrams=True, drop=timings)
        else:  # a custom pattern's "new york" stays in vectors.txt, which vecgraft reads back
            # as write_native just wrote them: a refusal here would leave half the outputs
            save(vectors, out / name, format=fmt, allow_spaces=True, allow_nonfinite=True)
    vocab = Vocab(
        vectors.words,
        dict(zip(vectors.words, counts)),
        specials=(),
        pad_token=None,
        unk_token=None,
        metadata={"tokenizer": meta.get("tokenizer"), "method": meta.get("method")},
    )
    vocab.save(out / VOCAB_FILE)
    # which native file this metadata.json describes: its tokenizer (edits included) wins
    # over that file's copy, not over a native file saved here since (`_json_standing`)
    fingerprint = native_fingerprint(out / VECTOR_FILES["native"])
    write_json(out / METADATA_FILE, {**meta, FINGERPRINT_KEY: fingerprint})
    return dict(meta["files"])
