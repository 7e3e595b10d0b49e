import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import vecgraft
from pretrain_helpers import synonym_corpus, write_lines
from vecgraft._util.device import resolve_device
from vecgraft.errors import ConfigError, DataError
from vecgraft.pretrain import Corpus, PretrainConfig, pretrain
from vecgraft.text import Texts, Tokenizer, Vocab

pytest.importorskip("gensim")

METHODS = ["glove", "word2vec", "fasttext"]


def _config(method, corpus, out, **kw):
    # a small n-gram table keeps fastText's files (buckets x dim floats) tiny
    defaults = dict(dim=8, epochs=2, min_count=2, workers=1, seed=3, progress=False, bucket=5000)
    return PretrainConfig(method, corpus, str(out), **{**defaults, **kw})


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory):
    return write_lines(tmp_path_factory.mktemp("corpus") / "c.txt", synonym_corpus(200))


@pytest.fixture(scope="module")
def runs(corpus_file, tmp_path_factory):
    """One tiny run per method, trained on first use and shared by the module's tests."""
    cache = {}

    def get(method):
        if method not in cache:
            out = tmp_path_factory.mktemp(method)
            cache[method] = pretrain(_config(method, [str(corpus_file)], out))
        return cache[method]

    return get


@pytest.fixture(params=METHODS)
def run(request, runs):
    return runs(request.param)


def test_outputs_load_back_with_the_same_words_and_values(run):
    words, matrix = run.vectors.words, np.asarray(run.vectors.matrix)
    native = vecgraft.load(run.out, cache=False)
    assert native.words == words
    assert np.array_equal(np.asarray(native.matrix), matrix)
    binary = vecgraft.load(run.out / "vectors.bin", cache=False)
    assert binary.words == words
    assert np.array_equal(np.asarray(binary.matrix), matrix)
    text = vecgraft.load(run.out / "vectors.txt", cache=False)
    assert text.words == words
    np.testing.assert_allclose(np.asarray(text.matrix), matrix, rtol=1e-5, atol=1e-6)


def test_vocab_and_metadata_describe_the_run(run, corpus_file):
    tokens = [t for line in synonym_corpus(200) for t in line.split()]
    vocab = Vocab.load(run.out / "vocab.json")
    assert vocab.tokens == run.vectors.words
    assert all(vocab.count(w) == tokens.count(w) for w in vocab.tokens)
    meta = json.loads((run.out / "metadata.json").read_text())
    assert meta["method"] == run.metadata["method"]
    assert meta["tokens_seen"] == len(tokens)
    assert meta["vocab_size"] == len(run.vectors)
    # the window is per method (GloVe 15 since glove_window.md), recorded as the number used
    window = 15 if meta["method"] == "glove" else 5
    assert meta["options"]["dim"] == 8 and meta["options"]["window"] == window
    assert meta["corpus"] == [
        {"path": str(corpus_file), "files": 1, "bytes": corpus_file.stat().st_size}
    ]
    assert Tokenizer.from_config(meta["tokenizer"]) == Tokenizer()
    assert len(meta["losses"]) == (0 if meta["method"] == "fasttext" else 2)
    assert meta["duration_seconds"] > 0
    if meta["method"] == "glove":  # the option as given (None: CUDA where there is one) and
        # the device it ran on, which was nowhere: `"device": null` said nothing
        assert meta["options"]["device"] is None
        assert meta["device"] == str(resolve_device(None))
    else:  # gensim trains on the CPU only: no device option, nothing to record
        assert "device" not in meta and "device" not in meta["options"]


def test_metadata_records_the_versions_and_machine_but_the_native_file_does_not(
    run, monkeypatch
):
    # a pretraining run's metadata.json named no vecgraft, gensim, numpy or Python version
    import platform
    from importlib.metadata import version

    env = json.loads((run.out / "metadata.json").read_text())["environment"]
    assert env["vecgraft"] == vecgraft.__version__
    assert env["python"] == platform.python_version() and env["platform"]
    assert env["packages"] == {name: version(name) for name in ("gensim", "numpy", "torch")}
    # GloVe trains with torch: the device it used, not the config's None ("auto")
    assert env.get("device") == ("cpu" if run.metadata["method"] == "glove" else None)
    assert "argv" not in env  # from Python, not the vecgraft command
    # machine facts stay out of vectors.safetensors, whose bytes reruns that agree share
    assert "environment" not in vecgraft.load(run.out, cache=False).metadata


def test_the_vectors_returned_carry_no_environment_into_a_file_saved_from_them(run, tmp_path):
    # result.vectors.metadata kept `environment`, so a user's save() to native wrote the
    # machine facts the pretrain output's own native file leaves out
    assert "environment" in run.metadata
    assert "environment" not in run.vectors.metadata
    vecgraft.save(run.vectors, tmp_path / "mine.safetensors")
    assert "environment" not in vecgraft.load(tmp_path / "mine.safetensors", cache=False).metadata


def test_glove_records_the_device_it_trained_on_once(corpus_file, tmp_path, monkeypatch):
    # the top-level `device` was GloVe's result's, the environment's came from resolving
    # the config's device again after training: two sources that could disagree
    import torch

    from vecgraft._util import device as device_module

    calls = []

    def resolve_later_elsewhere(device):  # the first resolve: cpu; any later: another
        calls.append(device)
        return torch.device("cpu" if len(calls) == 1 else "meta")

    monkeypatch.setattr(device_module, "resolve_device", resolve_later_elsewhere)
    res = pretrain(_config("glove", [str(corpus_file)], tmp_path / "g", epochs=1))
    assert res.metadata["device"] == "cpu"
    assert res.metadata["environment"]["device"] == "cpu"


def test_the_repr_is_one_short_line(run):
    # the dataclass's repr dumped the vectors and all of metadata.json (about 2 KB)
    method = run.metadata["method"]
    loss = "" if method == "fasttext" else f", final_loss={run.metadata['final_loss']:.6g}"
    assert repr(run) == (
        f"PretrainResult(out={str(run.out)!r}, method={method!r}, "
        f"vectors={len(run.vectors):,}x8{loss})"
    )


def test_fasttext_output_vectorises_unseen_words(runs):
    run = runs("fasttext")
    assert run.metadata["subwords_file"] == "model.bin"
    native = vecgraft.load(run.out, cache=False)
    fb = vecgraft.load(run.out / "model.bin", cache=False)
    assert native.has_subwords and fb.has_subwords
    unseen = "catsdogs"
    assert unseen not in native
    np.testing.assert_allclose(native[unseen], fb[unseen], rtol=1e-5, atol=1e-6)
    assert np.linalg.norm(native[unseen]) > 0


def test_fasttext_output_stores_the_ngram_table_once(runs):
    """The n-gram table (2M x 100 floats, 800 MB, by default) was in model.bin and again in
    vectors.safetensors; the native file now links model.bin's, with the same vectors for
    known and unseen words through every documented way of loading the folder."""
    from vecgraft.text import Vocab

    run = runs("fasttext")
    table = 5000 * 8 * 4  # bucket x dim float32
    assert (run.out / "vectors.safetensors").stat().st_size < table
    assert (run.out / "model.bin").stat().st_size > table
    unseen = ["catsdogs", "drivesroad", "zzzz"]
    expected = np.stack([run.vectors[w] for w in unseen])  # the trained model's own table
    native = vecgraft.load(run.out, cache=False)
    alone = vecgraft.load(run.out / "vectors.safetensors", cache=False)
    fb = vecgraft.load(run.out / "model.bin", cache=False)
    for loaded in (native, alone, fb):
        assert np.array_equal(np.stack([loaded[w] for w in unseen]), expected)
    assert np.array_equal(np.asarray(native.matrix), np.asarray(run.vectors.matrix))
    # align's subword rule (what build, finetune --vectors DIR and graft-vocab use)
    matrix, report = vecgraft.align(
        Vocab([*unseen, "cat"], specials=(), pad_token=None, unk_token=None), native
    )
    assert report.rules == ["subword"] * 3 + ["exact"]
    assert np.array_equal(matrix[:3].numpy(), expected)


def test_a_native_file_without_its_model_bin_says_what_is_missing(runs, tmp_path):
    import shutil

    from vecgraft.errors import FormatError

    shutil.copy(runs("fasttext").out / "vectors.safetensors", tmp_path / "vectors.safetensors")
    with pytest.raises(FormatError, match=r"model\.bin, which is not beside this file"):
        vecgraft.load(tmp_path, cache=False)
    # another model.bin (a rerun stopped halfway, a copy of the wrong one) is refused too
    (tmp_path / "model.bin").write_bytes((runs("fasttext").out / "model.bin").read_bytes() + b"0")
    with pytest.raises(FormatError, match=r"not the fastText model these vectors were saved"):
        vecgraft.load(tmp_path, cache=False)


@pytest.mark.parametrize("method", METHODS)
def test_same_seed_is_reproducible(method, corpus_file, tmp_path):
    a = pretrain(_config(method, [str(corpus_file)], tmp_path / "a"))
    b = pretrain(_config(method, [str(corpus_file)], tmp_path / "b"))
    assert np.array_equal(np.asarray(a.vectors.matrix), np.asarray(b.vectors.matrix))
    # byte for byte: the header held duration_seconds and the speeds, which differ each run
    native = [(run.out / "vectors.safetensors").read_bytes() for run in (a, b)]
    assert native[0] == native[1]
    # the timings stay in metadata.json, and the rest of the facts in the native file too
    meta = json.loads((a.out / "metadata.json").read_text())
    timings = {"duration_seconds", "words_per_second", "training_entries_per_second"}
    assert meta["duration_seconds"] > 0 and timings & meta.keys() > {"duration_seconds"}
    loaded = vecgraft.load(a.out, cache=False).metadata
    assert loaded["tokens_seen"] == meta["tokens_seen"] and not timings & loaded.keys()


def test_awkward_files_are_handled(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    (folder / "bad.txt").write_bytes(b"caf\xe9 dog cat\ndog cat\n")
    (folder / "long.txt").write_text(" ".join(["cat dog"] * 15_000) + "\n")
    with pytest.raises(DataError, match=r"bad\.txt:1: invalid UTF-8"):  # strict by default
        pretrain(_config("word2vec", [str(folder)], tmp_path / "strict", min_count=1))
    config = _config("word2vec", [str(folder)], tmp_path / "out", min_count=1, errors="replace")
    res = pretrain(config)
    assert {"cat", "dog"} <= set(res.vectors.words)
    assert any("\ufffd" in w for w in res.vectors.words)  # invalid byte replaced, not fatal
    bad_line = len(Tokenizer()("caf\ufffd dog cat"))
    assert res.metadata["tokens_seen"] == 30_000 + bad_line + 2
    assert res.metadata["unicode_replacements"] >= 1


def test_empty_corpus_is_a_data_error_naming_it(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    for method in ("glove", "word2vec"):
        with pytest.raises(DataError, match=r"empty\.txt"):
            pretrain(_config(method, [str(empty)], tmp_path / method))


def test_min_count_above_every_word_is_a_data_error(corpus_file, tmp_path):
    with pytest.raises(DataError, match="min_count=100000"):
        pretrain(_config("glove", [str(corpus_file)], tmp_path / "g", min_count=100000))


@pytest.mark.parametrize("method", METHODS)
def test_a_failed_run_leaves_no_empty_output_folder(corpus_file, tmp_path, method):
    """The folder is made before training (to refuse an unwritable one early); a run that
    then failed (min_count above every word, a typo'd corpus) left it behind, empty."""
    out = tmp_path / "new" / "out"
    with pytest.raises(DataError):
        pretrain(_config(method, [str(corpus_file)], out, min_count=100000))
    assert not out.exists()
    kept = tmp_path / "kept"  # a folder the user made stays, as do its files
    kept.mkdir()
    (kept / "notes.txt").write_text("mine")
    with pytest.raises(DataError):
        pretrain(_config(method, [str(corpus_file)], kept, min_count=100000))
    assert [p.name for p in kept.iterdir()] == ["notes.txt"]


def test_unknown_method_is_a_config_error(tmp_path):
    expected = "method must be one of word2vec, fasttext, glove; got 'bert'"
    with pytest.raises(ConfigError, match=expected):
        PretrainConfig("bert", ["x"], str(tmp_path))


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("dim", "10", "dim must be an integer, got '10'"),
        ("window", 2.5, "window must be an integer or null, got 2.5"),
        ("sample", "1e-3", "sample must be a number, got '1e-3'"),
        ("cache_tokens", "no", "cache_tokens must be true or false, got 'no'"),
        # the field is an integer: gensim drew its own seed, GloVe failed in torch's manual_seed
        ("seed", None, "seed must be an integer (every run is seeded, so that it can be "
         "repeated: None is not a seed), got None"),
        ("workers", np.bool_(True), "workers must be an integer, got np.True_"),
    ],
)
def test_numbers_and_flags_of_the_wrong_type_are_config_errors(field, value, expected):
    """dim="10" was "'<' not supported between instances of 'str' and 'int'"."""
    with pytest.raises(ConfigError, match=f"^{re.escape(expected)}$"):
        PretrainConfig("word2vec", ["train.txt"], "o", **{field: value})


def test_numpy_numbers_train_and_are_recorded_as_python_numbers(corpus_file, tmp_path):
    # they trained before the type check, which then refused them ("workers must be an
    # integer, got np.int64(2)"); metadata.json needs Python's numbers
    numpy = {"dim": np.int64(8), "workers": np.int64(1), "sample": np.float32(1e-3),
             "learning_rate": np.float32(0.03)}  # fmt: skip
    config = _config("word2vec", [str(corpus_file)], tmp_path, **numpy)
    assert [type(getattr(config, name)) for name in numpy] == [int, int, float, float]
    pretrain(config)
    options = json.loads((tmp_path / "metadata.json").read_text())["options"]
    assert (options["dim"], options["workers"]) == (8, 1)
    # as the user wrote them, not float32's 0.0010000000474974513 and 0.029999999329447746
    assert (options["sample"], options["learning_rate"]) == (0.001, 0.03)


def test_corpus_is_reiterable_and_splits_long_documents():
    corpus = Corpus(Texts(["a b c d e", "", "f"]), max_sentence_length=2)
    first = list(corpus)
    assert first == [["a", "b"], ["c", "d"], ["e"], ["f"]]
    assert list(corpus) == first
    assert corpus.stats.documents == 2 and corpus.stats.tokens == 6 and corpus.passes == 2


def test_csv_corpus_reads_the_text_column(tmp_path):
    csv = tmp_path / "c.csv"
    csv.write_text("label,text\nx,cat dog\ny,dog cat\n")
    assert list(Corpus([str(csv)])) == [["cat", "dog"], ["dog", "cat"]]


def test_chinese_goes_through_jieba_and_the_settings_are_recorded(tmp_path):
    pytest.importorskip("jieba")
    lines = ["我们喜欢北京的天气", "他们喜欢上海的天气", "我们在北京工作", "他们在上海工作"] * 20
    corpus = write_lines(tmp_path / "zh.txt", lines)
    tok = Tokenizer("jieba")
    res = pretrain(_config("glove", [str(corpus)], tmp_path / "out", tokenizer=tok, epochs=2))
    assert {"北京", "上海", "喜欢"} <= set(res.vectors.words)
    meta = json.loads((tmp_path / "out" / "metadata.json").read_text(encoding="utf-8"))
    assert meta["tokenizer"]["kind"] == "jieba"
    again = Tokenizer.from_config(meta["tokenizer"])
    assert again(lines[0]) == tok(lines[0])


def test_token_cache_replays_exactly_what_the_tokenizer_gave(tmp_path):
    texts = ["Héllo, wörld!", "", "a b\tc", "x " * 7, "日本 語"]
    plain = list(Corpus(Texts(texts), max_sentence_length=3))
    cached = Corpus(Texts(texts), max_sentence_length=3, cache_tokens=True, tmp_dir=tmp_path)
    first = list(cached)
    cached.tokenizer = None  # a replay must not tokenize again
    assert first == plain and list(cached) == plain and list(cached) == plain
    assert cached.passes == 3 and cached.stats.tokens == sum(map(len, plain))
    cached.close()
    assert list(tmp_path.iterdir()) == []


def test_a_token_holding_the_separator_disables_the_cache(tmp_path):
    corpus = Corpus(
        Texts(["a\x1fb c"]), Tokenizer(pattern=r"[^ ]+"), cache_tokens=True, tmp_dir=tmp_path
    )
    assert list(corpus) == [["a\x1fb", "c"]]
    assert list(corpus) == [["a\x1fb", "c"]]
    assert corpus.cache_tokens is False


def test_an_unusable_output_folder_is_refused_before_training(corpus_file, tmp_path, monkeypatch):
    from vecgraft.pretrain import api

    def no_training(*_args, **_kw):
        raise AssertionError("trained before checking the output folder")

    monkeypatch.setattr(api, "_train_gensim", no_training)
    monkeypatch.setattr(api, "_train_glove", no_training)
    a_file = tmp_path / "notadir"
    a_file.write_text("x")
    with pytest.raises(ConfigError, match=r"notadir: exists and is not a folder"):
        pretrain(_config("word2vec", [str(corpus_file)], a_file))
    with pytest.raises(ConfigError, match=r"cannot create the output folder"):
        pretrain(_config("glove", [str(corpus_file)], a_file / "below"))
    run = tmp_path / "a-finetune-run"  # vectors written among a run's files: neither reads
    run.mkdir()
    (run / "manifest.json").write_text("{}")
    with pytest.raises(ConfigError, match=r"finetune run \(manifest.json\), not pretrained"):
        pretrain(_config("word2vec", [str(corpus_file)], run))
    assert [p.name for p in run.iterdir()] == ["manifest.json"]


def test_a_run_into_another_methods_folder_leaves_none_of_its_files(corpus_file, tmp_path):
    out = tmp_path / "mixed"
    first = pretrain(_config("fasttext", [str(corpus_file)], out))
    assert (out / "model.bin").is_file() and "fasttext-bin" in first.files
    (out / "notes.txt").write_text("mine")  # not a file pretrain wrote: kept
    second = pretrain(_config("word2vec", [str(corpus_file)], out))
    assert not (out / "model.bin").exists() and (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in out.iterdir()) == sorted([*second.files.values(), "notes.txt"])
    loaded = vecgraft.load(out)
    assert loaded.subword is None and loaded.metadata["method"] == "word2vec"


def test_a_rerun_stopped_while_writing_leaves_the_earlier_output_whole(
    corpus_file, tmp_path, monkeypatch
):
    # metadata.json (the tokenizer finetune reads beside the vectors) must never describe
    # other vectors than those beside it: stop the rerun (a kill, a full disk) after its
    # vector files, before its vocabulary and metadata; the files are written in a temp
    # folder, so the earlier run's stay, all of them, and nothing of the rerun's is left
    from vecgraft.finetune.vectors_record import vectors_metadata

    out = tmp_path / "out"
    pretrain(_config("glove", [str(corpus_file)], out, tokenizer=Tokenizer("whitespace")))
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def killed(self, path):
        raise KeyboardInterrupt

    monkeypatch.setattr(Vocab, "save", killed)
    with pytest.raises(KeyboardInterrupt):
        pretrain(_config("glove", [str(corpus_file)], out, tokenizer=Tokenizer("regex")))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert vectors_metadata(str(out))["tokenizer"]["kind"] == "whitespace"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temp folder left


def test_a_first_run_stopped_while_writing_leaves_no_folder(corpus_file, tmp_path, monkeypatch):
    # it left vectors.safetensors alone in --out, which `vecgraft info` loaded without a word
    def killed(self, path):
        raise KeyboardInterrupt

    monkeypatch.setattr(Vocab, "save", killed)
    with pytest.raises(KeyboardInterrupt):
        pretrain(_config("word2vec", [str(corpus_file)], tmp_path / "out"))
    assert list(tmp_path.iterdir()) == []


def test_an_out_that_is_a_link_or_the_current_folder_is_written_into(
    corpus_file, tmp_path, monkeypatch
):
    # a link to an empty folder was replaced by a folder (the target stayed empty, and a
    # stray link was left beside it); `--out .` was "PosixPath('.') has an empty name"
    target = tmp_path / "store" / "vecs"
    target.mkdir(parents=True)
    link = tmp_path / "linkout"
    link.symlink_to(target)
    pretrain(_config("word2vec", [str(corpus_file)], link))
    assert link.is_symlink() and (target / "metadata.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["linkout", "store"]
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    pretrain(_config("word2vec", [str(corpus_file)], Path(".")))
    assert (here / "metadata.json").is_file() and Path.cwd() == here


def test_files_of_the_users_in_an_out_with_no_earlier_output_are_not_replaced(
    corpus_file, tmp_path
):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "vocab.json").write_text('{"my": "precious"}')
    with pytest.raises(ConfigError, match=r"holds vocab.json but no metadata.json \(not a "
                                          r"pretrain output\): a run would replace them"):
        pretrain(_config("word2vec", [str(corpus_file)], out))
    assert (out / "vocab.json").read_text() == '{"my": "precious"}'
    (out / "vocab.json").unlink()
    (out / "NOTES.md").write_text("mine")  # other names are kept beside the output
    pretrain(_config("word2vec", [str(corpus_file)], out))
    assert (out / "NOTES.md").read_text() == "mine" and (out / "metadata.json").is_file()


def test_an_output_folder_inside_the_corpus_is_refused(corpus_file, tmp_path):
    """`--corpus data/ --out data/vecs` trained, then its rerun read vectors.bin as text
    ("vectors.bin:2: invalid UTF-8"; with errors='replace' the numbers became words)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "c.txt").write_text(corpus_file.read_text())
    for corpus, out in [
        (data, data / "vecs"),  # a folder holding --out
        (data, data),
        (f"{data}/*", data / "vecs"),  # a glob matching --out (made before the check)
    ]:
        with pytest.raises(ConfigError, match=r"output folder is inside the corpus"):
            pretrain(_config("word2vec", [str(corpus)], out))
        assert sorted(p.name for p in data.iterdir()) == ["c.txt"]  # nothing made or kept
    # a glob matching only the corpus trains once; its rerun would match vectors.txt
    pretrain(_config("word2vec", [f"{data}/*.txt"], data))
    with pytest.raises(ConfigError, match=r"inside the corpus \(.*\*\.txt\)"):
        pretrain(_config("word2vec", [f"{data}/*.txt"], data))
    # a file named on its own, beside the output, is read as asked
    pretrain(_config("word2vec", [str(data / "c.txt")], data))


def test_a_corpus_without_cooccurrences_is_a_data_error_naming_it(tmp_path):
    """One word per line: GloVe's error said 'no co-occurring word pairs' without the
    corpus it was about."""
    lonely = write_lines(tmp_path / "lonely.txt", ["hello", "world", "hello"])
    expected = (
        r"lonely\.txt: its 2 vocabulary words never occur within window=5 of one another "
        r"in a document \(3 tokens\)"
    )
    with pytest.raises(DataError, match=expected):
        pretrain(_config("glove", [str(lonely)], tmp_path / "out", min_count=1, window=5))
    assert not (tmp_path / "out").exists()


def test_token_cache_replays_tokens_holding_carriage_returns(tmp_path):
    """The cache was read back with universal newlines, which end a line at a lone '\\r':
    a custom pattern's token 'a\\rb' came back as two documents on every later pass."""
    corpus = Corpus(
        Texts(["a\rb c", "x\u2028y z"]),
        Tokenizer(pattern=r"[^ ]+"),
        cache_tokens=True,
        tmp_dir=tmp_path,
    )
    first = [["a\rb", "c"], ["x\u2028y", "z"]]
    assert list(corpus) == first
    assert corpus.cache_tokens is True  # the later passes replay the cache
    assert list(corpus) == first
    assert list(corpus) == first


def test_a_word_with_a_nul_skips_only_the_glove_text_file(tmp_path):
    """The default pattern keeps a NUL as a token; GloVe text refuses it (a NUL in a file
    makes detection call it binary), so the trained run must not fail writing vectors.txt.
    A file with a NUL is refused as binary; in-memory texts can still hold one."""
    corpus = Texts(["a \0 b c", "a b \0 d"] * 3)
    out = tmp_path / "out"
    with pytest.warns(UserWarning, match=r"vectors\.txt not written: .*'\\x00'"):
        result = pretrain(_config("word2vec", [corpus], out, min_count=1))
    assert "\0" in result.vectors.words
    assert "glove" not in result.files and not (out / "vectors.txt").exists()
    meta = json.loads((out / "metadata.json").read_text())
    assert list(meta["skipped_files"]) == ["glove"]
    # in-memory texts have no path: metadata raised a TypeError after training
    assert meta["corpus"] == [{"path": None, "texts": "Texts", "files": 0, "bytes": 0}]
    assert vecgraft.load(out, cache=False).words == result.vectors.words
    assert vecgraft.load(out / "vectors.bin", cache=False).words == result.vectors.words


def test_a_word_with_a_space_skips_only_the_binary_word2vec_file(tmp_path):
    """A custom pattern's token 'new york' trained, then the run failed writing vectors.bin
    (the format ends a word at a space), leaving two vector files and no metadata.json."""
    corpus = write_lines(tmp_path / "c.txt", ["new york,is,big", "new york,is,old"] * 3)
    out = tmp_path / "out"
    pretrain(_config("word2vec", [str(corpus)], out, min_count=1))  # a bin file to go stale
    assert (out / "vectors.bin").is_file()
    # named by the --out folder, not the staging folder it was written in (`..out.new.*.tmp`)
    named = rf"^{re.escape(str(out))}: vectors\.bin not written: .*'new york'"
    with pytest.warns(UserWarning, match=named):
        tokenizer = Tokenizer(pattern="[^,]+")
        result = pretrain(_config("word2vec", [str(corpus)], out, min_count=1, tokenizer=tokenizer))
    assert "word2vec-bin" not in result.files and not (out / "vectors.bin").exists()
    meta = json.loads((out / "metadata.json").read_text())
    assert "'new york'" in meta["skipped_files"]["word2vec-bin"]
    assert sorted(p.name for p in out.iterdir()) == sorted(result.files.values())
    assert sorted(result.vectors.words) == ["big", "is", "new york", "old"]
    assert vecgraft.load(out, cache=False).words == result.vectors.words
    assert vecgraft.load(out / "vectors.txt", cache=False).words == result.vectors.words


def test_a_glove_device_that_cannot_run_is_refused_before_the_corpus_is_read(
    corpus_file, tmp_path, monkeypatch
):
    """`--device cuda` on a machine without CUDA failed only once the vocabulary and
    co-occurrence passes were done (minutes on a large corpus)."""
    from vecgraft.pretrain import api

    def no_reading(*_args, **_kw):
        raise AssertionError("read the corpus before checking the device")

    monkeypatch.setattr(api, "_glove_vocab", no_reading)
    with pytest.raises(ConfigError, match=r"unknown device 'nonsense'"):
        pretrain(_config("glove", [str(corpus_file)], tmp_path / "out", device="nonsense"))
    assert not (tmp_path / "out").exists()


def test_a_fasttext_rerun_stopped_after_model_bin_leaves_the_earlier_output(
    corpus_file, tmp_path, monkeypatch
):
    """model.bin is written before the other files: a rerun stopped there left the earlier
    run's metadata.json (its tokenizer, which finetune follows) beside the new model.bin."""
    import vecgraft.io
    from vecgraft.finetune.vectors_record import vectors_metadata

    out = tmp_path / "out"
    pretrain(_config("fasttext", [str(corpus_file)], out, tokenizer=Tokenizer("whitespace")))
    assert vectors_metadata(str(out))["tokenizer"]["kind"] == "whitespace"

    def killed(*_args, **_kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(vecgraft.io, "load", killed)  # reading model.bin back
    with pytest.raises(KeyboardInterrupt):
        pretrain(_config("fasttext", [str(corpus_file)], out, tokenizer=Tokenizer("regex")))
    # the new model.bin went to the temp folder: the earlier output is whole
    assert vectors_metadata(str(out))["tokenizer"]["kind"] == "whitespace"
    assert vecgraft.load(out).subword is not None


@pytest.mark.parametrize("method", ["word2vec", "fasttext"])
def test_a_corpus_too_small_to_train_on_says_so(method, tmp_path):
    """gensim's sample=1e-3 discards nearly every token of a tiny corpus: 6 tokens x 5 epochs
    trained on 1 word and reported a final loss of 0, leaving random vectors without a word."""
    corpus = write_lines(tmp_path / "c.txt", ["the cat sat on the mat"])
    config = _config(method, [str(corpus)], tmp_path / "a", min_count=1, epochs=5)
    with pytest.warns(UserWarning, match=r"trained on \d+ of 30 tokens .*--sample 0"):
        res = pretrain(config)
    assert res.metadata["words_trained"] < 15  # gensim's parity kept: the same options
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = pretrain(_config(method, [str(corpus)], tmp_path / "b", min_count=1, epochs=5,
                               sample=0))  # fmt: skip
    assert res.metadata["words_trained"] == 30


def test_a_min_count_that_drops_most_tokens_is_named_instead(tmp_path):
    words = [f"w{i}" for i in range(200)]
    corpus = write_lines(tmp_path / "c.txt", [" ".join(words), "cat dog " * 3])
    with pytest.warns(UserWarning, match=r"min_count=2 \(--min-count\) drops 97% of the tokens"):
        pretrain(_config("word2vec", [str(corpus)], tmp_path / "a", min_count=2, sample=0))
