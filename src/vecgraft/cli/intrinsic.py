"""`vecgraft intrinsic`: word-similarity and analogy scores of a vector file."""

from __future__ import annotations

import argparse

from vecgraft._util.atomic import atomic_write_json

DESCRIPTION = """Score word vectors on human similarity ratings (Pearson/Spearman) and on
analogy questions (3CosAdd/3CosMul), with gensim's conventions. With no dataset flags it runs
WordSim353, SimLex-999 and Google's analogies (from gensim's installed test data)."""

EPILOG = """examples:
  vecgraft intrinsic glove.6B.50d.txt
  vecgraft intrinsic vectors/ --similarity wordsim353 --similarity my_pairs.tsv --json scores.json
  vecgraft intrinsic glove.txt --analogies google --method 3cosmul --restrict-vocab 100000
  vecgraft intrinsic glove.txt --neighbors king --map map.png --map-words king queen man woman
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of `vecgraft intrinsic`."""
    from vecgraft.cli._options import add_enum_argument, param_default
    from vecgraft.evaluate.intrinsic import AnalogyMethod, analogies
    from vecgraft.evaluate.wordmap import MapMethod, plot_word_map

    p.add_argument("vectors", help="a vector file or folder that vecgraft.load reads")
    p.add_argument(
        "--similarity",
        action="append",
        metavar="FILE",
        help="word1<TAB>word2<TAB>score file, or wordsim353 / simlex999 (repeatable)",
    )
    p.add_argument("--analogies", metavar="FILE", help="questions-words.txt format, or google")
    add_enum_argument(
        p,
        "--method",
        enum=AnalogyMethod,
        default=param_default(analogies, "method"),
        help="analogy scoring (gensim's most_similar / most_similar_cosmul)",
    )
    p.add_argument(
        "--restrict-vocab",
        type=int,
        default=param_default(analogies, "restrict_vocab"),
        help="only the first N rows take part (as gensim)",
    )
    p.add_argument("--case-sensitive", action="store_true", help="do not upper-case words")
    p.add_argument(
        "--dummy4unknown",
        action="store_true",
        help="score OOV pairs as 0 / OOV questions as wrong instead of skipping",
    )
    p.add_argument("--neighbors", nargs="+", metavar="WORD", help="print nearest neighbours")
    p.add_argument("-k", type=int, default=10, help="neighbours per word")
    p.add_argument("--map", metavar="PNG", help="write a 2-D map of --map-words")
    p.add_argument("--map-words", nargs="+", metavar="WORD", default=[], help="words to map")
    add_enum_argument(
        p,
        "--map-method",
        enum=MapMethod,
        default=param_default(plot_word_map, "method"),
        help="2-D projection of the map",
    )
    p.add_argument("--json", metavar="OUT", help="also write the scores as JSON")


def run(args: argparse.Namespace) -> int:
    """Load the vectors once, run every requested evaluation, print a table."""
    from vecgraft._util.console import printable
    from vecgraft.evaluate.intrinsic import analogies, format_results, word_similarity
    from vecgraft.io import load

    vectors = load(args.vectors)
    explicit = args.similarity or args.analogies or args.neighbors or args.map
    sim_sets = args.similarity or ([] if explicit else ["wordsim353", "simlex999"])
    ana_set = args.analogies or (None if explicit else "google")
    case_insensitive = not args.case_sensitive
    sims = [
        word_similarity(
            vectors,
            s,
            case_insensitive=case_insensitive,
            dummy4unknown=args.dummy4unknown,
            restrict_vocab=args.restrict_vocab,
        )
        for s in sim_sets
    ]
    anas = []
    if ana_set:
        anas.append(
            analogies(
                vectors,
                ana_set,
                restrict_vocab=args.restrict_vocab,
                case_insensitive=case_insensitive,
                method=args.method,
                dummy4unknown=args.dummy4unknown,
            )
        )
    print(f"{vectors!r}")
    if sims or anas:
        print(format_results(sims, anas))
    for word in args.neighbors or []:
        near = vectors.most_similar(word, args.k) if vectors.get(word) is not None else []
        shown = ", ".join(f"{printable(w)} {s:.3f}" for w, s in near) or "(not in the vectors)"
        print(f"{printable(word)}: {shown}")
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
        }
        atomic_write_json(args.json, payload, ensure_ascii=True)
        print(f"scores written to {args.json}")
    return 0
