"""`vecgraft neighbors`: nearest words by cosine similarity."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from vecgraft._util.console import ljust, printable, width
from vecgraft.cli._options import print_error
from vecgraft.cli._vectors_args import add_load_arguments, load_from_args
from vecgraft.errors import VecgraftError
from vecgraft.vectors import Vectors

DESCRIPTION = "Nearest neighbours of words by cosine similarity."
EPILOG = """examples:
  vecgraft neighbors glove.6B.50d.txt king
  vecgraft neighbors cc.en.300.bin vecgraftish -k 5     # fastText: unseen words work too
  vecgraft neighbors zh-vectors/ 電腦 ＡＰＰ            # missing: 电脑's, APP's, said so

A word the vectors lack is answered by its simplified or half-width form (what build's and
finetune's --simplified and --halfwidth convert) when that is there; other letter case and
close spellings are only suggested. Vectors pretrained with --lower, --simplified or
--halfwidth (metadata.json says lower, simplified or halfwidth: true) are asked for the
word so converted, as their corpus was. A word left unanswered is said on stderr, with
those hints (the others' tables go to stdout), and the exit status is then 1.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """FILE, WORD..., -k and the shared load options."""
    parser.add_argument("file", type=Path, help="vector file or folder")
    parser.add_argument("words", nargs="+", metavar="WORD", help="query word(s)")
    from vecgraft.cli._options import positive_int

    parser.add_argument(
        "-k", type=positive_int, default=10, help="neighbours per word (default 10)"
    )
    add_load_arguments(parser)


def _other_form(vectors: Vectors, word: str) -> tuple[str, str] | None:
    """(what changed, form) of the first half-width or simplified form of `word` in the table.

    Why: Chinese vectors are mostly simplified and half-width, so "電腦" or "ＡＰＰ" typed by
    a user is missing where "电脑" or "APP" is there; the same conversions as `--simplified`
    and `--halfwidth` (no guess, unlike a close spelling) find it.
    """
    from vecgraft.text.zh import other_forms

    return next(((what, form) for what, form in other_forms(word) if form in vectors), None)


def _case_hint(vectors: Vectors, missing: list[str], most: int = 3) -> str:
    """"; found as 'King'" when a missing word is in the vectors with other letter case.

    Lookups are exact (GloVe is lowercase, word2vec and fastText keep case), so `King`
    against GloVe is missing although `king` is there; saying so beats a bare "not in".
    Its half-width and simplified forms are compared too (`ＡＰＰ` is there as `app`).
    """
    from vecgraft.text.zh import other_forms

    # casefolded form -> (rank: fewest changes first, missing word, what else changed)
    wanted: dict[str, tuple[int, str, str]] = {}
    for word in missing:
        for rank, (what, form) in enumerate([("", word), *other_forms(word)]):
            wanted.setdefault(form.casefold(), (rank, word, what))
    found: dict[str, list[str]] = {}
    for w in vectors.words:
        key = w.casefold()
        if key in wanted and len(found.setdefault(key, [])) < most:
            found[key].append(w)
    shown = []
    for word in dict.fromkeys(missing):
        hits = sorted((wanted[key][0], key) for key in found if wanted[key][1] == word)
        if hits:
            key = hits[0][1]
            variants = ", ".join(repr(printable(v)) for v in found[key])
            what = wanted[key][2]
            form = f" in {what} form" if what else ""
            shown.append(f"{printable(word)} is there{form} as {variants}")
    return f" ({'; '.join(shown)}: lookups are case-sensitive)" if shown else ""


def _spelling_hint(vectors: Vectors, missing: list[str], most: int = 3) -> str:
    """" ('kingg': did you mean 'king', 'kings'?)" for missing words the vectors spell close.

    Only words with the same first letter (any case) and a length within two characters are
    compared (difflib over all 400k words of GloVe would take seconds); the file's order
    (most frequent first, in GloVe and word2vec files) breaks ties.
    """
    import difflib

    shown = []
    for word in missing:
        if not word:
            continue
        first, size = word[0].casefold(), len(word)
        pool = [w for w in vectors.words
                if w and abs(len(w) - size) <= 2 and w[0].casefold() == first]  # fmt: skip
        close = difflib.get_close_matches(word, pool, n=most, cutoff=0.75)
        if close:
            names = ", ".join(repr(printable(w)) for w in close)
            shown.append(f"{printable(word)!r}: did you mean {names}?")
    return f" ({'; '.join(shown)})" if shown else ""


def _hint(vectors: Vectors, missing: list[str]) -> str:
    """Say where missing words are: in another letter case, else spelled close."""
    case = _case_hint(vectors, missing)
    return case or _spelling_hint(vectors, missing)


# what a recorded tokenizer setting does to a query, in the Tokenizer's order: (key, said)
_RECORDED = (("halfwidth", "half-width"), ("simplified", "simplified"), ("lower", "lowercased"))


def recorded_normalisation(vectors: Vectors, path: Path | str) -> tuple[str, ...]:
    """The settings of `_RECORDED` the vectors' tokenizer recorded as true, in that order.

    Why: their corpus was read so, so its words are all simplified, half-width or lowercase:
    "電腦" or "Government" is never in them. word2vec's answer was a hint, fastText's a vector
    built from the subwords of a script, width or case no corpus word had.
    """
    from vecgraft.finetune.vectors_record import recorded_tokenizer

    saved = recorded_tokenizer(str(path), vectors.metadata)
    return tuple(key for key, _ in _RECORDED if saved.get(key) is True)


def as_trained(word: str, recorded: tuple[str, ...]) -> tuple[str, str]:
    """(`word` as the vectors' text was normalised, how: "simplified and lowercased"; "" if same).

    `recorded` is `recorded_normalisation`'s; only the steps that change the word are said.
    """
    from vecgraft.errors import MissingExtraError
    from vecgraft.text.zh import halfwidth, to_simplified

    steps = {"halfwidth": halfwidth, "simplified": to_simplified, "lower": str.lower}
    said = []
    for key, what in _RECORDED:
        try:
            form = steps[key](word) if key in recorded else word
        except MissingExtraError:  # no OpenCC here: the simplified form is not tried either
            continue
        if form != word:
            word = form
            said.append(what)
    how = " and ".join([", ".join(said[:-1]), said[-1]] if len(said) > 1 else said)
    return word, how


def run(args: argparse.Namespace) -> int:
    """Print a ranked table per query word."""
    vectors = load_from_args(args, args.file)
    recorded = recorded_normalisation(vectors, args.file)
    # what is looked up for each word: the word as the vectors' text was normalised
    trained = {w: as_trained(w, recorded) for w in args.words}
    asked = {w: form for w, (form, _) in trained.items()}
    how = {w: said for w, (_, said) in trained.items()}
    forms = {w: _other_form(vectors, q) for w, q in asked.items() if q not in vectors}
    missing = [w for w, form in forms.items() if form is None and vectors.get(asked[w]) is None]
    if len(missing) == len(args.words):
        raise VecgraftError(_not_in(vectors, args.file, missing, asked, how))
    answered = [w for w in args.words if w not in missing]
    for n, word in enumerate(answered):  # the others' tables, not an error for one word
        if n:
            print()
        print(_table(vectors, word, (asked[word], how[word]), forms.get(word), args.k))
    sys.stdout.flush()  # the tables, then what was not answered, in a terminal's order
    for word in missing:  # each with its own hints, on stderr as a lone word's error is
        print_error("neighbors", _not_in(vectors, args.file, [word], asked, how))
    return 1 if missing else 0


def _not_in(
    vectors: Vectors, path: Path, missing: list[str], asked: dict[str, str], how: dict[str, str]
) -> str:
    """"'kingg': not in FILE (N words, no subwords) (...did you mean 'king'?)": what was tried.

    Why: a word missing among others was a bare `zzz (not in the vectors)` line on stdout,
    mixed into the results, without the hints a lone missing word's error gives.
    """
    return (
        f"{', '.join(map(repr, missing))}: not in {path} ({len(vectors)} words, "
        f"no subwords){_tried_forms(missing, asked)}{_trained_note(missing, asked, how)}"
        f"{_hint(vectors, [asked[w] for w in missing])}"
    )


def _tried_forms(words: list[str], asked: dict[str, str]) -> str:
    """", nor its half-width form APP": the forms looked up too, for words none answered.

    Why: `ＡＰＰ (not in the vectors)` read as if APP had not been tried, where the README
    promised APP's neighbours; the half-width and simplified forms were looked up too.
    One word's forms are "its"; after an error naming several, each is "ＡＰＰ's".
    """
    from vecgraft.text.zh import other_forms

    said = []
    for word in words:
        forms = [f"{what} form {printable(form)}" for what, form in other_forms(asked[word])]
        if forms:
            whose = "its" if len(words) == 1 else f"{printable(word)}'s"
            listed = ", ".join(forms[:-1]) + (" or " if len(forms) > 1 else "") + forms[-1]
            said.append(f"nor {whose} {listed}")
    return "".join(f", {s}" for s in said)


def _trained_note(words: list[str], asked: dict[str, str], how: dict[str, str]) -> str:
    """"(looked up lowercased, as the vectors were trained: 'government')", if any was.

    `how` says what changed each word (`as_trained`); one note per way, in the words' order.
    """
    ways: dict[str, list[str]] = {}
    for w in words:
        if how[w]:
            ways.setdefault(how[w], []).append(repr(printable(asked[w])))
    if not ways:
        return ""
    said = "; ".join(
        f"looked up {way}, as the vectors were trained: {', '.join(names)}"
        for way, names in ways.items()
    )
    return f" ({said})"


def _table(
    vectors: Vectors,
    word: str,
    trained: tuple[str, str],
    form: tuple[str, str] | None,
    k: int,
) -> str:
    """`word`'s heading and ranked neighbours, the heading saying what answered for it.

    `trained` is (what is looked up, how it differs from `word`): `word` as the vectors'
    text was normalised (`as_trained`). A word missing from the table is answered by its
    subwords (fastText), else by its half-width or simplified `form`.
    """
    (asked, how), said = trained, []
    query = asked
    if how:
        said.append(f"{how}, as the vectors were trained: {printable(asked)}")
    if asked not in vectors and vectors.get(asked) is not None:
        built = "unseen: built from subwords"
        said.append(f"{built}; its {form[0]} form {printable(form[1])} is in the vectors"
                    if form else built)  # fmt: skip
    elif form is not None:
        query = form[1]
        said.append(f"not in the vectors: the neighbours of its {form[0]} form {printable(query)}")
    near = vectors.most_similar(query, k)
    if not near and not np.asarray(vectors[query]).any():
        said.append("a zero vector: no direction, so no neighbours")
    note = f" ({'; '.join(said)})" if said else ""
    lines = [f"{printable(word)}{note}"]
    # one column width for the table, counted in terminal cells (CJK characters are 2)
    shown = [printable(other) for other, _ in near]
    column = max([24, *(width(s) for s in shown)])
    for rank, (other, (_, score)) in enumerate(zip(shown, near), 1):
        lines.append(f"  {rank:>3}  {ljust(other, column)} {score:.4f}")
    return "\n".join(lines)
