"""The demo's `--stopwords en` list, before and after its change, on held-out BBC articles.

Round 35 of defaults.md (training data only). The English list changed (negations in every
spelling kept, the clitics "'s" "'re" "'d" "'m" dropped); the demo (`vecgraft demo`, its
`DEMO_SETTINGS`) removes that list. Each split holds out 15 % of textcls.py's BBC training
part (`split_seed` = seed), trains the demo's network with the old list (written to a file)
and with "en", and appends the held-out accuracy to ROWS (JSON lines).

    OMP_NUM_THREADS=1 python benchmarks/demo_stopwords_probe.py ROWS 1 3 5
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from textcls import bbc_split
from vecgraft.cli.demo import DEMO_SETTINGS, demo_paths
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.run import finetune
from vecgraft.text.stopwords import builtin_stopwords

WORK = Path(__file__).resolve().parent / "out" / "demo_stopwords"


def main() -> None:
    rows, seeds = Path(sys.argv[1]), [int(s) for s in sys.argv[2:]]
    WORK.mkdir(parents=True, exist_ok=True)
    train, _ = bbc_split(WORK)
    old = WORK / "en_v1.txt"
    old.write_text("\n".join(sorted(builtin_stopwords("en", legacy=True))) + "\n")
    glove, _ = demo_paths()
    for seed in seeds:
        for name, stop in (("old", str(old)), ("new", "en")):
            settings = {**DEMO_SETTINGS, "test_fraction": 0.15, "stopwords": stop}
            config = FinetuneConfig(
                train=train, test=None, vectors=str(glove), out=str(WORK / f"run_{name}_{seed}"),
                split_seed=seed, seed=seed, epochs=10, progress=False, plots=False, **settings,
            )  # fmt: skip
            started = time.perf_counter()
            result = finetune(config, log=lambda _m: None, overwrite=True)
            row = {"seed": seed, "list": name, "acc": 100 * result.metrics["test"]["accuracy"],
                   "s": round(time.perf_counter() - started)}  # fmt: skip
            print(json.dumps(row), flush=True)
            with rows.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
