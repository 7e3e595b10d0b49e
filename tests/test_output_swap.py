"""An output replacing an earlier one is all-or-nothing, wherever its writing stops.

Stopped (Ctrl-C, SIGTERM, kill) while `pretrain` moved its files into an existing `--out`,
the folder held the new vectors beside the old vectors.txt and no metadata.json, and the
rerun refused it ("not a pretrain output"); a `build` left new rows beside the old
vocab.json. Each test stops the writer at every rename of the swap in turn.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from pathlib import Path

import pytest
import torch

from vecgraft._util.atomic import (
    atomic_directory,
    folder_or_old_twin,
    staged_twin,
)
from vecgraft.nn.embedding import load_embedding, random_embedding, save_embedding
from vecgraft.pretrain.outputs import prepare_out, staged_output
from vecgraft.text import Vocab


class Killed(BaseException):
    """A stop from which nothing more runs (SIGKILL, a power cut): every later rename fails."""


def _stop_at(monkeypatch, k: int, exc: type[BaseException]) -> list[int]:
    """Make the `k`-th os.replace/os.rename raise `exc` (`Killed`: that one and all later)."""
    calls = [0]
    real = {"replace": os.replace, "rename": os.rename}

    def wrap(name: str):
        def call(*args, **kwargs):
            calls[0] += 1
            if calls[0] == k or (exc is Killed and calls[0] > k):
                raise exc
            return real[name](*args, **kwargs)

        return call

    monkeypatch.setattr(os, "replace", wrap("replace"))
    monkeypatch.setattr(os, "rename", wrap("rename"))
    return calls


def _contents(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


def _stopped(monkeypatch, k: int, exc: type[BaseException], write) -> tuple[bool, bool]:
    """Run `write` stopped at its `k`-th rename: (was it stopped, had it a k-th rename)."""
    with monkeypatch.context() as mp:
        calls = _stop_at(mp, k, exc)
        try:
            write()
        except (KeyboardInterrupt, Killed):
            return True, True
    return False, calls[0] >= k


# -- atomic_directory: the folder swapped whole ----------------------------------------------
@pytest.mark.parametrize("exc", [KeyboardInterrupt, Killed])
def test_atomic_directory_stopped_at_any_rename_keeps_a_whole_folder(tmp_path, monkeypatch, exc):
    final = tmp_path / "model"
    old, new = {"a.json": "old", "b.bin": "old"}, {"a.json": "new", "c.bin": "new"}

    def write(files):
        with atomic_directory(final, replaces=["a.json"]) as tmp:
            for name, text in files.items():
                (tmp / name).write_text(text)

    stops = 0
    for k in itertools.count(1):
        write(old)
        stopped, reached = _stopped(monkeypatch, k, exc, lambda: write(new))
        stops += stopped
        # the old folder (put back), or the new one; killed between the renames: its twin
        assert _contents(folder_or_old_twin(final) or final) in (old, new)
        if exc is KeyboardInterrupt:
            assert final.is_dir()
        write(new)  # the rerun: never refused
        assert _contents(final) == new
        assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
        if not reached:
            break
    assert stops >= 2  # both renames of the swap were stopped at


def test_atomic_directory_into_an_empty_folder_stopped_leaves_it_empty(tmp_path, monkeypatch):
    final = tmp_path / "here"
    final.mkdir()

    def write():
        with atomic_directory(final) as tmp:
            (tmp / "a.json").write_text("1")
            (tmp / "b.json").write_text("2")

    for k in itertools.count(1):
        stopped, reached = _stopped(monkeypatch, k, KeyboardInterrupt, write)
        assert _contents(final) == ({} if stopped else {"a.json": "1", "b.json": "2"})
        for p in final.iterdir():
            p.unlink()
        if not reached:
            break


# -- pretrain: files moved into a folder that may hold the user's --------------------------
OLD = {"vectors.safetensors": "o", "vectors.txt": "o", "vectors.bin": "o", "model.bin": "o",
       "vocab.json": "o"}  # fmt: skip
NEW = {"vectors.safetensors": "n", "vectors.txt": "n", "vectors.bin": "n", "vocab.json": "n"}


def _metadata(files: dict[str, str], tag: str) -> str:
    import json

    return json.dumps({"tag": tag, "files": {name: name for name in [*files, "metadata.json"]}})


def _pretrain_like(out: Path, files: dict[str, str], tag: str) -> None:
    """What `pretrain` does with its output folder, the training left out."""
    earlier = prepare_out(out)
    with staged_output(out, earlier) as folder:
        for name, text in files.items():
            (folder / name).write_text(text)
        (folder / "metadata.json").write_text(_metadata(files, tag))


def _whole(files: dict[str, str], tag: str) -> dict[str, str]:
    return {**files, "metadata.json": _metadata(files, tag), "notes.txt": "mine"}


@pytest.mark.parametrize("exc", [KeyboardInterrupt, Killed])
def test_pretrain_output_stopped_while_moving_in_is_old_or_new_and_reruns(
    tmp_path, monkeypatch, exc
):
    out = tmp_path / "ref"
    stops = 0
    for k in itertools.count(1):
        _pretrain_like(out, OLD, "old")
        (out / "notes.txt").write_text("mine")  # the user's file: it stays
        stopped, reached = _stopped(monkeypatch, k, exc, lambda: _pretrain_like(out, NEW, "new"))
        stops += stopped
        if exc is KeyboardInterrupt:
            assert not staged_twin(out).exists()
        else:  # killed: at worst half moved in, which the next run finishes first
            prepare_out(out)
        assert _contents(out) in (_whole(OLD, "old"), _whole(NEW, "new"))
        _pretrain_like(out, NEW, "new")  # the rerun is never refused
        assert _contents(out) == _whole(NEW, "new")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["ref"]
        if not reached:
            break
    assert stops >= len(NEW) + 1


def test_a_move_in_left_by_an_older_version_is_finished_not_refused(tmp_path):
    # the tester's folder: new vectors.safetensors and vectors.bin, the old vectors.txt, no
    # metadata.json; `.ref.new` (no journal) holding the rest
    out = tmp_path / "ref"
    out.mkdir()
    for name, text in {"vectors.safetensors": "n", "vectors.bin": "n", "vectors.txt": "o"}.items():
        (out / name).write_text(text)
    staged = tmp_path / ".ref.new"
    staged.mkdir()
    (staged / "vectors.txt").write_text("n")
    (staged / "vocab.json").write_text("n")
    (staged / "metadata.json").write_text(_metadata(NEW, "new"))
    assert prepare_out(out) == {*NEW, "metadata.json"}
    assert _contents(out) == {**NEW, "metadata.json": _metadata(NEW, "new")}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ref"]


def test_a_real_pretrain_stopped_while_moving_in_reruns(tmp_path, monkeypatch):
    pytest.importorskip("gensim")
    from pretrain_helpers import synonym_corpus, write_lines
    from vecgraft.pretrain import PretrainConfig, pretrain

    corpus = write_lines(tmp_path / "c.txt", synonym_corpus(100))
    out = tmp_path / "pt" / "ref"

    def config(seed):
        return PretrainConfig("word2vec", [str(corpus)], str(out), dim=4, epochs=1,
                              min_count=2, workers=1, seed=seed, progress=False)  # fmt: skip

    pretrain(config(1))
    names = sorted(p.name for p in out.iterdir())
    with monkeypatch.context() as mp:  # the vectors.safetensors moved in, then a kill
        moved = []
        real = os.replace

        def replace(src, dst):
            if moved:
                raise Killed
            real(src, dst)
            if Path(dst) == out / "vectors.safetensors":
                moved.append(dst)

        mp.setattr(os, "replace", replace)
        with pytest.raises(Killed):
            pretrain(config(7))
    assert not (out / "metadata.json").exists()  # half moved in
    import vecgraft

    loaded = vecgraft.load(out, cache=False)  # finishes the move first: the new run, whole
    assert sorted(p.name for p in out.iterdir()) == names
    assert loaded.metadata["options"]["seed"] == 7
    assert vecgraft.load(out / "vectors.txt", cache=False).words == loaded.words
    result = pretrain(config(7))  # finishes the move, then runs again: not refused
    assert sorted(p.name for p in out.iterdir()) == names
    assert result.metadata["options"]["seed"] == 7
    assert sorted(p.name for p in out.parent.iterdir()) == ["ref"]


# -- build: embedding.safetensors, vocab.json, report.json ----------------------------------
def _embedding(words: list[str], seed: int) -> tuple[torch.nn.Embedding, Vocab]:
    vocab = Vocab.from_counts({w: 1 for w in words})
    return random_embedding(vocab, dim=3, seed=seed), vocab


@pytest.mark.parametrize("exc", [KeyboardInterrupt, Killed])
def test_build_output_stopped_while_moving_in_is_old_or_new(tmp_path, monkeypatch, exc):
    out = tmp_path / "emb"
    old, new = _embedding(["cat", "dog"], 0), _embedding(["car", "bus", "van"], 1)
    stops = 0
    for k in itertools.count(1):
        save_embedding(out, *old, report={})
        (out / "notes.txt").write_text("mine")
        stopped, reached = _stopped(
            monkeypatch, k, exc, lambda: save_embedding(out, *new, report={})
        )
        stops += stopped
        embedding, vocab, _ = load_embedding(out)  # killed: it finishes the move first
        assert (vocab.tokens, embedding.weight.tolist()) in [
            (v.tokens, e.weight.tolist()) for e, v in (old, new)
        ]
        save_embedding(out, *new, report={})
        assert load_embedding(out)[1].tokens == new[1].tokens
        assert (out / "notes.txt").read_text() == "mine"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["emb"]
        if not reached:
            break
    assert stops >= 3


def test_a_foreign_folder_named_like_the_staged_one_is_left_alone(tmp_path):
    out = tmp_path / "emb"
    save_embedding(out, *_embedding(["cat", "dog"], 0), report={})
    foreign = staged_twin(out)
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    assert load_embedding(out)[1].tokens[-2:] == ["cat", "dog"]  # nothing moved in
    with pytest.raises(FileExistsError, match=r"holds files but no \.move-in\.json"):
        save_embedding(out, *_embedding(["car"], 1), report={})
    assert _contents(foreign) == {"notes.txt": "mine"}
    assert load_embedding(out)[1].tokens[-2:] == ["cat", "dog"]


# -- readers: only a folder's own staged move-in is finished ----------------------------------
def test_loading_a_file_leaves_the_folder_beside_its_folder_alone(tmp_path):
    import vecgraft

    (tmp_path / "data").mkdir()
    (tmp_path / ".data.new").mkdir()  # the user's (empty) folder: it was deleted
    (tmp_path / "data" / "v.txt").write_text("a 1 2\nb 3 4\n")
    assert vecgraft.load(tmp_path / "data" / "v.txt", format="glove", cache=False).words == [
        "a",
        "b",
    ]
    assert (tmp_path / ".data.new").is_dir()
    from vecgraft._util.atomic import finish_move_in

    assert finish_move_in(tmp_path / "data") is False  # no journal: not vecgraft's to remove
    assert (tmp_path / ".data.new").is_dir()


def test_loading_a_file_of_a_read_only_folder_is_not_refused(tmp_path, monkeypatch):
    import vecgraft

    (tmp_path / "data").mkdir()
    (tmp_path / ".data.new").mkdir()
    (tmp_path / "data" / "v.txt").write_text("a 1 2\nb 3 4\n")

    def read_only(self):  # a folder one may read but not write into (chmod 555, not root)
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "rmdir", read_only)
    monkeypatch.setattr(Path, "rename", read_only)
    # it was "a write into this folder was stopped while its files moved in"
    loaded = vecgraft.load(tmp_path / "data" / "v.txt", format="glove", cache=False)
    assert loaded.words == ["a", "b"]


def test_finishing_a_move_in_into_the_root_folder_is_nothing_to_do():
    from vecgraft._util.atomic import finish_move_in

    assert finish_move_in("/") is False  # it was "PosixPath('/') has an empty name"


@pytest.mark.parametrize("exc", [OSError(5, "transient"), KeyboardInterrupt()])
def test_a_move_in_whose_retry_succeeds_is_a_success(tmp_path, monkeypatch, exc):
    from vecgraft._util import atomic

    out, real, calls = tmp_path / "out", atomic.replace_file, []

    def flaky(src, dst):
        calls.append(dst)
        if len(calls) == 1:
            raise exc
        return real(src, dst)

    monkeypatch.setattr(atomic, "replace_file", flaky)
    with contextlib.ExitStack() as stack:
        if isinstance(exc, KeyboardInterrupt):  # a stop still stops, the output whole
            stack.enter_context(pytest.raises(KeyboardInterrupt))
        with atomic.files_moved_in(out, last="metadata.json") as tmp:
            (tmp / "vectors.txt").write_text("v")
            (tmp / "metadata.json").write_text("m")
    assert _contents(out) == {"metadata.json": "m", "vectors.txt": "v"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_move_in_whose_retry_fails_raises_the_first_error(tmp_path, monkeypatch):
    from vecgraft._util import atomic

    def broken(src, dst):
        raise OSError(5, "first" if not broken.calls else "second", str(dst))

    broken.calls = 0

    def counted(src, dst):
        try:
            broken(src, dst)
        finally:
            broken.calls += 1

    monkeypatch.setattr(atomic, "replace_file", counted)
    out = tmp_path / "out"
    with pytest.raises(OSError, match="first"), atomic.files_moved_in(out, last="m.json") as tmp:
        (tmp / "m.json").write_text("m")


# -- two finishers of one move-in ------------------------------------------------------------
def _half_moved(tmp_path: Path, staged_name: str = ".out.new") -> Path:
    """An output a run killed while moving in left: new files staged with their journal."""
    import json

    out = tmp_path / "out"
    out.mkdir()
    (out / "vectors.txt").write_text("old")
    (out / "metadata.json").write_text("old-meta")
    staged = tmp_path / staged_name
    staged.mkdir()
    (staged / "vectors.txt").write_text("new")
    (staged / "metadata.json").write_text("new-meta")
    (staged / ".move-in.json").write_text(json.dumps({"last": "metadata.json", "stale": []}))
    return out


def test_a_second_finisher_in_the_middle_of_a_move_in_keeps_its_metadata(tmp_path, monkeypatch):
    from vecgraft._util.atomic import finish_move_in

    out = _half_moved(tmp_path)
    real_unlink, others = Path.unlink, []

    def unlink(self, missing_ok=False):
        if self == out / "metadata.json" and not others:  # A about to unlink: B runs
            others.append(None)
            others[0] = finish_move_in(out)
        return real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink)
    assert finish_move_in(out) is True
    # B found the folder claimed, and left it to A; it was B moving all in, then A
    # deleting the new metadata.json for good
    assert others == [False]
    assert _contents(out) == {"metadata.json": "new-meta", "vectors.txt": "new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_claim_whose_finisher_died_is_finished_and_a_live_ones_left(tmp_path, monkeypatch):
    from vecgraft._util import atomic

    host = atomic._host()
    out = _half_moved(tmp_path, f".out.new.{host}.4242.00ab.claim")
    monkeypatch.setattr(atomic, "pid_alive", lambda pid: pid != 4242)  # 4242 is dead
    assert atomic.finish_move_in(out) is True
    assert _contents(out) == {"metadata.json": "new-meta", "vectors.txt": "new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    live = tmp_path / f".out.new.{host}.4343.00ab.claim"  # its finisher runs: it is its
    live.mkdir()
    (live / ".move-in.json").write_text('{"last": "metadata.json", "stale": []}')
    assert atomic.finish_move_in(out) is False
    assert live.is_dir()


def test_a_new_output_removes_the_claims_another_machine_left(tmp_path, monkeypatch):
    """A claim host A left is never finished on B; finished later on A, it overwrote B's output."""
    from vecgraft._util import atomic

    out = _half_moved(tmp_path, ".out.new.hostA.4242.00ab.claim")
    (out / "metadata.json").unlink()  # A was killed after removing the old metadata.json
    mine = atomic._host()
    live = tmp_path / f".out.new.{mine}.4343.00cd.claim"  # a finisher here, running now
    live.mkdir()
    monkeypatch.setattr(atomic, "pid_alive", lambda pid: pid == 4343)
    assert atomic.finish_move_in(out) is False  # B's reader leaves A's claim
    assert (tmp_path / ".out.new.hostA.4242.00ab.claim").is_dir()
    with atomic.files_moved_in(out, last="metadata.json") as tmp:
        (tmp / "metadata.json").write_text("B-meta")
        (tmp / "vectors.txt").write_text("B")
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name, "out"]
    monkeypatch.setattr(atomic, "_host", lambda: "hostA")  # later, a reader on host A
    assert atomic.finish_move_in(out) is False
    assert _contents(out) == {"metadata.json": "B-meta", "vectors.txt": "B"}
