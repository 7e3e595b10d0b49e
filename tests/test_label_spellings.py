"""Labels written apart but read as one (NFC/NFD, surrounding spaces), and labels shown escaped.

A tester's data: `émoji 😀` saved on macOS (decomposed, NFD) beside the composed spelling
trained as two classes; `num ` merged into `num` without a word; `01` unseen at test time
without a hint that training had `1`; a label's line break broke the per-class table.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

from finetune_helpers import make_dataset, make_texts, write_csv
from vecgraft.cli import main
from vecgraft.finetune.data import read_labelled
from vecgraft.finetune.labels import LabelMap, merged_spellings
from vecgraft.finetune.metrics import classification_metrics

NFC = "émoji 😀"
NFD = unicodedata.normalize("NFD", NFC)
FAST = ["--model", "boe", "--epochs", "1", "--no-plots", "--no-fuse-linear"]


def test_labels_apart_only_in_unicode_form_are_one_label_with_a_warning(tmp_path):
    assert NFC != NFD
    path = write_csv(tmp_path / "d.csv", [("a", NFC), ("b", NFD), ("c", NFC), ("d", "x")])
    data, report = read_labelled(path)
    assert data.labels == [NFC, NFC, NFC, "x"]
    assert merged_spellings(data, report) == (
        f"WARNING: {path}: labels {NFC!r} (NFC, 2 rows) and {NFD!r} (NFD, 1 row) differ only "
        "in Unicode normalisation (NFC/NFD): read as one"
    )
    assert report.format() == (
        f"{path}: label {NFC!r} is written in decomposed Unicode (NFD) in 1 row; read in "
        "composed form (NFC), as labels are compared"
    )


def test_labels_already_in_nfc_are_kept_byte_for_byte_and_not_noted(tmp_path):
    labels = ["café", "中文标签", "a, b", "01", "1"]
    path = write_csv(tmp_path / "d.csv", [(f"text {i}", label) for i, label in enumerate(labels)])
    data, report = read_labelled(path)
    assert [label.encode() for label in data.labels] == [label.encode() for label in labels]
    assert not report.noteworthy and merged_spellings(data, report) is None


def test_a_test_file_in_nfd_scores_its_labels_as_the_training_labels(tmp_path):
    # evaluate scored every NFD test row as an unseen label (an error)
    path = write_csv(tmp_path / "test.csv", [("a", NFD), ("b", "x")])
    data, report = read_labelled(path)
    gold, unseen = LabelMap([NFC, "x"]).encode_scored(data.labels)
    assert gold == [1, 0] and not unseen  # sorted: "x" before "é"
    assert "written in decomposed Unicode (NFD) in 1 row" in report.format()
    # a run trained before labels were read in NFC keeps its NFD label: still that label
    gold, unseen = LabelMap([NFD, "x"]).encode_scored(data.labels)
    assert gold == [0, 1] and not unseen  # NFD's plain "e" sorts before "x"


def test_a_folder_named_in_nfd_is_the_nfc_label(tmp_path):
    for name, text in ((NFD, "one"), ("x", "two")):
        (tmp_path / "root" / name).mkdir(parents=True)
        (tmp_path / "root" / name / "a.txt").write_text(text)
    data, _ = read_labelled(tmp_path / "root")
    assert sorted(data.labels) == sorted([NFC, "x"])


def test_labels_merged_by_stripping_their_spaces_are_said(tmp_path):
    path = write_csv(tmp_path / "d.csv", [("a", "num"), ("b", "num "), ("c", "num"),
                                          ("d", " with space")])  # fmt: skip
    data, report = read_labelled(path)
    assert data.labels == ["num", "num", "num", "with space"]
    # ' with space' alone is stripped as before, without a word: nothing was merged
    assert merged_spellings(data, report) == (
        f"WARNING: {path}: labels written 'num' (2 rows) and 'num ' (1 row) are read as one "
        "label 'num' (a label is read without the spaces around it); if they are different "
        "classes, name them apart"
    )


def test_an_unseen_label_that_reads_as_a_training_number_says_so():
    _, unseen = LabelMap(["1", "2", "Loc"]).encode_scored(["01", "2", "loc", "7"])
    assert unseen.lookalikes == {"01": "1", "loc": "Loc"}
    warning = unseen.warning("t.csv", 4)
    assert "; '01' reads as the same number as training label '1'" in warning
    assert "; 'loc' differs only in case from training label 'Loc'" in warning


def test_a_label_with_a_line_break_is_escaped_in_the_tables():
    names = ["line\nbreak", "tab\there", "two"]
    table = classification_metrics([0, 1, 2, 0], [0, 1, 2, 1], names).format_table()
    rows = table.splitlines()
    assert any(row.startswith("line\\nbreak ") for row in rows)
    assert any(row.startswith("tab\\there ") for row in rows)
    assert "\t" not in table and not any(row.startswith("break") for row in rows)
    widths = {len(row) for row in rows[1:4]}  # the three class rows line up
    assert len(widths) == 1


def test_a_json_boolean_label_is_read_as_text_with_a_note(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "a", "label": true}\n{"text": "b", "label": "x"}\n'
                    '{"text": "c", "label": false}\n{"text": "d", "label": true}\n')  # fmt: skip
    data, report = read_labelled(path)
    assert data.labels == ["true", "x", "false", "true"]
    assert report.format() == (
        f"{path}: label false in 1 row is a JSON boolean, read as the text 'false'; "
        "label true in 2 rows is a JSON boolean, read as the text 'true'"
    )


def test_finetune_says_merged_and_control_labels_once_and_trains_one_class(tmp_path, capsys):
    data = make_dataset(tmp_path / "data", train_per_class=8, test_per_class=3)
    names = {"sport": NFC, "tech": "line\nbreak", "food": "food"}
    rows = [(text, names[label]) for text, label in make_texts(8, seed=1)]
    rows += [(text, NFD) for text, label in make_texts(2, seed=3) if label == "sport"]
    train = write_csv(tmp_path / "train.csv", rows)
    test = write_csv(tmp_path / "test.csv", [(text, unicodedata.normalize("NFD", names[label]))
                                             for text, label in make_texts(3, seed=2)])  # fmt: skip
    run = tmp_path / "run"
    assert main(["finetune", "--train", str(train), "--test", str(test), "--out", str(run),
                 "--vectors", str(data["vectors"]), *FAST]) == 0  # fmt: skip
    out = capsys.readouterr()
    said = out.out + out.err
    assert "3 labels" in said
    assert said.count("differ only in Unicode normalisation (NFC/NFD): read as one") == 1
    assert said.count("hold a control character") + said.count("holds a control character") == 1
    assert "label 'line\\nbreak' holds a control character" in said
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test"]["labels"] == ["food", "line\nbreak", NFC]
    assert "unseen_labels" not in metrics
    report = Path(run / "report.txt").read_text()
    assert "line\\nbreak" in report and "line\nbreak" not in report


def test_evaluate_says_labels_its_file_writes_apart_as_finetune_does(tmp_path, capsys):
    data = make_dataset(tmp_path / "data", train_per_class=8, test_per_class=3)
    train = write_csv(tmp_path / "train.csv", make_texts(8, seed=1))
    rows = make_texts(3, seed=2)  # "food" written "food " in one row, NFC and NFD "é" too
    first = next(i for i, (_, label) in enumerate(rows) if label == "food")
    rows[first] = (rows[first][0], "food ")
    rows += [("a café", NFC), ("an other café", NFD)]
    test = write_csv(tmp_path / "test.csv", rows)
    spaces = (f"WARNING: {test}: labels written 'food' (2 rows) and 'food ' (1 row) are read "
              "as one label 'food' (a label is read without the spaces around it); if they "
              "are different classes, name them apart")  # fmt: skip
    form = (f"WARNING: {test}: labels {NFC!r} (NFC, 1 row) and {NFD!r} (NFD, 1 row) differ "
            "only in Unicode normalisation (NFC/NFD): read as one")  # fmt: skip
    run = tmp_path / "run"
    assert main(["finetune", "--train", str(train), "--test", str(test), "--out", str(run),
                 "--vectors", str(data["vectors"]), *FAST]) == 0  # fmt: skip
    out = capsys.readouterr()
    said = out.out + out.err
    assert said.count(spaces) == 1 and said.count(form) == 1  # finetune's test file
    # evaluate merged them without a word
    assert main(["evaluate", str(run), "--data", str(test), "--metrics-out",
                 str(tmp_path / "m.json")]) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert err.count(spaces) == 1 and err.count(form) == 1
