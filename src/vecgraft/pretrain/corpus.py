"""A corpus as a re-iterable stream of token lists (gensim makes several passes over it).

The text comes from `vecgraft.text.iter_texts` and the tokens from a `vecgraft.text.Tokenizer`,
so pretraining sees exactly the tokens fine-tuning will see. Nothing is held in memory: each
pass re-reads the files.
"""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
import time
import weakref
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vecgraft._util.atomic import owned_temp_dir
from vecgraft.errors import DataError


@dataclass
class PassStats:
    """What the last complete pass over the corpus saw."""

    documents: int = 0
    tokens: int = 0
    unicode_replacements: int = 0
    files: int = 0
    read: dict[str, Any] = field(default_factory=dict)  # the text reader's report


def make_tokenizer(spec: Any) -> Any:
    """A Tokenizer from None (default), a Tokenizer, or its `config` dict."""
    from vecgraft.text import Tokenizer

    if spec is None:
        return Tokenizer()
    if isinstance(spec, Tokenizer):
        return spec
    if isinstance(spec, Mapping):
        return Tokenizer.from_config(spec)
    raise DataError(f"tokenizer must be a Tokenizer or its config dict, got {type(spec).__name__}")


_SEP = "\x1f"  # ASCII unit separator: joins tokens in the token cache

# gensim's MAX_WORDS_IN_BATCH: word2vec and fastText train on the first 10,000 kept words of
# a sentence and silently drop the rest, so a longer document is passed in pieces this long
GENSIM_MAX_SENTENCE = 10_000


class Corpus:
    """Token lists of a corpus, one per document; iterable any number of times.

    Args:
        sources: paths, folders or globs (compressed files, CSV/TSV/JSONL `column` included).
        tokenizer: a `vecgraft.text.Tokenizer` (or its config dict; None for the default).
        one_per: "line" or "file".
        column: text column of tabular files.
        max_sentence_length: split longer documents into pieces of this many tokens (gensim
            silently truncates sentences beyond 10,000 tokens; splitting keeps all of them).
        unicode_errors: old name of `errors`.
        encoding: the files' encoding (default UTF-8).
        errors: undecodable bytes: "strict" (default: a DataError naming file and line),
            "replace" (U+FFFD) or "ignore"; repaired lines are counted in `stats.read`.
        bad_rows: "skip" (default) drops unusable table rows, each recorded with its line
            in `stats.read`; "error" stops at the first.
        cache_tokens: write the tokens of the first complete pass to a temporary file and
            replay it on later passes, so slow tokenizers (jieba) run once, not once per epoch.
            Costs about the corpus size in disk space; `close()` deletes it, and one a
            killed process left is removed by the next (`owned_temp_dir`).
        tmp_dir: where the token cache goes (the system's temporary folder by default).
        progress: progress of the first pass, the one that reads and tokenizes the files
            (the bytes read of their size on disk, compressed bytes for compressed files):
            False (default) none; True/None as `Progress`'s `enabled` (None: a bar on a
            terminal, a line every `READ_LINE_SECONDS` otherwise). Later passes replay
            the token cache and show none; the epochs have their own.

    Example:
        >>> from vecgraft.text import Texts
        >>> list(Corpus(Texts(["a b", "", "c"])))
        [['a', 'b'], ['c']]
    """

    def __init__(
        self,
        sources: Any,
        tokenizer: Any = None,
        *,
        one_per: str = "line",
        column: str = "text",
        max_sentence_length: int | None = GENSIM_MAX_SENTENCE,
        unicode_errors: str | None = None,
        encoding: str = "utf-8",
        errors: str | None = None,
        bad_rows: str = "skip",
        cache_tokens: bool = False,
        tmp_dir: str | os.PathLike[str] | None = None,
        progress: bool | None = False,
    ) -> None:
        self.sources = sources
        self.tokenizer = make_tokenizer(tokenizer)
        self.one_per = one_per
        self.column = column
        self.max_sentence_length = max_sentence_length
        self.unicode_errors = errors or unicode_errors or "strict"
        self.encoding = encoding
        self.bad_rows = bad_rows
        self.stats = PassStats()
        self.passes = 0
        self.cache_tokens = cache_tokens
        self._tmp_root = tmp_dir
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._cache: Path | None = None
        self.progress = progress
        self._passing: weakref.WeakSet[Generator[list[str], None, None]] = weakref.WeakSet()

    def __iter__(self) -> Iterator[list[str]]:
        if self._cache is not None:
            return self._replay(self._cache)
        passing = self._tokenize()
        self._passing.add(passing)
        return passing

    def close(self) -> None:
        """End a pass left halfway, then delete the token cache (later passes tokenize again).

        A pass stopped by Ctrl-C in its reader (gensim's `build_vocab`) stays suspended
        until garbage collection, its progress bar with it: the bar came back below the
        command's "interrupted" line. Closing it here ends the bar first.
        """
        for passing in list(self._passing):
            with contextlib.suppress(ValueError):  # running in another thread: it ends there
                passing.close()
        self._cache = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def _replay(self, path: Path) -> Iterator[list[str]]:
        # newline="\n": lines end at "\n" alone; universal newlines also split at a "\r"
        # inside a token (a custom pattern keeps one), so replays differed from pass one
        with open(path, encoding="utf-8", newline="\n") as fh:
            for line in fh:
                yield line[:-1].split(_SEP)
        self.passes += 1

    def _open_cache(self) -> tuple[Path, Any] | None:
        if not self.cache_tokens:
            return None
        if self._tmp is None:
            self._tmp = owned_temp_dir("tokens", self._tmp_root)
        path = Path(self._tmp.name) / "tokens.txt"
        return path, open(path, "w", encoding="utf-8", newline="\n")

    def _tokenize(self) -> Generator[list[str], None, None]:
        opened = self._open_cache()
        writer = None if opened is None else opened[1]
        try:
            for piece in self._pieces():
                if writer is not None:
                    line = _SEP.join(piece)
                    if "\n" in line or line.count(_SEP) != len(piece) - 1:
                        # a token holds the separator: this corpus cannot be cached losslessly
                        writer.close()
                        writer = None
                        self.cache_tokens = False
                    else:
                        writer.write(line + "\n")
                yield piece
            if writer is not None and opened is not None:
                writer.close()
                self._cache = opened[0]
        finally:
            if writer is not None:
                writer.close()

    def _pieces(self) -> Iterator[list[str]]:
        from vecgraft.text import iter_texts

        stream = iter_texts(
            self.sources,
            column=self.column,
            one_per=self.one_per,
            encoding=self.encoding,
            errors=self.unicode_errors,
            bad_rows=self.bad_rows,
        )
        stats = PassStats()
        limit = self.max_sentence_length
        with self._reading(stream) as tick:
            for tokens in self.tokenizer.tokenize_many(stream):
                tick()
                if not tokens:
                    continue
                stats.documents += 1
                stats.tokens += len(tokens)
                if limit is None or len(tokens) <= limit:
                    yield tokens
                else:
                    for start in range(0, len(tokens), limit):
                        yield tokens[start : start + limit]
        stats.files = stream.stats.files
        stats.unicode_replacements = stream.stats.unicode_replacements
        stats.read = stream.stats.to_dict()
        self.stats = stats
        self.passes += 1


    @contextlib.contextmanager
    def _reading(self, stream: Any) -> Iterator[Callable[[], None]]:
        """A `tick()` to call per document that shows the bytes read of the first pass.

        The first pass reads and tokenizes the whole corpus before any epoch starts: about
        a second per MB with the default tokenizer (jieba is slower), which was silent.
        """
        if self.progress is False or self.passes > 0:
            yield lambda: None
            return
        from vecgraft._util.console import Progress

        total = stream.total_bytes()
        if total is None:  # strings (`Texts`), no files: nothing to count the bytes of
            yield lambda: None
            return
        with Progress(
            total, "reading corpus", enabled=self.progress, interval=READ_LINE_SECONDS,
            in_bytes=True,
        ) as bar:  # fmt: skip
            shown = 0
            due = time.perf_counter()

            def tick() -> None:
                nonlocal shown, due
                now = time.perf_counter()
                if now < due:  # the position is read 10 times a second, not per document
                    return
                due = now + 0.1
                read = stream.bytes_read()
                bar.update(read - shown)
                shown = read

            yield tick
            read = stream.bytes_read()  # the pass ended: every file was read to its end
            bar.update(read - shown)


# a plain progress line (stderr not a terminal) of the first pass at most this often: a
# log file of a GB corpus then gets a line every half minute of reading, not one per document
READ_LINE_SECONDS = 30.0


def describe_sources(sources: Sequence[Any]) -> list[dict[str, Any]]:
    """Each corpus argument with its files' count and total size in bytes (for metadata).

    In-memory texts (`Texts`, taken as a corpus) have no path: `Path(texts)` raised a
    TypeError once training had ended, so the vectors were never written.
    """
    out: list[dict[str, Any]] = []
    for src in sources:
        if not isinstance(src, (str, os.PathLike)):
            out.append({"path": None, "texts": type(src).__name__, "files": 0, "bytes": 0})
            continue
        path = Path(src)
        if path.is_dir():
            files = [p for p in path.rglob("*") if p.is_file()]
        elif path.exists():
            files = [path]
        else:
            files = [
                Path(p) for p in glob.glob(os.fspath(src), recursive=True) if Path(p).is_file()
            ]
        out.append(
            {
                "path": os.fspath(src),
                "files": len(files),
                "bytes": sum(p.stat().st_size for p in files),
            }
        )
    return out


def _where(sources: Sequence[Any]) -> str:
    """The corpus arguments as an error message names them."""
    return ", ".join(
        os.fspath(s) if isinstance(s, (str, os.PathLike)) else "texts" for s in sources
    )


def _files(source: Any) -> bool:
    """Whether a corpus argument names any file to read (strings, `Texts`, count as one)."""
    from vecgraft.text.corpus import source_files

    if not isinstance(source, (str, os.PathLike)):
        return True
    try:
        return bool(source_files(source))
    except DataError:  # gone since it was read: not this error's business
        return True


def no_pairs_error(sources: Sequence[Any], window: int, words: int, tokens: int) -> DataError:
    """GloVe's error for a corpus whose in-vocabulary words never share a document window."""
    return DataError(
        f"{_where(sources)}: its {words} vocabulary words never occur within "
        f"window={window} of one another in a document ({tokens} tokens), so GloVe has "
        "no co-occurrences to train on; add text (a document per line: --one-per file "
        "joins a file's lines) or lower --min-count"
    )


def empty_corpus_error(
    sources: Sequence[Any], min_count: int, tokens: int, stopwords: bool = False
) -> DataError:
    """The error for a corpus that leaves nothing to train on, naming the corpus.

    `stopwords`: the tokenizer drops a stopword list, which may be what removed every token
    (a corpus of stopwords, or the wrong list for the language).
    """
    where = _where(sources)
    if tokens == 0 and not any(_files(s) for s in sources):  # folders without a file
        from vecgraft.text.corpus import HIDDEN_NOTE

        return DataError(f"no files in {where}, so the corpus has no tokens ({HIDDEN_NOTE})")
    if tokens == 0:
        why = "empty files or only blank lines"
        if stopwords:
            why += ", or every token is in the --stopwords list"
        return DataError(f"{where}: the corpus has no tokens ({why})")
    return DataError(
        f"{where}: no word occurs at least min_count={min_count} times in {tokens} tokens; "
        "lower --min-count or add text"
    )
