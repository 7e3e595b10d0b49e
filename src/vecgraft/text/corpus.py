"""Stream documents from strings, files, folders, globs, CSV/TSV/JSONL columns, compressed.

Everything is lazy: files are opened one at a time and read line by line (through the one
reader, `vecgraft.text.reader`), and an enormous single line (e.g. text8, 100 MB without a
newline) is cut at whitespace into bounded pieces instead of being loaded whole. Bytes that
do not decode are an error naming file and line unless `errors=` says to repair them (then
they are counted); dropped rows are counted with their line numbers in `.stats`.
"""

from __future__ import annotations

import dataclasses
import glob
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from vecgraft._util.options import parse_enum
from vecgraft._util.policies import BadRowPolicy, UnicodeErrors
from vecgraft.errors import DataError, Hint, Opt
from vecgraft.text._streams import _raw_lines
from vecgraft.text.reader import MAX_LINE_BYTES, MAX_ROW_BYTES, OnePer, ReadOptions, TextReader
from vecgraft.text.reader import ReadReport as CorpusStats

__all__ = [
    "MAX_LINE_BYTES",
    "MAX_ROW_BYTES",
    "CorpusStats",
    "OnePer",
    "TextStream",
    "Texts",
    "UnicodeErrors",
    "iter_texts",
]

_ = _raw_lines  # re-exported for tests of the line splitter


class Texts:
    """Raw strings to use as documents, as opposed to strings that are paths.

    Example:
        >>> list(iter_texts(Texts(["a b", "c"])))
        ['a b', 'c']
    """

    def __init__(self, texts: Iterable[str]) -> None:
        self.texts = texts

    def __iter__(self) -> Iterator[str]:
        for i, text in enumerate(self.texts):
            if not isinstance(text, str):
                raise DataError(f"Texts item {i}: expected a string, got {type(text).__name__}")
            yield text

    def __repr__(self) -> str:
        return f"Texts({self.texts!r})" if isinstance(self.texts, list) else "Texts(...)"


Sources = str | os.PathLike[str] | Texts | Iterable[Any]


class TextStream(Iterator[str]):
    """An iterator of documents that counts what it read in `.stats` (see `iter_texts`).

    Read to its end, a new `iter()` (a second `for` loop) reads the sources again from the
    start, with fresh `.stats` for that pass: `build_vocab(stream, tok)` and then
    `[tok(t) for t in stream]` each see every document, where the second pass was silently
    empty. A pass cut short goes on where it stopped (it is an iterator). `Texts` over a
    one-shot iterator (a generator) cannot be read twice: a second pass is a DataError.
    """

    def __init__(
        self,
        sources: Sources,
        *,
        column: str | int = "text",
        one_per: str | OnePer = OnePer.LINE,
        unicode_errors: str | UnicodeErrors | None = None,
        max_line_bytes: int | None = None,
        encoding: str = "utf-8",
        errors: str | UnicodeErrors | None = None,
        bad_rows: str | BadRowPolicy = BadRowPolicy.SKIP,
    ) -> None:
        self.sources = sources
        self.column = column
        options = ReadOptions(
            encoding=encoding,
            errors=_errors_option(errors, unicode_errors),
            bad_rows=bad_rows,  # type: ignore[arg-type]
            max_line_bytes=max_line_bytes,
        )
        self._new_reader = lambda: TextReader(
            text_column=column, one_per=one_per, options=options, source=_describe(sources)
        )
        self._reader = self._new_reader()
        self.one_per = self._reader.one_per
        self.unicode_errors = options.errors
        self.max_line_bytes = max_line_bytes
        self.stats: CorpusStats = self._reader.report
        self._done = 0  # bytes of the files read to their end
        # the sources' items as far as listed, a path's files expanded when first asked for
        # (`_listed`): shared by `total_bytes` and the reading, so each is listed once
        self._items: Iterator[Any] | None = None
        self._seen: list[Any] = []
        self._failed: Exception | None = None  # what iterating `sources` raised, kept
        self._files: dict[int, list[Path]] = {}
        self._it = self._generate()
        self._ended = False  # this pass was read to its end (or stopped by an error)

    def __iter__(self) -> TextStream:
        if self._ended:
            self._restart()
        return self

    def __next__(self) -> str:
        try:
            return next(self._it)
        except BaseException:
            self._ended = True  # the generator is over: StopIteration or an error
            raise

    def __repr__(self) -> str:
        return (
            f"TextStream({_describe(self.sources)!r}, column={self.column!r}, "
            f"one_per={self.one_per.value!r})"
        )

    def _restart(self) -> None:
        """Begin a new pass over the sources (listed once, kept), with fresh stats."""
        for item in self._seen:
            if isinstance(item, Texts) and iter(item.texts) is item.texts:
                raise DataError(
                    "this stream was read to its end and its Texts(...) hold a one-shot "
                    "iterator (a generator), which a second pass would find empty; pass "
                    "Texts(list(...)) to read the texts more than once"
                )
        self._reader = self._new_reader()
        self.stats = self._reader.report
        self._done = 0
        self._it = self._generate()
        self._ended = False

    def _generate(self) -> Iterator[str]:
        # the reader counts the rows of files in `stats.texts`; raw strings are counted here
        for item in self._listed():
            if isinstance(item, Texts):
                for text in item:
                    self.stats.texts += 1
                    yield text
            else:
                for path in item:
                    try:
                        for row in self._reader.rows(path):
                            yield row.text
                    except DataError as exc:
                        exc.hint = _own_keywords(exc.hint)
                        raise
                    self._done += _size(path)

    def bytes_read(self) -> int:
        """Bytes of the input files read so far (a compressed file's compressed bytes).

        For progress: the position in the file being read comes from its descriptor, so it
        runs ahead of the documents handed out by a read buffer's worth.
        """
        return self._done + self._reader.offset()

    def total_bytes(self) -> int | None:
        """The input files' size on disk, which `bytes_read` reaches at the end.

        None when `sources` hold `Texts` (strings have no size on disk).
        """
        total = 0
        for item in self._listed():
            if isinstance(item, Texts):
                return None
            total += sum(_size(path) for path in item)
        return total

    def _listed(self) -> Iterator[Texts | list[Path]]:
        """Each item of `sources` (a path as its files), listed on first use and kept.

        Why: `total_bytes` and the reading both walk the sources; a one-shot iterable of
        paths read by the one was empty for the other, and folders and globs were listed
        twice. A source is still listed when it is reached, so a missing file stops the
        stream after the documents before it, as it did; an error (a missing file, an
        item that is no path, one the `sources` iterable raised) is raised again to whoever
        asks next, not skipped: a generator that raised is over, and its next() would end
        the stream as if all were read.
        """
        i = 0
        while True:
            if i == len(self._seen):
                if self._failed is not None:
                    raise self._failed
                if self._items is None:
                    self._items = _source_items(self.sources)
                try:
                    item = next(self._items, _END)
                except Exception as exc:
                    self._failed = exc
                    raise
                if item is _END:
                    return
                self._seen.append(item)
            yield self._item_files(i)
            i += 1

    def _item_files(self, i: int) -> Texts | list[Path]:
        """Item `i` of the sources: `Texts` as it is, a path as its files (expanded once)."""
        item = self._seen[i]
        if isinstance(item, Texts):
            return item
        if not isinstance(item, (str, os.PathLike)):
            raise DataError(f"expected a path or Texts([...]), got {type(item).__name__}")
        if i not in self._files:
            self._files[i] = _expand(item)
        return self._files[i]


_END = object()  # `_listed`: the sources are used up


def _errors_option(
    errors: str | UnicodeErrors | None, unicode_errors: str | UnicodeErrors | None
) -> Any:
    """`errors=`, or its old name `unicode_errors=`, parsed under the name the caller used."""
    if errors is not None:
        return parse_enum(UnicodeErrors, errors, "errors")
    if unicode_errors is not None:
        return parse_enum(UnicodeErrors, unicode_errors, "unicode_errors")
    return UnicodeErrors.STRICT


def _describe(sources: Sources) -> str:
    """The sources as one string, for reports (`a.txt, b/`)."""
    if isinstance(sources, (str, os.PathLike)):
        return os.fspath(sources)
    if isinstance(sources, (list, tuple)):
        return ", ".join(
            os.fspath(s) if isinstance(s, (str, os.PathLike)) else "texts" for s in sources
        )
    return "texts"


def iter_texts(
    sources: Sources,
    *,
    column: str | int = "text",
    one_per: str | OnePer = OnePer.LINE,
    unicode_errors: str | UnicodeErrors | None = None,
    max_line_bytes: int | None = None,
    encoding: str = "utf-8",
    errors: str | UnicodeErrors | None = None,
    bad_rows: str | BadRowPolicy = BadRowPolicy.SKIP,
) -> TextStream:
    """Stream the documents of `sources`, one string each, never loading a corpus whole.

    Args:
        sources: a path, folder (read recursively in sorted order, hidden files skipped) or
            glob; a list of those; or raw strings wrapped in `Texts([...])`. Files may be
            .txt (or anything else: plain text), .csv, .tsv, .jsonl, each optionally
            compressed (.gz, .bz2, .xz, .zip with one member; detected from the bytes).
        column: the CSV/TSV header name (or 0-based index) or JSONL field holding the text.
        one_per: in plain-text files, one document per "line" (blank lines skipped) or per
            "file". Tables always give one document per row.
        unicode_errors: old name of `errors`.
        max_line_bytes: plain-text lines longer than this are yielded in pieces cut at
            whitespace; a longer table row is a DataError. None: pieces of `MAX_LINE_BYTES`
            (1 MiB), table rows of up to `MAX_ROW_BYTES` (64 MiB), as `read_labelled` reads.
        encoding: the files' encoding (default UTF-8; a BOM is removed).
        errors: "strict" (default: a DataError naming file and line), "replace" (U+FFFD)
            or "ignore"; repaired lines are counted in `.stats`.
        bad_rows: "skip" drops unusable table rows (empty text, ragged row, broken JSON
            line), recording each with its line in `.stats`; "error" stops at the first.

    Returns:
        A `TextStream`: iterate it for the documents; `.stats` (a `ReadReport`) counts
        files, texts, blank lines, dropped rows with their lines, and repaired lines.
        Iterated again after a full pass, it reads the sources again (fresh `.stats`).

    Example:
        >>> stream = iter_texts(Texts(["one doc", "another"]))
        >>> list(stream), stream.stats.texts
        (['one doc', 'another'], 2)
    """
    return TextStream(
        sources,
        column=column,
        one_per=one_per,
        unicode_errors=unicode_errors,
        max_line_bytes=max_line_bytes,
        encoding=encoding,
        errors=errors,
        bad_rows=bad_rows,
    )


# -- helpers -------------------------------------------------------------------------------
def _own_keywords(hint: Hint | None) -> Hint | None:
    """A reader hint in `iter_texts`'s words: its `column=`, not the reader's `text_column=`.

    `iter_texts(path, text_column=...)` would be a TypeError; the CLI maps `column` to the
    command's `--text-column` flag as before.
    """
    if hint is None or not any(
        isinstance(opt, Opt) and opt.name == "text_column" for opt in hint.options
    ):
        return hint
    options = (
        dataclasses.replace(opt, name="column")
        if isinstance(opt, Opt) and opt.name == "text_column"
        else opt
        for opt in hint.options
    )
    return Hint(hint.template, *options)


def _source_items(sources: Sources) -> Iterator[Any]:
    """The items of `sources`: itself where it is one path or `Texts`, else what it iterates."""
    if isinstance(sources, (str, os.PathLike, Texts)):
        return iter([sources])
    try:
        return iter(sources)
    except TypeError:
        raise DataError(
            f"cannot read texts from a {type(sources).__name__}; pass a path, a list of paths, "
            "or Texts([...])"
        ) from None


def _expand(source: str | os.PathLike[str]) -> list[Path]:
    """Files of one source: the file itself, a folder's files (sorted), or glob matches."""
    text = os.fspath(source)
    path = Path(text)
    if path.is_file():
        return [path]
    if path.is_dir():
        return _folder_files(path)
    if glob.has_magic(text):
        found: list[Path] = []
        for match in sorted(glob.glob(text, recursive=True)):
            p = Path(match)
            found.extend(_folder_files(p) if p.is_dir() else [p])
        if not found:
            raise DataError(f"{text}: no files match this pattern")
        return _once(found)
    if path.exists():  # a pipe, a device: a corpus may be read more than once
        raise DataError(f"{text}: not a regular file or folder (a pipe or device); save the texts "
                        "to a file first")  # fmt: skip
    raise DataError(
        f"{text}: no such file or folder",
        hint=Hint(" (to use strings as documents, wrap them: Texts([...]))"),
    )


def _size(path: Path) -> int:
    """`path`'s size on disk, 0 if it cannot be read (its reader says why)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


# what a folder read skips, said where a folder gave no file
HIDDEN_NOTE = "files and folders whose names start with '.' are skipped"


def source_files(source: str | os.PathLike[str]) -> list[Path]:
    """The files `iter_texts` reads for one path, folder or glob (in its order)."""
    return _expand(source)


def _once(files: list[Path]) -> list[Path]:
    """`files` without repeats of a file, first place kept.

    A recursive glob matches a folder and its subfolders and files ("corpus/**" gives
    corpus/, corpus/sub/ and corpus/sub/b.txt), and each folder is read whole: every file
    below the top came two or more times, a silently repeated corpus. A symlink to a file
    is its own entry, as in a folder read.
    """
    seen: set[str] = set()
    out: list[Path] = []
    for path in files:
        key = os.path.normpath(path)
        if key not in seen:
            seen.add(key)
            out.append(path)
    return out


def _folder_files(root: Path) -> list[Path]:
    """Files under `root`, recursively, sorted by relative path; hidden ones skipped."""
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(os.path.join(folder, f) for f in files if not f.startswith("."))
    found.sort(key=lambda f: os.path.relpath(f, root).replace(os.sep, "/"))
    return [Path(f) for f in found]
