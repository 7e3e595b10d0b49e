"""Round 37 probe (training data only): does an exponential moving average of the weights help?

The default network peaks early (MR: best epoch 2-3 of 5-8) and its seed-to-seed spread is
what costs the table's BBC News row (round 33). Averaging the weights along the training
path (Polyak averaging; SWA's cheap cousin) often buys what an ensemble does at no training
cost. This probe patches the library's `Trainer` (no library change): after every optimizer
step a shadow copy moves towards the weights, `shadow += (1 - d) (w - shadow)`, with
`d = min(decay, (1 + t) / (10 + t))` (the usual warm-up); at each epoch's end the shadow is
what is scored, chosen and kept (the best epoch's *averaged* weights), and training goes on
from the raw weights.

Candidates (`defaults_search.py`'s protocol: 15 % of each training CSV held out, `--seed S
--split-seed S`; the test CSVs are never read):

- `ema_epoch_r37`: `decay = 1 - 1 / steps_per_epoch` (the average spans about one epoch);
  with the warm-up term binding for the first ~1,500 steps, the average spans about the
  last tenth of the steps so far (an epoch's span only later);
- `ema_bc_r37`: no warm-up term; the average starts from zero and is divided by
  `1 - decay**t` (Adam's bias correction), so it spans about one epoch from the start.

    OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE python benchmarks/ema_probe.py \\
        --data-dir DIR --datasets mr trec sst2 --seed 1 --split-seed 1

`DIR` holds the textcls CSVs and `bbc_train.csv` (textcls.py's BBC training part).
"""

from __future__ import annotations

import sys
from typing import Any

import torch

import defaults_search as ds
from vecgraft.finetune import train as tr

# candidate -> epochs the average spans (decay = 1 - 1 / (span * steps_per_epoch))
SPANS = {"ema_epoch_r37": 1.0, "ema_bc_r37": 1.0}


def install(span: float, *, corrected: bool) -> None:
    """Patch `Trainer` so that every epoch scores and keeps the averaged weights."""
    step, end_epoch = tr.Trainer._step, tr.Trainer._end_epoch

    def params(self: Any) -> list[torch.Tensor]:
        return [p.data for p in self.model.parameters()]

    def patched_step(self: Any, indices: list[int], global_size: int) -> tuple[float, int]:
        out = step(self, indices, global_size)
        if getattr(self, "_shadow", None) is None:
            start = torch.zeros_like if corrected else torch.clone
            self._shadow = [start(p) for p in params(self)]
            self._averaged = 0
            self._weight = 1.0  # decay**t: the share of the zero start (corrected)
        self._averaged += 1
        t = self._averaged
        decay = 1.0 - 1.0 / (span * self.steps_per_epoch)
        if not corrected:
            decay = min(decay, (1 + t) / (10 + t))
        torch._foreach_lerp_(self._shadow, params(self), 1.0 - decay)
        self._weight *= decay
        return out

    def patched_end_epoch(self: Any, seconds: float) -> None:
        raw = [p.clone() for p in params(self)]
        torch._foreach_copy_(params(self), self._shadow)
        if corrected:
            torch._foreach_div_(params(self), 1.0 - self._weight)
        try:
            end_epoch(self, seconds)
        finally:
            torch._foreach_copy_(params(self), raw)

    tr.Trainer._step = patched_step  # type: ignore[method-assign]
    tr.Trainer._end_epoch = patched_end_epoch  # type: ignore[method-assign]


def main() -> None:
    names = sys.argv[sys.argv.index("--candidates") + 1] if "--candidates" in sys.argv else None
    name = names or "ema_epoch_r37"
    if name not in SPANS:
        raise SystemExit(f"one candidate of {sorted(SPANS)} after --candidates")
    install(SPANS[name], corrected=name == "ema_bc_r37")
    for candidate in SPANS:
        ds.CANDIDATES[candidate] = {}
    ds.main()


if __name__ == "__main__":
    main()
