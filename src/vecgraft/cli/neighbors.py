"""`vecgraft neighbors`: nearest words by cosine similarity."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from vecgraft._util.console import ljust, printable, width
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
close spellings are only suggested. Vectors pretrained with --lower (metadata.json says
lower: true) are asked for the lowercased word, as their corpus was lowercased. The exit
status is 1 when a word stays unanswered.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """FILE, WORD..., -k and the shared load options."""
    parser.add_argument("file", type=Path, help="vector file or folder")
    parser.add_argument("words", nargs="+", metavar="WORD", help="query word(s)")
    parser.add_argument("-k", type=int, default=10, help="neighbours per word (default 10)")
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


def _lowercased(vectors: Vectors, path: Path) -> bool:
    """Whether the vectors were pretrained on lowercased text (their metadata's `lower`).

    Their words are all lowercase, so "Government" is never in them: word2vec's answer was
    a hint, fastText's a vector built from the subwords of a case no corpus word had.
    """
    from vecgraft.finetune.families import recorded_tokenizer

    return recorded_tokenizer(str(path), vectors.metadata).get("lower") is True


def run(args: argparse.Namespace) -> int:
    """Print a ranked table per query word."""
    if args.k < 1:
        raise VecgraftError(f"-k must be at least 1, got {args.k}")
    vectors = load_from_args(args, args.file)
    lower = _lowercased(vectors, args.file)
    # what is looked up for each word: the word, lowercased for --lower vectors
    asked = {w: w.lower() if lower else w for w in args.words}
    forms = {w: _other_form(vectors, q) for w, q in asked.items() if q not in vectors}
    missing = [w for w, form in forms.items() if form is None and vectors.get(asked[w]) is None]
    if len(missing) == len(args.words):
        raise VecgraftError(
            f"{', '.join(map(repr, missing))}: not in {args.file} ({len(vectors)} words, "
            f"no subwords){_tried_forms(missing, asked)}{_lowered_note(missing, asked)}"
            f"{_hint(vectors, [asked[w] for w in missing])}"
        )
    for n, word in enumerate(args.words):  # the others' tables, not an error for one word
        if n:
            print()
        if word in missing:
            tried = _tried_forms([word], asked, one=True) + _lowered_note([word], asked, ": ")
            print(f"{printable(word)} (not in the vectors{tried}){_hint(vectors, [asked[word]])}")
            continue
        print(_table(vectors, word, asked[word], forms.get(word), args.k))
    return 1 if missing else 0


def _tried_forms(words: list[str], asked: dict[str, str], one: bool = False) -> str:
    """", nor its half-width form APP": the forms looked up too, for words none answered.

    Why: `ＡＰＰ (not in the vectors)` read as if APP had not been tried, where the README
    promised APP's neighbours; the half-width and simplified forms were looked up too.
    `one`: inside a word's own line ("its"), else after the error naming several ("ＡＰＰ's").
    """
    from vecgraft.text.zh import other_forms

    said = []
    for word in words:
        forms = [f"{what} form {printable(form)}" for what, form in other_forms(asked[word])]
        if forms:
            whose = "its" if one or len(words) == 1 else f"{printable(word)}'s"
            listed = ", ".join(forms[:-1]) + (" or " if len(forms) > 1 else "") + forms[-1]
            said.append(f"nor {whose} {listed}")
    return "".join(f", {s}" for s in said)


def _lowered_note(words: list[str], asked: dict[str, str], lead: str = " (") -> str:
    """"(looked up lowercased, as the vectors were trained: 'government')", if any was."""
    lowered = [asked[w] for w in words if asked[w] != w]
    if not lowered:
        return ""
    names = ", ".join(repr(printable(w)) for w in lowered)
    return f"{lead}looked up lowercased, as the vectors were trained: {names}" + (
        ")" if lead == " (" else ""
    )


def _table(
    vectors: Vectors, word: str, asked: str, form: tuple[str, str] | None, k: int
) -> str:
    """`word`'s heading and ranked neighbours, the heading saying what answered for it.

    `asked` is what is looked up: `word`, lowercased for vectors pretrained lowercased. A
    word missing from the table is answered by its subwords (fastText), else by its
    half-width or simplified `form`.
    """
    query, said = asked, []
    if asked != word:
        said.append(f"lowercased, as the vectors were trained: {printable(asked)}")
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
