"""Messy tables as exports and spreadsheets write them: stray CRs, repeated headers, NA labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from vecgraft.errors import DataError
from vecgraft.finetune.data import read_labelled


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# -- line ends -----------------------------------------------------------------------------
def test_a_lone_cr_in_an_lf_or_crlf_file_ends_a_line(tmp_path):
    # csv said "new-line character seen in unquoted field" even under bad_rows="skip", and
    # predict merged the two texts around the CR into one answer
    from vecgraft.cli.predict import _lines

    plain = _write(tmp_path, "p.txt", b"good movie\rbad movie\r\nfine\nok\r")
    assert list(_lines(str(plain), "utf-8", "strict")) == ["good movie", "bad movie", "fine", "ok"]
    table = _write(tmp_path, "t.csv", b'text,label\r\nx,1\r\ny,2\rz,3\n"two\r\nlines",4\rw\n')
    data, bad = read_labelled(table)
    assert (data.texts, data.labels, data.lines) == (
        ["x", "y", "z", "two\nlines"], ["1", "2", "3", "4"], [2, 3, 4, 5])
    assert [(e.line, e.reason) for e in bad.examples] == [(7, "missing_label")]
    blanks = _write(tmp_path, "b.csv", b"text,label\na,1\r\r\nb,2\r\r")
    assert read_labelled(blanks)[0].lines == [2, 4]


def test_the_gb18030_preview_leaves_out_the_line_end(tmp_path):
    gbk = _write(tmp_path, "gbk.csv", "text,label\r\n房间很干净,1\r\n".encode("gb18030"))
    with pytest.raises(DataError, match=r"gbk\.csv:2: .*GB18030 Chinese \('房间很干净,1'\)"):
        read_labelled(gbk)
