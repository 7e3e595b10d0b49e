"""The package's public surface: every advertised name resolves, import stays light."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import vecgraft
import vecgraft.evaluate


@pytest.mark.parametrize("module", [vecgraft, vecgraft.evaluate])
def test_every_exported_name_resolves(module):
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    with pytest.raises(AttributeError):
        module.no_such_name  # noqa: B018


def test_import_does_not_load_torch_or_change_the_environment():
    code = (
        "import os, sys, warnings; env = dict(os.environ); filters = list(warnings.filters);"
        "import vecgraft;"
        "assert 'torch' not in sys.modules, 'torch imported';"
        "assert dict(os.environ) == env; assert warnings.filters == filters; print('ok')"
    )
    src = str(Path(vecgraft.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": src}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == "ok"


def test_cli_lists_every_subcommand(capsys):
    from vecgraft.cli import COMMANDS, main

    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


def test_vecgraft_align_is_callable_in_every_import_order():
    # `vecgraft.align` names both a submodule and the exported function; importing the module
    # first (as vecgraft.nn does) makes the package attribute the module, which must still work.
    code = (
        "import numpy as np; import vecgraft.nn.embedding, vecgraft;"
        "import vecgraft.align as module;"
        "vocab = vecgraft.Vocab.from_counts({'a': 1});"
        "vectors = vecgraft.Vectors(['a'], np.ones((1, 2), np.float32));"
        "matrix, report = vecgraft.align(vocab, vectors);"
        "assert report.rules == ['pad', 'unk', 'exact'], report.rules;"
        "assert module.AlignmentReport is vecgraft.AlignmentReport;"
        # help, IDEs and Jupyter's `vecgraft.align?` read the signature: the function's, not
        # the module's `__call__(*args, **kwargs)`
        "import inspect; assert inspect.signature(vecgraft.align) == inspect.signature("
        "module.align), inspect.signature(vecgraft.align);"
        "print('ok')"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(vecgraft.__file__).parents[1])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "ok", out.stderr


@pytest.mark.parametrize(
    "first",
    ["", "import vecgraft.finetune.run;", "vecgraft.FinetuneConfig;", "import vecgraft.finetune;"],
)
def test_vecgraft_finetune_is_callable_in_every_import_order(first):
    # `vecgraft.tune(...)` is a function, `vecgraft.finetune` was the stage package:
    # "'module' object is not callable"
    out = _stage_called(first, "finetune", "vecgraft.finetune.run", "vecgraft.FinetuneConfig",
                        "vecgraft.finetune({'lr': 'fast'})")  # fmt: skip
    assert out == "config: lr must be a number, got 'fast'"


def test_vecgraft_pretrain_is_callable_as_its_entry_point():
    # as vecgraft.finetune(config), and `import vecgraft` still imports no torch
    out = _stage_called("assert 'torch' not in sys.modules;", "pretrain", "vecgraft.pretrain.api",
                        "vecgraft.PretrainConfig", "vecgraft.pretrain('corpus.txt')")  # fmt: skip
    assert out.startswith("pretrain takes a PretrainConfig, got str")


@pytest.mark.parametrize(
    "first", ["", "import vecgraft.evaluate.compare;", "vecgraft.evaluate.CompareConfig;"]
)
def test_vecgraft_evaluate_compare_is_callable_in_every_import_order(first):
    # `from vecgraft.evaluate import compare` gave the submodule: "'module' object is not
    # callable", while `vecgraft.finetune(...)` runs; the module's names stay reachable
    code = (
        "import inspect, sys, vecgraft.evaluate;" + first +
        "from vecgraft.evaluate import CompareConfig, compare;"
        "import vecgraft.evaluate.compare as entry;"
        "from vecgraft.evaluate.compare import load_compare;"
        "assert compare is sys.modules['vecgraft.evaluate.compare'] is entry;"
        "assert compare.CompareConfig is CompareConfig and compare.load_compare is load_compare;"
        "assert inspect.signature(compare) == inspect.signature(entry.compare);"
        "entry.compare = lambda *args, **kwargs: ('called', args, kwargs);"
        "print(compare('config', log=print))"
    )  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(Path(vecgraft.__file__).parents[1])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "('called', ('config',), {'log': <built-in function print>})", (
        out.stderr
    )
    assert "compare" in vecgraft.evaluate.__all__


def _stage_called(first: str, name: str, module: str, config: str, call: str) -> str:
    """What `call` prints in a fresh interpreter, after checking that `vecgraft.<name>` is
    the stage package and has its entry point's signature."""
    code = (
        "import inspect, sys, vecgraft;" + first +
        f"import {module} as entry;"
        f"assert vecgraft.{name} is sys.modules['vecgraft.{name}'];"
        f"assert vecgraft.{name}.{config.split('.')[-1]} is {config};"
        f"assert inspect.signature(vecgraft.{name}) == inspect.signature(entry.{name});"
        f"\ntry: {call}"
        "\nexcept vecgraft.VecgraftError as exc: print(exc)"
    )  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(Path(vecgraft.__file__).parents[1])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert name in vecgraft.__all__ and name in dir(vecgraft)
    return out.stdout.strip()


# Every subcommand's `--help` needs no torch: its flags come from enums, config dataclasses
# and the signatures of functions in modules that import none.
LIGHT_HELP = [
    "info", "convert", "cache", "neighbors", "build", "pretrain", "from-transformer", "graft-vocab",
    "finetune", "evaluate", "predict", "intrinsic", "compare", "export", "tune", "demo",
]  # fmt: skip


def test_light_help_covers_every_subcommand():
    from vecgraft.cli import COMMANDS

    assert sorted(LIGHT_HELP) == sorted(COMMANDS)


_HELP_CODE = """
import sys
from vecgraft.cli import main
try:
    main([sys.argv[1], "--help"])
except SystemExit as exc:
    assert exc.code == 0, exc.code
heavy = [m for m in ("torch", "sklearn", "transformers", "jieba", "matplotlib") if m in sys.modules]
assert not heavy, heavy
"""


@pytest.mark.parametrize("command", LIGHT_HELP)
def test_subcommand_help_does_not_import_torch(command):
    # torch alone costs about a second per `--help` on a small machine
    env = {**os.environ, "PYTHONPATH": str(Path(vecgraft.__file__).resolve().parents[1])}
    out = subprocess.run(
        [sys.executable, "-c", _HELP_CODE, command], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr[-2000:]



# -- static types: what a type checker sees through the lazy `__getattr__` --------------------
SRC = Path(__file__).resolve().parents[1] / "src"
LAZY_PACKAGES = ("vecgraft", "vecgraft.evaluate", "vecgraft.finetune")


def _type_checking_names(package: str) -> set[str]:
    """Names the package's `if TYPE_CHECKING:` block imports (as themselves)."""
    import ast

    path = SRC.joinpath(*package.split("."), "__init__.py")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom), ast.dump(stmt)
                names.update(alias.asname or alias.name for alias in stmt.names)
    return names


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_lazy_export_is_imported_for_type_checkers(package):
    # mypy saw each lazily exported name through `__getattr__`: Any, checked against nothing
    import importlib

    module = importlib.import_module(package)
    lazy = set(module.__all__) - {"__version__"}
    assert _type_checking_names(package) == lazy


def _mypy(tmp_path: Path, code: str) -> list[str]:
    """mypy's report lines on `code` against this tree's `vecgraft`.

    Third-party packages are skipped (their types are Any: torch alone costs 25 s) and
    vecgraft's own errors are silenced, so only the snippet is judged, in a few seconds.
    """
    from mypy import api

    (tmp_path / "snippet.py").write_text(code, encoding="utf-8")
    (tmp_path / "mypy.ini").write_text(
        f"[mypy]\nmypy_path = {SRC}\ncache_dir = {tmp_path / 'cache'}\n"
        "ignore_missing_imports = True\nfollow_imports = skip\n"
        "[mypy-vecgraft,vecgraft.*]\nfollow_imports = silent\n",
        encoding="utf-8",
    )
    out, err, _ = api.run(["--config-file", str(tmp_path / "mypy.ini"),
                           str(tmp_path / "snippet.py")])  # fmt: skip
    assert not err, err
    return [line.split("snippet.py:", 1)[-1] for line in out.splitlines()]


@pytest.mark.slow
def test_mypy_sees_the_real_types_of_the_lazy_exports(tmp_path):
    imports = [f"from {p} import {name} as {p.replace('.', '_')}_{name}"
               for p in LAZY_PACKAGES for name in sorted(_type_checking_names(p))]  # fmt: skip
    reveals = [f"reveal_type({line.rpartition(' as ')[2]})" for line in imports]
    code = "\n".join([
        "import vecgraft",
        "from vecgraft import FinetuneConfig, load_run",
        'x: int = vecgraft.load("a")',
        "y: int = FinetuneConfig()",
        'z: int = load_run("run").evaluate("test.csv")',
        # the documented string form of the enum settings type-checks (no error expected)
        'FinetuneConfig(model="cnn", task="classification", metric="macro_f1", '
        'optimizer="adamw", schedule="linear", errors="strict", bad_rows="skip")',
        "reveal_type(vecgraft.finetune)",
        "reveal_type(vecgraft.pretrain)",
        *imports,
        *reveals,
    ])  # fmt: skip
    lines = _mypy(tmp_path, code)
    errors = [line for line in lines if ": error:" in line]
    assert errors == [
        '3: error: Incompatible types in assignment (expression has type "Vectors", variable '
        'has type "int")  [assignment]',
        '4: error: Incompatible types in assignment (expression has type "FinetuneConfig", '
        'variable has type "int")  [assignment]',
        '5: error: Incompatible types in assignment (expression has type '
        '"ClassificationMetrics | RegressionReport", variable has type "int")  [assignment]',
    ]
    revealed = [line for line in lines if "Revealed type" in line]
    assert len(revealed) == len(reveals) + 2
    assert [line for line in revealed if 'Revealed type is "Any"' in line] == []
    # the callable stage packages are package and entry point to a type checker
    assert revealed[0].endswith('"vecgraft.finetune._package_type.FinetunePackage"'), revealed[0]
    assert revealed[1].endswith('"vecgraft.pretrain._package_type.PretrainPackage"'), revealed[1]


@pytest.mark.slow
def test_mypy_sees_a_callable_stage_package_as_its_names_and_its_function(tmp_path):
    # `vecgraft.finetune` was typed as the `finetune` function: `import vecgraft.finetune`
    # then `vecgraft.finetune.FinetuneConfig(...)` was "has no attribute" under mypy
    lines = _mypy(tmp_path, "\n".join([
        "import vecgraft.finetune",
        "import vecgraft.pretrain",
        'cfg = vecgraft.finetune.FinetuneConfig(train="t.csv")',
        "reveal_type(cfg)",
        "reveal_type(vecgraft.finetune(cfg))",
        'reveal_type(vecgraft.finetune.load_run("run"))',
        "reveal_type(vecgraft.finetune.Metric.ACCURACY)",
        'reveal_type(vecgraft.pretrain(vecgraft.pretrain.PretrainConfig("glove", [], "o")))',
        "reveal_type(vecgraft.finetune.metrics)",  # a submodule: a module, its names untyped
        "vecgraft.finetune(1)",
        'vecgraft.finetune.FinetuneConfg(train="t.csv")',  # a misspelt name is no function
        # nor a module: a `__getattr__` typed any other name as one, so no error here
        "misspelt = vecgraft.finetune.FinetuneConfg",
        "misspelt_too = vecgraft.pretrain.PretrainConfg",
    ]))  # fmt: skip
    assert [line for line in lines if ": error:" in line] == [
        '10: error: Argument 1 has incompatible type "int"; expected '
        '"FinetuneConfig | Mapping[str, Any]"  [arg-type]',
        '11: error: "FinetunePackage" has no attribute "FinetuneConfg"; maybe '
        '"FinetuneConfig"?  [attr-defined]',
        '12: error: "FinetunePackage" has no attribute "FinetuneConfg"; maybe '
        '"FinetuneConfig"?  [attr-defined]',
        '13: error: "PretrainPackage" has no attribute "PretrainConfg"; maybe '
        '"PretrainConfig"?  [attr-defined]',
    ]
    revealed = [line.partition("Revealed type is ")[2] for line in lines if "Revealed" in line]
    assert revealed == [
        '"vecgraft.finetune.config.FinetuneConfig"',
        '"vecgraft.finetune.recipe.RunResult"',
        '"vecgraft.finetune.predict.Predictor | vecgraft.finetune.predict.FusedPredictor | '
        'vecgraft.finetune.linear_recipe.LinearPredictor | '
        'vecgraft.finetune.ensemble.EnsemblePredictor"',
        '"Literal[vecgraft.finetune.config.Metric.ACCURACY]?"',
        '"vecgraft.pretrain.api.PretrainResult"',
        '"types.ModuleType"',
    ]


@pytest.mark.parametrize("package", ["finetune", "pretrain"])
def test_the_stage_package_types_hold_each_public_name_of_the_package(package):
    # what a type checker reads for `vecgraft.finetune.NAME` is the package's own NAME
    import importlib

    module = importlib.import_module(f"vecgraft.{package}")
    typed = getattr(importlib.import_module(f"vecgraft.{package}._package_type"),
                    f"{package.capitalize()}Package")  # fmt: skip
    public = {name for name in vars(typed) if not name.startswith("_")}
    assert public == set(module.__all__)
    # and each public submodule is declared, as a module (no `__getattr__` types other names)
    submodules = {p.stem for p in Path(module.__file__).parent.glob("*.py")
                  if not p.stem.startswith("_")}  # fmt: skip
    declared = {k: v for k, v in typed.__annotations__.items() if not k.startswith("_")}
    assert declared == dict.fromkeys(submodules, "types.ModuleType")
    assert "__getattr__" not in vars(typed)
    assert all(getattr(typed, name) is getattr(module, name) for name in public)
    assert typed.__call__ is getattr(module, package)
