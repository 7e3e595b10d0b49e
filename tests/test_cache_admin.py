"""`vecgraft cache list/clear/prune` and `io.cache_admin`: see, clear and cap the load cache."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

import vecgraft
from io_helpers import small_vectors, write_w2v_bin
from vecgraft.cli import main
from vecgraft.io import cache_admin, native
from vecgraft.io.base import Format


@pytest.fixture(autouse=True)
def _private_cache_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(cache_admin.MAX_SIZE_ENV, raising=False)


def sources(tmp_path: Path, n: int = 3) -> list[Path]:
    """`n` word2vec .bin files of growing size (a.bin smallest)."""
    out = []
    for i, name in enumerate("abcdefg"[:n]):
        v = small_vectors(20 * (i + 1), 6)
        out.append(write_w2v_bin(tmp_path / f"{name}.bin", v.words, v.matrix))
    return out


def cached(tmp_path: Path, files: list[Path], cdir: Path) -> dict[Path, Path]:
    """Load each file once; source -> its entry, last uses one minute apart in list order."""
    entry = {}
    for i, f in enumerate(files):
        entry[f] = Path(vecgraft.load(f, cache_dir=cdir).metadata["cache"])
        os.utime(entry[f], (1_000_000 + 60 * i, 1_000_000 + 60 * i))
    return entry


def names(directory: Path) -> set[str]:
    return {p.name for p in directory.glob("*.safetensors")}


def test_list_shows_each_entry_with_source_format_size_and_last_use(tmp_path, capsys) -> None:
    cdir = tmp_path / "c"
    files = sources(tmp_path, 2)
    own = vecgraft.load(files[0], cache_dir=cdir, limit=5)  # no whole entry yet: its own
    os.utime(own.metadata["cache"], (2_000_000, 2_000_000))
    entry = cached(tmp_path, files, cdir)
    vecgraft.load(files[1], cache_dir=cdir, vocab=["w3", "w4"])  # its rows of the whole entry
    fresh = [e for e in cache_admin.list_entries(cdir) if e.last_used > 2_000_000]
    assert sorted(e.path.name for e in fresh) == sorted([  # both used just now
        entry[files[1]].name, next(cdir.glob("b.bin-*.rows.npz")).name
    ])
    # the rows file is written a moment after the hit marks its entry: a coarse-clock
    # filesystem can give both one mtime, so the test sets their order itself
    for e in fresh:
        t = 3_000_060 if e.subset else 3_000_000
        os.utime(e.path, (t, t))
    listed = cache_admin.list_entries(cdir)
    assert [(e.source, e.format, e.subset) for e in listed] == [
        (str(files[1]), "word2vec-bin", "rows of vocab of 2 words"),  # most recent first
        (str(files[1]), "word2vec-bin", None),  # used just now, by the vocab= load
        (str(files[0]), "word2vec-bin", "limit 5"),
        (str(files[0]), "word2vec-bin", None),
    ]
    assert listed[3].size == entry[files[0]].stat().st_size
    assert listed[3].last_used == 1_000_000
    assert main(["cache", "list", "--cache-dir", str(cdir)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 5 and out[-1].startswith("4 entries, ") and out[-1].endswith(str(cdir))
    assert out[0].rstrip().endswith(f"{files[1]}  [rows of vocab of 2 words]")
    assert out[2].rstrip().endswith(f"{files[0]}  [limit 5]")
    assert "word2vec-bin" in out[3] and out[3].rstrip().endswith(str(files[0]))


def test_a_hit_marks_the_entry_used(tmp_path) -> None:
    cdir = tmp_path / "c"
    files = sources(tmp_path, 2)
    entry = cached(tmp_path, files, cdir)
    vecgraft.load(files[0], cache_dir=cdir)  # a hit: a.bin becomes the most recent
    assert [e.path for e in cache_admin.list_entries(cdir)] == [entry[files[0]], entry[files[1]]]


def test_clear_removes_exactly_the_named_sources_entries(tmp_path, monkeypatch, capsys) -> None:
    cdir = tmp_path / "c"
    files = sources(tmp_path, 3)
    vecgraft.load(files[1], cache_dir=cdir, limit=5)  # its own entry (no whole one yet)
    entry = cached(tmp_path, files, cdir)
    vecgraft.load(files[1], cache_dir=cdir, vocab=["w3"])  # a rows file
    vecgraft.load(files[0], cache_dir=cdir, vocab=["w3"])
    assert len(cache_admin.list_entries(cdir)) == 6
    monkeypatch.chdir(tmp_path)  # named as typed, relative to the working folder
    assert main(["cache", "clear", "b.bin", "c.bin", "--cache-dir", str(cdir)]) == 0
    left = cache_admin.list_entries(cdir)
    assert {e.subset for e in left} == {None, "rows of vocab of 1 word"}  # a.bin's two
    assert {e.source for e in left} == {str(files[0])} and entry[files[0]] in {e.path for e in left}
    assert capsys.readouterr().out.splitlines()[-1].startswith("removed 4 entries (")


def test_clear_finds_entries_of_a_deleted_source_and_all_clears_all(tmp_path) -> None:
    cdir = tmp_path / "c"
    files = sources(tmp_path, 2)
    cached(tmp_path, files, cdir)
    files[0].unlink()
    removed = cache_admin.clear_entries(cdir, [files[0]])
    assert [e.source for e in removed] == [str(files[0])]
    (cdir / "notes.txt").write_text("mine")  # not an entry: never touched
    assert main(["cache", "clear", "--all", "--cache-dir", str(cdir)]) == 0
    assert sorted(p.name for p in cdir.iterdir()) == ["notes.txt"]


@pytest.mark.skipif(sys.platform != "linux", reason="a file name of bytes, not UTF-8")
def test_a_source_path_that_is_not_utf8_is_cached_listed_and_cleared(
    tmp_path, monkeypatch, capsys
) -> None:
    # storing the path in the entry failed the load itself: "surrogates not allowed"
    cdir = tmp_path / "c"
    v = small_vectors(20, 6)
    bad = write_w2v_bin(tmp_path / os.fsdecode(b"bad\xff.bin"), v.words, v.matrix)
    # a real name that reads as bad's stored one: told apart by the entry name's path hash
    twin = write_w2v_bin(tmp_path / "bad\\xff.bin", v.words, v.matrix)
    shown = f"{tmp_path}/bad\\xff.bin"
    first = vecgraft.load(bad, cache_dir=cdir)
    assert first.metadata["cache"] is not None and "cache_error" not in first.metadata
    vecgraft.load(bad, cache_dir=cdir, vocab=["w3"])  # a rows file
    vecgraft.load(twin, cache_dir=cdir)
    with monkeypatch.context() as patch:  # served from the entry, not parsed
        patch.setattr(Format, "load", lambda *a: pytest.fail("parsed"))
        again = vecgraft.load(bad, cache_dir=cdir)
    assert again.metadata["cache"] == first.metadata["cache"] and again.words == v.words
    listed = sorted((e.source, e.subset or "") for e in cache_admin.list_entries(cdir))
    assert listed == [(shown, ""), (shown, ""), (shown, "rows of vocab of 1 word")]
    capsys.readouterr()
    assert main(["cache", "list", "--cache-dir", str(cdir)]) == 0
    assert capsys.readouterr().out.count(f"  {shown}") == 3
    assert main(["cache", "clear", str(bad), "--cache-dir", str(cdir)]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("removed 2 entries (")
    (left,) = cache_admin.list_entries(cdir)
    assert left.path.name.startswith("bad_xff.bin-") and left.source == shown  # the twin's


def test_prune_removes_least_recently_used_first(tmp_path, capsys) -> None:
    cdir = tmp_path / "c"
    files = sources(tmp_path, 3)
    entry = cached(tmp_path, files, cdir)
    os.utime(entry[files[0]], (2_000_000, 2_000_000))  # a.bin used last: kept
    sizes = {f: entry[f].stat().st_size for f in files}
    budget = sizes[files[0]] + sizes[files[2]]  # b.bin (least recent) alone has to go
    assert main(["cache", "prune", "--max-size", str(budget), "--cache-dir", str(cdir)]) == 0
    assert names(cdir) == {entry[files[0]].name, entry[files[2]].name}
    assert capsys.readouterr().out.startswith("removed ")
    assert [e.source for e in cache_admin.prune_entries(cdir, sizes[files[0]])] == [
        str(files[2])
    ]
    assert [e.source for e in cache_admin.prune_entries(cdir, 0)] == [str(files[0])]


def test_bad_size_and_wrong_arguments_are_clear_errors(tmp_path, capsys) -> None:
    cdir = tmp_path / "c"
    cached(tmp_path, sources(tmp_path, 1), cdir)
    assert main(["cache", "prune", "--max-size", "5X", "--cache-dir", str(cdir)]) == 1
    err = capsys.readouterr().err
    assert "vecgraft cache: error: --max-size must be a size" in err and "5X" in err
    # usage errors: argparse's usage and status 2, as a missing required flag gets
    for argv, said in [
        (["cache", "prune"], "`cache prune` needs --max-size SIZE"),
        (["cache", "clear"], "`cache clear` takes SOURCE files or --all"),
        (["cache", "clear", "x.bin", "--all"], "`cache clear` takes SOURCE files or --all"),
        (["cache", "clear", "--all", "x.bin"], "`cache clear` takes SOURCE files or --all"),
        (["cache", "list", "x.bin"], "`cache list` takes no SOURCE or --all"),
        (["cache", "list", "--max-size", "5G"], "`cache list` takes no --max-size"),
        (["cache", "prune", "x.bin", "--max-size", "5G"], "`cache prune` takes no SOURCE"),
    ]:
        with pytest.raises(SystemExit) as exc:
            main([*argv, "--cache-dir", str(cdir)])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("usage: vecgraft cache") and said in err
    assert len(names(cdir)) == 1  # nothing was removed by a refused command


def test_removing_an_entry_while_it_is_mapped_keeps_the_reader_whole(tmp_path) -> None:
    cdir = tmp_path / "c"
    (src,) = sources(tmp_path, 1)
    expected = vecgraft.load(src, cache=False)
    vecgraft.load(src, cache_dir=cdir)
    reading = vecgraft.load(src, cache_dir=cdir)  # memory-mapped from the entry
    assert [e.source for e in cache_admin.clear_entries(cdir)] == [str(src)]
    np.testing.assert_array_equal(np.asarray(reading.matrix), expected.matrix)
    again = vecgraft.load(src, cache_dir=cdir)  # the next load parses and writes anew
    assert again.words == expected.words and len(names(cdir)) == 1


def test_size_cap_from_the_environment_prunes_after_a_new_entry(tmp_path, monkeypatch) -> None:
    cdir = tmp_path / "c"
    files = sources(tmp_path, 3)
    entry = cached(tmp_path, files[:2], cdir)
    size = cache_admin.human_size(sum(p.stat().st_size for p in entry.values()))
    monkeypatch.setenv(cache_admin.MAX_SIZE_ENV, "1")  # smaller than any entry
    with pytest.warns(UserWarning) as said:
        newest = Path(vecgraft.load(files[2], cache_dir=cdir).metadata["cache"])
    assert [str(w.message) for w in said] == [
        f"$VECGRAFT_CACHE_MAX_SIZE=1: removed the 2 least recently used load cache entries "
        f"({size}) from {cdir}: "
        f"{entry[files[0]].name}, {entry[files[1]].name}"
    ]
    assert names(cdir) == {newest.name}  # the new entry stays, the others went
    assert entry[files[0]].name not in names(cdir)
    monkeypatch.setenv(cache_admin.MAX_SIZE_ENV, "lots")
    with pytest.warns(UserWarning, match=r"VECGRAFT_CACHE_MAX_SIZE ignored: 'lots'"):
        vecgraft.load(files[0], cache_dir=cdir)
    assert len(names(cdir)) == 2


def test_entries_the_system_refuses_to_remove_are_named_and_fail_the_command(
    tmp_path, monkeypatch, capsys
) -> None:
    cdir = tmp_path / "c"
    files = sources(tmp_path, 2)
    entry = cached(tmp_path, files, cdir)
    real_unlink = Path.unlink
    stuck = entry[files[1]]

    def unlink(self: Path, missing_ok: bool = False) -> None:
        if self == stuck:  # root deletes from a chmod-ed folder: a read-only mount refuses
            raise OSError(30, "Read-only file system", str(self))
        real_unlink(self, missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink)
    for argv in (["clear", "--all"], ["prune", "--max-size", "0"]):
        assert main(["cache", *argv, "--cache-dir", str(cdir)]) == 1
        out, err = capsys.readouterr()
        assert err.strip() == (
            f"vecgraft cache: error: could not remove 1 entry: {stuck} (Read-only file system)"
        )
        assert names(cdir) == {stuck.name}  # the other went, the refused one is still there
        cached(tmp_path, files[:1], cdir)
    assert "removed 1 entry" in out


def test_a_cache_dir_that_is_a_file_is_refused_by_each_action(tmp_path, capsys) -> None:
    afile = tmp_path / "afile"
    afile.write_text("not a cache\n")
    for argv in (["list"], ["clear", "--all"], ["prune", "--max-size", "0"]):
        assert main(["cache", *argv, "--cache-dir", str(afile)]) == 1
        out, err = capsys.readouterr()
        assert (out, err) == ("", f"vecgraft cache: error: {afile}: is a file, not a folder\n")
    assert afile.read_text() == "not a cache\n"
    assert main(["cache", "list", "--cache-dir", str(tmp_path / "missing")]) == 0
    assert capsys.readouterr().out.startswith("0 entries, 0B in ")


def test_a_symlinked_source_shares_the_real_files_entry(tmp_path, monkeypatch, capsys) -> None:
    cdir = tmp_path / "c"
    (real,) = sources(tmp_path, 1)
    link = tmp_path / "link.bin"
    link.symlink_to(real.name)
    first = vecgraft.load(real, cache_dir=cdir).metadata["cache"]
    parses = []
    original = Format.load
    monkeypatch.setattr(Format, "load", lambda *a, **k: parses.append(1) or original(*a, **k))
    again = vecgraft.load(link, cache_dir=cdir)
    assert (again.metadata["cache"], again.source, parses) == (first, str(link), [])
    assert [e.source for e in cache_admin.list_entries(cdir)] == [str(real)]
    v = small_vectors(30, 6)  # the real file changes: a load through the link sees it
    write_w2v_bin(real, v.words, v.matrix)
    assert vecgraft.load(link, cache_dir=cdir).words == v.words and parses == [1]
    assert len(names(cdir)) == 1  # the stale entry was replaced, not kept beside
    assert main(["cache", "clear", str(link), "--cache-dir", str(cdir)]) == 0
    assert names(cdir) == set() and "removed 1 entry" in capsys.readouterr().out


def test_clear_takes_sources_after_flags_and_names_a_source_with_no_entries(
    tmp_path, monkeypatch, capsys
) -> None:
    cdir = tmp_path / "c"
    files = sources(tmp_path, 2)
    cached(tmp_path, files, cdir)
    monkeypatch.chdir(tmp_path)
    assert main(["cache", "clear", "--cache-dir", str(cdir), "a.bin", "nope.bin"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("removed ") and out[0].endswith(str(files[0]))
    assert out[1] == f"no entries of nope.bin (resolved: {tmp_path / 'nope.bin'}) in {cdir}"
    assert out[2].startswith("removed 1 entry (") and len(out) == 3
    assert names(cdir) == {p.name for p in cdir.glob("b.bin-*.safetensors")} != set()


def test_an_unknown_flag_after_late_sources_is_refused_alone(tmp_path, capsys) -> None:
    # the late SOURCE foo was named unrecognized with the bad flag ("foo --bogus")
    cdir = tmp_path / "c"
    with pytest.raises(SystemExit) as exc:
        main(["cache", "clear", "--cache-dir", str(cdir), "foo", "--bogus"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "vecgraft cache: error: unrecognized arguments: --bogus"
    )


def test_an_unknown_flags_value_is_refused_with_it_not_taken_as_a_source(
    tmp_path, monkeypatch, capsys
) -> None:
    # `clear --bogus 3` took `3` as a SOURCE (late positionals) and refused `--bogus` alone
    from vecgraft.cli import cache as cache_cli

    cdir = tmp_path / "c"
    cached(tmp_path, sources(tmp_path, 1), cdir)
    ran = []
    monkeypatch.setattr(cache_cli, "run", lambda args: ran.append(args) or 0)
    for argv, refused in [
        (["clear", "--bogus", "3"], "--bogus 3"),
        (["clear", "foo", "--bogus", "3"], "--bogus 3"),
        (["clear", "--all", "--bogus", "3", "bar"], "--bogus 3 bar"),
        (["list", "--bogus", "3"], "--bogus 3"),
    ]:
        with pytest.raises(SystemExit) as exc:
            main(["cache", *argv, "--cache-dir", str(cdir)])
        assert exc.value.code == 2
        assert capsys.readouterr().err.splitlines()[-1] == (
            f"vecgraft cache: error: unrecognized arguments: {refused}"
        )
    assert ran == [] and len(names(cdir)) == 1


def test_a_rows_file_whose_whole_entry_is_gone_is_listed_as_orphan_and_pruned_first(
    tmp_path, capsys
) -> None:
    cdir = tmp_path / "c"
    files = sources(tmp_path, 2)
    entry = cached(tmp_path, files, cdir)
    vecgraft.load(files[0], cache_dir=cdir, vocab=["w1", "w2"])  # rows of a's whole entry
    (rows,) = cdir.glob("*.rows.npz")
    entry[files[0]].unlink()  # removed by another process's prune after the rows were written
    listed = {e.path: e for e in cache_admin.list_entries(cdir)}
    assert listed[rows].orphan and not listed[entry[files[1]]].orphan
    assert listed[rows].subset == "rows of vocab of 2 words, orphan: its whole entry is gone"
    removed = cache_admin.prune_entries(cdir, 1 << 30)  # far under the budget: orphans only
    assert [e.path for e in removed] == [rows]
    assert {p.name for p in cdir.iterdir()} == {entry[files[1]].name}


def test_a_vocab_load_writes_no_rows_when_its_whole_entry_vanished_meanwhile(
    tmp_path, monkeypatch
) -> None:
    from vecgraft.io import cache as load_cache

    cdir = tmp_path / "c"
    (src,) = sources(tmp_path, 1)
    whole = Path(vecgraft.load(src, cache_dir=cdir).metadata["cache"])
    write_rows = load_cache.write_rows

    def pruned_meanwhile(*args, **kwargs) -> None:
        whole.unlink()  # `vecgraft cache prune` in another shell, between read and write
        write_rows(*args, **kwargs)

    monkeypatch.setattr(load_cache, "write_rows", pruned_meanwhile)
    got = vecgraft.load(src, cache_dir=cdir, vocab=["w1", "w2"])
    expected = vecgraft.load(src, cache=False, vocab=["w1", "w2"]).words
    assert got.words == expected and list(cdir.iterdir()) == []


def test_help_and_readme_say_the_segment_cache_is_managed_too(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["cache", "--help"])
    said = " ".join(capsys.readouterr().out.split())
    assert "is neither listed nor pruned" not in said
    assert "The jieba segmentation cache (--kind segments, rows of format `segments`)" in said
    assert "$VECGRAFT_SEGMENT_CACHE, else $XDG_CACHE_HOME/vecgraft/segments/" in said
    readme = " ".join((Path(__file__).parents[1] / "README.md").read_text().split())
    assert "`$XDG_CACHE_HOME/vecgraft/segments/` (moved by `VECGRAFT_SEGMENT_CACHE`" in readme
    assert "rm -rf ~/.cache/vecgraft/segments" not in readme
    assert "`--kind vectors|segments|all` picks (default `all`" in readme


SEG_CONFIG = {"backend": "jieba", "version": "0.42.1", "hmm": True, "user_dict": None}


def segment_caches(folder: Path, n: int) -> list[Path]:
    """`n` segmentation caches (configurations) in `folder`, last uses one minute apart."""
    from vecgraft.text.segment import SegmentCache

    out = []
    for i in range(n):
        config = {**SEG_CONFIG, "hmm": i % 2 == 0, "user_dict": "ab" * 32 if i == 2 else None}
        cache = SegmentCache(folder, config)
        for k in range(10 * (i + 1)):
            cache.put(f"文本{k}", ["文本", str(k)])
        cache.flush()
        for file in cache.folder.iterdir():
            os.utime(file, (1_000_030 + 60 * i, 1_000_030 + 60 * i))
        out.append(cache.folder)
    return out


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir())


def used(t: float) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def test_list_shows_the_segmentation_caches_after_the_load_caches(tmp_path, capsys) -> None:
    home = tmp_path / "xdg" / "vecgraft"
    files = sources(tmp_path, 1)
    entry = cached(tmp_path, files, home)[files[0]]
    seg = segment_caches(home / "segments", 3)
    human = cache_admin.human_size
    assert main(["cache", "list"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{human(entry.stat().st_size):>8}  {used(1_000_000)}  word2vec-bin  {files[0]}",
        f"1 entry, {human(entry.stat().st_size)} in {home}",
        f"{human(folder_size(seg[2])):>8}  {used(1_000_150)}  segments      jieba "
        f"segmentations: jieba 0.42.1, HMM, user dictionary abababab  [{seg[2].name}]",
        f"{human(folder_size(seg[1])):>8}  {used(1_000_090)}  segments      jieba "
        f"segmentations: jieba 0.42.1, no HMM, no user dict  [{seg[1].name}]",
        f"{human(folder_size(seg[0])):>8}  {used(1_000_030)}  segments      jieba "
        f"segmentations: jieba 0.42.1, HMM, no user dict  [{seg[0].name}]",
        f"3 segmentation caches, {human(sum(map(folder_size, seg)))} in {home / 'segments'}",
    ]
    (seg[0] / "config.json").write_text("{")  # damaged: still listed, and removable
    assert main(["cache", "list", "--kind", "segments"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 4  # rewritten just now: the most recent
    assert out[0].endswith(f"(unreadable entry {seg[0].name})  [{seg[0].name}]")
    assert main(["cache", "list", "--kind", "vectors"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    # --cache-dir names a load cache folder: only it, unless --kind says otherwise
    assert main(["cache", "list", "--cache-dir", str(home)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    assert main(["cache", "list", "--cache-dir", str(home), "--kind", "all"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 6


def test_list_marks_segments_used_when_a_reader_opens_them(tmp_path, monkeypatch) -> None:
    # lookups only read the SQLite file: its mtime said when it was written, not used
    from vecgraft.text import segment_admin
    from vecgraft.text.segment import SegmentCache

    folder = tmp_path / "seg"
    (made,) = segment_caches(folder, 1)
    reader = SegmentCache(folder, {**SEG_CONFIG, "hmm": True})
    assert reader.folder == made and reader.get("文本3") == ["文本", "3"]
    (listed,) = segment_admin.segment_entries(folder)
    assert listed.last_used > 2_000_000


def test_prune_goes_by_last_use_across_both_caches(tmp_path, capsys) -> None:
    home = tmp_path / "xdg" / "vecgraft"
    files = sources(tmp_path, 2)
    entry = cached(tmp_path, files, home)  # a.bin 1_000_000, b.bin 1_000_060
    seg = segment_caches(home / "segments", 2)  # 1_000_030, 1_000_090
    sizes = [entry[files[0]].stat().st_size, folder_size(seg[0])]
    sizes += [entry[files[1]].stat().st_size, folder_size(seg[1])]  # oldest first
    budget = sizes[2] + sizes[3]  # a.bin's entry and the first configuration go
    assert main(["cache", "prune", "--max-size", str(budget)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("removed ") and out[0].endswith(str(files[0]))
    assert out[1].startswith(f"removed 1 entry ({cache_admin.human_size(sizes[0])}); ")
    assert out[2].startswith("removed ") and out[2].endswith(f"[{seg[0].name}]")
    assert out[3] == (
        f"removed 1 segmentation cache ({cache_admin.human_size(sizes[1])}); "
        f"{cache_admin.human_size(sizes[3])} left in {home / 'segments'}"
    )
    assert names(home) == {entry[files[1]].name} and not seg[0].exists() and seg[1].is_dir()
    assert main(["cache", "prune", "--max-size", "0", "--kind", "segments"]) == 0
    assert not seg[1].exists() and names(home) == {entry[files[1]].name}
    assert sorted(p.name for p in (home / "segments").iterdir()) == []


def test_clear_all_clears_both_kinds_or_the_one_named(tmp_path, capsys) -> None:
    home = tmp_path / "xdg" / "vecgraft"
    files = sources(tmp_path, 1)
    cached(tmp_path, files, home)
    seg = segment_caches(home / "segments", 2)
    (home / "segments" / "notes.txt").write_text("mine")  # not an entry: never touched
    assert main(["cache", "clear", "--all", "--kind", "segments"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and out[-1].startswith("removed 2 segmentation caches (")
    assert not any(s.exists() for s in seg) and len(names(home)) == 1
    seg = segment_caches(home / "segments", 1)
    assert main(["cache", "clear", "--all"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == f"removed 1 entry ({out[1].split('(')[1].split(')')[0]}); 0B left in {home}"
    assert out[3] == (
        f"removed 1 segmentation cache ({out[3].split('(')[1].split(')')[0]}); "
        f"0B left in {home / 'segments'}"
    )
    assert names(home) == set() and sorted(p.name for p in (home / "segments").iterdir()) == [
        "notes.txt"
    ]


def test_segment_cache_failures_are_clear(tmp_path, monkeypatch, capsys) -> None:
    import sqlite3

    from vecgraft.text import segment_admin

    home = tmp_path / "xdg" / "vecgraft"
    (seg,) = segment_caches(home / "segments", 1)
    with pytest.raises(SystemExit, match="2"):
        main(["cache", "clear", "x.bin", "--kind", "segments"])
    assert "`cache clear --kind segments` takes --all, not SOURCE" in capsys.readouterr().err
    monkeypatch.setenv("VECGRAFT_SEGMENT_CACHE", "off")
    assert main(["cache", "list", "--kind", "segments"]) == 1
    assert capsys.readouterr().err == (
        "vecgraft cache: error: `--kind segments`: the segmentation cache is off "
        "($VECGRAFT_SEGMENT_CACHE='off'); set it to the cache folder to manage, or unset it "
        "for the default\n"
    )
    assert main(["cache", "list"]) == 0  # off: all is the load cache alone
    assert capsys.readouterr().out.splitlines() == [f"0 entries, 0B in {home}"]
    monkeypatch.setenv("VECGRAFT_SEGMENT_CACHE", str(home / "segments"))
    monkeypatch.setattr(segment_admin, "_LOCK_WAIT", 0.05)
    writer = sqlite3.connect(seg / "segments.sqlite", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process halfway through a transaction
    writer.execute("INSERT INTO entries VALUES (x'00', 'a')")
    try:
        assert main(["cache", "clear", "--all", "--kind", "segments"]) == 1
    finally:
        writer.execute("COMMIT")
        writer.close()
    assert capsys.readouterr().err == (
        f"vecgraft cache: error: could not remove 1 entry: {seg} "
        "(in use: another process is writing it)\n"
    )
    assert seg.is_dir()
    assert main(["cache", "clear", "--all", "--kind", "segments"]) == 0 and not seg.exists()


def test_removing_a_segment_cache_while_it_is_read_keeps_the_reader_whole(
    tmp_path, monkeypatch
) -> None:
    from vecgraft.text.segment import SegmentCache

    folder = tmp_path / "seg"
    monkeypatch.setenv("VECGRAFT_SEGMENT_CACHE", str(folder))
    segment_caches(folder, 1)
    reading = SegmentCache(folder, {**SEG_CONFIG, "hmm": True})
    assert reading.get("文本1") == ["文本", "1"]  # its reader is open
    assert main(["cache", "clear", "--all", "--kind", "segments"]) == 0
    assert not reading.folder.exists()
    assert reading.get("文本2") == ["文本", "2"]  # still reads the removed file
    fresh = SegmentCache(folder, {**SEG_CONFIG, "hmm": True})
    assert fresh.get("文本2") is None  # a miss: segmented again, and written anew
    fresh.put("文本2", ["文本", "2"])
    fresh.flush()
    assert SegmentCache(folder, {**SEG_CONFIG, "hmm": True}).get("文本2") == ["文本", "2"]


def test_an_entry_named_after_a_symlink_is_marked_stale_and_pruned_first(
    tmp_path, capsys
) -> None:
    # earlier versions named entries after the path given; a load now resolves symlinks
    cdir = tmp_path / "c"
    files = sources(tmp_path, 2)
    link = tmp_path / "link.bin"
    link.write_bytes(files[0].read_bytes())  # as the link: an entry named after its path
    old = Path(vecgraft.load(link, cache_dir=cdir).metadata["cache"])
    link.unlink()
    link.symlink_to(files[0].name)
    kept = vecgraft.load(link, cache_dir=cdir).metadata["cache"]  # the real file's own entry
    other = Path(vecgraft.load(files[1], cache_dir=cdir).metadata["cache"])
    for i, p in enumerate((other, kept, old)):  # the stale one is the most recent
        os.utime(p, (1_000_000 + 60 * i, 1_000_000 + 60 * i))
    listed = cache_admin.list_entries(cdir)
    assert [(e.source, e.stale, e.subset) for e in listed] == [
        (str(link), True, f"stale (duplicate of {Path(kept).name})"),
        (str(files[0]), False, None),
        (str(files[1]), False, None),
    ]
    assert main(["cache", "list", "--cache-dir", str(cdir)]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith(
        f"{link}  [stale (duplicate of {Path(kept).name})]"
    )
    assert [e.path for e in cache_admin.prune_entries(cdir, 1 << 30)] == [old]  # under budget
    link.unlink()  # a link that now resolves nowhere else: left alone
    assert names(cdir) == {Path(kept).name, other.name}


def test_a_folder_that_is_no_segmentation_cache_is_never_removed(tmp_path, capsys) -> None:
    from vecgraft.text import segment_admin

    # VECGRAFT_SEGMENT_CACHE set to a folder of the user's own: md5-named folders in it
    # were taken for entries, and `clear --all`/`prune` deleted them whole
    home = tmp_path / "xdg" / "vecgraft"
    (seg,) = segment_caches(home / "segments", 1)
    thesis = home / "segments" / ("0123456789abcdef" * 2)
    thesis.mkdir()
    (thesis / "thesis.tex").write_text("\\documentclass{book}")
    assert main(["cache", "list", "--kind", "segments"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("1 segmentation cache, ")
    assert main(["cache", "prune", "--max-size", "0", "--kind", "segments"]) == 0
    assert main(["cache", "clear", "--all", "--kind", "segments"]) == 0
    assert (thesis / "thesis.tex").read_text() == "\\documentclass{book}" and not seg.exists()
    capsys.readouterr()
    # a cache's file beside what the cache never writes: left as it is, said in a note
    (seg,) = segment_caches(home / "segments", 1)
    (seg / "notes").mkdir()
    note = (f"note: left 1 foreign folder alone in {home / 'segments'} (it holds what the "
            "cache never writes; `cache list` says what)\n")  # fmt: skip
    assert main(["cache", "clear", "--all", "--kind", "segments"]) == 0
    assert capsys.readouterr().err == note
    (seg / "notes").rmdir()
    (seg / "draft.txt").write_text("mine")
    assert main(["cache", "prune", "--max-size", "0"]) == 0
    assert capsys.readouterr().err == note
    assert (seg / "draft.txt").is_file() and (seg / "segments.sqlite").is_file()
    # removed by name (the library's `remove_segment_entry`): refused, named, left as it is
    (entry,) = segment_admin.segment_entries(home / "segments")
    failed: list = []
    assert not segment_admin.remove_segment_entry(entry, failed)
    assert failed == [(entry, "holds draft.txt, a file no segmentation cache writes: left alone")]
    assert (seg / "draft.txt").is_file() and (seg / "segments.sqlite").is_file()


def test_clear_and_prune_leave_a_foreign_folder_out_of_their_work(tmp_path, capsys) -> None:
    # `list` marked it "left alone by clear and prune", and both still tried it and failed:
    # "could not remove 1 entry"; prune counted its size, so removed a cache in its place
    home = tmp_path / "xdg" / "vecgraft"
    (seg,) = segment_caches(home / "segments", 1)
    theirs = home / "segments" / ("0123456789abcdef" * 2)
    theirs.mkdir()
    (theirs / "config.json").write_text("{}")
    (theirs / "mine.docx").write_bytes(b"x" * 100_000)  # bigger than the budget
    os.utime(theirs / "mine.docx", (1_000_000, 1_000_000))  # and the least recently used
    note = (f"note: left 1 foreign folder alone in {home / 'segments'} (it holds what the "
            "cache never writes; `cache list` says what)\n")  # fmt: skip
    budget = str(folder_size(seg))  # the cache's own fit: its place not taken by the folder's
    assert main(["cache", "prune", "--max-size", budget, "--kind", "segments"]) == 0
    assert capsys.readouterr().err == note  # what keeps the caches over --max-size
    assert seg.is_dir()
    assert main(["cache", "prune", "--max-size", "1M", "--kind", "segments"]) == 0
    assert capsys.readouterr().err == ""  # all within it: nothing to say
    assert main(["cache", "prune", "--max-size", "0", "--kind", "segments"]) == 0
    assert capsys.readouterr().err == note
    assert not seg.exists() and (theirs / "mine.docx").is_file()
    (seg,) = segment_caches(home / "segments", 1)
    assert main(["cache", "clear", "--all", "--kind", "segments"]) == 0
    out, err = capsys.readouterr()
    assert err == note and not seg.exists()
    assert out.splitlines()[-1].startswith("removed 1 segmentation cache (")
    assert sorted(p.name for p in theirs.iterdir()) == ["config.json", "mine.docx"]


def test_list_marks_a_segmentation_cache_that_clear_leaves_alone(tmp_path, capsys) -> None:
    # `list` showed a folder holding the user's files as any other entry, and `clear`
    # then refused it: the user learnt of it only from the failure
    home = tmp_path / "xdg" / "vecgraft"
    mine, plain = segment_caches(home / "segments", 2)
    (mine / "draft.txt").write_text("mine")
    (plain / "notes").mkdir()

    def rows() -> dict[Path, str]:
        assert main(["cache", "list", "--kind", "segments"]) == 0
        out = capsys.readouterr().out.splitlines()
        return {seg: next(row for row in out if f"[{seg.name}]" in row) for seg in (mine, plain)}

    listed = rows()
    assert listed[plain].endswith(
        f"[{plain.name}]  [left alone by clear and prune: holds notes/, a folder no "
        "segmentation cache has]"
    )
    assert listed[mine].endswith(
        f"[{mine.name}]  [left alone by clear and prune: holds draft.txt, a file no "
        "segmentation cache writes]"
    )
    (plain / "notes").rmdir()
    assert rows()[plain].endswith(f"[{plain.name}]")  # removable again: no mark


def test_the_cache_files_and_temp_files_of_an_entry_do_not_stop_its_removal(tmp_path) -> None:
    from vecgraft.text import segment_admin

    (seg,) = segment_caches(tmp_path / "seg", 1)
    for name in ("segments.sqlite-journal", "segments.sqlite-wal", "segments.sqlite-shm",
                 "0a1b.tsv", ".config.json.4242.tmp", ".0a1b.tsv.4242.tmp"):  # fmt: skip
        (seg / name).write_bytes(b"")
    (entry,) = segment_admin.segment_entries(tmp_path / "seg")
    failed: list = []
    assert segment_admin.remove_segment_entry(entry, failed) and failed == []
    assert list((tmp_path / "seg").iterdir()) == []
    shards = tmp_path / "seg" / ("ab" * 16)  # the old layout: shards only
    shards.mkdir()
    (shards / "0a1b.tsv").write_text("")
    (entry,) = segment_admin.segment_entries(tmp_path / "seg")
    assert entry.path == shards and segment_admin.remove_segment_entry(entry)


@pytest.mark.parametrize("damage", ["garbage", "read-only"])
def test_a_damaged_or_read_only_segment_cache_file_is_removed(
    tmp_path, capsys, damage
) -> None:
    # BEGIN EXCLUSIVE failed on it (not a database, read-only): the removal was refused
    # for good, and prune removed healthy caches in its place
    home = tmp_path / "xdg" / "vecgraft"
    seg = segment_caches(home / "segments", 2)
    db = seg[0] / "segments.sqlite"
    if damage == "garbage":
        db.write_bytes(b"garbage" * 1000)
    else:  # (root writes it all the same)
        db.chmod(0o444)
    os.utime(db, (1_000_000, 1_000_000))  # the least recently used
    budget = folder_size(seg[1])
    assert main(["cache", "prune", "--max-size", str(budget), "--kind", "segments"]) == 0
    assert not seg[0].exists() and seg[1].is_dir()
    segment_caches(home / "segments", 1)[0].joinpath("segments.sqlite").write_bytes(b"x" * 99)
    assert main(["cache", "clear", "--all", "--kind", "segments"]) == 0
    assert list((home / "segments").iterdir()) == []


def test_a_removal_cut_short_is_listed_and_cleared(tmp_path, capsys, monkeypatch) -> None:
    # killed between the rename and the deletion: `.KEY.removing-PID` was never listed,
    # counted or removed
    import subprocess

    home = tmp_path / "xdg" / "vecgraft"
    seg = segment_caches(home / "segments", 3)
    proc = subprocess.Popen(["true"])
    proc.wait()
    dead = proc.pid  # exited and reaped: no process has it (until reused)
    left = seg[0].with_name(f".{seg[0].name}.removing-{dead}")
    seg[0].rename(left)
    running = seg[1].with_name(f".{seg[1].name}.removing-{os.getpid()}")  # being removed now
    seg[1].rename(running)
    size = cache_admin.human_size(folder_size(left) + folder_size(seg[2]))
    assert main(["cache", "list", "--kind", "segments"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].endswith(f"segments      left over from an interrupted removal  [{left.name}]")
    assert out[2] == f"2 segmentation caches, {size} in {home / 'segments'}"
    budget = str(folder_size(seg[2]) + folder_size(running))
    assert main(["cache", "prune", "--max-size", budget, "--kind", "segments"]) == 0
    assert not left.exists() and running.is_dir() and seg[2].is_dir()  # orphans go first
    os.utime(running, (1_000_000, 1_000_000))  # a minute old: its removal is not running
    assert main(["cache", "clear", "--all", "--kind", "segments"]) == 0
    assert list((home / "segments").iterdir()) == []
    # one that holds what the cache never writes is left alone
    (seg,) = segment_caches(home / "segments", 1)
    (seg / "thesis.tex").write_text("mine")
    seg.rename(seg.with_name(f".{seg.name}.removing-{dead}"))
    assert main(["cache", "clear", "--all", "--kind", "segments"]) == 0
    assert capsys.readouterr().err.startswith("note: left 1 foreign folder alone in ")
    assert len(list((home / "segments").iterdir())) == 1


def test_segment_cache_with_cache_dir_is_refused(tmp_path, capsys) -> None:
    # --cache-dir names a load cache folder; `--kind segments` silently ignored it
    for action in (["list"], ["clear", "--all"], ["prune", "--max-size", "0"]):
        with pytest.raises(SystemExit, match="2"):
            main(["cache", *action, "--kind", "segments", "--cache-dir", str(tmp_path)])
        assert capsys.readouterr().err.endswith(
            f"vecgraft cache: error: `cache {action[0]} --kind segments` takes no --cache-dir "
            "(it names a load cache folder); set VECGRAFT_SEGMENT_CACHE to the segmentation "
            "cache's folder\n"
        )


@pytest.mark.parametrize("windows", [False, True])
def test_a_removal_on_windows_unlocks_the_file_before_the_rename(
    tmp_path, monkeypatch, windows
) -> None:
    # Windows renames no folder holding an open file: the lock's own connection was open
    import sqlite3

    from vecgraft.text import segment_admin

    (seg,) = segment_caches(tmp_path / "seg", 1)
    monkeypatch.setattr(segment_admin, "_renames_open_files", lambda: not windows)
    rename = os.rename
    unlocked = []

    def checking_rename(src, dst):
        other = sqlite3.connect(seg / "segments.sqlite", timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN EXCLUSIVE")
            unlocked.append(True)
        except sqlite3.OperationalError:
            unlocked.append(False)
        finally:
            other.close()
        rename(src, dst)

    monkeypatch.setattr(segment_admin.os, "rename", checking_rename)
    (entry,) = segment_admin.segment_entries(tmp_path / "seg")
    assert segment_admin.remove_segment_entry(entry) and unlocked == [windows]


def _dead_pid() -> int:
    import subprocess

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_killed_fills_temp_file_is_listed_as_a_leftover_and_cleared_and_pruned(
    tmp_path, capsys
) -> None:
    # a `kill -9` during a fill left `.<entry>.<pid>.tmp` (nearly the entry's size) that
    # `list` did not show ("0 entries, 0B") and `clear --all` and `prune` left
    cdir = tmp_path / "c"
    (entry,) = cached(tmp_path, sources(tmp_path, 1), cdir).values()
    data = entry.read_bytes()
    entry.unlink()
    dead = cdir / f".{entry.name}.{_dead_pid()}.tmp"
    dead.write_bytes(data[:-10])
    running = cdir / f".{entry.name}.{os.getppid()}.tmp"  # a fill still running: not listed
    running.write_bytes(data[:100])
    (listed,) = cache_admin.list_entries(cdir)
    assert (listed.path, listed.size, listed.leftover) == (dead, len(data) - 10, True)
    assert listed.subset == "leftover of an interrupted fill: its process is gone"
    assert main(["cache", "list", "--cache-dir", str(cdir)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].rstrip().endswith(
        f"(leftover {dead.name})  [leftover of an interrupted fill: its process is gone]"
    )
    assert out[1] == f"1 entry, {cache_admin.human_size(len(data) - 10)} in {cdir}"
    assert [e.path for e in cache_admin.prune_entries(cdir, 1 << 30)] == [dead]  # first
    dead.write_bytes(data[:-10])
    assert main(["cache", "clear", "--all", "--cache-dir", str(cdir)]) == 0
    assert {p.name for p in cdir.iterdir()} == {running.name}
    dead.write_bytes(data[:-10])
    assert main(["cache", "clear", str(tmp_path / "a.bin"), "--cache-dir", str(cdir)]) == 0
    assert {p.name for p in cdir.iterdir()} == {running.name}


def test_a_truncated_entry_is_listed_as_damaged_and_pruned_first(tmp_path, capsys) -> None:
    # listed as a normal entry, though the next load would parse the source again
    cdir = tmp_path / "c"
    entry = cached(tmp_path, sources(tmp_path, 2), cdir)
    a, b = entry.values()
    size = a.stat().st_size
    with open(a, "r+b") as fh:
        fh.truncate(size - 100)
    listed = {e.path: e for e in cache_admin.list_entries(cdir)}
    assert listed[a].damaged and not listed[b].damaged
    assert listed[a].subset == (
        f"damaged, truncated: the header describes {size} bytes, found {size - 100}; "
        "the next load replaces it"
    )
    assert listed[a].source == str(tmp_path / "a.bin")  # its header still says whose
    assert main(["cache", "list", "--cache-dir", str(cdir)]) == 0
    assert "[damaged, truncated: " in capsys.readouterr().out
    assert [e.path for e in cache_admin.prune_entries(cdir, 1 << 30)] == [a]


@pytest.mark.parametrize("when", ["after_stat", "after_header"])
def test_an_entry_removed_while_listing_leaves_the_others_listed(tmp_path, monkeypatch, when):
    # `cache list` / `prune` lost every later entry: the removed one's FileNotFoundError
    # ended the whole listing; one removed between its stat and its header's read was
    # listed as an unreadable entry of a file already gone
    cache = tmp_path / "cache"
    for k in range(3):
        rows = "".join(f"w{i} {i} {k}.5\n" for i in range(5))
        (tmp_path / f"v{k}.txt").write_text(rows)
        vecgraft.load(tmp_path / f"v{k}.txt", format="glove", cache=True, cache_dir=cache)
    assert len(cache_admin.list_entries(cache)) == 3
    removed: list[str] = []
    real = native._read_header

    def remove_first(path):
        if not removed:  # another process's `cache clear` removes it meanwhile
            removed.append(path.name)
            if when == "after_header":  # read whole: listed as read, as any entry removed
                result = real(path)  # just after the listing is
                os.unlink(path)
                return result
            os.unlink(path)
        return real(path)

    monkeypatch.setattr(native, "_read_header", remove_first)
    listed = sorted(e.path.name for e in cache_admin.list_entries(cache))
    if when == "after_header":
        assert len(listed) == 3 and removed[0] in listed
        return
    assert len(listed) == 2 and removed[0] not in listed


def test_listing_reads_each_entry_header_once(tmp_path, monkeypatch) -> None:
    # `cache list` read each header twice: once for the metadata, once for the damage check
    cdir = tmp_path / "c"
    entry = cached(tmp_path, sources(tmp_path, 2), cdir)
    a, _ = entry.values()
    with open(a, "r+b") as fh:
        fh.truncate(a.stat().st_size - 100)
    reads: list[str] = []
    real = native._read_header

    def counted(path):
        reads.append(path.name)
        return real(path)

    monkeypatch.setattr(native, "_read_header", counted)
    listed = cache_admin.list_entries(cdir)
    assert sorted(reads) == sorted(e.path.name for e in listed) == sorted(
        p.name for p in entry.values()
    )
    assert [e.path for e in listed if e.damaged] == [a]  # still judged from that one read


def _as_written_before_versions(entry: Path) -> None:
    """Drop the "version" an entry's header (or a rows file's info) records, as before 6."""
    from vecgraft.io import cache_rows

    if entry.name.endswith(cache_rows.SUFFIX):
        info = cache_rows.read_rows_info(entry)
        with np.load(entry) as data:
            rows = data["rows"]
        info.pop("version", None)
        cache_rows.write_rows(entry, rows, info)
        return
    vectors, meta = native.read_native_file(entry)
    header = dict(meta["cache"])
    header.pop("version", None)
    native.write_native(vectors, entry, extra={"cache": header})


def test_an_entry_of_an_older_cache_version_is_marked_stale_and_pruned(
    tmp_path, monkeypatch, capsys
) -> None:
    # after CACHE_VERSION 4 -> 5 no load read the version-4 entries (their keys hold it),
    # yet `cache list` showed them like live ones and `prune` kept them under its budget
    from vecgraft.io import cache as cache_mod

    cdir = tmp_path / "c"
    files = sources(tmp_path, 2)
    with monkeypatch.context() as patched:
        patched.setattr(cache_mod, "CACHE_VERSION", 4)
        old = Path(vecgraft.load(files[0], cache_dir=cdir).metadata["cache"])
        vecgraft.load(files[0], cache_dir=cdir, vocab=["w1", "w2"])  # rows of the old entry
    (old_rows,) = cdir.glob("*.rows.npz")
    for path in (old, old_rows):
        _as_written_before_versions(path)
    new = Path(vecgraft.load(files[0], cache_dir=cdir).metadata["cache"])
    other = Path(vecgraft.load(files[1], cache_dir=cdir).metadata["cache"])
    assert new != old and old.exists()  # a miss: the old entry stays beside the new one
    for i, p in enumerate((other, new, old_rows, old)):  # the old ones the most recent
        os.utime(p, (1_000_000 + 60 * i, 1_000_000 + 60 * i))
    before = "stale: written by a cache version before 6"
    listed = [(e.path, e.stale, e.subset) for e in cache_admin.list_entries(cdir)]
    assert listed == [
        (old, True, before),
        (old_rows, True, f"rows of vocab of 2 words, {before}"),
        (new, False, None),
        (other, False, None),
    ]
    assert main(["cache", "list", "--cache-dir", str(cdir)]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith(f"{files[0]}  [{before}]")
    stale = f"stale: written by cache version {cache_admin.CACHE_VERSION}"
    with monkeypatch.context() as patched:  # a later version's list: this one is older
        patched.setattr(cache_admin, "CACHE_VERSION", cache_admin.CACHE_VERSION + 1)
        assert cache_admin.list_entries(cdir)[2].subset == stale
    removed = cache_admin.prune_entries(cdir, 1 << 30)  # far under the budget: stale only
    assert sorted(e.path for e in removed) == sorted([old, old_rows])
    assert {p.name for p in cdir.iterdir()} == {new.name, other.name}


def test_a_text_load_cached_by_version_6_is_not_reused(tmp_path, monkeypatch) -> None:
    # version 6 read a BOM starting a later line into the word ('\ufeffcat') and loaded a
    # row whose word and first value U+00A0 joins one value short; version 7 does neither,
    # so a version-6 entry of such a file must be a miss, not its old words
    from vecgraft.io import cache as cache_mod

    cdir = tmp_path / "c"
    path = tmp_path / "joined.txt"
    path.write_bytes(b"the 1 2\nof 3 4\n\xef\xbb\xbfcat 5 6\n")
    with monkeypatch.context() as patched:
        patched.setattr(cache_mod, "CACHE_VERSION", 6)
        old = Path(vecgraft.load(path, cache_dir=cdir).metadata["cache"])
    fresh = vecgraft.load(path, cache_dir=cdir)
    assert Path(fresh.metadata["cache"]) != old and old.exists()
    listed = {e.path: e.subset for e in cache_admin.list_entries(cdir)}
    assert listed[old] == "stale: written by cache version 6"
    assert listed[Path(fresh.metadata["cache"])] is None
