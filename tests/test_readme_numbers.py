"""The README's result tables say what `benchmarks/results/` holds.

The README (and the Benchmarks page built from it) copies numbers from the results files by
hand; a cell that drifts from its source is a claim nothing backs. Each check reads a table
from both and compares cell by cell. Cheap: no benchmark runs.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
RESULTS = ROOT / "benchmarks" / "results"


def table_after(text: str, header_start: str) -> dict[str, list[str]]:
    """First cell -> the other cells, for the Markdown table whose header starts so."""
    lines = text[text.index(header_start) :].splitlines()
    rows: dict[str, list[str]] = {}
    for line in lines[2:]:  # header and rule
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


def plain(cell: str) -> str:
    """A cell without emphasis and with an ASCII minus (the results files write '-')."""
    return cell.replace("**", "").replace("\N{MINUS SIGN}", "-")


def test_text_classification_tables_match_textcls_md() -> None:
    source = (RESULTS / "textcls.md").read_text(encoding="utf-8")
    header = "| data | linear | glove | minilm | random | model2vec |"
    assert table_after(README, header) == table_after(source, header)
    nets = "| data | glove-net | minilm-net | random-net |"
    readme_nets, source_nets = table_after(README, nets), table_after(source, nets)
    assert set(readme_nets) == set(source_nets)
    for data, cells in source_nets.items():
        for mine, theirs in zip(readme_nets[data], cells, strict=True):
            # the README fills chnsenticorp5u's random-net from chnsenticorp5, in brackets
            assert theirs == "–" or plain(mine) == theirs, (data, mine, theirs)
    # wall times: the README keeps the default systems' columns of textcls.md's table
    times = table_after(README, header + "\n")
    source_times = table_after(source, header + " glove-net |")
    assert times and all(cells == source_times[data][:5] for data, cells in times.items())


def test_chnsenticorp_graft_tables_match_their_json() -> None:
    def accuracy(name: str, rule: str) -> str:
        graft = json.loads((RESULTS / name).read_text(encoding="utf-8"))["graft"]
        return f"{100 * graft[rule]['mean']:.1f} %"

    rules = ["none", "mean", "subwords", "vectors"]
    first = table_after(README, "| graft | none | `mean` | `subwords` | `vectors` | majority")
    assert [plain(c) for c in first["test accuracy"][:4]] == [
        accuracy("hf_graft_chnsenticorp.json", rule) for rule in rules
    ]
    second = table_after(README, "| graft | none | `mean` | `subwords` | `vectors` | linear")
    assert [plain(c) for c in second["seed 0"][:4]] == [
        accuracy("hf_graft_chnsenticorp_3200.json", rule) for rule in rules
    ]
    seed1 = [plain(c) for c in second["seed 1"][:4]]
    assert seed1[2] == "–"
    assert [seed1[i] for i in (0, 1, 3)] == [
        accuracy("hf_graft_chnsenticorp_3200_seed1.json", rule)
        for rule in ("none", "mean", "vectors")
    ]


def test_sst5_table_matches_sst5_md() -> None:
    source = table_after(
        (RESULTS / "sst5.md").read_text(encoding="utf-8"), "| system | accuracy (%) | Pearson r"
    )
    lines = README[README.index("| | accuracy (%) | Pearson r | RMSE |") :].splitlines()[2:]
    rows = [[plain(c.strip()) for c in line.strip("|").split("|")] for line in lines]
    rows = rows[: next(i for i, line in enumerate(lines) if not line.startswith("|"))]
    # the README's rows, in order, and the sst5.md system each one quotes
    systems = ["linear", "glove", "random", "ridge", "glove-reg", "random-reg", "glove-reg-net"]
    assert len(rows) == len(systems)
    for (name, *cells), system in zip(rows, systems, strict=True):
        accuracy, pearson, _, rmse = source[system][:4]
        expected = [accuracy, pearson, rmse.split(" ± ")[0]]
        assert [c.replace(" (rounded)", "") for c in cells] == expected, (name, system)
