"""'-' as an output path: JSON on stdout where a stream makes sense, a clear refusal elsewhere.

`evaluate --metrics-out -` and `export --out -` wrote a file literally named '-' and said
"written to -"; `convert` refused so already ("convert writes a file, not standard output").
"""

from __future__ import annotations

import json

import pytest

from vecgraft.cli import main


@pytest.fixture
def vectors(tmp_path):
    path = tmp_path / "vecs.txt"
    path.write_text("a 1 0\nb 1 1\nc 0 1\nd 1 2\n", encoding="utf-8")
    return path


def test_intrinsic_json_dash_prints_the_json_alone_on_stdout(vectors, tmp_path, capsys,
                                                             monkeypatch):  # fmt: skip
    monkeypatch.chdir(tmp_path)
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("a\tb\t1.0\nb\tc\t2.0\na\tc\t3.0\n", encoding="utf-8")
    assert main(["intrinsic", str(vectors), "--similarity", str(pairs), "--json", "-"]) == 0
    said = capsys.readouterr()
    data = json.loads(said.out)  # nothing else on stdout
    assert data["similarity"][0]["pairs"] == 3
    assert "pairs.tsv" in said.err and "written" not in said.err
    assert not (tmp_path / "-").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["export", "{v}", "--to", "word2vec", "--out", "-"],
         "argument --out: '-': export writes a file or folder, not standard output; name a "
         "file or folder"),
        (["export", "{v}", "--to", "word2vec-bin", "--out", "-"],
         "argument --out: '-': export writes a file or folder"),
        (["build", "--corpus", "{v}", "--vectors", "{v}", "--out", "-"],
         "argument --out: '-': build writes a folder, not standard output; name a folder"),
        (["pretrain", "--method", "glove", "--corpus", "{v}", "--out", "-"],
         "argument --out: '-': pretrain writes a folder"),
        (["tune", "--train", "{v}", "--out", "-"], "argument --out: '-': tune writes a folder"),
        (["compare", "--train", "{v}", "--sources", "random", "--out", "-"],
         "argument --out: '-': compare writes a folder"),
        (["graft-vocab", "{d}", "--corpus", "{v}", "--add-tokens", "5", "--out", "-"],
         "argument --out: '-': graft-vocab writes a folder"),
        (["from-transformer", "{d}", "--out", "-"],
         "argument --out: '-': from-transformer writes a file or folder"),
        (["demo", "--out", "-"], "argument --out: '-': demo writes a folder"),
        (["finetune", "--train", "{v}", "--out", "-"],
         "argument --out: '-': finetune writes a folder, not standard output; name a folder"),
        (["intrinsic", "{v}", "--map", "-", "--map-words", "a", "b", "c"],
         "argument --map: '-': intrinsic writes a PNG file, not standard output; name a PNG file"),
    ],
)
def test_output_flags_given_dash_are_refused_where_no_stream_makes_sense(
    argv, message, vectors, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    argv = [a.format(v=vectors, d=tmp_path) for a in argv]
    with pytest.raises(SystemExit) as exc:  # a usage error while parsing, before any work
        main(argv)
    assert exc.value.code == 2
    said = capsys.readouterr()
    assert said.err.startswith(f"usage: vecgraft {argv[0]}"), said.err
    assert f"vecgraft {argv[0]}: error: {message}" in said.err, said.err
    assert said.out == ""
    assert not (tmp_path / "-").exists()
