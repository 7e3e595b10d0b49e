"""The one text reader: every command that reads text sees the same rows and the same bad lines."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import re
import tarfile
import tracemalloc
from pathlib import Path

import pytest

from vecgraft.cli import main
from vecgraft.errors import ConfigError, DataError
from vecgraft.finetune.data import read_labelled
from vecgraft.pretrain.corpus import Corpus
from vecgraft.text import Tokenizer, iter_texts
from vecgraft.text.reader import BadRowPolicy, ReadOptions, ReadReport, TextReader
from vecgraft.transformer.corpus import iter_lines

# A BOM, CRLF line ends, quotes inside TSV fields (one at the start of a field, which a
# quoting reader would swallow), one Latin-1 byte pair on line 4, an empty text on line 5.
AWKWARD = (
    b"\xef\xbb\xbftext\tlabel\r\n"
    b'say "hi" there\tpos\r\n'
    b'"quoted" start\tneg\r\n'
    b"caf\xe9 ol\xe9\tpos\r\n"
    b"\tneg\r\n"
    b"last one\tneg\r\n"
)
ROWS = ['say "hi" there', '"quoted" start', "caf\ufffd ol\ufffd", "last one"]
LABELS = ["pos", "neg", "pos", "neg"]
GLOVE = "say 1 0 0 0\nhi 0 1 0 0\nthere 0 0 1 0\nlast 1 1 1 1\none 0 0 0 1\n"


@pytest.fixture
def awkward(tmp_path: Path) -> Path:
    path = tmp_path / "awkward.tsv"
    path.write_bytes(AWKWARD)
    return path


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Exit code and everything printed (fine-tuning logs to stdout, notes go to stderr)."""
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _build_argv(path: Path, tmp_path: Path, *extra: str) -> list[str]:
    vectors = tmp_path / "glove.txt"
    vectors.write_text(GLOVE, encoding="utf-8")
    out = tmp_path / "emb"
    return ["build", "--corpus", str(path), "--vectors", str(vectors), "--out", str(out), *extra]


def _finetune_argv(path: Path, tmp_path: Path, *extra: str) -> list[str]:
    return [
        "finetune",
        *("--train", str(path), "--test", str(path), "--valid", str(path)),
        *("--vectors", "random", "--embedding-dim", "4", "--model", "boe"),
        *("--epochs", "1", "--max-steps", "1", "--no-dedupe", "--no-plots", "--no-progress"),
        *("--out", str(tmp_path / "run"), *extra),
    ]


def _pretrain_argv(path: Path, tmp_path: Path, *extra: str) -> list[str]:
    return [
        "pretrain",
        *("--method", "word2vec", "--corpus", str(path), "--out", str(tmp_path / "w2v")),
        *("--dim", "4", "--min-count", "1", "--epochs", "1", "--workers", "1", "--no-progress"),
        *extra,
    ]


def test_strict_by_default_every_reader_names_file_and_line(awkward, tmp_path, capsys):
    where = f"{awkward}:4: invalid UTF-8"
    with pytest.raises(DataError, match=where):
        list(iter_texts(awkward))
    with pytest.raises(DataError, match=where):
        read_labelled(awkward)
    with pytest.raises(DataError, match=where):
        list(Corpus(awkward))
    with pytest.raises(DataError, match=where):
        list(iter_lines(awkward))
    for argv in (
        _build_argv(awkward, tmp_path),
        _finetune_argv(awkward, tmp_path),
        _pretrain_argv(awkward, tmp_path),
    ):
        code, err = _cli(argv, capsys)
        assert code != 0 and where in err and "--errors" in err, argv[0]
        assert "Traceback" not in err


def test_every_reader_sees_the_same_rows_and_the_same_bad_line(awkward, tmp_path, capsys):
    # iter_texts (vecgraft build's reader)
    stream = iter_texts(awkward, errors="replace")
    assert list(stream) == ROWS
    assert stream.stats.counts == {"empty_text": 1} and stream.stats.examples[0].line == 5
    assert (stream.stats.replaced_rows, stream.stats.unicode_replacements) == (1, 2)
    assert stream.stats.replaced_lines == [f"{awkward}:4"]

    # fine-tuning data
    data, bad = read_labelled(awkward, errors="replace")
    assert data.texts == ROWS and data.labels == LABELS and data.lines == [2, 3, 4, 6]
    assert bad.counts == {"empty_text": 1} and [e.line for e in bad.examples] == [5]
    assert bad.replaced_lines == [f"{awkward}:4"]

    # the transformer corpus mode
    assert list(iter_lines(awkward, errors="replace")) == ROWS

    # the pretraining corpus (tokens of the same rows)
    corpus = Corpus(awkward, errors="replace")
    assert list(corpus) == [Tokenizer()(text) for text in ROWS]
    assert corpus.stats.read["counts"] == {"empty_text": 1}
    assert [e["line"] for e in corpus.stats.read["examples"]] == [5]

    # vecgraft build: same vocabulary, the drop and the repair recorded and said aloud
    code, err = _cli(_build_argv(awkward, tmp_path, "--errors", "replace"), capsys)
    assert code == 0, err
    assert "line 5" in err and f"{awkward}:4" in err
    vocab = json.loads((tmp_path / "emb" / "vocab.json").read_text(encoding="utf-8"))
    read = vocab["metadata"]["corpus"]
    assert read["counts"] == {"empty_text": 1} and read["examples"][0]["line"] == 5
    tokens = {t for text in ROWS for t in Tokenizer()(text)}
    assert tokens <= set(vocab["tokens"])

    # vecgraft pretrain: metadata.json holds the same report
    code, err = _cli(_pretrain_argv(awkward, tmp_path, "--errors", "replace"), capsys)
    assert code == 0, err
    assert "line 5" in err
    meta = json.loads((tmp_path / "w2v" / "metadata.json").read_text(encoding="utf-8"))
    assert meta["text_read"]["counts"] == {"empty_text": 1}
    assert meta["text_read"]["replaced_lines"] == [f"{awkward}:4"]
    assert meta["documents"] == len(ROWS)

    # vecgraft finetune: the run's notes (splits.json) list the dropped line per file
    code, err = _cli(_finetune_argv(awkward, tmp_path, "--errors", "replace"), capsys)
    assert code == 0, err
    assert "line 5" in err
    splits = json.loads((tmp_path / "run" / "splits.json").read_text(encoding="utf-8"))
    read = splits["read"][str(awkward)]
    assert read["counts"] == {"empty_text": 1} and read["examples"][0]["line"] == 5
    assert splits["train"]["rows"] == [f"{awkward}:{n}" for n in (2, 3, 4, 6)]

    # vecgraft evaluate reads the same file the same way
    code, err = _cli(
        ["evaluate", str(tmp_path / "run"), "--data", str(awkward), "--errors", "replace"],
        capsys,
    )
    assert code == 0, err
    assert "line 5" in err


def test_errors_replace_and_ignore_count_repaired_lines(tmp_path):
    path = tmp_path / "c.txt"
    path.write_bytes(b"ok\nbad \xff\xfe\nfine \xef\xbf\xbd\nbad \xc3\n")
    stream = iter_texts(path, errors="replace")
    assert list(stream) == ["ok", "bad \ufffd\ufffd", "fine \ufffd", "bad \ufffd"]
    report = stream.stats
    assert (report.replaced_rows, report.unicode_replacements) == (2, 3)
    assert report.replaced_lines == [f"{path}:2", f"{path}:4"]
    assert "2 line(s) with undecodable bytes replaced" in report.format()
    ignored = iter_texts(path, errors="ignore")
    assert list(ignored) == ["ok", "bad ", "fine \ufffd", "bad "]
    assert ignored.stats.replaced_rows == 2
    # an explicit encoding decodes every row, nothing is repaired
    latin = iter_texts(path, encoding="latin-1")
    assert list(latin)[1] == "bad ÿþ" and latin.stats.replaced_rows == 0


def test_a_whole_file_text_names_the_line_of_its_bad_bytes(tmp_path, capsys):
    # one document per file: the note said `:1` (the text's first line) for a bad byte on
    # line 5, as `vecgraft demo` did for BBC News' sports/199.txt
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "file.txt").write_bytes(b"one\ntwo\nthree\nfour\nprice \xa3100\nsix\n")
    stream = iter_texts(folder / "file.txt", one_per="file", errors="replace")
    assert list(stream) == ["one\ntwo\nthree\nfour\nprice \ufffd100\nsix\n"]
    assert stream.stats.replaced_lines == [f"{folder / 'file.txt'}:5"]
    labelled = tmp_path / "labelled"
    (labelled / "sport").mkdir(parents=True)
    (labelled / "sport" / "001.txt").write_bytes(b"Title\n\nGoal \xa3 won\n")
    _, bad = read_labelled(labelled, errors="replace")
    assert bad.replaced_lines == [f"{labelled / 'sport' / '001.txt'}:3"]
    code = main(["pretrain", "--method", "word2vec", "--corpus", str(folder), "--one-per",
                 "file", "--errors", "replace", "--min-count", "1", "--dim", "8",
                 "--epochs", "1", "--out", str(tmp_path / "vec"), "--no-progress"])
    assert code == 0
    captured = capsys.readouterr()
    assert "file.txt:5" in captured.out + captured.err


def test_no_whole_file_fallback(tmp_path):
    # one bad line must not change how the correctly encoded lines are decoded
    path = tmp_path / "d.csv"
    path.write_bytes("text,label\nZürich,a\ncafé,b\n".encode() + b"caf\xe9,c\n")
    data, bad = read_labelled(path, errors="replace")
    assert data.texts == ["Zürich", "café", "caf\ufffd"]
    assert bad.replaced_rows == 1 and bad.replaced_lines == [f"{path}:4"]


def test_dropped_rows_have_line_numbers(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("id,text\n1,one\n2,\n3\n\n4,four\n5,  \n", encoding="utf-8")
    stream = iter_texts(path)
    assert list(stream) == ["one", "four"]
    report = stream.stats
    assert report.counts == {"empty_text": 2, "ragged_row": 1}
    assert [(e.line, e.reason) for e in report.examples] == [
        (3, "empty_text"),
        (4, "ragged_row"),
        (7, "empty_text"),
    ]
    assert report.blank == 3  # two empty texts and one blank line (not a dropped row)
    assert "3 rows dropped" in report.format() and "line 4" in report.format()
    with pytest.raises(DataError, match=r"d\.csv:3: empty text") as caught:
        list(iter_texts(path, bad_rows="error"))
    # the problem and the advice to skip, apart (predict, one answer a row, drops the advice)
    assert caught.value.problem.endswith("d.csv:3: empty text")
    assert caught.value.advice == "pass bad_rows='skip' to drop such rows"
    assert str(caught.value) == f"{caught.value.problem} ({caught.value.advice})"
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text('{"text": "a", "label": "x"}\n{broken\n{"text": "b"}\n', encoding="utf-8")
    data, bad = read_labelled(jsonl)
    assert data.texts == ["a"]
    assert bad.counts == {"invalid_json": 1, "missing_label": 1}
    assert [e.line for e in bad.examples] == [2, 3]


def test_a_row_with_more_fields_than_the_header_is_dropped_not_misread(tmp_path):
    # an unquoted comma in a text used to make its second half the label
    path = tmp_path / "d.csv"
    path.write_text("text,label\nfine,a\nI liked it, really,b\nalso fine,b,\n", encoding="utf-8")
    data, bad = read_labelled(path)
    assert data.texts == ["fine", "also fine"]  # an empty trailing field is no harm
    assert data.labels == ["a", "b"]
    assert bad.counts == {"extra_fields": 1}
    assert [(e.line, e.reason) for e in bad.examples] == [(3, "extra_fields")]
    with pytest.raises(DataError, match=r"d\.csv:3: more fields than the header .*3 fields, 2"):
        read_labelled(path, bad_rows="error")
    tsv = tmp_path / "d.tsv"
    tsv.write_text("text\tlabel\none\ta\ntwo\tb\tc\n", encoding="utf-8")
    data, bad = read_labelled(tsv)
    assert data.texts == ["one"] and bad.counts == {"extra_fields": 1}


def test_a_jsonl_label_that_is_a_list_is_an_error_not_a_class(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "a", "label": "x"}\n{"text": "b", "label": ["x", "y"]}\n',
                    encoding="utf-8")
    with pytest.raises(DataError, match=r'd\.jsonl:2: label .label. holds a list \(\["x", "y"\]\); '
                       "each row needs one label"):
        read_labelled(path)
    path.write_text('{"text": "a", "label": 1}\n{"text": "b", "label": true}\n', encoding="utf-8")
    assert read_labelled(path)[0].labels == ["1", "true"]


def test_a_jsonl_label_written_as_a_float_is_the_same_class_as_the_integer(tmp_path):
    # pandas writes a label column as floats once it held a NaN: 1.0 was the class "1.0",
    # unknown to a CSV test file's "1" and apart from another file's 1
    path = tmp_path / "d.jsonl"
    rows = ['{"text": "a", "label": 1.0}', '{"text": "b", "label": 1}',
            '{"text": "c", "label": 0.5}', '{"text": "d", "label": -2.0}']
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert read_labelled(path)[0].labels == ["1", "1", "0.5", "-2"]


def test_the_same_labels_in_csv_and_jsonl_are_the_same_classes(tmp_path):
    # a CSV's "1.0" was the class "1.0" where the same file as JSON Lines (1.0, or "1.0")
    # gave "1": a run trained on one scored the other's every row as an unseen label
    labels = ["1.0", "0.0", "2", "0.5", "pos", "01", "-3.0"]
    as_json = [1.0, 0.0, 2, 0.5, "pos", "01", -3.0]  # what pandas' to_json writes
    csv_path = tmp_path / "d.csv"
    csv_path.write_text("text,label\n" + "".join(f"t,{label}\n" for label in labels))
    numbers, strings = tmp_path / "n.jsonl", tmp_path / "s.jsonl"
    numbers.write_text("".join(json.dumps({"text": "t", "label": v}) + "\n" for v in as_json))
    strings.write_text("".join(json.dumps({"text": "t", "label": v}) + "\n" for v in labels))
    read = [read_labelled(path)[0].labels for path in (csv_path, numbers, strings)]
    assert read[0] == read[1] == read[2] == ["1", "0", "2", "0.5", "pos", "01", "-3"]


def test_labels_that_only_look_like_numbers_are_kept_as_written(tmp_path):
    # "1.10" and "1.1" can be two codes of a hierarchy (reading them as numbers merged the
    # two classes); only a whole number's zero fraction ("2.0", a float column) is dropped
    path = tmp_path / "d.csv"
    path.write_text("text,label\n" + "".join(
        f"t,{label}\n" for label in ["1.10", "1.1", "0.50", "1e2", "007.0", "2.00"]))  # fmt: skip
    assert read_labelled(path)[0].labels == ["1.10", "1.1", "0.50", "1e2", "007.0", "2"]


def test_one_bad_row_policy_with_the_old_spelling():
    assert BadRowPolicy("report") is BadRowPolicy.SKIP
    assert ReadOptions(bad_rows="report").bad_rows is BadRowPolicy.SKIP  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="bad_rows"):
        ReadOptions(bad_rows="drop")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="errors"):
        ReadOptions(errors="surrogateescape")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="ASCII-compatible"):
        ReadOptions(encoding="utf-16")
    with pytest.raises(ConfigError, match="not a known text encoding"):
        ReadOptions(encoding="klingon")


@pytest.mark.parametrize("encoding", ["hex", "rot13", "idna"])
def test_a_codec_that_reads_no_text_file_is_refused(encoding):
    # Python's codec registry knows them, so they passed codecs.lookup and then escaped
    # as a LookupError ("'hex' is not a text encoding") or UnicodeError traceback
    with pytest.raises(ConfigError, match=f"^encoding='{encoding}' is not a known text encoding$"):
        ReadOptions(encoding=encoding)


@pytest.mark.parametrize("command", ["build", "finetune", "tune", "pretrain", "evaluate",
                                     "predict"])  # fmt: skip
def test_a_bad_text_encoding_names_the_flag_typed(tmp_path, capsys, awkward, command):
    # every command said `encoding='klingon' is not a known text encoding`, the library's
    # keyword, where the user typed --encoding klingon
    argv = {
        "build": _build_argv(awkward, tmp_path),
        "finetune": _finetune_argv(awkward, tmp_path),
        "tune": ["tune", "--train", str(awkward), "--out", str(tmp_path / "t")],
        "pretrain": ["pretrain", "--method", "word2vec", "--corpus", str(awkward), "--out",
                     str(tmp_path / "p")],
        "evaluate": ["evaluate", str(tmp_path / "run"), "--data", str(awkward)],
        "predict": ["predict", str(tmp_path / "run"), str(awkward)],
    }[command]  # fmt: skip
    if command in ("evaluate", "predict"):  # a run to read texts for
        assert main(_finetune_argv(awkward, tmp_path, "--errors", "replace")) == 0
        capsys.readouterr()
    for name, why in [("klingon", " is not a known text encoding"),
                      ("utf-16", ": only ASCII-compatible encodings are supported")]:  # fmt: skip
        assert main([*argv, "--encoding", name]) == 1
        assert capsys.readouterr().err.startswith(
            f"vecgraft {command}: error: --encoding {name}{why}"
        )
    with pytest.raises(ConfigError, match=r"^encoding='klingon' is not a known text encoding$"):
        ReadOptions(encoding="klingon")  # Python keeps its keyword


def test_gzip_is_streamed_not_buffered(tmp_path):
    # 10 MB once decompressed, ~10 KB on disk: buffering it whole would show in the peak
    row = ("word " * 200).strip().encode() + b"\ta\r\n"
    path = tmp_path / "big.tsv.gz"
    path.write_bytes(gzip.compress(b"text\tlabel\r\n" + row * 10_000))
    tracemalloc.start()
    try:
        rows = TextReader(label_column="label").rows(path)
        first = next(rows)
        rows.close()
        _, peak_first = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        stream = iter_texts(path)
        count = sum(1 for _ in stream)
        _, peak_all = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (first.label, first.line, len(first.text)) == ("a", 2, 999)
    assert count == 10_000 and stream.stats.counts == {}
    assert peak_first < 2**21 and peak_all < 2**22, (peak_first, peak_all)


def test_predict_reads_every_line_with_the_same_decoding(tmp_path, capsys, monkeypatch):
    from finetune_helpers import predict_lines as _lines

    path = tmp_path / "in.txt"
    path.write_bytes(b"\xef\xbb\xbfone\r\n\r\ncaf\xe9\r\n")
    with pytest.raises(DataError, match=r"in\.txt:3: invalid UTF-8"):
        list(_lines(str(path), "utf-8", "strict"))
    assert list(_lines(str(path), "utf-8", "replace")) == ["one", "", "caf\ufffd"]
    assert "1 line(s) with undecodable bytes replaced" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"a\n\xff\n")))
    with pytest.raises(DataError, match=r"<stdin>:2: invalid UTF-8"):
        list(_lines("-", "utf-8", "strict"))


def test_a_table_line_over_max_line_bytes_names_the_option_from_python(tmp_path):
    # the limit the caller set is named as the Python option that sets it, never as a flag
    path = tmp_path / "t.csv"
    path.write_text("text,label\n" + "x" * 200 + ",a\n", encoding="utf-8")
    reader = TextReader(options=ReadOptions(max_line_bytes=100))
    with pytest.raises(DataError) as info:
        list(reader.rows(path))
    assert str(info.value) == (
        f"{path}:2: malformed CSV row: a line longer than 100 bytes, the most read as one "
        "text: split the text over several lines, or check that the file has line breaks "
        "(ReadOptions(max_line_bytes=...) sets the limit)"
    )
    assert "max_line_bytes" not in info.value.describe(lambda _keyword: None)  # a command


def test_predict_names_its_input_in_the_replaced_lines_note(tmp_path, capsys, monkeypatch):
    # it said "note: : no bad rows; 1 line(s) with undecodable bytes replaced": no name,
    # and bad rows predict never drops
    from finetune_helpers import predict_lines as _lines

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"a\n\xff\n")))
    assert list(_lines("-", "utf-8", "replace")) == ["a", "\ufffd"]
    assert capsys.readouterr().err == (
        "note: <stdin>: 1 line(s) with undecodable bytes replaced (<stdin>:2)\n"
    )
    path = tmp_path / "in.txt"
    path.write_bytes(b"\xff\n")
    assert list(_lines(str(path), "utf-8", "replace")) == ["\ufffd"]
    assert capsys.readouterr().err == (
        f"note: {path}: 1 line(s) with undecodable bytes replaced ({path}:1)\n"
    )
    report = ReadReport("d.csv", replaced_rows=1, replaced_lines=["d.csv:3"])
    assert report.format() == "d.csv: 1 line(s) with undecodable bytes replaced (d.csv:3)"
    assert ReadReport("d.csv").format() == "d.csv: no bad rows"


def test_report_round_trips_through_json(awkward):
    stream = iter_texts(awkward, errors="replace")
    list(stream)
    again = ReadReport.from_dict(json.loads(json.dumps(stream.stats.to_dict())))
    assert again.format() == stream.stats.format()
    assert again.counts == stream.stats.counts and again.examples == stream.stats.examples


def test_report_counts_the_rows_it_handed_out(tmp_path):
    # splits.json stores each input's read report: it said "texts": 0 for every file
    table = tmp_path / "d.csv"
    table.write_text("text,label\none,a\n,b\ntwo,b\nthree,a\n", encoding="utf-8")
    data, report = read_labelled(table)
    assert len(data.texts) == report.texts == 3 and report.to_dict()["texts"] == 3
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text('{"text": "a", "label": "x"}\n{broken\n{"text": "b", "label": "y"}\n')
    assert read_labelled(jsonl)[1].texts == 2
    folder = tmp_path / "classes"
    for label, n in (("neg", 1), ("pos", 2)):
        (folder / label).mkdir(parents=True)
        for i in range(n):
            (folder / label / f"{i}.txt").write_text(f"{label} text {i}", encoding="utf-8")
    assert read_labelled(folder)[1].texts == 3
    plain = tmp_path / "corpus.txt"
    plain.write_text("first line\n\nsecond line\n", encoding="utf-8")
    stream = iter_texts(plain)
    assert list(stream) == ["first line", "second line"] and stream.stats.texts == 2


def test_a_chinese_file_not_in_utf8_says_which_encoding_it_reads_as(awkward, tmp_path, capsys):
    """Excel on a Chinese Windows saves CSV as GBK/GB18030, or 'Unicode text' as UTF-16."""
    rows = "text,label\n房间很干净，服务好,正面\n太差了，不会再来,负面\n"
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(rows.encode("gb18030"))
    code, err = _cli(_finetune_argv(gbk, tmp_path), capsys)
    assert code != 0 and f"{gbk}:2: invalid UTF-8" in err
    assert "reads as GB18030 Chinese" in err and "房间很干净" in err and "--encoding gb18030" in err
    code, out = _cli(_finetune_argv(gbk, tmp_path, "--encoding", "gb18030", "--overwrite"), capsys)
    assert code == 0, out
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes(rows.encode("utf-16"))  # with its byte order mark
    with pytest.raises(DataError, match=r"utf16\.csv:1: .*UTF-16.*convert"):
        read_labelled(utf16)
    with pytest.raises(DataError) as info:  # Latin-1 that is not GB18030: no such guess
        read_labelled(awkward)
    assert "GB18030" not in str(info.value)
    latin = tmp_path / "latin.csv"  # Latin-1 that decodes as GB18030 ('Gr鲞e'): no guess either
    latin.write_bytes("text,label\nGröße über alles,a\n".encode("latin-1"))
    with pytest.raises(DataError) as info:
        read_labelled(latin)
    assert "GB18030" not in str(info.value)


def test_a_big5_file_says_it_reads_as_big5(tmp_path, capsys):
    """Traditional Chinese CSV from a Taiwan or Hong Kong Excel is Big5 (code page 950): it got
    only the generic "--encoding NAME" hint, where GB18030 input is named. Many Big5 byte
    pairs are GB18030 too, so the guess goes to the decoding with common characters."""
    rows = "text,label\n這家飯店很乾淨，服務很好,正面\n太差了，不會再來,負面\n裏面很舒服,正面\n"
    big5 = tmp_path / "big5.csv"
    big5.write_bytes(rows.encode("cp950"))
    code, err = _cli(_finetune_argv(big5, tmp_path), capsys)
    assert code != 0 and f"{big5}:2: invalid UTF-8" in err
    assert "reads as Big5 Chinese" in err and "這家飯店很乾淨" in err and "--encoding cp950" in err
    assert "GB18030" not in err
    code, out = _cli(_finetune_argv(big5, tmp_path, "--encoding", "cp950", "--overwrite"), capsys)
    assert code == 0, out
    lines = [("價格太貴", "cp950"), ("電腦軟體與漢字", "cp950"), ("房间很干净", "gb18030"),
             ("佢哋嘅餐廳好正", "big5hkscs")]  # fmt: skip
    for line, codec in lines:
        path = tmp_path / "one.txt"
        path.write_bytes(line.encode(codec) + b"\n")
        with pytest.raises(DataError) as info:
            list(iter_texts(path))
        said = {"gb18030": "GB18030", "cp950": "Big5", "big5hkscs": "Big5-HKSCS"}[codec]
        assert f"reads as {said} Chinese ('{line}')" in str(info.value), (line, str(info.value))
        assert f"encoding={codec!r}" in str(info.value)


@pytest.mark.parametrize(
    "line", ["退色严重，……………", "物美价廉！！！…………", "不错哦……不错哦", "好评——"]
)
def test_gbk_ellipses_and_dashes_read_as_gb18030_not_big5(tmp_path, line):
    """GBK's … and — (General Punctuation) counted against GB18030 while the same bytes read
    as Big5 gave full-width ＃ and 〞, so reviews full of …… were called Big5."""
    path = tmp_path / "gbk.csv"
    path.write_bytes(f"text,label\n{line},0\n".encode("gbk"))
    with pytest.raises(DataError) as info:
        list(TextReader(label_column="label").rows(path))
    said = str(info.value)
    assert f"reads as GB18030 Chinese ('{line},0')" in said and "Big5" not in said, said
    assert "encoding='gb18030'" in said


def test_only_the_judged_sample_is_decoded():
    """The whole buffer was decoded as GB18030, cp950 and big5hkscs to judge its first 2000
    characters: a stray byte far past them hid the hint, and a large file cost three passes."""
    from vecgraft._util.gb18030 import legacy_chinese

    data = "房间很干净，".encode("gbk") * 1000 + b"\x80\xff"
    assert legacy_chinese(data) == ("gb18030", "房间很干净，" * 333 + "房间")


def _not_utf8_readers():
    from vecgraft.cli.from_transformer import read_words
    from vecgraft.evaluate.datasets import read_pairs
    from vecgraft.text.hf_vocab import _from_vocab_txt
    from vecgraft.text.segment import read_user_dict
    from vecgraft.text.stopwords import read_stopwords
    from vecgraft.transformer.graft_words import read_token_list

    return [
        (read_stopwords, "stopword file"),
        (read_user_dict, "jieba user dictionary"),
        (lambda p: _from_vocab_txt(p, {}), "vocab.txt"),
        (read_words, "word list"),
        (read_token_list, "token list"),
        (read_pairs, "benchmark file"),
    ]


@pytest.mark.parametrize("index", range(6))
def test_every_small_file_reader_says_not_utf8_the_same_way(tmp_path, index):
    # each said it its own way: the codec's reason, no line, no byte, no fix
    from vecgraft.errors import VecgraftError

    read, what = _not_utf8_readers()[index]
    path = tmp_path / "list.txt"
    path.write_bytes("\ufeffword\tother\t1\n".encode() + b"caf\xe9\tx\t2\n")
    with pytest.raises(VecgraftError) as err:
        read(path)
    assert str(err.value).startswith(
        f"{path}:2: {what} is not UTF-8 (byte 0xe9 at offset 19); save it as UTF-8"
    )


UTF16_TEXT = "Shares rallied after results\nThe film won an award\n"


@pytest.mark.parametrize(("codec", "order"), [("utf-16-le", "LE"), ("utf-16-be", "BE")])
def test_utf16_without_a_bom_is_refused_by_every_way_of_reading(tmp_path, codec, order):
    # ASCII in UTF-16 is valid UTF-8 with a NUL beside every letter: predict gave 3 answers
    # for 2 lines, build a vocabulary of single letters, pretrain trained on them
    from finetune_helpers import predict_lines as _lines

    plain = tmp_path / "u.txt"
    plain.write_bytes(UTF16_TEXT.encode(codec))
    table = tmp_path / "u.csv"
    table.write_bytes("text,label\nShares rallied,up\nThe film won,art\n".encode(codec))
    expected = rf"u\.(txt|csv):1: the file looks like UTF-16 .*iconv -f UTF-16{order} -t UTF-8"
    for read in (
        lambda: list(iter_texts(plain)),
        lambda: list(iter_texts(plain, one_per="file")),
        lambda: list(_lines(str(plain), "utf-8", "strict")),
        lambda: list(TextReader(options=ReadOptions(encoding="latin-1")).rows(plain)),
        lambda: read_labelled(table),
    ):
        with pytest.raises(DataError, match=expected):
            read()


def test_a_utf16_bom_is_named_under_every_encoding_and_nuls_alone_are_not(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(UTF16_TEXT.encode("utf-16"))
    with pytest.raises(DataError, match=r"bom\.txt:1: the file starts with a UTF-16 byte order"):
        list(TextReader(options=ReadOptions(encoding="latin-1", errors="replace")).rows(path))
    odd = tmp_path / "odd.txt"  # one stray NUL is not UTF-16, but no text either
    odd.write_bytes(b"a line\nwith a \x00 in it\nand another line\n")
    with pytest.raises(DataError, match=r"odd\.txt:2: a NUL byte \(U\+0000\) at byte 7 of"):
        list(iter_texts(odd))


_NUL_TEXT = "hello\0world\0foo bar\0" * 200 + "abc def ghi\n"  # all valid UTF-8
# an .npy file's head (np.save) and an x86-64 ELF header: NULs beside bytes that are no UTF-8
_NPY = b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (9,), }\n"
_ELF = bytes.fromhex(
    "7f454c4602010100000000000000000003003e0001000000d061000000000000"
    "4000000000000000704702000000000000000000400038000d0040001f001e00"
)


@pytest.mark.parametrize(
    ("name", "data", "line", "kw"),
    [
        # an .npy and an ELF file whose magic bytes are gone (those are named by them)
        ("a.npy", b"\x93NOPE" + _NPY[6:] + bytes(range(256)) * 4, 1, {}),
        ("elf.bin", b"\xde\xad\xbe\xef" + _ELF[4:] + bytes(range(256)) * 4, 1, {}),
        ("elf.txt", b"a\nb\n" + _ELF, 3, {"one_per": "file"}),  # the whole file: line 3
        ("late.txt", b"ok\n" * 5000 + _ELF, 5001, {}),  # past the first block
    ],
    ids=["npy", "elf", "whole-file", "late"],
)
def test_a_binary_file_is_said_to_be_binary_naming_file_and_line(tmp_path, name, data, line, kw):
    """NULs beside bytes that are not UTF-8 are a binary file under strict; under
    `--errors replace` an ELF head was "UTF-16 (big-endian)" at its line 6, an .npy "UTF-32
    (big-endian)": replace and ignore repair it as they repair any bad byte (asked for)."""
    path = tmp_path / name
    path.write_bytes(data)
    expected = rf"{re.escape(name)}:{line}: the file looks binary \(a NUL byte at byte \d+ "
    with pytest.raises(DataError, match=expected + r"of the line\); expected text"):
        list(iter_texts(path, **kw))
    if name == "late.txt":
        return  # its next line, `00 40 00 1f 00 1e 00`, reads as UTF-16 (a known limit)
    for errors in ("replace", "ignore"):  # not "UTF-16"/"UTF-32"
        assert list(iter_texts(path, errors=errors, **kw))


def test_a_scraped_line_with_a_stray_nul_and_a_bad_byte_is_repaired(tmp_path):
    # a stray NUL beside a mis-encoded byte refused the whole file as "binary" under replace
    path = tmp_path / "scraped.txt"
    path.write_bytes(b"first line fine\ncaf\xe9 au lait scraped\x00 text here\nlast line\n")
    assert list(iter_texts(path, errors="replace")) == [
        "first line fine", "caf\ufffd au lait scraped\ufffd text here", "last line"]  # fmt: skip
    assert list(iter_texts(path, errors="ignore"))[1] == "caf au lait scraped text here"
    with pytest.raises(DataError, match=r"scraped\.txt:2: the file looks binary"):
        list(iter_texts(path))


@pytest.mark.parametrize(
    ("data", "line", "column", "kw"),
    [
        (b"hello world\nsecond line\n" + bytes(64), 3, 0, {}),  # a file padded with NULs
        (b"hello world\n" + bytes(40) + b"\nafter\n", 2, 0, {}),
        (b"hello world\nabcde" + bytes(10) + b"\n", 2, 5, {}),
        (b"hello world\nword\x00word\x00wo\x00rd\x00 x\n", 2, 4, {}),  # a short line, 4 NULs
        (_NUL_TEXT.encode(), 1, 5, {}),
        (_NUL_TEXT.encode(), 1, 5, {"encoding": "latin-1"}),
        (b"a\nb\n" + _NUL_TEXT.encode(), 3, 5, {"one_per": "file"}),  # the whole file
    ],
    ids=["zero-tail", "zero-line", "short-pad", "four-nuls", "many", "latin-1", "whole-file"],
)
def test_nul_bytes_in_valid_text_are_stray_never_utf32_nor_binary(
    tmp_path, data, line, column, kw
):
    """A run of NULs (padding) read as "UTF-32 (little-endian)" with its iconv line under
    every option: two NUL bytes in each four, with none of the characters that UTF-32 has
    in the other two. NULs in valid UTF-8, however many, are stray ones: said under strict
    with the way out, repaired under replace."""
    path = tmp_path / "n.txt"
    path.write_bytes(data)
    expected = (rf"n\.txt:{line}: a NUL byte \(U\+0000\) at byte {column} of the line: text "
                r"files hold none \(a binary file\?\); remove stray NULs \(tr -d '\\000'\)")
    with pytest.raises(DataError, match=expected):
        list(iter_texts(path, **kw))
    text = data.decode(kw.get("encoding", "utf-8")).replace("\0", "\ufffd")
    lines = [text] if kw.get("one_per") else [t for t in text.split("\n") if t]
    assert list(iter_texts(path, errors="replace", **kw)) == lines
    if not kw:
        reader = TextReader(options=ReadOptions(errors="replace"))
        assert [row.text for row in reader.rows(path)] == lines
        report = reader.report
        assert (report.replaced_rows, report.unicode_replacements) == (1, data.count(0))
        assert report.replaced_lines == [f"{path}:{line}"]


@pytest.mark.parametrize(
    ("name", "data", "line", "column"),
    [
        ("cr.txt", "a\rb\x00\rc\n", 2, 1),  # a CR alone ends a line
        ("nul.csv", "text,label\na b,x\nc\x00d,y\n", 3, 1),
        ("nul.tsv", "text\na b\nc\x00d\n", 3, 1),
        ("nul.jsonl", '{"text": "a b"}\n{"text": "c\x00"}\n', 2, 11),
        ("nul.txt.gz", "ok\n" * 5000 + "x\x00\n", 5001, 1),  # past the first block
        ("start.txt", "ok\n\x00abc def\n", 2, 0),  # not UTF-16 (`00 61 62 63`)
    ],
)
def test_a_stray_nul_byte_is_refused_under_strict_naming_the_way_out(
    tmp_path, name, data, line, column
):
    """One NUL in valid text (scraped corpora hold them) is said as what it is, with how to
    go on: it was "the file looks binary; expected text", with no way to read the file."""
    path = tmp_path / name
    raw = data.encode()
    path.write_bytes(gzip.compress(raw) if name.endswith(".gz") else raw)
    expected = (rf"{re.escape(name)}:{line}: a NUL byte \(U\+0000\) at byte {column} of the "
                r"line: text files hold none \(a binary file\?\); remove stray NULs "
                r"\(tr -d '\\000'\) or pass errors='replace'$")
    with pytest.raises(DataError, match=expected):
        list(iter_texts(path))


@pytest.mark.parametrize(("errors", "nul"), [("replace", "\ufffd"), ("ignore", "")])
@pytest.mark.parametrize(
    ("name", "data", "texts"),
    [
        ("s.csv", "text,label\na b,x\nc\x00d,y\n", ["a b", "c{}d"]),
        ("s.tsv", "text\tlabel\na b\tx\nc\x00d\ty\n", ["a b", "c{}d"]),
        ("s.jsonl", '{"text": "z", "label": "x"}\n' * 2 + '{"text": "c\x00d", "label": "y"}\n',
         ["z", "z", "c{}d"]),
    ],
)
def test_a_stray_nul_byte_is_a_counted_repair_under_replace_and_ignore(
    tmp_path, errors, nul, name, data, texts
):
    """pandas reads a CSV with a stray NUL; `--errors replace` refused it whole, as binary."""
    path = tmp_path / name
    path.write_bytes(data.encode())
    reader = TextReader(label_column="label", options=ReadOptions(errors=errors))
    assert [row.text for row in reader.rows(path)] == [t.format(nul) for t in texts]
    report = reader.report
    assert (report.replaced_rows, report.unicode_replacements) == (1, 1)
    assert report.replaced_lines == [f"{path}:3"]
    # it said "undecodable bytes", of a NUL, which is valid UTF-8
    verb = "replaced" if errors == "replace" else "removed"
    assert report.format().endswith(f": 1 line(s) with NUL bytes {verb}, 1 NUL in all ({path}:3)")


def test_stray_nul_bytes_in_plain_text_are_repaired_per_line(tmp_path):
    path = tmp_path / "p.txt"  # the plain-line and block readers, a whole file too
    # a NUL beside an undecodable byte is a binary file: they are on lines of their own
    path.write_bytes(b"a b\nc\x00d \x00\n\xff x\ne f\n")
    reader = TextReader(options=ReadOptions(errors="replace"))
    texts = [row.text for row in reader.rows(path)]
    assert texts == ["a b", "c\ufffdd \ufffd", "\ufffd x", "e f"]
    assert (reader.report.replaced_rows, reader.report.unicode_replacements) == (2, 3)
    lines = TextReader(options=ReadOptions(errors="ignore")).lines(path.open("rb"), path, 99)
    assert list(lines) == [(1, "a b"), (2, "cd "), (3, " x"), (4, "e f")]
    whole = TextReader(one_per="file", options=ReadOptions(errors="ignore"))
    assert [row.text for row in whole.rows(path)] == ["a b\ncd \n x\ne f\n"]
    assert whole.report.replaced_lines == [f"{path}:2"]


def test_a_nul_byte_in_predict_input_names_its_line(tmp_path):
    path = tmp_path / "p.txt"
    path.write_bytes(b"fine\n" * 3 + b"bad \x00\n")
    with pytest.raises(DataError, match=r"p\.txt:4: a NUL byte \(U\+0000\) at byte 4"):
        list(TextReader().lines(path.open("rb"), path, 1 << 20))



def _tar(fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """An uncompressed tar of two small text files: ASCII and NUL padding, valid UTF-8."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for name, text in (("a.txt", b"hello world\nsecond line\n"), ("b.txt", b"more text\n")):
            info = tarfile.TarInfo(name)
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text))
    return buf.getvalue()


def _sqlite(tmp_path: Path) -> bytes:
    import sqlite3

    db = tmp_path / "made.sqlite"
    with sqlite3.connect(db) as con:
        con.execute("create table t (text)")
        con.execute("insert into t values ('hello world')")
    con.close()
    return db.read_bytes()


_SAFETENSORS_HEAD = b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
# an ELF head whose next line reads as UTF-16: under replace it was "UTF-16 (big-endian)"
_ELF_16 = b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\n" + "hello world".encode("utf-16-be")
_MAGIC_FILES = {
    "tar": (lambda _: _tar(), "a tar archive", r"extract its files first"),
    "gnu-tar": (lambda _: _tar(tarfile.GNU_FORMAT), "a tar archive", r"extract its files"),
    "elf": (lambda _: _ELF + bytes(range(256)) * 4, "an ELF executable or shared library", ""),
    "elf-utf16": (lambda _: _ELF_16, "an ELF executable or shared library", ""),
    "npy": (lambda _: _NPY + bytes(range(256)) * 4, r"a NumPy \.npy array", ""),
    "sqlite": (_sqlite, "an SQLite database", ""),
    "pdf": (lambda _: b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "a PDF document",
            ""),
    "safetensors": (lambda _: len(_SAFETENSORS_HEAD).to_bytes(8, "little") + _SAFETENSORS_HEAD
                    + bytes(4), "a safetensors file", ""),
    "png": (lambda _: b"\x89PNG\r\n\x1a\n" + bytes(20), "a PNG image", ""),
}


@pytest.mark.parametrize("errors", ["strict", "replace", "ignore"])
@pytest.mark.parametrize("kind", list(_MAGIC_FILES))
def test_a_binary_file_is_named_by_its_magic_bytes_under_every_option(tmp_path, kind, errors):
    """A tar of text files (ASCII and NUL padding, all valid UTF-8) was "a stray NUL" under
    strict and read as text under `--errors replace`, its headers as documents; an ELF
    binary was "UTF-16 (big-endian)" at a later line under replace. A file's first bytes
    name what it is, under every option: repairing bytes is for text."""
    make, what, advice = _MAGIC_FILES[kind]
    path = tmp_path / f"{kind}.txt"
    path.write_bytes(make(tmp_path))
    expected = rf"{kind}\.txt:1: the file is {what}, not text \(.+\)"
    with pytest.raises(DataError, match=expected + (rf": {advice}" if advice else "$")):
        list(iter_texts(path, errors=errors))


@pytest.mark.parametrize("errors", ["strict", "replace"])
def test_a_tar_is_refused_by_every_way_of_reading(tmp_path, errors):
    from finetune_helpers import predict_lines as _lines

    data = _tar()
    for name in ("x.tar", "x.csv", "x.jsonl"):
        (tmp_path / name).write_bytes(data)
    (tmp_path / "x.tar.gz").write_bytes(gzip.compress(data))  # decompressed, then sniffed
    (tmp_path / "folder" / "pos").mkdir(parents=True)
    (tmp_path / "folder" / "pos" / "a.tar").write_bytes(data)
    options = ReadOptions(errors=errors)
    for name, read in (
        ("x.tar", lambda p: list(iter_texts(p, errors=errors))),
        ("x.tar", lambda p: list(iter_texts(p, errors=errors, one_per="file"))),
        ("x.tar.gz", lambda p: list(iter_texts(p, errors=errors))),
        ("x.tar", lambda p: list(_lines(str(p), "utf-8", errors))),
        ("x.tar", lambda p: list(TextReader(options=options).lines(p.open("rb"), p, 1 << 20))),
        ("x.csv", lambda p: list(TextReader(label_column="label", options=options).rows(p))),
        ("x.jsonl", lambda p: list(TextReader(options=options).rows(p))),
        ("folder", lambda p: read_labelled(p, errors=errors)),
    ):
        with pytest.raises(DataError, match=r"(x\.tar(\.gz)?|x\.csv|x\.jsonl|a\.tar):1: the "
                                            r"file is a tar archive, not text"):
            read(tmp_path / name)


def test_a_text_file_starting_like_no_magic_is_read(tmp_path):
    # the sniff is of exact magic bytes: text that merely starts with similar letters is text
    path = tmp_path / "t.txt"
    path.write_bytes(b"PK is a word\nELF on a shelf\n%PDF is not here\n" + b"x" * 300 + b"\n")
    assert len(list(iter_texts(path))) == 4


def _at_257(word: str) -> bytes:
    """Spanish text whose `word` ("ajustar ") puts 'ustar ' at byte 257, as in a GNU tar."""
    line = "Hola, este es un texto en castellano sobre como configurar la herramienta. " * 4
    head = line[: 257 - word.index("ustar")]
    return (head + word + "el valor es necesario.\nsegunda línea\n").encode()


@pytest.mark.parametrize("word", ["ajustar ", "gustar ", "ajustar\t"])
@pytest.mark.parametrize("errors", ["strict", "replace"])
def test_text_with_ustar_at_byte_257_is_read_not_taken_for_a_tar(tmp_path, word, errors):
    # GNU tar's magic was matched as 'ustar ' alone: Spanish or Portuguese text with
    # "ajustar " or "gustar " there was refused as "a tar archive"
    path = tmp_path / "es.txt"
    data = _at_257(word)
    assert data.find(b"ustar") == 257
    path.write_bytes(data)
    assert [t[:5] for t in iter_texts(path, errors=errors)] == ["Hola,", "segun"]


def test_a_tar_whose_header_checksum_is_wrong_is_not_named_a_tar(tmp_path):
    # the name needs the header's checksum right (as tarfile checks it), not 'ustar' alone
    data = bytearray(_tar())
    data[0] ^= 0x01  # one bit of the first member's name: its header sum no longer matches
    path = tmp_path / "odd.txt"
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"odd\.txt:1: a NUL byte") as caught:
        list(iter_texts(path))
    assert "tar archive" not in str(caught.value)


# text whose first bytes are a binary format's magic bytes in its own encoding (or ASCII)
_TEXT_LIKE_MAGIC = [
    ("gb18030", "销睨此物，甚好。\n第二行\n"),  # CF FA ED FE: Mach-O 64-bit
    ("gb18030", "晰睨\n"),  # CE FA ED FE: Mach-O 32-bit
    ("gbk", "漱壕之地\n"),  # CA FE BA BE: a Java class or fat Mach-O
    ("big5", "种薞\n"),  # CF FA ED FE again
    ("cp1252", "\u201cNUMPY\u201d is a library\n"),  # 93 'NUMPY': an .npy file
    ("latin-1", "ÿØÿ is no word, but Latin-1 text\n"),  # FF D8 FF: a JPEG
    ("utf-8", "GIF89a is an image format from 1989\nanother line\n"),
    ("utf-8", "GIF87a, its first version\n"),
    ("utf-8", "%PDF-1.7 is the version most files use\n"),
]


@pytest.mark.parametrize(("encoding", "text"), _TEXT_LIKE_MAGIC)
def test_magic_bytes_that_are_text_in_the_encoding_are_read_as_text(tmp_path, encoding, text):
    # "销睨" in GB18030 is CF FA ED FE, Mach-O's magic: `--encoding gb18030` refused it as
    # an executable; "GIF89a is ..." was a GIF under every encoding. Magic bytes that are
    # text of the encoding name a format only beside bytes no text holds (a NUL, a control)
    path = tmp_path / "t.txt"
    path.write_bytes(text.encode(encoding))
    assert list(iter_texts(path, encoding=encoding)) == text.splitlines()


_MACHO = b"\xcf\xfa\xed\xfe\x07\x00\x00\x01\x03\x00\x00\x00\x02\x00\x00\x00" + bytes(16)
_GIF = b"GIF89a\x80\x02\xe0\x01\xf7\x00\x00" + bytes(range(256)) * 3
_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
_GIF_TEXT = b"GIF89a is a format\n" + b"a stray \x00 far on\n"


@pytest.mark.parametrize(
    ("encoding", "data", "what"),
    [
        ("gb18030", _MACHO, "a Mach-O executable"),
        ("big5", b"\xca\xfe\xba\xbe\x00\x00\x00\x34" + bytes(8), "a Mach-O executable"),
        ("cp1252", _NPY + bytes(range(256)), r"a NumPy \.npy array"),
        ("utf-8", _GIF, "a GIF image"),
        ("latin-1", _GIF, "a GIF image"),
        ("latin-1", _JPEG, "a JPEG image"),
        ("utf-8", _JPEG, "a JPEG image"),  # FF D8 is no UTF-8: named at once
        ("cp1252", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "a PDF document"),
        # bz2 inside gzip ("BZh91AY&SY" is ASCII): named by the binary bytes that follow
        ("utf-8", gzip.compress(bz2.compress(b"hello world\n" * 50)), "bz2-compressed data"),
    ],
)
def test_text_like_magic_bytes_with_binary_bytes_beside_them_name_the_format(
    tmp_path, encoding, data, what
):
    path = tmp_path / "b.txt"
    path.write_bytes(data)
    for errors in ("strict", "replace"):
        with pytest.raises(DataError, match=rf"b\.txt:1: the file is {what}"):
            list(iter_texts(path, encoding=encoding, errors=errors))


# matplotlib's binary comment holds a space ('%' ac dc ' ' ab ba): 3 of its first 4 bytes
# are 128 and up; with pdf.compression=0 its first 4 KiB are otherwise all text
_PDF_MPL = b"%PDF-1.4\n%\xac\xdc \xab\xba\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"


@pytest.mark.parametrize(
    "data",
    [
        _PDF_MPL + b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n" * 80,
        _PDF_MPL.replace(b"\n", b"\r"),  # classic Mac line ends
        _PDF_MPL.replace(b"\n", b"\r\n"),
        b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",  # no binary comment at all
    ],
)
@pytest.mark.parametrize("errors", ["strict", "replace"])
def test_an_uncompressed_pdf_is_named_a_pdf(tmp_path, data, errors):
    # matplotlib with pdf.compression=0 wrote a file read as 695 rows under replace and
    # "invalid UTF-8 ... pass errors='replace'" under strict: the binary comment needed its
    # first 4 bytes to be 128 and up, and matplotlib's has a space among them
    path = tmp_path / "u.pdf"
    path.write_bytes(data)
    with pytest.raises(DataError, match=r"u\.pdf:1: the file is a PDF document, not text"):
        list(iter_texts(path, errors=errors))


@pytest.mark.parametrize(
    ("encoding", "data"),
    [
        ("latin-1", b"%PDF-1.4 is a format\n%\xe9\xe9\xe9\xe9 a comment\n"),
        ("latin-1", b"%PDF-1.4\n%\xe9t\xe9 \xe0 peine\n"),  # 3 bytes of 128 and up
        ("utf-8", "%PDF-1.4 ist ein Format\n%äöü\n".encode()),
        ("utf-8", b"%PDF-1.4\nthe version line above, then 1 0 obj in prose\n"),
    ],
)
def test_text_that_starts_like_a_pdf_header_is_read(tmp_path, encoding, data):
    path = tmp_path / "t.txt"
    path.write_bytes(data)
    assert list(iter_texts(path, encoding=encoding)) == data.decode(encoding).splitlines()


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "utf-8"])
def test_text_in_curly_quotes_starting_with_numpy_is_read_in_every_encoding(tmp_path, encoding):
    # cp1252's “NUMPY” is 93 'NUMPY', the .npy magic: under --encoding latin-1 (which decodes
    # 93 to a C1 control) it was refused as an .npy without the version bytes' proof
    path = tmp_path / "t.txt"
    data = b"\x93NUMPY\x94 is a library\nsecond line\n"
    path.write_bytes(data)
    errors = "replace" if encoding == "utf-8" else "strict"
    assert len(list(iter_texts(path, encoding=encoding, errors=errors))) == 2


def test_a_stray_nul_far_from_a_text_like_magic_is_a_stray_nul(tmp_path):
    # the evidence is looked for where the format puts it (a GIF's screen size), not anywhere
    path = tmp_path / "g.txt"
    path.write_bytes(_GIF_TEXT)
    with pytest.raises(DataError, match=r"g\.txt:2: a NUL byte"):
        list(iter_texts(path))
    assert len(list(iter_texts(path, errors="replace"))) == 2



@pytest.mark.parametrize(("errors", "verb"), [("replace", "replaced"), ("ignore", "removed")])
def test_the_repair_report_counts_nul_bytes_apart_from_undecodable_bytes(tmp_path, errors, verb):
    """A NUL is valid UTF-8: a line repaired for NULs said "undecodable bytes replaced"."""
    path = tmp_path / "m.txt"
    path.write_bytes(b"ok\nbad \xff\nnul \x00\x00 here\nboth \xff \x00\n")
    reader = TextReader(options=ReadOptions(errors=errors))
    assert len(list(reader.rows(path))) == 4
    report = reader.report
    assert (report.replaced_rows, report.undecodable_rows) == (3, 2)
    assert (report.nul_rows, report.nul_bytes) == (2, 3)
    lines = f"{path}:2, {path}:3, {path}:4"
    assert report.format() == (f"{path}: 3 line(s) repaired, 2 with undecodable bytes and 2 "
                               f"with NUL bytes {verb}, 3 NULs in all ({lines})")
    again = ReadReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert again.format() == report.format()
    only_bad = TextReader(options=ReadOptions(errors=errors))
    bad = tmp_path / "b.txt"
    bad.write_bytes(b"ok\nbad \xff\n")
    list(only_bad.rows(bad))
    assert only_bad.report.format() == f"{bad}: 1 line(s) with undecodable bytes {verb} ({bad}:2)"


_ZH = "房间很干净，服务也很周到。\n早餐一般，位置不错。\n"


@pytest.mark.parametrize("errors", ["strict", "replace", "ignore"])
@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        # Han characters in UTF-16 hold no NUL, so the file's head passes; its ASCII header
        # (`t\0e\0x\0t\0`) reached the NUL check first, "the file looks binary"
        ("zh16.csv", ("text,label\n" + _ZH.replace("\n", ",1\n")).encode("utf-16-le"),
         r"zh16\.csv:1: the file looks like UTF-16 \(little-endian\) without a byte order "
         r"mark .*iconv -f UTF-16LE -t UTF-8"),
        ("late16.txt", b"plain line\n" * 500 + "hello world\n".encode("utf-16-le"),
         r"late16\.txt:501: the file looks like UTF-16 \(little-endian\)"),
        # split at `0A 00`: the next line starts with the NUL
        ("late16b.txt", b"plain line\n" * 500 + "hello world\nsome more words\n".encode(
            "utf-16-le")[24:], r"late16b\.txt:501: the file looks like UTF-16 \(little"),
        ("u32.txt", "hello world\nmore\n".encode("utf-32-le"),
         r"u32\.txt:1: the file looks like UTF-32 \(little-endian\) .*iconv -f UTF-32LE -t "),
        ("u32be.txt", "hello world\nmore\n".encode("utf-32-be"),
         r"u32be\.txt:1: the file looks like UTF-32 \(big-endian\) .*iconv -f UTF-32BE -t "),
        ("late32.txt", b"plain line\n" * 500 + "hello world\nmore\n".encode("utf-32-le"),
         r"late32\.txt:501: the file looks like UTF-32 \(little-endian\)"),
        # split at `0A 00 00 00`: the next line starts with three NULs
        ("late32b.txt", b"plain\n" + "hello world\nsome more words\n".encode(
            "utf-32-le")[45:], r"late32b\.txt:2: the file looks like UTF-32 \(little-endian\)"),
    ],
)
def test_utf16_and_utf32_past_the_head_check_are_named_under_every_option(
    tmp_path, errors, name, data, expected
):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(DataError, match=expected):
        list(iter_texts(path, errors=errors))


def test_a_nul_byte_in_a_piece_of_a_long_line_is_named_by_its_byte_in_the_line(tmp_path):
    # the byte was counted from the 1 MiB piece: a NUL at byte 1,500,001 said "at byte 451426"
    path = tmp_path / "long.txt"
    path.write_bytes(b"ok\n" + b"word " * 300_000 + b"x\x00y " + b"word " * 10 + b"\nnext\n")
    with pytest.raises(DataError, match=r"long\.txt:2: a NUL byte \(U\+0000\) at byte 1500001 "):
        list(iter_texts(path))
    bad = tmp_path / "bad.txt"  # the invalid-UTF-8 error counted its byte the same way
    bad.write_bytes(b"ok\n" + b"word " * 30 + b"x\xffy\nnext\n")
    with pytest.raises(DataError, match=r"bad\.txt:2: invalid UTF-8 \(invalid start byte at "
                                        r"byte 151 of the line\)"):
        list(iter_texts(bad, max_line_bytes=64))


def test_lines_ended_by_cr_alone_are_lines(tmp_path):
    # classic Mac line ends: predict gave 1 answer for 3 texts, a CSV csv's
    # "universal-newline mode" error
    from finetune_helpers import predict_lines as _lines

    plain = tmp_path / "cr.txt"
    plain.write_bytes(b"a\rb\r\rc\r")
    assert list(_lines(str(plain), "utf-8", "strict")) == ["a", "b", "", "c"]
    assert list(iter_texts(plain)) == ["a", "b", "c"]
    packed = tmp_path / "cr.txt.gz"
    packed.write_bytes(gzip.compress(b"a\r" * 3000 + b"b\r\n" * 3))  # CRLF past the head
    assert list(iter_texts(packed)) == ["a"] * 3000 + ["b"] * 3
    table = tmp_path / "cr.csv"
    table.write_bytes(b'text,label\r"two\rlines",x\rb,y\r')
    data, _ = read_labelled(table)
    assert (data.texts, data.labels, data.lines) == (["two\nlines", "b"], ["x", "y"], [2, 4])
    stream = io.BytesIO(b"x\ry\r")  # no peek: its first bytes are read and handed back
    assert list(TextReader().lines(stream, "b", 100)) == [(1, "x"), (2, "y")]


def test_crlf_and_lf_files_are_unchanged_by_the_cr_check(tmp_path):
    head = b"x" * 4095 + b"\r\n"  # a CRLF cut by the first bytes looked at
    path = tmp_path / "long.txt"
    path.write_bytes(head + b"second\r\nthird\n")
    assert [len(t) for t in iter_texts(path)] == [4095, 6, 5]


def test_a_column_name_given_twice_is_ambiguous(tmp_path):
    # the first of two `text` columns was taken without a word
    path = tmp_path / "dup.csv"
    path.write_text("text,id,text,label\nfirst,1,second,x\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"dup\.csv: the header names 2 columns 'text' "
                       r"\(positions 0, 2, counting from 0\)"):  # fmt: skip
        read_labelled(path)
    data, _ = read_labelled(path, text_column=2)
    assert data.texts == ["second"]
    doubled = tmp_path / "labels.tsv"
    doubled.write_text("text\tlabel\tlabel\nfirst\tx\ty\n", encoding="utf-8")
    with pytest.raises(DataError, match="label column is ambiguous"):
        read_labelled(doubled)


def test_tsv_fields_quoted_whole_as_pandas_writes_them_are_unquoted(tmp_path):
    import csv

    texts = ['never does "lilo & stitch" right', '5" screen', "plain", '"quoted" start']
    path = tmp_path / "pandas.tsv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, dialect="excel-tab")
        writer.writerow(["text", "label"])
        writer.writerows([t, "a"] for t in texts)
    assert '"never does ""lilo & stitch"" right"' in path.read_text(encoding="utf-8")
    data, _ = read_labelled(path)
    assert data.texts == texts
    # written without quoting, quotes stay data (the awkward fixture: `"quoted" start`)
    plain = tmp_path / "plain.tsv"
    plain.write_text('text\tlabel\n5" screen\ta\n"a" b\ta\n', encoding="utf-8")
    assert read_labelled(plain)[0].texts == ['5" screen', '"a" b']


@pytest.mark.parametrize(("codec", "order"), [("utf-16-le", "LE"), ("utf-16-be", "BE")])
def test_chinese_in_utf16_without_a_bom_is_named(tmp_path, codec, order):
    # Han characters in UTF-16 hold no NUL byte: it said only "invalid UTF-8 ... --encoding
    # NAME", and --encoding utf-16-le is refused (not ASCII-compatible)
    path = tmp_path / "zh.txt"
    path.write_bytes("房间很干净，服务也很周到。\n早餐一般，位置不错。\n".encode(codec))
    with pytest.raises(DataError, match=rf"reads as Chinese in UTF-16 \({order}\) without a "
                                        rf"byte order mark: .*iconv -f UTF-16{order} -t UTF-8"):
        list(iter_texts(path))
    gbk = tmp_path / "gbk.txt"  # GBK is not UTF-16: its own hint stays
    gbk.write_bytes("房间很干净，服务也很周到。\n".encode("gb18030"))
    with pytest.raises(DataError, match="gb18030") as info:
        list(iter_texts(gbk))
    assert "UTF-16" not in str(info.value)


def test_an_english_line_with_one_stray_byte_is_not_called_utf16_chinese(tmp_path):
    # every pair of ASCII letters decodes as a Han character in UTF-16: `king \xff man`
    # was said to read as Chinese in UTF-16, with an iconv command to run
    path = tmp_path / "en.txt"
    path.write_bytes(b"a good film\nking \xff man\n")
    with pytest.raises(DataError, match=r"en\.txt:2: invalid UTF-8 .*errors='replace'") as info:
        list(iter_texts(path))
    assert "UTF-16" not in str(info.value)


class _Trickle(io.RawIOBase):
    """Live input: `pieces`, one per read, as a pipe gives what was written so far."""

    def __init__(self, pieces: list[bytes]) -> None:
        super().__init__()
        self.pieces = pieces
        self.served = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.served == len(self.pieces):
            return 0
        piece = self.pieces[self.served]
        self.served += 1
        buffer[: len(piece)] = piece
        return len(piece)


def test_lines_come_as_read_with_crlf_and_utf8_cut_between_reads():
    # `fh.read(1 << 16)` waited for 64 KiB or the end, so `predict` on a pipe answered
    # nothing until it closed; short reads must still join a CRLF and a UTF-8 character
    pieces = [b"caf\xc3", b"\xa9 one\r", b"\ntwo\r\n", b"th", b"ree\r", b"\n"]
    raw = _Trickle(pieces)
    lines = TextReader().lines(io.BufferedReader(raw), "pipe", 100)
    assert next(lines) == (1, "caf\u00e9 one")
    assert raw.served == 3  # no read past the one that ended the line
    assert list(lines) == [(2, "two"), (3, "three")]
    blocks = list(TextReader().line_blocks(io.BufferedReader(_Trickle(pieces)), "pipe", 100))
    assert blocks == [[], [], ["caf\u00e9 one", "two"], [], [], ["three"]]


def test_a_whole_file_text_counts_cr_and_crlf_line_breaks_like_the_line_reader(tmp_path):
    # a CR alone ends a line (universal newlines) and the byte is counted from its line's
    # start: a whole file said `cr.txt:1` (LFs only) and "at byte 7 of the line" (file offset)
    cr = tmp_path / "cr.txt"
    cr.write_bytes(b"a\rb\rc\xffd\r")
    per_line = iter_texts(cr, errors="replace")
    list(per_line)
    whole = iter_texts(cr, one_per="file", errors="replace")
    list(whole)
    assert whole.stats.replaced_lines == per_line.stats.replaced_lines == [f"{cr}:3"]
    crlf = tmp_path / "crlf.txt"
    crlf.write_bytes(b"a\r\nb\r\nc\xffd\r\n")
    messages = []
    for one_per in ("line", "file"):
        with pytest.raises(DataError) as caught:
            list(iter_texts(crlf, one_per=one_per, errors="strict"))
        messages.append(str(caught.value).splitlines()[0])
    assert messages[0] == messages[1]
    assert messages[1].startswith(
        f"{crlf}:3: invalid UTF-8 (invalid start byte at byte 1 of the line)"
    )


def test_readers_in_two_threads_leave_the_field_limit_as_it_was(monkeypatch):
    # a reader entering in another thread between the first one's lifting the limit and its
    # noting the one before took the lifted limit for the original: it stayed lifted
    import csv
    import threading
    import time

    from vecgraft.text._streams import _FieldLimit

    real, calls = csv.field_size_limit, []

    def slow_first(*args: int) -> int:
        before = real(*args)
        calls.append(args)
        if len(calls) == 1:
            time.sleep(0.2)  # the other thread enters meanwhile
        return before

    before = csv.field_size_limit()
    monkeypatch.setattr(csv, "field_size_limit", slow_first)

    def read(hold: float) -> None:
        with _FieldLimit():
            time.sleep(hold)

    first = threading.Thread(target=read, args=(0.05,))
    first.start()
    time.sleep(0.05)
    second = threading.Thread(target=read, args=(0.3,))  # ends last, putting back its "before"
    second.start()
    first.join()
    second.join()
    assert real() == before


def test_a_half_read_table_ending_under_another_leaves_it_its_field_limit(tmp_path):
    # the csv module's field limit is one for the process: a reader left half read (the rows
    # sampled to tell Chinese) ended when the garbage collector took it, in the middle of
    # the next one, and put back 128 KiB under it ("field larger than field limit")
    import csv

    small = tmp_path / "small.csv"
    small.write_text("text\na\nb\n", encoding="utf-8")
    big = tmp_path / "big.csv"
    big.write_text("text\nfirst\n" + "x " * 100_000 + "\n", encoding="utf-8")
    before = csv.field_size_limit()
    sampled = TextReader().rows(small)
    assert next(sampled).text == "a"
    rows = TextReader().rows(big)
    assert next(rows).text == "first"
    sampled.close()  # as the collector ends it
    assert next(rows).text == "x " * 100_000
    rows.close()
    assert csv.field_size_limit() == before
