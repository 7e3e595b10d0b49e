"""`vecgraft pretrain`: train word2vec, fastText or GloVe vectors on a corpus."""

from __future__ import annotations

import argparse

DESCRIPTION = (
    "Pretrain word vectors on a corpus (files, folders, globs, compressed files, CSV 'text' "
    "columns) with gensim's word2vec/fastText or vecgraft's PyTorch GloVe. Writes "
    "vectors.safetensors (read by `vecgraft.load(DIR)`), vectors.txt, vectors.bin, "
    "vocab.json and metadata.json to --out (fastText also model.bin, with subwords)."
)
EPILOG = """examples:
  vecgraft pretrain --method word2vec --corpus news/ --out w2v --dim 100 --sg 1 --lower
  vecgraft pretrain --method fasttext --corpus 'data/*.txt.gz' --out ft --min-n 3 --max-n 6
  vecgraft pretrain --method glove --corpus corpus.txt --out glove --window 10 --epochs 25
  vecgraft pretrain --method word2vec --corpus zh.txt --tokenizer jieba --stopwords zh --out zh
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags; option names and defaults follow gensim (and glove.c for GloVe)."""
    from vecgraft.cli._text_args import add_text_arguments

    parser.add_argument("--method", required=True, choices=["word2vec", "fasttext", "glove"])
    parser.add_argument("--corpus", required=True, nargs="+", metavar="PATH")
    parser.add_argument("--out", required=True, metavar="DIR")
    parser.add_argument("--dim", type=int, default=100, help="vector size (default 100)")
    parser.add_argument("--window", type=int, default=5)
    parser.add_argument("--min-count", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=None, help="default 5 (gensim), 25 (glove)")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-vocab", type=int, default=None)
    text = parser.add_argument_group("tokenization (as in vecgraft.text; recorded in metadata)")
    text.add_argument(
        "--tokenizer",
        default="regex",
        choices=["regex", "whitespace", "char", "jieba", "pretokenized"],
    )
    text.add_argument("--lower", action="store_true")
    text.add_argument("--nfkc", action="store_true")
    text.add_argument("--digits", choices=["0", "#"], default=None)
    text.add_argument("--stopwords", default=None, help="en, zh or a file (one word per line)")
    text.add_argument("--one-per", choices=["line", "file"], default="line")
    text.add_argument("--column", default="text", help="text column of CSV/TSV/JSONL files")
    add_text_arguments(text)
    w2v = parser.add_argument_group("word2vec / fasttext (gensim)")
    w2v.add_argument("--sg", type=int, choices=[0, 1], default=0, help="1: skip-gram, 0: CBOW")
    w2v.add_argument("--hs", type=int, choices=[0, 1], default=0, help="1: hierarchical softmax")
    w2v.add_argument("--negative", type=int, default=5)
    w2v.add_argument("--sample", type=float, default=1e-3)
    w2v.add_argument(
        "--alpha",
        type=float,
        default=None,
        help="initial learning rate (default 0.025; glove 0.05)",
    )
    w2v.add_argument("--min-alpha", type=float, default=0.0001)
    w2v.add_argument("--min-n", type=int, default=3)
    w2v.add_argument("--max-n", type=int, default=6)
    w2v.add_argument("--bucket", type=int, default=2_000_000)
    glove = parser.add_argument_group("glove")
    glove.add_argument(
        "--x-max", type=float, default=10.0, help="weighting cut-off (10; 100 for huge corpora)"
    )
    glove.add_argument("--power", type=float, default=0.75, help="weighting exponent (alpha)")
    glove.add_argument("--batch-size", type=int, default=16384)
    glove.add_argument(
        "--max-memory-mb",
        type=int,
        default=1024,
        help="co-occurrence table size before spilling to disk",
    )
    glove.add_argument("--device", default=None, help="cpu, cuda (default: cuda if available)")
    parser.add_argument(
        "--no-token-cache",
        action="store_true",
        help="re-tokenize the corpus on every pass instead of caching tokens in a temp file",
    )
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    """Build the config and tokenizer, pretrain, print the summary."""
    from vecgraft.cli._text_args import note_read
    from vecgraft.pretrain import PretrainConfig, pretrain
    from vecgraft.text import Tokenizer

    tokenizer = Tokenizer(
        args.tokenizer,
        lower=args.lower,
        nfkc=args.nfkc,
        digits=args.digits,
        stopwords=args.stopwords,
    )
    config = PretrainConfig(
        method=args.method,
        corpus=args.corpus,
        out=args.out,
        dim=args.dim,
        window=args.window,
        min_count=args.min_count,
        epochs=args.epochs,
        workers=args.workers,
        seed=args.seed,
        tokenizer=tokenizer,
        one_per=args.one_per,
        column=args.column,
        encoding=args.encoding,
        errors=args.errors,
        bad_rows=args.bad_rows,
        sg=args.sg,
        hs=args.hs,
        negative=args.negative,
        sample=args.sample,
        alpha=args.alpha,
        min_alpha=args.min_alpha,
        min_n=args.min_n,
        max_n=args.max_n,
        bucket=args.bucket,
        x_max=args.x_max,
        power=args.power,
        max_vocab=args.max_vocab,
        max_memory=args.max_memory_mb * 2**20,
        batch_size=args.batch_size,
        device=args.device,
        cache_tokens=not args.no_token_cache,
        progress=False if args.no_progress else None,
    )
    result = pretrain(config)
    note_read(result.metadata.get("text_read"))
    print(result.summary())
    return 0
