"""Chinese training texts with no tokenizer named or recorded are segmented with jieba.

Why: `finetune` on Chinese reviews with neither `--tokenizer` nor vectors that record one
warned that the regex rule does not segment them, then trained on whole clauses anyway
(a CNN alone: 61.4 % where jieba gives ~76 %).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest_transformer import bert_dir  # noqa: F401  (fixture)
from finetune_helpers import make_dataset, write_csv
from vecgraft.finetune.config import FinetuneConfig
from vecgraft.finetune.run import finetune

pytest.importorskip("rjieba")

AUTO = "Tokenizer: jieba (the training texts are Chinese; --tokenizer regex keeps the regex rules)"
UNSEGMENTED = "WARNING: the texts are Chinese, but the regex tokenizer does not segment them"
FAST: dict[str, Any] = {"model": "boe", "epochs": 1, "plots": False, "progress": False,
                        "fuse_linear": False, "dedupe": False}  # fmt: skip

GOOD = ["酒店位置很好", "房间非常干净", "服务态度很好"]
BAD = ["酒店设施太差", "房间非常脏乱", "服务态度很差"]


def _zh_csv(path: Path) -> Path:
    """Reviews of two 6-character clauses: whole clauses to the regex rule, words to jieba."""
    rows = [(f"{a}，{b}", label) for label, part in (("正面", GOOD), ("负面", BAD))
            for a in part for b in part]  # fmt: skip
    return write_csv(path, rows * 2)


def _run(tmp_path: Path, name: str = "run", **changes: Any) -> tuple[Path, list[str]]:
    train = _zh_csv(tmp_path / "zh.csv")
    out = tmp_path / name
    lines: list[str] = []
    config = FinetuneConfig(train=str(train), test=str(train), out=str(out), **{**FAST, **changes})
    finetune(config, log=lines.append)
    return out, lines


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_chinese_texts_without_a_tokenizer_are_segmented_with_jieba(tmp_path: Path) -> None:
    from vecgraft.finetune.predict import load_run

    out, lines = _run(tmp_path, fuse_linear=True)
    assert lines.count(AUTO) == 1
    assert not [line for line in lines if line.startswith(UNSEGMENTED)]
    assert _json(out / "config.json")["tokenizer"] == "jieba"  # a --resume keeps it
    assert _json(out / "best" / "model.json")["tokenizer"]["kind"] == "jieba"
    assert _json(out / "fusion" / "linear.json")["config"]["tokenizer"] == "jieba"
    predictor = load_run(out, device="cpu")  # evaluate / predict read the saved tokenizer
    assert predictor.tokenizer("酒店位置很好，房间非常干净") == [
        "酒店", "位置", "很", "好", "，", "房间", "非常", "干净"
    ]
    assert predictor.predict(["酒店位置很好，房间非常干净"]) in (["正面"], ["负面"])


def test_a_partly_chinese_training_set_says_its_chinese_share(tmp_path: Path) -> None:
    # 38% Chinese rows, 62% English: jieba still (it keeps English words whole), but the
    # line said "the training texts are Chinese"
    chinese = [(f"{a}，{b}", label) for label, part in (("正面", GOOD), ("负面", BAD))
               for a in part for b in part]  # fmt: skip
    english = [(text, label) for text, label in (("ok fine", "正面"), ("so bad", "负面"))] * 14
    train = write_csv(tmp_path / "mixed.csv", [*chinese, *english, ("ok fine", "正面")])
    lines: list[str] = []
    config = FinetuneConfig(train=str(train), test=str(train), out=str(tmp_path / "r"),
                            valid_fraction=0, **FAST)  # every row: 18 of 47 Chinese
    finetune(config, log=lines.append)
    assert [line for line in lines if line.startswith("Tokenizer:")] == [
        "Tokenizer: jieba (38% of the training texts are Chinese; --tokenizer regex keeps the "
        "regex rules)"
    ]
    assert _json(tmp_path / "r" / "config.json")["tokenizer"] == "jieba"  # the same choice


def test_a_resume_keeps_the_tokenizer_its_checkpoint_was_trained_with(tmp_path: Path) -> None:
    # a run of an earlier release: config.json with no tokenizer, a regex checkpoint; its
    # resume read the texts again, chose jieba, and "the data changed since this run started"
    out, _lines = _run(tmp_path, tokenizer="regex", max_steps=1, epochs=3)
    saved = _json(out / "config.json")
    (out / "config.json").write_text(json.dumps({**saved, "tokenizer": None}), encoding="utf-8")
    lines: list[str] = []
    finetune(FinetuneConfig(out=str(out), resume=True, max_steps=None, plots=False),
             log=lines.append)
    assert AUTO not in lines
    assert _json(out / "last" / "model.json")["tokenizer"]["kind"] == "regex"


def test_a_linear_model_reads_jieba_words(tmp_path: Path) -> None:
    out, lines = _run(tmp_path, model="linear")
    assert lines.count(AUTO) == 1
    assert not [line for line in lines if line.startswith(UNSEGMENTED)]
    linear = _json(out / "linear.json")["config"]
    assert linear["tokenizer"] == "jieba" and linear["char_ngrams"] == [1, 3]


def test_english_texts_keep_the_regex_rule(tmp_path: Path) -> None:
    data = make_dataset(tmp_path / "data", train_per_class=6, test_per_class=2)
    out = tmp_path / "run"
    lines: list[str] = []
    finetune(FinetuneConfig(train=str(data["train"]), test=str(data["test"]), out=str(out),
                            **FAST), log=lines.append)  # fmt: skip
    assert not [line for line in lines if line.startswith("Tokenizer")]
    assert _json(out / "config.json")["tokenizer"] is None
    assert _json(out / "best" / "model.json")["tokenizer"]["kind"] == "regex"


def test_a_named_regex_tokenizer_is_kept_with_its_warning(tmp_path: Path) -> None:
    out, lines = _run(tmp_path, tokenizer="regex")
    assert AUTO not in lines
    assert [line for line in lines if line.startswith(UNSEGMENTED)]
    assert _json(out / "best" / "model.json")["tokenizer"]["kind"] == "regex"


def test_vectors_that_record_a_tokenizer_keep_it(tmp_path: Path) -> None:
    folder = tmp_path / "v"
    folder.mkdir()
    chars = sorted({c for clause in GOOD + BAD for c in clause})
    rows = [f"{c} {i % 3 * 0.5:.1f} {i % 2 * 0.5:.1f}" for i, c in enumerate(chars)]
    (folder / "vectors.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (folder / "metadata.json").write_text(json.dumps({"tokenizer": {"kind": "char"}}))
    out, lines = _run(tmp_path, vectors=str(folder / "vectors.txt"))
    assert AUTO not in lines
    assert _json(out / "config.json")["tokenizer"] is None
    assert _json(out / "best" / "model.json")["tokenizer"]["kind"] == "char"


def test_tune_trials_and_final_run_segment_with_jieba(tmp_path: Path) -> None:
    pytest.importorskip("optuna")
    from vecgraft.evaluate.tune import tune

    train = _zh_csv(tmp_path / "zh.csv")
    out = tmp_path / "t"
    lines: list[str] = []
    space = {"lr": {"type": "float", "low": 0.01, "high": 0.05}, "epochs": 1}
    tune(train, test=train, out=out, trials=1, progress=False, log=lines.append,
         config={k: v for k, v in FAST.items() if k != "fuse_linear"},
         space=space)  # fmt: skip
    assert lines.count(AUTO) == 1
    assert not [line for line in lines if line.startswith(UNSEGMENTED)]
    assert _json(out / "final" / "config.json")["tokenizer"] == "jieba"
    assert _json(out / "final" / "best" / "model.json")["tokenizer"]["kind"] == "jieba"
    assert "tokenizer: jieba" in (out / "best.yaml").read_text(encoding="utf-8")


def test_compare_rows_segment_chinese_with_jieba(tmp_path: Path) -> None:
    from vecgraft.evaluate.compare import CompareConfig, compare

    train = _zh_csv(tmp_path / "zh.csv")
    config = CompareConfig(train=str(train), test=str(train), sources=["random"],
                           fractions=[1.0], seeds=[0], out=str(tmp_path / "out"),
                           finetune={k: v for k, v in FAST.items() if k != "fuse_linear"},
                           intrinsic=False)  # fmt: skip
    lines: list[str] = []
    result = compare(config, log=lines.append)
    assert lines.count(f"compare: {AUTO}") == 1
    assert not [line for line in lines if line.startswith(UNSEGMENTED)]
    for cell in result.cells:  # the random and linear rows
        saved = Path(cell.run_dir) / "config.json"
        assert _json(saved)["tokenizer"] == "jieba", cell.source
    sources = {s["name"]: s for s in result.to_dict()["sources"]}
    assert {name: s["tokenizer"] for name, s in sources.items()} == {
        "linear": "jieba", "random": "jieba"
    }
    from vecgraft.evaluate._compare_sources import CHINESE_TEXTS

    assert sources["random"]["text_settings_from"] == CHINESE_TEXTS
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert f"tokenized with tokenizer jieba ({CHINESE_TEXTS})" in report
    again = compare(config, log=lambda _m: None)  # its cells reused, not "other settings"
    assert all(cell.reused for cell in again.cells)


# -- continuing a study or a comparison that an earlier release ran on the regex rule -------


def _tune(tmp_path: Path, trials: int, **changes: Any) -> list[str]:
    from vecgraft.evaluate.tune import tune

    train = _zh_csv(tmp_path / "zh.csv")
    lines: list[str] = []
    space = {"lr": {"type": "float", "low": 0.01, "high": 0.05}, "epochs": 1}
    config = {**{k: v for k, v in FAST.items() if k != "fuse_linear"}, **changes}
    tune(train, test=train, out=tmp_path / "t", trials=trials, progress=False,
         log=lines.append, config=config, space=space)  # fmt: skip
    return lines


def _study(out: Path) -> Any:
    import optuna
    from optuna.storages.journal import JournalFileBackend

    from vecgraft.evaluate._tune_spec import JOURNAL_FILE

    storage = optuna.storages.JournalStorage(JournalFileBackend(str(out / JOURNAL_FILE)))
    return optuna.load_study(study_name="vecgraft-tune", storage=storage)


def _as_earlier_study(out: Path) -> None:
    """The study's saved settings as an earlier release kept them: `tokenizer` unset."""
    from vecgraft.evaluate._tune_setup import SETTINGS_ATTR

    study = _study(out)
    saved = study.user_attrs[SETTINGS_ATTR]
    study.set_user_attr(SETTINGS_ATTR, {**saved, "base": {**saved["base"], "tokenizer": None}})


def _base_tokenizer(out: Path) -> Any:
    from vecgraft.evaluate._tune_setup import SETTINGS_ATTR

    return _study(out).user_attrs[SETTINGS_ATTR]["base"]["tokenizer"]


def test_a_new_study_records_jieba_and_continues_with_it_named(tmp_path: Path) -> None:
    pytest.importorskip("optuna")
    _tune(tmp_path, 1)
    assert _base_tokenizer(tmp_path / "t") == "jieba"  # saved after it was chosen
    _tune(tmp_path, 2, tokenizer="jieba")  # was: "other settings (tokenizer None -> jieba)"
    assert len(_study(tmp_path / "t").trials) == 2


def test_an_earlier_regex_study_continues_with_the_regex_rule(tmp_path: Path) -> None:
    pytest.importorskip("optuna")
    out = tmp_path / "t"
    _tune(tmp_path, 1, tokenizer="regex")
    _as_earlier_study(out)
    lines = _tune(tmp_path, 2)
    assert AUTO not in lines
    assert (f"Tokenizer: regex (the study in {out} was started with the regex rule on these "
            "Chinese texts, and continues with it; another --out segments them with "
            "jieba)") in lines  # fmt: skip
    assert len(_study(out).trials) == 2
    assert _base_tokenizer(out) is None  # compared as "regex", never rewritten
    assert _json(out / "final" / "config.json")["tokenizer"] == "regex"
    assert "tokenizer: regex" in (out / "best.yaml").read_text(encoding="utf-8")
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "best.yaml sets it (`tokenizer: regex`), as every trial had it." in report
    _as_earlier_study(out)
    _tune(tmp_path, 3, tokenizer="regex")  # named, as the hint of a refusal says
    assert len(_study(out).trials) == 3


def test_a_refused_command_leaves_an_earlier_regex_study_as_it_was(tmp_path: Path) -> None:
    # the study's settings were rewritten to "regex" before the check refused the command:
    # the study's own command was refused next ("base.tokenizer: 'regex' -> 'jieba'")
    from vecgraft.errors import ConfigError

    pytest.importorskip("optuna")
    out = tmp_path / "t"
    _tune(tmp_path, 1, tokenizer="regex")
    _as_earlier_study(out)
    with pytest.raises(ConfigError, match=r"\(base.batch_size: 32 -> 8\); use another --out "
                       r"to start a new search$"):  # fmt: skip
        _tune(tmp_path, 2, batch_size=8)
    assert _base_tokenizer(out) is None
    _tune(tmp_path, 2)
    assert len(_study(out).trials) == 2


def test_jieba_on_a_regex_study_is_told_that_tokenizer_regex_continues_it(tmp_path: Path):
    from vecgraft.errors import ConfigError

    pytest.importorskip("optuna")
    out = tmp_path / "t"
    hint = ("; use another --out to start a new search; --tokenizer regex continues this one "
            "(its trials read the regex rule)")  # fmt: skip
    _tune(tmp_path, 1, tokenizer="regex")
    with pytest.raises(ConfigError) as saved_regex:  # the Chinese texts choose jieba now
        _tune(tmp_path, 2)
    assert str(saved_regex.value).endswith(f"(base.tokenizer: 'regex' -> 'jieba'){hint}")
    _as_earlier_study(out)  # unset, as an earlier release saved it: that meant regex
    with pytest.raises(ConfigError) as unset:
        _tune(tmp_path, 2, tokenizer="jieba")
    assert str(unset.value).endswith(f"(base.tokenizer: 'regex' -> 'jieba'){hint}")
    _tune(tmp_path, 2, tokenizer="regex")
    assert len(_study(out).trials) == 2


def test_tune_report_says_best_yaml_sets_jieba(tmp_path: Path) -> None:
    pytest.importorskip("optuna")
    _tune(tmp_path, 1)
    out = tmp_path / "t"
    assert "tokenizer: jieba" in (out / "best.yaml").read_text(encoding="utf-8")
    report = (out / "report.md").read_text(encoding="utf-8")
    assert f"{AUTO}. best.yaml sets it (`tokenizer: jieba`), as every trial had it." in report
    assert "leaves `tokenizer` unset" not in report


def _compare_config(tmp_path: Path, seeds: list[int], **changes: Any) -> Any:
    from vecgraft.evaluate.compare import CompareConfig

    train = _zh_csv(tmp_path / "zh.csv")
    finetune = {**{k: v for k, v in FAST.items() if k != "fuse_linear"}, **changes}
    return CompareConfig(train=str(train), test=str(train), sources=["random"],
                         fractions=[1.0], seeds=seeds, out=str(tmp_path / "out"),
                         finetune=finetune, intrinsic=False)  # fmt: skip


def _earlier_compare(tmp_path: Path) -> Path:
    """A comparison as an earlier release left it on Chinese texts: regex, `tokenizer` unset."""
    from vecgraft.evaluate.compare import compare

    compare(_compare_config(tmp_path, [0], tokenizer="regex"), log=lambda _m: None)
    out = tmp_path / "out"
    for saved in out.glob("cells/*/*/*/config.json"):
        saved.write_text(json.dumps({**_json(saved), "tokenizer": None}), encoding="utf-8")
    summary = _json(out / "compare.json")
    summary["settings"]["finetune"]["tokenizer"] = None
    (out / "compare.json").write_text(json.dumps(summary), encoding="utf-8")
    return out


def test_an_earlier_regex_comparison_continues_with_tokenizer_regex(tmp_path: Path) -> None:
    import shutil

    from vecgraft.errors import ConfigError
    from vecgraft.evaluate.compare import compare

    out = _earlier_compare(tmp_path)
    with pytest.raises(ConfigError, match="the linear row's cells read scikit-learn's word "
                       "pattern with tokenizer unset, which no --tokenizer gives: delete"):
        compare(_compare_config(tmp_path, [0]), log=lambda _m: None)
    shutil.rmtree(out / "cells" / "linear")  # as that says
    with pytest.raises(ConfigError, match="--tokenizer regex continues with the regex rule"):
        compare(_compare_config(tmp_path, [0]), log=lambda _m: None)
    again = compare(_compare_config(tmp_path, [0], tokenizer="regex"), log=lambda _m: None)
    assert {c.source: c.reused for c in again.cells} == {"linear": False, "random": True}


def test_earlier_regex_cells_are_not_averaged_with_jieba_ones(tmp_path: Path) -> None:
    from vecgraft.evaluate.compare import compare

    out = _earlier_compare(tmp_path)
    lines: list[str] = []
    result = compare(_compare_config(tmp_path, [1]), log=lines.append)
    assert {(c.source, c.seed) for c in result.cells} == {("linear", 1), ("random", 1)}
    assert [s.n for s in result.summary] == [1, 1]
    assert (f"compare: leaving out 2 cell(s) of an earlier grid in {out}, run with other "
            "settings than this grid's row: linear fraction 1 seed 0 (tokenizer: None -> "
            "'jieba'); random fraction 1 seed 0 (tokenizer: 'regex' -> 'jieba')") in lines
    assert _json(out / "compare.json")["settings"]["earlier_cells"] == 0


def test_compare_reads_chinese_training_texts_once(tmp_path: Path, monkeypatch: Any) -> None:
    # it read them three times (whether Chinese, the regex vocabulary, the jieba one)
    import vecgraft.finetune.data as data
    import vecgraft.text.vocab_build as text
    from vecgraft.evaluate.compare import compare

    reads: list[str] = []
    builds: list[str] = []
    real_read, real_build = data.read_labelled, text._build_vocab
    monkeypatch.setattr(data, "read_labelled",
                        lambda path, **kw: reads.append(str(path)) or real_read(path, **kw))
    monkeypatch.setattr(text, "_build_vocab",
                        lambda texts, tok, **kw: builds.append(tok.kind) or real_build(texts, tok,
                                                                                        **kw))
    # disagreeing vector sources, which first ask whether the texts are Chinese
    folders = []
    for kind in ("regex", "whitespace"):
        folder = tmp_path / kind
        folder.mkdir()
        (folder / "vectors.txt").write_text("酒店 0.1 0.2\n房间 0.3 0.1\n", encoding="utf-8")
        (folder / "metadata.json").write_text(json.dumps({"tokenizer": {"kind": kind}}))
        folders.append(f"{kind}={folder / 'vectors.txt'}")
    config = _compare_config(tmp_path, [0])
    config = config.__class__(**{**config.__dict__, "sources": ["random", *folders]})
    monkeypatch.setattr("vecgraft.evaluate.compare._run_grid", lambda *_a: [])
    compare(config, log=lambda _m: None, report=False)
    assert reads.count(str(tmp_path / "zh.csv")) == 1
    assert builds[0] == "jieba" and builds.count("jieba") == 1  # no regex one first


def test_a_fine_tuned_transformer_row_keeps_its_own_tokenizer(tmp_path: Path, bert_dir) -> None:  # noqa: F811
    # it was given text_settings jieba and the report said "tokenized with jieba"; with no
    # other row, the log said "Tokenizer: jieba" of no row at all
    from vecgraft.evaluate.compare import compare

    base = _compare_config(tmp_path, [0])
    hf = f"bert=hf:{bert_dir}:finetune"
    lines: list[str] = []
    result = compare(base.__class__(**{**base.__dict__, "sources": ["random", hf],
                                       "linear": False}), log=lines.append)  # fmt: skip
    sources = {s["name"]: s for s in result.to_dict()["sources"]}
    assert "text_settings" not in sources["bert"] and "text_settings_from" not in sources["bert"]
    assert sources["random"]["text_settings"] == {"tokenizer": "jieba"}
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert report.count("tokenized with tokenizer jieba") == 1  # the random row's
    alone: list[str] = []
    compare(base.__class__(**{**base.__dict__, "sources": [hf], "linear": False,
                              "out": str(tmp_path / "alone")}), log=alone.append)  # fmt: skip
    assert f"compare: {AUTO}" not in alone


def _old_style(out: Path) -> None:
    """`out`'s config.json as an earlier release wrote it: no tokenizer (it trained regex)."""
    saved = _json(out / "config.json")
    (out / "config.json").write_text(json.dumps({**saved, "tokenizer": None}), encoding="utf-8")


def test_a_resumed_earlier_ensemble_keeps_regex_for_a_new_member(tmp_path: Path) -> None:
    # the member not yet started had chosen jieba while the finished one had read regex
    import shutil

    out, _lines = _run(tmp_path, tokenizer="regex", ensemble=2)
    _old_style(out)
    shutil.rmtree(out / "members" / "1")  # interrupted before member 2 started
    (out / "metrics.json").unlink()
    lines: list[str] = []
    finetune(FinetuneConfig(out=str(out), resume=True, plots=False), log=lines.append)
    assert not [line for line in lines if line.startswith("Tokenizer: jieba")], lines
    for member in ("0", "1"):
        model = _json(out / "members" / member / "best" / "model.json")
        assert model["tokenizer"]["kind"] == "regex", member


def test_cross_fit_folds_of_a_resumed_earlier_run_keep_regex(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # fuse_folds: each fold's recipe is new (no checkpoint) and chose jieba for itself
    from vecgraft.finetune import crossfit

    out, _lines = _run(tmp_path, tokenizer="regex", max_steps=1, epochs=3, fuse_linear=True,
                       fuse_folds=2, ensemble=1)  # fmt: skip
    _old_style(out)
    folds: list[Any] = []
    given = crossfit.given_recipe

    def recorded(*args: Any, **kwargs: Any) -> Any:
        folds.append(given(*args, **kwargs))
        return folds[-1]

    monkeypatch.setattr(crossfit, "given_recipe", recorded)
    lines: list[str] = []
    finetune(FinetuneConfig(out=str(out), resume=True, max_steps=None, plots=False),
             log=lines.append)  # fmt: skip
    assert len(folds) == 2
    assert [fold.config.tokenizer for fold in folds] == [None, None]
    assert [fold.built.meta["tokenizer"]["kind"] for fold in folds] == ["regex", "regex"]
    assert _json(out / "best" / "model.json")["tokenizer"]["kind"] == "regex"


def test_cross_fit_folds_take_the_runs_jieba(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vecgraft.finetune import crossfit

    calls = _count_decisions(monkeypatch)
    folds: list[Any] = []
    given = crossfit.given_recipe
    monkeypatch.setattr(crossfit, "given_recipe",
                        lambda *a, **k: folds.append(given(*a, **k)) or folds[-1])  # fmt: skip
    _out, lines = _run(tmp_path, fuse_linear=True, fuse_folds=2, ensemble=1)
    assert lines.count(AUTO) == 1 and len(calls) == 1  # decided once, for the run's network
    assert [fold.built.meta["tokenizer"]["kind"] for fold in folds] == ["jieba", "jieba"]


def test_english_texts_are_never_tokenized_to_tell_chinese(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 35-85 ms a run on SST-2/TREC/MR, 0.44 s on 5,000 long documents, per trial and member
    from vecgraft.text import tokenize, unspaced

    english = ["a fine film, well acted", "dull and far too long"] * 100
    chinese = [f"{a}，{b}" for a in GOOD for b in BAD]

    class Refused:
        def __init__(self, *_args: Any, **_kwargs: Any) -> None:
            raise AssertionError("English texts were tokenized")

    with monkeypatch.context() as patch:
        patch.setattr(tokenize, "Tokenizer", Refused)
        assert unspaced.texts_are_chinese(english) is False
        assert unspaced.texts_are_chinese([*english, "ok"]) is False
    assert unspaced.texts_are_chinese(chinese) is True


def _count_decisions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The calls of `chinese_word_share` (its texts' count), recorded as it answers.

    `texts_are_chinese`'s verdict, which `jieba_for` takes from it with the share it says.
    """
    from vecgraft.finetune import text_settings

    calls: list[int] = []
    decide = text_settings.chinese_word_share

    def counted(texts: Any, *args: Any) -> float | None:
        calls.append(len(texts))
        return decide(texts, *args)

    monkeypatch.setattr(text_settings, "chinese_word_share", counted)
    return calls


def test_an_english_ensemble_asks_once_not_per_member(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = make_dataset(tmp_path / "data", train_per_class=6, test_per_class=2)
    calls = _count_decisions(monkeypatch)
    finetune(FinetuneConfig(train=str(data["train"]), test=str(data["test"]),
                            out=str(tmp_path / "run"), **{**FAST, "ensemble": 3}),
             log=lambda _m: None)  # fmt: skip
    assert len(calls) == 1


def test_english_tune_trials_ask_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("optuna")
    from vecgraft.evaluate.tune import tune

    data = make_dataset(tmp_path / "data", train_per_class=8, test_per_class=2)
    calls = _count_decisions(monkeypatch)
    space = {"lr": {"type": "float", "low": 0.01, "high": 0.05}, "epochs": 1}
    tune(data["train"], test=data["test"], out=tmp_path / "t", trials=2, progress=False,
         log=lambda _m: None, config={k: v for k, v in FAST.items() if k != "fuse_linear"},
         space=space)  # fmt: skip
    assert len(calls) == 1  # tune's own decision: not again per trial and final run
