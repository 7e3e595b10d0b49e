"""The TF-IDF + linear SVM baseline: parity with scikit-learn and a pickle-free round trip."""

from __future__ import annotations

import json
import re
import time
import unicodedata

import numpy as np
import pytest

from vecgraft.errors import CheckpointError, ConfigError
from vecgraft.finetune import linear
from vecgraft.finetune.linear import (
    LINEAR_FILE,
    LINEAR_META,
    FitProgress,
    LinearConfig,
    LinearModel,
)

TEXTS = [
    "a wonderful, moving film", "the plot is dull and slow", "great acting, great fun",
    "boring and far too long", "I loved every minute", "a tedious mess", "fun fun fun",
    "dull dull dull", "an instant classic", "not worth the ticket", "charming and witty",
    "painfully slow",
]
LABELS = ["pos", "neg", "pos", "neg", "pos", "neg", "pos", "neg", "pos", "neg", "pos", "neg"]
HELD_OUT = ["a fun classic", "slow and boring", "witty acting", "too dull"]


def _sklearn_scores(train, labels, test, **svc):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.svm import LinearSVC

    pipe = make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2)),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)),
        ),
        LinearSVC(C=0.5, **svc),
    )
    pipe.fit(train, labels)
    return pipe.decision_function(test), pipe.predict(test)


def test_matches_a_scikit_learn_pipeline() -> None:
    model = LinearModel(LinearConfig()).fit(TEXTS, LABELS)
    ref_scores, ref_pred = _sklearn_scores(TEXTS, LABELS, HELD_OUT)
    ours = model.decision_function(HELD_OUT)
    # coefficients are stored as float32: scores agree to float32 rounding of the weights
    np.testing.assert_allclose(ours[:, 1], ref_scores, rtol=0, atol=1e-4)
    assert model.predict(HELD_OUT).tolist() == ref_pred.tolist()


def test_three_classes_match_scikit_learn_after_a_round_trip(tmp_path) -> None:
    # one-vs-rest with three columns: the binary test above reads a single score column
    labels = ["pos", "neg", "mixed", "neg", "pos", "mixed", "pos", "neg", "pos", "mixed",
              "pos", "neg"]  # fmt: skip
    LinearModel(LinearConfig()).fit(TEXTS, labels).save(tmp_path)
    model = LinearModel.load(tmp_path)
    ref_scores, ref_pred = _sklearn_scores(TEXTS, labels, HELD_OUT)
    assert model.classes == ["mixed", "neg", "pos"]
    np.testing.assert_allclose(model.decision_function(HELD_OUT), ref_scores, rtol=0, atol=1e-4)
    assert model.predict(HELD_OUT).tolist() == ref_pred.tolist()


def test_save_load_round_trip_without_pickle(tmp_path) -> None:
    model = LinearModel(LinearConfig()).fit(TEXTS, LABELS)
    model.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [LINEAR_META, LINEAR_FILE]
    assert b"pickle" not in (tmp_path / LINEAR_FILE).read_bytes()[:200]
    again = LinearModel.load(tmp_path)
    np.testing.assert_array_equal(
        again.decision_function(HELD_OUT), model.decision_function(HELD_OUT)
    )
    assert again.classes == ["neg", "pos"]


def test_a_linear_json_past_the_record_limit_loads(tmp_path, monkeypatch) -> None:
    """linear.json holds the whole vocabularies: a big data set's is over 64 MiB, yet loads."""
    from vecgraft._util import jsonfile

    model = LinearModel(LinearConfig()).fit(TEXTS, LABELS)
    model.save(tmp_path)
    size = (tmp_path / LINEAR_META).stat().st_size
    monkeypatch.setattr(jsonfile, "RECORD_LIMIT", size - 1)  # the records' limit, scaled down
    monkeypatch.setattr(linear, "RECORD_LIMIT", size - 1, raising=False)
    again = LinearModel.load(tmp_path)
    assert again.classes == ["neg", "pos"]
    monkeypatch.setattr(linear, "VOCAB_LIMIT", size - 1, raising=False)
    with pytest.raises(CheckpointError, match=f"over the {size - 1} bytes limit"):
        LinearModel.load(tmp_path)  # still bounded: by the vocabulary limit


def test_multiclass_and_chinese_characters(tmp_path) -> None:
    texts = ["酒店很好", "房间太差", "服务一般", "早餐很好", "床太差了", "位置一般般"] * 2
    labels = ["好", "差", "中", "好", "差", "中"] * 2
    model = LinearModel(LinearConfig.for_language("char")).fit(texts, labels)
    assert model.config.word_ngrams is None and model.config.char_ngrams == (1, 3)
    assert model.decision_function(["很好"]).shape == (1, 3)
    model.save(tmp_path)
    again = LinearModel.load(tmp_path)
    assert again.predict(["很好", "太差"]).tolist() == model.predict(["很好", "太差"]).tolist()
    # three classes: scikit-learn's coef_ is Fortran-ordered; the saved weights must not be
    np.testing.assert_array_equal(again.decision_function(texts), model.decision_function(texts))


def test_jieba_words_are_the_word_features(tmp_path) -> None:
    texts = ["酒店服务很好", "房间太差了", "早餐很好吃", "床太差了"]
    model = LinearModel(LinearConfig.for_language("jieba")).fit(texts, ["1", "0", "1", "0"])
    words = model.vectorizers[0][1].vocabulary_
    assert "酒店" in words and "酒店 服务" in words  # segmented words and their bigrams
    model.save(tmp_path)
    again = LinearModel.load(tmp_path)
    np.testing.assert_array_equal(again.decision_function(texts), model.decision_function(texts))


def test_jieba_word_features_keep_the_dictionarys_cased_words() -> None:
    """scikit-learn lowercased the text before jieba saw it: "T恤" became t + 恤."""
    texts = ["买了件T恤很好", "U盘太差了", "T恤很好看", "U盘坏了"]
    model = LinearModel(LinearConfig.for_language("jieba")).fit(texts, ["1", "0", "1", "0"])
    words = model.vectorizers[0][1].vocabulary_
    assert {"t恤", "u盘", "t恤 很", "u盘 坏"} <= set(words) and "t" not in words


@pytest.mark.parametrize("n_classes", [2, 3])
def test_logreg_probabilities_match_scikit_learn(n_classes: int) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    labels = LABELS if n_classes == 2 else [f"c{i % 3}" for i in range(len(TEXTS))]
    model = LinearModel(LinearConfig(kind="logreg")).fit(TEXTS, labels)
    pipe = make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2)),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)),
        ),
        LogisticRegression(C=0.5, max_iter=1000),
    ).fit(TEXTS, labels)
    ours = model.predict_proba(HELD_OUT)
    # binary scores are stored as (-s, s): without halving them this would be sigmoid(2s)
    np.testing.assert_allclose(ours, pipe.predict_proba(HELD_OUT), rtol=0, atol=1e-5)
    np.testing.assert_allclose(ours.sum(axis=1), 1.0, atol=1e-6)


def test_svm_probabilities_rank_like_the_scores_and_ridge_has_none() -> None:
    model = LinearModel(LinearConfig()).fit(TEXTS, LABELS)
    proba = model.predict_proba(HELD_OUT)
    scores = model.decision_function(HELD_OUT)
    assert proba.argmax(axis=1).tolist() == scores.argmax(axis=1).tolist()
    ridge = LinearModel(LinearConfig(kind="ridge")).fit(TEXTS, [float(i) for i in range(12)])
    with pytest.raises(ConfigError, match="no class probabilities"):
        ridge.predict_proba(HELD_OUT)


def test_ridge_regression_predicts_numbers(tmp_path) -> None:
    scores = [4.0, 0.0, 4.0, 0.0, 3.0, 1.0, 4.0, 0.0, 3.0, 1.0, 3.0, 1.0]
    model = LinearModel(LinearConfig(kind="ridge", C=10.0)).fit(TEXTS, scores)
    pred = model.predict(["great fun", "dull and slow"])
    assert pred.dtype.kind == "f" and pred[0] > pred[1]
    model.save(tmp_path)
    np.testing.assert_array_equal(LinearModel.load(tmp_path).predict(TEXTS), model.predict(TEXTS))


def test_bad_config_and_corrupt_files(tmp_path) -> None:
    with pytest.raises(ConfigError, match="word_ngrams or char_ngrams"):
        LinearConfig(word_ngrams=None, char_ngrams=None)
    with pytest.raises(ConfigError, match="linear model kind"):
        LinearConfig(kind="forest")
    with pytest.raises(ConfigError, match=r"unknown segmentation option\(s\) \['mode'\]"):
        LinearConfig(tokenizer="jieba", segmentation={"mode": "word"})
    with pytest.raises(ConfigError, match="segmentation options are jieba's; the tokenizer is "
                       "'char'"):  # fmt: skip
        LinearConfig(tokenizer="char", segmentation={"hmm": False})
    LinearModel().fit(TEXTS, LABELS).save(tmp_path)
    (tmp_path / LINEAR_FILE).write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="not a saved linear model"):
        LinearModel.load(tmp_path)


def test_saved_classes_must_fit_the_coefficient_rows(tmp_path) -> None:
    import json

    labels = ["pos", "neg", "mixed", "neg", "pos", "mixed", "pos", "neg", "pos", "mixed",
              "pos", "neg"]  # fmt: skip
    for folder, y in (("three", labels), ("two", LABELS)):
        LinearModel(LinearConfig()).fit(TEXTS, y).save(tmp_path / folder)
    LinearModel(LinearConfig(kind="ridge")).fit(TEXTS, [float(i) for i in range(12)]).save(
        tmp_path / "ridge"
    )
    edits = [  # a cut list gave a 2-class --proba header over 3 probabilities
        ("three", ["mixed", "neg"], r"coef has 3 rows .* has 2 classes: expected 1 row"),
        ("two", ["neg", "pos", "zzz"], r"coef has 1 rows .* has 3 classes: expected 3 row"),
        ("three", ["mixed", "neg", "neg"], r"classes \['mixed', 'neg', 'neg'\] are not two"),
        ("two", ["pos"], r"classes \['pos'\] are not two or more distinct labels"),
        ("ridge", ["a", "b"], r"classes \['a', 'b'\] are not empty"),
    ]
    for folder, classes, message in edits:
        meta = tmp_path / folder / LINEAR_META
        good = meta.read_text()
        meta.write_text(json.dumps({**json.loads(good), "classes": classes}))
        with pytest.raises(CheckpointError, match=message):
            LinearModel.load(tmp_path / folder)
        meta.write_text(good)
        LinearModel.load(tmp_path / folder)


def _same_model(a: LinearModel, b: LinearModel) -> None:
    for (name, va), (_, vb) in zip(a.vectorizers, b.vectorizers, strict=True):
        assert va.vocabulary_ == vb.vocabulary_, name
        np.testing.assert_array_equal(va.idf_, vb.idf_)
    np.testing.assert_array_equal(a.coef, b.coef)
    np.testing.assert_array_equal(a.intercept, b.intercept)
    assert a.classes == b.classes


@pytest.mark.parametrize("tokenizer", [None, "char"])
def test_nested_fit_equals_two_separate_fits(tokenizer) -> None:
    # the last texts bring n-grams the first ones lack ("ticket", "witty"): the first
    # model's vocabulary must leave them out and keep scikit-learn's sorted column order
    config = LinearConfig.for_language(tokenizer)
    small, full = LinearModel.fit_nested(config, TEXTS, LABELS, first=8)
    _same_model(small, LinearModel(config).fit(TEXTS[:8], LABELS[:8]))
    _same_model(full, LinearModel(config).fit(TEXTS, LABELS))
    assert len(small.vectorizers[-1][1].vocabulary_) < len(full.vectorizers[-1][1].vocabulary_)
    np.testing.assert_array_equal(
        small.decision_function(HELD_OUT),
        LinearModel(config).fit(TEXTS[:8], LABELS[:8]).decision_function(HELD_OUT),
    )


def test_nested_fit_rejects_an_empty_first_part() -> None:
    with pytest.raises(ConfigError, match=r"first must be in 1\.\.12"):
        LinearModel.fit_nested(LinearConfig(), TEXTS, LABELS, first=0)


def test_svm_fits_are_reproducible_whatever_numpy_global_state() -> None:
    # liblinear shuffles rows with a seed drawn from numpy's global state unless given one
    np.random.seed(1)
    a = LinearModel(LinearConfig()).fit(TEXTS, LABELS)
    np.random.seed(2)
    b = LinearModel(LinearConfig()).fit(TEXTS, LABELS)
    np.testing.assert_array_equal(a.coef, b.coef)


@pytest.mark.parametrize("labels", [LABELS, [str(i % 3) for i in range(len(TEXTS))]])
def test_scores_in_chunks_equal_one_pass(monkeypatch, labels) -> None:
    # scoring featurises a chunk of texts at a time (memory); each row's score is its own

    model = LinearModel(LinearConfig()).fit(TEXTS, labels)
    texts = [*TEXTS, *HELD_OUT, ""]  # 17 texts: chunks of 4 and a last one of 1
    whole = model.decision_function(texts)
    monkeypatch.setattr(linear, "SCORE_CHUNK", 4)
    chunked = model.decision_function(texts)
    np.testing.assert_array_equal(chunked, whole)
    rows = model.features(texts).astype(np.float32)
    single = np.asarray(rows @ model.coef.T, dtype=np.float32) + model.intercept
    np.testing.assert_array_equal(whole[:, -single.shape[1]:], single)


def _many_class_model(tmp_path, classes: int = 40):
    """A saved and reloaded model of `classes` classes over a few thousand n-gram features."""
    rng = np.random.default_rng(0)
    words = [f"w{i}x" for i in range(400)]
    texts = [" ".join(rng.choice(words, size=12)) for _ in range(4 * classes)]
    labels = [f"c{i % classes}" for i in range(len(texts))]
    LinearModel(LinearConfig()).fit(texts, labels).save(tmp_path)
    return LinearModel.load(tmp_path), texts


def test_scores_read_the_float32_coef_in_place(tmp_path) -> None:
    # float64 features times the float32 coef.T made SciPy copy the whole coef to float64 on
    # every chunk scored (1000 classes x 282k features: 2.3 GB and 0.9 s per 256 texts)
    import tracemalloc

    model, texts = _many_class_model(tmp_path)
    coef = np.ascontiguousarray(model.coef)  # as saved; the float64 product is the old score
    model.decision_function(texts[:3])  # the one transposed copy kept for scoring
    tracemalloc.start()
    model.decision_function(texts[:3])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert coef.nbytes > 500_000
    assert peak < coef.nbytes / 4  # no copy of the coefficients, float64 or other
    assert model.coef.T.flags.c_contiguous and model.coef.dtype == np.float32
    np.testing.assert_array_equal(model.coef, coef)  # one layout change, same values
    old = np.asarray(model.features(texts) @ coef.T, dtype=np.float32) + model.intercept
    new = model.decision_function(texts)
    np.testing.assert_allclose(new, old, rtol=0, atol=1e-5)  # float32 sums: ~1e-6 apart
    assert new.argmax(axis=1).tolist() == old.argmax(axis=1).tolist()


def test_a_fitted_model_keeps_one_coef_laid_out_for_scoring(tmp_path) -> None:
    model, texts = _many_class_model(tmp_path)
    fitted = LinearModel(LinearConfig()).fit(texts, [f"c{i % 40}" for i in range(len(texts))])
    assert fitted.coef.T.flags.c_contiguous  # scikit-learn's Fortran coef_, kept as it is
    np.testing.assert_array_equal(fitted.coef, model.coef)  # saved in C order, read back


def _counted_transforms(monkeypatch) -> list[int]:
    """The sizes of the text lists TF-IDF vectorizers transform from now on."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    sizes: list[int] = []
    real = TfidfVectorizer.transform

    def counted(self, raw_documents):
        sizes.append(len(raw_documents))
        return real(self, raw_documents)

    monkeypatch.setattr(TfidfVectorizer, "transform", counted)
    return sizes


def test_shared_features_featurise_texts_once_per_vocabulary(tmp_path, monkeypatch) -> None:
    # the same rows in another order: the same vocabulary and idf, other coefficients
    order = list(range(len(TEXTS)))[::-1]
    first = LinearModel(LinearConfig()).fit(TEXTS, LABELS)
    second = LinearModel(LinearConfig()).fit([TEXTS[i] for i in order], [LABELS[i] for i in order])
    other = LinearModel(LinearConfig()).fit(TEXTS[:8], LABELS[:8])  # another vocabulary
    first.save(tmp_path)
    loaded = LinearModel.load(tmp_path)
    models = (first, second, loaded, other)
    alone = [m.decision_function(HELD_OUT) for m in models]
    sizes = _counted_transforms(monkeypatch)
    with linear.shared_features():
        shared = [m.decision_function(list(HELD_OUT)) for m in models]
        assert sizes == [4, 4, 4, 4]  # word and character blocks: `first`'s, then `other`'s
        assert first.features(HELD_OUT) is second.features(HELD_OUT)
        first.fit(TEXTS[:8], LABELS[:8])  # refitted: now `other`'s vocabulary
        assert first.features(HELD_OUT) is other.features(HELD_OUT)
        assert sizes == [4, 4, 4, 4]
        with linear.shared_features():  # inside another block: the outer one's rows
            assert other.features(HELD_OUT) is first.features(HELD_OUT)
    for a, b in zip(alone, shared):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(alone[0], alone[1])  # the coefficients are each model's own
    first.features(HELD_OUT)  # outside the block, computed again
    assert sizes == [4, 4, 4, 4, 4, 4]


def test_shared_features_keep_at_most_their_budget(monkeypatch) -> None:
    model = LinearModel(LinearConfig()).fit(TEXTS, LABELS)
    size = linear._nbytes(model.features(HELD_OUT))
    sizes = _counted_transforms(monkeypatch)
    with linear.shared_features(budget=size):
        model.features(HELD_OUT)
        model.features(HELD_OUT)
        assert sizes == [4, 4]
        model.features(HELD_OUT[:2])  # the older rows make room for these
        model.features(HELD_OUT)
        assert sizes == [4, 4, 2, 2, 4, 4]
    with linear.shared_features(budget=size - 1):  # too large to keep
        model.features(HELD_OUT)
        model.features(HELD_OUT)
    assert sizes == [4, 4, 2, 2, 4, 4, 4, 4, 4, 4]


@pytest.mark.parametrize("tokenizer", [None, "char"])
def test_sets_up_to_max_rows_fit_every_row_exactly_as_before(tokenizer) -> None:
    # the row cap must leave every benchmark-sized fit (all <= 12k rows) bit for bit alone:
    # max_rows=None is the fit before the cap existed
    capped = LinearConfig.for_language(tokenizer)
    uncapped = LinearConfig.for_language(tokenizer, max_rows=None)
    assert capped.max_rows == linear.MAX_ROWS > len(TEXTS)
    _same_model(LinearModel(capped).fit(TEXTS, LABELS), LinearModel(uncapped).fit(TEXTS, LABELS))
    exact = LinearConfig.for_language(tokenizer, max_rows=len(TEXTS))  # the edge: no sample
    for a, b in zip(LinearModel.fit_nested(exact, TEXTS, LABELS, first=8),
                    LinearModel.fit_nested(uncapped, TEXTS, LABELS, first=8), strict=True):
        _same_model(a, b)


def test_above_max_rows_a_seeded_sample_is_fitted() -> None:
    config = LinearConfig(max_rows=6)
    keep = linear.sample_rows(len(TEXTS), 6)
    assert keep is not None and len(keep) == 6 and list(keep) == sorted(set(keep.tolist()))
    np.testing.assert_array_equal(keep, linear.sample_rows(len(TEXTS), 6))  # seeded
    assert linear.sample_rows(len(TEXTS), len(TEXTS)) is None
    assert linear.sample_rows(len(TEXTS), None) is None
    assert linear.fit_rows(len(TEXTS), 6) == 6 and linear.fit_rows(len(TEXTS), None) == 12
    texts, labels = [TEXTS[i] for i in keep], [LABELS[i] for i in keep]
    whole = LinearConfig(max_rows=None)
    _same_model(LinearModel(config).fit(TEXTS, LABELS), LinearModel(whole).fit(texts, labels))
    # nested: one sample of all rows; the first model fits its rows from the first part only
    small, full = LinearModel.fit_nested(config, TEXTS, LABELS, first=8)
    first = int((keep < 8).sum())
    _same_model(small, LinearModel(whole).fit(texts[:first], labels[:first]))
    _same_model(full, LinearModel(whole).fit(texts, labels))


@pytest.mark.parametrize("bad", [0, -5, 1.5, True, "many"])
def test_max_rows_must_be_a_positive_whole_number(bad) -> None:
    with pytest.raises(ConfigError, match="max_rows must be"):
        LinearConfig(max_rows=bad)


def test_max_rows_is_saved_and_old_files_load_with_the_default(tmp_path) -> None:
    import json

    LinearModel(LinearConfig(max_rows=50)).fit(TEXTS, LABELS).save(tmp_path)
    assert LinearModel.load(tmp_path).config.max_rows == 50
    meta = json.loads((tmp_path / LINEAR_META).read_text(encoding="utf-8"))
    del meta["config"]["max_rows"]  # a model saved before the cap
    (tmp_path / LINEAR_META).write_text(json.dumps(meta), encoding="utf-8")
    assert LinearModel.load(tmp_path).config.max_rows == linear.MAX_ROWS


def test_a_text_is_read_up_to_max_chars_in_fits_and_predictions(tmp_path) -> None:
    # a 10 MB text took the fused fit from 0.6 to 2.8 GB: its n-grams were listed whole
    import json

    assert LinearConfig().max_chars == 1_000_000
    tail = " dull" * 50  # past the cut: never read
    long = [t + tail for t in TEXTS]
    cut = len(max(TEXTS, key=len))
    clipped = LinearModel(LinearConfig(max_chars=cut)).fit(long, LABELS)
    plain = LinearModel(LinearConfig(max_chars=None)).fit([t[:cut] for t in long], LABELS)
    np.testing.assert_array_equal(clipped.coef, plain.coef)
    queries = [h + tail for h in HELD_OUT]
    np.testing.assert_array_equal(clipped.decision_function(queries),
                                  clipped.decision_function([q[:cut] for q in queries]))
    _, full = LinearModel.fit_nested(LinearConfig(max_chars=cut), long, LABELS, 6)
    np.testing.assert_array_equal(full.coef, plain.coef)
    # a model saved before the option was fitted on every character, and reads them all
    plain.save(tmp_path)
    meta = json.loads((tmp_path / LINEAR_META).read_text())
    del meta["config"]["max_chars"]
    (tmp_path / LINEAR_META).write_text(json.dumps(meta))
    assert LinearModel.load(tmp_path).config.max_chars is None
    with pytest.raises(ConfigError, match="max_chars must be a whole number >= 1 or None"):
        LinearConfig(max_chars=0)


ZH_TEXTS = ["这家酒店很好", "房间太差了", "我喜欢iPhone", "服务很差", "早餐很好吃", "电脑太慢了"]
ZH_LABELS = ["1", "0", "1", "0", "1", "0"]


def test_normalization_reads_texts_as_the_tokenizer_does(tmp_path) -> None:
    """A `--halfwidth` run's tokenizer read ｉＰｈｏｎｅ as iPhone; its linear model did not."""
    import json

    from vecgraft.text.tokenize import Tokenizer, normalize_text

    config = LinearConfig.for_language("jieba", normalization={"halfwidth": True})
    model = LinearModel(config).fit(ZH_TEXTS, ZH_LABELS)
    wide, plain = "Ｉ喜欢ｉＰｈｏｎｅ", "I喜欢iPhone"
    np.testing.assert_array_equal(model.decision_function([wide]),
                                  model.decision_function([plain]))  # fmt: skip
    # the Tokenizer's own normalisation: its words of the text are the model's
    tok = Tokenizer("jieba", halfwidth=True)
    assert tok(wide) == tok(normalize_text(wide, halfwidth=True)) == tok(plain)
    # saved with the model (JSON): predict/evaluate of a saved run normalise alike
    model.save(tmp_path)
    meta = json.loads((tmp_path / LINEAR_META).read_text(encoding="utf-8"))
    assert meta["config"]["normalization"] == {"halfwidth": True}
    again = LinearModel.load(tmp_path)
    np.testing.assert_array_equal(again.decision_function([wide, plain]),
                                  model.decision_function([plain, plain]))  # fmt: skip
    # a model saved before the option read the texts as written, and still does
    del meta["config"]["normalization"]
    (tmp_path / LINEAR_META).write_text(json.dumps(meta), encoding="utf-8")
    old = LinearModel.load(tmp_path)
    assert old.config.normalization == {}
    assert not np.array_equal(old.decision_function([wide]), old.decision_function([plain]))


def test_simplified_normalization_scores_traditional_text_as_simplified() -> None:
    pytest.importorskip("opencc")
    config = LinearConfig.for_language("jieba", normalization={"simplified": True})
    model = LinearModel(config).fit(ZH_TEXTS, ZH_LABELS)
    np.testing.assert_array_equal(model.decision_function(["這家酒店很好", "電腦太慢了"]),
                                  model.decision_function(["这家酒店很好", "电脑太慢了"]))
    plain = LinearModel(LinearConfig.for_language("jieba")).fit(ZH_TEXTS, ZH_LABELS)
    assert not np.array_equal(plain.decision_function(["這家酒店很好"]),
                              plain.decision_function(["这家酒店很好"]))  # fmt: skip


def test_normalization_options_are_the_tokenizers() -> None:
    # options at the Tokenizer's default are left out, so a plain model's config is as before
    config = LinearConfig(normalization={"nfkc": False, "digits": None, "halfwidth": True})
    assert config.normalization == {"halfwidth": True}
    assert LinearConfig(normalization={"digits": "#"}).normalization == {"digits": "#"}
    with pytest.raises(ConfigError, match=r"unknown normalization option\(s\) \['lower'\]"):
        LinearConfig(normalization={"lower": True})
    with pytest.raises(ConfigError, match="normalization option halfwidth must be true or false"):
        LinearConfig(normalization={"halfwidth": "yes"})
    with pytest.raises(ConfigError, match="digits must be one of 0, # or None"):
        LinearConfig(normalization={"digits": "9"})


def test_an_unknown_model_option_names_the_linear_models_options() -> None:
    # it read "unknown option for model 'linear' (LinearConfig.__init__() got an
    # unexpected keyword argument 'dropout')": a Python signature, no valid option
    from vecgraft.finetune.fusion import linear_config

    with pytest.raises(ConfigError) as caught:
        linear_config({}, {"dropout": 0.3})
    message = str(caught.value)
    assert message.startswith("unknown option(s) dropout for model 'linear'; valid options: ")
    assert "C, " in message and "max_rows" in message and "__init__" not in message
    assert linear_config({}, {"C": 2.0, "max_rows": None}).C == 2.0  # valid ones still work


@pytest.mark.parametrize("kind", ["svm", "logreg"])
def test_many_classes_in_few_rows_fit_without_a_regression_guess(kind: str) -> None:
    # 91 classes in a 10 % compare cell printed scikit-learn's "`y` could represent a
    # regression problem" twice (the nested fit's two models); the task is known here
    import warnings

    texts = [f"word{i} text{i % 7}" for i in range(30)]
    labels = [f"class{i % 20}" for i in range(30)]  # 20 classes in 30 rows: over half
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = LinearModel(LinearConfig(kind=kind)).fit(texts, labels)
        LinearModel.fit_nested(LinearConfig(kind=kind), texts, labels, first=25)
    assert len(model.classes) == 20
    assert [str(w.message) for w in caught if "regression problem" in str(w.message)] == []


def test_network_training_settings_given_to_the_linear_model_are_said():
    # --model linear --label-smoothing 0.1 (or --epochs) was taken and ignored silently
    from vecgraft.finetune.config import FinetuneConfig
    from vecgraft.finetune.linear_recipe import unused_training_settings

    assert unused_training_settings(FinetuneConfig(model="linear")) is None
    assert unused_training_settings(
        FinetuneConfig(model="linear", label_smoothing=0.1, epochs=5)
    ) == ("The linear model is fitted at once, not trained by steps: --epochs, "
          "--label-smoothing are not applied to it")  # fmt: skip


def test_a_fit_tells_its_note_the_matrix_size_first() -> None:
    said: list[str] = []
    model = LinearModel(LinearConfig(kind="ridge")).fit(TEXTS, [float(i) for i in range(12)],
                                                        note=said.append)  # fmt: skip
    width = model.coef.shape[1]
    assert said == [  # "Fitting Ridge on ... (a number)" read oddly
        f"Fitting ridge regression on 12 rows x {width:,} TF-IDF features (the target: a number)"
    ]
    said.clear()
    LinearModel.fit_nested(LinearConfig(), TEXTS, LABELS, 8, note=said.append)
    assert [line.split(" x ")[0] for line in said] == [
        "Fitting LinearSVC on 8 rows", "Fitting LinearSVC on 12 rows"
    ]
    assert all(line.endswith("TF-IDF features (2 classes)") for line in said)


def _shuffled_csr(rows: int, cols: int, density: float, seed: int):
    """A random CSR matrix whose rows keep their entries out of column order, as a
    CountVectorizer's do once it has sorted its terms."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    m = sp.random(rows, cols, density=density, format="csr", random_state=seed)
    for r in range(rows):
        a, b = m.indptr[r], m.indptr[r + 1]
        order = a + rng.permutation(b - a)
        m.indices[a:b], m.data[a:b] = m.indices[order], m.data[order]
    return m


def _same_arrays(a, b) -> None:
    assert a.shape == b.shape
    for name in ("data", "indices", "indptr"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("entries", [1, 7, 2**20])
def test_stacked_blocks_are_scipys_hstack_holding_each_entry_twice(monkeypatch, entries):
    # scipy's hstack concatenated the blocks' arrays before interleaving them: every
    # non-zero held three times, the peak of a fit of 150,000 texts. The same arrays, in the
    # same order (the order the TF-IDF norms and liblinear sum in), copied a few at a time
    import tracemalloc

    import scipy.sparse as sp

    monkeypatch.setattr(linear, "_STACK_ENTRIES", entries)
    blocks = [_shuffled_csr(300, 50, 0.1, 1), _shuffled_csr(300, 1, 0.02, 2),
              _shuffled_csr(300, 90, 0.2, 3), sp.csr_matrix((300, 4))]  # fmt: skip
    _same_arrays(linear._stack(blocks), sp.hstack(blocks, format="csr"))
    monkeypatch.setattr(linear, "_STACK_ENTRIES", 1000)
    big = [_shuffled_csr(4000, 300, 0.05, 4), _shuffled_csr(4000, 500, 0.05, 5)]
    tracemalloc.start()
    try:
        stacked = linear._stack(big)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    size = stacked.data.nbytes + stacked.indices.nbytes + stacked.indptr.nbytes
    assert peak < 1.3 * size  # scipy's hstack: twice the result besides the blocks
    _same_arrays(stacked, sp.hstack(big, format="csr"))


def test_the_first_rows_columns_are_scipys_selection_without_a_copy_between() -> None:
    counts = _shuffled_csr(200, 60, 0.08, 6)
    for first in (1, 57, 200):
        seen = linear._columns_of_rows(counts, first)
        np.testing.assert_array_equal(seen, np.flatnonzero(counts[:first].getnnz(axis=0)))
        _same_arrays(linear._head_columns(counts, first, seen), counts[:first][:, seen])


def test_waiting_counts_take_a_byte_each_and_come_back_exactly() -> None:
    # the full model's counts wait through the first model's fit as small integers
    counts = _shuffled_csr(100, 40, 0.2, 7)
    counts.data = np.ceil(counts.data * 200)  # whole counts 1..200
    before = counts.copy()
    packed = linear._packed_counts(counts)
    assert packed.data.dtype == np.uint8
    _same_arrays(linear._float_counts(packed), before)
    counts.data[0] = 300.0  # wider counts: two bytes
    assert linear._packed_counts(counts).data.dtype == np.uint16
    fractions = _shuffled_csr(10, 10, 0.5, 8)  # not counts: kept as they are
    assert linear._packed_counts(fractions).data.dtype == np.float64


def _seconds_masked(line: str) -> str:
    """A progress line with its seconds as N: "(Ns)", "done in Ns"."""
    return re.sub(r"(\(|done in )\d+s", r"\1Ns", line)


def _slow_fit(monkeypatch, estimator: type, seconds: float) -> None:
    """Make every fit of `estimator` take `seconds` longer (a blocking fit of a large set)."""
    fit = estimator.fit

    def slow(self, *args, **kwargs):
        time.sleep(seconds)
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(estimator, "fit", slow)


def test_a_long_fit_says_its_stages_and_that_it_is_alive_then_nothing(monkeypatch) -> None:
    # a fused fit of 200k short texts was 6.5 silent minutes after the network's progress
    # lines: past FIT_NOTE_SECONDS (0 here) each stage is said with its seconds, and while
    # scikit-learn blocks a line every HEARTBEAT_SECONDS (training's cadence; 0.05 here)
    from sklearn.svm import LinearSVC

    _slow_fit(monkeypatch, LinearSVC, 0.4)
    monkeypatch.setattr(linear, "FIT_NOTE_SECONDS", 0.0)
    monkeypatch.setattr(linear, "HEARTBEAT_SECONDS", 0.05)
    said: list[str] = []
    small, full = LinearModel.fit_nested(LinearConfig(), TEXTS, LABELS, 8,
                                         progress=FitProgress(said.append))  # fmt: skip
    ended = list(said)
    time.sleep(0.3)
    assert said == ended  # the heartbeat ended with the fit
    words, chars = (len(v.vocabulary_) for _, v in full.vectorizers)
    width = {8: small.coef.shape[1], 12: full.coef.shape[1]}
    stages = [_seconds_masked(line) for line in said if not line.startswith("Linear fit: still")]
    assert stages == [
        f"Linear fit: word n-grams of 12 texts: {words:,} terms (Ns)",
        f"Linear fit: char n-grams of 12 texts: {chars:,} terms (Ns)",
        f"Fitting LinearSVC on 8 rows x {width[8]:,} TF-IDF features (2 classes)",
        "Linear fit: LinearSVC fitted on 8 rows (Ns)",
        f"Fitting LinearSVC on 12 rows x {width[12]:,} TF-IDF features (2 classes)",
        "Linear fit: LinearSVC fitted on 12 rows (Ns)",
        "Linear fit: done in Ns",
    ]
    for rows in (8, 12):  # each SVM fit beat, naming what it waits for and the fit's seconds
        still = (f"Linear fit: still fitting LinearSVC on {rows} rows x {width[rows]:,} "
                 "TF-IDF features (2 classes) [")  # fmt: skip
        assert sum(line.startswith(still) and line.endswith("s]") for line in said) >= 2
    _same_model(full, LinearModel(LinearConfig()).fit(TEXTS, LABELS))  # the same fit


def test_a_short_fit_says_nothing_more_and_fit_says_its_stages_too(monkeypatch) -> None:
    # a fit quicker than FIT_NOTE_SECONDS (a second here) stays as quiet as before
    said: list[str] = []
    model = LinearModel(LinearConfig()).fit(TEXTS, LABELS, progress=FitProgress(said.append))
    assert said == []
    _same_model(model, LinearModel(LinearConfig()).fit(TEXTS, LABELS))
    # past it, `fit` says its stages as `fit_nested` does; without a heartbeat none beats
    from sklearn.linear_model import Ridge

    _slow_fit(monkeypatch, Ridge, 0.3)
    monkeypatch.setattr(linear, "FIT_NOTE_SECONDS", 0.0)
    monkeypatch.setattr(linear, "HEARTBEAT_SECONDS", 0.05)
    ridge = LinearModel(LinearConfig(kind="ridge", char_ngrams=None)).fit(
        TEXTS, [float(i) for i in range(12)], progress=FitProgress(said.append, heartbeat=False)
    )
    width = len(ridge.vectorizers[0][1].vocabulary_)
    assert [_seconds_masked(line) for line in said] == [
        f"Linear fit: word n-grams of 12 texts: {width:,} terms (Ns)",
        f"Fitting ridge regression on 12 rows x {width:,} TF-IDF features (the target: a number)",
        "Linear fit: ridge regression fitted on 12 rows (Ns)",
        "Linear fit: done in Ns",
    ]


def test_linear_model_reads_decomposed_text_as_composed(tmp_path) -> None:
    """The network's Tokenizer puts every text in NFC; the linear half read decomposed text
    as written, so a fused model scored "café" and "cafe" + U+0301 differently."""
    texts = ["très bon café", "très mauvais thé", "bon café", "mauvais thé"]
    model = LinearModel(LinearConfig()).fit(texts, ["1", "0", "1", "0"])
    composed, decomposed = "un café très bon", unicodedata.normalize("NFD", "un café très bon")
    assert composed != decomposed
    np.testing.assert_array_equal(model.decision_function([decomposed]),
                                  model.decision_function([composed]))  # fmt: skip
    model.save(tmp_path)  # a saved model reads NFC too
    again = LinearModel.load(tmp_path)
    np.testing.assert_array_equal(again.decision_function([decomposed, composed]),
                                  model.decision_function([composed, composed]))  # fmt: skip


def test_models_saved_before_nfc_read_text_as_written(tmp_path) -> None:
    """A model saved before every text was put in NFC (no `nfc` in linear.json) was fitted
    on decomposed text as written: it must keep reading it so, or its scores change."""
    import json

    decomposed = [unicodedata.normalize("NFD", t) for t in ["très bon café", "très mauvais thé",
                                                            "bon café", "mauvais thé"]]
    model = LinearModel(LinearConfig(nfc=False)).fit(decomposed, ["1", "0", "1", "0"])
    model.save(tmp_path)
    meta = json.loads((tmp_path / LINEAR_META).read_text(encoding="utf-8"))
    assert meta["config"]["nfc"] is False
    assert LinearModel(LinearConfig()).config.nfc is True  # new fits read NFC
    del meta["config"]["nfc"]  # as the old code saved it
    (tmp_path / LINEAR_META).write_text(json.dumps(meta), encoding="utf-8")
    old = LinearModel.load(tmp_path)
    query = unicodedata.normalize("NFD", "un café très bon")
    np.testing.assert_array_equal(old.decision_function([query]),
                                  model.decision_function([query]))  # fmt: skip
    assert old.config.nfc is False
    assert old._read([query]) == [query]  # not composed: the fit never saw "é"


def test_word_pattern_keeps_combining_marks_in_words() -> None:
    """scikit-learn's `(?u)\\b\\w\\w+\\b` cut words at combining marks: Hindi फिल्म and है
    vanished, ภาษาไทยดีมาก became ภาษาไทยด + มาก, مُحَمَّد was dropped."""
    from vecgraft.text.tokenize import LINEAR_WORD_PATTERN

    words = re.compile(LINEAR_WORD_PATTERN).findall
    assert words("यह फिल्म अच्छी है") == ["यह", "फिल्म", "अच्छी", "है"]
    assert words("ภาษาไทยดีมาก") == ["ภาษาไทยดีมาก"]
    assert words("اسمي مُحَمَّد") == ["اسمي", "مُحَمَّد"]
    model = LinearModel(LinearConfig()).fit(["यह फिल्म अच्छी है", "यह बुरा"], ["1", "0"])
    assert {"फिल्म", "है", "यह फिल्म"} <= set(model.vectorizers[0][1].vocabulary_)


def test_word_pattern_without_marks_is_scikit_learns() -> None:
    """English and Chinese features must not change: on text without combining marks the
    pattern's tokens are exactly scikit-learn's."""
    from vecgraft.text.tokenize import LINEAR_WORD_PATTERN

    pool = [chr(c) for c in [*range(0x20, 0x7F), *range(0xA0, 0x100), *range(0x3000, 0x302A),
                             *range(0x4E00, 0x4E40), *range(0xFF01, 0xFF20), 0x2019, 0x200B]]
    pool += [*"\t\n    "]  # more spaces: more, shorter words
    assert not any(unicodedata.category(c).startswith("M") for c in pool)
    rng = np.random.default_rng(0)
    samples = ["".join(rng.choice(pool, size=int(rng.integers(0, 40)))) for _ in range(3000)]
    samples += ["Don't e-mail the U.S. office... 3.5 times! café_2", "这家酒店很好，I喜欢iPhone"]
    ours, sklearn = re.compile(LINEAR_WORD_PATTERN), re.compile(r"(?u)\b\w\w+\b")
    for text in samples:
        assert ours.findall(text) == sklearn.findall(text), text


def test_models_saved_before_word_marks_keep_scikit_learns_pattern(tmp_path) -> None:
    """A saved model predicts from the words it was fitted on: one saved before the option
    (no `word_marks` in linear.json) reads words with scikit-learn's pattern."""
    import json

    model = LinearModel(LinearConfig()).fit(["यह फिल्म अच्छी है", "यह बुरा"], ["1", "0"])
    model.save(tmp_path)
    meta = json.loads((tmp_path / LINEAR_META).read_text(encoding="utf-8"))
    assert meta["config"]["word_marks"] is True
    assert LinearModel.load(tmp_path).config.word_marks is True
    del meta["config"]["word_marks"]
    (tmp_path / LINEAR_META).write_text(json.dumps(meta), encoding="utf-8")
    old = LinearModel.load(tmp_path)
    assert old.config.word_marks is False
    assert old.vectorizers[0][1].build_tokenizer()("यह फिल्म है") == ["यह"]  # as it was fitted


def test_char_word_ngrams_keep_marks_as_the_model_was_fitted():
    """A char tokenizer's words (word_ngrams given) follow `word_marks`: models saved before
    it (False) read each combining mark apart, as they were fitted; new ones keep ไ, ม่."""
    for marks, expected in ((True, ["ไ", "ม\u0e48"]), (False, ["ไ", "ม", "\u0e48"])):
        config = LinearConfig.for_language("char", word_ngrams=(1, 1), word_marks=marks)
        analyzer = linear._word_analyzer(config)
        assert analyzer is not None and analyzer("ไม่") == expected


def test_the_settings_read_as_words() -> None:
    # the run's log showed the dataclass repr, with `kind=<LinearKind.SVM: 'svm'>`
    chinese = LinearConfig.for_language("jieba", class_weight="balanced")
    assert chinese.summary() == ("TF-IDF word 1-2-grams (jieba words) + char 1-3-grams, "
                                 "linear SVM (C 0.5, class weights balanced)")
    ridge = LinearConfig(kind="ridge", C=0.5, lowercase=False, word_ngrams=(2, 2),
                         char_ngrams=None, normalization={"halfwidth": True})  # fmt: skip
    assert ridge.summary() == ("TF-IDF word 2-grams, normalised (halfwidth), case kept, ridge "
                               "regression (alpha 2)")


def test_the_linear_words_take_the_dictionary_converted_as_the_network_does(tmp_path):
    # its texts were converted (`_normalizer`) and its dictionary was not: the network cut
    # 干净度超赞 and WIFI信号 whole, the linear half 干净 + 度 + 超赞 and wifi + 信号
    pytest.importorskip("opencc")
    from vecgraft.finetune.fusion import linear_settings
    from vecgraft.finetune.linear import _normalizer, _word_analyzer
    from vecgraft.text.tokenize import Tokenizer

    user = tmp_path / "user.txt"
    user.write_text("乾淨度超讚 10 n\nＷＩＦＩ信號\n", encoding="utf-8")
    review = "乾淨度超讚，ＷＩＦＩ信號好"
    network = Tokenizer("jieba", user_dict=str(user), simplified=True, halfwidth=True)
    assert network(review) == ["干净度超赞", "，", "WIFI信号", "好"]
    settings = linear_settings(network.config)
    assert settings.segmentation["user_dict_normalized"] is True
    words = _word_analyzer(settings)
    normalize = _normalizer(settings)
    assert words is not None and normalize is not None
    assert words(normalize(review)) == ["干净度超赞", "，", "wifi信号", "好"]
    model = LinearModel(settings).fit([review, "服务很差"], ["1", "0"])
    model.save(tmp_path / "new")
    assert LinearModel.load(tmp_path / "new").config.segmentation["user_dict_normalized"]
    # a model saved before the option keeps the cut it was fitted with
    meta = json.loads((tmp_path / "new" / "linear.json").read_text(encoding="utf-8"))
    del meta["config"]["segmentation"]["user_dict_normalized"]
    (tmp_path / "new" / "linear.json").write_text(json.dumps(meta), encoding="utf-8")
    old = LinearModel.load(tmp_path / "new").config
    assert old.segmentation["user_dict_normalized"] is False
    old_words = _word_analyzer(old)
    assert old_words is not None
    assert old_words(normalize(review)) == ["干净", "度", "超赞", "，", "wifi", "信号", "好"]
