"""`vecgraft intrinsic`: word-similarity and analogy scores of a vector file."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

from vecgraft._util.atomic import atomic_write_json
from vecgraft.cli._options import output_path, positive_int

if TYPE_CHECKING:
    from vecgraft.evaluate._intrinsic_similarity import UnscorablePairsError
    from vecgraft.evaluate.intrinsic import AnalogyResult, SimilarityResult
    from vecgraft.vectors import Vectors

DESCRIPTION = """Score word vectors on human similarity ratings (Pearson/Spearman) and on
analogy questions (3CosAdd/3CosMul), with gensim's conventions. With no dataset flags it runs
WordSim353, SimLex-999 and Google's analogies (from gensim's installed test data); with
--lang zh the Chinese CA8 analogy sets (morphological and semantic, shipped with vecgraft),
scored with the CA8 authors' convention unless --convention gensim. --neighbors or --map
alone only look at the space (the built-in sets take minutes): add --similarity/--analogies
to score sets as well. A similarity set of which the vectors hold fewer than two pairs is
reported as not scored (in --json: "unscored") and the other sets still run; when no set can
be scored that is an error."""

EPILOG = """examples:
  vecgraft intrinsic glove.6B.50d.txt
  vecgraft intrinsic vectors/ --similarity wordsim353 --similarity my_pairs.tsv --json scores.json
  vecgraft intrinsic glove.txt --analogies google --method 3cosmul --restrict-vocab 100000
  vecgraft intrinsic glove.txt --neighbors king --map map.png --map-words king queen man woman
  vecgraft intrinsic zh-vectors/ --lang zh
  vecgraft intrinsic zh-vectors/ --analogies ca8-semantic --convention gensim --method 3cosmul
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of `vecgraft intrinsic`."""
    p.add_argument("vectors", help="a vector file or folder that vecgraft.load reads")
    _add_dataset_arguments(p)
    _add_scoring_arguments(p)
    _add_explore_arguments(p)
    p.add_argument(
        "--json",
        metavar="OUT",
        help="also write the scores as JSON ('-': on standard output, the table then on "
        "stderr; oov_ratio: percent of the set left out, as "
        "gensim's: 0.1 is 1 in 1,000)",
    )
    from vecgraft.cli._options import add_no_progress_argument
    from vecgraft.cli._vectors_args import add_vectors_encoding_argument

    add_no_progress_argument(p)
    add_vectors_encoding_argument(p)


def _add_dataset_arguments(p: argparse.ArgumentParser) -> None:
    """Which evaluation sets run: explicit files, or the built-in ones of a language."""
    from vecgraft.evaluate.datasets import ANALOGY_SETS

    p.add_argument(
        "--similarity",
        action="append",
        metavar="FILE",
        help="word1<TAB>word2<TAB>score file (see --delimiter), or wordsim353 / simlex999 "
        "(repeatable)",
    )
    p.add_argument(
        "--delimiter",
        type=_delimiter,
        default="tab",
        metavar="SEP",
        help="field separator of --similarity files: a character, 'tab', 'space' or 'any' "
        "for any whitespace; gensim's is a tab (default: tab)",
    )
    p.add_argument(
        "--analogies",
        action="append",
        metavar="FILE",
        help="questions-words.txt format, or google / ca8-morphological / ca8-semantic "
        "(repeatable)",
    )
    p.add_argument(
        "--lang",
        choices=list(ANALOGY_SETS),
        default=None,
        help="built-in sets when no dataset flag is given: en = WordSim353, SimLex-999, "
        "Google; zh = CA8 morphological + semantic (default: the vectors' language)",
    )


def _delimiter(text: str) -> str | None:
    """`--delimiter`: 'any' is None (split on any whitespace), 'tab' a tab, else as typed."""
    return {"any": None, "tab": "\t", "space": " "}.get(text, text)


def _add_scoring_arguments(p: argparse.ArgumentParser) -> None:
    """How pairs and questions are scored (gensim's or the CA8 authors' conventions)."""
    from vecgraft.cli._options import add_enum_argument, param_default

    # not from `intrinsic` (it imports torch: a second per --help); `analogies`' defaults are
    # `word_similarity`'s restrict_vocab and 3CosAdd, which a test pins
    from vecgraft.evaluate._intrinsic_results import AnalogyMethod, Convention
    from vecgraft.evaluate._intrinsic_similarity import word_similarity

    add_enum_argument(
        p,
        "--convention",
        enum=Convention,
        default=None,
        help="analogy scoring rules; default by dataset: ca8 for the CA8 sets, gensim otherwise",
    )
    add_enum_argument(
        p,
        "--method",
        enum=AnalogyMethod,
        default=AnalogyMethod.COSADD.value,
        help="analogy scoring (gensim's most_similar / most_similar_cosmul)",
    )
    p.add_argument(
        # a negative value sliced the vocabulary from the end: refused while parsing
        "--restrict-vocab",
        type=positive_int,
        metavar="N",
        default=None,
        help=f"only the first N rows take part, for similarity and analogies (default: "
        f"{param_default(word_similarity, 'restrict_vocab'):,} as gensim; all rows for the ca8 "
        "convention, as the CA8 script)",
    )
    p.add_argument(
        "--case-sensitive",
        action="store_true",
        help="do not upper-case words (the ca8 convention never does)",
    )
    p.add_argument(
        "--dummy4unknown",
        action="store_true",
        help="score OOV pairs as 0 / OOV questions as wrong instead of skipping",
    )


def _add_explore_arguments(p: argparse.ArgumentParser) -> None:
    """Looking at the space by eye: nearest neighbours and a 2-D word map."""
    from vecgraft.cli._options import add_enum_argument, param_default
    from vecgraft.evaluate.wordmap import MapMethod, plot_word_map

    p.add_argument("--neighbors", nargs="+", metavar="WORD", help="print nearest neighbours")
    # -k 0 printed every word as "(not in the vectors)": refused while parsing, before a
    # large file's load
    p.add_argument("-k", type=positive_int, default=10, help="neighbours per word")
    p.add_argument(
        "--map", metavar="PNG", type=output_path("intrinsic", "a PNG file"),
        help="write a 2-D map of --map-words",
    )
    p.add_argument(
        "--map-words",
        nargs="+",
        metavar="WORD",
        help="words to map (default: the --neighbors words)",
    )
    add_enum_argument(
        p,
        "--map-method",
        enum=MapMethod,
        default=param_default(plot_word_map, "method"),
        help="2-D projection of the map",
    )


def _scores(
    args: argparse.Namespace, vectors: Vectors
) -> tuple[list[SimilarityResult], list[AnalogyResult], list[UnscorablePairsError]]:
    """Run the chosen similarity and analogy sets (the language's built-ins by default).

    Built-in sets run only when no dataset, --neighbors or --map flag asks for something else.
    A similarity set the vectors hold fewer than two pairs of is returned as unscored (the
    third list) and the others still run; when no other set scores anything (no analogy
    question either) that is an error naming each (`_nothing_scored`).
    """
    from vecgraft.evaluate._intrinsic_similarity import UnscorablePairsError
    from vecgraft.evaluate.datasets import SIMILARITY_SETS
    from vecgraft.evaluate.intrinsic import GENSIM_RESTRICT_VOCAB, analogies, word_similarity

    explicit = args.similarity or args.analogies or args.neighbors or args.map
    builtin = list(SIMILARITY_SETS.get(args.lang, ())) if args.lang else []
    sim_sets = args.similarity or ([] if explicit else builtin)
    ana_sets = _analogy_sets(args)
    case_insensitive = not args.case_sensitive
    sims, unscored = [], []
    for name in sim_sets:
        try:
            sims.append(
                word_similarity(
                    vectors,
                    name,
                    case_insensitive=case_insensitive,
                    dummy4unknown=args.dummy4unknown,
                    restrict_vocab=args.restrict_vocab or GENSIM_RESTRICT_VOCAB,
                    delimiter=args.delimiter,
                )
            )
        except UnscorablePairsError as exc:  # the English sets on Chinese vectors
            unscored.append(exc)
    if unscored and not sims and not ana_sets:
        raise _nothing_scored(unscored, [], vectors)
    anas = [
        analogies(
            vectors,
            name,
            restrict_vocab=args.restrict_vocab or "auto",  # all rows under CA8's rules
            # None: upper-case under gensim's rules, as written under CA8's
            case_insensitive=False if args.case_sensitive else None,
            method=args.method,
            convention=args.convention,
            dummy4unknown=args.dummy4unknown,
            progress=args.progress is not False,  # a line every 30 s: 300-d vectors take minutes
        )
        for name in ana_sets
    ]
    if unscored and not sims and all(a.total == 0 for a in anas):  # --lang en on Chinese
        raise _nothing_scored(unscored, anas, vectors)
    return sims, anas, unscored


def _nothing_scored(
    unscored: list[UnscorablePairsError], anas: list[AnalogyResult], vectors: Vectors
) -> Exception:
    """The error when no similarity set can be scored and no analogy question either.

    Each set is named: the run exited 0 with only notes when analogy sets ran but covered
    none of their questions (`--lang en` on Chinese vectors).
    """
    from vecgraft.errors import DataError

    said = [str(e) for e in unscored] + [
        f"{a.dataset}: none of its {a.questions} questions can be scored" for a in anas
    ]
    message = said[0] if len(said) == 1 else "no set can be scored: " + "; ".join(said)
    hint = _language_hint(vectors, [e.path for e in unscored] + [a.dataset for a in anas])
    return DataError(message + (f"; {hint}" if hint else ""))


def _language_hint(vectors: Vectors, datasets: list[str]) -> str | None:
    """Which --lang suits vectors that the sets in `datasets` found (almost) nothing in.

    English sets say nothing about Chinese vectors; the Chinese ones are CA8's.
    """
    from vecgraft.evaluate._compare_sources import vectors_language

    if not datasets or any("ca8" in os.path.basename(d).lower() for d in datasets):
        return None
    if vectors_language(vectors.words) != "zh":
        return None
    return "these vectors look Chinese: --lang zh scores them on the Chinese CA8 analogy sets"


def _analogy_sets(args: argparse.Namespace) -> list[str]:
    """The analogy sets a run scores: --analogies, else the --lang built-ins (none if unset).

    With no dataset, --neighbors or --map flag, the built-ins of `args.lang`, which `run`
    sets from the loaded vectors when --lang is not given.
    """
    from vecgraft.evaluate.datasets import ANALOGY_SETS

    if args.analogies or args.similarity or args.neighbors or args.map:
        return list(args.analogies or [])
    return [] if args.lang is None else list(ANALOGY_SETS[args.lang])


def _unscored_note(args: argparse.Namespace) -> str | None:
    """Why no set was scored: --neighbors or --map alone look, and the built-ins take minutes.

    The built-in sets ran silently not at all: `--json` wrote empty lists after --help had
    said that with no dataset flag they run.
    """
    from vecgraft.evaluate.datasets import ANALOGY_SETS, SIMILARITY_SETS

    if args.similarity or args.analogies or not (args.neighbors or args.map) or not args.lang:
        return None
    flags = [f"--similarity {name}" for name in SIMILARITY_SETS.get(args.lang, ())]
    flags += [f"--analogies {name}" for name in ANALOGY_SETS.get(args.lang, ())]
    return (f"note: the built-in sets were not run (--neighbors and --map only look at the "
            f"space); add {' '.join(flags)} to score them too")  # fmt: skip


def _check_convention(args: argparse.Namespace) -> None:
    """Refuse --dummy4unknown under the ca8 convention before the vectors are loaded.

    The convention as `analogies` resolves it (--convention, else ca8 for the CA8 sets
    that --lang zh runs), and its refusal (`_gensim_only`): `--lang zh --dummy4unknown` was
    refused only after the load, and with --convention ca8 a copied check said it
    otherwise. With neither --lang nor --analogies, the sets follow the vectors' language
    and `analogies` refuses it after the load, in the same words.
    """
    if not args.dummy4unknown:
        return
    from vecgraft.evaluate.intrinsic import Convention, _convention, _gensim_only

    conventions = {_convention(args.convention, name) for name in _analogy_sets(args)}
    if args.convention is not None:  # asked for by name: refused with no analogy set too
        conventions.add(_convention(args.convention, ""))
    if Convention.CA8 in conventions:
        raise _gensim_only(dummy4unknown=True)


def _neighbors_line(
    vectors: Vectors, word: str, k: int, *, recorded: tuple[str, ...] = ()
) -> str:
    """`word`'s k nearest neighbours, or why it has none (unknown word, zero vector).

    `recorded`: how the vectors' text was normalised (`recorded_normalisation`: lower,
    simplified, halfwidth), so `word` is looked up so converted, as `vecgraft neighbors` does.
    """
    from vecgraft._util.console import printable
    from vecgraft.cli.neighbors import _case_hint, _other_form, _tried_forms, as_trained

    word, how = as_trained(word, recorded)
    said = f"({how}, as the vectors were trained: {printable(word)}) " if how else ""
    vec = vectors.get(word)
    form = _other_form(vectors, word) if word not in vectors else None
    if vec is not None and word not in vectors:  # fastText built it from subwords: say so
        there = f"; its {form[0]} form {printable(form[1])} is in the vectors" if form else ""
        said += f"(unseen: built from subwords{there}) "
    elif form is not None:  # as `vecgraft neighbors` answers "電腦" on simplified vectors
        word, vec = form[1], vectors[form[1]]
        said += f"(not in the vectors: its {form[0]} form {printable(word)}) "
    if vec is None:
        tried = _tried_forms([word], {word: word})
        return f"{said}(not in the vectors{tried}){_case_hint(vectors, [word])}"
    if not vec.any():
        return f"{said}(a zero vector: no direction, so no neighbours)"
    near = vectors.most_similar(word, k)
    return said + (", ".join(f"{printable(w)} {s:.3f}" for w, s in near) or "(no other words)")


def _uncovered_note(vectors: Vectors, ana: AnalogyResult) -> str | None:
    """Why an analogy table is all zeros: the vectors cover none of the set's questions.

    Usually vectors of another language (English vectors on CA8), or a --restrict-vocab
    that leaves too few rows.
    """
    if ana.oov < ana.questions:
        return None
    from vecgraft.evaluate._intrinsic_similarity import rows_phrase
    from vecgraft.evaluate.intrinsic import Convention

    rows = len(vectors) if ana.restrict_vocab is None else min(ana.restrict_vocab, len(vectors))
    words = "its first three words" if ana.convention == Convention.CA8 else "all four words"
    return (
        f"note: {ana.dataset}: the vectors cover none of its {ana.questions} questions (each "
        f"needs {words} {rows_phrase(rows, len(vectors), among=True)})"
    )


def _script_note(vectors: Vectors, anas: list[AnalogyResult]) -> str | None:
    """Why the CA8 sets scored almost nothing, when the vectors are traditional Chinese."""
    low = [a for a in anas if "ca8" in a.dataset.lower() and a.coverage < 0.1]
    if not low:
        return None
    from vecgraft.text.zh import traditional_share

    share = traditional_share(vectors.words)
    if share is None or share < 0.2:
        return None
    return (
        f"note: {share:.0%} of these vectors' Chinese words are in traditional characters, "
        f"while CA8 is written in simplified ones ({low[0].coverage:.1%} of its questions "
        "covered); convert the words with OpenCC t2s, or pretrain with --simplified "
        "(Tokenizer(simplified=True))"
    )


def _zh_mode_note(path: str, anas: list[AnalogyResult]) -> str | None:
    """Why CA8 coverage is not that of vectors of words: these hold single characters too.

    `pretrain --tokenizer jieba` makes words + characters on a small corpus (its
    metadata.json says so, or a native file's own metadata); CA8 questions made of single
    characters are then answerable, and a tester's coverage tripled (0.85 % -> 2.51 %) on
    the same corpus.
    """
    if not any("ca8" in a.dataset.lower() for a in anas):
        return None
    from vecgraft.finetune.vectors_record import vectors_record

    recorded, where = vectors_record(str(path))
    tokenizer = recorded.get("tokenizer")
    mode = tokenizer.get("zh_mode") if isinstance(tokenizer, dict) else None
    if mode not in ("word+char", "char"):
        return None
    their = where.their  # a native file may keep it alone
    return (
        f"note: these vectors were trained on jieba {mode} tokens ({their}), so "
        "single characters are rows too: CA8 questions made of single characters are "
        "answerable, and the coverage is not comparable with vectors of words alone"
    )


def run(args: argparse.Namespace) -> int:
    """Load the vectors once, run every requested evaluation, print a table.

    `--json -` prints the JSON alone on stdout (for `| jq`) and the table on stderr.
    """
    import contextlib
    import sys

    from vecgraft.cli._options import STDOUT

    if args.json != STDOUT:
        return _run(args, None)
    stdout = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):
        return _run(args, stdout)


def _run(args: argparse.Namespace, stdout: Any) -> int:
    """`run`'s work; `stdout` not None: the stream `--json -` prints the JSON on."""
    from vecgraft._util.console import printable
    from vecgraft.cli._vectors_args import check_codec
    from vecgraft.evaluate.intrinsic import format_results
    from vecgraft.io import load

    _check_convention(args)
    if args.vectors_encoding is not None:
        check_codec(args.vectors_encoding)
    if args.map:  # before the load and the scores, which can take minutes on a large file
        from vecgraft._util.extras import require

        require("matplotlib", "plot", feature="--map (a word map)")
    given = args.vectors_encoding
    vectors = load(
        args.vectors, progress=args.progress, **({} if given is None else {"encoding": given})
    )
    if args.lang is None:  # Chinese vectors score the Chinese sets, not English pairs
        from vecgraft.evaluate._compare_sources import vectors_language

        args.lang = vectors_language(vectors.words)
    sims, anas, unscorable = _scores(args, vectors)
    print(f"{vectors!r}")
    if sims or anas:
        print(format_results(sims, anas))
    for exc in unscorable:
        print(f"note: {os.path.basename(exc.path)}: not scored: {exc.reason}")
    unscored = _unscored_note(args)
    if unscored:
        print(unscored)
    skips = [(s.dataset, s.skipped, "word1 word2 score") for s in sims]
    skips += [(a.dataset, a.skipped, "four words a b c expected") for a in anas]
    for dataset, skipped, expected in skips:
        if skipped:
            lines = ", ".join(map(str, skipped[:5])) + (", ..." if len(skipped) > 5 else "")
            print(
                f"note: {dataset}: {len(skipped)} line(s) skipped, not {expected} (line {lines})"
            )
    for ana in anas:
        uncovered = _uncovered_note(vectors, ana)
        if uncovered:
            print(uncovered)
    for note in (_script_note(vectors, anas), _zh_mode_note(args.vectors, anas)):
        if note:
            print(note)
    empty = [e.path for e in unscorable] + [a.dataset for a in anas if a.oov == a.questions]
    hint = _language_hint(vectors, empty)
    if hint:
        print(f"note: {hint}")
    from vecgraft.cli.neighbors import recorded_normalisation

    recorded = recorded_normalisation(vectors, args.vectors) if args.neighbors else ()
    for word in args.neighbors or []:
        print(f"{printable(word)}: {_neighbors_line(vectors, word, args.k, recorded=recorded)}")
    if args.map:
        from vecgraft.evaluate.wordmap import plot_word_map

        out = plot_word_map(
            vectors, args.map_words or args.neighbors or [], args.map, method=args.map_method
        )
        print(f"map written to {out}")
    if args.json:
        payload = {
            "vectors": str(args.vectors),
            "similarity": [s.to_dict() for s in sims],
            "analogies": [a.to_dict() for a in anas],
            # sets the vectors hold fewer than two pairs of (no correlation), with why
            # 'dataset' as given, as in 'similarity'; 'path': the file read
            "unscored": [
                {"dataset": e.dataset, "path": e.path, "error": e.reason} for e in unscorable
            ],
        }
        if stdout is not None:
            from vecgraft.cli._options import print_json

            print_json(payload, stdout, ensure_ascii=True)
            return 0
        atomic_write_json(args.json, payload, ensure_ascii=True, finite=True)
        # empty lists said "scores written" as if the file held some
        print(f"scores written to {args.json}" if sims or anas
              else f"{args.json} written with no scores: no set was scored")  # fmt: skip
    return 0
