"""Links planted inside output folders (a run folder handed over, a shared cache).

A link the user names (`--metrics-out`, `--out`) is written through; one found at a name
vecgraft writes inside its own output folder is replaced, never written through: it could
point at any file of the user's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import warnings
from pathlib import Path

import pytest

import vecgraft
from io_helpers import small_vectors, write_w2v_bin
from vecgraft._util import atomic
from vecgraft._util.atomic import (
    LinkRefusedError,
    atomic_directory,
    atomic_write_text,
    dead_writers_temp,
    links_replaced,
    remove_stale_temps,
)
from vecgraft.io import cache as cache_mod
from vecgraft.io import cache_admin


@pytest.fixture()
def victim(tmp_path: Path) -> Path:
    file = tmp_path / "victim.txt"
    file.write_text("precious")
    return file


# -- the primitives ---------------------------------------------------------------------------
def test_a_link_the_user_names_is_still_written_through(tmp_path: Path, victim: Path) -> None:
    link = tmp_path / "out.json"
    link.symlink_to(victim)
    atomic_write_text(link, "new")
    assert link.is_symlink() and victim.read_text() == "new"


def test_follow_links_false_replaces_the_link_itself(tmp_path: Path, victim: Path) -> None:
    link = tmp_path / "out.json"
    link.symlink_to(victim)
    atomic_write_text(link, "new", follow_links=False)
    assert not link.is_symlink() and link.read_text() == "new"
    assert victim.read_text() == "precious"


def test_inside_links_replaced_a_link_at_the_name_is_replaced(tmp_path: Path, victim: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "report.txt").symlink_to(victim)
    dangling = run / "history.json"
    dangling.symlink_to(tmp_path / "outside" / "planted.json")
    with links_replaced(run):
        atomic_write_text(run / "report.txt", "report")
        atomic_write_text(dangling, "[]")
    assert victim.read_text() == "precious" and not (tmp_path / "outside").exists()
    assert (run / "report.txt").read_text() == "report" and not dangling.is_symlink()


def test_the_output_folder_itself_may_be_a_link(tmp_path: Path, victim: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "named").symlink_to(real)
    (real / "report.txt").symlink_to(victim)
    with links_replaced(tmp_path / "named"):
        atomic_write_text(tmp_path / "named" / "report.txt", "report")
    assert (real / "report.txt").read_text() == "report" and victim.read_text() == "precious"


def test_a_linked_folder_on_the_way_is_refused(tmp_path: Path) -> None:
    run, outside = tmp_path / "run", tmp_path / "outside"
    run.mkdir()
    outside.mkdir()
    (run / "plots").symlink_to(outside)
    with links_replaced(run), pytest.raises(LinkRefusedError) as caught:
        atomic_write_text(run / "plots" / "loss.png", "png")
    said = (f"refusing to write through the link plots -> {outside} in {run}: links inside an "
            "output folder are not followed; link the whole --out folder instead")
    assert caught.value.strerror == said
    assert list(outside.iterdir()) == []


def test_a_link_above_a_nested_output_folder_is_refused(tmp_path: Path) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    (elsewhere / "cells" / "a").mkdir(parents=True)
    (out / "cells").symlink_to(elsewhere / "cells")  # compare's cells/ handed over linked
    cell = out / "cells" / "a"  # the cell's run folder, registered as it resolves
    refused = pytest.raises(LinkRefusedError, match=r"the link cells -> .*elsewhere/cells in ")
    with links_replaced(out), links_replaced(cell), refused:
        atomic_write_text(cell / "metrics.json", "{}")
    assert list((elsewhere / "cells" / "a").iterdir()) == []


def test_an_out_linked_to_its_own_parent_is_the_users_link(tmp_path: Path) -> None:
    # `P/out -> .`: out resolves as P does; checked from P, the user's own link was refused
    parent = tmp_path / "P"
    parent.mkdir()
    (parent / "out").symlink_to(".")
    out = parent / "out"
    with links_replaced(out):
        atomic_write_text(out / "report.md", "done")
    assert (parent / "report.md").read_text() == "done"


def test_the_load_cache_inside_an_output_folder_keeps_its_own_scope(tmp_path: Path) -> None:
    # `compare --out ~` with a linked ~/.cache: the cache is not one of compare's outputs
    out, shared = tmp_path / "proj", tmp_path / "sharedcache"
    out.mkdir()
    shared.mkdir()
    (out / ".cache").symlink_to(shared)
    cache = out / ".cache" / "vecgraft"
    cache.mkdir()
    with links_replaced(out), links_replaced(cache, alone=True):
        atomic_write_text(cache / "entry.safetensors", "x")
    assert (shared / "vecgraft" / "entry.safetensors").read_text() == "x"
    with links_replaced(out), pytest.raises(LinkRefusedError), links_replaced(cache):
        atomic_write_text(cache / "entry.safetensors", "y")  # nested: compare's rule applies


def test_a_run_folder_linked_inside_an_output_folder_is_refused(tmp_path: Path) -> None:
    from vecgraft.finetune.rundir import run_lock

    out, elsewhere = tmp_path / "tune2", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "final").symlink_to(elsewhere / "final2")  # tune's final/ handed over linked
    with links_replaced(out), pytest.raises(LinkRefusedError) as caught, run_lock(out / "final"):
        pass
    said = (f"refusing to write through the link final -> {elsewhere / 'final2'} in {out}: links "
            "inside an output folder are not followed; link the whole --out folder instead")
    assert caught.value.strerror == said
    assert list(elsewhere.iterdir()) == []


def test_a_linked_run_folder_the_user_names_is_still_used(tmp_path: Path) -> None:
    from vecgraft.finetune.rundir import run_lock

    (tmp_path / "real").mkdir()
    (tmp_path / "named").symlink_to(tmp_path / "real")
    with run_lock(tmp_path / "named"):
        atomic_write_text(tmp_path / "named" / "report.txt", "report")
    assert (tmp_path / "real" / "report.txt").read_text() == "report"


def test_a_folder_written_over_a_link_leaves_the_linked_folder_alone(tmp_path: Path) -> None:
    run, elsewhere = tmp_path / "run", tmp_path / "vdir"
    run.mkdir()
    elsewhere.mkdir()
    (elsewhere / "fusion.json").write_text("{}")
    (elsewhere / "keep.txt").write_text("mine")
    (run / "fusion").symlink_to(elsewhere)
    said = (f"replaced the link fusion -> {elsewhere} in {run} with a folder: links inside an "
            "output folder are not followed; link the whole --out folder instead")
    with (
        pytest.warns(UserWarning) as noted,
        links_replaced(run),
        atomic_directory(run / "fusion") as tmp,
    ):
        (tmp / "fusion.json").write_text('{"new": 1}')
    assert [str(w.message) for w in noted] == [said]
    assert sorted(p.name for p in elsewhere.iterdir()) == ["fusion.json", "keep.txt"]
    assert (elsewhere / "fusion.json").read_text() == "{}"
    assert not (run / "fusion").is_symlink()
    assert (run / "fusion" / "fusion.json").read_text() == '{"new": 1}'


# -- temp names -------------------------------------------------------------------------------
def test_temp_names_are_unpredictable_and_still_name_their_writer(tmp_path: Path) -> None:
    first, second = atomic._temp_path(tmp_path / "v.bin"), atomic._temp_path(tmp_path / "v.bin")
    assert first != second
    assert re.fullmatch(rf"\.v\.bin\.{os.getpid()}\.w[0-9a-f]{{8}}\.tmp", first.name)
    dead = tmp_path / ".v.bin.999999999.w0123abcd.tmp"
    assert dead_writers_temp(dead) == "v.bin"
    dead.write_text("half")
    old_style = tmp_path / ".v.bin.999999998.tmp"
    old_style.write_text("half")
    remove_stale_temps(tmp_path / "v.bin")
    assert not dead.exists() and not old_style.exists()


def test_a_link_planted_at_the_temp_name_is_never_opened(tmp_path: Path, victim: Path) -> None:
    tmp = tmp_path / ".x.1.w00000000.tmp"
    tmp.symlink_to(victim)
    with pytest.raises(FileExistsError):
        atomic._create_exclusive(tmp)
    assert victim.read_text() == "precious"


def test_cache_sweeps_and_segment_cache_know_the_new_temp_names() -> None:
    from vecgraft.text.segment_admin import _OWN_TEMP

    assert cache_mod.TEMP_RE.match(".e.safetensors.12.w0123abcd.tmp")["name"] == "e.safetensors"
    assert _OWN_TEMP.match(".config.json.12.w0123abcd.tmp")


# -- the load cache ---------------------------------------------------------------------------
@pytest.fixture()
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    v = small_vectors(40, 6)
    return write_w2v_bin(tmp_path / "vectors.bin", v.words, v.matrix)


def test_a_link_planted_at_a_cache_entry_is_replaced(source: Path, tmp_path: Path) -> None:
    cdir = tmp_path / "cache"
    vecgraft.load(source, cache_dir=cdir)
    (entry,) = cdir.glob("*.safetensors")
    entry.unlink()
    planted = tmp_path / "outside" / "planted.safetensors"
    planted.parent.mkdir()
    entry.symlink_to(planted)
    loaded = vecgraft.load(source, cache_dir=cdir)
    assert not planted.exists()
    assert not entry.is_symlink() and loaded.metadata["cache"] == str(entry)


def test_a_shared_cache_folder_is_warned_about_once(source: Path, tmp_path: Path) -> None:
    cdir = tmp_path / "shared"
    cdir.mkdir()
    os.chmod(cdir, 0o777)
    cache_admin._SHARED_WARNED.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        vecgraft.load(source, cache_dir=cdir)
        cache_admin.warn_if_shared(cdir)
    said = [str(w.message) for w in caught if "writable by other users" in str(w.message)]
    assert said == [
        f"the vecgraft cache folder {cdir} is writable by other users (mode 777, not sticky): "
        "whoever may write there decides what later loads return; use a folder only you can "
        "write (chmod go-w, or another --cache-dir)"
    ]


@pytest.mark.parametrize("mode", [0o755, 0o1777])
def test_a_private_or_sticky_cache_folder_is_not_warned_about(tmp_path: Path, mode: int) -> None:
    cdir = tmp_path / "c"
    cdir.mkdir()
    os.chmod(cdir, mode)
    cache_admin._SHARED_WARNED.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cache_admin.warn_if_shared(cdir)
    assert stat.S_IMODE(cdir.stat().st_mode) == mode


def test_cache_list_warns_about_a_shared_folder(tmp_path: Path, capsys) -> None:
    from vecgraft.cli import main

    cdir = tmp_path / "shared"
    cdir.mkdir()
    os.chmod(cdir, 0o775)
    cache_admin._SHARED_WARNED.clear()
    assert main(["cache", "list", "--cache-dir", str(cdir)]) == 0
    assert "is writable by other users (mode 775, not sticky)" in capsys.readouterr().err


# -- run folders ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from finetune_helpers import make_dataset

    return make_dataset(tmp_path_factory.mktemp("links"), train_per_class=10, test_per_class=3)


def run_config(data, out: Path, **changes):
    from vecgraft.finetune.config import FinetuneConfig

    return FinetuneConfig(
        train=str(data["train"]), test=str(data["test"]), vectors="random", model="boe",
        out=str(out), epochs=1, batch_size=16, embedding_dim=8, patience=None,
        progress=False, plots=False, **changes,
    )  # fmt: skip


def quiet(_msg: str) -> None:
    return None


@pytest.fixture(scope="module")
def finished(data, tmp_path_factory) -> Path:
    from vecgraft.finetune.run import finetune

    out = tmp_path_factory.mktemp("finished") / "run"
    finetune(run_config(data, out), log=quiet)
    return out


def handed_over(finished: Path, tmp_path: Path, links: dict[str, Path]) -> Path:
    """A copy of `finished` with each name of `links` a link to its path, and unlisted."""
    copy = tmp_path / "evil"
    shutil.copytree(finished, copy)
    for name, target in links.items():
        if (copy / name).is_dir():
            shutil.rmtree(copy / name)
        else:
            (copy / name).unlink(missing_ok=True)
        (copy / name).symlink_to(target)
    return copy


def unlist(run: Path, name: str) -> None:
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["files"].remove(name)
    (run / "manifest.json").write_text(json.dumps(manifest))


def test_evaluate_replaces_a_planted_eval_json(data, finished, tmp_path, victim) -> None:
    from vecgraft.cli import main

    run = handed_over(finished, tmp_path, {"eval-test.json": victim})
    assert main(["evaluate", str(run), "--data", str(data["test"])]) == 0
    assert victim.read_text() == "precious"
    assert not (run / "eval-test.json").is_symlink()
    assert "accuracy" in json.loads((run / "eval-test.json").read_text())["test"]


def test_evaluate_still_writes_through_a_metrics_out_link(data, finished, tmp_path) -> None:
    from vecgraft.cli import main

    target = tmp_path / "scores.json"
    target.write_text("{}")
    (tmp_path / "named.json").symlink_to(target)
    argv = ["evaluate", str(finished), "--data", str(data["test"])]
    assert main([*argv, "--metrics-out", str(tmp_path / "named.json")]) == 0
    assert "accuracy" in json.loads(target.read_text())["test"]


def test_an_adopted_resume_replaces_planted_links(data, finished, tmp_path, victim) -> None:
    from vecgraft.finetune.run import finetune

    other = tmp_path / "victim3.txt"
    other.write_text("precious too")
    run = handed_over(finished, tmp_path, {"report.txt": victim, "history.json": other})
    finetune(run_config(data, run, resume=True), adopt=True, log=quiet)
    assert victim.read_text() == "precious" and other.read_text() == "precious too"
    assert not (run / "report.txt").is_symlink() and not (run / "history.json").is_symlink()


def test_an_overwrite_replaces_an_unlisted_planted_file_link(data, finished, tmp_path, victim):
    from vecgraft.finetune.run import finetune

    run = handed_over(finished, tmp_path, {"report.txt": victim})
    unlist(run, "report.txt")
    finetune(run_config(data, run, seed=3), overwrite=True, log=quiet)
    assert victim.read_text() == "precious"
    assert not (run / "report.txt").is_symlink() and (run / "report.txt").read_text()


def test_an_overwrite_replaces_an_unlisted_planted_folder_link(data, finished, tmp_path) -> None:
    from vecgraft.finetune.run import finetune

    assert (finished / "fusion").is_dir()  # the folder the link stands for
    elsewhere = tmp_path / "vdir2"
    shutil.copytree(finished / "fusion", elsewhere)
    (elsewhere / "keep.txt").write_text("mine")
    before = {p.name: p.read_bytes() for p in elsewhere.iterdir()}
    run = handed_over(finished, tmp_path, {"fusion": elsewhere})
    unlist(run, "fusion")
    with pytest.warns(UserWarning, match=r"^replaced the link fusion -> .*vdir2 in .*evil with"):
        finetune(run_config(data, run, seed=3), overwrite=True, log=quiet)
    assert {p.name: p.read_bytes() for p in elsewhere.iterdir()} == before
    assert not (run / "fusion").is_symlink() and (run / "fusion" / "fusion.json").is_file()


def test_an_overwrite_warns_about_a_listed_linked_best_folder(data, finished, tmp_path) -> None:
    from vecgraft.finetune.run import finetune

    elsewhere = tmp_path / "vdir3"
    shutil.copytree(finished / "best", elsewhere)
    before = {p.name: p.read_bytes() for p in elsewhere.iterdir()}
    run = handed_over(finished, tmp_path, {"best": elsewhere})  # listed: set aside whole
    with pytest.warns(UserWarning) as noted:
        finetune(run_config(data, run, seed=3), overwrite=True, log=quiet)
    said = (f"replaced the link best -> {elsewhere} in {run} with a folder: links inside an "
            "output folder are not followed; link the whole --out folder instead")
    assert [str(w.message) for w in noted if "link" in str(w.message)] == [said]
    assert {p.name: p.read_bytes() for p in elsewhere.iterdir()} == before
    assert not (run / "best").is_symlink() and (run / "best").is_dir()
