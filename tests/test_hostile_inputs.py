"""A standing battery of hostile and careless vector files (issue 12, the io half).

Every case runs in a child process under `RLIMIT_AS` (so a regression fails with an error
instead of eating the machine) and must end in a clear vecgraft error or a correct result with
a peak resident memory under 1 GiB in under 10 s of CPU time. Bombs are generated in memory
(repeated gzip members: 64 MiB of zeros compress to 64 KiB, so "4 GiB" costs a few MiB of
disk); nothing large is kept in the repository.

Set VECGRAFT_BATTERY_REPORT=FILE to append one JSON line per case (peak memory, time).
"""

from __future__ import annotations

import gzip
import json
import os
import resource
import struct
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from io_helpers import fasttext_bin_bytes, small_vectors, w2v_bin_bytes

SRC = str(Path(__file__).resolve().parents[1] / "src")
AS_LIMIT = 1536 << 20  # address space (virtual) of a child: numpy + pyarrow need ~400 MiB
PEAK_LIMIT_KB = 1 << 20  # 1 GiB resident
CPU_LIMIT_S = 10.0
_MEMBER = 64 << 20


def zeros_gz(total: int, fill: bytes = b"\x00") -> bytes:
    """Gzip members that expand to `total` bytes of `fill` (one member compressed, repeated)."""
    member = gzip.compress(fill * _MEMBER, compresslevel=9)
    return member * max(1, total // _MEMBER)


_PRELUDE = """
import json, resource, sys, time, traceback, warnings
from pathlib import Path
warnings.simplefilter("ignore")
import numpy as np
import vecgraft
import vecgraft.io
from vecgraft.errors import VecgraftError
d = Path(sys.argv[1])
def hwm_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
base_kb = hwm_kb()
t0 = time.perf_counter()
result = {}
try:
"""
_EPILOGUE = """
    result.update(outcome="ok")
except VecgraftError as exc:
    result.update(outcome="error", type=type(exc).__name__, message=str(exc))
except BaseException as exc:
    result.update(outcome="crash", type=type(exc).__name__, message=traceback.format_exc())
ru = resource.getrusage(resource.RUSAGE_SELF)
result.update(base_kb=base_kb, peak_kb=hwm_kb(), maxrss_kb=ru.ru_maxrss)
result["cpu"] = ru.ru_utime + ru.ru_stime
result["seconds"] = time.perf_counter() - t0
print("RESULT " + json.dumps(result, default=str))
"""


def run_case(
    name: str, folder: Path, body: str, *, as_limit: int | None = AS_LIMIT, timeout: float = 60
) -> dict[str, Any]:
    """Run `body` (which may set `result[...]`) in a child under the memory limit.

    The child reports its outcome, its peak resident memory (VmHWM, including the interpreter
    and imports), the peak right after the imports, and its CPU time. VmHWM rather than
    ru_maxrss: Linux carries a parent's ru_maxrss across fork and exec, so a child of a big
    pytest process would report the parent's peak (ru_maxrss is recorded too, as an upper bound).
    """
    code = _PRELUDE + textwrap.indent(textwrap.dedent(body), "    ") + _EPILOGUE
    tmpdir = folder / "TMPDIR"
    tmpdir.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": SRC,
        "TMPDIR": str(tmpdir),
        "XDG_CACHE_HOME": str(folder / "xdg"),
        "OMP_WAIT_POLICY": "PASSIVE",
        "OMP_NUM_THREADS": "1",
        # allocators reserve address space per thread (jemalloc arenas, glibc's 64 MiB heaps)
        # that is never touched; with them RLIMIT_AS would measure reservations, not memory
        "ARROW_DEFAULT_MEMORY_POOL": "system",
        "MALLOC_ARENA_MAX": "2",
    }

    def limit() -> None:
        if as_limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, (as_limit, as_limit))

    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        preexec_fn=limit,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"{name}: still running after {timeout} s (a hang)")
    wall = time.perf_counter() - started
    lines = [ln for ln in out.decode().splitlines() if ln.startswith("RESULT ")]
    assert lines, f"{name}: no result (rc {proc.returncode})\n{err.decode()[-3000:]}"
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :])
    assert result["outcome"] != "crash", f"{name}: {result['message']}"
    result.update(name=name, wall=wall, tmp_left=sorted(p.name for p in tmpdir.iterdir()))
    report = os.environ.get("VECGRAFT_BATTERY_REPORT")
    if report:
        with open(report, "a", encoding="utf-8") as fh:
            slim = {k: v for k, v in result.items() if k != "message"}
            slim["message"] = str(result.get("message", ""))[:160]
            fh.write(json.dumps(slim) + "\n")
    assert result["peak_kb"] < PEAK_LIMIT_KB, f"{name}: peak {result['peak_kb']} KiB"
    # CPU time, not wall time: the suite may share two cores with other jobs
    assert result["cpu"] < CPU_LIMIT_S, f"{name}: {result['cpu']:.1f} s of CPU"
    assert result["tmp_left"] == [], f"{name}: wrote to $TMPDIR: {result['tmp_left']}"
    return result


def grown_kb(result: dict[str, Any]) -> int:
    """Resident memory the case added on top of the interpreter and imports."""
    return int(result["peak_kb"]) - int(result["base_kb"])


# -- streaming decompression: bombs and enormous lines ---------------------------------------
def test_gzip_text_with_one_enormous_line_fails_fast(tmp_path: Path) -> None:
    rows = b"".join(f"w{i} 0.1 0.2 0.3\n".encode() for i in range(100))
    (tmp_path / "v.txt.gz").write_bytes(gzip.compress(rows) + zeros_gz(2 << 30, b"a"))
    r = run_case("gzip text + 2 GiB line", tmp_path, 'vecgraft.load(d / "v.txt.gz")')
    assert r["type"] == "FormatError"
    assert "line 101 is longer than" in r["message"] and "--max-line-bytes" in r["message"]
    assert grown_kb(r) < 100 << 10


def test_plain_text_followed_by_a_500mb_line_fails_fast(tmp_path: Path) -> None:
    path = tmp_path / "v.txt"
    path.write_bytes(b"".join(f"w{i} 0.1 0.2 0.3\n".encode() for i in range(100)) + b"x")
    with open(path, "r+b") as fh:  # a sparse 500 MB line: no disk, all of it readable
        fh.truncate(500 << 20)
        fh.seek(0, 2)
        fh.write(b" 1 2 3\n")
    r = run_case("text + 500 MB line", tmp_path, 'vecgraft.load(d / "v.txt", format="glove")')
    assert r["type"] == "FormatError" and "longer than 65632 bytes" in r["message"]
    assert grown_kb(r) < 100 << 10


def test_raising_max_line_bytes_lets_a_long_line_through(tmp_path: Path) -> None:
    word = "x" * 70_000
    (tmp_path / "v.txt").write_text(f"a 1 2\n{word} 3 4\n")
    body = """
    try:
        vecgraft.load(d / "v.txt", cache=False)
        raise SystemExit("loaded a 70 kB line under the default limit")
    except VecgraftError as exc:
        assert "max_line_bytes" in str(exc), exc
    v = vecgraft.load(d / "v.txt", cache=False, max_line_bytes=1 << 20)
    assert v.words[1] == "x" * 70_000 and v["a"].tolist() == [1.0, 2.0]
    """
    assert run_case("long line, limit raised", tmp_path, body)["outcome"] == "ok"


def test_gzip_of_many_gb_of_rows_stops_at_the_memory_guard(tmp_path: Path) -> None:
    rows = b"".join(f"w{i} 0.5 0.25\n".encode() for i in range(1 << 16))
    member = gzip.compress(rows * 8, compresslevel=6)  # 8 MiB of rows
    (tmp_path / "v.txt.gz").write_bytes(member * 512)  # 4 GiB of rows
    # the guard left to itself: half of what RLIMIT_AS leaves (max_memory= is tested below)
    r = run_case("gzip rows, 4 GiB, auto guard", tmp_path, 'vecgraft.load(d / "v.txt.gz")',
                 as_limit=1 << 30)  # fmt: skip
    assert r["type"] == "ResourceError"
    assert "vocab=" in r["message"] and "limit=" in r["message"]
    assert grown_kb(r) < 600 << 10


def test_bin_gz_followed_by_4gb_of_zeros_is_not_copied_to_tmpdir(tmp_path: Path) -> None:
    v = small_vectors(50, 8)
    data = gzip.compress(w2v_bin_bytes(v.words, v.matrix)) + zeros_gz(4 << 30)
    (tmp_path / "v.bin.gz").write_bytes(data)
    r = run_case("bin.gz + 4 GiB zeros", tmp_path, 'vecgraft.load(d / "v.bin.gz")')
    assert r["type"] == "FormatError" and "header says 50 rows but more bytes" in r["message"]
    assert grown_kb(r) < 100 << 10  # run_case also checks $TMPDIR stayed empty


def test_bin_gz_streams_to_the_same_vectors(tmp_path: Path) -> None:
    v = small_vectors(3000, 16)
    raw = w2v_bin_bytes(v.words, v.matrix)
    (tmp_path / "v.bin").write_bytes(raw)
    # three members and zero padding: the stream crosses window and member boundaries
    (tmp_path / "v.bin.gz").write_bytes(
        gzip.compress(raw[:1000]) + b"\x00" * 16 + gzip.compress(raw[1000:90000])
        + gzip.compress(raw[90000:])
    )  # fmt: skip
    body = """
    a = vecgraft.load(d / "v.bin", cache=False)
    b = vecgraft.load(d / "v.bin.gz", cache=False)
    assert a.words == b.words and np.array_equal(a.matrix, b.matrix)
    c = vecgraft.load(d / "v.bin.gz", cache=False, vocab=["w5", "w2990", "cat"])
    # w0 and w1000: the first rows with the `normalized` keys of w5 and w2990
    assert c.words == ["cat", "w0", "w5", "w1000", "w2990"], c.words
    assert np.array_equal(c.matrix, a.matrix[[a.index[w] for w in c.words]])
    """
    assert run_case("bin.gz parity", tmp_path, body)["outcome"] == "ok"


def test_zip_member_is_streamed(tmp_path: Path) -> None:
    v = small_vectors(50, 8)
    with (
        zipfile.ZipFile(tmp_path / "v.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf,
        zf.open("v.bin", "w", force_zip64=True) as fh,
    ):
        fh.write(w2v_bin_bytes(v.words, v.matrix))
        for _ in range(6):
            fh.write(bytes(_MEMBER))  # 384 MiB of zeros after the rows
    r = run_case("zip member + 384 MiB zeros", tmp_path,
                 'vecgraft.load(d / "v.zip", format="word2vec-bin")')  # fmt: skip
    assert r["type"] == "FormatError" and "more bytes follow" in r["message"]
    assert grown_kb(r) < 100 << 10


def test_fasttext_bin_gz_streams(tmp_path: Path) -> None:
    words = ["alpha", "beta", "gamma"]
    rng = np.random.default_rng(0)
    inp = rng.standard_normal((3 + 50, 4)).astype(np.float32)
    raw = fasttext_bin_bytes(words, inp, dim=4, bucket=50)
    (tmp_path / "f.bin").write_bytes(raw)
    (tmp_path / "f.bin.gz").write_bytes(gzip.compress(raw))
    (tmp_path / "bomb.bin.gz").write_bytes(gzip.compress(raw) + zeros_gz(2 << 30))
    body = """
    a = vecgraft.load(d / "f.bin", cache=False)
    b = vecgraft.load(d / "f.bin.gz", cache=False)
    assert a.words == b.words and np.array_equal(a.matrix, b.matrix)
    assert np.array_equal(a["unseenword"], b["unseenword"])
    vecgraft.load(d / "bomb.bin.gz", cache=False)
    """
    r = run_case("fastText .bin.gz + 2 GiB zeros", tmp_path, body)
    assert r["type"] == "FormatError" and "unexpected bytes after the output matrix" in r["message"]
    assert grown_kb(r) < 100 << 10


# -- headers checked before allocating --------------------------------------------------------
def _npy_header(shape: tuple[int, ...], descr: str = "<f4") -> bytes:
    import io

    from numpy.lib import format as npformat

    buf = io.BytesIO()
    npformat.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def test_npy_gz_header_of_1e12_rows(tmp_path: Path) -> None:
    (tmp_path / "m.npy.gz").write_bytes(gzip.compress(_npy_header((10**12, 300)) + bytes(4800)))
    (tmp_path / "m.txt").write_text("".join(f"w{i}\n" for i in range(4)))
    r = run_case("npy.gz 1e12 x 300", tmp_path, 'vecgraft.load(d / "m.npy.gz")')
    assert r["type"] == "FormatError"
    assert "m.txt lists 4 words but m.npy.gz has 1000000000000 rows" in r["message"]
    assert grown_kb(r) < 50 << 10


def test_npy_headers_that_lie_or_overflow(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "m.npy").write_bytes(_npy_header((4, 300)) + bytes(4800 - 8))
    (tmp_path / "a" / "m.txt").write_text("a\nb\nc\nd\n")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "m.npy.gz").write_bytes(gzip.compress(_npy_header((4, 300)) + bytes(100)))
    (tmp_path / "b" / "m.txt").write_text("a\nb\nc\nd\n")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "m.npy").write_bytes(_npy_header((0, 2**40)))
    (tmp_path / "c" / "m.txt").write_text("")
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "m.npy").write_bytes(_npy_header((4, 2**62)) + bytes(64))
    (tmp_path / "e" / "m.txt").write_text("a\nb\nc\nd\n")
    body = """
    msgs = {}
    for name in ("a/m.npy", "b/m.npy.gz", "c/m.npy", "e/m.npy"):
        try:
            vecgraft.load(d / name, cache=False)
            msgs[name] = "loaded"
        except VecgraftError as exc:
            msgs[name] = type(exc).__name__ + ": " + str(exc)
    result["msgs"] = msgs
    """
    r = run_case("npy headers", tmp_path, body)
    msgs = r["msgs"]
    assert "needs 4800 bytes of data, the file holds 4792" in msgs["a/m.npy"]
    assert "truncated .npy" in msgs["b/m.npy.gz"] and "found 100" in msgs["b/m.npy.gz"]
    assert "dimension 1099511627776 is not in 1..1048576" in msgs["c/m.npy"]
    assert "dimension 4611686018427387904 is not in" in msgs["e/m.npy"]
    assert all(m.startswith("FormatError") for m in msgs.values()), msgs


def _safetensors(header: dict[str, Any], data: bytes) -> bytes:
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    return struct.pack("<Q", len(head)) + head + data


def test_safetensors_shapes_that_overflow_or_are_absurd(tmp_path: Path) -> None:
    meta = {"vecgraft": json.dumps({"format_version": 1, "count": 4, "word_separator": "\n"})}
    words = b"a\nb\nc\nd"

    def native(shape: list[int], nbytes: int) -> bytes:
        header = {
            "__metadata__": meta,
            "vectors": {"dtype": "F32", "shape": shape, "data_offsets": [0, nbytes]},
            "words": {"dtype": "U8", "shape": [len(words)],
                      "data_offsets": [nbytes, nbytes + len(words)]},
        }  # fmt: skip
        return _safetensors(header, bytes(nbytes) + words)

    (tmp_path / "overflow.safetensors").write_bytes(native([4, 2**62], 0))
    (tmp_path / "wide.safetensors").write_bytes(native([0, 2**40], 0))
    body = """
    msgs = {}
    for name in ("overflow.safetensors", "wide.safetensors"):
        try:
            vecgraft.load(d / name, cache=False)
            msgs[name] = "loaded"
        except VecgraftError as exc:
            msgs[name] = type(exc).__name__ + ": " + str(exc)
    result["msgs"] = msgs
    """
    r = run_case("safetensors shapes", tmp_path, body)
    msgs = r["msgs"]
    assert (
        "tensor 'vectors' has shape [4, 4611686018427387904] but 0 bytes"
        in msgs["overflow.safetensors"]
    )
    assert "dimension 1099511627776 is not in 1..1048576" in msgs["wide.safetensors"]


def test_checkpoint_safetensors_shape_that_overflows(tmp_path: Path) -> None:
    from vecgraft.errors import FormatError
    from vecgraft.io.hf_checkpoint import Checkpoint, read_input_embeddings

    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    tensor = {"dtype": "F32", "shape": [4, 2**62], "data_offsets": [0, 16]}
    (tmp_path / "model.safetensors").write_bytes(
        _safetensors({"embeddings.word_embeddings.weight": tensor}, bytes(16))
    )
    with pytest.raises(FormatError, match="not a readable safetensors file"):
        read_input_embeddings(Checkpoint.open(tmp_path))


def test_zero_rows_of_2_40_columns_is_an_error_in_every_format(tmp_path: Path) -> None:
    (tmp_path / "w.vec").write_text("0 1099511627776\n")
    (tmp_path / "w.bin").write_bytes(b"0 1099511627776\n")
    body = """
    from vecgraft.vectors import Vectors
    msgs = {}
    for name, fmt in (("w.vec", None), ("w.bin", "word2vec-bin")):
        try:
            vecgraft.load(d / name, format=fmt, cache=False)
            msgs[name] = "loaded"
        except VecgraftError as exc:
            msgs[name] = str(exc)
    try:
        Vectors([], np.zeros((0, 2**40), np.float32))
        msgs["Vectors"] = "built"
    except VecgraftError as exc:
        msgs["Vectors"] = str(exc)
    result["msgs"] = msgs
    """
    msgs = run_case("0 x 2**40", tmp_path, body)["msgs"]
    assert "header dimension 1099511627776 is not in 1..1048576" in msgs["w.vec"]
    assert "header dimension 1099511627776 is not in 1..1048576" in msgs["w.bin"]
    assert "dimension 1099511627776 is larger than 1048576" in msgs["Vectors"]


def test_word2vec_headers_that_lie_allocate_nothing(tmp_path: Path) -> None:
    v = small_vectors(5, 300)
    raw = w2v_bin_bytes(v.words, v.matrix, count=10**12)
    (tmp_path / "lie.bin").write_bytes(raw)
    (tmp_path / "lie.bin.gz").write_bytes(gzip.compress(raw))
    raw_mid = w2v_bin_bytes(v.words, v.matrix, count=10**6)
    (tmp_path / "mid.bin.gz").write_bytes(gzip.compress(raw_mid))
    body = """
    msgs = {}
    for name in ("lie.bin", "lie.bin.gz", "mid.bin.gz"):
        try:
            vecgraft.load(d / name, cache=False)
            msgs[name] = "loaded"
        except VecgraftError as exc:
            msgs[name] = type(exc).__name__ + ": " + str(exc)
    result["msgs"] = msgs
    """
    r = run_case("word2vec lying headers", tmp_path, body)
    msgs = r["msgs"]
    assert "header promises 1000000000000 rows" in msgs["lie.bin"]
    # streamed: the rows grow as they arrive, so the lie costs nothing and is named at the end
    assert "header promises 1000000000000 rows" in msgs["lie.bin.gz"]
    assert "header promises 1000000 rows" in msgs["mid.bin.gz"]
    assert grown_kb(r) < 50 << 10


# -- non-regular files -----------------------------------------------------------------------
def test_fifo_and_devices_are_refused_without_opening(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    body = """
    from vecgraft.cli import main
    import io, contextlib
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc_fifo = main(["info", str(d / "pipe.txt")])
        rc_dev = main(["info", "/dev/zero"])
    result.update(rc_fifo=rc_fifo, rc_dev=rc_dev, err=err.getvalue())
    """
    r = run_case("FIFO and /dev/zero", tmp_path, body, timeout=30)
    assert r["rc_fifo"] == 1 and r["rc_dev"] == 1
    assert "is a named pipe (FIFO), not a regular file" in r["err"]
    assert "/dev/zero: is a character device, not a regular file" in r["err"]


# -- trust ------------------------------------------------------------------------------------
def _gensim_kv(path: Path) -> None:
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=3)
    kv.add_vectors(["a", "b"], np.eye(2, 3, dtype=np.float32))
    kv.save(str(path))


def test_trust_is_named_as_each_caller_types_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not a resource case: it runs in this process (gensim and torch are imported already)."""
    import argparse

    import vecgraft
    from vecgraft.cli import main
    from vecgraft.cli.finetune import _config_and_run, _vectors_loader, add_arguments
    from vecgraft.errors import UntrustedFileError

    _gensim_kv(tmp_path / "v.kv")
    with pytest.raises(UntrustedFileError) as err:
        vecgraft.load(tmp_path / "v.kv")
    library = str(err.value)
    assert "vecgraft.load(path, trust=True)" in library and "--trust" not in library
    assert main(["info", str(tmp_path / "v.kv")]) == 1
    cli = capsys.readouterr().err
    assert "pass --trust" in cli and "trust=True" not in cli
    assert main(["info", str(tmp_path / "v.kv"), "--trust"]) == 0
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    argv = ["--vectors", str(tmp_path / "v.kv"), "--out", str(tmp_path / "run")]
    args = parser.parse_args(argv)
    with pytest.raises(UntrustedFileError, match="pass --trust") as err:
        _vectors_loader(args, *_config_and_run(args))(["a", "zz"])
    assert "trust=True" not in str(err.value)
    args = parser.parse_args([*argv, "--trust"])
    assert _vectors_loader(args, *_config_and_run(args))(["a", "zz"]).words == ["a"]
    for text in (library, cli):
        assert "weights_only" not in text


def test_untrusted_pickle_checkpoint_refusal_never_advises_weights_only_false(
    tmp_path: Path,
) -> None:
    from vecgraft.errors import FormatError
    from vecgraft.io.hf_checkpoint import Checkpoint, read_input_embeddings

    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    # protocol 2: GLOBAL posix.system, then REDUCE -- runs a shell command when unpickled
    payload = b"\x80\x02cposix\nsystem\nq\x00X\x0b\x00\x00\x00echo pwned!q\x01\x85q\x02Rq\x03."
    (tmp_path / "pytorch_model.bin").write_bytes(payload)
    with pytest.raises(FormatError, match="refused to load") as err:
        read_input_embeddings(Checkpoint.open(tmp_path))
    assert "weights_only" not in str(err.value) and "posix.system" in str(err.value)


# -- caches -----------------------------------------------------------------------------------
def test_flipped_bytes_in_a_cached_matrix_are_detected_and_rebuilt(tmp_path: Path) -> None:
    v = small_vectors(300, 50)
    (tmp_path / "v.bin").write_bytes(w2v_bin_bytes(v.words, v.matrix))
    body = """
    first = vecgraft.load(d / "v.bin", cache_dir=d / "c")
    path = Path(first.metadata["cache"])
    data = bytearray(path.read_bytes())
    at = len(data) // 2  # inside the matrix, far from the header and the word list
    data[at] ^= 0xFF
    data[at + 1] ^= 0x10
    path.write_bytes(bytes(data))
    def mapped(m):
        return isinstance(m, np.memmap) or isinstance(m.base, np.memmap)
    again = vecgraft.load(d / "v.bin", cache_dir=d / "c")
    assert np.array_equal(np.asarray(again.matrix), np.asarray(first.matrix))
    assert not mapped(again.matrix), "served the damaged cache"
    third = vecgraft.load(d / "v.bin", cache_dir=d / "c")
    assert mapped(third.matrix)  # rebuilt, then served
    assert np.array_equal(np.asarray(third.matrix), np.asarray(first.matrix))
    """
    assert run_case("flipped cache bytes", tmp_path, body)["outcome"] == "ok"


def test_failed_cache_write_warns_once_and_info_says_so(tmp_path: Path) -> None:
    v = small_vectors(300, 50)
    (tmp_path / "v.bin").write_bytes(w2v_bin_bytes(v.words, v.matrix))
    body = """
    import io, contextlib, signal
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a "full disk": writes past 4 KiB fail
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        a = vecgraft.load(d / "v.bin", cache_dir=d / "c")
        b = vecgraft.load(d / "v.bin", cache_dir=d / "c")
    result["warnings"] = [str(w.message) for w in caught]
    result["meta"] = [a.metadata.get("cache"), b.metadata.get("cache_error")]
    from vecgraft.cli import main
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["info", str(d / "v.bin"), "--cache-dir", str(d / "c")])
    result["info"] = out.getvalue()
    result["left"] = sorted(p.name for p in (d / "c").iterdir())
    """
    r = run_case("cache write fails (full disk)", tmp_path, body)
    assert len(r["warnings"]) == 1 and "could not write the vecgraft load cache" in r["warnings"][0]
    assert r["meta"][0] is None and "too large" in r["meta"][1].lower()
    assert "cache:    not written (" in r["info"]
    assert r["left"] == []  # no temp file left behind


def test_stale_temp_files_of_killed_cache_writers_are_removed(tmp_path: Path) -> None:
    v = small_vectors(30, 5)
    (tmp_path / "v.bin").write_bytes(w2v_bin_bytes(v.words, v.matrix))
    cache = tmp_path / "c"
    cache.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = cache / f".old-entry.safetensors.{dead.pid}.tmp"
    stale.write_bytes(b"half a cache file")
    alive = cache / f".other.safetensors.{os.getpid()}.tmp"
    alive.write_bytes(b"being written right now")
    keep = cache / "notes.tmp"
    keep.write_text("not ours")
    body = 'vecgraft.load(d / "v.bin", cache_dir=d / "c")'
    assert run_case("stale cache temps", tmp_path, body)["outcome"] == "ok"
    assert not stale.exists() and alive.exists() and keep.exists()


# -- the memory guard -------------------------------------------------------------------------
def test_memory_guard_refuses_a_full_load_and_suggests_vocab_or_limit(tmp_path: Path) -> None:
    v = small_vectors(2000, 100)
    (tmp_path / "v.bin").write_bytes(w2v_bin_bytes(v.words, v.matrix))
    (tmp_path / "v.vec").write_text(
        "2000 100\n" + "".join(f"{w} " + " ".join(["0.5"] * 100) + "\n" for w in v.words)
    )
    body = """
    import io, contextlib
    from vecgraft.cli import main
    msgs = {}
    for name in ("v.bin", "v.vec"):
        try:
            vecgraft.load(d / name, cache=False, max_memory=100_000)
            msgs[name] = "loaded"
        except VecgraftError as exc:
            msgs[name] = type(exc).__name__ + ": " + str(exc)
        # what it suggests works: a vocab= load of a few words fits the same budget
        small = vecgraft.load(d / name, cache=False, max_memory=100_000, vocab=["cat", "w7"])
        assert small.words == ["cat", "w0", "w7"], small.words  # w0: w7's normalized key
        assert len(vecgraft.load(d / name, cache=False, max_memory=100_000, limit=50)) == 50
    result["rc"], result["cli"] = [], []
    for argv in (["info", str(d / "v.bin")], ["convert", str(d / "v.bin"), str(d / "o.txt"),
                 "--to", "glove"]):  # fmt: skip
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            result["rc"].append(main([*argv, "--max-memory", "100K", "--no-cache"]))
        result["cli"].append(err.getvalue())
    result["msgs"] = msgs
    """
    r = run_case("memory guard", tmp_path, body)
    assert r["outcome"] == "ok", r
    for msg in r["msgs"].values():
        assert msg.startswith("ResourceError") and "vocab=" in msg and "limit=" in msg
        assert "reading about " in msg or "the header's" in msg
    # each command names only the flags it has: `info --vocab` reports coverage, it does
    # not load fewer rows, so info's hint names --limit alone
    info, convert = r["cli"]
    assert r["rc"] == [1, 1]
    assert "load fewer rows with --limit N, or set --max-memory SIZE" in info, info
    assert "--vocab" not in info
    assert "load fewer rows with --vocab FILE or --limit N, or set --max-memory SIZE" in convert
