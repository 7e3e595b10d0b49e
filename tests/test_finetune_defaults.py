"""Defaults that hold across data sizes: step budget, early stopping, lowercasing, tokenizer
from the vectors' metadata, the coverage warning, and `--model linear` end to end."""

from __future__ import annotations

import json
import os
import random

import pytest
import torch

from finetune_helpers import make_dataset, write_csv
from test_finetune_train import TinyBoE, toy_data
from vecgraft.cli import main
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.linear import LinearModel
from vecgraft.finetune.predict import load_run
from vecgraft.finetune.run import finetune
from vecgraft.finetune.text_settings import lowercase_words
from vecgraft.finetune.train import Trainer


@pytest.mark.parametrize(
    ("steps_per_epoch", "expected"),
    [(3, 40), (100, 30), (1000, 3), (1875, 3)],  # 78 docs ... 60k docs at batch 32
)
def test_epochs_follow_the_step_budget(steps_per_epoch, expected):
    cfg = FinetuneConfig(train_steps=3000, min_epochs=3, max_epochs=40)
    assert cfg.resolved_epochs(steps_per_epoch) == expected
    assert cfg.replace(epochs=7).resolved_epochs(steps_per_epoch) == 7


def test_trainer_runs_the_budgeted_epochs():
    lines: list[str] = []
    cfg = FinetuneConfig(batch_size=40, train_steps=12, min_epochs=1, max_epochs=10,
                         patience=None, freeze_epochs=0)
    trainer = Trainer(TinyBoE(40, 8, 3), cfg, toy_data(120), None, num_classes=3,
                      device=torch.device("cpu"), log=lines.append)
    assert (trainer.steps_per_epoch, trainer.epochs) == (3, 4)
    state = trainer.fit()
    assert (state.epoch, state.global_step) == (4, 12)
    assert lines[0] == "Training budget: 12 steps -> 4 epochs of 3 batches (bounds 1-10)"


def test_no_early_stopping_message_when_the_epoch_limit_ends_the_run():
    torch.manual_seed(0)
    valid = toy_data(30, seed=1)
    valid.labels = [(y + 1) % 3 for y in valid.labels]  # the first epoch stays the best
    lines: list[str] = []
    cfg = FinetuneConfig(
        epochs=3, batch_size=16, lr=0.1, patience=2, freeze_epochs=0, min_valid=30
    )
    state = Trainer(TinyBoE(40, 8, 3), cfg, toy_data(), valid, num_classes=3,
                    device=torch.device("cpu"), log=lines.append).fit()
    assert (state.best_epoch, state.epoch, state.bad_epochs) == (1, 3, 2)
    assert not state.stopped_early
    assert not any(line.startswith("Early stopping") for line in lines)
    # one epoch more and patience, not the limit, ends it: then the message is right
    lines.clear()
    torch.manual_seed(0)
    state = Trainer(TinyBoE(40, 8, 3), cfg.replace(epochs=4), toy_data(), valid, num_classes=3,
                    device=torch.device("cpu"), log=lines.append).fit()
    assert state.stopped_early and state.epoch == 3
    assert lines[-1] == "Early stopping: no accuracy improvement for 2 epochs"


def test_lowercase_detection():
    assert lowercase_words(["the", ",", "of", "u.s.", "2010", "obama"])
    assert not lowercase_words(["the", ",", "The", "of", "U.S.", "I", "obama"])
    assert not lowercase_words(["1", ",", "2"])  # no letters: nothing to decide on
    # Chinese words have no case: two cased Latin words of ten are cased vectors (they
    # were read as 2 of 1,010 "lowercase" words, and the text was lowercased)
    chinese = ["的", "酒店", "房间", "很", "服务"] * 200
    assert not lowercase_words([*chinese, "XP", "iPhone", *["usb", "cpu"] * 4])
    assert lowercase_words([*chinese, "xp", "iphone"]) and not lowercase_words(chinese)


POS = ["a wonderful movie", "wonderful and moving", "a great film", "great fun", "loved it"]
NEG = ["a terrible movie", "terrible and dull", "an awful film", "awful mess", "hated it"]
WORDS = {"wonderful": 1.0, "great": 0.9, "loved": 0.8, "moving": 0.7, "fun": 0.6,
         "terrible": -1.0, "awful": -0.9, "hated": -0.8, "dull": -0.7, "mess": -0.6}


def _sentiment(tmp_path, n=30):
    rng = random.Random(0)
    rows = [(rng.choice(POS), "pos") for _ in range(n)]
    rows += [(rng.choice(NEG), "neg") for _ in range(n)]
    rng.shuffle(rows)
    train = write_csv(tmp_path / "train.csv", rows)
    test = [("wonderful fun", "pos"), ("a great movie", "pos"), ("a dull film", "neg"),
            ("an awful movie", "neg")]
    write_csv(tmp_path / "test.csv", test)
    lines = []
    for i, w in enumerate(["a", "and", "an", "movie", "film", "it", *WORDS]):
        value = WORDS.get(w, 0.0)
        vec = [value, 0.1 * (i % 3), 0.05 * (i % 5), 0.02 * i]
        lines.append(w + " " + " ".join(f"{x:.4f}" for x in vec))
    vectors = tmp_path / "vectors.txt"  # lowercase, like GloVe
    vectors.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return train, vectors


def test_lowercase_vectors_switch_lowercasing_on_and_uppercase_text_is_understood(tmp_path):
    train, vectors = _sentiment(tmp_path)
    lines: list[str] = []
    cfg = FinetuneConfig(train=str(train), test=str(tmp_path / "test.csv"),
                         vectors=str(vectors), out=str(tmp_path / "run"),
                         model="boe", epochs=15, lr=0.05, embedding_lr=0.05, patience=None,
                         plots=False, progress=False, seed=0)
    finetune(cfg, log=lines.append)
    assert "Vectors are lowercase: lowercasing text (--no-lower to keep case)" in lines
    predictor = load_run(tmp_path / "run")
    assert predictor.tokenizer.lower
    assert predictor.predict(["A WONDERFUL MOVIE", "a wonderful movie"]) == ["pos", "pos"]
    assert predictor.predict(["AN AWFUL FILM", "an awful film"]) == ["neg", "neg"]
    # --no-lower keeps case: the uppercase words are then unknown
    lines.clear()
    finetune(cfg.replace(lower=False, out=str(tmp_path / "cased")), log=lines.append)
    assert not any(line.startswith("Vectors are lowercase") for line in lines)
    assert not load_run(tmp_path / "cased").tokenizer.lower


def test_tokenizer_from_the_vectors_metadata_and_low_coverage_warning(tmp_path):
    data = make_dataset(tmp_path / "data", train_per_class=10, test_per_class=3)
    folder = tmp_path / "w2v"
    folder.mkdir()
    (folder / "vectors.txt").write_text(data["vectors"].read_text(encoding="utf-8"))
    meta = {"method": "word2vec", "tokenizer": {"kind": "whitespace", "lower": True}}
    (folder / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    lines: list[str] = []
    cfg = FinetuneConfig(train=str(data["train"]), test=str(data["test"]),
                         vectors=str(folder / "vectors.txt"), out=str(tmp_path / "run"),
                         model="boe", epochs=1, plots=False, progress=False)
    finetune(cfg, log=lines.append)
    assert any("Tokenizer: whitespace (from the vectors' metadata.json" in x for x in lines)
    model_json = json.loads((tmp_path / "run" / "best" / "model.json").read_text())
    assert model_json["tokenizer"]["kind"] == "whitespace"
    assert not any(x.startswith("WARNING") for x in lines)
    # a tokenizer given by the user wins; one splitting unlike the vectors' corpus is flagged
    lines.clear()
    finetune(cfg.replace(tokenizer="char", out=str(tmp_path / "char")), log=lines.append)
    warning = [x for x in lines if x.startswith("WARNING: only")]
    assert warning and "of word types have a vector" in warning[0]


def test_low_type_coverage_warns_even_when_punctuation_covers_the_tokens(tmp_path):
    # like Chinese without jieba: each text one unknown token, its punctuation all known
    rows = [(f"zq{i}" + " , . ! ?" * 3, "a" if i % 2 else "b") for i in range(60)]
    vectors = tmp_path / "v.txt"
    vectors.write_text("".join(f"{w} {i} 0.5 1\n" for i, w in enumerate(",.!?")))
    lines: list[str] = []

    def run(n_train: int) -> list[str]:
        lines.clear()
        cfg = FinetuneConfig(
            train=str(write_csv(tmp_path / f"train{n_train}.csv", rows[:n_train])),
            test=str(write_csv(tmp_path / "test.csv", rows[50:])), vectors=str(vectors),
            out=str(tmp_path / f"run{n_train}"), model="boe", epochs=1, plots=False,
            progress=False, fuse_linear=False, extend_vocab=0, valid_fraction=0,
        )  # fmt: skip
        finetune(cfg, log=lines.append)
        return [x for x in lines if x.startswith(("Vectors:", "WARNING: only"))]

    # 36 training words + 4 marks: 4 / 40 types, 12 / 13 tokens; 10 % is not below
    coverage, *warning = run(36)
    assert "coverage 10.0% of the training texts' word types, 92.3% of their tokens" in coverage
    assert warning == []
    # the file read for the vocabulary: the rows it matched, not read as the file's size
    assert coverage.startswith("Vectors: 4 (the rows the vocabulary matches) x 3 from ")
    coverage, *warning = run(37)  # 4 / 41 types
    assert "coverage 9.8% of the training texts' word types" in coverage
    assert len(warning) == 1 and "92.3% of training tokens and 9.8% of word types" in warning[0]


def test_vectors_pretrained_without_stopwords_say_how_to_drop_them_too(tmp_path):
    """Their stopwords have no vector: the coverage line counted them as misses (60 % of
    tokens on ChnSentiCorp with `--stopwords zh`, 88 % when dropped too) with no word why."""
    train, vectors = _sentiment(tmp_path)
    folder = tmp_path / "w2v"
    folder.mkdir()
    (folder / "vectors.txt").write_text(vectors.read_text(encoding="utf-8"), encoding="utf-8")
    tok = {"kind": "regex", "lower": True, "stopwords": "en", "stopwords_source": "stopwordsiso:en"}
    (folder / "metadata.json").write_text(json.dumps({"tokenizer": tok}), encoding="utf-8")
    cfg = FinetuneConfig(train=str(train), test=str(tmp_path / "test.csv"),
                         vectors=str(folder / "vectors.txt"), out=str(tmp_path / "run"),
                         model="boe", epochs=1, plots=False,
                         progress=False, fuse_linear=False, ensemble=1)  # fmt: skip
    lines: list[str] = []
    finetune(cfg, log=lines.append)
    note = [x for x in lines if x.startswith("Stopwords:")]
    assert len(note) == 1 and "stopwordsiso:en" in note[0] and "--stopwords en" in note[0]
    assert not load_run(tmp_path / "run").tokenizer.stopwords  # said, not applied
    lines.clear()
    finetune(cfg.replace(stopwords="en", out=str(tmp_path / "dropped")), log=lines.append)
    assert not any(x.startswith("Stopwords:") for x in lines)


def test_the_cli_takes_lowercasing_and_the_tokenizer_from_the_vectors_too(tmp_path, capsys):
    # the CLI reads the vector file through a VectorFile (its load flags); lowercasing and
    # the tokenizer from metadata.json were decided only for a path or loaded Vectors
    train, vectors = _sentiment(tmp_path)
    flags = ["--model", "boe", "--epochs", "1", "--no-plots", "--no-fuse-linear",
             "--ensemble", "1", "--train", str(train), "--test", str(tmp_path / "test.csv")]
    assert main(["finetune", "--vectors", str(vectors), "--out", str(tmp_path / "a"),
                 *flags]) == 0  # fmt: skip
    assert "Vectors are lowercase: lowercasing text" in capsys.readouterr().out
    assert load_run(tmp_path / "a").tokenizer.lower
    folder = tmp_path / "w2v"
    folder.mkdir()
    (folder / "vectors.txt").write_text(vectors.read_text(encoding="utf-8"), encoding="utf-8")
    meta = {"method": "word2vec", "tokenizer": {"kind": "whitespace", "lower": True}}
    (folder / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    assert main(["finetune", "--vectors", str(folder / "vectors.txt"), "--out",
                 str(tmp_path / "b"), *flags]) == 0  # fmt: skip
    assert "Tokenizer: whitespace (from the vectors' metadata.json" in capsys.readouterr().out
    assert load_run(tmp_path / "b").tokenizer.config["kind"] == "whitespace"


def test_linear_model_end_to_end_through_the_cli(tmp_path, capsys):
    data = make_dataset(tmp_path / "data", train_per_class=20, test_per_class=5)
    run = tmp_path / "linear"
    code = main(["finetune", "--train", str(data["train"]), "--test", str(data["test"]),
                 "--model", "linear", "--out", str(run), "--no-plots"])
    assert code == 0
    said = capsys.readouterr().out
    assert "Test (15 texts): accuracy" in said  # a fitted model has no "best epoch"
    names = sorted(p.name for p in run.iterdir())
    assert "linear.safetensors" in names and "linear.json" in names
    assert not any(n.endswith((".pkl", ".pt", ".joblib")) for n in names)
    metrics = json.loads((run / "metrics.json").read_text())
    neural = tmp_path / "boe"
    main(["finetune", "--train", str(data["train"]), "--test", str(data["test"]), "--model",
          "boe", "--epochs", "1", "--out", str(neural), "--no-plots"])
    assert set(metrics) <= set(json.loads((neural / "metrics.json").read_text()))
    assert set(metrics["test"]) == set(json.loads((neural / "metrics.json").read_text())["test"])
    assert metrics["test"]["accuracy"] == 1.0 and metrics["test"]["loss"] is None
    capsys.readouterr()
    rows = data["test"].read_text(encoding="utf-8").splitlines()[1:7]
    gold = [row.rsplit(",", 1)[1] for row in rows]
    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(row.rsplit(",", 1)[0] for row in rows) + "\n")
    assert main(["predict", str(run), str(texts)]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == gold  # test accuracy is 1.0
    model = LinearModel.load(run)
    assert printed == [str(x) for x in model.predict(texts.read_text().splitlines())]
    assert main(["evaluate", str(run), "--data", str(data["test"])]) == 0
    assert "accuracy 100.00%" in capsys.readouterr().out
    assert json.loads((run / "eval-test.json").read_text())["test"]["accuracy"] == 1.0


def _zh_vectors_run(tmp_path, rows, words, tokenizer) -> FinetuneConfig:
    """A one-epoch BoE run's config on `rows`, with 2-d vectors of `words` whose
    metadata.json names `tokenizer` (as `vecgraft pretrain` writes it)."""
    train = write_csv(tmp_path / "train.csv", rows)
    folder = tmp_path / "w2v"
    folder.mkdir()
    lines = [f"{len(words)} 2"] + [f"{w} {i / 10:.1f} {1 - i / 10:.1f}" for i, w in
                                   enumerate(words)]  # fmt: skip
    (folder / "vectors.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "metadata.json").write_text(json.dumps({"tokenizer": tokenizer}), encoding="utf-8")
    return FinetuneConfig(train=str(train), vectors=str(folder / "vectors.txt"),
                          out=str(tmp_path / "run"), model="boe", epochs=1, plots=False,
                          progress=False, test_fraction=0.25)  # fmt: skip


def test_chinese_word_char_mode_comes_from_the_vectors_metadata_or_the_flag(tmp_path):
    from vecgraft.errors import ConfigError

    good = ["酒店很好", "房间干净", "服务好", "早餐好"]
    bad = ["酒店太差", "房间脏", "服务很差", "早餐差"]
    rows = [(a + b, label) for label, part in (("pos", good), ("neg", bad)) for a in part
            for b in part if a != b]  # 12 distinct texts a label  # fmt: skip
    words = ["酒店", "房间", "服务", "很", "好", "差", "酒", "店", "房", "间", "服", "务"]
    tokenizer = {"kind": "jieba", "lower": False, "zh_mode": "word+char"}
    cfg = _zh_vectors_run(tmp_path, rows, words, tokenizer)
    finetune(cfg, log=lambda _m: None)
    tok = load_run(tmp_path / "run").tokenizer
    assert tok.config["zh_mode"] == "word+char"
    assert tok("酒店很好") == ["酒店", "酒", "店", "很", "好"]  # a word, then its characters
    # the same kind named by the user still follows the vectors' mode; a mode given wins
    said: list[str] = []
    finetune(cfg.replace(tokenizer="jieba", out=str(tmp_path / "named")), log=said.append)
    assert load_run(tmp_path / "named").tokenizer.config["zh_mode"] == "word+char"
    # pretrain chooses word+char on a small corpus: the run says it follows it
    assert ("Chinese tokens: word+char (from the vectors' metadata.json; --zh-mode to choose "
            "another)") in said  # fmt: skip
    finetune(cfg.replace(zh_mode="char", out=str(tmp_path / "char")), log=lambda _m: None)
    assert load_run(tmp_path / "char").tokenizer("酒店很好") == ["酒", "店", "很", "好"]
    with pytest.raises(ConfigError, match="zh_mode is only used by the jieba tokenizer"):
        finetune(cfg.replace(tokenizer="regex", zh_mode="word+char", out=str(tmp_path / "r")))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_is_not_opened_for_its_metadata(tmp_path):
    # reading a native file's own metadata opened a FIFO passed as --vectors, which blocks
    # until a writer comes: finetune hung where the load would refuse it with a clear error
    import threading

    from vecgraft.finetune.vectors_record import vectors_metadata

    fifo = tmp_path / "p"
    os.mkfifo(fifo)
    found: list[dict] = []
    reader = threading.Thread(target=lambda: found.append(vectors_metadata(str(fifo))),
                              daemon=True)  # fmt: skip
    reader.start()
    reader.join(timeout=10)
    if reader.is_alive():  # unblock the thread before failing
        with open(fifo, "wb"):
            pass
    assert found == [{}]


def test_a_native_files_own_tokenizer_is_taken_when_named_by_path(tmp_path):
    # `from-transformer --vocab` keeps the vocabulary's tokenizer in the native file alone:
    # `tune` (loaded vectors) cut with jieba word+char, finetune by path with regex
    pytest.importorskip("rjieba")
    import numpy as np

    import vecgraft
    from vecgraft.finetune.vectors_record import vectors_metadata
    from vecgraft.vectors import Vectors

    cfg = _word_char_run(tmp_path)
    loaded = vecgraft.load(cfg.vectors)
    vectors = Vectors(loaded.words, np.asarray(loaded.matrix))
    vectors.metadata["tokenizer"] = {"kind": "jieba", "lower": False, "zh_mode": "word+char"}
    native = tmp_path / "native" / "x.safetensors"
    native.parent.mkdir()
    vecgraft.save(vectors, native, format="native")
    said: list[str] = []
    finetune(cfg.replace(vectors=str(native)), log=said.append)
    assert load_run(tmp_path / "run").tokenizer("酒店很好") == ["酒店", "酒", "店", "很", "好"]
    # it has no metadata.json: the lines said "from the vectors' metadata.json"
    assert "Tokenizer: jieba (from the vectors file's own metadata; --tokenizer to choose " \
           "another)" in said  # fmt: skip
    assert "Chinese tokens: word+char (from the vectors file's own metadata; --zh-mode to " \
           "choose another)" in said  # fmt: skip
    # the file's own tokenizer before a metadata.json beside it that does not list it;
    # the metadata.json where the file names none; a text file is not a native one
    beside = native.parent / "metadata.json"
    beside.write_text(json.dumps({"tokenizer": {"kind": "char"}}), encoding="utf-8")
    assert vectors_metadata(str(native))["tokenizer"]["zh_mode"] == "word+char"
    vecgraft.save(Vectors(["a"], np.ones((1, 2), np.float32)), native, format="native")
    assert vectors_metadata(str(native)) == {"tokenizer": {"kind": "char"}}
    beside.unlink()
    assert vectors_metadata(str(native)) == {}
    assert vectors_metadata(cfg.vectors)["tokenizer"]["kind"] == "jieba"  # its metadata.json
    (tmp_path / "w2v" / "metadata.json").unlink()
    assert vectors_metadata(cfg.vectors) == {}


_JIEBA = {"kind": "jieba", "lower": False, "zh_mode": "char", "halfwidth": True}


def _native_vectors(path, tokenizer):
    """A one-word native vectors file at `path` whose own metadata records `tokenizer`."""
    import numpy as np

    import vecgraft
    from vecgraft.vectors import Vectors

    vectors = Vectors(["酒店"], np.ones((1, 2), np.float32))
    if tokenizer is not None:
        vectors.metadata["tokenizer"] = tokenizer
    path.parent.mkdir(exist_ok=True)
    vecgraft.save(vectors, path, format="native")
    return path


def _said(vectors, loaded=None, **given):
    """The lines `tokenizer_settings` says for a boe run on `vectors` (and `loaded` ones)."""
    from vecgraft.finetune.text_settings import tokenizer_settings

    lines: list[str] = []
    config = FinetuneConfig(train="t.csv", model="boe", vectors=vectors, **given)
    tokenizer_settings(config, loaded, lines.append)
    return lines


def _source_lines(the, their):
    """The lines said of `_JIEBA` taken from `the` (not named), or named with other modes."""
    return (
        [f"Tokenizer: jieba (from {the}; --tokenizer to choose another)",
         f"Chinese tokens: char (from {the}; --zh-mode to choose another)"],
        [f"Tokenizer normalisation: halfwidth (from {the})",
         f"Chinese tokens: the vectors were trained on char ({their}); --zh-mode word reads "
         "words only (they hold characters only: the texts' words of two or more characters "
         "have no vectors)"],
    )  # fmt: skip


@pytest.mark.parametrize("beside", [None, {"kind": "regex"}])
def test_a_native_files_own_tokenizer_is_said_to_come_from_it(tmp_path, beside):
    # `from-transformer --vocab` and `export` keep the tokenizer in the native file alone
    # (or beside another metadata.json's): finetune said "(from the vectors'
    # metadata.json; ...)" of a metadata.json that is not there, or names another
    native = _native_vectors(tmp_path / "v" / "x.safetensors", _JIEBA)
    if beside is not None:
        meta = json.dumps({"tokenizer": beside})
        (native.parent / "metadata.json").write_text(meta, encoding="utf-8")
    taken, named = _source_lines("the vectors file's own metadata", "their file's own metadata")
    assert _said(str(native)) == taken
    assert _said(str(native), tokenizer="jieba", zh_mode="word") == named
    # tune: the vectors loaded from that path, their metadata the file's
    import vecgraft

    assert _said(str(native), vecgraft.load(native)) == taken


def test_a_metadata_json_is_said_where_it_records_the_tokenizer_taken(tmp_path):
    # a pretrain folder: its native file repeats metadata.json's tokenizer; vectors.txt
    # has only the metadata.json
    native = _native_vectors(tmp_path / "v" / "vectors.safetensors", _JIEBA)
    meta = json.dumps({"tokenizer": _JIEBA})
    (native.parent / "metadata.json").write_text(meta, encoding="utf-8")
    (native.parent / "vectors.txt").write_text("1 2\n酒店 1 1\n", encoding="utf-8")
    taken, named = _source_lines("the vectors' metadata.json", "their metadata.json")
    for path in (native, native.parent, native.parent / "vectors.txt"):
        assert _said(str(path)) == taken
        assert _said(str(path), tokenizer="jieba", zh_mode="word") == named


def test_a_folders_edited_metadata_json_wins_over_its_native_files_copy(tmp_path):
    # pretrain records the tokenizer in both; the README tells users to read and edit
    # metadata.json, and an edit was ignored: the native file's copy won when it named one
    # (a user_dict moved: "segmenting without it" of the old path), for the path and for
    # the vectors loaded from it (`tune`)
    import vecgraft
    from vecgraft.finetune.vectors_record import recorded_tokenizer, vectors_metadata
    from vecgraft.io.native import native_fingerprint

    native = _native_vectors(tmp_path / "v" / "vectors.safetensors", {**_JIEBA, "zh_mode": "word"})
    edited = {"tokenizer": _JIEBA, "files": {"native": "vectors.safetensors"},
              "native_header_crc32": native_fingerprint(native)}  # as pretrain writes it
    (native.parent / "metadata.json").write_text(json.dumps(edited), encoding="utf-8")
    the = "the vectors' metadata.json, which overrides the vectors file's own metadata"
    taken, named = _source_lines(the, "their metadata.json")
    loaded = vecgraft.load(native)
    for path in (str(native.parent), str(native)):
        assert vectors_metadata(path) == edited
        assert recorded_tokenizer(path, loaded.metadata) == _JIEBA
        assert _said(path) == _said(path, loaded) == taken
        assert _said(path, tokenizer="jieba", zh_mode="word") == named
    # where both say the same, the line names metadata.json alone, as before
    (native.parent / "metadata.json").write_text(
        json.dumps({**edited, "tokenizer": loaded.metadata["tokenizer"]}), encoding="utf-8"
    )
    assert _said(str(native.parent))[0] == \
        "Tokenizer: jieba (from the vectors' metadata.json; --tokenizer to choose another)"


def test_a_native_file_saved_into_a_pretrain_folder_keeps_its_own_tokenizer(tmp_path):
    # a metadata.json won over the native file beside it even once that file was replaced:
    # `save(char vectors, DIR, format="native")` into a jieba pretrain folder (or `convert
    # ... DIR/ --to native --overwrite`) still cut texts with the old run's jieba
    import vecgraft
    from vecgraft.finetune.vectors_record import recorded_tokenizer, vectors_metadata

    folder = tmp_path / "v"
    folder.mkdir()
    record = {"tokenizer": {"kind": "jieba"}, "files": {"native": "vectors.safetensors"}}
    (folder / "metadata.json").write_text(json.dumps(record), encoding="utf-8")
    own = {"kind": "char", "lower": False}
    _native_vectors(tmp_path / "char" / "x.safetensors", own)
    vecgraft.save(vecgraft.load(tmp_path / "char" / "x.safetensors"), folder, format="native")

    def check(why: str) -> None:
        said = ("Tokenizer: char (from the vectors file's own metadata, over a metadata.json "
                f"that {why}; --tokenizer to choose another)")
        loaded = vecgraft.load(folder)
        for path in (str(folder), str(folder / "vectors.safetensors")):
            assert vectors_metadata(path)["tokenizer"] == own
            assert recorded_tokenizer(path, loaded.metadata) == own
            assert _said(path)[0] == _said(path, loaded)[0] == said

    # no fingerprint and no sizes (the user's): nothing shows that it describes the file
    check("records no word count or dim to show that it describes this file")
    # pretrain's fingerprint, of the file it wrote, which the save replaced
    from vecgraft.io.native import native_fingerprint

    native = _native_vectors(tmp_path / "jieba" / "vectors.safetensors", _JIEBA)
    record["native_header_crc32"] = native_fingerprint(native)
    (folder / "metadata.json").write_text(json.dumps(record), encoding="utf-8")
    check("does not describe this file")
    # no fingerprint, and no `files` that lists it: the folder's, said so; beside the file
    # named, it claims nothing
    (folder / "metadata.json").write_text(json.dumps({"tokenizer": {"kind": "jieba"}}), "utf-8")
    loaded = vecgraft.load(folder)
    assert _said(str(folder))[0] == _said(str(folder), loaded)[0] == (
        "Tokenizer: char (from the vectors file's own metadata, over a metadata.json that does "
        "not list this file; --tokenizer to choose another)")  # fmt: skip
    assert _said(str(folder / "vectors.safetensors"))[0] == \
        "Tokenizer: char (from the vectors file's own metadata; --tokenizer to choose another)"


def _old_pretrain(tmp_path):
    """A pretrain folder as pretrain wrote it before `native_header_crc32`, and its record."""
    from vecgraft.pretrain import PretrainConfig, pretrain

    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat sat on the mat\n" * 30, encoding="utf-8")
    out = tmp_path / "pretrained"
    pretrain(PretrainConfig(method="word2vec", corpus=[str(corpus)], out=str(out), dim=4,
                            epochs=1, min_count=1, seed=1, workers=1, sample=0))  # fmt: skip
    record = json.loads((out / "metadata.json").read_text("utf-8"))
    del record["native_header_crc32"]
    assert (record["vocab_size"], record["options"]["dim"]) == (5, 4)  # what it recorded
    return out, record


def test_an_older_pretrain_folders_edited_metadata_json_wins(tmp_path):
    # a metadata.json written before the fingerprint was ranked "stale": the README's edit
    # to it was ignored, said as "over a metadata.json that does not describe this file",
    # of the very file it was written with. It lists the file and records its sizes.
    import vecgraft
    from vecgraft.finetune.vectors_record import recorded_tokenizer, vectors_record

    out, record = _old_pretrain(tmp_path)
    record["tokenizer"] = {**record["tokenizer"], "kind": "char"}
    (out / "metadata.json").write_text(json.dumps(record), encoding="utf-8")
    said = ("Tokenizer: char (from the vectors' metadata.json, which overrides the vectors "
            "file's own metadata; --tokenizer to choose another)")
    loaded = vecgraft.load(out)
    for path in (str(out), str(out / "vectors.safetensors")):
        assert vectors_record(path)[0] == record
        assert recorded_tokenizer(path, loaded.metadata) == record["tokenizer"]
        assert _said(path)[0] == _said(path, loaded)[0] == said


@pytest.mark.parametrize(
    ("words", "dim", "why"),
    [(["酒店", "好"], 4, "records 5 words where this file holds 2"),
     (["酒店", "好", "a", "b", "c"], 2, "records dim 4 where this file has dim 2"),
     (["酒店"], 3, "records 5 words where this file holds 1 and dim 4 where this file has "
                   "dim 3")],
)  # fmt: skip
def test_an_older_pretrain_folders_metadata_json_of_other_sizes_keeps_the_files_own(
    tmp_path, words, dim, why
):
    # a native file saved into that folder since: its sizes are not those metadata.json
    # records, so it keeps its own tokenizer, and the line says why in those numbers
    import numpy as np

    import vecgraft
    from vecgraft.finetune.vectors_record import vectors_record
    from vecgraft.vectors import Vectors

    out, record = _old_pretrain(tmp_path)
    (out / "metadata.json").write_text(json.dumps(record), encoding="utf-8")
    other = Vectors(words, np.ones((len(words), dim), np.float32))
    other.metadata["tokenizer"] = own = {"kind": "char", "lower": False}
    vecgraft.save(other, out, format="native")
    said = ("Tokenizer: char (from the vectors file's own metadata, over a metadata.json that "
            f"{why}; --tokenizer to choose another)")
    assert vectors_record(str(out))[0]["tokenizer"] == own
    assert _said(str(out))[0] == _said(str(out), vecgraft.load(out))[0] == said


def test_pretrain_records_its_native_files_fingerprint_and_the_demo_keeps_it(tmp_path):
    # what lets metadata.json win over the native file it was written with, and only it
    from vecgraft.cli.demo_zh import _repoint
    from vecgraft.finetune.vectors_record import vectors_record
    from vecgraft.io.native import native_fingerprint
    from vecgraft.pretrain import PretrainConfig, pretrain

    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat sat on the mat\n" * 30, encoding="utf-8")
    out = tmp_path / "w" / "pretrained"  # where the demo keeps them
    pretrain(PretrainConfig(method="word2vec", corpus=[str(corpus)], out=str(out), dim=4,
                            epochs=1, min_count=1, seed=1, workers=1, sample=0))  # fmt: skip
    native = out / "vectors.safetensors"
    record = json.loads((out / "metadata.json").read_text("utf-8"))
    assert record["native_header_crc32"] == native_fingerprint(native) is not None
    record["tokenizer"] = {**record["tokenizer"], "kind": "char"}  # a user's edit wins
    (out / "metadata.json").write_text(json.dumps(record), encoding="utf-8")
    assert vectors_record(str(out))[0]["tokenizer"]["kind"] == "char"
    # the demo rewrites the native file's paths: metadata.json takes its new fingerprint
    before = native_fingerprint(native)
    _repoint(tmp_path / "w", {str(corpus): str(tmp_path / "moved.txt")})
    record = json.loads((out / "metadata.json").read_text("utf-8"))
    assert record["corpus"][0]["path"] == str(tmp_path / "moved.txt")
    assert record["native_header_crc32"] == native_fingerprint(native) != before
    assert vectors_record(str(out))[0]["tokenizer"]["kind"] == "char"


def test_loaded_vectors_own_tokenizer_is_said_to_come_from_their_metadata(tmp_path):
    # vectors passed in memory, at no path the run names: no metadata.json nor file
    import vecgraft

    loaded = vecgraft.load(_native_vectors(tmp_path / "v" / "x.safetensors", _JIEBA))
    taken, named = _source_lines("the vectors' own metadata", "their own metadata")
    assert _said("random", loaded) == taken
    assert _said("random", loaded, tokenizer="jieba", zh_mode="word") == named
    # and where their metadata records another tokenizer than the file named
    other = _native_vectors(tmp_path / "w" / "x.safetensors", {"kind": "regex"})
    assert _said(str(other), loaded) == taken


@pytest.mark.parametrize(("vectors", "source"), [
    ("native", "the vectors file's own metadata"),
    ("json", "the vectors' metadata.json"),
])  # fmt: skip
def test_a_user_dict_refused_names_where_the_tokenizer_kind_came_from(tmp_path, vectors, source):
    from vecgraft.errors import ConfigError
    from vecgraft.finetune.text_settings import check_user_dict

    if vectors == "native":
        path = _native_vectors(tmp_path / "v" / "x.safetensors", {"kind": "char"})
    else:
        path = _native_vectors(tmp_path / "v" / "x.safetensors", None)
        meta = json.dumps({"tokenizer": {"kind": "char"}})
        (path.parent / "metadata.json").write_text(meta, encoding="utf-8")
    user = tmp_path / "user.txt"
    user.write_text("酒店\n", encoding="utf-8")
    config = FinetuneConfig(train="t.csv", model="boe", vectors=str(path), user_dict=str(user))
    with pytest.raises(ConfigError, match=rf"char \(from {source}\)"):
        check_user_dict(config)


def _word_char_run(tmp_path):
    """`_zh_vectors_run` on vectors whose metadata.json says jieba word+char."""
    good = ["酒店很好", "房间干净", "服务好", "早餐好"]
    bad = ["酒店太差", "房间脏", "服务很差", "早餐差"]
    rows = [(a + b, label) for label, part in (("pos", good), ("neg", bad)) for a in part
            for b in part if a != b]  # fmt: skip
    words = ["酒店", "房间", "服务", "很", "好", "差", "酒", "店", "房", "间", "服", "务"]
    tokenizer = {"kind": "jieba", "lower": False, "zh_mode": "word+char"}
    return _zh_vectors_run(tmp_path, rows, words, tokenizer)


def test_the_linear_model_does_not_claim_the_vectors_word_char_tokens(tmp_path):
    # `--model linear` on word+char vectors said "Chinese tokens: word+char", but it cuts
    # jieba's words and reads characters only through its own n-grams; so does a fused half
    pytest.importorskip("rjieba")
    cfg = _word_char_run(tmp_path)
    said: list[str] = []
    finetune(cfg.replace(model="linear"), log=said.append)
    chinese = [line for line in said if line.startswith("Chinese tokens")]
    assert chinese == ["Chinese tokens: the linear model reads jieba's words and its own "
                       "character n-grams (1-3), not the word+char tokens (no Chinese mode "
                       "of its own)"]  # fmt: skip
    said.clear()
    finetune(cfg.replace(fuse_linear=True, out=str(tmp_path / "fused")), log=said.append)
    assert "Chinese tokens: word+char (from the vectors' metadata.json; --zh-mode to choose " \
           "another)" in said  # the network's  # fmt: skip
    assert ("Fused linear model: it reads jieba's words and its own character n-grams (1-3), "
            "not the word+char tokens (no Chinese mode of its own)") in said


def test_zh_mode_word_on_word_char_vectors_is_said(tmp_path):
    # --zh-mode word on vectors trained on word+char: coverage fell and their character rows
    # went unused, with no word of why
    pytest.importorskip("rjieba")
    cfg = _word_char_run(tmp_path)
    said: list[str] = []
    finetune(cfg.replace(zh_mode="word"), log=said.append)
    assert load_run(tmp_path / "run").tokenizer.config["zh_mode"] == "word"
    assert [line for line in said if line.startswith("Chinese tokens")] == [
        "Chinese tokens: the vectors were trained on word+char (their metadata.json); "
        "--zh-mode word reads words only (their character rows are unused by the texts)"
    ]
    said.clear()  # the mode they were trained on: nothing to say
    finetune(cfg.replace(zh_mode="word+char", out=str(tmp_path / "same")), log=said.append)
    assert not [line for line in said if line.startswith("Chinese tokens")]


_TRAINED = "Chinese tokens: the vectors were trained on {} (their metadata.json); --zh-mode "


@pytest.mark.parametrize(("mode", "theirs", "said"), [
    ("word", "word+char", "word reads words only (their character rows are unused by the "
     "texts)"),
    # was "(some of their rows may be unused by the texts)": their word rows all are
    ("char", "word+char", "char reads characters only (their word rows are unused by the "
     "texts)"),
    # were "some of their rows may be unused": the texts' words have no vectors at all
    ("word", "char", "word reads words only (they hold characters only: the texts' words of "
     "two or more characters have no vectors)"),
    ("word+char", "char", "word+char reads words and characters (they hold characters only: "
     "the texts' words of two or more characters have no vectors)"),
])  # fmt: skip
def test_a_zh_mode_mismatch_names_what_the_case_costs(mode, theirs, said):
    from vecgraft.finetune.text_settings import _zh_mode_mismatch
    from vecgraft.finetune.vectors_record import FROM_METADATA_JSON

    saved = {"kind": "jieba", "zh_mode": theirs}
    said = _TRAINED.format(theirs) + said
    assert _zh_mode_mismatch(mode, saved, "jieba", FROM_METADATA_JSON) == said


@pytest.mark.parametrize(("mode", "saved", "kind"), [
    ("char", {"kind": "jieba", "zh_mode": "word"}, "jieba"),  # word vectors: nothing said
    ("char", {"kind": "jieba", "zh_mode": "char"}, "jieba"),  # the vectors' own mode
    ("word", {"kind": "char", "zh_mode": "char"}, "jieba"),  # another tokenizer's metadata
])  # fmt: skip
def test_no_zh_mode_mismatch_is_said_where_the_modes_agree_or_the_kinds_differ(mode, saved, kind):
    from vecgraft.finetune.text_settings import _zh_mode_mismatch
    from vecgraft.finetune.vectors_record import FROM_METADATA_JSON

    assert _zh_mode_mismatch(mode, saved, kind, FROM_METADATA_JSON) is None


def test_traditional_text_meets_vectors_pretrained_as_simplified(tmp_path):
    # vectors pretrained with --simplified --halfwidth: the run's tokenizer did not take those
    # two settings from metadata.json, so traditional training texts kept words the vectors
    # do not have (這個 against 这个)
    pytest.importorskip("opencc")
    rows = [(f"這個酒店很好{i}", "pos") for i in range(8)] + [
        (f"這個酒店太差{i}", "neg") for i in range(8)
    ]
    words = ["这个", "酒店", "很", "好", "太", "差"]
    tokenizer = {"kind": "jieba", "lower": False, "simplified": True, "halfwidth": True}
    cfg = _zh_vectors_run(tmp_path, rows, words, tokenizer)
    finetune(cfg, log=lambda _m: None)
    tok = load_run(tmp_path / "run").tokenizer
    assert (tok.config["simplified"], tok.config["halfwidth"]) == (True, True)
    assert tok("這個酒店很好１") == ["这个", "酒店", "很", "好", "1"]
    # --tokenizer jieba, as the README writes it for Chinese, is the same kind: same settings
    finetune(cfg.replace(tokenizer="jieba", out=str(tmp_path / "named")), log=lambda _m: None)
    named = load_run(tmp_path / "named").tokenizer
    assert named("這個酒店很好１") == ["这个", "酒店", "很", "好", "1"]


def test_halfwidth_and_simplified_can_be_asked_for_without_the_vectors_metadata(tmp_path):
    """Vectors from elsewhere (Tencent, fastText cc.zh) have no metadata.json: a run could
    not map traditional or full-width training text to their simplified words at all."""
    pytest.importorskip("opencc")
    rows = [(f"這個酒店很好{i}", "pos") for i in range(8)] + [
        (f"這個酒店太差{i}", "neg") for i in range(8)
    ]
    words = ["这个", "酒店", "很", "好", "太", "差"]
    cfg = _zh_vectors_run(tmp_path, rows, words, {"kind": "jieba", "lower": False})
    cfg = cfg.replace(halfwidth=True, simplified=True)
    finetune(cfg, log=lambda _m: None)
    tok = load_run(tmp_path / "run").tokenizer
    assert (tok.config["simplified"], tok.config["halfwidth"]) == (True, True)
    assert tok("這個酒店很好１") == ["这个", "酒店", "很", "好", "1"]
    # a setting given beats the vectors' metadata.json, either way
    off = {"kind": "jieba", "lower": False, "simplified": True, "halfwidth": True}
    (tmp_path / "off").mkdir()
    cfg = _zh_vectors_run(tmp_path / "off", rows, words, off)
    finetune(cfg.replace(halfwidth=False), log=lambda _m: None)
    tok = load_run(tmp_path / "off" / "run").tokenizer
    assert (tok.config["simplified"], tok.config["halfwidth"]) == (True, False)


def test_traditional_or_full_width_text_on_simplified_vectors_names_the_flags(tmp_path):
    # traditional, full-width ChnSentiCorp on simplified word2vec: coverage of word types
    # 17 % instead of 40 % and no word of --simplified --halfwidth, which restore it
    pytest.importorskip("opencc")
    rows = [(f"這個飯館環境很好，ＷＩＦＩ{i}", "pos") for i in range(8)] + [
        (f"這個飯館環境太差，ＷＩＦＩ{i}", "neg") for i in range(8)
    ]
    words = ["这个", "饭馆", "环境", "很", "好", "太", "差", "wifi"]
    cfg = _zh_vectors_run(tmp_path, rows, words, {"kind": "jieba", "lower": False})
    said: list[str] = []
    finetune(cfg, log=said.append)
    warned = [m for m in said if m.startswith("WARNING: ")]
    assert any("are traditional" in m and "pass --simplified" in m for m in warned), said
    assert any("full-width" in m and "pass --halfwidth" in m for m in warned), said
    said.clear()
    finetune(cfg.replace(simplified=True, halfwidth=True, out=str(tmp_path / "fixed")),
             log=said.append)  # fmt: skip
    assert not [m for m in said if "--simplified" in m or "--halfwidth" in m], said


def test_jieba_hmm_and_user_dict_come_from_the_vectors_metadata(tmp_path):
    # vectors pretrained with hmm=False: the run segmented with the HMM on, so "杭研" was a
    # token the vectors never saw (and their "杭", "研" went unused)
    good = ["网易杭研很好", "大厦很好", "服务好"]
    bad = ["网易杭研太差", "大厦很差", "服务差"]
    rows = [(a + b, label) for label, part in (("pos", good), ("neg", bad)) for a in part
            for b in part if a != b]  # fmt: skip
    words = ["网易", "杭", "研", "很", "好", "差", "大厦", "服务", "太"]
    cfg = _zh_vectors_run(tmp_path, rows, words, {"kind": "jieba", "hmm": False})
    finetune(cfg, log=lambda _m: None)
    tok = load_run(tmp_path / "run").tokenizer
    assert tok.config["hmm"] is False
    assert tok("网易杭研很好") == ["网易", "杭", "研", "很", "好"]
    user = tmp_path / "user.txt"
    user.write_text("网易杭研\n", encoding="utf-8")
    meta = {"tokenizer": {"kind": "jieba", "user_dict": str(user)}}
    (tmp_path / "w2v" / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    finetune(cfg.replace(out=str(tmp_path / "user")), log=lambda _m: None)
    assert load_run(tmp_path / "user").tokenizer("网易杭研很好") == ["网易杭研", "很", "好"]
    user.unlink()  # gone: said, and segmented without it
    said: list[str] = []
    finetune(cfg.replace(out=str(tmp_path / "gone")), log=said.append)
    assert any("user dictionary" in m and "not found" in m for m in said)
    assert load_run(tmp_path / "gone").tokenizer.config["user_dict"] is None


def test_a_run_keeps_its_own_copy_of_the_jieba_user_dictionary(tmp_path):
    # predict failed with "jieba user dictionary not found" once the file was moved or the
    # run folder copied to another machine: the run pointed at the original's absolute path
    import shutil

    from vecgraft.errors import DataError

    USER_DICT_FILE = "jieba_user_dict.txt"  # vecgraft.text.tokenize.USER_DICT_FILE
    good = ["网易杭研很好", "大厦很好", "服务好"]
    bad = ["网易杭研太差", "大厦很差", "服务差"]
    rows = [(a + b, label) for label, part in (("pos", good), ("neg", bad)) for a in part
            for b in part if a != b]  # fmt: skip
    words = ["网易", "杭", "研", "很", "好", "差", "大厦", "服务", "太"]
    user = tmp_path / "user.txt"
    user.write_text("网易杭研\n", encoding="utf-8")
    cfg = _zh_vectors_run(tmp_path, rows, words, {"kind": "jieba", "user_dict": str(user)})
    finetune(cfg, log=lambda _m: None)
    saved = json.loads((tmp_path / "run" / "best" / "model.json").read_text(encoding="utf-8"))
    assert saved["tokenizer"]["user_dict"] == USER_DICT_FILE  # relative to the checkpoint
    user.unlink()  # moved away, and the run copied elsewhere
    moved = tmp_path / "elsewhere" / "run"
    shutil.copytree(tmp_path / "run", moved)
    shutil.rmtree(tmp_path / "run")
    assert load_run(moved).tokenizer("网易杭研很好") == ["网易杭研", "很", "好"]
    (moved / "best" / USER_DICT_FILE).write_text("大厦很\n", encoding="utf-8")
    with pytest.raises(DataError, match="changed since the run was trained"):
        load_run(moved)
    # a run from before the copy (an absolute path, no digest) still loads where the file is
    user.write_text("网易杭研\n", encoding="utf-8")
    old = {**saved, "tokenizer": {**saved["tokenizer"], "user_dict": str(user)}}
    del old["tokenizer"]["user_dict_sha256"]
    (moved / "best" / "model.json").write_text(json.dumps(old), encoding="utf-8")
    (moved / "best" / USER_DICT_FILE).unlink()
    assert load_run(moved).tokenizer("网易杭研很好") == ["网易杭研", "很", "好"]


@pytest.mark.parametrize("progress", [None, False])
def test_a_long_epoch_says_how_far_it_is_without_a_bar(monkeypatch, progress):
    # output to a file or pipe draws no bar: a plain line at most every EPOCH_NOTE_SECONDS
    # (0 here: after every batch); --no-progress keeps the epochs' own lines only
    from vecgraft.finetune import train

    monkeypatch.setattr(train, "EPOCH_NOTE_SECONDS", 0.0)
    monkeypatch.setattr("sys.stderr.isatty", lambda: False, raising=False)
    lines: list[str] = []
    cfg = FinetuneConfig(batch_size=40, epochs=2, patience=None, freeze_epochs=0,
                         progress=progress)  # fmt: skip
    Trainer(TinyBoE(40, 8, 3), cfg, toy_data(120), None, num_classes=3,
            device=torch.device("cpu"), log=lines.append).fit()
    notes = [line for line in lines if line.startswith("Epoch ") and ": batch " in line]
    if progress is False:
        assert notes == []
        return
    assert [n.split(", loss")[0] for n in notes] == [
        f"Epoch {e}/2: batch {b}/3" for e in (1, 2) for b in (1, 2, 3)
    ]
    assert all(n.endswith("s]") and ", loss " in n for n in notes)


def test_a_named_tokenizer_of_the_vectors_kind_keeps_their_recorded_case():
    # --tokenizer jieba with jieba vectors trained cased (lower: false) lowercased the text
    # by the word count alone, so 华为P30 became 华为 + p30, words the vectors lack
    import numpy as np

    from vecgraft.finetune.text_settings import resolve_text_options
    from vecgraft.vectors import Vectors

    words = ["华为P30", "iPhone", *[f"词{i}" for i in range(1000)]]
    vectors = Vectors(words, np.ones((len(words), 2), np.float32),
                      metadata={"tokenizer": {"kind": "jieba", "lower": False}})  # fmt: skip
    config = FinetuneConfig(train="t.csv", vectors="v.txt", tokenizer="jieba")
    lines: list[str] = []
    settings, lower = resolve_text_options(config, vectors, lines.append)
    assert settings["kind"] == "jieba" and lower is False
    assert not any("lowercasing text" in line for line in lines)
    lowered = Vectors(words, vectors.matrix,
                      metadata={"tokenizer": {"kind": "jieba", "lower": True}})  # fmt: skip
    assert resolve_text_options(config, lowered, lines.append)[1] is True


def test_the_linear_flag_of_tokenizer_settings_is_keyword_only():
    # tune passed it positionally: a bare True read as nothing at the call
    from vecgraft.finetune.text_settings import tokenizer_settings

    config = FinetuneConfig(train="t.csv", model="linear")
    with pytest.raises(TypeError):
        tokenizer_settings(config, None, lambda _m: None, True)  # type: ignore[misc]
    assert tokenizer_settings(config, None, lambda _m: None, linear=True) == (
        {"kind": "regex"}, None)


def test_one_test_says_which_chinese_modes_read_characters():
    # finetune, compare's log and its report each wrote `mode in (None, "word")` out
    from vecgraft.text.zh import reads_characters

    assert [reads_characters(m) for m in (None, "word", "char", "word+char")] == [
        False, False, True, True]


def test_low_coverage_of_texts_already_segmented_says_the_vectors_lack_their_language(tmp_path):
    # English GloVe on Chinese text split by jieba: the hint said "check --tokenizer, e.g.
    # jieba for Chinese"
    words = ["服务", "态度", "很", "好", "差", "不", "推荐", "屏幕", "漂亮", "声音"]
    # only "。" has a vector
    rows = [("".join(words[i % 8: i % 8 + 3]) + "。", "正面" if i % 8 % 2 else "负面")
            for i in range(40)]  # fmt: skip
    vectors = tmp_path / "v.txt"
    vectors.write_text("".join(f"{w} {i} 0.5 1\n" for i, w in enumerate(["good", "。", "bad"])))
    lines: list[str] = []
    cfg = FinetuneConfig(
        train=str(write_csv(tmp_path / "train.csv", rows[:30])),
        test=str(write_csv(tmp_path / "test.csv", rows[30:])), vectors=str(vectors),
        tokenizer="jieba", out=str(tmp_path / "run"), model="boe", epochs=1, plots=False,
        progress=False, fuse_linear=False, extend_vocab=0, valid_fraction=0, dedupe=False,
    )  # fmt: skip
    finetune(cfg, log=lines.append)
    warning = [x for x in lines if x.startswith("WARNING: only")]
    assert len(warning) == 1 and warning[0].endswith(
        " the texts are Chinese and already segmented (jieba), so the vectors "
        "seem to lack Chinese words: use vectors trained on Chinese text")


def test_the_low_coverage_hint_follows_the_tokenizer():
    from types import SimpleNamespace

    from vecgraft.finetune.families import coverage_hint

    def vocab(kind: str, counts: dict[str, int]) -> SimpleNamespace:
        return SimpleNamespace(metadata={"tokenizer": {"kind": kind}}, tokens=list(counts),
                               counts=counts)  # fmt: skip

    english = {"the": 5, "film": 3}
    assert coverage_hint(vocab("regex", english)).endswith(
        "(check --tokenizer, e.g. jieba for Chinese, and --lower)")
    # characters of English text: the tokenizer may well be the cause
    assert coverage_hint(vocab("char", english)) == (
        "the vectors seem to lack the texts' language or script, or the char tokenizer "
        "splits them unlike the vectors' corpus (check --tokenizer and --lower)")
    assert coverage_hint(vocab("char", {"好": 4, "!": 1})).startswith(
        "the texts are Chinese and already segmented (char)")
