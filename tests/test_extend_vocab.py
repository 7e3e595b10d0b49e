"""`extend_vocab` and `project_untrained`: words first met after training keep their vectors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from finetune_helpers import DIM, make_dataset
from vecgraft.errors import ConfigError
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.predict import load_run
from vecgraft.finetune.run import finetune
from vecgraft.finetune.vectors_arg import VectorFile
from vecgraft.io import load

# words of the vector file the training texts never use, in file order; "Striker2" has a
# capital, which a lowercased run's tokens never do
UNSEEN = ["goalkeeper", "Striker2", "compiler", "baguette", "stadium"]


def _with_unseen_words(data: dict) -> dict:
    """The fixture's vectors plus `UNSEEN`, each next to a keyword of its class."""
    path = data["vectors"]
    vectors = load(path, cache=False)
    near = {"goalkeeper": "goal", "Striker2": "striker", "compiler": "code",
            "baguette": "bread", "stadium": "league"}  # fmt: skip
    lines = [f"{w} " + " ".join(f"{x:.5f}" for x in vectors[near[w]] + 0.01) for w in UNSEEN]
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    return data


def _config(data: dict, out, **overrides) -> FinetuneConfig:
    settings = {
        "train": str(data["train"]), "test": str(data["test"]), "vectors": str(data["vectors"]),
        "model": "boe", "epochs": 6, "lr": 0.05, "embedding_lr": 0.05, "out": str(out),
        "plots": False, "progress": False, "fuse_linear": False, "lower": True, **overrides,
    }  # fmt: skip
    return FinetuneConfig(**settings)


@pytest.fixture
def data(tmp_path):
    return _with_unseen_words(make_dataset(tmp_path / "data"))


def test_the_vectors_first_unseen_words_join_the_vocabulary_with_their_own_rows(data, tmp_path):
    lines: list[str] = []
    run = tmp_path / "ext"
    finetune(_config(data, run, extend_vocab=3, project_untrained=False), log=lines.append)
    predictor = load_run(run)
    vocab = predictor.vocab
    trained = len(vocab) - 3
    # file order, the capitalised word skipped by a lowercased run, at most three
    assert vocab.tokens[trained:] == ["goalkeeper", "compiler", "baguette"]
    assert "stadium" not in vocab and vocab.metadata["extended_from_vectors"] == 3
    assert any(f"Vocabulary: {trained:,} rows from the training texts + 3 words of the vectors"
               in line for line in lines), lines
    # a run that trains without projecting leaves the added rows exactly as the file has them
    rows = predictor.model.embedding.weight.detach()
    vectors = load(data["vectors"], cache=False)
    for word in ("goalkeeper", "compiler", "baguette"):
        np.testing.assert_allclose(rows[vocab[word]].numpy(), vectors[word], atol=1e-5)
    # the coverage line and metrics.json count the training texts' words only
    assert any("coverage 100.0% of the training texts' word types" in line for line in lines)
    import json

    coverage = json.loads((run / "metrics.json").read_text())["coverage"]
    assert coverage["type_coverage"] == 1.0 and coverage["added_words"] == 3
    # and alignment.txt, whose table counts the added words too, says the texts' own share
    assert (run / "alignment.txt").read_text().endswith(
        "The training texts' word types: 100.0% have a vector (the 3 words added from the "
        "vectors left out)\n"
    )


def test_the_default_extends_and_projects_and_zero_turns_it_off(data, tmp_path):
    default = FinetuneConfig(train="t.csv")
    assert default.extend_vocab == 100_000 and default.project_untrained
    finetune(_config(data, tmp_path / "plain", extend_vocab=0), log=lambda _m: None)
    vocab = load_run(tmp_path / "plain").vocab
    assert "goalkeeper" not in vocab and vocab["goalkeeper"] == vocab.unk_index


def test_projected_rows_move_with_the_trained_ones_and_are_saved(data, tmp_path):
    lines: list[str] = []
    run = tmp_path / "proj"
    finetune(_config(data, run), log=lines.append)  # the defaults: 100,000 words, projected
    assert any(line.startswith("Untrained pretrained rows: 4 move with the") for line in lines)
    predictor = load_run(run)
    vocab = predictor.vocab
    rows = predictor.model.embedding.weight.detach().double()
    start = load(data["vectors"], cache=False)
    trained = [w for w in vocab.tokens[2:] if w not in UNSEEN]
    x = np.array([start[w] for w in trained], dtype=np.float64)
    y = rows[[vocab[w] for w in trained]].numpy()
    # the saved rows are the map refitted on the kept epoch's trained rows (ridge 1e-3)
    x1 = np.hstack([x, np.ones((len(x), 1))])
    gram = x1.T @ x1
    coef = np.linalg.solve(gram + 1e-3 * gram.diagonal().mean() * np.eye(DIM + 1), x1.T @ y)
    for word in ("goalkeeper", "compiler", "baguette", "stadium"):
        expected = np.append(start[word], 1.0) @ coef
        np.testing.assert_allclose(rows[vocab[word]].numpy(), expected, atol=1e-4)
    # and the network reads them: each unseen word alone is its own class
    labels = predictor.predict(["goalkeeper stadium", "compiler", "baguette"])
    assert labels == ["sport", "tech", "food"]


def test_random_vectors_and_vectors_derived_per_word_are_not_extended(data, tmp_path):
    finetune(_config(data, tmp_path / "random", vectors="random", extend_vocab=10),
             log=lambda _m: None)
    assert "goalkeeper" not in load_run(tmp_path / "random").vocab
    lines: list[str] = []
    path = str(data["vectors"])
    finetune(_config(data, tmp_path / "derived", extend_vocab=10),
             vectors=lambda words: load(path, vocab=words, cache=False), log=lines.append)
    assert "goalkeeper" not in load_run(tmp_path / "derived").vocab
    assert any("derived per word (no word list); not extended" in line for line in lines)
    # a file read on demand (what the CLI passes) lists its words
    finetune(_config(data, tmp_path / "file", extend_vocab=10),
             vectors=VectorFile(lambda words, limit: load(path, vocab=words, limit=limit,
                                                          cache=False)),
             log=lambda _m: None)
    assert "goalkeeper" in load_run(tmp_path / "file").vocab


def test_a_negative_extension_is_a_config_error():
    with pytest.raises(ConfigError, match="extend_vocab is a number of words >= 0; got -1"):
        FinetuneConfig(train="t.csv", extend_vocab=-1)


def test_the_cli_reads_the_extension_flags(data, tmp_path):
    from vecgraft.cli import main

    run = tmp_path / "cli"
    code = main([
        "finetune", "--train", str(data["train"]), "--test", str(data["test"]),
        "--vectors", str(data["vectors"]), "--model", "boe", "--epochs", "2", "--out", str(run),
        "--extend-vocab", "2", "--project-untrained", "--no-fuse-linear", "--no-plots",
    ])  # fmt: skip
    assert code == 0
    assert load_run(run).vocab.metadata["extended_from_vectors"] == 2
    assert torch.is_tensor(load_run(run).model.embedding.weight)


def test_the_coverage_of_the_training_texts_leaves_the_added_words_out():
    from vecgraft.align import align
    from vecgraft.finetune.families import text_type_coverage
    from vecgraft.text.vocab import Vocab
    from vecgraft.vectors import Vectors

    vectors = Vectors(["a", "b", "c", "d"], np.eye(4, dtype=np.float32))
    vocab = Vocab.from_counts({"a": 3, "b": 2, "zz": 1})  # "zz" has no vector
    extended = vocab.extended(["c", "d"], extended_from_vectors=2)
    _matrix, report = align(extended, vectors)
    assert report.type_coverage == pytest.approx(4 / 5)  # what the rows alone say
    assert text_type_coverage(report, extended) == pytest.approx(2 / 3)
    _matrix, plain = align(vocab, vectors)
    assert text_type_coverage(plain, vocab) == plain.type_coverage == pytest.approx(2 / 3)


def test_duplicate_words_are_reported_once_though_the_file_is_read_twice(data, tmp_path):
    import warnings

    path = data["vectors"]
    first = path.read_text(encoding="utf-8").splitlines()[:3]  # three words again, at the end
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("\n".join(first) + "\n")
    for name, vectors in (("file", None),
                          ("cli", VectorFile(lambda words, limit: load(path, vocab=words,
                                                                       limit=limit, cache=False)))):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            finetune(_config(data, tmp_path / name, epochs=1, extend_vocab=10), vectors=vectors,
                     log=lambda _: None)  # fmt: skip
        said = [str(w.message) for w in seen if "duplicate words" in str(w.message)]
        assert len(said) == 1, said


def test_the_log_says_pruned_training_words_come_back_as_vector_rows():
    from vecgraft.finetune.families import extend_vocab
    from vecgraft.text import build_vocab
    from vecgraft.text.tokenize import Tokenizer
    from vecgraft.vectors import Vectors

    tokenizer = Tokenizer(kind="whitespace")
    vocab = build_vocab(["good good film", "good plot"], tokenizer, min_freq=2)
    assert "film" not in vocab and "plot" not in vocab
    vectors = Vectors(["film", "the", "good"], np.eye(3, dtype=np.float32))
    lines: list[str] = []
    config = FinetuneConfig(train="t.csv", min_freq=2, extend_vocab=10)
    extended, _ = extend_vocab(config, vocab, vectors, False, lines.append)
    assert "film" in extended  # dropped by min_freq, back as a vector row
    (line,) = lines
    assert line.endswith("(extend_vocab 10); training words min_freq dropped are among them "
                         "where the vectors have them (extend_vocab 0 keeps them out)")
    lines.clear()
    extend_vocab(FinetuneConfig(train="t.csv", extend_vocab=10), vocab, vectors, False,
                 lines.append)  # fmt: skip
    assert lines[0].endswith("(extend_vocab 10)")  # nothing pruned: nothing to say


def test_vectors_in_memory_add_the_words_a_file_does(tmp_path):
    # tune passes the whole table, finetune reads the file's first extend_vocab + |vocab|
    # rows: a lowercased run on cased vectors added more words from the table (3,000 vs 2,102)
    from vecgraft.finetune.families import extend_vocab
    from vecgraft.text import build_vocab
    from vecgraft.text.tokenize import Tokenizer
    from vecgraft.vectors import Vectors

    vocab = build_vocab(["good film"], Tokenizer(kind="whitespace"))
    words = ["good", "Paris", "London", "film", "Rome", "plot", "cast", "story"]
    table = Vectors(words, np.arange(len(words) * 2, dtype=np.float32).reshape(-1, 2))
    path = tmp_path / "v.txt"
    table.save(path, format="glove")
    config = FinetuneConfig(train="t.csv", vectors=str(path), extend_vocab=2)
    from_file, _ = extend_vocab(config, vocab, None, True, lambda line: None)
    from_table, _ = extend_vocab(config, vocab, table, True, lambda line: None)
    # the first 2 + 4 rows hold one lowercase word the vocabulary lacks; "cast" is past them
    assert from_file.tokens[len(vocab):] == from_table.tokens[len(vocab):] == ["plot"]


@pytest.mark.parametrize("extend", [0, 50])
def test_finetune_says_once_what_fasttext_subwords_give_and_not(tmp_path, extend):
    """The README said finetune gives unseen words the vectors `vecgraft.load(DIR)` gives;
    only while the run starts: a word first met at test or predict time maps to <unk>."""
    from gensim.test.utils import datapath

    task = make_dataset(tmp_path / "task", train_per_class=6, test_per_class=3)
    said: list[str] = []
    config = FinetuneConfig(train=str(task["train"]), test=str(task["test"]), model="boe",
                            vectors=datapath("lee_fasttext_new.bin"), epochs=1,
                            extend_vocab=extend, plots=False, progress=False,
                            out=str(tmp_path / "run"))  # fmt: skip
    finetune(config, log=said.append)
    notes = [line for line in said if line.startswith("Subwords: ")]
    assert len(notes) == 1, said
    assert "a word first met at test or predict time that " in notes[0]
    assert ("extend_vocab 50" in notes[0]) is bool(extend)
    assert notes[0].endswith(" maps to <unk>: the run keeps a row per word, not the vectors' "
                             "n-gram table, 40.0 KB")  # fmt: skip
