"""What a run records of its input files, and what counts as a change (`_util.fingerprint`)."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

import vecgraft._util.fingerprint as fingerprint
from vecgraft._util.fingerprint import changed_inputs, input_fingerprints


def _csv(path: Path, rows: int = 20_000) -> Path:
    """A CSV of about 0.7 MB: far more than the 64 KiB sampled at each end."""
    lines = ["text,label", *(f"text number {i:06d} about things,{'pos' if i % 2 else 'neg'}"
                             for i in range(rows))]  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _flip_middle_keeping_size_and_time(path: Path) -> None:
    """Swap the labels of the middle rows (pos <-> neg: same size), then restore the mtime,
    as `touch -r old` and `cp -p` over the file leave it."""
    stat = path.stat()
    lines = path.read_text(encoding="utf-8").splitlines()
    middle = len(lines) // 2
    for i in range(middle - 50, middle + 50):
        text, label = lines[i].rsplit(",", 1)
        lines[i] = f"{text},{'neg' if label == 'pos' else 'pos'}"
    edited = path.with_name("edited.csv")
    edited.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.utime(edited, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    shutil.copy2(edited, path)  # cp -p
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)


def test_an_edit_in_the_middle_with_size_and_time_kept_counts_as_changed(tmp_path):
    # only the first and last 64 KiB were hashed: labels flipped mid-file, the time put
    # back and the file copied over with cp -p, compare reused both cells (80.6 % where a
    # fresh run gave 25.6 %)
    path = _csv(tmp_path / "train.csv")
    saved = input_fingerprints({"train": str(path)})
    assert path.stat().st_size > 10 * 64 * 1024
    _flip_middle_keeping_size_and_time(path)
    assert changed_inputs(saved, input_fingerprints({"train": str(path)})) == [
        f"train {path} (modified since)"
    ]


def test_the_same_content_copied_touched_or_replaced_is_not_a_change(tmp_path):
    # a small file is hashed whole, and the hash decides: its times or inode do not
    path = _csv(tmp_path / "train.csv", rows=200)
    saved = input_fingerprints({"train": str(path)})
    copy = shutil.copy(path, tmp_path / "copy.csv")
    os.utime(copy, ns=(1, 1))
    os.replace(copy, path)  # another inode, ctime and mtime; the same bytes
    os.chmod(path, 0o600)
    assert changed_inputs(saved, input_fingerprints({"train": str(path)})) == []


def test_a_large_file_replaced_with_its_size_and_time_kept_counts_as_changed(
    tmp_path, monkeypatch
):
    # a file over the limit (vectors of gigabytes) is not read whole: its ctime and inode,
    # which no program can set back, say it was replaced; the same content too, as said
    monkeypatch.setattr(fingerprint, "FULL_HASH_LIMIT", 1024)
    path = _csv(tmp_path / "vectors.txt")
    saved = input_fingerprints({"vectors": str(path)})
    assert {"ctime_ns", "inode"} <= set(saved["vectors"]) and "sha256" not in saved["vectors"]
    assert changed_inputs(saved, input_fingerprints({"vectors": str(path)})) == []
    _flip_middle_keeping_size_and_time(path)
    (changed,) = changed_inputs(saved, input_fingerprints({"vectors": str(path)}))
    assert changed.startswith(f"vectors {path} (replaced, copied, moved or chmod-ed since")
    assert "over 0 MiB is not hashed whole, so this counts even with the same content" in changed


def test_a_text_moved_to_another_class_folder_counts_as_changed(tmp_path):
    # a folder per class: the same files, sizes and times in other folders are other labels
    root = tmp_path / "train"
    for label in ("neg", "pos"):
        (root / label).mkdir(parents=True)
    (root / "pos" / "a.txt").write_text("good film", encoding="utf-8")
    (root / "neg" / "b.txt").write_text("bad film!", encoding="utf-8")
    saved = input_fingerprints({"train": str(root)})
    os.replace(root / "pos" / "a.txt", root / "neg" / "a.txt")
    os.replace(root / "neg" / "b.txt", root / "pos" / "b.txt")
    assert changed_inputs(saved, input_fingerprints({"train": str(root)})) == [
        f"train {root} (modified since)"
    ]


@pytest.mark.parametrize("dropped", [("sha256",), ("ctime_ns", "inode")])
def test_fingerprints_saved_before_the_new_keys_compare_on_those_both_hold(
    tmp_path, monkeypatch, dropped
):
    # runs and cells saved before the whole-file hash (or ctime and inode) still resume
    if "inode" in dropped:
        monkeypatch.setattr(fingerprint, "FULL_HASH_LIMIT", 1024)
    path = _csv(tmp_path / "train.csv", rows=200)
    now = input_fingerprints({"train": str(path)})
    old = {"train": {k: v for k, v in now["train"].items() if k not in dropped}}
    assert changed_inputs(old, now) == []
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("one more,pos\n")
    assert changed_inputs(old, input_fingerprints({"train": str(path)}))


def test_the_recorded_hashes_are_32_hex_digits_of_a_sha256_as_the_readme_says(tmp_path):
    # splits.json's `inputs.*.sha256` held 32 hex digits equal to `sample`, while the README
    # said a sha256: it is the first 32 digits of the whole file's, and `sample` covers all
    # of a file of up to 128 KiB
    small, large = _csv(tmp_path / "small.csv", rows=200), _csv(tmp_path / "large.csv")
    for path in (small, large):
        data = path.read_bytes()
        print_ = input_fingerprints({"train": str(path)})["train"]
        assert print_["sha256"] == hashlib.sha256(data).hexdigest()[:32]
        ends = data if len(data) <= 128 * 1024 else data[: 64 * 1024] + data[-64 * 1024 :]
        assert print_["sample"] == hashlib.sha256(ends).hexdigest()[:32]
        assert (print_["sample"] == print_["sha256"]) is (len(data) <= 128 * 1024)
    readme = " ".join((Path(__file__).parents[1] / "README.md").read_text().split())
    assert "keeps the first 32 hex digits of that sha256 as `sha256`" in readme
