"""`vecgraft export`: each format loaded back by the real library and compared with vecgraft."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from finetune_helpers import held_lock, is_held, make_dataset
from vecgraft.cli import main
from vecgraft.errors import CheckpointError, ConfigError, DetectionError
from vecgraft.evaluate.export import export, read_source
from vecgraft.io import load
from vecgraft.nn.embedding import load_embedding
from vecgraft.text import Tokenizer
from vecgraft.text.hf_tokenizer import oniguruma_pattern, to_hf_tokenizer

model2vec = pytest.importorskip("model2vec")

CORPUS = [
    "The cat sat on the mat.",
    "Don't e-mail the U.S. office... 3.5 times!",
    "Mr. Smith's dog WON'T eat 1,000 biscuits at 12:30 😀👍🏽",
    "A cat and a dog; the mat isn't red -- o'clock",
]
VECTORS = {
    "cat": [0.1, 0.2, 0.3],
    "sat": [0.4, 0.5, 0.6],
    "mat": [0.7, 0.8, 0.9],
    "dog": [1.0, -1.0, 0.5],
    "n't": [0.3, 0.3, -0.3],
    "do": [-0.2, 0.1, 0.0],
    "u.s.": [0.5, 0.5, 0.5],
    "3.5": [0.9, 0.1, 0.2],
}


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("export-build")
    (root / "corpus.txt").write_text("\n".join(CORPUS) + "\n", encoding="utf-8")
    (root / "vectors.txt").write_text(
        "".join(f"{w} {' '.join(map(str, v))}\n" for w, v in VECTORS.items()), encoding="utf-8"
    )
    out = root / "emb"
    argv = ["build", "--corpus", str(root / "corpus.txt"), "--vectors", str(root / "vectors.txt")]
    assert main([*argv, "--out", str(out), "--lower", "--stopwords", "en", "--no-cache"]) == 0
    return out


def vecgraft_mean(texts, tokenizer, vocab, weight):
    """vecgraft's mean pooling over the same tokens model2vec keeps: the known ones."""
    rows = []
    for text in texts:
        ids = [vocab[t] for t in tokenizer(text) if t in vocab and t != vocab.unk_token]
        rows.append(weight[ids].mean(0) if ids else np.zeros(weight.shape[1], np.float32))
    return np.stack(rows)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"lower": True},
        {"lower": True, "nfkc": True, "digits": "0"},
        {"kind": "whitespace"},
        {"kind": "char"},
        {"pattern": r"[a-z]+|\d"},
        {"halfwidth": True},
        {"kind": "char", "halfwidth": True, "lower": True},
        {"kind": "char", "rules": 1},  # saved before rules 2: each mark a token
        {"rules": 1},  # ... and a soft hyphen splits a word
        {"kind": "whitespace", "rules": 1},
    ],
)
def test_exported_tokenizer_splits_like_vecgraft(options):
    texts = [
        *CORPUS,
        "ＦＵＬＬ width Ａ１ and don’t DIDN'T 2024-01-02",
        "tabs\tand\nnewlines  ",
        "ｉＰｈｏｎｅ　１２元，好！",  # halfwidth: full-width ASCII, not Chinese punctuation
        "ΟΔΟΣ ΣΑΣ Α.Σ ΟΔΟΣ.Α",  # lower: str.lower writes a word-final Σ as ς
        "Cafe\u0301 re\u0301sume\u0301",  # decomposed accents: vecgraft composes them (NFC)
        "a\u200bb \ufeffHello co\u00adop می\u200cشود",  # invisible separators, ZWNJ joins
        # char: emoji sequences are one token, variation selectors and lone joiners none
        "好👍🏻棒 🇨🇳🇯🇵 ❤\ufe0f 1\ufe0f\u20e3 👨\u200d👩\u200d👧 👩🏽\u200d💻 a\u200db 😀\u200d",
        # a character keeps its marks (char); soft hyphen, word joiner, BOM join a word
        "ไม่ हिन्दी İ Straße\u00adnbahn word\u2060joiner a\ufeffb",
        "🇨🇳\u200d😀 🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f 葛\U000e0100",
    ]
    tok = Tokenizer(**options)
    expected = [tok(t) for t in texts]
    words = ["<unk>", *dict.fromkeys(w for doc in expected for w in doc)]
    hf, notes = to_hf_tokenizer(tok, words, "<unk>")
    assert notes == []
    got = [hf.encode(t, add_special_tokens=False).tokens for t in texts]
    assert got == expected


@pytest.mark.parametrize("rules", [1, 2])
def test_exported_char_tokenizer_splits_at_invisible_characters(rules):
    """The export dropped a zero-width space or ZWNJ, so a mark after it joined the letter
    before ("a" ZWSP U+0301 -> a + U+0301), which vecgraft keeps apart (nothing joins across
    an invisible separator); a ZWJ after a variation selector was taken for a lone one."""
    tok = Tokenizer("char", rules=rules)
    texts = ["a\u200b\u0301b", "a\u200c\u0301", "❤\ufe0f\u200d🔥 x"]
    expected = [tok(t) for t in texts]
    assert expected == [["a", "\u0301", "b"], ["a", "\u0301"], ["❤\u200d🔥", "x"]]
    words = ["<unk>", *dict.fromkeys(w for doc in expected for w in doc)]
    hf, _ = to_hf_tokenizer(tok, words, "<unk>")
    assert [hf.encode(t, add_special_tokens=False).tokens for t in texts] == expected


def test_oniguruma_pattern_rewrites_python_escapes_only():
    assert oniguruma_pattern(r"[\ufe0f\U0001f3fb]\\u0041") == r"[\x{fe0f}\x{1f3fb}]\\u0041"


def test_model2vec_export_matches_vecgraft_mean_pooling(build_dir, tmp_path, capsys):
    out = tmp_path / "static"
    assert main(["export", str(build_dir), "--to", "model2vec", "--out", str(out)]) == 0
    assert f"wrote 28 x 3 to {out} (model2vec)" in capsys.readouterr().out  # "'s": a stopword
    model = model2vec.StaticModel.from_pretrained(out)
    embedding, vocab, report = load_embedding(build_dir)
    weight = embedding.weight.numpy()
    assert list(model.tokens) == vocab.tokens
    np.testing.assert_array_equal(model.embedding, weight)
    tok = Tokenizer.from_config(report["metadata"]["tokenizer"])
    queries = [*CORPUS, "THE CAT", "nothing known here", "Cats didn't sit; the dog did."]
    expected = vecgraft_mean(queries, tok, vocab, weight)
    got = model.encode(queries)
    np.testing.assert_allclose(got, expected, atol=1e-6, rtol=0)
    assert np.abs(got[0]).sum() > 0 and np.all(got[-2] == 0)  # all-unknown text: zeros


def test_model2vec_export_of_a_vector_file_adds_an_unknown_row(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("King 1 0\nqueen 0 1\n", encoding="utf-8")
    result = export(path, to="model2vec", out=tmp_path / "m", load_options={"cache": False})
    assert result.rows == 3 and any("no tokenizer recorded" in n for n in result.notes)
    model = model2vec.StaticModel.from_pretrained(tmp_path / "m")
    assert list(model.tokens) == ["King", "queen", "<unk>"]
    np.testing.assert_allclose(model.encode(["King and queen", "king"]), [[0.5, 0.5], [0, 0]])
    export(path, to="model2vec", out=tmp_path / "m", tokenizer=Tokenizer(lower=True))
    model = model2vec.StaticModel.from_pretrained(tmp_path / "m")
    np.testing.assert_allclose(model.encode(["queen"]), [[0, 1]])  # "King" row unreachable


def test_model2vec_export_of_pretrained_vectors_keeps_their_tokenizer(tmp_path, capsys):
    # a `vecgraft pretrain` folder went out with the default regex rule: its lowercase rows
    # never matched "The", with no word of why
    folder = tmp_path / "w2v"
    folder.mkdir()
    (folder / "vectors.txt").write_text("the 1 0\ncat 0 1\n", encoding="utf-8")
    load(folder / "vectors.txt", cache=False).save(folder / "vectors.safetensors")
    tokenizer = Tokenizer(lower=True).config
    (folder / "metadata.json").write_text(json.dumps({"tokenizer": tokenizer}))
    for source in (folder, folder / "vectors.txt"):
        result = export(source, to="model2vec", out=tmp_path / "m", load_options={"cache": False})
        assert not any("no tokenizer recorded" in n for n in result.notes)
        model = model2vec.StaticModel.from_pretrained(tmp_path / "m")
        np.testing.assert_allclose(model.encode(["The CAT"]), [[0.5, 0.5]])
    assert main(["export", str(folder), "--to", "model2vec", "--out", str(tmp_path / "m"),
                 "--lower", "--no-cache"]) == 0  # fmt: skip
    assert "--lower ignored: SOURCE records its tokenizer" in capsys.readouterr().err


@pytest.mark.slow  # importing sentence-transformers takes most of ~10 s
def test_sentence_transformers_loads_the_export(build_dir, tmp_path):
    st = pytest.importorskip("sentence_transformers")
    out = tmp_path / "static"
    export(build_dir, to="model2vec", out=out)
    model = st.SentenceTransformer(str(out), device="cpu")
    embedding, vocab, report = load_embedding(build_dir)
    tok = Tokenizer.from_config(report["metadata"]["tokenizer"])
    queries = ["cat sat", "mat... dog"]  # every token known: both libraries pool the same
    assert all(t in vocab for q in queries for t in tok(q))
    expected = vecgraft_mean(queries, tok, vocab, embedding.weight.numpy())
    np.testing.assert_allclose(model.encode(queries), expected, atol=1e-6, rtol=0)


def test_projector_files_hold_vectors_words_and_rules(build_dir, tmp_path):
    out = tmp_path / "proj"
    assert main(["export", str(build_dir), "--to", "projector", "--out", str(out)]) == 0
    embedding, vocab, report = load_embedding(build_dir)
    tensors = np.loadtxt(out / "tensors.tsv", delimiter="\t", dtype=np.float32)
    np.testing.assert_array_equal(tensors, embedding.weight.numpy())
    lines = (out / "metadata.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "word\trule"
    assert [line.split("\t") for line in lines[1:]] == [
        [w, r] for w, r in zip(vocab.tokens, report["alignment"]["rules"])
    ]
    config = (out / "projector_config.pbtxt").read_text(encoding="utf-8")
    assert 'tensor_path: "tensors.tsv"' in config and 'metadata_path: "metadata.tsv"' in config
    assert "tensor_shape: 28\n  tensor_shape: 3" in config


def test_projector_escapes_tabs_and_has_no_header_for_one_column(tmp_path):
    from vecgraft.io.projector import write_projector

    write_projector(tmp_path / "p", ["a\tb", "c\nd"], np.ones((2, 2)))
    assert (tmp_path / "p" / "metadata.tsv").read_text() == "a\\tb\nc\\nd\n"


def test_projector_writes_blank_words_on_a_line_of_their_own(tmp_path):
    # TensorBoard's parseMetadata skips each line with line.trim() === "": an empty or
    # whitespace-only word lost its line and every later label moved up one row
    from vecgraft.io.projector import write_projector

    words = ["a", "", " ", "\u3000", "\xa0\t", "b\\", " c"]
    write_projector(tmp_path / "p", words, np.ones((7, 2)))
    lines = (tmp_path / "p" / "metadata.tsv").read_text(encoding="utf-8").split("\n")
    assert lines == ["a", "\\N", "\\x20", "\\u3000", "\\xa0\\x09", "b\\\\", " c", ""]
    assert all(line.strip() for line in lines[:-1])  # what the projector keeps: every row
    write_projector(tmp_path / "q", ["a", ""], np.ones((2, 2)), {"rule": ["exact", "init"]})
    assert (tmp_path / "q" / "metadata.tsv").read_text(encoding="utf-8") == (
        "word\trule\na\texact\n\\N\tinit\n"
    )


@pytest.mark.parametrize("fmt", ["word2vec", "word2vec-bin"])
def test_word2vec_exports_load_in_gensim(build_dir, tmp_path, fmt):
    gensim = pytest.importorskip("gensim")
    out = tmp_path / "w2v"
    assert main(["export", str(build_dir), "--to", fmt, "--out", str(out)]) == 0
    kv = gensim.models.KeyedVectors.load_word2vec_format(str(out), binary=fmt == "word2vec-bin")
    embedding, vocab, _ = load_embedding(build_dir)
    assert list(kv.index_to_key) == [t for t in vocab.tokens if t not in vocab.specials]
    for word in kv.index_to_key:
        np.testing.assert_allclose(kv[word], embedding.weight[vocab[word]].numpy(), rtol=1e-6)


def test_word2vec_export_says_it_keeps_no_tokenizer(tmp_path, capsys):
    # vectors of jieba words + characters went out as a word2vec file, read back later with
    # the default regex tokenizer: their character rows unused, without a word
    folder = tmp_path / "w2v"
    folder.mkdir()
    (folder / "vectors.txt").write_text("酒店 1 0\n酒 0 1\n", encoding="utf-8")
    load(folder / "vectors.txt", cache=False).save(folder / "vectors.safetensors")
    tokenizer = Tokenizer("jieba", zh_mode="word+char").config
    (folder / "metadata.json").write_text(json.dumps({"tokenizer": tokenizer}))
    capsys.readouterr()
    assert main(["export", str(folder), "--to", "word2vec", "--out", str(tmp_path / "e.vec")]) == 0
    # on stderr, and about reading the file: export's own --tokenizer is model2vec's
    said = capsys.readouterr()
    assert len(said.out.splitlines()) == 1  # "wrote ..."
    assert said.err.splitlines() == [
        "note: word2vec keeps no tokenizer: pass build/finetune --tokenizer jieba --zh-mode "
        "word+char when they read the written file, to cut texts into SOURCE's tokens"
    ]
    # the default tokenizer recorded: nothing is lost, nothing said
    (folder / "metadata.json").write_text(json.dumps({"tokenizer": Tokenizer().config}))
    result = export(folder, to="word2vec-bin", out=tmp_path / "e.bin")
    assert result.notes == []
    # regex with simplified + half-width text (pretrain --simplified --halfwidth): no note
    regex = {**Tokenizer().config, "simplified": True, "halfwidth": True}
    (folder / "metadata.json").write_text(json.dumps({"tokenizer": regex}))
    result = export(folder, to="word2vec-bin", out=tmp_path / "f.bin")
    assert result.notes == [
        "word2vec-bin keeps no tokenizer: pass build/finetune --tokenizer regex --halfwidth "
        "--simplified when they read the written file, to cut texts into SOURCE's tokens"
    ]


def test_tokenizer_flags_name_the_normalisation_and_segmentation(tmp_path):
    # kind, --lower and --zh-mode alone: texts cut so kept 這個 and ＷＩＦＩ, which vectors
    # pretrained with --simplified --halfwidth lack
    from vecgraft.evaluate.export import tokenizer_flags

    words = tmp_path / "my dict.txt"
    words.write_text("酒店 10\n", encoding="utf-8")
    jieba = Tokenizer("jieba", zh_mode="word+char", lower=True, nfkc=True, halfwidth=True,
                      simplified=True, digits="#", user_dict=words, hmm=False).config  # fmt: skip
    assert tokenizer_flags(jieba) == (
        "--tokenizer jieba --lower --zh-mode word+char --nfkc --halfwidth --simplified "
        f"--digits '#' --user-dict '{words}' (--nfkc and --digits are build's: finetune, "
        "tune and compare take them from the vectors' metadata alone) (and jieba's HMM off, "
        "which no flag sets: Tokenizer(hmm=False))"
    )
    build_only = (" (--nfkc and --digits are build's: finetune, tune and compare take them "
                  "from the vectors' metadata alone)")  # fmt: skip
    regex_digits, char_nfkc = Tokenizer(digits="0").config, Tokenizer("char", nfkc=True).config
    assert tokenizer_flags(regex_digits) == "--tokenizer regex --digits 0" + build_only
    assert tokenizer_flags(char_nfkc) == "--tokenizer char --nfkc" + build_only
    simplified = Tokenizer("char", simplified=True).config
    assert tokenizer_flags(simplified) == "--tokenizer char --simplified"
    assert tokenizer_flags(Tokenizer().config) == ""
    assert tokenizer_flags(None) == ""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from vecgraft.finetune import FinetuneConfig, finetune

    root = tmp_path_factory.mktemp("export-run")
    data = make_dataset(root, train_per_class=12, test_per_class=4)
    config = FinetuneConfig(
        train=str(data["train"]), test=str(data["test"]), vectors=str(data["vectors"]),
        model="boe", out=str(root / "run"), epochs=2, freeze_epochs=0, lr=0.05, lower=True,
        progress=False, plots=False, patience=None,
    )  # fmt: skip
    finetune(config)
    return root / "run"


def test_run_folder_exports_its_tuned_embedding(run_dir, tmp_path):
    from vecgraft.finetune import load_run

    source = read_source(run_dir)
    predictor = load_run(run_dir)
    tuned = predictor.model.embedding.weight.detach().numpy()
    np.testing.assert_array_equal(source.matrix, tuned)
    rules = json.loads((run_dir / "alignment.json").read_text())["rules"]
    assert source.rules == rules and source.tokenizer == predictor.tokenizer.config
    assert main(["export", str(run_dir), "--to", "model2vec", "--out", str(tmp_path / "m")]) == 0
    model = model2vec.StaticModel.from_pretrained(tmp_path / "m")
    texts = ["Goal by the striker today", "A new recipe for soup and bread"]
    expected = vecgraft_mean(texts, predictor.tokenizer, predictor.vocab, tuned)
    np.testing.assert_allclose(model.encode(texts), expected, atol=1e-6, rtol=0)
    # it is the fine-tuned embedding: rows copied exactly from the vector file have moved
    vectors = load(run_dir.parent / "vectors.txt", cache=False)
    exact = [i for i, rule in enumerate(rules) if rule == "exact"]
    start = np.stack([vectors[source.words[i]] for i in exact])
    assert len(exact) > 20 and not np.allclose(tuned[exact], start, atol=1e-3)


def test_export_of_a_run_says_its_head_and_fused_half_stay_behind(
    run_dir, build_dir, tmp_path, capsys
):
    # a fused run (finetune's default) was exported as its tuned embedding alone, silently
    import shutil

    assert (run_dir / "fusion").is_dir()  # the fixture's run is fused, as by default
    rows = len(read_source(run_dir).words)
    assert main(["export", str(run_dir), "--to", "word2vec", "--out", str(tmp_path / "e")]) == 0
    out = capsys.readouterr().err.splitlines()  # notes on stderr, as build's and pretrain's
    assert out[-1] == (
        f"note: export writes the run's embedding matrix ({rows:,} x 8); its classifier and "
        "fused linear half stay in the run folder (vecgraft predict uses them)"
    )
    assert read_source(run_dir / "best").kept_back == ["classifier", "fused linear half"]
    alone = tmp_path / "unfused"
    shutil.copytree(run_dir, alone, ignore=shutil.ignore_patterns("fusion"))
    result = export(alone, to="projector", out=tmp_path / "p")
    assert result.notes[-1] == (
        f"export writes the run's embedding matrix ({rows:,} x 8); its classifier stays in the "
        "run folder (vecgraft predict uses it)"
    )
    built = export(build_dir, to="projector", out=tmp_path / "b")  # nothing else to keep
    assert not any("embedding matrix" in note for note in built.notes)


def test_bad_sources_and_targets_are_clear_errors(run_dir, tmp_path, capsys):
    with pytest.raises(ConfigError, match="export target must be one of"):
        export(run_dir, to="onnx", out=tmp_path / "x")
    broken = tmp_path / "ckpt"
    broken.mkdir()
    for name in ("model.json", "vocab.json", "labels.json"):
        (broken / name).write_bytes((run_dir / "best" / name).read_bytes())
    from safetensors.torch import save_file

    save_file({"encoder.weight": torch.zeros(2, 2)}, str(broken / "model.safetensors"))
    with pytest.raises(CheckpointError, match="no embedding weight of shape"):
        read_source(broken)
    assert main(["export", str(tmp_path / "missing"), "--to", "word2vec", "--out", "x"]) == 1
    assert "no such file" in capsys.readouterr().err


def test_cli_lower_applies_to_vector_files_only(build_dir, tmp_path, capsys):
    path = tmp_path / "v.txt"
    path.write_text("king 1 0\nqueen 0 1\n", encoding="utf-8")
    out = tmp_path / "m"
    assert main(["export", str(path), "--to", "model2vec", "--out", str(out), "--lower"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["vecgraft"]["tokenizer"]["lower"] is True
    np.testing.assert_allclose(
        model2vec.StaticModel.from_pretrained(out).encode(["KING"]), [[1, 0]]
    )
    capsys.readouterr()
    assert main(["export", str(build_dir), "--to", "model2vec", "--out", str(out), "--lower"]) == 0
    assert "--lower ignored: SOURCE records its tokenizer" in capsys.readouterr().err
    stored = json.loads((out / "config.json").read_text())["vecgraft"]["tokenizer"]
    # the build's own tokenizer, not a plain lower one
    assert stored["stopwords_source"] == "stopwordsiso:en"


@pytest.mark.parametrize("target", ["model2vec", "projector"])
def test_a_folder_export_never_replaces_a_file_or_a_folder_of_other_files(
    tmp_path, capsys, target
):
    """The folder is swapped in whole: an --out naming the user's data or a folder of other
    things would be deleted with it (`--out runs` once removed every run in runs/)."""
    path = tmp_path / "v.txt"
    path.write_text("king 1 0\nqueen 0 1\n", encoding="utf-8")
    data = tmp_path / "train.csv"
    data.write_text("text,label\nkeep me,a\n", encoding="utf-8")
    runs = tmp_path / "runs"
    (runs / "bbc").mkdir(parents=True)
    (runs / "bbc" / "metrics.json").write_text("{}", encoding="utf-8")
    for out in (data, runs):
        assert main(["export", str(path), "--to", target, "--out", str(out)]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"vecgraft export: error: {out}: ") and err.count("\n") == 1
    assert data.read_text(encoding="utf-8") == "text,label\nkeep me,a\n"
    assert (runs / "bbc" / "metrics.json").is_file()
    # a new folder, an empty one and an earlier export of the same kind are fine
    (tmp_path / "empty").mkdir()
    for out in (tmp_path / "new", tmp_path / "empty", tmp_path / "new"):
        assert main(["export", str(path), "--to", target, "--out", str(out)]) == 0


def test_cli_hands_every_reading_option_to_the_vector_file(tmp_path, capsys):
    """--max-line-bytes and --max-memory reach `vecgraft.load` (they were dropped, so the
    file was read with the defaults whatever the user asked)."""
    path = tmp_path / "v.txt"
    path.write_text("king 1 0\nqueen 0 1\n", encoding="utf-8")
    base = ["export", str(path), "--to", "word2vec", "--out", str(tmp_path / "w"), "--no-cache"]
    assert main([*base, "--max-line-bytes", "5"]) == 1
    assert "longer than 5 bytes" in capsys.readouterr().err
    assert main([*base, "--max-memory", "1"]) == 1
    assert "max_memory= (--max-memory) allows 1 bytes" in capsys.readouterr().err
    assert not (tmp_path / "w").exists()
    assert main(base) == 0


def test_cli_refuses_an_existing_file_out_without_overwrite(tmp_path, capsys):
    """`export --to word2vec --out FILE` replaced any file without a word (a 58 MB file sat
    where a device was); as `convert`, it refuses an existing --out before reading SOURCE."""
    import os
    import stat

    path = tmp_path / "v.txt"
    path.write_text("king 1 0\nqueen 0 1\n", encoding="utf-8")
    kept = tmp_path / "kept.vec"
    kept.write_text("mine\n", encoding="utf-8")
    base = ["export", str(path), "--no-cache", "--to"]
    for to in ("word2vec", "word2vec-bin"):
        assert main([*base, to, "--out", str(kept)]) == 1
        assert capsys.readouterr().err == (
            f"vecgraft export: error: {kept}: exists; pass --overwrite to replace it, or "
            "choose another --out\n"
        )
    assert main([*base, "word2vec", "--out", str(path)]) == 1
    assert f"{path}: is the source file; pass --overwrite" in capsys.readouterr().err
    assert kept.read_text(encoding="utf-8") == "mine\n"
    assert path.read_text(encoding="utf-8") == "king 1 0\nqueen 0 1\n"
    assert main([*base, "word2vec", "--out", str(kept), "--overwrite"]) == 0
    assert load(kept, cache=False).words == ["king", "queen"]
    null = tmp_path / "null"
    try:
        os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        return  # the device half needs root
    assert main([*base, "word2vec", "--out", str(null)]) == 1
    assert main([*base, "word2vec-bin", "--out", str(null), "--overwrite"]) == 0
    assert stat.S_ISCHR(os.lstat(null).st_mode)


def test_runs_without_a_word_embedding_are_clear_errors(run_dir, tmp_path, capsys):
    """A linear run, an hf run and an interrupted run (only last/) each say what they are;
    before, the first and last were "cannot detect the vector format of this folder" and
    the hf run listed its transformer's weight names."""
    import shutil

    from vecgraft.finetune import FinetuneConfig, finetune

    data = make_dataset(tmp_path / "data", train_per_class=6, test_per_class=2)
    linear = tmp_path / "linear"
    finetune(FinetuneConfig(train=str(data["train"]), test=str(data["test"]), model="linear",
                            out=str(linear), progress=False, plots=False))  # fmt: skip
    hf = tmp_path / "hf"
    shutil.copytree(run_dir / "best", hf)
    meta = json.loads((hf / "model.json").read_text())
    (hf / "model.json").write_text(json.dumps({**meta, "kind": "hf"}))
    interrupted = tmp_path / "interrupted"
    shutil.copytree(run_dir / "best", interrupted / "last")
    cases = {
        linear: "a --model linear run",
        hf: "a --model hf run",
        interrupted: f"no best/ checkpoint (it was interrupted); export {interrupted}/last",
    }
    for source, message in cases.items():
        with pytest.raises(ConfigError, match=re.escape(message)):
            read_source(source)
        assert main(["export", str(source), "--to", "word2vec", "--out", str(tmp_path / "w")]) == 1
        assert message in capsys.readouterr().err
    assert read_source(interrupted / "last").matrix.shape == read_source(run_dir).matrix.shape



def test_a_run_with_no_checkpoint_says_so(run_dir, tmp_path, capsys):
    """A run killed before its first checkpoint (and an ensemble member never trained) has
    neither best/ nor last/; it was "cannot detect the vector format of this folder"."""
    import shutil

    killed = tmp_path / "killed"
    shutil.copytree(run_dir, killed)
    for name in ("best", "last", "fusion"):
        shutil.rmtree(killed / name)
    for name in ("metrics.json", "history.json", "report.txt"):
        (killed / name).unlink()
    ensemble = tmp_path / "ens"
    (ensemble / "members").mkdir(parents=True)
    (ensemble / "ensemble.json").write_text("{}")
    member = ensemble / "members" / "2"
    shutil.copytree(killed, member)
    cases = {
        killed: f"{killed}: this run has no checkpoint yet (neither best/ nor last/): it is "
        "still training or was interrupted before its first one; finish it with `vecgraft "
        f"finetune --out {killed} --resume`, then export it",
        member: f"{member}: this ensemble member has no checkpoint yet (neither best/ nor last/):"
        " the ensemble is still training or was interrupted before this member's first one; "
        f"finish it with `vecgraft finetune --out {ensemble} --resume`, then export {member}",
    }
    for source, message in cases.items():
        with pytest.raises(ConfigError) as caught:
            read_source(source)
        assert str(caught.value) == message
        assert main(["export", str(source), "--to", "word2vec", "--out", str(tmp_path / "w")]) == 1
        assert capsys.readouterr().err == f"vecgraft export: error: {message}\n"
    # a transformer's folder has a config.json too: not taken for a run
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "config.json").write_text("{}")
    with pytest.raises(DetectionError, match="cannot detect the vector format"):
        read_source(tmp_path / "hf")

def test_a_finished_run_whose_best_is_gone_is_not_called_interrupted(run_dir, tmp_path, capsys):
    # it said "(it was interrupted); export RUN/last" of a run with its metrics.json
    import shutil

    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    shutil.rmtree(run / "best")
    head = f"{run}: this run finished, but its best/ checkpoint is missing (deleted or moved?)"
    expected = f"{head}; export {run / 'last'} (its last epoch), or put best/ back"
    with pytest.raises(ConfigError) as caught:
        read_source(run)
    assert str(caught.value) == expected
    assert main(["export", str(run), "--to", "word2vec", "--out", str(tmp_path / "w")]) == 1
    assert capsys.readouterr().err == f"vecgraft export: error: {expected}\n"
    shutil.rmtree(run / "last")
    with pytest.raises(ConfigError) as caught:
        read_source(run)
    assert str(caught.value) == f"{head}, and so is last/: put best/ back, or train the run again"
    assert not (tmp_path / "w").exists()


def test_a_run_whose_embedding_holds_inf_is_not_exported(run_dir, tmp_path, capsys):
    # it wrote "a inf inf ..." rows, which vecgraft's own reader then refused
    import shutil

    from safetensors.numpy import load_file, save_file

    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    weights = run / "best" / "model.safetensors"
    tensors = load_file(str(weights))
    tensors["embedding.weight"][5:10] = np.inf
    save_file(tensors, str(weights))
    count = tensors["embedding.weight"][5:10].size
    expected = (f"{weights}: tensor 'embedding.weight' holds {count} non-finite values (NaN/Inf): "
                f"the file is damaged; retrain, or export {run / 'last'}")  # fmt: skip
    assert main(["export", str(run), "--to", "word2vec", "--out", str(tmp_path / "x.txt")]) == 1
    assert capsys.readouterr().err == f"vecgraft export: error: {expected}\n"
    assert not (tmp_path / "x.txt").exists()
    export(run / "last", to="word2vec", out=tmp_path / "x.txt")  # as it says
    dim = tensors["embedding.weight"].shape[1]
    assert load(tmp_path / "x.txt", cache=False).matrix.shape[1] == dim


@pytest.mark.parametrize("fmt", ["word2vec", "word2vec-bin"])
def test_word2vec_export_refuses_a_word_gensim_cannot_read(tmp_path, capsys, fmt):
    """GloVe 840B has words with spaces; vecgraft's text writer keeps them, but gensim splits
    each line on spaces ('could not convert string to float'), so the export refuses them
    as the binary writer does. Other odd words (tab, no-break space, CJK) load in both."""
    gensim = pytest.importorskip("gensim")
    path = tmp_path / "v.txt"
    path.write_text("new york 1 0\nqueen 0 1\n", encoding="utf-8")
    out = tmp_path / "w"
    assert main(["export", str(path), "--to", fmt, "--out", str(out), "--no-cache"]) == 1
    err = capsys.readouterr().err
    assert "'new york'" in err and err.count("\n") == 1 and not out.exists()
    from vecgraft.evaluate.export import ExportSource, SourceKind

    words = ["tab\there", "no\xa0break", "北京大学", "naïve"]
    matrix = np.arange(8, dtype=np.float32).reshape(4, 2)
    export(ExportSource(SourceKind.VECTORS, path, words, matrix), to=fmt, out=out)
    kv = gensim.models.KeyedVectors.load_word2vec_format(str(out), binary=fmt == "word2vec-bin")
    assert kv.index_to_key == words and np.array_equal(kv.vectors, matrix)
    back = load(out, cache=False)
    assert list(back.words) == words and np.array_equal(back.matrix, matrix)


def test_exported_tokenizer_notes_what_it_cannot_reproduce():
    _, notes = to_hf_tokenizer(Tokenizer(simplified=True), ["<unk>", "汉字"], "<unk>")
    assert any("traditional-to-simplified" in n for n in notes)


def test_cli_refuses_reading_options_for_a_folder_source(build_dir, tmp_path, capsys):
    """--limit N on a build or run folder used to export every row without a word."""
    out = tmp_path / "w"
    argv = ["export", str(build_dir), "--to", "word2vec", "--out", str(out)]
    assert main([*argv, "--limit", "5"]) == 1
    assert "exported whole; drop --limit (they read" in capsys.readouterr().err
    assert not out.exists()
    path = tmp_path / "v.txt"
    path.write_text("king 1 0\nqueen 0 1\nman 1 1\n", encoding="utf-8")
    argv = ["export", str(path), "--to", "word2vec", "--out", str(out), "--no-cache"]
    assert main([*argv, "--limit", "2"]) == 0
    assert list(load(out, cache=False).words) == ["king", "queen"]


def test_a_build_folder_holding_nan_is_exported_only_when_allowed(tmp_path, capsys):
    # `build --allow-nonfinite` kept a NaN row, and export wrote "nan" without a word
    (tmp_path / "corpus.txt").write_text("king queen\nman king\n", encoding="utf-8")
    (tmp_path / "v.txt").write_text("king 1 0\nqueen nan 1\nman 1 1\n", encoding="utf-8")
    build = ["build", "--corpus", str(tmp_path / "corpus.txt"), "--vectors",
             str(tmp_path / "v.txt"), "--out", str(tmp_path / "emb"), "--no-cache"]  # fmt: skip
    assert main([*build, "--allow-nonfinite"]) == 0
    capsys.readouterr()
    weights = tmp_path / "emb" / "embedding.safetensors"
    said = f"{weights}: tensor 'weight' holds 1 non-finite value (NaN/Inf): build it again from "
    with pytest.raises(CheckpointError) as caught:
        read_source(tmp_path / "emb")
    tail = "finite vectors, or pass allow_nonfinite=True to load it anyway"
    assert str(caught.value) == said + tail
    argv = ["export", str(tmp_path / "emb"), "--to", "word2vec", "--out", str(tmp_path / "w.txt")]
    assert main(argv) == 1
    assert capsys.readouterr().err == (f"vecgraft export: error: {said}finite vectors, or pass "
                                       "--allow-nonfinite to load it anyway\n")  # fmt: skip
    assert not (tmp_path / "w.txt").exists()
    assert main([*argv, "--allow-nonfinite"]) == 0  # as it says
    assert "queen nan 1" in (tmp_path / "w.txt").read_text(encoding="utf-8")


def test_allow_nonfinite_is_read_as_load_reads_it_and_refused_for_a_run(
    run_dir, build_dir, tmp_path, capsys
):
    # export took bool(load_options["allow_nonfinite"]): "no" allowed NaN; and a run's
    # checkpoint ignored --allow-nonfinite without a word (its weights are never read so)
    from vecgraft.errors import OptionError

    with pytest.raises(OptionError, match=r"^allow_nonfinite must be true or false, got 'no'$"):
        read_source(build_dir, load_options={"allow_nonfinite": "no"})
    assert read_source(build_dir, load_options={"allow_nonfinite": False}).words
    for source in (run_dir, run_dir / "best"):
        said = (f"{source}: a fine-tuning run's weights are never read with NaN or Inf (a "
                "checkpoint holding one is damaged); drop {} (it reads a vector file or a "
                "build folder)")  # fmt: skip
        with pytest.raises(OptionError) as caught:
            read_source(source, load_options={"allow_nonfinite": True})
        assert str(caught.value) == said.format("allow_nonfinite=True")
        out = tmp_path / "w.txt"
        argv = ["export", str(source), "--to", "word2vec", "--out", str(out)]
        assert main([*argv, "--allow-nonfinite"]) == 1
        assert capsys.readouterr().err == (
            f"vecgraft export: error: {said.format('--allow-nonfinite')}\n"
        )
        assert not out.exists()
    assert read_source(run_dir, load_options={"allow_nonfinite": False}).words


def test_a_jieba_export_says_on_its_card_how_to_segment(tmp_path):
    """The exported tokenizer.json splits on whitespace: unsegmented Chinese is one unknown
    token (a zero vector). The folder's README.md said nothing of it and showed
    encode(["a sentence"]); its example now segments first and gives vecgraft's mean."""
    pytest.importorskip("rjieba")
    tok = Tokenizer("jieba")
    text = "房间很干净，服务也好。"
    words = list(dict.fromkeys(tok(text)))
    matrix = np.arange(len(words) * 2, dtype=np.float32).reshape(-1, 2) + 1
    path = tmp_path / "v.txt"
    path.write_text("".join(f"{w} {a} {b}\n" for w, (a, b) in zip(words, matrix)), "utf-8")
    out = tmp_path / "zh-static"
    result = export(path, to="model2vec", out=out, tokenizer=tok, load_options={"cache": False})
    assert any("jieba segmentation" in n for n in result.notes)
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "jieba segmentation cannot be exported" in card
    code = re.search(r"```python\n(.*?)```", card, re.S).group(1)
    scope: dict = {}
    exec(code.replace("path/to/this/folder", str(out)), scope)  # the card's own example
    assert model2vec.StaticModel.from_pretrained(out).encode([text]).sum() == 0  # unsegmented
    np.testing.assert_allclose(scope["embeddings"][0], matrix.mean(0), atol=1e-6)


def test_a_jieba_export_carries_its_user_dictionary(tmp_path, monkeypatch):
    """config.json named the dictionary by a path relative to where export ran, and the
    folder held no copy: the card's own example failed from anywhere else."""
    pytest.importorskip("rjieba")
    words_file = tmp_path / "mine.txt"
    words_file.write_text("干净服务 100 n\n", encoding="utf-8")
    tok = Tokenizer("jieba", user_dict=str(words_file))
    text = "房间很干净服务也好"
    words = list(dict.fromkeys(tok(text)))
    assert "干净服务" in words  # the dictionary's word
    matrix = np.arange(len(words) * 2, dtype=np.float32).reshape(-1, 2) + 1
    path = tmp_path / "v.txt"
    path.write_text("".join(f"{w} {a} {b}\n" for w, (a, b) in zip(words, matrix)), "utf-8")
    out = tmp_path / "zh-static"
    export(path, to="model2vec", out=out, tokenizer=tok, load_options={"cache": False})
    recorded = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert recorded["vecgraft"]["tokenizer"]["user_dict"] == "jieba_user_dict.txt"
    card_text = (out / "README.md").read_text(encoding="utf-8")
    assert "user_dict='jieba_user_dict.txt'" in card_text and str(words_file) not in card_text
    assert (out / "jieba_user_dict.txt").read_bytes() == words_file.read_bytes()
    words_file.unlink()  # the folder is all a user downloading it has
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    card = (out / "README.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", card, re.S).group(1)
    scope: dict = {}
    code = code.replace("path/to/this/folder", str(out)).replace("房间很干净，服务也好。", text)
    exec(code, scope)
    np.testing.assert_allclose(scope["embeddings"][0], matrix.mean(0), atol=1e-6)
    export(path, to="model2vec", out=out, tokenizer=Tokenizer("jieba"),
           load_options={"cache": False})  # fmt: skip
    assert not (out / "jieba_user_dict.txt").exists()  # a rewrite leaves no stale copy


def test_a_run_that_has_not_finished_is_not_exported(run_dir, tmp_path):
    # its best/ is the best epoch so far: exported mid-training with no word
    import shutil

    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    (run / "metrics.json").unlink()
    with pytest.raises(ConfigError, match=r"the run has not finished \(no metrics.json\)"):
        export(run, to="word2vec", out=tmp_path / "w.txt")
    assert not (tmp_path / "w.txt").exists()
    export(run / "best", to="word2vec", out=tmp_path / "b.txt")  # the checkpoint, as asked
    assert (tmp_path / "b.txt").is_file()


@pytest.mark.parametrize("checkpoint", ["", "best"])
def test_export_of_a_run_folder_a_run_is_writing_fails_at_once(
    run_dir, tmp_path, capsys, monkeypatch, checkpoint
):
    # it read whatever checkpoint was there mid-run (set aside by --overwrite, or half
    # replaced), as `evaluate` did before its lock; `RUN/best` is written under RUN's lock
    import shutil

    import vecgraft.evaluate.export as export_module

    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    source, out = run / checkpoint, tmp_path / "w.txt"
    argv = ["export", str(source), "--to", "word2vec", "--out", str(out)]
    with held_lock(run):  # a run writing it (another process's)
        assert main(argv) == 1
    said = capsys.readouterr()
    assert said.out == "" and not out.exists()
    assert said.err.strip() == (f"vecgraft export: error: {run}: a run is writing this "
                                "folder (it holds its lock); wait for it to end: until then "
                                "its model is not whole")
    with held_lock(run, shared=True):  # readers share the folder
        assert main(argv) == 0
    assert out.read_text(encoding="utf-8").split("\n")[0] == "35 8"
    held: list[bool] = []
    read = export_module.held_read_source

    def reading(*args, **kwargs):  # export holds RUN: a run started into it now fails
        held.append(is_held(run))
        return read(*args, **kwargs)

    monkeypatch.setattr(export_module, "held_read_source", reading)
    assert main([*argv, "--overwrite"]) == 0
    assert held == [True] and not is_held(run)


@pytest.mark.parametrize("checkpoint", ["", "best"])
def test_read_source_and_export_of_a_run_a_run_is_writing_fail_at_once(
    run_dir, tmp_path, monkeypatch, checkpoint
):
    # the Python entry points read the folder unheld, as `vecgraft export` did before its
    # lock; they hold it while they read (export: until --out is written), and only then
    import shutil

    import vecgraft.evaluate.export as export_module

    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    source, out = run / checkpoint, tmp_path / "w.txt"
    busy = (f"{run}: a run is writing this folder (it holds its lock); wait for it to end: "
            "until then its model is not whole")  # fmt: skip
    with held_lock(run):  # a run writing it (another process's)
        with pytest.raises(ConfigError) as caught:
            read_source(source)
        assert str(caught.value) == busy
        with pytest.raises(ConfigError) as caught:
            export(source, to="word2vec", out=out)
        assert str(caught.value) == busy and not out.exists()
    held: list[bool] = []
    save = export_module._write

    def writing(*args, **kwargs):  # still held while --out is written
        held.append(is_held(run))
        return save(*args, **kwargs)

    monkeypatch.setattr(export_module, "_write", writing)
    assert read_source(source).matrix.shape == (37, 8) and not is_held(run)
    assert export(source, to="word2vec", out=out).rows == 35 and held == [True]
    assert not is_held(run)
    with held_lock(run):  # a writer takes it afterwards
        pass


def test_a_repeated_tokenizer_is_refused_before_the_source_is_read(tmp_path, capsys):
    # --tokenizer regex --tokenizer char exported char alone (argparse's last value)
    path = tmp_path / "v.txt"
    path.write_text("King 1 0\nqueen 0 1\n", encoding="utf-8")
    out = tmp_path / "m"
    argv = ["export", str(path), "--to", "model2vec", "--out", str(out), "--no-cache"]
    assert main([*argv, "--tokenizer", "regex", "--tokenizer", "char"]) == 1
    assert capsys.readouterr().err.strip() == (
        "vecgraft export: error: --tokenizer takes one kind for an export; several (regex, "
        "char) were given: the exported model cuts texts with one"
    )
    assert not out.exists()
    assert main([*argv, "--tokenizer", "char", "--tokenizer", "char"]) == 0  # one kind


def test_export_with_allow_nonfinite_writes_the_rows_it_was_allowed_to_read(tmp_path, capsys):
    # save() began refusing NaN rows; export's save was not told the user had allowed them
    src = tmp_path / "x.vec"
    src.write_text("3 2\na 1 2\nb nan 1\nc 0 1\n", encoding="utf-8")
    out = tmp_path / "o.vec"
    argv = ["export", str(src), "--out", str(out), "--to", "word2vec", "--no-cache"]
    assert main([*argv, "--allow-nonfinite"]) == 0, capsys.readouterr().err
    back = load(out, allow_nonfinite=True, cache=False)
    assert back.words == ["a", "b", "c"] and np.isnan(back["b"][0])


def test_most_similar_of_a_large_finite_query_is_no_nan_error():
    # the float32 norm of [1e30, 1e30] overflowed to Inf: "holds NaN or Inf"
    from vecgraft.vectors import Vectors

    v = Vectors(["a", "b"], np.array([[1, 0], [1, 1]], np.float32))
    assert v.most_similar(np.array([1e30, 1e30], np.float32), k=1)[0][0] == "b"


def _old_tensors_tsv(matrix: np.ndarray) -> bytes:
    """tensors.tsv as the writer made it before it wrote in blocks: one savetxt string."""
    import io

    text = io.StringIO()
    np.savetxt(text, np.asarray(matrix, dtype=np.float32), delimiter="\t", fmt="%.9g")
    return text.getvalue().encode()


def test_projector_tensors_in_blocks_are_the_bytes_of_one_savetxt(tmp_path, monkeypatch):
    # a 400k x 300 matrix was formatted into one string and copied before writing: 3.6 GB
    from vecgraft.io import projector

    monkeypatch.setattr(projector, "_ROWS_PER_WRITE", 3)
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((8, 5)).astype(np.float32) * 1e3
    matrix[0] = [np.nan, np.inf, -np.inf, -0.0, 0.0]
    matrix[1] = [1e-45, 3.4028235e38, -1.1754944e-38, 1 / 3, 123456789.0]
    words = ["a\tb", "c\nd", "", " ", "日本語", "e\\f", "\u3000", "ü"]
    projector.write_projector(tmp_path / "p", words, matrix, {"rule": ["exact"] * 8})
    assert (tmp_path / "p" / "tensors.tsv").read_bytes() == _old_tensors_tsv(matrix)
    assert (tmp_path / "p" / "metadata.tsv").read_bytes() == (
        "word\trule\na\\tb\texact\nc\\nd\texact\n\\N\texact\n\\x20\texact\n日本語\texact\n"
        "e\\\\f\texact\n\\u3000\texact\nü\texact\n"
    ).encode()
    projector.write_projector(tmp_path / "q", ["x", "y", "z"], matrix[:3])  # one whole block
    assert (tmp_path / "q" / "tensors.tsv").read_bytes() == _old_tensors_tsv(matrix[:3])
    projector.write_projector(tmp_path / "e", [], np.zeros((0, 4)))
    assert (tmp_path / "e" / "tensors.tsv").read_bytes() == b""


def test_projector_shows_rows_written_and_no_progress_silences_it(tmp_path, capsys):
    from vecgraft.io.projector import write_projector

    write_projector(tmp_path / "p", ["a", "b"], np.ones((2, 2)), progress=True)
    assert "writing tensors.tsv" in capsys.readouterr().err
    write_projector(tmp_path / "p", ["a", "b"], np.ones((2, 2)), progress=False)
    assert capsys.readouterr().err == ""


def test_export_no_progress_reaches_the_projector_writer(tmp_path, monkeypatch):
    from vecgraft.io import projector

    seen: list[object] = []
    real = projector.write_projector

    def spy(*args, **kwargs):
        seen.append(kwargs.get("progress"))
        return real(*args, **kwargs)

    monkeypatch.setattr(projector, "write_projector", spy)
    src = tmp_path / "v.txt"
    src.write_text("a 1 2\nb 3 4\n", encoding="utf-8")
    out = tmp_path / "p"
    args = ["export", str(src), "--to", "projector", "--out", str(out), "--no-cache"]
    assert main([*args, "--no-progress"]) == 0
    assert main(args) == 0
    assert seen == [False, None]
    assert (out / "tensors.tsv").read_text(encoding="utf-8") == "1\t2\n3\t4\n"


def test_the_library_writes_a_projector_silently_by_default(tmp_path, monkeypatch):
    # `save` is silent unless asked, but `write_projector` and `export(to="projector")`
    # defaulted to None: a plain library call drew a bar (or a line every 30 s)
    from vecgraft.io import projector

    chosen = []
    real = projector.progress_meter

    def meter(progress, *args, **kwargs):
        chosen.append(progress)
        return real(progress, *args, **kwargs)

    monkeypatch.setattr(projector, "progress_meter", meter)
    projector.write_projector(tmp_path / "p", ["a", "b"], np.eye(2, dtype=np.float32))
    (tmp_path / "v.txt").write_text("a 1 2\nb 3 4\n")
    export(tmp_path / "v.txt", to="projector", out=tmp_path / "q")
    assert chosen == [False, False]
    assert main(["export", str(tmp_path / "v.txt"), "--to", "projector",
                 "--out", str(tmp_path / "r")]) == 0  # fmt: skip
    assert chosen[-1] is None  # the CLI passes its own (--no-progress: False)
