import gzip
import json
from pathlib import Path

import pytest

from vecgraft.errors import ConfigError, DataError
from vecgraft.finetune.data import (
    LabelledData,
    LabelMap,
    drop_duplicates,
    filter_unknown_labels,
    find_duplicates,
    read_labelled,
    stratified_split,
    subsample,
)


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def make_data(counts: dict[str, int]) -> LabelledData:
    texts, labels = [], []
    for label, n in counts.items():
        for i in range(n):
            texts.append(f"{label} text {i}")
            labels.append(label)
    return LabelledData(texts, labels, "mem", list(range(1, len(texts) + 1)))


# ----------------------------------------------------------------------------- formats


def test_csv_with_quoting_and_multiline_fields(tmp_path):
    path = write(
        tmp_path / "d.csv",
        'id,label,text\n1,pos,"Good, really good"\n2,neg,"He said ""no""\nand left"\n3,pos,ok\n',
    )
    data, bad = read_labelled(path)
    assert data.texts == ["Good, really good", 'He said "no"\nand left', "ok"]
    assert data.labels == ["pos", "neg", "pos"]
    assert data.lines == [2, 3, 5]  # the record that spans lines 3-4 starts on line 3
    assert not bad and bad.total == 0
    assert data.source == str(path)


def test_tsv_with_custom_columns(tmp_path):
    path = write(tmp_path / "d.tsv", "sentence\tcategory\nhello world\tgreet\nbye now\tfarewell\n")
    data, _ = read_labelled(path, text_column="sentence", label_column="category")
    assert data.texts == ["hello world", "bye now"]
    assert data.labels == ["greet", "farewell"]


def test_headerless_csv_with_integer_columns(tmp_path):
    path = write(tmp_path / "ag.csv", '3,"Title","Body text"\n1,"T2","Other body"\n')
    data, _ = read_labelled(path, text_column=2, label_column=0)
    assert data.texts == ["Body text", "Other body"]
    assert data.labels == ["3", "1"]
    assert data.lines == [1, 2]


def test_gzipped_csv_and_utf8_bom(tmp_path):
    path = tmp_path / "d.csv.gz"
    path.write_bytes(gzip.compress("\ufefftext,label\ncafé,fr\n".encode()))
    data, _ = read_labelled(path)
    assert data.texts == ["café"] and data.labels == ["fr"]


def test_jsonl_with_int_labels(tmp_path):
    rows = [{"text": "a b", "label": 1}, {"text": "c", "label": 0}, {"text": "é", "label": "x"}]
    path = write(tmp_path / "d.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n\n")
    data, bad = read_labelled(path)
    assert data.texts == ["a b", "c", "é"]
    assert data.labels == ["1", "0", "x"]
    assert data.lines == [1, 2, 3]
    assert not bad


def test_folder_per_class_with_non_utf8_file(tmp_path):
    (tmp_path / "sport").mkdir()
    (tmp_path / "tech").mkdir()
    write(tmp_path / "sport" / "002.txt", "Goal!")
    write(tmp_path / "sport" / "001.txt", b"Price \xa3100 \x81")  # not UTF-8, not cp1252
    write(tmp_path / "tech" / "001.txt", "Chips")
    write(tmp_path / "tech" / ".hidden", "ignored")
    write(tmp_path / "README", "a file at the root is not a class")
    # strict UTF-8 by default: the file and line of the first bad byte, never a fallback
    with pytest.raises(DataError, match=r"sport/001\.txt:1: invalid UTF-8"):
        read_labelled(tmp_path)
    data, bad = read_labelled(tmp_path, encoding="latin-1")  # said aloud
    assert data.labels == ["sport", "sport", "tech"]
    assert data.texts[0] == "Price £100 \x81"
    assert data.texts[1:] == ["Goal!", "Chips"]
    assert data.files == ["sport/001.txt", "sport/002.txt", "tech/001.txt"]
    assert data.where(2).endswith("tech/001.txt")
    assert bad.replaced_rows == 0
    data, bad = read_labelled(tmp_path, errors="replace")
    assert data.texts[0] == "Price \ufffd100 \ufffd"
    assert (bad.replaced_rows, bad.unicode_replacements) == (1, 2)
    assert "1 line(s) with undecodable bytes replaced" in bad.format()
    assert bad.replaced_lines == [f"{tmp_path / 'sport' / '001.txt'}:1"]


def test_cp1252_only_when_asked(tmp_path):
    (tmp_path / "a").mkdir()
    write(tmp_path / "a" / "x.txt", b"\x93quoted\x94")
    with pytest.raises(DataError, match=r"x\.txt:1: invalid UTF-8"):
        read_labelled(tmp_path)
    data, _ = read_labelled(tmp_path, encoding="cp1252")
    assert data.texts == ["\u201cquoted\u201d"]


def test_folder_without_subfolders_is_a_data_error(tmp_path):
    write(tmp_path / "x.txt", "text")
    with pytest.raises(DataError, match="one subfolder per label"):
        read_labelled(tmp_path)


# ----------------------------------------------------------------------------- errors


def test_missing_column_names_file_and_columns_found(tmp_path):
    path = write(tmp_path / "d.csv", "sentence,label\nhi,a\n")
    with pytest.raises(DataError) as err:
        read_labelled(path)
    msg = str(err.value)
    assert str(path) in msg and "'text'" in msg and "columns found: 'sentence', 'label'" in msg


def test_a_header_with_another_separator_says_so(tmp_path):
    # Excel writes ';'-separated .csv files where ',' is the decimal mark; the old message
    # only said "pass --text-column NAME", which cannot help
    for name, content, sep in (("d.csv", "text;label\nhi;a\n", "';'"),
                               ("d.tsv", "text,label\nhi,a\n", "','")):
        with pytest.raises(DataError) as err:
            read_labelled(write(tmp_path / name, content))
        msg = str(err.value)
        assert f"a header separated by {sep}" in msg and "pass text_column" not in msg
    with pytest.raises(DataError, match="pass text_column"):  # a single column of another name
        read_labelled(write(tmp_path / "e.csv", "body;x\nhi;a\n"))


def test_a_file_without_a_header_says_so(tmp_path):
    # AG News-style CSVs have no header: the error listed the first review as a column name
    # and said "pass text_column=...", which cannot help
    path = write(tmp_path / "d.csv", "a fine film with a good cast,1\na dull film,0\n")
    with pytest.raises(DataError) as err:
        read_labelled(path)
    msg = str(err.value)
    assert "columns found: 'a fine film with a good cast', '1'; if that first row is data " in msg
    assert "needs a header row naming its columns" in msg and "pass text_column" not in msg


def test_missing_jsonl_field_names_fields_found(tmp_path):
    path = write(tmp_path / "d.jsonl", '{"body": "x", "label": "a"}\n')
    with pytest.raises(DataError, match=r"d\.jsonl:1: no text field 'text'; fields found: 'body'"):
        read_labelled(path)


def test_json_array_is_rejected_with_a_hint(tmp_path):
    path = write(tmp_path / "d.json", '[{"text": "a", "label": "x"}]')
    with pytest.raises(DataError, match=r"d\.json: this is a JSON array.*JSON Lines"):
        read_labelled(path)


def test_missing_file_and_unknown_extension(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_labelled(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="cannot tell the layout"):
        read_labelled(write(tmp_path / "d.xlsx", "x"))


BAD_CSV = "text,label\ngood one,a\n,a\n   ,b\nno label,\nshort row\nfine,b\n"


def test_bad_rows_are_counted_with_line_numbers(tmp_path):
    path = write(tmp_path / "d.csv", BAD_CSV)
    data, bad = read_labelled(path)
    assert data.texts == ["good one", "fine"]
    assert data.lines == [2, 7]
    assert bad.counts == {"empty_text": 2, "missing_label": 2}
    assert bad.total == 4
    assert [(e.line, e.reason) for e in bad.examples] == [
        (3, "empty_text"),
        (4, "empty_text"),
        (5, "missing_label"),
        (6, "missing_label"),
    ]
    text = bad.format()
    assert "4 rows dropped" in text and "2 empty text (line 3, line 4)" in text
    assert json.loads(json.dumps(bad.to_dict()))["counts"] == bad.counts


def test_bad_rows_error_names_file_and_line(tmp_path):
    path = write(tmp_path / "d.csv", BAD_CSV)
    with pytest.raises(DataError, match=r"d\.csv:3: empty text"):
        read_labelled(path, bad_rows="error")


def test_invalid_jsonl_line_counted_or_rejected(tmp_path):
    path = write(tmp_path / "d.jsonl", '{"text": "a", "label": "x"}\n{oops\n[1, 2]\n')
    data, bad = read_labelled(path)
    assert len(data) == 1 and bad.counts == {"invalid_json": 2}
    assert [e.line for e in bad.examples] == [2, 3]
    with pytest.raises(DataError, match=r"d\.jsonl:2: not a JSON object"):
        read_labelled(path, bad_rows="error")


@pytest.mark.parametrize(
    "content",
    ['text,label\nok,a\n"unterminated,b\nmore,c\n', 'text,label\nok,a\n"stray"quote,b\n'],
)
def test_malformed_csv_is_a_data_error_with_line(tmp_path, content):
    path = write(tmp_path / "d.csv", content)
    with pytest.raises(DataError, match=r"d\.csv:3: malformed CSV"):
        read_labelled(path)


def test_no_usable_rows_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="no usable labelled rows"):
        read_labelled(write(tmp_path / "d.csv", "text,label\n,a\n"))
    # a header alone said "(d.csv: no bad rows)"
    with pytest.raises(DataError, match=r"no usable labelled rows \(it holds no rows\)"):
        read_labelled(write(tmp_path / "h.csv", "text,label\n"))


def test_bad_policy_value():
    with pytest.raises(ConfigError, match="bad_rows"):
        filter_unknown_labels(make_data({"a": 1}), LabelMap(["a"]), bad_rows="maybe")
    # "report" is the old spelling of "skip": saved configs keep working
    data, bad = filter_unknown_labels(
        make_data({"a": 1, "b": 1}), LabelMap(["a"]), bad_rows="report"
    )
    assert data.labels == ["a"] and bad.counts == {"unknown_label": 1}


def test_unknown_labels_at_test_time_counted_or_rejected(tmp_path):
    path = write(tmp_path / "test.csv", "text,label\nx,a\ny,zzz\nz,b\n")
    labels = LabelMap(["a", "b"])
    data, bad = read_labelled(path, label_map=labels)
    assert data.labels == ["a", "b"] and data.lines == [2, 4]
    assert bad.counts == {"unknown_label": 1} and bad.examples[0].line == 3
    with pytest.raises(
        DataError, match=r"test\.csv:3: unknown label 'zzz'; known labels: 'a', 'b'"
    ):
        read_labelled(path, label_map=labels, bad_rows="error")


# ----------------------------------------------------------------------------- labels


def test_label_map_sorted_and_round_trip(tmp_path):
    m = LabelMap(["tech", "sport", "tech", "business"])
    assert m.labels == ["business", "sport", "tech"]
    assert [m.encode(x) for x in m.labels] == [0, 1, 2]
    assert m.decode(2) == "tech" and len(m) == 3 and "sport" in m
    m.save(tmp_path / "labels.json")
    again = LabelMap.load(tmp_path / "labels.json")
    assert again == m and again.labels == m.labels
    assert m.encode_many(["tech", "business"]) == [2, 0]
    with pytest.raises(DataError, match="unknown label 'x'"):
        m.encode("x")
    with pytest.raises(DataError, match="out of range"):
        m.decode(3)


def test_label_map_load_errors_name_file(tmp_path):
    with pytest.raises(DataError, match="no such label file"):
        LabelMap.load(tmp_path / "missing.json")
    bad = write(tmp_path / "labels.json", '{"labels": [1, 2]}')
    with pytest.raises(DataError, match=r"labels\.json"):
        LabelMap.load(bad)
    twice = write(tmp_path / "twice.json", '{"labels": ["a", "a", "b"]}')
    with pytest.raises(DataError, match=r"twice\.json: a label map lists each label once"):
        LabelMap.load(twice)


# ----------------------------------------------------------------------------- splits


def test_stratified_split_keeps_proportions_and_is_deterministic():
    data = make_data({"a": 50, "b": 30, "c": 20, "d": 1})
    train, test = stratified_split(data, 0.2, seed=7)
    assert test.label_counts() == {"a": 10, "b": 6, "c": 4}
    assert train.label_counts() == {"a": 40, "b": 24, "c": 16, "d": 1}
    assert sorted(train.texts + test.texts) == sorted(data.texts)
    again_train, again_test = stratified_split(data, 0.2, seed=7)
    assert again_test.texts == test.texts and again_train.texts == train.texts
    _, other = stratified_split(data, 0.2, seed=8)
    assert other.texts != test.texts
    # order inside a part follows the source
    assert test.lines == sorted(test.lines)


def test_stratified_split_small_classes_get_one_test_row():
    train, test = stratified_split(make_data({"a": 2, "b": 3}), 0.1, seed=0)
    assert test.label_counts() == {"a": 1, "b": 1}
    assert train.label_counts() == {"a": 1, "b": 2}


def test_stratified_split_rejects_bad_size():
    with pytest.raises(ConfigError, match="test_size"):
        stratified_split(make_data({"a": 3}), 1.0, seed=0)
    with pytest.raises(DataError, match="mem: cannot split off a test part"):
        stratified_split(make_data({"a": 1, "b": 1}), 0.5, seed=0)


@pytest.mark.parametrize(
    ("fraction", "expected"),
    [(0.05, {"a": 10, "b": 2, "c": 1}), (0.5, {"a": 100, "b": 20, "c": 2}), (1.0, None)],
)
def test_subsample_fractions_keep_every_class(fraction, expected):
    data = make_data({"a": 200, "b": 40, "c": 3})
    sub = subsample(data, fraction, seed=1)
    assert sub.label_counts() == (expected or data.label_counts())
    assert subsample(data, fraction, seed=1).texts == sub.texts


def test_subsample_smaller_fraction_is_subset_of_larger():
    data = make_data({"a": 200, "b": 40, "c": 3})
    small = set(subsample(data, 0.05, seed=3).texts)
    large = set(subsample(data, 0.25, seed=3).texts)
    assert small < large
    with pytest.raises(ConfigError, match="fraction"):
        subsample(data, 0.0, seed=0)


# ----------------------------------------------------------------------------- duplicates


def test_find_and_drop_duplicates():
    train = LabelledData(
        ["Hello  world", "unique", "same text"], ["a", "a", "b"], "train", [1, 2, 3]
    )
    test = LabelledData(
        ["other", "hello world", " Hello world\n", "same text", "same\ttext"],
        ["a", "a", "a", "a", "b"],
        "test",
        [1, 2, 3, 4, 5],
    )
    report = find_duplicates(train, test)
    # neither whitespace nor case counts: both models read "hello world" as "Hello  world"
    # (the linear model and a lowercased network lowercase it), so it was scored as unseen
    assert report.test_indices == [1, 2, 3, 4]
    assert report.train_indices == [0, 0, 2, 2]
    assert report.count == 4
    assert report.label_conflicts == 1  # "same text": train b, test a
    assert report.examples[0]["test_where"] == "test:2"
    assert report.examples[0]["train_where"] == "train:1"
    assert report.examples[0]["text"] == "hello world"  # as written, not case-folded
    assert "4 test texts also occur in train (1 with another label)" in report.format()
    clean = drop_duplicates(test, report)
    assert clean.texts == ["other"]
    assert find_duplicates(train, clean).count == 0
    assert json.loads(json.dumps(report.to_dict()))["count"] == 4


def test_label_map_encode_rows_names_the_row_of_an_unknown_label(tmp_path):
    from vecgraft.finetune.data import LabelMap

    data, _ = read_labelled(write(tmp_path / "t.csv", "text,label\na b,x\nc d,y\ne f,z\n"))
    assert LabelMap(["x", "y", "z"]).encode_rows(data) == [0, 1, 2]
    with pytest.raises(DataError, match=r"t\.csv:4: label 'z' does not occur in the training"):
        LabelMap(["x", "y"]).encode_rows(data)


def test_the_duplicates_line_counts_twins_with_another_label():
    from vecgraft.finetune.config import FinetuneConfig
    from vecgraft.finetune.prepare import drop_seen

    train = LabelledData(["good film", "bad plot"], ["pos", "neg"], "train", [1, 2])
    new = [f"new {i}" for i in range(9)]  # 2 of 11 removed: under the share that warns
    test = LabelledData(["Good film", "bad plot", *new], ["neg", "neg"] + ["pos"] * 9, "test",
                        list(range(1, 12)))  # fmt: skip
    lines: list[str] = []
    notes: dict = {}
    kept = drop_seen(train, test, "training", FinetuneConfig(train="t.csv"), notes, lines.append)
    # it said "2 test text(s) also occur ..." and nothing of the contradicting label
    assert lines == ["2 test text(s) also occur in the training data (1 with another label "
                     "there): removed from test"]
    assert kept.texts == new and notes["duplicates"]["label_conflicts"] == 1


def test_a_test_text_counts_as_a_conflict_when_any_training_twin_has_another_label():
    from vecgraft.finetune.config import FinetuneConfig
    from vecgraft.finetune.prepare import drop_seen

    # the first twin agrees, the second does not: it counted only the first (0 conflicts)
    train = LabelledData(["good film", "Good film", "bad plot", "fine"], ["pos", "neg", "neg",
                         "pos"], "train", [1, 2, 3, 4])  # fmt: skip
    test = LabelledData(["good film", "bad plot", "new one", "old one"],
                        ["pos", "neg", "pos", "neg"], "test", [1, 2, 3, 4])  # fmt: skip
    report = find_duplicates(train, test)
    assert report.label_conflicts == 1
    assert report.examples[0]["train_label"] == "pos"
    assert report.examples[0]["train_labels"] == ["neg", "pos"]
    lines: list[str] = []
    notes: dict = {}
    drop_seen(train, test, "training", FinetuneConfig(train="t.csv"), notes, lines.append)
    assert notes["duplicates"]["label_conflicts"] == 1  # splits.json, as the line says
    assert lines == ["WARNING: 2 of 4 test texts (50%) also occur in the training data (1 with "
                     "another label there): removed from test, which is scored on the rest; "
                     "--no-dedupe keeps them (vecgraft evaluate scores every row of a file)"]


def test_removing_a_small_share_of_test_or_keeping_them_is_a_plain_line():
    from vecgraft.finetune.config import FinetuneConfig
    from vecgraft.finetune.prepare import drop_seen

    train = LabelledData(["good film"], ["pos"], "train", [1])
    test = LabelledData(["good film", *(f"text {i}" for i in range(5))], ["pos"] * 6, "test",
                        list(range(1, 7)))  # fmt: skip
    lines: list[str] = []
    drop_seen(train, test, "training", FinetuneConfig(train="t.csv"), {}, lines.append)
    assert lines == ["1 test text(s) also occur in the training data: removed from test"]
    lines.clear()  # half of it, kept: nothing removed to warn of
    kept = FinetuneConfig(train="t.csv", dedupe=False)
    drop_seen(train, test.select([0, 1]), "training", kept, {}, lines.append)
    assert lines == ["1 test text(s) also occur in the training data: kept (--no-dedupe)"]


def test_training_texts_with_more_than_one_label_are_said():
    from vecgraft.finetune.prepare import note_label_conflicts

    # 200 texts each written with two labels trained in silence
    texts = [f"text {i}" for i in range(40)]
    train = LabelledData([*texts, "Text 0", "text  1"], ["a"] * 40 + ["b", "c"], "t.csv",
                         list(range(2, 44)))  # fmt: skip
    lines: list[str] = []
    notes: dict = {}
    note_label_conflicts(train, notes, lines.append)
    assert lines == ["WARNING: 2 training texts occur with more than one label (4 rows, 10% of "
                     "the training data); the model cannot fit both: check the labels, e.g. "
                     "'text 0' is labelled 'a', 'b' (t.csv:2, t.csv:42)"]
    assert notes["train_label_conflicts"] == {
        "texts": 2, "rows": 4,
        "examples": [{"where": ["t.csv:2", "t.csv:42"], "labels": ["a", "b"], "text": "text 0"},
                     {"where": ["t.csv:3", "t.csv:43"], "labels": ["a", "c"], "text": "text 1"}],
    }  # fmt: skip
    few = LabelledData([*texts, *texts, "text 0"], ["a"] * 80 + ["b"], "t.csv", list(range(81)))
    lines.clear()
    note_label_conflicts(few, {}, lines.append)  # 3 of 81 rows: a note, no warning
    assert lines == ["1 training texts occur with more than one label (3 rows, 4% of the "
                     "training data); the model cannot fit both"]
    lines.clear()
    note_label_conflicts(LabelledData(texts, ["a"] * 40, "t.csv", list(range(40))), notes,
                         lines.append)  # fmt: skip
    assert not lines


def twins_fixture() -> LabelledData:
    """Texts on several rows: some with one label, some with two or three, in mixed order."""
    rows = [("a b", "pos"), ("A  b", "pos"), ("c", "neg"), ("a b", "neg"), ("d", "pos"),
            ("C", "neg"), ("e", "pos"), ("E", "neu"), ("e ", "pos"), ("d", "neg"),
            ("f", "x"), ("f", "y"), ("F", "z")]  # fmt: skip
    return LabelledData([t for t, _ in rows], [lab for _, lab in rows], "t.csv",
                        list(range(2, len(rows) + 2)))  # fmt: skip


def test_duplicates_and_label_conflicts_of_texts_on_several_rows_are_pinned():
    from vecgraft.finetune.dedup import index_twins, label_conflicts

    train = twins_fixture()
    test = LabelledData(["a b", "c", "C", "x", "e", "d", "f"],
                        ["pos", "neg", "pos", "pos", "neu", "pos", "x"], "s.csv",
                        list(range(2, 9)))  # fmt: skip
    report = find_duplicates(train, test)
    assert report.test_indices == [0, 1, 2, 4, 5, 6]
    assert report.train_indices == [0, 2, 2, 6, 4, 10]
    assert report.label_conflicts == 5  # every match but "c" labelled neg
    assert [(e["train_label"], e["train_labels"]) for e in report.examples] == [
        ("pos", ["neg", "pos"]), ("neg", ["neg"]), ("neg", ["neg"]), ("pos", ["neu", "pos"]),
        ("pos", ["neg", "pos"]),
    ]  # fmt: skip
    # in the order of each text's first row ("d" turned mixed after "e" did)
    found = label_conflicts(train)
    assert (found.texts, found.rows) == (4, 11)
    assert found.examples == [
        {"where": ["t.csv:2", "t.csv:3", "t.csv:5"], "labels": ["neg", "pos"], "text": "a b"},
        {"where": ["t.csv:6", "t.csv:11"], "labels": ["neg", "pos"], "text": "d"},
        {"where": ["t.csv:8", "t.csv:9", "t.csv:10"], "labels": ["neu", "pos"], "text": "e"},
        {"where": ["t.csv:12", "t.csv:13", "t.csv:14"], "labels": ["x", "y", "z"], "text": "f"},
    ]  # fmt: skip
    # an index built without its rows, or with them, gives the same
    assert label_conflicts(train, index_twins(train)) == found
    assert find_duplicates(train, test, index_twins(train, rows=True)) == report


def test_a_run_normalises_each_training_text_once(tmp_path, monkeypatch):
    from vecgraft.finetune import dedup
    from vecgraft.finetune.config import FinetuneConfig
    from vecgraft.finetune.prepare import read_splits

    # label_conflicts then find_duplicates normalised a million training texts twice
    calls: list[str] = []
    real = dedup.normalize_for_duplicates
    monkeypatch.setattr(dedup, "normalize_for_duplicates", lambda t: calls.append(t) or real(t))
    train = write(tmp_path / "train.csv", "text,label\n" + "".join(
        f"text {i},{'ab'[i % 2]}\n" for i in range(20)) + "Text 0,b\n")  # fmt: skip
    test = write(tmp_path / "test.csv", "text,label\ntext 1,a\nnew one,b\nnew two,a\n")
    splits = read_splits(FinetuneConfig(train=str(train), test=str(test)), lambda _m: None)
    assert sorted(calls) == sorted([f"text {i}" for i in range(20)] + ["Text 0", "text 1",
                                                                        "new one", "new two"])
    assert splits.notes["train_label_conflicts"]["texts"] == 1
    assert splits.notes["duplicates"]["count"] == 1
    assert splits.test.texts == ["new one", "new two"]


def test_a_split_well_over_its_share_says_so():
    from vecgraft.finetune.prepare import _split_note

    lines: list[str] = []
    # 100 labels of 4 rows: one validation row each, 25 % where 10 % was asked
    note = _split_note("validation", 0.1, 100, 300, 0, lines.append)
    assert note == "stratified 10% of train asked, 25% taken, seed 0"
    assert lines == ["The validation split took 100 of 400 rows (25%, not 10%): every label "
                     "with two rows or more gives it one at least"]
    lines.clear()
    assert _split_note("test", 0.1, 101, 899, 3, lines.append) == "stratified 10% of train, seed 3"
    assert not lines
    # a share under half a percent read "stratified 0% of train" in splits.json
    assert _split_note("validation", 0.004, 2, 498, 0, lines.append) == (
        "stratified 0.4% of train, seed 0"
    )
    assert _split_note("validation", 0.004, 6, 494, 0, lines.append) == (
        "stratified 0.4% of train asked, 1% taken, seed 0"
    )
    assert lines == ["The validation split took 6 of 500 rows (1%, not 0.4%): every label "
                     "with two rows or more gives it one at least"]


def test_a_tiny_class_keeps_its_rows_for_training_and_is_warned_about():
    from vecgraft.finetune.config import FinetuneConfig
    from vecgraft.finetune.prepare import Splits, carve_valid

    # 2 rows of a class among 200 per class: one went to validation, the network trained
    # on 1, and the log said nothing
    data = make_data({"a": 200, "b": 200, "rare class": 2, "four": 4})
    lines: list[str] = []
    splits = carve_valid(Splits(data, data.select([]), data.select([]), {}),
                         FinetuneConfig(valid_fraction=0.1), 0, lines.append)  # fmt: skip
    assert splits.train.label_counts() == {"a": 180, "b": 180, "four": 3, "rare class": 2}
    # a class of 4 (TREC's smallest at 5 %) gives its one row as before
    assert splits.valid.label_counts() == {"a": 20, "b": 20, "four": 1}
    assert lines == ["WARNING: 2 labels have very few training rows: 'four' 4 rows, 3 left for "
                     "training after the validation split; 'rare class' 2 rows, all kept for "
                     "training; the model learns such a label from these examples alone (the "
                     "validation split takes no row of a label with fewer than 4)"]
    assert splits.notes["few_training_rows"] == {"four": {"rows": 4, "train": 3},
                                                 "rare class": {"rows": 2, "train": 2}}
    # with no validation split the count is still said, without the rule
    lines.clear()
    carve_valid(Splits(data, data.select([]), data.select([]), {}),
                FinetuneConfig(valid_fraction=0), 0, lines.append)  # fmt: skip
    assert lines[-1] == ("WARNING: 2 labels have very few training rows: 'four' 4 rows, all "
                         "kept for training; 'rare class' 2 rows, all kept for training; the "
                         "model learns such a label from these examples alone")


def test_a_toy_set_of_tiny_classes_still_gets_its_validation_split():
    # no label reaches the floor: every label of 2 or 3 rows gives one, as before
    train, valid = stratified_split(make_data({"a": 2, "b": 3}), 0.1, seed=0,
                                    part="validation", keep_below=4)  # fmt: skip
    assert valid.label_counts() == {"a": 1, "b": 1}
    assert train.label_counts() == {"a": 1, "b": 2}


def test_a_small_nonzero_share_is_never_said_as_0_percent():
    from vecgraft.finetune.families import empty_texts_line
    from vecgraft.finetune.prepare import note_label_conflicts

    # 5 conflicting rows of 2,000 read "(5 rows, 0% of the training data)"
    texts = [f"text {i}" for i in range(1997)]
    train = LabelledData([*texts, "text 0", "text 1", "text 1"], ["a"] * 1997 + ["b"] * 3,
                         "t.csv", list(range(2, 2002)))  # fmt: skip
    lines: list[str] = []
    note_label_conflicts(train, {}, lines.append)
    assert lines == ["2 training texts occur with more than one label (5 rows, 0.25% of the "
                     "training data); the model cannot fit both"]
    # 1 empty text of 300 read "(0%)"
    ids = [[1]] * 299 + [[]]
    assert empty_texts_line("training", ["x"] * 300, ids, None) == (
        "1 of 300 training texts (0.33%) have no tokens after tokenizing (they are read as "
        "empty)")
