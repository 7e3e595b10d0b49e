"""Messy tables as exports and spreadsheets write them: stray CRs, repeated headers, NA labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from vecgraft.errors import DataError
from vecgraft.finetune.data import read_labelled
from vecgraft.text import iter_texts


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# -- line ends -----------------------------------------------------------------------------
def test_a_lone_cr_in_an_lf_or_crlf_file_ends_a_line(tmp_path):
    # csv said "new-line character seen in unquoted field" even under bad_rows="skip", and
    # predict merged the two texts around the CR into one answer
    from finetune_helpers import predict_lines as _lines

    plain = _write(tmp_path, "p.txt", b"good movie\rbad movie\r\nfine\nok\r")
    assert list(_lines(str(plain), "utf-8", "strict")) == ["good movie", "bad movie", "fine", "ok"]
    table = _write(tmp_path, "t.csv", b'text,label\r\nx,1\r\ny,2\rz,3\n"two\r\nlines",4\rw\n')
    data, bad = read_labelled(table)
    assert (data.texts, data.labels, data.lines) == (
        ["x", "y", "z", "two\nlines"], ["1", "2", "3", "4"], [2, 3, 4, 5])
    assert [(e.line, e.reason) for e in bad.examples] == [(7, "missing_label")]
    blanks = _write(tmp_path, "b.csv", b"text,label\na,1\r\r\nb,2\r\r")
    assert read_labelled(blanks)[0].lines == [2, 4]


def test_a_cr_inside_a_json_lines_record_is_whitespace(tmp_path):
    # JSON Lines ends a record at LF (CRLF too): a lone CR split one into two invalid rows
    path = _write(tmp_path, "cr.jsonl", b'{"text": "a",\r "label": "b"}\r\n'
                  b'{"text": "c", "label": "d"}\n{"text": "e",\r"label": "f"}\r')  # fmt: skip
    data, bad = read_labelled(path)
    assert (data.texts, data.labels, data.lines) == (["a", "c", "e"], ["b", "d", "f"], [1, 2, 3])
    assert not bad


def test_the_gb18030_preview_leaves_out_the_line_end(tmp_path):
    gbk = _write(tmp_path, "gbk.csv", "text,label\r\n房间很干净,1\r\n".encode("gb18030"))
    with pytest.raises(DataError, match=r"gbk\.csv:2: .*GB18030 Chinese \('房间很干净,1'\)"):
        read_labelled(gbk)


# -- TSV quoted as pandas writes it ----------------------------------------------------------
# `df.to_csv(path, sep="\t", index=False)` of texts with a line break, a quote and a tab
PANDAS_TSV = (
    b'text\tlabel\n"good\nmovie"\ta\n"say ""hi""\nthere"\tb\nplain\tc\n"""q"" start"\td\n'
    b'"tab\tinside"\te\n"x\n\nz"\tf\n'
)


def test_a_pandas_tsv_text_with_a_line_break_is_one_field(tmp_path):
    # the first half was dropped as "missing label", the second kept with a stray quote
    data, bad = read_labelled(_write(tmp_path, "pd.tsv", PANDAS_TSV))
    assert data.texts == ["good\nmovie", 'say "hi"\nthere', "plain", '"q" start',
                          "tab\tinside", "x\n\nz"]  # fmt: skip
    assert data.labels == ["a", "b", "c", "d", "e", "f"]
    assert data.lines == [2, 4, 6, 7, 8, 9]  # each record's first line
    assert not bad
    indexed = _write(tmp_path, "ix.tsv", b'\ttext\tlabel\n0\t"good\nmovie"\ta\n1\tbad\tb\n')
    assert read_labelled(indexed)[0].texts == ["good\nmovie", "bad"]


def test_predict_answers_a_pandas_tsv_text_with_a_line_break_once(tmp_path):
    # predict stopped with ":3: too few fields"
    from finetune_helpers import predict_lines as _lines

    path = _write(tmp_path, "new.tsv", b'id\ttext\n1\t"good\nmovie"\n2\tbad\n')
    assert list(_lines(str(path), "utf-8", "strict")) == ["good\nmovie", "bad"]


def test_a_tsv_quote_that_does_not_close_a_field_is_data(tmp_path):
    # plain TSV: a quote opening a text that never closes it, or closes it mid-field,
    # leaves the lines after it rows of their own
    path = _write(tmp_path, "plain.tsv", b'text\tlabel\n"open\ta\nnext\tb\n"a" b\tc\n'
                  b'"half\td\nthen "x" y\te\n"end\tf\n')  # fmt: skip
    data, bad = read_labelled(path)
    assert data.texts == ['"open', "next", '"a" b', '"half', 'then "x" y', '"end']
    assert data.lines == [2, 3, 4, 5, 6, 7]
    assert not bad


def test_a_tsv_quote_whose_lines_are_each_a_row_is_data(tmp_path):
    # read as one quoted text over two lines: predict answered fewer rows than lines, unsaid
    path = _write(tmp_path, "q.tsv", b'text\tlabel\n"Cheap plastic\tneg\nScreen is 12"\tpos\n'
                  b'fine\tpos\n"\tpos\nok then\tneg\nsaid "\tpos\n')  # fmt: skip
    data, bad = read_labelled(path)
    assert data.texts == ['"Cheap plastic', 'Screen is 12"', "fine", '"', "ok then", 'said "']
    assert data.labels == ["neg", "pos", "pos", "pos", "neg", "pos"]
    assert data.lines == [2, 3, 4, 5, 6, 7]
    assert not bad.noteworthy
    # pandas' quoting still reads: a line break, with a tab inside the text beside an index
    pandas = _write(tmp_path, "p.tsv", b'\ttext\tlabel\n0\t"a\tb\nc"\tx\n1\t"good\nmovie"\ty\n')
    data, bad = read_labelled(pandas)
    assert (data.texts, data.labels) == (["a\tb\nc", "good\nmovie"], ["x", "y"])


def test_a_record_read_over_several_lines_is_said(tmp_path, capsys):
    # a quoted field over lines merges them into one row: never silently
    from finetune_helpers import predict_lines as _lines

    bad = read_labelled(_write(tmp_path, "pd.tsv", PANDAS_TSV))[1]
    assert (bad.multiline_records, bad.total) == (3, 0)
    assert bad.format() == (f"{tmp_path / 'pd.tsv'}: 3 records read over several lines (a "
                            "quoted field with a line break; the first at line 2)")  # fmt: skip
    csv_path = _write(tmp_path, "m.csv", b'text,label\na,1\n"two\nlines",2\n')
    assert read_labelled(csv_path)[1].format().endswith(
        "1 record read over several lines (a quoted field with a line break; the first at "
        "line 3)")
    one = _write(tmp_path, "one.tsv", b'text\n"Cheap plastic\nworks fine\nScreen is 12"\ngreat\n')
    assert len(list(_lines(str(one), "utf-8", "strict"))) == 2
    assert capsys.readouterr().err == (f"note: {one}: 1 record read over several lines (a "
                                       "quoted field with a line break; the first at line "
                                       "2)\n")  # fmt: skip


# -- a header row repeated mid-file --------------------------------------------------------
def test_a_repeated_header_row_is_dropped_and_reported_not_a_class(tmp_path):
    # two exports joined with `cat`: the second header trained the class "label"
    joined = b"text,label\ngood,pos\n\xef\xbb\xbftext , label\r\nbad,neg\n"
    data, bad = read_labelled(_write(tmp_path, "j.csv", joined))
    assert (data.texts, data.labels, data.lines) == (["good", "bad"], ["pos", "neg"], [2, 4])
    assert bad.format().endswith("1 row dropped: 1 repeated header row (line 3)")
    with pytest.raises(DataError, match=r"j\.csv:3: repeated header row \(text,label\) "
                       r"\(pass bad_rows='skip'"):  # fmt: skip
        read_labelled(tmp_path / "j.csv", bad_rows="error")
    # a corpus column and predict's table read through the same rows
    assert list(iter_texts(tmp_path / "j.csv")) == ["good", "bad"]
    tsv = _write(tmp_path, "j.tsv", b"\ttext\tlabel\n0\tgood\tpos\n\ttext\tlabel\n0\tbad\tneg\n")
    assert read_labelled(tsv)[0].texts == ["good", "bad"]  # pandas' index column too


def test_a_header_repeated_in_another_order_reorders_the_rows_after_it(tmp_path):
    path = _write(tmp_path, "s.csv", b"text,label\ngood,pos\nlabel,text\nneg,bad\nneg,awful\n")
    data, bad = read_labelled(path)
    assert (data.texts, data.labels) == (["good", "bad", "awful"], ["pos", "neg", "neg"])
    assert bad.format().endswith("1 repeated header row in another column order (line 3)")
    with pytest.raises(DataError, match=r"s\.csv:3: repeated header row in another column "
                       r"order \(label,text\): the rows after it have their columns in that "
                       r"order"):  # fmt: skip
        read_labelled(path, bad_rows="error")


@pytest.mark.parametrize(("body", "texts", "said"), [
    # label,text twice then text,label: the third header flipped the columns the wrong way
    (b"label,text\nneg,bad\nlabel,text\nneg,awful\ntext,label\nnice,pos\n",
     ["good", "bad", "awful", "nice"], "2 repeated header row in another column order "
     "(line 3, line 7), 1 repeated header row (line 5)"),
    (b"label,text\nneg,bad\ntext,label\nnice,pos\n", ["good", "bad", "nice"],
     "2 repeated header row in another column order (line 3, line 5)"),
])  # fmt: skip
def test_each_repeated_header_is_read_against_the_column_order_before_it(
    tmp_path, body, texts, said
):
    path = _write(tmp_path, "h.csv", b"text,label\ngood,pos\n" + body)
    data, bad = read_labelled(path)
    labels = {"good": "pos", "bad": "neg", "awful": "neg", "nice": "pos"}
    assert (data.texts, data.labels) == (texts, [labels[t] for t in texts])
    assert bad.format().endswith(said)


def test_a_one_column_table_keeps_a_text_that_names_its_column(tmp_path):
    # predict stopped on it ("repeated header row"), a corpus dropped it
    from finetune_helpers import predict_lines as _lines

    path = _write(tmp_path, "one.csv", b"text\nhello world\ntext\ngreat\n")
    assert list(_lines(str(path), "utf-8", "strict")) == ["hello world", "text", "great"]
    assert list(iter_texts(path)) == ["hello world", "text", "great"]


def test_a_text_that_only_names_a_column_is_kept(tmp_path):
    path = _write(tmp_path, "t.csv", b"text,label\ntext,x\nlabel,y\n")
    assert read_labelled(path)[0].texts == ["text", "label"]


# -- labels written as a missing value -------------------------------------------------------
def test_a_nan_label_is_missing_and_other_na_spellings_are_classes_said_once(tmp_path):
    # df.astype(str) writes NaN as "nan": it became a class; but "None" (LUIS's intent) and
    # "NA" are real classes too, and were dropped as missing
    rows = "".join(f"t{i},{na}\n" for i, na in enumerate(["nan", "NaN", "NA", "None", " nan ",
                                                           "None", "null"]))  # fmt: skip
    path = _write(tmp_path, "na.csv", f"text,label\nNA,pos\nNone,neg\n{rows}".encode())
    data, bad = read_labelled(path)
    assert data.texts == ["NA", "None", "t2", "t3", "t5", "t6"]  # texts are kept
    assert data.labels == ["pos", "neg", "NA", "None", "None", "null"]
    assert bad.counts == {"na_label": 3}
    assert bad.na_like_labels == {"NA": 1, "None": 2, "null": 1}
    assert bad.format() == (
        f"{path}: 3 rows dropped: 3 missing label (written nan, as pandas writes a missing "
        "value) (line 4, line 5, line 8); label 'NA' (1 row) is how pandas writes a missing "
        "value; it is kept as a class: drop those rows if they are missing labels; label "
        "'None' (2 rows) is how pandas writes a missing value; it is kept as a class: drop "
        "those rows if they are missing labels; label 'null' (1 row) is how pandas writes a "
        "missing value; it is kept as a class: drop those rows if they are missing labels")
    assert type(bad).from_dict(bad.to_dict()).format() == bad.format()
    with pytest.raises(DataError, match=r"na\.csv:4: missing label \(written nan, as pandas "
                       r"writes a missing value\) \('nan'\)"):  # fmt: skip
        read_labelled(path, bad_rows="error")
    # JSON Lines: null and NaN are missing values; a string is a label (read_json keeps it)
    jsonl = _write(tmp_path, "na.jsonl", b'{"text": "a", "label": "nan"}\n'
                   b'{"text": "b", "label": NaN}\n{"text": "c", "label": "None"}\n'
                   b'{"text": "d", "label": null}\n')  # fmt: skip
    data, bad = read_labelled(jsonl)
    assert (data.texts, data.labels) == (["a", "c"], ["nan", "None"])
    assert (bad.counts, bad.na_like_labels) == ({"na_label": 1, "missing_label": 1}, {})


def test_a_na_like_label_is_said_where_read_notes_are(tmp_path, capsys):
    from vecgraft.cli._text_args import note_read

    _, bad = read_labelled(_write(tmp_path, "n.csv", b"text,label\na,NA\nb,pos\n"))
    assert not bad and bad.noteworthy
    note_read(bad.to_dict())
    assert capsys.readouterr().err == (f"note: {tmp_path / 'n.csv'}: label 'NA' (1 row) is how "
                                       "pandas writes a missing value; it is kept as a class: "
                                       "drop those rows if they are missing labels\n")  # fmt: skip


# -- messages ------------------------------------------------------------------------------
@pytest.mark.parametrize(("header", "near"), [
    (b"Text,label", "'Text'"), (b"\xe2\x80\x8btext,label", "'\\\\u200btext'")])  # fmt: skip
def test_a_column_name_off_by_case_or_an_invisible_character_is_suggested(tmp_path, header, near):
    path = _write(tmp_path, "h.csv", header + b"\ngood,pos\n")
    with pytest.raises(DataError, match=rf"no text column 'text'; columns found: .*; did you "
                       rf"mean {near}\? \(pass text_column="):  # fmt: skip
        read_labelled(path)
    jsonl = _write(tmp_path, "h.jsonl", b'{"Text": "a", "label": "x"}\n')
    with pytest.raises(DataError, match=r"did you mean 'Text'\?"):
        read_labelled(jsonl)


def test_every_missing_column_is_named_in_one_error_with_its_suggestion(tmp_path, capsys):
    # `Text,Label` took two failed runs: the first error named only the text column
    path = _write(tmp_path, "h.csv", b"Text,Label\ngood,pos\n")
    with pytest.raises(DataError) as caught:
        read_labelled(path)
    assert str(caught.value) == (
        f"{path}: no text column 'text' (did you mean 'Text'?) and no label column 'label' "
        "(did you mean 'Label'?); columns found: 'Text', 'Label' (pass text_column=... and "
        "label_column=... to choose them)")  # fmt: skip
    other = _write(tmp_path, "o.csv", b"review,stars\ngood,5\n")
    with pytest.raises(DataError, match=r": no text column 'text' and no label column 'label'; "
                       r"columns found: 'review', 'stars' \("):  # fmt: skip
        read_labelled(other)
    jsonl = _write(tmp_path, "h.jsonl", b'{"Text": "a", "Label": "x"}\n')
    with pytest.raises(DataError, match=r"h.jsonl:1: no text field 'text' \(did you mean "
                       r"'Text'\?\) and no label field 'label' \(did you mean 'Label'\?\); "):
        read_labelled(jsonl)
    code, said = _cli(["finetune", "--train", str(path), "--vectors", "random"], capsys)
    assert code == 1
    assert "(pass --text-column NAME and --label-column NAME to choose them)" in said


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from vecgraft.cli import main

    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_bad_row_error_names_the_flag_of_the_command_and_the_keyword_from_python(
    tmp_path, capsys
):
    # it said "pass bad_rows='skip' (--bad-rows skip)" everywhere; finetune also has a
    # --skip-bad-rows (for vector files) that would not skip a table's rows
    path = _write(tmp_path, "e.csv", b"text,label\ngood film,pos\n,neg\nbad film,neg\n")
    run = [*("--vectors", "random", "--embedding-dim", "4", "--model", "boe", "--epochs", "1"),
           *("--no-plots", "--no-progress", "--out", str(tmp_path / "run"))]  # fmt: skip
    code, said = _cli(["finetune", "--train", str(path), *run, "--bad-rows", "error"], capsys)
    assert code == 1
    assert said.strip().endswith("e.csv:3: empty text (pass --bad-rows skip to drop such rows)")
    with pytest.raises(DataError) as caught:
        read_labelled(path, bad_rows="error")
    assert str(caught.value).endswith("e.csv:3: empty text (pass bad_rows='skip' to drop such "
                                      "rows)")  # fmt: skip
    from vecgraft.cli import _load, build_parser, flag_resolver
    from vecgraft.text.report import SKIP_HINT

    def rendered(command: str) -> str:
        parser = build_parser(command)
        sub = parser._subparsers._group_actions[0].choices[command]  # type: ignore[union-attr]
        return SKIP_HINT.render(flag_resolver(sub, _load(command)))

    assert rendered("compare") == " (pass --set bad_rows=skip to drop such rows)"
    assert rendered("build") == " (pass --bad-rows skip to drop such rows)"  # not --skip-bad-rows
    assert rendered("predict") == ""  # one answer a row: no skipping


def test_excel_sep_first_line_names_the_delimiter_and_is_skipped(tmp_path):
    # Excel writes `sep=;` first for a file in its regional separator: it was read as the
    # header ("no text column 'text'; columns found: 'sep=;'")
    path = _write(tmp_path, "x.csv", b'\xef\xbb\xbfsep=;\r\ntext;label\r\n"a; b";pos\r\n;neg\r\n')
    data, bad = read_labelled(path)
    assert (data.texts, data.labels, data.lines) == (["a; b"], ["pos"], [3])
    assert [(e.line, e.reason) for e in bad.examples] == [(4, "empty_text")]
    tabs = _write(tmp_path, "t.csv", b'sep=\t\ntext\tlabel\n"x\ny"\tpos\n')
    assert read_labelled(tabs)[0].texts == ["x\ny"]
    assert read_labelled(_write(tmp_path, "c.csv", b"sep=,\ntext,label\na,b\n"))[0].lines == [3]


def test_a_corpus_reads_a_lone_cr_as_predict_does(tmp_path):
    # iter_texts (pretrain, build) kept "third\rfourth line" as one document
    from finetune_helpers import predict_lines as _lines
    from vecgraft.text.reader import TextReader

    path = _write(tmp_path, "c.txt", b"\xef\xbb\xbfone\r\ntwo\rthree\nok\r\r\n\nlast\r")
    assert list(iter_texts(path)) == ["one", "two", "three", "ok", "last"]
    assert [row.line for row in TextReader().rows(path)] == [1, 2, 3, 4, 7]
    assert list(_lines(str(path), "utf-8", "strict")) == ["one", "two", "three", "ok", "", "",
                                                          "last"]  # fmt: skip
