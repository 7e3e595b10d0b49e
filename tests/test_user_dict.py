"""`--user-dict` beyond pretrain: finetune, compare, tune, build and graft-vocab.

Vectors from elsewhere (Tencent's, fastText cc.zh) come without a metadata.json, so a domain
dictionary could reach no command but pretrain: a company name such as 蓝鲸科技 was cut into
蓝鲸 + 科技 in every run. The fixture is a tiny Chinese task around two made-up names that
jieba alone cuts up.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import conftest_transformer
import vecgraft
from finetune_helpers import write_csv
from vecgraft.cli import main
from vecgraft.errors import ConfigError, DataError
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.predict import load_run
from vecgraft.finetune.run import finetune
from vecgraft.text.tokenize import USER_DICT_FILE, Tokenizer, user_dict_digest

bert_dir = conftest_transformer.bert_dir

WORD = "蓝鲸科技"  # ours: jieba alone gives 蓝鲸 科技
THEIRS = "星河智联"  # the vectors' dictionary's: jieba alone gives 星河 智联
GOOD = [f"{WORD}很好", f"{THEIRS}很好", "服务好", "产品不错"]
BAD = [f"{WORD}太差", f"{THEIRS}很差", "服务差", "产品糟糕"]
VECTOR_WORDS = [WORD, THEIRS, "蓝鲸", "科技", "星河", "智联", "服务", "产品", "很", "好", "差"]
TEXTS = [f"{WORD}的服务很好", f"{THEIRS}太差"]


@pytest.fixture
def zh(tmp_path: Path) -> dict[str, Path]:
    """Train CSV (12 texts a label), 2-d vectors without metadata.json, our dictionary."""
    rows = [(a + b, label) for label, part in (("pos", GOOD), ("neg", BAD)) for a in part
            for b in part if a != b]  # fmt: skip
    folder = tmp_path / "vectors"
    folder.mkdir()
    lines = [f"{len(VECTOR_WORDS)} 2"] + [
        f"{w} {i / 10:.1f} {1 - i / 10:.1f}" for i, w in enumerate(VECTOR_WORDS)
    ]
    (folder / "vectors.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    user = tmp_path / "user.txt"
    user.write_text(f"{WORD} 10 nz\n", encoding="utf-8")
    return {
        "train": write_csv(tmp_path / "train.csv", rows),
        "vectors": folder / "vectors.txt",
        "user": user,
    }


def _config(zh: dict[str, Path], out: Path, **changes: Any) -> FinetuneConfig:
    """A one-epoch BoE run on the vectors; extend_vocab 0: the vocabulary is the texts'."""
    settings: dict[str, Any] = {
        "train": str(zh["train"]), "vectors": str(zh["vectors"]), "out": str(out),
        "model": "boe", "epochs": 1, "extend_vocab": 0, "plots": False, "progress": False,
        "test_fraction": 0.25,
    }  # fmt: skip
    return FinetuneConfig(**{**settings, **changes})


def test_jieba_alone_cuts_the_made_up_words():
    assert Tokenizer("jieba")(TEXTS[0])[:2] == ["蓝鲸", "科技"]
    assert Tokenizer("jieba")(TEXTS[1])[:2] == ["星河", "智联"]


def test_finetune_keeps_a_dictionary_word_whole(zh, tmp_path, capsys):
    argv = ["finetune", "--train", str(zh["train"]), "--vectors", str(zh["vectors"]),
            "--tokenizer", "jieba", "--model", "boe", "--epochs", "1", "--extend-vocab", "0",
            "--test-fraction", "0.25", "--no-plots", "--no-progress"]  # fmt: skip
    assert main([*argv, "--out", str(tmp_path / "with"), "--user-dict", str(zh["user"])]) == 0
    assert main([*argv, "--out", str(tmp_path / "without")]) == 0
    capsys.readouterr()
    assert WORD in load_run(tmp_path / "with").vocab
    without = load_run(tmp_path / "without").vocab
    assert WORD not in without and {"蓝鲸", "科技"} <= set(without.tokens)
    saved = json.loads((tmp_path / "with" / "config.json").read_text(encoding="utf-8"))
    assert saved["user_dict"] == str(zh["user"])


def test_a_saved_run_predicts_the_same_once_the_dictionary_is_gone(zh, tmp_path):
    # each checkpoint keeps its copy, as for a dictionary taken from the vectors' metadata
    out = tmp_path / "run"
    finetune(_config(zh, out, tokenizer="jieba", user_dict=str(zh["user"])), log=lambda _m: None)
    before = load_run(out)
    scores = before.predict_proba(TEXTS)
    zh["user"].unlink()
    after = load_run(out)
    assert after.tokenizer.config["user_dict"] == str(out / "best" / USER_DICT_FILE)
    assert after.tokenizer(TEXTS[0])[0] == WORD
    assert after.predict(TEXTS) == before.predict(TEXTS)
    assert after.predict_proba(TEXTS).tolist() == scores.tolist()
    model = json.loads((out / "best" / "model.json").read_text(encoding="utf-8"))
    assert model["tokenizer"]["user_dict"] == USER_DICT_FILE


def test_load_run_reads_the_runs_dictionaries_before_it_returns(zh, tmp_path):
    # jieba read the checkpoint's copy (and the fused linear model's) at the first text,
    # after load_run let go of the folder: a run replacing it meanwhile (--overwrite sets
    # best/ and fusion/ aside) left "jieba user dictionary not found", or other words
    out = tmp_path / "run"
    finetune(_config(zh, out, tokenizer="jieba", user_dict=str(zh["user"])), log=lambda _m: None)
    expected = load_run(out).predict_proba(TEXTS).tolist()
    predictor = load_run(out)
    copies = [out / "best" / USER_DICT_FILE, out / "fusion" / USER_DICT_FILE]
    assert all(copy.is_file() for copy in copies)
    for copy in copies:
        copy.unlink()
    assert predictor.tokenizer(TEXTS[0])[0] == WORD
    assert predictor.predict_proba(TEXTS).tolist() == expected


def test_the_runs_dictionary_beats_the_vectors_one(zh, tmp_path):
    theirs = tmp_path / "theirs.txt"
    theirs.write_text(f"{THEIRS}\n", encoding="utf-8")
    meta = {"tokenizer": {"kind": "jieba", "user_dict": str(theirs)}}
    (zh["vectors"].parent / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    said: list[str] = []
    # no --tokenizer: jieba comes from the vectors' metadata.json, the dictionary from the run
    finetune(_config(zh, tmp_path / "ours", user_dict=str(zh["user"])), log=said.append)
    vocab = load_run(tmp_path / "ours").vocab
    assert WORD in vocab and THEIRS not in vocab and "智联" in vocab
    assert any(m.startswith(f"Jieba user dictionary: {zh['user']} (the vectors were "
                            f"segmented with {theirs})") for m in said), said  # fmt: skip
    finetune(_config(zh, tmp_path / "theirs"), log=lambda _m: None)  # no dictionary given
    vocab = load_run(tmp_path / "theirs").vocab
    assert THEIRS in vocab and WORD not in vocab


def test_a_missing_dictionary_is_named_before_the_data_is_read(zh, tmp_path):
    missing = tmp_path / "missing.txt"
    config = _config(zh, tmp_path / "run", tokenizer="jieba", user_dict=str(missing),
                     train=str(tmp_path / "no-such.csv"))  # fmt: skip
    with pytest.raises(DataError, match=f"^{missing}: jieba user dictionary not found"):
        finetune(config, log=lambda _m: None)
    assert not (tmp_path / "run").exists()


def test_a_dictionary_needs_the_jieba_tokenizer(zh, tmp_path):
    with pytest.raises(ConfigError, match=r"user_dict \(a jieba user dictionary\) needs "
                       r"tokenizer='jieba'; the tokenizer is regex$"):  # fmt: skip
        _config(zh, tmp_path / "run", tokenizer="regex", user_dict=str(zh["user"]))


USER_DICT_JIEBA = "Tokenizer: jieba (--user-dict is a jieba user dictionary)"


@pytest.mark.parametrize("texts", ["zh", "en"])
def test_a_dictionary_without_a_tokenizer_means_jieba(zh, tmp_path, texts):
    # it was refused ("the tokenizer is regex (the default)") where the same run without
    # it chose jieba for these Chinese texts; a jieba dictionary says jieba, English too
    train = zh["train"] if texts == "zh" else write_csv(
        tmp_path / "en.csv", [(f"{w} is {g}", g) for w in ("food", "room", "staff", "bed")
                              for g in ("good", "bad")] * 3)  # fmt: skip
    said: list[str] = []
    out = tmp_path / "run"
    config = _config(zh, out, train=str(train), user_dict=str(zh["user"]), dedupe=False)
    finetune(config, log=said.append)
    assert said.count(USER_DICT_JIEBA) == 1
    assert not [m for m in said if m.startswith("Tokenizer: jieba (the training texts")]
    assert json.loads((out / "config.json").read_text(encoding="utf-8"))["tokenizer"] == "jieba"
    tokenizer = load_run(out).tokenizer
    assert tokenizer.config["kind"] == "jieba"
    assert Path(tokenizer.config["user_dict"]).name == USER_DICT_FILE  # its own copy
    if texts == "zh":
        assert WORD in load_run(out).vocab  # the dictionary's word, whole


@pytest.mark.parametrize("texts", ["zh", "en"])
def test_pretrain_takes_a_dictionary_without_a_tokenizer_to_mean_jieba(zh, tmp_path, capsys,
                                                                       texts):  # fmt: skip
    # it was refused: "--user-dict is only used by the jieba tokenizer, not regex", a kind
    # never named, where finetune, build and compare take the dictionary to mean jieba
    corpus = tmp_path / "corpus.txt"
    lines = TEXTS if texts == "zh" else ["the room is good", "the staff are bad"]
    corpus.write_text("\n".join(lines * 10) + "\n", encoding="utf-8")
    out = tmp_path / "vec"
    argv = ["pretrain", "--method", "word2vec", "--corpus", str(corpus), "--out", str(out),
            "--dim", "4", "--epochs", "1", "--min-count", "1", "--workers", "1",
            "--no-progress", "--user-dict", str(zh["user"])]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert err.splitlines().count(USER_DICT_JIEBA) == 1 and "the corpus is Chinese" not in err
    meta = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    assert meta["tokenizer"]["kind"] == "jieba" and "tokenizer_chosen" not in meta
    if texts == "zh":
        assert WORD in vecgraft.load(out, cache=False).words  # the dictionary's word, whole


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--tokenizer", "regex"], "--user-dict (a jieba user dictionary) needs --tokenizer "
                                   "jieba; the tokenizer is regex\n"),
        (["--tokenizer", "jieba", "--user-dict", "gone.txt"],
         "error: gone.txt: jieba user dictionary not found\n"),
    ],
)  # fmt: skip
def test_cli_says_which_flag_to_fix(zh, tmp_path, capsys, monkeypatch, flags, said):
    monkeypatch.chdir(tmp_path)
    argv = ["finetune", "--train", str(zh["train"]), "--vectors", str(zh["vectors"]),
            "--user-dict", str(zh["user"]), *flags, "--out", "run"]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("vecgraft finetune: error: ") and err.endswith(said), err
    assert "user_dict" not in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def _compare_argv(zh: dict[str, Path], out: Path, *flags: str) -> list[str]:
    return ["compare", "--train", str(zh["train"]), "--sources", "random",
            f"tiny={zh['vectors']}", "--model", "boe", "--epochs", "1", "--no-linear",
            "--no-intrinsic", "--set", "extend_vocab=0", "--set", "plots=false",
            "--set", "progress=false", "--set", "test_fraction=0.25", "--out", str(out),
            *flags]  # fmt: skip


@pytest.mark.parametrize("named", [True, False])
def test_compare_cells_segment_with_the_dictionary(zh, tmp_path, capsys, named):
    # without --tokenizer the dictionary means jieba: it was refused before any cell ran
    # ("source random: ... the tokenizer is regex (the default)")
    from vecgraft.evaluate.compare import cell_dir

    out = tmp_path / "cmp"
    flags = [*(["--tokenizer", "jieba"] if named else []), "--user-dict", str(zh["user"])]
    assert main(_compare_argv(zh, out, *flags)) == 0, capsys.readouterr()
    for source in ("random", "tiny"):
        assert WORD in load_run(cell_dir(out, source, 1.0, 0)).vocab, source
    settings = json.loads((out / "compare.json").read_text(encoding="utf-8"))["settings"]
    assert settings["finetune"]["user_dict"] == str(zh["user"])


def test_tune_trials_and_best_yaml_keep_the_dictionary(zh, tmp_path, capsys, monkeypatch):
    pytest.importorskip("optuna")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(
        {"model": "boe", "epochs": 1, "extend_vocab": 0, "progress": False}
    ))  # fmt: skip
    (tmp_path / "space.yaml").write_text(yaml.safe_dump(  # test_tune's, narrowed to a point
        {"lr": {"type": "categorical", "choices": [0.01]}, "epochs": 1, "batch_size": 8,
         "freeze_epochs": 0, "embedding_lr": None, "weight_decay": None, "warmup": None,
         "hidden_size": 0, "pooling": {"type": "categorical", "choices": ["mean"]}}
    ))  # fmt: skip
    argv = ["tune", "--train", str(zh["train"]), "--vectors", str(zh["vectors"]),
            "--tokenizer", "jieba", "--config", "base.yaml", "--space", "space.yaml",
            "--trials", "1", "--no-progress"]  # fmt: skip
    assert main([*argv, "--user-dict", "user.txt", "--out", "t"]) == 0, capsys.readouterr()
    best = yaml.safe_load((tmp_path / "t" / "best.yaml").read_text(encoding="utf-8"))
    assert best["user_dict"] == str(zh["user"].resolve())  # absolute: runs from anywhere
    assert WORD in load_run(tmp_path / "t" / "final").vocab
    capsys.readouterr()
    # a file that is not there stops the command before the study, not in every trial
    assert main([*argv, "--user-dict", "gone.txt", "--out", "t2"]) == 1
    assert capsys.readouterr().err.endswith("error: gone.txt: jieba user dictionary not found\n")
    assert not (tmp_path / "t2").exists()


def test_build_segments_the_corpus_with_the_dictionary(zh, tmp_path, capsys, monkeypatch):
    from vecgraft.nn.embedding import load_embedding

    monkeypatch.chdir(tmp_path)
    argv = ["build", "--corpus", str(zh["train"]), "--vectors", str(zh["vectors"]),
            "--tokenizer", "jieba", "--no-cache"]  # fmt: skip
    assert main([*argv, "--user-dict", "user.txt", "--out", "with"]) == 0
    assert main([*argv, "--out", "without"]) == 0
    capsys.readouterr()
    _, vocab, _ = load_embedding(tmp_path / "with")
    assert WORD in vocab
    # absolute: the folder's tokenizer is rebuilt (export) from anywhere
    assert vocab.metadata["tokenizer"]["user_dict"] == str(zh["user"])
    _, without, _ = load_embedding(tmp_path / "without")
    assert WORD not in without and "蓝鲸" in without


def test_build_says_a_dictionary_without_a_tokenizer_means_jieba(zh, tmp_path, capsys):
    # it chose jieba and recorded it, but said nothing, where finetune says why
    from vecgraft.nn.embedding import load_embedding

    out = tmp_path / "emb"
    argv = ["build", "--corpus", str(zh["train"]), "--vectors", str(zh["vectors"]),
            "--user-dict", str(zh["user"]), "--out", str(out), "--no-cache"]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err.splitlines()
    assert err.count(USER_DICT_JIEBA) == 1
    assert not [line for line in err if line.startswith("Tokenizer: jieba (the corpus")]
    _, vocab, _ = load_embedding(out)
    assert vocab.metadata["tokenizer"]["kind"] == "jieba" and WORD in vocab


@pytest.mark.parametrize("flags", [[], ["--tokenizer", "jieba"]])
def test_build_takes_the_vectors_tokenizer_and_dictionary(zh, tmp_path, capsys, monkeypatch,
                                                          flags):  # fmt: skip
    """build ignored the metadata.json of jieba-pretrained vectors: without --tokenizer it
    split Chinese with regex, and with it segmented without their user dictionary and
    half-width setting, where finetune and compare took all three."""
    from vecgraft.nn.embedding import load_embedding

    monkeypatch.setenv("VECGRAFT_SEGMENT_CACHE", "off")
    recorded = {"kind": "jieba", "user_dict": str(zh["user"]), "halfwidth": True}
    meta = {"tokenizer": recorded}
    (zh["vectors"].parent / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    out = tmp_path / "emb"
    argv = ["build", "--corpus", str(zh["train"]), "--vectors", str(zh["vectors"]),
            "--out", str(out), "--no-cache", *flags]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    said = "Tokenizer: jieba (from the vectors' metadata.json; --tokenizer to choose another)"
    assert (said in err.splitlines()) is not flags
    _, vocab, report = load_embedding(out)
    assert WORD in vocab and "蓝鲸" not in vocab
    config = report["metadata"]["tokenizer"]
    assert config["kind"] == "jieba" and config["user_dict"] == str(zh["user"])
    assert config["halfwidth"] is True


def test_graft_vocab_picks_dictionary_words_with_the_jieba_tokenizer(zh, bert_dir, tmp_path,
                                                                     capsys):  # fmt: skip
    out = tmp_path / "grafted"
    argv = ["graft-vocab", str(bert_dir), "--corpus", str(zh["train"]), "--add-tokens", "20",
            "--user-dict", str(zh["user"]), "--out", str(out)]  # fmt: skip
    assert main([*argv, "--tokenizer", "jieba", "--tokenizer", "char"]) == 0
    capsys.readouterr()
    report = json.loads((out / "graft_report.json").read_text(encoding="utf-8"))
    tokens = {t["token"] for t in report["new_tokens"]}
    assert WORD in tokens and "蓝鲸" not in tokens and "智联" in tokens
    # the dictionary is jieba's: without a jieba tokenizer it is refused, not ignored
    assert main([*argv, "--tokenizer", "char"]) == 1
    assert capsys.readouterr().err == (
        "vecgraft graft-vocab: error: --user-dict (a jieba user dictionary) needs "
        "--tokenizer jieba; the tokenizers are char\n"
    )


def test_model_hf_grafts_dictionary_words_and_says_when_it_cannot_use_it(zh, bert_dir, tmp_path):
    # model hf reads texts with the checkpoint's tokenizer: the dictionary only shapes the
    # words --add-tokens picks, and without --add-tokens it is named as not used
    pytest.importorskip("transformers")
    base = {"train": str(zh["train"]), "model": "hf", "hf_model": str(bert_dir), "epochs": 1,
            "batch_size": 8, "plots": False, "progress": False, "device": "cpu",
            "test_fraction": 0.25, "tokenizer": "jieba", "user_dict": str(zh["user"])}  # fmt: skip
    out = tmp_path / "grafted"
    finetune(FinetuneConfig.from_dict({**base, "out": str(out), "add_tokens": "3"}),
             log=lambda _m: None)  # fmt: skip
    report = json.loads((out / "best" / "graft_report.json").read_text(encoding="utf-8"))
    assert WORD in [row["token"] for row in report["new_tokens"]]
    lines: list[str] = []
    finetune(FinetuneConfig.from_dict({**base, "out": str(tmp_path / "plain")}), log=lines.append)
    notes = [line for line in lines if line.startswith("Note: model 'hf' reads the texts")]
    assert len(notes) == 1 and "--tokenizer, --user-dict not used" in notes[0], lines


def test_the_linear_model_segments_with_the_dictionary_and_keeps_a_copy(zh, tmp_path):
    # before, its word n-grams cut 蓝鲸科技 into 蓝鲸 + 科技 whatever --user-dict said
    out = tmp_path / "run"
    config = _config(zh, out, model="linear", vectors="random", tokenizer="jieba",
                     user_dict=str(zh["user"]))  # fmt: skip
    finetune(config, log=lambda _m: None)
    meta = json.loads((out / "linear.json").read_text(encoding="utf-8"))
    words = meta["vocabularies"]["word"]
    assert WORD.lower() in words and "蓝鲸" not in words and "智联" in words
    assert meta["config"]["segmentation"] == {
        "user_dict": USER_DICT_FILE, "user_dict_sha256": user_dict_digest(zh["user"]),
        "user_dict_normalized": True,
    }  # fmt: skip
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert USER_DICT_FILE in manifest["files"]  # --overwrite removes it with the run
    before = load_run(out).predict(TEXTS)
    zh["user"].unlink()  # the run reads its own copy
    assert load_run(out).predict(TEXTS) == before
    (out / USER_DICT_FILE).write_text("蓝鲸 10 nz\n", encoding="utf-8")
    with pytest.raises(DataError, match="changed since the run was trained"):
        load_run(out)


def test_the_fused_linear_half_segments_as_the_network_does(zh, tmp_path):
    # the network's jieba options reach the fusion's linear model: dictionary and HMM switch
    out = tmp_path / "run"
    finetune(_config(zh, out, tokenizer="jieba", user_dict=str(zh["user"])), log=lambda _m: None)
    meta = json.loads((out / "fusion" / "linear.json").read_text(encoding="utf-8"))
    assert WORD in meta["vocabularies"]["word"] and "蓝鲸" not in meta["vocabularies"]["word"]
    assert meta["config"]["segmentation"]["user_dict"] == USER_DICT_FILE
    assert (out / "fusion" / USER_DICT_FILE).read_bytes() == zh["user"].read_bytes()
    meta = {"tokenizer": {"kind": "jieba", "hmm": False}}
    (zh["vectors"].parent / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    finetune(_config(zh, tmp_path / "nohmm"), log=lambda _m: None)
    meta = json.loads((tmp_path / "nohmm" / "fusion" / "linear.json").read_text(encoding="utf-8"))
    assert meta["config"]["segmentation"] == {"hmm": False}


def test_an_edited_dictionary_is_named_as_changed_input(zh, tmp_path):
    # a --resume (or a compare rerun over the same cells) after the edit would segment the
    # rest of the run into other words
    from vecgraft.finetune.rundir import data_changed

    out = tmp_path / "run"
    config = _config(zh, out, tokenizer="jieba", user_dict=str(zh["user"]))
    finetune(config, log=lambda _m: None)
    assert data_changed(out, config) == []
    zh["user"].write_text(f"{WORD} 10 nz\n{THEIRS} 10 nz\n", encoding="utf-8")
    (changed,) = data_changed(out, config)
    assert changed == f"user_dict {zh['user']} (size 19 -> 38)"


def test_compare_says_english_rows_take_jieba_from_the_dictionary(zh, tmp_path, capsys):
    # English texts, --user-dict, no --tokenizer: the cells chose jieba for the dictionary,
    # while compare.json and the report recorded no tokenizer for the rows
    from vecgraft.evaluate.compare import cell_dir

    train = write_csv(tmp_path / "en.csv", [(f"the {w} {v} {g}", g) for w in
                                            ("food", "room", "staff", "bed", "view", "desk")
                                            for v in ("is", "was", "looked") for g in
                                            ("good", "bad")])  # fmt: skip
    out = tmp_path / "cmp"
    argv = [a if a != str(zh["train"]) else str(train)
            for a in _compare_argv(zh, out, "--user-dict", str(zh["user"]))]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr()
    said = capsys.readouterr().out
    assert "compare: Tokenizer: jieba (--user-dict is a jieba user dictionary)" in said
    sources = json.loads((out / "compare.json").read_text(encoding="utf-8"))["sources"]
    random = next(s for s in sources if s["name"] == "random")
    assert random["text_settings"]["tokenizer"] == "jieba"
    assert random["text_settings_from"] == "--user-dict, a jieba user dictionary"
    assert load_run(cell_dir(out, "random", 1.0, 0)).tokenizer.config["kind"] == "jieba"
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "(--user-dict, a jieba user dictionary)" in report
    assert main(argv) == 0  # a rerun reuses the cells: they were run with these settings
    assert "reused" in capsys.readouterr().out


def test_compare_hf_rows_go_without_the_dictionary(zh, bert_dir, tmp_path, capsys):
    # --user-dict, no --tokenizer, an hf:...:finetune row: the random cell ran, then the hf
    # cell stopped ("user_dict ... needs tokenizer='jieba'; the tokenizer is regex (the
    # default)"), while the row reads its checkpoint's own tokenizer
    from vecgraft.evaluate.compare import cell_dir

    out = tmp_path / "cmp"
    argv = [a if a != f"tiny={zh['vectors']}" else f"bert=hf:{bert_dir}:finetune"
            for a in _compare_argv(zh, out, "--user-dict", str(zh["user"]))]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr()
    said = capsys.readouterr().out
    note = ("compare: source bert reads its checkpoint's own tokenizer: --user-dict applies "
            "to the other rows")  # fmt: skip
    assert said.count(note) == 1, said
    assert WORD in load_run(cell_dir(out, "random", 1.0, 0)).vocab
    hf = json.loads((cell_dir(out, "bert", 1.0, 0) / "config.json").read_text(encoding="utf-8"))
    assert hf["model"] == "hf" and hf["user_dict"] is None
    assert main(argv) == 0  # a rerun reuses both rows' cells
    assert capsys.readouterr().out.count("(reused)") == 2


@pytest.mark.parametrize("command", ["finetune", "compare", "tune", "build"])
def test_help_says_the_dictionary_means_jieba(command, capsys):
    # it said "(jieba tokenizer only)", and --tokenizer's default named only Chinese texts
    with pytest.raises(SystemExit):
        main([command, "--help"])
    said = " ".join(capsys.readouterr().out.split())
    assert ("(a jieba dictionary: without --tokenizer, and none in the vectors' metadata, it "
            "means jieba)") in said  # fmt: skip
    assert "jieba tokenizer only" not in said
    if command != "build":
        assert "else jieba for Chinese training texts or a --user-dict, else regex" in said
    if command == "compare":
        assert "hf:...:finetune rows read their checkpoint's own tokenizer" in said


def test_old_vectors_and_resumed_runs_read_their_dictionary_as_written(zh, tmp_path):
    # vectors pretrained, and checkpoints saved, before dictionary words were converted cut
    # 酒店 + 前台 + 服务; converted, a reuse or resume cut 酒店前台服务, a word they lack
    pytest.importorskip("opencc")
    from vecgraft.finetune.recipe import _dict_normalized
    from vecgraft.finetune.text_settings import run_tokenizer

    user = tmp_path / "traditional.txt"
    user.write_text("酒店前臺服務\n", encoding="utf-8")
    text = "酒店前台服务很好"
    saved = {"kind": "jieba", "user_dict": str(user), "simplified": True}
    (zh["vectors"].parent / "metadata.json").write_text(json.dumps({"tokenizer": saved}),
                                                         encoding="utf-8")  # fmt: skip
    theirs, _ = run_tokenizer(_config(zh, tmp_path / "a"), None, lambda _m: None)
    assert theirs.config["user_dict_normalized"] is False
    assert theirs(text) == ["酒店", "前台", "服务", "很", "好"]
    own, _ = run_tokenizer(_config(zh, tmp_path / "b", user_dict=str(user)), None, print)
    assert own(text) == ["酒店前台服务", "很", "好"]  # the run's own dictionary: converted
    assert _dict_normalized(saved) is False and _dict_normalized(own.config) is True
    assert _dict_normalized({"kind": "jieba"}) is None
    config = _config(zh, tmp_path / "c", user_dict=str(user))
    resumed, _ = run_tokenizer(config, None, lambda _m: None, None, False)
    assert resumed(text) == ["酒店", "前台", "服务", "很", "好"]
