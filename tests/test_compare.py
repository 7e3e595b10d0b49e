"""`vecgraft compare`: the report's numbers are the cells' numbers; reruns reuse finished cells."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

import conftest_transformer
import vecgraft.finetune.run as finetune_run
from finetune_helpers import make_dataset
from vecgraft._util.extras import install_hint
from vecgraft.cli import main
from vecgraft.errors import ConfigError
from vecgraft.evaluate.compare import (
    CompareConfig,
    SourceKind,
    SourceSpec,
    cell_dir,
    compare,
    parse_seeds,
)
from vecgraft.evaluate.report import format_pm

FRACTIONS = [0.5, 1.0]
SEEDS = [0, 1]
OPTIONS = {"model": "boe", "epochs": 2, "plots": False, "progress": False, "lr": 0.05}
bert_dir = conftest_transformer.bert_dir  # tiny local BERT folder (session fixture)
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def _config(paths: dict[str, Path], out: Path, **changes: Any) -> CompareConfig:
    settings: dict[str, Any] = {
        "train": str(paths["train"]),
        "test": str(paths["test"]),
        "sources": ["random", f"tiny={paths['vectors']}"],
        "fractions": FRACTIONS,
        "seeds": SEEDS,
        "out": str(out),
        "finetune": dict(OPTIONS),
        "linear": False,  # these tests are about the embedding sources' cells
        **changes,
    }
    return CompareConfig(**settings)


@pytest.fixture(scope="module")
def task(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_dataset(tmp_path_factory.mktemp("task"), train_per_class=20, test_per_class=8)


@pytest.fixture(scope="module")
def done(task: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One finished comparison (8 cells), shared by the read-only tests."""
    out = tmp_path_factory.mktemp("compare") / "out"
    compare(_config(task, out), log=lambda _m: None)
    return out


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Record every call of the real finetune (with its resume flag)."""
    calls: list[bool] = []
    real = finetune_run.finetune

    def spy(config: Any, **kwargs: Any) -> Any:
        calls.append(bool(config.resume))
        return real(config, **kwargs)

    monkeypatch.setattr(finetune_run, "finetune", spy)
    return calls


def _cell_metrics(out: Path, source: str, fraction: float, seed: int) -> dict[str, Any]:
    path = cell_dir(out, source, fraction, seed) / "metrics.json"
    return json.loads(path.read_text(encoding="utf-8"))


# -- the numbers ------------------------------------------------------------------------------
def test_summary_equals_the_cells(done: Path) -> None:
    data = json.loads((done / "compare.json").read_text(encoding="utf-8"))
    markdown = (done / "report.md").read_text(encoding="utf-8")
    html = (done / "report.html").read_text(encoding="utf-8")
    assert len(data["cells"]) == 2 * len(FRACTIONS) * len(SEEDS)
    assert len(data["summary"]) == 2 * len(FRACTIONS)
    for row in data["summary"]:
        metrics = [_cell_metrics(done, row["source"], row["fraction"], s) for s in SEEDS]
        acc = [m["test"]["accuracy"] for m in metrics]
        f1 = [m["test"]["macro_f1"] for m in metrics]
        assert row["n"] == len(SEEDS)
        assert row["accuracy_mean"] == pytest.approx(statistics.fmean(acc), abs=1e-12)
        assert row["accuracy_std"] == pytest.approx(statistics.stdev(acc), abs=1e-12)
        assert (row["accuracy_min"], row["accuracy_max"]) == (min(acc), max(acc))
        assert row["macro_f1_mean"] == pytest.approx(statistics.fmean(f1), abs=1e-12)
        assert row["macro_f1_std"] == pytest.approx(statistics.stdev(f1), abs=1e-12)
        assert row["train_size"] == metrics[0]["sizes"]["train"]
        acc_text = f"{100 * statistics.fmean(acc):.2f} ± {100 * statistics.stdev(acc):.2f}"
        f1_text = f"{100 * statistics.fmean(f1):.2f} ± {100 * statistics.stdev(f1):.2f}"
        size = row["train_size"]
        line = f"| {row['source']} | {row['fraction']:g} | {size} | 2 | {acc_text} | {f1_text} |"
        assert line in markdown
        assert f"<td>{acc_text}</td><td>{f1_text}</td>" in html
    for cell in data["cells"]:
        m = _cell_metrics(done, cell["source"], cell["fraction"], cell["seed"])
        assert cell["accuracy"] == m["test"]["accuracy"]
        assert cell["macro_f1"] == m["test"]["macro_f1"]
        assert cell["seconds"] == m["seconds"]


def test_cells_use_the_grid_settings(done: Path, task: dict[str, Path]) -> None:
    config = json.loads((cell_dir(done, "tiny", 0.5, 1) / "config.json").read_text())
    assert config["vectors"] == str(task["vectors"].resolve())
    assert (config["train_fraction"], config["seed"], config["model"]) == (0.5, 1, "boe")
    assert (
        json.loads((cell_dir(done, "random", 1.0, 0) / "config.json").read_text())["vectors"]
        == "random"
    )
    sizes = {_cell_metrics(done, "random", f, 0)["sizes"]["train"] for f in FRACTIONS}
    assert len(sizes) == 2  # the fraction really changes the training set


def test_coverage_and_settings_recorded(done: Path) -> None:
    data = json.loads((done / "compare.json").read_text(encoding="utf-8"))
    random_src, tiny = data["sources"]
    assert random_src["kind"] == "random" and random_src["coverage"] is None
    # every training token of the fixture is in the tiny vector file, lowercase or not
    assert tiny["kind"] == "vectors" and tiny["size"] == [35, 8]
    assert tiny["coverage"]["types_matched"] == tiny["coverage"]["types"]
    assert tiny["coverage"]["type_coverage"] == 1.0
    # the similarity sets are out of the fixture's vocabulary: said, not crashed
    assert set(tiny["intrinsic"]) == {"wordsim353", "simlex999"}
    assert all("error" in v for v in tiny["intrinsic"].values())
    assert data["settings"]["finetune"]["model"] == "boe"
    assert data["settings"]["compare"]["seeds"] == SEEDS
    assert "ddof=1" in data["spread"]
    assert "not scored" in (done / "report.md").read_text(encoding="utf-8")


def test_single_seed_has_no_spread() -> None:
    assert format_pm(0.91234, 0.0, 1) == "91.23"
    assert format_pm(0.91234, 0.0123, 3) == "91.23 ± 1.23"


# -- resumability -----------------------------------------------------------------------------
def test_rerun_reuses_every_cell(
    done: Path, task: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    shutil.copytree(done, out)
    before = {p: p.stat().st_mtime_ns for p in out.glob("cells/**/metrics.json")}
    calls = _counting(monkeypatch)
    result = compare(_config(task, out), log=lambda _m: None)
    assert calls == []
    assert all(c.reused for c in result.cells)
    assert {p: p.stat().st_mtime_ns for p in out.glob("cells/**/metrics.json")} == before
    assert result.timings["cells_reused"] == 8


def test_interrupted_cell_is_resumed_and_new_cells_run(
    done: Path, task: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    shutil.copytree(done, out)
    old = _cell_metrics(out, "tiny", 1.0, 1)
    (cell_dir(out, "tiny", 1.0, 1) / "metrics.json").unlink()  # as if killed before the end
    calls = _counting(monkeypatch)
    result = compare(_config(task, out, seeds=[0, 1, 2]), log=lambda _m: None)
    # the broken cell resumed from its checkpoint, plus one new seed per (source, fraction)
    assert sorted(calls) == [False] * 4 + [True]
    new = _cell_metrics(out, "tiny", 1.0, 1)
    assert new["test"]["accuracy"] == old["test"]["accuracy"]
    assert len(result.cells) == 12 and result.timings["cells_run"] == 5


def test_new_cells_are_not_written_through_a_linked_cells_folder(
    done: Path, task: dict[str, Path], tmp_path: Path
) -> None:
    from vecgraft._util.atomic import LinkRefusedError

    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    shutil.copytree(done, out)
    elsewhere.mkdir()
    (out / "cells").rename(elsewhere / "cells")
    (out / "cells").symlink_to(elsewhere / "cells")  # handed over with cells/ linked away
    before = sorted(p.relative_to(elsewhere) for p in elsewhere.rglob("*"))
    with pytest.raises(LinkRefusedError, match=r"^\[Errno \d+\] refusing to write through the "
                       r"link cells -> "):
        compare(_config(task, out, seeds=[0, 1, 2]), log=lambda _m: None)
    assert sorted(p.relative_to(elsewhere) for p in elsewhere.rglob("*")) == before


def test_changed_settings_are_refused(
    done: Path, task: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    shutil.copytree(done, out)
    (cell_dir(out, "tiny", 1.0, 1) / "metrics.json").unlink()  # one cell left to run
    calls = _counting(monkeypatch)
    lines: list[str] = []
    with pytest.raises(ConfigError, match=r"seed-0: this cell was run with other settings.*epochs"):
        compare(_config(task, out, finetune={**OPTIONS, "epochs": 3}), log=lines.append)
    # refused before any cell ran, and not told as a failing source (it has no fault)
    assert calls == [] and not any("stopped at source" in line for line in lines)


def test_a_cell_that_resolved_its_tokenizer_from_the_vectors_matches_one_that_names_it(
    tmp_path: Path,
) -> None:
    # jieba vectors' cells ran with tokenizer unset (taken from their metadata.json); adding
    # a source made the other rows ask --tokenizer jieba, and the folder was refused both
    # ways ("tokenizer: None -> 'jieba'", then "'jieba' -> None")
    from vecgraft.evaluate._compare_cells import _check_same_settings
    from vecgraft.finetune.config import FinetuneConfig

    cell = tmp_path / "cell"
    cell.mkdir()
    FinetuneConfig(train="t.csv", out=str(cell)).save(cell / "config.json")
    named = FinetuneConfig(train="t.csv", out=str(cell), tokenizer="jieba")
    _check_same_settings(cell, named, {"tokenizer": "jieba"})  # the same cell
    # vectors that name no tokenizer: another cell (unset there meant the regex rule)
    with pytest.raises(ConfigError, match="tokenizer: 'regex' -> 'jieba'"):
        _check_same_settings(cell, named)
    with pytest.raises(ConfigError, match="tokenizer: 'jieba' -> 'char'"):
        _check_same_settings(cell, named.replace(tokenizer="char"), {"tokenizer": "jieba"})


def test_a_cell_read_in_another_vectors_encoding_is_another_cell(tmp_path: Path) -> None:
    # compare's cells read their fastText .bin in the source's encoding, which config.json
    # has no field for: a rerun in another encoding would have reused cells computed from
    # other words. The run's splits.json records it, and it is compared as a setting.
    from vecgraft.evaluate._compare_cells import _check_same_settings
    from vecgraft.finetune.config import FinetuneConfig

    cell = tmp_path / "cell"
    cell.mkdir()
    wanted = FinetuneConfig(train="t.csv", out=str(cell), vectors="ft.bin")
    wanted.save(cell / "config.json")
    _check_same_settings(cell, wanted)  # a UTF-8 cell, as every cell before: no key
    with pytest.raises(ConfigError, match=r"cell: this cell was run with other settings "
                       r"\(vectors_encoding: None -> 'cp852'\); use another --out"):
        _check_same_settings(cell, wanted, encoding="cp852")
    notes = {"inputs": {}, "vector_options": {"vectors_encoding": "cp852"}}
    (cell / "splits.json").write_text(json.dumps(notes), encoding="utf-8")
    _check_same_settings(cell, wanted, encoding="cp852")  # the same cell
    with pytest.raises(ConfigError, match=r"\(vectors_encoding: 'cp852' -> 'iso8859-1'\)"):
        _check_same_settings(cell, wanted, encoding="iso8859-1")
    with pytest.raises(ConfigError, match=r"\(vectors_encoding: 'cp852' -> None\)"):
        _check_same_settings(cell, wanted)


def test_a_training_file_rewritten_under_its_name_is_not_served_from_old_cells(
    task: dict[str, Path], tmp_path: Path
) -> None:
    paths = {k: Path(shutil.copy(v, tmp_path / v.name)) for k, v in task.items()}
    out = tmp_path / "out"
    small = {"sources": ["random"], "fractions": [1.0], "seeds": [0]}
    compare(_config(paths, out, **small), log=lambda _m: None)
    with open(paths["train"], "a", encoding="utf-8") as fh:
        fh.write("another text about football,sport\n")
    with pytest.raises(ConfigError, match=r"seed-0: this cell was run on other data \(train "
                       r".*train\.csv \(size \d+ -> \d+\)\)"):  # fmt: skip
        compare(_config(paths, out, **small), log=lambda _m: None)


def test_a_vector_file_rewritten_under_its_name_is_not_served_from_old_cells(
    task: dict[str, Path], tmp_path: Path
) -> None:
    # the cells were checked against the data files only: the same command after the vector
    # file was rewritten (the same words, other values) printed the old cells' scores
    from finetune_helpers import write_vectors

    vectors = Path(shutil.copy(task["vectors"], tmp_path / "glove.txt"))
    out = tmp_path / "out"
    small = {"sources": [f"glove={vectors}"], "fractions": [1.0], "seeds": [0]}
    compare(_config(task, out, **small), log=lambda _m: None)
    compare(_config(task, out, **small), log=lambda _m: None)  # untouched: reused
    write_vectors(vectors, seed=1)
    with pytest.raises(ConfigError, match=r"seed-0: this cell was run with other vectors "
                       r"\(vectors .*glove\.txt \(.*\)\); use another --out"):  # fmt: skip
        compare(_config(task, out, **small), log=lambda _m: None)


def test_a_fine_tuned_checkpoint_folder_is_among_a_cells_inputs(tmp_path: Path) -> None:
    # model hf's cells (hf:PATH:finetune) were reused after the checkpoint was replaced
    import types

    from vecgraft.finetune.rundir import data_inputs

    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "config.json").write_text("{}", encoding="utf-8")
    config = types.SimpleNamespace(
        train=None, valid=None, test=None, user_dict=None, add_tokens=None, vectors="random",
        hf_model=str(ckpt),
    )  # fmt: skip
    inputs = data_inputs(config)
    assert set(inputs) == {"hf_model"} and inputs["hf_model"]["files"] == 1
    assert data_inputs(types.SimpleNamespace(**{**vars(config), "hf_model": "org/name"})) == {}


def test_a_linear_model_cannot_compare_vector_sources(task: dict[str, Path], tmp_path: Path):
    with pytest.raises(ConfigError, match="model 'linear' reads TF-IDF features, not the "
                       "sources' vectors"):  # fmt: skip
        _config(task, tmp_path / "out", finetune={**OPTIONS, "model": "linear"})


# -- source specs ---------------------------------------------------------------------------
def test_source_specs(tmp_path: Path) -> None:
    vec = tmp_path / "glove.6B.50d.txt"
    vec.write_text("a 1 2\n", encoding="utf-8")
    ckpt = tmp_path / "minilm"
    ckpt.mkdir()
    (ckpt / "config.json").write_text("{}", encoding="utf-8")
    (ckpt / "model.safetensors").write_bytes(b"")
    assert SourceSpec.parse("random") == SourceSpec("random", SourceKind.RANDOM, spec="random")
    assert SourceSpec.parse("base=random").name == "base"
    spec = SourceSpec.parse(str(vec))
    assert (spec.name, spec.kind, spec.path) == ("glove.6B.50d", SourceKind.VECTORS, str(vec))
    assert SourceSpec.parse(f"glove={vec}").name == "glove"
    spec = SourceSpec.parse(f"hf:{ckpt}:corpus")
    assert (spec.name, spec.kind, spec.path, spec.mode) == (
        "minilm-corpus",
        SourceKind.TRANSFORMER,
        str(ckpt),
        "corpus",
    )
    # no mode, or the folder alone: finetune's recipe (`hf:PATH` meant `input` before)
    spec = SourceSpec.parse(str(ckpt))
    assert (spec.name, spec.mode) == ("minilm-classifier", "classifier")
    assert SourceSpec.parse(f"hf:{ckpt}") == SourceSpec(
        "minilm-classifier", SourceKind.TRANSFORMER, str(ckpt), "classifier", f"hf:{ckpt}")
    assert SourceSpec.parse(f"hf:{ckpt}:input").name == "minilm-input"
    assert SourceSpec.parse(f"m=hf:{ckpt}").kind is SourceKind.TRANSFORMER


def test_source_names_of_any_script_and_their_folders(task: dict[str, Path], tmp_path: Path):
    # `随机=random` was "no such file or folder '随机=random'": NAME was ASCII only
    spec = SourceSpec.parse("随机=random")
    assert (spec.name, spec.kind) == ("随机", SourceKind.RANDOM)
    # ASCII names keep the folders they had, so earlier cells are found again
    assert SourceSpec.parse("glove.6B.50d=random").folder == "glove.6B.50d"
    assert SourceSpec("a b", SourceKind.RANDOM).folder == "a_b"
    # other names: their ASCII part (or "source") and a hash, one folder each (both were
    # "source", and two Chinese-named sources collided)
    specs = _config(task, tmp_path, sources=["词向量=random", "字向量=random", "glove中文=random"],
                    linear=False).specs()  # fmt: skip
    folders = [s.folder for s in specs]
    assert len(set(folders)) == 3 and all(f.isascii() for f in folders), folders
    assert folders[0].startswith("source-") and folders[2].startswith("glove-")
    assert folders[0] == SourceSpec.parse("词向量=random").folder  # the same on every run
    with pytest.raises(ConfigError, match=r"'a b' is not a NAME for NAME=SPEC \(letters, "
                       r"digits \(any script\) and _ \. \+ - only\)"):  # fmt: skip
        SourceSpec.parse("a b=random")


def test_names_differing_only_in_case_are_duplicates(task: dict[str, Path], tmp_path: Path):
    # a/GloVe.txt and b/glove.txt: cells/GloVe and cells/glove are one folder on Windows
    # and macOS, and the second cell was refused mid-run ("run with other settings")
    with pytest.raises(ConfigError, match=re.escape(
            "sources 'GloVe=random' and 'glove=random' have folder names ('GloVe', 'glove') "
            "that differ only in case, one folder on a case-insensitive file system "
            "(Windows, macOS); give one another name")):  # fmt: skip
        _config(task, tmp_path, sources=["GloVe=random", "glove=random"]).specs()


@pytest.mark.parametrize(
    ("name", "folder"),
    [("nul", "nul_"), ("CON", "CON_"), ("com1.v2", "com1_.v2"), ("lpt9", "lpt9_"),
     ("aux.", "aux_"), ("console", "console"), ("com10", "com10"), ("v.nul", "v.nul")],
)  # fmt: skip
def test_names_windows_keeps_for_devices_get_other_folders(name: str, folder: str):
    # Windows cannot make cells/nul or cells/com1.v2
    assert SourceSpec.parse(f"{name}=random").folder == folder


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no/such/file.txt", "no such file or folder 'no/such/file.txt'"),
        ("hf:{ckpt}:sideways", "unknown transformer mode 'sideways'"),
        ("hf:{tmp}", "is not a transformer checkpoint folder"),
        ("", "empty source spec"),
    ],
)
def test_bad_source_specs(tmp_path: Path, spec: str, message: str) -> None:
    ckpt = tmp_path / "ck"
    ckpt.mkdir()
    (ckpt / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        SourceSpec.parse(spec.format(ckpt=ckpt, tmp=tmp_path / "nothing"))


def test_duplicate_names_and_bad_grid(task: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="same name 'random'"):
        _config(task, tmp_path, sources=["random", "random"]).specs()
    with pytest.raises(ConfigError, match=r"fractions must be in \(0, 1\]"):
        _config(task, tmp_path, fractions=[0.0, 1.0])
    with pytest.raises(ConfigError, match="set per cell by compare"):
        _config(task, tmp_path, finetune={"seed": 3})
    assert parse_seeds("3") == [0, 1, 2] and parse_seeds("4,7") == [4, 7]
    with pytest.raises(ConfigError, match="--seeds expects"):
        parse_seeds("three")
    # "--seeds 0" meant seed 0 and was "a non-empty list of distinct integers, got '0'"
    with pytest.raises(ConfigError, match=r"--seeds 0: a count of no seeds.*--seeds 5,\)"):
        parse_seeds("0")
    assert parse_seeds("5,") == [5]


def test_cli_bad_source_is_one_line(
    task: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "compare",
        "--train",
        str(task["train"]),
        "--sources",
        "random",
        "nope.txt",
        "--out",
        str(tmp_path / "o"),
    ]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.startswith("vecgraft compare: error: source 'nope.txt': no such file or folder")


def test_cli_runs_and_rerenders(
    done: Path, task: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    shutil.copytree(done, out)
    (out / "report.md").unlink()
    argv = [
        "compare",
        "--train",
        str(task["train"]),
        "--test",
        str(task["test"]),
        "--sources",
        "random",
        f"tiny={task['vectors']}",
        "--fractions",
        "0.5",
        "1.0",
        "--seeds",
        "2",
        "--model",
        "boe",
        "--epochs",
        "2",
        "--set",
        "plots=false",
        "--set",
        "progress=false",
        "--set",
        "lr=0.05",
        "--no-linear",
        "--out",
        str(out),
    ]
    assert main(argv) == 0  # every cell reused: same settings as the fixture
    text = capsys.readouterr().out
    assert "[8/8] tiny fraction 1 seed 1" in text and "(reused)" in text
    # same numbers, same table (preparation and total times differ)
    head = (out / "report.md").read_text().split("## Sources")[0]
    assert head == (done / "report.md").read_text().split("## Sources")[0]
    (out / "report.html").unlink()
    assert main(["compare", "--out", str(out), "--report-only"]) == 0
    assert (out / "report.html").stat().st_size > 1000


# -- HTML ---------------------------------------------------------------------------------------
def test_html_is_self_contained(done: Path) -> None:
    page = (done / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert 'src="data:image/png;base64,' in page
    assert "http://" not in page and "https://" not in page and "<link" not in page
    assert (done / "accuracy_vs_fraction.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _chromium() -> str | None:
    if os.path.exists("/usr/bin/chromium"):
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_html_renders_in_headless_chromium(done: Path, tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("no chromium on PATH: the HTML render check needs headless Chromium")
    shot = tmp_path / "compare_report.png"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--user-data-dir={profile}",
                f"--screenshot={shot}",
                "--window-size=1200,1600",
                (done / "report.html").resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    from PIL import Image

    with Image.open(shot) as img:
        rgb = img.convert("RGB")
        assert rgb.size == (1200, 1600)
        colours = rgb.getcolors(maxcolors=1 << 20)
    # text, tables and the plot: far more than a blank or single-colour page
    assert colours is not None and len(colours) > 50
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(shot, ARTIFACTS / "compare_report.png")


# -- transformer sources ------------------------------------------------------------------------
def test_transformer_source_builds_task_vectors_once(
    task: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """hf:PATH:corpus -> from_transformer(path, task words, mode, corpus=training texts), saved
    in OUT/sources/<name>/ (native), used by the cells as a plain vector folder, built once."""
    import types

    import vecgraft
    from vecgraft.vectors import Vectors

    ckpt = tmp_path / "tiny-bert"
    ckpt.mkdir()
    (ckpt / "config.json").write_text("{}", encoding="utf-8")
    (ckpt / "model.safetensors").write_bytes(b"")
    table = vecgraft.load(task["vectors"])
    calls: list[dict[str, Any]] = []

    def fake_from_transformer(model_dir: Any, words: Any, **kwargs: Any) -> Vectors:
        words = list(words)
        calls.append({"model_dir": model_dir, "words": words, **kwargs})
        known = [w for w in words if w.lower() in table]
        return Vectors(known, table.matrix[[table.index[w.lower()] for w in known]])

    fake = types.ModuleType("vecgraft.transformer")
    fake.from_transformer = fake_from_transformer  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vecgraft.transformer", fake)
    out = tmp_path / "out"
    config = _config(task, out, sources=[f"hf:{ckpt}:corpus"], fractions=[1.0], seeds=[0])
    result = compare(config, log=lambda _m: None)
    (call,) = calls
    assert call["model_dir"] == str(ckpt) and call["mode"] == "corpus"
    assert "<pad>" not in call["words"] and "goal" in call["words"]
    assert len(call["corpus"]) == 60  # the training texts are the contexts
    saved = out / "sources" / "tiny-bert-corpus" / "vectors.safetensors"
    assert saved.exists()
    run_config = json.loads((cell_dir(out, "tiny-bert-corpus", 1.0, 0) / "config.json").read_text())
    assert run_config["vectors"] == str(saved.parent)
    assert result.sources[0]["coverage"]["type_coverage"] > 0.5
    compare(config, log=lambda _m: None)
    assert len(calls) == 1  # vectors and cell reused on rerun
    # and from another directory, --out spelled relative: the cell recorded "out/sources/..."
    # and every rerun that spelled it otherwise was "run with other settings"
    monkeypatch.chdir(tmp_path)
    compare(_config(task, Path("out"), sources=[f"hf:{ckpt}:corpus"], fractions=[1.0],
                    seeds=[0]), log=lambda _m: None)  # fmt: skip
    assert len(calls) == 1
    # a checkpoint replaced since: its derived vectors (and the cells on them) were reused
    (ckpt / "model.safetensors").write_bytes(b"other weights")
    derived = (r"sources/tiny-bert-corpus were derived from another checkpoint or for other "
               r"words \(checkpoint .*tiny-bert \(size 2 -> 15\)\)")  # fmt: skip
    with pytest.raises(ConfigError, match=derived):
        compare(config, log=lambda _m: None)
    assert len(calls) == 1


def test_a_missing_hf_extra_fails_before_any_source_is_prepared(
    task: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--sources random g=VECTORS hf:MODEL` without transformers prepared g, then failed."""
    from vecgraft.errors import MissingExtraError

    ckpt = tmp_path / "tiny-bert"
    ckpt.mkdir()
    (ckpt / "config.json").write_text("{}", encoding="utf-8")
    (ckpt / "model.safetensors").write_bytes(b"")
    monkeypatch.setitem(sys.modules, "transformers", None)  # import transformers -> ImportError
    said: list[str] = []
    out = tmp_path / "out"
    config = _config(task, out, sources=["random", f"g={task['vectors']}", f"hf:{ckpt}"])
    with pytest.raises(MissingExtraError, match=r"source tiny-bert-classifier \(a transformer "
                       r"checkpoint\) needs .*'transformers'") as info:  # fmt: skip
        compare(config, log=said.append)
    assert str(info.value).endswith(install_hint("hf"))
    assert not any("preparing" in line for line in said), said
    assert not (out / "sources").exists()


def test_real_transformer_checkpoint(task: dict[str, Path], bert_dir: Path, tmp_path: Path) -> None:
    """A tiny local BERT folder given as a plain PATH is a transformer source: hf:PATH."""
    out = tmp_path / "out"
    config = _config(task, out, sources=[f"bert={bert_dir}"], fractions=[1.0], seeds=[0])
    result = compare(config, log=lambda _m: None)
    (source,) = result.sources
    assert (source["kind"], source["mode"]) == ("transformer", "classifier")
    # PCA 64 keeps at most the 32-wide model's dimensions, and the words it has (the
    # others are all [UNK] to its 25-token vocabulary)
    assert source["size"][1] == min(64, source["size"][0], _bert_hidden(bert_dir)) == 7
    assert (out / "sources" / "bert" / "vectors.safetensors").exists()
    assert 0 < source["coverage"]["type_coverage"] <= 1
    assert "transformer (classifier)" in (out / "report.md").read_text(encoding="utf-8")


# two-letter words, each a WordPiece token of the wide BERT below: 100 of them
_SYLLABLES = [c + v for c in "bcdfghjklmnpqrstvwxz" for v in "aeiou"]


def test_hf_source_is_finetunes_hf_vectors(tmp_path: Path) -> None:
    """compare's hf:PATH derives the matrix finetune's --vectors hf:PATH derives, 64 wide.

    It derived `input` vectors at the model's full width (96 here; 384 for MiniLM), so the
    source compared was not the one `finetune --vectors hf:PATH` then trained on.
    """
    import numpy as np

    import vecgraft
    from conftest_transformer import WORDPIECE, _save_bert
    from finetune_helpers import write_csv
    from vecgraft.cli.finetune import _transformer_words

    ckpt = _save_bert(tmp_path / "wide-bert", [*WORDPIECE[:5], *_SYLLABLES], hidden=96)
    rng = random.Random(0)  # every word in the 100 training texts, most several times
    rows = [(" ".join([_SYLLABLES[i % 100], *rng.choices(_SYLLABLES, k=5)]), f"c{i % 2}")
            for i in range(120)]  # fmt: skip
    task = {"train": write_csv(tmp_path / "train.csv", rows[:100]),
            "test": write_csv(tmp_path / "test.csv", rows[100:]), "vectors": ckpt}  # fmt: skip
    out = tmp_path / "out"
    config = _config(task, out, sources=[f"m=hf:{ckpt}"], fractions=[1.0], seeds=[0],
                     finetune={**OPTIONS, "epochs": 1})  # fmt: skip
    result = compare(config, log=lambda _m: None, report=False)
    ours = vecgraft.load(out / "sources" / "m")
    theirs = _transformer_words(str(ckpt), "auto")(list(ours.words))  # finetune's hf:
    assert result.sources[0]["mode"] == "classifier"
    # the vocabulary's tokens, as finetune passes them: <pad> and <unk> too, which this
    # tokenizer reads as [UNK] alone (dropped); MiniLM's reads "<", "pad", ">"
    assert (len(ours), ours.metadata["dropped_words"]) == (100, 2)
    assert (ours.dim, theirs.dim) == (64, 64)
    assert list(theirs.words) == list(ours.words)
    np.testing.assert_allclose(ours.matrix, theirs.matrix, rtol=1e-5, atol=1e-6)
    assert (ours.metadata["pca"], ours.metadata["sif"]["p"]) == (64, "zipf")


def test_earlier_folder_of_hf_source_without_mode_continues_in_input_mode(
    task: dict[str, Path], bert_dir: Path, tmp_path: Path
) -> None:
    """A folder where `hf:PATH` (no mode) was derived in input mode keeps it, and says so.

    Its cells were made with those vectors: rederiving them by finetune's recipe under the
    same name would refuse every cell (or mix two sources in one row).
    """
    for spec, name in ((f"m=hf:{bert_dir}", "m"), (f"hf:{bert_dir}", f"{bert_dir.name}-input")):
        out = tmp_path / name
        compare(_config(task, out, sources=[f"{spec}:input"], fractions=[1.0], seeds=[0]),
                log=lambda _m: None, report=False)  # fmt: skip
        saved = json.loads((out / "compare.json").read_text(encoding="utf-8"))
        saved["sources"][0]["spec"] = spec  # as an earlier release wrote it: no mode
        (out / "compare.json").write_text(json.dumps(saved), encoding="utf-8")
        derived = json.loads((out / "sources" / f"{name}.derived.json").read_text("utf-8"))
        assert derived["mode"] == "input"
        vectors = out / "sources" / name / "vectors.safetensors"
        stamp = vectors.stat().st_mtime_ns
        lines: list[str] = []
        result = compare(_config(task, out, sources=[spec], fractions=[1.0], seeds=[0]),
                         log=lines.append, report=False)  # fmt: skip
        said = [line for line in lines if "continues" in line]
        assert said == [
            f"compare: source {spec!r} continues with the input-mode vectors "
            f"{out / 'sources' / name} holds, derived when a source without a mode meant "
            "input (now finetune's recipe: contextless, PCA 64, SIF); another --out derives "
            "those"
        ]
        (source,) = result.sources
        assert (source["name"], source["mode"], source["size"][1]) == (name, "input", 32)
        assert [cell.reused for cell in result.cells] == [True]
        assert vectors.stat().st_mtime_ns == stamp
    # a row written with its mode stays that row: `hf:PATH` is then a new source beside it
    out = tmp_path / "m"
    saved = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    saved["sources"][0]["spec"] = f"m=hf:{bert_dir}:input"
    (out / "compare.json").write_text(json.dumps(saved), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sources/m were derived .*\(mode input -> classifier\)"):
        compare(_config(task, out, sources=[f"m=hf:{bert_dir}"], fractions=[1.0], seeds=[0]),
                log=lambda _m: None, report=False)  # fmt: skip


@pytest.mark.parametrize(("mode", "name"), [("classifier", "classifier_vectors"),
                                            ("input", "from_transformer")])  # fmt: skip
def test_an_import_error_while_deriving_a_source_is_not_a_missing_extra(
    monkeypatch: pytest.MonkeyPatch, bert_dir: Path, mode: str, name: str
) -> None:
    """A tokenizer that needs sentencepiece raised "install the hf extra" (installed)."""
    import vecgraft.transformer
    from vecgraft.evaluate import _compare_sources

    def derive(*_args: Any, **_kwargs: Any) -> Any:
        raise ImportError("this tokenizer requires the SentencePiece library")

    monkeypatch.setattr(vecgraft.transformer, name, derive)
    spec = SourceSpec.parse(f"hf:{bert_dir}:{mode}" if mode == "input" else f"hf:{bert_dir}")
    assert spec.mode == mode
    with pytest.raises(ImportError, match=r"^this tokenizer requires the SentencePiece") as err:
        _compare_sources._derive(spec, ["cat"], ["a cat"], "cpu")
    assert type(err.value) is ImportError


def _bert_hidden(path: Path) -> int:
    return int(json.loads((path / "config.json").read_text(encoding="utf-8"))["hidden_size"])


def test_without_test_file_all_cells_share_one_split(task: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    config = _config(task, out, test=None, sources=["random"], fractions=[1.0], seeds=[0, 1])
    compare(config, log=lambda _m: None, report=False)
    splits = [
        json.loads((cell_dir(out, "random", 1.0, s) / "splits.json").read_text())["test"]["rows"]
        for s in (0, 1)
    ]
    assert splits[0] == splits[1] and len(splits[0]) > 0


def test_summary_rows_keep_source_order_with_fractions_rising() -> None:
    # an earlier grid's kept cells come after this run's: rows came out interleaved
    from vecgraft.evaluate.compare import CellResult, summarize

    def cell(source: str, fraction: float) -> CellResult:
        return CellResult(source, fraction, 0, "runs/x", {"accuracy": 0.5}, 1.0, False)

    cells = [cell("linear", 0.5), cell("glove", 0.5), cell("linear", 1.0), cell("glove", 1.0)]
    assert [(s.source, s.fraction) for s in summarize(cells)] == [
        ("linear", 0.5), ("linear", 1.0), ("glove", 0.5), ("glove", 1.0)
    ]  # fmt: skip


def test_summaries_keep_their_statistics_as_attributes_and_json_keys() -> None:
    # scripts read `summary.accuracy_mean`; a regression's summary has `pearson_mean` instead
    from vecgraft.evaluate.compare import CellResult, summarize

    def cell(seed: int, scores: dict[str, float]) -> CellResult:
        return CellResult("glove", 1.0, seed, f"runs/{seed}", scores, 2.0 + seed, False)

    (summary,) = summarize([cell(0, {"accuracy": 0.8, "macro_f1": 0.6}),
                            cell(1, {"accuracy": 0.9, "macro_f1": 0.7})])  # fmt: skip
    assert summary.accuracy_mean == pytest.approx(0.85)
    assert summary.accuracy_std == pytest.approx(0.0707107, abs=1e-6)  # ddof=1
    assert (summary.macro_f1_min, summary.macro_f1_max) == (0.6, 0.7)
    assert list(summary.to_dict()) == [
        "source", "fraction", "n", "accuracy_mean", "accuracy_std", "accuracy_min",
        "accuracy_max", "macro_f1_mean", "macro_f1_std", "macro_f1_min", "macro_f1_max",
        "seconds_mean", "train_size",
    ]  # fmt: skip
    with pytest.raises(AttributeError, match="pearson_mean"):
        _ = summary.pearson_mean
    (reg,) = summarize([cell(0, {"pearson": 0.5, "rmse": 1.0})])
    assert (reg.pearson_mean, reg.rmse_std) == (0.5, None)  # one seed: no sample SD
    assert cell(0, {"accuracy": 0.8, "macro_f1": 0.6}).to_dict()["accuracy"] == 0.8


def test_report_only_without_a_comparison_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # it said "cannot read the cell's metrics ([Errno 2] ...)" about the folder; and it made
    # the missing folder and its parents to lock them (removed on the way out) to read
    made: list[str] = []
    real_mkdir = os.mkdir

    def mkdir(path: Any, *args: Any, **kwargs: Any) -> None:
        made.append(str(path))
        real_mkdir(path, *args, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(os, "mkdir", mkdir)
        assert main(["compare", "--out", str(tmp_path / "none" / "deeper"),
                     "--report-only"]) == 1  # fmt: skip
    assert made == [] and not (tmp_path / "none").exists()
    assert main(["compare", "--out", str(tmp_path / "none"), "--report-only"]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'none' / 'compare.json'}: no such file" in err
    assert "without --report-only first" in err and "cell's metrics" not in err


@pytest.mark.parametrize("marker", ["manifest.json", "tune.json", "study.journal"])
def test_a_finetune_run_or_tuning_study_folder_is_refused_as_out(
    task: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], marker: str
) -> None:
    out = tmp_path / "other"
    out.mkdir()
    (out / marker).write_text("{}", encoding="utf-8")
    argv = ["compare", "--train", str(task["train"]), "--sources", "random", "--out", str(out)]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert f"{out}: holds a " in err and f"({marker}), not a comparison" in err
    assert "choose another --out DIR" in err
    assert sorted(p.name for p in out.iterdir()) == [marker]  # nothing written


def test_a_comparison_kept_before_max_size_existed_keeps_its_earlier_cells(
    done: Path, task: dict[str, Path], tmp_path: Path
) -> None:
    # settings kept by an older vecgraft lack fields added since (max_size): at their
    # default they are the same settings, so a rerun on a smaller grid reports every cell
    out = tmp_path / "out"
    shutil.copytree(done, out)
    data = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    del data["settings"]["finetune"]["max_size"]
    for cell in data["cells"]:  # the copied folder's own cells
        cell["run_dir"] = str(out / Path(cell["run_dir"]).relative_to(done))
    (out / "compare.json").write_text(json.dumps(data), encoding="utf-8")
    result = compare(_config(task, out, seeds=[0]), log=lambda _m: None)
    assert len(result.cells) == 8 and result.settings["earlier_cells"] == 4


def test_cli_refuses_a_repeated_tokenizer_naming_the_kinds(
    task: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    # --tokenizer regex --tokenizer jieba compared on jieba alone (argparse's last value);
    # several kinds pool only a transformer graft's words, which no cell makes
    import vecgraft.evaluate.compare as compare_module

    class Reached(Exception):
        pass

    seen: list[CompareConfig] = []

    def stub(config: CompareConfig, **kwargs: Any) -> None:
        seen.append(config)
        raise Reached

    monkeypatch.setattr(compare_module, "compare", stub)
    argv = ["compare", "--train", str(task["train"]), "--sources", "random", "--out",
            str(tmp_path / "o"), "--tokenizer", "regex", "--tokenizer"]  # fmt: skip
    assert main([*argv, "jieba"]) == 1
    assert capsys.readouterr().err.strip() == (
        "vecgraft compare: error: --tokenizer takes one kind for compare's rows; several "
        "(regex, jieba) were given: each row's vocabulary, its coverage and the linear row's "
        "features are cut with one"
    )
    assert seen == []
    with pytest.raises(Reached):
        main([*argv, "regex"])
    assert [config.finetune["tokenizer"] for config in seen] == ["regex"]


def test_the_sources_legend_marks_its_counts_as_an_example():
    # "(24/353: the vectors hold both words of 24 pairs ...)" read as this run's data,
    # even with --no-intrinsic
    from vecgraft.evaluate._compare_sources import ANALOGY_NAMES, SET_NAMES
    from vecgraft.evaluate.report import _sources_legend

    legend = _sources_legend([*SET_NAMES, *ANALOGY_NAMES])
    assert "(for example, 24/353 would say the vectors hold both words of 24 of its 353" in legend
    assert "(for example, 1573/10177 would say the vectors hold the first three words" in legend
    assert "(24/353:" not in legend and "(1573/10177:" not in legend


def test_one_seeds_spread_is_null_and_the_reports_read_it(tmp_path):
    # compare.json stored accuracy_std 0.0 for one seed, while the report says sample SD
    # (ddof=1), undefined there; the table, the plot and an old 0.0 still read
    from vecgraft.evaluate.compare import CellResult, summarize
    from vecgraft.evaluate.report import format_pm, plot_accuracy

    (one,) = summarize([CellResult("glove", 1.0, 0, "runs/0", {"accuracy": 0.8, "macro_f1": 0.6},
                                   2.0, False)])  # fmt: skip
    row = one.to_dict()
    assert row["accuracy_std"] is None and row["macro_f1_std"] is None
    assert one.accuracy_std is None
    assert format_pm(0.8, None, 1) == "80.00" and format_pm(0.8, 0.0, 1) == "80.00"
    assert format_pm(0.8, 0.05, 2) == "80.00 ± 5.00"
    for std in (None, 0.0):  # this release's null, an older compare.json's 0.0
        data = {"settings": {"finetune": {}}, "summary": [{**row, "accuracy_std": std}]}
        assert plot_accuracy(data, tmp_path / "a.png").is_file()
