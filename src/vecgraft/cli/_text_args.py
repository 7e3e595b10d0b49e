"""--encoding, --errors and --bad-rows: how every command that reads text files reads them."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from vecgraft._util.jsonfile import RECORD_LIMIT, read_json_file
from vecgraft._util.policies import BadRowPolicy, UnicodeErrors
from vecgraft.cli._options import enum_type

ENCODING_HELP = "encoding of the text files (e.g. gb18030, latin-1, cp1252)"
ERRORS_HELP = (
    "undecodable bytes in the text files: strict (stop, naming file and line), replace "
    "(U+FFFD) or ignore; repaired lines are counted and reported (NUL bytes apart); a "
    "file whose first bytes name a binary format (a tar, an executable, ...) is refused "
    "under every option"
)
BAD_ROWS_HELP = (
    "unusable rows in the text files (empty text, missing label, broken JSON line, ragged "
    "row, a header row repeated mid-file): skip (drop, reporting each line) or error (stop "
    "at the first)"
)
# --user-dict, the same words in every command that segments Chinese with jieba
USER_DICT_HELP = (
    "jieba user dictionary (one word per line, optionally its frequency and POS tag), for "
    "words jieba would cut up"
)
# what finetune, compare, tune and build add: it says jieba; the vectors' own is the default
USER_DICT_RUN_NOTE = (
    " (a jieba dictionary: without --tokenizer, and none in the vectors' metadata, it means "
    "jieba); default: the one the vectors were pretrained with, if any"
)


def add_tokenizer_argument(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, *, help: str
) -> argparse.Action:
    """--tokenizer, each kind of a repeated flag kept (a list; None when not given).

    argparse's "store" kept the last of `--tokenizer jieba --tokenizer char` without a
    word. A command pools the kinds where it can (model hf's graft words) or takes one
    with `single_tokenizer`, which refuses several.
    """
    from vecgraft.cli._options import enum_choices
    from vecgraft.text.tokenize import TokenizerKind

    return parser.add_argument(
        "--tokenizer", choices=enum_choices(TokenizerKind), action="append", help=help
    )


def single_tokenizer(args: argparse.Namespace, for_what: str, why: str) -> str | None:
    """The one kind `--tokenizer` gave (None: not given); several are refused.

    The error reads as finetune's (`several_tokenizers`): "--tokenizer takes one kind for
    `for_what`; several (jieba, char) `why`"; a command with --zh-mode adds how to have
    jieba's words and their characters both.
    """
    from vecgraft.errors import Opt
    from vecgraft.finetune.config import one_tokenizer, tokenizer_kinds

    kinds = tokenizer_kinds(args.tokenizer)
    parts: tuple[Opt, ...] = ()
    if isinstance(kinds, list) and {"jieba", "char"} <= set(kinds) and hasattr(args, "zh_mode"):
        why += " (jieba's words and their characters both: {} {})"
        parts = (Opt("tokenizer", "'jieba'", "jieba"), Opt("zh_mode", "'word+char'", "word+char"))
    return one_tokenizer(args.tokenizer, for_what, why, *parts)


def add_text_arguments(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, *, bad_rows: bool = True
) -> None:
    """Add the reading flags (`--bad-rows` only where the command reads tables)."""
    parser.add_argument(
        "--encoding", default="utf-8", metavar="NAME", help=f"{ENCODING_HELP} (default utf-8)"
    )
    parser.add_argument(
        "--errors",
        default="strict",
        choices=[e.value for e in UnicodeErrors],
        help=f"{ERRORS_HELP} (default strict)",
    )
    if bad_rows:
        parser.add_argument(
            "--bad-rows",
            default="skip",
            choices=[p.value for p in BadRowPolicy],
            type=enum_type(BadRowPolicy),  # "report", skip's old spelling, still parses
            help=f"{BAD_ROWS_HELP} (default skip)",
        )


def add_normalization_arguments(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
) -> None:
    """--nfkc, --halfwidth, --simplified and --digits: the Tokenizer's text normalisation."""
    from vecgraft.cli._options import add_enum_argument
    from vecgraft.text.normalize import Digits

    parser.add_argument("--nfkc", action="store_true", help="Unicode NFKC normalisation")
    parser.add_argument(
        "--halfwidth", action="store_true", help="full-width ASCII (ＡＢＣ１２３) to ASCII"
    )
    parser.add_argument(
        "--simplified",
        action="store_true",
        help="traditional Chinese to simplified (OpenCC t2s): vectors for simplified text "
        "and the CA8 analogies",
    )
    add_enum_argument(parser, "--digits", enum=Digits, help="replace every digit by this")


def add_user_dict_argument(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, *, note: str = ""
) -> None:
    """--user-dict FILE (default None), its help `USER_DICT_HELP` plus the command's `note`."""
    parser.add_argument("--user-dict", metavar="FILE", help=USER_DICT_HELP + note)


def normalization_options(args: argparse.Namespace) -> dict[str, Any]:
    """The normalisation flags as keyword arguments of `Tokenizer`."""
    return {
        "nfkc": args.nfkc,
        "halfwidth": args.halfwidth,
        "simplified": args.simplified,
        "digits": args.digits,
    }


def text_options(args: argparse.Namespace) -> dict[str, Any]:
    """The reading flags as keyword arguments of `iter_texts` / `read_labelled`."""
    out: dict[str, Any] = {"encoding": args.encoding, "errors": args.errors}
    if hasattr(args, "bad_rows"):
        out["bad_rows"] = args.bad_rows
    return out


def note_read(report: Any) -> None:
    """Say on stderr which rows were dropped or repaired (silent when none were)."""
    if report is None:
        return
    if isinstance(report, dict):
        from vecgraft.text.reader import ReadReport

        report = ReadReport.from_dict(report)
    if not report.noteworthy:
        return
    print(f"note: {report.format()}", file=sys.stderr)


def run_columns(args: argparse.Namespace) -> tuple[str, str]:
    """The flags' columns, else those the run was trained on (its config.json), else defaults.

    A run trained with `--text-column sentence` reads files shaped like its own; a command
    without a `--label-column` flag (predict) gets the run's or the default label column.
    """
    from pathlib import Path

    from vecgraft.finetune.config import FinetuneConfig

    try:
        saved = read_json_file(Path(args.run_dir) / "config.json", limit=RECORD_LIMIT)
    except (OSError, ValueError):
        saved = {}
    saved = saved if isinstance(saved, dict) else {}

    def pick(role: str) -> str:
        given = getattr(args, f"{role}_column", None)
        name = f"{role}_column"
        default = getattr(FinetuneConfig, name)
        return str(given if given is not None else saved.get(name) or default)

    return pick("text"), pick("label")
