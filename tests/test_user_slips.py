"""What a user's first run on their own files trips over: each slip ends in a message that
says what happened and which flag fixes it, and nothing is dropped or misread unsaid."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

import conftest_transformer
from finetune_helpers import make_dataset, make_texts, write_csv
from vecgraft.cli import main
from vecgraft.cli.finetune import _interrupted_hint
from vecgraft.errors import UnsegmentedTextWarning

bert_dir = conftest_transformer.bert_dir  # tiny local BERT folder (session fixture)
FAST = ["--model", "boe", "--epochs", "1", "--no-plots", "--no-fuse-linear"]


def _error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 1
    return capsys.readouterr().err


def test_evaluate_reads_the_columns_the_run_was_trained_on(tmp_path, capsys):
    def renamed(src: Path, dst: Path) -> Path:
        rows = list(csv.reader(src.open(encoding="utf-8")))
        with dst.open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows([["category", "sentence"]] + [r[::-1] for r in rows[1:]])
        return dst

    data = make_dataset(tmp_path / "data", train_per_class=10, test_per_class=3)
    train, test = (renamed(data[k], tmp_path / f"{k}.csv") for k in ("train", "test"))
    run = tmp_path / "run"
    assert main(["finetune", "--train", str(train), "--test", str(test), "--out", str(run),
                 "--text-column", "sentence", "--label-column", "category", *FAST]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(test)]) == 0
    assert json.loads((run / "eval-test.json").read_text())["test"]["support"]
    # a flag still wins, and a wrong one names the flag to pass, not a Python keyword
    err = _error(capsys, ["evaluate", str(run), "--data", str(test), "--text-column", "text"])
    assert "no text column 'text'; columns found: 'category', 'sentence'" in err
    assert err.rstrip().endswith("(pass --text-column NAME to choose one)")


def test_too_few_rows_for_a_validation_part_says_so(tmp_path, capsys):
    rows = [(f"word{i} text", label) for i, label in enumerate("abcdef")]
    train = write_csv(tmp_path / "train.csv", rows)
    test = write_csv(tmp_path / "test.csv", [("word0 other", "a")])
    err = _error(capsys, ["finetune", "--train", str(train), "--test", str(test),
                          "--out", str(tmp_path / "run"), *FAST])  # fmt: skip
    assert "cannot split off a validation part from 6 rows: no label has two" in err
    assert "pass --valid-fraction 0 to train without one, or --valid FILE to give one" in err


def test_a_valid_file_label_unknown_to_training_is_an_error_in_an_ensemble_too(tmp_path, capsys):
    data = make_dataset(tmp_path / "data", train_per_class=10, test_per_class=3)
    valid = write_csv(tmp_path / "valid.csv", [*make_texts(2, seed=5), ("odd one", "zzz")])
    for members in ("1", "3"):  # the default ensembles a set this small; both refuse alike
        err = _error(capsys, ["finetune", "--train", str(data["train"]), "--test",
                              str(data["test"]), "--valid", str(valid), "--ensemble", members,
                              "--out", str(tmp_path / f"run{members}"), *FAST])  # fmt: skip
        lines = valid.read_text().splitlines()
        assert f"valid.csv:{len(lines)}: label 'zzz' does not occur in the training data" in err


def test_an_empty_test_part_after_deduplication_names_the_off_switch(tmp_path, capsys):
    data = make_dataset(tmp_path / "data", train_per_class=10, test_per_class=3)
    err = _error(capsys, ["finetune", "--train", str(data["train"]), "--test",
                          str(data["train"]), "--out", str(tmp_path / "run"), *FAST])  # fmt: skip
    assert "train.csv: the test set is empty after removing the texts that also occur" in err
    assert "(pass --no-dedupe to score them anyway)" in err


def test_an_interrupted_run_points_at_checkpoints_that_exist(tmp_path):
    # before the first checkpoint a run removes what it wrote: '--resume' (the old hint)
    # answered "nothing to resume"
    fresh = ("stopped before the first checkpoint, so there is nothing to resume: run the "
             "same command again to start over")  # fmt: skip
    assert _interrupted_hint(tmp_path, overwrite=False) == fresh
    resume = f"continue with `vecgraft finetune --out {tmp_path} --resume`"
    (tmp_path / "members" / "0" / "last").mkdir(parents=True)
    assert _interrupted_hint(tmp_path, overwrite=False) == (
        f"each network's last checkpoint is in {tmp_path / 'members'}/<k>/last; {resume}"
    )
    # an ensemble keeps the run --overwrite replaces aside until it ends
    (tmp_path / ".replaced").mkdir()
    assert _interrupted_hint(tmp_path, overwrite=True) == (
        f"each network's last checkpoint is in {tmp_path / 'members'}/<k>/last; {resume} "
        f"(the earlier run stays in {tmp_path / '.replaced'} until this one ends)"
    )
    (tmp_path / ".replaced").rmdir()
    (tmp_path / "last").mkdir()
    assert _interrupted_hint(tmp_path, overwrite=False) == (
        f"the last checkpoint is in {tmp_path / 'last'}; {resume}"
    )
    # past its first checkpoint an --overwrite has removed the earlier run: said so
    assert _interrupted_hint(tmp_path, overwrite=True) == (
        f"the last checkpoint is in {tmp_path / 'last'}; {resume} (the earlier run in --out "
        "was removed at this run's first checkpoint)"
    )
    # --overwrite stopped before its first checkpoint: the earlier, finished run is back
    (tmp_path / "metrics.json").write_text("{}")
    assert _interrupted_hint(tmp_path, overwrite=True) == (
        "stopped before the first checkpoint; the earlier run in --out is as it was: run the "
        "same command again to replace it"
    )


def test_ctrl_c_in_finetune_says_where_to_resume_on_stderr(tmp_path, capsys, monkeypatch):
    # the note went to stdout: `finetune ... > log.txt` hid it in the log
    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("vecgraft.finetune.run.finetune", interrupted)
    out = tmp_path / "run"
    assert main(["finetune", "--train", "x.csv", "--out", str(out)]) == 130
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "vecgraft finetune: interrupted: stopped before the first checkpoint, so there is "
        "nothing to resume: "
        "run the same command again to start over\n"
    )


def test_a_document_longer_than_a_mebibyte_is_one_row_and_one_prediction(tmp_path, capsys):
    from vecgraft.finetune.data import read_labelled

    data = make_dataset(tmp_path / "data", train_per_class=10, test_per_class=3)
    book = " ".join(["a very long document"] * 80_000)  # 1.6 MB on one line
    rows = list(csv.reader(data["train"].open(encoding="utf-8")))[1:]
    train = write_csv(tmp_path / "train.csv", [(t, y) for t, y in rows] + [(book, rows[0][1])])
    texts, _ = read_labelled(train)
    assert texts.texts[-1] == book and len(texts) == len(rows) + 1
    run = tmp_path / "run"
    assert main(["finetune", "--train", str(train), "--test", str(data["test"]), "--model",
                 "linear", "--out", str(run), "--no-plots"]) == 0  # fmt: skip
    lines = tmp_path / "in.txt"
    lines.write_text(f"short one\n{book}\nanother\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["predict", str(run), str(lines)]) == 0
    assert len(capsys.readouterr().out.split("\n")) == 4  # three answers and the last newline


def test_a_path_the_system_refuses_is_one_error_line_not_a_traceback(tmp_path, capsys):
    data = make_dataset(tmp_path / "data", train_per_class=5, test_per_class=2)
    out = tmp_path / "notadir"
    out.write_text("x")
    err = _error(capsys, ["build", "--corpus", str(data["train"]), "--vectors",
                          str(data["vectors"]), "--out", str(out)])  # fmt: skip
    assert err == f"vecgraft build: error: {out}: is a file, not a folder\n"


def test_the_commonest_python_slips_say_what_to_pass(tmp_path):
    """A wrong column, token ids for words, a list for a Vocab: a vecgraft error naming the
    keyword or type to use, not an AttributeError from deep inside (or a keyword the function
    does not take: `iter_texts` says `column=`, not the reader's `text_column=`)."""
    import vecgraft
    from vecgraft.errors import DataError, VocabError
    from vecgraft.text import iter_texts

    data = make_dataset(tmp_path / "data", train_per_class=5, test_per_class=2)
    with pytest.raises(DataError, match=r"no text column 'review'.*\(pass column=\.\.\. to"):
        list(iter_texts(data["train"], column="review"))
    with pytest.raises(VocabError, match="found int 1 at position 0; pass the tokens"):
        vecgraft.load(data["vectors"], vocab=[1, 2], cache=False)
    vectors = vecgraft.load(data["vectors"], cache=False)
    with pytest.raises(VocabError, match="vocab must be a vecgraft Vocab, got list"):
        vecgraft.pretrained_embedding(["cat", "dog"], vectors)


def test_a_glove_file_read_as_word2vec_says_which_format_to_use(tmp_path, capsys):
    """The hint names `--format glove` on the command line and format='glove' in Python; a
    text file forced as binary word2vec says it is not one (it said "expected b'\\n' ending
    the 'count dim' header, found 64 bytes first")."""
    import vecgraft
    from vecgraft.errors import FormatError

    glove = make_dataset(tmp_path / "data", train_per_class=5, test_per_class=2)["vectors"]
    with pytest.raises(FormatError, match=r"; use format='glove' for files without a header$"):
        vecgraft.load(glove, format="word2vec", cache=False)
    err = _error(capsys, ["info", str(glove), "--format", "word2vec", "--no-cache"])
    assert err.rstrip().endswith("; use --format glove for files without a header")
    err = _error(capsys, ["info", str(glove), "--format", "word2vec-bin", "--no-cache"])
    assert "so this is not a binary word2vec file (a text vector file?)" in err
    assert err.rstrip().endswith("; leave out --format FORMAT to detect the format")


def test_a_build_folder_given_as_vectors_names_the_file_it_was_built_from(tmp_path, capsys):
    data = make_dataset(tmp_path / "data", train_per_class=5, test_per_class=2)
    emb = tmp_path / "emb"
    assert main(["build", "--corpus", str(data["train"]), "--vectors", str(data["vectors"]),
                 "--out", str(emb)]) == 0  # fmt: skip
    capsys.readouterr()
    err = _error(capsys, ["finetune", "--train", str(data["train"]), "--vectors", str(emb),
                          "--out", str(tmp_path / "run"), *FAST])  # fmt: skip
    assert "a `vecgraft build` folder (an embedding aligned to one vocabulary)" in err
    assert f"pass the vector file it was built from ({data['vectors']})" in err
    assert "--format" not in err  # forcing a format cannot help


def test_undecodable_text_names_the_flags_of_the_command_or_the_keywords(tmp_path, capsys):
    """The hint was one fixed string, "pass errors='replace' or 'ignore' (--errors) ... or
    encoding= (--encoding)": Python keywords on the command line, and flags that
    graft-vocab and tune do not have."""
    from vecgraft.errors import DataError
    from vecgraft.text import iter_texts

    data = make_dataset(tmp_path / "data", train_per_class=5, test_per_class=2)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine text\nan \xa3 sign in Latin-1\n")
    with pytest.raises(DataError) as err:
        list(iter_texts(bad))
    assert str(err.value).endswith(
        "; pass errors='replace' or 'ignore' to repair such lines, or encoding=... if the file "
        "is not UTF-8"
    )
    err_text = _error(capsys, ["build", "--corpus", str(bad), "--vectors", str(data["vectors"]),
                               "--out", str(tmp_path / "emb")])  # fmt: skip
    assert err_text.rstrip().endswith(
        "; pass --errors replace or 'ignore' to repair such lines, or --encoding NAME if the "
        "file is not UTF-8"
    )


def test_no_training_data_names_the_keyword_or_the_flag(tmp_path, capsys):
    from vecgraft.errors import ConfigError
    from vecgraft.finetune import FinetuneConfig, finetune

    with pytest.raises(ConfigError, match=r"^no training data: pass train=\.\.\.$"):
        finetune(FinetuneConfig(out=str(tmp_path / "run")))  # it said "pass --train PATH"
    err = _error(capsys, ["finetune", "--out", str(tmp_path / "run")])
    assert err == "vecgraft finetune: error: no training data: pass --train PATH\n"


def test_a_second_run_into_the_same_folder_names_keywords_or_flags(tmp_path, capsys):
    """Running a notebook cell twice met "use --resume ..., --overwrite ..., or another
    --out": flags, where `overwrite` is an argument of `finetune()`."""
    from vecgraft.errors import ConfigError
    from vecgraft.finetune import FinetuneConfig, finetune

    data = make_dataset(tmp_path / "data", train_per_class=10, test_per_class=3)
    run = tmp_path / "run"
    argv = ["finetune", "--train", str(data["train"]), "--test", str(data["test"]),
            "--out", str(run), "--ensemble", "1", *FAST]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    with pytest.raises(ConfigError) as err:
        finetune(FinetuneConfig(train=str(data["train"]), out=str(run)))
    assert str(err.value) == (
        f"{run} already holds a run; use resume=True to continue it, overwrite=True to "
        "replace it, or another out=..."
    )
    assert _error(capsys, argv).rstrip().endswith(
        "already holds a run; use --resume to continue it, --overwrite to replace it, or "
        "another --out DIR"
    )


@pytest.mark.parametrize("command", ["build", "graft-vocab"])
def test_a_wrong_text_column_names_the_flag_of_each_corpus_command(
    tmp_path, capsys, bert_dir, command
):
    data = make_dataset(tmp_path / "data", train_per_class=5, test_per_class=2)
    argv = {
        "build": ["build", "--corpus", str(data["train"]), "--vectors", str(data["vectors"])],
        "graft-vocab": ["graft-vocab", str(bert_dir), "--corpus", str(data["train"]),
                        "--add-tokens", "3"],
    }[command]  # fmt: skip
    err = _error(capsys, [*argv, "--text-column", "review", "--out", str(tmp_path / "o")])
    assert "no text column 'review'" in err
    assert err.rstrip().endswith("(pass --text-column NAME to choose one)")


def test_finetune_takes_a_transformer_checkpoint_as_vectors(tmp_path, capsys, bert_dir):
    data = make_dataset(tmp_path / "data", train_per_class=10, test_per_class=3)
    run = tmp_path / "run"
    assert main(["finetune", "--train", str(data["train"]), "--test", str(data["test"]),
                 "--vectors", f"hf:{bert_dir}", "--out", str(run), "--ensemble", "1",
                 *FAST]) == 0  # fmt: skip
    said = capsys.readouterr().out
    assert f"from hf:{bert_dir}" in said and "derived per word (no word list)" in said
    assert json.loads((run / "config.json").read_text())["vectors"] == f"hf:{bert_dir}"
    assert json.loads((run / "metrics.json").read_text())["test"]["support"]


@pytest.mark.filterwarnings("ignore::vecgraft.errors.UnsegmentedTextWarning")  # tested below
def test_chinese_left_unsegmented_is_flagged(tmp_path):
    from vecgraft.text import build_vocab
    from vecgraft.text.tokenize import Tokenizer
    from vecgraft.text.unspaced import unsegmented_warnings

    def said(texts: list[str], kind: str) -> list[str]:
        return unsegmented_warnings(build_vocab(texts, Tokenizer(kind)).counts.items(), kind)

    texts = ["房间很干净，服务也很好", "早餐品种太少了，不推荐", "位置不错，交通方便"] * 3
    assert said(texts, "regex") == [
        "the texts are Chinese, but the regex tokenizer does not segment "
        "them: their tokens average 4.7 characters (whole clauses); use the jieba "
        "tokenizer (Tokenizer('jieba') / --tokenizer jieba) or char"]  # fmt: skip
    assert said(texts, "char") == []
    assert said(["a rather long sentence of English words"] * 3, "regex") == []


def test_chinese_half_of_a_mixed_corpus_is_flagged(tmp_path):
    # half the texts are Chinese, read as whole clauses: 19% of the tokens, 37% of the text
    # (the share of tokens missed it: a mixed English + Chinese corpus went unflagged)
    from vecgraft.text import build_vocab
    from vecgraft.text.tokenize import Tokenizer
    from vecgraft.text.unspaced import unsegmented_warnings

    english = "the film was a little too long , but the acting is good and the music fine"
    chinese = "这家酒店的位置很好，离地铁站很近，房间干净整洁，服务员态度也非常热情，早餐品种丰富"
    texts = [english, chinese] * 5
    with pytest.warns(UnsegmentedTextWarning, match=r"partly Chinese \(37% of the text\)"):
        said = unsegmented_warnings(build_vocab(texts, Tokenizer("regex")).counts.items(),
                                    "regex")
    assert said == ["the texts are partly Chinese (37% of the text), but the regex "
                    "tokenizer does not segment them: their tokens average 7.4 characters "
                    "(whole clauses); use the jieba tokenizer (Tokenizer('jieba') / "
                    "--tokenizer jieba) or char"]  # fmt: skip


def test_unsegmented_chinese_is_flagged_although_min_freq_prunes_its_clauses(tmp_path, capsys):
    # the warning read the vocabulary after --min-freq 2 had pruned the clauses seen once,
    # which are nearly all of them: the worse the problem, the less it was said
    from finetune_helpers import write_vectors
    from vecgraft.errors import VocabError
    from vecgraft.text import build_vocab
    from vecgraft.text.tokenize import Tokenizer

    clauses = ["房间很干净，服务也很好", "早餐品种太少了，不推荐", "位置不错，交通方便",
               "这家酒店离地铁站很近", "服务员态度非常热情", "房间太小而且很吵"]  # fmt: skip
    rows = [(f"{clauses[i % 6].replace('，', f'{i}，')}{i}，good film", "pos" if i % 2 else "neg")
            for i in range(24)]  # fmt: skip
    texts = [text for text, _ in rows]
    with pytest.warns(UnsegmentedTextWarning, match=r"partly Chinese \(55% of the text\)"):
        vocab = build_vocab(texts, Tokenizer("regex"), min_freq=2)
    assert vocab.tokens == ["<pad>", "<unk>", "，", "good", "film"]  # every clause pruned
    said = vocab.metadata["unsegmented"]
    assert len(said) == 1 and said[0].startswith("the texts are partly Chinese (55% of the text)")
    with pytest.raises(VocabError, match=r"keeps no token: .* \(the texts are Chinese, but"):
        build_vocab([c.replace("，", "") for c in clauses], Tokenizer("regex"), min_freq=2)
    train = write_csv(tmp_path / "train.csv", rows)
    vectors = write_vectors(tmp_path / "v.txt")
    # named: without --tokenizer the Chinese corpus is segmented with jieba (test_auto_jieba_build)
    assert main(["build", "--corpus", str(train), "--column", "text", "--vectors", str(vectors),
                 "--out", str(tmp_path / "emb"), "--min-freq", "2", "--no-cache",
                 "--tokenizer", "regex"]) == 0  # fmt: skip
    assert f"warning: {said[0]}\n" in capsys.readouterr().err
    run = ["finetune", "--train", str(train), "--out", str(tmp_path / "run"), "--ensemble", "1"]
    assert main([*run, "--tokenizer", "regex", "--min-freq", "2", *FAST]) == 0
    out = capsys.readouterr().out  # judged on the training split alone: another share
    assert "\nWARNING: the texts are partly Chinese (" in out and "does not segment them" in out


def test_linear_model_on_unsegmented_chinese_is_flagged(tmp_path, capsys):
    # the network families warned of Chinese read as whole clauses; --model linear (and so
    # compare's linear row) fitted its word n-grams on them in silence: 74.7 % on 1,000 rows
    # of ChnSentiCorp where --tokenizer jieba gets 85.7 %
    clauses = ["房间很干净，服务也很好", "早餐品种太少了，不推荐", "位置不错，交通方便",
               "这家酒店离地铁站很近", "服务员态度非常热情", "房间太小而且很吵"]  # fmt: skip
    rows = [(clauses[i % 6] + str(i), "pos" if i % 6 in (0, 2, 4) else "neg") for i in range(24)]
    train = write_csv(tmp_path / "train.csv", rows)
    run = ["finetune", "--train", str(train), "--model", "linear", "--no-plots"]
    # named: without --tokenizer the Chinese texts are segmented with jieba (test_auto_jieba)
    assert main([*run, "--out", str(tmp_path / "run"), "--tokenizer", "regex"]) == 0
    out = capsys.readouterr().out
    assert "\nWARNING: the texts are Chinese, but the regex tokenizer does not segment them" in out
    assert "use the jieba tokenizer (Tokenizer('jieba') / --tokenizer jieba) or char" in out
    assert main([*run, "--out", str(tmp_path / "char"), "--tokenizer", "char"]) == 0
    assert "does not segment" not in capsys.readouterr().out


def test_texts_cut_by_max_length_are_reported(tmp_path, capsys):
    # 12,000-token documents trained on their first 400 tokens without a word in the log
    rows = [(f"{word} " + " ".join(["the film"] * (6 + i % 3)), label)
            for i, (word, label) in enumerate([("great", "pos"), ("awful", "neg")] * 10)]
    train, test = write_csv(tmp_path / "train.csv", rows), write_csv(tmp_path / "test.csv", rows)
    base = ["finetune", "--train", str(train), "--test", str(test), "--no-dedupe",
            "--ensemble", "1", *FAST]  # fmt: skip
    assert main([*base, "--out", str(tmp_path / "cut"), "--max-length", "14"]) == 0
    notes = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("Truncation")]
    assert notes == ["Truncation: 12 of 18 training texts are longer than --max-length 14 "
                     "tokens (median of those 17, longest 17); the network reads only their "
                     "first 14 (--max-length N to change, 0: no limit)"]  # fmt: skip
    assert main([*base, "--out", str(tmp_path / "whole")]) == 0
    assert "Truncation" not in capsys.readouterr().out


def test_predict_keeps_one_line_per_text_when_a_label_holds_a_line_break(
    tmp_path, capsys, monkeypatch
):
    # a quoted CSV cell "x\ny" printed as two lines, so predictions no longer lined up
    import io

    rows = [(f"{w} film {i}", label) for i, (w, label) in
            enumerate([("wonderful", "good\nfilm"), ("awful", "bad\tfilm")] * 10)]  # fmt: skip
    train = write_csv(tmp_path / "train.csv", rows)
    run = tmp_path / "run"
    assert main(["finetune", "--train", str(train), "--out", str(run), "--ensemble", "1",
                 *FAST]) == 0  # fmt: skip
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO("wonderful\nawful\n"))
    assert main(["predict", str(run), "--proba"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and out[0] == "label\tbad\\tfilm\tgood\\nfilm"
    assert all(len(line.split("\t")) == 3 for line in out)


def test_labels_that_are_one_number_written_twice_are_flagged(tmp_path, capsys):
    # "1" and "01" (a train file stitched from two sources) silently became two classes,
    # each with half of the class's rows; "1.0" (a float column) is read as the number 1
    rows = [(f"{w} film {i}", label) for i, (w, label) in enumerate(
        [("wonderful", "1"), ("awful", "0"), ("great", "01"), ("superb", "1.0")] * 8)]  # fmt: skip
    train = write_csv(tmp_path / "train.csv", rows)
    assert main(["finetune", "--train", str(train), "--out", str(tmp_path / "run"),
                 "--model", "linear", "--no-plots"]) == 0  # fmt: skip
    warnings = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("WARNING")]
    # "1.0" merged into "1" in a file that also writes "1" is said too, with its rows
    assert warnings == [
        f"WARNING: {train}: labels written '1' (8 rows) and '1.0' (8 rows) are read as one "
        "label '1' (a whole number with a zero fraction is that number, as a float column "
        "writes it); if they are different classes, name them apart",
        f"WARNING: labels '01', '1' are different classes but read as the same number; if "
        f"they are one class, write them alike in {train}",
    ]
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["labels"] == ["0", "01", "1"]
    from vecgraft.finetune.labels import lookalike_labels  # hand labels: 'Positive', 'positive'

    assert lookalike_labels(["Positive", "negative", "positive", "1", "one"]) == [
        (["Positive", "positive"], "differ only in case")]


def test_predict_reads_a_table_by_its_text_column(tmp_path, capsys):
    # `predict RUN test.csv` scored every raw line: the header, the quotes and the label
    # column as text, one answer more than there are rows, and a quoted line break split a row
    rows = [(f"{w} film {i}", label) for i, (w, label) in
            enumerate([("wonderful", "pos"), ("awful", "neg")] * 10)]  # fmt: skip
    train = write_csv(tmp_path / "train.csv", rows)
    run = tmp_path / "run"
    assert main(["finetune", "--train", str(train), "--out", str(run), "--model", "linear",
                 "--no-plots", "--text-column", "text"]) == 0  # fmt: skip
    table = write_csv(tmp_path / "new.csv", [("wonderful\nfilm", "?"), ("", "?"), ("awful", "?")])
    jsonl = tmp_path / "new.jsonl"
    jsonl.write_text('{"text": "wonderful"}\n{"text": "awful"}\n', encoding="utf-8")
    capsys.readouterr()
    assert main(["predict", str(run), str(table)]) == 0
    answers = capsys.readouterr().out.split("\n")
    # one answer per row, the empty text's too, so answers stay beside their rows
    assert len(answers) == 4 and answers[::2] == ["pos", "neg"] and answers[1] in {"pos", "neg"}
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("label,text\n?,wonderful\nawful\n?,awful\n", encoding="utf-8")
    assert _error(capsys, ["predict", str(run), str(ragged)]) == (
        f"vecgraft predict: error: {ragged}:3: too few fields (1 of 2 or more); every row of "
        "a table gets one answer, so a row that cannot be read stops the command\n")
    assert main(["predict", str(run), str(jsonl), "--proba"]) == 0
    assert [r.split("\t")[0] for r in capsys.readouterr().out.split("\n")] == [
        "label", "pos", "neg", ""]
    assert _error(capsys, ["predict", str(run), str(table), "--text-column", "body"]).startswith(
        f"vecgraft predict: error: {table}: no text column 'body'")


def test_predict_points_a_tune_folder_to_its_final_run_and_refuses_proba_for_numbers(
    tmp_path, capsys
):
    tune_dir = tmp_path / "tune"
    (tune_dir / "final").mkdir(parents=True)
    (tune_dir / "tune.json").write_text("{}")
    texts = tmp_path / "in.txt"
    texts.write_text("one text\n")
    err = _error(capsys, ["predict", str(tune_dir), str(texts)])
    assert f"{tune_dir}: a tune folder; its model is the run in {tune_dir / 'final'}" in err
    # export said "cannot detect the vector format of this folder"
    assert _error(capsys, ["export", str(tune_dir), "--to", "word2vec", "--out",
                           str(tmp_path / "x.txt")]) == (
        f"vecgraft export: error: {tune_dir}: a tune folder; its model is the run in "
        f"{tune_dir / 'final'}\n")  # fmt: skip
    rows = [(f"word{i} good" if i % 2 else f"word{i} bad", str(i % 2 + 0.5)) for i in range(40)]
    train = write_csv(tmp_path / "train.csv", rows)
    run = tmp_path / "reg"
    assert main(["finetune", "--train", str(train), "--model", "linear", "--task",
                 "regression", "--out", str(run), "--no-plots"]) == 0  # fmt: skip
    capsys.readouterr()
    err = _error(capsys, ["predict", str(run), str(texts), "--proba"])
    assert "predicts numbers (--task regression): it has no class probabilities" in err


def test_a_device_this_machine_lacks_is_a_clear_error(monkeypatch, tmp_path):
    # `--device mps` on Linux failed at the first tensor copy with "PyTorch is not linked
    # with support for mps devices"; cuda:3 on a one-GPU machine, with an invalid ordinal
    import torch

    from vecgraft._util.device import resolve_device
    from vecgraft.errors import ConfigError

    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=r"device 'mps' requested but .* no mps backend; use cpu"):
        resolve_device("mps")
    # every torch build has the meta device: it holds shapes without values, so it is refused
    # for that, not as "this PyTorch build or machine has no meta backend"
    with pytest.raises(ConfigError, match=r"^device 'meta' holds tensor shapes, not values: "
                       r"nothing computed there .* can be read back; use cpu"):  # fmt: skip
        resolve_device("meta")
    import numpy as np

    from vecgraft.evaluate.intrinsic import analogies
    from vecgraft.vectors import Vectors

    questions = tmp_path / "q.txt"
    questions.write_text(": family\na b c d\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="no mps backend"):  # scoring used torch.device as is
        analogies(Vectors(["a", "b", "c", "d"], np.eye(4, dtype=np.float32)), questions,
                  device="mps")
    assert resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ConfigError, match=r"'cuda:3' .* 1 CUDA device\(s\): cuda:0 to cuda:0"):
        resolve_device("cuda:3")
    assert resolve_device("cuda:0") == torch.device("cuda", 0)
    with pytest.raises(ConfigError, match="no mps backend; use cpu or cuda"):
        resolve_device("mps")


def test_an_unknown_device_lists_what_vecgraft_takes_not_torchs_device_types(tmp_path, capsys):
    # `--device bogus` quoted torch's list of some 20 device types (opengl, fpga, ve, ...)
    err = _error(capsys, ["finetune", "--train", str(tmp_path / "t.csv"), "--device", "bogus",
                          "--out", str(tmp_path / "run")])  # fmt: skip
    assert ("unknown device 'bogus'; expected auto, cpu, cuda, cuda:N (the GPU numbered N), "
            "mps (Apple)") in err
    assert "opengl" not in err and "privateuseone" not in err
    assert not (tmp_path / "run").exists()


def test_a_data_file_replaced_with_its_size_and_time_kept_counts_as_changed(tmp_path):
    # `cp -p` of another file of the same size kept size and mtime: resume and compare took
    # the new texts for the old ones
    import os

    from vecgraft._util.fingerprint import changed_inputs, input_fingerprints

    path = tmp_path / "train.csv"
    path.write_text("text,label\ngood film,pos\n", encoding="utf-8")
    saved = input_fingerprints({"train": str(path)})
    stat = path.stat()
    path.write_text("text,label\nbad filmy,neg\n"[:len("text,label\ngood film,pos\n")],
                    encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns
    assert changed_inputs(saved, input_fingerprints({"train": str(path)})) == [
        f"train {path} (modified since)"
    ]
    # runs saved before the sampled hash have none: what both hold is compared
    old = {"train": {k: v for k, v in saved["train"].items() if k != "sample"}}
    same = {"train": {**old["train"], "sample": "0" * 32}}
    assert changed_inputs(old, same) == []


def test_predict_on_a_run_still_training_or_interrupted_says_so(tmp_path, capsys):
    # a run's best/ appears after its first epoch, long before the fused model and
    # metrics.json: predict silently answered with the network of the best epoch so far
    data = make_dataset(tmp_path / "data", train_per_class=10, test_per_class=3)
    run = tmp_path / "run"
    assert main(["finetune", "--train", str(data["train"]), "--test", str(data["test"]),
                 "--out", str(run), *FAST]) == 0  # fmt: skip
    texts = tmp_path / "in.txt"
    texts.write_text("one text\n")
    capsys.readouterr()
    assert main(["predict", str(run), str(texts)]) == 0
    (run / "metrics.json").unlink()  # as a run looks while it trains, or once interrupted
    capsys.readouterr()
    err = _error(capsys, ["predict", str(run), str(texts)])
    assert err == (
        f"vecgraft predict: error: {run}: the run has not finished (no metrics.json): it is "
        f"still training or was interrupted; finish it with `vecgraft finetune --out {run} "
        "--resume`, or pass --checkpoint last for the last epoch saved so far\n"
    )
    assert "has not finished" in _error(capsys, ["evaluate", str(run), "--data", str(data["test"])])
    assert main(["predict", str(run), str(texts), "--checkpoint", "last"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    # a folder that is no run at all names what is missing, not a checkpoint folder
    err = _error(capsys, ["predict", str(tmp_path / "data"), str(texts)])
    assert err == (
        f"vecgraft predict: error: {tmp_path / 'data'}: not a run folder (no config.json); "
        "give the --out folder of a `vecgraft finetune` run\n"
    )


def test_predict_before_a_runs_first_checkpoint_offers_no_last_checkpoint(tmp_path, capsys):
    # after a kill -9 before the first checkpoint, predict suggested `--checkpoint last`,
    # which said "no such checkpoint folder"; an --overwrite's earlier run, still set aside
    # in .replaced/ (and removed at the new run's first checkpoint), went unmentioned
    import shutil

    data = make_dataset(tmp_path / "data", train_per_class=10, test_per_class=3)
    run = tmp_path / "run"
    assert main(["finetune", "--train", str(data["train"]), "--test", str(data["test"]),
                 "--out", str(run), *FAST]) == 0  # fmt: skip
    shutil.copytree(run, tmp_path / "earlier")
    for name in ("metrics.json", "best", "last", "history.json", "report.txt"):
        shutil.rmtree(run / name) if (run / name).is_dir() else (run / name).unlink()
    texts = tmp_path / "in.txt"
    texts.write_text("one text\n")
    capsys.readouterr()
    said = (
        f"vecgraft predict: error: {run}: the run has not finished (no metrics.json) and has "
        "saved no checkpoint yet (no last/): it is still training or was interrupted; finish "
        f"it with `vecgraft finetune --out {run} --resume`"
    )
    for extra in ([], ["--checkpoint", "last"]):
        assert _error(capsys, ["predict", str(run), str(texts), *extra]) == said + "\n"
    held = run / ".replaced"
    shutil.move(tmp_path / "earlier", held)  # as `--overwrite` sets the earlier run aside
    assert _error(capsys, ["predict", str(run), str(texts)]) == (
        f"{said}; the run it replaces (--overwrite) waits in {held}, removed at this run's "
        f"first checkpoint: `vecgraft predict {held}` reads it; move it elsewhere to keep it\n"
    )
    assert main(["predict", str(held), str(texts)]) == 0


def test_flags_a_run_would_ignore_are_errors(tmp_path, capsys):
    # --resume ran with the saved settings whatever else was given: a new --train or more
    # --epochs were silently not used; --adopt without --resume, or --resume with
    # --overwrite, did nothing either
    data = make_dataset(tmp_path / "data", train_per_class=10, test_per_class=3)
    run = tmp_path / "run"
    first = ["finetune", "--train", str(data["train"]), "--test", str(data["test"]),
             "--out", str(run), *FAST]  # fmt: skip
    assert main(first) == 0
    (run / "metrics.json").unlink()
    capsys.readouterr()
    err = _error(capsys, ["finetune", "--out", str(run), "--resume", "--train",
                          str(data["test"]), "--epochs", "3"])  # fmt: skip
    assert err == (
        f"vecgraft finetune: error: {run}: a resumed run keeps the settings it was started "
        f"with, and these differ: --epochs 3 (the run's: 1), --train {data['test']} (the "
        f"run's: {data['train']}); leave them out to resume, or start a new run (--overwrite, "
        "or another --out)\n"
    )
    err = _error(capsys, ["finetune", "--out", str(run), "--resume", "--overwrite"])
    assert "--resume continues the run in --out and --overwrite replaces it" in err
    err = _error(capsys, [*first[:-len(FAST)], "--out", str(tmp_path / "new"), "--adopt"])
    assert "--adopt continues a run copied or moved from elsewhere: it needs --resume" in err
    assert not (tmp_path / "new").exists()
    # the original command with --resume added repeats the saved settings: it resumes
    assert main([*first, "--resume", "--device", "cpu"]) == 0
    assert (run / "metrics.json").is_file()


def test_a_resume_refusal_names_where_each_value_came_from(tmp_path, capsys):
    # a value from --config was named as a flag (`--epochs 3`) the user never typed
    data = make_dataset(tmp_path / "data", train_per_class=10, test_per_class=3)
    run = tmp_path / "run"
    assert main(["finetune", "--train", str(data["train"]), "--test", str(data["test"]),
                 "--out", str(run), *FAST]) == 0  # fmt: skip
    (run / "metrics.json").unlink()
    config = tmp_path / "more.yaml"
    config.write_text("epochs: 3\nlr: 0.5\n", encoding="utf-8")
    capsys.readouterr()
    err = _error(capsys, ["finetune", "--out", str(run), "--resume", "--config", str(config),
                          "--lr", "0.25"])  # fmt: skip
    assert err == (
        f"vecgraft finetune: error: {run}: a resumed run keeps the settings it was started "
        f"with, and these differ: epochs: 3 in {config} (the run's: 1), --lr 0.25 (the run's: "
        "0.002); leave them out to resume, or start a new run (--overwrite, or another --out)\n"
    )


def test_a_resume_keeps_the_runs_no_plots_unless_a_flag_says_otherwise(tmp_path, capsys):
    # the flag's default replaced the run's --no-plots: the resumed run wrote its PNGs
    data = make_dataset(tmp_path / "data", train_per_class=10, test_per_class=3)
    run = tmp_path / "run"
    assert main(["finetune", "--train", str(data["train"]), "--test", str(data["test"]),
                 "--out", str(run), *FAST]) == 0  # fmt: skip
    for argv, pngs in (([], []), (["--plots"], ["confusion.png", "history.png"])):
        (run / "metrics.json").unlink()  # as an interrupted run looks
        assert main(["finetune", "--out", str(run), "--resume", *argv]) == 0
        assert sorted(p.name for p in run.glob("*.png")) == pngs, argv


def test_a_resume_reads_the_vectors_as_the_run_started(tmp_path, capsys):
    # `--limit 20` was not kept: the resume the interrupt message suggests read every row
    # and stopped on "the data changed since this run started"
    data = make_dataset(tmp_path / "data", train_per_class=10, test_per_class=3)
    run = tmp_path / "run"
    first = ["finetune", "--train", str(data["train"]), "--test", str(data["test"]),
             "--vectors", str(data["vectors"]), "--limit", "20", "--no-cache", "--out",
             str(run), *FAST]  # fmt: skip
    assert main(first) == 0
    splits = json.loads((run / "splits.json").read_text())
    assert splits["vector_options"] == {"limit": 20}
    (run / "metrics.json").unlink()
    capsys.readouterr()
    assert main(["finetune", "--out", str(run), "--resume", "--no-cache"]) == 0
    (run / "metrics.json").unlink()
    err = _error(capsys, ["finetune", "--out", str(run), "--resume", "--limit", "10"])
    assert err == (f"vecgraft finetune: error: {run}: a resumed run reads its vectors as it "
                   "started, and these differ: --limit 10 (the run's: 20); leave them out to "
                   "resume\n")  # fmt: skip


@pytest.mark.parametrize("command", ["compare", "tune"])
def test_an_out_that_is_a_file_says_so(tmp_path, capsys, command):
    # mkdir's "File exists" read as if the folder were there
    data = make_dataset(tmp_path / "data", train_per_class=5, test_per_class=2)
    out = tmp_path / "notes.txt"
    out.write_text("mine")
    extra = ["--sources", "random"] if command == "compare" else ["--trials", "1"]
    err = _error(capsys, [command, "--train", str(data["train"]), "--out", str(out), *extra])
    assert err == f"vecgraft {command}: error: {out}: is a file, not a folder\n"
    assert out.read_text() == "mine"


def test_a_file_of_float_labels_alone_is_not_flagged_and_jsonl_is_flagged_alike(tmp_path):
    # pandas writes a label column as floats once it held a missing value: 1.0 alone is the
    # label 1 without a word; 1 and 1.0 in one file are said, whatever the format
    from vecgraft.finetune.data import read_labelled
    from vecgraft.finetune.labels import merged_spellings

    floats = write_csv(tmp_path / "floats.csv", [("a", "1.0"), ("b", "2.0"), ("c", "1.0")])
    data, report = read_labelled(floats)
    assert data.labels == ["1", "2", "1"] and merged_spellings(data, report) is None
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text('{"text": "a", "label": 1}\n{"text": "b", "label": 1.0}\n'
                     '{"text": "c", "label": "1.00"}\n{"text": "d", "label": "2.0"}\n')  # fmt: skip
    said = merged_spellings(*read_labelled(mixed))
    assert said is not None and said.startswith(
        f"WARNING: {mixed}: labels written '1' (1 row), '1.0' (1 row) and '1.00' (1 row) are "
        "read as one label '1' (")
