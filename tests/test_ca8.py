"""CA8 analogies: the packaged sets, the CA8 authors' convention and gensim's, by hand."""

from __future__ import annotations

import numpy as np
import pytest
from gensim.models import KeyedVectors

from vecgraft import Vectors
from vecgraft.errors import ConfigError
from vecgraft.evaluate.datasets import dataset_path, read_analogies
from vecgraft.evaluate.intrinsic import analogies, clear_analogy_cache


def test_packaged_ca8_sets_parse_with_their_sections():
    morph = read_analogies("ca8-morphological")
    sem = read_analogies("ca8-semantic")
    assert len(morph) == 10177 and len(sem) == 7636  # Li et al. 2018, table 1
    assert list(dict.fromkeys(q.section for q in morph)) == ["A", "prefix", "AB", "suffix"]
    assert list(dict.fromkeys(q.section for q in sem)) == [
        "geography",
        "nature",
        "history",
        "people",
    ]
    first = morph[0]
    assert (first.a, first.b, first.c, first.expected) == ("避", "避一避", "补", "补一补")
    notice = dataset_path("ca8-semantic").with_name("CA8_NOTICE.txt").read_text("utf-8")
    assert "Apache License 2.0" in notice and "P18-2023" in notice


# Hand-made vectors (unit length where it matters) and questions whose answers are worked
# out in the comments.
WORDS = ["男", "女", "王", "后", "猫", "狗"]
MATRIX = np.array(
    [[1, 0, 0], [0, 1, 0], [1, 0, 1], [0, 1, 1], [0, 0, 1], [-1, -1, 0]], np.float32
)
QUESTIONS = """: 人
男 女 王 后
男 女 王 鸭
男 鸭 王 后
: 动物
猫 狗 男 女
"""


def test_ca8_convention_by_hand(tmp_path):
    # 男 女 王 ?: q = 女 + 王/√2 - 男 = (-.293, 1, .707); q.后/√2 = 1.207, q.猫 = .707,
    #   q.狗 = -.5 -> 后, correct.
    # 男 女 王 鸭: first three known -> seen (鸭 is unknown, so it is wrong), gensim skips it.
    # 男 鸭 王 后: 鸭 unknown among the first three -> not seen, skipped by both.
    # 猫 狗 男 ?: q = 狗/√2 + 男 - 猫 = (.293, -.707, -1); 女 -.707, 王 -.5, 后 -1.207 -> 王,
    #   wrong.
    path = tmp_path / "q.txt"
    path.write_text(QUESTIONS, encoding="utf-8")
    v = Vectors(WORDS, MATRIX)
    r = analogies(v, path, convention="ca8")
    assert r.convention == "ca8" and not r.case_insensitive
    assert (r.correct, r.total, r.questions, r.oov) == (1, 3, 4, 1)
    people, animals = r.sections
    assert (people.correct, people.total, people.questions) == (1, 2, 3)
    assert people.coverage == pytest.approx(2 / 3)
    assert (animals.correct, animals.total, animals.coverage) == (0, 1, 1.0)
    g = analogies(v, path, convention="gensim")
    assert (g.correct, g.total, g.oov) == (1, 2, 2)
    assert r.to_dict()["sections"][0]["coverage"] == pytest.approx(2 / 3)


def test_ca8_answers_a_question_word_when_every_score_is_below_zero(tmp_path):
    # A=(1,0), B≈(-1,.1), C≈(-1,-.1), D≈(1,.05): q = B + C - A ≈ (-2.99, 0), so q.D ≈ -2.99.
    # CA8's script zeroes the question words' scores (cos mapped to (cos+1)/2, so D scores
    # (q.D + 1)/2 < 0) and np.nanargmax returns the first zero: row 0, "A". With "A" as the
    # expected word the script counts the question correct; gensim answers D.
    words = ["A", "B", "C", "D"]
    m = np.array([[1, 0], [-1, 0.1], [-1, -0.1], [1, 0.05]], np.float32)
    path = tmp_path / "q.txt"
    path.write_text(": s\nA B C A\nA B C D\n", encoding="utf-8")
    v = Vectors(words, m)
    ca8 = analogies(v, path, convention="ca8")
    assert (ca8.correct, ca8.total) == (1, 2)
    gensim = analogies(v, path, convention="gensim", case_insensitive=False)
    assert (gensim.correct, gensim.total) == (1, 2)
    assert _reference(words, m, path.read_text("utf-8"), 0)["add"] == [(1, 2, 2)]


def _reference(words, matrix, text, topn):
    """CA8's rules as stated in its evaluation script, one question at a time in numpy.

    Returns per method a list of (correct, seen, total) per section, in file order.
    """
    iw = words[:topn] if topn else list(words)
    wi = {w: i for i, w in enumerate(iw)}
    m = matrix[: len(iw)].astype(np.float32)
    m = m / np.sqrt((m * m).sum(axis=1))[:, None]
    out = {"add": [], "mul": []}
    sections = []
    for line in text.splitlines():
        parts = line.split()
        if parts[0] == ":":
            sections.append([])
            continue
        sections[-1].append(parts)
    for qs in sections:
        counts = {"add": 0, "mul": 0}
        seen = 0
        for a, b, c, d in qs:
            if any(w not in wi for w in (a, b, c)):
                continue
            seen += 1
            sa, sb, sc = ((m[[wi[a], wi[b], wi[c]]] @ m.T) + 1) / 2
            add = -sa + sb + sc
            mul = sb * sc / (sa + 0.01)
            for name, s in (("add", add), ("mul", mul)):
                s[[wi[a], wi[b], wi[c]]] = 0
                counts[name] += int(iw[int(np.nanargmax(s))] == d)
        for name in out:
            out[name].append((counts[name], seen, len(qs)))
    return out


@pytest.fixture(scope="module")
def planted():
    """Random Chinese-looking words with planted analogies, OOV 4th and 1st words."""
    rng = np.random.default_rng(3)
    n, dim = 400, 8
    words = [chr(0x4E00 + i) + chr(0x4E00 + 2 * i + 1) for i in range(n)]
    m = rng.normal(size=(n, dim)).astype(np.float32)
    lines = []
    for section in ("形态", "语义"):
        lines.append(f": {section}")
        for _ in range(60):
            a, b, c, d = rng.choice(n, size=4, replace=False)
            m[d] = m[c] + m[b] - m[a] + rng.normal(scale=0.4, size=dim)
            lines.append(" ".join(words[i] for i in (a, b, c, d)))
        lines.append(f"{words[1]} {words[2]} {words[3]} 未知词")  # seen by CA8, wrong
        lines.append(f"未知词 {words[2]} {words[3]} {words[4]}")  # not seen
        lines.append(f"{words[5]} {words[6]} {words[7]} {words[350]}")  # 4th beyond topn 300
    return words, m, "\n".join(lines) + "\n"


@pytest.mark.parametrize("topn", [0, 300])
@pytest.mark.parametrize("method", ["3cosadd", "3cosmul"])
def test_ca8_convention_matches_the_reference_rules(planted, tmp_path, topn, method):
    words, m, text = planted
    path = tmp_path / "ca8.txt"
    path.write_text(text, encoding="utf-8")
    ref = _reference(words, m, text, topn)["add" if method == "3cosadd" else "mul"]
    r = analogies(
        Vectors(words, m), path, method=method, convention="ca8", restrict_vocab=topn or None
    )
    assert [(s.correct, s.total, s.questions) for s in r.sections] == ref
    assert r.correct >= 8  # the planted answers are found: not vacuous
    assert r.total == sum(seen for _, seen, _ in ref) == (124 if topn == 0 else 51)


def test_gensim_convention_matches_gensim_on_the_same_vectors(planted, tmp_path):
    words, m, text = planted
    path = tmp_path / "ca8.txt"
    path.write_text(text, encoding="utf-8")
    kv = KeyedVectors(m.shape[1])
    kv.add_vectors(words, m)
    score, sections = kv.evaluate_word_analogies(str(path), restrict_vocab=300)
    r = analogies(Vectors(words, m), path, convention="gensim", restrict_vocab=300)
    for mine, theirs in zip(r.sections, sections[:-1]):
        assert mine.correct == len(theirs["correct"])
        assert mine.total == len(theirs["correct"]) + len(theirs["incorrect"])
    assert r.accuracy == pytest.approx(score, abs=1e-12)
    assert r.total == 35 and r.correct >= 10  # all four words within the first 300 rows


def test_default_convention_follows_the_dataset(tmp_path):
    v = Vectors(WORDS, MATRIX)
    assert analogies(v, "ca8-semantic").convention == "ca8"
    path = tmp_path / "q.txt"
    path.write_text(QUESTIONS, encoding="utf-8")
    assert analogies(v, path).convention == "gensim"
    assert analogies(v, "ca8-semantic", convention="gensim").convention == "gensim"
    with pytest.raises(ConfigError, match="case_insensitive"):
        analogies(v, "ca8-semantic", case_insensitive=True)
    with pytest.raises(ConfigError, match="gensim or ca8"):
        analogies(v, path, convention="hyperwords")


def test_prepared_tables_are_reused_and_refreshed_when_the_matrix_changes(tmp_path):
    from vecgraft.evaluate import intrinsic

    path = tmp_path / "q.txt"
    path.write_text(QUESTIONS, encoding="utf-8")
    clear_analogy_cache()
    v = Vectors(WORDS, MATRIX.copy())
    first = analogies(v, path, convention="ca8")
    prep = intrinsic._PREPARED[v]
    assert analogies(v, path, convention="ca8").correct == first.correct
    assert intrinsic._PREPARED[v] is prep  # same tables, not rebuilt
    v.matrix = MATRIX.copy()
    v.matrix[3] = [1, 0, 0.1]  # 后 now points like 男: 男 女 王 ? no longer answers 后
    assert analogies(v, path, convention="ca8").correct == 0
    assert intrinsic._PREPARED[v] is not prep


def test_rows_edited_in_place_are_seen_once_the_matrix_is_assigned_again(tmp_path):
    # the fingerprint samples values, and two rows swapped in place keep every sampled sum
    # (the same array, the same id): `v.matrix = v.matrix`, as `Vectors.normed` asks,
    # still answered from the old tables
    path = tmp_path / "q.txt"
    path.write_text(QUESTIONS, encoding="utf-8")
    clear_analogy_cache()
    v = Vectors(WORDS, MATRIX.copy())
    first = analogies(v, path, convention="ca8").correct
    v.matrix[[3, 4]] = v.matrix[[4, 3]]  # 后 and 猫 trade rows
    fresh = analogies(Vectors(WORDS, v.matrix.copy()), path, convention="ca8").correct
    assert fresh != first
    v.matrix = v.matrix
    assert analogies(v, path, convention="ca8").correct == fresh


def test_cli_lang_zh_scores_both_ca8_sets(tmp_path, capsys):
    from vecgraft.cli import main

    # the first CA8 question (避 避一避 补 补一补) planted: 补一补 = 补 + 避一避 - 避
    words = ["避", "避一避", "补", "补一补", "猜", "其他"]
    m = np.array(
        [[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 1, 1], [0.5, 0, 1], [-1, 0.2, 0]], np.float32
    )
    path = tmp_path / "zh.txt"
    path.write_text(
        "".join(w + " " + " ".join(map(str, row)) + "\n" for w, row in zip(words, m)), "utf-8"
    )
    out = tmp_path / "s.json"
    assert main(["intrinsic", str(path), "--lang", "zh", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "ca8-morphological (3cosadd, ca8)" in printed
    assert "ca8-semantic (3cosadd, ca8)" in printed
    import json

    data = json.loads(out.read_text())
    morph, sem = data["analogies"]
    assert data["similarity"] == []
    assert morph["convention"] == "ca8" and morph["questions"] == 10177
    assert morph["correct"] >= 1 and morph["total"] == analogies(
        Vectors(words, m), "ca8-morphological"
    ).total
    assert sem["questions"] == 7636 and sem["total"] == 0
    assert main(["intrinsic", str(path), "--lang", "zh", "--convention", "gensim"]) == 0
    assert "(3cosadd, gensim)" in capsys.readouterr().out
    # without --lang, Chinese vectors get the Chinese sets (English pairs cannot be scored)
    assert main(["intrinsic", str(path), "--json", str(out)]) == 0
    found = json.loads(out.read_text())
    assert found["similarity"] == [] and [a["questions"] for a in found["analogies"]] == [
        10177, 7636
    ]


def test_gensim_options_under_ca8_are_named_as_given_with_the_convention_that_takes_them(
    tmp_path, capsys
):
    # `intrinsic --lang zh --dummy4unknown` was told "case_insensitive and dummy4unknown
    # are gensim options": keywords, one never given, and not the flag that takes them
    from vecgraft.cli import main

    path = tmp_path / "zh.txt"
    path.write_text("避 1 0\n补 0 1\n", "utf-8")
    assert main(["intrinsic", str(path), "--lang", "zh", "--dummy4unknown"]) == 1
    assert capsys.readouterr().err.strip().endswith(
        "error: the ca8 convention compares words as written and counts an unknown 4th word "
        "as wrong; --dummy4unknown is a gensim option: --convention gensim takes it"
    )
    v = Vectors(WORDS, MATRIX)
    with pytest.raises(ConfigError) as err:  # Python: its keywords, as given
        analogies(v, "ca8-semantic", case_insensitive=True, dummy4unknown=True)
    assert str(err.value).endswith(
        "case_insensitive and dummy4unknown are gensim options: convention='gensim' takes them"
    )


@pytest.mark.parametrize("convention", [[], ["--convention", "ca8"]])
def test_dummy4unknown_under_ca8_is_refused_before_the_load_in_one_message(
    tmp_path, capsys, monkeypatch, convention
):
    # `--lang zh --dummy4unknown` loaded the vectors before the library refused it, and
    # with --convention ca8 a copied CLI check said "--dummy4unknown is a gensim-convention
    # flag; drop it or --convention"
    import vecgraft.io
    from vecgraft.cli import main

    def no_load(*_args, **_kw):
        raise AssertionError("the vectors were loaded")

    monkeypatch.setattr(vecgraft.io, "load", no_load)
    argv = ["intrinsic", str(tmp_path / "zh.txt"), "--lang", "zh", "--dummy4unknown"]
    assert main([*argv, *convention]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "vecgraft intrinsic: error: the ca8 convention compares words as written and counts "
        "an unknown 4th word as wrong; --dummy4unknown is a gensim option: --convention "
        "gensim takes it"
    ]


def test_cli_says_why_traditional_vectors_cover_no_ca8_question(tmp_path, capsys):
    pytest.importorskip("opencc")
    from vecgraft.cli import main

    def write(name: str, words: list[str]) -> str:
        rows = np.eye(len(words), dtype=np.float32)
        path = tmp_path / name
        lines = (w + " " + " ".join(map(str, r)) + "\n" for w, r in zip(words, rows))
        path.write_text("".join(lines), "utf-8")
        return str(path)

    # traditional spellings of CA8 words: 0 % covered, and before nothing said why
    hant = write("hant.txt", ["這個", "國家", "學習", "電腦", "經濟", "的"])
    assert main(["intrinsic", hant, "--lang", "zh"]) == 0
    printed = capsys.readouterr().out
    assert "note: 83% of these vectors' Chinese words are in traditional characters" in printed
    assert "pretrain with --simplified" in printed
    hans = write("hans.txt", ["这个", "国家", "学习", "电脑", "经济", "的"])
    assert main(["intrinsic", hans, "--lang", "zh"]) == 0
    assert "traditional characters" not in capsys.readouterr().out


def test_cli_says_word_char_vectors_hold_single_characters(tmp_path, capsys):
    import json

    from vecgraft.cli import main

    words = ["这个", "这", "个", "国家", "国", "家"]
    folder = tmp_path / "w2v"
    folder.mkdir()
    rows = np.eye(len(words), dtype=np.float32)
    (folder / "vectors.txt").write_text(
        "".join(w + " " + " ".join(map(str, r)) + "\n" for w, r in zip(words, rows)), "utf-8"
    )
    said = "note: these vectors were trained on jieba word+char tokens (their metadata.json)"
    for mode, shown in (("word+char", True), ("word", False)):
        meta = {"tokenizer": {"kind": "jieba", "zh_mode": mode}}
        (folder / "metadata.json").write_text(json.dumps(meta), "utf-8")
        assert main(["intrinsic", str(folder / "vectors.txt"), "--lang", "zh"]) == 0
        assert (said in capsys.readouterr().out) is shown


def test_word_char_note_names_a_native_files_own_metadata(tmp_path, capsys):
    # `from-transformer --vocab` keeps the tokenizer in the native file alone: the note said
    # "(their metadata.json)" of a file that is not there
    import json

    import vecgraft
    from vecgraft.cli import main
    from vecgraft.vectors import Vectors

    words = ["这个", "这", "个", "国家", "国", "家"]
    vectors = Vectors(words, np.eye(len(words), dtype=np.float32))
    tokenizer = {"kind": "jieba", "zh_mode": "word+char"}
    vectors.metadata["tokenizer"] = tokenizer
    path = tmp_path / "v" / "x.safetensors"
    path.parent.mkdir()
    vecgraft.save(vectors, path, format="native")
    said = "note: these vectors were trained on jieba word+char tokens ({})"
    assert main(["intrinsic", str(path), "--lang", "zh"]) == 0
    assert said.format("their file's own metadata") in capsys.readouterr().out
    # a metadata.json beside it that records the same tokenizer (a pretrain folder) is named
    (path.parent / "metadata.json").write_text(json.dumps({"tokenizer": tokenizer}), "utf-8")
    assert main(["intrinsic", str(path), "--lang", "zh"]) == 0
    assert said.format("their metadata.json") in capsys.readouterr().out


def test_the_ca8_convention_answers_from_every_row_as_the_ca8_script(tmp_path):
    # CA8's script reads all vectors (topn 0); 300,000 rows as gensim left the CA8 words of
    # a larger table out, most of the CA8 authors' own vectors among them
    path = tmp_path / "q.txt"
    path.write_text(QUESTIONS, encoding="utf-8")
    filler = 300_000
    words = [f"w{i}" for i in range(filler)] + WORDS
    matrix = np.zeros((filler + len(WORDS), 3), np.float32)
    matrix[:filler, 0] = -1.0  # far from every question's answer
    matrix[filler:] = MATRIX
    v = Vectors(words, matrix)
    r = analogies(v, path, convention="ca8")
    assert r.restrict_vocab is None and (r.correct, r.total) == (1, 3)
    gensim_rules = analogies(v, path, convention="gensim")
    assert gensim_rules.restrict_vocab == 300_000 and gensim_rules.total == 0
    assert analogies(v, path, convention="ca8", restrict_vocab=300_000).total == 0  # as asked


def test_a_copy_of_a_ca8_set_is_scored_by_the_ca8_convention(tmp_path):
    from vecgraft.evaluate.datasets import is_ca8

    copy = tmp_path / "semantic.txt"  # the authors' file, downloaded: the same bytes
    copy.write_bytes(dataset_path("ca8-semantic").read_bytes())
    assert is_ca8(copy) and is_ca8(str(dataset_path("ca8-morphological")))
    v = Vectors(WORDS, MATRIX)
    assert analogies(v, copy).convention == "ca8"  # it was gensim's by path, ca8's by name
    edited = tmp_path / "mine.txt"
    edited.write_bytes(copy.read_bytes() + b"\n")
    assert not is_ca8(edited) and not is_ca8(tmp_path) and not is_ca8(tmp_path / "none.txt")
