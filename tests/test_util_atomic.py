"""Atomic writes keep the user's umask and clean up after killed writers."""

from __future__ import annotations

import errno
import os
import stat
import threading
import warnings
from pathlib import Path

import pytest
import torch

from vecgraft._util.atomic import (
    atomic_directory,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    current_umask,
    remove_stale_temps,
    replace_file,
)


@pytest.fixture(params=[0o022, 0o002, 0o077])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_current_umask_reads_without_changing(umask) -> None:
    assert current_umask() == umask
    assert current_umask() == umask


def test_atomic_file_gets_umask_mode(tmp_path, umask) -> None:
    target = tmp_path / "a.json"
    atomic_write_bytes(target, b"{}")
    assert _mode(target) == 0o666 & ~umask


def test_safetensors_inside_atomic_directory_is_not_0600(tmp_path, umask) -> None:
    from safetensors.torch import save_file

    with atomic_directory(tmp_path / "ckpt") as tmp:
        save_file({"w": torch.zeros(2)}, str(tmp / "model.safetensors"))
    assert _mode(tmp_path / "ckpt" / "model.safetensors") == 0o666 & ~umask
    assert _mode(tmp_path / "ckpt") == 0o777 & ~umask


def test_stale_temp_of_a_dead_writer_is_removed(tmp_path) -> None:
    target = tmp_path / "v.bin"
    dead = tmp_path / ".v.bin.999999999.tmp"  # no such pid
    alive = tmp_path / f".v.bin.{os.getpid()}.tmp"
    other = tmp_path / ".w.bin.999999999.tmp"
    for p in (dead, alive, other):
        p.write_bytes(b"x")
    remove_stale_temps(target)
    assert not dead.exists() and alive.exists() and other.exists()


def test_old_transformer_path_warns_and_still_works() -> None:
    import vecgraft.io.transformer as old
    import vecgraft.transformer as new

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert old.from_transformer is new.from_transformer
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)
    with pytest.raises(AttributeError):
        _ = old.no_such_name


def test_errors_name_the_file_asked_for_not_the_temp_file(tmp_path, capsys) -> None:
    from vecgraft.cli import main

    folder = tmp_path / "runs"
    folder.mkdir()
    with pytest.raises(IsADirectoryError) as info:
        atomic_write_bytes(folder, b"x")
    assert info.value.filename == str(folder)
    data = tmp_path / "train.csv"
    data.write_text("text,label\n")
    with pytest.raises(NotADirectoryError) as info:
        atomic_write_bytes(data / "m.json", b"x")
    assert info.value.filename == str(data)
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    with pytest.MonkeyPatch.context() as mp:  # root ignores modes: refuse the open itself
        real_open = os.open  # the temp file is created with os.open (O_EXCL)

        def refuse(file, *args, **kwargs):
            if str(file).endswith(".tmp"):
                raise PermissionError(13, "Permission denied", str(file))
            return real_open(file, *args, **kwargs)

        mp.setattr("os.open", refuse)
        with pytest.raises(PermissionError) as info:
            atomic_write_bytes(blocked / "out.txt", b"x")
    assert info.value.filename == str(blocked / "out.txt")
    assert list(blocked.iterdir()) == []
    vectors = tmp_path / "v.txt"
    vectors.write_text("king 1 0\nqueen 0 1\n")
    assert main(["convert", str(vectors), str(folder), "--to", "glove"]) == 1
    err = capsys.readouterr().err
    assert err == f"vecgraft convert: error: {folder}: is a folder, not a file\n"


def test_atomic_directory_writes_into_the_current_folder_and_through_a_link(
    tmp_path, monkeypatch
):
    # `--out .` was "PosixPath('.') has an empty name"; renamed away, the current folder
    # would have left the shell in a deleted one. A link was replaced by a folder.
    from vecgraft._util.atomic import atomic_directory

    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    with atomic_directory(".", replaces=["a.json"]) as tmp:
        (tmp / "a.json").write_text("1")
    assert (here / "a.json").read_text() == "1" and here.stat().st_ino == Path.cwd().stat().st_ino
    target = tmp_path / "store"
    target.mkdir()
    link = tmp_path / "link"
    link.symlink_to(target)
    for round_ in ("1", "2"):  # an empty target, then an earlier output replaced
        with atomic_directory(link, replaces=["a.json"]) as tmp:
            (tmp / "a.json").write_text(round_)
        assert link.is_symlink() and (target / "a.json").read_text() == round_
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here", "link", "store"]


def _fake_null(path: Path) -> Path:
    """A character device node like /dev/null (1, 3) under tmp; skipped where mknod is refused."""
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except (PermissionError, AttributeError):
        pytest.skip("making a device node needs root")
    os.chmod(path, 0o666)  # mknod applies the umask
    return path


def _fifo_reader(fifo: Path) -> tuple[threading.Thread, list[bytes]]:
    got: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as fh:
            got.append(fh.read())

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread, got


def test_a_device_or_fifo_is_written_into_not_renamed_over(tmp_path) -> None:
    # `--metrics-out /dev/null` as root replaced /dev/null with a regular file, and
    # `--metrics-out fifo` replaced the FIFO, its reader waiting forever
    null = _fake_null(tmp_path / "null")
    atomic_write_json(null, {"accuracy": 1.0})
    assert stat.S_ISCHR(os.lstat(null).st_mode) and os.lstat(null).st_rdev == os.makedev(1, 3)
    assert stat.S_IMODE(os.lstat(null).st_mode) == 0o666  # not chmod'ed to the umask's
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    thread, got = _fifo_reader(fifo)
    atomic_write_bytes(fifo, b"scores\n")
    thread.join(10)
    assert got == [b"scores\n"] and stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "null"]  # no temp files
    for node in (null, fifo):  # a folder output is refused, the node kept
        refused = pytest.raises(NotADirectoryError, match="not a folder")
        with refused as info, atomic_directory(node):
            pass
        assert info.value.filename == str(node)
    assert "is a named pipe (FIFO), not a folder" in str(info.value)
    assert stat.S_ISCHR(os.lstat(null).st_mode) and stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "null"]


def test_a_link_is_written_through_and_stays_a_link(tmp_path) -> None:
    # `--metrics-out link.json` replaced the link with a regular file
    store = tmp_path / "store"
    store.mkdir()
    (store / "m.json").write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(Path("store") / "m.json")  # relative, as `ln -s` makes it
    atomic_write_text(link, "new")
    assert link.is_symlink() and (store / "m.json").read_text() == "new"
    dangling = tmp_path / "later.json"
    dangling.symlink_to(store / "later.json")
    atomic_write_text(dangling, "made")
    assert dangling.is_symlink() and (store / "later.json").read_text() == "made"
    to_null = tmp_path / "to-null"
    to_null.symlink_to(_fake_null(store / "null"))
    atomic_write_text(to_null, "gone")
    assert to_null.is_symlink() and stat.S_ISCHR(os.lstat(store / "null").st_mode)
    assert sorted(p.name for p in store.iterdir()) == ["later.json", "m.json", "null"]


def test_replace_file_keeps_links_and_devices(tmp_path) -> None:
    # what writers that make their own file (pretrain's staged folder, gensim's fastText
    # .bin) move into place goes through the same rules as atomic_write
    staged = tmp_path / "staged"
    staged.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    null = _fake_null(tmp_path / "null")
    (out / "vectors.txt").symlink_to(null)
    (out / "real.txt").write_text("old")
    (out / "vocab.json").symlink_to(out / "real.txt")
    for name in ("vectors.txt", "vocab.json", "metadata.json"):
        (staged / name).write_text(f"new {name}")
        replace_file(staged / name, out / name)
    assert list(staged.iterdir()) == []
    assert (out / "vectors.txt").is_symlink() and stat.S_ISCHR(os.lstat(null).st_mode)
    assert (out / "vocab.json").is_symlink() and (out / "real.txt").read_text() == "new vocab.json"
    assert (out / "metadata.json").read_text() == "new metadata.json"


def test_write_failure_reads_a_rust_writers_errno_and_names_the_output(tmp_path):
    from vecgraft._util.atomic import write_failure

    exc = write_failure(RuntimeError("I/O error: Permission denied (os error 13)"), tmp_path / "o")
    assert (exc.errno, exc.strerror, exc.filename) == (13, "Permission denied", str(tmp_path / "o"))


def test_writing_names_the_output_for_a_file_of_its_temp_folder_only(tmp_path):
    from vecgraft._util.atomic import writing

    temp = tmp_path / ".out.1.tmp"
    with pytest.raises(OSError) as caught, writing(tmp_path / "out", temp=temp):
        raise OSError(errno.ENOSPC, "No space left on device", str(temp / "model.json"))
    assert str(caught.value) == f"[Errno 28] No space left on device: '{tmp_path / 'out'}'"
    other = tmp_path / "user_dict.txt"  # a file read meanwhile keeps its own name
    with pytest.raises(FileNotFoundError) as caught, writing(tmp_path / "out", temp=temp):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(other))
    assert caught.value.filename == str(other)


def test_write_failure_leaves_an_error_that_is_no_failed_write_as_it_is(tmp_path, monkeypatch):
    # a CUDA error in torch.save read "could not write", or "No space left on device"
    # when the disk happened to have under 1 MiB free; torch's own text was dropped
    from vecgraft._util import atomic

    cuda = RuntimeError("CUDA error: an illegal memory access was encountered")
    with pytest.raises(RuntimeError) as caught, atomic.writing(tmp_path / "ckpt", RuntimeError):
        raise cuda
    assert caught.value is cuda
    monkeypatch.setattr(atomic, "_free_bytes", lambda path: 512 * 1024)
    assert atomic.write_failure(cuda, tmp_path / "ckpt") is None
    pos = RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 17 vs 10")
    exc = atomic.write_failure(pos, tmp_path / "ckpt")
    assert (exc.errno, exc.strerror, exc.filename) == (
        errno.ENOSPC,
        f"No space left on device ({pos})",
        str(tmp_path / "ckpt"),
    )
