r"""Vector files <-> `Vectors`: one module per format, a registry, detection and a cache.

`FORMATS` maps each format name to its `Format` (formats as data, see `base.Format`), in the
order detection tries them: formats with magic numbers first, permissive text formats last.

Example:
    >>> import tempfile
    >>> import numpy as np
    >>> import vecgraft
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "tiny.txt").write_text("cat 0.5 1\ndog -2 0.25\n")  # e.g. glove.6B.50d.txt
    >>> v = vecgraft.load(folder / "tiny.txt", cache=False)
    >>> v.words, v.metadata["format"]
    (['cat', 'dog'], 'glove')
    >>> vecgraft.save(v, folder / "tiny.bin", format="word2vec-bin")
    >>> w = vecgraft.load(folder / "tiny.bin", cache=False)
    >>> w.metadata["format"], np.array_equal(w.matrix, v.matrix)
    ('word2vec-bin', True)
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vecgraft._util.options import boolean, parse_enum, parse_size
from vecgraft._util.policies import BadRowPolicy, UnicodeErrors, text_codec
from vecgraft.errors import ConfigError, FormatError, Hint, Opt, OptionError, VocabError
from vecgraft.io._limits import out_of_memory
from vecgraft.io.arguments import check_path, check_vectors
from vecgraft.io.base import Format, LoadOptions, Source, refuse_spaced_words
from vecgraft.io.cache import load_cached
from vecgraft.io.detect import detect, refuse_web_page
from vecgraft.io.fasttext_bin import FASTTEXT_BIN
from vecgraft.io.gensim_kv import GENSIM_KV
from vecgraft.io.native import NATIVE
from vecgraft.io.npy import NPY
from vecgraft.io.text import GLOVE_TEXT, WORD2VEC_TEXT
from vecgraft.io.word2vec_bin import WORD2VEC_BIN
from vecgraft.vectors import Vectors

__all__ = [
    "ALIASES",
    "FORMATS",
    "WRITERS",
    "Format",
    "detect_format",
    "format_for_path",
    "load",
    "save",
]

FORMATS: dict[str, Format] = {
    f.name: f
    for f in (NATIVE, FASTTEXT_BIN, GENSIM_KV, NPY, WORD2VEC_BIN, WORD2VEC_TEXT, GLOVE_TEXT)
}
FOLDER_FORMATS = (NATIVE, NPY)
WRITERS: dict[str, Format] = {name: f for name, f in FORMATS.items() if f.write is not None}
ALIASES = {
    "safetensors": "native",
    "fasttext": "fasttext-bin",
    "word2vec-text": "word2vec",
    "vec": "word2vec",
    "w2v": "word2vec",
    "word2vec-binary": "word2vec-bin",
    "gensim-kv": "gensim",
}


def _format(name: str, table: dict[str, Format], what: str) -> Format:
    fmt = table.get(ALIASES.get(name, name))
    if fmt is None:
        raise ConfigError(f"unknown {what} {name!r}; expected one of {', '.join(table)}")
    return fmt


def _vocab_words(vocab: Iterable[str] | Any | None) -> frozenset[str] | None:
    if vocab is None:
        return None
    tokens = getattr(vocab, "tokens", None)  # a vecgraft Vocab
    if isinstance(vocab, (str, os.PathLike)):
        raise ConfigError("vocab= takes the words themselves (or a Vocab), not a path")
    if tokens is None and not isinstance(vocab, Iterable):
        raise VocabError(f"vocab= takes words (strings) or a Vocab, got {type(vocab).__name__}")
    words = list(tokens if tokens is not None else vocab)
    # token ids instead of tokens are the usual slip; hashing them would fail deep in a reader
    bad = next((i for i, w in enumerate(words) if not isinstance(w, str)), None)
    if bad is not None:
        raise VocabError(
            f"vocab= takes words (strings), found {type(words[bad]).__name__} {words[bad]!r} "
            f"at position {bad}; pass the tokens (vocab.tokens), not their ids"
        )
    return frozenset(words)


def _options(
    vocab: Iterable[str] | Any | None,
    limit: int | None,
    unicode_errors: str | UnicodeErrors,
    bad_rows: str,
    allow_nonfinite: bool,
    trust: bool,
    progress: bool | None,
    max_line_bytes: int | str | None = None,
    max_memory: int | str | None = None,
    encoding: str = "utf-8",
) -> LoadOptions:
    # the same two policy enums as the text reader ("report" is accepted for "skip")
    policy = parse_enum(UnicodeErrors, unicode_errors, "unicode_errors")
    bad_rows = parse_enum(BadRowPolicy, bad_rows, "bad_rows").value
    line_bytes = _size_option("max_line_bytes", max_line_bytes)
    memory = _size_option("max_memory", max_memory)
    # OptionErrors (ConfigErrors) so that the CLI names its flags: `--limit must be ...`
    for name, value, least in (
        ("limit", limit, 0),
        ("max_line_bytes", line_bytes, 1),
        ("max_memory", memory, 0),
    ):
        integral = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        if value is not None and (not integral or value < least):  # numpy ints are integers
            rule = "a non-negative integer" if least == 0 else "a positive integer"
            raise OptionError.out_of_range(name, rule, repr(value), note="or None")
    return LoadOptions(
        vocab=_vocab_words(vocab),
        limit=None if limit is None else int(limit),
        unicode_errors=policy,
        bad_rows=bad_rows,  # type: ignore[arg-type]
        allow_nonfinite=boolean(allow_nonfinite, "allow_nonfinite"),
        trust=boolean(trust, "trust"),
        progress=boolean(progress, "progress", none=True),
        max_line_bytes=None if line_bytes is None else int(line_bytes),
        max_memory=None if memory is None else int(memory),
        encoding=_codec(encoding),
    )


def _size_option(name: str, value: Any) -> Any:
    """`value` in bytes where it is a size string ("8G", as `--max-memory 8G` takes it).

    Anything else is returned as given, for the integer check that follows.
    """
    if not isinstance(value, str):
        return value
    try:
        return parse_size(value)
    except ValueError:
        rule = "a size in bytes: an integer or a string such as '64K', '500M', '8G'"
        raise OptionError.out_of_range(name, rule, repr(value), note="or None") from None


def detect_format(path: str | os.PathLike[str]) -> Format:
    """The format `load` would pick for `path` (raises DetectionError listing each rejection).

    Like `load`, it first finishes a write into the folder that was stopped while its files
    moved in: otherwise a check before the load (finetune's) refused the folder as empty
    that the load itself would read.
    """
    source = Source.from_path(path)
    _finish_stopped_write(source.path)
    return _detect(source)


def _detect(source: Source) -> Format:
    if source.path.is_dir():
        return detect(source, b"", FOLDER_FORMATS)
    head = source.head()
    if not head:
        raise FormatError("empty file: no vectors to read", path=source.path)
    return detect(source, head, FORMATS.values())


def load(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    vocab: Iterable[str] | Any | None = None,
    limit: int | None = None,
    cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    unicode_errors: str | UnicodeErrors = UnicodeErrors.STRICT,
    bad_rows: str = "error",
    allow_nonfinite: bool = False,
    trust: bool = False,
    progress: bool | None = None,
    max_line_bytes: int | str | None = None,
    max_memory: int | str | None = None,
    encoding: str = "utf-8",
) -> Vectors:
    """Read word vectors from a file or folder; the format is detected from the content.

    Args:
        path: a vector file (optionally .gz/.bz2/.xz/single-member .zip), a `.npy` with its
            word list, a folder holding `vectors.safetensors`, or a folder with one `.npy`
            and one word list.
        format: force a format (a key of `FORMATS`, e.g. "glove", "word2vec-bin").
        vocab: keep only these words (a Vocab or any iterable of words). The rows that
            alignment's `casefold` and `normalized` rules could pick are kept too, so
            `align` finds the rows it would in the whole file. With a fastText `.bin`, a word of the
            file left out is an unseen word: looked up, its vector is built from its
            character n-grams alone, close to but not the full model's (or gensim's).
        limit: read only the first `limit` rows. With a fastText `.bin`, a word past the
            limit is an unseen word as well (`vocab=` keeps the listed words' own rows).
        cache: write/read a memory-mapped native copy of text and binary files.
        cache_dir: where the cache lives (default `$XDG_CACHE_HOME/vecgraft`).
        unicode_errors: "strict", "replace" or "ignore" for words that are not UTF-8 (or
            not valid in `encoding`).
        bad_rows: "error" (stop at the first bad row) or "skip" (drop and count them).
        allow_nonfinite: keep rows with NaN/Inf instead of rejecting them.
        trust: allow gensim pickles (KeyedVectors.save files), which can run code.
        progress: None draws a bar on a terminal or in a notebook and, where stderr is a
            file or pipe, a plain line every 30 s (so a short load prints nothing); True
            always draws the bar, False is silent.
        max_line_bytes: longest text line accepted; the default (64 KiB for the word plus 32
            bytes per value) stops a file with one enormous line before it fills memory.
        max_memory: bytes the rows may take; None uses what the machine has free (and the
            process's RLIMIT_AS), 0 turns the guard off. This and `max_line_bytes` also take
            the size strings their flags do: "8G", "500M", "64K" (binary units).
        encoding: how a fastText `.bin` stores its words, as gensim's
            `load_facebook_vectors(encoding=)` reads them (e.g. "cp852"); the n-grams of
            unseen words are then hashed from their UTF-8 bytes, as gensim does. Other
            formats read UTF-8 only: convert a text file with `iconv -f ENC -t UTF-8`.

    Returns:
        Vectors; `metadata` records the format and load facts (duplicates, skipped rows).

    Raises:
        FormatError: the file is missing, damaged or not in the requested format.
        DetectionError: no format fits; the message lists each format tried and why not.
        ConfigError: an option value is invalid.
        VocabError: `vocab` holds something other than words (token ids, say).
        ResourceError: the rows would not fit in memory (use `vocab=` or `limit=`).
        ArgumentTypeError: `path` is not a str or os.PathLike.
    """
    check_path(path, "load")
    options = _options(
        vocab,
        limit,
        unicode_errors,
        bad_rows,
        allow_nonfinite,
        trust,
        progress,
        max_line_bytes,
        max_memory,
        encoding,
    )
    cache = boolean(cache, "cache")  # cache="no" cached: a string is truthy
    source, fmt = _source_and_format(path, format)
    _check_encoding(encoding, options.encoding, fmt)
    return _read(source, fmt, options, cache, cache_dir)


def _codec(encoding: str) -> str:
    """`encoding` as Python's codec registry names it ("CP852" -> "cp852", "utf8" -> "utf-8").

    The canonical name keeps one cache entry per encoding, however it was spelled.
    """
    if not isinstance(encoding, str):
        raise OptionError.out_of_range("encoding", "a codec name", repr(encoding))
    try:
        return text_codec(encoding)
    except LookupError:
        rule = "a text encoding Python knows (e.g. 'utf-8', 'cp852', 'latin-1', 'gb18030')"
        raise OptionError.out_of_range("encoding", rule, repr(encoding)) from None


def _check_encoding(given: str, codec: str, fmt: Format) -> None:
    """Refuse `encoding=` for a format whose reader decodes UTF-8 only, rather than ignore it.

    `given` is the name as the caller spelled it, `codec` its canonical name.
    """
    if codec == "utf-8" or fmt is FASTTEXT_BIN:
        return
    convert = (
        f" (convert it first: iconv -f {given} -t UTF-8)"
        if fmt in (GLOVE_TEXT, WORD2VEC_TEXT)
        else ""
    )
    # an OptionError so that a command names its flag (--vectors-encoding), not encoding=
    raise OptionError(
        f"{{}} applies to fastText .bin files only; this file is {fmt.name}, whose words are "
        f"read as UTF-8{convert}",
        Opt("encoding", repr(given), given, flag_key="binary_encoding"),
    )


def _source_and_format(path: str | os.PathLike[str], format: str | None) -> tuple[Source, Format]:
    """The file and its format (forced or detected), refusing an empty file or a wrong folder."""
    source = Source.from_path(path)
    _finish_stopped_write(source.path)
    fmt = _format(format, FORMATS, "format") if format else _detect(source)
    if not source.path.is_dir() and source.path.stat().st_size == 0:
        raise FormatError("empty file: no vectors to read", path=source.path)
    if source.path.is_dir() and fmt not in FOLDER_FORMATS:
        raise FormatError(f"is a folder; format {fmt.name!r} reads a file", path=source.path)
    return source, fmt


def _finish_stopped_write(path: Path) -> None:
    """Finish the move-in of an output whose writer was killed while its files moved in.

    Killed then, `pretrain` left its new vectors.safetensors beside the old vectors.txt and
    no metadata.json, and `load(DIR)` read the new vectors without them. The staged rest is
    complete (`finish_move_in`), so it moves in first; where it cannot (a read-only
    folder), the load is refused rather than mixing two runs' files.
    """
    from vecgraft._util.atomic import finish_move_in, staged_twin

    if not path.is_dir():  # a file: the folder holding it is no output of vecgraft's
        return
    folder = path
    try:
        finish_move_in(folder)
    except OSError as exc:
        raise FormatError(
            f"a write into this folder was stopped while its files moved in from "
            f"{staged_twin(os.path.realpath(folder))}, and finishing it failed "
            f"({exc.strerror}); rerun the command that wrote it",
            path=folder,
        ) from None


def _read(
    source: Source,
    fmt: Format,
    options: LoadOptions,
    cache: bool,
    cache_dir: str | os.PathLike[str] | None,
) -> Vectors:
    """Read through the cache or directly; running out of memory becomes a ResourceError."""
    try:
        if cache:
            return load_cached(source, fmt, options, cache_dir)
        return fmt.load(source, options)
    except MemoryError:
        raise out_of_memory(source.path) from None
    except FormatError as exc:
        _explain_web_page(source, exc)
        raise


def _explain_web_page(source: Source, exc: FormatError) -> None:
    """Retell a forced format's error on an HTML page as what it is: a failed download."""
    if source.path.is_dir():
        return
    try:
        head = source.head(4096)
    except FormatError:
        return
    try:
        refuse_web_page(source, head)
    except FormatError as page:
        raise page from exc


def format_for_path(path: str | os.PathLike[str]) -> str | None:
    """The writable format `path`'s name says (`Format.extensions`), or None.

    `.txt` glove, `.vec` and `.w2v.txt` word2vec, `.bin` word2vec-bin, `.safetensors`
    native; a compression suffix after it (`.gz`, `.bz2`, `.xz`, `.zip`) is looked past.

    >>> format_for_path("glove.txt.gz"), format_for_path("x.w2v.txt"), format_for_path("emb")
    ('glove', 'word2vec', None)
    """
    name = Path(path).name.lower()
    stem, dot, last = name.rpartition(".")
    if dot and f".{last}" in (".gz", ".bz2", ".xz", ".zip"):
        name = stem
    best: tuple[int, str | None] = (0, None)
    for fmt in WRITERS.values():  # the longest ending wins: x.w2v.txt is word2vec
        for ext in fmt.extensions:
            if name.endswith(ext) and len(ext) > best[0]:
                best = (len(ext), fmt.name)
    return best[1]


def save(
    vectors: Vectors,
    path: str | os.PathLike[str],
    format: str | None = None,
    *,
    allow_spaces: bool = False,
    allow_nonfinite: bool = False,
    progress: bool | None = False,
) -> None:
    """Write `vectors` to `path` (atomically) in `format`: native, glove, word2vec, word2vec-bin.

    Atomic: the file appears whole or not at all, so a killed save never leaves a truncated
    file that a later `load` would misread. A native save to an existing folder writes
    `<folder>/vectors.safetensors`. An existing file there is replaced without a word, as
    `numpy.save` and `torch.save` do (the CLI's `convert` and `export` ask for
    `--overwrite`): check `Path(path).exists()` first to keep one.

    Args:
        vectors: what to write.
        path: the output file, replaced if it exists (or, native only, an existing folder).
        format: "native" (safetensors, memory-mapped on load; keeps a fastText subword
            model), or "glove", "word2vec", "word2vec-bin" for other tools (the word table
            only: a subword model is not written). For these three a `.gz`, `.bz2` or `.xz`
            suffix on `path` compresses the file, as gensim and zcat expect of that name.
            None (the default) takes the format `path`'s name says (`format_for_path`:
            `x.txt` glove, `x.vec` word2vec, `x.bin` word2vec-bin, `x.txt.gz` compressed
            glove), else native: `save(v, "x.txt")` wrote safetensors under a text name. A
            format given is written whatever the name.
        allow_spaces: glove and word2vec only: write words holding a space (GloVe 840B has
            some) instead of refusing them. `vecgraft.load` reads them back (the last `dim`
            fields of a row are its values), gensim does not. word2vec-bin cannot hold
            them at all; native keeps any word.
        allow_nonfinite: write rows holding NaN or Inf instead of refusing them (as
            `load(allow_nonfinite=True)` reads them back; a plain `load` refuses the file).
        progress: the rows written so far, for glove, word2vec and word2vec-bin (a 400k x
            300 text file takes some 20 s): False (the default) says nothing; None draws a
            bar on a terminal or in a notebook and writes a plain line every few seconds
            where stderr is a pipe or log file; True always draws a bar.

    Raises:
        ConfigError: an unknown format, or a `.zip` suffix (archives are read, not written).
        FormatError: a word holding a space in glove or word2vec (without `allow_spaces`)
            or word2vec-bin output, as `vecgraft export` refuses it: gensim splits lines
            on spaces ("could not convert string to float: 'york'"). The message names the
            first such words.
        ConfigError: a row holding NaN or Inf (without `allow_nonfinite`), naming its word.
        ArgumentTypeError: `vectors` is not `Vectors` (a path, gensim's KeyedVectors) or
            `path` is not a path.
    """
    check_vectors(vectors, "save")
    check_path(path, "save")
    if format is None:
        format = format_for_path(path) or "native"
    fmt = _format(format, WRITERS, "output format")
    if fmt.write is None:  # pragma: no cover - WRITERS holds writable formats only
        raise ConfigError(f"format {fmt.name!r} cannot be written")
    _check_words(vectors)
    if not allow_nonfinite:
        _check_finite(vectors)
    if fmt is WORD2VEC_BIN or (fmt in (GLOVE_TEXT, WORD2VEC_TEXT) and not allow_spaces):
        advice = "save them in the native format, or replace the spaces with '_' first"
        hint = (  # binary word2vec cannot hold them at all
            None
            if fmt is WORD2VEC_BIN
            else Hint(" ({} writes them anyway: vecgraft reads them back)", _ALLOW_SPACES)
        )
        refuse_spaced_words(vectors.words, fmt.name, path, advice, hint)
    fmt.write(vectors, Path(path).expanduser(), progress=progress)


_ALLOW_SPACES = Opt("allow_spaces", "True")


def _check_finite(vectors: Vectors) -> None:
    """No row holds NaN or Inf: a file that `load` refuses was written without a word.

    Vectors built in memory (`Vectors(words, matrix)`) are not checked; a save reads the
    matrix anyway, so this is where such rows are found.
    """
    import numpy as np

    from vecgraft.io._rows import nonfinite_rows

    bad = nonfinite_rows(np.asarray(vectors.matrix))
    if len(bad):
        first = ", ".join(repr(vectors.words[int(i)]) for i in bad[:5])
        raise ConfigError(
            f"cannot save: {len(bad)} row(s) hold NaN or Inf (first: {first}), which "
            f"vecgraft.load refuses; drop them (vectors.subset(...)), replace them "
            f"(np.nan_to_num), or pass allow_nonfinite=True and load with allow_nonfinite=True"
        )


def _check_words(vectors: Vectors) -> None:
    """Words are distinct strings before any format writes them.

    The native writer refused duplicates while the word2vec writers wrote them (a file
    whose reader keeps one row per word), and a non-string word was a bare TypeError.
    """
    odd = next((i for i, w in enumerate(vectors.words) if not isinstance(w, str)), None)
    if odd is not None:
        word = vectors.words[odd]
        raise ConfigError(f"cannot save: word {odd} is a {type(word).__name__} ({word!r}), "
                          "not a string")  # fmt: skip
    vectors.index  # noqa: B018 - raises naming the duplicates
