"""MkDocs hooks: generate the CLI and API reference from the code at build time.

Nothing generated is committed, so the reference follows the code: every subcommand in
`vecgraft.cli.COMMANDS` gets a page with its real `--help`, and every name in the `__all__`
of `vecgraft` and of each stage package gets a mkdocstrings entry. A public class or
function without a docstring, or a subcommand without a description and examples, is logged
as a warning, which `mkdocs build --strict` turns into a failure; a broken cross-reference
fails the same way (mkdocs-autorefs).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import logging
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.plugins.vecgraft")
ROOT = Path(__file__).resolve().parents[1]

# (page, package or module, title): the stage order of the package tree
STAGES: list[tuple[str, str, str]] = [
    ("errors", "vecgraft.errors", "Errors"),
    ("vectors", "vecgraft.vectors", "Vectors"),
    ("io", "vecgraft.io", "Vector files (io)"),
    ("text", "vecgraft.text", "Text and vocabularies (text)"),
    ("align", "vecgraft.align", "Alignment (align)"),
    ("nn", "vecgraft.nn", "Embeddings and models (nn)"),
    ("transformer", "vecgraft.transformer", "Transformers (transformer)"),
    ("pretrain", "vecgraft.pretrain", "Pretraining (pretrain)"),
    ("finetune", "vecgraft.finetune", "Fine-tuning (finetune)"),
    ("evaluate", "vecgraft.evaluate", "Evaluation and export (evaluate)"),
]
# modules documented in full beside their package's `__all__` (not re-exported there)
EXTRA_MODULES = {"evaluate": ["vecgraft.evaluate.export"], "text": ["vecgraft.text.hf_tokenizer"]}


def public_names(module_name: str) -> list[str]:
    """`__all__` of a module, or its public, locally defined names when it has none."""
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    return [
        n
        for n, obj in vars(module).items()
        if not n.startswith("_")
        and (inspect.isclass(obj) or inspect.isfunction(obj))
        and obj.__module__ == module_name
    ]


def canonical_path(module_name: str, name: str) -> str:
    """Where `module_name.name` is defined (lazy exports resolved), for mkdocstrings."""
    module = importlib.import_module(module_name)
    exports: dict[str, str] = getattr(module, "_EXPORTS", {})
    if name in exports:
        return canonical_path(exports[name], name)  # a lazy export may point at a package
    obj = getattr(module, name)
    home = getattr(obj, "__module__", None)
    if (inspect.isclass(obj) or inspect.isfunction(obj)) and home and home.startswith("vecgraft"):
        return f"{home}.{obj.__qualname__}"  # an alias (CorpusStats = ReadReport) by its real name
    return f"{module_name}.{name}"


def missing_docstring(module_name: str, name: str) -> bool:
    """Whether a public class or function has no docstring of its own."""
    obj = getattr(importlib.import_module(module_name), name)
    if inspect.isclass(obj):
        return not (vars(obj).get("__doc__") or "").strip()
    if callable(obj):
        return not (getattr(obj, "__doc__", None) or "").strip()
    return False


def api_pages() -> dict[str, str]:
    """Markdown of every API page, keyed by path under docs/; objects rendered once."""
    pages: dict[str, str] = {}
    rendered: set[str] = set()
    for page, module_name, title in STAGES:
        lines = [f"# {title}", "", f"::: {module_name}", "    options:", "      members: false", ""]
        for name in public_names(module_name):
            path = canonical_path(module_name, name)
            if path in rendered:
                lines += [f"`{module_name}.{name}`: see [`{name}`][{path}].", ""]
                continue
            rendered.add(path)
            lines += [f"::: {path}", ""]
        for extra in EXTRA_MODULES.get(page, []):
            lines += [f"::: {extra}", "    options:", "      heading_level: 2", ""]
        pages[f"api/{page}.md"] = "\n".join(lines)
    top = ["# `vecgraft`", "", "::: vecgraft", "    options:", "      members: false", ""]
    top += ["Every public name, documented on its stage's page:", "", "| name | what |"]
    top += ["| --- | --- |"]
    import vecgraft

    for name in vecgraft.__all__:
        if name == "__version__":
            top.append("| `vecgraft.__version__` | the installed version (a string) |")
            continue
        path = canonical_path("vecgraft", name)
        # the object at its home: `vecgraft.align` may be the submodule once it is imported
        home, _, attr = path.rpartition(".")
        doc = inspect.getdoc(getattr(importlib.import_module(home), attr)) or ""
        summary = doc.strip().splitlines()[0] if doc.strip() else ""
        summary = summary.replace("|", "\\|")
        top.append(f"| [`vecgraft.{name}`][{path}] | {summary} |")
    pages["api/index.md"] = "\n".join(top) + "\n"
    return pages


def cli_pages() -> dict[str, str]:
    """One page per subcommand with its real `--help`, plus an index."""
    from vecgraft.cli import COMMANDS, build_parser

    index = ["# Command line", "", "`vecgraft COMMAND --help` prints the same text.", ""]
    index += ["| command | what it does |", "| --- | --- |"]
    pages: dict[str, str] = {}
    for name, (_, help_text) in COMMANDS.items():
        parser = build_parser(name)
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        sub = action.choices[name]
        text = sub.format_help().replace("```", "'''")
        pages[f"cli/{name}.md"] = f"# vecgraft {name}\n\n{help_text}.\n\n```text\n{text}```\n"
        index.append(f"| [`vecgraft {name}`]({name}.md) | {help_text} |")
    pages["cli/index.md"] = "\n".join(index) + "\n"
    return pages


def benchmark_page() -> str:
    """README's Results section and the full `vecgraft compare` report, as one page."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## Results\n(.*?)(?=^## )", readme, flags=re.S | re.M)
    results = match.group(1) if match else ""
    results = re.sub(r"^###", "##", results, flags=re.M)
    compare = (ROOT / "benchmarks/results/compare_bbc.md").read_text(encoding="utf-8")
    compare = re.sub(r"^(#+) ", r"#\1 ", compare, flags=re.M)
    return (
        "# Benchmarks\n\nFrom the README (scripts in `benchmarks/`; each prints vecgraft and its "
        f"peer measured in the same run).\n{results}\n{compare}"
    )


def problems() -> list[str]:
    """What a strict build must reject: undocumented public names and subcommands."""
    from vecgraft.cli import COMMANDS

    found = []
    for _, module_name, _ in [("", "vecgraft", ""), *STAGES]:
        for name in public_names(module_name):
            if name != "__version__" and missing_docstring(module_name, name):
                found.append(f"{module_name}.{name} has no docstring")
    for name, (module, _) in COMMANDS.items():
        mod = importlib.import_module(f"vecgraft.cli.{module}")
        if not getattr(mod, "DESCRIPTION", None) or "example" not in (
            getattr(mod, "EPILOG", "") or ""
        ):
            found.append(f"vecgraft {name}: no DESCRIPTION or no EPILOG with examples")
    return found


def generated_pages() -> dict[str, str]:
    """Every generated page: API, CLI, benchmarks."""
    return {**api_pages(), **cli_pages(), "benchmarks.md": benchmark_page()}


def on_config(config: Any) -> Any:
    """Fill the "Command line" and "Python API" sections of the nav from the code."""
    from vecgraft.cli import COMMANDS

    sections = {
        "Command line": ["cli/index.md", *(f"cli/{name}.md" for name in COMMANDS)],
        "Python API": ["api/index.md", *(f"api/{page}.md" for page, _, _ in STAGES)],
    }
    for entry in config["nav"] or []:
        if isinstance(entry, dict):
            for title in entry:
                if title in sections:
                    entry[title] = sections[title]
    return config


def on_files(files: Files, config: Any) -> Files:
    """Add the generated pages (and the comparison plot) to the site."""
    for problem in problems():
        log.warning(problem)
    for path, content in generated_pages().items():
        files.append(File.generated(config, path, content=content))
    plot = ROOT / "benchmarks/results/accuracy_vs_fraction.png"
    files.append(File.generated(config, "accuracy_vs_fraction.png", abs_src_path=str(plot)))
    return files
