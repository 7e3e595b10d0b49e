"""Options shared by the subcommands that read a vector file (info, convert, build, ...)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vecgraft._util.jsonfile import VOCAB_LIMIT, JsonFileError, read_text_file
from vecgraft._util.options import parse_size as bytes_of
from vecgraft.errors import ConfigError, UntrustedFileError, VocabError
from vecgraft.vectors import Vectors


def parse_size(text: str) -> int:
    """Bytes from `123`, `64K`, `500M`, `4G` (`vecgraft.load` reads the same strings)."""
    try:
        return bytes_of(text)
    except ValueError as exc:  # argparse shows an ArgumentTypeError's own words
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    """The "reading the vector file" flags: --format, --limit, --trust, --max-memory, ..."""
    from vecgraft._util.policies import UnicodeErrors
    from vecgraft.cli._options import add_enum_argument, param_default
    from vecgraft.io import FORMATS, load

    group = parser.add_argument_group("reading the vector file")
    group.add_argument(
        "--format",
        choices=list(FORMATS),
        metavar="FORMAT",
        help=f"skip detection, read as this format: {', '.join(FORMATS)}",
    )
    group.add_argument("--limit", type=int, help="read only the first N rows")
    group.add_argument(
        "--trust", action="store_true", help="allow gensim pickles (they can run code)"
    )
    group.add_argument(
        "--no-cache", action="store_true", help="do not read or write the load cache"
    )
    group.add_argument(
        "--cache-dir", type=Path, help="cache folder (default $XDG_CACHE_HOME/vecgraft)"
    )
    add_enum_argument(
        group,
        "--unicode-errors",
        enum=UnicodeErrors,
        default=param_default(load, "unicode_errors"),
        help="what to do with words that are not valid UTF-8",
    )
    add_vectors_encoding_argument(group, default=param_default(load, "encoding"))
    group.add_argument(
        "--skip-bad-rows", action="store_true", help="drop bad rows instead of failing"
    )
    group.add_argument("--allow-nonfinite", action="store_true", help="keep rows holding NaN/Inf")
    group.add_argument(
        "--max-line-bytes", type=parse_size, metavar="SIZE",
        help="longest text line accepted (default: 64K + 32 bytes per value)",
    )  # fmt: skip
    group.add_argument(
        "--max-memory", type=parse_size, metavar="SIZE",
        help="memory the rows may take, e.g. 8G (default: what is free; 0: no check)",
    )  # fmt: skip


def add_vectors_encoding_argument(
    group: Any, default: str | None = None, help: str | None = None
) -> None:
    """`--vectors-encoding`, alone for a command without the other reading flags (intrinsic).

    Not --encoding: build, pretrain, finetune and tune have it for their text files.
    `default` None: not given, `vecgraft.load`'s own default applies. `help`: the command's
    own words (compare: which of its sources it applies to).
    """
    group.add_argument(
        "--vectors-encoding",
        metavar="NAME",
        default=default,
        help=help or "how a fastText .bin stores its words (e.g. cp852), as gensim's "
        "load_facebook_vectors(encoding=) reads them; other formats read UTF-8 only and "
        "refuse another (convert a text file with iconv)",
    )


def load_from_args(
    args: argparse.Namespace,
    path: Path | str,
    vocab: list[str] | None = None,
    limit: int | None = None,
) -> Vectors:
    """`vecgraft.load` with the options parsed by `add_load_arguments`.

    `limit` reads at most that many rows (and never more than `--limit`). Errors that name a
    library keyword are retold with the flag the user types.
    """
    from vecgraft.io import load

    options = load_options(args, limit)
    with trust_flag_errors():
        result: Vectors = load(path, vocab=vocab, **options)
    return result


# the reading flags that change which rows a file gives (not how it is cached or trusted):
# a run records those it was given, so that `--resume` reads its vectors the same way
CONTENT_FLAGS = ("format", "limit", "unicode_errors", "vectors_encoding", "skip_bad_rows",
                 "allow_nonfinite", "max_line_bytes")  # fmt: skip


def content_flags(args: argparse.Namespace, parser_defaults: dict[str, Any]) -> dict[str, Any]:
    """The `CONTENT_FLAGS` given with values other than their defaults (args attribute names)."""
    return {
        name: getattr(args, name)
        for name in CONTENT_FLAGS
        if getattr(args, name, None) != parser_defaults.get(name)
    }


def load_options(args: argparse.Namespace, limit: int | None = None) -> dict[str, Any]:
    """The `vecgraft.load` keywords that the `add_load_arguments` flags ask for.

    One place for the mapping, so a command that hands them on (`export`'s `read_source`)
    cannot drop one (`--max-memory`, `--max-line-bytes`) and silently read with defaults.
    """
    if args.max_line_bytes is not None and args.max_line_bytes < 1:
        raise ConfigError("--max-line-bytes must be at least 1")
    check_codec(args.vectors_encoding)
    limits = [n for n in (args.limit, limit) if n is not None]
    return {
        "format": args.format,
        "limit": min(limits) if limits else None,
        "cache": not args.no_cache,
        "cache_dir": args.cache_dir,
        "unicode_errors": args.unicode_errors,
        "encoding": args.vectors_encoding,
        "bad_rows": "skip" if args.skip_bad_rows else "error",
        "allow_nonfinite": args.allow_nonfinite,
        "trust": args.trust,
        "max_line_bytes": args.max_line_bytes,
        "max_memory": args.max_memory,
        # a command's --no-progress quiets the load too (a big file in a pipe writes lines)
        "progress": False if getattr(args, "progress", None) is False else None,
    }


def check_codec(name: str) -> None:
    """Refuse a --vectors-encoding Python has no text codec for, naming the flag.

    `vecgraft.load` says "encoding must be ..."; build and finetune have an --encoding of
    their own, for the text files, which that would name.
    """
    from vecgraft._util.policies import text_codec

    try:
        text_codec(name)
    except LookupError:
        raise ConfigError(
            f"--vectors-encoding {name}: not a text encoding Python knows (e.g. utf-8, "
            "cp852, latin-1, gb18030)"
        ) from None


@contextmanager
def trust_flag_errors() -> Iterator[None]:
    """Retell an `UntrustedFileError` with the flag the user types (`--trust`)."""
    try:
        yield
    except UntrustedFileError as exc:
        msg = exc.cli_message
        raise UntrustedFileError(msg, cli_message=msg, path=exc.path) from None


def codec_name(name: str) -> str:
    """`name` as Python's codec registry spells it ("utf8", "UTF-8": "utf-8"); unknown: as is.

    Why: a flag's value compared as typed took `--vectors-encoding utf8` for another
    encoding than the default `utf-8`.
    """
    from vecgraft._util.policies import text_codec

    try:
        return text_codec(name)
    except LookupError:
        return name


def read_word_list(path: Path) -> tuple[list[str], dict[str, int]]:
    """Words (and counts, when known) from a vocabulary file.

    Read: a vecgraft vocab.json; a Hugging Face vocab.json (`{token: id}`, in id order); one
    word per line; or `word count` per line (GloVe's vocab_count, word2vec's -save-vocab).
    Each line is read on its own, so one line without a count no longer turns every
    `word count` line into a literal word with a space (those words silently went missing);
    counts are kept when every word has one. Special tokens of a vocab.json (<pad>, <unk>)
    are left out: no vector file has them. A folder is read through its vocab.json: a
    `build` or `pretrain` output's own, or a fine-tuning run's `best/vocab.json`.
    """
    if path.is_dir():
        path = _folder_vocab(path)
    try:
        if not path.is_file() and path.exists():
            raise VocabError(f"{path}: not a regular file (a pipe or device); save it to a file")
        text = read_text_file(path, limit=VOCAB_LIMIT)  # /dev/zero behind a link: refused
    except JsonFileError as exc:
        raise VocabError(f"{path}: cannot read vocabulary file: it {exc}") from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise VocabError(
            f"{path}:{line}: cannot read vocabulary file: not UTF-8 ({exc.reason})"
        ) from None
    except OSError as exc:
        raise VocabError(f"{path}: cannot read vocabulary file ({exc})") from exc
    text = text.removeprefix("\ufeff")  # a BOM would glue to the first word
    if path.suffix == ".json":
        return _json_words(path, text)
    return _listed_words(path, text)


def _folder_vocab(folder: Path) -> Path:
    """The vocab.json of a `build`/`pretrain` output folder, or of a run folder's best/."""
    for candidate in (folder / "vocab.json", folder / "best" / "vocab.json"):
        if candidate.is_file():
            return candidate
    raise VocabError(
        f"{folder}: a folder without vocab.json or best/vocab.json (what `build`, `pretrain` "
        "and `finetune` write); pass a vocab.json or a file of one word or 'word count' per line"
    )


def _listed_words(path: Path, text: str) -> tuple[list[str], dict[str, int]]:
    """Words (first occurrence) and counts of a `word` / `word count` per line file."""
    words: dict[str, None] = {}
    counts: dict[str, int] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts.setdefault(parts[0], int(parts[1]))
        elif len(parts) > 1:
            raise VocabError(
                f"{path}:{lineno}: expected one word, or a word and a whole-number count; "
                f"found {line.strip()[:80]!r}"
            )
        if parts:
            words.setdefault(parts[0], None)
    return list(words), counts if len(counts) == len(words) else {}


def _json_words(path: Path, text: str) -> tuple[list[str], dict[str, int]]:
    """A vecgraft vocab.json's words and counts, or a Hugging Face `{token: id}`'s tokens."""
    from vecgraft.text.vocab import Vocab

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise VocabError(f"{path}: not valid JSON ({exc})") from exc
    except RecursionError:
        raise VocabError(f"{path}: not a vocabulary: nested too deeply to parse") from None
    if isinstance(data, dict) and "tokens" not in data and data and all(
        isinstance(v, int) for v in data.values()
    ):  # a tokenizer's vocab.json: tokens by id
        return sorted(data, key=data.__getitem__), {}
    vocab = Vocab.from_dict(data, source=str(path))
    specials = set(vocab.specials)
    words = [t for t in vocab.tokens if t not in specials]
    return words, {w: vocab.count(w) for w in words}
