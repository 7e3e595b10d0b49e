"""iter_texts over every input kind: strings, files, folders, globs, tables, compression."""

import io
import itertools
import json

import pytest

from conftest_text import LINES, write_text
from vecgraft.errors import ConfigError, DataError, MissingColumnError
from vecgraft.text import Texts, iter_texts
from vecgraft.text.corpus import CorpusStats, _raw_lines


def test_raw_strings_and_one_doc_per_line(tmp_path):
    assert list(iter_texts(Texts(["a b", "", "c"]))) == ["a b", "", "c"]
    path = write_text(tmp_path / "c.txt", "\n".join(LINES) + "\n")
    stream = iter_texts(str(path))
    assert list(stream) == ["the cat sat", "the dog ran", "a cat ran"]
    assert (stream.stats.files, stream.stats.texts, stream.stats.blank) == (1, 3, 1)


def test_crlf_bom_and_missing_final_newline(tmp_path):
    path = write_text(tmp_path / "w.txt", b"\xef\xbb\xbfone\r\ntwo\r\nthree")
    assert list(iter_texts(path)) == ["one", "two", "three"]


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz"])
def test_compressed_files(tmp_path, suffix):
    path = write_text(tmp_path / f"c.txt{suffix}", "x y\nz\n")
    assert list(iter_texts(path)) == ["x y", "z"]


def test_gzip_detected_from_bytes_not_name(tmp_path):
    path = write_text(tmp_path / "c.gz", "x\n")
    path.rename(tmp_path / "plain.txt")
    assert list(iter_texts(tmp_path / "plain.txt")) == ["x"]


def test_folder_recursive_sorted_hidden_skipped(tmp_path):
    write_text(tmp_path / "b" / "2.txt", "b2\n")
    write_text(tmp_path / "b" / "10.txt", "b10\n")
    write_text(tmp_path / "a.txt", "a\n")
    write_text(tmp_path / ".hidden" / "h.txt", "hidden\n")
    write_text(tmp_path / ".swp", "swap\n")
    assert list(iter_texts(tmp_path)) == ["a", "b10", "b2"]


def test_one_doc_per_file(tmp_path):
    write_text(tmp_path / "d" / "x.txt", "line one\nline two\n")
    write_text(tmp_path / "d" / "y.txt.gz", "other\n")
    write_text(tmp_path / "d" / "z.txt", "\n\n")
    stream = iter_texts(tmp_path / "d", one_per="file")
    assert list(stream) == ["line one\nline two\n", "other\n"]
    assert stream.stats.blank == 1


def test_glob_and_list_of_sources(tmp_path):
    write_text(tmp_path / "p" / "1.txt", "one\n")
    write_text(tmp_path / "p" / "2.md", "two\n")
    write_text(tmp_path / "p" / "q" / "3.txt", "three\n")
    assert list(iter_texts(str(tmp_path / "p" / "**" / "*.txt"))) == ["one", "three"]
    sources = [str(tmp_path / "p" / "2.md"), Texts(["raw"]), tmp_path / "p" / "1.txt"]
    assert list(iter_texts(sources)) == ["two", "raw", "one"]
    with pytest.raises(DataError, match=r"nomatch\*\.txt: no files match"):
        list(iter_texts(str(tmp_path / "nomatch*.txt")))


def test_recursive_glob_reads_each_file_once(tmp_path):
    # "p/**" matches p/, p/q/ and the files, and each folder was read whole: "three" came
    # three times and "one" twice, a silently repeated corpus
    write_text(tmp_path / "p" / "1.txt", "one\n")
    write_text(tmp_path / "p" / "q" / "3.txt", "three\n")
    assert list(iter_texts(str(tmp_path / "p" / "**"))) == ["one", "three"]
    assert list(iter_texts(str(tmp_path / "p" / "**" / "*"))) == ["one", "three"]


def test_missing_path_suggests_texts(tmp_path):
    with pytest.raises(DataError, match=r"just some words: no such file.*Texts"):
        list(iter_texts("just some words"))
    with pytest.raises(DataError, match="int"):
        list(iter_texts([1]))  # type: ignore[list-item]


def test_csv_tsv_jsonl_columns(tmp_path):
    csv_path = write_text(
        tmp_path / "d.csv", 'id,text\n1,"hello, world"\n2,"multi\nline"\n3,\n4\n5,bye\n'
    )
    stream = iter_texts(csv_path)
    assert list(stream) == ["hello, world", "multi\nline", "bye"]
    assert (stream.stats.blank, stream.stats.skipped_rows) == (1, 1)
    tsv = write_text(tmp_path / "d.tsv.gz", 'label\tbody\npos\tsay "hi"\nneg\tno\n')
    assert list(iter_texts(tsv, column="body")) == ['say "hi"', "no"]
    assert list(iter_texts(tsv, column=0)) == ["pos", "neg"]
    jsonl = write_text(
        tmp_path / "d.jsonl", '{"text": "a b"}\n\n{"text": null}\n{"text": "ü", "x": 1}\n'
    )
    assert list(iter_texts(jsonl)) == ["a b", "ü"]


def test_missing_column_names_file_and_columns(tmp_path):
    csv_path = write_text(tmp_path / "d.csv", "id,body\n1,x\n")
    with pytest.raises(DataError) as info:
        list(iter_texts(csv_path, column="text"))
    # its class is public (it was vecgraft.text._streams.MissingColumnError), still a DataError
    error = type(info.value)
    assert error is MissingColumnError and error.__module__ == "vecgraft.errors"
    message = str(info.value)
    assert "d.csv" in message and "'text'" in message and "'id', 'body'" in message
    jsonl = write_text(tmp_path / "d.jsonl", '{"text": "ok"}\n{"body": "x"}\n')
    with pytest.raises(DataError, match=r"d\.jsonl:2: no text field 'text'; fields found: 'body'"):
        list(iter_texts(jsonl, bad_rows="error"))
    stream = iter_texts(jsonl)  # skipped by default, with its line number
    assert list(stream) == ["ok"] and stream.stats.counts == {"missing_field": 1}
    assert [e.line for e in stream.stats.examples] == [2]
    bad = write_text(tmp_path / "bad.jsonl", '{"text": "ok"}\n{oops\n')
    with pytest.raises(DataError, match=r"bad\.jsonl:2: not a JSON object \(not valid JSON"):
        list(iter_texts(bad, bad_rows="error"))


def test_invalid_utf8_strict_names_file_and_line(tmp_path):
    path = write_text(tmp_path / "bad.txt", b"good\nbad \xff\xfe here\nok \xef\xbf\xbd\n")
    with pytest.raises(DataError, match=r"bad\.txt:2: invalid UTF-8"):
        list(iter_texts(path, unicode_errors="strict"))
    with pytest.raises(DataError, match=r"bad\.txt:2: invalid UTF-8"):
        list(iter_texts(path))  # strict is the default
    stream = iter_texts(path, unicode_errors="replace")
    assert list(stream) == ["good", "bad \ufffd\ufffd here", "ok \ufffd"]
    assert (stream.stats.bad_lines, stream.stats.unicode_replacements) == (1, 2)
    assert list(iter_texts(path, unicode_errors="ignore")) == ["good", "bad  here", "ok \ufffd"]
    with pytest.raises(DataError, match=r"bad\.txt:2"):
        list(iter_texts(path, one_per="file", unicode_errors="strict"))
    csv_path = write_text(tmp_path / "bad.csv", b"text\nfine\n\xffbad\n")
    with pytest.raises(DataError, match=r"bad\.csv:3: invalid UTF-8"):
        list(iter_texts(csv_path, unicode_errors="strict"))
    with pytest.raises(ConfigError, match="unicode_errors"):
        iter_texts(path, unicode_errors="surrogateescape")


def test_enormous_line_is_streamed_in_pieces(tmp_path):
    words = [f"w{i}" for i in range(3000)]
    path = write_text(tmp_path / "big.txt", " ".join(words) + "\nnext\n")
    stream = iter_texts(path, max_line_bytes=1000)
    pieces = list(stream)
    assert pieces[-1] == "next"
    assert " ".join(p.strip() for p in pieces[:-1]).split() == words
    assert all(len(p.encode()) <= 1000 for p in pieces)
    assert stream.stats.split_lines == 1


def test_overlong_line_without_spaces_cut_at_utf8_boundary():
    data = ("é" * 40).encode() + b"\n"
    lines = list(_raw_lines(io.BytesIO(data), "x", 17, CorpusStats()))
    assert b"".join(raw for _, _, raw in lines) == data
    assert all(raw.rstrip(b"\n").decode() for _, _, raw in lines)  # every piece decodes
    assert {n for n, _, _ in lines} == {1}
    # each piece says where it starts in the line, for errors naming a byte of the line
    assert [start for _, start, _ in lines] == [0, *itertools.accumulate(
        len(raw) for _, _, raw in lines[:-1])]


def test_stream_is_lazy(tmp_path):
    write_text(tmp_path / "a.txt", "first\n")
    write_text(tmp_path / "b.jsonl", json.dumps({"nope": 1}) + "\n")
    stream = iter_texts(tmp_path)
    assert next(stream) == "first"  # b.jsonl not parsed yet
    with pytest.raises(DataError):
        next(stream)


def test_zip_and_corrupt_archives(tmp_path):
    import zipfile

    one = tmp_path / "one.zip"
    with zipfile.ZipFile(one, "w") as archive:
        archive.writestr("inner.txt", "zipped line\n")
    assert list(iter_texts(one)) == ["zipped line"]
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as archive:
        archive.writestr("a.txt", "a\n")
        archive.writestr("b.txt", "b\n")
    with pytest.raises(DataError, match=r"two\.zip: expected a zip archive with exactly one file"):
        list(iter_texts(two))
    good = write_text(tmp_path / "t.txt.gz", "line\n" * 1000)
    broken = tmp_path / "broken.txt.gz"
    broken.write_bytes(good.read_bytes()[:40])
    with pytest.raises(DataError, match=r"broken\.txt\.gz"):
        list(iter_texts(broken))


def test_csv_malformed_row_names_file_and_line(tmp_path):
    big = write_text(tmp_path / "big.csv", "text\nok\n" + "x" * 200_000 + "\n")
    with pytest.raises(DataError, match=r"big\.csv:3: malformed CSV row"):
        list(iter_texts(big, max_line_bytes=100_000))
    quote = write_text(tmp_path / "q.csv", 'text\nok\n"stray"quote\n')
    with pytest.raises(DataError, match=r"q\.csv:3: malformed CSV row"):
        list(iter_texts(quote))


def test_a_table_row_over_1_mib_is_one_text_as_finetune_reads_it(tmp_path):
    # `build` and `pretrain` stopped at "a line longer than 1 MiB" on a CSV that `finetune`
    # read (its rows may be 64 MiB): one limit for a row now, whichever command reads it
    from vecgraft.finetune.data import read_labelled

    long = " ".join(f"w{i % 97}" for i in range(270_000))
    assert len(long.encode()) > 1.05e6
    csv = write_text(tmp_path / "train.csv", f"text,label\n{long},pos\nshort one,neg\n")
    rows = ({"text": long, "label": "pos"}, {"text": "short one", "label": "neg"})
    jsonl = write_text(tmp_path / "train.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    for table in (csv, jsonl):
        stream = iter_texts(table)
        assert list(stream) == [long, "short one"]
        assert stream.stats.split_lines == 0
        assert list(read_labelled(table)[0].texts) == [long, "short one"]
    # plain text keeps its bounded pieces: nothing is refused, a line is cut at whitespace
    txt = write_text(tmp_path / "train.txt", f"{long}\nshort one\n")
    pieces = list(iter_texts(txt))
    assert len(pieces) == 3 and pieces[-1] == "short one"
    assert " ".join(pieces[:-1]).split() == long.split()
    assert all(len(p.encode()) <= 1 << 20 for p in pieces)


@pytest.mark.parametrize("suffix", [".txt", ".txt.gz", ".txt.bz2", ".txt.xz"])
def test_a_stream_counts_the_bytes_read_on_disk(tmp_path, suffix):
    """Progress of a first pass: bytes read of the files' size, compressed bytes for a
    compressed file; read again once the file is closed (a gzip file then has no file)."""
    import bz2
    import gzip
    import lzma

    from vecgraft.text import iter_texts

    data = "".join(f"line {i} of the corpus\n" for i in range(2000)).encode()
    pack = {".txt": bytes, ".txt.gz": gzip.compress, ".txt.bz2": bz2.compress,
            ".txt.xz": lzma.compress}[suffix]  # fmt: skip
    path = tmp_path / f"c{suffix}"
    path.write_bytes(pack(data))
    other = tmp_path / "a.txt"
    other.write_text("one\n", encoding="utf-8")
    stream = iter_texts([str(other), str(path)])
    assert stream.total_bytes() == path.stat().st_size + 4
    assert stream.bytes_read() == 0
    next(stream), next(stream)  # into the second file
    assert 4 < stream.bytes_read() <= stream.total_bytes()
    assert sum(1 for _ in stream) == 1999
    assert stream.bytes_read() == stream.total_bytes()


def test_total_bytes_lists_the_files_once_and_leaves_a_one_shot_source_to_read(
    tmp_path, monkeypatch
):
    # total_bytes listed every folder and glob again (and again at reading), and drained a
    # generator of paths: the stream then read nothing, so `Corpus(..., progress=True)`
    # of such a source was silently empty
    from vecgraft.text import corpus

    write_text(tmp_path / "d" / "a.txt", "one\ntwo\n")
    write_text(tmp_path / "d" / "b.txt", "three\n")
    single = write_text(tmp_path / "c.txt", "four\n")
    listed: list[str] = []
    expand = corpus._expand
    monkeypatch.setattr(corpus, "_expand", lambda s: listed.append(str(s)) or expand(s))
    stream = iter_texts(p for p in [str(tmp_path / "d"), str(single)])
    assert stream.total_bytes() == 19
    assert stream.total_bytes() == 19
    assert list(stream) == ["one", "two", "three", "four"]
    assert stream.bytes_read() == 19
    assert listed == [str(tmp_path / "d"), str(single)]
    # a Texts item: no size on disk, and what comes after it is still read
    stream = iter_texts(iter([str(single), Texts(["x"]), str(single)]))
    assert stream.total_bytes() is None
    assert list(stream) == ["four", "x", "four"]


def test_an_error_of_the_sources_iterable_is_raised_again_not_taken_for_their_end(tmp_path):
    # total_bytes met the error; the generator, over after raising, then ended the
    # reading after the first file as if every source had been read
    single = write_text(tmp_path / "c.txt", "four\n")

    def paths():
        yield str(single)
        raise OSError("the listing failed")

    stream = iter_texts(paths())
    with pytest.raises(OSError, match="the listing failed"):
        stream.total_bytes()
    with pytest.raises(OSError, match="the listing failed"):
        list(stream)


def test_a_stream_lists_its_sources_lazily_as_before(tmp_path):
    # the files of a source are listed when it is reached: a missing second file stops
    # the stream after the first file's documents, as it did
    first = write_text(tmp_path / "a.txt", "one\n")
    stream = iter_texts([str(first), str(tmp_path / "missing.txt")])
    assert next(stream) == "one"
    with pytest.raises(DataError, match=r"missing\.txt: no such file or folder"):
        next(stream)
    with pytest.raises(DataError, match=r"missing\.txt: no such file or folder"):
        iter_texts([str(first), str(tmp_path / "missing.txt")]).total_bytes()
    # an error met by total_bytes is met again by the reading, not skipped
    for sources, error in ((123, "cannot read texts from a int"),
                           ([str(first), 5], "expected a path or Texts")):  # fmt: skip
        stream = iter_texts(sources)
        with pytest.raises(DataError, match=error):
            stream.total_bytes()
        with pytest.raises(DataError, match=error):
            list(stream)


def test_a_stream_read_to_its_end_reads_its_files_again(tmp_path):
    """A second pass (build_vocab, then tokenizing) was silently empty; repr was `<object>`."""
    from vecgraft.text import Tokenizer, build_vocab

    path = tmp_path / "x.csv"
    path.write_text("text,label\nhello world,a\nfoo bar,b\n")
    stream = iter_texts(path)
    assert repr(stream) == f"TextStream({str(path)!r}, column='text', one_per='line')"
    tok = Tokenizer()
    build_vocab(stream, tok)
    assert [tok(t) for t in stream] == [["hello", "world"], ["foo", "bar"]]
    assert stream.stats.texts == 2 and stream.bytes_read() == stream.total_bytes()
    # a pass cut short goes on where it stopped, as an iterator does
    assert next(iter(stream)) == "hello world" and list(stream) == ["foo bar"]
    assert next(stream, None) is None  # next() alone starts no new pass
    assert list(iter_texts(Texts(["a"]))) == ["a"]


def test_a_second_pass_over_one_shot_texts_is_an_error():
    stream = iter_texts(Texts(t for t in ["a", "b"]))
    assert list(stream) == ["a", "b"]
    with pytest.raises(DataError, match=r"one-shot iterator .* Texts\(list\(\.\.\.\)\)"):
        list(stream)
