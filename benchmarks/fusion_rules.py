"""Which fusion rule? Alternatives scored offline on `fusion_probe.py --dump` probabilities.

Training data only: the probe's validation split (carved from each training CSV) chooses,
its held-out 15 % scores. Rules, for a network (GloVe CNN, or the random-embedding CNN) and
the linear SVM:
  raw/acc5   today's `--fuse-linear`: raw probabilities (the SVM's are the softmax of its
             scores), the network's share w in {0, .25, .5, .75, 1} by validation accuracy
  raw/nll21  raw, w in steps of .05 by validation log-loss
  cal/*      each model temperature-scaled first (one factor on its log-probabilities,
             fitted by validation log-loss; Guo et al. 2017), then w by accuracy (acc5),
             log-loss (nll5, nll21) or fixed at .5
  raw/0.5    raw, equal weights (round 8's first probe)

    python benchmarks/fusion_rules.py DUMP_DIR
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.optimize import minimize_scalar

from vecgraft.finetune.fusion import WEIGHTS, choose_weight

FINE = tuple(float(w) for w in np.round(np.linspace(0, 1, 21), 2))


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def nll(p: np.ndarray, y: np.ndarray) -> float:
    return float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None)).mean())


def accuracy(p: np.ndarray, y: np.ndarray) -> float:
    return 100.0 * float((p.argmax(axis=1) == y).mean())


def temperature(p: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """The scaling of log-probabilities with the lowest log-loss on (p, y)."""
    def scaled(q: np.ndarray, a: float) -> np.ndarray:
        return softmax(np.log(np.clip(q, 1e-12, None)) * a)

    fit = minimize_scalar(lambda la: nll(scaled(p, np.exp(la)), y),
                          bounds=(np.log(0.05), np.log(50.0)), method="bounded")
    return lambda q: scaled(q, float(np.exp(fit.x)))


def by_nll(grid: tuple[float, ...]) -> Callable[..., float]:
    def choose(n: np.ndarray, lin: np.ndarray, y: np.ndarray) -> float:
        return min(grid, key=lambda w: (nll(w * n + (1 - w) * lin, y), abs(w - 0.5)))
    return choose


def fixed(_n: np.ndarray, _lin: np.ndarray, _y: np.ndarray) -> float:
    return 0.5


RULES: dict[str, tuple[bool, Callable[..., float]]] = {  # name -> (calibrate, choose w)
    "raw/acc5": (False, choose_weight),
    "raw/nll21": (False, by_nll(FINE)),
    "cal/acc5": (True, choose_weight),
    "cal/nll5": (True, by_nll(WEIGHTS)),
    "cal/nll21": (True, by_nll(FINE)),
    "cal/0.5": (True, fixed),
    "raw/0.5": (False, fixed),
}


def held_out(d: dict[str, np.ndarray], net: str) -> dict[str, float]:
    vy, hy = d["valid_gold"], d["held_gold"]
    vn, vl, hn, hl = d[f"valid_{net}"], d["valid_svm"], d[f"held_{net}"], d["held_svm"]
    out = {"network": accuracy(hn, hy), "svm": accuracy(hl, hy)}
    cn, cl = temperature(vn, vy), temperature(vl, vy)
    for name, (calibrate, choose) in RULES.items():
        a, b, c, e = (cn(vn), cl(vl), cn(hn), cl(hl)) if calibrate else (vn, vl, hn, hl)
        w = choose(a, b, vy)
        out[name] = accuracy(w * c + (1 - w) * e, hy)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dump", type=Path)
    parser.add_argument("--networks", nargs="+", default=["cnn", "cnn_random"])
    args = parser.parse_args()
    files = sorted(args.dump.glob("*.npz"))
    for net in args.networks:
        rows = {f.stem: held_out(dict(np.load(f)), net) for f in files}
        cols = list(next(iter(rows.values())))
        print(f"\n{net} + svm, held-out accuracy (%)\n")
        print("| data | " + " | ".join(cols) + " |\n" + "|---" * (len(cols) + 1) + "|")
        for name, r in rows.items():
            print(f"| {name} | " + " | ".join(f"{r[c]:.2f}" for c in cols) + " |")
        mean = {c: statistics.mean(r[c] for r in rows.values()) for c in cols}
        worst = {c: min(r[c] - r["svm"] for r in rows.values()) for c in cols}
        print("| mean | " + " | ".join(f"{mean[c]:.2f}" for c in cols) + " |")
        print("| worst gap to svm | " + " | ".join(f"{worst[c]:+.2f}" for c in cols) + " |")


if __name__ == "__main__":
    main()
