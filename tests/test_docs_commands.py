"""Every `vecgraft ...` command the README, docs/ and the --help examples show works as written.

Code blocks and --help examples must parse with the real parser; every `--flag` they or the
prose's code spans name must be one the command offers, spelled out. The parser accepts
unambiguous prefixes (`--fuse-w` for `--fuse-weight`), so a parse alone would let the old
spelling of a renamed flag pass. The tables of extras list pyproject.toml's. Cheap (no
command runs) and independent of the docs extra.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import re
import shlex
from pathlib import Path

from vecgraft.cli import COMMANDS, build_parser

ROOT = Path(__file__).resolve().parents[1]
DOC_PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
COMMAND = re.compile(r"\bvecgraft ([a-z][a-z-]*)\b(.*)")
FENCE = re.compile(r"^```.*?^```", flags=re.M | re.S)


def subparser(command: str) -> argparse.ArgumentParser:
    parser = build_parser(command)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[command]  # type: ignore[no-any-return]


def command_problems(line: str, where: str, *, full: bool) -> list[str]:
    """What is wrong with the `vecgraft COMMAND ...` in `line` (one shell line, joined).

    Flags must be the command's own, spelled out. With `full` (a code-block line or a --help
    example) the line must also parse as written; `...` stands for arguments left out and skips
    the parse.
    """
    found = COMMAND.search(line)
    if found is None or found.group(1) not in COMMANDS:
        return []
    name, rest = found.groups()
    rest = re.split(r"<<<|\s\|\s|`", rest)[0]  # a here-string, a pipe, the end of a code span
    argv = [name, *shlex.split(rest, comments=True)]
    offered = subparser(name)._option_string_actions
    problems = [
        f"{where}: `vecgraft {name}` has no {flag}"
        for flag in (arg.split("=")[0] for arg in argv[1:])
        if FLAG.fullmatch(flag) and flag not in offered
    ]
    if full and not problems and "..." not in argv:
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                build_parser(name).parse_args(argv)
            except SystemExit as exc:
                if exc.code:
                    problems.append(f"{where}: {err.getvalue().strip().splitlines()[-1]}")
    return problems


def doc_commands() -> list[tuple[str, str, bool]]:
    """(where, line, in a code block) for the README's, docs/' and --help's command lines.

    Inline code spans of the prose count too, as flag checks only: they often leave out the
    required arguments (`vecgraft tune --cv`).
    """
    pages = {p.relative_to(ROOT).as_posix(): p.read_text("utf-8") for p in DOC_PAGES}
    for name, (module, _) in COMMANDS.items():
        epilog = importlib.import_module(f"vecgraft.cli.{module}").EPILOG
        pages[f"vecgraft {name} --help"] = f"```bash\n{epilog}\n```"
    found: list[tuple[str, str, bool]] = []
    for where, text in pages.items():
        for block in re.findall(r"^```(?:bash|sh|console)\n(.*?)^```", text, flags=re.M | re.S):
            found += [(where, line, True) for line in block.replace("\\\n", " ").splitlines()]
        for span in re.findall(r"`([^`]+)`", FENCE.sub("", text)):
            found.append((where, " ".join(span.split()), False))
    return found


def test_documented_commands_parse_and_name_real_flags() -> None:
    commands = doc_commands()
    assert sum(full and "vecgraft " in line for _, line, full in commands) >= 60
    problems = [
        p for where, line, full in commands for p in command_problems(line, where, full=full)
    ]
    assert problems == []


def test_flags_named_alone_in_prose_exist() -> None:
    """A code span starting with `--flag` (no command before it) names a flag of some command."""
    offered = {flag for name in COMMANDS for flag in subparser(name)._option_string_actions}
    not_ours = {"--logdir"}  # TensorBoard's, in docs/export.md
    for page in DOC_PAGES:
        for span in re.findall(r"`(--[a-z][^`]*)`", FENCE.sub("", page.read_text("utf-8"))):
            flag = FLAG.match(span)
            assert flag is not None and flag.group() in offered | not_ours, (page.name, span)


def test_the_check_catches_a_made_up_abbreviated_or_invalid_flag() -> None:
    line = "vecgraft finetune --train t.csv --fuse-wieght 0.5 --out runs/x   # a comment"
    assert command_problems(line, "x", full=False) == [
        "x: `vecgraft finetune` has no --fuse-wieght"
    ]
    # argparse takes `--fuse-w` for --fuse-weight; a document must spell the flag out
    assert command_problems("vecgraft finetune --fuse-w 0.5 --out r", "x", full=True)
    assert command_problems("vecgraft export runs/cnn --to model2vex --out o", "x", full=True)
    assert command_problems("vecgraft export runs/cnn --to model2vec", "x", full=True)  # no --out
    assert command_problems("vecgraft export runs/cnn --to model2vec --out o", "x", full=True) == []
    assert command_problems("`vecgraft compare --task regression ...`", "x", full=True) == []
    assert command_problems("echo hi | vecgraft predict runs/cnn - --proba", "x", full=True) == []


def test_extras_tables_name_every_extra() -> None:
    """The README's and the home page's tables of extras list every extra pyproject.toml has."""
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extras = pyproject["project"]["optional-dependencies"]
    for page in (ROOT / "README.md", ROOT / "docs/index.md"):
        listed = set(re.findall(r"^\| `([\w-]+)` \|", page.read_text("utf-8"), flags=re.M))
        assert listed == set(extras), page.name


def test_readme_names_the_commands_that_take_trust() -> None:
    """The README's Limits list which commands offer --trust for gensim pickles."""
    readme = " ".join((ROOT / "README.md").read_text("utf-8").split())
    found = re.search(r"CLI: `--trust` on (.*?); for (.*?), convert the file once", readme)
    assert found is not None
    named = [re.findall(r"`([a-z-]+)`", part) for part in found.groups()]
    trusting = {name for name in COMMANDS if "--trust" in subparser(name)._option_string_actions}
    assert set(named[0]) == trusting
    assert not set(named[1]) & trusting and set(named[1]) <= set(COMMANDS)


def test_help_examples_fit_the_terminal() -> None:
    """An example line wider than the code is a continuation lost to a single backslash."""
    for name, (module, _) in COMMANDS.items():
        epilog = importlib.import_module(f"vecgraft.cli.{module}").EPILOG
        for line in epilog.splitlines():
            assert len(line) <= 100, (name, line)


def test_readme_names_the_flags_resume_may_change() -> None:
    """The README's list of flags a `--resume` may change is `RESUMABLE_OVERRIDES`."""
    from vecgraft.finetune.run import RESUMABLE_OVERRIDES

    readme = " ".join((ROOT / "README.md").read_text("utf-8").split())
    found = re.search(r"is an error; (.*?) may change\)", readme)
    assert found is not None
    named = {flag.removeprefix("--").replace("-", "_") for flag in FLAG.findall(found.group(1))}
    assert named == set(RESUMABLE_OVERRIDES) - {"out", "resume"}


def test_defaults_the_concepts_page_states_are_the_config_defaults() -> None:
    """The Concepts page's table of defaults quotes FinetuneConfig, the hf family's defaults
    and PretrainConfig's GloVe defaults; a changed default must change the page too."""
    from vecgraft.finetune.config import MODEL_DEFAULTS, FinetuneConfig
    from vecgraft.pretrain.config import (
        DEFAULT_EPOCHS,
        DEFAULT_LEARNING_RATE,
        Method,
        PretrainConfig,
    )

    rows = {
        line.split("|")[1].strip(): line.split("|")[2]
        for line in (ROOT / "docs/concepts.md").read_text("utf-8").splitlines()
        if line.startswith("| ") and line.count("|") >= 4
    }

    def number(text: str) -> float:
        return float(text.replace(",", ""))

    c = FinetuneConfig()
    model = rows["model"]
    found = re.search(r"lr ([\d.e-]+), embedding lr ([\d.e-]+) from the first step", model)
    assert found and (number(found[1]), number(found[2])) == (c.lr, c.embedding_lr)
    assert c.freeze_epochs == 0  # "from the first step"
    found = re.search(r"a ([\d,]+)-step budget \((\d+)–(\d+)\), patience (\d+)", model)
    assert found and [number(g) for g in found.groups()] == [
        c.train_steps, c.min_epochs, c.max_epochs, c.patience
    ]
    assert f"a validation split under {c.min_valid} rows" in model
    vocabulary = next(text for name, text in rows.items() if "--extend-vocab N" in name)
    assert f"first {c.extend_vocab:,} words" in vocabulary
    hf = MODEL_DEFAULTS["hf"]
    found = re.search(
        r"lr ([\d.e-]+), batch (\d+), ≤ (\d+) tokens, (\d+) epochs, weight decay ([\d.]+), "
        r"(\d+) % warm-up then linear decay, patience (\d+)",
        rows["`--model hf`"],
    )
    assert found and [number(g) for g in found.groups()] == [
        hf["lr"], hf["batch_size"], hf["max_length"], hf["epochs"], hf["weight_decay"],
        100 * hf["warmup"], hf["patience"],
    ]  # fmt: skip
    found = re.search(
        r"x_max ([\d.]+), lr ([\d.]+), (\d+) epochs, window (\d+)", rows["GloVe pretraining"]
    )
    glove = PretrainConfig("glove", ["c"], "o")
    assert found and [number(g) for g in found.groups()] == [
        glove.x_max, DEFAULT_LEARNING_RATE[Method.GLOVE], DEFAULT_EPOCHS[Method.GLOVE],
        glove.resolved_window,
    ]  # fmt: skip


def test_docs_pages_give_each_run_its_own_folder() -> None:
    """A reader typing the pages in order meets no "already holds a run": each run they train
    (`vecgraft finetune --out`, a `FinetuneConfig`'s `out="runs/..."`) has a folder of its own,
    and a command reading a run (evaluate, export, predict) names one its page trained."""
    trained: dict[str, str] = {}
    for page in sorted((ROOT / "docs").glob("*.md")):
        own: set[str] = set()
        blocks = re.findall(r"^```(\w*)\n(.*?)^```", page.read_text("utf-8"), re.M | re.S)
        for lang, block in blocks:
            block = block.replace("\\\n", " ")
            if lang == "python":
                outs = re.findall(r"\bout=\"(runs/[^\"]+)\"", block)
            else:
                outs = re.findall(r"vecgraft finetune\b[^\n#]*--out (\S+)", block)
            for out in (o.rstrip("/") for o in outs):
                assert out not in trained, f"{page.name} trains into {out}, as {trained.get(out)}"
                trained[out] = page.name
                own.add(out)
            for run in re.findall(r"vecgraft (?:evaluate|export|predict) (runs/\S+)", block):
                assert run.rstrip("/") in own, f"{page.name} reads {run}, which it never trained"
    assert len(trained) >= 4
