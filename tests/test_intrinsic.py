"""Intrinsic evaluation: parity with gensim on the same vectors, and exact hand checks."""

from __future__ import annotations

import json
import math
import os
import re

import numpy as np
import pytest
from gensim.models import KeyedVectors

from vecgraft import Vectors
from vecgraft._util.extras import install_hint
from vecgraft.errors import ConfigError, DataError
from vecgraft.evaluate.intrinsic import analogies, format_results, word_similarity


def _fixture(n: int = 6000, dim: int = 16, seed: int = 0):
    """Random vectors with planted analogies (d = c + b - a + noise) and case variants."""
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(n - 40)]
    # case variants of frequent words sit later in the file (gensim keeps the first one)
    words += [w.upper() for w in words[:20]] + [w.capitalize() for w in words[20:40]]
    m = rng.normal(size=(n, dim)).astype(np.float32)
    lines, questions = [], 0
    for section in ("plain", "mixed-case"):
        lines.append(f": {section}")
        for _ in range(120):
            a, b, c, d = rng.choice(n - 40, size=4, replace=False)
            m[d] = m[c] + m[b] - m[a] + rng.normal(scale=0.3, size=dim)
            ws = [words[i] for i in (a, b, c, d)]
            if section == "mixed-case":
                ws = [w.upper() if j % 2 else w for j, w in enumerate(ws)]
            lines.append(" ".join(ws))
            questions += 1
        lines.append("w1 w2 w3 unknownword")  # OOV
        lines.append("not four words")  # skipped
    pairs = ["# comment", "# Word 1\tWord 2\tHuman"]
    for _ in range(200):
        i, j = rng.choice(n - 40, size=2, replace=False)
        pairs.append(f"{words[i]}\t{words[j]}\t{rng.uniform(0, 10):.2f}")
    pairs += ["w1\tnope\t3.0", "W2\tw3\t4.5", "bad line", "w1\tw2\tnotanumber"]
    return words, m, "\n".join(lines) + "\n", "\n".join(pairs) + "\n"


@pytest.fixture(scope="module")
def fixture(tmp_path_factory):
    words, m, qa, pairs = _fixture()
    d = tmp_path_factory.mktemp("intrinsic")
    (d / "qa.txt").write_text(qa, encoding="utf-8")
    (d / "pairs.tsv").write_text(pairs, encoding="utf-8")
    kv = KeyedVectors(m.shape[1])
    kv.add_vectors(words, m)
    return Vectors(words, m), kv, d / "qa.txt", d / "pairs.tsv"


@pytest.mark.parametrize("case_insensitive", [True, False])
@pytest.mark.parametrize("dummy4unknown", [False, True])
def test_similarity_matches_gensim(fixture, case_insensitive, dummy4unknown):
    vectors, kv, _, pairs = fixture
    pearson, spearman, oov = kv.evaluate_word_pairs(
        str(pairs), case_insensitive=case_insensitive, dummy4unknown=dummy4unknown
    )
    r = word_similarity(
        vectors, pairs, case_insensitive=case_insensitive, dummy4unknown=dummy4unknown
    )
    # bit-equal: the cosines are gensim's similarity() arithmetic, not a batched product
    assert (r.pearson, r.pearson_pvalue) == (pearson[0], pearson[1])
    assert (r.spearman, r.spearman_pvalue) == (spearman[0], spearman[1])
    assert r.oov_ratio == oov


@pytest.mark.parametrize("restrict_vocab", [300000, 3000])
@pytest.mark.parametrize("case_insensitive", [True, False])
@pytest.mark.parametrize("dummy4unknown", [False, True])
def test_analogies_match_gensim(fixture, restrict_vocab, case_insensitive, dummy4unknown):
    vectors, kv, qa, _ = fixture
    score, sections = kv.evaluate_word_analogies(
        str(qa),
        restrict_vocab=restrict_vocab,
        case_insensitive=case_insensitive,
        dummy4unknown=dummy4unknown,
    )
    r = analogies(
        vectors,
        qa,
        restrict_vocab=restrict_vocab,
        case_insensitive=case_insensitive,
        dummy4unknown=dummy4unknown,
    )
    total = sections[-1]
    assert r.correct == len(total["correct"])
    assert r.total == len(total["correct"]) + len(total["incorrect"])
    assert r.accuracy == pytest.approx(score, abs=1e-4)
    for mine, theirs in zip(r.sections, sections[:-1]):
        assert mine.section == theirs["section"]
        assert mine.correct == len(theirs["correct"])
        assert mine.total == len(theirs["correct"]) + len(theirs["incorrect"])
    assert r.correct >= 4  # the planted analogies are found: the test is not vacuous


def test_screened_and_exact_paths_agree(fixture, monkeypatch):
    vectors, _, qa, _ = fixture
    from vecgraft.evaluate import intrinsic

    fast = analogies(vectors, qa)
    monkeypatch.setattr(intrinsic, "_bf16_fast", lambda: False)
    exact = analogies(vectors, qa)
    assert [s.to_dict() for s in fast.sections] == [s.to_dict() for s in exact.sections]


def test_top_k_blocks_equal_full_topk():
    import torch

    from vecgraft.evaluate.intrinsic import _BLOCK, _top_k

    g = torch.Generator().manual_seed(0)
    scores = torch.randn(7, _BLOCK * 40, generator=g)
    assert torch.equal(_top_k(scores, 5), torch.topk(scores, 5, dim=1).indices)


def test_3cosmul_matches_hand_computation(tmp_path):
    words = ["a", "b", "c", "d", "e"]
    m = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 0]], np.float32)
    (tmp_path / "q.txt").write_text(": s\na b c d\na b c e\n")
    unit = m / np.linalg.norm(m, axis=1, keepdims=True)

    def cosmul(x):
        s = lambda w: (1 + unit[words.index(w)] @ unit[x]) / 2  # noqa: E731
        return s("b") * s("c") / (s("a") + 1e-6)

    best = max(("d", "e"), key=lambda w: cosmul(words.index(w)))
    r = analogies(Vectors(words, m), tmp_path / "q.txt", method="3cosmul")
    assert r.total == 2
    assert r.correct == 1
    assert r.sections[0].correct == 1
    assert best == "d"


def test_similarity_hand_values(tmp_path):
    words = ["x", "y", "z"]
    m = np.array([[1, 0], [1, 1], [0, 1]], np.float32)
    (tmp_path / "p.txt").write_text("x y 1\nx z 0\ny z 2\nx q 5\n")
    r = word_similarity(Vectors(words, m), tmp_path / "p.txt", delimiter=None)
    # cosines: xy=.7071, xz=0, yz=.7071 against gold 1, 0, 2
    assert r.pairs == 3 and r.oov == 1
    assert r.oov_ratio == pytest.approx(25.0)
    assert r.spearman == pytest.approx(0.8660254, abs=1e-6)
    assert r.pearson == pytest.approx(0.8660254, abs=1e-6)
    assert json.loads(json.dumps(r.to_dict()))["pairs"] == 3


def test_all_oov_is_a_clear_error(tmp_path):
    (tmp_path / "p.txt").write_text("q\tr\t1\n")
    with pytest.raises(DataError, match="no pair can be scored"):
        word_similarity(Vectors(["a"], np.ones((1, 2), np.float32)), tmp_path / "p.txt")
    (tmp_path / "one.txt").write_text("a\ta\t1\nq\tr\t2\n")
    with pytest.raises(DataError, match="at least 2"):
        word_similarity(Vectors(["a"], np.ones((1, 2), np.float32)), tmp_path / "one.txt")


def test_question_before_section_names_line(tmp_path):
    (tmp_path / "q.txt").write_text("a b c d\n")
    with pytest.raises(DataError, match=r"q\.txt:1"):
        analogies(Vectors(["a"], np.ones((1, 2), np.float32)), tmp_path / "q.txt")


def test_unknown_method_and_missing_file(tmp_path):
    v = Vectors(["a"], np.ones((1, 2), np.float32))
    with pytest.raises(ConfigError, match="3cosadd"):
        analogies(v, "google", method="nope")
    with pytest.raises(DataError, match="no such file"):
        word_similarity(v, tmp_path / "missing.txt")


def test_builtin_datasets_and_table(fixture):
    vectors, _, qa, pairs = fixture
    sim = word_similarity(vectors, pairs)
    ana = analogies(vectors, qa)
    table = format_results([sim], [ana])
    assert "TOTAL" in table and "pairs.tsv" in table
    assert f"{ana.correct:>8d}" in table
    assert not math.isnan(sim.spearman)


def test_cli_intrinsic_prints_and_writes_json(fixture, tmp_path, capsys):
    from vecgraft.cli import main

    vectors, _, qa, pairs = fixture
    path = tmp_path / "vecs.txt"
    with open(path, "w", encoding="utf-8") as fh:
        for w, row in zip(vectors.words, vectors.matrix):
            fh.write(w + " " + " ".join(f"{x:.9g}" for x in row) + "\n")
    out = tmp_path / "scores.json"
    png = tmp_path / "map.png"
    code = main(
        [
            "intrinsic",
            str(path),
            "--similarity",
            str(pairs),
            "--analogies",
            str(qa),
            "--json",
            str(out),
            "--neighbors",
            "w1",
            "-k",
            "3",
            "--map",
            str(png),
            "--map-words",
            "w1",
            "w2",
            "w3",
            "w4",
            "w5",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    expected = analogies(vectors, qa)
    assert f"{'TOTAL':<40} {expected.correct:>8d} {expected.total:>6d}" in printed
    assert printed.count("w1: ") == 1
    data = json.loads(out.read_text())
    assert data["analogies"][0]["correct"] == expected.correct
    assert data["similarity"][0]["spearman"] == pytest.approx(
        word_similarity(vectors, pairs).spearman, abs=1e-6
    )
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_oov_ratio_is_a_percentage_and_its_json_says_so(tmp_path, capsys):
    # compare.json's and --json's oov_ratio read 0.1001 for 1 missing pair of 999: gensim's
    # percentage (a contract), which only a docstring said
    from pathlib import Path

    from vecgraft.cli import main

    vectors = Vectors(["a", "b", "c"], np.array([[1, 0], [1, 1], [0, 1]], dtype=np.float32))
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("a\tb\t1.0\nb\tc\t2.0\na\tc\t3.0\na\tzz\t4.0\n", encoding="utf-8")
    result = word_similarity(vectors, pairs)
    assert (result.pairs, result.oov, result.oov_ratio) == (3, 1, 25.0)  # 1 of 4: 25, not 0.25
    with pytest.raises(SystemExit):
        main(["intrinsic", "--help"])
    assert "oov_ratio: percent of the set left out" in " ".join(capsys.readouterr().out.split())
    readme = " ".join((Path(__file__).parents[1] / "README.md").read_text().split())
    assert "keep that share as `oov_ratio`, in percent as gensim's" in readme


def test_cli_missing_dataset_is_one_line(tmp_path, capsys):
    from vecgraft.cli import main

    path = tmp_path / "v.txt"
    path.write_text("a 1 2\nb 3 4\n")
    assert main(["intrinsic", str(path), "--similarity", str(tmp_path / "nope.tsv")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope.tsv: no such file" in err[0]


@pytest.mark.parametrize("restrict_vocab", [0, -2, 2.5])
def test_restrict_vocab_below_one_is_refused(fixture, restrict_vocab):
    # -2 used to slice words[:-2]: every row but the last two took part, not the first ones
    vectors, _, qa, pairs = fixture
    with pytest.raises(ConfigError, match="restrict_vocab"):
        analogies(vectors, qa, restrict_vocab=restrict_vocab)
    with pytest.raises(ConfigError, match="restrict_vocab"):
        word_similarity(vectors, pairs, restrict_vocab=restrict_vocab)


def test_pairs_file_odd_formatting(tmp_path):
    words = ["x", "y", "z", "w"]
    m = np.array([[1, 0], [1, 1], [0, 1], [-1, 0.5]], np.float32)
    v = Vectors(words, m)
    kv = KeyedVectors(2)
    kv.add_vectors(words, m)
    body = "x\ty\t1\n\nx\tz\t0\ny z 2\ny\tz\t2\textra\nw\tx\t7\n# note\nz\tw\t3\n"
    clean = tmp_path / "clean.tsv"
    clean.write_text(body, encoding="utf-8")
    bom = tmp_path / "bom.tsv"
    bom.write_bytes(b"\xef\xbb\xbf" + body.encode())
    r = word_similarity(v, bom)
    # the BOM is not part of "x": the first pair is scored (gensim makes it OOV)
    assert (r.pairs, r.oov, r.skipped) == (4, 0, [4, 5])
    pearson, spearman, _ = kv.evaluate_word_pairs(str(clean))
    assert r.spearman == pytest.approx(spearman[0], abs=1e-6)
    assert r.pearson == pytest.approx(pearson[0], abs=1e-6)
    (tmp_path / "nan.tsv").write_text("x\ty\t1\nx\tz\tnan\ny\tz\t2\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"nan\.tsv:2: score 'nan' is not a finite number"):
        word_similarity(v, tmp_path / "nan.tsv")
    spaced = tmp_path / "spaced.txt"
    spaced.write_text("x y 1\nx z 0\ny z 2\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"spaced\.txt:1: 1 field separated by .* delimiter=None"):
        word_similarity(v, spaced)
    assert word_similarity(v, spaced, delimiter=None).pairs == 3


def test_analogy_file_with_bom(tmp_path):
    path = tmp_path / "q.txt"
    path.write_bytes(b"\xef\xbb\xbf: s\na b c d\n")  # used to be "question before section"
    v = Vectors(list("abcd"), np.eye(4, dtype=np.float32))
    assert analogies(v, path).sections[0].section == "s"


def test_cli_intrinsic_delimiter_skips_and_bad_counts(tmp_path, capsys):
    from vecgraft.cli import main

    path = tmp_path / "v.txt"
    path.write_text("a 1 0\nb 1 1\nc 0 1\nzero 0 0\n")
    pairs = tmp_path / "p.txt"
    pairs.write_text("a b 1\na c 0\nb c 2\nb c\n")
    assert main(["intrinsic", str(path), "--similarity", str(pairs)]) == 1
    assert "pass --delimiter any to split on any whitespace" in capsys.readouterr().err
    assert main(["intrinsic", str(path), "--similarity", str(pairs), "--delimiter", "any"]) == 0
    assert "1 line(s) skipped, not word1 word2 score (line 4)" in capsys.readouterr().out
    # -k 0 printed "a: (not in the vectors)"; a zero row has no neighbours, but is known
    with pytest.raises(SystemExit) as exc:  # a usage error while parsing (positive_int)
        main(["intrinsic", str(path), "--neighbors", "a", "-k", "0"])
    assert exc.value.code == 2
    assert "argument -k: must be a positive integer, got 0" in capsys.readouterr().err
    assert main(["intrinsic", str(path), "--neighbors", "zero"]) == 0
    assert "zero: (a zero vector: no direction, so no neighbours)" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["intrinsic", str(path), "--analogies", "google", "--restrict-vocab", "-1"])
    assert exc.value.code == 2
    assert "argument --restrict-vocab: must be a positive integer, got -1" in (
        capsys.readouterr().err
    )


def _gensim_cosmul(words, m, path, restrict_vocab, case_insensitive, dummy4unknown):
    """gensim's evaluate_word_analogies with most_similar_cosmul as the scorer.

    gensim 4 accepts `similarity_function` but always calls most_similar, and its
    most_similar_cosmul ignores `restrict_vocab` (it searches every row): the reference is
    built on the first `restrict_vocab` rows, as vecgraft answers from those only.
    """
    n = len(words) if restrict_vocab is None else min(restrict_vocab, len(words))
    kv = KeyedVectors(m.shape[1])
    kv.add_vectors(words[:n], m[:n])

    def cosmul(positive, negative, topn, restrict_vocab=None):
        return KeyedVectors.most_similar_cosmul(kv, positive, negative, topn)

    kv.most_similar = cosmul
    return kv.evaluate_word_analogies(
        str(path), restrict_vocab=n, case_insensitive=case_insensitive, dummy4unknown=dummy4unknown
    )


@pytest.mark.filterwarnings("ignore:Call to deprecated `init_sims`:DeprecationWarning")
@pytest.mark.parametrize(
    ("restrict_vocab", "case_insensitive", "dummy4unknown"),
    [(300000, True, False), (3000, True, True), (300000, False, False), (None, False, True)],
)
def test_3cosmul_matches_gensim_most_similar_cosmul(
    fixture, restrict_vocab, case_insensitive, dummy4unknown
):
    vectors, _, qa, _ = fixture
    score, sections = _gensim_cosmul(
        vectors.words, vectors.matrix, qa, restrict_vocab, case_insensitive, dummy4unknown
    )
    r = analogies(
        vectors,
        qa,
        method="3cosmul",
        restrict_vocab=restrict_vocab,
        case_insensitive=case_insensitive,
        dummy4unknown=dummy4unknown,
    )
    for mine, theirs in zip(r.sections, sections[:-1], strict=True):
        assert mine.section == theirs["section"]
        assert mine.correct == len(theirs["correct"])
        assert mine.total == len(theirs["correct"]) + len(theirs["incorrect"])
    assert r.accuracy == pytest.approx(score, abs=1e-12)
    assert r.correct >= 4


def test_3cosmul_column_chunks_equal_scoring_every_row_at_once(monkeypatch):
    import torch

    from vecgraft.evaluate import _intrinsic_engine as engine

    rng = np.random.default_rng(5)
    n, dim = 3000, 8
    m = rng.normal(size=(n, dim)).astype(np.float32)
    m[[7, 1500, 2999]] = 0  # zero rows are never answers, in any chunk
    # a word in several roles and questions sharing words, as in real question sets
    idx = torch.tensor(np.vstack([rng.integers(0, n, size=(300, 3)), [[3, 3, 4], [5, 6, 5]]]))
    unit = m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-30)
    s = (unit[idx.numpy()] @ unit.T + 1) / 2  # [question, role, row]
    full = s[:, 1] * s[:, 2] / (s[:, 0] + 1e-6)
    full[:, [7, 1500, 2999]] = -np.inf
    np.put_along_axis(full, idx.numpy(), -np.inf, axis=1)
    expected = np.argsort(-full, axis=1, kind="stable")[:, :5]
    # tables of 64 x 16 columns: 3000 rows are many chunks, the last one partial
    monkeypatch.setattr(engine, "_COSMUL_TABLE", 1)
    scorer = engine._AnalogyScorer(m, torch.device("cpu"))
    got = scorer.top(idx[:, 0], idx[:, 1], idx[:, 2], 5, engine.AnalogyMethod.COSMUL, 1e-6, 64)
    assert np.array_equal(np.array(got), expected)


@pytest.mark.parametrize(
    ("body", "line"),
    [(b"\x93NUMPY\x01\x00v\x00{'descr'", 1), (b"x\ty\t1\ncaf\xe9\tx\t2\n", 2)],
)
def test_dataset_not_utf8_names_file_and_line(tmp_path, body, line):
    # a .npy (or a Latin-1 export) given as a dataset was a UnicodeDecodeError traceback
    v = Vectors(["x", "y"], np.eye(2, dtype=np.float32))
    path = tmp_path / "data.tsv"
    path.write_bytes(body)
    with pytest.raises(DataError, match=rf"data\.tsv:{line}: benchmark file is not UTF-8"):
        word_similarity(v, path)
    with pytest.raises(DataError, match=rf"data\.tsv:{line}: benchmark file is not UTF-8"):
        analogies(v, path)


def test_dataset_folder_is_named_a_folder(tmp_path):
    v = Vectors(["x", "y"], np.eye(2, dtype=np.float32))
    with pytest.raises(DataError, match="is a folder, not a dataset file"):
        word_similarity(v, tmp_path)


def _pairs_file(tmp_path, body: str):
    words = ["king", "queen", "man", "woman", "cat", "dog"]
    m = np.array([[1, 0], [1, 1], [0, 1], [-1, 1], [1, -1], [2, 1]], np.float32)
    path = tmp_path / "pairs.tsv"
    path.write_text(body, encoding="utf-8")
    return Vectors(words, m), path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        # a CSV: the hint named whitespace, which does not split it either
        (
            "word1,word2,score\nking,queen,8.5\nman,woman,8.3\n",
            r"pairs\.tsv:1: 1 field separated by '\\t', expected 3 \(word1, word2, score\): "
            r"'word1,word2,score'; pass delimiter=',' for comma-separated values",
        ),
        (
            "king\tqueen\nman\twoman\n",
            r"pairs\.tsv:1: 2 fields separated by '\\t', expected 3 \(word1, word2, score\): "
            r"'king\\tqueen'$",
        ),
        (
            "king\tqueen\thigh\nman\twoman\tlow\n",
            r"pairs\.tsv:1: the score 'high' is not a number \(word1, word2, score",
        ),
        # a header line is not the example: the first data line is
        (
            "Word 1\tWord 2\tHuman\nking queen 8.5\nman woman 8.3\n",
            r"pairs\.tsv:2: 1 field .*; pass delimiter=None to split on any whitespace",
        ),
        ("", r"pairs\.tsv: no word pairs \(the file is empty or only comments\)"),
        ("# only a comment\n\n", r"pairs\.tsv: no word pairs"),
        (
            "lion\ttiger\t1\nking\tpuma\t2\n",
            # every row takes part: "first 6 rows" read as a --restrict-vocab cut
            r"pairs\.tsv: no pair can be scored: all 2 have a word not in the vectors "
            r"\(line 1: 'lion', 'tiger'\)",
        ),
        (
            "king\tqueen\t1\nking\tpuma\t2\n",
            r"pairs\.tsv: only 1 pair can be scored \(1 has a word not in the vectors; "
            r"line 2: 'king', 'puma'\), a correlation needs at least 2",
        ),
        # ties: scipy warned and every coefficient was NaN
        (
            "king\tqueen\t5\nman\twoman\t5\ncat\tdog\t5\n",
            r"pairs\.tsv: all 3 scored pairs have the same score \(5\): no correlation is defined",
        ),
        (
            "king\tqueen\t5\nking\tqueen\t7\n",
            r"pairs\.tsv: the vectors give all 2 scored pairs the same cosine \(0\.7071\): no "
            r"correlation is defined",
        ),
    ],
)
def test_pairs_file_errors_say_what_was_expected(tmp_path, body, message):
    v, path = _pairs_file(tmp_path, body)
    with pytest.raises(DataError) as info:
        word_similarity(v, path)
    assert re.search(message, str(info.value)), str(info.value)


def test_a_restricted_vocabulary_is_named_when_no_pair_is_in_it(tmp_path):
    v, path = _pairs_file(tmp_path, "king\tdog\t1\nqueen\tcat\t2\n")
    with pytest.raises(DataError) as info:
        word_similarity(v, path, restrict_vocab=3)
    assert "all 2 have a word outside the vectors' first 3 rows (of 6; restrict_vocab)" in str(
        info.value
    )


def _chinese_vectors(tmp_path):
    vec = tmp_path / "zh.txt"
    vec.write_text("".join(f"{chr(0x4E00 + i)}{chr(0x4E01 + i)} {i} 1\n" for i in range(40)))
    return vec


def test_cli_reports_each_set_the_vectors_cannot_score_and_scores_the_others(tmp_path, capsys):
    """`intrinsic --lang en` on Chinese vectors stopped at WordSim353 ("outside the vectors'
    first 4550 rows", no restriction given) without a word on SimLex-999 or Google; a set
    that is scored keeps the run going, the others are reported as not scored."""
    from vecgraft.cli import main

    vec, out = _chinese_vectors(tmp_path), tmp_path / "s.json"
    w = [f"{chr(0x4E00 + i)}{chr(0x4E01 + i)}" for i in range(6)]
    own = tmp_path / "zh-pairs.tsv"
    own.write_text(f"{w[0]}\t{w[1]}\t3\n{w[0]}\t{w[2]}\t2\n{w[0]}\t{w[5]}\t1\n")
    sets = ["--similarity", "wordsim353", "--similarity", "simlex999", "--similarity", str(own)]
    assert main(["intrinsic", str(vec), *sets, "--json", str(out)]) == 0
    said = " ".join(capsys.readouterr().out.split())
    for name in ("wordsim353.tsv", "simlex999.txt"):
        assert f"{name}: not scored: no pair can be scored: all" in said
    assert "have a word not in the vectors" in said and "first 40 rows" not in said
    assert "zh-pairs.tsv 1.0000 " in said  # the scored set's row
    assert ("note: these vectors look Chinese: --lang zh scores them on the Chinese CA8 "
            "analogy sets") in said  # fmt: skip
    payload = json.loads(out.read_text())
    assert [s["dataset"] for s in payload["similarity"]] == [str(own)]
    # 'dataset' names a set as 'similarity' does (as given), 'path' is the file read
    unscored = payload["unscored"]
    assert [u["dataset"] for u in unscored] == ["wordsim353", "simlex999"]
    assert [os.path.basename(u["path"]) for u in unscored] == ["wordsim353.tsv", "simlex999.txt"]
    assert os.path.isabs(unscored[0]["path"])
    assert unscored[0]["error"].startswith("no pair can be scored: all 353 have")


def test_cli_fails_when_no_set_and_no_analogy_question_can_be_scored(tmp_path, capsys):
    """`--lang en` on Chinese vectors: both similarity sets unscorable and Google's analogies
    cover none of their questions exited 0 (it exited 1 before the sets were reported one
    by one); the error names every set."""
    from vecgraft.cli import main

    vec, out = _chinese_vectors(tmp_path), tmp_path / "s.json"
    assert main(["intrinsic", str(vec), "--lang", "en", "--json", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "no set can be scored: " in err[0] and "wordsim353.tsv: no pair" in err[0]
    assert "simlex999.txt: no pair" in err[0]
    assert "google: none of its 19544 questions can be scored" in err[0]
    assert "--lang zh" in err[0] and not out.exists()


def test_cli_fails_when_no_set_can_be_scored_and_names_each(tmp_path, capsys):
    from vecgraft.cli import main

    vec = _chinese_vectors(tmp_path)
    args = ["intrinsic", str(vec), "--similarity", "wordsim353", "--similarity", "simlex999"]
    assert main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "no set can be scored: " in err[0] and "wordsim353.tsv: no pair" in err[0]
    assert "simlex999.txt: no pair" in err[0] and "--lang zh" in err[0]
    english = tmp_path / "en.txt"
    english.write_text("xyzzy 1 0\nplugh 1 1\n")
    assert main(["intrinsic", str(english), "--similarity", "wordsim353"]) == 1
    err = capsys.readouterr().err
    assert "wordsim353.tsv: no pair can be scored" in err and "--lang zh" not in err


def test_cli_pairs_errors_are_one_line_with_the_flag(tmp_path, capsys):
    from vecgraft.cli import main

    v, path = _pairs_file(tmp_path, "word1,word2,score\nking,queen,8.5\nman,woman,8.3\n")
    vec = tmp_path / "v.txt"
    vec.write_text("".join(f"{w} {a} {b}\n" for w, (a, b) in zip(v.words, v.matrix)))
    assert main(["intrinsic", str(vec), "--similarity", str(path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].endswith("; pass --delimiter , for comma-separated values")
    path.write_text("king\tqueen\t5\nman\twoman\t5\ncat\tdog\t5\n", encoding="utf-8")
    assert main(["intrinsic", str(vec), "--similarity", str(path)]) == 1
    captured = capsys.readouterr()
    assert "Warning" not in captured.err and "same score (5)" in captured.err
    assert main(["intrinsic", str(vec), "--similarity", str(path), "--dummy4unknown"]) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", r"q\.txt: no analogy questions \(the file is empty\); expected"),
        (
            "king,queen,man,woman\n",
            r"q\.txt: no analogy questions; expected ': section' lines, then lines of four words "
            r"\(a b c expected\): line 1 is 'king,queen,man,woman'",
        ),
        (": s\nking queen man\n", r"q\.txt: no analogy questions; .*: line 2 is 'king queen man'"),
        ("king\tqueen\t8.5\n", r"line 1 is 'king\\tqueen\\t8\.5'"),  # a pairs file
    ],
)
def test_analogy_file_without_questions_is_an_error(tmp_path, body, message):
    # it printed a table of 0 / 0 and exited 0
    path = tmp_path / "q.txt"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        analogies(Vectors(["king"], np.ones((1, 2), np.float32)), path)


def test_cli_notes_analogy_sets_the_vectors_do_not_cover(tmp_path, capsys):
    from vecgraft.cli import main

    vec = tmp_path / "zh.txt"
    vec.write_text("".join(f"{chr(0x4E00 + i)}{chr(0x4E01 + i)} {i} 1\n" for i in range(40)))
    questions = tmp_path / "en.txt"
    questions.write_text(": s\nking queen man woman\nman woman boy girl\n", encoding="utf-8")
    assert main(["intrinsic", str(vec), "--analogies", str(questions)]) == 0
    out = capsys.readouterr().out
    assert (
        f"note: {questions}: the vectors cover none of its 2 questions (each needs all four "
        "words in the vectors)" in out  # no --restrict-vocab: every row takes part
    )
    assert "note: these vectors look Chinese: --lang zh scores them" in out
    restricted = ["--analogies", str(questions), "--restrict-vocab", "3"]
    assert main(["intrinsic", str(vec), *restricted]) == 0
    assert (
        "(each needs all four words among the vectors' first 3 rows (of 40; restrict_vocab))"
        in capsys.readouterr().out
    )
    english = tmp_path / "en-vectors.txt"
    english.write_text("king 1 0\nqueen 1 1\n")
    assert main(["intrinsic", str(english), "--analogies", "ca8-semantic"]) == 0
    assert (
        "note: ca8-semantic: the vectors cover none of its 7636 questions (each needs its "
        "first three words in the vectors)" in capsys.readouterr().out
    )


def test_analogy_lines_not_four_words_are_reported(tmp_path, capsys):
    # gensim skips them, saying so only in its log; vecgraft skipped them without a word
    from vecgraft.cli import main

    words = ["a", "b", "c", "d"]
    vec = tmp_path / "v.txt"
    vec.write_text("".join(f"{w} {i} 1\n" for i, w in enumerate(words)))
    path = tmp_path / "q.txt"
    path.write_text(": s\na b c d\n\na,b,c,d\na b c\nb a d c\n", encoding="utf-8")
    r = analogies(Vectors(words, np.eye(4, dtype=np.float32)), path)
    assert r.skipped == [4, 5] and r.questions == 2
    assert json.loads(json.dumps(r.to_dict()))["skipped"] == [4, 5]
    assert main(["intrinsic", str(vec), "--analogies", str(path)]) == 0
    assert (
        f"note: {path}: 2 line(s) skipped, not four words a b c expected (line 4, 5)"
        in capsys.readouterr().out
    )
    assert analogies(Vectors(words, np.eye(4, dtype=np.float32)), "ca8-semantic").skipped == []


def test_cli_intrinsic_neighbors_names_a_case_variant(tmp_path, capsys):
    # `vecgraft neighbors King` said where 'king' is; `intrinsic --neighbors King` did not
    from vecgraft.cli import main

    vec = tmp_path / "v.txt"
    vec.write_text("king 1 0\nqueen 1 1\nman 0 1\n")
    assert main(["intrinsic", str(vec), "--neighbors", "King", "-k", "1"]) == 0
    out = capsys.readouterr().out
    assert "King: (not in the vectors) (King is there as 'king': lookups are case-sensitive)" in out


def test_cli_intrinsic_neighbors_answers_by_the_simplified_form(tmp_path, capsys):
    # as `vecgraft neighbors 電腦` does on simplified vectors
    pytest.importorskip("opencc")
    from vecgraft.cli import main

    vec = tmp_path / "v.txt"
    vec.write_text("电脑 1 0\n软件 1 1\napp 0 1\n", encoding="utf-8")
    assert main(["intrinsic", str(vec), "--neighbors", "電腦", "Ａｐｐ", "-k", "1"]) == 0
    out = capsys.readouterr().out
    assert "電腦: (not in the vectors: its simplified form 电脑) 软件 0.707\n" in out
    # the half-width form looked up too is named, as `vecgraft neighbors` names it
    assert ("Ａｐｐ: (not in the vectors, nor its half-width form App) (Ａｐｐ is there in "
            "half-width form as 'app': ") in out  # fmt: skip


def test_duplicated_reversed_and_tied_pairs_match_gensim(tmp_path):
    # WordSim353 itself lists money/cash twice and bank/money both ways: both count each line
    words = ["x", "y", "z", "w", "v"]
    m = np.array([[1, 0], [1, 1], [0, 1], [-1, 0.5], [0.3, -1]], np.float32)
    kv = KeyedVectors(2)
    kv.add_vectors(words, m)
    path = tmp_path / "p.tsv"
    lines = ["x\ty\t3", "x\ty\t3", "y\tx\t3", "z\tw\t1", "w\tv\t1", "v\tx\t2", "X\tZ\t5"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    pearson, spearman, oov = kv.evaluate_word_pairs(str(path))
    r = word_similarity(Vectors(words, m), path)
    assert r.pairs == 7 and r.oov == 0 and oov == 0
    assert (r.spearman, r.spearman_pvalue) == (spearman[0], spearman[1])
    assert (r.pearson, r.pearson_pvalue) == (pearson[0], pearson[1])


def test_map_without_matplotlib_fails_before_the_load(tmp_path, monkeypatch, capsys):
    # the word map came last: a user without the plot extra waited for the vectors to load
    # and every score to run (minutes on a large file) before the missing-extra error
    import sys

    import vecgraft.io
    from vecgraft.cli import main

    path = tmp_path / "v.txt"
    path.write_text("a 1 0\nb 0 1\nc 1 1\n", encoding="utf-8")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError

    def no_load(*args, **kwargs):
        raise AssertionError("vectors loaded before the missing extra was reported")

    monkeypatch.setattr(vecgraft.io, "load", no_load)
    args = ["intrinsic", str(path), "--neighbors", "a", "b", "c", "--map", str(tmp_path / "m.png")]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert install_hint("plot") in captured.err
    assert captured.out == ""


def test_a_section_with_no_question_answered_reads_n_a():
    # "history 0 0 0.00%": 0 of 0 is no accuracy
    from vecgraft.evaluate._intrinsic_results import AnalogyResult, SectionResult

    ana = AnalogyResult(dataset="ca8", method="3cosadd", correct=1, total=2, oov=3,
                        questions=5, restrict_vocab=None, case_insensitive=False,
                        dummy4unknown=False, seconds=0.1,
                        sections=[SectionResult("history", 0, 0, 3),
                                  SectionResult("people", 1, 2, 2)],
                        convention="ca8", skipped=0)  # fmt: skip
    lines = format_results([], [ana]).splitlines()
    history = next(line for line in lines if line.startswith("history"))
    assert history.split()[1:4] == ["0", "0", "n/a"]
    assert "50.00%" in next(line for line in lines if line.startswith("people"))


def test_cli_intrinsic_neighbors_lowercases_the_word_for_lowercased_vectors(tmp_path, capsys):
    # as `vecgraft neighbors King` does on vectors pretrained with --lower
    import json

    from vecgraft.cli import main

    vec = tmp_path / "v.txt"
    vec.write_text("king 1 0\nqueen 1 1\nman 0 1\n")
    meta = {"tokenizer": {"kind": "regex", "lower": True}}
    (tmp_path / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    assert main(["intrinsic", str(vec), "--neighbors", "King", "Kingg", "-k", "1"]) == 0
    out = capsys.readouterr().out
    assert "King: (lowercased, as the vectors were trained: king) queen 0.707\n" in out
    assert "Kingg: (lowercased, as the vectors were trained: kingg) (not in the vectors)\n" in out


def _saved_with_questions_thrice(fixture, path):
    """The fixture's vectors saved to `path`, and its analogy file three times over (720)."""
    vectors, _, qa, _ = fixture
    vectors.save(path)
    three = path.parent / "qa3.txt"
    three.write_text(qa.read_text(encoding="utf-8") * 3, encoding="utf-8")
    return vectors, path, three


def test_cli_intrinsic_prints_sparse_plain_progress_lines(fixture, tmp_path, capsys, monkeypatch):
    # scoring analogies on 300-d vectors takes minutes and printed nothing on stderr; now a
    # plain line every 30 s (here every batch of 256 questions), none from the library
    from vecgraft.cli import main
    from vecgraft.evaluate import intrinsic

    vectors, path, three = _saved_with_questions_thrice(fixture, tmp_path / "vecs.npy")
    args = ["intrinsic", str(path), "--analogies", str(three)]
    assert main(args) == 0
    assert "analogy questions" not in capsys.readouterr().err  # quicker than 30 s: no line
    monkeypatch.setattr(intrinsic, "ANALOGY_LINE_SECONDS", 0.0, raising=False)
    assert main(args) == 0
    lines = [ln.rsplit(" (", 1)[0] for ln in capsys.readouterr().err.splitlines()]
    assert lines == [f"analogy questions {n}/720" for n in (256, 512, 720)]
    analogies(vectors, three)
    assert capsys.readouterr().err == ""


def test_cli_intrinsic_no_progress_writes_no_progress_line(fixture, tmp_path, capsys, monkeypatch):
    # the analogies' lines and a large text file's load lines could not be turned off
    from vecgraft.cli import main
    from vecgraft.evaluate import intrinsic
    from vecgraft.io import _rows, _textparse

    _, path, three = _saved_with_questions_thrice(fixture, tmp_path / "vecs.txt")
    monkeypatch.setattr(intrinsic, "ANALOGY_LINE_SECONDS", 0.0, raising=False)
    monkeypatch.setattr(_textparse, "BIG_LOAD_BYTES", 0, raising=False)
    monkeypatch.setattr(_rows, "LOAD_LINE_SECONDS", 0.0, raising=False)
    assert main(["intrinsic", str(path), "--analogies", str(three), "--no-progress"]) == 0
    assert capsys.readouterr().err == ""
    loud = tmp_path / "loud.txt"  # a file not cached yet: its text is read, as vecs.txt's was
    loud.write_bytes(path.read_bytes())
    assert main(["intrinsic", str(loud), "--analogies", str(three)]) == 0
    err = capsys.readouterr().err
    assert "analogy questions 720/720" in err and "reading loud.txt" in err


def _screened_scorer(monkeypatch, n: int = 3000, dim: int = 8):
    """A scorer over random rows (three of them zero) whose 3CosAdd takes the bf16 screen,
    and the unit rows and padded transpose it was built from before (`_unit_rows`)."""
    import torch

    from vecgraft.evaluate import _intrinsic_engine as engine
    from vecgraft.evaluate import intrinsic
    from vecgraft.evaluate._intrinsic_similarity import _unit_rows

    monkeypatch.setattr(intrinsic, "_bf16_fast", lambda: True)  # any CPU computes bf16
    monkeypatch.setattr(engine, "_CHUNK", engine._BLOCK * 16)  # several chunks, one partial
    monkeypatch.setattr(engine, "_STRIDE", 16)
    m = np.random.default_rng(7).normal(size=(n, dim)).astype(np.float32) * 3
    m[[0, 1500, n - 1]] = 0
    unit = torch.from_numpy(_unit_rows(m))
    unit_t = torch.zeros(dim, 3 * engine._CHUNK)
    unit_t[:, :n] = unit.T
    return engine._AnalogyScorer(m, torch.device("cpu")), unit, unit_t


def test_bf16_screen_holds_no_float32_copy_beyond_the_unit_rows(monkeypatch):
    # the scorer kept the unit rows, their padded transpose and the rows again in the
    # screen's block order: with the caller's matrix, 2.3 GB peak for 400k x 300
    import torch

    scorer, unit, unit_t = _screened_scorer(monkeypatch)
    pieces = scorer.screen()
    assert pieces is not None
    held = [t for v in vars(scorer).values() for t in (v if isinstance(v, list) else [v])]
    floats = [t for t in held if isinstance(t, torch.Tensor) and t.dtype == torch.float32]
    assert sum(t.numel() for t in floats) == unit_t.numel()  # one padded copy of the rows
    # bit for bit what the screen held before: the rows, the bf16 pieces, the transpose
    assert torch.equal(scorer.rows(torch.arange(3000)), unit)
    old = [c.contiguous() for c in unit_t.to(torch.bfloat16).split(len(pieces[0][0]), 1)]
    assert len(pieces) == len(old) == 3
    assert all(torch.equal(p, o) and p.is_contiguous() for p, o in zip(pieces, old))
    assert torch.equal(scorer.unit_t, unit_t)


def test_bf16_screen_ranks_as_the_float32_product(monkeypatch):
    import torch

    from vecgraft.evaluate import _intrinsic_engine as engine

    scorer, u, unit_t = _screened_scorer(monkeypatch)
    rng = np.random.default_rng(8)
    idx = torch.tensor(np.vstack([rng.integers(0, 3000, size=(200, 3)), [[2999, 5, 6]]]))
    rescore, passes = scorer._rescore, []
    monkeypatch.setattr(scorer, "_rescore", lambda *a: passes.append(1) or rescore(*a))
    got = scorer.top(idx[:, 0], idx[:, 1], idx[:, 2], 5, engine.AnalogyMethod.COSADD)
    assert len(passes) == 2  # both exact passes ran: the screen was not too dense to use
    query = u[idx[:, 1]] + u[idx[:, 2]] - u[idx[:, 0]]
    query = query / query.norm(dim=1, keepdim=True).clamp_min(1e-30)
    scores = query @ unit_t
    scorer._exclude(scores, (idx[:, 0], idx[:, 1], idx[:, 2]))
    assert got == torch.topk(scores, 5, dim=1).indices.tolist()
    assert not any({0, 1500, 2999} & set(row) for row in got)  # zero rows: never answers


@pytest.mark.parametrize("stored_nfd", [False, True])
def test_decomposed_words_are_compared_in_nfc(tmp_path, stored_nfd):
    # "cafe" + U+0301 in a dataset (or in the table) was out of vocabulary for "café"
    nfc, nfd = "café", "cafe\u0301"
    words = ["x", "y", nfd if stored_nfd else nfc, "été"]
    m = np.array([[1, 0], [1, 1], [0, 1], [1, 2]], np.float32)
    asked = nfc if stored_nfd else nfd
    (tmp_path / "p.txt").write_text(f"x\ty\t1\nx\t{asked}\t0\ny\t{asked}\t2\n")
    r = word_similarity(Vectors(words, m), tmp_path / "p.txt")
    assert r.pairs == 3 and r.oov == 0
    assert r.spearman == pytest.approx(0.8660254, abs=1e-6)
    (tmp_path / "q.txt").write_text(f": s\nx y {asked} été\n")
    r = analogies(Vectors(words, m), tmp_path / "q.txt")
    assert (r.total, r.correct) == (1, 1)


def test_nfc_forms_follow_row_order_and_restrict_vocab():
    from vecgraft.evaluate.intrinsic import _ok_vocab

    nfd = "cafe\u0301"
    eye = np.eye(3, dtype=np.float32)
    # case-insensitive: "CAFÉ" is row 1's own key (gensim's row); NFD row 0 keeps its key
    ok = _ok_vocab(Vectors([nfd, "CAFÉ", "x"], eye), None, True)
    assert (ok["CAFÉ"], ok[nfd.upper()]) == (1, 0)
    # no twin: the earliest decomposed row takes the NFC key
    assert _ok_vocab(Vectors(["x", nfd, nfd.upper()], eye), None, True)["CAFÉ"] == 1
    # the composed twin beyond restrict_vocab is not a row taken: the NFD row answers
    twin = Vectors([nfd, "x", "café"], eye)
    assert _ok_vocab(twin, 2, False)["café"] == 0
    assert _ok_vocab(twin, None, False)["café"] == 2  # a row stored in that form wins


# a decomposed "café" at row 0 and its composed twin at row 1 (cases D and E of the report)
_NFD, _NFC = "cafe\u0301", "café"
_TWINS = [_NFD, _NFC, "x", "y", "z"]


@pytest.mark.parametrize("case_insensitive", [True, False])
@pytest.mark.parametrize(("asked", "row"), [(_NFD, 0), (_NFC, 1)])
def test_twin_rows_similarity_uses_the_form_as_written(tmp_path, asked, row, case_insensitive):
    # The dataset's own form is the row, in both case modes, as gensim does. The readers
    # made every word NFC (an NFD dataset word got row 1), and case-insensitively the NFD
    # row won the NFC key as an "earlier case variant" (an NFC dataset word got row 0).
    m = np.array([[1, 0], [0, 1], [1, 0], [0, 1], [1, 1]], np.float32)
    (tmp_path / "p.txt").write_text(f"{asked}\tx\t1\n{asked}\ty\t2\nx\tz\t1.5\n")
    r = word_similarity(Vectors(_TWINS, m), tmp_path / "p.txt", case_insensitive)
    # row 1 = [0, 1]: cosines 0, 1, .71 rank as the scores; row 0 = [1, 0] reverses them
    assert (r.oov, r.spearman) == (0, 1.0 if row == 1 else -1.0)
    g = KeyedVectors(2)
    g.add_vectors(_TWINS, m)
    expected = g.evaluate_word_pairs(tmp_path / "p.txt", case_insensitive=case_insensitive)
    assert r.pearson == pytest.approx(float(expected[0][0]), abs=1e-9)


@pytest.mark.parametrize("case_insensitive", [True, False])
@pytest.mark.parametrize("answer", [0, 1])
@pytest.mark.parametrize("asked", [_NFD, _NFC])
def test_twin_rows_analogy_answer_is_the_row_of_the_form_as_written(
    tmp_path, asked, answer, case_insensitive
):
    # y + z - x = [0, 1, 1] is row `answer`: right only when the expected word, as written,
    # is that row (gensim compares the strings); both were NFC and so always "right"
    m = np.array([[0, 0, 1], [0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 1]], np.float32)
    m[answer] = [0, 1, 1]
    (tmp_path / "q.txt").write_text(f": s\nx y z {asked}\n")
    r = analogies(Vectors(_TWINS, m), tmp_path / "q.txt", case_insensitive=case_insensitive)
    assert (r.total, r.correct) == (1, int(asked == _TWINS[answer]))
    g = KeyedVectors(3)
    g.add_vectors(_TWINS, m)
    score, _ = g.evaluate_word_analogies(tmp_path / "q.txt", case_insensitive=case_insensitive)
    assert r.correct == score


@pytest.mark.parametrize("case_insensitive", [True, False])
@pytest.mark.parametrize(("stored", "asked"), [(_NFD, _NFC), (_NFC, _NFD)])
def test_other_normal_form_is_still_found_in_both_case_modes(
    tmp_path, stored, asked, case_insensitive
):
    # gensim calls the pair OOV; vecgraft finds the one row in the other form (cases A and C)
    words = ["x", stored, "y", "z"]
    m = np.array([[1, 0], [0, 1], [0, 1], [1, 1]], np.float32)
    (tmp_path / "p.txt").write_text(f"{asked}\tx\t1\n{asked}\ty\t2\nx\tz\t1.5\n")
    r = word_similarity(Vectors(words, m), tmp_path / "p.txt", case_insensitive)
    assert (r.oov, r.spearman) == (0, 1.0)
    (tmp_path / "q.txt").write_text(f": s\nx z y {asked}\n")  # z + y - x = [0, 2]: row 1
    r2 = analogies(Vectors(words, m), tmp_path / "q.txt", case_insensitive=case_insensitive)
    assert (r2.total, r2.correct) == (1, 1)


@pytest.mark.parametrize(
    ("words", "restrict_vocab", "lines", "correct"),
    [
        # the first 3 rows are the question words: gensim's most_similar drops them and
        # answers nothing (wrong), where the last of them used to be taken as the answer
        (["a", "b", "c", "d", "e"], 3, ["a b c a", "a b c b", "a b c c"], 0),
        (["SS", "Ij", "QR", "ab", "cd"], 3, ["IJ ß QR QR", "QR ß IJ IJ", "ß IJ QR SS"], 0),
        # a case variant of a question word is a candidate of its own row: skipped as a
        # question word, yet left as gensim's last `predicted`, so "a b c A" counts correct
        (["a", "A", "b", "c", "d"], 4, ["a b c A", "a b c b"], 1),
    ],
)
def test_analogies_with_only_question_words_in_restrict_vocab_match_gensim(
    tmp_path, words, restrict_vocab, lines, correct
):
    m = np.random.default_rng(0).normal(size=(len(words), 4)).astype(np.float32)
    (tmp_path / "q.txt").write_text(": s\n" + "\n".join(lines) + "\n", encoding="utf-8")
    r = analogies(Vectors(words, m), tmp_path / "q.txt", restrict_vocab=restrict_vocab)
    g = KeyedVectors(4)
    g.add_vectors(words, m)
    _, sections = g.evaluate_word_analogies(tmp_path / "q.txt", restrict_vocab=restrict_vocab)
    assert (r.total, r.correct) == (len(lines), correct)
    assert r.correct == len(sections[-1]["correct"])


def test_cli_intrinsic_neighbors_says_a_fasttext_vector_is_built_from_subwords(capsys):
    # "ｇｏｖｅｒｎｍｅｎｔ: council 0.9…" read as the neighbours of a word the vectors had;
    # `vecgraft neighbors` said it was unseen and that its half-width form is there
    pytest.importorskip("gensim")
    from gensim.test.utils import datapath

    from vecgraft.cli import main

    argv = ["intrinsic", datapath("lee_fasttext_new.bin"), "--neighbors", "ｇｏｖｅｒｎｍｅｎｔ"]
    assert main([*argv, "-k", "1"]) == 0
    said = "(unseen: built from subwords; its half-width form government is in the vectors)"
    assert f"\nｇｏｖｅｒｎｍｅｎｔ: {said} " in capsys.readouterr().out


@pytest.mark.filterwarnings("ignore:Call to deprecated `init_sims`:DeprecationWarning")
@pytest.mark.parametrize(("method", "correct"), [("3cosadd", 1), ("3cosmul", 0)])
def test_questions_asked_with_a_zero_vector_are_wrong_as_in_gensim(tmp_path, method, correct):
    # a zero row as a, b or c: gensim's unit vector of it is 0 / 0 = NaN, every score NaN, and
    # its answer the row numpy's partition of NaNs puts first (here one of the w rows: wrong);
    # vecgraft read the row as no contribution and answered from the other two (GloVe 6B 50d
    # with "king" zeroed, restrict 20000: 6174 vs gensim's 6166 of 12042)
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(200)] + ["zero", "a", "b", "c", "d"]
    m = rng.normal(size=(len(words), 6)).astype(np.float32)
    m[200] = 0
    a, b, c, d = (words.index(w) for w in "abcd")
    m[d] = m[c] + m[b] - m[a]
    m[c] = m[d] - m[b]  # "zero b c d" (b + c - 0 = d) is solved when the zero row drops out
    qa = tmp_path / "q.txt"
    qa.write_text(": s\nzero b c d\na zero c b\nb c zero a\na b c d\n", encoding="utf-8")
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "3cosadd":
            g = KeyedVectors(6)
            g.add_vectors(words, m)
            _, sections = g.evaluate_word_analogies(qa)
        else:
            _, sections = _gensim_cosmul(words, m, qa, 300000, True, False)
    r = analogies(Vectors(words, m), qa, method=method)
    total = sections[-1]
    assert (len(total["correct"]), len(total["incorrect"])) == (correct, 4 - correct)
    assert (r.total, r.correct) == (4, correct)
    # CA8's script: NaN everywhere but the question words' zeros, so it answers one of them
    ca8 = analogies(Vectors(words, m), qa, method=method, convention="ca8")
    assert (ca8.total, ca8.correct) == (4, correct)


def test_cli_intrinsic_neighbors_alone_says_the_built_in_sets_were_not_run(tmp_path, capsys):
    # --help says the built-in sets run with no dataset flag; --neighbors alone skipped them
    # silently, and --json wrote empty lists announced as "scores written"
    from vecgraft.cli import main

    vec = tmp_path / "v.txt"
    vec.write_text("king 1 0\nqueen 1 1\nman 0 1\n")
    out = tmp_path / "s.json"
    assert main(["intrinsic", str(vec), "--neighbors", "king", "-k", "1", "--json", str(out),
                 "--lang", "en"]) == 0  # fmt: skip
    said = capsys.readouterr().out
    assert ("note: the built-in sets were not run (--neighbors and --map only look at the "
            "space); add --similarity wordsim353 --similarity simlex999 --analogies google "
            "to score them too") in said  # fmt: skip
    assert f"{out} written with no scores: no set was scored" in said
    assert "scores written" not in said
    assert json.loads(out.read_text())["similarity"] == []
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("king\tqueen\t8\nking\tman\t5\nqueen\tman\t3\n")
    assert main(["intrinsic", str(vec), "--neighbors", "king", "-k", "1",
                 "--similarity", str(pairs), "--json", str(out)]) == 0  # fmt: skip
    said = capsys.readouterr().out
    assert "not run" not in said and f"scores written to {out}" in said
