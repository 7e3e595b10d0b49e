"""Pure argument checks are usage errors: argparse's usage, the flag named, exit status 2.

`neighbors -k 0`, `cache prune` without --max-size, `pretrain --dim 0`, `build --min-freq
-1`, `tune --trials 0` and `finetune --errors bogus` were refused after parsing with status
1, the status of a run that failed on its data.
"""

from __future__ import annotations

import pytest

from vecgraft.cli import main


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["neighbors", "v.txt", "king", "-k", "0"],
         "argument -k: must be a positive integer, got 0"),
        (["cache", "prune"], "`cache prune` needs --max-size SIZE"),
        (["pretrain", "--method", "glove", "--corpus", "c.txt", "--out", "o", "--dim", "0"],
         "argument --dim: must be a positive integer, got 0"),
        (["pretrain", "--method", "word2vec", "--corpus", "c.txt", "--out", "o", "--epochs",
          "0"], "argument --epochs: must be a positive integer, got 0"),
        (["build", "--corpus", "c.txt", "--vectors", "v.txt", "--out", "o", "--min-freq", "-1"],
         "argument --min-freq/--min-count: must be a positive integer, got -1"),
        (["build", "--corpus", "c.txt", "--vectors", "v.txt", "--out", "o", "--max-size", "0"],
         "argument --max-size/--max-vocab: must be a positive integer, got 0"),
        (["build", "--corpus", "c.txt", "--vectors", "v.txt", "--out", "o", "--dim", "x"],
         "argument --dim: invalid int value: 'x'"),
        (["tune", "--train", "t.csv", "--out", "o", "--trials", "0"],
         "argument --trials: must be a positive integer, got 0"),
        # refused after parsing before (exit 1): the same bounds, now usage errors
        (["tune", "--train", "t.csv", "--out", "o", "--jobs", "0"],
         "argument --jobs: must be a positive integer, got 0"),
        (["intrinsic", "v.txt", "--neighbors", "a", "-k", "0"],
         "argument -k: must be a positive integer, got 0"),
        (["intrinsic", "v.txt", "--analogies", "google", "--restrict-vocab", "-1"],
         "argument --restrict-vocab: must be a positive integer, got -1"),
        (["graft-vocab", "m", "--add-tokens", "5", "--out", "o", "--k", "0"],
         "argument -k/--k: must be a positive integer, got 0"),
        (["pretrain", "--method", "word2vec", "--corpus", "c.txt", "--out", "o",
          "--min-count", "0"],
         "argument --min-count/--min-freq: must be a positive integer, got 0"),
        (["pretrain", "--method", "word2vec", "--corpus", "c.txt", "--out", "o",
          "--max-vocab", "0"],
         "argument --max-vocab/--max-size: must be a positive integer, got 0"),
        (["pretrain", "--method", "word2vec", "--corpus", "c.txt", "--out", "o",
          "--workers", "0"], "argument --workers: must be a positive integer, got 0"),
        (["demo", "--lang", "zh", "--dim", "0"],
         "argument --dim: must be a positive integer, got 0"),
        (["demo", "--lang", "zh", "--min-count", "-1"],
         "argument --min-count: must be a positive integer, got -1"),
        (["finetune", "--train", "t.csv", "--errors", "bogus"],
         "argument --errors: invalid choice: 'bogus'"),
        (["finetune", "--train", "t.csv", "--bad-rows", "maybe"],
         "argument --bad-rows: invalid choice: 'maybe'"),
        (["finetune", "--train", "t.csv", "--fuse-rule", "vote"],
         "argument --fuse-rule: invalid choice: 'vote'"),
    ],
)  # fmt: skip
def test_pure_argument_checks_exit_2_with_the_usage(argv, said, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: vecgraft {argv[0]}")
    assert f"vecgraft {argv[0]}: error: {said}" in err
    assert not (tmp_path / "o").exists()


def test_finetune_help_lists_the_reading_and_fusion_choices(capsys):
    # finetune showed `--errors VALUE`, where build, evaluate and tune list the choices
    with pytest.raises(SystemExit):
        main(["finetune", "--help"])
    usage = " ".join(capsys.readouterr().out.split())
    for shown in ("--encoding NAME", "--errors {strict,replace,ignore}",
                  "--bad-rows {error,skip}", "--fuse-rule {pool,mix}"):  # fmt: skip
        assert shown in usage


def test_finetune_choice_flags_still_leave_config_values_alone(tmp_path, monkeypatch):
    # the flags default to nothing, so a --config file's errors/bad_rows/fuse_rule apply
    from vecgraft.cli import build_parser
    from vecgraft.cli.finetune import given_settings

    args = build_parser("finetune").parse_args(["finetune", "--train", "t.csv"])
    assert not {"errors", "bad_rows", "fuse_rule", "encoding"} & set(given_settings(args))
    args = build_parser("finetune").parse_args(
        ["finetune", "--errors", "REPLACE", "--fuse-rule", "mix"]
    )
    assert given_settings(args)["errors"] == "replace"
    assert given_settings(args)["fuse_rule"] == "mix"


@pytest.mark.parametrize(
    ("command", "base"),
    [
        ("finetune", ["--train", "t.csv"]),
        ("tune", ["--train", "t.csv", "--out", "o"]),
        ("build", ["--corpus", "c.txt", "--vectors", "v.txt", "--out", "o"]),
        ("evaluate", ["run", "--data", "d.csv"]),
    ],
)
def test_bad_rows_report_still_parses_as_skip(command, base, capsys):
    # "report" is skip's old spelling (BadRowPolicy._missing_), in saved configs and
    # scripts; finetune refused it (exit 2) once the flag took choices
    from vecgraft.cli import build_parser

    parser = build_parser(command)
    for typed in ("report", "Skip"):
        assert parser.parse_args([command, *base, "--bad-rows", typed]).bad_rows == "skip"
    assert parser.parse_args([command, *base, "--bad-rows", "ERROR"]).bad_rows == "error"
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "--bad-rows {error,skip}" in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        ("graft-vocab", "-k K, --k K"),  # -k as neighbors and intrinsic spell it
        ("pretrain", "--stopwords en|zh|FILE"),  # as build's and finetune's
        ("demo", "--progress, --no-progress progress bars"),  # it had no help text
    ],
)
def test_flag_spellings_and_help_match_the_other_commands(command, shown, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert shown in " ".join(capsys.readouterr().out.split())


def test_graft_vocab_takes_k_with_one_dash_and_two():
    from vecgraft.cli import build_parser

    base = ["graft-vocab", "m", "--add-tokens", "5", "--out", "o"]
    for flag in ("-k", "--k"):
        assert build_parser("graft-vocab").parse_args([*base, flag, "3"]).k == 3


def test_build_of_an_empty_folder_names_it(tmp_path, capsys):
    # it said "empty corpus: 0 texts gave no tokens", not which --corpus
    (tmp_path / "empty").mkdir()
    vectors = tmp_path / "v.txt"
    vectors.write_text("a 1 0\nb 0 1\n", encoding="utf-8")
    assert main(["build", "--corpus", str(tmp_path / "empty"), "--vectors", str(vectors),
                 "--out", str(tmp_path / "o")]) == 1  # fmt: skip
    assert capsys.readouterr().err.startswith(
        f"vecgraft build: error: --corpus {tmp_path / 'empty'}: empty corpus: 0 texts"
    )


def test_convert_makes_missing_folders_and_its_help_says_so(tmp_path, capsys):
    # the help said folders were made only for --to native, while every format made them
    with pytest.raises(SystemExit):
        main(["convert", "--help"])
    assert "missing parent folders are made" in " ".join(capsys.readouterr().out.split())
    vectors = tmp_path / "v.txt"
    vectors.write_text("a 1 0\nb 0 1\n", encoding="utf-8")
    target = tmp_path / "new" / "dir" / "out.txt"
    assert main(["convert", str(vectors), str(target), "--to", "glove"]) == 0
    assert target.read_text(encoding="utf-8").split() == ["a", "1", "0", "b", "0", "1"]
